//! Password hashing: T-PWD-1..4, T-ENU-2, T-LOAD-2 and the bounded blocking pool.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use admin_mfa::{
    HashOp, HashRun, MAX_PASSWORD_BYTES, ParamsError, Password, PasswordError, PasswordParams,
    Passwords,
};
use admin_mfa_lifecycle::PasswordHash;
use argon2::{Algorithm, Argon2, PasswordHasher as _, Version};

/// A hasher with the live (default) parameters and an observer recording every argon2 run.
fn observed(params: PasswordParams) -> (Passwords, Arc<Mutex<Vec<HashRun>>>) {
    let runs = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&runs);
    let passwords = Passwords::builder(params)
        .observer(move |run| sink.lock().unwrap().push(run))
        .build();
    (passwords, runs)
}

fn pw(s: &str) -> Password {
    Password::new(s).unwrap()
}

/// A PHC string made directly with argon2 (what an older deployment may have stored).
fn legacy_hash(algorithm: Algorithm, m: u32, t: u32, p: u32, password: &str) -> PasswordHash {
    let params = argon2::Params::new(m, t, p, None).unwrap();
    let hash = Argon2::new(algorithm, Version::V0x13, params)
        .hash_password_with_salt(password.as_bytes(), b"legacy-salt-0123")
        .unwrap();
    PasswordHash::new(hash.to_string())
}

#[tokio::test]
async fn t_pwd_1_phc_format_with_a_16_byte_salt() {
    let passwords = Passwords::new(PasswordParams::default());
    let a = passwords.hash(&pw("correct horse")).await.unwrap();
    let b = passwords.hash(&pw("correct horse")).await.unwrap();
    for h in [&a, &b] {
        assert!(
            h.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            h.as_str()
        );
        let parsed = argon2::PasswordHash::new(h.as_str()).unwrap();
        let salt = parsed.salt.unwrap();
        assert!(salt.len() >= 16, "salt of {} bytes", salt.len());
        assert_eq!(parsed.hash.unwrap().len(), 32);
    }
    // A fresh salt per hash.
    assert_ne!(a, b);
    assert!(format!("{a:?}").contains("redacted"));
    assert!(!format!("{a:?}").contains("argon2"));
}

