//! The JSON API: every step of the story as a route (see the crate documentation for the
//! table with request and response examples).

use admin_mfa::lifecycle::AuditEvent;
use admin_mfa::{
    AdminId, AuditCursor, Authenticated, BulkItem, ChangeOutcome, Email, Error, FactorKind,
    LinkPurpose, LoginOutcome, NewAdmin, OrgId, PageRequest, Password, WidgetAccess,
};
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cookies::CookieKind;
use crate::extract::{CurrentAdmin, PendingChallenge};
use crate::layers::protect;
use crate::problem::{ApiError, invalid, status_of};
use crate::state::MfaWeb;

type ApiResult<T = Response> = Result<T, ApiError>;

/// The JSON API router, with its CSRF check and security headers, ready to mount under any
/// prefix with [`Router::nest`]. See the crate documentation for the routes.
///
/// ```
/// # fn web() -> admin_mfa_axum::MfaWeb { unimplemented!() }
/// # fn build() {
/// let app: axum::Router = axum::Router::new().nest("/api/mfa", admin_mfa_axum::api_router(web()));
/// # }
/// ```
pub fn api_router(web: MfaWeb) -> Router {
    let routes = Router::new()
        .route("/login", post(login))
        .route("/login/verify", post(verify))
        .route("/login/reset", post(request_reset))
        .route("/logout", post(logout))
        .route("/session", get(session))
        .route("/session/reauthenticate", post(reauthenticate))
        .route("/link", get(open_link))
        .route("/link/identity", post(confirm_identity))
        .route("/link/complete", post(complete_setup))
        .route("/widget", get(widget).put(set_widget))
        .route("/admins", post(create_admin))
        .route("/admins/mfa/require", post(require_mfa))
        .route("/admins/{id}/mfa/enable", post(enable_mfa))
        .route("/admins/{id}/mfa/reset", post(reset_mfa))
        .route("/admins/{id}/mfa/unlock", post(unlock_mfa))
        .route("/admins/{id}/mfa/requirement", delete(remove_requirement))
        .route("/audit", get(audit_log))
        .with_state(web.clone());
    protect(routes, web.config())
}

/// A JSON body; anything else is a 422 naming `body`.
struct Body<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| Self(v))
            .map_err(|_| invalid("body", "is not the expected JSON document"))
    }
}

/// Query parameters; anything that does not parse is a 422 naming `query`.
struct Query<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|_| invalid("query", "has a parameter that does not parse"))
    }
}

/// The admin id of a `/admins/{id}/...` route; a 404 when it is not one.
struct TargetAdmin(AdminId);

impl<S: Send + Sync> FromRequestParts<S> for TargetAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(id) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError(Error::NotFound))?;
        id.parse().map(Self).map_err(|_| ApiError(Error::NotFound))
    }
}

fn password(text: &str) -> ApiResult<Password> {
    Password::new(text).map_err(|_| ApiError(Error::InvalidCredentials))
}

fn session_json(session: &Authenticated) -> Value {
    let factors: Vec<&str> = session
        .factors()
        .iter()
        .map(|f| match f {
            FactorKind::Password => "password",
            FactorKind::Totp => "totp",
            _ => "other",
        })
        .collect();
    json!({
        "admin": session.admin().to_string(),
        "org": session.org().to_string(),
        "factors": factors,
        "authenticated_at": session.authenticated_at().as_secs(),
    })
}

/// Seals `session` into a session cookie; the other login cookies go.
fn signed_in(web: &MfaWeb, session: &Authenticated) -> ApiResult {
    let token = web
        .service()
        .seal_session(session, web.config().session_lifetime())?;
    let config = web.config();
    let cookies = [
        config.set_cookie(
            CookieKind::Session,
            token.as_str(),
            config.session_lifetime(),
        ),
        config.clear_cookie(CookieKind::Challenge),
    ];
    let body = json!({ "status": "signed_in", "session": session_json(session) });
    Ok((set_cookies(cookies), Json(body)).into_response())
}

fn set_cookies<const N: usize>(
    values: [HeaderValue; N],
) -> AppendHeaders<[(header::HeaderName, HeaderValue); N]> {
    AppendHeaders(values.map(|v| (header::SET_COOKIE, v)))
}

