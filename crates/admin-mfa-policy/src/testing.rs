//! Property-testing support for hosts (feature `proptest`): strategies, a naive reference
//! interpreter and an invariant checker.
//!
//! A host that ships its own policy document can check it the way this crate checks itself:
//!
//! ```
//! use admin_mfa_policy::{PolicyDocument, PolicyEngine, Extends};
//! use admin_mfa_policy::testing::{arb_request, check_invariants};
//! use proptest::prelude::*;
//! use proptest::test_runner::TestRunner;
//!
//! let doc = PolicyDocument::new(Extends::Jumpcloud);
//! let engine = PolicyEngine::from_document(doc.clone())?;
//! let mut runner = TestRunner::default();
//! runner.run(&arb_request(&doc), |req| {
//!     check_invariants(&engine, &req.as_request()).map_err(|v| TestCaseError::fail(v.to_string()))
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The reference interpreter ([`reference_decide`]) reads the document's rules directly, one by
//! one, with no compilation: it is slow and short on purpose, so that the compiled engine can be
//! checked against something obviously right (properties P4 and P16 of docs/POLICY.md §12).

use core::fmt;

use proptest::prelude::*;
use proptest::sample::{select, subsequence};

use crate::action::{Action, ActionClass, TargetKind};
use crate::decision::{GuardrailId, Reason};
use crate::document::{Effect, Extends, PolicyDocument, RoleDef, RuleDef, TargetSpec};
use crate::engine::PolicyEngine;
use crate::ids::{AdminId, OrgId, PageId, WidgetId};
use crate::profiles::profile_rules;
use crate::request::{Context, Request, Subject, Target};
use crate::role::{BuiltinRole, Role, RoleName};

/// The custom role names the document strategies draw from.
pub const ROLE_POOL: [&str; 4] = ["auditor", "deputy", "operator", "viewer"];

/// The custom action names the document strategies draw from.
pub const ACTION_POOL: [&str; 2] = ["export-audit-log", "rotate-keys"];

/// A custom role no generated document defines (requests use it to probe unknown roles).
pub const UNKNOWN_ROLE: &str = "stranger";

/// A custom action no generated document declares.
pub const UNKNOWN_ACTION: &str = "never-named";

/// The subject's id in generated requests.
pub const SUBJECT_ID: AdminId = AdminId::from_bytes([0x11; 16]);
/// Another admin's id in generated requests.
pub const OTHER_ID: AdminId = AdminId::from_bytes([0x22; 16]);
/// The subject's organization in generated requests.
pub const ORG: OrgId = OrgId::from_bytes([0xa0; 16]);
/// Another organization in generated requests.
pub const OTHER_ORG: OrgId = OrgId::from_bytes([0xb0; 16]);

/// An owned target, for [`OwnedRequest`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum OwnedTarget {
    /// An admin.
    Admin {
        /// Its id.
        id: AdminId,
        /// Its organization.
        org: OrgId,
        /// Its role.
        role: Role,
    },
    /// A page.
    Page(PageId),
    /// A widget.
    Widget(WidgetId),
    /// An organization.
    Org(OrgId),
}

/// A request that owns its parts, as strategies produce it; borrow it with [`as_request`](Self::as_request).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OwnedRequest {
    /// The subject's id.
    pub subject_id: AdminId,
    /// The subject's organization.
    pub subject_org: OrgId,
    /// The subject's role.
    pub subject_role: Role,
    /// The action.
    pub action: Action,
    /// The target.
    pub target: OwnedTarget,
    /// The context.
    pub context: Context,
}

impl OwnedRequest {
    /// The borrowed request the engine takes.
    #[must_use]
    pub fn as_request(&self) -> Request<'_> {
        Request {
            subject: Subject {
                id: self.subject_id,
                org: self.subject_org,
                role: &self.subject_role,
            },
            action: &self.action,
            target: match &self.target {
                OwnedTarget::Admin { id, org, role } => Target::Admin {
                    id: *id,
                    org: *org,
                    role,
                },
                OwnedTarget::Page(p) => Target::Page(*p),
                OwnedTarget::Widget(w) => Target::Widget(*w),
                OwnedTarget::Org(o) => Target::Org(*o),
            },
            context: &self.context,
        }
    }
}

