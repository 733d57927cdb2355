//! What both backends share: row encoding and decoding, the checks a commit runs before it
//! writes, and the mapping of database errors to [`StoreError`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::{Deref, DerefMut};

use admin_mfa_lifecycle::{
    Admin, AdminId, AuditEvent, AuditKind, Email, MfaState, Notification, OrgId, PasswordHash,
    Role, TokenHash, UnixTime, WidgetPrefs,
};
use admin_mfa_ports::{
    AdminSummary, AdminWrite, Change, ConflictKind, Lease, OutboxEntry, OutboxId, OutboxStats,
    Page, StoreError, StoredKeys, StoredState, Version,
};

/// The admin columns, in the order [`AdminRow`] holds them.
macro_rules! admin_columns {
    () => {
        "id, org, email, display_name, role, password_hash, created_at, mfa, widget_hidden, version"
    };
}
pub(crate) use admin_columns;

/// `SELECT` of the admin columns from `admins`, then `$rest`.
macro_rules! admin_select {
    ($rest:literal) => {
        concat!(
            "SELECT ",
            $crate::common::admin_columns!(),
            " FROM admins ",
            $rest
        )
    };
}
pub(crate) use admin_select;

/// What a commit reads of the admins it writes, in the order [`ExistingRow`] holds them.
macro_rules! existing_columns {
    () => {
        "id, org, version, email, token_hash, role, mfa_required"
    };
}
pub(crate) use existing_columns;

/// One `admins` row as read: id, org, email, display name, role, password hash, created
/// at, MFA state (JSON), widget hidden, version.
pub(crate) type AdminRow = (
    Vec<u8>,
    Vec<u8>,
    String,
    String,
    String,
    String,
    i64,
    String,
    bool,
    i64,
);

/// One row of the widget listing: id, org, email, display name, role, created at.
pub(crate) type SummaryRow = (Vec<u8>, Vec<u8>, String, String, String, i64);

/// One `audit_events` row: seq, org, at, actor, target, kind (JSON).
pub(crate) type AuditRow = (i64, Vec<u8>, i64, Option<Vec<u8>>, Vec<u8>, String);

/// What a commit reads of an admin before it writes: id, org, version, email, token hash,
/// role, MFA required.
pub(crate) type ExistingRow = (Vec<u8>, Vec<u8>, i64, String, Option<Vec<u8>>, String, bool);