#[tokio::test]
async fn t_pwd_2_weak_hashes_are_rehashed_only_on_success() {
    let (passwords, runs) = observed(PasswordParams::default());
    let cases = [
        legacy_hash(Algorithm::Argon2id, 4096, 2, 1, "s3cret"),
        legacy_hash(Algorithm::Argon2id, 19_456, 1, 1, "s3cret"),
        legacy_hash(Algorithm::Argon2i, 19_456, 2, 1, "s3cret"),
    ];
    for stored in &cases {
        // A failed verification rewrites nothing.
        let wrong = passwords.verify(Some(stored), &pw("s3creT")).await.unwrap();
        assert!(!wrong.is_match());
        assert!(wrong.rehash().is_none());

        let ok = passwords.verify(Some(stored), &pw("s3cret")).await.unwrap();
        assert!(ok.is_match());
        let shown = format!("{ok:?}");
        assert!(
            !shown.contains("argon2") && !shown.contains("s3cret"),
            "{shown}"
        );
        let new = ok.into_rehash().expect("weak hash is rehashed");
        assert!(new.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        // The new hash verifies and is not rehashed again.
        let again = passwords.verify(Some(&new), &pw("s3cret")).await.unwrap();
        assert!(again.is_match());
        assert!(again.rehash().is_none());
    }
    // The verification of the weak hash ran with the weak hash's own costs.
    let runs = runs.lock().unwrap();
    assert!(runs.contains(&HashRun {
        op: HashOp::Verify,
        m_kib: 4096,
        t_cost: 2,
        p_cost: 1
    }));
    assert_eq!(runs.iter().filter(|r| r.op == HashOp::Rehash).count(), 3);
}

#[tokio::test]
async fn stronger_stored_hashes_are_kept() {
    let passwords = Passwords::new(PasswordParams::default());
    let stored = legacy_hash(Algorithm::Argon2id, 32_768, 3, 1, "pw");
    let ok = passwords.verify(Some(&stored), &pw("pw")).await.unwrap();
    assert!(ok.is_match());
    assert!(ok.rehash().is_none());
}

#[test]
fn t_pwd_3_parameters_below_the_floor_are_refused() {
    for (m, t, p) in [(4096, 2, 1), (19_455, 2, 1), (19_456, 1, 1), (19_456, 2, 0)] {
        assert!(
            matches!(
                PasswordParams::new(m, t, p),
                Err(ParamsError::BelowFloor { .. })
            ),
            "m={m} t={t} p={p}"
        );
    }
    assert_eq!(PasswordParams::default(), PasswordParams::OWASP);
    let p = PasswordParams::new(19_456, 2, 1).unwrap();
    assert_eq!((p.m_kib(), p.t_cost(), p.p_cost()), (19_456, 2, 1));
    // The error names the value, not a secret.
    let msg = PasswordParams::new(4096, 2, 1).unwrap_err().to_string();
    assert_eq!(msg, "argon2 `m` = 4096 is below the minimum 19456");
}

#[tokio::test]
async fn t_pwd_4_passwords_are_verified_as_received() {
    let (passwords, runs) = observed(PasswordParams::default());

    let long64 = "a1!".repeat(21) + "z";
    let long1000 = "Ünïcödé-".repeat(125);
    assert_eq!(long64.chars().count(), 64);
    assert_eq!(long1000.chars().count(), 1000);
    let base200 = "x".repeat(199);
    let nfc = "caf\u{e9}"; // é precomposed
    let nfd = "cafe\u{301}"; // e + combining acute
    let cases: Vec<(String, Vec<String>)> = vec![
        (long64.clone(), vec![long64[..63].to_owned()]),
        (long1000.clone(), vec![long1000.replacen('Ü', "U", 1)]),
        (format!("{base200}a"), vec![format!("{base200}b")]),
        (
            "Password".to_owned(),
            vec!["password".into(), "PASSWORD".into()],
        ),
        (nfc.to_owned(), vec![nfd.to_owned()]),
        (
            "pass word".to_owned(),
            vec![" pass word".into(), "pass word ".into(), "password".into()],
        ),
    ];
    for (right, wrongs) in &cases {
        let stored = passwords.hash(&pw(right)).await.unwrap();
        assert!(
            passwords
                .verify(Some(&stored), &pw(right))
                .await
                .unwrap()
                .is_match()
        );
        for wrong in wrongs {
            assert!(
                !passwords
                    .verify(Some(&stored), &pw(wrong))
                    .await
                    .unwrap()
                    .is_match(),
                "{wrong:?} must not match"
            );
        }
    }

    // The 4 KiB limit counts bytes and sits exactly at MAX_PASSWORD_BYTES.
    let at_limit = "é".repeat(MAX_PASSWORD_BYTES / 2);
    assert_eq!(at_limit.len(), MAX_PASSWORD_BYTES);
    let stored = passwords.hash(&pw(&at_limit)).await.unwrap();
    assert!(
        passwords
            .verify(Some(&stored), &pw(&at_limit))
            .await
            .unwrap()
            .is_match()
    );

    // Over 4 KiB: refused before any argon2 run, as a service would handle the input.
    let before = runs.lock().unwrap().len();
    let stats_before = passwords.stats();
    for input in [
        "x".repeat(MAX_PASSWORD_BYTES + 1),
        "é".repeat(MAX_PASSWORD_BYTES / 2 + 1),
        "y".repeat(1 << 20),
    ] {
        match Password::new(&input) {
            Ok(p) => {
                let _ = passwords.verify(Some(&stored), &p).await;
                panic!("over-long password accepted");
            }
            Err(e) => assert!(matches!(e, PasswordError::TooLong)),
        }
        assert!(matches!(
            Password::from_string(input),
            Err(PasswordError::TooLong)
        ));
    }
    assert_eq!(runs.lock().unwrap().len(), before, "no argon2 run");
    assert_eq!(passwords.stats(), stats_before);
}

#[test]
fn password_debug_is_redacted() {
    let p = pw("hunter2");
    assert_eq!(format!("{p:?}"), "Password(<redacted>)");
    assert_eq!(p.expose_secret(), "hunter2");
    assert_eq!(p.len(), 7);
    let err = Password::new(&"x".repeat(5000)).unwrap_err().to_string();
    assert_eq!(err, "password is longer than 4096 bytes");
}

/// T-ENU-2: the unknown-account path runs a real verification against a dummy hash made
/// with the live parameters.
#[tokio::test]
async fn t_enu_2_unknown_account_runs_a_dummy_verify_with_live_params() {
    let live = PasswordParams::default();
    let (passwords, runs) = observed(live);
    let expect = |op| HashRun {
        op,
        m_kib: live.m_kib(),
        t_cost: live.t_cost(),
        p_cost: live.p_cost(),
    };

    let v = passwords.verify(None, &pw("guess")).await.unwrap();
    assert!(!v.is_match());
    assert!(v.rehash().is_none());
    assert_eq!(
        *runs.lock().unwrap(),
        [expect(HashOp::DummySetup), expect(HashOp::DummyVerify)]
    );

    // The dummy hash is made once; each unknown-account call is one verification.
    let _ = passwords.verify(None, &pw("guess again")).await.unwrap();
    assert_eq!(runs.lock().unwrap().len(), 3);
    assert_eq!(runs.lock().unwrap()[2], expect(HashOp::DummyVerify));
    let stats = passwords.stats();
    assert_eq!(stats.dummy_verifies, 2);
    assert_eq!(stats.verifies, 0);

    // A known account costs one verification with the same parameters.
    let stored = passwords.hash(&pw("right")).await.unwrap();
    runs.lock().unwrap().clear();
    let _ = passwords.verify(Some(&stored), &pw("guess")).await.unwrap();
    assert_eq!(*runs.lock().unwrap(), [expect(HashOp::Verify)]);

    // A malformed stored hash is an error, after the same dummy work.
    runs.lock().unwrap().clear();
    let junk = PasswordHash::new("not a phc string".to_owned());
    let err = passwords
        .verify(Some(&junk), &pw("guess"))
        .await
        .unwrap_err();
    assert!(matches!(err, PasswordError::MalformedHash));
    assert_eq!(*runs.lock().unwrap(), [expect(HashOp::DummyVerify)]);
}

/// Argon2 runs never exceed the permit count, however many callers wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_verifications_stay_within_the_permits() {
    let permits = NonZeroUsize::new(3).unwrap();
    let passwords = Passwords::builder(PasswordParams::default())
        .max_concurrent(permits)
        .build();
    assert_eq!(passwords.max_concurrent(), 3);
    let stored = passwords.hash(&pw("right")).await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let mut tasks = Vec::new();
    for i in 0..64 {
        let passwords = passwords.clone();
        let stored = stored.clone();
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let guess = if i % 2 == 0 { "right" } else { "wrong" };
            passwords
                .verify(Some(&stored), &pw(guess))
                .await
                .unwrap()
                .is_match()
        }));
    }
    let mut matched = 0;
    for t in tasks {
        matched += usize::from(t.await.unwrap());
    }
    assert_eq!(matched, 32);
    let stats = passwords.stats();
    assert_eq!(stats.verifies, 64);
    assert_eq!(stats.in_flight, 0);
    assert!(
        stats.peak_in_flight <= 3,
        "peak {} above the permits",
        stats.peak_in_flight
    );
    assert!(stats.peak_in_flight >= 1);
    println!(
        "peak argon2 runs in flight: {} of 3 permits",
        stats.peak_in_flight
    );
}

