//! The MFA posture report (`MfaService::mfa_posture`, `PostureExport`) on every store: every
//! field from the admin's real state, each filter at its boundaries, pages that stay full
//! under a filter, the policy gate (`view-mfa-posture`, and `view-admin-mfa-status` per row),
//! and the CSV and JSON Lines exports read back by independent parsers.

use std::collections::BTreeMap;

use admin_mfa::ports::Change;
use admin_mfa::{
    AdminId, AuditKind, Authenticated, BuiltinRole as R, Error, FactorStatus, LinkPurpose,
    MfaPosture, MfaService, POSTURE_COLUMNS, PageRequest, PostureExport, PostureFilter,
    PostureFormat, PostureRow, UnixTime,
};

use crate::backends::{Backend, on_every_store};
use crate::common::*;

const DAY: u64 = 86_400;

/// Every row of the report `viewer` sees under `filter`, `limit` at a time; every page but
/// the last is full.
async fn whole_report(
    svc: &MfaService,
    viewer: &Authenticated,
    filter: &PostureFilter,
    limit: u32,
) -> Result<Vec<PostureRow>, Error> {
    let mut rows = Vec::new();
    let mut page = PageRequest::first(limit);
    loop {
        let got = svc.mfa_posture(viewer, filter, page.clone()).await?;
        match got.next {
            Some(next) => {
                assert_eq!(
                    got.items.len(),
                    page.clamped_limit(),
                    "a page before the last is full"
                );
                rows.extend(got.items);
                page.after = Some(next);
            }
            None => {
                assert!(got.items.len() <= page.clamped_limit());
                rows.extend(got.items);
                return Ok(rows);
            }
        }
    }
}

fn posture_of(rows: &[PostureRow], id: AdminId) -> MfaPosture {
    rows.iter()
        .find(|r| r.id == id)
        .and_then(|r| r.posture)
        .unwrap_or_else(|| panic!("{id} is listed with a posture"))
}

fn ids(rows: &[PostureRow]) -> Vec<AdminId> {
    rows.iter().map(|r| r.id).collect()
}

/// A code of `secret` that is wrong now (the current one with its last digit moved).
fn wrong_code(h: &H, secret: &admin_mfa::lifecycle::TotpSecret) -> String {
    let mut code = h.code(secret).into_bytes();
    let last = code.last_mut().unwrap();
    *last = b'0' + (*last - b'0' + 1) % 10;
    String::from_utf8(code).unwrap()
}

