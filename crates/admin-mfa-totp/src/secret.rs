//! The shared TOTP secret.

use core::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use data_encoding::{BASE32_NOPAD, BASE32_NOPAD_NOCASE};
use rand_core::{CryptoRng, TryRng};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::TotpParams;
use crate::verify::{Engine, EngineRef};

/// Length of a generated secret in bytes (160 bits, RFC 4226 §4 R6).
pub const DEFAULT_SECRET_LEN: usize = 20;
/// Shortest secret generated or accepted, in bytes (128 bits).
pub const MIN_SECRET_LEN: usize = 16;
/// Longest secret accepted, in bytes (512 bits, the HMAC-SHA512 block-size seed of RFC 6238).
///
/// The cap keeps otpauth URIs, and so their QR codes, small enough to scan.
pub const MAX_SECRET_LEN: usize = 64;

/// Longest base32 text [`TotpSecret::from_base32`] looks at: the unpadded length of
/// [`MAX_SECRET_LEN`] bytes. Anything longer is refused before decoding.
const MAX_BASE32_LEN: usize = (MAX_SECRET_LEN * 8).div_ceil(5);
/// [`TotpSecret::from_typed_base32`] also allows spaces, up to one per character.
const MAX_TYPED_BASE32_LEN: usize = MAX_BASE32_LEN * 2;

/// Why a secret could not be created.
///
/// No variant carries secret material; lengths are in bytes of the decoded secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret is shorter than [`MIN_SECRET_LEN`] bytes.
    #[error("secret is too short: {len} bytes, at least {MIN_SECRET_LEN} required")]
    TooShort {
        /// Length of the rejected secret in bytes.
        len: usize,
    },
    /// The secret is longer than [`MAX_SECRET_LEN`] bytes.
    #[error("secret is too long: more than {MAX_SECRET_LEN} bytes")]
    TooLong,
    /// The text is not canonical unpadded RFC 4648 base32.
    #[error("secret is not canonical unpadded base32")]
    InvalidBase32,
    /// The operating system's random number generator failed.
    #[error("the operating system random number generator failed")]
    Rng,
}

/// A TOTP shared secret (the HMAC key), 16 to 64 bytes.
///
/// * Generated secrets are 20 bytes from a cryptographically secure RNG.
/// * `Debug` and `Display` print `<redacted>`; the bytes are wiped on drop (also for clones).
/// * Equality is constant time ([`subtle`]).
/// * [`TotpSecret::expose_secret_bytes`] is the only way to the raw bytes;
///   [`TotpSecret::to_base32`] gives the text an authenticator app needs.
/// * [`verify`](crate::verify) and [`generate`](crate::generate) set up the `totp-rs` HMAC
///   engine for their algorithm and digit count. From the second call on the same secret
///   object, the secret keeps that engine, so later calls with those parameters do not set
///   it up again (a server that loads the secret for each check pays the set-up each time,
///   as before). A kept engine holds a second copy of the key, on the heap, wiped on drop
///   like the first; clones start without one.
///
/// ```
/// use admin_mfa_totp::TotpSecret;
///
/// let secret = TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
/// assert_eq!(secret.expose_secret_bytes(), b"12345678901234567890");
/// assert_eq!(format!("{secret:?}"), "TotpSecret(<redacted>)");
/// assert_eq!(secret.to_base32().as_str(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TotpSecret {
    bytes: Box<[u8]>,
    /// Kept from the second use on (see the type's docs). Its key copy sits behind a `Box`
    /// inside totp-rs, so moving a `TotpSecret` copies no key bytes; totp-rs wipes it on drop.
    engine: OnceLock<Engine>,
    /// Whether an engine was already set up once for this object.
    used: AtomicBool,
}

impl Drop for TotpSecret {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl Clone for TotpSecret {
    fn clone(&self) -> Self {
        Self::from_boxed(self.bytes.clone())
    }
}

impl ZeroizeOnDrop for TotpSecret {}

impl TotpSecret {
    /// The only constructor of the struct: every path goes through it.
    fn from_boxed(bytes: Box<[u8]>) -> Self {
        Self {
            bytes,
            engine: OnceLock::new(),
            used: AtomicBool::new(false),
        }
    }

    /// The HMAC engine for `params`: the one kept in this secret (kept from the second use
    /// on), or one for this call only (first use, or other parameters than the kept one).
    /// `None` only if totp-rs refuses parameters our types already validated (fail closed).
    pub(crate) fn engine(&self, params: &TotpParams) -> Option<EngineRef<'_>> {
        if let Some(kept) = self.engine.get() {
            if kept.fits(params) {
                return Some(EngineRef::Kept(kept));
            }
        } else if self.used.swap(true, Ordering::Relaxed)
            && let Some(built) = Engine::new(&self.bytes, params, true)
        {
            // If another thread won the race, `built` is dropped (and wiped) here.
            let kept = self.engine.get_or_init(|| built);
            if kept.fits(params) {
                return Some(EngineRef::Kept(kept));
            }
        }
        Engine::new(&self.bytes, params, false).map(EngineRef::Own)
    }

