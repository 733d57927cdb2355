//! Regression tests of the security hardening (RL-8, SETUP-1, SETUP-2, RST-8, G8, NOT-2,
//! NOT-3, INP-1), each on every store: the gaps an outside review of `MfaService` found.

use std::sync::Arc;

use admin_mfa::lifecycle::Factor;
use admin_mfa::ports::Change;
use admin_mfa::{
    AdminId, AuditKind, BuiltinRole as R, Error, InvalidField, LoginOutcome, NewAdmin, PageRequest,
    Password, PasswordCheck, Reason, Role,
};
use tokio::sync::Barrier;

use crate::backends::{Backend, on_every_store};
use crate::common::*;

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

/// Runs `n` password attempts on admin `id` at once (released together by a barrier on the
/// test's multi-threaded runtime): `right` of them with the right password, the rest
/// wrong, through `login` or, with a link token, through the link's identity step.
/// Returns how many were accepted.
async fn burst(h: &H, id: AdminId, n: usize, right: usize, link: Option<&str>) -> usize {
    let email = h.get(id).await.email;
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = Vec::new();
    for i in 0..n {
        let (svc, barrier, email, org) = (
            Arc::clone(&h.svc),
            Arc::clone(&barrier),
            email.clone(),
            h.org,
        );
        let token = link.map(str::to_owned);
        tasks.push(tokio::spawn(async move {
            let guess = if i < right {
                password()
            } else {
                Password::new(&format!("wrong guess {i}")).unwrap()
            };
            barrier.wait().await;
            match token {
                Some(token) => svc
                    .confirm_identity(&token, email.as_str(), &guess)
                    .await
                    .map(|_| ()),
                None => svc.login(org, email.as_str(), &guess).await.map(|_| ()),
            }
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => accepted += 1,
            Err(Error::InvalidCredentials) => {}
            Err(e) => panic!("unexpected answer {e:?}"),
        }
    }
    accepted
}

// ---- RL-8: attempts are reserved before the hash is checked --------------------------

/// A burst of wrong passwords from a zero count gets exactly the threshold of real argon2
/// checks; every later attempt is refused unchecked (a dummy verification), and the count
/// stops at the threshold.
async fn rl_8_a_burst_of_wrong_passwords_gets_the_threshold_of_checks(b: Backend) {
    let h = b.h().await;
    let id = h.seed(1, R::Manager).await;
    let before = h.svc.passwords().stats();
    assert_eq!(burst(&h, id, 48, 0, None).await, 0);
    let stats = h.svc.passwords().stats();
    assert_eq!(stats.verifies - before.verifies, 10, "real checks");
    assert_eq!(stats.dummy_verifies - before.dummy_verifies, 38);
    let admin = h.get(id).await;
    assert_eq!(admin.mfa.password_failures.consecutive, 10);
    assert_eq!(admin.mfa.failures.consecutive, 0, "codes untouched");
    let attempted = kinds(&h)
        .await
        .into_iter()
        .filter(|k| matches!(k, AuditKind::PasswordAttempted { .. }))
        .count();
    assert_eq!(attempted, 10);
}

/// Forty wrong passwords and the right one at once: the right one no longer rides the
/// burst. A correct password clears the count once at most, so at most twice the threshold
/// is ever checked (before the fix: all 41, and the right one signed in every time).
async fn rl_8_forty_wrong_and_the_right_one_at_once(b: Backend) {
    let h = b.h().await;
    let id = h.seed(1, R::Manager).await;
    let before = h.svc.passwords().stats().verifies;
    let accepted = burst(&h, id, 41, 1, None).await;
    let checked = h.svc.passwords().stats().verifies - before;
    assert!(checked <= 20, "{checked} real checks in one burst");
    assert!(accepted <= 1);
    if accepted == 0 {
        // Refused inside the delay: then the count still holds every wrong attempt checked.
        assert_eq!(h.get(id).await.mfa.password_failures.consecutive, 10);
    }
}

/// The link's email-and-password step reserves its attempts on the same limiter.
async fn rl_8_the_link_identity_step_reserves_too(b: Backend) {
    let h = b.h().await;
    let awb = h.seed(900, R::AdministratorWithBilling).await;
    let id = h.seed(1, R::HelpDesk).await;
    let boss = h.session(awb).await;
    assert!(h.svc.enable_mfa(&boss, id).await.unwrap().changed);
    h.deliver().await;
    let token = h.token_for(id).await;
    let before = h.svc.passwords().stats().verifies;
    assert_eq!(burst(&h, id, 41, 0, Some(&token)).await, 0);
    assert_eq!(h.svc.passwords().stats().verifies - before, 10);
    let admin = h.get(id).await;
    assert_eq!(admin.mfa.password_failures.consecutive, 10);
    assert!(kinds(&h).await.contains(&AuditKind::PasswordAttempted {
        check: PasswordCheck::Link(admin_mfa::LinkPurpose::Setup),
        attempts: 10,
    }));
}

// ---- SETUP-1 / SETUP-2: the setup step needs the identity proof; codes count on the link -

/// Someone with only the reset link's token (and a proof of their own, from another link)
/// cannot submit codes: nothing is counted, the victim's factor keeps working, and the
/// victim completes the reset with their own proof.
async fn setup_1_the_token_alone_cannot_drive_the_code_step(b: Backend) {
    let h = b.h().await;
    let (victim, old) = h.enrolled(1, R::Manager).await;
    let (mallory, _) = h.enrolled(2, R::Manager).await;
    // Both ask for a reset and pass the identity step; Mallory also learns the victim's token.
    let mut proofs = Vec::new();
    let mut tokens = Vec::new();
    for id in [victim, mallory] {
        let token = h.reset_link(id).await;
        let email = h.get(id).await.email;
        let p = h
            .svc
            .confirm_identity(&token, email.as_str(), &password())
            .await
            .unwrap();
        proofs.push(p);
        tokens.push(token);
    }
    let stolen = &tokens[0];
    for _ in 0..12 {
        h.advance(31);
        assert!(matches!(
            h.svc
                .complete_setup(stolen, proofs[1].proof(), "000000")
                .await,
            Err(Error::InvalidCode)
        ));
    }
    let admin = h.get(victim).await;
    assert!(!admin.mfa.is_locked());
    assert_eq!(admin.mfa.failures.consecutive, 0);
    assert_eq!(admin.mfa.link.as_ref().unwrap().setup_failures, 0);
    // The old authenticator still signs in, and the victim finishes the reset.
    h.mfa_session(victim, &old).await;
    let new = app_secret(&proofs[0].otpauth_uri());
    h.advance(30);
    h.svc
        .complete_setup(stolen, proofs[0].proof(), &h.code(&new))
        .await
        .unwrap();
    h.mfa_session(victim, &new).await;
}

/// Wrong codes at the setup step (with the right proof) count on the link only: the link
/// and its candidate are voided after five, the active factor is never counted or locked.
async fn setup_2_wrong_setup_codes_void_the_link_and_never_lock_the_factor(b: Backend) {
    let h = b.h().await;
    let (id, old) = h.enrolled(1, R::Manager).await;
    let token = h.reset_link(id).await;
    let email = h.get(id).await.email;
    let p = h
        .svc
        .confirm_identity(&token, email.as_str(), &password())
        .await
        .unwrap();
    for n in 1..=5 {
        assert!(matches!(
            h.svc.complete_setup(&token, p.proof(), "000000").await,
            Err(Error::InvalidCode)
        ));
        let admin = h.get(id).await;
        assert_eq!(admin.mfa.failures.consecutive, 0, "the factor's counter");
        if n < 5 {
            assert_eq!(admin.mfa.link.as_ref().unwrap().setup_failures, n);
        }
    }
    let admin = h.get(id).await;
    assert!(admin.mfa.link.is_none(), "voided after five");
    assert!(!admin.mfa.is_locked());
    let new = app_secret(&p.otpauth_uri());
    assert!(matches!(
        h.svc.complete_setup(&token, p.proof(), &h.code(&new)).await,
        Err(Error::InvalidCode)
    ));
    assert!(kinds(&h).await.contains(&AuditKind::LinkVoided {
        purpose: admin_mfa::LinkPurpose::Reset
    }));
    h.mfa_session(id, &old).await;
}

// ---- RST-8: an admin reset leaves MFA required ----------------------------------------

/// An Administrator With Billing removes an enrolled Manager's requirement; an
/// Administrator (who may not remove requirements) resets the Manager's MFA. The Manager
/// must now set MFA up: the password alone does not sign in.
async fn rst_8_an_admin_reset_never_leaves_the_password_alone(b: Backend) {
    let h = b.h().await;
    let (manager, _) = h.enrolled(1, R::Manager).await;
    let awb = h.seed(2, R::AdministratorWithBilling).await;
    let admin = h.seed(3, R::Administrator).await;
    let boss = h.session(awb).await;
    assert!(
        h.svc
            .remove_mfa_requirement(&boss, manager)
            .await
            .unwrap()
            .changed
    );
    let other = h.session(admin).await;
    assert!(matches!(
        h.svc.remove_mfa_requirement(&other, manager).await,
        Err(Error::Forbidden(_)) | Ok(_)
    ));
    assert!(h.svc.reset_mfa(&other, manager).await.unwrap().changed);
    let target = h.get(manager).await;
    assert!(target.mfa.requirement.is_required());
    assert_eq!(target.mfa.factor, Factor::None);
    let email = target.email;
    let outcome = h
        .svc
        .login(h.org, email.as_str(), &password())
        .await
        .unwrap();
    assert!(
        matches!(outcome, LoginOutcome::SetupRequired(_)),
        "{outcome:?}"
    );
}

/// RST-8 as a property, exhaustively: for every acting role × target role × target state
/// (required or not; no factor, an active factor, a locked one) × management action, a target
/// that needed more than its password before the call signs in with the password alone after
/// it only when the call was `remove_mfa_requirement` and the policy allowed it to the actor.
/// A refused call changes nothing.
#[tokio::test]
async fn rst_8_only_an_allowed_requirement_removal_leaves_the_password_alone() {
    use admin_mfa::lifecycle::{LoginStep, Requirement};

    let h = H::new();
    // One real enrolment gives a factor to copy into the targets (only its presence matters:
    // no code is checked below).
    let (_, _) = h.enrolled(999, R::Manager).await;
    let template = h.get(id_of(h.org, 999)).await.mfa.factor;
    let mut sessions = Vec::new();
    for (i, role) in R::ALL.into_iter().enumerate() {
        let id = h.seed(1_000 + i as u32, role).await;
        sessions.push((role, h.session(id).await));
    }
    // Target numbers start clear of the actors' and the template's.
    let mut n = 10_000;
    let mut removals_that_weakened = 0;
    for (actor_role, session) in &sessions {
        for target_role in R::ALL {
            for (required, factor, locked) in [
                (false, false, false),
                (true, false, false),
                (false, true, false),
                (true, true, false),
                (true, true, true),
            ] {
                for action in ["enable", "require", "remove", "reset", "unlock"] {
                    n += 1;
                    let id = h.seed(n, target_role).await;
                    let versioned = h.store.admin(h.org, id).await.unwrap().unwrap();
                    let mut target = versioned.value;
                    if required {
                        target.mfa.requirement = Requirement::Required {
                            since: h.now(),
                            by: None,
                        };
                    }
                    if factor {
                        target.mfa.factor = template.clone();
                    }
                    target.mfa.failures.locked = locked;
                    h.store
                        .commit(Change::new().update(target, versioned.version))
                        .await
                        .unwrap();
                    let before = h.get(id).await;
                    let svc = &h.svc;
                    let result: Result<(), String> = match action {
                        "enable" => svc
                            .enable_mfa(session, id)
                            .await
                            .map(|_| ())
                            .map_err(|e| e.to_string()),
                        "remove" => svc
                            .remove_mfa_requirement(session, id)
                            .await
                            .map(|_| ())
                            .map_err(|e| e.to_string()),
                        "reset" => svc
                            .reset_mfa(session, id)
                            .await
                            .map(|_| ())
                            .map_err(|e| e.to_string()),
                        "unlock" => svc
                            .unlock_mfa(session, id)
                            .await
                            .map(|_| ())
                            .map_err(|e| e.to_string()),
                        // A bulk call reports a refusal per admin, not as its error.
                        _ => match svc.require_mfa(session, &[id]).await {
                            Ok(report) => match report.failures().next() {
                                Some((_, e)) => Err(e.to_string()),
                                None => Ok(()),
                            },
                            Err(e) => Err(e.to_string()),
                        },
                    };
                    let after = h.get(id).await;
                    let case = format!(
                        "{actor_role:?} {action} on {target_role:?} (required {required}, \
                         factor {factor}, locked {locked}): {result:?}"
                    );
                    if result.is_err() {
                        assert_eq!(before, after, "{case}: a refusal changed the target");
                    }
                    let alone =
                        |a: &admin_mfa::lifecycle::Admin| a.mfa.login_step() == LoginStep::Complete;
                    if !alone(&before) && alone(&after) {
                        assert!(action == "remove" && result.is_ok(), "{case}");
                        removals_that_weakened += 1;
                    }
                    if action == "reset" && result.is_ok() {
                        assert_eq!(after.mfa.login_step(), LoginStep::SetupRequired, "{case}");
                    }
                }
            }
        }
    }
    // The property is not vacuous: some removal did weaken a target, as the guide allows.
    assert!(removals_that_weakened > 0);
}

// ---- G8: a session cannot strip its own MFA --------------------------------------------

/// A fresh Administrator With Billing session may neither remove its own requirement nor
/// reset its own factor; resetting one's own factor goes through the e-mailed link and the
/// password.
async fn g8_a_session_cannot_remove_its_own_requirement_or_reset_itself(b: Backend) {
    let h = b.h().await;
    let (awb, secret) = h.enrolled(1, R::AdministratorWithBilling).await;
    let session = h.mfa_session(awb, &secret).await;
    for result in [
        h.svc.remove_mfa_requirement(&session, awb).await,
        h.svc.reset_mfa(&session, awb).await,
    ] {
        match result {
            Err(Error::Forbidden(denied)) => {
                assert!(matches!(denied.reason, Reason::Guardrail(_)), "{denied}");
            }
            other => panic!("expected a guardrail refusal, got {other:?}"),
        }
    }
    let admin = h.get(awb).await;
    assert!(admin.mfa.requirement.is_required());
    assert!(admin.mfa.is_enrolled());
    h.mfa_session(awb, &secret).await;
}

// ---- NOT-2 / NOT-3: requirement notices --------------------------------------------------

/// Removing the requirement e-mails the admin and is audited (NOT-2); removing and
/// requiring again within one second sends the second "MFA required" notice too, since its
/// dedupe key is unique per change, not per second (NOT-3).
async fn not_2_3_every_requirement_change_is_told(b: Backend) {
    let h = b.h().await;
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let (target, _) = h.enrolled(2, R::Manager).await;
    let boss = h.session(awb).await;
    h.deliver().await;
    for _ in 0..2 {
        let removed = h.svc.remove_mfa_requirement(&boss, target).await.unwrap();
        assert_eq!(removed.emails_queued, 1, "the no-longer-required notice");
        let report = h.svc.require_mfa(&boss, &[target]).await.unwrap();
        assert_eq!(report.newly_required(), 1);
    }
    let to = h.get(target).await.email;
    let subjects: Vec<String> = h
        .deliver()
        .await
        .into_iter()
        .filter(|m| m.to == to)
        .map(|m| m.subject)
        .collect();
    let count = |needle: &str| subjects.iter().filter(|s| s.contains(needle)).count();
    assert_eq!(
        (count("no longer required"), count("now required")),
        (2, 2),
        "{subjects:?}"
    );
    let removals = kinds(&h)
        .await
        .into_iter()
        .filter(|k| *k == AuditKind::RequirementRemoved)
        .count();
    assert_eq!(removals, 2);
}

// ---- INP-1: text inputs are checked at the boundary, the same on every store -----------

/// Hostile or impossible text fields get `InvalidInput` naming the field, identically on
/// every store, and nothing is written.
async fn inp_1_hostile_text_is_refused_by_field_on_every_store(b: Backend) {
    let h = b.h().await;
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let boss = h.session(awb).await;
    let new = |email: &str, name: &str| NewAdmin {
        email: email.into(),
        display_name: name.into(),
        role: Role::Builtin(R::HelpDesk),
        password: password(),
    };
    let cases = [
        (new("eve@example.com", "Eve\0Mallory"), "display_name"),
        (new("eve@example.com", "Eve\u{202E}yrallim"), "display_name"),
        (new("eve@example.com", "Eve\nBcc: x"), "display_name"),
        (new("eve@example.com", "   "), "display_name"),
        (new("eve@example.com", &"e".repeat(257)), "display_name"),
        (new("eve\0@example.com", "Eve"), "email"),
        (new("eve@exa mple.com", "Eve"), "email"),
        (new("not-an-address", "Eve"), "email"),
    ];
    for (input, field) in cases {
        match h.svc.create_admin(&boss, input).await {
            Err(Error::InvalidInput(InvalidField { field: f, .. })) => assert_eq!(f, field),
            other => panic!("expected invalid {field}, got {other:?}"),
        }
    }
    // A custom role the loaded policy does not define.
    let ghost = NewAdmin {
        role: Role::from_stored("no-such-role").unwrap(),
        ..new("ghost@example.com", "Ghost")
    };
    assert!(matches!(
        h.svc.create_admin(&boss, ghost).await,
        Err(Error::InvalidInput(InvalidField { field: "role", .. }))
    ));
    assert_eq!(
        h.store
            .count_with_role(h.org, &Role::Builtin(R::HelpDesk))
            .await
            .unwrap(),
        0
    );
    // Names that only look odd are fine.
    h.svc
        .create_admin(&boss, new("zoe@example.com", "Zoë O'Brien-Łukasz 🙂"))
        .await
        .unwrap();
}

/// The same strings written straight to every store (no service in front) get the same
/// answers: hostile text is an invalid change everywhere, never a driver error on one backend
/// and a stored row on another; unusual but valid text round-trips byte for byte (INP-1).
async fn inp_1_every_store_answers_the_same_strings_alike(b: Backend) {
    use admin_mfa::ports::StoreError;

    let h = b.h().await;
    let refused = [
        "Eve\0Mallory".to_owned(),
        "Eve\nBcc: x@example.com".to_owned(),
        "tab\there".to_owned(),
        "\u{85}next line".to_owned(),
        "e".repeat(257),
    ];
    for (n, name) in refused.iter().enumerate() {
        let mut admin = seed_admin(h.org, 100 + n as u32, R::Manager);
        admin.display_name = name.clone();
        match h.store.commit(Change::new().insert(admin)).await {
            Err(StoreError::InvalidChange(_)) => {}
            other => panic!("{name:?}: {other:?}"),
        }
    }
    let kept = [
        "Zoë O'Brien-Łukasz 🙂".to_owned(),
        "\u{202E}reversed".to_owned(),
        "名前".to_owned(),
        "e".repeat(256),
        "' OR 1=1; --".to_owned(),
    ];
    for (n, name) in kept.iter().enumerate() {
        let mut admin = seed_admin(h.org, 200 + n as u32, R::Manager);
        admin.display_name = name.clone();
        let id = admin.id;
        h.store.commit(Change::new().insert(admin)).await.unwrap();
        assert_eq!(&h.get(id).await.display_name, name);
    }
    // Nothing of the refused ones was written.
    for n in 0..refused.len() as u32 {
        assert!(
            h.store
                .admin(h.org, id_of(h.org, 100 + n))
                .await
                .unwrap()
                .is_none()
        );
    }
}

on_every_store!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    rl_8_a_burst_of_wrong_passwords_gets_the_threshold_of_checks,
    rl_8_forty_wrong_and_the_right_one_at_once,
    rl_8_the_link_identity_step_reserves_too,
    setup_1_the_token_alone_cannot_drive_the_code_step,
    setup_2_wrong_setup_codes_void_the_link_and_never_lock_the_factor,
    rst_8_an_admin_reset_never_leaves_the_password_alone,
    g8_a_session_cannot_remove_its_own_requirement_or_reset_itself,
    not_2_3_every_requirement_change_is_told,
    inp_1_hostile_text_is_refused_by_field_on_every_store,
    inp_1_every_store_answers_the_same_strings_alike,
);
