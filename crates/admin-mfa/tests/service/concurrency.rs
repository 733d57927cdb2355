//! Races (T-CONC, T-RL-7): tasks lined up on a barrier, on a multi-threaded runtime.

use std::sync::Arc;

use admin_mfa::lifecycle::LifecycleConfig;
use admin_mfa::{BuiltinRole as R, Error, LinkPurpose, LoginOutcome};
use tokio::sync::Barrier;

use crate::common::*;

/// T-CONC-1: 32 tasks submit the same valid code at one instant: exactly one session, 31
/// generic refusals, and the step is stored once. Repeated over many steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_valid_code_from_32_tasks_is_accepted_once() {
    let h = H::new();
    let (id, secret) = h.enrolled(1, R::Manager).await;
    for round in 0..40 {
        h.advance(30);
        let challenge = Arc::new(h.challenge(id).await);
        let code = h.code(&secret);
        let barrier = Arc::new(Barrier::new(32));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (svc, challenge, code, barrier) = (
                Arc::clone(&h.svc),
                Arc::clone(&challenge),
                code.clone(),
                Arc::clone(&barrier),
            );
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
        assert_eq!(ok, 1, "round {round}");
        let factor = h.get(id).await.mfa.active_factor().cloned().unwrap();
        assert_eq!(
            factor.last_used_step.map(|s| s.get()),
            Some(h.now().as_secs() / 30),
            "round {round}"
        );
    }
}

/// T-CONC-2 / T-CONC-4: one link completed by 8 tasks with the same valid code: one
/// completion, one active factor, one confirmation e-mail.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_link_completed_by_8_tasks_completes_once() {
    for purpose in [LinkPurpose::Setup, LinkPurpose::Reset] {
        let h = H::new();
        let (id, old) = h.enrolled(1, R::Administrator).await;
        h.deliver().await;
        if purpose == LinkPurpose::Reset {
            h.advance(30);
            let challenge = h.challenge(id).await;
            h.svc.request_reset(&challenge).await.unwrap();
        } else {
            let awb = h.seed(2, R::AdministratorWithBilling).await;
            let session = h.session(awb).await;
            assert!(h.svc.reset_mfa(&session, id).await.unwrap().changed);
        }
        h.deliver().await;
        let token = h.token_for(id).await;
        let email = h.get(id).await.email;
        let provisioning = h
            .svc
            .confirm_identity(&token, email.as_str(), &password())
            .await
            .unwrap();
        let new = app_secret(&provisioning.otpauth_uri());
        h.advance(30);
        let code = h.code(&new);
        let barrier = Arc::new(Barrier::new(8));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (svc, token, code, barrier) = (
                Arc::clone(&h.svc),
                token.clone(),
                code.clone(),
                Arc::clone(&barrier),
            );
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                svc.complete_setup(&token, &code).await
            }));
        }
        let mut done = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(complete) => {
                    assert_eq!(complete.purpose, purpose);
                    done += 1;
                }
                Err(Error::InvalidCode) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(done, 1, "{purpose}");
        let admin = h.get(id).await;
        assert!(admin.mfa.link.is_none());
        assert_eq!(
            admin
                .mfa
                .active_factor()
                .and_then(|f| f.last_used_step)
                .map(|s| s.get()),
            Some(h.now().as_secs() / 30)
        );
        let sent = h.deliver().await;
        assert_eq!(sent.len(), 1, "{purpose}: one confirmation e-mail");
        // The new secret is the one active; the old one no longer works.
        h.advance(30);
        let challenge = h.challenge(id).await;
        assert!(h.svc.verify(&challenge, &h.code(&old)).await.is_err());
        h.mfa_session(id, &new).await;
    }
}

