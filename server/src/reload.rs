//! SIGHUP reloads the rules: each signal sends `reload_rules` as `system` through the engine (on
//! a blocking thread, like every engine call) and logs the outcome, the versions and what moved,
//! or every diagnostic. The server keeps serving either way: a refused pack leaves the old one in
//! force.

use std::sync::Arc;

use distributary::{
    command::{Command, NoArgs},
    flow::SYSTEM_ACTOR,
    Engine, Envelope,
};
use serde_json::Value;

/// The SIGHUP handler, installed when the server binds (before it says where it listens), so a
/// SIGHUP from then on reloads and never ends the process.
pub(crate) struct Hangup {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangup {
    /// Installs the handler; one that cannot be installed is logged and SIGHUP is not listened
    /// for. Must run inside a Tokio runtime.
    pub(crate) fn listen() -> Hangup {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let signal = signal(SignalKind::hangup())
                .map_err(|error| tracing::error!(%error, "cannot listen for SIGHUP"))
                .ok();
            Hangup { signal }
        }
        #[cfg(not(unix))]
        Hangup {}
    }

    /// Reloads the rules on each SIGHUP, one reload at a time, until the task is dropped.
    pub(crate) async fn serve(self, engine: Arc<Engine>) {
        #[cfg(unix)]
        if let Some(mut signal) = self.signal {
            while signal.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the rules");
                reload(engine.clone()).await;
            }
        }
        #[cfg(not(unix))]
        let _ = engine;
    }
}

/// Sends `reload_rules` as `system` and logs what came of it.
async fn reload(engine: Arc<Engine>) {
    let envelope = Envelope {
        id: Value::Null,
        actor: SYSTEM_ACTOR.to_owned(),
        user: None,
        at: None,
        key: None,
        command: Command::ReloadRules(NoArgs {}),
        fingerprint: None,
    };
    let outcome = tokio::task::spawn_blocking(move || engine.execute(&envelope)).await;
    match outcome {
        Ok(Ok(reloaded)) => {
            let text = |key: &str| reloaded.get(key).and_then(Value::as_str).unwrap_or("");
            let migrated = reloaded.get("migrated").cloned().unwrap_or_default();
            tracing::info!(
                version = text("version"),
                previous = text("previous"),
                %migrated,
                "rules reloaded"
            );
        }
        Ok(Err(error)) => {
            let details = error.to_json();
            tracing::error!(
                code = error.code().as_str(),
                message = error.message(),
                "rules not reloaded; the old pack stays"
            );
            let diagnostics = details.get("diagnostics").and_then(Value::as_array);
            for diagnostic in diagnostics.into_iter().flatten() {
                let field = |key: &str| diagnostic.get(key).cloned().unwrap_or(Value::Null);
                tracing::error!(
                    code = %field("code"),
                    path = %field("path"),
                    line = %field("line"),
                    column = %field("column"),
                    message = %field("message"),
                    help = %field("help"),
                    "rule pack diagnostic"
                );
            }
            if let Some(states) = details.get("states") {
                tracing::error!(%states, "live entities in states the new pack does not declare");
            }
        }
        Err(error) => tracing::error!(%error, "the reload did not finish"),
    }
}
