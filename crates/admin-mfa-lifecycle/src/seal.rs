//! Sealed (encrypted) secrets: ChaCha20-Poly1305 with a key id, bound to one admin.
//!
//! A store never holds a raw TOTP secret or a raw link token: both are sealed with a
//! [`SealingKey`] that lives outside the store (the service's `KeyProvider`). The
//! associated data binds the admin id and the kind of plaintext, so a blob copied to
//! another admin, or a sealed link token presented as a TOTP secret, fails to open.

use core::fmt;

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{AdminId, LinkPurpose, LinkToken, TotpSecret};

/// Length of a ChaCha20-Poly1305 nonce in bytes.
pub const NONCE_BYTES: usize = 12;
/// Length of a sealing key in bytes.
pub const KEY_BYTES: usize = 32;

/// Identifies a [`SealingKey`]; stored next to every ciphertext so keys can rotate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct KeyId(u32);

impl KeyId {
    /// Wraps a key number.
    #[must_use]
    pub const fn new(id: u32) -> Self {
        Self(id)
    }

    /// The key number.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key#{}", self.0)
    }
}

/// A 256-bit ChaCha20-Poly1305 key with its id. Zeroised on drop; `Debug` shows the id only.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SealingKey {
    #[zeroize(skip)]
    id: KeyId,
    key: [u8; KEY_BYTES],
}

impl SealingKey {
    /// A key with the given id and bytes (loaded by the service's key provider).
    #[must_use]
    pub const fn new(id: KeyId, key: [u8; KEY_BYTES]) -> Self {
        Self { id, key }
    }

    /// A fresh random key (pass the OS RNG in production).
    pub fn generate<R: CryptoRng + ?Sized>(id: KeyId, rng: &mut R) -> Self {
        let mut key = [0_u8; KEY_BYTES];
        rng.fill_bytes(&mut key);
        Self { id, key }
    }

    /// This key's id.
    #[must_use]
    pub const fn id(&self) -> KeyId {
        self.id
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&self.key.into())
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKey")
            .field("id", &self.id)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The keys `decide` may use: one current key (seals everything new) and older keys
/// that can still open what they sealed.
#[derive(Clone)]
pub struct KeyRing {
    current: SealingKey,
    previous: Vec<SealingKey>,
}

impl KeyRing {
    /// A ring with one key, used for sealing and opening.
    #[must_use]
    pub fn new(current: SealingKey) -> Self {
        Self {
            current,
            previous: Vec::new(),
        }
    }

    /// Adds a retired key that can still open old ciphertexts. A key whose id equals the
    /// current key's id, or one already present, is ignored.
    #[must_use]
    pub fn with_previous(mut self, key: SealingKey) -> Self {
        if key.id != self.current.id && self.previous.iter().all(|k| k.id != key.id) {
            self.previous.push(key);
        }
        self
    }

    /// The key that seals new material.
    #[must_use]
    pub fn current(&self) -> &SealingKey {
        &self.current
    }

    /// The key with `id`, current or previous.
    #[must_use]
    pub fn get(&self, id: KeyId) -> Option<&SealingKey> {
        if self.current.id == id {
            Some(&self.current)
        } else {
            self.previous.iter().find(|k| k.id == id)
        }
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<KeyId> = self.previous.iter().map(SealingKey::id).collect();
        f.debug_struct("KeyRing")
            .field("current", &self.current.id)
            .field("previous", &ids)
            .finish()
    }
}

/// A 96-bit nonce. It must never repeat under one key: draw it from a CSPRNG
/// ([`Nonce::generate`]) for every seal.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Nonce([u8; NONCE_BYTES]);

impl Nonce {
    /// A fresh random nonce.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut n = [0_u8; NONCE_BYTES];
        rng.fill_bytes(&mut n);
        Self(n)
    }

    /// A nonce with the given bytes (tests, deterministic replays).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; NONCE_BYTES]) -> Self {
        Self(bytes)
    }

    /// The nonce bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; NONCE_BYTES] {
        &self.0
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nonce(..)")
    }
}

/// What a [`Sealed`] blob holds; part of the associated data, so one kind cannot be
/// opened as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum SealedKind {
    /// A TOTP secret (an active factor or a pending candidate).
    TotpSecret,
    /// A raw link token of the given purpose, kept in the outbox until the mail is sent.
    LinkToken(LinkPurpose),
}

