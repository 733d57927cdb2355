//! The validated configuration of the SMTP mailer.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use admin_mfa_ports::Email;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, Tokio1Executor};

use crate::mailer::LettreMailer;

/// The default send timeout: the whole delivery (connect, TLS, AUTH, envelope, data).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The shortest send timeout accepted.
pub const MIN_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest send timeout accepted.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);
/// The longest From display name accepted, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 128;
/// The longest relay host name accepted, in bytes (a DNS name's limit).
const MAX_HOST_LEN: usize = 253;
/// What every PEM certificate starts with.
const CERTIFICATE_PEM_TAG: &[u8] = b"-----BEGIN CERTIFICATE-----";

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsMode {
    /// TLS from the first byte ("implicit TLS", RFC 8314), port 465 by default. The default.
    Implicit,
    /// A plaintext connection upgraded with STARTTLS before anything else is said, port 587
    /// by default. A relay that does not offer STARTTLS is an error, never a silent downgrade.
    StartTls,
    /// No encryption at all, port 25 by default: only for a relay on the same host (tests, a
    /// local sidecar) or a trusted private network. Credentials are refused in this mode unless
    /// the relay is a loopback address.
    None,
}

impl TlsMode {
    /// The usual port of the mode: 465, 587 or 25.
    #[must_use]
    pub fn default_port(self) -> u16 {
        match self {
            Self::Implicit => 465,
            Self::StartTls => 587,
            Self::None => 25,
        }
    }
}

/// Why a mailer configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailerConfigError {
    /// The relay host is empty, too long or contains whitespace or control characters.
    #[error("invalid smtp relay host")]
    InvalidHost,
    /// The port is 0.
    #[error("invalid smtp port `0`")]
    InvalidPort,
    /// The From display name contains a control character (such as CR or LF) or is longer
    /// than [`MAX_DISPLAY_NAME_CHARS`].
    #[error("invalid from display name")]
    InvalidDisplayName,
    /// The From address is not accepted by the mail library.
    #[error("invalid from address `{address}`")]
    InvalidFromAddress {
        /// The refused address (an address, not a secret).
        address: String,
    },
    /// The timeout is outside [`MIN_TIMEOUT`]..=[`MAX_TIMEOUT`].
    #[error("send timeout must be between 1 s and 600 s")]
    InvalidTimeout,
    /// Credentials would travel in plaintext to a relay that is not on this host.
    #[error("credentials need tls unless the relay is a loopback address")]
    CredentialsWithoutTls,
    /// A username or password is empty or contains a control character.
    #[error("invalid smtp credentials")]
    InvalidCredentials,
    /// An extra root certificate is not a PEM `CERTIFICATE` block that parses.
    #[error("invalid root certificate")]
    InvalidRootCertificate,
    /// The TLS client could not be configured.
    #[error("tls configuration failed")]
    Tls(#[source] lettre::transport::smtp::Error),
    /// [`LettreMailerBuilder::build`] was called outside a Tokio runtime (the connection pool
    /// starts a background task).
    #[error("the smtp mailer must be built inside a tokio runtime")]
    NoRuntime,
}

/// The validated From mailbox: an address and an optional display name.
///
/// The display name goes through lettre's typed `From` header (quoted or RFC 2047 encoded);
/// on top of that, control characters are refused here, so no CR or LF can reach a header.
///
/// ```
/// use admin_mfa_lettre::Sender;
/// use admin_mfa_ports::Email;
///
/// let from = Sender::new(Email::parse("security@example.com")?, "ACME Security")?;
/// assert_eq!(from.address().as_str(), "security@example.com");
/// assert!(Sender::new(Email::parse("security@example.com")?, "ACME\r\nBcc: x@y").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Sender {
    address: Email,
    name: Option<String>,
    mailbox: Mailbox,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("address", &self.address)
            .field("display_name", &self.name)
            .finish()
    }
}

impl Sender {
    /// A From mailbox; an empty (or all-blank) `display_name` means none.
    ///
    /// # Errors
    ///
    /// [`MailerConfigError::InvalidDisplayName`] for a control character or an over-long name;
    /// [`MailerConfigError::InvalidFromAddress`] if lettre refuses the address.
    pub fn new(address: Email, display_name: &str) -> Result<Self, MailerConfigError> {
        let trimmed = display_name.trim();
        if trimmed.chars().any(char::is_control) || trimmed.chars().count() > MAX_DISPLAY_NAME_CHARS
        {
            return Err(MailerConfigError::InvalidDisplayName);
        }
        let name = (!trimmed.is_empty()).then(|| trimmed.to_owned());
        let lettre_address: Address =
            address
                .as_str()
                .parse()
                .map_err(|_| MailerConfigError::InvalidFromAddress {
                    address: address.as_str().to_owned(),
                })?;
        let mailbox = Mailbox::new(name.clone(), lettre_address);
        Ok(Self {
            address,
            name,
            mailbox,
        })
    }

