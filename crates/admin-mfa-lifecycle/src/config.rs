//! Validated lifecycle settings: link lifetimes, lockout thresholds and e-mail rate limits.

use crate::TotpParams;

/// Longest allowed link lifetime: 24 hours (docs/SECURITY.md RST-2, T-TOK-7).
pub const MAX_LINK_TTL_SECS: u64 = 24 * 60 * 60;
/// Largest allowed failure threshold (NIST SP 800-63B §3.2.2 ceiling).
pub const MAX_THRESHOLD: u32 = 100;
/// Cap on any single lockout delay, and on the base delay: one hour (D2).
pub const MAX_DELAY_SECS: u64 = 60 * 60;
/// Largest e-mail rate-limit window: 24 hours.
pub const MAX_EMAIL_WINDOW_SECS: u64 = 24 * 60 * 60;
/// Largest number of link e-mails allowed per window.
pub const MAX_EMAILS_PER_WINDOW: u32 = 100;

/// A setting outside its documented bounds, reported by [`LifecycleConfigBuilder::build`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleConfigError {
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
    /// The delay threshold is above the lock threshold.
    #[error("`delay_after` ({delay_after}) must not exceed `lock_after` ({lock_after})")]
    DelayAboveLock {
        /// Failures before the first delay.
        delay_after: u32,
        /// Failures that lock the factor.
        lock_after: u32,
    },
}

/// Settings `decide` needs. Build one with [`LifecycleConfig::builder`]; the defaults
/// follow docs/ARCHITECTURE.md §6 and docs/SECURITY.md D2.
///
/// | Setting | Default | Bounds |
/// |---|---|---|
/// | setup link TTL | 24 h | 1 s ..= 24 h |
/// | reset link TTL | 1 h | 1 s ..= 24 h |
/// | delay from failure | 5 | 1 ..= 100, ≤ lock |
/// | lock at failure | 10 | 1 ..= 100 |
/// | base delay | 30 s (doubling, each delay capped at 1 h) | 1 s ..= 1 h |
/// | password delay from failure (no lock, RL-4) | 10 | 1 ..= 100 |
/// | password base delay | 60 s (doubling, each delay capped at 1 h) | 1 s ..= 1 h |
/// | wrong codes on one link's last step before it is voided (SETUP-2) | 5 | 1 ..= 100 |
/// | identity-step proof lifetime (SETUP-1) | 15 min | 1 s ..= 1 h |
/// | link e-mails per admin and purpose | 3 per 15 min | 1 ..= 100 per 1 s ..= 24 h |
/// | TOTP parameters for new enrolments | SHA1, 6 digits, 30 s, window `[-1, 0]` | as `TotpParams` |
///
/// ```
/// use admin_mfa_lifecycle::LifecycleConfig;
///
/// let cfg = LifecycleConfig::builder().lock_after(8).delay_after(4).build()?;
/// assert_eq!(cfg.lock_after(), 8);
/// assert_eq!(cfg.delay_secs(4), 30);
/// assert!(LifecycleConfig::builder().lock_after(101).build().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleConfig {
    setup_link_ttl_secs: u64,
    reset_link_ttl_secs: u64,
    delay_after: u32,
    lock_after: u32,
    base_delay_secs: u64,
    password_delay_after: u32,
    password_base_delay_secs: u64,
    setup_attempts: u32,
    setup_proof_ttl_secs: u64,
    emails_per_window: u32,
    email_window_secs: u64,
    totp: TotpParams,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            setup_link_ttl_secs: 24 * 60 * 60,
            reset_link_ttl_secs: 60 * 60,
            delay_after: 5,
            lock_after: 10,
            base_delay_secs: 30,
            password_delay_after: 10,
            password_base_delay_secs: 60,
            setup_attempts: 5,
            setup_proof_ttl_secs: 15 * 60,
            emails_per_window: 3,
            email_window_secs: 15 * 60,
            totp: TotpParams::default(),
        }
    }
}

