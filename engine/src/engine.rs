//! The facade a host links: [`Engine::open`] and [`Engine::execute`]. Every command is authorised,
//! run in one `BEGIN IMMEDIATE` transaction and answered only after it commits.

use std::{
    cell::RefCell,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock, PoisonError, RwLock},
};

use distributary_plugin::CanonicalOrder;
use serde_json::Value;

use crate::{
    access::{self, TokenOwner},
    batch::catch_panic,
    command::{answer, Command, Envelope, PayloadFormat, Side},
    delivery,
    error::{Code, Error},
    execute::{self, Commands},
    flow::{Actor, Ctx, OpenCtx},
    lifecycle::{self, Installed, PackErrors},
    model::time::Instant,
    orders,
    pack::RulePack,
    plugin_host::PluginHost,
    shops,
    store::{Store, StoreOptions, Tx},
    workflow,
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
    /// Scripts do not compile and workflow files do not validate.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Pack(PackErrors),
    /// The store could not be opened or migrated.
    #[error("cannot open the store: {0}")]
    Store(Error),
    /// The store's live entities sit in states the pack does not declare and does not migrate
    /// (`rules_invalid`, with the states and counts).
    #[error("the rule pack does not fit the store: {0}")]
    Incompatible(Error),
}

impl From<PackErrors> for OpenError {
    fn from(errors: PackErrors) -> OpenError {
        match errors {
            PackErrors::Rules(r) => OpenError::Rules(r),
            PackErrors::Workflows(w) => OpenError::Workflows(w),
            both => OpenError::Pack(both),
        }
    }
}

/// The engine: a store, the rule pack in force (compiled rules and validated workflows) and the
/// loaded adapters.
pub struct Engine {
    store: Mutex<Store>,
    /// The pack in force. A command takes it once it holds the store, and keeps it to its
    /// answer; `reload_rules` replaces it after its commit, while it still holds the store.
    installed: RwLock<Arc<Installed>>,
    plugins: PluginHost,
    auto_deliver: bool,
    /// Where the store is, for [`Engine::reader`]'s connection.
    path: PathBuf,
    /// A second connection, read-only, opened on the first token check: a check reads beside the
    /// transaction in progress (SQLite's write-ahead log lets it) instead of waiting for its
    /// commit, so a server's requests reach the group committer while a group commits. `None`
    /// inside for a store in memory, which has no second connection.
    reader: OnceLock<Option<Mutex<Store>>>,
}

/// Whether a token last used at `last_used` (`None`: never) is due a new `last_used_at`.
fn stale(last_used: Option<&str>) -> bool {
    let now = Instant::now();
    last_used
        .and_then(|text| Instant::parse("last_used_at", text).ok())
        .is_none_or(|last| {
            now.unix_seconds() - last.unix_seconds() >= access::LAST_USED_RESOLUTION_SECONDS
        })
}

/// What a command runs with: the engine and the pack in force when it took the store.
struct Session<'e> {
    engine: &'e Engine,
    installed: Arc<Installed>,
}

// A host shares one engine between its threads (commands from several threads take turns at the
// store; what they prepare before it, they prepare at once).
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Engine>();
};

impl Engine {
    /// Opens the store at `path` (`:memory:` for a throwaway one) with the given rules.
    ///
    /// The pack is checked against the engine's contract and then against the store's live
    /// entities (`migrate:` entries applied), and installed in the store (its files kept by
    /// version) before the engine answers anything.
    pub fn open(path: &Path, options: EngineOptions) -> Result<Engine, OpenError> {
        let installed = Installed::compile(options.rules)?;
        let mut store = Store::open(path, &options.store).map_err(OpenError::Store)?;
        let at = Instant::now().to_string();
        store
            .write(|tx| {
                let before = lifecycle::stored_workflows(tx)?;
                lifecycle::install(tx, &installed, before.as_ref(), &at)
            })
            .map_err(|e| match e.code() {
                Code::RulesInvalid => OpenError::Incompatible(e),
                _ => OpenError::Store(e),
            })?;
        let plugins = match &options.plugins_dir {
            Some(dir) => PluginHost::load_dir(dir),
            None => PluginHost::empty(),
        };
        let engine = Engine {
            store: Mutex::new(store),
            installed: RwLock::new(Arc::new(installed)),
            plugins,
            auto_deliver: options.auto_deliver,
            path: path.to_owned(),
            reader: OnceLock::new(),
        };
        if engine.auto_deliver {
            engine.drain_deliveries().map_err(OpenError::Store)?;
        }
        Ok(engine)
    }

    /// The version of the rule set in force: a hash of its files.
    pub fn rules_version(&self) -> String {
        self.current().version().to_owned()
    }

