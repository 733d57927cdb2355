//! First start, Sign in, the MFA prompt (with "Reset TOTP MFA") and Sign out.

use admin_mfa::{BuiltinRole, Error, LoginOutcome, NewAdmin, Password, Role};
use admin_mfa_axum::CookieKind;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use maud::html;

use crate::Portal;
use crate::error::{PageResult, explain};
use crate::fields::{Fields, Params};
use crate::views::{Page, Viewer, alert, message_page, org};

fn set_cookies<const N: usize>(
    values: [HeaderValue; N],
) -> AppendHeaders<[(header::HeaderName, HeaderValue); N]> {
    AppendHeaders(values.map(|v| (header::SET_COOKIE, v)))
}

/// `/`: Home when signed in, else Sign in.
pub(crate) async fn root(viewer: Result<Viewer, Response>) -> Redirect {
    match viewer {
        Ok(_) => Redirect::to("/home"),
        Err(_) => Redirect::to("/signin"),
    }
}

fn bootstrap_page(token: &str, error: Option<&str>) -> axum::response::Html<String> {
    Page::anonymous("").render(
        "Create your organization",
        html! {
            p { "This one-time page creates the organization's first administrator, an "
                strong { "Administrator With Billing" } ". MFA will be required for this account: "
                "after you sign in, a " em { "Set Up MFA" } " e-mail guides you through your authenticator app." }
            (alert(error))
            form.card method="post" action="/bootstrap" {
                input type="hidden" name="token" value=(token);
                label for="name" { "Your name" }
                input #name type="text" name="display_name" required autocomplete="name";
                label for="email" { "E-mail address" }
                input #email type="email" name="email" required autocomplete="username";
                label for="password" { "Password" }
                input #password type="password" name="password" required minlength="12" autocomplete="new-password";
                label for="password2" { "Password again" }
                input #password2 type="password" name="password2" required minlength="12" autocomplete="new-password";
                div { button type="submit" { "Create organization" } }
            }
        },
    )
}

/// `GET /bootstrap?token=…`: the first admin's form, while the token is live.
pub(crate) async fn bootstrap_form(State(portal): State<Portal>, q: Params) -> Response {
    let token = q.get("token").map_or("", String::as_str);
    if !portal.bootstrap_token_is(token) {
        return bootstrap_over();
    }
    bootstrap_page(token, None).into_response()
}

fn bootstrap_over() -> Response {
    (
        StatusCode::NOT_FOUND,
        message_page(
            &Page::anonymous(""),
            "This link has been used",
            "The organization has its first administrator already, or this is not the link \
             printed last on the console. Sign in instead.",
        ),
    )
        .into_response()
}

/// `POST /bootstrap`: creates the first Administrator With Billing, once.
pub(crate) async fn bootstrap(State(portal): State<Portal>, form: Fields) -> PageResult {
    let token = form.get("token");
    if !portal.bootstrap_token_is(token) {
        return Ok(bootstrap_over());
    }
    let again = |text: &str| {
        Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            bootstrap_page(token, Some(text)),
        )
            .into_response())
    };
    if form.get("password") != form.get("password2") {
        return again("The two passwords differ.");
    }
    if form.get("password").chars().count() < 12 {
        return again("Choose a password of at least 12 characters.");
    }
    let Ok(password) = Password::new(form.get("password")) else {
        return again("That password is too long.");
    };
    let created = portal
        .service()
        .bootstrap_admin(
            org(),
            NewAdmin {
                email: form.get("email").to_owned(),
                display_name: form.get("display_name").to_owned(),
                role: Role::Builtin(BuiltinRole::AdministratorWithBilling),
                password,
            },
        )
        .await;
    match created {
        Ok(_) => {
            portal.end_bootstrap();
            tracing::info!("the organization's first administrator was created");
            Ok(Redirect::to("/signin?created=1").into_response())
        }
        Err(Error::Conflict) => Ok(bootstrap_over()),
        Err(e @ Error::InvalidInput(_)) => again(&explain(&e).1),
        Err(e) => Err(e.into()),
    }
}

