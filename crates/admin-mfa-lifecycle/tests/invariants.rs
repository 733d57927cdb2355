//! proptest state-machine tests: random command sequences, a deterministic RNG and a fake
//! clock, with the issue's invariants checked after every step:
//!
//! - a step is never accepted twice (per secret);
//! - never two active factors: only the secret sealed in the single active factor verifies;
//! - a locked factor never verifies;
//! - during a self-service reset the old factor works until the new one is verified;
//! - after an admin reset the old factor never works again, and MFA is required (RST-8);
//! - codes on a link's last step never touch the login failure counter, the factor or the
//!   lock; they count on the link, which is voided at `setup_attempts` (SETUP-2);
//! - a missing, forged, replaced or expired identity proof changes nothing (SETUP-1);
//! - a password attempt is counted when reserved, before its check; from
//!   `password_delay_after` attempts the next one is refused unchecked (RL-8);
//! - a login (`IssueSetupLink`) or `Enable` never replaces a setup link that still works,
//!   so no e-mailed link dies that way (LNK-1); without one, `IssueSetupLink` sends a new
//!   link or is rate-limited;
//! - every notification's dedupe key is new: no e-mail is taken for a copy of another
//!   (NOT-3), and removing the requirement is notified (NOT-2);
//! - `apply` (and `decide`) never panic, on any state and any event or command.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod common;

use std::collections::HashSet;

use admin_mfa_lifecycle::{
    ActiveFactor, Admin, AdminId, AdminProfile, BuiltinRole, Candidate, Code, CodeCheck, Command,
    Email, EmailLog, Event, Factor, Failures, IssuedLink, KeyId, LinkPurpose, LoginStep, MfaState,
    Nonce, NotificationKind, OrgId, PasswordCheck, PasswordFailures, PasswordHash, PendingLink,
    RecoveryCodes, RecoveryHash, Requirement, RequirementSource, Role, Sealed, StoredRecoveryCodes,
    TimeStep, TokenHash, TotpParams, TotpSecret, TransitionError, UnixTime, apply, audit_events,
    notifications,
};
use common::World;
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
enum CodeKind {
    /// The right code for the current step.
    Right,
    /// The right code for the previous step (inside the default window).
    Previous,
    /// A code no step of the secret produces.
    Wrong,
    /// Not six digits.
    Malformed,
    /// The last code accepted for this secret (a replay if its step is still in the window).
    Replay,
    /// A code of another secret: an old factor, or a stale candidate (D5).
    Other,
}

/// Which identity-step proof a `CompleteSetup` presents (SETUP-1).
#[derive(Debug, Clone, Copy)]
enum ProofKind {
    /// The one the current candidate's identity step handed out.
    Held,
    /// One an earlier identity step handed out (its candidate was replaced).
    Earlier,
    /// One no identity step handed out: the holder of the token alone.
    Forged,
}

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    /// Moves the clock to the end of the current lockout delay, if any.
    WaitOutDelay,
    Enable,
    Require,
    Remove(bool),
    IssueSetupLink,
    RequestReset,
    AdminReset,
    Unlock,
    Expire,
    Confirm {
        stale_token: bool,
    },
    Complete(CodeKind, ProofKind),
    Verify(CodeKind),
    /// A password attempt (login, or the link's identity step) reserved before its check.
    ReservePassword {
        login: bool,
    },
    /// The checked password was right.
    PasswordAccepted,
}

fn code_kind() -> impl Strategy<Value = CodeKind> {
    prop_oneof![
        4 => Just(CodeKind::Right),
        1 => Just(CodeKind::Previous),
        3 => Just(CodeKind::Wrong),
        1 => Just(CodeKind::Malformed),
        2 => Just(CodeKind::Replay),
        2 => Just(CodeKind::Other),
    ]
}

fn proof_kind() -> impl Strategy<Value = ProofKind> {
    prop_oneof![
        6 => Just(ProofKind::Held),
        1 => Just(ProofKind::Earlier),
        1 => Just(ProofKind::Forged),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop_oneof![1..60_u64, 60..1_000_u64, 3_000..100_000_u64].prop_map(Op::Advance),
        1 => Just(Op::Enable),
        1 => Just(Op::Require),
        1 => any::<bool>().prop_map(Op::Remove),
        1 => Just(Op::IssueSetupLink),
        2 => Just(Op::RequestReset),
        1 => Just(Op::AdminReset),
        1 => Just(Op::Unlock),
        1 => Just(Op::Expire),
        3 => any::<bool>().prop_map(|stale_token| Op::Confirm { stale_token }),
        4 => (code_kind(), proof_kind()).prop_map(|(c, p)| Op::Complete(c, p)),
        6 => code_kind().prop_map(Op::Verify),
        2 => any::<bool>().prop_map(|login| Op::ReservePassword { login }),
        1 => Just(Op::PasswordAccepted),
    ]
}

/// Sequences of single operations, mixed with bursts of wrong codes (waiting out each
/// delay) so that lockouts and voided links are reached, and bursts of password attempts
/// in one instant so that password delays are.
fn ops() -> impl Strategy<Value = Vec<(Op, usize)>> {
    let single = (op(), any::<usize>()).prop_map(|x| vec![x]);
    let burst = (1..16_usize, 0..3_u8, any::<usize>()).prop_map(|(n, kind, pick)| {
        let one = match kind {
            0 => Op::Verify(CodeKind::Wrong),
            1 => Op::Complete(CodeKind::Wrong, ProofKind::Held),
            _ => Op::ReservePassword {
                login: pick.is_multiple_of(2),
            },
        };
        (0..n)
            .flat_map(|_| [(Op::WaitOutDelay, pick), (one.clone(), pick)])
            .collect()
    });
    prop::collection::vec(prop_oneof![10 => single, 1 => burst], 1..50)
        .prop_map(|chunks| chunks.into_iter().flatten().collect())
}

