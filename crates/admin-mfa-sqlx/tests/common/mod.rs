//! Test databases: a temporary SQLite file per test, a fresh PostgreSQL schema per test.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file uses a different part of this module"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test setup fails loudly"
)]

use std::future::Future;

use admin_mfa_lifecycle::Admin;
use admin_mfa_ports::{AdminStore, Change, OrgId};
use admin_mfa_testkit::fixtures::{T0, admin, audit, notification, org, set_link, token_hash};

/// A store with what must outlive it (its temp dir, its schema): the suite's own type, so
/// the cases run on the store itself.
pub use admin_mfa_testkit::Guarded;

#[cfg(feature = "sqlite")]
pub mod sqlite {
    use admin_mfa_sqlx::SqliteStore;
    use tempfile::TempDir;

    use super::Guarded;

    /// A fresh store in a new database file (WAL) inside a temporary directory.
    pub async fn fresh() -> Guarded<SqliteStore, TempDir> {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = SqliteStore::open(dir.path().join("admin-mfa.db"))
            .await
            .expect("the sqlite store opens");
        Guarded { store, guard: dir }
    }
}

#[cfg(feature = "postgres")]
pub mod postgres {
    use admin_mfa_sqlx::PostgresStore;
    use admin_mfa_sqlx::sqlx::postgres::PgConnectOptions;

    use super::Guarded;

    /// The variable naming the test server.
    pub const URL_VAR: &str = "ADMIN_MFA_TEST_POSTGRES_URL";

    /// Whether a missing or unreachable external service is a failure.
    pub fn required() -> bool {
        std::env::var("ADMIN_MFA_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1")
    }

    /// The test server's URL; `None` (the caller skips) when unset and not required.
    pub fn url() -> Option<String> {
        match std::env::var(URL_VAR) {
            Ok(url) if !url.trim().is_empty() => Some(url),
            _ if required() => {
                panic!("ADMIN_MFA_REQUIRE_EXTERNAL=1 but {URL_VAR} is not set")
            }
            _ => None,
        }
    }

    /// A schema of its own per test, dropped (with everything in it) after it.
    pub use admin_mfa_testkit::PgSchema as Schema;

    /// Creates a new, empty schema on the test server; `None` when PostgreSQL is not
    /// configured (and not required).
    pub async fn fresh_schema() -> Option<Schema> {
        Some(Schema::fresh(&url()?, "admin_mfa_test").await)
    }

    /// Connect options whose sessions work inside `schema`.
    pub fn options_in(schema: &Schema) -> PgConnectOptions {
        schema.options()
    }

    /// [`fresh`], or `None` after one line naming `test` when PostgreSQL is not configured.
    pub async fn fresh_or_skip(test: &str) -> Option<Guarded<PostgresStore, Schema>> {
        let fresh = fresh().await;
        if fresh.is_none() {
            eprintln!("skipped {test}: {URL_VAR} is not set");
        }
        fresh
    }

    /// A fresh store in a new schema, or `None` when PostgreSQL is not configured.
    pub async fn fresh() -> Option<Guarded<PostgresStore, Schema>> {
        let schema = fresh_schema().await?;
        let store = PostgresStore::connect_with(options_in(&schema), 10)
            .await
            .expect("the postgres store connects and migrates");
        Some(Guarded {
            store,
            guard: schema,
        })
    }
}

/// A real sealed secret and link token, and every raw form of them that must never be stored.
pub mod secrets {
    use admin_mfa_lifecycle::{
        ActiveFactor, Factor, KeyId, LinkPurpose, LinkToken, Nonce, Sealed, SealingKey, TimeStep,
        TotpParams, TotpSecret,
    };
    use admin_mfa_ports::Change;
    use admin_mfa_testkit::fixtures::{T0, admin, notification, org, require, set_link};
    use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD, HEXLOWER, HEXUPPER};
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    /// An enrolled admin with a used step and a pending reset link, the secret really sealed.
    pub struct Sample {
        pub admin: admin_mfa_lifecycle::Admin,
        pub secret: TotpSecret,
        pub token: LinkToken,
    }

    pub fn sample() -> Sample {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let key = SealingKey::generate(KeyId::new(1), &mut rng);
        let secret = TotpSecret::generate_with(&mut rng);
        let token = LinkToken::generate(&mut rng);
        let mut a = admin(org(1), 1);
        require(&mut a, T0);
        a.mfa.factor = Factor::Active(ActiveFactor {
            sealed: Sealed::seal_secret(&key, Nonce::generate(&mut rng), a.id, &secret).unwrap(),
            params: TotpParams::default(),
            enrolled_at: T0,
            last_used_step: Some(TimeStep::new(T0.as_secs() / 30)),
        });
        set_link(&mut a, token.hash(), T0);
        if let Some(link) = a.mfa.link.as_mut() {
            link.purpose = LinkPurpose::Reset;
            link.candidate = Some(admin_mfa_lifecycle::Candidate {
                sealed: Sealed::seal_secret(&key, Nonce::generate(&mut rng), a.id, &secret)
                    .unwrap(),
                params: TotpParams::default(),
                created_at: T0,
                proof_hash: None,
            });
        }
        Sample {
            admin: a,
            secret,
            token,
        }
    }

    pub fn sample_change(s: &Sample) -> Change {
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let key = SealingKey::generate(KeyId::new(1), &mut rng);
        let mut note = notification(&s.admin, "reset-1", T0);
        note.link = Some(
            Sealed::seal_link_token(
                &key,
                Nonce::generate(&mut rng),
                s.admin.id,
                LinkPurpose::Reset,
                &s.token,
            )
            .unwrap(),
        );
        note.link_purpose = Some(LinkPurpose::Reset);
        note.link_expires_at = Some(T0.saturating_add_secs(3600));
        Change::new().insert(s.admin.clone()).notify([note])
    }

    /// Every form in which a secret could leak into the file.
    pub fn needles(s: &Sample) -> Vec<(String, Vec<u8>)> {
        let raw = s.secret.expose_secret_bytes().to_vec();
        let token = s.token.as_bytes().to_vec();
        let mut out = vec![
            ("secret bytes".into(), raw.clone()),
            ("secret hex".into(), HEXLOWER.encode(&raw).into_bytes()),
            ("secret HEX".into(), HEXUPPER.encode(&raw).into_bytes()),
            (
                "secret base32".into(),
                BASE32_NOPAD.encode(&raw).into_bytes(),
            ),
            (
                "secret base32 lower".into(),
                BASE32_NOPAD.encode(&raw).to_lowercase().into_bytes(),
            ),
            ("token bytes".into(), token.clone()),
            ("token hex".into(), HEXLOWER.encode(&token).into_bytes()),
            (
                "token base64url".into(),
                BASE64URL_NOPAD.encode(&token).into_bytes(),
            ),
            ("token encoded".into(), s.token.encode().as_bytes().to_vec()),
        ];
        out.retain(|(_, n)| !n.is_empty());
        out
    }
}