/// Each field comes from the admin's state as the real flows leave it: not required;
/// required with a setup link pending; required by a deadline; enrolled, with its last code,
/// a used recovery code and a wrong code counted; a reset link pending; locked.
async fn pos_1_every_field_from_the_real_flows(b: Backend) {
    let h = b.h().await;
    let viewer = h.seed(1, R::AdministratorWithBilling).await;
    let plain = h.seed(2, R::ReadOnly).await;
    let pending = h.seed(3, R::HelpDesk).await;
    let due = h.seed(4, R::HelpDesk).await;
    let (enrolled, done, secret) = h.enrol_with_codes(5).await;
    let enrolled_at = h.now().as_secs() - 30;
    let (resetting, _, _) = h.enrol_with_codes(6).await;
    let (locked, _, _) = h.enrol_with_codes(7).await;
    h.lock(locked).await;

    let session = h.session(viewer).await;
    let required_at = h.now();
    assert!(h.svc.enable_mfa(&session, pending).await.unwrap().changed);
    let deadline = UnixTime::from_secs(h.now().as_secs() + 5 * DAY);
    assert!(
        h.svc
            .require_mfa_by(&session, &[due], deadline)
            .await
            .unwrap()
            .all_required()
    );

    // A login with a code, a recovery code, then a wrong code.
    h.advance(30);
    let challenge = h.challenge(enrolled).await;
    h.svc.verify(&challenge, &h.code(&secret)).await.unwrap();
    let code_step_start = h.now().as_secs() / 30 * 30;
    h.advance(30);
    let challenge = h.challenge(enrolled).await;
    let codes = done.recovery_codes.as_ref().unwrap();
    let first = codes.formatted().next().unwrap().to_string();
    h.svc
        .verify_recovery_code(&challenge, &first)
        .await
        .unwrap();
    h.advance(30);
    let challenge = h.challenge(enrolled).await;
    let refused = h.svc.verify(&challenge, &wrong_code(&h, &secret)).await;
    assert!(matches!(refused, Err(Error::InvalidCode)), "{refused:?}");
    h.reset_link(resetting).await;
    let reset_expiry = h.get(resetting).await.mfa.link.unwrap().expires_at;
    let setup_expiry = h.get(pending).await.mfa.link.unwrap().expires_at;

    let session = h.session(viewer).await;
    let rows = whole_report(&h.svc, &session, &PostureFilter::all(), 3)
        .await
        .unwrap();
    assert_eq!(rows.len(), 7);
    let mut emails: Vec<_> = rows.iter().map(|r| r.email.as_str().to_owned()).collect();
    let listed = emails.clone();
    emails.sort();
    assert_eq!(listed, emails, "e-mail order");
    let row = rows.iter().find(|r| r.id == pending).unwrap();
    assert_eq!(row.role, role(R::HelpDesk));
    assert_eq!(row.display_name, h.get(pending).await.display_name);

    let p = posture_of(&rows, plain);
    assert!(!p.required && p.required_since.is_none() && p.setup_deadline.is_none());
    assert_eq!(p.factor, FactorStatus::None);
    assert_eq!(
        (p.enrolled_at, p.last_code_at, p.recovery_codes_left),
        (None, None, None)
    );
    assert_eq!((p.failed_codes, p.pending_link), (0, None));

    let p = posture_of(&rows, pending);
    assert!(p.required);
    assert_eq!(p.required_since, Some(required_at));
    assert_eq!(p.factor, FactorStatus::Pending);
    assert_eq!(p.setup_deadline, None);
    let link = p.pending_link.unwrap();
    assert_eq!(
        (link.purpose, link.expires_at),
        (LinkPurpose::Setup, setup_expiry)
    );

    let p = posture_of(&rows, due);
    assert!(p.required);
    assert_eq!(p.setup_deadline, Some(deadline));
    assert_eq!(p.factor, FactorStatus::None);

    let p = posture_of(&rows, enrolled);
    assert!(p.required);
    assert_eq!(p.factor, FactorStatus::Enabled);
    assert_eq!(p.enrolled_at, Some(UnixTime::from_secs(enrolled_at)));
    assert_eq!(p.last_code_at, Some(UnixTime::from_secs(code_step_start)));
    assert_eq!(p.recovery_codes_left, Some(9));
    assert_eq!(p.failed_codes, 1);
    assert_eq!((p.setup_deadline, p.pending_link), (None, None));

    let p = posture_of(&rows, resetting);
    assert_eq!(
        p.factor,
        FactorStatus::Enabled,
        "the old factor works until replaced"
    );
    let link = p.pending_link.unwrap();
    assert_eq!(
        (link.purpose, link.expires_at),
        (LinkPurpose::Reset, reset_expiry)
    );
    assert_eq!(p.recovery_codes_left, Some(10));

    assert_eq!(posture_of(&rows, locked).factor, FactorStatus::Locked);

    // Once expired, a link is no longer pending.
    h.advance(reset_expiry.as_secs().max(setup_expiry.as_secs()) - h.now().as_secs());
    let session = h.session(viewer).await;
    let rows = whole_report(&h.svc, &session, &PostureFilter::all(), 100)
        .await
        .unwrap();
    assert_eq!(posture_of(&rows, resetting).pending_link, None);
    assert_eq!(posture_of(&rows, pending).factor, FactorStatus::None);

    // Nothing secret, not even through `Debug`.
    let debug = format!("{rows:?}");
    assert!(
        !debug.contains("argon2") && !debug.contains(&first),
        "{debug}"
    );
}

