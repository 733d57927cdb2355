//! The SQLite store.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use admin_mfa_lifecycle::{Admin, AdminId, Email, MfaState, Notification, OrgId};
use admin_mfa_ports::{AdminWrite, Change, CommitReceipt, ConflictKind, StoreError, Versioned};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use crate::common::{
    AdminColumns, CorruptRow, EncodedAdmin, ExistingRow, OpenError, Plan, PlannedUpdate, Write,
    admin_from_columns, admin_id_from_db, corrupt, db_error, org_bytes, plan_unread,
    updates_of_one_org,
};
use crate::template::sql_admin_store;
use outbox::OutboxRow;

/// Rows per multi-row statement: 11 bound values per admin stays far below SQLite's limit
/// of 32 766 variables per statement.
const CHUNK: usize = 500;

/// The most changes one write transaction takes in: a transaction stops taking in changes
/// queued while it writes there, so it always ends.
const MAX_BATCH: usize = 256;

/// The busy timeout [`SqliteStore::open`] sets: how long a writer waits for the write lock.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The pool size [`SqliteStore::open`] uses: WAL readers run in parallel, writers take
/// turns.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

mod outbox;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// An [`AdminStore`](admin_mfa_ports::AdminStore) in a SQLite database file: one process, persistent.
///
/// The database runs in WAL mode (readers never block the writer) with a busy timeout and
/// foreign keys on. Every write is a `BEGIN IMMEDIATE` transaction, so two writers queue on
/// the write lock instead of failing when a read transaction tries to upgrade (REL-4).
/// A [`Change`](admin_mfa_ports::Change) is checked against the rows it touches, then applied in multi-row
/// statements of up to 500 admins, all inside that one transaction.
///
/// SQLite lets one transaction write at a time, and each commit waits for its own `fsync`.
/// Writers of one store (and of its clones) therefore queue in process: a commit joins the
/// queue and waits for the writer's turn (woken as soon as the previous write ends, not by
/// polling the file lock with the busy handler's back-off); the commit holding the turn
/// writes every change queued by then, and every change queued while it writes (up to 256),
/// in one `BEGIN IMMEDIATE` transaction, each change in a savepoint of its own (a first
/// change alone needs none), checked against the writes before it. A change that fails
/// rolls back to its savepoint alone; the others commit together, and every caller learns
/// its own outcome once the transaction is durable. So concurrent writers share one
/// `fsync` instead of waiting for each other's. Reads never wait for a turn.
///
/// Several processes (or several stores) may open one file; they then share every
/// guarantee, because each rests on the database's lock and the `version` column, not on
/// process memory. Between them, writers wait on the file lock with the busy timeout.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Arc<Writer>,
}

/// The writers' queue of one store.
#[derive(Default)]
struct Writer {
    /// Changes waiting for the next write transaction, each with its caller's answer.
    queued: std::sync::Mutex<Vec<Queued>>,
    /// One turn to write at a time, handed out in arrival order.
    turn: Arc<Mutex<()>>,
}

/// A change waiting in the queue.
struct Queued {
    change: Change,
    done: oneshot::Sender<Result<CommitReceipt, StoreError>>,
}

impl Writer {
    fn push(&self, queued: Queued) {
        // Nothing panics while the queue is locked, so a poisoned lock still guards a list.
        self.queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(queued);
    }

    /// The first `max` changes of the queue, in order.
    fn take_up_to(&self, max: usize) -> Vec<Queued> {
        let mut queued = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
        let n = queued.len().min(max);
        queued.drain(..n).collect()
    }

