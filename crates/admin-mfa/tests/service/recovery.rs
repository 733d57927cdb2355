//! Recovery codes through the service (REC-1..REC-6), on every store: handed out once with a
//! completed set-up, single use at the MFA prompt (also when raced), counted like codes,
//! replaced by a new set or a reset, e-mailed and audited without the code, and switched off
//! by the host.

use std::sync::Arc;

use admin_mfa::{
    AuditKind, BuiltinRole as R, CodeCheck, Error, FactorKind, PageRequest, RecoveryCodes,
    SetupComplete,
};
use tokio::sync::Barrier;

use crate::backends::{Backend, on_every_store};
use crate::common::*;

fn codes_of(done: &SetupComplete) -> Vec<String> {
    let codes: &RecoveryCodes = done.recovery_codes.as_ref().expect("codes are on");
    codes.formatted().map(|c| c.to_string()).collect()
}

async fn kinds(h: &H) -> Vec<AuditKind> {
    h.store
        .audit_log(h.org, PageRequest::first(1000))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

/// REC-1, REC-3, REC-5: ten codes come with the set-up, each `XXXX-XXXX-XXXX-XXXX`; one
/// signs in once, typed in any case with spaces, as `[Password, RecoveryCode]`; the admin is
/// e-mailed how many are left, the use is audited, and the same code again is a counted
/// wrong code.
async fn rec_1_3_5_a_code_from_the_setup_signs_in_once(b: Backend) {
    let h = b.h().await;
    let (id, done, _) = h.enrol_with_codes(1).await;
    let codes = codes_of(&done);
    assert_eq!(codes.len(), 10);
    for code in &codes {
        assert_eq!(code.len(), 19);
        assert!(code.split('-').all(|g| g.len() == 4), "{code}");
    }
    let distinct: std::collections::HashSet<&String> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);
    h.deliver().await;

    let typed = codes[6].to_lowercase().replace('-', " ");
    let challenge = h.challenge(id).await;
    let session = h
        .svc
        .verify_recovery_code(&challenge, &typed)
        .await
        .unwrap();
    assert_eq!(
        session.factors(),
        [FactorKind::Password, FactorKind::RecoveryCode]
    );
    assert!(session.used_mfa() && h.svc.is_current(&session).await.unwrap());
    assert_eq!(h.svc.recovery_codes_left(&session).await.unwrap(), 9);
    let mail = h.deliver().await;
    assert_eq!(mail.len(), 1);
    assert!(mail[0].subject.contains("recovery code was used"));
    assert!(mail[0].text.contains("You have 9 recovery codes left."));
    assert!(
        kinds(&h)
            .await
            .contains(&AuditKind::RecoveryCodeUsed { remaining: 9 })
    );

    let challenge = h.challenge(id).await;
    assert!(matches!(
        h.svc.verify_recovery_code(&challenge, &typed).await,
        Err(Error::InvalidCode)
    ));
    assert_eq!(h.get(id).await.mfa.failures.consecutive, 1);
    assert!(kinds(&h).await.contains(&AuditKind::VerifyFailed {
        check: CodeCheck::RecoveryCode,
        failures: 1,
    }));
    // Another code, in another order, still works.
    let session = h
        .svc
        .verify_recovery_code(&challenge, &codes[0])
        .await
        .unwrap();
    assert_eq!(h.svc.recovery_codes_left(&session).await.unwrap(), 8);
    assert_eq!(h.get(id).await.mfa.failures.consecutive, 0);
}

/// REC-3: sixteen tasks present one code at once: exactly one session, the code is gone,
/// and every loser is a counted failure.
async fn rec_3_concurrent_uses_of_one_code_have_one_winner(b: Backend) {
    let h = b.h().await;
    let (id, done, _) = h.enrol_with_codes(2).await;
    let code = codes_of(&done)[3].clone();
    let challenge = h.challenge(id).await;
    let n = 16;
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (svc, barrier, challenge, code) = (
            Arc::clone(&h.svc),
            Arc::clone(&barrier),
            challenge.clone(),
            code.clone(),
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            svc.verify_recovery_code(&challenge, &code).await
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(Error::InvalidCode) => {}
            Err(e) => panic!("unexpected answer {e:?}"),
        }
    }
    assert_eq!(won, 1);
    let admin = h.get(id).await;
    assert_eq!(admin.mfa.recovery_codes_left(), 9);
    // The losers ran after the winner, on its state: each a counted failure (with delays
    // from the fifth, refused unchecked once a delay runs).
    assert!(admin.mfa.failures.consecutive >= 1);
}

