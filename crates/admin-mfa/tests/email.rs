//! Email rendering: golden files (T-NOT-4), content rules (T-NOT-2, T-TOK-8), hostile names
//! (T-NOT-3) and a property test over arbitrary names, emails and issuers (T-FUZ-6).
//!
//! Regenerate the golden files after an intended template change with
//! `ADMIN_MFA_BLESS=1 cargo test -p admin-mfa --test email`, and review the diff.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::PathBuf;

use admin_mfa::{EmailConfig, EmailRenderer, RenderError};
use admin_mfa_lifecycle::{
    AdminId, DedupeKey, Email, KeyId, LinkPurpose, LinkToken, Nonce, Notification,
    NotificationDetail, NotificationKind, OrgId, Sealed, SealingKey, UnixTime,
};
use admin_mfa_ports::EmailMessage;
use proptest::prelude::*;

const BASE: &str = "https://admin.acme.example/mfa/link";
const ALL_KINDS: [NotificationKind; 10] = [
    NotificationKind::SetupInvitation,
    NotificationKind::ResetRequested,
    NotificationKind::SetupCompleted,
    NotificationKind::ResetCompleted,
    NotificationKind::LockedOut,
    NotificationKind::MfaRequired,
    NotificationKind::MfaNotRequired,
    NotificationKind::RecoveryCodeUsed,
    NotificationKind::SetupReminder,
    NotificationKind::RecoveryCodesRegenerated,
];
const CREATED: u64 = 1_700_000_000;

fn renderer() -> EmailRenderer {
    EmailRenderer::new(
        EmailConfig::builder("Acme Admin Portal", BASE)
            .support_contact("security@acme.example")
            .build()
            .unwrap(),
    )
}

fn admin() -> AdminId {
    AdminId::from_bytes([0x11; 16])
}

fn token() -> LinkToken {
    LinkToken::from_bytes(*b"0123456789abcdef0123456789ABCDEF")
}

fn purpose_of(kind: NotificationKind) -> Option<LinkPurpose> {
    match kind {
        NotificationKind::SetupInvitation => Some(LinkPurpose::Setup),
        NotificationKind::ResetRequested => Some(LinkPurpose::Reset),
        _ => None,
    }
}

fn notification(kind: NotificationKind, display_name: &str, to: &str) -> Notification {
    let purpose = purpose_of(kind);
    let key = SealingKey::new(KeyId::new(1), [9; 32]);
    let link = purpose.map(|p| {
        Sealed::seal_link_token(&key, Nonce::from_bytes([4; 12]), admin(), p, &token()).unwrap()
    });
    let ttl = match purpose {
        Some(LinkPurpose::Setup) => 86_400,
        _ => 3_600,
    };
    Notification {
        kind,
        org: OrgId::from_bytes([0x22; 16]),
        admin: admin(),
        to: Email::parse(to).unwrap(),
        display_name: display_name.to_owned(),
        link,
        link_purpose: purpose,
        link_expires_at: purpose.map(|_| UnixTime::from_secs(CREATED + ttl)),
        created_at: UnixTime::from_secs(CREATED),
        dedupe_key: DedupeKey::new(admin(), kind, "golden"),
        detail: match kind {
            NotificationKind::RecoveryCodeUsed => {
                Some(NotificationDetail::RecoveryCodesLeft { left: 2 })
            }
            NotificationKind::SetupReminder => Some(NotificationDetail::SetupDue {
                by: UnixTime::from_secs(CREATED + 86_400),
            }),
            _ => None,
        },
    }
}

fn render(r: &EmailRenderer, n: &Notification) -> EmailMessage {
    let t = token();
    let link = purpose_of(n.kind).map(|_| &t);
    r.render(n, link).unwrap()
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
        .join(name)
}

fn check_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("ADMIN_MFA_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "missing golden file {}: {e}; run with ADMIN_MFA_BLESS=1",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "{} differs from the rendering; if intended, rerun with ADMIN_MFA_BLESS=1",
        path.display()
    );
}

/// T-NOT-4: every template, text and HTML.
#[test]
fn t_not_4_golden_files() {
    let r = renderer();
    for kind in ALL_KINDS {
        let n = notification(kind, "Ada Lovelace", "ada@acme.example");
        let m = render(&r, &n);
        let text = format!(
            "To: {}\nSubject: {}\nIdempotency-Key: {}\n\n{}",
            m.to, m.subject, m.idempotency_key, m.text
        );
        check_golden(&format!("{}.txt", kind.as_str()), &text);
        check_golden(&format!("{}.html", kind.as_str()), &m.html);
    }
}

