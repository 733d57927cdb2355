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

use std::error::Error as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use admin_mfa_lettre::{LettreMailer, MessageError, Sender, TlsMode};
use admin_mfa_ports::{DedupeKey, Email, EmailMessage, MailError, Mailer};
use serde_json::Value;

const CA_PEM: &[u8] = include_bytes!("tls/ca.pem");
const INSTALL_HINT: &str = "python3 -m pip install aiosmtpd==1.4.6";

// ---------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ServerTls {
    #[default]
    None,
    StartTls,
    Implicit,
}

#[derive(Debug, Default, Clone)]
struct ServerOptions {
    tls: ServerTls,
    auth: Option<(&'static str, &'static str)>,
}

/// A running `smtp_server.py`; killed, reaped and its mail directory removed on drop.
struct SmtpServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

static SKIP_PRINTED: AtomicBool = AtomicBool::new(false);
static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

fn require_external() -> bool {
    std::env::var("ADMIN_MFA_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1")
}

/// `None` (after one skip line) when the server cannot run here and that is allowed.
fn skip_or_fail(reason: &str) -> Option<SmtpServer> {
    assert!(
        !require_external(),
        "real SMTP server required (ADMIN_MFA_REQUIRE_EXTERNAL=1) but {reason}; install it with `{INSTALL_HINT}`"
    );
    if !SKIP_PRINTED.swap(true, Ordering::Relaxed) {
        // Written to the real stderr, not through `eprintln!`, which the test harness
        // captures and shows only for failing tests.
        let _ = writeln!(
            std::io::stderr(),
            "skipping admin-mfa-lettre real-SMTP tests: {reason} (install with `{INSTALL_HINT}`)"
        );
    }
    None
}

impl SmtpServer {
    fn start(options: &ServerOptions) -> Option<Self> {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = std::env::temp_dir().join(format!(
            "admin-mfa-lettre-smtp-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let python = std::env::var("ADMIN_MFA_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let mut command = Command::new(&python);
        command
            .arg(manifest.join("tests/smtp_server.py"))
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap());
        match options.tls {
            ServerTls::None => {}
            ServerTls::StartTls | ServerTls::Implicit => {
                let mode = if options.tls == ServerTls::StartTls {
                    "starttls"
                } else {
                    "implicit"
                };
                command
                    .args(["--tls", mode, "--cert"])
                    .arg(manifest.join("tests/tls/server.pem"))
                    .arg("--key")
                    .arg(manifest.join("tests/tls/server.key"));
            }
        }
        if let Some((user, password)) = options.auth {
            command.arg("--auth").arg(format!("{user}:{password}"));
        }
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                let _ = std::fs::remove_dir_all(&dir);
                return skip_or_fail(&format!("`{python}` could not be started ({error})"));
            }
        };

        // The first stdout line is `PORT <n>` once the server accepts connections.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(180))
            .unwrap_or_default();
        if let Some(port) = line.trim().strip_prefix("PORT ") {
            let port = port.parse().unwrap();
            return Some(Self { child, port, dir });
        }
        let _ = child.kill();
        let status = child.wait().unwrap();
        let stderr = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        if status.code() == Some(3) {
            return skip_or_fail("aiosmtpd is not installed");
        }
        panic!("smtp_server.py did not start ({status}): {stderr}");
    }

    /// The messages the server accepted, in order.
    fn received(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    /// A mailer configuration pointing at this server.
    fn builder(&self, tls: TlsMode) -> admin_mfa_lettre::LettreMailerBuilder {
        LettreMailer::builder("127.0.0.1", sender())
            .tls(tls)
            .port(self.port)
            .timeout(Duration::from_secs(60))
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

fn sender() -> Sender {
    Sender::new(
        Email::parse("security@example.com").unwrap(),
        "ACME Security",
    )
    .unwrap()
}

const TEXT: &str = "Hello Ada,\n\
An administrator enabled multi-factor authentication for your account.\n\
Set it up here: https://portal.example.com/mfa/setup#tok-LIVE-LINK\n\
.\n\
..a line that starts with dots\n\
Grüße, ACME — if this wasn't you, contact security@example.com.\n";

const HTML: &str = "<!doctype html><html><body>\
<p>Hello Ada &lt;script&gt;,</p>\
<p><a href=\"https://portal.example.com/mfa/setup#tok-LIVE-LINK\">Set up MFA</a></p>\
<p>Grüße — if this wasn't you, contact security@example.com.</p>\
</body></html>";

fn message(to: &str, subject: &str, key: &str) -> EmailMessage {
    EmailMessage {
        to: Email::parse(to).unwrap(),
        subject: subject.to_owned(),
        text: TEXT.to_owned(),
        html: HTML.to_owned(),
        idempotency_key: DedupeKey::from_string(key.to_owned()),
    }
}

fn normalise_newlines(s: &str) -> String {
    s.replace("\r\n", "\n")
}

fn str_field<'a>(record: &'a Value, field: &str) -> &'a str {
    record[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field}: {record}"))
}

