//! TOTP multi-factor authentication for the administrator accounts of any Rust service.
//!
//! (Crate documentation in progress.)

// Owned by the service engineer: the `MfaService`, its configuration and its operations.
// Owned by the email/password engineer: `email` (rendering), `dispatch` (outbox delivery),
// `password` (argon2id). Each adds its own `mod` and `pub use` lines below.
