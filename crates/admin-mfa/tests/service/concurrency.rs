//! Races (T-CONC, T-RL-7): tasks lined up on a barrier, on a multi-threaded runtime, on
//! every store (`memory::*`, `sqlite::*`, `postgres::*`): on the SQL stores the
//! compare-and-swap under test is the database's.

use std::sync::Arc;

use admin_mfa::lifecycle::LifecycleConfig;
use admin_mfa::{BuiltinRole as R, Error, LinkPurpose, LoginOutcome};
use tokio::sync::Barrier;

use crate::backends::{Backend, on_every_store};
use crate::common::*;

/// T-CONC-1: 32 tasks submit the same valid code at one instant: exactly one session, 31
/// generic refusals, and `last_used_step` is that step. 200 iterations on one admin, the
/// clock one step further each round (a new password challenge only every 100 rounds).
async fn same_valid_code_from_32_tasks_is_accepted_once(b: Backend) {
    let h = b.with(|c| c.challenge_ttl_secs(3_600)).await;
    let (id, secret) = h.enrolled(1, R::Manager).await;
    let mut challenge = None;
    for round in 0..200 {
        h.advance(30);
        if round % 100 == 0 {
            challenge = Some(Arc::new(h.challenge(id).await));
        }
        let challenge = Arc::clone(challenge.as_ref().unwrap());
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
        let (mut ok, mut invalid) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(session) => {
                    assert_eq!(session.admin(), id);
                    ok += 1;
                }
                Err(Error::InvalidCode) => invalid += 1,
                Err(other) => panic!("round {round}: unexpected {other:?}"),
            }
        }
        assert_eq!((ok, invalid), (1, 31), "round {round}");
        let admin = h.get(id).await;
        let factor = admin.mfa.active_factor().cloned().unwrap();
        assert_eq!(
            factor.last_used_step.map(|s| s.get()),
            Some(h.now().as_secs() / 30),
            "round {round}"
        );
        // The replays counted up to the delay threshold; the rest fell inside the delay and
        // were refused unchecked. The delay (30 s) is over at the next round's step, whose
        // success resets the count; the factor never locks.
        assert_eq!(
            admin.mfa.failures.consecutive,
            h.svc.config().lifecycle().delay_after(),
            "round {round}"
        );
        assert!(!admin.mfa.is_locked());
    }
}

/// T-CONC-1 variant: codes for steps T and T−1 raced by 16 tasks each. T−1 is inside the
/// `[-1, 0]` window and unused, so either order is a valid history: T first (then T−1 is
/// below the used step and refused: one success), or T−1 first and then T (two). Whatever
/// the order: T's code succeeds exactly once, T−1's at most once, `last_used_step` ends at T
/// and, sampled all along, never decreases.
async fn codes_for_t_and_t_minus_1_race_and_the_step_never_decreases(b: Backend) {
    // Thresholds at 100, so that the limiter's delay never decides a round.
    let lifecycle = LifecycleConfig::builder()
        .delay_after(100)
        .lock_after(100)
        .build()
        .unwrap();
    let h = b
        .with(|c| c.challenge_ttl_secs(3_600).lifecycle(lifecycle))
        .await;
    let (id, secret) = h.enrolled(1, R::Manager).await;
    let mut challenge = None;
    for round in 0..100 {
        // Two steps on, so that T−1 is unused (the last round used T−2 at most).
        h.advance(60);
        if round % 50 == 0 {
            challenge = Some(Arc::new(h.challenge(id).await));
        }
        let challenge = Arc::clone(challenge.as_ref().unwrap());
        let step = h.now().as_secs() / 30;
        let now_code = h.code(&secret);
        let prev_code = code_at(&secret, h.now().saturating_sub_secs(30));
        if now_code == prev_code {
            continue; // the two steps share their digits: nothing to race
        }
        let barrier = Arc::new(Barrier::new(33));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let monitor = {
            let (store, org, barrier, stop) = (
                Arc::clone(&h.store),
                h.org,
                Arc::clone(&barrier),
                Arc::clone(&stop),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                let mut last = 0_u64;
                let mut samples = 0;
                while !stop.load(std::sync::atomic::Ordering::Acquire) || samples == 0 {
                    let admin = store.admin(org, id).await.unwrap().unwrap().value;
                    let seen = admin
                        .mfa
                        .active_factor()
                        .and_then(|f| f.last_used_step)
                        .map_or(0, |s| s.get());
                    assert!(
                        seen >= last,
                        "last_used_step went back from {last} to {seen}"
                    );
                    last = seen;
                    samples += 1;
                    tokio::task::yield_now().await;
                }
            })
        };
        let mut tasks = Vec::new();
        for i in 0..32 {
            let code = if i % 2 == 0 { &now_code } else { &prev_code };
            let (svc, challenge, code, barrier) = (
                Arc::clone(&h.svc),
                Arc::clone(&challenge),
                code.clone(),
                Arc::clone(&barrier),
            );
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                (i % 2 == 0, svc.verify(&challenge, &code).await)
            }));
        }
        let (mut now_ok, mut prev_ok) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                (true, Ok(_)) => now_ok += 1,
                (false, Ok(_)) => prev_ok += 1,
                (_, Err(Error::InvalidCode)) => {}
                (_, Err(other)) => panic!("round {round}: unexpected {other:?}"),
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Release);
        monitor.await.unwrap();
        assert_eq!(
            now_ok, 1,
            "round {round}: the code for T is accepted exactly once"
        );
        assert!(prev_ok <= 1, "round {round}: the code for T-1 at most once");
        let admin = h.get(id).await;
        assert_eq!(
            admin
                .mfa
                .active_factor()
                .and_then(|f| f.last_used_step)
                .map(|s| s.get()),
            Some(step),
            "round {round}"
        );
    }
}

