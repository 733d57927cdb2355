//! Portable login state: [`MfaChallenge`], [`Authenticated`] and [`SetupProof`] sealed into
//! a [`PortableToken`] a client may hold, and opened back by any replica with the same keys.

use core::fmt;

use admin_mfa_lifecycle::{
    AdminId, KeyId, KeyRing, LinkToken, NONCE_BYTES, Nonce, OrgId, PortableKind, SealError,
    SealFormat, Sealed, TokenHash, UnixTime,
};
use data_encoding::BASE64URL_NOPAD;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::service::MfaService;
use crate::session::{Authenticated, FactorKind, MfaChallenge, SetupProof};

/// The longest token any kind produces is 151 characters; anything much longer is refused
/// before it is decoded.
const MAX_TOKEN_CHARS: usize = 256;

/// The bytes before the ciphertext: format, key id, nonce.
const HEADER_BYTES: usize = 1 + 4 + NONCE_BYTES;

/// A sealed login state: an [`MfaChallenge`], an [`Authenticated`] session or a
/// [`SetupProof`] sealed into an opaque, URL-safe string that a client may hold (a cookie,
/// a `tower-sessions` record, a hidden form field) and any replica sharing the key ring can
/// open.
///
/// Only [`MfaService`] seals and opens these tokens, with a key derived per kind
/// ([`PortableKind`]) from its [`KeyProvider`](admin_mfa_ports::KeyProvider)'s current key
/// (HKDF-SHA256, then ChaCha20-Poly1305 with the kind in the associated data, through
/// [`Sealed::seal_portable`]). A token records the id of the key that sealed it, so it opens
/// as long as the ring still holds that key, current or retired. The types themselves keep
/// no public constructor: what a service opens, a service minted.
///
/// Every token carries its kind (in its key and associated data), the organization and the
/// admin, the credential epoch, when it was issued and when it expires. Opening one that
/// was tampered with, truncated, sealed under a key the ring lacks, of another kind or
/// expired fails with one error, [`Error::SessionExpired`]: "sign in again". Opening checks
/// no store; an opened session is checked against the store by every call that takes it,
/// as a session kept in memory is (epoch, role, revocation), and
/// [`MfaService::is_current`] checks it on demand.
///
/// # Wire format
///
/// The token is unpadded base64url of: one format byte ([`SealFormat`]), the key id (4
/// bytes, big-endian), the 12-byte nonce, then the ciphertext and its 16-byte tag. The
/// plaintext is fixed-width, big-endian:
///
/// | Kind | Plaintext |
/// |---|---|
/// | challenge | org (16), admin (16), epoch (8), issued (8), expires (8) |
/// | session | org (16), admin (16), epoch (8), issued (8), expires (8), authenticated at (8), factors (1), and for a password-only session in a set-up grace period the deadline (8) |
/// | setup proof | link token hash (32), proof (32), issued (8), expires (8) |
///
/// A setup proof is bound to its link instead of an admin: it opens only beside the link
/// token it was sealed with. A session keeps
/// [`Authenticated::setup_due_by`](crate::Authenticated::setup_due_by), so a replica that
/// opens it can still say when set-up is due; a session without a deadline has the
/// shorter layout, the one tokens had before deadlines were sealed, so those still open.
///
/// The token is a bearer credential: its `Debug` shows nothing of it, and it should travel
/// only in a `Secure`, `HttpOnly` cookie or a server-side session record.
///
/// ```
/// use std::sync::Arc;
/// use admin_mfa::lifecycle::{KeyId, KeyRing, SealingKey};
/// use admin_mfa::ports::SystemClock;
/// use admin_mfa::{BuiltinRole, Error, LoginOutcome, MfaConfig, MfaService, NewAdmin, OrgId, Password, Role};
/// use admin_mfa_memory::{MemoryStore, RecordingMailer};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let keys = KeyRing::new(SealingKey::new(KeyId::new(1), [7; 32]));
/// let config = MfaConfig::builder("ACME", "https://admin.example.com/mfa")
///     .new_admins_require_mfa(false)
///     .build()?;
/// let store = Arc::new(MemoryStore::new());
/// let service = MfaService::builder(
///     config.clone(), store.clone(), Arc::new(RecordingMailer::new()), Arc::new(SystemClock), Arc::new(keys.clone()),
/// )
/// .build();
/// let org = OrgId::from_bytes([1; 16]);
/// let password = Password::new("correct horse battery staple")?;
/// service
///     .bootstrap_admin(org, NewAdmin {
///         email: "ada@example.com".into(),
///         display_name: "Ada".into(),
///         role: Role::Builtin(BuiltinRole::AdministratorWithBilling),
///         password: password.clone(),
///     })
///     .await?;
/// let LoginOutcome::Authenticated(session) = service.login(org, "ada@example.com", &password).await? else {
///     return Err("MFA is not required here".into());
/// };
///
/// // One replica seals the session into a cookie value for eight hours...
/// let cookie = service.seal_session(&session, 8 * 3600)?;
/// // ...and another one, with the same store and keys, opens it.
/// let replica = MfaService::builder(
///     config, store, Arc::new(RecordingMailer::new()), Arc::new(SystemClock), Arc::new(keys),
/// )
/// .build();
/// let opened = replica.open_session(cookie.as_str())?;
/// assert_eq!(opened, session);
/// assert!(replica.is_current(&opened).await?);
///
/// // Anything else is one error.
/// assert!(matches!(replica.open_challenge(cookie.as_str()), Err(Error::SessionExpired)));
/// assert!(matches!(replica.open_session("not a token"), Err(Error::SessionExpired)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PortableToken(String);

