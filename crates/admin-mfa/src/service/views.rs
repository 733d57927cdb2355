//! What an admin sees: the "Admins Without MFA Required" widget, its Home toggle, and the
//! audit log.

use admin_mfa_lifecycle::Email;
use admin_mfa_policy::{Action, PageId, Subject, Target, WidgetAccess, WidgetId};
use admin_mfa_ports::{AuditCursor, AuditPage, PageRequest};

use super::MfaService;
use super::types::WidgetView;
use crate::error::Result;
use crate::session::Authenticated;

impl MfaService {
    /// The "Admins Without MFA Required" widget for `viewer`: their role's access (hidden,
    /// no Home page, view only, actionable), their own display preference, and, when the
    /// role may see the widget, the count and one page of the list (ordered by email).
    ///
    /// # Errors
    ///
    /// [`Error::SessionExpired`](crate::Error::SessionExpired) for a revoked session;
    /// infrastructure errors.
    pub async fn admins_without_mfa_required(
        &self,
        viewer: &Authenticated,
        page: PageRequest<Email>,
    ) -> Result<WidgetView> {
        let subject = self.actor(viewer, false).await?;
        let context = self.policy_context(false);
        let access = self.policy.widget_access(
            Subject {
                id: subject.id,
                org: subject.org,
                role: &subject.role,
            },
            WidgetId::AdminsWithoutMfaRequired,
            &context,
        );
        let enabled = !subject.prefs.admins_without_mfa_hidden;
        let (count, admins) = match access {
            WidgetAccess::NoHomePage | WidgetAccess::Hidden => (None, None),
            WidgetAccess::ViewOnly | WidgetAccess::Actionable => {
                let count = self.store.count_without_mfa_required(subject.org).await?;
                let admins = self
                    .store
                    .list_without_mfa_required(subject.org, page)
                    .await?;
                (Some(count), Some(admins))
            }
        };
        Ok(WidgetView {
            access,
            enabled,
            count,
            admins,
        })
    }

    /// Home → Settings → "Admins Without MFA Required" on or off: the viewer's own display
    /// preference (policy action `toggle-widget`). Nobody else's view changes.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for a role without a Home page;
    /// [`Error::Forbidden`](crate::Error::Forbidden) if a policy forbids it; session and
    /// infrastructure errors.
    pub async fn set_widget_enabled(&self, viewer: &Authenticated, on: bool) -> Result<bool> {
        let subject = self.actor(viewer, false).await?;
        let context = self.policy_context(false);
        self.authorize(
            &subject,
            &Action::ToggleWidget,
            Target::Page(PageId::Home),
            &context,
        )?;
        let applied = self
            .mutate(subject.org, subject.id, Some(subject.id), |admin, _| {
                admin.prefs.admins_without_mfa_hidden = !on;
                Ok(Vec::new())
            })
            .await?;
        Ok(applied.written)
    }

    /// One page of the organization's MFA audit log, oldest first: every state change and
    /// every failed, replayed, delayed or refused code check, with actor, target and time,
    /// never a secret. Readable by roles that may view the Administrators list
    /// (`view-admin-list`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for roles that may not see the list;
    /// session and infrastructure errors.
    pub async fn audit_log(
        &self,
        viewer: &Authenticated,
        page: PageRequest<AuditCursor>,
    ) -> Result<AuditPage> {
        let subject = self.actor(viewer, false).await?;
        let context = self.policy_context(false);
        self.authorize(
            &subject,
            &Action::ViewAdminList,
            Target::Page(PageId::Administrators),
            &context,
        )?;
        Ok(self.store.audit_log(subject.org, page).await?)
    }
}
