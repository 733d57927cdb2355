//! The emailed link: open (GET), confirm email and password (new QR), complete with a code.

use admin_mfa_lifecycle::{
    Admin, Code, Command, Email, LinkPurpose, LinkToken, Nonce, OrgId, PasswordCheck, TokenHash,
    TotpSecret,
};
use admin_mfa_policy::Action;
use admin_mfa_ports::Versioned;
use admin_mfa_totp::OtpauthUri;

use super::MfaService;
use super::login::apply_rehash;
use super::types::{LinkInfo, Provisioning, SetupComplete};
use crate::error::{Error, Result};
use crate::password::Password;
use crate::session::SetupProof;

const fn self_service_action(purpose: LinkPurpose) -> Action {
    match purpose {
        LinkPurpose::Setup => Action::EnrollOwnTotp,
        LinkPurpose::Reset => Action::ResetOwnTotp,
    }
}

impl MfaService {
    /// The admin holding the pending link `token`, with the link's purpose, if the token
    /// parses and a link with its hash is pending.
    async fn link_holder(
        &self,
        token: &str,
    ) -> Result<Option<(Versioned<Admin>, TokenHash, LinkPurpose)>> {
        let Ok(token) = LinkToken::parse(token) else {
            return Ok(None);
        };
        let hash = token.hash();
        let Some(admin) = self.store.admin_by_token(&hash).await? else {
            return Ok(None);
        };
        let Some(purpose) = admin.value.mfa.link.as_ref().map(|l| l.purpose) else {
            return Ok(None);
        };
        Ok(Some((admin, hash, purpose)))
    }

    /// Opening a setup or reset link (GET): validates it and says what it is for. It never
    /// consumes the link and writes nothing, because mail scanners open links (TOK-3).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCredentials`] for a malformed, unknown, expired, used or stale link.
    pub async fn open_link(&self, token: &str) -> Result<LinkInfo> {
        let now = self.clock.now();
        let Some((admin, hash, purpose)) = self.link_holder(token).await? else {
            return Err(Error::InvalidCredentials);
        };
        match admin.value.mfa.check_link(purpose, &hash, now) {
            Ok(link) => Ok(LinkInfo {
                purpose,
                expires_at: link.expires_at,
            }),
            Err(_) => Err(Error::InvalidCredentials),
        }
    }

    /// The link's email-and-password step ("Set Up MFA" after entering both): draws a new
    /// secret, stores it sealed as the link's candidate and returns it, once, for the QR
    /// page. A newer confirmation replaces an older candidate (D5). The link stays
    /// pending until [`MfaService::complete_setup`]; a self-service reset keeps the old
    /// factor working meanwhile (RST-3).
    ///
    /// The returned [`Provisioning`] carries a [`SetupProof`]: [`MfaService::complete_setup`]
    /// needs it beside the token, so the token alone cannot drive the code step (SETUP-1).
    ///
    /// The password is verified against the link holder only when the link is valid and
    /// the email is theirs; otherwise against a dummy hash, after the same one store write,
    /// so the answer and its timing are the same for every refusal (ENU-1, ENU-2, ENU-4). An
    /// attempt for the link's holder is counted on the holder's password limiter before the
    /// hash is checked (RL-8), shared with [`MfaService::login`] (RST-1, T-RST-2); inside
    /// its delay the step is refused unchecked with the same error.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCredentials`] for any refusal; [`Error::Forbidden`] if the policy
    /// forbids the self-service action; infrastructure errors.
    pub async fn confirm_identity(
        &self,
        token: &str,
        email: &str,
        password: &Password,
    ) -> Result<Provisioning> {
        let now = self.clock.now();
        let email = Email::parse(email).ok();
        let holder = self.link_holder(token).await?;
        // The org the refused attempt is audited in: the token's holder's, or none at all
        // (the nil id) for a token nobody holds.
        let org = holder
            .as_ref()
            .map_or(OrgId::from_bytes([0; 16]), |(admin, _, _)| admin.value.org);
        let holder = holder.filter(|(admin, hash, purpose)| {
            admin.value.mfa.check_link(*purpose, hash, now).is_ok()
                && email.as_ref() == Some(&admin.value.email)
        });
        let link = holder.as_ref().map(|(_, hash, purpose)| (*hash, *purpose));
        let holder = holder.map(|(admin, _, purpose)| (admin, PasswordCheck::Link(purpose)));
        let checked = self.check_password(org, holder, password).await?;
        let (Some(ok), Some((hash, purpose))) = (checked, link) else {
            tracing::info!("link identity step refused");
            return Err(Error::InvalidCredentials);
        };
        let secret = TotpSecret::from_bytes(&*self.random::<20>()?).map_err(|_| Error::Rng)?;
        let proof = SetupProof {
            secret: LinkToken::from_bytes(*self.random::<32>()?),
        };
        let proof_hash = proof.hash();
        let applied = self
            .mutate_from(ok.reserved, org, ok.id, Some(ok.id), |next, _| {
                if next.password_hash != ok.verified_hash
                    && ok.rehash.as_ref() != Some(&next.password_hash)
                {
                    // The password changed while we verified it.
                    return Err(Error::InvalidCredentials);
                }
                self.authorize_self_service(next, &self_service_action(purpose))?;
                apply_rehash(next, &ok.verified_hash, ok.rehash.as_ref());
                Ok(vec![
                    Command::PasswordAccepted,
                    Command::ConfirmIdentity {
                        purpose,
                        token_hash: hash,
                        secret: secret.clone(),
                        nonce: Nonce::from_bytes(*self.random::<12>()?),
                        proof: proof_hash,
                    },
                ])
            })
            .await
            .map_err(|e| e.or_generic(Error::InvalidCredentials))?;
        let uri = OtpauthUri::new(
            self.config.issuer(),
            applied.admin.email.as_str(),
            secret,
            *self.config.totp(),
        )
        .map_err(|_| Error::invalid("email", "does not fit an otpauth uri"))?;
        tracing::info!(admin = %applied.admin.id, purpose = %purpose, "new secret issued for enrolment");
        Ok(Provisioning {
            uri,
            purpose,
            proof,
        })
    }

