//! The cost curves of every store, through `MfaService` (issue 14):
//!
//! - `stores/bulk_require/<store>/<n>`: `MfaService::require_mfa` for all `n` admins of a
//!   store holding `n` admins (1 000, 10 000, 100 000), with the default chunk size of 500,
//!   beside its floor: on SQLite and PostgreSQL the hand-written batched `UPDATE` of the same
//!   rows setting the same facts (`mfa_required`, the `mfa` JSON, `version + 1`) in one
//!   transaction; on memory the store's own batched read and one commit of `n` updates.
//!   On SQLite also `floor_with_audit_and_outbox`: that `UPDATE` plus, per admin, the audit
//!   event and the outbox e-mail the service writes (copies of its own rows), in one
//!   transaction.
//! - `stores/verify_tasks/<store>/<k>`: rounds of `k` concurrent `MfaService::verify` calls
//!   (1, 2, 8 tasks, each for its own enrolled admin) on a 2-worker runtime; the throughput
//!   is verifies per second over all tasks.
//! - `stores/posture/<store>/export_csv/<n>`: the whole MFA posture report of a store holding
//!   `n` admins (1 000, 10 000, 100 000; one in four enrolled with a recovery set, one in
//!   two required) exported as CSV through `PostureExport`, page by page; beside it
//!   `filter_locked` (the report filtered to locked factors: every admin read, few listed)
//!   and the floor `list_admins_alone` (the store's own pages of 1 000, no service).
//!
//! SQLite: a WAL file in a temp dir with the store's defaults (`synchronous = FULL`);
//! PostgreSQL when `ADMIN_MFA_TEST_POSTGRES_URL` is set (a fresh schema, pool of 10,
//! `VACUUM ANALYZE` after loading).
//!
//! Run: `ADMIN_MFA_TEST_POSTGRES_URL=… cargo bench -p admin-mfa-benches --bench stores --
//! --warm-up-time 1 --measurement-time 3`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "bench"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use admin_mfa::lifecycle::{
    ActiveFactor, Admin, Factor, KeyId, KeyRing, MfaState, Nonce, PasswordHash, RecoveryCode,
    RecoveryCodes, Requirement, Sealed, SealingKey, TimeStep,
};
use admin_mfa::ports::PageRequest;
use admin_mfa::ports::{AdminStore, Change, Clock, Mailer};
use admin_mfa::totp::{OtpauthUri, TotpParams, TotpSecret, generate};
use admin_mfa::{
    AdminId, Authenticated, BuiltinRole, Email, LoginOutcome, MfaChallenge, MfaConfig, MfaService,
    OrgId, Password, PasswordParams, Passwords, PostureExport, PostureFilter, PostureFormat, Role,
    UnixTime,
};
use admin_mfa_memory::{ManualClock, MemoryStore, RecordingMailer};
use admin_mfa_sqlx::sqlx::postgres::PgConnectOptions;
use admin_mfa_sqlx::sqlx::{self, Connection, Executor, PgConnection};
use admin_mfa_sqlx::{PostgresStore, SqliteStore};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

const PASSWORD: &str = "bench: correct horse battery staple";
const T0: UnixTime = UnixTime::from_secs(1_700_000_010);
const ORG: OrgId = OrgId::from_bytes([0x0a; 16]);
const URL_VAR: &str = "ADMIN_MFA_TEST_POSTGRES_URL";
const SIZES: [u32; 3] = [1_000, 10_000, 100_000];
const TASKS: [usize; 3] = [1, 2, 8];

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[expect(clippy::disallowed_methods, reason = "a bench measures wall time")]
fn now() -> Instant {
    Instant::now()
}

fn password() -> Password {
    Password::new(PASSWORD).unwrap()
}

fn id(n: u32) -> AdminId {
    let mut bytes = [0xad; 16];
    bytes[12..].copy_from_slice(&n.to_be_bytes());
    AdminId::from_bytes(bytes)
}

fn email(n: u32) -> String {
    format!("admin{n:06}@example.com")
}

