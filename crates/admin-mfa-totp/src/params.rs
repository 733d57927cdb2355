//! TOTP parameters: algorithm, digits, period and acceptance window.

use core::fmt;
use core::str::FromStr;

/// Shortest period accepted, in seconds.
pub const MIN_PERIOD: u64 = 15;
/// Longest period accepted, in seconds.
pub const MAX_PERIOD: u64 = 120;

/// The HMAC hash function.
///
/// SHA1 is the default and the only choice every authenticator app supports; SHA256 and
/// SHA512 are ignored by some apps, which then show wrong codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "UPPERCASE"))]
pub enum Algorithm {
    /// HMAC-SHA1 (default, RFC 4226).
    #[default]
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl Algorithm {
    /// The name used in otpauth URIs: `SHA1`, `SHA256` or `SHA512`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    pub(crate) const fn to_totp_rs(self) -> totp_rs::Algorithm {
        match self {
            Self::Sha1 => totp_rs::Algorithm::SHA1,
            Self::Sha256 => totp_rs::Algorithm::SHA256,
            Self::Sha512 => totp_rs::Algorithm::SHA512,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = ParamsError;

    /// Parses `SHA1`, `SHA256` or `SHA512`, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Sha1, Self::Sha256, Self::Sha512]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or(ParamsError::UnsupportedAlgorithm)
    }
}

/// Which time steps around the current one a code may come from.
///
/// Nothing wider than one step either side can be expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Window {
    /// Steps `[T − 1, T]` (default): a code lives at most two periods, and a slow
    /// client or network is tolerated.
    #[default]
    PreviousAndCurrent,
    /// Steps `[T − 1, T + 1]`: also tolerates a client clock one period fast.
    PlusMinusOne,
}

impl Window {
    /// The window as `(steps back, steps ahead)`: `(1, 0)` or `(1, 1)`.
    #[must_use]
    pub const fn as_offsets(self) -> (u64, u64) {
        match self {
            Self::PreviousAndCurrent => (1, 0),
            Self::PlusMinusOne => (1, 1),
        }
    }

    /// The window for `(steps back, steps ahead)`, for configuration that counts steps.
    ///
    /// # Errors
    ///
    /// [`ParamsError::UnsupportedWindow`] for anything but `(1, 0)` and `(1, 1)`.
    pub const fn from_offsets(back: u64, ahead: u64) -> Result<Self, ParamsError> {
        match (back, ahead) {
            (1, 0) => Ok(Self::PreviousAndCurrent),
            (1, 1) => Ok(Self::PlusMinusOne),
            _ => Err(ParamsError::UnsupportedWindow),
        }
    }
}

/// Why parameters were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    /// Only 6 and 8 digits are supported.
    #[error("unsupported number of digits `{0}`: use 6 or 8")]
    UnsupportedDigits(u8),
    /// The period is outside 15–120 seconds.
    #[error("unsupported period `{0}` s: use 15 to 120 seconds")]
    UnsupportedPeriod(u64),
    /// The algorithm is not SHA1, SHA256 or SHA512.
    #[error("unsupported algorithm: use SHA1, SHA256 or SHA512")]
    UnsupportedAlgorithm,
    /// The window is wider than one step either side, or does not include the previous step.
    #[error("unsupported window: use previous-and-current or plus-minus-one")]
    UnsupportedWindow,
}

/// Validated TOTP parameters.
///
/// The default is SHA1, 6 digits, 30 s and the `[T − 1, T]` window, the only combination
/// every authenticator app supports. Build others with [`TotpParams::builder`]; invalid
/// values are refused by [`TotpParamsBuilder::build`].
///
/// ```
/// use admin_mfa_totp::{Algorithm, TotpParams, Window};
///
/// let params = TotpParams::builder()
///     .algorithm(Algorithm::Sha256)
///     .digits(8)
///     .period(60)
///     .window(Window::PlusMinusOne)
///     .build()?;
/// assert_eq!(params.digits(), 8);
/// assert!(TotpParams::builder().digits(7).build().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "TotpParamsBuilder"))]
pub struct TotpParams {
    algorithm: Algorithm,
    digits: u8,
    period: u64,
    window: Window,
}

