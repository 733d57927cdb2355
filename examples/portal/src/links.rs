//! The pages of the e-mailed link: "Set Up MFA" (e-mail and password), the QR code with the
//! key in groups of four, the code, and done. The token travels in the URL of the first page
//! and in hidden fields after it; every page is `no-referrer` and `no-store`.

use admin_mfa::{Error, LinkPurpose, Password};
use admin_mfa_axum::CookieKind;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{AppendHeaders, Html, IntoResponse, Response};
use maud::{Markup, html};

use crate::Portal;
use crate::error::{PageResult, explain};
use crate::fields::{Fields, Params};
use crate::views::{Page, alert, message_page};

/// Pixels per QR module: a 41-module code with its quiet zone is about 300 px.
const QR_MODULE_PX: u32 = 6;

const fn title(purpose: LinkPurpose) -> &'static str {
    match purpose {
        LinkPurpose::Setup => "Set Up MFA",
        LinkPurpose::Reset => "Reset TOTP MFA",
    }
}

fn dead_link() -> Response {
    (
        StatusCode::GONE,
        message_page(
            &Page::anonymous(""),
            "This link no longer works",
            "It was used, replaced by a newer e-mail, or it expired. Sign in to get a new \
             Set Up MFA e-mail, or ask your Administrator With Billing.",
        ),
    )
        .into_response()
}

fn identity_page(token: &str, purpose: LinkPurpose, error: Option<&str>) -> Html<String> {
    Page::anonymous("").render(
        title(purpose),
        html! {
            p { "Enter your e-mail address and password to continue. Then you will scan a QR code "
                "with your authenticator app." }
            p.muted { "No authenticator app yet? "
                a href="/help/authenticator" { "Download an Authenticator App" } "." }
            (alert(error))
            form.card method="post" action="/mfa/link" {
                input type="hidden" name="token" value=(token);
                label for="email" { "E-mail address" }
                input #email type="email" name="email" required autocomplete="username" autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" required autocomplete="current-password";
                div { button type="submit" { "Set Up MFA" } }
            }
        },
    )
}

/// `GET /mfa/link?token=…`: opening the link never uses it up.
pub(crate) async fn open(State(portal): State<Portal>, q: Params) -> Response {
    let token = q.get("token").map_or("", String::as_str);
    match portal.service().open_link(token).await {
        Ok(info) => identity_page(token, info.purpose, None).into_response(),
        Err(_) => dead_link(),
    }
}

fn code_form(token: &str) -> Markup {
    html! {
        form.card method="post" action="/mfa/link/complete" {
            input type="hidden" name="token" value=(token);
            label for="code" { "Verification code from the app" }
            input #code.code type="text" name="code" inputmode="numeric"
                autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required;
            div { button type="submit" { "Submit" } }
        }
    }
}

