//! Outbox delivery: at least once, with exponential backoff and a dead-letter state

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use admin_mfa_lifecycle::{
    AdminId, KeyRing, Notification, NotificationDetail, NotificationKind, OrgId,
};
use admin_mfa_ports::{
    AdminStore, Clock, ConflictKind, KeyProvider, Lease, MailError, Mailer, OutboxEntry, OutboxId,
    StoreError,
};

use crate::email::{EmailRenderer, link_purpose_of};

/// Why a [`DispatchConfig`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DispatchConfigError {
    /// `max_attempts` must be in `1..=100`.
    #[error("max attempts must be between 1 and 100")]
    MaxAttempts,
    /// The backoff base must be at least 1 s and at most the cap; the cap at most a day.
    #[error("backoff base must be 1 s or more and at most the cap, and the cap at most 86400 s")]
    Backoff,
    /// The send timeout must be between 1 ms and 5 minutes.
    #[error("send timeout must be between 1 ms and 300 s")]
    SendTimeout,
    /// The batch size must be in `1..=1000`.
    #[error("batch size must be between 1 and 1000")]
    BatchSize,
    /// `max_batches` must be at least 1.
    #[error("max batches must be at least 1")]
    MaxBatches,
    /// The lease must outlast a batch in which every send times out.
    #[error("lease of {lease_secs} s is shorter than a batch of timed-out sends ({needed_secs} s)")]
    LeaseTooShort {
        /// The lease given.
        lease_secs: u64,
        /// The shortest lease accepted for this batch size and timeout.
        needed_secs: u64,
    },
}

/// How the dispatcher retries, times out and batches. Built with
/// [`DispatchConfig::builder`]; [`Default`] gives the documented defaults.
///
/// ```
/// use std::time::Duration;
/// use admin_mfa::DispatchConfig;
///
/// let config = DispatchConfig::builder()
///     .max_attempts(5)
///     .backoff(Duration::from_secs(10), Duration::from_secs(600))
///     .build()?;
/// assert_eq!(config.backoff_after(1), Duration::from_secs(10));
/// assert_eq!(config.backoff_after(3), Duration::from_secs(40));
/// assert_eq!(config.backoff_after(30), Duration::from_secs(600));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchConfig {
    max_attempts: u32,
    backoff_base_secs: u64,
    backoff_cap_secs: u64,
    send_timeout: Duration,
    lease_secs: u64,
    batch_size: usize,
    max_batches: usize,
}

impl Default for DispatchConfig {
    /// 8 attempts; backoff 30 s doubling, capped at 1 h; 10 s send timeout; batches of 16
    /// under a 300 s lease; at most 1000 batches per run.
    fn default() -> Self {
        Self {
            max_attempts: 8,
            backoff_base_secs: 30,
            backoff_cap_secs: 3600,
            send_timeout: Duration::from_secs(10),
            lease_secs: 300,
            batch_size: 16,
            max_batches: 1000,
        }
    }
}

/// Builds a [`DispatchConfig`], starting from the defaults.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct DispatchConfigBuilder {
    config: DispatchConfig,
    lease_set: bool,
}

impl DispatchConfig {
    /// A builder starting from [`DispatchConfig::default`].
    pub fn builder() -> DispatchConfigBuilder {
        DispatchConfigBuilder {
            config: Self::default(),
            lease_set: false,
        }
    }

    /// Attempts before an entry is dead.
    #[must_use]
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The time a send may take before it counts as a transient failure.
    #[must_use]
    pub const fn send_timeout(&self) -> Duration {
        self.send_timeout
    }

    /// How long a leased batch is reserved for this dispatcher.
    #[must_use]
    pub const fn lease_secs(&self) -> u64 {
        self.lease_secs
    }

    /// Entries leased at once.
    #[must_use]
    pub const fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Batches one [`dispatch`] run processes at most.
    #[must_use]
    pub const fn max_batches(&self) -> usize {
        self.max_batches
    }

    /// The backoff base: the wait after the first failed attempt.
    #[must_use]
    pub const fn backoff_base(&self) -> Duration {
        Duration::from_secs(self.backoff_base_secs)
    }

    /// The longest wait between attempts.
    #[must_use]
    pub const fn backoff_cap(&self) -> Duration {
        Duration::from_secs(self.backoff_cap_secs)
    }

