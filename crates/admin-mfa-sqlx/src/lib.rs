//! SQL stores for admin-mfa: the [`AdminStore`](admin_mfa_ports::AdminStore) port on SQLite
//! (one process, a database file) and on PostgreSQL (several replicas sharing one database),
//! built on sqlx.
//!
//! Both stores keep the same schema shape. The facts that queries filter on are real
//! columns, each backed by a constraint or an index:
//!
//! | invariant or query | backed by |
//! |---|---|
//! | one admin per id | primary key `admins.id` |
//! | one email per organization | unique `(org, email)` |
//! | one admin per pending link-token hash | unique `token_hash` (NULL without a link) |
//! | one outbox message per dedupe key | unique `outbox.dedupe_key` |
//! | "Admins Without MFA Required" pages | partial index `(org, email)` where not required |
//! | "Admins Without MFA Required" count | `widget_counts`, kept by each commit in its transaction |
//! | role counts | index `(org, role)` |
//! | compare-and-swap | `admins.version`, checked in the `WHERE` of every admin write |
//!
//! The rest of an admin's MFA state (sealed factor, pending link, failure counter, epoch,
//! e-mail log), the outbox payload and the audit kind are JSON text columns written from
//! the lifecycle crate's types. Times are UTC seconds since the Unix epoch in integer
//! columns. Migrations are embedded, one folder per backend, and applied by the
//! constructors; applying them again is a no-op.
//!
//! A [`Change`](admin_mfa_ports::Change) is applied in one transaction: the admins it writes
//! are read first, by primary key in one statement (locked with `FOR UPDATE` on PostgreSQL;
//! SQLite holds the write lock from `BEGIN IMMEDIATE`), checked by
//! [`Change::validate`](admin_mfa_ports::Change::validate) as every store checks them, then
//! written in batched statements: a bulk "require MFA" of 10 000 admins is a handful of
//! statements, not 10 000 round trips.
//!
//! Both stores are written from one template: the reads, counts, pages, audit log, outbox
//! and the shape of a commit are shared; each backend brings only its dialect (how it binds
//! a list of ids, locks rows, batches writes, and spells the widget's partial index).
//!
//! # Getting started
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
//! use admin_mfa_lifecycle::{
//!     Admin, AdminId, AdminProfile, BuiltinRole, Email, OrgId, PasswordHash, UnixTime,
//! };
//! use admin_mfa_ports::{AdminStore, Change, PageRequest, Version};
//! use admin_mfa_sqlx::SqliteStore;
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! # rt.block_on(async {
//! // A file database: `SqliteStore::open("admin-mfa.db")`. Here, a private in-memory one.
//! let store = SqliteStore::memory().await?;
//!
//! let org = OrgId::from_bytes([1; 16]);
//! let ada = Admin::new(AdminProfile {
//!     id: AdminId::from_bytes([2; 16]),
//!     org,
//!     email: Email::parse("ada@example.com")?,
//!     display_name: "Ada".to_owned(),
//!     role: BuiltinRole::Administrator.into(),
//!     password_hash: PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
//!     created_at: UnixTime::from_secs(1_700_000_000),
//! });
//! let receipt = store.commit(Change::new().insert(ada.clone())).await?;
//! assert_eq!(receipt.versions, vec![(ada.id, Version::FIRST)]);
//!
//! // The "Admins Without MFA Required" widget.
//! assert_eq!(store.count_without_mfa_required(org).await?, 1);
//! let page = store.list_without_mfa_required(org, PageRequest::first(50)).await?;
//! assert_eq!(page.items[0].email, ada.email);
//!
//! // A stale version is refused: compare-and-swap.
//! let stale = store.commit(Change::new().update(ada.clone(), Version::new(7))).await;
//! assert!(stale.is_err_and(|e| e.is_conflict()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! For PostgreSQL, `PostgresStore::connect("postgres://user@host/db").await?` does the same;
//! every replica of a service connects to the one database.
//!
//! # Feature flags
//!
//! No feature is on by default; enable the backends you use.
//!
//! - `sqlite`: [`SqliteStore`], on the SQLite library that sqlx bundles (`sqlite-bundled`,
//!   without extension loading).
//! - `postgres`: [`PostgresStore`].
//!
//! # Security considerations
//!
//! - No row holds a raw TOTP secret or link token (SEC-3, T-LOG-5): the lifecycle crate
//!   seals secrets and outbox link tokens with ChaCha20-Poly1305 before they reach the
//!   store, and links are looked up by their SHA-256 only. The sealing key is never in the
//!   database. Password hashes are argon2 PHC strings.
//! - Replay protection (`last_used_step`), the failure counter and single-use links are
//!   part of the admin row and change only through a compare-and-swap on `version`, so they
//!   hold across restarts and, on PostgreSQL, across replicas.
//! - SQLite: WAL, a busy timeout and `BEGIN IMMEDIATE` for every write transaction, so a
//!   busy database makes writers wait rather than fail (REL-4); the writers of one store
//!   take turns in process before they even ask for the lock. `synchronous = FULL`
//!   keeps a committed step or token use durable through a power loss.
//! - Every statement is a fixed text with bound parameters; batch statements only repeat
//!   placeholders. Errors carry no bound values; a unique violation becomes a typed
//!   conflict, anything else an opaque backend error.
//! - Protect the database file or server like any credential store: a copy of it allows
//!   offline guessing of the password hashes, though not of the sealed secrets.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod common;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod template;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use common::OpenError;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::{DEFAULT_BUSY_TIMEOUT, SqliteStore};

/// Pool sizes the convenience constructors use.
pub mod defaults {
    #[cfg(feature = "postgres")]
    pub use crate::postgres::DEFAULT_MAX_CONNECTIONS as POSTGRES_MAX_CONNECTIONS;
    #[cfg(feature = "sqlite")]
    pub use crate::sqlite::DEFAULT_MAX_CONNECTIONS as SQLITE_MAX_CONNECTIONS;
}

/// The sqlx version this crate is built on, re-exported for the `from_pool` and
/// `open_with` / `connect_with` constructors (pools and connect options).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sqlx;

/// The README's example, run as a doctest so it keeps up with the API.
#[cfg(all(doctest, feature = "sqlite"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
