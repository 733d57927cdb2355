//! Set-up deadlines through the service (DL-1..DL-4), on every store: the password alone
//! until the deadline (to the second), the login answer saying when set-up is due, reminders
//! through the outbox three days and one day before (once, across replicas, dropped when no
//! longer true), and a deadline that only moves earlier.

use std::sync::Arc;

use admin_mfa::{
    AdminId, BuiltinRole as R, BulkItem, Error, LoginOutcome, NewAdmin, PageRequest, UnixTime,
};

use crate::backends::{Backend, on_every_store};
use crate::common::*;

const DAY: u64 = 86_400;

fn at(secs: u64) -> UnixTime {
    UnixTime::from_secs(secs)
}

/// Moves the clock to `to` (never back).
fn set(h: &H, to: UnixTime) {
    assert!(to >= h.now(), "the test clock only moves forward");
    h.advance(to.as_secs() - h.now().as_secs());
}

async fn login(h: &H, id: AdminId) -> LoginOutcome {
    let email = h.get(id).await.email;
    h.svc
        .login(h.org, email.as_str(), &password())
        .await
        .unwrap()
}

/// A boss and admin `n` (no MFA), the admin required with a deadline `days` ahead.
async fn required_by(h: &H, n: u32, days: u64) -> (AdminId, UnixTime) {
    let awb = h.seed(900, R::AdministratorWithBilling).await;
    let id = h.seed(n, R::Manager).await;
    let boss = h.session(awb).await;
    let deadline = h.now().saturating_add_secs(days * DAY);
    let report = h.svc.require_mfa_by(&boss, &[id], deadline).await.unwrap();
    assert!(matches!(report.items[0].1, BulkItem::Required));
    (id, deadline)
}

/// DL-1, DL-2: one second before the deadline the password alone signs in and the answer
/// says when set-up is due (and the setup e-mail goes out); at the deadline and one second
/// after, the login answers `SetupRequired`. The widget counts the admin as required all
/// along.
async fn dl_1_2_password_alone_until_the_deadline_to_the_second(b: Backend) {
    let h = b.h().await;
    let (id, deadline) = required_by(&h, 1, 7).await;
    assert_eq!(
        h.store.count_without_mfa_required(h.org).await.unwrap(),
        1,
        "only the boss is listed"
    );
    let LoginOutcome::Authenticated(session) = login(&h, id).await else {
        panic!("a password-only login in the grace period");
    };
    assert_eq!(session.setup_due_by(), Some(deadline));
    assert!(!session.used_mfa());
    // A sealed session keeps the deadline for the replica that opens it.
    let token = h.svc.seal_session(&session, 3_600).unwrap();
    let opened = h.svc.open_session(token.as_str()).unwrap();
    assert_eq!(opened.setup_due_by(), Some(deadline));
    let mail = h.deliver().await;
    assert!(
        mail.iter().any(|m| m.text.contains("token=")),
        "the setup link"
    );
    let notice = mail
        .iter()
        .find(|m| m.subject.starts_with("Set up multi-factor authentication"))
        .expect("the requirement notice names the deadline");
    assert!(notice.subject.contains(" by "), "{}", notice.subject);

    set(&h, at(deadline.as_secs() - 1));
    let LoginOutcome::Authenticated(session) = login(&h, id).await else {
        panic!("still inside the grace period one second before");
    };
    assert_eq!(session.setup_due_by(), Some(deadline));
    set(&h, deadline);
    assert!(matches!(
        login(&h, id).await,
        LoginOutcome::SetupRequired(_)
    ));
    h.advance(1);
    assert!(matches!(
        login(&h, id).await,
        LoginOutcome::SetupRequired(_)
    ));
    // Setting MFA up ends the grace period for good.
    let secret = h.enrol_via_link(id).await;
    h.advance(30);
    let _ = secret;
    assert!(matches!(login(&h, id).await, LoginOutcome::MfaChallenge(_)));
    assert_eq!(h.get(id).await.mfa.setup_deadline, None);
}

