//! The CSRF check and the security headers every API route gets.
//!
//! **CSRF.** tower-http's [`CsrfLayer`] refuses a state-changing request (anything but
//! `GET`, `HEAD` and `OPTIONS`) that a browser marks as cross-site (`Sec-Fetch-Site`), or
//! whose `Origin` is neither a trusted origin ([`WebConfig::trusted_origins`]) nor the
//! request's own host. Requests that carry neither header (no browser sends those with
//! cookies) pass. A refusal is a 403 `cross_origin_request` problem. With `SameSite=Strict`
//! cookies this is the second of two locks on every write.
//!
//! **Headers**, on every response of the router, errors included:
//!
//! | Header | Value | Why |
//! |---|---|---|
//! | `Content-Security-Policy` | `default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'` | the API serves no page: nothing it returns may run, load or be framed |
//! | `X-Frame-Options` | `DENY` | `frame-ancestors` for older browsers |
//! | `X-Content-Type-Options` | `nosniff` | JSON, PNG and SVG are what they say |
//! | `Referrer-Policy` | `no-referrer` | link routes carry the link token in their URL |
//! | `Cache-Control` | `no-store` | sessions, secrets and QR codes are never cached |
//!
//! The host's own pages (the link page whose URL holds the token, the QR page) should send
//! the same `Referrer-Policy` and `Cache-Control`; [`security_headers`] adds all five to any
//! router.
//!
//! **Server-rendered pages.** [`protect_pages`] puts the same CSRF check in front of a host's
//! HTML routes, so HTML forms (`application/x-www-form-urlencoded`, posted by the browser with
//! its `Sec-Fetch-Site` and `Origin` headers) get the same lock as the JSON API, and answers a
//! refusal with a short HTML page instead of a problem document. Its headers are
//! [`PAGE_SECURITY_HEADERS`]: the table above, except that the policy lets a page use its own
//! stylesheets, images (and `data:` images, for a QR code shown inline) and forms posting to
//! its own origin. Nothing may run a script.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use tower_http::csrf::{CsrfLayer, ProtectionError};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::cookies::WebConfig;
use crate::problem::Problem;

/// The security headers of the [module table](self), each set on every response.
pub const SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
];

/// The security headers of a host's server-rendered pages ([`protect_pages`]): those of
/// [`SECURITY_HEADERS`], with a `Content-Security-Policy` that allows the page's own
/// stylesheets and images, `data:` images and forms posting to its own origin, and no script.
pub const PAGE_SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    ),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
];

/// Adds the [`SECURITY_HEADERS`] to every response of `router`.
pub fn security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    with_headers(router, SECURITY_HEADERS)
}

fn with_headers<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    headers: [(HeaderName, &'static str); 5],
) -> Router<S> {
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

/// A host's server-rendered pages behind the CSRF check of the [module docs](self), with the
/// [`PAGE_SECURITY_HEADERS`] on every response. A form posted from another origin (or
/// another site) is refused with a 403 HTML page before any handler runs.
///
/// ```
/// use admin_mfa_axum::{WebConfig, protect_pages};
/// use axum::routing::{get, post};
///
/// let config = WebConfig::new("https://admin.example.com")?;
/// let pages: axum::Router = protect_pages(
///     axum::Router::new()
///         .route("/", get(|| async { "home" }))
///         .route("/signout", post(|| async { "signed out" })),
///     &config,
/// );
/// # Ok::<(), admin_mfa_axum::WebConfigError>(())
/// ```
pub fn protect_pages(router: Router, config: &WebConfig) -> Router {
    let csrf = trusting(config).with_rejection_response(|_: ProtectionError| {
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            REFUSED_PAGE,
        )
            .into_response()
    });
    with_headers(router.layer(csrf), PAGE_SECURITY_HEADERS)
}

/// What [`protect_pages`] answers to a cross-origin form.
const REFUSED_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Request refused</title></head><body><h1>Request refused</h1>\
<p>This form was sent from another site, so nothing was changed \
(<code>cross_origin_request</code>). Go back to the portal and try again from its own page.</p>\
</body></html>";

/// A CSRF layer trusting `config`'s origins.
fn trusting(config: &WebConfig) -> CsrfLayer {
    config
        .trusted_origins()
        .fold(CsrfLayer::new(), |layer, origin| {
            // Origins were checked when the configuration was built.
            layer.clone().add_trusted_origin(origin).unwrap_or(layer)
        })
}

/// The CSRF layer trusting `config`'s origins, answering with a problem document.
pub(crate) fn csrf(
    config: &WebConfig,
) -> CsrfLayer<impl Fn(ProtectionError) -> axum::response::Response + Clone + use<>> {
    trusting(config).with_rejection_response(|_: ProtectionError| {
        Problem::new(StatusCode::FORBIDDEN, "cross_origin_request").into_response()
    })
}

/// The CSRF check inside the security headers, so refusals get the headers too.
pub(crate) fn protect(router: Router, config: &WebConfig) -> Router {
    security_headers(router.layer(csrf(config)))
}

/// Whether the CSRF layer accepts `origin` as a trusted origin.
pub(crate) fn is_trustable_origin(origin: &str) -> bool {
    CsrfLayer::new().add_trusted_origin(origin).is_ok()
}
