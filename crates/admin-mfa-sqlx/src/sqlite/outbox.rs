//! How the SQLite store keeps outbox rows compact (migration 0002).
//!
//! A bulk require queues one e-mail per admin, and every outbox row stays (a delivered
//! key stays taken), so the bytes of a row and of its dedupe key's index entry are most
//! of what a bulk write puts through the WAL besides the admins themselves.
//!
//! - **The dedupe key** is a blob: for a key of the shape every notification of the library
//!   has, `"{admin id, lower-case hyphenated}:{kind}:{rest}"`, the kind's code (1 to 9),
//!   the rest's UTF-8 bytes and the id's 16 bytes (19 to 25 bytes instead of 52 to 60);
//!   any other key is a 0 then the key's text. Each text has exactly one blob, and the blob
//!   gives the text back, so the unique index still holds one message per key. Migration
//!   0002 converts the stored keys with the same rule in SQL.
//!
//!   Kind and rest lead, the id comes last: the keys one event queues for many admins (a
//!   bulk require: kind `mfa_required`, rest the version each admin was decided on) then sit
//!   together in the index wherever their rests coincide, instead of one per admin spread
//!   over every leaf page of an index that keeps every key ever queued.
//! - **The payload** of a new row holds only what the columns do not: the recipient, the
//!   display name and, when present, the link and the detail, as a JSON object marked
//!   `{"v":2,…}`; the kind and the admin come from the key (stored in the payload only when
//!   the key does not name them), the organization and the creation time from their
//!   columns. Rows stored before the migration keep the whole notification as JSON
//!   (`{"kind":…}`) and are read as before.

use admin_mfa_lifecycle::{
    AdminId, DedupeKey, Email, LinkPurpose, Notification, NotificationDetail, NotificationKind,
    Sealed, UnixTime,
};
use admin_mfa_ports::{Lease, OutboxEntry, OutboxId, StoreError};

use crate::common::{
    corrupt, notification_from_payload, org_bytes, org_from_db, time_from_db, time_to_db,
    u32_from_db, u64_from_db,
};

/// The kinds a compact dedupe key names, by code. Migration 0002 holds the first
/// [`KINDS_AT_0002`] of them, the kinds a row stored before it can have; later kinds only
/// ever get codes here.
pub(super) const KINDS: [(u8, NotificationKind); 10] = [
    (1, NotificationKind::SetupInvitation),
    (2, NotificationKind::ResetRequested),
    (3, NotificationKind::SetupCompleted),
    (4, NotificationKind::ResetCompleted),
    (5, NotificationKind::LockedOut),
    (6, NotificationKind::MfaRequired),
    (7, NotificationKind::MfaNotRequired),
    (8, NotificationKind::RecoveryCodeUsed),
    (9, NotificationKind::SetupReminder),
    (10, NotificationKind::RecoveryCodesRegenerated),
];

/// How many kinds of [`KINDS`] migration 0002 converts (codes 1 to 9).
#[cfg(test)]
pub(super) const KINDS_AT_0002: usize = 9;

#[cfg(test)]
fn kind_code(kind: NotificationKind) -> u8 {
    // Every kind is in the table: the match below makes adding a kind a compile error
    // until the table has it.
    match kind {
        NotificationKind::SetupInvitation
        | NotificationKind::ResetRequested
        | NotificationKind::SetupCompleted
        | NotificationKind::ResetCompleted
        | NotificationKind::LockedOut
        | NotificationKind::MfaRequired
        | NotificationKind::MfaNotRequired
        | NotificationKind::RecoveryCodeUsed
        | NotificationKind::SetupReminder
        | NotificationKind::RecoveryCodesRegenerated => KINDS
            .iter()
            .find(|(_, k)| *k == kind)
            .map_or(0, |(code, _)| *code),
    }
}

fn kind_of_code(code: u8) -> Option<NotificationKind> {
    KINDS.iter().find(|(c, _)| *c == code).map(|(_, k)| *k)
}