#[test]
fn default_permits_are_twice_the_parallelism() {
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(
        Passwords::new(PasswordParams::default()).max_concurrent(),
        2 * cores
    );
}

/// The async thread keeps running other tasks while argon2 works: on a single-threaded
/// runtime, a ticker task observes argon2 runs in flight. If argon2 ran on the async
/// thread, the ticker could never run while a hash was in progress.
#[tokio::test(flavor = "current_thread")]
async fn argon2_never_blocks_the_async_thread() {
    let passwords = Passwords::new(PasswordParams::default());
    let probe = passwords.clone();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = Arc::clone(&done);
    let ticker = tokio::spawn(async move {
        let mut overlapping_ticks = 0_u32;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            if probe.stats().in_flight > 0 {
                overlapping_ticks += 1;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        overlapping_ticks
    });
    for i in 0..6 {
        let _ = passwords.hash(&pw(&format!("pw{i}"))).await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let overlapping = ticker.await.unwrap();
    assert!(
        overlapping > 0,
        "the ticker never ran while argon2 was in flight"
    );
}

/// T-LOAD-2: 64 concurrent logins with default argon2. Latencies are recorded, not asserted
/// (tests never assert on timing); the bound that is asserted is the in-flight peak, which
/// caps argon2 memory at permits × 19 MiB instead of 64 × 19 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t_load_2_sixty_four_logins_latency_and_memory_bound() {
    let passwords = Passwords::new(PasswordParams::default());
    let stored = passwords.hash(&pw("right")).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let passwords = passwords.clone();
        let stored = stored.clone();
        tasks.push(tokio::spawn(async move {
            #[expect(
                clippy::disallowed_methods,
                reason = "latency measurement in a load test"
            )]
            let start = std::time::Instant::now();
            let ok = passwords.verify(Some(&stored), &pw("right")).await.unwrap();
            assert!(ok.is_match());
            start.elapsed()
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.push(t.await.unwrap());
    }
    latencies.sort();
    let stats = passwords.stats();
    assert!(stats.peak_in_flight <= passwords.max_concurrent());
    let peak_mib = stats.peak_in_flight * 19;
    println!(
        "T-LOAD-2: 64 logins, permits {}, peak in flight {} (~{} MiB argon2 memory), \
         p50 {:?}, p99 {:?}",
        passwords.max_concurrent(),
        stats.peak_in_flight,
        peak_mib,
        latencies[31],
        latencies[63]
    );
}

/// A caller that gives up does not free its permit early: the abandoned argon2 run keeps
/// it until it finishes, so the next run waits and memory stays bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_callers_keep_their_permit_until_argon2_is_done() {
    let passwords = Passwords::builder(PasswordParams::default())
        .max_concurrent(NonZeroUsize::new(1).unwrap())
        .build();
    let stored = passwords.hash(&pw("right")).await.unwrap();
    // Make the dummy hash now, so every verification below is one argon2 run.
    let _ = passwords.verify(None, &pw("warm-up")).await.unwrap();
    let right = pw("right");
    for _ in 0..5 {
        let abandoned = passwords.verify(Some(&stored), &right);
        // Gives up long before a default-cost argon2 run can finish.
        assert!(
            tokio::time::timeout(Duration::from_millis(2), abandoned)
                .await
                .is_err()
        );
        let ok = passwords.verify(Some(&stored), &right).await.unwrap();
        assert!(ok.is_match());
    }
    let stats = passwords.stats();
    assert_eq!(
        stats.peak_in_flight, 1,
        "an abandoned run overlapped the next"
    );
    // Every abandoned run still completed (it was not cut off mid-way either).
    assert_eq!(stats.verifies, 10);
    assert_eq!(stats.in_flight, 0);
}
