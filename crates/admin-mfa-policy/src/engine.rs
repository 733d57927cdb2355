//! The compiled engine: load-time validation and compilation, and the allocation-free `decide`.
//!
//! Every (subject role, action) pair owns a [`Cell`]: two bitmasks over target kinds (one for
//! forbids, one for permits) and two short lists of `(mask, rule)` entries sorted by rule id, which
//! are only scanned to name the reason. A target kind is one bit of a `u64`:
//!
//! ```text
//! bit 0  the subject itself (not through the login flow)
//! bit 1  the subject itself, through the login flow
//! bit 2  the Home page          bit 3  the Administrators page
//! bit 4  the widget             bit 5  the subject's organization
//! bit 6  another admin whose role the engine does not know
//! bit 8+r  another admin with role index r (0..8 built-in, then custom roles)
//! ```

use std::collections::BTreeMap;

use crate::action::{Action, ActionClass, ActionName, BUILTIN_ACTIONS, TargetKind};
use crate::decision::{Decision, GuardrailId, Reason, RuleId};
use crate::document::{
    Catalog, Effect, Extends, Item, MAX_CUSTOM_ROLES_LIMIT, PolicyDocument, RuleDef, TargetSpec,
    ValidationError, ValidationErrorKind, ValidationErrors, ValidationWarning, check_action_name,
    check_role_name, lookup_action,
};
use crate::ids::{AdminId, OrgId, PageId, WidgetId};
use crate::matrix::{
    DecisionMatrix, MATRIX_CONTEXTS, MatrixChange, MatrixRow, MatrixTarget, Verdict,
};
use crate::names::NameTable;
use crate::profiles::profile_rules;
use crate::request::{Context, Request, Subject, Target};
use crate::role::{BuiltinRole, Role, RoleName, is_kebab_name};

const SELF: u64 = 1 << 0;
const SELF_FLOW: u64 = 1 << 1;
const HOME: u64 = 1 << 2;
const ADMINS_PAGE: u64 = 1 << 3;
const WIDGET: u64 = 1 << 4;
const ORG: u64 = 1 << 5;
const OTHER_UNKNOWN: u64 = 1 << 6;
const ROLE_SHIFT: u32 = 8;
const OTHER_ROLES: u64 = !0 << ROLE_SHIFT;
const OTHERS: u64 = OTHER_UNKNOWN | OTHER_ROLES;
const ADMIN_TARGETS: u64 = SELF | SELF_FLOW | OTHERS;

const VIEW_HOME: usize = 0;
const VIEW_ADMIN_LIST: usize = 1;
const VIEW_WIDGET: usize = 3;

const fn role_bit(index: usize) -> u64 {
    // Callers keep `index < 56`; a larger one maps to no bit rather than wrapping.
    match 1u64.checked_shl(ROLE_SHIFT + index as u32) {
        Some(bit) => bit,
        None => 0,
    }
}

fn domain_mask(action: &Action) -> u64 {
    match action {
        Action::ViewHome | Action::ToggleWidget => HOME,
        Action::ViewAdminList => ADMINS_PAGE,
        other => match other.target_kind() {
            Some(TargetKind::Admin) => ADMIN_TARGETS,
            Some(TargetKind::Page) => HOME | ADMINS_PAGE,
            Some(TargetKind::Widget) => WIDGET,
            Some(TargetKind::Org) => ORG,
            None => !0,
        },
    }
}

/// Where a rule comes from.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum RuleSource {
    /// A rule of this built-in profile.
    Profile(Extends),
    /// The `index`-th rule of the loaded document.
    Document {
        /// Position in the document's `rules`.
        index: usize,
    },
}

/// A compiled rule, as [`PolicyEngine::rule`] reports it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RuleInfo {
    /// The rule's id (its name in reasons).
    pub id: String,
    /// Permit or forbid.
    pub effect: Effect,
    /// The subject roles it names.
    pub roles: Vec<Role>,
    /// The actions it names.
    pub actions: Vec<Action>,
    /// The targets it matches.
    pub target: TargetSpec,
    /// Its description, if any.
    pub description: Option<String>,
    /// Where it comes from.
    pub source: RuleSource,
}