/// The admin id of a lower-case hyphenated UUID text, and nothing else.
fn canonical_id(text: &str) -> Option<AdminId> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut hex = [0_u8; 32];
    let mut n = 0;
    for (at, b) in bytes.iter().enumerate() {
        if matches!(at, 8 | 13 | 18 | 23) {
            if *b != b'-' {
                return None;
            }
        } else {
            *hex.get_mut(n)? = *b;
            n += 1;
        }
    }
    // Lower-case only: an upper-case id is another text, so it takes the other form.
    let id = data_encoding::HEXLOWER.decode(&hex).ok()?;
    <[u8; 16]>::try_from(id.as_slice())
        .ok()
        .map(AdminId::from_bytes)
}

/// A dedupe key as its column stores it.
pub(super) fn key_blob(key: &str) -> Vec<u8> {
    let compact = key.split_once(':').and_then(|(id, rest)| {
        let id = canonical_id(id)?;
        let (kind, rest) = rest.split_once(':')?;
        let (code, _) = KINDS.iter().find(|(_, k)| k.as_str() == kind)?;
        Some((*code, id, rest))
    });
    match compact {
        Some((code, id, rest)) => {
            let mut blob = Vec::with_capacity(17 + rest.len());
            blob.push(code);
            blob.extend_from_slice(rest.as_bytes());
            blob.extend_from_slice(id.as_uuid().as_bytes());
            blob
        }
        None => {
            let mut blob = Vec::with_capacity(1 + key.len());
            blob.push(0);
            blob.extend_from_slice(key.as_bytes());
            blob
        }
    }
}

/// The admin and kind a dedupe key's blob names, for a key in the compact form.
fn named_by(blob: &[u8]) -> Option<(AdminId, NotificationKind)> {
    let (&code, rest) = blob.split_first()?;
    let kind = kind_of_code(code)?;
    let id = rest.last_chunk::<16>()?;
    Some((AdminId::from_bytes(*id), kind))
}

/// What a dedupe key's blob says: the key's text, and the admin and kind it names (for a
/// key in the compact form).
fn key_of_blob(blob: &[u8]) -> Result<(String, Option<(AdminId, NotificationKind)>), StoreError> {
    let bad = || corrupt("outbox dedupe key");
    let (&code, rest) = blob.split_first().ok_or_else(bad)?;
    if code == 0 {
        let text = std::str::from_utf8(rest).map_err(|_| bad())?;
        return Ok((text.to_owned(), None));
    }
    let (admin, kind) = named_by(blob).ok_or_else(bad)?;
    let rest = rest.get(..rest.len() - 16).ok_or_else(bad)?;
    let rest = std::str::from_utf8(rest).map_err(|_| bad())?;
    let text = DedupeKey::new(admin, kind, rest).as_str().to_owned();
    Ok((text, Some((admin, kind))))
}

/// The payload of a new row: what the columns and the key do not hold.
#[derive(serde::Serialize)]
struct CompactOut<'a> {
    v: u8,
    to: &'a Email,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    admin: Option<AdminId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<NotificationKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<&'a Sealed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    link_purpose: Option<LinkPurpose>,
    #[serde(skip_serializing_if = "Option::is_none")]
    link_expires_at: Option<UnixTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a NotificationDetail>,
}

/// [`CompactOut`] as read back.
#[derive(serde::Deserialize)]
struct CompactIn {
    v: u8,
    to: Email,
    name: String,
    #[serde(default)]
    admin: Option<AdminId>,
    #[serde(default)]
    kind: Option<NotificationKind>,
    #[serde(default)]
    link: Option<Sealed>,
    #[serde(default)]
    link_purpose: Option<LinkPurpose>,
    #[serde(default)]
    link_expires_at: Option<UnixTime>,
    #[serde(default)]
    detail: Option<NotificationDetail>,
}

/// The format marker of [`CompactOut`].
const COMPACT: u8 = 2;

/// A notification as the `outbox` columns store it.
#[derive(Debug)]
pub(crate) struct OutboxRow {
    pub(super) dedupe_key: Vec<u8>,
    pub(super) org: Vec<u8>,
    pub(super) created_at: i64,
    pub(super) payload: String,
}

