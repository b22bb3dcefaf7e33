//! The Distributary engine as a network service, `distributary serve` (docs/protocol.md, "HTTP"):
//! the host protocol over HTTP/1.1, the actor decided by a bearer token, concurrent requests
//! committed together.
//!
//! The rules of this crate:
//! - The engine stays synchronous. Every call into it runs on a blocking thread (the group
//!   committer's own, or `spawn_blocking`), never on the runtime's workers, so a long transaction stalls no
//!   connection. The one exception is the token check, a read on a connection of its own that
//!   never waits for a transaction (`Engine::authenticate_without_waiting`).
//! - An answer is sent only after the commit of its command, as `exec` does: whatever a client
//!   was answered `ok` survives a crash of the server.
//! - The token decides who acts; the body never widens it. A token is never logged.
//! - Every bound is named: body bytes, commands per request, connections, a group's size and
//!   its wait.
//!
//! One job per module: `http` (routes and answers), `auth` (the bearer token and the body's
//! actor), `group` (group commit), `metrics` (Prometheus text), `listener` (the connection
//! bound), `shutdown` (signals and readiness), `reload` (SIGHUP reloads the rules), `webhooks`
//! (marketplace pushes, authenticated by their signature), `pull` (the periodic pull of every
//! connected shop), `console`
//! (the web console at `/`, its own module tree).

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod auth;
mod console;
mod group;
mod http;
mod listener;
mod metrics;
mod pull;
mod reload;
mod shutdown;
mod webhooks;