fn custom_role(name: &str) -> Option<Role> {
    RoleName::new(name).ok().map(Role::Custom)
}

/// Roles for requests against `doc`: the built-ins, the document's custom roles and one unknown.
pub fn arb_role(doc: &PolicyDocument) -> BoxedStrategy<Role> {
    let mut roles: Vec<Role> = BuiltinRole::ALL
        .iter()
        .copied()
        .map(Role::Builtin)
        .collect();
    roles.extend(doc.roles.iter().filter_map(|r| custom_role(&r.name)));
    roles.extend(custom_role(UNKNOWN_ROLE));
    select(roles).boxed()
}

/// Actions for requests against `doc`: the built-ins, the declared custom actions and one unknown.
pub fn arb_action(doc: &PolicyDocument) -> BoxedStrategy<Action> {
    let mut actions = Action::BUILTIN.to_vec();
    actions.extend(doc.custom_actions.iter().filter_map(|a| a.parse().ok()));
    actions.extend(UNKNOWN_ACTION.parse().ok());
    select(actions).boxed()
}

/// Contexts: `awb_count` in {0, 1, 2, 5}, every flag both ways.
pub fn arb_context() -> BoxedStrategy<Context> {
    (any::<bool>(), select(vec![0u32, 1, 2, 5]), any::<bool>())
        .prop_map(|(global_mfa_required, awb_count, via_login_flow)| Context {
            global_mfa_required,
            awb_count,
            via_login_flow,
        })
        .boxed()
}

/// Targets for a subject with `subject_role`: itself, other admins of every role of `doc`, an admin
/// of another organization, the pages, the widget, its own and another organization.
pub fn arb_target(doc: &PolicyDocument, subject_role: Role) -> BoxedStrategy<OwnedTarget> {
    let other = arb_role(doc);
    prop_oneof![
        Just(OwnedTarget::Admin {
            id: SUBJECT_ID,
            org: ORG,
            role: subject_role
        }),
        other.clone().prop_map(|role| OwnedTarget::Admin {
            id: OTHER_ID,
            org: ORG,
            role
        }),
        other.clone().prop_map(|role| OwnedTarget::Admin {
            id: OTHER_ID,
            org: ORG,
            role
        }),
        other.prop_map(|role| OwnedTarget::Admin {
            id: OTHER_ID,
            org: OTHER_ORG,
            role
        }),
        select(PageId::ALL.to_vec()).prop_map(OwnedTarget::Page),
        Just(OwnedTarget::Widget(WidgetId::AdminsWithoutMfaRequired)),
        Just(OwnedTarget::Org(ORG)),
        Just(OwnedTarget::Org(OTHER_ORG)),
    ]
    .boxed()
}

/// Requests against `doc`.
pub fn arb_request(doc: &PolicyDocument) -> BoxedStrategy<OwnedRequest> {
    let doc = doc.clone();
    (arb_role(&doc), arb_action(&doc), arb_context())
        .prop_flat_map(move |(role, action, context)| {
            arb_target(&doc, role.clone()).prop_map(move |target| OwnedRequest {
                subject_id: SUBJECT_ID,
                subject_org: ORG,
                subject_role: role.clone(),
                action: action.clone(),
                target,
                context,
            })
        })
        .boxed()
}

const ID_WORDS: [&str; 6] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];

fn arb_target_spec(roles: Vec<String>) -> BoxedStrategy<TargetSpec> {
    prop_oneof![
        Just(TargetSpec::Any),
        Just(TargetSpec::SelfOnly),
        Just(TargetSpec::Others),
        subsequence(roles.clone(), 1..=2).prop_map(TargetSpec::Roles),
        subsequence(roles, 1..=2).prop_map(TargetSpec::NotRoles),
    ]
    .boxed()
}

