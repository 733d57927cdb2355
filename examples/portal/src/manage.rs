//! The signed-in screens: Home with the "Admins Without MFA Required" widget and its
//! settings, the widget's list with Actions → Require MFA, the Administrators list, Details
//! (Enable MFA, Reset MFA, Unlock), a new administrator, and the audit log.

use std::collections::HashMap;

use admin_mfa::lifecycle::{Admin, AuditKind};
use admin_mfa::policy::{Action, PageId, Target, WidgetAccess};
use admin_mfa::{
    AdminId, AdminListItem, BuiltinRole, BulkItem, Email, Error, MfaStatus, NewAdmin, PageRequest,
    Password,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use crate::Portal;
use crate::directory::all_admins;
use crate::error::{PageResult, explain, time};
use crate::fields::{Fields, Params};
use crate::views::{Viewer, alert, label, message_page, mfa_status, named, org, role_name};

/// `GET /home`: the widget exactly as the viewer's role may see it.
pub(crate) async fn home(State(portal): State<Portal>, viewer: Viewer) -> PageResult {
    let page = viewer.page(&portal);
    let access = viewer.widget_access(&portal);
    if access == WidgetAccess::NoHomePage {
        return Ok((
            StatusCode::FORBIDDEN,
            message_page(
                &page,
                "No Home page",
                &format!(
                    "Your role, {}, cannot see the Home page.",
                    role_name(&viewer.admin.role)
                ),
            ),
        )
            .into_response());
    }
    let view = portal
        .service()
        .admins_without_mfa_required(&viewer.session, PageRequest::first(5))
        .await?;
    let body = html! {
        p { a href="/home/settings" { "Settings" } }
        @match (access, view.enabled, view.count, &view.admins) {
            (WidgetAccess::Hidden, _, _, _) | (_, _, None, _) | (_, _, _, None) => {
                p.muted #no-widgets { "There are no widgets on your Home page for your role." }
            }
            (_, false, _, _) => {
                p.muted #widget-off { "The Admins Without MFA Required widget is turned off. "
                    "Turn it back on in " a href="/home/settings" { "Settings" } "." }
            }
            (_, true, Some(count), Some(first)) => {
                a.tile #widget-admins-without-mfa href="/home/admins-without-mfa"
                    aria-label=(format!("Admins Without MFA Required: {count}. View the list")) {
                    h2 { "Admins Without MFA Required" }
                    div.count #widget-count { (count) }
                    @if first.items.is_empty() {
                        p { "Every admin has MFA required." }
                    } @else {
                        ul {
                            @for admin in &first.items { li { (admin.display_name) } }
                        }
                        @if count > u64::try_from(first.items.len()).unwrap_or(0) {
                            p.muted { "and " (count - u64::try_from(first.items.len()).unwrap_or(0)) " more" }
                        }
                    }
                    @if access == WidgetAccess::Actionable {
                        p.muted { "Click to view the list and require MFA." }
                    } @else {
                        p.muted { "Click to view the list. Your role cannot act on it." }
                    }
                }
            }
        }
    };
    Ok(page.render("Home", body).into_response())
}

/// `GET /home/settings`: Configure and Customize Widgets.
pub(crate) async fn settings_form(State(portal): State<Portal>, viewer: Viewer) -> PageResult {
    let page = viewer.page(&portal);
    let access = viewer.widget_access(&portal);
    let view = portal
        .service()
        .admins_without_mfa_required(&viewer.session, PageRequest::first(1))
        .await?;
    let body = html! {
        h2 { "Configure and Customize Widgets" }
        @match access {
            WidgetAccess::NoHomePage | WidgetAccess::Hidden => {
                p { "Your role has no widgets to configure." }
            }
            WidgetAccess::ViewOnly | WidgetAccess::Actionable => {
                form.card method="post" action="/home/settings" {
                    label.check for="widget" {
                        input #widget type="checkbox" name="admins_without_mfa" value="on" checked[view.enabled];
                        "Admins Without MFA Required"
                    }
                    div { button type="submit" { "Save" } }
                }
            }
        }
    };
    Ok(page.render("Home settings", body).into_response())
}