/// A stored value that does not decode: the database was changed behind the store's back.
#[derive(Debug, thiserror::Error)]
#[error("corrupt stored row: {0}")]
pub(crate) struct CorruptRow(pub(crate) &'static str);

pub(crate) fn corrupt(what: &'static str) -> StoreError {
    StoreError::backend(CorruptRow(what))
}

/// A value the store refuses to write (a time beyond the database's integer range).
#[derive(Debug, thiserror::Error)]
#[error("value out of range: {0}")]
pub(crate) struct OutOfRange(&'static str);

/// A [`UnixTime`] as the integer column stores it.
pub(crate) fn time_to_db(t: UnixTime) -> Result<i64, StoreError> {
    i64::try_from(t.as_secs()).map_err(|_| StoreError::backend(OutOfRange("time")))
}

/// A [`UnixTime`] used only for comparisons (lease and retry times): saturates at the
/// largest stored instant instead of failing.
pub(crate) fn time_to_db_saturating(t: UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

pub(crate) fn time_from_db(secs: i64) -> Result<UnixTime, StoreError> {
    u64::try_from(secs)
        .map(UnixTime::from_secs)
        .map_err(|_| corrupt("negative time"))
}

pub(crate) fn version_to_db(v: Version) -> Result<i64, StoreError> {
    i64::try_from(v.get()).map_err(|_| StoreError::backend(OutOfRange("version")))
}

pub(crate) fn version_from_db(v: i64) -> Result<Version, StoreError> {
    u64::try_from(v)
        .ok()
        .filter(|v| *v >= 1)
        .map(Version::new)
        .ok_or_else(|| corrupt("version"))
}

pub(crate) fn u64_from_db(n: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| corrupt(what))
}

pub(crate) fn u32_from_db(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

fn id16(bytes: &[u8], what: &'static str) -> Result<[u8; 16], StoreError> {
    <[u8; 16]>::try_from(bytes).map_err(|_| corrupt(what))
}

fn id32(bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes).map_err(|_| corrupt("token hash"))
}

pub(crate) fn admin_id_from_db(bytes: &[u8]) -> Result<AdminId, StoreError> {
    id16(bytes, "admin id").map(AdminId::from_bytes)
}

pub(crate) fn org_from_db(bytes: &[u8]) -> Result<OrgId, StoreError> {
    id16(bytes, "organization id").map(OrgId::from_bytes)
}

pub(crate) fn id_bytes(id: AdminId) -> Vec<u8> {
    id.as_uuid().as_bytes().to_vec()
}

pub(crate) fn org_bytes(org: OrgId) -> Vec<u8> {
    org.as_uuid().as_bytes().to_vec()
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(StoreError::backend)
}

fn from_json<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &'static str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|_| corrupt(what))
}

/// An admin as the `admins` columns store it (everything but the version).
#[derive(Clone)]
pub(crate) struct EncodedAdmin {
    pub(crate) id: Vec<u8>,
    pub(crate) org: Vec<u8>,
    pub(crate) email: String,
    pub(crate) display_name: String,
    pub(crate) role: String,
    pub(crate) password_hash: String,
    pub(crate) created_at: i64,
    pub(crate) mfa_required: bool,
    pub(crate) token_hash: Option<Vec<u8>>,
    pub(crate) mfa: String,
    pub(crate) widget_hidden: bool,
}

impl fmt::Debug for EncodedAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The MFA state and the password hash stay out of debug output.
        f.debug_struct("EncodedAdmin")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl EncodedAdmin {
    pub(crate) fn new(admin: &Admin) -> Result<Self, StoreError> {
        Ok(Self {
            id: id_bytes(admin.id),
            org: org_bytes(admin.org),
            email: admin.email.as_str().to_owned(),
            display_name: admin.display_name.clone(),
            role: admin.role.as_str().to_owned(),
            password_hash: admin.password_hash.as_str().to_owned(),
            created_at: time_to_db(admin.created_at)?,
            mfa_required: admin.mfa.requirement.is_required(),
            token_hash: admin.mfa.token_hash().map(|h| h.as_bytes().to_vec()),
            mfa: json(&admin.mfa)?,
            widget_hidden: admin.prefs.admins_without_mfa_hidden,
        })
    }
}

fn role_from_db(role: &str) -> Result<Role, StoreError> {
    // What the store wrote: a built-in id or a custom role's name (the strict `FromStr`
    // accepts built-in roles only).
    Role::from_stored(role).map_err(|_| corrupt("role"))
}

fn email_from_db(email: &str) -> Result<Email, StoreError> {
    Email::parse(email).map_err(|_| corrupt("email"))
}

/// Decodes an `admins` row.
pub(crate) fn admin_from_row(
    row: AdminRow,
) -> Result<admin_mfa_ports::Versioned<Admin>, StoreError> {
    let (id, org, email, display_name, role, password_hash, created_at, mfa, hidden, version) = row;
    let mfa: MfaState = from_json(&mfa, "mfa state")?;
    admin_from_columns(
        admin_id_from_db(&id)?,
        org_from_db(&org)?,
        AdminColumns {
            email,
            display_name,
            role,
            password_hash,
            created_at,
            mfa,
            hidden,
            version,
        },
    )
}

/// The columns of an `admins` row besides its keys, with the MFA state decoded.
pub(crate) struct AdminColumns {
    pub(crate) email: String,
    pub(crate) display_name: String,
    pub(crate) role: String,
    pub(crate) password_hash: String,
    pub(crate) created_at: i64,
    pub(crate) mfa: MfaState,
    pub(crate) hidden: bool,
    pub(crate) version: i64,
}

/// An admin from its id, organization and the rest of its row.
pub(crate) fn admin_from_columns(
    id: AdminId,
    org: OrgId,
    columns: AdminColumns,
) -> Result<admin_mfa_ports::Versioned<Admin>, StoreError> {
    let AdminColumns {
        email,
        display_name,
        role,
        password_hash,
        created_at,
        mfa,
        hidden,
        version,
    } = columns;
    Ok(admin_mfa_ports::Versioned {
        value: Admin {
            id,
            org,
            email: email_from_db(&email)?,
            display_name,
            role: role_from_db(&role)?,
            password_hash: PasswordHash::new(password_hash),
            created_at: time_from_db(created_at)?,
            mfa,
            prefs: WidgetPrefs {
                admins_without_mfa_hidden: hidden,
            },
        },
        version: version_from_db(version)?,
    })
}

/// Decodes a row of the widget listing.
pub(crate) fn summary_from_row(row: SummaryRow) -> Result<AdminSummary, StoreError> {
    let (id, org, email, display_name, role, created_at) = row;
    Ok(AdminSummary {
        id: admin_id_from_db(&id)?,
        org: org_from_db(&org)?,
        email: email_from_db(&email)?,
        display_name,
        role: role_from_db(&role)?,
        created_at: time_from_db(created_at)?,
    })
}

/// An audit event as the `audit_events` columns store it.
#[derive(Debug)]
pub(crate) struct EncodedAudit {
    pub(crate) org: Vec<u8>,
    pub(crate) at: i64,
    pub(crate) actor: Option<Vec<u8>>,
    pub(crate) target: Vec<u8>,
    pub(crate) kind: String,
}

impl EncodedAudit {
    pub(crate) fn new(event: &AuditEvent) -> Result<Self, StoreError> {
        Ok(Self {
            org: org_bytes(event.org),
            at: time_to_db(event.at)?,
            actor: event.actor.map(id_bytes),
            target: id_bytes(event.target),
            kind: json(&event.kind)?,
        })
    }
}

/// Decodes an `audit_events` row into its sequence number and event.
pub(crate) fn audit_from_row(row: AuditRow) -> Result<(u64, AuditEvent), StoreError> {
    let (seq, org, at, actor, target, kind) = row;
    let kind: AuditKind = from_json(&kind, "audit kind")?;
    Ok((
        u64_from_db(seq, "audit sequence")?,
        AuditEvent {
            at: time_from_db(at)?,
            org: org_from_db(&org)?,
            actor: actor.as_deref().map(admin_id_from_db).transpose()?,
            target: admin_id_from_db(&target)?,
            kind,
        },
    ))
}

/// A notification as the `outbox` columns store it.
#[derive(Debug)]
pub(crate) struct EncodedNotification {
    pub(crate) dedupe_key: String,
    pub(crate) org: Vec<u8>,
    pub(crate) admin: Vec<u8>,
    pub(crate) kind: String,
    pub(crate) created_at: i64,
    pub(crate) payload: String,
}

impl EncodedNotification {
    pub(crate) fn new(n: &Notification) -> Result<Self, StoreError> {
        Ok(Self {
            dedupe_key: n.dedupe_key.as_str().to_owned(),
            org: org_bytes(n.org),
            admin: id_bytes(n.admin),
            kind: n.kind.as_str().to_owned(),
            created_at: time_to_db(n.created_at)?,
            payload: json(n)?,
        })
    }
}

pub(crate) fn notification_from_payload(payload: &str) -> Result<Notification, StoreError> {
    from_json(payload, "outbox payload")
}

/// The outbox rows a change adds, each encoded by `encode` as its backend stores it:
/// duplicates inside the change are dropped here (the first one wins), duplicates of stored
/// rows by the database.
pub(crate) fn encode_outbox<N>(
    outbox: &[Notification],
    encode: impl Fn(&Notification) -> Result<N, StoreError>,
) -> Result<(Vec<N>, usize), StoreError> {
    let mut seen = HashSet::with_capacity(outbox.len());
    let mut rows = Vec::with_capacity(outbox.len());
    let mut dropped = 0;
    for n in outbox {
        if seen.insert(n.dedupe_key.as_str()) {
            rows.push(encode(n)?);
        } else {
            dropped += 1;
        }
    }
    Ok((rows, dropped))
}

/// What a commit found of an admin it writes, before writing.
#[derive(Debug)]
pub(crate) struct StoredAdmin {
    org: OrgId,
    version: Version,
    email: String,
    token_hash: Option<TokenHash>,
    role: String,
    mfa_required: bool,
}

/// The stored rows of the admins a change writes, by id: what [`Change::validate`] checks
/// the change against. Key holders outside the change are left to the unique constraints.
#[derive(Debug, Default)]
pub(crate) struct Existing(HashMap<AdminId, StoredAdmin>);

impl StoredState for Existing {
    fn stored(&self, id: AdminId) -> Option<StoredKeys<'_>> {
        self.0
            .get(&id)
            .map(|row| StoredKeys::new(row.org, row.version, &row.email, row.token_hash.as_ref()))
    }
}

