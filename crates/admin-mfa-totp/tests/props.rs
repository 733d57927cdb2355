//! Property tests: base32 and URI round trips (T-FUZ-3, T-FUZ-1), the lenient otpauth import
//! agreeing with the strict parse, and a differential check of `generate` against an HMAC
//! reference written here (T-FUZ-7).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use admin_mfa_totp::{
    Algorithm, OtpauthUri, TimeStep, TotpParams, TotpSecret, VerifyError, Window, generate,
    generate_at_step, verify,
};
use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

fn params() -> impl Strategy<Value = TotpParams> {
    (
        algorithm(),
        prop_oneof![Just(6_u8), Just(8_u8)],
        15_u64..=120,
        prop_oneof![Just(Window::PreviousAndCurrent), Just(Window::PlusMinusOne)],
    )
        .prop_map(|(a, d, p, w)| {
            TotpParams::builder()
                .algorithm(a)
                .digits(d)
                .period(p)
                .window(w)
                .build()
                .unwrap()
        })
}

fn secret_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 16..=64)
}

/// Issuer or account names the builder accepts: 1..=64 bytes, no `:`, no control characters,
/// no surrounding whitespace; any other Unicode is fair game.
fn name() -> impl Strategy<Value = String> {
    "[^:\\p{Cc}\\s][^:\\p{Cc}]{0,14}[^:\\p{Cc}\\s]|[^:\\p{Cc}\\s]"
        .prop_filter("at most 64 bytes", |s| s.len() <= 64)
}

/// otpauth URIs assembled from pieces that strict parsing accepts and pieces only the lenient
/// import tolerates (or nobody does), so both answers occur often.
fn assembled_uri() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        10 => Just("otpauth://"),
        1 => Just("OTPAUTH://"),
        1 => Just("otpauth:/"),
    ];
    let kind = prop_oneof![10 => Just("totp"), 1 => Just("Totp"), 1 => Just("hotp")];
    let label = prop_oneof![
        10 => Just("ACME:alice"),
        5 => Just("ACME%3Aalice%40example.com"),
        1 => Just("alice"),
        1 => Just("ACME:%20alice"),
        1 => Just("ACME: alice"),
        1 => Just("AC/ME:alice"),
        1 => Just("Bob's:bob"),
        1 => Just("ACME:al%0Aice"),
        1 => Just("ACME:"),
        1 => Just("ACME:a:b"),
        1 => Just("AC+ME:alice"),
    ];
    let secret = prop_oneof![
        12 => Just("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
        1 => Just("secret=gezdgnbvgy3tqojqgezdgnbvgy3tqojq"),
        1 => Just("secret=MJQXG5DJN5XC2MBREBVWK6JBEE======"),
        1 => Just("secret=MJQXG5DJN5XC2MBREBVWK6JBEE%3D%3D%3D%3D%3D%3D"),
        1 => Just("secret=MJQXG5DJN5XC2MBREBVWK6JBEE=="),
        1 => Just("secret=GAYTEMZUGU3DOOBZ"),
        1 => Just(""),
    ];
    let issuer = prop_oneof![
        12 => Just("issuer=ACME"),
        1 => Just("issuer=AC/ME"),
        1 => Just("issuer=Bob's"),
        1 => Just("issuer=Other"),
        1 => Just("issuer=AC%20ME%20"),
        1 => Just(""),
    ];
    let extra = prop_oneof![
        3 => Just("algorithm=sha256"),
        1 => Just("algorithm=MD5"),
        3 => Just("digits=8"),
        1 => Just("digits=7"),
        3 => Just("period=60"),
        1 => Just("period=0"),
        1 => Just("image=https%3A%2F%2Fexample.com%2Fa.png"),
        1 => Just("counter=1"),
        1 => Just("issuer=ACME"),
        1 => Just("x=1"),
        1 => Just(""),
    ];
    (
        scheme,
        kind,
        label,
        secret,
        issuer,
        proptest::collection::vec(extra, 0..3),
    )
        .prop_flat_map(|(scheme, kind, label, secret, issuer, extras)| {
            let mut pairs = vec![secret, issuer];
            pairs.extend(extras);
            (
                Just(format!("{scheme}{kind}/{label}")),
                Just(pairs).prop_shuffle(),
            )
        })
        .prop_map(|(head, pairs)| format!("{head}?{}", pairs.join("&")))
}

/// RFC 4226 with the `hmac` crate: HMAC, dynamic truncation, modulo, zero padding.
fn reference(key: &[u8], alg: Algorithm, digits: u8, counter: u64) -> String {
    fn mac<M: Mac + KeyInit>(key: &[u8], counter: u64) -> Vec<u8> {
        let mut m = <M as KeyInit>::new_from_slice(key).unwrap();
        m.update(&counter.to_be_bytes());
        m.finalize().into_bytes().to_vec()
    }
    let h = match alg {
        Algorithm::Sha1 => mac::<Hmac<sha1::Sha1>>(key, counter),
        Algorithm::Sha256 => mac::<Hmac<sha2::Sha256>>(key, counter),
        Algorithm::Sha512 => mac::<Hmac<sha2::Sha512>>(key, counter),
    };
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let value =
        u32::from_be_bytes([h[offset], h[offset + 1], h[offset + 2], h[offset + 3]]) & 0x7fff_ffff;
    let modulus = 10_u32.pow(u32::from(digits));
    format!("{:0width$}", value % modulus, width = usize::from(digits))
}