/// T-RL-7: with both thresholds at 100, 64 wrong codes submitted at once over 8 open
/// challenges leave the counter at exactly 64: no lost update.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_wrong_codes_count_exactly_64() {
    let lifecycle = LifecycleConfig::builder()
        .delay_after(100)
        .lock_after(100)
        .build()
        .unwrap();
    let h = H::with(|c| c.lifecycle(lifecycle));
    let (id, _) = h.enrolled(1, R::Manager).await;
    h.advance(30);
    let mut challenges = Vec::new();
    for _ in 0..8 {
        challenges.push(Arc::new(h.challenge(id).await));
    }
    let barrier = Arc::new(Barrier::new(64));
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (svc, challenge, barrier) = (
            Arc::clone(&h.svc),
            Arc::clone(&challenges[i % 8]),
            Arc::clone(&barrier),
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            svc.verify(&challenge, "000000").await
        }));
    }
    for task in tasks {
        assert!(matches!(task.await.unwrap(), Err(Error::InvalidCode)));
    }
    assert_eq!(h.get(id).await.mfa.failures.consecutive, 64);
}

/// T-CONC-3 (D5): two enrolment starts on one link (two tabs): the candidate confirmed
/// last wins; a code for the stale one fails; never two active factors.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_tabs_confirming_one_link_leave_one_candidate() {
    let h = H::new();
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let target = h.seed(2, R::HelpDesk).await;
    let session = h.session(awb).await;
    assert!(h.svc.enable_mfa(&session, target).await.unwrap().changed);
    h.deliver().await;
    let token = h.token_for(target).await;
    let email = h.get(target).await.email;
    let barrier = Arc::new(Barrier::new(2));
    let mut tabs = Vec::new();
    for _ in 0..2 {
        let (svc, token, email, barrier) = (
            Arc::clone(&h.svc),
            token.clone(),
            email.clone(),
            Arc::clone(&barrier),
        );
        tabs.push(tokio::spawn(async move {
            barrier.wait().await;
            svc.confirm_identity(&token, email.as_str(), &password())
                .await
                .map(|p| app_secret(&p.otpauth_uri()))
        }));
    }
    let mut secrets = Vec::new();
    for tab in tabs {
        secrets.push(tab.await.unwrap().unwrap());
    }
    assert_ne!(secrets[0], secrets[1]);
    // Exactly one of the two candidates is stored; its code completes, the other's fails.
    let stored = h.get(target).await.mfa.link.unwrap().candidate.unwrap();
    let keys = keys();
    let live = stored.sealed.open_secret(&keys, target).unwrap();
    let (winner, loser) = if live == secrets[0] {
        (&secrets[0], &secrets[1])
    } else {
        (&secrets[1], &secrets[0])
    };
    assert!(matches!(
        h.svc.complete_setup(&token, &h.code(loser)).await,
        Err(Error::InvalidCode)
    ));
    h.svc.complete_setup(&token, &h.code(winner)).await.unwrap();
    assert!(h.get(target).await.mfa.is_enrolled());
    h.mfa_session(target, winner).await;
}