    #[cfg(test)]
    fn take_len(&self) -> usize {
        self.queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    async fn turn(&self) -> OwnedMutexGuard<()> {
        Arc::clone(&self.turn).lock_owned().await
    }
}

/// A write transaction of several changes that failed as a whole: nothing of it was written.
#[derive(Debug, thiserror::Error)]
#[error("the write transaction failed")]
struct WriteFailed(#[source] Arc<sqlx::Error>);

/// A queued change whose writer went away without an answer (it panicked, or the runtime
/// shut down): its transaction did not commit.
#[derive(Debug, thiserror::Error)]
#[error("the write was abandoned")]
struct WriteAbandoned;

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating it if needed) the database file at `path` and applies the embedded
    /// migrations: WAL, a busy timeout of [`DEFAULT_BUSY_TIMEOUT`], foreign keys on,
    /// `synchronous = FULL` and up to [`DEFAULT_MAX_CONNECTIONS`] connections.
    ///
    /// # Errors
    ///
    /// [`OpenError::Connect`] if the file cannot be opened, [`OpenError::Migrate`] if the
    /// schema cannot be brought up to date.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(DEFAULT_BUSY_TIMEOUT)
            .foreign_keys(true);
        Self::open_with(options, DEFAULT_MAX_CONNECTIONS).await
    }

    /// A private in-memory database (one connection, gone when the store is dropped): for
    /// tests and examples.
    ///
    /// # Errors
    ///
    /// As for [`open`](Self::open).
    pub async fn memory() -> Result<Self, OpenError> {
        let options = SqliteConnectOptions::new()
            .in_memory(true)
            .foreign_keys(true);
        // Every `sqlite::memory:` connection is a database of its own: keep exactly one.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(OpenError::connect)?;
        Self::from_pool(pool).await
    }

    /// Opens a database with the given connection options and pool size, then migrates.
    ///
    /// Use WAL and a non-zero busy timeout for a file database shared by several
    /// connections; [`open`](Self::open) shows the settings it uses.
    ///
    /// # Errors
    ///
    /// As for [`open`](Self::open).
    pub async fn open_with(
        options: SqliteConnectOptions,
        max_connections: u32,
    ) -> Result<Self, OpenError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(OpenError::connect)?;
        Self::from_pool(pool).await
    }

    /// Wraps an existing pool, applying the embedded migrations first (a no-op when they
    /// are applied already).
    ///
    /// # Errors
    ///
    /// [`OpenError::Migrate`] if the schema cannot be brought up to date.
    pub async fn from_pool(pool: SqlitePool) -> Result<Self, OpenError> {
        MIGRATOR.run(&pool).await.map_err(OpenError::migrate)?;
        Ok(Self {
            pool,
            writer: Arc::default(),
        })
    }

    /// The embedded migrations, for hosts that run them themselves.
    #[must_use]
    pub fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    /// The connection pool (for health checks and host-side maintenance).
    #[must_use]
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection; the data stays in the file.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A write transaction: the store's next writer turn, then `BEGIN IMMEDIATE` (which
    /// takes the database's write lock at once, so the transaction never has to upgrade a
    /// read lock it cannot get).
    async fn begin_write(&self) -> Result<Write<Sqlite, OwnedMutexGuard<()>>, StoreError> {
        let turn = self.writer.turn().await;
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_error)?;
        Ok(Write::new(tx, turn))
    }

    /// Queues a change and waits for its outcome. Whoever gets the writer's turn writes the
    /// queue, and what joins it while that transaction writes (up to [`MAX_BATCH`] changes);
    /// a caller whose change an earlier turn wrote finds its answer waiting.
    /// The batch runs in a task of its own, so a caller that goes away mid-write cannot
    /// cut short the other callers' transaction.
    async fn commit_change(&self, change: Change) -> Result<CommitReceipt, StoreError> {
        let (done, outcome) = oneshot::channel();
        self.writer.push(Queued { change, done });
        let turn = self.writer.turn().await;
        let batch = self.writer.take_up_to(MAX_BATCH);
        if batch.is_empty() {
            drop(turn);
        } else {
            let pool = self.pool.clone();
            let writer = Arc::clone(&self.writer);
            tokio::spawn(async move {
                write_batch(&pool, &writer, batch).await;
                drop(turn);
            });
        }
        outcome
            .await
            .unwrap_or_else(|_| Err(StoreError::backend(WriteAbandoned)))
    }

    /// The admins `ids` of `org`, in one statement for any number of ids.
    async fn found_admins(
        &self,
        org: OrgId,
        ids: &[AdminId],
    ) -> Result<Vec<Versioned<Admin>>, StoreError> {
        let rows: String = sqlx::query_scalar(SELECT_ADMINS)
            .bind(org_bytes(org))
            .bind(ids_json(ids))
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        let rows: Vec<JsonAdmin> = from_json_rows(&rows, "admin rows")?;
        rows.into_iter().map(|row| row.admin(org)).collect()
    }

    /// One page of the admin list ([`SELECT_LISTED`]): up to `fetch` admins of `org` after
    /// `after` in e-mail order.
    async fn listed_admins(
        &self,
        org: OrgId,
        after: Option<&Email>,
        fetch: i64,
    ) -> Result<Vec<Admin>, StoreError> {
        let rows: String = sqlx::query_scalar(SELECT_LISTED)
            .bind(org_bytes(org))
            .bind(fetch)
            .bind(after.map_or("", Email::as_str))
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        let rows: Vec<JsonAdmin> = from_json_rows(&rows, "admin rows")?;
        let mut admins = rows
            .into_iter()
            .map(|row| row.admin(org).map(|v| v.value))
            .collect::<Result<Vec<_>, _>>()?;
        // An aggregate's order is not the subquery's by any promise of SQLite's: sorted here
        // (e-mails are unique in an organization).
        admins.sort_unstable_by(|a, b| a.email.cmp(&b.email));
        Ok(admins)
    }

    async fn read_existing(
        conn: &mut SqliteConnection,
        ids: &[AdminId],
    ) -> Result<Vec<ExistingRow>, StoreError> {
        let rows: String = sqlx::query_scalar(SELECT_EXISTING)
            .bind(ids_json(ids))
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?;
        let rows: Vec<JsonExisting> = from_json_rows(&rows, "admin rows")?;
        rows.into_iter()
            .map(
                |JsonExisting(id, org, version, email, token_hash, role, required)| {
                    let token_hash = token_hash.as_deref().map(from_hex).transpose()?;
                    Ok((
                        from_hex(&id)?,
                        from_hex(&org)?,
                        version,
                        email,
                        token_hash,
                        role,
                        required != 0,
                    ))
                },
            )
            .collect()
    }
}

/// An `admins` row of [`SELECT_ADMINS`]: id (hex), email, display name, role, password
/// hash, created at, MFA state, widget hidden (0 or 1), version.
#[derive(serde::Deserialize)]
struct JsonAdmin(
    String,
    String,
    String,
    String,
    String,
    i64,
    MfaState,
    u8,
    i64,
);

impl JsonAdmin {
    /// The admin of organization `org` this row holds.
    fn admin(self, org: OrgId) -> Result<Versioned<Admin>, StoreError> {
        let Self(id, email, display_name, role, password_hash, created_at, mfa, hidden, version) =
            self;
        let columns = AdminColumns {
            email,
            display_name,
            role,
            password_hash,
            created_at,
            mfa,
            hidden: hidden != 0,
            version,
        };
        admin_from_columns(admin_id_from_db(&from_hex(&id)?)?, org, columns)
    }
}

/// A row of [`SELECT_EXISTING`]: id, org (hex), version, email, token hash (hex or null),
/// role, MFA required (0 or 1).
#[derive(serde::Deserialize)]
struct JsonExisting(String, String, i64, String, Option<String>, String, u8);

