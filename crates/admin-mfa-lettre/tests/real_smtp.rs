//! The mailer against a real SMTP server process (`tests/smtp_server.py`, aiosmtpd) on
//! loopback: what the server received is read back and parsed by Python's own e-mail parser.
//!
//! Without Python or aiosmtpd these tests print one skip line, unless
//! `ADMIN_MFA_REQUIRE_EXTERNAL=1` is set, in which case they fail (DESIGN.md §7).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

mod support;

use std::error::Error as _;
use std::time::Duration;

use admin_mfa_lettre::{LettreMailer, MessageError, Sender, TlsMode};
use admin_mfa_ports::{Email, MailError};
use serde_json::Value;
use support::{
    HTML, PASSWORD, ServerOptions, ServerTls, SmtpServer, TEXT, assert_only_recipient,
    assert_permanent, assert_transient, deliver, header_block, normalise_newlines, refused, sender,
    smtp_status, starttls_with_auth, str_field,
};

// ---------------------------------------------------------------------------------------
// Delivery and content
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn delivers_multipart_alternative_to_a_real_server() {
    let Some(server) = SmtpServer::plain() else {
        return;
    };
    let mailer = server.mailer();
    let subject = "Set up multi-factor authentication — Grüße 🔐";
    // A delivery, a retry of the same outbox entry, then a different entry.
    for key in ["admin-1:setup:a", "admin-1:setup:a", "admin-1:setup:b"] {
        deliver(&mailer, "ada@example.org", subject, key).await;
    }

    let received = server.received();
    assert_eq!(received.len(), 3);
    let first = &received[0];
    assert_eq!(str_field(first, "mail_from"), "security@example.com");
    assert_only_recipient(first, "ada@example.org");
    assert_eq!(first["tls"], Value::Bool(false));
    assert_eq!(str_field(first, "subject"), subject);
    assert_eq!(str_field(first, "from_display_name"), "ACME Security");
    assert_eq!(str_field(first, "from_address"), "security@example.com");
    assert_eq!(str_field(first, "content_type"), "multipart/alternative");
    assert_eq!(first["defects"], serde_json::json!([]), "{first}");

    let parts = first["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "{first}");
    for (part, content_type) in parts.iter().zip(["text/plain", "text/html"]) {
        assert_eq!(str_field(part, "content_type"), content_type);
        assert_eq!(str_field(part, "charset"), "utf-8");
    }
    assert_eq!(normalise_newlines(str_field(&parts[0], "body")), TEXT);
    assert_eq!(
        normalise_newlines(str_field(&parts[1], "body")).trim_end(),
        HTML
    );

    // Every header line is 7-bit ASCII (non-ASCII goes through RFC 2047).
    assert!(header_block(first).is_ascii(), "{}", header_block(first));

    // One Message-ID per outbox entry: equal on the retry, different for another entry.
    let ids: Vec<&str> = received
        .iter()
        .map(|r| str_field(r, "message_id"))
        .collect();
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[0], ids[2]);
    assert!(
        ids[0].starts_with('<') && ids[0].ends_with("@example.com>"),
        "{}",
        ids[0]
    );
}

#[tokio::test]
async fn delivers_to_an_internationalised_address() {
    let Some(server) = SmtpServer::plain() else {
        return;
    };
    deliver(&server.mailer(), "Ünïcode@example.de", "Set up MFA", "k").await;
    assert_only_recipient(&server.received_one(), "Ünïcode@example.de");
}

#[tokio::test]
async fn a_host_configured_transport_works_through_with_transport() {
    let Some(server) = SmtpServer::plain() else {
        return;
    };
    let transport =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(server.port)
            .build();
    let mailer =
        LettreMailer::with_transport(transport, sender(), Duration::from_secs(10)).unwrap();
    deliver(&mailer, "ada@example.org", "Host transport", "k").await;
    let error = refused(&mailer, "reject@example.org", "Host transport", "k2").await;
    assert_permanent(&error);
    assert_eq!(
        str_field(&server.received_one(), "subject"),
        "Host transport"
    );
}

