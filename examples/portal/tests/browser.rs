//! The portal in a real headless Chromium, clicked and typed as a person would.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    unreachable_pub,
    reason = "tests"
)]

mod support;

use admin_mfa::BuiltinRole;
use support::webdriver::{ENTER, TAB};
use support::*;

/// Scenario 1: first start → bootstrap link → sign in → the setup e-mail → e-mail and
/// password → QR code → code → done → sign in with MFA → sign out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_to_mfa_sign_in() {
    if !browser_available("first_start_to_mfa_sign_in") {
        return;
    }
    let running = Running::sqlite().await;
    let link = running.portal.bootstrap_link().await.unwrap().unwrap();
    let browser = Browser::start("1-first-start").await;

    browser.goto(&link).await;
    browser.on_page("Create your organization").await;
    browser.shot("bootstrap").await;
    browser.fill("#name", "Ada Lovelace").await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.fill("#password2", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.on_page("Sign in").await;
    assert!(browser.url().await.ends_with("/signin?created=1"));
    browser.shot("signin-created").await;
    // The link works once.
    assert!(running.portal.bootstrap_link().await.unwrap().is_none());
    browser.goto(&link).await;
    browser.on_page("This link has been used").await;

    sign_in(&browser, &running, "ada@example.com").await;
    browser.on_page("Set up MFA to continue").await;
    browser.shot("setup-required").await;

    let mail = follow_mail(&browser, &running, "ada@example.com", "").await;
    assert!(mail.contains("/mfa/link?"));
    browser.on_page("Set Up MFA").await;
    let app = scan_qr(&browser, "ada@example.com").await;
    submit_setup_code(&browser, &running.code(&app)).await;
    browser.on_page("MFA is set up").await;
    assert_eq!(
        browser.text("#recovery-heading").await,
        "Your recovery codes"
    );
    browser.shot("setup-done").await;
    // Ten recovery codes, shown once, in groups of four.
    let codes: Vec<String> = serde_json::from_value(
        browser
            .script("return Array.from(document.querySelectorAll('#recovery-codes code')).map(e => e.textContent)")
            .await,
    )
    .unwrap();
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 19 && c.split('-').all(|g| g.len() == 4)),
        "{codes:?}"
    );

    running.next_step();
    browser.click("main a[href='/signin']").await;
    browser.on_page("Sign in").await;
    sign_in(&browser, &running, "ada@example.com").await;
    browser.on_page("Multi-factor authentication").await;
    let code = browser.find("#code").await;
    assert_eq!(code.attr("inputmode").await.as_deref(), Some("numeric"));
    assert_eq!(
        code.attr("autocomplete").await.as_deref(),
        Some("one-time-code")
    );
    browser.shot("mfa-prompt").await;
    enter_code(&browser, &running.code(&app)).await;
    browser.on_page("Home").await;
    assert!(browser.url().await.ends_with("/home"));
    // Ada is the only admin, and MFA is required for her.
    assert_eq!(browser.text("#widget-count").await, "0");
    browser.shot("home").await;

    browser.click("form[action='/signout'] button").await;
    browser.on_page("Sign in").await;
    let url = browser.url().await;
    assert!(url.ends_with("/signin?out=1"), "{url}");
    browser.goto(&running.url("/home")).await;
    browser.on_page("Sign in").await;
    let url = browser.url().await;
    assert!(
        url.ends_with("/signin"),
        "signed out, Home sends to Sign in: {url}"
    );

    // A recovery code stands in for the app's code, typed loosely, and works once.
    let typed = codes[3].to_lowercase().replace('-', " ");
    for attempt in ["first", "again"] {
        sign_in(&browser, &running, "ada@example.com").await;
        browser.on_page("Multi-factor authentication").await;
        browser.click("summary").await;
        browser.fill("#recovery_code", &typed).await;
        browser.shot(&format!("recovery-code-{attempt}")).await;
        browser
            .click("form[action='/signin/recovery'] button")
            .await;
        if attempt == "first" {
            browser.on_page("Home").await;
            browser.click("form[action='/signout'] button").await;
            browser.on_page("Sign in").await;
        } else {
            browser.on_page("Multi-factor authentication").await;
            assert!(
                browser
                    .text("[role=alert]")
                    .await
                    .contains("That recovery code was not accepted"),
                "a used code is refused"
            );
            browser.shot("recovery-code-used").await;
        }
    }
    browser.close().await;
}

