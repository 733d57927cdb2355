//! The page frame (header, navigation, stylesheet), the signed-in viewer, and the few
//! pieces several screens share.

use admin_mfa::lifecycle::Admin;
use admin_mfa::policy::{
    Action, Context, PageId, Request, Subject, Target, WidgetAccess, WidgetId,
};
use admin_mfa::{Authenticated, Email, FactorStatus, MfaStatus, Role};
use admin_mfa_axum::CurrentAdmin;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};

use crate::{ORG, PRODUCT, Portal};

/// The signed-in admin: the session cookie opened and checked against the store, and the
/// admin as stored now. Anyone else is sent to Sign in.
#[derive(Debug)]
pub(crate) struct Viewer {
    pub(crate) session: Authenticated,
    pub(crate) admin: Admin,
}

impl FromRequestParts<Portal> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, portal: &Portal) -> Result<Self, Response> {
        let to_signin = || Redirect::to("/signin").into_response();
        let CurrentAdmin(session) = CurrentAdmin::from_request_parts(parts, portal)
            .await
            .map_err(|_| to_signin())?;
        let admin = portal
            .service()
            .store()
            .admin(session.org(), session.admin())
            .await
            .ok()
            .flatten()
            .ok_or_else(to_signin)?;
        Ok(Self {
            session,
            admin: admin.value,
        })
    }
}

impl Viewer {
    fn subject(&self) -> Subject<'_> {
        Subject {
            id: self.admin.id,
            org: self.admin.org,
            role: &self.admin.role,
        }
    }

    /// Whether the policy allows `action` on `target` (to show a control or not; the service
    /// decides again when the control is used).
    pub(crate) fn may(&self, portal: &Portal, action: &Action, target: Target<'_>) -> bool {
        let context = context(portal);
        portal
            .service()
            .policy()
            .decide(&Request {
                subject: self.subject(),
                action,
                target,
                context: &context,
            })
            .allowed
    }

    /// How the viewer's role may see the "Admins Without MFA Required" widget.
    pub(crate) fn widget_access(&self, portal: &Portal) -> WidgetAccess {
        portal.service().policy().widget_access(
            self.subject(),
            WidgetId::AdminsWithoutMfaRequired,
            &context(portal),
        )
    }

    /// The frame of the viewer's pages.
    pub(crate) fn page(&self, portal: &Portal) -> Page {
        Page {
            viewer: Some(Header {
                name: self.admin.display_name.clone(),
                role: role_name(&self.admin.role),
                home: self.widget_access(portal) != WidgetAccess::NoHomePage,
                admins: self.may(
                    portal,
                    &Action::ViewAdminList,
                    Target::Page(PageId::Administrators),
                ),
                posture: self.may(
                    portal,
                    &Action::ViewMfaPosture,
                    Target::Page(PageId::Administrators),
                ),
            }),
        }
    }
}

fn context(portal: &Portal) -> Context {
    Context {
        global_mfa_required: portal.service().config().global_mfa_required(),
        awb_count: 0,
        via_login_flow: false,
    }
}

/// What the header shows of the signed-in admin.
#[derive(Debug)]
pub(crate) struct Header {
    name: String,
    role: String,
    home: bool,
    admins: bool,
    posture: bool,
}

/// The frame of a page: signed in (with navigation) or not.
#[derive(Debug)]
pub(crate) struct Page {
    viewer: Option<Header>,
}

impl Page {
    /// A page for someone not signed in.
    pub(crate) const fn anonymous(_: &str) -> Self {
        Self { viewer: None }
    }

    /// The whole document.
    pub(crate) fn render(&self, title: &str, body: Markup) -> Html<String> {
        Html(
            html! {
                (DOCTYPE)
                html lang="en" {
                    head {
                        meta charset="utf-8";
                        meta name="viewport" content="width=device-width, initial-scale=1";
                        title { (title) " · " (PRODUCT) }
                        link rel="stylesheet" href="/portal.css";
                    }
                    body {
                        header.top {
                            a.brand href="/" { (PRODUCT) }
                            @if let Some(viewer) = &self.viewer {
                                nav aria-label="Main" {
                                    @if viewer.home { a href="/home" { "Home" } }
                                    @if viewer.admins {
                                        a href="/admins" { "Administrators" }
                                        a href="/audit" { "Audit log" }
                                    }
                                    @if viewer.posture { a href="/posture" { "MFA posture" } }
                                }
                                div.me {
                                    @if viewer.admins {
                                        a.initials href="/admins" title="Administrators"
                                            aria-label=(format!("{} ({}): Administrators", viewer.name, viewer.role)) {
                                            (initials(&viewer.name))
                                        }
                                    } @else {
                                        span.initials title=(viewer.role) { (initials(&viewer.name)) }
                                    }
                                    span.who { (viewer.name) " · " (viewer.role) }
                                    form method="post" action="/signout" {
                                        button.link type="submit" { "Sign out" }
                                    }
                                }
                            }
                        }
                        main {
                            h1 { (title) }
                            (body)
                        }
                    }
                }
            }
            .into_string(),
        )
    }
}

/// A page with one message and a way on.
pub(crate) fn message_page(page: &Page, title: &str, text: &str) -> Html<String> {
    page.render(
        title,
        html! {
            p.notice role="alert" { (text) }
            p { a href="/" { "Back to the portal" } }
        },
    )
}

/// An error or notice above a form.
pub(crate) fn alert(text: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = text {
            p.error role="alert" { (text) }
        }
    }
}

/// Up to two initials of a display name.
fn initials(name: &str) -> String {
    let letters: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect::<String>()
        .to_uppercase();
    if letters.is_empty() {
        "?".into()
    } else {
        letters
    }
}

/// A role as the guide names it.
pub(crate) fn role_name(role: &Role) -> String {
    match role {
        Role::Builtin(builtin) => builtin.display_name().to_owned(),
        other => other.to_string(),
    }
}

/// An admin's MFA status, in the words of the Administrators list (a pending set-up link
/// still reads "not set up").
pub(crate) const fn mfa_status(status: MfaStatus) -> &'static str {
    match (status.factor, status.required) {
        (FactorStatus::Locked, _) => "locked",
        (FactorStatus::Enabled, true) => "required, enabled",
        (FactorStatus::None | FactorStatus::Pending, true) => "required, not set up",
        (FactorStatus::Enabled, false) => "not required, enabled",
        (FactorStatus::None | FactorStatus::Pending, false) => "not required",
    }
}

/// The admin as a short label: name and address.
pub(crate) fn label(admin: &Admin) -> String {
    named(&admin.display_name, &admin.email)
}

/// A short label from a name and an address.
pub(crate) fn named(display_name: &str, email: &Email) -> String {
    format!("{display_name} <{}>", email.as_str())
}

/// `ORG` as the only organization a page ever names.
pub(crate) const fn org() -> admin_mfa::OrgId {
    ORG
}
