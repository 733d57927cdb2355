//! [`PgSchema`]: a PostgreSQL schema of its own for one test (feature `postgres`).

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};

/// Numbers the schemas of one process.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// An empty schema on a PostgreSQL server for one test, dropped with everything in it when
/// this value drops, so tests on one server never see each other's rows.
///
/// ```ignore
/// let schema = PgSchema::fresh(&url, "my_suite").await;
/// let store = PostgresStore::connect_with(schema.options(), 4).await?;
/// ```
#[derive(Debug)]
pub struct PgSchema {
    server: PgConnectOptions,
    name: String,
}

impl PgSchema {
    /// Creates the schema `{prefix}_{process id}_{n}` on the server at `url` (dropping one
    /// of that name left behind by an earlier process first).
    ///
    /// # Panics
    ///
    /// If `prefix` holds anything but ASCII letters, digits and `_` (the name is spliced into
    /// DDL), `url` does not parse, or the server is unreachable or refuses the schema: a
    /// test set up to use PostgreSQL fails loudly rather than skip.
    #[expect(
        clippy::expect_used,
        clippy::panic,
        reason = "a test whose database cannot be set up fails there"
    )]
    pub async fn fresh(url: &str, prefix: &str) -> Self {
        assert!(
            !prefix.is_empty()
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "a schema prefix is letters, digits and `_`: {prefix:?}"
        );
        let server: PgConnectOptions = url.parse().expect("a valid PostgreSQL URL");
        let mut conn = PgConnection::connect_with(&server)
            .await
            .unwrap_or_else(|e| panic!("the PostgreSQL test server is unreachable: {e}"));
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}_{}_{n}", std::process::id());
        conn.execute(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{name}\" CASCADE; CREATE SCHEMA \"{name}\""
        )))
        .await
        .expect("a test schema can be created");
        let _ = conn.close().await;
        Self { server, name }
    }

    /// The schema's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connect options whose sessions work inside this schema.
    #[must_use]
    pub fn options(&self) -> PgConnectOptions {
        self.server
            .clone()
            .options([("search_path", self.name.as_str())])
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let server = self.server.clone();
        // A test that failed mid-transaction may leave a connection holding locks in the
        // schema: give up after a while (the schema stays behind, named for this process)
        // rather than hang the whole run on the clean-up.
        let sql = format!(
            "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS \"{}\" CASCADE",
            self.name
        );
        // A drop may run inside a test's runtime: the async work gets a thread of its own.
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect_with(&server).await {
                    let _ = conn.execute(sqlx::AssertSqlSafe(sql)).await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}
