//! Recovery codes in the state machine (REC-1..REC-6): issued with a completed set-up,
//! single use in any order, counted like login codes, replaced by a new set or a reset,
//! bound to their key and admin.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

mod common;

use admin_mfa_lifecycle::{
    AdminId, AuditKind, Code, CodeCheck, Command, Event, KeyId, KeyRing, NotificationDetail,
    NotificationKind, RecoveryCodes, SealError, SealingKey, TransitionError, audit_events,
    notifications,
};
use common::World;

/// `complete` (a `CompleteSetup`) bringing `codes`.
fn bringing(complete: Command, codes: &RecoveryCodes) -> Command {
    let Command::CompleteSetup {
        purpose,
        token_hash,
        proof,
        code,
        ..
    } = complete
    else {
        unreachable!()
    };
    Command::CompleteSetup {
        purpose,
        token_hash,
        proof,
        code,
        recovery: Some(codes.clone()),
    }
}

/// Enrolled through a setup link that came with `codes`.
fn enrolled_with(seed: u64) -> (World, RecoveryCodes) {
    let mut w = World::confirming(seed);
    let codes = RecoveryCodes::generate(&mut w.rng);
    let cmd = bringing(w.complete(true), &codes);
    let events = w.run(cmd).unwrap();
    assert!(matches!(
        events.as_slice(),
        [Event::Enrolled { .. }, Event::RecoveryCodesIssued { .. }]
    ));
    w.advance(30);
    (w, codes)
}

fn use_code(w: &mut World, typed: &str) -> Vec<Event> {
    w.run(Command::VerifyRecoveryCode {
        code: Code::new(typed),
    })
    .unwrap()
}

fn nth(codes: &RecoveryCodes, i: usize) -> String {
    codes.formatted().nth(i).unwrap().to_string()
}

/// REC-1, REC-2: a completed set-up stores ten keyed hashes under the current key, and
/// nothing of the codes themselves.
#[test]
fn rec_1_2_setup_stores_ten_keyed_hashes_only() {
    let (w, codes) = enrolled_with(1);
    let set = w.state.recovery.as_ref().unwrap();
    assert_eq!(set.remaining(), 10);
    assert_eq!(set.key_id, KeyId::new(1));
    let debug = format!("{:?}", w.state);
    for shown in codes.formatted() {
        assert!(!debug.contains(shown.as_str()));
        assert!(!debug.contains(&shown.replace('-', "")));
    }
}

/// REC-3: any code, in any order, once; typed in any case, with spaces or dashes; a used
/// one is a counted failure, and so is a malformed one.
#[test]
fn rec_3_codes_work_once_in_any_order_and_failures_count() {
    let (mut w, codes) = enrolled_with(2);
    let seventh = nth(&codes, 7).to_lowercase().replace('-', " ");
    assert!(matches!(
        use_code(&mut w, &seventh).as_slice(),
        [Event::RecoveryCodeUsed { remaining: 9, .. }]
    ));
    assert!(matches!(
        use_code(&mut w, &nth(&codes, 0).replace('-', "")).as_slice(),
        [Event::RecoveryCodeUsed { remaining: 8, .. }]
    ));
    // The seventh again: used up, counted as a failure on the login counter.
    assert!(matches!(
        use_code(&mut w, &seventh).as_slice(),
        [Event::VerifyFailed {
            check: CodeCheck::RecoveryCode,
            failures: 1,
            ..
        }]
    ));
    assert!(matches!(
        use_code(&mut w, "not-a-code").as_slice(),
        [Event::VerifyFailed { failures: 2, .. }]
    ));
    // A right one clears the counter, like a right login code.
    assert!(matches!(
        use_code(&mut w, &nth(&codes, 3)).as_slice(),
        [Event::RecoveryCodeUsed { remaining: 7, .. }]
    ));
    assert_eq!(w.state.failures.consecutive, 0);
    assert_eq!(w.state.recovery_codes_left(), 7);
}