impl SealedKind {
    const fn tag(self) -> &'static [u8] {
        match self {
            Self::TotpSecret => b"totp-secret",
            Self::LinkToken(LinkPurpose::Setup) => b"link-token/setup",
            Self::LinkToken(LinkPurpose::Reset) => b"link-token/reset",
        }
    }
}

/// Why sealing or opening failed. Never carries key or plaintext material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The key ring has no key with this id (rotated out, or a wrong key provider).
    #[error("no sealing key with id {0}")]
    UnknownKey(KeyId),
    /// Authentication failed: wrong key bytes, another admin's blob, another kind, or tampering.
    #[error("sealed data under {0} failed to authenticate")]
    Decrypt(KeyId),
    /// The cipher refused to encrypt (only possible for absurdly long input).
    #[error("sealing failed")]
    Encrypt,
    /// The opened plaintext is not a valid value of the expected type.
    #[error("sealed data under {0} holds an invalid value")]
    InvalidPlaintext(KeyId),
}

/// A ChaCha20-Poly1305 ciphertext with its key id and nonce.
///
/// ```
/// use admin_mfa_lifecycle::{AdminId, KeyId, KeyRing, Nonce, Sealed, SealedKind, SealingKey};
///
/// let key = SealingKey::new(KeyId::new(1), [9; 32]);
/// let ring = KeyRing::new(key.clone());
/// let admin = AdminId::from_bytes([1; 16]);
/// let sealed = Sealed::seal(&key, Nonce::from_bytes([3; 12]), admin, SealedKind::TotpSecret, b"secret bytes")?;
/// assert_eq!(&sealed.open(&ring, admin, SealedKind::TotpSecret)?[..], b"secret bytes");
/// // Another admin's id is part of the associated data: the blob does not open for them.
/// assert!(sealed.open(&ring, AdminId::from_bytes([2; 16]), SealedKind::TotpSecret).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Sealed {
    /// The key that sealed it.
    pub key_id: KeyId,
    /// The nonce used.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_b64::array12"))]
    pub nonce: [u8; NONCE_BYTES],
    /// Ciphertext followed by the 16-byte Poly1305 tag.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_b64::vec"))]
    pub ciphertext: Vec<u8>,
}

/// A sealed TOTP secret (same representation as any [`Sealed`] blob).
pub type SealedSecret = Sealed;

fn associated_data(admin: AdminId, kind: SealedKind) -> Vec<u8> {
    let mut aad = Vec::with_capacity(64);
    aad.extend_from_slice(b"admin-mfa/sealed/v1\0");
    aad.extend_from_slice(kind.tag());
    aad.push(0);
    aad.extend_from_slice(admin.as_uuid().as_bytes());
    aad
}

impl Sealed {
    /// Encrypts `plaintext` for `admin` under `key`.
    ///
    /// # Errors
    /// [`SealError::Encrypt`] if the cipher refuses (input far beyond any secret's size).
    pub fn seal(
        key: &SealingKey,
        nonce: Nonce,
        admin: AdminId,
        kind: SealedKind,
        plaintext: &[u8],
    ) -> Result<Self, SealError> {
        let aad = associated_data(admin, kind);
        let ciphertext = key
            .cipher()
            .encrypt(
                &nonce.0.into(),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Encrypt)?;
        Ok(Self {
            key_id: key.id,
            nonce: nonce.0,
            ciphertext,
        })
    }

    /// Decrypts with the ring's key of the same id, checking admin and kind.
    ///
    /// # Errors
    /// [`SealError::UnknownKey`] if the ring lacks the key id; [`SealError::Decrypt`] if
    /// authentication fails.
    pub fn open(
        &self,
        keys: &KeyRing,
        admin: AdminId,
        kind: SealedKind,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let key = keys
            .get(self.key_id)
            .ok_or(SealError::UnknownKey(self.key_id))?;
        self.open_with(key, admin, kind)
    }

