use std::sync::Arc;

use admin_mfa_lifecycle::UnixTime;

/// The source of time. The service reads it once per operation and passes the instant
/// down; nothing in the core reads the wall clock by itself.
pub trait Clock: Send + Sync {
    /// The current time, in whole seconds since the Unix epoch (UTC).
    fn now(&self) -> UnixTime;
}

/// The operating system's clock: the production [`Clock`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one production reading of the wall clock"
    )]
    fn now(&self) -> UnixTime {
        // A clock set before 1970 reads as the epoch rather than failing.
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        UnixTime::from_secs(secs)
    }
}

impl<T: Clock + ?Sized> Clock for Arc<T> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

impl<T: Clock + ?Sized> Clock for Box<T> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}
