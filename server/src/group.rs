//! Group commit: requests that arrive while a transaction commits are gathered into the next
//! one, so many clients share one fsync. The group runs as one `Engine::execute_batch`: each
//! command in its own savepoint (a failing command is rolled back alone), every answer sent
//! after the commit. A group closes when it holds `commands_max` commands or when its first
//! request has waited `wait`, whichever comes first.

use std::{sync::Arc, time::Duration};

use distributary::{Engine, Envelope, Error};
use serde_json::Value;
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
    time::Instant,
};

use crate::metrics::Metrics;

/// How many requests may wait for a group before a sender waits too.
const QUEUE_REQUESTS_MAX: usize = 4_096;

/// When a group closes.
#[derive(Debug, Clone)]
pub struct GroupOptions {
    /// The most commands in one group (a request's commands are never split between groups).
    pub commands_max: usize,
    /// The longest a group's first request waits for others before the group runs.
    pub wait: Duration,
}

impl Default for GroupOptions {
    /// 256 commands, 1 ms: a group of a busy server closes by size, an idle server's first
    /// request waits at most a millisecond, a small part of an fsync.
    fn default() -> Self {
        GroupOptions {
            commands_max: 256,
            wait: Duration::from_millis(1),
        }
    }
}

/// One request's commands, and where its answers go.
pub(crate) struct Job {
    pub envelopes: Vec<Envelope>,
    pub reply: oneshot::Sender<Vec<Result<Value, Error>>>,
}

/// Where requests are sent to be grouped.
pub(crate) type Sender = mpsc::Sender<Job>;

/// The task that gathers groups and runs them, one at a time.
pub(crate) struct Committer {
    sender: Sender,
    task: JoinHandle<()>,
}

impl Committer {
    pub(crate) fn start(engine: Arc<Engine>, options: GroupOptions, metrics: Arc<Metrics>) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_REQUESTS_MAX);
        let task = tokio::spawn(run(engine, options, metrics, receiver));
        Committer { sender, task }
    }

    pub(crate) fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// Lets the last group finish (the router's senders are gone once the server stopped).
    pub(crate) async fn finish(self, wait_max: Duration) {
        drop(self.sender);
        if tokio::time::timeout(wait_max, self.task).await.is_err() {
            tracing::warn!("the last group did not finish in time");
        }
    }
}

async fn run(
    engine: Arc<Engine>,
    options: GroupOptions,
    metrics: Arc<Metrics>,
    mut receiver: mpsc::Receiver<Job>,
) {
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match receiver.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        let deadline = Instant::now() + options.wait;
        let mut size = first.envelopes.len();
        let mut jobs = vec![first];
        while size < options.commands_max {
            let next = match receiver.try_recv() {
                Ok(job) => Some(job),
                Err(mpsc::error::TryRecvError::Disconnected) => None,
                // Past the deadline, or the channel closed: the group runs as it is.
                Err(mpsc::error::TryRecvError::Empty) => {
                    tokio::time::timeout_at(deadline, receiver.recv())
                        .await
                        .ok()
                        .flatten()
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
        commit(&engine, &metrics, jobs).await;
    }
}

/// Runs the group as one batch and hands each request its answers.
async fn commit(engine: &Arc<Engine>, metrics: &Metrics, jobs: Vec<Job>) {
    let mut envelopes = Vec::new();
    let mut replies = Vec::with_capacity(jobs.len());
    for job in jobs {
        replies.push((job.envelopes.len(), job.reply));
        envelopes.extend(job.envelopes);
    }
    metrics.group(envelopes.len());
    let engine = engine.clone();
    let results = tokio::task::spawn_blocking(move || {
        let results = engine.execute_batch(&envelopes);
        (envelopes.len(), results)
    })
    .await;
    let mut results = match results {
        Ok((_, results)) => results.into_iter(),
        Err(error) => {
            // The engine catches its panics; a blocking task that still failed leaves every
            // request of the group unanswered (its sender dropped): the handler says `internal`.
            tracing::error!(%error, "a group's task failed");
            return;
        }
    };
    for (count, reply) in replies {
        let answers: Vec<_> = results.by_ref().take(count).collect();
        // A client that went away no longer waits; its commands committed all the same.
        let _ = reply.send(answers);
    }
}