/// The widget's Home view for `email`, signed in with the password alone (MFA not required).
async fn home_of(browser: &Browser, running: &Running, email: &str) {
    sign_in(browser, running, email).await;
}

/// Scenario 2: the "Admins Without MFA Required" widget as each role may see it, matching
/// the built-in policy: count, list and action for an Administrator With Billing; count and
/// list only for an Administrator and a Read Only admin; no widget for a Command Runner; no
/// Home at all for Billing Only. And the setting that turns it off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_as_each_role_sees_it() {
    if !browser_available("the_widget_as_each_role_sees_it") {
        return;
    }
    let running = Running::sqlite().await;
    let (ada_app, _) = running
        .seed(&[
            (
                "Alan Turing",
                "alan@example.com",
                BuiltinRole::Administrator,
                false,
            ),
            (
                "Rita Levi",
                "rita@example.com",
                BuiltinRole::ReadOnly,
                false,
            ),
            (
                "Bill Gates",
                "bill@example.com",
                BuiltinRole::BillingOnly,
                false,
            ),
            (
                "Carl Sagan",
                "carl@example.com",
                BuiltinRole::CommandRunner,
                false,
            ),
        ])
        .await;
    let browser = Browser::start("2-widget").await;

    // Administrator With Billing: count, list, and the action.
    sign_in_with_mfa(&browser, &running, ADA, &ada_app).await;
    assert_eq!(browser.text("#widget-count").await, "4");
    browser.shot("awb-home").await;
    browser.click("#widget-admins-without-mfa").await;
    browser.on_page("Admins Without MFA Required").await;
    assert_eq!(browser.count("input[name=admin]").await, 4);
    assert_eq!(browser.count("details.actions").await, 1);
    browser.shot("awb-list").await;
    sign_out(&browser).await;

    // Administrator and Read Only: count and list, no action.
    for (email, shot) in [
        ("alan@example.com", "administrator"),
        ("rita@example.com", "read-only"),
    ] {
        home_of(&browser, &running, email).await;
        browser.on_page("Home").await;
        assert_eq!(browser.text("#widget-count").await, "4", "{email}");
        browser.shot(&format!("{shot}-home")).await;
        browser.click("#widget-admins-without-mfa").await;
        browser.on_page("Admins Without MFA Required").await;
        assert!(browser.text("#list-count").await.starts_with("4 admins"));
        assert_eq!(browser.count("input[name=admin]").await, 0, "{email}");
        assert_eq!(browser.count("details.actions").await, 0, "{email}");
        browser.shot(&format!("{shot}-list")).await;
        sign_out(&browser).await;
    }

    // Command Runner: Home without the widget.
    home_of(&browser, &running, "carl@example.com").await;
    browser.on_page("Home").await;
    browser.find("#no-widgets").await;
    assert_eq!(browser.count("#widget-admins-without-mfa").await, 0);
    browser.shot("command-runner-home").await;
    sign_out(&browser).await;

    // Billing Only: no Home page.
    home_of(&browser, &running, "bill@example.com").await;
    browser.on_page("No Home page").await;
    assert_eq!(browser.count("#widget-admins-without-mfa").await, 0);
    assert_eq!(browser.count("nav a[href='/home']").await, 0);
    browser.shot("billing-only").await;
    sign_out(&browser).await;

    // Home → Settings → Admins Without MFA Required off, for the Administrator only.
    home_of(&browser, &running, "alan@example.com").await;
    browser.on_page("Home").await;
    browser.click("a[href='/home/settings']").await;
    browser.on_page("Home settings").await;
    browser.click("#widget").await;
    browser.shot("settings-off").await;
    browser.click("form[action='/home/settings'] button").await;
    browser.on_page("Home").await;
    browser.find("#widget-off").await;
    assert_eq!(browser.count("#widget-admins-without-mfa").await, 0);
    browser.shot("administrator-widget-off").await;
    sign_out(&browser).await;
    home_of(&browser, &running, "rita@example.com").await;
    browser.on_page("Home").await;
    assert_eq!(
        browser.text("#widget-count").await,
        "4",
        "others keep their widget"
    );
    browser.close().await;
}

