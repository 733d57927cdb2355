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
    DeadLetter, DispatchConfig, DispatchConfigBuilder, DispatchConfigError, DispatchError,
    DispatchReport, FailureReason, dispatch,
};
pub use email::{EmailConfig, EmailConfigBuilder, EmailConfigError, EmailRenderer, RenderError};
pub use password::{
    HashOp, HashRun, MAX_PASSWORD_BYTES, ParamsError, Password, PasswordError, PasswordParams,
    PasswordStats, Passwords, PasswordsBuilder, Verification,
};
