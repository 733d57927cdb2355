//! `protect_pages` and the public cookie helpers, as a server-rendered host uses them: HTML
//! forms posted the way a browser posts them, from the page's own origin and from others.

#![allow(clippy::unwrap_used, missing_docs, reason = "tests")]

use admin_mfa_axum::{CookieKind, PAGE_SECURITY_HEADERS, WebConfig, protect_pages};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use tower::ServiceExt;

const ORIGIN: &str = "http://127.0.0.1:8080";

fn pages() -> Router {
    let config = WebConfig::new(ORIGIN).unwrap();
    protect_pages(
        Router::new()
            .route("/", get(|| async { "home" }))
            .route("/admins/require", post(|body: String| async move { body })),
        &config,
    )
}

/// A form post with the headers a browser sends, `site` being its `Sec-Fetch-Site`.
async fn post_form(origin: &str, site: &str) -> Response {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/admins/require")
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::ORIGIN, origin)
        .header("sec-fetch-site", site)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("admin=1&admin=2"))
        .unwrap();
    pages().oneshot(request).await.unwrap()
}

async fn text(response: Response) -> String {
    String::from_utf8(
        to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap()
}

fn assert_page_headers(headers: &HeaderMap) {
    for (name, value) in PAGE_SECURITY_HEADERS {
        assert_eq!(headers.get(&name).unwrap(), value, "{name}");
    }
    let csp = headers.get(header::CONTENT_SECURITY_POLICY).unwrap();
    let csp = csp.to_str().unwrap();
    assert!(
        csp.contains("form-action 'self'") && !csp.contains("script-src"),
        "{csp}"
    );
}

#[tokio::test]
async fn a_form_from_the_pages_own_origin_passes() {
    let response = post_form(ORIGIN, "same-origin").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_page_headers(response.headers());
    assert_eq!(text(response).await, "admin=1&admin=2");
}

#[tokio::test]
async fn a_form_from_another_origin_is_refused_with_a_page() {
    // Another port of the same host is the same site but another origin; another host is
    // another site. Both are refused before the handler runs.
    for (origin, site) in [
        ("http://127.0.0.1:9999", "same-site"),
        ("http://evil.example", "cross-site"),
    ] {
        let response = post_form(origin, site).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin}");
        assert_page_headers(response.headers());
        assert!(
            response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let body = text(response).await;
        assert!(body.contains("cross_origin_request"), "{body}");
        assert!(!body.contains("admin=1"), "{body}");
    }
}

#[tokio::test]
async fn pages_get_their_headers_on_reads_too() {
    let response = pages()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_page_headers(response.headers());
}

#[test]
fn a_host_sets_reads_and_clears_the_cookies() {
    let config = WebConfig::new(ORIGIN).unwrap();
    let set = config.set_cookie(CookieKind::Session, "sealed", 600);
    let set = set.to_str().unwrap();
    assert!(set.starts_with("mfa-session=sealed;"), "{set}");
    let mut headers = HeaderMap::new();
    headers.insert(
        header::COOKIE,
        HeaderValue::from_static("mfa-session=sealed"),
    );
    assert_eq!(
        config.read_cookie(&headers, CookieKind::Session).as_deref(),
        Some("sealed")
    );
    assert_eq!(config.read_cookie(&headers, CookieKind::Setup), None);
    let clear = config.clear_cookie(CookieKind::Session);
    assert!(clear.to_str().unwrap().contains("Max-Age=0"));
}
