//! The facade a host links: [`Engine::open`] and [`Engine::execute`]. Every command is authorised,
//! run in one `BEGIN IMMEDIATE` transaction and answered only after it commits.

use std::{
    cell::RefCell,
    path::{Path, PathBuf},
    sync::Mutex,
};

use distributary_plugin::CanonicalOrder;
use serde_json::{json, Value};

use crate::{
    command::{answer, Command, Envelope, PayloadFormat, Side},
    error::{Code, Error},
    flow::{Actor, Ctx},
    model::time::Instant,
    orders,
    pack::RulePack,
    plugin_host::PluginHost,
    rules::RuleSet,
    shops,
    store::{Store, StoreOptions},
    workflow::{self, Vocabulary, WorkflowSet},
};

/// What an engine is opened with.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The rule pack: workflows, scripts and rule tests.
    pub rules: RulePack,
    /// Where marketplace adapters are loaded from; `None` loads none.
    pub plugins_dir: Option<PathBuf>,
    /// Store settings (durability).
    pub store: StoreOptions,
    /// Deliver pushed orders right after each command (the default). When `false` the host
    /// calls [`Engine::drain_deliveries`] itself, e.g. from a worker, or a test that needs the
    /// moment between a push and its delivery.
    pub auto_deliver: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            rules: RulePack::embedded(),
            plugins_dir: None,
            store: StoreOptions::default(),
            auto_deliver: true,
        }
    }
}

/// Why an engine could not open.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum OpenError {
    /// A workflow file does not validate.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Workflows(#[from] workflow::WorkflowErrors),
    /// A script does not compile.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Rules(#[from] crate::rules::RuleErrors),
    /// The store could not be opened or migrated.
    #[error("cannot open the store: {0}")]
    Store(Error),
}

/// The engine: a store, a compiled rule set, validated workflows and the loaded adapters.
pub struct Engine {
    store: Mutex<Store>,
    rules: RuleSet,
    workflows: WorkflowSet,
    plugins: PluginHost,
    auto_deliver: bool,
}

// A host shares one engine between its threads (commands from several threads take turns at the
// store; what they prepare before it, they prepare at once).
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Engine>();
};

impl Engine {
    /// Opens the store at `path` (`:memory:` for a throwaway one) with the given rules.
    pub fn open(path: &Path, options: EngineOptions) -> Result<Engine, OpenError> {
        let rules = RuleSet::compile(&options.rules)?;
        let vocabulary = Vocabulary::builtin(rules.script_names().map(str::to_owned).collect());
        let workflows = workflow::load(&options.rules, &vocabulary)?;
        let store = Store::open(path, &options.store).map_err(OpenError::Store)?;
        let plugins = match &options.plugins_dir {
            Some(dir) => PluginHost::load_dir(dir),
            None => PluginHost::empty(),
        };
        let engine = Engine {
            store: Mutex::new(store),
            rules,
            workflows,
            plugins,
            auto_deliver: options.auto_deliver,
        };
        if engine.auto_deliver {
            engine.drain_deliveries().map_err(OpenError::Store)?;
        }
        Ok(engine)
    }

    /// The version of the rule set in force: a hash of its files.
    pub fn rules_version(&self) -> &str {
        self.rules.version()
    }

    /// The loaded marketplace adapters, and the libraries refused with why.
    pub fn plugins(&self) -> &PluginHost {
        &self.plugins
    }

    /// Delivers every queued pushed order to its supplier, `DELIVERY_BATCH_MAX` per transaction;
    /// runs after every write command and when the store opens, so a crash only delays delivery.
    pub fn drain_deliveries(&self) -> Result<usize, Error> {
        catch_panic(|| self.drain_batches())?
    }

