//! Outbox dispatch: T-FLT-4, T-FLT-6, T-LOAD-5, sealed-link failures, log hygiene, and an
//! end-to-end run from a lifecycle command to a recorded email.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use admin_mfa::{
    DispatchConfig, DispatchReport, EmailConfig, EmailRenderer, FailureReason, dispatch,
};
use admin_mfa_lifecycle::{
    Admin, AdminId, BuiltinRole, Command, DecideContext, DedupeKey, Email, Fresh, KeyId, KeyRing,
    LifecycleConfig, LinkPurpose, LinkToken, MfaState, Nonce, Notification, NotificationKind,
    OrgId, PasswordHash, Sealed, SealingKey, UnixTime, execute, notifications,
};
use admin_mfa_memory::{ManualClock, MemoryStore, RecordingMailer};
use admin_mfa_ports::{AdminStore, Change, EmailMessage, MailError, Mailer, OutboxStats};
use async_trait::async_trait;

const T0: u64 = 1_700_000_000;
const BASE: &str = "https://admin.acme.example/mfa/link";

fn renderer() -> EmailRenderer {
    EmailRenderer::new(EmailConfig::builder("Acme Admin", BASE).build().unwrap())
}

fn ring() -> KeyRing {
    KeyRing::new(SealingKey::new(KeyId::new(1), [7; 32]))
}

fn config() -> DispatchConfig {
    DispatchConfig::builder()
        .max_attempts(4)
        .send_timeout(Duration::from_millis(100))
        .build()
        .unwrap()
}

fn admin_id(n: u32) -> AdminId {
    let mut b = [0_u8; 16];
    b[..4].copy_from_slice(&n.to_be_bytes());
    b[15] = 1;
    AdminId::from_bytes(b)
}

fn org() -> OrgId {
    OrgId::from_bytes([0x0a; 16])
}

/// A confirmation email (no link) for admin `n`.
fn plain(n: u32) -> Notification {
    let admin = admin_id(n);
    Notification {
        kind: NotificationKind::SetupCompleted,
        org: org(),
        admin,
        to: Email::parse(&format!("admin{n}@acme.example")).unwrap(),
        display_name: format!("Admin {n}"),
        link: None,
        link_purpose: None,
        link_expires_at: None,
        created_at: UnixTime::from_secs(T0),
        dedupe_key: DedupeKey::new(admin, NotificationKind::SetupCompleted, "epoch-1"),
        detail: None,
    }
}

/// A reset email for admin `n` whose token is sealed under `key`.
fn with_link(n: u32, key: &SealingKey, token: &LinkToken) -> Notification {
    let admin = admin_id(n);
    let sealed = Sealed::seal_link_token(
        key,
        Nonce::from_bytes([n as u8; 12]),
        admin,
        LinkPurpose::Reset,
        token,
    )
    .unwrap();
    Notification {
        kind: NotificationKind::ResetRequested,
        link: Some(sealed),
        link_purpose: Some(LinkPurpose::Reset),
        link_expires_at: Some(UnixTime::from_secs(T0 + 3600)),
        dedupe_key: DedupeKey::new(admin, NotificationKind::ResetRequested, "tok"),
        detail: None,
        ..plain(n)
    }
}

struct World {
    store: MemoryStore,
    mailer: RecordingMailer,
    clock: ManualClock,
    keys: KeyRing,
    renderer: EmailRenderer,
    config: DispatchConfig,
}

impl World {
    fn new() -> Self {
        Self {
            store: MemoryStore::new(),
            mailer: RecordingMailer::new(),
            clock: ManualClock::new(UnixTime::from_secs(T0)),
            keys: ring(),
            renderer: renderer(),
            config: config(),
        }
    }

    async fn queue(&self, notifications: Vec<Notification>) {
        self.store
            .commit(Change::new().notify(notifications))
            .await
            .unwrap();
    }

    async fn run_with(&self, mailer: &dyn Mailer) -> DispatchReport {
        dispatch(
            &self.store,
            mailer,
            &self.clock,
            &self.keys,
            &self.renderer,
            &self.config,
        )
        .await
        .unwrap()
    }

    async fn run(&self) -> DispatchReport {
        self.run_with(&self.mailer).await
    }