/// REC-3: wrong recovery codes and wrong TOTP codes share one counter and one lock; a
/// locked factor refuses even a right recovery code.
async fn rec_3_recovery_codes_share_the_lockout(b: Backend) {
    let h = b.h().await;
    let (id, done, _) = h.enrol_with_codes(3).await;
    let codes = codes_of(&done);
    for i in 0..10 {
        if let Some(until) = h
            .get(id)
            .await
            .mfa
            .failures
            .delayed_until(h.now(), h.svc.config().lifecycle())
        {
            h.advance(until.as_secs() - h.now().as_secs());
        }
        let challenge = h.challenge(id).await;
        let refused = if i % 2 == 0 {
            h.svc.verify(&challenge, "000000").await
        } else {
            h.svc
                .verify_recovery_code(&challenge, "2222-2222-2222-2222")
                .await
        };
        assert!(matches!(refused, Err(Error::InvalidCode)), "{i}");
    }
    let admin = h.get(id).await;
    assert!(admin.mfa.is_locked());
    let challenge = h.challenge(id).await;
    assert!(matches!(
        h.svc.verify_recovery_code(&challenge, &codes[0]).await,
        Err(Error::InvalidCode)
    ));
    assert_eq!(h.get(id).await.mfa.recovery_codes_left(), 10);
}

/// REC-4: the admin's new set replaces the whole old one and needs a recent login; an
/// admin reset drops the set with the factor, and the new set-up brings a new one.
async fn rec_4_a_new_set_or_a_reset_replaces_the_codes(b: Backend) {
    let h = b.h().await;
    let awb = h.seed(900, R::AdministratorWithBilling).await;
    let (id, done, secret) = h.enrol_with_codes(4).await;
    let old = codes_of(&done);
    let session = h.mfa_session(id, &secret).await;
    h.deliver().await;
    let new = h.svc.regenerate_recovery_codes(&session).await.unwrap();
    let new: Vec<String> = new.formatted().map(|c| c.to_string()).collect();
    assert_eq!(new.len(), 10);
    // REC-7: the admin is told of the new set, once.
    let mail = h.deliver().await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, h.get(id).await.email);
    assert!(mail[0].subject.starts_with("New recovery codes were made"));
    assert!(mail[0].text.contains("no longer work"));
    assert!(new.iter().all(|c| !old.contains(c)));
    assert!(
        kinds(&h)
            .await
            .contains(&AuditKind::RecoveryCodesIssued { count: 10 })
    );
    let challenge = h.challenge(id).await;
    assert!(matches!(
        h.svc.verify_recovery_code(&challenge, &old[0]).await,
        Err(Error::InvalidCode)
    ));
    h.svc
        .verify_recovery_code(&challenge, &new[0])
        .await
        .unwrap();

    // A stale login may not make a new set (the MFA-change age limit).
    h.advance(h.svc.config().max_auth_age_secs() + 1);
    assert!(matches!(
        h.svc.regenerate_recovery_codes(&session).await,
        Err(Error::ReauthRequired)
    ));

    // An admin reset: the factor and its codes go at once; the new set-up brings new codes.
    let boss = h.session(awb).await;
    assert!(h.svc.reset_mfa(&boss, id).await.unwrap().changed);
    assert_eq!(h.get(id).await.mfa.recovery, None);
    h.deliver().await;
    let token = h.token_for(id).await;
    let email = h.get(id).await.email;
    let (provisioning, secret) = h.provision(&token, email.as_str()).await;
    let again = h
        .svc
        .complete_setup(&token, provisioning.proof(), &h.code(&secret))
        .await
        .unwrap();
    let again = codes_of(&again);
    h.advance(30);
    let challenge = h.challenge(id).await;
    assert!(matches!(
        h.svc.verify_recovery_code(&challenge, &new[1]).await,
        Err(Error::InvalidCode)
    ));
    h.svc
        .verify_recovery_code(&challenge, &again[0])
        .await
        .unwrap();
}

