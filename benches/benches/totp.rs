//! TOTP verification beside its baselines, in one run (DESIGN.md §8):
//!
//! * `verify/ours_*`: `admin_mfa_totp::verify` with the default window `[T − 1, T]`, for the
//!   right code and a wrong one (the worst case; with no early exit both cost the same), on a
//!   reused `TotpSecret` (which keeps totp-rs's engine from its second use on), and with the
//!   secret loaded from its bytes for every call (`ours_fresh_secret_wrong_code`);
//! * `verify/totp_rs_*`: raw `totp-rs` with the same window: a prebuilt `Totp` (skew 0)
//!   checked at `now` and, if that fails, at `now − 30`; and its own symmetric `check` with
//!   skew 1 (three steps) for reference; and the same window with the `Totp` built from the
//!   secret on every call, as a server with one secret per admin does;
//! * `hmac_sha1/bare`: one HMAC-SHA1 over an 8-byte counter with a 20-byte key;
//! * `qr/png_4px`: rendering the otpauth URI's QR code as a PNG;
//! * a paired, interleaved ratio of ours to raw totp-rs, printed before the groups.
//!
//! Run: `cargo bench -p admin-mfa-benches --bench totp -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::Instant;

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

/// Ours against raw totp-rs, interleaved: each round times a batch of each back to back, and
/// the median of the per-round ratios is printed. On a shared, loaded machine this is steadier
/// than dividing two criterion medians taken seconds apart. The ratio of each side's fastest
/// batch (the least disturbed one) is printed too.
#[expect(clippy::disallowed_methods, reason = "a benchmark measures wall time")]
fn paired_ratio(label: &str, ours: impl Fn() -> bool, raw: impl Fn() -> bool) {
    const ROUNDS: usize = 101;
    const BATCH: u32 = 2_000;
    let time = |f: &dyn Fn() -> bool| {
        let start = Instant::now();
        for _ in 0..BATCH {
            black_box(f());
        }
        start.elapsed()
    };
    let mut ratios = Vec::with_capacity(ROUNDS);
    let (mut ours_ns, mut raw_ns) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    for round in 0..ROUNDS {
        // Alternate the order so neither side always runs first.
        let (a, b) = if round % 2 == 0 {
            let a = time(&ours);
            (a, time(&raw))
        } else {
            let b = time(&raw);
            (time(&ours), b)
        };
        ratios.push(a.as_secs_f64() / b.as_secs_f64());
        ours_ns.push(a.as_nanos() / u128::from(BATCH));
        raw_ns.push(b.as_nanos() / u128::from(BATCH));
    }
    ratios.sort_by(f64::total_cmp);
    ours_ns.sort_unstable();
    raw_ns.sort_unstable();
    let mid = ROUNDS / 2;
    let fastest = |v: &[u128]| v.first().copied().unwrap_or_default();
    #[expect(clippy::cast_precision_loss, reason = "nanoseconds per call are small")]
    let fastest_ratio = fastest(&ours_ns) as f64 / fastest(&raw_ns).max(1) as f64;
    println!(
        "paired ({label}; default window): ours {} ns, totp-rs {} ns, ratio median {:.2} \
         (p25 {:.2}, p75 {:.2}) over {ROUNDS} rounds of {BATCH}; fastest batches {} / {} ns = \
         {fastest_ratio:.2}",
        ours_ns.get(mid).copied().unwrap_or_default(),
        raw_ns.get(mid).copied().unwrap_or_default(),
        ratios.get(mid).copied().unwrap_or_default(),
        ratios.get(ROUNDS / 4).copied().unwrap_or_default(),
        ratios.get(3 * ROUNDS / 4).copied().unwrap_or_default(),
        fastest(&ours_ns),
        fastest(&raw_ns),
    );
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
    // What a multi-user server does with totp-rs: build the `Totp` from the stored secret for
    // each verification, then check the same window.
    let raw_built_check = |code: &str| {
        totp_rs::Builder::new()
            .with_secret(black_box(SEED))
            .with_skew(0)
            .with_step_duration(30)
            .build()
            .ok()
            .and_then(|t| t.check(code, NOW).or_else(|| t.check(code, NOW - 30)))
    };
    assert!(raw_built_check(&right).is_some());
    assert!(raw_check(&right).is_some());
    assert!(raw_check(&wrong).is_none());

    paired_ratio(
        "wrong code",
        || verify(&secret, &params, black_box(&wrong), NOW, None).is_ok(),
        || raw_check(black_box(&wrong)).is_some(),
    );
    // Both sides start from the stored key bytes on every call: ours loads a `TotpSecret`
    // (which then sets up its engine once), totp-rs builds its `Totp`.
    let fresh_verify = |code: &str| {
        TotpSecret::from_bytes(black_box(SEED))
            .is_ok_and(|s| verify(&s, &params, code, NOW, None).is_ok())
    };
    paired_ratio(
        "wrong code, secret loaded per call on both sides",
        || fresh_verify(black_box(&wrong)),
        || raw_built_check(black_box(&wrong)).is_some(),
    );
    paired_ratio(
        "right code",
        || verify(&secret, &params, black_box(&right), NOW, None).is_ok(),
        || raw_check(black_box(&right)).is_some(),
    );

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
    g.bench_function("ours_fresh_secret_wrong_code", |b| {
        b.iter(|| fresh_verify(black_box(&wrong)));
    });
    g.bench_function("totp_rs_right_code", |b| {
        b.iter(|| raw_check(black_box(&right)));
    });
    g.bench_function("totp_rs_wrong_code", |b| {
        b.iter(|| raw_check(black_box(&wrong)));
    });
    g.bench_function("totp_rs_built_per_call_wrong_code", |b| {
        b.iter(|| raw_built_check(black_box(&wrong)));
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
