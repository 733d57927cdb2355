//! Recovery codes: one-time codes that stand in for a TOTP code when the authenticator is
//! lost (REC-1..REC-6 in docs/SECURITY.md).
//!
//! A set of [`RECOVERY_CODES`] codes is drawn by the caller when a set-up completes or the
//! admin asks for a new set, shown once, and stored only as keyed hashes
//! ([`StoredRecoveryCodes`]): HMAC-SHA-256 under a key derived (HMAC-SHA-256 of a fixed label) from a
//! [`SealingKey`] of the service's key ring, over the admin id and the code. Someone with a
//! copy of the store but not the keys cannot test guesses offline; a hash is bound to its
//! admin, so it cannot be copied to another one either.
//!
//! A code is 16 characters from a 32-symbol alphabet without look-alikes (no `0`, `1`, `I`
//! or `O`), 80 bits from the random source, shown in four groups of four
//! (`ABCD-EFGH-JKLM-NPQR`). Input is accepted whatever its case, spaces or dashes.

use core::fmt;

use rand_core::CryptoRng;
use ring::hmac;
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::{AdminId, KeyId, SealingKey, UnixTime};

/// How many codes one set holds.
pub const RECOVERY_CODES: usize = 10;
/// Random bytes behind one code: 80 bits, 5 per character.
pub const RECOVERY_CODE_BYTES: usize = 10;
/// Characters of one code, without the dashes.
pub const RECOVERY_CODE_LEN: usize = 16;
/// Input longer than this (in bytes, before spaces and dashes are dropped) is refused
/// before anything is hashed.
pub const MAX_RECOVERY_INPUT_LEN: usize = 64;

/// The code alphabet: digits and capital letters without `0`, `1`, `I` and `O`.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// The HKDF salt of the recovery-code MAC key; a fixed label, so the MAC key of one sealing
/// key is always the same and is never the sealing key itself.
pub(crate) const MAC_DOMAIN: &[u8] = b"admin-mfa/recovery-code/v1";

/// One recovery code in clear. Wiped on drop; `Debug` shows nothing of it.
///
/// ```
/// use admin_mfa_lifecycle::RecoveryCode;
///
/// let code = RecoveryCode::from_random(&[0x5a; 10]);
/// let shown = code.formatted();
/// assert_eq!(shown.len(), 19); // four groups of four, three dashes
/// // Case, spaces and dashes do not matter when it is typed back.
/// let typed = shown.to_lowercase().replace('-', " ");
/// assert_eq!(RecoveryCode::parse(&typed), Some(code));
/// assert_eq!(RecoveryCode::parse("not a code"), None);
/// ```
#[derive(Clone)]
pub struct RecoveryCode(Zeroizing<[u8; RECOVERY_CODE_LEN]>);

impl RecoveryCode {
    /// The code whose 80 bits are `bytes` (draw them from a CSPRNG).
    #[must_use]
    pub fn from_random(bytes: &[u8; RECOVERY_CODE_BYTES]) -> Self {
        let mut chars = Zeroizing::new([0_u8; RECOVERY_CODE_LEN]);
        // 80 bits, read 5 at a time from the most significant end.
        let mut acc: u128 = 0;
        for b in bytes {
            acc = (acc << 8) | u128::from(*b);
        }
        for (i, c) in chars.iter_mut().enumerate() {
            let shift = 5 * (RECOVERY_CODE_LEN - 1 - i);
            let index = usize::try_from((acc >> shift) & 0x1f).unwrap_or(0);
            *c = ALPHABET.get(index).copied().unwrap_or(b'2');
        }
        Self(chars)
    }

