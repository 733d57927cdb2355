//! The mailer conformance cases, and the [`MailerHarness`] through which an adapter hands
//! its mailer to them.
//!
//! The cases are reached only through [`MAILER_CASES`](crate::MAILER_CASES) and
//! [`mailer_conformance!`](crate::mailer_conformance), which list them once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a conformance case fails by panicking, like a test"
)]

use std::collections::HashSet;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use admin_mfa_lifecycle::DedupeKey;
use admin_mfa_ports::{EmailMessage, MailError, Mailer};
use tokio::sync::Barrier;

use crate::fixtures::email;

/// A way a mailer can be made to fail, for the cases on failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// A failure that may pass ([`MailError::Transient`]): a busy relay, a 4xx reply.
    Transient,
    /// A refusal for good ([`MailError::Permanent`]): a 5xx reply to the recipient.
    Permanent,
    /// No answer in time ([`MailError::Timeout`]).
    Timeout,
}

impl Failure {
    const ALL: [Self; 3] = [Self::Transient, Self::Permanent, Self::Timeout];

    fn matches(self, error: &MailError) -> bool {
        match self {
            Self::Transient => matches!(error, MailError::Transient(_)),
            Self::Permanent => matches!(error, MailError::Permanent(_)),
            Self::Timeout => matches!(error, MailError::Timeout),
        }
    }
}

/// One message as its receiver got it.
///
/// The cases compare bodies with CRLF read as LF and trailing line breaks ignored, since a
/// MIME transport may add them; everything else must arrive exactly as it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Every recipient the message went to (for SMTP, the envelope's).
    pub to: Vec<String>,
    /// The subject, decoded.
    pub subject: String,
    /// The plain-text body, decoded.
    pub text: String,
    /// The HTML body, decoded.
    pub html: String,
    /// What the receiver holds to tell a retry from another message: the idempotency key
    /// itself, or a value derived from it alone (such as a `Message-ID`).
    pub idempotency: String,
}

/// A mailer under test, with a view of what its receiver got and a way to make it fail.
///
/// Each case gets a fresh harness whose receiver has nothing yet.
pub trait MailerHarness: Send + Sync {
    /// The mailer, as the service holds it.
    fn mailer(&self) -> Arc<dyn Mailer>;

    /// Every message delivered so far, in the order the receiver got them.
    fn delivered(&self) -> Pin<Box<dyn Future<Output = Vec<Delivery>> + Send + '_>>;

    /// Arranges for `message` to fail with `failure` when sent once, and returns what to
    /// send (the message itself after scripting the mailer, or the message sent to a
    /// recipient the server refuses); `None` when this mailer cannot be made to fail so.
    fn failing(&self, failure: Failure, message: EmailMessage) -> Option<EmailMessage>;
}

/// In every body; no error may show it.
const LINK_SECRET: &str = "tok-CONFORMANCE-LINK-SECRET";

fn message(n: u32, key: &str) -> EmailMessage {
    let link = format!("https://portal.example.com/mfa/setup#{LINK_SECRET}");
    EmailMessage {
        to: email(&format!("admin{n}@example.org")),
        subject: format!("Set up multi-factor authentication ({n}) — Grüße 🔐 <b>"),
        text: format!(
            "Hello Admin {n},\n\
             Set it up here: {link}\n\
             .\n\
             ..a line that starts with dots\n\
             Grüße — <script> stays text.\n"
        ),
        html: format!(
            "<p>Hello Admin {n} &lt;script&gt;,</p><p><a href=\"{link}\">Set up MFA</a></p>"
        ),
        idempotency_key: DedupeKey::from_string(key.to_owned()),
    }
}

fn body(text: &str) -> String {
    text.replace("\r\n", "\n").trim_end_matches('\n').to_owned()
}

fn assert_intact(got: &Delivery, sent: &EmailMessage) {
    assert_eq!(got.to, vec![sent.to.as_str().to_owned()], "recipients");
    assert_eq!(got.subject, sent.subject, "subject");
    assert_eq!(body(&got.text), body(&sent.text), "text body");
    assert_eq!(body(&got.html), body(&sent.html), "HTML body");
    assert!(!got.idempotency.is_empty(), "no idempotency key arrived");
}

