//! One scenario per row of docs/ARCHITECTURE.md §2.3, each run on every store: `memory::*`, `sqlite::*`
//! (a temporary file) and `postgres::*` (a fresh schema; skipped unless configured).

use admin_mfa::lifecycle::{Factor, Requirement};
use admin_mfa::policy::GuardrailId;
use admin_mfa::{
    AuditKind, BuiltinRole as R, BulkItem, Error, FactorKind, LinkPurpose, LoginOutcome, NewAdmin,
    PageRequest, Reason, WidgetAccess,
};

use crate::backends::{Backend, on_every_store};
use crate::common::*;

on_every_store!(
    new_admins_get_mfa_by_default,
    enable_mfa_requires_and_sends_the_setup_email,
    administrator_cannot_enable_mfa_for_an_awb_and_is_told_why,
    setup_link_flow_enrols_with_qr_key_and_code,
    login_with_mfa,
    setup_required_at_login_resends_the_link_rate_limited,
    lnk_1_a_login_keeps_the_setup_link_already_sent,
    widget_as_each_role_sees_it,
    bulk_require_reports_per_admin_and_is_idempotent,
    widget_toggle_is_a_personal_preference,
    self_service_reset_keeps_the_old_factor_until_the_new_one_is_verified,
    designated_admin_resets_another_admins_mfa,
    unlock_after_lockout,
);

async fn new_admins_get_mfa_by_default(b: Backend) {
    let h = b.h().await;
    let boss = h.bootstrap_boss().await;
    // The first admin is itself subject to the default, and gets the setup e-mail.
    assert!(boss.mfa_required);
    assert_eq!(boss.emails_queued, 1);
    // A second bootstrap is refused: the org has its Administrator With Billing.
    assert!(matches!(
        h.svc
            .bootstrap_admin(
                h.org,
                NewAdmin {
                    email: "boss2@example.com".into(),
                    display_name: "Boss 2".into(),
                    role: role(R::AdministratorWithBilling),
                    password: password(),
                },
            )
            .await,
        Err(Error::Conflict)
    ));

    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let session = h.session(awb).await;
    let created = h
        .svc
        .create_admin(
            &session,
            NewAdmin {
                email: "New.Admin@Example.com".into(),
                display_name: "New Admin".into(),
                role: role(R::Manager),
                password: password(),
            },
        )
        .await
        .unwrap();
    assert!(created.mfa_required);
    assert_eq!(created.emails_queued, 1);
    let admin = h.get(created.id).await;
    assert_eq!(admin.email.as_str(), "new.admin@example.com");
    assert!(admin.mfa.requirement.is_required());
    assert_eq!(admin.mfa.factor, Factor::None);
    assert_eq!(
        admin.mfa.link.as_ref().map(|l| l.purpose),
        Some(LinkPurpose::Setup)
    );
    assert!(
        admin
            .password_hash
            .as_str()
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    let sent = h.deliver().await;
    assert_eq!(sent.iter().filter(|m| m.to == admin.email).count(), 1);
    // The same address again is refused; a Manager may not create admins at all.
    let again = h
        .svc
        .create_admin(
            &session,
            NewAdmin {
                email: "new.admin@example.com".into(),
                display_name: "Dup".into(),
                role: role(R::Manager),
                password: password(),
            },
        )
        .await;
    assert!(matches!(again, Err(Error::EmailTaken)));
    let manager = h.seed(2, R::Manager).await;
    let manager = h.session(manager).await;
    let denied = h
        .svc
        .create_admin(
            &manager,
            NewAdmin {
                email: "x@example.com".into(),
                display_name: "X".into(),
                role: role(R::Manager),
                password: password(),
            },
        )
        .await;
    assert!(matches!(denied, Err(Error::Forbidden(_))), "{denied:?}");

    // With the setting off, a new admin starts without the requirement and no e-mail.
    let h = b.with(|c| c.new_admins_require_mfa(false)).await;
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let session = h.session(awb).await;
    let created = h
        .svc
        .create_admin(
            &session,
            NewAdmin {
                email: "plain@example.com".into(),
                display_name: "Plain".into(),
                role: role(R::Manager),
                password: password(),
            },
        )
        .await
        .unwrap();
    assert!(!created.mfa_required);
    assert_eq!(created.emails_queued, 0);
    assert_eq!(h.outbox().await.pending, 0);
}

async fn enable_mfa_requires_and_sends_the_setup_email(b: Backend) {
    let h = b.h().await;
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let target = h.seed(2, R::Administrator).await;
    let session = h.session(awb).await;

    let outcome = h.svc.enable_mfa(&session, target).await.unwrap();
    assert!(outcome.changed);
    assert_eq!(outcome.emails_queued, 1);
    let admin = h.get(target).await;
    assert!(matches!(
        admin.mfa.requirement,
        Requirement::Required { by: Some(by), .. } if by == awb
    ));
    assert_eq!(admin.mfa.factor, Factor::None);
    let sent = h.deliver().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, admin.email);
    assert!(
        sent[0]
            .text
            .contains(&format!("{BASE}?purpose=setup&token="))
    );
    assert!(
        sent[0]
            .html
            .contains(&format!("{BASE}?purpose=setup&amp;token="))
    );
    // The target is audited with the actor.
    let log = h
        .svc
        .audit_log(&session, PageRequest::first(100))
        .await
        .unwrap();
    assert!(log.items.iter().any(|e| e.kind == AuditKind::MfaEnabled
        && e.actor == Some(awb)
        && e.target == target
        && e.org == h.org
        && e.at == h.now()));
    // An AwB may enable MFA for themselves (the guide's second consideration).
    let own = h.svc.enable_mfa(&session, awb).await.unwrap();
    assert!(own.changed);
}

