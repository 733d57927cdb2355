//! The login flow: password step, code step, and the "Reset TOTP MFA" link at the prompt.

use admin_mfa_lifecycle::{
    Admin, AdminId, AuditEvent, AuditKind, Code, Command, Email, Event, LoginStep, OrgId,
    PasswordCheck, PasswordHash, UnixTime,
};
use admin_mfa_policy::Action;
use admin_mfa_ports::{Change, Versioned};

use super::{Applied, MfaService, Plan};
use crate::error::{Error, Result};
use crate::password::{Password, PasswordError};
use crate::session::{Authenticated, FactorKind, LoginOutcome, MfaChallenge, SetupRequired};

impl MfaService {
    /// The password step of a login.
    ///
    /// - No factor and MFA not required: [`LoginOutcome::Authenticated`] (password only).
    /// - A factor is active (required or not, locked or not): [`LoginOutcome::MfaChallenge`];
    ///   finish with [`MfaService::verify`].
    /// - MFA required but not set up, before a set-up deadline
    ///   ([`MfaService::require_mfa_by`]): [`LoginOutcome::Authenticated`] with the password
    ///   alone and [`Authenticated::setup_due_by`] set; the setup link is (re)sent as below.
    /// - MFA required but not set up: [`LoginOutcome::SetupRequired`], no privileges. A
    ///   setup link that still works (unexpired, current credential epoch) stays pending and
    ///   no new e-mail is sent, so the link already in the admin's inbox keeps working
    ///   (LNK-1); otherwise a new setup e-mail is queued (rate-limited).
    ///
    /// A pending link past its expiry is collected (audited as `LinkExpired`).
    ///
    /// An unknown address runs the same argon2 verification against a dummy hash (ENU-2),
    /// and every refusal is the same [`Error::InvalidCredentials`] (ENU-3). A successful
    /// password does not touch the code failure counter (RL-3); a password hash made with
    /// weaker parameters than the live ones is replaced.
    ///
    /// Password attempts count on the admin's password limiter, which the link's
    /// email-and-password step shares (RST-1). Each attempt is counted *before* its hash is
    /// checked (RL-8), so concurrent guesses cannot slip past it: from
    /// [`LifecycleConfig::password_delay_after`](admin_mfa_lifecycle::LifecycleConfig::password_delay_after)
    /// attempts since the last correct password, attempts are refused unchecked (same error,
    /// a dummy verification for the same timing) until a doubling delay passes. A correct
    /// password inside a burst of guesses may therefore be refused too. The limiter never
    /// locks, so spraying passwords cannot lock the account or its MFA (RL-4, T-RL-5); a
    /// correct password clears it. Every attempt is audited, without the password; an
    /// unknown address writes one audit record too, so both paths do the same store work
    /// (ENU-4). A correct password leads to one more write, which also carries the rehash
    /// and the setup link, and starts from the admin as the reservation stored it: a login
    /// costs one read and at most two writes (RL-9).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCredentials`] for any refusal; [`Error::Store`] and
    /// [`Error::Password`] for infrastructure failures.
    pub async fn login(
        &self,
        org: OrgId,
        email: &str,
        password: &Password,
    ) -> Result<LoginOutcome> {
        let found = match Email::parse(email) {
            Ok(email) => self.store.admin_by_email(org, &email).await?,
            Err(_) => None,
        };
        let checked = self
            .check_password(org, found.map(|a| (a, PasswordCheck::Login)), password)
            .await?;
        let Some(ok) = checked else {
            tracing::info!(org = %org, "login refused");
            return Err(Error::InvalidCredentials);
        };
        // One write for everything a correct password leads to: the password count cleared,
        // a weaker hash replaced, the setup link (re)sent, an expired link collected (T-ENR-8).
        let applied = self
            .mutate_from(ok.reserved, org, ok.id, Some(ok.id), |next, now| {
                apply_rehash(next, &ok.verified_hash, ok.rehash.as_ref());
                let mut plan = vec![Command::PasswordAccepted];
                let in_flight = next
                    .mfa
                    .live_link(now)
                    .is_some_and(|l| l.candidate.is_some());
                if next.mfa.login_step() == LoginStep::SetupRequired && !in_flight {
                    plan.push(Command::IssueSetupLink {
                        fresh: self.fresh()?,
                    });
                } else if next.mfa.link.as_ref().is_some_and(|l| l.is_expired(now)) {
                    plan.push(Command::Expire);
                }
                Ok(plan)
            })
            .await
            .map_err(|e| e.or_generic(Error::InvalidCredentials))?
            .admin;
        let now = self.clock.now();
        let outcome = match applied.login_step {
            LoginStep::Complete => LoginOutcome::Authenticated(Authenticated {
                admin: applied.id,
                org: applied.org,
                factors: vec![FactorKind::Password],
                authenticated_at: now,
                credential_epoch: applied.credential_epoch,
                setup_due_by: None,
            }),
            // Required, not set up, inside the grace period of a deadline (DL-1, DL-2): the
            // password alone, with the deadline; the setup link went out above.
            LoginStep::SetupDue { by } => LoginOutcome::Authenticated(Authenticated {
                admin: applied.id,
                org: applied.org,
                factors: vec![FactorKind::Password],
                authenticated_at: now,
                credential_epoch: applied.credential_epoch,
                setup_due_by: Some(by),
            }),
            LoginStep::MfaChallenge => LoginOutcome::MfaChallenge(MfaChallenge {
                admin: applied.id,
                org: applied.org,
                credential_epoch: applied.credential_epoch,
                issued_at: now,
                expires_at: now.saturating_add_secs(self.config.challenge_ttl_secs()),
            }),
            LoginStep::SetupRequired => {
                LoginOutcome::SetupRequired(SetupRequired { admin: applied.id })
            }
        };
        tracing::info!(admin = %applied.id, step = ?applied.login_step, "password accepted");
        Ok(outcome)
    }

