use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use admin_mfa_lifecycle::{
    Admin, AdminId, AuditEvent, Email, Notification, OrgId, Role, TokenHash, UnixTime,
};
use async_trait::async_trait;

/// The version of a stored admin record: 1 when inserted, one more at every update.
///
/// Updates name the version they were read at; a store applies them only if it is still
/// current (compare-and-swap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(u64);

impl Version {
    /// The version of a freshly inserted record.
    pub const FIRST: Self = Self(1);

    /// A version from its number (stores use this when reading a row back).
    #[must_use]
    pub const fn new(n: u64) -> Self {
        Self(n)
    }

    /// The number of this version.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The version after this one.
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// A value read from a store together with the version it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// Its version when read; pass it back in [`AdminWrite::Update`].
    pub version: Version,
}

/// One admin write of a [`Change`].
#[derive(Debug, Clone)]
pub enum AdminWrite {
    /// Creates an admin; a [`ConflictKind::DuplicateId`] or [`ConflictKind::Email`] if the id
    /// or the (organization, email) pair is taken.
    Insert(Admin),
    /// Replaces an admin, only if its stored version is still `expected`.
    Update {
        /// The new record; its id and organization must equal the stored ones.
        admin: Admin,
        /// The version the caller read.
        expected: Version,
    },
}

impl AdminWrite {
    /// The admin this write creates or replaces.
    #[must_use]
    pub fn admin(&self) -> &Admin {
        match self {
            Self::Insert(admin) | Self::Update { admin, .. } => admin,
        }
    }
}

/// A unit of work, applied by [`AdminStore::commit`] entirely or not at all.
///
/// ```
/// use admin_mfa_ports::Change;
///
/// let change = Change::new();
/// assert!(change.is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// Admin inserts and updates; each admin at most once per change.
    pub writes: Vec<AdminWrite>,
    /// Audit events, appended in this order.
    pub audit: Vec<AuditEvent>,
    /// Notifications for the outbox; one whose [`DedupeKey`](crate::DedupeKey) is already in
    /// the outbox is dropped (and counted in [`CommitReceipt::deduplicated`]).
    pub outbox: Vec<Notification>,
}

impl Change {
    /// An empty change.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the insert of a new admin.
    #[must_use]
    #[inline]
    pub fn insert(mut self, admin: Admin) -> Self {
        self.writes.push(AdminWrite::Insert(admin));
        self
    }

    /// Adds the update of an admin read at version `expected`.
    // Inlined, as are the memory store's steps that take the record by value: each call
    // the record crosses by value is a copy of several hundred bytes.
    #[must_use]
    #[inline]
    pub fn update(mut self, admin: Admin, expected: Version) -> Self {
        self.writes.push(AdminWrite::Update { admin, expected });
        self
    }

    /// Adds audit events.
    #[must_use]
    pub fn audit(mut self, events: impl IntoIterator<Item = AuditEvent>) -> Self {
        self.audit.extend(events);
        self
    }

    /// Adds notifications for the outbox.
    #[must_use]
    pub fn notify(mut self, notifications: impl IntoIterator<Item = Notification>) -> Self {
        self.outbox.extend(notifications);
        self
    }

    /// Whether the change writes nothing at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.audit.is_empty() && self.outbox.is_empty()
    }
}

/// What a successful [`AdminStore::commit`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommitReceipt {
    /// The new version of every written admin, in the order of [`Change::writes`].
    pub versions: Vec<(AdminId, Version)>,
    /// How many notifications were added to the outbox.
    pub queued: usize,
    /// How many notifications were dropped because their dedupe key was already queued.
    pub deduplicated: usize,
}

/// Which invariant a refused commit or outbox update would have broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConflictKind {
    /// An update's expected version is no longer current: someone else wrote first.
    Version,
    /// An insert's admin id already exists.
    DuplicateId,
    /// The (organization, email) pair belongs to another admin.
    Email,
    /// The link-token hash belongs to another admin.
    TokenHash,
    /// The outbox lease is no longer held: it expired and was taken by another dispatcher,
    /// or the entry was already marked.
    Lease,
}

impl fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Version => "the record changed since it was read",
            Self::DuplicateId => "an admin with this id exists",
            Self::Email => "the email address is taken in this organization",
            Self::TokenHash => "the link token is in use",
            Self::Lease => "the outbox lease is no longer held",
        })
    }
}

