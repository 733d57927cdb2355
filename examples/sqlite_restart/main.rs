//! admin-mfa on a SQLite file whose data survives a restart.
//!
//! Run it twice:
//!
//! ```text
//! cargo run --example sqlite_restart            # first run
//! cargo run --example sqlite_restart            # second run
//! ```
//!
//! The first run creates the database, bootstraps the organization's first admin (Ada,
//! Administrator With Billing), follows her setup link to enrol a TOTP factor, signs her in
//! with password and code, and has her create two more admins (who get setup e-mails). The
//! second run opens the same file, prints "found N admins from an earlier run", and signs Ada
//! in with MFA again: the factor, the used time step (a code is accepted once, even across
//! restarts), the audit log and the outbox all come from the file.
//!
//! # Files
//!
//! - The database: the first argument, else `ADMIN_MFA_EXAMPLE_DB`, else
//!   `admin-mfa-sqlite-restart.db` in the system temp directory. The path is printed.
//! - `<database>.key`: the 32-byte key that seals TOTP secrets at rest, made on the first run.
//!   A real host keeps this key in its secret manager, never next to the database.
//! - `<database>.authenticator`: the `otpauth://` URI as Ada's authenticator app holds it,
//!   so the second run can type her code. It stands in for her phone.
//!
//! Delete the three files to start over.
//!
//! # E-mail
//!
//! Without SMTP settings, e-mails go to the in-memory `RecordingMailer` and are printed.
//! With `ADMIN_MFA_SMTP_HOST` set, they are sent through `LettreMailer` (and a copy is kept
//! so the example can follow the links, as the recipient would):
//!
//! - `ADMIN_MFA_SMTP_HOST`: the relay host (turns SMTP on).
//! - `ADMIN_MFA_SMTP_TLS`: `implicit` (default, port 465), `starttls` (587) or `none` (25; a
//!   relay on this host or a trusted network only).
//! - `ADMIN_MFA_SMTP_PORT`: overrides the mode's port.
//! - `ADMIN_MFA_SMTP_USER` and `ADMIN_MFA_SMTP_PASSWORD`: credentials, both or neither.
//! - `ADMIN_MFA_SMTP_FROM`: the From address (default `security@example.com`).
//! - `ADMIN_MFA_EXAMPLE_EMAIL_DOMAIN`: the domain of the example admins' addresses (default
//!   `example.com`), so the mail can reach a mailbox of yours.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use admin_mfa::lifecycle::{KeyId, KeyRing, SealingKey};
use admin_mfa::ports::{AdminStore, Clock, EmailMessage, MailError, Mailer, SystemClock};
use admin_mfa::totp::{OtpauthUri, generate};
use admin_mfa::{
    Authenticated, BuiltinRole, Email, LoginOutcome, MfaConfig, MfaService, NewAdmin, OrgId,
    PageRequest, Password, Role,
};
use admin_mfa_lettre::{LettreMailer, Sender, TlsMode};
use admin_mfa_memory::RecordingMailer;
use admin_mfa_sqlx::SqliteStore;
use async_trait::async_trait;

type Res<T = ()> = Result<T, Box<dyn Error>>;

/// The organization of this example. Fixed, so every run finds the same org in the file
/// (a host takes the id from its own tenant table).
const ORG: OrgId = OrgId::from_bytes(*b"sqlite-restart-1");

/// The one password of the example's admins (a real portal has one per admin).
const PASSWORD: &str = "sqlite restart: correct horse battery staple";

/// The cast: (local part, display name, role). Ada is bootstrapped; she creates the others.
const CAST: [(&str, &str, BuiltinRole); 3] = [
    ("ada", "Ada", BuiltinRole::AdministratorWithBilling),
    ("bob", "Bob", BuiltinRole::Administrator),
    ("carol", "Carol", BuiltinRole::Manager),
];

/// Sends through SMTP and keeps a copy of what was sent, so the example can follow links.
#[derive(Debug)]
struct SmtpWithCopy {
    smtp: LettreMailer,
    copy: Arc<RecordingMailer>,
}

#[async_trait]
impl Mailer for SmtpWithCopy {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        self.smtp.send(message).await?;
        self.copy.send(message).await
    }
}

struct App {
    svc: MfaService,
    store: Arc<SqliteStore>,
    /// What was delivered (all of it without SMTP; a copy of it with SMTP).
    outbox_copy: Arc<RecordingMailer>,
    domain: String,
    authenticator: PathBuf,
    /// Whether e-mails go out by SMTP (else they are printed in full).
    smtp: bool,
}

