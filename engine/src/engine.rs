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
    accounts,
    batch::{self, catch_panic, Batch, Scope},
    catalog,
    command::{answer, Command, Envelope, PayloadFormat, Side},
    error::{Code, Error},
    flow::{Actor, Ctx, OpenCtx},
    inventory, ledger,
    model::time::Instant,
    notify, orders,
    pack::RulePack,
    partnership,
    plugin_host::PluginHost,
    rules::RuleSet,
    shops,
    store::{Store, StoreOptions, Tx},
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
        catch_panic(|| drain(&mut *self.lock()?, self))?
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
        let outcome = catch_panic(|| {
            // Each command's logical time, read once: its network phase and its run (both runs
            // of a batch that is run again) see the same clock.
            let ats: Vec<Result<Instant, Error>> = envelopes.iter().map(at_of).collect();
            // What can be worked out without the store is, before it is locked (`prepare`).
            let prepared: Vec<Option<Prepared>> = envelopes
                .iter()
                .zip(&ats)
                .map(|(e, at)| self.prepare(e, at))
                .collect();
            let mut store = self.lock()?;
            let commands = Commands {
                envelopes,
                ats: &ats,
                prepared: &prepared,
                run: &|tx, envelope, at, prepared| {
                    let actor = Actor::authorise(tx, envelope)?;
                    dispatch(&self.ctx(tx, &actor, at), &envelope.command, prepared)
                },
                deliver: &|tx| {
                    if self.delivers_after(envelopes) {
                        deliver_within(tx, self)
                    } else {
                        Ok(false)
                    }
                },
            };
            Ok(execute_commands(&mut store, &commands))
        });
        let (results, drain) = outcome.and_then(|outcome| outcome).unwrap_or_else(|error| {
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
}

impl OpenCtx for Engine {
    fn ctx<'a, 't>(&'a self, tx: &'a Tx<'t>, actor: &'a Actor, at: Instant) -> Ctx<'a, 't> {
        Ctx {
            tx,
            actor,
            at,
            workflows: &self.workflows,
            rules: &self.rules,
            plugins: &self.plugins,
        }
    }
}

/// What a command worked out before the store was locked (`Engine::prepare`).
enum Prepared {
    /// A sync's marketplace round trip.
    Fetched(shops::Fetched),
    /// A native import's payload, read by its adapter; taken by the command's run (a batch run
    /// again parses it again).
    Parsed(RefCell<Option<Result<Vec<CanonicalOrder>, Error>>>),
}

impl Prepared {
    fn fetched(&self) -> Option<&shops::Fetched> {
        match self {
            Prepared::Fetched(fetched) => Some(fetched),
            Prepared::Parsed(_) => None,
        }
    }

    fn take_parsed(&self) -> Option<Result<Vec<CanonicalOrder>, Error>> {
        match self {
            Prepared::Parsed(parsed) => parsed.borrow_mut().take(),
            Prepared::Fetched(_) => None,
        }
    }
}

/// Authorises a command's actor and runs its handler, with what the command prepared.
type RunCommand<'e, P> =
    dyn Fn(&Tx<'_>, &Envelope, Instant, Option<&P>) -> Result<Value, Error> + 'e;

/// A batch of commands and what the engine lends it; `P` is what a command prepared before the
/// store was locked.
struct Commands<'e, P> {
    /// The commands, in order.
    envelopes: &'e [Envelope],
    /// Each command's logical time ([`at_of`]), read once for both runs of the batch.
    ats: &'e [Result<Instant, Error>],
    /// What each command prepared.
    prepared: &'e [Option<P>],
    /// Authorises a command's actor and runs its handler.
    run: &'e RunCommand<'e, P>,
    /// Delivers what the commands queued, before the commit; answers whether to drain after it.
    deliver: &'e dyn Fn(&Tx<'_>) -> Result<bool, Error>,
}

/// The commands' answers, and whether to drain deliveries after their commit.
fn execute_commands<P>(
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
    match batch::run(store, commands, envelopes.len() > 1) {
        Ok(ran) => (ran.results, ran.closed),
        Err(error) => (envelopes.iter().map(|_| Err(error.clone())).collect(), true),
    }
}