#[derive(Deserialize)]
struct LoginRequest {
    email: String,
    password: String,
    #[serde(default)]
    org: Option<String>,
}

async fn login(State(web): State<MfaWeb>, Body(req): Body<LoginRequest>) -> ApiResult {
    let org: OrgId = match (&req.org, web.config().org()) {
        (Some(text), _) => text
            .parse()
            .map_err(|_| invalid("org", "is not an organization id"))?,
        (None, Some(org)) => org,
        (None, None) => return Err(invalid("org", "is required")),
    };
    let password = password(&req.password)?;
    match web.service().login(org, &req.email, &password).await? {
        LoginOutcome::Authenticated(session) => signed_in(&web, &session),
        LoginOutcome::MfaChallenge(challenge) => {
            let token = web.service().seal_challenge(&challenge)?;
            let ttl = challenge.expires_at().secs_since(challenge.issued_at());
            let cookie = web
                .config()
                .set_cookie(CookieKind::Challenge, token.as_str(), ttl);
            let body = json!({ "status": "code_required", "expires_at": challenge.expires_at().as_secs() });
            Ok((set_cookies([cookie]), Json(body)).into_response())
        }
        LoginOutcome::SetupRequired(_) => {
            Ok(Json(json!({ "status": "setup_required" })).into_response())
        }
    }
}

#[derive(Deserialize)]
struct CodeRequest {
    code: String,
}

async fn verify(
    State(web): State<MfaWeb>,
    PendingChallenge(challenge): PendingChallenge,
    Body(req): Body<CodeRequest>,
) -> ApiResult {
    let session = web.service().verify(&challenge, &req.code).await?;
    signed_in(&web, &session)
}

async fn request_reset(
    State(web): State<MfaWeb>,
    PendingChallenge(challenge): PendingChallenge,
) -> ApiResult {
    web.service().request_reset(&challenge).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "status": "reset_requested" })),
    )
        .into_response())
}

async fn logout(State(web): State<MfaWeb>) -> Response {
    (StatusCode::NO_CONTENT, set_cookies(web.sign_out_cookies())).into_response()
}

async fn session(CurrentAdmin(session): CurrentAdmin) -> Json<Value> {
    Json(session_json(&session))
}

async fn reauthenticate(
    State(web): State<MfaWeb>,
    CurrentAdmin(session): CurrentAdmin,
    Body(req): Body<CodeRequest>,
) -> ApiResult {
    let renewed = web.service().reauthenticate(&session, &req.code).await?;
    signed_in(&web, &renewed)
}

#[derive(Deserialize)]
struct LinkQuery {
    token: String,
}

async fn open_link(
    State(web): State<MfaWeb>,
    Query(q): Query<LinkQuery>,
) -> ApiResult<Json<Value>> {
    let info = web.service().open_link(&q.token).await?;
    Ok(Json(json!({
        "purpose": purpose(info.purpose),
        "expires_at": info.expires_at.as_secs(),
    })))
}

const fn purpose(purpose: LinkPurpose) -> &'static str {
    match purpose {
        LinkPurpose::Setup => "setup",
        LinkPurpose::Reset => "reset",
    }
}

#[derive(Deserialize)]
struct IdentityRequest {
    token: String,
    email: String,
    password: String,
}

#[derive(Deserialize)]
struct QrQuery {
    #[serde(default)]
    qr: Option<String>,
}

/// The QR code's module size in the PNG.
const QR_MODULE_PX: u32 = 6;