fn header_block(record: &Value) -> String {
    let raw = str_field(record, "raw");
    raw.split("\r\n\r\n").next().unwrap().to_owned()
}

/// The error's SMTP reply code, when the transport failed with one.
fn smtp_status(error: &MailError) -> Option<String> {
    error
        .source()?
        .downcast_ref::<lettre::transport::smtp::Error>()?
        .status()
        .map(|code| code.to_string())
}

// ---------------------------------------------------------------------------------------
// Delivery and content
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn delivers_multipart_alternative_to_a_real_server() {
    let Some(server) = SmtpServer::start(&ServerOptions::default()) else {
        return;
    };
    let mailer = server.builder(TlsMode::None).build().unwrap();
    let subject = "Set up multi-factor authentication — Grüße 🔐";
    mailer
        .send(&message("ada@example.org", subject, "admin-1:setup:a"))
        .await
        .unwrap();
    // A retry of the same outbox entry, then a different entry.
    mailer
        .send(&message("ada@example.org", subject, "admin-1:setup:a"))
        .await
        .unwrap();
    mailer
        .send(&message("ada@example.org", subject, "admin-1:setup:b"))
        .await
        .unwrap();

    let received = server.received();
    assert_eq!(received.len(), 3);
    let first = &received[0];
    assert_eq!(str_field(first, "mail_from"), "security@example.com");
    assert_eq!(first["rcpt_tos"], serde_json::json!(["ada@example.org"]));
    assert_eq!(first["to"], serde_json::json!(["ada@example.org"]));
    assert_eq!(first["tls"], Value::Bool(false));
    assert_eq!(str_field(first, "subject"), subject);
    assert_eq!(str_field(first, "from_display_name"), "ACME Security");
    assert_eq!(str_field(first, "from_address"), "security@example.com");
    assert_eq!(str_field(first, "content_type"), "multipart/alternative");
    assert_eq!(first["defects"], serde_json::json!([]), "{first}");

    let parts = first["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "{first}");
    assert_eq!(str_field(&parts[0], "content_type"), "text/plain");
    assert_eq!(str_field(&parts[0], "charset"), "utf-8");
    assert_eq!(normalise_newlines(str_field(&parts[0], "body")), TEXT);
    assert_eq!(str_field(&parts[1], "content_type"), "text/html");
    assert_eq!(str_field(&parts[1], "charset"), "utf-8");
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
    let Some(server) = SmtpServer::start(&ServerOptions::default()) else {
        return;
    };
    let mailer = server.builder(TlsMode::None).build().unwrap();
    mailer
        .send(&message("Ünïcode@example.de", "Set up MFA", "k"))
        .await
        .unwrap();
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0]["rcpt_tos"],
        serde_json::json!(["Ünïcode@example.de"])
    );
    assert_eq!(received[0]["to"], serde_json::json!(["Ünïcode@example.de"]));
}

#[tokio::test]
async fn a_host_configured_transport_works_through_with_transport() {
    let Some(server) = SmtpServer::start(&ServerOptions::default()) else {
        return;
    };
    let transport =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(server.port)
            .build();
    let mailer =
        LettreMailer::with_transport(transport, sender(), Duration::from_secs(10)).unwrap();
    mailer
        .send(&message("ada@example.org", "Host transport", "k"))
        .await
        .unwrap();
    let error = mailer
        .send(&message("reject@example.org", "Host transport", "k2"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Permanent(_)), "{error:?}");
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(str_field(&received[0], "subject"), "Host transport");
}

