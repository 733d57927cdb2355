//! RFC 6238 TOTP for admin MFA: secrets, otpauth URIs, QR codes and replay-proof verification.
//!
//! This crate is pure (no I/O, no clock, no global RNG): time is a parameter and randomness
//! comes from the operating system or an injected CSPRNG. It provides
//!
//! * [`TotpSecret`]: a 16–64 byte key, 20 bytes from the OS RNG by default, redacted in
//!   `Debug`/`Display`, wiped on drop, compared in constant time;
//! * [`TotpParams`]: SHA1/SHA256/SHA512, 6 or 8 digits, 15–120 s, and a [`Window`] of
//!   `[T − 1, T]` (default) or `±1`, validated when built;
//! * [`verify`]: strict input, constant-time comparison of every candidate step, and the
//!   matched [`TimeStep`] as the result so callers can refuse replays;
//! * [`OtpauthUri`]: the Key URI Format, emitted and parsed strictly, plus a lenient import
//!   ([`OtpauthUri::parse_lenient`]) for the variations other tools write;
//! * QR codes as SVG and terminal text (feature `qr`) and PNG (feature `qr-png`).
//!
//! HMAC and dynamic truncation come from `totp-rs`; base32 from `data-encoding`.
//!
//! # Getting started
//!
//! ```
//! use admin_mfa_totp::{OtpauthUri, TotpParams, TotpSecret, VerifyError, generate, verify};
//!
//! // Enrolment: a fresh secret and the URI the authenticator app scans.
//! let secret = TotpSecret::generate();
//! let params = TotpParams::default();
//! let uri = OtpauthUri::new("ACME Co", "admin@example.com", secret.clone(), params)?;
//! assert!(uri.to_uri().starts_with("otpauth://totp/ACME%20Co:admin%40example.com?secret="));
//!
//! // Login: the server clock, the code the user typed, and the last step used.
//! let now = 1_700_000_000;
//! let typed = generate(&secret, &params, now); // what the app shows
//! let step = verify(&secret, &params, &typed, now, None)?;
//! // Store `step` as `last_used_step` (atomically); the same code is now refused.
//! assert_eq!(verify(&secret, &params, &typed, now, Some(step)), Err(VerifyError::Replayed));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Feature flags
//!
//! All off by default.
//!
//! * `serde`: `Serialize`/`Deserialize` for [`TotpParams`] (validated on the way in),
//!   [`Algorithm`], [`Window`] and [`TimeStep`]. Never for [`TotpSecret`] or [`OtpauthUri`].
//! * `qr`: QR codes as SVG and as terminal text (Unicode half blocks), through `qrcode`.
//! * `qr-png`: QR codes as PNG (implies `qr`); adds `image` with only its PNG codec.
//! * `_fuzzing` (internal, not a public API): the check functions the `fuzz/` targets call.
//!
//! # Security considerations
//!
//! * **Replay.** [`verify`] accepts only steps newer than `last_used_step` and returns the step
//!   it matched. The caller must store that step with an atomic compare-and-set
//!   (`last_step < $new`), or two concurrent requests can both accept one code.
//! * **One answer.** [`VerifyError::Malformed`], [`VerifyError::Mismatch`] and
//!   [`VerifyError::Replayed`] must all look the same to the user, and all count as failures
//!   for rate limiting (which this crate does not do: it has no state).
//! * **Window.** `[T − 1, T]` by default (a code lives at most 60 s at 30 s steps); `±1` is
//!   the widest setting that can be expressed.
//! * **Timing.** Every candidate step is generated (totp-rs) and compared with the input in
//!   constant time (`subtle`), with no early exit; the input length is bounded before any work.
//!   A [`TotpSecret`] used more than once keeps totp-rs's HMAC engine, so reusing one secret
//!   object skips that set-up; the kept engine's key copy is on the heap and wiped on drop.
//! * **Secrets.** [`TotpSecret`], the otpauth URI, its QR images and generated codes are
//!   secret: they are returned in zeroizing containers and must never be logged, cached or
//!   stored in clear. Only SHA1 / 6 digits / 30 s works with every authenticator app.
//!   Buffers inside `qrcode` and `image` while a QR code is rendered are not wiped.
//! * **Panics.** No function panics on any input or time, with one documented exception:
//!   [`TotpSecret::generate`] panics if the OS RNG fails ([`TotpSecret::try_generate`]
//!   reports it instead).

mod otpauth;
mod params;
#[cfg(feature = "qr")]
mod qr;
mod secret;
mod verify;

#[cfg(any(test, feature = "_fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;

pub use otpauth::{MAX_ACCOUNT_LEN, MAX_ISSUER_LEN, MAX_URI_LEN, OtpauthUri, UriError};
pub use params::{
    Algorithm, MAX_PERIOD, MIN_PERIOD, ParamsError, TotpParams, TotpParamsBuilder, Window,
};
#[cfg(feature = "qr-png")]
pub use qr::{MIN_PNG_MODULE_PX, PNG_QUIET_ZONE_MODULES};
#[cfg(feature = "qr")]
pub use qr::{QrError, TerminalStyle};
pub use secret::{DEFAULT_SECRET_LEN, MAX_SECRET_LEN, MIN_SECRET_LEN, SecretError, TotpSecret};
pub use verify::{MAX_CODE_INPUT_LEN, TimeStep, VerifyError, generate, generate_at_step, verify};

/// The README's example, run as a doctest so it keeps up with the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
