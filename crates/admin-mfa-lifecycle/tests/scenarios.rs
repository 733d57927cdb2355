//! Directed scenarios from SECURITY.md §4, at the lifecycle level (the store-level versions
//! live in the conformance suite).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use admin_mfa_lifecycle::{
    AdminId, Code, CodeCheck, Command, Event, KeyId, KeyRing, LifecycleConfig, LinkPurpose,
    LinkRejection, Nonce, SealError, SealingKey, TransitionError, UnixTime,
};
use common::World;

fn only(events: &[Event]) -> &Event {
    assert_eq!(events.len(), 1, "{events:?}");
    events.first().unwrap()
}

/// T-RL-9: delays after failures 5..9 are 30, 60, 120, 240, 480 s; an attempt inside a delay
/// is refused unchecked (even with the right code) and not counted; at 10 the factor locks.
#[test]
fn lockout_delays_and_lock() {
    let mut w = World::enrolled(11);
    for n in 1..=4 {
        let cmd = w.verify(false);
        let ev = w.run(cmd).unwrap();
        assert!(
            matches!(only(&ev), Event::VerifyFailed { check: CodeCheck::Login, failures, .. } if *failures == n)
        );
    }
    for (n, delay) in [(5, 30), (6, 60), (7, 120), (8, 240), (9, 480)] {
        let cmd = w.verify(false);
        let ev = w.run(cmd).unwrap();
        assert!(matches!(only(&ev), Event::VerifyFailed { failures, .. } if *failures == n));
        let until = w.now.saturating_add_secs(delay);
        // One second before the end: refused unchecked, even the right code, not counted.
        w.advance(delay - 1);
        let cmd = w.verify(true);
        let ev = w.run(cmd).unwrap();
        assert_eq!(
            ev,
            vec![Event::Delayed {
                check: CodeCheck::Login,
                until,
                at: w.now
            }]
        );
        assert_eq!(w.state.failures.consecutive, n);
        w.advance(1);
    }
    let epoch = w.state.credential_epoch;
    let cmd = w.verify(false);
    let ev = w.run(cmd).unwrap();
    assert!(matches!(
        ev.as_slice(),
        [
            Event::VerifyFailed { failures: 10, .. },
            Event::LockedOut { failures: 10, epoch: e, .. }
        ] if *e == epoch + 1
    ));
    assert!(w.state.is_locked());
    // The lock ends every session and challenge of the credential: the epoch moved on.
    assert_eq!(w.state.credential_epoch, epoch + 1);
    // Locked: the right code is refused, unchecked, at any later time.
    w.advance(10 * 24 * 3600);
    let cmd = w.verify(true);
    assert!(matches!(
        only(&w.run(cmd).unwrap()),
        Event::RefusedLocked { .. }
    ));
    // An authorised unlock clears lock and counter; the right code works again.
    let by = w.boss;
    w.run(Command::Unlock { by }).unwrap();
    assert_eq!(w.state.failures, admin_mfa_lifecycle::Failures::default());
    let cmd = w.verify(true);
    assert!(matches!(only(&w.run(cmd).unwrap()), Event::Verified { .. }));
}

/// T-RL-1: L−1 wrong codes then the right one succeeds and resets the counter.
#[test]
fn right_code_resets_the_counter() {
    let cfg = LifecycleConfig::builder()
        .lock_after(4)
        .delay_after(4)
        .build()
        .unwrap();
    let mut w = World::with_config(12, cfg);
    let cmd = w.enable();
    w.run(cmd).unwrap();
    let cmd = w.confirm();
    w.run(cmd).unwrap();
    let cmd = w.complete(true);
    w.run(cmd).unwrap();
    w.advance(30);
    w.fail_logins(3);
    assert_eq!(w.state.failures.consecutive, 3);
    let cmd = w.verify(true);
    assert!(matches!(only(&w.run(cmd).unwrap()), Event::Verified { .. }));
    assert_eq!(w.state.failures.consecutive, 0);
    w.fail_logins(4);
    assert!(w.state.is_locked());
}