async fn confirm_identity(
    State(web): State<MfaWeb>,
    Query(format): Query<QrQuery>,
    Body(req): Body<IdentityRequest>,
) -> ApiResult {
    let password = password(&req.password)?;
    let provisioning = web
        .service()
        .confirm_identity(&req.token, &req.email, &password)
        .await?;
    let proof = web
        .service()
        .seal_setup_proof(&req.token, provisioning.proof())?;
    let ttl = web.service().config().lifecycle().setup_proof_ttl_secs();
    let cookie = set_cookies([web
        .config()
        .set_cookie(CookieKind::Setup, proof.as_str(), ttl)]);
    let qr_failed = |_| ApiError(Error::Rng);
    match format.qr.as_deref() {
        Some("png") => {
            let png = provisioning.qr_png(QR_MODULE_PX).map_err(qr_failed)?;
            let kind = [(header::CONTENT_TYPE, HeaderValue::from_static("image/png"))];
            Ok((cookie, kind, png.to_vec()).into_response())
        }
        Some("svg") => {
            let svg = provisioning.qr_svg().map_err(qr_failed)?;
            let kind = [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            )];
            Ok((cookie, kind, svg.to_string()).into_response())
        }
        None => {
            let svg = provisioning.qr_svg().map_err(qr_failed)?;
            let png = provisioning.qr_png(QR_MODULE_PX).map_err(qr_failed)?;
            let body = json!({
                "purpose": purpose(provisioning.purpose()),
                "issuer": provisioning.issuer(),
                "account": provisioning.account(),
                "otpauth_uri": provisioning.otpauth_uri().as_str(),
                "key": provisioning.key().as_str(),
                "qr_svg": svg.as_str(),
                "qr_png_base64": data_encoding::BASE64.encode(&png),
            });
            Ok((cookie, Json(body)).into_response())
        }
        Some(_) => Err(invalid("qr", "must be `png` or `svg`")),
    }
}

#[derive(Deserialize)]
struct CompleteRequest {
    token: String,
    code: String,
}

async fn complete_setup(
    State(web): State<MfaWeb>,
    headers: axum::http::HeaderMap,
    Body(req): Body<CompleteRequest>,
) -> ApiResult {
    let sealed = web
        .config()
        .read_cookie(&headers, CookieKind::Setup)
        .ok_or(ApiError(Error::SessionExpired))?;
    let proof = web.service().open_setup_proof(&req.token, &sealed)?;
    let done = web
        .service()
        .complete_setup(&req.token, &proof, &req.code)
        .await?;
    let cookie = set_cookies([web.config().clear_cookie(CookieKind::Setup)]);
    let body = json!({ "status": "enrolled", "admin": done.admin.to_string(), "purpose": purpose(done.purpose) });
    Ok((cookie, Json(body)).into_response())
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    after: Option<String>,
}

impl PageQuery {
    fn limit(&self) -> u32 {
        self.limit.unwrap_or(50).clamp(1, 1000)
    }
}

fn access(access: WidgetAccess) -> Value {
    serde_json::to_value(access).unwrap_or(Value::Null)
}

async fn widget(
    State(web): State<MfaWeb>,
    CurrentAdmin(viewer): CurrentAdmin,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    let mut page = PageRequest::first(q.limit());
    if let Some(after) = &q.after {
        page.after =
            Some(Email::parse(after).map_err(|_| invalid("after", "is not an e-mail address"))?);
    }
    let view = web
        .service()
        .admins_without_mfa_required(&viewer, page)
        .await?;
    let admins = view.admins.as_ref().map(|page| {
        let items: Vec<Value> = page
            .items
            .iter()
            .map(|a| {
                json!({
                    "id": a.id.to_string(),
                    "email": a.email.as_str(),
                    "display_name": a.display_name,
                    "role": a.role.to_string(),
                    "created_at": a.created_at.as_secs(),
                })
            })
            .collect();
        json!({ "items": items, "next": page.next.as_ref().map(Email::as_str) })
    });
    Ok(Json(json!({
        "access": access(view.access),
        "enabled": view.enabled,
        "count": view.count,
        "admins": admins,
    })))
}

#[derive(Deserialize)]
struct WidgetToggle {
    enabled: bool,
}

async fn set_widget(
    State(web): State<MfaWeb>,
    CurrentAdmin(viewer): CurrentAdmin,
    Body(req): Body<WidgetToggle>,
) -> ApiResult<Json<Value>> {
    let changed = web
        .service()
        .set_widget_enabled(&viewer, req.enabled)
        .await?;
    Ok(Json(json!({ "enabled": req.enabled, "changed": changed })))
}

fn outcome(o: &ChangeOutcome) -> Json<Value> {
    Json(json!({
        "changed": o.changed,
        "emails_queued": o.emails_queued,
        "email_rate_limited_until": o.email_rate_limited_until.map(|t| t.as_secs()),
    }))
}