impl LifecycleConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> LifecycleConfigBuilder {
        LifecycleConfigBuilder {
            config: Self::default(),
        }
    }

    /// Lifetime of a setup link, in seconds.
    #[must_use]
    pub const fn setup_link_ttl_secs(&self) -> u64 {
        self.setup_link_ttl_secs
    }

    /// Lifetime of a reset link, in seconds.
    #[must_use]
    pub const fn reset_link_ttl_secs(&self) -> u64 {
        self.reset_link_ttl_secs
    }

    /// Lifetime of a link of `purpose`, in seconds.
    #[must_use]
    pub const fn link_ttl_secs(&self, purpose: crate::LinkPurpose) -> u64 {
        match purpose {
            crate::LinkPurpose::Setup => self.setup_link_ttl_secs,
            crate::LinkPurpose::Reset => self.reset_link_ttl_secs,
        }
    }

    /// Consecutive failures from which the next attempt is delayed.
    #[must_use]
    pub const fn delay_after(&self) -> u32 {
        self.delay_after
    }

    /// Consecutive failures that lock the factor.
    #[must_use]
    pub const fn lock_after(&self) -> u32 {
        self.lock_after
    }

    /// The first delay, in seconds; each further failure doubles it.
    #[must_use]
    pub const fn base_delay_secs(&self) -> u64 {
        self.base_delay_secs
    }

    /// Consecutive wrong passwords from which the next password attempt is delayed. The
    /// password limiter never locks (RL-4, RL-7): spraying passwords cannot lock an account.
    #[must_use]
    pub const fn password_delay_after(&self) -> u32 {
        self.password_delay_after
    }

    /// The first password delay, in seconds; each further wrong password doubles it.
    #[must_use]
    pub const fn password_base_delay_secs(&self) -> u64 {
        self.password_base_delay_secs
    }

    /// How long a password attempt must wait after `failures` consecutive wrong passwords,
    /// in seconds: 0 below [`Self::password_delay_after`], then
    /// `password_base × 2^(failures − password_delay_after)`, each delay capped at one hour.
    /// With the defaults: 10 → 60, 11 → 120, 12 → 240, … 16 and more → 3 600.
    #[must_use]
    pub const fn password_delay_secs(&self, failures: u32) -> u64 {
        doubling_delay(
            failures,
            self.password_delay_after,
            self.password_base_delay_secs,
        )
    }

    /// Wrong codes a link's last step accepts before the link (and its candidate) is voided
    /// (SETUP-2). They never count on the active factor's failure counter.
    #[must_use]
    pub const fn setup_attempts(&self) -> u32 {
        self.setup_attempts
    }

    /// How long the proof returned by the identity step stays usable, in seconds (SETUP-1).
    #[must_use]
    pub const fn setup_proof_ttl_secs(&self) -> u64 {
        self.setup_proof_ttl_secs
    }

    /// Link e-mails allowed per admin and purpose within [`Self::email_window_secs`].
    #[must_use]
    pub const fn emails_per_window(&self) -> u32 {
        self.emails_per_window
    }

    /// The e-mail rate-limit window, in seconds.
    #[must_use]
    pub const fn email_window_secs(&self) -> u64 {
        self.email_window_secs
    }

    /// TOTP parameters given to new enrolments (existing factors keep their own).
    #[must_use]
    pub const fn totp(&self) -> &TotpParams {
        &self.totp
    }

    /// How long an attempt must wait after `failures` consecutive failures, in seconds:
    /// 0 below [`Self::delay_after`], then `base × 2^(failures − delay_after)`, each delay
    /// capped at one hour. With the defaults: 5 → 30, 6 → 60, 7 → 120, 8 → 240, 9 → 480.
    #[must_use]
    pub const fn delay_secs(&self, failures: u32) -> u64 {
        doubling_delay(failures, self.delay_after, self.base_delay_secs)
    }
}

/// 0 below `after` failures, then `base × 2^(failures − after)`, capped at one hour.
const fn doubling_delay(failures: u32, after: u32, base: u64) -> u64 {
    if failures < after {
        return 0;
    }
    let shift = failures - after;
    let delay = if shift >= 32 {
        MAX_DELAY_SECS
    } else {
        base.saturating_mul(1_u64 << shift)
    };
    if delay > MAX_DELAY_SECS {
        MAX_DELAY_SECS
    } else {
        delay
    }
}

/// Builder for [`LifecycleConfig`]; [`LifecycleConfigBuilder::build`] checks every bound.
#[derive(Debug, Clone)]
#[must_use]
pub struct LifecycleConfigBuilder {
    config: LifecycleConfig,
}

impl LifecycleConfigBuilder {
    /// Setup link lifetime in seconds (1 ..= 86 400).
    pub const fn setup_link_ttl_secs(mut self, secs: u64) -> Self {
        self.config.setup_link_ttl_secs = secs;
        self
    }

    /// Reset link lifetime in seconds (1 ..= 86 400).
    pub const fn reset_link_ttl_secs(mut self, secs: u64) -> Self {
        self.config.reset_link_ttl_secs = secs;
        self
    }

    /// Failures from which attempts are delayed (1 ..= 100, at most `lock_after`).
    pub const fn delay_after(mut self, failures: u32) -> Self {
        self.config.delay_after = failures;
        self
    }

