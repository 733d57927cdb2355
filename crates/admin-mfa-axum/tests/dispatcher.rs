//! `spawn_dispatcher` on tokio's paused clock: it delivers what the outbox holds and stops
//! when told to. Waits are on conditions; the paused clock makes every tick deterministic.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    unreachable_pub,
    reason = "tests"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use admin_mfa_axum::spawn_dispatcher;
use admin_mfa_memory::{ManualClock, MemoryStore, RecordingMailer};
use common::*;

#[tokio::test(start_paused = true)]
async fn the_dispatcher_delivers_and_stops_on_shutdown() {
    let mailer = Arc::new(RecordingMailer::new());
    let clock = Arc::new(ManualClock::new(T0));
    let service = service(Arc::new(MemoryStore::new()), &mailer, &clock);
    bootstrap(&service).await;
    let _ = service.login(org(), ADA, &password()).await.unwrap();
    assert!(
        mailer.sent().is_empty(),
        "nothing is sent before the dispatcher runs"
    );

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = spawn_dispatcher(Arc::clone(&service), Duration::from_secs(5), async {
        let _ = stopped.await;
    });
    // Wait for the delivery, one tick of the paused clock at a time.
    let mut ticks = 0;
    while mailer.sent().is_empty() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        ticks += 1;
        assert!(ticks < 60, "the dispatcher never delivered");
    }
    assert!(mailer.sent()[0].text.contains("token="));

    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_dispatcher_stopped_before_its_first_tick_sends_nothing() {
    let mailer = Arc::new(RecordingMailer::new());
    let clock = Arc::new(ManualClock::new(T0));
    let service = service(Arc::new(MemoryStore::new()), &mailer, &clock);
    bootstrap(&service).await;
    let _ = service.login(org(), ADA, &password()).await.unwrap();
    // Shutdown is already complete: the biased select stops before any tick runs.
    let task = spawn_dispatcher(service, Duration::from_secs(5), async {});
    task.await.unwrap();
    assert!(mailer.sent().is_empty());
}
