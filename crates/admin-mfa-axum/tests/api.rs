//! The JSON API through `tower::ServiceExt::oneshot`: every route, the statuses of the
//! problem table, the cookies, the CSRF check and the security headers.

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
use std::time::Duration;

use admin_mfa::MfaService;
use admin_mfa::ports::Clock;
use admin_mfa::totp::{OtpauthUri, generate};
use admin_mfa_memory::{ManualClock, MemoryStore, RecordingMailer};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use common::*;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Rig {
    service: Arc<MfaService>,
    mailer: Arc<RecordingMailer>,
    clock: Arc<ManualClock>,
    app: Router,
}

fn rig() -> Rig {
    let mailer = Arc::new(RecordingMailer::new());
    let clock = Arc::new(ManualClock::new(T0));
    let service = service(Arc::new(MemoryStore::new()), &mailer, &clock);
    let app = app(Arc::clone(&service));
    Rig {
        service,
        mailer,
        clock,
        app,
    }
}

impl Rig {
    fn code(&self, app: &OtpauthUri) -> String {
        generate(app.secret(), app.params(), self.clock.now().as_secs()).to_string()
    }

    /// Ada enrolled through the link routes; the app.
    async fn enrol(&self, browser: &mut Browser) -> OtpauthUri {
        let link = last_link(&self.service, &self.mailer).await;
        let identity = json!({ "token": link, "email": ADA, "password": PASSWORD });
        let shown = browser.post(&self.app, "/link/identity", identity).await;
        assert_eq!(shown.status, 200);
        let app = OtpauthUri::parse(shown.json()["otpauth_uri"].as_str().unwrap()).unwrap();
        let done = browser
            .post(
                &self.app,
                "/link/complete",
                json!({ "token": link, "code": self.code(&app) }),
            )
            .await;
        assert_eq!(done.status, 200, "{}", String::from_utf8_lossy(&done.body));
        app
    }

    /// Ada signed in with MFA.
    async fn signed_in(&self) -> (Browser, OtpauthUri) {
        bootstrap(&self.service).await;
        let mut browser = Browser::default();
        let _ = browser.post(&self.app, "/login", login_body()).await;
        let app = self.enrol(&mut browser).await;
        self.clock.advance(30);
        let _ = browser.post(&self.app, "/login", login_body()).await;
        let verified = browser
            .post(
                &self.app,
                "/login/verify",
                json!({ "code": self.code(&app) }),
            )
            .await;
        assert_eq!(verified.status, 200);
        (browser, app)
    }

    async fn id_of(&self, email: &str) -> String {
        let email = admin_mfa::Email::parse(email).unwrap();
        let admin = self
            .service
            .store()
            .admin_by_email(org(), &email)
            .await
            .unwrap()
            .unwrap();
        admin.value.id.to_string()
    }
}

fn login_body() -> Value {
    json!({ "email": ADA, "password": PASSWORD })
}

