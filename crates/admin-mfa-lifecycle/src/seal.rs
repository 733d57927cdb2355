//! Sealed (encrypted) secrets: ChaCha20-Poly1305 with a key id, bound to one admin.
//!
//! A store never holds a raw TOTP secret or a raw link token: both are sealed with a
//! [`SealingKey`] that lives outside the store (the service's `KeyProvider`). The
//! associated data binds the admin id and the kind of plaintext, so a blob copied to
//! another admin, or a sealed link token presented as a TOTP secret, fails to open.
//!
//! Every blob names its [`SealFormat`] (a version byte), so that blobs sealed today stay
//! readable if sealing ever moves to another construction. There is one format so far.
//! The AEAD itself is ring's ChaCha20-Poly1305, whose code for short messages is fast on
//! every build: a login opens a 20-byte secret, and the portable crates' run-time choice of
//! wide-vector code made that open several times dearer than the TOTP check it guards.
//!
//! Login state a service hands to a client and takes back (a pending challenge, a session,
//! a setup proof) is sealed the same way with [`Sealed::seal_portable`], under a key derived
//! per [`PortableKind`] from the ring's key (HKDF-SHA256), so such a token never opens as
//! another kind, nor as a stored secret, and says nothing about the keys that seal secrets.

use core::fmt;

use rand_core::CryptoRng;
use ring::aead::{self, Aad, CHACHA20_POLY1305, LessSafeKey, UnboundKey};
use ring::hkdf::{HKDF_SHA256, Salt};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{AdminId, LinkPurpose, LinkToken, TotpSecret};

/// Length of a ChaCha20-Poly1305 nonce in bytes.
pub const NONCE_BYTES: usize = 12;
/// Length of a sealing key in bytes.
pub const KEY_BYTES: usize = 32;
/// Length of the authentication tag that follows every ciphertext.
pub const TAG_BYTES: usize = 16;

/// The longest TOTP secret, in bytes (what [`TotpSecret::from_bytes`] accepts).
const SECRET_MAX_BYTES: usize = admin_mfa_totp::MAX_SECRET_LEN;

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

    /// The AEAD key for one seal or open. Built per call: nothing derived from the key
    /// outlives the operation.
    fn aead(&self) -> Option<LessSafeKey> {
        UnboundKey::new(&CHACHA20_POLY1305, &self.key)
            .ok()
            .map(LessSafeKey::new)
    }

    /// The HMAC-SHA-256 key of recovery-code hashes: HMAC-SHA-256 of the fixed label
    /// `admin-mfa/recovery-code/v1` under this key (a PRF with a label, as HKDF's expand
    /// step), so the MAC key is never the sealing key itself. Built per call.
    pub(crate) fn recovery_mac_key(&self) -> ring::hmac::Key {
        let prf = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.key);
        let derived = ring::hmac::sign(&prf, crate::recovery::MAC_DOMAIN);
        ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref())
    }

    /// The AEAD key of one [`PortableKind`]: HKDF-SHA256 over this key (salt
    /// `admin-mfa/portable/v1`, info the kind's tag), built per call like [`Self::aead`].
    fn portable_aead(&self, kind: PortableKind) -> Option<LessSafeKey> {
        let prk = Salt::new(HKDF_SHA256, PORTABLE_DOMAIN).extract(&self.key);
        let info = [kind.tag()];
        let okm = prk.expand(&info, &CHACHA20_POLY1305).ok()?;
        Some(LessSafeKey::new(UnboundKey::from(okm)))
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

/// The salt of the portable keys' derivation and the prefix of their associated data.
const PORTABLE_DOMAIN: &[u8] = b"admin-mfa/portable/v1";

/// What a portable blob holds ([`Sealed::seal_portable`]): login state a service hands to a
/// client and takes back. Each kind has its own derived key and associated data, so one
/// kind never opens as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PortableKind {
    /// A pending MFA challenge (between the password and the code).
    MfaChallenge,
    /// A signed-in session.
    Session,
    /// The proof of a link's identity step.
    SetupProof,
}

