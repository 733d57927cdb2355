use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Bound;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use admin_mfa_ports::{
    Admin, AdminId, AdminStore, AdminSummary, AdminWrite, AuditCursor, AuditEvent, AuditPage,
    Change, CommitReceipt, ConflictKind, DedupeKey, Email, Lease, Notification, OrgId, OutboxEntry,
    OutboxId, OutboxStats, Page, PageRequest, Role, StoreError, StoredKeys, StoredState, TokenHash,
    UnixTime, Version, Versioned,
};
use async_trait::async_trait;
use foldhash::{HashMap, HashSet};

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
    /// Every queued notification; a row's outbox id is its index.
    outbox: Vec<OutboxRow>,
    /// Ids of the rows still waiting for delivery.
    pending: BTreeSet<u64>,
    dedupe: HashSet<DedupeKey>,
}

struct Row {
    admin: Admin,
    version: Version,
}

/// What one organization's reads need besides the admin records themselves.
#[derive(Default)]
struct OrgIndex {
    by_email: HashMap<Email, AdminId>,
    /// Admins without MFA required, in listing order (by email, unique within an
    /// organization).
    without_required: BTreeMap<ListKey, AdminId>,
    role_count: HashMap<Role, u64>,
    audit: Vec<AuditEvent>,
}

/// The outbox row with id `id` (its index).
fn outbox_row(outbox: &mut [OutboxRow], id: u64) -> Option<&mut OutboxRow> {
    usize::try_from(id).ok().and_then(|i| outbox.get_mut(i))
}

/// The widget list's sort key: an email, led by its first 16 bytes as a number so that most
/// comparisons in the tree never leave the node for the address text. Emails hold no NUL,
/// so zero padding keeps the order of the text itself; equal heads fall back to the text.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ListKey(u128, Email);

impl ListKey {
    fn of(email: &Email) -> Self {
        let mut head = [0_u8; 16];
        for (slot, byte) in head.iter_mut().zip(email.as_str().bytes()) {
            *slot = byte;
        }
        Self(u128::from_be_bytes(head), email.clone())
    }
}

fn is_listed(admin: &Admin) -> bool {
    !admin.mfa.requirement.is_required()
}

/// Moves the index entries of one admin from its record `old` (none for an insert) to
/// `new`, touching only the keys that change.
fn reindex(
    org: &mut OrgIndex,
    by_token: &mut HashMap<TokenHash, AdminId>,
    old: Option<&Admin>,
    new: &Admin,
) {
    let new_token = new.mfa.token_hash();
    let email_changed = old.is_none_or(|o| o.email != new.email);
    if let Some(old) = old {
        // A key is released only while this admin holds it: another admin of the same
        // change may have claimed it already, and then gets it back.
        if let Some(hash) = old.mfa.token_hash()
            && new_token != Some(hash)
            && let Some(holder) = by_token.remove(hash)
            && holder != old.id
        {
            by_token.insert(*hash, holder);
        }
        if email_changed
            && let Some(holder) = org.by_email.remove(&old.email)
            && holder != old.id
        {
            org.by_email.insert(old.email.clone(), holder);
        }
        if is_listed(old)
            && (email_changed || !is_listed(new))
            && let Some(holder) = org.without_required.remove(&ListKey::of(&old.email))
            && holder != old.id
        {
            org.without_required.insert(ListKey::of(&old.email), holder);
        }
        if old.role != new.role
            && let Some(n) = org.role_count.get_mut(&old.role)
        {
            *n = n.saturating_sub(1);
        }
    }
    if let Some(hash) = new_token
        && old.is_none_or(|o| o.mfa.token_hash() != Some(hash))
    {
        by_token.insert(*hash, new.id);
    }
    if email_changed {
        org.by_email.insert(new.email.clone(), new.id);
    }
    if is_listed(new) && (email_changed || old.is_some_and(|o| !is_listed(o))) {
        org.without_required.insert(ListKey::of(&new.email), new.id);
    }
    if old.is_none_or(|o| o.role != new.role) {
        *org.role_count.entry(new.role.clone()).or_default() += 1;
    }
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

    /// Applies a checked change; cannot fail.
    ///
    /// Records are replaced in place, and only the index entries whose keys change are
    /// touched. A key is released only while it still points at the admin releasing it, so
    /// admins of one change may trade keys (two admins swapping emails) in any order.
    fn apply(&mut self, change: Change) -> CommitReceipt {
        let mut receipt = CommitReceipt::default();
        receipt.versions.reserve(change.writes.len());
        let Self {
            admins,
            orgs,
            by_token,
            ..
        } = self;
        for write in change.writes {
            let org = orgs.entry(write.admin().org).or_default();
            let version = match write {
                AdminWrite::Insert(admin) => {
                    reindex(org, by_token, None, &admin);
                    let id = admin.id;
                    admins.insert(
                        id,
                        Row {
                            admin,
                            version: Version::FIRST,
                        },
                    );
                    (id, Version::FIRST)
                }
                AdminWrite::Update { admin, expected } => {
                    let id = admin.id;
                    let version = expected.next();
                    match admins.get_mut(&id) {
                        Some(row) => {
                            reindex(org, by_token, Some(&row.admin), &admin);
                            *row = Row { admin, version };
                        }
                        // Unreachable after `check`; kept total rather than panicking.
                        None => {
                            reindex(org, by_token, None, &admin);
                            admins.insert(id, Row { admin, version });
                        }
                    }
                    (id, version)
                }
            };
            receipt.versions.push(version);
        }
        // Events come in runs of one organization (usually a single run).
        let mut events = change.audit.into_iter().peekable();
        while let Some(event) = events.next() {
            let org = event.org;
            let log = &mut self.orgs.entry(org).or_default().audit;
            log.reserve(events.len().saturating_add(1));
            log.push(event);
            while let Some(next) = events.next_if(|e| e.org == org) {
                log.push(next);
            }
        }
        self.dedupe.reserve(change.outbox.len());
        self.outbox.reserve(change.outbox.len());
        for notification in change.outbox {
            if !self.dedupe.insert(notification.dedupe_key.clone()) {
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
        self.pending.remove(&lease.id.0);
        Ok(())
    }
}

/// What [`Change::validate`] checks a change against: the records and the key indexes,
/// so a clash with any stored admin is found before anything is written.
impl StoredState for Inner {
    fn stored(&self, id: AdminId) -> Option<StoredKeys<'_>> {
        self.admins.get(&id).map(|row| {
            StoredKeys::new(
                row.admin.org,
                row.version,
                row.admin.email.as_str(),
                row.admin.mfa.token_hash(),
            )
        })
    }

    fn email_holder(&self, org: OrgId, email: &Email) -> Option<AdminId> {
        self.orgs.get(&org)?.by_email.get(email).copied()
    }

    fn token_holder(&self, hash: &TokenHash) -> Option<AdminId> {
        self.by_token.get(hash).copied()
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
        let Some(listed) = inner.orgs.get(&org).map(|o| &o.without_required) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let start = page.after.map_or(Bound::Unbounded, |email| {
            Bound::Excluded(ListKey::of(&email))
        });
        let mut items: Vec<AdminSummary> = listed
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
            let Some(row) = outbox_row(&mut inner.outbox, *id) else {
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
        for row in &inner.outbox {
            match row.state {
                OutboxState::Pending => stats.pending += 1,
                OutboxState::Sent => stats.sent += 1,
                OutboxState::Dead => stats.dead += 1,
            }
        }
        Ok(stats)
    }
}
