//! A browser for `tower::ServiceExt::oneshot`: same-origin headers and a cookie jar.

#![allow(dead_code, reason = "each test binary uses part of the harness")]

use std::collections::BTreeMap;
use std::sync::Arc;

use admin_mfa::lifecycle::{KeyId, KeyRing, SealingKey};
use admin_mfa::ports::{AdminStore, Clock, Mailer};
use admin_mfa::{BuiltinRole, MfaConfig, MfaService, NewAdmin, OrgId, Password, Role, UnixTime};
use admin_mfa_axum::{MfaWeb, WebConfig, api_router};
use admin_mfa_memory::{ManualClock, RecordingMailer};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, Response, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

pub const ORIGIN: &str = "https://admin.example.com";
pub const PASSWORD: &str = "correct horse battery staple";
pub const ADA: &str = "ada@example.com";
pub const T0: UnixTime = UnixTime::from_secs(1_700_000_010);

pub fn org() -> OrgId {
    OrgId::from_bytes([1; 16])
}

pub fn password() -> Password {
    Password::new(PASSWORD).unwrap()
}

pub fn keys() -> KeyRing {
    KeyRing::new(SealingKey::new(KeyId::new(1), [7; 32]))
}

/// A service over `store` with the shared mailer and clock.
pub fn service(
    store: Arc<dyn AdminStore>,
    mailer: &Arc<RecordingMailer>,
    clock: &Arc<ManualClock>,
) -> Arc<MfaService> {
    let config = MfaConfig::builder("ACME", "https://admin.example.com/mfa/link")
        .build()
        .unwrap();
    Arc::new(
        MfaService::builder(
            config,
            store,
            Arc::clone(mailer) as Arc<dyn Mailer>,
            Arc::clone(clock) as Arc<dyn Clock>,
            Arc::new(keys()),
        )
        .build(),
    )
}

/// The API under `/api/mfa`, as a host mounts it.
pub fn app(service: Arc<MfaService>) -> Router {
    let config = WebConfig::new(ORIGIN).unwrap().default_org(org());
    Router::new().nest("/api/mfa", api_router(MfaWeb::new(service, config)))
}

pub async fn bootstrap(service: &MfaService) {
    service
        .bootstrap_admin(
            org(),
            NewAdmin {
                email: ADA.into(),
                display_name: "Ada".into(),
                role: Role::Builtin(BuiltinRole::AdministratorWithBilling),
                password: password(),
            },
        )
        .await
        .unwrap();
}

/// The token of the last link e-mailed (after delivering the outbox).
pub async fn last_link(service: &MfaService, mailer: &RecordingMailer) -> String {
    service.dispatch_emails().await.unwrap();
    let text = mailer.sent().last().unwrap().text.clone();
    let at = text.find("token=").unwrap() + "token=".len();
    text[at..at + 43].to_owned()
}

/// One answer: status, headers, body bytes.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// Asserts a problem document with this status and code.
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("content-type"), "application/problem+json");
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["status"], status);
        body
    }
}

/// A browser on the public origin: same-origin fetch metadata and a cookie jar.
#[derive(Default)]
pub struct Browser {
    pub jar: BTreeMap<String, String>,
}

impl Browser {
    pub async fn send(
        &mut self,
        app: &Router,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("/api/mfa{path}"))
            .header(header::HOST, "admin.example.com")
            .header("sec-fetch-site", "same-origin")
            .header(header::ORIGIN, ORIGIN);
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header(header::COOKIE, cookies.join("; "));
        }
        let req = match body {
            Some(json) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let answer = read(app.clone().oneshot(req).await.unwrap()).await;
        for set in answer.set_cookies() {
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || set.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
        answer
    }

    pub async fn get(&mut self, app: &Router, path: &str) -> Answer {
        self.send(app, Method::GET, path, None).await
    }

    pub async fn post(&mut self, app: &Router, path: &str, body: Value) -> Answer {
        self.send(app, Method::POST, path, Some(body)).await
    }
}

pub async fn read(response: Response<Body>) -> Answer {
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// Asserts the security headers every API response carries.
pub fn assert_security_headers(answer: &Answer) {
    for (name, value) in admin_mfa_axum::SECURITY_HEADERS {
        assert_eq!(answer.header(name.as_str()), value, "{name}");
    }
    assert!(
        answer
            .header("content-security-policy")
            .contains("frame-ancestors 'none'")
    );
}