/// Scenario 3: Details → "Enable MultiFactor Authentication for Admin Login" → Save, as an
/// Administrator: allowed for a Help Desk admin, refused with the policy's reason for an
/// Administrator With Billing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_mfa_from_details() {
    if !browser_available("enable_mfa_from_details") {
        return;
    }
    let running = Running::sqlite().await;
    let (_, ids) = running
        .seed(&[
            (
                "Alan Turing",
                "alan@example.com",
                BuiltinRole::Administrator,
                false,
            ),
            (
                "Hana Help",
                "hana@example.com",
                BuiltinRole::HelpDesk,
                false,
            ),
            (
                "Bea Billing",
                "bea@example.com",
                BuiltinRole::AdministratorWithBilling,
                false,
            ),
        ])
        .await;
    let (hana, bea) = (ids[1], ids[2]);
    let browser = Browser::start("3-enable-mfa").await;
    home_of(&browser, &running, "alan@example.com").await;
    browser.on_page("Home").await;

    browser.click("a.initials").await;
    browser.on_page("Administrators").await;
    let row = browser.text("tr[data-email='hana@example.com']").await;
    assert!(
        row.contains("Help Desk") && row.contains("not required"),
        "{row}"
    );
    browser.shot("administrators").await;

    open_details(&browser, &running, "hana@example.com").await;
    browser.shot("details-help-desk").await;
    browser.click("#enable-mfa").await;
    browser.click("#save").await;
    browser.find("#notice").await;
    assert!(
        browser
            .text("#notice")
            .await
            .starts_with("Saved. MFA is now required")
    );
    assert_eq!(browser.text("#mfa-status").await, "required, not set up");
    browser.shot("details-help-desk-saved").await;
    assert!(running.required(hana).await);
    browser.goto(&running.url("/dev/mailbox")).await;
    browser.on_page("Mailbox").await;
    // The newest e-mail tells Hana (her setup link from her creation still works, so no
    // second one is sent, LNK-1).
    assert!(
        browser
            .text("article .to")
            .await
            .contains("hana@example.com")
    );

    open_details(&browser, &running, "bea@example.com").await;
    browser.click("#enable-mfa").await;
    browser.click("#save").await;
    let refusal = browser.text("p.error").await;
    assert!(
        refusal.contains(
            "only an Administrator With Billing may change an Administrator With Billing"
        ),
        "{refusal}"
    );
    assert_eq!(browser.text("#mfa-status").await, "not required");
    browser.shot("details-awb-refused").await;
    assert!(!running.required(bea).await);
    browser.close().await;
}

