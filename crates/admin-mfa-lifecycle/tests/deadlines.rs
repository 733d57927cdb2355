//! Set-up deadlines in the state machine (DL-1..DL-4): a grace period up to the deadline,
//! reminders queued with their due times, and a deadline that only ever moves earlier.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

mod common;

use admin_mfa_lifecycle::{
    AuditKind, Command, Event, LoginStep, NotificationDetail, NotificationKind, UnixTime,
    audit_events, notifications,
};
use common::World;
use proptest::prelude::*;

const DAY: u64 = 86_400;

fn require(w: &mut World, deadline: Option<UnixTime>) -> Vec<Event> {
    let by = w.boss;
    w.run(Command::Require { by, deadline }).unwrap()
}

fn require_in(w: &mut World, days: u64) -> Vec<Event> {
    let deadline = in_days(w, days);
    require(w, Some(deadline))
}

fn in_days(w: &World, days: u64) -> UnixTime {
    w.now.saturating_add_secs(days * DAY)
}

/// DL-1, DL-2: until the deadline the password alone signs in (with the deadline said);
/// from the deadline on, set-up is required. Required all along for the widget.
#[test]
fn dl_1_2_grace_ends_at_the_deadline_to_the_second() {
    let mut w = World::new(1);
    let d = in_days(&w, 7);
    let events = require(&mut w, Some(d));
    assert!(matches!(
        events.as_slice(),
        [
            Event::RequirementSet { .. },
            Event::SetupDeadlineSet { deadline: Some(x), .. }
        ] if *x == d
    ));
    assert!(w.state.requirement.is_required());
    assert_eq!(w.state.login_step(), LoginStep::SetupRequired);
    let before = UnixTime::from_secs(d.as_secs() - 1);
    let after = d.saturating_add_secs(1);
    assert_eq!(w.state.login_step_at(w.now), LoginStep::SetupDue { by: d });
    assert_eq!(w.state.login_step_at(before), LoginStep::SetupDue { by: d });
    assert_eq!(w.state.login_step_at(d), LoginStep::SetupRequired);
    assert_eq!(w.state.login_step_at(after), LoginStep::SetupRequired);
    // A login in the grace period still gets the setup link.
    let cmd = w.issue_setup_link();
    assert!(matches!(
        w.run(cmd).unwrap().as_slice(),
        [Event::LinkIssued(_)]
    ));
    // Enrolling ends the grace period for good.
    let cmd = w.confirm();
    w.run(cmd).unwrap();
    let cmd = w.complete(true);
    w.run(cmd).unwrap();
    assert_eq!(w.state.setup_deadline, None);
    assert_eq!(w.state.login_step_at(before), LoginStep::MfaChallenge);
}

/// DL-3: the reminders are queued with the requirement, due three days and one day before
/// the deadline, keyed by deadline and lead time; those already due are left out; the
/// requirement notice names the deadline; the audit names it too.
#[test]
fn dl_3_reminders_are_queued_with_their_due_times() {
    let mut w = World::new(2);
    let d = in_days(&w, 10);
    let before = w.record();
    let events = require(&mut w, Some(d));
    let mail = notifications(&before, &events, w.now, 1);
    let kinds: Vec<_> = mail.iter().map(|n| (n.kind, n.created_at)).collect();
    assert_eq!(
        kinds,
        vec![
            (NotificationKind::MfaRequired, w.now),
            (
                NotificationKind::SetupReminder,
                UnixTime::from_secs(d.as_secs() - 3 * DAY)
            ),
            (
                NotificationKind::SetupReminder,
                UnixTime::from_secs(d.as_secs() - DAY)
            ),
        ]
    );
    assert!(
        mail.iter()
            .all(|n| n.detail == Some(NotificationDetail::SetupDue { by: d }))
    );
    assert_ne!(mail[1].dedupe_key, mail[2].dedupe_key);
    let audit = audit_events(&before, &events, Some(w.boss), w.now);
    assert_eq!(
        audit[1].kind,
        AuditKind::SetupDeadlineSet { deadline: Some(d) }
    );
    // The same call again: nothing, so nothing queued twice.
    assert!(require(&mut w, Some(d)).is_empty());

    // Two days ahead: the three-day reminder is already due, so only the one-day one.
    let mut w = World::new(3);
    let d = in_days(&w, 2);
    let events = require(&mut w, Some(d));
    let mail = notifications(&w.record(), &events, w.now, 1);
    let reminders: Vec<_> = mail
        .iter()
        .filter(|n| n.kind == NotificationKind::SetupReminder)
        .map(|n| n.created_at)
        .collect();
    assert_eq!(reminders, vec![UnixTime::from_secs(d.as_secs() - DAY)]);
    // Exactly one day ahead: that reminder is due now, so none.
    let mut w = World::new(4);
    let d = in_days(&w, 1);
    let events = require(&mut w, Some(d));
    let mail = notifications(&w.record(), &events, w.now, 1);
    assert!(
        mail.iter()
            .all(|n| n.kind != NotificationKind::SetupReminder)
    );
}

