//! The MFA posture report: what [`MfaService::mfa_posture`](crate::MfaService::mfa_posture)
//! returns for each admin, the filters it takes, and the CSV and JSON Lines encodings of
//! [`PostureExport`](crate::PostureExport).
//!
//! The encoders are written here rather than taken from a crate: a CSV row is a dozen fixed
//! cells and a JSON line a flat object of strings, numbers and `null`, a few lines each, and
//! the tests check both against independent parsers.

use core::fmt::Write as _;
use std::borrow::Cow;

use admin_mfa_lifecycle::{AdminId, Email, LinkPurpose, MfaState, Role, UnixTime};

use crate::email::civil_from_days;
use crate::service::FactorStatus;

/// Seconds in a day, for the filters' day counts.
const DAY_SECS: u64 = 86_400;

/// Which admins a posture report lists. Every criterion that is set must hold (they combine
/// with "and"); [`PostureFilter::all`] sets none and lists every admin.
///
/// An admin whose MFA status the viewer may not see (`view-admin-mfa-status`) matches no
/// criterion, so a filtered report never hints at a hidden posture.
///
/// ```
/// use admin_mfa::PostureFilter;
///
/// // Enrolled admins who have not used their authenticator for 90 days and have at most
/// // two recovery codes left.
/// let stale = PostureFilter::all().factor_unused_for_days(90).recovery_codes_at_most(2);
/// assert_eq!(stale.factor_unused_for, Some(90));
/// assert!(!stale.locked_only);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PostureFilter {
    /// Only admins with a factor (enabled or locked) whose last accepted code, or its
    /// enrolment when no code has been accepted since, is at least this many days old.
    pub factor_unused_for: Option<u32>,
    /// Only admins who must set MFA up by a deadline that is at most this many days away,
    /// or already past (MFA required, no factor, a deadline set).
    pub deadline_within: Option<u32>,
    /// Only admins with a factor and at most this many unused recovery codes (an admin
    /// without a set, e.g. when the host switched them off, has none).
    pub recovery_codes_at_most: Option<u32>,
    /// Only admins whose factor is locked by wrong codes.
    pub locked_only: bool,
}

impl PostureFilter {
    /// No criterion: every admin.
    #[must_use]
    pub fn all() -> Self {
        Self::default()
    }

    /// See [`PostureFilter::factor_unused_for`].
    #[must_use]
    pub const fn factor_unused_for_days(mut self, days: u32) -> Self {
        self.factor_unused_for = Some(days);
        self
    }

    /// See [`PostureFilter::deadline_within`].
    #[must_use]
    pub const fn deadline_within_days(mut self, days: u32) -> Self {
        self.deadline_within = Some(days);
        self
    }

    /// See [`PostureFilter::recovery_codes_at_most`].
    #[must_use]
    pub const fn recovery_codes_at_most(mut self, codes: u32) -> Self {
        self.recovery_codes_at_most = Some(codes);
        self
    }

    /// See [`PostureFilter::locked_only`].
    #[must_use]
    pub const fn locked(mut self) -> Self {
        self.locked_only = true;
        self
    }

    /// Whether a visible posture, read at `now`, meets every criterion.
    pub(crate) fn matches(&self, p: &MfaPosture, now: UnixTime) -> bool {
        let days_ago = |days: u32| now.as_secs().saturating_sub(u64::from(days) * DAY_SECS);
        let has_factor = matches!(p.factor, FactorStatus::Enabled | FactorStatus::Locked);
        if let Some(days) = self.factor_unused_for {
            let last = p.last_code_at.or(p.enrolled_at);
            let unused = has_factor && last.is_some_and(|t| t.as_secs() <= days_ago(days));
            if !unused {
                return false;
            }
        }
        if let Some(days) = self.deadline_within {
            let horizon = now.as_secs().saturating_add(u64::from(days) * DAY_SECS);
            if p.setup_deadline.is_none_or(|d| d.as_secs() > horizon) {
                return false;
            }
        }
        if let Some(most) = self.recovery_codes_at_most {
            let left = p.recovery_codes_left.unwrap_or(0);
            if !(has_factor && left <= most) {
                return false;
            }
        }
        !self.locked_only || p.factor == FactorStatus::Locked
    }
}

/// An outstanding setup or reset link, as the posture report shows it: its kind and expiry,
/// never its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PendingLinkInfo {
    /// A setup link (first enrolment) or a reset link.
    pub purpose: LinkPurpose,
    /// When it stops working.
    pub expires_at: UnixTime,
}

