//! What an admin sees: the "Admins Without MFA Required" widget, its Home toggle, the
//! Administrators list and the audit log.

use admin_mfa_lifecycle::{Admin, Email};
use admin_mfa_policy::{
    Action, Context as PolicyContext, PageId, Subject, Target, WidgetAccess, WidgetId,
};
use admin_mfa_ports::{AuditCursor, AuditPage, Page, PageRequest};

use super::MfaService;
use super::types::{AdminListItem, MfaStatus, WidgetView};
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
        let (subject, _) = self.on_admins_page(viewer, &Action::ViewAdminList).await?;
        Ok(self.store.audit_log(subject.org, page).await?)
    }

    /// One page of the Administrators list: every admin of the viewer's organization, in
    /// e-mail order, with role and, where the viewer may see it (`view-admin-mfa-status` on
    /// that admin), MFA status. Readable by roles that may view the Administrators list
    /// (`view-admin-list`), like [`audit_log`](Self::audit_log). Nothing secret is returned.
    ///
    /// Pass [`Page::next`](crate::Page::next) back as [`PageRequest::after`] for the next
    /// page; the limit is clamped to `1..=`[`PageRequest::MAX_LIMIT`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use admin_mfa::lifecycle::{KeyId, KeyRing, SealingKey};
    /// use admin_mfa::ports::SystemClock;
    /// use admin_mfa::{
    ///     BuiltinRole, FactorStatus, LoginOutcome, MfaConfig, MfaService, NewAdmin, OrgId,
    ///     PageRequest, Password, Role,
    /// };
    /// use admin_mfa_memory::{MemoryStore, RecordingMailer};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let config = MfaConfig::builder("ACME Admin Portal", "https://admin.example.com/mfa")
    ///     .new_admins_require_mfa(false)
    ///     .build()?;
    /// let service = MfaService::builder(
    ///     config,
    ///     Arc::new(MemoryStore::new()),
    ///     Arc::new(RecordingMailer::new()),
    ///     Arc::new(SystemClock),
    ///     Arc::new(KeyRing::new(SealingKey::new(KeyId::new(1), [7; 32]))),
    /// )
    /// .build();
    /// let org = OrgId::from_bytes([1; 16]);
    /// let password = Password::new("correct horse battery staple")?;
    /// let new = |email: &str, name: &str, role| NewAdmin {
    ///     email: email.into(),
    ///     display_name: name.into(),
    ///     role: Role::Builtin(role),
    ///     password: password.clone(),
    /// };
    /// service
    ///     .bootstrap_admin(org, new("ada@example.com", "Ada", BuiltinRole::AdministratorWithBilling))
    ///     .await?;
    /// let LoginOutcome::Authenticated(ada) =
    ///     service.login(org, "ada@example.com", &password).await?
    /// else {
    ///     return Err("MFA is not required here".into());
    /// };
    /// service
    ///     .create_admin(&ada, new("bob@example.com", "Bob", BuiltinRole::ReadOnly))
    ///     .await?;
    ///
    /// // Every admin, a page at a time.
    /// let mut page = PageRequest::first(1);
    /// let mut names = Vec::new();
    /// loop {
    ///     let list = service.list_admins(&ada, page.clone()).await?;
    ///     for admin in &list.items {
    ///         let mfa = admin.mfa.ok_or("Ada sees every MFA status")?;
    ///         assert!(!mfa.required && mfa.factor == FactorStatus::None);
    ///         names.push(admin.display_name.clone());
    ///     }
    ///     match list.next {
    ///         Some(next) => page.after = Some(next),
    ///         None => break,
    ///     }
    /// }
    /// assert_eq!(names, ["Ada", "Bob"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for roles that may not see the list;
    /// [`Error::Forbidden`](crate::Error::Forbidden) if a policy forbids it; session and
    /// infrastructure errors.
    pub async fn list_admins(
        &self,
        viewer: &Authenticated,
        page: PageRequest<Email>,
    ) -> Result<Page<AdminListItem, Email>> {
        let (subject, context) = self.on_admins_page(viewer, &Action::ViewAdminList).await?;
        let admins = self.store.list_admins(subject.org, page).await?;
        let now = self.clock.now();
        let items = admins
            .items
            .into_iter()
            .map(|admin| {
                let visible = self.may_see_mfa_status(&subject, &admin, &context);
                let mfa = visible.then(|| MfaStatus::of(&admin.mfa, now));
                AdminListItem {
                    id: admin.id,
                    email: admin.email,
                    display_name: admin.display_name,
                    role: admin.role,
                    mfa,
                }
            })
            .collect();
        Ok(Page {
            items,
            next: admins.next,
        })
    }

    /// Whether `viewer` may see `admin`'s MFA status (`view-admin-mfa-status` on that
    /// admin): what a list shows of each row.
    pub(super) fn may_see_mfa_status(
        &self,
        viewer: &Admin,
        admin: &Admin,
        context: &PolicyContext,
    ) -> bool {
        let target = Target::Admin {
            id: admin.id,
            org: admin.org,
            role: &admin.role,
        };
        self.decide(viewer, &Action::ViewAdminMfaStatus, target, context)
            .allowed
    }

    /// The viewer as stored now, allowed `action` on the Administrators page (a view, so no
    /// recent login is asked for), and the policy context the page's other decisions use.
    pub(super) async fn on_admins_page(
        &self,
        viewer: &Authenticated,
        action: &Action,
    ) -> Result<(Admin, PolicyContext)> {
        let subject = self.actor(viewer, false).await?;
        let context = self.policy_context(false);
        self.authorize(
            &subject,
            action,
            Target::Page(PageId::Administrators),
            &context,
        )?;
        Ok((subject, context))
    }
}