async fn administrator_cannot_enable_mfa_for_an_awb_and_is_told_why(b: Backend) {
    let h = b.h().await;
    let admin = h.seed(1, R::Administrator).await;
    let awb = h.seed(2, R::AdministratorWithBilling).await;
    let other = h.seed(3, R::HelpDesk).await;
    let session = h.session(admin).await;
    let before = h.store.admin(h.org, awb).await.unwrap().unwrap();

    let err = h.svc.enable_mfa(&session, awb).await.unwrap_err();
    let Error::Forbidden(denied) = &err else {
        panic!("expected forbidden, got {err:?}");
    };
    assert_eq!(denied.reason, Reason::Guardrail(GuardrailId::ProtectAwb));
    assert!(err.to_string().contains("protect-awb"), "{err}");
    assert_eq!(h.store.admin(h.org, awb).await.unwrap().unwrap(), before);
    assert_eq!(h.outbox().await.pending, 0);
    // The same Administrator may enable MFA for a non-billing admin.
    assert!(h.svc.enable_mfa(&session, other).await.unwrap().changed);
    // And an admin of another organization is "not found", not "forbidden".
    let foreign = h.seed_in(other_org(), 9, R::HelpDesk).await;
    assert!(matches!(
        h.svc.enable_mfa(&session, foreign).await,
        Err(Error::NotFound)
    ));
}

async fn setup_link_flow_enrols_with_qr_key_and_code(b: Backend) {
    let h = b.h().await;
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let target = h.seed(2, R::Administrator).await;
    let session = h.session(awb).await;
    assert!(h.svc.enable_mfa(&session, target).await.unwrap().changed);
    h.deliver().await;
    let token = h.token_for(target).await;

    // A mail scanner opens the link five times: nothing is consumed.
    for _ in 0..5 {
        let info = h.svc.open_link(&token).await.unwrap();
        assert_eq!(info.purpose, LinkPurpose::Setup);
        assert_eq!(info.expires_at, h.now().saturating_add_secs(86_400));
    }
    let admin = h.get(target).await;
    let provisioning = h
        .svc
        .confirm_identity(&token, admin.email.as_str(), &password())
        .await
        .unwrap();
    let uri = provisioning.otpauth_uri();
    assert!(
        uri.starts_with("otpauth://totp/ACME%20Admin%20Portal:admin000002%40example.com?secret=")
    );
    assert_eq!(provisioning.key().len(), 32);
    assert!(!format!("{provisioning:?}").contains(provisioning.key().as_str()));
    let svg = provisioning.qr_svg().unwrap();
    assert!(svg.contains("<svg"));
    let png = provisioning.qr_png(4).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    // Until the code is submitted, nothing is active and the link is pending.
    assert_eq!(h.get(target).await.mfa.factor, Factor::None);

    let secret = app_secret(&uri);
    let done = h
        .svc
        .complete_setup(&token, provisioning.proof(), &h.code(&secret))
        .await
        .unwrap();
    assert_eq!(done.purpose, LinkPurpose::Setup);
    let admin = h.get(target).await;
    let factor = admin.mfa.active_factor().unwrap();
    assert_eq!(
        factor.last_used_step.map(|s| s.get()),
        Some(h.now().as_secs() / 30)
    );
    assert!(admin.mfa.link.is_none());
    // The link is used up; a confirmation e-mail went out.
    assert!(matches!(
        h.svc
            .complete_setup(&token, provisioning.proof(), &h.code(&secret))
            .await,
        Err(Error::InvalidCode)
    ));
    assert!(matches!(
        h.svc.open_link(&token).await,
        Err(Error::InvalidCredentials)
    ));
    let sent = h.deliver().await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].subject.contains("is set up"), "{}", sent[0].subject);
    // The confirming code cannot also be the first login code (VER-2).
    let challenge = h.challenge(target).await;
    assert!(matches!(
        h.svc.verify(&challenge, &h.code(&secret)).await,
        Err(Error::InvalidCode)
    ));
}

