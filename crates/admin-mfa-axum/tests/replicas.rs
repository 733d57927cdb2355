//! Two routers on two `MfaService`s over one PostgreSQL schema: every request of an
//! enrolment and an MFA login alternates between them, so no state may live in either
//! process. Runs when `ADMIN_MFA_TEST_POSTGRES_URL` is set, prints one skip line when it is
//! not, and fails under `ADMIN_MFA_REQUIRE_EXTERNAL=1` when PostgreSQL is missing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    unreachable_pub,
    reason = "tests"
)]

mod common;

use std::sync::Arc;

use admin_mfa::ports::{AdminStore, Clock};
use admin_mfa::totp::{OtpauthUri, generate};
use admin_mfa_memory::{ManualClock, RecordingMailer};
use admin_mfa_sqlx::PostgresStore;
use admin_mfa_testkit::PgSchema;
use axum::Router;
use axum::http::Method;
use common::*;
use serde_json::json;

const URL_VAR: &str = "ADMIN_MFA_TEST_POSTGRES_URL";

fn postgres_url() -> Option<String> {
    let required = std::env::var("ADMIN_MFA_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1");
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if required => panic!("ADMIN_MFA_REQUIRE_EXTERNAL=1 but {URL_VAR} is not set"),
        _ => None,
    }
}

/// A store with a pool of its own in `schema`: one per replica.
async fn store(schema: &PgSchema) -> PostgresStore {
    PostgresStore::connect_with(schema.options(), 4)
        .await
        .expect("the postgres store connects and migrates")
}

/// Two replicas and a browser that sends request `n` to replica `n % 2`.
struct Alternating {
    apps: [Router; 2],
    next: usize,
    browser: Browser,
}

impl Alternating {
    fn app(&mut self) -> Router {
        let app = self.apps[self.next % 2].clone();
        self.next += 1;
        app
    }

    async fn post(&mut self, path: &str, body: serde_json::Value) -> Answer {
        let app = self.app();
        self.browser.post(&app, path, body).await
    }

    async fn send(&mut self, method: Method, path: &str) -> Answer {
        let app = self.app();
        self.browser.send(&app, method, path, None).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_serve_alternate_requests_without_sticky_sessions() {
    let Some(url) = postgres_url() else {
        println!("skipped: {URL_VAR} is not set (the two-replica test needs PostgreSQL)");
        return;
    };
    let schema = PgSchema::fresh(&url, "admin_mfa_axum_test").await;
    let mailer = Arc::new(RecordingMailer::new());
    let clock = Arc::new(ManualClock::new(T0));
    let a = service(
        Arc::new(store(&schema).await) as Arc<dyn AdminStore>,
        &mailer,
        &clock,
    );
    let b = service(
        Arc::new(store(&schema).await) as Arc<dyn AdminStore>,
        &mailer,
        &clock,
    );
    bootstrap(&a).await;
    let mut web = Alternating {
        apps: [app(Arc::clone(&a)), app(Arc::clone(&b))],
        next: 0,
        browser: Browser::default(),
    };
    let code =
        |app: &OtpauthUri| generate(app.secret(), app.params(), clock.now().as_secs()).to_string();
    let login = json!({ "email": ADA, "password": PASSWORD });

    // Enrolment: login (A), link opened (B), identity (A), completed (B).
    let first = web.post("/login", login.clone()).await;
    assert_eq!(first.json()["status"], "setup_required");
    let link = last_link(&b, &mailer).await;
    let opened = web.send(Method::GET, &format!("/link?token={link}")).await;
    assert_eq!(opened.status, 200);
    let shown = web
        .post(
            "/link/identity",
            json!({ "token": link, "email": ADA, "password": PASSWORD }),
        )
        .await;
    assert_eq!(shown.status, 200);
    let totp = OtpauthUri::parse(shown.json()["otpauth_uri"].as_str().unwrap()).unwrap();
    let done = web
        .post(
            "/link/complete",
            json!({ "token": link, "code": code(&totp) }),
        )
        .await;
    assert_eq!(done.status, 200, "{}", String::from_utf8_lossy(&done.body));

    // MFA login: password (A), code (B), then the session on both.
    clock.advance(30);
    let challenged = web.post("/login", login).await;
    assert_eq!(challenged.json()["status"], "code_required");
    let verified = web
        .post("/login/verify", json!({ "code": code(&totp) }))
        .await;
    assert_eq!(
        verified.status,
        200,
        "{}",
        String::from_utf8_lossy(&verified.body)
    );
    for _ in 0..2 {
        let me = web.send(Method::GET, "/session").await;
        assert_eq!(me.status, 200);
        assert_eq!(me.json()["factors"], json!(["password", "totp"]));
    }
    let widget = web.send(Method::GET, "/widget").await;
    assert_eq!(widget.status, 200);

    // Signed out on one, signed out on both.
    assert_eq!(web.send(Method::POST, "/logout").await.status, 204);
    web.send(Method::GET, "/session")
        .await
        .problem(401, "session_expired");

    drop(schema);
}
