//! docs/ARCHITECTURE.md §6, the scale-out proof: two `MfaService` instances ("replicas"), each with its
//! own store and connection pool on ONE database, the same keys and configuration. Every
//! once-only guarantee must hold across them because it rests on the database's
//! compare-and-swap: one code is accepted once, failures add up to one lock that holds on
//! both, a link completes once, and each e-mail is sent once. Runs on PostgreSQL (a fresh
//! schema, when configured; required under `ADMIN_MFA_REQUIRE_EXTERNAL=1`) and on a shared
//! SQLite file (always).

use std::sync::Arc;

use admin_mfa::{BuiltinRole as R, Error, LinkPurpose};
use tokio::sync::Barrier;

use crate::backends::{Backend, Guard, Schema, open_sqlite};
use crate::common::*;

/// How many tasks each replica lines up per race.
const TASKS_PER_REPLICA: usize = 4;

/// Two service instances on one database, clocks kept in step.
struct Replicas {
    a: H,
    /// Declared last, so it drops last: it holds the file or schema.
    b: H,
}

impl Replicas {
    fn new(
        a: Arc<dyn admin_mfa::ports::AdminStore>,
        b: Arc<dyn admin_mfa::ports::AdminStore>,
        guard: Guard,
    ) -> Self {
        let a = H::over(a, |c| c);
        let mut b = H::over(b, |c| c);
        b.guard = Some(guard);
        Self { a, b }
    }

    /// Two `SqliteStore`s, each with its own pool, on one database file.
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("shared.db");
        let a = open_sqlite(&path).await;
        let b = open_sqlite(&path).await;
        Self::new(Arc::new(a), Arc::new(b), Box::new(dir))
    }

    /// Two `PostgresStore`s, each with its own pool, on one schema; `None` when skipped.
    async fn postgres(test: &str) -> Option<Self> {
        Backend::Postgres.available(test)?;
        let schema = Schema::fresh().await;
        let a = schema.connect(8).await;
        let b = schema.connect(8).await;
        Some(Self::new(Arc::new(a), Arc::new(b), Box::new(schema)))
    }

    fn advance(&self, secs: u64) {
        self.a.advance(secs);
        self.b.clock.set(self.a.now());
    }

    fn replica(&self, i: usize) -> &H {
        if i.is_multiple_of(2) {
            &self.a
        } else {
            &self.b
        }
    }
}

/// (a) The same valid code sent to both replicas at one instant, over 20 fresh steps:
/// exactly one session per step, every other attempt the generic refusal, and both
/// replicas read the same stored step.
async fn same_code_to_both_replicas_is_accepted_once(r: &Replicas) {
    let (id, secret) = r.a.enrolled(1, R::Manager).await;
    for round in 0..20 {
        r.advance(30);
        let challenges = [
            Arc::new(r.a.challenge(id).await),
            Arc::new(r.b.challenge(id).await),
        ];
        let code = r.a.code(&secret);
        let barrier = Arc::new(Barrier::new(2 * TASKS_PER_REPLICA));
        let mut tasks = Vec::new();
        for i in 0..2 * TASKS_PER_REPLICA {
            let svc = Arc::clone(&r.replica(i).svc);
            let challenge = Arc::clone(&challenges[i % 2]);
            let (code, barrier) = (code.clone(), Arc::clone(&barrier));
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                svc.verify(&challenge, &code).await
            }));
        }
        let mut ok = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(session) => {
                    assert_eq!(session.admin(), id);
                    ok += 1;
                }
                Err(Error::InvalidCode) => {}
                Err(other) => panic!("round {round}: unexpected {other:?}"),
            }
        }
        assert_eq!(ok, 1, "round {round}: one session across both replicas");
        let step = Some(r.a.now().as_secs() / 30);
        for h in [&r.a, &r.b] {
            let admin = h.get(id).await;
            let factor = admin.mfa.active_factor().unwrap();
            assert_eq!(
                factor.last_used_step.map(|s| s.get()),
                step,
                "round {round}"
            );
            assert!(!admin.mfa.is_locked(), "round {round}");
        }
    }
}

/// (b) Wrong codes alternating between the replicas add up in the one stored counter; at
/// the default lock threshold (10) the admin is locked, and afterwards the right code is
/// refused by both.
async fn failures_add_up_across_replicas_and_the_lock_holds_on_both(r: &Replicas) {
    let (id, secret) = r.a.enrolled(2, R::Manager).await;
    for i in 0..10 {
        // Past any delay from the fifth failure on.
        r.advance(600);
        let h = r.replica(i);
        let challenge = h.challenge(id).await;
        assert!(
            matches!(
                h.svc.verify(&challenge, "000000").await,
                Err(Error::InvalidCode)
            ),
            "attempt {i}"
        );
        let seen = r.replica(i + 1).get(id).await.mfa.failures;
        if i < 9 {
            // The other replica sees every failure, its own and this one's.
            assert_eq!(seen.consecutive, i as u32 + 1, "attempt {i}");
            assert!(!seen.locked, "attempt {i}");
        } else {
            assert!(seen.locked, "locked at the tenth failure");
        }
    }
    // Past every failure delay (960 s after ten), so only the lock can refuse the code.
    r.advance(3_600);
    for h in [&r.a, &r.b] {
        assert!(h.get(id).await.mfa.is_locked());
        let challenge = h.challenge(id).await;
        assert!(matches!(
            h.svc.verify(&challenge, &h.code(&secret)).await,
            Err(Error::InvalidCode)
        ));
    }
    assert!(r.a.get(id).await.mfa.is_locked());
}

