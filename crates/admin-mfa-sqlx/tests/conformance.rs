//! Both SQL stores run the shared store conformance suite: SQLite always (a temporary
//! database file per test, in WAL mode), PostgreSQL when `ADMIN_MFA_TEST_POSTGRES_URL` is set
//! (a fresh schema per test; required under `ADMIN_MFA_REQUIRE_EXTERNAL=1`).

mod common;

#[cfg(feature = "sqlite")]
mod sqlite {
    admin_mfa_testkit::store_conformance!(guarded crate::common::sqlite::fresh());
}

#[cfg(feature = "postgres")]
mod postgres {
    admin_mfa_testkit::store_conformance!(optional crate::common::postgres::fresh());
}
