//! The SMTP mailer runs the shared mailer conformance suite against a real SMTP server
//! process (`tests/smtp_server.py`, aiosmtpd) on loopback: what arrived is read back through
//! Python's own e-mail parser, and failures are the server's real 451 and 550 replies.
//!
//! Without Python or aiosmtpd every case prints one skip line, unless
//! `ADMIN_MFA_REQUIRE_EXTERNAL=1` is set, in which case it fails.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use admin_mfa_lettre::LettreMailer;
use admin_mfa_ports::{Email, EmailMessage, Mailer};
use admin_mfa_testkit::{Delivery, Failure, MailerHarness};
use serde_json::Value;
use support::{SmtpServer, str_field};

/// A plaintext server and a mailer pointed at it.
#[derive(Debug)]
struct Smtp {
    server: SmtpServer,
    mailer: Arc<LettreMailer>,
}

impl Smtp {
    fn start() -> Option<Self> {
        let server = SmtpServer::plain()?;
        let mailer = Arc::new(server.mailer());
        Some(Self { server, mailer })
    }
}

/// The one body part of `content_type` in a received message.
fn part(record: &Value, content_type: &str) -> String {
    let parts: Vec<&Value> = record["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| str_field(p, "content_type") == content_type)
        .collect();
    assert_eq!(parts.len(), 1, "{content_type} parts in {record}");
    str_field(parts[0], "body").to_owned()
}

fn delivery(record: &Value) -> Delivery {
    let to = record["rcpt_tos"].as_array().unwrap();
    Delivery {
        to: to.iter().map(|r| r.as_str().unwrap().to_owned()).collect(),
        subject: str_field(record, "subject").to_owned(),
        text: part(record, "text/plain"),
        html: part(record, "text/html"),
        idempotency: str_field(record, "message_id").to_owned(),
    }
}

impl MailerHarness for Smtp {
    fn mailer(&self) -> Arc<dyn Mailer> {
        self.mailer.clone()
    }

    fn delivered(&self) -> Pin<Box<dyn Future<Output = Vec<Delivery>> + Send + '_>> {
        let delivered = self.server.received().iter().map(delivery).collect();
        Box::pin(std::future::ready(delivered))
    }

    fn failing(&self, failure: Failure, mut message: EmailMessage) -> Option<EmailMessage> {
        // The server answers by the recipient's local part (see smtp_server.py).
        let prefix = match failure {
            Failure::Transient => "busy",
            Failure::Permanent => "reject",
            // `hang` would wait out the mailer's whole timeout; `real_smtp.rs` covers it.
            Failure::Timeout => return None,
        };
        message.to = Email::parse(&format!("{prefix}-{}", message.to.as_str())).ok()?;
        Some(message)
    }
}

admin_mfa_testkit::mailer_conformance!(optional async { Smtp::start() });