    /// Generates a 20-byte secret from the operating system's RNG.
    ///
    /// This is the production constructor: it takes no RNG argument, so nothing weaker than
    /// the OS RNG can be slipped in. Use [`TotpSecret::try_generate`] to handle an OS RNG
    /// failure as an error.
    ///
    /// # Panics
    ///
    /// Panics if the operating system's RNG fails, which on supported platforms only happens
    /// when the system is badly broken (the same contract as `rand`'s thread RNG).
    #[must_use]
    pub fn generate() -> Self {
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        Self::generate_with(&mut rng)
    }

    /// Generates a 20-byte secret from the operating system's RNG, reporting its failure.
    ///
    /// # Errors
    ///
    /// [`SecretError::Rng`] if the operating system's RNG fails.
    pub fn try_generate() -> Result<Self, SecretError> {
        let mut bytes = Zeroizing::new([0_u8; DEFAULT_SECRET_LEN]);
        getrandom::SysRng
            .try_fill_bytes(bytes.as_mut_slice())
            .map_err(|_| SecretError::Rng)?;
        Ok(Self::from_boxed(Box::from(bytes.as_slice())))
    }

    /// Generates a 20-byte secret from an injected cryptographically secure RNG.
    ///
    /// The `CryptoRng` bound is the guard: a fast non-cryptographic generator does not
    /// compile.
    ///
    /// ```compile_fail
    /// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
    /// let mut weak = Xoshiro256PlusPlus::seed_from_u64(7);
    /// let _ = admin_mfa_totp::TotpSecret::generate_with(&mut weak);
    /// ```
    ///
    /// A seeded ChaCha generator is a CSPRNG and makes tests deterministic:
    ///
    /// ```
    /// use rand::{SeedableRng, rngs::ChaCha20Rng};
    /// let mut rng = ChaCha20Rng::seed_from_u64(7);
    /// let secret = admin_mfa_totp::TotpSecret::generate_with(&mut rng);
    /// assert_eq!(secret.len(), 20);
    /// ```
    #[must_use]
    pub fn generate_with<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = Zeroizing::new([0_u8; DEFAULT_SECRET_LEN]);
        rng.fill_bytes(bytes.as_mut_slice());
        Self::from_boxed(Box::from(bytes.as_slice()))
    }

    /// Imports a secret from raw bytes (copied).
    ///
    /// # Errors
    ///
    /// [`SecretError::TooShort`] below 16 bytes, [`SecretError::TooLong`] above 64.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretError> {
        check_len(bytes.len())?;
        Ok(Self::from_boxed(Box::from(bytes)))
    }

    /// Imports a secret from strict RFC 4648 base32: upper case, **no** padding, canonical
    /// trailing bits, nothing else (no spaces, no `=`).
    ///
    /// This is the form [`TotpSecret::to_base32`] and otpauth URIs use. For a key a person
    /// typed, see [`TotpSecret::from_typed_base32`].
    ///
    /// # Errors
    ///
    /// [`SecretError::InvalidBase32`] for anything that is not canonical unpadded base32,
    /// [`SecretError::TooShort`] / [`SecretError::TooLong`] for the decoded length. Text
    /// longer than the encoding of 64 bytes is refused before decoding.
    pub fn from_base32(text: &str) -> Result<Self, SecretError> {
        decode_base32(&BASE32_NOPAD, text.as_bytes())
    }

    /// Imports a secret a person typed: base32 without padding, with ASCII spaces ignored and
    /// lower-case letters accepted (`"gezd gnbv …"`). Trailing bits must still be canonical.
    ///
    /// # Errors
    ///
    /// As [`TotpSecret::from_base32`].
    pub fn from_typed_base32(text: &str) -> Result<Self, SecretError> {
        if text.len() > MAX_TYPED_BASE32_LEN {
            return Err(SecretError::TooLong);
        }
        // Allocated once at full size: growing would leave unwiped copies behind.
        let mut compact = Zeroizing::new(Vec::with_capacity(text.len()));
        compact.extend(text.bytes().filter(|b| *b != b' '));
        decode_base32(&BASE32_NOPAD_NOCASE, &compact)
    }

    /// Imports the `secret` of an otpauth URI another tool wrote
    /// ([`OtpauthUri::parse_lenient`](crate::OtpauthUri::parse_lenient)): base32 in any case,
    /// unpadded or with RFC 4648 `=` padding to a multiple of 8 characters. Trailing bits must
    /// be canonical.
    pub(crate) fn from_padded_base32_nocase(text: &str) -> Result<Self, SecretError> {
        let unpadded = text.trim_end_matches('=');
        let padding = text.len() - unpadded.len();
        // Padding, when present, completes the last 8-character group; `decode_len` below
        // refuses the unpadded lengths that no byte count produces.
        if padding > 0 && (padding > 6 || !text.len().is_multiple_of(8)) {
            return Err(SecretError::InvalidBase32);
        }
        decode_base32(&BASE32_NOPAD_NOCASE, unpadded.as_bytes())
    }

    /// The secret as unpadded upper-case base32, the form authenticator apps take.
    #[must_use]
    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE32_NOPAD.encode(&self.bytes))
    }

    /// The secret as [`TotpSecret::to_base32`] in groups of four characters separated by
    /// spaces (`"GEZD GNBV GY3T …"`), the easiest form to read off a screen and type into an
    /// app by hand. [`TotpSecret::from_typed_base32`] reads it back.
    ///
    /// ```
    /// use admin_mfa_totp::TotpSecret;
    ///
    /// let secret = TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// let grouped = secret.to_base32_grouped();
    /// assert_eq!(grouped.as_str(), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
    /// assert_eq!(TotpSecret::from_typed_base32(&grouped)?, secret);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn to_base32_grouped(&self) -> Zeroizing<String> {
        let plain = self.to_base32();
        // Sized once (one space per four characters at most), so no reallocation leaves a
        // copy of the secret behind.
        let mut grouped = Zeroizing::new(String::with_capacity(plain.len() + plain.len() / 4));
        for (i, c) in plain.chars().enumerate() {
            if i > 0 && i.is_multiple_of(4) {
                grouped.push(' ');
            }
            grouped.push(c);
        }
        grouped
    }

    /// The raw key bytes. This is the only accessor to them: keep the result short-lived
    /// and never log it.
    #[must_use]
    pub fn expose_secret_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Length of the secret in bytes (16 to 64).
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always `false`: a secret has at least 16 bytes. Present for API symmetry with `len`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

