//! The harness every service test runs on: an [`MfaService`] over a store (the memory store
//! by default; any store through [`H::over`] or `backends::Backend`), a recording mailer, a
//! manual clock and fixed keys, plus shortcuts through the real flows.

use std::sync::{Arc, OnceLock};

use admin_mfa::lifecycle::{Admin, KeyId, KeyRing, PasswordHash, SealingKey, TotpSecret};
use admin_mfa::ports::{
    AdminStore, Change, Clock, EmailMessage, Mailer, OutboxStats, RandomSource,
};
use admin_mfa::totp::{OtpauthUri, generate};
use admin_mfa::{
    AdminId, Authenticated, BuiltinRole, Email, LoginOutcome, MfaChallenge, MfaConfig,
    MfaConfigBuilder, MfaService, OrgId, Password, PasswordParams, Passwords, Provisioning, Role,
    SetupComplete, UnixTime,
};
use admin_mfa_memory::{ManualClock, MemoryStore, RecordingMailer, SeededRandom};

/// The password of every test admin.
pub const PASSWORD: &str = "correct horse battery staple";
/// Where the test clock starts: 2023-11-14T22:13:20Z, on a 30 s step boundary.
pub const T0: UnixTime = UnixTime::from_secs(1_700_000_010);
/// The link base of the test configuration.
pub const BASE: &str = "https://admin.example.com/mfa/link";

pub fn password() -> Password {
    Password::new(PASSWORD).unwrap()
}

pub fn org() -> OrgId {
    OrgId::from_bytes([0x0a; 16])
}

pub fn other_org() -> OrgId {
    OrgId::from_bytes([0x0b; 16])
}

pub fn role(r: BuiltinRole) -> Role {
    Role::Builtin(r)
}

pub fn email_of(n: u32) -> String {
    format!("admin{n:06}@example.com")
}

pub fn id_of(org: OrgId, n: u32) -> AdminId {
    let mut bytes = org.as_uuid().into_bytes();
    bytes[12..].copy_from_slice(&n.to_be_bytes());
    bytes[0] ^= 0x5a;
    AdminId::from_bytes(bytes)
}

/// One argon2id hash of [`PASSWORD`] with the default (OWASP) parameters, computed once per
/// test binary, so seeding many admins costs nothing.
pub fn shared_hash() -> PasswordHash {
    static HASH: OnceLock<PasswordHash> = OnceLock::new();
    HASH.get_or_init(|| {
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(Passwords::new(PasswordParams::default()).hash(&password()))
                .unwrap()
        })
        .join()
        .unwrap()
    })
    .clone()
}

pub fn keys() -> KeyRing {
    KeyRing::new(SealingKey::new(KeyId::new(1), [0x42; 32]))
}

pub fn config() -> MfaConfigBuilder {
    MfaConfig::builder("ACME Admin Portal", BASE)
}