    /// The wait after the `attempts`-th failed attempt: `base × 2^(attempts − 1)`, capped.
    #[must_use]
    pub fn backoff_after(&self, attempts: u32) -> Duration {
        Duration::from_secs(self.backoff_secs(attempts))
    }

    fn backoff_secs(&self, attempts: u32) -> u64 {
        let exp = attempts.saturating_sub(1).min(63);
        let factor = 1_u64.checked_shl(exp).unwrap_or(u64::MAX);
        self.backoff_base_secs
            .saturating_mul(factor)
            .min(self.backoff_cap_secs)
    }

    /// The shortest lease that outlasts a batch of timed-out sends, plus a minute.
    fn needed_lease_secs(&self) -> u64 {
        let per_send = self.send_timeout.as_secs().saturating_add(1);
        (self.batch_size as u64)
            .saturating_mul(per_send)
            .saturating_add(60)
    }
}

impl DispatchConfigBuilder {
    /// Attempts before an entry is dead (default 8, `1..=100`).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.config.max_attempts = n;
        self
    }

    /// Backoff base and cap (default 30 s and 1 h); whole seconds.
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.config.backoff_base_secs = base.as_secs();
        self.config.backoff_cap_secs = cap.as_secs();
        self
    }

    /// Send timeout (default 10 s, 1 ms to 300 s).
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.config.send_timeout = timeout;
        self
    }

    /// Lease length in seconds (default: 300 s, or the shortest valid one for the batch
    /// size and timeout if that is longer).
    pub fn lease_secs(mut self, secs: u64) -> Self {
        self.config.lease_secs = secs;
        self.lease_set = true;
        self
    }

    /// Entries leased at once (default 16, `1..=1000`).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.config.batch_size = n;
        self
    }

    /// Batches per [`dispatch`] run at most (default 1000), so one run always ends.
    pub fn max_batches(mut self, n: usize) -> Self {
        self.config.max_batches = n;
        self
    }

    /// Validates the configuration.
    ///
    /// # Errors
    ///
    /// A [`DispatchConfigError`] naming the first invalid setting.
    pub fn build(self) -> Result<DispatchConfig, DispatchConfigError> {
        let mut c = self.config;
        if !(1..=100).contains(&c.max_attempts) {
            return Err(DispatchConfigError::MaxAttempts);
        }
        if c.backoff_base_secs == 0
            || c.backoff_base_secs > c.backoff_cap_secs
            || c.backoff_cap_secs > 86_400
        {
            return Err(DispatchConfigError::Backoff);
        }
        if c.send_timeout < Duration::from_millis(1) || c.send_timeout > Duration::from_secs(300) {
            return Err(DispatchConfigError::SendTimeout);
        }
        if !(1..=1000).contains(&c.batch_size) {
            return Err(DispatchConfigError::BatchSize);
        }
        if c.max_batches == 0 {
            return Err(DispatchConfigError::MaxBatches);
        }
        let needed = c.needed_lease_secs();
        if !self.lease_set {
            c.lease_secs = c.lease_secs.max(needed);
        } else if c.lease_secs < needed {
            return Err(DispatchConfigError::LeaseTooShort {
                lease_secs: c.lease_secs,
                needed_secs: needed,
            });
        }
        Ok(c)
    }
}

/// Why one delivery attempt failed. Carries no token, body or address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureReason {
    /// The mailer reported a transient failure.
    MailTransient,
    /// The mailer reported a permanent failure: no retry.
    MailPermanent,
    /// The mailer did not answer within the send timeout (or reported a timeout).
    Timeout,
    /// The mailer panicked; caught, counted as transient.
    MailerPanicked,
    /// The sealed link token did not open: its key is missing from the key provider, or
    /// the key is wrong. Retried, since a key may come back after a bad deployment.
    SealedLink,
    /// The entry cannot be rendered (a link email without a link, or a link of the wrong
    /// purpose): no retry.
    Unrenderable,
    /// Reading the admin a set-up reminder is for failed (DL-3): retried.
    StoreRead,
}

impl FailureReason {
    /// Whether a later attempt may succeed.
    #[must_use]
    pub const fn is_retryable(self) -> bool {
        !matches!(self, Self::MailPermanent | Self::Unrenderable)
    }

    /// A stable snake_case name for logs and metrics.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MailTransient => "mail_transient",
            Self::MailPermanent => "mail_permanent",
            Self::Timeout => "timeout",
            Self::MailerPanicked => "mailer_panicked",
            Self::SealedLink => "sealed_link",
            Self::Unrenderable => "unrenderable",
            Self::StoreRead => "store_read",
        }
    }
}

