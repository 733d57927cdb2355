//! The cookies that carry the sealed login state, and the configuration they follow.
//!
//! Three cookies, each holding one [`PortableToken`](admin_mfa::PortableToken):
//!
//! | Cookie | Holds | Lives |
//! |---|---|---|
//! | `__Host-mfa-session` | the signed-in session | [`WebConfig::session_lifetime_secs`] |
//! | `__Host-mfa-challenge` | the challenge between the password and the code | the challenge's lifetime |
//! | `__Host-mfa-setup` | the proof of a link's identity step, bound to the link | the proof's lifetime |
//!
//! Every one is `HttpOnly`, `SameSite=Strict`, `Path=/` and `Secure`, with the `__Host-`
//! prefix, so no other origin, subdomain or script can set or read it. On plain HTTP (only
//! allowed for a loopback origin, for development) the cookies drop `Secure` and with it the
//! prefix, which browsers refuse without `Secure`.

use std::net::IpAddr;

use admin_mfa::OrgId;
use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

/// Why a [`WebConfig`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebConfigError {
    /// The public origin is not `scheme://host[:port]` with an `http` or `https` scheme.
    #[error("the public origin must be `https://host[:port]` (or `http://` on loopback)")]
    NotAnOrigin,
    /// Plain `http` on a host that is not loopback: the cookies would travel in clear.
    #[error("plain http is only allowed on a loopback origin")]
    PlainHttpOffLoopback,
    /// A session lifetime of zero, or beyond 30 days.
    #[error("the session lifetime must be between 1 second and 30 days")]
    SessionLifetime,
    /// An extra trusted origin that the CSRF check cannot use.
    #[error("`{0}` is not an origin the CSRF check can trust")]
    TrustedOrigin(String),
}

/// The longest session lifetime accepted.
pub const MAX_SESSION_LIFETIME_SECS: u64 = 30 * 24 * 3600;

/// How the web layer talks to browsers: its public origin (which decides `Secure` and the
/// CSRF check), the session lifetime and the organization of a single-tenant host.
///
/// ```
/// use admin_mfa_axum::WebConfig;
///
/// let config = WebConfig::new("https://admin.example.com")?.session_lifetime_secs(8 * 3600)?;
/// assert!(config.is_secure());
/// assert_eq!(config.cookie_name(admin_mfa_axum::CookieKind::Session), "__Host-mfa-session");
///
/// // Plain HTTP only on loopback, for development.
/// assert!(!WebConfig::new("http://127.0.0.1:3000")?.is_secure());
/// assert!(WebConfig::new("http://admin.example.com").is_err());
/// # Ok::<(), admin_mfa_axum::WebConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct WebConfig {
    origin: String,
    secure: bool,
    session_lifetime_secs: u64,
    default_org: Option<OrgId>,
    trusted_origins: Vec<String>,
}

impl WebConfig {
    /// The configuration of a host served at `public_origin` (`https://host[:port]`, or
    /// `http://` on `localhost`, `127.0.0.0/8` or `[::1]`). Sessions last eight hours.
    ///
    /// # Errors
    ///
    /// [`WebConfigError::NotAnOrigin`] or [`WebConfigError::PlainHttpOffLoopback`].
    pub fn new(public_origin: &str) -> Result<Self, WebConfigError> {
        let (scheme, authority) = public_origin
            .split_once("://")
            .ok_or(WebConfigError::NotAnOrigin)?;
        let valid = !authority.is_empty()
            && authority
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
        if !valid || !crate::layers::is_trustable_origin(public_origin) {
            return Err(WebConfigError::NotAnOrigin);
        }
        let secure = match scheme {
            "https" => true,
            "http" if is_loopback(authority) => false,
            "http" => return Err(WebConfigError::PlainHttpOffLoopback),
            _ => return Err(WebConfigError::NotAnOrigin),
        };
        Ok(Self {
            origin: public_origin.to_owned(),
            secure,
            session_lifetime_secs: 8 * 3600,
            default_org: None,
            trusted_origins: Vec::new(),
        })
    }

