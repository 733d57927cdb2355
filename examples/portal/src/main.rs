//! `cargo run -p admin-mfa-portal`: the reference admin portal at http://127.0.0.1:8080.
//!
//! On first start it prints a one-time link that creates the organization's first
//! Administrator With Billing (there is no default password). Settings, all optional:
//!
//! | Variable | Default | Meaning |
//! |---|---|---|
//! | `ADMIN_MFA_PORTAL_ADDR` | `127.0.0.1:8080` | where to listen |
//! | `ADMIN_MFA_PORTAL_ORIGIN` | `http://` + the address | the public origin (`https://…` behind a TLS proxy; plain `http` only on loopback) |
//! | `DATABASE_URL` | a SQLite file | `postgres://…` for PostgreSQL (several portals may share it), `sqlite://PATH` for another SQLite file |
//! | `ADMIN_MFA_PORTAL_DATA` | `<temp dir>/admin-mfa-portal` | the folder of the default SQLite file `portal.db` and key file `sealing.key` |
//! | `ADMIN_MFA_PORTAL_SEALING_KEY` | (the key file) | 64 hex digits: the key that seals TOTP secrets and login cookies; every portal on one database needs the same |
//! | `ADMIN_MFA_PORTAL_KEY_FILE` | `<data>/sealing.key` | where the key is kept when the variable above is unset; made on first start (32 random bytes, mode 0600) |
//! | `ADMIN_MFA_SMTP_HOST` | (unset: development mailbox) | an SMTP relay: e-mails are sent through it |
//! | `ADMIN_MFA_SMTP_TLS` | `implicit` | `implicit` (465), `starttls` (587) or `none` (25, a trusted relay only) |
//! | `ADMIN_MFA_SMTP_PORT`, `ADMIN_MFA_SMTP_USER`, `ADMIN_MFA_SMTP_PASSWORD`, `ADMIN_MFA_SMTP_FROM` | | port, credentials (both or neither), From address |
//!
//! Without SMTP, e-mails are kept in memory and shown at `/dev/mailbox`, and the portal
//! refuses to start on anything but a plain-http loopback origin. Losing the sealing key
//! makes every enrolled authenticator unusable (admins then reset MFA by e-mail); keep it
//! in your secret manager and pass it through `ADMIN_MFA_PORTAL_SEALING_KEY` in production.

use std::error::Error;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use admin_mfa::Email;
use admin_mfa::lifecycle::{KeyId, KeyRing, SealingKey};
use admin_mfa::ports::{AdminStore, SystemClock};
use admin_mfa_axum::spawn_dispatcher;
use admin_mfa_lettre::{LettreMailer, Sender, TlsMode};
use admin_mfa_memory::RecordingMailer;
use admin_mfa_portal::{Mail, PRODUCT, Portal, PortalSetup};
use admin_mfa_sqlx::{PostgresStore, SqliteStore};
use zeroize::Zeroizing;

type Res<T = ()> = Result<T, Box<dyn Error>>;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::main]
async fn main() -> Res {
    tracing_subscriber::fmt().init();
    let addr: SocketAddr = env("ADMIN_MFA_PORTAL_ADDR")
        .unwrap_or_else(|| "127.0.0.1:8080".into())
        .parse()
        .map_err(|_| "ADMIN_MFA_PORTAL_ADDR is not an address like 127.0.0.1:8080")?;
    let origin = env("ADMIN_MFA_PORTAL_ORIGIN").unwrap_or_else(|| format!("http://{addr}"));
    let data = env("ADMIN_MFA_PORTAL_DATA").map_or_else(
        || std::env::temp_dir().join("admin-mfa-portal"),
        PathBuf::from,
    );

    let mail = match smtp_mailer()? {
        Some(smtp) => Mail::Send(Arc::new(smtp)),
        // The mailbox shows every link: only on a loopback address, never on the network.
        None if !addr.ip().is_loopback() => {
            return Err(format!(
                "without SMTP settings the portal keeps e-mails in a development mailbox, which \
                 is only served on a loopback address, not on {addr}; set ADMIN_MFA_SMTP_HOST"
            )
            .into());
        }
        None => Mail::Mailbox(Arc::new(RecordingMailer::new())),
    };
    let store = open_store(&data).await?;
    let keys = KeyRing::new(sealing_key(&data)?);
    let mailbox = matches!(mail, Mail::Mailbox(_));
    let portal = Portal::new(PortalSetup {
        origin: origin.clone(),
        store,
        mail,
        clock: Arc::new(SystemClock),
        keys,
    })?;

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("{PRODUCT}: {origin}");
    if mailbox {
        println!(
            "e-mail: not sent; read it at {origin}/dev/mailbox (set ADMIN_MFA_SMTP_HOST to send)"
        );
    }
    if let Some(link) = portal.bootstrap_link().await? {
        println!();
        println!("First start: open this one-time link to create your organization's first");
        println!("administrator (an Administrator With Billing):");
        println!();
        println!("    {link}");
        println!();
    } else {
        println!("sign in at {origin}/signin");
    }

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let outbox = spawn_dispatcher(
        Arc::clone(portal.service()),
        Duration::from_secs(2),
        async {
            let _ = stopped.await;
        },
    );
    axum::serve(listener, portal.router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    let _ = stop.send(());
    outbox.await?;
    Ok(())
}

/// PostgreSQL for `DATABASE_URL=postgres://…`, else a SQLite file.
async fn open_store(data: &Path) -> Res<Arc<dyn AdminStore>> {
    match env("DATABASE_URL") {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            println!("store: PostgreSQL (DATABASE_URL)");
            Ok(Arc::new(PostgresStore::connect(&url).await?))
        }
        Some(url) => {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .ok_or("DATABASE_URL must start with postgres:// or sqlite://")?;
            println!("store: SQLite file {path}");
            Ok(Arc::new(SqliteStore::open(path).await?))
        }
        None => {
            std::fs::create_dir_all(data)?;
            let path = data.join("portal.db");
            println!("store: SQLite file {}", path.display());
            Ok(Arc::new(SqliteStore::open(&path).await?))
        }
    }
}

