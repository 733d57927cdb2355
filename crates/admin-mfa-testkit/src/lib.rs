//! The conformance suites that every [`AdminStore`] and every [`Mailer`] adapter of admin-mfa
//! runs.
//!
//! One suite, many adapters: the in-memory store runs the store suite, and the SQL stores run
//! the very same cases, so "a code is accepted once", "a change is all or nothing" and
//! "nothing of org A is visible through org B" mean the same thing on every backend. Likewise
//! the recording mailer and the SMTP mailer run one mailer suite: a message arrives intact,
//! failures say whether a retry may help, and no error shows a body.
//!
//! Each suite's cases are listed once, in its macro; the macro both builds the public table
//! of cases ([`STORE_CASES`], [`MAILER_CASES`]) and expands one `#[test]` per case for an
//! adapter, so a new case runs on every adapter without touching any of them. The case
//! functions are private and reached only through that table: one left out of the list is
//! dead code, which the workspace's `-D warnings` refuses.
//!
//! # Getting started
//!
//! An adapter's integration test expands [`store_conformance!`] with an async expression that
//! makes a fresh, empty store; each case becomes its own `#[test]`, run on a multi-threaded
//! runtime so the concurrency cases really race:
//!
//! ```ignore
//! admin_mfa_testkit::store_conformance!(async { admin_mfa_memory::MemoryStore::new() });
//! ```
//!
//! A store that needs something to outlive it (a temporary directory, a database schema to
//! drop) returns a [`Guarded`] through the `guarded` form; one that needs an external
//! service can skip itself by returning `None` through the `optional` form (an
//! `Option<Guarded<_, _>>`), which prints one line saying so.
//!
//! A mailer adapter implements [`MailerHarness`] (the mailer, what its receiver got, how to
//! make it fail) and expands [`mailer_conformance!`] the same way:
//!
//! ```ignore
//! admin_mfa_testkit::mailer_conformance!(async { RecordingHarness::default() });
//! ```
//!
//! # Feature flags
//!
//! - `postgres`: [`PgSchema`], an empty PostgreSQL schema per test, dropped after it (the
//!   schema set-up every PostgreSQL test of the workspace shares).
//!
//! # Security considerations
//!
//! The fixtures build admins with sealed secrets made from fixed test keys; they are for
//! tests only, which is why this crate is never published.

mod cases;
pub mod fixtures;
mod mail;
#[cfg(feature = "postgres")]
mod postgres;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use admin_mfa_ports::{AdminStore, Mailer};
pub use mail::{Delivery, Failure, MailerHarness};
#[cfg(feature = "postgres")]
pub use postgres::PgSchema;

/// A case's future, boxed so every case of a suite has one type.
pub type CaseFuture = Pin<Box<dyn Future<Output = ()>>>;

/// One conformance case of the store suite.
#[derive(Debug, Clone, Copy)]
pub struct StoreCase {
    /// The case's name, which is also the name of its `#[test]`.
    pub name: &'static str,
    /// Runs the case on a fresh, empty store; panics on a violation.
    pub run: fn(Arc<dyn AdminStore>) -> CaseFuture,
}

/// One conformance case of the mailer suite.
#[derive(Debug, Clone, Copy)]
pub struct MailerCase {
    /// The case's name, which is also the name of its `#[test]`.
    pub name: &'static str,
    /// Runs the case on a fresh harness; panics on a violation.
    pub run: fn(Arc<dyn MailerHarness>) -> CaseFuture,
}

/// Every case of the store suite, in the order [`store_conformance!`] lists them.
pub const STORE_CASES: &[StoreCase] = crate::store_conformance!(@table);

/// Every case of the mailer suite, in the order [`mailer_conformance!`] lists them.
pub const MAILER_CASES: &[MailerCase] = crate::mailer_conformance!(@table);

/// A store under test with whatever must live as long as it (a temporary directory, a
/// schema dropped after the case).
///
/// The case runs on `store` itself, not on a wrapper around it, so every method the adapter
/// overrides (such as the batched [`AdminStore::admins`]) is what the suite checks.
#[derive(Debug)]
pub struct Guarded<S, G> {
    /// The store under test.
    pub store: S,
    /// Dropped after the case.
    pub guard: G,
}

/// Runs `body` on a fresh multi-threaded runtime (four workers, so concurrent cases race).
#[expect(
    clippy::expect_used,
    reason = "a runtime that cannot start fails the test"
)]
fn block_on<F: Future<Output = ()>>(body: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
        .block_on(body);
}

fn skipped(name: &str, what: &str) {
    eprintln!("skipped {name}: the {what} under test is not available");
}

/// Runs the store case called `name` on a fresh store, on a multi-threaded runtime.
///
/// `make` returns `None` when the store cannot be had (an external service that is not
/// configured); the case is then skipped with one line on standard error. The guard is
/// dropped after the case.
///
/// # Panics
///
/// When the case fails (that is how a test reports it), when no case is called `name`, or
/// when the runtime cannot start.
pub fn run_store_case<S, G, M, MF>(name: &str, make: M)
where
    S: AdminStore + 'static,
    M: FnOnce() -> MF,
    MF: Future<Output = Option<Guarded<S, G>>>,
{
    let case = find(STORE_CASES, |c| c.name, name).run;
    block_on(async {
        let Some(Guarded { store, guard }) = make().await else {
            skipped(name, "store");
            return;
        };
        case(Arc::new(store)).await;
        drop(guard);
    });
}

