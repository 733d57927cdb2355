//! The (state × command) table: every command against every characteristic state.
//!
//! Each cell names the events `decide` returns (joined with `+`, `-` for none) or the error.
//! The expectations are written from docs/ARCHITECTURE.md §3 and docs/SECURITY.md, not recorded from a run.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

mod common;

use admin_mfa_lifecycle::{
    Command, Event, Failures, LinkPurpose, Nonce, PasswordCheck, TokenHash, TransitionError, apply,
};
use common::World;

fn name(e: &Event) -> String {
    match e {
        Event::RequirementSet { .. } => "set".into(),
        Event::RequirementRemoved { .. } => "removed".into(),
        Event::LinkIssued(l) => format!("link:{}", l.purpose),
        Event::LinkRateLimited { .. } => "limited".into(),
        Event::CandidateStored { .. } => "candidate".into(),
        Event::SetupFailed { .. } => "setup-failed".into(),
        Event::LinkVoided { .. } => "voided".into(),
        Event::Enrolled { purpose, .. } => format!("enrolled:{purpose}"),
        Event::Verified { .. } => "verified".into(),
        Event::VerifyFailed { .. } => "failed".into(),
        Event::Replayed { .. } => "replayed".into(),
        Event::Delayed { .. } => "delayed".into(),
        Event::RefusedLocked { .. } => "refused".into(),
        Event::LockedOut { .. } => "locked".into(),
        Event::Unlocked { .. } => "unlocked".into(),
        Event::FactorRemoved { .. } => "factor-removed".into(),
        Event::LinkExpired { .. } => "expired".into(),
        Event::PasswordAttempted { .. } => "password-attempted".into(),
        Event::PasswordDelayed { .. } => "password-delayed".into(),
        Event::PasswordFailuresCleared { .. } => "password-cleared".into(),
        Event::RecoveryCodesIssued { .. } => "recovery-issued".into(),
        Event::RecoveryCodeUsed { .. } => "recovery-used".into(),
        Event::SetupDeadlineSet { .. } => "deadline".into(),
    }
}

fn summary(r: &Result<Vec<Event>, TransitionError>) -> String {
    match r {
        Ok(events) if events.is_empty() => "-".into(),
        Ok(events) => events.iter().map(name).collect::<Vec<_>>().join("+"),
        Err(e) => format!("E:{e:?}"),
    }
}

const COLUMNS: [&str; 17] = [
    "Enable",
    "Require",
    "RemoveRequirement",
    "RemoveRequirement(global)",
    "IssueSetupLink",
    "RequestReset",
    "ConfirmIdentity",
    "CompleteSetup(right)",
    "CompleteSetup(wrong)",
    "CompleteSetup(right code, forged proof)",
    "Verify(right)",
    "Verify(wrong)",
    "AdminReset",
    "Unlock",
    "Expire",
    "ReservePassword",
    "PasswordAccepted",
];

fn command(w: &mut World, column: usize) -> Command {
    match column {
        0 => w.enable(),
        1 => Command::Require {
            by: w.boss,
            deadline: None,
        },
        2 => Command::RemoveRequirement {
            by: w.boss,
            global_required: false,
        },
        3 => Command::RemoveRequirement {
            by: w.boss,
            global_required: true,
        },
        4 => w.issue_setup_link(),
        5 => w.request_reset(),
        6 => {
            if w.state.link.is_some() {
                w.confirm()
            } else {
                let secret = w.new_secret();
                Command::ConfirmIdentity {
                    purpose: LinkPurpose::Setup,
                    token_hash: TokenHash::from_bytes([0; 32]),
                    secret,
                    nonce: Nonce::from_bytes([0; 12]),
                    proof: TokenHash::from_bytes([1; 32]),
                }
            }
        }
        7 => w.complete(true),
        8 => w.complete(false),
        9 => {
            let forged = w.forged_proof();
            w.complete_with(true, forged)
        }
        10 => w.verify(true),
        11 => w.verify(false),
        12 => w.admin_reset(),
        13 => Command::Unlock { by: w.boss },
        14 => Command::Expire,
        15 => Command::ReservePassword {
            check: PasswordCheck::Login,
        },
        16 => Command::PasswordAccepted,
        _ => panic!("no column {column}"),
    }
}

type Setup = fn() -> World;

const MISSING: &str = "E:InvalidLink(Missing)";
const EXPIRED: &str = "E:InvalidLink(Expired)";
const STALE: &str = "E:InvalidLink(Stale)";
const PROOF: &str = "E:ProofMismatch";
const RESET: &str = "factor-removed+link:setup";
/// RST-8: an admin reset of an admin for whom MFA was optional also makes it required.
const RESET_REQUIRES: &str = "factor-removed+set+link:setup";
/// RL-8: outside a password delay every attempt is counted before its check.
const ATTEMPT: &str = "password-attempted";

