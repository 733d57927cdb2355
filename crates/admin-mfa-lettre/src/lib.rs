//! An SMTP [`Mailer`](admin_mfa_ports::Mailer) for admin-mfa, over lettre's async transport.
//!
//! [`LettreMailer`] turns each rendered [`EmailMessage`](admin_mfa_ports::EmailMessage) into
//! a `multipart/alternative` message (plain text first, then HTML) and hands it to a lettre
//! [`AsyncTransport`](lettre::AsyncTransport): by default lettre's pooled SMTP client over
//! rustls (with the `ring` provider; no OpenSSL), configured through a validated
//! [`LettreMailerBuilder`]. Failures come back as the port's
//! [`MailError`](admin_mfa_ports::MailError), sorted for the outbox dispatcher:
//!
//! | What happened | `MailError` |
//! |---|---|
//! | 4xx reply; connection refused or dropped; TLS failure; no STARTTLS or usable AUTH offered | `Transient` |
//! | 5xx authentication reply (530, 534, 535, 538): the relay's configuration | `Transient` |
//! | other 5xx reply (recipient, sender or content refused) | `Permanent` |
//! | the message cannot be built (control character in the subject, recipient refused by lettre) | `Permanent` |
//! | no answer within the configured timeout | `Timeout` |
//!
//! # Getting started
//!
//! ```
//! use std::time::Duration;
//! use admin_mfa_lettre::{LettreMailer, Sender, TlsMode};
//! use admin_mfa_ports::{Email, Mailer};
//!
//! # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! # runtime.block_on(async {
//! // Inside the host's Tokio runtime (the connection pool starts a task there).
//! let from = Sender::new(Email::parse("security@example.com")?, "ACME Security")?;
//! let mailer = LettreMailer::builder("smtp.example.com", from)
//!     .tls(TlsMode::StartTls) // port 587 unless `.port(..)` says otherwise
//!     .credentials("mfa-mailer", "app-password")
//!     .timeout(Duration::from_secs(20))
//!     .build()?;
//! let mailer: std::sync::Arc<dyn Mailer> = std::sync::Arc::new(mailer);
//! # let _ = mailer;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Sending is what the service's outbox dispatcher does; called by hand it looks like this:
//!
//! ```no_run
//! # use std::time::Duration;
//! # use admin_mfa_lettre::{LettreMailer, Sender};
//! use admin_mfa_ports::{DedupeKey, Email, EmailMessage, MailError, Mailer};
//!
//! # async fn demo(mailer: LettreMailer) -> Result<(), Box<dyn std::error::Error>> {
//! let message = EmailMessage {
//!     to: Email::parse("ada@example.org")?,
//!     subject: "Set up multi-factor authentication".to_owned(),
//!     text: "Open https://portal.example.com/mfa/setup#... to set up MFA.".to_owned(),
//!     html: "<p><a href=\"https://portal.example.com/mfa/setup#...\">Set up MFA</a></p>".to_owned(),
//!     idempotency_key: DedupeKey::from_string("outbox-entry-42".to_owned()),
//! };
//! match mailer.send(&message).await {
//!     Ok(()) => {}
//!     Err(error) if error.is_retryable() => { /* the outbox retries with backoff */ }
//!     Err(error) => return Err(error.into()), // dead-letter it
//! }
//! # Ok(())
//! # }
//! ```
//!
//! A host that configures lettre itself (its own pool, TLS or authentication settings), or a
//! unit test with lettre's `AsyncStubTransport`, passes the transport to
//! [`LettreMailer::with_transport`]; its error type says how to retry through
//! [`ClassifyFailure`]. The [`lettre`] crate is re-exported so the versions match.
//!
//! # Feature flags
//!
//! This crate has no cargo features. It enables exactly these lettre features: `builder`,
//! `smtp-transport`, `pool`, `hostname` (the EHLO name) and `tokio1-rustls-tls` (rustls with
//! the `ring` provider and the bundled Mozilla roots). lettre's default features, which pull
//! in native-tls and OpenSSL, stay off.
//!
//! # Security considerations
//!
//! * **Header injection.** The subject and the From display name are written by lettre's
//!   typed headers, which quote or RFC 2047-encode anything unusual; on top of that, a subject
//!   with any control character (CR, LF, NUL, tab, ...) is refused with
//!   [`MailError::Permanent`](admin_mfa_ports::MailError::Permanent) and nothing is sent, and a
//!   display name with one is refused by [`Sender::new`]. The recipient is an already
//!   validated [`Email`](admin_mfa_ports::Email), and the envelope holds exactly that one
//!   recipient. The integration tests check this on what a real SMTP server received.
//! * **Secrets.** Message bodies carry live setup and reset links, and the transport may hold
//!   the relay password: neither appears in any `Debug` output, error or log line of this
//!   crate. Logs name the `Message-ID` and the failure kind only.
//! * **Transport security.** [`TlsMode::Implicit`] (the default) and [`TlsMode::StartTls`]
//!   verify the relay's certificate against the Mozilla roots plus any
//!   [`add_root_certificate_pem`](LettreMailerBuilder::add_root_certificate_pem); a relay that
//!   does not offer STARTTLS is an error, never a plaintext fallback. [`TlsMode::None`] refuses
//!   credentials unless the relay is on a loopback address.
//! * **Duplicates.** Delivery is at least once (a timeout may hide a delivery that happened);
//!   the `Message-ID` is a hash of the idempotency key, identical on every retry of one outbox
//!   entry, so duplicates can be recognised without revealing the key.
//! * **Time.** lettre writes the `Date` header from the system clock; this is the only wall
//!   clock reading on this path and it affects no security decision.

mod classify;
mod config;
mod mailer;

pub use classify::{ClassifyFailure, FailureKind};
pub use config::{
    DEFAULT_TIMEOUT, LettreMailerBuilder, MAX_DISPLAY_NAME_CHARS, MAX_TIMEOUT, MIN_TIMEOUT,
    MailerConfigError, Sender, TlsMode,
};
pub use lettre;
pub use mailer::{LettreMailer, MessageError};

/// The README's example, run as a doctest so it keeps up with the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