/// RL-2, T-RL-3: enrolment, reset and login failures share one counter.
#[test]
fn one_counter_for_every_code_check() {
    let mut w = World::resetting(13);
    let cmd = w.complete(false); // reset-confirm
    assert!(matches!(
        only(&w.run(cmd).unwrap()),
        Event::VerifyFailed {
            check: CodeCheck::Reset,
            failures: 1,
            ..
        }
    ));
    let cmd = w.verify(false); // login
    assert!(matches!(
        only(&w.run(cmd).unwrap()),
        Event::VerifyFailed {
            check: CodeCheck::Login,
            failures: 2,
            ..
        }
    ));
    let mut w = World::confirming(14);
    let cmd = w.complete(false); // enrol-confirm
    assert!(matches!(
        only(&w.run(cmd).unwrap()),
        Event::VerifyFailed {
            check: CodeCheck::Setup,
            failures: 1,
            ..
        }
    ));
    // D4: an empty code is a wrong code and counts.
    let (purpose, token_hash) = (w.link_purpose(), w.link_hash());
    let ev = w
        .run(Command::CompleteSetup {
            purpose,
            token_hash,
            code: Code::new(""),
        })
        .unwrap();
    assert!(matches!(only(&ev), Event::VerifyFailed { failures: 2, .. }));
}

/// T-RST-7: wrong reset codes reaching the lock invalidate the reset link; a locked admin
/// completes a reset with a new link, which clears the lock.
#[test]
fn reset_out_of_a_lock() {
    let mut w = World::resetting(15);
    for _ in 0..10 {
        if let Some(until) = w.state.failures.delayed_until(w.now, &w.config) {
            w.now = until;
        }
        let cmd = w.complete(false);
        w.run(cmd).unwrap();
    }
    assert!(w.state.is_locked());
    assert!(
        w.state.link.is_none(),
        "the lock invalidates the reset link"
    );
    let old = w.active_secret().unwrap();
    // A new reset link, identity, code: the lock clears and the new secret is active.
    let cmd = w.request_reset();
    assert!(matches!(only(&w.run(cmd).unwrap()), Event::LinkIssued(_)));
    let cmd = w.confirm();
    w.run(cmd).unwrap();
    let cmd = w.complete(true);
    assert!(matches!(
        only(&w.run(cmd).unwrap()),
        Event::Enrolled {
            purpose: LinkPurpose::Reset,
            ..
        }
    ));
    assert!(!w.state.is_locked());
    assert_ne!(w.active_secret(), Some(old));
}

/// RST-3, T-RST-3/4: during a self-service reset the old code works; after completion it
/// does not; the new one does (from the next step, VER-2 / T-RPL-4).
#[test]
fn self_service_reset_keeps_the_old_factor_until_the_new_is_verified() {
    let mut w = World::resetting(16);
    let old = w.active_secret().unwrap();
    let cmd = w.verify(true);
    assert!(matches!(only(&w.run(cmd).unwrap()), Event::Verified { .. }));
    w.advance(30);
    let cmd = w.complete(true);
    let ev = w.run(cmd).unwrap();
    let Event::Enrolled { factor, epoch, .. } = only(&ev) else {
        panic!()
    };
    assert_eq!(*epoch, 2, "setup bumped the epoch to 1, the reset to 2");
    assert_eq!(w.state.credential_epoch, 2);
    let new = w.active_secret().unwrap();
    assert_ne!(old, new);
    // The confirming code is not also the first login code.
    let same = w.code_for(&w.secrets[new].clone());
    assert_eq!(
        factor.last_used_step,
        Some(w.config.totp().step_at(w.now.as_secs()))
    );
    assert!(matches!(
        only(&w.run(Command::Verify { code: same }).unwrap()),
        Event::Replayed { .. }
    ));
    w.advance(30);
    let old_code = w.code_for(&w.secrets[old].clone());
    assert!(matches!(
        only(&w.run(Command::Verify { code: old_code }).unwrap()),
        Event::VerifyFailed { .. }
    ));
    let cmd = w.verify(true);
    assert!(matches!(only(&w.run(cmd).unwrap()), Event::Verified { .. }));
}

