//! The browser tests' harness: a portal on a free loopback port (in this process, with a
//! clock the test moves), a browser, and the steps a person takes.

#![allow(dead_code, reason = "each test uses part of the harness")]

pub mod webdriver;

use std::sync::Arc;

use admin_mfa::lifecycle::{KeyId, KeyRing, SealingKey};
use admin_mfa::ports::{AdminStore, Clock, SystemClock};
use admin_mfa::totp::{OtpauthUri, generate};
use admin_mfa::{AdminId, Authenticated, BuiltinRole, LoginOutcome, NewAdmin, Password, Role};
use admin_mfa_memory::{ManualClock, RecordingMailer};
use admin_mfa_portal::{Mail, ORG, Portal, PortalSetup};
use admin_mfa_sqlx::SqliteStore;
pub use webdriver::{Browser, browser_available};

pub const PASSWORD: &str = "portal test: correct horse battery";

/// A running portal.
pub struct Running {
    pub portal: Portal,
    pub origin: String,
    pub listening: std::net::SocketAddr,
    pub clock: Arc<ManualClock>,
    pub mailbox: Arc<RecordingMailer>,
    _dir: Option<tempfile::TempDir>,
}

/// The test keys (every portal of one test shares them, as replicas must).
pub fn keys() -> KeyRing {
    KeyRing::new(SealingKey::new(KeyId::new(1), [42; 32]))
}

/// A clock at the current time, moved by the test only.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(SystemClock.now()))
}

impl Running {
    /// A portal on a fresh SQLite file, as `cargo run` starts it.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("portal.db"))
            .await
            .unwrap();
        let mut running =
            Self::on(Arc::new(store), clock(), Arc::new(RecordingMailer::new())).await;
        running._dir = Some(dir);
        running
    }

    /// A portal over `store`, sharing `clock` and `mailbox` with any other portal of the test.
    pub async fn on(
        store: Arc<dyn AdminStore>,
        clock: Arc<ManualClock>,
        mailbox: Arc<RecordingMailer>,
    ) -> Self {
        Self::behind(None, store, clock, mailbox).await
    }

    /// A portal whose public origin is `public` (a load balancer in front of it) when given,
    /// else its own address. [`Running::listening`] is where it really listens.
    pub async fn behind(
        public: Option<&str>,
        store: Arc<dyn AdminStore>,
        clock: Arc<ManualClock>,
        mailbox: Arc<RecordingMailer>,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listening = listener.local_addr().unwrap();
        let origin = public.map_or_else(|| format!("http://{listening}"), str::to_owned);
        let portal = Portal::new(PortalSetup {
            origin: origin.clone(),
            store,
            mail: Mail::Mailbox(Arc::clone(&mailbox)),
            clock: Arc::clone(&clock) as Arc<dyn Clock>,
            keys: keys(),
        })
        .unwrap();
        let router = portal.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            portal,
            origin,
            listening,
            clock,
            mailbox,
            _dir: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// The current code of `app`, at the portal's time.
    pub fn code(&self, app: &OtpauthUri) -> String {
        generate(app.secret(), app.params(), self.clock.now().as_secs()).to_string()
    }

    /// Moves the portal's time on to the next 30-second step (a used code cannot be reused).
    pub fn next_step(&self) {
        self.clock.advance(30);
    }

    /// Seeds the first Administrator With Billing straight through the service.
    pub async fn seed_first(&self, name: &str, email: &str) {
        self.portal
            .service()
            .bootstrap_admin(
                ORG,
                NewAdmin {
                    email: email.into(),
                    display_name: name.into(),
                    role: Role::Builtin(BuiltinRole::AdministratorWithBilling),
                    password: Password::new(PASSWORD).unwrap(),
                },
            )
            .await
            .unwrap();
    }
}

/// Signs in with the password; lands on the MFA prompt, Home, or the setup notice.
pub async fn sign_in(browser: &Browser, running: &Running, email: &str) {
    browser.goto(&running.url("/signin")).await;
    browser.fill("#email", email).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
}

/// Types `code` at the MFA prompt and submits it.
pub async fn enter_code(browser: &Browser, code: &str) {
    browser.fill("#code", code).await;
    browser.click("form[action='/signin/mfa'] button").await;
}

/// Opens the mailbox and follows the newest e-mail to `to` whose subject contains `subject`;
/// returns that e-mail's text.
pub async fn follow_mail(browser: &Browser, running: &Running, to: &str, subject: &str) -> String {
    browser.goto(&running.url("/dev/mailbox")).await;
    let mail = running
        .mailbox
        .sent()
        .into_iter()
        .rev()
        .find(|m| m.to.as_str() == to && m.subject.contains(subject))
        .unwrap_or_else(|| panic!("no e-mail to {to} about {subject}"));
    let index = running
        .mailbox
        .sent()
        .iter()
        .rev()
        .position(|m| m == &mail)
        .unwrap();
    browser.shot("mailbox").await;
    browser
        .click(&format!("#mail-{index} ~ pre a[href*='/mfa/link']"))
        .await;
    mail.text
}

