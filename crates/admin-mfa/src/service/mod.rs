//! [`MfaService`]: the policy → lifecycle → ports pipeline behind every operation.
//!
//! Every state-changing call follows one shape:
//!
//! 1. authorize (the acting admin's [`Authenticated`] session, re-read from the store, so a
//!    revoked session or a changed role takes effect at once) with `admin-mfa-policy`;
//! 2. load `(admin, version)`;
//! 3. build a lifecycle [`Command`] (randomness from the operating system) and execute it;
//! 4. commit **one** [`Change`]: the admin with its expected version, the audit events and
//!    the outbox notifications, all or nothing.
//!
//! A version conflict re-runs steps 1–4 on fresh state (bounded), so concurrent failure
//! counting loses no update; a race that must have one winner (one link completed, one code
//! accepted) has it, because the loser re-decides on the winner's state and is refused there.

mod links;
mod login;
mod manage;
mod posture;
mod recovery;
mod types;
mod views;

use std::fmt;
use std::sync::Arc;

use admin_mfa_lifecycle::{
    Admin, AdminId, Command, DecideContext, Email, Event, Fresh, LinkToken, LoginStep, Nonce,
    OrgId, UnixTime, apply_in_place, audit_events, decide, notifications,
};
use admin_mfa_policy::{
    Action, Context as PolicyContext, Decision, PolicyEngine, Reason, Request, Subject, Target,
};
use admin_mfa_ports::{
    AdminStore, Change, Clock, ConflictKind, KeyProvider, Mailer, OsRandom, RandomSource,
    StoreError, Versioned,
};
use zeroize::Zeroizing;

use crate::config::MfaConfig;
use crate::dispatch::{DispatchError, DispatchReport, dispatch};
use crate::email::EmailRenderer;
use crate::error::{Denied, Error, Result};
use crate::password::Passwords;
use crate::session::{Authenticated, FactorKind};

pub use posture::PostureExport;
pub use types::{
    AdminListItem, BulkItem, BulkReport, ChangeOutcome, CreatedAdmin, FactorStatus, LinkInfo,
    MfaStatus, NewAdmin, Provisioning, SetupComplete, WidgetView,
};

/// How often one operation re-reads and re-decides after a version conflict.
const MAX_ATTEMPTS: usize = 256;

/// The lifecycle commands one pass of [`MfaService::mutate`] executes, in order (usually
/// one; none when the plan only edits the record or finds nothing to do).
type Plan = Vec<Command>;

/// TOTP multi-factor authentication for admin accounts: every operation of JumpCloud's admin-portal MFA guide,
/// each gated by the policy, each returning a typed outcome.
///
/// Build one with [`MfaService::builder`]. It is `Send + Sync`; share it behind an `Arc`.
/// See the crate documentation for the whole story in code.
pub struct MfaService {
    store: Arc<dyn AdminStore>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    keys: Arc<dyn KeyProvider>,
    random: Arc<dyn RandomSource>,
    policy: PolicyEngine,
    passwords: Passwords,
    renderer: EmailRenderer,
    config: MfaConfig,
}

impl fmt::Debug for MfaService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Builder for [`MfaService`].
#[must_use]
pub struct MfaServiceBuilder {
    config: MfaConfig,
    store: Arc<dyn AdminStore>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    keys: Arc<dyn KeyProvider>,
    random: Arc<dyn RandomSource>,
    policy: Option<PolicyEngine>,
    passwords: Option<Passwords>,
}

impl fmt::Debug for MfaServiceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaServiceBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl MfaServiceBuilder {
    /// The policy to authorize with (default: [`PolicyEngine::jumpcloud`]).
    pub fn policy(mut self, policy: PolicyEngine) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The source of link tokens, nonces, new secrets, identity-step proofs and admin ids
    /// (default: [`OsRandom`], the operating system's generator). Pass a seeded one in tests
    /// to make a whole run repeatable; never anything weaker in production.
    pub fn random_source(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = random;
        self
    }