/// One admin's MFA posture: everything a security review asks of an account's second factor,
/// and nothing secret (no sealed secret, hash, link token or recovery code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MfaPosture {
    /// Whether MFA is required of the admin.
    pub required: bool,
    /// Since when, if required.
    pub required_since: Option<UnixTime>,
    /// The set-up deadline of a required admin without a factor (it may be past: the admin
    /// is then asked to set up at the next login).
    pub setup_deadline: Option<UnixTime>,
    /// Where the authenticator stands.
    pub factor: FactorStatus,
    /// When the current factor was enrolled (or last reset and set up again).
    pub enrolled_at: Option<UnixTime>,
    /// The start of the time step of the last accepted code, the enrolment's confirming code
    /// included. Recovery codes do not move it.
    pub last_code_at: Option<UnixTime>,
    /// Unused recovery codes; `None` when no set was issued (before recovery codes existed,
    /// or with them switched off).
    pub recovery_codes_left: Option<u32>,
    /// Wrong codes since the last accepted one (the lockout counter).
    pub failed_codes: u32,
    /// The outstanding setup or reset link, while it has not expired.
    pub pending_link: Option<PendingLinkInfo>,
}

impl MfaPosture {
    /// The posture of `mfa` at `now`, for a host that read the admin itself;
    /// [`MfaService::mfa_posture`](crate::MfaService::mfa_posture) fills it in where the
    /// viewer may see it.
    #[must_use]
    pub fn of(mfa: &MfaState, now: UnixTime) -> Self {
        let status = crate::service::MfaStatus::of(mfa, now);
        let factor = mfa.active_factor();
        let required_since = match mfa.requirement {
            admin_mfa_lifecycle::Requirement::Required { since, .. } => Some(since),
            admin_mfa_lifecycle::Requirement::NotRequired => None,
        };
        let setup_deadline = mfa
            .setup_deadline
            .filter(|_| status.required && factor.is_none());
        Self {
            required: status.required,
            required_since,
            setup_deadline,
            factor: status.factor,
            enrolled_at: factor.map(|f| f.enrolled_at),
            last_code_at: factor.and_then(|f| {
                let step = f.last_used_step?.get();
                Some(UnixTime::from_secs(step.saturating_mul(f.params.period())))
            }),
            recovery_codes_left: mfa
                .recovery
                .as_ref()
                .map(|r| u32::try_from(r.remaining()).unwrap_or(u32::MAX)),
            failed_codes: mfa.failures.consecutive,
            pending_link: mfa.live_link(now).map(|l| PendingLinkInfo {
                purpose: l.purpose,
                expires_at: l.expires_at,
            }),
        }
    }
}

/// One row of the MFA posture report ([`MfaService::mfa_posture`](crate::MfaService::mfa_posture)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostureRow {
    /// The admin.
    pub id: AdminId,
    /// Their e-mail address; the report is ordered by it.
    pub email: Email,
    /// Their display name.
    pub display_name: String,
    /// Their role.
    pub role: Role,
    /// Their MFA posture; `None` where the policy does not let the viewer see their MFA
    /// status (`view-admin-mfa-status` on this admin).
    pub posture: Option<MfaPosture>,
}

/// The encoding of a [`PostureExport`](crate::PostureExport).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PostureFormat {
    /// RFC 4180 CSV: a header line of [`POSTURE_COLUMNS`], one record per admin, CRLF line
    /// ends, cells quoted when they hold a comma, quote, CR or LF. A text cell that a
    /// spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) gets
    /// a leading `'`. A hidden posture leaves its cells empty.
    Csv,
    /// JSON Lines: one JSON object per admin and line (LF), keyed by [`POSTURE_COLUMNS`], with
    /// `null` for what is absent or hidden. No header line.
    JsonLines,
}

/// The columns of an export, in order: the CSV header and the JSON Lines keys. Times are
/// RFC 3339 in UTC (`2026-12-06T09:30:00Z`); `factor` is `none`, `pending`, `enabled` or
/// `locked`; `pending_link` is `setup` or `reset`. These names are stable.
pub const POSTURE_COLUMNS: [&str; 14] = [
    "admin_id",
    "email",
    "display_name",
    "role",
    "mfa_required",
    "required_since",
    "setup_deadline",
    "factor",
    "enrolled_at",
    "last_code_at",
    "recovery_codes_left",
    "failed_codes",
    "pending_link",
    "pending_link_expires_at",
];

/// A cell's value before encoding.
enum Cell<'a> {
    Text(Cow<'a, str>),
    Number(u64),
    Bool(bool),
    Absent,
}

impl FactorStatus {
    /// The export's name for the status.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Enabled => "enabled",
            Self::Locked => "locked",
        }
    }
}