    /// How long a session cookie (and the sealed session in it) lasts.
    ///
    /// # Errors
    ///
    /// [`WebConfigError::SessionLifetime`] for zero or more than
    /// [`MAX_SESSION_LIFETIME_SECS`].
    pub fn session_lifetime_secs(mut self, secs: u64) -> Result<Self, WebConfigError> {
        if secs == 0 || secs > MAX_SESSION_LIFETIME_SECS {
            return Err(WebConfigError::SessionLifetime);
        }
        self.session_lifetime_secs = secs;
        Ok(self)
    }

    /// The organization a login without an `org` field signs into (a single-tenant host).
    #[must_use]
    pub fn default_org(mut self, org: OrgId) -> Self {
        self.default_org = Some(org);
        self
    }

    /// Another origin whose pages may call the API's state-changing routes (the CSRF check
    /// trusts the public origin already).
    ///
    /// # Errors
    ///
    /// [`WebConfigError::TrustedOrigin`] if `origin` is not `scheme://host[:port]`.
    pub fn trusted_origin(mut self, origin: &str) -> Result<Self, WebConfigError> {
        if !crate::layers::is_trustable_origin(origin) {
            return Err(WebConfigError::TrustedOrigin(origin.to_owned()));
        }
        self.trusted_origins.push(origin.to_owned());
        Ok(self)
    }

    /// The public origin.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether cookies are `Secure` (and `__Host-` prefixed): every `https` origin.
    #[must_use]
    pub const fn is_secure(&self) -> bool {
        self.secure
    }

    /// The session lifetime in seconds.
    #[must_use]
    pub const fn session_lifetime(&self) -> u64 {
        self.session_lifetime_secs
    }

    /// The organization of a login without an `org` field.
    #[must_use]
    pub const fn org(&self) -> Option<OrgId> {
        self.default_org
    }

    /// The origins the CSRF check trusts: the public one and the extra ones.
    pub fn trusted_origins(&self) -> impl Iterator<Item = &str> {
        core::iter::once(self.origin.as_str())
            .chain(self.trusted_origins.iter().map(String::as_str))
    }

    /// The name of a cookie under this configuration.
    #[must_use]
    pub const fn cookie_name(&self, kind: CookieKind) -> &'static str {
        match (kind, self.secure) {
            (CookieKind::Session, true) => "__Host-mfa-session",
            (CookieKind::Challenge, true) => "__Host-mfa-challenge",
            (CookieKind::Setup, true) => "__Host-mfa-setup",
            (CookieKind::Session, false) => "mfa-session",
            (CookieKind::Challenge, false) => "mfa-challenge",
            (CookieKind::Setup, false) => "mfa-setup",
        }
    }

    /// A `Set-Cookie` value storing `value` in cookie `kind` for `max_age_secs`, with every
    /// attribute of the [module table](self). A host's own routes (server-rendered sign-in
    /// forms, say) use it with the [`PortableToken`](admin_mfa::PortableToken)s the service
    /// seals, exactly as the API router does.
    #[must_use]
    pub fn set_cookie(&self, kind: CookieKind, value: &str, max_age_secs: u64) -> HeaderValue {
        let age = i64::try_from(max_age_secs).unwrap_or(i64::MAX);
        let cookie = self
            .cookie(kind, value.to_owned())
            .max_age(cookie::time::Duration::seconds(age));
        header_value(&cookie.build())
    }

    /// A `Set-Cookie` value removing cookie `kind`.
    #[must_use]
    pub fn clear_cookie(&self, kind: CookieKind) -> HeaderValue {
        let mut cookie = self.cookie(kind, String::new()).build();
        cookie.make_removal();
        header_value(&cookie)
    }

    fn cookie(&self, kind: CookieKind, value: String) -> cookie::CookieBuilder<'static> {
        Cookie::build((self.cookie_name(kind), value))
            .path("/")
            .secure(self.secure)
            .http_only(true)
            .same_site(SameSite::Strict)
    }

    /// The value of cookie `kind` in a request's headers, by its exact name under this
    /// configuration.
    #[must_use]
    pub fn read_cookie(&self, headers: &HeaderMap, kind: CookieKind) -> Option<String> {
        let name = self.cookie_name(kind);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| c.name() == name)
            .map(|c| c.value().to_owned())
    }
}

