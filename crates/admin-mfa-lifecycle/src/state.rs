//! The per-admin MFA state (four independent facets) and the admin record around it.

use crate::config::{LifecycleConfig, MAX_EMAILS_PER_WINDOW};
use crate::{
    AdminId, Email, LinkPurpose, LinkRejection, OrgId, PasswordHash, Role, Sealed,
    StoredRecoveryCodes, TimeStep, TokenHash, TotpParams, UnixTime,
};

/// Whether MFA is required at login (facet 1 of docs/ARCHITECTURE.md §3).
///
/// An `Active` factor is asked for at login whatever this says (T-ENR-5); the requirement
/// decides whether an admin *without* a factor must enrol, and what the "Admins Without MFA
/// Required" widget counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "state", rename_all = "snake_case"))]
pub enum Requirement {
    /// MFA is optional for this admin.
    #[default]
    NotRequired,
    /// MFA is required.
    Required {
        /// When it became required.
        since: UnixTime,
        /// Who required it (`None`: the system, e.g. the default for new admins).
        by: Option<AdminId>,
    },
}

impl Requirement {
    /// `true` for [`Requirement::Required`].
    #[must_use]
    pub const fn is_required(&self) -> bool {
        matches!(self, Self::Required { .. })
    }
}

/// The enrolled authenticator (facet 2). There is at most one, by construction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "state", rename_all = "snake_case"))]
pub enum Factor {
    /// Not enrolled.
    #[default]
    None,
    /// A verified TOTP authenticator.
    Active(ActiveFactor),
}

/// A verified TOTP authenticator, its secret sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ActiveFactor {
    /// The sealed TOTP secret ([`crate::SealedKind::TotpSecret`], bound to the admin).
    pub sealed: Sealed,
    /// Algorithm, digits, period and window it was enrolled with.
    pub params: TotpParams,
    /// When enrolment (or the reset) completed.
    pub enrolled_at: UnixTime,
    /// The newest accepted step; only ever moves forward (VER-1). The confirming code's
    /// step is stored here at enrolment (VER-2).
    pub last_used_step: Option<TimeStep>,
}

/// A candidate secret waiting in a pending link for its first valid code (ENR-1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Candidate {
    /// The sealed candidate secret (same kind as an active one, so it moves over unchanged).
    pub sealed: Sealed,
    /// Parameters the QR code was shown with.
    pub params: TotpParams,
    /// When the identity was confirmed and the QR shown.
    pub created_at: UnixTime,
    /// SHA-256 of the identity-step proof handed to whoever confirmed email and password
    /// (SETUP-1): completing the setup needs it beside the link token, so the token alone
    /// cannot drive the code step. `None` for a candidate stored before proofs existed: such
    /// a candidate cannot be completed, the identity step must be repeated.
    #[cfg_attr(feature = "serde", serde(default))]
    pub proof_hash: Option<TokenHash>,
}

impl Candidate {
    /// Whether `proof` is this candidate's identity-step proof (compared in constant time)
    /// and still fresh at `now` (`ttl_secs` after the identity step).
    #[must_use]
    pub fn accepts_proof(&self, proof: &TokenHash, now: UnixTime, ttl_secs: u64) -> bool {
        let matches = self.proof_hash.as_ref().is_some_and(|p| p.ct_eq(proof));
        matches && now < self.created_at.saturating_add_secs(ttl_secs)
    }
}

/// An outstanding setup or reset link (facet 3). At most one per admin: issuing a new one
/// revokes the old (TOK-4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PendingLink {
    /// What the link is for.
    pub purpose: LinkPurpose,
    /// SHA-256 of the raw token; the store indexes admins by it.
    pub token_hash: TokenHash,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// First instant at which it is no longer valid.
    pub expires_at: UnixTime,
    /// `credential_epoch` when issued; a link from an older epoch is stale (TOK-2).
    pub epoch_at_issue: u64,
    /// The candidate secret, once identity was confirmed (newest wins, D5).
    pub candidate: Option<Candidate>,
    /// Wrong codes submitted on this link's last step. They count here only, never on the
    /// active factor's counter, and the link is voided when they reach
    /// [`LifecycleConfig::setup_attempts`] (SETUP-2).
    #[cfg_attr(feature = "serde", serde(default))]
    pub setup_failures: u32,
}

impl PendingLink {
    /// `true` once `now` reaches `expires_at`.
    #[must_use]
    pub fn is_expired(&self, now: UnixTime) -> bool {
        now >= self.expires_at
    }
}

