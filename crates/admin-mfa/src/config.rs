//! The service configuration: validated once, at build time.

use admin_mfa_lifecycle::{LifecycleConfig, LifecycleConfigError};
use admin_mfa_totp::{MAX_ISSUER_LEN, TotpParams};

use crate::dispatch::DispatchConfig;
use crate::email::{EmailConfig, EmailConfigError};
use crate::password::PasswordParams;

/// Bounds of [`MfaConfigBuilder::challenge_ttl_secs`]: 30 s to 1 h.
pub const CHALLENGE_TTL_RANGE: (u64, u64) = (30, 60 * 60);
/// Bounds of [`MfaConfigBuilder::max_auth_age_secs`]: 1 min to 24 h (NIST AAL2's overall limit).
pub const MAX_AUTH_AGE_RANGE: (u64, u64) = (60, 24 * 60 * 60);
/// Bounds of [`MfaConfigBuilder::bulk_chunk_size`].
pub const BULK_CHUNK_RANGE: (usize, usize) = (1, 10_000);

/// A setting outside its documented bounds, reported by [`MfaConfigBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MfaConfigError {
    /// The issuer is empty, longer than 64 bytes, contains `:` or a control character, or
    /// has leading or trailing whitespace (the Key URI Format's rules).
    #[error("`issuer` must be 1 to 64 bytes without `:`, control characters or edge whitespace")]
    Issuer,
    /// The e-mail settings (link base URL, product name, support contact) are invalid.
    #[error(transparent)]
    Email(#[from] EmailConfigError),
    /// A numeric setting outside `min..=max`.
    #[error("`{field}` must be in {min}..={max}, got {value}")]
    OutOfRange {
        /// The setting's name.
        field: &'static str,
        /// The value given.
        value: u64,
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// A lifecycle setting (link lifetimes, lockout, e-mail limits) is out of bounds.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleConfigError),
}

/// Everything [`MfaService`](crate::MfaService) needs to know besides its ports.
///
/// Build it with [`MfaConfig::builder`]; [`MfaConfigBuilder::build`] checks every bound, so a
/// service never runs with a window wider than ±1, a link living longer than 24 hours, a lock
/// threshold above 100 or an issuer that breaks the otpauth URI.
///
/// | Setting | Default | Bounds |
/// |---|---|---|
/// | issuer (shown in authenticator apps and e-mails) | — (required) | 1–64 bytes, no `:` |
/// | link base URL (setup and reset links start with it) | — (required) | absolute `https://` |
/// | TOTP parameters, link lifetimes, code lockout, password limiter, e-mail limits | [`LifecycleConfig::default`] | as [`LifecycleConfig`] |
/// | argon2id parameters | m = 19456 KiB, t = 2, p = 1 | not below these ([`PasswordParams`]) |
/// | new admins must use MFA | yes | — |
/// | MFA required organization-wide | no | — |
/// | password-step challenge lifetime | 5 min | 30 s – 1 h |
/// | recent authentication needed for MFA changes | 12 h | 1 min – 24 h |
/// | recovery codes (10 per set-up, at the MFA prompt) | on | — |
/// | admins per store write in bulk require | 500 | 1 – 10 000 |
///
/// ```
/// use admin_mfa::MfaConfig;
///
/// let config = MfaConfig::builder("ACME Admin Portal", "https://admin.example.com/mfa")
///     .challenge_ttl_secs(120)
///     .build()?;
/// assert_eq!(config.issuer(), "ACME Admin Portal");
/// assert!(config.new_admins_require_mfa());
/// assert!(MfaConfig::builder("ACME", "http://evil.example/").build().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaConfig {
    issuer: String,
    email: EmailConfig,
    settings: Settings,
}

/// The settings that need no cross-checking with the e-mail configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Settings {
    dispatch: DispatchConfig,
    lifecycle: LifecycleConfig,
    password: PasswordParams,
    new_admins_require_mfa: bool,
    global_mfa_required: bool,
    challenge_ttl_secs: u64,
    max_auth_age_secs: u64,
    bulk_chunk_size: usize,
    recovery_codes: bool,
}

impl MfaConfig {
    /// A builder with the defaults, for `issuer` and links under `link_base_url`.
    pub fn builder(
        issuer: impl Into<String>,
        link_base_url: impl Into<String>,
    ) -> MfaConfigBuilder {
        MfaConfigBuilder {
            issuer: issuer.into(),
            link_base_url: link_base_url.into(),
            support_contact: None,
            config: Settings {
                dispatch: DispatchConfig::default(),
                lifecycle: LifecycleConfig::default(),
                password: PasswordParams::default(),
                new_admins_require_mfa: true,
                global_mfa_required: false,
                challenge_ttl_secs: 5 * 60,
                max_auth_age_secs: 12 * 60 * 60,
                bulk_chunk_size: 500,
                recovery_codes: true,
            },
        }
    }

