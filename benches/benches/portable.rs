//! Portable login state (`MfaService::seal_*` / `open_*`) beside the login code check it
//! travels with:
//!
//! - `seal_challenge`, `open_challenge`, `seal_session`, `open_session`,
//!   `seal_setup_proof`, `open_setup_proof`: one call each (key ring from the provider,
//!   HKDF-SHA256 key derivation, ChaCha20-Poly1305, base64url, and the random nonce on the
//!   sealing side).
//! - `seal_and_open_session`: what a replica pays per request that carries its session in a
//!   cookie and renews it.
//! - `mfa_service_code_check`: a whole code check through the service on the memory store,
//!   the reference the token costs are read against. It is `MfaService::reauthenticate`,
//!   which runs the same path as `verify` (admin read, sealed secret opened, TOTP window,
//!   one compare-and-swap commit with its audit event) on a session instead of a challenge,
//!   so no challenge expires and no argon2 login interrupts the run; the `service` bench
//!   has `verify` itself.
//!
//! Each code check needs a fresh time step (a code is accepted once), so the manual clock
//! moves 30 s and the app's code is computed outside the timed section.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "bench"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use admin_mfa::lifecycle::{KeyId, KeyRing, SealingKey};
use admin_mfa::ports::{AdminStore, Clock, Mailer};
use admin_mfa::totp::{OtpauthUri, generate};
use admin_mfa::{
    BuiltinRole, LoginOutcome, MfaChallenge, MfaConfig, MfaService, NewAdmin, OrgId, Password,
    Role, UnixTime,
};
use admin_mfa_memory::{ManualClock, MemoryStore, RecordingMailer};
use criterion::{Criterion, criterion_group, criterion_main};

const EMAIL: &str = "ada@example.com";
const ORG: OrgId = OrgId::from_bytes([0x0a; 16]);

fn password() -> Password {
    Password::new("bench: correct horse battery staple").unwrap()
}

#[expect(clippy::disallowed_methods, reason = "a bench measures wall time")]
fn now() -> Instant {
    Instant::now()
}

struct Rig {
    svc: MfaService,
    mailer: Arc<RecordingMailer>,
    clock: Arc<ManualClock>,
}

fn rig() -> Rig {
    let mailer = Arc::new(RecordingMailer::new());
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(1_700_000_010)));
    let config = MfaConfig::builder("ACME", "https://admin.example.com/mfa")
        .build()
        .unwrap();
    let svc = MfaService::builder(
        config,
        Arc::new(MemoryStore::new()) as Arc<dyn AdminStore>,
        Arc::clone(&mailer) as Arc<dyn Mailer>,
        Arc::clone(&clock) as Arc<dyn Clock>,
        Arc::new(KeyRing::new(SealingKey::new(KeyId::new(1), [7; 32]))),
    )
    .build();
    Rig { svc, mailer, clock }
}

/// The token of the last link e-mailed.
async fn last_link(rig: &Rig) -> String {
    rig.svc.dispatch_emails().await.unwrap();
    let text = rig.mailer.sent().last().unwrap().text.clone();
    let at = text.find("token=").unwrap() + "token=".len();
    text[at..at + 43].to_owned()
}

/// The first admin, enrolled through the real flow; the app's otpauth URI.
async fn enrolled(rig: &Rig) -> OtpauthUri {
    let new = NewAdmin {
        email: EMAIL.into(),
        display_name: "Ada".into(),
        role: Role::Builtin(BuiltinRole::AdministratorWithBilling),
        password: password(),
    };
    rig.svc.bootstrap_admin(ORG, new).await.unwrap();
    let _ = rig.svc.login(ORG, EMAIL, &password()).await.unwrap();
    let link = last_link(rig).await;
    let p = rig
        .svc
        .confirm_identity(&link, EMAIL, &password())
        .await
        .unwrap();
    let app = OtpauthUri::parse(&p.otpauth_uri()).unwrap();
    let code = generate(app.secret(), app.params(), rig.clock.now().as_secs());
    rig.svc
        .complete_setup(&link, p.proof(), &code)
        .await
        .unwrap();
    app
}

async fn challenge(rig: &Rig) -> MfaChallenge {
    match rig.svc.login(ORG, EMAIL, &password()).await.unwrap() {
        LoginOutcome::MfaChallenge(c) => c,
        other => panic!("unexpected {other:?}"),
    }
}

fn bench_portable(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rig = rig();
    let app = rt.block_on(enrolled(&rig));
    rig.clock.advance(30);
    let first = rt.block_on(challenge(&rig));
    let session = rt.block_on(async {
        let code = generate(app.secret(), app.params(), rig.clock.now().as_secs());
        rig.svc.verify(&first, &code).await.unwrap()
    });
    // A live link and its proof: "Reset TOTP MFA" at the prompt, then the identity step.
    let (link, proof) = rt.block_on(async {
        rig.svc.request_reset(&challenge(&rig).await).await.unwrap();
        let link = last_link(&rig).await;
        let p = rig
            .svc
            .confirm_identity(&link, EMAIL, &password())
            .await
            .unwrap();
        (link, p.proof().clone())
    });

    let mut group = c.benchmark_group("portable");
    group.sample_size(50);

    group.bench_function("seal_challenge", |b| {
        b.iter(|| rig.svc.seal_challenge(black_box(&first)).unwrap());
    });
    let sealed = rig.svc.seal_challenge(&first).unwrap();
    group.bench_function("open_challenge", |b| {
        b.iter(|| rig.svc.open_challenge(black_box(sealed.as_str())).unwrap());
    });

    group.bench_function("seal_session", |b| {
        b.iter(|| rig.svc.seal_session(black_box(&session), 3_600).unwrap());
    });
    let sealed = rig.svc.seal_session(&session, 3_600).unwrap();
    group.bench_function("open_session", |b| {
        b.iter(|| rig.svc.open_session(black_box(sealed.as_str())).unwrap());
    });
    group.bench_function("seal_and_open_session", |b| {
        b.iter(|| {
            let opened = rig.svc.open_session(black_box(sealed.as_str())).unwrap();
            rig.svc.seal_session(&opened, 3_600).unwrap()
        });
    });

    group.bench_function("seal_setup_proof", |b| {
        b.iter(|| rig.svc.seal_setup_proof(&link, black_box(&proof)).unwrap());
    });
    let sealed = rig.svc.seal_setup_proof(&link, &proof).unwrap();
    group.bench_function("open_setup_proof", |b| {
        b.iter(|| {
            rig.svc
                .open_setup_proof(&link, black_box(sealed.as_str()))
                .unwrap()
        });
    });

    group.bench_function("mfa_service_code_check", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    rig.clock.advance(30);
                    let code = generate(app.secret(), app.params(), rig.clock.now().as_secs());
                    let start = now();
                    let renewed = rig.svc.reauthenticate(&session, &code).await;
                    total += start.elapsed();
                    black_box(renewed.unwrap());
                }
                total
            })
        });
    });
    group.finish();
}

criterion_group!(benches, bench_portable);
criterion_main!(benches);