pub(crate) fn existing_from_rows(rows: Vec<ExistingRow>) -> Result<Existing, StoreError> {
    let mut existing = HashMap::with_capacity(rows.len());
    for (id, org, version, email, token_hash, role, mfa_required) in rows {
        let token_hash = token_hash
            .map(|h| id32(&h).map(TokenHash::from_bytes))
            .transpose()?;
        existing.insert(
            admin_id_from_db(&id)?,
            StoredAdmin {
                org: org_from_db(&org)?,
                version: version_from_db(version)?,
                email,
                token_hash,
                role,
                mfa_required,
            },
        );
    }
    Ok(Existing(existing))
}

/// An update that passed its checks, ready for the batched `UPDATE`.
#[derive(Debug)]
pub(crate) struct PlannedUpdate {
    pub(crate) admin: EncodedAdmin,
    pub(crate) expected: i64,
    /// Email, token hash and role stay as stored: the indexes on them need no change (the
    /// common case of a bulk "require MFA").
    #[cfg_attr(
        not(feature = "sqlite"),
        expect(dead_code, reason = "only SQLite narrows its updates")
    )]
    pub(crate) keys_unchanged: bool,
}

/// A checked change, in the shape the backends write it (`N`: an outbox row as the backend
/// stores it).
#[derive(Debug)]
pub(crate) struct Plan<N = EncodedNotification> {
    pub(crate) inserts: Vec<EncodedAdmin>,
    pub(crate) updates: Vec<PlannedUpdate>,
    /// Ids of updated admins whose email or token hash changes: their old keys are released
    /// before any new key is written, so admins of one change may trade keys.
    pub(crate) release: Vec<Vec<u8>>,
    pub(crate) versions: Vec<(AdminId, Version)>,
    pub(crate) audit: Vec<EncodedAudit>,
    pub(crate) outbox: Vec<N>,
    pub(crate) deduplicated_in_change: usize,
    /// Per organization (sorted, non-zero): how the widget's count changes.
    pub(crate) widget_deltas: Vec<(Vec<u8>, i64)>,
}

