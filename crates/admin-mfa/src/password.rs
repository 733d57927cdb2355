//! Password hashing and verification with Argon2id (docs/SECURITY.md PWD-1..3, ENU-2, D7).

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use admin_mfa_lifecycle::PasswordHash;
use argon2::{Algorithm, Argon2, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::{OnceCell, Semaphore};
use zeroize::Zeroizing;

/// The longest password accepted, in bytes (4 KiB, docs/SECURITY.md D7).
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// Salt length in bytes (PWD-1 asks for at least 16).
const SALT_BYTES: usize = 16;

/// A password as the user typed it.
///
/// Held exactly as received: `"Password"`, `"password"`, `"password "` and the NFC and NFD
/// forms of one text are four different passwords (D7). Input longer than
/// [`MAX_PASSWORD_BYTES`] is refused when the value is built, so an over-long password never
/// reaches argon2. The bytes are zeroised on drop; `Debug` prints `Password(<redacted>)`
/// and there is no `Display`.
///
/// ```
/// use admin_mfa::{MAX_PASSWORD_BYTES, Password};
///
/// let pw = Password::new("hunter2")?;
/// assert_eq!(format!("{pw:?}"), "Password(<redacted>)");
/// assert!(Password::new(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Copies `input` into a new password.
    ///
    /// # Errors
    ///
    /// [`PasswordError::TooLong`] if `input` is longer than [`MAX_PASSWORD_BYTES`] bytes;
    /// nothing is copied then.
    pub fn new(input: &str) -> Result<Self, PasswordError> {
        if input.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(Zeroizing::new(input.to_owned())))
    }

    /// Takes ownership of `input`; it is zeroised when the password is dropped, or at once
    /// if it is refused.
    ///
    /// # Errors
    ///
    /// [`PasswordError::TooLong`] as for [`Password::new`].
    pub fn from_string(input: String) -> Result<Self, PasswordError> {
        let input = Zeroizing::new(input);
        if input.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(input))
    }

    /// The password text, for a host's own strength checks. Never log it.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Its length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty (an empty password is simply a wrong one at verification).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Why hashing or verifying a password failed. Never carries the password or a hash.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The input is longer than [`MAX_PASSWORD_BYTES`] bytes.
    #[error("password is longer than {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    /// The stored hash is not an argon2 PHC string, or its parameters are out of bounds.
    /// The dummy verification ran anyway, so this path costs the same as the others.
    #[error("stored password hash is malformed")]
    MalformedHash,
    /// Called outside a tokio runtime: there is no blocking pool to run argon2 on.
    #[error("no tokio runtime to run argon2 on")]
    NoRuntime,
    /// The operating system's random source failed while drawing a salt.
    #[error("the operating system random source failed")]
    Rng,
    /// Argon2 itself refused (should not happen with validated parameters).
    #[error("argon2 failed")]
    Argon2,
    /// The blocking task running argon2 panicked or was cancelled.
    #[error("password hashing task failed")]
    TaskFailed,
}

/// Why [`PasswordParams::new`] refused a set of costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// A cost is below the OWASP floor.
    #[error("argon2 `{name}` = {value} is below the minimum {min}")]
    BelowFloor {
        /// `m`, `t` or `p`.
        name: &'static str,
        /// The value given.
        value: u32,
        /// The smallest value accepted.
        min: u32,
    },
    /// A cost is above the ceiling this crate accepts.
    #[error("argon2 `{name}` = {value} is above the maximum {max}")]
    AboveCeiling {
        /// `m`, `t` or `p`.
        name: &'static str,
        /// The value given.
        value: u32,
        /// The largest value accepted.
        max: u32,
    },
}

/// Validated Argon2id costs: memory `m` in KiB, iterations `t`, parallelism `p`.
///
/// The floor is OWASP's Argon2id recommendation, which is also the default:
/// m = 19456 KiB (19 MiB), t = 2, p = 1. Nothing weaker can be built outside tests. The
/// ceiling (m ≤ 1 GiB, t ≤ 64, p ≤ 16) also bounds the stored hashes [`Passwords`] agrees to
/// verify, so a corrupt row cannot make it allocate without limit.
///
/// ```
/// use admin_mfa::PasswordParams;
///
/// let p = PasswordParams::default();
/// assert_eq!((p.m_kib(), p.t_cost(), p.p_cost()), (19_456, 2, 1));
/// assert!(PasswordParams::new(65_536, 3, 1).is_ok());
/// assert!(PasswordParams::new(4_096, 2, 1).is_err());
/// ```
#[cfg_attr(
    not(feature = "danger-insecure-fast-hash"),
    doc = r#"
