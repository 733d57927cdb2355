//! The Administrators list (`MfaService::list_admins`) on every store: every admin of the
//! viewer's organization in e-mail order, page by page, with role and MFA status, gated by
//! `view-admin-list` (and each status by `view-admin-mfa-status`).

use std::collections::HashSet;

use admin_mfa::{
    AdminId, AdminListItem, Authenticated, BuiltinRole as R, Error, FactorStatus, MfaService,
    MfaStatus, PageRequest,
};

use crate::backends::{Backend, on_every_store};
use crate::common::*;

/// Every page of the list `viewer` sees from `svc`, `limit` at a time.
async fn whole_list(
    svc: &MfaService,
    viewer: &Authenticated,
    limit: u32,
) -> Result<Vec<AdminListItem>, Error> {
    let mut items = Vec::new();
    let mut page = PageRequest::first(limit);
    loop {
        let got = svc.list_admins(viewer, page.clone()).await?;
        assert!(got.items.len() <= page.clamped_limit());
        items.extend(got.items);
        match got.next {
            Some(next) => page.after = Some(next),
            None => return Ok(items),
        }
    }
}

const fn status(required: bool, factor: FactorStatus) -> Option<(bool, FactorStatus)> {
    Some((required, factor))
}

fn shown(item: &AdminListItem) -> Option<(bool, FactorStatus)> {
    item.mfa.map(
        |MfaStatus {
             required, factor, ..
         }| (required, factor),
    )
}

/// Every admin of the organization, each once, in e-mail order, whatever the page size;
/// each with role and the MFA status of its state (none, pending link, enabled, locked);
/// another organization's admins never; and no page larger than the clamp.
async fn lists_every_admin_in_order_with_status(b: Backend) {
    let h = b.h().await;
    let viewer = h.seed(1, R::Administrator).await;
    let plain = h.seed(2, R::ReadOnly).await;
    let pending = h.seed(3, R::Manager).await;
    let (enabled, _) = h.enrolled(4, R::HelpDesk).await;
    let (locked, _) = h.enrolled(5, R::CommandRunner).await;
    h.lock(locked).await;
    for n in 6..40 {
        h.seed(n, R::BillingOnly).await;
    }
    for n in 1..5 {
        h.seed_in(other_org(), n, R::Administrator).await;
    }
    let session = h.session(viewer).await;
    assert!(h.svc.enable_mfa(&session, pending).await.unwrap().changed);

    let mut expected: Vec<(AdminId, String)> = Vec::new();
    for n in 1..40 {
        let a = h.get(id_of(h.org, n)).await;
        expected.push((a.id, a.email.as_str().to_owned()));
    }
    expected.sort_by(|x, y| x.1.cmp(&y.1));
    for limit in [0, 1, 7, 39, 1_000, u32::MAX] {
        let items = whole_list(&h.svc, &session, limit).await.unwrap();
        let got: Vec<(AdminId, String)> = items
            .iter()
            .map(|i| (i.id, i.email.as_str().to_owned()))
            .collect();
        assert_eq!(got, expected, "limit {limit}");
        let ids: HashSet<AdminId> = items.iter().map(|i| i.id).collect();
        assert_eq!(
            ids.len(),
            items.len(),
            "limit {limit}: an admin listed twice"
        );
    }
    let one = h
        .svc
        .list_admins(&session, PageRequest::first(0))
        .await
        .unwrap();
    assert_eq!(one.items.len(), 1);

    let items = whole_list(&h.svc, &session, 10).await.unwrap();
    let item = |id: AdminId| items.iter().find(|i| i.id == id).unwrap();
    let stored = h.get(pending).await;
    assert_eq!(item(pending).display_name, stored.display_name);
    assert_eq!(item(pending).role, role(R::Manager));
    assert_eq!(item(viewer).role, role(R::Administrator));
    assert_eq!(shown(item(plain)), status(false, FactorStatus::None));
    assert_eq!(shown(item(pending)), status(true, FactorStatus::Pending));
    assert_eq!(shown(item(enabled)), status(true, FactorStatus::Enabled));
    assert_eq!(shown(item(locked)), status(true, FactorStatus::Locked));

    // A pending link that expires no longer counts as pending.
    let expires = h.get(pending).await.mfa.link.unwrap().expires_at;
    h.advance(expires.as_secs() - h.now().as_secs());
    let session = h.session(viewer).await;
    let items = whole_list(&h.svc, &session, 10).await.unwrap();
    let now_pending = items.iter().find(|i| i.id == pending).unwrap();
    assert_eq!(shown(now_pending), status(true, FactorStatus::None));

    // Nothing secret reaches the list, not even through `Debug`.
    let debug = format!("{items:?}");
    assert!(!debug.contains("argon2"), "{debug}");
}

/// Roles that may not view the Administrators list are refused, as for the audit log,
/// and a session ended by a credential change is refused too.
async fn roles_without_the_admin_list_are_refused(b: Backend) {
    let h = b.h().await;
    h.seed(1, R::Administrator).await;
    for (r, session) in h.sessions_of(2, &OUTSIDE_ADMIN_PAGE).await {
        let listed = h.svc.list_admins(&session, PageRequest::first(10)).await;
        let audit = h.svc.audit_log(&session, PageRequest::first(10)).await;
        assert!(matches!(listed, Err(Error::NotFound)), "{r:?}: {listed:?}");
        assert!(matches!(audit, Err(Error::NotFound)), "{r:?}");
    }
    for (r, session) in h.sessions_of(5, &READERS_OF_ADMIN_PAGE).await {
        let listed = h.svc.list_admins(&session, PageRequest::first(100)).await;
        assert_eq!(listed.unwrap().items.len(), 7, "{r:?}: everyone seeded");
    }
    // A session from before a credential change is over.
    let session = h.session(id_of(h.org, 1)).await;
    h.end_sessions(id_of(h.org, 1)).await;
    let listed = h.svc.list_admins(&session, PageRequest::first(10)).await;
    assert!(matches!(listed, Err(Error::SessionExpired)), "{listed:?}");
}

/// A role the policy lets see the list but not some admins' MFA status gets those rows
/// without a status (`view-admin-mfa-status` is decided per admin).
async fn mfa_status_follows_view_admin_mfa_status(b: Backend) {
    let h = b.h().await;
    let manager = h.seed(1, R::Manager).await;
    let awb = h.seed(2, R::AdministratorWithBilling).await;
    let other = h.seed(3, R::HelpDesk).await;
    let svc = h.managers_blind_to_awb_status();
    let session = h.session(manager).await;
    let items = whole_list(&svc, &session, 2).await.unwrap();
    assert_eq!(items.len(), 3);
    for item in &items {
        if item.id == awb {
            assert_eq!(item.mfa, None);
        } else {
            assert!(item.mfa.is_some(), "{:?}", item.id);
        }
    }
    assert!(items.iter().any(|i| i.id == other));
    // The default policy shows every status to a Manager.
    let items = whole_list(&h.svc, &session, 2).await.unwrap();
    assert!(items.iter().all(|i| i.mfa.is_some()));
}

on_every_store!(
    lists_every_admin_in_order_with_status,
    roles_without_the_admin_list_are_refused,
    mfa_status_follows_view_admin_mfa_status,
);
