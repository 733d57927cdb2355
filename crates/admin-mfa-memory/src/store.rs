use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::ops::Bound;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use admin_mfa_ports::{
    Admin, AdminId, AdminStore, AdminSummary, AdminWrite, AuditCursor, AuditEvent, AuditPage,
    Change, CommitReceipt, ConflictKind, DedupeKey, Email, Lease, Notification, OrgId, OutboxEntry,
    OutboxId, OutboxStats, Page, PageRequest, Role, StoreError, TokenHash, UnixTime, Version,
    Versioned,
};
use async_trait::async_trait;

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
    admins: HashMap<AdminId, Row>,
    orgs: HashMap<OrgId, OrgIndex>,
    by_token: HashMap<TokenHash, AdminId>,
    outbox: BTreeMap<u64, OutboxRow>,
    /// Ids of the rows still waiting for delivery.
    pending: BTreeSet<u64>,
    dedupe: HashSet<DedupeKey>,
    next_outbox_id: u64,
}

struct Row {
    admin: Admin,
    version: Version,
}

/// What one organization's reads need besides the admin records themselves.
#[derive(Default)]
struct OrgIndex {
    by_email: HashMap<Email, AdminId>,
    /// Admins without MFA required, in listing order.
    without_required: BTreeSet<(Email, AdminId)>,
    role_count: HashMap<Role, u64>,
    audit: Vec<AuditEvent>,
}

fn is_listed(admin: &Admin) -> bool {
    !admin.mfa.requirement.is_required()
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
    fn versioned(&self, id: AdminId) -> Option<Versioned<Admin>> {
        self.admins.get(&id).map(|row| Versioned {
            value: row.admin.clone(),
            version: row.version,
        })
    }

    /// Checks the whole change against the current state; mutates nothing.
    fn check(&self, change: &Change) -> Result<(), StoreError> {
        let mut written = HashSet::with_capacity(change.writes.len());
        for write in &change.writes {
            let admin = write.admin();
            if !written.insert(admin.id) {
                return Err(StoreError::InvalidChange("an admin is written twice"));
            }
            match write {
                AdminWrite::Insert(_) => {
                    if self.admins.contains_key(&admin.id) {
                        return Err(StoreError::Conflict(ConflictKind::DuplicateId));
                    }
                }
                AdminWrite::Update { expected, .. } => {
                    let row = self.admins.get(&admin.id).ok_or(StoreError::NotFound)?;
                    if row.admin.org != admin.org {
                        return Err(StoreError::InvalidChange(
                            "an update cannot move an admin to another organization",
                        ));
                    }
                    if row.version != *expected {
                        return Err(StoreError::Conflict(ConflictKind::Version));
                    }
                }
            }
        }
        // Unique keys after the change: a key may be claimed by one written admin, and not
        // by an admin outside the change (whose keys stay as they are).
        let mut emails = HashSet::with_capacity(change.writes.len());
        let mut tokens = HashSet::with_capacity(change.writes.len());
        for write in &change.writes {
            let admin = write.admin();
            let owner = self
                .orgs
                .get(&admin.org)
                .and_then(|org| org.by_email.get(&admin.email));
            if !emails.insert((admin.org, &admin.email))
                || owner.is_some_and(|o| !written.contains(o))
            {
                return Err(StoreError::Conflict(ConflictKind::Email));
            }
            if let Some(hash) = admin.mfa.token_hash() {
                let owner = self.by_token.get(hash);
                if !tokens.insert(*hash) || owner.is_some_and(|o| !written.contains(o)) {
                    return Err(StoreError::Conflict(ConflictKind::TokenHash));
                }
            }
        }
        Ok(())
    }

    /// Removes the index entries of `old` that `new` does not keep.
    fn unindex_changed(&mut self, old: &Admin, new: &Admin) {
        if let Some(hash) = old.mfa.token_hash()
            && new.mfa.token_hash() != Some(hash)
        {
            self.by_token.remove(hash);
        }
        let org = self.orgs.entry(old.org).or_default();
        let email_changed = old.email != new.email;
        if email_changed {
            org.by_email.remove(&old.email);
        }
        if is_listed(old) && (email_changed || !is_listed(new)) {
            org.without_required.remove(&(old.email.clone(), old.id));
        }
        if old.role != new.role
            && let Some(n) = org.role_count.get_mut(&old.role)
        {
            *n = n.saturating_sub(1);
        }
    }

    /// Adds the index entries of `new` that `old` (if any) did not have.
    fn index_changed(&mut self, old: Option<&Admin>, new: &Admin) {
        if let Some(hash) = new.mfa.token_hash()
            && old.is_none_or(|o| o.mfa.token_hash() != Some(hash))
        {
            self.by_token.insert(*hash, new.id);
        }
        let org = self.orgs.entry(new.org).or_default();
        let email_changed = old.is_none_or(|o| o.email != new.email);
        if email_changed {
            org.by_email.insert(new.email.clone(), new.id);
        }
        if is_listed(new) && (email_changed || old.is_some_and(|o| !is_listed(o))) {
            org.without_required.insert((new.email.clone(), new.id));
        }
        if old.is_none_or(|o| o.role != new.role) {
            *org.role_count.entry(new.role.clone()).or_default() += 1;
        }
    }

    /// Applies a checked change; cannot fail.
    fn apply(&mut self, change: Change) -> CommitReceipt {
        let mut receipt = CommitReceipt::default();
        receipt.versions.reserve(change.writes.len());
        let mut rows = Vec::with_capacity(change.writes.len());
        for write in change.writes {
            let (admin, version) = match write {
                AdminWrite::Insert(admin) => (admin, Version::FIRST),
                AdminWrite::Update { admin, expected } => (admin, expected.next()),
            };
            let old = self.admins.remove(&admin.id).map(|row| row.admin);
            rows.push((admin, version, old));
        }
        // Only keys that change are touched, and every old key is released before any new
        // one is claimed: admins of one change may trade keys (two admins swapping emails).
        for (admin, _, old) in &rows {
            if let Some(old) = old {
                self.unindex_changed(old, admin);
            }
        }
        for (admin, _, old) in &rows {
            self.index_changed(old.as_ref(), admin);
        }
        for (admin, version, _) in rows {
            receipt.versions.push((admin.id, version));
            self.admins.insert(admin.id, Row { admin, version });
        }
        for event in change.audit {
            self.orgs.entry(event.org).or_default().audit.push(event);
        }
        for notification in change.outbox {
            if !self.dedupe.insert(notification.dedupe_key.clone()) {
                receipt.deduplicated += 1;
                continue;
            }
            let id = self.next_outbox_id;
            self.next_outbox_id += 1;
            self.pending.insert(id);
            self.outbox.insert(
                id,
                OutboxRow {
                    next_attempt_at: notification.created_at,
                    notification,
                    state: OutboxState::Pending,
                    leased_until: None,
                    generation: 0,
                    attempts: 0,
                },
            );
            receipt.queued += 1;
        }
        receipt
    }

    /// The row a lease may mark, or why it may not.
    fn leased_row(&mut self, lease: Lease) -> Result<&mut OutboxRow, StoreError> {
        let row = self
            .outbox
            .get_mut(&lease.id.0)
            .ok_or(StoreError::NotFound)?;
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
        self.pending.remove(&lease.id.0);
        Ok(())
    }
}