/// Runs the mailer case called `name` on a fresh harness, on a multi-threaded runtime.
///
/// `make` returns `None` when the mailer cannot be had (a mail server that cannot run here);
/// the case is then skipped with one line on standard error.
///
/// # Panics
///
/// When the case fails, when no case is called `name`, or when the runtime cannot start.
pub fn run_mailer_case<H, M, MF>(name: &str, make: M)
where
    H: MailerHarness + 'static,
    M: FnOnce() -> MF,
    MF: Future<Output = Option<H>>,
{
    let case = find(MAILER_CASES, |c| c.name, name).run;
    block_on(async {
        let Some(harness) = make().await else {
            skipped(name, "mailer");
            return;
        };
        case(Arc::new(harness)).await;
    });
}

#[expect(
    clippy::panic,
    reason = "the macros only name listed cases; another name is a bug in the caller"
)]
fn find<'a, C>(cases: &'a [C], name_of: fn(&C) -> &'static str, name: &str) -> &'a C {
    cases
        .iter()
        .find(|c| name_of(c) == name)
        .unwrap_or_else(|| panic!("no conformance case is called {name}"))
}

/// Expands to one `#[test]` per store conformance case for the store that `$make` builds.
///
/// `$make` is an async expression evaluating to a fresh, empty store. With the `guarded`
/// form it evaluates to a [`Guarded`] store; with the `optional` form to an
/// `Option<Guarded<_, _>>`, and `None` skips the case (for stores that need an external
/// service).
///
/// The list of cases below is the only one: [`STORE_CASES`] is built from it too.
#[macro_export]
macro_rules! store_conformance {
    (@cases $($then:tt)*) => {
        $crate::__conformance! { $($then)* [
            reads_by_id_email_and_token,
            batched_read_keeps_order_and_isolation,
            thousands_of_admins_in_one_read_and_one_commit,
            insert_of_existing_id_conflicts,
            email_is_unique_per_org,
            token_hash_is_unique_across_admins,
            stale_version_conflicts,
            update_of_missing_admin_is_not_found,
            update_cannot_move_an_admin_to_another_org,
            admin_written_twice_in_one_change_is_invalid,
            change_is_all_or_nothing,
            thirty_two_concurrent_commits_have_one_winner,
            concurrent_inserts_of_one_email_have_one_winner,
            outbox_drops_duplicate_dedupe_keys,
            concurrent_notifications_with_one_dedupe_key_queue_once,
            outbox_lease_and_mark,
            outbox_lease_expiry_retry_and_dead,
            concurrent_leasing_never_hands_out_an_entry_twice,
            widget_count_listing_and_paging,
            admin_list_orders_pages_and_isolates,
            admin_list_follows_updates,
            admin_list_carries_the_whole_mfa_state,
            tenant_isolation,
            times_round_trip_exactly,
            audit_log_pages_in_commit_order,
            role_counts_follow_role_changes,
            token_index_follows_link_changes,
            email_index_follows_email_changes,
            key_claims_within_one_change,
            recovery_code_is_used_once_by_compare_and_swap,
            outbox_holds_an_entry_until_its_created_at,
        ]}
    };
    (@table) => {
        $crate::store_conformance!(@cases @table_of StoreCase cases)
    };
    (optional $make:expr) => {
        $crate::store_conformance!(@cases @tests run_store_case [$make]);
    };
    (guarded $make:expr) => {
        $crate::store_conformance!(optional async { Some($make.await) });
    };
    ($make:expr) => {
        $crate::store_conformance!(guarded async {
            $crate::Guarded { store: $make.await, guard: () }
        });
    };
}

/// Expands to one `#[test]` per mailer conformance case for the [`MailerHarness`] that
/// `$make` builds.
///
/// `$make` is an async expression evaluating to a fresh harness; with the `optional` form
/// to an `Option` of one, and `None` skips the case (for a mailer that needs a server that
/// cannot run here).
///
/// The list of cases below is the only one: [`MAILER_CASES`] is built from it too.
#[macro_export]
macro_rules! mailer_conformance {
    (@cases $($then:tt)*) => {
        $crate::__conformance! { $($then)* [
            delivers_recipient_subject_and_bodies_intact,
            idempotency_key_is_kept_across_retries,
            transient_failures_are_retryable_and_deliver_nothing,
            permanent_failures_are_final_and_deliver_nothing,
            errors_never_show_bodies_or_links,
            works_behind_arc_and_box_dyn_mailer,
            concurrent_sends_all_arrive_intact,
        ]}
    };
    (@table) => {
        $crate::mailer_conformance!(@cases @table_of MailerCase mail)
    };
    (optional $make:expr) => {
        $crate::mailer_conformance!(@cases @tests run_mailer_case [$make]);
    };
    ($make:expr) => {
        $crate::mailer_conformance!(optional async { Some($make.await) });
    };
}

/// The arms both suites share: the table of cases, and one `#[test]` per case.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance {
    (@table_of $case_type:ident $module:ident [$($case:ident),* $(,)?]) => {
        &[$($crate::$case_type {
            name: stringify!($case),
            run: |under_test| Box::pin($crate::$module::$case(under_test)),
        }),*]
    };
    (@tests $runner:ident [$make:expr] [$($case:ident),* $(,)?]) => {
        $(
            #[test]
            fn $case() {
                $crate::$runner(stringify!($case), || $make);
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::{MAILER_CASES, STORE_CASES};

    #[test]
    fn case_names_are_unique() {
        let names: Vec<&str> = STORE_CASES.iter().map(|c| c.name).collect();
        assert_eq!(names.iter().collect::<HashSet<_>>().len(), names.len());
        let names: Vec<&str> = MAILER_CASES.iter().map(|c| c.name).collect();
        assert_eq!(names.iter().collect::<HashSet<_>>().len(), names.len());
    }
}
