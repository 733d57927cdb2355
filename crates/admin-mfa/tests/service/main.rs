//! Service-level tests of `admin-mfa`: one scenario per row of docs/ARCHITECTURE.md §2.3 on every store
//! (memory, SQLite, PostgreSQL when configured), the docs/SECURITY.md groups on every store too,
//! concurrency and fault injection on the memory store, and the scale-out proof (two service
//! instances on one database).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    unreachable_pub,
    missing_docs,
    reason = "tests"
)]

mod admin_list;
mod backends;
mod common;
mod concurrency;
mod deadlines;
mod faults;
mod hardening;
mod posture;
mod recovery;
mod scale_out;
mod scenarios;
mod security;
mod timing;
