//! Requests: who wants to do what to whom, in which context (docs/POLICY.md §10).

use crate::action::Action;
use crate::ids::{AdminId, OrgId, PageId, WidgetId};
use crate::role::Role;

/// The admin making the request.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct Subject<'a> {
    /// The subject's id.
    pub id: AdminId,
    /// The subject's organization.
    pub org: OrgId,
    /// The subject's role.
    pub role: &'a Role,
}

/// What a request acts on.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Target<'a> {
    /// An admin account; it is the subject itself exactly when `id == subject.id`.
    Admin {
        /// The target admin's id.
        id: AdminId,
        /// The target admin's organization.
        org: OrgId,
        /// The target admin's role.
        role: &'a Role,
    },
    /// A page of the portal, in the subject's organization.
    Page(PageId),
    /// A widget of the Home page, in the subject's organization.
    Widget(WidgetId),
    /// An organization.
    Org(OrgId),
}

/// Facts about the world the decision depends on; the host supplies them.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Context {
    /// Whether the organization requires MFA for every admin (guardrail G5).
    pub global_mfa_required: bool,
    /// How many Administrators With Billing the subject's organization has (guardrail G3).
    pub awb_count: u32,
    /// Whether the request comes from the login flow, with the password already checked
    /// (self-service actions need it).
    pub via_login_flow: bool,
}

/// One question to the engine: may `subject` perform `action` on `target` in `context`?
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct Request<'a> {
    /// Who asks.
    pub subject: Subject<'a>,
    /// What it wants to do.
    pub action: &'a Action,
    /// On what.
    pub target: Target<'a>,
    /// In which context.
    pub context: &'a Context,
}

impl Target<'_> {
    /// The organization the target belongs to; pages and widgets belong to the subject's.
    #[must_use]
    pub const fn org(&self, subject_org: OrgId) -> OrgId {
        match self {
            Self::Admin { org, .. } | Self::Org(org) => *org,
            Self::Page(_) | Self::Widget(_) => subject_org,
        }
    }
}