/// The sealing key: `ADMIN_MFA_PORTAL_SEALING_KEY`, else the key file (made on first start).
fn sealing_key(data: &Path) -> Res<SealingKey> {
    let bytes = if let Some(hex) = env("ADMIN_MFA_PORTAL_SEALING_KEY") {
        Zeroizing::new(
            data_encoding::HEXLOWER_PERMISSIVE
                .decode(hex.trim().as_bytes())
                .map_err(|_| "ADMIN_MFA_PORTAL_SEALING_KEY is not hexadecimal")?,
        )
    } else {
        let path = env("ADMIN_MFA_PORTAL_KEY_FILE")
            .map_or_else(|| data.join("sealing.key"), PathBuf::from);
        read_or_make_key(&path)?
    };
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| "the sealing key must be 32 bytes (64 hex digits)")?;
    Ok(SealingKey::new(KeyId::new(1), key))
}

fn read_or_make_key(path: &Path) -> Res<Zeroizing<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Zeroizing::new(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut key = Zeroizing::new(vec![0_u8; 32]);
            getrandom::fill(&mut key)?;
            write_private(path, &key)?;
            println!(
                "made a new sealing key in {} (keep it: it opens the stored secrets)",
                path.display()
            );
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}

/// Creates `path` readable by its owner only, then writes `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> Res {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)?;
    Ok(())
}

/// The SMTP mailer when `ADMIN_MFA_SMTP_HOST` is set.
fn smtp_mailer() -> Res<Option<LettreMailer>> {
    let Some(host) = env("ADMIN_MFA_SMTP_HOST") else {
        return Ok(None);
    };
    let from = env("ADMIN_MFA_SMTP_FROM").unwrap_or_else(|| "security@example.com".into());
    let sender = Sender::new(Email::parse(&from)?, PRODUCT)?;
    let tls = match env("ADMIN_MFA_SMTP_TLS").as_deref() {
        None | Some("implicit") => TlsMode::Implicit,
        Some("starttls") => TlsMode::StartTls,
        Some("none") => TlsMode::None,
        Some(_) => return Err("ADMIN_MFA_SMTP_TLS must be implicit, starttls or none".into()),
    };
    let mut builder = LettreMailer::builder(host.clone(), sender).tls(tls);
    if let Some(port) = env("ADMIN_MFA_SMTP_PORT") {
        builder = builder.port(
            port.parse()
                .map_err(|_| "ADMIN_MFA_SMTP_PORT is not a port")?,
        );
    }
    match (env("ADMIN_MFA_SMTP_USER"), env("ADMIN_MFA_SMTP_PASSWORD")) {
        (Some(user), Some(pass)) => builder = builder.credentials(user, pass),
        (None, None) => {}
        _ => {
            return Err(
                "set both ADMIN_MFA_SMTP_USER and ADMIN_MFA_SMTP_PASSWORD, or neither".into(),
            );
        }
    }
    println!("e-mail: SMTP via {host} ({tls:?}), from {from}");
    Ok(Some(builder.build()?))
}
