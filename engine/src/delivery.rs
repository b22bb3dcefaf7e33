//! The delivery queue: pushed orders waiting to reach their supplier. Its limits, one delivery, the
//! drain that empties the queue after a commit, and the round that delivers inside the transaction
//! of the commands that queued.

use crate::{
    batch::{self, catch_panic, Batch, Scope},
    error::{Code, Error},
    flow::{Actor, Ctx, OpenCtx},
    model::time::Instant,
    orders,
    store::{Store, Tx},
};

/// The most deliveries one drain handles before it returns (a bound, not a target: a drain
/// empties any ordinary queue).
pub const DELIVERY_DRAIN_MAX: usize = 10_000_000;
/// Deliveries committed together in one transaction while draining. A drain holds the store
/// until the queue is empty whatever this is; larger transactions only commit (and rewrite the
/// pages deliveries share) less often: 5,000 delivered a mega-sale's orders about 25% faster
/// than 1,000.
pub const DELIVERY_BATCH_MAX: usize = 5_000;

/// Delivers every queued pushed order to its supplier, `DELIVERY_BATCH_MAX` per transaction, until
/// the queue is empty, only failing deliveries are left, or `DELIVERY_DRAIN_MAX` were delivered.
/// Answers how many were.
pub(crate) fn drain(store: &mut Store, engine: &dyn OpenCtx) -> Result<usize, Error> {
    let deliveries = Deliveries {
        engine,
        system: Actor::system(),
        at: None,
    };
    let mut delivered = 0;
    while delivered < DELIVERY_DRAIN_MAX {
        // Like a batch of commands: one transaction without savepoints first. When a delivery
        // fails, that is rolled back and the batch runs again with a savepoint per delivery, the
        // failed one left queued.
        let done = batch::run_on_store(store, &deliveries, true)?.succeeded();
        // Nothing left, or only deliveries that keep failing: they wait for the next drain.
        if done == 0 {
            break;
        }
        delivered += done;
    }
    Ok(delivered)
}

/// Delivers the queue inside the transaction of the commands just run, before it commits: the
/// pages their pushes dirtied (orders, audit, queue) are then written by one commit, not two. It
/// runs as a round of the drain does (first without a savepoint per delivery; at a failure, again
/// with one, the failed delivery left queued), inside a savepoint of its own, so a delivery never
/// fails the commands before it: when the machine fails (`internal`, a panic) every delivery of
/// the round is rolled back and waits for the next drain, as a drain stops at such a failure. The
/// commands' answers then tell the state the commit leaves (a push's order `pushed`, or still
/// `pushing`). Returns whether to drain after the commit (more is queued, or a failed delivery is
/// worth another round, as in the drain).
pub(crate) fn deliver_within(tx: &Tx<'_>, engine: &dyn OpenCtx) -> Result<bool, Error> {
    let deliveries = Deliveries {
        engine,
        system: Actor::system(),
        at: Some(Instant::now()),
    };
    let mut round = Round { tx, stopped: false };
    match batch::run(&mut round, &deliveries, true) {
        Ok(ran) => {
            let n = ran.succeeded();
            Ok(n >= DELIVERY_BATCH_MAX || (ran.again && n > 0))
        }
        // The round is rolled back; its deliveries wait for the next drain.
        Err(_) if round.stopped => Ok(false),
        Err(error) => Err(error),
    }
}

/// The oldest queued deliveries, `DELIVERY_BATCH_MAX` of them, delivered by the system actor.
struct Deliveries<'e> {
    engine: &'e dyn OpenCtx,
    system: Actor,
    /// The deliveries' logical time: fixed for the whole round, or read as each run begins.
    at: Option<Instant>,
}

impl Batch for Deliveries<'_> {
    /// A queue row: its sequence number, the distributor and the order.
    type Item = (i64, String, String);
    type Shared = Instant;
    type Done = ();
    type Closed = ();
    const RUN_FAILED_AGAIN: bool = false;

    fn begin(&self, tx: &Tx<'_>) -> Result<(Instant, Vec<Self::Item>), Error> {
        let at = self.at.unwrap_or_else(Instant::now);
        Ok((at, tx.pending_deliveries(DELIVERY_BATCH_MAX)?))
    }

    fn run(&self, tx: &Tx<'_>, at: &Instant, item: &Self::Item) -> Result<(), Error> {
        let (seq, distributor, order) = item;
        let ctx = self.engine.ctx(tx, &self.system, *at);
        deliver(&ctx, *seq, distributor, order).inspect_err(|error| {
            if error.code() != Code::Internal {
                tracing::warn!(%error, order, "delivery failed; it stays queued");
            }
        })
    }

    fn close(&self, _tx: &Tx<'_>, _done: &mut [Result<(), Error>]) -> Result<(), Error> {
        Ok(())
    }
}

/// Delivers one queued pushed order: its queue row is done, and the order, while still
/// `pushing`, goes to its supplier (`orders::deliver`). A row already done is skipped.
fn deliver(ctx: &Ctx<'_, '_>, seq: i64, distributor: &str, order: &str) -> Result<(), Error> {
    if !ctx.tx.finish_delivery(seq)? {
        return Ok(());
    }
    orders::deliver(ctx, distributor, order)
}

/// The deliveries' round inside a command's transaction: each run in a savepoint of its own, a
/// panic answered as `internal`. A run that fails is rolled back and marks the round `stopped`, so
/// its failure is told apart from one of the savepoint itself (which aborts the commands' run).
struct Round<'a, 't> {
    tx: &'a Tx<'t>,
    stopped: bool,
}

impl Scope for Round<'_, '_> {
    fn attempt<T>(
        &mut self,
        work: impl FnOnce(&Tx<'_>) -> Result<Option<T>, Error>,
    ) -> Result<Option<T>, Error> {
        self.tx.savepoint()?;
        match catch_panic(|| work(self.tx)).and_then(|outcome| outcome) {
            Ok(Some(done)) => {
                self.tx.release()?;
                Ok(Some(done))
            }
            Ok(None) => {
                self.tx.rollback_to()?;
                self.tx.release()?;
                Ok(None)
            }
            Err(error) => {
                tracing::warn!(%error, "delivery stopped; it resumes after the next command");
                self.tx.rollback_to()?;
                self.tx.release()?;
                self.stopped = true;
                Err(error)
            }
        }
    }
}
