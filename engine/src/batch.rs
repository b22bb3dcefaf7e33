//! How a batch of work runs in one transaction: first optimistically, without savepoints; when an
//! item fails, again with a savepoint per item. A batch of commands, a round of the delivery drain
//! and the deliveries inside a command's transaction all run this way, and a panic inside one is
//! answered as `internal` ([`catch_panic`]).

use crate::{
    error::{Code, Error},
    store::{Store, Tx},
};

/// A batch's items and what each does; [`run`] decides in which runs and savepoints they run.
pub(crate) trait Batch {
    /// One item: a command, a queued delivery. Items are told apart by `==`.
    type Item: PartialEq;
    /// What a run reads once for all its items (a delivery round's clock).
    type Shared;
    /// What an item that succeeds answers.
    type Done;
    /// What the closing step answers.
    type Closed;
    /// Whether the item that failed the first run runs again in the second: a command does (it
    /// answers, and remembers, its failure), a delivery does not (it stays queued).
    const RUN_FAILED_AGAIN: bool;

    /// What a run shares, and its items, read in the run's transaction.
    fn begin(&self, tx: &Tx<'_>) -> Result<(Self::Shared, Vec<Self::Item>), Error>;

    /// Runs one item. An `internal` error aborts the batch; any other fails the item alone.
    fn run(
        &self,
        tx: &Tx<'_>,
        shared: &Self::Shared,
        item: &Self::Item,
    ) -> Result<Self::Done, Error>;

    /// What stays of an item's failure once the item is rolled back to its savepoint (before the
    /// savepoint is released): a command's idempotency record. Nothing by default.
    fn rolled_back(&self, tx: &Tx<'_>, item: &Self::Item, error: &Error) -> Result<(), Error> {
        let _ = (tx, item, error);
        Ok(())
    }

    /// Runs after the items, in the run that commits, and may settle their answers (`done`, the
    /// items' answers in order, the skipped item left out): whichever run commits, the optimistic
    /// one or the one with savepoints, its answers are settled the same way.
    fn close(
        &self,
        tx: &Tx<'_>,
        done: &mut [Result<Self::Done, Error>],
    ) -> Result<Self::Closed, Error>;
}

/// Where a batch runs: a write transaction of the store, or a savepoint inside one.
pub(crate) trait Scope {
    /// Runs `work` in a transaction (or a savepoint) of its own: kept when `work` answers `Some`;
    /// rolled back when it answers `None` (answered `Ok(None)`) or fails.
    fn attempt<T>(
        &mut self,
        work: impl FnOnce(&Tx<'_>) -> Result<Option<T>, Error>,
    ) -> Result<Option<T>, Error>;
}

impl Scope for Store {
    fn attempt<T>(
        &mut self,
        work: impl FnOnce(&Tx<'_>) -> Result<Option<T>, Error>,
    ) -> Result<Option<T>, Error> {
        self.write_or_abandon(work)
    }
}

/// The most times a batch runs again after a conflict with another process's transaction
/// (PostgreSQL's deadlocks and serialization failures, a key another process inserted first, a
/// row that changed under an unlocked read: [`Store::conflicted`]). Writes lock the rows they
/// change, so a command waits its turn on a hot row instead of failing; what is left is a push
/// that lost its order to a rival's push, or a key another process inserted first (800 to 1,100
/// of the 14,000 commands of the contention suite at 4 processes × 500 rounds, every one settled
/// by its first rerun: RELIABILITY.md), and never reaches the host.
pub(crate) const CONFLICT_RETRIES_MAX: u32 = 16;

/// [`run`] in a write transaction of `store`, run again while it fails for a conflict with
/// another process's transaction — at most [`CONFLICT_RETRIES_MAX`] times, after a pause that
/// grows — so that a host never sees one; the attempts are logged.
pub(crate) fn run_on_store<B: Batch>(
    store: &mut Store,
    batch: &B,
    optimistic: bool,
) -> Result<Ran<B::Done, B::Closed>, Error> {
    let mut attempt: u32 = 1;
    loop {
        let ran = run(store, batch, optimistic);
        if let (Err(error), true) = (&ran, store.conflicted() && attempt <= CONFLICT_RETRIES_MAX) {
            tracing::warn!(
                attempt,
                error = error.message(),
                "the transaction conflicted with another process's; running it again"
            );
            let pause_ms = u64::from(attempt.min(6)).pow(2);
            std::thread::sleep(std::time::Duration::from_millis(pause_ms));
            attempt += 1;
            continue;
        }
        if attempt > 1 {
            tracing::info!(attempts = attempt, "the transaction ran after conflicts");
        }
        return ran;
    }
}

/// How a batch ran.
pub(crate) struct Ran<T, C> {
    /// Each item's answer, in order. The item that failed the first run is left out when it does
    /// not run again ([`Batch::RUN_FAILED_AGAIN`]).
    pub results: Vec<Result<T, Error>>,
    /// What the closing step answered, in the run that committed.
    pub closed: C,
    /// Whether an item failed the first run, so the batch ran again with a savepoint per item.
    pub again: bool,
}

impl<T, C> Ran<T, C> {
    /// How many items succeeded.
    pub fn succeeded(&self) -> usize {
        self.results.iter().filter(|result| result.is_ok()).count()
    }
}

/// Runs `batch` in `scope`, then its closing step, in one transaction.
///
/// With `optimistic`, the batch first runs without a single savepoint (a savepoint copies every
/// page first written under it into the sub-journal, and most batches fail nowhere). When an
/// item fails, that run is rolled back (`Store::write_or_abandon`) and the batch runs again with a
/// savepoint per item, so a failing item is rolled back alone and the others commit together.
/// Without `optimistic` (a batch of one command), only that second run. An `internal` error is a
/// failure of the machine, not of an item: it aborts either run, and nothing of the batch stays.
pub(crate) fn run<B: Batch>(
    scope: &mut impl Scope,
    batch: &B,
    optimistic: bool,
) -> Result<Ran<B::Done, B::Closed>, Error> {
    let mut failed = None;
    if optimistic {
        let ran = scope.attempt(|tx| {
            let (shared, items) = batch.begin(tx)?;
            let mut results = Vec::with_capacity(items.len());
            for item in items {
                match batch.run(tx, &shared, &item) {
                    Ok(done) => results.push(Ok(done)),
                    Err(error) if error.code() == Code::Internal => return Err(error),
                    Err(_) => {
                        failed = Some(item);
                        return Ok(None);
                    }
                }
            }
            let closed = batch.close(tx, &mut results)?;
            Ok(Some(Ran {
                results,
                closed,
                again: false,
            }))
        })?;
        if let Some(ran) = ran {
            return Ok(ran);
        }
    }
    let again = failed.is_some();
    let skip = failed.filter(|_| !B::RUN_FAILED_AGAIN);
    scope
        .attempt(|tx| with_savepoints(tx, batch, skip.as_ref(), again).map(Some))?
        .ok_or_else(|| Error::new(Code::Internal, "a write was abandoned"))
}

/// The batch's run with a savepoint per item, `skip` left out.
fn with_savepoints<B: Batch>(
    tx: &Tx<'_>,
    batch: &B,
    skip: Option<&B::Item>,
    again: bool,
) -> Result<Ran<B::Done, B::Closed>, Error> {
    let (shared, items) = batch.begin(tx)?;
    let mut results = Vec::with_capacity(items.len());
    for item in items.iter().filter(|item| skip != Some(*item)) {
        tx.savepoint()?;
        // A panic is caught here so that the item's savepoint is closed before the batch's
        // failure reaches its scope: savepoints share one name, and a scope that is itself a
        // savepoint (`delivery::Round`) must roll back its own, not the item's.
        match catch_panic(|| batch.run(tx, &shared, item)).and_then(|ran| ran) {
            Ok(done) => {
                tx.release()?;
                results.push(Ok(done));
            }
            // A failure of the machine, not of the item: nothing of the batch stays.
            Err(error) if error.code() == Code::Internal => {
                tx.rollback_to()?;
                tx.release()?;
                return Err(error);
            }
            Err(error) => {
                tx.rollback_to()?;
                batch.rolled_back(tx, item, &error)?;
                tx.release()?;
                results.push(Err(error));
            }
        }
    }
    let closed = batch.close(tx, &mut results)?;
    Ok(Ran {
        results,
        closed,
        again,
    })
}

/// Runs `work`, answering a panic inside it as `internal` instead of unwinding into the host.
/// Nothing is half-applied: the transaction a panic unwinds through rolls back when the store's
/// transaction drops, and the engine's other state is immutable (rules, workflows, plugins).
pub(crate) fn catch_panic<T>(work: impl FnOnce() -> T) -> Result<T, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        tracing::error!(
            message,
            "the engine panicked; the transaction was rolled back"
        );
        Error::new(Code::Internal, format!("the engine panicked: {message}"))
    })
}
