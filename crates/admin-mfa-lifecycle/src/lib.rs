//! Sans-IO MFA lifecycle for admin accounts: state, commands, events, link tokens and sealed secrets.

mod config;
mod email;
mod machine;
mod notify;
mod seal;
#[cfg(feature = "serde")]
mod serde_b64;
mod state;
mod time;
mod token;

pub use admin_mfa_policy::{AdminId, BuiltinRole, OrgId, Role};
pub use admin_mfa_totp::{TimeStep, TotpParams, TotpSecret, VerifyError};

pub use config::{
    ConfigError, LifecycleConfig, LifecycleConfigBuilder, MAX_DELAY_SECS, MAX_EMAIL_WINDOW_SECS,
    MAX_EMAILS_PER_WINDOW, MAX_LINK_TTL_SECS, MAX_THRESHOLD,
};
pub use email::{Email, EmailError, MAX_EMAIL_LEN, PasswordHash};
pub use machine::{
    Code, Command, Context, Event, Fresh, IssuedLink, LinkRejection, RequirementSource,
    TransitionError, apply, apply_all, decide, execute,
};
pub use notify::{
    AuditEvent, AuditKind, CodeCheck, DedupeKey, Notification, NotificationKind, audit_events,
    notifications,
};
pub use seal::{
    KEY_BYTES, KeyId, KeyRing, NONCE_BYTES, Nonce, SealError, Sealed, SealedKind, SealedSecret,
    SealingKey,
};
pub use state::{
    ActiveFactor, Admin, Candidate, EmailLog, Factor, Failures, MfaState, PendingLink, Requirement,
    WidgetPrefs,
};
pub use time::UnixTime;
pub use token::{LinkPurpose, LinkToken, TOKEN_BYTES, TOKEN_ENCODED_LEN, TokenError, TokenHash};
