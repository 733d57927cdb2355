//! Service-level tests of `admin-mfa` on the memory store: one scenario per row of
//! DESIGN.md §1, the SECURITY.md groups, concurrency, fault injection and log capture.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    unreachable_pub,
    missing_docs,
    reason = "tests"
)]

mod common;
mod concurrency;
mod faults;
mod scenarios;
mod security;
