//! The wrong-password limiter (RL-4, RST-1, T-RST-2, T-RL-4, T-RL-5, RL-8): its own
//! counter, counted when an attempt is reserved (before the hash is checked), delays without
//! a lock, cleared by a correct password, never mixed with the code counter.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

use proptest::prelude::*;

use admin_mfa_lifecycle::{
    AdminId, AuditKind, Command, DecideContext, Event, Failures, KeyId, KeyRing, LifecycleConfig,
    LinkPurpose, MfaState, PasswordCheck, PasswordFailures, SealingKey, UnixTime, execute,
};

const T0: UnixTime = UnixTime::from_secs(1_700_000_000);

fn run(
    state: &MfaState,
    command: Command,
    now: UnixTime,
    config: &LifecycleConfig,
) -> (MfaState, Vec<Event>) {
    let keys = KeyRing::new(SealingKey::new(KeyId::new(1), [3; 32]));
    let ctx = DecideContext::new(AdminId::from_bytes([1; 16]), config, &keys);
    execute(state, command, now, &ctx).unwrap()
}

const RESERVE_LOGIN: Command = Command::ReservePassword {
    check: PasswordCheck::Login,
};

/// RL-8: every attempt outside a delay is counted when it is reserved, before any hash is
/// checked; from `password_delay_after` attempts the next one inside the delay is refused
/// unchecked and not counted; the delay doubles, never locks, and leaves the code counter.
#[test]
fn attempts_count_when_reserved_delay_from_the_threshold_and_never_lock() {
    let config = LifecycleConfig::default();
    let mut state = MfaState::new();
    // A code-counter run that must survive every password event untouched.
    state.failures = Failures {
        consecutive: 3,
        last_failure_at: Some(T0),
        locked: false,
    };
    let code_counter = state.failures;
    let mut now = T0;
    for n in 1..=30_u32 {
        let check = if n % 2 == 0 {
            PasswordCheck::Login
        } else {
            PasswordCheck::Link(LinkPurpose::Reset)
        };
        let (next, events) = run(&state, Command::ReservePassword { check }, now, &config);
        assert_eq!(
            events,
            [Event::PasswordAttempted {
                check,
                attempts: n,
                at: now
            }]
        );
        assert!(events[0].changes_state(), "the reservation is written");
        state = next;
        assert_eq!(state.password_failures.consecutive, n);
        assert_eq!(state.password_failures.last_failure_at, Some(now));
        assert_eq!(state.failures, code_counter, "the code counter never moves");
        assert!(!state.is_locked(), "password attempts never lock");
        if n < config.password_delay_after() {
            assert_eq!(state.password_failures.delayed_until(now, &config), None);
            now = now.saturating_add_secs(1);
            continue;
        }
        let until = now.saturating_add_secs(config.password_delay_secs(n));
        assert_eq!(
            state.password_failures.delayed_until(now, &config),
            Some(until)
        );
        // Inside the delay (at once, and one second before its end): refused unchecked,
        // audited, not counted.
        for inside in [now, until.saturating_sub_secs(1)] {
            let (same, events) = run(&state, Command::ReservePassword { check }, inside, &config);
            assert_eq!(
                events,
                [Event::PasswordDelayed {
                    check,
                    until,
                    at: inside
                }]
            );
            assert!(!events[0].changes_state());
            assert_eq!(same, state);
        }
        // At the end of the delay the next attempt is reserved (the loop's next round).
        now = until;
    }
    assert_eq!(config.password_delay_secs(30), 3_600, "capped at one hour");
}

/// RL-8 at the threshold: the tenth reservation is still checked, the eleventh in the same
/// instant is not, and a correct password among the first ten clears the count.
#[test]
fn rl_8_the_threshold_attempt_is_checked_the_next_is_refused() {
    let config = LifecycleConfig::default();
    let after = config.password_delay_after();
    let mut state = MfaState::new();
    for n in 1..=after {
        let (next, events) = run(&state, RESERVE_LOGIN, T0, &config);
        assert_eq!(
            events,
            [Event::PasswordAttempted {
                check: PasswordCheck::Login,
                attempts: n,
                at: T0
            }]
        );
        state = next;
    }
    let (same, events) = run(&state, RESERVE_LOGIN, T0, &config);
    assert!(matches!(events.as_slice(), [Event::PasswordDelayed { .. }]));
    assert_eq!(same, state);
    // The checked password of one of those attempts was right: the count clears.
    let (cleared, events) = run(&state, Command::PasswordAccepted, T0, &config);
    assert_eq!(
        events,
        [Event::PasswordFailuresCleared {
            failures: after,
            at: T0
        }]
    );
    let (_, events) = run(&cleared, RESERVE_LOGIN, T0, &config);
    assert!(matches!(
        events.as_slice(),
        [Event::PasswordAttempted { attempts: 1, .. }]
    ));
}

/// The service's burst, sequentially as the store's compare-and-swap orders it: every
/// attempt is reserved before any hash is checked, at one instant.
fn burst(start: &MfaState, size: usize, config: &LifecycleConfig) -> (MfaState, usize) {
    let mut state = start.clone();
    let mut checked = 0;
    for _ in 0..size {
        let (next, events) = run(&state, RESERVE_LOGIN, T0, config);
        match events.as_slice() {
            [Event::PasswordAttempted { .. }] => checked += 1,
            [Event::PasswordDelayed { .. }] => assert_eq!(next, state),
            other => panic!("unexpected {other:?}"),
        }
        state = next;
    }
    (state, checked)
}

