//! The compiled engine: one table per policy, built once at load and read by every pass.
//!
//! The engine works in passes, one module each:
//!
//! - [`compile`]: validates a [`PolicyDocument`] against a [`Catalog`] (docs/POLICY.md §11) and
//!   builds the tables below;
//! - [`guardrails`]: the guardrails G1–G8, which no document can remove;
//! - [`decide`]: the allocation-free [`PolicyEngine::decide`] (guardrail > forbid > permit >
//!   default deny) and `visible`;
//! - [`explain`]: the slow paths over `decide` for one subject: [`PolicyEngine::explain`],
//!   [`PolicyEngine::decide_bulk`] and [`PolicyEngine::widget_access`];
//! - [`audit`]: the exhaustive [`PolicyEngine::matrix`], [`PolicyEngine::diff`] and
//!   [`PolicyEngine::warnings`].
//!
//! This module holds the engine itself, its accessors and the tables.
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

mod audit;
mod compile;
mod decide;
mod explain;
mod guardrails;

pub use explain::{BulkDecision, Explanation, WidgetAccess};

use crate::action::{Action, TargetKind};
use crate::decision::RuleId;
use crate::document::{Catalog, Effect, Extends, PolicyDocument, TargetSpec, ValidationErrors};
use crate::names::NameTable;
use crate::role::{BuiltinRole, Role, UnknownRoleError};

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
        Action::ViewAdminList | Action::ViewMfaPosture => ADMINS_PAGE,
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

impl PolicyEngine {
    /// The default profile `jumpcloud` (docs/POLICY.md §4): Administrator may enable or reset MFA for
    /// admins who are not Administrator With Billing.
    #[must_use]
    pub fn jumpcloud() -> Self {
        Self::profile(Extends::Jumpcloud)
    }

    /// The profile `jumpcloud-strict` (docs/POLICY.md §5): only Administrator With Billing mutates other
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
    /// Every validation problem of the document (docs/POLICY.md §11).
    pub fn from_document(doc: PolicyDocument) -> Result<Self, ValidationErrors> {
        Self::from_document_with(&doc, &Catalog::default())
    }

    /// Validates and compiles a document against a host [`Catalog`].
    ///
    /// # Errors
    /// Every validation problem of the document (docs/POLICY.md §11).
    pub fn from_document_with(
        doc: &PolicyDocument,
        catalog: &Catalog,
    ) -> Result<Self, ValidationErrors> {
        compile::compile(doc, catalog)
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

    /// Parses a role this engine knows: a built-in role by its id or display name, or a custom
    /// role the loaded document declares by its name. Names compare exactly (case-sensitive).
    ///
    /// ```
    /// # #[cfg(feature = "toml")] {
    /// use admin_mfa_policy::{BuiltinRole, PolicyEngine, Role};
    ///
    /// let engine = PolicyEngine::from_toml_str(r#"
    ///     version = 1
    ///     [[roles]]
    ///     name = "mfa-auditor"
    ///     template = "read-only"
    /// "#)?;
    /// assert_eq!(engine.role("mfa-auditor")?.as_str(), "mfa-auditor");
    /// assert_eq!(engine.role("Help Desk")?, Role::Builtin(BuiltinRole::HelpDesk));
    /// let err = engine.role("mfa-audtor").unwrap_err();
    /// assert!(err.to_string().ends_with("billing-only, mfa-auditor"));
    /// assert!(PolicyEngine::jumpcloud().role("mfa-auditor").is_err());
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`UnknownRoleError`], listing every role of this engine, when `name` is none of them.
    pub fn role(&self, name: &str) -> Result<Role, UnknownRoleError> {
        if let Ok(role) = name.parse::<BuiltinRole>() {
            return Ok(Role::Builtin(role));
        }
        self.custom_roles
            .get(name)
            .and_then(|p| self.custom_role_index.get(p))
            .and_then(|&i| self.roles.get(i))
            .map(|entry| entry.role.clone())
            .ok_or_else(|| UnknownRoleError::new(name, self.roles().cloned().collect()))
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
