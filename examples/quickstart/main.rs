//! The admin-mfa quickstart: the whole story of JumpCloud's admin-portal MFA guide ("Enable MFA
//! for the Admin Portal"), told on the embedded in-memory store.
//!
//! Run it with `cargo run --example quickstart`. It finishes in seconds and exits 0; any
//! step that does not behave as the guide says makes it exit 1.
//!
//! The cast, one organization:
//! - Ada, Administrator With Billing, the organization's first admin (bootstrapped).
//! - Legacy admins created before "MFA by default": Bob (Administrator), Carol
//!   (Administrator With Billing), Dave (Help Desk), Erin (Command Runner), Fay (Billing
//!   Only), Gus (Manager) and Hal (Read Only).
//! - Ivy (Manager), created by Ada: MFA required from the start.

mod provisioning;

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use admin_mfa::lifecycle::{Admin, KeyId, KeyRing, SealingKey, UnixTime};
use admin_mfa::ports::{AdminStore, Change, Clock, EmailMessage, SystemClock};
use admin_mfa::totp::{OtpauthUri, TerminalStyle, TotpSecret, generate};
use admin_mfa::{
    AdminId, Authenticated, BuiltinRole, BulkItem, Email, Error as MfaError, LoginOutcome,
    MfaConfig, MfaService, NewAdmin, OrgId, PageRequest, Password, PasswordParams, Passwords,
    PostureExport, PostureFilter, PostureFormat, Role, WidgetAccess,
};
use admin_mfa_memory::{ManualClock, MemoryStore, RecordingMailer};

mod policy;

type Res<T = ()> = Result<T, Box<dyn Error>>;

/// The one password of this story (a real portal would have one per admin).
const PASSWORD: &str = "quickstart: correct horse battery staple";

struct Story {
    svc: MfaService,
    store: Arc<MemoryStore>,
    mailer: Arc<RecordingMailer>,
    clock: Arc<ManualClock>,
    org: OrgId,
    /// The recovery codes of the last completed set-up, as the admin printed them.
    recovery: std::sync::Mutex<Vec<String>>,
}

fn check(ok: bool, what: &str) -> Res {
    if ok {
        Ok(())
    } else {
        Err(format!("unexpected: {what}").into())
    }
}

fn password() -> Res<Password> {
    Ok(Password::new(PASSWORD)?)
}

fn heading(text: &str) {
    println!("\n== {text}");
}

/// What the password step answered, in the words a login page would use.
fn login_answer(outcome: &LoginOutcome) -> &'static str {
    match outcome {
        LoginOutcome::Authenticated(_) => "signed in (no MFA yet)",
        LoginOutcome::MfaChallenge(_) => "asked for a code",
        LoginOutcome::SetupRequired(_) => "MFA must be set up first: check your e-mail",
    }
}

/// An instant as an RFC 3339 date in UTC (`2026-12-05T22:17:08Z`), the way a portal shows it.
fn date(t: UnixTime) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(t.as_secs());
    humantime::format_rfc3339_seconds(at).to_string()
}

