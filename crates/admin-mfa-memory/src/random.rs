use std::sync::Mutex;

use admin_mfa_ports::{RandomError, RandomSource};
use rand::rngs::ChaCha20Rng;
use rand::{Rng as _, SeedableRng};

/// A [`RandomSource`] that repeats: ChaCha20 from a fixed seed, so a test (or a replay of a
/// scenario) draws the same link tokens, nonces, secrets and ids every run.
///
/// For tests and examples only: anyone who knows the seed knows every secret it made.
///
/// ```
/// use admin_mfa_memory::SeededRandom;
/// use admin_mfa_ports::RandomSource;
///
/// let (a, b) = (SeededRandom::new(7), SeededRandom::new(7));
/// let (mut x, mut y) = ([0_u8; 16], [0_u8; 16]);
/// a.fill(&mut x)?;
/// b.fill(&mut y)?;
/// assert_eq!(x, y);
/// # Ok::<(), admin_mfa_ports::RandomError>(())
/// ```
#[derive(Debug)]
pub struct SeededRandom {
    rng: Mutex<ChaCha20Rng>,
}

impl SeededRandom {
    /// A generator seeded with `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Mutex::new(ChaCha20Rng::seed_from_u64(seed)),
        }
    }
}

impl RandomSource for SeededRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        let mut rng = self.rng.lock().map_err(|_| RandomError::new())?;
        rng.fill_bytes(dest);
        Ok(())
    }
}