    async fn stats(&self) -> OutboxStats {
        self.store.outbox_stats().await.unwrap()
    }

    fn at(&self, secs_after_t0: u64) {
        self.clock.set(UnixTime::from_secs(T0 + secs_after_t0));
    }
}

fn stats(pending: u64, sent: u64, dead: u64) -> OutboxStats {
    OutboxStats {
        pending,
        sent,
        dead,
    }
}

/// Records the idempotency key of every attempt, then delegates.
struct KeyRecorder<'a> {
    inner: &'a RecordingMailer,
    keys: Mutex<Vec<DedupeKey>>,
}

#[async_trait]
impl Mailer for KeyRecorder<'_> {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        self.keys
            .lock()
            .unwrap()
            .push(message.idempotency_key.clone());
        self.inner.send(message).await
    }
}

/// T-FLT-4: a failing mailer leaves the entry pending at attempt 1 with a backoff; retries
/// go on until success; exactly one send is recorded; the idempotency key never changes.
#[tokio::test]
async fn t_flt_4_failures_back_off_and_retry_until_sent() {
    let w = World::new();
    let n = plain(1);
    w.queue(vec![n.clone()]).await;
    let recorder = KeyRecorder {
        inner: &w.mailer,
        keys: Mutex::new(Vec::new()),
    };
    w.mailer.fail_next(3);

    // Attempt 1 fails: pending, due again after 30 s.
    let r = w.run_with(&recorder).await;
    assert_eq!((r.leased, r.sent, r.retried), (1, 0, 1));
    assert_eq!(r.failures.len(), 1);
    assert_eq!(r.failures[0].attempt, 1);
    assert_eq!(r.failures[0].reason, FailureReason::MailTransient);
    assert_eq!(w.stats().await, stats(1, 0, 0));

    // Backoff doubles: due at +30, then +30+60, then +90+120.
    let mut failed_at = 0;
    for (attempt, backoff) in [(2, 30), (3, 60), (4, 120)] {
        w.at(failed_at + backoff - 1);
        let early = w.run_with(&recorder).await;
        assert_eq!(
            early.leased, 0,
            "attempt {attempt} leased before its backoff"
        );
        w.at(failed_at + backoff);
        let r = w.run_with(&recorder).await;
        assert_eq!(r.leased, 1);
        if attempt < 4 {
            assert_eq!((r.sent, r.retried), (0, 1));
            assert_eq!(r.failures[0].attempt, attempt);
        } else {
            assert_eq!((r.sent, r.retried), (1, 0));
        }
        failed_at += backoff;
    }
    assert_eq!(w.stats().await, stats(0, 1, 0));
    assert_eq!(w.mailer.attempts(), 4);
    let sent = w.mailer.sent();
    assert_eq!(sent.len(), 1, "exactly one delivered message");
    assert_eq!(sent[0].idempotency_key, n.dedupe_key);
    let keys = recorder.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 4);
    assert!(keys.iter().all(|k| *k == n.dedupe_key), "stable key");

    // Nothing left to do; a duplicate of the same notification is dropped by the outbox.
    w.at(10_000);
    assert_eq!(w.run().await.leased, 0);
    let receipt = w.store.commit(Change::new().notify([n])).await.unwrap();
    assert_eq!(receipt.deduplicated, 1);
}

/// A mailer that panics on its first `n` calls, then delegates.
struct Panicky<'a> {
    panics_left: AtomicUsize,
    inner: &'a RecordingMailer,
}

#[async_trait]
impl Mailer for Panicky<'_> {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        let left = self.panics_left.load(Ordering::SeqCst);
        if left > 0 {
            self.panics_left.store(left - 1, Ordering::SeqCst);
            panic!("mailer bug");
        }
        self.inner.send(message).await
    }
}

/// T-FLT-6: a hanging mailer is cut off; a panicking one is caught; after the last attempt
/// the entry is dead and reported.
#[tokio::test]
async fn t_flt_6_hang_times_out_and_returns_to_pending() {
    let w = World::new();
    w.queue(vec![plain(1)]).await;
    w.mailer.hang_next(1);
    let r = w.run().await;
    assert_eq!((r.sent, r.retried), (0, 1));
    assert_eq!(r.failures[0].reason, FailureReason::Timeout);
    assert_eq!(w.stats().await, stats(1, 0, 0));
    w.at(30);
    let r = w.run().await;
    assert_eq!(r.sent, 1);
    assert_eq!(w.mailer.sent().len(), 1);
}

