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
