//! What a state change tells the world: outbox notifications and audit events.
//!
//! Neither type ever holds secret material: a notification's link token is [`Sealed`],
//! audit events carry ids, kinds and times only.

use core::fmt;

use crate::{AdminId, Email, LinkPurpose, OrgId, Sealed, UnixTime};

/// Which e-mail to send (docs/SECURITY.md NOT-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum NotificationKind {
    /// "Set up MFA": carries a setup link (after enable, admin reset, or a login that needs setup).
    SetupInvitation,
    /// "Reset your MFA": carries a reset link (self-service reset requested).
    ResetRequested,
    /// Enrolment completed: a new authenticator was bound (ENR-5).
    SetupCompleted,
    /// Self-service reset completed: the old authenticator no longer works (RST-6).
    ResetCompleted,
    /// Too many wrong codes: the factor is locked.
    LockedOut,
    /// An admin made MFA required; it will be asked at the next login.
    MfaRequired,
    /// An admin removed the MFA requirement (NOT-2): the admin learns of it, so a hijacked
    /// session cannot quietly weaken the account.
    MfaNotRequired,
    /// A recovery code was used to sign in (REC-5): says how many are left, and warns when
    /// two or fewer are ([`NotificationDetail::RecoveryCodesLeft`]).
    RecoveryCodeUsed,
    /// MFA set-up is due soon ([`NotificationDetail::SetupDue`]): queued with a deadline,
    /// three days and one day before it, and delivered no earlier than its `created_at`
    /// (DL-3). The dispatcher drops one whose deadline no longer applies.
    SetupReminder,
    /// The admin made a new set of recovery codes, and the old ones stopped working (REC-7):
    /// the admin learns of it, so a hijacked session cannot quietly mint codes that pass the
    /// MFA prompt.
    RecoveryCodesRegenerated,
}

impl NotificationKind {
    /// A stable snake_case name, used in dedupe keys and templates.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SetupInvitation => "setup_invitation",
            Self::ResetRequested => "reset_requested",
            Self::SetupCompleted => "setup_completed",
            Self::ResetCompleted => "reset_completed",
            Self::LockedOut => "locked_out",
            Self::MfaRequired => "mfa_required",
            Self::MfaNotRequired => "mfa_not_required",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::SetupReminder => "setup_reminder",
            Self::RecoveryCodesRegenerated => "recovery_codes_regenerated",
        }
    }
}

impl fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outbox's idempotency key: a second notification with the same key is dropped.
///
/// Built from the admin, the kind and something unique to the triggering event (the link's
/// token hash, the new credential epoch, or the stored version of the admin record the event
/// was decided on, NOT-3).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct DedupeKey(String);

impl DedupeKey {
    /// `"{admin}:{kind}:{discriminator}"`.
    #[must_use]
    pub fn new(admin: AdminId, kind: NotificationKind, discriminator: impl fmt::Display) -> Self {
        let mut key = Self::head(admin, kind);
        // Writing into a `String` cannot fail.
        let _ = fmt::Write::write_fmt(&mut key, format_args!("{discriminator}"));
        Self(key)
    }

    /// `"{admin}:{kind}:v{version}"`: [`new`](Self::new) with the discriminator
    /// `format_args!("v{version}")`, the same text, written without the formatting
    /// machinery (which cost about as much as the rest of a bulk require's notification).
    pub(crate) fn versioned(admin: AdminId, kind: NotificationKind, version: u64) -> Self {
        let mut key = Self::head(admin, kind);
        key.push('v');
        key.push_str(itoa::Buffer::new().format(version));
        Self(key)
    }

    /// `"{admin}:{kind}:"`, with room for a discriminator. Built by hand: a bulk "Require
    /// MFA" makes one key per admin, and the formatting machinery took most of the
    /// notification's cost.
    fn head(admin: AdminId, kind: NotificationKind) -> String {
        let mut id = [0_u8; 36];
        let id = admin.as_uuid().hyphenated().encode_lower(&mut id);
        let kind = kind.as_str();
        let mut key = String::with_capacity(id.len() + kind.len() + 24);
        key.push_str(id);
        key.push(':');
        key.push_str(kind);
        key.push(':');
        key
    }