    /// The issuer: the service name authenticator apps and e-mails show.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The base URL every setup and reset link starts with (never a request's `Host`).
    #[must_use]
    pub fn link_base_url(&self) -> &str {
        self.email.link_base()
    }

    /// The e-mail rendering settings (product name = issuer, link base, support contact).
    #[must_use]
    pub const fn email(&self) -> &EmailConfig {
        &self.email
    }

    /// The outbox delivery settings (attempts, backoff, timeout, batches).
    #[must_use]
    pub const fn dispatch(&self) -> &DispatchConfig {
        &self.settings.dispatch
    }

    /// The lifecycle settings: TOTP parameters, link lifetimes, lockout and e-mail limits.
    #[must_use]
    pub const fn lifecycle(&self) -> &LifecycleConfig {
        &self.settings.lifecycle
    }

    /// The TOTP parameters new enrolments get.
    #[must_use]
    pub const fn totp(&self) -> &TotpParams {
        self.settings.lifecycle.totp()
    }

    /// The live argon2id parameters: new hashes use them, weaker stored hashes are
    /// upgraded to them at the next successful login.
    #[must_use]
    pub const fn password_params(&self) -> PasswordParams {
        self.settings.password
    }

    /// Whether admins created through the service start with MFA required (and a setup e-mail).
    #[must_use]
    pub const fn new_admins_require_mfa(&self) -> bool {
        self.settings.new_admins_require_mfa
    }

    /// Whether MFA is required organization-wide (no requirement may then be removed).
    #[must_use]
    pub const fn global_mfa_required(&self) -> bool {
        self.settings.global_mfa_required
    }

    /// How long a password-step [`MfaChallenge`](crate::MfaChallenge) stays usable, in seconds.
    #[must_use]
    pub const fn challenge_ttl_secs(&self) -> u64 {
        self.settings.challenge_ttl_secs
    }

    /// How recent an actor's full authentication must be for MFA management calls, in seconds.
    #[must_use]
    pub const fn max_auth_age_secs(&self) -> u64 {
        self.settings.max_auth_age_secs
    }

    /// Whether set-ups hand out recovery codes and the MFA prompt accepts them.
    #[must_use]
    pub const fn recovery_codes(&self) -> bool {
        self.settings.recovery_codes
    }

    /// How many admins one store write of a bulk require covers.
    #[must_use]
    pub const fn bulk_chunk_size(&self) -> usize {
        self.settings.bulk_chunk_size
    }
}

/// Builder for [`MfaConfig`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MfaConfigBuilder {
    issuer: String,
    link_base_url: String,
    support_contact: Option<String>,
    config: Settings,
}

impl MfaConfigBuilder {
    /// Link lifetimes, lockout thresholds, e-mail limits and TOTP parameters, already
    /// validated by [`LifecycleConfig::builder`].
    pub fn lifecycle(mut self, lifecycle: LifecycleConfig) -> Self {
        self.config.lifecycle = lifecycle;
        self
    }

    /// The argon2id parameters, validated by [`PasswordParams::new`] against the OWASP
    /// floor (default: m = 19456 KiB, t = 2, p = 1).
    pub const fn password_params(mut self, params: PasswordParams) -> Self {
        self.config.password = params;
        self
    }

    /// A support contact the e-mails name for "if this wasn't you" (default: none).
    pub fn support_contact(mut self, contact: impl Into<String>) -> Self {
        self.support_contact = Some(contact.into());
        self
    }

    /// Outbox delivery: attempts, backoff, send timeout, batches (default:
    /// [`DispatchConfig::default`]).
    pub const fn dispatch(mut self, dispatch: DispatchConfig) -> Self {
        self.config.dispatch = dispatch;
        self
    }

    /// Whether new admins start with MFA required (default: yes).
    pub const fn new_admins_require_mfa(mut self, on: bool) -> Self {
        self.config.new_admins_require_mfa = on;
        self
    }

    /// Whether MFA is required organization-wide (default: no).
    pub const fn global_mfa_required(mut self, on: bool) -> Self {
        self.config.global_mfa_required = on;
        self
    }

    /// Lifetime of a password-step challenge, in seconds (30 ..= 3 600; default 300).
    pub const fn challenge_ttl_secs(mut self, secs: u64) -> Self {
        self.config.challenge_ttl_secs = secs;
        self
    }

