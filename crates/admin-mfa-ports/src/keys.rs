use std::sync::Arc;

use admin_mfa_lifecycle::KeyRing;

/// Where the keys that seal TOTP secrets and outbox link tokens come from.
///
/// The keys live outside the store (a host's secret manager, a file, an environment
/// variable read at start-up), so a copy of the database alone reveals no secret. Every
/// sealed value records the id of the key that sealed it, so keys can rotate: a
/// [`KeyRing`] seals new values with its current key and opens old ones with any key it
/// still holds. The service asks for the ring once per operation, so a provider may rotate
/// keys while the service runs.
///
/// A [`KeyRing`] is itself a provider, for hosts whose keys do not change while they run:
///
/// ```
/// use admin_mfa_ports::{KeyId, KeyProvider, KeyRing, SealingKey};
///
/// let ring = KeyRing::new(SealingKey::new(KeyId::new(2), [9; 32]))
///     .with_previous(SealingKey::new(KeyId::new(1), [7; 32]));
/// let provider: &dyn KeyProvider = &ring;
/// assert_eq!(provider.keys().current().id(), KeyId::new(2));
/// assert!(provider.keys().get(KeyId::new(1)).is_some());
/// ```
pub trait KeyProvider: Send + Sync {
    /// The key ring to seal and open with now.
    fn keys(&self) -> KeyRing;
}

impl KeyProvider for KeyRing {
    fn keys(&self) -> KeyRing {
        self.clone()
    }
}

impl<T: KeyProvider + ?Sized> KeyProvider for Arc<T> {
    fn keys(&self) -> KeyRing {
        (**self).keys()
    }
}

impl<T: KeyProvider + ?Sized> KeyProvider for Box<T> {
    fn keys(&self) -> KeyRing {
        (**self).keys()
    }
}