    /// The code step of a login: a correct, unused code for the active factor turns the
    /// challenge into an [`Authenticated`] session with factors `[Password, Totp]`.
    ///
    /// The time is the injected clock's (VER-6). Wrong, malformed, empty and replayed codes
    /// count on the admin's one failure counter; from the configured number of failures
    /// attempts are delayed, then the factor locks. Every refusal is the same
    /// [`Error::InvalidCode`] (a replay is indistinguishable from a wrong code, VER-7).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCode`] for any refused code; [`Error::SessionExpired`] for a
    /// challenge that expired or predates a lockout or credential change;
    /// [`Error::Store`] (nothing counted, nothing accepted) and [`Error::Seal`] for
    /// infrastructure failures.
    pub async fn verify(&self, challenge: &MfaChallenge, code: &str) -> Result<Authenticated> {
        if self.clock.now() >= challenge.expires_at {
            return Err(Error::SessionExpired);
        }
        let (org, admin, epoch) = (challenge.org, challenge.admin, challenge.credential_epoch);
        let applied = self.check_code_at_epoch(org, admin, epoch, code).await?;
        applied.session().ok_or(Error::InvalidCode)
    }

    /// Step-up re-authentication of a signed-in admin with a fresh code (before an MFA
    /// change, when [`Authenticated::requires_recent_reauth`] says so): a new session with
    /// `authenticated_at` = now. The code counts on the same failure counter as every other
    /// code check (RL-2). This is an authenticated API, so an attempt inside a lockout
    /// delay says when to retry.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCode`] for a wrong, replayed or locked code;
    /// [`Error::RetryLater`] inside a delay; [`Error::SessionExpired`] for a revoked
    /// session or an admin without a factor; infrastructure errors.
    pub async fn reauthenticate(
        &self,
        session: &Authenticated,
        code: &str,
    ) -> Result<Authenticated> {
        // The epoch check inside covers a revoked session or a removed admin.
        let (org, admin, epoch) = (session.org, session.admin, session.credential_epoch);
        let applied = self.check_code_at_epoch(org, admin, epoch, code).await?;
        if let Some(session) = applied.session() {
            return Ok(session);
        }
        match applied.delayed_until() {
            Some(retry_at) => Err(Error::RetryLater { retry_at }),
            None => Err(Error::InvalidCode),
        }
    }