/// (c) A setup link completed through both replicas at once: one completion, one active
/// factor, one confirmation e-mail; and the outbox dispatched by both at once sends each
/// e-mail once.
async fn one_link_through_both_replicas_completes_once(r: &Replicas) {
    let awb = r.a.seed(3, R::AdministratorWithBilling).await;
    let target = r.a.seed(4, R::Administrator).await;
    let boss = r.a.session(awb).await;
    assert!(r.a.svc.enable_mfa(&boss, target).await.unwrap().changed);
    // Both replicas dispatch the outbox at once: the setup e-mail goes out once.
    let (da, db) = tokio::join!(r.a.svc.dispatch_emails(), r.b.svc.dispatch_emails());
    da.unwrap();
    db.unwrap();
    let to = r.a.get(target).await.email;
    let setup_mails: Vec<_> = [r.a.mailer.sent(), r.b.mailer.sent()]
        .concat()
        .into_iter()
        .filter(|m| m.to == to)
        .collect();
    assert_eq!(
        setup_mails.len(),
        1,
        "one setup e-mail across both dispatchers"
    );
    let token = token_in(&setup_mails[0].text);
    // The link opens on either replica; the identity step runs on the second.
    assert_eq!(
        r.a.svc.open_link(&token).await.unwrap().purpose,
        LinkPurpose::Setup
    );
    let provisioning =
        r.b.svc
            .confirm_identity(&token, to.as_str(), &password())
            .await
            .unwrap();
    let secret = app_secret(&provisioning.otpauth_uri());
    let code = r.a.code(&secret);
    let token = Arc::new(token);
    let barrier = Arc::new(Barrier::new(2 * TASKS_PER_REPLICA));
    let mut tasks = Vec::new();
    for i in 0..2 * TASKS_PER_REPLICA {
        let svc = Arc::clone(&r.replica(i).svc);
        let (token, code, barrier) = (Arc::clone(&token), code.clone(), Arc::clone(&barrier));
        let proof = provisioning.proof().clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            svc.complete_setup(&token, &proof, &code).await
        }));
    }
    let mut completed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(done) => {
                assert_eq!(done.purpose, LinkPurpose::Setup);
                completed += 1;
            }
            Err(Error::InvalidCode | Error::InvalidCredentials | Error::Conflict) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(completed, 1, "one completion across both replicas");
    for h in [&r.a, &r.b] {
        let admin = h.get(target).await;
        assert!(admin.mfa.active_factor().is_some());
        assert!(admin.mfa.link.is_none());
        assert!(matches!(
            h.svc.open_link(&token).await,
            Err(Error::InvalidCredentials)
        ));
    }
    let before = r.a.mailer.sent().len() + r.b.mailer.sent().len();
    // Both replicas dispatch again at once: the confirmation goes out once.
    let (da, db) = tokio::join!(r.a.svc.dispatch_emails(), r.b.svc.dispatch_emails());
    da.unwrap();
    db.unwrap();
    let new_a = r.a.mailer.sent().len();
    let new_b = r.b.mailer.sent().len();
    assert_eq!(new_a + new_b - before, 1, "one confirmation e-mail");
    // The new factor works on the other replica.
    r.advance(30);
    r.b.mfa_session(target, &secret).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file_same_code_to_both_replicas_is_accepted_once() {
    same_code_to_both_replicas_is_accepted_once(&Replicas::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file_failures_add_up_and_the_lock_holds_on_both() {
    failures_add_up_across_replicas_and_the_lock_holds_on_both(&Replicas::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file_one_link_completes_once() {
    one_link_through_both_replicas_completes_once(&Replicas::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_same_code_to_both_replicas_is_accepted_once() {
    if let Some(r) =
        Replicas::postgres("postgres_same_code_to_both_replicas_is_accepted_once").await
    {
        same_code_to_both_replicas_is_accepted_once(&r).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_failures_add_up_and_the_lock_holds_on_both() {
    if let Some(r) = Replicas::postgres("postgres_failures_add_up_and_the_lock_holds_on_both").await
    {
        failures_add_up_across_replicas_and_the_lock_holds_on_both(&r).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_one_link_completes_once() {
    if let Some(r) = Replicas::postgres("postgres_one_link_completes_once").await {
        one_link_through_both_replicas_completes_once(&r).await;
    }
}
