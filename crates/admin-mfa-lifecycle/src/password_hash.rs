//! Opaque password hashes: the PHC strings the service makes and checks.

use core::fmt;
use std::sync::Arc;

/// A password hash in PHC string format (`$argon2id$v=19$...`), opaque to this crate.
///
/// Hashing and verification live in the service; this type only carries the string.
/// `Debug` is redacted so the hash never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(Arc<str>);

impl PasswordHash {
    /// Wraps a PHC string. No validation happens here.
    #[must_use]
    pub fn new(phc: String) -> Self {
        Self(phc.into())
    }

    /// The PHC string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for PasswordHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for PasswordHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_debug_is_redacted() {
        let h = PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned());
        let dbg = format!("{h:?}");
        assert!(!dbg.contains("argon2"), "{dbg}");
        assert!(h.as_str().starts_with("$argon2id"));
    }
}