#[tokio::test]
async fn t_flt_6_panicking_mailer_is_caught() {
    let w = World::new();
    w.queue(vec![plain(1), plain(2)]).await;
    let panicky = Panicky {
        panics_left: AtomicUsize::new(1),
        inner: &w.mailer,
    };
    let r = w.run_with(&panicky).await;
    // The panic cost one attempt of one entry; the other entry went out in the same run.
    assert_eq!((r.leased, r.sent, r.retried), (2, 1, 1));
    assert_eq!(r.failures[0].reason, FailureReason::MailerPanicked);
    w.at(30);
    let r = w.run_with(&panicky).await;
    assert_eq!(r.sent, 1);
    assert_eq!(w.stats().await, stats(0, 2, 0));
}

#[tokio::test]
async fn t_flt_6_last_attempt_is_dead_with_an_operator_event() {
    let w = World::new();
    w.queue(vec![plain(1)]).await;
    w.mailer.fail_next(10);
    let capture = LogCapture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let mut dead = Vec::new();
    let mut now = 0;
    for attempt in 1..=4 {
        w.at(now);
        let r = w.run().await;
        assert_eq!(r.leased, 1, "attempt {attempt}");
        now += w.config.backoff_after(attempt).as_secs();
        dead.extend(r.dead);
    }
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 4);
    assert_eq!(dead[0].reason, FailureReason::MailTransient);
    assert_eq!(dead[0].admin, admin_id(1));
    assert_eq!(dead[0].kind, NotificationKind::SetupCompleted);
    assert_eq!(w.stats().await, stats(0, 0, 1));
    // Dead entries are never leased again.
    w.at(1_000_000);
    assert_eq!(w.run().await.leased, 0);
    assert_eq!(w.mailer.attempts(), 4);
    // The operator event: one error-level record, naming ids only.
    let lines = capture.lines();
    let errors: Vec<_> = lines.iter().filter(|l| l.starts_with("ERROR")).collect();
    assert_eq!(errors.len(), 1, "{lines:#?}");
    assert!(errors[0].contains("dead"));
    assert!(errors[0].contains(&admin_id(1).to_string()));
    assert!(!errors[0].contains("admin1@acme.example"));
}

#[tokio::test]
async fn permanent_failures_are_dead_at_once() {
    let w = World::new();
    w.queue(vec![plain(1)]).await;
    w.mailer.fail_permanently_next(1);
    let r = w.run().await;
    assert_eq!(r.dead.len(), 1);
    assert_eq!(r.dead[0].attempts, 1);
    assert_eq!(r.dead[0].reason, FailureReason::MailPermanent);
    assert_eq!(w.stats().await, stats(0, 0, 1));
}

#[tokio::test]
async fn unrenderable_entries_are_dead_at_once() {
    let w = World::new();
    let mut broken = with_link(
        1,
        &SealingKey::new(KeyId::new(1), [7; 32]),
        &LinkToken::from_bytes([1; 32]),
    );
    broken.link = None;
    let mut mismatched = with_link(
        2,
        &SealingKey::new(KeyId::new(1), [7; 32]),
        &LinkToken::from_bytes([2; 32]),
    );
    mismatched.link_purpose = Some(LinkPurpose::Setup);
    w.queue(vec![broken, mismatched]).await;
    let r = w.run().await;
    assert_eq!(r.dead.len(), 2);
    assert!(
        r.dead
            .iter()
            .all(|d| d.reason == FailureReason::Unrenderable)
    );
    assert_eq!(w.mailer.attempts(), 0, "nothing was sent");
}