/// T-NOT-2 and T-TOK-8: repudiation guidance everywhere, no secret material, links only in
/// link emails and only on the configured base URL.
#[test]
fn every_message_has_guidance_and_no_secret() {
    let r = renderer();
    let raw = token().encode().to_string();
    let token_hash = token().hash().to_hex();
    for kind in ALL_KINDS {
        let n = notification(kind, "Ada Lovelace", "ada@acme.example");
        let m = render(&r, &n);
        assert_eq!(m.to.as_str(), "ada@acme.example");
        assert_eq!(m.idempotency_key, n.dedupe_key);
        for body in [&m.text, &m.html] {
            // A change another admin made (NOT-2) is disowned as unexpected, not as "not me".
            assert!(
                body.contains("If this wasn") || body.contains("If you did not expect this"),
                "{kind}: no repudiation guidance"
            );
            assert!(body.contains("security@acme.example"), "{kind}");
            let lower = body.to_lowercase();
            for banned in [
                "otpauth",
                "secret=",
                "qr code:",
                "data:image",
                "<img",
                "<script",
            ] {
                assert!(!lower.contains(banned), "{kind}: contains {banned}");
            }
            assert!(!body.contains(&token_hash), "{kind}: token hash in body");
            // No 6-8 digit run (a code) anywhere.
            let mut run = 0;
            for c in body.chars() {
                run = if c.is_ascii_digit() { run + 1 } else { 0 };
                assert!(run < 6, "{kind}: digit run in body");
            }
        }
        match purpose_of(kind) {
            Some(purpose) => {
                let link = format!("{BASE}?purpose={}&token={raw}", purpose.as_str());
                assert!(m.text.contains(&link), "{kind}: {}", m.text);
                assert!(
                    m.html
                        .contains(&format!("href=\"{}\"", link.replace('&', "&amp;"))),
                    "{kind}"
                );
                // The only links point at the configured base.
                for body in [&m.text, &m.html] {
                    for (i, _) in body.match_indices("http") {
                        assert!(body[i..].starts_with(BASE), "{kind}: foreign link");
                    }
                }
            }
            None => {
                for body in [&m.text, &m.html] {
                    assert!(!body.contains(&raw), "{kind}: token in a non-link email");
                    assert!(!body.contains("http"), "{kind}: link in a non-link email");
                }
            }
        }
        assert!(!m.subject.contains(['\r', '\n']));
        assert!(m.subject.contains("Acme Admin Portal"));
    }
}

#[test]
fn without_support_contact_the_admins_are_named() {
    let r = EmailRenderer::new(EmailConfig::builder("Acme", BASE).build().unwrap());
    let m = render(
        &r,
        &notification(NotificationKind::LockedOut, "A", "a@b.example"),
    );
    assert!(m.text.contains("your organization's administrators"));
    assert!(m.html.contains("your organization&#39;s administrators"));
}

#[test]
fn links_keep_the_base_path_and_loopback_http_works() {
    let r = EmailRenderer::new(
        EmailConfig::builder("Dev", "http://127.0.0.1:8080/admin/mfa/")
            .build()
            .unwrap(),
    );
    let link = r.link(LinkPurpose::Reset, &token());
    assert_eq!(
        link,
        format!(
            "http://127.0.0.1:8080/admin/mfa/?purpose=reset&token={}",
            token().encode().as_str()
        )
    );
    // The token in the link parses back to the same token.
    let t = link.rsplit("token=").next().unwrap();
    assert_eq!(LinkToken::parse(t).unwrap(), token());
}

#[test]
fn render_errors() {
    let r = renderer();
    let setup = notification(NotificationKind::SetupInvitation, "A", "a@b.example");
    assert_eq!(
        r.render(&setup, None).unwrap_err(),
        RenderError::MissingLink(NotificationKind::SetupInvitation)
    );
    let done = notification(NotificationKind::SetupCompleted, "A", "a@b.example");
    assert_eq!(
        r.render(&done, Some(&token())).unwrap_err(),
        RenderError::UnexpectedLink(NotificationKind::SetupCompleted)
    );
    let mut mismatched = setup.clone();
    mismatched.link_purpose = Some(LinkPurpose::Reset);
    assert_eq!(
        r.render(&mismatched, Some(&token())).unwrap_err(),
        RenderError::PurposeMismatch(NotificationKind::SetupInvitation)
    );
    // Errors never show the token.
    let raw = token().encode().to_string();
    assert!(!format!("{:?}", r.render(&setup, None)).contains(&raw));
}

/// The tags of an HTML document, in order (everything between `<` and `>`).
fn tags(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let after = &rest[start..];
        let end = after.find('>').map_or(after.len(), |e| e + 1);
        let tag = &after[..end];
        // Attribute values differ only by the link, which is not input.
        out.push(tag.split_whitespace().next().unwrap_or("").to_owned());
        rest = &after[end..];
    }
    out
}