async fn login_with_mfa(b: Backend) {
    let h = b.h().await;
    let (id, secret) = h.enrolled(1, R::Manager).await;
    h.advance(30);
    let challenge = h.challenge(id).await;
    assert_eq!(challenge.admin(), id);
    let session = h.svc.verify(&challenge, &h.code(&secret)).await.unwrap();
    assert_eq!(session.admin(), id);
    assert_eq!(session.factors(), &[FactorKind::Password, FactorKind::Totp]);
    assert_eq!(session.authenticated_at(), h.now());
    assert!(h.svc.is_current(&session).await.unwrap());
    // The same code again is refused, like a wrong one.
    assert!(matches!(
        h.svc.verify(&challenge, &h.code(&secret)).await,
        Err(Error::InvalidCode)
    ));
    assert!(matches!(
        h.svc.verify(&challenge, "000000").await,
        Err(Error::InvalidCode)
    ));
    // The challenge expires.
    h.advance(301);
    assert!(matches!(
        h.svc.verify(&challenge, &h.code(&secret)).await,
        Err(Error::SessionExpired)
    ));
}

/// REQ-2, RL-7: a required admin without a factor gets `SetupRequired` and a setup e-mail,
/// at most three per 15 minutes. Setup links live 60 s here, so each later login finds the
/// previous link expired and takes the e-mail path; a login while the link still works
/// sends nothing (LNK-1).
async fn setup_required_at_login_resends_the_link_rate_limited(b: Backend) {
    let lifecycle = admin_mfa::lifecycle::LifecycleConfig::builder()
        .setup_link_ttl_secs(60)
        .build()
        .unwrap();
    let h = b.with(|c| c.lifecycle(lifecycle)).await;
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let target = h.seed(2, R::HelpDesk).await;
    let session = h.session(awb).await;
    let report = h.svc.require_mfa(&session, &[target]).await.unwrap();
    assert!(report.all_required());
    h.deliver().await;
    let email = h.get(target).await.email;
    let login = || async {
        let outcome = h
            .svc
            .login(h.org, email.as_str(), &password())
            .await
            .unwrap();
        let LoginOutcome::SetupRequired(setup) = outcome else {
            panic!("expected SetupRequired, got {outcome:?}");
        };
        assert_eq!(setup.admin(), target);
        h.deliver()
            .await
            .iter()
            .filter(|m| m.text.contains("token="))
            .count()
    };
    // The first login sends the link; a second one while it still works sends nothing.
    assert_eq!(login().await, 1);
    assert_eq!(login().await, 0);
    let mut links = 1;
    for _ in 0..4 {
        h.advance(61);
        links += login().await;
    }
    // Three setup e-mails per 15 minutes; the other two logins look the same.
    assert_eq!(links, 3);
    // A password-only login never enrols by itself.
    assert_eq!(h.get(target).await.mfa.factor, Factor::None);
    h.advance(15 * 60 + 1);
    assert_eq!(login().await, 1);
}

