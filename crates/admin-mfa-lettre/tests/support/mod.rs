//! The real SMTP server process (`tests/smtp_server.py`, aiosmtpd) on loopback, and the
//! fixtures the integration tests share.
//!
//! Without Python or aiosmtpd [`SmtpServer::start`] prints one skip line and returns `None`,
//! unless `ADMIN_MFA_REQUIRE_EXTERNAL=1` is set, in which case it fails.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file uses a different part of this module"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test setup fails loudly"
)]

use std::error::Error as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use admin_mfa_lettre::{LettreMailer, LettreMailerBuilder, Sender, TlsMode};
use admin_mfa_ports::{DedupeKey, Email, EmailMessage, MailError, Mailer};
use serde_json::Value;

/// The test CA that signed `tls/server.pem`.
pub const CA_PEM: &[u8] = include_bytes!("../tls/ca.pem");
const INSTALL_HINT: &str = "python3 -m pip install aiosmtpd==1.4.6";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum ServerTls {
    #[default]
    None,
    StartTls,
    Implicit,
}

#[derive(Debug, Default, Clone)]
pub struct ServerOptions {
    pub tls: ServerTls,
    /// AUTH becomes mandatory with these credentials.
    pub auth: Option<(&'static str, &'static str)>,
}

/// A running `smtp_server.py`; killed, reaped and its mail directory removed on drop.
#[derive(Debug)]
pub struct SmtpServer {
    child: Child,
    pub port: u16,
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
    /// A plaintext server without AUTH.
    pub fn plain() -> Option<Self> {
        Self::start(&ServerOptions::default())
    }

    pub fn start(options: &ServerOptions) -> Option<Self> {
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
        let mode = match options.tls {
            ServerTls::None => None,
            ServerTls::StartTls => Some("starttls"),
            ServerTls::Implicit => Some("implicit"),
        };
        if let Some(mode) = mode {
            command
                .args(["--tls", mode, "--cert"])
                .arg(manifest.join("tests/tls/server.pem"))
                .arg("--key")
                .arg(manifest.join("tests/tls/server.key"));
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
    pub fn received(&self) -> Vec<Value> {
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

    /// The one message the server accepted.
    pub fn received_one(&self) -> Value {
        let mut received = self.received();
        assert_eq!(received.len(), 1, "{received:?}");
        received.remove(0)
    }

    /// A mailer configuration pointing at this server, sending as `from`.
    pub fn builder_as(&self, from: Sender, tls: TlsMode) -> LettreMailerBuilder {
        LettreMailer::builder("127.0.0.1", from)
            .tls(tls)
            .port(self.port)
            .timeout(Duration::from_secs(60))
    }

    /// A mailer configuration pointing at this server.
    pub fn builder(&self, tls: TlsMode) -> LettreMailerBuilder {
        self.builder_as(sender(), tls)
    }

    /// A plaintext mailer for this server.
    pub fn mailer(&self) -> LettreMailer {
        self.builder(TlsMode::None).build().unwrap()
    }

    /// A mailer for this server over `tls`, trusting the test CA, logging in when
    /// `password` is given (as `mfa-mailer`).
    pub fn tls_mailer(&self, tls: TlsMode, password: Option<&str>) -> LettreMailer {
        let builder = self.builder(tls).add_root_certificate_pem(CA_PEM);
        match password {
            Some(password) => builder.credentials(USER, password),
            None => builder,
        }
        .build()
        .unwrap()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The user and password of servers started with AUTH.
pub const USER: &str = "mfa-mailer";
pub const PASSWORD: &str = "s3cret-pass";

/// Server options for STARTTLS with mandatory AUTH as [`USER`] / [`PASSWORD`].
pub fn starttls_with_auth() -> ServerOptions {
    ServerOptions {
        tls: ServerTls::StartTls,
        auth: Some((USER, PASSWORD)),
    }
}

pub fn sender() -> Sender {
    Sender::new(
        Email::parse("security@example.com").unwrap(),
        "ACME Security",
    )
    .unwrap()
}

pub const TEXT: &str = "Hello Ada,\n\
An administrator enabled multi-factor authentication for your account.\n\
Set it up here: https://portal.example.com/mfa/setup#tok-LIVE-LINK\n\
.\n\
..a line that starts with dots\n\
Grüße, ACME — if this wasn't you, contact security@example.com.\n";

pub const HTML: &str = "<!doctype html><html><body>\
<p>Hello Ada &lt;script&gt;,</p>\
<p><a href=\"https://portal.example.com/mfa/setup#tok-LIVE-LINK\">Set up MFA</a></p>\
<p>Grüße — if this wasn't you, contact security@example.com.</p>\
</body></html>";

pub fn message(to: &str, subject: &str, key: &str) -> EmailMessage {
    EmailMessage {
        to: Email::parse(to).unwrap(),
        subject: subject.to_owned(),
        text: TEXT.to_owned(),
        html: HTML.to_owned(),
        idempotency_key: DedupeKey::from_string(key.to_owned()),
    }
}

/// Sends `message(to, subject, key)`, which must succeed.
pub async fn deliver(mailer: &impl Mailer, to: &str, subject: &str, key: &str) {
    mailer.send(&message(to, subject, key)).await.unwrap();
}

/// Sends `message(to, subject, key)`, which must fail, and returns the error.
pub async fn refused(mailer: &impl Mailer, to: &str, subject: &str, key: &str) -> MailError {
    mailer.send(&message(to, subject, key)).await.unwrap_err()
}

pub fn normalise_newlines(s: &str) -> String {
    s.replace("\r\n", "\n")
}

pub fn str_field<'a>(record: &'a Value, field: &str) -> &'a str {
    record[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field}: {record}"))
}

pub fn header_block(record: &Value) -> String {
    let raw = str_field(record, "raw");
    raw.split("\r\n\r\n").next().unwrap().to_owned()
}

/// Asserts that the record's envelope and `To:` header name exactly `to`.
pub fn assert_only_recipient(record: &Value, to: &str) {
    assert_eq!(record["rcpt_tos"], serde_json::json!([to]), "{record}");
    assert_eq!(record["to"], serde_json::json!([to]), "{record}");
}

/// The error's SMTP reply code, when the transport failed with one.
pub fn smtp_status(error: &MailError) -> Option<String> {
    error
        .source()?
        .downcast_ref::<lettre::transport::smtp::Error>()?
        .status()
        .map(|code| code.to_string())
}

/// Asserts a transient (retryable) failure.
pub fn assert_transient(error: &MailError) {
    assert!(matches!(error, MailError::Transient(_)), "{error:?}");
    assert!(error.is_retryable());
}

/// Asserts a permanent (final) failure.
pub fn assert_permanent(error: &MailError) {
    assert!(matches!(error, MailError::Permanent(_)), "{error:?}");
    assert!(!error.is_retryable());
}
