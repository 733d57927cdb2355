//! The one template both SQL stores are written from, the way sqlx writes its per-driver
//! impls: the reads, counts, pages, audit log, outbox and the shape of a commit are written
//! once here, with `$n` placeholders (which sqlx binds by number on SQLite as on
//! PostgreSQL); each backend supplies only what its dialect does differently.

/// Implements [`AdminStore`](admin_mfa_ports::AdminStore) for a SQL store.
///
/// The store type supplies, as inherent items:
///
/// - a `pool` field (the sqlx pool);
/// - `async fn begin_write(&self) -> Result<Write<_, _>, StoreError>`: a write transaction
///   (with the store's writer turn on SQLite);
/// - `async fn found_admins(&self, org, ids: &[AdminId]) -> Result<Vec<Versioned<Admin>>,
///   StoreError>`: the batched read, one statement whatever the number of ids, in any order;
/// - `async fn read_existing(conn, ids: &[AdminId]) -> Result<Vec<ExistingRow>, StoreError>`:
///   the rows a commit checks, read inside its transaction (and locked, on PostgreSQL);
/// - `async fn apply_plan(conn, plan: &Plan) -> Result<usize, StoreError>`: the batched writes
///   of a checked change, returning how many outbox rows were added;
/// - `async fn commit_change(&self, change: Change) -> Result<CommitReceipt, StoreError>`:
///   a non-empty change committed in a write transaction through the generated
///   `write_change` (SQLite groups concurrent changes into one transaction).
///
/// The macro takes the two statements whose text differs: the widget's predicate, spelt as
/// the backend's partial index spells it (a planner uses a partial index only for a query
/// that states its condition), and the outbox lease, with the type of the rows the lease
/// returns and the function that decodes them into entries (the backends store outbox rows
/// in different forms). The store also supplies `fn encode_notification(&Notification)`,
/// an outbox row as [`apply_plan`] writes it.
macro_rules! sql_admin_store {
    (
        store: $store:ty,
        connection: $conn:ty,
        without_mfa_required: $not_required:literal,
        lease_outbox: $lease:expr,
        lease_row: $lease_row:ty,
        lease_entries: $lease_entries:path $(,)?
    ) => {
        #[async_trait::async_trait]
        impl admin_mfa_ports::AdminStore for $store {
            async fn admin(
                &self,
                org: admin_mfa_lifecycle::OrgId,
                id: admin_mfa_lifecycle::AdminId,
            ) -> Result<
                Option<admin_mfa_ports::Versioned<admin_mfa_lifecycle::Admin>>,
                admin_mfa_ports::StoreError,
            > {
                use $crate::common::{AdminRow, admin_from_row, db_error, id_bytes, org_bytes};
                sqlx::query_as::<_, AdminRow>($crate::common::admin_select!(
                    "WHERE id = $1 AND org = $2"
                ))
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
                org: admin_mfa_lifecycle::OrgId,
                ids: &[admin_mfa_lifecycle::AdminId],
            ) -> Result<
                Vec<Option<admin_mfa_ports::Versioned<admin_mfa_lifecycle::Admin>>>,
                admin_mfa_ports::StoreError,
            > {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let found = self.found_admins(org, ids).await?;
                Ok($crate::common::in_order_of(ids, found))
            }

            async fn admin_by_email(
                &self,
                org: admin_mfa_lifecycle::OrgId,
                email: &admin_mfa_lifecycle::Email,
            ) -> Result<
                Option<admin_mfa_ports::Versioned<admin_mfa_lifecycle::Admin>>,
                admin_mfa_ports::StoreError,
            > {
                use $crate::common::{AdminRow, admin_from_row, db_error, org_bytes};
                sqlx::query_as::<_, AdminRow>($crate::common::admin_select!(
                    "WHERE org = $1 AND email = $2"
                ))
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
                hash: &admin_mfa_lifecycle::TokenHash,
            ) -> Result<
                Option<admin_mfa_ports::Versioned<admin_mfa_lifecycle::Admin>>,
                admin_mfa_ports::StoreError,
            > {
                use $crate::common::{AdminRow, admin_from_row, db_error};
                sqlx::query_as::<_, AdminRow>($crate::common::admin_select!(
                    "WHERE token_hash = $1"
                ))
                .bind(hash.as_bytes().as_slice())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(admin_from_row)
                .transpose()
            }

            async fn count_without_mfa_required(
                &self,
                org: admin_mfa_lifecycle::OrgId,
            ) -> Result<u64, admin_mfa_ports::StoreError> {
                use $crate::common::{db_error, org_bytes, u64_from_db};
                let n: Option<i64> =
                    sqlx::query_scalar("SELECT without_mfa FROM widget_counts WHERE org = $1")
                        .bind(org_bytes(org))
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_error)?;
                u64_from_db(n.unwrap_or(0), "count")
            }

            async fn list_without_mfa_required(
                &self,
                org: admin_mfa_lifecycle::OrgId,
                page: admin_mfa_ports::PageRequest<admin_mfa_lifecycle::Email>,
            ) -> Result<
                admin_mfa_ports::Page<admin_mfa_ports::AdminSummary, admin_mfa_lifecycle::Email>,
                admin_mfa_ports::StoreError,
            > {
                use $crate::common::{
                    SummaryRow, db_error, keyset_page, org_bytes, summary_from_row,
                };
                let limit = page.clamped_limit();
                let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
                let rows: Vec<SummaryRow> = match &page.after {
                    None => sqlx::query_as(concat!(
                        "SELECT id, org, email, display_name, role, created_at FROM admins ",
                        "WHERE org = $1 AND ",
                        $not_required,
                        " ORDER BY email LIMIT $2"
                    ))
                    .bind(org_bytes(org))
                    .bind(fetch),
                    Some(after) => sqlx::query_as(concat!(
                        "SELECT id, org, email, display_name, role, created_at FROM admins ",
                        "WHERE org = $1 AND ",
                        $not_required,
                        " AND email > $3 ORDER BY email LIMIT $2"
                    ))
                    .bind(org_bytes(org))
                    .bind(fetch)
                    .bind(after.as_str()),
                }
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                let items = rows
                    .into_iter()
                    .map(summary_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(keyset_page(items, limit, |s| s.email.clone()))
            }

            async fn list_admins(
                &self,
                org: admin_mfa_lifecycle::OrgId,
                page: admin_mfa_ports::PageRequest<admin_mfa_lifecycle::Email>,
            ) -> Result<
                admin_mfa_ports::Page<admin_mfa_lifecycle::Admin, admin_mfa_lifecycle::Email>,
                admin_mfa_ports::StoreError,
            > {
                use $crate::common::keyset_page;
                let limit = page.clamped_limit();
                let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
                // Both stores walk the (org, email) unique index in order: no sort, no scan
                // of other organizations.
                let admins = self.listed_admins(org, page.after.as_ref(), fetch).await?;
                Ok(keyset_page(admins, limit, |a| a.email.clone()))
            }

            async fn count_with_role(
                &self,
                org: admin_mfa_lifecycle::OrgId,
                role: &admin_mfa_lifecycle::Role,
            ) -> Result<u64, admin_mfa_ports::StoreError> {
                use $crate::common::{db_error, org_bytes, u64_from_db};
                let n: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM admins WHERE org = $1 AND role = $2")
                        .bind(org_bytes(org))
                        .bind(role.as_str())
                        .fetch_one(&self.pool)
                        .await
                        .map_err(db_error)?;
                u64_from_db(n, "count")
            }

            async fn commit(
                &self,
                change: admin_mfa_ports::Change,
            ) -> Result<admin_mfa_ports::CommitReceipt, admin_mfa_ports::StoreError> {
                if change.is_empty() {
                    return Ok(admin_mfa_ports::CommitReceipt::default());
                }
                self.commit_change(change).await
            }

            async fn audit_log(
                &self,
                org: admin_mfa_lifecycle::OrgId,
                page: admin_mfa_ports::PageRequest<admin_mfa_ports::AuditCursor>,
            ) -> Result<admin_mfa_ports::AuditPage, admin_mfa_ports::StoreError> {
                use $crate::common::{AuditRow, audit_from_row, db_error, keyset_page, org_bytes};
                let limit = page.clamped_limit();
                let after = page
                    .after
                    .map_or(0, |c| i64::try_from(c.0).unwrap_or(i64::MAX));
                let rows: Vec<AuditRow> = sqlx::query_as(
                    "SELECT seq, org, at, actor, target, kind FROM audit_events \
                     WHERE org = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                )
                .bind(org_bytes(org))
                .bind(after)
                .bind(i64::try_from(limit + 1).unwrap_or(i64::MAX))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                let events = rows
                    .into_iter()
                    .map(audit_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                let page =
                    keyset_page(events, limit, |(seq, _)| admin_mfa_ports::AuditCursor(*seq));
                Ok(admin_mfa_ports::Page {
                    items: page.items.into_iter().map(|(_, e)| e).collect(),
                    next: page.next,
                })
            }

            async fn lease_outbox(
                &self,
                now: admin_mfa_lifecycle::UnixTime,
                lease_secs: u64,
                max: usize,
            ) -> Result<Vec<admin_mfa_ports::OutboxEntry>, admin_mfa_ports::StoreError> {
                use $crate::common::{db_error, time_to_db_saturating};
                if max == 0 {
                    return Ok(Vec::new());
                }
                let now_db = time_to_db_saturating(now);
                let until = time_to_db_saturating(now.saturating_add_secs(lease_secs));
                let mut tx = self.begin_write().await?;
                // $1: the lease's end, $2: now, $3: how many.
                let rows: Vec<$lease_row> = sqlx::query_as($lease)
                    .bind(until)
                    .bind(now_db)
                    .bind(i64::try_from(max).unwrap_or(i64::MAX))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_error)?;
                tx.commit().await?;
                $lease_entries(rows)
            }

            async fn mark_sent(
                &self,
                lease: admin_mfa_ports::Lease,
            ) -> Result<(), admin_mfa_ports::StoreError> {
                self.finish(lease, "sent", None).await
            }

            async fn mark_retry(
                &self,
                lease: admin_mfa_ports::Lease,
                retry_at: admin_mfa_lifecycle::UnixTime,
            ) -> Result<(), admin_mfa_ports::StoreError> {
                self.finish(lease, "pending", Some(retry_at)).await
            }

            async fn mark_dead(
                &self,
                lease: admin_mfa_ports::Lease,
            ) -> Result<(), admin_mfa_ports::StoreError> {
                self.finish(lease, "dead", None).await
            }

            async fn outbox_stats(
                &self,
            ) -> Result<admin_mfa_ports::OutboxStats, admin_mfa_ports::StoreError> {
                use $crate::common::{db_error, stats_from_rows};
                let rows: Vec<(String, i64)> =
                    sqlx::query_as("SELECT state, COUNT(*) FROM outbox GROUP BY state")
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_error)?;
                stats_from_rows(rows)
            }
        }

        impl $store {
            /// Checks and writes one change inside an open write transaction: reads the
            /// admins it writes by primary key, validates, writes in batches.
            async fn write_change(
                conn: &mut $conn,
                change: &admin_mfa_ports::Change,
            ) -> Result<admin_mfa_ports::CommitReceipt, admin_mfa_ports::StoreError> {
                use $crate::common::{existing_from_rows, plan, written_ids};
                let ids = written_ids(change);
                let existing = if ids.is_empty() {
                    Vec::new()
                } else {
                    Self::read_existing(&mut *conn, &ids).await?
                };
                let plan = plan(
                    change,
                    &existing_from_rows(existing)?,
                    Self::encode_notification,
                )?;
                let queued = Self::apply_plan(conn, &plan).await?;
                Ok(admin_mfa_ports::CommitReceipt {
                    versions: plan.versions,
                    queued,
                    deduplicated: change.outbox.len().saturating_sub(queued),
                })
            }

            /// Ends or returns a lease: `state` is the new state, `retry_at` the next attempt
            /// for a returned entry.
            async fn finish(
                &self,
                lease: admin_mfa_ports::Lease,
                state: &'static str,
                retry_at: Option<admin_mfa_lifecycle::UnixTime>,
            ) -> Result<(), admin_mfa_ports::StoreError> {
                use admin_mfa_ports::{ConflictKind, StoreError};
                use $crate::common::{db_error, time_to_db_saturating};
                let id = i64::try_from(lease.id.0).map_err(|_| StoreError::NotFound)?;
                let generation = i64::try_from(lease.generation)
                    .map_err(|_| StoreError::Conflict(ConflictKind::Lease))?;
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE outbox SET state = $1, leased_until = NULL, \
                     next_attempt_at = COALESCE($2, next_attempt_at) \
                     WHERE id = $3 AND generation = $4 AND state = 'pending' \
                     AND leased_until IS NOT NULL",
                )
                .bind(state)
                .bind(retry_at.map(time_to_db_saturating))
                .bind(id)
                .bind(generation)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected();
                if done > 0 {
                    return tx.commit().await;
                }
                // Entries are never deleted: an entry that exists holds another lease.
                let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM outbox WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_error)?;
                tx.rollback().await?;
                Err(match exists {
                    Some(_) => StoreError::Conflict(ConflictKind::Lease),
                    None => StoreError::NotFound,
                })
            }
        }
    };
}

pub(crate) use sql_admin_store;