Without the `danger-insecure-fast-hash` feature, the fast test parameters do not exist
(T-PWD-3):

```compile_fail
let _ = admin_mfa::PasswordParams::insecure_fast_for_tests();
```
"#
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PasswordParams {
    m_kib: u32,
    t_cost: u32,
    p_cost: u32,
}

impl PasswordParams {
    /// OWASP's minimum memory cost, in KiB.
    pub const MIN_M_KIB: u32 = 19_456;
    /// The minimum number of iterations.
    pub const MIN_T_COST: u32 = 2;
    /// The minimum parallelism.
    pub const MIN_P_COST: u32 = 1;
    /// The largest memory cost accepted, in KiB (1 GiB).
    pub const MAX_M_KIB: u32 = 1024 * 1024;
    /// The largest number of iterations accepted.
    pub const MAX_T_COST: u32 = 64;
    /// The largest parallelism accepted.
    pub const MAX_P_COST: u32 = 16;

    /// The OWASP recommendation and the default: m = 19456 KiB, t = 2, p = 1.
    pub const OWASP: Self = Self {
        m_kib: Self::MIN_M_KIB,
        t_cost: Self::MIN_T_COST,
        p_cost: Self::MIN_P_COST,
    };

    /// Validates a set of costs.
    ///
    /// # Errors
    ///
    /// A [`ParamsError`] naming the first cost out of bounds.
    pub fn new(m_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, ParamsError> {
        let checks = [
            ("m", m_kib, Self::MIN_M_KIB, Self::MAX_M_KIB),
            ("t", t_cost, Self::MIN_T_COST, Self::MAX_T_COST),
            ("p", p_cost, Self::MIN_P_COST, Self::MAX_P_COST),
        ];
        for (name, value, min, max) in checks {
            if value < min {
                return Err(ParamsError::BelowFloor { name, value, min });
            }
            if value > max {
                return Err(ParamsError::AboveCeiling { name, value, max });
            }
        }
        Ok(Self {
            m_kib,
            t_cost,
            p_cost,
        })
    }

    /// Tiny costs (m = 256 KiB, t = 1, p = 1) that make tests fast. Far below the floor:
    /// this exists only in this crate's own unit tests and behind the
    /// `danger-insecure-fast-hash` feature, which production builds must never enable.
    #[cfg(any(test, feature = "danger-insecure-fast-hash"))]
    #[must_use]
    pub const fn insecure_fast_for_tests() -> Self {
        Self {
            m_kib: 256,
            t_cost: 1,
            p_cost: 1,
        }
    }

    /// Memory cost in KiB.
    #[must_use]
    pub const fn m_kib(&self) -> u32 {
        self.m_kib
    }

    /// Number of iterations.
    #[must_use]
    pub const fn t_cost(&self) -> u32 {
        self.t_cost
    }

    /// Degree of parallelism.
    #[must_use]
    pub const fn p_cost(&self) -> u32 {
        self.p_cost
    }

    fn argon2(&self) -> Result<Argon2<'static>, PasswordError> {
        let params = argon2::Params::new(self.m_kib, self.t_cost, self.p_cost, None)
            .map_err(|_| PasswordError::Argon2)?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

impl Default for PasswordParams {
    fn default() -> Self {
        Self::OWASP
    }
}

/// What a [`Passwords`] run of argon2 was for, as seen by an observer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashOp {
    /// Hashing a new password.
    Hash,
    /// Verifying against a stored hash.
    Verify,
    /// Verifying against the dummy hash (unknown account, or a malformed stored hash).
    DummyVerify,
    /// Making the dummy hash (once per [`Passwords`], on first need).
    DummySetup,
    /// Rehashing a verified password with the live parameters.
    Rehash,
}

/// One argon2 run, reported to an observer just before it starts: what it is for and the
/// costs it uses (those of the stored hash for a verification). Carries no password or hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashRun {
    /// What the run is for.
    pub op: HashOp,
    /// Memory cost in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Parallelism.
    pub p_cost: u32,
}

type Observer = Arc<dyn Fn(HashRun) + Send + Sync>;