/// LNK-1: the setup e-mail sent when MFA became required (the first admin's bootstrap, an
/// admin enabling MFA) is the only one a following login leads to, and its link still opens
/// and completes the enrolment.
async fn lnk_1_a_login_keeps_the_setup_link_already_sent(b: Backend) {
    let h = b.h().await;
    let boss = h.bootstrap_boss().await;
    let target = h.seed(2, R::HelpDesk).await;
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let session = h.session(awb).await;
    assert!(h.svc.enable_mfa(&session, target).await.unwrap().changed);
    let admins = [
        (boss.id, "boss@example.com".to_owned()),
        (target, h.get(target).await.email.as_str().to_owned()),
    ];
    h.advance(5);
    for (_, address) in &admins {
        let outcome = h.svc.login(h.org, address, &password()).await.unwrap();
        assert!(
            matches!(outcome, LoginOutcome::SetupRequired(_)),
            "{outcome:?}"
        );
    }
    let delivered = h.deliver().await;
    for (id, address) in &admins {
        let sent: Vec<_> = delivered
            .iter()
            .filter(|m| m.to.as_str() == address)
            .collect();
        assert_eq!(sent.len(), 1, "exactly one setup e-mail for {address}");
        let token = token_in(&sent[0].text);
        // The e-mailed link still works after the login, and completes the enrolment.
        let info = h.svc.open_link(&token).await.unwrap();
        assert_eq!(info.purpose, LinkPurpose::Setup);
        h.enrol_with(&token, address).await;
        assert!(matches!(h.get(*id).await.mfa.factor, Factor::Active(_)));
    }
}

async fn widget_as_each_role_sees_it(b: Backend) {
    let h = b.h().await;
    let roles = [
        (R::AdministratorWithBilling, WidgetAccess::Actionable),
        (R::Administrator, WidgetAccess::ViewOnly),
        (R::Manager, WidgetAccess::ViewOnly),
        (R::HelpDesk, WidgetAccess::ViewOnly),
        (R::ReadOnly, WidgetAccess::ViewOnly),
        (R::CommandRunner, WidgetAccess::Hidden),
        (R::CommandRunnerWithBilling, WidgetAccess::Hidden),
        (R::BillingOnly, WidgetAccess::NoHomePage),
    ];
    let mut ids = Vec::new();
    for (n, (r, _)) in roles.iter().enumerate() {
        ids.push(h.seed(n as u32 + 1, *r).await);
    }
    // One more admin has MFA required: the eight above are listed.
    let extra = h.seed(9, R::Manager).await;
    let awb_session = h.session(ids[0]).await;
    assert!(
        h.svc
            .require_mfa(&awb_session, &[extra])
            .await
            .unwrap()
            .all_required()
    );
    for ((r, access), id) in roles.iter().zip(&ids) {
        let session = h.session(*id).await;
        let view = h
            .svc
            .admins_without_mfa_required(&session, PageRequest::first(3))
            .await
            .unwrap();
        assert_eq!(view.access, *access, "{r:?}");
        assert!(view.enabled);
        match access {
            WidgetAccess::Actionable | WidgetAccess::ViewOnly => {
                assert_eq!(view.count, Some(8));
                let page = view.admins.unwrap();
                assert_eq!(page.items.len(), 3);
                assert_eq!(page.items[0].email.as_str(), email_of(1));
                assert!(page.next.is_some());
            }
            WidgetAccess::Hidden | WidgetAccess::NoHomePage => {
                assert_eq!(view.count, None);
                assert!(view.admins.is_none());
            }
        }
    }
}

async fn bulk_require_reports_per_admin_and_is_idempotent(b: Backend) {
    let h = b.with(|c| c.bulk_chunk_size(3)).await;
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let mut targets = Vec::new();
    for n in 2..=8 {
        targets.push(h.seed(n, R::Manager).await);
    }
    let (enrolled, secret) = h.enrolled(9, R::HelpDesk).await;
    let foreign = h.seed_in(other_org(), 10, R::Manager).await;
    let session = h.session(awb).await;
    h.deliver().await;
    // One enrolled admin has MFA required already; undo it to check the factor survives.
    let mut asked = targets.clone();
    asked.push(foreign);
    asked.push(enrolled);
    asked.push(targets[0]);
    let report = h.svc.require_mfa(&session, &asked).await.unwrap();
    assert_eq!(report.items.len(), asked.len());
    for (i, (id, item)) in report.items.iter().enumerate() {
        assert_eq!(*id, asked[i]);
        match i {
            0..=6 => assert!(matches!(item, BulkItem::Required), "{i}: {item:?}"),
            7 => assert!(
                matches!(item, BulkItem::Failed(Error::NotFound)),
                "{item:?}"
            ),
            _ => assert!(matches!(item, BulkItem::AlreadyRequired), "{i}: {item:?}"),
        }
    }
    assert_eq!(report.newly_required(), 7);
    assert_eq!(report.failures().count(), 1);
    for id in &targets {
        assert!(h.get(*id).await.mfa.requirement.is_required());
    }
    assert!(h.get(enrolled).await.mfa.is_enrolled());
    let first = h.deliver().await;
    assert_eq!(first.len(), 7);
    // The same selection again: nothing changes and nothing is sent.
    let again = h.svc.require_mfa(&session, &targets).await.unwrap();
    let ids: Vec<_> = again.items.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, targets);
    assert_eq!(again.newly_required(), 0);
    assert!(again.all_required());
    assert!(h.deliver().await.is_empty());
    // The enrolled admin still logs in with their factor.
    h.mfa_session(enrolled, &secret).await;
    // An Administrator may view the list but not act on it.
    let admin = h.seed(11, R::Administrator).await;
    let viewer = h.session(admin).await;
    let denied = h.svc.require_mfa(&viewer, &[admin]).await.unwrap();
    assert!(matches!(
        denied.items[0].1,
        BulkItem::Failed(Error::Forbidden(_))
    ));
}

