//! The Key URI Format (`otpauth://totp/…`), emitted and parsed strictly, and imported leniently.

use core::fmt::{self, Write as _};

use zeroize::Zeroizing;

use crate::{Algorithm, ParamsError, SecretError, TotpParams, TotpSecret};

/// Longest issuer, in bytes of UTF-8.
pub const MAX_ISSUER_LEN: usize = 64;
/// Longest account name, in bytes of UTF-8.
pub const MAX_ACCOUNT_LEN: usize = 64;
/// Longest URI [`OtpauthUri::parse`] accepts, in bytes; longer input is refused before any
/// other work. Every URI [`OtpauthUri::to_uri`] emits is shorter (at most about 750 bytes,
/// which still fits a QR code of version 22 at error correction level M).
pub const MAX_URI_LEN: usize = 1024;

const SCHEME: &str = "otpauth://";

/// Why an otpauth URI could not be built or parsed.
///
/// No variant carries the secret or any part of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// The input is longer than [`MAX_URI_LEN`] bytes.
    #[error("otpauth uri is longer than {MAX_URI_LEN} bytes")]
    TooLong,
    /// The scheme is not `otpauth://`.
    #[error("not an otpauth uri")]
    NotOtpauth,
    /// The type is not `totp` (`hotp` with a counter, or anything else).
    #[error("unsupported otp type: only `totp` is supported")]
    UnsupportedType,
    /// An `hotp` URI without the `counter` parameter it requires.
    #[error("hotp uri without a `counter` parameter")]
    MissingCounter,
    /// The `secret` parameter is missing.
    #[error("missing `secret` parameter")]
    MissingSecret,
    /// The `issuer` parameter is missing.
    #[error("missing `issuer` parameter")]
    MissingIssuer,
    /// The label has no `issuer:` prefix.
    #[error("label has no issuer prefix")]
    MissingIssuerPrefix,
    /// The label's issuer prefix differs from the `issuer` parameter.
    #[error("label issuer differs from the `issuer` parameter")]
    IssuerMismatch,
    /// A parameter appears twice.
    #[error("duplicate `{0}` parameter")]
    DuplicateParameter(&'static str),
    /// A parameter this parser does not know (or `counter` on a `totp` URI).
    #[error("unknown parameter")]
    UnknownParameter,
    /// A numeric parameter (`digits`, `period`) is not a plain decimal number.
    #[error("`{0}` is not a decimal number")]
    InvalidNumber(&'static str),
    /// Bad percent-encoding, a character that must be encoded, invalid UTF-8, a fragment,
    /// or a malformed label or query.
    #[error("malformed otpauth uri")]
    Malformed,
    /// The issuer is empty.
    #[error("issuer is empty")]
    EmptyIssuer,
    /// The account name is empty.
    #[error("account name is empty")]
    EmptyAccount,
    /// The issuer is longer than [`MAX_ISSUER_LEN`] bytes.
    #[error("issuer is longer than {MAX_ISSUER_LEN} bytes")]
    IssuerTooLong,
    /// The account name is longer than [`MAX_ACCOUNT_LEN`] bytes.
    #[error("account name is longer than {MAX_ACCOUNT_LEN} bytes")]
    AccountTooLong,
    /// The issuer contains `:`, which the Key URI Format forbids.
    #[error("issuer contains `:`")]
    ColonInIssuer,
    /// The account name contains `:`, which the Key URI Format forbids.
    #[error("account name contains `:`")]
    ColonInAccount,
    /// The issuer has control characters or leading or trailing whitespace.
    #[error("issuer has control characters or surrounding whitespace")]
    InvalidIssuer,
    /// The account name has control characters or leading or trailing whitespace.
    #[error("account name has control characters or surrounding whitespace")]
    InvalidAccount,
    /// `algorithm`, `digits` or `period` is not supported.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// The `secret` is not canonical unpadded base32, or too short or long.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// An otpauth URI for a TOTP authenticator: issuer, account, secret and parameters.
///
/// The URI carries the issuer twice, as label prefix and as `issuer` parameter; both are
/// percent-encoded per RFC 3986 (only `A–Z a–z 0–9 - . _ ~` stay literal, so `+` is `%2B` and
/// a space `%20`), and the secret is unpadded base32. Issuer and account must be 1–64 bytes
/// without `:`, control characters or surrounding whitespace.
///
/// The [`Window`](crate::Window) is server policy and not part of the URI: [`OtpauthUri::parse`]
/// returns the default window, so `parse(to_uri(x)) == x` for every `x` built with it.
///
/// ```
/// use admin_mfa_totp::{OtpauthUri, TotpParams, TotpSecret};
///
/// let secret = TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
/// let uri = OtpauthUri::new("ACME Co", "admin+mfa@example.com", secret, TotpParams::default())?;
/// let text = uri.to_uri();
/// assert_eq!(
///     text.as_str(),
///     "otpauth://totp/ACME%20Co:admin%2Bmfa%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
///      &issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
/// );
/// assert_eq!(OtpauthUri::parse(&text)?, uri);
/// assert!(!format!("{uri:?}").contains("GEZD"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OtpauthUri {
    issuer: String,
    account: String,
    secret: TotpSecret,
    params: TotpParams,
}

impl fmt::Debug for OtpauthUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtpauthUri")
            .field("issuer", &self.issuer)
            .field("account", &self.account)
            .field("secret", &self.secret)
            .field("params", &self.params)
            .finish()
    }
}