/// The shared failure counter of every code check (facet 4, docs/SECURITY.md D2 and RL-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Failures {
    /// Consecutive failures in the current run. The run closes when the factor locks
    /// (the count restarts at 0 so that a recovery link issued after the lock gets its
    /// own budget), and on any success, completed enrolment, admin reset or unlock.
    pub consecutive: u32,
    /// When the last failure of the run happened.
    pub last_failure_at: Option<UnixTime>,
    /// Locked: every login code is refused until a completed reset or an unlock.
    pub locked: bool,
}

impl Failures {
    /// When the next code check may run, if the run of failures imposes a delay.
    #[must_use]
    pub fn retry_at(&self, config: &LifecycleConfig) -> Option<UnixTime> {
        let delay = config.delay_secs(self.consecutive);
        match self.last_failure_at {
            Some(last) if delay > 0 => Some(last.saturating_add_secs(delay)),
            _ => None,
        }
    }

    /// `Some(until)` if a code check at `now` must be refused unchecked.
    #[must_use]
    pub fn delayed_until(&self, now: UnixTime, config: &LifecycleConfig) -> Option<UnixTime> {
        self.retry_at(config).filter(|until| now < *until)
    }
}

/// The per-admin password limiter (RL-4, RST-1, T-RST-2), apart from the code counter
/// ([`Failures`]): login and a link's email-and-password step share it. It counts password
/// attempts since the last correct password, each reserved before its hash is checked
/// (RL-8). It only delays, never locks, so spraying passwords cannot lock an account (RL-7);
/// a correct password clears it and never touches the code counter (RL-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PasswordFailures {
    /// Password attempts since the last correct one (reserved before their check, RL-8).
    pub consecutive: u32,
    /// When the last attempt was counted.
    pub last_failure_at: Option<UnixTime>,
}

impl PasswordFailures {
    /// When the next password attempt may be checked, if the run of failures imposes a delay.
    #[must_use]
    pub fn retry_at(&self, config: &LifecycleConfig) -> Option<UnixTime> {
        let delay = config.password_delay_secs(self.consecutive);
        match self.last_failure_at {
            Some(last) if delay > 0 => Some(last.saturating_add_secs(delay)),
            _ => None,
        }
    }

    /// `Some(until)` if a password attempt at `now` must be refused unchecked.
    #[must_use]
    pub fn delayed_until(&self, now: UnixTime, config: &LifecycleConfig) -> Option<UnixTime> {
        self.retry_at(config).filter(|until| now < *until)
    }
}

/// Recent link e-mails per purpose, for the "3 per admin per purpose per 15 min" limit (RL-7).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EmailLog {
    setup: Vec<UnixTime>,
    reset: Vec<UnixTime>,
}

impl EmailLog {
    /// Send times still remembered for `purpose`, oldest first.
    #[must_use]
    pub fn sent(&self, purpose: LinkPurpose) -> &[UnixTime] {
        match purpose {
            LinkPurpose::Setup => &self.setup,
            LinkPurpose::Reset => &self.reset,
        }
    }

    /// How many e-mails of `purpose` were sent at or after `since`.
    #[must_use]
    pub fn count_since(&self, purpose: LinkPurpose, since: UnixTime) -> usize {
        self.sent(purpose).iter().filter(|t| **t >= since).count()
    }

    /// Records a send at `at`, forgetting entries before `prune_before` and keeping at most
    /// [`MAX_EMAILS_PER_WINDOW`] entries per purpose, so the log stays small.
    pub fn record(&mut self, purpose: LinkPurpose, at: UnixTime, prune_before: UnixTime) {
        let log = match purpose {
            LinkPurpose::Setup => &mut self.setup,
            LinkPurpose::Reset => &mut self.reset,
        };
        log.retain(|t| *t >= prune_before);
        log.push(at);
        log.sort_unstable();
        let cap = MAX_EMAILS_PER_WINDOW as usize;
        if log.len() > cap {
            let excess = log.len() - cap;
            log.drain(..excess);
        }
    }
}

/// The MFA state of one admin: the four facets of docs/ARCHITECTURE.md §3 plus the credential epoch,
/// the e-mail log and the wrong-password counter. Change it only through [`crate::decide`] and [`crate::apply`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MfaState {
    /// Whether MFA is required.
    pub requirement: Requirement,
    /// The enrolled factor, if any.
    pub factor: Factor,
    /// The outstanding setup or reset link, if any.
    pub link: Option<PendingLink>,
    /// The shared failure counter.
    pub failures: Failures,
    /// Bumped whenever the credential changes (enrolment, reset, admin reset): sessions and
    /// links from an older epoch are stale (TOK-2, RST-7, T-SES-2).
    pub credential_epoch: u64,
    /// Recent link e-mails, for rate limiting.
    pub email_log: EmailLog,
    /// The wrong-password counter (absent from state stored before it existed: zero).
    #[cfg_attr(feature = "serde", serde(default))]
    pub password_failures: PasswordFailures,
    /// The keyed hashes of the unused recovery codes of the active factor (REC-2); `None`
    /// before any were issued, or when the host has them switched off. Absent from state
    /// stored before recovery codes existed.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub recovery: Option<StoredRecoveryCodes>,
    /// While MFA is required but this time has not come, an admin without a factor may sign
    /// in with the password alone (DL-1); from it on the requirement applies as usual. Only
    /// ever moves earlier (DL-4); cleared by a completed set-up, a reset and a removed
    /// requirement. Absent from state stored before deadlines existed.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub setup_deadline: Option<UnixTime>,
}

