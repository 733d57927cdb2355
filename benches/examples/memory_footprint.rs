//! Peak memory of a [`MemoryStore`] holding `N` admins (issue 14: at most 1 KB per admin at
//! 1 000 000, no step above 1.3× per admin between 500 000 and 1 000 000).
//!
//! ```text
//! cargo build --release -p admin-mfa-benches --example memory_footprint
//! /usr/bin/time -v target/release/examples/memory_footprint 1000000
//! ```
//!
//! Fills one organization through `AdminStore::commit` in changes of 10 000 inserts, then
//! prints the process's peak resident set (`VmHWM` of `/proc/self/status`) before and after,
//! and per admin. Run one size per process: the peak is the process's.
//!
//! Every admin is what a store holds once MFA is in use: a distinct e-mail, display name
//! and argon2id PHC string (each its own allocation, as loaded from users), a built-in role,
//! an active factor whose 20-byte secret is sealed (36 bytes of ciphertext) with a used step;
//! one in two has MFA not required (listed by the widget), one in ten a pending reset link
//! (indexed by its token hash).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "measurement program"
)]

use std::fmt::Write as _;

use admin_mfa::lifecycle::{
    ActiveFactor, Admin, Factor, KeyId, LinkPurpose, Nonce, PasswordHash, PendingLink, Requirement,
    Sealed, SealingKey, TokenHash,
};
use admin_mfa::ports::{AdminStore, Change};
use admin_mfa::totp::{TimeStep, TotpParams, TotpSecret};
use admin_mfa::{AdminId, BuiltinRole, Email, OrgId, Role, UnixTime};
use admin_mfa_memory::MemoryStore;

const ORG: OrgId = OrgId::from_bytes([0x0a; 16]);
const T0: UnixTime = UnixTime::from_secs(1_700_000_000);
const BATCH: u32 = 10_000;

/// A cheap deterministic byte stream (splitmix64): the salts, hashes and secrets only need
/// to differ from admin to admin.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let word = self.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }

    fn base64(&mut self, len: usize) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        (0..len)
            .map(|_| char::from(ALPHABET[(self.next() % 64) as usize]))
            .collect()
    }
}

fn id(n: u32) -> AdminId {
    let mut bytes = [0xad; 16];
    bytes[12..].copy_from_slice(&n.to_be_bytes());
    AdminId::from_bytes(bytes)
}

fn admin(n: u32, key: &SealingKey, rng: &mut Bytes) -> Admin {
    let phc = format!(
        "$argon2id$v=19$m=19456,t=2,p=1${}${}",
        rng.base64(22),
        rng.base64(43)
    );
    let mut a = Admin::new(admin_mfa::lifecycle::AdminProfile {
        id: id(n),
        org: ORG,
        email: Email::parse(&format!("admin{n:07}@example.com")).unwrap(),
        display_name: format!("Admin Number {n}"),
        role: Role::Builtin(BuiltinRole::Manager),
        password_hash: PasswordHash::new(phc),
        created_at: T0,
    });
    let mut secret = [0_u8; 20];
    rng.fill(&mut secret);
    let mut nonce = [0_u8; 12];
    rng.fill(&mut nonce);
    let secret = TotpSecret::from_bytes(&secret).unwrap();
    a.mfa.factor = Factor::Active(ActiveFactor {
        sealed: Sealed::seal_secret(key, Nonce::from_bytes(nonce), a.id, &secret).unwrap(),
        params: TotpParams::default(),
        enrolled_at: T0,
        last_used_step: Some(TimeStep::new(T0.as_secs() / 30)),
    });
    if n % 2 == 1 {
        a.mfa.requirement = Requirement::Required {
            since: T0,
            by: None,
        };
    }
    if n % 10 == 3 {
        let mut hash = [0_u8; 32];
        rng.fill(&mut hash);
        a.mfa.link = Some(PendingLink {
            purpose: LinkPurpose::Reset,
            token_hash: TokenHash::from_bytes(hash),
            issued_at: T0,
            expires_at: T0.saturating_add_secs(3_600),
            epoch_at_issue: 0,
            candidate: None,
            setup_failures: 0,
        });
    }
    a
}

/// `VmHWM` and `VmRSS` of this process, in kB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .map_or(1_000_000, |a| a.replace('_', "").parse().unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let key = SealingKey::new(KeyId::new(1), [7; 32]);
    let mut rng = Bytes(14);
    let (start_hwm, _) = memory();
    let store = MemoryStore::new();
    let mut next = 0;
    while next < n {
        let end = n.min(next + BATCH);
        let mut change = Change::new();
        for i in next..end {
            change = change.insert(admin(i, &key, &mut rng));
        }
        rt.block_on(store.commit(change)).unwrap();
        next = end;
    }
    let (hwm, rss) = memory();
    let listed = rt.block_on(store.count_without_mfa_required(ORG)).unwrap();
    assert_eq!(listed, u64::from(n / 2));
    let mut line = String::new();
    write!(
        line,
        "admins {n}: peak RSS {:.1} MiB ({:.0} B/admin), RSS now {:.1} MiB, peak before filling {:.1} MiB; record (Admin) {} B",
        hwm as f64 / 1024.0,
        hwm as f64 * 1024.0 / f64::from(n),
        rss as f64 / 1024.0,
        start_hwm as f64 / 1024.0,
        size_of::<Admin>(),
    )
    .unwrap();
    println!("{line}");
    drop(store);
}