/// D3, T-RST-8: an admin reset removes the factor at once and issues one setup link.
#[test]
fn admin_reset_removes_the_factor_at_once() {
    let mut w = World::resetting(17);
    let old = w.active_secret().unwrap();
    let cmd = w.admin_reset();
    let ev = w.run(cmd).unwrap();
    assert!(
        matches!(ev.as_slice(), [Event::FactorRemoved { .. }, Event::LinkIssued(l)] if l.purpose == LinkPurpose::Setup)
    );
    assert!(!w.state.is_enrolled());
    let code = w.code_for(&w.secrets[old].clone());
    assert_eq!(
        w.run(Command::Verify { code }),
        Err(TransitionError::NoActiveFactor)
    );
    // The self-service reset link that was pending is gone.
    assert_eq!(
        w.state.link.as_ref().map(|l| l.purpose),
        Some(LinkPurpose::Setup)
    );
}

/// D5, T-CONC-3 (sequential form): the newest candidate replaces the older one; a code for
/// the stale candidate fails.
#[test]
fn newest_candidate_wins() {
    let mut w = World::confirming(18);
    let first = w.candidate_secret().unwrap();
    let cmd = w.confirm();
    w.run(cmd).unwrap();
    let second = w.candidate_secret().unwrap();
    assert_ne!(first, second);
    let (purpose, token_hash) = (w.link_purpose(), w.link_hash());
    let stale = w.code_for(&w.secrets[first].clone());
    let ev = w
        .run(Command::CompleteSetup {
            purpose,
            token_hash,
            code: stale,
        })
        .unwrap();
    assert!(matches!(only(&ev), Event::VerifyFailed { .. }));
    let cmd = w.complete(true);
    assert!(matches!(only(&w.run(cmd).unwrap()), Event::Enrolled { .. }));
    assert_eq!(w.active_secret(), Some(second));
}

/// TOK-2..4, T-TOK-2/4/5: purpose binding, expiry boundary, single use, newer link revokes.
#[test]
fn link_rules() {
    let mut w = World::confirming(19);
    let hash = w.link_hash();
    let code = w.complete(true);
    let Command::CompleteSetup { code, .. } = code else {
        panic!()
    };
    // Wrong purpose.
    let err = w
        .decide(Command::CompleteSetup {
            purpose: LinkPurpose::Reset,
            token_hash: hash,
            code: code.clone(),
        })
        .unwrap_err();
    assert_eq!(
        err,
        TransitionError::InvalidLink(LinkRejection::WrongPurpose)
    );
    // One second before expiry: fine; at expiry: expired.
    let expires = w.state.link.as_ref().unwrap().expires_at;
    assert_eq!(expires, UnixTime::from_secs(common::T0 + 86_400));
    w.now = expires.saturating_sub_secs(1);
    let ok = w.decide(Command::ConfirmIdentity {
        purpose: LinkPurpose::Setup,
        token_hash: hash,
        secret: w.secrets[0].clone(),
        nonce: Nonce::from_bytes([9; 12]),
    });
    assert!(ok.is_ok());
    w.now = expires;
    let err = w
        .decide(Command::CompleteSetup {
            purpose: LinkPurpose::Setup,
            token_hash: hash,
            code: code.clone(),
        })
        .unwrap_err();
    assert_eq!(err, TransitionError::InvalidLink(LinkRejection::Expired));
    // Back inside the lifetime: a newer link revokes the older token.
    w.now = UnixTime::from_secs(common::T0 + 60);
    let cmd = w.issue_setup_link();
    w.run(cmd).unwrap();
    let err = w
        .decide(Command::CompleteSetup {
            purpose: LinkPurpose::Setup,
            token_hash: hash,
            code: code.clone(),
        })
        .unwrap_err();
    assert_eq!(err, TransitionError::InvalidLink(LinkRejection::Mismatch));
    // Single use: after completion the token is gone.
    let cmd = w.confirm();
    w.run(cmd).unwrap();
    let hash2 = w.link_hash();
    let cmd = w.complete(true);
    w.run(cmd).unwrap();
    let err = w
        .decide(Command::CompleteSetup {
            purpose: LinkPurpose::Setup,
            token_hash: hash2,
            code,
        })
        .unwrap_err();
    assert_eq!(err, TransitionError::InvalidLink(LinkRejection::Missing));
    // The reset link carries the 1 h default lifetime.
    let cmd = w.request_reset();
    w.run(cmd).unwrap();
    let link = w.state.link.as_ref().unwrap();
    assert_eq!(link.expires_at.secs_since(link.issued_at), 3_600);
}