#[derive(Clone, Debug)]
struct RoleEntry {
    role: Role,
    read_only: bool,
    /// Indices of the role and every template above it.
    lineage: Vec<usize>,
}

#[derive(Copy, Clone, Default, Debug)]
struct Cell {
    forbid: u64,
    permit: u64,
    forbid_start: u32,
    forbid_len: u32,
    permit_start: u32,
    permit_len: u32,
}

#[derive(Copy, Clone, Debug)]
struct Entry {
    mask: u64,
    rule: RuleId,
}

/// Everything `explain` found for one request: the decision and every match behind it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Explanation {
    /// The decision, equal to [`PolicyEngine::decide`]'s.
    pub decision: Decision,
    /// Every matching guardrail, in canonical order.
    pub guardrails: Vec<GuardrailId>,
    /// Every matching forbid, by rule id.
    pub forbids: Vec<RuleId>,
    /// Every matching permit, by rule id.
    pub permits: Vec<RuleId>,
}

/// The decisions of [`PolicyEngine::decide_bulk`], one per target, in target order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BulkDecision {
    /// One decision per target.
    pub decisions: Vec<Decision>,
    /// Whether every target is allowed (true for no targets).
    pub all_allowed: bool,
}

/// What a subject may do with the "Admins Without MFA Required" widget (POLICY.md §8).
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum WidgetAccess {
    /// The subject cannot see the Home page at all (Billing Only).
    NoHomePage,
    /// The subject sees Home but not the widget (Command Runner roles).
    Hidden,
    /// The subject sees the widget and its list but cannot act on it.
    ViewOnly,
    /// The subject sees the widget and may require MFA from its list (Administrator With Billing).
    Actionable,
}

/// A compiled policy: a built-in profile, custom roles and rules, and the guardrails.
///
/// Build one with [`PolicyEngine::jumpcloud`], [`PolicyEngine::jumpcloud_strict`],
/// [`PolicyEngine::from_document`] or, with features, `from_toml_str` and `from_json_str`.
/// It is immutable, `Send + Sync`, and cheap to share behind an `Arc`.
#[derive(Clone, Debug)]
pub struct PolicyEngine {
    profile: Extends,
    document: PolicyDocument,
    roles: Vec<RoleEntry>,
    /// Custom role names; `custom_role_index[position]` is the role index.
    custom_roles: NameTable,
    custom_role_index: Vec<usize>,
    actions: Vec<Action>,
    custom_actions: NameTable,
    custom_action_index: Vec<usize>,
    cells: Vec<Cell>,
    entries: Vec<Entry>,
    rules: Vec<RuleInfo>,
}

impl Default for PolicyEngine {
    /// The `jumpcloud` profile.
    fn default() -> Self {
        Self::jumpcloud()
    }
}

struct TargetFacts {
    bit: u64,
    same_org: bool,
    is_self: bool,
    target_awb: bool,
}

impl PolicyEngine {
    /// The default profile `jumpcloud` (POLICY.md §4): Administrator may enable or reset MFA for
    /// admins who are not Administrator With Billing.
    #[must_use]
    pub fn jumpcloud() -> Self {
        Self::profile(Extends::Jumpcloud)
    }

    /// The profile `jumpcloud-strict` (POLICY.md §5): only Administrator With Billing mutates other
    /// admins; Administrator keeps `enable-mfa` on itself.
    #[must_use]
    pub fn jumpcloud_strict() -> Self {
        Self::profile(Extends::JumpcloudStrict)
    }

    fn profile(profile: Extends) -> Self {
        // The built-in rules are checked by the unit tests; should they ever fail to compile the
        // engine fails closed (no rules, everything denied) instead of panicking.
        Self::from_document(PolicyDocument::new(profile)).unwrap_or_else(|_| Self::empty(profile))
    }

