//! Sans-IO MFA lifecycle for admin accounts: state, commands, events, link tokens and sealed
//! secrets.
//!
//! This crate is the pure core of `admin-mfa`. It owns the per-admin [`MfaState`] and the
//! rules that change it, as a decide/apply pair: [`decide`] turns a [`Command`] into
//! [`Event`]s (or a [`TransitionError`]) without touching anything, and [`apply`] folds an
//! event into the state. No async, no I/O, no clock, no RNG: time is an argument, and the
//! randomness a command needs (a new link token, a nonce, a new TOTP secret) comes inside
//! the command. The same inputs always give the same events, so every time boundary and
//! every race can be replayed in a test.
//!
//! The service around it (the `admin-mfa` facade) loads `(admin, version)` from the store,
//! checks the policy and the password, builds a command, calls [`decide`], applies the
//! events, turns them into [`notifications`] and [`audit_events`], and commits all of it in
//! one compare-and-swap write. A lost race is a store conflict, never a second success.
//!
//! # The state machine
//!
//! The state has four facets that change independently (docs/ARCHITECTURE.md §3):
//!
//! ```text
//! requirement  NotRequired --Enable / Require--> Required
//!              Required --RemoveRequirement (not under an org-wide requirement)--> NotRequired
//!
//! factor       None --CompleteSetup(setup link, right code)--> Active(secret A)
//!              Active(A) --CompleteSetup(reset link, right code for B)--> Active(B)
//!              Active --AdminReset--> None   (MFA made required, and a new setup link)
//!
//! link         none --Enable (unenrolled) / IssueSetupLink / AdminReset--> setup link
//!              none --RequestReset (enrolled)--> reset link      (a newer link replaces an older)
//!              link --ConfirmIdentity--> link + candidate + proof (a newer candidate replaces an older)
//!              link --CompleteSetup ok / Expire / LockedOut / AdminReset--> none
//!              link + candidate --CompleteSetup with a wrong proof--> refused, nothing counted
//!              link + candidate --wrong code--> link failures + 1; at setup_attempts --> none
//!
//! failures     n --wrong, malformed or replayed login code--> n + 1   (link codes never count here)
//!              n >= delay_after: the next check waits base * 2^(n - delay_after), refused unchecked
//!              n + 1 = lock_after --> Locked (links revoked, the run restarts at 0)
//!              n --right code--> 0 ;  Locked --Unlock / AdminReset / CompleteSetup ok--> unlocked, 0
//!
//! passwords    p --ReservePassword (login or link identity step)--> p + 1, before the hash
//!              is checked (never locks); p >= password_delay_after: the next password waits
//!              base * 2^(p - after), refused unchecked (PasswordDelayed);
//!              p --PasswordAccepted (the checked password was right)--> 0
//! ```
//!
//! The journey of the guide's story, with the commands that move it:
//!
//! ```text
//!                  Enable / IssueSetupLink / AdminReset
//!  +------------+ -----------------------------------> +------------+
//!  | unenrolled |                                       | setup link |
//!  +------------+ <----------------------------------- +------------+
//!        ^             Expire / LockedOut                  |     ^
//!        |                               ConfirmIdentity   |     | ConfirmIdentity again
//!        |                                                 v     | (the newer candidate wins)
//!        |                                     +------------------+
//!        |                                     | link + candidate | --wrong code--> SetupFailed
//!        |                                     +------------------+
//!        |                                                 | CompleteSetup (right code)
//!        | AdminReset                                      v
//!        |                                         +---------------+ --Verify--> Verified,
//!        +---------------------------------------- |   Active(A)   |   VerifyFailed, Replayed,
//!                                                  +---------------+   Delayed, RefusedLocked
//!                                                     |         ^
//!                                       RequestReset  |         | CompleteSetup (right code for B):
//!                                                     v         | Active(B), A stops working
//!                                          +-----------------------------+
//!                                          | Active(A) + reset link      |
//!                                          | (+ candidate B after        |
//!                                          | ConfirmIdentity); A works   |
//!                                          +-----------------------------+
//! ```
//!
//! Bulk [`Command::Require`] only moves the requirement facet; the admin then meets
//! [`Command::IssueSetupLink`] at the next password login.
//!
//! # Getting started
//!
//! ```
//! use admin_mfa_lifecycle::{
//!     AdminId, Code, Command, DecideContext, Event, Fresh, KeyId, KeyRing, LifecycleConfig,
//!     LinkPurpose, LinkToken, MfaState, Nonce, RecoveryCodes, SealingKey, TotpSecret, UnixTime,
//!     execute,
//! };
//! use rand::{SeedableRng, rngs::ChaCha20Rng};
//!
//! // Production passes the OS RNG and the real clock; a seeded RNG keeps the example exact.
//! let mut rng = ChaCha20Rng::seed_from_u64(1);
//! let target = AdminId::from_bytes([1; 16]);
//! let boss = AdminId::from_bytes([2; 16]);
//! let config = LifecycleConfig::default();
//! let keys = KeyRing::new(SealingKey::generate(KeyId::new(1), &mut rng));
//! let ctx = DecideContext::new(target, &config, &keys);
//! let mut now = UnixTime::from_secs(1_700_000_000);
//!
//! // 1. An admin ticks "Enable MultiFactor Authentication": required, plus a setup link.
//! let fresh = Fresh::generate(&mut rng);
//! let link = fresh.token().clone(); // travels in the e-mail (sealed in the outbox)
//! let (state, events) =
//!     execute(&MfaState::new(), Command::Enable { by: Some(boss), fresh }, now, &ctx)?;
//! assert!(state.requirement.is_required());
//! assert!(matches!(events.as_slice(), [Event::RequirementSet { .. }, Event::LinkIssued(_)]));
//!
//! // 2. The target opens the link and re-enters email and password (checked by the service);
//! //    a new secret is drawn and shown once as a QR code, with a proof of this step that
//! //    stays in the target's browser session (only its hash is stored).
//! let secret = TotpSecret::generate_with(&mut rng);
//! let proof = LinkToken::generate(&mut rng);
//! let confirm = Command::ConfirmIdentity {
//!     purpose: LinkPurpose::Setup,
//!     token_hash: link.hash(),
//!     secret: secret.clone(),
//!     nonce: Nonce::generate(&mut rng),
//!     proof: proof.hash(),
//! };
//! let (state, _) = execute(&state, confirm, now, &ctx)?;
//!
//! // 3. The first code from the app completes the setup; its step is used up.
//! let code = admin_mfa_totp::generate(&secret, config.totp(), now.as_secs());
//! //    Ten recovery codes come with the new factor: shown once, only their keyed hashes kept.
//! let recovery = RecoveryCodes::generate(&mut rng);
//! let complete = Command::CompleteSetup {
//!     purpose: LinkPurpose::Setup,
//!     token_hash: link.hash(),
//!     proof: proof.hash(),
//!     code: Code::new(code.as_str()),
//!     recovery: Some(recovery.clone()),
//! };
//! let (state, events) = execute(&state, complete, now, &ctx)?;
//! assert!(state.is_enrolled() && state.link.is_none());
//! assert!(matches!(
//!     events.as_slice(),
//!     [Event::Enrolled { .. }, Event::RecoveryCodesIssued { .. }]
//! ));
//! assert_eq!(state.recovery_codes_left(), 10);
//!
//! // 4. At the next login, a code from the next step is accepted; a replay would not be.
//! now = now.saturating_add_secs(30);
//! let code = Code::new(admin_mfa_totp::generate(&secret, config.totp(), now.as_secs()).as_str());
//! let (state, events) = execute(&state, Command::Verify { code: code.clone() }, now, &ctx)?;
//! assert!(matches!(events.as_slice(), [Event::Verified { .. }]));
//! let (state, events) = execute(&state, Command::Verify { code }, now, &ctx)?;
//! assert!(matches!(events.as_slice(), [Event::Replayed { failures: 1, .. }]));
//!
//! // 5. With the phone lost, a recovery code stands in for a code, once (any case or dashes).
//! let typed = Code::new(recovery.formatted().next().unwrap_or_default().to_lowercase());
//! let command = Command::VerifyRecoveryCode { code: typed.clone() };
//! let (state, events) = execute(&state, command, now, &ctx)?;
//! assert!(matches!(events.as_slice(), [Event::RecoveryCodeUsed { remaining: 9, .. }]));
//! let (_, events) = execute(&state, Command::VerifyRecoveryCode { code: typed }, now, &ctx)?;
//! assert!(matches!(events.as_slice(), [Event::VerifyFailed { .. }]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Rules worth knowing
//!
//! - **Wrong codes are events.** [`Event::VerifyFailed`] and [`Event::Replayed`] count on the
//!   active factor's counter, which every login and re-authentication code shares (RL-2).
//!   From `delay_after` failures an attempt inside the delay gives [`Event::Delayed`] and is
//!   neither checked nor counted; at `lock_after` an [`Event::LockedOut`] follows, the factor
//!   locks (every login code gives [`Event::RefusedLocked`]) and the pending link is revoked.
//!   A self-service reset link requested after the lock is the way out (T-RST-7), as are
//!   [`Command::Unlock`] and [`Command::AdminReset`].
//! - **A link's last step is bound to its identity step.** [`Command::CompleteSetup`] needs
//!   the hash of the proof [`Command::ConfirmIdentity`] stored with the candidate, fresh
//!   (SETUP-1); without it nothing happens. Its wrong codes give [`Event::SetupFailed`] and
//!   count on the link alone; at `setup_attempts` an [`Event::LinkVoided`] removes the link
//!   and its candidate (SETUP-2). The active factor's counter and lock are never touched
//!   there, so a reset in progress cannot be used to lock the factor that still works.
//! - **Passwords are counted before they are checked.** [`Command::ReservePassword`] counts
//!   an attempt ([`Event::PasswordAttempted`]) before the service runs argon2, so a burst of
//!   concurrent guesses gets at most `password_delay_after` checks (RL-8).
//! - **Links** are single-slot: issuing one revokes the previous one (TOK-4); a link is bound
//!   to its purpose and to the credential epoch at issue (TOK-2); only its SHA-256 is in the
//!   state; it is consumed by the successful [`Command::CompleteSetup`] only (never by
//!   opening it, TOK-3). Link e-mails are rate-limited per admin and purpose (RL-7):
//!   an excess request gives [`Event::LinkRateLimited`] and changes nothing.
//! - **Self-service reset** keeps the old factor working until the new one is verified
//!   (RST-3); **admin reset** removes it at once (D3).
//! - **Require** is idempotent and never touches a factor or an in-flight enrolment (REQ-1).
//! - Every state-changing event also feeds [`notifications`] (one e-mail per event, with a
//!   [`DedupeKey`]) and [`audit_events`].
//!
//! # Feature flags
//!
//! - `serde`: `Serialize`/`Deserialize` for the state, events, notifications, audit events
//!   and the types inside them (SQL stores keep [`MfaState`] and [`Notification`] as JSON).
//!   Enables `admin-mfa-policy/serde` and `admin-mfa-totp/serde`. Secrets only ever appear
//!   sealed; [`Email`] validates on the way in.
//!
//! # Security considerations
//!
//! - A store never sees a raw TOTP secret or link token: both are sealed with
//!   ChaCha20-Poly1305 under a [`KeyRing`] the store does not hold (SEC-3, T-LOG-5). The
//!   associated data binds the admin id and the kind of plaintext, so a blob cannot be moved
//!   to another admin or reused as another kind. A missing or wrong key is
//!   [`TransitionError::Seal`], never a wrong code.
//! - The caller must draw every [`Nonce`] and [`Fresh`] from a CSPRNG and never reuse one
//!   under the same key; 96-bit random nonces are safe far beyond the number of secrets one
//!   key will seal here.
//! - Lookup by token hash and the hash comparison in [`decide`] are constant-time; the TOTP
//!   comparison is `admin-mfa-totp`'s constant-time check.
//! - All [`TransitionError::InvalidLink`] reasons, `VerifyFailed`, `Replayed`, `Delayed` and
//!   `RefusedLocked` must reach the end user as the same generic error; the distinctions are
//!   for audit and for authenticated management APIs only.
//! - `Debug` of every type redacts secrets, codes, tokens and password hashes.
//!
//! # Errors
//!
//! [`decide`] fails with a [`TransitionError`] only when the command does not apply to the
//! state; parsing and configuration have their own error types ([`EmailError`],
//! [`TokenError`], [`LifecycleConfigError`], [`SealError`]).