    fn drain_batches(&self) -> Result<usize, Error> {
        let mut store = self.lock()?;
        let system = Actor::system();
        let mut delivered = 0;
        while delivered < orders::DELIVERY_DRAIN_MAX {
            // Like a batch of commands: one transaction without savepoints first. When a
            // delivery fails, that is rolled back and the batch runs again with a savepoint per
            // delivery, the failed one left queued.
            let mut failed = None;
            let optimistic = store.write_or_abandon(|tx| {
                let ctx = self.ctx(tx, &system, Instant::now());
                match deliver_pending(tx, &ctx, None, false)? {
                    Delivered::All(n) => Ok(Some(n)),
                    Delivered::FailedAt(seq) => {
                        failed = Some(seq);
                        Ok(None)
                    }
                }
            })?;
            let done = match optimistic {
                Some(done) => done,
                None => store.write(|tx| {
                    let ctx = self.ctx(tx, &system, Instant::now());
                    match deliver_pending(tx, &ctx, failed, true)? {
                        Delivered::All(n) => Ok(n),
                        // Only a run without savepoints stops at a failure.
                        Delivered::FailedAt(_) => Ok(0),
                    }
                })?,
            };
            // Nothing left, or only deliveries that keep failing: they wait for the next drain.
            if done == 0 {
                break;
            }
            delivered += done;
        }
        Ok(delivered)
    }

    /// The store. A command that panicked poisoned the lock, but its transaction was rolled
    /// back as it unwound (see [`catch_panic`]), so the store is whole and stays usable.
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Store>, Error> {
        match self.store.lock() {
            Ok(store) => Ok(store),
            Err(poisoned) => {
                let store = poisoned.into_inner();
                store.roll_back_open_transaction()?;
                self.store.clear_poison();
                Ok(store)
            }
        }
    }

    fn ctx<'a, 't>(
        &'a self,
        tx: &'a crate::store::Tx<'t>,
        actor: &'a Actor,
        at: Instant,
    ) -> Ctx<'a, 't> {
        Ctx {
            tx,
            actor,
            at,
            workflows: &self.workflows,
            rules: &self.rules,
            plugins: &self.plugins,
        }
    }

    /// Answers one request line of the host protocol with one answer object.
    pub fn execute_line(&self, line: &str) -> Value {
        match Envelope::parse(line) {
            Ok(envelope) => {
                let result = self.execute(&envelope);
                answer(&envelope.id, &result)
            }
            Err((id, error)) => answer(&id, &Err(error)),
        }
    }

    /// Runs one command. With an idempotency key, a repeat returns the first answer (success or
    /// failure) and changes nothing; the same key with another payload is `idempotency_conflict`.
    pub fn execute(&self, envelope: &Envelope) -> Result<Value, Error> {
        let mut results = self.execute_batch(std::slice::from_ref(envelope));
        results
            .pop()
            .unwrap_or_else(|| Err(Error::new(Code::Internal, "no answer")))
    }

    /// Runs several commands in one SQLite transaction, each as if in a savepoint of its own: a
    /// failing command is rolled back alone and answered with its error, the others commit
    /// together (one fsync for the batch). Each command keeps its atomicity and its idempotency
    /// rules; answers come back in order, after the commit. Queries read in the same transaction.
    pub fn execute_batch(&self, envelopes: &[Envelope]) -> Vec<Result<Value, Error>> {
        let (results, drain) =
            catch_panic(|| self.execute_commands(envelopes)).unwrap_or_else(|error| {
                let failed = envelopes.iter().map(|_| Err(error.clone())).collect();
                (failed, true)
            });
        if drain && self.delivers_after(envelopes) {
            if let Err(error) = self.drain_deliveries() {
                tracing::warn!(%error, "delivery drain stopped; it resumes after the next command");
            }
        }
        results
    }

    /// Whether deliveries follow these commands: the engine delivers, and one of them writes.
    fn delivers_after(&self, envelopes: &[Envelope]) -> bool {
        self.auto_deliver && envelopes.iter().any(|e| e.command.side() != Side::Query)
    }

