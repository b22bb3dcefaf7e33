//! A batch of commands in one transaction (`Engine::execute_batch`): each command run through its
//! idempotency key, a failing one rolled back alone ([`batch::run`]), then the deliveries the
//! commands queued, before the commit.

use serde_json::{json, Value};

use crate::{
    batch::{self, Batch},
    command::{Command, CommandName, Envelope, Side},
    error::{Code, Error},
    model::time::Instant,
    store::{Store, Tx},
};

/// Authorises a command's actor and runs its handler, with what the command prepared.
type RunCommand<'e, P> =
    dyn Fn(&Tx<'_>, &Envelope, Instant, Option<&P>) -> Result<Value, Error> + 'e;

/// A batch of commands and what the engine lends it; `P` is what a command prepared before the
/// store was locked.
pub(crate) struct Commands<'e, P> {
    /// The commands, in order.
    pub envelopes: &'e [Envelope],
    /// Each command's logical time ([`at_of`]), read once for both runs of the batch.
    pub ats: &'e [Result<Instant, Error>],
    /// What each command prepared.
    pub prepared: &'e [Option<P>],
    /// Authorises a command's actor and runs its handler.
    pub run: &'e RunCommand<'e, P>,
    /// Delivers what the commands queued, before the commit; answers whether to drain after it.
    pub deliver: &'e dyn Fn(&Tx<'_>) -> Result<bool, Error>,
}

/// The commands' answers, and whether to drain deliveries after their commit.
pub(crate) fn execute<P>(
    store: &mut Store,
    commands: &Commands<'_, P>,
) -> (Vec<Result<Value, Error>>, bool) {
    let envelopes = commands.envelopes;
    if let ([only], [at]) = (envelopes, commands.ats) {
        if only.command.side() == Side::Query && only.key.is_none() {
            let answer = store.read(|tx| (commands.run)(tx, only, at.clone()?, None));
            return (vec![answer], false);
        }
    }
    // A batch of several runs without savepoints first; a single command runs with its savepoint
    // at once.
    match batch::run_on_store(store, commands, envelopes.len() > 1) {
        Ok(ran) => {
            let results = ran
                .results
                .into_iter()
                .map(|answer| answer.map(|a| a.result))
                .collect();
            (results, ran.closed)
        }
        Err(error) => (envelopes.iter().map(|_| Err(error.clone())).collect(), true),
    }
}

/// The command's logical time: `at`, or now.
pub(crate) fn at_of(envelope: &Envelope) -> Result<Instant, Error> {
    match &envelope.at {
        Some(text) => Instant::parse("at", text),
        None => Ok(Instant::now()),
    }
}

/// One command of a batch: its place, and what the batch holds of it.
pub(crate) struct Numbered<'e, P> {
    index: usize,
    envelope: &'e Envelope,
    at: &'e Result<Instant, Error>,
    prepared: Option<&'e P>,
}

impl<P> PartialEq for Numbered<'_, P> {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
    }
}

/// A command's answer, and whether the command ran in this batch (a repeated key answers as
/// first answered, and is never settled again).
pub(crate) struct Answered {
    result: Value,
    ran: bool,
}

impl<'e, P> Batch for Commands<'e, P> {
    type Item = Numbered<'e, P>;
    type Shared = ();
    type Done = Answered;
    /// Whether to drain after the commit.
    type Closed = bool;
    const RUN_FAILED_AGAIN: bool = true;

    /// Numbers the commands, and reads ahead the orders the packs and pushes among them name
    /// (`Tx::read_orders_ahead`; an import reads its own orders ahead, once it has parsed them).
    fn begin(&self, tx: &Tx<'_>) -> Result<((), Vec<Self::Item>), Error> {
        let named: Vec<(&str, &str)> = self
            .envelopes
            .iter()
            .filter_map(|envelope| match &envelope.command {
                Command::Pack(args) => Some((envelope.actor.as_str(), args.order.as_str())),
                Command::Push(args) => Some((envelope.actor.as_str(), args.order.as_str())),
                _ => None,
            })
            .collect();
        if named.len() > 1 {
            tx.read_orders_ahead(&named)?;
        }
        let items = self
            .envelopes
            .iter()
            .zip(self.ats)
            .zip(self.prepared)
            .enumerate()
            .map(|(index, ((envelope, at), prepared))| Numbered {
                index,
                envelope,
                at,
                prepared: prepared.as_ref(),
            })
            .collect();
        Ok(((), items))
    }

