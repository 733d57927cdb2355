//! Conformance suite that every admin MFA store adapter runs.