    /// Draws a code from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = Zeroizing::new([0_u8; RECOVERY_CODE_BYTES]);
        rng.fill_bytes(&mut bytes[..]);
        Self::from_random(&bytes)
    }

    /// A typed code: ASCII spaces, tabs and dashes are dropped, letters are upper-cased, and
    /// what is left must be exactly [`RECOVERY_CODE_LEN`] characters of the alphabet.
    /// `None` for anything else, including input over [`MAX_RECOVERY_INPUT_LEN`] bytes.
    #[must_use]
    pub fn parse(input: &str) -> Option<Self> {
        if input.len() > MAX_RECOVERY_INPUT_LEN {
            return None;
        }
        let mut chars = Zeroizing::new([0_u8; RECOVERY_CODE_LEN]);
        let mut n = 0;
        for b in input.bytes() {
            if matches!(b, b' ' | b'\t' | b'-') {
                continue;
            }
            let b = b.to_ascii_uppercase();
            if !ALPHABET.contains(&b) {
                return None;
            }
            *chars.get_mut(n)? = b;
            n += 1;
        }
        (n == RECOVERY_CODE_LEN).then(|| Self(chars))
    }

    /// The code for display: four groups of four characters joined by dashes.
    #[must_use]
    pub fn formatted(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(RECOVERY_CODE_LEN + 3));
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(char::from(*c));
        }
        out
    }

    /// The keyed hash of this code for `admin` under `key` (see the module docs).
    #[must_use]
    pub fn hash(&self, key: &SealingKey, admin: AdminId) -> RecoveryHash {
        let mac_key = key.recovery_mac_key();
        let mut ctx = hmac::Context::with_key(&mac_key);
        ctx.update(admin.as_uuid().as_bytes());
        ctx.update(&self.0[..]);
        let tag = ctx.sign();
        let mut out = [0_u8; 32];
        for (o, t) in out.iter_mut().zip(tag.as_ref()) {
            *o = *t;
        }
        RecoveryHash(out)
    }
}

impl PartialEq for RecoveryCode {
    fn eq(&self, other: &Self) -> bool {
        self.0[..].ct_eq(&other.0[..]).into()
    }
}

impl Eq for RecoveryCode {}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

/// A new set of codes in clear, drawn by the caller and handed to the command that stores
/// their hashes. Show the codes once ([`RecoveryCodes::formatted`]) and drop the set.
/// `Debug` shows only how many there are.
///
/// ```
/// use admin_mfa_lifecycle::{AdminId, KeyId, RecoveryCodes, SealingKey, UnixTime};
/// use rand::{SeedableRng, rngs::ChaCha20Rng};
///
/// let codes = RecoveryCodes::generate(&mut ChaCha20Rng::seed_from_u64(7));
/// assert_eq!(codes.formatted().count(), 10);
/// let key = SealingKey::new(KeyId::new(1), [9; 32]);
/// let admin = AdminId::from_bytes([1; 16]);
/// let stored = codes.hashed(&key, admin, UnixTime::from_secs(1_700_000_000));
/// assert_eq!((stored.remaining(), stored.key_id), (10, KeyId::new(1)));
/// assert!(!format!("{codes:?}").contains(codes.formatted().next().unwrap().as_str()));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCodes(Vec<RecoveryCode>);

impl RecoveryCodes {
    /// [`RECOVERY_CODES`] codes drawn from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self(
            (0..RECOVERY_CODES)
                .map(|_| RecoveryCode::generate(rng))
                .collect(),
        )
    }

    /// A set of the given codes (the service draws them from its random source).
    #[must_use]
    pub fn new(codes: Vec<RecoveryCode>) -> Self {
        Self(codes)
    }

    /// The codes.
    #[must_use]
    pub fn codes(&self) -> &[RecoveryCode] {
        &self.0
    }

    /// The codes as shown to the admin, in order.
    pub fn formatted(&self) -> impl Iterator<Item = Zeroizing<String>> + '_ {
        self.0.iter().map(RecoveryCode::formatted)
    }

    /// How many codes the set holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// What the store keeps of this set: the keyed hash of each code under `key`.
    #[must_use]
    pub fn hashed(&self, key: &SealingKey, admin: AdminId, at: UnixTime) -> StoredRecoveryCodes {
        StoredRecoveryCodes {
            key_id: key.id(),
            issued_at: at,
            hashes: self.0.iter().map(|c| c.hash(key, admin)).collect(),
        }
    }
}

impl fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecoveryCodes(<{} redacted>)", self.0.len())
    }
}

/// The keyed hash of one recovery code (HMAC-SHA-256, 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecoveryHash([u8; 32]);

