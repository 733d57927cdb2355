//! Notifications, audit events, redaction and serialisation of what a transition produces.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod common;

use std::collections::HashSet;

use admin_mfa_lifecycle::{
    Admin, AdminProfile, AuditKind, BuiltinRole, CodeCheck, Command, Email, Event, LinkPurpose,
    Notification, NotificationKind, OrgId, PasswordHash, Role, UnixTime, audit_events,
    notifications,
};
use common::World;

fn admin_of(w: &World) -> Admin {
    let mut a = Admin::new(AdminProfile {
        id: w.admin,
        org: OrgId::from_bytes([0x0F; 16]),
        email: Email::parse("Target@Example.com").unwrap(),
        display_name: "Tárget <script>".into(),
        role: Role::Builtin(BuiltinRole::Administrator),
        password_hash: PasswordHash::new(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        ),
        created_at: UnixTime::from_secs(1),
    });
    a.mfa = w.state.clone();
    a
}

fn kinds(n: &[Notification]) -> Vec<NotificationKind> {
    n.iter().map(|n| n.kind).collect()
}

/// Runs `cmd`, returning the notifications it queues (decided on the stored version).
fn mails(w: &mut World, cmd: Command) -> (Vec<Event>, Vec<Notification>) {
    let admin = admin_of(w);
    let version = w.version;
    let events = w.run(cmd).unwrap();
    let n = notifications(&admin, &events, w.now, version);
    (events, n)
}

/// T-NOT-1: enable, require, enrolment, reset request, reset completion and lockout each
/// queue exactly one message; code checks queue none.
#[test]
fn one_message_per_event() {
    let mut w = World::new(31);
    let cmd = w.enable();
    let (events, n) = mails(&mut w, cmd);
    assert_eq!(
        kinds(&n),
        [NotificationKind::SetupInvitation],
        "no extra MfaRequired mail"
    );
    let Event::LinkIssued(link) = &events[1] else {
        panic!()
    };
    let mail = &n[0];
    assert_eq!(mail.link_expires_at, Some(link.expires_at));
    assert_eq!(mail.link_purpose, Some(LinkPurpose::Setup));
    assert_eq!(mail.to.as_str(), "target@example.com");
    assert_eq!(mail.created_at, w.now);
    // The sealed link opens to the token the caller generated, for this admin only.
    let sealed = mail.link.as_ref().unwrap();
    let token = sealed
        .open_link_token(&w.keys, w.admin, LinkPurpose::Setup)
        .unwrap();
    assert_eq!(&token, w.tokens.last().unwrap());
    assert!(mail.dedupe_key.as_str().contains(&link.token_hash.to_hex()));

    let cmd = w.confirm();
    assert!(mails(&mut w, cmd).1.is_empty());
    let cmd = w.complete(false);
    assert!(mails(&mut w, cmd).1.is_empty());
    let cmd = w.complete(true);
    assert_eq!(
        kinds(&mails(&mut w, cmd).1),
        [NotificationKind::SetupCompleted]
    );
    w.advance(30);
    let cmd = w.verify(true);
    assert!(mails(&mut w, cmd).1.is_empty());
    let cmd = w.request_reset();
    let (_, n) = mails(&mut w, cmd);
    assert_eq!(kinds(&n), [NotificationKind::ResetRequested]);
    assert_eq!(n[0].link_purpose, Some(LinkPurpose::Reset));
    let cmd = w.confirm();
    mails(&mut w, cmd);
    let cmd = w.complete(true);
    assert_eq!(
        kinds(&mails(&mut w, cmd).1),
        [NotificationKind::ResetCompleted]
    );

    // Lockout: one LockedOut mail in the batch that locks, nothing for the failures before.
    w.advance(30);
    let mut all = Vec::new();
    for _ in 0..10 {
        if let Some(until) = w.state.failures.delayed_until(w.now, &w.config) {
            w.now = until;
        }
        let cmd = w.verify(false);
        all.extend(mails(&mut w, cmd).1);
    }
    assert_eq!(kinds(&all), [NotificationKind::LockedOut]);

    // NOT-2: removing the requirement tells the admin; a repeat (a no-op) sends nothing.
    // Bulk require of an unrequired admin: one MfaRequired; a repeat sends nothing.
    let by = w.boss;
    assert_eq!(
        kinds(
            &mails(
                &mut w,
                Command::RemoveRequirement {
                    by,
                    global_required: false
                }
            )
            .1
        ),
        [NotificationKind::MfaNotRequired]
    );
    assert!(
        mails(
            &mut w,
            Command::RemoveRequirement {
                by,
                global_required: false
            }
        )
        .1
        .is_empty()
    );
    assert_eq!(
        kinds(&mails(&mut w, Command::Require { by, deadline: None }).1),
        [NotificationKind::MfaRequired]
    );
    assert!(
        mails(&mut w, Command::Require { by, deadline: None })
            .1
            .is_empty()
    );
}

