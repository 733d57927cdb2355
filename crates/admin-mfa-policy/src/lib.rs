//! Role and permission policy engine for admin MFA: who may enable, require or reset MFA for
//! whom, with a reason for every decision.
//!
//! One question, one answer: may this admin (the [`Subject`]) perform this [`Action`] on this
//! [`Target`] (another admin, itself, a page, the "Admins Without MFA Required" widget or the
//! organization)? [`PolicyEngine::decide`] answers with a [`Decision`] — `allowed`, the
//! [`Reason`] (the permit or forbid rule, the guardrail, or default deny) and `visible` (whether
//! the caller should answer "forbidden" or "not found"). It is pure: no I/O, no clock, no async,
//! no allocation, no panic. The behaviour follows JumpCloud's Admin Portal (the eight built-in
//! roles of [`BuiltinRole`]) and the project's `docs/POLICY.md`.
//!
//! # Getting started
//!
//! ```
//! use admin_mfa_policy::{
//!     Action, AdminId, BuiltinRole, Context, GuardrailId, OrgId, PolicyEngine, Reason, Request,
//!     Role, Subject, Target,
//! };
//!
//! let engine = PolicyEngine::jumpcloud();
//! let org = OrgId::from_bytes([7; 16]);
//! let admin = Role::Builtin(BuiltinRole::Administrator);
//! let awb = Role::Builtin(BuiltinRole::AdministratorWithBilling);
//! let context = Context { global_mfa_required: false, awb_count: 2, via_login_flow: false };
//!
//! // An Administrator may not enable MFA for an Administrator With Billing…
//! let decision = engine.decide(&Request {
//!     subject: Subject { id: AdminId::from_bytes([1; 16]), org, role: &admin },
//!     action: &Action::EnableMfa,
//!     target: Target::Admin { id: AdminId::from_bytes([2; 16]), org, role: &awb },
//!     context: &context,
//! });
//! assert!(!decision.allowed);
//! assert_eq!(decision.reason, Reason::Guardrail(GuardrailId::ProtectAwb));
//!
//! // …but an Administrator With Billing may enable MFA for itself.
//! let me = AdminId::from_bytes([2; 16]);
//! let decision = engine.decide(&Request {
//!     subject: Subject { id: me, org, role: &awb },
//!     action: &Action::EnableMfa,
//!     target: Target::Admin { id: me, org, role: &awb },
//!     context: &context,
//! });
//! assert!(decision.allowed);
//! if let Reason::Permit(rule) = decision.reason {
//!     assert_eq!(engine.rule(rule).map(|r| r.id.as_str()), Some("awb-full-access"));
//! }
//! ```
//!
//! # Decisions
//!
//! 1. The guardrails G1–G8 ([`GuardrailId`]) come first; no document can remove them. The reason
//!    is the first matching guardrail in canonical order (G7, G1, …, G6, G8).
//! 2. Then any matching forbid denies; the reason is the matching forbid whose id sorts lowest.
//! 3. Then any matching permit allows; the reason is the matching permit whose id sorts lowest.
//! 4. Otherwise the request is denied with [`Reason::DefaultDeny`].
//!
//! The reason never depends on the order of rules in a file. `visible` is false when the target
//! is in another organization, or lives on a page or widget the subject may not view (another
//! admin lives on the Administrators page).
//!
//! Each built-in action applies to one kind of target ([`Action::target_kind`]): `view-home` and
//! `toggle-widget` to the Home page (the subject's own layout), `view-admin-list` to the
//! Administrators page, the widget actions to the widget, `create-admin`, `manage-billing`,
//! `manage-custom-roles` and `set-global-mfa-requirement` to the organization, everything else to an
//! admin. A rule never matches a target its action does not apply to.
//!
//! # Custom policies
//!
//! A [`PolicyDocument`] adds custom roles (each may start from a template role, whose rules it
//! inherits) and permit or forbid rules to a built-in profile, or replaces it (`extends = "none"`).
//! Rule targets are `"any"`, `"self"`, `"others"`, `{ roles = [...] }` or `{ not_roles = [...] }`;
//! the last three match *other* admins only, never the subject itself. For the self-service
//! actions (`enroll-own-totp`, `reset-own-totp`) a `"self"` rule matches only through the login
//! flow ([`Context::via_login_flow`]).
//!
//! ```
//! # #[cfg(feature = "toml")] {
//! use admin_mfa_policy::PolicyEngine;
//!
//! let engine = PolicyEngine::from_toml_str(r#"
//!     version = 1
//!     extends = "jumpcloud"
//!     [[roles]]
//!     name = "mfa-auditor"
//!     template = "read-only"
//!     read_only = true
//!     [[rules]]
//!     id = "auditors-skip-the-widget"
//!     effect = "forbid"
//!     roles = ["mfa-auditor"]
//!     actions = ["view-admins-without-mfa-widget"]
//!     target = "any"
//! "#)?;
//! assert!(engine.warnings().is_empty());
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Roles from text (a form, a request, a configuration file) parse strictly and
//! case-sensitively: `"administrator-with-billing".parse::<Role>()` and `"Administrator With
//! Billing".parse::<Role>()` give the built-in role, [`PolicyEngine::role`] also gives the custom
//! roles its document declares, and any other name is an [`UnknownRoleError`] listing the valid
//! ones — never a custom role without rules. [`Role::from_stored`] reads back what a store wrote.
//!
//! Documents are validated at load: unknown role or action names, duplicate rule ids or role
//! names, custom role names that shadow built-ins, template cycles, escalation (granting an
//! AwB-only action of G6 to another role, or templating a role on Administrator With Billing),
//! more custom roles than the [`Catalog`] allows and empty lists are all rejected with
//! [`ValidationErrors`] naming the offending rule or role (and, for TOML, its line and column).
//! [`PolicyEngine::warnings`] reports permits that only guardrails answer, rules that never match
//! and roles that break the widget's view chain.
//!
//! # Feature flags
//!
//! - `serde`: `Serialize`/`Deserialize` for ids (as hyphenated uuids), roles and actions (as their
//!   kebab-case names), decisions and documents. Documents refuse unknown fields.
//! - `toml` (implies `serde`): [`PolicyEngine::from_toml_str`], `PolicyDocument::{from_toml_str,
//!   to_toml_string}`; validation errors carry source locations.
//! - `json` (implies `serde`): [`PolicyEngine::from_json_str`], `PolicyDocument::{from_json_str,
//!   to_json_string}`.
//! - `proptest`: the [`testing`] module — strategies, the naive reference interpreter and
//!   `check_invariants` — so a host can property-test its own policy document.
//!
//! No feature is on by default.
//!
//! # Security considerations
//!
//! - Fail closed: anything not explicitly permitted is denied; an unknown role or action gets no
//!   permission, and a custom action counts as `Mutate` for the guardrails.
//! - The guardrails are code, not data: a document can neither remove them nor grant around
//!   them, and escalation attempts are rejected at load rather than silently ignored.
//! - No session weakens its own MFA (G8): `disable-mfa-requirement` and `reset-mfa` on oneself
//!   are refused for every role, so a hijacked session cannot turn into lasting password-only
//!   access. An admin resets its own factor through the e-mailed link and its password
//!   (`reset-own-totp`, through the login flow).
//! - The engine trusts the request: the host must fill in roles, organizations, `awb_count` and
//!   `via_login_flow` from its own authenticated state, never from client input.
//! - Answer "not found" when `visible` is false, so that a denied request reveals nothing about a
//!   target in another organization (G7 is checked before anything else for that reason).
//! - `decide` cannot fail, panic or allocate, so it is safe on every request path, including
//!   under memory pressure; `explain`, `matrix` and `warnings` are the slow, allocating paths for
//!   audits and tooling.