#[derive(Clone, Copy)]
enum Name {
    Issuer,
    Account,
}

fn check_name(value: &str, which: Name) -> Result<(), UriError> {
    let (max, empty, too_long, colon, invalid) = match which {
        Name::Issuer => (
            MAX_ISSUER_LEN,
            UriError::EmptyIssuer,
            UriError::IssuerTooLong,
            UriError::ColonInIssuer,
            UriError::InvalidIssuer,
        ),
        Name::Account => (
            MAX_ACCOUNT_LEN,
            UriError::EmptyAccount,
            UriError::AccountTooLong,
            UriError::ColonInAccount,
            UriError::InvalidAccount,
        ),
    };
    if value.is_empty() {
        return Err(empty);
    }
    if value.len() > max {
        return Err(too_long);
    }
    if value.contains(':') {
        return Err(colon);
    }
    if value.chars().any(char::is_control) || value.trim() != value {
        return Err(invalid);
    }
    Ok(())
}

impl OtpauthUri {
    /// Checks issuer and account and bundles them with the secret and parameters.
    ///
    /// # Errors
    ///
    /// For an issuer or account that is empty, longer than 64 bytes, contains `:`, a control
    /// character, or leading or trailing whitespace.
    pub fn new(
        issuer: impl Into<String>,
        account: impl Into<String>,
        secret: TotpSecret,
        params: TotpParams,
    ) -> Result<Self, UriError> {
        let issuer = issuer.into();
        let account = account.into();
        check_name(&issuer, Name::Issuer)?;
        check_name(&account, Name::Account)?;
        Ok(Self {
            issuer,
            account,
            secret,
            params,
        })
    }

    /// The issuer (service name shown in the app).
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The account name (usually the admin's email).
    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The secret.
    #[must_use]
    pub fn secret(&self) -> &TotpSecret {
        &self.secret
    }

    /// The parameters.
    #[must_use]
    pub fn params(&self) -> &TotpParams {
        &self.params
    }

    /// Splits into issuer, account, secret and parameters.
    #[must_use]
    pub fn into_parts(self) -> (String, String, TotpSecret, TotpParams) {
        (self.issuer, self.account, self.secret, self.params)
    }

    /// The URI text. It contains the secret: show it only to the enrolling user.
    #[must_use]
    pub fn to_uri(&self) -> Zeroizing<String> {
        // Sized once for the longest URI the limits allow, so no reallocation leaves a copy of
        // the secret behind in freed memory.
        let mut out = Zeroizing::new(String::with_capacity(MAX_URI_LEN));
        out.push_str(SCHEME);
        out.push_str("totp/");
        percent_encode(&self.issuer, &mut out);
        out.push(':');
        percent_encode(&self.account, &mut out);
        out.push_str("?secret=");
        out.push_str(&self.secret.to_base32());
        out.push_str("&issuer=");
        percent_encode(&self.issuer, &mut out);
        out.push_str("&algorithm=");
        out.push_str(self.params.algorithm().as_str());
        // Writing integers to a String cannot fail.
        let _ = write!(
            out,
            "&digits={}&period={}",
            self.params.digits(),
            self.params.period()
        );
        out
    }

    /// Parses an otpauth URI strictly.
    ///
    /// Accepted: scheme and type in any ASCII case; the label `issuer:account` with a literal
    /// or encoded (`%3A`) colon; percent escapes in either hex case; the parameters `secret`
    /// (required, canonical unpadded upper-case base32, 16–64 bytes), `issuer` (required, equal
    /// to the label prefix), `algorithm` (any case), `digits` and `period` (defaults SHA1, 6,
    /// 30), each at most once and in any order. Literal characters other than
    /// `A–Z a–z 0–9 - . _ ~ @` (and `:` as the label separator or inside a value) must be
    /// percent-encoded; `+` is refused because its meaning is ambiguous.
    ///
    /// This is the exact grammar [`OtpauthUri::to_uri`] emits (plus the harmless variations
    /// above). To take in URIs that other tools wrote, use [`OtpauthUri::parse_lenient`].
    ///
    /// The returned parameters have the default [`Window`](crate::Window).
    ///
    /// # Errors
    ///
    /// A [`UriError`] naming the first problem found.
    pub fn parse(text: &str) -> Result<Self, UriError> {
        if text.len() > MAX_URI_LEN {
            return Err(UriError::TooLong);
        }
        parse_with(text, Mode::Strict)
    }

    /// Parses an otpauth URI that another tool produced, tolerating the deviations such tools
    /// are known for, and refusing everything else exactly as [`OtpauthUri::parse`] does.
    ///
    /// On top of what [`OtpauthUri::parse`] accepts, this tolerates:
    ///
    /// * **the secret** in lower or mixed case, and with RFC 4648 `=` padding (literal or
    ///   `%3D`) when the padded text is a multiple of 8 characters;
    /// * **one issuer instead of two**: a label without the `issuer:` prefix when the `issuer`
    ///   parameter is present, or a prefix without the `issuer` parameter (the issuer is then
    ///   taken from the other place). When both are present they must still be equal;
    /// * **spaces after the label's colon** (`ACME:%20alice`, as the Key URI Format allows);
    /// * **characters left unencoded** that are harmless in a URI: `/` (Python's `quote`),
    ///   `'`, `!`, `*`, `(` and `)` (JavaScript's `encodeURIComponent`) and literal spaces;
    /// * **empty query pairs**, such as a trailing `&`;
    /// * **an `image` parameter** (a logo URL some apps show), whose value is ignored;
    /// * **ASCII whitespace around the whole text**, as a paste often carries a newline.
    ///
    /// Still refused, each with its [`UriError`]: a secret outside 16–64 bytes or with bad
    /// base32 (including non-canonical trailing bits), an unsupported `algorithm`, `digits` or
    /// `period`, an `issuer` parameter that differs from the label prefix, no issuer at all
    /// (neither prefix nor parameter: this type always names its issuer), `:` or control
    /// characters in a name, literal non-ASCII or control characters anywhere, `+`, a
    /// fragment, duplicate or other unknown parameters, `hotp` and input longer than
    /// [`MAX_URI_LEN`] bytes. No input makes it panic.
    ///
    /// Whatever this accepts re-emits with [`OtpauthUri::to_uri`] as a URI that
    /// [`OtpauthUri::parse`] accepts, and every URI [`OtpauthUri::parse`] accepts gives the
    /// same value here.
    ///
    /// ```
    /// use admin_mfa_totp::{OtpauthUri, UriError};
    ///
    /// // No issuer prefix, a lower-case padded secret, `/` and `'` unencoded, a trailing `&`.
    /// let text = "otpauth://totp/o'brien@example.com?secret=gezdgnbvgy3tqojqgezdgnbvgy3tqojq&\
    ///             issuer=Ops/EU&image=https%3A%2F%2Fexample.com%2Flogo.png&";
    /// assert!(OtpauthUri::parse(text).is_err());
    /// let uri = OtpauthUri::parse_lenient(text)?;
    /// assert_eq!(uri.issuer(), "Ops/EU");
    /// assert_eq!(uri.account(), "o'brien@example.com");
    /// // The imported key re-emits in the library's own strict form.
    /// assert_eq!(OtpauthUri::parse(&uri.to_uri())?, uri);
    ///
    /// // Unsafe input is still refused.
    /// let mismatch = "otpauth://totp/ACME:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Evil";
    /// assert_eq!(OtpauthUri::parse_lenient(mismatch), Err(UriError::IssuerMismatch));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`UriError`] naming the first problem found.
    pub fn parse_lenient(text: &str) -> Result<Self, UriError> {
        if text.len() > MAX_URI_LEN {
            return Err(UriError::TooLong);
        }
        let text = text.trim_ascii();
        // Every other byte is checked by percent-decoding, but the ignored `image` value is
        // never decoded: refuse literal control and non-ASCII bytes anywhere up front.
        if text.bytes().any(|b| !b.is_ascii() || b.is_ascii_control()) {
            return Err(UriError::Malformed);
        }
        parse_with(text, Mode::Lenient)
    }
}

/// Which grammar a parse follows: the library's own, or that plus what other tools emit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Strict,
    Lenient,
}

