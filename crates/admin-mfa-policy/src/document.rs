//! Policy documents: custom roles and rules in TOML or JSON, validated at load (docs/POLICY.md §11).

use core::fmt;

use crate::action::{Action, ActionName};
use crate::role::{BuiltinRole, is_kebab_name};

/// The current (and only) document format version.
pub const DOCUMENT_VERSION: u32 = 1;

/// The default limit on custom roles per document ([`Catalog::with_max_custom_roles`]).
pub const DEFAULT_MAX_CUSTOM_ROLES: usize = 20;

/// The hard limit on custom roles: the compiled tables give each role one bit of a `u64`.
pub const MAX_CUSTOM_ROLES_LIMIT: usize = 48;

/// A custom policy: roles and rules added to (or replacing) a built-in profile.
///
/// ```toml
/// version = 1
/// extends = "jumpcloud"
/// [[roles]]
/// name = "mfa-auditor"
/// template = "read-only"
/// read_only = true
/// [[rules]]
/// id = "auditor-sees-mfa-status"
/// effect = "permit"
/// roles = ["mfa-auditor"]
/// actions = ["view-admin-mfa-status"]
/// target = "any"
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct PolicyDocument {
    /// The format version; must be [`DOCUMENT_VERSION`].
    pub version: u32,
    /// The built-in profile whose rules come first; `jumpcloud` when absent.
    #[cfg_attr(feature = "serde", serde(default))]
    pub extends: Extends,
    /// Host-defined actions the rules may name (besides those of the [`Catalog`]).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub custom_actions: Vec<String>,
    /// Custom roles.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub roles: Vec<RoleDef>,
    /// Permit and forbid rules.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub rules: Vec<RuleDef>,
}

impl PolicyDocument {
    /// An empty document extending `extends`.
    #[must_use]
    pub const fn new(extends: Extends) -> Self {
        Self {
            version: DOCUMENT_VERSION,
            extends,
            custom_actions: Vec::new(),
            roles: Vec::new(),
            rules: Vec::new(),
        }
    }
}

/// The built-in profile a document starts from (docs/POLICY.md §5).
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Extends {
    /// The default profile: Administrator may enable or reset MFA for admins who are not AwB.
    #[default]
    Jumpcloud,
    /// Only Administrator With Billing mutates other admins.
    JumpcloudStrict,
    /// No built-in rules at all: everything is denied until a rule permits it.
    None,
}

impl Extends {
    /// The kebab-case name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Jumpcloud => "jumpcloud",
            Self::JumpcloudStrict => "jumpcloud-strict",
            Self::None => "none",
        }
    }
}

/// A custom role.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct RoleDef {
    /// The role's name: `[a-z0-9-]{1,64}`, not a built-in id.
    pub name: String,
    /// The role (built-in or custom) whose rules this role inherits as a subject.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub template: Option<String>,
    /// Opts into guardrail G4 (never `Mutate`). Inherited from the template.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "is_false"))]
    pub read_only: bool,
    /// Free text for people.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub description: Option<String>,
}

#[cfg(feature = "serde")]
#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
const fn is_false(b: &bool) -> bool {
    !*b
}

/// Whether a rule allows or denies what it matches.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Effect {
    /// Allows, unless a guardrail or a forbid matches too.
    Permit,
    /// Denies; beats every permit.
    Forbid,
}

impl Effect {
    /// The kebab-case name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Permit => "permit",
            Self::Forbid => "forbid",
        }
    }
}

/// A permit or forbid rule.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct RuleDef {
    /// The rule's id, unique across the document and its profile; reasons name it.
    pub id: String,
    /// Permit or forbid.
    pub effect: Effect,
    /// The subject roles it applies to (and every custom role templated on one of them).
    pub roles: Vec<String>,
    /// The actions it applies to.
    pub actions: Vec<String>,
    /// The targets it applies to.
    pub target: TargetSpec,
    /// Free text for people.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub description: Option<String>,
}

/// Which targets a rule matches. Every spec is further limited to the targets the action applies
/// to: an admin, the Home or Administrators page, the widget, or the organization.
///
/// In files: `"any"`, `"self"`, `"others"`, `{ roles = [...] }` or `{ not_roles = [...] }`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum TargetSpec {
    /// Every target the action applies to.
    Any,
    /// The subject itself. For self-service actions, only through the login flow.
    SelfOnly,
    /// Every other admin of the organization.
    Others,
    /// Other admins whose role is one of these (the exact role: a custom role templated on a
    /// listed role does not count as it).
    Roles(Vec<String>),
    /// Other admins whose role is none of these (including admins whose role the engine does
    /// not know).
    NotRoles(Vec<String>),
}

