//! Built-in and custom admin roles (POLICY.md §2).

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
    /// Every built-in role, in the order of POLICY.md §2.
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

impl FromStr for BuiltinRole {
    type Err = RoleParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| RoleParseError::UnknownBuiltin(s.to_owned()))
    }
}

/// The error of parsing a [`BuiltinRole`], a [`RoleName`] or a [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoleParseError {
    /// The text is not the id of a built-in role.
    #[error("unknown built-in role `{0}`")]
    UnknownBuiltin(String),
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
        if name.parse::<BuiltinRole>().is_ok() {
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
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "String", into = "String"))]
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
    type Err = RoleParseError;

    /// A built-in id gives [`Role::Builtin`]; any other valid name gives [`Role::Custom`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.parse::<BuiltinRole>() {
            Ok(role) => Ok(Self::Builtin(role)),
            Err(_) => RoleName::new(s).map(Self::Custom),
        }
    }
}

impl TryFrom<String> for Role {
    type Error = RoleParseError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Role> for String {
    fn from(role: Role) -> Self {
        role.as_str().to_owned()
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
            "mfa-auditor".parse::<Role>().unwrap().to_string(),
            "mfa-auditor"
        );
    }
}
