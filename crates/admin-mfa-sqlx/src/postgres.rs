//! The PostgreSQL store.

use std::fmt;

use admin_mfa_lifecycle::{Admin, AdminId, Email, OrgId};
use admin_mfa_ports::{Change, CommitReceipt, ConflictKind, StoreError, Versioned};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{PgConnection, Postgres};

use crate::common::{
    AdminRow, CorruptRow, ExistingRow, OpenError, Plan, Write, admin_from_row, admin_select,
    db_error, existing_columns, id_bytes, org_bytes,
};
use crate::template::sql_admin_store;

/// Admins per `UPDATE … FROM unnest(…)` or `INSERT … SELECT FROM unnest(…)` statement.
const CHUNK: usize = 5_000;

/// A database URL that does not parse (the URL itself is not repeated: it may hold a password).
#[derive(Debug, thiserror::Error)]
#[error("invalid PostgreSQL connection url")]
struct InvalidUrl;

/// The pool size [`PostgresStore::connect`] uses.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// An [`AdminStore`](admin_mfa_ports::AdminStore) in PostgreSQL: the store that several replicas of a service share.
///
/// A commit locks the rows of the admins it writes (`SELECT … FOR UPDATE`, in id order so
/// two commits never deadlock on each other's admins), checks the change, then writes it
/// in array-bound statements (`UPDATE … FROM unnest(…)` with the expected version in the
/// join condition, `INSERT … SELECT … FROM unnest(…)`), all in one transaction. Leasing
/// uses `FOR UPDATE SKIP LOCKED`, so dispatchers on several replicas never take one entry
/// twice. Every guarantee holds across replicas because it rests on the database.
///
/// Audit sequence numbers come from an identity column, assigned when a commit inserts its
/// events: a reader paging the log while writers commit may, rarely, meet an event with a
/// lower number than one it already read. The log is a record to read, not a queue.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/database`) with a pool of up to
    /// [`DEFAULT_MAX_CONNECTIONS`] connections, then applies the embedded migrations.
    ///
    /// # Errors
    ///
    /// [`OpenError::Connect`] if the URL is invalid or the server unreachable,
    /// [`OpenError::Migrate`] if the schema cannot be brought up to date.
    pub async fn connect(url: &str) -> Result<Self, OpenError> {
        // The parse error may quote the URL, password included: keep it out of the error.
        let options: PgConnectOptions = url
            .parse()
            .map_err(|_| OpenError::Connect(Box::new(InvalidUrl)))?;
        Self::connect_with(options, DEFAULT_MAX_CONNECTIONS).await
    }

    /// Connects with the given options and pool size, then migrates.
    ///
    /// # Errors
    ///
    /// As for [`connect`](Self::connect).
    pub async fn connect_with(
        options: PgConnectOptions,
        max_connections: u32,
    ) -> Result<Self, OpenError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(OpenError::connect)?;
        Self::from_pool(pool).await
    }

    /// Wraps an existing pool, applying the embedded migrations first (a no-op when they
    /// are applied already; concurrent callers serialise on the migrator's lock).
    ///
    /// # Errors
    ///
    /// [`OpenError::Migrate`] if the schema cannot be brought up to date.
    pub async fn from_pool(pool: PgPool) -> Result<Self, OpenError> {
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
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A write transaction; row locks order concurrent writers.
    async fn begin_write(&self) -> Result<Write<Postgres>, StoreError> {
        let tx = self.pool.begin().await.map_err(db_error)?;
        Ok(Write::new(tx, ()))
    }

    /// Commits one change in its own transaction.
    async fn commit_change(&self, change: Change) -> Result<CommitReceipt, StoreError> {
        let mut tx = self.begin_write().await?;
        let receipt = Self::write_change(&mut tx, &change).await?;
        tx.commit().await?;
        Ok(receipt)
    }

    /// The admins `ids` of `org`, in one statement for any number of ids.
    async fn found_admins(
        &self,
        org: OrgId,
        ids: &[AdminId],
    ) -> Result<Vec<Versioned<Admin>>, StoreError> {
        let wanted: Vec<Vec<u8>> = ids.iter().map(|id| id_bytes(*id)).collect();
        let rows: Vec<AdminRow> = sqlx::query_as(admin_select!("WHERE org = $1 AND id = ANY($2)"))
            .bind(org_bytes(org))
            .bind(wanted)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.into_iter().map(admin_from_row).collect()
    }

    /// One page of the admin list: up to `fetch` admins of `org` after `after`, in e-mail
    /// order, walked on the `(org, email)` unique index.
    async fn listed_admins(
        &self,
        org: OrgId,
        after: Option<&Email>,
        fetch: i64,
    ) -> Result<Vec<Admin>, StoreError> {
        // No e-mail is empty, so `''` starts the first page.
        let rows: Vec<AdminRow> = sqlx::query_as(admin_select!(
            "WHERE org = $1 AND email > $3 ORDER BY email LIMIT $2"
        ))
        .bind(org_bytes(org))
        .bind(fetch)
        .bind(after.map_or("", Email::as_str))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.into_iter()
            .map(|row| admin_from_row(row).map(|v| v.value))
            .collect()
    }

    /// The rows of the admins a commit writes, locked in id order so that two commits never
    /// deadlock on each other's admins.
    async fn read_existing(
        conn: &mut PgConnection,
        ids: &[AdminId],
    ) -> Result<Vec<ExistingRow>, StoreError> {
        let wanted: Vec<Vec<u8>> = ids.iter().map(|id| id_bytes(*id)).collect();
        sqlx::query_as(concat!(
            "SELECT ",
            existing_columns!(),
            " FROM admins WHERE id = ANY($1) ORDER BY id FOR UPDATE"
        ))
        .bind(wanted)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)
    }

    /// An outbox row: the whole notification as JSON.
    fn encode_notification(
        n: &admin_mfa_lifecycle::Notification,
    ) -> Result<crate::common::EncodedNotification, StoreError> {
        crate::common::EncodedNotification::new(n)
    }

    /// Writes a checked change in array-bound statements of up to 5 000 rows.
    async fn apply_plan(conn: &mut PgConnection, plan: &Plan) -> Result<usize, StoreError> {
        if !plan.release.is_empty() {
            // No valid email starts with a space, so a released email collides with nothing.
            sqlx::query(
                "UPDATE admins SET email = ' released ' || encode(id, 'hex'), token_hash = NULL \
             WHERE id = ANY($1)",
            )
            .bind(&plan.release)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
        }
        for chunk in plan.updates.chunks(CHUNK) {
            let admins = Columns::new(chunk.iter().map(|u| &u.admin));
            let expected: Vec<i64> = chunk.iter().map(|u| u.expected).collect();
            let done = sqlx::query(
                "UPDATE admins AS a SET email = v.email, display_name = v.display_name, \
             role = v.role, password_hash = v.password_hash, created_at = v.created_at, \
             mfa_required = v.mfa_required, token_hash = v.token_hash, mfa = v.mfa, \
             widget_hidden = v.widget_hidden, version = a.version + 1 \
             FROM unnest($1::bytea[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::bigint[], $8::boolean[], $9::bytea[], $10::text[], $11::boolean[]) \
             AS v(id, expected, email, display_name, role, password_hash, created_at, \
             mfa_required, token_hash, mfa, widget_hidden) \
             WHERE a.id = v.id AND a.version = v.expected",
            )
            .bind(admins.id)
            .bind(expected)
            .bind(admins.email)
            .bind(admins.display_name)
            .bind(admins.role)
            .bind(admins.password_hash)
            .bind(admins.created_at)
            .bind(admins.mfa_required)
            .bind(admins.token_hash)
            .bind(admins.mfa)
            .bind(admins.widget_hidden)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?
            .rows_affected();
            // The rows are locked since they were checked, so this only trips on a bug.
            if usize::try_from(done).ok() != Some(chunk.len()) {
                return Err(StoreError::Conflict(ConflictKind::Version));
            }
        }
        for chunk in plan.inserts.chunks(CHUNK) {
            let admins = Columns::new(chunk.iter());
            let org: Vec<&[u8]> = chunk.iter().map(|a| a.org.as_slice()).collect();
            sqlx::query(
                "INSERT INTO admins (id, org, email, display_name, role, password_hash, \
             created_at, mfa_required, token_hash, mfa, widget_hidden, version) \
             SELECT id, org, email, display_name, role, password_hash, created_at, \
             mfa_required, token_hash, mfa, widget_hidden, 1 \
             FROM unnest($1::bytea[], $2::bytea[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::bigint[], $8::boolean[], $9::bytea[], $10::text[], $11::boolean[]) \
             AS v(id, org, email, display_name, role, password_hash, created_at, \
             mfa_required, token_hash, mfa, widget_hidden)",
            )
            .bind(admins.id)
            .bind(org)
            .bind(admins.email)
            .bind(admins.display_name)
            .bind(admins.role)
            .bind(admins.password_hash)
            .bind(admins.created_at)
            .bind(admins.mfa_required)
            .bind(admins.token_hash)
            .bind(admins.mfa)
            .bind(admins.widget_hidden)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
        }
        // One statement per organization, in organization order, so concurrent commits lock
        // the counters in one order. A row exists once its organization counted an admin; a
        // negative delta updates it in place (the insert half of an upsert would fail the
        // non-negative check before the conflict is even considered).
        for (org, delta) in &plan.widget_deltas {
            let sql = if *delta > 0 {
                "INSERT INTO widget_counts AS w (org, without_mfa) VALUES ($1, $2) \
             ON CONFLICT (org) DO UPDATE SET without_mfa = w.without_mfa + excluded.without_mfa"
            } else {
                "UPDATE widget_counts SET without_mfa = without_mfa + $2 WHERE org = $1"
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
            let org: Vec<&[u8]> = chunk.iter().map(|e| e.org.as_slice()).collect();
            let at: Vec<i64> = chunk.iter().map(|e| e.at).collect();
            let actor: Vec<Option<&[u8]>> = chunk.iter().map(|e| e.actor.as_deref()).collect();
            let target: Vec<&[u8]> = chunk.iter().map(|e| e.target.as_slice()).collect();
            let kind: Vec<&str> = chunk.iter().map(|e| e.kind.as_str()).collect();
            // WITH ORDINALITY keeps the change's order in the sequence numbers.
            sqlx::query(
                "INSERT INTO audit_events (org, at, actor, target, kind) \
             SELECT org, at, actor, target, kind \
             FROM unnest($1::bytea[], $2::bigint[], $3::bytea[], $4::bytea[], $5::text[]) \
             WITH ORDINALITY AS v(org, at, actor, target, kind, n) ORDER BY n",
            )
            .bind(org)
            .bind(at)
            .bind(actor)
            .bind(target)
            .bind(kind)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
        }
        let mut queued = 0_u64;
        for chunk in plan.outbox.chunks(CHUNK) {
            let key: Vec<&str> = chunk.iter().map(|n| n.dedupe_key.as_str()).collect();
            let org: Vec<&[u8]> = chunk.iter().map(|n| n.org.as_slice()).collect();
            let admin: Vec<&[u8]> = chunk.iter().map(|n| n.admin.as_slice()).collect();
            let kind: Vec<&str> = chunk.iter().map(|n| n.kind.as_str()).collect();
            let created_at: Vec<i64> = chunk.iter().map(|n| n.created_at).collect();
            let payload: Vec<&str> = chunk.iter().map(|n| n.payload.as_str()).collect();
            queued += sqlx::query(
                "INSERT INTO outbox (dedupe_key, org, admin, kind, created_at, payload, state, \
             next_attempt_at) \
             SELECT dedupe_key, org, admin, kind, created_at, payload, 'pending', created_at \
             FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::text[], $5::bigint[], \
             $6::text[]) WITH ORDINALITY \
             AS v(dedupe_key, org, admin, kind, created_at, payload, n) ORDER BY n \
             ON CONFLICT (dedupe_key) DO NOTHING",
            )
            .bind(key)
            .bind(org)
            .bind(admin)
            .bind(kind)
            .bind(created_at)
            .bind(payload)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?
            .rows_affected();
        }
        Ok(usize::try_from(queued).unwrap_or(usize::MAX))
    }
}