fn admin(n: u32, role: BuiltinRole, hash: &PasswordHash) -> Admin {
    Admin::new(admin_mfa::lifecycle::AdminProfile {
        id: id(n),
        org: ORG,
        email: Email::parse(&email(n)).unwrap(),
        display_name: format!("Admin {n}"),
        role: Role::Builtin(role),
        password_hash: hash.clone(),
        created_at: T0,
    })
}

/// Argon2 with test parameters: logins are set-up here, never measured.
fn params() -> PasswordParams {
    PasswordParams::insecure_fast_for_tests()
}

async fn shared_hash() -> PasswordHash {
    Passwords::new(params()).hash(&password()).await.unwrap()
}

/// A service on `store` with its own mailer and manual clock.
struct Rig {
    svc: Arc<MfaService>,
    store: Arc<dyn AdminStore>,
    mailer: Arc<RecordingMailer>,
    clock: Arc<ManualClock>,
}

fn rig(store: Arc<dyn AdminStore>) -> Rig {
    let mailer = Arc::new(RecordingMailer::new());
    let clock = Arc::new(ManualClock::new(T0));
    let config = MfaConfig::builder("ACME", "https://admin.example.com/mfa")
        .challenge_ttl_secs(3_600)
        .password_params(params())
        .build()
        .unwrap();
    let svc = MfaService::builder(
        config,
        Arc::clone(&store),
        Arc::clone(&mailer) as Arc<dyn Mailer>,
        Arc::clone(&clock) as Arc<dyn Clock>,
        Arc::new(KeyRing::new(SealingKey::new(KeyId::new(1), [7; 32]))),
    )
    .build();
    Rig {
        svc: Arc::new(svc),
        store,
        mailer,
        clock,
    }
}

/// Inserts the actor (admin 0, Administrator With Billing) and admins `1..=n` (Managers
/// without MFA required), in changes of 10 000.
async fn seed(store: &dyn AdminStore, n: u32, hash: &PasswordHash) {
    seed_shaped(store, n, hash, |_, _| {}).await;
}

/// [`seed`], each admin `n` given its shape by `shape(n, admin)` before it is inserted.
async fn seed_shaped(
    store: &dyn AdminStore,
    n: u32,
    hash: &PasswordHash,
    shape: impl Fn(u32, &mut Admin),
) {
    store
        .commit(Change::new().insert(admin(0, BuiltinRole::AdministratorWithBilling, hash)))
        .await
        .unwrap();
    let ids: Vec<u32> = (1..=n).collect();
    for chunk in ids.chunks(10_000) {
        let mut change = Change::new();
        for n in chunk {
            let mut a = admin(*n, BuiltinRole::Manager, hash);
            shape(*n, &mut a);
            change = change.insert(a);
        }
        store.commit(change).await.unwrap();
    }
}

async fn login(rig: &Rig, n: u32) -> LoginOutcome {
    rig.svc.login(ORG, &email(n), &password()).await.unwrap()
}

async fn session(rig: &Rig, n: u32) -> Authenticated {
    match login(rig, n).await {
        LoginOutcome::Authenticated(s) => s,
        other => panic!("unexpected {other:?}"),
    }
}

async fn challenge(rig: &Rig, n: u32) -> MfaChallenge {
    match login(rig, n).await {
        LoginOutcome::MfaChallenge(c) => c,
        other => panic!("unexpected {other:?}"),
    }
}