fn from_json_rows<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &'static str,
) -> Result<Vec<T>, StoreError> {
    serde_json::from_str(text).map_err(|_| corrupt(what))
}

/// Runs a batched admin write that must touch each of its `rows`: fewer means a row was
/// not at its expected version.
async fn write_every_row(
    mut qb: QueryBuilder<Sqlite>,
    conn: &mut SqliteConnection,
    rows: usize,
) -> Result<(), StoreError> {
    let done = qb
        .build()
        .execute(conn)
        .await
        .map_err(db_error)?
        .rows_affected();
    if usize::try_from(done).ok() == Some(rows) {
        Ok(())
    } else {
        Err(StoreError::Conflict(ConflictKind::Version))
    }
}

/// The bytes of SQLite's `hex()` of a blob.
fn from_hex(text: &str) -> Result<Vec<u8>, StoreError> {
    data_encoding::HEXUPPER
        .decode(text.as_bytes())
        .map_err(|_| corrupt("hex value"))
}

/// Writes a batch of queued changes in one transaction, taking in the changes queued while
/// it writes, and answers every caller once the transaction has ended.
async fn write_batch(pool: &SqlitePool, writer: &Writer, first: Vec<Queued>) {
    let mut taken = Vec::with_capacity(first.len());
    let mut outcomes = Vec::with_capacity(first.len());
    if let Err(failed) = run_batch(pool, writer, first, &mut taken, &mut outcomes).await {
        let failed = Arc::new(failed);
        outcomes = taken
            .iter()
            .map(|_| Err(StoreError::backend(WriteFailed(Arc::clone(&failed)))))
            .collect();
    }
    for (queued, outcome) in taken.into_iter().zip(outcomes) {
        // A caller that went away no longer needs its answer.
        let _ = queued.done.send(outcome);
    }
}

/// Writes `first`, then whatever was queued meanwhile (up to [`MAX_BATCH`] changes), then
/// commits once: every change taken goes into `taken`, its outcome into `outcomes`; an
/// error undid the whole transaction.
///
/// Each change has a savepoint of its own, so one that fails is undone alone. A change alone
/// at the start needs none: if it fails, the transaction rolls back (undoing the same
/// writes, and sparing every page a copy into the savepoint's journal) and ends there,
/// leaving later changes to the next turn. Changes queued while this transaction writes
/// join it before it commits, so writers that arrive a moment apart share one `fsync`
/// instead of waiting for each other's.
async fn run_batch(
    pool: &SqlitePool,
    writer: &Writer,
    first: Vec<Queued>,
    taken: &mut Vec<Queued>,
    outcomes: &mut Vec<Result<CommitReceipt, StoreError>>,
) -> Result<(), sqlx::Error> {
    let lone = first.len() == 1;
    taken.extend(first);
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    if lone && let Some(queued) = taken.first() {
        let outcome = SqliteStore::write_queued(&mut tx, &queued.change).await;
        let failed = outcome.is_err();
        outcomes.push(outcome);
        if failed {
            return tx.rollback().await;
        }
    }
    loop {
        for queued in taken.get(outcomes.len()..).unwrap_or_default() {
            sqlx::query("SAVEPOINT change").execute(&mut *tx).await?;
            let outcome = SqliteStore::write_queued(&mut tx, &queued.change).await;
            if outcome.is_err() {
                sqlx::query("ROLLBACK TO change").execute(&mut *tx).await?;
            }
            sqlx::query("RELEASE change").execute(&mut *tx).await?;
            outcomes.push(outcome);
        }
        let more = writer.take_up_to(MAX_BATCH.saturating_sub(taken.len()));
        if more.is_empty() {
            break;
        }
        taken.extend(more);
    }
    tx.commit().await
}

/// A list of ids as one bound value: a JSON array of their hex forms.
fn ids_json(ids: &[AdminId]) -> String {
    let mut json = String::with_capacity(ids.len().saturating_mul(35).saturating_add(2));
    json.push('[');
    for (n, id) in ids.iter().enumerate() {
        if n > 0 {
            json.push(',');
        }
        json.push('"');
        json.push_str(id.as_uuid().simple().encode_lower(&mut [0; 32]));
        json.push('"');
    }
    json.push(']');
    json
}

/// The batched reads walk the list of ids and look each one up by the primary key:
/// `CROSS JOIN` fixes that join order in SQLite. A `WHERE org = ? AND id IN (…)` lets the
/// planner pick the `(org, role)` index instead once the list is long, and then every chunk
/// walks the whole organization: quadratic bulk work. A test pins the plan.
///
/// The rows come back as one JSON array in one value (blobs as hex, the MFA state as the
/// JSON it is stored as): sqlx hands every result row from its SQLite worker thread to the
/// caller's task as a message of its own, which cost about 3 µs a row, three times what
/// building and parsing the array costs.
const SELECT_ADMINS: &str = concat!(
    "WITH wanted (key) AS (SELECT unhex(value) FROM json_each($2)) ",
    "SELECT json_group_array(json_array(hex(id), email, display_name, role, password_hash, ",
    "created_at, json(mfa), widget_hidden, version)) ",
    "FROM wanted CROSS JOIN admins ON admins.id = wanted.key WHERE org = $1"
);

