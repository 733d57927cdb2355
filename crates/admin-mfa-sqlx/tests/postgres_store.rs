//! PostgreSQL-specific guarantees, each in a fresh schema: migrations (T-STO-2), unique
//! constraints by name, no raw secret in any row (T-SEC-3, T-LOG-5), BIGINT UTC seconds
//! (T-STO-3). Skipped with one line when `ADMIN_MFA_TEST_POSTGRES_URL` is unset; a failure
//! under `ADMIN_MFA_REQUIRE_EXTERNAL=1`.

#![cfg(feature = "postgres")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use admin_mfa_ports::{AdminStore, Change};
use admin_mfa_sqlx::PostgresStore;
use admin_mfa_sqlx::sqlx::{self, AssertSqlSafe};
use admin_mfa_testkit::Guarded;
use admin_mfa_testkit::fixtures::{T0, admin, org, token_hash};
use common::postgres::{Schema, fresh_or_skip, options_in};
use common::secrets::{needles, sample, sample_change};

async fn connect(schema: &Schema) -> PostgresStore {
    PostgresStore::connect_with(options_in(schema), 4)
        .await
        .unwrap()
}

#[tokio::test]
async fn migrations_run_on_an_empty_schema_and_are_idempotent() {
    let Some(Guarded {
        store,
        guard: schema,
    }) = fresh_or_skip("migrations_run_on_an_empty_schema_and_are_idempotent").await
    else {
        return;
    };
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() ORDER BY 1",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(
        tables,
        [
            "_sqlx_migrations",
            "admins",
            "audit_events",
            "outbox",
            "widget_counts"
        ]
    );
    store
        .commit(Change::new().insert(admin(org(1), 1)))
        .await
        .unwrap();
    let again = PostgresStore::from_pool(store.pool().clone())
        .await
        .unwrap();
    drop(again);
    store.close().await;
    let reopened = connect(&schema).await;
    let applied: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(reopened.pool())
            .await
            .unwrap();
    assert_eq!(applied, vec![(1, true)]);
    assert_eq!(
        reopened.count_without_mfa_required(org(1)).await.unwrap(),
        1
    );
    reopened.close().await;
}

#[tokio::test]
async fn unique_constraints_back_the_invariants() {
    let Some(Guarded {
        store,
        guard: _schema,
    }) = fresh_or_skip("unique_constraints_back_the_invariants").await
    else {
        return;
    };
    let a = common::seed_unique_keys(&store).await;
    let copy_admin = "INSERT INTO admins (id, org, email, display_name, role, password_hash, \
        created_at, mfa_required, token_hash, mfa, widget_hidden, version) \
        SELECT $1, org, $2, display_name, role, password_hash, created_at, mfa_required, $3, \
        mfa, widget_hidden, 1 FROM admins";
    let violated = |err: sqlx::Error| {
        let db = err.into_database_error().expect("a database error");
        assert!(db.is_unique_violation());
        db.constraint().map(str::to_owned)
    };
    let err = sqlx::query(copy_admin)
        .bind(vec![9_u8; 16])
        .bind(a.email.as_str())
        .bind(Option::<Vec<u8>>::None)
        .execute(store.pool())
        .await
        .unwrap_err();
    assert_eq!(violated(err).as_deref(), Some("admins_org_email_key"));
    let err = sqlx::query(copy_admin)
        .bind(vec![9_u8; 16])
        .bind("other@example.com")
        .bind(token_hash(1).as_bytes().to_vec())
        .execute(store.pool())
        .await
        .unwrap_err();
    assert_eq!(violated(err).as_deref(), Some("admins_token_hash_key"));
    let err = sqlx::query(
        "INSERT INTO outbox (dedupe_key, org, admin, kind, created_at, payload, state, \
         next_attempt_at) SELECT dedupe_key, org, admin, kind, created_at, payload, state, \
         next_attempt_at FROM outbox",
    )
    .execute(store.pool())
    .await
    .unwrap_err();
    assert_eq!(violated(err).as_deref(), Some("outbox_dedupe_key_key"));
    store.close().await;
}

#[tokio::test]
async fn no_raw_secret_or_token_in_any_row() {
    let Some(Guarded {
        store,
        guard: _schema,
    }) = fresh_or_skip("no_raw_secret_or_token_in_any_row").await
    else {
        return;
    };
    let s = sample();
    store.commit(sample_change(&s)).await.unwrap();
    let needles = needles(&s);
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema()",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let mut rows = 0;
    let mut dump = String::new();
    for table in &tables {
        // Table names come from the catalog of this test's own schema.
        let sql = format!("SELECT t::text FROM \"{table}\" t");
        let texts: Vec<String> = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_all(store.pool())
            .await
            .unwrap();
        rows += texts.len();
        for text in texts {
            dump.push_str(&text);
            dump.push('\n');
        }
    }
    assert!(rows >= 3, "only {rows} rows dumped");
    for (what, needle) in &needles {
        // bytea prints as hex, so the hex needles also cover the raw bytes.
        if let Ok(text) = std::str::from_utf8(needle) {
            assert!(!dump.contains(text), "{what} found in a row");
        }
    }
    // The positive control: the token's hash is there, in the form bytea prints.
    assert!(dump.contains(&s.token.hash().to_hex()), "the dump is blind");
    store.close().await;
}

#[tokio::test]
async fn times_are_stored_as_bigint_utc_seconds() {
    let Some(Guarded {
        store,
        guard: _schema,
    }) = fresh_or_skip("times_are_stored_as_bigint_utc_seconds").await
    else {
        return;
    };
    common::seed_times(&store).await;
    let types: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text \
         FROM information_schema.columns WHERE table_schema = current_schema() \
         AND column_name IN ('created_at', 'at', 'next_attempt_at', 'leased_until') \
         AND table_name <> '_sqlx_migrations' ORDER BY 1, 2",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(types.len(), 5, "{types:?}");
    assert!(types.iter().all(|(_, _, t)| t == "bigint"), "{types:?}");
    let t0 = i64::try_from(T0.as_secs()).unwrap();
    let (created, at, created_out): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT created_at FROM admins), (SELECT at FROM audit_events), \
         (SELECT created_at FROM outbox)",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!((created, at, created_out), (t0, t0 + 1, t0 + 2));
    store.close().await;
}

#[tokio::test]
async fn the_widget_counter_matches_a_recount() {
    let Some(Guarded {
        store,
        guard: _schema,
    }) = fresh_or_skip("the_widget_counter_matches_a_recount").await
    else {
        return;
    };
    let pool = store.pool().clone();
    common::assert_widget_counts_match_recount(&store, |o| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar("SELECT COUNT(*) FROM admins WHERE org = $1 AND NOT mfa_required")
                .bind(o.as_uuid().as_bytes().to_vec())
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    })
    .await;
    store.close().await;
}

#[tokio::test]
async fn a_bad_url_is_an_error_that_does_not_repeat_the_password() {
    let err = PostgresStore::connect("postgres://admin:hunter2-secret@/bad url%zz")
        .await
        .unwrap_err();
    let mut chain = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        chain.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(!chain.contains("hunter2"), "{chain}");
}