/// The admin columns of a batch, one array per column, for `unnest`.
struct Columns<'a> {
    id: Vec<&'a [u8]>,
    email: Vec<&'a str>,
    display_name: Vec<&'a str>,
    role: Vec<&'a str>,
    password_hash: Vec<&'a str>,
    created_at: Vec<i64>,
    mfa_required: Vec<bool>,
    token_hash: Vec<Option<&'a [u8]>>,
    mfa: Vec<&'a str>,
    widget_hidden: Vec<bool>,
}

impl<'a> Columns<'a> {
    fn new(admins: impl ExactSizeIterator<Item = &'a crate::common::EncodedAdmin> + Clone) -> Self {
        Self {
            id: admins.clone().map(|a| a.id.as_slice()).collect(),
            email: admins.clone().map(|a| a.email.as_str()).collect(),
            display_name: admins.clone().map(|a| a.display_name.as_str()).collect(),
            role: admins.clone().map(|a| a.role.as_str()).collect(),
            password_hash: admins.clone().map(|a| a.password_hash.as_str()).collect(),
            created_at: admins.clone().map(|a| a.created_at).collect(),
            mfa_required: admins.clone().map(|a| a.mfa_required).collect(),
            token_hash: admins.clone().map(|a| a.token_hash.as_deref()).collect(),
            mfa: admins.clone().map(|a| a.mfa.as_str()).collect(),
            widget_hidden: admins.map(|a| a.widget_hidden).collect(),
        }
    }
}

sql_admin_store! {
    store: PostgresStore,
    connection: PgConnection,
    without_mfa_required: "NOT mfa_required",
    lease_outbox: "UPDATE outbox SET leased_until = $1, generation = generation + 1, \
         attempts = attempts + 1 WHERE id IN (SELECT id FROM outbox \
         WHERE state = 'pending' AND next_attempt_at <= $2 \
         AND (leased_until IS NULL OR leased_until <= $2) ORDER BY id LIMIT $3 \
         FOR UPDATE SKIP LOCKED) \
         RETURNING id, generation, attempts, payload",
    lease_row: (i64, i64, i64, String),
    lease_entries: crate::common::outbox_entries,
}
