//! The ports of admin-mfa: the traits that storage, mail, time and key management
//! implement, so the MFA service never depends on a particular database or transport.
//!
//! | Port | Kind | Implemented by |
//! |---|---|---|
//! | [`AdminStore`] | async | `admin-mfa-memory` (embedded default); the SQL stores |
//! | [`Mailer`] | async | `admin-mfa-memory`'s recording mailer; the SMTP mailer |
//! | [`Clock`] | sync | [`SystemClock`]; a settable clock in `admin-mfa-memory` |
//! | [`KeyProvider`] | sync | [`KeyRing`] (fixed keys); a host's own key management |
//! | [`RandomSource`] | sync | [`OsRandom`]; a seeded generator in `admin-mfa-memory` for repeatable tests |
//!
//! Every port is object-safe, `Send + Sync` and takes `&self`, so a host holds
//! `Arc<dyn AdminStore>` and `Arc<dyn Mailer>`; `Arc<T>` and `Box<T>` of a port are ports too.
//! No adapter type (sqlx, lettre, tokio) appears in any signature.
//!
//! # Getting started
//!
//! Hosts rarely call a store directly (the service does), but a port is an ordinary trait
//! object:
//!
//! ```
//! use std::sync::Arc;
//! use admin_mfa_ports::{Clock, SystemClock};
//!
//! let clock: Arc<dyn Clock> = Arc::new(SystemClock);
//! assert!(clock.now().as_secs() > 1_700_000_000);
//! ```
//!
//! # The store's unit of work
//!
//! A store is read by id, by (organization, email) and by link-token hash, and written only
//! through [`AdminStore::commit`]: one [`Change`] holds admin inserts and updates (each update
//! with the [`Version`] it was read at), audit events and outbox notifications, and is applied
//! all or nothing. A stale version is a [`StoreError::Conflict`], never a second success: this
//! compare-and-swap is what makes "a code is accepted once" and "a link completes once" hold
//! across threads, processes and replicas. Notifications are delivered later from the outbox
//! ([`AdminStore::lease_outbox`]), so a failing mailer never loses or corrupts state.
//!
//! # Feature flags
//!
//! This crate has no cargo features.
//!
//! # Security considerations
//!
//! Stores hold [`Admin`] records whose TOTP secrets and outbox link tokens are sealed
//! (ChaCha20-Poly1305) by the lifecycle crate before they reach a store; a store never sees a
//! raw secret or raw link token. [`KeyProvider`] keeps the sealing keys outside the store.
//! [`EmailMessage`] bodies carry live links, so its `Debug` prints neither body.

mod clock;
mod keys;
mod mail;
mod random;
mod store;
mod validate;

pub use admin_mfa_lifecycle::{
    Admin, AdminId, AuditEvent, DedupeKey, Email, KeyId, KeyRing, Notification, OrgId, Role,
    SealingKey, TokenHash, UnixTime,
};
pub use clock::{Clock, SystemClock};
pub use keys::KeyProvider;
pub use mail::{EmailMessage, MailError, Mailer};
pub use random::{OsRandom, RandomError, RandomSource};
pub use store::{
    AdminStore, AdminSummary, AdminWrite, AuditCursor, AuditPage, Change, CommitReceipt,
    ConflictKind, Lease, OutboxEntry, OutboxId, OutboxStats, Page, PageRequest, StoreError,
    Version, Versioned,
};
pub use validate::{MAX_DISPLAY_NAME_BYTES, StoredKeys, StoredState};

/// Compile-time guard: every port must stay usable as a trait object.
#[allow(dead_code, reason = "compile-time check only")]
fn _dyn_ok(
    _: &dyn AdminStore,
    _: &dyn Mailer,
    _: &dyn Clock,
    _: &dyn KeyProvider,
    _: &dyn RandomSource,
) {
}

/// The README's example, run as a doctest so it keeps up with the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
