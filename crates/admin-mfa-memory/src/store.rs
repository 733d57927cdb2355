use std::fmt;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use admin_mfa_ports::{
    Admin, AdminId, AdminStore, AdminSummary, AdminWrite, AuditCursor, AuditEvent, AuditPage,
    Change, CommitReceipt, ConflictKind, Email, Lease, Notification, OrgId, OutboxEntry, OutboxId,
    OutboxStats, Page, PageRequest, Role, StoreError, StoredKeys, StoredState, TokenHash, UnixTime,
    Version, Versioned,
};
use async_trait::async_trait;
use foldhash::HashMap;

use crate::admins::{AdminTable, Row};
use crate::blocks::Blocks;
use crate::dedupe::DedupeIndex;
use crate::idset::IdSet;

/// An [`AdminStore`] held in process memory: the embedded default.
///
/// One lock guards everything. Reads take it shared; a commit takes it exclusively,
/// checks every write of the [`Change`] against the current state first and only then
/// applies them, so a refused change leaves nothing behind. Indexes serve the lookups by
/// email and link-token hash and the "Admins Without MFA Required" count and listing.
///
/// State lives as long as the process (replay protection included): use a SQL store when
/// several processes or restarts must share it.
///
/// ```
/// use admin_mfa_memory::MemoryStore;
/// use admin_mfa_ports::{AdminStore, OrgId};
///
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// let store = MemoryStore::new();
/// let org = OrgId::from_bytes([1; 16]);
/// assert_eq!(store.count_without_mfa_required(org).await?, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.read();
        f.debug_struct("MemoryStore")
            .field("admins", &inner.admins.len())
            .field("outbox", &inner.outbox.len())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    admins: AdminTable,
    /// Each organization's audit log, in commit order.
    audit: HashMap<OrgId, Blocks<AuditEvent>>,
    /// Every queued notification; a row's outbox id is its index.
    outbox: Blocks<OutboxRow>,
    /// Ids of the rows still waiting for delivery.
    pending: IdSet,
    /// The dedupe keys of every queued notification (the rows hold the keys).
    dedupe: DedupeIndex,
}

/// The outbox row with id `id` (its index).
fn outbox_row(outbox: &mut Blocks<OutboxRow>, id: u64) -> Option<&mut OutboxRow> {
    usize::try_from(id).ok().and_then(|i| outbox.get_mut(i))
}

fn versioned(row: &Row) -> Versioned<Admin> {
    Versioned {
        value: row.admin(),
        version: row.version(),
    }
}

