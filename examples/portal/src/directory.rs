//! The Administrators list: every admin of the organization, read a page at a time through
//! the service's `list_admins`, which checks the viewer's `view-admin-list` and leaves out
//! the MFA status of admins whose status the viewer may not see.

use admin_mfa::{AdminListItem, Authenticated, PageRequest};

use crate::Portal;

/// Every admin of the viewer's organization, by e-mail address. Needs the policy's
/// `view-admin-list`.
pub(crate) async fn all_admins(
    portal: &Portal,
    viewer: &Authenticated,
) -> Result<Vec<AdminListItem>, admin_mfa::Error> {
    let service = portal.service();
    let mut admins = Vec::new();
    let mut page = PageRequest::first(PageRequest::<()>::MAX_LIMIT);
    loop {
        let listed = service.list_admins(viewer, page.clone()).await?;
        admins.extend(listed.items);
        match listed.next {
            Some(next) => page.after = Some(next),
            None => return Ok(admins),
        }
    }
}