/// RL-8 (issue 10, item 1): forty-one passwords released at once against a counter at zero
/// get exactly ten real checks; the rest are refused unchecked.
#[test]
fn rl_8_a_burst_of_41_gets_ten_checks() {
    let config = LifecycleConfig::default();
    let (state, checked) = burst(&MfaState::new(), 41, &config);
    assert_eq!(checked, 10);
    assert_eq!(state.password_failures.consecutive, 10);
}

proptest! {
    /// RL-8: a burst of any size at one instant, from any count below the threshold, gets
    /// exactly the attempts left before the threshold (or the whole burst, if smaller).
    #[test]
    fn rl_8_a_burst_never_gets_more_checks_than_the_threshold(
        after in 1_u32..=100,
        already in 0_u32..100,
        size in 0_usize..300,
    ) {
        let config = LifecycleConfig::builder().password_delay_after(after).build().unwrap();
        let already = already % after;
        let mut start = MfaState::new();
        if already > 0 {
            start.password_failures = PasswordFailures {
                consecutive: already,
                last_failure_at: Some(T0.saturating_sub_secs(1)),
            };
        }
        let (state, checked) = burst(&start, size, &config);
        let left = usize::try_from(after - already).unwrap();
        prop_assert_eq!(checked, size.min(left));
        prop_assert!(state.password_failures.consecutive <= after);
        prop_assert_eq!(state.failures, Failures::default());
    }
}

#[test]
fn a_correct_password_clears_only_the_password_counter() {
    let config = LifecycleConfig::default();
    let mut state = MfaState::new();
    state.failures = Failures {
        consecutive: 4,
        last_failure_at: Some(T0),
        locked: false,
    };
    state.password_failures = PasswordFailures {
        consecutive: 12,
        last_failure_at: Some(T0),
    };
    let (next, events) = run(&state, Command::PasswordAccepted, T0, &config);
    assert_eq!(
        events,
        [Event::PasswordFailuresCleared {
            failures: 12,
            at: T0
        }]
    );
    assert_eq!(next.password_failures, PasswordFailures::default());
    assert_eq!(
        next.failures, state.failures,
        "T-RL-4: the code count stays"
    );
    // At zero a correct password changes nothing and writes nothing.
    let (again, events) = run(&next, Command::PasswordAccepted, T0, &config);
    assert!(events.is_empty());
    assert_eq!(again, next);
}

#[test]
fn code_events_never_touch_the_password_counter() {
    let mut state = MfaState::new();
    state.password_failures = PasswordFailures {
        consecutive: 7,
        last_failure_at: Some(T0),
    };
    let mut locked = state.clone();
    locked.failures.consecutive = 9;
    // A wrong code counts on the code counter only.
    let after_code = admin_mfa_lifecycle::apply(
        locked.clone(),
        &Event::VerifyFailed {
            check: admin_mfa_lifecycle::CodeCheck::Login,
            failures: 10,
            at: T0,
        },
    );
    assert_eq!(after_code.failures.consecutive, 10);
    assert_eq!(after_code.password_failures, state.password_failures);
    let state_after = admin_mfa_lifecycle::apply(
        locked.clone(),
        &Event::Unlocked {
            by: AdminId::from_bytes([2; 16]),
            at: T0,
        },
    );
    assert_eq!(state_after.password_failures, state.password_failures);
    let after_lock = admin_mfa_lifecycle::apply(
        locked,
        &Event::LockedOut {
            failures: 10,
            at: T0,
            epoch: 1,
        },
    );
    assert_eq!(after_lock.password_failures, state.password_failures);
}

#[test]
fn audit_names_the_check_and_count_but_no_secret() {
    let config = LifecycleConfig::default();
    let state = MfaState::new();
    let check = PasswordCheck::Link(LinkPurpose::Setup);
    let (_, events) = run(&state, Command::ReservePassword { check }, T0, &config);
    let admin = admin_mfa_lifecycle::Admin::new(admin_mfa_lifecycle::AdminProfile {
        id: AdminId::from_bytes([1; 16]),
        org: admin_mfa_lifecycle::OrgId::from_bytes([9; 16]),
        email: admin_mfa_lifecycle::Email::parse("a@example.com").unwrap(),
        display_name: "A".to_owned(),
        role: admin_mfa_lifecycle::Role::Builtin(admin_mfa_lifecycle::BuiltinRole::Manager),
        password_hash: admin_mfa_lifecycle::PasswordHash::new(
            "$argon2id$v=19$m=19456,t=2,p=1$x$y".to_owned(),
        ),
        created_at: T0,
    });
    let audit = admin_mfa_lifecycle::audit_events(&admin, &events, None, T0);
    assert_eq!(
        audit[0].kind,
        AuditKind::PasswordAttempted { check, attempts: 1 }
    );
    assert!(admin_mfa_lifecycle::notifications(&admin, &events, T0, 0).is_empty());
}

#[test]
fn config_bounds() {
    let b = LifecycleConfig::builder;
    assert!(b().password_delay_after(0).build().is_err());
    assert!(b().password_delay_after(101).build().is_err());
    assert!(b().password_delay_after(100).build().is_ok());
    assert!(b().password_base_delay_secs(0).build().is_err());
    assert!(b().password_base_delay_secs(3_601).build().is_err());
}

/// State stored before the password counter existed still loads, with the counter at zero.
#[cfg(feature = "serde")]
#[test]
fn stored_state_without_the_counter_loads() {
    let mut state = MfaState::new();
    state.password_failures = PasswordFailures {
        consecutive: 2,
        last_failure_at: Some(T0),
    };
    let mut json: serde_json::Value = serde_json::to_value(&state).unwrap();
    assert!(json.get("password_failures").is_some());
    let round: MfaState = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(round, state);
    json.as_object_mut().unwrap().remove("password_failures");
    let old: MfaState = serde_json::from_value(json).unwrap();
    assert_eq!(old.password_failures, PasswordFailures::default());
}
