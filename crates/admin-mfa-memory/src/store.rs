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
    by_email: HashMap<(OrgId, Email), AdminId>,
    by_token: HashMap<TokenHash, AdminId>,
    /// Admins without MFA required, per organization, in listing order.
    without_required: HashMap<OrgId, BTreeSet<(Email, AdminId)>>,
    role_count: HashMap<(OrgId, Role), u64>,
    audit: HashMap<OrgId, Vec<AuditEvent>>,
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

fn email_key(admin: &Admin) -> (OrgId, Email) {
    (admin.org, admin.email.clone())
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
            let key = email_key(admin);
            let owner = self.by_email.get(&key);
            if !emails.insert(key) || owner.is_some_and(|o| !written.contains(o)) {
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

    fn unindex(&mut self, admin: &Admin) {
        self.by_email.remove(&email_key(admin));
        if let Some(hash) = admin.mfa.token_hash() {
            self.by_token.remove(hash);
        }
        if let Some(set) = self.without_required.get_mut(&admin.org) {
            set.remove(&(admin.email.clone(), admin.id));
        }
        decrement(
            self.role_count
                .entry((admin.org, admin.role.clone()))
                .or_default(),
        );
    }

    fn index(&mut self, admin: &Admin) {
        self.by_email.insert(email_key(admin), admin.id);
        if let Some(hash) = admin.mfa.token_hash() {
            self.by_token.insert(*hash, admin.id);
        }
        if !admin.mfa.requirement.is_required() {
            self.without_required
                .entry(admin.org)
                .or_default()
                .insert((admin.email.clone(), admin.id));
        }
        *self
            .role_count
            .entry((admin.org, admin.role.clone()))
            .or_default() += 1;
    }

    /// Applies a checked change; cannot fail.
    fn apply(&mut self, change: Change) -> CommitReceipt {
        let mut receipt = CommitReceipt::default();
        // Unindex every old record before indexing any new one: admins of one change may
        // trade keys (two admins swapping emails).
        for write in &change.writes {
            if let Some(old) = self.admins.remove(&write.admin().id) {
                self.unindex(&old.admin);
            }
        }
        for write in change.writes {
            let (admin, version) = match write {
                AdminWrite::Insert(admin) => (admin, Version::FIRST),
                AdminWrite::Update { admin, expected } => (admin, expected.next()),
            };
            self.index(&admin);
            receipt.versions.push((admin.id, version));
            self.admins.insert(admin.id, Row { admin, version });
        }
        for event in change.audit {
            self.audit.entry(event.org).or_default().push(event);
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

fn decrement(n: &mut u64) {
    *n = n.saturating_sub(1);
}

#[async_trait]
impl AdminStore for MemoryStore {
    async fn admin(&self, org: OrgId, id: AdminId) -> Result<Option<Versioned<Admin>>, StoreError> {
        Ok(self.read().versioned(id).filter(|v| v.value.org == org))
    }

    async fn admin_by_email(
        &self,
        org: OrgId,
        email: &Email,
    ) -> Result<Option<Versioned<Admin>>, StoreError> {
        let inner = self.read();
        Ok(inner
            .by_email
            .get(&(org, email.clone()))
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
            .without_required
            .get(&org)
            .map_or(0, |set| set.len() as u64))
    }

    async fn list_without_mfa_required(
        &self,
        org: OrgId,
        page: PageRequest<Email>,
    ) -> Result<Page<AdminSummary, Email>, StoreError> {
        let limit = page.clamped_limit();
        let inner = self.read();
        let Some(set) = inner.without_required.get(&org) else {
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
            .role_count
            .get(&(org, role.clone()))
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
        let events = inner.audit.get(&org).map_or(&[][..], Vec::as_slice);
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