pub struct H {
    pub svc: Arc<MfaService>,
    pub store: Arc<dyn AdminStore>,
    pub mailer: Arc<RecordingMailer>,
    pub clock: Arc<ManualClock>,
    pub org: OrgId,
    /// Keeps a SQL store's file or schema alive (see `backends`); dropped last.
    pub guard: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl H {
    pub fn new() -> Self {
        Self::with(|c| c)
    }

    pub fn with(config: impl FnOnce(MfaConfigBuilder) -> MfaConfigBuilder) -> Self {
        Self::over(Arc::new(MemoryStore::new()), config)
    }

    pub fn over(
        store: Arc<dyn AdminStore>,
        config_fn: impl FnOnce(MfaConfigBuilder) -> MfaConfigBuilder,
    ) -> Self {
        Self::build(store, config_fn, None)
    }

    /// The default harness on a memory store, drawing its randomness from a seeded source.
    pub fn seeded(seed: u64) -> Self {
        Self::build(
            Arc::new(MemoryStore::new()),
            |c| c,
            Some(Arc::new(SeededRandom::new(seed))),
        )
    }

    fn build(
        store: Arc<dyn AdminStore>,
        config_fn: impl FnOnce(MfaConfigBuilder) -> MfaConfigBuilder,
        random: Option<Arc<dyn RandomSource>>,
    ) -> Self {
        let mailer = Arc::new(RecordingMailer::new());
        let clock = Arc::new(ManualClock::new(T0));
        let config = config_fn(config()).build().unwrap();
        let mut builder = MfaService::builder(
            config,
            Arc::clone(&store),
            Arc::clone(&mailer) as Arc<dyn Mailer>,
            Arc::clone(&clock) as Arc<dyn Clock>,
            Arc::new(keys()),
        );
        if let Some(random) = random {
            builder = builder.random_source(random);
        }
        let svc = builder.build();
        Self {
            svc: Arc::new(svc),
            store,
            mailer,
            clock,
            org: org(),
            guard: None,
        }
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(secs);
    }

    /// Inserts admin number `n` of the test org directly (not through the service), with
    /// the shared password hash and a fresh MFA state.
    pub async fn seed(&self, n: u32, r: BuiltinRole) -> AdminId {
        self.seed_in(self.org, n, r).await
    }

    pub async fn seed_in(&self, org: OrgId, n: u32, r: BuiltinRole) -> AdminId {
        let admin = seed_admin(org, n, r);
        let id = admin.id;
        self.store
            .commit(Change::new().insert(admin))
            .await
            .unwrap();
        id
    }

    pub async fn get(&self, id: AdminId) -> Admin {
        self.get_in(self.org, id).await
    }

    pub async fn get_in(&self, org: OrgId, id: AdminId) -> Admin {
        self.store.admin(org, id).await.unwrap().unwrap().value
    }

    /// Password login of an admin without a factor: a full session.
    pub async fn session(&self, id: AdminId) -> Authenticated {
        let admin = self.get(id).await;
        match self
            .svc
            .login(self.org, admin.email.as_str(), &password())
            .await
            .unwrap()
        {
            LoginOutcome::Authenticated(s) => s,
            other => panic!("expected a password-only session, got {other:?}"),
        }
    }

    pub async fn challenge(&self, id: AdminId) -> MfaChallenge {
        let admin = self.get(id).await;
        match self
            .svc
            .login(self.org, admin.email.as_str(), &password())
            .await
            .unwrap()
        {
            LoginOutcome::MfaChallenge(c) => c,
            other => panic!("expected an MFA challenge, got {other:?}"),
        }
    }

    /// Full login with password and the current code of `secret` (moving the clock one
    /// step on first, so the step is fresh).
    pub async fn mfa_session(&self, id: AdminId, secret: &TotpSecret) -> Authenticated {
        self.advance(30);
        let challenge = self.challenge(id).await;
        self.svc
            .verify(&challenge, &self.code(secret))
            .await
            .unwrap()
    }

    pub fn code(&self, secret: &TotpSecret) -> String {
        code_at(secret, self.now())
    }

    pub async fn outbox(&self) -> OutboxStats {
        self.store.outbox_stats().await.unwrap()
    }

    /// Delivers the outbox and returns the messages delivered by this call.
    pub async fn deliver(&self) -> Vec<EmailMessage> {
        let before = self.mailer.sent().len();
        self.svc.dispatch_emails().await.unwrap();
        self.mailer.sent().split_off(before)
    }

    /// The link token in the last delivered message to admin `id`.
    pub async fn token_for(&self, id: AdminId) -> String {
        let to = self.get(id).await.email;
        let message = self
            .mailer
            .sent()
            .into_iter()
            .rev()
            .find(|m| m.to == to && m.text.contains("token="))
            .expect("a link e-mail was delivered");
        token_in(&message.text)
    }

    /// Runs the whole link flow for admin `id`: deliver, confirm identity, complete with
    /// the first code. Returns the new secret as the authenticator app has it.
    pub async fn enrol_via_link(&self, id: AdminId) -> TotpSecret {
        self.deliver().await;
        let token = self.token_for(id).await;
        let admin = self.get(id).await;
        self.enrol_with(&token, admin.email.as_str()).await
    }

    /// "Reset TOTP MFA" at a fresh MFA prompt of enrolled admin `id`: the reset link's token.
    pub async fn reset_link(&self, id: AdminId) -> String {
        self.advance(30);
        let challenge = self.challenge(id).await;
        self.svc.request_reset(&challenge).await.unwrap();
        self.deliver().await;
        self.token_for(id).await
    }

    /// The link's identity step with `email` and the right password: the provisioning, and
    /// the secret an authenticator app reads off its QR code.
    pub async fn provision(&self, token: &str, email: &str) -> (Provisioning, TotpSecret) {
        let provisioning = self
            .svc
            .confirm_identity(token, email, &password())
            .await
            .unwrap();
        let secret = app_secret(&provisioning.otpauth_uri());
        (provisioning, secret)
    }

    /// The link's code step with the current code of `secret`.
    pub async fn finish_setup(
        &self,
        token: &str,
        provisioning: &Provisioning,
        secret: &TotpSecret,
    ) {
        self.svc
            .complete_setup(token, provisioning.proof(), &self.code(secret))
            .await
            .unwrap();
    }

    /// Both steps of the link at `token`: the secret the admin enrolled.
    pub async fn enrol_with(&self, token: &str, email: &str) -> TotpSecret {
        let (provisioning, secret) = self.provision(token, email).await;
        self.finish_setup(token, &provisioning, &secret).await;
        secret
    }

    /// The organization's first Administrator With Billing, `boss@example.com`, through
    /// [`MfaService::bootstrap_admin`].
    pub async fn bootstrap_boss(&self) -> admin_mfa::CreatedAdmin {
        self.svc
            .bootstrap_admin(
                self.org,
                admin_mfa::NewAdmin {
                    email: "boss@example.com".into(),
                    display_name: "Boss".into(),
                    role: role(BuiltinRole::AdministratorWithBilling),
                    password: password(),
                },
            )
            .await
            .unwrap()
    }

    /// Seeds admin `n` with MFA required (in the store) and signs it in with the password,
    /// which answers `SetupRequired` and queues the setup link: the admin's id.
    pub async fn seed_required(&self, n: u32, r: BuiltinRole) -> AdminId {
        let id = self.seed(n, r).await;
        let since = self.now();
        self.edit(id, |a| {
            a.mfa.requirement = admin_mfa::lifecycle::Requirement::Required { since, by: None };
        })
        .await;
        let outcome = self
            .svc
            .login(self.org, &email_of(n), &password())
            .await
            .unwrap();
        assert!(matches!(outcome, LoginOutcome::SetupRequired(_)));
        id
    }

    /// Seeds admin `n` as a Manager with MFA required and enrols it through the setup
    /// link: the completed set-up (with its recovery codes) and the authenticator's secret.
    /// The clock has moved one step on, so the secret's next code is fresh.
    pub async fn enrol_with_codes(&self, n: u32) -> (AdminId, SetupComplete, TotpSecret) {
        let id = self.seed_required(n, BuiltinRole::Manager).await;
        self.deliver().await;
        let token = self.token_for(id).await;
        let email = self.get(id).await.email;
        let (provisioning, secret) = self.provision(&token, email.as_str()).await;
        let done = self
            .svc
            .complete_setup(&token, provisioning.proof(), &self.code(&secret))
            .await
            .unwrap();
        self.advance(30);
        (id, done, secret)
    }

    /// A second service on this harness's store, mailer and clock whose policy forbids
    /// Managers `view-admin-mfa-status` on Administrators With Billing (everything else as
    /// the default `jumpcloud` profile).
    pub fn managers_blind_to_awb_status(&self) -> MfaService {
        use admin_mfa::policy::{
            Effect, Extends, PolicyDocument, PolicyEngine, RuleDef, TargetSpec,
        };
        MfaService::builder(
            config().build().unwrap(),
            Arc::clone(&self.store),
            Arc::clone(&self.mailer) as Arc<dyn Mailer>,
            Arc::clone(&self.clock) as Arc<dyn Clock>,
            Arc::new(keys()),
        )
        .policy(
            PolicyEngine::from_document(PolicyDocument {
                version: 1,
                extends: Extends::Jumpcloud,
                custom_actions: Vec::new(),
                roles: Vec::new(),
                rules: vec![RuleDef {
                    id: "managers-not-on-awb-status".to_owned(),
                    effect: Effect::Forbid,
                    roles: vec!["manager".to_owned()],
                    actions: vec!["view-admin-mfa-status".to_owned()],
                    target: TargetSpec::Roles(vec!["administrator-with-billing".to_owned()]),
                    description: None,
                }],
            })
            .unwrap(),
        )
        .build()
    }

    /// Seeds admins `first`, `first + 1`, … with `roles` and signs each in with the
    /// password: each role with its session.
    pub async fn sessions_of(
        &self,
        first: u32,
        roles: &[BuiltinRole],
    ) -> Vec<(BuiltinRole, Authenticated)> {
        let mut sessions = Vec::new();
        for (n, r) in (first..).zip(roles) {
            let id = self.seed(n, *r).await;
            sessions.push((*r, self.session(id).await));
        }
        sessions
    }

    /// Changes admin `id` in the store directly (not through the service): `edit` on the
    /// stored admin, committed at the version read.
    pub async fn edit(&self, id: AdminId, edit: impl FnOnce(&mut Admin)) {
        let stored = self.store.admin(self.org, id).await.unwrap().unwrap();
        let mut admin = stored.value;
        edit(&mut admin);
        self.store
            .commit(Change::new().update(admin, stored.version))
            .await
            .unwrap();
    }

    /// Locks admin `id`'s factor in the store, as too many wrong codes would.
    pub async fn lock(&self, id: AdminId) {
        self.edit(id, |a| a.mfa.failures.locked = true).await;
    }

    /// Moves admin `id`'s credential epoch on in the store, ending its sessions.
    pub async fn end_sessions(&self, id: AdminId) {
        self.edit(id, |a| a.mfa.credential_epoch += 1).await;
    }

    /// Seeds admin `n` with MFA required and runs the self-service setup through login.
    pub async fn enrolled(&self, n: u32, r: BuiltinRole) -> (AdminId, TotpSecret) {
        let id = self.seed_required(n, r).await;
        let secret = self.enrol_via_link(id).await;
        (id, secret)
    }
}

/// The built-in roles that may not see the Administrators page (nor the widget).
pub const OUTSIDE_ADMIN_PAGE: [BuiltinRole; 3] = [
    BuiltinRole::CommandRunner,
    BuiltinRole::CommandRunnerWithBilling,
    BuiltinRole::BillingOnly,
];

/// Built-in roles below Administrator that see the Administrators page and the widget.
pub const READERS_OF_ADMIN_PAGE: [BuiltinRole; 3] = [
    BuiltinRole::ReadOnly,
    BuiltinRole::HelpDesk,
    BuiltinRole::Manager,
];

pub fn seed_admin(org: OrgId, n: u32, r: BuiltinRole) -> Admin {
    Admin::new(admin_mfa::lifecycle::AdminProfile {
        id: id_of(org, n),
        org,
        email: Email::parse(&email_of(n)).unwrap(),
        display_name: format!("Admin {n}"),
        role: role(r),
        password_hash: shared_hash(),
        created_at: T0,
    })
}

pub fn code_at(secret: &TotpSecret, now: UnixTime) -> String {
    generate(
        secret,
        &admin_mfa::totp::TotpParams::default(),
        now.as_secs(),
    )
    .as_str()
    .to_owned()
}

/// What an authenticator app does with a scanned URI: parse it and keep the secret.
pub fn app_secret(uri: &str) -> TotpSecret {
    OtpauthUri::parse(uri).unwrap().secret().clone()
}

/// The 43-character token of the first link in `text`.
pub fn token_in(text: &str) -> String {
    let start = text.find("token=").expect("a link with a token") + "token=".len();
    text[start..start + 43].to_owned()
}
