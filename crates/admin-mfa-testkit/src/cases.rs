//! The store conformance cases. Each takes a fresh, empty store and panics on a violation.
//!
//! They are reached only through [`STORE_CASES`](crate::STORE_CASES) and
//! [`store_conformance!`](crate::store_conformance), which list them once: a case missing
//! from that list is dead code here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a conformance case fails by panicking, like a test"
)]

use std::collections::HashSet;
use std::sync::Arc;

use admin_mfa_lifecycle::{AdminId, BuiltinRole, Email, OrgId, Role, UnixTime};
use admin_mfa_ports::{
    AdminStore, AuditCursor, Change, CommitReceipt, ConflictKind, OutboxStats, PageRequest,
    StoreError, Version,
};
use tokio::sync::Barrier;

use crate::fixtures::{
    T0, admin, admin_id, audit, clear_link, email, email_of, notification, org, require, set_link,
    token_hash, unrequire,
};

fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, kind: ConflictKind) {
    match result {
        Err(StoreError::Conflict(k)) => assert_eq!(k, kind, "wrong conflict kind"),
        other => panic!("expected a {kind:?} conflict, got {other:?}"),
    }
}

async fn insert(store: &Arc<dyn AdminStore>, a: admin_mfa_lifecycle::Admin) {
    apply(store, Change::new().insert(a)).await;
}

/// Commits `change`, which must go through.
async fn apply(store: &Arc<dyn AdminStore>, change: Change) -> CommitReceipt {
    store.commit(change).await.unwrap()
}

/// The admin that `email` finds in `org`.
async fn by_email(store: &Arc<dyn AdminStore>, org: OrgId, email: &Email) -> Option<AdminId> {
    let found = store.admin_by_email(org, email).await.unwrap();
    found.map(|v| v.value.id)
}

/// The admin that link token hash `n` finds.
async fn by_token(store: &Arc<dyn AdminStore>, n: u32) -> Option<AdminId> {
    let found = store.admin_by_token(&token_hash(n)).await.unwrap();
    found.map(|v| v.value.id)
}

/// The emails the widget lists for `org` (one page of up to 100), sorted.
async fn widget_emails(store: &Arc<dyn AdminStore>, org: OrgId) -> Vec<Email> {
    let listed = store
        .list_without_mfa_required(org, PageRequest::first(100))
        .await
        .unwrap();
    let mut emails: Vec<Email> = listed.items.into_iter().map(|s| s.email).collect();
    emails.sort();
    emails
}

/// An inserted admin reads back, at version 1, by id, by email and by token hash.
pub(crate) async fn reads_by_id_email_and_token(store: Arc<dyn AdminStore>) {
    let o = org(1);
    let mut a = admin(o, 1);
    require(&mut a, T0);
    set_link(&mut a, token_hash(1), T0);
    let receipt = apply(&store, Change::new().insert(a.clone())).await;
    assert_eq!(receipt.versions, vec![(a.id, Version::FIRST)]);

    let by_id = store.admin(o, a.id).await.unwrap().expect("found by id");
    assert_eq!(by_id.value, a);
    assert_eq!(by_id.version, Version::FIRST);
    assert_eq!(by_email(&store, o, &a.email).await, Some(a.id));
    assert_eq!(by_token(&store, 1).await, Some(a.id));

    assert!(store.admin(o, admin_id(2)).await.unwrap().is_none());
    assert!(by_email(&store, o, &email_of(2)).await.is_none());
    assert!(by_token(&store, 2).await.is_none());
}

/// A batched read answers in the order asked, with `None` for a missing admin and for an
/// admin of another organization.
pub(crate) async fn batched_read_keeps_order_and_isolation(store: Arc<dyn AdminStore>) {
    let (o1, o2) = (org(1), org(2));
    apply(
        &store,
        Change::new()
            .insert(admin(o1, 1))
            .insert(admin(o1, 2))
            .insert(admin(o2, 3)),
    )
    .await;
    let ids = [
        admin_id(2),
        admin_id(9),
        admin_id(3),
        admin_id(1),
        admin_id(2),
    ];
    let found = store.admins(o1, &ids).await.unwrap();
    let got: Vec<Option<u32>> = found
        .iter()
        .map(|v| {
            v.as_ref()
                .map(|v| if v.value.id == admin_id(1) { 1 } else { 2 })
        })
        .collect();
    assert_eq!(got, vec![Some(2), None, None, Some(1), Some(2)]);
    assert!(found.iter().flatten().all(|v| v.version == Version::FIRST));
    assert!(store.admins(o1, &[]).await.unwrap().is_empty());
}

/// Batched reads and commits of thousands of admins (beyond any statement's chunk): every
/// admin found in the order asked, none of another organization, and one commit updating
/// them all.
pub(crate) async fn thousands_of_admins_in_one_read_and_one_commit(store: Arc<dyn AdminStore>) {
    const N: u32 = 3_000;
    let (o1, o2) = (org(1), org(2));
    let mut change = Change::new();
    for n in 0..N {
        change = change.insert(admin(if n % 3 == 0 { o2 } else { o1 }, n));
    }
    apply(&store, change).await;
    // Every id, in a scrambled order, and one that does not exist.
    let mut ids: Vec<AdminId> = (0..N).map(|n| admin_id((n * 7) % N)).collect();
    ids.push(admin_id(N + 1));
    let found = store.admins(o1, &ids).await.unwrap();
    assert_eq!(found.len(), ids.len());
    for (id, got) in ids.iter().zip(&found) {
        let mine = store.admin(o1, *id).await.unwrap();
        assert_eq!(got.as_ref().map(|v| v.value.id), mine.map(|v| v.value.id));
    }
    let mut change = Change::new();
    for current in found.into_iter().flatten() {
        let mut next = current.value;
        require(&mut next, T0);
        change = change.update(next, current.version);
    }
    assert_eq!(change.writes.len(), 2_000);
    let receipt = apply(&store, change).await;
    assert_eq!(receipt.versions.len(), 2_000);
    assert!(receipt.versions.iter().all(|(_, v)| *v == Version::new(2)));
    assert_eq!(store.count_without_mfa_required(o1).await.unwrap(), 0);
    assert_eq!(store.count_without_mfa_required(o2).await.unwrap(), 1_000);
}

