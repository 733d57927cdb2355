//! T-LOG-1: the whole lifecycle with tracing at TRACE, and no secret in any captured line.
//!
//! Its own test binary, with one test and a global subscriber: a scoped subscriber shares
//! tracing's per-callsite interest cache with every other test thread of a binary, which
//! made the capture miss events when other tests ran at the same time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    unreachable_pub,
    missing_docs,
    dead_code,
    reason = "tests"
)]

#[path = "service/common.rs"]
mod common;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use admin_mfa::totp::TotpSecret;
use admin_mfa::{BuiltinRole as R, LoginOutcome};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use crate::common::*;

/// Captures every span and event, with all their fields, as text.
#[derive(Clone, Default)]
struct Capture {
    lines: Arc<Mutex<Vec<String>>>,
    next_id: Arc<Mutex<u64>>,
}

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut line = Line(format!("span {}", span.metadata().name()));
        span.record(&mut line);
        self.lines.lock().unwrap().push(line.0);
        let mut next = self.next_id.lock().unwrap();
        *next += 1;
        Id::from_u64(*next)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut line = Line("record".into());
        values.record(&mut line);
        self.lines.lock().unwrap().push(line.0);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut line = Line(format!("{} {}", meta.level(), meta.target()));
        event.record(&mut line);
        self.lines.lock().unwrap().push(line.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The lifecycle of docs/ARCHITECTURE.md §2.3 with every secret it produced kept aside.
async fn lifecycle(h: &H, secrets: &mut Vec<String>) {
    let remember = |s: &TotpSecret, secrets: &mut Vec<String>| {
        secrets.push(s.to_base32().as_str().to_owned());
        secrets.push(hex(s.expose_secret_bytes()));
    };
    let awb = h.seed(1, R::AdministratorWithBilling).await;
    let target = h.seed(2, R::Administrator).await;
    let others: Vec<_> = [3, 4, 5].iter().map(|n| h.seed(*n, R::Manager)).collect();
    let mut ids = Vec::new();
    for f in others {
        ids.push(f.await);
    }
    let boss = h.session(awb).await;
    // enable → setup e-mail (first delivery fails, then succeeds)
    h.mailer.fail_next(1);
    assert!(h.svc.enable_mfa(&boss, target).await.unwrap().changed);
    h.deliver().await;
    h.advance(60);
    h.deliver().await;
    let token = h.token_for(target).await;
    secrets.push(token.clone());
    h.svc.open_link(&token).await.unwrap();
    let p = h
        .svc
        .confirm_identity(&token, email_of(2).as_str(), &password())
        .await
        .unwrap();
    secrets.push(p.otpauth_uri().as_str().to_owned());
    let secret = app_secret(&p.otpauth_uri());
    remember(&secret, secrets);
    let code = h.code(&secret);
    secrets.push(code.clone());
    let done = h
        .svc
        .complete_setup(&token, p.proof(), &code)
        .await
        .unwrap();
    // recovery codes (REC-6): remembered in every form they may be typed in
    let recovery: Vec<String> = done
        .recovery_codes
        .as_ref()
        .unwrap()
        .formatted()
        .map(|c| c.to_string())
        .collect();
    for c in &recovery {
        secrets.extend([c.clone(), c.replace('-', ""), c.to_lowercase()]);
    }
    h.advance(30);
    let challenge = h.challenge(target).await;
    h.svc
        .verify_recovery_code(&challenge, &recovery[0])
        .await
        .unwrap();
    assert!(
        h.svc
            .verify_recovery_code(&challenge, &recovery[0])
            .await
            .is_err()
    );
    h.deliver().await;
    // login: right, wrong, replay
    h.advance(30);
    let challenge = h.challenge(target).await;
    let code = h.code(&secret);
    secrets.push(code.clone());
    h.svc.verify(&challenge, &code).await.unwrap();
    assert!(h.svc.verify(&challenge, &code).await.is_err());
    assert!(h.svc.verify(&challenge, "000000").await.is_err());
    // lockout and unlock
    for _ in 0..10 {
        h.advance(600);
        let c = h.challenge(target).await;
        assert!(h.svc.verify(&c, "111111").await.is_err());
    }
    assert!(
        h.svc
            .unlock_mfa(&h.session(awb).await, target)
            .await
            .unwrap()
            .changed
    );
    // self-service reset
    h.advance(30);
    let challenge = h.challenge(target).await;
    h.svc.request_reset(&challenge).await.unwrap();
    h.deliver().await;
    let token = h.token_for(target).await;
    secrets.push(token.clone());
    let p = h
        .svc
        .confirm_identity(&token, email_of(2).as_str(), &password())
        .await
        .unwrap();
    secrets.push(p.otpauth_uri().as_str().to_owned());
    let new = app_secret(&p.otpauth_uri());
    remember(&new, secrets);
    let code = h.code(&new);
    secrets.push(code.clone());
    h.svc
        .complete_setup(&token, p.proof(), &code)
        .await
        .unwrap();
    // bulk require, admin reset, a SetupRequired login, delivery of everything
    let boss = h.session(awb).await;
    assert!(h.svc.require_mfa(&boss, &ids).await.unwrap().all_required());
    assert!(h.svc.reset_mfa(&boss, target).await.unwrap().changed);
    let outcome = h
        .svc
        .login(h.org, email_of(3).as_str(), &password())
        .await
        .unwrap();
    assert!(matches!(outcome, LoginOutcome::SetupRequired(_)));
    h.deliver().await;
    secrets.push(h.token_for(target).await);
    secrets.push(h.token_for(ids[0]).await);
}

#[test]
fn t_log_1_no_secret_reaches_the_logs() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(capture.clone()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut secrets = vec![PASSWORD.to_owned()];
    runtime.block_on(async {
        let h = H::new();
        lifecycle(&h, &mut secrets).await;
    });
    let lines = capture.lines.lock().unwrap().clone();
    // The run really was logged, with the events that matter.
    assert!(lines.len() > 50, "only {} lines captured", lines.len());
    let text = lines.join("\n");
    for needle in [
        "event=locked_out",
        "event=enrolled",
        "event=replayed",
        "event=recovery_code_used",
        "outbox dispatch run",
    ] {
        assert!(text.contains(needle), "no `{needle}` in the logs");
    }
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a secret reached the logs");
    }
    for forbidden in ["otpauth://", "secret=", "token="] {
        assert!(!text.contains(forbidden), "`{forbidden}` in the logs");
    }
    for line in &lines {
        // No base32 run of 26+ characters (a secret), no 6–8 digit run near "code".
        let mut run = 0;
        for c in line.chars() {
            run = if c.is_ascii_uppercase() || ('2'..='7').contains(&c) {
                run + 1
            } else {
                0
            };
            assert!(run < 26, "a base32-looking run in: {line}");
        }
        if line.to_lowercase().contains("code") {
            // Ids (UUIDs) may hold digit runs of any length: they are not codes.
            let without_ids: Vec<&str> = line
                .split_whitespace()
                .filter(|word| {
                    let value = word.rsplit('=').next().unwrap_or(word);
                    value.len() != 36 || value.matches('-').count() != 4
                })
                .collect();
            let without_ids = without_ids.join(" ");
            let runs = without_ids.split(|c: char| !c.is_ascii_digit());
            assert!(
                runs.into_iter().all(|r| !(6..=8).contains(&r.len())),
                "a code-like number in: {line}"
            );
        }
    }
}
