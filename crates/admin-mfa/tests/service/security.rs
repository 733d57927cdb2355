//! The docs/SECURITY.md test groups at the service level, each run on every store (`memory::*`,
//! `sqlite::*`, `postgres::*`, as the scenarios are): T-ENR, T-REQ, T-RST, T-TOK, T-RL,
//! T-RPL, T-ENU, T-PWD, T-LOG (Debug, audit, outbox), T-NOT, T-SES.

use admin_mfa::lifecycle::{Factor, LifecycleConfig, LinkToken, PasswordHash, TotpSecret};
use admin_mfa::ports::Change;
use admin_mfa::{
    AuditKind, BuiltinRole as R, CodeCheck, Error, LinkPurpose, LoginOutcome, MfaConfig,
    PageRequest, Password, PasswordParams,
};
use argon2::{Algorithm, Argon2, PasswordHasher as _, Version};

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

async fn enabled_with_link(h: &H, n: u32) -> (admin_mfa::AdminId, String) {
    let awb = h.seed(900 + n, R::AdministratorWithBilling).await;
    let target = h.seed(n, R::HelpDesk).await;
    let session = h.session(awb).await;
    assert!(h.svc.enable_mfa(&session, target).await.unwrap().changed);
    h.deliver().await;
    let token = h.token_for(target).await;
    (target, token)
}

// ---- T-ENR ------------------------------------------------------------------------------

/// A wrong code at enrolment counts on the link (SETUP-2), enrols nothing, and leaves the
/// code counter of login alone.
async fn t_enr_2_wrong_code_at_enrolment_counts_on_the_link_and_enrols_nothing(b: Backend) {
    let h = b.h().await;
    let (id, token) = enabled_with_link(&h, 1).await;
    let email = h.get(id).await.email;
    let (p, secret) = h.provision(&token, email.as_str()).await;
    assert!(matches!(
        h.svc.complete_setup(&token, p.proof(), "123456").await,
        Err(Error::InvalidCode)
    ));
    let admin = h.get(id).await;
    assert_eq!(admin.mfa.factor, Factor::None);
    assert_eq!(admin.mfa.failures.consecutive, 0);
    assert_eq!(admin.mfa.link.as_ref().unwrap().setup_failures, 1);
    assert!(kinds(&h).await.contains(&AuditKind::SetupFailed {
        purpose: LinkPurpose::Setup,
        failures: 1
    }));
    // A password-only login in another tab is not MFA-complete.
    let outcome = h
        .svc
        .login(h.org, email.as_str(), &password())
        .await
        .unwrap();
    assert!(matches!(outcome, LoginOutcome::SetupRequired(_)));
    // The enrolment in flight is not disturbed by that login: the code still completes it.
    h.finish_setup(&token, &p, &secret).await;
}

async fn t_enr_4_enrolment_needs_token_and_password_of_the_same_admin(b: Backend) {
    let h = b.h().await;
    let (a, token_a) = enabled_with_link(&h, 1).await;
    let b = h.seed(2, R::Manager).await;
    let email_a = h.get(a).await.email;
    let email_b = h.get(b).await.email;
    let wrong = Password::new("not the password").unwrap();
    let attempts = [
        h.svc
            .confirm_identity(&token_a, email_a.as_str(), &wrong)
            .await,
        h.svc
            .confirm_identity(&token_a, email_b.as_str(), &password())
            .await,
        h.svc
            .confirm_identity("not-a-token", email_a.as_str(), &password())
            .await,
        h.svc
            .confirm_identity(&"A".repeat(43), email_a.as_str(), &password())
            .await,
    ];
    for result in attempts {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::InvalidCredentials), "{err:?}");
        assert_eq!(err.to_string(), "invalid credentials");
    }
    assert_eq!(h.get(a).await.mfa.factor, Factor::None);
}

async fn t_enr_5_an_active_factor_is_asked_for_even_when_not_required(b: Backend) {
    let h = b.h().await;
    let (id, secret) = h.enrolled(1, R::Manager).await;
    let awb = h.seed(2, R::AdministratorWithBilling).await;
    let boss = h.session(awb).await;
    assert!(
        h.svc
            .remove_mfa_requirement(&boss, id)
            .await
            .unwrap()
            .changed
    );
    let admin = h.get(id).await;
    assert!(!admin.mfa.requirement.is_required());
    assert!(admin.mfa.is_enrolled(), "T-REQ-5: the factor stays");
    h.advance(30);
    let challenge = h.challenge(id).await;
    h.svc.verify(&challenge, &h.code(&secret)).await.unwrap();
    let log = h
        .store
        .audit_log(h.org, PageRequest::first(100))
        .await
        .unwrap();
    assert!(
        log.items
            .iter()
            .any(|e| e.kind == AuditKind::RequirementRemoved
                && e.actor == Some(awb)
                && e.target == id)
    );
}

async fn t_enr_6_re_enrolment_makes_a_new_secret_and_nothing_returns_the_old(b: Backend) {
    let h = b.h().await;
    let (id, first) = h.enrolled(1, R::Manager).await;
    let awb = h.seed(2, R::AdministratorWithBilling).await;
    let boss = h.session(awb).await;
    assert!(h.svc.reset_mfa(&boss, id).await.unwrap().changed);
    let second = h.enrol_via_link(id).await;
    assert_ne!(first, second);
    // The old secret opens nothing any more; the new one does.
    h.advance(30);
    let c = h.challenge(id).await;
    assert!(matches!(
        h.svc.verify(&c, &h.code(&first)).await,
        Err(Error::InvalidCode)
    ));
    h.mfa_session(id, &second).await;
    // Every view of the admin an API gives, and the stored record's `Debug`, show no
    // secret material.
    let view = h
        .svc
        .admins_without_mfa_required(&boss, PageRequest::first(10))
        .await
        .unwrap();
    let shown = format!("{view:?} {:?}", h.get(id).await);
    for secret in [&first, &second] {
        assert!(!shown.contains(secret.to_base32().as_str()));
    }
}