impl Story {
    fn new() -> Res<Self> {
        let store = Arc::new(MemoryStore::new());
        let mailer = Arc::new(RecordingMailer::new());
        // The story starts now, on a clock it can move forward (to wait out lockout delays).
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        // The key that seals TOTP secrets at rest; a host loads it from its secret manager.
        let mut key = [0_u8; 32];
        getrandom::fill(&mut key)?;
        let keys = KeyRing::new(SealingKey::new(KeyId::new(1), key));
        let config = MfaConfig::builder("ACME Admin Portal", "https://admin.example.com/mfa")
            .support_contact("security@example.com")
            .build()?;
        let svc = MfaService::builder(
            config,
            Arc::clone(&store) as Arc<dyn AdminStore>,
            Arc::clone(&mailer) as _,
            Arc::clone(&clock) as Arc<dyn Clock>,
            Arc::new(keys),
        )
        .build();
        Ok(Self {
            svc,
            store,
            mailer,
            clock,
            org: OrgId::from_bytes([0x0a; 16]),
            recovery: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// An admin's e-mail address, as the audit log should read (it stores ids).
    async fn email_of(&self, id: AdminId) -> Res<String> {
        Ok(self.admin(id).await?.email.as_str().to_owned())
    }

    async fn admin(&self, id: AdminId) -> Res<Admin> {
        Ok(self
            .store
            .admin(self.org, id)
            .await?
            .ok_or("admin not found")?
            .value)
    }

    /// Delivers the outbox and returns what went out.
    async fn deliver(&self) -> Res<Vec<EmailMessage>> {
        let before = self.mailer.sent().len();
        self.svc.dispatch_emails().await?;
        Ok(self.mailer.sent().split_off(before))
    }

    fn show_email(message: &EmailMessage) {
        println!("  ┌ To: {}", message.to.as_str());
        println!("  │ Subject: {}", message.subject);
        for line in message.text.lines() {
            println!("  │ {line}");
        }
        println!("  └ (and the same as HTML)");
    }

    /// The token in the link of the last e-mail to `email`.
    fn token_for(&self, email: &Email) -> Res<String> {
        let message = self
            .mailer
            .sent()
            .into_iter()
            .rev()
            .find(|m| &m.to == email && m.text.contains("token="))
            .ok_or("no link e-mail")?;
        let start = message.text.find("token=").ok_or("no token")? + "token=".len();
        Ok(message
            .text
            .get(start..start + 43)
            .ok_or("short token")?
            .to_owned())
    }

    /// What an authenticator app does: scan the URI, show the current code.
    fn app_code(&self, uri: &str) -> Res<String> {
        let scanned = OtpauthUri::parse(uri)?;
        Ok(generate(
            scanned.secret(),
            scanned.params(),
            self.clock.now().as_secs(),
        )
        .as_str()
        .to_owned())
    }

    async fn login(&self, email: &str) -> Res<LoginOutcome> {
        Ok(self.svc.login(self.org, email, &password()?).await?)
    }

    async fn password_session(&self, email: &str) -> Res<Authenticated> {
        match self.login(email).await? {
            LoginOutcome::Authenticated(session) => Ok(session),
            other => Err(format!("expected a password-only login, got {other:?}").into()),
        }
    }

    /// Follows a setup or reset link: GET, email + password, QR, code. Returns the URI the
    /// app scanned (the app's copy of the secret).
    async fn follow_link(&self, email: &Email, show_qr: bool) -> Res<String> {
        let token = self.token_for(email)?;
        let info = self.svc.open_link(&token).await?;
        println!(
            "  GET link: a {} link, valid until {}",
            info.purpose,
            date(info.expires_at)
        );
        let provisioning = self
            .svc
            .confirm_identity(&token, email.as_str(), &password()?)
            .await?;
        println!("  email + password accepted: scan this QR code, or type the key");
        if show_qr {
            // Painted black on white, so it scans on dark and light terminals alike.
            println!(
                "{}",
                provisioning
                    .qr_terminal(TerminalStyle::AnyBackground)?
                    .as_str()
            );
        }
        let key = TotpSecret::from_base32(&provisioning.key())?;
        println!("  key: {}", key.to_base32_grouped().as_str());
        let uri = provisioning.otpauth_uri().as_str().to_owned();
        let code = self.app_code(&uri)?;
        println!("  the authenticator app shows {code}; Submit");
        // The page keeps the proof of the email + password step with the token.
        let done = self
            .svc
            .complete_setup(&token, provisioning.proof(), &code)
            .await?;
        println!("  {} complete for {}", done.purpose, email.as_str());
        // Ten single-use recovery codes come with the new factor, shown this once.
        let codes: Vec<String> = done
            .recovery_codes
            .as_ref()
            .ok_or("recovery codes are on by default")?
            .formatted()
            .map(|c| c.as_str().to_owned())
            .collect();
        println!(
            "  {} recovery codes, shown once (print them, keep them offline): {}, …",
            codes.len(),
            codes.first().map_or("", String::as_str)
        );
        *self.recovery.lock().map_err(|_| "poisoned")? = codes;
        Ok(uri)
    }

    async fn mfa_login(&self, email: &str, uri: &str) -> Res<Authenticated> {
        // A new time step, as at a later login.
        self.clock.advance(30);
        let LoginOutcome::MfaChallenge(challenge) = self.login(email).await? else {
            return Err("expected an MFA challenge".into());
        };
        let code = self.app_code(uri)?;
        let session = self.svc.verify(&challenge, &code).await?;
        println!(
            "  {email}: password, then code {code} → signed in with {:?}",
            session.factors()
        );
        Ok(session)
    }

    /// An admin created before "MFA by default": written to the store as a host migration would.
    async fn legacy_admin(
        &self,
        n: u8,
        name: &str,
        role: BuiltinRole,
        hash: &admin_mfa::lifecycle::PasswordHash,
    ) -> Res<(AdminId, Email)> {
        let email = Email::parse(&format!("{}@example.com", name.to_lowercase()))?;
        let id = AdminId::from_bytes([n; 16]);
        let admin = Admin::new(admin_mfa::lifecycle::AdminProfile {
            id,
            org: self.org,
            email: email.clone(),
            display_name: name.to_owned(),
            role: Role::Builtin(role),
            password_hash: hash.clone(),
            created_at: self.clock.now(),
        });
        self.store.commit(Change::new().insert(admin)).await?;
        Ok((id, email))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("quickstart failed: {e}");
        std::process::exit(1);
    }
}

#[expect(clippy::too_many_lines, reason = "the story reads top to bottom")]
async fn run() -> Res {
    println!("admin-mfa quickstart: enabling MFA for the admin portal");
    let story = Story::new()?;
    let svc = &story.svc;

    heading("1. The organization's first admin, Ada (Administrator With Billing)");
    let ada = svc
        .bootstrap_admin(
            story.org,
            NewAdmin {
                email: "ada@example.com".into(),
                display_name: "Ada".into(),
                role: Role::Builtin(BuiltinRole::AdministratorWithBilling),
                password: password()?,
            },
        )
        .await?;
    println!("  created; MFA required by default: {}", ada.mfa_required);
    let ada_email = story.admin(ada.id).await?.email;
    let outcome = story.login("ada@example.com").await?;
    println!(
        "  Ada logs in with her password → {}",
        login_answer(&outcome)
    );
    check(
        matches!(outcome, LoginOutcome::SetupRequired(_)),
        "Ada must set up MFA first",
    )?;
    let mails = story.deliver().await?;
    // The login keeps the link she was already sent (LNK-1): one e-mail, one working link.
    check(
        mails.len() == 1,
        "one setup e-mail: the login keeps the link already sent",
    )?;
    println!("  her one setup e-mail, queued when she was created (the login keeps its link):");
    for m in &mails {
        Story::show_email(m);
    }
    let ada_uri = story.follow_link(&ada_email, true).await?;
    let ada_session = story.mfa_login("ada@example.com", &ada_uri).await?;

    heading("2. Admins from before \"MFA by default\", and one new admin");
    let hash = Passwords::new(PasswordParams::default())
        .hash(&password()?)
        .await?;
    let (bob, bob_email) = story
        .legacy_admin(2, "Bob", BuiltinRole::Administrator, &hash)
        .await?;
    let (carol, _) = story
        .legacy_admin(3, "Carol", BuiltinRole::AdministratorWithBilling, &hash)
        .await?;
    let (dave, _) = story
        .legacy_admin(4, "Dave", BuiltinRole::HelpDesk, &hash)
        .await?;
    story
        .legacy_admin(5, "Erin", BuiltinRole::CommandRunner, &hash)
        .await?;
    story
        .legacy_admin(6, "Fay", BuiltinRole::BillingOnly, &hash)
        .await?;
    let (gus, _) = story
        .legacy_admin(7, "Gus", BuiltinRole::Manager, &hash)
        .await?;
    story
        .legacy_admin(8, "Hal", BuiltinRole::ReadOnly, &hash)
        .await?;
    println!("  Bob (Administrator), Carol (AwB), Dave (Help Desk), Erin (Command Runner),");
    println!("  Fay (Billing Only), Gus (Manager), Hal (Read Only): no MFA required yet");
    let ivy = svc
        .create_admin(
            &ada_session,
            NewAdmin {
                email: "ivy@example.com".into(),
                display_name: "Ivy".into(),
                role: Role::Builtin(BuiltinRole::Manager),
                password: password()?,
            },
        )
        .await?;
    println!(
        "  Ada creates Ivy (Manager): MFA required {}, {} setup e-mail queued",
        ivy.mfa_required, ivy.emails_queued
    );
    story.deliver().await?;

    heading("3. An Administrator may not enable MFA for an Administrator With Billing");
    let bob_session = story.password_session("bob@example.com").await?;
    match svc.enable_mfa(&bob_session, carol).await {
        Err(MfaError::Forbidden(denied)) => println!("  Bob → Carol: refused: {denied}"),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }
    let outcome = svc.enable_mfa(&bob_session, dave).await?;
    println!(
        "  Bob → Dave (Help Desk): allowed, {} e-mail queued",
        outcome.emails_queued
    );

    heading("4. Ada (with billing) enables MFA for Bob: Details → Enable MFA → Save");
    let outcome = svc.enable_mfa(&ada_session, bob).await?;
    println!(
        "  changed: {}, e-mails queued: {}",
        outcome.changed, outcome.emails_queued
    );
    println!("  the setup e-mail Bob receives:");
    for m in story.deliver().await?.iter().filter(|m| m.to == bob_email) {
        Story::show_email(m);
    }

    heading("5. Bob follows the e-mail: Set Up MFA → email + password → QR → code → Submit");
    let bob_uri = story.follow_link(&bob_email, true).await?;
    let bob_recovery = story.recovery.lock().map_err(|_| "poisoned")?.clone();
    for m in story.deliver().await? {
        println!("  e-mail to {}: {}", m.to.as_str(), m.subject);
    }

    heading("6. Bob logs in with MFA");
    story.mfa_login("bob@example.com", &bob_uri).await?;

    heading("7. The \"Admins Without MFA Required\" widget, as each role sees it");
    let viewers = [
        ("Ada (AwB)", "ada@example.com", Some(&ada_uri)),
        ("Bob (Administrator)", "bob@example.com", Some(&bob_uri)),
        ("Gus (Manager)", "gus@example.com", None),
        ("Hal (Read Only)", "hal@example.com", None),
        ("Erin (Command Runner)", "erin@example.com", None),
        ("Fay (Billing Only)", "fay@example.com", None),
    ];
    let mut listed = Vec::new();
    for (who, email, uri) in viewers {
        let session = match uri {
            Some(uri) => {
                story.clock.advance(30);
                let LoginOutcome::MfaChallenge(c) = story.login(email).await? else {
                    return Err("expected a challenge".into());
                };
                svc.verify(&c, &story.app_code(uri)?).await?
            }
            None => story.password_session(email).await?,
        };
        let view = svc
            .admins_without_mfa_required(&session, PageRequest::first(20))
            .await?;
        let names: Vec<String> = view
            .admins
            .as_ref()
            .map(|p| p.items.iter().map(|a| a.display_name.clone()).collect())
            .unwrap_or_default();
        let count = view.count.map_or_else(|| "-".to_owned(), |c| c.to_string());
        println!(
            "  {who:<22} {:<11} count {count:<2} {}",
            format!("{:?}", view.access),
            names.join(", ")
        );
        if view.access == WidgetAccess::Actionable {
            listed = view.admins.map(|p| p.items).unwrap_or_default();
        }
    }

    heading("8. Ada selects every listed admin → Actions → Require MFA → confirm");
    let ids: Vec<AdminId> = listed.iter().map(|a| a.id).collect();
    let report = svc.require_mfa(&ada_session, &ids).await?;
    for (id, item) in &report.items {
        let name = listed
            .iter()
            .find(|a| a.id == *id)
            .map_or("?", |a| a.display_name.as_str());
        println!(
            "  {name}: {}",
            match item {
                BulkItem::Required => "MFA now required".to_owned(),
                BulkItem::AlreadyRequired => "already required".to_owned(),
                BulkItem::Failed(e) => format!("failed: {e}"),
            }
        );
    }
    let emails = story.deliver().await?.len();
    let again = svc.require_mfa(&ada_session, &ids).await?;
    let emails_again = story.deliver().await?.len();
    println!(
        "  {emails} notices sent; the same action again: {} newly required, {emails_again} e-mails",
        again.newly_required()
    );
    check(
        again.newly_required() == 0 && emails_again == 0,
        "bulk require is idempotent",
    )?;
    let view = svc
        .admins_without_mfa_required(&ada_session, PageRequest::first(20))
        .await?;
    println!(
        "  the widget now counts {:?} admins without MFA required",
        view.count
    );
    let outcome = story.login("gus@example.com").await?;
    println!(
        "  Gus logs in with his password → {}",
        login_answer(&outcome)
    );
    check(
        matches!(outcome, LoginOutcome::SetupRequired(_)),
        "Gus must set up MFA",
    )?;
    story.deliver().await?;
    let gus_email = story.admin(gus).await?.email;
    story.follow_link(&gus_email, false).await?;
    story.deliver().await?;
    svc.set_widget_enabled(&ada_session, false).await?;
    println!("  Ada turns the widget off on her Home page (her preference only)");

    heading("9. A lockout: ten wrong codes for Bob");
    for attempt in 1..=10 {
        story.clock.advance(600); // waits out the delays that start at the fifth failure
        let LoginOutcome::MfaChallenge(c) = story.login("bob@example.com").await? else {
            return Err("expected a challenge".into());
        };
        let result = svc.verify(&c, "000000").await;
        if attempt == 1 || attempt == 10 {
            println!(
                "  wrong code #{attempt}: {}",
                result.err().map_or("accepted?".into(), |e| e.to_string())
            );
        }
    }
    story.clock.advance(30);
    let LoginOutcome::MfaChallenge(c) = story.login("bob@example.com").await? else {
        return Err("expected a challenge".into());
    };
    let right = svc.verify(&c, &story.app_code(&bob_uri)?).await;
    println!(
        "  Bob's right code now: {}",
        right
            .as_ref()
            .err()
            .map_or("accepted".into(), ToString::to_string)
    );
    check(right.is_err(), "a locked factor refuses the right code")?;
    for m in story.deliver().await? {
        println!("  e-mail to {}: {}", m.to.as_str(), m.subject);
    }
    let outcome = svc.unlock_mfa(&ada_session, bob).await?;
    println!("  Ada unlocks Bob: changed {}", outcome.changed);

    heading("10. Bob lost his phone: a recovery code, then \"Reset TOTP MFA\"");
    story.clock.advance(30);
    let LoginOutcome::MfaChallenge(c) = story.login("bob@example.com").await? else {
        return Err("expected a challenge".into());
    };
    // Bob's codes from his set-up in step 5 (the later set-ups were other admins').
    let bob_code = bob_recovery
        .first()
        .cloned()
        .ok_or("Bob has recovery codes")?;
    let typed = bob_code.to_lowercase().replace('-', " ");
    let session = svc.verify_recovery_code(&c, &typed).await?;
    println!(
        "  Bob types one of his recovery codes ({typed}) → signed in with {:?}",
        session.factors()
    );
    for m in story.deliver().await? {
        println!("  e-mail to {}: {}", m.to.as_str(), m.subject);
        if let Some(line) = m.text.lines().find(|l| l.contains("left")) {
            println!("    \"{line}\"");
        }
    }
    let again = svc.verify_recovery_code(&c, &bob_code).await;
    println!(
        "  the same code again: {}",
        again
            .as_ref()
            .err()
            .map_or("accepted".into(), ToString::to_string)
    );
    check(again.is_err(), "a recovery code works once")?;
    svc.request_reset(&c).await?;
    println!("  at the code prompt Bob clicks \"Reset TOTP MFA\"; the reset e-mail:");
    for m in story.deliver().await? {
        Story::show_email(&m);
    }
    let new_uri = story.follow_link(&bob_email, false).await?;
    println!("  the confirmation e-mail:");
    for m in story.deliver().await? {
        Story::show_email(&m);
    }
    story.clock.advance(30);
    let LoginOutcome::MfaChallenge(c) = story.login("bob@example.com").await? else {
        return Err("expected a challenge".into());
    };
    let old = svc.verify(&c, &story.app_code(&bob_uri)?).await;
    println!(
        "  the old authenticator's code: {}",
        old.as_ref()
            .err()
            .map_or("accepted".into(), ToString::to_string)
    );
    check(old.is_err(), "the old factor is gone after the reset")?;
    let LoginOutcome::MfaChallenge(c) = story.login("bob@example.com").await? else {
        return Err("expected a challenge".into());
    };
    let second = bob_recovery.get(1).ok_or("Bob has ten codes")?;
    let old_code = svc.verify_recovery_code(&c, second).await;
    println!(
        "  a recovery code of the old set: {} (the reset brought a new set)",
        old_code
            .as_ref()
            .err()
            .map_or("accepted".into(), ToString::to_string)
    );
    check(old_code.is_err(), "a reset replaces the recovery codes")?;
    story.mfa_login("bob@example.com", &new_uri).await?;

    heading("11. \"Ask the designated admin to reset it\": Ada resets Gus's MFA");
    let outcome = svc.reset_mfa(&ada_session, gus).await?;
    println!(
        "  factor removed at once, {} setup e-mail queued",
        outcome.emails_queued
    );
    for m in story.deliver().await? {
        println!("  e-mail to {}: {}", m.to.as_str(), m.subject);
    }

    heading("12. A grace period: Jo, a late legacy admin, gets a week to set MFA up");
    let (jo, _) = story
        .legacy_admin(9, "Jo", BuiltinRole::Manager, &hash)
        .await?;
    let due = story.clock.now().saturating_add_secs(7 * 86_400);
    let ada_now = story.mfa_login("ada@example.com", &ada_uri).await?;
    let report = svc.require_mfa_by(&ada_now, &[jo], due).await?;
    println!(
        "  Ada requires MFA for Jo by {}: {} newly required",
        date(due),
        report.newly_required()
    );
    let outcome = story.login("jo@example.com").await?;
    let LoginOutcome::Authenticated(jo_session) = &outcome else {
        return Err("Jo signs in with the password during the grace period".into());
    };
    println!(
        "  Jo logs in with his password → signed in; set-up due by {}",
        jo_session.setup_due_by().map_or("?".into(), date)
    );
    check(
        jo_session.setup_due_by() == Some(due),
        "the login says when",
    )?;
    for m in story.deliver().await? {
        println!("  e-mail to {}: {}", m.to.as_str(), m.subject);
    }
    story
        .clock
        .set(UnixTime::from_secs(due.as_secs() - 3 * 86_400));
    for m in story.deliver().await? {
        println!(
            "  three days before, e-mail to {}: {}",
            m.to.as_str(),
            m.subject
        );
    }
    story.clock.set(due);
    let outcome = story.login("jo@example.com").await?;
    println!("  at the deadline Jo logs in → {}", login_answer(&outcome));
    check(
        matches!(outcome, LoginOutcome::SetupRequired(_)),
        "after the deadline, set-up is required",
    )?;

    heading("13. The MFA posture report, filtered, and exported as CSV");
    let ada_now = story.mfa_login("ada@example.com", &ada_uri).await?;
    let everyone = svc
        .mfa_posture(&ada_now, &PostureFilter::all(), PageRequest::first(100))
        .await?;
    for row in &everyone.items {
        let Some(p) = row.posture else { continue };
        println!(
            "  {:<19} {:<8} {:<8} codes left {:<3} wrong codes {}{}",
            row.email.as_str(),
            if p.required { "required" } else { "optional" },
            p.factor.as_str(),
            p.recovery_codes_left.map_or("-".into(), |n| n.to_string()),
            p.failed_codes,
            p.setup_deadline
                .map_or(String::new(), |d| format!(", set-up due by {}", date(d)))
        );
    }
    let overdue = svc
        .mfa_posture(
            &ada_now,
            &PostureFilter::all().deadline_within_days(0),
            PageRequest::first(100),
        )
        .await?;
    let names: Vec<&str> = overdue.items.iter().map(|r| r.email.as_str()).collect();
    println!("  deadline reached (within 0 days): {names:?}");
    check(names == ["jo@example.com"], "only Jo's deadline has come")?;
    let mut export = PostureExport::new(ada_now, PostureFilter::all(), PostureFormat::Csv);
    let mut csv = Vec::new();
    while let Some(chunk) = export.next_chunk(svc).await? {
        csv.extend_from_slice(&chunk);
    }
    let csv = String::from_utf8(csv)?;
    println!(
        "  CSV export, {} bytes, {} rows; its header:",
        csv.len(),
        csv.lines().count() - 1
    );
    println!("  {}", csv.lines().next().unwrap_or_default());
    check(
        csv.lines().count() == everyone.items.len() + 1,
        "one CSV row per admin",
    )?;

    heading("14. The audit log (as Ada reads it)");
    let log = svc
        .audit_log(&ada_session, PageRequest::first(1000))
        .await?;
    println!("  {} events; the last five:", log.items.len());
    for event in log.items.iter().rev().take(5).rev() {
        let actor = match event.actor {
            Some(id) => story.email_of(id).await?,
            None => "the system".to_owned(),
        };
        println!(
            "  {}  {:?}  by {actor}  for {}",
            date(event.at),
            event.kind,
            story.email_of(event.target).await?
        );
    }
    provisioning::run()?;
    policy::run()?;
    println!("\nquickstart finished: every step behaved as the guide describes");
    Ok(())
}