/// TOK-2: a link issued before a credential change is stale.
#[test]
fn stale_epoch_is_rejected() {
    let mut w = World::enabled(20);
    w.state.credential_epoch += 1; // as if the credential changed after issue
    let cmd = w.confirm();
    assert_eq!(
        w.decide(cmd),
        Err(TransitionError::InvalidLink(LinkRejection::Stale))
    );
}

/// RL-7, T-TOK-9: 3 link e-mails per purpose per 15 minutes; the 4th changes nothing.
#[test]
fn link_emails_are_rate_limited() {
    let mut w = World::enabled(21); // 1st
    for _ in 0..2 {
        w.advance(60);
        let cmd = w.issue_setup_link();
        assert!(matches!(only(&w.run(cmd).unwrap()), Event::LinkIssued(_)));
    }
    let before = w.state.clone();
    w.advance(60);
    let cmd = w.issue_setup_link();
    let ev = w.run(cmd).unwrap();
    let Event::LinkRateLimited {
        retry_at, purpose, ..
    } = only(&ev)
    else {
        panic!("{ev:?}")
    };
    assert_eq!(*purpose, LinkPurpose::Setup);
    assert_eq!(*retry_at, UnixTime::from_secs(common::T0 + 900));
    assert_eq!(w.state, before, "no new link, the old one still works");
    w.now = *retry_at;
    let cmd = w.issue_setup_link();
    assert!(matches!(only(&w.run(cmd).unwrap()), Event::LinkIssued(_)));
    // The reset purpose has its own budget.
    let mut w = World::enrolled(22);
    for _ in 0..3 {
        let cmd = w.request_reset();
        assert!(matches!(only(&w.run(cmd).unwrap()), Event::LinkIssued(_)));
    }
    let cmd = w.request_reset();
    assert!(matches!(
        only(&w.run(cmd).unwrap()),
        Event::LinkRateLimited { .. }
    ));
}

/// REQ-1, T-REQ-1/2: require is idempotent and leaves an in-flight enrolment alone.
#[test]
fn require_is_idempotent_and_leaves_enrolment_alone() {
    let mut w = World::confirming(23);
    let by = w.boss;
    let mut w2 = World::new(24);
    assert!(matches!(
        only(&w2.run(Command::Require { by }).unwrap()),
        Event::RequirementSet { .. }
    ));
    assert!(w2.run(Command::Require { by }).unwrap().is_empty());
    assert!(w2.state.link.is_none(), "require alone sends no setup link");
    let before = w.state.clone();
    // Un-required while the QR is shown (the link stays), then required again in bulk.
    w.run(Command::RemoveRequirement {
        by,
        global_required: false,
    })
    .unwrap();
    assert_eq!(w.state.link, before.link);
    w.run(Command::Require { by }).unwrap();
    assert_eq!(w.state.link, before.link);
    let cmd = w.complete(true);
    assert!(matches!(only(&w.run(cmd).unwrap()), Event::Enrolled { .. }));
    assert!(w.state.requirement.is_required() && w.state.is_enrolled());
}

/// T-REQ-5: removing the requirement never removes an active factor.
#[test]
fn removing_the_requirement_keeps_the_factor() {
    let mut w = World::enrolled(25);
    let by = w.boss;
    w.run(Command::RemoveRequirement {
        by,
        global_required: false,
    })
    .unwrap();
    assert!(!w.state.requirement.is_required());
    assert!(w.state.is_enrolled());
    let cmd = w.verify(true);
    assert!(matches!(only(&w.run(cmd).unwrap()), Event::Verified { .. }));
}