async fn t_enr_7_and_8_setup_link_expires_and_a_login_issues_a_new_one(b: Backend) {
    let h = b.h().await;
    let (id, token) = enabled_with_link(&h, 1).await;
    let email = h.get(id).await.email;
    h.advance(86_400 - 1);
    assert!(h.svc.open_link(&token).await.is_ok());
    h.advance(1);
    assert!(matches!(
        h.svc.open_link(&token).await,
        Err(Error::InvalidCredentials)
    ));
    assert!(matches!(
        h.svc
            .confirm_identity(&token, email.as_str(), &password())
            .await,
        Err(Error::InvalidCredentials)
    ));
    // The abandoned enrolment does not block login: the resend path issues a new link.
    let outcome = h
        .svc
        .login(h.org, email.as_str(), &password())
        .await
        .unwrap();
    assert!(matches!(outcome, LoginOutcome::SetupRequired(_)));
    h.deliver().await;
    let fresh = h.token_for(id).await;
    assert_ne!(fresh, token);
    assert!(h.svc.open_link(&fresh).await.is_ok());
}

// ---- T-REQ ------------------------------------------------------------------------------

async fn t_req_1_bulk_require_of_1000_is_idempotent_and_keeps_factors(b: Backend) {
    let h = b.h().await;
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let mut targets = Vec::new();
    for n in 1000..2000 {
        targets.push(h.seed(n, R::Manager).await);
    }
    let (enrolled, secret) = h.enrolled(2, R::HelpDesk).await;
    targets.push(enrolled);
    h.deliver().await;
    let session = h.session(awb).await;
    let report = h.svc.require_mfa(&session, &targets).await.unwrap();
    assert_eq!(report.items.len(), 1001);
    assert_eq!(report.newly_required(), 1000);
    assert!(report.all_required());
    assert_eq!(h.deliver().await.len(), 1000);
    let again = h.svc.require_mfa(&session, &targets).await.unwrap();
    assert_eq!(again.newly_required(), 0);
    assert!(h.deliver().await.is_empty());
    assert_eq!(h.outbox().await.pending, 0);
    h.mfa_session(enrolled, &secret).await;
}

async fn t_req_2_bulk_require_leaves_an_enrolment_in_flight_alone(b: Backend) {
    let h = b.h().await;
    let (x, token) = enabled_with_link(&h, 1).await;
    let email = h.get(x).await.email;
    let (p, secret) = h.provision(&token, email.as_str()).await;
    let candidate = h.get(x).await.mfa.link.unwrap().candidate.unwrap();
    let awb = h.seed(2, R::AdministratorWithBilling).await;
    let session = h.session(awb).await;
    let report = h.svc.require_mfa(&session, &[x]).await.unwrap();
    assert!(report.all_required());
    assert_eq!(
        h.get(x).await.mfa.link.unwrap().candidate.unwrap(),
        candidate
    );
    h.finish_setup(&token, &p, &secret).await;
    let admin = h.get(x).await;
    assert!(admin.mfa.requirement.is_required() && admin.mfa.is_enrolled());
}

async fn t_req_4_roles_without_permission_cannot_change_others(b: Backend) {
    let h = b.h().await;
    let manager = h.seed(1, R::Manager).await;
    let target = h.seed(2, R::HelpDesk).await;
    let read_only = h.seed(3, R::ReadOnly).await;
    let foreign = h.seed_in(other_org(), 4, R::HelpDesk).await;
    let before = h.store.admin(h.org, target).await.unwrap().unwrap();
    for actor in [manager, read_only] {
        let s = h.session(actor).await;
        assert!(matches!(
            h.svc.enable_mfa(&s, target).await,
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            h.svc.reset_mfa(&s, target).await,
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            h.svc.remove_mfa_requirement(&s, target).await,
            Err(Error::Forbidden(_))
        ));
        let report = h.svc.require_mfa(&s, &[target]).await.unwrap();
        assert!(matches!(
            report.items[0].1,
            admin_mfa::BulkItem::Failed(Error::Forbidden(_))
        ));
    }
    assert_eq!(h.store.admin(h.org, target).await.unwrap().unwrap(), before);
    // Across organizations even an AwB gets "not found".
    let awb = h.seed(5, R::AdministratorWithBilling).await;
    let s = h.session(awb).await;
    assert!(matches!(
        h.svc.enable_mfa(&s, foreign).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        h.svc.reset_mfa(&s, foreign).await,
        Err(Error::NotFound)
    ));
    // Under an org-wide requirement the requirement cannot be removed (G5).
    let h = b.with(|c| c.global_mfa_required(true)).await;
    let awb = h.seed(5, R::AdministratorWithBilling).await;
    let target = h.seed(6, R::Manager).await;
    let s = h.session(awb).await;
    assert!(h.svc.enable_mfa(&s, target).await.unwrap().changed);
    assert!(matches!(
        h.svc.remove_mfa_requirement(&s, target).await,
        Err(Error::Forbidden(_))
    ));
}

// ---- T-RST / T-TOK ----------------------------------------------------------------------