/// What the model remembers beyond the state.
struct Model {
    w: World,
    /// (secret index, step) pairs ever accepted.
    accepted: HashSet<(usize, u64)>,
    /// Secrets that were active when an admin reset removed them.
    removed_by_admin: HashSet<usize>,
    /// The last accepted code per secret index.
    last_code: Vec<Option<String>>,
}

impl Model {
    fn code_at(&self, secret: usize, back: u64) -> String {
        let p = self.w.config.totp();
        let step = p.step_at(self.w.now.as_secs()).get().saturating_sub(back);
        admin_mfa_totp::generate_at_step(&self.w.secrets[secret], p, TimeStep::new(step))
            .to_string()
    }

    /// Codes `secret` accepts around now (window [-1, +1] to be safe).
    fn window_codes(&self, secret: usize) -> Vec<String> {
        let p = self.w.config.totp();
        let step = p.step_at(self.w.now.as_secs()).get();
        (step.saturating_sub(1)..=step + 1)
            .map(|s| {
                admin_mfa_totp::generate_at_step(&self.w.secrets[secret], p, TimeStep::new(s))
                    .to_string()
            })
            .collect()
    }

    /// A code of kind `kind` for `target`, with the index of the secret that produced it
    /// (`None` for codes no secret produced). `None` overall when the kind does not apply or
    /// the code would collide with the target's own codes.
    fn make_code(
        &self,
        target: Option<usize>,
        kind: CodeKind,
        pick: usize,
    ) -> Option<(Code, Option<usize>)> {
        match kind {
            CodeKind::Right => target.map(|t| (Code::new(self.code_at(t, 0)), Some(t))),
            CodeKind::Previous => target.map(|t| (Code::new(self.code_at(t, 1)), Some(t))),
            CodeKind::Wrong => {
                let taken: Vec<String> = target.map(|t| self.window_codes(t)).unwrap_or_default();
                (0..10)
                    .map(|d: u32| d.to_string().repeat(6))
                    .find(|c| !taken.contains(c))
                    .map(|c| (Code::new(c), None))
            }
            CodeKind::Malformed => Some((
                Code::new(["", "12a456", "1234567", "１２３４５６"][pick % 4]),
                None,
            )),
            CodeKind::Replay => {
                let t = target?;
                let code = self.last_code.get(t).cloned().flatten()?;
                Some((Code::new(code), Some(t)))
            }
            CodeKind::Other => {
                let others: Vec<usize> = (0..self.w.secrets.len())
                    .filter(|i| Some(*i) != target)
                    .collect();
                // Prefer secrets an admin reset removed: they must never work again.
                let removed: Vec<usize> = others
                    .iter()
                    .copied()
                    .filter(|i| self.removed_by_admin.contains(i))
                    .collect();
                let pool = if removed.is_empty() || pick.is_multiple_of(2) {
                    others
                } else {
                    removed
                };
                if pool.is_empty() {
                    return None;
                }
                let o = pool[pick % pool.len()];
                let code = self.code_at(o, 0);
                let collides = target.is_some_and(|t| self.window_codes(t).contains(&code));
                (!collides).then(|| (Code::new(code), Some(o)))
            }
        }
    }
}

fn start(seed: u64, canned: u8) -> World {
    match canned % 5 {
        0 => World::new(seed),
        1 => World::enabled(seed),
        2 => World::confirming(seed),
        3 => World::enrolled(seed),
        _ => World::resetting(seed),
    }
}