#[rustfmt::skip]
fn rows() -> Vec<(&'static str, Setup, [&'static str; 17])> {
    vec![
        ("fresh", || World::new(1), [
            "set+link:setup", "set", "-", "-", "E:NotRequired", "E:NoActiveFactor",
            MISSING, MISSING, MISSING, MISSING, "E:NoActiveFactor", "E:NoActiveFactor",
            RESET_REQUIRES, "E:NotLocked", "-", ATTEMPT, "-",
        ]),
        // LNK-1: a setup link that still works is kept; nothing new is issued over it.
        ("required, setup link", || World::enabled(2), [
            "-", "-", "removed", "E:GloballyRequired", "-", "E:NoActiveFactor",
            "candidate", "E:NoCandidate", "E:NoCandidate", "E:NoCandidate", "E:NoActiveFactor",
            "E:NoActiveFactor", RESET, "E:NotLocked", "-", ATTEMPT, "-",
        ]),
        ("required, link + candidate", || World::confirming(3), [
            "-", "-", "removed", "E:GloballyRequired", "-", "E:NoActiveFactor",
            "candidate", "enrolled:setup", "setup-failed", PROOF, "E:NoActiveFactor",
            "E:NoActiveFactor", RESET, "E:NotLocked", "-", ATTEMPT, "-",
        ]),
        ("link + candidate, proof expired", proof_expired, [
            "-", "-", "removed", "E:GloballyRequired", "-", "E:NoActiveFactor",
            "candidate", PROOF, PROOF, PROOF, "E:NoActiveFactor",
            "E:NoActiveFactor", RESET, "E:NotLocked", "-", ATTEMPT, "-",
        ]),
        ("link + candidate, one wrong code from voiding", one_from_voiding, [
            "-", "-", "removed", "E:GloballyRequired", "-", "E:NoActiveFactor",
            "candidate", "enrolled:setup", "setup-failed+voided", PROOF, "E:NoActiveFactor",
            "E:NoActiveFactor", RESET, "E:NotLocked", "-", ATTEMPT, "-",
        ]),
        ("required, setup link voided", voided, [
            "link:setup", "-", "removed", "E:GloballyRequired", "link:setup", "E:NoActiveFactor",
            MISSING, MISSING, MISSING, MISSING, "E:NoActiveFactor", "E:NoActiveFactor",
            RESET, "E:NotLocked", "-", ATTEMPT, "-",
        ]),
        // LNK-1: a stale setup link no longer works, so a new one replaces it.
        ("required, setup link stale", stale, [
            "link:setup", "-", "removed", "E:GloballyRequired", "link:setup", "E:NoActiveFactor",
            STALE, STALE, STALE, STALE, "E:NoActiveFactor", "E:NoActiveFactor",
            RESET, "E:NotLocked", "-", ATTEMPT, "-",
        ]),
        ("enrolled", || World::enrolled(4), [
            "-", "-", "removed", "E:GloballyRequired", "E:AlreadyEnrolled", "link:reset",
            MISSING, MISSING, MISSING, MISSING, "verified", "failed",
            RESET, "E:NotLocked", "-", ATTEMPT, "-",
        ]),
        ("self-service reset pending", || World::resetting(5), [
            "-", "-", "removed", "E:GloballyRequired", "E:AlreadyEnrolled", "link:reset",
            "candidate", "enrolled:reset", "setup-failed", PROOF, "verified", "failed",
            RESET, "E:NotLocked", "-", ATTEMPT, "-",
        ]),
        ("enrolled, locked", locked, [
            "-", "-", "removed", "E:GloballyRequired", "E:AlreadyEnrolled", "link:reset",
            MISSING, MISSING, MISSING, MISSING, "refused", "refused",
            RESET, "unlocked", "-", ATTEMPT, "-",
        ]),
        ("enrolled, inside a delay", delayed, [
            "-", "-", "removed", "E:GloballyRequired", "E:AlreadyEnrolled", "link:reset",
            MISSING, MISSING, MISSING, MISSING, "delayed", "delayed",
            RESET, "unlocked", "-", ATTEMPT, "-",
        ]),
        ("enrolled, inside a password delay", password_delayed, [
            "-", "-", "removed", "E:GloballyRequired", "E:AlreadyEnrolled", "link:reset",
            MISSING, MISSING, MISSING, MISSING, "verified", "failed",
            RESET, "E:NotLocked", "-", "password-delayed", "password-cleared",
        ]),
        ("required, link expired", expired, [
            "link:setup", "-", "removed", "E:GloballyRequired", "link:setup", "E:NoActiveFactor",
            EXPIRED, EXPIRED, EXPIRED, EXPIRED, "E:NoActiveFactor", "E:NoActiveFactor",
            RESET, "E:NotLocked", "expired", ATTEMPT, "-",
        ]),
        ("enrolled, not required", optional, [
            "set", "set", "-", "-", "E:AlreadyEnrolled", "link:reset",
            MISSING, MISSING, MISSING, MISSING, "verified", "failed",
            RESET_REQUIRES, "E:NotLocked", "-", ATTEMPT, "-",
        ]),
        ("unenrolled, locked (stored before SETUP-2)", unenrolled_locked, [
            "link:setup", "-", "removed", "E:GloballyRequired", "link:setup", "E:NoActiveFactor",
            MISSING, MISSING, MISSING, MISSING, "E:NoActiveFactor", "E:NoActiveFactor",
            RESET, "unlocked", "-", ATTEMPT, "-",
        ]),
    ]
}

