//! The (state × command) table: every command against every characteristic state.
//!
//! Each cell names the events `decide` returns (joined with `+`, `-` for none) or the error.
//! The expectations are written from DESIGN.md §3 and SECURITY.md, not recorded from a run.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

mod common;

use admin_mfa_lifecycle::{
    Command, Event, LinkPurpose, Nonce, RequirementSource, TokenHash, TransitionError,
};
use common::World;

fn name(e: &Event) -> String {
    match e {
        Event::RequirementSet {
            source: RequirementSource::Enable | RequirementSource::Require,
            ..
        } => "set".into(),
        Event::RequirementRemoved { .. } => "removed".into(),
        Event::LinkIssued(l) => format!("link:{}", l.purpose),
        Event::LinkRateLimited { .. } => "limited".into(),
        Event::CandidateStored { .. } => "candidate".into(),
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
        Event::PasswordFailed { .. } => "password-failed".into(),
        Event::PasswordDelayed { .. } => "password-delayed".into(),
        Event::PasswordFailuresCleared { .. } => "password-cleared".into(),
    }
}

fn summary(r: &Result<Vec<Event>, TransitionError>) -> String {
    match r {
        Ok(events) if events.is_empty() => "-".into(),
        Ok(events) => events.iter().map(name).collect::<Vec<_>>().join("+"),
        Err(e) => format!("E:{e:?}"),
    }
}

const COLUMNS: [&str; 14] = [
    "Enable",
    "Require",
    "RemoveRequirement",
    "RemoveRequirement(global)",
    "IssueSetupLink",
    "RequestReset",
    "ConfirmIdentity",
    "CompleteSetup(right)",
    "CompleteSetup(wrong)",
    "Verify(right)",
    "Verify(wrong)",
    "AdminReset",
    "Unlock",
    "Expire",
];

fn command(w: &mut World, column: usize) -> Command {
    match column {
        0 => w.enable(),
        1 => Command::Require { by: w.boss },
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
                }
            }
        }
        7 => w.complete(true),
        8 => w.complete(false),
        9 => w.verify(true),
        10 => w.verify(false),
        11 => w.admin_reset(),
        12 => Command::Unlock { by: w.boss },
        13 => Command::Expire,
        _ => panic!("no column {column}"),
    }
}

type Setup = fn() -> World;

const MISSING: &str = "E:InvalidLink(Missing)";
const RESET: &str = "factor-removed+link:setup";

#[rustfmt::skip]
fn rows() -> Vec<(&'static str, Setup, [&'static str; 14])> {
    vec![
        ("fresh", || World::new(1), [
            "set+link:setup", "set", "-", "-", "E:NotRequired", "E:NoActiveFactor",
            MISSING, MISSING, MISSING, "E:NoActiveFactor", "E:NoActiveFactor", RESET, "E:NotLocked", "-",
        ]),
        ("required, setup link", || World::enabled(2), [
            "link:setup", "-", "removed", "E:GloballyRequired", "link:setup", "E:NoActiveFactor",
            "candidate", "E:NoCandidate", "E:NoCandidate", "E:NoActiveFactor", "E:NoActiveFactor", RESET, "E:NotLocked", "-",
        ]),
        ("required, link + candidate", || World::confirming(3), [
            "-", "-", "removed", "E:GloballyRequired", "link:setup", "E:NoActiveFactor",
            "candidate", "enrolled:setup", "failed", "E:NoActiveFactor", "E:NoActiveFactor", RESET, "E:NotLocked", "-",
        ]),
        ("enrolled", || World::enrolled(4), [
            "-", "-", "removed", "E:GloballyRequired", "E:AlreadyEnrolled", "link:reset",
            MISSING, MISSING, MISSING, "verified", "failed", RESET, "E:NotLocked", "-",
        ]),
        ("self-service reset pending", || World::resetting(5), [
            "-", "-", "removed", "E:GloballyRequired", "E:AlreadyEnrolled", "link:reset",
            "candidate", "enrolled:reset", "failed", "verified", "failed", RESET, "E:NotLocked", "-",
        ]),
        ("enrolled, locked", locked, [
            "-", "-", "removed", "E:GloballyRequired", "E:AlreadyEnrolled", "link:reset",
            MISSING, MISSING, MISSING, "refused", "refused", RESET, "unlocked", "-",
        ]),
        ("enrolled, inside a delay", delayed, [
            "-", "-", "removed", "E:GloballyRequired", "E:AlreadyEnrolled", "link:reset",
            MISSING, MISSING, MISSING, "delayed", "delayed", RESET, "unlocked", "-",
        ]),
        ("required, link expired", expired, [
            "link:setup", "-", "removed", "E:GloballyRequired", "link:setup", "E:NoActiveFactor",
            "E:InvalidLink(Expired)", "E:InvalidLink(Expired)", "E:InvalidLink(Expired)",
            "E:NoActiveFactor", "E:NoActiveFactor", RESET, "E:NotLocked", "expired",
        ]),
        ("enrolled, not required", optional, [
            "set", "set", "-", "-", "E:AlreadyEnrolled", "link:reset",
            MISSING, MISSING, MISSING, "verified", "failed", RESET, "E:NotLocked", "-",
        ]),
        ("unenrolled, locked at enrolment", unenrolled_locked, [
            "link:setup", "-", "removed", "E:GloballyRequired", "link:setup", "E:NoActiveFactor",
            MISSING, MISSING, MISSING, "E:NoActiveFactor", "E:NoActiveFactor", RESET, "unlocked", "-",
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

fn expired() -> World {
    let mut w = World::enabled(8);
    w.advance(w.config.setup_link_ttl_secs());
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

fn unenrolled_locked() -> World {
    let mut w = World::confirming(10);
    for _ in 0..10 {
        if let Some(until) = w.state.failures.delayed_until(w.now, &w.config) {
            w.now = until;
        }
        let cmd = w.complete(false);
        w.run(cmd).unwrap();
    }
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