/// The key in groups of four, as authenticator apps ask for it typed.
fn grouped(key: &str) -> String {
    key.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `POST /mfa/link`: e-mail and password; the QR code and the key, shown this once.
pub(crate) async fn identity(State(portal): State<Portal>, form: Fields) -> PageResult {
    let token = form.get("token");
    let Ok(info) = portal.service().open_link(token).await else {
        return Ok(dead_link());
    };
    let provisioning = match Password::new(form.get("password")) {
        Ok(password) => {
            portal
                .service()
                .confirm_identity(token, form.get("email"), &password)
                .await
        }
        Err(_) => Err(Error::InvalidCredentials),
    };
    let provisioning = match provisioning {
        Ok(p) => p,
        Err(e @ (Error::InvalidCredentials | Error::RetryLater { .. })) => {
            let (status, text) = explain(&e);
            return Ok((status, identity_page(token, info.purpose, Some(&text))).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let proof = portal
        .service()
        .seal_setup_proof(token, provisioning.proof())?;
    let ttl = portal.service().config().lifecycle().setup_proof_ttl_secs();
    let cookie = portal
        .web()
        .config()
        .set_cookie(CookieKind::Setup, proof.as_str(), ttl);
    let png = provisioning.qr_png(QR_MODULE_PX).map_err(|_| Error::Rng)?;
    let src = zeroize::Zeroizing::new(format!(
        "data:image/png;base64,{}",
        data_encoding::BASE64.encode(&png)
    ));
    let key = zeroize::Zeroizing::new(grouped(&provisioning.key()));
    let page = Page::anonymous("").render(
        title(provisioning.purpose()),
        html! {
            ol {
                li { "Open your authenticator app (" a href="/help/authenticator" { "Download an Authenticator App" } " if you do not have one)." }
                li { "Scan this QR code with it." }
                li { "Enter the 6-digit code the app shows, then Submit." }
            }
            figure.qr {
                img src=(src.as_str()) width="300" height="300"
                    alt=(format!("QR code to add {} to your authenticator app", provisioning.account()));
                figcaption { (provisioning.issuer()) ": " (provisioning.account()) }
            }
            p { "Cannot scan? Enter this key by hand (time-based, 6 digits, every 30 seconds):" }
            p.key #key { (key.as_str()) }
            (code_form(token))
        },
    );
    let set = AppendHeaders([(header::SET_COOKIE, cookie)]);
    Ok((set, page).into_response())
}

/// `POST /mfa/link/complete`: the code; done.
pub(crate) async fn complete(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Fields,
) -> PageResult {
    let token = form.get("token");
    let sealed = portal
        .web()
        .config()
        .read_cookie(&headers, CookieKind::Setup)
        .ok_or(Error::NotFound);
    let Ok(proof) = sealed.and_then(|sealed| portal.service().open_setup_proof(token, &sealed))
    else {
        return Ok(dead_link());
    };
    match portal
        .service()
        .complete_setup(token, &proof, form.get("code"))
        .await
    {
        Ok(done) => {
            let clear: HeaderValue = portal.web().config().clear_cookie(CookieKind::Setup);
            let (heading, text) = match done.purpose {
                LinkPurpose::Setup => (
                    "MFA is set up",
                    "Your authenticator app is now your second factor for this portal.",
                ),
                LinkPurpose::Reset => (
                    "Your TOTP MFA reset was successful",
                    "Your new authenticator app replaces the old one. We sent you an e-mail \
                     confirming the reset.",
                ),
            };
            let page = Page::anonymous("").render(
                heading,
                html! {
                    p.notice role="status" { (text) }
                    @if let Some(codes) = &done.recovery_codes {
                        section.card aria-labelledby="recovery-heading" {
                            h2 #recovery-heading { "Your recovery codes" }
                            p { "If you lose your authenticator app, each of these codes signs you in "
                                "once, in any order. Keep them somewhere safe, away from your phone: "
                                strong { "they are shown only now." } }
                            ol #recovery-codes {
                                @for code in codes.formatted() {
                                    li { code { (code.as_str()) } }
                                }
                            }
                        }
                    }
                    p { "The code you just entered is used up: to sign in, wait for the "
                        strong { "next" } " code your app shows (at most 30 seconds)." }
                    p { a href="/signin" { "Sign in" } }
                },
            );
            Ok((AppendHeaders([(header::SET_COOKIE, clear)]), page).into_response())
        }
        Err(e @ (Error::InvalidCode | Error::RetryLater { .. })) => {
            let (status, text) = explain(&e);
            let page = Page::anonymous("").render(
                "Enter the code",
                html! {
                    (alert(Some(&text)))
                    (code_form(token))
                },
            );
            Ok((status, page).into_response())
        }
        Err(_) => Ok(dead_link()),
    }
}

/// `GET /help/authenticator`: which apps work.
pub(crate) async fn authenticator_help() -> Html<String> {
    Page::anonymous("").render(
        "Authenticator apps",
        html! {
            p { "Any app that implements time-based one-time passwords (TOTP, RFC 6238) works: "
                "for example Google Authenticator, Microsoft Authenticator, Aegis, FreeOTP, 1Password "
                "or Bitwarden. Install one on your phone, then go back to your e-mail's link." }
        },
    )
}
