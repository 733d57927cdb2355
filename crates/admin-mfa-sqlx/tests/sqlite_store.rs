//! SQLite-specific guarantees: migrations (T-STO-2), persistence across reopening
//! (T-RPL-6, T-TOK-6, T-FLT-8), no raw secret in the file (T-SEC-3, T-LOG-5), integer UTC
//! times (T-STO-3), and a shortened T-LOAD-3 (8 writers, 16 readers, no SQLITE_BUSY, no
//! lost update).

#![cfg(feature = "sqlite")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use admin_mfa_lifecycle::TimeStep;
use admin_mfa_ports::{AdminStore, Change, ConflictKind, StoreError, Version};
use admin_mfa_sqlx::SqliteStore;
use admin_mfa_sqlx::sqlx::{self, Row};
use admin_mfa_testkit::Guarded;
use admin_mfa_testkit::fixtures::{T0, admin, org, token_hash};
use common::secrets::{needles, sample, sample_change};
use common::sqlite::fresh;

async fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(dir.join("admin-mfa.db")).await.unwrap()
}

/// The names of the schema's own objects of `kind` (`table`, `index`), in order.
async fn schema_objects(store: &SqliteStore, kind: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .bind(kind)
    .fetch_all(store.pool())
    .await
    .unwrap()
}

/// The value of `PRAGMA name` on one of the store's connections.
async fn pragma<T>(store: &SqliteStore, name: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + Send + Unpin,
{
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn migrations_run_on_an_empty_file_and_are_idempotent() {
    let Guarded { store, guard: dir } = fresh().await;
    let tables = schema_objects(&store, "table").await;
    assert_eq!(
        tables,
        [
            "_sqlx_migrations",
            "admins",
            "audit_events",
            "outbox",
            "widget_counts"
        ]
    );
    let indexes = schema_objects(&store, "index").await;
    assert_eq!(
        indexes,
        [
            "admins_org_email_key",
            "admins_org_role_idx",
            "admins_token_hash_key",
            "admins_without_mfa_idx",
            "audit_events_org_seq_idx",
            "outbox_dedupe_key_key",
            "outbox_pending_idx",
        ]
    );
    assert_eq!(pragma::<String>(&store, "journal_mode").await, "wal");
    let busy: i64 = pragma(&store, "busy_timeout").await;
    assert!(busy >= 1000, "busy_timeout is {busy} ms");
    assert_eq!(pragma::<i64>(&store, "foreign_keys").await, 1);

    store
        .commit(Change::new().insert(admin(org(1), 1)))
        .await
        .unwrap();
    // Running the migrator again on the same pool, and reopening, changes nothing.
    let again = SqliteStore::from_pool(store.pool().clone()).await.unwrap();
    store.close().await;
    drop(again);
    let reopened = open(dir.path()).await;
    let applied: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(reopened.pool())
            .await
            .unwrap();
    assert_eq!(applied, vec![(1, true), (2, true)]);
    assert_eq!(
        reopened.count_without_mfa_required(org(1)).await.unwrap(),
        1
    );
}

#[tokio::test]
async fn unique_constraints_back_the_invariants() {
    let Guarded { store, guard: _dir } = fresh().await;
    let a = common::seed_unique_keys(&store).await;
    let copy_admin = "INSERT INTO admins (id, org, email, display_name, role, password_hash, \
        created_at, mfa_required, token_hash, mfa, widget_hidden, version) \
        SELECT ?, org, ?, display_name, role, password_hash, created_at, mfa_required, ?, mfa, \
        widget_hidden, 1 FROM admins";
    // Same (org, email), another id: refused by the database itself.
    let err = sqlx::query(copy_admin)
        .bind(vec![9_u8; 16])
        .bind(a.email.as_str())
        .bind(Option::<Vec<u8>>::None)
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(err.as_database_error().unwrap().is_unique_violation());
    // Same token hash, another id and email.
    let err = sqlx::query(copy_admin)
        .bind(vec![9_u8; 16])
        .bind("other@example.com")
        .bind(token_hash(1).as_bytes().to_vec())
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(err.as_database_error().unwrap().is_unique_violation());
    // Same dedupe key in the outbox.
    let err = sqlx::query(
        "INSERT INTO outbox (dedupe_key, org, created_at, payload, state, next_attempt_at) \
         SELECT dedupe_key, org, created_at, payload, state, next_attempt_at FROM outbox",
    )
    .execute(store.pool())
    .await
    .unwrap_err();
    assert!(err.as_database_error().unwrap().is_unique_violation());
}

fn scan_dir(dir: &Path, needles: &[(String, Vec<u8>)]) -> usize {
    let mut scanned = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        scanned += bytes.len();
        for (what, needle) in needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                "{what} found in {}",
                path.display()
            );
        }
    }
    scanned
}