    /// Wraps a stored key.
    #[must_use]
    pub fn from_string(key: String) -> Self {
        Self(key)
    }

    /// The key text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DedupeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a message says beyond its kind: never a secret or a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "detail", rename_all = "snake_case"))]
#[non_exhaustive]
pub enum NotificationDetail {
    /// How many recovery codes are left after the one just used
    /// ([`NotificationKind::RecoveryCodeUsed`]).
    RecoveryCodesLeft {
        /// Unused codes left.
        left: u32,
    },
    /// MFA must be set up by this time ([`NotificationKind::MfaRequired`] with a deadline,
    /// [`NotificationKind::SetupReminder`]).
    SetupDue {
        /// The deadline.
        by: UnixTime,
    },
}

/// One e-mail to queue in the transactional outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Notification {
    /// Which message.
    pub kind: NotificationKind,
    /// The recipient's organization.
    pub org: OrgId,
    /// The recipient admin.
    pub admin: AdminId,
    /// Where to send it.
    pub to: Email,
    /// The recipient's display name (untrusted: the renderer escapes it).
    pub display_name: String,
    /// The raw link token, sealed as [`crate::SealedKind::LinkToken`] for this admin; only
    /// for [`NotificationKind::SetupInvitation`] and [`NotificationKind::ResetRequested`].
    pub link: Option<Sealed>,
    /// The link's purpose, when there is a link (needed to open the sealed token).
    pub link_purpose: Option<LinkPurpose>,
    /// When the link expires, when there is a link.
    pub link_expires_at: Option<UnixTime>,
    /// When the notification was created, and the earliest time it is delivered: every
    /// store's outbox leases an entry only from this time on, so a reminder is queued at once
    /// with the time it is due (DL-3).
    pub created_at: UnixTime,
    /// The outbox idempotency key.
    pub dedupe_key: DedupeKey,
    /// What the message says beyond its kind, for kinds that say more (absent from
    /// notifications stored before it existed).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub detail: Option<NotificationDetail>,
}

/// Which code check an attempt on the active factor's counter belonged to (RL-2). Codes on
/// a link's last step count on the link instead (SETUP-2): see [`AuditKind::SetupFailed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum CodeCheck {
    /// A login (or re-authentication) code for the active factor.
    Login,
    /// A recovery code at the MFA prompt, in place of a login code (REC-3).
    RecoveryCode,
}

/// Which password check an attempt belonged to (login and the link's email-and-password
/// step share one password counter, RST-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PasswordCheck {
    /// The password step of a login.
    Login,
    /// The email-and-password step of a setup or reset link.
    Link(LinkPurpose),
}

