//! Load time: validates a [`PolicyDocument`] against a [`Catalog`] (docs/POLICY.md §11) and compiles
//! it with its profile's rules into the engine's per-(role, action) tables.
//!
//! One pass over the document in the order of docs/POLICY.md §11: custom actions, custom roles and
//! their templates, then every rule (the profile's first); every problem is collected, so a
//! rejected document names all its offending items at once. Only a document without errors is
//! compiled: rule ids are numbered in id order, and each rule's target spec becomes a bitmask
//! (see the table layout in the parent module) in the cells of every role that names or
//! inherits it.

use super::{
    Cell, Entry, OTHERS, PolicyEngine, RoleEntry, RuleInfo, RuleSource, SELF, SELF_FLOW,
    domain_mask, role_bit,
};
use crate::action::{Action, ActionClass, ActionName, BUILTIN_ACTIONS};
use crate::decision::RuleId;
use crate::document::{
    Catalog, Effect, Item, MAX_CUSTOM_ROLES_LIMIT, PolicyDocument, RuleDef, TargetSpec,
    ValidationError, ValidationErrorKind, ValidationErrors, ValidationWarning, check_action_name,
    check_role_name, lookup_action,
};
use crate::names::NameTable;
use crate::profiles::profile_rules;
use crate::role::{BuiltinRole, Role, RoleName, is_kebab_name};

impl PolicyDocument {
    /// Validates the document against a catalog, as loading does, and returns its warnings.
    ///
    /// # Errors
    /// Every validation problem (docs/POLICY.md §11), each naming the offending rule, role or action.
    pub fn validate(&self, catalog: &Catalog) -> Result<Vec<ValidationWarning>, ValidationErrors> {
        compile(self, catalog).map(|engine| engine.warnings())
    }
}

type CompiledRule = (RuleInfo, Vec<usize>, Vec<usize>, Vec<usize>);

