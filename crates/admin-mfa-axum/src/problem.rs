//! [`ApiError`]: every [`admin_mfa::Error`] as an HTTP status and an RFC 9457
//! `application/problem+json` body.
//!
//! | [`Error`] | Status | `code` | What the body adds |
//! |---|---|---|---|
//! | `InvalidCredentials` | 401 | `invalid_credentials` | nothing: one answer for every reason |
//! | `InvalidCode` | 401 | `invalid_code` | nothing: one answer for every reason |
//! | `SessionExpired` | 401 | `session_expired` | nothing (sign in again) |
//! | `ReauthRequired` | 401 | `reauthentication_required` | nothing (enter a fresh code) |
//! | `Forbidden` | 403 | `forbidden` | `detail`: the policy's reason; `action`, `rule` |
//! | (CSRF check) | 403 | `cross_origin_request` | nothing |
//! | `NotFound` | 404 | `not_found` | nothing |
//! | `NotApplicable` | 409 | `not_applicable` | `detail`: why the command does not apply |
//! | `Conflict` | 409 | `conflict` | nothing (retry) |
//! | `EmailTaken` | 409 | `email_taken` | nothing |
//! | `InvalidInput` | 422 | `invalid_input` | `field` and `detail` (the problem, never the value) |
//! | `RetryLater` | 429 | `retry_later` | `Retry-After` (an HTTP date) and `retry_at` (Unix seconds) |
//! | `Store` | 503 | `unavailable` | nothing |
//! | `Seal`, `Password`, `Rng`, anything newer | 500 | `internal` | nothing |
//!
//! Every body has `type` (`about:blank`: the status says what happened), `title` (the
//! status's reason phrase), `status` and `code`, the stable name to branch on. Nothing in a
//! body comes from a store, a key, a hash or a secret: infrastructure errors are logged with
//! their cause (at `warn`) and answered with the status alone.

use admin_mfa::Error;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The media type of every error body (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An [`admin_mfa::Error`] as an HTTP response (see the [module table](self)).
///
/// `IntoResponse` cannot be implemented for `admin_mfa::Error` itself outside the crates
/// that define either, so handlers return `Result<_, ApiError>` and use `?` on the
/// service's calls:
///
/// ```
/// use admin_mfa::Error;
/// use admin_mfa_axum::ApiError;
/// use axum::http::StatusCode;
/// use axum::response::IntoResponse;
///
/// let response = ApiError::from(Error::InvalidCode).into_response();
/// assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(response.headers()["content-type"], "application/problem+json");
/// ```
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl core::fmt::Display for ApiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// An RFC 9457 problem document with this crate's extension members.
#[derive(Debug, Serialize)]
pub(crate) struct Problem {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_at: Option<u64>,
}

impl Problem {
    /// A problem with `status` and `code` and nothing else.
    pub(crate) fn new(status: StatusCode, code: &'static str) -> Self {
        Self {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            code,
            detail: None,
            field: None,
            action: None,
            rule: None,
            retry_at: None,
        }
    }

    fn detail(mut self, detail: String) -> Self {
        self.detail = Some(detail);
        self
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(self)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

/// The status and body of `error`, with the `Retry-After` value when there is one.
fn problem(error: &Error) -> (Problem, Option<HeaderValue>) {
    use StatusCode as S;
    let p = match error {
        Error::InvalidCredentials => Problem::new(S::UNAUTHORIZED, "invalid_credentials"),
        Error::InvalidCode => Problem::new(S::UNAUTHORIZED, "invalid_code"),
        Error::SessionExpired => Problem::new(S::UNAUTHORIZED, "session_expired"),
        Error::ReauthRequired => Problem::new(S::UNAUTHORIZED, "reauthentication_required"),
        Error::Forbidden(denied) => {
            let mut p = Problem::new(S::FORBIDDEN, "forbidden").detail(denied.to_string());
            p.action = Some(denied.action.as_str().to_owned());
            p.rule.clone_from(&denied.rule);
            p
        }
        Error::NotFound => Problem::new(S::NOT_FOUND, "not_found"),
        Error::NotApplicable(why) => {
            Problem::new(S::CONFLICT, "not_applicable").detail(why.to_string())
        }
        Error::Conflict => Problem::new(S::CONFLICT, "conflict"),
        Error::EmailTaken => Problem::new(S::CONFLICT, "email_taken"),
        Error::InvalidInput(invalid) => {
            let mut p = Problem::new(S::UNPROCESSABLE_ENTITY, "invalid_input")
                .detail(invalid.problem.to_owned());
            p.field = Some(invalid.field);
            p
        }
        Error::RetryLater { retry_at } => {
            let mut p = Problem::new(S::TOO_MANY_REQUESTS, "retry_later");
            p.retry_at = Some(retry_at.as_secs());
            let when = std::time::UNIX_EPOCH
                .checked_add(std::time::Duration::from_secs(retry_at.as_secs()))
                .map(httpdate::fmt_http_date)
                .and_then(|date| HeaderValue::from_str(&date).ok());
            return (p, when);
        }
        Error::Store(_) => Problem::new(S::SERVICE_UNAVAILABLE, "unavailable"),
        _ => Problem::new(S::INTERNAL_SERVER_ERROR, "internal"),
    };
    (p, None)
}

/// The status and `code` `error` is answered with (for the per-admin items of a bulk call).
pub(crate) fn status_of(error: &Error) -> (u16, &'static str) {
    let (p, _) = problem(error);
    (p.status, p.code)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (problem, retry_after) = problem(&self.0);
        if problem.status >= 500 {
            tracing::warn!(error = %self.0, cause = ?std::error::Error::source(&self.0).map(ToString::to_string), "request failed");
        }
        let mut response = problem.into_response();
        if let Some(value) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// A request this crate refuses before the service sees it: a body or parameter that does
/// not parse (422 naming the field when it can), or a cross-origin write (403).
pub(crate) fn invalid(field: &'static str, problem: &'static str) -> ApiError {
    ApiError(Error::invalid(field, problem))
}

#[cfg(test)]
mod tests {
    use admin_mfa::lifecycle::TransitionError;
    use admin_mfa::ports::StoreError;
    use admin_mfa::{Error, UnixTime};

    use super::*;

    #[test]
    fn every_variant_has_its_status() {
        let cases = [
            (Error::InvalidCredentials, 401),
            (Error::InvalidCode, 401),
            (Error::SessionExpired, 401),
            (Error::ReauthRequired, 401),
            (Error::NotFound, 404),
            (Error::NotApplicable(TransitionError::NotLocked), 409),
            (Error::Conflict, 409),
            (Error::EmailTaken, 409),
            (Error::invalid("email", "is not an e-mail address"), 422),
            (
                Error::RetryLater {
                    retry_at: UnixTime::from_secs(1_700_000_000),
                },
                429,
            ),
            (Error::Store(StoreError::NotFound), 503),
            (Error::Rng, 500),
        ];
        for (error, status) in cases {
            let (p, _) = problem(&error);
            assert_eq!(p.status, status, "{error:?}");
        }
    }

    #[test]
    fn retry_after_is_the_http_date_of_retry_at() {
        let error = Error::RetryLater {
            retry_at: UnixTime::from_secs(1_700_000_000),
        };
        let (p, header) = problem(&error);
        assert_eq!(p.retry_at, Some(1_700_000_000));
        assert_eq!(header.unwrap(), "Tue, 14 Nov 2023 22:13:20 GMT");
    }
}