#[tokio::test]
async fn no_raw_secret_or_token_reaches_the_database_file() {
    let Guarded { store, guard: dir } = fresh().await;
    let s = sample();
    store.commit(sample_change(&s)).await.unwrap();
    let needles = needles(&s);
    // The positive control: the sealed blob and the token hash are in the file.
    let mfa: String = sqlx::query_scalar("SELECT mfa FROM admins")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(mfa.contains("ciphertext"));
    // While open (database plus WAL), and after closing (checkpointed into the file).
    assert!(scan_dir(dir.path(), &needles) > 0);
    store.close().await;
    let scanned = scan_dir(dir.path(), &needles);
    assert!(scanned > 4096, "only {scanned} bytes scanned");
    // The scan is able to find what it looks for: the hash of the token is stored.
    let file = std::fs::read(dir.path().join("admin-mfa.db")).unwrap();
    let hash = s.token.hash();
    assert!(
        file.windows(32).any(|w| w == hash.as_bytes().as_slice()),
        "the token hash column was not found: the scan is blind"
    );
}

#[tokio::test]
async fn data_survives_closing_and_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = sample();
    {
        let store = open(dir.path()).await;
        store.commit(sample_change(&s)).await.unwrap();
        let read = store.admin(org(1), s.admin.id).await.unwrap().unwrap();
        let mut next = read.value.clone();
        next.display_name = "after one update".into();
        store
            .commit(Change::new().update(next, read.version))
            .await
            .unwrap();
        store.close().await;
    }
    let store = open(dir.path()).await;
    let back = store.admin(org(1), s.admin.id).await.unwrap().unwrap();
    assert_eq!(back.version, Version::new(2));
    let mut expected = s.admin.clone();
    expected.display_name = "after one update".into();
    assert_eq!(back.value, expected);
    // T-RPL-6: the used step is still there, so a replay after a restart is still refused.
    let factor = back.value.mfa.active_factor().unwrap();
    assert_eq!(
        factor.last_used_step,
        Some(TimeStep::new(T0.as_secs() / 30))
    );
    // T-TOK-6: the pending link is still found by its hash, and can be revoked.
    let by_token = store
        .admin_by_token(&s.token.hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_token.value.id, s.admin.id);
    let mut revoked = by_token.value.clone();
    revoked.mfa.link = None;
    store
        .commit(Change::new().update(revoked, by_token.version))
        .await
        .unwrap();
    assert!(
        store
            .admin_by_token(&s.token.hash())
            .await
            .unwrap()
            .is_none()
    );
    // T-FLT-8: the queued email is still pending and can be leased after the restart.
    let leased = store.lease_outbox(T0, 60, 10).await.unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].notification.dedupe_key.as_str(), "reset-1");
}