/// The two orders the race above can take, each forced: T−1 then T accepts both (the step
/// moves forward), T then T−1 refuses the older code (it is below the used step). The race
/// itself may land on either order on a given machine, so each is pinned here rather than
/// hoped for there.
async fn codes_for_t_minus_1_and_t_in_each_order(b: Backend) {
    let h = b.with(|c| c.challenge_ttl_secs(3_600)).await;
    let (id, secret) = h.enrolled(1, R::Manager).await;
    for older_first in [true, false] {
        h.advance(90);
        let now_code = h.code(&secret);
        let prev_code = code_at(&secret, h.now().saturating_sub_secs(30));
        if now_code == prev_code {
            h.advance(30);
        }
        let now_code = h.code(&secret);
        let prev_code = code_at(&secret, h.now().saturating_sub_secs(30));
        let challenge = h.challenge(id).await;
        if older_first {
            h.svc.verify(&challenge, &prev_code).await.unwrap();
            h.svc.verify(&challenge, &now_code).await.unwrap();
        } else {
            h.svc.verify(&challenge, &now_code).await.unwrap();
            assert!(matches!(
                h.svc.verify(&challenge, &prev_code).await,
                Err(Error::InvalidCode)
            ));
        }
        let step = h.get(id).await.mfa.active_factor().unwrap().last_used_step;
        assert_eq!(step.map(|s| s.get()), Some(h.now().as_secs() / 30));
    }
}

