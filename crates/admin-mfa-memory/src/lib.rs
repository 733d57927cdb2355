//! The embedded default of admin-mfa: an in-memory [`AdminStore`](admin_mfa_ports::AdminStore),
//! a [`RecordingMailer`] that keeps what it is asked to send, and a settable [`ManualClock`].
//!
//! [`MemoryStore`] is what a single-process service or a test runs on: nothing to install,
//! every guarantee of the store port (compare-and-swap, atomic changes, single-use links,
//! a deduplicated outbox) held under one lock. Its state lives and dies with the process.
//! [`RecordingMailer`] and [`ManualClock`] make the rest of a test deterministic: a mailer
//! that can be told to fail or hang, and a clock that moves only when told to.
//!
//! # Getting started
//!
//! ```
//! use std::sync::Arc;
//! use admin_mfa_memory::{ManualClock, MemoryStore, RecordingMailer};
//! use admin_mfa_ports::{AdminStore, Clock, Mailer, UnixTime};
//!
//! let store: Arc<dyn AdminStore> = Arc::new(MemoryStore::new());
//! let mailer = Arc::new(RecordingMailer::new());
//! let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
//! clock.advance(30);
//! assert_eq!(clock.now().as_secs(), 1_700_000_030);
//! assert!(mailer.sent().is_empty());
//! # let _ = (store, mailer as Arc<dyn Mailer>);
//! ```
//!
//! # Feature flags
//!
//! This crate has no cargo features.
//!
//! # Security considerations
//!
//! The store holds admins as the lifecycle crate hands them over: TOTP secrets and outbox
//! link tokens sealed, passwords as argon2 hashes. Replay protection (`last_used_step`) is
//! per process: after a restart a code of the current window could be accepted again, which
//! is why services that restart or run several replicas use a SQL store.
//! [`RecordingMailer`] keeps the rendered emails, which hold live links: it is for tests and
//! demonstrations, not production.

mod admins;
mod blocks;
mod clock;
mod dedupe;
mod idset;
mod mailer;
mod random;
mod store;

pub use clock::ManualClock;
pub use mailer::{RecordingMailer, ScriptedFailure};
pub use random::SeededRandom;
pub use store::MemoryStore;

/// The README's example, run as a doctest so it keeps up with the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
