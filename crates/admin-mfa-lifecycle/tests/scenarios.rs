//! Directed scenarios from docs/SECURITY.md §5, at the lifecycle level (the store-level versions
//! live in the conformance suite).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod common;

use admin_mfa_lifecycle::{
    AdminId, Code, CodeCheck, Command, Event, Failures, KeyId, KeyRing, LifecycleConfig,
    LinkPurpose, LinkRejection, LoginStep, Nonce, Requirement, RequirementSource, SealError,
    SealingKey, TokenHash, TransitionError, UnixTime,
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
    assert_eq!(w.state.failures, Failures::default());
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

/// SETUP-2: wrong codes on a link's last step count on that link only; login codes keep
/// their own counter (which the setup step neither reads nor writes). A malformed or empty
/// code is a wrong code (D4).
#[test]
fn setup_2_link_codes_count_on_the_link_not_the_login_counter() {
    let mut w = World::resetting(13);
    let (purpose, token_hash) = (w.link_purpose(), w.link_hash());
    let cmd = w.complete(false); // reset-confirm
    assert_eq!(
        w.run(cmd).unwrap(),
        [Event::SetupFailed {
            purpose: LinkPurpose::Reset,
            token_hash,
            failures: 1,
            at: w.now
        }]
    );
    assert_eq!(w.state.link.as_ref().unwrap().setup_failures, 1);
    assert_eq!(w.state.failures, Failures::default());
    let cmd = w.verify(false); // login
    assert!(matches!(
        only(&w.run(cmd).unwrap()),
        Event::VerifyFailed {
            check: CodeCheck::Login,
            failures: 1,
            ..
        }
    ));
    assert_eq!(w.state.link.as_ref().unwrap().setup_failures, 1);
    // D4: an empty code is a wrong code and counts, on the link.
    let proof = w.held_proof();
    let ev = w
        .run(Command::CompleteSetup {
            recovery: None,
            purpose,
            token_hash,
            proof,
            code: Code::new(""),
        })
        .unwrap();
    assert!(matches!(only(&ev), Event::SetupFailed { failures: 2, .. }));
    assert_eq!(w.state.failures.consecutive, 1, "login count unchanged");

    let mut w = World::confirming(14);
    let cmd = w.complete(false); // enrol-confirm
    assert!(matches!(
        only(&w.run(cmd).unwrap()),
        Event::SetupFailed {
            purpose: LinkPurpose::Setup,
            failures: 1,
            ..
        }
    ));
    assert_eq!(w.state.failures, Failures::default());
}

/// SETUP-2 (issue 10, item 2): whoever holds a reset link and the identity proof can send
/// wrong codes as fast as they like: no delay, and at `setup_attempts` the link and its
/// candidate are voided. The active factor, its counter and its lock state never move, and
/// the victim's old code still works.
#[test]
fn setup_2_wrong_codes_void_the_link_and_never_touch_the_factor() {
    let mut w = World::resetting(40);
    // A login-code run already near the lock: setup codes must not push it over.
    w.fail_logins(w.config.lock_after() - 1);
    let login_run = w.state.failures;
    let factor = w.state.factor.clone();
    let epoch = w.state.credential_epoch;
    let old = w.active_secret().unwrap();
    let token_hash = w.link_hash();
    let attempts = w.config.setup_attempts();
    for n in 1..attempts {
        let cmd = w.complete(false);
        assert_eq!(
            w.run(cmd).unwrap(),
            [Event::SetupFailed {
                purpose: LinkPurpose::Reset,
                token_hash,
                failures: n,
                at: w.now
            }],
            "no delay between setup attempts, no lock"
        );
        assert!(w.state.link.as_ref().unwrap().candidate.is_some());
    }
    let cmd = w.complete(false);
    assert_eq!(
        w.run(cmd).unwrap(),
        [
            Event::SetupFailed {
                purpose: LinkPurpose::Reset,
                token_hash,
                failures: attempts,
                at: w.now
            },
            Event::LinkVoided {
                purpose: LinkPurpose::Reset,
                token_hash,
                at: w.now
            }
        ]
    );
    assert!(w.state.link.is_none(), "link and candidate voided");
    assert_eq!(w.state.failures, login_run);
    assert_eq!(w.state.factor, factor);
    assert_eq!(w.state.credential_epoch, epoch);
    assert!(!w.state.is_locked());
    // The voided token is dead, even with the right code and proof.
    let cmd = w.complete(true);
    assert_eq!(
        w.run(cmd),
        Err(TransitionError::InvalidLink(LinkRejection::Missing))
    );
    // The old authenticator still signs in (once the login delay is over).
    if let Some(until) = w.state.failures.delayed_until(w.now, &w.config) {
        w.now = until;
    }
    let code = w.code_for(&w.secrets[old].clone());
    assert!(matches!(
        only(&w.run(Command::Verify { code }).unwrap()),
        Event::Verified { .. }
    ));
    // A new link starts with a fresh budget.
    w.advance(3_600);
    let cmd = w.request_reset();
    w.run(cmd).unwrap();
    assert_eq!(w.state.link.as_ref().unwrap().setup_failures, 0);
}

/// SETUP-2: the budget follows the configuration and belongs to the link (a newer identity
/// step does not refill it); a right code before it runs out enrols.
#[test]
fn setup_2_the_budget_is_per_link_and_configurable() {
    let two = || {
        LifecycleConfig::builder()
            .setup_attempts(2)
            .build()
            .unwrap()
    };
    let mut w = World::with_config(41, two());
    let cmd = w.enable();
    w.run(cmd).unwrap();
    let cmd = w.confirm();
    w.run(cmd).unwrap();
    w.fail_setup(1);
    let cmd = w.confirm();
    w.run(cmd).unwrap();
    assert_eq!(w.state.link.as_ref().unwrap().setup_failures, 1);
    let cmd = w.complete(true);
    assert!(matches!(only(&w.run(cmd).unwrap()), Event::Enrolled { .. }));

    let mut w = World::with_config(42, two());
    let cmd = w.enable();
    w.run(cmd).unwrap();
    let cmd = w.confirm();
    w.run(cmd).unwrap();
    w.fail_setup(1);
    let cmd = w.confirm();
    w.run(cmd).unwrap();
    let cmd = w.complete(false);
    assert!(matches!(
        w.run(cmd).unwrap().as_slice(),
        [
            Event::SetupFailed { failures: 2, .. },
            Event::LinkVoided { .. }
        ]
    ));
    assert!(w.state.link.is_none() && !w.state.is_enrolled());
    assert!(w.state.requirement.is_required(), "still must set up");
}

/// SETUP-1 (issue 10, item 2): the link token alone cannot drive the code step. Without the
/// identity step's proof, with a forged one, with the proof of a replaced candidate, or
/// with an expired one, `CompleteSetup` is refused with `ProofMismatch` and nothing is
/// counted, even for the right code.
#[test]
fn setup_1_the_token_alone_cannot_complete_a_setup() {
    let mut w = World::resetting(43);
    let first_proof = w.held_proof();
    // A newer identity step replaces the candidate and its proof.
    let cmd = w.confirm();
    w.run(cmd).unwrap();
    let held = w.held_proof();
    assert_ne!(held, first_proof);
    let forged = w.forged_proof();
    let before = w.state.clone();
    for proof in [first_proof, forged, TokenHash::from_bytes([0; 32])] {
        for right in [true, false] {
            let cmd = w.complete_with(right, proof);
            assert_eq!(w.run(cmd), Err(TransitionError::ProofMismatch));
            assert_eq!(w.state, before, "nothing counted, nothing changed");
        }
    }
    // The proof lives `setup_proof_ttl_secs` after the identity step, no longer.
    let created = w
        .state
        .link
        .as_ref()
        .and_then(|l| l.candidate.as_ref())
        .unwrap()
        .created_at;
    w.now = created.saturating_add_secs(w.config.setup_proof_ttl_secs());
    for right in [true, false] {
        let cmd = w.complete_with(right, held);
        assert_eq!(w.run(cmd), Err(TransitionError::ProofMismatch));
    }
    assert_eq!(w.state, before);
    w.now = created.saturating_add_secs(w.config.setup_proof_ttl_secs() - 1);
    let cmd = w.complete_with(true, held);
    assert!(matches!(
        only(&w.run(cmd).unwrap()),
        Event::Enrolled {
            purpose: LinkPurpose::Reset,
            ..
        }
    ));
}

/// SETUP-1: a candidate stored before proofs existed has none; it cannot be completed
/// until the identity step is repeated.
#[test]
fn setup_1_a_candidate_without_a_proof_needs_a_new_identity_step() {
    let mut w = World::confirming(44);
    if let Some(c) = w.state.link.as_mut().and_then(|l| l.candidate.as_mut()) {
        c.proof_hash = None;
    }
    let before = w.state.clone();
    let proof = w.proofs[0];
    let cmd = w.complete_with(true, proof);
    assert_eq!(w.run(cmd), Err(TransitionError::ProofMismatch));
    assert_eq!(w.state, before);
    let cmd = w.confirm();
    w.run(cmd).unwrap();
    let cmd = w.complete(true);
    assert!(matches!(only(&w.run(cmd).unwrap()), Event::Enrolled { .. }));
}

/// SETUP-1: the proof lifetime follows the configuration.
#[test]
fn setup_1_the_proof_lifetime_is_configurable() {
    let cfg = LifecycleConfig::builder()
        .setup_proof_ttl_secs(60)
        .build()
        .unwrap();
    let mut w = World::with_config(45, cfg);
    let cmd = w.enable();
    w.run(cmd).unwrap();
    let cmd = w.confirm();
    w.run(cmd).unwrap();
    w.advance(60);
    let cmd = w.complete(true);
    assert_eq!(w.run(cmd), Err(TransitionError::ProofMismatch));
    let cmd = w.confirm();
    w.run(cmd).unwrap();
    w.advance(59);
    let cmd = w.complete(true);
    assert!(matches!(only(&w.run(cmd).unwrap()), Event::Enrolled { .. }));
}

/// T-RST-7: the lock (reached by login codes) invalidates the pending reset link; a locked
/// admin completes a reset with a new link, which clears the lock. A wrong code on that new
/// link counts on the link, never towards the lock (SETUP-2).
#[test]
fn reset_out_of_a_lock() {
    let mut w = World::resetting(15);
    w.fail_logins(w.config.lock_after());
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
    let cmd = w.complete(false);
    assert!(matches!(
        only(&w.run(cmd).unwrap()),
        Event::SetupFailed { failures: 1, .. }
    ));
    assert!(w.state.is_locked() && w.state.link.is_some());
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

/// RST-8 (issue 10, item 3): an admin reset of an admin for whom MFA was optional makes it
/// required, so the password alone never signs the target in afterwards, also when the
/// setup e-mail is rate-limited. An existing requirement is left as it was.
#[test]
fn rst_8_admin_reset_makes_mfa_required() {
    let mut w = World::enrolled(46);
    let by = w.boss;
    w.run(Command::RemoveRequirement {
        by,
        global_required: false,
    })
    .unwrap();
    assert_eq!(w.state.login_step(), LoginStep::MfaChallenge);
    let cmd = w.admin_reset();
    let ev = w.run(cmd).unwrap();
    assert!(
        matches!(
            ev.as_slice(),
            [
                Event::FactorRemoved { by: b1, .. },
                Event::RequirementSet {
                    by: Some(b2),
                    source: RequirementSource::AdminReset,
                    ..
                },
                Event::LinkIssued(l),
            ] if *b1 == by && *b2 == by && l.purpose == LinkPurpose::Setup
        ),
        "{ev:?}"
    );
    assert!(!w.state.is_enrolled());
    assert_eq!(
        w.state.requirement,
        Requirement::Required {
            since: w.now,
            by: Some(by)
        }
    );
    assert_eq!(w.state.login_step(), LoginStep::SetupRequired);

    // The setup e-mail is rate-limited: the requirement is set all the same.
    // Setup links live 1 s, so each Enable finds the previous link expired and sends one.
    let mut w = World::with_setup_link_ttl(47, 1);
    for _ in 0..w.config.emails_per_window() {
        let cmd = w.enable();
        w.run(cmd).unwrap();
        w.advance(1);
    }
    w.run(Command::RemoveRequirement {
        by,
        global_required: false,
    })
    .unwrap();
    assert_eq!(w.state.login_step(), LoginStep::Complete);
    let cmd = w.admin_reset();
    let ev = w.run(cmd).unwrap();
    assert!(
        matches!(
            ev.as_slice(),
            [
                Event::FactorRemoved { .. },
                Event::RequirementSet {
                    source: RequirementSource::AdminReset,
                    ..
                },
                Event::LinkRateLimited { .. },
            ]
        ),
        "{ev:?}"
    );
    assert_eq!(w.state.login_step(), LoginStep::SetupRequired);

    // Already required: the requirement (and its `since`) is left as it was.
    let mut w = World::enrolled(48);
    let requirement = w.state.requirement;
    w.advance(100);
    let cmd = w.admin_reset();
    let ev = w.run(cmd).unwrap();
    assert!(!ev.iter().any(|e| matches!(e, Event::RequirementSet { .. })));
    assert_eq!(w.state.requirement, requirement);
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
    // The first candidate's proof went with it (SETUP-1).
    let ev = w.run(Command::CompleteSetup {
        recovery: None,
        purpose,
        token_hash,
        proof: w.proofs[0],
        code: stale.clone(),
    });
    assert_eq!(ev, Err(TransitionError::ProofMismatch));
    let ev = w
        .run(Command::CompleteSetup {
            recovery: None,
            purpose,
            token_hash,
            proof: w.held_proof(),
            code: stale,
        })
        .unwrap();
    assert!(matches!(only(&ev), Event::SetupFailed { .. }));
    let cmd = w.complete(true);
    assert!(matches!(only(&w.run(cmd).unwrap()), Event::Enrolled { .. }));
    assert_eq!(w.active_secret(), Some(second));
}

/// TOK-2..4, T-TOK-2/4/5: purpose binding, expiry boundary, single use, newer link revokes.
#[test]
fn link_rules() {
    let mut w = World::confirming(19);
    let hash = w.link_hash();
    let proof = w.held_proof();
    let code = w.complete(true);
    let Command::CompleteSetup {
        recovery: None,
        code,
        ..
    } = code
    else {
        panic!()
    };
    // Wrong purpose.
    let err = w
        .decide(Command::CompleteSetup {
            recovery: None,
            purpose: LinkPurpose::Reset,
            token_hash: hash,
            proof,
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
        proof,
    });
    assert!(ok.is_ok());
    w.now = expires;
    let err = w
        .decide(Command::CompleteSetup {
            recovery: None,
            purpose: LinkPurpose::Setup,
            token_hash: hash,
            proof,
            code: code.clone(),
        })
        .unwrap_err();
    assert_eq!(err, TransitionError::InvalidLink(LinkRejection::Expired));
    // Back inside the lifetime: asking for a setup link again keeps the one that still
    // works (LNK-1), and a newer link (here an admin reset's) revokes the older token.
    w.now = UnixTime::from_secs(common::T0 + 60);
    let cmd = w.issue_setup_link();
    assert_eq!(w.run(cmd).unwrap(), []);
    assert_eq!(w.link_hash(), hash);
    let cmd = w.admin_reset();
    w.run(cmd).unwrap();
    assert_ne!(w.link_hash(), hash);
    let err = w
        .decide(Command::CompleteSetup {
            recovery: None,
            purpose: LinkPurpose::Setup,
            token_hash: hash,
            proof,
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
            recovery: None,
            purpose: LinkPurpose::Setup,
            token_hash: hash2,
            proof: w.proofs[w.proofs.len() - 1],
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
/// Setup links live 60 s here, so each request finds the previous link expired and takes
/// the e-mail path (a setup link that still works is kept instead, LNK-1).
#[test]
fn link_emails_are_rate_limited() {
    let mut w = World::with_setup_link_ttl(21, 60);
    let cmd = w.enable(); // 1st
    w.run(cmd).unwrap();
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
    assert_eq!(w.state, before, "no new link, nothing changed");
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

/// LNK-1: a login (`IssueSetupLink`) or an `Enable` while a setup link that still works is
/// pending changes nothing, so the link in the admin's inbox keeps working; an expired or
/// stale setup link, or a reset link, is replaced by a new setup link.
#[test]
fn lnk_1_a_setup_link_that_still_works_is_kept() {
    let mut w = World::enabled(27);
    let hash = w.link_hash();
    let before = w.state.clone();
    w.advance(60);
    let cmd = w.issue_setup_link();
    assert_eq!(w.run(cmd).unwrap(), []);
    let cmd = w.enable();
    assert_eq!(w.run(cmd).unwrap(), []);
    assert_eq!(
        w.state, before,
        "the pending link and the e-mail log are untouched"
    );
    // The first e-mail's link still opens and completes the enrolment.
    let cmd = w.confirm();
    assert!(
        matches!(only(&w.run(cmd).unwrap()), Event::CandidateStored { token_hash, .. } if *token_hash == hash)
    );
    let cmd = w.complete(true);
    assert!(
        matches!(only(&w.run(cmd).unwrap()), Event::Enrolled { token_hash, .. } if *token_hash == hash)
    );

    // One second before expiry the link still works; at expiry a new one is issued.
    let mut w = World::enabled(28);
    let hash = w.link_hash();
    let expires = w.state.link.as_ref().unwrap().expires_at;
    w.now = expires.saturating_sub_secs(1);
    let cmd = w.issue_setup_link();
    assert_eq!(w.run(cmd).unwrap(), []);
    w.now = expires;
    let cmd = w.issue_setup_link();
    let ev = w.run(cmd).unwrap();
    assert!(
        matches!(only(&ev), Event::LinkIssued(l) if l.purpose == LinkPurpose::Setup && l.token_hash != hash)
    );
    assert_ne!(w.link_hash(), hash);

    // A stale setup link (from an older credential epoch) no longer works: replaced.
    let mut w = World::enabled(29);
    w.state.credential_epoch += 1;
    let cmd = w.issue_setup_link();
    let ev = w.run(cmd).unwrap();
    assert!(
        matches!(only(&ev), Event::LinkIssued(l) if l.epoch_at_issue == w.state.credential_epoch)
    );
    let cmd = w.confirm();
    assert!(w.run(cmd).is_ok(), "the new link opens");

    // A reset link is not a setup link (a state only an old or hand-built record holds).
    let mut w = World::resetting(30);
    w.state.factor = admin_mfa_lifecycle::Factor::None;
    let cmd = w.issue_setup_link();
    let ev = w.run(cmd).unwrap();
    assert!(matches!(only(&ev), Event::LinkIssued(l) if l.purpose == LinkPurpose::Setup));
}

/// REQ-1, T-REQ-1/2: require is idempotent and leaves an in-flight enrolment alone.
#[test]
fn require_is_idempotent_and_leaves_enrolment_alone() {
    let mut w = World::confirming(23);
    let by = w.boss;
    let mut w2 = World::new(24);
    assert!(matches!(
        only(&w2.run(Command::Require { by, deadline: None }).unwrap()),
        Event::RequirementSet { .. }
    ));
    assert!(
        w2.run(Command::Require { by, deadline: None })
            .unwrap()
            .is_empty()
    );
    assert!(w2.state.link.is_none(), "require alone sends no setup link");
    let before = w.state.clone();
    // Un-required while the QR is shown (the link stays), then required again in bulk.
    w.run(Command::RemoveRequirement {
        by,
        global_required: false,
    })
    .unwrap();
    assert_eq!(w.state.link, before.link);
    w.run(Command::Require { by, deadline: None }).unwrap();
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
    let ctx = admin_mfa_lifecycle::DecideContext::new(w.admin, &w.config, &other);
    let err = admin_mfa_lifecycle::decide(&w.state, cmd, w.now, &ctx).unwrap_err();
    assert_eq!(
        err,
        TransitionError::Seal(SealError::Decrypt(KeyId::new(1)))
    );
    let rotated = KeyRing::new(SealingKey::new(KeyId::new(2), [0x55; 32]));
    let cmd = w.verify(true);
    let ctx = admin_mfa_lifecycle::DecideContext::new(w.admin, &w.config, &rotated);
    let err = admin_mfa_lifecycle::decide(&w.state, cmd, w.now, &ctx).unwrap_err();
    assert_eq!(
        err,
        TransitionError::Seal(SealError::UnknownKey(KeyId::new(1)))
    );
    // Another admin's context cannot open this admin's secret either.
    let cmd = w.verify(true);
    let ctx =
        admin_mfa_lifecycle::DecideContext::new(AdminId::from_bytes([7; 16]), &w.config, &w.keys);
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
    let mut w = World::new(30);
    assert_eq!(w.state.login_step(), LoginStep::Complete);
    let by = w.boss;
    w.run(Command::Require { by, deadline: None }).unwrap();
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
    // RST-8: an admin reset leaves the target needing a setup, never the password alone.
    let cmd = w.admin_reset();
    w.run(cmd).unwrap();
    assert_eq!(w.state.login_step(), LoginStep::SetupRequired);
}
