//! The conformance suite that every [`AdminStore`] adapter of admin-mfa runs.
//!
//! One suite, many stores: the in-memory store runs it, and the SQL stores run the very same
//! cases, so "a code is accepted once", "a change is all or nothing" and "nothing of org A is
//! visible through org B" mean the same thing on every backend.
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
//! # Feature flags
//!
//! This crate has no cargo features.
//!
//! # Security considerations
//!
//! The fixtures build admins with sealed secrets made from fixed test keys; they are for
//! tests only, which is why this crate is never published.

pub mod cases;
pub mod fixtures;

use std::future::Future;
use std::sync::Arc;

pub use admin_mfa_ports::AdminStore;

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

/// Runs one conformance case on a fresh store, on a multi-threaded runtime.
///
/// `make` returns `None` when the store cannot be had (an external service that is not
/// configured); the case is then skipped with one line on standard error. The guard is
/// dropped after the case.
///
/// # Panics
///
/// When the case fails (that is how a test reports it), or when the runtime cannot start.
#[expect(
    clippy::expect_used,
    reason = "a runtime that cannot start fails the test"
)]
pub fn run<S, G, M, MF, C, CF>(name: &str, make: M, case: C)
where
    S: AdminStore + 'static,
    M: FnOnce() -> MF,
    MF: Future<Output = Option<Guarded<S, G>>>,
    C: FnOnce(Arc<dyn AdminStore>) -> CF,
    CF: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    runtime.block_on(async {
        let Some(Guarded { store, guard }) = make().await else {
            eprintln!("skipped {name}: the store under test is not available");
            return;
        };
        let store: Arc<dyn AdminStore> = Arc::new(store);
        case(store).await;
        drop(guard);
    });
}

/// Expands to one `#[test]` per conformance case for the store that `$make` builds.
///
/// `$make` is an async expression evaluating to a fresh, empty store. With the `guarded`
/// form it evaluates to a [`Guarded`] store; with the `optional` form to an
/// `Option<Guarded<_, _>>`, and `None` skips the case (for stores that need an external
/// service).
#[macro_export]
macro_rules! store_conformance {
    (optional $make:expr) => {
        $crate::store_conformance!(@cases [$make] [
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
            outbox_lease_and_mark,
            outbox_lease_expiry_retry_and_dead,
            concurrent_leasing_never_hands_out_an_entry_twice,
            widget_count_listing_and_paging,
            tenant_isolation,
            times_round_trip_exactly,
            audit_log_pages_in_commit_order,
            role_counts_follow_role_changes,
            token_index_follows_link_changes,
            email_index_follows_email_changes,
            key_claims_within_one_change,
        ]);
    };
    (guarded $make:expr) => {
        $crate::store_conformance!(optional async { Some($make.await) });
    };
    ($make:expr) => {
        $crate::store_conformance!(guarded async {
            $crate::Guarded { store: $make.await, guard: () }
        });
    };
    (@cases [$make:expr] [$($case:ident),* $(,)?]) => {
        $(
            #[test]
            fn $case() {
                $crate::run(stringify!($case), || $make, $crate::cases::$case);
            }
        )*
    };
}