/// Inserting an id that exists is a `DuplicateId` conflict and changes nothing.
pub(crate) async fn insert_of_existing_id_conflicts(store: Arc<dyn AdminStore>) {
    let o = org(1);
    let a = admin(o, 1);
    insert(&store, a.clone()).await;
    let mut again = a.clone();
    again.email = email("someone.else@example.com");
    assert_conflict(
        store.commit(Change::new().insert(again)).await,
        ConflictKind::DuplicateId,
    );
    let stored = store.admin(o, a.id).await.unwrap().unwrap();
    assert_eq!(stored.value, a);
    assert_eq!(stored.version, Version::FIRST);
}

/// An email is unique within an organization, and free to reuse in another.
pub(crate) async fn email_is_unique_per_org(store: Arc<dyn AdminStore>) {
    let (o1, o2) = (org(1), org(2));
    insert(&store, admin(o1, 1)).await;
    let mut same_email = admin(o1, 2);
    same_email.email = email_of(1);
    assert_conflict(
        store.commit(Change::new().insert(same_email)).await,
        ConflictKind::Email,
    );
    // Emails are normalised, so a different case is the same address.
    let mut shouted = admin(o1, 3);
    shouted.email = email(&email_of(1).as_str().to_ascii_uppercase());
    assert_conflict(
        store.commit(Change::new().insert(shouted)).await,
        ConflictKind::Email,
    );
    assert!(store.admin(o1, admin_id(2)).await.unwrap().is_none());

    let mut other_org = admin(o2, 2);
    other_org.email = email_of(1);
    insert(&store, other_org).await;
    assert_eq!(by_email(&store, o2, &email_of(1)).await, Some(admin_id(2)));
    assert_eq!(by_email(&store, o1, &email_of(1)).await, Some(admin_id(1)));
}

/// A link-token hash belongs to one admin at most, across organizations too.
pub(crate) async fn token_hash_is_unique_across_admins(store: Arc<dyn AdminStore>) {
    let mut a = admin(org(1), 1);
    set_link(&mut a, token_hash(9), T0);
    insert(&store, a).await;
    let mut b = admin(org(2), 2);
    set_link(&mut b, token_hash(9), T0);
    assert_conflict(
        store.commit(Change::new().insert(b.clone())).await,
        ConflictKind::TokenHash,
    );
    assert!(store.admin(org(2), b.id).await.unwrap().is_none());
    set_link(&mut b, token_hash(10), T0);
    insert(&store, b).await;
}

/// An update with a stale version is a `Version` conflict; the newer write survives.
pub(crate) async fn stale_version_conflicts(store: Arc<dyn AdminStore>) {
    let o = org(1);
    let a = admin(o, 1);
    insert(&store, a.clone()).await;
    let v1 = store.admin(o, a.id).await.unwrap().unwrap();

    let mut first = v1.value.clone();
    first.display_name = "First".into();
    let receipt = apply(&store, Change::new().update(first.clone(), v1.version)).await;
    assert_eq!(receipt.versions, vec![(a.id, Version::new(2))]);

    let mut second = v1.value.clone();
    second.display_name = "Second".into();
    assert_conflict(
        store.commit(Change::new().update(second, v1.version)).await,
        ConflictKind::Version,
    );
    let now = store.admin(o, a.id).await.unwrap().unwrap();
    assert_eq!(now.value.display_name, "First");
    assert_eq!(now.version, Version::new(2));
}

/// Updating an admin that does not exist is `NotFound`.
pub(crate) async fn update_of_missing_admin_is_not_found(store: Arc<dyn AdminStore>) {
    let result = store
        .commit(Change::new().update(admin(org(1), 1), Version::FIRST))
        .await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "got {result:?}"
    );
    assert!(store.admin(org(1), admin_id(1)).await.unwrap().is_none());
}

/// An update cannot move an admin to another organization.
pub(crate) async fn update_cannot_move_an_admin_to_another_org(store: Arc<dyn AdminStore>) {
    insert(&store, admin(org(1), 1)).await;
    let mut moved = admin(org(1), 1);
    moved.org = org(2);
    let result = store
        .commit(Change::new().update(moved, Version::FIRST))
        .await;
    assert!(
        matches!(result, Err(StoreError::InvalidChange(_))),
        "got {result:?}"
    );
    assert!(store.admin(org(2), admin_id(1)).await.unwrap().is_none());
    assert!(store.admin(org(1), admin_id(1)).await.unwrap().is_some());
}

/// One change may write an admin once; writing it twice is refused whole.
pub(crate) async fn admin_written_twice_in_one_change_is_invalid(store: Arc<dyn AdminStore>) {
    let a = admin(org(1), 1);
    let result = store
        .commit(
            Change::new()
                .insert(a.clone())
                .update(a.clone(), Version::FIRST),
        )
        .await;
    assert!(
        matches!(result, Err(StoreError::InvalidChange(_))),
        "got {result:?}"
    );
    assert!(store.admin(org(1), a.id).await.unwrap().is_none());
}