/// REC-3: recovery codes share the login counter: wrong ones delay and lock like wrong
/// TOTP codes, and a locked factor refuses even a right recovery code, unchecked.
#[test]
fn rec_3_wrong_codes_delay_and_lock_on_the_login_counter() {
    let (mut w, codes) = enrolled_with(3);
    w.fail_logins(4);
    let wrong = RecoveryCodes::generate(&mut w.rng);
    assert!(matches!(
        use_code(&mut w, &nth(&wrong, 0)).as_slice(),
        [Event::VerifyFailed { failures: 5, .. }]
    ));
    // Inside the delay: refused unchecked, not counted, even for a right code.
    assert!(matches!(
        use_code(&mut w, &nth(&codes, 0)).as_slice(),
        [Event::Delayed {
            check: CodeCheck::RecoveryCode,
            ..
        }]
    ));
    assert_eq!(w.state.recovery_codes_left(), 10);
    w.fail_logins(4);
    let until = w.state.failures.delayed_until(w.now, &w.config).unwrap();
    w.now = until;
    let events = use_code(&mut w, &nth(&wrong, 1));
    assert!(matches!(
        events.as_slice(),
        [
            Event::VerifyFailed { failures: 10, .. },
            Event::LockedOut { .. }
        ]
    ));
    assert!(matches!(
        use_code(&mut w, &nth(&codes, 0)).as_slice(),
        [Event::RefusedLocked { .. }]
    ));
    assert_eq!(w.state.recovery_codes_left(), 10);
}

/// REC-4: a new set replaces the whole old set; a self-service reset and an admin reset
/// each drop the old set, and the new factor comes with a new one.
#[test]
fn rec_4_regeneration_and_resets_replace_the_set() {
    let (mut w, old) = enrolled_with(4);
    let new = RecoveryCodes::generate(&mut w.rng);
    let events = w
        .run(Command::RegenerateRecoveryCodes { codes: new.clone() })
        .unwrap();
    assert!(matches!(
        events.as_slice(),
        [Event::RecoveryCodesIssued { .. }]
    ));
    assert!(matches!(
        use_code(&mut w, &nth(&old, 0)).as_slice(),
        [Event::VerifyFailed { .. }]
    ));
    assert!(matches!(
        use_code(&mut w, &nth(&new, 0)).as_slice(),
        [Event::RecoveryCodeUsed { remaining: 9, .. }]
    ));

    // A self-service reset completed without a new set (codes switched off): none left.
    let cmd = w.request_reset();
    w.run(cmd).unwrap();
    let cmd = w.confirm();
    w.run(cmd).unwrap();
    let cmd = w.complete(true);
    w.run(cmd).unwrap();
    assert_eq!(w.state.recovery, None);
    w.advance(30);
    assert!(matches!(
        use_code(&mut w, &nth(&new, 1)).as_slice(),
        [Event::VerifyFailed { .. }]
    ));

    // An admin reset removes the factor and its codes at once.
    let (mut w, codes) = enrolled_with(5);
    let cmd = w.admin_reset();
    w.run(cmd).unwrap();
    assert_eq!(w.state.recovery, None);
    assert_eq!(
        w.decide(Command::VerifyRecoveryCode {
            code: Code::new(nth(&codes, 0)),
        }),
        Err(TransitionError::NoActiveFactor)
    );
    assert_eq!(
        w.decide(Command::RegenerateRecoveryCodes { codes }),
        Err(TransitionError::NoActiveFactor)
    );
}

/// REC-2: hashes are bound to their key and their admin: after a rotation the set keeps
/// working while its key stays in the ring; without it the check is a key error, never a
/// wrong code; the same set does not work for another admin.
#[test]
fn rec_2_hashes_are_bound_to_key_and_admin() {
    let (mut w, codes) = enrolled_with(6);
    let old = w.keys.current().clone();
    let newer = SealingKey::new(KeyId::new(2), [0x22; 32]);
    w.keys = KeyRing::new(newer.clone()).with_previous(old);
    assert!(matches!(
        use_code(&mut w, &nth(&codes, 0)).as_slice(),
        [Event::RecoveryCodeUsed { .. }]
    ));
    w.keys = KeyRing::new(newer);
    assert_eq!(
        w.decide(Command::VerifyRecoveryCode {
            code: Code::new(nth(&codes, 1)),
        }),
        Err(TransitionError::Seal(SealError::UnknownKey(KeyId::new(1))))
    );
    // A new set is made under the current key.
    let fresh = RecoveryCodes::generate(&mut w.rng);
    w.run(Command::RegenerateRecoveryCodes { codes: fresh })
        .unwrap();
    assert_eq!(w.state.recovery.as_ref().unwrap().key_id, KeyId::new(2));

    let (mut w, codes) = enrolled_with(7);
    w.admin = AdminId::from_bytes([0xEE; 16]);
    assert!(matches!(
        use_code(&mut w, &nth(&codes, 0)).as_slice(),
        [Event::VerifyFailed { .. }]
    ));
}