impl Default for TotpParams {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
            window: Window::PreviousAndCurrent,
        }
    }
}

impl TotpParams {
    /// A builder starting from the defaults.
    #[must_use]
    pub fn builder() -> TotpParamsBuilder {
        TotpParamsBuilder::default()
    }

    /// The HMAC algorithm.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Number of digits in a code: 6 or 8.
    #[must_use]
    pub const fn digits(&self) -> u8 {
        self.digits
    }

    /// Length of a time step in seconds: 15 to 120.
    #[must_use]
    pub const fn period(&self) -> u64 {
        self.period
    }

    /// The acceptance window.
    #[must_use]
    pub const fn window(&self) -> Window {
        self.window
    }

    /// The time step that contains `now_unix_secs` (`floor(t / period)`, T0 = 0).
    #[must_use]
    pub const fn step_at(&self, now_unix_secs: u64) -> crate::TimeStep {
        // `period` is at least 15, so this never divides by zero.
        crate::TimeStep::new(now_unix_secs / self.period)
    }

    /// A copy with another window (parameters an otpauth URI does not carry).
    #[must_use]
    pub const fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }
}

/// Builder for [`TotpParams`]; see [`TotpParams::builder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct TotpParamsBuilder {
    algorithm: Algorithm,
    digits: u8,
    period: u64,
    window: Window,
}

impl Default for TotpParamsBuilder {
    fn default() -> Self {
        let d = TotpParams::default();
        Self {
            algorithm: d.algorithm,
            digits: d.digits,
            period: d.period,
            window: d.window,
        }
    }
}

impl TotpParamsBuilder {
    /// Sets the HMAC algorithm.
    #[must_use]
    pub const fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Sets the number of digits (6 or 8 are accepted by [`TotpParamsBuilder::build`]).
    #[must_use]
    pub const fn digits(mut self, digits: u8) -> Self {
        self.digits = digits;
        self
    }

    /// Sets the period in seconds (15 to 120 are accepted by [`TotpParamsBuilder::build`]).
    #[must_use]
    pub const fn period(mut self, seconds: u64) -> Self {
        self.period = seconds;
        self
    }

    /// Sets the acceptance window.
    #[must_use]
    pub const fn window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Validates and builds the parameters.
    ///
    /// # Errors
    ///
    /// [`ParamsError::UnsupportedDigits`] unless 6 or 8 digits,
    /// [`ParamsError::UnsupportedPeriod`] unless 15 to 120 seconds.
    pub const fn build(self) -> Result<TotpParams, ParamsError> {
        if self.digits != 6 && self.digits != 8 {
            return Err(ParamsError::UnsupportedDigits(self.digits));
        }
        if self.period < MIN_PERIOD || self.period > MAX_PERIOD {
            return Err(ParamsError::UnsupportedPeriod(self.period));
        }
        Ok(TotpParams {
            algorithm: self.algorithm,
            digits: self.digits,
            period: self.period,
            window: self.window,
        })
    }
}

impl TryFrom<TotpParamsBuilder> for TotpParams {
    type Error = ParamsError;