/// Rules over the given role and action names, with an id drawn from a few words and `suffix`.
/// Permits never grant an AwB-only action to another role (that document would be rejected).
fn arb_rule_over(
    roles: Vec<String>,
    actions: Vec<String>,
    suffix: String,
) -> BoxedStrategy<RuleDef> {
    let n_actions = actions.len().min(3);
    (
        select(ID_WORDS.to_vec()),
        prop_oneof![3 => Just(Effect::Permit), 1 => Just(Effect::Forbid)],
        subsequence(roles.clone(), 1..=3),
        subsequence(actions, 1..=n_actions.max(1)),
        arb_target_spec(roles),
    )
        .prop_map(move |(word, effect, roles, mut actions, target)| {
            let escalates = effect == Effect::Permit
                && roles
                    .iter()
                    .any(|r| r.as_str() != BuiltinRole::AdministratorWithBilling.as_str());
            if escalates {
                actions.retain(|a| !a.parse::<Action>().is_ok_and(|a| a.is_awb_only()));
                if actions.is_empty() {
                    actions.push(Action::ViewHome.as_str().to_owned());
                }
            }
            RuleDef {
                id: format!("{word}-{suffix}"),
                effect,
                roles,
                actions,
                target,
                description: None,
            }
        })
        .boxed()
}

fn builtin_names() -> Vec<String> {
    BuiltinRole::ALL
        .iter()
        .map(|r| r.as_str().to_owned())
        .collect()
}

fn builtin_action_names() -> Vec<String> {
    Action::BUILTIN
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect()
}

/// A rule over the built-in roles and actions (valid in any document).
pub fn arb_rule() -> BoxedStrategy<RuleDef> {
    (0u32..1000)
        .prop_flat_map(|n| arb_rule_over(builtin_names(), builtin_action_names(), format!("x{n}")))
        .boxed()
}

/// A rule valid in `doc` (naming only its roles and actions), with id `{word}-{suffix}`.
pub fn arb_rule_for(doc: &PolicyDocument, suffix: &str) -> BoxedStrategy<RuleDef> {
    let mut roles = builtin_names();
    roles.extend(doc.roles.iter().map(|r| r.name.clone()));
    let mut actions = builtin_action_names();
    actions.extend(doc.custom_actions.iter().cloned());
    arb_rule_over(roles, actions, suffix.to_owned())
}

/// Valid documents: any profile, up to four custom roles (templates never cycle, never AwB),
/// up to two custom actions and up to 48 rules with unique ids.
pub fn arb_document() -> BoxedStrategy<PolicyDocument> {
    let extends = prop_oneof![
        Just(Extends::Jumpcloud),
        Just(Extends::JumpcloudStrict),
        Just(Extends::None)
    ];
    (
        extends,
        subsequence(ROLE_POOL.to_vec(), 0..=4),
        proptest::collection::vec((any::<u8>(), any::<bool>()), 4),
        subsequence(ACTION_POOL.to_vec(), 0..=2),
    )
        .prop_flat_map(|(extends, names, shape, custom_actions)| {
            let mut roles: Vec<RoleDef> = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let (pick, read_only) = shape.get(i).copied().unwrap_or((0, false));
                // Candidates: no template, a non-AwB built-in, or an earlier custom role.
                let mut candidates: Vec<Option<String>> = vec![None];
                candidates.extend(
                    BuiltinRole::ALL
                        .iter()
                        .skip(1)
                        .map(|r| Some(r.as_str().to_owned())),
                );
                candidates.extend(names.iter().take(i).map(|n| Some((*n).to_owned())));
                let template = candidates
                    .get(usize::from(pick) % candidates.len())
                    .cloned()
                    .flatten();
                roles.push(RoleDef {
                    name: (*name).to_owned(),
                    template,
                    read_only: read_only && pick % 3 == 0,
                    description: None,
                });
            }
            let doc = PolicyDocument {
                version: crate::document::DOCUMENT_VERSION,
                extends,
                custom_actions: custom_actions.iter().map(|a| (*a).to_owned()).collect(),
                roles,
                rules: Vec::new(),
            };
            (0usize..=48).prop_flat_map(move |n| {
                let doc = doc.clone();
                let rules: Vec<BoxedStrategy<RuleDef>> = (0..n)
                    .map(|i| arb_rule_for(&doc, &format!("{i:02}")))
                    .collect();
                rules.prop_map(move |rules| PolicyDocument {
                    rules,
                    ..doc.clone()
                })
            })
        })
        .boxed()
}