/// Admin `n`, enrolled through the real flow (required → login → link → QR → code).
async fn enrolled(rig: &Rig, n: u32, hash: &PasswordHash) -> TotpSecret {
    let mut a = admin(n, BuiltinRole::Manager, hash);
    a.mfa.requirement = Requirement::Required {
        since: T0,
        by: None,
    };
    rig.store.commit(Change::new().insert(a)).await.unwrap();
    assert!(matches!(
        login(rig, n).await,
        LoginOutcome::SetupRequired(_)
    ));
    rig.svc.dispatch_emails().await.unwrap();
    let text = rig.mailer.sent().last().unwrap().text.clone();
    let start = text.find("token=").unwrap() + 6;
    let token = &text[start..start + 43];
    let p = rig
        .svc
        .confirm_identity(token, &email(n), &password())
        .await
        .unwrap();
    let secret = OtpauthUri::parse(&p.otpauth_uri())
        .unwrap()
        .secret()
        .clone();
    let code = generate(&secret, &TotpParams::default(), rig.clock.now().as_secs());
    rig.svc
        .complete_setup(token, p.proof(), &code)
        .await
        .unwrap();
    secret
}

/// A SQL database for one bench: the store, and how to reach it by hand.
#[expect(
    clippy::large_enum_variant,
    reason = "one value per bench run; boxing the larger variant would buy nothing"
)]
enum Sql {
    Sqlite {
        store: SqliteStore,
        _dir: tempfile::TempDir,
    },
    Postgres {
        store: PostgresStore,
        base: PgConnectOptions,
        schema: String,
    },
}

