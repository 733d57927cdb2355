//! Criterion benchmarks for admin-mfa; run them with `cargo bench -p admin-mfa-benches`.
