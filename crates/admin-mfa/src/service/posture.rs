//! The MFA posture report: every admin's factor, last use, recovery codes, failures and
//! pending link, filtered, a page at a time or exported as CSV or JSON Lines.

use admin_mfa_lifecycle::{AuditEvent, AuditKind, Email};
use admin_mfa_policy::Action;
use admin_mfa_ports::{Change, Page, PageRequest};

use super::MfaService;
use crate::error::Result;
use crate::posture::{
    MfaPosture, PostureFilter, PostureFormat, PostureRow, csv_header, csv_row, json_row,
};
use crate::session::Authenticated;

impl MfaService {
    /// The audit record of an export of the posture report by `viewer` (POS-5).
    async fn record_posture_export(&self, viewer: &Authenticated) -> Result<()> {
        let event = AuditEvent {
            at: self.clock.now(),
            org: viewer.org,
            actor: Some(viewer.admin),
            target: viewer.admin,
            kind: AuditKind::PostureExported,
        };
        self.store.commit(Change::new().audit([event])).await?;
        tracing::info!(actor = %viewer.admin, "MFA posture report exported");
        Ok(())
    }

    /// One page of the MFA posture report: the admins of the viewer's organization that
    /// `filter` selects, in e-mail order, each with role and, where the viewer may see it
    /// (`view-admin-mfa-status` on that admin), their [`MfaPosture`]. Readable by roles the
    /// policy allows `view-mfa-posture` (in the built-in profiles: whoever sees the "Admins
    /// Without MFA Required" widget).
    ///
    /// A page holds `page.limit` rows (clamped to `1..=`[`PageRequest::MAX_LIMIT`]) unless it
    /// is the last; with a filter, filling it reads the store in its largest pages until
    /// enough admins match. Pass [`Page::next`] back as [`PageRequest::after`] for the next
    /// page, with the same filter. A page that ends with the organization's last admin has
    /// no `next`; a filtered page that ends earlier has one even when no later admin matches
    /// (the next page is then empty).
    /// [`PostureExport`] walks every page for a file.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use admin_mfa::lifecycle::{KeyId, KeyRing, SealingKey};
    /// use admin_mfa::ports::SystemClock;
    /// use admin_mfa::{
    ///     BuiltinRole, FactorStatus, LoginOutcome, MfaConfig, MfaService, NewAdmin, OrgId,
    ///     PageRequest, Password, PostureFilter, Role,
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
    /// let ada = NewAdmin {
    ///     email: "ada@example.com".into(),
    ///     display_name: "Ada".into(),
    ///     role: Role::Builtin(BuiltinRole::AdministratorWithBilling),
    ///     password: password.clone(),
    /// };
    /// service.bootstrap_admin(org, ada).await?;
    /// let LoginOutcome::Authenticated(ada) =
    ///     service.login(org, "ada@example.com", &password).await?
    /// else {
    ///     return Err("MFA is not required here".into());
    /// };
    ///
    /// let report = service
    ///     .mfa_posture(&ada, &PostureFilter::all(), PageRequest::first(100))
    ///     .await?;
    /// let posture = report.items[0].posture.ok_or("Ada sees her own posture")?;
    /// assert_eq!(posture.factor, FactorStatus::None);
    /// assert!(!posture.required && posture.recovery_codes_left.is_none());
    ///
    /// // Nobody is locked out.
    /// let locked = PostureFilter::all().locked();
    /// let report = service.mfa_posture(&ada, &locked, PageRequest::first(100)).await?;
    /// assert!(report.items.is_empty() && report.next.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for roles that may not see the report;
    /// [`Error::Forbidden`](crate::Error::Forbidden) if a policy forbids it;
    /// [`Error::SessionExpired`](crate::Error::SessionExpired) for a revoked session;
    /// infrastructure errors.
    pub async fn mfa_posture(
        &self,
        viewer: &Authenticated,
        filter: &PostureFilter,
        page: PageRequest<Email>,
    ) -> Result<Page<PostureRow, Email>> {
        let (subject, context) = self.on_admins_page(viewer, &Action::ViewMfaPosture).await?;
        let limit = page.clamped_limit();
        let now = self.clock.now();
        let filtered = *filter != PostureFilter::all();
        // A filter may skip most admins: read the store in its largest pages then, not in
        // pages of the caller's size (a page of 1 would cost a store call per admin).
        let store_limit = if filtered {
            PageRequest::<Email>::MAX_LIMIT
        } else {
            page.limit
        };
        let mut items = Vec::with_capacity(limit);
        let mut after = page.after;
        loop {
            let request = PageRequest {
                after,
                limit: store_limit,
            };
            let admins = self.store.list_admins(subject.org, request).await?;
            let more = admins.next.is_some();
            let count = admins.items.len();
            for (i, admin) in admins.items.into_iter().enumerate() {
                let visible = self.may_see_mfa_status(&subject, &admin, &context);
                let posture = visible.then(|| MfaPosture::of(&admin.mfa, now));
                let keep = match &posture {
                    Some(p) => filter.matches(p, now),
                    None => !filtered,
                };
                if keep {
                    items.push(PostureRow {
                        id: admin.id,
                        email: admin.email,
                        display_name: admin.display_name,
                        role: admin.role,
                        posture,
                    });
                    if items.len() == limit {
                        // Unless this was the organization's last admin, there may be more:
                        // a filtered report learns only by reading on, so the caller asks.
                        let last = !more && i + 1 == count;
                        let next = (!last)
                            .then(|| items.last().map(|r: &PostureRow| r.email.clone()))
                            .flatten();
                        return Ok(Page { items, next });
                    }
                }
            }
            if !more {
                return Ok(Page { items, next: None });
            }
            after = admins.next;
        }
    }
}