/// The reason of a [`ReferenceDecision`], with rules named by id (engines number them differently).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ReferenceReason {
    /// Allowed by the permit with this id.
    Permit(String),
    /// Denied by the forbid with this id.
    Forbid(String),
    /// Denied by this guardrail.
    Guardrail(GuardrailId),
    /// Nothing permits it.
    DefaultDeny,
}

/// A decision of [`reference_decide`], comparable across engines.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReferenceDecision {
    /// Allowed.
    pub allowed: bool,
    /// Why.
    pub reason: ReferenceReason,
    /// Visible.
    pub visible: bool,
}

impl ReferenceDecision {
    /// Translates an engine's decision (rule ids become rule names).
    #[must_use]
    pub fn of(engine: &PolicyEngine, d: crate::Decision) -> Self {
        let name = |id| {
            engine
                .rule(id)
                .map_or_else(|| "?".to_owned(), |r| r.id.clone())
        };
        let reason = match d.reason {
            Reason::Permit(id) => ReferenceReason::Permit(name(id)),
            Reason::Forbid(id) => ReferenceReason::Forbid(name(id)),
            Reason::Guardrail(g) => ReferenceReason::Guardrail(g),
            Reason::DefaultDeny => ReferenceReason::DefaultDeny,
        };
        Self {
            allowed: d.allowed,
            reason,
            visible: d.visible,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The reference interpreter: reads the rules as written, one at a time. Keep it dumb.
// ---------------------------------------------------------------------------------------------

/// The subject role's name and the names of all its templates, nearest first.
fn lineage(doc: &PolicyDocument, role: &str) -> Vec<String> {
    let mut out = vec![role.to_owned()];
    let mut at = role.to_owned();
    while let Some(next) = doc
        .roles
        .iter()
        .find(|r| r.name == at)
        .and_then(|r| r.template.clone())
    {
        if out.contains(&next) {
            break;
        }
        out.push(next.clone());
        at = next;
    }
    out
}

fn read_only(doc: &PolicyDocument, role: &str) -> bool {
    lineage(doc, role).iter().any(|name| {
        name == BuiltinRole::ReadOnly.as_str()
            || doc.roles.iter().any(|r| &r.name == name && r.read_only)
    })
}

/// The guardrail that denies the request, first in canonical order.
#[must_use]
pub fn reference_guardrail(doc: &PolicyDocument, req: &Request<'_>) -> Option<GuardrailId> {
    let s = req.subject;
    let mutate = req.action.class() == ActionClass::Mutate;
    let subject_awb = s.role.as_str() == BuiltinRole::AdministratorWithBilling.as_str();
    let (other_org, target_awb, target_self) = match req.target {
        Target::Admin { id, org, role } => (
            org != s.org,
            role.as_str() == BuiltinRole::AdministratorWithBilling.as_str(),
            id == s.id,
        ),
        Target::Org(org) => (org != s.org, false, false),
        Target::Page(_) | Target::Widget(_) => (false, false, false),
    };
    let name = req.action.as_str();
    if other_org {
        Some(GuardrailId::SameOrgOnly)
    } else if mutate && target_awb && !subject_awb {
        Some(GuardrailId::ProtectAwb)
    } else if name == "delete-admin" && target_self {
        Some(GuardrailId::NoSelfDelete)
    } else if req.context.awb_count <= 1
        && ["delete-admin", "suspend-admin", "change-admin-role"].contains(&name)
        && target_awb
    {
        Some(GuardrailId::KeepLastAwb)
    } else if mutate && read_only(doc, s.role.as_str()) {
        Some(GuardrailId::ReadOnlyIsReadOnly)
    } else if req.context.global_mfa_required && name == "disable-mfa-requirement" {
        Some(GuardrailId::GlobalMfaLocked)
    } else if [
        "create-admin",
        "delete-admin",
        "change-admin-role",
        "enable-api-key",
        "manage-custom-roles",
    ]
    .contains(&name)
        && !subject_awb
    {
        Some(GuardrailId::AwbOnlyAdminLifecycle)
    } else if target_self && ["disable-mfa-requirement", "reset-mfa"].contains(&name) {
        Some(GuardrailId::NoSelfMfaRemoval)
    } else {
        None
    }
}

/// Whether the action applies to this kind of target at all.
fn in_domain(action: &Action, target: &Target<'_>) -> bool {
    match (action, target) {
        (Action::ViewHome | Action::ToggleWidget, t) => *t == Target::Page(PageId::Home),
        (Action::ViewAdminList | Action::ViewMfaPosture, t) => {
            *t == Target::Page(PageId::Administrators)
        }
        (a, Target::Admin { .. }) => matches!(a.target_kind(), Some(TargetKind::Admin) | None),
        (a, Target::Page(_)) => matches!(a.target_kind(), Some(TargetKind::Page) | None),
        (a, Target::Widget(_)) => matches!(a.target_kind(), Some(TargetKind::Widget) | None),
        (a, Target::Org(_)) => matches!(a.target_kind(), Some(TargetKind::Org) | None),
    }
}

/// Whether `rule` matches the request, read straight from its definition.
#[must_use]
pub fn reference_matches(doc: &PolicyDocument, rule: &RuleDef, req: &Request<'_>) -> bool {
    let subject_named = lineage(doc, req.subject.role.as_str())
        .iter()
        .any(|r| rule.roles.contains(r));
    let action_named = rule.actions.iter().any(|a| a == req.action.as_str());
    let other_admin_role = match req.target {
        Target::Admin { id, role, .. } if id != req.subject.id => Some(role.as_str().to_owned()),
        _ => None,
    };
    let is_self = matches!(req.target, Target::Admin { id, .. } if id == req.subject.id);
    let target_ok = match &rule.target {
        TargetSpec::Any => true,
        TargetSpec::SelfOnly => {
            is_self
                && (req.action.class() != ActionClass::SelfService || req.context.via_login_flow)
        }
        TargetSpec::Others => other_admin_role.is_some(),
        TargetSpec::Roles(names) => other_admin_role.is_some_and(|r| names.contains(&r)),
        TargetSpec::NotRoles(names) => other_admin_role.is_some_and(|r| !names.contains(&r)),
    };
    subject_named && action_named && target_ok && in_domain(req.action, &req.target)
}

/// Every rule of the document, the profile's first.
fn all_rules(doc: &PolicyDocument) -> Vec<RuleDef> {
    let mut rules = profile_rules(doc.extends);
    rules.extend(doc.rules.iter().cloned());
    rules
}

fn by_rules(doc: &PolicyDocument, rules: &[RuleDef], req: &Request<'_>) -> ReferenceReason {
    let lowest = |effect: Effect| {
        rules
            .iter()
            .filter(|r| r.effect == effect && reference_matches(doc, r, req))
            .map(|r| r.id.clone())
            .min()
    };
    if let Some(id) = lowest(Effect::Forbid) {
        ReferenceReason::Forbid(id)
    } else if let Some(id) = lowest(Effect::Permit) {
        ReferenceReason::Permit(id)
    } else {
        ReferenceReason::DefaultDeny
    }
}

fn reference_visible(doc: &PolicyDocument, rules: &[RuleDef], req: &Request<'_>) -> bool {
    let may_view = |action: Action, target: Target<'_>| {
        let view = Request {
            action: &action,
            target,
            ..*req
        };
        matches!(by_rules(doc, rules, &view), ReferenceReason::Permit(_))
    };
    if reference_guardrail(doc, req) == Some(GuardrailId::SameOrgOnly) {
        return false;
    }
    match req.target {
        Target::Admin { id, .. } if id == req.subject.id => true,
        Target::Admin { .. } | Target::Page(PageId::Administrators) => {
            may_view(Action::ViewAdminList, Target::Page(PageId::Administrators))
        }
        Target::Page(PageId::Home) => may_view(Action::ViewHome, Target::Page(PageId::Home)),
        Target::Widget(w) => may_view(Action::ViewAdminsWithoutMfaWidget, Target::Widget(w)),
        Target::Org(_) => true,
    }
}

/// The naive reference interpreter: guardrail > forbid > permit > default deny, computed by
/// scanning the document's rules (and its profile's) directly.
#[must_use]
pub fn reference_decide(doc: &PolicyDocument, req: &Request<'_>) -> ReferenceDecision {
    let rules = all_rules(doc);
    let visible = reference_visible(doc, &rules, req);
    let reason = match reference_guardrail(doc, req) {
        Some(g) => ReferenceReason::Guardrail(g),
        None => by_rules(doc, &rules, req),
    };
    ReferenceDecision {
        allowed: matches!(reason, ReferenceReason::Permit(_)),
        reason,
        visible,
    }
}

/// A broken invariant: which property and what happened.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct InvariantViolation {
    /// The property of docs/POLICY.md §12 (e.g. `P4`) or guardrail that failed.
    pub property: &'static str,
    /// What was observed.
    pub message: String,
}

impl fmt::Display for InvariantViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} violated: {}", self.property, self.message)
    }
}

