//! The recording mailer's script and the manual clock.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use admin_mfa_memory::{ManualClock, RecordingMailer};
use admin_mfa_ports::{Clock, DedupeKey, Email, EmailMessage, MailError, Mailer, UnixTime};

fn message(n: u32) -> EmailMessage {
    EmailMessage {
        to: Email::parse(&format!("admin{n}@example.com")).unwrap(),
        subject: format!("message {n}"),
        text: format!("text {n}"),
        html: format!("<p>html {n}</p>"),
        idempotency_key: DedupeKey::from_string(format!("key-{n}")),
    }
}

/// Polls one send once, with no runtime: the recording mailer answers on the first poll
/// unless it was told to hang.
fn poll_send(mailer: &RecordingMailer, message: &EmailMessage) -> Poll<Result<(), MailError>> {
    let mut cx = Context::from_waker(Waker::noop());
    pin!(mailer.send(message)).as_mut().poll(&mut cx)
}

/// Sends message `n`, which must complete at once.
fn send(mailer: &RecordingMailer, n: u32) -> Result<(), MailError> {
    match poll_send(mailer, &message(n)) {
        Poll::Ready(result) => result,
        Poll::Pending => panic!("send of message {n} did not complete"),
    }
}

#[test]
fn records_delivered_messages_in_order() {
    let mailer = RecordingMailer::new();
    for n in 0..3 {
        send(&mailer, n).unwrap();
    }
    assert_eq!(mailer.sent(), vec![message(0), message(1), message(2)]);
    assert_eq!(mailer.attempts(), 3);
    mailer.clear();
    assert!(mailer.sent().is_empty());
    assert_eq!(mailer.attempts(), 3);
}

#[test]
fn scripted_failures_come_in_order_then_delivery_resumes() {
    let mailer = RecordingMailer::new();
    mailer.fail_next(2);
    mailer.fail_permanently_next(1);
    for _ in 0..2 {
        let error = send(&mailer, 1).unwrap_err();
        assert!(matches!(error, MailError::Transient(_)) && error.is_retryable());
    }
    let third = send(&mailer, 1).unwrap_err();
    assert!(matches!(third, MailError::Permanent(_)) && !third.is_retryable());
    assert!(mailer.sent().is_empty(), "a failed send was recorded");
    send(&mailer, 1).unwrap();
    assert_eq!(mailer.sent(), vec![message(1)]);
    assert_eq!(mailer.attempts(), 4);
}

#[test]
fn a_hanging_send_never_completes_and_records_nothing() {
    let mailer = RecordingMailer::new();
    mailer.hang_next(1);
    // It registers no waker and never will: pending now is pending for good.
    assert!(
        poll_send(&mailer, &message(7)).is_pending(),
        "the hanging send completed"
    );
    assert!(mailer.sent().is_empty());
    send(&mailer, 8).unwrap();
    assert_eq!(mailer.sent(), vec![message(8)]);
}

#[test]
fn email_message_debug_hides_the_bodies() {
    let mut m = message(1);
    m.text = "open https://admin.example.com/mfa/setup?token=SECRETTOKEN".into();
    m.html = "<a href=\"https://admin.example.com/mfa/setup?token=SECRETTOKEN\">".into();
    let shown = format!("{m:?}");
    assert!(!shown.contains("SECRETTOKEN"), "{shown}");
    assert!(shown.contains("admin1@example.com"));
}

#[test]
fn manual_clock_moves_only_when_told() {
    let clock = ManualClock::new(UnixTime::from_secs(100));
    assert_eq!(clock.now(), UnixTime::from_secs(100));
    clock.advance(29);
    assert_eq!(clock.now(), UnixTime::from_secs(129));
    clock.set(UnixTime::from_secs(5));
    assert_eq!(clock.now(), UnixTime::from_secs(5));
    clock.set(UnixTime::from_secs(u64::MAX - 1));
    clock.advance(10);
    assert_eq!(clock.now(), UnixTime::from_secs(u64::MAX));
}
