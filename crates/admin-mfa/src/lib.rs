//! TOTP multi-factor authentication for the administrator accounts of any Rust service,
//! governed by admin roles.
//!
//! This is the facade of the `admin-mfa` workspace. [`MfaService`] ties the pieces together
//! the way an admin portal such as JumpCloud's does it: who may enable, require or reset MFA
//! for whom comes from `admin-mfa-policy`; the per-admin state machine (requirement, factor,
//! pending link, failure counter) from `admin-mfa-lifecycle`; storage, mail, time and keys
//! from the ports of `admin-mfa-ports`. Every operation of the story is one call:
//!
//! | Portal step | Call |
//! |---|---|
//! | new admins get MFA by default | [`MfaService::create_admin`] (and [`MfaService::bootstrap_admin`] for an org's first admin) |
//! | "Enable MultiFactor Authentication for Admin Login" | [`MfaService::enable_mfa`] (policy-gated; [`Error::Forbidden`] carries the reason) |
//! | the emailed "Set Up MFA" link | [`MfaService::open_link`] → [`MfaService::confirm_identity`] → [`Provisioning`] → [`MfaService::complete_setup`] |
//! | log in with MFA | [`MfaService::login`] → [`MfaChallenge`] → [`MfaService::verify`] → [`Authenticated`] |
//! | authenticator lost: a recovery code | [`MfaService::verify_recovery_code`] (ten single-use codes come with [`SetupComplete`]; [`MfaService::regenerate_recovery_codes`] makes a new set) |
//! | required but not enrolled | [`MfaService::login`] → [`LoginOutcome::SetupRequired`] (a new setup e-mail, rate-limited, only when no working setup link is pending, LNK-1) |
//! | "Admins Without MFA Required" tile | [`MfaService::admins_without_mfa_required`] → [`WidgetView`] |
//! | Actions → Require MFA | [`MfaService::require_mfa`] → [`BulkReport`] |
//! | Home settings: widget off | [`MfaService::set_widget_enabled`] |
//! | "Reset TOTP MFA" at the prompt | [`MfaService::request_reset`], then the same link calls |
//! | the designated admin resets it | [`MfaService::reset_mfa`]; [`MfaService::unlock_mfa`] after a lockout |
//! | step-up before an MFA change | [`MfaService::reauthenticate`] |
//! | the Administrators list | [`MfaService::list_admins`] → [`AdminListItem`] with [`MfaStatus`] |
//! | audit, outbox | [`MfaService::audit_log`], [`MfaService::dispatch_emails`] |
//!
//! Every state change writes its audit events and queues its e-mails in the same atomic
//! store write (a transactional outbox); [`MfaService::dispatch_emails`] delivers them with
//! retries. Sessions carry a credential epoch that enrolment, reset and lockout move on, so
//! [`MfaService::is_current`] tells a host when to end an older session.
//!
//! # Getting started
//!
//! The guide's story in miniature, on the in-memory store of `admin-mfa-memory`:
//!
//! ```
//! use std::sync::Arc;
//! use admin_mfa::lifecycle::{KeyId, KeyRing, SealingKey};
//! use admin_mfa::ports::{Clock, SystemClock};
//! use admin_mfa::totp::{OtpauthUri, generate};
//! use admin_mfa::{
//!     BuiltinRole, LoginOutcome, MfaConfig, MfaService, NewAdmin, OrgId, Password, Role,
//! };
//! use admin_mfa_memory::{MemoryStore, RecordingMailer};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let mailer = Arc::new(RecordingMailer::new());
//! let service = MfaService::builder(
//!     MfaConfig::builder("ACME Admin Portal", "https://admin.example.com/mfa").build()?,
//!     Arc::new(MemoryStore::new()),
//!     mailer.clone(),
//!     Arc::new(SystemClock),
//!     Arc::new(KeyRing::new(SealingKey::new(KeyId::new(1), [7; 32]))), // load yours from a vault
//! )
//! .build();
//! let org = OrgId::from_bytes([1; 16]);
//! let password = Password::new("correct horse battery staple")?;
//!
//! // The organization's first admin; new admins must use MFA by default.
//! service
//!     .bootstrap_admin(org, NewAdmin {
//!         email: "ada@example.com".into(),
//!         display_name: "Ada".into(),
//!         role: Role::Builtin(BuiltinRole::AdministratorWithBilling),
//!         password: password.clone(),
//!     })
//!     .await?;
//! let outcome = service.login(org, "ada@example.com", &password).await?;
//! assert!(matches!(outcome, LoginOutcome::SetupRequired(_)));
//!
//! // The setup e-mail goes out; its link carries the token.
//! service.dispatch_emails().await?;
//! let token = mailer.last_link_token("ada@example.com").ok_or("no link")?;
//! let token = token.as_str();
//!
//! // Email and password on the link's page: the QR code (here, its URI) is shown once.
//! let provisioning = service.confirm_identity(token, "ada@example.com", &password).await?;
//! let app = OtpauthUri::parse(&provisioning.otpauth_uri())?; // the authenticator app
//! let now = SystemClock.now().as_secs();
//! let proof = provisioning.proof(); // keep it with the QR page, in the same browser session
//! service
//!     .complete_setup(token, proof, &generate(app.secret(), app.params(), now))
//!     .await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! From then on `login` answers [`LoginOutcome::MfaChallenge`], and [`MfaService::verify`]
//! with the next code from the app gives the [`Authenticated`] session every management call
//! takes. The `quickstart` example tells the whole story, roles, widget, bulk require,
//! lockout and reset included: `cargo run --example quickstart`.
//!
//! # Embedding it in a web service
//!
//! - **Where state lives.** Everything durable is in the [`AdminStore`]: admins, their MFA
//!   state, the audit log and the e-mail outbox. Between requests a host keeps only the
//!   login state the service handed out: an [`MfaChallenge`] after the password, an
//!   [`Authenticated`] session after the code, and the [`SetupProof`] between a link's
//!   identity step and its code. Keep them server-side, or seal them with
//!   [`MfaService::seal_challenge`], [`MfaService::seal_session`] and
//!   [`MfaService::seal_setup_proof`] into a [`PortableToken`] that any replica holding the
//!   keys opens (a cookie or a session store can carry it; no sticky sessions). An opened
//!   session is re-checked against the store on every call.
//! - **Errors as HTTP.** The crate `admin-mfa-axum` maps every [`Error`] to a status with an
//!   RFC 9457 problem body: the generic credential and code answers are 401, a policy refusal
//!   403 with its reason, [`Error::NotFound`] 404, [`Error::Conflict`] and
//!   [`Error::EmailTaken`] 409, [`Error::InvalidInput`] 422 naming the field,
//!   [`Error::RetryLater`] 429 with `Retry-After`, store failures 503. Other frameworks can
//!   follow the same table.
//! - **The outbox needs a task.** State changes only queue e-mails; call
//!   [`MfaService::dispatch_emails`] every few seconds (`admin_mfa_axum::spawn_dispatcher`
//!   does it on a tokio interval and stops on shutdown). Several replicas may run it at once.
//! - **Debug builds.** argon2id at the OWASP parameters takes seconds per login without
//!   optimisation. This workspace builds its dependencies optimised, but that setting does not
//!   carry over to a host; add to the host's `Cargo.toml`:
//!   ```toml
//!   [profile.dev.package.argon2]
//!   opt-level = 3
//!   ```
//! - **After set-up, wait for the next code.** The code that completes a set-up is used up
//!   (VER-2), so the first MFA login needs the app's next code, up to 30 seconds later; say so
//!   on the "done" page.
//!
//! [`AdminStore`]: admin_mfa_ports::AdminStore
//!
//! # Feature flags
//!
//! All off by default.
//!
//! - `qr`: [`Provisioning::qr_svg`] and [`Provisioning::qr_terminal`] (through
//!   `admin-mfa-totp/qr`).
//! - `qr-png`: [`Provisioning::qr_png`] (implies `qr`; adds `image` with its PNG codec only).
//! - `danger-insecure-fast-hash`: argon2 parameters far below the OWASP floor
//!   (`PasswordParams::insecure_fast_for_tests`), for tests only. Never in production.
//!
//! # Security considerations
//!
//! - **One answer.** The public entry points answer every refusal with one generic error:
//!   [`Error::InvalidCredentials`] for the password and link steps, [`Error::InvalidCode`]
//!   for codes (wrong, malformed, replayed, delayed, locked). Unknown accounts run a dummy
//!   argon2 verification with the live parameters, so neither the answer nor its timing
//!   tells who exists. The distinctions are in the audit log.
//! - **Replay and races.** Every change is one compare-and-swap store write: a code is
//!   accepted once, a link completes once, and concurrent failures are all counted. A store
//!   failure is [`Error::Store`], never "wrong code", and counts nothing.
//! - **Lockout.** One counter per admin for the login and re-authentication codes of the
//!   active factor; delays from the fifth failure, a lock at the tenth. A lock also moves the
//!   credential epoch on, so a pending [`MfaChallenge`] from before it stays dead after an
//!   unlock.
//! - **The link's code step.** [`MfaService::complete_setup`] needs the [`SetupProof`] that
//!   [`MfaService::confirm_identity`] returned, so a leaked link token alone can submit no
//!   code (SETUP-1). Wrong codes there count on the link only, which is voided after five; the
//!   factor that still works is never counted against or locked from there (SETUP-2).
//! - **Password limiter.** Password attempts (login and the link's email-and-password step)
//!   count on a separate per-admin counter, each reserved by a compare-and-swap write before
//!   argon2 runs (RL-8): however many guesses race, at most ten are checked from a zero count,
//!   then attempts are refused unchecked for a delay doubling from one minute (capped at an
//!   hour). It never locks, so spraying passwords cannot lock an account or its MFA, and a
//!   correct password clears it without touching the code counter. An unknown address writes
//!   one audit record in place of the reservation, so both paths do the same store work
//!   (ENU-4).
//! - **Nothing weaker than the actor could do directly.** An admin reset leaves MFA required
//!   (RST-8), so only `remove_mfa_requirement`, where the policy allows it, lets an admin in
//!   with the password alone; that removal e-mails the admin (NOT-2). No session may remove
//!   its own requirement or reset or unlock its own factor (guardrail G8): an admin resets
//!   its own factor only through the e-mailed link and its password.
//! - **Input.** Every text field is checked before a store sees it (control characters,
//!   bidirectional overrides, lengths, e-mail syntax, roles the policy defines), and refused
//!   with [`Error::InvalidInput`] naming the field, the same on every store (INP-1).
//! - **Sessions.** Only [`Authenticated`] passes the service's guards; [`MfaChallenge`] and
//!   [`SetupRequired`] grant nothing and convert into nothing. Each management call re-reads
//!   the actor (a revoked session or a changed role takes effect at once) and demands a
//!   login no older than [`MfaConfig::max_auth_age_secs`].
//! - **Secrets.** TOTP secrets are sealed (ChaCha20-Poly1305) under the [`KeyProvider`]'s
//!   keys before they reach a store; link tokens are stored as SHA-256 hashes and travel
//!   sealed in the outbox. [`Provisioning`] is the one place a secret is shown, once; its
//!   `Debug`, like that of every other type here, shows no secret, code, token or password,
//!   and nothing is logged but ids, kinds and counts.
//! - **Links** are built from the configured base URL only, never from a request's `Host`.
//! - **Recovery** is the JumpCloud-style reset: the emailed link plus the password (NIST
//!   AAL2 recovery), never the e-mail alone; the old factor works until the new one is
//!   verified.
//!
//! [`KeyProvider`]: admin_mfa_ports::KeyProvider