    fn empty(profile: Extends) -> Self {
        Self {
            profile,
            document: PolicyDocument::new(Extends::None),
            roles: BuiltinRole::ALL
                .iter()
                .enumerate()
                .map(|(i, r)| RoleEntry {
                    role: Role::Builtin(*r),
                    read_only: r.is_read_only(),
                    lineage: vec![i],
                })
                .collect(),
            custom_roles: NameTable::default(),
            custom_role_index: Vec::new(),
            actions: Action::BUILTIN.to_vec(),
            custom_actions: NameTable::default(),
            custom_action_index: Vec::new(),
            cells: Vec::new(),
            entries: Vec::new(),
            rules: Vec::new(),
        }
    }

    /// Validates and compiles a document with the default [`Catalog`].
    ///
    /// # Errors
    /// Every validation problem of the document (POLICY.md §11).
    pub fn from_document(doc: PolicyDocument) -> Result<Self, ValidationErrors> {
        Self::from_document_with(&doc, &Catalog::default())
    }

    /// Validates and compiles a document against a host [`Catalog`].
    ///
    /// # Errors
    /// Every validation problem of the document (POLICY.md §11).
    pub fn from_document_with(
        doc: &PolicyDocument,
        catalog: &Catalog,
    ) -> Result<Self, ValidationErrors> {
        compile(doc, catalog)
    }

    /// The profile the engine extends.
    #[must_use]
    pub const fn extends(&self) -> Extends {
        self.profile
    }

    /// The document the engine was compiled from (for a built-in profile, an empty document
    /// extending it).
    #[must_use]
    pub const fn document(&self) -> &PolicyDocument {
        &self.document
    }

    /// Every role the engine knows: the built-ins, then the custom roles in document order.
    pub fn roles(&self) -> impl Iterator<Item = &Role> {
        self.roles.iter().map(|r| &r.role)
    }

    /// Every action the engine knows: the built-ins, then the custom actions.
    #[must_use]
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// Every compiled rule, indexed by [`RuleId`] (sorted by rule id).
    #[must_use]
    pub fn rules(&self) -> &[RuleInfo] {
        &self.rules
    }

    /// The rule behind a [`RuleId`] of this engine; `None` for an id from another engine.
    #[must_use]
    pub fn rule(&self, id: RuleId) -> Option<&RuleInfo> {
        self.rules.get(id.index())
    }

    /// Whether the role is read-only (guardrail G4): built-in Read Only, or a custom role flagged
    /// `read_only` itself or through its template.
    #[must_use]
    pub fn is_read_only(&self, role: &Role) -> bool {
        match role {
            Role::Builtin(b) => b.is_read_only(),
            Role::Custom(_) => self
                .role_index(role)
                .and_then(|i| self.roles.get(i))
                .is_some_and(|r| r.read_only),
        }
    }

    fn role_index(&self, role: &Role) -> Option<usize> {
        match role {
            Role::Builtin(b) => Some(b.index()),
            Role::Custom(name) => self
                .custom_roles
                .get(name.as_str())
                .and_then(|p| self.custom_role_index.get(p).copied()),
        }
    }

    fn action_index(&self, action: &Action) -> Option<usize> {
        match action {
            Action::Custom(name) => self
                .custom_actions
                .get(name.as_str())
                .and_then(|p| self.custom_action_index.get(p).copied()),
            builtin => builtin.builtin_index(),
        }
    }

    fn cell(&self, role: Option<usize>, action: Option<usize>) -> Option<&Cell> {
        let (r, a) = (role?, action?);
        self.cells
            .get(r.checked_mul(self.actions.len())?.checked_add(a)?)
    }

