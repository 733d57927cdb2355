//! Fault injection (T-FLT): a store failing at each read and each write of each operation,
//! and a mailer failing after the commit.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use admin_mfa::lifecycle::{Admin, AuditEvent, TokenHash};
use admin_mfa::ports::{
    AdminStore, AdminSummary, AuditCursor, AuditPage, Change, CommitReceipt, Lease, OutboxEntry,
    OutboxStats, Page, PageRequest, StoreError, Versioned,
};
use admin_mfa::{
    AdminId, AuditKind, BuiltinRole as R, BulkItem, DispatchConfig, Email, Error, LoginOutcome,
    MfaChallenge, NewAdmin, OrgId, PostureExport, PostureFilter, PostureFormat, Role, UnixTime,
};
use admin_mfa_memory::MemoryStore;
use async_trait::async_trait;

use crate::common::*;

#[derive(Debug, thiserror::Error)]
#[error("injected store failure")]
struct Injected;

/// A store that fails on command: the k-th read or write from now, or every commit that
/// touches one admin.
struct FaultyStore<S> {
    inner: S,
    fail_read_at: AtomicUsize,
    fail_write_at: AtomicUsize,
    reads: AtomicUsize,
    writes: AtomicUsize,
    triggered: AtomicBool,
    poison: Mutex<Option<AdminId>>,
}

impl<S: AdminStore> FaultyStore<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            fail_read_at: AtomicUsize::new(0),
            fail_write_at: AtomicUsize::new(0),
            reads: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
            triggered: AtomicBool::new(false),
            poison: Mutex::new(None),
        }
    }

    /// Fails the `k`-th read (k ≥ 1) from now on, once.
    fn fail_read(&self, k: usize) {
        self.reads.store(0, Ordering::SeqCst);
        self.fail_read_at.store(k, Ordering::SeqCst);
    }

    /// Fails the `k`-th write (k ≥ 1) from now on, once.
    fn fail_write(&self, k: usize) {
        self.writes.store(0, Ordering::SeqCst);
        self.fail_write_at.store(k, Ordering::SeqCst);
    }

    fn triggered(&self) -> bool {
        self.triggered.load(Ordering::SeqCst)
    }

    fn read(&self) -> Result<(), StoreError> {
        let n = self.reads.fetch_add(1, Ordering::SeqCst) + 1;
        if self.fail_read_at.load(Ordering::SeqCst) == n {
            self.fail_read_at.store(0, Ordering::SeqCst);
            self.triggered.store(true, Ordering::SeqCst);
            return Err(StoreError::backend(Injected));
        }
        Ok(())
    }

    fn write(&self, change: Option<&Change>) -> Result<(), StoreError> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if self.fail_write_at.load(Ordering::SeqCst) == n {
            self.fail_write_at.store(0, Ordering::SeqCst);
            self.triggered.store(true, Ordering::SeqCst);
            return Err(StoreError::backend(Injected));
        }
        let poisoned = *self.poison.lock().unwrap();
        if let (Some(bad), Some(change)) = (poisoned, change)
            && change.writes.iter().any(|w| w.admin().id == bad)
        {
            self.triggered.store(true, Ordering::SeqCst);
            return Err(StoreError::backend(Injected));
        }
        Ok(())
    }
}