/// Scenario 4: Actions → Require MFA on a selection of five; the widget's count drops to
/// zero; the same action again changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_require_mfa() {
    if !browser_available("bulk_require_mfa") {
        return;
    }
    let running = Running::sqlite().await;
    let five = [
        ("Ann One", "ann@example.com", BuiltinRole::Administrator),
        ("Ben Two", "ben@example.com", BuiltinRole::Manager),
        ("Cat Three", "cat@example.com", BuiltinRole::HelpDesk),
        ("Dan Four", "dan@example.com", BuiltinRole::ReadOnly),
        ("Eve Five", "eve@example.com", BuiltinRole::CommandRunner),
    ];
    let seeds: Vec<_> = five.iter().map(|(n, e, r)| (*n, *e, *r, false)).collect();
    let (ada_app, ids) = running.seed(&seeds).await;
    let browser = Browser::start("4-bulk").await;
    sign_in_with_mfa(&browser, &running, ADA, &ada_app).await;
    assert_eq!(browser.text("#widget-count").await, "5");

    // A new administrator has MFA required from the start: the count stays at five.
    browser.goto(&running.url("/admins")).await;
    browser.on_page("Administrators").await;
    browser.click("a[href='/admins/new']").await;
    browser.on_page("New administrator").await;
    browser.fill("#name", "Fay Six").await;
    browser.fill("#email", "fay@example.com").await;
    browser.click("#role option[value='manager']").await;
    browser.fill("#password", PASSWORD).await;
    browser.shot("new-admin").await;
    browser.click("form[action='/admins/new'] button").await;
    browser.find("#notice").await;
    assert!(
        browser
            .text("#notice")
            .await
            .starts_with("Administrator created")
    );
    assert_eq!(browser.text("#role").await, "Manager");
    assert_eq!(browser.text("#mfa-status").await, "required, not set up");
    browser.shot("new-admin-details").await;
    browser.goto(&running.url("/home")).await;
    browser.on_page("Home").await;
    assert_eq!(browser.text("#widget-count").await, "5");

    browser.click("#widget-admins-without-mfa").await;
    browser.on_page("Admins Without MFA Required").await;
    for id in &ids {
        browser.click(&format!("#select-{id}")).await;
    }
    browser.click("details.actions summary").await;
    browser.shot("actions").await;
    browser.click("details.actions button").await;
    browser.on_page("Require MFA").await;
    assert!(browser.text("#confirm-title").await.contains("5 admins"));
    browser.shot("confirm").await;
    browser.click("#confirm-require").await;
    browser.on_page("Require MFA: results").await;
    assert_eq!(
        browser.text("#bulk-summary").await,
        "MFA newly required for 5 of 5 admins."
    );
    assert_eq!(browser.count("#bulk-results td.result-required").await, 5);
    browser.shot("results").await;
    for id in &ids {
        assert!(running.required(*id).await);
    }
    browser.click("main a[href='/home']").await;
    browser.on_page("Home").await;
    assert_eq!(browser.text("#widget-count").await, "0");
    browser.shot("home-zero").await;

    // Again, from the Administrators list: nothing changes.
    running.portal.service().dispatch_emails().await.unwrap();
    let mails = running.mailbox.sent().len();
    browser.goto(&running.url("/admins")).await;
    browser.on_page("Administrators").await;
    for (_, email, _) in five {
        browser
            .click(&format!("tr[data-email='{email}'] input[name=admin]"))
            .await;
    }
    browser.click("details.actions summary").await;
    browser.click("details.actions button").await;
    browser.on_page("Require MFA").await;
    browser.click("#confirm-require").await;
    browser.on_page("Require MFA: results").await;
    assert_eq!(
        browser.text("#bulk-summary").await,
        "MFA newly required for 0 of 5 admins."
    );
    assert_eq!(browser.count("#bulk-results td.result-already").await, 5);
    browser.shot("results-again").await;
    running.portal.service().dispatch_emails().await.unwrap();
    assert_eq!(running.mailbox.sent().len(), mails, "no new e-mail");

    // The audit log names who required MFA for whom.
    browser.goto(&running.url("/audit")).await;
    browser.on_page("Audit log").await;
    let log = browser.text("#audit").await;
    assert!(
        log.contains("Ann One <ann@example.com>") && log.contains("MFA required"),
        "{log}"
    );
    browser.shot("audit-log").await;
    browser.close().await;
}