impl<N> Default for Plan<N> {
    fn default() -> Self {
        Self {
            inserts: Vec::new(),
            updates: Vec::new(),
            release: Vec::new(),
            versions: Vec::new(),
            audit: Vec::new(),
            outbox: Vec::new(),
            deduplicated_in_change: 0,
            widget_deltas: Vec::new(),
        }
    }
}

/// The ids a commit must read (and, on PostgreSQL, lock) before it writes, sorted.
pub(crate) fn written_ids(change: &Change) -> Vec<AdminId> {
    let mut ids: Vec<AdminId> = change.writes.iter().map(|w| w.admin().id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// `plan` with the change's audit events and outbox rows encoded: the last step of
/// [`plan`] and [`plan_unread`] alike.
fn with_audit_and_outbox<N>(
    mut plan: Plan<N>,
    change: &Change,
    encode: impl Fn(&Notification) -> Result<N, StoreError>,
) -> Result<Plan<N>, StoreError> {
    plan.audit = change
        .audit
        .iter()
        .map(EncodedAudit::new)
        .collect::<Result<_, _>>()?;
    let (outbox, dropped) = encode_outbox(&change.outbox, encode)?;
    plan.outbox = outbox;
    plan.deduplicated_in_change = dropped;
    Ok(plan)
}

/// Checks a change against what the database holds for the admins it writes
/// ([`Change::validate`], as every store does), then encodes it in the shape the backends
/// write it (the outbox rows by `encode`). Uniqueness against admins outside the change is
/// left to the database's unique constraints.
pub(crate) fn plan<N>(
    change: &Change,
    existing: &Existing,
    encode: impl Fn(&Notification) -> Result<N, StoreError>,
) -> Result<Plan<N>, StoreError> {
    change.validate(existing)?;
    let mut plan = Plan::default();
    let mut deltas: BTreeMap<Vec<u8>, i64> = BTreeMap::new();
    for write in &change.writes {
        let encoded = EncodedAdmin::new(write.admin())?;
        let counted = i64::from(!encoded.mfa_required);
        match write {
            AdminWrite::Insert(admin) => {
                *deltas.entry(encoded.org.clone()).or_default() += counted;
                plan.versions.push((admin.id, Version::FIRST));
                plan.inserts.push(encoded);
            }
            AdminWrite::Update { admin, expected } => {
                let row = existing.0.get(&admin.id).ok_or(StoreError::NotFound)?;
                let keys_moved =
                    row.email != encoded.email || row.token_hash.as_ref() != admin.mfa.token_hash();
                if keys_moved {
                    plan.release.push(encoded.id.clone());
                }
                let keys_unchanged = !keys_moved && row.role == encoded.role;
                *deltas.entry(encoded.org.clone()).or_default() +=
                    counted - i64::from(!row.mfa_required);
                plan.versions.push((admin.id, expected.next()));
                plan.updates.push(PlannedUpdate {
                    admin: encoded,
                    expected: version_to_db(*expected)?,
                    keys_unchanged,
                });
            }
        }
    }
    plan.widget_deltas = deltas.into_iter().filter(|(_, d)| *d != 0).collect();
    with_audit_and_outbox(plan, change, encode)
}

/// The stored state a change of updates alone is checked against before anything is read:
/// every updated admin assumed stored in its new record's organization, at the expected
/// version, holding the email and token hash of its new record (nothing else assumed).
/// A store that writes on this assumption must confirm it in the database, under the
/// write lock, before it writes (see [`plan_unread`]).
#[cfg(feature = "sqlite")]
struct Assumed<'c>(HashMap<AdminId, StoredKeys<'c>>);

#[cfg(feature = "sqlite")]
impl StoredState for Assumed<'_> {
    fn stored(&self, id: AdminId) -> Option<StoredKeys<'_>> {
        self.0.get(&id).copied()
    }
}