impl PortableToken {
    /// The token text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The token text, owned.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for PortableToken {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PortableToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PortableToken(<redacted>)")
    }
}

impl MfaService {
    /// Seals a pending challenge for the client to hold until it sends its code. The token
    /// expires with the challenge.
    ///
    /// # Errors
    ///
    /// [`Error::Rng`] if the service's random source fails; [`Error::Seal`] if the
    /// cipher refuses.
    pub fn seal_challenge(&self, challenge: &MfaChallenge) -> Result<PortableToken> {
        let plaintext = encode_challenge(challenge);
        seal(
            &self.key_ring(),
            PortableKind::MfaChallenge,
            self.fresh_nonce()?,
            &plaintext[..],
        )
    }

    /// Opens a token from [`MfaService::seal_challenge`] (of this service or another one
    /// with the same keys), for [`MfaService::verify`] or [`MfaService::request_reset`].
    ///
    /// # Errors
    ///
    /// [`Error::SessionExpired`] for a token that is malformed, tampered with, of another
    /// kind, under a key the ring lacks, or expired.
    pub fn open_challenge(&self, token: &str) -> Result<MfaChallenge> {
        open_challenge_at(&self.key_ring(), self.now(), token).ok_or_else(refused)
    }

    /// Seals a session for the client to hold for `lifetime_secs` from now (the host's
    /// session length). The token keeps the session's login time, so
    /// [`MfaConfig::max_auth_age_secs`](crate::MfaConfig::max_auth_age_secs) still asks for a
    /// fresh login before MFA changes, however long the token lives.
    ///
    /// # Errors
    ///
    /// [`Error::Rng`] if the service's random source fails; [`Error::Seal`] if the
    /// cipher refuses.
    pub fn seal_session(
        &self,
        session: &Authenticated,
        lifetime_secs: u64,
    ) -> Result<PortableToken> {
        let now = self.now();
        let plaintext = encode_session(session, now, now.saturating_add_secs(lifetime_secs));
        seal(
            &self.key_ring(),
            PortableKind::Session,
            self.fresh_nonce()?,
            plaintext.filled(),
        )
    }

    /// Opens a token from [`MfaService::seal_session`]. No store is read: every call that
    /// takes the session re-reads its admin (revocation, epoch, role), and
    /// [`MfaService::is_current`] checks it on demand.
    ///
    /// # Errors
    ///
    /// [`Error::SessionExpired`] for a token that is malformed, tampered with, of another
    /// kind, under a key the ring lacks, or expired.
    pub fn open_session(&self, token: &str) -> Result<Authenticated> {
        open_session_at(&self.key_ring(), self.now(), token).ok_or_else(refused)
    }

