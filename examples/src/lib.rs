//! Runnable examples for admin-mfa; see the `quickstart` example.
