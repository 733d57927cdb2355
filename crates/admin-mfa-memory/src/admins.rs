//! The memory store's admin table: compact rows in one vector, and the indexes that find a
//! row by id, by email within its organization and by link-token hash.
//!
//! Sized for a million admins in one process (issue 14: at most 1 KB each, with no jump when
//! a table doubles). Three choices keep it there:
//!
//! - A row is not an [`Admin`]: the parts most admins never have (a pending link, a log of
//!   link e-mails) are boxed, so a row is about two thirds of an `Admin`, which reserves
//!   room for a whole pending link and its candidate in every record. Reads build the
//!   [`Admin`] they return (they cloned one before, at about the same cost).
//! - Rows live in one vector and are never removed (the store port has no delete), so a
//!   position names a row for good. The vector grows by reallocation, which the system
//!   allocator does for large blocks by remapping pages, not by copying: no moment holds
//!   two copies of the rows.
//! - The hash indexes hold positions only (8 bytes a slot) and hash the key through the
//!   row, so when one doubles, the old and new tables together are a few tens of bytes per
//!   admin, not copies of keys and records.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::ops::Bound;

use admin_mfa_lifecycle::{
    Admin, AdminId, Email, EmailLog, Factor, Failures, MfaState, OrgId, PasswordFailures,
    PasswordHash, PendingLink, Requirement, Role, StoredRecoveryCodes, TokenHash, UnixTime,
    WidgetPrefs,
};
use admin_mfa_ports::{AdminSummary, Version};
use foldhash::HashMap;
use foldhash::fast::RandomState;
use hashbrown::HashTable;

/// One admin as the table keeps it: the fields of [`Admin`] and its [`MfaState`], with the
/// rarely present parts boxed.
pub(crate) struct Row {
    version: Version,
    id: AdminId,
    org: OrgId,
    email: Email,
    display_name: Box<str>,
    role: Role,
    password_hash: PasswordHash,
    created_at: UnixTime,
    prefs: WidgetPrefs,
    requirement: Requirement,
    factor: Factor,
    /// Most admins have no link outstanding; a pending link inline would be the largest
    /// part of every row.
    link: Option<Box<PendingLink>>,
    failures: Failures,
    credential_epoch: u64,
    /// `None` while the log is empty (most admins).
    email_log: Option<Box<EmailLog>>,
    password_failures: PasswordFailures,
    /// `None` for admins without recovery codes.
    recovery: Option<Box<StoredRecoveryCodes>>,
    setup_deadline: Option<UnixTime>,
}

impl Row {
    fn new(admin: Admin, version: Version) -> Self {
        Self::with_spare(admin, version, Spare::default())
    }

    /// Replaces this row's contents with `admin` at `version`, in place: the boxes of the
    /// parts both have (a pending link, the e-mail log, recovery codes) are refilled instead
    /// of freed and allocated again, so rewriting an admin (a code check's new last-used
    /// step) allocates nothing here.
    #[inline]
    fn replace(&mut self, admin: Admin, version: Version) {
        let spare = Spare {
            link: self.link.take(),
            email_log: self.email_log.take(),
            recovery: self.recovery.take(),
        };
        *self = Self::with_spare(admin, version, spare);
    }

    /// The row of `admin` at `version`, its boxed parts put in the boxes of `spare` where
    /// both have one.
    #[inline]
    fn with_spare(admin: Admin, version: Version, spare: Spare) -> Self {
        // Destructured in full, so a field added to either type fails to compile here
        // instead of being dropped by the store.
        let Admin {
            id,
            org,
            email,
            display_name,
            role,
            password_hash,
            created_at,
            mfa,
            prefs,
        } = admin;
        let MfaState {
            requirement,
            factor,
            link,
            failures,
            credential_epoch,
            email_log,
            password_failures,
            recovery,
            setup_deadline,
        } = mfa;
        Self {
            version,
            id,
            org,
            email,
            display_name: display_name.into_boxed_str(),
            role,
            password_hash,
            created_at,
            prefs,
            requirement,
            factor,
            link: refill(spare.link, link),
            failures,
            credential_epoch,
            email_log: refill(
                spare.email_log,
                (email_log != EmailLog::default()).then_some(email_log),
            ),
            password_failures,
            recovery: refill(spare.recovery, recovery),
            setup_deadline,
        }
    }

