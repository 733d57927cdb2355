//! Link tokens: the random secret in a setup or reset e-mail, and its stored hash.

use core::fmt;

use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Raw token length in bytes (256 bits, docs/SECURITY.md TOK-1).
pub const TOKEN_BYTES: usize = 32;
/// Length of [`LinkToken::encode`]: 32 bytes as unpadded base64url.
pub const TOKEN_ENCODED_LEN: usize = 43;

/// What a link is for. A token is bound to exactly one purpose (TOK-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum LinkPurpose {
    /// First enrolment, or re-enrolment after an admin reset ("Set Up MFA").
    Setup,
    /// Self-service "Reset TOTP MFA"; the old factor keeps working until the new one is verified.
    Reset,
}

impl LinkPurpose {
    /// A stable lowercase name (`"setup"`, `"reset"`), used in dedupe keys and logs.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Setup => "setup",
            Self::Reset => "reset",
        }
    }
}

impl fmt::Display for LinkPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A raw link token: 32 bytes from a CSPRNG, sent only inside an e-mail link.
///
/// Only its SHA-256 ([`TokenHash`]) is stored in the admin's state; the raw token travels
/// sealed (see [`crate::Sealed`]) in the outbox. The bytes are zeroised on drop, compared in
/// constant time, and never shown by `Debug`.
///
/// ```
/// use admin_mfa_lifecycle::LinkToken;
///
/// let token = LinkToken::from_bytes([7; 32]);
/// let text = token.encode();
/// assert_eq!(text.len(), 43);
/// let parsed = LinkToken::parse(&text)?;
/// assert_eq!(parsed.hash(), token.hash());
/// assert_eq!(format!("{token:?}"), "LinkToken(<redacted>)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct LinkToken([u8; TOKEN_BYTES]);

/// Why a string is not a link token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not exactly 43 characters.
    #[error("link token has the wrong length")]
    Length,
    /// Not canonical unpadded base64url.
    #[error("link token is not base64url")]
    Encoding,
}

impl LinkToken {
    /// Draws a new token from `rng` (pass the OS RNG in production).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0_u8; TOKEN_BYTES];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A token with the given bytes (tests, or a token decrypted from the outbox).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; TOKEN_BYTES]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; TOKEN_BYTES] {
        &self.0
    }

    /// The 43-character unpadded base64url text that goes into the link.
    #[must_use]
    pub fn encode(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE64URL_NOPAD.encode(&self.0))
    }

    /// Parses the exact form produced by [`LinkToken::encode`]: 43 characters of the
    /// base64url alphabet, no padding, canonical trailing bits. Anything else is refused
    /// before any allocation proportional to the input.
    ///
    /// # Errors
    /// [`TokenError::Length`] or [`TokenError::Encoding`].
    pub fn parse(text: &str) -> Result<Self, TokenError> {
        if text.len() != TOKEN_ENCODED_LEN {
            return Err(TokenError::Length);
        }
        let mut bytes = Zeroizing::new([0_u8; TOKEN_BYTES]);
        match BASE64URL_NOPAD.decode_mut(text.as_bytes(), &mut bytes[..]) {
            Ok(TOKEN_BYTES) => Ok(Self(*bytes)),
            _ => Err(TokenError::Encoding),
        }
    }

    /// SHA-256 of the raw bytes: what the store keeps and indexes.
    #[must_use]
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0).into())
    }
}

impl PartialEq for LinkToken {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for LinkToken {}

impl fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkToken(<redacted>)")
    }
}

/// SHA-256 of a [`LinkToken`]'s raw bytes. Not secret: it is what the store indexes
/// admins by, and a hash of 256 random bits cannot be turned back into a usable link.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Wraps a stored hash.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 hash bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex (64 characters).
    #[must_use]
    pub fn to_hex(&self) -> String {
        HEXLOWER.encode(&self.0)
    }

    /// Parses 64 lowercase hex characters.
    ///
    /// # Errors
    /// [`TokenError::Length`] or [`TokenError::Encoding`].
    pub fn from_hex(text: &str) -> Result<Self, TokenError> {
        if text.len() != 64 {
            return Err(TokenError::Length);
        }
        let mut bytes = [0_u8; 32];
        match HEXLOWER.decode_mut(text.as_bytes(), &mut bytes) {
            Ok(32) => Ok(Self(bytes)),
            _ => Err(TokenError::Encoding),
        }
    }

    /// Constant-time equality (the comparison a link check uses).
    #[must_use]
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({})", self.to_hex())
    }
}