fn locked() -> World {
    let mut w = World::enrolled(6);
    w.fail_logins(10);
    assert!(w.state.is_locked());
    w
}

fn delayed() -> World {
    let mut w = World::enrolled(7);
    w.fail_logins(5);
    assert!(w.state.failures.delayed_until(w.now, &w.config).is_some());
    w
}

fn password_delayed() -> World {
    let mut w = World::enrolled(11);
    for _ in 0..w.config.password_delay_after() {
        w.run(Command::ReservePassword {
            check: PasswordCheck::Login,
        })
        .unwrap();
    }
    assert!(
        w.state
            .password_failures
            .delayed_until(w.now, &w.config)
            .is_some()
    );
    w
}

fn expired() -> World {
    let mut w = World::enabled(8);
    w.advance(w.config.setup_link_ttl_secs());
    w
}

/// A setup link from an older credential epoch (as if the credential changed after issue
/// without the link being dropped): it no longer opens.
fn stale() -> World {
    let mut w = World::enabled(15);
    w.state.credential_epoch += 1;
    assert!(w.state.live_link(w.now).is_some(), "unexpired, but stale");
    w
}

fn proof_expired() -> World {
    let mut w = World::confirming(12);
    w.advance(w.config.setup_proof_ttl_secs());
    assert!(
        w.state.live_link(w.now).is_some(),
        "the link itself is live"
    );
    w
}

fn one_from_voiding() -> World {
    let mut w = World::confirming(13);
    w.fail_setup(w.config.setup_attempts() - 1);
    w
}

fn voided() -> World {
    let mut w = World::confirming(14);
    w.fail_setup(w.config.setup_attempts());
    assert!(w.state.link.is_none() && w.state.failures == Failures::default());
    w
}

fn optional() -> World {
    let mut w = World::enrolled(9);
    let by = w.boss;
    w.run(Command::RemoveRequirement {
        by,
        global_required: false,
    })
    .unwrap();
    w
}

/// Before SETUP-2, wrong setup codes counted on the login counter and could lock an admin
/// who had no factor yet; such states may still be stored, so they keep their row.
fn unenrolled_locked() -> World {
    let mut w = World::confirming(10);
    let epoch = w.state.credential_epoch + 1;
    let at = w.now;
    w.state = apply(
        w.state.clone(),
        &Event::LockedOut {
            failures: 10,
            at,
            epoch,
        },
    );
    assert!(w.state.is_locked() && w.state.link.is_none() && !w.state.is_enrolled());
    w
}

#[test]
fn state_by_command_table() {
    let mut mismatches = Vec::new();
    for (row, setup, expected) in rows() {
        for (col, want) in expected.iter().enumerate() {
            let mut w = setup();
            let before = w.state.clone();
            let cmd = command(&mut w, col);
            let result = w.decide(cmd);
            // decide never changes the state it reads, and stamps every event with `now`.
            assert_eq!(w.state, before);
            if let Ok(events) = &result {
                assert!(events.iter().all(|e| e.at() == w.now), "{events:?}");
            }
            let got = summary(&result);
            if got != *want {
                mismatches.push(format!(
                    "[{row}] × {}: expected {want}, got {got}",
                    COLUMNS[col]
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}

/// Informational events leave the state alone; errors leave it alone by construction.
#[test]
fn refusals_do_not_change_state() {
    for (_, setup, _) in rows() {
        for (col, column) in COLUMNS.iter().enumerate() {
            let mut w = setup();
            let before = w.state.clone();
            let cmd = command(&mut w, col);
            if let Ok(events) = w.decide(cmd)
                && events.iter().all(|e| !e.changes_state())
            {
                let after = admin_mfa_lifecycle::apply_all(before.clone(), &events);
                assert_eq!(after, before, "{column}");
            }
        }
    }
}
