//! The reference admin portal: the screens of JumpCloud's admin-portal MFA guide, rendered
//! on the server (maud, no JavaScript) on top of `admin-mfa-axum`.
//!
//! `cargo run -p admin-mfa-portal` serves it (see `main.rs` for the settings); the browser
//! tests in `tests/` drive it through headless Chromium. This library part is what both use:
//! [`Portal::new`] over a store, a mailer, a clock and the sealing keys, then
//! [`Portal::router`].
//!
//! | Screen | Route |
//! |---|---|
//! | First start: create the organization's first Administrator With Billing | `GET/POST /bootstrap` (one-time token printed on the console) |
//! | Sign in | `GET/POST /signin` |
//! | MFA prompt, with "Reset TOTP MFA" | `GET/POST /signin/mfa`, `POST /signin/reset` |
//! | Home, with the "Admins Without MFA Required" widget | `GET /home` |
//! | Home → Settings (widget on or off) | `GET/POST /home/settings` |
//! | The widget's list, Actions → Require MFA, confirmation, results | `GET /home/admins-without-mfa`, `POST /home/require`, `POST /home/require/confirm` |
//! | Administrators, Details, Save, Reset MFA, Unlock | `GET /admins`, `GET/POST /admins/{id}`, `POST /admins/{id}/reset`, `POST /admins/{id}/unlock` |
//! | New administrator | `GET/POST /admins/new` |
//! | Audit log | `GET /audit` |
//! | The e-mailed link: e-mail and password → QR code and key → code → done | `GET/POST /mfa/link`, `POST /mfa/link/complete` |
//! | Development mailbox (no SMTP, loopback only) | `GET /dev/mailbox` |
//!
//! Every page gets `admin-mfa-axum`'s CSRF check and page security headers
//! ([`admin_mfa_axum::protect_pages`]): `Referrer-Policy: no-referrer` (the link pages carry
//! the token in their URL) and `Cache-Control: no-store` (the QR page holds the secret).

mod directory;
mod error;
mod fields;
mod links;
mod login;
mod mailbox;
mod manage;
mod posture;
mod views;

use std::sync::{Arc, Mutex, PoisonError};

use admin_mfa::lifecycle::KeyRing;
use admin_mfa::ports::{AdminStore, Clock, Mailer};
use admin_mfa::{BuiltinRole, MfaConfig, MfaService, OrgId, Role};
use admin_mfa_axum::{MfaWeb, WebConfig, protect_pages};
use admin_mfa_memory::RecordingMailer;
use axum::Router;
use axum::http::header;
use axum::routing::{get, post};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The portal's one organization (a single-tenant host).
pub const ORG: OrgId = OrgId::from_bytes(*b"admin-mfa-portal");

/// The product name in e-mails, page titles and authenticator apps.
pub const PRODUCT: &str = "admin-mfa Portal";

/// Where e-mails go.
#[derive(Clone)]
pub enum Mail {
    /// Kept in memory and shown at `/dev/mailbox` (development; plain-http loopback only).
    Mailbox(Arc<RecordingMailer>),
    /// Sent by a real mailer (SMTP through `admin-mfa-lettre`); no mailbox page.
    Send(Arc<dyn Mailer>),
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Mailbox(_) => "Mail::Mailbox",
            Self::Send(_) => "Mail::Send",
        })
    }
}

/// What a portal runs on.
pub struct PortalSetup {
    /// The public origin, `http://127.0.0.1:8080` by default; links in e-mails start with it.
    pub origin: String,
    /// The store (SQLite, PostgreSQL or memory).
    pub store: Arc<dyn AdminStore>,
    /// Where e-mails go.
    pub mail: Mail,
    /// The clock (the system clock; tests set theirs).
    pub clock: Arc<dyn Clock>,
    /// The keys that seal TOTP secrets and the cookies' tokens.
    pub keys: KeyRing,
}

impl std::fmt::Debug for PortalSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalSetup")
            .field("origin", &self.origin)
            .field("mail", &self.mail)
            .finish_non_exhaustive()
    }
}

/// Why a portal could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The origin is not one `admin-mfa-axum` accepts.
    #[error("ADMIN_MFA_PORTAL_ORIGIN: {0}")]
    Origin(#[from] admin_mfa_axum::WebConfigError),
    /// The service configuration was refused.
    #[error("configuration: {0}")]
    Config(#[from] admin_mfa::MfaConfigError),
    /// The development mailbox on an origin other browsers could reach.
    #[error(
        "the development mailbox shows every e-mail with its link: it is only served on a \
         plain-http loopback origin; configure SMTP (ADMIN_MFA_SMTP_HOST) to serve elsewhere"
    )]
    MailboxOffLoopback,
}