/// REC-5: from two codes left the e-mail warns, and at none it says so.
async fn rec_5_the_email_warns_when_two_or_fewer_are_left(b: Backend) {
    let h = b.h().await;
    let (id, done, _) = h.enrol_with_codes(5).await;
    let codes = codes_of(&done);
    h.deliver().await;
    let mut texts = Vec::new();
    for code in &codes {
        let challenge = h.challenge(id).await;
        h.svc.verify_recovery_code(&challenge, code).await.unwrap();
        let mail = h.deliver().await;
        assert_eq!(mail.len(), 1);
        texts.push(mail[0].text.clone());
    }
    assert!(texts[6].contains("You have 3 recovery codes left."));
    assert!(texts[7].contains("Only 2 recovery codes are left."));
    assert!(texts[8].contains("Only 1 recovery code is left."));
    assert!(texts[9].contains("You have no recovery codes left."));
}

/// REC-6: no recovery code reaches an e-mail, an audit record, the stored admin or the
/// `Debug` of anything the service returned (the tracing side is tests/logs.rs).
async fn rec_6_codes_never_reach_mail_audit_store_or_debug(b: Backend) {
    let h = b.h().await;
    let (id, done, secret) = h.enrol_with_codes(6).await;
    let mut codes = codes_of(&done);
    let session = h.mfa_session(id, &secret).await;
    let new = h.svc.regenerate_recovery_codes(&session).await.unwrap();
    let debug_new = format!("{new:?}");
    codes.extend(new.formatted().map(|c| c.to_string()));
    let challenge = h.challenge(id).await;
    let used = h
        .svc
        .verify_recovery_code(&challenge, &codes[10])
        .await
        .unwrap();
    let mut seen = String::new();
    for m in h.deliver().await.into_iter().chain(h.mailer.sent()) {
        seen.push_str(&format!("{}\n{}\n{}\n", m.subject, m.text, m.html));
    }
    let audit = h
        .store
        .audit_log(h.org, PageRequest::first(1000))
        .await
        .unwrap();
    seen.push_str(&format!("{audit:?}\n{:?}\n", h.get(id).await));
    seen.push_str(&format!("{done:?}\n{debug_new}\n{used:?}\n{challenge:?}"));
    for code in &codes {
        let bare = code.replace('-', "");
        assert!(
            !seen.contains(code.as_str()) && !seen.contains(&bare),
            "{code}"
        );
        assert!(!seen.contains(&bare.to_lowercase()));
    }
}

/// REC-1: a host that switches codes off gets none with a set-up, and every code is refused
/// without being counted; codes issued while they were on stop working.
async fn rec_1_codes_can_be_switched_off(b: Backend) {
    let h = b.with(|c| c.recovery_codes(false)).await;
    // Issued while on (a second service over the same store), then switched off.
    let on = H::over(Arc::clone(&h.store), |c| c);
    let (id, done, secret) = on.enrol_with_codes(8).await;
    let codes = codes_of(&done);
    h.advance(on.now().as_secs() - h.now().as_secs() + 30);
    let challenge = h.challenge(id).await;
    assert!(matches!(
        h.svc.verify_recovery_code(&challenge, &codes[0]).await,
        Err(Error::InvalidCode)
    ));
    assert_eq!(
        h.get(id).await.mfa.failures.consecutive,
        0,
        "nothing counted"
    );
    let session = h.svc.verify(&challenge, &h.code(&secret)).await.unwrap();
    assert!(matches!(
        h.svc.regenerate_recovery_codes(&session).await,
        Err(Error::RecoveryCodesOff)
    ));
    let (_, done, _) = h.enrol_with_codes(9).await;
    assert!(done.recovery_codes.is_none());
}

on_every_store!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    rec_1_3_5_a_code_from_the_setup_signs_in_once,
    rec_3_concurrent_uses_of_one_code_have_one_winner,
    rec_3_recovery_codes_share_the_lockout,
    rec_4_a_new_set_or_a_reset_replaces_the_codes,
    rec_5_the_email_warns_when_two_or_fewer_are_left,
    rec_6_codes_never_reach_mail_audit_store_or_debug,
    rec_1_codes_can_be_switched_off,
);