/// Runs one sequence, checking every invariant; returns the names of the notable
/// situations it reached (for the generator coverage test).
fn run_sequence(
    seed: u64,
    canned: u8,
    ops: &[(Op, usize)],
) -> Result<HashSet<&'static str>, TestCaseError> {
    let mut seen = HashSet::new();
    let w = start(seed, canned);
    let n = w.secrets.len();
    let mut m = Model {
        w,
        accepted: HashSet::new(),
        removed_by_admin: HashSet::new(),
        last_code: vec![None; n],
    };
    // Canned starts that enrolled accepted a code already.
    if let Some(a) = m.w.active_secret()
        && let Some(step) = m.w.state.active_factor().and_then(|f| f.last_used_step)
    {
        m.accepted.insert((a, step.get()));
    }
    let mut admin = Admin::new(AdminProfile {
        id: m.w.admin,
        org: OrgId::from_bytes([0x0F; 16]),
        email: Email::parse("target@example.com").unwrap(),
        display_name: "Target".into(),
        role: Role::Builtin(BuiltinRole::Administrator),
        password_hash: PasswordHash::new(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        ),
        created_at: UnixTime::from_secs(1),
    });
    let mut dedupe_keys = HashSet::new();

    for (op, pick) in ops {
        let pick = *pick;
        let before = m.w.state.clone();
        let active_before = m.w.active_secret();
        let candidate_before = m.w.candidate_secret();
        let delayed_before = before
            .failures
            .delayed_until(m.w.now, &m.w.config)
            .is_some();
        let password_delay = before.password_failures.delayed_until(m.w.now, &m.w.config);
        let mut code_source: Option<usize> = None;
        let mut code_text: Option<String> = None;
        // For `CompleteSetup`: whether the link and its candidate are there and live, and
        // whether they accept the presented proof.
        let mut complete_reaches_candidate = false;
        let mut proof_accepted = false;
        let mut proof_expired = false;

        let cmd = match op {
            Op::Advance(secs) => {
                m.w.advance(*secs);
                continue;
            }
            Op::WaitOutDelay => {
                if let Some(until) = m.w.state.failures.delayed_until(m.w.now, &m.w.config) {
                    m.w.now = until;
                }
                continue;
            }
            Op::Enable => m.w.enable(),
            Op::Require => Command::Require {
                by: m.w.boss,
                deadline: None,
            },
            Op::Remove(global) => Command::RemoveRequirement {
                by: m.w.boss,
                global_required: *global,
            },
            Op::IssueSetupLink => m.w.issue_setup_link(),
            Op::RequestReset => m.w.request_reset(),
            Op::AdminReset => m.w.admin_reset(),
            Op::Unlock => Command::Unlock { by: m.w.boss },
            Op::Expire => Command::Expire,
            Op::Confirm { stale_token } => {
                let secret = m.w.new_secret();
                m.last_code.push(None);
                let token_hash = if *stale_token && !m.w.tokens.is_empty() {
                    m.w.tokens[pick % m.w.tokens.len()].hash()
                } else {
                    m.w.link_hash()
                };
                let proof = m.w.forged_proof();
                m.w.proofs.push(proof);
                Command::ConfirmIdentity {
                    purpose: m.w.link_purpose(),
                    token_hash,
                    secret,
                    nonce: Nonce::generate(&mut m.w.rng),
                    proof,
                }
            }
            Op::Complete(kind, proof_kind) => {
                let Some((code, source)) = m.make_code(candidate_before, *kind, pick) else {
                    continue;
                };
                code_source = source;
                code_text = Some(code.expose().to_owned());
                let held = m.w.held_proof();
                let proof = match proof_kind {
                    ProofKind::Held => held,
                    ProofKind::Earlier => {
                        let earlier: Vec<TokenHash> =
                            m.w.proofs.iter().copied().filter(|p| *p != held).collect();
                        if earlier.is_empty() {
                            continue;
                        }
                        earlier[pick % earlier.len()]
                    }
                    ProofKind::Forged => m.w.forged_proof(),
                };
                let (purpose, token_hash) = (m.w.link_purpose(), m.w.link_hash());
                if let Ok(link) = before.check_link(purpose, &token_hash, m.w.now)
                    && let Some(c) = &link.candidate
                {
                    let ttl = m.w.config.setup_proof_ttl_secs();
                    complete_reaches_candidate = true;
                    proof_accepted = c.accepts_proof(&proof, m.w.now, ttl);
                    proof_expired = c.proof_hash == Some(proof) && !proof_accepted;
                }
                Command::CompleteSetup {
                    recovery: None,
                    purpose,
                    token_hash,
                    proof,
                    code,
                }
            }
            Op::ReservePassword { login } => Command::ReservePassword {
                check: if *login {
                    PasswordCheck::Login
                } else {
                    PasswordCheck::Link(m.w.link_purpose())
                },
            },
            Op::PasswordAccepted => Command::PasswordAccepted,
            Op::Verify(kind) => {
                let Some((code, source)) = m.make_code(active_before, *kind, pick) else {
                    continue;
                };
                code_source = source;
                code_text = Some(code.expose().to_owned());
                Command::Verify { code }
            }
        };
        let is_require = matches!(op, Op::Require);
        let asks_for_setup_link = matches!(op, Op::Enable | Op::IssueSetupLink);
        let working_setup_link = before.live_link(m.w.now).is_some_and(|l| {
            l.purpose == LinkPurpose::Setup && l.epoch_at_issue == before.credential_epoch
        });
        let is_admin_reset = matches!(op, Op::AdminReset);
        let is_complete = matches!(op, Op::Complete(..));
        let version = m.w.version;
        let result = m.w.run(cmd);
        // SETUP-1: a reachable candidate refuses exactly the proofs it does not accept.
        if complete_reaches_candidate {
            prop_assert_eq!(
                matches!(result, Err(TransitionError::ProofMismatch)),
                !proof_accepted,
                "proof accepted: {}, got {:?}",
                proof_accepted,
                result
            );
        }
        let events = match result {
            Ok(events) => events,
            Err(error) => {
                prop_assert_eq!(&m.w.state, &before, "an error must leave the state alone");
                if error == TransitionError::ProofMismatch {
                    seen.insert(if proof_expired {
                        "expired proof refused"
                    } else {
                        "wrong proof refused"
                    });
                }
                continue;
            }
        };

        // Every event is a valid input for the notification and audit builders.
        admin.mfa = before.clone();
        let audit = audit_events(&admin, &events, Some(m.w.boss), m.w.now);
        prop_assert_eq!(audit.len(), events.len());
        let mails = notifications(&admin, &events, m.w.now, version);
        prop_assert!(mails.len() <= events.len());
        // NOT-3: every notification's dedupe key is new, so none is dropped as a copy.
        for mail in &mails {
            prop_assert!(
                dedupe_keys.insert(mail.dedupe_key.clone()),
                "dedupe key {} reused",
                mail.dedupe_key
            );
        }
        // NOT-2: a removed requirement is always notified.
        let removed = events
            .iter()
            .any(|e| matches!(e, Event::RequirementRemoved { .. }));
        let notified = mails
            .iter()
            .any(|n| n.kind == NotificationKind::MfaNotRequired);
        prop_assert_eq!(removed, notified);

        for event in &events {
            seen.insert(match event {
                Event::Verified { .. }
                    if before
                        .link
                        .as_ref()
                        .is_some_and(|l| l.purpose == LinkPurpose::Reset) =>
                {
                    "verified while a reset is pending"
                }
                // Before the purpose: since SETUP-2 only a reset completes out of a lock.
                Event::Enrolled { .. } if before.failures.locked => "enrolled out of a lock",
                Event::Enrolled {
                    purpose: LinkPurpose::Reset,
                    ..
                } => "reset completed",
                Event::Enrolled { .. } => "enrolled",
                Event::Verified { .. } => "verified",
                Event::Replayed { .. } => "replayed",
                Event::Delayed { .. } => "delayed",
                Event::LockedOut { .. } => "locked out",
                Event::RefusedLocked { .. } => "refused while locked",
                Event::FactorRemoved { .. } => "admin reset",
                Event::LinkRateLimited { .. } => "rate limited",
                Event::CandidateStored { .. } if candidate_before.is_some() => "candidate replaced",
                Event::LinkExpired { .. } => "link expired",
                Event::Unlocked { .. } => "unlocked",
                Event::SetupFailed { .. } => "setup code failed",
                Event::LinkVoided { .. } => "link voided",
                Event::RequirementSet {
                    source: RequirementSource::AdminReset,
                    ..
                } => "admin reset required MFA",
                Event::RequirementRemoved { .. } => "requirement removed",
                Event::PasswordAttempted { .. } => "password attempted",
                Event::PasswordDelayed { .. } => "password delayed",
                Event::PasswordFailuresCleared { .. } => "password count cleared",
                _ => "other",
            });
            if matches!(event, Event::VerifyFailed { .. })
                && code_source.is_some_and(|s| m.removed_by_admin.contains(&s))
            {
                seen.insert("admin-reset factor refused");
            }
            if matches!(event, Event::SetupFailed { .. }) && code_source.is_some() {
                seen.insert("stale candidate refused");
            }
            match event {
                Event::Verified { step, .. } => {
                    // Only the single active factor verifies, and it is not locked.
                    prop_assert!(!before.failures.locked, "a locked factor verified");
                    prop_assert!(!delayed_before, "a code inside a delay was checked");
                    let active = active_before.expect("verified without a factor");
                    prop_assert_eq!(
                        code_source,
                        Some(active),
                        "a code of another secret verified"
                    );
                    prop_assert!(
                        !m.removed_by_admin.contains(&active),
                        "a factor removed by an admin verified"
                    );
                    prop_assert!(
                        m.accepted.insert((active, step.get())),
                        "step {} accepted twice",
                        step.get()
                    );
                    m.last_code[active] = code_text.clone();
                }
                Event::Enrolled {
                    factor, purpose, ..
                } => {
                    let cand = candidate_before.expect("enrolled without a candidate");
                    prop_assert_eq!(code_source, Some(cand), "a stale candidate's code enrolled");
                    let step = factor.last_used_step.expect("enrolment consumes its step");
                    prop_assert!(m.accepted.insert((cand, step.get())), "step accepted twice");
                    m.last_code[cand] = code_text.clone();
                    if *purpose == LinkPurpose::Reset {
                        prop_assert!(active_before.is_some());
                    }
                }
                Event::FactorRemoved { .. } => {
                    if let Some(a) = active_before {
                        m.removed_by_admin.insert(a);
                    }
                }
                Event::SetupFailed {
                    token_hash,
                    failures,
                    ..
                } => {
                    // SETUP-2: counted on the link, voided at `setup_attempts`.
                    let link = before.link.as_ref().expect("setup failure without a link");
                    prop_assert_eq!(token_hash, &link.token_hash);
                    prop_assert_eq!(*failures, link.setup_failures + 1);
                    let voided = events.iter().any(|e| matches!(e, Event::LinkVoided { .. }));
                    prop_assert_eq!(voided, *failures >= m.w.config.setup_attempts());
                    if voided {
                        prop_assert!(m.w.state.link.is_none(), "voided link still pending");
                    } else {
                        let after = m.w.state.link.as_ref().expect("link lost");
                        prop_assert_eq!(after.setup_failures, *failures);
                        prop_assert_eq!(&after.candidate, &link.candidate);
                    }
                }
                _ => {}
            }
        }

        // SETUP-2: codes on a link's last step never touch the login counter, the lock,
        // the factor or the epoch, unless they enrol.
        if is_complete {
            prop_assert!(
                !events.iter().any(|e| matches!(
                    e,
                    Event::VerifyFailed { .. }
                        | Event::Replayed { .. }
                        | Event::Delayed { .. }
                        | Event::RefusedLocked { .. }
                        | Event::LockedOut { .. }
                )),
                "a setup code counted as a login code: {:?}",
                events
            );
            if !events.iter().any(|e| matches!(e, Event::Enrolled { .. })) {
                prop_assert_eq!(m.w.state.failures, before.failures);
                prop_assert_eq!(&m.w.state.factor, &before.factor);
                prop_assert_eq!(m.w.state.credential_epoch, before.credential_epoch);
            }
        }
        // A right code with the held, fresh proof on a live candidate enrols.
        if let Op::Complete(CodeKind::Right | CodeKind::Previous, ProofKind::Held) = op
            && proof_accepted
            && code_source.is_some()
        {
            prop_assert!(
                matches!(events.as_slice(), [Event::Enrolled { .. }]),
                "right setup code refused: {:?}",
                events
            );
        }

        // RL-8: the attempt is counted when reserved (before any check); inside the delay
        // it is refused, unchecked and uncounted; nothing else moves.
        if let Op::ReservePassword { .. } = op {
            let mut expected = before.clone();
            match password_delay {
                Some(until) => {
                    let refused = [Event::PasswordDelayed {
                        check: PasswordCheck::Login,
                        until,
                        at: m.w.now,
                    }];
                    let refused_link = [Event::PasswordDelayed {
                        check: PasswordCheck::Link(m.w.link_purpose()),
                        until,
                        at: m.w.now,
                    }];
                    prop_assert!(events == refused || events == refused_link, "{:?}", events);
                }
                None => {
                    let attempts = before.password_failures.consecutive.saturating_add(1);
                    let counted = matches!(
                        events.as_slice(),
                        [Event::PasswordAttempted { attempts: a, at, .. }]
                            if *a == attempts && *at == m.w.now
                    );
                    prop_assert!(counted, "{:?}", events);
                    expected.password_failures = PasswordFailures {
                        consecutive: attempts,
                        last_failure_at: Some(m.w.now),
                    };
                    if attempts >= m.w.config.password_delay_after() {
                        prop_assert!(
                            m.w.state
                                .password_failures
                                .delayed_until(m.w.now, &m.w.config)
                                .is_some(),
                            "attempt {} does not delay the next",
                            attempts
                        );
                    }
                }
            }
            prop_assert_eq!(&m.w.state, &expected);
        }
        if let Op::PasswordAccepted = op {
            let mut expected = before.clone();
            expected.password_failures = PasswordFailures::default();
            prop_assert_eq!(&m.w.state, &expected);
        }

        // A correct, fresh code on an unlocked, undelayed factor is accepted — in particular
        // while a self-service reset is pending (RST-3).
        if let (Op::Verify(CodeKind::Right), Some(active)) = (op, active_before) {
            let step = m.w.config.totp().step_at(m.w.now.as_secs());
            let fresh = before
                .active_factor()
                .and_then(|f| f.last_used_step)
                .is_none_or(|used| step > used);
            if !before.failures.locked && !delayed_before && fresh {
                prop_assert!(
                    matches!(events.as_slice(), [Event::Verified { .. }]),
                    "right code for secret {active} refused (reset pending: {}): {events:?}",
                    before
                        .link
                        .as_ref()
                        .is_some_and(|l| l.purpose == LinkPurpose::Reset)
                );
            }
        }
        if is_admin_reset {
            prop_assert!(m.w.state.active_factor().is_none());
            // RST-8: the target must set MFA up before signing in again.
            prop_assert!(m.w.state.requirement.is_required());
            prop_assert_eq!(m.w.state.login_step(), LoginStep::SetupRequired);
            if before.requirement.is_required() {
                prop_assert_eq!(m.w.state.requirement, before.requirement);
            }
        }
        // LNK-1: a setup link that still works is kept, and nothing is sent over it.
        if asks_for_setup_link && working_setup_link {
            prop_assert_eq!(&m.w.state.link, &before.link);
            prop_assert_eq!(&m.w.state.email_log, &before.email_log);
            prop_assert!(
                !events
                    .iter()
                    .any(|e| matches!(e, Event::LinkIssued(_) | Event::LinkRateLimited { .. })),
                "a setup link was sent over one that still works: {:?}",
                events
            );
            seen.insert("working setup link kept");
        }
        if matches!(op, Op::IssueSetupLink) && !working_setup_link {
            prop_assert!(
                matches!(
                    events.as_slice(),
                    [Event::LinkIssued(_) | Event::LinkRateLimited { .. }]
                ),
                "no working setup link, yet none sent: {:?}",
                events
            );
            seen.insert("setup link replaced");
        }
        if is_require {
            prop_assert_eq!(&m.w.state.factor, &before.factor);
            prop_assert_eq!(&m.w.state.link, &before.link);
            prop_assert!(m.w.state.requirement.is_required());
        }

        // Structural invariants of the state.
        let s = &m.w.state;
        prop_assert!(s.failures.consecutive < m.w.config.lock_after());
        prop_assert!(s.credential_epoch >= before.credential_epoch);
        if let Some(link) = &s.link {
            prop_assert_eq!(link.epoch_at_issue, s.credential_epoch);
            prop_assert!(link.setup_failures < m.w.config.setup_attempts());
            match link.purpose {
                LinkPurpose::Setup => prop_assert!(!s.is_enrolled()),
                LinkPurpose::Reset => prop_assert!(s.is_enrolled()),
            }
        }
        if s.is_enrolled() {
            prop_assert!(m.w.active_secret().is_some(), "active factor does not open");
        }
        if let (Some(a), Some(b)) = (before.active_factor(), s.active_factor())
            && a.sealed == b.sealed
        {
            prop_assert!(
                b.last_used_step >= a.last_used_step,
                "last_used_step went back"
            );
        }
        for purpose in [LinkPurpose::Setup, LinkPurpose::Reset] {
            let since =
                m.w.now
                    .saturating_sub_secs(m.w.config.email_window_secs().saturating_sub(1));
            let recent = s.email_log.count_since(purpose, since);
            prop_assert!(recent <= m.w.config.emails_per_window() as usize);
        }
    }
    Ok(seen)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn random_command_sequences_keep_the_invariants(
        seed in any::<u64>(),
        canned in any::<u8>(),
        ops in ops(),
    ) {
        run_sequence(seed, canned, &ops)?;
    }
}