/// Each filter at its boundary, "and" between them, and full pages whatever the filter
/// skips.
async fn pos_2_filters_select_at_their_boundaries(b: Backend) {
    let h = b.h().await;
    let viewer = h.seed(1, R::AdministratorWithBilling).await;
    let (used, _, used_secret) = h.enrol_with_codes(2).await;
    let (idle, done, _) = h.enrol_with_codes(3).await;
    let (locked, _, _) = h.enrol_with_codes(4).await;
    h.lock(locked).await;
    let soon = h.seed(5, R::ReadOnly).await;
    let later = h.seed(6, R::ReadOnly).await;
    for n in 7..40 {
        h.seed(n, R::BillingOnly).await;
    }
    let session = h.session(viewer).await;
    let start = h.now().as_secs();
    assert!(
        h.svc
            .require_mfa_by(&session, &[soon], UnixTime::from_secs(start + 2 * DAY))
            .await
            .unwrap()
            .all_required()
    );
    assert!(
        h.svc
            .require_mfa_by(&session, &[later], UnixTime::from_secs(start + 10 * DAY))
            .await
            .unwrap()
            .all_required()
    );
    // `idle` spends two recovery codes at its first login.
    for code in done.recovery_codes.as_ref().unwrap().formatted().take(2) {
        h.advance(30);
        let challenge = h.challenge(idle).await;
        h.svc
            .verify_recovery_code(&challenge, code.as_ref())
            .await
            .unwrap();
    }

    let report = |filter: PostureFilter| {
        let h = &h;
        async move {
            let session = h.session(id_of(h.org, 1)).await;
            let mut got = ids(&whole_report(&h.svc, &session, &filter, 2).await.unwrap());
            got.sort();
            got
        }
    };
    let sorted = |mut v: Vec<AdminId>| {
        v.sort();
        v
    };
    let all = PostureFilter::all;

    // Deadlines: within 1 day none, within 2 days the nearer one (a minute under two days
    // away), within 10 both.
    assert_eq!(
        report(all().deadline_within_days(1)).await,
        Vec::<AdminId>::new()
    );
    assert_eq!(report(all().deadline_within_days(2)).await, vec![soon]);
    assert_eq!(
        report(all().deadline_within_days(10)).await,
        sorted(vec![soon, later])
    );
    // Recovery codes: `idle` has 8 left, the others 10.
    assert_eq!(
        report(all().recovery_codes_at_most(7)).await,
        Vec::<AdminId>::new()
    );
    assert_eq!(report(all().recovery_codes_at_most(8)).await, vec![idle]);
    assert_eq!(
        report(all().recovery_codes_at_most(10)).await,
        sorted(vec![used, idle, locked])
    );
    assert_eq!(report(all().locked()).await, vec![locked]);

    // Thirty days on, `used` signs in with a code: the other two factors are unused for 30
    // days (from their enrolment or last code), not for 31.
    h.advance(30 * DAY);
    h.mfa_session(used, &used_secret).await;
    assert_eq!(
        report(all().factor_unused_for_days(31)).await,
        Vec::<AdminId>::new()
    );
    assert_eq!(
        report(all().factor_unused_for_days(30)).await,
        sorted(vec![idle, locked])
    );
    assert_eq!(
        report(all().factor_unused_for_days(0)).await,
        sorted(vec![used, idle, locked])
    );
    // "And": unused and locked.
    assert_eq!(
        report(all().factor_unused_for_days(30).locked()).await,
        vec![locked]
    );
    // A passed deadline still counts as due.
    assert_eq!(
        report(all().deadline_within_days(0)).await,
        sorted(vec![soon, later])
    );
    // No filter: everyone. A page that ends with the organization's last admin says so,
    // filtered or not, even when it is exactly full.
    assert_eq!(report(all()).await.len(), 39);
    let session = h.session(id_of(h.org, 1)).await;
    let page = h
        .svc
        .mfa_posture(&session, &all(), PageRequest::first(39))
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.next), (39, None));
    let locked_only = all().locked();
    // The one locked admin is not the last in e-mail order: the report cannot know that no
    // later admin matches without reading on, so it offers a next page, which is empty.
    let page = h
        .svc
        .mfa_posture(&session, &locked_only, PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(ids(&page.items), vec![locked]);
    let rest = PageRequest {
        after: page.next,
        limit: 1,
    };
    assert!(rest.after.is_some());
    let rest = h
        .svc
        .mfa_posture(&session, &locked_only, rest)
        .await
        .unwrap();
    assert_eq!((rest.items.len(), rest.next), (0, None));
}