async fn enable_mfa(
    State(web): State<MfaWeb>,
    CurrentAdmin(actor): CurrentAdmin,
    TargetAdmin(target): TargetAdmin,
) -> ApiResult<Json<Value>> {
    Ok(outcome(&web.service().enable_mfa(&actor, target).await?))
}

async fn reset_mfa(
    State(web): State<MfaWeb>,
    CurrentAdmin(actor): CurrentAdmin,
    TargetAdmin(target): TargetAdmin,
) -> ApiResult<Json<Value>> {
    Ok(outcome(&web.service().reset_mfa(&actor, target).await?))
}

async fn unlock_mfa(
    State(web): State<MfaWeb>,
    CurrentAdmin(actor): CurrentAdmin,
    TargetAdmin(target): TargetAdmin,
) -> ApiResult<Json<Value>> {
    Ok(outcome(&web.service().unlock_mfa(&actor, target).await?))
}

async fn remove_requirement(
    State(web): State<MfaWeb>,
    CurrentAdmin(actor): CurrentAdmin,
    TargetAdmin(target): TargetAdmin,
) -> ApiResult<Json<Value>> {
    Ok(outcome(
        &web.service().remove_mfa_requirement(&actor, target).await?,
    ))
}

#[derive(Deserialize)]
struct RequireRequest {
    admins: Vec<String>,
}

/// The most admins one bulk request may name.
const MAX_BULK: usize = 10_000;

async fn require_mfa(
    State(web): State<MfaWeb>,
    CurrentAdmin(actor): CurrentAdmin,
    Body(req): Body<RequireRequest>,
) -> ApiResult<Json<Value>> {
    if req.admins.len() > MAX_BULK {
        return Err(invalid("admins", "names more than 10 000 admins"));
    }
    let ids = req
        .admins
        .iter()
        .map(|id| id.parse())
        .collect::<Result<Vec<AdminId>, _>>()
        .map_err(|_| invalid("admins", "holds something that is not an admin id"))?;
    let report = web.service().require_mfa(&actor, &ids).await?;
    let items: Vec<Value> = report
        .items
        .iter()
        .map(|(id, item)| match item {
            BulkItem::Required => json!({ "admin": id.to_string(), "result": "required" }),
            BulkItem::AlreadyRequired => json!({ "admin": id.to_string(), "result": "already_required" }),
            BulkItem::Failed(e) => {
                let (status, code) = status_of(e);
                json!({ "admin": id.to_string(), "result": "failed", "status": status, "code": code })
            }
        })
        .collect();
    Ok(Json(
        json!({ "newly_required": report.newly_required(), "items": items }),
    ))
}

#[derive(Deserialize)]
struct CreateAdminRequest {
    email: String,
    display_name: String,
    role: String,
    password: String,
}

async fn create_admin(
    State(web): State<MfaWeb>,
    CurrentAdmin(actor): CurrentAdmin,
    Body(req): Body<CreateAdminRequest>,
) -> ApiResult {
    let role = web
        .service()
        .policy()
        .role(&req.role)
        .map_err(|_| invalid("role", "is not a role the policy defines"))?;
    let password =
        Password::new(&req.password).map_err(|_| invalid("password", "is empty or too long"))?;
    let created = web
        .service()
        .create_admin(
            &actor,
            NewAdmin {
                email: req.email,
                display_name: req.display_name,
                role,
                password,
            },
        )
        .await?;
    let body = json!({
        "id": created.id.to_string(),
        "mfa_required": created.mfa_required,
        "emails_queued": created.emails_queued,
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Serialize)]
struct AuditPageJson<'a> {
    events: &'a [AuditEvent],
    next: Option<u64>,
}

async fn audit_log(
    State(web): State<MfaWeb>,
    CurrentAdmin(viewer): CurrentAdmin,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    let mut page = PageRequest::first(q.limit());
    if let Some(after) = &q.after {
        let n = after
            .parse()
            .map_err(|_| invalid("after", "is not an audit cursor"))?;
        page.after = Some(AuditCursor(n));
    }
    let log = web.service().audit_log(&viewer, page).await?;
    let body = AuditPageJson {
        events: &log.items,
        next: log.next.map(|c| c.0),
    };
    Ok(Json(
        serde_json::to_value(&body).map_err(|_| ApiError(Error::Rng))?,
    ))
}
