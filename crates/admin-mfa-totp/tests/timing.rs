//! T-TIM-1 (statistical, `#[ignore]`: 2 noisy cores in CI; run it with
//! `cargo test -p admin-mfa-totp --release --test timing -- --ignored`). 11 interleaved rounds of
//! 20,000 runs per code (2.2 × 10⁵ each), medians compared.
//!
//! A wrong code that differs from the right one in the first digit and one that differs in
//! the last digit must take the same time: every digit of every candidate step is compared
//! with `subtle`, with no early exit.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use admin_mfa_totp::{TotpParams, TotpSecret, generate, verify};

const RUNS: usize = 20_000;
const ROUNDS: usize = 11;

#[expect(
    clippy::disallowed_methods,
    reason = "a timing test measures wall time"
)]
fn median_ns(secret: &TotpSecret, params: &TotpParams, code: &str, now: u64) -> u128 {
    let mut samples: Vec<Duration> = Vec::with_capacity(RUNS / 100);
    for _ in 0..RUNS / 100 {
        let start = Instant::now();
        for _ in 0..100 {
            let _ = black_box(verify(secret, params, black_box(code), now, None));
        }
        samples.push(start.elapsed());
    }
    samples.sort();
    samples[samples.len() / 2].as_nanos() / 100
}

#[test]
#[ignore = "statistical timing test; run nightly on a quiet machine"]
fn first_and_last_digit_mismatches_take_the_same_time() {
    let secret = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
    let params = TotpParams::default();
    let now = 1_700_000_000;
    let right = generate(&secret, &params, now).to_string();
    let flip = |i: usize| {
        let mut b = right.clone().into_bytes();
        b[i] = if b[i] == b'9' { b'0' } else { b[i] + 1 };
        String::from_utf8(b).unwrap()
    };
    let (first, last) = (flip(0), flip(5));
    assert!(verify(&secret, &params, &first, now, None).is_err());
    assert!(verify(&secret, &params, &last, now, None).is_err());

    // Interleave to spread drift over both.
    let mut a = Vec::new();
    let mut b = Vec::new();
    for _ in 0..ROUNDS {
        a.push(median_ns(&secret, &params, &first, now));
        b.push(median_ns(&secret, &params, &last, now));
    }
    a.sort_unstable();
    b.sort_unstable();
    let (ma, mb) = (a[ROUNDS / 2] as f64, b[ROUNDS / 2] as f64);
    let diff = (ma - mb).abs() / ma.min(mb);
    assert!(
        diff < 0.05,
        "first-digit {ma} ns vs last-digit {mb} ns ({:.1} %)",
        diff * 100.0
    );
}