/// Guards the generator: over a fixed set of sequences, every situation the invariants talk
/// about is actually reached (otherwise the property test above would pass vacuously).
#[test]
fn the_generator_reaches_every_situation() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = (any::<u64>(), any::<u8>(), ops());
    let mut seen = HashSet::new();
    for _ in 0..400 {
        let (seed, canned, ops) = strategy.new_tree(&mut runner).unwrap().current();
        seen.extend(run_sequence(seed, canned, &ops).unwrap());
    }
    for wanted in [
        "verified",
        "verified while a reset is pending",
        "enrolled",
        "enrolled out of a lock",
        "reset completed",
        "replayed",
        "delayed",
        "locked out",
        "refused while locked",
        "admin reset",
        "admin-reset factor refused",
        "stale candidate refused",
        "candidate replaced",
        "rate limited",
        "working setup link kept",
        "setup link replaced",
        "link expired",
        "unlocked",
        "setup code failed",
        "link voided",
        "wrong proof refused",
        "expired proof refused",
        "admin reset required MFA",
        "requirement removed",
        "password attempted",
        "password delayed",
        "password count cleared",
    ] {
        assert!(
            seen.contains(wanted),
            "never reached: {wanted}; reached {seen:?}"
        );
    }
}

// ---- apply and decide are total --------------------------------------------------------