impl MfaState {
    /// A fresh state: not required, not enrolled, no link, no failures.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The pending link's token hash (the store indexes admins by it).
    #[must_use]
    pub fn token_hash(&self) -> Option<&TokenHash> {
        self.link.as_ref().map(|l| &l.token_hash)
    }

    /// The active factor, if enrolled.
    #[must_use]
    pub fn active_factor(&self) -> Option<&ActiveFactor> {
        match &self.factor {
            Factor::Active(f) => Some(f),
            Factor::None => None,
        }
    }

    /// `true` if a factor is active (login then always asks for a code).
    #[must_use]
    pub fn is_enrolled(&self) -> bool {
        matches!(self.factor, Factor::Active(_))
    }

    /// How many unused recovery codes the admin has (0 without a set).
    #[must_use]
    pub fn recovery_codes_left(&self) -> usize {
        self.recovery
            .as_ref()
            .map_or(0, StoredRecoveryCodes::remaining)
    }

    /// `true` if the failure counter locked the factor.
    #[must_use]
    pub fn is_locked(&self) -> bool {
        self.failures.locked
    }

    /// Validates a presented link without consuming it: the pending link if its token hash
    /// matches (in constant time), its purpose is `purpose`, it has not expired at `now` and
    /// it belongs to the current credential epoch. This is the check for opening a link
    /// (GET), which must never consume it because mail scanners open links (TOK-3).
    ///
    /// # Errors
    /// The [`LinkRejection`] reason; show every one as the same generic error.
    pub fn check_link(
        &self,
        purpose: LinkPurpose,
        token_hash: &TokenHash,
        now: UnixTime,
    ) -> Result<&PendingLink, LinkRejection> {
        let link = self.link.as_ref().ok_or(LinkRejection::Missing)?;
        if !link.token_hash.ct_eq(token_hash) {
            return Err(LinkRejection::Mismatch);
        }
        if link.purpose != purpose {
            return Err(LinkRejection::WrongPurpose);
        }
        if link.is_expired(now) {
            return Err(LinkRejection::Expired);
        }
        if link.epoch_at_issue != self.credential_epoch {
            return Err(LinkRejection::Stale);
        }
        Ok(link)
    }

    /// The set-up deadline if MFA is required, no factor is active and the deadline is still
    /// ahead at `now` (the grace period of DL-1).
    #[must_use]
    pub fn setup_deadline_after(&self, now: UnixTime) -> Option<UnixTime> {
        self.setup_deadline
            .filter(|d| now < *d && self.requirement.is_required() && !self.is_enrolled())
    }

    /// What a successful password login at `now` leads to: [`MfaState::login_step`], except
    /// that inside a set-up grace period a required admin without a factor gets
    /// [`LoginStep::SetupDue`] instead of [`LoginStep::SetupRequired`] (DL-1, DL-2). The
    /// deadline itself is outside the grace period: at `deadline` the requirement applies.
    #[must_use]
    pub fn login_step_at(&self, now: UnixTime) -> LoginStep {
        match self.setup_deadline_after(now) {
            Some(by) => LoginStep::SetupDue { by },
            None => self.login_step(),
        }
    }

    /// What a successful password login leads to (REQ-2, T-ENR-5), ignoring any set-up
    /// deadline (as if it had passed; see [`MfaState::login_step_at`]).
    #[must_use]
    pub fn login_step(&self) -> LoginStep {
        if self.is_enrolled() {
            LoginStep::MfaChallenge
        } else if self.requirement.is_required() {
            LoginStep::SetupRequired
        } else {
            LoginStep::Complete
        }
    }

    /// The pending link if it has not expired at `now`.
    #[must_use]
    pub fn live_link(&self, now: UnixTime) -> Option<&PendingLink> {
        self.link.as_ref().filter(|l| !l.is_expired(now))
    }
}