    fn try_from(builder: TotpParamsBuilder) -> Result<Self, Self::Error> {
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_pinned() {
        let p = TotpParams::default();
        assert_eq!(p.algorithm(), Algorithm::Sha1);
        assert_eq!(p.digits(), 6);
        assert_eq!(p.period(), 30);
        // Guard test (rbenaley/Vauban#4): the default window is [-1, 0], not ±1.
        assert_eq!(p.window(), Window::PreviousAndCurrent);
        assert_eq!(p.window().as_offsets(), (1, 0));
        assert_eq!(TotpParams::builder().build(), Ok(p));
    }

    #[test]
    fn t_vec_6_digits_other_than_6_and_8_are_refused() {
        for d in [0, 1, 5, 7, 9, 10, u8::MAX] {
            assert_eq!(
                TotpParams::builder().digits(d).build(),
                Err(ParamsError::UnsupportedDigits(d))
            );
        }
        assert!(TotpParams::builder().digits(6).build().is_ok());
        assert!(TotpParams::builder().digits(8).build().is_ok());
    }

    #[test]
    fn t_clk_4_periods() {
        for ok in [15, 30, 60, 120] {
            assert_eq!(
                TotpParams::builder().period(ok).build().unwrap().period(),
                ok
            );
        }
        for bad in [0, 1, 14, 121, u64::MAX] {
            assert_eq!(
                TotpParams::builder().period(bad).build(),
                Err(ParamsError::UnsupportedPeriod(bad))
            );
        }
    }

    #[test]
    fn t_clk_3_wider_windows_are_refused() {
        assert_eq!(Window::from_offsets(1, 0), Ok(Window::PreviousAndCurrent));
        assert_eq!(Window::from_offsets(1, 1), Ok(Window::PlusMinusOne));
        for (back, ahead) in [(2, 0), (2, 2), (0, 0), (0, 1), (1, 2), (u64::MAX, u64::MAX)] {
            assert_eq!(
                Window::from_offsets(back, ahead),
                Err(ParamsError::UnsupportedWindow),
                "({back}, {ahead})"
            );
        }
    }

    #[test]
    fn algorithm_names() {
        for a in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            assert_eq!(a.as_str().parse::<Algorithm>(), Ok(a));
            assert_eq!(a.as_str().to_lowercase().parse::<Algorithm>(), Ok(a));
            assert_eq!(a.to_string(), a.as_str());
        }
        for bad in ["MD5", "SHA-1", "", "SHA1 ", "SHA384"] {
            assert_eq!(
                bad.parse::<Algorithm>(),
                Err(ParamsError::UnsupportedAlgorithm)
            );
        }
    }

    #[test]
    fn step_at_boundaries() {
        let p = TotpParams::default();
        assert_eq!(p.step_at(0).get(), 0);
        assert_eq!(p.step_at(29).get(), 0);
        assert_eq!(p.step_at(30).get(), 1);
        assert_eq!(p.step_at(u64::MAX).get(), u64::MAX / 30);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_validates_on_the_way_in() {
        let p = TotpParams::builder()
            .algorithm(Algorithm::Sha512)
            .digits(8)
            .window(Window::PlusMinusOne)
            .build()
            .unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"algorithm":"SHA512","digits":8,"period":30,"window":"plus-minus-one"}"#
        );
        assert_eq!(serde_json::from_str::<TotpParams>(&json).unwrap(), p);
        assert_eq!(
            serde_json::from_str::<TotpParams>("{}").unwrap(),
            TotpParams::default()
        );
        for bad in [
            r#"{"digits":7}"#,
            r#"{"period":0}"#,
            r#"{"period":121}"#,
            r#"{"algorithm":"MD5"}"#,
            r#"{"window":"plus-minus-two"}"#,
            r#"{"skew":5}"#,
        ] {
            assert!(serde_json::from_str::<TotpParams>(bad).is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::to_string(&Algorithm::Sha256).unwrap(),
            r#""SHA256""#
        );
        assert_eq!(
            serde_json::to_string(&Window::PreviousAndCurrent).unwrap(),
            r#""previous-and-current""#
        );
        let step = crate::TimeStep::new(u64::MAX);
        let json = serde_json::to_string(&step).unwrap();
        assert_eq!(json, u64::MAX.to_string());
        assert_eq!(
            serde_json::from_str::<crate::TimeStep>(&json).unwrap(),
            step
        );
    }
}
