//! The typed outcomes of the service's operations.

use core::fmt;

use admin_mfa_lifecycle::{AdminId, Email, LinkPurpose, MfaState, RecoveryCodes, Role, UnixTime};
use admin_mfa_policy::WidgetAccess;
use admin_mfa_ports::{AdminSummary, Page};
use admin_mfa_totp::OtpauthUri;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::password::Password;
use crate::session::SetupProof;

/// What a state-changing management call ([`enable_mfa`](crate::MfaService::enable_mfa),
/// [`remove_mfa_requirement`](crate::MfaService::remove_mfa_requirement),
/// [`reset_mfa`](crate::MfaService::reset_mfa), [`unlock_mfa`](crate::MfaService::unlock_mfa))
/// did to its target: whether the state changed, which e-mails were queued with the change,
/// and whether the per-admin e-mail limit held a link back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct ChangeOutcome {
    /// Whether the admin's state changed (false for an idempotent repeat).
    pub changed: bool,
    /// How many e-mails were queued in the outbox with the change.
    pub emails_queued: usize,
    /// Set when a link e-mail was due but the per-admin rate limit held it back: when the
    /// next one may go out. Only authenticated management calls report this.
    pub email_rate_limited_until: Option<UnixTime>,
}

/// The e-mail-and-password step of a setup or reset link succeeded: the new secret, shown
/// once, as an otpauth URI, a key for manual entry and (with the `qr` features) a QR code.
///
/// Nothing here is stored in clear or ever returned again (SEC-4); `Debug` shows only the
/// issuer, account and purpose.
pub struct Provisioning {
    pub(crate) uri: OtpauthUri,
    pub(crate) purpose: LinkPurpose,
    pub(crate) proof: SetupProof,
}

impl fmt::Debug for Provisioning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provisioning")
            .field("issuer", &self.uri.issuer())
            .field("account", &self.uri.account())
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

impl Provisioning {
    /// The otpauth URI the authenticator app scans. It holds the secret.
    #[must_use]
    pub fn otpauth_uri(&self) -> Zeroizing<String> {
        self.uri.to_uri()
    }

    /// The secret in base32 (no padding), for typing into the app by hand.
    #[must_use]
    pub fn key(&self) -> Zeroizing<String> {
        self.uri.secret().to_base32()
    }

    /// The issuer shown in the app.
    #[must_use]
    pub fn issuer(&self) -> &str {
        self.uri.issuer()
    }

    /// The account shown in the app (the admin's e-mail address).
    #[must_use]
    pub fn account(&self) -> &str {
        self.uri.account()
    }

    /// Whether this is a first setup or a self-service reset.
    #[must_use]
    pub const fn purpose(&self) -> LinkPurpose {
        self.purpose
    }

    /// The identity-step proof [`MfaService::complete_setup`](crate::MfaService::complete_setup)
    /// needs with the link token (SETUP-1). Keep it with the page showing this QR code.
    #[must_use]
    pub const fn proof(&self) -> &SetupProof {
        &self.proof
    }

    /// The QR code as an SVG document.
    ///
    /// # Errors
    ///
    /// If the URI does not fit a QR code (not possible within the configured limits).
    #[cfg(feature = "qr")]
    pub fn qr_svg(&self) -> Result<Zeroizing<String>, admin_mfa_totp::QrError> {
        self.uri.to_qr_svg()
    }

    /// The QR code as Unicode half blocks for a terminal.
    ///
    /// # Errors
    ///
    /// If the URI does not fit a QR code (not possible within the configured limits).
    #[cfg(feature = "qr")]
    pub fn qr_terminal(
        &self,
        style: admin_mfa_totp::TerminalStyle,
    ) -> Result<Zeroizing<String>, admin_mfa_totp::QrError> {
        self.uri.to_qr_terminal(style)
    }

    /// The QR code as a PNG with `module_px` pixels per module (4 to 16) and a 4-module
    /// quiet zone.
    ///
    /// # Errors
    ///
    /// For a module size outside 4–16 px, or if encoding fails.
    #[cfg(feature = "qr-png")]
    pub fn qr_png(&self, module_px: u32) -> Result<Zeroizing<Vec<u8>>, admin_mfa_totp::QrError> {
        self.uri.to_qr_png(module_px)
    }
}

/// What opening a link (GET) tells the form: never the account, never consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkInfo {
    /// Setup or reset.
    pub purpose: LinkPurpose,
    /// When the link stops working.
    pub expires_at: UnixTime,
}

/// A setup or reset completed: the new factor is active. No session is created (RST-4):
/// the admin logs in normally next.
///
/// It carries the new factor's recovery codes (REC-1): show them once, on the page that
/// confirms the set-up, and drop them; they are never returned again. `Debug` shows only
/// how many there are.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetupComplete {
    /// The admin who enrolled.
    pub admin: AdminId,
    /// Setup or reset.
    pub purpose: LinkPurpose,
    /// The ten recovery codes of the new factor, replacing any older set (`None` when
    /// [`MfaConfig::recovery_codes`](crate::MfaConfig::recovery_codes) is off).
    pub recovery_codes: Option<RecoveryCodes>,
}