    fn facts(&self, req: &Request<'_>) -> TargetFacts {
        let subject = req.subject;
        match req.target {
            Target::Admin { id, org, role } => {
                let is_self = id == subject.id;
                let bit = if is_self {
                    if req.context.via_login_flow {
                        SELF_FLOW
                    } else {
                        SELF
                    }
                } else {
                    self.role_index(role).map_or(OTHER_UNKNOWN, role_bit)
                };
                TargetFacts {
                    bit,
                    same_org: org == subject.org,
                    is_self,
                    target_awb: role.is_awb(),
                }
            }
            Target::Page(PageId::Home) => TargetFacts {
                bit: HOME,
                same_org: true,
                is_self: false,
                target_awb: false,
            },
            Target::Page(PageId::Administrators) => TargetFacts {
                bit: ADMINS_PAGE,
                same_org: true,
                is_self: false,
                target_awb: false,
            },
            Target::Widget(WidgetId::AdminsWithoutMfaRequired) => TargetFacts {
                bit: WIDGET,
                same_org: true,
                is_self: false,
                target_awb: false,
            },
            Target::Org(org) => TargetFacts {
                bit: ORG,
                same_org: org == subject.org,
                is_self: false,
                target_awb: false,
            },
        }
    }

    /// The guardrails matching a request, in canonical order, as a bit set (bit i = `GuardrailId::ALL[i]`).
    fn guardrail_bits(&self, req: &Request<'_>, role: Option<usize>, facts: &TargetFacts) -> u8 {
        let action = req.action;
        let mutate = action.class() == ActionClass::Mutate;
        let subject_awb = req.subject.role.is_awb();
        let read_only = match req.subject.role {
            Role::Builtin(b) => b.is_read_only(),
            Role::Custom(_) => role
                .and_then(|i| self.roles.get(i))
                .is_some_and(|r| r.read_only),
        };
        let lifecycle = matches!(
            action,
            Action::DeleteAdmin | Action::SuspendAdmin | Action::ChangeAdminRole
        );
        let bits = [
            !facts.same_org,
            mutate && facts.target_awb && !subject_awb,
            matches!(action, Action::DeleteAdmin) && facts.is_self,
            req.context.awb_count <= 1 && lifecycle && facts.target_awb,
            mutate && read_only,
            req.context.global_mfa_required && matches!(action, Action::DisableMfaRequirement),
            action.is_awb_only() && !subject_awb,
        ];
        let mut set = 0u8;
        for (i, hit) in bits.into_iter().enumerate() {
            set |= u8::from(hit) << i;
        }
        set
    }

    fn view_allowed(&self, role: Option<usize>, action: usize, bit: u64) -> bool {
        self.cell(role, Some(action))
            .is_some_and(|c| c.forbid & bit == 0 && c.permit & bit != 0)
    }

    fn visible(&self, req: &Request<'_>, role: Option<usize>, facts: &TargetFacts) -> bool {
        if !facts.same_org {
            return false;
        }
        match req.target {
            Target::Admin { .. } if facts.is_self => true,
            Target::Admin { .. } | Target::Page(PageId::Administrators) => {
                self.view_allowed(role, VIEW_ADMIN_LIST, ADMINS_PAGE)
            }
            Target::Page(PageId::Home) => self.view_allowed(role, VIEW_HOME, HOME),
            Target::Widget(WidgetId::AdminsWithoutMfaRequired) => {
                self.view_allowed(role, VIEW_WIDGET, WIDGET)
            }
            Target::Org(_) => true,
        }
    }

    fn first_entry(&self, start: u32, len: u32, bit: u64) -> Option<RuleId> {
        let start = start as usize;
        self.entries
            .get(start..start.saturating_add(len as usize))?
            .iter()
            .find(|e| e.mask & bit != 0)
            .map(|e| e.rule)
    }

    fn rule_reason(&self, cell: Option<&Cell>, bit: u64) -> Reason {
        let Some(cell) = cell else {
            return Reason::DefaultDeny;
        };
        if cell.forbid & bit != 0
            && let Some(rule) = self.first_entry(cell.forbid_start, cell.forbid_len, bit)
        {
            return Reason::Forbid(rule);
        }
        if cell.permit & bit != 0
            && let Some(rule) = self.first_entry(cell.permit_start, cell.permit_len, bit)
        {
            return Reason::Permit(rule);
        }
        Reason::DefaultDeny
    }