/// T-CONC-2 / T-CONC-4: one link completed by 8 tasks with the same valid code: one
/// completion, one active factor, one confirmation e-mail.
async fn one_link_completed_by_8_tasks_completes_once(b: Backend) {
    for purpose in [LinkPurpose::Setup, LinkPurpose::Reset] {
        let h = b.h().await;
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
        let (provisioning, new) = h.provision(&token, email.as_str()).await;
        h.advance(30);
        let code = h.code(&new);
        let barrier = Arc::new(Barrier::new(8));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (svc, token, code, barrier, proof) = (
                Arc::clone(&h.svc),
                token.clone(),
                code.clone(),
                Arc::clone(&barrier),
                provisioning.proof().clone(),
            );
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                svc.complete_setup(&token, &proof, &code).await
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
async fn sixty_four_concurrent_wrong_codes_count_exactly_64(b: Backend) {
    let lifecycle = LifecycleConfig::builder()
        .delay_after(100)
        .lock_after(100)
        .build()
        .unwrap();
    let h = b.with(|c| c.lifecycle(lifecycle)).await;
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
async fn two_tabs_confirming_one_link_leave_one_candidate(b: Backend) {
    let h = b.h().await;
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
                .map(|p| (app_secret(&p.otpauth_uri()), p.proof().clone()))
        }));
    }
    let mut secrets = Vec::new();
    for tab in tabs {
        secrets.push(tab.await.unwrap().unwrap());
    }
    assert_ne!(secrets[0].0, secrets[1].0);
    // Exactly one of the two candidates is stored; its code completes, the other's fails.
    let stored = h.get(target).await.mfa.link.unwrap().candidate.unwrap();
    let keys = keys();
    let live = stored.sealed.open_secret(&keys, target).unwrap();
    let ((winner, winner_proof), (loser, loser_proof)) = if live == secrets[0].0 {
        (&secrets[0], &secrets[1])
    } else {
        (&secrets[1], &secrets[0])
    };
    // The losing tab's proof died with its candidate, whichever code it brings.
    for code in [h.code(loser), h.code(winner)] {
        assert!(matches!(
            h.svc.complete_setup(&token, loser_proof, &code).await,
            Err(Error::InvalidCode)
        ));
    }
    assert!(matches!(
        h.svc
            .complete_setup(&token, winner_proof, &h.code(loser))
            .await,
        Err(Error::InvalidCode)
    ));
    h.svc
        .complete_setup(&token, winner_proof, &h.code(winner))
        .await
        .unwrap();
    assert!(h.get(target).await.mfa.is_enrolled());
    h.mfa_session(target, winner).await;
}

/// T-CONC-5: bulk require of 1 000 admins while 50 others enrol and 50 enrolled admins
/// (their requirement removed, so the bulk call must write them too) log in with password
/// and code: every target `Required`, every enrolment `Active`, no store error anywhere, and
/// exactly one "MFA required" e-mail per newly required admin.
async fn bulk_require_races_enrolments_and_logins(b: Backend) {
    let h = b.with(|c| c.bulk_chunk_size(100)).await;
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let mut required = Vec::new();
    for n in 1_000..2_000 {
        required.push(h.seed(n, R::Manager).await);
    }
    let session = h.session(awb).await;
    // Fifty admins mid-enrolment (setup link delivered).
    let mut enrolling = Vec::new();
    for n in 100..150 {
        let id = h.seed(n, R::HelpDesk).await;
        assert!(h.svc.enable_mfa(&session, id).await.unwrap().changed);
        enrolling.push(id);
    }
    // Fifty enrolled admins whose requirement was removed again: the bulk call requires
    // them while they log in.
    let mut enrolled = Vec::new();
    for n in 200..250 {
        let (id, secret) = h.enrolled(n, R::ReadOnly).await;
        assert!(
            h.svc
                .remove_mfa_requirement(&session, id)
                .await
                .unwrap()
                .changed
        );
        enrolled.push((id, secret));
    }
    h.deliver().await;
    let mut tokens = Vec::new();
    for id in &enrolling {
        tokens.push((*id, h.token_for(*id).await));
    }
    let mut targets = required.clone();
    targets.extend(enrolled.iter().map(|(id, _)| *id));
    h.advance(30);
    let barrier = Arc::new(Barrier::new(101));
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
            assert_eq!(report.failures().count(), 0);
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
            svc.complete_setup(&token, p.proof(), &code_at(&secret, clock.now()))
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
        let admin = h.get(*id).await;
        assert!(admin.mfa.requirement.is_required());
    }
    for (id, _) in &enrolled {
        assert!(h.get(*id).await.mfa.is_enrolled(), "the factor stays");
    }
    for id in &enrolling {
        let admin = h.get(*id).await;
        assert!(admin.mfa.is_enrolled() && admin.mfa.link.is_none());
    }
    let sent = h.deliver().await;
    // Per recipient: one "MFA required" notice for each target, one confirmation for each
    // enrolment, and nothing else.
    let mut per_recipient = std::collections::HashMap::new();
    for m in &sent {
        *per_recipient.entry(m.to.clone()).or_insert(0) += 1;
    }
    assert_eq!(sent.len(), targets.len() + enrolling.len());
    for id in targets.iter().chain(&enrolling) {
        let to = h.get(*id).await.email;
        assert_eq!(per_recipient.get(&to), Some(&1), "{to:?}");
    }
}

