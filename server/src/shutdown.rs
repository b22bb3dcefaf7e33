//! Stopping: the signals that stop a server (SIGTERM, Ctrl-C), and readiness (`/readyz`), which
//! turns false the moment a stop begins so a load balancer sends no more.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

/// Whether the server takes requests: true while it serves, false before and once it stops.
#[derive(Debug, Clone, Default)]
pub(crate) struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub(crate) fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }

    pub(crate) fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Completes on SIGTERM (Unix) or Ctrl-C. A signal handler that cannot be installed is logged
/// and that signal is not waited for.
pub async fn terminated() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("interrupted"),
        () = terminate => tracing::info!("SIGTERM"),
    }
}