use std::{future::Future, io, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use distributary::Engine;

pub use group::GroupOptions;
pub use shutdown::terminated;

/// The largest request body accepted by default: the engine's bound on one request line.
pub const BODY_BYTES_DEFAULT: usize = distributary::command::REQUEST_BYTES_MAX;
/// The most connections served at once by default; more wait to be accepted.
pub const CONNECTIONS_DEFAULT: usize = 1_024;
/// The most commands one request (a JSON array) may carry.
pub const REQUEST_COMMANDS_MAX: usize = 1_000;
/// How often connected shops are pulled by default, in seconds.
pub const PULL_INTERVAL_SECONDS_DEFAULT: u64 = 300;

/// How a server runs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Group commit, or `None` to run each request in a transaction of its own.
    pub group: Option<GroupOptions>,
    /// The largest request body, in bytes.
    pub body_bytes_max: usize,
    /// The most connections served at once.
    pub connections_max: usize,
    /// How often every connected shop's orders are pulled (and failed push notices retried);
    /// `None` pulls never.
    pub pull_interval: Option<Duration>,
    /// The store's file, or `None` for an in-memory store: the console's candidate pack check
    /// and backtest open it read only by path, never through the engine.
    pub store_path: Option<PathBuf>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            group: Some(GroupOptions::default()),
            body_bytes_max: BODY_BYTES_DEFAULT,
            connections_max: CONNECTIONS_DEFAULT,
            pull_interval: Some(Duration::from_secs(PULL_INTERVAL_SECONDS_DEFAULT)),
            store_path: None,
        }
    }
}

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: listener::Limited,
    state: Arc<http::State>,
    committer: Option<group::Committer>,
    hangup: reload::Hangup,
    pull_interval: Option<Duration>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free one; see [`Server::local_addr`]). Must run inside a
    /// Tokio runtime.
    pub async fn bind(
        engine: Arc<Engine>,
        addr: SocketAddr,
        options: ServerOptions,
    ) -> io::Result<Server> {
        let tcp = tokio::net::TcpListener::bind(addr).await?;
        let listener = listener::Limited::new(tcp, options.connections_max);
        let hangup = reload::Hangup::listen();
        let metrics = Arc::new(metrics::Metrics::default());
        let committer = options
            .group
            .clone()
            .map(|group| group::Committer::start(engine.clone(), group, metrics.clone()))
            .transpose()?;
        let state = Arc::new(http::State {
            engine,
            metrics,
            group: committer.as_ref().map(group::Committer::sender),
            body_bytes_max: options.body_bytes_max,
            ready: shutdown::Readiness::default(),
            touches: Arc::default(),
            store_path: options.store_path,
        });
        Ok(Server {
            listener,
            state,
            committer,
            hangup,
            pull_interval: options.pull_interval.filter(|interval| !interval.is_zero()),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `stop` completes, then stops accepting, lets the requests in flight finish
    /// (each answered after its commit) and returns. Each SIGHUP meanwhile reloads the rules.
    pub async fn run(self, stop: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
        let Server {
            listener,
            state,
            committer,
            hangup,
            pull_interval,
        } = self;
        let reloading = tokio::spawn(hangup.serve(state.engine.clone()));
        let pulling = pull_interval.map(|interval| {
            tokio::spawn(pull::run(
                state.engine.clone(),
                state.metrics.clone(),
                interval,
            ))
        });
        let ready = state.ready.clone();
        state.ready.set(true);
        let app = http::router(state);
        tracing::info!("serving");
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                stop.await;
                ready.set(false);
                tracing::info!("stopping: no new connections; finishing the requests in flight");
            })
            .await;
        reloading.abort();
        if let Some(pulling) = pulling {
            pulling.abort();
        }
        served?;
        if let Some(committer) = committer {
            committer.finish(SHUTDOWN_GROUP_WAIT).await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// A server running on a runtime thread of its own, for a host that is not async (a benchmark,
/// a test): stopped, as SIGTERM stops one, by [`Running::stop`].
pub struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl Running {
    /// Binds `addr` and serves on a new thread; answers once the server listens.
    pub fn start(
        engine: Arc<Engine>,
        addr: SocketAddr,
        options: ServerOptions,
    ) -> io::Result<Running> {
        let runtime = runtime()?;
        let (bound, listening) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let server = match Server::bind(engine, addr, options).await {
                    Ok(server) => server,
                    Err(error) => {
                        let _ = bound.send(Err(error));
                        return Ok(());
                    }
                };
                let _ = bound.send(server.local_addr());
                server
                    .run(async move {
                        let _ = stopped.await;
                    })
                    .await
            })
        });
        let addr = listening
            .recv()
            .map_err(|_| io::Error::other("the server thread ended before it listened"))??;
        Ok(Running {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, finishes the requests in flight, and waits for the server to end.
    pub fn stop(mut self) -> io::Result<()> {
        self.halt()
    }

    fn halt(&mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the server thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

/// The server's runtime: a worker thread per core but one, and at least one. The group
/// committer's thread is the serial stage (every write goes through it) and keeps a core busy
/// under load; a worker per core beside it left more runnable threads than cores, so the
/// committer waited its turn behind the workers that fed it (BENCHMARKS.md, "The server").
/// One worker is a current-thread runtime: the same one thread, without a work-stealing
/// scheduler's bookkeeping (on 2 cores it cost 12% less CPU an order over HTTP).
fn runtime() -> io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut builder = match workers_for(cores) {
        1 => tokio::runtime::Builder::new_current_thread(),
        workers => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(workers);
            builder
        }
    };
    builder.enable_all().build()
}

/// The runtime's worker threads on a machine of `cores` cores.
fn workers_for(cores: usize) -> usize {
    cores.saturating_sub(1).max(1)
}

/// How long a stopping server waits for the group committer to finish its last group (every
/// request in flight was already answered; this is a group whose client went away).
const SHUTDOWN_GROUP_WAIT: Duration = Duration::from_secs(30);

/// Runs a server on a runtime of its own until SIGTERM or Ctrl-C: what `distributary serve`
/// calls. `bound` is told the address once the server listens.
pub fn serve(
    engine: Engine,
    addr: SocketAddr,
    options: ServerOptions,
    bound: impl FnOnce(SocketAddr),
) -> io::Result<()> {
    let runtime = runtime()?;
    runtime.block_on(async move {
        let server = Server::bind(Arc::new(engine), addr, options).await?;
        bound(server.local_addr()?);
        server.run(terminated()).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committer_keeps_a_core_of_its_own() {
        assert_eq!(
            [1, 2, 4, 16].map(workers_for),
            [1, 1, 3, 15],
            "a worker per core but one, at least one"
        );
    }
}