/// Dedupe keys are unique per triggering event and stable for the same event.
#[test]
fn dedupe_keys() {
    let mut w = World::new(32);
    let mut keys = HashSet::new();
    let mut journey = |w: &mut World, cmd: Command| {
        let admin = admin_of(w);
        let version = w.version;
        let events = w.run(cmd).unwrap();
        let first = notifications(&admin, &events, w.now, version);
        let again = notifications(&admin, &events, w.now, version);
        assert_eq!(first, again, "deterministic");
        for n in first {
            assert!(
                keys.insert(n.dedupe_key.clone()),
                "duplicate key {}",
                n.dedupe_key
            );
        }
    };
    let cmd = w.enable();
    journey(&mut w, cmd);
    // The first link expires (one that still works is never replaced, LNK-1).
    w.advance(w.config.setup_link_ttl_secs());
    let cmd = w.issue_setup_link();
    journey(&mut w, cmd);
    let cmd = w.confirm();
    journey(&mut w, cmd);
    let cmd = w.complete(true);
    journey(&mut w, cmd);
    let cmd = w.admin_reset();
    journey(&mut w, cmd);
    let cmd = w.confirm();
    journey(&mut w, cmd);
    w.advance(30);
    let cmd = w.complete(true);
    journey(&mut w, cmd);
    assert_eq!(keys.len(), 5);
}

/// NOT-3 (issue 10, item 7): requirement notices are keyed by the stored version the
/// events were decided on, not by the second: removing and re-requiring within one second
/// queues two "MFA required" e-mails with distinct keys (the second-based key dropped the
/// second one), while a retry of the same decision on the same version keeps its key.
#[test]
fn not_3_requirement_notices_are_unique_per_version() {
    let mut w = World::enrolled(37);
    let by = w.boss;
    let remove = || Command::RemoveRequirement {
        by,
        global_required: false,
    };
    let mut required = Vec::new();
    let mut keys = HashSet::new();
    for _ in 0..2 {
        for cmd in [remove(), Command::Require { by, deadline: None }] {
            let admin = admin_of(&w);
            let version = w.version;
            let events = w.run(cmd).unwrap();
            let n = notifications(&admin, &events, w.now, version);
            assert_eq!(n.len(), 1, "{events:?}");
            // The same batch retried on the same version dedupes to the same key.
            assert_eq!(notifications(&admin, &events, w.now, version), n);
            assert!(keys.insert(n[0].dedupe_key.clone()), "{}", n[0].dedupe_key);
            let suffix = format!(":{}:v{version}", n[0].kind.as_str());
            assert!(
                n[0].dedupe_key.as_str().ends_with(&suffix),
                "{}",
                n[0].dedupe_key
            );
            if n[0].kind == NotificationKind::MfaRequired {
                required.push(n[0].dedupe_key.clone());
            }
        }
    }
    assert_eq!(required.len(), 2, "both MfaRequired e-mails queued");
    assert_ne!(required[0], required[1]);
}

/// NOT-2 (issue 10, item 4): removing the requirement e-mails the admin ("MFA is no longer
/// required"), keyed by version, for an enrolled admin as for one without a factor; the
/// removal is audited.
#[test]
fn not_2_removing_the_requirement_notifies_the_admin() {
    for mut w in [World::enrolled(38), World::enabled(39)] {
        let admin = admin_of(&w);
        let by = w.boss;
        let version = w.version;
        let events = w
            .run(Command::RemoveRequirement {
                by,
                global_required: false,
            })
            .unwrap();
        let n = notifications(&admin, &events, w.now, version);
        assert_eq!(kinds(&n), [NotificationKind::MfaNotRequired]);
        assert_eq!(n[0].to, admin.email);
        assert_eq!(n[0].link, None);
        assert_eq!(
            n[0].dedupe_key.as_str(),
            format!("{}:mfa_not_required:v{version}", w.admin)
        );
        let audit = audit_events(&admin, &events, Some(by), w.now);
        assert_eq!(audit[0].kind, AuditKind::RequirementRemoved);
        assert_eq!(audit[0].actor, Some(by));
    }
    // Refused for a global requirement: no event, no e-mail.
    let mut w = World::enrolled(39);
    let by = w.boss;
    assert!(
        w.run(Command::RemoveRequirement {
            by,
            global_required: true
        })
        .is_err()
    );
}