/// Whether a change only updates admins, all of one organization: the changes a store may
/// check with [`plan_unread`] (a bulk require, a code check).
#[cfg(feature = "sqlite")]
pub(crate) fn updates_of_one_org(change: &Change) -> Option<OrgId> {
    let mut org = None;
    for write in &change.writes {
        match write {
            AdminWrite::Update { admin, .. } if org.is_none_or(|o| o == admin.org) => {
                org = Some(admin.org);
            }
            _ => return None,
        }
    }
    org
}

/// [`plan`] for a change of updates alone (see [`updates_of_one_org`]) without reading the
/// stored rows: checked against [`Assumed`], every update planned as keeping its keys and
/// role, and the widget's count of `org` moving by `delta`.
///
/// Sound only once the database has confirmed, under the write lock, that every updated
/// admin is stored in `org` at its expected version with the email, token hash and role of
/// its new record, and given `delta` from the stored rows' `mfa_required`: then
/// [`Change::validate`] on the stored rows would see exactly what it saw here.
#[cfg(feature = "sqlite")]
pub(crate) fn plan_unread<N>(
    change: &Change,
    org: OrgId,
    delta: i64,
    encode: impl Fn(&Notification) -> Result<N, StoreError>,
) -> Result<Plan<N>, StoreError> {
    let assumed = Assumed(
        change
            .writes
            .iter()
            .filter_map(|write| match write {
                AdminWrite::Update { admin, expected } => Some((
                    admin.id,
                    StoredKeys::new(
                        admin.org,
                        *expected,
                        admin.email.as_str(),
                        admin.mfa.token_hash(),
                    ),
                )),
                AdminWrite::Insert(_) => None,
            })
            .collect(),
    );
    change.validate(&assumed)?;
    let mut plan = Plan::default();
    for write in &change.writes {
        if let AdminWrite::Update { admin, expected } = write {
            plan.versions.push((admin.id, expected.next()));
            plan.updates.push(PlannedUpdate {
                admin: EncodedAdmin::new(admin)?,
                expected: version_to_db(*expected)?,
                keys_unchanged: true,
            });
        }
    }
    if delta != 0 {
        plan.widget_deltas = vec![(org_bytes(org), delta)];
    }
    with_audit_and_outbox(plan, change, encode)
}