proptest! {
    #[test]
    fn base32_round_trip(bytes in secret_bytes()) {
        let s = TotpSecret::from_bytes(&bytes).unwrap();
        let text = s.to_base32();
        prop_assert!(!text.contains('='));
        prop_assert_eq!(text.len(), (bytes.len() * 8).div_ceil(5));
        prop_assert_eq!(TotpSecret::from_base32(&text).unwrap(), s.clone());
        // What a person might type: lower case, groups of four.
        let typed: String = text
            .to_lowercase()
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        prop_assert_eq!(TotpSecret::from_typed_base32(&typed).unwrap(), s.clone());
        // The grouped form the library shows for manual entry is exactly that, upper case.
        let grouped = s.to_base32_grouped();
        prop_assert_eq!(grouped.as_str(), typed.to_uppercase());
        prop_assert_eq!(TotpSecret::from_typed_base32(&grouped).unwrap(), s);
    }

    #[test]
    fn base32_decode_is_canonical(text in "[A-Z2-7]{20,110}|[A-Z2-7=a-z ]{0,120}") {
        // Whatever decodes re-encodes to exactly the input: one text per secret.
        if let Ok(s) = TotpSecret::from_base32(&text) {
            let again = s.to_base32();
            prop_assert_eq!(again.as_str(), text.as_str());
        }
    }

    #[test]
    fn uri_round_trip(
        issuer in name(),
        account in name(),
        bytes in secret_bytes(),
        p in params(),
    ) {
        let secret = TotpSecret::from_bytes(&bytes).unwrap();
        let uri = OtpauthUri::new(issuer, account, secret, p).unwrap();
        let text = uri.to_uri();
        prop_assert!(text.is_ascii());
        prop_assert!(!text.contains('+') && !text.contains(' '));
        let parsed = OtpauthUri::parse(&text).unwrap();
        // The window is server policy, not part of the URI.
        prop_assert_eq!(parsed.params().window(), Window::PreviousAndCurrent);
        let expected = OtpauthUri::new(
            uri.issuer(),
            uri.account(),
            uri.secret().clone(),
            uri.params().with_window(Window::PreviousAndCurrent),
        )
        .unwrap();
        prop_assert_eq!(&parsed, &expected);
        let again = parsed.to_uri();
        prop_assert_eq!(again.as_str(), text.as_str());
        prop_assert_eq!(OtpauthUri::parse_lenient(&text).unwrap(), parsed);
    }

    #[test]
    fn uri_parse_never_panics_and_is_stable(text in "otpauth://(totp|hotp|x)/[A-Za-z%0-9:@._~+ -]{0,20}\\?[a-z=&%0-9A-Z]{0,80}") {
        if let Ok(parsed) = OtpauthUri::parse(&text) {
            let again = OtpauthUri::parse(&parsed.to_uri()).unwrap();
            prop_assert_eq!(again, parsed);
        }
        lenient_agrees_with_strict(&text)?;
    }

    #[test]
    fn generate_matches_the_hmac_reference(
        bytes in secret_bytes(),
        alg in algorithm(),
        digits in prop_oneof![Just(6_u8), Just(8_u8)],
        now in any::<u64>(),
    ) {
        let p = TotpParams::builder().algorithm(alg).digits(digits).build().unwrap();
        let secret = TotpSecret::from_bytes(&bytes).unwrap();
        let ours = generate(&secret, &p, now);
        prop_assert_eq!(ours.as_str(), reference(&bytes, alg, digits, now / 30));
    }

    #[test]
    fn verify_accepts_the_window_and_nothing_else(
        bytes in secret_bytes(),
        p in params(),
        now in any::<u64>(),
    ) {
        let secret = TotpSecret::from_bytes(&bytes).unwrap();
        let t = p.step_at(now).get();
        let code_at = |s: u64| generate_at_step(&secret, &p, TimeStep::new(s));
        prop_assert_eq!(verify(&secret, &p, &code_at(t), now, None), Ok(TimeStep::new(t)));
        if t > 0 {
            let prev = code_at(t - 1);
            if prev != code_at(t) {
                prop_assert_eq!(verify(&secret, &p, &prev, now, None), Ok(TimeStep::new(t - 1)));
            }
        }
        if t > 1 {
            let old = code_at(t - 2);
            let in_window = [t.saturating_sub(1), t, t.saturating_add(1)]
                .iter()
                .any(|&s| code_at(s) == old);
            if !in_window {
                prop_assert_eq!(verify(&secret, &p, &old, now, None), Err(VerifyError::Mismatch));
            }
        }
    }
}

proptest! {
    // Parsing takes microseconds: many cases, so both parsers' acceptances are frequent.
    #![proptest_config(ProptestConfig::with_cases(2048))]
    #[test]
    fn parse_lenient_accepts_all_that_parse_does(text in assembled_uri()) {
        lenient_agrees_with_strict(&text)?;
    }
}

/// Whatever `parse` accepts, `parse_lenient` accepts as the same value; whatever
/// `parse_lenient` accepts re-emits as a URI `parse` accepts, as the same value.
fn lenient_agrees_with_strict(text: &str) -> Result<(), TestCaseError> {
    let strict = OtpauthUri::parse(text);
    let lenient = OtpauthUri::parse_lenient(text);
    if let Ok(strict) = &strict {
        prop_assert_eq!(lenient.as_ref(), Ok(strict));
    }
    if let Ok(lenient) = &lenient {
        let again = OtpauthUri::parse(&lenient.to_uri());
        prop_assert_eq!(again.as_ref(), Ok(lenient));
    }
    Ok(())
}
