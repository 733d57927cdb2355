//! Portable login state through the service: every step of an enrolment and an MFA login
//! carried between two services (replicas) as sealed tokens, key rotation, expiry, and the
//! re-validation of an opened session against the store.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

use std::sync::Arc;

use admin_mfa::lifecycle::{KeyId, KeyRing, SealingKey};
use admin_mfa::ports::{AdminStore, Clock, PageRequest};
use admin_mfa::totp::{OtpauthUri, generate};
use admin_mfa::{
    Authenticated, BuiltinRole, Error, LoginOutcome, MfaConfig, MfaService, NewAdmin, OrgId,
    Password, Role, UnixTime,
};
use admin_mfa_memory::{ManualClock, MemoryStore, RecordingMailer};

const EMAIL: &str = "ada@example.com";
const T0: UnixTime = UnixTime::from_secs(1_700_000_010);

fn key(n: u8) -> SealingKey {
    SealingKey::new(KeyId::new(u32::from(n)), [n; 32])
}

fn password() -> Password {
    Password::new("correct horse battery staple").unwrap()
}

fn org() -> OrgId {
    OrgId::from_bytes([1; 16])
}

struct Replicas {
    store: Arc<MemoryStore>,
    mailer: Arc<RecordingMailer>,
    clock: Arc<ManualClock>,
    require: bool,
}

impl Replicas {
    fn new(require: bool) -> Self {
        Self {
            store: Arc::new(MemoryStore::new()),
            mailer: Arc::new(RecordingMailer::new()),
            clock: Arc::new(ManualClock::new(T0)),
            require,
        }
    }

    /// A service on the shared store, mailer and clock, with its own key ring.
    fn service(&self, keys: KeyRing) -> MfaService {
        let config = MfaConfig::builder("ACME", "https://admin.example.com/mfa")
            .new_admins_require_mfa(self.require)
            .build()
            .unwrap();
        MfaService::builder(
            config,
            self.store.clone() as Arc<dyn AdminStore>,
            self.mailer.clone(),
            self.clock.clone() as Arc<dyn Clock>,
            Arc::new(keys),
        )
        .build()
    }

    async fn bootstrap(&self, service: &MfaService) {
        service
            .bootstrap_admin(
                org(),
                NewAdmin {
                    email: EMAIL.into(),
                    display_name: "Ada".into(),
                    role: Role::Builtin(BuiltinRole::AdministratorWithBilling),
                    password: password(),
                },
            )
            .await
            .unwrap();
    }

    /// The token of the last link e-mailed.
    async fn last_link(&self, service: &MfaService) -> String {
        service.dispatch_emails().await.unwrap();
        let text = self.mailer.sent().last().unwrap().text.clone();
        let at = text.find("token=").unwrap() + "token=".len();
        text[at..at + 43].to_owned()
    }

    fn code(&self, app: &OtpauthUri) -> String {
        generate(app.secret(), app.params(), self.clock.now().as_secs()).to_string()
    }

    /// Enrols through `a` and `b` alternately, each step's state carried as a token: `a`
    /// confirms the identity and seals the proof, `b` opens it and completes. The app.
    async fn enrol(&self, a: &MfaService, b: &MfaService) -> OtpauthUri {
        let link = self.last_link(a).await;
        let provisioning = a.confirm_identity(&link, EMAIL, &password()).await.unwrap();
        let app = OtpauthUri::parse(&provisioning.otpauth_uri()).unwrap();
        let sealed = a.seal_setup_proof(&link, provisioning.proof()).unwrap();
        let proof = b.open_setup_proof(&link, sealed.as_str()).unwrap();
        b.complete_setup(&link, &proof, &self.code(&app))
            .await
            .unwrap();
        app
    }

    /// An MFA login: `a` checks the password and seals the challenge, `b` opens it and
    /// verifies the code. The session.
    async fn mfa_login(&self, a: &MfaService, b: &MfaService, app: &OtpauthUri) -> Authenticated {
        let LoginOutcome::MfaChallenge(challenge) =
            a.login(org(), EMAIL, &password()).await.unwrap()
        else {
            panic!("expected a challenge");
        };
        let sealed = a.seal_challenge(&challenge).unwrap();
        let opened = b.open_challenge(sealed.as_str()).unwrap();
        assert_eq!(opened, challenge);
        b.verify(&opened, &self.code(app)).await.unwrap()
    }
}

