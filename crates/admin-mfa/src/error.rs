//! The facade's error type.

use core::fmt;

use admin_mfa_lifecycle::{SealError, TransitionError, UnixTime};
use admin_mfa_policy::{Action, Reason};
use admin_mfa_ports::StoreError;

/// A result with the facade's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Why the policy refused an action: the action and the decision's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// The action that was refused.
    pub action: Action,
    /// The decision's reason: a guardrail, a forbid rule or default deny.
    pub reason: Reason,
    /// The id of the rule behind the reason, when the reason names one.
    pub rule: Option<String>,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` denied by ", self.action.as_str())?;
        match (&self.reason, &self.rule) {
            (Reason::Guardrail(g), _) => write!(f, "guardrail {g}: {}", g.description()),
            (Reason::Forbid(_), Some(rule)) => write!(f, "forbid rule `{rule}`"),
            (Reason::Permit(_), Some(rule)) => write!(f, "rule `{rule}`"),
            (Reason::DefaultDeny, _) => f.write_str("default deny: no rule permits it"),
            (Reason::Forbid(_) | Reason::Permit(_), None) => f.write_str("an unknown rule"),
        }
    }
}

/// Which field of a request was refused, and why ([`Error::InvalidInput`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidField {
    /// The field's name, as in the request type (`email`, `display_name`, `role`, …).
    pub field: &'static str,
    /// What is wrong with it, in lowercase words; never the value itself.
    pub problem: &'static str,
}

impl InvalidField {
    /// `field` is refused because of `problem`.
    #[must_use]
    pub const fn new(field: &'static str, problem: &'static str) -> Self {
        Self { field, problem }
    }
}

impl fmt::Display for InvalidField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.field, self.problem)
    }
}

/// Everything an [`MfaService`](crate::MfaService) call can fail with.
///
/// The public, unauthenticated entry points (`login`, `verify`, `open_link`,
/// `confirm_identity`, `complete_setup`) answer every refusal with one generic variant,
/// [`Error::InvalidCredentials`] or [`Error::InvalidCode`], whether the account is unknown,
/// the password or code wrong, the code replayed, the factor locked or delayed, or the
/// link expired, used or meant for someone else (ENU-1, ENU-3, VER-7). The distinctions
/// are in the audit log only. Infrastructure failures are never one of those two: a store
/// failure is [`Error::Store`], so it is neither counted nor mistaken for a wrong code (REL-3).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The email, password or link did not check out (one answer for every reason).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The code did not check out (one answer for wrong, malformed, replayed, delayed,
    /// locked, or a link that is no longer valid).
    #[error("invalid code")]
    InvalidCode,
    /// The session or challenge is expired, or predates a credential change or lockout:
    /// log in again.
    #[error("session expired")]
    SessionExpired,
    /// The actor's login is older than the configured maximum for MFA changes: log in again.
    #[error("recent authentication required")]
    ReauthRequired,
    /// The policy refused the action.
    #[error("forbidden: {0}")]
    Forbidden(Denied),
    /// No such admin, or one the actor may not know about (another organization, or a
    /// page the role cannot view).
    #[error("not found")]
    NotFound,
    /// The command does not apply to the admin's current state (for example, unlocking an
    /// admin who is not locked, or removing a requirement under an org-wide requirement).
    #[error("not applicable: {0}")]
    NotApplicable(TransitionError),
    /// Code checks are paused after repeated failures (authenticated management APIs only).
    #[error("too many attempts; retry at {retry_at}")]
    RetryLater {
        /// When a new attempt will be considered.
        retry_at: UnixTime,
    },
    /// Another request changed the same admin at the same time, and retrying did not help.
    #[error("conflicting concurrent change")]
    Conflict,
    /// The email address is already taken in this organization.
    #[error("email address already in use")]
    EmailTaken,
    /// Input that can never be valid: a malformed email address for a new admin, an empty
    /// display name or one with control characters, a role the policy does not define. The
    /// service checks every text field at its boundary, before any store sees it, so every
    /// store gives the same answer (INP-1).
    #[error("invalid input: {0}")]
    InvalidInput(InvalidField),
    /// The store failed; nothing was written.
    #[error("store failure")]
    Store(#[source] StoreError),
    /// A sealed secret could not be opened or sealed (a missing or wrong key).
    #[error("sealing failure")]
    Seal(#[source] SealError),
    /// The password hasher failed (not a wrong password).
    #[error("password hashing failure")]
    Password(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The operating system's random number generator failed.
    #[error("random number generator failure")]
    Rng,
    /// Recovery codes are switched off in [`MfaConfig`](crate::MfaConfig) (REC-1).
    #[error("recovery codes are switched off")]
    RecoveryCodesOff,
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<SealError> for Error {
    fn from(e: SealError) -> Self {
        Self::Seal(e)
    }
}

impl From<TransitionError> for Error {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::Seal(s) => Self::Seal(s),
            other => Self::NotApplicable(other),
        }
    }
}

impl Error {
    /// The answer of an entry point whose refusals all look alike (ENU-1, ENU-3, VER-7):
    /// `generic` for everything that means "this request names nothing usable" (no such
    /// admin, a link that is missing, stale, used or voided, no candidate, a wrong identity
    /// proof, no active factor), this error unchanged otherwise (infrastructure failures,
    /// policy refusals). The one mapping every such entry point uses.
    pub(crate) fn or_generic(self, generic: Self) -> Self {
        match self {
            Self::NotFound
            | Self::NotApplicable(
                TransitionError::InvalidLink(_)
                | TransitionError::NoCandidate
                | TransitionError::ProofMismatch
                | TransitionError::NoActiveFactor,
            ) => generic,
            other => other,
        }
    }

    /// [`Error::InvalidInput`] naming `field` and its `problem`.
    #[must_use]
    pub const fn invalid(field: &'static str, problem: &'static str) -> Self {
        Self::InvalidInput(InvalidField::new(field, problem))
    }
}