// ---------------------------------------------------------------------------------------
// Header injection (SECURITY.md T-NOT-3)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn crlf_in_the_subject_is_refused_and_nothing_reaches_the_server() {
    let Some(server) = SmtpServer::plain() else {
        return;
    };
    let mailer = server.mailer();
    for subject in [
        "Set up MFA\r\nBcc: x@y.example",
        "Set up MFA\nBcc: x@y.example",
        "Set up MFA\r\n\r\nfake body",
    ] {
        let error = refused(&mailer, "ada@example.org", subject, "k").await;
        assert_permanent(&error);
        assert!(matches!(
            error.source().unwrap().downcast_ref::<MessageError>(),
            Some(MessageError::SubjectControlCharacter)
        ));
    }
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn hostile_subjects_and_display_names_arrive_encoded_with_one_recipient() {
    let Some(server) = SmtpServer::plain() else {
        return;
    };
    // A display name that tries to smuggle a second mailbox and a header, without CR/LF
    // (with CR/LF it is refused: see `display_names_with_crlf_are_refused`).
    let display_name = "\"ACME\" <evil@attacker.example>, Bcc: x@y.example \u{202E}lanif 🔐";
    let from = Sender::new(Email::parse("security@example.com").unwrap(), display_name).unwrap();
    let mailer = server.builder_as(from, TlsMode::None).build().unwrap();
    let subject =
        "<script>alert(1)</script> Bcc: x@y.example; To: z@y.example \"\u{202E}gnp.exe 🔐";
    deliver(&mailer, "ada@example.org", subject, "k").await;

    let record = server.received_one();
    // The envelope and the headers name exactly the one recipient.
    assert_only_recipient(&record, "ada@example.org");
    let names: Vec<String> = record["header_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_ascii_lowercase())
        .collect();
    let count = |header: &str| names.iter().filter(|n| *n == header).count();
    assert_eq!(
        [
            count("bcc"),
            count("cc"),
            count("to"),
            count("from"),
            count("subject")
        ],
        [0, 0, 1, 1, 1],
        "{names:?}"
    );
    // The hostile text survives as text, decoded exactly.
    assert_eq!(str_field(&record, "subject"), subject);
    assert_eq!(record["from_count"], Value::from(1));
    assert_eq!(str_field(&record, "from_address"), "security@example.com");
    assert_eq!(
        str_field(&record, "from_display_name_rfc2047"),
        display_name
    );
    assert!(
        header_block(&record).is_ascii(),
        "{}",
        header_block(&record)
    );
    assert_eq!(record["defects"], serde_json::json!([]), "{record}");
}

#[test]
fn display_names_with_crlf_are_refused() {
    let email = Email::parse("security@example.com").unwrap();
    for name in ["ACME\r\nBcc: x@y.example", "ACME\nBcc: x@y.example"] {
        assert!(Sender::new(email.clone(), name).is_err(), "{name:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Error mapping
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn smtp_replies_map_to_retry_or_permanent_failure() {
    let Some(server) = SmtpServer::plain() else {
        return;
    };
    let mailer = server.mailer();

    // 550 at RCPT and 554 after DATA: permanent; 451 at RCPT: transient.
    for (to, status, permanent) in [
        ("reject@example.org", "550", true),
        ("busy@example.org", "451", false),
        ("badcontent@example.org", "554", true),
    ] {
        let error = refused(&mailer, to, "s", to).await;
        if permanent {
            assert_permanent(&error);
        } else {
            assert_transient(&error);
        }
        assert_eq!(smtp_status(&error).as_deref(), Some(status), "{to}");
    }

    // No answer at RCPT: cut off by the timeout. A mailer of its own with the shortest
    // timeout, since this send can only end in one.
    let impatient = server
        .builder(TlsMode::None)
        .timeout(admin_mfa_lettre::MIN_TIMEOUT)
        .build()
        .unwrap();
    let error = refused(&impatient, "hang@example.org", "s", "k4").await;
    assert!(matches!(error, MailError::Timeout), "{error:?}");

    // None of those was stored, and the mailer still delivers afterwards.
    assert!(server.received().is_empty());
    deliver(&mailer, "ada@example.org", "s", "k5").await;
    assert_only_recipient(&server.received_one(), "ada@example.org");
}

/// A mailer for a relay on loopback `port` that is no test server.
fn mailer_for_port(port: u16, timeout: Duration) -> LettreMailer {
    LettreMailer::builder("127.0.0.1", sender())
        .tls(TlsMode::None)
        .port(port)
        .timeout(timeout)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_relay_that_is_not_listening_is_transient() {
    // Needs no server process: a port nobody listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mailer = mailer_for_port(port, Duration::from_secs(60));
    assert_transient(&refused(&mailer, "ada@example.org", "s", "k").await);
}

#[tokio::test]
async fn a_relay_that_never_greets_times_out() {
    // Accepts the connection but never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let (_socket, _) = listener.accept().await.unwrap();
        std::future::pending::<()>().await;
    });
    let mailer = mailer_for_port(port, Duration::from_secs(1));
    let error = refused(&mailer, "ada@example.org", "s", "k").await;
    assert!(matches!(error, MailError::Timeout), "{error:?}");
    silent.abort();
}

// ---------------------------------------------------------------------------------------
// TLS and authentication
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn starttls_with_auth_delivers_over_tls() {
    let Some(server) = SmtpServer::start(&starttls_with_auth()) else {
        return;
    };
    let mailer = server.tls_mailer(TlsMode::StartTls, Some(PASSWORD));
    deliver(&mailer, "ada@example.org", "Over STARTTLS", "k").await;
    let record = server.received_one();
    assert_eq!(record["tls"], Value::Bool(true));
    assert_eq!(str_field(&record, "auth_user"), "mfa-mailer");
    assert_eq!(str_field(&record, "subject"), "Over STARTTLS");

    // Wrong credentials (535) are the relay's configuration: retried, not dead-lettered.
    let wrong = server.tls_mailer(TlsMode::StartTls, Some("wrong-pass"));
    let error = refused(&wrong, "ada@example.org", "s", "k2").await;
    assert_transient(&error);
    assert_eq!(smtp_status(&error).as_deref(), Some("535"));
    // The password is in no error text.
    let chain = format!("{error} {error:?} {:?}", error.source());
    assert!(!chain.contains("wrong-pass"), "{chain}");
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn implicit_tls_delivers_and_verifies_the_certificate() {
    let options = ServerOptions {
        tls: ServerTls::Implicit,
        auth: None,
    };
    let Some(server) = SmtpServer::start(&options) else {
        return;
    };
    let mailer = server.tls_mailer(TlsMode::Implicit, None);
    deliver(&mailer, "ada@example.org", "Over implicit TLS", "k").await;
    assert_eq!(server.received_one()["tls"], Value::Bool(true));

    // Without the test CA the certificate is unknown: refused, transient, nothing sent.
    let untrusting = server.builder(TlsMode::Implicit).build().unwrap();
    assert_transient(&refused(&untrusting, "ada@example.org", "s", "k2").await);
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn starttls_is_never_downgraded_to_plaintext() {
    // A plaintext-only server that does not offer STARTTLS.
    let Some(server) = SmtpServer::plain() else {
        return;
    };
    let mailer = server.tls_mailer(TlsMode::StartTls, None);
    assert_transient(&refused(&mailer, "ada@example.org", "s", "k").await);
    assert!(server.received().is_empty());
}

// ---------------------------------------------------------------------------------------
// Logs (SECURITY.md LOG-1, T-LOG-1)
// ---------------------------------------------------------------------------------------

/// A subscriber that keeps every event and span field as text.
#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut fields = Fields(span.metadata().name().to_owned());
        span.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut fields = Fields(String::new());
        values.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(event.metadata().level().to_string());
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn logs_name_outcomes_but_never_bodies_links_or_passwords() {
    use lettre::transport::stub::AsyncStubTransport;

    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());

    // Through a stub transport: a delivery, a refused subject and a failing relay.
    let stub = |transport| {
        LettreMailer::with_transport(transport, sender(), Duration::from_secs(5)).unwrap()
    };
    let ok = stub(AsyncStubTransport::new_ok());
    deliver(&ok, "ada@example.org", "Set up MFA", "k1").await;
    refused(&ok, "ada@example.org", "Set up\r\nBcc: x@y.example", "k2").await;
    let failing = stub(AsyncStubTransport::new_error());
    refused(&failing, "ada@example.org", "Set up MFA", "k3").await;

    // Through a real relay, when one can run here: a refused recipient and wrong credentials.
    if let Some(server) = SmtpServer::start(&starttls_with_auth()) {
        let wrong = server.tls_mailer(TlsMode::StartTls, Some("Wr0ng-Passw0rd-LOG"));
        refused(&wrong, "ada@example.org", "s", "k4").await;
        let right = server.tls_mailer(TlsMode::StartTls, Some(PASSWORD));
        refused(&right, "reject@example.org", "s", "k5").await;
    }

    let lines = capture.0.lock().unwrap().clone();
    let all = lines.join("\n");
    // The outcomes are there...
    assert!(all.contains("mail accepted by the transport"), "{all}");
    assert!(
        all.contains("refusing to send a malformed message"),
        "{all}"
    );
    assert!(all.contains("mail delivery failed"), "{all}");
    assert!(all.contains("message_id=<"), "{all}");
    // ...the secrets are not.
    for secret in [
        "LIVE-LINK",
        "tok-",
        "portal.example.com",
        "s3cret-pass",
        "Wr0ng-Passw0rd-LOG",
        "Bcc",
    ] {
        assert!(!all.contains(secret), "`{secret}` was logged:\n{all}");
    }
}