/// A store failure. Callers must treat every variant as "nothing was written".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A compare-and-swap or uniqueness check failed; reread and decide again, or report
    /// the lost race.
    #[error("conflict: {0}")]
    Conflict(ConflictKind),
    /// The record to update or mark does not exist.
    #[error("not found")]
    NotFound,
    /// The change itself is malformed (for example, one admin written twice, or an update
    /// that moves an admin to another organization).
    #[error("invalid change: {0}")]
    InvalidChange(&'static str),
    /// The backend failed (connection, I/O, corrupt row); the operation may be retried.
    #[error("store backend failure")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

impl StoreError {
    /// Wraps a backend error.
    pub fn backend(err: impl StdError + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(err))
    }

    /// Whether this is a conflict of any kind.
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict(_))
    }
}

/// A keyset page request: the items after `after`, at most `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<C> {
    /// Where the previous page ended ([`Page::next`]); `None` for the first page.
    pub after: Option<C>,
    /// The page size; stores clamp it to `1..=`[`PageRequest::MAX_LIMIT`].
    pub limit: u32,
}

impl<C> PageRequest<C> {
    /// The largest page a store returns.
    pub const MAX_LIMIT: u32 = 1000;

    /// The first page of `limit` items.
    #[must_use]
    pub const fn first(limit: u32) -> Self {
        Self { after: None, limit }
    }

    /// The limit a store should apply: `limit` clamped to `1..=MAX_LIMIT`.
    #[must_use]
    pub fn clamped_limit(&self) -> usize {
        // u32 always fits usize on the platforms Rust supports with std.
        usize::try_from(self.limit.clamp(1, Self::MAX_LIMIT)).unwrap_or(1)
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, C> {
    /// The items, in the listing's order.
    pub items: Vec<T>,
    /// The cursor for the next page, or `None` when this page is the last.
    pub next: Option<C>,
}

/// What the "Admins Without MFA Required" list shows of an admin: no MFA state, no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSummary {
    /// The admin.
    pub id: AdminId,
    /// Their organization.
    pub org: OrgId,
    /// Their email address; the listing is ordered by it.
    pub email: Email,
    /// Their display name.
    pub display_name: String,
    /// Their role.
    pub role: Role,
    /// When the admin was created.
    pub created_at: UnixTime,
}

impl From<&Admin> for AdminSummary {
    fn from(admin: &Admin) -> Self {
        Self {
            id: admin.id,
            org: admin.org,
            email: admin.email.clone(),
            display_name: admin.display_name.clone(),
            role: admin.role.clone(),
            created_at: admin.created_at,
        }
    }
}

/// A position in an organization's audit log: the store's sequence number of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditCursor(pub u64);

/// A page of an organization's audit log, oldest first.
pub type AuditPage = Page<AuditEvent, AuditCursor>;

/// The id of an outbox entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutboxId(pub u64);

/// Proof that one dispatcher holds an outbox entry until the lease expires.
///
/// A lease names the entry and the generation at which it was taken; once the lease
/// expires and another dispatcher takes the entry, the old lease no longer marks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lease {
    /// The leased entry.
    pub id: OutboxId,
    /// How many times the entry had been leased, this lease included.
    pub generation: u64,
}

/// A leased outbox entry, to be delivered and then marked.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    /// The lease to mark the entry with.
    pub lease: Lease,
    /// What to send.
    pub notification: Notification,
    /// Delivery attempts so far, this one included.
    pub attempts: u32,
}

/// How many outbox entries are in each state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// Waiting for (another) delivery attempt, leased or not.
    pub pending: u64,
    /// Delivered.
    pub sent: u64,
    /// Given up on after the last attempt or a permanent failure.
    pub dead: u64,
}