/// DL-3: the reminders are in the outbox from the moment of the require, due three days and
/// one day before the deadline: nothing a second early, one e-mail each when due, once across
/// two service instances (replicas) on the same store.
async fn dl_3_reminders_go_out_three_days_and_one_day_before(b: Backend) {
    let h = b.h().await;
    let (id, deadline) = required_by(&h, 2, 10).await;
    let replica = H::over(Arc::clone(&h.store), |c| c);
    let email = h.get(id).await.email;
    let first = h.deliver().await;
    assert_eq!(first.len(), 1, "the requirement notice only");
    assert!(
        h.outbox().await.pending >= 2,
        "the reminders wait in the outbox"
    );
    for lead in [3 * DAY, DAY] {
        let due = at(deadline.as_secs() - lead);
        set(&h, at(due.as_secs() - 1));
        set(&replica, at(due.as_secs() - 1));
        assert!(h.deliver().await.is_empty(), "not a second early");
        h.advance(1);
        replica.advance(1);
        let (a, b) = tokio::join!(h.svc.dispatch_emails(), replica.svc.dispatch_emails());
        assert_eq!(a.unwrap().sent + b.unwrap().sent, 1, "one reminder, once");
        let sent: Vec<_> = h
            .mailer
            .sent()
            .into_iter()
            .chain(replica.mailer.sent())
            .filter(|m| m.subject.starts_with("Reminder"))
            .collect();
        let last = sent.last().unwrap();
        assert_eq!(last.to, email);
        assert!(last.text.contains("becomes required"));
    }
    assert_eq!(h.outbox().await.pending, 0);
}

/// DL-3: a reminder that no longer holds when it comes due is dropped, not sent: the admin
/// set MFA up, or the deadline moved earlier (the new deadline's reminders go out instead).
async fn dl_3_stale_reminders_are_dropped(b: Backend) {
    let h = b.h().await;
    let awb = h.seed(900, R::AdministratorWithBilling).await;
    let (a, c) = (h.seed(3, R::Manager).await, h.seed(4, R::Manager).await);
    let boss = h.session(awb).await;
    let deadline = h.now().saturating_add_secs(10 * DAY);
    let report = h
        .svc
        .require_mfa_by(&boss, &[a, c], deadline)
        .await
        .unwrap();
    assert_eq!(report.newly_required(), 2);
    // `a` sets MFA up at once; `c`'s deadline moves two days earlier.
    assert!(matches!(login(&h, a).await, LoginOutcome::Authenticated(_)));
    h.enrol_via_link(a).await;
    let earlier = h.now().saturating_add_secs(8 * DAY);
    let report = h.svc.require_mfa_by(&boss, &[c], earlier).await.unwrap();
    assert!(matches!(report.items[0].1, BulkItem::Required));
    h.deliver().await;
    let mut dropped = 0;
    let mut reminders = Vec::new();
    let before = h.mailer.sent().len();
    // The day before the new deadline (every reminder of `c`'s new deadline is due), then
    // the old deadline itself (every other reminder is due).
    for when in [at(earlier.as_secs() - DAY), deadline] {
        set(&h, when);
        loop {
            let report = h.svc.dispatch_emails().await.unwrap();
            dropped += report.dropped;
            if report.leased == 0 {
                break;
            }
        }
    }
    for m in h.mailer.sent().split_off(before) {
        reminders.push(m.subject);
    }
    // a: both dropped; c: the old deadline's two dropped, the new deadline's two sent.
    assert_eq!(dropped, 4);
    assert_eq!(reminders.len(), 2, "{reminders:?}");
    assert!(reminders.iter().all(|s| s.starts_with("Reminder")));
}