/// The parse shared by [`OtpauthUri::parse`] and [`OtpauthUri::parse_lenient`]; each
/// tolerance is one `mode` test, so the strict path is the lenient one minus those.
fn parse_with(text: &str, mode: Mode) -> Result<OtpauthUri, UriError> {
    let lenient = mode == Mode::Lenient;
    let rest = strip_prefix_ignore_case(text, SCHEME).ok_or(UriError::NotOtpauth)?;
    if rest.contains('#') {
        return Err(UriError::Malformed);
    }
    let (kind, rest) = rest.split_once('/').ok_or(UriError::Malformed)?;
    let (label, query) = rest.split_once('?').ok_or(UriError::MissingSecret)?;

    let query = Query::parse(query, mode)?;
    if kind.eq_ignore_ascii_case("hotp") {
        return Err(if query.counter {
            UriError::UnsupportedType
        } else {
            UriError::MissingCounter
        });
    }
    if !kind.eq_ignore_ascii_case("totp") {
        return Err(UriError::UnsupportedType);
    }
    if query.counter {
        return Err(UriError::UnknownParameter);
    }

    let label = percent_decode(label, Part::Label, mode)?;
    let (label_issuer, account) = match label.split_once(':') {
        Some((issuer, account)) => (Some(issuer), account),
        None if lenient => (None, label.as_str()),
        None => return Err(UriError::MissingIssuerPrefix),
    };
    let account = if lenient {
        account.trim_start_matches(' ')
    } else {
        account
    };
    if account.contains(':') {
        return Err(UriError::ColonInAccount);
    }
    if let Some(label_issuer) = label_issuer {
        check_name(label_issuer, Name::Issuer)?;
    }
    check_name(account, Name::Account)?;

    let secret_text = query.secret.ok_or(UriError::MissingSecret)?;
    let secret = if lenient {
        TotpSecret::from_padded_base32_nocase(&secret_text)?
    } else {
        TotpSecret::from_base32(&secret_text)?
    };
    let issuer = match (query.issuer, label_issuer) {
        (Some(issuer), label_issuer) => {
            check_name(&issuer, Name::Issuer)?;
            // Without a label prefix (lenient only) the parameter alone names the issuer.
            if label_issuer.is_some_and(|l| l != issuer) {
                return Err(UriError::IssuerMismatch);
            }
            issuer
        }
        (None, Some(label_issuer)) if lenient => label_issuer.to_owned(),
        (None, _) => return Err(UriError::MissingIssuer),
    };

    let mut builder = TotpParams::builder();
    if let Some(alg) = query.algorithm {
        builder = builder.algorithm(alg.parse::<Algorithm>()?);
    }
    if let Some(digits) = query.digits {
        let digits = parse_decimal(&digits, "digits")?;
        builder = builder.digits(u8::try_from(digits).unwrap_or(u8::MAX));
    }
    if let Some(period) = query.period {
        builder = builder.period(parse_decimal(&period, "period")?);
    }
    let params = builder.build()?;

    OtpauthUri::new(issuer, account, secret, params)
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        text.get(prefix.len()..)
    } else {
        None
    }
}