#[tokio::test]
async fn every_step_travels_between_replicas() {
    let r = Replicas::new(true);
    let (a, b) = (
        r.service(KeyRing::new(key(1))),
        r.service(KeyRing::new(key(1))),
    );
    r.bootstrap(&a).await;
    let outcome = b.login(org(), EMAIL, &password()).await.unwrap();
    assert!(matches!(outcome, LoginOutcome::SetupRequired(_)));
    let app = r.enrol(&a, &b).await;
    r.clock.advance(30);
    let session = r.mfa_login(&b, &a, &app).await;
    assert!(session.used_mfa());

    let sealed = a.seal_session(&session, 3600).unwrap();
    let opened = b.open_session(sealed.as_str()).unwrap();
    assert_eq!(opened, session);
    assert!(b.is_current(&opened).await.unwrap());
    assert!(
        b.admins_without_mfa_required(&opened, PageRequest::first(50))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_retired_key_still_opens_and_a_dropped_one_does_not() {
    let r = Replicas::new(false);
    let before = r.service(KeyRing::new(key(1)));
    let rotated = r.service(KeyRing::new(key(2)).with_previous(key(1)));
    let dropped = r.service(KeyRing::new(key(2)));
    r.bootstrap(&before).await;
    let LoginOutcome::Authenticated(session) =
        before.login(org(), EMAIL, &password()).await.unwrap()
    else {
        panic!("expected a password-only session");
    };
    let sealed = before.seal_session(&session, 3600).unwrap();
    assert_eq!(rotated.open_session(sealed.as_str()).unwrap(), session);
    assert!(matches!(
        dropped.open_session(sealed.as_str()),
        Err(Error::SessionExpired)
    ));
    // What the rotated ring seals, the old one cannot open.
    let resealed = rotated.seal_session(&session, 3600).unwrap();
    assert!(matches!(
        before.open_session(resealed.as_str()),
        Err(Error::SessionExpired)
    ));
}

#[tokio::test]
async fn expired_and_misused_tokens_get_one_error() {
    let r = Replicas::new(true);
    let (a, b) = (
        r.service(KeyRing::new(key(1))),
        r.service(KeyRing::new(key(1))),
    );
    r.bootstrap(&a).await;
    let _ = a.login(org(), EMAIL, &password()).await.unwrap();
    let link = r.last_link(&a).await;
    let provisioning = a.confirm_identity(&link, EMAIL, &password()).await.unwrap();
    let proof = a.seal_setup_proof(&link, provisioning.proof()).unwrap();

    // A proof opens beside its own link only, and as nothing else.
    let other_link = "A".repeat(43);
    fn refused<T>(r: Result<T, Error>) -> bool {
        matches!(r, Err(Error::SessionExpired))
    }
    assert!(refused(b.open_setup_proof(&other_link, proof.as_str())));
    assert!(refused(b.open_setup_proof("not a link", proof.as_str())));
    assert!(refused(b.open_session(proof.as_str())));
    assert!(refused(b.open_challenge(proof.as_str())));
    let ttl = a.config().lifecycle().setup_proof_ttl_secs();
    r.clock.advance(ttl - 1);
    assert!(b.open_setup_proof(&link, proof.as_str()).is_ok());
    r.clock.advance(1);
    assert!(refused(b.open_setup_proof(&link, proof.as_str())));

    // A challenge token dies with the challenge.
    let app = r.enrol(&a, &b).await;
    let LoginOutcome::MfaChallenge(challenge) = a.login(org(), EMAIL, &password()).await.unwrap()
    else {
        panic!("expected a challenge");
    };
    let sealed = a.seal_challenge(&challenge).unwrap();
    assert!(refused(b.open_session(sealed.as_str())));
    r.clock.set(challenge.expires_at());
    assert!(refused(b.open_challenge(sealed.as_str())));

    // A session token dies at the end of its lifetime.
    let session = r.mfa_login(&a, &b, &app).await;
    let sealed = a.seal_session(&session, 600).unwrap();
    r.clock.advance(599);
    assert!(b.open_session(sealed.as_str()).is_ok());
    r.clock.advance(1);
    assert!(refused(b.open_session(sealed.as_str())));
}

#[tokio::test]
async fn an_opened_session_is_revalidated_against_the_store() {
    let r = Replicas::new(false);
    let (a, b) = (
        r.service(KeyRing::new(key(1))),
        r.service(KeyRing::new(key(1))),
    );
    r.bootstrap(&a).await;
    let LoginOutcome::Authenticated(session) = a.login(org(), EMAIL, &password()).await.unwrap()
    else {
        panic!("expected a password-only session");
    };
    let sealed = a.seal_session(&session, 86_400).unwrap();
    // The admin turns MFA on and enrols: the credential epoch moves on.
    let own = session.admin();
    let _ = a.enable_mfa(&session, own).await.unwrap();
    r.enrol(&a, &b).await;

    // The token still opens (it is authentic and unexpired), but the store says the session
    // is over, and every call that takes it refuses it, as for a session kept in memory.
    let opened = b.open_session(sealed.as_str()).unwrap();
    assert!(!b.is_current(&opened).await.unwrap());
    assert!(matches!(
        b.admins_without_mfa_required(&opened, PageRequest::first(50))
            .await,
        Err(Error::SessionExpired)
    ));
}