/// DL-4: a deadline only moves earlier: a later one is "already required", an earlier one
/// replaces it, plain `require_mfa` ends it; the admin concerned cannot push it back (nor lift
/// its own requirement, G8); new admins are required at once.
async fn dl_4_deadlines_only_move_earlier(b: Backend) {
    let h = b.h().await;
    let awb = h.seed(900, R::AdministratorWithBilling).await;
    let other = h.seed(901, R::AdministratorWithBilling).await;
    let id = h.seed(5, R::Manager).await;
    let boss = h.session(awb).await;
    let d = h.now().saturating_add_secs(10 * DAY);
    let report = h.svc.require_mfa_by(&boss, &[id, other], d).await.unwrap();
    assert_eq!(report.newly_required(), 2);
    let later = h.now().saturating_add_secs(20 * DAY);
    let report = h.svc.require_mfa_by(&boss, &[id], later).await.unwrap();
    assert!(matches!(report.items[0].1, BulkItem::AlreadyRequired));
    assert_eq!(h.get(id).await.mfa.setup_deadline, Some(d));

    // The admin concerned, signed in with the password during its grace period, tries to
    // push its own deadline back and to lift its requirement: neither works.
    let LoginOutcome::Authenticated(own) = login(&h, other).await else {
        panic!("grace-period login");
    };
    let report = h.svc.require_mfa_by(&own, &[other], later).await.unwrap();
    assert!(!matches!(report.items[0].1, BulkItem::Required));
    assert_eq!(h.get(other).await.mfa.setup_deadline, Some(d));
    assert!(matches!(
        h.svc.remove_mfa_requirement(&own, other).await,
        Err(Error::Forbidden(_))
    ));

    let earlier = h.now().saturating_add_secs(DAY);
    let report = h.svc.require_mfa_by(&boss, &[id], earlier).await.unwrap();
    assert!(matches!(report.items[0].1, BulkItem::Required));
    assert_eq!(h.get(id).await.mfa.setup_deadline, Some(earlier));
    let report = h.svc.require_mfa(&boss, &[id]).await.unwrap();
    assert!(matches!(report.items[0].1, BulkItem::Required));
    assert!(matches!(
        login(&h, id).await,
        LoginOutcome::SetupRequired(_)
    ));
    let report = h.svc.require_mfa_by(&boss, &[id], later).await.unwrap();
    assert!(matches!(report.items[0].1, BulkItem::AlreadyRequired));
    assert!(matches!(
        login(&h, id).await,
        LoginOutcome::SetupRequired(_)
    ));

    // New admins: required at once, whatever deadlines others have.
    let created = h
        .svc
        .create_admin(
            &boss,
            NewAdmin {
                email: "new@example.com".into(),
                display_name: "New".into(),
                role: role(R::Manager),
                password: password(),
            },
        )
        .await
        .unwrap();
    assert!(created.mfa_required);
    assert!(matches!(
        login(&h, created.id).await,
        LoginOutcome::SetupRequired(_)
    ));
    let log = h
        .store
        .audit_log(h.org, PageRequest::first(1000))
        .await
        .unwrap();
    assert!(log.items.iter().any(
        |e| matches!(e.kind, admin_mfa::AuditKind::SetupDeadlineSet { deadline: Some(x) } if x == d)
    ));
}

/// DL-4 under a concurrent burst: sixteen `require_mfa_by` calls at once, with deadlines
/// both later and earlier than the current one, in no order, leave the earliest of them;
/// none moves it later, whatever the interleaving of their compare-and-swap writes.
async fn dl_4_a_burst_keeps_the_earliest_deadline(b: Backend) {
    let h = b.h().await;
    let (id, first) = required_by(&h, 5, 30).await;
    let boss = h.session(id_of(h.org, 900)).await;
    // Days from now: later ones (31..) and earlier ones (14..29), interleaved.
    let days: Vec<u64> = (0..16u64)
        .map(|i| if i % 2 == 0 { 31 + i } else { 14 + i })
        .collect();
    let earliest = days
        .iter()
        .map(|d| h.now().saturating_add_secs(d * DAY))
        .min()
        .unwrap();
    assert!(earliest < first);
    let barrier = Arc::new(tokio::sync::Barrier::new(days.len()));
    let mut tasks = tokio::task::JoinSet::new();
    for d in days {
        let (svc, boss, barrier) = (Arc::clone(&h.svc), boss.clone(), Arc::clone(&barrier));
        let deadline = h.now().saturating_add_secs(d * DAY);
        tasks.spawn(async move {
            barrier.wait().await;
            svc.require_mfa_by(&boss, &[id], deadline).await.unwrap()
        });
    }
    while let Some(done) = tasks.join_next().await {
        let report = done.unwrap();
        assert!(
            !matches!(report.items[0].1, BulkItem::Failed(_)),
            "{report:?}"
        );
    }
    assert_eq!(h.get(id).await.mfa.setup_deadline, Some(earliest));
}

on_every_store!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    dl_1_2_password_alone_until_the_deadline_to_the_second,
    dl_3_reminders_go_out_three_days_and_one_day_before,
    dl_3_stale_reminders_are_dropped,
    dl_4_deadlines_only_move_earlier,
    dl_4_a_burst_keeps_the_earliest_deadline,
);