/// RST-8: the requirement an admin reset sets is audited as "MFA required"; its e-mail is
/// the setup invitation, or the "MFA required" notice when the invitation is rate-limited.
#[test]
fn rst_8_admin_reset_requirement_is_audited_and_notified() {
    let mut w = World::enrolled(50);
    let by = w.boss;
    w.run(Command::RemoveRequirement {
        by,
        global_required: false,
    })
    .unwrap();
    let admin = admin_of(&w);
    let cmd = w.admin_reset();
    let (events, n) = mails(&mut w, cmd);
    let audit: Vec<AuditKind> = audit_events(&admin, &events, Some(by), w.now)
        .iter()
        .map(|a| a.kind)
        .collect();
    assert_eq!(
        audit,
        [
            AuditKind::AdminReset,
            AuditKind::MfaRequired,
            AuditKind::SetupLinkIssued
        ]
    );
    assert_eq!(kinds(&n), [NotificationKind::SetupInvitation]);

    // Setup links live 1 s, so each Enable finds the previous link expired and sends one.
    let mut w = World::with_setup_link_ttl(51, 1);
    for _ in 0..w.config.emails_per_window() {
        let cmd = w.enable();
        w.run(cmd).unwrap();
        w.advance(1);
    }
    w.run(Command::RemoveRequirement {
        by,
        global_required: false,
    })
    .unwrap();
    let cmd = w.admin_reset();
    let (events, n) = mails(&mut w, cmd);
    assert!(matches!(events.last(), Some(Event::LinkRateLimited { .. })));
    assert_eq!(kinds(&n), [NotificationKind::MfaRequired]);
}

/// SETUP-2: wrong codes on a link and its voiding are audited (purpose and count, no code)
/// and send no e-mail.
#[test]
fn setup_2_failures_and_voiding_are_audited() {
    let mut w = World::resetting(52);
    let admin = admin_of(&w);
    let mut events = Vec::new();
    for _ in 0..w.config.setup_attempts() {
        let cmd = w.complete(false);
        let (e, n) = mails(&mut w, cmd);
        assert!(n.is_empty());
        events.extend(e);
    }
    let audit: Vec<AuditKind> = audit_events(&admin, &events, Some(w.admin), w.now)
        .iter()
        .map(|a| a.kind)
        .collect();
    let purpose = LinkPurpose::Reset;
    assert_eq!(
        audit,
        [
            AuditKind::SetupFailed {
                purpose,
                failures: 1
            },
            AuditKind::SetupFailed {
                purpose,
                failures: 2
            },
            AuditKind::SetupFailed {
                purpose,
                failures: 3
            },
            AuditKind::SetupFailed {
                purpose,
                failures: 4
            },
            AuditKind::SetupFailed {
                purpose,
                failures: 5
            },
            AuditKind::LinkVoided { purpose },
        ]
    );
}

/// LOG-1, T-RPL-2: one audit record per event, with the actor, replay distinct.
#[test]
fn audit_records() {
    let mut w = World::enrolled(33);
    let admin = admin_of(&w);
    let cmd = w.verify(true);
    let Command::Verify { code } = cmd else {
        panic!()
    };
    let mut events = w.run(Command::Verify { code: code.clone() }).unwrap();
    events.extend(w.run(Command::Verify { code }).unwrap());
    let cmd = w.admin_reset();
    events.extend(w.run(cmd).unwrap());
    let audit = audit_events(&admin, &events, Some(w.boss), w.now);
    let kinds: Vec<AuditKind> = audit.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            AuditKind::VerifySucceeded,
            AuditKind::Replayed {
                check: CodeCheck::Login,
                failures: 1
            },
            AuditKind::AdminReset,
            AuditKind::SetupLinkIssued,
        ]
    );
    assert!(
        audit
            .iter()
            .all(|a| a.actor == Some(w.boss) && a.target == w.admin && a.org == admin.org)
    );
    let mut w = World::new(34);
    let admin = admin_of(&w);
    let cmd = w.enable();
    let events = w.run(cmd).unwrap();
    let audit = audit_events(&admin, &events, None, w.now);
    assert_eq!(audit[0].kind, AuditKind::MfaEnabled);
    assert_eq!(audit[0].actor, None);
}