    /// Decides a request: guardrail > forbid > permit > default deny (POLICY.md §9).
    ///
    /// Total: never panics, never allocates, and runs in bounded time (a few table loads and a
    /// scan of at most the rules naming this role and action).
    pub fn decide(&self, req: &Request<'_>) -> Decision {
        let role = self.role_index(req.subject.role);
        let facts = self.facts(req);
        let visible = self.visible(req, role, &facts);
        let guardrails = self.guardrail_bits(req, role, &facts);
        if guardrails != 0 {
            let first = guardrails.trailing_zeros() as usize;
            let id = GuardrailId::ALL
                .get(first)
                .copied()
                .unwrap_or(GuardrailId::SameOrgOnly);
            return Decision {
                allowed: false,
                reason: Reason::Guardrail(id),
                visible,
            };
        }
        let cell = self.cell(role, self.action_index(req.action));
        let reason = self.rule_reason(cell, facts.bit);
        Decision {
            allowed: matches!(reason, Reason::Permit(_)),
            reason,
            visible,
        }
    }

    /// The slow path of [`decide`](Self::decide): the decision plus every guardrail and rule that
    /// matches the request.
    pub fn explain(&self, req: &Request<'_>) -> Explanation {
        let role = self.role_index(req.subject.role);
        let facts = self.facts(req);
        let bits = self.guardrail_bits(req, role, &facts);
        let guardrails = GuardrailId::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, g)| *g)
            .collect();
        let (mut forbids, mut permits) = (Vec::new(), Vec::new());
        if let Some(cell) = self.cell(role, self.action_index(req.action)) {
            let collect = |start: u32, len: u32, out: &mut Vec<RuleId>| {
                let start = start as usize;
                if let Some(entries) = self.entries.get(start..start.saturating_add(len as usize)) {
                    out.extend(
                        entries
                            .iter()
                            .filter(|e| e.mask & facts.bit != 0)
                            .map(|e| e.rule),
                    );
                }
            };
            collect(cell.forbid_start, cell.forbid_len, &mut forbids);
            collect(cell.permit_start, cell.permit_len, &mut permits);
        }
        Explanation {
            decision: self.decide(req),
            guardrails,
            forbids,
            permits,
        }
    }

    /// Decides one action of one subject on many targets, pointwise.
    pub fn decide_bulk<'t>(
        &self,
        subject: Subject<'_>,
        action: &Action,
        targets: impl IntoIterator<Item = Target<'t>>,
        context: &Context,
    ) -> BulkDecision {
        let decisions: Vec<Decision> = targets
            .into_iter()
            .map(|target| {
                self.decide(&Request {
                    subject,
                    action,
                    target,
                    context,
                })
            })
            .collect();
        let all_allowed = decisions.iter().all(|d| d.allowed);
        BulkDecision {
            decisions,
            all_allowed,
        }
    }

    /// The subject's access to a widget: the seed's widget row, derived from `view-home`,
    /// `view-admins-without-mfa-widget` and `act-on-admins-without-mfa-widget`.
    #[must_use]
    pub fn widget_access(
        &self,
        subject: Subject<'_>,
        widget: WidgetId,
        context: &Context,
    ) -> WidgetAccess {
        let allowed = |action: &Action, target| {
            self.decide(&Request {
                subject,
                action,
                target,
                context,
            })
            .allowed
        };
        if !allowed(&Action::ViewHome, Target::Page(PageId::Home)) {
            WidgetAccess::NoHomePage
        } else if !allowed(&Action::ViewAdminsWithoutMfaWidget, Target::Widget(widget)) {
            WidgetAccess::Hidden
        } else if allowed(&Action::ActOnAdminsWithoutMfaWidget, Target::Widget(widget)) {
            WidgetAccess::Actionable
        } else {
            WidgetAccess::ViewOnly
        }
    }

    /// The exhaustive decision table: every known subject role × action × kind of target
    /// (self, another admin of each known role, an admin of another organization, the pages,
    /// the widget, the own and another organization) × the eight [`MATRIX_CONTEXTS`].
    #[must_use]
    pub fn matrix(&self) -> DecisionMatrix {
        self.matrix_with(false)
    }

    /// The matrix; `full` decides all eight contexts of every row instead of only those that can differ.
    fn matrix_with(&self, full: bool) -> DecisionMatrix {
        let subject_id = AdminId::from_bytes([0x11; 16]);
        let other_id = AdminId::from_bytes([0x22; 16]);
        let org = OrgId::from_bytes([0xa0; 16]);
        let other_org = OrgId::from_bytes([0xb0; 16]);
        let awb = Role::Builtin(BuiltinRole::AdministratorWithBilling);
        let mut targets = vec![MatrixTarget::SelfAdmin];
        targets.extend(self.roles().cloned().map(MatrixTarget::Admin));
        targets.push(MatrixTarget::OtherOrgAdmin);
        targets.extend(PageId::ALL.map(MatrixTarget::Page));
        targets.extend(WidgetId::ALL.map(MatrixTarget::Widget));
        targets.extend([MatrixTarget::Org, MatrixTarget::OtherOrg]);
        let mut rows = Vec::with_capacity(self.roles.len() * self.actions.len() * 12);
        for subject_role in self.roles() {
            let subject = Subject {
                id: subject_id,
                org,
                role: subject_role,
            };
            for action in &self.actions {
                let domain = domain_mask(action);
                for target in &targets {
                    let (t, bit) = match target {
                        MatrixTarget::SelfAdmin => (
                            Target::Admin {
                                id: subject_id,
                                org,
                                role: subject_role,
                            },
                            SELF,
                        ),
                        MatrixTarget::Admin(role) => (
                            Target::Admin {
                                id: other_id,
                                org,
                                role,
                            },
                            self.role_index(role).map_or(0, role_bit),
                        ),
                        MatrixTarget::OtherOrgAdmin => (
                            Target::Admin {
                                id: other_id,
                                org: other_org,
                                role: &awb,
                            },
                            OTHERS,
                        ),
                        MatrixTarget::Page(PageId::Home) => (Target::Page(PageId::Home), HOME),
                        MatrixTarget::Page(PageId::Administrators) => {
                            (Target::Page(PageId::Administrators), ADMINS_PAGE)
                        }
                        MatrixTarget::Widget(w) => (Target::Widget(*w), WIDGET),
                        MatrixTarget::Org => (Target::Org(org), ORG),
                        MatrixTarget::OtherOrg => (Target::Org(other_org), ORG),
                    };
                    if domain & bit == 0 {
                        continue;
                    }
                    let decide = |context: &Context| {
                        self.decide(&Request {
                            subject,
                            action,
                            target: t,
                            context,
                        })
                    };
                    let decisions = if full {
                        MATRIX_CONTEXTS.map(|context| decide(&context))
                    } else {
                        // Only three facts of a context can change a decision: the login flow
                        // (self targets only), the global requirement (G5, `disable-mfa-requirement`)
                        // and the AwB count (G3, lifecycle actions on an AwB). Decide the contexts
                        // that differ in those, copy the rest; a unit test checks this against the
                        // full evaluation.
                        let target_awb = match target {
                            MatrixTarget::SelfAdmin => subject_role.is_awb(),
                            MatrixTarget::Admin(role) => role.is_awb(),
                            _ => false,
                        };
                        let lifecycle = matches!(
                            action,
                            Action::DeleteAdmin | Action::SuspendAdmin | Action::ChangeAdminRole
                        );
                        let relevant =
                            (usize::from(matches!(action, Action::DisableMfaRequirement)) << 2)
                                | (usize::from(lifecycle && target_awb) << 1)
                                | usize::from(matches!(target, MatrixTarget::SelfAdmin));
                        let mut decided: [Option<Decision>; 8] = [None; 8];
                        core::array::from_fn(|i| {
                            let base = i & relevant;
                            if let Some(Some(d)) = decided.get(base) {
                                return *d;
                            }
                            let d = MATRIX_CONTEXTS
                                .get(base)
                                .map_or_else(|| decide(&Context::default()), decide);
                            if let Some(slot) = decided.get_mut(base) {
                                *slot = Some(d);
                            }
                            d
                        })
                    };
                    rows.push(MatrixRow {
                        subject: subject_role.clone(),
                        action: action.clone(),
                        target: target.clone(),
                        decisions,
                    });
                }
            }
        }
        DecisionMatrix::new(
            self.profile,
            self.rules.iter().map(|r| r.id.clone()).collect(),
            rows,
        )
    }

    /// The cells of the two engines' matrices whose verdict (allowed, visible) differs, and the
    /// cells only one of them has (custom roles and actions), in matrix order of `other`.
    #[must_use]
    pub fn diff(&self, other: &Self) -> Vec<MatrixChange> {
        let mine = self.matrix();
        let theirs = other.matrix();
        let mut before: BTreeMap<(&Role, &Action, &MatrixTarget), &MatrixRow> = BTreeMap::new();
        for row in mine.rows() {
            before.insert((&row.subject, &row.action, &row.target), row);
        }
        let mut changes = Vec::new();
        for row in theirs.rows() {
            let old = before.remove(&(&row.subject, &row.action, &row.target));
            for (i, context) in MATRIX_CONTEXTS.iter().enumerate() {
                let after = row.decisions.get(i).map(Verdict::of);
                let prior = old.and_then(|o| o.decisions.get(i)).map(Verdict::of);
                if prior != after {
                    changes.push(MatrixChange {
                        subject: row.subject.clone(),
                        action: row.action.clone(),
                        target: row.target.clone(),
                        context: *context,
                        before: prior,
                        after,
                    });
                }
            }
        }
        for row in before.into_values() {
            for (i, context) in MATRIX_CONTEXTS.iter().enumerate() {
                changes.push(MatrixChange {
                    subject: row.subject.clone(),
                    action: row.action.clone(),
                    target: row.target.clone(),
                    context: *context,
                    before: row.decisions.get(i).map(Verdict::of),
                    after: None,
                });
            }
        }
        changes
    }

    /// The warnings of POLICY.md §11, found through the exhaustive matrix: permits that only
    /// guardrails ever answer, rules that never match, and widget roles that break the view chain.
    #[must_use]
    pub fn warnings(&self) -> Vec<ValidationWarning> {
        let mut matched = vec![false; self.rules.len()];
        let mut effective = vec![false; self.rules.len()];
        let matrix = self.matrix();
        let subject_id = AdminId::from_bytes([0x11; 16]);
        let other_id = AdminId::from_bytes([0x22; 16]);
        let org = OrgId::from_bytes([0xa0; 16]);
        for row in matrix.rows() {
            let target = match &row.target {
                MatrixTarget::SelfAdmin => Target::Admin {
                    id: subject_id,
                    org,
                    role: &row.subject,
                },
                MatrixTarget::Admin(role) => Target::Admin {
                    id: other_id,
                    org,
                    role,
                },
                MatrixTarget::Page(p) => Target::Page(*p),
                MatrixTarget::Widget(w) => Target::Widget(*w),
                MatrixTarget::Org => Target::Org(org),
                MatrixTarget::OtherOrgAdmin | MatrixTarget::OtherOrg => continue,
            };
            for context in &MATRIX_CONTEXTS {
                let req = Request {
                    subject: Subject {
                        id: subject_id,
                        org,
                        role: &row.subject,
                    },
                    action: &row.action,
                    target,
                    context,
                };
                let explanation = self.explain(&req);
                for id in explanation.forbids.iter().chain(&explanation.permits) {
                    if let Some(m) = matched.get_mut(id.index()) {
                        *m = true;
                    }
                    if explanation.guardrails.is_empty()
                        && let Some(e) = effective.get_mut(id.index())
                    {
                        *e = true;
                    }
                }
            }
        }
        let mut warnings = Vec::new();
        for ((rule, matched), effective) in self.rules.iter().zip(matched).zip(effective) {
            if !matched {
                warnings.push(ValidationWarning::NeverMatches(rule.id.clone()));
            } else if !effective && rule.effect == Effect::Permit {
                warnings.push(ValidationWarning::DeadPermit(rule.id.clone()));
            }
        }
        let context = Context {
            global_mfa_required: false,
            awb_count: 2,
            via_login_flow: false,
        };
        for role in self.roles() {
            let subject = Subject {
                id: subject_id,
                org,
                role,
            };
            let allowed = |action: &Action, target| {
                self.decide(&Request {
                    subject,
                    action,
                    target,
                    context: &context,
                })
                .allowed
            };
            let widget = Target::Widget(WidgetId::AdminsWithoutMfaRequired);
            let acts = allowed(&Action::ActOnAdminsWithoutMfaWidget, widget);
            let views = allowed(&Action::ViewAdminsWithoutMfaWidget, widget);
            let home = allowed(&Action::ViewHome, Target::Page(PageId::Home));
            if acts && !views {
                warnings.push(ValidationWarning::WidgetActionWithoutView(role.to_string()));
            }
            if views && !home {
                warnings.push(ValidationWarning::WidgetViewWithoutHome(role.to_string()));
            }
        }
        warnings
    }
}