/// Counters of a [`Passwords`]: how much argon2 work ran, and how much ran at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PasswordStats {
    /// New hashes made (rehashes included, the dummy excluded).
    pub hashes: u64,
    /// Verifications against a stored hash.
    pub verifies: u64,
    /// Verifications against the dummy hash.
    pub dummy_verifies: u64,
    /// Argon2 runs in progress now.
    pub in_flight: usize,
    /// The most argon2 runs ever in progress at once; never above the permit count.
    pub peak_in_flight: usize,
}

/// The outcome of [`Passwords::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Verification {
    matched: bool,
    rehash: Option<PasswordHash>,
}

impl Verification {
    /// Whether the password matched the stored hash (always `false` without one).
    #[must_use]
    pub fn is_match(&self) -> bool {
        self.matched
    }

    /// A new hash of the same password with the live parameters, present only when the
    /// password matched a hash made with weaker ones (or another argon2 variant): store it
    /// in place of the old one. A failed verification never rehashes.
    #[must_use]
    pub fn rehash(&self) -> Option<&PasswordHash> {
        self.rehash.as_ref()
    }

    /// Takes the new hash out, as [`Verification::rehash`].
    #[must_use]
    pub fn into_rehash(self) -> Option<PasswordHash> {
        self.rehash
    }
}

/// Builds a [`Passwords`] with a custom concurrency limit or an observer.
#[must_use]
pub struct PasswordsBuilder {
    params: PasswordParams,
    permits: Option<NonZeroUsize>,
    observer: Option<Observer>,
}

impl fmt::Debug for PasswordsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordsBuilder")
            .field("params", &self.params)
            .field("permits", &self.permits)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl PasswordsBuilder {
    /// At most `permits` argon2 runs at once (default: 2 × the available parallelism).
    /// Peak argon2 memory is about `permits × m` KiB.
    pub fn max_concurrent(mut self, permits: NonZeroUsize) -> Self {
        self.permits = Some(permits);
        self
    }

    /// Calls `observer` on the blocking thread just before every argon2 run (for metrics,
    /// or to prove in a test which runs happen). It must be quick and must not panic.
    pub fn observer(mut self, observer: impl Fn(HashRun) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The hasher.
    pub fn build(self) -> Passwords {
        let permits = self.permits.map_or_else(default_permits, NonZeroUsize::get);
        Passwords {
            inner: Arc::new(Inner {
                params: self.params,
                permits,
                semaphore: Arc::new(Semaphore::new(permits)),
                dummy: OnceCell::new(),
                observer: self.observer,
                hashes: AtomicU64::new(0),
                verifies: AtomicU64::new(0),
                dummy_verifies: AtomicU64::new(0),
                in_flight: AtomicUsize::new(0),
                peak_in_flight: AtomicUsize::new(0),
            }),
        }
    }
}

fn default_permits() -> usize {
    std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .saturating_mul(2)
}

/// Password hashing and verification with Argon2id (docs/SECURITY.md PWD-1..3, ENU-2, D7).
///
/// - [`Password`] is the raw input: at most [`MAX_PASSWORD_BYTES`] bytes (longer input is
///   refused before any hashing work), kept exactly as received (no Unicode normalisation,
///   trimming, truncation or case folding), zeroised on drop and never printed.
/// - [`PasswordParams`] are the Argon2id costs, validated against the OWASP floor
///   (m = 19456 KiB, t = 2, p = 1, the default) and a ceiling that bounds memory.
/// - [`Passwords`] hashes to PHC strings and verifies them. Argon2 runs on tokio's blocking
///   pool behind a semaphore (by default 2 × the available parallelism), so the async worker
///   threads never block and at most `permits × m` KiB of argon2 memory is in use at once.
///
/// [`Passwords::verify`] takes the stored hash as an `Option`: for an unknown account
/// (`None`) it verifies against a dummy hash made with the **live** parameters, so the
/// unknown-account path costs the same time and memory as the known one (ENU-2). A match
/// against a hash with weaker parameters than the live ones comes back with a new hash to
/// store ([`Verification::rehash`]).
///
/// ```
/// use admin_mfa::{Password, PasswordParams, Passwords};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let passwords = Passwords::new(PasswordParams::default());
/// let hash = passwords.hash(&Password::new("correct horse battery staple")?).await?;
/// assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
///
/// let ok = passwords.verify(Some(&hash), &Password::new("correct horse battery staple")?).await?;
/// assert!(ok.is_match() && ok.rehash().is_none());
/// let wrong = passwords.verify(Some(&hash), &Password::new("Correct horse battery staple")?).await?;
/// assert!(!wrong.is_match());
/// // Unknown account: the same work against a dummy hash, never a match.
/// assert!(!passwords.verify(None, &Password::new("anything")?).await?.is_match());
/// # Ok(())
/// # }
/// ```
///
/// Argon2id password hashing and verification, off the async threads and bounded.
///
/// Cheap to clone (the clones share the semaphore, the dummy hash and the counters). Every
/// method must run inside a tokio runtime; argon2 itself runs on the runtime's blocking
/// pool, at most [`Passwords::max_concurrent`] runs at once. The dummy hash for unknown
/// accounts is made on first need (one extra argon2 run, once per hasher and its clones). A caller whose future is
/// dropped mid-way does not free its permit early: the run finishes first, so memory stays
/// bounded even under cancellation.
#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

struct Inner {
    params: PasswordParams,
    permits: usize,
    semaphore: Arc<Semaphore>,
    /// PHC string of a random password hashed with the live parameters.
    dummy: OnceCell<String>,
    observer: Option<Observer>,
    hashes: AtomicU64,
    verifies: AtomicU64,
    dummy_verifies: AtomicU64,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
}

impl fmt::Debug for Passwords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Passwords")
            .field("params", &self.inner.params)
            .field("max_concurrent", &self.inner.permits)
            .finish_non_exhaustive()
    }
}