impl OutboxRow {
    pub(super) fn new(n: &Notification) -> Result<Self, StoreError> {
        let dedupe_key = key_blob(n.dedupe_key.as_str());
        let named = named_by(&dedupe_key);
        let payload = CompactOut {
            v: COMPACT,
            to: &n.to,
            name: &n.display_name,
            admin: (named.map(|(a, _)| a) != Some(n.admin)).then_some(n.admin),
            kind: (named.map(|(_, k)| k) != Some(n.kind)).then_some(n.kind),
            link: n.link.as_ref(),
            link_purpose: n.link_purpose,
            link_expires_at: n.link_expires_at,
            detail: n.detail.as_ref(),
        };
        Ok(Self {
            dedupe_key,
            org: org_bytes(n.org),
            created_at: time_to_db(n.created_at)?,
            payload: serde_json::to_string(&payload).map_err(StoreError::backend)?,
        })
    }
}

/// A leased row: id, generation, attempts, payload, dedupe key, org, created at.
pub(super) type LeasedRow = (i64, i64, i64, String, Vec<u8>, Vec<u8>, i64);

/// The notification of a stored row, in either format.
fn notification(
    payload: &str,
    key: &[u8],
    org: &[u8],
    created_at: i64,
) -> Result<Notification, StoreError> {
    if !payload.starts_with("{\"v\":") {
        // Stored before migration 0002: the whole notification.
        return notification_from_payload(payload);
    }
    let bad = || corrupt("outbox payload");
    let row: CompactIn = serde_json::from_str(payload).map_err(|_| bad())?;
    if row.v != COMPACT {
        return Err(bad());
    }
    let (text, named) = key_of_blob(key)?;
    Ok(Notification {
        kind: row.kind.or(named.map(|(_, k)| k)).ok_or_else(bad)?,
        org: org_from_db(org)?,
        admin: row.admin.or(named.map(|(a, _)| a)).ok_or_else(bad)?,
        to: row.to,
        display_name: row.name,
        link: row.link,
        link_purpose: row.link_purpose,
        link_expires_at: row.link_expires_at,
        created_at: time_from_db(created_at)?,
        dedupe_key: DedupeKey::from_string(text),
        detail: row.detail,
    })
}

/// Leased rows as entries, oldest first.
pub(super) fn leased_entries(mut rows: Vec<LeasedRow>) -> Result<Vec<OutboxEntry>, StoreError> {
    rows.sort_unstable_by_key(|r| r.0);
    rows.into_iter()
        .map(
            |(id, generation, attempts, payload, key, org, created_at)| {
                Ok(OutboxEntry {
                    lease: Lease {
                        id: OutboxId(u64_from_db(id, "outbox id")?),
                        generation: u64_from_db(generation, "lease generation")?,
                    },
                    notification: notification(&payload, &key, &org, created_at)?,
                    attempts: u32_from_db(attempts),
                })
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;

    fn id() -> AdminId {
        AdminId::from_bytes([0xab; 16])
    }

    #[test]
    fn keys_of_the_library_shrink_and_come_back() {
        for (code, kind) in KINDS {
            assert_eq!(kind_code(kind), code);
            let key = DedupeKey::new(id(), kind, 12);
            let blob = key_blob(key.as_str());
            assert_eq!(blob[0], code);
            assert_eq!(blob.len(), 1 + 16 + 2);
            assert_eq!(
                key_of_blob(&blob).unwrap(),
                (key.as_str().to_owned(), Some((id(), kind)))
            );
        }
    }

    #[test]
    fn any_other_text_is_kept_whole_and_distinct() {
        let canonical = DedupeKey::new(id(), NotificationKind::MfaRequired, 3);
        let others = [
            "reset-1".to_owned(),
            String::new(),
            canonical.as_str().to_uppercase(),
            canonical.as_str().replace("mfa_required", "unknown_kind"),
            canonical.as_str().replacen('-', "", 1),
            canonical.as_str().replace(":3", ""),
        ];
        let mut blobs = vec![key_blob(canonical.as_str())];
        for text in &others {
            let blob = key_blob(text);
            assert_eq!(blob[0], 0, "{text}");
            assert_eq!(key_of_blob(&blob).unwrap(), (text.clone(), None));
            blobs.push(blob);
        }
        let n = blobs.len();
        blobs.sort();
        blobs.dedup();
        assert_eq!(blobs.len(), n);
    }

    #[test]
    fn corrupt_blobs_are_errors() {
        for blob in [&[][..], &[10, 1, 2][..], &[6, 1, 2][..], &[0, 0xff][..]] {
            assert!(key_of_blob(blob).is_err(), "{blob:?}");
        }
    }
}
