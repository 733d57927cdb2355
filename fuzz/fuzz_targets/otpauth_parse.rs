//! T-FUZ-1: the otpauth parser never panics, and what it accepts re-emits and re-parses to
//! the same value. The checks live in `admin_mfa_totp::fuzzing` so the corpus replay test
//! in that crate runs exactly the same assertions on stable.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    admin_mfa_totp::fuzzing::otpauth_parse(data);
});