/// An entry given up on: the operator event of a dead letter (ids only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeadLetter {
    /// The outbox entry.
    pub outbox: OutboxId,
    /// The recipient's organization.
    pub org: OrgId,
    /// The recipient admin.
    pub admin: AdminId,
    /// Which email.
    pub kind: NotificationKind,
    /// Attempts made, the last one included.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub reason: FailureReason,
}

/// One failed delivery attempt (ids only), retried or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttemptFailure {
    /// The outbox entry.
    pub outbox: OutboxId,
    /// The recipient admin.
    pub admin: AdminId,
    /// Which email.
    pub kind: NotificationKind,
    /// The attempt that failed (1 for the first).
    pub attempt: u32,
    /// Why it failed.
    pub reason: FailureReason,
}

/// What one [`dispatch`] run did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DispatchReport {
    /// Entries leased.
    pub leased: usize,
    /// Entries delivered and marked sent.
    pub sent: usize,
    /// Entries that failed and were put back with a backoff.
    pub retried: usize,
    /// Entries given up on in this run.
    pub dead: Vec<DeadLetter>,
    /// Every failed attempt of this run, retried or dead, in order.
    pub failures: Vec<AttemptFailure>,
    /// Entries whose lease expired before they were marked (another dispatcher may have
    /// taken them over; a delivery may then repeat, with the same idempotency key).
    pub lost_leases: usize,
    /// Marks the store failed to record (the lease expires and the entry is retried).
    pub mark_errors: usize,
    /// Batches leased (empty final lease excluded).
    pub batches: usize,
    /// Whether the run stopped at [`DispatchConfig::max_batches`] with entries possibly
    /// still due.
    pub more: bool,
    /// Set-up reminders that no longer applied when due (the admin had set MFA up, the
    /// deadline had moved, or the requirement was gone): marked sent without a message (DL-3).
    pub dropped: usize,
}

/// Why a dispatch run stopped early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DispatchFailure {
    /// Leasing from the store failed.
    #[error("store failure: {0}")]
    Store(#[source] StoreError),
    /// The run is not on a tokio runtime with a time driver (`enable_time`), which the send
    /// timeout needs; nothing was leased.
    #[error("no tokio runtime with a time driver; build the runtime with `enable_time`")]
    NoTimeDriver,
}

/// A failure that ended a run early, with what the run did before it.
#[derive(Debug, thiserror::Error)]
#[error("outbox dispatch stopped: {source}")]
pub struct DispatchError {
    /// The work done before the failure.
    pub report: DispatchReport,
    /// What stopped the run.
    #[source]
    pub source: DispatchFailure,
}

