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

/// Adds the [`SECURITY_HEADERS`] to every response of `router`.
pub fn security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    SECURITY_HEADERS
        .into_iter()
        .fold(router, |router, (name, value)| {
            router.layer(SetResponseHeaderLayer::overriding(
                name,
                HeaderValue::from_static(value),
            ))
        })
}

/// The CSRF layer trusting `config`'s origins, answering with a problem document.
pub(crate) fn csrf(
    config: &WebConfig,
) -> CsrfLayer<impl Fn(ProtectionError) -> axum::response::Response + Clone + use<>> {
    let layer = config
        .trusted_origins()
        .fold(CsrfLayer::new(), |layer, origin| {
            // Origins were checked when the configuration was built.
            layer.clone().add_trusted_origin(origin).unwrap_or(layer)
        });
    layer.with_rejection_response(|_: ProtectionError| {
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