    /// One command, honouring its idempotency key.
    fn run(&self, tx: &Tx<'_>, _: &(), command: &Self::Item) -> Result<Answered, Error> {
        let envelope = command.envelope;
        if let Some((key, fingerprint)) = envelope.keyed() {
            if let Some(stored) = tx.idempotent_answer(&envelope.actor, key)? {
                let result = replayed(&stored, fingerprint)??;
                return Ok(Answered { result, ran: false });
            }
        }
        let result = (self.run)(tx, envelope, command.at.clone()?, command.prepared)?;
        // Checked after the run, so that a request refused for another reason answers that
        // reason, keyed or not; this refusal rolls the command back like any other.
        if envelope.key.is_some() && CommandName::from(&envelope.command).answers_secret() {
            return Err(Error::bad_request(format!(
                "`{}` takes no idempotency key: its answer holds a secret the store does not keep",
                envelope.command.name()
            )));
        }
        if let Some((key, fingerprint)) = envelope.keyed() {
            let stored = json!({"ok": true, "result": result}).to_string();
            tx.record_idempotent_answer(&envelope.actor, key, fingerprint, &stored)?;
        }
        Ok(Answered { result, ran: true })
    }

    /// Remembers the failure under the key so a retry answers the same, unless the failure is
    /// the key itself.
    fn rolled_back(&self, tx: &Tx<'_>, command: &Self::Item, error: &Error) -> Result<(), Error> {
        let envelope = command.envelope;
        if let Some((key, fingerprint)) = envelope.keyed() {
            if error.code() != Code::IdempotencyConflict
                && tx.idempotent_answer(&envelope.actor, key)?.is_none()
            {
                let stored = json!({"ok": false, "error": error.to_json()}).to_string();
                tx.record_idempotent_answer(&envelope.actor, key, fingerprint, &stored)?;
            }
        }
        Ok(())
    }

    /// Delivers what the commands queued, then settles their answers: an answer tells the state
    /// its commit leaves, so a push answers what its delivery round made of the order.
    fn close(&self, tx: &Tx<'_>, done: &mut [Result<Answered, Error>]) -> Result<bool, Error> {
        let drain = (self.deliver)(tx)?;
        for (envelope, answer) in self.envelopes.iter().zip(done.iter_mut()) {
            if let Ok(answer) = answer {
                if answer.ran {
                    settle(tx, envelope, &mut answer.result)?;
                }
            }
        }
        Ok(drain)
    }
}

/// A command's answer after the deliveries of its commit: a push's `state` is the order's state
/// then (`pushed` or `push_failed` when its delivery ran, `pushing` when it waits for the drain).
/// An answer remembered under a key is remembered settled.
fn settle(tx: &Tx<'_>, envelope: &Envelope, result: &mut Value) -> Result<(), Error> {
    let Command::Push(args) = &envelope.command else {
        return Ok(());
    };
    let Some(now) = tx.order_state(&envelope.actor, &args.order)? else {
        return Ok(());
    };
    let Some(state) = result.get_mut("state") else {
        return Ok(());
    };
    if state.as_str() == Some(now.as_str()) {
        return Ok(());
    }
    *state = Value::String(now);
    if let Some((key, _)) = envelope.keyed() {
        let stored = json!({"ok": true, "result": result}).to_string();
        tx.update_idempotent_answer(&envelope.actor, key, &stored)?;
    }
    Ok(())
}

/// The stored answer of a repeated key, or `idempotency_conflict` when the payload differs.
fn replayed(
    (fingerprint, stored): &(String, String),
    now: &str,
) -> Result<Result<Value, Error>, Error> {
    if fingerprint != now {
        return Err(Error::new(
            Code::IdempotencyConflict,
            "this idempotency key was used with a different command or arguments",
        ));
    }
    let value: Value = serde_json::from_str(stored)
        .map_err(|e| Error::new(Code::Internal, format!("stored answer does not parse: {e}")))?;
    if value.get("ok") == Some(&Value::Bool(true)) {
        Ok(Ok(value.get("result").cloned().unwrap_or(Value::Null)))
    } else {
        Ok(Err(Error::from_json(
            value.get("error").unwrap_or(&Value::Null),
        )))
    }
}