/// One page of the admin list: the organization's admins after `$3` (an e-mail; `''` for the
/// first page, as no e-mail is empty) in e-mail order, at most `$2`, walked on the
/// `(org, email)` unique index, and returned as one JSON array as [`SELECT_ADMINS`] does,
/// for the same reason (a message per row through sqlx's worker thread). A test pins the
/// plan.
const SELECT_LISTED: &str = concat!(
    "SELECT json_group_array(json_array(hex(id), email, display_name, role, password_hash, ",
    "created_at, json(mfa), widget_hidden, version)) FROM (SELECT * FROM admins ",
    "WHERE org = $1 AND email > $3 ORDER BY email LIMIT $2)"
);

/// What a commit reads of the admins it writes, by primary key and as one JSON array, as
/// [`SELECT_ADMINS`].
const SELECT_EXISTING: &str = concat!(
    "WITH wanted (key) AS (SELECT unhex(value) FROM json_each($1)) ",
    "SELECT json_group_array(json_array(hex(id), hex(org), version, email, ",
    "nullif(hex(token_hash), ''), role, mfa_required)) ",
    "FROM wanted CROSS JOIN admins ON admins.id = wanted.key"
);

/// What a commit of updates alone asks of the rows it writes before writing them without
/// reading them (see [`SqliteStore::write_queued`]): how many of the listed admins are
/// stored in organization `$1` at the listed version with the listed email, token hash and
/// role, and how many of those require MFA now. One aggregate row, whatever the number of
/// admins, looked up by primary key as [`SELECT_ADMINS`]; `$2` is a JSON array of
/// `[id (hex), version, email, token hash (hex or null), role]`. The unary `+` keeps the
/// planner off the other columns' indexes (it took the token hash's for `IS`).
const CONFIRM_UNREAD: &str = concat!(
    "WITH v (id, version, email, token, role) AS (SELECT unhex(value ->> 0), value ->> 1, ",
    "value ->> 2, unhex(value ->> 3), value ->> 4 FROM json_each($2)) ",
    "SELECT count(*), coalesce(sum(admins.mfa_required), 0) ",
    "FROM v CROSS JOIN admins ON admins.id = v.id ",
    "WHERE +admins.org = $1 AND +admins.version = v.version AND +admins.email = v.email ",
    "AND +admins.token_hash IS v.token AND +admins.role = v.role"
);

/// One admin of [`CONFIRM_UNREAD`]'s list.
#[derive(serde::Serialize)]
struct Confirm<'a>(String, i64, &'a str, Option<String>, &'a str);

impl SqliteStore {
    /// An outbox row in the compact form of migration 0002.
    fn encode_notification(n: &Notification) -> Result<OutboxRow, StoreError> {
        OutboxRow::new(n)
    }

    /// Writes one change inside the open write transaction.
    ///
    /// A change that only updates admins of one organization (a bulk require, a code check)
    /// is not read back: one aggregate statement confirms that every admin is stored at its
    /// expected version with the keys and role of its new record, and counts how many
    /// require MFA now (for the widget's count); then [`plan_unread`] checks and plans it
    /// as [`Change::validate`] on those rows would. Anything else, or a change the
    /// statement does not confirm (a stale version, a key that moves, a missing admin),
    /// takes the checked path, which reads the rows and reports what is wrong.
    async fn write_queued(
        conn: &mut SqliteConnection,
        change: &Change,
    ) -> Result<CommitReceipt, StoreError> {
        if let Some(org) = updates_of_one_org(change)
            && let Some(plan) = Self::confirmed_plan(&mut *conn, change, org).await?
        {
            let queued = Self::apply_plan(conn, &plan).await?;
            return Ok(CommitReceipt {
                versions: plan.versions,
                queued,
                deduplicated: change.outbox.len().saturating_sub(queued),
            });
        }
        Self::write_change(conn, change).await
    }

    /// The plan of a change of updates of `org` alone, once the database confirms the
    /// assumptions of [`plan_unread`]; `None` when it does not (or the change does not pass
    /// its checks), for the checked path to find out why.
    async fn confirmed_plan(
        conn: &mut SqliteConnection,
        change: &Change,
        org: OrgId,
    ) -> Result<Option<Plan<OutboxRow>>, StoreError> {
        let mut list = Vec::with_capacity(change.writes.len());
        let mut required = 0_i64;
        for write in &change.writes {
            let admin = write.admin();
            let AdminWrite::Update { expected, .. } = write else {
                return Ok(None);
            };
            let Ok(version) = i64::try_from(expected.get()) else {
                return Ok(None);
            };
            required += i64::from(admin.mfa.requirement.is_required());
            list.push(Confirm(
                admin
                    .id
                    .as_uuid()
                    .simple()
                    .encode_lower(&mut [0; 32])
                    .to_owned(),
                version,
                admin.email.as_str(),
                admin
                    .mfa
                    .token_hash()
                    .map(|h| data_encoding::HEXLOWER.encode(h.as_bytes())),
                admin.role.as_str(),
            ));
        }
        let list = serde_json::to_string(&list).map_err(StoreError::backend)?;
        let (found, required_before): (i64, i64) = sqlx::query_as(CONFIRM_UNREAD)
            .bind(org_bytes(org))
            .bind(list)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?;
        if usize::try_from(found).ok() != Some(change.writes.len()) {
            return Ok(None);
        }
        // The widget counts the admins without MFA required.
        Ok(plan_unread(change, org, required_before - required, OutboxRow::new).ok())
    }
}

async fn release_keys(conn: &mut SqliteConnection, ids: &[Vec<u8>]) -> Result<(), StoreError> {
    for chunk in ids.chunks(CHUNK) {
        // No valid email starts with a space, so a released email collides with nothing.
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "UPDATE OR FAIL admins SET email = ' released ' || hex(id), token_hash = NULL WHERE id IN (",
        );
        let mut list = qb.separated(", ");
        for id in chunk {
            list.push_bind(id.as_slice());
        }
        qb.push(")");
        qb.build().execute(&mut *conn).await.map_err(db_error)?;
    }
    Ok(())
}

