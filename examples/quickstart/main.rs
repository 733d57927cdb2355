//! The admin-mfa quickstart: the story of the seed, told on the embedded default.
//!
//! Run it with `cargo run --example quickstart`.

fn main() {
    println!("admin-mfa quickstart");
}