async fn widget_toggle_is_a_personal_preference(b: Backend) {
    let h = b.h().await;
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let other = h.seed(2, R::Administrator).await;
    let billing = h.seed(3, R::BillingOnly).await;
    let session = h.session(awb).await;
    assert!(h.svc.set_widget_enabled(&session, false).await.unwrap());
    // Switching it off twice writes nothing the second time.
    assert!(!h.svc.set_widget_enabled(&session, false).await.unwrap());
    let mine = h
        .svc
        .admins_without_mfa_required(&session, PageRequest::first(10))
        .await
        .unwrap();
    assert!(!mine.enabled);
    let theirs = h
        .svc
        .admins_without_mfa_required(&h.session(other).await, PageRequest::first(10))
        .await
        .unwrap();
    assert!(theirs.enabled);
    let billing = h.session(billing).await;
    assert!(matches!(
        h.svc.set_widget_enabled(&billing, false).await,
        Err(Error::NotFound)
    ));
    assert!(h.svc.set_widget_enabled(&session, true).await.unwrap());
}

async fn self_service_reset_keeps_the_old_factor_until_the_new_one_is_verified(b: Backend) {
    let h = b.h().await;
    let (id, old) = h.enrolled(1, R::Administrator).await;
    h.deliver().await;
    let before = h.mfa_session(id, &old).await;
    h.advance(30);
    let challenge = h.challenge(id).await;
    h.svc.request_reset(&challenge).await.unwrap();
    let sent = h.deliver().await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].text.contains("purpose=reset&token="));
    let token = token_in(&sent[0].text);
    assert_eq!(
        h.svc.open_link(&token).await.unwrap().purpose,
        LinkPurpose::Reset
    );
    // The old factor still works while the reset is pending.
    h.mfa_session(id, &old).await;
    let email = h.get(id).await.email;
    let provisioning = h
        .svc
        .confirm_identity(&token, email.as_str(), &password())
        .await
        .unwrap();
    assert_eq!(provisioning.purpose(), LinkPurpose::Reset);
    let new = app_secret(&provisioning.otpauth_uri());
    // Abandoning here would leave the old factor working.
    h.advance(30);
    h.mfa_session(id, &old).await;
    let done = h
        .svc
        .complete_setup(&token, provisioning.proof(), &h.code(&new))
        .await
        .unwrap();
    assert_eq!(done.purpose, LinkPurpose::Reset);
    // The old secret no longer works, the new one does, older sessions are revoked.
    h.advance(30);
    let challenge = h.challenge(id).await;
    assert!(matches!(
        h.svc.verify(&challenge, &h.code(&old)).await,
        Err(Error::InvalidCode)
    ));
    h.mfa_session(id, &new).await;
    assert!(!h.svc.is_current(&before).await.unwrap());
    let sent = h.deliver().await;
    assert_eq!(sent.len(), 1, "one reset-completed e-mail");
    let log = h
        .store
        .audit_log(h.org, PageRequest::first(1000))
        .await
        .unwrap();
    assert!(
        log.items
            .iter()
            .any(|e| e.kind == AuditKind::ResetCompleted && e.target == id)
    );
}