async fn t_rst_2_6_reset_needs_the_password_and_never_touches_it(b: Backend) {
    let h = b.h().await;
    let (id, _) = h.enrolled(1, R::Manager).await;
    let (other, _) = h.enrolled(2, R::Manager).await;
    h.deliver().await;
    let hash_before = h.get(id).await.password_hash;
    let token = h.reset_link(id).await;
    let email = h.get(id).await.email;
    let other_email = h.get(other).await.email;
    let wrong = Password::new("guess").unwrap();
    assert!(matches!(
        h.svc.confirm_identity(&token, email.as_str(), &wrong).await,
        Err(Error::InvalidCredentials)
    ));
    assert!(matches!(
        h.svc
            .confirm_identity(&token, other_email.as_str(), &password())
            .await,
        Err(Error::InvalidCredentials)
    ));
    let (p, new) = h.provision(&token, email.as_str()).await;
    h.advance(30);
    h.finish_setup(&token, &p, &new).await;
    // D8: the password hash is untouched by the MFA reset.
    assert_eq!(h.get(id).await.password_hash, hash_before);
    // A host password change leaves the factor and the requirement in place: the new
    // password leads to the code prompt, and the new factor answers it.
    let changed = Password::new("a new password, set by the host").unwrap();
    let mut admin = h.get(id).await;
    let version = h.store.admin(h.org, id).await.unwrap().unwrap().version;
    admin.password_hash = h.svc.passwords().hash(&changed).await.unwrap();
    assert_ne!(admin.password_hash, hash_before);
    h.store
        .commit(Change::new().update(admin, version))
        .await
        .unwrap();
    let admin = h.get(id).await;
    assert!(admin.mfa.is_enrolled() && admin.mfa.requirement.is_required());
    h.advance(30);
    let c = match h.svc.login(h.org, email.as_str(), &changed).await.unwrap() {
        LoginOutcome::MfaChallenge(c) => c,
        other => panic!("expected the code prompt, got {other:?}"),
    };
    h.svc.verify(&c, &h.code(&new)).await.unwrap();
}

/// Wrong codes on a reset link count on the link, never on the factor's counter (SETUP-2):
/// after login failures, the reset link's five wrong codes void the link without locking the
/// factor, which keeps working; a new reset link then completes, and the old secret stops.
async fn t_rst_7_reset_confirm_failures_count_on_the_link_and_never_lock(b: Backend) {
    let h = b.h().await;
    let (id, old) = h.enrolled(1, R::Manager).await;
    h.deliver().await;
    // Three login failures first.
    h.advance(30);
    let challenge = h.challenge(id).await;
    for _ in 0..3 {
        assert!(h.svc.verify(&challenge, "000000").await.is_err());
    }
    let token = h.reset_link(id).await;
    let email = h.get(id).await.email;
    let p = h
        .svc
        .confirm_identity(&token, email.as_str(), &password())
        .await
        .unwrap();
    for _ in 0..5 {
        assert!(matches!(
            h.svc.complete_setup(&token, p.proof(), "000000").await,
            Err(Error::InvalidCode)
        ));
    }
    let admin = h.get(id).await;
    assert!(!admin.mfa.is_locked());
    assert_eq!(admin.mfa.failures.consecutive, 3, "only the login failures");
    assert!(admin.mfa.link.is_none(), "voided after five wrong codes");
    assert!(matches!(
        h.svc.open_link(&token).await,
        Err(Error::InvalidCredentials)
    ));
    // The old factor still signs in; a new reset link completes and replaces it.
    h.mfa_session(id, &old).await;
    let token = h.reset_link(id).await;
    let (p, new) = h.provision(&token, email.as_str()).await;
    h.advance(30);
    h.finish_setup(&token, &p, &new).await;
    h.mfa_session(id, &new).await;
    h.advance(30);
    let challenge = h.challenge(id).await;
    assert!(h.svc.verify(&challenge, &h.code(&old)).await.is_err());
}

async fn t_tok_1_tokens_are_random_and_stored_as_hashes_only(b: Backend) {
    let h = b.h().await;
    let (id, token) = enabled_with_link(&h, 1).await;
    assert_eq!(token.len(), 43);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let parsed = LinkToken::parse(&token).unwrap();
    let admin = h.get(id).await;
    assert_eq!(admin.mfa.token_hash(), Some(&parsed.hash()));
    assert!(!format!("{admin:?}").contains(&token));
    // Outbox rows hold the token sealed (T-LOG-5): leasing shows ciphertext only.
    let awb = h.seed(2, R::AdministratorWithBilling).await;
    let s = h.session(awb).await;
    assert!(h.svc.reset_mfa(&s, id).await.unwrap().changed);
    let leased = h.store.lease_outbox(h.now(), 1, 10).await.unwrap();
    assert_eq!(leased.len(), 1);
    let sealed = leased[0].notification.link.clone().unwrap();
    let raw = sealed
        .open_link_token(&keys(), id, LinkPurpose::Setup)
        .unwrap();
    assert!(!sealed.ciphertext.windows(32).any(|w| w == raw.as_bytes()));
}

async fn t_tok_3_4_links_survive_scanners_work_once_and_expire(b: Backend) {
    let h = b.h().await;
    let (id, old) = h.enrolled(1, R::Manager).await;
    h.deliver().await;
    let token = h.reset_link(id).await;
    // One character changed.
    let mut tampered = token.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert!(matches!(
        h.svc.open_link(&tampered).await,
        Err(Error::InvalidCredentials)
    ));
    for _ in 0..5 {
        h.svc.open_link(&token).await.unwrap();
    }
    // Reset links live an hour: at expires_at − 1 s the POST works.
    h.advance(3_600 - 1);
    let email = h.get(id).await.email;
    let (p, new) = h.provision(&token, email.as_str()).await;
    h.advance(1);
    assert!(matches!(
        h.svc.complete_setup(&token, p.proof(), &h.code(&new)).await,
        Err(Error::InvalidCode)
    ));
    // A fresh link; completing it works once.
    let token = h.reset_link(id).await;
    let (p, new) = h.provision(&token, email.as_str()).await;
    h.finish_setup(&token, &p, &new).await;
    assert!(matches!(
        h.svc.complete_setup(&token, p.proof(), &h.code(&new)).await,
        Err(Error::InvalidCode)
    ));
    let _ = old;
}

async fn t_tok_5_a_newer_link_voids_the_older(b: Backend) {
    let h = b.h().await;
    let (id, _) = h.enrolled(1, R::Manager).await;
    h.deliver().await;
    let first = h.reset_link(id).await;
    let second = h.reset_link(id).await;
    assert!(matches!(
        h.svc.open_link(&first).await,
        Err(Error::InvalidCredentials)
    ));
    assert!(h.svc.open_link(&second).await.is_ok());
}

