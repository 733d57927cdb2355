//! The checks every store runs on a [`Change`] before it writes anything.

// foldhash: these maps live for one check of one change, keyed by ids and keys the change
// carries; SipHash was a few percent of a bulk require's commit.
use foldhash::{HashMap, HashMapExt as _, HashSet, HashSetExt as _};

use admin_mfa_lifecycle::{Admin, AdminId, Email, OrgId, TokenHash};

use crate::store::{AdminWrite, Change, ConflictKind, StoreError, Version};

/// What a store holds of one admin, as far as [`Change::validate`] needs it: the facts an
/// update is checked against and the unique keys the admin holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredKeys<'a> {
    /// The admin's organization.
    pub org: OrgId,
    /// The stored version.
    pub version: Version,
    /// The stored (normalised) email address.
    pub email: &'a str,
    /// The hash of the admin's pending link token, if any.
    pub token_hash: Option<&'a TokenHash>,
}

impl<'a> StoredKeys<'a> {
    /// The stored facts of one admin.
    #[must_use]
    pub const fn new(
        org: OrgId,
        version: Version,
        email: &'a str,
        token_hash: Option<&'a TokenHash>,
    ) -> Self {
        Self {
            org,
            version,
            email,
            token_hash,
        }
    }
}

/// The stored state a [`Change`] is validated against, as a store sees it inside the lock or
/// transaction of its commit.
///
/// A store answers [`stored`](Self::stored) for every admin the change writes. The key
/// holders are optional: a store that keeps its own indexes (the memory store) answers them,
/// so a clash with an admin outside the change is found before anything is written; a store
/// whose unique constraints refuse such a clash when it writes (the SQL stores) keeps the
/// defaults, and [`Change::validate`] then still finds every clash among the admins the change
/// writes.
pub trait StoredState {
    /// What is stored of admin `id`, in any organization; `None` if there is no such admin.
    fn stored(&self, id: AdminId) -> Option<StoredKeys<'_>>;

    /// The admin holding `email` in `org`, if the store can tell without I/O.
    fn email_holder(&self, org: OrgId, email: &Email) -> Option<AdminId> {
        let _ = (org, email);
        None
    }

    /// The admin whose pending link has this token hash, if the store can tell without I/O.
    fn token_holder(&self, hash: &TokenHash) -> Option<AdminId> {
        let _ = hash;
        None
    }
}

/// The keys the admins of a change held before it, by key: who else holds a key a write
/// claims, among the written admins.
struct HeldInChange<'s> {
    emails: HashMap<(OrgId, &'s str), AdminId>,
    tokens: HashMap<&'s TokenHash, AdminId>,
}