/// One keyset page of `rows` (in listing order, after the cursor): at most `limit` items,
/// and the last one's email as the cursor when more rows follow.
fn email_page<'a, T>(
    rows: impl Iterator<Item = &'a Row>,
    limit: usize,
    item: impl Fn(&Row) -> T,
) -> Page<T, Email> {
    let mut rows = rows.peekable();
    let mut items = Vec::new();
    let mut last = None;
    while items.len() < limit {
        let Some(row) = rows.next() else {
            break;
        };
        items.push(item(row));
        last = Some(row);
    }
    let next = match rows.peek() {
        Some(_) => last.map(|row| row.email().clone()),
        None => None,
    };
    Page { items, next }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutboxState {
    Pending,
    Sent,
    Dead,
}

struct OutboxRow {
    notification: Notification,
    state: OutboxState,
    next_attempt_at: UnixTime,
    leased_until: Option<UnixTime>,
    generation: u64,
    attempts: u32,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // A panic cannot happen while the lock is held for writing (commits validate before
        // they mutate), so a poisoned lock still guards consistent data.
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// Applies a checked change; cannot fail. Records are replaced in place (see
    /// [`AdminTable::put`]).
    #[inline]
    fn apply(&mut self, change: Change) -> CommitReceipt {
        let mut receipt = CommitReceipt::default();
        receipt.versions.reserve(change.writes.len());
        for write in change.writes {
            let (admin, version) = match write {
                AdminWrite::Insert(admin) => (admin, Version::FIRST),
                AdminWrite::Update { admin, expected } => (admin, expected.next()),
            };
            receipt.versions.push((admin.id, version));
            self.admins.put(admin, version);
        }
        // Events come in runs of one organization (usually a single run).
        let mut events = change.audit.into_iter().peekable();
        while let Some(event) = events.next() {
            let org = event.org;
            let log = self.audit.entry(org).or_default();
            log.push(event);
            while let Some(next) = events.next_if(|e| e.org == org) {
                log.push(next);
            }
        }
        self.dedupe.reserve(change.outbox.len());
        for notification in change.outbox {
            let outbox = &self.outbox;
            let key_at = |at| {
                outbox
                    .get(at)
                    .map(|row| row.notification.dedupe_key.as_str())
            };
            if !self
                .dedupe
                .claim(notification.dedupe_key.as_str(), outbox.len(), key_at)
            {
                receipt.deduplicated += 1;
                continue;
            }
            self.pending.insert(self.outbox.len() as u64);
            self.outbox.push(OutboxRow {
                next_attempt_at: notification.created_at,
                notification,
                state: OutboxState::Pending,
                leased_until: None,
                generation: 0,
                attempts: 0,
            });
            receipt.queued += 1;
        }
        receipt
    }

    /// The row a lease may mark, or why it may not.
    fn leased_row(&mut self, lease: Lease) -> Result<&mut OutboxRow, StoreError> {
        let row = outbox_row(&mut self.outbox, lease.id.0).ok_or(StoreError::NotFound)?;
        if row.state != OutboxState::Pending
            || row.generation != lease.generation
            || row.leased_until.is_none()
        {
            return Err(StoreError::Conflict(ConflictKind::Lease));
        }
        Ok(row)
    }

    fn finish(&mut self, lease: Lease, state: OutboxState) -> Result<(), StoreError> {
        let row = self.leased_row(lease)?;
        row.state = state;
        row.leased_until = None;
        self.pending.remove(lease.id.0);
        Ok(())
    }
}

/// What [`Change::validate`] checks a change against: the records and the key indexes,
/// so a clash with any stored admin is found before anything is written.
impl StoredState for Inner {
    fn stored(&self, id: AdminId) -> Option<StoredKeys<'_>> {
        self.admins.get(id).map(|row| {
            StoredKeys::new(
                row.org(),
                row.version(),
                row.email().as_str(),
                row.token_hash(),
            )
        })
    }

    fn email_holder(&self, org: OrgId, email: &Email) -> Option<AdminId> {
        self.admins.by_email(org, email).map(Row::id)
    }

    fn token_holder(&self, hash: &TokenHash) -> Option<AdminId> {
        self.admins.by_token(hash).map(Row::id)
    }
}

#[async_trait]
impl AdminStore for MemoryStore {
    async fn admin(&self, org: OrgId, id: AdminId) -> Result<Option<Versioned<Admin>>, StoreError> {
        Ok(self
            .read()
            .admins
            .get(id)
            .filter(|row| row.org() == org)
            .map(versioned))
    }

    async fn admins(
        &self,
        org: OrgId,
        ids: &[AdminId],
    ) -> Result<Vec<Option<Versioned<Admin>>>, StoreError> {
        let inner = self.read();
        Ok(ids
            .iter()
            .map(|id| {
                inner
                    .admins
                    .get(*id)
                    .filter(|row| row.org() == org)
                    .map(versioned)
            })
            .collect())
    }

    async fn admin_by_email(
        &self,
        org: OrgId,
        email: &Email,
    ) -> Result<Option<Versioned<Admin>>, StoreError> {
        let inner = self.read();
        Ok(inner.admins.by_email(org, email).map(versioned))
    }

    async fn admin_by_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Versioned<Admin>>, StoreError> {
        let inner = self.read();
        Ok(inner.admins.by_token(hash).map(versioned))
    }