/// REC-5, REC-6: a used code e-mails the admin with the count left and is audited; neither
/// the e-mail, nor the audit record, nor the events hold a code.
#[test]
fn rec_5_6_a_used_code_is_mailed_and_audited_without_the_code() {
    let (mut w, codes) = enrolled_with(8);
    let before = w.record();
    let events = use_code(&mut w, &nth(&codes, 4));
    let mail = notifications(&before, &events, w.now, 7);
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].kind, NotificationKind::RecoveryCodeUsed);
    assert_eq!(
        mail[0].detail,
        Some(NotificationDetail::RecoveryCodesLeft { left: 9 })
    );
    let audit = audit_events(&before, &events, Some(w.admin), w.now);
    assert_eq!(audit[0].kind, AuditKind::RecoveryCodeUsed { remaining: 9 });
    let text = format!("{mail:?}{audit:?}{events:?}");
    for shown in codes.formatted() {
        assert!(!text.contains(shown.as_str()) && !text.contains(&shown.replace('-', "")));
    }
    // Issuing is audited with the count only.
    let fresh = RecoveryCodes::generate(&mut w.rng);
    let events = w
        .run(Command::RegenerateRecoveryCodes {
            codes: fresh.clone(),
        })
        .unwrap();
    let audit = audit_events(&w.record(), &events, Some(w.admin), w.now);
    assert_eq!(audit[0].kind, AuditKind::RecoveryCodesIssued { count: 10 });
    // REC-7: a new set made on its own is mailed, keyed by the record's version, with no
    // code in it.
    let mail = notifications(&w.record(), &events, w.now, 8);
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].kind, NotificationKind::RecoveryCodesRegenerated);
    assert!(
        mail[0]
            .dedupe_key
            .as_str()
            .ends_with(":recovery_codes_regenerated:v8")
    );
    assert_eq!(
        (mail[0].link.as_ref(), mail[0].detail.as_ref()),
        (None, None)
    );
    let text = format!("{mail:?}");
    for shown in fresh.formatted() {
        assert!(!text.contains(shown.as_str()) && !text.contains(&shown.replace('-', "")));
    }
}

/// REC-7: codes issued with a new factor (set-up, reset) are told of by that confirmation
/// alone, not by a second mail.
#[test]
fn rec_7_codes_issued_with_a_new_factor_send_no_second_mail() {
    let (mut w, _) = enrolled_with(10);
    let cmd = w.request_reset();
    w.run(cmd).unwrap();
    let cmd = w.confirm();
    w.run(cmd).unwrap();
    let before = w.record();
    let codes = RecoveryCodes::generate(&mut w.rng);
    let cmd = bringing(w.complete(true), &codes);
    let events = w.run(cmd).unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::RecoveryCodesIssued { .. }))
    );
    let kinds: Vec<_> = notifications(&before, &events, w.now, 9)
        .iter()
        .map(|n| n.kind)
        .collect();
    assert_eq!(kinds, [NotificationKind::ResetCompleted]);
}

/// Without a set (issued before recovery codes existed, or switched off) every recovery
/// code is a counted failure.
#[test]
fn without_a_set_every_code_is_a_counted_failure() {
    let mut w = World::enrolled(9);
    assert_eq!(w.state.recovery, None);
    let codes = RecoveryCodes::generate(&mut w.rng);
    assert!(matches!(
        use_code(&mut w, &nth(&codes, 0)).as_slice(),
        [Event::VerifyFailed { failures: 1, .. }]
    ));
}
