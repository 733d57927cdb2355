//! What a login produces: a full session ([`Authenticated`]), or an intermediate state that
//! grants nothing ([`MfaChallenge`], [`SetupRequired`]).
//!
//! None of these types has a public constructor, a `Default`, a `From` conversion or serde:
//! the only way to an [`Authenticated`] is [`MfaService::login`](crate::MfaService::login)
//! without MFA or [`MfaService::verify`](crate::MfaService::verify) with a correct code
//! (T-SES-1). Hosts keep them in their server-side session storage.
//!
//! A challenge is not a session, and nothing turns it into one:
//!
//! ```compile_fail
//! # async fn f(service: &admin_mfa::MfaService, c: &admin_mfa::MfaChallenge, id: admin_mfa::AdminId) {
//! let _ = service.enable_mfa(c, id).await; // expected `&Authenticated`, found `&MfaChallenge`
//! # }
//! ```
//!
//! ```compile_fail
//! # fn f(c: admin_mfa::MfaChallenge) -> admin_mfa::Authenticated {
//! admin_mfa::Authenticated::from(c) // no conversion exists
//! # }
//! ```
//!
//! ```compile_fail
//! # fn f(id: admin_mfa::AdminId, org: admin_mfa::OrgId) -> admin_mfa::Authenticated {
//! admin_mfa::Authenticated { admin: id, org, factors: vec![], authenticated_at: admin_mfa::UnixTime::EPOCH, credential_epoch: 0 } // private fields
//! # }
//! ```

use core::fmt;

use admin_mfa_lifecycle::{AdminId, LinkToken, OrgId, TokenHash, UnixTime};

/// An authentication factor that took part in a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FactorKind {
    /// The account password (argon2id).
    Password,
    /// A TOTP code from the admin's authenticator app.
    Totp,
    /// A single-use recovery code, in place of a TOTP code
    /// ([`MfaService::verify_recovery_code`](crate::MfaService::verify_recovery_code), REC-3).
    RecoveryCode,
}

/// A fully authenticated admin session: the only value the service's guards accept.
///
/// It carries the admin, the factors used, when the login happened and the admin's
/// credential epoch at that moment. The epoch moves on whenever MFA is enrolled, reset or
/// locked, so [`MfaService::is_current`](crate::MfaService::is_current) tells a host when to
/// revoke a session that predates such a change (RST-7, T-SES-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub(crate) admin: AdminId,
    pub(crate) org: OrgId,
    pub(crate) factors: Vec<FactorKind>,
    pub(crate) authenticated_at: UnixTime,
    pub(crate) credential_epoch: u64,
    pub(crate) setup_due_by: Option<UnixTime>,
}

impl Authenticated {
    /// The signed-in admin.
    #[must_use]
    pub const fn admin(&self) -> AdminId {
        self.admin
    }

    /// The admin's organization.
    #[must_use]
    pub const fn org(&self) -> OrgId {
        self.org
    }

    /// The factors the login used: `[Password]`, `[Password, Totp]` or
    /// `[Password, RecoveryCode]`.
    #[must_use]
    pub fn factors(&self) -> &[FactorKind] {
        &self.factors
    }

    /// Whether the login used a second factor: a TOTP code or a recovery code.
    #[must_use]
    pub fn used_mfa(&self) -> bool {
        self.factors
            .iter()
            .any(|f| matches!(f, FactorKind::Totp | FactorKind::RecoveryCode))
    }

    /// When the full login completed.
    #[must_use]
    pub const fn authenticated_at(&self) -> UnixTime {
        self.authenticated_at
    }

    /// The admin's credential epoch when the session began.
    #[must_use]
    pub const fn credential_epoch(&self) -> u64 {
        self.credential_epoch
    }

