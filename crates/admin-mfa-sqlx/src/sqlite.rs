//! The SQLite store.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use admin_mfa_lifecycle::{Admin, AdminId, Email, OrgId, Role, TokenHash, UnixTime};
use admin_mfa_ports::{
    AdminStore, AdminSummary, AuditCursor, AuditPage, Change, CommitReceipt, ConflictKind, Lease,
    OutboxEntry, OutboxStats, Page, PageRequest, StoreError, Versioned,
};
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::common::{
    AdminRow, AuditRow, CorruptRow, EncodedAdmin, ExistingRow, OpenError, Plan, PlannedUpdate,
    SummaryRow, admin_from_row, admin_select, audit_from_row, db_error, existing_from_rows,
    id_bytes, in_order_of, org_bytes, outbox_entries, plan, stats_from_rows, summary_from_row,
    time_to_db_saturating, u64_from_db, written_ids,
};

/// Rows per multi-row statement: 11 bound values per admin stays far below SQLite's limit
/// of 32 766 variables per statement.
const CHUNK: usize = 500;

/// The busy timeout [`SqliteStore::open`] sets: how long a writer waits for the write lock.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The pool size [`SqliteStore::open`] uses: WAL readers run in parallel, writers queue
/// on the database's write lock.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// An [`AdminStore`] in a SQLite database file: one process, persistent.
///
/// The database runs in WAL mode (readers never block the writer) with a busy timeout and
/// foreign keys on. Every write is a `BEGIN IMMEDIATE` transaction, so two writers queue on
/// the write lock instead of failing when a read transaction tries to upgrade (REL-4).
/// A [`Change`] is checked against the rows it touches, then applied in multi-row
/// statements of up to 500 admins, all inside that one transaction.
///
/// Several processes may open one file; they then share every guarantee, because each
/// rests on the database's lock and the `version` column, not on process memory.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

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
        Ok(Self { pool })
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

    async fn begin_immediate(&self) -> Result<sqlx::Transaction<'static, Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_error)
    }
}

async fn read_existing(
    conn: &mut SqliteConnection,
    ids: &[Vec<u8>],
) -> Result<Vec<ExistingRow>, StoreError> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT id, org, version, email, token_hash, role, mfa_required FROM admins WHERE id IN (",
        );
        let mut list = qb.separated(", ");
        for id in chunk {
            list.push_bind(id.as_slice());
        }
        qb.push(")");
        let found: Vec<ExistingRow> = qb
            .build_query_as()
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
        rows.extend(found);
    }
    Ok(rows)
}