#[async_trait]
impl AdminStore for MemoryStore {
    async fn admin(&self, org: OrgId, id: AdminId) -> Result<Option<Versioned<Admin>>, StoreError> {
        Ok(self.read().versioned(id).filter(|v| v.value.org == org))
    }

    async fn admins(
        &self,
        org: OrgId,
        ids: &[AdminId],
    ) -> Result<Vec<Option<Versioned<Admin>>>, StoreError> {
        let inner = self.read();
        Ok(ids
            .iter()
            .map(|id| inner.versioned(*id).filter(|v| v.value.org == org))
            .collect())
    }

    async fn admin_by_email(
        &self,
        org: OrgId,
        email: &Email,
    ) -> Result<Option<Versioned<Admin>>, StoreError> {
        let inner = self.read();
        Ok(inner
            .orgs
            .get(&org)
            .and_then(|o| o.by_email.get(email))
            .and_then(|id| inner.versioned(*id)))
    }

    async fn admin_by_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Versioned<Admin>>, StoreError> {
        let inner = self.read();
        Ok(inner.by_token.get(hash).and_then(|id| inner.versioned(*id)))
    }

    async fn count_without_mfa_required(&self, org: OrgId) -> Result<u64, StoreError> {
        Ok(self
            .read()
            .orgs
            .get(&org)
            .map_or(0, |o| o.without_required.len() as u64))
    }

    async fn list_without_mfa_required(
        &self,
        org: OrgId,
        page: PageRequest<Email>,
    ) -> Result<Page<AdminSummary, Email>, StoreError> {
        let limit = page.clamped_limit();
        let inner = self.read();
        let Some(set) = inner.orgs.get(&org).map(|o| &o.without_required) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let start = match page.after {
            // Emails are unique per organization, so the email alone positions the cursor;
            // the largest id sorts after every entry with that email.
            Some(email) => Bound::Excluded((email, AdminId::from_bytes([0xff; 16]))),
            None => Bound::Unbounded,
        };
        let mut items: Vec<AdminSummary> = set
            .range((start, Bound::Unbounded))
            .take(limit + 1)
            .filter_map(|(_, id)| inner.admins.get(id).map(|row| (&row.admin).into()))
            .collect();
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|s| s.email.clone())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn count_with_role(&self, org: OrgId, role: &Role) -> Result<u64, StoreError> {
        Ok(self
            .read()
            .orgs
            .get(&org)
            .and_then(|o| o.role_count.get(role))
            .copied()
            .unwrap_or(0))
    }

    async fn commit(&self, change: Change) -> Result<CommitReceipt, StoreError> {
        let mut inner = self.write();
        inner.check(&change)?;
        Ok(inner.apply(change))
    }

    async fn audit_log(
        &self,
        org: OrgId,
        page: PageRequest<AuditCursor>,
    ) -> Result<AuditPage, StoreError> {
        let limit = page.clamped_limit();
        let inner = self.read();
        let events = inner.orgs.get(&org).map_or(&[][..], |o| o.audit.as_slice());
        // Cursors are 1-based positions in the organization's log.
        let start = page
            .after
            .map_or(0, |c| usize::try_from(c.0).unwrap_or(usize::MAX));
        let items: Vec<AuditEvent> = events.iter().skip(start).take(limit).cloned().collect();
        let end = start.saturating_add(items.len());
        let next = (end < events.len()).then_some(AuditCursor(end as u64));
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
        for id in &inner.pending {
            if leased.len() >= max {
                break;
            }
            let Some(row) = inner.outbox.get_mut(id) else {
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
                    id: OutboxId(*id),
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
        for row in inner.outbox.values() {
            match row.state {
                OutboxState::Pending => stats.pending += 1,
                OutboxState::Sent => stats.sent += 1,
                OutboxState::Dead => stats.dead += 1,
            }
        }
        Ok(stats)
    }
}