    /// How recent an actor's authentication must be for MFA management calls, in seconds
    /// (60 ..= 86 400; default 43 200).
    pub const fn max_auth_age_secs(mut self, secs: u64) -> Self {
        self.config.max_auth_age_secs = secs;
        self
    }

    /// Whether completing an MFA set-up hands out recovery codes, and whether they are
    /// accepted at the MFA prompt (default: yes; REC-1, REC-3). Switched off, set-ups return
    /// none, [`MfaService::verify_recovery_code`](crate::MfaService::verify_recovery_code)
    /// refuses every code without reading the store, codes issued earlier stop working, and
    /// [`MfaService::regenerate_recovery_codes`](crate::MfaService::regenerate_recovery_codes)
    /// answers [`Error::RecoveryCodesOff`](crate::Error::RecoveryCodesOff).
    pub const fn recovery_codes(mut self, on: bool) -> Self {
        self.config.recovery_codes = on;
        self
    }

    /// Admins per store write in bulk require (1 ..= 10 000; default 500).
    pub const fn bulk_chunk_size(mut self, size: usize) -> Self {
        self.config.bulk_chunk_size = size;
        self
    }

    /// Checks every setting and returns the configuration.
    ///
    /// # Errors
    ///
    /// The first [`MfaConfigError`] found.
    pub fn build(self) -> Result<MfaConfig, MfaConfigError> {
        let c = self.config;
        check_issuer(&self.issuer)?;
        let mut email = EmailConfig::builder(self.issuer.clone(), self.link_base_url);
        if let Some(contact) = self.support_contact {
            email = email.support_contact(contact);
        }
        let email = email.build()?;
        range(
            "challenge_ttl_secs",
            c.challenge_ttl_secs,
            CHALLENGE_TTL_RANGE,
        )?;
        range("max_auth_age_secs", c.max_auth_age_secs, MAX_AUTH_AGE_RANGE)?;
        range(
            "bulk_chunk_size",
            c.bulk_chunk_size as u64,
            (BULK_CHUNK_RANGE.0 as u64, BULK_CHUNK_RANGE.1 as u64),
        )?;
        Ok(MfaConfig {
            issuer: self.issuer,
            email,
            settings: c,
        })
    }
}

fn range(field: &'static str, value: u64, (min, max): (u64, u64)) -> Result<(), MfaConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(MfaConfigError::OutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}

fn check_issuer(issuer: &str) -> Result<(), MfaConfigError> {
    let ok = !issuer.is_empty()
        && issuer.len() <= MAX_ISSUER_LEN
        && !issuer.contains(':')
        && !issuer.chars().any(char::is_control)
        && issuer.trim() == issuer;
    if ok {
        Ok(())
    } else {
        Err(MfaConfigError::Issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let c = MfaConfig::builder("ACME", "https://admin.example.com")
            .build()
            .unwrap();
        assert_eq!(c.challenge_ttl_secs(), 300);
        assert_eq!(c.max_auth_age_secs(), 43_200);
        assert_eq!(c.bulk_chunk_size(), 500);
        assert!(c.new_admins_require_mfa() && !c.global_mfa_required());
        assert_eq!(c.lifecycle(), &LifecycleConfig::default());

        let b = || MfaConfig::builder("ACME", "https://admin.example.com");
        assert!(b().challenge_ttl_secs(29).build().is_err());
        assert!(b().challenge_ttl_secs(3_601).build().is_err());
        assert!(b().max_auth_age_secs(86_401).build().is_err());
        assert!(b().bulk_chunk_size(0).build().is_err());
        assert!(b().bulk_chunk_size(10_000).build().is_ok());
    }

    #[test]
    fn issuer_rules() {
        for bad in ["", "a:b", " ACME", "ACME\n", &"x".repeat(65)] {
            assert_eq!(
                MfaConfig::builder(bad, "https://a.example").build(),
                Err(MfaConfigError::Issuer),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn base_url_rules() {
        for good in [
            "https://admin.example.com",
            "https://admin.example.com/mfa/",
            "http://localhost:8080/mfa",
        ] {
            assert!(MfaConfig::builder("ACME", good).build().is_ok(), "{good}");
        }
        for bad in [
            "admin.example.com",
            "http://admin.example.com",
            "https://a.example/?next=x",
            "https://user@evil.example/",
            "javascript:alert(1)",
        ] {
            assert!(
                matches!(
                    MfaConfig::builder("ACME", bad).build(),
                    Err(MfaConfigError::Email(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn messages_are_lowercase() {
        let e = MfaConfig::builder("ACME", "https://a.example")
            .challenge_ttl_secs(1)
            .build()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "`challenge_ttl_secs` must be in 30..=3600, got 1"
        );
    }
}