fn password() -> Res<Password> {
    Ok(Password::new(PASSWORD)?)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The database path: first argument, then the environment, then the temp directory.
fn database_path() -> PathBuf {
    std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .or_else(|| env("ADMIN_MFA_EXAMPLE_DB").map(PathBuf::from))
        .unwrap_or_else(|| std::env::temp_dir().join("admin-mfa-sqlite-restart.db"))
}

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Writes a file only its owner can read (where the platform has permissions).
fn write_private(path: &Path, bytes: &[u8]) -> Res {
    std::fs::write(path, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// The sealing key: read from `path`, or made and saved on the first run. Without the same
/// key on every run, the sealed TOTP secrets in the database could not be opened.
fn sealing_key(path: &Path) -> Res<SealingKey> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0_u8; 32];
            getrandom::fill(&mut key)?;
            write_private(path, &key)?;
            println!("made a new sealing key in {}", path.display());
            key.to_vec()
        }
        Err(e) => return Err(e.into()),
    };
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| format!("{} does not hold a 32-byte key", path.display()))?;
    Ok(SealingKey::new(KeyId::new(1), key))
}

/// The SMTP mailer when `ADMIN_MFA_SMTP_HOST` is set.
fn smtp_mailer() -> Res<Option<LettreMailer>> {
    let Some(host) = env("ADMIN_MFA_SMTP_HOST") else {
        return Ok(None);
    };
    let from = env("ADMIN_MFA_SMTP_FROM").unwrap_or_else(|| "security@example.com".into());
    let sender = Sender::new(Email::parse(&from)?, "admin-mfa example")?;
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
    let mailer = builder.build()?;
    println!("e-mail: SMTP via {host} ({tls:?}), from {from}");
    Ok(Some(mailer))
}

impl App {
    async fn open(db: &Path) -> Res<Self> {
        // Creates the file on the first run and applies the embedded migrations (a no-op
        // when they are applied already). WAL mode, a busy timeout.
        let store = Arc::new(SqliteStore::open(db).await?);
        let keys = KeyRing::new(sealing_key(&sibling(db, ".key"))?);
        let outbox_copy = Arc::new(RecordingMailer::new());
        let smtp = smtp_mailer()?;
        let smtp_on = smtp.is_some();
        let mailer: Arc<dyn Mailer> = match smtp {
            Some(smtp) => Arc::new(SmtpWithCopy {
                smtp,
                copy: Arc::clone(&outbox_copy),
            }),
            None => {
                println!("e-mail: printed here (set ADMIN_MFA_SMTP_HOST to send it by SMTP)");
                Arc::clone(&outbox_copy) as Arc<dyn Mailer>
            }
        };
        let config = MfaConfig::builder("ACME Admin Portal", "https://admin.example.com/mfa")
            .support_contact("security@example.com")
            .build()?;
        let svc = MfaService::builder(
            config,
            Arc::clone(&store) as Arc<dyn AdminStore>,
            mailer,
            Arc::new(SystemClock) as Arc<dyn Clock>,
            Arc::new(keys),
        )
        .build();
        Ok(Self {
            svc,
            store,
            outbox_copy,
            domain: env("ADMIN_MFA_EXAMPLE_EMAIL_DOMAIN").unwrap_or_else(|| "example.com".into()),
            authenticator: sibling(db, ".authenticator"),
            smtp: smtp_on,
        })
    }

    fn email(&self, local: &str) -> String {
        format!("{local}@{}", self.domain)
    }

    /// Every admin of the org, counted role by role.
    async fn count_admins(&self) -> Res<u64> {
        let mut n = 0;
        for r in BuiltinRole::ALL {
            n += self.store.count_with_role(ORG, &Role::Builtin(r)).await?;
        }
        Ok(n)
    }

    /// Sends what the outbox holds and prints it; returns what went out.
    async fn deliver(&self) -> Res<Vec<EmailMessage>> {
        let before = self.outbox_copy.sent().len();
        let report = self.svc.dispatch_emails().await?;
        let sent = self.outbox_copy.sent().split_off(before);
        println!("outbox dispatched: {report:?}");
        for m in &sent {
            println!("  e-mail to {}: {}", m.to.as_str(), m.subject);
            if !self.smtp {
                for line in m.text.lines() {
                    println!("  | {line}");
                }
            }
        }
        Ok(sent)
    }