impl Sql {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("bench.db"))
            .await
            .unwrap();
        Self::Sqlite { store, _dir: dir }
    }

    async fn postgres(url: &str, name: &str) -> Self {
        let base: PgConnectOptions = url.parse().unwrap();
        let schema = format!("admin_mfa_bench_{name}_{}", std::process::id());
        ddl(
            &base,
            format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
        )
        .await;
        let options = base.clone().options([("search_path", schema.as_str())]);
        let store = PostgresStore::connect_with(options, 10).await.unwrap();
        Self::Postgres {
            store,
            base,
            schema,
        }
    }

    fn store(&self) -> Arc<dyn AdminStore> {
        match self {
            Self::Sqlite { store, .. } => Arc::new(store.clone()),
            Self::Postgres { store, .. } => Arc::new(store.clone()),
        }
    }

    /// What autovacuum would have done by now on PostgreSQL: statistics and the visibility map.
    async fn settle(&self) {
        if let Self::Postgres { store, .. } = self {
            store.pool().execute("VACUUM ANALYZE admins").await.unwrap();
        }
    }

    /// Puts admins `1..=n` back to "MFA not required" (a fresh MFA state) by hand, widget
    /// counter included: the untimed set-up of every bulk iteration.
    async fn reset(&self, n: u32) {
        let fresh = serde_json::to_string(&MfaState::new()).unwrap();
        let actor = id(0).as_uuid().as_bytes().to_vec();
        let org = ORG.as_uuid().as_bytes().to_vec();
        let count = i64::from(n) + 1;
        macro_rules! reset_on {
            ($pool:expr) => {{
                let mut tx = $pool.begin().await.unwrap();
                sqlx::query(
                    "UPDATE admins SET mfa_required = $1, mfa = $2, version = version + 1 \
                     WHERE org = $3 AND id <> $4",
                )
                .bind(false)
                .bind(&fresh)
                .bind(&org)
                .bind(&actor)
                .execute(&mut *tx)
                .await
                .unwrap();
                sqlx::query("UPDATE widget_counts SET without_mfa = $1 WHERE org = $2")
                    .bind(count)
                    .bind(&org)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }};
        }
        match self {
            Self::Sqlite { store, .. } => reset_on!(store.pool()),
            Self::Postgres { store, .. } => reset_on!(store.pool()),
        }
    }

    /// The floor: the hand-written batched `UPDATE` requiring MFA of `ids`, one transaction.
    /// With `rows` (SQLite), the same transaction also writes per admin one audit event and
    /// one outbox e-mail, copies of the last ones the service wrote in this database, in
    /// multi-row `INSERT`s of 500, and the widget count. Dedupe keys take `tick`, so every
    /// run's are new.
    async fn floor(&self, ids: &[Vec<u8>], json: &str, rows: Option<&ServiceRows>, tick: u64) {
        match self {
            Self::Sqlite { store, .. } => {
                let org = ORG.as_uuid().as_bytes().to_vec();
                let actor = id(0).as_uuid().as_bytes().to_vec();
                let at = i64::try_from(T0.as_secs()).unwrap();
                let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await.unwrap();
                for chunk in ids.chunks(500) {
                    sqlite_floor_update(chunk, json)
                        .build()
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    if let Some(rows) = rows {
                        let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                            "INSERT INTO audit_events (org, at, actor, target, kind) ",
                        );
                        qb.push_values(chunk, |mut row, id| {
                            row.push_bind(&org)
                                .push_bind(at)
                                .push_bind(&actor)
                                .push_bind(id.as_slice())
                                .push_bind(&rows.audit_kind);
                        });
                        qb.build().execute(&mut *tx).await.unwrap();
                        let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                            "INSERT INTO outbox \
                             (dedupe_key, org, created_at, payload, state, next_attempt_at) ",
                        );
                        qb.push_values(chunk, |mut row, id| {
                            let mut key = vec![rows.key_code];
                            key.extend_from_slice(format!("f{tick}").as_bytes());
                            key.extend_from_slice(id);
                            row.push_bind(key)
                                .push_bind(&org)
                                .push_bind(at)
                                .push_bind(&rows.payload)
                                .push_bind("pending")
                                .push_bind(at);
                        });
                        qb.build().execute(&mut *tx).await.unwrap();
                        sqlx::query(
                            "UPDATE widget_counts SET without_mfa = without_mfa - ? WHERE org = ?",
                        )
                        .bind(i64::try_from(chunk.len()).unwrap())
                        .bind(&org)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    }
                }
                tx.commit().await.unwrap();
            }
            Self::Postgres { store, .. } => {
                sqlx::query(
                    "UPDATE admins SET mfa_required = true, mfa = $1, \
                     version = version + 1 WHERE id = ANY($2)",
                )
                .bind(json)
                .bind(ids)
                .execute(store.pool())
                .await
                .unwrap();
            }
        }
    }

    /// The audit kind, outbox payload and dedupe key code of the newest rows the service
    /// wrote (SQLite only).
    async fn service_rows(&self) -> ServiceRows {
        let Self::Sqlite { store, .. } = self else {
            unreachable!("the floor with rows is SQLite's");
        };
        let (audit_kind,): (String,) =
            sqlx::query_as("SELECT kind FROM audit_events ORDER BY seq DESC LIMIT 1")
                .fetch_one(store.pool())
                .await
                .unwrap();
        let (payload, key): (String, Vec<u8>) =
            sqlx::query_as("SELECT payload, dedupe_key FROM outbox ORDER BY id DESC LIMIT 1")
                .fetch_one(store.pool())
                .await
                .unwrap();
        ServiceRows {
            audit_kind,
            payload,
            key_code: key[0],
        }
    }

    async fn drop_schema(self) {
        match self {
            Self::Sqlite { store, .. } => store.close().await,
            Self::Postgres {
                store,
                base,
                schema,
            } => {
                store.close().await;
                ddl(&base, format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
            }
        }
    }
}

async fn ddl(base: &PgConnectOptions, sql: String) {
    let mut conn = PgConnection::connect_with(base).await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    conn.close().await.unwrap();
}

/// The SQLite floor's `UPDATE` of one chunk of ids: MFA required with the state `json`.
fn sqlite_floor_update(chunk: &[Vec<u8>], json: &str) -> sqlx::QueryBuilder<sqlx::Sqlite> {
    let mut qb = sqlx::QueryBuilder::new("UPDATE admins SET mfa_required = 1, mfa = ");
    qb.push_bind(json);
    qb.push(", version = version + 1 WHERE id IN (");
    let mut list = qb.separated(", ");
    for id in chunk {
        list.push_bind(id.as_slice());
    }
    qb.push(")");
    qb
}

/// What [`Sql::floor`] copies from the service's own rows.
struct ServiceRows {
    audit_kind: String,
    payload: String,
    key_code: u8,
}