    /// The record as the store port returns it.
    pub(crate) fn admin(&self) -> Admin {
        Admin {
            id: self.id,
            org: self.org,
            email: self.email.clone(),
            // A plain copy of the text: `to_string` on a `Box<str>` goes through `Display`,
            // and may leave spare capacity that `Row::new` then gives back by reallocating.
            display_name: String::from(&*self.display_name),
            role: self.role.clone(),
            password_hash: self.password_hash.clone(),
            created_at: self.created_at,
            mfa: MfaState {
                requirement: self.requirement,
                factor: self.factor.clone(),
                link: self.link.as_deref().cloned(),
                failures: self.failures,
                credential_epoch: self.credential_epoch,
                email_log: self.email_log.as_deref().cloned().unwrap_or_default(),
                password_failures: self.password_failures,
                recovery: self.recovery.as_deref().cloned(),
                setup_deadline: self.setup_deadline,
            },
            prefs: self.prefs,
        }
    }

    /// What the "Admins Without MFA Required" list shows of this admin.
    pub(crate) fn summary(&self) -> AdminSummary {
        AdminSummary {
            id: self.id,
            org: self.org,
            email: self.email.clone(),
            display_name: String::from(&*self.display_name),
            role: self.role.clone(),
            created_at: self.created_at,
        }
    }

    pub(crate) const fn version(&self) -> Version {
        self.version
    }

    pub(crate) const fn id(&self) -> AdminId {
        self.id
    }

    pub(crate) const fn org(&self) -> OrgId {
        self.org
    }

    pub(crate) const fn email(&self) -> &Email {
        &self.email
    }

    pub(crate) fn token_hash(&self) -> Option<&TokenHash> {
        self.link.as_deref().map(|l| &l.token_hash)
    }

    const fn is_listed(&self) -> bool {
        !self.requirement.is_required()
    }
}

/// `value` boxed: in the `spare` box when both are present, else in a new one (or none).
fn refill<T>(spare: Option<Box<T>>, value: Option<T>) -> Option<Box<T>> {
    match (spare, value) {
        (Some(mut boxed), Some(value)) => {
            *boxed = value;
            Some(boxed)
        }
        (_, value) => value.map(Box::new),
    }
}

/// The boxes a row being rewritten gives up, for [`Row::with_spare`] to refill.
#[derive(Default)]
struct Spare {
    link: Option<Box<PendingLink>>,
    email_log: Option<Box<EmailLog>>,
    recovery: Option<Box<StoredRecoveryCodes>>,
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

/// What one organization's reads need besides the rows themselves.
#[derive(Default)]
struct OrgIndex {
    /// Positions of the organization's rows, hashed by email.
    by_email: HashTable<usize>,
    /// Admins without MFA required, in listing order (by email, unique within an
    /// organization), with their positions.
    without_required: BTreeMap<ListKey, usize>,
    /// Every admin of the organization, in listing order, with their positions. A key's
    /// email shares the row's text (an `Email` is a counted reference), so an entry costs
    /// its fixed size only.
    all: BTreeMap<ListKey, usize>,
    role_count: HashMap<Role, u64>,
}

/// Every admin of the store, and the indexes over them.
#[derive(Default)]
pub(crate) struct AdminTable {
    rows: Vec<Row>,
    /// Positions of all rows, hashed by admin id.
    by_id: HashTable<usize>,
    /// Positions of the rows with a pending link, hashed by its token hash.
    by_token: HashTable<usize>,
    orgs: HashMap<OrgId, OrgIndex>,
    hasher: RandomState,
}

/// The hash of each kind of key. Every table hashes a key through these, on insert and when
/// it grows (through the row at the stored position), so they must agree.
#[derive(Clone, Copy)]
struct Hashes<'a>(&'a RandomState);

impl Hashes<'_> {
    fn id(self, id: AdminId) -> u64 {
        self.0.hash_one(id)
    }

    fn email(self, email: &Email) -> u64 {
        self.0.hash_one(email.as_str())
    }

    fn token(self, hash: &TokenHash) -> u64 {
        self.0.hash_one(hash.as_bytes())
    }

    /// The hash a row's entry in `by_token` has; rows without a link are never there.
    fn token_of(self, row: Option<&Row>) -> u64 {
        row.and_then(Row::token_hash)
            .map_or(0, |hash| self.token(hash))
    }
}

/// Removes the entry of row `pos` under `hash`, if there is one. Only that row's own entry
/// goes: another row of the same change that already claimed the key keeps it.
fn remove(table: &mut HashTable<usize>, hash: u64, pos: usize) {
    if let Ok(entry) = table.find_entry(hash, |p| *p == pos) {
        entry.remove();
    }
}