async fn release_keys(conn: &mut SqliteConnection, ids: &[Vec<u8>]) -> Result<(), StoreError> {
    for chunk in ids.chunks(CHUNK) {
        // No valid email starts with a space, so a released email collides with nothing.
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "UPDATE admins SET email = ' released ' || hex(id), token_hash = NULL WHERE id IN (",
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

/// The upsert's update of a row whose email, token hash and role stay as stored.
const NARROW_SET: &str = " ON CONFLICT (id) DO UPDATE SET \
    display_name = excluded.display_name, password_hash = excluded.password_hash, \
    created_at = excluded.created_at, mfa_required = excluded.mfa_required, \
    mfa = excluded.mfa, widget_hidden = excluded.widget_hidden, \
    version = admins.version + 1 \
    WHERE admins.version = excluded.version AND admins.org = excluded.org";

/// The upsert's update of any row.
const WIDE_SET: &str = " ON CONFLICT (id) DO UPDATE SET email = excluded.email, \
    display_name = excluded.display_name, role = excluded.role, \
    password_hash = excluded.password_hash, created_at = excluded.created_at, \
    mfa_required = excluded.mfa_required, token_hash = excluded.token_hash, \
    mfa = excluded.mfa, widget_hidden = excluded.widget_hidden, \
    version = admins.version + 1 \
    WHERE admins.version = excluded.version AND admins.org = excluded.org";

async fn apply_plan(conn: &mut SqliteConnection, plan: &Plan) -> Result<usize, StoreError> {
    release_keys(conn, &plan.release).await?;
    let (narrow, wide): (Vec<&PlannedUpdate>, Vec<&PlannedUpdate>) =
        plan.updates.iter().partition(|u| u.keys_unchanged);
    for (updates, set) in [(narrow, NARROW_SET), (wide, WIDE_SET)] {
        for chunk in updates.chunks(CHUNK) {
            // An upsert whose rows all exist (checked under the write lock): each row is
            // found through the primary key, whatever the planner thinks of a join, and
            // updated only while its version is still the expected one (carried in the
            // `version` value). Rows whose keys stay put leave the key indexes alone.
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO admins (id, org, email, display_name, role, password_hash, \
                 created_at, mfa_required, token_hash, mfa, widget_hidden, version) ",
            );
            qb.push_values(chunk, |mut b, u| {
                b.push_bind(u.admin.id.as_slice())
                    .push_bind(u.admin.org.as_slice());
                push_admin_values(&mut b, &u.admin);
                b.push_bind(u.expected);
            });
            qb.push(set);
            let done = qb
                .build()
                .execute(&mut *conn)
                .await
                .map_err(db_error)?
                .rows_affected();
            // The rows were checked under the write lock, so this only trips on a bug.
            if usize::try_from(done).ok() != Some(chunk.len()) {
                return Err(StoreError::Conflict(ConflictKind::Version));
            }
        }
    }
    for chunk in plan.inserts.chunks(CHUNK) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO admins (id, org, email, display_name, role, password_hash, \
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
        let mut qb: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO audit_events (org, at, actor, target, kind) ");
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
            "INSERT INTO outbox (dedupe_key, org, admin, kind, created_at, payload, state, \
             next_attempt_at) ",
        );
        qb.push_values(chunk, |mut b, n| {
            b.push_bind(n.dedupe_key.as_str())
                .push_bind(n.org.as_slice())
                .push_bind(n.admin.as_slice())
                .push_bind(n.kind.as_str())
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

const SELECT_BY_ID: &str = admin_select!("WHERE id = ? AND org = ?");
const SELECT_BY_EMAIL: &str = admin_select!("WHERE org = ? AND email = ?");
const SELECT_BY_TOKEN: &str = admin_select!("WHERE token_hash = ?");

#[async_trait]
impl AdminStore for SqliteStore {
    async fn admin(&self, org: OrgId, id: AdminId) -> Result<Option<Versioned<Admin>>, StoreError> {
        sqlx::query_as::<_, AdminRow>(SELECT_BY_ID)
            .bind(id_bytes(id))
            .bind(org_bytes(org))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .map(admin_from_row)
            .transpose()
    }

    async fn admins(
        &self,
        org: OrgId,
        ids: &[AdminId],
    ) -> Result<Vec<Option<Versioned<Admin>>>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(admin_select!("WHERE org = "));
            qb.push_bind(org_bytes(org));
            qb.push(" AND id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id_bytes(*id));
            }
            qb.push(")");
            let rows: Vec<AdminRow> = qb
                .build_query_as()
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
            for row in rows {
                found.push(admin_from_row(row)?);
            }
        }
        Ok(in_order_of(ids, found))
    }

    async fn admin_by_email(
        &self,
        org: OrgId,
        email: &Email,
    ) -> Result<Option<Versioned<Admin>>, StoreError> {
        sqlx::query_as::<_, AdminRow>(SELECT_BY_EMAIL)
            .bind(org_bytes(org))
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .map(admin_from_row)
            .transpose()
    }

    async fn admin_by_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Versioned<Admin>>, StoreError> {
        sqlx::query_as::<_, AdminRow>(SELECT_BY_TOKEN)
            .bind(hash.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .map(admin_from_row)
            .transpose()
    }

    async fn count_without_mfa_required(&self, org: OrgId) -> Result<u64, StoreError> {
        let n: Option<i64> =
            sqlx::query_scalar("SELECT without_mfa FROM widget_counts WHERE org = ?")
                .bind(org_bytes(org))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        u64_from_db(n.unwrap_or(0), "count")
    }

    async fn list_without_mfa_required(
        &self,
        org: OrgId,
        page: PageRequest<Email>,
    ) -> Result<Page<AdminSummary, Email>, StoreError> {
        let limit = page.clamped_limit();
        let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let rows: Vec<SummaryRow> = match &page.after {
            None => sqlx::query_as(
                "SELECT id, org, email, display_name, role, created_at FROM admins \
                 WHERE org = ? AND mfa_required = 0 ORDER BY email LIMIT ?",
            )
            .bind(org_bytes(org))
            .bind(fetch),
            Some(after) => sqlx::query_as(
                "SELECT id, org, email, display_name, role, created_at FROM admins \
                 WHERE org = ? AND mfa_required = 0 AND email > ? ORDER BY email LIMIT ?",
            )
            .bind(org_bytes(org))
            .bind(after.as_str().to_owned())
            .bind(fetch),
        }
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let mut items = rows
            .into_iter()
            .map(summary_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|s| s.email.clone())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn count_with_role(&self, org: OrgId, role: &Role) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins WHERE org = ? AND role = ?")
            .bind(org_bytes(org))
            .bind(role.as_str().to_owned())
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        u64_from_db(n, "count")
    }

    async fn commit(&self, change: Change) -> Result<CommitReceipt, StoreError> {
        if change.is_empty() {
            return Ok(CommitReceipt::default());
        }
        let mut tx = self.begin_immediate().await?;
        let ids = written_ids(&change);
        let existing = existing_from_rows(read_existing(&mut tx, &ids).await?);
        let plan = plan(&change, &existing)?;
        let queued = apply_plan(&mut tx, &plan).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(CommitReceipt {
            versions: plan.versions,
            queued,
            deduplicated: change.outbox.len().saturating_sub(queued),
        })
    }

    async fn audit_log(
        &self,
        org: OrgId,
        page: PageRequest<AuditCursor>,
    ) -> Result<AuditPage, StoreError> {
        let limit = page.clamped_limit();
        let after = page
            .after
            .map_or(0, |c| i64::try_from(c.0).unwrap_or(i64::MAX));
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT seq, org, at, actor, target, kind FROM audit_events \
             WHERE org = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(org_bytes(org))
        .bind(after)
        .bind(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let mut events = rows
            .into_iter()
            .map(audit_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|(seq, _)| AuditCursor(*seq))
        } else {
            None
        };
        Ok(Page {
            items: events.into_iter().map(|(_, e)| e).collect(),
            next,
        })
    }

    async fn lease_outbox(
        &self,
        now: UnixTime,
        lease_secs: u64,
        max: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let now_db = time_to_db_saturating(now);
        let until = time_to_db_saturating(now.saturating_add_secs(lease_secs));
        let mut tx = self.begin_immediate().await?;
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "UPDATE outbox SET leased_until = ?, generation = generation + 1, \
             attempts = attempts + 1 WHERE id IN (SELECT id FROM outbox \
             WHERE state = 'pending' AND next_attempt_at <= ? \
             AND (leased_until IS NULL OR leased_until <= ?) ORDER BY id LIMIT ?) \
             RETURNING id, generation, attempts, payload",
        )
        .bind(until)
        .bind(now_db)
        .bind(now_db)
        .bind(i64::try_from(max).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        outbox_entries(rows)
    }

    async fn mark_sent(&self, lease: Lease) -> Result<(), StoreError> {
        self.finish(lease, "sent", None).await
    }

    async fn mark_retry(&self, lease: Lease, retry_at: UnixTime) -> Result<(), StoreError> {
        self.finish(lease, "pending", Some(retry_at)).await
    }

    async fn mark_dead(&self, lease: Lease) -> Result<(), StoreError> {
        self.finish(lease, "dead", None).await
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM outbox GROUP BY state")
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
        stats_from_rows(rows)
    }
}

impl SqliteStore {
    /// Ends or returns a lease: `state` is the new state, `retry_at` the next attempt for a
    /// returned entry.
    async fn finish(
        &self,
        lease: Lease,
        state: &'static str,
        retry_at: Option<UnixTime>,
    ) -> Result<(), StoreError> {
        let id = i64::try_from(lease.id.0).map_err(|_| StoreError::NotFound)?;
        let generation = i64::try_from(lease.generation)
            .map_err(|_| StoreError::Conflict(ConflictKind::Lease))?;
        let mut tx = self.begin_immediate().await?;
        let done = sqlx::query(
            "UPDATE outbox SET state = ?, leased_until = NULL, \
             next_attempt_at = COALESCE(?, next_attempt_at) \
             WHERE id = ? AND generation = ? AND state = 'pending' AND leased_until IS NOT NULL",
        )
        .bind(state)
        .bind(retry_at.map(time_to_db_saturating))
        .bind(id)
        .bind(generation)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?
        .rows_affected();
        if done == 0 {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM outbox WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?;
            tx.rollback().await.map_err(db_error)?;
            return Err(match exists {
                Some(_) => StoreError::Conflict(ConflictKind::Lease),
                None => StoreError::NotFound,
            });
        }
        tx.commit().await.map_err(db_error)
    }
}