/// T-LOG-2: no Debug output shows a secret, a code or a raw token.
#[test]
fn debug_output_is_redacted() {
    let mut w = World::confirming(35);
    let secret = w.secrets[0].clone();
    let base32 = secret.to_base32().to_string();
    let token = w.tokens[0].encode().to_string();
    let code = w.complete(true);
    let Command::CompleteSetup {
        recovery: None,
        code: c,
        ..
    } = &code
    else {
        panic!()
    };
    let digits = c.expose().to_owned();
    let mut texts = vec![
        format!("{code:?}"),
        format!("{:?}", w.confirm()),
        format!("{:?}", w.enable()),
        format!("{:?}", w.state),
        format!("{:?}", w.keys),
    ];
    let admin = admin_of(&w);
    let events = w.run(code).unwrap();
    texts.push(format!("{events:?}"));
    texts.push(format!("{admin:?}"));
    texts.push(format!(
        "{:?}",
        notifications(&admin, &events, w.now, w.version)
    ));
    for text in &texts {
        assert!(!text.contains(&base32), "secret in {text}");
        assert!(!text.contains(&token), "token in {text}");
        assert!(!text.contains(&digits), "code in {text}");
        assert!(!text.contains("argon2"), "password hash in {text}");
    }
}

#[cfg(feature = "serde")]
mod serde_tests {
    use super::*;
    use admin_mfa_lifecycle::{MfaState, TokenHash};

    /// SQL stores keep the state and the outbox as JSON: round trips, and no raw secret
    /// (base32, hex) or raw token in either (T-LOG-5, T-SEC-3).
    #[test]
    fn json_round_trip_without_secrets() {
        let mut w = World::resetting(36);
        let admin = admin_of(&w);
        let json = serde_json::to_string(&admin).unwrap();
        let back: Admin = serde_json::from_str(&json).unwrap();
        assert_eq!(back, admin);
        let state: MfaState =
            serde_json::from_str(&serde_json::to_string(&w.state).unwrap()).unwrap();
        assert_eq!(state, w.state);

        let cmd = w.request_reset();
        let events = w.run(cmd).unwrap();
        let outbox = notifications(&admin_of(&w), &events, w.now, w.version);
        let out_json = serde_json::to_string(&outbox).unwrap();
        let back: Vec<Notification> = serde_json::from_str(&out_json).unwrap();
        assert_eq!(back, outbox);
        let ev_json = serde_json::to_string(&events).unwrap();
        let back: Vec<Event> = serde_json::from_str(&ev_json).unwrap();
        assert_eq!(back, events);

        for s in &w.secrets {
            let b32 = s.to_base32().to_string();
            let hex: String = s
                .expose_secret_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            for text in [&json, &out_json, &ev_json] {
                assert!(!text.contains(&b32) && !text.contains(&hex));
            }
        }
        for t in &w.tokens {
            for text in [&json, &out_json, &ev_json] {
                assert!(!text.contains(t.encode().as_str()));
            }
        }
    }

    /// State stored before SETUP-1/SETUP-2 (no `proof_hash` on the candidate, no
    /// `setup_failures` on the link) still loads: no proof (the identity step must be
    /// repeated) and no failures.
    #[test]
    fn stored_state_without_proof_or_setup_failures_loads() {
        let w = World::confirming(53);
        let mut json = serde_json::to_value(&w.state).unwrap();
        let link = json.get_mut("link").unwrap().as_object_mut().unwrap();
        assert!(link.remove("setup_failures").is_some());
        let candidate = link.get_mut("candidate").unwrap().as_object_mut().unwrap();
        assert!(candidate.remove("proof_hash").is_some());
        let old: MfaState = serde_json::from_value(json).unwrap();
        let link = old.link.as_ref().unwrap();
        assert_eq!(link.setup_failures, 0);
        assert_eq!(link.candidate.as_ref().unwrap().proof_hash, None);
        assert_ne!(old, w.state, "the proof did not survive");
    }

    #[test]
    fn json_validates_on_the_way_in() {
        assert!(serde_json::from_str::<Email>("\"a@b.co\\r\\nBcc: x@y.z\"").is_err());
        assert_eq!(
            serde_json::from_str::<Email>("\"A@B.co\"")
                .unwrap()
                .as_str(),
            "a@b.co"
        );
        let h = TokenHash::from_bytes([0xAB; 32]);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{}\"", "ab".repeat(32)));
        assert_eq!(serde_json::from_str::<TokenHash>(&json).unwrap(), h);
        assert!(serde_json::from_str::<TokenHash>("\"abc\"").is_err());
    }
}
