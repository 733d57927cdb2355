//! `dispatch` without a usable timer: on a tokio runtime built without `enable_time`, and
//! outside any tokio runtime, it returns `DispatchFailure::NoTimeDriver` instead of
//! panicking, and leases nothing (the entry stays pending for a proper run).
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use admin_mfa::{
    DispatchConfig, DispatchError, DispatchFailure, DispatchReport, EmailConfig, EmailRenderer,
    dispatch,
};
use admin_mfa_lifecycle::{
    AdminId, DedupeKey, Email, KeyId, KeyRing, Notification, NotificationKind, OrgId, SealingKey,
    UnixTime,
};
use admin_mfa_memory::{ManualClock, MemoryStore, RecordingMailer};
use admin_mfa_ports::{AdminStore, Change};

const T0: u64 = 1_700_000_000;

struct World {
    store: MemoryStore,
    mailer: RecordingMailer,
    clock: ManualClock,
    keys: KeyRing,
    renderer: EmailRenderer,
}

impl World {
    fn new() -> Self {
        Self {
            store: MemoryStore::new(),
            mailer: RecordingMailer::new(),
            clock: ManualClock::new(UnixTime::from_secs(T0)),
            keys: KeyRing::new(SealingKey::new(KeyId::new(1), [7; 32])),
            renderer: EmailRenderer::new(
                EmailConfig::builder("Acme", "https://admin.acme.example/mfa")
                    .build()
                    .unwrap(),
            ),
        }
    }

    async fn queue_one(&self) {
        let admin = AdminId::from_bytes([1; 16]);
        let n = Notification {
            kind: NotificationKind::SetupCompleted,
            org: OrgId::from_bytes([2; 16]),
            admin,
            to: Email::parse("ada@acme.example").unwrap(),
            display_name: "Ada".to_owned(),
            link: None,
            link_purpose: None,
            link_expires_at: None,
            created_at: UnixTime::from_secs(T0),
            dedupe_key: DedupeKey::new(admin, NotificationKind::SetupCompleted, "epoch-1"),
            detail: None,
        };
        self.store.commit(Change::new().notify([n])).await.unwrap();
    }

    async fn run(&self) -> Result<DispatchReport, DispatchError> {
        dispatch(
            &self.store,
            &self.mailer,
            &self.clock,
            &self.keys,
            &self.renderer,
            &DispatchConfig::default(),
        )
        .await
    }
}

fn assert_no_timer(result: Result<DispatchReport, DispatchError>) {
    match result {
        Err(DispatchError {
            report,
            source: DispatchFailure::NoTimeDriver,
        }) => {
            assert_eq!(report.leased, 0, "nothing leased");
        }
        other => panic!("expected NoTimeDriver, got {other:?}"),
    }
}

#[test]
fn a_runtime_without_a_time_driver_is_a_typed_error() {
    let world = World::new();
    let no_time = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    no_time.block_on(world.queue_one());
    let result = no_time.block_on(world.run());
    assert_no_timer(result);
    let err = no_time.block_on(world.run()).unwrap_err();
    assert!(err.to_string().contains("time driver"), "{err}");
    // The entry is still pending: a run on a proper runtime delivers it.
    let with_time = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let report = with_time.block_on(world.run()).unwrap();
    assert_eq!(report.sent, 1);
    assert_eq!(world.mailer.sent().len(), 1);
}

#[test]
fn outside_any_tokio_runtime_is_a_typed_error() {
    let world = World::new();
    // Poll by hand, with no runtime entered: the check runs before the first await.
    let mut run = pin!(world.run());
    let mut cx = Context::from_waker(Waker::noop());
    match run.as_mut().poll(&mut cx) {
        Poll::Ready(result) => assert_no_timer(result),
        Poll::Pending => panic!("the missing runtime must be reported at once"),
    }
}
