//! The MFA posture report: a filter form, one page of the report as a table, and the whole
//! report as a CSV or JSON Lines download streamed a page at a time.

use admin_mfa::policy::{Action, PageId, Target};
use admin_mfa::{
    Email, FactorStatus, MfaPosture, PageRequest, PostureExport, PostureFilter, PostureFormat,
};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::Portal;
use crate::error::{PageResult, time};
use crate::views::{Viewer, alert, message_page, role_name};

/// Rows on one page of the table.
const ROWS: u32 = 100;

/// The filter form's fields, as the browser sends them (empty when left blank).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PostureQuery {
    #[serde(default)]
    unused: String,
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    codes: String,
    #[serde(default)]
    locked: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

impl PostureQuery {
    /// The filter, or which field is not a whole number.
    fn filter(&self) -> Result<PostureFilter, &'static str> {
        let number = |text: &str, field: &'static str| -> Result<Option<u32>, &'static str> {
            let text = text.trim();
            if text.is_empty() {
                Ok(None)
            } else {
                text.parse().map(Some).map_err(|_| field)
            }
        };
        let mut filter = PostureFilter::all();
        if let Some(days) = number(&self.unused, "Authenticator unused for")? {
            filter = filter.factor_unused_for_days(days);
        }
        if let Some(days) = number(&self.deadline, "Set-up deadline within")? {
            filter = filter.deadline_within_days(days);
        }
        if let Some(codes) = number(&self.codes, "Recovery codes left at most")? {
            filter = filter.recovery_codes_at_most(codes);
        }
        if self.locked.is_some() {
            filter = filter.locked();
        }
        Ok(filter)
    }

    /// The query string of this filter, for the download links and the next page.
    fn query(&self) -> String {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        pairs.append_pair("unused", self.unused.trim());
        pairs.append_pair("deadline", self.deadline.trim());
        pairs.append_pair("codes", self.codes.trim());
        if self.locked.is_some() {
            pairs.append_pair("locked", "on");
        }
        pairs.finish()
    }
}

fn may_see(portal: &Portal, viewer: &Viewer) -> bool {
    viewer.may(
        portal,
        &Action::ViewMfaPosture,
        Target::Page(PageId::Administrators),
    )
}

/// What a role without `view-mfa-posture` gets for the report's pages: as if there were
/// none (the service answers `NotFound` too).
fn not_found(page: &crate::views::Page) -> Response {
    (
        StatusCode::NOT_FOUND,
        message_page(page, "Not found", "There is no such page for your role."),
    )
        .into_response()
}

fn factor(status: FactorStatus) -> &'static str {
    match status {
        FactorStatus::None => "none",
        FactorStatus::Pending => "set-up pending",
        FactorStatus::Enabled => "enabled",
        FactorStatus::Locked => "locked",
    }
}

fn when(at: Option<admin_mfa::UnixTime>) -> String {
    at.map_or_else(|| "—".to_owned(), time)
}

fn cells(p: &MfaPosture) -> Markup {
    html! {
        td { @if p.required { "required" } @else { "optional" } }
        td.factor { (factor(p.factor)) }
        td { (when(p.setup_deadline)) }
        td { (when(p.last_code_at)) }
        td.codes { (p.recovery_codes_left.map_or_else(|| "—".to_owned(), |n| n.to_string())) }
        td.failed { (p.failed_codes) }
        td { (p.pending_link.map_or_else(|| "—".to_owned(), |l| {
            format!("{} link until {}", l.purpose.as_str(), time(l.expires_at))
        })) }
    }
}