impl AdminTable {
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    fn hashes(&self) -> Hashes<'_> {
        Hashes(&self.hasher)
    }

    fn position(&self, id: AdminId) -> Option<usize> {
        let rows = &self.rows;
        self.by_id
            .find(self.hashes().id(id), |p| {
                rows.get(*p).is_some_and(|row| row.id == id)
            })
            .copied()
    }

    /// The row of admin `id`, in any organization.
    pub(crate) fn get(&self, id: AdminId) -> Option<&Row> {
        self.position(id).and_then(|p| self.rows.get(p))
    }

    /// The row holding `email` in `org`.
    pub(crate) fn by_email(&self, org: OrgId, email: &Email) -> Option<&Row> {
        let rows = &self.rows;
        let pos = self
            .orgs
            .get(&org)?
            .by_email
            .find(self.hashes().email(email), |p| {
                rows.get(*p).is_some_and(|row| row.email == *email)
            })?;
        rows.get(*pos)
    }

    /// The row whose pending link has this token hash.
    pub(crate) fn by_token(&self, hash: &TokenHash) -> Option<&Row> {
        let rows = &self.rows;
        let pos = self.by_token.find(self.hashes().token(hash), |p| {
            rows.get(*p).and_then(Row::token_hash) == Some(hash)
        })?;
        rows.get(*pos)
    }

    /// How many admins of `org` do not have MFA required.
    pub(crate) fn count_without_required(&self, org: OrgId) -> usize {
        self.orgs.get(&org).map_or(0, |o| o.without_required.len())
    }

    /// The admins of `org` without MFA required, by email, after `after` if given.
    pub(crate) fn without_required(
        &self,
        org: OrgId,
        after: Option<&Email>,
    ) -> impl Iterator<Item = &Row> {
        let start = after.map_or(Bound::Unbounded, |email| {
            Bound::Excluded(ListKey::of(email))
        });
        self.orgs
            .get(&org)
            .into_iter()
            .flat_map(move |o| o.without_required.range((start.clone(), Bound::Unbounded)))
            .filter_map(|(_, pos)| self.rows.get(*pos))
    }

    /// Every admin of `org`, by email, after `after` if given.
    pub(crate) fn all(&self, org: OrgId, after: Option<&Email>) -> impl Iterator<Item = &Row> {
        let start = after.map_or(Bound::Unbounded, |email| {
            Bound::Excluded(ListKey::of(email))
        });
        self.orgs
            .get(&org)
            .into_iter()
            .flat_map(move |o| o.all.range((start.clone(), Bound::Unbounded)))
            .filter_map(|(_, pos)| self.rows.get(*pos))
    }

    /// How many admins of `org` have `role`.
    pub(crate) fn count_with_role(&self, org: OrgId, role: &Role) -> u64 {
        self.orgs
            .get(&org)
            .and_then(|o| o.role_count.get(role))
            .copied()
            .unwrap_or(0)
    }

    /// Stores `admin` at `version`: replaces the row of the same id in place, or adds one.
    /// Only the index entries whose keys change are touched. A key is released only by the
    /// row that holds it, so admins of one change may trade keys (two admins swapping
    /// emails) in any order.
    #[inline]
    pub(crate) fn put(&mut self, admin: Admin, version: Version) {
        let existing = self.position(admin.id);
        let Self {
            rows,
            by_id,
            by_token,
            orgs,
            hasher,
        } = self;
        let hashes = Hashes(hasher);
        let org = orgs.entry(admin.org).or_default();
        let pos = match existing {
            Some(pos) => pos,
            None => {
                rows.push(Row::new(admin, version));
                let pos = rows.len() - 1;
                by_id.insert_unique(hashes.id(new_id(rows, pos)), pos, |p| {
                    hashes.id(new_id(rows, *p))
                });
                index_new(org, by_token, rows, hashes, pos, None);
                return;
            }
        };
        let Some(old) = rows.get_mut(pos) else {
            return;
        };
        let new_token = admin.mfa.token_hash().copied();
        let new_listed = !admin.mfa.requirement.is_required();
        let role_changed = old.role != admin.role;
        let old_token = old.token_hash().copied();
        let email_changed = old.email != admin.email;
        // Release the old keys that change, while the row still holds them.
        if let Some(hash) = old_token
            && new_token != Some(hash)
        {
            remove(by_token, hashes.token(&hash), pos);
        }
        if email_changed {
            remove(&mut org.by_email, hashes.email(&old.email), pos);
            let key = ListKey::of(&old.email);
            if let Some(holder) = org.all.remove(&key)
                && holder != pos
            {
                org.all.insert(key, holder);
            }
        }
        if old.is_listed() && (email_changed || !new_listed) {
            let key = ListKey::of(&old.email);
            if let Some(holder) = org.without_required.remove(&key)
                && holder != pos
            {
                org.without_required.insert(key, holder);
            }
        }
        if role_changed && let Some(n) = org.role_count.get_mut(&old.role) {
            *n = n.saturating_sub(1);
        }
        let was = Keys {
            token: old_token,
            email_changed,
            listed: old.is_listed(),
            role_changed,
        };
        old.replace(admin, version);
        index_new(org, by_token, rows, hashes, pos, Some(was));
    }
}