/// SEC-3/T-SEC-3: a wrong key is a typed error, never a wrong code, and counts nothing.
#[test]
fn wrong_key_is_not_a_wrong_code() {
    let mut w = World::enrolled(26);
    let cmd = w.verify(true);
    let other = KeyRing::new(SealingKey::new(KeyId::new(1), [0x55; 32]));
    let ctx = admin_mfa_lifecycle::Context::new(w.admin, &w.config, &other);
    let err = admin_mfa_lifecycle::decide(&w.state, cmd, w.now, &ctx).unwrap_err();
    assert_eq!(
        err,
        TransitionError::Seal(SealError::Decrypt(KeyId::new(1)))
    );
    let rotated = KeyRing::new(SealingKey::new(KeyId::new(2), [0x55; 32]));
    let cmd = w.verify(true);
    let ctx = admin_mfa_lifecycle::Context::new(w.admin, &w.config, &rotated);
    let err = admin_mfa_lifecycle::decide(&w.state, cmd, w.now, &ctx).unwrap_err();
    assert_eq!(
        err,
        TransitionError::Seal(SealError::UnknownKey(KeyId::new(1)))
    );
    // Another admin's context cannot open this admin's secret either.
    let cmd = w.verify(true);
    let ctx = admin_mfa_lifecycle::Context::new(AdminId::from_bytes([7; 16]), &w.config, &w.keys);
    assert!(matches!(
        admin_mfa_lifecycle::decide(&w.state, cmd, w.now, &ctx),
        Err(TransitionError::Seal(SealError::Decrypt(_)))
    ));
    assert_eq!(w.state.failures.consecutive, 0);
}

/// T-RPL-2/5: a replay is a counted failure with its own event; an equal code at a newer
/// step is not a replay.
#[test]
fn replays_are_counted_and_distinct() {
    let mut w = World::enrolled(27);
    let cmd = w.verify(true);
    let Command::Verify { code } = cmd else {
        panic!()
    };
    w.run(Command::Verify { code: code.clone() }).unwrap();
    let ev = w.run(Command::Verify { code }).unwrap();
    assert!(matches!(
        only(&ev),
        Event::Replayed {
            check: CodeCheck::Login,
            failures: 1,
            ..
        }
    ));
    assert_eq!(w.state.failures.consecutive, 1);
}

/// Expiry collects the link and its candidate; a later confirm gets the generic rejection.
#[test]
fn expiry_collects_link_and_candidate() {
    let mut w = World::confirming(28);
    assert!(
        w.run(Command::Expire).unwrap().is_empty(),
        "not expired yet"
    );
    w.advance(86_400);
    let ev = w.run(Command::Expire).unwrap();
    assert!(matches!(
        only(&ev),
        Event::LinkExpired {
            purpose: LinkPurpose::Setup,
            ..
        }
    ));
    assert!(w.state.link.is_none());
    assert!(w.run(Command::Expire).unwrap().is_empty(), "idempotent");
}

/// T-TOK-4: opening the link (GET) five times validates without consuming; the POST then
/// succeeds once.
#[test]
fn opening_a_link_never_consumes_it() {
    let mut w = World::confirming(29);
    let hash = w.link_hash();
    for _ in 0..5 {
        assert!(w.state.check_link(LinkPurpose::Setup, &hash, w.now).is_ok());
    }
    assert_eq!(
        w.state
            .check_link(LinkPurpose::Reset, &hash, w.now)
            .unwrap_err(),
        LinkRejection::WrongPurpose
    );
    let cmd = w.complete(true);
    assert!(matches!(only(&w.run(cmd).unwrap()), Event::Enrolled { .. }));
    assert_eq!(
        w.state
            .check_link(LinkPurpose::Setup, &hash, w.now)
            .unwrap_err(),
        LinkRejection::Missing
    );
}

/// REQ-2, T-ENR-5: what a correct password leads to.
#[test]
fn login_steps() {
    use admin_mfa_lifecycle::LoginStep;
    let mut w = World::new(30);
    assert_eq!(w.state.login_step(), LoginStep::Complete);
    let by = w.boss;
    w.run(Command::Require { by }).unwrap();
    assert_eq!(w.state.login_step(), LoginStep::SetupRequired);
    let mut w = World::enrolled(30);
    assert_eq!(w.state.login_step(), LoginStep::MfaChallenge);
    w.run(Command::RemoveRequirement {
        by,
        global_required: false,
    })
    .unwrap();
    assert_eq!(
        w.state.login_step(),
        LoginStep::MfaChallenge,
        "an active factor is always asked for"
    );
    w.fail_logins(10);
    assert_eq!(
        w.state.login_step(),
        LoginStep::MfaChallenge,
        "the lock is not revealed"
    );
    let cmd = w.admin_reset();
    w.run(cmd).unwrap();
    assert_eq!(w.state.login_step(), LoginStep::Complete);
}