/// The current code of `app` made wrong (one digit changed).
fn wrong(code: &str) -> String {
    let mut digits: Vec<u8> = code.bytes().collect();
    digits[0] = if digits[0] == b'9' {
        b'0'
    } else {
        digits[0] + 1
    };
    String::from_utf8(digits).unwrap()
}

/// Scenario 5: ten wrong codes lock the factor; the lock e-mail arrives; an Administrator
/// With Billing unlocks on Details; the right code works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_and_unlock() {
    if !browser_available("lockout_and_unlock") {
        return;
    }
    let running = Running::sqlite().await;
    let (ada_app, ids) = running
        .seed(&[("Vic Vega", "vic@example.com", BuiltinRole::Manager, true)])
        .await;
    let vic_app = running.enrol("vic@example.com").await;
    let browser = Browser::start("5-lockout").await;

    for attempt in 1..=10 {
        sign_in(&browser, &running, "vic@example.com").await;
        browser.on_page("Multi-factor authentication").await;
        enter_code(&browser, &wrong(&running.code(&vic_app))).await;
        let error = browser.text("p.error").await;
        assert!(error.contains("not accepted"), "attempt {attempt}: {error}");
        if attempt == 1 || attempt == 10 {
            browser.shot(&format!("wrong-code-{attempt}")).await;
        }
        // Past any delay the failures impose (the portal's clock; nobody waits).
        running.clock.advance(3600);
    }
    let vic = running
        .portal
        .service()
        .store()
        .admin(admin_mfa_portal::ORG, ids[0])
        .await;
    assert!(vic.unwrap().unwrap().value.mfa.is_locked());

    // The right code is refused while locked.
    sign_in(&browser, &running, "vic@example.com").await;
    browser.on_page("Multi-factor authentication").await;
    enter_code(&browser, &running.code(&vic_app)).await;
    assert!(browser.text("p.error").await.contains("not accepted"));
    running.next_step();

    browser.goto(&running.url("/dev/mailbox")).await;
    browser.on_page("Mailbox").await;
    let newest = browser.text("article").await;
    assert!(
        newest.contains("Multi-factor authentication is locked"),
        "{newest}"
    );
    assert!(
        browser
            .text("article .to")
            .await
            .contains("vic@example.com")
    );
    browser.shot("lock-mail").await;

    sign_in_with_mfa(&browser, &running, ADA, &ada_app).await;
    open_details(&browser, &running, "vic@example.com").await;
    assert_eq!(browser.text("#mfa-status").await, "locked");
    browser.shot("details-locked").await;
    browser.click("#unlock").await;
    browser.find("#notice").await;
    assert!(browser.text("#notice").await.starts_with("Unlocked"));
    assert_eq!(browser.text("#mfa-status").await, "required, enabled");
    browser.shot("details-unlocked").await;
    sign_out(&browser).await;

    sign_in_with_mfa(&browser, &running, "vic@example.com", &vic_app).await;
    sign_out(&browser).await;

    // Reset MFA on Details: Vic's app is removed; he sets up a new one from the e-mail.
    sign_in_with_mfa(&browser, &running, ADA, &ada_app).await;
    open_details(&browser, &running, "vic@example.com").await;
    browser.click("#reset-mfa").await;
    browser.find("#notice").await;
    assert!(browser.text("#notice").await.starts_with("MFA reset"));
    assert_eq!(browser.text("#mfa-status").await, "required, not set up");
    browser.shot("details-reset").await;
    sign_out(&browser).await;
    sign_in(&browser, &running, "vic@example.com").await;
    browser.on_page("Set up MFA to continue").await;
    browser.close().await;
}

