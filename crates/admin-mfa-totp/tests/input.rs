//! T-INP: strict code input (docs/SECURITY.md §5).
#![allow(clippy::unwrap_used, reason = "tests")]

use admin_mfa_totp::{
    Algorithm, MAX_CODE_INPUT_LEN, TimeStep, TotpParams, TotpSecret, VerifyError, generate,
    generate_at_step, verify,
};

const SEED: &[u8] = b"12345678901234567890";
/// At t = 59 the RFC seed shows 287082 (SHA1, 6 digits).
const NOW: u64 = 59;

fn secret() -> TotpSecret {
    TotpSecret::from_bytes(SEED).unwrap()
}

#[test]
fn accepted_spellings() {
    let p = TotpParams::default();
    assert_eq!(generate(&secret(), &p, NOW).as_str(), "287082");
    for ok in ["287082", "287 082", " 287082 ", "2 8 7 0 8 2", "  287082"] {
        assert_eq!(
            verify(&secret(), &p, ok, NOW, None),
            Ok(TimeStep::new(1)),
            "{ok:?}"
        );
    }
}

#[test]
fn leading_zeros_are_kept() {
    // Step 44 of the RFC seed is 000152: the full six digits pass, the short form does not.
    let p = TotpParams::default();
    let now = 44 * 30;
    assert_eq!(
        generate_at_step(&secret(), &p, TimeStep::new(44)).as_str(),
        "000152"
    );
    assert_eq!(
        verify(&secret(), &p, "000152", now, None),
        Ok(TimeStep::new(44))
    );
    assert_eq!(
        verify(&secret(), &p, "152", now, None),
        Err(VerifyError::Malformed)
    );
    // 8 digits: 07081804 at t = 1111111109.
    let p8 = TotpParams::builder().digits(8).build().unwrap();
    assert!(verify(&secret(), &p8, "07081804", 1_111_111_109, None).is_ok());
    assert_eq!(
        verify(&secret(), &p8, "7081804", 1_111_111_109, None),
        Err(VerifyError::Malformed)
    );
}

#[test]
fn t_inp_malformed_table() {
    let p = TotpParams::default();
    let long = "1".repeat(10_000);
    let cases: &[&str] = &[
        "",
        " ",
        "12345",
        "1234567",
        "1111111111",
        &long,
        "１２３４５６",
        "١٢٣٤٥٦",
        "۲۸۷۰۸۲",
        "+12345",
        "-12345",
        "+287082",
        "-287082",
        "287-082",
        "12345a",
        "0x1234",
        "123456\0",
        "287082\0",
        "287082\n",
        "287082\r\n",
        "287\t082",
        "\u{a0}287082",
        "287082\u{200b}",
        "28708²",
    ];
    for code in cases {
        assert_eq!(
            verify(&secret(), &p, code, NOW, None),
            Err(VerifyError::Malformed),
            "{code:?}"
        );
    }
}

#[test]
fn over_long_input_is_refused_before_normalising() {
    let p = TotpParams::default();
    // Spaces are ignored, but only within the length bound.
    let padded_ok = format!("{:>width$}", "287082", width = MAX_CODE_INPUT_LEN);
    assert_eq!(
        verify(&secret(), &p, &padded_ok, NOW, None),
        Ok(TimeStep::new(1))
    );
    let padded_long = format!("{:>width$}", "287082", width = MAX_CODE_INPUT_LEN + 1);
    assert_eq!(
        verify(&secret(), &p, &padded_long, NOW, None),
        Err(VerifyError::Malformed)
    );
}

#[test]
fn six_digit_config_refuses_eight_and_vice_versa() {
    let p6 = TotpParams::default();
    let p8 = TotpParams::builder().digits(8).build().unwrap();
    assert_eq!(
        verify(&secret(), &p6, "94287082", NOW, None),
        Err(VerifyError::Malformed)
    );
    assert_eq!(
        verify(&secret(), &p8, "287082", NOW, None),
        Err(VerifyError::Malformed)
    );
    assert!(verify(&secret(), &p8, "94287082", NOW, None).is_ok());
}

#[test]
fn sha256_code_on_a_sha1_authenticator_is_wrong() {
    let sha1 = TotpParams::default();
    let sha256 = TotpParams::builder()
        .algorithm(Algorithm::Sha256)
        .build()
        .unwrap();
    let code = generate(&secret(), &sha256, NOW);
    assert_ne!(code.as_str(), generate(&secret(), &sha1, NOW).as_str());
    assert_eq!(
        verify(&secret(), &sha1, &code, NOW, None),
        Err(VerifyError::Mismatch)
    );
    assert!(verify(&secret(), &sha256, &code, NOW, None).is_ok());
}

#[test]
fn non_utf8_bytes_never_reach_verify_as_digits() {
    // `verify` takes `&str`; a host decoding request bytes lossily gets U+FFFD, which is refused.
    let lossy = String::from_utf8_lossy(b"28\xff082");
    assert_eq!(
        verify(&secret(), &TotpParams::default(), &lossy, NOW, None),
        Err(VerifyError::Malformed)
    );
}

#[test]
fn wrong_code_is_a_mismatch_and_errors_do_not_echo_it() {
    let p = TotpParams::default();
    let err = verify(&secret(), &p, "123456", NOW, None).unwrap_err();
    assert_eq!(err, VerifyError::Mismatch);
    for e in [
        VerifyError::Malformed,
        VerifyError::Mismatch,
        VerifyError::Replayed,
    ] {
        let text = format!("{e} {e:?}");
        assert!(!text.contains("123456") && !text.contains("287082"));
        assert!(!text.chars().any(|c| c.is_ascii_digit()));
    }
}
