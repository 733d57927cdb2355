//! [`spawn_dispatcher`]: the e-mail outbox delivered in the background.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use admin_mfa::MfaService;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// Delivers the outbox every `interval` until `shutdown` completes, on a tokio task.
///
/// Each tick runs [`MfaService::dispatch_emails`] and logs one line with its counts (at
/// `info` when it leased anything, `debug` when the outbox was idle, `warn` when the store
/// failed; the next tick retries). A slow run delays the next tick instead of piling runs
/// up. On shutdown the task finishes the run in progress, if any, and ends; await the
/// handle to know it has. Several replicas may run one each: leases keep them apart.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// # use admin_mfa::lifecycle::{KeyId, KeyRing, SealingKey};
/// # use admin_mfa::ports::SystemClock;
/// # use admin_mfa::{MfaConfig, MfaService};
/// # use admin_mfa_memory::{MemoryStore, RecordingMailer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let service = Arc::new(MfaService::builder(
/// #     MfaConfig::builder("ACME", "https://admin.example.com/mfa").build()?,
/// #     Arc::new(MemoryStore::new()), Arc::new(RecordingMailer::new()), Arc::new(SystemClock),
/// #     Arc::new(KeyRing::new(SealingKey::new(KeyId::new(1), [7; 32]))),
/// # ).build());
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let dispatcher = admin_mfa_axum::spawn_dispatcher(service, Duration::from_secs(5), async {
///     let _ = stopped.await;
/// });
/// // ... serve requests; then, at shutdown:
/// let _ = stop.send(());
/// dispatcher.await?;
/// # Ok(())
/// # }
/// ```
pub fn spawn_dispatcher<F>(
    service: Arc<MfaService>,
    interval: Duration,
    shutdown: F,
) -> JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(1)));
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                _ = ticks.tick() => run_once(&service).await,
            }
        }
        tracing::info!("outbox dispatcher stopped");
    })
}

/// One dispatch run and its log line.
async fn run_once(service: &MfaService) {
    match service.dispatch_emails().await {
        Ok(report) if report.leased == 0 => {
            tracing::debug!("outbox idle");
        }
        Ok(report) => tracing::info!(
            leased = report.leased,
            sent = report.sent,
            retried = report.retried,
            dead = report.dead.len(),
            lost_leases = report.lost_leases,
            more = report.more,
            "outbox batch delivered"
        ),
        Err(error) => tracing::warn!(%error, "outbox dispatch failed; retrying at the next tick"),
    }
}