#[async_trait]
impl<S: AdminStore> AdminStore for FaultyStore<S> {
    async fn admin(&self, org: OrgId, id: AdminId) -> Result<Option<Versioned<Admin>>, StoreError> {
        self.read()?;
        self.inner.admin(org, id).await
    }
    // One read, as the real stores do it: bulk operations fail the way they would there.
    async fn admins(
        &self,
        org: OrgId,
        ids: &[AdminId],
    ) -> Result<Vec<Option<Versioned<Admin>>>, StoreError> {
        self.read()?;
        self.inner.admins(org, ids).await
    }
    async fn admin_by_email(
        &self,
        org: OrgId,
        email: &Email,
    ) -> Result<Option<Versioned<Admin>>, StoreError> {
        self.read()?;
        self.inner.admin_by_email(org, email).await
    }
    async fn admin_by_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Versioned<Admin>>, StoreError> {
        self.read()?;
        self.inner.admin_by_token(hash).await
    }
    async fn count_without_mfa_required(&self, org: OrgId) -> Result<u64, StoreError> {
        self.read()?;
        self.inner.count_without_mfa_required(org).await
    }
    async fn list_without_mfa_required(
        &self,
        org: OrgId,
        page: PageRequest<Email>,
    ) -> Result<Page<AdminSummary, Email>, StoreError> {
        self.read()?;
        self.inner.list_without_mfa_required(org, page).await
    }
    async fn list_admins(
        &self,
        org: OrgId,
        page: PageRequest<Email>,
    ) -> Result<Page<Admin, Email>, StoreError> {
        self.read()?;
        self.inner.list_admins(org, page).await
    }
    async fn count_with_role(&self, org: OrgId, role: &Role) -> Result<u64, StoreError> {
        self.read()?;
        self.inner.count_with_role(org, role).await
    }
    async fn commit(&self, change: Change) -> Result<CommitReceipt, StoreError> {
        self.write(Some(&change))?;
        self.inner.commit(change).await
    }
    async fn audit_log(
        &self,
        org: OrgId,
        page: PageRequest<AuditCursor>,
    ) -> Result<AuditPage, StoreError> {
        self.inner.audit_log(org, page).await
    }
    async fn lease_outbox(
        &self,
        now: UnixTime,
        lease_secs: u64,
        max: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        self.inner.lease_outbox(now, lease_secs, max).await
    }
    async fn mark_sent(&self, lease: Lease) -> Result<(), StoreError> {
        self.inner.mark_sent(lease).await
    }
    async fn mark_retry(&self, lease: Lease, retry_at: UnixTime) -> Result<(), StoreError> {
        self.inner.mark_retry(lease, retry_at).await
    }
    async fn mark_dead(&self, lease: Lease) -> Result<(), StoreError> {
        self.inner.mark_dead(lease).await
    }
    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        self.inner.outbox_stats().await
    }
}

/// Everything observable of an organization: every admin record with its version, the
/// audit log and the outbox counts.
#[derive(Debug, PartialEq)]
struct Snapshot {
    admins: Vec<Option<Versioned<Admin>>>,
    audit: Vec<AuditEvent>,
    outbox: OutboxStats,
}

impl Snapshot {
    /// This snapshot without the traces of password attempts: a password step reserves its
    /// attempt in a write of its own before the hash is checked (RL-8), and a fault after that
    /// write leaves the attempt counted, as it must (an attacker who could cause faults must
    /// not get uncounted guesses). Everything else must be as before.
    fn without_password_attempts(mut self) -> Self {
        for admin in self.admins.iter_mut().flatten() {
            admin.value.mfa.password_failures = Default::default();
            admin.version = admin_mfa::ports::Version::FIRST;
        }
        self.audit
            .retain(|e| !matches!(e.kind, AuditKind::PasswordAttempted { .. }));
        self
    }
}

async fn snapshot(store: &dyn AdminStore, org: OrgId, ids: &[AdminId]) -> Snapshot {
    let mut admins = Vec::new();
    for id in ids {
        admins.push(store.admin(org, *id).await.unwrap());
    }
    Snapshot {
        admins,
        audit: store
            .audit_log(org, PageRequest::first(1000))
            .await
            .unwrap()
            .items,
        outbox: store.outbox_stats().await.unwrap(),
    }
}

struct Rig {
    h: H,
    faulty: Arc<FaultyStore<MemoryStore>>,
}

fn rig() -> Rig {
    let faulty = Arc::new(FaultyStore::new(MemoryStore::new()));
    let h = H::over(Arc::clone(&faulty) as Arc<dyn AdminStore>, |c| c);
    Rig { h, faulty }
}

