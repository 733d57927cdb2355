//! Validated e-mail addresses.

use core::fmt;
use std::sync::Arc;

/// The longest address accepted, in bytes (RFC 5321 path limit minus the angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;
/// The longest local part accepted, in bytes (RFC 5321 §4.5.3.1.1).
const MAX_LOCAL_LEN: usize = 64;

/// A validated, normalised e-mail address: trimmed and ASCII-lowercased.
///
/// The check is deliberately conservative, because addresses end up in mail headers:
/// exactly one `@`, a non-empty local part of at most 64 bytes, a dotted domain with
/// non-empty labels, at most 254 bytes overall, and no whitespace, control characters
/// or the header/display-name specials `<>()[],;:\"`. Non-ASCII letters are kept
/// (internationalised addresses), only ASCII is case-folded.
///
/// ```
/// use admin_mfa_lifecycle::Email;
///
/// let email = Email::parse("  Ada.Lovelace@Example.COM ")?;
/// assert_eq!(email.as_str(), "ada.lovelace@example.com");
/// assert!(Email::parse("ada@example.com\r\nBcc: x@y").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
// Shared, immutable text: an admin record is cloned on every read, and a clone of an
// address is then a reference count rather than an allocation.
pub struct Email(Arc<str>);

/// Why an address was refused by [`Email::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing but whitespace.
    #[error("email address is empty")]
    Empty,
    /// Longer than [`MAX_EMAIL_LEN`] bytes, or a local part over 64 bytes.
    #[error("email address is too long")]
    TooLong,
    /// Contains a control character such as CR or LF.
    #[error("email address contains a control character")]
    ControlCharacter,
    /// Contains whitespace inside the address.
    #[error("email address contains whitespace")]
    Whitespace,
    /// Contains one of `<>()[],;:\"`.
    #[error("email address contains a forbidden character")]
    ForbiddenCharacter,
    /// No `@` at all.
    #[error("email address has no `@`")]
    MissingAt,
    /// More than one `@`.
    #[error("email address has more than one `@`")]
    MultipleAt,
    /// Nothing before the `@`.
    #[error("email address has an empty local part")]
    EmptyLocalPart,
    /// The domain is empty, has an empty label (`a..b`, a leading or trailing dot) or no dot.
    #[error("email address has an invalid domain")]
    InvalidDomain,
}

impl Email {
    /// Validates and normalises `input` (see the type docs for the rules).
    ///
    /// # Errors
    /// An [`EmailError`] naming the first rule the input breaks.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > MAX_EMAIL_LEN {
            return Err(EmailError::TooLong);
        }
        for c in trimmed.chars() {
            if c.is_control() {
                return Err(EmailError::ControlCharacter);
            }
            if c.is_whitespace() {
                return Err(EmailError::Whitespace);
            }
            if matches!(
                c,
                '<' | '>' | '(' | ')' | '[' | ']' | ',' | ';' | ':' | '\\' | '"'
            ) {
                return Err(EmailError::ForbiddenCharacter);
            }
        }
        let mut parts = trimmed.split('@');
        let (Some(local), Some(domain)) = (parts.next(), parts.next()) else {
            return Err(EmailError::MissingAt);
        };
        if parts.next().is_some() {
            return Err(EmailError::MultipleAt);
        }
        if local.is_empty() {
            return Err(EmailError::EmptyLocalPart);
        }
        if local.len() > MAX_LOCAL_LEN {
            return Err(EmailError::TooLong);
        }
        if domain.is_empty() || !domain.contains('.') || domain.split('.').any(str::is_empty) {
            return Err(EmailError::InvalidDomain);
        }
        Ok(Self(trimmed.to_ascii_lowercase().into()))
    }

    /// The normalised address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Email").field(&self.0).finish()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::str::FromStr for Email {
    type Err = EmailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Email {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        let e = Email::parse("\tBob@Example.Org\n").unwrap();
        assert_eq!(e.as_str(), "bob@example.org");
        assert_eq!(e.to_string(), "bob@example.org");
        // Non-ASCII letters survive untouched; only ASCII folds.
        assert_eq!(
            Email::parse("Ünï@Example.de").unwrap().as_str(),
            "Ünï@example.de"
        );
    }

    #[test]
    fn rejects_bad_addresses() {
        let cases: &[(&str, EmailError)] = &[
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("ada example.com", EmailError::Whitespace),
            ("ada@exa mple.com", EmailError::Whitespace),
            ("ada@example.com\r\nBcc: x@y", EmailError::ControlCharacter),
            ("ada\u{0}@example.com", EmailError::ControlCharacter),
            ("ada@example.com\u{7f}", EmailError::ControlCharacter),
            ("Ada <ada@example.com>", EmailError::Whitespace),
            ("<ada@example.com>", EmailError::ForbiddenCharacter),
            ("ada,bob@example.com", EmailError::ForbiddenCharacter),
            ("adaexample.com", EmailError::MissingAt),
            ("ada@bob@example.com", EmailError::MultipleAt),
            ("@example.com", EmailError::EmptyLocalPart),
            ("ada@", EmailError::InvalidDomain),
            ("ada@localhost", EmailError::InvalidDomain),
            ("ada@example..com", EmailError::InvalidDomain),
            ("ada@.example.com", EmailError::InvalidDomain),
            ("ada@example.com.", EmailError::InvalidDomain),
        ];
        for (input, want) in cases {
            assert_eq!(Email::parse(input), Err(*want), "input {input:?}");
        }
    }

    #[test]
    fn length_limits() {
        let local = "a".repeat(64);
        let domain = format!("{}.com", "d".repeat(254 - 64 - 1 - 4));
        let ok = format!("{local}@{domain}");
        assert_eq!(ok.len(), 254);
        assert!(Email::parse(&ok).is_ok());
        let too_long = format!("{local}@d{domain}");
        assert_eq!(Email::parse(&too_long), Err(EmailError::TooLong));
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(Email::parse(&long_local), Err(EmailError::TooLong));
    }

    proptest::proptest! {
        /// Never panics; whatever parses is normalised, bounded, header-safe and stable.
        #[test]
        fn parsed_addresses_are_safe(input in "\\PC{0,80}|[ a-zA-Z0-9.@<>\r\n-]{0,40}") {
            if let Ok(e) = Email::parse(&input) {
                let s = e.as_str();
                proptest::prop_assert!(s.len() <= MAX_EMAIL_LEN);
                proptest::prop_assert!(!s.chars().any(|c| c.is_control() || c.is_whitespace()));
                proptest::prop_assert!(!s.chars().any(|c| c.is_ascii_uppercase()));
                proptest::prop_assert_eq!(s.matches('@').count(), 1);
                proptest::prop_assert_eq!(Email::parse(s).unwrap(), e.clone());
            }
        }
    }
}
