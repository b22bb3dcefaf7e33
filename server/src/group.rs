//! Group commit: requests that arrive while a transaction commits are gathered into the next
//! one, so many clients share one fsync. The group runs as one `Engine::execute_batch`: each
//! command in its own savepoint (a failing command is rolled back alone), every answer sent
//! after the commit.
//!
//! A group is gathered while the one before it commits, and runs as soon as that commit ends:
//! the requests queued meanwhile, up to `commands_max` commands. Only a request that finds the
//! committer idle waits for others to join it: while they keep coming (none for
//! `COMPANY_GAP_MAX` ends it), at most `wait`. (Waiting `wait` for every group, as this did
//! first, left the engine idle that long per group under load: at 32 clients the groups were
//! half the clients, each after a full wait. A full `wait` after an idle moment, on the
//! runtime's millisecond timer, still cost 20-170 ms of a 1.2-2.5 s benchmark run.)
//!
//! The committer is a thread of its own, which runs each group itself. (A task that handed
//! each group to `spawn_blocking` crossed two threads per group, and the next group waited for
//! a worker busy with requests to run the task again: at 64 clients the engine's thread was idle
//! between groups, and groups were smaller, BENCHMARKS.md, "The server".)

use std::{
    sync::{mpsc, Arc},
    time::{Duration, Instant},
};

use distributary::{Engine, Envelope, Error};
use serde_json::Value;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::metrics::Metrics;

/// How many requests may wait for a group before a sender waits too.
const QUEUE_REQUESTS_MAX: usize = 4_096;
/// The longest a group gathered by an idle committer waits for the next request: company is
/// waited for while it keeps coming, at most `GroupOptions::wait` in all.
const COMPANY_GAP_MAX: Duration = Duration::from_micros(200);

/// When a group closes.
#[derive(Debug, Clone)]
pub struct GroupOptions {
    /// The most commands in one group (a request's commands are never split between groups).
    pub commands_max: usize,
    /// The longest a request that finds the committer idle waits for others before its group
    /// runs (a group gathered while another committed runs as soon as that commit ends). The
    /// wait ends sooner when no request came for `COMPANY_GAP_MAX` (200 µs).
    pub wait: Duration,
}

impl Default for GroupOptions {
    /// 256 commands, 1 ms: a busy server's groups are what queued during the last commit, an
    /// idle server's first request waits at most a millisecond, about an fsync.
    fn default() -> Self {
        GroupOptions {
            commands_max: 256,
            wait: Duration::from_millis(1),
        }
    }
}

/// One request's commands, and where its answers go.
pub(crate) struct Job {
    envelopes: Vec<Envelope>,
    reply: oneshot::Sender<Vec<Result<Value, Error>>>,
    /// Its place in the queue's bound, given back once it is answered.
    place: OwnedSemaphorePermit,
}

/// Where requests are sent to be grouped: a channel the committer's thread waits on with a
/// timeout of its own (the runtime's timers tick by the millisecond, so a 1 ms wait for
/// company took 1-2 ms, and a shorter one could not be said), bounded by a semaphore.
#[derive(Clone)]
pub(crate) struct Sender {
    jobs: mpsc::Sender<Job>,
    places: Arc<Semaphore>,
}

impl Sender {
    /// Queues a request's commands; `Err` once the committer has stopped.
    pub(crate) async fn send(
        &self,
        envelopes: Vec<Envelope>,
        reply: oneshot::Sender<Vec<Result<Value, Error>>>,
    ) -> Result<(), ()> {
        let place = self.places.clone().acquire_owned().await.map_err(|_| ())?;
        self.jobs
            .send(Job {
                envelopes,
                reply,
                place,
            })
            .map_err(|_| ())
    }
}

/// The thread that gathers groups and runs them, one at a time.
pub(crate) struct Committer {
    sender: Sender,
    /// Told when the thread ends (its last group answered).
    finished: oneshot::Receiver<()>,
}

impl Committer {
    /// Starts the committer's thread, which waits for requests and runs their groups on
    /// itself: a thread of its own rather than a task that hands each group to
    /// `spawn_blocking`, so a group runs as soon as the one before it commits, with no hop
    /// through the blocking pool and back through a worker that may be busy with requests.
    pub(crate) fn start(
        engine: Arc<Engine>,
        options: GroupOptions,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Self> {
        let (jobs, receiver) = mpsc::channel();
        let (done, finished) = oneshot::channel();
        std::thread::Builder::new()
            .name("group-commit".to_owned())
            .spawn(move || {
                run(&engine, &options, &metrics, &receiver);
                let _ = done.send(());
            })?;
        let sender = Sender {
            jobs,
            places: Arc::new(Semaphore::new(QUEUE_REQUESTS_MAX)),
        };
        Ok(Committer { sender, finished })
    }

    pub(crate) fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// Lets the last group finish (the router's senders are gone once the server stopped).
    pub(crate) async fn finish(self, wait_max: Duration) {
        drop(self.sender);
        if tokio::time::timeout(wait_max, self.finished).await.is_err() {
            tracing::warn!("the last group did not finish in time");
        }
    }
}

/// The committer's loop, on its own thread, until every sender is gone.
fn run(engine: &Engine, options: &GroupOptions, metrics: &Metrics, receiver: &mpsc::Receiver<Job>) {
    let mut carried: Option<Job> = None;
    loop {
        // A request queued while the last group committed has waited already: its group runs
        // with whatever else is queued. One that finds the committer idle waits for company.
        let (first, idle) = match carried.take() {
            Some(job) => (job, false),
            None => match receiver.try_recv() {
                Ok(job) => (job, false),
                Err(mpsc::TryRecvError::Disconnected) => return,
                Err(mpsc::TryRecvError::Empty) => match receiver.recv() {
                    Ok(job) => (job, true),
                    Err(mpsc::RecvError) => return,
                },
            },
        };
        let deadline = Instant::now() + options.wait;
        let mut size = first.envelopes.len();
        let mut jobs = vec![first];
        while size < options.commands_max {
            let next = match receiver.try_recv() {
                Ok(job) => Some(job),
                Err(mpsc::TryRecvError::Disconnected) => None,
                Err(mpsc::TryRecvError::Empty) if !idle => None,
                // Company while it keeps coming: the group runs once none came for the gap,
                // past the deadline, or when the channel closed.
                Err(mpsc::TryRecvError::Empty) => {
                    let now = Instant::now();
                    let until = deadline.min(now + COMPANY_GAP_MAX);
                    receiver
                        .recv_timeout(until.saturating_duration_since(now))
                        .ok()
                }
            };
            let Some(job) = next else { break };
            if size + job.envelopes.len() > options.commands_max {
                carried = Some(job);
                break;
            }
            size += job.envelopes.len();
            jobs.push(job);
        }
        commit(engine, metrics, jobs);
    }
}

/// Runs the group as one batch and hands each request its answers.
fn commit(engine: &Engine, metrics: &Metrics, jobs: Vec<Job>) {
    let mut envelopes = Vec::new();
    let mut replies = Vec::with_capacity(jobs.len());
    let mut places = Vec::with_capacity(jobs.len());
    for job in jobs {
        replies.push((job.envelopes.len(), job.reply));
        envelopes.extend(job.envelopes);
        places.push(job.place);
    }
    metrics.group(envelopes.len());
    // The engine catches its panics and answers them as `internal`.
    let mut results = engine.execute_batch(&envelopes).into_iter();
    for (count, reply) in replies {
        let answers: Vec<_> = results.by_ref().take(count).collect();
        // A client that went away no longer waits; its commands committed all the same.
        let _ = reply.send(answers);
    }
    drop(places);
}