    /// Failures that lock the factor (1 ..= 100).
    pub const fn lock_after(mut self, failures: u32) -> Self {
        self.config.lock_after = failures;
        self
    }

    /// First delay in seconds (1 ..= 3 600).
    pub const fn base_delay_secs(mut self, secs: u64) -> Self {
        self.config.base_delay_secs = secs;
        self
    }

    /// Wrong passwords from which password attempts are delayed (1 ..= 100; default 10).
    pub const fn password_delay_after(mut self, failures: u32) -> Self {
        self.config.password_delay_after = failures;
        self
    }

    /// First password delay in seconds (1 ..= 3 600; default 60).
    pub const fn password_base_delay_secs(mut self, secs: u64) -> Self {
        self.config.password_base_delay_secs = secs;
        self
    }

    /// Wrong codes on one link's last step before the link is voided (1 ..= 100; default 5).
    pub const fn setup_attempts(mut self, attempts: u32) -> Self {
        self.config.setup_attempts = attempts;
        self
    }

    /// Lifetime of the identity-step proof in seconds (1 ..= 3 600; default 900).
    pub const fn setup_proof_ttl_secs(mut self, secs: u64) -> Self {
        self.config.setup_proof_ttl_secs = secs;
        self
    }

    /// Link e-mails per admin and purpose per window (1 ..= 100).
    pub const fn emails_per_window(mut self, count: u32) -> Self {
        self.config.emails_per_window = count;
        self
    }

    /// E-mail rate-limit window in seconds (1 ..= 86 400).
    pub const fn email_window_secs(mut self, secs: u64) -> Self {
        self.config.email_window_secs = secs;
        self
    }

    /// TOTP parameters for new enrolments (validated by their own type).
    pub fn totp(mut self, params: TotpParams) -> Self {
        self.config.totp = params;
        self
    }

    /// Checks every bound and returns the configuration.
    ///
    /// # Errors
    /// The first [`LifecycleConfigError`] found.
    pub fn build(self) -> Result<LifecycleConfig, LifecycleConfigError> {
        let c = self.config;
        range(
            "setup_link_ttl_secs",
            c.setup_link_ttl_secs,
            1,
            MAX_LINK_TTL_SECS,
        )?;
        range(
            "reset_link_ttl_secs",
            c.reset_link_ttl_secs,
            1,
            MAX_LINK_TTL_SECS,
        )?;
        range("delay_after", c.delay_after.into(), 1, MAX_THRESHOLD.into())?;
        range("lock_after", c.lock_after.into(), 1, MAX_THRESHOLD.into())?;
        if c.delay_after > c.lock_after {
            return Err(LifecycleConfigError::DelayAboveLock {
                delay_after: c.delay_after,
                lock_after: c.lock_after,
            });
        }
        range("base_delay_secs", c.base_delay_secs, 1, MAX_DELAY_SECS)?;
        range(
            "password_delay_after",
            c.password_delay_after.into(),
            1,
            MAX_THRESHOLD.into(),
        )?;
        range(
            "password_base_delay_secs",
            c.password_base_delay_secs,
            1,
            MAX_DELAY_SECS,
        )?;
        range(
            "setup_attempts",
            c.setup_attempts.into(),
            1,
            MAX_THRESHOLD.into(),
        )?;
        range(
            "setup_proof_ttl_secs",
            c.setup_proof_ttl_secs,
            1,
            MAX_DELAY_SECS,
        )?;
        range(
            "emails_per_window",
            c.emails_per_window.into(),
            1,
            MAX_EMAILS_PER_WINDOW.into(),
        )?;
        range(
            "email_window_secs",
            c.email_window_secs,
            1,
            MAX_EMAIL_WINDOW_SECS,
        )?;
        Ok(c)
    }
}