/// Every error in the chain, shown both ways.
fn shown(error: &MailError) -> String {
    let mut out = format!("{error} {error:?}");
    let mut source = error.source();
    while let Some(s) = source {
        out.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    out
}

/// Sends a message that fails with each of `failures` the harness can arrange, checks the
/// variant, `retryable` and that nothing arrived, then that the mailer delivers again.
async fn check_failures(harness: Arc<dyn MailerHarness>, failures: &[Failure], retryable: bool) {
    let mailer = harness.mailer();
    let mut arranged = 0;
    for (n, &failure) in (1..).zip(failures) {
        let Some(failing) = harness.failing(failure, message(n, &format!("fail-{n}"))) else {
            continue;
        };
        arranged += 1;
        let error = mailer.send(&failing).await.unwrap_err();
        assert!(
            failure.matches(&error),
            "{failure:?} arranged, got {error:?}"
        );
        assert_eq!(error.is_retryable(), retryable, "{error:?}");
        assert!(
            harness.delivered().await.is_empty(),
            "a failed send arrived"
        );
    }
    if arranged == 0 {
        eprintln!("this mailer cannot be made to fail with any of {failures:?}: nothing checked");
        return;
    }
    let after = message(9, "after-failures");
    mailer.send(&after).await.unwrap();
    let delivered = harness.delivered().await;
    assert_eq!(delivered.len(), 1);
    assert_intact(&delivered[0], &after);
}

/// Messages arrive, in order, with recipient, subject and both bodies as sent: non-ASCII,
/// markup and lines of dots included.
pub(crate) async fn delivers_recipient_subject_and_bodies_intact(harness: Arc<dyn MailerHarness>) {
    let mailer = harness.mailer();
    let sent = [message(1, "admin-1:setup:a"), message(2, "admin-2:setup:a")];
    for m in &sent {
        mailer.send(m).await.unwrap();
    }
    let delivered = harness.delivered().await;
    assert_eq!(delivered.len(), sent.len());
    for (got, m) in delivered.iter().zip(&sent) {
        assert_intact(got, m);
    }
}

/// A retry of one outbox entry carries the same idempotency key to the receiver; another
/// entry carries another.
pub(crate) async fn idempotency_key_is_kept_across_retries(harness: Arc<dyn MailerHarness>) {
    let mailer = harness.mailer();
    for key in ["admin-1:setup:a", "admin-1:setup:a", "admin-1:setup:b"] {
        mailer.send(&message(1, key)).await.unwrap();
    }
    let delivered = harness.delivered().await;
    assert_eq!(delivered.len(), 3);
    assert_eq!(delivered[0].idempotency, delivered[1].idempotency);
    assert_ne!(delivered[0].idempotency, delivered[2].idempotency);
}

/// A failure that may pass is `Transient` or `Timeout`, retryable, and delivers nothing; the
/// mailer delivers again afterwards.
pub(crate) async fn transient_failures_are_retryable_and_deliver_nothing(
    harness: Arc<dyn MailerHarness>,
) {
    check_failures(harness, &[Failure::Transient, Failure::Timeout], true).await;
}

/// A refusal for good is `Permanent`, not retryable, and delivers nothing; the mailer
/// delivers again afterwards.
pub(crate) async fn permanent_failures_are_final_and_deliver_nothing(
    harness: Arc<dyn MailerHarness>,
) {
    check_failures(harness, &[Failure::Permanent], false).await;
}

/// No error, in its text, its `Debug` or any source, shows a body or the link in it.
pub(crate) async fn errors_never_show_bodies_or_links(harness: Arc<dyn MailerHarness>) {
    let mailer = harness.mailer();
    let mut arranged = 0;
    for (n, failure) in (1..).zip(Failure::ALL) {
        let Some(failing) = harness.failing(failure, message(n, "secret")) else {
            continue;
        };
        arranged += 1;
        let error = mailer.send(&failing).await.unwrap_err();
        let shown = shown(&error);
        for secret in [
            LINK_SECRET,
            "portal.example.com",
            "a line that starts with dots",
        ] {
            assert!(
                !shown.contains(secret),
                "{failure:?}: `{secret}` in {shown}"
            );
        }
    }
    if arranged == 0 {
        eprintln!("this mailer cannot be made to fail: no error to look at");
    }
}

/// The mailer works as the service holds it: behind `Arc<dyn Mailer>`, a `Box` of one, a
/// plain `&dyn Mailer`, and from a spawned task.
pub(crate) async fn works_behind_arc_and_box_dyn_mailer(harness: Arc<dyn MailerHarness>) {
    let shared: Arc<dyn Mailer> = harness.mailer();
    let boxed: Arc<Box<dyn Mailer>> = Arc::new(Box::new(Arc::clone(&shared)));
    let sent: Vec<EmailMessage> = (1..=4).map(|n| message(n, &format!("k{n}"))).collect();
    shared.send(&sent[0]).await.unwrap();
    boxed.send(&sent[1]).await.unwrap();
    let by_ref: &dyn Mailer = &*shared;
    by_ref.send(&sent[2]).await.unwrap();
    let spawned = {
        let (mailer, m) = (Arc::clone(&shared), sent[3].clone());
        tokio::spawn(async move { mailer.send(&m).await })
    };
    spawned.await.unwrap().unwrap();
    let delivered = harness.delivered().await;
    assert_eq!(delivered.len(), sent.len());
    for (got, m) in delivered.iter().zip(&sent) {
        assert_intact(got, m);
    }
}

/// Sixteen tasks sending at once through one mailer: every message arrives once, intact,
/// none mixed with another.
pub(crate) async fn concurrent_sends_all_arrive_intact(harness: Arc<dyn MailerHarness>) {
    const TASKS: u32 = 16;
    let mailer = harness.mailer();
    let barrier = Arc::new(Barrier::new(TASKS as usize));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..TASKS {
        let (mailer, barrier) = (Arc::clone(&mailer), Arc::clone(&barrier));
        tasks.spawn(async move {
            let m = message(n, &format!("concurrent-{n}"));
            barrier.wait().await;
            mailer.send(&m).await
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap().unwrap();
    }
    let delivered = harness.delivered().await;
    assert_eq!(delivered.len(), TASKS as usize);
    for n in 0..TASKS {
        let sent = message(n, &format!("concurrent-{n}"));
        let got: Vec<_> = delivered
            .iter()
            .filter(|d| d.subject == sent.subject)
            .collect();
        assert_eq!(got.len(), 1, "message {n} arrived {} times", got.len());
        assert_intact(got[0], &sent);
    }
    let keys: HashSet<_> = delivered.iter().map(|d| &d.idempotency).collect();
    assert_eq!(keys.len(), TASKS as usize, "idempotency keys mixed up");
}
