//! TOTP multi-factor authentication for the administrator accounts of any Rust service.
//!
//! (Crate documentation in progress.)

// Owned by the service engineer: the `MfaService`, its configuration and its operations.
// Owned by the email/password engineer: `email` (rendering), `dispatch` (outbox delivery),
// `password` (argon2id). Each adds its own `mod` and `pub use` lines below.

pub mod dispatch;
pub mod email;
pub mod password;

pub use dispatch::{
    AttemptFailure, DeadLetter, DispatchConfig, DispatchConfigBuilder, DispatchConfigError,
    DispatchError, DispatchReport, FailureReason, dispatch,
};
pub use email::{EmailConfig, EmailConfigBuilder, EmailConfigError, EmailRenderer, RenderError};
pub use password::{
    HashOp, HashRun, MAX_PASSWORD_BYTES, ParamsError, Password, PasswordError, PasswordParams,
    PasswordStats, Passwords, PasswordsBuilder, Verification,
};

mod config;
mod error;
mod service;
mod session;

pub use admin_mfa_lifecycle::{
    AdminId, AuditEvent, AuditKind, BuiltinRole, CodeCheck, Email, LinkPurpose, OrgId, Role,
    UnixTime,
};
pub use admin_mfa_policy::{Reason, WidgetAccess};
pub use admin_mfa_ports::{AdminSummary, AuditCursor, AuditPage, Page, PageRequest};
pub use config::{
    BULK_CHUNK_RANGE, CHALLENGE_TTL_RANGE, ConfigError, MAX_AUTH_AGE_RANGE, MfaConfig,
    MfaConfigBuilder,
};
pub use error::{Denied, Error, Result};
pub use service::{
    BulkItem, BulkReport, CreatedAdmin, LinkInfo, MfaService, MfaServiceBuilder, NewAdmin, Outcome,
    Provisioning, SetupComplete, WidgetView,
};
pub use session::{Authenticated, FactorKind, LoginOutcome, MfaChallenge, SetupRequired};

/// The lifecycle crate (state, commands, events), for what the facade does not re-export.
pub use admin_mfa_lifecycle as lifecycle;
/// The policy crate (roles, actions, decisions).
pub use admin_mfa_policy as policy;
/// The ports crate (store, mailer, clock, key provider).
pub use admin_mfa_ports as ports;
/// The TOTP crate (secrets, parameters, otpauth URIs, QR codes).
pub use admin_mfa_totp as totp;