#[tokio::test]
async fn t_tok_7_link_ttls_are_bounded() {
    assert!(
        LifecycleConfig::builder()
            .setup_link_ttl_secs(86_401)
            .build()
            .is_err()
    );
    assert!(
        LifecycleConfig::builder()
            .reset_link_ttl_secs(86_401)
            .build()
            .is_err()
    );
    let c = MfaConfig::builder("ACME", BASE).build().unwrap();
    assert_eq!(c.lifecycle().setup_link_ttl_secs(), 86_400);
    assert_eq!(c.lifecycle().reset_link_ttl_secs(), 3_600);
}

async fn t_tok_9_reset_emails_are_capped_without_locking(b: Backend) {
    let h = b.h().await;
    let (id, secret) = h.enrolled(1, R::Manager).await;
    h.deliver().await;
    h.advance(30);
    let challenge = h.challenge(id).await;
    for _ in 0..6 {
        // Every request gets the same answer.
        h.svc.request_reset(&challenge).await.unwrap();
    }
    let sent = h.deliver().await;
    assert_eq!(sent.len(), 3);
    let admin = h.get(id).await;
    assert!(!admin.mfa.is_locked());
    assert_eq!(admin.mfa.failures.consecutive, 0);
    assert!(kinds(&h).await.contains(&AuditKind::LinkRateLimited {
        purpose: LinkPurpose::Reset
    }));
    h.svc.verify(&challenge, &h.code(&secret)).await.unwrap();
}

// ---- T-RL / T-RPL -----------------------------------------------------------------------

async fn t_rl_1_9_delays_then_lock_and_a_right_code_resets_the_count(b: Backend) {
    let h = b.h().await;
    let (id, secret) = h.enrolled(1, R::Manager).await;
    // L − 1 failures (waiting out each delay), then the right code resets the counter.
    let delays = [0, 0, 0, 0, 30, 60, 120, 240, 480];
    for (i, delay) in delays.iter().enumerate() {
        h.advance(*delay);
        let c = h.challenge(id).await;
        assert!(matches!(
            h.svc.verify(&c, "000000").await,
            Err(Error::InvalidCode)
        ));
        assert_eq!(h.get(id).await.mfa.failures.consecutive, i as u32 + 1);
        if i >= 4 {
            // Inside the delay even the right code is refused unchecked and not counted.
            let c = h.challenge(id).await;
            assert!(matches!(
                h.svc.verify(&c, &h.code(&secret)).await,
                Err(Error::InvalidCode)
            ));
            assert_eq!(h.get(id).await.mfa.failures.consecutive, i as u32 + 1);
        }
    }
    h.advance(960);
    let c = h.challenge(id).await;
    h.svc.verify(&c, &h.code(&secret)).await.unwrap();
    assert_eq!(h.get(id).await.mfa.failures.consecutive, 0);
    // L failures lock; the right code is then refused.
    for delay in [30, 0, 0, 0, 0, 30, 60, 120, 240, 480] {
        h.advance(delay.max(1));
        let c = h.challenge(id).await;
        assert!(h.svc.verify(&c, "111111").await.is_err());
    }
    assert!(h.get(id).await.mfa.is_locked());
    h.advance(3_600);
    let c = h.challenge(id).await;
    assert!(matches!(
        h.svc.verify(&c, &h.code(&secret)).await,
        Err(Error::InvalidCode)
    ));
    assert!(
        kinds(&h)
            .await
            .iter()
            .any(|k| matches!(k, AuditKind::Delayed { .. }))
    );
}

async fn t_rl_4_5_passwords_and_codes_never_mix(b: Backend) {
    let h = b.h().await;
    let (id, secret) = h.enrolled(1, R::Manager).await;
    h.advance(30);
    let c = h.challenge(id).await;
    for _ in 0..3 {
        assert!(h.svc.verify(&c, "000000").await.is_err());
    }
    // A correct password does not reset the code counter.
    let _fresh = h.challenge(id).await;
    assert_eq!(h.get(id).await.mfa.failures.consecutive, 3);
    // Spraying wrong passwords cannot lock MFA.
    let email = h.get(id).await.email;
    let wrong = Password::new("wrong").unwrap();
    for _ in 0..20 {
        assert!(matches!(
            h.svc.login(h.org, email.as_str(), &wrong).await,
            Err(Error::InvalidCredentials)
        ));
    }
    let admin = h.get(id).await;
    assert_eq!(admin.mfa.failures.consecutive, 3);
    assert!(!admin.mfa.is_locked());
    h.svc.verify(&c, &h.code(&secret)).await.unwrap();
}

async fn t_rpl_2_3_a_replay_looks_exactly_like_a_wrong_code_and_is_counted(b: Backend) {
    let h = b.h().await;
    let (id, secret) = h.enrolled(1, R::Manager).await;
    h.advance(30);
    let c = h.challenge(id).await;
    let code = h.code(&secret);
    h.svc.verify(&c, &code).await.unwrap();
    let replay = h.svc.verify(&c, &code).await.unwrap_err();
    let wrong = h.svc.verify(&c, "000000").await.unwrap_err();
    assert_eq!(format!("{replay:?}"), format!("{wrong:?}"));
    assert_eq!(replay.to_string(), wrong.to_string());
    assert_eq!(h.get(id).await.mfa.failures.consecutive, 2);
    assert!(kinds(&h).await.contains(&AuditKind::Replayed {
        check: CodeCheck::Login,
        failures: 1
    }));
    // T−1 is refused after T was used; T+1 is accepted at the next step.
    let previous = code_at(&secret, h.now().saturating_sub_secs(30));
    assert!(h.svc.verify(&c, &previous).await.is_err());
    h.advance(30);
    h.svc.verify(&c, &h.code(&secret)).await.unwrap();
    assert_eq!(
        h.get(id)
            .await
            .mfa
            .active_factor()
            .unwrap()
            .last_used_step
            .map(|s| s.get()),
        Some(h.now().as_secs() / 30)
    );
}

// ---- T-ENU / T-PWD ----------------------------------------------------------------------