    /// "Reset TOTP MFA" at the code prompt: queues a reset e-mail to the admin who passed
    /// the password step. The old factor keeps working until the new one is verified
    /// (RST-3). Allowed while locked (it is the way out). Rate-limited per admin: an
    /// excess request succeeds the same way and queues nothing (T-TOK-9).
    ///
    /// # Errors
    ///
    /// [`Error::SessionExpired`] for a dead challenge; [`Error::Forbidden`] if a custom
    /// policy forbids `reset-own-totp`; infrastructure errors.
    pub async fn request_reset(&self, challenge: &MfaChallenge) -> Result<()> {
        if self.clock.now() >= challenge.expires_at {
            return Err(Error::SessionExpired);
        }
        let (org, admin, epoch) = (challenge.org, challenge.admin, challenge.credential_epoch);
        self.mutate_at_epoch(org, admin, epoch, |admin, _| {
            self.authorize_self_service(admin, &Action::ResetOwnTotp)?;
            Ok(vec![Command::RequestReset {
                fresh: self.fresh()?,
            }])
        })
        .await?;
        Ok(())
    }

    /// Checks a login `code` ([`Command::Verify`]) on the admin behind a challenge or session
    /// issued at credential epoch `epoch`, as that admin, with the same dead-epoch rules as
    /// [`MfaService::mutate_at_epoch`].
    async fn check_code_at_epoch(
        &self,
        org: OrgId,
        admin: AdminId,
        epoch: u64,
        code: &str,
    ) -> Result<Applied> {
        self.mutate_command(org, admin, Some(admin), |current, _| {
            if current.mfa.credential_epoch != epoch {
                return Err(Error::SessionExpired);
            }
            Ok(Command::Verify {
                code: Code::from(code),
            })
        })
        .await
        .map_err(|e| e.or_generic(Error::SessionExpired))
    }

    /// Runs `plan` on the admin behind a challenge or session issued at credential epoch
    /// `epoch`, as that admin: a changed epoch, a removed admin or a removed factor all mean
    /// the challenge or session is dead.
    async fn mutate_at_epoch<P>(
        &self,
        org: OrgId,
        admin: AdminId,
        epoch: u64,
        mut plan: P,
    ) -> Result<Applied>
    where
        P: FnMut(&mut Admin, UnixTime) -> Result<Plan>,
    {
        self.mutate(org, admin, Some(admin), |current, now| {
            if current.mfa.credential_epoch != epoch {
                return Err(Error::SessionExpired);
            }
            plan(current, now)
        })
        .await
        .map_err(|e| e.or_generic(Error::SessionExpired))
    }
}

/// A password that checked out against an admin's hash (see [`MfaService::check_password`]).
#[derive(Debug)]
pub(super) struct PasswordOk {
    /// The admin whose password it is.
    pub(super) id: AdminId,
    /// The hash it was verified against.
    pub(super) verified_hash: PasswordHash,
    /// A stronger hash of it, when the verified one used weaker parameters than the live ones.
    pub(super) rehash: Option<PasswordHash>,
    /// The admin as the reservation stored it: the caller's one write starts from it, so a
    /// correct password costs one read and two writes, not a second read.
    pub(super) reserved: Option<Versioned<Admin>>,
}

/// A reserved password attempt: whose it is, the hash to check, the admin as stored after.
#[derive(Debug)]
struct Reserved {
    id: AdminId,
    hash: PasswordHash,
    stored: Option<Versioned<Admin>>,
}

/// The target id of audit records about an address no admin has ([`AuditKind::UnknownAccount`]).
const UNKNOWN_ACCOUNT: AdminId = AdminId::from_bytes([0; 16]);