/// What an operation under test needs, prepared on a healthy store.
struct Prepared {
    awb: AdminId,
    session: Option<admin_mfa::Authenticated>,
    target: AdminId,
    token: Option<String>,
    challenge: Option<MfaChallenge>,
    code: Option<String>,
    proof: Option<admin_mfa::SetupProof>,
}

/// Runs `op` once with the k-th read failing and once with the k-th write failing, for
/// every k until the operation runs clean; each failure must leave the organization's
/// state exactly as it was and queue no e-mail, and report a store error.
async fn at_every_fault<P, O>(name: &str, prepare: P, op: O)
where
    P: AsyncFn(&H) -> Prepared,
    O: AsyncFn(&H, &Prepared) -> Result<(), Error>,
{
    for mode in ["read", "write"] {
        let mut faults = 0;
        for k in 1..50 {
            let rig = rig();
            let prepared = prepare(&rig.h).await;
            let ids = [prepared.awb, prepared.target];
            let before = snapshot(&*rig.h.store, rig.h.org, &ids).await;
            if mode == "read" {
                rig.faulty.fail_read(k);
            } else {
                rig.faulty.fail_write(k);
            }
            let result = op(&rig.h, &prepared).await;
            if !rig.faulty.triggered() {
                result.unwrap_or_else(|e| panic!("{name}: clean run failed: {e:?}"));
                break;
            }
            faults += 1;
            assert!(
                matches!(result, Err(Error::Store(_))),
                "{name}: {mode} fault #{k} gave {result:?}"
            );
            rig.faulty.fail_read(0);
            rig.faulty.fail_write(0);
            let after = snapshot(&*rig.h.store, rig.h.org, &ids).await;
            if name.starts_with("login") || name.starts_with("confirm identity") {
                assert_eq!(
                    before.without_password_attempts(),
                    after.without_password_attempts(),
                    "{name}: {mode} fault #{k} changed more than the reserved attempt"
                );
            } else {
                assert_eq!(before, after, "{name}: {mode} fault #{k} changed state");
            }
        }
        if mode == "write" {
            assert!(faults >= 1, "{name}: no write to fail");
        }
    }
}

async fn base(h: &H) -> Prepared {
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let target = h.seed(2, R::Manager).await;
    let session = Some(h.session(awb).await);
    Prepared {
        awb,
        session,
        target,
        token: None,
        challenge: None,
        code: None,
        proof: None,
    }
}

async fn with_link(h: &H) -> Prepared {
    let mut p = base(h).await;
    let s = p.session.clone().unwrap();
    assert!(h.svc.enable_mfa(&s, p.target).await.unwrap().changed);
    h.deliver().await;
    p.token = Some(h.token_for(p.target).await);
    p
}

async fn with_candidate(h: &H) -> Prepared {
    let mut p = with_link(h).await;
    let token = p.token.clone().unwrap();
    let prov = h
        .svc
        .confirm_identity(&token, email_of(2).as_str(), &password())
        .await
        .unwrap();
    p.code = Some(h.code(&app_secret(&prov.otpauth_uri())));
    p.proof = Some(prov.proof().clone());
    p
}

async fn enrolled_with_challenge(h: &H) -> Prepared {
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let (target, secret) = h.enrolled(2, R::Manager).await;
    h.deliver().await;
    h.advance(30);
    let challenge = h.challenge(target).await;
    let session = Some(h.session(awb).await);
    Prepared {
        awb,
        session,
        target,
        token: None,
        challenge: Some(challenge),
        code: Some(h.code(&secret)),
        proof: None,
    }
}

async fn with_reset_candidate(h: &H) -> Prepared {
    let mut p = enrolled_with_challenge(h).await;
    h.svc
        .request_reset(p.challenge.as_ref().unwrap())
        .await
        .unwrap();
    h.deliver().await;
    let token = h.token_for(p.target).await;
    let prov = h
        .svc
        .confirm_identity(&token, email_of(2).as_str(), &password())
        .await
        .unwrap();
    h.advance(30);
    p.code = Some(h.code(&app_secret(&prov.otpauth_uri())));
    p.proof = Some(prov.proof().clone());
    p.token = Some(token);
    p
}