/// Scenario 6: "Reset TOTP MFA" at the prompt → e-mail → new QR code; the old app's code is
/// refused and the new one accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_totp_at_the_prompt() {
    if !browser_available("reset_totp_at_the_prompt") {
        return;
    }
    let running = Running::sqlite().await;
    running
        .seed(&[("Vic Vega", "vic@example.com", BuiltinRole::Manager, true)])
        .await;
    let old_app = running.enrol("vic@example.com").await;
    let browser = Browser::start("6-reset").await;

    sign_in(&browser, &running, "vic@example.com").await;
    browser.on_page("Multi-factor authentication").await;
    browser.click("form[action='/signin/reset'] button").await;
    browser.find("p.notice").await;
    assert!(
        browser
            .text("p.notice")
            .await
            .contains("We sent you an e-mail")
    );
    browser.shot("reset-requested").await;

    follow_mail(&browser, &running, "vic@example.com", "Reset multi-factor").await;
    browser.on_page("Reset TOTP MFA").await;
    let new_app = scan_qr(&browser, "vic@example.com").await;
    assert_ne!(
        new_app.secret().to_base32().as_str(),
        old_app.secret().to_base32().as_str()
    );
    submit_setup_code(&browser, &running.code(&new_app)).await;
    browser.on_page("Your TOTP MFA reset was successful").await;
    browser.shot("reset-done").await;
    running.next_step();

    sign_in(&browser, &running, "vic@example.com").await;
    browser.on_page("Multi-factor authentication").await;
    enter_code(&browser, &running.code(&old_app)).await;
    assert!(browser.text("p.error").await.contains("not accepted"));
    browser.shot("old-app-refused").await;
    enter_code(&browser, &running.code(&new_app)).await;
    browser.on_page("Home").await;
    browser.close().await;
}