impl<'s> HeldInChange<'s> {
    fn of(change: &Change, replaced: &[Option<StoredKeys<'s>>]) -> Self {
        let mut held = Self {
            emails: HashMap::with_capacity(replaced.len()),
            tokens: HashMap::new(),
        };
        for (write, old) in change.writes.iter().zip(replaced) {
            if let Some(old) = old {
                let id = write.admin().id;
                held.emails.insert((old.org, old.email), id);
                if let Some(hash) = old.token_hash {
                    held.tokens.insert(hash, id);
                }
            }
        }
        held
    }
}

/// Up to this many writes, a change is searched in place for an admin written twice or
/// for a written admin's new record: cheaper than building a hash map for the one-admin
/// changes of a code check.
const FEW_WRITES: usize = 16;

/// The new records of a change's written admins, by id.
enum Written<'c> {
    /// Few writes: the change itself, searched in order.
    Few(&'c [AdminWrite]),
    /// Many writes: the first record of each id.
    Many(HashMap<AdminId, &'c Admin>),
}

impl<'c> Written<'c> {
    fn of(change: &'c Change) -> Self {
        if change.writes.len() <= FEW_WRITES {
            return Self::Few(&change.writes);
        }
        let mut by_id = HashMap::with_capacity(change.writes.len());
        for write in &change.writes {
            let admin = write.admin();
            by_id.entry(admin.id).or_insert(admin);
        }
        Self::Many(by_id)
    }

    /// Whether `admin`, the `n`-th write, was written before in the change.
    fn twice(&self, n: usize, admin: &Admin) -> bool {
        match self {
            Self::Few(writes) => writes.iter().take(n).any(|w| w.admin().id == admin.id),
            Self::Many(by_id) => by_id
                .get(&admin.id)
                .is_some_and(|first| !std::ptr::eq(*first, admin)),
        }
    }

    /// The new record of admin `id`, if the change writes it.
    fn get(&self, id: AdminId) -> Option<&'c Admin> {
        match self {
            Self::Few(writes) => writes.iter().map(AdminWrite::admin).find(|a| a.id == id),
            Self::Many(by_id) => by_id.get(&id).copied(),
        }
    }
}

impl Change {
    /// Checks this change against the stored state, in the order and with the outcomes every
    /// store shares; mutates nothing.
    ///
    /// In order: each admin is written at most once ([`StoreError::InvalidChange`]); an
    /// insert names a new id ([`ConflictKind::DuplicateId`]); an update names a stored admin
    /// ([`StoreError::NotFound`]) of the same organization ([`StoreError::InvalidChange`]) at
    /// its current version ([`ConflictKind::Version`]). Then the unique keys after the
    /// change: only a key a write newly claims can clash, with another claim of the change or
    /// with a holder that keeps it (an admin outside the change, as far as the store tells,
    /// or a written admin whose new record still has it): [`ConflictKind::Email`],
    /// [`ConflictKind::TokenHash`]. Keys that move on in the same change (two admins
    /// swapping emails, a rotation of link tokens) are free to claim.
    ///
    /// # Errors
    ///
    /// The first violation found, as above.
    ///
    /// # Examples
    ///
    /// ```
    /// use admin_mfa_ports::{
    ///     Admin, AdminId, Change, ConflictKind, Email, OrgId, StoreError, StoredKeys,
    ///     StoredState, Version,
    /// };
    /// # use admin_mfa_lifecycle::{AdminProfile, BuiltinRole, PasswordHash, UnixTime};
    ///
    /// /// A store holding nothing.
    /// struct Empty;
    /// impl StoredState for Empty {
    ///     fn stored(&self, _: AdminId) -> Option<StoredKeys<'_>> {
    ///         None
    ///     }
    /// }
    ///
    /// let org = OrgId::from_bytes([1; 16]);
    /// let new = |n: u8| {
    ///     Admin::new(AdminProfile {
    ///         id: AdminId::from_bytes([n; 16]),
    ///         org,
    ///         email: Email::parse("ada@example.com").unwrap(),
    ///         display_name: "Ada".to_owned(),
    ///         role: BuiltinRole::Administrator.into(),
    ///         password_hash: PasswordHash::new(
    ///             "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
    ///         ),
    ///         created_at: UnixTime::from_secs(1_700_000_000),
    ///     })
    /// };
    /// assert!(Change::new().insert(new(2)).validate(&Empty).is_ok());
    /// // Two inserts claiming one email.
    /// let clash = Change::new().insert(new(2)).insert(new(3)).validate(&Empty);
    /// assert!(matches!(clash, Err(StoreError::Conflict(ConflictKind::Email))));
    /// // An update of an admin the store does not hold.
    /// let missing = Change::new().update(new(2), Version::FIRST).validate(&Empty);
    /// assert!(matches!(missing, Err(StoreError::NotFound)));
    /// ```
    pub fn validate<S: StoredState + ?Sized>(&self, state: &S) -> Result<(), StoreError> {
        // The new record of every written admin, and what each write replaces.
        let written = Written::of(self);
        let mut replaced: Vec<Option<StoredKeys<'_>>> = Vec::with_capacity(self.writes.len());
        for (n, write) in self.writes.iter().enumerate() {
            let admin = write.admin();
            if written.twice(n, admin) {
                return Err(StoreError::InvalidChange("an admin is written twice"));
            }
            check_text(admin)?;
            match write {
                AdminWrite::Insert(_) => {
                    if state.stored(admin.id).is_some() {
                        return Err(StoreError::Conflict(ConflictKind::DuplicateId));
                    }
                    replaced.push(None);
                }
                AdminWrite::Update { expected, .. } => {
                    let row = state.stored(admin.id).ok_or(StoreError::NotFound)?;
                    if row.org != admin.org {
                        return Err(StoreError::InvalidChange(
                            "an update cannot move an admin to another organization",
                        ));
                    }
                    if row.version != *expected {
                        return Err(StoreError::Conflict(ConflictKind::Version));
                    }
                    replaced.push(Some(row));
                }
            }
        }
        // Unique keys after the change. The keys held before it were unique, so only a key
        // a write newly claims can clash. Most changes (a code check, a bulk require) claim
        // none, and then the map of keys held in the change is never built.
        let mut held: Option<HeldInChange<'_>> = None;
        let mut emails = HashSet::new();
        let mut tokens = HashSet::new();
        for (write, old) in self.writes.iter().zip(&replaced) {
            let admin = write.admin();
            if old.is_none_or(|o| o.email != admin.email.as_str()) {
                let holder = state.email_holder(admin.org, &admin.email).or_else(|| {
                    let held = held.get_or_insert_with(|| HeldInChange::of(self, &replaced));
                    held.emails.get(&(admin.org, admin.email.as_str())).copied()
                });
                let kept = holder.is_some_and(|h| {
                    h != admin.id && written.get(h).is_none_or(|w| w.email == admin.email)
                });
                if kept || !emails.insert((admin.org, &admin.email)) {
                    return Err(StoreError::Conflict(ConflictKind::Email));
                }
            }
            if let Some(hash) = admin.mfa.token_hash()
                && old.is_none_or(|o| o.token_hash != Some(hash))
            {
                let holder = state.token_holder(hash).or_else(|| {
                    let held = held.get_or_insert_with(|| HeldInChange::of(self, &replaced));
                    held.tokens.get(hash).copied()
                });
                let kept = holder.is_some_and(|h| {
                    h != admin.id
                        && written
                            .get(h)
                            .is_none_or(|w| w.mfa.token_hash() == Some(hash))
                });
                if kept || !tokens.insert(*hash) {
                    return Err(StoreError::Conflict(ConflictKind::TokenHash));
                }
            }
        }
        Ok(())
    }
}

/// The longest display name a store keeps, in bytes; the service refuses longer ones before
/// any store sees them.
pub const MAX_DISPLAY_NAME_BYTES: usize = 256;

/// The free-text fields of a written admin, checked alike by every store (INP-1): a NUL or
/// another control character, or an over-long name, is refused as an invalid change rather
/// than stored by one backend and failing with a driver error in another.
fn check_text(admin: &Admin) -> Result<(), StoreError> {
    if admin.display_name.len() > MAX_DISPLAY_NAME_BYTES {
        return Err(StoreError::InvalidChange(
            "a display name is longer than 256 bytes",
        ));
    }
    if has_control(&admin.display_name) {
        return Err(StoreError::InvalidChange(
            "a display name holds a control character",
        ));
    }
    if has_control(admin.password_hash.as_str()) {
        return Err(StoreError::InvalidChange(
            "a password hash holds a control character",
        ));
    }
    Ok(())
}

/// Whether `text` holds a control character (`char::is_control`). Every byte is checked for
/// an ASCII control without decoding and without an early exit, which the compiler turns
/// into wide vector compares (a password hash is about 100 bytes); only text with non-ASCII
/// characters is decoded, for the C1 controls.
fn has_control(text: &str) -> bool {
    let ascii = text
        .bytes()
        .fold(false, |found, b| found | (b < 0x20) | (b == 0x7f));
    ascii || (!text.is_ascii() && text.chars().any(char::is_control))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use admin_mfa_lifecycle::{BuiltinRole, PasswordHash, UnixTime};

    use super::*;

    /// Stored admins, answering no key holders: what a SQL store knows inside its commit.
    struct Rows(Vec<(Admin, Version)>);

    impl StoredState for Rows {
        fn stored(&self, id: AdminId) -> Option<StoredKeys<'_>> {
            self.0
                .iter()
                .find(|(a, _)| a.id == id)
                .map(|(a, v)| StoredKeys::new(a.org, *v, a.email.as_str(), a.mfa.token_hash()))
        }
    }