#[tokio::test]
async fn t_flt_1_every_fault_of_every_operation_leaves_state_unchanged() {
    at_every_fault("enable", base, async |h: &H, p: &Prepared| {
        let s = p.session.as_ref().unwrap();
        h.svc.enable_mfa(s, p.target).await.map(|_| ())
    })
    .await;
    at_every_fault(
        "confirm identity",
        with_link,
        async |h: &H, p: &Prepared| {
            let token = p.token.as_deref().unwrap();
            h.svc
                .confirm_identity(token, email_of(2).as_str(), &password())
                .await
                .map(|_| ())
        },
    )
    .await;
    at_every_fault(
        "complete setup",
        with_candidate,
        async |h: &H, p: &Prepared| {
            h.svc
                .complete_setup(
                    p.token.as_deref().unwrap(),
                    p.proof.as_ref().unwrap(),
                    p.code.as_deref().unwrap(),
                )
                .await
                .map(|_| ())
        },
    )
    .await;
    at_every_fault(
        "reset confirm",
        with_reset_candidate,
        async |h: &H, p: &Prepared| {
            h.svc
                .complete_setup(
                    p.token.as_deref().unwrap(),
                    p.proof.as_ref().unwrap(),
                    p.code.as_deref().unwrap(),
                )
                .await
                .map(|_| ())
        },
    )
    .await;
    at_every_fault(
        "verify right",
        enrolled_with_challenge,
        async |h: &H, p: &Prepared| {
            h.svc
                .verify(p.challenge.as_ref().unwrap(), p.code.as_deref().unwrap())
                .await
                .map(|_| ())
        },
    )
    .await;
    at_every_fault(
        "request reset",
        enrolled_with_challenge,
        async |h: &H, p: &Prepared| h.svc.request_reset(p.challenge.as_ref().unwrap()).await,
    )
    .await;
    at_every_fault(
        "admin reset",
        enrolled_with_challenge,
        async |h: &H, p: &Prepared| {
            let s = p.session.as_ref().unwrap();
            h.svc.reset_mfa(s, p.target).await.map(|_| ())
        },
    )
    .await;
    // A bulk item's own failure is covered by t_flt_5: the chunk write is retried admin by
    // admin, so one failed write of a chunk is recovered rather than reported.
    at_every_fault(
        "login, setup required",
        with_link,
        async |h: &H, _: &Prepared| {
            h.advance(3_600);
            match h
                .svc
                .login(h.org, email_of(2).as_str(), &password())
                .await?
            {
                LoginOutcome::SetupRequired(_) => Ok(()),
                other => panic!("unexpected {other:?}"),
            }
        },
    )
    .await;
    at_every_fault("create admin", base, async |h: &H, p: &Prepared| {
        let s = p.session.as_ref().unwrap();
        h.svc
            .create_admin(
                s,
                NewAdmin {
                    email: "new@example.com".into(),
                    display_name: "New".into(),
                    role: role(R::Manager),
                    password: password(),
                },
            )
            .await
            .map(|_| ())
    })
    .await;
    // POS-5: an export whose audit record is not written returns no part of the file.
    at_every_fault("export posture", base, async |h: &H, p: &Prepared| {
        let s = p.session.clone().unwrap();
        let mut export = PostureExport::new(s, PostureFilter::all(), PostureFormat::Csv);
        while export.next_chunk(&h.svc).await?.is_some() {}
        Ok(())
    })
    .await;
}

