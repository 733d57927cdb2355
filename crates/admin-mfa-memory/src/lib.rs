//! In-memory AdminStore, recording mailer and test clock: the embedded default for admin MFA.
