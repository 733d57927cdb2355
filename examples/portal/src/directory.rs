//! The Administrators list: every admin of the organization.
//!
//! The store port has no "list every admin" query (the library serves hosts that keep their
//! own user table), so the portal rebuilds its list from the audit log, which every admin
//! enters at creation (MFA enabled for new admins, the first one included), and reads the
//! admins themselves from the store. That is one pass over the log per page view: right for
//! a reference portal, not for an organization with a long history.

use std::collections::HashSet;

use admin_mfa::lifecycle::Admin;
use admin_mfa::{AdminId, Authenticated, PageRequest};

use crate::Portal;

/// Every admin of the viewer's organization, by e-mail address. Needs the policy's
/// `view-admin-list`, like the audit log it reads.
pub(crate) async fn all_admins(
    portal: &Portal,
    viewer: &Authenticated,
) -> Result<Vec<Admin>, admin_mfa::Error> {
    let service = portal.service();
    let mut seen = HashSet::new();
    let mut ids: Vec<AdminId> = Vec::new();
    let mut page = PageRequest::first(PageRequest::<()>::MAX_LIMIT);
    loop {
        let log = service.audit_log(viewer, page.clone()).await?;
        for event in &log.items {
            if seen.insert(event.target) {
                ids.push(event.target);
            }
        }
        match log.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    let mut admins: Vec<Admin> = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let found = service.store().admins(viewer.org(), chunk).await?;
        admins.extend(found.into_iter().flatten().map(|v| v.value));
    }
    admins.sort_by(|a, b| a.email.as_str().cmp(b.email.as_str()));
    Ok(admins)
}
