//! Scenario 7: two portals on one PostgreSQL database behind a load balancer; the browser is
//! switched from one to the other in the middle of an enrolment and of an MFA login, so the
//! login state must travel in the sealed cookies. Runs when `ADMIN_MFA_TEST_POSTGRES_URL` is
//! set, prints one skip line when it is not, and fails under `ADMIN_MFA_REQUIRE_EXTERNAL=1`
//! when PostgreSQL or the browser is missing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    unreachable_pub,
    reason = "tests"
)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use admin_mfa::ports::AdminStore;
use admin_mfa_memory::RecordingMailer;
use admin_mfa_sqlx::PostgresStore;
use admin_mfa_testkit::PgSchema;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use support::*;

const URL_VAR: &str = "ADMIN_MFA_TEST_POSTGRES_URL";

fn postgres_url() -> Option<String> {
    let required = std::env::var("ADMIN_MFA_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1");
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if required => panic!("ADMIN_MFA_REQUIRE_EXTERNAL=1 but {URL_VAR} is not set"),
        _ => {
            eprintln!("skipped portal replicas: {URL_VAR} is not set");
            None
        }
    }
}

/// A load balancer: every request goes to the backend the test chose last.
#[derive(Clone)]
struct Balancer {
    backends: [std::net::SocketAddr; 2],
    target: Arc<AtomicUsize>,
    served: Arc<[AtomicUsize; 2]>,
    client: Client<HttpConnector, Body>,
}

impl Balancer {
    fn route_to(&self, backend: usize) {
        self.target.store(backend, Ordering::SeqCst);
    }

    fn served(&self, backend: usize) -> usize {
        self.served[backend].load(Ordering::SeqCst)
    }
}

async fn forward(State(lb): State<Balancer>, request: Request) -> Response {
    let backend = lb.target.load(Ordering::SeqCst);
    lb.served[backend].fetch_add(1, Ordering::SeqCst);
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("http://{}{path}", lb.backends[backend])
        .parse()
        .unwrap();
    // The Host header stays the balancer's: the portals' public origin.
    let answer = lb
        .client
        .request(Request::from_parts(parts, body))
        .await
        .unwrap();
    answer.map(Body::new)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_portals_share_the_login_state() {
    let Some(url) = postgres_url() else {
        return;
    };
    if !browser_available("two_portals_share_the_login_state") {
        return;
    }
    let schema = PgSchema::fresh(&url, "admin_mfa_portal_test").await;
    let store = || async {
        let store = PostgresStore::connect_with(schema.options(), 4).await;
        Arc::new(store.unwrap()) as Arc<dyn AdminStore>
    };

    let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", front.local_addr().unwrap());
    let clock = clock();
    let mailbox = Arc::new(RecordingMailer::new());
    let a = Running::behind(Some(&public), store().await, clock.clone(), mailbox.clone()).await;
    let b = Running::behind(Some(&public), store().await, clock.clone(), mailbox.clone()).await;
    let lb = Balancer {
        backends: [a.listening, b.listening],
        target: Arc::new(AtomicUsize::new(0)),
        served: Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]),
        client: Client::builder(TokioExecutor::new()).build_http(),
    };
    let app = axum::Router::new().fallback(forward).with_state(lb.clone());
    tokio::spawn(async move { axum::serve(front, app).await });

    a.seed_first("Ada Lovelace", ADA).await;
    let browser = Browser::start("7-replicas").await;

    // Enrolment: the password, the link and the QR code on A; the code on B.
    lb.route_to(0);
    sign_in(&browser, &a, ADA).await;
    browser.on_page("Set up MFA to continue").await;
    follow_mail(&browser, &a, ADA, "Set up").await;
    browser.on_page("Set Up MFA").await;
    let ada_app = scan_qr(&browser, ADA).await;
    let on_a = lb.served(0);
    lb.route_to(1);
    submit_setup_code(&browser, &a.code(&ada_app)).await;
    browser.on_page("MFA is set up").await;
    browser.shot("enrolled-on-b").await;
    assert!(
        lb.served(1) > 0 && lb.served(0) == on_a,
        "the code step went to B"
    );
    a.next_step();

    // MFA login: the password on B, the code on A, then Home from B.
    sign_in(&browser, &a, ADA).await;
    browser.on_page("Multi-factor authentication").await;
    lb.route_to(0);
    enter_code(&browser, &a.code(&ada_app)).await;
    browser.on_page("Home").await;
    browser.shot("signed-in-on-a").await;
    lb.route_to(1);
    browser.goto(&a.url("/admins")).await;
    browser.on_page("Administrators").await;
    assert!(
        browser
            .text("tr[data-email='ada@example.com'] td.mfa")
            .await
            == "required, enabled"
    );
    browser.shot("session-on-b").await;
    browser.close().await;
    drop(schema);
}