/// What happened, for the audit log (LOG-1). Never carries a secret, code or token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
pub enum AuditKind {
    /// MFA was enabled for the target ("Enable MultiFactor Authentication for Admin Login").
    MfaEnabled,
    /// MFA was required for the target (bulk "Require MFA").
    MfaRequired,
    /// The requirement was removed; any active factor stays.
    RequirementRemoved,
    /// A setup link was issued (and an invitation queued).
    SetupLinkIssued,
    /// A self-service reset was requested (and a reset link queued).
    ResetRequested,
    /// A link e-mail was suppressed by the per-admin rate limit.
    LinkRateLimited {
        /// The link's purpose.
        purpose: LinkPurpose,
    },
    /// Email and password were confirmed on a link; a candidate secret was stored.
    IdentityConfirmed {
        /// The link's purpose.
        purpose: LinkPurpose,
    },
    /// A new factor was enrolled through a setup link.
    Enrolled,
    /// A self-service reset completed: the new factor replaced the old one.
    ResetCompleted,
    /// An admin removed the target's factor (admin reset).
    AdminReset,
    /// A correct code was accepted.
    VerifySucceeded,
    /// A wrong or malformed code was refused and counted.
    VerifyFailed {
        /// Which check.
        check: CodeCheck,
        /// The failure count after this attempt.
        failures: u32,
    },
    /// A valid but already used code was refused and counted (VER-7).
    Replayed {
        /// Which check.
        check: CodeCheck,
        /// The failure count after this attempt.
        failures: u32,
    },
    /// An attempt inside a lockout delay was refused unchecked and not counted.
    Delayed {
        /// Which check.
        check: CodeCheck,
        /// When attempts may resume.
        until: UnixTime,
    },
    /// An attempt on a locked factor was refused unchecked.
    RefusedLocked,
    /// The factor locked after too many failures.
    LockedOut,
    /// An admin unlocked the target's factor.
    Unlocked,
    /// The pending link expired and was collected.
    LinkExpired {
        /// The link's purpose.
        purpose: LinkPurpose,
    },
    /// A password attempt was counted on the password limiter before its check (RL-8);
    /// a following [`AuditKind::PasswordFailuresCleared`] means it was right. Never holds the
    /// password.
    PasswordAttempted {
        /// Which check.
        check: PasswordCheck,
        /// Attempts since the last correct password, this one included.
        attempts: u32,
    },
    /// A login attempt named an address no admin of the organization has (ENU-4). Written
    /// so that known and unknown accounts cost the same store work.
    UnknownAccount,
    /// A wrong or malformed code on a link's last step, counted on the link (SETUP-2).
    SetupFailed {
        /// The link's purpose.
        purpose: LinkPurpose,
        /// The link's wrong-code count after this attempt.
        failures: u32,
    },
    /// Too many wrong codes on a link's last step voided the link (SETUP-2).
    LinkVoided {
        /// The link's purpose.
        purpose: LinkPurpose,
    },
    /// A password attempt inside the password delay was refused unchecked, not counted.
    PasswordDelayed {
        /// Which check.
        check: PasswordCheck,
        /// When password attempts may resume.
        until: UnixTime,
    },
    /// A correct password cleared the password failure count.
    PasswordFailuresCleared {
        /// The count it cleared: attempts since the last correct password, this correct one
        /// included (RL-8).
        failures: u32,
    },
    /// A new set of recovery codes replaced any older one (REC-1, REC-4). Never holds a
    /// code or a hash.
    RecoveryCodesIssued {
        /// Codes in the new set.
        count: u32,
    },
    /// A recovery code stood in for a login code and was used up (REC-3, REC-5).
    RecoveryCodeUsed {
        /// Codes left after this one.
        remaining: u32,
    },
    /// A set-up deadline was set or moved earlier (DL-1, DL-4); `None`: required at once.
    SetupDeadlineSet {
        /// The new deadline.
        deadline: Option<UnixTime>,
    },
    /// The organization's MFA posture report was exported (POS-5). The export concerns
    /// every admin, so actor and target both name the admin who exported it.
    PostureExported,
}

/// One audit record (LOG-1, T-LOG-3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AuditEvent {
    /// When it happened.
    pub at: UnixTime,
    /// The target's organization.
    pub org: OrgId,
    /// Who acted (`None`: the system). Self-service actions name the target itself.
    pub actor: Option<AdminId>,
    /// The admin whose MFA state it concerns.
    pub target: AdminId,
    /// What happened.
    pub kind: AuditKind,
}

