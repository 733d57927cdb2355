//! Recovery codes at the MFA prompt, and a new set on the admin's own request (REC-1..REC-6).

use admin_mfa_lifecycle::{
    Code, Command, RECOVERY_CODE_BYTES, RECOVERY_CODES, RecoveryCode, RecoveryCodes,
};
use admin_mfa_policy::Action;

use super::MfaService;
use crate::error::{Error, Result};
use crate::session::{Authenticated, MfaChallenge};

impl MfaService {
    /// The code step of a login with a recovery code instead of a TOTP code, for an admin
    /// whose authenticator is lost: a right, unused code of the admin's set turns the
    /// challenge into an [`Authenticated`] session with factors `[Password, RecoveryCode]`.
    ///
    /// A separate call from [`MfaService::verify`] on purpose: a host offers it behind its
    /// own "Use a recovery code" form, the audit log and the session say which factor signed
    /// in, and a TOTP field can never spend a recovery code by accident.
    ///
    /// - The code is typed as shown (`ABCD-EFGH-JKLM-NPQR`); case, spaces and dashes do not
    ///   matter.
    /// - Each code works once, in any order: the code's hash leaves the stored set in the
    ///   same compare-and-swap write that accepts it, so two concurrent uses of one code get
    ///   one session (REC-3).
    /// - Wrong, malformed and used codes count on the same failure counter as wrong TOTP
    ///   codes, with the same delays and lock, and get the same [`Error::InvalidCode`].
    /// - A used code e-mails the admin how many codes are left, with a warning at two or
    ///   fewer, and is audited ([`AuditKind::RecoveryCodeUsed`](crate::AuditKind::RecoveryCodeUsed)), REC-5.
    ///
    /// With recovery codes switched off ([`MfaConfig::recovery_codes`](crate::MfaConfig::recovery_codes)),
    /// every code is refused with [`Error::InvalidCode`] and nothing is read or counted.
    ///
    /// ```no_run
    /// # async fn f(service: &admin_mfa::MfaService, challenge: &admin_mfa::MfaChallenge) -> admin_mfa::Result<()> {
    /// use admin_mfa::FactorKind;
    ///
    /// let session = service.verify_recovery_code(challenge, "abcd efgh jkmn pqrs").await?;
    /// assert_eq!(session.factors(), [FactorKind::Password, FactorKind::RecoveryCode]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`MfaService::verify`]: [`Error::InvalidCode`] for any refused code;
    /// [`Error::SessionExpired`] for a dead challenge; [`Error::Store`] (nothing counted,
    /// nothing used up) and [`Error::Seal`] (the key the set was made under is no longer in
    /// the ring) for infrastructure failures.
    pub async fn verify_recovery_code(
        &self,
        challenge: &MfaChallenge,
        code: &str,
    ) -> Result<Authenticated> {
        if self.clock.now() >= challenge.expires_at {
            return Err(Error::SessionExpired);
        }
        if !self.config.recovery_codes() {
            tracing::info!(admin = %challenge.admin, "recovery code refused: switched off");
            return Err(Error::InvalidCode);
        }
        let (org, admin, epoch) = (challenge.org, challenge.admin, challenge.credential_epoch);
        // As the code step of `verify`: a changed epoch, a removed admin or a removed factor
        // all mean the challenge is dead.
        let applied = self
            .mutate(org, admin, Some(admin), |current, _| {
                if current.mfa.credential_epoch != epoch {
                    return Err(Error::SessionExpired);
                }
                Ok(vec![Command::VerifyRecoveryCode {
                    code: Code::new(code),
                }])
            })
            .await
            .map_err(|e| e.or_generic(Error::SessionExpired))?;
        applied.session().ok_or(Error::InvalidCode)
    }

    /// A new set of ten recovery codes for the signed-in admin's own factor, replacing the
    /// whole old set (REC-4); returned once, to be shown once.
    ///
    /// The session must be the admin's own, current, and no older than
    /// [`MfaConfig::max_auth_age_secs`](crate::MfaConfig::max_auth_age_secs) (as for every
    /// MFA change); the policy gates it like enrolling one's own factor (`enroll-own-totp`).
    /// Only the admin can do it: there is no call to make codes for someone else. Audited
    /// with the count only.
    ///
    /// ```no_run
    /// # async fn f(service: &admin_mfa::MfaService, session: &admin_mfa::Authenticated) -> admin_mfa::Result<()> {
    /// let codes = service.regenerate_recovery_codes(session).await?;
    /// for line in codes.formatted() {
    ///     println!("{}", line.as_str()); // shown once, e.g. `7KQ2-MWXD-9FHT-3RPA`
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::RecoveryCodesOff`] when switched off; [`Error::SessionExpired`] or
    /// [`Error::ReauthRequired`] for the session; [`Error::NotApplicable`] without an active
    /// factor; [`Error::Forbidden`] if a custom policy forbids `enroll-own-totp`;
    /// infrastructure errors.
    pub async fn regenerate_recovery_codes(
        &self,
        session: &Authenticated,
    ) -> Result<RecoveryCodes> {
        if !self.config.recovery_codes() {
            return Err(Error::RecoveryCodesOff);
        }
        let subject = self.actor(session, true).await?;
        let codes = self.new_recovery_codes()?;
        let (org, id) = (subject.org, subject.id);
        self.mutate(org, id, Some(id), |admin, _| {
            if admin.mfa.credential_epoch != session.credential_epoch {
                return Err(Error::SessionExpired);
            }
            self.authorize_self_service(admin, &Action::EnrollOwnTotp)?;
            Ok(vec![Command::RegenerateRecoveryCodes {
                codes: codes.clone(),
            }])
        })
        .await?;
        tracing::info!(admin = %id, "recovery codes replaced");
        Ok(codes)
    }

    /// How many unused recovery codes the signed-in admin has (to show "3 left, make new
    /// ones" in a host's account page).
    ///
    /// # Errors
    ///
    /// [`Error::SessionExpired`] for a revoked session; [`Error::Store`].
    pub async fn recovery_codes_left(&self, session: &Authenticated) -> Result<usize> {
        let admin = self.actor(session, false).await?;
        Ok(admin.mfa.recovery_codes_left())
    }

    /// A new set of recovery codes from the random source, if the host has them on.
    pub(super) fn recovery_codes_for_setup(&self) -> Result<Option<RecoveryCodes>> {
        if self.config.recovery_codes() {
            self.new_recovery_codes().map(Some)
        } else {
            Ok(None)
        }
    }

    /// [`RECOVERY_CODES`] codes of 80 bits each from the random source.
    fn new_recovery_codes(&self) -> Result<RecoveryCodes> {
        let mut codes = Vec::with_capacity(RECOVERY_CODES);
        for _ in 0..RECOVERY_CODES {
            let bytes = self.random::<RECOVERY_CODE_BYTES>()?;
            codes.push(RecoveryCode::from_random(&bytes));
        }
        Ok(RecoveryCodes::new(codes))
    }
}
