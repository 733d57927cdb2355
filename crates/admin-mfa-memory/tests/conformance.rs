//! The memory store runs the shared store conformance suite, and the recording mailer the
//! shared mailer conformance suite.

mod store {
    admin_mfa_testkit::store_conformance!(async { admin_mfa_memory::MemoryStore::new() });
}

mod mailer {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    use admin_mfa_memory::RecordingMailer;
    use admin_mfa_ports::{EmailMessage, Mailer};
    use admin_mfa_testkit::{Delivery, Failure, MailerHarness};

    /// The recording mailer; its receiver is its own record, and failures are scripted.
    #[derive(Debug, Default)]
    struct Recording(Arc<RecordingMailer>);

    impl MailerHarness for Recording {
        fn mailer(&self) -> Arc<dyn Mailer> {
            self.0.clone()
        }

        fn delivered(&self) -> Pin<Box<dyn Future<Output = Vec<Delivery>> + Send + '_>> {
            let delivered = self
                .0
                .sent()
                .into_iter()
                .map(|m| Delivery {
                    to: vec![m.to.as_str().to_owned()],
                    subject: m.subject,
                    text: m.text,
                    html: m.html,
                    idempotency: m.idempotency_key.as_str().to_owned(),
                })
                .collect();
            Box::pin(std::future::ready(delivered))
        }

        fn failing(&self, failure: Failure, message: EmailMessage) -> Option<EmailMessage> {
            match failure {
                Failure::Transient => self.0.fail_next(1),
                Failure::Permanent => self.0.fail_permanently_next(1),
                // A scripted hang never completes; the timeout is the dispatcher's.
                Failure::Timeout => return None,
            }
            Some(message)
        }
    }

    admin_mfa_testkit::mailer_conformance!(async { Recording::default() });
}