/// A sealed link whose key is missing or wrong is retried (never a panic, never a token in
/// the logs), and goes out once the right key is back.
#[tokio::test]
async fn sealed_link_with_a_missing_or_wrong_key_is_retried() {
    let token = LinkToken::from_bytes([0x42; 32]);
    let rotated = SealingKey::new(KeyId::new(2), [8; 32]);
    let mut w = World::new();
    // Sealed under key 2, which the dispatcher's ring lacks; and under a key 1 with the
    // wrong bytes.
    w.queue(vec![
        with_link(1, &rotated, &token),
        with_link(2, &SealingKey::new(KeyId::new(1), [0xee; 32]), &token),
    ])
    .await;
    let capture = LogCapture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let r = w.run().await;
    assert_eq!((r.sent, r.retried), (0, 2));
    assert!(
        r.failures
            .iter()
            .all(|f| f.reason == FailureReason::SealedLink)
    );
    assert_eq!(w.mailer.attempts(), 0);

    // The rotated key comes back: entry 1 goes out with the right link.
    w.keys = ring().with_previous(rotated);
    w.at(30);
    let r = w.run().await;
    assert_eq!((r.sent, r.retried), (1, 1));
    let sent = w.mailer.sent();
    assert!(sent[0].text.contains(token.encode().as_str()));

    let raw = token.encode().to_string();
    let lines = capture.lines();
    // The capture saw the retries, so the scan below has lines to look at.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("outbox email failed, will retry")),
        "{lines:#?}"
    );
    for line in lines {
        assert!(!line.contains(&raw), "token in log: {line}");
        assert!(!has_secret_like_run(&line), "{line}");
    }
}

/// T-LOAD-5: 10 000 entries drain in batches, each delivered once.
#[tokio::test]
async fn t_load_5_ten_thousand_rows_drain_in_batches() {
    let mut w = World::new();
    w.config = DispatchConfig::builder()
        .batch_size(100)
        .max_batches(1_000)
        .build()
        .unwrap();
    let all: Vec<Notification> = (0..10_000).map(plain).collect();
    for chunk in all.chunks(1_000) {
        w.queue(chunk.to_vec()).await;
    }
    assert_eq!(w.stats().await, stats(10_000, 0, 0));
    let r = w.run().await;
    assert_eq!(r.sent, 10_000);
    assert_eq!(r.leased, 10_000);
    assert_eq!(r.batches, 100, "leased 100 at a time");
    assert!(!r.more);
    assert_eq!(w.stats().await, stats(0, 10_000, 0));
    let sent = w.mailer.sent();
    assert_eq!(sent.len(), 10_000);
    let mut keys: Vec<_> = sent.iter().map(|m| m.idempotency_key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 10_000, "each entry delivered once");

    // A run is bounded by max_batches and says when it stopped early.
    let mut w2 = World::new();
    w2.config = DispatchConfig::builder()
        .batch_size(10)
        .max_batches(3)
        .build()
        .unwrap();
    w2.queue((0..50).map(plain).collect()).await;
    let r = w2.run().await;
    assert_eq!((r.sent, r.batches, r.more), (30, 3, true));
}

