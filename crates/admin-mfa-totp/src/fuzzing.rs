//! Checks shared by the `fuzz/` targets and the corpus-replay test. Not a public API.
//!
//! Each function takes arbitrary bytes and asserts the properties docs/SECURITY.md T-FUZ-1 and
//! T-FUZ-2 require; a failed assertion is a finding.

use crate::{
    MAX_CODE_INPUT_LEN, MAX_URI_LEN, OtpauthUri, TotpParams, TotpSecret, VerifyError,
    generate_at_step, verify,
};

/// T-FUZ-1: parsing never panics; a parsed URI re-emits to a URI that parses to the same
/// value, with issuer prefix equal to the `issuer` parameter and no base32 padding.
pub fn otpauth_parse(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = OtpauthUri::parse(text) else {
        return;
    };
    let emitted = parsed.to_uri();
    assert!(emitted.len() <= MAX_URI_LEN);
    assert!(emitted.is_ascii());
    assert_eq!(OtpauthUri::parse(&emitted).as_ref(), Ok(&parsed));

    let rest = emitted.strip_prefix("otpauth://totp/").unwrap_or_default();
    let (label, query) = rest.split_once('?').unwrap_or_default();
    let (prefix, _) = label.split_once(':').unwrap_or_default();
    assert!(!prefix.is_empty());
    let params: Vec<&str> = query.split('&').collect();
    assert!(params.contains(&format!("issuer={prefix}").as_str()));
    let secret = params
        .iter()
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap_or_default();
    assert!(!secret.is_empty() && !secret.contains('='));
}

/// The lenient import never panics; it accepts whatever the strict parser accepts, as the
/// same value, and what it accepts re-emits as a URI the strict parser takes back unchanged.
pub fn otpauth_import(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let lenient = OtpauthUri::parse_lenient(text);
    if let Ok(strict) = OtpauthUri::parse(text) {
        assert_eq!(lenient.as_ref(), Ok(&strict));
    }
    if let Ok(imported) = lenient {
        let emitted = imported.to_uri();
        assert_eq!(OtpauthUri::parse(&emitted), Ok(imported));
    }
}

/// T-FUZ-2: code input never panics and is bounded; when it normalises, the result is
/// exactly `digits` ASCII digits, and `verify` agrees with `generate` on it.
///
/// Layout: byte 0 picks 6 or 8 digits and the window, bytes 1..9 are the time, the rest is
/// the code text.
pub fn code_input(data: &[u8]) {
    let (head, rest) = data.split_at(data.len().min(9));
    let mut time = [0_u8; 8];
    for (dst, src) in time.iter_mut().zip(head.iter().skip(1)) {
        *dst = *src;
    }
    let now = u64::from_le_bytes(time);
    let flags = head.first().copied().unwrap_or(0);
    let digits = if flags & 1 == 0 { 6 } else { 8 };
    let window = if flags & 2 == 0 {
        crate::Window::PreviousAndCurrent
    } else {
        crate::Window::PlusMinusOne
    };
    let Ok(params) = TotpParams::builder().digits(digits).window(window).build() else {
        return;
    };
    let Ok(secret) = TotpSecret::from_bytes(b"12345678901234567890") else {
        return;
    };
    let Ok(code) = core::str::from_utf8(rest) else {
        return;
    };

    let normalised = verify::normalize_for_fuzzing(code, digits);
    let result = verify(&secret, &params, code, now, None);
    match &normalised {
        Some(n) => {
            assert!(code.len() <= MAX_CODE_INPUT_LEN);
            assert_eq!(n.len(), usize::from(digits));
            assert!(n.iter().all(u8::is_ascii_digit));
            assert_ne!(result, Err(VerifyError::Malformed));
        }
        None => assert_eq!(result, Err(VerifyError::Malformed)),
    }
    if let Ok(step) = result {
        let current = params.step_at(now).get();
        assert!(step.get() + 1 >= current && step.get() <= current.saturating_add(1));
        let expected = generate_at_step(&secret, &params, step);
        assert_eq!(normalised.as_deref(), Some(expected.as_bytes()));
        // The same code is a replay once its step is stored.
        assert_eq!(
            verify(&secret, &params, code, now, Some(step)),
            Err(VerifyError::Replayed)
        );
    }
    // The code the app shows at `now` always verifies, at the current step or, when a later
    // step of the window happens to have the same code, at that newer step (the newest
    // match wins, so both are spent).
    let shown = crate::generate(&secret, &params, now);
    let current = params.step_at(now).get();
    let verified = verify(&secret, &params, &shown, now, None);
    assert!(verified.is_ok(), "the code shown at {now}: {verified:?}");
    if let Ok(step) = verified {
        assert!(step.get() >= current);
        assert_eq!(generate_at_step(&secret, &params, step), shown);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| {
                let data = std::fs::read(&p).unwrap();
                (p, data)
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn replay_otpauth_parse_corpus() {
        let files = corpus("otpauth_parse");
        assert!(files.len() >= 10, "corpus too small: {}", files.len());
        let mut parsed = 0;
        for (path, data) in &files {
            let ok = std::str::from_utf8(data)
                .ok()
                .and_then(|t| crate::OtpauthUri::parse(t).ok())
                .is_some();
            parsed += usize::from(ok);
            eprintln!("{}", path.display());
            super::otpauth_parse(data);
        }
        // The seeds hold valid URIs as well as broken ones.
        assert!(
            parsed >= 3 && parsed < files.len(),
            "{parsed} of {}",
            files.len()
        );
    }

    #[test]
    fn replay_otpauth_import_corpus() {
        // The strict seeds and the other tools' shapes, through the lenient checks.
        let mut files = corpus("otpauth_import");
        assert!(files.len() >= 10, "corpus too small: {}", files.len());
        let mut imported = 0;
        for (_, data) in &files {
            let ok = std::str::from_utf8(data)
                .ok()
                .and_then(|t| crate::OtpauthUri::parse_lenient(t).ok())
                .is_some();
            imported += usize::from(ok);
        }
        assert!(
            imported >= 5 && imported < files.len(),
            "{imported} of {}",
            files.len()
        );
        files.extend(corpus("otpauth_parse"));
        for (path, data) in &files {
            eprintln!("{}", path.display());
            super::otpauth_import(data);
        }
    }

    #[test]
    fn replay_code_input_corpus() {
        let files = corpus("code_input");
        assert!(files.len() >= 10, "corpus too small: {}", files.len());
        for (path, data) in &files {
            eprintln!("{}", path.display());
            super::code_input(data);
        }
    }
}
