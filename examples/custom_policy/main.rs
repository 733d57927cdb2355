//! Loads a sample custom policy and property-tests it with the `proptest` feature of
//! `admin-mfa-policy`: random requests, each checked by `check_invariants` (guardrails, forbid
//! over permit, explicit permits, agreement with the reference interpreter, determinism and
//! resolvable reasons).
//!
//! Run it with `cargo run --example custom_policy`; set `PROPTEST_CASES` for more cases.
//! Exits non-zero if the document does not load or an invariant breaks.

use std::sync::atomic::{AtomicUsize, Ordering};

use admin_mfa_policy::testing::{arb_request, check_invariants};
use admin_mfa_policy::{PolicyDocument, PolicyEngine};
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const POLICY: &str = include_str!("policy.toml");

fn run() -> Result<usize, String> {
    let doc = PolicyDocument::from_toml_str(POLICY).map_err(|e| e.to_string())?;
    let engine = PolicyEngine::from_toml_str(POLICY).map_err(|e| e.to_string())?;
    println!(
        "loaded custom_policy/policy.toml: {} custom roles, {} rules ({} with the profile)",
        doc.roles.len(),
        doc.rules.len(),
        engine.rules().len()
    );
    for warning in engine.warnings() {
        println!("  warning: {warning}");
    }
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let passed = AtomicUsize::new(0);
    runner
        .run(&arb_request(&doc), |req| {
            check_invariants(&engine, &req.as_request())
                .map_err(|v| TestCaseError::fail(v.to_string()))?;
            passed.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .map_err(|e| format!("invariant violated: {e}"))?;
    Ok(passed.into_inner())
}

fn main() {
    match run() {
        Ok(passed) => println!("{passed} random requests passed check_invariants"),
        Err(e) => {
            eprintln!("custom policy check failed: {e}");
            std::process::exit(1);
        }
    }
}
