//! Built-in and custom admin roles (docs/POLICY.md §2).
//!
//! Parsing roles from text is strict and case-sensitive:
//!
//! - a built-in role parses from its id (`help-desk`) or its display name (`Help Desk`), exactly
//!   as [`BuiltinRole::as_str`] and [`BuiltinRole::display_name`] write them
//!   ([`BuiltinRole::from_str`], [`Role::from_str`]);
//! - a custom role parses only through the policy that declares it
//!   ([`PolicyEngine::role`](crate::PolicyEngine::role));
//! - anything else is an [`UnknownRoleError`] that lists the valid names. A misspelt name never
//!   becomes a custom role without rules.
//!
//! Only [`Role::from_stored`] (and serde's `Deserialize`, which uses it) turns any valid name
//! into a custom role without asking a policy: it reads back what [`Role::as_str`] wrote to a
//! store, where the role was checked when it was written.

use core::fmt;
use core::str::FromStr;

/// The eight built-in admin roles of the JumpCloud Admin Portal.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum BuiltinRole {
    /// Every privilege; the only role that manages admin accounts, API keys and custom roles,
    /// and the only one that acts on the "Admins Without MFA Required" widget.
    AdministratorWithBilling,
    /// Everything except billing, API keys and admin accounts; sees the widget.
    Administrator,
    /// Manages users, devices and groups; sees the widget.
    Manager,
    /// Creates, deletes and resets users; sees the widget.
    HelpDesk,
    /// Views only; flagged `read_only` (guardrail G4).
    ReadOnly,
    /// Runs the commands assigned to it; sees Home but not the widget.
    CommandRunner,
    /// Command Runner plus the payment method.
    CommandRunnerWithBilling,
    /// Payment information only; cannot see Home.
    BillingOnly,
}

impl BuiltinRole {
    /// Every built-in role, in the order of docs/POLICY.md §2.
    pub const ALL: [Self; 8] = [
        Self::AdministratorWithBilling,
        Self::Administrator,
        Self::Manager,
        Self::HelpDesk,
        Self::ReadOnly,
        Self::CommandRunner,
        Self::CommandRunnerWithBilling,
        Self::BillingOnly,
    ];

    /// The kebab-case id used in policy files, e.g. `administrator-with-billing`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AdministratorWithBilling => "administrator-with-billing",
            Self::Administrator => "administrator",
            Self::Manager => "manager",
            Self::HelpDesk => "help-desk",
            Self::ReadOnly => "read-only",
            Self::CommandRunner => "command-runner",
            Self::CommandRunnerWithBilling => "command-runner-with-billing",
            Self::BillingOnly => "billing-only",
        }
    }

    /// The name shown to people, e.g. `Administrator With Billing`.
    #[must_use]
    pub const fn display_name(self) -> &'static str {
        match self {
            Self::AdministratorWithBilling => "Administrator With Billing",
            Self::Administrator => "Administrator",
            Self::Manager => "Manager",
            Self::HelpDesk => "Help Desk",
            Self::ReadOnly => "Read Only",
            Self::CommandRunner => "Command Runner",
            Self::CommandRunnerWithBilling => "Command Runner With Billing",
            Self::BillingOnly => "Billing Only",
        }
    }

    /// Whether the role is flagged `read_only` (guardrail G4): only [`BuiltinRole::ReadOnly`].
    #[must_use]
    pub const fn is_read_only(self) -> bool {
        matches!(self, Self::ReadOnly)
    }

    /// The position of the role in [`BuiltinRole::ALL`].
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for BuiltinRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl BuiltinRole {
    /// The role whose id is exactly `id`, e.g. `help-desk` (case-sensitive).
    #[must_use]
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == id)
    }

    /// The role whose display name is exactly `name`, e.g. `Help Desk` (case-sensitive).
    #[must_use]
    pub fn from_display_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|role| role.display_name() == name)
    }
}

impl FromStr for BuiltinRole {
    type Err = UnknownRoleError;

    /// The built-in role with this id or display name, compared exactly (case-sensitive):
    /// `administrator-with-billing` and `Administrator With Billing` parse, `administrator with
    /// billing` does not.
    ///
    /// ```
    /// use admin_mfa_policy::BuiltinRole;
    ///
    /// assert_eq!("help-desk".parse(), Ok(BuiltinRole::HelpDesk));
    /// assert_eq!("Help Desk".parse(), Ok(BuiltinRole::HelpDesk));
    /// let err = "helpdesk".parse::<BuiltinRole>().unwrap_err();
    /// assert!(err.to_string().contains("help-desk"));
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_id(s)
            .or_else(|| Self::from_display_name(s))
            .ok_or_else(|| UnknownRoleError::new(s, Self::ALL.map(Role::Builtin).to_vec()))
    }
}

