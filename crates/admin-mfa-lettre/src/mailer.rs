//! The [`Mailer`] over a lettre transport.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use admin_mfa_ports::{EmailMessage, MailError, Mailer};
use async_trait::async_trait;
use data_encoding::HEXLOWER;
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::{Digest, Sha256};

use crate::classify::{ClassifyFailure, FailureKind};
use crate::config::{LettreMailerBuilder, MailerConfigError, Sender, check_timeout};

/// The Message-ID domain when the From domain is not plain ASCII.
const FALLBACK_ID_DOMAIN: &str = "admin-mfa.invalid";

/// A [`Mailer`] that sends each [`EmailMessage`] as a `multipart/alternative` (text, then
/// HTML) message through a lettre [`AsyncTransport`].
///
/// The default transport is lettre's pooled SMTP client over rustls, made with
/// [`LettreMailer::builder`]; [`LettreMailer::with_transport`] takes any other (a host's own,
/// or lettre's `AsyncStubTransport` in tests).
///
/// Each delivery is bounded by the configured timeout ([`MailError::Timeout`]); transport
/// errors become [`MailError::Transient`] or [`MailError::Permanent`] through
/// [`ClassifyFailure`]; a message that cannot be built (a subject with a control character,
/// a recipient lettre refuses) is [`MailError::Permanent`] and nothing is sent.
///
/// The `Message-ID` is derived from the message's idempotency key, so every retry of one
/// outbox entry carries the same id and receivers can spot duplicates.
///
/// Sending needs a Tokio runtime with its time driver enabled (`enable_all()` or
/// `enable_time()`); called outside any Tokio runtime, [`Mailer::send`] returns
/// [`MailError::Transient`] with [`MailerConfigError::NoRuntime`] as its source instead of panicking.
///
/// Cloning is cheap for the SMTP transport: clones share one connection pool.
#[derive(Clone)]
pub struct LettreMailer<T = AsyncSmtpTransport<Tokio1Executor>> {
    transport: T,
    sender: Sender,
    timeout: Duration,
}

impl<T> fmt::Debug for LettreMailer<T> {
    // The transport is left out: it may hold credentials and, for test transports, the
    // recorded bodies (which carry live links).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LettreMailer")
            .field("transport", &std::any::type_name::<T>())
            .field("sender", &self.sender)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl LettreMailer {
    /// Starts the configuration of an SMTP mailer for the relay `host`, sending as `sender`.
    /// See [`LettreMailerBuilder`] for the settings and their defaults.
    pub fn builder(host: impl Into<String>, sender: Sender) -> LettreMailerBuilder {
        LettreMailerBuilder::new(host.into(), sender)
    }
}

impl<T> LettreMailer<T> {
    /// A mailer over a transport the host configured itself.
    ///
    /// # Errors
    ///
    /// [`MailerConfigError::InvalidTimeout`] unless `timeout` is within
    /// [`MIN_TIMEOUT`](crate::MIN_TIMEOUT)..=[`MAX_TIMEOUT`](crate::MAX_TIMEOUT).
    pub fn with_transport(
        transport: T,
        sender: Sender,
        timeout: Duration,
    ) -> Result<Self, MailerConfigError> {
        check_timeout(timeout)?;
        Ok(Self::from_parts(transport, sender, timeout))
    }

    pub(crate) fn from_parts(transport: T, sender: Sender, timeout: Duration) -> Self {
        Self {
            transport,
            sender,
            timeout,
        }
    }

    /// The transport, e.g. to read what a stub transport recorded.
    #[must_use]
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The From mailbox.
    #[must_use]
    pub fn sender(&self) -> &Sender {
        &self.sender
    }