    /// Delivers the queue inside the transaction of the commands just run, before it commits:
    /// the pages their pushes dirtied (orders, audit, queue) are then written by one commit, not
    /// two. It runs as a round of the drain does (first without a savepoint per delivery; at a
    /// failure, again with one, the failed delivery left queued), inside a savepoint of its own,
    /// so deliveries never change the answers of the commands before them: when the machine
    /// fails (`internal`, a panic) every delivery of the round is rolled back and waits for the
    /// next drain, as a drain stops at such a failure. Returns whether to drain after the commit
    /// (more is queued, or a failed delivery is worth another round, as in the drain).
    fn deliver_within(
        &self,
        tx: &crate::store::Tx<'_>,
        envelopes: &[Envelope],
    ) -> Result<bool, Error> {
        if !self.delivers_after(envelopes) {
            return Ok(false);
        }
        let system = Actor::system();
        let ctx = self.ctx(tx, &system, Instant::now());
        let mut skip = None;
        for savepoints in [false, true] {
            tx.savepoint()?;
            match catch_panic(|| deliver_pending(tx, &ctx, skip, savepoints)) {
                Ok(Ok(Delivered::All(n))) => {
                    tx.release()?;
                    return Ok(n >= orders::DELIVERY_BATCH_MAX || (skip.is_some() && n > 0));
                }
                Ok(Ok(Delivered::FailedAt(seq))) => skip = Some(seq),
                Ok(Err(error)) | Err(error) => {
                    tracing::warn!(%error, "delivery stopped; it resumes after the next command");
                    tx.rollback_to()?;
                    tx.release()?;
                    return Ok(false);
                }
            }
            tx.rollback_to()?;
            tx.release()?;
        }
        // Only a run without savepoints stops at a failure.
        Ok(false)
    }

    /// The commands' answers, and whether to drain deliveries after their commit.
    fn execute_commands(&self, envelopes: &[Envelope]) -> (Vec<Result<Value, Error>>, bool) {
        // Each command's logical time, read once: its network phase and its run (both runs of
        // a batch that is run again) see the same clock.
        let ats: Vec<Result<Instant, Error>> = envelopes.iter().map(at_of).collect();
        // What can be worked out without the store is, before it is locked (`prepare`).
        let prepared: Vec<Option<Prepared>> = envelopes
            .iter()
            .zip(&ats)
            .map(|(e, at)| self.prepare(e, at))
            .collect();
        let mut store = match self.lock() {
            Ok(store) => store,
            Err(error) => return (envelopes.iter().map(|_| Err(error.clone())).collect(), true),
        };
        if let [only] = envelopes {
            if only.command.side() == Side::Query && only.key.is_none() {
                let answer = store.read(|tx| self.run(tx, only, ats[0].clone()?, None));
                return (vec![answer], false);
            }
        }
        // Set by the run that commits (`deliver_within`).
        let mut drain = true;
        // Most batches fail nowhere: they run in one transaction without a savepoint (a
        // savepoint copies every page first written under it). When a command fails, that
        // transaction is rolled back and the batch runs again with a savepoint per command.
        if envelopes.len() > 1 {
            let optimistic = store.write_or_abandon(|tx| {
                let mut results = Vec::with_capacity(envelopes.len());
                for ((envelope, at), prepared) in envelopes.iter().zip(&ats).zip(&prepared) {
                    match self.run_keyed(tx, envelope, at, prepared.as_ref()) {
                        Ok(result) => results.push(Ok(result)),
                        Err(error) if error.code() == Code::Internal => return Err(error),
                        Err(_) => return Ok(None),
                    }
                }
                drain = self.deliver_within(tx, envelopes)?;
                Ok(Some(results))
            });
            match optimistic {
                Ok(Some(results)) => return (results, drain),
                Ok(None) => {}
                Err(error) => {
                    return (envelopes.iter().map(|_| Err(error.clone())).collect(), true)
                }
            }
        }
        let outcome = store.write(|tx| {
            let mut results = Vec::with_capacity(envelopes.len());
            for ((envelope, at), prepared) in envelopes.iter().zip(&ats).zip(&prepared) {
                tx.savepoint()?;
                match self.run_keyed(tx, envelope, at, prepared.as_ref()) {
                    Ok(result) => {
                        tx.release()?;
                        results.push(Ok(result));
                    }
                    // A failure of the machine, not of the command: nothing of the batch stays.
                    Err(error) if error.code() == Code::Internal => return Err(error),
                    Err(error) => {
                        tx.rollback_to()?;
                        // Remember the failure under the key so a retry answers the same,
                        // unless the failure is the key itself.
                        if let Some((key, fingerprint)) = envelope.keyed() {
                            if error.code() != Code::IdempotencyConflict
                                && tx.idempotent_answer(&envelope.actor, key)?.is_none()
                            {
                                let stored =
                                    json!({"ok": false, "error": error.to_json()}).to_string();
                                tx.record_idempotent_answer(
                                    &envelope.actor,
                                    key,
                                    fingerprint,
                                    &stored,
                                )?;
                            }
                        }
                        tx.release()?;
                        results.push(Err(error));
                    }
                }
            }
            drain = self.deliver_within(tx, envelopes)?;
            Ok(results)
        });
        match outcome {
            Ok(results) => (results, drain),
            Err(error) => (envelopes.iter().map(|_| Err(error.clone())).collect(), true),
        }
    }

