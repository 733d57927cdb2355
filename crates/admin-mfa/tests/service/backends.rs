//! The stores a service test can run on: memory, SQLite (a temporary file, WAL) and
//! PostgreSQL (a fresh schema per store, dropped afterwards). PostgreSQL follows docs/ARCHITECTURE.md
//! §7: it runs when `ADMIN_MFA_TEST_POSTGRES_URL` is set, prints one skip line when it is
//! not, and a missing or unreachable server fails under `ADMIN_MFA_REQUIRE_EXTERNAL=1`.

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use admin_mfa::MfaConfigBuilder;
use admin_mfa::ports::AdminStore;
use admin_mfa_memory::MemoryStore;
use admin_mfa_sqlx::{PostgresStore, SqliteStore};
use admin_mfa_testkit::PgSchema;

use crate::common::H;

/// The variable naming the PostgreSQL test server.
pub const URL_VAR: &str = "ADMIN_MFA_TEST_POSTGRES_URL";

/// Whatever must outlive a store (a temporary directory, a schema to drop).
pub type Guard = Box<dyn Any + Send + Sync>;

/// A store backend for the service tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend if it can run here: PostgreSQL only with its URL set (otherwise one
    /// skip line naming `test`, or a panic under `ADMIN_MFA_REQUIRE_EXTERNAL=1`).
    pub fn available(self, test: &str) -> Option<Self> {
        match self {
            Self::Memory | Self::Sqlite => Some(self),
            Self::Postgres => {
                if postgres_url().is_some() {
                    Some(self)
                } else {
                    eprintln!("skipped {test} on postgres: {URL_VAR} is not set");
                    None
                }
            }
        }
    }

    /// A fresh, empty store and what keeps it alive.
    pub async fn store(self) -> (Arc<dyn AdminStore>, Guard) {
        match self {
            Self::Memory => (Arc::new(MemoryStore::new()), Box::new(())),
            Self::Sqlite => {
                let dir = tempfile::tempdir().expect("a temp dir");
                let store = open_sqlite(&dir.path().join("admin-mfa.db")).await;
                (Arc::new(store), Box::new(dir))
            }
            Self::Postgres => {
                let schema = Schema::fresh().await;
                let store = schema.connect(10).await;
                (Arc::new(store), Box::new(schema))
            }
        }
    }

    /// The default harness on a fresh store of this backend.
    pub async fn h(self) -> H {
        self.with(|c| c).await
    }

    /// A harness with an adjusted configuration on a fresh store of this backend.
    pub async fn with(self, config: impl FnOnce(MfaConfigBuilder) -> MfaConfigBuilder) -> H {
        let (store, guard) = self.store().await;
        let mut h = H::over(store, config);
        h.guard = Some(guard);
        h
    }
}

/// Opens (creating and migrating) the SQLite store in `path`.
pub async fn open_sqlite(path: &Path) -> SqliteStore {
    SqliteStore::open(path)
        .await
        .expect("the sqlite store opens")
}

/// Whether a missing external service is a failure.
pub fn required() -> bool {
    std::env::var("ADMIN_MFA_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1")
}

/// The PostgreSQL test URL; `None` when unset and not required.
pub fn postgres_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if required() => panic!("ADMIN_MFA_REQUIRE_EXTERNAL=1 but {URL_VAR} is not set"),
        _ => None,
    }
}

/// A fresh schema on the PostgreSQL test server, dropped with everything in it on drop.
#[derive(Debug)]
pub struct Schema(PgSchema);

impl Schema {
    /// Creates a new schema; panics when PostgreSQL is not configured or unreachable (call
    /// [`Backend::available`] first).
    pub async fn fresh() -> Self {
        let url = postgres_url().expect("PostgreSQL is configured");
        Self(PgSchema::fresh(&url, "admin_mfa_svc_test").await)
    }

    /// A store with its own pool of `max_connections`, working inside this schema.
    pub async fn connect(&self, max_connections: u32) -> PostgresStore {
        PostgresStore::connect_with(self.0.options(), max_connections)
            .await
            .expect("the postgres store connects and migrates")
    }
}

/// Instantiates `async fn $name(b: Backend)` tests once per backend, in modules `memory`,
/// `sqlite` and `postgres` of the calling module. A leading `#[...]` replaces the default
/// `#[tokio::test]` (for a multi-threaded runtime).
macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        $crate::backends::on_every_store!(#[tokio::test] $($name),*);
    };
    (#[$test:meta] $($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[$test]
                async fn $name() {
                    super::$name($crate::backends::Backend::Memory).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[$test]
                async fn $name() {
                    super::$name($crate::backends::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[$test]
                async fn $name() {
                    if let Some(b) = $crate::backends::Backend::Postgres.available(stringify!($name)) {
                        super::$name(b).await;
                    }
                }
            )*
        }
    };
}
pub(crate) use on_every_store;