    /// Decrypts with one given key (its id must match the blob's).
    ///
    /// # Errors
    /// As [`Sealed::open`].
    pub fn open_with(
        &self,
        key: &SealingKey,
        admin: AdminId,
        kind: SealedKind,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if key.id != self.key_id {
            return Err(SealError::UnknownKey(self.key_id));
        }
        let aad = associated_data(admin, kind);
        key.cipher()
            .decrypt(
                &self.nonce.into(),
                Payload {
                    msg: &self.ciphertext,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Decrypt(self.key_id))
    }

    /// Seals a TOTP secret for `admin`.
    ///
    /// # Errors
    /// As [`Sealed::seal`].
    pub fn seal_secret(
        key: &SealingKey,
        nonce: Nonce,
        admin: AdminId,
        secret: &TotpSecret,
    ) -> Result<Self, SealError> {
        Self::seal(
            key,
            nonce,
            admin,
            SealedKind::TotpSecret,
            secret.expose_secret_bytes(),
        )
    }

    /// Opens a sealed TOTP secret of `admin`.
    ///
    /// # Errors
    /// As [`Sealed::open`], or [`SealError::InvalidPlaintext`] if the bytes are not a valid secret.
    pub fn open_secret(&self, keys: &KeyRing, admin: AdminId) -> Result<TotpSecret, SealError> {
        let bytes = self.open(keys, admin, SealedKind::TotpSecret)?;
        TotpSecret::from_bytes(&bytes).map_err(|_| SealError::InvalidPlaintext(self.key_id))
    }

    /// Seals a raw link token of `purpose` for `admin` (for the outbox).
    ///
    /// # Errors
    /// As [`Sealed::seal`].
    pub fn seal_link_token(
        key: &SealingKey,
        nonce: Nonce,
        admin: AdminId,
        purpose: LinkPurpose,
        token: &LinkToken,
    ) -> Result<Self, SealError> {
        Self::seal(
            key,
            nonce,
            admin,
            SealedKind::LinkToken(purpose),
            token.as_bytes(),
        )
    }

    /// Opens a sealed link token of `purpose` for `admin` (the mailer does this to build the link).
    ///
    /// # Errors
    /// As [`Sealed::open`], or [`SealError::InvalidPlaintext`] if the length is wrong.
    pub fn open_link_token(
        &self,
        keys: &KeyRing,
        admin: AdminId,
        purpose: LinkPurpose,
    ) -> Result<LinkToken, SealError> {
        let bytes = self.open(keys, admin, SealedKind::LinkToken(purpose))?;
        let raw: [u8; crate::token::TOKEN_BYTES] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| SealError::InvalidPlaintext(self.key_id))?;
        Ok(LinkToken::from_bytes(raw))
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("key_id", &self.key_id)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    fn admin(n: u8) -> AdminId {
        AdminId::from_bytes([n; 16])
    }

    #[test]
    fn secret_round_trip() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let key = SealingKey::generate(KeyId::new(7), &mut rng);
        let ring = KeyRing::new(key.clone());
        let secret = TotpSecret::generate_with(&mut rng);
        let sealed =
            Sealed::seal_secret(&key, Nonce::generate(&mut rng), admin(1), &secret).unwrap();
        assert_eq!(sealed.key_id, KeyId::new(7));
        // Ciphertext = plaintext + 16-byte tag, and it is not the plaintext.
        assert_eq!(sealed.ciphertext.len(), secret.len() + 16);
        assert!(
            !sealed
                .ciphertext
                .windows(secret.len())
                .any(|w| w == secret.expose_secret_bytes())
        );
        let opened = sealed.open_secret(&ring, admin(1)).unwrap();
        assert_eq!(opened, secret);
    }

    #[test]
    fn wrong_key_is_a_typed_error() {
        let key = SealingKey::new(KeyId::new(1), [1; 32]);
        let sealed = Sealed::seal(
            &key,
            Nonce::from_bytes([0; 12]),
            admin(1),
            SealedKind::TotpSecret,
            &[9; 20],
        )
        .unwrap();
        // Same id, other bytes: authentication fails.
        let impostor = KeyRing::new(SealingKey::new(KeyId::new(1), [2; 32]));
        assert_eq!(
            sealed.open(&impostor, admin(1), SealedKind::TotpSecret),
            Err(SealError::Decrypt(KeyId::new(1)))
        );
        // Unknown id.
        let other = KeyRing::new(SealingKey::new(KeyId::new(2), [1; 32]));
        assert_eq!(
            sealed.open(&other, admin(1), SealedKind::TotpSecret),
            Err(SealError::UnknownKey(KeyId::new(1)))
        );
        assert_eq!(
            sealed.open_with(
                &SealingKey::new(KeyId::new(2), [1; 32]),
                admin(1),
                SealedKind::TotpSecret
            ),
            Err(SealError::UnknownKey(KeyId::new(1)))
        );
    }