async fn t_enu_1_3_unknown_locked_and_wrong_look_the_same(b: Backend) {
    let h = b.h().await;
    let (locked, secret) = h.enrolled(1, R::Manager).await;
    let awb = h.seed(2, R::AdministratorWithBilling).await;
    let email = h.get(awb).await.email;
    let before = h.svc.passwords().stats();
    let unknown = h
        .svc
        .login(h.org, "nobody@example.com", &password())
        .await
        .unwrap_err();
    let malformed = h
        .svc
        .login(h.org, "not an email", &password())
        .await
        .unwrap_err();
    let wrong = h
        .svc
        .login(h.org, email.as_str(), &Password::new("wrong").unwrap())
        .await
        .unwrap_err();
    let other_org = h
        .svc
        .login(other_org(), email.as_str(), &password())
        .await
        .unwrap_err();
    for e in [&unknown, &malformed, &wrong, &other_org] {
        assert_eq!(format!("{e:?}"), "InvalidCredentials");
    }
    // T-ENU-2: each unknown-account path ran one dummy verification with the live parameters.
    let after = h.svc.passwords().stats();
    assert_eq!(after.dummy_verifies - before.dummy_verifies, 3);
    assert_eq!(h.svc.passwords().params(), PasswordParams::default());
    // A locked admin with the right password gets the same challenge as anyone (the lock
    // is not revealed), and its codes the same generic error.
    let mut admin = h.get(locked).await;
    let version = h.store.admin(h.org, locked).await.unwrap().unwrap().version;
    admin.mfa.failures.locked = true;
    h.store
        .commit(Change::new().update(admin, version))
        .await
        .unwrap();
    h.advance(30);
    let c = h.challenge(locked).await;
    assert_eq!(
        format!("{:?}", h.svc.verify(&c, "000000").await.unwrap_err()),
        "InvalidCode"
    );
    // Even the right code: the lock holds, and says nothing more than a wrong code.
    assert_eq!(
        format!(
            "{:?}",
            h.svc.verify(&c, &h.code(&secret)).await.unwrap_err()
        ),
        "InvalidCode"
    );
}

async fn t_pwd_1_2_4_phc_hashes_rehash_and_exact_passwords(b: Backend) {
    let h = b.h().await;
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let s = h.session(awb).await;
    let long: String = "ä".repeat(500); // 1000 characters, 1000 bytes... of two-byte chars
    let created = h
        .svc
        .create_admin(
            &s,
            admin_mfa::NewAdmin {
                email: "long@example.com".into(),
                display_name: "Long".into(),
                role: role(R::Manager),
                password: Password::new(&long).unwrap(),
            },
        )
        .await
        .unwrap();
    let hash = h.get(created.id).await.password_hash;
    let parts: Vec<&str> = hash.as_str().split('$').collect();
    assert_eq!(&parts[1..4], ["argon2id", "v=19", "m=19456,t=2,p=1"]);
    assert!(parts[4].len() >= 22, "a salt of at least 16 bytes");
    let outcome = h
        .svc
        .login(h.org, "long@example.com", &Password::new(&long).unwrap())
        .await
        .unwrap();
    assert!(matches!(outcome, LoginOutcome::SetupRequired(_)));
    let mut near = long.clone();
    near.pop();
    near.push('a');
    assert!(
        h.svc
            .login(h.org, "long@example.com", &Password::new(&near).unwrap())
            .await
            .is_err()
    );
    // NFC "é" and NFD "e\u{301}" are different passwords (D7).
    assert!(
        h.svc
            .login(
                h.org,
                email_of(1).as_str(),
                &Password::new(&PASSWORD.to_uppercase()).unwrap()
            )
            .await
            .is_err()
    );

    // T-PWD-2: a weak stored hash is replaced on a successful login, never on a failed one.
    let weak = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        argon2::Params::new(4096, 1, 1, None).unwrap(),
    )
    .hash_password_with_salt(PASSWORD.as_bytes(), b"0123456789abcdef")
    .unwrap()
    .to_string();
    let id = h.seed(2, R::Manager).await;
    let mut admin = h.get(id).await;
    let version = h.store.admin(h.org, id).await.unwrap().unwrap().version;
    admin.password_hash = PasswordHash::new(weak.clone());
    h.store
        .commit(Change::new().update(admin, version))
        .await
        .unwrap();
    let email = email_of(2);
    assert!(
        h.svc
            .login(h.org, &email, &Password::new("nope").unwrap())
            .await
            .is_err()
    );
    assert_eq!(h.get(id).await.password_hash.as_str(), weak);
    assert!(matches!(
        h.svc.login(h.org, &email, &password()).await.unwrap(),
        LoginOutcome::Authenticated(_)
    ));
    let upgraded = h.get(id).await.password_hash;
    assert!(
        upgraded
            .as_str()
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    assert!(matches!(
        h.svc.login(h.org, &email, &password()).await.unwrap(),
        LoginOutcome::Authenticated(_)
    ));
    assert_eq!(h.get(id).await.password_hash, upgraded);
}

// ---- T-LOG / T-NOT / T-SES -------------------------------------------------------------

async fn t_log_2_3_debug_and_audit_hold_no_secret(b: Backend) {
    let h = b.h().await;
    let (id, token) = enabled_with_link(&h, 1).await;
    let email = h.get(id).await.email;
    let (p, secret) = h.provision(&token, email.as_str()).await;
    let code = h.code(&secret);
    let debug = format!(
        "{p:?} {:?} {:?} {:?}",
        h.svc,
        h.svc.complete_setup(&token, p.proof(), "999999").await,
        Password::new(PASSWORD).unwrap()
    );
    for needle in [
        secret.to_base32().as_str(),
        p.otpauth_uri().as_str(),
        token.as_str(),
        PASSWORD,
        "otpauth://",
        "secret=",
    ] {
        assert!(!debug.contains(needle), "{needle} in {debug}");
    }
    h.svc
        .complete_setup(&token, p.proof(), &code)
        .await
        .unwrap();
    let log = h
        .store
        .audit_log(h.org, PageRequest::first(100))
        .await
        .unwrap();
    let text = format!("{log:?}");
    assert!(!text.contains(&code) && !text.contains(&token));
    for event in &log.items {
        assert_eq!(event.org, h.org);
        // The acting admin's own password steps are audited on that admin.
        let own_password = matches!(
            event.kind,
            AuditKind::PasswordAttempted { .. } | AuditKind::PasswordFailuresCleared { .. }
        );
        assert!(event.target == id || own_password, "{event:?}");
    }
    assert!(
        log.items
            .iter()
            .any(|e| e.kind == AuditKind::Enrolled && e.actor == Some(id))
    );
}