/// The MFA state JSON the floor writes: `Required` since `at`.
fn required_json(at: UnixTime) -> String {
    let mut state = MfaState::new();
    state.requirement = Requirement::Required {
        since: at,
        by: None,
    };
    serde_json::to_string(&state).unwrap()
}

fn sample_size(n: u32) -> usize {
    if n >= 100_000 { 10 } else { 20 }
}

fn targets(n: u32) -> Vec<AdminId> {
    (1..=n).map(id).collect()
}

fn bulk_sql(c: &mut Criterion, rt: &Runtime, backend: &str, open: &dyn Fn(u32) -> Sql) {
    let hash = rt.block_on(shared_hash());
    let mut group = c.benchmark_group(format!("stores/bulk_require/{backend}"));
    for n in SIZES {
        group.sample_size(sample_size(n));
        let db = open(n);
        let r = rig(db.store());
        rt.block_on(seed(r.store.as_ref(), n, &hash));
        rt.block_on(db.settle());
        let actor = rt.block_on(session(&r, 0));
        let ids = targets(n);
        group.bench_with_input(BenchmarkId::new("require_mfa", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        db.reset(n).await;
                        let start = now();
                        let report = r.svc.require_mfa(&actor, &ids).await.unwrap();
                        total += start.elapsed();
                        assert_eq!(report.newly_required(), n as usize);
                    }
                    total
                })
            });
        });
        let raw: Vec<Vec<u8>> = ids
            .iter()
            .map(|i| i.as_uuid().as_bytes().to_vec())
            .collect();
        let mut tick = 0;
        // SQLite also has the floor that writes the audit and outbox rows the service writes
        // per admin, copied from rows the service writes here (one admin's require, untimed).
        let rows = matches!(db, Sql::Sqlite { .. }).then(|| {
            rt.block_on(async {
                db.reset(n).await;
                let one = r.svc.require_mfa(&actor, &ids[..1]).await.unwrap();
                assert_eq!(one.newly_required(), 1);
                db.service_rows().await
            })
        });
        let mut floors = vec![("floor_batched_update", None)];
        if let Some(rows) = &rows {
            floors.push(("floor_with_audit_and_outbox", Some(rows)));
        }
        for (name, rows) in floors {
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            db.reset(n).await;
                            tick += 1;
                            let json = required_json(T0.saturating_add_secs(tick));
                            let start = now();
                            db.floor(&raw, &json, rows, tick).await;
                            total += start.elapsed();
                        }
                        total
                    })
                });
            });
        }
        drop(r);
        rt.block_on(db.drop_schema());
    }
    group.finish();
}

fn bulk_memory(c: &mut Criterion, rt: &Runtime) {
    let hash = rt.block_on(shared_hash());
    // A session is valid in any store holding its admin at the same credential epoch, so
    // the fresh stores of the iterations need no login each.
    let actor = rt.block_on(async {
        let first = rig(Arc::new(MemoryStore::new()));
        seed(first.store.as_ref(), 0, &hash).await;
        session(&first, 0).await
    });
    let mut group = c.benchmark_group("stores/bulk_require/memory");
    for n in SIZES {
        group.sample_size(sample_size(n));
        let ids = targets(n);
        group.bench_with_input(BenchmarkId::new("require_mfa", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let r = rig(Arc::new(MemoryStore::new()));
                        seed(r.store.as_ref(), n, &hash).await;
                        let start = now();
                        let report = r.svc.require_mfa(&actor, &ids).await.unwrap();
                        total += start.elapsed();
                        assert_eq!(report.newly_required(), n as usize);
                    }
                    total
                })
            });
        });
        group.bench_with_input(BenchmarkId::new("floor_read_and_commit", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let store = MemoryStore::new();
                        seed(&store, n, &hash).await;
                        let start = now();
                        let mut change = Change::new();
                        for current in store.admins(ORG, &ids).await.unwrap() {
                            let current = current.unwrap();
                            let mut next = current.value;
                            next.mfa.requirement = Requirement::Required {
                                since: T0,
                                by: None,
                            };
                            change = change.update(next, current.version);
                        }
                        store.commit(change).await.unwrap();
                        total += start.elapsed();
                    }
                    total
                })
            });
        });
    }
    group.finish();
}

