//! The login flow: password step, code step, and the "Reset TOTP MFA" link at the prompt.

use admin_mfa_lifecycle::{
    Admin, AdminId, Code, Command, Email, Event, LoginStep, OrgId, PasswordCheck, PasswordFailures,
    PasswordHash, TransitionError,
};
use admin_mfa_policy::Action;

use super::{Applied, MfaService, Outline};
use crate::error::{Error, Result};
use crate::password::{Password, PasswordError};
use crate::session::{Authenticated, FactorKind, LoginOutcome, MfaChallenge, SetupRequired};

impl MfaService {
    /// The password step of a login.
    ///
    /// - No factor and MFA not required: [`LoginOutcome::Authenticated`] (password only).
    /// - A factor is active (required or not, locked or not): [`LoginOutcome::MfaChallenge`];
    ///   finish with [`MfaService::verify`].
    /// - MFA required but not set up: [`LoginOutcome::SetupRequired`], and a setup e-mail
    ///   is queued (rate-limited; not while an enrolment is in flight). No privileges.
    ///
    /// A pending link past its expiry is collected (audited as `LinkExpired`).
    ///
    /// An unknown address runs the same argon2 verification against a dummy hash (ENU-2),
    /// and every refusal is the same [`Error::InvalidCredentials`] (ENU-3). A successful
    /// password does not touch the code failure counter (RL-3); a password hash made with
    /// weaker parameters than the live ones is replaced.
    ///
    /// Wrong passwords count on the admin's password limiter, which the link's
    /// email-and-password step shares (RST-1): from
    /// [`LifecycleConfig::password_delay_after`](admin_mfa_lifecycle::LifecycleConfig::password_delay_after)
    /// consecutive failures, password attempts are refused unchecked (same error, a dummy
    /// verification for the same timing) until a doubling delay passes. It never locks, so
    /// spraying passwords cannot lock the account or its MFA (RL-4, T-RL-5); a correct
    /// password clears it. Every counted or refused attempt is audited, without the password.
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
        let check = PasswordCheck::Login;
        let throttled = found
            .as_ref()
            .is_some_and(|a| self.password_throttled(&a.value));
        // Inside a password delay the real hash is not checked; the dummy verification keeps
        // the answer and its timing the same as for a wrong password or an unknown account.
        let stored = found
            .as_ref()
            .filter(|_| !throttled)
            .map(|a| &a.value.password_hash);
        let verification = match self.passwords.verify(stored, password).await {
            Ok(v) => v,
            Err(PasswordError::MalformedHash) => {
                tracing::warn!("stored password hash is malformed; login refused");
                return Err(Error::InvalidCredentials);
            }
            Err(e) => return Err(Error::Password(Box::new(e))),
        };
        let found = match found {
            Some(found) if throttled => {
                self.record_password(&found.value, Command::PasswordThrottled { check })
                    .await?;
                tracing::info!(org = %org, "login refused");
                return Err(Error::InvalidCredentials);
            }
            Some(found) if !verification.is_match() => {
                self.record_password(&found.value, Command::PasswordFailed { check })
                    .await?;
                tracing::info!(org = %org, "login refused");
                return Err(Error::InvalidCredentials);
            }
            Some(found) => found,
            None => {
                tracing::info!(org = %org, "login refused");
                return Err(Error::InvalidCredentials);
            }
        };
        if found.value.mfa.password_failures != PasswordFailures::default() {
            self.record_password(&found.value, Command::PasswordAccepted)
                .await?;
        }
        let admin = found.value;
        let verified_hash = admin.password_hash.clone();
        let rehash = verification.into_rehash();
        let needs_setup = admin.mfa.login_step() == LoginStep::SetupRequired;
        // An abandoned link past its expiry (and its candidate secret) is collected here, at
        // the admin's next login (T-ENR-8): it could no longer be used anyway.
        let stale_link = admin
            .mfa
            .link
            .as_ref()
            .is_some_and(|l| l.is_expired(self.clock.now()));
        let applied = if rehash.is_some() || needs_setup || stale_link {
            self.mutate(admin.org, admin.id, Some(admin.id), |next, now| {
                apply_rehash(next, &verified_hash, rehash.as_ref());
                let in_flight = next
                    .mfa
                    .live_link(now)
                    .is_some_and(|l| l.candidate.is_some());
                if next.mfa.login_step() == LoginStep::SetupRequired && !in_flight {
                    Ok(Some(Command::IssueSetupLink {
                        fresh: self.fresh()?,
                    }))
                } else if next.mfa.link.as_ref().is_some_and(|l| l.is_expired(now)) {
                    Ok(Some(Command::Expire))
                } else {
                    Ok(None)
                }
            })
            .await?
            .admin
        } else {
            Outline::from(&admin)
        };
        let now = self.clock.now();
        let outcome = match applied.login_step {
            LoginStep::Complete => LoginOutcome::Authenticated(Authenticated {
                admin: applied.id,
                org: applied.org,
                factors: vec![FactorKind::Password],
                authenticated_at: now,
                credential_epoch: applied.credential_epoch,
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
        let applied = self
            .mutate_at_epoch(
                challenge.org,
                challenge.admin,
                challenge.credential_epoch,
                |_| {
                    Ok(Command::Verify {
                        code: Code::new(code),
                    })
                },
            )
            .await?;
        let verified_at = applied.events.iter().find_map(|e| match e {
            Event::Verified { at, .. } => Some(*at),
            _ => None,
        });
        match verified_at {
            Some(at) => Ok(Authenticated {
                admin: applied.admin.id,
                org: applied.admin.org,
                factors: vec![FactorKind::Password, FactorKind::Totp],
                authenticated_at: at,
                credential_epoch: applied.admin.credential_epoch,
            }),
            None => Err(Error::InvalidCode),
        }
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
        let applied = self
            .mutate_at_epoch(session.org, session.admin, session.credential_epoch, |_| {
                Ok(Command::Verify {
                    code: Code::new(code),
                })
            })
            .await?;
        for event in &applied.events {
            match event {
                Event::Verified { at, .. } => {
                    return Ok(Authenticated {
                        admin: applied.admin.id,
                        org: applied.admin.org,
                        factors: vec![FactorKind::Password, FactorKind::Totp],
                        authenticated_at: *at,
                        credential_epoch: applied.admin.credential_epoch,
                    });
                }
                Event::Delayed { until, .. } => return Err(Error::RetryLater { retry_at: *until }),
                _ => {}
            }
        }
        Err(Error::InvalidCode)
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
        self.mutate_at_epoch(
            challenge.org,
            challenge.admin,
            challenge.credential_epoch,
            |admin| {
                self.authorize_self_service(admin, &Action::ResetOwnTotp)?;
                Ok(Command::RequestReset {
                    fresh: self.fresh()?,
                })
            },
        )
        .await?;
        Ok(())
    }

    /// Runs the command `command` picks on the admin behind a challenge or session issued at
    /// credential epoch `epoch`, as that admin: a changed epoch, a removed admin or a removed
    /// factor all mean the challenge or session is dead.
    async fn mutate_at_epoch<F>(
        &self,
        org: OrgId,
        admin: AdminId,
        epoch: u64,
        mut command: F,
    ) -> Result<Applied>
    where
        F: FnMut(&Admin) -> Result<Command>,
    {
        self.mutate(org, admin, Some(admin), |current, _| {
            if current.mfa.credential_epoch != epoch {
                return Err(Error::SessionExpired);
            }
            command(current).map(Some)
        })
        .await
        .map_err(|e| match e {
            Error::NotFound | Error::NotApplicable(TransitionError::NoActiveFactor) => {
                Error::SessionExpired
            }
            other => other,
        })
    }
}

impl MfaService {
    /// Whether password attempts on `admin` are inside a password-limiter delay now.
    pub(super) fn password_throttled(&self, admin: &Admin) -> bool {
        admin
            .mfa
            .password_failures
            .delayed_until(self.clock.now(), self.config.lifecycle())
            .is_some()
    }

    /// Records a password outcome for `admin` on the password limiter (one CAS write, retried
    /// on conflicts so that no failure is lost). The audit names no actor for failures: the
    /// caller is not authenticated.
    pub(super) async fn record_password(&self, admin: &Admin, command: Command) -> Result<()> {
        let actor = matches!(command, Command::PasswordAccepted).then_some(admin.id);
        self.mutate(admin.org, admin.id, actor, |_, _| Ok(Some(command.clone())))
            .await
            .map_err(|e| match e {
                Error::NotFound => Error::InvalidCredentials,
                other => other,
            })?;
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