fn time() -> impl Strategy<Value = UnixTime> {
    prop_oneof![
        Just(UnixTime::EPOCH),
        Just(UnixTime::from_secs(u64::MAX)),
        any::<u64>().prop_map(UnixTime::from_secs),
        (1_600_000_000_u64..1_800_000_000).prop_map(UnixTime::from_secs),
    ]
}

fn sealed() -> impl Strategy<Value = Sealed> {
    (
        any::<u32>(),
        any::<[u8; 12]>(),
        prop::collection::vec(any::<u8>(), 0..80),
    )
        .prop_map(|(k, nonce, ciphertext)| Sealed {
            key_id: KeyId::new(k % 3),
            format: admin_mfa_lifecycle::SealFormat::CURRENT,
            nonce,
            ciphertext,
        })
}

fn params() -> impl Strategy<Value = TotpParams> {
    prop_oneof![
        Just(TotpParams::default()),
        Just(TotpParams::builder().digits(8).period(60).build().unwrap()),
    ]
}

fn step() -> impl Strategy<Value = TimeStep> {
    prop_oneof![
        Just(TimeStep::new(u64::MAX)),
        any::<u64>().prop_map(TimeStep::new)
    ]
}

fn hash() -> impl Strategy<Value = TokenHash> {
    prop_oneof![
        Just(TokenHash::from_bytes([0; 32])),
        any::<[u8; 32]>().prop_map(TokenHash::from_bytes)
    ]
}