/// A role name that names no role: neither a built-in role's id or display name, nor a custom
/// role of the policy it was parsed against. It lists the roles that would have parsed.
///
/// ```
/// use admin_mfa_policy::{PolicyEngine, Role};
///
/// let err = PolicyEngine::jumpcloud().role("manger").unwrap_err();
/// assert_eq!(err.name(), "manger");
/// assert_eq!(err.valid().len(), 8);
/// assert!(err.to_string().starts_with(r#"unknown role "manger"; valid roles"#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {:?}; valid roles (by id, or a built-in role's display name): {}",
    shown(.name),
    list(.valid)
)]
pub struct UnknownRoleError {
    name: String,
    valid: Vec<Role>,
}

impl UnknownRoleError {
    pub(crate) fn new(name: &str, valid: Vec<Role>) -> Self {
        Self {
            name: name.to_owned(),
            valid,
        }
    }

    /// The text that did not parse.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The roles that would have parsed: the built-ins, then the policy's custom roles.
    #[must_use]
    pub fn valid(&self) -> &[Role] {
        &self.valid
    }
}

/// The rejected name as the message shows it: at most 64 characters, so that a long input does
/// not flood a log line.
fn shown(name: &str) -> &str {
    name.char_indices()
        .nth(64)
        .map_or(name, |(end, _)| name.get(..end).unwrap_or(name))
}

fn list(roles: &[Role]) -> String {
    let names: Vec<&str> = roles.iter().map(Role::as_str).collect();
    names.join(", ")
}

/// The error of validating a [`RoleName`] or reading back a stored role ([`Role::from_stored`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoleParseError {
    /// The text is not 1 to 64 characters of `a-z`, `0-9` and `-`.
    #[error("invalid role name `{0}`: expected 1 to 64 characters of a-z, 0-9 and -")]
    InvalidName(String),
    /// The name is the id of a built-in role, so a custom role may not take it.
    #[error("custom role name `{0}` shadows a built-in role")]
    ShadowsBuiltin(String),
}

/// Whether `s` is 1 to 64 characters of `a-z`, `0-9` and `-` (the shape of every name in a policy).
#[must_use]
pub(crate) fn is_kebab_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The name of a custom role: `[a-z0-9-]{1,64}`, never the id of a built-in role.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "String", into = "String"))]
pub struct RoleName(Box<str>);

impl RoleName {
    /// Validates a custom role name.
    ///
    /// # Errors
    /// [`RoleParseError::InvalidName`] when the name is not `[a-z0-9-]{1,64}`,
    /// [`RoleParseError::ShadowsBuiltin`] when it is the id of a built-in role.
    pub fn new(name: &str) -> Result<Self, RoleParseError> {
        if !is_kebab_name(name) {
            return Err(RoleParseError::InvalidName(name.to_owned()));
        }
        if BuiltinRole::from_id(name).is_some() {
            return Err(RoleParseError::ShadowsBuiltin(name.to_owned()));
        }
        Ok(Self(name.into()))
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RoleName {
    type Err = RoleParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for RoleName {
    type Error = RoleParseError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}

impl From<RoleName> for String {
    fn from(name: RoleName) -> Self {
        name.0.into()
    }
}

/// A role: one of the eight built-ins, or a custom role defined by a policy document.
///
/// Ordered built-ins first (in [`BuiltinRole::ALL`] order), then custom roles by name.
///
/// From text: [`str::parse`] takes a built-in role's id or display name and nothing else;
/// [`PolicyEngine::role`](crate::PolicyEngine::role) also takes the custom roles its policy
/// declares. With the `serde` feature a role serializes as its id ([`Role::as_str`]) and
/// deserializes like [`Role::from_stored`].
///
/// ```
/// use admin_mfa_policy::{BuiltinRole, Role};
///
/// let awb = Role::Builtin(BuiltinRole::AdministratorWithBilling);
/// assert_eq!("administrator-with-billing".parse(), Ok(awb.clone()));
/// assert_eq!("Administrator With Billing".parse(), Ok(awb));
/// assert!("manger".parse::<Role>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Role {
    /// A built-in role.
    Builtin(BuiltinRole),
    /// A custom role, defined in a policy document.
    Custom(RoleName),
}

impl Role {
    /// The kebab-case name: a built-in id or the custom role's name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Builtin(role) => role.as_str(),
            Self::Custom(name) => name.as_str(),
        }
    }

    /// The built-in role, if this is one.
    #[must_use]
    pub const fn as_builtin(&self) -> Option<BuiltinRole> {
        match self {
            Self::Builtin(role) => Some(*role),
            Self::Custom(_) => None,
        }
    }