    /// When MFA set-up is due, for a password-only login inside a set-up grace period
    /// ([`MfaService::require_mfa_by`](crate::MfaService::require_mfa_by), DL-2): show "set up
    /// MFA by …" and the way to the setup e-mail, which the login (re)sent. From that time on
    /// the login answers [`LoginOutcome::SetupRequired`]. `None` for every other session, and
    /// for a session opened from a [`PortableToken`](crate::PortableToken) (the login answer
    /// is where a host reads it).
    #[must_use]
    pub const fn setup_due_by(&self) -> Option<UnixTime> {
        self.setup_due_by
    }

    /// Whether the login is older than `max_age_secs` at `now`, so that a sensitive action
    /// (an MFA change) should first ask for a fresh login (SES-1, A5 7.5.1).
    #[must_use]
    pub const fn requires_recent_reauth(&self, max_age_secs: u64, now: UnixTime) -> bool {
        now.secs_since(self.authenticated_at) > max_age_secs
    }
}

/// The state between a correct password and a correct code: it grants nothing except
/// [`MfaService::verify`](crate::MfaService::verify) and the self-service
/// [`MfaService::request_reset`](crate::MfaService::request_reset).
///
/// It is bound to the admin, the credential epoch (which also moves on at a lockout, so a
/// challenge from before a lock stays dead after an unlock, T-RL-6) and an expiry. It is
/// deliberately not serialisable: keep it server-side, keyed by the host's own session id.
#[derive(Clone, PartialEq, Eq)]
pub struct MfaChallenge {
    pub(crate) admin: AdminId,
    pub(crate) org: OrgId,
    pub(crate) credential_epoch: u64,
    pub(crate) issued_at: UnixTime,
    pub(crate) expires_at: UnixTime,
}

impl MfaChallenge {
    /// The admin who passed the password step.
    #[must_use]
    pub const fn admin(&self) -> AdminId {
        self.admin
    }

    /// When the challenge stops being accepted.
    #[must_use]
    pub const fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    /// When the password step happened.
    #[must_use]
    pub const fn issued_at(&self) -> UnixTime {
        self.issued_at
    }
}

impl fmt::Debug for MfaChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaChallenge")
            .field("admin", &self.admin)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A required but unenrolled admin passed the password step: no privileges, only "check
/// your e-mail to set up MFA" (REQ-2). A setup e-mail was queued unless rate-limited; the
/// response is the same either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupRequired {
    pub(crate) admin: AdminId,
}

impl SetupRequired {
    /// The admin who must set up MFA.
    #[must_use]
    pub const fn admin(&self) -> AdminId {
        self.admin
    }
}

/// The result of the password step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum LoginOutcome {
    /// No factor and MFA not required: the password alone signs in.
    Authenticated(Authenticated),
    /// A factor is active: ask for a code and call [`MfaService::verify`](crate::MfaService::verify).
    MfaChallenge(MfaChallenge),
    /// MFA is required but not set up: tell the admin to check their e-mail.
    SetupRequired(SetupRequired),
}

/// Proof that its holder passed a link's e-mail-and-password step (SETUP-1): returned with
/// the [`Provisioning`](crate::Provisioning) by
/// [`MfaService::confirm_identity`](crate::MfaService::confirm_identity) and required, beside
/// the link token, by [`MfaService::complete_setup`](crate::MfaService::complete_setup).
///
/// Someone who has only the link token (a mail scanner, a proxy log, a forwarded e-mail)
/// therefore cannot submit codes on the link, let alone lock anything. It is 256 random bits
/// of which the store keeps only a hash in the pending candidate; it is single-use (the
/// candidate goes with a completed set-up, and a newer identity step replaces it) and
/// short-lived ([`LifecycleConfig::setup_proof_ttl_secs`](admin_mfa_lifecycle::LifecycleConfig::setup_proof_ttl_secs)).
/// Keep it in the same browser session as the QR page, server-side; it has no public
/// constructor, and `Debug` shows nothing of it.
#[derive(Clone)]
pub struct SetupProof {
    pub(crate) secret: LinkToken,
}

impl SetupProof {
    /// The hash the candidate stores.
    pub(crate) fn hash(&self) -> TokenHash {
        self.secret.hash()
    }
}

impl fmt::Debug for SetupProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SetupProof(<redacted>)")
    }
}