    #[test]
    fn associated_data_binds_admin_and_kind() {
        let key = SealingKey::new(KeyId::new(1), [1; 32]);
        let ring = KeyRing::new(key.clone());
        let token = LinkToken::from_bytes([4; 32]);
        let sealed = Sealed::seal_link_token(
            &key,
            Nonce::from_bytes([1; 12]),
            admin(1),
            LinkPurpose::Reset,
            &token,
        )
        .unwrap();
        assert_eq!(
            sealed
                .open_link_token(&ring, admin(1), LinkPurpose::Reset)
                .unwrap(),
            token
        );
        let err = Err(SealError::Decrypt(KeyId::new(1)));
        assert_eq!(
            sealed
                .open_link_token(&ring, admin(2), LinkPurpose::Reset)
                .map(|_| ()),
            err
        );
        assert_eq!(
            sealed
                .open_link_token(&ring, admin(1), LinkPurpose::Setup)
                .map(|_| ()),
            err
        );
        assert_eq!(
            sealed.open_secret(&ring, admin(1)).map(|_| ()),
            err,
            "a link token must not open as a totp secret"
        );
    }

    #[test]
    fn tampering_is_detected() {
        let key = SealingKey::new(KeyId::new(1), [1; 32]);
        let ring = KeyRing::new(key.clone());
        let sealed = Sealed::seal(
            &key,
            Nonce::from_bytes([0; 12]),
            admin(1),
            SealedKind::TotpSecret,
            &[7; 20],
        )
        .unwrap();
        for i in 0..sealed.ciphertext.len() {
            let mut bad = sealed.clone();
            if let Some(b) = bad.ciphertext.get_mut(i) {
                *b ^= 1;
            }
            assert!(bad.open(&ring, admin(1), SealedKind::TotpSecret).is_err());
        }
        let mut bad_nonce = sealed.clone();
        bad_nonce.nonce[0] ^= 1;
        assert!(
            bad_nonce
                .open(&ring, admin(1), SealedKind::TotpSecret)
                .is_err()
        );
        let mut truncated = sealed;
        truncated.ciphertext.truncate(3);
        assert!(
            truncated
                .open(&ring, admin(1), SealedKind::TotpSecret)
                .is_err()
        );
    }

    #[test]
    fn invalid_plaintexts_are_typed_errors() {
        let key = SealingKey::new(KeyId::new(3), [3; 32]);
        let ring = KeyRing::new(key.clone());
        let short = Sealed::seal(
            &key,
            Nonce::from_bytes([0; 12]),
            admin(1),
            SealedKind::TotpSecret,
            &[1; 10],
        )
        .unwrap();
        assert_eq!(
            short.open_secret(&ring, admin(1)).map(|_| ()),
            Err(SealError::InvalidPlaintext(KeyId::new(3)))
        );
        let odd_token = Sealed::seal(
            &key,
            Nonce::from_bytes([0; 12]),
            admin(1),
            SealedKind::LinkToken(LinkPurpose::Setup),
            &[1; 31],
        )
        .unwrap();
        assert_eq!(
            odd_token
                .open_link_token(&ring, admin(1), LinkPurpose::Setup)
                .map(|_| ()),
            Err(SealError::InvalidPlaintext(KeyId::new(3)))
        );
    }

    #[test]
    fn key_rotation_opens_old_blobs() {
        let old = SealingKey::new(KeyId::new(1), [1; 32]);
        let new = SealingKey::new(KeyId::new(2), [2; 32]);
        let blob = Sealed::seal(
            &old,
            Nonce::from_bytes([0; 12]),
            admin(1),
            SealedKind::TotpSecret,
            &[5; 20],
        )
        .unwrap();
        let ring = KeyRing::new(new.clone())
            .with_previous(old)
            .with_previous(new.clone());
        assert_eq!(ring.current().id(), KeyId::new(2));
        assert!(ring.get(KeyId::new(1)).is_some());
        assert!(ring.get(KeyId::new(3)).is_none());
        assert_eq!(
            &blob.open(&ring, admin(1), SealedKind::TotpSecret).unwrap()[..],
            &[5; 20]
        );
    }

    #[test]
    fn debug_output_hides_key_material() {
        let key = SealingKey::new(KeyId::new(9), [0xAB; 32]);
        let dbg = format!("{key:?} {:?}", KeyRing::new(key.clone()));
        assert!(
            !dbg.to_lowercase().contains("ab, ") && !dbg.contains("171"),
            "{dbg}"
        );
        assert!(dbg.contains("redacted"));
        let sealed = Sealed::seal(
            &key,
            Nonce::from_bytes([0; 12]),
            admin(1),
            SealedKind::TotpSecret,
            &[1; 20],
        )
        .unwrap();
        let dbg = format!("{sealed:?}");
        assert!(dbg.contains("ciphertext_len: 36"), "{dbg}");
    }
}