/// Counts one argon2 run in flight for as long as it lives.
struct InFlight<'a>(&'a Inner);

impl<'a> InFlight<'a> {
    fn enter(inner: &'a Inner) -> Self {
        let now = inner
            .in_flight
            .fetch_add(1, Ordering::SeqCst)
            .saturating_add(1);
        inner.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(inner)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Inner {
    fn observe(&self, op: HashOp, m_kib: u32, t_cost: u32, p_cost: u32) {
        if let Some(observer) = &self.observer {
            observer(HashRun {
                op,
                m_kib,
                t_cost,
                p_cost,
            });
        }
    }

    /// Hashes `password` with the live parameters and a fresh salt.
    fn hash_now(&self, op: HashOp, password: &[u8]) -> Result<String, PasswordError> {
        let mut salt = Zeroizing::new([0_u8; SALT_BYTES]);
        getrandom::fill(&mut salt[..]).map_err(|_| PasswordError::Rng)?;
        let p = self.params;
        self.observe(op, p.m_kib, p.t_cost, p.p_cost);
        let _flight = InFlight::enter(self);
        let hash = p
            .argon2()?
            .hash_password_with_salt(password, &salt[..])
            .map_err(|_| PasswordError::Argon2)?;
        Ok(hash.to_string())
    }

    /// Verifies against the dummy hash; never a match.
    fn dummy_verify(&self, dummy: &str, password: &[u8]) {
        let p = self.params;
        self.dummy_verifies.fetch_add(1, Ordering::Relaxed);
        self.observe(HashOp::DummyVerify, p.m_kib, p.t_cost, p.p_cost);
        let _flight = InFlight::enter(self);
        if let Ok(parsed) = argon2::PasswordHash::new(dummy) {
            // The outcome is irrelevant: only the work matters.
            let _ = Argon2::default().verify_password(password, &parsed);
        }
    }

    /// The blocking half of [`Passwords::verify`].
    fn verify_now(
        &self,
        stored: Option<&str>,
        dummy: &str,
        password: &[u8],
    ) -> Result<Verification, PasswordError> {
        let no_match = Verification {
            matched: false,
            rehash: None,
        };
        let Some(stored) = stored else {
            self.dummy_verify(dummy, password);
            return Ok(no_match);
        };
        let Some((parsed, costs)) = parse_stored(stored) else {
            self.dummy_verify(dummy, password);
            return Err(PasswordError::MalformedHash);
        };
        self.verifies.fetch_add(1, Ordering::Relaxed);
        self.observe(HashOp::Verify, costs.m_kib, costs.t_cost, costs.p_cost);
        let matched = {
            let _flight = InFlight::enter(self);
            Argon2::default().verify_password(password, &parsed).is_ok()
        };
        if !matched {
            return Ok(no_match);
        }
        let rehash = if costs.is_weaker_than(&self.params) {
            self.hashes.fetch_add(1, Ordering::Relaxed);
            Some(PasswordHash::new(self.hash_now(HashOp::Rehash, password)?))
        } else {
            None
        };
        Ok(Verification {
            matched: true,
            rehash,
        })
    }
}

/// The costs and variant read from a stored PHC string.
#[derive(Debug, Clone, Copy)]
struct StoredCosts {
    argon2id_v13: bool,
    m_kib: u32,
    t_cost: u32,
    p_cost: u32,
}

impl StoredCosts {
    /// Whether a hash with these costs should be replaced by one with `live`.
    fn is_weaker_than(&self, live: &PasswordParams) -> bool {
        !self.argon2id_v13
            || self.m_kib < live.m_kib
            || self.t_cost < live.t_cost
            || self.p_cost < live.p_cost
    }
}

/// Parses a stored argon2 PHC string and checks its costs against the ceiling.
fn parse_stored(stored: &str) -> Option<(argon2::PasswordHash, StoredCosts)> {
    let parsed = argon2::PasswordHash::new(stored).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    parsed.salt.as_ref()?;
    parsed.hash.as_ref()?;
    let params = argon2::Params::try_from(&parsed).ok()?;
    let costs = StoredCosts {
        argon2id_v13: algorithm == Algorithm::Argon2id && version == Version::V0x13,
        m_kib: params.m_cost(),
        t_cost: params.t_cost(),
        p_cost: params.p_cost(),
    };
    let within = costs.m_kib <= PasswordParams::MAX_M_KIB
        && costs.t_cost <= PasswordParams::MAX_T_COST
        && costs.p_cost <= PasswordParams::MAX_P_COST;
    within.then_some((parsed, costs))
}

impl Passwords {
    /// A hasher with `params` and the default concurrency limit (2 × the available
    /// parallelism).
    #[must_use]
    pub fn new(params: PasswordParams) -> Self {
        Self::builder(params).build()
    }

    /// A builder, to set the concurrency limit or an observer.
    pub fn builder(params: PasswordParams) -> PasswordsBuilder {
        PasswordsBuilder {
            params,
            permits: None,
            observer: None,
        }
    }

    /// The live parameters: new hashes use them, weaker stored hashes are upgraded to them.
    #[must_use]
    pub fn params(&self) -> PasswordParams {
        self.inner.params
    }

    /// How many argon2 runs may be in progress at once.
    #[must_use]
    pub fn max_concurrent(&self) -> usize {
        self.inner.permits
    }

    /// A snapshot of the counters.
    #[must_use]
    pub fn stats(&self) -> PasswordStats {
        let i = &self.inner;
        PasswordStats {
            hashes: i.hashes.load(Ordering::Relaxed),
            verifies: i.verifies.load(Ordering::Relaxed),
            dummy_verifies: i.dummy_verifies.load(Ordering::Relaxed),
            in_flight: i.in_flight.load(Ordering::SeqCst),
            peak_in_flight: i.peak_in_flight.load(Ordering::SeqCst),
        }
    }

    /// Runs `work` on the blocking pool while holding a permit. The permit moves into the
    /// blocking task, so it is released only when argon2 is done, even if the caller's
    /// future is dropped first.
    async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| PasswordError::NoRuntime)?;
        let permit = Arc::clone(&self.inner.semaphore)
            .acquire_owned()
            .await
            .map_err(|_| PasswordError::TaskFailed)?;
        let inner = Arc::clone(&self.inner);
        handle
            .spawn_blocking(move || {
                let _permit = permit;
                work(&inner)
            })
            .await
            .map_err(|_| PasswordError::TaskFailed)
    }