/// Scenario 8: hostile requests. A form posted from another origin is refused and changes
/// nothing; the page carrying a link token sends no referrer; the QR page is not cacheable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests() {
    if !browser_available("hostile_requests") {
        return;
    }
    let running = Running::sqlite().await;
    let (ada_app, ids) = running
        .seed(&[
            (
                "Alan Turing",
                "alan@example.com",
                BuiltinRole::Administrator,
                false,
            ),
            ("Nia New", "nia@example.com", BuiltinRole::Manager, true),
        ])
        .await;
    let alan = ids[0];

    // Another origin's page with a form aimed at the portal's bulk action.
    let evil = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let evil_origin = format!("http://localhost:{}", evil.local_addr().unwrap().port());
    let form = format!(
        "<!doctype html><title>Win a prize</title><h1>Win a prize</h1>\
         <form method=post action=\"{}/home/require/confirm\">\
         <input type=hidden name=admin value=\"{alan}\"><button id=prize>Claim</button></form>",
        running.origin
    );
    let page = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(form) }),
    );
    tokio::spawn(async move { axum::serve(evil, page).await });

    let browser = Browser::start("8-hostile").await;
    sign_in_with_mfa(&browser, &running, ADA, &ada_app).await;
    browser.goto(&format!("{evil_origin}/")).await;
    browser.on_page("Win a prize").await;
    browser.click("#prize").await;
    browser.on_page("Request refused").await;
    assert!(browser.page_text().await.contains("cross_origin_request"));
    browser.shot("cross-origin-refused").await;
    assert!(
        !running.required(alan).await,
        "the forged form changed nothing"
    );
    // The same action from the portal's own page works (the session is fine).
    browser.goto(&running.url("/home/admins-without-mfa")).await;
    browser.on_page("Admins Without MFA Required").await;
    sign_out(&browser).await;

    // The link page's URL holds the token; following its link sends no referrer.
    running.portal.service().dispatch_emails().await.unwrap();
    let token = running.mailbox.last_link_token("nia@example.com").unwrap();
    let link = running.url(&format!("/mfa/link?purpose=setup&token={token}"));
    browser.goto(&link).await;
    browser.on_page("Set Up MFA").await;
    browser.click("a[href='/help/authenticator']").await;
    browser.on_page("Authenticator apps").await;
    let referrer = browser.script("return document.referrer").await;
    assert_eq!(
        referrer.as_str(),
        Some(""),
        "no referrer after the link page"
    );
    browser.shot("no-referrer").await;
    browser.close().await;

    // The QR page and the link page, as HTTP: not cacheable, no referrer, no script.
    use tower::ServiceExt;
    let get = axum::http::Request::get(format!("/mfa/link?purpose=setup&token={token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let body = format!(
        "token={token}&email=nia%40example.com&password={}",
        url_encode(PASSWORD)
    );
    let post = axum::http::Request::post("/mfa/link")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &running.origin)
        .header("sec-fetch-site", "same-origin")
        .body(axum::body::Body::from(body))
        .unwrap();
    for (what, request) in [("link page", get), ("QR page", post)] {
        let response = running.portal.router().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200, "{what}");
        let headers = response.headers();
        assert_eq!(headers["cache-control"], "no-store", "{what}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{what}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            !csp.contains("script-src") && csp.contains("default-src 'none'"),
            "{what}"
        );
        let html = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let html = String::from_utf8(html.to_vec()).unwrap();
        if what == "QR page" {
            assert!(
                html.contains("data:image/png;base64,"),
                "the QR code is inline"
            );
        }
    }
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Keyboard alone: sign in with password and code, reach the Administrators list, all with
/// typed keys, Tab and Enter (no clicks): the forms have their fields in order, the first
/// field of each form has the focus, and links are reachable with Tab.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_alone() {
    if !browser_available("keyboard_alone") {
        return;
    }
    let running = Running::sqlite().await;
    let (app, _) = running.seed(&[]).await;
    let browser = Browser::start("9-keyboard").await;

    browser.goto(&running.url("/signin")).await;
    browser.on_page("Sign in").await;
    assert_eq!(
        browser.focused_id().await,
        "email",
        "Sign in starts at the e-mail field"
    );
    browser.keys(&format!("{ADA}{TAB}")).await;
    assert_eq!(browser.focused_id().await, "password");
    browser.keys(&format!("{PASSWORD}{ENTER}")).await;
    browser.on_page("Multi-factor authentication").await;
    assert_eq!(
        browser.focused_id().await,
        "code",
        "the prompt starts at the code"
    );
    browser.shot("mfa-prompt").await;
    browser
        .keys(&format!("{}{ENTER}", running.code(&app)))
        .await;
    browser.on_page("Home").await;
    browser.shot("home").await;

    // Tab through the page until the Administrators link has the focus, then Enter.
    let mut reached = false;
    for _ in 0..20 {
        browser.keys(&TAB.to_string()).await;
        let href = browser
            .script("return document.activeElement ? document.activeElement.getAttribute('href') : null")
            .await;
        if href.as_str() == Some("/admins") {
            reached = true;
            break;
        }
    }
    assert!(reached, "the Administrators link is reachable with Tab");
    browser.keys(&ENTER.to_string()).await;
    browser.on_page("Administrators").await;
    browser.shot("administrators").await;
    browser.close().await;
}