    fn admin(n: u8, email: &str) -> Admin {
        Admin::new(admin_mfa_lifecycle::AdminProfile {
            id: AdminId::from_bytes([n; 16]),
            org: OrgId::from_bytes([1; 16]),
            email: Email::parse(email).unwrap(),
            display_name: format!("Admin {n}"),
            role: BuiltinRole::Manager.into(),
            password_hash: PasswordHash::new(
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
            ),
            created_at: UnixTime::from_secs(1_700_000_000),
        })
    }

    fn conflict(result: Result<(), StoreError>) -> Option<ConflictKind> {
        match result {
            Err(StoreError::Conflict(kind)) => Some(kind),
            _ => None,
        }
    }

    #[test]
    fn a_key_kept_by_another_written_admin_clashes_without_holder_answers() {
        let (a, b) = (admin(1, "a@example.com"), admin(2, "b@example.com"));
        let rows = Rows(vec![
            (a.clone(), Version::FIRST),
            (b.clone(), Version::FIRST),
        ]);
        let mut claim = b.clone();
        claim.email = a.email.clone();
        let change = Change::new()
            .update(a.clone(), Version::FIRST)
            .update(claim, Version::FIRST);
        assert_eq!(conflict(change.validate(&rows)), Some(ConflictKind::Email));
    }