/// Wrong passwords raced by 32 tasks all count: no attempt is lost to the CAS retries. With
/// the threshold raised to 100 every one is checked and counted; at the real threshold (10)
/// exactly ten are checked and counted and the other 22 are refused unchecked (RL-8).
async fn thirty_two_concurrent_wrong_passwords_count_exactly_32(b: Backend) {
    for threshold in [100, 10] {
        let counted = wrong_passwords_at_once(b, 32, threshold).await;
        assert_eq!(counted, threshold.min(32));
    }
}

/// `n` concurrent wrong passwords against one admin with the password limiter at
/// `threshold`: the count they leave, after checking that exactly that many were checked
/// against the real hash and the code counter was left alone.
async fn wrong_passwords_at_once(b: Backend, n: u32, threshold: u32) -> u32 {
    let lifecycle = LifecycleConfig::builder()
        .password_delay_after(threshold)
        .build()
        .unwrap();
    let h = b.with(|c| c.lifecycle(lifecycle)).await;
    let id = h.seed(1, R::Manager).await;
    let email = h.get(id).await.email;
    let before = h.svc.passwords().stats().verifies;
    let barrier = Arc::new(Barrier::new(n as usize));
    let mut tasks = Vec::new();
    for i in 0..n {
        let (svc, barrier, email, org) = (
            Arc::clone(&h.svc),
            Arc::clone(&barrier),
            email.clone(),
            h.org,
        );
        tasks.push(tokio::spawn(async move {
            let wrong = admin_mfa::Password::new(&format!("wrong {i}")).unwrap();
            barrier.wait().await;
            svc.login(org, email.as_str(), &wrong).await
        }));
    }
    for task in tasks {
        assert!(matches!(
            task.await.unwrap(),
            Err(Error::InvalidCredentials)
        ));
    }
    let admin = h.get(id).await;
    let counted = admin.mfa.password_failures.consecutive;
    assert_eq!(
        u64::from(counted),
        h.svc.passwords().stats().verifies - before
    );
    assert_eq!(
        admin.mfa.failures.consecutive, 0,
        "the code counter is untouched"
    );
    counted
}

/// Concurrent bootstraps of one organization: exactly one first admin is created.
async fn sixteen_concurrent_bootstraps_create_one_admin(b: Backend) {
    let h = b.h().await;
    let barrier = Arc::new(Barrier::new(16));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (svc, barrier, org) = (Arc::clone(&h.svc), Arc::clone(&barrier), h.org);
        tasks.push(tokio::spawn(async move {
            let new = admin_mfa::NewAdmin {
                email: format!("founder{i}@example.com"),
                display_name: format!("Founder {i}"),
                role: role(R::AdministratorWithBilling),
                password: password(),
            };
            barrier.wait().await;
            svc.bootstrap_admin(org, new).await
        }));
    }
    let mut created = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(c) => created.push(c.id),
            Err(Error::Conflict) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created.len(), 1);
    let awb = role(R::AdministratorWithBilling);
    assert_eq!(h.store.count_with_role(h.org, &awb).await.unwrap(), 1);
    // A later bootstrap is refused too.
    let late = admin_mfa::NewAdmin {
        email: "late@example.com".to_owned(),
        display_name: "Late".to_owned(),
        role: awb,
        password: password(),
    };
    assert!(matches!(
        h.svc.bootstrap_admin(h.org, late).await,
        Err(Error::Conflict)
    ));
}

/// docs/ARCHITECTURE.md §6 in miniature: two service instances (two "replicas") on one store; the
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

on_every_store!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    same_valid_code_from_32_tasks_is_accepted_once,
    one_link_completed_by_8_tasks_completes_once,
    codes_for_t_and_t_minus_1_race_and_the_step_never_decreases,
    codes_for_t_minus_1_and_t_in_each_order,
    sixty_four_concurrent_wrong_codes_count_exactly_64,
    two_tabs_confirming_one_link_leave_one_candidate,
    bulk_require_races_enrolments_and_logins,
    thirty_two_concurrent_wrong_passwords_count_exactly_32,
    sixteen_concurrent_bootstraps_create_one_admin,
);