/// Outbox delivery: at least once, with exponential backoff and a dead-letter state
/// (docs/SECURITY.md REL-2, T-FLT-4, T-FLT-6, T-LOAD-5).
///
/// State changes queue their emails in the store's outbox in the same atomic write;
/// [`dispatch`] delivers them later. Each run leases due entries in batches, opens each
/// sealed link token with the current [`KeyProvider`], renders the email with the
/// [`EmailRenderer`], sends it with a timeout, and marks the entry:
///
/// ```text
///   pending --lease--> leased --sent--------------------------------> sent
///                        |----transient failure, timeout, mailer panic,
///                        |    missing or wrong sealing key ---------> pending, due at now + backoff(attempts)
///                        |----the same at the last attempt, a permanent
///                        |    mail failure, or an unrenderable entry -> dead (+ an operator event)
/// ```
///
/// The backoff after the n-th failed attempt is `base × 2^(n−1)`, capped; the defaults
/// ([`DispatchConfig::default`]) are 8 attempts, 30 s doubling to at most 1 h. Every attempt
/// of one entry carries the same [`EmailMessage::idempotency_key`](admin_mfa_ports::EmailMessage)
/// (the notification's dedupe key), so receivers can drop the duplicates an at-least-once
/// delivery may produce (a send that succeeded but whose `mark_sent` was lost).
///
/// A mailer that panics is caught: the attempt counts as a transient failure and the
/// dispatcher carries on. A mailer that hangs is cut off by [`DispatchConfig::send_timeout`].
/// Sends within a batch run one after another; a lease lasts long enough for a whole batch
/// of timeouts (checked when the configuration is built), and several dispatchers (one per
/// replica) may run at once, since the store never leases one entry twice.
///
/// Logs carry outbox ids, admin ids and kinds only: never a token, link, body or address.
///
/// ```
/// use admin_mfa::{DispatchConfig, EmailConfig, EmailRenderer, dispatch};
/// use admin_mfa_lifecycle::{
///     AdminId, DedupeKey, Email, KeyId, KeyRing, Notification, NotificationKind, OrgId,
///     SealingKey, UnixTime,
/// };
/// use admin_mfa_memory::{ManualClock, MemoryStore, RecordingMailer};
/// use admin_mfa_ports::{AdminStore, Change};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// let mailer = RecordingMailer::new();
/// let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
/// let keys = KeyRing::new(SealingKey::new(KeyId::new(1), [7; 32]));
/// let renderer = EmailRenderer::new(EmailConfig::builder("Acme", "https://admin.acme.example/mfa").build()?);
///
/// // A state change queued a confirmation email in its commit.
/// let admin = AdminId::from_bytes([1; 16]);
/// store.commit(Change::new().notify([Notification {
///     kind: NotificationKind::SetupCompleted,
///     org: OrgId::from_bytes([2; 16]),
///     admin,
///     to: Email::parse("ada@acme.example")?,
///     display_name: "Ada".to_owned(),
///     link: None,
///     link_purpose: None,
///     link_expires_at: None,
///     created_at: UnixTime::from_secs(1_700_000_000),
///     dedupe_key: DedupeKey::new(admin, NotificationKind::SetupCompleted, "epoch-1"),
///     detail: None,
/// }])).await?;
///
/// mailer.fail_next(1); // the first attempt fails: retried 30 s later
/// let config = DispatchConfig::default();
/// let report = dispatch(&store, &mailer, &clock, &keys, &renderer, &config).await?;
/// assert_eq!((report.sent, report.retried), (0, 1));
/// clock.advance(30);
/// let report = dispatch(&store, &mailer, &clock, &keys, &renderer, &config).await?;
/// assert_eq!(report.sent, 1);
/// assert_eq!(mailer.sent()[0].subject, "Multi-factor authentication is set up for Acme");
/// # Ok(())
/// # }
/// ```
///
/// Leases up to [`DispatchConfig::batch_size`] due entries at a time, until none is due or
/// [`DispatchConfig::max_batches`] batches are done. Each entry is marked sent, retried at
/// `now + backoff(attempts)` or dead. Run it periodically (every few seconds) from one task
/// per replica.
///
/// # Errors
///
/// A [`DispatchError`] if leasing fails ([`DispatchFailure::Store`]); failures to mark
/// single entries are counted in [`DispatchReport::mark_errors`] instead, and those entries
/// come back when their lease expires. Outside a tokio runtime, or on one built without
/// `enable_time` (the send timeout needs its timer), the run stops before leasing anything
/// with [`DispatchFailure::NoTimeDriver`]. Tokio has no query for its time driver, so the
/// check builds a timer inside `catch_unwind`: tokio's refusal is caught (the panic hook may
/// still print it), provided the build unwinds on panic (not `panic = "abort"`). A panicking
/// mailer is caught as well.
pub async fn dispatch(
    store: &dyn AdminStore,
    mailer: &dyn Mailer,
    clock: &dyn Clock,
    keys: &dyn KeyProvider,
    renderer: &EmailRenderer,
    config: &DispatchConfig,
) -> Result<DispatchReport, DispatchError> {
    let mut report = DispatchReport::default();
    if !timer_available() {
        tracing::error!("outbox dispatch needs a tokio runtime with a time driver");
        return Err(DispatchError {
            report,
            source: DispatchFailure::NoTimeDriver,
        });
    }
    for _ in 0..config.max_batches {
        let now = clock.now();
        let batch = match store
            .lease_outbox(now, config.lease_secs, config.batch_size)
            .await
        {
            Ok(batch) => batch,
            Err(source) => {
                return Err(DispatchError {
                    report,
                    source: DispatchFailure::Store(source),
                });
            }
        };
        if batch.is_empty() {
            log_summary(&report);
            return Ok(report);
        }
        report.batches += 1;
        report.leased += batch.len();
        // One key ring per batch: a provider may rotate keys between batches.
        let ring = keys.keys();
        for entry in batch {
            deliver(
                store,
                mailer,
                clock,
                &ring,
                renderer,
                config,
                entry,
                &mut report,
            )
            .await;
        }
    }
    report.more = true;
    log_summary(&report);
    Ok(report)
}