/// The MFA posture report: in the navigation of the roles that may see it, each admin's
/// factor and recovery codes in the table, filters applied from the form, and the whole
/// report as CSV and JSON Lines downloads (read back with the page's own `fetch`, as a
/// person's browser would download them), with a formula-like name kept as text. A Command
/// Runner has neither the link nor the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_posture_report_and_its_downloads() {
    if !browser_available("the_posture_report_and_its_downloads") {
        return;
    }
    let running = Running::sqlite().await;
    let (ada_app, _) = running
        .seed(&[
            (
                "Alan Turing",
                "alan@example.com",
                BuiltinRole::Administrator,
                false,
            ),
            (
                "=Eve Formula",
                "eve@example.com",
                BuiltinRole::ReadOnly,
                true,
            ),
            (
                "Carl Sagan",
                "carl@example.com",
                BuiltinRole::CommandRunner,
                false,
            ),
        ])
        .await;
    let browser = Browser::start("9-posture").await;
    sign_in_with_mfa(&browser, &running, ADA, &ada_app).await;
    browser.click("nav a[href='/posture']").await;
    browser.on_page("MFA posture").await;
    assert_eq!(browser.count("#posture tbody tr").await, 4);
    assert_eq!(
        browser
            .text(&format!("tr[data-email='{ADA}'] td.factor"))
            .await,
        "enabled"
    );
    assert_eq!(
        browser
            .text(&format!("tr[data-email='{ADA}'] td.codes"))
            .await,
        "10"
    );
    assert_eq!(
        browser
            .text("tr[data-email='eve@example.com'] td.factor")
            .await,
        "set-up pending"
    );
    browser.shot("report").await;

    // Locked only: nobody. At most 10 recovery codes: Ada, the one enrolled admin.
    browser.click("#locked").await;
    browser.click("form.filters button").await;
    browser.find("#no-rows").await;
    browser.click("#locked").await;
    browser.fill("#codes", "10").await;
    browser.click("form.filters button").await;
    browser.find("#posture").await;
    assert_eq!(browser.count("#posture tbody tr").await, 1);
    assert_eq!(browser.count(&format!("tr[data-email='{ADA}']")).await, 1);
    browser.shot("filtered").await;
    // A filter that is not a number is refused with a message, not a server error.
    browser.goto(&running.url("/posture?codes=ten")).await;
    browser.on_page("MFA posture").await;
    browser.find("p.error").await;

    // The downloads, as the links give them, fetched with the browser's cookies (the
    // portal's content security policy lets no script fetch, and a headless browser keeps
    // downloads to itself).
    browser.goto(&running.url("/posture")).await;
    browser.on_page("MFA posture").await;
    let cookies = browser.cookie_header().await;
    let download = |link: String| {
        let cookies = cookies.clone();
        let router = running.portal.router();
        async move {
            use tower::ServiceExt;
            let request = axum::http::Request::get(link)
                .header("cookie", cookies)
                .body(axum::body::Body::empty())
                .unwrap();
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, headers, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    let csv_link = browser
        .find("#download-csv")
        .await
        .attr("href")
        .await
        .unwrap();
    let (status, headers, csv) = download(csv_link).await;
    assert_eq!(status, 200, "{csv}");
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"mfa-posture.csv\""
    );
    assert_eq!(headers["cache-control"], "no-store");
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines[0].starts_with("admin_id,email,display_name,role,mfa_required,"));
    assert!(
        csv.contains(",eve@example.com,\"'=Eve Formula\",read-only,true,"),
        "{csv}"
    );
    let jsonl_link = browser
        .find("#download-jsonl")
        .await
        .attr("href")
        .await
        .unwrap();
    let (status, _, text) = download(jsonl_link).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(text.lines().count(), 4, "{text}");
    let eve: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["email"] == "eve@example.com")
        .unwrap();
    assert_eq!(eve["display_name"], "=Eve Formula");
    assert_eq!(eve["factor"], "pending");
    // Both downloads are in the audit log (POS-5).
    browser.goto(&running.url("/audit")).await;
    browser.on_page("Audit log").await;
    let log = browser.text("#audit").await;
    assert_eq!(
        log.matches("MFA posture report exported").count(),
        2,
        "{log}"
    );
    browser.shot("posture-exports-audited").await;
    // Without the session, no report.
    let (status, _, _) = {
        use tower::ServiceExt;
        let request = axum::http::Request::get("/posture.csv")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = running.portal.router().oneshot(request).await.unwrap();
        (response.status(), (), ())
    };
    assert!(status.is_redirection(), "{status}");
    sign_out(&browser).await;

    // A Command Runner: no link, and the page is not there.
    sign_in(&browser, &running, "carl@example.com").await;
    browser.on_page("Home").await;
    assert_eq!(browser.count("nav a[href='/posture']").await, 0);
    browser.goto(&running.url("/posture")).await;
    browser.on_page("Not found").await;
    browser.goto(&running.url("/posture.csv")).await;
    browser.on_page("Not found").await;
    browser.close().await;
}