fn check_len(len: usize) -> Result<(), SecretError> {
    if len < MIN_SECRET_LEN {
        Err(SecretError::TooShort { len })
    } else if len > MAX_SECRET_LEN {
        Err(SecretError::TooLong)
    } else {
        Ok(())
    }
}

fn decode_base32(
    encoding: &data_encoding::Encoding,
    text: &[u8],
) -> Result<TotpSecret, SecretError> {
    if text.len() > MAX_BASE32_LEN {
        return Err(SecretError::TooLong);
    }
    let len = encoding
        .decode_len(text.len())
        .map_err(|_| SecretError::InvalidBase32)?;
    let mut buf = Zeroizing::new([0_u8; MAX_SECRET_LEN]);
    let out = buf.get_mut(..len).ok_or(SecretError::TooLong)?;
    let written = encoding
        .decode_mut(text, out)
        .map_err(|_| SecretError::InvalidBase32)?;
    let bytes = out.get(..written).ok_or(SecretError::InvalidBase32)?;
    TotpSecret::from_bytes(bytes)
}

impl PartialEq for TotpSecret {
    fn eq(&self, other: &Self) -> bool {
        // Lengths are not secret; `subtle` compares equal-length slices in constant time.
        self.bytes.ct_eq(&other.bytes).into()
    }
}

impl Eq for TotpSecret {}

impl ConstantTimeEq for TotpSecret {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.bytes.ct_eq(&other.bytes)
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl fmt::Display for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;
    use std::collections::HashSet;

    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn t_sec_1_generated_secrets_are_distinct_and_20_bytes() {
        let mut rng = ChaCha20Rng::seed_from_u64(0x5eed);
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let s = TotpSecret::generate_with(&mut rng);
            assert_eq!(s.len(), DEFAULT_SECRET_LEN);
            assert!(seen.insert(s.expose_secret_bytes().to_vec()));
        }
        // Deterministic under a seeded test RNG.
        let a = TotpSecret::generate_with(&mut ChaCha20Rng::seed_from_u64(1));
        let b = TotpSecret::generate_with(&mut ChaCha20Rng::seed_from_u64(1));
        let c = TotpSecret::generate_with(&mut ChaCha20Rng::seed_from_u64(2));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn os_rng_generation() {
        let a = TotpSecret::generate();
        let b = TotpSecret::try_generate().unwrap();
        assert_eq!(a.len(), 20);
        assert_eq!(b.len(), 20);
        assert_ne!(a, b);
    }