fn signin_page(
    portal: &Portal,
    notice: Option<&str>,
    error: Option<&str>,
    email: &str,
) -> axum::response::Html<String> {
    Page::anonymous("").render(
        "Sign in",
        html! {
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            (alert(error))
            form.card method="post" action="/signin" {
                label for="email" { "E-mail address" }
                input #email type="email" name="email" value=(email) required autocomplete="username" autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" required autocomplete="current-password";
                div { button type="submit" { "Sign in" } }
            }
            @if portal.mailbox().is_some() {
                p.muted { "Development mode: e-mails are not sent; read them in the "
                    a href="/dev/mailbox" { "mailbox" } "." }
            }
        },
    )
}

/// `GET /signin`.
pub(crate) async fn signin_form(State(portal): State<Portal>, q: Params) -> Response {
    let notice = if q.contains_key("created") {
        Some(
            "Your organization is ready. Sign in with the e-mail address and password you just chose.",
        )
    } else if q.contains_key("ended") {
        Some("Your sign-in has ended. Sign in again.")
    } else if q.contains_key("out") {
        Some("You are signed out.")
    } else if q.contains_key("done") {
        Some("MFA is set up. Sign in with your password and the next code your app shows.")
    } else {
        None
    };
    signin_page(&portal, notice, None, "").into_response()
}