/// T-CONC-5 (scaled down): bulk require of 300 admins while 10 others enrol and 10 log
/// in: every target required, every enrolment active, no store error anywhere, one notice
/// per required admin.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bulk_require_races_enrolments_and_logins() {
    let h = H::with(|c| c.bulk_chunk_size(50));
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let mut targets = Vec::new();
    for n in 100..400 {
        targets.push(h.seed(n, R::Manager).await);
    }
    // Ten admins mid-enrolment (link delivered), ten enrolled admins about to log in.
    let mut enrolling = Vec::new();
    for n in 10..20 {
        let id = h.seed(n, R::HelpDesk).await;
        enrolling.push(id);
    }
    let session = h.session(awb).await;
    for id in &enrolling {
        assert!(h.svc.enable_mfa(&session, *id).await.unwrap().changed);
    }
    let mut enrolled = Vec::new();
    for n in 20..30 {
        enrolled.push(h.enrolled(n, R::ReadOnly).await);
    }
    h.deliver().await;
    let mut tokens = Vec::new();
    for id in &enrolling {
        tokens.push((*id, h.token_for(*id).await));
    }
    h.advance(30);
    let barrier = Arc::new(Barrier::new(21));
    let mut tasks = Vec::new();
    {
        let (svc, targets, barrier, session) = (
            Arc::clone(&h.svc),
            targets.clone(),
            Arc::clone(&barrier),
            session.clone(),
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let report = svc.require_mfa(&session, &targets).await.unwrap();
            assert_eq!(report.newly_required(), targets.len());
        }));
    }
    for (id, token) in tokens {
        let (svc, barrier, clock, store, org) = (
            Arc::clone(&h.svc),
            Arc::clone(&barrier),
            Arc::clone(&h.clock),
            Arc::clone(&h.store),
            h.org,
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let email = store.admin(org, id).await.unwrap().unwrap().value.email;
            let p = svc
                .confirm_identity(&token, email.as_str(), &password())
                .await
                .unwrap();
            let secret = app_secret(&p.otpauth_uri());
            use admin_mfa::ports::Clock;
            svc.complete_setup(&token, &code_at(&secret, clock.now()))
                .await
                .unwrap();
        }));
    }
    for (id, secret) in enrolled.clone() {
        let (svc, barrier, clock, store, org) = (
            Arc::clone(&h.svc),
            Arc::clone(&barrier),
            Arc::clone(&h.clock),
            Arc::clone(&h.store),
            h.org,
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let email = store.admin(org, id).await.unwrap().unwrap().value.email;
            let LoginOutcome::MfaChallenge(c) =
                svc.login(org, email.as_str(), &password()).await.unwrap()
            else {
                panic!("expected a challenge");
            };
            use admin_mfa::ports::Clock;
            svc.verify(&c, &code_at(&secret, clock.now()))
                .await
                .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for id in &targets {
        assert!(h.get(*id).await.mfa.requirement.is_required());
    }
    for id in &enrolling {
        assert!(h.get(*id).await.mfa.is_enrolled());
    }
    let sent = h.deliver().await;
    // One "MFA required" notice per target and one confirmation per enrolment.
    assert_eq!(sent.len(), targets.len() + enrolling.len());
}

/// DESIGN.md §5 in miniature: two service instances (two "replicas") on one store; the
/// guarantees rest on the store's compare-and-swap, so one code is still accepted once and
/// one link still completes once across both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_service_instances_on_one_store_share_every_guarantee() {
    let h = H::new();
    let replica = H::over(Arc::clone(&h.store), |c| c);
    let (id, secret) = h.enrolled(1, R::Manager).await;
    h.advance(30);
    replica.clock.set(h.now());
    let a = Arc::new(h.challenge(id).await);
    let b = Arc::new(replica.challenge(id).await);
    let code = h.code(&secret);
    let barrier = Arc::new(Barrier::new(16));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let svc = if i % 2 == 0 {
            Arc::clone(&h.svc)
        } else {
            Arc::clone(&replica.svc)
        };
        let challenge = if i % 2 == 0 {
            Arc::clone(&a)
        } else {
            Arc::clone(&b)
        };
        let (code, barrier) = (code.clone(), Arc::clone(&barrier));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            svc.verify(&challenge, &code).await.is_ok()
        }));
    }
    let mut ok = 0;
    for task in tasks {
        ok += usize::from(task.await.unwrap());
    }
    assert_eq!(ok, 1);
    // A session made by one instance is revoked for the other by a reset through it.
    h.advance(30);
    replica.clock.set(h.now());
    let session = replica.svc.verify(&b, &h.code(&secret)).await.unwrap();
    assert!(h.svc.is_current(&session).await.unwrap());
    let awb = h.seed(2, R::AdministratorWithBilling).await;
    let boss = h.session(awb).await;
    assert!(h.svc.reset_mfa(&boss, id).await.unwrap().changed);
    assert!(!replica.svc.is_current(&session).await.unwrap());
}