mod dispatch;
mod email;
mod password;
mod posture;

pub use dispatch::{
    AttemptFailure, DeadLetter, DispatchConfig, DispatchConfigBuilder, DispatchConfigError,
    DispatchError, DispatchFailure, DispatchReport, FailureReason, dispatch,
};
pub use email::{
    EmailConfig, EmailConfigBuilder, EmailConfigError, EmailRenderer, MAX_DISPLAY_NAME_CHARS,
    MAX_PRODUCT_NAME_CHARS, MAX_SUPPORT_CONTACT_CHARS, RenderError, link_purpose_of,
};
pub use password::{
    HashOp, HashRun, MAX_PASSWORD_BYTES, ParamsError, Password, PasswordError, PasswordParams,
    PasswordStats, Passwords, PasswordsBuilder, Verification,
};

mod config;
mod error;
mod portable;
mod service;
mod session;

pub use admin_mfa_lifecycle::{
    AdminId, AuditEvent, AuditKind, BuiltinRole, CodeCheck, Email, LinkPurpose, OrgId,
    PasswordCheck, RecoveryCode, RecoveryCodes, Role, UnixTime,
};
pub use admin_mfa_policy::{Reason, WidgetAccess};
pub use admin_mfa_ports::{AdminSummary, AuditCursor, AuditPage, Page, PageRequest};
pub use config::{
    BULK_CHUNK_RANGE, CHALLENGE_TTL_RANGE, MAX_AUTH_AGE_RANGE, MfaConfig, MfaConfigBuilder,
    MfaConfigError,
};
pub use error::{Denied, Error, InvalidField, Result};
pub use portable::PortableToken;
pub use posture::{
    MfaPosture, POSTURE_COLUMNS, PendingLinkInfo, PostureFilter, PostureFormat, PostureRow,
};
pub use service::{
    AdminListItem, BulkItem, BulkReport, ChangeOutcome, CreatedAdmin, FactorStatus, LinkInfo,
    MfaService, MfaServiceBuilder, MfaStatus, NewAdmin, PostureExport, Provisioning, SetupComplete,
    WidgetView,
};
pub use session::{
    Authenticated, FactorKind, LoginOutcome, MfaChallenge, SetupProof, SetupRequired,
};

/// The lifecycle crate (state, commands, events), for what the facade does not re-export.
pub use admin_mfa_lifecycle as lifecycle;
/// The policy crate (roles, actions, decisions).
pub use admin_mfa_policy as policy;
/// The ports crate (store, mailer, clock, key provider).
pub use admin_mfa_ports as ports;
/// The TOTP crate (secrets, parameters, otpauth URIs, QR codes).
pub use admin_mfa_totp as totp;

/// The README's example, run as a doctest so it keeps up with the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