/// DL-4: a deadline only moves earlier: a later one changes nothing, an earlier one replaces
/// it (with new reminders), "at once" ends it, and nothing brings a grace period back;
/// Enable, an admin reset and a removed requirement end it too; an enrolled admin gets none.
#[test]
fn dl_4_a_deadline_only_moves_earlier() {
    let mut w = World::new(5);
    let d = in_days(&w, 10);
    require(&mut w, Some(d));
    assert!(require_in(&mut w, 20).is_empty());
    assert_eq!(w.state.setup_deadline, Some(d));
    let earlier = in_days(&w, 5);
    let events = require(&mut w, Some(earlier));
    assert!(matches!(
        events.as_slice(),
        [Event::SetupDeadlineSet { deadline: Some(x), .. }] if *x == earlier
    ));
    let mail = notifications(&w.record(), &events, w.now, 2);
    assert_eq!(mail[0].kind, NotificationKind::MfaRequired);
    assert_eq!(mail.len(), 3, "a notice and two new reminders");
    let events = require(&mut w, None);
    assert!(matches!(
        events.as_slice(),
        [Event::SetupDeadlineSet { deadline: None, .. }]
    ));
    assert_eq!(w.state.login_step_at(w.now), LoginStep::SetupRequired);
    assert!(require_in(&mut w, 3).is_empty());
    assert_eq!(w.state.setup_deadline, None);

    // Enable requires at once.
    let mut w = World::new(6);
    require_in(&mut w, 5);
    let cmd = w.enable();
    let events = w.run(cmd).unwrap();
    assert!(matches!(
        events.as_slice(),
        [
            Event::SetupDeadlineSet { deadline: None, .. },
            Event::LinkIssued(_)
        ]
    ));
    let mail = notifications(&w.record(), &events, w.now, 2);
    assert_eq!(mail.len(), 1, "the invitation alone");

    // A removed requirement, then a new one, starts afresh; an admin reset ends it.
    let mut w = World::new(7);
    require_in(&mut w, 5);
    let by = w.boss;
    w.run(Command::RemoveRequirement {
        by,
        global_required: false,
    })
    .unwrap();
    assert_eq!(w.state.setup_deadline, None);
    require_in(&mut w, 9);
    assert_eq!(w.state.setup_deadline, Some(in_days(&w, 9)));
    let cmd = w.admin_reset();
    w.run(cmd).unwrap();
    assert_eq!(w.state.setup_deadline, None);
    assert_eq!(w.state.login_step_at(w.now), LoginStep::SetupRequired);

    // Enrolled: required, and no deadline (the factor is asked for anyway).
    let mut w = World::enrolled(8);
    let by = w.boss;
    w.run(Command::RemoveRequirement {
        by,
        global_required: false,
    })
    .unwrap();
    let events = require_in(&mut w, 5);
    assert!(matches!(events.as_slice(), [Event::RequirementSet { .. }]));
    assert_eq!(w.state.setup_deadline, None);
}

proptest! {
    /// DL-4 under any sequence of require calls, with any deadlines and any waits: while the
    /// requirement stands, the deadline never moves later and a grace period never comes back.
    #[test]
    fn dl_4_no_sequence_of_calls_moves_a_deadline_later(
        calls in prop::collection::vec((prop::option::of(0_u64..30 * DAY), 0_u64..5 * DAY), 1..12),
    ) {
        let mut w = World::new(9);
        let mut in_grace_before = None::<UnixTime>;
        let mut was_required = false;
        for (deadline, wait) in calls {
            let deadline = deadline.map(|secs| w.now.saturating_add_secs(secs));
            require(&mut w, deadline);
            let now_deadline = w.state.setup_deadline_after(w.now);
            if was_required {
                match (in_grace_before, now_deadline) {
                    (Some(old), Some(new)) => prop_assert!(new <= old),
                    (None, Some(_)) => prop_assert!(false, "a grace period came back"),
                    _ => {}
                }
            }
            was_required = true;
            in_grace_before = now_deadline;
            w.advance(wait);
            in_grace_before = in_grace_before.filter(|d| w.now < *d);
        }
    }
}