fn resolve_role(name: &str, custom: &[(Box<str>, usize)]) -> Option<usize> {
    match BuiltinRole::from_id(name) {
        Some(b) => Some(b.index()),
        None => custom.iter().find(|(n, _)| &**n == name).map(|(_, i)| *i),
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "one pass over the document, in the order of docs/POLICY.md §11"
)]
pub(super) fn compile(
    doc: &PolicyDocument,
    catalog: &Catalog,
) -> Result<PolicyEngine, ValidationErrors> {
    let mut errors = Vec::new();
    let mut err = |item: Item, kind| errors.push(ValidationError::new(item, kind));
    if doc.version != crate::document::DOCUMENT_VERSION {
        err(
            Item::Document,
            ValidationErrorKind::UnsupportedVersion(doc.version),
        );
    }

    // Actions: the built-ins, the catalog's, then the document's.
    let mut actions: Vec<Action> = Action::BUILTIN.to_vec();
    let mut declared: Vec<ActionName> = catalog.custom_actions().to_vec();
    for (index, name) in doc.custom_actions.iter().enumerate() {
        let item = || Item::CustomAction {
            index,
            name: name.clone(),
        };
        match check_action_name(name) {
            Ok(_) if doc.custom_actions.iter().take(index).any(|m| m == name) => {
                err(item(), ValidationErrorKind::DuplicateName);
            }
            Ok(n) => {
                if !declared.contains(&n) {
                    declared.push(n);
                }
            }
            Err(kind) => err(item(), kind),
        }
    }
    actions.extend(declared.iter().cloned().map(Action::Custom));
    let mut custom_actions: Vec<(Box<str>, usize)> = declared
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str().into(), BUILTIN_ACTIONS + i))
        .collect();
    custom_actions.sort();

    // Roles.
    let max = catalog.max_custom_roles().min(MAX_CUSTOM_ROLES_LIMIT);
    if doc.roles.len() > max {
        err(
            Item::Document,
            ValidationErrorKind::TooManyCustomRoles {
                count: doc.roles.len(),
                max,
            },
        );
    }
    let mut custom_roles: Vec<(Box<str>, usize)> = Vec::new();
    let mut roles: Vec<RoleEntry> = BuiltinRole::ALL
        .iter()
        .enumerate()
        .map(|(i, r)| RoleEntry {
            role: Role::Builtin(*r),
            read_only: r.is_read_only(),
            lineage: vec![i],
        })
        .collect();
    for (index, def) in doc.roles.iter().enumerate().take(MAX_CUSTOM_ROLES_LIMIT) {
        let item = Item::Role {
            index,
            name: def.name.clone(),
        };
        if let Err(kind) = check_role_name(&def.name) {
            err(item, kind);
        } else if custom_roles.iter().any(|(n, _)| **n == *def.name) {
            err(item, ValidationErrorKind::DuplicateName);
        } else if let Ok(name) = RoleName::new(&def.name) {
            custom_roles.push((def.name.as_str().into(), roles.len()));
            roles.push(RoleEntry {
                role: Role::Custom(name),
                read_only: def.read_only,
                lineage: vec![roles.len()],
            });
        }
    }
    // Templates: resolve, reject AwB and cycles, then build each lineage.
    let mut parent: Vec<Option<usize>> = vec![None; roles.len()];
    for (index, def) in doc.roles.iter().enumerate() {
        let Some(own) =
            resolve_role(&def.name, &custom_roles).filter(|&i| i >= BuiltinRole::ALL.len())
        else {
            continue;
        };
        let Some(template) = &def.template else {
            continue;
        };
        let item = || Item::Role {
            index,
            name: def.name.clone(),
        };
        match resolve_role(template, &custom_roles) {
            None => err(item(), ValidationErrorKind::UnknownRole(template.clone())),
            Some(0) => err(item(), ValidationErrorKind::EscalationTemplate),
            Some(t) => {
                if let Some(p) = parent.get_mut(own) {
                    *p = Some(t);
                }
            }
        }
    }
    for (index, def) in doc.roles.iter().enumerate() {
        let Some(own) =
            resolve_role(&def.name, &custom_roles).filter(|&i| i >= BuiltinRole::ALL.len())
        else {
            continue;
        };
        let mut lineage = vec![own];
        let mut at = own;
        let mut cyclic = false;
        while let Some(Some(next)) = parent.get(at) {
            if *next == own {
                cyclic = true;
                break;
            }
            if lineage.contains(next) || lineage.len() > roles.len() {
                break; // leads into a cycle that does not include this role; reported there
            }
            lineage.push(*next);
            at = *next;
        }
        if cyclic {
            err(
                Item::Role {
                    index,
                    name: def.name.clone(),
                },
                ValidationErrorKind::TemplateCycle,
            );
        }
        let read_only = lineage
            .iter()
            .any(|&i| roles.get(i).is_some_and(|r| r.read_only));
        if let Some(entry) = roles.get_mut(own) {
            entry.lineage = lineage;
            entry.read_only = read_only;
        }
    }
    custom_roles.sort();

    // Rules: the profile's, then the document's.
    let mut all: Vec<(&RuleDef, RuleSource)> = Vec::new();
    let profile = profile_rules(doc.extends);
    all.extend(
        profile
            .iter()
            .map(|r| (r, RuleSource::Profile(doc.extends))),
    );
    all.extend(
        doc.rules
            .iter()
            .enumerate()
            .map(|(index, r)| (r, RuleSource::Document { index })),
    );
    // (rule, subject role indices, action indices, target role indices)
    let mut compiled: Vec<CompiledRule> = Vec::new();
    for (position, (def, source)) in all.iter().enumerate() {
        let index = match source {
            RuleSource::Document { index } => *index,
            RuleSource::Profile(_) => position,
        };
        let item = || Item::Rule {
            index,
            id: def.id.clone(),
        };
        let before = errors.len();
        let mut err = |kind| errors.push(ValidationError::new(item(), kind));
        if !is_kebab_name(&def.id) {
            err(ValidationErrorKind::InvalidName);
        } else if all.iter().take(position).any(|(d, _)| d.id == def.id) {
            err(ValidationErrorKind::DuplicateRuleId);
        }
        if def.roles.is_empty() {
            err(ValidationErrorKind::EmptyRoles);
        }
        if def.actions.is_empty() {
            err(ValidationErrorKind::EmptyActions);
        }
        let mut role_ids = Vec::new();
        for name in &def.roles {
            match resolve_role(name, &custom_roles) {
                Some(i) => role_ids.push(i),
                None => err(ValidationErrorKind::UnknownRole(name.clone())),
            }
        }
        let mut action_ids = Vec::new();
        let mut rule_actions = Vec::new();
        for name in &def.actions {
            match lookup_action(name, &declared) {
                Some(action) => {
                    if def.effect == Effect::Permit && action.is_awb_only() {
                        for role in def.roles.iter().filter(|r| {
                            r.as_str() != BuiltinRole::AdministratorWithBilling.as_str()
                        }) {
                            err(ValidationErrorKind::EscalationGrant {
                                action: name.clone(),
                                role: role.clone(),
                            });
                        }
                    }
                    let index = action.builtin_index().or_else(|| {
                        custom_actions
                            .iter()
                            .find(|(n, _)| **n == **name)
                            .map(|(_, i)| *i)
                    });
                    action_ids.extend(index);
                    rule_actions.push(action);
                }
                None => err(ValidationErrorKind::UnknownAction(name.clone())),
            }
        }
        let mut target_roles = Vec::new();
        if let TargetSpec::Roles(names) | TargetSpec::NotRoles(names) = &def.target {
            if names.is_empty() {
                err(ValidationErrorKind::EmptyTargetRoles);
            }
            for name in names {
                match resolve_role(name, &custom_roles) {
                    Some(i) => target_roles.push(i),
                    None => err(ValidationErrorKind::UnknownRole(name.clone())),
                }
            }
        }
        if errors.len() == before {
            let info = RuleInfo {
                id: def.id.clone(),
                effect: def.effect,
                roles: role_ids
                    .iter()
                    .filter_map(|&i| roles.get(i).map(|r| r.role.clone()))
                    .collect(),
                actions: rule_actions,
                target: def.target.clone(),
                description: def.description.clone(),
                source: *source,
            };
            compiled.push((info, role_ids, action_ids, target_roles));
        }
    }
    if compiled.len() > usize::from(u16::MAX) {
        errors.push(ValidationError::new(
            Item::Document,
            ValidationErrorKind::TooManyRules(compiled.len()),
        ));
    }
    if !errors.is_empty() {
        return Err(ValidationErrors(errors));
    }

    // Compile: rule ids in id order, then one cell per (role, action).
    compiled.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    let n_actions = actions.len();
    let mut forbids: Vec<Vec<Entry>> = vec![Vec::new(); roles.len() * n_actions];
    let mut permits: Vec<Vec<Entry>> = vec![Vec::new(); roles.len() * n_actions];
    for (id, (info, rule_roles, rule_actions, target_roles)) in compiled.iter().enumerate() {
        let rule = RuleId(u16::try_from(id).unwrap_or(u16::MAX));
        let role_mask = target_roles.iter().fold(0u64, |m, &r| m | role_bit(r));
        for (s, entry) in roles.iter().enumerate() {
            if !entry.lineage.iter().any(|r| rule_roles.contains(r)) {
                continue;
            }
            for &a in rule_actions {
                let Some(action) = actions.get(a) else {
                    continue;
                };
                let spec = match &info.target {
                    TargetSpec::Any => !0,
                    TargetSpec::SelfOnly if action.class() == ActionClass::SelfService => SELF_FLOW,
                    TargetSpec::SelfOnly => SELF | SELF_FLOW,
                    TargetSpec::Others => OTHERS,
                    TargetSpec::Roles(_) => role_mask,
                    TargetSpec::NotRoles(_) => OTHERS & !role_mask,
                };
                let mask = spec & domain_mask(action);
                if mask == 0 {
                    continue;
                }
                let lists = if info.effect == Effect::Forbid {
                    &mut forbids
                } else {
                    &mut permits
                };
                if let Some(list) = lists.get_mut(s * n_actions + a) {
                    list.push(Entry { mask, rule });
                }
            }
        }
    }
    let mut entries = Vec::new();
    let mut cells = Vec::with_capacity(forbids.len());
    for (f, p) in forbids.into_iter().zip(permits) {
        let forbid_start = u32::try_from(entries.len()).unwrap_or(u32::MAX);
        let permit_start = u32::try_from(entries.len() + f.len()).unwrap_or(u32::MAX);
        cells.push(Cell {
            forbid: f.iter().fold(0, |m, e| m | e.mask),
            permit: p.iter().fold(0, |m, e| m | e.mask),
            forbid_start,
            forbid_len: u32::try_from(f.len()).unwrap_or(0),
            permit_start,
            permit_len: u32::try_from(p.len()).unwrap_or(0),
        });
        entries.extend(f);
        entries.extend(p);
    }
    Ok(PolicyEngine {
        profile: doc.extends,
        document: doc.clone(),
        roles,
        custom_role_index: custom_roles.iter().map(|(_, i)| *i).collect(),
        custom_roles: NameTable::new(&custom_roles),
        actions,
        custom_action_index: custom_actions.iter().map(|(_, i)| *i).collect(),
        custom_actions: NameTable::new(&custom_actions),
        cells,
        entries,
        rules: compiled.into_iter().map(|(info, ..)| info).collect(),
    })
}
