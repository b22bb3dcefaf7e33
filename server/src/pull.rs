//! The periodic pull, the backstop of marketplace pushes: every interval, on a blocking thread,
//! `Engine::pull` syncs every connected shop's orders and retries the notices whose sync failed.
//! One pull runs at a time; the next waits a whole interval after it ends.

use std::{sync::Arc, time::Duration};

use distributary::Engine;

use crate::metrics::Metrics;

/// Runs pulls every `interval` until the task is aborted.
pub(crate) async fn run(engine: Arc<Engine>, metrics: Arc<Metrics>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let engine = engine.clone();
        match tokio::task::spawn_blocking(move || engine.pull()).await {
            Ok(Ok(report)) => {
                metrics.pulled(&report);
                tracing::info!(
                    shops_synced = report.shops_synced,
                    shops_failed = report.shops_failed,
                    notices_processed = report.notices_processed,
                    notices_failed = report.notices_failed,
                    "pull done"
                );
            }
            Ok(Err(error)) => tracing::warn!(%error, "pull failed"),
            Err(_) => tracing::warn!("pull did not finish"),
        }
    }
}