    async fn dummy(&self) -> Result<&str, PasswordError> {
        self.inner
            .dummy
            .get_or_try_init(|| async {
                self.run_blocking(|inner| {
                    let mut random = Zeroizing::new([0_u8; 32]);
                    getrandom::fill(&mut random[..]).map_err(|_| PasswordError::Rng)?;
                    inner.hash_now(HashOp::DummySetup, &random[..])
                })
                .await?
            })
            .await
            .map(String::as_str)
    }

    /// Hashes `password` with the live parameters and a fresh 16-byte salt from the
    /// operating system, to a PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
    ///
    /// # Errors
    ///
    /// [`PasswordError::NoRuntime`] outside a tokio runtime, [`PasswordError::Rng`] if the
    /// OS random source fails, [`PasswordError::TaskFailed`] if the blocking task dies.
    pub async fn hash(&self, password: &Password) -> Result<PasswordHash, PasswordError> {
        let password = password.clone();
        self.run_blocking(move |inner| {
            inner.hashes.fetch_add(1, Ordering::Relaxed);
            inner.hash_now(HashOp::Hash, password.0.as_bytes())
        })
        .await?
        .map(PasswordHash::new)
    }

    /// Verifies `password` against `stored`, in constant time as argon2 does.
    ///
    /// `stored = None` (unknown account) runs the same verification against a dummy hash
    /// made with the live parameters and never matches, so both paths cost the same
    /// (ENU-2). On a match against a hash whose costs are below the live ones (or that is
    /// not Argon2id v19), the result carries a new hash to store ([`Verification::rehash`]);
    /// that costs one more argon2 run, only on this rare path.
    ///
    /// # Errors
    ///
    /// [`PasswordError::MalformedHash`] if `stored` is not an argon2 PHC string within the
    /// ceiling of [`PasswordParams`] (after the dummy verification ran, so timing does not
    /// tell), and the errors of [`Passwords::hash`].
    pub async fn verify(
        &self,
        stored: Option<&PasswordHash>,
        password: &Password,
    ) -> Result<Verification, PasswordError> {
        let dummy = self.dummy().await?.to_owned();
        let stored = stored.map(|h| Zeroizing::new(h.as_str().to_owned()));
        let password = password.clone();
        self.run_blocking(move |inner| {
            inner.verify_now(
                stored.as_ref().map(|s| s.as_str()),
                &dummy,
                password.0.as_bytes(),
            )
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    #[test]
    fn params_bounds() {
        assert_eq!(PasswordParams::default(), PasswordParams::OWASP);
        assert_eq!(
            PasswordParams::new(19_455, 2, 1),
            Err(ParamsError::BelowFloor {
                name: "m",
                value: 19_455,
                min: 19_456
            })
        );
        assert!(matches!(
            PasswordParams::new(19_456, 1, 1),
            Err(ParamsError::BelowFloor { name: "t", .. })
        ));
        assert!(matches!(
            PasswordParams::new(19_456, 2, 0),
            Err(ParamsError::BelowFloor { name: "p", .. })
        ));
        assert!(matches!(
            PasswordParams::new(PasswordParams::MAX_M_KIB + 1, 2, 1),
            Err(ParamsError::AboveCeiling { name: "m", .. })
        ));
        assert!(matches!(
            PasswordParams::new(19_456, 65, 1),
            Err(ParamsError::AboveCeiling { name: "t", .. })
        ));
        assert!(matches!(
            PasswordParams::new(19_456, 2, 17),
            Err(ParamsError::AboveCeiling { name: "p", .. })
        ));
        assert!(PasswordParams::new(47_104, 2, 1).is_ok());
        assert!(PasswordParams::insecure_fast_for_tests().m_kib() < PasswordParams::MIN_M_KIB);
    }

    #[test]
    fn stored_cost_comparison() {
        let live = PasswordParams::OWASP;
        let c = |id, m, t, p| StoredCosts {
            argon2id_v13: id,
            m_kib: m,
            t_cost: t,
            p_cost: p,
        };
        assert!(!c(true, 19_456, 2, 1).is_weaker_than(&live));
        assert!(!c(true, 65_536, 3, 2).is_weaker_than(&live));
        assert!(c(true, 4_096, 2, 1).is_weaker_than(&live));
        assert!(c(true, 19_456, 1, 1).is_weaker_than(&live));
        assert!(c(false, 65_536, 3, 1).is_weaker_than(&live));
    }

    #[test]
    fn parse_stored_refuses_junk_and_huge_costs() {
        assert!(parse_stored("").is_none());
        assert!(parse_stored("plaintext").is_none());
        assert!(parse_stored("$2b$12$abcdefghijklmnopqrstuv").is_none());
        // Parameters above the ceiling are refused before any work.
        let huge = "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$\
                    aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        assert!(parse_stored(huge).is_none());
    }

    #[tokio::test]
    async fn fast_params_round_trip() {
        let passwords = Passwords::new(PasswordParams::insecure_fast_for_tests());
        let pw = Password::new("pw").unwrap();
        let hash = passwords.hash(&pw).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=256,t=1,p=1$"));
        assert!(passwords.verify(Some(&hash), &pw).await.unwrap().is_match());
    }

    #[test]
    fn outside_a_runtime_is_an_error_not_a_panic() {
        let passwords = Passwords::new(PasswordParams::insecure_fast_for_tests());
        let pw = Password::new("pw").unwrap();
        let out = block_on_without_tokio(passwords.hash(&pw));
        assert!(matches!(out, Err(PasswordError::NoRuntime)));
    }

    /// A minimal executor for a future that must complete without a tokio runtime.
    fn block_on_without_tokio<F: Future>(fut: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut fut = std::pin::pin!(fut);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }
}