/// One of the login-state cookies (see the [module table](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieKind {
    /// The signed-in session.
    Session,
    /// The pending MFA challenge.
    Challenge,
    /// The link's identity-step proof.
    Setup,
}

impl CookieKind {
    /// Every cookie, for signing out.
    pub const ALL: [Self; 3] = [Self::Session, Self::Challenge, Self::Setup];
}

fn header_value(cookie: &Cookie<'_>) -> HeaderValue {
    // Names are fixed and values are base64url tokens: always a valid header value.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// Whether an origin's authority (`host[:port]`) is a loopback host.
fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_origins_may_be_plain_http() {
        for origin in [
            "http://localhost",
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "http://127.3.4.5",
            "http://[::1]:3000",
        ] {
            assert!(!WebConfig::new(origin).unwrap().is_secure(), "{origin}");
        }
        for origin in [
            "http://admin.example.com",
            "http://10.0.0.1",
            "http://localhost.example.com",
            "http://[::2]",
        ] {
            assert_eq!(
                WebConfig::new(origin).unwrap_err(),
                WebConfigError::PlainHttpOffLoopback,
                "{origin}"
            );
        }
        for origin in [
            "admin.example.com",
            "ftp://x",
            "https://",
            "https://a/b",
            "https://a b",
        ] {
            assert_eq!(
                WebConfig::new(origin).unwrap_err(),
                WebConfigError::NotAnOrigin,
                "{origin}"
            );
        }
    }

    #[test]
    fn cookies_carry_every_attribute() {
        let config = WebConfig::new("https://admin.example.com").unwrap();
        let set = config.set_cookie(CookieKind::Session, "tok", 60);
        let set = set.to_str().unwrap();
        for part in [
            "__Host-mfa-session=tok",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(set.contains(part), "{set} lacks {part}");
        }
        assert!(!set.contains("Domain"), "{set}");
        let clear = config.clear_cookie(CookieKind::Challenge);
        let clear = clear.to_str().unwrap();
        assert!(clear.starts_with("__Host-mfa-challenge=;"), "{clear}");
        assert!(clear.contains("Max-Age=0"), "{clear}");

        let dev = WebConfig::new("http://127.0.0.1:3000").unwrap();
        let set = dev.set_cookie(CookieKind::Setup, "tok", 60);
        let set = set.to_str().unwrap();
        assert!(set.starts_with("mfa-setup=tok"), "{set}");
        assert!(!set.contains("Secure"), "{set}");
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
    }

    #[test]
    fn cookies_are_read_by_their_exact_name() {
        let config = WebConfig::new("https://admin.example.com").unwrap();
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("mfa-session=plain; other=1"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-mfa-session=sealed"),
        );
        assert_eq!(
            config.read_cookie(&headers, CookieKind::Session).as_deref(),
            Some("sealed")
        );
        assert_eq!(config.read_cookie(&headers, CookieKind::Challenge), None);
    }

    #[test]
    fn lifetimes_and_trusted_origins_are_checked() {
        let config = WebConfig::new("https://a.example").unwrap();
        assert!(config.clone().session_lifetime_secs(0).is_err());
        assert!(
            config
                .clone()
                .session_lifetime_secs(MAX_SESSION_LIFETIME_SECS + 1)
                .is_err()
        );
        assert!(
            config
                .clone()
                .trusted_origin("https://b.example/path")
                .is_err()
        );
        let config = config.trusted_origin("https://b.example").unwrap();
        assert_eq!(
            config.trusted_origins().collect::<Vec<_>>(),
            ["https://a.example", "https://b.example"]
        );
    }
}