    /// The workflows of the pack in force, to draw them (the server's console): the same
    /// pack `rules_version` names, read without touching the store.
    pub fn workflows(&self) -> crate::workflow::WorkflowSet {
        self.current().workflows.clone()
    }

    /// The pack in force.
    fn current(&self) -> Arc<Installed> {
        Arc::clone(
            &self
                .installed
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// A command's view of the engine: the pack in force now, kept to its answer.
    fn session(&self) -> Session<'_> {
        Session {
            engine: self,
            installed: self.current(),
        }
    }

    /// Swaps in the pack a `reload_rules` of this batch installed, once its transaction
    /// committed (the caller still holds the store, so no command sees the store without it).
    fn swap_installed(&self, prepared: &[Option<Prepared>], results: &[Result<Value, Error>]) {
        for (prepared, result) in prepared.iter().zip(results) {
            let Some((_, installed)) = prepared.as_ref().and_then(Prepared::reload) else {
                continue;
            };
            let next = installed.borrow_mut().take();
            if let (Some(next), Ok(_)) = (next, result) {
                tracing::info!(version = next.version(), "rule pack reloaded");
                *self
                    .installed
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = next;
            }
        }
    }

    /// Reads the pack's source again, compiles it and runs its rule tests, before the store is
    /// locked.
    fn compile_reload(&self) -> Result<Arc<Installed>, Error> {
        let pack = self.current().pack.reread().map_err(|e| {
            Error::new(
                Code::RulesInvalid,
                format!("cannot read the rule pack: {e}"),
            )
        })?;
        let installed = Installed::compile(pack).map_err(|e| e.to_error())?;
        installed.check_tests()?;
        Ok(Arc::new(installed))
    }

    /// The loaded marketplace adapters, and the libraries refused with why.
    pub fn plugins(&self) -> &PluginHost {
        &self.plugins
    }

    /// Delivers every queued pushed order to its supplier, `DELIVERY_BATCH_MAX` per transaction;
    /// runs after every write command and when the store opens, so a crash only delays delivery.
    pub fn drain_deliveries(&self) -> Result<usize, Error> {
        catch_panic(|| {
            let mut store = self.lock()?;
            delivery::drain(&mut store, &self.session())
        })?
    }

    /// Who a bearer token acts as (`unauthenticated` for anything but a live token): a read,
    /// so a revocation holds from the next request on. The token's `last_used_at` is written
    /// when it is older than `LAST_USED_RESOLUTION_SECONDS`, not at every request.
    pub fn authenticate(&self, bearer: &str) -> Result<TokenOwner, Error> {
        let check = |store: &mut Store| store.read_one(|tx| access::authenticate(tx, bearer));
        let (owner, last_used) = match self.reader() {
            Some(reader) => check(&mut reader.lock().unwrap_or_else(PoisonError::into_inner))?,
            None => check(&mut *self.lock()?)?,
        };
        if stale(last_used.as_deref()) {
            self.touch_token(&owner.token_id)?;
        }
        Ok(owner)
    }

    /// [`Engine::authenticate`] for a caller that must not wait for the store (an async
    /// server's worker): the token is read on the connection of its own, which never waits for
    /// a commit. `None` when there is none (a store in memory, or on PostgreSQL): call
    /// `authenticate` where waiting is allowed. The `bool` says that the token's `last_used_at` is due, which this leaves to
    /// [`Engine::touch_token`] (it writes, so it waits for the store).
    pub fn authenticate_without_waiting(
        &self,
        bearer: &str,
    ) -> Option<Result<(TokenOwner, bool), Error>> {
        let reader = self.reader()?;
        let checked = reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .read_one(|tx| access::authenticate(tx, bearer));
        Some(checked.map(|(owner, last_used)| (owner, stale(last_used.as_deref()))))
    }

    /// Writes that the token `token_id` was used now.
    pub fn touch_token(&self, token_id: &str) -> Result<(), Error> {
        self.touch_tokens(&[token_id])
    }

    /// Writes that the tokens `token_ids` were used now, in one transaction: a server's burst
    /// of tokens found due together costs one commit, not one each.
    pub fn touch_tokens<S: AsRef<str>>(&self, token_ids: &[S]) -> Result<(), Error> {
        let now = Instant::now().to_string();
        self.lock()?.write(|tx| {
            token_ids
                .iter()
                .try_for_each(|token_id| tx.touch_token(token_id.as_ref(), &now))
        })
    }

    /// The read-only connection of the token checks, opened on first use; `None` for a store in
    /// memory or on PostgreSQL, or when it cannot be opened (the checks then read through the store's own
    /// connection, waiting for its lock, as they would without it).
    fn reader(&self) -> Option<&Mutex<Store>> {
        self.reader
            .get_or_init(|| {
                // On PostgreSQL the checks read through the store's own connection: a second
                // connection per engine there is neither measured nor tested.
                if self.path.as_os_str() == ":memory:" || crate::store::is_postgres(&self.path) {
                    return None;
                }
                Store::open_read_only(&self.path)
                    .inspect_err(|error| {
                        tracing::warn!(%error, "token checks share the store's connection");
                    })
                    .ok()
                    .map(Mutex::new)
            })
            .as_ref()
    }

    /// How many pushed orders wait in the delivery queue.
    pub fn queued_deliveries(&self) -> Result<u64, Error> {
        self.lock()?.read(|tx| tx.queued_deliveries())
    }

    /// The store. A command that panicked poisoned the lock, but its transaction was rolled
    /// back as it unwound (see [`catch_panic`]), so the store is whole and stays usable.
    pub(crate) fn lock(&self) -> Result<std::sync::MutexGuard<'_, Store>, Error> {
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
            let ats: Vec<Result<Instant, Error>> = envelopes.iter().map(execute::at_of).collect();
            // What can be worked out without the store is, before it is locked (`prepare`).
            let prepared: Vec<Option<Prepared>> = envelopes
                .iter()
                .zip(&ats)
                .map(|(e, at)| self.prepare(e, at, envelopes.len() == 1))
                .collect();
            let mut store = self.lock()?;
            let session = self.session();
            let commands = Commands {
                envelopes,
                ats: &ats,
                prepared: &prepared,
                run: &|tx, envelope, at, prepared| {
                    let actor = Actor::authorise(tx, envelope)?;
                    crate::dispatch::dispatch(
                        &session.ctx(tx, &actor, at),
                        &envelope.command,
                        prepared,
                    )
                },
                deliver: &|tx| {
                    if self.delivers_after(envelopes) {
                        delivery::deliver_within(tx, &session)
                    } else {
                        Ok(false)
                    }
                },
            };
            let (results, drain) = execute::execute(&mut store, &commands);
            self.swap_installed(&prepared, &results);
            Ok((results, drain))
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
    ///
    /// A reload runs alone: the commands after it in a batch would run on the pack it replaces,
    /// against entities its migrations moved.
    fn prepare(
        &self,
        envelope: &Envelope,
        at: &Result<Instant, Error>,
        alone: bool,
    ) -> Option<Prepared> {
        if let Command::ReloadRules(_) = &envelope.command {
            let compiled = if alone {
                self.compile_reload()
            } else {
                Err(Error::bad_request(
                    "`reload_rules` runs alone, not in a batch of commands",
                ))
            };
            return Some(Prepared::Reload(compiled, RefCell::new(None)));
        }
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
                let session = self.session();
                let ctx = session.ctx(tx, &actor, at.clone()?);
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

impl OpenCtx for Session<'_> {
    fn ctx<'a, 't>(&'a self, tx: &'a Tx<'t>, actor: &'a Actor, at: Instant) -> Ctx<'a, 't> {
        Ctx {
            tx,
            actor,
            at,
            workflows: &self.installed.workflows,
            rules: &self.installed.rules,
            plugins: &self.engine.plugins,
        }
    }
}

/// What a command worked out before the store was locked (`Engine::prepare`).
pub(crate) enum Prepared {
    /// A sync's marketplace round trip.
    Fetched(shops::Fetched),
    /// A native import's payload, read by its adapter; taken by the command's run (a batch run
    /// again parses it again).
    Parsed(RefCell<Option<Result<Vec<CanonicalOrder>, Error>>>),
    /// `reload_rules`: the pack read again and compiled (or why not), and the slot its handler
    /// fills once the pack is installed, for the engine to swap in after the commit.
    Reload(
        Result<Arc<Installed>, Error>,
        RefCell<Option<Arc<Installed>>>,
    ),
}

impl Prepared {
    pub(crate) fn fetched(&self) -> Option<&shops::Fetched> {
        match self {
            Prepared::Fetched(fetched) => Some(fetched),
            _ => None,
        }
    }

    pub(crate) fn take_parsed(&self) -> Option<Result<Vec<CanonicalOrder>, Error>> {
        match self {
            Prepared::Parsed(parsed) => parsed.borrow_mut().take(),
            _ => None,
        }
    }

    /// A reload's compiled pack and the slot for the installed one.
    #[allow(clippy::type_complexity)]
    pub(crate) fn reload(
        &self,
    ) -> Option<(
        &Result<Arc<Installed>, Error>,
        &RefCell<Option<Arc<Installed>>>,
    )> {
        match self {
            Prepared::Reload(compiled, installed) => Some((compiled, installed)),
            _ => None,
        }
    }
}