/// Whether the current thread is inside a tokio runtime whose time driver is enabled.
/// Creating a timer without one panics in tokio, and tokio offers no query, so the probe
/// creates one (never polled, so never registered) inside `catch_unwind`.
fn timer_available() -> bool {
    if tokio::runtime::Handle::try_current().is_err() {
        return false;
    }
    std::panic::catch_unwind(|| drop(tokio::time::sleep(Duration::ZERO))).is_ok()
}

fn log_summary(report: &DispatchReport) {
    if report.leased > 0 {
        tracing::info!(
            leased = report.leased,
            sent = report.sent,
            retried = report.retried,
            dead = report.dead.len(),
            lost_leases = report.lost_leases,
            mark_errors = report.mark_errors,
            more = report.more,
            "outbox dispatch run"
        );
    }
}

#[expect(clippy::too_many_arguments, reason = "internal helper of dispatch")]
async fn deliver(
    store: &dyn AdminStore,
    mailer: &dyn Mailer,
    clock: &dyn Clock,
    keys: &KeyRing,
    renderer: &EmailRenderer,
    config: &DispatchConfig,
    entry: OutboxEntry,
    report: &mut DispatchReport,
) {
    let OutboxEntry {
        lease,
        notification,
        attempts,
    } = entry;
    let outcome = match still_due(store, clock, &notification).await {
        Ok(true) => attempt(mailer, keys, renderer, config, &notification).await,
        Ok(false) => {
            match store.mark_sent(lease).await {
                Ok(()) => {
                    report.dropped += 1;
                    tracing::info!(
                        outbox = lease.id.0,
                        admin = %notification.admin,
                        kind = notification.kind.as_str(),
                        "outbox reminder no longer applies; dropped"
                    );
                }
                Err(err) => note_mark_error(lease, &err, report),
            }
            return;
        }
        Err(reason) => Err(reason),
    };
    let n = &notification;
    if let Err(reason) = outcome {
        report.failures.push(AttemptFailure {
            outbox: lease.id,
            admin: n.admin,
            kind: n.kind,
            attempt: attempts,
            reason,
        });
    }
    let marked = match outcome {
        Ok(()) => {
            let marked = store.mark_sent(lease).await;
            if marked.is_ok() {
                report.sent += 1;
                tracing::debug!(
                    outbox = lease.id.0,
                    admin = %n.admin,
                    kind = n.kind.as_str(),
                    attempts,
                    "outbox email sent"
                );
            }
            marked
        }
        Err(reason) if reason.is_retryable() && attempts < config.max_attempts => {
            let retry_at = clock
                .now()
                .saturating_add_secs(config.backoff_secs(attempts));
            let marked = store.mark_retry(lease, retry_at).await;
            if marked.is_ok() {
                report.retried += 1;
                tracing::info!(
                    outbox = lease.id.0,
                    admin = %n.admin,
                    kind = n.kind.as_str(),
                    attempts,
                    reason = reason.as_str(),
                    retry_at = retry_at.as_secs(),
                    "outbox email failed, will retry"
                );
            }
            marked
        }
        Err(reason) => {
            let marked = store.mark_dead(lease).await;
            if marked.is_ok() {
                let dead = DeadLetter {
                    outbox: lease.id,
                    org: n.org,
                    admin: n.admin,
                    kind: n.kind,
                    attempts,
                    reason,
                };
                tracing::error!(
                    outbox = dead.outbox.0,
                    org = %dead.org,
                    admin = %dead.admin,
                    kind = dead.kind.as_str(),
                    attempts,
                    reason = reason.as_str(),
                    "outbox email is dead: operator action needed"
                );
                report.dead.push(dead);
            }
            marked
        }
    };
    if let Err(err) = marked {
        note_mark_error(lease, &err, report);
    }
}

fn note_mark_error(lease: Lease, err: &StoreError, report: &mut DispatchReport) {
    if matches!(err, StoreError::Conflict(ConflictKind::Lease)) {
        report.lost_leases += 1;
        tracing::warn!(outbox = lease.id.0, "outbox lease lost before marking");
    } else {
        report.mark_errors += 1;
        tracing::warn!(outbox = lease.id.0, error = %err, "outbox mark failed");
    }
}