    /// The limit for one delivery.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Builds the MIME message for `message` without sending it.
    ///
    /// # Errors
    ///
    /// [`MessageError`] if the subject holds a control character or lettre refuses the
    /// recipient or the message.
    pub fn build_message(&self, message: &EmailMessage) -> Result<Message, MessageError> {
        if message.subject.chars().any(char::is_control) {
            return Err(MessageError::SubjectControlCharacter);
        }
        let to: Address = message
            .to
            .as_str()
            .parse()
            .map_err(MessageError::Recipient)?;
        Message::builder()
            .from(self.sender.mailbox().clone())
            .to(Mailbox::new(None, to))
            .subject(message.subject.clone())
            .message_id(Some(message_id(
                message.idempotency_key.as_str(),
                self.sender.address().as_str(),
            )))
            .multipart(MultiPart::alternative_plain_html(
                message.text.clone(),
                message.html.clone(),
            ))
            .map_err(MessageError::Build)
    }
}

/// Why an [`EmailMessage`] could not be turned into a MIME message; the source of the
/// [`MailError::Permanent`] that [`LettreMailer`] returns for it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The subject holds a control character such as CR or LF: refused rather than sent
    /// altered, since the renderer promises a single-line subject.
    #[error("subject contains a control character")]
    SubjectControlCharacter,
    /// The recipient address is not accepted by lettre.
    #[error("recipient address refused")]
    Recipient(#[source] lettre::address::AddressError),
    /// lettre refused to build the message.
    #[error("message could not be built")]
    Build(#[source] lettre::error::Error),
}

/// `<{32 hex chars of SHA-256(key)}@{from domain}>`: stable across retries of one outbox
/// entry, opaque (the key names the admin and the event), and always a valid msg-id.
fn message_id(idempotency_key: &str, from: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"admin-mfa message-id\0");
    hasher.update(idempotency_key.as_bytes());
    let digest = hasher.finalize();
    let local = HEXLOWER.encode(digest.get(..16).unwrap_or_default());
    let domain = from
        .rsplit_once('@')
        .map(|(_, domain)| domain)
        .filter(|d| {
            d.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        })
        .unwrap_or(FALLBACK_ID_DOMAIN);
    format!("<{local}@{domain}>")
}

fn to_mail_error<E>(error: E) -> MailError
where
    E: ClassifyFailure + StdError + Send + Sync + 'static,
{
    match error.failure_kind() {
        FailureKind::Transient => MailError::Transient(Box::new(error)),
        FailureKind::Permanent => MailError::Permanent(Box::new(error)),
        FailureKind::Timeout => MailError::Timeout,
    }
}

#[async_trait]
impl<T> Mailer for LettreMailer<T>
where
    T: AsyncTransport + Send + Sync,
    T::Error: ClassifyFailure + StdError + Send + Sync + 'static,
{
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(MailError::Transient(Box::new(MailerConfigError::NoRuntime)));
        }
        let built = match self.build_message(message) {
            Ok(built) => built,
            Err(error) => {
                tracing::warn!(
                    error = %error,
                    "refusing to send a malformed message"
                );
                return Err(MailError::Permanent(Box::new(error)));
            }
        };
        let id = built
            .headers()
            .get_raw("Message-ID")
            .unwrap_or_default()
            .to_owned();
        match tokio::time::timeout(self.timeout, self.transport.send(built)).await {
            Ok(Ok(_)) => {
                tracing::debug!(message_id = %id, "mail accepted by the transport");
                Ok(())
            }
            Ok(Err(error)) => {
                let error = to_mail_error(error);
                tracing::warn!(
                    message_id = %id,
                    retryable = error.is_retryable(),
                    error = %error,
                    cause = %error.source().map(ToString::to_string).unwrap_or_default(),
                    "mail delivery failed"
                );
                Err(error)
            }
            Err(_elapsed) => {
                tracing::warn!(message_id = %id, timeout = ?self.timeout, "mail delivery timed out");
                Err(MailError::Timeout)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use admin_mfa_ports::{DedupeKey, Email};
    use lettre::transport::stub::AsyncStubTransport;
    use std::future::Future as _;

    fn sender() -> Sender {
        Sender::new(
            Email::parse("security@example.com").unwrap(),
            "ACME Security",
        )
        .unwrap()
    }

    fn message(subject: &str) -> EmailMessage {
        EmailMessage {
            to: Email::parse("ada@example.org").unwrap(),
            subject: subject.to_owned(),
            text: "Set up MFA: https://portal.example.com/mfa/setup#tok-SECRET-LINK".to_owned(),
            html: "<p><a href=\"https://portal.example.com/mfa/setup#tok-SECRET-LINK\">Set up MFA</a></p>"
                .to_owned(),
            idempotency_key: DedupeKey::from_string("admin-1:setup:abc".to_owned()),
        }
    }

    fn stub_mailer(transport: AsyncStubTransport) -> LettreMailer<AsyncStubTransport> {
        LettreMailer::with_transport(transport, sender(), Duration::from_secs(5)).unwrap()
    }

    #[tokio::test]
    async fn sends_multipart_alternative_text_then_html() {
        let mailer = stub_mailer(AsyncStubTransport::new_ok());
        mailer.send(&message("Set up MFA")).await.unwrap();
        let sent = mailer.transport().messages().await;
        assert_eq!(sent.len(), 1);
        let (envelope, raw) = &sent[0];
        assert_eq!(envelope.to().len(), 1);
        assert_eq!(envelope.to()[0].to_string(), "ada@example.org");
        assert_eq!(
            envelope.from().map(ToString::to_string).as_deref(),
            Some("security@example.com")
        );
        assert!(
            raw.contains("Content-Type: multipart/alternative;"),
            "{raw}"
        );
        let text_at = raw.find("Content-Type: text/plain; charset=utf-8").unwrap();
        let html_at = raw.find("Content-Type: text/html; charset=utf-8").unwrap();
        assert!(text_at < html_at, "text part must come first");
        assert!(raw.contains("Subject: Set up MFA\r\n"), "{raw}");
        assert!(
            raw.contains("From: \"ACME Security\" <security@example.com>\r\n"),
            "{raw}"
        );
        assert!(raw.contains("To: ada@example.org\r\n"), "{raw}");
    }

    #[tokio::test]
    async fn message_id_is_stable_per_idempotency_key() {
        let mailer = stub_mailer(AsyncStubTransport::new_ok());
        let first = mailer.build_message(&message("a")).unwrap();
        let retry = mailer.build_message(&message("a")).unwrap();
        let mut other = message("a");
        other.idempotency_key = DedupeKey::from_string("admin-1:setup:def".to_owned());
        let other = mailer.build_message(&other).unwrap();
        let id = |m: &Message| m.headers().get_raw("Message-ID").unwrap().to_owned();
        assert_eq!(id(&first), id(&retry));
        assert_ne!(id(&first), id(&other));
        let first_id = id(&first);
        assert!(
            first_id.starts_with('<') && first_id.ends_with("@example.com>"),
            "{first_id}"
        );
        assert_eq!(first_id.len(), "<@example.com>".len() + 32);
        // The key itself (it names the admin and the event) does not leak into the header.
        assert!(!first_id.contains("admin-1"));
    }

    #[test]
    fn message_id_domain_falls_back_for_non_ascii() {
        let id = message_id("k", "sec@exämple.com");
        assert!(id.ends_with("@admin-mfa.invalid>"), "{id}");
    }

    #[tokio::test]
    async fn control_characters_in_the_subject_are_refused_before_sending() {
        let mailer = stub_mailer(AsyncStubTransport::new_ok());
        for subject in [
            "Hi\r\nBcc: x@y",
            "Hi\nBcc: x@y",
            "Hi\rBcc: x@y",
            "Hi\u{0}",
            "Tab\there",
        ] {
            let err = mailer.send(&message(subject)).await.unwrap_err();
            assert!(
                matches!(err, MailError::Permanent(_)),
                "{subject:?}: {err:?}"
            );
            let source = err.source().unwrap();
            assert!(
                matches!(
                    source.downcast_ref::<MessageError>(),
                    Some(MessageError::SubjectControlCharacter)
                ),
                "{source:?}"
            );
        }
        assert!(mailer.transport().messages().await.is_empty());
    }

    #[test]
    fn lettre_alone_also_encodes_crlf_in_a_subject() {
        // Defence in depth: even without our check, lettre's typed Subject header encodes
        // CR and LF (RFC 2047) instead of writing them raw.
        let raw = Message::builder()
            .from("a@example.com".parse().unwrap())
            .to("b@example.com".parse().unwrap())
            .subject("Hi\r\nBcc: x@y")
            .body(String::from("body"))
            .unwrap()
            .formatted();
        let raw = String::from_utf8(raw).unwrap();
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
        assert!(!raw.contains("Hi\r\n"), "{raw}");
    }

    #[tokio::test]
    async fn untrusted_unicode_in_the_subject_is_encoded() {
        let mailer = stub_mailer(AsyncStubTransport::new_ok());
        let subject = "<script>alert(1)</script> \u{202E}gnp.exe 🔐 Ünïcode";
        mailer.send(&message(subject)).await.unwrap();
        let (_, raw) = &mailer.transport().messages().await[0];
        let header_block = raw.split("\r\n\r\n").next().unwrap();
        assert!(
            header_block.is_ascii(),
            "headers must be 7-bit: {header_block}"
        );
        assert!(header_block.contains("Subject: "), "{header_block}");
    }

    #[tokio::test]
    async fn a_recipient_lettre_refuses_is_permanent() {
        let mailer = stub_mailer(AsyncStubTransport::new_ok());
        // Valid for the lifecycle's conservative check, but not an RFC 5322 dot-atom.
        let mut bad = message("Set up MFA");
        bad.to = Email::parse("ada..lovelace@example.org").unwrap();
        let err = mailer.send(&bad).await.unwrap_err();
        assert!(matches!(err, MailError::Permanent(_)), "{err:?}");
        assert!(matches!(
            err.source().unwrap().downcast_ref::<MessageError>(),
            Some(MessageError::Recipient(_))
        ));
        assert!(mailer.transport().messages().await.is_empty());
    }

    #[tokio::test]
    async fn stub_failure_is_transient() {
        let mailer = stub_mailer(AsyncStubTransport::new_error());
        let err = mailer.send(&message("Set up MFA")).await.unwrap_err();
        assert!(matches!(err, MailError::Transient(_)), "{err:?}");
        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn a_hanging_transport_times_out() {
        struct Hang;
        #[async_trait]
        impl AsyncTransport for Hang {
            type Ok = ();
            type Error = lettre::transport::stub::Error;
            async fn send_raw(
                &self,
                _: &lettre::address::Envelope,
                _: &[u8],
            ) -> Result<(), Self::Error> {
                std::future::pending().await
            }
        }
        let mailer = LettreMailer::with_transport(Hang, sender(), Duration::from_secs(1)).unwrap();
        let err = mailer.send(&message("Set up MFA")).await.unwrap_err();
        assert!(matches!(err, MailError::Timeout), "{err:?}");
    }

    #[test]
    fn sending_outside_a_runtime_is_an_error_not_a_panic() {
        let mailer = stub_mailer(AsyncStubTransport::new_ok());
        let message = message("Set up MFA");
        let send = mailer.send(&message);
        // Poll the future by hand, without any Tokio runtime around.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut send = std::pin::pin!(send);
        match send.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(Err(MailError::Transient(source))) => {
                assert!(matches!(
                    source.downcast_ref::<MailerConfigError>(),
                    Some(MailerConfigError::NoRuntime)
                ));
            }
            other => panic!("expected a transient error, got {other:?}"),
        }
    }

    #[test]
    fn with_transport_validates_the_timeout() {
        let result =
            LettreMailer::with_transport(AsyncStubTransport::new_ok(), sender(), Duration::ZERO);
        assert!(matches!(result, Err(MailerConfigError::InvalidTimeout)));
    }

    #[tokio::test]
    async fn debug_shows_no_body_or_transport_contents() {
        let mailer = stub_mailer(AsyncStubTransport::new_ok());
        mailer.send(&message("Set up MFA")).await.unwrap();
        let dbg = format!("{mailer:?}");
        assert!(!dbg.contains("SECRET-LINK"), "{dbg}");
        assert!(dbg.contains("security@example.com"), "{dbg}");
    }
}