/// Storage for admins, their MFA state, the audit log and the email outbox.
///
/// Reads never lock; every write goes through [`commit`](Self::commit), all or nothing,
/// with compare-and-swap on each admin's [`Version`]. Tenant isolation: every read but the
/// token lookup names the organization, and nothing of one organization is visible through
/// another's calls. Times are [`UnixTime`] (UTC seconds) and come back exactly as written.
///
/// Every implementation runs the shared conformance suite of `admin-mfa-testkit`.
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// The admin `id` of organization `org`, if it exists there.
    async fn admin(&self, org: OrgId, id: AdminId) -> Result<Option<Versioned<Admin>>, StoreError>;

    /// The admins `ids` of organization `org`, in the order asked; `None` where an id does
    /// not exist in `org`. Bulk operations read a whole chunk with one call; the default
    /// reads one admin at a time, and stores override it with one round trip.
    async fn admins(
        &self,
        org: OrgId,
        ids: &[AdminId],
    ) -> Result<Vec<Option<Versioned<Admin>>>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.push(self.admin(org, *id).await?);
        }
        Ok(found)
    }

    /// The admin of organization `org` with this (normalised) email address.
    async fn admin_by_email(
        &self,
        org: OrgId,
        email: &Email,
    ) -> Result<Option<Versioned<Admin>>, StoreError>;

    /// The admin whose pending link has this token hash. Link tokens are global (an emailed
    /// link names no organization), and a hash belongs to at most one admin.
    async fn admin_by_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Versioned<Admin>>, StoreError>;

    /// How many admins of `org` do not have MFA required (the widget's count).
    async fn count_without_mfa_required(&self, org: OrgId) -> Result<u64, StoreError>;

    /// The admins of `org` without MFA required, ordered by email, one page at a time.
    async fn list_without_mfa_required(
        &self,
        org: OrgId,
        page: PageRequest<Email>,
    ) -> Result<Page<AdminSummary, Email>, StoreError>;

    /// Every admin of `org`, ordered by email, one page at a time: the Administrators list,
    /// and the pass over all admins that reports take. [`Page::next`] is the email of the
    /// page's last admin; an admin changed between two pages shows its state as read by the
    /// page that holds it.
    async fn list_admins(
        &self,
        org: OrgId,
        page: PageRequest<Email>,
    ) -> Result<Page<Admin, Email>, StoreError>;

    /// How many admins of `org` have `role` (the policy's `awb_count` comes from here).
    async fn count_with_role(&self, org: OrgId, role: &Role) -> Result<u64, StoreError>;

    /// Applies a change entirely or not at all.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] for a stale version or a uniqueness violation,
    /// [`StoreError::NotFound`] for an update of a missing admin,
    /// [`StoreError::InvalidChange`] for a malformed change, [`StoreError::Backend`]
    /// otherwise. After any error nothing of the change is visible.
    async fn commit(&self, change: Change) -> Result<CommitReceipt, StoreError>;

    /// The audit log of `org`, oldest first.
    async fn audit_log(
        &self,
        org: OrgId,
        page: PageRequest<AuditCursor>,
    ) -> Result<AuditPage, StoreError>;

    /// Leases up to `max` pending entries whose next attempt is due at `now` and that no
    /// live lease holds, for `lease_secs` seconds, oldest first. Each leased entry's attempt
    /// count goes up by one. Concurrent callers never get the same entry while a lease lives.
    async fn lease_outbox(
        &self,
        now: UnixTime,
        lease_secs: u64,
        max: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Marks a leased entry delivered.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] with [`ConflictKind::Lease`] if the lease is no longer held;
    /// [`StoreError::NotFound`] if there is no such entry.
    async fn mark_sent(&self, lease: Lease) -> Result<(), StoreError>;

    /// Returns a leased entry to the queue, due again at `retry_at`.
    ///
    /// # Errors
    ///
    /// As for [`mark_sent`](Self::mark_sent).
    async fn mark_retry(&self, lease: Lease, retry_at: UnixTime) -> Result<(), StoreError>;

    /// Gives up on a leased entry: it is never leased again.
    ///
    /// # Errors
    ///
    /// As for [`mark_sent`](Self::mark_sent).
    async fn mark_dead(&self, lease: Lease) -> Result<(), StoreError>;

    /// How many outbox entries are pending, sent and dead.
    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError>;
}