/// T-FLT-2 / T-FLT-3 / T-FLT-7: a failing store during a code check: not accepted, not
/// counted, the step not consumed; a failed reset-confirm keeps the old secret and the link.
#[tokio::test]
async fn t_flt_2_3_7_code_checks_fail_closed() {
    let rig = rig();
    let h = &rig.h;
    let p = with_reset_candidate(h).await;
    // The active factor, with its secret and last used step, must come out untouched.
    let factor = h.get(p.target).await.mfa.factor;
    rig.faulty.fail_write(1);
    let result = h
        .svc
        .complete_setup(
            p.token.as_deref().unwrap(),
            p.proof.as_ref().unwrap(),
            p.code.as_deref().unwrap(),
        )
        .await;
    assert!(matches!(result, Err(Error::Store(_))));
    // The link still opens and completes; the old factor is still the active one.
    assert!(h.svc.open_link(p.token.as_deref().unwrap()).await.is_ok());
    let admin = h.get(p.target).await;
    assert_eq!(admin.mfa.failures.consecutive, 0);
    assert!(admin.mfa.link.as_ref().unwrap().candidate.is_some());
    // A read failure during verify is a store error, never "invalid code", and counts nothing.
    let challenge = h.challenge(p.target).await;
    rig.faulty.fail_read(1);
    assert!(matches!(
        h.svc.verify(&challenge, "000000").await,
        Err(Error::Store(_))
    ));
    rig.faulty.fail_write(1);
    assert!(matches!(
        h.svc.verify(&challenge, "000000").await,
        Err(Error::Store(_))
    ));
    assert_eq!(h.get(p.target).await.mfa.failures.consecutive, 0);
    assert_eq!(h.get(p.target).await.mfa.factor, factor);
    h.svc
        .complete_setup(
            p.token.as_deref().unwrap(),
            p.proof.as_ref().unwrap(),
            p.code.as_deref().unwrap(),
        )
        .await
        .unwrap();
}

/// T-FLT-5: bulk require of 100 with the store refusing every write of admin #37: the
/// others commit, #37 reports the error, and a re-run converges.
#[tokio::test]
async fn t_flt_5_bulk_continues_past_a_failing_admin_and_converges() {
    let rig = rig();
    let h = &rig.h;
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let mut targets = Vec::new();
    for n in 100..200 {
        targets.push(h.seed(n, R::Manager).await);
    }
    let s = h.session(awb).await;
    let before = h.store.admin(h.org, targets[36]).await.unwrap();
    *rig.faulty.poison.lock().unwrap() = Some(targets[36]);
    let report = h.svc.require_mfa(&s, &targets).await.unwrap();
    for (i, (id, item)) in report.items.iter().enumerate() {
        if i == 36 {
            assert!(
                matches!(item, BulkItem::Failed(Error::Store(_))),
                "{item:?}"
            );
            assert!(!h.get(*id).await.mfa.requirement.is_required());
        } else {
            assert!(matches!(item, BulkItem::Required), "{i}: {item:?}");
            assert!(h.get(*id).await.mfa.requirement.is_required());
        }
    }
    assert_eq!(h.store.admin(h.org, targets[36]).await.unwrap(), before);
    let sent = h.deliver().await;
    assert_eq!(sent.len(), 99);
    assert!(sent.iter().all(|m| m.to.as_str() != email_of(136)));
    *rig.faulty.poison.lock().unwrap() = None;
    let again = h.svc.require_mfa(&s, &targets).await.unwrap();
    assert_eq!(again.newly_required(), 1);
    assert!(again.all_required());
    assert_eq!(h.deliver().await.len(), 1);
}