/// `POST /home/settings`.
pub(crate) async fn settings(
    State(portal): State<Portal>,
    viewer: Viewer,
    form: Fields,
) -> PageResult {
    portal
        .service()
        .set_widget_enabled(&viewer.session, form.checked("admins_without_mfa"))
        .await?;
    Ok(Redirect::to("/home").into_response())
}

/// `GET /home/admins-without-mfa`: the widget's list; checkboxes and Actions only for a
/// role that may act.
pub(crate) async fn widget_list(
    State(portal): State<Portal>,
    viewer: Viewer,
    q: Params,
) -> PageResult {
    let page = viewer.page(&portal);
    let mut request = PageRequest::first(200);
    if let Some(after) = q.get("after") {
        request.after = Email::parse(after).ok();
    }
    let view = portal
        .service()
        .admins_without_mfa_required(&viewer.session, request)
        .await?;
    let (Some(count), Some(list)) = (view.count, view.admins) else {
        return Err(Error::NotFound.into());
    };
    let actionable = view.access == WidgetAccess::Actionable;
    let body = html! {
        p #list-count { (count) " admins do not have MFA required." }
        @if actionable {
            form method="post" action="/home/require" {
                (admin_table(&list.items, true))
                details.actions {
                    summary { "Actions" }
                    button type="submit" name="action" value="require" { "Require MFA" }
                }
            }
        } @else {
            (admin_table(&list.items, false))
        }
        @if let Some(next) = &list.next {
            p { a href=(format!("/home/admins-without-mfa?after={}", url::form_urlencoded::byte_serialize(next.as_str().as_bytes()).collect::<String>())) { "Next page" } }
        }
        p { a href="/home" { "Back to Home" } }
    };
    Ok(page
        .render("Admins Without MFA Required", body)
        .into_response())
}

fn admin_table(items: &[admin_mfa::AdminSummary], selectable: bool) -> Markup {
    html! {
        table {
            thead { tr {
                @if selectable { th scope="col" { "Select" } }
                th scope="col" { "Name" } th scope="col" { "E-mail" } th scope="col" { "Role" }
            } }
            tbody {
                @for admin in items {
                    tr {
                        @if selectable {
                            td { input type="checkbox" name="admin" value=(admin.id.to_string())
                                id=(format!("select-{}", admin.id))
                                aria-label=(format!("Select {}", admin.display_name)); }
                        }
                        td { (admin.display_name) }
                        td { (admin.email.as_str()) }
                        td { (role_name(&admin.role)) }
                    }
                }
            }
        }
    }
}

fn parse_ids(form: &Fields) -> Vec<AdminId> {
    form.all("admin")
        .into_iter()
        .filter_map(|id| id.parse().ok())
        .collect()
}

async fn labels(portal: &Portal, ids: &[AdminId]) -> Result<Vec<(AdminId, String)>, Error> {
    let found = portal.service().store().admins(org(), ids).await?;
    Ok(ids
        .iter()
        .zip(found)
        .map(|(id, admin)| {
            (
                *id,
                admin.map_or_else(|| id.to_string(), |a| label(&a.value)),
            )
        })
        .collect())
}