/// On the link's first page: e-mail and password; returns the app that scanned the QR code
/// the browser received.
pub async fn scan_qr(browser: &Browser, email: &str) -> OtpauthUri {
    browser.fill("#email", email).await;
    browser.fill("#password", PASSWORD).await;
    browser.shot("link-identity").await;
    browser.click("form[action='/mfa/link'] button").await;
    browser.find("#key").await;
    let img = browser.find("figure.qr img").await;
    browser.shot("qr-code").await;
    let src = img.attr("src").await.unwrap();
    let png = data_encoding::BASE64
        .decode(
            src.strip_prefix("data:image/png;base64,")
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
    let gray = image::load_from_memory(&png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(gray);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the page");
    let (_, content) = grids[0].decode().unwrap();
    let app = OtpauthUri::parse(&content).unwrap();
    // The key printed for typing by hand is the QR code's secret, in groups of four.
    let key = browser.text("#key").await;
    assert!(key.split(' ').all(|group| group.len() <= 4), "{key}");
    assert_eq!(key.replace(' ', ""), app.secret().to_base32().as_str());
    app
}

/// On the QR page: types the app's code and submits it.
pub async fn submit_setup_code(browser: &Browser, code: &str) {
    browser.fill("#code", code).await;
    browser
        .click("form[action='/mfa/link/complete'] button")
        .await;
}

/// Ada, the organization's first Administrator With Billing, seeded and enrolled through
/// the service (the browser tests of other screens start from her).
pub const ADA: &str = "ada@example.com";

impl Running {
    /// Enrols `email` through the service, as its e-mailed link would; returns the app.
    pub async fn enrol(&self, email: &str) -> OtpauthUri {
        let service = self.portal.service();
        let password = Password::new(PASSWORD).unwrap();
        let _ = service.login(ORG, email, &password).await.unwrap();
        service.dispatch_emails().await.unwrap();
        let token = self.mailbox.last_link_token(email).unwrap();
        let provisioning = service
            .confirm_identity(&token, email, &password)
            .await
            .unwrap();
        let app = OtpauthUri::parse(&provisioning.otpauth_uri()).unwrap();
        service
            .complete_setup(&token, provisioning.proof(), &self.code(&app))
            .await
            .unwrap();
        self.next_step();
        app
    }

    /// A session of `email` through the service (password and code).
    pub async fn session(&self, email: &str, app: &OtpauthUri) -> Authenticated {
        let service = self.portal.service();
        let password = Password::new(PASSWORD).unwrap();
        let LoginOutcome::MfaChallenge(challenge) =
            service.login(ORG, email, &password).await.unwrap()
        else {
            panic!("{email} has a factor");
        };
        let session = service.verify(&challenge, &self.code(app)).await.unwrap();
        self.next_step();
        session
    }

    /// Ada seeded and enrolled, then the `others` created by her: (name, e-mail, role,
    /// MFA required). Returns Ada's app and the others' ids.
    pub async fn seed(
        &self,
        others: &[(&str, &str, BuiltinRole, bool)],
    ) -> (OtpauthUri, Vec<AdminId>) {
        self.seed_first("Ada Lovelace", ADA).await;
        let ada_app = self.enrol(ADA).await;
        let ada = self.session(ADA, &ada_app).await;
        let service = self.portal.service();
        let mut ids = Vec::new();
        for (name, email, role, required) in others {
            let created = service
                .create_admin(
                    &ada,
                    NewAdmin {
                        email: (*email).into(),
                        display_name: (*name).into(),
                        role: Role::Builtin(*role),
                        password: Password::new(PASSWORD).unwrap(),
                    },
                )
                .await
                .unwrap();
            if !required {
                let _removed = service
                    .remove_mfa_requirement(&ada, created.id)
                    .await
                    .unwrap();
            }
            ids.push(created.id);
        }
        service.dispatch_emails().await.unwrap();
        (ada_app, ids)
    }

    /// Whether MFA is required for `id`, as stored.
    pub async fn required(&self, id: AdminId) -> bool {
        let admin = self.portal.service().store().admin(ORG, id).await.unwrap();
        admin.unwrap().value.mfa.requirement.is_required()
    }
}

/// Signs in with password and code (the app's current code) and waits for Home.
pub async fn sign_in_with_mfa(browser: &Browser, running: &Running, email: &str, app: &OtpauthUri) {
    sign_in(browser, running, email).await;
    browser.on_page("Multi-factor authentication").await;
    enter_code(browser, &running.code(app)).await;
    browser.on_page("Home").await;
    running.next_step();
}

/// Signs out from the header and waits for Sign in.
pub async fn sign_out(browser: &Browser) {
    browser.click("form[action='/signout'] button").await;
    browser.on_page("Sign in").await;
}

/// Opens the Details of the admin with this e-mail from the Administrators list.
pub async fn open_details(browser: &Browser, running: &Running, email: &str) {
    browser.goto(&running.url("/admins")).await;
    browser.on_page("Administrators").await;
    browser
        .click(&format!("tr[data-email='{email}'] a[href^='/admins/']"))
        .await;
    browser.find("#enable-mfa").await;
}