    /// Whether this is the built-in Administrator With Billing role.
    #[must_use]
    pub const fn is_awb(&self) -> bool {
        matches!(self, Self::Builtin(BuiltinRole::AdministratorWithBilling))
    }

    /// Reads back a role that [`Role::as_str`] wrote, e.g. to a store: a built-in id gives the
    /// built-in role, any other valid name a custom role, without asking a policy whether it
    /// declares that role (an engine denies a role it does not know everything).
    ///
    /// For names that come from people, requests or configuration, use [`str::parse`] or
    /// [`PolicyEngine::role`](crate::PolicyEngine::role), which refuse unknown names.
    ///
    /// ```
    /// use admin_mfa_policy::{BuiltinRole, Role};
    ///
    /// assert_eq!(Role::from_stored("help-desk")?, Role::Builtin(BuiltinRole::HelpDesk));
    /// assert_eq!(Role::from_stored("mfa-auditor")?.as_str(), "mfa-auditor");
    /// assert!(Role::from_stored("Help Desk").is_err());
    /// # Ok::<(), admin_mfa_policy::RoleParseError>(())
    /// ```
    ///
    /// # Errors
    /// [`RoleParseError::InvalidName`] when `name` is not `[a-z0-9-]{1,64}`.
    pub fn from_stored(name: &str) -> Result<Self, RoleParseError> {
        match BuiltinRole::from_id(name) {
            Some(role) => Ok(Self::Builtin(role)),
            None => RoleName::new(name).map(Self::Custom),
        }
    }
}

impl From<BuiltinRole> for Role {
    fn from(role: BuiltinRole) -> Self {
        Self::Builtin(role)
    }
}

impl From<RoleName> for Role {
    fn from(name: RoleName) -> Self {
        Self::Custom(name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRoleError;

    /// A built-in role's id or display name, exactly (see [`BuiltinRole::from_str`]). Custom
    /// roles parse through [`PolicyEngine::role`](crate::PolicyEngine::role), which knows them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<BuiltinRole>().map(Self::Builtin)
    }
}

impl TryFrom<String> for Role {
    type Error = UnknownRoleError;

    /// As [`Role::from_str`].
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Role> for String {
    fn from(role: Role) -> Self {
        role.as_str().to_owned()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Role {
    /// Reads the id that `Serialize` wrote, as [`Role::from_stored`] does.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::from_stored(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_ids_round_trip() {
        for role in BuiltinRole::ALL {
            assert_eq!(role.as_str().parse::<BuiltinRole>().unwrap(), role);
            assert_eq!(role.as_str().parse::<Role>().unwrap(), Role::Builtin(role));
            assert_eq!(BuiltinRole::ALL[role.index()], role);
        }
    }

    #[test]
    fn role_names_are_validated() {
        assert!(RoleName::new("mfa-auditor").is_ok());
        assert_eq!(
            RoleName::new("").unwrap_err(),
            RoleParseError::InvalidName(String::new())
        );
        assert!(matches!(
            RoleName::new("Auditor"),
            Err(RoleParseError::InvalidName(_))
        ));
        assert!(matches!(
            RoleName::new(&"a".repeat(65)),
            Err(RoleParseError::InvalidName(_))
        ));
        assert!(RoleName::new(&"a".repeat(64)).is_ok());
        assert_eq!(
            RoleName::new("manager").unwrap_err().to_string(),
            "custom role name `manager` shadows a built-in role"
        );
        assert_eq!(
            Role::from_stored("mfa-auditor").unwrap().to_string(),
            "mfa-auditor"
        );
    }

    #[test]
    fn stored_roles_read_back_ids_and_any_valid_custom_name() {
        for role in BuiltinRole::ALL {
            assert_eq!(Role::from_stored(role.as_str()), Ok(Role::Builtin(role)));
            assert!(matches!(
                Role::from_stored(role.display_name()),
                Err(RoleParseError::InvalidName(_))
            ));
        }
        assert!(Role::from_stored("").is_err());
    }

    #[test]
    fn the_unknown_role_message_lists_the_valid_ones_and_bounds_the_input() {
        let err = "Administrator with billing".parse::<Role>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown role \"Administrator with billing\"; valid roles (by id, or a built-in \
             role's display name): administrator-with-billing, administrator, manager, help-desk, \
             read-only, command-runner, command-runner-with-billing, billing-only"
        );
        let long = format!("{}\n{}", "x".repeat(100), "y".repeat(100));
        let message = long.parse::<BuiltinRole>().unwrap_err().to_string();
        assert!(message.starts_with(&format!("unknown role \"{}\";", "x".repeat(64))));
        assert!(!message.contains('\n') && !message.contains("yy"));
        assert_eq!(long.parse::<Role>().unwrap_err().name(), long);
    }
}