/// Drives the widget counter through inserts, requirement flips both ways, a refused change
/// and two organizations; returns the organizations for the caller's raw recount.
pub async fn churn_widget_counts(store: &dyn AdminStore) -> [OrgId; 2] {
    use admin_mfa_testkit::fixtures::{require, unrequire};
    let orgs = [org(1), org(2)];
    let mut change = Change::new();
    for n in 0..40u32 {
        let mut a = admin(orgs[(n % 2) as usize], n);
        if n % 3 == 0 {
            require(&mut a, T0);
        }
        change = change.insert(a);
    }
    store.commit(change).await.unwrap();
    // Flip every fifth admin, in one change spanning both organizations.
    let mut change = Change::new();
    for n in (0..40u32).step_by(5) {
        let o = orgs[(n % 2) as usize];
        let read = store
            .admin(o, admin_mfa_testkit::fixtures::admin_id(n))
            .await
            .unwrap()
            .unwrap();
        let mut a = read.value.clone();
        if a.mfa.requirement.is_required() {
            unrequire(&mut a);
        } else {
            require(&mut a, T0);
        }
        change = change.update(a, read.version);
    }
    store.commit(change).await.unwrap();
    // A refused change (one stale version) moves no count.
    let read = store
        .admin(orgs[0], admin_mfa_testkit::fixtures::admin_id(2))
        .await
        .unwrap()
        .unwrap();
    let mut a = read.value.clone();
    require(&mut a, T0);
    let mut b = admin(orgs[0], 1000);
    unrequire(&mut b);
    let stale = store
        .commit(
            Change::new()
                .insert(b)
                .update(a, admin_mfa_ports::Version::new(99)),
        )
        .await;
    assert!(stale.is_err());
    orgs
}

/// Commits admin 1 of org 1 with link token 1 and one queued email (dedupe key
/// `dedupe-1`): one row in each table with a unique key, for the constraint tests to copy.
pub async fn seed_unique_keys(store: &dyn AdminStore) -> Admin {
    let mut a = admin(org(1), 1);
    set_link(&mut a, token_hash(1), T0);
    store
        .commit(
            Change::new()
                .insert(a.clone())
                .notify([notification(&a, "dedupe-1", T0)]),
        )
        .await
        .unwrap();
    a
}

/// Commits admin 1 of org 1 created at `T0`, an audit event at `T0 + 1` and an email
/// created at `T0 + 2`: one time column of each kind, for the time-format tests.
pub async fn seed_times(store: &dyn AdminStore) {
    let a = admin(org(1), 1);
    store
        .commit(
            Change::new()
                .insert(a.clone())
                .audit([audit(org(1), a.id, T0.saturating_add_secs(1))])
                .notify([notification(&a, "k", T0.saturating_add_secs(2))]),
        )
        .await
        .unwrap();
}

/// Churns the widget counter ([`churn_widget_counts`]) and checks, per organization, that
/// the store's count equals `recount`, a raw `COUNT(*)` over the admins table.
pub async fn assert_widget_counts_match_recount<F, Fut>(store: &dyn AdminStore, recount: F)
where
    F: Fn(OrgId) -> Fut,
    Fut: Future<Output = i64>,
{
    for o in churn_widget_counts(store).await {
        let counted = store.count_without_mfa_required(o).await.unwrap();
        assert_eq!(counted, u64::try_from(recount(o).await).unwrap());
        assert!(counted > 0);
    }
}
