//! Actions, their classes and the kinds of target they apply to (docs/POLICY.md §3).

use core::fmt;
use core::str::FromStr;

use crate::role::is_kebab_name;

/// The class of an action. Guardrails and properties are phrased over classes.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum ActionClass {
    /// Reading a page, a widget, the admin list or an admin's MFA status.
    View,
    /// Changing the subject's own display preferences (its Home layout).
    SelfPreference,
    /// Managing the subject's own TOTP factor through the login flow.
    SelfService,
    /// Changing anything else. Host-defined custom actions are `Mutate`.
    Mutate,
}

/// The kind of target a request names; each built-in action applies to one kind.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum TargetKind {
    /// An admin account (the subject itself or another admin).
    Admin,
    /// A page of the admin portal.
    Page,
    /// A widget of the Home page.
    Widget,
    /// An organization.
    Org,
}

/// The name of a host-defined custom action: `[a-z0-9-]{1,64}`, never a built-in action's name.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "String", into = "String"))]
pub struct ActionName(Box<str>);

impl ActionName {
    /// Validates a custom action name.
    ///
    /// # Errors
    /// [`ActionParseError::InvalidName`] when the name is not `[a-z0-9-]{1,64}`,
    /// [`ActionParseError::ShadowsBuiltin`] when it names a built-in action.
    pub fn new(name: &str) -> Result<Self, ActionParseError> {
        if !is_kebab_name(name) {
            return Err(ActionParseError::InvalidName(name.to_owned()));
        }
        if Action::builtin_from_str(name).is_some() {
            return Err(ActionParseError::ShadowsBuiltin(name.to_owned()));
        }
        Ok(Self(name.into()))
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ActionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ActionName {
    type Err = ActionParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for ActionName {
    type Error = ActionParseError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}

impl From<ActionName> for String {
    fn from(name: ActionName) -> Self {
        name.0.into()
    }
}

/// The error of parsing an [`Action`] or an [`ActionName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActionParseError {
    /// The text is not 1 to 64 characters of `a-z`, `0-9` and `-`.
    #[error("invalid action name `{0}`: expected 1 to 64 characters of a-z, 0-9 and -")]
    InvalidName(String),
    /// A custom action may not take the name of a built-in action.
    #[error("custom action name `{0}` shadows a built-in action")]
    ShadowsBuiltin(String),
}

macro_rules! actions {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $class:ident, $kind:ident; )*) => {
        /// Something a subject may try to do. Each action has exactly one [`ActionClass`].
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[cfg_attr(feature = "serde", serde(try_from = "String", into = "String"))]
        #[non_exhaustive]
        pub enum Action {
            $( $(#[$doc])* $variant, )*
            /// A host-defined action: denied until a rule names it; class `Mutate`.
            Custom(ActionName),
        }

        impl Action {
            /// Every built-in action, in the order of docs/POLICY.md §3.
            pub const BUILTIN: [Self; BUILTIN_ACTIONS] = [ $( Self::$variant, )* ];

            /// The kebab-case name used in policy files, e.g. `enable-mfa`.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $name, )*
                    Self::Custom(name) => name.as_str(),
                }
            }

            /// The class of the action; custom actions are [`ActionClass::Mutate`].
            #[must_use]
            pub const fn class(&self) -> ActionClass {
                match self {
                    $( Self::$variant => ActionClass::$class, )*
                    Self::Custom(_) => ActionClass::Mutate,
                }
            }

            /// The kind of target the action applies to; `None` for custom actions (any kind).
            #[must_use]
            pub const fn target_kind(&self) -> Option<TargetKind> {
                match self {
                    $( Self::$variant => Some(TargetKind::$kind), )*
                    Self::Custom(_) => None,
                }
            }

            /// The position in [`Action::BUILTIN`]; `None` for custom actions.
            #[must_use]
            pub const fn builtin_index(&self) -> Option<usize> {
                let mut i = 0;
                $(
                    if matches!(self, Self::$variant) { return Some(i); }
                    i += 1;
                )*
                let _ = i;
                None
            }

            fn builtin_from_str(s: &str) -> Option<Self> {
                match s {
                    $( $name => Some(Self::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

/// The number of built-in actions.
pub const BUILTIN_ACTIONS: usize = 21;

actions! {
    /// See the Home page (target: the Home page).
    ViewHome = "view-home", View, Page;
    /// See the Administrators list (target: the Administrators page).
    ViewAdminList = "view-admin-list", View, Page;
    /// See whether an admin has MFA required and enrolled (target: an admin).
    ViewAdminMfaStatus = "view-admin-mfa-status", View, Admin;
    /// See the "Admins Without MFA Required" widget (target: the widget).
    ViewAdminsWithoutMfaWidget = "view-admins-without-mfa-widget", View, Widget;
    /// See the MFA posture report and export it: every admin's factor, last use, recovery
    /// codes left and pending link (target: the Administrators page).
    ViewMfaPosture = "view-mfa-posture", View, Page;
    /// Show or hide widgets on the subject's own Home layout (target: the Home page).
    ToggleWidget = "toggle-widget", SelfPreference, Page;
    /// Enroll the subject's own TOTP factor through the login flow (target: self).
    EnrollOwnTotp = "enroll-own-totp", SelfService, Admin;
    /// Reset the subject's own TOTP factor through the login flow (target: self).
    ResetOwnTotp = "reset-own-totp", SelfService, Admin;
    /// Take action on the "Admins Without MFA Required" list (target: the widget).
    ActOnAdminsWithoutMfaWidget = "act-on-admins-without-mfa-widget", Mutate, Widget;
    /// Require MFA for an admin from the widget's bulk action (target: each admin).
    RequireMfaBulk = "require-mfa-bulk", Mutate, Admin;
    /// Enable (require) MFA for an admin (target: an admin).
    EnableMfa = "enable-mfa", Mutate, Admin;
    /// Reset an admin's MFA factor; also gates unlocking a locked factor (target: an admin).
    ResetMfa = "reset-mfa", Mutate, Admin;
    /// Stop requiring MFA for an admin (target: an admin).
    DisableMfaRequirement = "disable-mfa-requirement", Mutate, Admin;
    /// Require MFA for every admin of the organization (target: the organization).
    SetGlobalMfaRequirement = "set-global-mfa-requirement", Mutate, Org;
    /// Create an admin account (target: the organization).
    CreateAdmin = "create-admin", Mutate, Org;
    /// Delete an admin account (target: an admin).
    DeleteAdmin = "delete-admin", Mutate, Admin;
    /// Suspend an admin account (target: an admin).
    SuspendAdmin = "suspend-admin", Mutate, Admin;
    /// Change an admin's role (target: an admin).
    ChangeAdminRole = "change-admin-role", Mutate, Admin;
    /// Enable an admin's API key (target: an admin).
    EnableApiKey = "enable-api-key", Mutate, Admin;
    /// Change the payment information (target: the organization).
    ManageBilling = "manage-billing", Mutate, Org;
    /// Create, change or delete custom roles (target: the organization).
    ManageCustomRoles = "manage-custom-roles", Mutate, Org;
}

impl Action {
    /// Whether guardrail G6 reserves this action to Administrator With Billing.
    #[must_use]
    pub const fn is_awb_only(&self) -> bool {
        matches!(
            self,
            Self::CreateAdmin
                | Self::DeleteAdmin
                | Self::ChangeAdminRole
                | Self::EnableApiKey
                | Self::ManageCustomRoles
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = ActionParseError;

    /// A built-in action's name gives that action; any other valid name gives [`Action::Custom`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match Self::builtin_from_str(s) {
            Some(action) => Ok(action),
            None => ActionName::new(s).map(Self::Custom),
        }
    }
}

impl TryFrom<String> for Action {
    type Error = ActionParseError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Action> for String {
    fn from(action: Action) -> Self {
        action.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_actions_round_trip_with_their_index() {
        for (i, action) in Action::BUILTIN.iter().enumerate() {
            assert_eq!(action.builtin_index(), Some(i));
            assert_eq!(&action.as_str().parse::<Action>().unwrap(), action);
            assert!(action.target_kind().is_some());
        }
        let custom: Action = "export-audit-log".parse().unwrap();
        assert_eq!(custom.class(), ActionClass::Mutate);
        assert_eq!(custom.builtin_index(), None);
        assert!(ActionName::new("enable-mfa").is_err());
    }

    #[test]
    fn classes_follow_the_spec() {
        let count = |class| {
            Action::BUILTIN
                .iter()
                .filter(|a| a.class() == class)
                .count()
        };
        assert_eq!(count(ActionClass::View), 5);
        assert_eq!(count(ActionClass::SelfPreference), 1);
        assert_eq!(count(ActionClass::SelfService), 2);
        assert_eq!(count(ActionClass::Mutate), 13);
    }
}