async fn t_not_1_2_each_change_queues_exactly_one_message_with_repudiation(b: Backend) {
    let h = b.h().await;
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let s = h.session(awb).await;
    let a = h.seed(2, R::Manager).await;
    let b = h.seed(3, R::Manager).await;
    let mut all = Vec::new();
    // enable
    assert!(h.svc.enable_mfa(&s, a).await.unwrap().changed);
    let m = h.deliver().await;
    assert_eq!(m.len(), 1, "enable");
    all.extend(m);
    // require
    assert_eq!(
        h.svc.require_mfa(&s, &[b]).await.unwrap().newly_required(),
        1
    );
    let m = h.deliver().await;
    assert_eq!(m.len(), 1, "require");
    all.extend(m);
    // enrolment
    let token = h.token_for(a).await;
    let secret = h.enrol_with(&token, email_of(2).as_str()).await;
    let m = h.deliver().await;
    assert_eq!(m.len(), 1, "enrolment");
    all.extend(m);
    // reset request (delivered inside `reset_link`, checked like the others) and completion
    let token = h.reset_link(a).await;
    let request = h.mailer.sent().last().cloned().unwrap();
    assert!(request.subject.starts_with("Reset"), "{}", request.subject);
    assert!(request.text.contains("If this wasn't you"));
    assert!(!request.text.contains(secret.to_base32().as_str()));
    assert!(!request.text.contains("otpauth://"));
    h.enrol_with(&token, email_of(2).as_str()).await;
    let m = h.deliver().await;
    assert_eq!(m.len(), 1, "reset completion");
    all.extend(m);
    // lockout
    for _ in 0..10 {
        h.advance(600);
        let c = h.challenge(a).await;
        assert!(h.svc.verify(&c, "000000").await.is_err());
    }
    let m = h.deliver().await;
    assert_eq!(m.len(), 1, "lockout");
    all.extend(m);
    for message in &all {
        assert!(
            message.text.contains("If this wasn't you"),
            "{}",
            message.subject
        );
        assert!(!message.text.contains(secret.to_base32().as_str()));
        assert!(!message.text.contains("otpauth://"));
    }
    let kinds_sent: Vec<_> = all.iter().map(|m| m.subject.clone()).collect();
    assert_eq!(kinds_sent.len(), 5);
    // Five different messages, not one message five times.
    let distinct: std::collections::HashSet<_> = kinds_sent.iter().collect();
    assert_eq!(distinct.len(), 5, "{kinds_sent:?}");
}

async fn t_not_3_hostile_display_names_are_escaped(b: Backend) {
    let h = b.h().await;
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let target = h.seed(2, R::Manager).await;
    let mut admin = h.get(target).await;
    let version = h.store.admin(h.org, target).await.unwrap().unwrap().version;
    // Stores refuse control characters (INP-1; CR and LF in a name are the renderer's own
    // tests in tests/email.rs), so the hostile name here is markup, quotes, a header-like
    // text and a bidirectional override, which a store keeps and the renderer must defuse.
    admin.display_name = "<script>alert(1)</script>\" Bcc: x@y \u{202E}😀".into();
    h.store
        .commit(Change::new().update(admin, version))
        .await
        .unwrap();
    let s = h.session(awb).await;
    assert!(h.svc.enable_mfa(&s, target).await.unwrap().changed);
    let sent = h.deliver().await;
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].html.contains("<script>"));
    assert!(!sent[0].subject.contains('\n') && !sent[0].subject.contains('\r'));
    assert!(!sent[0].text.contains('\u{202E}'));
}

async fn t_ses_1_2_3_sessions_carry_factors_time_and_epoch(b: Backend) {
    let h = b.with(|c| c.max_auth_age_secs(3_600)).await;
    let (id, secret) = h.enrolled(1, R::AdministratorWithBilling).await;
    h.deliver().await;
    let target = h.seed(2, R::Manager).await;
    let session = h.mfa_session(id, &secret).await;
    assert!(session.used_mfa());
    assert!(!session.requires_recent_reauth(60, h.now()));
    h.advance(3_601);
    assert!(session.requires_recent_reauth(3_600, h.now()));
    // MFA changes need a recent login; reading does not.
    assert!(matches!(
        h.svc.enable_mfa(&session, target).await,
        Err(Error::ReauthRequired)
    ));
    assert!(
        h.svc
            .admins_without_mfa_required(&session, PageRequest::first(5))
            .await
            .is_ok()
    );
    // A self-service reset moves the epoch: the old session is refused everywhere.
    let token = h.reset_link(id).await;
    let email = h.get(id).await.email;
    let p = h
        .svc
        .confirm_identity(&token, email.as_str(), &password())
        .await
        .unwrap();
    let new: TotpSecret = app_secret(&p.otpauth_uri());
    h.finish_setup(&token, &p, &new).await;
    assert!(!h.svc.is_current(&session).await.unwrap());
    assert!(matches!(
        h.svc
            .admins_without_mfa_required(&session, PageRequest::first(5))
            .await,
        Err(Error::SessionExpired)
    ));
    // Nor can the old session be stepped up with a valid code of the new factor.
    h.advance(30);
    assert!(matches!(
        h.svc.reauthenticate(&session, &h.code(&new)).await,
        Err(Error::SessionExpired)
    ));
    let fresh = h.mfa_session(id, &new).await;
    assert!(h.svc.is_current(&fresh).await.unwrap());
    assert!(h.svc.enable_mfa(&fresh, target).await.unwrap().changed);
}