    /// The password hasher (default: [`Passwords::new`] with the configured parameters).
    /// Pass one to share its concurrency limit with other code, or to observe it.
    pub fn passwords(mut self, passwords: Passwords) -> Self {
        self.passwords = Some(passwords);
        self
    }

    /// The service.
    pub fn build(self) -> MfaService {
        let passwords = self
            .passwords
            .unwrap_or_else(|| Passwords::new(self.config.password_params()));
        MfaService {
            store: self.store,
            mailer: self.mailer,
            clock: self.clock,
            keys: self.keys,
            random: self.random,
            policy: self.policy.unwrap_or_default(),
            passwords,
            renderer: EmailRenderer::new(self.config.email().clone()),
            config: self.config,
        }
    }
}

/// What callers need to know of an admin after a change (the record itself moves into the
/// store write without a copy).
#[derive(Debug)]
struct Outline {
    id: AdminId,
    org: OrgId,
    email: Email,
    credential_epoch: u64,
    login_step: LoginStep,
}

impl Outline {
    /// What callers need of `admin` at `now` (the login step depends on a set-up deadline).
    fn at(admin: &Admin, now: UnixTime) -> Self {
        Self {
            id: admin.id,
            org: admin.org,
            email: admin.email.clone(),
            credential_epoch: admin.mfa.credential_epoch,
            login_step: admin.mfa.login_step_at(now),
        }
    }
}

/// What one committed (or no-op) pass of [`MfaService::mutate`] did.
#[derive(Debug)]
struct Applied {
    /// The admin after the change (as stored, if nothing changed).
    admin: Outline,
    /// The lifecycle events decided (empty for a no-op).
    events: Vec<Event>,
    /// Notifications added to the outbox.
    queued: usize,
    /// Whether anything was written.
    written: bool,
    /// The admin as committed, for a caller that writes it again next (kept only when asked
    /// for, see [`MfaService::mutate_inner`]). Boxed: an `Applied` moves through every level
    /// of an operation's future, and the record would make it several times larger.
    stored: Option<Box<Versioned<Admin>>>,
}

impl Applied {
    fn has(&self, pred: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(pred)
    }

    /// The session a [`Event::Verified`] code check or an [`Event::RecoveryCodeUsed`]
    /// recovery code opens, if the events hold one.
    fn session(&self) -> Option<Authenticated> {
        self.events.iter().find_map(|e| {
            let (factor, at) = match e {
                Event::Verified { at, .. } => (FactorKind::Totp, at),
                Event::RecoveryCodeUsed { at, .. } => (FactorKind::RecoveryCode, at),
                _ => return None,
            };
            Some(Authenticated {
                admin: self.admin.id,
                org: self.admin.org,
                factors: vec![FactorKind::Password, factor],
                authenticated_at: *at,
                credential_epoch: self.admin.credential_epoch,
                setup_due_by: None,
            })
        })
    }

    /// When code checks resume, if the events refused one inside a delay.
    fn delayed_until(&self) -> Option<UnixTime> {
        self.events.iter().find_map(|e| match e {
            Event::Delayed { until, .. } => Some(*until),
            _ => None,
        })
    }

    /// Whether a link's set-up completed.
    fn enrolled(&self) -> bool {
        self.has(|e| matches!(e, Event::Enrolled { .. }))
    }
}