// ---------------------------------------------------------------------------------------
// Header injection (SECURITY.md T-NOT-3)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn crlf_in_the_subject_is_refused_and_nothing_reaches_the_server() {
    let Some(server) = SmtpServer::start(&ServerOptions::default()) else {
        return;
    };
    let mailer = server.builder(TlsMode::None).build().unwrap();
    for subject in [
        "Set up MFA\r\nBcc: x@y.example",
        "Set up MFA\nBcc: x@y.example",
        "Set up MFA\r\n\r\nfake body",
    ] {
        let error = mailer
            .send(&message("ada@example.org", subject, "k"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, MailError::Permanent(_)),
            "{subject:?}: {error:?}"
        );
        assert!(!error.is_retryable());
        assert!(matches!(
            error.source().unwrap().downcast_ref::<MessageError>(),
            Some(MessageError::SubjectControlCharacter)
        ));
    }
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn hostile_subjects_and_display_names_arrive_encoded_with_one_recipient() {
    let Some(server) = SmtpServer::start(&ServerOptions::default()) else {
        return;
    };
    // A display name that tries to smuggle a second mailbox and a header, without CR/LF
    // (with CR/LF it is refused: see `display_names_with_crlf_are_refused`).
    let display_name = "\"ACME\" <evil@attacker.example>, Bcc: x@y.example \u{202E}lanif 🔐";
    let from = Sender::new(Email::parse("security@example.com").unwrap(), display_name).unwrap();
    let mailer = LettreMailer::builder("127.0.0.1", from)
        .tls(TlsMode::None)
        .port(server.port)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let subject =
        "<script>alert(1)</script> Bcc: x@y.example; To: z@y.example \"\u{202E}gnp.exe 🔐";
    mailer
        .send(&message("ada@example.org", subject, "k"))
        .await
        .unwrap();

    let received = server.received();
    assert_eq!(received.len(), 1);
    let record = &received[0];
    // The envelope and the headers name exactly the one recipient.
    assert_eq!(record["rcpt_tos"], serde_json::json!(["ada@example.org"]));
    assert_eq!(record["to"], serde_json::json!(["ada@example.org"]));
    let names: Vec<String> = record["header_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_ascii_lowercase())
        .collect();
    assert!(!names.iter().any(|n| n == "bcc" || n == "cc"), "{names:?}");
    assert_eq!(names.iter().filter(|n| *n == "to").count(), 1, "{names:?}");
    assert_eq!(
        names.iter().filter(|n| *n == "from").count(),
        1,
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| *n == "subject").count(),
        1,
        "{names:?}"
    );
    // The hostile text survives as text, decoded exactly.
    assert_eq!(str_field(record, "subject"), subject);
    assert_eq!(record["from_count"], Value::from(1));
    assert_eq!(str_field(record, "from_address"), "security@example.com");
    assert_eq!(str_field(record, "from_display_name_rfc2047"), display_name);
    assert!(header_block(record).is_ascii(), "{}", header_block(record));
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
    let Some(server) = SmtpServer::start(&ServerOptions::default()) else {
        return;
    };
    let mailer = server
        .builder(TlsMode::None)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    // 550 at RCPT: permanent.
    let error = mailer
        .send(&message("reject@example.org", "s", "k1"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Permanent(_)), "{error:?}");
    assert_eq!(smtp_status(&error).as_deref(), Some("550"));

    // 451 at RCPT: transient.
    let error = mailer
        .send(&message("busy@example.org", "s", "k2"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Transient(_)), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(smtp_status(&error).as_deref(), Some("451"));

    // 554 after DATA: permanent.
    let error = mailer
        .send(&message("badcontent@example.org", "s", "k3"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Permanent(_)), "{error:?}");
    assert_eq!(smtp_status(&error).as_deref(), Some("554"));

    // No answer at RCPT: cut off by the timeout.
    let error = mailer
        .send(&message("hang@example.org", "s", "k4"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Timeout), "{error:?}");

    // None of those was stored, and the mailer still delivers afterwards.
    assert!(server.received().is_empty());
    mailer
        .send(&message("ada@example.org", "s", "k5"))
        .await
        .unwrap();
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0]["rcpt_tos"],
        serde_json::json!(["ada@example.org"])
    );
}