    #[test]
    fn t_sec_2_length_floor_and_cap() {
        assert_eq!(
            TotpSecret::from_bytes(&[7; 10]),
            Err(SecretError::TooShort { len: 10 })
        );
        assert_eq!(
            TotpSecret::from_bytes(&[7; 15]),
            Err(SecretError::TooShort { len: 15 })
        );
        assert_eq!(TotpSecret::from_bytes(&[7; 16]).unwrap().len(), 16);
        assert_eq!(TotpSecret::from_bytes(&[7; 64]).unwrap().len(), 64);
        assert_eq!(TotpSecret::from_bytes(&[7; 65]), Err(SecretError::TooLong));
        assert_eq!(
            TotpSecret::from_bytes(&[]),
            Err(SecretError::TooShort { len: 0 })
        );
        // The Key Uri Format example is 80 bits: refused.
        assert_eq!(
            TotpSecret::from_base32("JBSWY3DPEHPK3PXP"),
            Err(SecretError::TooShort { len: 10 })
        );
    }

    #[test]
    fn rfc_4648_vectors_unpadded() {
        // Our encoder emits the unpadded forms of RFC 4648 §10 (checked on data-encoding directly,
        // since secrets below 16 bytes cannot exist).
        for (plain, enc) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(BASE32_NOPAD.encode(plain.as_bytes()), enc);
        }
    }

    #[test]
    fn base32_seeds_and_lengths() {
        let s = TotpSecret::from_bytes(RFC_SEED).unwrap();
        assert_eq!(s.to_base32().as_str(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        for (n, chars) in [(16, 26), (20, 32), (32, 52), (64, 103)] {
            let s = TotpSecret::from_bytes(&vec![0xA5; n]).unwrap();
            let text = s.to_base32();
            assert_eq!(text.len(), chars, "{n} bytes");
            assert_eq!(TotpSecret::from_base32(&text).unwrap(), s);
        }
    }

    #[test]
    fn strict_base32_refuses_noncanonical_forms() {
        let good = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert!(TotpSecret::from_base32(good).is_ok());
        for bad in [
            "gezdgnbvgy3tqojqgezdgnbvgy3tqojq",        // lower case
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ", // spaces
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ=",       // padding
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1",        // '1' is not base32
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQG",       // impossible length (33)
        ] {
            assert_eq!(
                TotpSecret::from_base32(bad),
                Err(SecretError::InvalidBase32),
                "{bad}"
            );
        }
        // 26 chars = 16 bytes + 2 trailing bits, which must be zero ("A" ends in 0 bits, "B" not).
        let canonical = "AAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(TotpSecret::from_base32(canonical).is_ok());
        assert_eq!(
            TotpSecret::from_base32("AAAAAAAAAAAAAAAAAAAAAAAAAB"),
            Err(SecretError::InvalidBase32)
        );
        // Padded form of a 16-byte secret is refused as well.
        assert_eq!(
            TotpSecret::from_base32("AAAAAAAAAAAAAAAAAAAAAAAAAA======"),
            Err(SecretError::InvalidBase32)
        );
        // Over-long input is refused before decoding.
        assert_eq!(
            TotpSecret::from_base32(&"A".repeat(10_000)),
            Err(SecretError::TooLong)
        );
    }

    #[test]
    fn typed_base32_is_lenient_only_in_case_and_spaces() {
        let s = TotpSecret::from_typed_base32("gezd gnbv gy3t qojq GEZD GNBV GY3T QOJQ").unwrap();
        assert_eq!(s.expose_secret_bytes(), RFC_SEED);
        assert_eq!(
            TotpSecret::from_typed_base32("gezd-gnbv-gy3t-qojq-gezd-gnbv-gy3t-qojq"),
            Err(SecretError::InvalidBase32)
        );
        assert_eq!(
            TotpSecret::from_typed_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ===="),
            Err(SecretError::InvalidBase32)
        );
        assert_eq!(
            TotpSecret::from_typed_base32(&" ".repeat(100_000)),
            Err(SecretError::TooLong)
        );
    }

    #[test]
    fn debug_display_redact_and_clone_equality() {
        let s = TotpSecret::from_bytes(RFC_SEED).unwrap();
        let c = s.clone();
        assert_eq!(s, c);
        for text in [format!("{s:?}"), format!("{s}"), format!("{c:#?}")] {
            assert!(text.contains("redacted"));
            assert!(!text.contains("1234"));
            assert!(!text.contains("GEZD"));
            assert!(!text.contains("3132"));
        }
        let other = TotpSecret::from_bytes(b"12345678901234567891").unwrap();
        assert_ne!(s, other);
        // Different lengths are unequal, never a panic.
        let longer = TotpSecret::from_bytes(b"123456789012345678901").unwrap();
        assert_ne!(s, longer);
    }
}