impl MfaService {
    /// A builder over the four ports and a validated configuration.
    pub fn builder(
        config: MfaConfig,
        store: Arc<dyn AdminStore>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        keys: Arc<dyn KeyProvider>,
    ) -> MfaServiceBuilder {
        MfaServiceBuilder {
            config,
            store,
            mailer,
            clock,
            keys,
            random: Arc::new(OsRandom),
            policy: None,
            passwords: None,
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &MfaConfig {
        &self.config
    }

    /// The policy engine.
    #[must_use]
    pub fn policy(&self) -> &PolicyEngine {
        &self.policy
    }

    /// The password hasher (its counters are useful in tests and metrics).
    #[must_use]
    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn AdminStore> {
        &self.store
    }

    /// The clock every decision of the service reads.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Delivers the due outbox e-mails: renders each (text and HTML, links from the
    /// configured base URL), sends it with a timeout, and marks it sent, retried with
    /// exponential backoff, or dead after the configured number of attempts. Run it
    /// periodically; several replicas may run it at once.
    ///
    /// # Errors
    ///
    /// A [`DispatchError`] (with what was done before) if leasing from the store fails, or
    /// before anything is leased if the caller's tokio runtime has no time driver.
    pub async fn dispatch_emails(&self) -> Result<DispatchReport, DispatchError> {
        dispatch(
            &*self.store,
            &*self.mailer,
            &*self.clock,
            &*self.keys,
            &self.renderer,
            self.config.dispatch(),
        )
        .await
    }

    /// The e-mail renderer (to preview a notification, as the quickstart does).
    #[must_use]
    pub fn renderer(&self) -> &EmailRenderer {
        &self.renderer
    }

    /// Whether `session` is still valid: its admin exists and its credential epoch is the
    /// stored one (enrolment, reset and lockout move the epoch on, RST-7, T-SES-2).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails.
    pub async fn is_current(&self, session: &Authenticated) -> Result<bool> {
        Ok(self
            .store
            .admin(session.org, session.admin)
            .await?
            .is_some_and(|a| a.value.mfa.credential_epoch == session.credential_epoch))
    }

    /// Loads the actor behind `session`, refusing a revoked session, and (when `fresh` is
    /// set) one whose login is older than the configured maximum for MFA changes.
    async fn actor(&self, session: &Authenticated, fresh: bool) -> Result<Admin> {
        let Some(actor) = self.store.admin(session.org, session.admin).await? else {
            return Err(Error::SessionExpired);
        };
        if actor.value.mfa.credential_epoch != session.credential_epoch {
            return Err(Error::SessionExpired);
        }
        if fresh
            && session.requires_recent_reauth(self.config.max_auth_age_secs(), self.clock.now())
        {
            return Err(Error::ReauthRequired);
        }
        Ok(actor.value)
    }

    /// The policy context of the service's decisions: the org-wide requirement, and whether
    /// the request comes through the login flow.
    ///
    /// The number of Administrators With Billing is not counted: the policy reads it only for
    /// admin-lifecycle actions (delete, suspend, change role, guardrail G3), which this
    /// service never decides, so a store query per call would buy nothing. It is given as 0,
    /// so should such an action ever be decided here, G3 refuses it rather than allows it.
    fn policy_context(&self, via_login_flow: bool) -> PolicyContext {
        PolicyContext {
            global_mfa_required: self.config.global_mfa_required(),
            awb_count: 0,
            via_login_flow,
        }
    }

    fn decide(
        &self,
        subject: &Admin,
        action: &Action,
        target: Target<'_>,
        context: &PolicyContext,
    ) -> Decision {
        self.policy.decide(&Request {
            subject: Subject {
                id: subject.id,
                org: subject.org,
                role: &subject.role,
            },
            action,
            target,
            context,
        })
    }

    /// `Ok` if the policy allows `action`; "not found" when the subject may not even know
    /// the target, "forbidden" with the reason otherwise.
    fn authorize(
        &self,
        subject: &Admin,
        action: &Action,
        target: Target<'_>,
        context: &PolicyContext,
    ) -> Result<()> {
        let decision = self.decide(subject, action, target, context);
        if decision.allowed {
            return Ok(());
        }
        if !decision.visible {
            return Err(Error::NotFound);
        }
        tracing::info!(
            actor = %subject.id,
            action = action.as_str(),
            reason = ?decision.reason,
            "policy denied the action"
        );
        Err(Error::Forbidden(self.denied(action, decision.reason)))
    }

    fn denied(&self, action: &Action, reason: Reason) -> Denied {
        let rule = match reason {
            Reason::Permit(id) | Reason::Forbid(id) => self.policy.rule(id).map(|r| r.id.clone()),
            Reason::Guardrail(_) | Reason::DefaultDeny => None,
        };
        Denied {
            action: action.clone(),
            reason,
            rule,
        }
    }

    /// Authorizes `action` by `actor` on the admin `target`.
    fn authorize_on(
        &self,
        actor: &Admin,
        action: &Action,
        target: &Admin,
        context: &PolicyContext,
    ) -> Result<()> {
        self.authorize(
            actor,
            action,
            Target::Admin {
                id: target.id,
                org: target.org,
                role: &target.role,
            },
            context,
        )
    }

    /// Self-service through the login flow (enrol or reset one's own TOTP).
    fn authorize_self_service(&self, admin: &Admin, action: &Action) -> Result<()> {
        self.authorize_on(admin, action, admin, &self.policy_context(true))
    }

    /// The randomness of a link-issuing command, from the random source.
    fn fresh(&self) -> Result<Fresh> {
        let token = self.random::<32>()?;
        let nonce = self.random::<12>()?;
        Ok(Fresh::new(
            LinkToken::from_bytes(*token),
            Nonce::from_bytes(*nonce),
        ))
    }

    /// `N` bytes from the random source, wiped on drop.
    fn random<const N: usize>(&self) -> Result<Zeroizing<[u8; N]>> {
        let mut bytes = Zeroizing::new([0_u8; N]);
        self.random.fill(&mut bytes[..]).map_err(|_| Error::Rng)?;
        Ok(bytes)
    }

    /// A fresh random (version 4) admin id.
    fn random_admin_id(&self) -> Result<AdminId> {
        let mut bytes = *self.random::<16>()?;
        if let Some(b) = bytes.get_mut(6) {
            *b = (*b & 0x0f) | 0x40;
        }
        if let Some(b) = bytes.get_mut(8) {
            *b = (*b & 0x3f) | 0x80;
        }
        Ok(AdminId::from_bytes(bytes))
    }

    /// Loads admin `id` of `org`, lets `plan` edit it and pick lifecycle commands,
    /// executes them in order and commits the result as one [`Change`]; on a version
    /// conflict, starts over on fresh state (at most [`MAX_ATTEMPTS`] times).
    ///
    /// `actor` is who the audit events name. Nothing is written when neither the admin
    /// nor the events call for it.
    async fn mutate<P>(
        &self,
        org: OrgId,
        id: AdminId,
        actor: Option<AdminId>,
        plan: P,
    ) -> Result<Applied>
    where
        P: FnMut(&mut Admin, UnixTime) -> Result<Plan>,
    {
        self.mutate_from(None, org, id, actor, plan).await
    }

    /// [`MfaService::mutate`], deciding the first pass on `read` (the admin as the caller
    /// just read it) instead of reading it again; a conflict re-reads as usual.
    async fn mutate_from<P>(
        &self,
        read: Option<Versioned<Admin>>,
        org: OrgId,
        id: AdminId,
        actor: Option<AdminId>,
        plan: P,
    ) -> Result<Applied>
    where
        P: FnMut(&mut Admin, UnixTime) -> Result<Plan>,
    {
        self.mutate_inner(read, org, id, actor, plan, false).await
    }

    /// [`MfaService::mutate_from`]; with `keep`, also hands back the admin as committed
    /// ([`Applied::stored`]), so a caller that writes the same admin again next (the password
    /// step: a reservation, then its outcome) starts from it instead of reading it again.
    async fn mutate_inner<P>(
        &self,
        read: Option<Versioned<Admin>>,
        org: OrgId,
        id: AdminId,
        actor: Option<AdminId>,
        mut plan: P,
        keep: bool,
    ) -> Result<Applied>
    where
        P: FnMut(&mut Admin, UnixTime) -> Result<Plan>,
    {
        self.retried(read, org, id, |current, now| {
            self.prepare(current, actor, now, &mut plan, keep)
        })
        .await
    }

    /// [`MfaService::mutate`] for a plan that picks one lifecycle command and leaves the
    /// record itself alone, a code check ([`Command::Verify`]): the admin as read moves into
    /// the write instead of being copied and compared with its copy, since the command's
    /// events say whether its state changes (a code check's state-changing events always
    /// change it: a new last-used step, a new failure count or a lock).
    async fn mutate_command<P>(
        &self,
        org: OrgId,
        id: AdminId,
        actor: Option<AdminId>,
        mut plan: P,
    ) -> Result<Applied>
    where
        P: FnMut(&Admin, UnixTime) -> Result<Command>,
    {
        self.retried(None, org, id, |current, now| {
            self.prepare_command(current, actor, now, &mut plan)
        })
        .await
    }

    /// The read, decide and compare-and-swap loop under every mutation: `prepare` turns the
    /// admin as read (`read` on the first pass, if given) into the change to commit; a
    /// version conflict starts over on fresh state (at most [`MAX_ATTEMPTS`] times).
    async fn retried<F>(
        &self,
        mut read: Option<Versioned<Admin>>,
        org: OrgId,
        id: AdminId,
        mut prepare: F,
    ) -> Result<Applied>
    where
        F: FnMut(Versioned<Admin>, UnixTime) -> Result<(Option<Change>, Applied)>,
    {
        for _ in 0..MAX_ATTEMPTS {
            let now = self.clock.now();
            let current = match read.take() {
                Some(current) => current,
                None => self.store.admin(org, id).await?.ok_or(Error::NotFound)?,
            };
            let (change, mut applied) = prepare(current, now)?;
            let Some(change) = change else {
                return Ok(applied);
            };
            match self.store.commit(change).await {
                Ok(receipt) => {
                    applied.queued = receipt.queued;
                    return Ok(applied);
                }
                Err(StoreError::Conflict(ConflictKind::Version)) => {
                    tracing::debug!(admin = %id, "version conflict; deciding again");
                    tokio::task::yield_now().await;
                }
                Err(e) => {
                    tracing::warn!(admin = %id, error = %e, "store write failed; nothing changed");
                    return Err(e.into());
                }
            }
        }
        Err(Error::Conflict)
    }

    fn prepare<P>(
        &self,
        current: Versioned<Admin>,
        actor: Option<AdminId>,
        now: UnixTime,
        plan: &mut P,
        keep: bool,
    ) -> Result<(Option<Change>, Applied)>
    where
        P: FnMut(&mut Admin, UnixTime) -> Result<Plan>,
    {
        let mut next = current.value.clone();
        let mut events = Vec::new();
        let commands = plan(&mut next, now)?;
        if !commands.is_empty() {
            let keys = self.keys.keys();
            let ctx = DecideContext::new(next.id, self.config.lifecycle(), &keys);
            for command in commands {
                // `execute` on the copy in hand, without copying its state once more.
                let decided = decide(&next.mfa, command, now, &ctx)?;
                for event in &decided {
                    apply_in_place(&mut next.mfa, event);
                }
                if events.is_empty() {
                    events = decided;
                } else {
                    events.extend(decided);
                }
            }
        }
        let changed = next != current.value;
        if !changed && events.is_empty() {
            let applied = Applied {
                admin: Outline::at(&next, now),
                events,
                queued: 0,
                written: false,
                stored: keep.then(|| {
                    Box::new(Versioned {
                        value: next,
                        version: current.version,
                    })
                }),
            };
            return Ok((None, applied));
        }
        let mut change = Change::new();
        record(
            &mut change,
            &next,
            &events,
            actor,
            now,
            current.version.get(),
        );
        let outline = Outline::at(&next, now);
        let version = if changed {
            current.version.next()
        } else {
            current.version
        };
        let stored = keep.then(|| {
            Box::new(Versioned {
                value: next.clone(),
                version,
            })
        });
        if changed {
            change = change.update(next, current.version);
        }
        let applied = Applied {
            admin: outline,
            events,
            queued: 0,
            written: true,
            stored,
        };
        Ok((Some(change), applied))
    }
}

impl MfaService {
    /// One pass of [`MfaService::mutate_command`] on `current`: the command decided on the
    /// state as read, its events applied in place, and the record moved into the write when
    /// they change it (a refusal that only informs, such as a delay, writes its audit record
    /// alone, as [`MfaService::prepare`] does).
    #[inline]
    fn prepare_command<P>(
        &self,
        current: Versioned<Admin>,
        actor: Option<AdminId>,
        now: UnixTime,
        plan: &mut P,
    ) -> Result<(Option<Change>, Applied)>
    where
        P: FnMut(&Admin, UnixTime) -> Result<Command>,
    {
        let Versioned {
            value: mut admin,
            version,
        } = current;
        let command = plan(&admin, now)?;
        let keys = self.keys.keys();
        let ctx = DecideContext::new(admin.id, self.config.lifecycle(), &keys);
        let events = decide(&admin.mfa, command, now, &ctx)?;
        drop(keys);
        let changed = events.iter().any(Event::changes_state);
        if changed {
            for event in &events {
                apply_in_place(&mut admin.mfa, event);
            }
        }
        let outline = Outline::at(&admin, now);
        if events.is_empty() {
            let applied = Applied {
                admin: outline,
                events,
                queued: 0,
                written: false,
                stored: None,
            };
            return Ok((None, applied));
        }
        let mut change = Change::new();
        record(&mut change, &admin, &events, actor, now, version.get());
        if changed {
            change = change.update(admin, version);
        }
        let applied = Applied {
            admin: outline,
            events,
            queued: 0,
            written: true,
            stored: None,
        };
        Ok((Some(change), applied))
    }
}

/// The one place lifecycle `events` decided on `admin` (stored at `version`, 0 if new) become
/// part of a store write: their audit records and outbox notifications go into `change`, and
/// each gets its log line.
fn record(
    change: &mut Change,
    admin: &Admin,
    events: &[Event],
    actor: Option<AdminId>,
    now: UnixTime,
    version: u64,
) {
    // Moved in whole when the change has none yet (the usual case): no second vector.
    let audit = audit_events(admin, events, actor, now);
    if change.audit.is_empty() {
        change.audit = audit;
    } else {
        change.audit.extend(audit);
    }
    let outbox = notifications(admin, events, now, version);
    if change.outbox.is_empty() {
        change.outbox = outbox;
    } else {
        change.outbox.extend(outbox);
    }
    log_events(admin, events);
}

/// One tracing line per lifecycle event: ids, kinds and counts, never a secret.
fn log_events(admin: &Admin, events: &[Event]) {
    for event in events {
        let kind = match event {
            Event::RequirementSet { .. } => "requirement_set",
            Event::RequirementRemoved { .. } => "requirement_removed",
            Event::LinkIssued(_) => "link_issued",
            Event::LinkRateLimited { .. } => "link_rate_limited",
            Event::CandidateStored { .. } => "candidate_stored",
            Event::Enrolled { .. } => "enrolled",
            Event::Verified { .. } => "verified",
            Event::VerifyFailed { .. } => "verify_failed",
            Event::Replayed { .. } => "replayed",
            Event::Delayed { .. } => "delayed",
            Event::RefusedLocked { .. } => "refused_locked",
            Event::LockedOut { .. } => "locked_out",
            Event::Unlocked { .. } => "unlocked",
            Event::FactorRemoved { .. } => "factor_removed",
            Event::LinkExpired { .. } => "link_expired",
            Event::PasswordAttempted { .. } => "password_attempted",
            Event::SetupFailed { .. } => "setup_failed",
            Event::LinkVoided { .. } => "link_voided",
            Event::PasswordDelayed { .. } => "password_delayed",
            Event::PasswordFailuresCleared { .. } => "password_failures_cleared",
            Event::RecoveryCodesIssued { .. } => "recovery_codes_issued",
            Event::RecoveryCodeUsed { .. } => "recovery_code_used",
            Event::SetupDeadlineSet { .. } => "setup_deadline_set",
        };
        tracing::info!(admin = %admin.id, org = %admin.org, event = kind, "mfa event");
    }
}

/// What the portable login state (`crate::portable`) needs of the service.
impl MfaService {
    /// The key ring to seal and open with now.
    pub(crate) fn key_ring(&self) -> admin_mfa_lifecycle::KeyRing {
        self.keys.keys()
    }

    /// The injected clock's time.
    pub(crate) fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// A fresh sealing nonce from the random source.
    pub(crate) fn fresh_nonce(&self) -> Result<Nonce> {
        Ok(Nonce::from_bytes(*self.random::<12>()?))
    }
}