    /// One command inside the batch's transaction, honouring its idempotency key.
    fn run_keyed(
        &self,
        tx: &crate::store::Tx<'_>,
        envelope: &Envelope,
        at: &Result<Instant, Error>,
        prepared: Option<&Prepared>,
    ) -> Result<Value, Error> {
        if let Some((key, fingerprint)) = envelope.keyed() {
            if let Some(stored) = tx.idempotent_answer(&envelope.actor, key)? {
                return replayed(&stored, fingerprint)?;
            }
        }
        let result = self.run(tx, envelope, at.clone()?, prepared)?;
        if let Some((key, fingerprint)) = envelope.keyed() {
            let stored = json!({"ok": true, "result": result}).to_string();
            tx.record_idempotent_answer(&envelope.actor, key, fingerprint, &stored)?;
        }
        Ok(result)
    }

    /// What a command works out before the store is locked, so that another thread's command can
    /// run its transaction meanwhile: a sync's marketplace round trip ([`Engine::network_phase`]),
    /// a native import's parsing by its adapter (which reads nothing from the store; a command
    /// that would fail before parsing is left to its handler, which says why in its own order).
    fn prepare(&self, envelope: &Envelope, at: &Result<Instant, Error>) -> Option<Prepared> {
        if let Command::ImportOrders(args) = &envelope.command {
            if args.format != PayloadFormat::Native {
                return None;
            }
            let adapter = self.plugins.adapter(&args.marketplace)?;
            let parsed = orders::parse_native(adapter, args.shop.as_deref()?, &args.payload);
            return Some(Prepared::Parsed(RefCell::new(Some(parsed))));
        }
        self.network_phase(envelope, at).map(Prepared::Fetched)
    }

    /// Phases 1 and 2 of `sync_orders` and `sync_stock` (see the `shops` module doc): plan in
    /// a read transaction, then talk to the marketplace holding neither the store mutex nor a
    /// transaction, so a slow marketplace never blocks other commands. `None` for every other
    /// command, and for a key already answered (its replay must not touch the network).
    fn network_phase(
        &self,
        envelope: &Envelope,
        at: &Result<Instant, Error>,
    ) -> Option<shops::Fetched> {
        if !shops::uses_network(&envelope.command) {
            return None;
        }
        let planned = self.lock().and_then(|mut store| {
            store.read(|tx| {
                if let Some(key) = &envelope.key {
                    if tx.idempotent_answer(&envelope.actor, key)?.is_some() {
                        return Ok(None);
                    }
                }
                let actor = Actor::authorise(tx, envelope)?;
                let ctx = self.ctx(tx, &actor, at.clone()?);
                shops::plan(&ctx, &envelope.command).map(Some)
            })
        });
        match planned {
            Ok(None) => None,
            Ok(Some(plan)) => Some(shops::fetch(plan)),
            Err(error) => Some(shops::Fetched::failed(error)),
        }
    }

