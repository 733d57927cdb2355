//! The recording mailer's script and the manual clock.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use std::time::Duration;

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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn records_delivered_messages_in_order() {
    runtime().block_on(async {
        let mailer = RecordingMailer::new();
        for n in 0..3 {
            mailer.send(&message(n)).await.unwrap();
        }
        assert_eq!(mailer.sent(), vec![message(0), message(1), message(2)]);
        assert_eq!(mailer.attempts(), 3);
        mailer.clear();
        assert!(mailer.sent().is_empty());
        assert_eq!(mailer.attempts(), 3);
    });
}

#[test]
fn scripted_failures_come_in_order_then_delivery_resumes() {
    runtime().block_on(async {
        let mailer = RecordingMailer::new();
        mailer.fail_next(2);
        mailer.fail_permanently_next(1);
        let first = mailer.send(&message(1)).await.unwrap_err();
        assert!(matches!(first, MailError::Transient(_)) && first.is_retryable());
        assert!(matches!(
            mailer.send(&message(1)).await,
            Err(MailError::Transient(_))
        ));
        let third = mailer.send(&message(1)).await.unwrap_err();
        assert!(matches!(third, MailError::Permanent(_)) && !third.is_retryable());
        assert!(mailer.sent().is_empty(), "a failed send was recorded");
        mailer.send(&message(1)).await.unwrap();
        assert_eq!(mailer.sent(), vec![message(1)]);
        assert_eq!(mailer.attempts(), 4);
    });
}

#[test]
fn a_hanging_send_never_completes_and_records_nothing() {
    runtime().block_on(async {
        let mailer = RecordingMailer::new();
        mailer.hang_next(1);
        let hung = tokio::time::timeout(Duration::from_millis(50), mailer.send(&message(7))).await;
        assert!(hung.is_err(), "the hanging send completed");
        assert!(mailer.sent().is_empty());
        mailer.send(&message(8)).await.unwrap();
        assert_eq!(mailer.sent(), vec![message(8)]);
    });
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