fn push_admin_values(
    b: &mut sqlx::query_builder::Separated<'_, Sqlite, &'static str>,
    a: &EncodedAdmin,
) {
    b.push_bind(a.email.as_str())
        .push_bind(a.display_name.as_str())
        .push_bind(a.role.as_str())
        .push_bind(a.password_hash.as_str())
        .push_bind(a.created_at)
        .push_bind(a.mfa_required)
        .push_bind(a.token_hash.as_deref())
        .push_bind(a.mfa.as_str())
        .push_bind(a.widget_hidden);
}

/// The update of rows whose email, token hash and role stay as stored, up to its list of
/// `(id, org, expected version, display name, password hash, created at, MFA required,
/// MFA state, widget hidden)` values; then [`NARROW_WHERE`]. Only the primary key can serve
/// a lookup: the unary `+` keeps the planner off the other indexes, and off an automatic
/// index on the list (with one it scanned `admins` for a list of 500 rows).
const NARROW_UPDATE: &str = "UPDATE OR FAIL admins SET display_name = v.column4, \
    password_hash = v.column5, created_at = v.column6, mfa_required = v.column7, \
    mfa = v.column8, widget_hidden = v.column9, version = admins.version + 1 FROM (";

/// The end of [`NARROW_UPDATE`].
const NARROW_WHERE: &str = ") AS v WHERE admins.id = +v.column1 \
    AND +admins.org = +v.column2 AND +admins.version = +v.column3";

/// The upsert's update of any row.
const WIDE_SET: &str = " ON CONFLICT (id) DO UPDATE SET email = excluded.email, \
    display_name = excluded.display_name, role = excluded.role, \
    password_hash = excluded.password_hash, created_at = excluded.created_at, \
    mfa_required = excluded.mfa_required, token_hash = excluded.token_hash, \
    mfa = excluded.mfa, widget_hidden = excluded.widget_hidden, \
    version = admins.version + 1 \
    WHERE admins.version = excluded.version AND admins.org = excluded.org";

impl SqliteStore {
    /// Writes a checked change: released keys, updates, inserts, the widget counters, the
    /// audit events and the outbox, in multi-row statements of up to 500 rows.
    ///
    /// The multi-row statements are `OR FAIL`: a statement that fails keeps the rows it
    /// wrote before failing, and the caller then undoes the whole change (its savepoint, or
    /// the transaction), as it does for any failed write. With the default `ABORT`, SQLite
    /// would copy every page each statement touches into a statement journal, only to be
    /// able to undo that one statement.
    async fn apply_plan(
        conn: &mut SqliteConnection,
        plan: &Plan<OutboxRow>,
    ) -> Result<usize, StoreError> {
        release_keys(conn, &plan.release).await?;
        let (narrow, wide): (Vec<&PlannedUpdate>, Vec<&PlannedUpdate>) =
            plan.updates.iter().partition(|u| u.keys_unchanged);
        for chunk in narrow.chunks(CHUNK) {
            // Rows whose keys and role stay as stored: an `UPDATE` of the columns that may
            // change, from a list of values (each row found through the primary key, a plan
            // the unit test pins), leaving the key indexes alone.
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(NARROW_UPDATE);
            qb.push_values(chunk, |mut b, u| {
                let a = &u.admin;
                b.push_bind(a.id.as_slice())
                    .push_bind(a.org.as_slice())
                    .push_bind(u.expected)
                    .push_bind(a.display_name.as_str())
                    .push_bind(a.password_hash.as_str())
                    .push_bind(a.created_at)
                    .push_bind(a.mfa_required)
                    .push_bind(a.mfa.as_str())
                    .push_bind(a.widget_hidden);
            });
            qb.push(NARROW_WHERE);
            // The rows were checked under the write lock, so a short count only trips on a bug.
            write_every_row(qb, &mut *conn, chunk.len()).await?;
        }
        for chunk in wide.chunks(CHUNK) {
            // An upsert whose rows all exist (checked under the write lock): each row is
            // found through the primary key, whatever the planner thinks of a join, and
            // updated only while its version is still the expected one (carried in the
            // `version` value).
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT OR FAIL INTO admins (id, org, email, display_name, role, password_hash, \
                 created_at, mfa_required, token_hash, mfa, widget_hidden, version) ",
            );
            qb.push_values(chunk, |mut b, u| {
                b.push_bind(u.admin.id.as_slice())
                    .push_bind(u.admin.org.as_slice());
                push_admin_values(&mut b, &u.admin);
                b.push_bind(u.expected);
            });
            qb.push(WIDE_SET);
            write_every_row(qb, &mut *conn, chunk.len()).await?;
        }
        for chunk in plan.inserts.chunks(CHUNK) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT OR FAIL INTO admins (id, org, email, display_name, role, password_hash, \
             created_at, mfa_required, token_hash, mfa, widget_hidden, version) ",
            );
            qb.push_values(chunk, |mut b, a| {
                b.push_bind(a.id.as_slice()).push_bind(a.org.as_slice());
                push_admin_values(&mut b, a);
                b.push_bind(1_i64);
            });
            qb.build().execute(&mut *conn).await.map_err(db_error)?;
        }
        // A row exists once its organization counted an admin; a negative delta updates it in
        // place (the insert half of an upsert would fail the non-negative check first).
        for (org, delta) in &plan.widget_deltas {
            let sql = if *delta > 0 {
                "INSERT INTO widget_counts (org, without_mfa) VALUES (?1, ?2) \
             ON CONFLICT (org) DO UPDATE SET without_mfa = without_mfa + excluded.without_mfa"
            } else {
                "UPDATE widget_counts SET without_mfa = without_mfa + ?2 WHERE org = ?1"
            };
            let done = sqlx::query(sql)
                .bind(org.as_slice())
                .bind(*delta)
                .execute(&mut *conn)
                .await
                .map_err(db_error)?
                .rows_affected();
            if done != 1 {
                return Err(StoreError::backend(CorruptRow("widget count")));
            }
        }
        for chunk in plan.audit.chunks(CHUNK) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT OR FAIL INTO audit_events (org, at, actor, target, kind) ",
            );
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(e.org.as_slice())
                    .push_bind(e.at)
                    .push_bind(e.actor.as_deref())
                    .push_bind(e.target.as_slice())
                    .push_bind(e.kind.as_str());
            });
            qb.build().execute(&mut *conn).await.map_err(db_error)?;
        }
        let mut queued = 0_u64;
        for chunk in plan.outbox.chunks(CHUNK) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT OR FAIL INTO outbox (dedupe_key, org, created_at, payload, state, \
             next_attempt_at) ",
            );
            qb.push_values(chunk, |mut b, n| {
                b.push_bind(n.dedupe_key.as_slice())
                    .push_bind(n.org.as_slice())
                    .push_bind(n.created_at)
                    .push_bind(n.payload.as_str())
                    .push_bind("pending")
                    .push_bind(n.created_at);
            });
            qb.push(" ON CONFLICT (dedupe_key) DO NOTHING");
            queued += qb
                .build()
                .execute(&mut *conn)
                .await
                .map_err(db_error)?
                .rows_affected();
        }
        Ok(usize::try_from(queued).unwrap_or(usize::MAX))
    }
}

