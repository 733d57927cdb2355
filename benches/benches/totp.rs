//! TOTP verification beside its baselines, in one run (DESIGN.md §8):
//!
//! * `verify/ours_*`: `admin_mfa_totp::verify` with the default window `[T − 1, T]`, for the
//!   right code and a wrong one (the worst case; with no early exit both cost the same);
//! * `verify/totp_rs_*`: raw `totp-rs` with the same window: a prebuilt `Totp` (skew 0)
//!   checked at `now` and, if that fails, at `now − 30`; and its own symmetric `check` with
//!   skew 1 (three steps) for reference;
//! * `hmac_sha1/bare`: one HMAC-SHA1 over an 8-byte counter with a 20-byte key;
//! * `qr/png_4px`: rendering the otpauth URI's QR code as a PNG.
//!
//! Run: `cargo bench -p admin-mfa-benches --bench totp -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use admin_mfa_totp::{OtpauthUri, TotpParams, TotpSecret, generate, verify};
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};

const SEED: &[u8] = b"12345678901234567890";
const NOW: u64 = 1_700_000_000;

fn wrong_code(right: &str) -> String {
    // Same length, last digit changed: a real mismatch.
    let mut bytes = right.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        *last = if *last == b'9' { b'0' } else { *last + 1 };
    }
    String::from_utf8(bytes).unwrap_or_default()
}

fn bench_verify(c: &mut Criterion) {
    let secret = TotpSecret::from_bytes(SEED).unwrap_or_else(|_| TotpSecret::generate());
    let params = TotpParams::default();
    let right = generate(&secret, &params, NOW).to_string();
    let wrong = wrong_code(&right);
    assert!(verify(&secret, &params, &right, NOW, None).is_ok());
    assert!(verify(&secret, &params, &wrong, NOW, None).is_err());

    let raw = totp_rs::Builder::new()
        .with_secret(SEED)
        .with_skew(0)
        .with_step_duration(30)
        .build()
        .ok();
    let raw_skew1 = totp_rs::Builder::new()
        .with_secret(SEED)
        .with_skew(1)
        .with_step_duration(30)
        .build()
        .ok();
    let (Some(raw), Some(raw_skew1)) = (raw, raw_skew1) else {
        return;
    };
    // Same window as ours: the current step, then the previous one.
    let raw_check = |code: &str| raw.check(code, NOW).or_else(|| raw.check(code, NOW - 30));
    assert!(raw_check(&right).is_some());
    assert!(raw_check(&wrong).is_none());

    let mut g = c.benchmark_group("verify");
    g.sample_size(30);
    g.bench_function("ours_right_code", |b| {
        b.iter(|| {
            verify(
                black_box(&secret),
                &params,
                black_box(&right),
                black_box(NOW),
                None,
            )
        });
    });
    g.bench_function("ours_wrong_code", |b| {
        b.iter(|| {
            verify(
                black_box(&secret),
                &params,
                black_box(&wrong),
                black_box(NOW),
                None,
            )
        });
    });
    g.bench_function("totp_rs_right_code", |b| {
        b.iter(|| raw_check(black_box(&right)));
    });
    g.bench_function("totp_rs_wrong_code", |b| {
        b.iter(|| raw_check(black_box(&wrong)));
    });
    g.bench_function("totp_rs_check_skew1_wrong_code", |b| {
        b.iter(|| raw_skew1.check(black_box(&wrong), black_box(NOW)));
    });
    g.finish();

    let mut g = c.benchmark_group("hmac_sha1");
    g.sample_size(30);
    g.bench_function("bare", |b| {
        b.iter(|| {
            let Ok(mut mac) = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(black_box(SEED)) else {
                return None;
            };
            mac.update(&black_box(NOW / 30).to_be_bytes());
            Some(mac.finalize().into_bytes())
        });
    });
    g.finish();
}

fn bench_qr(c: &mut Criterion) {
    let Ok(secret) = TotpSecret::from_bytes(SEED) else {
        return;
    };
    let Ok(uri) = OtpauthUri::new(
        "ACME Co",
        "admin+mfa@example.com",
        secret,
        TotpParams::default(),
    ) else {
        return;
    };
    let mut g = c.benchmark_group("qr");
    g.sample_size(30);
    g.bench_function("png_4px", |b| b.iter(|| black_box(&uri).to_qr_png(4)));
    g.finish();
}

criterion_group!(benches, bench_verify, bench_qr);
criterion_main!(benches);
