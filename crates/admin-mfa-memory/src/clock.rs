use std::sync::atomic::{AtomicU64, Ordering};

use admin_mfa_ports::{Clock, UnixTime};

/// A [`Clock`] that stands still until told to move: for tests and demonstrations.
///
/// ```
/// use admin_mfa_memory::ManualClock;
/// use admin_mfa_ports::{Clock, UnixTime};
///
/// let clock = ManualClock::new(UnixTime::from_secs(59));
/// clock.set(UnixTime::from_secs(20_000_000_000));
/// clock.advance(1);
/// assert_eq!(clock.now(), UnixTime::from_secs(20_000_000_001));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    secs: AtomicU64,
}

impl ManualClock {
    /// A clock reading `start`.
    #[must_use]
    pub fn new(start: UnixTime) -> Self {
        Self {
            secs: AtomicU64::new(start.as_secs()),
        }
    }

    /// Sets the time.
    pub fn set(&self, now: UnixTime) {
        self.secs.store(now.as_secs(), Ordering::SeqCst);
    }

    /// Moves the time forward by `secs` seconds (saturating).
    pub fn advance(&self, secs: u64) {
        // fetch_update never fails with a closure that always returns Some.
        let _ = self
            .secs
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(secs))
            });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.secs.load(Ordering::SeqCst))
    }
}