/// Whether `n` is still worth sending. Every message is, except a set-up reminder whose
/// deadline no longer applies when it comes due: the admin is gone, has set MFA up, is no
/// longer required, or has another deadline now (DL-3). One store read per reminder.
async fn still_due(
    store: &dyn AdminStore,
    clock: &dyn Clock,
    n: &Notification,
) -> Result<bool, FailureReason> {
    if n.kind != NotificationKind::SetupReminder {
        return Ok(true);
    }
    let Some(NotificationDetail::SetupDue { by }) = n.detail else {
        return Ok(false);
    };
    let admin = store
        .admin(n.org, n.admin)
        .await
        .map_err(|_| FailureReason::StoreRead)?;
    Ok(admin.is_some_and(|a| a.value.mfa.setup_deadline_after(clock.now()) == Some(by)))
}

/// One delivery attempt: open the link, render, send with a timeout, catching panics.
async fn attempt(
    mailer: &dyn Mailer,
    keys: &KeyRing,
    renderer: &EmailRenderer,
    config: &DispatchConfig,
    n: &Notification,
) -> Result<(), FailureReason> {
    let token = match (link_purpose_of(n.kind), &n.link, n.link_purpose) {
        (Some(purpose), Some(sealed), Some(stored)) if stored == purpose => Some(
            sealed
                .open_link_token(keys, n.admin, purpose)
                .map_err(|_| FailureReason::SealedLink)?,
        ),
        (None, _, _) => None,
        _ => return Err(FailureReason::Unrenderable),
    };
    let message = renderer
        .render(n, token.as_ref())
        .map_err(|_| FailureReason::Unrenderable)?;
    drop(token);
    let send = CatchUnwind(mailer.send(&message));
    match tokio::time::timeout(config.send_timeout, send).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(err))) => Err(match err {
            MailError::Timeout => FailureReason::Timeout,
            e if e.is_retryable() => FailureReason::MailTransient,
            _ => FailureReason::MailPermanent,
        }),
        Ok(Err(Panicked)) => Err(FailureReason::MailerPanicked),
        Err(_elapsed) => Err(FailureReason::Timeout),
    }
}

/// The inner future panicked.
struct Panicked;

/// Polls a future inside `catch_unwind`, turning a panic into `Err(Panicked)`.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Panicked>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(Panicked)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_backoff() {
        let c = DispatchConfig::default();
        assert_eq!(DispatchConfig::builder().build().unwrap(), c);
        let secs: Vec<u64> = (1..=9).map(|n| c.backoff_after(n).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(c.backoff_after(0).as_secs(), 30);
        assert_eq!(c.backoff_after(u32::MAX).as_secs(), 3600);
        assert!(c.lease_secs() >= c.needed_lease_secs());
    }

    #[test]
    fn invalid_configs() {
        let b = DispatchConfig::builder;
        assert_eq!(
            b().max_attempts(0).build(),
            Err(DispatchConfigError::MaxAttempts)
        );
        assert_eq!(
            b().max_attempts(101).build(),
            Err(DispatchConfigError::MaxAttempts)
        );
        let s = Duration::from_secs;
        assert_eq!(
            b().backoff(s(0), s(10)).build(),
            Err(DispatchConfigError::Backoff)
        );
        assert_eq!(
            b().backoff(s(20), s(10)).build(),
            Err(DispatchConfigError::Backoff)
        );
        assert_eq!(
            b().backoff(s(1), s(86_401)).build(),
            Err(DispatchConfigError::Backoff)
        );
        assert_eq!(
            b().send_timeout(Duration::ZERO).build(),
            Err(DispatchConfigError::SendTimeout)
        );
        assert_eq!(
            b().send_timeout(s(301)).build(),
            Err(DispatchConfigError::SendTimeout)
        );
        assert_eq!(
            b().batch_size(0).build(),
            Err(DispatchConfigError::BatchSize)
        );
        assert_eq!(
            b().max_batches(0).build(),
            Err(DispatchConfigError::MaxBatches)
        );
        assert!(matches!(
            b().lease_secs(10).build(),
            Err(DispatchConfigError::LeaseTooShort { .. })
        ));
        // Without an explicit lease, a big batch stretches the default lease.
        let big = b().batch_size(1000).build().unwrap();
        assert!(big.lease_secs() >= 1000 * 11);
    }
}