/// End to end: a lifecycle command queues a setup invitation with a sealed token in the
/// same commit as the admin; the dispatcher opens it and sends a link with the raw token on
/// the configured base URL, and nothing secret.
#[tokio::test]
async fn e2e_committed_invitation_is_delivered_with_its_link() {
    let w = World::new();
    let now = UnixTime::from_secs(T0);
    let id = admin_id(7);
    let mut admin = Admin::new(admin_mfa_lifecycle::AdminProfile {
        id,
        org: org(),
        email: Email::parse("grace@acme.example").unwrap(),
        display_name: "Grace <b>Hopper</b>".to_owned(),
        role: BuiltinRole::Administrator.into(),
        password_hash: PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        created_at: now,
    });
    let lifecycle = LifecycleConfig::default();
    let fresh = Fresh::new(
        LinkToken::from_bytes([0x5c; 32]),
        Nonce::from_bytes([1; 12]),
    );
    let raw = fresh.token().encode().to_string();
    let ctx = DecideContext::new(id, &lifecycle, &w.keys);
    let (state, events) = execute(
        &MfaState::new(),
        Command::Enable {
            by: Some(admin_id(1)),
            fresh,
        },
        now,
        &ctx,
    )
    .unwrap();
    admin.mfa = state;
    let outbox = notifications(&admin, &events, now, 1);
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].kind, NotificationKind::SetupInvitation);
    w.store
        .commit(Change::new().insert(admin.clone()).notify(outbox.clone()))
        .await
        .unwrap();

    let capture = LogCapture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let r = w.run().await;
    assert_eq!(r.sent, 1);

    let sent = w.mailer.sent();
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert_eq!(m.to.as_str(), "grace@acme.example");
    assert_eq!(m.idempotency_key, outbox[0].dedupe_key);
    let link = format!("{BASE}?purpose=setup&token={raw}");
    assert!(m.text.contains(&link));
    assert!(m.html.contains(&link.replace('&', "&amp;")));
    assert!(m.html.contains("Grace &lt;b&gt;Hopper&lt;/b&gt;"));
    // The token in the email is the one whose hash the admin's pending link holds.
    let token = LinkToken::parse(&raw).unwrap();
    let stored = w.store.admin(org(), id).await.unwrap().unwrap();
    assert_eq!(stored.value.mfa.token_hash(), Some(&token.hash()));
    assert_eq!(stored.value, admin, "dispatch changes no admin state");
    for body in [&m.text, &m.html] {
        assert!(!body.contains("otpauth"));
        assert!(!body.contains("secret="));
        assert!(!body.contains(&token.hash().to_hex()));
        assert!(!body.contains("argon2"));
    }
    // The logs name ids, never the token, the link or the address.
    let lines = capture.lines();
    assert!(lines.iter().any(|l| l.contains("outbox email sent")));
    for line in lines {
        assert!(!line.contains(&raw), "{line}");
        assert!(!line.contains(BASE), "{line}");
        assert!(!line.contains("grace@acme.example"), "{line}");
        assert!(!has_secret_like_run(&line), "{line}");
    }
}

/// T-LOG-1's scan: a run of 26 or more base32 or base64url characters looks like a secret
/// or a token.
fn has_secret_like_run(line: &str) -> bool {
    let mut run = 0;
    for c in line.chars() {
        run = if c.is_ascii_alphanumeric() || c == '_' {
            run + 1
        } else {
            0
        };
        if run >= 26 {
            return true;
        }
    }
    false
}

/// A store that fails to lease: the run ends with the error and the report so far.
#[tokio::test]
async fn lease_failure_is_an_error_with_the_partial_report() {
    let w = World::new();
    let store = FailingLease {
        inner: &w.store,
        fail_after: AtomicUsize::new(1),
    };
    w.queue(vec![plain(1)]).await;
    let cfg = DispatchConfig::builder().batch_size(1).build().unwrap();
    let err = dispatch(&store, &w.mailer, &w.clock, &w.keys, &w.renderer, &cfg)
        .await
        .unwrap_err();
    assert_eq!(err.report.sent, 1);
    assert!(err.to_string().contains("outbox dispatch stopped"));
}

/// Delegates to a memory store, but fails `lease_outbox` after `fail_after` calls.
struct FailingLease<'a> {
    inner: &'a MemoryStore,
    fail_after: AtomicUsize,
}

#[derive(Debug, thiserror::Error)]
#[error("lease backend down")]
struct LeaseDown;