#[tokio::test]
async fn times_are_stored_as_utc_integer_seconds() {
    let Guarded { store, guard: _dir } = fresh().await;
    common::seed_times(&store).await;
    let expect = i64::try_from(T0.as_secs()).unwrap();
    let row = sqlx::query("SELECT typeof(created_at) AS t, created_at FROM admins")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("t"), "integer");
    assert_eq!(row.get::<i64, _>("created_at"), expect);
    let row = sqlx::query("SELECT typeof(at) AS t, at FROM audit_events")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("t"), "integer");
    assert_eq!(row.get::<i64, _>("at"), expect + 1);
    let row = sqlx::query(
        "SELECT typeof(created_at) AS t, created_at, typeof(next_attempt_at) AS n FROM outbox",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("t"), "integer");
    assert_eq!(row.get::<String, _>("n"), "integer");
    assert_eq!(row.get::<i64, _>("created_at"), expect + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_writers_and_sixteen_readers_lose_nothing() {
    const ADMINS: u32 = 4;
    let Guarded { store, guard: _dir } = fresh().await;
    let store = Arc::new(store);
    let o = org(1);
    let mut change = Change::new();
    for n in 0..ADMINS {
        let mut a = admin(o, n);
        a.display_name = "0".into();
        change = change.insert(a);
    }
    store.commit(change).await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    // The run ends when every writer has committed this many times and the readers have read
    // this many, however long a loaded machine takes: a condition, not a time budget.
    const COMMITS_PER_WRITER: u64 = 25;
    const READS: u64 = 400;
    let committed: Arc<Vec<AtomicU64>> = Arc::new((0..8).map(|_| AtomicU64::new(0)).collect());
    let conflicts = Arc::new(AtomicU64::new(0));
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..8u32 {
        let (store, stop, conflicts) = (store.clone(), stop.clone(), conflicts.clone());
        let committed = committed.clone();
        writers.spawn(async move {
            let id = admin_mfa_testkit::fixtures::admin_id(w % ADMINS);
            let mut done = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let read = store.admin(o, id).await.unwrap().unwrap();
                let mut next = read.value.clone();
                let n: u64 = next.display_name.parse().unwrap();
                next.display_name = (n + 1).to_string();
                match store.commit(Change::new().update(next, read.version)).await {
                    Ok(_) => {
                        done += 1;
                        committed[w as usize].fetch_add(1, Ordering::Relaxed);
                    }
                    Err(StoreError::Conflict(ConflictKind::Version)) => {
                        conflicts.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(other) => panic!(
                        "writer {w}: {other:?} ({:?})",
                        std::error::Error::source(&other)
                    ),
                }
            }
            (w % ADMINS, done)
        });
    }
    let mut readers = tokio::task::JoinSet::new();
    for r in 0..16u32 {
        let (store, stop, reads) = (store.clone(), stop.clone(), reads.clone());
        readers.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let id = admin_mfa_testkit::fixtures::admin_id(r % ADMINS);
                let got = store.admin(o, id).await;
                assert!(got.is_ok_and(|a| a.is_some()), "reader {r}");
                let count = store.count_without_mfa_required(o).await.unwrap();
                assert_eq!(count, u64::from(ADMINS));
                reads.fetch_add(2, Ordering::Relaxed);
            }
        });
    }
    while committed
        .iter()
        .any(|c| c.load(Ordering::Relaxed) < COMMITS_PER_WRITER)
        || reads.load(Ordering::Relaxed) < READS
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut per_admin = [0u64; ADMINS as usize];
    while let Some(joined) = writers.join_next().await {
        let (n, done) = joined.unwrap();
        per_admin[n as usize] += done;
    }
    while let Some(joined) = readers.join_next().await {
        joined.unwrap();
    }
    for n in 0..ADMINS {
        let stored = store
            .admin(o, admin_mfa_testkit::fixtures::admin_id(n))
            .await
            .unwrap()
            .unwrap();
        let commits = per_admin[n as usize];
        assert!(commits > 0, "admin {n} was never written");
        assert_eq!(
            stored.value.display_name,
            commits.to_string(),
            "admin {n}: a lost update"
        );
        assert_eq!(stored.version.get(), commits + 1, "admin {n}");
    }
    let total: u64 = per_admin.iter().sum();
    eprintln!(
        "T-LOAD-3: {total} commits, {} version conflicts, {} reads",
        conflicts.load(Ordering::Relaxed),
        reads.load(Ordering::Relaxed)
    );
    assert!(reads.load(Ordering::Relaxed) > 0);
}

#[tokio::test]
async fn the_widget_counter_matches_a_recount() {
    let Guarded { store, guard: _dir } = fresh().await;
    let pool = store.pool().clone();
    common::assert_widget_counts_match_recount(&store, |o| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar("SELECT COUNT(*) FROM admins WHERE org = ? AND mfa_required = 0")
                .bind(o.as_uuid().as_bytes().to_vec())
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    })
    .await;
}