    fn run(
        &self,
        tx: &crate::store::Tx<'_>,
        envelope: &Envelope,
        at: Instant,
        prepared: Option<&Prepared>,
    ) -> Result<Value, Error> {
        let actor = Actor::authorise(tx, envelope)?;
        crate::dispatch::dispatch(&self.ctx(tx, &actor, at), &envelope.command, prepared)
    }
}

/// What a command worked out before the store was locked (`Engine::prepare`).
pub(crate) enum Prepared {
    /// A sync's marketplace round trip.
    Fetched(shops::Fetched),
    /// A native import's payload, read by its adapter; taken by the command's run (a batch run
    /// again parses it again).
    Parsed(RefCell<Option<Result<Vec<CanonicalOrder>, Error>>>),
}

impl Prepared {
    pub(crate) fn fetched(&self) -> Option<&shops::Fetched> {
        match self {
            Prepared::Fetched(fetched) => Some(fetched),
            Prepared::Parsed(_) => None,
        }
    }

    pub(crate) fn take_parsed(&self) -> Option<Result<Vec<CanonicalOrder>, Error>> {
        match self {
            Prepared::Parsed(parsed) => parsed.borrow_mut().take(),
            Prepared::Fetched(_) => None,
        }
    }
}

/// Runs `work`, answering a panic inside it as `internal` instead of unwinding into the host.
/// Nothing is half-applied: the transaction a panic unwinds through rolls back when rusqlite's
/// `Transaction` drops, and the engine's other state is immutable (rules, workflows, plugins).
fn catch_panic<T>(work: impl FnOnce() -> T) -> Result<T, Error> {
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

/// The command's logical time: `at`, or now.
fn at_of(envelope: &Envelope) -> Result<Instant, Error> {
    match &envelope.at {
        Some(text) => Instant::parse("at", text),
        None => Ok(Instant::now()),
    }
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

/// How a run over the pending deliveries ended.
enum Delivered {
    /// The run went through the queue; this many were delivered.
    All(usize),
    /// A run without savepoints stopped at the failed delivery of this queue row: its
    /// transaction must be rolled back.
    FailedAt(i64),
}

/// Runs the oldest pending deliveries but `skip`. Without `savepoints`, the first failure stops
/// the run; with them, each delivery runs in a savepoint of its own, so one's failure (a rule
/// error, say) is rolled back alone and stays queued for the next drain. A failure of the
/// machine (`internal`) stops either.
fn deliver_pending(
    tx: &crate::store::Tx<'_>,
    ctx: &Ctx<'_, '_>,
    skip: Option<i64>,
    savepoints: bool,
) -> Result<Delivered, Error> {
    let pending = tx.pending_deliveries(orders::DELIVERY_BATCH_MAX)?;
    let mut succeeded = 0;
    for (seq, distributor, order) in &pending {
        if skip == Some(*seq) {
            continue;
        }
        if savepoints {
            tx.savepoint()?;
        }
        match orders::deliver(ctx, *seq, distributor, order) {
            Ok(()) => {
                if savepoints {
                    tx.release()?;
                }
                succeeded += 1;
            }
            Err(error) if error.code() == Code::Internal => return Err(error),
            Err(error) => {
                tracing::warn!(%error, order, "delivery failed; it stays queued");
                if !savepoints {
                    return Ok(Delivered::FailedAt(*seq));
                }
                tx.rollback_to()?;
                tx.release()?;
            }
        }
    }
    Ok(Delivered::All(succeeded))
}
