//! How transport errors map to the retry decision of the outbox dispatcher.

use lettre::transport::smtp;
use lettre::transport::stub;

/// What a failed delivery means for the outbox: retry later, give up, or retry after a timeout.
///
/// This is the adapter-side twin of [`admin_mfa_ports::MailError`]'s variants, without the
/// boxed source, so a [`ClassifyFailure`] implementation needs no error to construct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// A later attempt may succeed: the relay was unreachable, busy, misconfigured or
    /// answered with a 4xx reply.
    Transient,
    /// The message or its recipient was refused for good (a 5xx reply to the envelope or
    /// the content): retrying the same message will not help.
    Permanent,
    /// The relay did not answer in time.
    Timeout,
}

/// Tells the mailer whether a transport's error is worth a retry.
///
/// [`LettreMailer`](crate::LettreMailer) accepts any [`lettre::AsyncTransport`] whose error
/// type implements this trait. It is implemented for lettre's SMTP and stub transports; a host
/// with its own transport implements it for that transport's error type.
pub trait ClassifyFailure {
    /// The meaning of this error for the outbox.
    fn failure_kind(&self) -> FailureKind;
}

/// SMTP reply codes that concern the relay's authentication, not the message: `530`
/// (authentication required), `534` (mechanism too weak), `535` (credentials invalid) and
/// `538` (encryption required for the mechanism), RFC 4954 §6. Every message would fail the
/// same way until an operator fixes the configuration, so they are retried rather than
/// dead-lettered one by one.
const AUTH_REPLY_CODES: [u16; 4] = [530, 534, 535, 538];

fn reply_code(code: smtp::response::Code) -> u16 {
    u16::from(code.severity as u8) * 100
        + u16::from(code.category as u8) * 10
        + u16::from(code.detail as u8)
}

impl ClassifyFailure for smtp::Error {
    /// * an I/O timeout anywhere in the chain → [`FailureKind::Timeout`];
    /// * a 5xx reply → [`FailureKind::Permanent`], except the authentication replies
    ///   530, 534, 535 and 538, which are the relay's configuration → [`FailureKind::Transient`];
    /// * everything else (4xx replies, refused or dropped connections, TLS failures, a server
    ///   that does not offer STARTTLS or a usable AUTH mechanism, unparsable replies, a shut
    ///   down pool) → [`FailureKind::Transient`].
    fn failure_kind(&self) -> FailureKind {
        if self.is_timeout() {
            return FailureKind::Timeout;
        }
        if self.is_permanent() {
            let auth = self
                .status()
                .is_some_and(|code| AUTH_REPLY_CODES.contains(&reply_code(code)));
            return if auth {
                FailureKind::Transient
            } else {
                FailureKind::Permanent
            };
        }
        FailureKind::Transient
    }
}

impl ClassifyFailure for stub::Error {
    /// The stub transport's only error stands for "the relay failed": transient.
    fn failure_kind(&self) -> FailureKind {
        FailureKind::Transient
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lettre::transport::smtp::response::{Category, Code, Detail, Severity};

    #[test]
    fn reply_code_numbers() {
        let code = Code::new(
            Severity::PermanentNegativeCompletion,
            Category::Unspecified3,
            Detail::Five,
        );
        assert_eq!(reply_code(code), 535);
        let code = Code::new(
            Severity::TransientNegativeCompletion,
            Category::MailSystem,
            Detail::One,
        );
        assert_eq!(reply_code(code), 451);
    }
}