impl std::error::Error for InvariantViolation {}

fn ensure(
    ok: bool,
    property: &'static str,
    message: impl FnOnce() -> String,
) -> Result<(), InvariantViolation> {
    if ok {
        Ok(())
    } else {
        Err(InvariantViolation {
            property,
            message: message(),
        })
    }
}

/// Checks what holds for every request on every valid document: the guardrails, P2 (forbid
/// overrides permit), P3 (allow is explicitly permitted), P4/P16 (agreement with
/// [`reference_decide`] on the engine's own document), P6 (determinism) and P13 (resolvable reason).
///
/// # Errors
/// The first invariant the request breaks.
pub fn check_invariants(
    engine: &PolicyEngine,
    req: &Request<'_>,
) -> Result<(), InvariantViolation> {
    let doc = engine.document();
    let decision = engine.decide(req);
    let seen = ReferenceDecision::of(engine, decision);
    let expected = reference_decide(doc, req);
    let context = || format!("{req:?}: engine {seen:?}, reference {expected:?}");

    // Guardrails.
    if let Some(g) = reference_guardrail(doc, req) {
        ensure(
            !decision.allowed && decision.reason == Reason::Guardrail(g),
            "guardrail",
            context,
        )?;
        if g == GuardrailId::SameOrgOnly {
            ensure(!decision.visible, "G7 visibility", context)?;
        }
    }
    // P2: a matching forbid or guardrail denies, and the reason is never a permit.
    let rules = all_rules(doc);
    let forbidden = rules
        .iter()
        .any(|r| r.effect == Effect::Forbid && reference_matches(doc, r, req));
    if forbidden || reference_guardrail(doc, req).is_some() {
        ensure(
            !decision.allowed && !matches!(decision.reason, Reason::Permit(_)),
            "P2",
            context,
        )?;
    }
    // P3: allow names a permit that matches.
    if decision.allowed {
        let Reason::Permit(id) = decision.reason else {
            return Err(InvariantViolation {
                property: "P3",
                message: context(),
            });
        };
        let rule = engine
            .rule(id)
            .and_then(|info| rules.iter().find(|r| r.id == info.id));
        ensure(
            rule.is_some_and(|r| r.effect == Effect::Permit && reference_matches(doc, r, req)),
            "P3",
            context,
        )?;
    }
    // P4 / P16: the reference interpreter agrees, reason and visibility included.
    ensure(seen == expected, "P4/P16", context)?;
    // P6: determinism.
    ensure(
        engine.clone().decide(req) == decision && engine.decide(req) == decision,
        "P6",
        context,
    )?;
    // P13: the reason resolves and explain() lists it.
    let explanation = engine.explain(req);
    ensure(explanation.decision == decision, "P13", context)?;
    let listed = match decision.reason {
        Reason::Permit(id) => engine.rule(id).is_some() && explanation.permits.contains(&id),
        Reason::Forbid(id) => engine.rule(id).is_some() && explanation.forbids.contains(&id),
        Reason::Guardrail(g) => explanation.guardrails.first() == Some(&g),
        Reason::DefaultDeny => {
            explanation.permits.is_empty()
                && explanation.forbids.is_empty()
                && explanation.guardrails.is_empty()
        }
    };
    ensure(listed, "P13", context)
}
