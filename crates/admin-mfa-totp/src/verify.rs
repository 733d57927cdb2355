//! Code generation and replay-proof verification.

use core::fmt::{self, Write as _};

use subtle::{Choice, ConditionallySelectable};
use zeroize::{Zeroize, Zeroizing};

use crate::{TotpParams, TotpSecret};

/// Longest code input [`verify`] looks at, in bytes. Longer input is [`VerifyError::Malformed`]
/// before any other work (an 8-digit code with generous spacing fits easily).
pub const MAX_CODE_INPUT_LEN: usize = 32;

/// Longest code, in digits.
const MAX_DIGITS: usize = 8;

/// A TOTP time step: `floor(unix_time / period)`, the RFC 6238 counter `T`.
///
/// [`verify`] returns the step a code matched; store it as the authenticator's
/// `last_used_step` so the code (and any older one) cannot be used again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct TimeStep(u64);

impl TimeStep {
    /// Wraps a raw step value.
    #[must_use]
    pub const fn new(step: u64) -> Self {
        Self(step)
    }

    /// The raw step value.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// Why a code was not accepted.
///
/// All three must reach the end user as the same generic "invalid code": the distinction
/// is for audit logs and counters only. No variant carries the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum VerifyError {
    /// The input is not exactly `digits` ASCII digits once ASCII spaces are removed
    /// (this includes the empty string and over-long input).
    #[error("malformed code")]
    Malformed,
    /// No step in the window produces this code.
    #[error("code does not match")]
    Mismatch,
    /// The code matched, but only steps at or before `last_used_step`: a replay.
    #[error("code was already used")]
    Replayed,
}

/// Exactly `digits` ASCII digits, on the stack, wiped on drop.
struct CodeBuf {
    bytes: [u8; MAX_DIGITS],
    len: usize,
}

impl CodeBuf {
    const fn empty() -> Self {
        Self {
            bytes: [0; MAX_DIGITS],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

impl fmt::Write for CodeBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        // At most eight bytes: a plain loop, no `memcpy` call.
        for (d, &b) in dst.iter_mut().zip(s.as_bytes()) {
            *d = b;
        }
        self.len = end;
        Ok(())
    }
}

/// The engine a secret keeps, or one built for a single call.
pub(crate) enum EngineRef<'a> {
    /// Kept in the [`TotpSecret`].
    Kept(&'a Engine),
    /// Built for this call (first use of the secret, or parameters other than those of the
    /// engine it keeps); wiped on drop.
    Own(Engine),
}

impl core::ops::Deref for EngineRef<'_> {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        match self {
            Self::Kept(engine) => engine,
            Self::Own(engine) => engine,
        }
    }
}

impl Drop for CodeBuf {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

/// Strict normalisation: bound the length, drop ASCII spaces, then require exactly
/// `digits` ASCII digits.
fn normalize_code(code: &str, digits: u8) -> Result<CodeBuf, VerifyError> {
    if code.len() > MAX_CODE_INPUT_LEN {
        return Err(VerifyError::Malformed);
    }
    let mut out = CodeBuf::empty();
    for &b in code.as_bytes() {
        match b {
            b' ' => {}
            b'0'..=b'9' => {
                let slot = out.bytes.get_mut(out.len).ok_or(VerifyError::Malformed)?;
                *slot = b;
                out.len += 1;
            }
            _ => return Err(VerifyError::Malformed),
        }
    }
    if out.len != usize::from(digits) {
        return Err(VerifyError::Malformed);
    }
    Ok(out)
}

/// HMAC and dynamic truncation come from `totp-rs`; this only feeds it one counter at a time.
///
/// A [`TotpSecret`] keeps one once it is used a second time (see its docs).
pub(crate) struct Engine {
    algorithm: crate::Algorithm,
    digits: u8,
    totp: totp_rs::Totp,
}

impl Engine {
    /// An engine to keep (`keep`) or for one call. `None` only if totp-rs refuses parameters
    /// our types already validated (fail closed).
    pub(crate) fn new(key: &[u8], params: &TotpParams, keep: bool) -> Option<Self> {
        let mut stack = Zeroizing::new([0_u8; crate::DEFAULT_SECRET_LEN]);
        let secret = if !keep && key.len() == stack.len() {
            // For one call, the default 20-byte key goes on the stack (no allocation); the
            // local copy is wiped when `stack` drops, totp-rs wipes its own on drop.
            stack.copy_from_slice(key);
            totp_rs::Secret::new_stack(*stack)
        } else {
            // Copied straight into a heap buffer that totp-rs wipes on drop: moving a kept
            // engine (or the secret that keeps it) never copies key bytes.
            totp_rs::Secret::from(key)
        };
        totp_rs::Builder::new()
            .with_algorithm(params.algorithm().to_totp_rs())
            .with_digits(params.digits())
            .with_secret(secret)
            // A step of one second turns totp-rs's `generate(t)` into HOTP at counter `t`.
            .with_step_duration(1)
            .with_skew(0)
            .build()
            .ok()
            .map(|totp| Self {
                algorithm: params.algorithm(),
                digits: params.digits(),
                totp,
            })
    }