    /// The From address.
    #[must_use]
    pub fn address(&self) -> &Email {
        &self.address
    }

    /// The display name, if any.
    #[must_use]
    pub fn display_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub(crate) fn mailbox(&self) -> &Mailbox {
        &self.mailbox
    }
}

/// Builds a [`LettreMailer`] over lettre's pooled async SMTP transport (rustls, ring).
///
/// Made by [`LettreMailer::builder`]; every setting is checked in [`build`](Self::build).
#[derive(Clone)]
#[must_use]
pub struct LettreMailerBuilder {
    host: String,
    port: Option<u16>,
    tls: TlsMode,
    credentials: Option<(String, String)>,
    sender: Sender,
    timeout: Duration,
    root_certificates: Vec<Vec<u8>>,
}

impl fmt::Debug for LettreMailerBuilder {
    // The password never appears; the username is shown only as "set".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LettreMailerBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "<redacted>"),
            )
            .field("sender", &self.sender)
            .field("timeout", &self.timeout)
            .field("root_certificates", &self.root_certificates.len())
            .finish()
    }
}

impl LettreMailerBuilder {
    pub(crate) fn new(host: String, sender: Sender) -> Self {
        Self {
            host,
            port: None,
            tls: TlsMode::Implicit,
            credentials: None,
            sender,
            timeout: DEFAULT_TIMEOUT,
            root_certificates: Vec::new(),
        }
    }

    /// How the connection is protected; [`TlsMode::Implicit`] unless set.
    pub fn tls(mut self, mode: TlsMode) -> Self {
        self.tls = mode;
        self
    }

    /// The relay's port; [`TlsMode::default_port`] unless set.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Authenticate with `AUTH PLAIN` (or `LOGIN`) as `username`.
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((username.into(), password.into()));
        self
    }

    /// The limit for one whole delivery; [`DEFAULT_TIMEOUT`] unless set. It also bounds each
    /// SMTP command and the connection attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Trusts one more root certificate (PEM), besides the bundled Mozilla roots: for a relay
    /// whose certificate comes from a private CA.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Checks the settings and builds the mailer. No connection is opened yet.
    ///
    /// Must run inside a Tokio runtime: the connection pool starts its cleanup task here.
    ///
    /// # Errors
    ///
    /// A [`MailerConfigError`] naming the first setting that is refused.
    pub fn build(self) -> Result<LettreMailer, MailerConfigError> {
        let host = self.host.trim().to_owned();
        if host.is_empty()
            || host.len() > MAX_HOST_LEN
            || host.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(MailerConfigError::InvalidHost);
        }
        let port = self.port.unwrap_or_else(|| self.tls.default_port());
        if port == 0 {
            return Err(MailerConfigError::InvalidPort);
        }
        check_timeout(self.timeout)?;
        let credentials = match self.credentials {
            None => None,
            Some((user, password)) => {
                let bad = |s: &str| s.is_empty() || s.chars().any(char::is_control);
                if bad(&user) || bad(&password) {
                    return Err(MailerConfigError::InvalidCredentials);
                }
                if self.tls == TlsMode::None && !is_loopback(&host) {
                    return Err(MailerConfigError::CredentialsWithoutTls);
                }
                Some(Credentials::new(user, password))
            }
        };
        let tls = match self.tls {
            TlsMode::None => Tls::None,
            TlsMode::StartTls => Tls::Required(tls_parameters(&host, &self.root_certificates)?),
            TlsMode::Implicit => Tls::Wrapper(tls_parameters(&host, &self.root_certificates)?),
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(MailerConfigError::NoRuntime);
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(self.timeout));
        if let Some(credentials) = credentials {
            builder = builder.credentials(credentials);
        }
        Ok(LettreMailer::from_parts(
            builder.build(),
            self.sender,
            self.timeout,
        ))
    }
}

