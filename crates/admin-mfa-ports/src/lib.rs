//! Async storage and mail ports for admin MFA, with sync clock and key-provider traits.