#[tokio::test]
async fn enrolment_and_mfa_login_through_the_routes() {
    let rig = rig();
    bootstrap(&rig.service).await;
    let mut browser = Browser::default();

    let first = browser.post(&rig.app, "/login", login_body()).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.json(), json!({ "status": "setup_required" }));
    assert!(first.set_cookies().is_empty());
    assert_security_headers(&first);

    // The link: opened (GET, never consumed), then the identity step in all three forms.
    let link = last_link(&rig.service, &rig.mailer).await;
    let opened = browser.get(&rig.app, &format!("/link?token={link}")).await;
    assert_eq!(opened.status, 200);
    assert_eq!(opened.json()["purpose"], "setup");
    assert_eq!(opened.header("referrer-policy"), "no-referrer");
    assert_eq!(opened.header("cache-control"), "no-store");
    let identity = json!({ "token": link, "email": ADA, "password": PASSWORD });
    let png = browser
        .post(&rig.app, "/link/identity?qr=png", identity.clone())
        .await;
    assert_eq!(png.status, 200);
    assert_eq!(png.header("content-type"), "image/png");
    assert!(png.body.starts_with(b"\x89PNG"));
    assert_eq!(png.header("cache-control"), "no-store");
    let svg = browser
        .post(&rig.app, "/link/identity?qr=svg", identity.clone())
        .await;
    assert_eq!(svg.header("content-type"), "image/svg+xml");
    assert!(String::from_utf8_lossy(&svg.body).contains("<svg"));
    let shown = browser.post(&rig.app, "/link/identity", identity).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.header("cache-control"), "no-store");
    let body = shown.json();
    for field in ["otpauth_uri", "key", "qr_svg", "qr_png_base64"] {
        assert!(
            body[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field}"
        );
    }
    let setup_cookie = shown.set_cookies().join("\n");
    for part in [
        "__Host-mfa-setup=",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(setup_cookie.contains(part), "{setup_cookie} lacks {part}");
    }
    let app = OtpauthUri::parse(body["otpauth_uri"].as_str().unwrap()).unwrap();

    // Without the setup cookie the code step is refused, and nothing is counted.
    let mut stranger = Browser::default();
    let complete = json!({ "token": link, "code": rig.code(&app) });
    stranger
        .post(&rig.app, "/link/complete", complete.clone())
        .await
        .problem(401, "session_expired");
    let done = browser.post(&rig.app, "/link/complete", complete).await;
    assert_eq!(done.status, 200);
    assert_eq!(done.json()["status"], "enrolled");
    assert!(!browser.jar.contains_key("__Host-mfa-setup"));

    // MFA login: the challenge lives in a cookie.
    rig.clock.advance(30);
    let challenged = browser.post(&rig.app, "/login", login_body()).await;
    assert_eq!(challenged.json()["status"], "code_required");
    let cookie = challenged.set_cookies().join("\n");
    for part in [
        "__Host-mfa-challenge=",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    browser
        .post(&rig.app, "/login/verify", json!({ "code": "000000" }))
        .await
        .problem(401, "invalid_code");
    let verified = browser
        .post(&rig.app, "/login/verify", json!({ "code": rig.code(&app) }))
        .await;
    assert_eq!(verified.status, 200);
    assert_eq!(
        verified.json()["session"]["factors"],
        json!(["password", "totp"])
    );
    assert!(browser.jar.contains_key("__Host-mfa-session"));
    assert!(!browser.jar.contains_key("__Host-mfa-challenge"));

    let me = browser.get(&rig.app, "/session").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["admin"], rig.id_of(ADA).await);

    // A fresh code renews the session's login time.
    rig.clock.advance(30);
    let renewed = browser
        .post(
            &rig.app,
            "/session/reauthenticate",
            json!({ "code": rig.code(&app) }),
        )
        .await;
    assert_eq!(renewed.status, 200);

    // Sign-out removes every cookie; the session is gone.
    let out = browser.send(&rig.app, Method::POST, "/logout", None).await;
    assert_eq!(out.status, 204);
    assert_eq!(out.set_cookies().len(), 3);
    assert!(browser.jar.is_empty());
    browser
        .get(&rig.app, "/session")
        .await
        .problem(401, "session_expired");
}

#[tokio::test]
async fn reset_at_the_prompt_sends_a_link() {
    let rig = rig();
    let (mut browser, _) = rig.signed_in().await;
    rig.service.dispatch_emails().await.unwrap();
    let sent = rig.mailer.sent().len();
    let _ = browser.post(&rig.app, "/login", login_body()).await;
    let reset = browser
        .send(&rig.app, Method::POST, "/login/reset", None)
        .await;
    assert_eq!(reset.status, 202);
    rig.service.dispatch_emails().await.unwrap();
    assert_eq!(rig.mailer.sent().len(), sent + 1);
    assert!(rig.mailer.sent().last().unwrap().text.contains("token="));
    // Without a challenge cookie there is nothing to reset.
    Browser::default()
        .send(&rig.app, Method::POST, "/login/reset", None)
        .await
        .problem(401, "session_expired");
}