    /// The link's last step ("Submit"): a correct code for the candidate activates it,
    /// consumes the code's step (VER-2) and the link, moves the credential epoch on (so
    /// older sessions fail [`MfaService::is_current`]) and queues the confirmation e-mail,
    /// all in one store write. A self-service reset replaces the old factor only here.
    /// No session is created: the admin logs in normally next (RST-4).
    ///
    /// The new factor comes with ten recovery codes ([`SetupComplete::recovery_codes`],
    /// unless [`MfaConfig::recovery_codes`](crate::MfaConfig::recovery_codes) is off): show
    /// them once, on the page that confirms the set-up. Any older set, and with a reset the
    /// old factor's set, stops working in the same write (REC-1, REC-4).
    ///
    /// `proof` is the one [`MfaService::confirm_identity`] returned with the QR code: the
    /// token alone is refused without anything being counted (SETUP-1). Wrong codes count on
    /// the link only; after [`LifecycleConfig::setup_attempts`](admin_mfa_lifecycle::LifecycleConfig::setup_attempts)
    /// of them the link and its candidate are voided. The active factor, its failure counter
    /// and its lock are never touched here (SETUP-2), so a reset in progress cannot be used to
    /// lock the factor that still works.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCode`] for a wrong code, a wrong or expired proof, and a link that is
    /// unknown, expired, used, voided or not yet confirmed (one answer for all);
    /// infrastructure errors.
    pub async fn complete_setup(
        &self,
        token: &str,
        proof: &SetupProof,
        code: &str,
    ) -> Result<SetupComplete> {
        let Some((admin, hash, purpose)) = self.link_holder(token).await? else {
            return Err(Error::InvalidCode);
        };
        let (org, id) = (admin.value.org, admin.value.id);
        // Drawn once: a retried write on fresh state stores the same set it returns.
        let recovery = self.recovery_codes_for_setup()?;
        let applied = self
            .mutate_from(Some(admin), org, id, Some(id), |admin, _| {
                self.authorize_self_service(admin, &self_service_action(purpose))?;
                Ok(vec![Command::CompleteSetup {
                    purpose,
                    token_hash: hash,
                    proof: proof.hash(),
                    code: Code::new(code),
                    recovery: recovery.clone(),
                }])
            })
            .await
            .map_err(|e| e.or_generic(Error::InvalidCode))?;
        if applied.enrolled() {
            Ok(SetupComplete {
                admin: id,
                purpose,
                recovery_codes: recovery,
            })
        } else {
            Err(Error::InvalidCode)
        }
    }
}