pub(crate) fn check_timeout(timeout: Duration) -> Result<(), MailerConfigError> {
    if (MIN_TIMEOUT..=MAX_TIMEOUT).contains(&timeout) {
        Ok(())
    } else {
        Err(MailerConfigError::InvalidTimeout)
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn tls_parameters(host: &str, roots: &[Vec<u8>]) -> Result<TlsParameters, MailerConfigError> {
    let mut builder = TlsParameters::builder(host.to_owned());
    for pem in roots {
        // lettre accepts input without any PEM block as an empty list: refuse that here.
        if !pem
            .windows(CERTIFICATE_PEM_TAG.len())
            .any(|w| w == CERTIFICATE_PEM_TAG)
        {
            return Err(MailerConfigError::InvalidRootCertificate);
        }
        let certificate =
            Certificate::from_pem(pem).map_err(|_| MailerConfigError::InvalidRootCertificate)?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build_rustls().map_err(MailerConfigError::Tls)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> Sender {
        Sender::new(Email::parse("security@example.com").unwrap(), "ACME").unwrap()
    }

    #[test]
    fn display_name_rules() {
        let email = Email::parse("security@example.com").unwrap();
        for bad in [
            "ACME\r\nBcc: x@y",
            "ACME\nBcc: x@y",
            "ACME\rX",
            "A\u{0}B",
            "A\u{7f}B",
        ] {
            assert!(
                matches!(
                    Sender::new(email.clone(), bad),
                    Err(MailerConfigError::InvalidDisplayName)
                ),
                "{bad:?}"
            );
        }
        let long = "x".repeat(MAX_DISPLAY_NAME_CHARS + 1);
        assert!(matches!(
            Sender::new(email.clone(), &long),
            Err(MailerConfigError::InvalidDisplayName)
        ));
        let ok = Sender::new(email.clone(), "  Ünïcode \u{202E} 🔐 \"Quote\" <x> ").unwrap();
        assert_eq!(ok.display_name(), Some("Ünïcode \u{202E} 🔐 \"Quote\" <x>"));
        assert_eq!(Sender::new(email, "   ").unwrap().display_name(), None);
    }

    #[test]
    fn builder_rejects_bad_settings() {
        let build = |b: LettreMailerBuilder| b.build().err();
        assert!(matches!(
            build(LettreMailer::builder(" ", sender())),
            Some(MailerConfigError::InvalidHost)
        ));
        assert!(matches!(
            build(LettreMailer::builder("smtp.example.com\r\nX", sender())),
            Some(MailerConfigError::InvalidHost)
        ));
        assert!(matches!(
            build(LettreMailer::builder("smtp.example.com", sender()).port(0)),
            Some(MailerConfigError::InvalidPort)
        ));
        for t in [
            Duration::ZERO,
            Duration::from_millis(999),
            Duration::from_secs(601),
        ] {
            assert!(matches!(
                build(LettreMailer::builder("smtp.example.com", sender()).timeout(t)),
                Some(MailerConfigError::InvalidTimeout)
            ));
        }
        assert!(matches!(
            build(
                LettreMailer::builder("smtp.example.com", sender())
                    .tls(TlsMode::None)
                    .credentials("user", "pw")
            ),
            Some(MailerConfigError::CredentialsWithoutTls)
        ));
        assert!(matches!(
            build(LettreMailer::builder("smtp.example.com", sender()).credentials("", "pw")),
            Some(MailerConfigError::InvalidCredentials)
        ));
        assert!(matches!(
            build(
                LettreMailer::builder("smtp.example.com", sender()).credentials("user", "p\r\nw")
            ),
            Some(MailerConfigError::InvalidCredentials)
        ));
        assert!(matches!(
            build(
                LettreMailer::builder("smtp.example.com", sender())
                    .add_root_certificate_pem(b"not a certificate".to_vec())
            ),
            Some(MailerConfigError::InvalidRootCertificate)
        ));
        assert!(matches!(
            build(
                LettreMailer::builder("smtp.example.com", sender()).add_root_certificate_pem(
                    b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".to_vec()
                )
            ),
            Some(MailerConfigError::InvalidRootCertificate | MailerConfigError::Tls(_))
        ));
    }

    #[test]
    fn building_outside_a_runtime_is_an_error_not_a_panic() {
        let result = LettreMailer::builder("smtp.example.com", sender()).build();
        assert!(matches!(result, Err(MailerConfigError::NoRuntime)));
    }

    #[tokio::test]
    async fn builds_inside_a_runtime() {
        for mode in [TlsMode::Implicit, TlsMode::StartTls, TlsMode::None] {
            let mailer = LettreMailer::builder("smtp.example.com", sender())
                .tls(mode)
                .build();
            assert!(mailer.is_ok(), "{mode:?}");
        }
        // Plaintext credentials are fine towards a loopback relay.
        for host in ["127.0.0.1", "localhost", "::1", "[::1]"] {
            let mailer = LettreMailer::builder(host, sender())
                .tls(TlsMode::None)
                .credentials("user", "pw")
                .build();
            assert!(mailer.is_ok(), "{host}");
        }
    }

    #[test]
    fn debug_hides_credentials() {
        let builder = LettreMailer::builder("smtp.example.com", sender())
            .credentials("mailuser", "hunter2-very-secret");
        let dbg = format!("{builder:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(!dbg.contains("mailuser"), "{dbg}");
        assert!(dbg.contains("<redacted>"), "{dbg}");
    }

    #[test]
    fn default_ports() {
        assert_eq!(TlsMode::Implicit.default_port(), 465);
        assert_eq!(TlsMode::StartTls.default_port(), 587);
        assert_eq!(TlsMode::None.default_port(), 25);
    }
}
