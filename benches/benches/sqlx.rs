//! admin-mfa-sqlx: bulk "require MFA" of 10 000 admins through `AdminStore::commit`, beside
//! a hand-written batched `UPDATE` of the same rows on the same database (the floor), and
//! the "Admins Without MFA Required" widget (count + first page of 50) over 100 000 admins.
//! SQLite always; PostgreSQL when `ADMIN_MFA_TEST_POSTGRES_URL` is set.
//!
//! Run: `cargo bench -p admin-mfa-benches --bench sqlx -- --warm-up-time 1 --measurement-time 3`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "a bench fails loudly on setup errors"
)]

use std::hint::black_box;

use admin_mfa_lifecycle::{Admin, AdminId, MfaState, OrgId, UnixTime};
use admin_mfa_ports::{AdminStore, Change, PageRequest, Versioned};
use admin_mfa_sqlx::sqlx::postgres::PgConnectOptions;
use admin_mfa_sqlx::sqlx::{self, Connection, Executor, PgConnection};
use admin_mfa_sqlx::{PostgresStore, SqliteStore};
use admin_mfa_testkit::fixtures::{T0, admin, org, require};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

const BULK: u32 = 10_000;
const WIDGET: u32 = 100_000;
const URL_VAR: &str = "ADMIN_MFA_TEST_POSTGRES_URL";

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Admins `first..first + n` of `org`, inserted in changes of 10 000.
async fn seed(store: &dyn AdminStore, org: OrgId, first: u32, n: u32) -> Vec<Admin> {
    let admins: Vec<Admin> = (first..first + n).map(|i| admin(org, i)).collect();
    for chunk in admins.chunks(10_000) {
        let mut change = Change::new();
        for a in chunk {
            change = change.insert(a.clone());
        }
        store.commit(change).await.unwrap();
    }
    admins
}

/// The bulk-require change for the stored admins: each one `Required` since `at` (a new
/// instant every iteration, so every row really changes), at the version read.
fn require_change(stored: Vec<Option<Versioned<Admin>>>, at: UnixTime) -> Change {
    let mut change = Change::new();
    for current in stored {
        let current = current.unwrap();
        let mut next = current.value;
        require(&mut next, at);
        change = change.update(next, current.version);
    }
    change
}

/// What both backends measure the same way: the bulk require through `commit` beside
/// `floor` (the backend's hand-written batched `UPDATE` of the same rows, given the MFA
/// state JSON to write), and the widget over the 100 000 admins of `org(2)`.
fn bench_store(
    c: &mut Criterion,
    rt: &Runtime,
    backend: &str,
    store: &dyn AdminStore,
    ids: &[AdminId],
    mut floor: impl FnMut(String),
) {
    let mut group = c.benchmark_group(format!("sqlx/{backend}/bulk_require_10k"));
    group.sample_size(30);
    let mut tick = 0u64;
    group.bench_function("store_commit", |b| {
        b.iter_batched(
            || {
                tick += 1;
                let stored = rt.block_on(store.admins(org(1), ids)).unwrap();
                require_change(stored, T0.saturating_add_secs(tick))
            },
            |change| rt.block_on(store.commit(black_box(change))).unwrap(),
            BatchSize::PerIteration,
        );
    });
    group.bench_function("floor_batched_update", |b| {
        b.iter_batched(
            || {
                tick += 1;
                required_json(T0.saturating_add_secs(tick))
            },
            &mut floor,
            BatchSize::PerIteration,
        );
    });
    group.finish();

    let mut group = c.benchmark_group(format!("sqlx/{backend}/widget_100k"));
    group.sample_size(30);
    group.bench_function("count_and_first_page", |b| {
        b.iter(|| {
            rt.block_on(async {
                let n = store.count_without_mfa_required(org(2)).await.unwrap();
                let page = store
                    .list_without_mfa_required(org(2), PageRequest::first(50))
                    .await
                    .unwrap();
                black_box((n, page))
            })
        });
    });
    group.finish();
}

/// The MFA state JSON the floor writes: what the store writes for a fixture admin.
fn required_json(at: UnixTime) -> String {
    let mut state = MfaState::new();
    state.requirement = admin_mfa_lifecycle::Requirement::Required {
        since: at,
        by: None,
    };
    serde_json::to_string(&state).unwrap()
}

fn sqlite(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let store = rt
        .block_on(SqliteStore::open(dir.path().join("bench.db")))
        .unwrap();
    let bulk_org = org(1);
    let admins = rt.block_on(seed(&store, bulk_org, 0, BULK));
    rt.block_on(seed(&store, org(2), BULK, WIDGET));
    let ids: Vec<AdminId> = admins.iter().map(|a| a.id).collect();
    let id_bytes: Vec<Vec<u8>> = ids
        .iter()
        .map(|id| id.as_uuid().as_bytes().to_vec())
        .collect();
    bench_store(c, &rt, "sqlite", &store, &ids, |json| {
        rt.block_on(async {
            let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await.unwrap();
            for chunk in id_bytes.chunks(500) {
                let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                    "UPDATE admins SET mfa_required = 1, mfa = ",
                );
                qb.push_bind(json.as_str());
                qb.push(", version = version + 1 WHERE id IN (");
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(id.as_slice());
                }
                qb.push(")");
                qb.build().execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        });
    });
    rt.block_on(store.close());
}

fn postgres(c: &mut Criterion) {
    let Some(url) = std::env::var(URL_VAR).ok().filter(|u| !u.trim().is_empty()) else {
        println!("skipped sqlx/postgres benches: {URL_VAR} is not set");
        return;
    };
    let rt = runtime();
    let base: PgConnectOptions = url.parse().unwrap();
    let schema = format!("admin_mfa_bench_{}", std::process::id());
    let ddl = |sql: String| {
        rt.block_on(async {
            let mut conn = PgConnection::connect_with(&base).await.unwrap();
            conn.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
            conn.close().await.unwrap();
        });
    };
    ddl(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ));
    let options = base.clone().options([("search_path", schema.as_str())]);
    let store = rt
        .block_on(PostgresStore::connect_with(options, 4))
        .unwrap();
    let bulk_org = org(1);
    let admins = rt.block_on(seed(&store, bulk_org, 0, BULK));
    rt.block_on(seed(&store, org(2), BULK, WIDGET));
    // What autovacuum would have done by now: statistics and the visibility map.
    rt.block_on(store.pool().execute("VACUUM ANALYZE admins"))
        .unwrap();
    let ids: Vec<AdminId> = admins.iter().map(|a| a.id).collect();
    let id_bytes: Vec<Vec<u8>> = ids
        .iter()
        .map(|id| id.as_uuid().as_bytes().to_vec())
        .collect();
    bench_store(c, &rt, "postgres", &store, &ids, |json| {
        rt.block_on(
            sqlx::query(
                "UPDATE admins SET mfa_required = true, mfa = $1, \
                 version = version + 1 WHERE id = ANY($2)",
            )
            .bind(json)
            .bind(&id_bytes)
            .execute(store.pool()),
        )
        .unwrap();
    });
    rt.block_on(store.close());
    ddl(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
}

criterion_group!(benches, sqlite, postgres);
criterion_main!(benches);