/// The portal: the service, the web configuration, the mailbox and the bootstrap token.
/// Cheap to clone; every request handler gets one. Its `Debug` never shows the token.
#[derive(Clone)]
pub struct Portal {
    web: MfaWeb,
    mailbox: Option<Arc<RecordingMailer>>,
    bootstrap: Arc<Mutex<Option<Zeroizing<String>>>>,
}

impl std::fmt::Debug for Portal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal")
            .field("origin", &self.origin())
            .field("mailbox", &self.mailbox.is_some())
            .finish_non_exhaustive()
    }
}

impl Portal {
    /// A portal over `setup`.
    ///
    /// # Errors
    ///
    /// [`SetupError`] for an origin `admin-mfa-axum` refuses, or a mailbox on an origin that
    /// is not plain-http loopback.
    pub fn new(setup: PortalSetup) -> Result<Self, SetupError> {
        let web_config = WebConfig::new(&setup.origin)?.default_org(ORG);
        let (mailer, mailbox): (Arc<dyn Mailer>, _) = match setup.mail {
            Mail::Mailbox(_) if web_config.is_secure() => {
                return Err(SetupError::MailboxOffLoopback);
            }
            Mail::Mailbox(mailbox) => (Arc::clone(&mailbox) as _, Some(mailbox)),
            Mail::Send(mailer) => (mailer, None),
        };
        let config = MfaConfig::builder(PRODUCT, format!("{}/mfa/link", setup.origin))
            .support_contact("your organization's Administrator With Billing")
            .build()?;
        let service = MfaService::builder(
            config,
            setup.store,
            mailer,
            setup.clock,
            Arc::new(setup.keys),
        )
        .build();
        Ok(Self {
            web: MfaWeb::new(Arc::new(service), web_config),
            mailbox,
            bootstrap: Arc::new(Mutex::new(None)),
        })
    }

    /// The service.
    #[must_use]
    pub fn service(&self) -> &Arc<MfaService> {
        self.web.service()
    }

    /// The web layer's state (service and cookie configuration).
    #[must_use]
    pub fn web(&self) -> &MfaWeb {
        &self.web
    }

    /// The public origin.
    #[must_use]
    pub fn origin(&self) -> &str {
        self.web.config().origin()
    }

    /// The development mailbox, when e-mails are kept instead of sent.
    #[must_use]
    pub fn mailbox(&self) -> Option<&Arc<RecordingMailer>> {
        self.mailbox.as_ref()
    }

    /// On first start (no Administrator With Billing yet), a fresh one-time link that creates
    /// the organization's first admin; `None` once there is one. Each call replaces the
    /// previous link, so only the one printed last works.
    ///
    /// # Errors
    ///
    /// A store failure, or no randomness from the operating system.
    pub async fn bootstrap_link(&self) -> Result<Option<String>, admin_mfa::Error> {
        if self.has_first_admin().await? {
            return Ok(None);
        }
        let mut bytes = Zeroizing::new([0_u8; 32]);
        getrandom::fill(&mut bytes[..]).map_err(|_| admin_mfa::Error::Rng)?;
        let token = Zeroizing::new(data_encoding::BASE64URL_NOPAD.encode(&bytes[..]));
        let link = format!("{}/bootstrap?token={}", self.origin(), token.as_str());
        *self
            .bootstrap
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(token);
        Ok(Some(link))
    }

    /// Whether the organization has its first admin.
    async fn has_first_admin(&self) -> Result<bool, admin_mfa::Error> {
        let awb = Role::Builtin(BuiltinRole::AdministratorWithBilling);
        Ok(self.service().store().count_with_role(ORG, &awb).await? > 0)
    }

    /// Whether `token` is the live bootstrap token (compared in constant time).
    fn bootstrap_token_is(&self, token: &str) -> bool {
        let live = self
            .bootstrap
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        live.as_ref()
            .is_some_and(|live| bool::from(live.as_bytes().ct_eq(token.as_bytes())))
    }

