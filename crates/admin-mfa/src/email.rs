//! Rendering outbox [`Notification`]s into emails (docs/SECURITY.md NOT-1, NOT-2, TOK-5).

use std::fmt;
use std::fmt::Write as _;

use admin_mfa_lifecycle::{
    LinkPurpose, LinkToken, Notification, NotificationDetail, NotificationKind, UnixTime,
};
use admin_mfa_ports::EmailMessage;
use url::{Host, Url};

/// The longest product name accepted, in characters.
pub const MAX_PRODUCT_NAME_CHARS: usize = 64;
/// The longest support contact accepted, in characters.
pub const MAX_SUPPORT_CONTACT_CHARS: usize = 200;
/// Display names are cut to this many characters in emails.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// Why an [`EmailConfig`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmailConfigError {
    /// The product name is empty, too long, or holds control or bidirectional characters.
    #[error("product name must be 1 to {MAX_PRODUCT_NAME_CHARS} printable characters")]
    ProductName,
    /// The support contact is empty, too long, or holds control or bidirectional characters.
    #[error("support contact must be 1 to {MAX_SUPPORT_CONTACT_CHARS} printable characters")]
    SupportContact,
    /// The link base is not an absolute URL.
    #[error("link base url does not parse: {0}")]
    LinkBaseUrl(url::ParseError),
    /// The link base is neither `https` nor `http` on a loopback host.
    #[error("link base url must use https (http is allowed for loopback hosts only)")]
    LinkBaseScheme,
    /// The link base has user info, a query or a fragment, or no host.
    #[error("link base url must have a host and no user info, query or fragment")]
    LinkBaseShape,
}

/// What the renderer needs to know that a notification does not say. Built with
/// [`EmailConfig::builder`]; every field is validated.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailConfig {
    product_name: String,
    link_base: Url,
    support_contact: Option<String>,
}

impl fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailConfig")
            .field("product_name", &self.product_name)
            .field("link_base", &self.link_base.as_str())
            .field("support_contact", &self.support_contact)
            .finish()
    }
}

/// Builds an [`EmailConfig`].
#[derive(Debug, Clone)]
#[must_use]
pub struct EmailConfigBuilder {
    product_name: String,
    link_base: String,
    support_contact: Option<String>,
}

impl EmailConfig {
    /// Starts a configuration.
    ///
    /// - `product_name`: what the emails call the service ("Acme Admin Portal"), also the
    ///   TOTP issuer users see in their app; 1 to 64 printable characters.
    /// - `link_base`: the absolute URL of the page that handles setup and reset links, e.g.
    ///   `https://admin.example.com/mfa/link`. `https` only, except `http` for loopback hosts
    ///   (`localhost`, `127.0.0.1`, `[::1]`) in development; no user info, query or fragment.
    pub fn builder(
        product_name: impl Into<String>,
        link_base: impl Into<String>,
    ) -> EmailConfigBuilder {
        EmailConfigBuilder {
            product_name: product_name.into(),
            link_base: link_base.into(),
            support_contact: None,
        }
    }

    /// The product name.
    #[must_use]
    pub fn product_name(&self) -> &str {
        &self.product_name
    }

    /// The link base URL.
    #[must_use]
    pub fn link_base(&self) -> &str {
        self.link_base.as_str()
    }

    /// The support contact, if any.
    #[must_use]
    pub fn support_contact(&self) -> Option<&str> {
        self.support_contact.as_deref()
    }
}

impl EmailConfigBuilder {
    /// Who to contact when an email was not expected (an address, a URL or a team name);
    /// without it, emails say "your organization's administrators".
    pub fn support_contact(mut self, contact: impl Into<String>) -> Self {
        self.support_contact = Some(contact.into());
        self
    }

    /// Validates the configuration.
    ///
    /// # Errors
    ///
    /// An [`EmailConfigError`] naming the first invalid field.
    pub fn build(self) -> Result<EmailConfig, EmailConfigError> {
        let product_name = self.product_name.trim().to_owned();
        if !is_clean_text(&product_name, MAX_PRODUCT_NAME_CHARS) {
            return Err(EmailConfigError::ProductName);
        }
        let support_contact = match self.support_contact {
            Some(contact) => {
                let contact = contact.trim().to_owned();
                if !is_clean_text(&contact, MAX_SUPPORT_CONTACT_CHARS) {
                    return Err(EmailConfigError::SupportContact);
                }
                Some(contact)
            }
            None => None,
        };
        let link_base = parse_link_base(self.link_base.trim())?;
        Ok(EmailConfig {
            product_name,
            link_base,
            support_contact,
        })
    }
}