async fn t_rl_3_9_reauthentication_shares_the_counter_and_says_when_to_retry(b: Backend) {
    let h = b.h().await;
    let (id, secret) = h.enrolled(1, R::AdministratorWithBilling).await;
    let session = h.mfa_session(id, &secret).await;
    h.advance(3_600);
    // A fresh code renews authenticated_at.
    let renewed = h
        .svc
        .reauthenticate(&session, &h.code(&secret))
        .await
        .unwrap();
    assert_eq!(renewed.authenticated_at(), h.now());
    assert!(h.svc.is_current(&renewed).await.unwrap());
    // Failures count on the same counter as login codes; inside a delay the authenticated
    // API says when to retry.
    h.advance(30);
    let c = h.challenge(id).await;
    for _ in 0..3 {
        assert!(matches!(
            h.svc.verify(&c, "000000").await,
            Err(Error::InvalidCode)
        ));
    }
    for _ in 0..2 {
        assert!(matches!(
            h.svc.reauthenticate(&renewed, "000000").await,
            Err(Error::InvalidCode)
        ));
    }
    assert_eq!(h.get(id).await.mfa.failures.consecutive, 5);
    match h.svc.reauthenticate(&renewed, &h.code(&secret)).await {
        Err(Error::RetryLater { retry_at }) => {
            assert_eq!(retry_at, h.now().saturating_add_secs(30))
        }
        other => panic!("expected RetryLater, got {other:?}"),
    }
    h.advance(30);
    h.svc
        .reauthenticate(&renewed, &h.code(&secret))
        .await
        .unwrap();
    assert_eq!(h.get(id).await.mfa.failures.consecutive, 0);
}

async fn t_enr_3_first_enrolment_ends_older_sessions(b: Backend) {
    let h = b.h().await;
    let id = h.seed(1, R::Manager).await;
    let before = h.session(id).await;
    assert_eq!(before.factors(), &[admin_mfa::FactorKind::Password]);
    let awb = h.seed(2, R::AdministratorWithBilling).await;
    let boss = h.session(awb).await;
    assert!(h.svc.enable_mfa(&boss, id).await.unwrap().changed);
    // Requiring MFA alone does not end the session (it applies at the next login)…
    assert!(h.svc.is_current(&before).await.unwrap());
    let secret = h.enrol_via_link(id).await;
    // …completing the enrolment does.
    assert!(!h.svc.is_current(&before).await.unwrap());
    let step = h.get(id).await.mfa.active_factor().unwrap().last_used_step;
    assert_eq!(step.map(|s| s.get()), Some(h.now().as_secs() / 30));
    assert_eq!(h.deliver().await.len(), 1, "the confirmation");
    h.mfa_session(id, &secret).await;
}

async fn t_enr_8_an_abandoned_expired_link_is_collected_at_the_next_login(b: Backend) {
    let h = b.h().await;
    let (id, secret) = h.enrolled(1, R::Manager).await;
    h.deliver().await;
    let token = h.reset_link(id).await;
    h.svc
        .confirm_identity(&token, email_of(1).as_str(), &password())
        .await
        .unwrap();
    assert!(h.get(id).await.mfa.link.is_some());
    h.advance(3_600);
    // The abandoned reset never blocks login, and the login collects it.
    let session = h.mfa_session(id, &secret).await;
    assert!(h.get(id).await.mfa.link.is_none());
    assert!(kinds(&h).await.contains(&AuditKind::LinkExpired {
        purpose: LinkPurpose::Reset
    }));
    assert!(h.svc.is_current(&session).await.unwrap());
}

// ---- Password limiter (RL-4, RST-1, T-RST-2, T-RL-4, T-RL-5, T-ENU-3) ---------------------

fn password_failures(admin: &admin_mfa::lifecycle::Admin) -> u32 {
    admin.mfa.password_failures.consecutive
}