impl PortableKind {
    const fn tag(self) -> &'static [u8] {
        match self {
            Self::MfaChallenge => b"portable/mfa-challenge",
            Self::Session => b"portable/session",
            Self::SetupProof => b"portable/setup-proof",
        }
    }
}

/// The format of a [`Sealed`] blob: which AEAD and associated-data layout sealed it.
///
/// Stored as one byte beside every blob. Blobs from before the format was recorded carry
/// none and are [`SealFormat::CHACHA20_POLY1305`], the only format so far. A format this
/// build does not know (written by a newer one) is refused when opening, with
/// [`SealError::UnknownFormat`], without making the record around it unreadable.
///
/// ```
/// use admin_mfa_lifecycle::SealFormat;
///
/// assert_eq!(SealFormat::CURRENT, SealFormat::CHACHA20_POLY1305);
/// assert_eq!(SealFormat::CHACHA20_POLY1305.get(), 1);
/// assert!(SealFormat::from_byte(1).is_known());
/// assert!(!SealFormat::from_byte(2).is_known());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct SealFormat(u8);

impl SealFormat {
    /// ChaCha20-Poly1305 (RFC 8439) with a 96-bit random nonce and a 16-byte tag after the
    /// ciphertext; the associated data is `admin-mfa/sealed/v1`, NUL, the kind's tag, NUL
    /// and the admin id's 16 bytes.
    pub const CHACHA20_POLY1305: Self = Self(1);
    /// The format new blobs are sealed in.
    pub const CURRENT: Self = Self::CHACHA20_POLY1305;

    /// The format with this stored byte (known or not).
    #[must_use]
    pub const fn from_byte(byte: u8) -> Self {
        Self(byte)
    }

    /// The stored byte.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }

    /// `true` if this build can open blobs of this format.
    #[must_use]
    pub const fn is_known(self) -> bool {
        self.0 == Self::CHACHA20_POLY1305.0
    }
}

impl Default for SealFormat {
    /// The format of blobs stored before the format was recorded.
    fn default() -> Self {
        Self::CHACHA20_POLY1305
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
    /// The blob is of a [`SealFormat`] this build cannot open (sealed by a newer one).
    #[error("sealed data in unknown format {0}")]
    UnknownFormat(u8),
}

/// A ChaCha20-Poly1305 ciphertext with its key id, format and nonce.
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
    /// How it was sealed (absent from blobs stored before it was recorded: the first format).
    #[cfg_attr(feature = "serde", serde(default))]
    pub format: SealFormat,
    /// The nonce used.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_b64::array12"))]
    pub nonce: [u8; NONCE_BYTES],
    /// Ciphertext followed by the 16-byte Poly1305 tag.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_b64::vec"))]
    pub ciphertext: Vec<u8>,
}

/// Bytes that are wiped when this goes out of scope (a secret opened on the stack).
struct WipedOnDrop<'a>(&'a mut [u8]);

impl Drop for WipedOnDrop<'_> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// A sealed TOTP secret (same representation as any [`Sealed`] blob).
pub type SealedSecret = Sealed;

/// The associated data of [`SealFormat::CHACHA20_POLY1305`], built on the stack.
struct AssociatedData {
    bytes: [u8; 64],
    len: usize,
}

impl AssociatedData {
    fn new(admin: AdminId, kind: SealedKind) -> Self {
        let mut aad = Self {
            bytes: [0; 64],
            len: 0,
        };
        aad.push(b"admin-mfa/sealed/v1\0");
        aad.push(kind.tag());
        aad.push(&[0]);
        aad.push(admin.as_uuid().as_bytes());
        aad
    }

    /// The associated data of a portable blob: `admin-mfa/portable/v1`, NUL and the kind's
    /// tag (no admin: the holder of the token is not known before it opens).
    fn portable(kind: PortableKind) -> Self {
        let mut aad = Self {
            bytes: [0; 64],
            len: 0,
        };
        aad.push(PORTABLE_DOMAIN);
        aad.push(&[0]);
        aad.push(kind.tag());
        aad
    }

