//! Shared harness for the integration tests: a deterministic RNG, a fake clock and helpers
//! that remember the raw tokens and secrets a real user would hold.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use admin_mfa_lifecycle::{
    Admin, AdminId, AdminProfile, BuiltinRole, Code, Command, DecideContext, Email, Event, Fresh,
    KeyId, KeyRing, LifecycleConfig, LinkPurpose, LinkToken, MfaState, Nonce, OrgId, PasswordHash,
    Role, SealingKey, TokenHash, TotpSecret, TransitionError, UnixTime, apply_all, decide,
};
use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;

/// The start of every test's fake clock (a multiple of 30, so steps line up).
pub(crate) const T0: u64 = 1_700_000_010;

pub(crate) struct World {
    pub(crate) rng: ChaCha20Rng,
    pub(crate) config: LifecycleConfig,
    pub(crate) keys: KeyRing,
    pub(crate) admin: AdminId,
    pub(crate) boss: AdminId,
    pub(crate) now: UnixTime,
    pub(crate) state: MfaState,
    /// Every token handed to a command (whether or not a link was issued with it).
    pub(crate) tokens: Vec<LinkToken>,
    /// Every secret handed to `ConfirmIdentity`, in order.
    pub(crate) secrets: Vec<TotpSecret>,
    /// Every identity-step proof hash handed to `ConfirmIdentity`, in order (SETUP-1).
    pub(crate) proofs: Vec<TokenHash>,
    /// The stored record's version, as a compare-and-swap store keeps it: [`World::run`]
    /// bumps it for every batch that changes the state (what NOT-3 keys notices by).
    pub(crate) version: u64,
}

impl World {
    /// The stored admin this world's state belongs to: Ada, an Administrator, with the
    /// current state (for `notifications` and `audit_events`, which read the record).
    pub(crate) fn record(&self) -> Admin {
        let mut admin = Admin::new(AdminProfile {
            id: self.admin,
            org: OrgId::from_bytes([3; 16]),
            email: Email::parse("ada@example.com").unwrap(),
            display_name: "Ada".into(),
            role: Role::Builtin(BuiltinRole::Administrator),
            password_hash: PasswordHash::new(
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
            ),
            created_at: UnixTime::from_secs(T0),
        });
        admin.mfa = self.state.clone();
        admin
    }

    pub(crate) fn new(seed: u64) -> Self {
        Self::with_config(seed, LifecycleConfig::default())
    }