    /// Whether this engine produces codes for `params` (the period and window are applied by
    /// the caller, outside totp-rs).
    pub(crate) fn fits(&self, params: &TotpParams) -> bool {
        self.algorithm == params.algorithm() && self.digits == params.digits()
    }

    /// Whether `input` (exactly `digits` ASCII digits, as [`normalize_code`] leaves it) is
    /// the code at counter `step`. totp-rs compares the two numbers in constant time; no
    /// text of the expected code is made.
    fn matches(&self, step: u64, input: &str) -> Choice {
        // With a step of one second and no skew, `check` tries the one counter `step`.
        Choice::from(u8::from(self.totp.check(input, step).is_some()))
    }

    fn code_at(&self, step: u64) -> CodeBuf {
        let token = self.totp.generate(step);
        let mut out = CodeBuf::empty();
        if write!(out, "{token}").is_err() {
            // Cannot happen for 6 or 8 digits; an empty buffer never equals a normalised code.
            out.bytes.zeroize();
            out.len = 0;
        }
        out
    }
}

/// Checks `code` against `secret` at server time `now_unix_secs`.
///
/// * The input is normalised strictly: its length is bounded first
///   ([`MAX_CODE_INPUT_LEN`]), ASCII spaces are removed, and exactly `params.digits()` ASCII
///   digits must remain. Anything else (empty, signs, letters, tabs, newlines, full-width or
///   other Unicode digits) is [`VerifyError::Malformed`], before any HMAC is computed.
/// * Every step of the window (`[T − 1, T]` by default, `[T − 1, T + 1]` with
///   [`Window::PlusMinusOne`](crate::Window::PlusMinusOne)) is computed and compared in
///   constant time, with no early exit. At `T = 0` the step before is skipped.
/// * Only steps newer than `last_used_step` are accepted; if several match, the newest wins.
///   The returned step must be stored (compare-and-set) as the new `last_used_step`.
///
/// Never panics, for any input or time.
///
/// # Errors
///
/// [`VerifyError::Malformed`], [`VerifyError::Mismatch`] or [`VerifyError::Replayed`]. Show
/// all three to the user as the same "invalid code".
///
/// ```
/// use admin_mfa_totp::{TotpParams, TotpSecret, VerifyError, generate, verify};
///
/// let secret = TotpSecret::generate();
/// let params = TotpParams::default();
/// let now = 1_700_000_000;
/// let code = generate(&secret, &params, now);
///
/// let step = verify(&secret, &params, &code, now, None)?;
/// assert_eq!(verify(&secret, &params, &code, now, Some(step)), Err(VerifyError::Replayed));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify(
    secret: &TotpSecret,
    params: &TotpParams,
    code: &str,
    now_unix_secs: u64,
    last_used_step: Option<TimeStep>,
) -> Result<TimeStep, VerifyError> {
    let input = normalize_code(code, params.digits())?;
    // ASCII digits only, so always text; read as text once for every step of the window.
    let input_text = core::str::from_utf8(input.as_bytes()).map_err(|_| VerifyError::Malformed)?;
    let engine = secret.engine(params).ok_or(VerifyError::Mismatch)?;

    let current = params.step_at(now_unix_secs).get();
    let (back, ahead) = params.window().as_offsets();
    let first = current.saturating_sub(back);
    let last = current.checked_add(ahead).unwrap_or(current);

    let no = Choice::from(0);
    let (mut any_match, mut fresh_match) = (no, no);
    let mut newest_fresh = 0_u64;
    for step in first..=last {
        let matched = engine.matches(step, input_text);
        // Which steps are fresh depends only on the clock and the stored step, not the code.
        let fresh = Choice::from(u8::from(last_used_step.is_none_or(|used| step > used.0)));
        let take = matched & fresh;
        // Ascending order: a later (newer) fresh match overwrites an older one.
        newest_fresh.conditional_assign(&step, take);
        fresh_match |= take;
        any_match |= matched;
    }

    if bool::from(fresh_match) {
        Ok(TimeStep(newest_fresh))
    } else if bool::from(any_match) {
        Err(VerifyError::Replayed)
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// The code an authenticator app shows at `now_unix_secs`, zero-padded to `params.digits()`.
///
/// ```
/// use admin_mfa_totp::{TotpParams, TotpSecret, generate};
///
/// let secret = TotpSecret::from_bytes(b"12345678901234567890")?;
/// assert_eq!(generate(&secret, &TotpParams::default(), 59).as_str(), "287082");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn generate(secret: &TotpSecret, params: &TotpParams, now_unix_secs: u64) -> Zeroizing<String> {
    generate_at_step(secret, params, params.step_at(now_unix_secs))
}

/// The code for one time step (with SHA1 and 6 digits this is HOTP at counter `step`).
///
/// Returns an empty string only if the underlying HMAC engine refused the validated
/// parameters, which the types rule out; an empty string is never accepted by [`verify`].
#[must_use]
pub fn generate_at_step(
    secret: &TotpSecret,
    params: &TotpParams,
    step: TimeStep,
) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::with_capacity(MAX_DIGITS));
    if let Some(engine) = secret.engine(params) {
        let code = engine.code_at(step.get());
        text.extend(code.as_bytes().iter().map(|&b| char::from(b)));
    }
    text
}