/// Admins `1..=n` in the shapes a posture report meets (one in two required, one in four
/// enrolled with a sealed secret, a used step and ten recovery hashes, one in a hundred of
/// those locked), and the actor (admin 0, Administrator With Billing), in changes of 10 000.
async fn seed_posture(store: &dyn AdminStore, n: u32, hash: &PasswordHash) {
    let key = SealingKey::new(KeyId::new(1), [7; 32]);
    let secret = TotpSecret::from_bytes(&[9; 20]).unwrap();
    let codes = RecoveryCodes::new(
        (0..10_u8)
            .map(|i| RecoveryCode::from_random(&[i; 10]))
            .collect(),
    );
    seed_shaped(store, n, hash, |n, a| {
        if n % 2 == 0 {
            a.mfa.requirement = Requirement::Required {
                since: T0,
                by: None,
            };
        }
        if n % 4 == 0 {
            a.mfa.factor = Factor::Active(ActiveFactor {
                sealed: Sealed::seal_secret(&key, Nonce::from_bytes([1; 12]), a.id, &secret)
                    .unwrap(),
                params: TotpParams::default(),
                enrolled_at: T0,
                last_used_step: Some(TimeStep::new(T0.as_secs() / 30)),
            });
            a.mfa.recovery = Some(codes.hashed(&key, a.id, T0));
            a.mfa.failures.locked = n % 400 == 0;
        }
    })
    .await;
}

/// The whole report of `r`'s organization through `PostureExport`: bytes written.
async fn export(r: &Rig, actor: &Authenticated, filter: PostureFilter) -> usize {
    let mut export = PostureExport::new(actor.clone(), filter, PostureFormat::Csv);
    let mut bytes = 0;
    while let Some(chunk) = export.next_chunk(&r.svc).await.unwrap() {
        bytes += chunk.len();
    }
    bytes
}

/// The posture report's curve on one store: the CSV export, the locked-only filter and the
/// store's own listing, each over every admin.
fn posture(c: &mut Criterion, rt: &Runtime, backend: &str, open: &dyn Fn(u32) -> Sql) {
    let hash = rt.block_on(shared_hash());
    let mut group = c.benchmark_group(format!("stores/posture/{backend}"));
    for n in SIZES {
        group.sample_size(sample_size(n));
        group.throughput(Throughput::Elements(u64::from(n) + 1));
        let db = (backend != "memory").then(|| open(n));
        let store = db.as_ref().map_or_else(
            || Arc::new(MemoryStore::new()) as Arc<dyn AdminStore>,
            Sql::store,
        );
        let r = rig(store);
        rt.block_on(seed_posture(r.store.as_ref(), n, &hash));
        if let Some(db) = &db {
            rt.block_on(db.settle());
        }
        let actor = rt.block_on(session(&r, 0));
        let rows = rt.block_on(export(&r, &actor, PostureFilter::all()));
        assert!(rows > 100 * n as usize, "{rows} bytes for {n} admins");
        group.bench_with_input(BenchmarkId::new("export_csv", n), &n, |b, _| {
            b.iter(|| rt.block_on(export(&r, &actor, PostureFilter::all())));
        });
        group.bench_with_input(BenchmarkId::new("filter_locked", n), &n, |b, _| {
            b.iter(|| rt.block_on(export(&r, &actor, PostureFilter::all().locked())));
        });
        group.bench_with_input(BenchmarkId::new("list_admins_alone", n), &n, |b, _| {
            b.iter(|| {
                rt.block_on(async {
                    let mut page = PageRequest::first(PageRequest::<Email>::MAX_LIMIT);
                    let mut listed = 0;
                    loop {
                        let got = r.store.list_admins(ORG, page.clone()).await.unwrap();
                        listed += got.items.len();
                        match got.next {
                            Some(next) => page.after = Some(next),
                            None => break listed,
                        }
                    }
                })
            });
        });
        drop(r);
        if let Some(db) = db {
            rt.block_on(db.drop_schema());
        }
    }
    group.finish();
}