/// The notifications to queue, in the same store write, for `events` decided on `admin` as
/// stored at `version` (0 for an admin not yet stored).
///
/// One e-mail per event that warrants one (T-NOT-1): a setup invitation or reset e-mail per
/// issued link (carrying the sealed token), a confirmation per completed enrolment or reset,
/// a lockout notice, an "MFA required" notice when the requirement was set without a
/// setup link going out in the same batch (the invitation already says so), an "MFA no
/// longer required" notice when it was removed (NOT-2), and a notice of a new set of
/// recovery codes made on its own, not with a new factor (REC-7). Rate-limited, refused and
/// counting events send nothing. Each carries a [`DedupeKey`] unique to its triggering event,
/// so a retried commit never queues a second copy and a later event of the same kind is never
/// taken for a copy (NOT-3: requirement notices are keyed by `version`, which a
/// compare-and-swap store gives to one committed change only).
#[must_use]
pub fn notifications(
    admin: &crate::Admin,
    events: &[crate::Event],
    now: UnixTime,
    version: u64,
) -> Vec<Notification> {
    use crate::Event;

    let link_issued = events.iter().any(|e| matches!(e, Event::LinkIssued(_)));
    let requirement_set = events
        .iter()
        .any(|e| matches!(e, Event::RequirementSet { .. }));
    // Codes issued with a new factor are told of by its set-up or reset confirmation.
    let enrolled = events.iter().any(|e| matches!(e, Event::Enrolled { .. }));
    let keyed = |kind: NotificationKind, dedupe_key: DedupeKey| Notification {
        kind,
        org: admin.org,
        admin: admin.id,
        to: admin.email.clone(),
        display_name: admin.display_name.clone(),
        link: None,
        link_purpose: None,
        link_expires_at: None,
        created_at: now,
        dedupe_key,
        detail: None,
    };
    let make = |kind: NotificationKind, discriminator: &dyn fmt::Display| {
        keyed(kind, DedupeKey::new(admin.id, kind, discriminator))
    };
    // Notices of a change to the record, keyed by its version (NOT-3).
    let by_version =
        |kind: NotificationKind| keyed(kind, DedupeKey::versioned(admin.id, kind, version));
    let mut out = Vec::new();
    for event in events {
        match event {
            Event::LinkIssued(link) => {
                let kind = match link.purpose {
                    LinkPurpose::Setup => NotificationKind::SetupInvitation,
                    LinkPurpose::Reset => NotificationKind::ResetRequested,
                };
                let mut n = make(kind, &link.token_hash.to_hex());
                n.link = Some(link.sealed_token.clone());
                n.link_purpose = Some(link.purpose);
                n.link_expires_at = Some(link.expires_at);
                out.push(n);
            }
            Event::Enrolled { purpose, epoch, .. } => {
                let kind = match purpose {
                    LinkPurpose::Setup => NotificationKind::SetupCompleted,
                    LinkPurpose::Reset => NotificationKind::ResetCompleted,
                };
                out.push(make(kind, &format_args!("epoch-{epoch}")));
            }
            Event::LockedOut { at, .. } => out.push(make(
                NotificationKind::LockedOut,
                &format_args!("epoch-{}-at-{}", admin.mfa.credential_epoch, at.as_secs()),
            )),
            Event::RequirementSet { .. } if !link_issued => {
                out.push(by_version(NotificationKind::MfaRequired));
            }
            Event::RequirementRemoved { .. } => {
                out.push(by_version(NotificationKind::MfaNotRequired));
            }
            Event::RecoveryCodeUsed { remaining, .. } => {
                let mut n = by_version(NotificationKind::RecoveryCodeUsed);
                n.detail = Some(NotificationDetail::RecoveryCodesLeft { left: *remaining });
                out.push(n);
            }
            Event::RecoveryCodesIssued { .. } if !enrolled => {
                out.push(by_version(NotificationKind::RecoveryCodesRegenerated));
            }
            Event::SetupDeadlineSet { deadline, .. } => {
                // A new deadline on a requirement set in this batch: the notice just queued
                // for the requirement says when set-up is due. A changed deadline gets a
                // notice of its own.
                let notice = if requirement_set {
                    out.iter_mut()
                        .find(|n| n.kind == NotificationKind::MfaRequired)
                } else if link_issued {
                    // "Enable" over a grace period: its setup invitation says it all.
                    None
                } else {
                    out.push(by_version(NotificationKind::MfaRequired));
                    out.last_mut()
                };
                if let (Some(n), Some(by)) = (notice, deadline) {
                    n.detail = Some(NotificationDetail::SetupDue { by: *by });
                }
                if let Some(by) = deadline {
                    out.extend(reminders(admin, *by, now));
                }
            }
            _ => {}
        }
    }
    out
}