#[cfg(any(test, feature = "_fuzzing"))]
pub(crate) fn normalize_for_fuzzing(code: &str, digits: u8) -> Option<Vec<u8>> {
    normalize_code(code, digits)
        .ok()
        .map(|c| c.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, Window};
    use hmac::{Hmac, KeyInit, Mac};

    const SEED_20: &[u8] = b"12345678901234567890";
    const SEED_32: &[u8] = b"12345678901234567890123456789012";
    const SEED_64: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    /// RFC 4226 Appendix D: (count, HMAC-SHA1 hex, truncated decimal, HOTP).
    const RFC4226: [(u64, &str, u32, &str); 10] = [
        (
            0,
            "cc93cf18508d94934c64b65d8ba7667fb7cde4b0",
            1_284_755_224,
            "755224",
        ),
        (
            1,
            "75a48a19d4cbe100644e8ac1397eea747a2d33ab",
            1_094_287_082,
            "287082",
        ),
        (
            2,
            "0bacb7fa082fef30782211938bc1c5e70416ff44",
            137_359_152,
            "359152",
        ),
        (
            3,
            "66c28227d03a2d5529262ff016a1e6ef76557ece",
            1_726_969_429,
            "969429",
        ),
        (
            4,
            "a904c900a64b35909874b33e61c5938a8e15ed1c",
            1_640_338_314,
            "338314",
        ),
        (
            5,
            "a37e783d7b7233c083d4f62926c7a25f238d0316",
            868_254_676,
            "254676",
        ),
        (
            6,
            "bc9cd28561042c83f219324d3c607256c03272ae",
            1_918_287_922,
            "287922",
        ),
        (
            7,
            "a4fb960c0bc06e1eabb804e5b397cdc4b45596fa",
            82_162_583,
            "162583",
        ),
        (
            8,
            "1b3c89f65e6c9e883012052823443f048b4332db",
            673_399_871,
            "399871",
        ),
        (
            9,
            "1637409809a679dc698207310c8c7fc07290d9e5",
            645_520_489,
            "520489",
        ),
    ];

    /// RFC 6238 Appendix B: (time, T, TOTP, mode).
    const RFC6238: [(u64, u64, &str, Algorithm); 18] = [
        (59, 0x1, "94287082", Algorithm::Sha1),
        (59, 0x1, "46119246", Algorithm::Sha256),
        (59, 0x1, "90693936", Algorithm::Sha512),
        (1_111_111_109, 0x0235_23EC, "07081804", Algorithm::Sha1),
        (1_111_111_109, 0x0235_23EC, "68084774", Algorithm::Sha256),
        (1_111_111_109, 0x0235_23EC, "25091201", Algorithm::Sha512),
        (1_111_111_111, 0x0235_23ED, "14050471", Algorithm::Sha1),
        (1_111_111_111, 0x0235_23ED, "67062674", Algorithm::Sha256),
        (1_111_111_111, 0x0235_23ED, "99943326", Algorithm::Sha512),
        (1_234_567_890, 0x0273_EF07, "89005924", Algorithm::Sha1),
        (1_234_567_890, 0x0273_EF07, "91819424", Algorithm::Sha256),
        (1_234_567_890, 0x0273_EF07, "93441116", Algorithm::Sha512),
        (2_000_000_000, 0x03F9_40AA, "69279037", Algorithm::Sha1),
        (2_000_000_000, 0x03F9_40AA, "90698825", Algorithm::Sha256),
        (2_000_000_000, 0x03F9_40AA, "38618901", Algorithm::Sha512),
        (20_000_000_000, 0x27BC_86AA, "65353130", Algorithm::Sha1),
        (20_000_000_000, 0x27BC_86AA, "77737706", Algorithm::Sha256),
        (20_000_000_000, 0x27BC_86AA, "47863826", Algorithm::Sha512),
    ];

    fn seed_for(alg: Algorithm) -> TotpSecret {
        let seed = match alg {
            Algorithm::Sha1 => SEED_20,
            Algorithm::Sha256 => SEED_32,
            Algorithm::Sha512 => SEED_64,
        };
        TotpSecret::from_bytes(seed).unwrap()
    }

    fn params(alg: Algorithm, digits: u8) -> TotpParams {
        TotpParams::builder()
            .algorithm(alg)
            .digits(digits)
            .build()
            .unwrap()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 4226 §5.3 dynamic truncation, written out in the test as the reference.
    fn truncate(mac: &[u8]) -> u32 {
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        u32::from_be_bytes([
            mac[offset],
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]) & 0x7fff_ffff
    }

    #[test]
    fn t_vec_1_hotp_counts_0_to_9() {
        let secret = TotpSecret::from_bytes(SEED_20).unwrap();
        let p = TotpParams::default();
        for (count, _, _, hotp) in RFC4226 {
            assert_eq!(
                generate_at_step(&secret, &p, TimeStep::new(count)).as_str(),
                hotp,
                "count {count}"
            );
        }
    }

    #[test]
    fn t_vec_2_intermediate_hmac_with_the_hmac_crate() {
        for (count, mac_hex, _, _) in RFC4226 {
            let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(SEED_20).unwrap();
            mac.update(&count.to_be_bytes());
            let out = mac.finalize().into_bytes();
            assert_eq!(hex(&out), mac_hex, "count {count}");
        }
    }

    #[test]
    fn t_vec_3_truncation_as_numbers() {
        let secret = TotpSecret::from_bytes(SEED_20).unwrap();
        let p8 = params(Algorithm::Sha1, 8);
        for (count, _, truncated, _) in RFC4226 {
            let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(SEED_20).unwrap();
            mac.update(&count.to_be_bytes());
            assert_eq!(
                truncate(&mac.finalize().into_bytes()),
                truncated,
                "count {count}"
            );
            // Our (totp-rs) truncation agrees at 8 digits, compared as a number.
            let ours: u32 = generate_at_step(&secret, &p8, TimeStep::new(count))
                .parse()
                .unwrap();
            assert_eq!(ours, truncated % 100_000_000, "count {count}");
        }
    }

    #[test]
    fn t_vec_4_all_18_rfc_6238_rows() {
        for (time, t, totp, alg) in RFC6238 {
            let p = params(alg, 8);
            let secret = seed_for(alg);
            assert_eq!(p.step_at(time), TimeStep::new(t), "T at {time}");
            assert_eq!(
                generate(&secret, &p, time).as_str(),
                totp,
                "{alg} at {time}"
            );
            assert_eq!(verify(&secret, &p, totp, time, None), Ok(TimeStep::new(t)));
        }
    }

    #[test]
    fn t_vec_5_negative_vectors() {
        for (time, _, totp, alg) in RFC6238 {
            let p = params(alg, 8);
            let secret = seed_for(alg);
            let last = totp.as_bytes()[7] - b'0';
            for wrong_last in [(last + 1) % 10, (last + 9) % 10] {
                let wrong = format!("{}{wrong_last}", &totp[..7]);
                assert_eq!(
                    verify(&secret, &p, &wrong, time, None),
                    Err(VerifyError::Mismatch),
                    "{alg} at {time}: {wrong}"
                );
            }
            // 6-digit variants are the last 6 digits of the 8-digit values.
            let p6 = params(alg, 6);
            assert_eq!(generate(&secret, &p6, time).as_str(), &totp[2..]);
            assert!(verify(&secret, &p6, &totp[2..], time, None).is_ok());
        }
        // Erratum guard: the 20-byte seed with SHA256/SHA512 gives other values at T = 59.
        let short = TotpSecret::from_bytes(SEED_20).unwrap();
        let sha256 = generate(&short, &params(Algorithm::Sha256, 8), 59);
        assert_eq!(sha256.as_str(), "32247374");
        assert_ne!(sha256.as_str(), "46119246");
        let sha512 = generate(&short, &params(Algorithm::Sha512, 8), 59);
        assert_eq!(sha512.as_str(), "69342147");
        assert_ne!(sha512.as_str(), "90693936");
    }

    #[test]
    fn newest_fresh_step_wins_and_replay_is_distinguished() {
        let secret = TotpSecret::from_bytes(SEED_20).unwrap();
        let p = TotpParams::default().with_window(Window::PlusMinusOne);
        let now = 30 * 1000 + 10;
        for (offset, step) in [(-1_i64, 999_u64), (0, 1000), (1, 1001)] {
            let code = generate_at_step(&secret, &p, TimeStep::new(step));
            assert_eq!(
                verify(&secret, &p, &code, now, None),
                Ok(TimeStep::new(step)),
                "{offset}"
            );
            assert_eq!(
                verify(&secret, &p, &code, now, Some(TimeStep::new(step))),
                Err(VerifyError::Replayed)
            );
            assert_eq!(
                verify(&secret, &p, &code, now, Some(TimeStep::new(step - 1))),
                Ok(TimeStep::new(step))
            );
        }
    }

    #[test]
    fn kept_engine_never_serves_other_parameters() {
        // One secret object used with parameters the kept engine was not built for, in both
        // orders: every call must give the RFC 6238 value for its own parameters.
        let secret = TotpSecret::from_bytes(SEED_20).unwrap();
        let p8 = params(Algorithm::Sha1, 8);
        let p6 = TotpParams::default();
        let p256 = params(Algorithm::Sha256, 8);
        for _ in 0..2 {
            assert_eq!(generate(&secret, &p6, 59).as_str(), "287082");
            assert_eq!(generate(&secret, &p8, 59).as_str(), "94287082");
            assert_eq!(generate(&secret, &p256, 59).as_str(), "32247374");
            assert_eq!(
                verify(&secret, &p8, "94287082", 59, None),
                Ok(TimeStep::new(1))
            );
            assert_eq!(
                verify(&secret, &p6, "287082", 59, None),
                Ok(TimeStep::new(1))
            );
            assert_eq!(
                verify(&secret, &p6, "94287082", 59, None),
                Err(VerifyError::Malformed)
            );
            assert_eq!(
                verify(&secret, &p256, "94287082", 59, None),
                Err(VerifyError::Mismatch)
            );
        }
        // A clone starts without an engine and agrees; so do secrets first used on threads.
        let clone = secret.clone();
        assert_eq!(generate(&clone, &p8, 59).as_str(), "94287082");
        let owner = TotpSecret::from_bytes(SEED_20).unwrap();
        let shared = &owner;
        std::thread::scope(|scope| {
            let handles: Vec<_> = [p6, p8, p6, p8]
                .into_iter()
                .map(|p| scope.spawn(move || generate(shared, &p, 59).to_string()))
                .collect();
            let codes: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            assert_eq!(codes, ["287082", "94287082", "287082", "94287082"]);
        });
    }

    #[test]
    fn code_buf_never_overflows() {
        let mut b = CodeBuf::empty();
        assert!(write!(b, "12345678").is_ok());
        assert!(write!(b, "9").is_err());
        assert_eq!(b.as_bytes(), b"12345678");
    }
}