/// The command's logical time: `at`, or now.
fn at_of(envelope: &Envelope) -> Result<Instant, Error> {
    match &envelope.at {
        Some(text) => Instant::parse("at", text),
        None => Ok(Instant::now()),
    }
}

/// One command of a batch: its place, and what the batch holds of it.
struct Numbered<'e, P> {
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

impl<'e, P> Batch for Commands<'e, P> {
    type Item = Numbered<'e, P>;
    type Shared = ();
    type Done = Value;
    /// Whether to drain after the commit.
    type Closed = bool;
    const RUN_FAILED_AGAIN: bool = true;

    fn begin(&self, _tx: &Tx<'_>) -> Result<((), Vec<Self::Item>), Error> {
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
    fn run(&self, tx: &Tx<'_>, _: &(), command: &Self::Item) -> Result<Value, Error> {
        let envelope = command.envelope;
        if let Some((key, fingerprint)) = envelope.keyed() {
            if let Some(stored) = tx.idempotent_answer(&envelope.actor, key)? {
                return replayed(&stored, fingerprint)?;
            }
        }
        let result = (self.run)(tx, envelope, command.at.clone()?, command.prepared)?;
        if let Some((key, fingerprint)) = envelope.keyed() {
            let stored = json!({"ok": true, "result": result}).to_string();
            tx.record_idempotent_answer(&envelope.actor, key, fingerprint, &stored)?;
        }
        Ok(result)
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

    fn close(&self, tx: &Tx<'_>) -> Result<bool, Error> {
        (self.deliver)(tx)
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

/// Delivers every queued pushed order to its supplier, `DELIVERY_BATCH_MAX` per transaction, until
/// the queue is empty, only failing deliveries are left, or `DELIVERY_DRAIN_MAX` were delivered.
/// Answers how many were.
fn drain(store: &mut Store, engine: &dyn OpenCtx) -> Result<usize, Error> {
    let deliveries = Deliveries {
        engine,
        system: Actor::system(),
        at: None,
    };
    let mut delivered = 0;
    while delivered < orders::DELIVERY_DRAIN_MAX {
        // Like a batch of commands: one transaction without savepoints first. When a delivery
        // fails, that is rolled back and the batch runs again with a savepoint per delivery, the
        // failed one left queued.
        let done = batch::run(store, &deliveries, true)?.succeeded();
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
/// with one, the failed delivery left queued), inside a savepoint of its own, so deliveries never
/// change the answers of the commands before them: when the machine fails (`internal`, a panic)
/// every delivery of the round is rolled back and waits for the next drain, as a drain stops at
/// such a failure. Returns whether to drain after the commit (more is queued, or a failed delivery
/// is worth another round, as in the drain).
fn deliver_within(tx: &Tx<'_>, engine: &dyn OpenCtx) -> Result<bool, Error> {
    let deliveries = Deliveries {
        engine,
        system: Actor::system(),
        at: Some(Instant::now()),
    };
    let mut round = Round { tx, stopped: false };
    match batch::run(&mut round, &deliveries, true) {
        Ok(ran) => {
            let n = ran.succeeded();
            Ok(n >= orders::DELIVERY_BATCH_MAX || (ran.again && n > 0))
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
        Ok((at, tx.pending_deliveries(orders::DELIVERY_BATCH_MAX)?))
    }

    fn run(&self, tx: &Tx<'_>, at: &Instant, item: &Self::Item) -> Result<(), Error> {
        let (seq, distributor, order) = item;
        let ctx = self.engine.ctx(tx, &self.system, *at);
        orders::deliver(&ctx, *seq, distributor, order).inspect_err(|error| {
            if error.code() != Code::Internal {
                tracing::warn!(%error, order, "delivery failed; it stays queued");
            }
        })
    }

    fn close(&self, _tx: &Tx<'_>) -> Result<(), Error> {
        Ok(())
    }
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

/// Runs a command's handler with what it prepared before the store was locked.
fn dispatch(
    ctx: &Ctx<'_, '_>,
    command: &Command,
    prepared: Option<&Prepared>,
) -> Result<Value, Error> {
    let fetched = prepared.and_then(Prepared::fetched);
    use Command::*;
    match command {
        CreateAccount(args) => accounts::create_account(ctx, args),
        CreateUser(args) => accounts::create_user(ctx, args),
        SetLiveRate(args) => ledger::set_rate(ctx, "", args),
        SetFixedRate(args) => ledger::set_rate(ctx, ctx.actor.account(), args),
        CreateWarehouse(args) => partnership::create_warehouse(ctx, args),
        CreateInvitation(args) => partnership::create_invitation(ctx, args),
        RevokeInvitation(args) => partnership::revoke_invitation(ctx, args),
        BindSupplier(args) => partnership::bind_supplier(ctx, args),
        ReviewPartnership(args) => partnership::review(ctx, args),
        EndPartnership(args) => partnership::end(ctx, args),
        SetSupplierNote(args) => partnership::set_note(ctx, args),
        Suppliers(_) => partnership::suppliers(ctx),
        AddBalance(args) => ledger::add_balance(ctx, args),
        DeductBalance(args) => ledger::deduct_balance(ctx, args),
        SetCredit(args) => ledger::set_credit(ctx, args),
        Balances(_) => ledger::balances(ctx),
        Transactions(args) => ledger::transactions(ctx, args),
        Subscribe(args) => notify::subscribe(ctx, args),
        Notifications(_) => notify::notifications(ctx),
        PublishProduct(args) => catalog::publish_product(ctx, args),
        SetPrice(args) => catalog::set_price(ctx, args),
        SetDistribution(args) => catalog::set_distribution(ctx, args),
        CreateSku(args) => catalog::create_sku(ctx, args),
        Claim(args) => catalog::claim(ctx, args),
        RemoveExpired(args) => catalog::remove_expired(ctx, args),
        StopDistribution(args) => catalog::stop_distribution(ctx, args),
        MapStoreSku(args) => catalog::map_store_sku(ctx, args),
        ExportClaimed(_) => catalog::export_claimed(ctx),
        ImportClaimed(args) => catalog::import_claimed(ctx, args),
        Products(args) => catalog::products(ctx, args),
        PriceHistory(args) => catalog::price_history(ctx, args),
        AssignWarehouses(args) => inventory::assign_warehouses(ctx, args),
        PushStock(args) => inventory::push_stock(ctx, args),
        AddSupplierWarehouse(args) => inventory::add_supplier_warehouse(ctx, args),
        WarehouseAction(args) => inventory::warehouse_action(ctx, args),
        Stock(args) => inventory::stock(ctx, args),
        Movements(args) => inventory::movements(ctx, args),
        SetFees(args) => orders::set_fees(ctx, args),
        SetPrintSettings(args) => orders::set_print_settings(ctx, args),
        ImportOrders(args) => {
            orders::import_orders(ctx, args, prepared.and_then(Prepared::take_parsed))
        }
        Pack(args) => orders::pack(ctx, args),
        SplitOrder(args) => orders::split_order(ctx, args),
        Push(args) => orders::push(ctx, args),
        Refresh(args) => orders::refresh(ctx, args),
        Withdraw(args) => orders::withdraw(ctx, args),
        MarkShipped(args) => orders::mark_shipped(ctx, args),
        Fire(args) => orders::fire_event(ctx, args),
        ShipOrder(args) => orders::ship_order(ctx, args),
        ConfirmPickup(args) => orders::confirm_pickup(ctx, args),
        ReviewWithdrawal(args) => orders::review_withdrawal(ctx, args),
        AfterSaleRefund(args) => orders::after_sale_refund(ctx, args),
        Orders(args) => orders::orders(ctx, args),
        Order(args) => orders::order(ctx, args),
        ConnectShop(args) => shops::connect_shop(ctx, args),
        Shops(_) => shops::shops(ctx),
        Plugins(_) => shops::plugins(ctx),
        SyncOrders(args) => shops::sync_orders(ctx, args, fetched),
        SyncStock(args) => shops::sync_stock(ctx, args, fetched),
    }
}
