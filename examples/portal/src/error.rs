//! What a refused or failed call looks like on a page: the policy's reason for a refusal,
//! one plain sentence for everything else, never an internal detail.

use admin_mfa::policy::Reason;
use admin_mfa::{Error, UnixTime};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::views::{self, Page};

/// A call's error, shown on a page.
#[derive(Debug)]
pub(crate) struct PageError(pub(crate) Error);

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl From<admin_mfa::ports::StoreError> for PageError {
    fn from(e: admin_mfa::ports::StoreError) -> Self {
        Self(Error::Store(e))
    }
}

pub(crate) type PageResult<T = Response> = Result<T, PageError>;

/// The status and the sentence a person reads for `error`.
pub(crate) fn explain(error: &Error) -> (StatusCode, String) {
    match error {
        Error::InvalidCredentials => (
            StatusCode::UNAUTHORIZED,
            "The e-mail address or the password is not right.".into(),
        ),
        Error::InvalidCode => (
            StatusCode::UNAUTHORIZED,
            "That code was not accepted. Enter the current code from your authenticator app."
                .into(),
        ),
        Error::SessionExpired => (
            StatusCode::UNAUTHORIZED,
            "Your sign-in has ended. Sign in again.".into(),
        ),
        Error::ReauthRequired => (
            StatusCode::UNAUTHORIZED,
            "Your sign-in is too old for this change. Sign out and sign in again.".into(),
        ),
        Error::Forbidden(denied) => (
            StatusCode::FORBIDDEN,
            format!(
                "Not allowed: {}.",
                reason_text(&denied.reason, denied.rule.as_deref())
            ),
        ),
        Error::NotFound => (
            StatusCode::NOT_FOUND,
            "There is no such administrator.".into(),
        ),
        Error::NotApplicable(_) => (
            StatusCode::CONFLICT,
            "That does not apply to this administrator as things stand.".into(),
        ),
        Error::RetryLater { retry_at } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many attempts. Try again after {}.", time(*retry_at)),
        ),
        Error::Conflict => (
            StatusCode::CONFLICT,
            "Someone changed this at the same moment. Try again.".into(),
        ),
        Error::EmailTaken => (
            StatusCode::CONFLICT,
            "An administrator with that e-mail address exists already.".into(),
        ),
        Error::InvalidInput(field) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Please correct the form: {field}."),
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The portal could not complete this just now. Try again in a moment.".into(),
        ),
    }
}

/// The policy's reason, in its own words.
pub(crate) fn reason_text(reason: &Reason, rule: Option<&str>) -> String {
    match (reason, rule) {
        (Reason::Guardrail(g), _) => g.description().to_owned(),
        (Reason::Forbid(_), Some(rule)) => format!("the policy rule `{rule}` forbids it"),
        (Reason::DefaultDeny, _) | (Reason::Permit(_) | Reason::Forbid(_), _) => {
            "your role does not allow it".to_owned()
        }
    }
}

/// A time as people read it, in UTC.
pub(crate) fn time(at: UnixTime) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(at.as_secs());
    humantime::format_rfc3339_seconds(at)
        .to_string()
        .replace('T', " ")
        .replace('Z', " UTC")
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if matches!(self.0, Error::SessionExpired) {
            return Redirect::to("/signin?ended=1").into_response();
        }
        match &self.0 {
            Error::Store(_) | Error::Seal(_) | Error::Password(_) | Error::Rng => {
                tracing::warn!(error = %self.0, "a page failed");
            }
            _ => {}
        }
        let (status, text) = explain(&self.0);
        (
            status,
            views::message_page(&Page::anonymous("Not done"), "Not done", &text),
        )
            .into_response()
    }
}