/// `POST /signin`: the password step.
pub(crate) async fn signin(State(portal): State<Portal>, form: Fields) -> PageResult {
    let email = form.get("email");
    let outcome = match Password::new(form.get("password")) {
        Ok(password) => portal.service().login(org(), email, &password).await,
        Err(_) => Err(Error::InvalidCredentials),
    };
    let web = portal.web();
    match outcome {
        Ok(LoginOutcome::Authenticated(session)) => {
            let token = portal
                .service()
                .seal_session(&session, web.config().session_lifetime())?;
            let cookie = web.config().set_cookie(
                CookieKind::Session,
                token.as_str(),
                web.config().session_lifetime(),
            );
            Ok((set_cookies([cookie]), Redirect::to("/home")).into_response())
        }
        Ok(LoginOutcome::MfaChallenge(challenge)) => {
            let token = portal.service().seal_challenge(&challenge)?;
            let ttl = challenge.expires_at().secs_since(challenge.issued_at());
            let cookie = web
                .config()
                .set_cookie(CookieKind::Challenge, token.as_str(), ttl);
            Ok((set_cookies([cookie]), Redirect::to("/signin/mfa")).into_response())
        }
        Ok(LoginOutcome::SetupRequired(_)) => Ok(Page::anonymous("")
            .render(
                "Set up MFA to continue",
                html! {
                    p.notice role="status" {
                        "MFA is required for your account and not set up yet. We sent you an \
                         e-mail (or, if one is already on its way, that one still works): click \
                         Set Up MFA in it, then sign in again."
                    }
                    @if portal.mailbox().is_some() {
                        p { "Development mode: the e-mail is in the " a href="/dev/mailbox" { "mailbox" } "." }
                    }
                },
            )
            .into_response()),
        Err(e @ (Error::InvalidCredentials | Error::RetryLater { .. })) => {
            let (status, text) = explain(&e);
            Ok((status, signin_page(&portal, None, Some(&text), email)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

fn mfa_page(error: Option<&str>, notice: Option<&str>) -> axum::response::Html<String> {
    Page::anonymous("").render(
        "Multi-factor authentication",
        html! {
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            (alert(error))
            form.card method="post" action="/signin/mfa" {
                label for="code" { "Enter the 6-digit code from your authenticator app" }
                input #code.code type="text" name="code" inputmode="numeric"
                    autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required autofocus;
                div { button type="submit" { "Verify" } }
            }
            details {
                summary { "Use a recovery code instead" }
                form.card method="post" action="/signin/recovery" {
                    label for="recovery_code" { "Enter one of the recovery codes you saved when you set up MFA" }
                    input #recovery_code type="text" name="recovery_code" autocomplete="off"
                        autocapitalize="characters" spellcheck="false" maxlength="64" required;
                    div { button type="submit" { "Sign in with a recovery code" } }
                }
            }
            form method="post" action="/signin/reset" {
                p { "Lost your authenticator app? "
                    button.link type="submit" { "Reset TOTP MFA" } }
            }
        },
    )
}

/// `GET /signin/mfa`: the prompt, while the challenge cookie holds a live challenge.
pub(crate) async fn mfa_form(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    match challenge(&portal, &headers) {
        Ok(_) => mfa_page(None, None).into_response(),
        Err(e) => e.into_response(),
    }
}

fn challenge(
    portal: &Portal,
    headers: &HeaderMap,
) -> Result<admin_mfa::MfaChallenge, crate::error::PageError> {
    let token = portal
        .web()
        .config()
        .read_cookie(headers, CookieKind::Challenge)
        .ok_or(Error::SessionExpired)?;
    Ok(portal.service().open_challenge(&token)?)
}

/// `POST /signin/mfa`: the code step.
pub(crate) async fn mfa(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Fields,
) -> PageResult {
    let pending = challenge(&portal, &headers)?;
    let answer = portal.service().verify(&pending, form.get("code")).await;
    signed_in(&portal, answer)
}

/// The answer to a code step: Home with a session cookie, or the prompt again saying why.
fn signed_in(portal: &Portal, answer: Result<admin_mfa::Authenticated, Error>) -> PageResult {
    match answer {
        Ok(session) => {
            let web = portal.web();
            let token = portal
                .service()
                .seal_session(&session, web.config().session_lifetime())?;
            let cookies = [
                web.config().set_cookie(
                    CookieKind::Session,
                    token.as_str(),
                    web.config().session_lifetime(),
                ),
                web.config().clear_cookie(CookieKind::Challenge),
            ];
            Ok((set_cookies(cookies), Redirect::to("/home")).into_response())
        }
        Err(e @ (Error::InvalidCode | Error::RetryLater { .. })) => {
            let (status, text) = explain(&e);
            Ok((status, mfa_page(Some(&text), None)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /signin/recovery`: a recovery code in place of the authenticator's code. Each code
/// signs in once; wrong ones count on the same lockout counter as codes.
pub(crate) async fn recovery(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Fields,
) -> PageResult {
    let pending = challenge(&portal, &headers)?;
    let answer = portal
        .service()
        .verify_recovery_code(&pending, form.get("recovery_code"))
        .await;
    if let Err(Error::InvalidCode) = answer {
        let text = "That recovery code was not accepted. Each code signs in once; check it \
                    against your saved list.";
        return Ok((StatusCode::UNAUTHORIZED, mfa_page(Some(text), None)).into_response());
    }
    signed_in(&portal, answer)
}

/// `POST /signin/reset`: "Reset TOTP MFA" at the prompt; a reset link is e-mailed.
pub(crate) async fn reset_totp(State(portal): State<Portal>, headers: HeaderMap) -> PageResult {
    let pending = challenge(&portal, &headers)?;
    portal.service().request_reset(&pending).await?;
    Ok(mfa_page(
        None,
        Some(
            "We sent you an e-mail to reset your MFA. Click Set Up MFA in it, confirm your \
             e-mail address and password, and scan the new QR code.",
        ),
    )
    .into_response())
}

/// `POST /signout`: every login cookie removed.
pub(crate) async fn signout(State(portal): State<Portal>) -> Response {
    (
        set_cookies(portal.web().sign_out_cookies()),
        Redirect::to("/signin?out=1"),
    )
        .into_response()
}