    /// Seals the proof [`MfaService::confirm_identity`] returned, bound to the link token it
    /// was issued for, for the client to hold on the QR page. It expires after
    /// [`LifecycleConfig::setup_proof_ttl_secs`](admin_mfa_lifecycle::LifecycleConfig::setup_proof_ttl_secs),
    /// as the proof itself does.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCredentials`] for a link token that does not parse (the identity step
    /// refused it already); [`Error::Rng`] and [`Error::Seal`] as for the other seals.
    pub fn seal_setup_proof(&self, link_token: &str, proof: &SetupProof) -> Result<PortableToken> {
        let link = LinkToken::parse(link_token).map_err(|_| Error::InvalidCredentials)?;
        let now = self.now();
        let expires = now.saturating_add_secs(self.config().lifecycle().setup_proof_ttl_secs());
        let plaintext = encode_setup_proof(&link.hash(), proof, now, expires);
        seal(
            &self.key_ring(),
            PortableKind::SetupProof,
            self.fresh_nonce()?,
            &plaintext[..],
        )
    }

    /// Opens a token from [`MfaService::seal_setup_proof`], for
    /// [`MfaService::complete_setup`] with the same `link_token`.
    ///
    /// # Errors
    ///
    /// [`Error::SessionExpired`] for a token that is malformed, tampered with, of another
    /// kind, under a key the ring lacks, expired, or sealed for another link.
    pub fn open_setup_proof(&self, link_token: &str, token: &str) -> Result<SetupProof> {
        let link = LinkToken::parse(link_token).map_err(|_| refused())?;
        open_setup_proof_at(&self.key_ring(), self.now(), &link.hash(), token).ok_or_else(refused)
    }
}

/// The one answer to a token that does not open.
const fn refused() -> Error {
    Error::SessionExpired
}

/// Seals `plaintext` as `kind` under the ring's current key and encodes the token.
fn seal(
    ring: &KeyRing,
    kind: PortableKind,
    nonce: Nonce,
    plaintext: &[u8],
) -> Result<PortableToken> {
    let sealed = Sealed::seal_portable(ring.current(), nonce, kind, plaintext)?;
    let mut bytes = Vec::with_capacity(HEADER_BYTES.saturating_add(sealed.ciphertext.len()));
    bytes.push(sealed.format.get());
    bytes.extend_from_slice(&sealed.key_id.get().to_be_bytes());
    bytes.extend_from_slice(&sealed.nonce);
    bytes.extend_from_slice(&sealed.ciphertext);
    Ok(PortableToken(BASE64URL_NOPAD.encode(&bytes)))
}

/// Decodes and opens a token of `kind`; `None` for anything that does not open. The reason
/// is logged at debug level (never the token).
fn open(ring: &KeyRing, kind: PortableKind, token: &str) -> Option<Zeroizing<Vec<u8>>> {
    if token.len() > MAX_TOKEN_CHARS {
        tracing::debug!(?kind, "portable token refused: too long");
        return None;
    }
    let Ok(bytes) = BASE64URL_NOPAD.decode(token.as_bytes()) else {
        tracing::debug!(?kind, "portable token refused: not base64url");
        return None;
    };
    let mut reader = Reader(&bytes);
    let (Some([format]), Some(key_id), Some(nonce)) = (
        reader.take::<1>(),
        reader.take::<4>(),
        reader.take::<NONCE_BYTES>(),
    ) else {
        tracing::debug!(?kind, "portable token refused: truncated");
        return None;
    };
    let sealed = Sealed {
        key_id: KeyId::new(u32::from_be_bytes(key_id)),
        format: SealFormat::from_byte(format),
        nonce,
        ciphertext: reader.0.to_vec(),
    };
    match sealed.open_portable(ring, kind) {
        Ok(plaintext) => Some(plaintext),
        Err(e) => {
            log_refusal(kind, e);
            None
        }
    }
}

fn log_refusal(kind: PortableKind, error: SealError) {
    tracing::debug!(?kind, error = %error, "portable token refused");
}

