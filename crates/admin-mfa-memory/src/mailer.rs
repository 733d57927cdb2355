use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use admin_mfa_ports::{EmailMessage, MailError, Mailer};
use async_trait::async_trait;

/// A [`Mailer`] that records every message it delivers, and can be told to fail or hang
/// on the next sends: the mailer of tests, examples and the quickstart.
///
/// ```
/// use admin_mfa_memory::RecordingMailer;
///
/// let mailer = RecordingMailer::new();
/// mailer.fail_next(2);     // the next two sends fail with a transient error
/// mailer.hang_next(1);     // the one after never completes (a dispatcher's timeout ends it)
/// assert_eq!(mailer.attempts(), 0);
/// ```
///
/// The recorded messages hold live links: keep this mailer out of production.
#[derive(Debug, Default)]
pub struct RecordingMailer {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    sent: Vec<EmailMessage>,
    attempts: usize,
    script: VecDeque<Behaviour>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    FailTransient,
    FailPermanent,
    Hang,
}

/// The error a [`RecordingMailer`] reports when told to fail.
#[derive(Debug, thiserror::Error)]
#[error("the recording mailer was told to fail this send")]
pub struct ScriptedFailure;

impl RecordingMailer {
    /// A mailer that delivers every message.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn script(&self, behaviour: Behaviour, n: usize) {
        self.state()
            .script
            .extend(std::iter::repeat_n(behaviour, n));
    }

    /// The next `n` sends fail with [`MailError::Transient`].
    pub fn fail_next(&self, n: usize) {
        self.script(Behaviour::FailTransient, n);
    }

    /// The next `n` sends fail with [`MailError::Permanent`].
    pub fn fail_permanently_next(&self, n: usize) {
        self.script(Behaviour::FailPermanent, n);
    }

    /// The next `n` sends never complete.
    pub fn hang_next(&self, n: usize) {
        self.script(Behaviour::Hang, n);
    }

    /// The messages delivered so far, in order.
    #[must_use]
    pub fn sent(&self) -> Vec<EmailMessage> {
        self.state().sent.clone()
    }

    /// How many times [`Mailer::send`] was called, failures and hangs included.
    #[must_use]
    pub fn attempts(&self) -> usize {
        self.state().attempts
    }

    /// The link token of the newest delivered message to `to` that carries a setup or reset
    /// link, as [`open_link`], `confirm_identity` and `complete_setup` take it; `None` if no
    /// such message reached that address. The address is compared as the service stores it
    /// (trimmed, lower case).
    ///
    /// [`open_link`]: https://docs.rs/admin-mfa/latest/admin_mfa/struct.MfaService.html#method.open_link
    #[must_use]
    pub fn last_link_token(&self, to: &str) -> Option<String> {
        let to = to.trim().to_ascii_lowercase();
        self.state()
            .sent
            .iter()
            .rev()
            .filter(|m| m.to.as_str() == to)
            .find_map(|m| token_in(&m.text))
    }

    /// Forgets the delivered messages (the attempt count and the script stay).
    pub fn clear(&self) {
        self.state().sent.clear();
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        let behaviour = {
            let mut state = self.state();
            state.attempts += 1;
            let behaviour = state.script.pop_front();
            if behaviour.is_none() {
                state.sent.push(message.clone());
            }
            behaviour
        };
        match behaviour {
            None => Ok(()),
            Some(Behaviour::FailTransient) => Err(MailError::Transient(Box::new(ScriptedFailure))),
            Some(Behaviour::FailPermanent) => Err(MailError::Permanent(Box::new(ScriptedFailure))),
            Some(Behaviour::Hang) => std::future::pending().await,
        }
    }
}

/// The token of the first link in an e-mail body: the URL-safe characters after `token=`.
fn token_in(text: &str) -> Option<String> {
    let start = text.find("token=")? + "token=".len();
    let token: String = text
        .get(start..)?
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use admin_mfa_lifecycle::{AdminId, DedupeKey, Email, NotificationKind};

    use super::*;

    fn message(to: &str, text: &str, n: u8) -> EmailMessage {
        EmailMessage {
            to: Email::parse(to).unwrap(),
            subject: "s".to_owned(),
            text: text.to_owned(),
            html: String::new(),
            idempotency_key: DedupeKey::new(
                AdminId::from_bytes([n; 16]),
                NotificationKind::SetupInvitation,
                n,
            ),
        }
    }

    #[test]
    fn last_link_token_is_the_newest_link_to_that_address() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(last_link_token_cases());
    }

    async fn last_link_token_cases() {
        let mailer = RecordingMailer::new();
        assert_eq!(mailer.last_link_token("ada@example.com"), None);
        let link = |t: &str| format!("Open https://admin.example.com/mfa?token={t}\nThanks");
        mailer
            .send(&message("ada@example.com", &link("first_-1"), 1))
            .await
            .unwrap();
        mailer
            .send(&message("bob@example.com", &link("bobs"), 2))
            .await
            .unwrap();
        mailer
            .send(&message("ada@example.com", "No link here", 3))
            .await
            .unwrap();
        mailer
            .send(&message("ada@example.com", &link("second-2"), 4))
            .await
            .unwrap();
        mailer
            .send(&message("ada@example.com", "Set up done", 5))
            .await
            .unwrap();
        assert_eq!(
            mailer.last_link_token(" Ada@Example.com ").as_deref(),
            Some("second-2")
        );
        assert_eq!(
            mailer.last_link_token("bob@example.com").as_deref(),
            Some("bobs")
        );
        assert_eq!(mailer.last_link_token("eve@example.com"), None);
    }
}