/// `view-mfa-posture` gates the report as the widget is gated; `view-admin-mfa-status`
/// hides single rows' posture, and a hidden posture matches no filter.
async fn pos_3_the_policy_gates_the_report_and_each_row(b: Backend) {
    let h = b.h().await;
    h.seed(1, R::Administrator).await;
    for (r, session) in h.sessions_of(2, &OUTSIDE_ADMIN_PAGE).await {
        let got = h
            .svc
            .mfa_posture(&session, &PostureFilter::all(), PageRequest::first(10))
            .await;
        assert!(matches!(got, Err(Error::NotFound)), "{r:?}: {got:?}");
        let mut export = PostureExport::new(session, PostureFilter::all(), PostureFormat::Csv);
        let chunk = export.next_chunk(&h.svc).await;
        assert!(
            matches!(chunk, Err(Error::NotFound)),
            "{r:?}: no header either"
        );
    }
    for (r, session) in h.sessions_of(5, &READERS_OF_ADMIN_PAGE).await {
        let rows = whole_report(&h.svc, &session, &PostureFilter::all(), 100)
            .await
            .unwrap();
        assert_eq!(rows.len(), 7, "{r:?}: everyone seeded");
        assert!(rows.iter().all(|r| r.posture.is_some()));
    }
    // A session from before a credential change is over.
    let viewer = id_of(h.org, 1);
    let session = h.session(viewer).await;
    h.end_sessions(viewer).await;
    let got = h
        .svc
        .mfa_posture(&session, &PostureFilter::all(), PageRequest::first(10))
        .await;
    assert!(matches!(got, Err(Error::SessionExpired)), "{got:?}");

    // Managers may not see the MFA status of Administrators With Billing here.
    let awb = h.seed(8, R::AdministratorWithBilling).await;
    h.lock(awb).await;
    let svc = h.managers_blind_to_awb_status();
    let session = h.session(id_of(h.org, 7)).await;
    let rows = whole_report(&svc, &session, &PostureFilter::all(), 3)
        .await
        .unwrap();
    assert_eq!(rows.len(), 8);
    assert_eq!(rows.iter().find(|r| r.id == awb).unwrap().posture, None);
    let locked = whole_report(&svc, &session, &PostureFilter::all().locked(), 3)
        .await
        .unwrap();
    assert!(
        locked.is_empty(),
        "a hidden posture matches no filter: {locked:?}"
    );
    // With the default policy the Manager sees it, and the filter finds it.
    let locked = whole_report(&h.svc, &session, &PostureFilter::all().locked(), 3)
        .await
        .unwrap();
    assert_eq!(ids(&locked), vec![awb]);
}

/// Both exports hold every admin once, in order, a chunk per page of at most 1 000 rows,
/// with the columns and values of `mfa_posture`, read back by the `csv` crate and by
/// `serde_json`; awkward names survive, and a formula stays text.
async fn pos_4_exports_stream_every_admin_in_both_formats(b: Backend) {
    let h = b.h().await;
    let viewer = h.seed(1, R::Administrator).await;
    let (enrolled, _, _) = h.enrol_with_codes(2).await;
    let mut change = Change::new();
    for n in 3..=2_100 {
        let mut admin = seed_admin(h.org, n, R::ReadOnly);
        match n {
            3 => admin.display_name = "=HYPERLINK(\"https://evil.example\")".to_owned(),
            4 => admin.display_name = "Smith, \"Al\"".to_owned(),
            5 => admin.display_name = "+1 dial, @me".to_owned(),
            _ => {}
        }
        change = change.insert(admin);
    }
    h.store.commit(change).await.unwrap();
    let session = h.session(viewer).await;
    let expected = whole_report(&h.svc, &session, &PostureFilter::all(), 1_000)
        .await
        .unwrap();
    assert_eq!(expected.len(), 2_100);

    // CSV.
    let mut export = PostureExport::new(session.clone(), PostureFilter::all(), PostureFormat::Csv);
    let mut file = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = export.next_chunk(&h.svc).await.unwrap() {
        chunks += 1;
        let lines = chunk.windows(2).filter(|w| w == b"\r\n").count();
        assert!(lines <= 1_001, "a chunk is one page: {lines} lines");
        file.extend_from_slice(&chunk);
    }
    assert_eq!(chunks, 3);
    assert!(export.next_chunk(&h.svc).await.unwrap().is_none());
    let mut reader = csv::ReaderBuilder::new().from_reader(file.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, POSTURE_COLUMNS);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), expected.len());
    for (record, row) in records.iter().zip(&expected) {
        assert_eq!(&record[0], row.id.to_string());
        assert_eq!(&record[1], row.email.as_str());
        assert_eq!(&record[3], row.role.as_str());
        let p = row.posture.unwrap();
        assert_eq!(&record[4], if p.required { "true" } else { "false" });
        assert_eq!(&record[7], p.factor.as_str());
        let left = p
            .recovery_codes_left
            .map(|n| n.to_string())
            .unwrap_or_default();
        assert_eq!(&record[10], left);
        assert_eq!(&record[11], p.failed_codes.to_string());
        let name = &record[2];
        match row.display_name.chars().next() {
            Some('=' | '+' | '-' | '@') => assert_eq!(name, format!("'{}", row.display_name)),
            _ => assert_eq!(name, row.display_name),
        }
    }
    let by_id: BTreeMap<String, &csv::StringRecord> =
        records.iter().map(|r| (r[0].to_owned(), r)).collect();
    let enrolled_row = by_id[&enrolled.to_string()];
    let enrolled_at = expected
        .iter()
        .find(|r| r.id == enrolled)
        .unwrap()
        .posture
        .unwrap();
    assert_eq!(&enrolled_row[7], "enabled");
    assert_eq!(&enrolled_row[10], "10");
    let at = enrolled_at.enrolled_at.unwrap().as_secs();
    assert!(
        enrolled_row[8].ends_with('Z') && enrolled_row[8].len() == 20,
        "{}",
        &enrolled_row[8]
    );
    assert_eq!(at % 60, enrolled_row[8][17..19].parse::<u64>().unwrap());
    let names: Vec<&str> = records.iter().map(|r| &r[2]).collect();
    assert!(names.contains(&"'=HYPERLINK(\"https://evil.example\")"));
    assert!(names.contains(&"Smith, \"Al\""));
    assert!(names.contains(&"'+1 dial, @me"));

    // JSON Lines, filtered to the enrolled admin: one line.
    let mut export = PostureExport::new(
        session.clone(),
        PostureFilter::all().recovery_codes_at_most(10),
        PostureFormat::JsonLines,
    );
    let mut text = String::new();
    while let Some(chunk) = export.next_chunk(&h.svc).await.unwrap() {
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let value: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let object = value.as_object().unwrap();
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut columns = POSTURE_COLUMNS.to_vec();
    columns.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, columns);
    assert_eq!(object["admin_id"], enrolled.to_string());
    assert_eq!(object["factor"], "enabled");
    assert_eq!(object["recovery_codes_left"], 10);
    assert_eq!(object["mfa_required"], true);
    assert_eq!(object["pending_link"], serde_json::Value::Null);
    assert_eq!(object["enrolled_at"], enrolled_row[8]);

    // Unfiltered JSON Lines: every admin, names intact.
    let mut export = PostureExport::new(session, PostureFilter::all(), PostureFormat::JsonLines);
    let mut names = Vec::new();
    while let Some(chunk) = export.next_chunk(&h.svc).await.unwrap() {
        for line in std::str::from_utf8(&chunk).unwrap().lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            names.push(value["display_name"].as_str().unwrap().to_owned());
        }
    }
    let expected_names: Vec<String> = expected.iter().map(|r| r.display_name.clone()).collect();
    assert_eq!(names, expected_names);
}