mod action;
mod decision;
mod document;
mod engine;
mod ids;
#[cfg(any(feature = "toml", feature = "json"))]
mod load;
#[cfg(any(feature = "toml", feature = "json"))]
pub use load::SerializeError;
mod matrix;
mod names;
mod profiles;
mod request;
mod role;
#[cfg(feature = "proptest")]
pub mod testing;

pub use action::{Action, ActionClass, ActionName, ActionParseError, BUILTIN_ACTIONS, TargetKind};
pub use decision::{Decision, GuardrailId, Reason, RuleId};
pub use document::{
    Catalog, DEFAULT_MAX_CUSTOM_ROLES, DOCUMENT_VERSION, Effect, Extends, Item, LoadError,
    Location, MAX_CUSTOM_ROLES_LIMIT, PolicyDocument, RoleDef, RuleDef, TargetSpec,
    ValidationError, ValidationErrorKind, ValidationErrors, ValidationWarning,
};
pub use engine::{BulkDecision, Explanation, PolicyEngine, RuleInfo, RuleSource, WidgetAccess};
pub use ids::{AdminId, IdParseError, OrgId, PageId, WidgetId};
pub use matrix::{DecisionMatrix, MATRIX_CONTEXTS, MatrixChange, MatrixRow, MatrixTarget, Verdict};
pub use profiles::profile_rules;
pub use request::{Context, Request, Subject, Target};
pub use role::{BuiltinRole, Role, RoleName, RoleParseError, UnknownRoleError};
pub use uuid::Uuid;

/// The README's example, run as a doctest so it keeps up with the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