    /// Waits until the clock is in a step after `last_step`: each code is accepted once,
    /// and the database remembers which step was used last, across restarts.
    async fn wait_for_step_after(&self, last_step: Option<u64>) {
        let now = SystemClock.now().as_secs();
        if let Some(last) = last_step
            && now / 30 <= last
        {
            let wait = (last + 1) * 30 - now;
            println!(
                "the code of this 30 s step is used up (stored step {last}); waiting {wait} s for the next one"
            );
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    }

    /// The code Ada's authenticator app shows now.
    fn app_code(&self) -> Res<String> {
        let uri = std::fs::read_to_string(&self.authenticator)
            .map_err(|e| format!("cannot read {}: {e}", self.authenticator.display()))?;
        let scanned = OtpauthUri::parse(uri.trim())?;
        Ok(generate(
            scanned.secret(),
            scanned.params(),
            SystemClock.now().as_secs(),
        )
        .as_str()
        .to_owned())
    }

    /// Password, then TOTP code.
    async fn mfa_login(&self, email: &str) -> Res<Authenticated> {
        let admin = self
            .store
            .admin_by_email(ORG, &Email::parse(email)?)
            .await?
            .ok_or("admin not found")?
            .value;
        let last = admin
            .mfa
            .active_factor()
            .and_then(|f| f.last_used_step)
            .map(|s| s.get());
        self.wait_for_step_after(last).await;
        let LoginOutcome::MfaChallenge(challenge) =
            self.svc.login(ORG, email, &password()?).await?
        else {
            return Err("expected an MFA challenge after the password".into());
        };
        let session = self.svc.verify(&challenge, &self.app_code()?).await?;
        println!(
            "logged in as {email} with MFA: factors {:?}",
            session.factors()
        );
        Ok(session)
    }

    async fn first_run(&self) -> Res {
        let (local, name, role) = CAST[0];
        let ada = self.email(local);
        let created = self
            .svc
            .bootstrap_admin(
                ORG,
                NewAdmin {
                    email: ada.clone(),
                    display_name: name.into(),
                    role: Role::Builtin(role),
                    password: password()?,
                },
            )
            .await?;
        println!(
            "bootstrapped {ada} ({role:?}), MFA required: {}",
            created.mfa_required
        );
        let LoginOutcome::SetupRequired(_) = self.svc.login(ORG, &ada, &password()?).await? else {
            return Err("expected \"check your e-mail to set up MFA\"".into());
        };
        println!("password login: MFA setup required, check your e-mail");
        let sent = self.deliver().await?;
        // The login re-sent the link; the newest link replaces every older one.
        let link = sent
            .iter()
            .rev()
            .find(|m| m.text.contains("token="))
            .ok_or("no setup link e-mail")?;
        let start = link.text.find("token=").ok_or("no token")? + "token=".len();
        let token = link.text.get(start..start + 43).ok_or("short token")?;
        let provisioning = self.svc.confirm_identity(token, &ada, &password()?).await?;
        println!("followed the setup link: email + password accepted, secret shown as QR/key");
        // The authenticator app scans the URI; this file plays the app.
        write_private(&self.authenticator, provisioning.otpauth_uri().as_bytes())?;
        let done = self
            .svc
            .complete_setup(token, provisioning.proof(), &self.app_code()?)
            .await?;
        println!("{} complete: TOTP factor active", done.purpose);
        self.deliver().await?;

        let session = self.mfa_login(&ada).await?;
        for (local, name, role) in CAST.iter().skip(1).copied() {
            let created = self
                .svc
                .create_admin(
                    &session,
                    NewAdmin {
                        email: self.email(local),
                        display_name: name.into(),
                        role: Role::Builtin(role),
                        password: password()?,
                    },
                )
                .await?;
            println!(
                "created {} ({role:?}), MFA required: {}",
                self.email(local),
                created.mfa_required
            );
        }
        self.deliver().await?;
        println!(
            "{} admins in the database; run me again",
            self.count_admins().await?
        );
        Ok(())
    }

    async fn later_run(&self, admins: u64) -> Res {
        println!("found {admins} admins from an earlier run");
        for (local, _, role) in CAST {
            if let Some(a) = self
                .store
                .admin_by_email(ORG, &Email::parse(&self.email(local))?)
                .await?
            {
                let a = a.value;
                println!(
                    "  {} ({role:?}): MFA required {}, enrolled {}",
                    a.email.as_str(),
                    a.mfa.requirement.is_required(),
                    a.mfa.is_enrolled()
                );
            }
        }
        // Anything a crash left in the outbox goes out now.
        self.deliver().await?;
        let session = self.mfa_login(&self.email(CAST[0].0)).await?;
        let log = self
            .svc
            .audit_log(&session, PageRequest::first(1000))
            .await?;
        println!("audit log: {} events kept across runs", log.items.len());
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Res {
    let db = database_path();
    println!("database: {}", db.display());
    let app = App::open(&db).await?;
    let admins = app.count_admins().await?;
    if admins == 0 {
        println!("no admins yet: first run");
        app.first_run().await?;
    } else if !app.authenticator.exists() {
        return Err(format!(
            "{} is missing: an earlier run stopped half-way; delete {} and its siblings",
            app.authenticator.display(),
            db.display()
        )
        .into());
    } else {
        app.later_run(admins).await?;
    }
    app.store.close().await;
    Ok(())
}
