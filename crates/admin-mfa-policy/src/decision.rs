//! Decisions and their reasons (docs/POLICY.md §7, §9).

use core::fmt;

/// The id of a compiled rule: its index in the engine's rule table.
///
/// Look it up with [`PolicyEngine::rule`](crate::PolicyEngine::rule); ids of one engine mean
/// nothing to another.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct RuleId(pub(crate) u16);

impl RuleId {
    /// The index of the rule in the engine's table.
    #[must_use]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// The guardrails: rules no policy document can remove (docs/POLICY.md §7).
///
/// Declared, compared and iterated in canonical order: G7 first, then G1 to G6, then G8 (added
/// later, so that it never changes the reason of a request an older guardrail already denies).
/// New guardrails may be added, hence `non_exhaustive`.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum GuardrailId {
    /// G7 `same-org-only`: never act on another organization or its admins.
    SameOrgOnly,
    /// G1 `protect-awb`: only Administrator With Billing mutates an Administrator With Billing.
    ProtectAwb,
    /// G2 `no-self-delete`: nobody deletes their own account.
    NoSelfDelete,
    /// G3 `keep-last-awb`: the last Administrator With Billing is never deleted, suspended or demoted.
    KeepLastAwb,
    /// G4 `read-only-is-read-only`: read-only roles never mutate.
    ReadOnlyIsReadOnly,
    /// G5 `global-mfa-locked`: no MFA requirement is disabled while MFA is required globally.
    GlobalMfaLocked,
    /// G6 `awb-only-admin-lifecycle`: admin accounts, API keys and custom roles are AwB-only.
    AwbOnlyAdminLifecycle,
    /// G8 `no-self-mfa-removal`: nobody removes its own MFA requirement (`disable-mfa-requirement`)
    /// or resets its own factor as an admin action (`reset-mfa`, which also gates unlocking).
    ///
    /// A session alone must not turn into lasting password-only access: an admin resets its own
    /// factor only through the e-mailed link and its password (the self-service
    /// `reset-own-totp`, which stays allowed), and its requirement is removed only by another
    /// admin whose role may do it.
    NoSelfMfaRemoval,
}

impl GuardrailId {
    /// Every guardrail in canonical order (G7, G1, G2, G3, G4, G5, G6, G8).
    pub const ALL: [Self; 8] = [
        Self::SameOrgOnly,
        Self::ProtectAwb,
        Self::NoSelfDelete,
        Self::KeepLastAwb,
        Self::ReadOnlyIsReadOnly,
        Self::GlobalMfaLocked,
        Self::AwbOnlyAdminLifecycle,
        Self::NoSelfMfaRemoval,
    ];

    /// The short id, `G1` to `G8`.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::SameOrgOnly => "G7",
            Self::ProtectAwb => "G1",
            Self::NoSelfDelete => "G2",
            Self::KeepLastAwb => "G3",
            Self::ReadOnlyIsReadOnly => "G4",
            Self::GlobalMfaLocked => "G5",
            Self::AwbOnlyAdminLifecycle => "G6",
            Self::NoSelfMfaRemoval => "G8",
        }
    }

    /// The kebab-case name, e.g. `protect-awb`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SameOrgOnly => "same-org-only",
            Self::ProtectAwb => "protect-awb",
            Self::NoSelfDelete => "no-self-delete",
            Self::KeepLastAwb => "keep-last-awb",
            Self::ReadOnlyIsReadOnly => "read-only-is-read-only",
            Self::GlobalMfaLocked => "global-mfa-locked",
            Self::AwbOnlyAdminLifecycle => "awb-only-admin-lifecycle",
            Self::NoSelfMfaRemoval => "no-self-mfa-removal",
        }
    }

    /// One sentence saying what the guardrail forbids.
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Self::SameOrgOnly => "a subject may never act on another organization or its admins",
            Self::ProtectAwb => {
                "only an Administrator With Billing may change an Administrator With Billing"
            }
            Self::NoSelfDelete => "an admin may not delete their own account",
            Self::KeepLastAwb => {
                "the last Administrator With Billing may not be deleted, suspended or demoted"
            }
            Self::ReadOnlyIsReadOnly => "read-only roles never change anything",
            Self::GlobalMfaLocked => {
                "an MFA requirement may not be disabled while MFA is required organization-wide"
            }
            Self::AwbOnlyAdminLifecycle => {
                "admin accounts, API keys and custom roles are managed by Administrators With Billing only"
            }
            Self::NoSelfMfaRemoval => {
                "an admin may not remove its own MFA requirement or reset its own MFA factor; it resets its own factor through the e-mailed reset link"
            }
        }
    }
}

impl fmt::Display for GuardrailId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.as_str())
    }
}

/// Why a decision came out the way it did.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Reason {
    /// Allowed by this permit rule (the matching permit whose id sorts lowest).
    Permit(RuleId),
    /// Denied by this forbid rule (the matching forbid whose id sorts lowest).
    Forbid(RuleId),
    /// Denied by this guardrail (the first matching one in canonical order).
    Guardrail(GuardrailId),
    /// Denied because no rule permits it.
    DefaultDeny,
}

/// The answer to a [`Request`](crate::Request).
///
/// When `visible` is false the subject may not even see the target (another organization, a page
/// or widget its role cannot view, or another admin while it cannot view the Administrators
/// page): answer "not found", not "forbidden". `allowed` and `visible` are computed independently;
/// the built-in profiles never allow an action on a hidden target, but a custom document can
/// (for example by forbidding `view-admin-list` while permitting `enable-mfa`), and
/// [`PolicyEngine::matrix`](crate::PolicyEngine::matrix) shows where.
#[must_use]
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Decision {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// Why.
    pub reason: Reason,
    /// Whether the subject may know the target exists.
    pub visible: bool,
}