/// Plain decimal: ASCII digits only (no sign, no spaces), at most 20 of them, fits a `u64`.
fn parse_decimal(text: &str, name: &'static str) -> Result<u64, UriError> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UriError::InvalidNumber(name));
    }
    text.parse().map_err(|_| UriError::InvalidNumber(name))
}

/// The query parameters, each seen at most once. Values are percent-decoded.
#[derive(Default)]
struct Query {
    secret: Option<Zeroizing<String>>,
    issuer: Option<String>,
    algorithm: Option<String>,
    digits: Option<String>,
    period: Option<String>,
    counter: bool,
}

impl Query {
    fn parse(query: &str, mode: Mode) -> Result<Self, UriError> {
        let lenient = mode == Mode::Lenient;
        let mut q = Self::default();
        for pair in query.split('&') {
            if lenient && pair.is_empty() {
                continue;
            }
            let (name, value) = pair.split_once('=').ok_or(UriError::Malformed)?;
            if lenient && name == "image" {
                // A logo URL for the app; not part of the key, never decoded.
                continue;
            }
            if value.is_empty() {
                return Err(UriError::Malformed);
            }
            fn set<T>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), UriError> {
                if slot.is_some() {
                    return Err(UriError::DuplicateParameter(name));
                }
                *slot = Some(value);
                Ok(())
            }
            match name {
                "secret" => set(
                    &mut q.secret,
                    "secret",
                    Zeroizing::new(percent_decode(value, Part::Secret, mode)?),
                )?,
                "issuer" => set(
                    &mut q.issuer,
                    "issuer",
                    percent_decode(value, Part::Value, mode)?,
                )?,
                "algorithm" => set(
                    &mut q.algorithm,
                    "algorithm",
                    percent_decode(value, Part::Value, mode)?,
                )?,
                "digits" => set(
                    &mut q.digits,
                    "digits",
                    percent_decode(value, Part::Value, mode)?,
                )?,
                "period" => set(
                    &mut q.period,
                    "period",
                    percent_decode(value, Part::Value, mode)?,
                )?,
                "counter" => {
                    if q.counter {
                        return Err(UriError::DuplicateParameter("counter"));
                    }
                    q.counter = true;
                }
                _ => return Err(UriError::UnknownParameter),
            }
        }
        Ok(q)
    }
}

const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986: everything but the unreserved characters becomes `%XX` (upper-case hex).
fn percent_encode(text: &str, out: &mut String) {
    for &b in text.as_bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Where a percent-encoded piece of the URI sits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The label: at most one literal `:` (the separator).
    Label,
    /// The `secret` value: lenient mode also allows literal `=` (base32 padding).
    Secret,
    /// Any other parameter value.
    Value,
}

/// Characters [`OtpauthUri::parse_lenient`] takes literally although RFC 3986 would have
/// them encoded here: `/` (left by Python's `quote`), `'` `!` `*` `(` `)` (left by
/// JavaScript's `encodeURIComponent`) and a space.
const fn is_tolerated_literal(b: u8) -> bool {
    matches!(b, b'/' | b'\'' | b'!' | b'*' | b'(' | b')' | b' ')
}