/// What follows a correct password, by [`MfaState::login_step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginStep {
    /// No factor and MFA not required: the password alone logs in.
    Complete,
    /// A factor is active (required or not): a code must follow. A locked factor still gets
    /// here, and every code is refused, so the response does not reveal the lock.
    MfaChallenge,
    /// MFA is required but not set up: no privileges; (re)send the setup link with
    /// [`crate::Command::IssueSetupLink`] and tell the admin to check their e-mail.
    SetupRequired,
    /// MFA is required but not set up, and the set-up deadline has not come: the password
    /// alone signs in until `by` (DL-1); send the setup link like for
    /// [`LoginStep::SetupRequired`] and tell the admin when set-up is due.
    SetupDue {
        /// The deadline: from this instant on, the answer is [`LoginStep::SetupRequired`].
        by: UnixTime,
    },
}

/// Per-admin display preferences of the Home page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WidgetPrefs {
    /// The "Admins Without MFA Required" widget is switched off for this admin.
    pub admins_without_mfa_hidden: bool,
}

/// An admin account as the store keeps it.
///
/// "Admins without MFA required" are those with `!admin.mfa.requirement.is_required()`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Admin {
    /// The admin's id.
    pub id: AdminId,
    /// The organization the admin belongs to.
    pub org: OrgId,
    /// Login and notification address.
    pub email: Email,
    /// Name shown in the portal and in e-mails (escaped by the renderer, never trusted).
    pub display_name: String,
    /// The admin's role.
    pub role: Role,
    /// The password hash (PHC string); MFA never changes it (D8).
    pub password_hash: PasswordHash,
    /// When the account was created.
    pub created_at: UnixTime,
    /// The MFA state.
    pub mfa: MfaState,
    /// Display preferences.
    pub prefs: WidgetPrefs,
}

/// Who a new admin is: everything [`Admin::new`] needs besides the fresh MFA state and the
/// default preferences. Named fields, so a caller cannot swap two of them unnoticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminProfile {
    /// The admin's id.
    pub id: AdminId,
    /// The organization the admin belongs to.
    pub org: OrgId,
    /// Login and notification address.
    pub email: Email,
    /// Name shown in the portal and in e-mails.
    pub display_name: String,
    /// The admin's role.
    pub role: Role,
    /// The password hash (PHC string).
    pub password_hash: PasswordHash,
    /// When the account was created.
    pub created_at: UnixTime,
}

impl Admin {
    /// A new admin with a fresh [`MfaState`] and default preferences. For the
    /// "new admins get MFA by default" setting, run [`crate::Command::Enable`] next.
    #[must_use]
    pub fn new(profile: AdminProfile) -> Self {
        let AdminProfile {
            id,
            org,
            email,
            display_name,
            role,
            password_hash,
            created_at,
        } = profile;
        Self {
            id,
            org,
            email,
            display_name,
            role,
            password_hash,
            created_at,
            mfa: MfaState::new(),
            prefs: WidgetPrefs::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_log_prunes_and_caps() {
        let mut log = EmailLog::default();
        for t in 0..5 {
            log.record(LinkPurpose::Setup, UnixTime::from_secs(t), UnixTime::EPOCH);
        }
        assert_eq!(log.sent(LinkPurpose::Setup).len(), 5);
        assert!(log.sent(LinkPurpose::Reset).is_empty());
        assert_eq!(
            log.count_since(LinkPurpose::Setup, UnixTime::from_secs(3)),
            2
        );
        log.record(
            LinkPurpose::Setup,
            UnixTime::from_secs(10),
            UnixTime::from_secs(4),
        );
        assert_eq!(
            log.sent(LinkPurpose::Setup),
            &[UnixTime::from_secs(4), UnixTime::from_secs(10)]
        );
        for t in 0..500 {
            log.record(LinkPurpose::Reset, UnixTime::from_secs(t), UnixTime::EPOCH);
        }
        assert_eq!(
            log.sent(LinkPurpose::Reset).len(),
            MAX_EMAILS_PER_WINDOW as usize
        );
        assert_eq!(
            log.sent(LinkPurpose::Reset).last(),
            Some(&UnixTime::from_secs(499))
        );
    }

    #[test]
    fn failure_delays_follow_the_config() {
        let cfg = LifecycleConfig::default();
        let at = UnixTime::from_secs(1_000);
        let mut f = Failures {
            consecutive: 4,
            last_failure_at: Some(at),
            locked: false,
        };
        assert_eq!(f.retry_at(&cfg), None);
        for (n, d) in [(5, 30), (6, 60), (7, 120), (8, 240), (9, 480)] {
            f.consecutive = n;
            assert_eq!(f.retry_at(&cfg), Some(at.saturating_add_secs(d)));
            assert_eq!(
                f.delayed_until(at.saturating_add_secs(d - 1), &cfg),
                Some(at.saturating_add_secs(d))
            );
            assert_eq!(f.delayed_until(at.saturating_add_secs(d), &cfg), None);
        }
    }
}