#[tokio::test]
async fn a_relay_that_is_not_listening_is_transient() {
    // Needs no server process: a port nobody listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mailer = LettreMailer::builder("127.0.0.1", sender())
        .tls(TlsMode::None)
        .port(port)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let error = mailer
        .send(&message("ada@example.org", "s", "k"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Transient(_)), "{error:?}");
    assert!(error.is_retryable());
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
    let mailer = LettreMailer::builder("127.0.0.1", sender())
        .tls(TlsMode::None)
        .port(port)
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let error = mailer
        .send(&message("ada@example.org", "s", "k"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Timeout), "{error:?}");
    silent.abort();
}

// ---------------------------------------------------------------------------------------
// TLS and authentication
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn starttls_with_auth_delivers_over_tls() {
    let options = ServerOptions {
        tls: ServerTls::StartTls,
        auth: Some(("mfa-mailer", "s3cret-pass")),
    };
    let Some(server) = SmtpServer::start(&options) else {
        return;
    };
    let mailer = server
        .builder(TlsMode::StartTls)
        .add_root_certificate_pem(CA_PEM)
        .credentials("mfa-mailer", "s3cret-pass")
        .build()
        .unwrap();
    mailer
        .send(&message("ada@example.org", "Over STARTTLS", "k"))
        .await
        .unwrap();
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["tls"], Value::Bool(true));
    assert_eq!(str_field(&received[0], "auth_user"), "mfa-mailer");
    assert_eq!(str_field(&received[0], "subject"), "Over STARTTLS");

    // Wrong credentials (535) are the relay's configuration: retried, not dead-lettered.
    let wrong = server
        .builder(TlsMode::StartTls)
        .add_root_certificate_pem(CA_PEM)
        .credentials("mfa-mailer", "wrong-pass")
        .build()
        .unwrap();
    let error = wrong
        .send(&message("ada@example.org", "s", "k2"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Transient(_)), "{error:?}");
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
    let mailer = server
        .builder(TlsMode::Implicit)
        .add_root_certificate_pem(CA_PEM)
        .build()
        .unwrap();
    mailer
        .send(&message("ada@example.org", "Over implicit TLS", "k"))
        .await
        .unwrap();
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["tls"], Value::Bool(true));

    // Without the test CA the certificate is unknown: refused, transient, nothing sent.
    let untrusting = server.builder(TlsMode::Implicit).build().unwrap();
    let error = untrusting
        .send(&message("ada@example.org", "s", "k2"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Transient(_)), "{error:?}");
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn starttls_is_never_downgraded_to_plaintext() {
    // A plaintext-only server that does not offer STARTTLS.
    let Some(server) = SmtpServer::start(&ServerOptions::default()) else {
        return;
    };
    let mailer = server
        .builder(TlsMode::StartTls)
        .add_root_certificate_pem(CA_PEM)
        .build()
        .unwrap();
    let error = mailer
        .send(&message("ada@example.org", "s", "k"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Transient(_)), "{error:?}");
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
    let ok = LettreMailer::with_transport(
        AsyncStubTransport::new_ok(),
        sender(),
        Duration::from_secs(5),
    )
    .unwrap();
    ok.send(&message("ada@example.org", "Set up MFA", "k1"))
        .await
        .unwrap();
    ok.send(&message(
        "ada@example.org",
        "Set up\r\nBcc: x@y.example",
        "k2",
    ))
    .await
    .unwrap_err();
    let failing = LettreMailer::with_transport(
        AsyncStubTransport::new_error(),
        sender(),
        Duration::from_secs(5),
    )
    .unwrap();
    failing
        .send(&message("ada@example.org", "Set up MFA", "k3"))
        .await
        .unwrap_err();

    // Through a real relay, when one can run here: a refused recipient and wrong credentials.
    let options = ServerOptions {
        tls: ServerTls::StartTls,
        auth: Some(("mfa-mailer", "s3cret-pass")),
    };
    if let Some(server) = SmtpServer::start(&options) {
        let wrong = server
            .builder(TlsMode::StartTls)
            .add_root_certificate_pem(CA_PEM)
            .credentials("mfa-mailer", "Wr0ng-Passw0rd-LOG")
            .build()
            .unwrap();
        wrong
            .send(&message("ada@example.org", "s", "k4"))
            .await
            .unwrap_err();
        let right = server
            .builder(TlsMode::StartTls)
            .add_root_certificate_pem(CA_PEM)
            .credentials("mfa-mailer", "s3cret-pass")
            .build()
            .unwrap();
        right
            .send(&message("reject@example.org", "s", "k5"))
            .await
            .unwrap_err();
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