/// What a replaced row held, for [`index_new`].
struct Keys {
    token: Option<TokenHash>,
    email_changed: bool,
    listed: bool,
    role_changed: bool,
}

fn new_id(rows: &[Row], pos: usize) -> AdminId {
    rows.get(pos).map_or(AdminId::from_bytes([0; 16]), Row::id)
}

/// Claims the keys of the row now at `pos` that its previous version (`was`; none for a
/// new row) did not hold. The row is in place first, so a table that grows here rehashes
/// every entry, this one's included, through the rows.
fn index_new(
    org: &mut OrgIndex,
    by_token: &mut HashTable<usize>,
    rows: &[Row],
    hashes: Hashes<'_>,
    pos: usize,
    was: Option<Keys>,
) {
    let Some(row) = rows.get(pos) else {
        return;
    };
    if let Some(hash) = row.token_hash()
        && was.as_ref().is_none_or(|w| w.token != Some(*hash))
    {
        by_token.insert_unique(hashes.token(hash), pos, |p| hashes.token_of(rows.get(*p)));
    }
    let email_new = was.as_ref().is_none_or(|w| w.email_changed);
    if email_new {
        org.by_email
            .insert_unique(hashes.email(&row.email), pos, |p| {
                rows.get(*p).map_or(0, |r| hashes.email(&r.email))
            });
        org.all.insert(ListKey::of(&row.email), pos);
    }
    if row.is_listed() && (email_new || was.as_ref().is_some_and(|w| !w.listed)) {
        org.without_required.insert(ListKey::of(&row.email), pos);
    }
    if was.as_ref().is_none_or(|w| w.role_changed) {
        *org.role_count.entry(row.role.clone()).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use admin_mfa_testkit::fixtures::{T0, admin, clear_link, org, require, set_link, token_hash};

    /// Every lookup of `table` against the admins it should hold, recomputed from scratch.
    fn check(table: &AdminTable, admins: &[(Admin, Version)]) {
        assert_eq!(table.len(), admins.len());
        for (a, version) in admins {
            let row = table.get(a.id).expect("stored");
            assert_eq!(&row.admin(), a);
            assert_eq!(row.version(), *version);
            assert_eq!(table.by_email(a.org, &a.email).map(Row::id), Some(a.id));
            if let Some(hash) = a.mfa.token_hash() {
                assert_eq!(table.by_token(hash).map(Row::id), Some(a.id));
            }
        }
        let org = admins.first().map(|(a, _)| a.org).expect("admins");
        // No entry is left behind by a key that moved on.
        let linked = admins.iter().filter(|(a, _)| a.mfa.link.is_some()).count();
        assert_eq!(table.by_token.len(), linked);
        assert_eq!(table.by_id.len(), admins.len());
        assert_eq!(table.orgs[&org].by_email.len(), admins.len());
        let mut every: Vec<&Admin> = admins.iter().map(|(a, _)| a).collect();
        every.sort_by(|x, y| x.email.cmp(&y.email));
        let every: Vec<AdminId> = every.iter().map(|a| a.id).collect();
        let got: Vec<AdminId> = table.all(org, None).map(Row::id).collect();
        assert_eq!(got, every);
        assert_eq!(table.orgs[&org].all.len(), admins.len());
        let mut listed: Vec<&Admin> = admins
            .iter()
            .map(|(a, _)| a)
            .filter(|a| !a.mfa.requirement.is_required())
            .collect();
        listed.sort_by(|x, y| x.email.cmp(&y.email));
        let ids: Vec<AdminId> = listed.iter().map(|a| a.id).collect();
        let got: Vec<AdminId> = table.without_required(org, None).map(Row::id).collect();
        assert_eq!(got, ids);
        assert_eq!(table.count_without_required(org), ids.len());
        let after = listed.get(10).map(|a| &a.email);
        let got: Vec<AdminId> = table.without_required(org, after).map(Row::id).collect();
        assert_eq!(got, ids.get(11..).unwrap_or_default());
        let role = &admins.first().expect("admins").0.role;
        let with_role = admins.iter().filter(|(a, _)| &a.role == role).count();
        assert_eq!(table.count_with_role(org, role), with_role as u64);
    }

    /// Enough admins for every hash table to grow several times, with emails and link
    /// tokens passed round a ring of admins in between (as one change may do, each admin
    /// claiming a key its neighbour has not released yet), and requirements flipped.
    #[test]
    fn lookups_survive_growth_and_keys_passed_round() {
        let o = org(1);
        let mut table = AdminTable::default();
        let mut admins: Vec<(Admin, Version)> = Vec::new();
        for n in 0..3_000_u32 {
            let mut a = admin(o, n);
            if n % 3 == 0 {
                set_link(&mut a, token_hash(n), T0);
            }
            if n % 2 == 0 {
                require(&mut a, T0);
            }
            table.put(a.clone(), Version::FIRST);
            admins.push((a, Version::FIRST));
            if n % 500 == 499 {
                let ring: Vec<usize> = (admins.len() - 60..admins.len()).collect();
                let keys: Vec<(Email, Option<TokenHash>)> = ring
                    .iter()
                    .map(|i| {
                        (
                            admins[*i].0.email.clone(),
                            admins[*i].0.mfa.token_hash().copied(),
                        )
                    })
                    .collect();
                for (k, i) in ring.iter().enumerate() {
                    let (email, token) = keys[(k + 1) % keys.len()].clone();
                    let (a, version) = &mut admins[*i];
                    a.email = email;
                    match token {
                        Some(hash) => set_link(a, hash, T0),
                        None => clear_link(a),
                    }
                    if k % 4 == 0 {
                        if a.mfa.requirement.is_required() {
                            a.mfa.requirement = Requirement::NotRequired;
                        } else {
                            require(a, T0);
                        }
                    }
                    *version = version.next();
                    table.put(a.clone(), *version);
                }
                check(&table, &admins);
            }
        }
        check(&table, &admins);
    }

    #[test]
    fn rows_box_what_most_admins_lack() {
        let mut a = admin(org(1), 1);
        let plain = Row::new(a.clone(), Version::FIRST);
        assert!(plain.link.is_none() && plain.email_log.is_none());
        assert_eq!(plain.admin(), a);
        set_link(&mut a, token_hash(1), T0);
        a.mfa
            .email_log
            .record(admin_mfa_lifecycle::LinkPurpose::Setup, T0, T0);
        let full = Row::new(a.clone(), Version::FIRST);
        assert!(full.link.is_some() && full.email_log.is_some());
        assert_eq!(full.admin(), a);
        assert!(size_of::<Row>() < size_of::<Admin>());
    }

    /// Rewriting a row in place gives back the admin written, whatever parts come and go,
    /// and refills the boxes it already has instead of allocating new ones.
    #[test]
    fn replace_refills_the_boxes_it_has() {
        let mut a = admin(org(1), 1);
        set_link(&mut a, token_hash(1), T0);
        a.mfa
            .email_log
            .record(admin_mfa_lifecycle::LinkPurpose::Setup, T0, T0);
        let mut row = Row::new(a.clone(), Version::FIRST);
        let link_box: *const PendingLink = row.link.as_deref().expect("link");
        let log_box: *const EmailLog = row.email_log.as_deref().expect("log");

        // Same parts present, contents changed: same boxes, new contents.
        set_link(&mut a, token_hash(2), T0);
        a.display_name = "Renamed".to_owned();
        row.replace(a.clone(), Version::FIRST.next());
        assert_eq!(row.admin(), a);
        assert_eq!(row.version(), Version::FIRST.next());
        assert!(std::ptr::eq(row.link.as_deref().expect("link"), link_box));
        assert!(std::ptr::eq(
            row.email_log.as_deref().expect("log"),
            log_box
        ));

        // Parts gone: no boxes left behind; back again: boxed again.
        clear_link(&mut a);
        a.mfa.email_log = EmailLog::default();
        row.replace(a.clone(), Version::FIRST);
        assert!(row.link.is_none() && row.email_log.is_none());
        assert_eq!(row.admin(), a);
        set_link(&mut a, token_hash(3), T0);
        row.replace(a.clone(), Version::FIRST);
        assert_eq!(row.admin(), a);
        assert_eq!(row.token_hash(), Some(&token_hash(3)));
    }
}