#[tokio::test]
async fn management_routes() {
    let rig = rig();
    let (mut ada, _) = rig.signed_in().await;

    let bob = json!({ "email": "bob@example.com", "display_name": "Bob", "role": "manager", "password": PASSWORD });
    let created = ada.post(&rig.app, "/admins", bob.clone()).await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(created.json()["mfa_required"], true);
    let bob_id = created.json()["id"].as_str().unwrap().to_owned();
    ada.post(&rig.app, "/admins", bob)
        .await
        .problem(409, "email_taken");

    let widget = ada.get(&rig.app, "/widget?limit=10").await;
    assert_eq!(widget.status, 200);
    assert_eq!(widget.json()["access"], "actionable");
    assert_eq!(widget.json()["enabled"], true);
    let off = ada
        .send(
            &rig.app,
            Method::PUT,
            "/widget",
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(off.json(), json!({ "enabled": false, "changed": true }));

    let removed = ada
        .send(
            &rig.app,
            Method::DELETE,
            &format!("/admins/{bob_id}/mfa/requirement"),
            None,
        )
        .await;
    assert_eq!(
        removed.status,
        200,
        "{}",
        String::from_utf8_lossy(&removed.body)
    );
    assert_eq!(removed.json()["changed"], true);
    let widget = ada.get(&rig.app, "/widget").await;
    assert_eq!(widget.json()["count"], 1);
    assert_eq!(
        widget.json()["admins"]["items"][0]["email"],
        "bob@example.com"
    );

    let required = ada
        .post(
            &rig.app,
            "/admins/mfa/require",
            json!({ "admins": [bob_id] }),
        )
        .await;
    assert_eq!(required.status, 200);
    assert_eq!(required.json()["items"][0]["result"], "required");
    let enabled = ada
        .send(
            &rig.app,
            Method::POST,
            &format!("/admins/{bob_id}/mfa/enable"),
            None,
        )
        .await;
    assert_eq!(enabled.status, 200);
    assert!(enabled.json()["changed"].is_boolean());
    assert!(enabled.json()["emails_queued"].is_u64());
    let reset = ada
        .send(
            &rig.app,
            Method::POST,
            &format!("/admins/{bob_id}/mfa/reset"),
            None,
        )
        .await;
    assert_eq!(
        reset.status,
        200,
        "{}",
        String::from_utf8_lossy(&reset.body)
    );
    ada.send(
        &rig.app,
        Method::POST,
        &format!("/admins/{bob_id}/mfa/unlock"),
        None,
    )
    .await
    .problem(409, "not_applicable");

    let audit = ada.get(&rig.app, "/audit?limit=100").await;
    assert_eq!(audit.status, 200);
    let events = audit.json()["events"].as_array().unwrap().len();
    assert!(events > 5, "{events}");
    let page = ada.get(&rig.app, "/audit?limit=2").await;
    assert_eq!(page.json()["events"].as_array().unwrap().len(), 2);
    let next = page.json()["next"].as_u64().unwrap();
    let rest = ada
        .get(&rig.app, &format!("/audit?limit=100&after={next}"))
        .await;
    assert_eq!(rest.json()["events"].as_array().unwrap().len(), events - 2);
}

#[tokio::test]
async fn the_problem_table() {
    let rig = rig();
    let (mut ada, app) = rig.signed_in().await;
    let ada_id = rig.id_of(ADA).await;

    // 401: one answer for a wrong password or an unknown address.
    let mut anon = Browser::default();
    let wrong = anon
        .post(
            &rig.app,
            "/login",
            json!({ "email": ADA, "password": "wrong" }),
        )
        .await
        .problem(401, "invalid_credentials");
    let unknown = anon
        .post(
            &rig.app,
            "/login",
            json!({ "email": "who@example.com", "password": "wrong" }),
        )
        .await
        .problem(401, "invalid_credentials");
    assert_eq!(wrong, unknown);
    assert_eq!(wrong.as_object().unwrap().len(), 4, "{wrong}");
    anon.get(&rig.app, "/session")
        .await
        .problem(401, "session_expired");
    anon.jar
        .insert("__Host-mfa-session".into(), "not-a-token".into());
    anon.get(&rig.app, "/session")
        .await
        .problem(401, "session_expired");
    anon.get(&rig.app, "/link?token=nope")
        .await
        .problem(401, "invalid_credentials");

    // 403 with the policy's reason: no session removes its own requirement (G8).
    let own = ada
        .send(
            &rig.app,
            Method::DELETE,
            &format!("/admins/{ada_id}/mfa/requirement"),
            None,
        )
        .await
        .problem(403, "forbidden");
    assert!(own["detail"].as_str().unwrap().contains("G8"), "{own}");
    assert_eq!(own["action"], "disable-mfa-requirement");

    // 404: an unknown admin, or no admin id at all.
    let nobody = "00000000-0000-4000-8000-000000000000";
    ada.send(
        &rig.app,
        Method::POST,
        &format!("/admins/{nobody}/mfa/enable"),
        None,
    )
    .await
    .problem(404, "not_found");
    ada.send(&rig.app, Method::POST, "/admins/not-an-id/mfa/enable", None)
        .await
        .problem(404, "not_found");

    // 422 naming the field.
    let bad_role = json!({ "email": "c@example.com", "display_name": "C", "role": "manger", "password": PASSWORD });
    let p = ada
        .post(&rig.app, "/admins", bad_role)
        .await
        .problem(422, "invalid_input");
    assert_eq!(p["field"], "role");
    let bad_email = json!({ "email": "not an address", "display_name": "C", "role": "manager", "password": PASSWORD });
    let p = ada
        .post(&rig.app, "/admins", bad_email)
        .await
        .problem(422, "invalid_input");
    assert_eq!(p["field"], "email");
    assert!(
        !p.to_string().contains("not an address"),
        "the value is never echoed: {p}"
    );
    let p = anon
        .post(&rig.app, "/login", json!({ "email": 1 }))
        .await
        .problem(422, "invalid_input");
    assert_eq!(p["field"], "body");
    let p = anon
        .post(
            &rig.app,
            "/login",
            json!({ "email": ADA, "password": PASSWORD, "org": "acme" }),
        )
        .await
        .problem(422, "invalid_input");
    assert_eq!(p["field"], "org");
    let p = ada
        .get(&rig.app, "/audit?limit=many")
        .await
        .problem(422, "invalid_input");
    assert_eq!(p["field"], "query");

    // 429 with Retry-After: codes are delayed after repeated failures.
    let mut retry = None;
    for _ in 0..10 {
        let answer = ada
            .post(
                &rig.app,
                "/session/reauthenticate",
                json!({ "code": "000000" }),
            )
            .await;
        if answer.status == 429 {
            retry = Some(answer);
            break;
        }
        answer.problem(401, "invalid_code");
    }
    let retry = retry.expect("a delay after repeated failures");
    let body = retry.problem(429, "retry_later");
    let at = std::time::UNIX_EPOCH + Duration::from_secs(body["retry_at"].as_u64().unwrap());
    assert_eq!(retry.header("retry-after"), httpdate::fmt_http_date(at));
    let _ = app;
}

#[tokio::test]
async fn cross_origin_writes_are_refused() {
    let rig = rig();
    bootstrap(&rig.service).await;
    let request = |site: Option<&str>, origin: Option<&str>, method: Method| {
        let mut req = Request::builder()
            .method(method)
            .uri("/api/mfa/login")
            .header(header::HOST, "admin.example.com")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(site) = site {
            req = req.header("sec-fetch-site", site);
        }
        if let Some(origin) = origin {
            req = req.header(header::ORIGIN, origin);
        }
        req.body(Body::from(login_body().to_string())).unwrap()
    };
    for (site, origin) in [
        (Some("cross-site"), Some("https://evil.example")),
        (Some("same-site"), Some("https://other.example.com")),
        (None, Some("https://evil.example")),
    ] {
        let answer = read(
            rig.app
                .clone()
                .oneshot(request(site, origin, Method::POST))
                .await
                .unwrap(),
        )
        .await;
        answer.problem(403, "cross_origin_request");
        assert_security_headers(&answer);
        assert!(answer.set_cookies().is_empty());
    }
    // The same request from the page itself, or from a client that is not a browser, passes.
    for (site, origin) in [
        (Some("same-origin"), Some(ORIGIN)),
        (None, Some(ORIGIN)),
        (None, None),
    ] {
        let answer = read(
            rig.app
                .clone()
                .oneshot(request(site, origin, Method::POST))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, 200, "{site:?} {origin:?}");
    }
    // Reads are never refused.
    let get = Request::builder()
        .uri("/api/mfa/session")
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .unwrap();
    let answer = read(rig.app.clone().oneshot(get).await.unwrap()).await;
    answer.problem(401, "session_expired");
}

#[tokio::test]
async fn the_router_mounts_under_any_prefix() {
    let rig = rig();
    let config = admin_mfa_axum::WebConfig::new(ORIGIN).unwrap();
    let web = admin_mfa_axum::MfaWeb::new(Arc::clone(&rig.service), config);
    for prefix in ["/", "/a", "/deep/er/mfa"] {
        let app = if prefix == "/" {
            admin_mfa_axum::api_router(web.clone())
        } else {
            Router::new().nest(prefix, admin_mfa_axum::api_router(web.clone()))
        };
        let path = format!("{}/session", prefix.trim_end_matches('/'));
        let req = Request::builder().uri(path).body(Body::empty()).unwrap();
        let answer = read(app.oneshot(req).await.unwrap()).await;
        answer.problem(401, "session_expired");
    }
}

#[tokio::test]
async fn a_login_without_org_needs_a_default() {
    let rig = rig();
    let config = admin_mfa_axum::WebConfig::new(ORIGIN).unwrap();
    let app = Router::new().nest(
        "/api/mfa",
        admin_mfa_axum::api_router(admin_mfa_axum::MfaWeb::new(
            Arc::clone(&rig.service),
            config,
        )),
    );
    let p = Browser::default()
        .post(&app, "/login", login_body())
        .await
        .problem(422, "invalid_input");
    assert_eq!(p["field"], "org");
    bootstrap(&rig.service).await;
    let with_org = json!({ "email": ADA, "password": PASSWORD, "org": org().to_string() });
    let answer = Browser::default().post(&app, "/login", with_org).await;
    assert_eq!(answer.json()["status"], "setup_required");
}

#[tokio::test]
async fn a_session_from_before_an_enrolment_is_refused() {
    let mailer = Arc::new(RecordingMailer::new());
    let clock = Arc::new(ManualClock::new(T0));
    let config = admin_mfa::MfaConfig::builder("ACME", "https://admin.example.com/mfa/link")
        .new_admins_require_mfa(false)
        .build()
        .unwrap();
    let service = Arc::new(
        MfaService::builder(
            config,
            Arc::new(MemoryStore::new()),
            Arc::clone(&mailer) as _,
            Arc::clone(&clock) as _,
            Arc::new(keys()),
        )
        .build(),
    );
    let rig = Rig {
        app: app(Arc::clone(&service)),
        service,
        mailer,
        clock,
    };
    bootstrap(&rig.service).await;
    let mut old = Browser::default();
    let signed = old.post(&rig.app, "/login", login_body()).await;
    assert_eq!(signed.json()["status"], "signed_in");
    let ada_id = rig.id_of(ADA).await;
    let enabled = old
        .send(
            &rig.app,
            Method::POST,
            &format!("/admins/{ada_id}/mfa/enable"),
            None,
        )
        .await;
    assert_eq!(enabled.status, 200);
    let mut other = Browser::default();
    rig.enrol(&mut other).await;
    // The cookie is still authentic and unexpired, but its epoch is over.
    old.get(&rig.app, "/session")
        .await
        .problem(401, "session_expired");
}
