use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use admin_mfa_lifecycle::{DedupeKey, Email};
use async_trait::async_trait;

/// A rendered email, ready for a transport.
///
/// The service renders each outbox [`Notification`](crate::Notification) into one of these
/// just before delivery (the link token is unsealed only then), so a transport needs to know
/// nothing about MFA. MIME, headers and encodings stay in the transport adapter.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailMessage {
    /// The recipient.
    pub to: Email,
    /// The subject line; the renderer guarantees it holds no CR or LF.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, with every interpolated value escaped.
    pub html: String,
    /// The same for every delivery attempt of one outbox entry, so a transport or a
    /// receiving system can drop duplicates of an at-least-once delivery.
    pub idempotency_key: DedupeKey,
}

impl fmt::Debug for EmailMessage {
    // The bodies hold live setup and reset links: never print them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailMessage")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("text", &"<redacted>")
            .field("html", &"<redacted>")
            .field("idempotency_key", &self.idempotency_key)
            .finish()
    }
}

/// Why a delivery failed; the dispatcher retries [`Transient`](MailError::Transient) and
/// [`Timeout`](MailError::Timeout) failures with backoff and gives up at once on
/// [`Permanent`](MailError::Permanent) ones.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// A failure that may pass: the server was unreachable, busy or answered with a 4xx.
    #[error("transient mail failure")]
    Transient(#[source] Box<dyn StdError + Send + Sync>),
    /// A failure that will not pass by retrying: the address or message was refused.
    #[error("permanent mail failure")]
    Permanent(#[source] Box<dyn StdError + Send + Sync>),
    /// The transport did not answer in time.
    #[error("mail delivery timed out")]
    Timeout,
}

impl MailError {
    /// Whether a later attempt may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Permanent(_))
    }
}

/// Delivers rendered emails.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one message. Delivery is at least once: the dispatcher may call this again with
    /// the same [`EmailMessage::idempotency_key`] after a timeout.
    ///
    /// # Errors
    ///
    /// A [`MailError`] saying whether a retry may help.
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError>;
}

#[async_trait]
impl<T: Mailer + ?Sized> Mailer for Arc<T> {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        (**self).send(message).await
    }
}

#[async_trait]
impl<T: Mailer + ?Sized> Mailer for Box<T> {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        (**self).send(message).await
    }
}