/// `POST /home/require`: Actions → Require MFA; the confirmation.
pub(crate) async fn require_confirm(
    State(portal): State<Portal>,
    viewer: Viewer,
    form: Fields,
) -> PageResult {
    let page = viewer.page(&portal);
    let ids = parse_ids(&form);
    if ids.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            message_page(
                &page,
                "Nothing selected",
                "Select at least one admin, then Actions → Require MFA.",
            ),
        )
            .into_response());
    }
    let labels = labels(&portal, &ids).await?;
    let body = html! {
        section.card role="dialog" aria-labelledby="confirm-title" {
            h2 #confirm-title { "Require MFA for " (ids.len()) " admins?" }
            p { "Each of them will be required to log in with MFA on their next Admin Portal login." }
            ul { @for (_, l) in &labels { li { (l) } } }
            form method="post" action="/home/require/confirm" {
                @for id in &ids { input type="hidden" name="admin" value=(id.to_string()); }
                button #confirm-require type="submit" { "Require MFA" }
                " "
                a href="/home/admins-without-mfa" { "Cancel" }
            }
        }
    };
    Ok(page.render("Require MFA", body).into_response())
}

/// `POST /home/require/confirm`: the bulk action; one line per admin.
pub(crate) async fn require(
    State(portal): State<Portal>,
    viewer: Viewer,
    form: Fields,
) -> PageResult {
    let page = viewer.page(&portal);
    let ids = parse_ids(&form);
    let report = portal.service().require_mfa(&viewer.session, &ids).await?;
    let labels: HashMap<AdminId, String> = labels(&portal, &ids).await?.into_iter().collect();
    let newly = report.newly_required();
    let body = html! {
        p.notice role="status" #bulk-summary { "MFA newly required for " (newly) " of " (report.items.len()) " admins." }
        table #bulk-results {
            thead { tr { th scope="col" { "Admin" } th scope="col" { "Result" } } }
            tbody {
                @for (id, item) in &report.items {
                    tr {
                        td { (labels.get(id).cloned().unwrap_or_else(|| id.to_string())) }
                        @match item {
                            BulkItem::Required => td.result-required { "MFA required" },
                            BulkItem::AlreadyRequired => td.result-already { "Already required: nothing changed" },
                            BulkItem::Failed(e) => td.result-failed { "Not done: " (explain(e).1) },
                        }
                    }
                }
            }
        }
        p { a href="/home" { "Back to Home" } }
    };
    Ok(page.render("Require MFA: results", body).into_response())
}

/// `GET /admins`: every admin with role and MFA status.
pub(crate) async fn admins(State(portal): State<Portal>, viewer: Viewer) -> PageResult {
    let page = viewer.page(&portal);
    let all = all_admins(&portal, &viewer.session).await?;
    let may_create = viewer.may(&portal, &Action::CreateAdmin, Target::Org(org()));
    let selectable = viewer.widget_access(&portal) == WidgetAccess::Actionable;
    let table = html! {
        table #admins {
            thead { tr {
                @if selectable { th scope="col" { "Select" } }
                th scope="col" { "Name" } th scope="col" { "E-mail" } th scope="col" { "Role" }
                th scope="col" { "MFA" } th scope="col" { span.visually-hidden { "Details" } }
            } }
            tbody {
                @for admin in &all {
                    tr data-email=(admin.email.as_str()) {
                        @if selectable {
                            td { input type="checkbox" name="admin" value=(admin.id.to_string())
                                aria-label=(format!("Select {}", admin.display_name)); }
                        }
                        td { (admin.display_name) }
                        td { (admin.email.as_str()) }
                        td { (role_name(&admin.role)) }
                        td.mfa { (listed_status(admin)) }
                        td { a href=(format!("/admins/{}", admin.id)) aria-label=(format!("Details for {}", admin.display_name)) { "Details" } }
                    }
                }
            }
        }
    };
    let body = html! {
        @if may_create { p { a href="/admins/new" { "New administrator" } } }
        @if selectable {
            form method="post" action="/home/require" {
                (table)
                details.actions {
                    summary { "Actions" }
                    button type="submit" name="action" value="require" { "Require MFA" }
                }
            }
        } @else {
            (table)
        }
    };
    Ok(page.render("Administrators", body).into_response())
}

/// The status the service let the viewer see (`view-admin-mfa-status` on that admin).
fn listed_status(admin: &AdminListItem) -> &'static str {
    admin.mfa.map_or(HIDDEN_STATUS, mfa_status)
}