impl fmt::Display for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for TokenHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for TokenHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    #[test]
    fn encode_parse_round_trip_and_shape() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for _ in 0..200 {
            let t = LinkToken::generate(&mut rng);
            let s = t.encode();
            assert_eq!(s.len(), TOKEN_ENCODED_LEN);
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            let back = LinkToken::parse(&s).unwrap();
            assert_eq!(back, t);
            assert_eq!(back.hash(), t.hash());
        }
    }

    #[test]
    fn tokens_and_hashes_are_distinct() {
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        let mut tokens = HashSet::new();
        let mut hashes = HashSet::new();
        for _ in 0..10_000 {
            let t = LinkToken::generate(&mut rng);
            assert!(tokens.insert(t.encode().to_string()));
            assert!(hashes.insert(t.hash()));
        }
    }

    #[test]
    fn hash_is_sha256_of_raw_bytes() {
        // SHA-256 of 32 zero bytes.
        let h = LinkToken::from_bytes([0; 32]).hash();
        assert_eq!(
            h.to_hex(),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
        assert_eq!(TokenHash::from_hex(&h.to_hex()).unwrap(), h);
        assert!(h.ct_eq(&h));
        assert!(!h.ct_eq(&LinkToken::from_bytes([1; 32]).hash()));
    }

    #[test]
    fn parse_rejects_everything_but_the_exact_form() {
        let good = LinkToken::from_bytes([0xAB; 32]).encode();
        let good = good.as_str();
        assert!(LinkToken::parse(good).is_ok());
        assert_eq!(LinkToken::parse(""), Err(TokenError::Length));
        assert_eq!(LinkToken::parse(&good[..42]), Err(TokenError::Length));
        assert_eq!(
            LinkToken::parse(&format!("{good}=")),
            Err(TokenError::Length)
        );
        assert_eq!(
            LinkToken::parse(&format!("{good} ")),
            Err(TokenError::Length)
        );
        // Standard base64 characters are not base64url.
        let plus = format!("+{}", &good[1..]);
        assert_eq!(LinkToken::parse(&plus), Err(TokenError::Encoding));
        let slash = format!("/{}", &good[1..]);
        assert_eq!(LinkToken::parse(&slash), Err(TokenError::Encoding));
        // Non-canonical trailing bits: the last character encodes only 4 bits.
        let mut tail = good.to_owned();
        tail.pop();
        // 'B' is 0b000001: its low bits are set, so it is never the canonical last character.
        tail.push('B');
        assert_eq!(LinkToken::parse(&tail), Err(TokenError::Encoding));
        // Multi-byte characters with a matching byte length.
        let unicode = format!("é{}", &good[2..]);
        assert_eq!(unicode.len(), 43);
        assert_eq!(LinkToken::parse(&unicode), Err(TokenError::Encoding));
        // One character changed: a different token, hence a different hash.
        let changed = format!("A{}", &good[1..]);
        if changed != good {
            assert_ne!(
                LinkToken::parse(&changed).unwrap().hash(),
                LinkToken::parse(good).unwrap().hash()
            );
        }
    }

    proptest::proptest! {
        /// T-FUZ-4: arbitrary input never panics; only the exact canonical form parses, and
        /// it re-encodes to itself.
        #[test]
        fn parse_accepts_only_the_canonical_form(
            input in ".{0,60}",
            raw in proptest::array::uniform32(0_u8..),
            pos in 0_usize..43,
            replacement in proptest::char::any(),
        ) {
            if let Ok(t) = LinkToken::parse(&input) {
                let encoded = t.encode();
                proptest::prop_assert_eq!(encoded.as_str(), input.as_str());
            }
            let t = LinkToken::from_bytes(raw);
            let encoded = t.encode();
            proptest::prop_assert_eq!(&LinkToken::parse(&encoded).unwrap(), &t);
            // One character replaced: either refused, or a canonical encoding of other bytes.
            let mutated: String = encoded
                .chars()
                .enumerate()
                .map(|(i, c)| if i == pos { replacement } else { c })
                .collect();
            match LinkToken::parse(&mutated) {
                Ok(other) => {
                    let again = other.encode();
                    proptest::prop_assert_eq!(again.as_str(), mutated.as_str());
                    proptest::prop_assert_eq!(other == t, mutated == encoded.as_str());
                }
                Err(_) => proptest::prop_assert_ne!(mutated.as_str(), encoded.as_str()),
            }
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let t = LinkToken::from_bytes([0x41; 32]);
        let dbg = format!("{t:?}");
        assert!(!dbg.contains(t.encode().as_str()));
        assert_eq!(dbg, "LinkToken(<redacted>)");
    }
}
