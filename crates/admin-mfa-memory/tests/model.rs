//! `MemoryStore` against a naive model: random changes (inserts and updates that move
//! emails, link tokens, requirements and roles around, some stale, some clashing) must be
//! accepted or refused exactly as the model says, and every read must agree with the model
//! afterwards. The store checks and indexes only what a change touches; the model recomputes
//! everything from scratch.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::collections::{BTreeMap, BTreeSet, HashSet};

use admin_mfa_lifecycle::BuiltinRole;
use admin_mfa_memory::MemoryStore;
use admin_mfa_ports::{
    Admin, AdminId, AdminStore, AdminWrite, Change, CommitReceipt, ConflictKind, Email,
    PageRequest, Role, StoreError, Version,
};
use admin_mfa_testkit::fixtures::{
    T0, admin, admin_id, clear_link, email_of, org, require, set_link, token_hash, unrequire,
};
use proptest::prelude::*;

const IDS: u32 = 5;
const ORGS: u8 = 2;
const EMAILS: u32 = 4;
const TOKENS: u32 = 3;
const ROLES: [Role; 2] = [
    Role::Builtin(BuiltinRole::Administrator),
    Role::Builtin(BuiltinRole::Manager),
];

/// One write of a generated change.
#[derive(Debug, Clone)]
struct Write {
    insert: bool,
    id: u32,
    org: u8,
    move_org: bool,
    email: u32,
    token: Option<u32>,
    required: bool,
    role: usize,
    stale: bool,
}

fn write() -> impl Strategy<Value = Write> {
    (
        any::<bool>(),
        0..IDS,
        0..ORGS,
        prop::bool::weighted(0.05),
        0..EMAILS,
        prop::option::of(0..TOKENS),
        any::<bool>(),
        0..ROLES.len(),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(insert, id, org, move_org, email, token, required, role, stale)| Write {
                insert,
                id,
                org,
                move_org,
                email,
                token,
                required,
                role,
                stale,
            },
        )
}

/// What the model expects of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Ok,
    Invalid,
    NotFound,
    Refused(ConflictKind),
    /// A key clash; either kind named is a valid answer when both clash.
    Clash(BTreeSet<&'static str>),
}

#[derive(Default)]
struct Model {
    admins: BTreeMap<AdminId, (Admin, Version)>,
}

impl Model {
    /// The change a generated write list stands for, given the model's current state.
    fn change(&self, writes: &[Write]) -> Change {
        let mut change = Change::new();
        for w in writes {
            let stored = self.admins.get(&admin_id(w.id));
            let home = stored.map_or(org(w.org), |(a, _)| a.org);
            let target_org = if w.move_org {
                org((w.org + 1) % ORGS)
            } else {
                home
            };
            let mut a = admin(target_org, w.id);
            a.email = email_of(w.email);
            a.role = ROLES[w.role].clone();
            if w.required {
                require(&mut a, T0);
            } else {
                unrequire(&mut a);
            }
            match w.token {
                Some(t) => set_link(&mut a, token_hash(t), T0),
                None => clear_link(&mut a),
            }
            change = if w.insert {
                change.insert(a)
            } else {
                let version = stored.map_or(Version::FIRST, |(_, v)| *v);
                let version = if w.stale {
                    Version::new(version.get().saturating_sub(1))
                } else {
                    version
                };
                change.update(a, version)
            };
        }
        change
    }