fn range(field: &'static str, value: u64, min: u64, max: u64) -> Result<(), LifecycleConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(LifecycleConfigError::OutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let c = LifecycleConfig::builder().build().unwrap();
        assert_eq!(c, LifecycleConfig::default());
        assert_eq!(c.setup_link_ttl_secs(), 86_400);
        assert_eq!(c.reset_link_ttl_secs(), 3_600);
        assert_eq!((c.delay_after(), c.lock_after()), (5, 10));
        assert_eq!(c.base_delay_secs(), 30);
        assert_eq!((c.emails_per_window(), c.email_window_secs()), (3, 900));
        assert_eq!(
            (c.password_delay_after(), c.password_base_delay_secs()),
            (10, 60)
        );
        assert_eq!((c.setup_attempts(), c.setup_proof_ttl_secs()), (5, 900));
    }

    #[test]
    fn password_delay_table() {
        let c = LifecycleConfig::default();
        let got: Vec<u64> = (8..=17).map(|n| c.password_delay_secs(n)).collect();
        assert_eq!(
            got,
            [0, 0, 60, 120, 240, 480, 960, 1_920, 3_600, 3_600],
            "doubling from 1 min at the 10th wrong password, capped at 1 h"
        );
        assert_eq!(c.password_delay_secs(u32::MAX), 3_600);
        let one = LifecycleConfig::builder()
            .password_delay_after(1)
            .password_base_delay_secs(5)
            .build()
            .unwrap();
        assert_eq!(
            (one.password_delay_secs(0), one.password_delay_secs(2)),
            (0, 10)
        );
    }

    #[test]
    fn delay_table() {
        let c = LifecycleConfig::default();
        let got: Vec<u64> = (0..=10).map(|n| c.delay_secs(n)).collect();
        assert_eq!(got, [0, 0, 0, 0, 0, 30, 60, 120, 240, 480, 960]);
        // Capped at one hour, never overflowing.
        let wide = LifecycleConfig::builder()
            .delay_after(1)
            .lock_after(100)
            .base_delay_secs(3_600)
            .build()
            .unwrap();
        assert_eq!(wide.delay_secs(1), 3_600);
        assert_eq!(wide.delay_secs(2), 3_600);
        assert_eq!(wide.delay_secs(u32::MAX), 3_600);
        let slow = LifecycleConfig::builder()
            .delay_after(1)
            .lock_after(100)
            .base_delay_secs(1)
            .build()
            .unwrap();
        assert_eq!(slow.delay_secs(12), 2_048);
        assert_eq!(slow.delay_secs(13), 3_600);
    }

    #[test]
    fn bounds_are_enforced() {
        let b = LifecycleConfig::builder;
        let bad = [
            (b().lock_after(0).build(), "lock_after"),
            (b().setup_attempts(0).build(), "setup_attempts"),
            (b().setup_attempts(101).build(), "setup_attempts"),
            (b().setup_proof_ttl_secs(0).build(), "setup_proof_ttl_secs"),
            (
                b().setup_proof_ttl_secs(3_601).build(),
                "setup_proof_ttl_secs",
            ),
            (b().lock_after(101).build(), "lock_after"),
            (b().delay_after(0).build(), "delay_after"),
            (b().delay_after(101).lock_after(100).build(), "delay_after"),
            (b().setup_link_ttl_secs(0).build(), "setup_link_ttl_secs"),
            (
                b().setup_link_ttl_secs(86_401).build(),
                "setup_link_ttl_secs",
            ),
            (
                b().reset_link_ttl_secs(86_401).build(),
                "reset_link_ttl_secs",
            ),
            (b().base_delay_secs(0).build(), "base_delay_secs"),
            (b().base_delay_secs(3_601).build(), "base_delay_secs"),
            (b().password_delay_after(0).build(), "password_delay_after"),
            (
                b().password_delay_after(101).build(),
                "password_delay_after",
            ),
            (
                b().password_base_delay_secs(0).build(),
                "password_base_delay_secs",
            ),
            (
                b().password_base_delay_secs(3_601).build(),
                "password_base_delay_secs",
            ),
            (b().emails_per_window(0).build(), "emails_per_window"),
            (b().emails_per_window(101).build(), "emails_per_window"),
            (b().email_window_secs(0).build(), "email_window_secs"),
            (b().email_window_secs(86_401).build(), "email_window_secs"),
        ];
        for (result, field) in bad {
            match result {
                Err(LifecycleConfigError::OutOfRange { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: expected OutOfRange, got {other:?}"),
            }
        }
        assert_eq!(
            b().delay_after(11).build(),
            Err(LifecycleConfigError::DelayAboveLock {
                delay_after: 11,
                lock_after: 10
            })
        );
        // The edges themselves are fine.
        let edges = b()
            .lock_after(100)
            .delay_after(100)
            .setup_link_ttl_secs(86_400)
            .reset_link_ttl_secs(1)
            .base_delay_secs(3_600)
            .emails_per_window(100)
            .email_window_secs(86_400)
            .build()
            .unwrap();
        assert_eq!(edges.delay_secs(99), 0);
        assert_eq!(edges.delay_secs(100), 3_600);
        let lock_one = b().lock_after(1).delay_after(1).build().unwrap();
        assert_eq!(lock_one.lock_after(), 1);
    }

    #[test]
    fn error_messages_are_lowercase_without_period() {
        let e = LifecycleConfig::builder()
            .lock_after(0)
            .build()
            .unwrap_err();
        let msg = e.to_string();
        assert_eq!(msg, "`lock_after` must be in 1..=100, got 0");
        assert!(!msg.ends_with('.'));
    }
}