/// Wrong passwords at login and at the reset link's identity step add up on one password
/// counter, apart from the code counter; from the 10th the password is refused unchecked
/// (the same generic error, even for the right password) until the delay passes; it never
/// locks; a correct password clears it and leaves the code counter alone.
async fn t_rst_2_t_rl_4_5_password_limiter_is_shared_delays_and_never_locks(b: Backend) {
    let h = b.h().await;
    let (id, secret) = h.enrolled(1, R::Manager).await;
    h.deliver().await;
    let token = h.reset_link(id).await;
    let email = h.get(id).await.email;
    let wrong = Password::new("wrong password").unwrap();
    // Three wrong codes: the code counter is at 3.
    let c = h.challenge(id).await;
    for _ in 0..3 {
        assert!(matches!(
            h.svc.verify(&c, "000000").await,
            Err(Error::InvalidCode)
        ));
    }
    // Five wrong passwords at login and five at the link: one counter, at 10.
    for n in 0..10 {
        let err = if n % 2 == 0 {
            h.svc
                .login(h.org, email.as_str(), &wrong)
                .await
                .unwrap_err()
        } else {
            h.svc
                .confirm_identity(&token, email.as_str(), &wrong)
                .await
                .unwrap_err()
        };
        assert!(matches!(err, Error::InvalidCredentials), "{err:?}");
        h.advance(1);
    }
    let admin = h.get(id).await;
    assert_eq!(password_failures(&admin), 10);
    assert_eq!(
        admin.mfa.failures.consecutive, 3,
        "the code counter never mixes"
    );
    assert!(!admin.mfa.is_locked());
    let audit = kinds(&h).await;
    assert!(audit.contains(&AuditKind::PasswordAttempted {
        check: admin_mfa::PasswordCheck::Login,
        attempts: 9,
    }));
    assert!(audit.contains(&AuditKind::PasswordAttempted {
        check: admin_mfa::PasswordCheck::Link(LinkPurpose::Reset),
        attempts: 10,
    }));
    // Inside the 60 s delay even the right password is refused unchecked, with the same
    // error as an unknown account, and the attempt is not counted.
    let unknown = h
        .svc
        .login(h.org, "nobody@example.com", &password())
        .await
        .unwrap_err();
    let refused = h
        .svc
        .login(h.org, email.as_str(), &password())
        .await
        .unwrap_err();
    assert_eq!(format!("{refused:?}"), format!("{unknown:?}"));
    assert_eq!(refused.to_string(), unknown.to_string());
    assert!(matches!(
        h.svc
            .confirm_identity(&token, email.as_str(), &password())
            .await,
        Err(Error::InvalidCredentials)
    ));
    // Spraying more wrong passwords inside the delay counts nothing and locks nothing.
    for _ in 0..20 {
        assert!(matches!(
            h.svc.login(h.org, email.as_str(), &wrong).await,
            Err(Error::InvalidCredentials)
        ));
    }
    let admin = h.get(id).await;
    assert_eq!(password_failures(&admin), 10);
    assert!(!admin.mfa.is_locked());
    assert!(kinds(&h).await.iter().any(|k| matches!(
        k,
        AuditKind::PasswordDelayed {
            check: admin_mfa::PasswordCheck::Login,
            ..
        }
    )));
    // After the delay the right password works again and clears the password counter, but
    // not the code counter (T-RL-4); the factor was never locked and its code still works.
    h.advance(60);
    let c = h.challenge(id).await;
    let admin = h.get(id).await;
    assert_eq!(password_failures(&admin), 0);
    assert_eq!(admin.mfa.failures.consecutive, 3);
    assert!(
        kinds(&h)
            .await
            .contains(&AuditKind::PasswordFailuresCleared { failures: 11 }),
        "ten wrong attempts and the right one"
    );
    h.svc.verify(&c, &h.code(&secret)).await.unwrap();
    assert_eq!(h.get(id).await.mfa.failures.consecutive, 0);
    // No audit record holds the password.
    let log = format!("{:?}", kinds(&h).await);
    assert!(!log.contains("wrong password") && !log.contains(PASSWORD));
}

/// The delay doubles with every counted wrong password after the threshold (configurable),
/// and the reset link's step is throttled by failures made at login.
async fn password_delays_double_and_are_configurable(b: Backend) {
    let lifecycle = LifecycleConfig::builder()
        .password_delay_after(2)
        .password_base_delay_secs(10)
        .build()
        .unwrap();
    let h = b.with(|c| c.lifecycle(lifecycle)).await;
    let (id, _) = h.enrolled(1, R::Manager).await;
    h.deliver().await;
    let token = h.reset_link(id).await;
    let email = h.get(id).await.email;
    let wrong = Password::new("wrong password").unwrap();
    for _ in 0..2 {
        assert!(h.svc.login(h.org, email.as_str(), &wrong).await.is_err());
    }
    // 2 failures: 10 s. The link's identity step is throttled by the login failures.
    h.advance(9);
    assert!(matches!(
        h.svc
            .confirm_identity(&token, email.as_str(), &password())
            .await,
        Err(Error::InvalidCredentials)
    ));
    h.advance(1);
    assert!(h.svc.login(h.org, email.as_str(), &wrong).await.is_err());
    assert_eq!(password_failures(&h.get(id).await), 3);
    // 3 failures: 20 s.
    h.advance(19);
    assert!(
        h.svc
            .login(h.org, email.as_str(), &password())
            .await
            .is_err()
    );
    h.advance(1);
    h.svc
        .confirm_identity(&token, email.as_str(), &password())
        .await
        .unwrap();
    assert_eq!(password_failures(&h.get(id).await), 0);
}

on_every_store!(
    t_enr_2_wrong_code_at_enrolment_counts_on_the_link_and_enrols_nothing,
    t_enr_4_enrolment_needs_token_and_password_of_the_same_admin,
    t_enr_5_an_active_factor_is_asked_for_even_when_not_required,
    t_enr_6_re_enrolment_makes_a_new_secret_and_nothing_returns_the_old,
    t_enr_7_and_8_setup_link_expires_and_a_login_issues_a_new_one,
    t_req_1_bulk_require_of_1000_is_idempotent_and_keeps_factors,
    t_req_2_bulk_require_leaves_an_enrolment_in_flight_alone,
    t_req_4_roles_without_permission_cannot_change_others,
    t_rst_2_6_reset_needs_the_password_and_never_touches_it,
    t_rst_7_reset_confirm_failures_count_on_the_link_and_never_lock,
    t_tok_1_tokens_are_random_and_stored_as_hashes_only,
    t_tok_3_4_links_survive_scanners_work_once_and_expire,
    t_tok_5_a_newer_link_voids_the_older,
    t_tok_9_reset_emails_are_capped_without_locking,
    t_rl_1_9_delays_then_lock_and_a_right_code_resets_the_count,
    t_rl_4_5_passwords_and_codes_never_mix,
    t_rpl_2_3_a_replay_looks_exactly_like_a_wrong_code_and_is_counted,
    t_enu_1_3_unknown_locked_and_wrong_look_the_same,
    t_pwd_1_2_4_phc_hashes_rehash_and_exact_passwords,
    t_log_2_3_debug_and_audit_hold_no_secret,
    t_not_1_2_each_change_queues_exactly_one_message_with_repudiation,
    t_not_3_hostile_display_names_are_escaped,
    t_ses_1_2_3_sessions_carry_factors_time_and_epoch,
    t_rl_3_9_reauthentication_shares_the_counter_and_says_when_to_retry,
    t_enr_3_first_enrolment_ends_older_sessions,
    t_enr_8_an_abandoned_expired_link_is_collected_at_the_next_login,
    t_rst_2_t_rl_4_5_password_limiter_is_shared_delays_and_never_locks,
    password_delays_double_and_are_configurable,
);