/// Reads fixed-width fields off the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take::<8>().map(u64::from_be_bytes)
    }

    fn time(&mut self) -> Option<UnixTime> {
        self.u64().map(UnixTime::from_secs)
    }

    /// `Some(())` if every byte was read.
    fn end(&self) -> Option<()> {
        self.0.is_empty().then_some(())
    }
}

/// Appends fixed-width fields.
struct Writer<const N: usize> {
    bytes: Zeroizing<[u8; N]>,
    len: usize,
}

impl<const N: usize> Writer<N> {
    fn new() -> Self {
        Self {
            bytes: Zeroizing::new([0; N]),
            len: 0,
        }
    }

    /// Appends `part`; the layouts below are sized exactly, so nothing is ever dropped.
    fn put(mut self, part: &[u8]) -> Self {
        let end = self.len.saturating_add(part.len());
        if let Some(slot) = self.bytes.get_mut(self.len..end) {
            slot.copy_from_slice(part);
            self.len = end;
        }
        self
    }

    fn put_u64(self, value: u64) -> Self {
        self.put(&value.to_be_bytes())
    }

    /// The bytes appended so far.
    fn filled(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

const CHALLENGE_BYTES: usize = 16 + 16 + 8 + 8 + 8;
const SESSION_BYTES: usize = CHALLENGE_BYTES + 8 + 1;
/// A session with a set-up deadline: [`SESSION_BYTES`] and the deadline.
const SESSION_DUE_BYTES: usize = SESSION_BYTES + 8;
const PROOF_BYTES: usize = 32 + 32 + 8 + 8;

fn encode_challenge(challenge: &MfaChallenge) -> Zeroizing<[u8; CHALLENGE_BYTES]> {
    Writer::<CHALLENGE_BYTES>::new()
        .put(challenge.org.as_uuid().as_bytes())
        .put(challenge.admin.as_uuid().as_bytes())
        .put_u64(challenge.credential_epoch)
        .put_u64(challenge.issued_at.as_secs())
        .put_u64(challenge.expires_at.as_secs())
        .bytes
}

fn open_challenge_at(ring: &KeyRing, now: UnixTime, token: &str) -> Option<MfaChallenge> {
    let plaintext = open(ring, PortableKind::MfaChallenge, token)?;
    let mut r = Reader(&plaintext);
    let challenge = MfaChallenge {
        org: OrgId::from_bytes(r.take()?),
        admin: AdminId::from_bytes(r.take()?),
        credential_epoch: r.u64()?,
        issued_at: r.time()?,
        expires_at: r.time()?,
    };
    r.end()?;
    live(PortableKind::MfaChallenge, now, challenge.expires_at)?;
    Some(challenge)
}

/// Bit 0: password; bit 1: TOTP; bit 2: a recovery code. Every session has the password.
fn encode_factors(factors: &[FactorKind]) -> u8 {
    factors.iter().fold(0, |bits, f| {
        bits | match f {
            FactorKind::Password => 1,
            FactorKind::Totp => 2,
            FactorKind::RecoveryCode => 4,
        }
    })
}

fn decode_factors(bits: u8) -> Option<Vec<FactorKind>> {
    match bits {
        1 => Some(vec![FactorKind::Password]),
        3 => Some(vec![FactorKind::Password, FactorKind::Totp]),
        5 => Some(vec![FactorKind::Password, FactorKind::RecoveryCode]),
        _ => None,
    }
}

/// The session's plaintext ([`Writer::filled`]): [`SESSION_BYTES`], or
/// [`SESSION_DUE_BYTES`] with a set-up deadline.
fn encode_session(
    session: &Authenticated,
    issued: UnixTime,
    expires: UnixTime,
) -> Writer<SESSION_DUE_BYTES> {
    let writer = Writer::<SESSION_DUE_BYTES>::new()
        .put(session.org.as_uuid().as_bytes())
        .put(session.admin.as_uuid().as_bytes())
        .put_u64(session.credential_epoch)
        .put_u64(issued.as_secs())
        .put_u64(expires.as_secs())
        .put_u64(session.authenticated_at.as_secs())
        .put(&[encode_factors(&session.factors)]);
    match session.setup_due_by {
        Some(due) => writer.put_u64(due.as_secs()),
        None => writer,
    }
}

fn open_session_at(ring: &KeyRing, now: UnixTime, token: &str) -> Option<Authenticated> {
    let plaintext = open(ring, PortableKind::Session, token)?;
    let mut r = Reader(&plaintext);
    let org = OrgId::from_bytes(r.take()?);
    let admin = AdminId::from_bytes(r.take()?);
    let credential_epoch = r.u64()?;
    let _issued = r.time()?;
    let expires = r.time()?;
    let authenticated_at = r.time()?;
    let [factors] = r.take::<1>()?;
    let setup_due_by = match r.end() {
        Some(()) => None,
        None => {
            let due = r.time()?;
            r.end()?;
            Some(due)
        }
    };
    live(PortableKind::Session, now, expires)?;
    Some(Authenticated {
        setup_due_by,
        admin,
        org,
        factors: decode_factors(factors)?,
        authenticated_at,
        credential_epoch,
    })
}

fn encode_setup_proof(
    link: &TokenHash,
    proof: &SetupProof,
    issued: UnixTime,
    expires: UnixTime,
) -> Zeroizing<[u8; PROOF_BYTES]> {
    Writer::<PROOF_BYTES>::new()
        .put(link.as_bytes())
        .put(proof.secret.as_bytes())
        .put_u64(issued.as_secs())
        .put_u64(expires.as_secs())
        .bytes
}

fn open_setup_proof_at(
    ring: &KeyRing,
    now: UnixTime,
    link: &TokenHash,
    token: &str,
) -> Option<SetupProof> {
    let plaintext = open(ring, PortableKind::SetupProof, token)?;
    let mut r = Reader(&plaintext);
    let sealed_for = TokenHash::from_bytes(r.take()?);
    let secret = Zeroizing::new(r.take::<32>()?);
    let _issued = r.time()?;
    let expires = r.time()?;
    r.end()?;
    live(PortableKind::SetupProof, now, expires)?;
    if !sealed_for.ct_eq(link) {
        tracing::debug!("portable setup proof refused: sealed for another link");
        return None;
    }
    Some(SetupProof {
        secret: LinkToken::from_bytes(*secret),
    })
}

/// `Some(())` while `now` is before `expires`.
fn live(kind: PortableKind, now: UnixTime, expires: UnixTime) -> Option<()> {
    if now < expires {
        Some(())
    } else {
        tracing::debug!(?kind, "portable token refused: expired");
        None
    }
}

#[cfg(test)]
mod tests {
    use admin_mfa_lifecycle::SealingKey;
    use proptest::prelude::*;

    use super::*;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn ring() -> KeyRing {
        KeyRing::new(SealingKey::new(KeyId::new(2), [2; 32]))
            .with_previous(SealingKey::new(KeyId::new(1), [1; 32]))
    }

    fn challenge(
        org: [u8; 16],
        admin: [u8; 16],
        epoch: u64,
        issued: u64,
        ttl: u64,
    ) -> MfaChallenge {
        MfaChallenge {
            org: OrgId::from_bytes(org),
            admin: AdminId::from_bytes(admin),
            credential_epoch: epoch,
            issued_at: UnixTime::from_secs(issued),
            expires_at: UnixTime::from_secs(issued.saturating_add(ttl)),
        }
    }

    fn session(org: [u8; 16], admin: [u8; 16], epoch: u64, at: u64, mfa: bool) -> Authenticated {
        Authenticated {
            setup_due_by: None,
            admin: AdminId::from_bytes(admin),
            org: OrgId::from_bytes(org),
            factors: if mfa {
                vec![FactorKind::Password, FactorKind::Totp]
            } else {
                vec![FactorKind::Password]
            },
            authenticated_at: UnixTime::from_secs(at),
            credential_epoch: epoch,
        }
    }

    fn seal_challenge(ring: &KeyRing, c: &MfaChallenge, nonce: [u8; 12]) -> String {
        seal(
            ring,
            PortableKind::MfaChallenge,
            Nonce::from_bytes(nonce),
            &*encode_challenge(c),
        )
        .unwrap()
        .into_string()
    }

    fn seal_session(ring: &KeyRing, s: &Authenticated, nonce: [u8; 12], ttl: u64) -> String {
        let plaintext = encode_session(s, NOW, NOW.saturating_add_secs(ttl));
        seal(
            ring,
            PortableKind::Session,
            Nonce::from_bytes(nonce),
            plaintext.filled(),
        )
        .unwrap()
        .into_string()
    }

    fn seal_proof(ring: &KeyRing, link: &TokenHash, proof: [u8; 32], nonce: [u8; 12]) -> String {
        let proof = SetupProof {
            secret: LinkToken::from_bytes(proof),
        };
        let plaintext = encode_setup_proof(link, &proof, NOW, NOW.saturating_add_secs(900));
        seal(
            ring,
            PortableKind::SetupProof,
            Nonce::from_bytes(nonce),
            &*plaintext,
        )
        .unwrap()
        .into_string()
    }

    /// Every token with one character replaced by another base64url character (or any
    /// other ASCII character at a few positions), and every proper prefix.
    fn mutations(token: &str) -> impl Iterator<Item = String> + '_ {
        const ALPHABET: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .";
        let replaced = (0..token.len()).flat_map(move |i| {
            ALPHABET.iter().filter_map(move |&c| {
                let mut bytes = token.as_bytes().to_vec();
                let slot = bytes.get_mut(i)?;
                if *slot == c {
                    return None;
                }
                *slot = c;
                String::from_utf8(bytes).ok()
            })
        });
        let truncated = (0..token.len()).map(|n| token.get(..n).unwrap().to_owned());
        replaced.chain(truncated)
    }

    /// Every decoded byte flipped in every way, re-encoded: the single-byte changes an
    /// attacker with a decoder can make.
    fn byte_changes(token: &str) -> impl Iterator<Item = String> {
        let bytes = BASE64URL_NOPAD.decode(token.as_bytes()).unwrap();
        (0..bytes.len()).flat_map(move |i| {
            let bytes = bytes.clone();
            (1..=255_u8).map(move |x| {
                let mut changed = bytes.clone();
                *changed.get_mut(i).unwrap() ^= x;
                BASE64URL_NOPAD.encode(&changed)
            })
        })
    }

    #[test]
    fn tokens_have_the_documented_lengths() {
        let ring = ring();
        let c = seal_challenge(&ring, &challenge([1; 16], [2; 16], 3, 4, 5), [0; 12]);
        let s = seal_session(&ring, &session([1; 16], [2; 16], 3, 4, true), [0; 12], 60);
        let mut due = session([1; 16], [2; 16], 3, 4, false);
        due.setup_due_by = Some(UnixTime::from_secs(5));
        let d = seal_session(&ring, &due, [0; 12], 60);
        let p = seal_proof(&ring, &TokenHash::from_bytes([1; 32]), [2; 32], [0; 12]);
        // Unpadded base64url of header, plaintext and tag.
        let chars = |plaintext: usize| ((HEADER_BYTES + plaintext + 16) * 4).div_ceil(3);
        assert_eq!(
            [c.len(), s.len(), d.len(), p.len()],
            [
                chars(CHALLENGE_BYTES),
                chars(SESSION_BYTES),
                chars(SESSION_DUE_BYTES),
                chars(PROOF_BYTES)
            ]
        );
        assert_eq!([c.len(), s.len(), d.len(), p.len()], [119, 131, 142, 151]);
        assert!(p.len() <= MAX_TOKEN_CHARS);
        for token in [&c, &s, &d, &p] {
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
        }
    }

    /// Only the two session layouts open, with a deadline's 8 bytes or without them: a
    /// plaintext of any other length, sealed under the right key, is refused.
    #[test]
    fn a_session_opens_only_in_its_two_layouts() {
        let ring = ring();
        let mut s = session([1; 16], [2; 16], 3, 4, false);
        s.setup_due_by = Some(UnixTime::from_secs(9));
        let full = encode_session(&s, NOW, NOW.saturating_add_secs(60));
        for len in SESSION_BYTES - 1..=SESSION_DUE_BYTES + 1 {
            let mut bytes = full.filled().to_vec();
            bytes.resize(len, 0);
            let nonce = Nonce::from_bytes([5; 12]);
            let token = seal(&ring, PortableKind::Session, nonce, &bytes).unwrap();
            let opened = open_session_at(&ring, NOW, token.as_str()).map(|o| o.setup_due_by);
            let expected = match len {
                SESSION_BYTES => Some(None),
                SESSION_DUE_BYTES => Some(Some(UnixTime::from_secs(9))),
                _ => None,
            };
            assert_eq!(opened, expected, "{len} bytes");
        }
    }

    #[test]
    fn a_retired_key_opens_and_a_dropped_one_does_not() {
        let old = KeyRing::new(SealingKey::new(KeyId::new(1), [1; 32]));
        let c = challenge([1; 16], [2; 16], 3, NOW.as_secs(), 60);
        let token = seal_challenge(&old, &c, [9; 12]);
        assert_eq!(open_challenge_at(&ring(), NOW, &token), Some(c));
        let rotated_out = KeyRing::new(SealingKey::new(KeyId::new(2), [2; 32]));
        assert_eq!(open_challenge_at(&rotated_out, NOW, &token), None);
    }

    #[test]
    fn expiry_is_exclusive() {
        let ring = ring();
        let c = challenge([1; 16], [2; 16], 3, NOW.as_secs(), 60);
        let token = seal_challenge(&ring, &c, [9; 12]);
        let last = NOW.saturating_add_secs(59);
        assert!(open_challenge_at(&ring, last, &token).is_some());
        assert!(open_challenge_at(&ring, c.expires_at, &token).is_none());
        let s = seal_session(&ring, &session([1; 16], [2; 16], 3, 4, false), [9; 12], 60);
        assert!(open_session_at(&ring, last, &s).is_some());
        assert!(open_session_at(&ring, NOW.saturating_add_secs(60), &s).is_none());
        let link = TokenHash::from_bytes([1; 32]);
        let p = seal_proof(&ring, &link, [2; 32], [9; 12]);
        assert!(open_setup_proof_at(&ring, NOW.saturating_add_secs(899), &link, &p).is_some());
        assert!(open_setup_proof_at(&ring, NOW.saturating_add_secs(900), &link, &p).is_none());
    }

    #[test]
    fn kinds_and_links_do_not_mix() {
        let ring = ring();
        let link = TokenHash::from_bytes([1; 32]);
        let c = seal_challenge(
            &ring,
            &challenge([1; 16], [2; 16], 3, NOW.as_secs(), 60),
            [9; 12],
        );
        let s = seal_session(&ring, &session([1; 16], [2; 16], 3, 4, true), [9; 12], 60);
        let p = seal_proof(&ring, &link, [2; 32], [9; 12]);
        assert!(open_session_at(&ring, NOW, &c).is_none());
        assert!(open_setup_proof_at(&ring, NOW, &link, &c).is_none());
        assert!(open_challenge_at(&ring, NOW, &s).is_none());
        assert!(open_setup_proof_at(&ring, NOW, &link, &s).is_none());
        assert!(open_challenge_at(&ring, NOW, &p).is_none());
        assert!(open_session_at(&ring, NOW, &p).is_none());
        assert!(open_setup_proof_at(&ring, NOW, &link, &p).is_some());
        let other_link = TokenHash::from_bytes([3; 32]);
        assert!(open_setup_proof_at(&ring, NOW, &other_link, &p).is_none());
    }

    #[test]
    fn oversized_and_foreign_input_is_refused() {
        let ring = ring();
        for token in ["", "A", "====", "é", &"A".repeat(MAX_TOKEN_CHARS + 1)] {
            assert!(open_session_at(&ring, NOW, token).is_none(), "{token}");
        }
    }

    #[test]
    fn unknown_factor_bits_are_refused() {
        for bits in [0_u8, 2, 4, 7, 255] {
            assert_eq!(decode_factors(bits), None, "{bits}");
        }
        assert_eq!(encode_factors(&[FactorKind::Password]), 1);
        assert_eq!(encode_factors(&[FactorKind::Password, FactorKind::Totp]), 3);
        let recovered = [FactorKind::Password, FactorKind::RecoveryCode];
        assert_eq!(encode_factors(&recovered), 5);
        assert_eq!(decode_factors(5).as_deref(), Some(&recovered[..]));
    }

    #[test]
    fn debug_shows_no_token() {
        let token = PortableToken("secret-token-text".into());
        assert_eq!(format!("{token:?}"), "PortableToken(<redacted>)");
    }

    fn arb_bytes16() -> impl Strategy<Value = [u8; 16]> {
        proptest::array::uniform16(any::<u8>())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn challenges_round_trip(
            org in arb_bytes16(), admin in arb_bytes16(), epoch in any::<u64>(),
            issued in 0..NOW.as_secs(), ttl in 1_u64..=1_000_000_000, nonce in proptest::array::uniform12(any::<u8>()),
        ) {
            let ring = ring();
            let c = challenge(org, admin, epoch, issued, ttl);
            let token = seal_challenge(&ring, &c, nonce);
            let at = c.issued_at;
            prop_assert_eq!(open_challenge_at(&ring, at, &token), Some(c));
        }

        #[test]
        fn sessions_round_trip(
            org in arb_bytes16(), admin in arb_bytes16(), epoch in any::<u64>(),
            at in any::<u64>(), mfa in any::<bool>(), ttl in 1_u64..=u64::from(u32::MAX),
            nonce in proptest::array::uniform12(any::<u8>()), due in proptest::option::of(any::<u64>()),
        ) {
            let ring = ring();
            let mut s = session(org, admin, epoch, at, mfa);
            s.setup_due_by = due.map(UnixTime::from_secs);
            let token = seal_session(&ring, &s, nonce, ttl);
            prop_assert_eq!(open_session_at(&ring, NOW, &token), Some(s));
        }

        #[test]
        fn setup_proofs_round_trip(
            link in proptest::array::uniform32(any::<u8>()), proof in proptest::array::uniform32(any::<u8>()),
            nonce in proptest::array::uniform12(any::<u8>()),
        ) {
            let ring = ring();
            let link = TokenHash::from_bytes(link);
            let token = seal_proof(&ring, &link, proof, nonce);
            let opened = open_setup_proof_at(&ring, NOW, &link, &token).map(|p| p.hash());
            prop_assert_eq!(opened, Some(LinkToken::from_bytes(proof).hash()));
        }
    }

    proptest! {
        // Each case tries every single-byte change (some 25 000 openings): few cases.
        #![proptest_config(ProptestConfig::with_cases(4))]

        #[test]
        fn every_single_byte_change_is_refused(
            org in arb_bytes16(), admin in arb_bytes16(), epoch in any::<u64>(),
            nonce in proptest::array::uniform12(any::<u8>()), mfa in any::<bool>(),
        ) {
            let ring = ring();
            let link = TokenHash::from_bytes([7; 32]);
            let c = seal_challenge(&ring, &challenge(org, admin, epoch, NOW.as_secs(), 60), nonce);
            let s = seal_session(&ring, &session(org, admin, epoch, NOW.as_secs(), mfa), nonce, 60);
            let p = seal_proof(&ring, &link, org.repeat(2).try_into().unwrap(), nonce);
            prop_assert!(open_challenge_at(&ring, NOW, &c).is_some());
            prop_assert!(open_session_at(&ring, NOW, &s).is_some());
            prop_assert!(open_setup_proof_at(&ring, NOW, &link, &p).is_some());
            for bad in mutations(&c).chain(byte_changes(&c)) {
                prop_assert!(open_challenge_at(&ring, NOW, &bad).is_none(), "{}", bad);
            }
            for bad in mutations(&s).chain(byte_changes(&s)) {
                prop_assert!(open_session_at(&ring, NOW, &bad).is_none(), "{}", bad);
            }
            for bad in mutations(&p).chain(byte_changes(&p)) {
                prop_assert!(open_setup_proof_at(&ring, NOW, &link, &bad).is_none(), "{}", bad);
            }
        }
    }
}