#[async_trait]
impl AdminStore for FailingLease<'_> {
    async fn admin(
        &self,
        org: OrgId,
        id: AdminId,
    ) -> Result<Option<admin_mfa_ports::Versioned<Admin>>, admin_mfa_ports::StoreError> {
        self.inner.admin(org, id).await
    }
    async fn admin_by_email(
        &self,
        org: OrgId,
        email: &Email,
    ) -> Result<Option<admin_mfa_ports::Versioned<Admin>>, admin_mfa_ports::StoreError> {
        self.inner.admin_by_email(org, email).await
    }
    async fn admin_by_token(
        &self,
        hash: &admin_mfa_ports::TokenHash,
    ) -> Result<Option<admin_mfa_ports::Versioned<Admin>>, admin_mfa_ports::StoreError> {
        self.inner.admin_by_token(hash).await
    }
    async fn count_without_mfa_required(
        &self,
        org: OrgId,
    ) -> Result<u64, admin_mfa_ports::StoreError> {
        self.inner.count_without_mfa_required(org).await
    }
    async fn list_without_mfa_required(
        &self,
        org: OrgId,
        page: admin_mfa_ports::PageRequest<Email>,
    ) -> Result<
        admin_mfa_ports::Page<admin_mfa_ports::AdminSummary, Email>,
        admin_mfa_ports::StoreError,
    > {
        self.inner.list_without_mfa_required(org, page).await
    }
    async fn list_admins(
        &self,
        org: OrgId,
        page: admin_mfa_ports::PageRequest<Email>,
    ) -> Result<admin_mfa_ports::Page<Admin, Email>, admin_mfa_ports::StoreError> {
        self.inner.list_admins(org, page).await
    }
    async fn count_with_role(
        &self,
        org: OrgId,
        role: &admin_mfa_ports::Role,
    ) -> Result<u64, admin_mfa_ports::StoreError> {
        self.inner.count_with_role(org, role).await
    }
    async fn commit(
        &self,
        change: Change,
    ) -> Result<admin_mfa_ports::CommitReceipt, admin_mfa_ports::StoreError> {
        self.inner.commit(change).await
    }
    async fn audit_log(
        &self,
        org: OrgId,
        page: admin_mfa_ports::PageRequest<admin_mfa_ports::AuditCursor>,
    ) -> Result<admin_mfa_ports::AuditPage, admin_mfa_ports::StoreError> {
        self.inner.audit_log(org, page).await
    }
    async fn lease_outbox(
        &self,
        now: UnixTime,
        lease_secs: u64,
        max: usize,
    ) -> Result<Vec<admin_mfa_ports::OutboxEntry>, admin_mfa_ports::StoreError> {
        if self.fail_after.load(Ordering::SeqCst) == 0 {
            return Err(admin_mfa_ports::StoreError::backend(LeaseDown));
        }
        self.fail_after.fetch_sub(1, Ordering::SeqCst);
        self.inner.lease_outbox(now, lease_secs, max).await
    }
    async fn mark_sent(
        &self,
        lease: admin_mfa_ports::Lease,
    ) -> Result<(), admin_mfa_ports::StoreError> {
        self.inner.mark_sent(lease).await
    }
    async fn mark_retry(
        &self,
        lease: admin_mfa_ports::Lease,
        retry_at: UnixTime,
    ) -> Result<(), admin_mfa_ports::StoreError> {
        self.inner.mark_retry(lease, retry_at).await
    }
    async fn mark_dead(
        &self,
        lease: admin_mfa_ports::Lease,
    ) -> Result<(), admin_mfa_ports::StoreError> {
        self.inner.mark_dead(lease).await
    }
    async fn outbox_stats(&self) -> Result<OutboxStats, admin_mfa_ports::StoreError> {
        self.inner.outbox_stats().await
    }
}

/// A tracing subscriber that keeps every event as `LEVEL message field=value …`.
#[derive(Clone, Default)]
struct LogCapture {
    lines: Arc<Mutex<Vec<String>>>,
}

impl LogCapture {
    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl tracing::Subscriber for LogCapture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut fields = Fields(String::new());
        span.record(&mut fields);
        self.lines.lock().unwrap().push(format!("SPAN{}", fields.0));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut fields = Fields(String::new());
        values.record(&mut fields);
        self.lines.lock().unwrap().push(format!("SPAN{}", fields.0));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.lines
            .lock()
            .unwrap()
            .push(format!("{}{}", event.metadata().level(), fields.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Two dispatchers (two replicas) on one store: every entry is delivered exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dispatchers_deliver_each_entry_once() {
    let mut w = World::new();
    w.config = DispatchConfig::builder().batch_size(7).build().unwrap();
    w.queue((0..1_000).map(plain).collect()).await;
    let other = RecordingMailer::new();
    let (a, b) = tokio::join!(w.run(), w.run_with(&other));
    assert_eq!(a.sent + b.sent, 1_000);
    assert_eq!(a.lost_leases + b.lost_leases, 0);
    let mut keys: Vec<_> = w
        .mailer
        .sent()
        .into_iter()
        .chain(other.sent())
        .map(|m| m.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 1_000);
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 1_000);
    assert_eq!(w.stats().await, stats(0, 1_000, 0));
}