fn purpose() -> impl Strategy<Value = LinkPurpose> {
    prop_oneof![Just(LinkPurpose::Setup), Just(LinkPurpose::Reset)]
}

fn admin_id() -> impl Strategy<Value = AdminId> {
    any::<[u8; 16]>().prop_map(AdminId::from_bytes)
}

fn candidate() -> impl Strategy<Value = Candidate> {
    (sealed(), params(), time(), prop::option::of(hash())).prop_map(
        |(sealed, params, created_at, proof_hash)| Candidate {
            sealed,
            params,
            created_at,
            proof_hash,
        },
    )
}

/// Small counts (around the default `setup_attempts`) and arbitrary ones.
fn count() -> impl Strategy<Value = u32> {
    prop_oneof![0..8_u32, any::<u32>()]
}

fn active() -> impl Strategy<Value = ActiveFactor> {
    (sealed(), params(), time(), prop::option::of(step())).prop_map(
        |(sealed, params, enrolled_at, last_used_step)| ActiveFactor {
            sealed,
            params,
            enrolled_at,
            last_used_step,
        },
    )
}

fn state() -> impl Strategy<Value = MfaState> {
    let requirement = prop_oneof![
        Just(Requirement::NotRequired),
        (time(), prop::option::of(admin_id()))
            .prop_map(|(since, by)| Requirement::Required { since, by }),
    ];
    let factor = prop_oneof![Just(Factor::None), active().prop_map(Factor::Active)];
    let link = prop::option::of(
        (
            purpose(),
            hash(),
            time(),
            time(),
            any::<u64>(),
            prop::option::of(candidate()),
            count(),
        )
            .prop_map(
                |(
                    purpose,
                    token_hash,
                    issued_at,
                    expires_at,
                    epoch_at_issue,
                    candidate,
                    setup_failures,
                )| {
                    PendingLink {
                        purpose,
                        token_hash,
                        issued_at,
                        expires_at,
                        epoch_at_issue,
                        candidate,
                        setup_failures,
                    }
                },
            ),
    );
    let failures = (any::<u32>(), prop::option::of(time()), any::<bool>()).prop_map(
        |(consecutive, last_failure_at, locked)| Failures {
            consecutive,
            last_failure_at,
            locked,
        },
    );
    let log = prop::collection::vec((purpose(), time()), 0..8).prop_map(|entries| {
        let mut log = EmailLog::default();
        for (p, t) in entries {
            log.record(p, t, UnixTime::EPOCH);
        }
        log
    });
    let password_failures =
        (count(), prop::option::of(time())).prop_map(|(consecutive, last_failure_at)| {
            PasswordFailures {
                consecutive,
                last_failure_at,
            }
        });
    (
        requirement,
        factor,
        link,
        failures,
        any::<u64>(),
        log,
        password_failures,
        prop::option::of(recovery_set()),
        prop::option::of(time()),
    )
        .prop_map(
            |(
                requirement,
                factor,
                link,
                failures,
                credential_epoch,
                email_log,
                password_failures,
                recovery,
                setup_deadline,
            )| {
                MfaState {
                    requirement,
                    factor,
                    link,
                    failures,
                    credential_epoch,
                    email_log,
                    password_failures,
                    recovery,
                    setup_deadline,
                }
            },
        )
}

/// A stored recovery set: up to a dozen arbitrary hashes under key 1 or an unknown key 9.
fn recovery_set() -> impl Strategy<Value = StoredRecoveryCodes> {
    (
        prop::sample::select(vec![1_u32, 9]),
        time(),
        prop::collection::vec(any::<[u8; 32]>(), 0..12),
    )
        .prop_map(|(key, issued_at, hashes)| StoredRecoveryCodes {
            key_id: KeyId::new(key),
            issued_at,
            hashes: hashes.into_iter().map(RecoveryHash::from_bytes).collect(),
        })
}