/// `GET /posture`: the filter form and one page of the report.
pub(crate) async fn report(
    State(portal): State<Portal>,
    viewer: Viewer,
    Query(query): Query<PostureQuery>,
) -> PageResult {
    let page = viewer.page(&portal);
    if !may_see(&portal, &viewer) {
        return Ok(not_found(&page));
    }
    let (filter, problem) = match query.filter() {
        Ok(filter) => (filter, None),
        Err(field) => (PostureFilter::all(), Some(field)),
    };
    let after = query
        .after
        .as_deref()
        .filter(|a| !a.is_empty())
        .and_then(|a| Email::parse(a).ok());
    let request = PageRequest { after, limit: ROWS };
    let rows = portal
        .service()
        .mfa_posture(&viewer.session, &filter, request)
        .await?;
    let link = query.query();
    let body = html! {
        (alert(problem.map(|f| format!("{f}: enter a whole number of days or codes, or leave it blank.")).as_deref()))
        form.filters method="get" action="/posture" {
            label { "Authenticator unused for at least "
                input #unused name="unused" type="number" min="0" inputmode="numeric" value=(query.unused) size="4";
                " days" }
            label { "Set-up deadline within "
                input #deadline name="deadline" type="number" min="0" inputmode="numeric" value=(query.deadline) size="4";
                " days" }
            label { "At most "
                input #codes name="codes" type="number" min="0" inputmode="numeric" value=(query.codes) size="4";
                " recovery codes left" }
            label { input #locked name="locked" type="checkbox" checked[query.locked.is_some()]; " Locked only" }
            button type="submit" { "Apply" }
        }
        p {
            "Download the whole report: "
            a #download-csv href=(format!("/posture.csv?{link}")) { "CSV" }
            " · "
            a #download-jsonl href=(format!("/posture.jsonl?{link}")) { "JSON Lines" }
        }
        @if rows.items.is_empty() {
            p.muted #no-rows { "No administrator matches." }
        } @else {
            div.wide { table #posture {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "E-mail" } th scope="col" { "Role" }
                    th scope="col" { "MFA" } th scope="col" { "Authenticator" }
                    th scope="col" { "Set-up due" } th scope="col" { "Last code" }
                    th scope="col" { "Recovery codes" } th scope="col" { "Wrong codes" }
                    th scope="col" { "Pending link" }
                } }
                tbody {
                    @for row in &rows.items {
                        tr data-email=(row.email.as_str()) {
                            td { (row.display_name) }
                            td { (row.email.as_str()) }
                            td { (role_name(&row.role)) }
                            @match &row.posture {
                                Some(p) => { (cells(p)) }
                                None => { td colspan="7" { "not shown to your role" } }
                            }
                        }
                    }
                }
            } }
        }
        @if let Some(next) = &rows.next {
            p { a #next-page href=(format!("/posture?{link}&after={}", url::form_urlencoded::byte_serialize(next.as_str().as_bytes()).collect::<String>())) { "Next page" } }
        }
    };
    Ok(page.render("MFA posture", body).into_response())
}

/// `GET /posture.csv`: the whole report as CSV.
pub(crate) async fn csv(
    State(portal): State<Portal>,
    viewer: Viewer,
    Query(query): Query<PostureQuery>,
) -> PageResult {
    download(portal, viewer, &query, PostureFormat::Csv).await
}

/// `GET /posture.jsonl`: the whole report as JSON Lines.
pub(crate) async fn jsonl(
    State(portal): State<Portal>,
    viewer: Viewer,
    Query(query): Query<PostureQuery>,
) -> PageResult {
    download(portal, viewer, &query, PostureFormat::JsonLines).await
}

/// The export as a streamed body: the first chunk is read before answering, so a refused
/// viewer gets an error page, and each later chunk is read as the client takes the previous
/// one (an error then ends the download early).
async fn download(
    portal: Portal,
    viewer: Viewer,
    query: &PostureQuery,
    format: PostureFormat,
) -> PageResult {
    let page = viewer.page(&portal);
    if !may_see(&portal, &viewer) {
        return Ok(not_found(&page));
    }
    let Ok(filter) = query.filter() else {
        return Ok((
            StatusCode::BAD_REQUEST,
            message_page(&page, "Bad filter", "Enter whole numbers in the filter."),
        )
            .into_response());
    };
    let mut export = PostureExport::new(viewer.session, filter, format);
    let service = std::sync::Arc::clone(portal.service());
    let first = export.next_chunk(&service).await?;
    let rest = futures_util::stream::unfold(
        (export, service, first, false),
        |(mut export, service, pending, failed)| async move {
            if failed {
                return None;
            }
            let chunk = match pending {
                Some(chunk) => Ok(chunk),
                None => match export.next_chunk(&service).await {
                    Ok(Some(chunk)) => Ok(chunk),
                    Ok(None) => return None,
                    Err(error) => Err(std::io::Error::other(error.to_string())),
                },
            };
            let failed = chunk.is_err();
            Some((chunk, (export, service, None, failed)))
        },
    );
    let (content_type, name) = match format {
        PostureFormat::Csv => ("text/csv; charset=utf-8", "mfa-posture.csv"),
        _ => ("application/jsonl; charset=utf-8", "mfa-posture.jsonl"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(rest),
    )
        .into_response())
}
