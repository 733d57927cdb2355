//! The emailed link: open (GET), confirm email and password (new QR), complete with a code.

use admin_mfa_lifecycle::{
    Admin, Code, Command, Email, Event, LinkPurpose, LinkToken, Nonce, PasswordCheck,
    PasswordFailures, TokenHash, TotpSecret, TransitionError,
};
use admin_mfa_policy::Action;
use admin_mfa_ports::Versioned;
use admin_mfa_totp::OtpauthUri;

use super::login::apply_rehash;
use super::types::{LinkInfo, Provisioning, SetupComplete};
use super::{MfaService, random};
use crate::error::{Error, Result};
use crate::password::{Password, PasswordError};

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
    /// The password is verified against the link holder only when the link is valid and
    /// the email is theirs; otherwise against a dummy hash, so the answer and its timing
    /// are the same for every refusal (ENU-1, ENU-2). A wrong password for the link's holder
    /// counts on the holder's password limiter, shared with [`MfaService::login`] (RST-1,
    /// T-RST-2); inside its delay the step is refused unchecked with the same error.
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
        let holder = self
            .link_holder(token)
            .await?
            .filter(|(admin, hash, purpose)| {
                admin.value.mfa.check_link(*purpose, hash, now).is_ok()
                    && email.as_ref() == Some(&admin.value.email)
            });
        let throttled = holder
            .as_ref()
            .is_some_and(|(a, _, _)| self.password_throttled(&a.value));
        // Inside a password delay the holder's hash is not checked (a dummy verification
        // keeps the timing); the delay is shared with login (RST-1).
        let stored = holder
            .as_ref()
            .filter(|_| !throttled)
            .map(|(a, _, _)| &a.value.password_hash);
        let verification = match self.passwords.verify(stored, password).await {
            Ok(v) => v,
            Err(PasswordError::MalformedHash) => return Err(Error::InvalidCredentials),
            Err(e) => return Err(Error::Password(Box::new(e))),
        };
        let (admin, hash, purpose) = match holder {
            Some((admin, _, purpose)) if throttled || !verification.is_match() => {
                let check = PasswordCheck::Link(purpose);
                let command = if throttled {
                    Command::PasswordThrottled { check }
                } else {
                    Command::PasswordFailed { check }
                };
                self.record_password(&admin.value, command).await?;
                tracing::info!("link identity step refused");
                return Err(Error::InvalidCredentials);
            }
            Some(holder) => holder,
            None => {
                tracing::info!("link identity step refused");
                return Err(Error::InvalidCredentials);
            }
        };
        if admin.value.mfa.password_failures != PasswordFailures::default() {
            self.record_password(&admin.value, Command::PasswordAccepted)
                .await?;
        }
        let admin = admin.value;
        self.authorize_self_service(&admin, &self_service_action(purpose))?;
        let secret = TotpSecret::try_generate().map_err(|_| Error::Rng)?;
        let verified_hash = admin.password_hash.clone();
        let rehash = verification.into_rehash();
        let applied = self
            .mutate(admin.org, admin.id, Some(admin.id), |next, _| {
                if next.password_hash != verified_hash
                    && rehash.as_ref() != Some(&next.password_hash)
                {
                    // The password changed while we verified it.
                    return Err(Error::InvalidCredentials);
                }
                apply_rehash(next, &verified_hash, rehash.as_ref());
                Ok(Some(Command::ConfirmIdentity {
                    purpose,
                    token_hash: hash,
                    secret: secret.clone(),
                    nonce: Nonce::from_bytes(*random::<12>()?),
                }))
            })
            .await
            .map_err(|e| match e {
                Error::NotFound | Error::NotApplicable(_) => Error::InvalidCredentials,
                other => other,
            })?;
        let uri = OtpauthUri::new(
            self.config.issuer(),
            applied.admin.email.as_str(),
            secret,
            *self.config.totp(),
        )
        .map_err(|_| Error::InvalidInput("the account name does not fit an otpauth uri"))?;
        tracing::info!(admin = %applied.admin.id, purpose = %purpose, "new secret issued for enrolment");
        Ok(Provisioning { uri, purpose })
    }

    /// The link's last step ("Submit"): a correct code for the candidate activates it,
    /// consumes the code's step (VER-2) and the link, moves the credential epoch on (so
    /// older sessions fail [`MfaService::is_current`]) and queues the confirmation e-mail,
    /// all in one store write. A self-service reset replaces the old factor only here.
    /// No session is created: the admin logs in normally next (RST-4).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCode`] for a wrong, replayed or delayed code and for a link that is
    /// unknown, expired, used or not yet confirmed (one answer for all); infrastructure
    /// errors.
    pub async fn complete_setup(&self, token: &str, code: &str) -> Result<SetupComplete> {
        let Some((admin, hash, purpose)) = self.link_holder(token).await? else {
            return Err(Error::InvalidCode);
        };
        let admin = admin.value;
        self.authorize_self_service(&admin, &self_service_action(purpose))?;
        let applied = self
            .mutate(admin.org, admin.id, Some(admin.id), |_, _| {
                Ok(Some(Command::CompleteSetup {
                    purpose,
                    token_hash: hash,
                    code: Code::new(code),
                }))
            })
            .await
            .map_err(|e| match e {
                Error::NotFound
                | Error::NotApplicable(
                    TransitionError::InvalidLink(_) | TransitionError::NoCandidate,
                ) => Error::InvalidCode,
                other => other,
            })?;
        if applied.has(|e| matches!(e, Event::Enrolled { .. })) {
            Ok(SetupComplete {
                admin: admin.id,
                purpose,
            })
        } else {
            Err(Error::InvalidCode)
        }
    }
}