    #[test]
    fn a_swap_of_emails_is_free() {
        let (a, b) = (admin(1, "a@example.com"), admin(2, "b@example.com"));
        let rows = Rows(vec![
            (a.clone(), Version::FIRST),
            (b.clone(), Version::FIRST),
        ]);
        let (mut a2, mut b2) = (a.clone(), b.clone());
        a2.email = b.email.clone();
        b2.email = a.email.clone();
        let change = Change::new()
            .update(a2, Version::FIRST)
            .update(b2, Version::FIRST);
        assert!(change.validate(&rows).is_ok());
    }

    #[test]
    fn checks_run_in_write_order() {
        let a = admin(1, "a@example.com");
        let rows = Rows(vec![(a.clone(), Version::new(2))]);
        // A stale first write is reported before the second write of the same admin.
        let change = Change::new()
            .update(a.clone(), Version::FIRST)
            .update(a.clone(), Version::new(2));
        assert_eq!(
            conflict(change.validate(&rows)),
            Some(ConflictKind::Version)
        );
        let change = Change::new()
            .update(a.clone(), Version::new(2))
            .update(a.clone(), Version::new(2));
        assert!(matches!(
            change.validate(&rows),
            Err(StoreError::InvalidChange(_))
        ));
        let change = Change::new().insert(a);
        assert_eq!(
            conflict(change.validate(&rows)),
            Some(ConflictKind::DuplicateId)
        );
    }

    /// `change` with `n` inserts of other admins in front: past [`FEW_WRITES`], the written
    /// admins are found through a hash map instead of in place.
    fn padded(n: u8, change: Change) -> Change {
        let mut padded = Change::new();
        for k in 0..n {
            padded = padded.insert(admin(100 + k, &format!("pad{k}@example.com")));
        }
        padded.writes.extend(change.writes);
        padded
    }

    #[test]
    fn many_writes_get_the_same_answers_as_few() {
        let (a, b) = (admin(1, "a@example.com"), admin(2, "b@example.com"));
        let rows = Rows(vec![
            (a.clone(), Version::FIRST),
            (b.clone(), Version::FIRST),
        ]);
        let (mut a2, mut b2) = (a.clone(), b.clone());
        a2.email = b.email.clone();
        b2.email = a.email.clone();
        let mut claim = b.clone();
        claim.email = a.email.clone();
        type Expected = fn(&Result<(), StoreError>) -> bool;
        let cases: [(Change, Expected); 4] = [
            (
                Change::new()
                    .update(a2, Version::FIRST)
                    .update(b2, Version::FIRST),
                Result::is_ok,
            ),
            (
                Change::new()
                    .update(a.clone(), Version::FIRST)
                    .update(claim, Version::FIRST),
                |r| matches!(r, Err(StoreError::Conflict(ConflictKind::Email))),
            ),
            (
                Change::new()
                    .update(a.clone(), Version::FIRST)
                    .update(a.clone(), Version::FIRST),
                |r| matches!(r, Err(StoreError::InvalidChange(_))),
            ),
            (
                Change::new()
                    .insert(admin(3, "c@example.com"))
                    .insert(admin(4, "c@example.com")),
                |r| matches!(r, Err(StoreError::Conflict(ConflictKind::Email))),
            ),
        ];
        for (n, (change, expected)) in cases.into_iter().enumerate() {
            for pad in [0, 1, 20] {
                let change = padded(pad, change.clone());
                let few = change.writes.len() <= FEW_WRITES;
                let result = change.validate(&rows);
                assert!(
                    expected(&result),
                    "case {n}, {pad} padding (few: {few}): {result:?}"
                );
            }
        }
    }

    #[test]
    fn control_characters_are_found_in_ascii_and_beyond() {
        for text in [
            "a\u{0}b",
            "tab\there",
            "del\u{7f}",
            "next line \u{85}",
            "é\u{9f}",
            "\u{1}é",
        ] {
            assert!(has_control(text), "{text:?}");
        }
        for text in [
            "",
            "$argon2id$v=19$m=19456",
            "Ada Lovelace",
            "Zoë 😀",
            "\u{a0}\u{2028}",
        ] {
            assert!(!has_control(text), "{text:?}");
        }
    }
}