    /// Validates `change` from scratch and applies it if valid.
    fn commit(&mut self, change: &Change) -> Expect {
        let mut seen = HashSet::new();
        for write in &change.writes {
            let a = write.admin();
            if !seen.insert(a.id) {
                return Expect::Invalid;
            }
            match write {
                AdminWrite::Insert(_) => {
                    if self.admins.contains_key(&a.id) {
                        return Expect::Refused(ConflictKind::DuplicateId);
                    }
                }
                AdminWrite::Update { expected, .. } => {
                    let Some((old, version)) = self.admins.get(&a.id) else {
                        return Expect::NotFound;
                    };
                    if old.org != a.org {
                        return Expect::Invalid;
                    }
                    if version != expected {
                        return Expect::Refused(ConflictKind::Version);
                    }
                }
            }
        }
        let mut next = self.admins.clone();
        for write in &change.writes {
            let a = write.admin().clone();
            let version = next.get(&a.id).map_or(Version::FIRST, |(_, v)| v.next());
            next.insert(a.id, (a, version));
        }
        let mut clashes = BTreeSet::new();
        let mut emails = HashSet::new();
        let mut tokens = HashSet::new();
        for (a, _) in next.values() {
            if !emails.insert((a.org, a.email.clone())) {
                clashes.insert("email");
            }
            if let Some(hash) = a.mfa.token_hash()
                && !tokens.insert(*hash)
            {
                clashes.insert("token");
            }
        }
        if !clashes.is_empty() {
            return Expect::Clash(clashes);
        }
        self.admins = next;
        Expect::Ok
    }
}

fn same_outcome(expect: &Expect, got: &Result<CommitReceipt, StoreError>) -> bool {
    match (expect, got) {
        (Expect::Ok, Ok(_))
        | (Expect::Invalid, Err(StoreError::InvalidChange(_)))
        | (Expect::NotFound, Err(StoreError::NotFound)) => true,
        (Expect::Refused(want), Err(StoreError::Conflict(got))) => want == got,
        (Expect::Clash(kinds), Err(StoreError::Conflict(ConflictKind::Email))) => {
            kinds.contains("email")
        }
        (Expect::Clash(kinds), Err(StoreError::Conflict(ConflictKind::TokenHash))) => {
            kinds.contains("token")
        }
        _ => false,
    }
}

/// Every read of the store agrees with the model.
async fn assert_reads(store: &MemoryStore, model: &Model) {
    for o in (0..ORGS).map(org) {
        for n in 0..IDS {
            let id = admin_id(n);
            let want = model
                .admins
                .get(&id)
                .filter(|(a, _)| a.org == o)
                .map(|(a, v)| (a.clone(), *v));
            let got = store
                .admin(o, id)
                .await
                .unwrap()
                .map(|v| (v.value, v.version));
            assert_eq!(got, want, "admin {n} of {o:?}");
        }
        for e in 0..EMAILS {
            let address = email_of(e);
            let want = model
                .admins
                .values()
                .find(|(a, _)| a.org == o && a.email == address)
                .map(|(a, _)| a.id);
            let got = store.admin_by_email(o, &address).await.unwrap();
            assert_eq!(got.map(|v| v.value.id), want, "email {e} in {o:?}");
        }
        let listed: Vec<(Email, AdminId)> = model
            .admins
            .values()
            .filter(|(a, _)| a.org == o && !a.mfa.requirement.is_required())
            .map(|(a, _)| (a.email.clone(), a.id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(
            store.count_without_mfa_required(o).await.unwrap(),
            listed.len() as u64
        );
        let page = store
            .list_without_mfa_required(o, PageRequest::first(50))
            .await
            .unwrap();
        let got: Vec<(Email, AdminId)> =
            page.items.iter().map(|s| (s.email.clone(), s.id)).collect();
        assert_eq!(got, listed, "widget list of {o:?}");
        for role in &ROLES {
            let want = model
                .admins
                .values()
                .filter(|(a, _)| a.org == o && a.role == *role)
                .count() as u64;
            assert_eq!(store.count_with_role(o, role).await.unwrap(), want);
        }
    }
    for t in 0..TOKENS {
        let hash = token_hash(t);
        let want = model
            .admins
            .values()
            .find(|(a, _)| a.mfa.token_hash() == Some(&hash))
            .map(|(a, _)| a.id);
        let got = store.admin_by_token(&hash).await.unwrap();
        assert_eq!(got.map(|v| v.value.id), want, "token {t}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn memory_store_matches_the_model(
        changes in prop::collection::vec(prop::collection::vec(write(), 1..5), 1..24)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let store = MemoryStore::new();
            let mut model = Model::default();
            for writes in &changes {
                let change = model.change(writes);
                let expect = model.commit(&change);
                let got = store.commit(change).await;
                assert!(same_outcome(&expect, &got), "model {expect:?}, store {got:?}");
                assert_reads(&store, &model).await;
            }
        });
    }
}