    /// Uses the bootstrap token up.
    fn end_bootstrap(&self) {
        *self
            .bootstrap
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Every page of the portal behind the CSRF check and the page security headers.
    pub fn router(&self) -> Router {
        let mut pages = Router::new()
            .route("/", get(login::root))
            .route("/portal.css", get(stylesheet))
            .route(
                "/bootstrap",
                get(login::bootstrap_form).post(login::bootstrap),
            )
            .route("/signin", get(login::signin_form).post(login::signin))
            .route("/signin/mfa", get(login::mfa_form).post(login::mfa))
            .route("/signin/reset", post(login::reset_totp))
            .route("/signin/recovery", post(login::recovery))
            .route("/signout", post(login::signout))
            .route("/mfa/link", get(links::open).post(links::identity))
            .route("/mfa/link/complete", post(links::complete))
            .route("/help/authenticator", get(links::authenticator_help))
            .route("/home", get(manage::home))
            .route(
                "/home/settings",
                get(manage::settings_form).post(manage::settings),
            )
            .route("/home/admins-without-mfa", get(manage::widget_list))
            .route("/home/require", post(manage::require_confirm))
            .route("/home/require/confirm", post(manage::require))
            .route("/admins", get(manage::admins))
            .route(
                "/admins/new",
                get(manage::new_admin_form).post(manage::new_admin),
            )
            .route("/admins/{id}", get(manage::details).post(manage::save))
            .route("/admins/{id}/reset", post(manage::reset))
            .route("/admins/{id}/unlock", post(manage::unlock))
            .route("/audit", get(manage::audit))
            .route("/posture", get(posture::report))
            .route("/posture.csv", get(posture::csv))
            .route("/posture.jsonl", get(posture::jsonl));
        if self.mailbox.is_some() {
            pages = pages.route("/dev/mailbox", get(mailbox::show));
        }
        protect_pages(pages.with_state(self.clone()), self.web.config())
    }
}

async fn stylesheet() -> impl axum::response::IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("portal.css"),
    )
}

impl axum::extract::FromRef<Portal> for MfaWeb {
    fn from_ref(portal: &Portal) -> Self {
        portal.web.clone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use admin_mfa::lifecycle::{KeyId, SealingKey};
    use admin_mfa::ports::SystemClock;
    use admin_mfa_memory::MemoryStore;

    fn setup(origin: &str, mail: Mail) -> PortalSetup {
        PortalSetup {
            origin: origin.into(),
            store: Arc::new(MemoryStore::new()),
            mail,
            clock: Arc::new(SystemClock),
            keys: KeyRing::new(SealingKey::new(KeyId::new(1), [3; 32])),
        }
    }

    #[test]
    fn the_mailbox_is_refused_off_plain_http_loopback() {
        let mailbox = || Mail::Mailbox(Arc::new(RecordingMailer::new()));
        assert!(matches!(
            Portal::new(setup("https://admin.example.com", mailbox())),
            Err(SetupError::MailboxOffLoopback)
        ));
        assert!(matches!(
            Portal::new(setup("http://admin.example.com", mailbox())),
            Err(SetupError::Origin(_))
        ));
        let portal = Portal::new(setup("http://127.0.0.1:8080", mailbox())).unwrap();
        assert!(portal.mailbox().is_some());
        let sent = Mail::Send(Arc::new(RecordingMailer::new()));
        let portal = Portal::new(setup("https://admin.example.com", sent)).unwrap();
        assert!(portal.mailbox().is_none());
    }

    #[tokio::test]
    async fn the_bootstrap_token_works_once_and_never_shows_in_debug() {
        let portal = Portal::new(setup(
            "http://127.0.0.1:8080",
            Mail::Mailbox(Arc::new(RecordingMailer::new())),
        ))
        .unwrap();
        let link = portal.bootstrap_link().await.unwrap().unwrap();
        let token = link.split("token=").nth(1).unwrap().to_owned();
        assert!(portal.bootstrap_token_is(&token));
        assert!(!portal.bootstrap_token_is(""));
        assert!(!format!("{portal:?}").contains(&token));
        // A newer link replaces the older one.
        let newer = portal.bootstrap_link().await.unwrap().unwrap();
        assert_ne!(newer, link);
        assert!(!portal.bootstrap_token_is(&token));
        portal.end_bootstrap();
        let newer_token = newer.split("token=").nth(1).unwrap();
        assert!(!portal.bootstrap_token_is(newer_token));
    }
}
