//! Builders for the admins, audit events and notifications the cases write.
//!
//! Everything here is deterministic: ids, emails and hashes come from small numbers, so a
//! failing case names the same records on every run and every backend.

#![allow(
    clippy::expect_used,
    reason = "fixtures are built from constants that are valid by construction"
)]

use admin_mfa_lifecycle::{
    Admin, AdminId, AuditEvent, AuditKind, BuiltinRole, DedupeKey, Email, LinkPurpose, MfaState,
    Notification, NotificationKind, OrgId, PasswordHash, PendingLink, Requirement, Role, TokenHash,
    UnixTime, WidgetPrefs,
};

/// A fixed instant the cases start from: 2023-11-14T22:13:20Z.
pub const T0: UnixTime = UnixTime::from_secs(1_700_000_000);

/// Organization number `n`.
#[must_use]
pub fn org(n: u8) -> OrgId {
    let mut bytes = [0u8; 16];
    bytes[0] = 0x0a;
    bytes[15] = n;
    OrgId::from_bytes(bytes)
}

/// Admin id number `n`.
#[must_use]
pub fn admin_id(n: u32) -> AdminId {
    let mut bytes = [0u8; 16];
    bytes[0] = 0xad;
    bytes[12..].copy_from_slice(&n.to_be_bytes());
    AdminId::from_bytes(bytes)
}

/// A valid email address.
#[must_use]
pub fn email(address: &str) -> Email {
    Email::parse(address).expect("fixture emails are valid")
}

/// The email of admin number `n`; zero-padded so email order equals number order.
#[must_use]
pub fn email_of(n: u32) -> Email {
    email(&format!("admin{n:06}@example.com"))
}

/// Token hash number `n`.
#[must_use]
pub fn token_hash(n: u32) -> TokenHash {
    let mut bytes = [0x7au8; 32];
    bytes[28..].copy_from_slice(&n.to_be_bytes());
    TokenHash::from_bytes(bytes)
}

/// Admin number `n` of `org`: an Administrator without MFA required, with no factor and no
/// pending link.
#[must_use]
pub fn admin(org: OrgId, n: u32) -> Admin {
    Admin {
        id: admin_id(n),
        org,
        email: email_of(n),
        display_name: format!("Admin {n}"),
        role: Role::Builtin(BuiltinRole::Administrator),
        password_hash: PasswordHash::new(format!(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$fixture{n}"
        )),
        created_at: T0,
        mfa: MfaState::default(),
        prefs: WidgetPrefs::default(),
    }
}

/// Marks `admin` as required to use MFA since `at`.
pub fn require(admin: &mut Admin, at: UnixTime) {
    admin.mfa.requirement = Requirement::Required {
        since: at,
        by: None,
    };
}

/// Removes the MFA requirement of `admin`.
pub fn unrequire(admin: &mut Admin) {
    admin.mfa.requirement = Requirement::NotRequired;
}

/// Gives `admin` a pending setup link with token hash `hash`, issued at `at` for a day.
pub fn set_link(admin: &mut Admin, hash: TokenHash, at: UnixTime) {
    admin.mfa.link = Some(PendingLink {
        purpose: LinkPurpose::Setup,
        token_hash: hash,
        issued_at: at,
        expires_at: at.saturating_add_secs(86_400),
        epoch_at_issue: admin.mfa.credential_epoch,
        candidate: None,
        setup_failures: 0,
    });
}

/// Removes the pending link of `admin`.
pub fn clear_link(admin: &mut Admin) {
    admin.mfa.link = None;
}

/// An audit event of `org` about `target`, at `at`.
#[must_use]
pub fn audit(org: OrgId, target: AdminId, at: UnixTime) -> AuditEvent {
    AuditEvent {
        at,
        org,
        actor: None,
        target,
        kind: AuditKind::MfaRequired,
    }
}

/// An "MFA required" notification for `admin`, created at `at`, deduplicated on `key`.
#[must_use]
pub fn notification(admin: &Admin, key: &str, at: UnixTime) -> Notification {
    Notification {
        kind: NotificationKind::MfaRequired,
        org: admin.org,
        admin: admin.id,
        to: admin.email.clone(),
        display_name: admin.display_name.clone(),
        link: None,
        link_purpose: None,
        link_expires_at: None,
        created_at: at,
        dedupe_key: DedupeKey::from_string(key.to_owned()),
        detail: None,
    }
}