/// Rounds of `k` concurrent verifies, each task for its own admin, the clock 30 s further
/// every round (a code is accepted once per step); codes are computed, and challenges
/// renewed by a login, outside the timed part.
fn verify_tasks(c: &mut Criterion, rt: &Runtime, backend: &str, store: Arc<dyn AdminStore>) {
    let most = TASKS.iter().copied().max().unwrap_or(1);
    let r = rig(store);
    let hash = rt.block_on(shared_hash());
    let mut admins: Vec<(u32, TotpSecret, MfaChallenge)> = rt.block_on(async {
        let mut admins = Vec::new();
        for n in 1..=most as u32 {
            let secret = enrolled(&r, n, &hash).await;
            admins.push((n, secret, challenge_after_step(&r, n).await));
        }
        admins
    });
    let params = TotpParams::default();
    let mut group = c.benchmark_group(format!("stores/verify_tasks/{backend}"));
    group.sample_size(20);
    for k in TASKS {
        group.throughput(Throughput::Elements(k as u64));
        group.bench_with_input(BenchmarkId::from_parameter(k), &k, |b, &k| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        r.clock.advance(30);
                        let at = r.clock.now();
                        let mut round = Vec::with_capacity(k);
                        for (n, secret, current) in admins.iter_mut().take(k) {
                            if at.secs_since(current.issued_at()) > 3_000 {
                                *current = challenge(&r, *n).await;
                            }
                            let code = generate(secret, &params, at.as_secs());
                            round.push((current.clone(), code));
                        }
                        let start = now();
                        let tasks: Vec<_> = round
                            .into_iter()
                            .map(|(current, code)| {
                                let svc = Arc::clone(&r.svc);
                                tokio::spawn(async move { svc.verify(&current, &code).await })
                            })
                            .collect();
                        for task in tasks {
                            task.await.unwrap().unwrap();
                        }
                        total += start.elapsed();
                    }
                    total
                })
            });
        });
    }
    group.finish();
}

/// A challenge for admin `n` issued one step after its enrolment's code.
async fn challenge_after_step(r: &Rig, n: u32) -> MfaChallenge {
    r.clock.advance(30);
    challenge(r, n).await
}

fn memory(c: &mut Criterion) {
    let rt = runtime();
    bulk_memory(c, &rt);
    verify_tasks(c, &rt, "memory", Arc::new(MemoryStore::new()));
    posture(c, &rt, "memory", &|_| {
        unreachable!("memory needs no database")
    });
}

fn sqlite(c: &mut Criterion) {
    let rt = runtime();
    bulk_sql(c, &rt, "sqlite", &|_| rt.block_on(Sql::sqlite()));
    let db = rt.block_on(Sql::sqlite());
    verify_tasks(c, &rt, "sqlite", db.store());
    rt.block_on(db.drop_schema());
    posture(c, &rt, "sqlite", &|_| rt.block_on(Sql::sqlite()));
}

fn postgres(c: &mut Criterion) {
    let Some(url) = std::env::var(URL_VAR).ok().filter(|u| !u.trim().is_empty()) else {
        println!("skipped stores/*/postgres benches: {URL_VAR} is not set");
        return;
    };
    let rt = runtime();
    bulk_sql(c, &rt, "postgres", &|n| {
        rt.block_on(Sql::postgres(&url, &format!("bulk{n}")))
    });
    let db = rt.block_on(Sql::postgres(&url, "verify"));
    verify_tasks(c, &rt, "postgres", db.store());
    rt.block_on(db.drop_schema());
    posture(c, &rt, "postgres", &|n| {
        rt.block_on(Sql::postgres(&url, &format!("posture{n}")))
    });
}

criterion_group!(benches, memory, sqlite, postgres);
criterion_main!(benches);
