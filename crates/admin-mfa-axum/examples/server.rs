//! A host a developer can copy: the MFA API under `/api/mfa` on the memory store, the first
//! admin bootstrapped, e-mails delivered in the background (printed here instead of sent),
//! and one route of the host's own behind `CurrentAdmin`.
//!
//! ```text
//! cargo run -p admin-mfa-axum --example server
//! curl -si -c jar -b jar -H 'content-type: application/json' \
//!      -d '{"email":"ada@example.com","password":"correct horse battery staple"}' \
//!      http://127.0.0.1:3000/api/mfa/login
//! ```
//!
//! The first login answers `setup_required` and the setup link is printed; post its token to
//! `/api/mfa/link/identity`, scan the QR code, post a code to `/api/mfa/link/complete`, and
//! log in again. Ctrl-C stops the server and the dispatcher cleanly.

use std::sync::Arc;
use std::time::Duration;

use admin_mfa::lifecycle::{KeyId, KeyRing, SealingKey};
use admin_mfa::ports::{EmailMessage, MailError, Mailer, SystemClock};
use admin_mfa::{BuiltinRole, MfaConfig, MfaService, NewAdmin, OrgId, Password, Role};
use admin_mfa_axum::{ApiError, CurrentAdmin, MfaWeb, WebConfig, api_router, spawn_dispatcher};
use admin_mfa_memory::MemoryStore;
use axum::Router;
use axum::routing::get;

const ORIGIN: &str = "http://127.0.0.1:3000";

/// Prints each e-mail's text instead of sending it (use `admin_mfa_lettre` in production).
#[derive(Debug)]
struct PrintMailer;

#[async_trait::async_trait]
impl Mailer for PrintMailer {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        println!("--- e-mail to {} ---\n{}\n---", message.to, message.text);
        Ok(())
    }
}

/// A route of the host's own: who is signed in.
async fn hello(CurrentAdmin(session): CurrentAdmin) -> Result<String, ApiError> {
    Ok(format!(
        "hello, admin {} ({})\n",
        session.admin(),
        if session.used_mfa() {
            "with MFA"
        } else {
            "password only"
        }
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().init();

    // Load the sealing key from your secret manager; a fixed one is only for this demo.
    let keys = KeyRing::new(SealingKey::new(KeyId::new(1), [7; 32]));
    let config = MfaConfig::builder("ACME Admin Portal", format!("{ORIGIN}/mfa/link")).build()?;
    let service = Arc::new(
        MfaService::builder(
            config,
            Arc::new(MemoryStore::new()),
            Arc::new(PrintMailer),
            Arc::new(SystemClock),
            Arc::new(keys),
        )
        .build(),
    );

    let org = OrgId::from_bytes([1; 16]);
    let first = NewAdmin {
        email: "ada@example.com".into(),
        display_name: "Ada".into(),
        role: Role::Builtin(BuiltinRole::AdministratorWithBilling),
        password: Password::new("correct horse battery staple")?,
    };
    service.bootstrap_admin(org, first).await?;

    // Plain HTTP is accepted on loopback only; serve `https://` origins everywhere else.
    let web = MfaWeb::new(
        Arc::clone(&service),
        WebConfig::new(ORIGIN)?.default_org(org),
    );
    let app = Router::new()
        .route("/hello", get(hello))
        .with_state(web.clone())
        .nest("/api/mfa", api_router(web));

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let outbox = spawn_dispatcher(service, Duration::from_secs(2), async {
        let _ = stopped.await;
    });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on {ORIGIN}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    let _ = stop.send(());
    outbox.await?;
    Ok(())
}