impl MfaService {
    /// The password step shared by [`MfaService::login`] and
    /// [`MfaService::confirm_identity`]: `Some` if `password` is the password of `holder`
    /// (the admin the request names, as just read, with the check it is for).
    ///
    /// The attempt is reserved before the hash is checked (RL-8): one compare-and-swap write
    /// counts it on the admin's password limiter, so however many attempts race, at most
    /// [`LifecycleConfig::password_delay_after`](admin_mfa_lifecycle::LifecycleConfig::password_delay_after)
    /// of them from a zero count are checked before the rest are refused unchecked. A
    /// correct password clears the count in the caller's one write
    /// ([`Command::PasswordAccepted`]). Without a holder (an unknown address, a dead link)
    /// the same shape of work runs: one audit write, then a verification against a dummy hash
    /// (ENU-2, ENU-4), so neither the answer nor the store traffic tells who exists.
    pub(super) async fn check_password(
        &self,
        org: OrgId,
        holder: Option<(Versioned<Admin>, PasswordCheck)>,
        password: &Password,
    ) -> Result<Option<PasswordOk>> {
        let reserved = match holder {
            Some((admin, check)) => self.reserve_password(admin, check).await?,
            None => {
                self.record_unknown(org).await?;
                None
            }
        };
        let stored = reserved.as_ref().map(|r| &r.hash);
        let verification = match self.passwords.verify(stored, password).await {
            Ok(v) => v,
            Err(PasswordError::MalformedHash) => {
                tracing::warn!("stored password hash is malformed; password refused");
                return Ok(None);
            }
            Err(e) => return Err(Error::Password(Box::new(e))),
        };
        Ok(match reserved {
            Some(r) if verification.is_match() => Some(PasswordOk {
                id: r.id,
                verified_hash: r.hash,
                rehash: verification.into_rehash(),
                reserved: r.stored,
            }),
            _ => None,
        })
    }

    /// Reserves one password attempt on `admin` (RL-8): the hash to check the password
    /// against, or `None` inside a password delay (refused unchecked, audited).
    async fn reserve_password(
        &self,
        admin: Versioned<Admin>,
        check: PasswordCheck,
    ) -> Result<Option<Reserved>> {
        let (org, id) = (admin.value.org, admin.value.id);
        let mut hash = None;
        let applied = self
            .mutate_inner(
                Some(admin),
                org,
                id,
                None,
                |next, _| {
                    hash = Some(next.password_hash.clone());
                    Ok(vec![Command::ReservePassword { check }])
                },
                true,
            )
            .await;
        let stored = match applied {
            Ok(applied) if applied.has(|e| matches!(e, Event::PasswordAttempted { .. })) => {
                applied.stored.map(|stored| *stored)
            }
            Ok(_) => return Ok(None),
            // Removed since it was read: nobody's password to check.
            Err(Error::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(hash.map(|hash| Reserved { id, hash, stored }))
    }

    /// The store write of a password attempt that names no admin (ENU-4): one audit record,
    /// the same shape of work as the reservation on the known path.
    async fn record_unknown(&self, org: OrgId) -> Result<()> {
        let event = AuditEvent {
            at: self.clock.now(),
            org,
            actor: None,
            target: UNKNOWN_ACCOUNT,
            kind: AuditKind::UnknownAccount,
        };
        self.store.commit(Change::new().audit([event])).await?;
        // The reservation of a known account locks its row and rewrites it inside its commit:
        // more round trips to a SQL store than an audit record alone. Three lookups that find
        // nothing stand in for them, as measured by the ENU-4 test on PostgreSQL, so the
        // store traffic of both paths costs the same.
        for _ in 0..3 {
            let _ = self.store.admin(org, UNKNOWN_ACCOUNT).await?;
        }
        Ok(())
    }
}

/// Stores the upgraded hash, unless the password changed since it was verified.
pub(super) fn apply_rehash(
    admin: &mut Admin,
    verified: &PasswordHash,
    rehash: Option<&PasswordHash>,
) {
    if let Some(new) = rehash
        && admin.password_hash == *verified
    {
        admin.password_hash = new.clone();
    }
}