fn check() -> impl Strategy<Value = CodeCheck> {
    prop_oneof![Just(CodeCheck::Login), Just(CodeCheck::RecoveryCode)]
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (prop::option::of(admin_id()), time(), 0..3_u8).prop_map(|(by, at, e)| {
            Event::RequirementSet {
                by,
                at,
                source: match e {
                    0 => RequirementSource::Enable,
                    1 => RequirementSource::Require,
                    _ => RequirementSource::AdminReset,
                },
            }
        }),
        (admin_id(), time()).prop_map(|(by, at)| Event::RequirementRemoved { by, at }),
        (
            purpose(),
            hash(),
            time(),
            time(),
            any::<u64>(),
            sealed(),
            time(),
            prop::option::of(admin_id())
        )
            .prop_map(
                |(
                    purpose,
                    token_hash,
                    issued_at,
                    expires_at,
                    epoch_at_issue,
                    sealed_token,
                    prune_before,
                    requested_by,
                )| {
                    Event::LinkIssued(IssuedLink {
                        purpose,
                        token_hash,
                        issued_at,
                        expires_at,
                        epoch_at_issue,
                        sealed_token,
                        prune_before,
                        requested_by,
                    })
                }
            ),
        (purpose(), time(), time()).prop_map(|(purpose, at, retry_at)| Event::LinkRateLimited {
            purpose,
            at,
            retry_at
        }),
        (purpose(), hash(), candidate()).prop_map(|(purpose, token_hash, candidate)| {
            Event::CandidateStored {
                purpose,
                token_hash,
                candidate,
            }
        }),
        (purpose(), hash(), active(), any::<u64>()).prop_map(
            |(purpose, token_hash, factor, epoch)| Event::Enrolled {
                purpose,
                token_hash,
                factor,
                epoch,
            }
        ),
        (step(), time()).prop_map(|(step, at)| Event::Verified { step, at }),
        (check(), any::<u32>(), time()).prop_map(|(check, failures, at)| Event::VerifyFailed {
            check,
            failures,
            at
        }),
        (check(), any::<u32>(), time()).prop_map(|(check, failures, at)| Event::Replayed {
            check,
            failures,
            at
        }),
        (check(), time(), time()).prop_map(|(check, until, at)| Event::Delayed {
            check,
            until,
            at
        }),
        (check(), time()).prop_map(|(check, at)| Event::RefusedLocked { check, at }),
        (any::<u32>(), time(), any::<u64>()).prop_map(|(failures, at, epoch)| Event::LockedOut {
            failures,
            at,
            epoch
        }),
        (admin_id(), time()).prop_map(|(by, at)| Event::Unlocked { by, at }),
        (admin_id(), time(), any::<u64>()).prop_map(|(by, at, epoch)| Event::FactorRemoved {
            by,
            at,
            epoch
        }),
        (purpose(), hash(), time()).prop_map(|(purpose, token_hash, at)| Event::LinkExpired {
            purpose,
            token_hash,
            at
        }),
        (password_check(), any::<u32>(), time()).prop_map(|(check, attempts, at)| {
            Event::PasswordAttempted {
                check,
                attempts,
                at,
            }
        }),
        (purpose(), hash(), count(), time()).prop_map(|(purpose, token_hash, failures, at)| {
            Event::SetupFailed {
                purpose,
                token_hash,
                failures,
                at,
            }
        }),
        (purpose(), hash(), time()).prop_map(|(purpose, token_hash, at)| Event::LinkVoided {
            purpose,
            token_hash,
            at
        }),
        (password_check(), time(), time())
            .prop_map(|(check, until, at)| { Event::PasswordDelayed { check, until, at } }),
        (any::<u32>(), time())
            .prop_map(|(failures, at)| Event::PasswordFailuresCleared { failures, at }),
        (recovery_set(), time()).prop_map(|(codes, at)| Event::RecoveryCodesIssued { codes, at }),
        (
            prop::option::of(time()),
            prop::option::of(admin_id()),
            time()
        )
            .prop_map(|(deadline, by, at)| Event::SetupDeadlineSet { deadline, by, at }),
        (any::<[u8; 32]>(), any::<u32>(), time()).prop_map(|(hash, remaining, at)| {
            Event::RecoveryCodeUsed {
                hash: RecoveryHash::from_bytes(hash),
                remaining,
                at,
            }
        }),
    ]
}