impl PolicyDocument {
    /// Validates the document against a catalog, as loading does, and returns its warnings.
    ///
    /// # Errors
    /// Every validation problem (POLICY.md §11), each naming the offending rule, role or action.
    pub fn validate(&self, catalog: &Catalog) -> Result<Vec<ValidationWarning>, ValidationErrors> {
        compile(self, catalog).map(|engine| engine.warnings())
    }
}

type CompiledRule = (RuleInfo, Vec<usize>, Vec<usize>, Vec<usize>);

fn resolve_role(name: &str, custom: &[(Box<str>, usize)]) -> Option<usize> {
    match name.parse::<BuiltinRole>() {
        Ok(b) => Some(b.index()),
        Err(_) => custom.iter().find(|(n, _)| &**n == name).map(|(_, i)| *i),
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "one pass over the document, in the order of POLICY.md §11"
)]
fn compile(doc: &PolicyDocument, catalog: &Catalog) -> Result<PolicyEngine, ValidationErrors> {
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
            Ok(n) if doc.custom_actions.iter().take(index).any(|m| m == name) => {
                let _ = n;
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

#[cfg(all(test, feature = "proptest"))]
mod tests {
    use proptest::prelude::*;

    use super::PolicyEngine;

    #[test]
    fn matrix_shortcut_equals_full_evaluation_for_the_profiles() {
        for engine in [PolicyEngine::jumpcloud(), PolicyEngine::jumpcloud_strict()] {
            assert_eq!(engine.matrix(), engine.matrix_with(true));
        }
    }

    proptest! {
        #[test]
        fn matrix_shortcut_equals_full_evaluation(doc in crate::testing::arb_document()) {
            let engine = PolicyEngine::from_document(doc).unwrap();
            prop_assert_eq!(engine.matrix(), engine.matrix_with(true));
        }
    }
}

#[cfg(test)]
mod static_tests {
    use super::PolicyEngine;

    #[test]
    fn engine_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<PolicyEngine>();
        assert_send_sync::<crate::Decision>();
        let engine = PolicyEngine::jumpcloud();
        let shared = std::sync::Arc::new(engine);
        let clone = std::sync::Arc::clone(&shared);
        let rows = std::thread::spawn(move || clone.matrix().rows().len())
            .join()
            .unwrap();
        assert_eq!(rows, shared.matrix().rows().len());
    }
}