    pub(crate) fn with_config(seed: u64, config: LifecycleConfig) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let keys = KeyRing::new(SealingKey::generate(KeyId::new(1), &mut rng));
        Self {
            rng,
            config,
            keys,
            admin: AdminId::from_bytes([0xA1; 16]),
            boss: AdminId::from_bytes([0xB0; 16]),
            now: UnixTime::from_secs(T0),
            state: MfaState::new(),
            tokens: Vec::new(),
            secrets: Vec::new(),
            proofs: Vec::new(),
            version: 0,
        }
    }

    /// Default settings, but setup links that live `secs` seconds: short enough to expire
    /// inside the e-mail rate-limit window, so repeated setup e-mails can reach the cap
    /// (a setup link that still works is never replaced, LNK-1).
    pub(crate) fn with_setup_link_ttl(seed: u64, secs: u64) -> Self {
        let config = LifecycleConfig::builder()
            .setup_link_ttl_secs(secs)
            .build()
            .unwrap();
        Self::with_config(seed, config)
    }

    pub(crate) fn ctx(&self) -> DecideContext<'_> {
        DecideContext::new(self.admin, &self.config, &self.keys)
    }

    pub(crate) fn fresh(&mut self) -> Fresh {
        let fresh = Fresh::generate(&mut self.rng);
        self.tokens.push(fresh.token().clone());
        fresh
    }

    pub(crate) fn advance(&mut self, secs: u64) {
        self.now = self.now.saturating_add_secs(secs);
    }

    /// Decides without applying.
    pub(crate) fn decide(&self, cmd: Command) -> Result<Vec<Event>, TransitionError> {
        decide(&self.state, cmd, self.now, &self.ctx())
    }

    /// Decides and applies; bumps [`World::version`] when the state changes.
    pub(crate) fn run(&mut self, cmd: Command) -> Result<Vec<Event>, TransitionError> {
        let events = self.decide(cmd)?;
        self.state = apply_all(self.state.clone(), &events);
        if events.iter().any(Event::changes_state) {
            self.version += 1;
        }
        Ok(events)
    }

    /// The token hash of the pending link (what the holder of the e-mail presents).
    pub(crate) fn link_hash(&self) -> TokenHash {
        self.state
            .token_hash()
            .copied()
            .unwrap_or_else(|| TokenHash::from_bytes([0; 32]))
    }

    pub(crate) fn link_purpose(&self) -> LinkPurpose {
        self.state
            .link
            .as_ref()
            .map_or(LinkPurpose::Setup, |l| l.purpose)
    }

    pub(crate) fn new_secret(&mut self) -> TotpSecret {
        let s = TotpSecret::generate_with(&mut self.rng);
        self.secrets.push(s.clone());
        s
    }

    pub(crate) fn code_for(&self, secret: &TotpSecret) -> Code {
        Code::new(admin_mfa_totp::generate(secret, self.config.totp(), self.now.as_secs()).as_str())
    }

    /// A six-digit code that is none of the codes `secret` accepts around now.
    pub(crate) fn wrong_code_for(&self, secret: &TotpSecret) -> Code {
        let p = self.config.totp();
        let step = p.step_at(self.now.as_secs()).get();
        let taken: Vec<String> = (step.saturating_sub(1)..=step + 1)
            .map(|s| {
                admin_mfa_totp::generate_at_step(secret, p, admin_mfa_totp::TimeStep::new(s))
                    .to_string()
            })
            .collect();
        (0..10u32)
            .map(|d| format!("{0}{0}{0}{0}{0}{0}", d))
            .find(|c| !taken.contains(c))
            .map(Code::new)
            .unwrap_or_else(|| Code::new("12345"))
    }

    /// Index into `secrets` of the secret sealed in the active factor.
    pub(crate) fn active_secret(&self) -> Option<usize> {
        let f = self.state.active_factor()?;
        let opened = f.sealed.open_secret(&self.keys, self.admin).ok()?;
        self.secrets.iter().position(|s| *s == opened)
    }

    /// The proof the identity step handed to whoever holds the pending candidate (the hash
    /// the candidate stores), or a hash no identity step produced.
    pub(crate) fn held_proof(&self) -> TokenHash {
        self.state
            .link
            .as_ref()
            .and_then(|l| l.candidate.as_ref())
            .and_then(|c| c.proof_hash)
            .unwrap_or_else(|| TokenHash::from_bytes([0xEE; 32]))
    }

    /// A fresh random proof hash, never handed to an identity step.
    pub(crate) fn forged_proof(&mut self) -> TokenHash {
        LinkToken::generate(&mut self.rng).hash()
    }

    /// Index into `secrets` of the pending candidate.
    pub(crate) fn candidate_secret(&self) -> Option<usize> {
        let c = self.state.link.as_ref()?.candidate.as_ref()?;
        let opened = c.sealed.open_secret(&self.keys, self.admin).ok()?;
        self.secrets.iter().position(|s| *s == opened)
    }

    // ---- Command shorthands -------------------------------------------------------------

    pub(crate) fn enable(&mut self) -> Command {
        Command::Enable {
            by: Some(self.boss),
            fresh: self.fresh(),
        }
    }

    pub(crate) fn issue_setup_link(&mut self) -> Command {
        Command::IssueSetupLink {
            fresh: self.fresh(),
        }
    }

    pub(crate) fn request_reset(&mut self) -> Command {
        Command::RequestReset {
            fresh: self.fresh(),
        }
    }

    pub(crate) fn admin_reset(&mut self) -> Command {
        Command::AdminReset {
            by: self.boss,
            fresh: self.fresh(),
        }
    }

    /// Confirms identity on the pending link with a new secret and a new proof.
    pub(crate) fn confirm(&mut self) -> Command {
        let secret = self.new_secret();
        let proof = self.forged_proof();
        self.proofs.push(proof);
        Command::ConfirmIdentity {
            purpose: self.link_purpose(),
            token_hash: self.link_hash(),
            secret,
            nonce: Nonce::generate(&mut self.rng),
            proof,
        }
    }

    /// The candidate's current code (or a wrong one); `000000` without a candidate.
    pub(crate) fn candidate_code(&self, right: bool) -> Code {
        match self.candidate_secret().and_then(|i| self.secrets.get(i)) {
            Some(s) if right => self.code_for(s),
            Some(s) => self.wrong_code_for(s),
            None => Code::new("000000"),
        }
    }

    /// Completes the pending link with the candidate's current code (or a wrong one) and
    /// the proof its identity step handed out.
    pub(crate) fn complete(&mut self, right: bool) -> Command {
        let proof = self.held_proof();
        self.complete_with(right, proof)
    }

    /// Completes the pending link presenting `proof`.
    pub(crate) fn complete_with(&mut self, right: bool, proof: TokenHash) -> Command {
        Command::CompleteSetup {
            recovery: None,
            purpose: self.link_purpose(),
            token_hash: self.link_hash(),
            proof,
            code: self.candidate_code(right),
        }
    }

    /// A login code for the active secret (or a wrong one).
    pub(crate) fn verify(&mut self, right: bool) -> Command {
        let code = match self.active_secret().and_then(|i| self.secrets.get(i)) {
            Some(s) if right => self.code_for(s),
            Some(s) => self.wrong_code_for(s),
            None => Code::new("000000"),
        };
        Command::Verify { code }
    }

    // ---- Canned states ------------------------------------------------------------------

    /// Required, with a live setup link (no candidate yet).
    pub(crate) fn enabled(seed: u64) -> Self {
        let mut w = Self::new(seed);
        let cmd = w.enable();
        w.run(cmd).unwrap();
        w
    }

    /// Required, setup link with a candidate (QR shown).
    pub(crate) fn confirming(seed: u64) -> Self {
        let mut w = Self::enabled(seed);
        let cmd = w.confirm();
        w.run(cmd).unwrap();
        w
    }

    /// Required and enrolled; the clock moved to the next step.
    pub(crate) fn enrolled(seed: u64) -> Self {
        let mut w = Self::confirming(seed);
        let cmd = w.complete(true);
        let events = w.run(cmd).unwrap();
        assert!(matches!(events.as_slice(), [Event::Enrolled { .. }]));
        w.advance(30);
        w
    }

    /// Enrolled, with a reset link and a new candidate pending.
    pub(crate) fn resetting(seed: u64) -> Self {
        let mut w = Self::enrolled(seed);
        let cmd = w.request_reset();
        w.run(cmd).unwrap();
        let cmd = w.confirm();
        w.run(cmd).unwrap();
        w
    }

    /// Sends `n` wrong codes on the pending link's last step (no delay applies there).
    pub(crate) fn fail_setup(&mut self, n: u32) {
        for _ in 0..n {
            let cmd = self.complete(false);
            self.run(cmd).unwrap();
        }
    }

    /// Sends `n` wrong login codes, waiting out each delay.
    pub(crate) fn fail_logins(&mut self, n: u32) {
        for _ in 0..n {
            if let Some(until) = self.state.failures.delayed_until(self.now, &self.config) {
                self.now = until;
            }
            let cmd = self.verify(false);
            self.run(cmd).unwrap();
        }
    }
}