/// A posture report on its way out as a file: CSV or JSON Lines, produced a page at a time
/// so that an organization of any size never sits in memory at once (at most
/// [`PageRequest::MAX_LIMIT`] rows per chunk).
///
/// Each [`next_chunk`](Self::next_chunk) re-checks the viewer's session and permission, like
/// [`MfaService::mfa_posture`], so a session revoked mid-export stops it. The first chunk of a
/// CSV export starts with the header line.
///
/// ```
/// use std::sync::Arc;
/// use admin_mfa::lifecycle::{KeyId, KeyRing, SealingKey};
/// use admin_mfa::ports::SystemClock;
/// use admin_mfa::{
///     BuiltinRole, LoginOutcome, MfaConfig, MfaService, NewAdmin, OrgId, Password,
///     PostureExport, PostureFilter, PostureFormat, Role,
/// };
/// use admin_mfa_memory::{MemoryStore, RecordingMailer};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// # let config = MfaConfig::builder("ACME Admin Portal", "https://admin.example.com/mfa")
/// #     .new_admins_require_mfa(false)
/// #     .build()?;
/// # let service = MfaService::builder(
/// #     config,
/// #     Arc::new(MemoryStore::new()),
/// #     Arc::new(RecordingMailer::new()),
/// #     Arc::new(SystemClock),
/// #     Arc::new(KeyRing::new(SealingKey::new(KeyId::new(1), [7; 32]))),
/// # )
/// # .build();
/// # let org = OrgId::from_bytes([1; 16]);
/// # let password = Password::new("correct horse battery staple")?;
/// # let ada = NewAdmin {
/// #     email: "ada@example.com".into(),
/// #     display_name: "Ada".into(),
/// #     role: Role::Builtin(BuiltinRole::AdministratorWithBilling),
/// #     password: password.clone(),
/// # };
/// # service.bootstrap_admin(org, ada).await?;
/// # let LoginOutcome::Authenticated(ada) =
/// #     service.login(org, "ada@example.com", &password).await?
/// # else {
/// #     return Err("MFA is not required here".into());
/// # };
/// // `ada` is a session of an admin who may see the report.
/// let mut export = PostureExport::new(ada, PostureFilter::all(), PostureFormat::Csv);
/// let mut file = Vec::new(); // or a file, or an HTTP response body
/// while let Some(chunk) = export.next_chunk(&service).await? {
///     file.extend_from_slice(&chunk);
/// }
/// let csv = String::from_utf8(file)?;
/// assert!(csv.starts_with("admin_id,email,display_name,role,mfa_required,"));
/// assert!(csv.contains(",ada@example.com,Ada,administrator-with-billing,false,"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PostureExport {
    viewer: Authenticated,
    filter: PostureFilter,
    format: PostureFormat,
    after: Option<Email>,
    started: bool,
    done: bool,
}

impl PostureExport {
    /// An export of the report `viewer` may see, selected by `filter`, in `format`. Nothing
    /// is read until the first [`next_chunk`](Self::next_chunk).
    #[must_use]
    pub fn new(viewer: Authenticated, filter: PostureFilter, format: PostureFormat) -> Self {
        Self {
            viewer,
            filter,
            format,
            after: None,
            started: false,
            done: false,
        }
    }

    /// The next part of the file: up to [`PageRequest::MAX_LIMIT`] rows (the CSV header
    /// before the first), or `None` once everything was returned. An error ends nothing: the
    /// same call may be tried again, and continues where the export stands.
    ///
    /// The first part is returned only once the export is in the audit log
    /// ([`AuditKind::PostureExported`], POS-5): its first page is read (which checks the
    /// viewer), then the audit record is written; a failed write returns its error and the
    /// next call starts over.
    ///
    /// # Errors
    ///
    /// As [`MfaService::mfa_posture`], and a store error if the audit record is not written.
    pub async fn next_chunk(&mut self, service: &MfaService) -> Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let request = PageRequest {
            after: self.after.clone(),
            limit: PageRequest::<Email>::MAX_LIMIT,
        };
        let page = service
            .mfa_posture(&self.viewer, &self.filter, request)
            .await?;
        let mut out = String::new();
        if !self.started {
            service.record_posture_export(&self.viewer).await?;
            if self.format == PostureFormat::Csv {
                csv_header(&mut out);
            }
        }
        self.started = true;
        for row in &page.items {
            match self.format {
                PostureFormat::Csv => csv_row(&mut out, row),
                PostureFormat::JsonLines => json_row(&mut out, row),
            }
        }
        match page.next {
            Some(next) => self.after = Some(next),
            None => self.done = true,
        }
        if out.is_empty() {
            // Only the last page of a filtered JSON Lines export can be empty.
            return Ok(None);
        }
        Ok(Some(out.into_bytes()))
    }
}