    async fn count_without_mfa_required(&self, org: OrgId) -> Result<u64, StoreError> {
        Ok(self.read().admins.count_without_required(org) as u64)
    }

    async fn list_without_mfa_required(
        &self,
        org: OrgId,
        page: PageRequest<Email>,
    ) -> Result<Page<AdminSummary, Email>, StoreError> {
        let inner = self.read();
        let rows = inner.admins.without_required(org, page.after.as_ref());
        Ok(email_page(rows, page.clamped_limit(), Row::summary))
    }

    async fn list_admins(
        &self,
        org: OrgId,
        page: PageRequest<Email>,
    ) -> Result<Page<Admin, Email>, StoreError> {
        let inner = self.read();
        let rows = inner.admins.all(org, page.after.as_ref());
        Ok(email_page(rows, page.clamped_limit(), Row::admin))
    }

    async fn count_with_role(&self, org: OrgId, role: &Role) -> Result<u64, StoreError> {
        Ok(self.read().admins.count_with_role(org, role))
    }

    async fn commit(&self, change: Change) -> Result<CommitReceipt, StoreError> {
        let mut inner = self.write();
        change.validate(&*inner)?;
        Ok(inner.apply(change))
    }

    async fn audit_log(
        &self,
        org: OrgId,
        page: PageRequest<AuditCursor>,
    ) -> Result<AuditPage, StoreError> {
        let limit = page.clamped_limit();
        let inner = self.read();
        // Cursors are 1-based positions in the organization's log.
        let start = page
            .after
            .map_or(0, |c| usize::try_from(c.0).unwrap_or(usize::MAX));
        let (items, logged): (Vec<AuditEvent>, usize) = match inner.audit.get(&org) {
            Some(log) => (
                log.iter_from(start).take(limit).cloned().collect(),
                log.len(),
            ),
            None => (Vec::new(), 0),
        };
        let end = start.saturating_add(items.len());
        let next = (end < logged).then_some(AuditCursor(end as u64));
        Ok(Page { items, next })
    }

    async fn lease_outbox(
        &self,
        now: UnixTime,
        lease_secs: u64,
        max: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut inner = self.write();
        let inner = &mut *inner;
        let until = now.saturating_add_secs(lease_secs);
        let mut leased = Vec::new();
        for id in inner.pending.iter() {
            if leased.len() >= max {
                break;
            }
            let Some(row) = outbox_row(&mut inner.outbox, id) else {
                continue;
            };
            let free = row.leased_until.is_none_or(|t| t <= now);
            if row.next_attempt_at > now || !free {
                continue;
            }
            row.leased_until = Some(until);
            row.generation += 1;
            row.attempts = row.attempts.saturating_add(1);
            leased.push(OutboxEntry {
                lease: Lease {
                    id: OutboxId(id),
                    generation: row.generation,
                },
                notification: row.notification.clone(),
                attempts: row.attempts,
            });
        }
        Ok(leased)
    }

    async fn mark_sent(&self, lease: Lease) -> Result<(), StoreError> {
        self.write().finish(lease, OutboxState::Sent)
    }

    async fn mark_retry(&self, lease: Lease, retry_at: UnixTime) -> Result<(), StoreError> {
        let mut inner = self.write();
        let row = inner.leased_row(lease)?;
        row.leased_until = None;
        row.next_attempt_at = retry_at;
        Ok(())
    }

    async fn mark_dead(&self, lease: Lease) -> Result<(), StoreError> {
        self.write().finish(lease, OutboxState::Dead)
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        let inner = self.read();
        let mut stats = OutboxStats::default();
        for row in inner.outbox.iter() {
            match row.state {
                OutboxState::Pending => stats.pending += 1,
                OutboxState::Sent => stats.sent += 1,
                OutboxState::Dead => stats.dead += 1,
            }
        }
        Ok(stats)
    }
}