    /// Appends `part`; the parts above total at most 53 bytes, so nothing is ever dropped.
    fn push(&mut self, part: &[u8]) {
        let end = self.len.saturating_add(part.len());
        if let Some(slot) = self.bytes.get_mut(self.len..end) {
            slot.copy_from_slice(part);
            self.len = end;
        }
    }

    fn as_aad(&self) -> Aad<&[u8]> {
        Aad::from(self.bytes.get(..self.len).unwrap_or_default())
    }
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
        let aead = key.aead().ok_or(SealError::Encrypt)?;
        let aad = AssociatedData::new(admin, kind);
        Self::seal_under(&aead, key.id, nonce, &aad, plaintext)
    }

    /// Encrypts login state of `kind` for a client under the key derived from `key` for that
    /// kind. The blob records `key`'s id, so any ring still holding `key` opens it
    /// ([`Sealed::open_portable`]).
    ///
    /// ```
    /// use admin_mfa_lifecycle::{KeyId, KeyRing, Nonce, PortableKind, Sealed, SealingKey};
    ///
    /// let old = SealingKey::new(KeyId::new(1), [9; 32]);
    /// let sealed = Sealed::seal_portable(&old, Nonce::from_bytes([3; 12]), PortableKind::Session, b"state")?;
    /// // Rotated: the retired key still opens what it sealed.
    /// let ring = KeyRing::new(SealingKey::new(KeyId::new(2), [8; 32])).with_previous(old);
    /// assert_eq!(&sealed.open_portable(&ring, PortableKind::Session)?[..], b"state");
    /// // One kind never opens as another.
    /// assert!(sealed.open_portable(&ring, PortableKind::MfaChallenge).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Sealed::seal`].
    pub fn seal_portable(
        key: &SealingKey,
        nonce: Nonce,
        kind: PortableKind,
        plaintext: &[u8],
    ) -> Result<Self, SealError> {
        let aead = key.portable_aead(kind).ok_or(SealError::Encrypt)?;
        let aad = AssociatedData::portable(kind);
        Self::seal_under(&aead, key.id, nonce, &aad, plaintext)
    }

    /// Decrypts a portable blob of `kind` with the ring's key of the blob's id.
    ///
    /// # Errors
    /// As [`Sealed::open`]; a blob of another kind fails to authenticate.
    pub fn open_portable(
        &self,
        keys: &KeyRing,
        kind: PortableKind,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let key = keys
            .get(self.key_id)
            .ok_or(SealError::UnknownKey(self.key_id))?;
        if !self.format.is_known() {
            return Err(SealError::UnknownFormat(self.format.get()));
        }
        let aead = key
            .portable_aead(kind)
            .ok_or(SealError::Decrypt(self.key_id))?;
        self.open_under(&aead, &AssociatedData::portable(kind))
    }

    /// Seals `plaintext` with one AEAD key and associated data.
    fn seal_under(
        aead: &LessSafeKey,
        key_id: KeyId,
        nonce: Nonce,
        aad: &AssociatedData,
        plaintext: &[u8],
    ) -> Result<Self, SealError> {
        let mut ciphertext = Vec::with_capacity(plaintext.len().saturating_add(TAG_BYTES));
        ciphertext.extend_from_slice(plaintext);
        let sealed = aead.seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce.0),
            aad.as_aad(),
            &mut ciphertext,
        );
        if sealed.is_err() {
            // The buffer may still hold the plaintext.
            ciphertext.zeroize();
            return Err(SealError::Encrypt);
        }
        Ok(Self {
            key_id,
            format: SealFormat::CURRENT,
            nonce: nonce.0,
            ciphertext,
        })
    }

    /// Decrypts with the ring's key of the same id, checking admin and kind.
    ///
    /// # Errors
    /// [`SealError::UnknownKey`] if the ring lacks the key id; [`SealError::UnknownFormat`]
    /// for a format this build cannot open; [`SealError::Decrypt`] if authentication fails.
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
        let aead = self.aead_for(key)?;
        self.open_under(&aead, &AssociatedData::new(admin, kind))
    }

    /// The AEAD key to open this blob with `key` (whose id must match the blob's), if the
    /// blob's format is one this version knows.
    fn aead_for(&self, key: &SealingKey) -> Result<LessSafeKey, SealError> {
        if key.id != self.key_id {
            return Err(SealError::UnknownKey(self.key_id));
        }
        if !self.format.is_known() {
            return Err(SealError::UnknownFormat(self.format.get()));
        }
        key.aead().ok_or(SealError::Decrypt(self.key_id))
    }

    /// Opens with one AEAD key and associated data.
    fn open_under(
        &self,
        aead: &LessSafeKey,
        aad: &AssociatedData,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let failed = SealError::Decrypt(self.key_id);
        let mut buffer = Zeroizing::new(self.ciphertext.clone());
        let opened = aead
            .open_in_place(
                aead::Nonce::assume_unique_for_key(self.nonce),
                aad.as_aad(),
                buffer.as_mut_slice(),
            )
            .map_err(|_| failed)?
            .len();
        buffer.truncate(opened);
        Ok(buffer)
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
        let invalid = SealError::InvalidPlaintext(self.key_id);
        // A secret is opened on every code check: on the stack when it fits (any valid
        // secret does), so the secret itself is the one allocation. The bytes used are
        // wiped on every way out; the rest of the buffer never holds anything.
        let mut buffer = [0_u8; SECRET_MAX_BYTES + TAG_BYTES];
        let Some(slot) = buffer.get_mut(..self.ciphertext.len()) else {
            let bytes = self.open(keys, admin, SealedKind::TotpSecret)?;
            return TotpSecret::from_bytes(&bytes).map_err(|_| invalid);
        };
        let slot = WipedOnDrop(slot);
        slot.0.copy_from_slice(&self.ciphertext);
        let key = keys
            .get(self.key_id)
            .ok_or(SealError::UnknownKey(self.key_id))?;
        let aead = self.aead_for(key)?;
        let aad = AssociatedData::new(admin, SealedKind::TotpSecret);
        let opened = aead
            .open_in_place(
                aead::Nonce::assume_unique_for_key(self.nonce),
                aad.as_aad(),
                slot.0,
            )
            .map_err(|_| SealError::Decrypt(self.key_id))?;
        TotpSecret::from_bytes(opened).map_err(|_| invalid)
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
            .field("format", &self.format.get())
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
        let mut appended = sealed.clone();
        appended.ciphertext.push(0);
        assert!(
            appended
                .open(&ring, admin(1), SealedKind::TotpSecret)
                .is_err()
        );
        let mut empty = sealed.clone();
        empty.ciphertext.clear();
        assert!(empty.open(&ring, admin(1), SealedKind::TotpSecret).is_err());
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
        // Longer than any secret: opened on the heap, refused the same way; a tampered one
        // is a decryption failure, as on the stack.
        let seal_len = |len: usize| {
            Sealed::seal(
                &key,
                Nonce::from_bytes([0; 12]),
                admin(1),
                SealedKind::TotpSecret,
                &vec![1; len],
            )
            .unwrap()
        };
        let long = seal_len(SECRET_MAX_BYTES + 1);
        assert_eq!(
            long.open_secret(&ring, admin(1)).map(|_| ()),
            Err(SealError::InvalidPlaintext(KeyId::new(3)))
        );
        let mut tampered = long;
        tampered.ciphertext[0] ^= 1;
        assert_eq!(
            tampered.open_secret(&ring, admin(1)).map(|_| ()),
            Err(SealError::Decrypt(KeyId::new(3)))
        );
        // The longest secret fills the stack buffer exactly.
        let longest = seal_len(SECRET_MAX_BYTES)
            .open_secret(&ring, admin(1))
            .unwrap();
        assert_eq!(longest.expose_secret_bytes(), &[1; SECRET_MAX_BYTES][..]);
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
    fn portable_blobs_round_trip_per_kind_and_key() {
        let old = SealingKey::new(KeyId::new(1), [1; 32]);
        let new = SealingKey::new(KeyId::new(2), [2; 32]);
        let ring = KeyRing::new(new.clone()).with_previous(old.clone());
        let kinds = [
            PortableKind::MfaChallenge,
            PortableKind::Session,
            PortableKind::SetupProof,
        ];
        for kind in kinds {
            for key in [&old, &new] {
                let blob =
                    Sealed::seal_portable(key, Nonce::from_bytes([5; 12]), kind, b"state").unwrap();
                assert_eq!(blob.key_id, key.id());
                assert_eq!(&blob.open_portable(&ring, kind).unwrap()[..], b"state");
                for other in kinds.into_iter().filter(|k| *k != kind) {
                    assert_eq!(
                        blob.open_portable(&ring, other).map(|_| ()),
                        Err(SealError::Decrypt(key.id()))
                    );
                }
            }
        }
        let blob = Sealed::seal_portable(
            &old,
            Nonce::from_bytes([5; 12]),
            PortableKind::Session,
            b"s",
        )
        .unwrap();
        assert_eq!(
            blob.open_portable(&KeyRing::new(new), PortableKind::Session)
                .map(|_| ()),
            Err(SealError::UnknownKey(KeyId::new(1)))
        );
        let mut newer = blob;
        newer.format = SealFormat::from_byte(2);
        assert_eq!(
            newer
                .open_portable(&ring, PortableKind::Session)
                .map(|_| ()),
            Err(SealError::UnknownFormat(2))
        );
    }

    #[test]
    fn portable_keys_are_not_the_sealing_key() {
        // The same key, nonce and plaintext sealed as a stored secret and as a portable
        // blob give unrelated ciphertexts, and neither opens as the other.
        let key = SealingKey::new(KeyId::new(1), [1; 32]);
        let ring = KeyRing::new(key.clone());
        let nonce = Nonce::from_bytes([0; 12]);
        let secret = Sealed::seal(&key, nonce, admin(0), SealedKind::TotpSecret, &[0; 20]).unwrap();
        let portable = Sealed::seal_portable(&key, nonce, PortableKind::Session, &[0; 20]).unwrap();
        let keystream = |b: &Sealed| b.ciphertext.get(..20).unwrap().to_vec();
        assert_ne!(keystream(&secret), keystream(&portable));
        assert!(
            portable
                .open(&ring, admin(0), SealedKind::TotpSecret)
                .is_err()
        );
        assert!(secret.open_portable(&ring, PortableKind::Session).is_err());
    }

    #[test]
    fn portable_sealing_is_pinned() {
        // Tokens already handed out must open after an upgrade: the derivation and the
        // associated data are fixed by these bytes, which an independent implementation
        // (HMAC-SHA256 HKDF and ChaCha20-Poly1305 from Python's `cryptography`) also gives.
        let key = SealingKey::new(KeyId::new(3), *b"admin-mfa sealing fixture key 01");
        let blob = Sealed::seal_portable(
            &key,
            Nonce::from_bytes(*b"fixture nonc"),
            PortableKind::Session,
            b"portable fixture",
        )
        .unwrap();
        assert_eq!(
            data_encoding::HEXLOWER.encode(&blob.ciphertext),
            "9de4e660af1daf53daae2b45dcf20a2005cdf5c3732e53629262ff6c543f9d8b"
        );
    }

    /// Blobs sealed by the portable ChaCha20-Poly1305 crate this module used before ring, at
    /// commit c7dcb55 (key id 3, the key, nonce and admin below).
    mod fixture {
        pub(super) const KEY: [u8; 32] = *b"admin-mfa sealing fixture key 01";
        pub(super) const ADMIN: [u8; 16] = *b"fixture admin 01";
        pub(super) const SECRET_NONCE: [u8; 12] = *b"fixture nonc";
        /// `b"12345678901234567890"` as a TOTP secret.
        pub(super) const SECRET: [u8; 36] = [
            0x48, 0xbc, 0xe2, 0xcf, 0x94, 0xc6, 0x0a, 0x8d, 0xbd, 0x63, 0x65, 0x5f, 0xac, 0xe1,
            0x57, 0xbd, 0x3b, 0xe3, 0xed, 0xd6, 0x23, 0xdb, 0x88, 0x18, 0xd3, 0x3d, 0xbc, 0x73,
            0xd0, 0x92, 0xfe, 0x0e, 0x7a, 0x15, 0x2c, 0x4a,
        ];
        pub(super) const TOKEN_NONCE: [u8; 12] = *b"fixture once";
        /// `[0x5a; 32]` as a reset link token.
        pub(super) const TOKEN: [u8; 48] = [
            0xb9, 0x09, 0xd7, 0x67, 0x9e, 0x77, 0x77, 0xb3, 0x6f, 0x36, 0x97, 0x5e, 0x2e, 0x18,
            0xea, 0x4e, 0x7e, 0xea, 0x3d, 0x53, 0xe3, 0xb7, 0xda, 0x19, 0xde, 0xeb, 0xe8, 0x04,
            0x5b, 0xb9, 0xf5, 0x3f, 0xb0, 0x1a, 0x60, 0x7a, 0x31, 0xa6, 0x48, 0x04, 0xfe, 0x5a,
            0x40, 0x28, 0x8a, 0x3c, 0xb9, 0x9d,
        ];
        /// The secret blob as the SQL stores kept it in JSON, before the format was recorded.
        #[cfg(feature = "serde")]
        pub(super) const SECRET_JSON: &str = r#"{"key_id":3,"nonce":"Zml4dHVyZSBub25j","ciphertext":"SLziz5TGCo29Y2VfrOFXvTvj7dYj24gY0z28c9CS_g56FSxK"}"#;

        pub(super) fn blob(nonce: [u8; 12], ciphertext: &[u8]) -> super::Sealed {
            super::Sealed {
                key_id: super::KeyId::new(3),
                format: super::SealFormat::CHACHA20_POLY1305,
                nonce,
                ciphertext: ciphertext.to_vec(),
            }
        }
    }

    #[test]
    fn blobs_sealed_before_ring_still_open() {
        let ring = KeyRing::new(SealingKey::new(KeyId::new(3), fixture::KEY));
        let admin = AdminId::from_bytes(fixture::ADMIN);
        let secret = fixture::blob(fixture::SECRET_NONCE, &fixture::SECRET);
        assert_eq!(
            secret.open_secret(&ring, admin).unwrap(),
            TotpSecret::from_bytes(b"12345678901234567890").unwrap()
        );
        let token = fixture::blob(fixture::TOKEN_NONCE, &fixture::TOKEN);
        assert_eq!(
            token
                .open_link_token(&ring, admin, LinkPurpose::Reset)
                .unwrap(),
            LinkToken::from_bytes([0x5a; 32])
        );
        // Sealing the same input again gives the same bytes: one construction, two codes.
        let resealed = Sealed::seal(
            ring.current(),
            Nonce::from_bytes(fixture::SECRET_NONCE),
            admin,
            SealedKind::TotpSecret,
            b"12345678901234567890",
        )
        .unwrap();
        assert_eq!(resealed, secret);
    }

    #[test]
    fn fixture_blobs_refuse_tampering_and_other_admins() {
        let ring = KeyRing::new(SealingKey::new(KeyId::new(3), fixture::KEY));
        let owner = AdminId::from_bytes(fixture::ADMIN);
        let blob = fixture::blob(fixture::SECRET_NONCE, &fixture::SECRET);
        for i in 0..blob.ciphertext.len() {
            let mut bad = blob.clone();
            if let Some(b) = bad.ciphertext.get_mut(i) {
                *b ^= 0x80;
            }
            assert_eq!(
                bad.open_secret(&ring, owner).map(|_| ()),
                Err(SealError::Decrypt(KeyId::new(3)))
            );
        }
        assert_eq!(
            blob.open_secret(&ring, admin(1)).map(|_| ()),
            Err(SealError::Decrypt(KeyId::new(3)))
        );
        assert_eq!(
            blob.open(&ring, owner, SealedKind::LinkToken(LinkPurpose::Setup))
                .map(|_| ()),
            Err(SealError::Decrypt(KeyId::new(3)))
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn json_without_a_format_is_the_first_format() {
        let ring = KeyRing::new(SealingKey::new(KeyId::new(3), fixture::KEY));
        let admin = AdminId::from_bytes(fixture::ADMIN);
        let stored: Sealed = serde_json::from_str(fixture::SECRET_JSON).unwrap();
        assert_eq!(stored.format, SealFormat::CHACHA20_POLY1305);
        assert_eq!(
            stored.open_secret(&ring, admin).unwrap(),
            TotpSecret::from_bytes(b"12345678901234567890").unwrap()
        );
        // New blobs record it, and read back the same.
        let json = serde_json::to_value(&stored).unwrap();
        assert_eq!(json["format"], 1);
        assert_eq!(serde_json::from_value::<Sealed>(json).unwrap(), stored);
        // A format from a newer build still deserializes; only opening refuses it.
        let newer = fixture::SECRET_JSON.replace(r#""key_id":3,"#, r#""key_id":3,"format":2,"#);
        let newer: Sealed = serde_json::from_str(&newer).unwrap();
        assert_eq!(
            newer.open_secret(&ring, admin).map(|_| ()),
            Err(SealError::UnknownFormat(2))
        );
    }

    #[test]
    fn unknown_formats_are_refused_before_any_key_use() {
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
        assert_eq!(sealed.format, SealFormat::CURRENT);
        for byte in [0, 2, 255] {
            let mut other = sealed.clone();
            other.format = SealFormat::from_byte(byte);
            assert_eq!(
                other.open(&ring, admin(1), SealedKind::TotpSecret),
                Err(SealError::UnknownFormat(byte))
            );
        }
    }

    proptest::proptest! {
        /// ring and the portable crate are the same ChaCha20-Poly1305 with the same
        /// associated data: what either seals, the other opens, for any input.
        #[test]
        fn ring_and_the_portable_crate_agree(
            key in proptest::array::uniform32(proptest::num::u8::ANY),
            nonce in proptest::array::uniform12(proptest::num::u8::ANY),
            who in proptest::array::uniform16(proptest::num::u8::ANY),
            plaintext in proptest::collection::vec(proptest::num::u8::ANY, 0..80),
        ) {
            use chacha20poly1305::ChaCha20Poly1305;
            use chacha20poly1305::aead::{Aead, KeyInit, Payload};

            let admin = AdminId::from_bytes(who);
            let kind = SealedKind::LinkToken(LinkPurpose::Setup);
            let sealing = SealingKey::new(KeyId::new(4), key);
            let ring = KeyRing::new(sealing.clone());
            let aad = AssociatedData::new(admin, kind);
            let aad = aad.bytes.get(..aad.len).unwrap();
            let portable = ChaCha20Poly1305::new(&key.into());

            let ours = Sealed::seal(&sealing, Nonce::from_bytes(nonce), admin, kind, &plaintext).unwrap();
            let theirs = portable
                .encrypt(&nonce.into(), Payload { msg: &plaintext, aad })
                .unwrap();
            proptest::prop_assert_eq!(&ours.ciphertext, &theirs);
            let opened = portable
                .decrypt(&nonce.into(), Payload { msg: &ours.ciphertext, aad })
                .unwrap();
            proptest::prop_assert_eq!(&opened, &plaintext);
            let blob = Sealed { ciphertext: theirs, ..ours };
            proptest::prop_assert_eq!(&blob.open(&ring, admin, kind).unwrap()[..], &plaintext[..]);
        }
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