/// A keyset page from `limit + 1` fetched items: the first `limit`, and the cursor of the
/// last one kept when more followed.
pub(crate) fn keyset_page<T, C>(
    mut items: Vec<T>,
    limit: usize,
    cursor: impl FnOnce(&T) -> C,
) -> Page<T, C> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(cursor)
    } else {
        None
    };
    Page { items, next }
}

/// A write transaction and the store's turn to write, released after the transaction ends.
///
/// PostgreSQL needs no turn (`()`): its row locks order writers. SQLite has one writer at a
/// time, so its store hands out turns in process, in arrival order, before `BEGIN IMMEDIATE`.
pub(crate) struct Write<DB: sqlx::Database, T = ()> {
    tx: sqlx::Transaction<'static, DB>,
    turn: T,
}

impl<DB: sqlx::Database, T> Write<DB, T> {
    pub(crate) fn new(tx: sqlx::Transaction<'static, DB>, turn: T) -> Self {
        Self { tx, turn }
    }

    /// Commits, then gives the turn back.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        let Self { tx, turn } = self;
        let done = tx.commit().await.map_err(db_error);
        drop(turn);
        done
    }

    /// Rolls back, then gives the turn back.
    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        let Self { tx, turn } = self;
        let done = tx.rollback().await.map_err(db_error);
        drop(turn);
        done
    }
}

impl<DB: sqlx::Database, T> Deref for Write<DB, T> {
    type Target = DB::Connection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl<DB: sqlx::Database, T> DerefMut for Write<DB, T> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl<DB: sqlx::Database, T> fmt::Debug for Write<DB, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Write").finish_non_exhaustive()
    }
}

/// Leased rows (id, generation, attempts, payload) as entries, oldest first.
pub(crate) fn outbox_entries(
    mut rows: Vec<(i64, i64, i64, String)>,
) -> Result<Vec<OutboxEntry>, StoreError> {
    rows.sort_unstable_by_key(|r| r.0);
    rows.into_iter()
        .map(|(id, generation, attempts, payload)| {
            Ok(OutboxEntry {
                lease: Lease {
                    id: OutboxId(u64_from_db(id, "outbox id")?),
                    generation: u64_from_db(generation, "lease generation")?,
                },
                notification: notification_from_payload(&payload)?,
                attempts: u32_from_db(attempts),
            })
        })
        .collect()
}

/// Per-state counts as [`OutboxStats`].
pub(crate) fn stats_from_rows(rows: Vec<(String, i64)>) -> Result<OutboxStats, StoreError> {
    let mut stats = OutboxStats::default();
    for (state, n) in rows {
        let n = u64_from_db(n, "count")?;
        match state.as_str() {
            "pending" => stats.pending = n,
            "sent" => stats.sent = n,
            "dead" => stats.dead = n,
            _ => return Err(corrupt("outbox state")),
        }
    }
    Ok(stats)
}