/// What the list and Details show for an admin whose MFA status the viewer may not see.
const HIDDEN_STATUS: &str = "not shown to your role";

/// Details: the admin's status, if the viewer may see it.
fn status_for(portal: &Portal, viewer: &Viewer, admin: &Admin) -> &'static str {
    let target = Target::Admin {
        id: admin.id,
        org: admin.org,
        role: &admin.role,
    };
    if viewer.may(portal, &Action::ViewAdminMfaStatus, target) {
        let now = portal.service().clock().now();
        mfa_status(MfaStatus::of(&admin.mfa, now))
    } else {
        HIDDEN_STATUS
    }
}

fn role_options(selected: &str) -> Markup {
    html! {
        @for role in BuiltinRole::ALL {
            option value=(role.as_str()) selected[role.as_str() == selected] { (role.display_name()) }
        }
    }
}

fn new_admin_page(
    viewer: &Viewer,
    portal: &Portal,
    form: Option<&Fields>,
    error: Option<&str>,
) -> axum::response::Html<String> {
    let value = |name: &str| form.map_or("", |f| f.get(name)).to_owned();
    viewer.page(portal).render(
        "New administrator",
        html! {
            p { "New administrators must use MFA: they receive a Set Up MFA e-mail right away." }
            (alert(error))
            form.card method="post" action="/admins/new" {
                label for="name" { "Name" }
                input #name type="text" name="display_name" value=(value("display_name")) required;
                label for="email" { "E-mail address" }
                input #email type="email" name="email" value=(value("email")) required;
                label for="role" { "Role" }
                select #role name="role" { (role_options(&value("role"))) }
                label for="password" { "Initial password" }
                input #password type="password" name="password" required minlength="12" autocomplete="new-password";
                div { button type="submit" { "Create administrator" } }
            }
        },
    )
}

/// `GET /admins/new`.
pub(crate) async fn new_admin_form(State(portal): State<Portal>, viewer: Viewer) -> Response {
    new_admin_page(&viewer, &portal, None, None).into_response()
}

/// `POST /admins/new`.
pub(crate) async fn new_admin(
    State(portal): State<Portal>,
    viewer: Viewer,
    form: Fields,
) -> PageResult {
    let again = |e: &Error| {
        let (status, text) = explain(e);
        Ok((
            status,
            new_admin_page(&viewer, &portal, Some(&form), Some(&text)),
        )
            .into_response())
    };
    let Ok(role) = portal.service().policy().role(form.get("role")) else {
        return again(&Error::InvalidInput(admin_mfa::InvalidField::new(
            "role",
            "is not a role",
        )));
    };
    if form.get("password").chars().count() < 12 {
        return again(&Error::InvalidInput(admin_mfa::InvalidField::new(
            "password",
            "needs at least 12 characters",
        )));
    }
    let Ok(password) = Password::new(form.get("password")) else {
        return again(&Error::InvalidInput(admin_mfa::InvalidField::new(
            "password",
            "is too long",
        )));
    };
    let created = portal
        .service()
        .create_admin(
            &viewer.session,
            NewAdmin {
                email: form.get("email").to_owned(),
                display_name: form.get("display_name").to_owned(),
                role,
                password,
            },
        )
        .await;
    match created {
        Ok(created) => {
            Ok(Redirect::to(&format!("/admins/{}?notice=created", created.id)).into_response())
        }
        Err(e @ (Error::Forbidden(_) | Error::InvalidInput(_) | Error::EmailTaken)) => again(&e),
        Err(e) => Err(e.into()),
    }
}

fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "created" => "Administrator created. A Set Up MFA e-mail is on its way to them.",
        "enabled" => {
            "Saved. MFA is now required; a Set Up MFA e-mail was sent unless MFA is already set up or a setup link is still pending."
        }
        "removed" => "Saved. MFA is no longer required; the administrator was told by e-mail.",
        "unchanged" => "Saved. Nothing changed.",
        "reset" => "MFA reset. The administrator must set up MFA again from the e-mail we sent.",
        "unlocked" => "Unlocked. The administrator can sign in with their authenticator app again.",
        _ => return None,
    })
}

async fn target(portal: &Portal, viewer: &Viewer, id: &str) -> Result<Admin, Error> {
    if !viewer.may(
        portal,
        &Action::ViewAdminList,
        Target::Page(PageId::Administrators),
    ) {
        return Err(Error::NotFound);
    }
    let id: AdminId = id.parse().map_err(|_| Error::NotFound)?;
    let admin = portal.service().store().admin(viewer.admin.org, id).await?;
    admin.map(|a| a.value).ok_or(Error::NotFound)
}

fn details_page(
    portal: &Portal,
    viewer: &Viewer,
    admin: &Admin,
    notice: Option<&str>,
    error: Option<&str>,
) -> axum::response::Html<String> {
    let id = admin.id;
    viewer.page(portal).render(
        &format!("Details: {}", admin.display_name),
        html! {
            @if let Some(notice) = notice { p.notice role="status" #notice { (notice) } }
            (alert(error))
            dl {
                dt { "E-mail" } dd { (admin.email.as_str()) }
                dt { "Role" } dd #role { (role_name(&admin.role)) }
                dt { "MFA" } dd #mfa-status { (status_for(portal, viewer, admin)) }
                dt { "Created" } dd { (time(admin.created_at)) }
            }
            form.card method="post" action=(format!("/admins/{id}")) {
                label.check for="enable-mfa" {
                    input #enable-mfa type="checkbox" name="mfa" value="on" checked[admin.mfa.requirement.is_required()];
                    "Enable MultiFactor Authentication for Admin Login"
                }
                div { button #save type="submit" { "Save Administrator" } }
            }
            @if admin.mfa.is_enrolled() || admin.mfa.link.is_some() {
                form.card method="post" action=(format!("/admins/{id}/reset")) {
                    p { "Reset MFA removes their authenticator app; they set up a new one from the e-mail we send." }
                    button.danger #reset-mfa type="submit" { "Reset MFA" }
                }
            }
            @if admin.mfa.is_locked() {
                form.card method="post" action=(format!("/admins/{id}/unlock")) {
                    p { "Locked after too many wrong codes." }
                    button #unlock type="submit" { "Unlock" }
                }
            }
            p { a href="/admins" { "Back to Administrators" } }
        },
    )
}

/// `GET /admins/{id}`: Details.
pub(crate) async fn details(
    State(portal): State<Portal>,
    viewer: Viewer,
    Path(id): Path<String>,
    q: Params,
) -> PageResult {
    let admin = target(&portal, &viewer, &id).await?;
    let notice = q.get("notice").and_then(|c| notice_text(c));
    Ok(details_page(&portal, &viewer, &admin, notice, None).into_response())
}

/// A management call's answer: back to Details with a notice, or Details with the reason.
async fn after_change(
    portal: &Portal,
    viewer: &Viewer,
    admin: &Admin,
    result: Result<&str, Error>,
) -> PageResult {
    match result {
        Ok(notice) => {
            Ok(Redirect::to(&format!("/admins/{}?notice={notice}", admin.id)).into_response())
        }
        Err(Error::SessionExpired) => Err(Error::SessionExpired.into()),
        Err(e) => {
            let (status, text) = explain(&e);
            let fresh = portal
                .service()
                .store()
                .admin(admin.org, admin.id)
                .await?
                .map_or_else(|| admin.clone(), |a| a.value);
            Ok((
                status,
                details_page(portal, viewer, &fresh, None, Some(&text)),
            )
                .into_response())
        }
    }
}

/// `POST /admins/{id}`: Save Administrator.
pub(crate) async fn save(
    State(portal): State<Portal>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    let admin = target(&portal, &viewer, &id).await?;
    let service = portal.service();
    let result = match (form.checked("mfa"), admin.mfa.requirement.is_required()) {
        (true, false) => service
            .enable_mfa(&viewer.session, admin.id)
            .await
            .map(|_| "enabled"),
        (false, true) => service
            .remove_mfa_requirement(&viewer.session, admin.id)
            .await
            .map(|_| "removed"),
        _ => Ok("unchanged"),
    };
    after_change(&portal, &viewer, &admin, result).await
}

/// `POST /admins/{id}/reset`: Reset MFA.
pub(crate) async fn reset(
    State(portal): State<Portal>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let admin = target(&portal, &viewer, &id).await?;
    let result = portal
        .service()
        .reset_mfa(&viewer.session, admin.id)
        .await
        .map(|_| "reset");
    after_change(&portal, &viewer, &admin, result).await
}

/// `POST /admins/{id}/unlock`: Unlock.
pub(crate) async fn unlock(
    State(portal): State<Portal>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let admin = target(&portal, &viewer, &id).await?;
    let result = portal
        .service()
        .unlock_mfa(&viewer.session, admin.id)
        .await
        .map(|_| "unlocked");
    after_change(&portal, &viewer, &admin, result).await
}

fn describe(kind: &AuditKind) -> String {
    match kind {
        AuditKind::MfaEnabled => "MFA enabled".into(),
        AuditKind::MfaRequired => "MFA required".into(),
        AuditKind::RequirementRemoved => "MFA requirement removed".into(),
        AuditKind::SetupLinkIssued => "Set Up MFA e-mail sent".into(),
        AuditKind::ResetRequested => "Reset TOTP MFA requested".into(),
        AuditKind::Enrolled => "Authenticator app set up".into(),
        AuditKind::ResetCompleted => "TOTP MFA reset completed".into(),
        AuditKind::AdminReset => "MFA reset by an admin".into(),
        AuditKind::VerifySucceeded => "Code accepted".into(),
        AuditKind::VerifyFailed { failures, .. } => format!("Wrong code ({failures} in a row)"),
        AuditKind::LockedOut => "Locked after too many wrong codes".into(),
        AuditKind::Unlocked => "Unlocked".into(),
        AuditKind::UnknownAccount => "Sign-in attempt for an unknown address".into(),
        AuditKind::PostureExported => "MFA posture report exported".into(),
        other => format!("{other:?}"),
    }
}

/// `GET /audit`: the newest 200 events, newest first.
pub(crate) async fn audit(State(portal): State<Portal>, viewer: Viewer) -> PageResult {
    let page = viewer.page(&portal);
    let names: HashMap<AdminId, String> = all_admins(&portal, &viewer.session)
        .await?
        .iter()
        .map(|a| (a.id, named(&a.display_name, &a.email)))
        .collect();
    let mut events = Vec::new();
    let mut request = PageRequest::first(PageRequest::<()>::MAX_LIMIT);
    loop {
        let log = portal
            .service()
            .audit_log(&viewer.session, request.clone())
            .await?;
        events.extend(log.items);
        match log.next {
            Some(next) => request.after = Some(next),
            None => break,
        }
    }
    let name = |id: &AdminId| names.get(id).cloned().unwrap_or_else(|| "(unknown)".into());
    let body = html! {
        table #audit {
            thead { tr { th scope="col" { "When (UTC)" } th scope="col" { "Who" } th scope="col" { "Admin" } th scope="col" { "What" } } }
            tbody {
                @for event in events.iter().rev().take(200) {
                    tr {
                        td { (time(event.at)) }
                        td { (event.actor.as_ref().map_or_else(|| "the portal".to_owned(), name)) }
                        td { (name(&event.target)) }
                        td { (describe(&event.kind)) }
                    }
                }
            }
        }
    };
    Ok(page.render("Audit log", body).into_response())
}
