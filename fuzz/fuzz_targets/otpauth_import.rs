//! The lenient otpauth import never panics, accepts whatever the strict parser accepts as the
//! same value, and re-emits what it accepts in the strict form. The checks live in
//! `admin_mfa_totp::fuzzing` so the corpus replay test runs the same assertions on stable.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    admin_mfa_totp::fuzzing::otpauth_import(data);
});