/// What a forwarded store method returns: the inner store's own boxed future.
type Forwarded<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Implements [`AdminStore`] for a smart pointer by handing back the inner store's future
/// itself: an `async fn` here would box a second future around it and move every answer
/// (an `Admin` is about 500 bytes) once more, on every call of a service that holds its
/// store as `Arc<dyn AdminStore>`.
macro_rules! forward_store {
    ($ty:ty) => {
        impl<T: AdminStore + ?Sized> AdminStore for $ty {
            fn admin<'life0, 'async_trait>(
                &'life0 self,
                org: OrgId,
                id: AdminId,
            ) -> Forwarded<'async_trait, Option<Versioned<Admin>>>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                (**self).admin(org, id)
            }
            fn admins<'life0, 'life1, 'async_trait>(
                &'life0 self,
                org: OrgId,
                ids: &'life1 [AdminId],
            ) -> Forwarded<'async_trait, Vec<Option<Versioned<Admin>>>>
            where
                'life0: 'async_trait,
                'life1: 'async_trait,
                Self: 'async_trait,
            {
                (**self).admins(org, ids)
            }
            fn admin_by_email<'life0, 'life1, 'async_trait>(
                &'life0 self,
                org: OrgId,
                email: &'life1 Email,
            ) -> Forwarded<'async_trait, Option<Versioned<Admin>>>
            where
                'life0: 'async_trait,
                'life1: 'async_trait,
                Self: 'async_trait,
            {
                (**self).admin_by_email(org, email)
            }
            fn admin_by_token<'life0, 'life1, 'async_trait>(
                &'life0 self,
                hash: &'life1 TokenHash,
            ) -> Forwarded<'async_trait, Option<Versioned<Admin>>>
            where
                'life0: 'async_trait,
                'life1: 'async_trait,
                Self: 'async_trait,
            {
                (**self).admin_by_token(hash)
            }
            fn count_without_mfa_required<'life0, 'async_trait>(
                &'life0 self,
                org: OrgId,
            ) -> Forwarded<'async_trait, u64>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                (**self).count_without_mfa_required(org)
            }
            fn list_without_mfa_required<'life0, 'async_trait>(
                &'life0 self,
                org: OrgId,
                page: PageRequest<Email>,
            ) -> Forwarded<'async_trait, Page<AdminSummary, Email>>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                (**self).list_without_mfa_required(org, page)
            }
            fn list_admins<'life0, 'async_trait>(
                &'life0 self,
                org: OrgId,
                page: PageRequest<Email>,
            ) -> Forwarded<'async_trait, Page<Admin, Email>>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                (**self).list_admins(org, page)
            }
            fn count_with_role<'life0, 'life1, 'async_trait>(
                &'life0 self,
                org: OrgId,
                role: &'life1 Role,
            ) -> Forwarded<'async_trait, u64>
            where
                'life0: 'async_trait,
                'life1: 'async_trait,
                Self: 'async_trait,
            {
                (**self).count_with_role(org, role)
            }
            fn commit<'life0, 'async_trait>(
                &'life0 self,
                change: Change,
            ) -> Forwarded<'async_trait, CommitReceipt>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                (**self).commit(change)
            }
            fn audit_log<'life0, 'async_trait>(
                &'life0 self,
                org: OrgId,
                page: PageRequest<AuditCursor>,
            ) -> Forwarded<'async_trait, AuditPage>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                (**self).audit_log(org, page)
            }
            fn lease_outbox<'life0, 'async_trait>(
                &'life0 self,
                now: UnixTime,
                lease_secs: u64,
                max: usize,
            ) -> Forwarded<'async_trait, Vec<OutboxEntry>>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                (**self).lease_outbox(now, lease_secs, max)
            }
            fn mark_sent<'life0, 'async_trait>(
                &'life0 self,
                lease: Lease,
            ) -> Forwarded<'async_trait, ()>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                (**self).mark_sent(lease)
            }
            fn mark_retry<'life0, 'async_trait>(
                &'life0 self,
                lease: Lease,
                retry_at: UnixTime,
            ) -> Forwarded<'async_trait, ()>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                (**self).mark_retry(lease, retry_at)
            }
            fn mark_dead<'life0, 'async_trait>(
                &'life0 self,
                lease: Lease,
            ) -> Forwarded<'async_trait, ()>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                (**self).mark_dead(lease)
            }
            fn outbox_stats<'life0, 'async_trait>(
                &'life0 self,
            ) -> Forwarded<'async_trait, OutboxStats>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                (**self).outbox_stats()
            }
        }
    };
}

forward_store!(Arc<T>);
forward_store!(Box<T>);