/// The posture exports in the audit log, as (actor, target).
async fn exports(h: &H) -> Vec<(Option<AdminId>, AdminId)> {
    let log = h.store.audit_log(h.org, PageRequest::first(1000));
    let log = log.await.unwrap().items;
    log.iter()
        .filter(|e| e.kind == AuditKind::PostureExported)
        .map(|e| (e.actor, e.target))
        .collect()
}

/// POS-5: each export is audited once, with the viewer as actor and target, before its
/// first part is returned, however many parts it has; reading pages is not an export, and
/// a refused viewer's export writes nothing.
async fn pos_5_every_export_is_audited_once(b: Backend) {
    let h = b.h().await;
    let viewer = h.seed(1, R::Administrator).await;
    let mut change = Change::new();
    for n in 2..=1_500 {
        change = change.insert(seed_admin(h.org, n, R::ReadOnly));
    }
    h.store.commit(change).await.unwrap();
    let session = h.session(viewer).await;
    whole_report(&h.svc, &session, &PostureFilter::all(), 1_000)
        .await
        .unwrap();
    assert!(exports(&h).await.is_empty(), "pages alone are no export");

    let format = PostureFormat::JsonLines;
    let mut export = PostureExport::new(session.clone(), PostureFilter::all(), format);
    let first = export.next_chunk(&h.svc).await.unwrap();
    assert!(first.is_some());
    assert_eq!(exports(&h).await, [(Some(viewer), viewer)]);
    assert!(export.next_chunk(&h.svc).await.unwrap().is_some());
    assert!(export.next_chunk(&h.svc).await.unwrap().is_none());
    assert_eq!(exports(&h).await.len(), 1, "one record for a two-part file");

    let mut export = PostureExport::new(session, PostureFilter::all(), PostureFormat::Csv);
    while export.next_chunk(&h.svc).await.unwrap().is_some() {}
    assert_eq!(exports(&h).await.len(), 2);

    for (r, refused) in h.sessions_of(1_600, &OUTSIDE_ADMIN_PAGE).await {
        let mut export = PostureExport::new(refused, PostureFilter::all(), PostureFormat::Csv);
        let chunk = export.next_chunk(&h.svc).await;
        assert!(matches!(chunk, Err(Error::NotFound)), "{r:?}: {chunk:?}");
    }
    assert_eq!(
        exports(&h).await.len(),
        2,
        "refused exports are not recorded"
    );
}

on_every_store!(
    pos_1_every_field_from_the_real_flows,
    pos_2_filters_select_at_their_boundaries,
    pos_3_the_policy_gates_the_report_and_each_row,
    pos_4_exports_stream_every_admin_in_both_formats,
    pos_5_every_export_is_audited_once,
);