/// One admin's result in a bulk "Require MFA".
#[derive(Debug)]
pub enum BulkItem {
    /// MFA is now required (an e-mail was queued).
    Required,
    /// MFA was already required: nothing changed, nothing was sent.
    AlreadyRequired,
    /// This admin could not be changed; the others were still processed (D6).
    Failed(Error),
}

impl BulkItem {
    /// Whether the admin ends with MFA required.
    #[must_use]
    pub const fn is_required(&self) -> bool {
        matches!(self, Self::Required | Self::AlreadyRequired)
    }
}

/// The per-admin results of a bulk "Require MFA", in the order asked.
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub struct BulkReport {
    /// One entry per admin asked for (duplicates report [`BulkItem::AlreadyRequired`]).
    pub items: Vec<(AdminId, BulkItem)>,
}

impl BulkReport {
    /// How many admins became required by this call.
    #[must_use]
    pub fn newly_required(&self) -> usize {
        self.items
            .iter()
            .filter(|(_, i)| matches!(i, BulkItem::Required))
            .count()
    }

    /// The admins that failed, with their errors.
    pub fn failures(&self) -> impl Iterator<Item = (AdminId, &Error)> {
        self.items.iter().filter_map(|(id, i)| match i {
            BulkItem::Failed(e) => Some((*id, e)),
            _ => None,
        })
    }

    /// Whether every admin ends with MFA required.
    #[must_use]
    pub fn all_required(&self) -> bool {
        self.items.iter().all(|(_, i)| i.is_required())
    }
}

/// The "Admins Without MFA Required" widget as one viewer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WidgetView {
    /// What the viewer's role may do with the widget.
    pub access: WidgetAccess,
    /// The viewer's own display preference (the Home settings toggle).
    pub enabled: bool,
    /// How many admins of the organization do not have MFA required; `None` when the
    /// role may not see the widget.
    pub count: Option<u64>,
    /// The requested page of those admins; `None` when the role may not see the widget.
    pub admins: Option<Page<AdminSummary, Email>>,
}

/// One row of the Administrators list ([`MfaService::list_admins`](crate::MfaService::list_admins)):
/// who the admin is and, where the viewer may see it, their MFA status. Nothing secret: no
/// password hash, no sealed secret, no link or recovery code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdminListItem {
    /// The admin.
    pub id: AdminId,
    /// Their e-mail address; the list is ordered by it.
    pub email: Email,
    /// Their display name.
    pub display_name: String,
    /// Their role.
    pub role: Role,
    /// Their MFA status; `None` where the policy does not let the viewer see it
    /// (`view-admin-mfa-status` on this admin).
    pub mfa: Option<MfaStatus>,
}

/// An admin's MFA status as a list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MfaStatus {
    /// Whether MFA is required of the admin.
    pub required: bool,
    /// Where their authenticator stands.
    pub factor: FactorStatus,
}

/// Where an admin's TOTP authenticator stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FactorStatus {
    /// No authenticator, and no setup or reset link outstanding.
    None,
    /// No authenticator yet, but a setup or reset link is outstanding (not expired).
    Pending,
    /// A verified authenticator.
    Enabled,
    /// Too many wrong codes locked the authenticator; an administrator has to unlock it.
    Locked,
}

impl MfaStatus {
    /// The status of `mfa` at `now` (a link counts as pending until it expires), for a host
    /// that read the admin itself; [`MfaService::list_admins`](crate::MfaService::list_admins)
    /// fills it in where the viewer may see it.
    #[must_use]
    pub fn of(mfa: &MfaState, now: UnixTime) -> Self {
        let factor = if mfa.is_locked() {
            FactorStatus::Locked
        } else if mfa.is_enrolled() {
            FactorStatus::Enabled
        } else if mfa.link.as_ref().is_some_and(|l| !l.is_expired(now)) {
            FactorStatus::Pending
        } else {
            FactorStatus::None
        };
        Self {
            required: mfa.requirement.is_required(),
            factor,
        }
    }
}

/// A new admin account, for [`MfaService::create_admin`](crate::MfaService::create_admin).
#[derive(Debug, Clone)]
pub struct NewAdmin {
    /// Login and notification address.
    pub email: String,
    /// Name shown in the portal and in e-mails (escaped when rendered).
    pub display_name: String,
    /// The admin's role.
    pub role: Role,
    /// The initial password (hashed with argon2id before it is stored).
    pub password: Password,
}

/// What [`MfaService::create_admin`](crate::MfaService::create_admin) made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreatedAdmin {
    /// The new admin's id.
    pub id: AdminId,
    /// Whether MFA is required from the start (the organization default).
    pub mfa_required: bool,
    /// How many e-mails were queued (the setup invitation, when MFA is required).
    pub emails_queued: usize,
}
