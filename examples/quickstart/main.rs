//! The admin-mfa quickstart: the story of the seed, told on the embedded default.
//!
//! Run it with `cargo run --example quickstart`.

mod provisioning;

fn main() {
    println!("admin-mfa quickstart");
    if let Err(e) = provisioning::run() {
        eprintln!("provisioning failed: {e}");
        std::process::exit(1);
    }
}