fn time(t: Option<UnixTime>) -> Cell<'static> {
    t.map_or(Cell::Absent, |t| Cell::Text(rfc3339(t).into()))
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time.
pub(crate) fn rfc3339(t: UnixTime) -> String {
    let secs = t.as_secs();
    let (year, month, day) = civil_from_days(secs / DAY_SECS);
    let rem = secs % DAY_SECS;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn cells(row: &PostureRow) -> [Cell<'_>; 14] {
    // A hidden posture leaves every posture cell absent.
    let posture =
        |cell: fn(&MfaPosture) -> Cell<'static>| row.posture.as_ref().map_or(Cell::Absent, cell);
    [
        Cell::Text(row.id.to_string().into()),
        Cell::Text(row.email.as_str().into()),
        Cell::Text(row.display_name.as_str().into()),
        Cell::Text(row.role.as_str().into()),
        posture(|p| Cell::Bool(p.required)),
        posture(|p| time(p.required_since)),
        posture(|p| time(p.setup_deadline)),
        posture(|p| Cell::Text(p.factor.as_str().into())),
        posture(|p| time(p.enrolled_at)),
        posture(|p| time(p.last_code_at)),
        posture(|p| {
            p.recovery_codes_left
                .map_or(Cell::Absent, |n| Cell::Number(u64::from(n)))
        }),
        posture(|p| Cell::Number(u64::from(p.failed_codes))),
        posture(|p| {
            p.pending_link
                .map_or(Cell::Absent, |l| Cell::Text(l.purpose.as_str().into()))
        }),
        posture(|p| time(p.pending_link.map(|l| l.expires_at))),
    ]
}

/// Appends the CSV header line.
pub(crate) fn csv_header(out: &mut String) {
    for (i, name) in POSTURE_COLUMNS.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
    }
    out.push_str("\r\n");
}

/// Appends one CSV record.
pub(crate) fn csv_row(out: &mut String, row: &PostureRow) {
    for (i, cell) in cells(row).iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match cell {
            Cell::Text(s) => csv_text(out, s),
            Cell::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Cell::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Cell::Absent => {}
        }
    }
    out.push_str("\r\n");
}

