//! The axum 0.8 web layer of [`admin_mfa`]: a host writes routes, not glue.
//!
//! - [`ApiError`]: every [`admin_mfa::Error`] as a status and an RFC 9457
//!   `application/problem+json` body that never carries internals ([the table](problem)).
//! - Login state in cookies: the service's sealed [`PortableToken`](admin_mfa::PortableToken)s
//!   in `__Host-` cookies, `Secure`, `HttpOnly`, `SameSite=Strict` ([`cookies`]); so any
//!   replica on the same store and keys serves any request, without sticky sessions.
//! - Extractors for the host's own routes: [`CurrentAdmin`] (a session re-checked against the
//!   store) and [`PendingChallenge`].
//! - [`api_router`]: the JSON API for the whole story, with a CSRF check on every write and
//!   security headers on every response ([`layers`]), mountable under any prefix.
//! - [`spawn_dispatcher`]: the e-mail outbox delivered in the background.
//! - For a host's own server-rendered pages: [`protect_pages`] (the same CSRF check in front
//!   of HTML forms, page security headers) and the cookie helpers of [`WebConfig`]
//!   ([`WebConfig::set_cookie`], [`WebConfig::read_cookie`]). The reference portal
//!   (`examples/portal`, `cargo run -p admin-mfa-portal`) is built on them.
//!
//! # Getting started
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use admin_mfa::lifecycle::{KeyId, KeyRing, SealingKey};
//! use admin_mfa::ports::SystemClock;
//! use admin_mfa::{MfaConfig, MfaService, OrgId};
//! use admin_mfa_axum::{MfaWeb, WebConfig, api_router, spawn_dispatcher};
//! use admin_mfa_memory::{MemoryStore, RecordingMailer};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = Arc::new(
//!     MfaService::builder(
//!         MfaConfig::builder("ACME Admin Portal", "https://admin.example.com/mfa/link").build()?,
//!         Arc::new(MemoryStore::new()),     // or admin_mfa_sqlx::PostgresStore
//!         Arc::new(RecordingMailer::new()), // or admin_mfa_lettre::SmtpMailer
//!         Arc::new(SystemClock),
//!         Arc::new(KeyRing::new(SealingKey::new(KeyId::new(1), [7; 32]))), // from your vault
//!     )
//!     .build(),
//! );
//! let web = MfaWeb::new(
//!     Arc::clone(&service),
//!     WebConfig::new("https://admin.example.com")?.default_org(OrgId::from_bytes([1; 16])),
//! );
//! let app = axum::Router::new().nest("/api/mfa", api_router(web));
//!
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let outbox = spawn_dispatcher(service, Duration::from_secs(5), async {
//!     let _ = stopped.await;
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! let _ = stop.send(());
//! outbox.await?;
//! # Ok(())
//! # }
//! ```
//!
//! The crate's `server` example runs the whole story on the memory store:
//! `cargo run -p admin-mfa-axum --example server`.
//!
//! # The routes
//!
//! Bodies are JSON; answers are JSON, or a problem document on error ([`ApiError`]). Routes
//! marked *session* need the session cookie ([`CurrentAdmin`]); *challenge*, the challenge
//! cookie ([`PendingChallenge`]). Ids are uuids, times Unix seconds.
//!
//! | Route | Needs | Request → response |
//! |---|---|---|
//! | `POST /login` | | `{"email":"ada@example.com","password":"…","org":"<uuid, optional>"}` → `{"status":"code_required","expires_at":1700000310}` with the challenge cookie, or `{"status":"signed_in","session":{…}}` with the session cookie, or `{"status":"setup_required"}` (check your e-mail) |
//! | `POST /login/verify` | challenge | `{"code":"123456"}` → `{"status":"signed_in","session":{"admin":"…","org":"…","factors":["password","totp"],"authenticated_at":1700000040}}`, session cookie set, challenge cookie removed |
//! | `POST /login/reset` | challenge | (no body) → 202 `{"status":"reset_requested"}`: a reset link is e-mailed |
//! | `POST /logout` | | (no body) → 204, every login cookie removed |
//! | `GET /session` | session | → `{"admin":"…","org":"…","factors":["password","totp"],"authenticated_at":1700000040}` |
//! | `POST /session/reauthenticate` | session | `{"code":"123456"}` → as `/login/verify`, with a fresh login time |
//! | `GET /link?token=…` | | → `{"purpose":"setup","expires_at":1700086400}` (never consumes the link) |
//! | `POST /link/identity` | | `{"token":"…","email":"ada@example.com","password":"…"}` → `{"purpose":"setup","issuer":"ACME","account":"ada@example.com","otpauth_uri":"otpauth://totp/…","key":"JBSW…","qr_svg":"<svg…","qr_png_base64":"iVBOR…"}` and the setup cookie; `?qr=png` or `?qr=svg` answers the image alone |
//! | `POST /link/complete` | setup cookie | `{"token":"…","code":"123456"}` → `{"status":"enrolled","admin":"…","purpose":"setup"}` |
//! | `GET /widget?limit=50&after=<email>` | session | → `{"access":"actionable","enabled":true,"count":2,"admins":{"items":[{"id":"…","email":"…","display_name":"…","role":"manager","created_at":…}],"next":null}}` |
//! | `PUT /widget` | session | `{"enabled":false}` → `{"enabled":false,"changed":true}` |
//! | `POST /admins` | session | `{"email":"bob@example.com","display_name":"Bob","role":"manager","password":"…"}` → 201 `{"id":"…","mfa_required":true,"emails_queued":1}` |
//! | `POST /admins/mfa/require` | session | `{"admins":["<uuid>","<uuid>"]}` → `{"newly_required":1,"items":[{"admin":"…","result":"required"},{"admin":"…","result":"failed","status":403,"code":"forbidden"}]}` |
//! | `POST /admins/{id}/mfa/enable` | session | (no body) → `{"changed":true,"emails_queued":1,"email_rate_limited_until":null}` |
//! | `POST /admins/{id}/mfa/reset` | session | (no body) → as enable |
//! | `POST /admins/{id}/mfa/unlock` | session | (no body) → as enable |
//! | `DELETE /admins/{id}/mfa/requirement` | session | (no body) → as enable |
//! | `GET /audit?limit=50&after=<cursor>` | session | → `{"events":[{"at":…,"org":"…","actor":"…","target":"…","kind":{"kind":"mfa_enabled"}}],"next":17}` |
//!
//! Every state-changing route passes the CSRF check first; a body that does not parse is a
//! 422 naming `body` (or the field); an unknown admin id in a path is a 404.
//!
//! # Where the state lives
//!
//! Nothing is kept in process: the challenge between password and code, the session and the
//! proof of a link's identity step travel sealed in cookies, and everything else is in the
//! store. Two routers on two services sharing one database and one key ring serve any
//! mix of requests (the `replicas` test alternates every request of an enrolment and an MFA
//! login between two). Signing out removes the cookies; a session from before an enrolment,
//! reset or lockout is refused by [`CurrentAdmin`] at the next request.

pub mod cookies;
mod dispatcher;
mod extract;
pub mod layers;
pub mod problem;
mod state;

mod api;

pub use api::api_router;
pub use cookies::{CookieKind, MAX_SESSION_LIFETIME_SECS, WebConfig, WebConfigError};
pub use dispatcher::spawn_dispatcher;
pub use extract::{CurrentAdmin, PendingChallenge};
pub use layers::{PAGE_SECURITY_HEADERS, SECURITY_HEADERS, protect_pages, security_headers};
pub use problem::{ApiError, PROBLEM_JSON};
pub use state::MfaWeb;

/// The README's example, run as a doctest so it keeps up with the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
