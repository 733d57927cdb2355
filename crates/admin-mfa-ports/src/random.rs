use std::sync::Arc;

/// The source of randomness: link tokens, sealing nonces, new TOTP secrets, identity-step
/// proofs and admin ids all come from it. Injected like the [`Clock`](crate::Clock), so a test
/// can make a whole service run repeatable; production uses [`OsRandom`].
///
/// An implementation must be a cryptographically secure generator: everything it fills
/// protects an account. A failure is reported, never papered over with weaker bytes.
pub trait RandomSource: Send + Sync {
    /// Fills `dest` with random bytes.
    ///
    /// # Errors
    ///
    /// [`RandomError`] when no random bytes could be had; `dest` must then not be used.
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError>;
}

/// The random source failed (the operating system's generator was unavailable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, thiserror::Error)]
#[error("random source failure")]
#[non_exhaustive]
pub struct RandomError;

impl RandomError {
    /// The error.
    #[must_use]
    pub const fn new() -> Self {
        Self
    }
}

/// The operating system's generator (`getrandom`): the production [`RandomSource`].
///
/// ```
/// use admin_mfa_ports::{OsRandom, RandomSource};
///
/// let mut a = [0_u8; 32];
/// let mut b = [0_u8; 32];
/// OsRandom.fill(&mut a)?;
/// OsRandom.fill(&mut b)?;
/// assert_ne!(a, b);
/// # Ok::<(), admin_mfa_ports::RandomError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(dest).map_err(|_| RandomError)
    }
}

impl<T: RandomSource + ?Sized> RandomSource for Arc<T> {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill(dest)
    }
}

impl<T: RandomSource + ?Sized> RandomSource for Box<T> {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill(dest)
    }
}