/// T-FLT-4 / T-FLT-6: the mailer fails after the commit: the state stays, the e-mail is
/// retried with backoff and delivered exactly once; a hanging mailer is cut off by the
/// timeout; a permanent failure ends dead.
#[tokio::test]
async fn t_flt_4_6_mailer_failures_keep_state_and_retry() {
    let dispatch = DispatchConfig::builder()
        .max_attempts(4)
        .backoff(Duration::from_secs(30), Duration::from_secs(600))
        .send_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let h = H::with(|c| c.dispatch(dispatch));
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let target = h.seed(2, R::Manager).await;
    let s = h.session(awb).await;
    h.mailer.fail_next(1);
    h.mailer.hang_next(1);
    assert!(h.svc.enable_mfa(&s, target).await.unwrap().changed);
    let state = h.get(target).await;
    let first = h.svc.dispatch_emails().await.unwrap();
    assert_eq!((first.sent, first.retried), (0, 1));
    assert_eq!(h.outbox().await.pending, 1);
    assert_eq!(
        h.get(target).await,
        state,
        "a mailer failure never touches the state"
    );
    // Not due yet: nothing happens.
    assert_eq!(h.svc.dispatch_emails().await.unwrap().leased, 0);
    h.advance(30);
    let second = h.svc.dispatch_emails().await.unwrap();
    assert_eq!(
        (second.sent, second.retried),
        (0, 1),
        "the hang is timed out"
    );
    h.advance(60);
    let third = h.svc.dispatch_emails().await.unwrap();
    assert_eq!(third.sent, 1);
    assert_eq!(h.mailer.sent().len(), 1);
    assert_eq!(h.mailer.attempts(), 3);
    h.advance(3_600);
    assert_eq!(h.svc.dispatch_emails().await.unwrap().leased, 0);
    assert_eq!(h.mailer.sent().len(), 1, "delivered exactly once");
    // A permanent failure: dead at once.
    h.mailer.fail_permanently_next(1);
    assert!(h.svc.reset_mfa(&s, target).await.unwrap().changed);
    let report = h.svc.dispatch_emails().await.unwrap();
    assert_eq!(report.dead.len(), 1);
    assert_eq!(h.outbox().await.dead, 1);
}

impl<S> FaultyStore<S> {
    /// The reads and writes counted since the last call (counting starts afresh).
    fn take_traffic(&self) -> (usize, usize) {
        (
            self.reads.swap(0, Ordering::SeqCst),
            self.writes.swap(0, Ordering::SeqCst),
        )
    }
}

/// The store traffic of one password step (issue 11 with RL-8): a refused password costs one
/// read and one write (the reservation); a correct one one read and two writes (the
/// reservation before argon2 runs, then everything the password leads to, the rehash
/// included), never a second read, whatever it leads to.
#[tokio::test]
async fn login_reads_once_and_writes_at_most_twice() {
    let rig = rig();
    let h = &rig.h;
    let plain = h.seed(1, R::AdministratorWithBilling).await;
    let setup = h.seed(2, R::Manager).await;
    let session = h.session(plain).await;
    assert!(h.svc.enable_mfa(&session, setup).await.unwrap().changed);
    let (enrolled, _) = h.enrolled(3, R::Manager).await;
    h.deliver().await;
    for (who, id) in [
        ("password only", plain),
        ("set-up required", setup),
        ("enrolled", enrolled),
    ] {
        let email = h.get(id).await.email;
        rig.faulty.take_traffic();
        let outcome = h.svc.login(h.org, email.as_str(), &password()).await;
        assert!(outcome.is_ok(), "{who}: {outcome:?}");
        assert_eq!(
            rig.faulty.take_traffic(),
            (1, 2),
            "{who}: (reads, writes) of a correct password"
        );
        let refused = h
            .svc
            .login(
                h.org,
                email.as_str(),
                &admin_mfa::Password::new("not the password").unwrap(),
            )
            .await;
        assert!(matches!(refused, Err(Error::InvalidCredentials)), "{who}");
        assert_eq!(
            rig.faulty.take_traffic(),
            (1, 1),
            "{who}: (reads, writes) of a wrong password"
        );
    }
    // The link's identity step: the same password step behind a token lookup.
    let linked = h.seed(4, R::Manager).await;
    assert!(h.svc.enable_mfa(&session, linked).await.unwrap().changed);
    h.deliver().await;
    let token = h.token_for(linked).await;
    rig.faulty.take_traffic();
    let provisioning = h
        .svc
        .confirm_identity(&token, email_of(4).as_str(), &password())
        .await;
    assert!(provisioning.is_ok(), "{provisioning:?}");
    assert_eq!(
        rig.faulty.take_traffic(),
        (1, 2),
        "(reads, writes) of a correct identity step"
    );
}