#[cfg(feature = "serde")]
mod target_serde {
    use serde::de::{self, MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::TargetSpec;

    impl Serialize for TargetSpec {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self {
                Self::Any => s.serialize_str("any"),
                Self::SelfOnly => s.serialize_str("self"),
                Self::Others => s.serialize_str("others"),
                Self::Roles(roles) => {
                    let mut map = s.serialize_map(Some(1))?;
                    map.serialize_entry("roles", roles)?;
                    map.end()
                }
                Self::NotRoles(roles) => {
                    let mut map = s.serialize_map(Some(1))?;
                    map.serialize_entry("not_roles", roles)?;
                    map.end()
                }
            }
        }
    }

    struct SpecVisitor;

    const EXPECTED: &str = r#""any", "self", "others", { roles = [...] } or { not_roles = [...] }"#;

    impl<'de> Visitor<'de> for SpecVisitor {
        type Value = TargetSpec;

        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str(EXPECTED)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<TargetSpec, E> {
            match v {
                "any" => Ok(TargetSpec::Any),
                "self" => Ok(TargetSpec::SelfOnly),
                "others" => Ok(TargetSpec::Others),
                other => Err(E::invalid_value(de::Unexpected::Str(other), &EXPECTED)),
            }
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TargetSpec, A::Error> {
            let Some(key) = map.next_key::<String>()? else {
                return Err(de::Error::invalid_length(0, &EXPECTED));
            };
            let spec = match key.as_str() {
                "roles" => TargetSpec::Roles(map.next_value()?),
                "not_roles" => TargetSpec::NotRoles(map.next_value()?),
                other => return Err(de::Error::unknown_field(other, &["roles", "not_roles"])),
            };
            if let Some(extra) = map.next_key::<String>()? {
                return Err(de::Error::custom(format!(
                    "unexpected key `{extra}`: a target has either `roles` or `not_roles`"
                )));
            }
            Ok(spec)
        }
    }

    impl<'de> Deserialize<'de> for TargetSpec {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(SpecVisitor)
        }
    }
}

/// What a document may name besides the built-ins, and how big it may be.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Catalog {
    custom_actions: Vec<ActionName>,
    max_custom_roles: usize,
}

impl Default for Catalog {
    fn default() -> Self {
        Self {
            custom_actions: Vec::new(),
            max_custom_roles: DEFAULT_MAX_CUSTOM_ROLES,
        }
    }
}

impl Catalog {
    /// The built-in actions only, at most [`DEFAULT_MAX_CUSTOM_ROLES`] custom roles.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a host-defined action that documents may name.
    #[must_use]
    pub fn with_action(mut self, name: ActionName) -> Self {
        if !self.custom_actions.contains(&name) {
            self.custom_actions.push(name);
        }
        self
    }

    /// Sets the limit on custom roles, capped at [`MAX_CUSTOM_ROLES_LIMIT`].
    #[must_use]
    pub fn with_max_custom_roles(mut self, max: usize) -> Self {
        self.max_custom_roles = max.min(MAX_CUSTOM_ROLES_LIMIT);
        self
    }

    /// The host-defined actions.
    #[must_use]
    pub fn custom_actions(&self) -> &[ActionName] {
        &self.custom_actions
    }

    /// The limit on custom roles.
    #[must_use]
    pub const fn max_custom_roles(&self) -> usize {
        self.max_custom_roles
    }
}

/// The part of a document a validation problem is about.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Item {
    /// The document as a whole.
    Document,
    /// The `index`-th entry of `custom_actions`.
    CustomAction {
        /// Position in the list.
        index: usize,
        /// The name as written.
        name: String,
    },
    /// The `index`-th entry of `roles`.
    Role {
        /// Position in the list.
        index: usize,
        /// The role's name as written.
        name: String,
    },
    /// The `index`-th entry of `rules`.
    Rule {
        /// Position in the list.
        index: usize,
        /// The rule's id as written.
        id: String,
    },
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Document => f.write_str("document"),
            Self::CustomAction { name, .. } => write!(f, "custom action `{name}`"),
            Self::Role { name, .. } => write!(f, "role `{name}`"),
            Self::Rule { id, .. } => write!(f, "rule `{id}`"),
        }
    }
}

/// A position in a source file, 1-based.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Location {
    /// The line, from 1.
    pub line: u32,
    /// The column (in characters), from 1.
    pub column: u32,
}

