//! T-CLK and replay at the step level (docs/SECURITY.md §5).
#![allow(clippy::unwrap_used, reason = "tests")]

use admin_mfa_totp::{
    Algorithm, TimeStep, TotpParams, TotpSecret, VerifyError, Window, generate, generate_at_step,
    verify,
};

const SEED: &[u8] = b"12345678901234567890";
const T: u64 = 1_000_000;

fn secret() -> TotpSecret {
    TotpSecret::from_bytes(SEED).unwrap()
}

fn code(p: &TotpParams, step: u64) -> String {
    generate_at_step(&secret(), p, TimeStep::new(step)).to_string()
}

#[test]
fn t_clk_1_whole_period_accepts_its_code() {
    let p = TotpParams::default();
    let c = code(&p, T);
    for now in [30 * T, 30 * T + 1, 30 * T + 29] {
        assert_eq!(
            verify(&secret(), &p, &c, now, None),
            Ok(TimeStep::new(T)),
            "{now}"
        );
    }
    assert_eq!(generate(&secret(), &p, 30 * T).as_str(), c);
    assert_eq!(generate(&secret(), &p, 30 * T + 29).as_str(), c);
}

#[test]
fn t_clk_2_default_window_is_previous_and_current() {
    let p = TotpParams::default();
    assert_eq!(p.window(), Window::PreviousAndCurrent);
    // T-1 at the end of step T: accepted.
    assert_eq!(
        verify(&secret(), &p, &code(&p, T - 1), 30 * T + 29, None),
        Ok(TimeStep::new(T - 1))
    );
    // T-2 at the start of step T: rejected.
    assert_eq!(
        verify(&secret(), &p, &code(&p, T - 2), 30 * T, None),
        Err(VerifyError::Mismatch)
    );
    // T+1 (fast client clock): rejected by default ...
    assert_eq!(
        verify(&secret(), &p, &code(&p, T + 1), 30 * T, None),
        Err(VerifyError::Mismatch)
    );
    // ... accepted with ±1.
    let pm = p.with_window(Window::PlusMinusOne);
    assert_eq!(
        verify(&secret(), &pm, &code(&pm, T + 1), 30 * T, None),
        Ok(TimeStep::new(T + 1))
    );
    assert_eq!(
        verify(&secret(), &pm, &code(&pm, T + 2), 30 * T, None),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        verify(&secret(), &pm, &code(&pm, T - 2), 30 * T, None),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn t_clk_4_other_periods() {
    for period in [15, 60, 120] {
        let p = TotpParams::builder().period(period).build().unwrap();
        let c = code(&p, 500);
        assert_eq!(
            verify(&secret(), &p, &c, period * 500 + period - 1, None),
            Ok(TimeStep::new(500))
        );
        assert_eq!(
            verify(&secret(), &p, &c, period * 502, None),
            Err(VerifyError::Mismatch),
            "{period}"
        );
    }
}

#[test]
fn t_clk_5_step_zero_has_no_previous_step() {
    let p = TotpParams::default();
    let c0 = code(&p, 0);
    assert_eq!(c0, "755224");
    for now in 0..30 {
        assert_eq!(verify(&secret(), &p, &c0, now, None), Ok(TimeStep::new(0)));
        assert_eq!(
            verify(&secret(), &p, "000000", now, None),
            Err(VerifyError::Mismatch)
        );
    }
    let pm = p.with_window(Window::PlusMinusOne);
    assert_eq!(
        verify(&secret(), &pm, &code(&pm, 1), 0, None),
        Ok(TimeStep::new(1))
    );
}

#[test]
fn t_clk_6_far_future_and_extreme_times() {
    for alg in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
        let p = TotpParams::builder()
            .algorithm(alg)
            .digits(8)
            .build()
            .unwrap();
        let _ = generate(&secret(), &p, 20_000_000_000);
    }
    let p8 = TotpParams::builder().digits(8).build().unwrap();
    assert_eq!(
        generate(&secret(), &p8, 20_000_000_000).as_str(),
        "65353130"
    );
    for window in [Window::PreviousAndCurrent, Window::PlusMinusOne] {
        for period in [15, 30, 120] {
            let p = TotpParams::builder()
                .period(period)
                .window(window)
                .build()
                .unwrap();
            for now in [
                u64::MAX,
                u64::MAX - 1,
                u64::MAX / 30,
                (u64::MAX / 30) * 30,
                0,
                1,
            ] {
                let c = generate(&secret(), &p, now);
                assert_eq!(c.len(), 6);
                assert_eq!(verify(&secret(), &p, &c, now, None), Ok(p.step_at(now)));
                assert_eq!(
                    verify(&secret(), &p, &c, now, Some(TimeStep::new(u64::MAX))),
                    Err(VerifyError::Replayed)
                );
                let _ = verify(&secret(), &p, "123456", now, Some(TimeStep::new(0)));
            }
        }
    }
}

#[test]
fn t_rpl_replay_and_monotonic_steps() {
    let p = TotpParams::default();
    let now = 30 * T + 5;
    let c = code(&p, T);
    let used = verify(&secret(), &p, &c, now, None).unwrap();
    assert_eq!(used, TimeStep::new(T));
    // Same code, same time: replay.
    assert_eq!(
        verify(&secret(), &p, &c, now, Some(used)),
        Err(VerifyError::Replayed)
    );
    // T-1 is still in the window but older than the used step: replay, not accepted.
    assert_eq!(
        verify(&secret(), &p, &code(&p, T - 1), now, Some(used)),
        Err(VerifyError::Replayed)
    );
    // Next step, next code: accepted.
    assert_eq!(
        verify(&secret(), &p, &code(&p, T + 1), 30 * (T + 1), Some(used)),
        Ok(TimeStep::new(T + 1))
    );
    // A wrong code with a stored step is still a mismatch, not a replay.
    let wrong = if c == "000000" { "000001" } else { "000000" };
    assert_eq!(
        verify(&secret(), &p, wrong, now, Some(used)),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn t_rpl_5_same_digits_in_adjacent_steps() {
    // With the RFC seed, steps 910737 and 910738 both show 911617 (found by search; checked here).
    let p = TotpParams::default();
    let (older, newer) = (910_737, 910_738);
    assert_eq!(code(&p, older), "911617");
    assert_eq!(code(&p, newer), "911617");
    let now = 30 * newer;
    // Both match; the newest fresh step wins.
    assert_eq!(
        verify(&secret(), &p, "911617", now, None),
        Ok(TimeStep::new(newer))
    );
    // With T-1 used, the value is accepted for T.
    assert_eq!(
        verify(&secret(), &p, "911617", now, Some(TimeStep::new(older))),
        Ok(TimeStep::new(newer))
    );
    assert_eq!(
        verify(&secret(), &p, "911617", now, Some(TimeStep::new(newer))),
        Err(VerifyError::Replayed)
    );
}
