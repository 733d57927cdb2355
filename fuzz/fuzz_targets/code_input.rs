//! T-FUZ-2: code normalisation and `verify` never panic for any input and time; accepted
//! input is exactly `digits` ASCII digits. Checks shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    admin_mfa_totp::fuzzing::code_input(data);
});