/// How long before a set-up deadline the reminders go out: three days and one day (DL-3).
pub const SETUP_REMINDERS_SECS: [u64; 2] = [3 * 86_400, 86_400];

/// The reminders of a set-up deadline `by`, each created (and so delivered no earlier than)
/// [`SETUP_REMINDERS_SECS`] before it; those already due at `now` are left out (the notice
/// queued with the deadline says it all). Keyed by the deadline and the lead time, so a
/// retried commit or a second replica never queues one twice (DL-3).
fn reminders(admin: &crate::Admin, by: UnixTime, now: UnixTime) -> Vec<Notification> {
    SETUP_REMINDERS_SECS
        .iter()
        .filter_map(|lead| {
            let at = UnixTime::from_secs(by.as_secs().checked_sub(*lead)?);
            (at > now).then(|| Notification {
                kind: NotificationKind::SetupReminder,
                org: admin.org,
                admin: admin.id,
                to: admin.email.clone(),
                display_name: admin.display_name.clone(),
                link: None,
                link_purpose: None,
                link_expires_at: None,
                created_at: at,
                dedupe_key: DedupeKey::new(
                    admin.id,
                    NotificationKind::SetupReminder,
                    format_args!("by-{}-lead-{}", by.as_secs(), lead),
                ),
                detail: Some(NotificationDetail::SetupDue { by }),
            })
        })
        .collect()
}