async fn designated_admin_resets_another_admins_mfa(b: Backend) {
    let h = b.h().await;
    let (target, secret) = h.enrolled(1, R::HelpDesk).await;
    let admin = h.seed(2, R::Administrator).await;
    let (awb, _) = h.enrolled(3, R::AdministratorWithBilling).await;
    h.deliver().await;
    let target_session = h.mfa_session(target, &secret).await;
    let actor = h.session(admin).await;

    let outcome = h.svc.reset_mfa(&actor, target).await.unwrap();
    assert!(outcome.changed);
    assert_eq!(outcome.emails_queued, 1);
    let state = h.get(target).await;
    assert_eq!(state.mfa.factor, Factor::None);
    assert_eq!(
        state.mfa.link.as_ref().map(|l| l.purpose),
        Some(LinkPurpose::Setup)
    );
    assert!(!h.svc.is_current(&target_session).await.unwrap());
    let sent = h.deliver().await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].text.contains("purpose=setup&token="));
    // An Administrator may not reset an Administrator With Billing (G1).
    assert!(matches!(
        h.svc.reset_mfa(&actor, awb).await,
        Err(Error::Forbidden(d)) if d.reason == Reason::Guardrail(GuardrailId::ProtectAwb)
    ));
    // The target re-enrols through the new setup link.
    let new = h.enrol_via_link(target).await;
    h.mfa_session(target, &new).await;
}

async fn unlock_after_lockout(b: Backend) {
    let h = b.h().await;
    let (id, secret) = h.enrolled(1, R::Manager).await;
    let awb = h.seed(2, R::AdministratorWithBilling).await;
    let helpdesk = h.seed(3, R::HelpDesk).await;
    let mut challenge = h.challenge(id).await;
    for i in 0..10 {
        // Wait out the delays from the fifth failure on; a new login each time does not
        // reset the count (RL-5).
        h.advance(600);
        challenge = h.challenge(id).await;
        assert!(
            matches!(
                h.svc.verify(&challenge, "000000").await,
                Err(Error::InvalidCode)
            ),
            "attempt {i}"
        );
    }
    assert!(h.get(id).await.mfa.is_locked());
    // Locked: a fresh challenge with the right code is still refused.
    let fresh = h.challenge(id).await;
    assert!(matches!(
        h.svc.verify(&fresh, &h.code(&secret)).await,
        Err(Error::InvalidCode)
    ));
    // A Help Desk admin may not unlock; an AwB may.
    let hd = h.session(helpdesk).await;
    assert!(matches!(
        h.svc.unlock_mfa(&hd, id).await,
        Err(Error::Forbidden(_))
    ));
    let boss = h.session(awb).await;
    assert!(h.svc.unlock_mfa(&boss, id).await.unwrap().changed);
    assert!(matches!(
        h.svc.unlock_mfa(&boss, id).await,
        Err(Error::NotApplicable(_))
    ));
    // The old challenge stays dead; a new login works.
    assert!(matches!(
        h.svc.verify(&challenge, &h.code(&secret)).await,
        Err(Error::SessionExpired)
    ));
    h.mfa_session(id, &secret).await;
    let kinds: Vec<_> = h
        .store
        .audit_log(h.org, PageRequest::first(1000))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&AuditKind::LockedOut));
    assert!(kinds.contains(&AuditKind::Unlocked));
    assert!(kinds.contains(&AuditKind::RefusedLocked));
    let notices = h.deliver().await;
    assert!(
        notices
            .iter()
            .any(|m| m.subject.to_lowercase().contains("lock")),
        "{notices:?}"
    );
}

/// The random source is a port: two services seeded alike draw the same link tokens, admin
/// ids and secrets, so a whole scenario replays exactly; differently seeded ones do not.
#[tokio::test]
async fn a_seeded_random_source_makes_a_run_repeatable() {
    async fn run(seed: u64) -> (Vec<String>, admin_mfa::AdminId, String) {
        let h = H::seeded(seed);
        let awb = h.seed(1, R::AdministratorWithBilling).await;
        let boss = h.session(awb).await;
        let created = h
            .svc
            .create_admin(
                &boss,
                NewAdmin {
                    email: "grace@example.com".into(),
                    display_name: "Grace".into(),
                    role: admin_mfa::Role::Builtin(R::HelpDesk),
                    password: password(),
                },
            )
            .await
            .unwrap();
        let tokens: Vec<String> = h
            .deliver()
            .await
            .iter()
            .map(|m| token_in(&m.text))
            .collect();
        let p = h
            .svc
            .confirm_identity(&tokens[0], "grace@example.com", &password())
            .await
            .unwrap();
        (tokens, created.id, p.key().to_string())
    }
    let (a, b, c) = (run(7).await, run(7).await, run(8).await);
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
    assert_ne!(a.1, c.1);
    assert_ne!(a.2, c.2);
}