fn parse_link_base(text: &str) -> Result<Url, EmailConfigError> {
    let url = Url::parse(text).map_err(EmailConfigError::LinkBaseUrl)?;
    let host = url.host().ok_or(EmailConfigError::LinkBaseShape)?;
    let loopback = match &host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(EmailConfigError::LinkBaseScheme),
    }
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(EmailConfigError::LinkBaseShape);
    }
    Ok(url)
}

/// Non-empty, at most `max` characters, nothing [`is_unsafe_char`].
fn is_clean_text(text: &str, max: usize) -> bool {
    !text.is_empty() && text.chars().count() <= max && !text.chars().any(is_unsafe_char)
}

/// Characters that never appear in a rendered email: control characters (CR, LF, TAB, NUL,
/// DEL, C1), bidirectional embeddings, overrides, isolates and marks (U+202A..U+202E,
/// U+2066..U+2069, U+200E, U+200F, U+061C), line and paragraph separators, and the
/// byte-order mark / zero-width no-break space.
#[must_use]
fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// Turns every run of whitespace (CR and LF included) into one space, removes the other
/// [`is_unsafe_char`] characters, trims, and cuts
/// the result to `max` characters (adding "…" when cut).
fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max.saturating_mul(4)));
    let mut count = 0;
    let mut pending_space = false;
    for c in text.chars() {
        // Whitespace first: CR, LF, TAB and the line separators become one space.
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if is_unsafe_char(c) {
            continue;
        }
        let needed = usize::from(pending_space) + 1;
        if count + needed > max {
            out.push('…');
            return out;
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// Escapes text for HTML element content and double- or single-quoted attributes.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `YYYY-MM-DD HH:MM UTC` for a Unix time (proleptic Gregorian calendar).
fn format_utc(t: UnixTime) -> String {
    let secs = t.as_secs();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's `civil_from_days`.
pub(crate) fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of each 400-year era.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Why a notification could not be rendered. Never carries the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A setup or reset email without a link token.
    #[error("{0} email needs a link token")]
    MissingLink(NotificationKind),
    /// A link token for an email that carries no link.
    #[error("{0} email carries no link")]
    UnexpectedLink(NotificationKind),
    /// The notification's link purpose does not match its kind.
    #[error("{0} email has a link of the wrong purpose")]
    PurposeMismatch(NotificationKind),
}

/// The link purpose an email of `kind` carries, if it carries a link.
#[must_use]
pub const fn link_purpose_of(kind: NotificationKind) -> Option<LinkPurpose> {
    match kind {
        NotificationKind::SetupInvitation => Some(LinkPurpose::Setup),
        NotificationKind::ResetRequested => Some(LinkPurpose::Reset),
        NotificationKind::SetupCompleted
        | NotificationKind::ResetCompleted
        | NotificationKind::LockedOut
        | NotificationKind::MfaRequired
        | NotificationKind::MfaNotRequired
        | NotificationKind::RecoveryCodeUsed
        | NotificationKind::SetupReminder
        | NotificationKind::RecoveryCodesRegenerated => None,
    }
}

/// Rendering outbox [`Notification`]s into emails (docs/SECURITY.md NOT-1, NOT-2, TOK-5).
///
/// [`EmailRenderer`] turns each [`NotificationKind`] into an [`EmailMessage`]
/// with a plain-text and an HTML body. What goes in is fixed by configuration
/// ([`EmailConfig`]: product name, link base URL, optional support contact) and by the
/// notification; nothing comes from a request, so a forged `Host` header cannot move a link
/// to another site (TOK-5). Setup and reset emails carry one link, built from the configured
/// base URL and the raw token as a query parameter: `{base}?purpose=setup&token={token}`.
///
/// Every message:
/// - holds no TOTP secret, QR code, `otpauth://` URI or code, and only the link-kind emails
///   hold a link token;
/// - tells the reader what to do if it wasn't them (RST-6, T-NOT-2);
/// - treats the display name as hostile: control characters (CR, LF, …), bidirectional
///   overrides such as U+202E and line separators are removed everywhere, and the HTML body
///   escapes `& < > " '` in every interpolated value;
/// - has a subject with no CR or LF (it names the product, never the display name).
///
/// ```
/// use admin_mfa::{EmailConfig, EmailRenderer};
/// use admin_mfa_lifecycle::{
///     AdminId, DedupeKey, Email, KeyId, KeyRing, LinkPurpose, LinkToken, Nonce, Notification,
///     NotificationKind, OrgId, Sealed, SealingKey, UnixTime,
/// };
///
/// let config = EmailConfig::builder("Acme Admin", "https://admin.acme.example/mfa")
///     .support_contact("security@acme.example")
///     .build()?;
/// let renderer = EmailRenderer::new(config);
///
/// let admin = AdminId::from_bytes([1; 16]);
/// let token = LinkToken::from_bytes([7; 32]);
/// let key = SealingKey::new(KeyId::new(1), [9; 32]);
/// let sealed = Sealed::seal_link_token(&key, Nonce::from_bytes([3; 12]), admin, LinkPurpose::Setup, &token)?;
/// let notification = Notification {
///     kind: NotificationKind::SetupInvitation,
///     org: OrgId::from_bytes([2; 16]),
///     admin,
///     to: Email::parse("ada@acme.example")?,
///     display_name: "Ada <script>".to_owned(),
///     link: Some(sealed),
///     link_purpose: Some(LinkPurpose::Setup),
///     link_expires_at: Some(UnixTime::from_secs(1_700_086_400)),
///     created_at: UnixTime::from_secs(1_700_000_000),
///     dedupe_key: DedupeKey::new(admin, NotificationKind::SetupInvitation, "example"),
///     detail: None,
/// };
/// // The dispatcher opens the sealed token just before rendering.
/// let message = renderer.render(&notification, Some(&token))?;
/// assert!(message.text.contains(&format!("https://admin.acme.example/mfa?purpose=setup&token={}", token.encode().as_str())));
/// assert!(message.html.contains("Ada &lt;script&gt;"));
/// assert!(!message.subject.contains('\n'));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct EmailRenderer {
    config: EmailConfig,
}

/// The parts of one email, as plain text; both bodies are made from it.
struct Content {
    subject: String,
    greeting: String,
    paragraphs: Vec<String>,
    action: Option<Action>,
    repudiation: String,
    signature: String,
}

struct Action {
    label: &'static str,
    url: String,
    expiry: String,
}

impl EmailRenderer {
    /// A renderer for `config`.
    #[must_use]
    pub fn new(config: EmailConfig) -> Self {
        Self { config }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &EmailConfig {
        &self.config
    }

    /// The link for a raw token of `purpose`: the configured base URL with
    /// `purpose=setup|reset` and `token=<43 base64url characters>` as query parameters.
    #[must_use]
    pub fn link(&self, purpose: LinkPurpose, token: &LinkToken) -> String {
        let mut url = self.config.link_base.clone();
        url.query_pairs_mut()
            .append_pair("purpose", purpose.as_str())
            .append_pair("token", token.encode().as_str());
        url.into()
    }

    /// Renders `notification`. `link` is the raw token opened from
    /// [`Notification::link`]; it must be given for setup invitations and reset requests
    /// and only for them.
    ///
    /// # Errors
    ///
    /// A [`RenderError`] if the link token is missing, unexpected, or of the wrong purpose.
    pub fn render(
        &self,
        notification: &Notification,
        link: Option<&LinkToken>,
    ) -> Result<EmailMessage, RenderError> {
        let kind = notification.kind;
        let action = match (link_purpose_of(kind), link) {
            (Some(purpose), Some(token)) => {
                if notification.link_purpose.is_some_and(|p| p != purpose) {
                    return Err(RenderError::PurposeMismatch(kind));
                }
                Some((purpose, token))
            }
            (Some(_), None) => return Err(RenderError::MissingLink(kind)),
            (None, Some(_)) => return Err(RenderError::UnexpectedLink(kind)),
            (None, None) => None,
        };
        let content = self.content(notification, action);
        Ok(EmailMessage {
            to: notification.to.clone(),
            subject: content.subject.clone(),
            text: content.text(),
            html: content.html(),
            idempotency_key: notification.dedupe_key.clone(),
        })
    }

    fn content(&self, n: &Notification, link: Option<(LinkPurpose, &LinkToken)>) -> Content {
        let product = clean(&self.config.product_name, MAX_PRODUCT_NAME_CHARS);
        let email = n.to.as_str();
        let name = clean(&n.display_name, MAX_DISPLAY_NAME_CHARS);
        let support = self.config.support_contact.as_deref().map_or_else(
            || "your organization's administrators".to_owned(),
            |s| clean(s, MAX_SUPPORT_CONTACT_CHARS),
        );
        let when = format_utc(n.created_at);
        let greeting = if name.is_empty() {
            "Hello,".to_owned()
        } else {
            format!("Hello {name},")
        };
        let expiry = match n.link_expires_at {
            Some(at) => format!(
                "This link works once and expires at {}. Opening it does not use it up.",
                format_utc(at)
            ),
            None => "This link works once.".to_owned(),
        };
        let action = |label: &'static str| {
            link.map(|(purpose, token)| Action {
                label,
                url: self.link(purpose, token),
                expiry: expiry.clone(),
            })
        };
        let due = match n.detail {
            Some(NotificationDetail::SetupDue { by }) => Some(format_utc(by)),
            _ => None,
        };
        let (subject, paragraphs, action, repudiation) = match n.kind {
            NotificationKind::SetupInvitation => (
                format!("Set up multi-factor authentication for {product}"),
                vec![
                    format!(
                        "Multi-factor authentication (MFA) is required for your {product} \
                         admin account ({email}). Set up an authenticator app to keep signing in."
                    ),
                    "Open the link below, enter your email address and password, scan the QR \
                     code with your authenticator app, and enter the code it shows."
                        .to_owned(),
                ],
                action("Set up MFA"),
                format!(
                    "If this wasn't you or you did not expect this email, do not open the link, \
                     and tell {support}."
                ),
            ),
            NotificationKind::ResetRequested => (
                format!("Reset multi-factor authentication for {product}"),
                vec![
                    format!(
                        "Someone signed in to your {product} admin account ({email}) with your \
                         password and asked to reset its multi-factor authentication (MFA)."
                    ),
                    "Open the link below, enter your email address and password again, and set \
                     up your authenticator app anew. Your current authenticator keeps working \
                     until the new one is set up."
                        .to_owned(),
                ],
                action("Reset MFA"),
                format!(
                    "If this wasn't you, do not open the link: someone else knows your password. \
                     Change your password and tell {support} at once."
                ),
            ),
            NotificationKind::SetupCompleted => (
                format!("Multi-factor authentication is set up for {product}"),
                vec![format!(
                    "An authenticator app was set up for your {product} admin account ({email}) \
                     at {when}. From now on, signing in asks for a code from it."
                )],
                None,
                format!(
                    "If this wasn't you, tell {support} at once: someone else may control your \
                     account."
                ),
            ),
            NotificationKind::ResetCompleted => (
                format!("Multi-factor authentication was reset for {product}"),
                vec![format!(
                    "A new authenticator app replaced the old one for your {product} admin \
                     account ({email}) at {when}. Codes from the old authenticator no longer work."
                )],
                None,
                format!(
                    "If this wasn't you, tell {support} at once: someone else may control your \
                     account."
                ),
            ),
            NotificationKind::LockedOut => (
                format!("Multi-factor authentication is locked for {product}"),
                vec![
                    format!(
                        "Too many wrong codes were entered for your {product} admin account \
                         ({email}), so its multi-factor authentication was locked at {when}. \
                         Until it is unlocked, every code is refused."
                    ),
                    "To unlock it, reset your MFA from the sign-in page, or ask an administrator \
                     who may reset MFA."
                        .to_owned(),
                ],
                None,
                format!(
                    "If this wasn't you, someone else knows your password: change it and tell \
                     {support} at once."
                ),
            ),
            NotificationKind::MfaRequired => match due {
                None => (
                    format!("Multi-factor authentication is now required for {product}"),
                    vec![format!(
                        "An administrator made multi-factor authentication (MFA) required for \
                         your {product} admin account ({email}). Your next sign-in asks for a \
                         code from your authenticator app; if you have not set one up yet, you \
                         will get an email with a setup link."
                    )],
                    None,
                    format!(
                        "If this wasn't you or you did not expect this change, tell {support}."
                    ),
                ),
                Some(by) => (
                    format!("Set up multi-factor authentication for {product} by {by}"),
                    vec![
                        format!(
                            "An administrator made multi-factor authentication (MFA) required \
                             for your {product} admin account ({email}). Set up an authenticator \
                             app by {by}: until then you can still sign in with your password \
                             alone; from then on, signing in needs MFA."
                        ),
                        "Sign in to get an email with your setup link. If you already use an \
                         authenticator app for this account, nothing changes for you."
                            .to_owned(),
                    ],
                    None,
                    format!(
                        "If this wasn't you or you did not expect this change, tell {support}."
                    ),
                ),
            },
            NotificationKind::SetupReminder => {
                let by = due.unwrap_or_else(|| "the deadline your administrator set".to_owned());
                (
                    format!("Reminder: set up multi-factor authentication for {product} by {by}"),
                    vec![
                        format!(
                            "Multi-factor authentication (MFA) becomes required for your \
                             {product} admin account ({email}) at {by}. After that, you cannot \
                             sign in with your password alone."
                        ),
                        "Sign in now to get an email with your setup link, then scan the QR \
                         code with your authenticator app."
                            .to_owned(),
                    ],
                    None,
                    format!(
                        "If this wasn't meant for you or you did not expect it, tell {support}."
                    ),
                )
            }
            NotificationKind::MfaNotRequired => (
                format!("Multi-factor authentication is no longer required for {product}"),
                vec![format!(
                    "An administrator removed the multi-factor authentication (MFA) requirement \
                     of your {product} admin account ({email}) at {when}. If you have an \
                     authenticator app set up, signing in still asks for its code."
                )],
                None,
                format!(
                    "If you did not expect this change, tell {support} at once: someone may be \
                     weakening your account."
                ),
            ),
            NotificationKind::RecoveryCodesRegenerated => (
                format!("New recovery codes were made for {product}"),
                vec![format!(
                    "A new set of recovery codes was made for your {product} admin account \
                     ({email}) at {when}. The recovery codes you had before no longer work."
                )],
                None,
                format!(
                    "If this wasn't you, someone else is signed in as you and now holds codes \
                     that pass the authenticator check: tell {support} at once."
                ),
            ),
            NotificationKind::RecoveryCodeUsed => {
                let left = match n.detail {
                    Some(NotificationDetail::RecoveryCodesLeft { left }) => Some(left),
                    _ => None,
                };
                let mut paragraphs = vec![format!(
                    "A recovery code was used instead of an authenticator code to sign in to \
                     your {product} admin account ({email}) at {when}. It cannot be used again."
                )];
                paragraphs.push(match left {
                    Some(0) => "You have no recovery codes left. Sign in and make a new set \
                                now, so that a lost authenticator does not lock you out."
                        .to_owned(),
                    Some(left @ 1..=2) => format!(
                        "Only {left} recovery code{} left. Sign in and make a new set soon.",
                        if left == 1 { " is" } else { "s are" }
                    ),
                    Some(left) => format!("You have {left} recovery codes left."),
                    None => "Sign in to see how many recovery codes you have left.".to_owned(),
                });
                (
                    format!("A recovery code was used to sign in to {product}"),
                    paragraphs,
                    None,
                    format!(
                        "If this wasn't you, someone else has your password and one of your \
                         recovery codes: tell {support} at once."
                    ),
                )
            }
        };
        Content {
            subject: clean(&subject, 200),
            greeting,
            paragraphs,
            action,
            repudiation,
            signature: format!("{product} security"),
        }
    }
}

impl Content {
    fn text(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{}\n", self.greeting);
        for p in &self.paragraphs {
            let _ = writeln!(out, "{p}\n");
        }
        if let Some(action) = &self.action {
            let _ = writeln!(out, "{}:\n{}\n", action.label, action.url);
            let _ = writeln!(out, "{}\n", action.expiry);
        }
        let _ = writeln!(out, "{}\n", self.repudiation);
        let _ = writeln!(out, "-- \n{}", self.signature);
        out
    }

    fn html(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>{}</title>\n</head>\n\
             <body style=\"font-family: sans-serif; line-height: 1.5; color: #222;\">\n",
            escape_html(&self.subject)
        );
        let _ = writeln!(out, "<p>{}</p>", escape_html(&self.greeting));
        for p in &self.paragraphs {
            let _ = writeln!(out, "<p>{}</p>", escape_html(p));
        }
        if let Some(action) = &self.action {
            let url = escape_html(&action.url);
            let _ = writeln!(
                out,
                "<p><a href=\"{url}\" style=\"display: inline-block; padding: 10px 18px; \
                 background: #1a5fb4; color: #fff; text-decoration: none; border-radius: 4px;\">\
                 {}</a></p>",
                escape_html(action.label)
            );
            let _ = writeln!(
                out,
                "<p style=\"font-size: 90%;\">If the button does not work, copy this address \
                 into your browser:<br>{url}</p>"
            );
            let _ = writeln!(out, "<p>{}</p>", escape_html(&action.expiry));
        }
        let _ = writeln!(
            out,
            "<p><strong>{}</strong></p>",
            escape_html(&self.repudiation)
        );
        let _ = write!(
            out,
            "<p style=\"color: #666;\">{}</p>\n</body>\n</html>\n",
            escape_html(&self.signature)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_base_rules() {
        let ok = |u: &str| EmailConfig::builder("P", u).build().is_ok();
        assert!(ok("https://admin.example.com/mfa"));
        assert!(ok("https://admin.example.com"));
        assert!(ok("http://localhost:8080/mfa"));
        assert!(ok("http://127.0.0.1/mfa"));
        assert!(ok("http://[::1]/mfa"));
        // An internationalized host is converted to its ASCII form (IDNA), whichever of
        // idna's back ends the build's lock picked.
        let idn = EmailConfig::builder("P", "https://bücher.example/mfa")
            .build()
            .unwrap();
        assert_eq!(idn.link_base(), "https://xn--bcher-kva.example/mfa");
        let err = |u: &str| EmailConfig::builder("P", u).build().unwrap_err();
        assert_eq!(
            err("http://admin.example.com/mfa"),
            EmailConfigError::LinkBaseScheme
        );
        assert_eq!(
            err("ftp://admin.example.com/"),
            EmailConfigError::LinkBaseScheme
        );
        assert_eq!(err("javascript:alert(1)"), EmailConfigError::LinkBaseShape);
        assert_eq!(
            err("https://u:p@admin.example.com/"),
            EmailConfigError::LinkBaseShape
        );
        assert_eq!(
            err("https://admin.example.com/?a=b"),
            EmailConfigError::LinkBaseShape
        );
        assert_eq!(
            err("https://admin.example.com/#x"),
            EmailConfigError::LinkBaseShape
        );
        assert!(matches!(
            err("/relative/path"),
            EmailConfigError::LinkBaseUrl(_)
        ));
        assert!(matches!(err(""), EmailConfigError::LinkBaseUrl(_)));
    }

    #[test]
    fn product_and_support_rules() {
        let base = "https://a.example";
        assert!(EmailConfig::builder(" Acme ", base).build().is_ok());
        for bad in ["", "   ", "A\r\nBcc: x@y", "A\u{202E}B", &"x".repeat(65)] {
            assert_eq!(
                EmailConfig::builder(bad, base).build().unwrap_err(),
                EmailConfigError::ProductName,
                "{bad:?}"
            );
        }
        assert_eq!(
            EmailConfig::builder("P", base)
                .support_contact("a\nb")
                .build()
                .unwrap_err(),
            EmailConfigError::SupportContact
        );
    }

    #[test]
    fn clean_strips_and_bounds() {
        assert_eq!(clean("Ada\r\nBcc: x@y", 64), "Ada Bcc: x@y");
        assert_eq!(clean("\u{202E}evil\u{2066}", 64), "evil");
        assert_eq!(clean("  a \t b  ", 64), "a b");
        assert_eq!(clean("abcdef", 3), "abc…");
        assert_eq!(clean("abc", 3), "abc");
        assert_eq!(clean("😀 ok", 64), "😀 ok");
        assert_eq!(clean("", 64), "");
    }

    proptest::proptest! {
        #[test]
        fn clean_output_is_bounded_and_safe(
            text in "\\PC*|[ \\t\\r\\n\\x00-\\x1f\u{202e}a-c]*",
            max in 1_usize..40,
        ) {
            let out = clean(&text, max);
            proptest::prop_assert!(out.chars().count() <= max + 1);
            proptest::prop_assert!(!out.chars().any(is_unsafe_char));
            proptest::prop_assert!(!out.starts_with(' ') && !out.ends_with(' '));
            proptest::prop_assert!(!out.contains("  "));
        }
    }

    #[test]
    fn escape_covers_the_specials() {
        assert_eq!(
            escape_html(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(format_utc(UnixTime::EPOCH), "1970-01-01 00:00 UTC");
        assert_eq!(
            format_utc(UnixTime::from_secs(1_700_000_000)),
            "2023-11-14 22:13 UTC"
        );
        // A leap day and a century leap year.
        assert_eq!(
            format_utc(UnixTime::from_secs(951_782_400)),
            "2000-02-29 00:00 UTC"
        );
        assert_eq!(
            format_utc(UnixTime::from_secs(20_000_000_000)),
            "2603-10-11 11:33 UTC"
        );
        // Never panics at the far end.
        let _ = format_utc(UnixTime::from_secs(u64::MAX));
    }
}