/// The audit records for `events` decided on `admin`, one per event (every state change and
/// every refused, failed or replayed attempt). `actor` is who issued the command: the acting
/// admin, the target itself for self-service, or `None` for the system.
#[must_use]
pub fn audit_events(
    admin: &crate::Admin,
    events: &[crate::Event],
    actor: Option<AdminId>,
    now: UnixTime,
) -> Vec<AuditEvent> {
    use crate::{Event, RequirementSource};

    events
        .iter()
        .map(|event| {
            let kind = match event {
                Event::RequirementSet {
                    source: RequirementSource::Enable,
                    ..
                } => AuditKind::MfaEnabled,
                Event::RequirementSet {
                    source: RequirementSource::Require | RequirementSource::AdminReset,
                    ..
                } => AuditKind::MfaRequired,
                Event::RequirementRemoved { .. } => AuditKind::RequirementRemoved,
                Event::LinkIssued(link) => match link.purpose {
                    LinkPurpose::Setup => AuditKind::SetupLinkIssued,
                    LinkPurpose::Reset => AuditKind::ResetRequested,
                },
                Event::LinkRateLimited { purpose, .. } => {
                    AuditKind::LinkRateLimited { purpose: *purpose }
                }
                Event::CandidateStored { purpose, .. } => {
                    AuditKind::IdentityConfirmed { purpose: *purpose }
                }
                Event::Enrolled { purpose, .. } => match purpose {
                    LinkPurpose::Setup => AuditKind::Enrolled,
                    LinkPurpose::Reset => AuditKind::ResetCompleted,
                },
                Event::Verified { .. } => AuditKind::VerifySucceeded,
                Event::VerifyFailed {
                    check, failures, ..
                } => AuditKind::VerifyFailed {
                    check: *check,
                    failures: *failures,
                },
                Event::Replayed {
                    check, failures, ..
                } => AuditKind::Replayed {
                    check: *check,
                    failures: *failures,
                },
                Event::Delayed { check, until, .. } => AuditKind::Delayed {
                    check: *check,
                    until: *until,
                },
                Event::RefusedLocked { .. } => AuditKind::RefusedLocked,
                Event::LockedOut { .. } => AuditKind::LockedOut,
                Event::Unlocked { .. } => AuditKind::Unlocked,
                Event::FactorRemoved { .. } => AuditKind::AdminReset,
                Event::LinkExpired { purpose, .. } => AuditKind::LinkExpired { purpose: *purpose },
                Event::PasswordAttempted {
                    check, attempts, ..
                } => AuditKind::PasswordAttempted {
                    check: *check,
                    attempts: *attempts,
                },
                Event::SetupFailed {
                    purpose, failures, ..
                } => AuditKind::SetupFailed {
                    purpose: *purpose,
                    failures: *failures,
                },
                Event::LinkVoided { purpose, .. } => AuditKind::LinkVoided { purpose: *purpose },
                Event::PasswordDelayed { check, until, .. } => AuditKind::PasswordDelayed {
                    check: *check,
                    until: *until,
                },
                Event::PasswordFailuresCleared { failures, .. } => {
                    AuditKind::PasswordFailuresCleared {
                        failures: *failures,
                    }
                }
                Event::RecoveryCodesIssued { codes, .. } => AuditKind::RecoveryCodesIssued {
                    count: u32::try_from(codes.remaining()).unwrap_or(u32::MAX),
                },
                Event::RecoveryCodeUsed { remaining, .. } => AuditKind::RecoveryCodeUsed {
                    remaining: *remaining,
                },
                Event::SetupDeadlineSet { deadline, .. } => AuditKind::SetupDeadlineSet {
                    deadline: *deadline,
                },
            };
            AuditEvent {
                at: now,
                org: admin.org,
                actor,
                target: admin.id,
                kind,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored outboxes hold these keys, so their text must never change.
    #[test]
    fn dedupe_key_text_is_stable() {
        let admin =
            AdminId::from_bytes(0x67e5_5044_10b1_426f_9247_bb68_0e5f_e0c8_u128.to_be_bytes());
        let key = DedupeKey::new(admin, NotificationKind::MfaRequired, "since-1700000000");
        assert_eq!(
            key.as_str(),
            "67e55044-10b1-426f-9247-bb680e5fe0c8:mfa_required:since-1700000000"
        );
        // NOT-2, NOT-3: requirement notices are keyed by the record's version.
        let key = DedupeKey::new(admin, NotificationKind::MfaRequired, format_args!("v{}", 7));
        assert_eq!(
            key.as_str(),
            "67e55044-10b1-426f-9247-bb680e5fe0c8:mfa_required:v7"
        );
        let key = DedupeKey::new(
            admin,
            NotificationKind::MfaNotRequired,
            format_args!("v{}", 8),
        );
        assert_eq!(
            key.as_str(),
            "67e55044-10b1-426f-9247-bb680e5fe0c8:mfa_not_required:v8"
        );
        let key = DedupeKey::new(
            admin,
            NotificationKind::LockedOut,
            format_args!("epoch-{}-at-{}", 3, 1_700_000_030),
        );
        assert_eq!(
            key.as_str(),
            "67e55044-10b1-426f-9247-bb680e5fe0c8:locked_out:epoch-3-at-1700000030"
        );
        assert_eq!(key.to_string(), key.as_str());
    }

    /// The version-keyed notices' key is written without `fmt`: the same text as through
    /// `Display`, for every number of digits.
    #[test]
    fn versioned_keys_read_as_formatted_ones() {
        let admin = AdminId::from_bytes([0x5a; 16]);
        let mut versions = vec![0, 1, 9, 10, 99, 100, 12_345, u64::MAX - 1, u64::MAX];
        versions.extend((0..19).map(|p| 10_u64.pow(p)));
        versions.extend((1..20).map(|p| 10_u64.pow(p) - 1));
        for v in versions {
            for kind in [
                NotificationKind::MfaRequired,
                NotificationKind::MfaNotRequired,
                NotificationKind::RecoveryCodeUsed,
                NotificationKind::RecoveryCodesRegenerated,
            ] {
                assert_eq!(
                    DedupeKey::versioned(admin, kind, v),
                    DedupeKey::new(admin, kind, format_args!("v{v}")),
                    "{v}"
                );
            }
        }
    }
}
