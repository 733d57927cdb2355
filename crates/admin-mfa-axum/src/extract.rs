//! Extractors for a host's own routes: [`CurrentAdmin`] and [`PendingChallenge`].

use admin_mfa::{Authenticated, Error, MfaChallenge};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::cookies::CookieKind;
use crate::problem::ApiError;
use crate::state::MfaWeb;

/// The signed-in admin: the session cookie opened and checked against the store (its admin
/// exists and its credential epoch is current), or a 401 `session_expired` problem.
///
/// Every service call that takes the session checks it again (role, revocation, the age
/// of the login for MFA changes), so nothing here is cached.
///
/// ```
/// use admin_mfa_axum::{ApiError, CurrentAdmin};
///
/// async fn whoami(CurrentAdmin(session): CurrentAdmin) -> Result<String, ApiError> {
///     Ok(session.admin().to_string())
/// }
/// # let _ = axum::Router::<admin_mfa_axum::MfaWeb>::new().route("/me", axum::routing::get(whoami));
/// ```
#[derive(Debug, Clone)]
pub struct CurrentAdmin(pub Authenticated);

impl<S> FromRequestParts<S> for CurrentAdmin
where
    MfaWeb: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let web = MfaWeb::from_ref(state);
        let token = web
            .config()
            .read_cookie(&parts.headers, CookieKind::Session)
            .ok_or(ApiError(Error::SessionExpired))?;
        let session = web.service().open_session(&token)?;
        if !web.service().is_current(&session).await? {
            return Err(ApiError(Error::SessionExpired));
        }
        Ok(Self(session))
    }
}

/// The challenge between a correct password and its code: the challenge cookie opened
/// (unexpired, authentic), or a 401 `session_expired` problem. The service checks its
/// credential epoch when the code is verified.
#[derive(Debug, Clone)]
pub struct PendingChallenge(pub MfaChallenge);

impl<S> FromRequestParts<S> for PendingChallenge
where
    MfaWeb: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let web = MfaWeb::from_ref(state);
        let token = web
            .config()
            .read_cookie(&parts.headers, CookieKind::Challenge)
            .ok_or(ApiError(Error::SessionExpired))?;
        Ok(Self(web.service().open_challenge(&token)?))
    }
}