sql_admin_store! {
    store: SqliteStore,
    connection: SqliteConnection,
    without_mfa_required: "mfa_required = 0",
    lease_outbox: "UPDATE outbox SET leased_until = $1, generation = generation + 1, \
         attempts = attempts + 1 WHERE id IN (SELECT id FROM outbox \
         WHERE state = 'pending' AND next_attempt_at <= $2 \
         AND (leased_until IS NULL OR leased_until <= $2) ORDER BY id LIMIT $3) \
         RETURNING id, generation, attempts, payload, dedupe_key, org, created_at",
    lease_row: outbox::LeasedRow,
    lease_entries: outbox::leased_entries,
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        reason = "tests"
    )]

    use admin_mfa_ports::{AdminStore, Change, Version};
    use admin_mfa_testkit::fixtures::{T0, admin, org, require};
    use sqlx::Connection as _;

    use super::*;

    /// The `EXPLAIN QUERY PLAN` lines of `sql` with `binds` (text or blob) bound.
    async fn plan(store: &SqliteStore, sql: &str, org: Option<OrgId>, ids: &str) -> Vec<String> {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(explain));
        if let Some(org) = org {
            query = query.bind(org_bytes(org));
        }
        query
            .bind(ids.to_owned())
            .fetch_all(store.pool())
            .await
            .unwrap()
            .into_iter()
            .map(|(_, _, _, detail)| detail)
            .collect()
    }

    /// Every line of the plan that touches `admins` is a lookup by its primary key.
    fn assert_primary_key_only(lines: &[String], pk: &str, what: &str) {
        let on_admins: Vec<&String> = lines.iter().filter(|l| l.contains("admins")).collect();
        assert!(
            !on_admins.is_empty(),
            "{what}: no access to admins in {lines:?}"
        );
        for line in on_admins {
            assert_eq!(
                line,
                &format!("SEARCH admins USING INDEX {pk} (id=?)"),
                "{what}: {lines:?}"
            );
        }
    }

    /// Issue 14: with `WHERE org = ? AND id IN (<500 ids>)` the planner walked the whole
    /// organization through `admins_org_role_idx` for every chunk. The batched reads must look
    /// ids up by the primary key whatever the number of ids, before and after `ANALYZE`, on
    /// the SQLite library this crate links.
    #[tokio::test]
    async fn batched_reads_use_the_primary_key_for_any_list_length() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("plan.db")).await.unwrap();
        let (mine, other) = (org(1), org(2));
        let mut change = Change::new();
        for n in 0..2_000 {
            change = change.insert(admin(if n % 10 == 0 { other } else { mine }, n));
        }
        store.commit(change).await.unwrap();
        let pk: String =
            sqlx::query_scalar("SELECT name FROM pragma_index_list('admins') WHERE origin = 'pk'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        let ids: Vec<AdminId> = (0..2_000)
            .map(admin_mfa_testkit::fixtures::admin_id)
            .collect();
        for analyzed in [false, true] {
            if analyzed {
                sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
            }
            for n in [1, 3, 500, 501, 2_000] {
                let list = ids_json(ids.get(..n).unwrap());
                let what = format!("{n} ids, analyzed: {analyzed}");
                let lines = plan(&store, SELECT_ADMINS, Some(mine), &list).await;
                assert_primary_key_only(&lines, &pk, &format!("admins(): {what}"));
                let lines = plan(&store, SELECT_EXISTING, None, &list).await;
                assert_primary_key_only(&lines, &pk, &format!("commit read: {what}"));
                let confirm: Vec<Confirm<'_>> = ids
                    .get(..n)
                    .unwrap()
                    .iter()
                    .map(|id| {
                        let hex = id.as_uuid().simple().to_string();
                        Confirm(hex, 1, "a@example.com", None, "manager")
                    })
                    .collect();
                let confirm = serde_json::to_string(&confirm).unwrap();
                let lines = plan(&store, CONFIRM_UNREAD, Some(mine), &confirm).await;
                assert_primary_key_only(&lines, &pk, &format!("commit check: {what}"));
            }
        }
        // The narrow update of up to a chunk of rows finds each row by the primary key too.
        for analyzed in [false, true] {
            for n in [1, 3, CHUNK] {
                let explain = format!("EXPLAIN QUERY PLAN {NARROW_UPDATE}");
                let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(explain);
                qb.push_values(ids.get(..n).unwrap(), |mut b, id| {
                    b.push_bind(id.as_uuid().as_bytes().to_vec())
                        .push_bind(org_bytes(mine))
                        .push_bind(1_i64)
                        .push_bind("name")
                        .push_bind("hash")
                        .push_bind(0_i64)
                        .push_bind(true)
                        .push_bind("{}")
                        .push_bind(false);
                });
                qb.push(NARROW_WHERE);
                let lines: Vec<String> = qb
                    .build_query_as::<(i64, i64, i64, String)>()
                    .fetch_all(store.pool())
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|(_, _, _, detail)| detail)
                    .collect();
                let what = format!("narrow update: {n} rows, analyzed: {analyzed}");
                assert_primary_key_only(&lines, &pk, &what);
            }
            if !analyzed {
                sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
            }
        }
        // And the statement finds what it should: the ids of `mine`, none of `other`.
        let found = store.admins(mine, &ids).await.unwrap();
        let hits = found.iter().filter(|a| a.is_some()).count();
        assert_eq!(hits, 1_800);
    }

    /// Migration 0002 (compact outbox rows): rows queued under migration 0001, with their
    /// text keys and whole-notification payloads, are leased back as they were queued, and
    /// their keys stay taken: each converted key is the blob the store now writes for the
    /// same text. New rows round-trip in the compact form, including one whose key names
    /// another admin and kind than the notification.
    #[tokio::test]
    async fn outbox_rows_from_before_the_compact_form_stay_readable_and_taken() {
        use admin_mfa_lifecycle::{DedupeKey, NotificationDetail, NotificationKind, UnixTime};
        use admin_mfa_testkit::fixtures::notification;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let a = admin(org(1), 1);
        let b = admin(org(1), 2);
        let mut old = Vec::new();
        // Every kind a row could have before the migration (the table's completeness is
        // checked where it is defined).
        let kinds = outbox::KINDS.iter().take(outbox::KINDS_AT_0002);
        for (n, kind) in kinds.map(|(_, kind)| *kind).enumerate() {
            let mut n = notification(&a, "", T0.saturating_add_secs(n as u64));
            n.kind = kind;
            n.dedupe_key = DedupeKey::new(a.id, kind, format!("{}:é", 7 + n.created_at.as_secs()));
            old.push(n);
        }
        let mut detailed = notification(&b, "reset-1", T0);
        detailed.detail = Some(NotificationDetail::SetupDue {
            by: UnixTime::from_secs(T0.as_secs() + 86_400),
        });
        old.push(detailed);
        let upper = DedupeKey::new(b.id, NotificationKind::MfaRequired, 1);
        old.push(notification(&b, &upper.as_str().to_uppercase(), T0));
        {
            let options = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .unwrap();
            let first: Vec<_> = MIGRATOR
                .iter()
                .filter(|m| m.version == 1)
                .cloned()
                .collect();
            sqlx::migrate::Migrator::with_migrations(first)
                .run(&pool)
                .await
                .unwrap();
            for n in &old {
                sqlx::query(
                    "INSERT INTO outbox (dedupe_key, org, admin, kind, created_at, payload, \
                     state, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                )
                .bind(n.dedupe_key.as_str())
                .bind(org_bytes(n.org))
                .bind(n.admin.as_uuid().as_bytes().to_vec())
                .bind(n.kind.as_str())
                .bind(i64::try_from(n.created_at.as_secs()).unwrap())
                .bind(serde_json::to_string(n).unwrap())
                .bind(i64::try_from(n.created_at.as_secs()).unwrap())
                .execute(&pool)
                .await
                .unwrap();
            }
            pool.close().await;
        }
        let store = SqliteStore::open(&path).await.unwrap();
        let keys: Vec<Vec<u8>> = sqlx::query_scalar("SELECT dedupe_key FROM outbox ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
        let expected: Vec<Vec<u8>> = old
            .iter()
            .map(|n| outbox::key_blob(n.dedupe_key.as_str()))
            .collect();
        assert_eq!(keys, expected);
        assert!(keys.iter().take(9).all(|k| k.first() != Some(&0)));
        // Each stored key still refuses its text; a new key is queued, compact.
        let mut moved = notification(&a, "", T0);
        moved.dedupe_key = DedupeKey::new(b.id, NotificationKind::LockedOut, "x");
        let fresh = notification(&b, "fresh-1", T0);
        let mut named = notification(&b, "", T0);
        named.dedupe_key = DedupeKey::new(b.id, NotificationKind::MfaRequired, 99);
        let new = [moved, fresh, named];
        let receipt = store
            .commit(Change::new().notify(old.iter().cloned().chain(new.clone())))
            .await
            .unwrap();
        assert_eq!((receipt.queued, receipt.deduplicated), (3, old.len()));
        let payloads: Vec<String> =
            sqlx::query_scalar("SELECT payload FROM outbox ORDER BY id DESC LIMIT 3")
                .fetch_all(store.pool())
                .await
                .unwrap();
        assert!(
            payloads.iter().all(|p| p.starts_with("{\"v\":2,")),
            "{payloads:?}"
        );
        // The key names the admin and the kind: the payload does not repeat them.
        assert!(!payloads[0].contains("\"admin\"") && !payloads[0].contains("\"kind\""));
        // A key that names nobody, or someone else: the payload names them.
        for p in &payloads[1..] {
            assert!(p.contains("\"admin\"") && p.contains("\"kind\""), "{p}");
        }
        assert!(!payloads[1].contains("fresh-1"));
        let leased = store
            .lease_outbox(T0.saturating_add_secs(60), 60, 100)
            .await
            .unwrap();
        let back: Vec<_> = leased.into_iter().map(|e| e.notification).collect();
        let mut all = old.clone();
        all.extend(new);
        assert_eq!(back, all);
    }

    /// The Administrators list walks the (org, email) unique index in order, on both pages'
    /// statements, before and after `ANALYZE`: no scan of other organizations, no sort.
    #[tokio::test]
    async fn admin_list_walks_the_org_email_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("list.db")).await.unwrap();
        let (mine, other) = (org(1), org(2));
        let mut change = Change::new();
        for n in 0..500 {
            let mut a = admin(if n % 5 == 0 { other } else { mine }, n);
            if n % 2 == 0 {
                require(&mut a, T0);
            }
            change = change.insert(a);
        }
        store.commit(change).await.unwrap();
        for analyzed in [false, true] {
            if analyzed {
                sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
            }
            let lines = plan(&store, SELECT_LISTED, Some(mine), "10").await;
            let on_admins: Vec<&String> = lines.iter().filter(|l| l.contains("admins")).collect();
            assert_eq!(
                on_admins,
                ["SEARCH admins USING INDEX admins_org_email_key (org=? AND email>?)"],
                "analyzed: {analyzed}: {lines:?}"
            );
            assert!(
                lines.iter().all(|l| !l.contains("TEMP B-TREE")),
                "analyzed: {analyzed}: no sort: {lines:?}"
            );
        }
        let page = store
            .list_admins(mine, admin_mfa_ports::PageRequest::first(1000))
            .await
            .unwrap();
        assert_eq!(page.items.len(), 400);
        assert!(page.items.iter().all(|a| a.org == mine));
    }

    /// Yields until `done` holds (the other tasks get to run in between).
    async fn until(mut done: impl FnMut() -> bool) {
        while !done() {
            tokio::task::yield_now().await;
        }
    }

    /// Changes queued while another write holds the turn are written together, in one
    /// transaction; each keeps its own outcome: a stale version or a key clash found by the
    /// database undoes that change alone (its earlier statements included), and the others
    /// are written, each checked against the ones before it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_transaction_for_the_queue_each_change_on_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("batch.db"))
            .await
            .unwrap();
        let o = org(1);
        let (a, b, c) = (admin(o, 1), admin(o, 2), admin(o, 3));
        store
            .commit(
                Change::new()
                    .insert(a.clone())
                    .insert(b.clone())
                    .insert(c.clone()),
            )
            .await
            .unwrap();
        // Another connection holds the database's write lock: the first commit gets the turn
        // and waits in `BEGIN IMMEDIATE`, and everything after it queues.
        let mut blocker = SqliteConnection::connect_with(
            &SqliteConnectOptions::new().filename(dir.path().join("batch.db")),
        )
        .await
        .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut blocker)
            .await
            .unwrap();
        let commit = |change: Change| {
            let store = store.clone();
            tokio::spawn(async move { store.commit(change).await })
        };
        let first = commit(Change::new().insert(admin(o, 10)));
        until(|| store.writer.turn.try_lock().is_err() && store.writer.take_len() == 0).await;

        let mut a2 = a.clone();
        require(&mut a2, T0);
        let mut a3 = a.clone();
        a3.display_name = "second writer of a".to_owned();
        let mut c2 = c.clone();
        c2.display_name = "undone".to_owned();
        let mut clash = admin(o, 11);
        clash.email = b.email.clone();
        let changes = [
            Change::new().insert(admin(o, 12)),
            Change::new().update(a2.clone(), Version::FIRST),
            // Checked after the previous change of the same batch: stale.
            Change::new().update(a3, Version::FIRST),
            // The update of c is written, then the insert clashes in the database.
            Change::new().update(c2, Version::FIRST).insert(clash),
            Change::new().insert(admin(o, 13)),
        ];
        // Queued one after the other, so the batch holds them in this order.
        let mut queued = Vec::new();
        for change in changes {
            queued.push(commit(change));
            until(|| store.writer.take_len() == queued.len()).await;
        }
        sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();

        assert!(first.await.unwrap().is_ok());
        let mut outcomes = Vec::new();
        for task in queued {
            outcomes.push(task.await.unwrap());
        }
        assert!(outcomes[0].is_ok());
        assert_eq!(
            outcomes[1].as_ref().unwrap().versions,
            vec![(a.id, Version::new(2))]
        );
        assert!(matches!(
            outcomes[2],
            Err(StoreError::Conflict(ConflictKind::Version))
        ));
        assert!(matches!(
            outcomes[3],
            Err(StoreError::Conflict(ConflictKind::Email))
        ));
        assert!(outcomes[4].is_ok());
        let stored = |n| {
            let store = store.clone();
            async move {
                store
                    .admin(o, admin_mfa_testkit::fixtures::admin_id(n))
                    .await
                    .unwrap()
            }
        };
        assert_eq!(stored(1).await.unwrap().value, a2);
        assert_eq!(stored(3).await.unwrap().value, c);
        assert!(stored(11).await.is_none());
        for n in [10, 12, 13] {
            assert!(stored(n).await.is_some(), "admin {n}");
        }
        assert_eq!(store.count_without_mfa_required(o).await.unwrap(), 5);
    }
}