/// Percent-decoding: unreserved characters, `@`, `:` and `%XX` escapes only (in lenient mode
/// also [`is_tolerated_literal`] ones, and `=` in the secret); the result must be UTF-8.
fn percent_decode(text: &str, part: Part, mode: Mode) -> Result<String, UriError> {
    let lenient = mode == Mode::Lenient;
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    let mut literal_colons = 0_usize;
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let hi = bytes
                    .next()
                    .and_then(hex_value)
                    .ok_or(UriError::Malformed)?;
                let lo = bytes
                    .next()
                    .and_then(hex_value)
                    .ok_or(UriError::Malformed)?;
                out.push((hi << 4) | lo);
            }
            b':' => {
                literal_colons += 1;
                if part == Part::Label && literal_colons > 1 {
                    return Err(UriError::ColonInAccount);
                }
                out.push(b);
            }
            b'@' => out.push(b),
            _ if is_unreserved(b) => out.push(b),
            _ if lenient && is_tolerated_literal(b) => out.push(b),
            b'=' if lenient && part == Part::Secret => out.push(b),
            _ => return Err(UriError::Malformed),
        }
    }
    String::from_utf8(out).map_err(|_| UriError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TotpParams, Window};

    const SEED_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    fn secret() -> TotpSecret {
        TotpSecret::from_base32(SEED_B32).unwrap()
    }

    fn uri(q: &str) -> String {
        format!("otpauth://totp/ACME:alice?{q}")
    }

    #[test]
    fn t_uri_1_exact_text() {
        let u = OtpauthUri::new(
            "ACME Co",
            "admin+mfa@example.com",
            secret(),
            TotpParams::default(),
        )
        .unwrap();
        let text = u.to_uri();
        assert_eq!(
            text.as_str(),
            "otpauth://totp/ACME%20Co:admin%2Bmfa%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(OtpauthUri::parse(&text).unwrap(), u);
    }

    #[test]
    fn t_uri_2_colons_are_refused() {
        let p = TotpParams::default();
        assert_eq!(
            OtpauthUri::new("ACME:Co", "alice", secret(), p),
            Err(UriError::ColonInIssuer)
        );
        assert_eq!(
            OtpauthUri::new("ACME", "alice:admin", secret(), p),
            Err(UriError::ColonInAccount)
        );
        for text in [
            format!("otpauth://totp/ACME:alice:x?secret={SEED_B32}&issuer=ACME"),
            format!("otpauth://totp/ACME:alice%3Ax?secret={SEED_B32}&issuer=ACME"),
        ] {
            assert_eq!(
                OtpauthUri::parse(&text),
                Err(UriError::ColonInAccount),
                "{text}"
            );
        }
        let text = format!("otpauth://totp/ACME:alice?secret={SEED_B32}&issuer=AC%3AME");
        assert_eq!(OtpauthUri::parse(&text), Err(UriError::ColonInIssuer));
    }

    #[test]
    fn t_uri_3_digits_and_algorithm_case() {
        let ok8 = uri(&format!("secret={SEED_B32}&issuer=ACME&digits=8"));
        let parsed = OtpauthUri::parse(&ok8).unwrap();
        assert_eq!(parsed.params().digits(), 8);
        assert!(parsed.to_uri().contains("&digits=8&"));
        assert_eq!(OtpauthUri::parse(&parsed.to_uri()).unwrap(), parsed);

        let bad7 = uri(&format!("secret={SEED_B32}&issuer=ACME&digits=7"));
        assert_eq!(
            OtpauthUri::parse(&bad7),
            Err(UriError::Params(ParamsError::UnsupportedDigits(7)))
        );

        let lower = uri(&format!("secret={SEED_B32}&issuer=ACME&algorithm=sha256"));
        let parsed = OtpauthUri::parse(&lower).unwrap();
        assert_eq!(parsed.params().algorithm(), Algorithm::Sha256);
        assert!(parsed.to_uri().contains("&algorithm=SHA256&"));
    }

    #[test]
    fn t_uri_4_error_table() {
        let s = SEED_B32;
        let cases: Vec<(String, UriError)> = vec![
            (uri("issuer=ACME"), UriError::MissingSecret),
            ("otpauth://totp/ACME:alice".into(), UriError::MissingSecret),
            (
                format!("http://totp/ACME:alice?secret={s}&issuer=ACME"),
                UriError::NotOtpauth,
            ),
            (
                uri(&format!("secret={s}&secret={s}&issuer=ACME")),
                UriError::DuplicateParameter("secret"),
            ),
            (
                uri(&format!("secret={s}&issuer=ACME&issuer=ACME")),
                UriError::DuplicateParameter("issuer"),
            ),
            (
                format!("otpauth://hotp/ACME:alice?secret={s}&issuer=ACME"),
                UriError::MissingCounter,
            ),
            (
                format!("otpauth://hotp/ACME:alice?secret={s}&issuer=ACME&counter=3"),
                UriError::UnsupportedType,
            ),
            (
                uri(&format!("secret={s}&issuer=Other")),
                UriError::IssuerMismatch,
            ),
            (
                format!("otpauth://totp/alice?secret={s}&issuer=ACME"),
                UriError::MissingIssuerPrefix,
            ),
            (uri(&format!("secret={s}")), UriError::MissingIssuer),
            (
                uri(&format!("secret={s}&issuer=ACME&period=0")),
                UriError::Params(ParamsError::UnsupportedPeriod(0)),
            ),
            (
                uri(&format!("secret={s}&issuer=ACME&algorithm=MD5")),
                UriError::Params(ParamsError::UnsupportedAlgorithm),
            ),
            (
                uri(&format!("secret={s}====&issuer=ACME")),
                UriError::Malformed, // `=` inside a value is not allowed
            ),
            (
                uri(&format!("secret={s}%3D%3D%3D%3D&issuer=ACME")),
                UriError::Secret(SecretError::InvalidBase32),
            ),
            (
                uri("secret=JBSWY3DPEHPK3PXP&issuer=ACME"),
                UriError::Secret(SecretError::TooShort { len: 10 }),
            ),
            (
                uri(&format!("secret={}&issuer=ACME", s.to_lowercase())),
                UriError::Secret(SecretError::InvalidBase32),
            ),
            (
                uri(&format!("secret={s}&issuer=ACME&x={}", "A".repeat(8192))),
                UriError::TooLong,
            ),
            (
                uri(&format!("secret={s}&issuer=ACME&image=x")),
                UriError::UnknownParameter,
            ),
            (
                uri(&format!("secret={s}&issuer=ACME&counter=1")),
                UriError::UnknownParameter,
            ),
            (
                uri(&format!("secret={s}&issuer=ACME&digits=+6")),
                UriError::Malformed,
            ),
            (
                uri(&format!("secret={s}&issuer=ACME&digits=%2B6")),
                UriError::InvalidNumber("digits"),
            ),
            (
                uri(&format!(
                    "secret={s}&issuer=ACME&period=99999999999999999999999"
                )),
                UriError::InvalidNumber("period"),
            ),
            (
                uri(&format!("secret={s}&issuer=ACME&period=")),
                UriError::Malformed,
            ),
            (
                uri(&format!("secret={s}&issuer=ACME&")),
                UriError::Malformed,
            ),
            (
                uri(&format!("secret={s}&issuer=ACME#frag")),
                UriError::Malformed,
            ),
            (
                uri(&format!("secret={s}&issuer=AC%ZZME")),
                UriError::Malformed,
            ),
            (
                uri(&format!("secret={s}&issuer=ACME%")),
                UriError::Malformed,
            ),
            (
                format!("otpauth://totp/ACME:al%FFice?secret={s}&issuer=ACME"),
                UriError::Malformed,
            ),
            (
                format!("otpauth://totp/ACME:al%0Aice?secret={s}&issuer=ACME"),
                UriError::InvalidAccount,
            ),
            (
                format!("otpauth://totp/ACME:%20alice?secret={s}&issuer=ACME"),
                UriError::InvalidAccount,
            ),
            (
                format!("otpauth://totp/ACME:?secret={s}&issuer=ACME"),
                UriError::EmptyAccount,
            ),
            (
                format!("otpauth://steam/ACME:alice?secret={s}&issuer=ACME"),
                UriError::UnsupportedType,
            ),
            (String::new(), UriError::NotOtpauth),
            ("otpauth://".into(), UriError::Malformed),
        ];
        for (text, want) in cases {
            assert_eq!(OtpauthUri::parse(&text), Err(want), "{text}");
        }
    }

    #[test]
    fn strict_parse_tolerates_what_it_documents() {
        let text = format!(
            "OTPAUTH://TOTP/ACME%3aalice@example.com?period=60&issuer=ACME&secret={SEED_B32}&algorithm=Sha512"
        );
        let u = OtpauthUri::parse(&text).unwrap();
        assert_eq!(u.issuer(), "ACME");
        assert_eq!(u.account(), "alice@example.com");
        assert_eq!(u.params().period(), 60);
        assert_eq!(u.params().algorithm(), Algorithm::Sha512);
        assert_eq!(u.params().digits(), 6);
        assert_eq!(u.params().window(), Window::PreviousAndCurrent);
        assert_eq!(u.secret(), &secret());
    }

    /// 20 bytes (`abcdefghijklmnopqrst`), the length pyotp and otpauth.js generate.
    const KEY20: &str = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U";
    /// 16 bytes, which needs six `=` when padded.
    const KEY16_PADDED: &str = "MJQXG5DJN5XC2MBREBVWK6JBEE======";

    fn key(b32: &str) -> TotpSecret {
        TotpSecret::from_base32(b32.trim_end_matches('=')).unwrap()
    }

    /// URIs in the shapes other tools write, with what each must import as. Written for these
    /// tests; each shape is described beside it.
    #[test]
    fn parse_lenient_imports_what_other_tools_write() {
        let sha256_8_60 = TotpParams::builder()
            .algorithm(Algorithm::Sha256)
            .digits(8)
            .period(60)
            .build()
            .unwrap();
        let cases: Vec<(&str, String, &str, &str, &str, TotpParams)> = vec![
            (
                "Python quote(): `/` left literal in the label prefix, issuer parameter encoded",
                format!(
                    "otpauth://totp/Corp/Infra:ops%40example.org?secret={KEY20}&issuer=Corp%2FInfra"
                ),
                "Corp/Infra",
                "ops@example.org",
                KEY20,
                TotpParams::default(),
            ),
            (
                "Python, non-default parameters and a logo",
                format!(
                    "otpauth://totp/Build%20Farm:ci%40example.org?secret={KEY20}&issuer=Build%20Farm\
                     &algorithm=SHA256&digits=8&period=60&image=https%3A%2F%2Fexample.org%2Flogo.png"
                ),
                "Build Farm",
                "ci@example.org",
                KEY20,
                sha256_8_60,
            ),
            (
                "encodeURIComponent: `'`, `(` and `)` literal, issuer first",
                format!(
                    "otpauth://totp/Bob's%20Shop%20(EU):bob?issuer=Bob's%20Shop%20(EU)&secret={KEY20}\
                     &algorithm=SHA1&digits=6&period=30"
                ),
                "Bob's Shop (EU)",
                "bob",
                KEY20,
                TotpParams::default(),
            ),
            (
                "Key URI Format: a space after the colon",
                format!(
                    "otpauth://totp/Example%20Co:%20jane.doe@example.com?secret={KEY20}&issuer=Example%20Co"
                ),
                "Example Co",
                "jane.doe@example.com",
                KEY20,
                TotpParams::default(),
            ),
            (
                "PAM module: user@host label without prefix, issuer parameter only",
                format!(
                    "otpauth://totp/root@bastion-01?secret={}&issuer=bastion-01",
                    KEY16_PADDED.trim_end_matches('=')
                ),
                "bastion-01",
                "root@bastion-01",
                KEY16_PADDED,
                TotpParams::default(),
            ),
            (
                "prefix without an issuer parameter",
                format!("otpauth://totp/ACME:alice?secret={KEY20}"),
                "ACME",
                "alice",
                KEY20,
                TotpParams::default(),
            ),
            (
                "lower-case padded secret and a trailing `&`",
                format!(
                    "otpauth://totp/ACME:alice?secret={}&issuer=ACME&",
                    KEY16_PADDED.to_lowercase()
                ),
                "ACME",
                "alice",
                KEY16_PADDED,
                TotpParams::default(),
            ),
            (
                "padding percent-encoded, an empty pair in the middle, pasted with a newline",
                format!(
                    "  otpauth://totp/ACME:alice?secret={}%3D%3D%3D%3D%3D%3D&&issuer=ACME\n",
                    KEY16_PADDED.trim_end_matches('=')
                ),
                "ACME",
                "alice",
                KEY16_PADDED,
                TotpParams::default(),
            ),
            (
                "literal spaces",
                format!("otpauth://totp/Example Co: jane?secret={KEY20}&issuer=Example Co"),
                "Example Co",
                "jane",
                KEY20,
                TotpParams::default(),
            ),
        ];
        for (shape, text, issuer, account, secret, params) in cases {
            assert!(OtpauthUri::parse(&text).is_err(), "strict refuses: {shape}");
            let uri = OtpauthUri::parse_lenient(&text)
                .unwrap_or_else(|e| panic!("{shape}: {e:?} for {text}"));
            assert_eq!(uri.issuer(), issuer, "{shape}");
            assert_eq!(uri.account(), account, "{shape}");
            assert_eq!(uri.secret(), &key(secret), "{shape}");
            assert_eq!(uri.params(), &params, "{shape}");
            // What was imported re-emits in the strict form.
            assert_eq!(OtpauthUri::parse(&uri.to_uri()).unwrap(), uri, "{shape}");
        }
    }

    #[test]
    fn parse_lenient_still_refuses_what_is_unsafe() {
        let k = KEY20;
        let lenient = |q: &str| OtpauthUri::parse_lenient(&uri(q));
        let cases: Vec<(String, UriError)> = vec![
            // A 10-byte key (the length of some older tools' examples) is too weak.
            (
                uri("secret=GAYTEMZUGU3DOOBZ&issuer=ACME"),
                UriError::Secret(SecretError::TooShort { len: 10 }),
            ),
            (
                uri(&format!("secret={}&issuer=ACME", "A".repeat(104))),
                UriError::Secret(SecretError::TooLong),
            ),
            // Padding that does not complete an 8-character group, or too much of it.
            (
                uri(&format!(
                    "secret={}==&issuer=ACME",
                    KEY16_PADDED.trim_end_matches('=')
                )),
                UriError::Secret(SecretError::InvalidBase32),
            ),
            (
                uri(&format!("secret={k}========&issuer=ACME")),
                UriError::Secret(SecretError::InvalidBase32),
            ),
            (
                uri(&format!("secret={k}=&issuer=ACME")),
                UriError::Secret(SecretError::InvalidBase32),
            ),
            // Non-canonical trailing bits (the last character's low bits must be zero).
            (
                uri("secret=mjqxg5djn5xc2mbrebvwk6jbef&issuer=ACME"),
                UriError::Secret(SecretError::InvalidBase32),
            ),
            (
                uri("secret=MJQXG5DJN5XC2MBR=EBVWK6JBEE&issuer=ACME"),
                UriError::Secret(SecretError::InvalidBase32),
            ),
            (
                uri(&format!("secret={k}&issuer=ACME&algorithm=MD5")),
                UriError::Params(ParamsError::UnsupportedAlgorithm),
            ),
            (
                uri(&format!("secret={k}&issuer=ACME&digits=7")),
                UriError::Params(ParamsError::UnsupportedDigits(7)),
            ),
            (
                uri(&format!("secret={k}&issuer=ACME&period=0")),
                UriError::Params(ParamsError::UnsupportedPeriod(0)),
            ),
            (
                uri(&format!("secret={k}&issuer=ACME&digits=%206")),
                UriError::InvalidNumber("digits"),
            ),
            (
                uri(&format!("secret={k}&issuer=Evil")),
                UriError::IssuerMismatch,
            ),
            (
                format!("otpauth://totp/ACME:%20alice?secret={k}&issuer=ACME%20"),
                UriError::InvalidIssuer,
            ),
            (
                format!("otpauth://totp/alice@example.com?secret={k}"),
                UriError::MissingIssuer,
            ),
            (
                format!("otpauth://totp/ACME:al%0Aice?secret={k}&issuer=ACME"),
                UriError::InvalidAccount,
            ),
            (
                format!("otpauth://totp/ACME:alice%20?secret={k}&issuer=ACME"),
                UriError::InvalidAccount,
            ),
            (
                format!("otpauth://totp/ACME:alice?secret={k}&issuer=AC%1BME"),
                UriError::InvalidIssuer,
            ),
            (
                format!("otpauth://totp/ACME:alice?secret={k}&issuer=AC%3AME"),
                UriError::ColonInIssuer,
            ),
            (
                format!("otpauth://totp/ACME:bob:alice?secret={k}&issuer=ACME"),
                UriError::ColonInAccount,
            ),
            (
                format!("otpauth://totp/ACME: ?secret={k}&issuer=ACME"),
                UriError::EmptyAccount,
            ),
            // Literal control or non-ASCII bytes anywhere, even in the ignored logo.
            (
                format!("otpauth://totp/ACME:al\tice?secret={k}&issuer=ACME"),
                UriError::Malformed,
            ),
            (
                format!("otpauth://totp/ACME:alice?secret={k}&issuer=ACME&image=a\u{7f}b"),
                UriError::Malformed,
            ),
            (
                format!("otpauth://totp/ACMÉ:alice?secret={k}&issuer=ACME"),
                UriError::Malformed,
            ),
            (
                uri(&format!("secret={k}&issuer=AC+ME")),
                UriError::Malformed,
            ),
            (
                uri(&format!("secret={k}&issuer=ACME#x")),
                UriError::Malformed,
            ),
            (
                uri(&format!("secret={k}&issuer=ACME&x")),
                UriError::Malformed,
            ),
            (
                uri(&format!("secret={k}&issuer=A=CME")),
                UriError::Malformed,
            ),
            (
                uri(&format!("secret={k}&issuer=ACME&digits=")),
                UriError::Malformed,
            ),
            (
                uri(&format!("secret={k}&issuer=ACME&color=red")),
                UriError::UnknownParameter,
            ),
            (
                uri(&format!("secret={k}&secret={k}&issuer=ACME")),
                UriError::DuplicateParameter("secret"),
            ),
            (
                format!("otpauth://hotp/ACME:alice?secret={k}&issuer=ACME&counter=0"),
                UriError::UnsupportedType,
            ),
            (uri("issuer=ACME&image=x"), UriError::MissingSecret),
            (
                uri(&format!(
                    "secret={k}&issuer=ACME&image={}",
                    "x".repeat(MAX_URI_LEN)
                )),
                UriError::TooLong,
            ),
            (" \n".into(), UriError::NotOtpauth),
        ];
        for (text, want) in cases {
            assert_eq!(OtpauthUri::parse_lenient(&text), Err(want), "{text:?}");
        }
        assert!(lenient(&format!("secret={k}&issuer=ACME")).is_ok());
    }

    #[test]
    fn name_limits() {
        let p = TotpParams::default();
        let s = secret;
        assert_eq!(OtpauthUri::new("", "a", s(), p), Err(UriError::EmptyIssuer));
        assert_eq!(
            OtpauthUri::new("a", "", s(), p),
            Err(UriError::EmptyAccount)
        );
        assert!(OtpauthUri::new("i".repeat(64), "a".repeat(64), s(), p).is_ok());
        assert_eq!(
            OtpauthUri::new("i".repeat(65), "a", s(), p),
            Err(UriError::IssuerTooLong)
        );
        assert_eq!(
            OtpauthUri::new("i", "a".repeat(65), s(), p),
            Err(UriError::AccountTooLong)
        );
        assert_eq!(
            OtpauthUri::new(" ACME", "a", s(), p),
            Err(UriError::InvalidIssuer)
        );
        assert_eq!(
            OtpauthUri::new("ACME", "a\r\nBcc x", s(), p),
            Err(UriError::InvalidAccount)
        );
        // Non-ASCII round-trips through UTF-8 percent-encoding.
        let u = OtpauthUri::new("Ünïcødé Co", "José+1@例え.jp", s(), p).unwrap();
        assert!(u.to_uri().is_ascii());
        assert_eq!(OtpauthUri::parse(&u.to_uri()).unwrap(), u);
    }

    #[test]
    fn longest_uri_fits_the_parse_cap() {
        // Every byte of issuer and account needs an escape (3 bytes each), 64-byte secret, SHA512.
        let wide = "é".repeat(32); // 64 bytes of UTF-8
        let p = TotpParams::builder()
            .algorithm(Algorithm::Sha512)
            .digits(8)
            .period(120)
            .build()
            .unwrap();
        let u = OtpauthUri::new(
            wide.clone(),
            wide,
            TotpSecret::from_bytes(&[0xff; 64]).unwrap(),
            p,
        )
        .unwrap();
        let text = u.to_uri();
        assert!(text.len() <= MAX_URI_LEN, "{}", text.len());
        assert!(text.len() < 760, "{}", text.len());
        assert_eq!(OtpauthUri::parse(&text).unwrap(), u);
    }

    #[test]
    fn debug_redacts_the_secret() {
        let u = OtpauthUri::new("ACME", "alice", secret(), TotpParams::default()).unwrap();
        let dbg = format!("{u:?}");
        assert!(dbg.contains("ACME") && dbg.contains("alice") && dbg.contains("redacted"));
        assert!(!dbg.contains(SEED_B32) && !dbg.contains("otpauth"));
    }
}