/// A change with one bad write applies nothing: no admin, no audit event, no email.
pub(crate) async fn change_is_all_or_nothing(store: Arc<dyn AdminStore>) {
    let o = org(1);
    let (a, b) = (admin(o, 1), admin(o, 2));
    apply(&store, Change::new().insert(a.clone()).insert(b.clone())).await;
    // Move b on, so the change below holds a stale version for it.
    let mut b2 = b.clone();
    b2.display_name = "moved on".into();
    apply(&store, Change::new().update(b2.clone(), Version::FIRST)).await;

    let mut a_new = a.clone();
    require(&mut a_new, T0);
    let mut b_stale = b.clone();
    require(&mut b_stale, T0);
    let change = Change::new()
        .update(a_new.clone(), Version::FIRST)
        .update(b_stale, Version::FIRST)
        .insert(admin(o, 3))
        .audit([audit(o, a.id, T0)])
        .notify([notification(&a_new, "atomic-1", T0)]);
    assert_conflict(store.commit(change).await, ConflictKind::Version);

    let a_now = store.admin(o, a.id).await.unwrap().unwrap();
    assert_eq!(
        a_now.value, a,
        "the valid write of a failed change was applied"
    );
    assert_eq!(a_now.version, Version::FIRST);
    assert!(store.admin(o, admin_id(3)).await.unwrap().is_none());
    let log = store.audit_log(o, PageRequest::first(100)).await.unwrap();
    assert!(log.items.is_empty(), "audit of a failed change was kept");
    assert_eq!(store.outbox_stats().await.unwrap(), OutboxStats::default());
    assert_eq!(store.count_without_mfa_required(o).await.unwrap(), 2);

    // Uniqueness is checked over the whole change too: two inserts claiming one email.
    let mut c = admin(o, 4);
    let mut d = admin(o, 5);
    c.email = email("shared@example.com");
    d.email = email("shared@example.com");
    assert_conflict(
        store.commit(Change::new().insert(c).insert(d)).await,
        ConflictKind::Email,
    );
    assert!(store.admin(o, admin_id(4)).await.unwrap().is_none());

    // The same change, fixed, goes through whole.
    let change = Change::new()
        .update(a_new.clone(), Version::FIRST)
        .audit([audit(o, a.id, T0)])
        .notify([notification(&a_new, "atomic-1", T0)]);
    let receipt = apply(&store, change).await;
    assert_eq!(receipt.queued, 1);
    assert_eq!(store.outbox_stats().await.unwrap().pending, 1);
    let log = store.audit_log(o, PageRequest::first(100)).await.unwrap();
    assert_eq!(log.items.len(), 1);
}

/// 32 tasks commit the same transition from the same version at once: exactly one wins,
/// the others get a `Version` conflict, and the winner's write is what is stored.
pub(crate) async fn thirty_two_concurrent_commits_have_one_winner(store: Arc<dyn AdminStore>) {
    const TASKS: usize = 32;
    let o = org(1);
    for round in 0..10u32 {
        let a = admin(o, round);
        insert(&store, a.clone()).await;
        let read = store.admin(o, a.id).await.unwrap().unwrap();
        let barrier = Arc::new(Barrier::new(TASKS));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..TASKS {
            let (store, barrier, read) = (store.clone(), barrier.clone(), read.clone());
            tasks.spawn(async move {
                let mut next = read.value.clone();
                next.display_name = format!("winner {i}");
                require(&mut next, T0);
                barrier.wait().await;
                (
                    i,
                    store
                        .commit(Change::new().update(next, read.version).audit([audit(
                            o,
                            read.value.id,
                            T0,
                        )]))
                        .await,
                )
            });
        }
        let mut winners = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let (i, result) = joined.unwrap();
            match result {
                Ok(_) => winners.push(i),
                Err(StoreError::Conflict(ConflictKind::Version)) => {}
                Err(other) => panic!("task {i}: unexpected {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let stored = store.admin(o, a.id).await.unwrap().unwrap();
        assert_eq!(stored.version, Version::new(2));
        assert_eq!(stored.value.display_name, format!("winner {}", winners[0]));
    }
    let log = store.audit_log(o, PageRequest::first(1000)).await.unwrap();
    assert_eq!(log.items.len(), 10, "one audit event per winning commit");
}

/// Concurrent inserts of admins with one email: exactly one is stored.
pub(crate) async fn concurrent_inserts_of_one_email_have_one_winner(store: Arc<dyn AdminStore>) {
    const TASKS: u32 = 16;
    let barrier = Arc::new(Barrier::new(TASKS as usize));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..TASKS {
        let (store, barrier) = (store.clone(), barrier.clone());
        tasks.spawn(async move {
            let mut a = admin(org(1), i);
            a.email = email("contended@example.com");
            barrier.wait().await;
            store.commit(Change::new().insert(a)).await
        });
    }
    let mut ok = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict(ConflictKind::Email)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(store.count_without_mfa_required(org(1)).await.unwrap(), 1);
}

/// A notification whose dedupe key is already in the outbox is dropped, not an error.
pub(crate) async fn outbox_drops_duplicate_dedupe_keys(store: Arc<dyn AdminStore>) {
    let a = admin(org(1), 1);
    insert(&store, a.clone()).await;
    let first = apply(
        &store,
        Change::new().notify([notification(&a, "require:1", T0)]),
    )
    .await;
    assert_eq!((first.queued, first.deduplicated), (1, 0));
    let second = apply(
        &store,
        Change::new().notify([
            notification(&a, "require:1", T0),
            notification(&a, "require:2", T0),
        ]),
    )
    .await;
    assert_eq!((second.queued, second.deduplicated), (1, 1));
    assert_eq!(store.outbox_stats().await.unwrap().pending, 2);

    // Still a duplicate after the first one was delivered.
    let leased = store.lease_outbox(T0, 60, 10).await.unwrap();
    for entry in &leased {
        store.mark_sent(entry.lease).await.unwrap();
    }
    let third = apply(
        &store,
        Change::new().notify([notification(&a, "require:1", T0)]),
    )
    .await;
    assert_eq!((third.queued, third.deduplicated), (0, 1));
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.sent), (0, 2));
}

/// 16 tasks queue a notification with one dedupe key at once, each beside one of its own:
/// the shared key is queued once and dropped 15 times, and every task's own one is queued,
/// however the store batches or serialises the commits.
pub(crate) async fn concurrent_notifications_with_one_dedupe_key_queue_once(
    store: Arc<dyn AdminStore>,
) {
    const TASKS: usize = 16;
    let a = admin(org(1), 1);
    insert(&store, a.clone()).await;
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..TASKS {
        let (store, barrier, a) = (store.clone(), barrier.clone(), a.clone());
        tasks.spawn(async move {
            let change = Change::new().notify([
                notification(&a, "burst", T0),
                notification(&a, &format!("own:{i}"), T0),
            ]);
            barrier.wait().await;
            store.commit(change).await.unwrap()
        });
    }
    let (mut queued, mut deduplicated) = (0, 0);
    while let Some(joined) = tasks.join_next().await {
        let receipt = joined.unwrap();
        queued += receipt.queued;
        deduplicated += receipt.deduplicated;
    }
    assert_eq!((queued, deduplicated), (TASKS + 1, TASKS - 1));
    assert_eq!(
        store.outbox_stats().await.unwrap().pending,
        TASKS as u64 + 1
    );
}