/// A text cell: defused if a spreadsheet would run it as a formula, quoted if RFC 4180
/// needs it.
fn csv_text(out: &mut String, s: &str) {
    let formula = s
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    let quote = formula || s.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    if quote {
        for c in s.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// Appends one JSON Lines record.
pub(crate) fn json_row(out: &mut String, row: &PostureRow) {
    out.push('{');
    for (i, (name, cell)) in POSTURE_COLUMNS.iter().zip(cells(row).iter()).enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(out, name);
        out.push(':');
        match cell {
            Cell::Text(s) => json_string(out, s),
            Cell::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Cell::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Cell::Absent => out.push_str("null"),
        }
    }
    out.push_str("}\n");
}

/// A JSON string (RFC 8259 §7): quote, backslash and control characters escaped.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use admin_mfa_lifecycle::BuiltinRole;
    use proptest::prelude::*;

    use super::*;

    fn row(display_name: &str, posture: Option<MfaPosture>) -> PostureRow {
        PostureRow {
            id: AdminId::from_bytes([2; 16]),
            email: Email::parse("ada@example.com").unwrap(),
            display_name: display_name.to_owned(),
            role: Role::Builtin(BuiltinRole::HelpDesk),
            posture,
        }
    }

    fn posture() -> MfaPosture {
        MfaPosture {
            required: true,
            required_since: Some(UnixTime::from_secs(0)),
            setup_deadline: None,
            factor: FactorStatus::Enabled,
            enrolled_at: Some(UnixTime::from_secs(951_782_400)),
            last_code_at: Some(UnixTime::from_secs(1_764_979_199)),
            recovery_codes_left: Some(2),
            failed_codes: 3,
            pending_link: Some(PendingLinkInfo {
                purpose: LinkPurpose::Reset,
                expires_at: UnixTime::from_secs(4_102_444_800),
            }),
        }
    }

    /// Dates against values worked out by hand: the epoch, a leap day, the last second of a
    /// year, and 2100 (not a leap year).
    #[test]
    fn times_are_rfc_3339_utc() {
        assert_eq!(rfc3339(UnixTime::from_secs(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UnixTime::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            rfc3339(UnixTime::from_secs(1_767_225_599)),
            "2025-12-31T23:59:59Z"
        );
        assert_eq!(
            rfc3339(UnixTime::from_secs(4_107_542_400)),
            "2100-03-01T00:00:00Z"
        );
    }

    #[test]
    fn a_csv_row_has_every_column_in_order() {
        let mut out = String::new();
        csv_header(&mut out);
        csv_row(&mut out, &row("Ada", Some(posture())));
        csv_row(&mut out, &row("Hidden", None));
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(lines[0], POSTURE_COLUMNS.join(","));
        let id = row("", None).id.to_string();
        assert_eq!(
            lines[1],
            format!(
                "{id},ada@example.com,Ada,help-desk,true,1970-01-01T00:00:00Z,,enabled,\
                 2000-02-29T00:00:00Z,2025-12-05T23:59:59Z,2,3,reset,2100-01-01T00:00:00Z"
            )
        );
        assert_eq!(
            lines[2],
            format!("{id},ada@example.com,Hidden,help-desk,,,,,,,,,,")
        );
        assert_eq!(lines[3], "");
    }

    #[test]
    fn csv_quotes_what_rfc_4180_needs_and_defuses_formulas() {
        let cell = |s: &str| {
            let mut out = String::new();
            csv_text(&mut out, s);
            out
        };
        assert_eq!(cell("plain name"), "plain name");
        assert_eq!(cell("Smith, Al"), "\"Smith, Al\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("=1+2"), "\"'=1+2\"");
        assert_eq!(cell("+1"), "\"'+1\"");
        assert_eq!(cell("-1"), "\"'-1\"");
        assert_eq!(cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(cell("\tx"), "\"'\tx\"");
        assert_eq!(cell("a=b"), "a=b");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn a_json_line_is_flat_with_nulls() {
        let mut out = String::new();
        json_row(&mut out, &row("Al \"the\" \\ \u{1}", None));
        assert!(out.ends_with("}\n") && out.matches('\n').count() == 1);
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["display_name"], "Al \"the\" \\ \u{1}");
        assert_eq!(value["factor"], serde_json::Value::Null);
        let mut out = String::new();
        json_row(&mut out, &row("Ada", Some(posture())));
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["recovery_codes_left"], 2);
        assert_eq!(value["mfa_required"], true);
        assert_eq!(value["pending_link"], "reset");
        assert_eq!(value["setup_deadline"], serde_json::Value::Null);
    }

    #[test]
    fn filters_hold_at_their_boundaries() {
        let now = UnixTime::from_secs(100 * DAY_SECS);
        let p = MfaPosture {
            last_code_at: Some(UnixTime::from_secs(70 * DAY_SECS)),
            ..posture()
        };
        let f = PostureFilter::all;
        assert!(f().matches(&p, now));
        assert!(f().factor_unused_for_days(30).matches(&p, now));
        assert!(!f().factor_unused_for_days(31).matches(&p, now));
        assert!(f().recovery_codes_at_most(2).matches(&p, now));
        assert!(!f().recovery_codes_at_most(1).matches(&p, now));
        assert!(!f().locked().matches(&p, now));
        assert!(!f().deadline_within_days(u32::MAX).matches(&p, now));
        let none = MfaPosture {
            factor: FactorStatus::None,
            enrolled_at: None,
            last_code_at: None,
            recovery_codes_left: None,
            setup_deadline: Some(UnixTime::from_secs(103 * DAY_SECS)),
            ..posture()
        };
        assert!(!f().recovery_codes_at_most(u32::MAX).matches(&none, now));
        assert!(!f().factor_unused_for_days(0).matches(&none, now));
        assert!(f().deadline_within_days(3).matches(&none, now));
        assert!(!f().deadline_within_days(2).matches(&none, now));
        // Huge day counts saturate instead of overflowing.
        assert!(
            f().deadline_within_days(u32::MAX)
                .matches(&none, UnixTime::from_secs(u64::MAX))
        );
        assert!(!f().factor_unused_for_days(u32::MAX).matches(&p, now));
    }

    proptest! {
        /// Whatever the display name, the `csv` crate reads back the cell this module wrote
        /// (with the formula guard's `'` in front where one applies) and the rest of the row
        /// intact; `serde_json` reads the JSON line back to the same name.
        #[test]
        fn any_name_round_trips(name in "\\PC{0,40}|[=+@\\-\t\r\n\",a-z]{0,12}") {
            let mut out = String::new();
            csv_header(&mut out);
            csv_row(&mut out, &row(&name, Some(posture())));
            let mut reader = csv::ReaderBuilder::new().from_reader(out.as_bytes());
            let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
            prop_assert_eq!(records.len(), 1);
            prop_assert_eq!(records[0].len(), POSTURE_COLUMNS.len());
            let formula = name.starts_with(['=', '+', '-', '@', '\t', '\r']);
            let expected = if formula { format!("'{name}") } else { name.clone() };
            prop_assert_eq!(&records[0][2], expected.as_str());
            prop_assert_eq!(&records[0][7], "enabled");

            let mut line = String::new();
            json_row(&mut line, &row(&name, None));
            let value: serde_json::Value = serde_json::from_str(&line).unwrap();
            prop_assert_eq!(value["display_name"].as_str(), Some(name.as_str()));
        }
    }
}
