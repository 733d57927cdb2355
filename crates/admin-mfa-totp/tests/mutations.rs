//! A small stable-Rust stand-in for the fuzzers: random byte mutations of valid inputs run
//! through the same checks as the `fuzz/` targets (`admin_mfa_totp::fuzzing`).
#![cfg(feature = "_fuzzing")]
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use admin_mfa_totp::{OtpauthUri, TotpParams, TotpSecret, fuzzing};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let byte = prop_oneof![
        any::<u8>(),
        prop::sample::select(b":%=&?#+ /@3AaZz0789".to_vec()),
    ];
    proptest::collection::vec(
        prop_oneof![
            (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Replace(i, b)),
            (any::<usize>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
            any::<usize>().prop_map(Edit::Delete),
        ],
        1..4,
    )
}

fn apply(mut data: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = data.len().max(1);
        match *e {
            Edit::Replace(i, b) if !data.is_empty() => data[i % n] = b,
            Edit::Insert(i, b) => data.insert(i % (data.len() + 1), b),
            Edit::Delete(i) if !data.is_empty() => {
                data.remove(i % n);
            }
            _ => {}
        }
    }
    data
}

fn seed_uri(i: usize) -> Vec<u8> {
    let params = TotpParams::builder()
        .digits(if i.is_multiple_of(2) { 6 } else { 8 })
        .period([15, 30, 60, 120][i % 4])
        .build()
        .unwrap();
    let secret = TotpSecret::from_bytes(&vec![0x5A; 16 + i % 49]).unwrap();
    let names = [
        ("ACME Co", "admin+mfa@example.com"),
        ("Ünï", "é@例え.jp"),
        ("a", "b"),
    ];
    let (issuer, account) = names[i % names.len()];
    OtpauthUri::new(issuer, account, secret, params)
        .unwrap()
        .to_uri()
        .as_bytes()
        .to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn mutated_uris(i in 0_usize..1000, e in edits()) {
        fuzzing::otpauth_parse(&apply(seed_uri(i), &e));
    }

    #[test]
    fn mutated_code_input(flags in any::<u8>(), now in any::<u64>(), code in "[0-9 ]{0,12}", e in edits()) {
        let mut data = vec![flags];
        data.extend_from_slice(&now.to_le_bytes());
        data.extend_from_slice(code.as_bytes());
        fuzzing::code_input(&apply(data, &e));
    }
}