impl Location {
    /// The location of byte `offset` in `source`.
    #[must_use]
    pub fn of_offset(source: &str, offset: usize) -> Self {
        let before = source.get(..offset).unwrap_or(source);
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Self {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// What is wrong with a document.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationErrorKind {
    /// `version` is not [`DOCUMENT_VERSION`].
    #[error("unsupported version {0}, expected 1")]
    UnsupportedVersion(u32),
    /// A name or id is not `[a-z0-9-]{1,64}`.
    #[error("invalid name: expected 1 to 64 characters of a-z, 0-9 and -")]
    InvalidName,
    /// A custom role or action takes a built-in name.
    #[error("shadows a built-in name")]
    ShadowsBuiltin,
    /// Two custom roles or custom actions have the same name.
    #[error("duplicate name")]
    DuplicateName,
    /// Two rules (or a rule and a rule of the profile) have the same id.
    #[error("duplicate rule id")]
    DuplicateRuleId,
    /// A role name that is neither built-in nor defined by the document.
    #[error("unknown role `{0}`")]
    UnknownRole(String),
    /// An action name that is neither built-in nor declared.
    #[error("unknown action `{0}`")]
    UnknownAction(String),
    /// A template chain that comes back to where it started.
    #[error("template cycle")]
    TemplateCycle,
    /// A custom role templated on Administrator With Billing would inherit the AwB-only actions.
    #[error("escalation: a custom role may not use `administrator-with-billing` as its template")]
    EscalationTemplate,
    /// A permit grants a G6 (AwB-only) action to another role.
    #[error("escalation: grants AwB-only action `{action}` to role `{role}`")]
    EscalationGrant {
        /// The AwB-only action.
        action: String,
        /// The role it would be granted to.
        role: String,
    },
    /// More custom roles than the [`Catalog`] allows.
    #[error("{count} custom roles, at most {max} allowed")]
    TooManyCustomRoles {
        /// How many the document defines.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A rule with an empty `roles` list.
    #[error("empty `roles` list")]
    EmptyRoles,
    /// A rule with an empty `actions` list.
    #[error("empty `actions` list")]
    EmptyActions,
    /// More rules than a [`RuleId`](crate::RuleId) can number (65 535).
    #[error("{0} rules, at most 65535 allowed")]
    TooManyRules(usize),
    /// A target `{ roles = [] }` or `{ not_roles = [] }` with an empty list.
    #[error("empty target role list")]
    EmptyTargetRoles,
}

/// One validation problem: what is wrong, where.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ValidationError {
    /// The offending part of the document.
    pub item: Item,
    /// What is wrong with it.
    pub kind: ValidationErrorKind,
    /// Where it is in the source file (TOML only).
    pub location: Option<Location>,
}

impl ValidationError {
    pub(crate) const fn new(item: Item, kind: ValidationErrorKind) -> Self {
        Self {
            item,
            kind,
            location: None,
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.item, self.kind)?;
        if let Some(location) = self.location {
            write!(f, " (at {location})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

/// Every problem found in a document, in document order. Never empty.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ValidationErrors(pub(crate) Vec<ValidationError>);

impl ValidationErrors {
    /// The problems.
    #[must_use]
    pub fn errors(&self) -> &[ValidationError] {
        &self.0
    }

    /// Iterates over the problems.
    pub fn iter(&self) -> core::slice::Iter<'_, ValidationError> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a ValidationError;
    type IntoIter = core::slice::Iter<'a, ValidationError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid policy document")?;
        for (i, error) in self.0.iter().enumerate() {
            write!(f, "{}{error}", if i == 0 { ": " } else { "; " })?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Something legal but probably not meant (docs/POLICY.md §11).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationWarning {
    /// A permit that matches requests, but a guardrail denies every one of them.
    #[error("rule `{0}` permits only what guardrails deny")]
    DeadPermit(String),
    /// A rule that matches no request of the exhaustive matrix.
    #[error("rule `{0}` never matches")]
    NeverMatches(String),
    /// A role that may act on the widget but not view it.
    #[error("role `{0}` can act on the admins-without-mfa widget but cannot view it")]
    WidgetActionWithoutView(String),
    /// A role that may view the widget but not the Home page it lives on.
    #[error("role `{0}` can view the admins-without-mfa widget but not the home page")]
    WidgetViewWithoutHome(String),
}

/// The error of loading a document from text.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The text is not a well-formed document (syntax, a missing or unknown field, a wrong type).
    #[error("invalid {format} at {location}: {message}")]
    Syntax {
        /// `toml` or `json`.
        format: &'static str,
        /// Where the parser stopped.
        location: Location,
        /// The parser's message.
        message: String,
    },
    /// The document is well-formed but does not validate.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

/// Checks a custom action name, as a document or catalog entry.
pub(crate) fn check_action_name(name: &str) -> Result<ActionName, ValidationErrorKind> {
    if !is_kebab_name(name) {
        return Err(ValidationErrorKind::InvalidName);
    }
    ActionName::new(name).map_err(|_| ValidationErrorKind::ShadowsBuiltin)
}

/// Checks a custom role name.
pub(crate) fn check_role_name(name: &str) -> Result<(), ValidationErrorKind> {
    if !is_kebab_name(name) {
        return Err(ValidationErrorKind::InvalidName);
    }
    if BuiltinRole::from_id(name).is_some() {
        return Err(ValidationErrorKind::ShadowsBuiltin);
    }
    Ok(())
}

/// Parses an action name against the declared custom actions.
pub(crate) fn lookup_action(name: &str, custom: &[ActionName]) -> Option<Action> {
    match name.parse::<Action>() {
        Ok(Action::Custom(n)) => custom.contains(&n).then_some(Action::Custom(n)),
        Ok(action) => Some(action),
        Err(_) => None,
    }
}