impl RecoveryHash {
    /// Wraps stored bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for RecoveryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryHash(..)")
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for RecoveryHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::serde_b64::vec::serialize(&self.0, serializer)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for RecoveryHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = crate::serde_b64::vec::deserialize(deserializer)?;
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| serde::de::Error::custom("expected 32 bytes"))
    }
}

/// The recovery codes an admin has left, as the store keeps them: keyed hashes only, with the
/// id of the key they were made under (so keys can rotate: the set keeps working while its
/// key stays in the ring, and a new set is made under the current key).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StoredRecoveryCodes {
    /// The sealing key the MAC key was derived from.
    pub key_id: KeyId,
    /// When the set was made.
    pub issued_at: UnixTime,
    /// The hashes of the unused codes; a used code's hash is removed by the same
    /// compare-and-swap write that accepts it (REC-3).
    pub hashes: Vec<RecoveryHash>,
}

impl StoredRecoveryCodes {
    /// How many unused codes are left.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.hashes.len()
    }

    /// Whether `hash` is one of the unused codes. Every stored hash is compared, in constant
    /// time, with no early exit, so the time taken says nothing about which code matched.
    #[must_use]
    pub fn contains(&self, hash: &RecoveryHash) -> bool {
        let mut found = Choice::from(0);
        for h in &self.hashes {
            found |= h.0.ct_eq(&hash.0);
        }
        found.into()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;

    #[test]
    fn codes_have_80_bits_in_four_groups_without_look_alikes() {
        let zero = RecoveryCode::from_random(&[0; 10]);
        assert_eq!(zero.formatted().as_str(), "2222-2222-2222-2222");
        let ones = RecoveryCode::from_random(&[0xff; 10]);
        assert_eq!(ones.formatted().as_str(), "ZZZZ-ZZZZ-ZZZZ-ZZZZ");
        // Each 5-bit group picks one symbol: 0b00001 in the last position is '3'.
        let mut bytes = [0_u8; 10];
        bytes[9] = 1;
        assert_eq!(
            RecoveryCode::from_random(&bytes).formatted().as_str(),
            "2222-2222-2222-2223"
        );
        for c in ALPHABET {
            assert!(!b"01IO".contains(c));
        }
        let distinct: std::collections::HashSet<u8> = ALPHABET.iter().copied().collect();
        assert_eq!(distinct.len(), 32);
    }

    #[test]
    fn parsing_ignores_case_spaces_and_dashes_and_refuses_the_rest() {
        let code = RecoveryCode::from_random(&[0x3c; 10]);
        let shown = code.formatted();
        for typed in [
            shown.to_string(),
            shown.to_lowercase(),
            shown.replace('-', ""),
            format!("  {}\t", shown.replace('-', " - ")),
        ] {
            assert_eq!(RecoveryCode::parse(&typed), Some(code.clone()), "{typed}");
        }
        let short = &shown[..18];
        let long = format!("{}A", shown.as_str());
        let over = format!("{}{}", " ".repeat(60), shown.as_str());
        for bad in [
            "",
            short,
            &long,
            "0000-0000-0000-0000",
            "IIII-IIII-IIII-IIII",
            "ÄBCD-EFGH-JKLM-NPQR",
            &over,
        ] {
            assert_eq!(RecoveryCode::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hashes_depend_on_key_admin_and_code() {
        let (k1, k2) = (
            SealingKey::new(KeyId::new(1), [1; 32]),
            SealingKey::new(KeyId::new(2), [2; 32]),
        );
        let (a, b) = (AdminId::from_bytes([1; 16]), AdminId::from_bytes([2; 16]));
        let c = RecoveryCode::from_random(&[7; 10]);
        let d = RecoveryCode::from_random(&[8; 10]);
        let h = c.hash(&k1, a);
        assert_eq!(h, c.hash(&k1, a));
        assert_ne!(h, c.hash(&k2, a));
        assert_ne!(h, c.hash(&k1, b));
        assert_ne!(h, d.hash(&k1, a));
        let set = RecoveryCodes::new(vec![c, d.clone()]).hashed(&k1, a, UnixTime::EPOCH);
        assert!(set.contains(&d.hash(&k1, a)) && set.contains(&h));
        assert!(!set.contains(&d.hash(&k1, b)));
    }
}
