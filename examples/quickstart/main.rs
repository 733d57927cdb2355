//! The admin-mfa quickstart: the story of the seed, told on the embedded default.
//!
//! Run it with `cargo run --example quickstart`.

mod policy;
mod provisioning;

fn main() {
    println!("admin-mfa quickstart");
    if let Err(e) = provisioning::run() {
        eprintln!("provisioning failed: {e}");
        std::process::exit(1);
    }
    if let Err(e) = policy::run() {
        eprintln!("policy check failed: {e}");
        std::process::exit(1);
    }
}