/// Which invariant a unique violation broke, from the constraint name (PostgreSQL) or the
/// columns named in the message (SQLite).
fn conflict_kind(constraint: Option<&str>, message: &str) -> Option<ConflictKind> {
    match constraint {
        Some("admins_pkey") => return Some(ConflictKind::DuplicateId),
        Some("admins_org_email_key") => return Some(ConflictKind::Email),
        Some("admins_token_hash_key") => return Some(ConflictKind::TokenHash),
        _ => {}
    }
    // SQLite: "UNIQUE constraint failed: admins.org, admins.email".
    let columns = message.rsplit(':').next().unwrap_or_default();
    let columns: Vec<&str> = columns.split(',').map(str::trim).collect();
    match columns.as_slice() {
        ["admins.id"] => Some(ConflictKind::DuplicateId),
        ["admins.org", "admins.email"] => Some(ConflictKind::Email),
        ["admins.token_hash"] => Some(ConflictKind::TokenHash),
        _ => None,
    }
}

/// Maps a database error: a unique violation of an admin key is a conflict, anything else
/// a backend failure.
pub(crate) fn db_error(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
        && let Some(kind) = conflict_kind(db.constraint(), db.message())
    {
        return StoreError::Conflict(kind);
    }
    StoreError::backend(err)
}

/// Errors of opening a store: connecting, configuring or migrating the database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The database could not be reached or opened.
    #[error("cannot connect to the database")]
    Connect(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The embedded migrations failed.
    #[error("cannot migrate the database schema")]
    Migrate(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl OpenError {
    pub(crate) fn connect(err: sqlx::Error) -> Self {
        Self::Connect(Box::new(err))
    }

    pub(crate) fn migrate(err: sqlx::migrate::MigrateError) -> Self {
        Self::Migrate(Box::new(err))
    }
}

/// Puts the admins a batched read found into the order of `ids`, with `None` for the ids
/// it did not find (and a copy for an id asked twice).
pub(crate) fn in_order_of(
    ids: &[AdminId],
    found: Vec<admin_mfa_ports::Versioned<Admin>>,
) -> Vec<Option<admin_mfa_ports::Versioned<Admin>>> {
    let mut by_id: HashMap<AdminId, admin_mfa_ports::Versioned<Admin>> =
        found.into_iter().map(|v| (v.value.id, v)).collect();
    let mut wanted: HashMap<AdminId, usize> = HashMap::new();
    for id in ids {
        *wanted.entry(*id).or_default() += 1;
    }
    ids.iter()
        .map(|id| {
            let left = wanted.get_mut(id)?;
            *left -= 1;
            if *left == 0 {
                by_id.remove(id)
            } else {
                by_id.get(id).cloned()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_messages_map_to_conflicts() {
        let cases = [
            (
                "UNIQUE constraint failed: admins.id",
                Some(ConflictKind::DuplicateId),
            ),
            (
                "UNIQUE constraint failed: admins.org, admins.email",
                Some(ConflictKind::Email),
            ),
            (
                "UNIQUE constraint failed: admins.token_hash",
                Some(ConflictKind::TokenHash),
            ),
            ("UNIQUE constraint failed: outbox.dedupe_key", None),
        ];
        for (message, kind) in cases {
            assert_eq!(conflict_kind(None, message), kind, "{message}");
        }
    }

    #[test]
    fn postgres_constraint_names_map_to_conflicts() {
        assert_eq!(
            conflict_kind(Some("admins_pkey"), "duplicate key"),
            Some(ConflictKind::DuplicateId)
        );
        assert_eq!(
            conflict_kind(Some("admins_org_email_key"), "duplicate key"),
            Some(ConflictKind::Email)
        );
        assert_eq!(
            conflict_kind(Some("admins_token_hash_key"), "duplicate key"),
            Some(ConflictKind::TokenHash)
        );
        assert_eq!(conflict_kind(Some("outbox_dedupe_key_key"), "x"), None);
    }

    #[test]
    fn times_outside_the_integer_range_are_refused_or_saturated() {
        assert!(time_to_db(UnixTime::from_secs(u64::MAX)).is_err());
        assert_eq!(
            time_to_db_saturating(UnixTime::from_secs(u64::MAX)),
            i64::MAX
        );
        assert!(time_from_db(-1).is_err());
        assert_eq!(time_from_db(59).unwrap(), UnixTime::from_secs(59));
        assert!(version_from_db(0).is_err());
    }
}