mod config;
mod email;
mod machine;
mod notify;
mod password_hash;
mod recovery;
mod seal;
#[cfg(feature = "serde")]
mod serde_b64;
mod state;
mod time;
mod token;

pub use admin_mfa_policy::{AdminId, BuiltinRole, OrgId, Role};
pub use admin_mfa_totp::{TimeStep, TotpParams, TotpSecret, VerifyError};

pub use config::{
    LifecycleConfig, LifecycleConfigBuilder, LifecycleConfigError, MAX_DELAY_SECS,
    MAX_EMAIL_WINDOW_SECS, MAX_EMAILS_PER_WINDOW, MAX_LINK_TTL_SECS, MAX_THRESHOLD,
};
pub use email::{Email, EmailError, MAX_EMAIL_LEN};
pub use machine::{
    Code, Command, DecideContext, Event, Fresh, IssuedLink, LinkRejection, RequirementSource,
    TransitionError, apply, apply_all, apply_in_place, decide, execute,
};
pub use notify::{
    AuditEvent, AuditKind, CodeCheck, DedupeKey, Notification, NotificationDetail,
    NotificationKind, PasswordCheck, SETUP_REMINDERS_SECS, audit_events, notifications,
};
pub use password_hash::PasswordHash;
pub use recovery::{
    MAX_RECOVERY_INPUT_LEN, RECOVERY_CODE_BYTES, RECOVERY_CODE_LEN, RECOVERY_CODES, RecoveryCode,
    RecoveryCodes, RecoveryHash, StoredRecoveryCodes,
};
pub use seal::{
    KEY_BYTES, KeyId, KeyRing, NONCE_BYTES, Nonce, PortableKind, SealError, SealFormat, Sealed,
    SealedKind, SealedSecret, SealingKey, TAG_BYTES,
};
pub use state::{
    ActiveFactor, Admin, AdminProfile, Candidate, EmailLog, Factor, Failures, LoginStep, MfaState,
    PasswordFailures, PendingLink, Requirement, WidgetPrefs,
};
pub use time::UnixTime;
pub use token::{LinkPurpose, LinkToken, TOKEN_BYTES, TOKEN_ENCODED_LEN, TokenError, TokenHash};

/// The README's example, run as a doctest so it keeps up with the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