/// T-NOT-3: hostile display names.
#[test]
fn t_not_3_hostile_display_names() {
    let r = renderer();
    let cases = [
        "<script>alert(1)</script>",
        "\"\r\nBcc: x@y",
        "Ada\u{202E}ecilA",
        "Ada 🦀🔐 Lovelace",
        "a' onmouseover='x",
        "&lt;already&gt;",
        "\u{0}\u{7}\u{1b}[31mred",
    ];
    for name in cases {
        for kind in ALL_KINDS {
            let m = render(&r, &notification(kind, name, "a@b.example"));
            assert!(!m.html.contains("<script"), "{name:?}");
            assert!(!m.html.contains("onmouseover='"), "{name:?}");
            assert_eq!(
                tags(&m.html),
                tags(&render(&r, &notification(kind, "X", "a@b.example")).html)
            );
            for part in [&m.subject, &m.text, &m.html] {
                assert!(!part.contains('\r'), "{name:?}: CR");
                assert!(!part.contains('\u{202E}'), "{name:?}: RTL override");
                assert!(!part.contains('\u{1b}'), "{name:?}: escape");
                assert!(!part.contains('\u{0}'), "{name:?}: NUL");
            }
            assert!(!m.subject.contains('\n'));
            // The name stays on its greeting line: no line of the body starts with a header.
            assert!(!m.text.lines().any(|l| l.starts_with("Bcc:")), "{name:?}");
        }
    }
    let m = render(
        &r,
        &notification(
            NotificationKind::SetupCompleted,
            "<script>alert(1)</script>",
            "a@b.example",
        ),
    );
    assert!(
        m.html
            .contains("Hello &lt;script&gt;alert(1)&lt;/script&gt;,")
    );
    assert!(m.text.contains("Hello <script>alert(1)</script>,"));
    let m = render(
        &r,
        &notification(
            NotificationKind::SetupCompleted,
            "\"\r\nBcc: x@y",
            "a@b.example",
        ),
    );
    assert!(m.text.contains("Hello \" Bcc: x@y,"), "{}", m.text);
    let m = render(
        &r,
        &notification(
            NotificationKind::SetupCompleted,
            "Ada 🦀🔐 Lovelace",
            "a@b.example",
        ),
    );
    assert!(m.text.contains("Hello Ada 🦀🔐 Lovelace,"));
    assert!(m.html.contains("Hello Ada 🦀🔐 Lovelace,"));
    let m = render(
        &r,
        &notification(
            NotificationKind::SetupCompleted,
            "Ada\u{202E}ecilA",
            "a@b.example",
        ),
    );
    assert!(m.text.contains("Hello AdaecilA,"));
    // Very long names are cut.
    let m = render(
        &r,
        &notification(
            NotificationKind::SetupCompleted,
            &"n".repeat(10_000),
            "a@b.example",
        ),
    );
    assert!(m.text.len() < 2_000);
}

#[test]
fn email_addresses_are_escaped_too() {
    let r = renderer();
    let m = render(
        &r,
        &notification(NotificationKind::MfaRequired, "A", "o'brien&co@b.example"),
    );
    assert!(m.html.contains("o&#39;brien&amp;co@b.example"));
    assert!(m.text.contains("o'brien&co@b.example"));
}

#[test]
fn product_names_are_escaped_in_html() {
    let r = EmailRenderer::new(
        EmailConfig::builder("<b>Acme</b> & Co", BASE)
            .build()
            .unwrap(),
    );
    let m = render(
        &r,
        &notification(NotificationKind::LockedOut, "A", "a@b.example"),
    );
    assert!(m.html.contains("&lt;b&gt;Acme&lt;/b&gt; &amp; Co"));
    assert!(!m.html.contains("<b>"));
    assert!(m.subject.contains("<b>Acme</b> & Co"));
}

fn arb_kind() -> impl Strategy<Value = NotificationKind> {
    proptest::sample::select(ALL_KINDS.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// T-FUZ-6: arbitrary names, emails and issuers give HTML whose tags are exactly the
    /// template's (no `<` from the input survives unescaped), subjects with no control
    /// character, and text bodies with no control character but the template's newlines.
    #[test]
    fn t_fuz_6_arbitrary_input_renders_safely(
        kind in arb_kind(),
        name in "(\\PC|[\\x00-\\x1f\\x7f\u{202a}-\u{202e}\u{2066}-\u{2069}<>&\"'])*",
        local in "[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]{1,30}",
        issuer in "(\\PC|[<>&\"'\\r\\n]){1,40}",
    ) {
        let to = Email::parse(&format!("{local}@example.org"));
        prop_assume!(to.is_ok());
        let to = to.unwrap();
        let config = EmailConfig::builder(issuer.clone(), BASE).build();
        prop_assume!(config.is_ok());
        let r = EmailRenderer::new(config.unwrap());
        let mut n = notification(kind, &name, "placeholder@example.org");
        n.to = to.clone();
        let m = render(&r, &n);
        let mut plain = n.clone();
        plain.display_name = "X".to_owned();
        plain.to = Email::parse("x@example.org").unwrap();
        let plain = render(&EmailRenderer::new(EmailConfig::builder("P", BASE).build().unwrap()), &plain);
        prop_assert_eq!(tags(&m.html), tags(&plain.html));
        prop_assert!(!m.subject.chars().any(char::is_control));
        prop_assert!(!m.text.chars().any(|c| c.is_control() && c != '\n'));
        prop_assert!(!m.html.chars().any(|c| c.is_control() && c != '\n'));
        for bidi in ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2069}'] {
            prop_assert!(!m.text.contains(bidi) && !m.html.contains(bidi) && !m.subject.contains(bidi));
        }
        prop_assert_eq!(m.to, to);
    }
}