fn password_check() -> impl Strategy<Value = PasswordCheck> {
    prop_oneof![
        Just(PasswordCheck::Login),
        purpose().prop_map(PasswordCheck::Link)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// `apply` accepts any event in any state without panicking; the credential epoch never
    /// goes back, and a factor's `last_used_step` never goes back.
    #[test]
    fn apply_is_total(start in state(), events in prop::collection::vec(event(), 0..12)) {
        let mut s = start;
        for e in &events {
            let before = s.clone();
            s = apply(s, e);
            prop_assert!(s.credential_epoch >= before.credential_epoch);
            if let (Some(a), Some(b)) = (before.active_factor(), s.active_factor())
                && a.sealed == b.sealed
                && !matches!(e, Event::Enrolled { .. })
            {
                prop_assert!(b.last_used_step >= a.last_used_step);
            }
            if !e.changes_state() {
                prop_assert_eq!(&s, &before);
            }
            // The password counter and the code counter never mix (RL-3, RL-4).
            let password_event = matches!(
                e,
                Event::PasswordAttempted { .. }
                    | Event::PasswordDelayed { .. }
                    | Event::PasswordFailuresCleared { .. }
            );
            if password_event {
                prop_assert_eq!(s.failures, before.failures);
            } else {
                prop_assert_eq!(s.password_failures, before.password_failures);
            }
            // Link-code events touch the link only (SETUP-2): never the login counter, the
            // factor, the requirement or the epoch.
            if let Event::SetupFailed { .. } | Event::LinkVoided { .. } = e {
                let mut rest = s.clone();
                rest.link.clone_from(&before.link);
                prop_assert_eq!(&rest, &before);
                if let (Some(a), Some(b)) = (&before.link, &s.link) {
                    prop_assert_eq!(&a.candidate, &b.candidate);
                    prop_assert_eq!(a.token_hash, b.token_hash);
                }
            }
        }
    }

    /// `decide` never panics on arbitrary (even inconsistent) states, extreme times and
    /// blobs that do not open; an error leaves nothing half done because it returns no events.
    #[test]
    fn decide_is_total(
        start in state(),
        now in time(),
        which in 0_usize..17,
        code in "[0-9a-z ]{0,10}",
        h in hash(),
        p in purpose(),
        seed in any::<u64>(),
    ) {
        let mut w = World::new(seed);
        w.now = now;
        w.state = start;
        let cmd = match which {
            0 => w.enable(),
            1 => Command::Require { by: w.boss, deadline: Some(now.saturating_add_secs(seed % 1_000_000)) },
            2 => Command::RemoveRequirement { by: w.boss, global_required: seed % 2 == 0 },
            3 => w.issue_setup_link(),
            4 => w.request_reset(),
            5 => Command::ConfirmIdentity {
                purpose: p,
                token_hash: h,
                secret: TotpSecret::from_bytes(&[7; 20]).unwrap(),
                nonce: Nonce::from_bytes([0; 12]),
                proof: h,
            },
            6 => Command::CompleteSetup {
                recovery: None,
                purpose: p,
                token_hash: w.link_hash(),
                proof: w.held_proof(),
                code: Code::new(code),
            },
            7 => Command::Verify { code: Code::new(code) },
            8 => w.admin_reset(),
            9 => Command::Unlock { by: w.boss },
            10 => Command::CompleteSetup {
                recovery: None,
                purpose: p,
                token_hash: h,
                proof: h,
                code: Code::new(code),
            },
            11 => Command::ReservePassword { check: PasswordCheck::Link(p) },
            12 => Command::PasswordAccepted,
            13 => Command::VerifyRecoveryCode { code: Code::new(code) },
            14 => Command::RegenerateRecoveryCodes {
                codes: RecoveryCodes::generate(&mut w.rng),
            },
            15 => Command::CompleteSetup {
                recovery: Some(RecoveryCodes::generate(&mut w.rng)),
                purpose: p,
                token_hash: w.link_hash(),
                proof: w.held_proof(),
                code: Code::new(code),
            },
            _ => Command::Expire,
        };
        if let Ok(events) = w.decide(cmd) {
            let _ = admin_mfa_lifecycle::apply_all(w.state.clone(), &events);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The issue-10 rules of `decide` hold on arbitrary (even inconsistent) states:
    /// - SETUP-1: `CompleteSetup` gets past the proof check only with the candidate's own,
    ///   fresh proof; a refused proof is `ProofMismatch` (or an earlier link rejection);
    /// - SETUP-2: whatever it decides never counts on the login counter;
    /// - RST-8: an admin reset always leaves MFA required;
    /// - RL-8: a reservation is counted exactly when no password delay is running.
    #[test]
    fn issue_10_rules_hold_on_any_state(
        start in state(),
        now in time(),
        code in prop_oneof!["[0-9]{6}", "[0-9a-z ]{0,10}"],
        forged in hash(),
        use_held in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut w = World::new(seed);
        w.now = now;
        w.state = start;
        let before = w.state.clone();

        let proof = if use_held { w.held_proof() } else { forged };
        let cmd = Command::CompleteSetup {
            recovery: None,
            purpose: w.link_purpose(),
            token_hash: w.link_hash(),
            proof,
            code: Code::new(code),
        };
        let candidate = before
            .check_link(w.link_purpose(), &w.link_hash(), now)
            .ok()
            .and_then(|l| l.candidate.clone());
        let accepted = candidate
            .as_ref()
            .is_some_and(|c| c.accepts_proof(&proof, now, w.config.setup_proof_ttl_secs()));
        match w.decide(cmd) {
            Err(TransitionError::ProofMismatch) => prop_assert!(candidate.is_some() && !accepted),
            Err(_) => prop_assert!(!accepted),
            Ok(events) => {
                prop_assert!(accepted, "a refused proof reached the code check");
                let after = admin_mfa_lifecycle::apply_all(before.clone(), &events);
                if !events.iter().any(|e| matches!(e, Event::Enrolled { .. })) {
                    prop_assert_eq!(after.failures, before.failures);
                    prop_assert_eq!(&after.factor, &before.factor);
                }
            }
        }

        let cmd = w.admin_reset();
        if let Ok(events) = w.decide(cmd) {
            let after = admin_mfa_lifecycle::apply_all(before.clone(), &events);
            prop_assert!(after.requirement.is_required());
            prop_assert_eq!(after.login_step(), LoginStep::SetupRequired);
        }

        let check = PasswordCheck::Login;
        let events = w.decide(Command::ReservePassword { check }).unwrap();
        let delayed = before.password_failures.delayed_until(now, &w.config).is_some();
        prop_assert_eq!(events.len(), 1);
        prop_assert_eq!(
            matches!(events[0], Event::PasswordDelayed { .. }),
            delayed
        );
        prop_assert_eq!(
            matches!(events[0], Event::PasswordAttempted { .. }),
            !delayed
        );
    }
}