/// A leased entry is not leased again while its lease lives; marking needs the lease.
pub(crate) async fn outbox_lease_and_mark(store: Arc<dyn AdminStore>) {
    let a = admin(org(1), 1);
    insert(&store, a.clone()).await;
    apply(&store, Change::new().notify([notification(&a, "k1", T0)])).await;
    // Not due before it was created.
    let early = store
        .lease_outbox(UnixTime::from_secs(T0.as_secs() - 1), 60, 10)
        .await
        .unwrap();
    assert!(early.is_empty());

    let leased = store.lease_outbox(T0, 60, 10).await.unwrap();
    assert_eq!(leased.len(), 1);
    let entry = &leased[0];
    assert_eq!(entry.attempts, 1);
    assert_eq!(entry.notification, notification(&a, "k1", T0));
    assert!(store.lease_outbox(T0, 60, 10).await.unwrap().is_empty());
    assert!(
        store
            .lease_outbox(T0.saturating_add_secs(59), 60, 10)
            .await
            .unwrap()
            .is_empty()
    );

    store.mark_sent(entry.lease).await.unwrap();
    assert_conflict(store.mark_sent(entry.lease).await, ConflictKind::Lease);
    assert!(
        store
            .lease_outbox(T0.saturating_add_secs(3600), 60, 10)
            .await
            .unwrap()
            .is_empty(),
        "a sent entry was leased again"
    );
    let mut missing = entry.lease;
    missing.id.0 += 1000;
    assert!(matches!(
        store.mark_sent(missing).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.outbox_stats().await.unwrap(),
        OutboxStats {
            pending: 0,
            sent: 1,
            dead: 0
        }
    );
}

/// An expired lease can be taken over; the old lease then marks nothing. Retries wait
/// until their time; a dead entry is never leased again.
pub(crate) async fn outbox_lease_expiry_retry_and_dead(store: Arc<dyn AdminStore>) {
    let a = admin(org(1), 1);
    insert(&store, a.clone()).await;
    apply(&store, Change::new().notify([notification(&a, "k1", T0)])).await;
    let first = store.lease_outbox(T0, 60, 10).await.unwrap().remove(0);
    let later = T0.saturating_add_secs(60);
    let second = store.lease_outbox(later, 60, 10).await.unwrap().remove(0);
    assert_eq!(second.attempts, 2);
    assert_ne!(first.lease, second.lease);
    assert_conflict(store.mark_sent(first.lease).await, ConflictKind::Lease);

    let retry_at = T0.saturating_add_secs(300);
    store.mark_retry(second.lease, retry_at).await.unwrap();
    assert_conflict(store.mark_sent(second.lease).await, ConflictKind::Lease);
    assert!(
        store
            .lease_outbox(T0.saturating_add_secs(299), 60, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let third = store
        .lease_outbox(retry_at, 60, 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(third.attempts, 3);
    store.mark_dead(third.lease).await.unwrap();
    assert!(
        store
            .lease_outbox(T0.saturating_add_secs(100_000), 60, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.outbox_stats().await.unwrap(),
        OutboxStats {
            pending: 0,
            sent: 0,
            dead: 1
        }
    );
}

/// Eight dispatchers leasing at once never get the same entry twice.
pub(crate) async fn concurrent_leasing_never_hands_out_an_entry_twice(store: Arc<dyn AdminStore>) {
    const ENTRIES: u32 = 100;
    let a = admin(org(1), 1);
    insert(&store, a.clone()).await;
    let notes: Vec<_> = (0..ENTRIES)
        .map(|i| notification(&a, &format!("bulk-{i}"), T0))
        .collect();
    apply(&store, Change::new().notify(notes)).await;

    let barrier = Arc::new(Barrier::new(8));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (store, barrier) = (store.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            let mut mine = Vec::new();
            loop {
                let batch = store.lease_outbox(T0, 600, 7).await.unwrap();
                if batch.is_empty() {
                    break mine;
                }
                mine.extend(batch.into_iter().map(|e| e.notification.dedupe_key));
            }
        });
    }
    let mut seen = HashSet::new();
    while let Some(joined) = tasks.join_next().await {
        for key in joined.unwrap() {
            assert!(seen.insert(key.clone()), "{key:?} leased twice");
        }
    }
    assert_eq!(seen.len(), ENTRIES as usize);
}

/// The widget's count and list cover exactly the admins without MFA required, in email
/// order, page by page, and follow changes of the requirement.
pub(crate) async fn widget_count_listing_and_paging(store: Arc<dyn AdminStore>) {
    let o = org(1);
    let mut change = Change::new();
    let mut expected = Vec::new();
    // Inserted out of email order, so the store has to sort.
    for n in (0..120u32).rev() {
        let mut a = admin(o, n);
        if n % 8 < 3 {
            require(&mut a, T0);
        } else {
            expected.push(a.email.clone());
        }
        change = change.insert(a);
    }
    apply(&store, change).await;
    expected.sort();
    assert_eq!(expected.len(), 75);
    assert_eq!(store.count_without_mfa_required(o).await.unwrap(), 75);

    let mut listed = Vec::new();
    let mut page = PageRequest::first(20);
    let mut pages = 0;
    loop {
        let got = store
            .list_without_mfa_required(o, page.clone())
            .await
            .unwrap();
        pages += 1;
        assert!(got.items.len() <= 20);
        listed.extend(got.items.iter().map(|s| s.email.clone()));
        match got.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(listed, expected);

    // Limits are clamped, never an error.
    let one = store
        .list_without_mfa_required(o, PageRequest::first(0))
        .await
        .unwrap();
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.items[0].email, expected[0]);

    // Requiring MFA removes an admin from the widget; removing the requirement brings it back.
    let first = store
        .admin_by_email(o, &expected[0])
        .await
        .unwrap()
        .unwrap();
    let mut required = first.value.clone();
    require(&mut required, T0);
    apply(
        &store,
        Change::new().update(required.clone(), first.version),
    )
    .await;
    assert_eq!(store.count_without_mfa_required(o).await.unwrap(), 74);
    let head = store
        .list_without_mfa_required(o, PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(head.items[0].email, expected[1]);
    unrequire(&mut required);
    apply(&store, Change::new().update(required, first.version.next())).await;
    assert_eq!(store.count_without_mfa_required(o).await.unwrap(), 75);
}

/// Every page of `org`'s admin list, `limit` at a time: the admins in order and how many
/// pages it took.
async fn all_listed(
    store: &Arc<dyn AdminStore>,
    org: OrgId,
    limit: u32,
) -> (Vec<admin_mfa_lifecycle::Admin>, usize) {
    let mut listed = Vec::new();
    let mut page = PageRequest::first(limit);
    let mut pages = 0;
    loop {
        let got = store.list_admins(org, page.clone()).await.unwrap();
        pages += 1;
        assert!(got.items.len() <= page.clamped_limit());
        if got.next.is_some() {
            assert_eq!(
                got.items.len(),
                page.clamped_limit(),
                "a short page is the last"
            );
            assert_eq!(
                got.next.as_ref(),
                got.items.last().map(|a| &a.email),
                "the cursor is the last admin's email"
            );
        }
        listed.extend(got.items);
        match got.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
        assert!(pages <= 10_000, "the listing does not end");
    }
    (listed, pages)
}

/// The admin list holds every admin of the organization, required or not, in email order,
/// page by page with no admin twice and none left out, nothing of another organization,
/// and clamps its limit.
pub(crate) async fn admin_list_orders_pages_and_isolates(store: Arc<dyn AdminStore>) {
    let (o, other) = (org(1), org(2));
    let mut change = Change::new();
    let mut expected = Vec::new();
    // Inserted out of email order, with another organization's admins in between.
    for n in (0..1_005u32).rev() {
        let mut a = admin(if n % 7 == 3 { other } else { o }, n);
        if n % 3 == 0 {
            require(&mut a, T0);
        }
        if a.org == o {
            expected.push(a.clone());
        }
        change = change.insert(a);
    }
    apply(&store, change).await;
    expected.sort_by(|x, y| x.email.cmp(&y.email));
    // 144 of the numbers below 1005 are 3 modulo 7.
    let total = expected.len();
    assert_eq!(total, 1_005 - 144);

    for limit in [1, 20, total - 1, total, total + 1] {
        let (listed, pages) = all_listed(&store, o, limit as u32).await;
        assert_eq!(listed, expected, "limit {limit}");
        assert_eq!(pages, total.div_ceil(limit), "limit {limit}");
    }
    let (listed, _) = all_listed(&store, other, 50).await;
    assert_eq!(listed.len(), 144);
    assert!(listed.iter().all(|a| a.org == other));
    assert!(listed.windows(2).all(|w| w[0].email < w[1].email));

    // A cursor need not be a stored email: the page starts after it.
    let after = email("admin000500@example.com");
    let from = store
        .list_admins(
            o,
            PageRequest {
                after: Some(after.clone()),
                limit: 3,
            },
        )
        .await
        .unwrap();
    let want: Vec<&admin_mfa_lifecycle::Admin> = expected
        .iter()
        .filter(|a| a.email > after)
        .take(3)
        .collect();
    assert_eq!(from.items.iter().collect::<Vec<_>>(), want);

    // Limits are clamped, never an error: 0 lists one, and no page exceeds the maximum.
    let one = store.list_admins(o, PageRequest::first(0)).await.unwrap();
    assert_eq!(one.items, expected[..1]);
    assert_eq!(one.next, Some(expected[0].email.clone()));
    let max = store
        .list_admins(o, PageRequest::first(u32::MAX))
        .await
        .unwrap();
    let cap = PageRequest::<Email>::MAX_LIMIT as usize;
    assert_eq!(max.items, expected[..cap.min(expected.len())]);
    assert_eq!(max.next, None);
    // An organization without admins lists nothing.
    let none = store
        .list_admins(org(3), PageRequest::first(10))
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.next.is_none());
}

/// The admin list follows writes: an updated admin shows its new state, an admin whose
/// email changes leaves its old place for its new one (two admins may swap emails in one
/// change), and a refused change adds no one.
pub(crate) async fn admin_list_follows_updates(store: Arc<dyn AdminStore>) {
    let o = org(1);
    let mut change = Change::new();
    for n in 0..30u32 {
        change = change.insert(admin(o, n));
    }
    apply(&store, change).await;
    let (before, _) = all_listed(&store, o, 7).await;
    assert_eq!(before.len(), 30);

    // New state: requirement, role, display name and a pending link.
    let mut a = before[4].clone();
    require(&mut a, T0.saturating_add_secs(5));
    a.role = Role::Builtin(BuiltinRole::AdministratorWithBilling);
    a.display_name = "Renamed".to_owned();
    set_link(&mut a, token_hash(4), T0);
    apply(&store, Change::new().update(a.clone(), Version::FIRST)).await;
    let (listed, _) = all_listed(&store, o, 7).await;
    assert_eq!(listed.len(), 30);
    assert_eq!(listed[4], a);

    // An email change moves the admin: gone from its old place, listed at the new one.
    let mut moved = before[2].clone();
    moved.email = email("zz-moved@example.com");
    apply(&store, Change::new().update(moved.clone(), Version::FIRST)).await;
    let (listed, _) = all_listed(&store, o, 7).await;
    assert_eq!(listed.len(), 30);
    assert!(listed.iter().all(|x| x.email != before[2].email));
    assert_eq!(listed.last(), Some(&moved));
    assert_eq!(listed.iter().filter(|x| x.id == moved.id).count(), 1);

    // Two admins swap emails in one change: each is listed once, at the other's place.
    let (mut x, mut y) = (before[10].clone(), before[20].clone());
    std::mem::swap(&mut x.email, &mut y.email);
    apply(
        &store,
        Change::new()
            .update(x.clone(), Version::FIRST)
            .update(y.clone(), Version::FIRST),
    )
    .await;
    let (listed, _) = all_listed(&store, o, 7).await;
    assert_eq!(listed.len(), 30);
    assert!(listed.windows(2).all(|w| w[0].email < w[1].email));
    assert_eq!(listed.iter().position(|l| l.id == x.id), Some(19));
    assert_eq!(listed.iter().position(|l| l.id == y.id), Some(9));

    // A refused change (its second write is stale) lists no one new.
    let fresh = admin(o, 99);
    let refused = store
        .commit(
            Change::new()
                .insert(fresh.clone())
                .update(before[0].clone(), Version::new(7)),
        )
        .await;
    assert_conflict(refused, ConflictKind::Version);
    let (listed, _) = all_listed(&store, o, 7).await;
    assert_eq!(listed.len(), 30);
    assert!(listed.iter().all(|l| l.id != fresh.id));
}

/// The admin list carries each admin's whole MFA state, as a read by id does: the posture
/// report is built from it alone (factor with its last used step, recovery codes with one
/// spent, failure and password counters, lock, set-up deadline, pending link, e-mail log).
pub(crate) async fn admin_list_carries_the_whole_mfa_state(store: Arc<dyn AdminStore>) {
    use admin_mfa_lifecycle::{
        ActiveFactor, Factor, KeyId, LinkPurpose, Nonce, RecoveryCode, RecoveryCodes, Sealed,
        SealingKey, TimeStep, TotpParams, TotpSecret,
    };
    let o = org(1);
    let key = SealingKey::new(KeyId::new(1), [0x42; 32]);
    let secret = TotpSecret::from_bytes(&[7; 20]).unwrap();
    let mut change = Change::new();
    let mut written = Vec::new();
    for n in 0..12u32 {
        let mut a = admin(o, n);
        match n % 4 {
            0 => {}
            1 => {
                require(&mut a, T0.saturating_add_secs(u64::from(n)));
                a.mfa.setup_deadline = Some(T0.saturating_add_secs(86_400 + u64::from(n)));
                a.mfa.password_failures.consecutive = n;
                a.mfa.password_failures.last_failure_at = Some(T0);
            }
            2 => {
                require(&mut a, T0);
                set_link(&mut a, token_hash(n), T0.saturating_add_secs(u64::from(n)));
                a.mfa.email_log.record(LinkPurpose::Setup, T0, T0);
            }
            _ => {
                require(&mut a, T0);
                a.mfa.factor = Factor::Active(ActiveFactor {
                    sealed: Sealed::seal_secret(&key, Nonce::from_bytes([1; 12]), a.id, &secret)
                        .unwrap(),
                    params: TotpParams::default(),
                    enrolled_at: T0,
                    last_used_step: Some(TimeStep::new(56_666_667 + u64::from(n))),
                });
                let codes = RecoveryCodes::new(
                    (0..10_u8)
                        .map(|i| RecoveryCode::from_random(&[i; 10]))
                        .collect(),
                );
                let mut stored = codes.hashed(&key, a.id, T0);
                stored.hashes.remove(0);
                a.mfa.recovery = Some(stored);
                a.mfa.failures.consecutive = n;
                a.mfa.failures.last_failure_at = Some(T0.saturating_add_secs(1));
                a.mfa.failures.locked = n == 7;
                a.mfa.credential_epoch = u64::from(n);
            }
        }
        written.push(a.clone());
        change = change.insert(a);
    }
    apply(&store, change).await;
    let (listed, _) = all_listed(&store, o, 5).await;
    assert_eq!(listed.len(), written.len());
    for a in &written {
        let read = store.admin(o, a.id).await.unwrap().unwrap().value;
        assert_eq!(&read, a, "read by id");
        let item = listed.iter().find(|l| l.id == a.id).unwrap();
        assert_eq!(item, a, "listed");
    }
    let spent = listed.iter().filter_map(|l| l.mfa.recovery.as_ref());
    assert!(spent.clone().count() == 3 && spent.into_iter().all(|r| r.remaining() == 9));
}

/// Nothing of one organization is visible through another's calls.
pub(crate) async fn tenant_isolation(store: Arc<dyn AdminStore>) {
    let (oa, ob) = (org(1), org(2));
    let a = admin(oa, 1);
    let mut b = admin(ob, 2);
    b.role = Role::Builtin(BuiltinRole::AdministratorWithBilling);
    apply(
        &store,
        Change::new()
            .insert(a.clone())
            .insert(b.clone())
            .audit([audit(oa, a.id, T0), audit(ob, b.id, T0)]),
    )
    .await;

    assert!(store.admin(ob, a.id).await.unwrap().is_none());
    assert!(by_email(&store, ob, &a.email).await.is_none());
    assert_eq!(store.count_without_mfa_required(oa).await.unwrap(), 1);
    assert_eq!(store.count_without_mfa_required(ob).await.unwrap(), 1);
    assert_eq!(store.count_without_mfa_required(org(3)).await.unwrap(), 0);
    let listed = store
        .list_without_mfa_required(ob, PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(
        listed.items.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![b.id]
    );
    let awb = Role::Builtin(BuiltinRole::AdministratorWithBilling);
    assert_eq!(store.count_with_role(oa, &awb).await.unwrap(), 0);
    assert_eq!(store.count_with_role(ob, &awb).await.unwrap(), 1);
    let log = store.audit_log(oa, PageRequest::first(100)).await.unwrap();
    assert_eq!(log.items.len(), 1);
    assert!(log.items.iter().all(|e| e.org == oa && e.target == a.id));
    assert!(
        store
            .audit_log(org(3), PageRequest::first(100))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// Times come back exactly as written, from the epoch to the year 9999.
pub(crate) async fn times_round_trip_exactly(store: Arc<dyn AdminStore>) {
    let o = org(1);
    let times = [
        0,
        1,
        59,
        1_111_111_109,
        2_000_000_000,
        20_000_000_000,
        253_402_300_799,
    ];
    let mut change = Change::new();
    for (n, secs) in (0u32..).zip(times) {
        let at = UnixTime::from_secs(secs);
        let mut a = admin(o, n);
        a.created_at = at;
        require(&mut a, at);
        set_link(&mut a, token_hash(n), at);
        change = change
            .audit([audit(o, a.id, at)])
            .notify([notification(&a, &format!("time-{n}"), at)])
            .insert(a);
    }
    apply(&store, change).await;
    for (n, secs) in (0u32..).zip(times) {
        let at = UnixTime::from_secs(secs);
        let stored = store.admin(o, admin_id(n)).await.unwrap().unwrap().value;
        let mut expected = admin(o, n);
        expected.created_at = at;
        require(&mut expected, at);
        set_link(&mut expected, token_hash(n), at);
        assert_eq!(stored, expected, "admin {n} at {secs}");
    }
    let log = store.audit_log(o, PageRequest::first(100)).await.unwrap();
    let logged: Vec<u64> = log.items.iter().map(|e| e.at.as_secs()).collect();
    assert_eq!(logged, times);
    let leased = store
        .lease_outbox(UnixTime::from_secs(times[times.len() - 1]), 60, 100)
        .await
        .unwrap();
    let mut created: Vec<u64> = leased
        .iter()
        .map(|e| e.notification.created_at.as_secs())
        .collect();
    created.sort_unstable();
    assert_eq!(created, times);
}

/// The audit log reads back in commit order, page by page, per organization.
pub(crate) async fn audit_log_pages_in_commit_order(store: Arc<dyn AdminStore>) {
    let o = org(1);
    let a = admin(o, 1);
    insert(&store, a.clone()).await;
    for i in 0..25u64 {
        apply(
            &store,
            Change::new().audit([audit(o, a.id, T0.saturating_add_secs(i))]),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut page: PageRequest<AuditCursor> = PageRequest::first(10);
    loop {
        let got = store.audit_log(o, page.clone()).await.unwrap();
        assert!(got.items.len() <= 10);
        seen.extend(got.items.iter().map(|e| e.at.as_secs() - T0.as_secs()));
        match got.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, (0..25).collect::<Vec<u64>>());
}

/// Role counts (the policy's `awb_count`) follow inserts and role changes.
pub(crate) async fn role_counts_follow_role_changes(store: Arc<dyn AdminStore>) {
    let o = org(1);
    let awb = Role::Builtin(BuiltinRole::AdministratorWithBilling);
    let plain = Role::Builtin(BuiltinRole::Administrator);
    let mut a = admin(o, 1);
    a.role = awb.clone();
    apply(&store, Change::new().insert(a.clone()).insert(admin(o, 2))).await;
    assert_eq!(store.count_with_role(o, &awb).await.unwrap(), 1);
    assert_eq!(store.count_with_role(o, &plain).await.unwrap(), 1);
    a.role = plain.clone();
    apply(&store, Change::new().update(a, Version::FIRST)).await;
    assert_eq!(store.count_with_role(o, &awb).await.unwrap(), 0);
    assert_eq!(store.count_with_role(o, &plain).await.unwrap(), 2);
}

/// The token lookup follows the pending link: a replaced or removed link no longer finds
/// the admin, and a freed hash can be used by another admin.
pub(crate) async fn token_index_follows_link_changes(store: Arc<dyn AdminStore>) {
    let o = org(1);
    let mut a = admin(o, 1);
    set_link(&mut a, token_hash(1), T0);
    insert(&store, a.clone()).await;
    set_link(&mut a, token_hash(2), T0);
    apply(&store, Change::new().update(a.clone(), Version::FIRST)).await;
    assert!(by_token(&store, 1).await.is_none());
    assert_eq!(
        store
            .admin_by_token(&token_hash(2))
            .await
            .unwrap()
            .map(|v| v.version),
        Some(Version::new(2))
    );
    clear_link(&mut a);
    apply(&store, Change::new().update(a, Version::new(2))).await;
    assert!(by_token(&store, 2).await.is_none());

    let mut b = admin(o, 2);
    set_link(&mut b, token_hash(2), T0);
    insert(&store, b).await;
    assert_eq!(by_token(&store, 2).await, Some(admin_id(2)));
}

/// Changing an email moves the lookup, and two admins can swap emails in one change.
pub(crate) async fn email_index_follows_email_changes(store: Arc<dyn AdminStore>) {
    let o = org(1);
    let (mut a, mut b) = (admin(o, 1), admin(o, 2));
    apply(&store, Change::new().insert(a.clone()).insert(b.clone())).await;
    a.email = email("renamed@example.com");
    apply(&store, Change::new().update(a.clone(), Version::FIRST)).await;
    assert!(by_email(&store, o, &email_of(1)).await.is_none());
    assert_eq!(by_email(&store, o, &a.email).await, Some(a.id));

    // A swap is valid as a whole even though each half alone would collide.
    let (ea, eb) = (a.email.clone(), b.email.clone());
    a.email = eb.clone();
    b.email = ea.clone();
    apply(
        &store,
        Change::new()
            .update(a.clone(), Version::new(2))
            .update(b.clone(), Version::FIRST),
    )
    .await;
    assert_eq!(by_email(&store, o, &eb).await, Some(a.id));
    assert_eq!(by_email(&store, o, &ea).await, Some(b.id));
    // The widget list follows the new emails as well.
    let mut want = vec![ea, eb];
    want.sort();
    assert_eq!(widget_emails(&store, o).await, want);
}

/// Unique keys are checked on the change as a whole: a key another written admin keeps, or
/// that two writes claim, is a conflict (and nothing is written), while keys that move on
/// in the same change (a rotation of emails, a swap of link tokens) are free to claim.
pub(crate) async fn key_claims_within_one_change(store: Arc<dyn AdminStore>) {
    let o = org(1);
    let (mut a, mut b) = (admin(o, 1), admin(o, 2));
    set_link(&mut a, token_hash(1), T0);
    set_link(&mut b, token_hash(2), T0);
    apply(&store, Change::new().insert(a.clone()).insert(b.clone())).await;

    // b claims a's email while a is rewritten but keeps it.
    let mut kept = a.clone();
    kept.display_name = "Still A".to_owned();
    let mut claim = b.clone();
    claim.email = a.email.clone();
    assert_conflict(
        store
            .commit(
                Change::new()
                    .update(kept.clone(), Version::FIRST)
                    .update(claim, Version::FIRST),
            )
            .await,
        ConflictKind::Email,
    );
    // a claims b's token while b is rewritten but keeps it (in either order).
    let mut claim = a.clone();
    set_link(&mut claim, token_hash(2), T0);
    let mut kept_b = b.clone();
    kept_b.display_name = "Still B".to_owned();
    assert_conflict(
        store
            .commit(
                Change::new()
                    .update(kept_b, Version::FIRST)
                    .update(claim, Version::FIRST),
            )
            .await,
        ConflictKind::TokenHash,
    );
    // Two new admins claim one free email.
    let (mut c, mut d) = (admin(o, 3), admin(o, 4));
    d.email = c.email.clone();
    assert_conflict(
        store
            .commit(Change::new().insert(c.clone()).insert(d.clone()))
            .await,
        ConflictKind::Email,
    );
    // Nothing of the refused changes was written.
    for (who, name) in [(&a, "Admin 1"), (&b, "Admin 2")] {
        let stored = store.admin(o, who.id).await.unwrap().unwrap();
        assert_eq!(stored.version, Version::FIRST);
        assert_eq!(stored.value.display_name, name);
    }
    assert!(store.admin(o, c.id).await.unwrap().is_none());
    assert!(store.admin(o, d.id).await.unwrap().is_none());

    // A rotation: a takes b's email, b a new one, and a new admin takes a's old one; the
    // link tokens of a and b swap in the same change.
    let (ea, eb) = (a.email.clone(), b.email.clone());
    a.email = eb.clone();
    b.email = email("rotated@example.com");
    c.email = ea.clone();
    set_link(&mut a, token_hash(2), T0);
    set_link(&mut b, token_hash(1), T0);
    apply(
        &store,
        Change::new()
            .insert(c.clone())
            .update(a.clone(), Version::FIRST)
            .update(b.clone(), Version::FIRST),
    )
    .await;
    assert_eq!(by_email(&store, o, &ea).await, Some(c.id));
    assert_eq!(by_email(&store, o, &eb).await, Some(a.id));
    assert_eq!(by_email(&store, o, &b.email).await, Some(b.id));
    assert_eq!(by_token(&store, 1).await, Some(b.id));
    assert_eq!(by_token(&store, 2).await, Some(a.id));
    // The widget lists the three admins under their new emails.
    let mut want = vec![a.email.clone(), b.email.clone(), c.email.clone()];
    want.sort();
    assert_eq!(widget_emails(&store, o).await, want);
    assert_eq!(store.count_without_mfa_required(o).await.unwrap(), 3);
}

/// REC-2, REC-3: a recovery set reads back exactly, and one code is used once: sixteen
/// writers decide the same code on the same read and commit at once; exactly one commit
/// goes through (the version check), and on the stored state the code is gone.
pub(crate) async fn recovery_code_is_used_once_by_compare_and_swap(store: Arc<dyn AdminStore>) {
    use admin_mfa_lifecycle::{
        ActiveFactor, Code, Command, DecideContext, Event, Factor, KeyId, KeyRing, LifecycleConfig,
        Nonce, RecoveryCode, RecoveryCodes, Sealed, SealingKey, TotpParams, TotpSecret, execute,
    };
    const TASKS: usize = 16;
    let o = org(1);
    let key = SealingKey::new(KeyId::new(1), [0x42; 32]);
    let ring = KeyRing::new(key.clone());
    let config = LifecycleConfig::default();
    let codes = RecoveryCodes::new(
        (0..10_u8)
            .map(|i| RecoveryCode::from_random(&[i; 10]))
            .collect(),
    );
    let mut a = admin(o, 1);
    let secret = TotpSecret::from_bytes(&[7; 20]).unwrap();
    a.mfa.factor = Factor::Active(ActiveFactor {
        sealed: Sealed::seal_secret(&key, Nonce::from_bytes([1; 12]), a.id, &secret).unwrap(),
        params: TotpParams::default(),
        enrolled_at: T0,
        last_used_step: None,
    });
    a.mfa.recovery = Some(codes.hashed(&key, a.id, T0));
    insert(&store, a.clone()).await;
    let read = store.admin(o, a.id).await.unwrap().unwrap();
    assert_eq!(read.value, a, "the recovery set reads back exactly");

    let typed = codes.formatted().nth(3).unwrap().to_string();
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..TASKS {
        let (store, barrier, read, ring, config, typed) = (
            store.clone(),
            barrier.clone(),
            read.clone(),
            ring.clone(),
            config.clone(),
            typed.clone(),
        );
        tasks.spawn(async move {
            let ctx = DecideContext::new(read.value.id, &config, &ring);
            let command = Command::VerifyRecoveryCode {
                code: Code::new(typed),
            };
            let (state, events) = execute(&read.value.mfa, command, T0, &ctx).unwrap();
            assert!(matches!(
                events.as_slice(),
                [Event::RecoveryCodeUsed { .. }]
            ));
            let mut next = read.value.clone();
            next.mfa = state;
            barrier.wait().await;
            (
                i,
                store.commit(Change::new().update(next, read.version)).await,
            )
        });
    }
    let mut winners = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, result) = joined.unwrap();
        match result {
            Ok(_) => winners.push(i),
            Err(StoreError::Conflict(ConflictKind::Version)) => {}
            Err(other) => panic!("task {i}: unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners {winners:?}");
    let stored = store.admin(o, a.id).await.unwrap().unwrap();
    assert_eq!(stored.version, Version::new(2));
    assert_eq!(stored.value.mfa.recovery_codes_left(), 9);
    let ctx = DecideContext::new(a.id, &config, &ring);
    let again = Command::VerifyRecoveryCode {
        code: Code::new(typed),
    };
    let (_, events) = execute(&stored.value.mfa, again, T0, &ctx).unwrap();
    assert!(matches!(events.as_slice(), [Event::VerifyFailed { .. }]));
}

/// DL-3: an outbox entry is delivered no earlier than its `created_at` (set-up reminders are
/// queued with the time they are due): a lease a second early gets nothing, a lease at that
/// time gets it, and the entry outlives nothing but its own delivery.
pub(crate) async fn outbox_holds_an_entry_until_its_created_at(store: Arc<dyn AdminStore>) {
    let o = org(1);
    let a = admin(o, 1);
    insert(&store, a.clone()).await;
    let due = T0.saturating_add_secs(3 * 86_400);
    let receipt = apply(
        &store,
        Change::new().notify([notification(&a, "now", T0), notification(&a, "later", due)]),
    )
    .await;
    assert_eq!(receipt.queued, 2);
    let now = store.lease_outbox(T0, 60, 10).await.unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].notification.dedupe_key.as_str(), "now");
    store.mark_sent(now[0].lease).await.unwrap();
    let early = UnixTime::from_secs(due.as_secs() - 1);
    assert!(store.lease_outbox(early, 60, 10).await.unwrap().is_empty());
    let later = store.lease_outbox(due, 60, 10).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].notification.created_at, due);
    assert_eq!(
        store.outbox_stats().await.unwrap(),
        OutboxStats {
            pending: 1,
            sent: 1,
            dead: 0
        }
    );
}
