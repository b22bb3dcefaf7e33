//! Faults: the engine's named failpoints (its `failpoints` feature, the `fail` crate) make one
//! operation of a seeded order workload fail or panic, in-process, on a store file:
//!
//! - `commit.before` — just before a transaction's COMMIT (`Store::write`: every command batch,
//!   every delivery drain);
//! - `ledger.after_append` — after a ledger transaction row is inserted, before the balance
//!   follows it (`Tx::append_transaction`);
//! - `delivery.during` — inside a delivery (in the transaction of the write command that queued
//!   it, or in the drain after it), after the queue row is taken and before the order is
//!   delivered (`orders::deliver`);
//! - `plugin.call` — around every call into a marketplace adapter (`PluginAdapter::call`); the
//!   workload imports half its orders as Shopee's native payload, parsed by the real adapter.
//!
//! Each failpoint runs the workload once per action: `return` (a failure of the machine:
//! `internal`; for `plugin.call` the plugin answering an error: `plugin_error`),
//! `return(rule_error)` (a failure the command owns, remembered under its idempotency key), and
//! `panic`. The workload is sent a command at a time (`execute_line`), then again cut into
//! batches of 1 to 4 (`execute_batch`, one transaction each; `internal` faults only). A clean run
//! first counts how often each send passes each failpoint, so every fault is aimed at a send that
//! reaches it, at one of its passes (the first, or a random one: the drain's commit after the
//! command's, a later ledger row). A fault that fails a send must have changed nothing (every
//! table as before, but one idempotency row for a remembered failure); the host then retries as a
//! host would (an `internal` answer with the same key, a remembered failure under a new key), and
//! `PRAGMA integrity_check` is ok, the delivery queue drains to nothing, every answered command is
//! still there (its idempotent repeat answers the same), every balance equals the sum of its
//! transactions and no order is charged twice. Every other fault reopens the engine; after the
//! others the same engine goes on (a panic must leave it usable, and must never reach the host).
//! Every answer equals the clean run's, and so do the final ledger and orders, but for one thing:
//! an answer tells the state its commit left, so a push whose delivery round a fault stopped
//! answers `pushing` (its order is then left `pushing`, and must be) where the clean run's, whose
//! round delivered, answers `pushed`; everything else of that answer is still held equal.
//!
//! Sizes: `FAULT_COMMANDS` (default 120) commands, `FAULT_FAULTS` (default 3) faults per failpoint
//! and action, seed `FAULT_SEED` (default 11); about 8 s in a debug build. The failpoint registry
//! is global to the process, so everything runs in one `#[test]`.

use std::{
    collections::{BTreeMap, BTreeSet},
    ops::Range,
    panic::{catch_unwind, AssertUnwindSafe},
    path::{Path, PathBuf},
    sync::atomic::{AtomicUsize, Ordering},
};

use distributary::{
    command::answer,
    store::{Durability, StoreOptions},
    Engine, EngineOptions, Envelope, RulePack,
};
use rand::{rngs::StdRng, seq::IteratorRandom, Rng, SeedableRng};
use serde_json::{json, Value};

const FAILPOINTS: [&str; 4] = [
    "commit.before",
    "ledger.after_append",
    "delivery.during",
    "plugin.call",
];

/// Each failpoint with the actions it is run with.
const SCENARIOS: [(&str, &str); 10] = [
    ("commit.before", "return"),
    ("commit.before", "panic"),
    ("ledger.after_append", "return"),
    ("ledger.after_append", "return(rule_error)"),
    ("ledger.after_append", "panic"),
    ("delivery.during", "return"),
    ("delivery.during", "return(rule_error)"),
    ("delivery.during", "panic"),
    ("plugin.call", "return"),
    ("plugin.call", "panic"),
];

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------- the workload

// ---------------------------------------------------------------- the host

/// The Shopee adapter, built by cargo and copied to a directory of its own.
fn plugins_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    distributary_tests::build_adapter("distributary-adapter-shopee", dir.path());
    dir
}

fn open(db: &Path, plugins: &Path) -> Engine {
    let options = EngineOptions {
        rules: RulePack::embedded(),
        plugins_dir: Some(plugins.to_owned()),
        // Faults here are of the process, not of the power: skip the fsyncs, keep CI fast.
        store: StoreOptions {
            durability: Durability::Normal,
        },
        auto_deliver: true,
    };
    let engine = Engine::open(db, options).unwrap_or_else(|e| panic!("open: {e:?}"));
    assert_eq!(
        engine.plugins().plugins().len(),
        1,
        "the Shopee adapter did not load: {:?}",
        engine.plugins().refused()
    );
    engine
}

/// A host: one engine on one store file, the answers it got and the request each answers.
struct Host {
    engine: Option<Engine>,
    db: PathBuf,
    plugins: PathBuf,
    link: String,
    sent: Vec<Value>,
    answers: Vec<Value>,
}

impl Host {
    fn new(db: PathBuf, plugins: &Path) -> Host {
        Host {
            engine: Some(open(&db, plugins)),
            db,
            plugins: plugins.to_owned(),
            link: String::new(),
            sent: Vec::new(),
            answers: Vec::new(),
        }
    }

    fn engine(&self) -> &Engine {
        self.engine.as_ref().unwrap()
    }

    /// Sends one request; a panic must not escape the engine.
    fn ask(&self, request: &Value) -> Value {
        let line = request.to_string().replace("${link}", &self.link);
        catch_unwind(AssertUnwindSafe(|| self.engine().execute_line(&line))).unwrap_or_else(
            |payload| {
                panic!(
                    "a panic escaped Engine::execute_line for {line}: {:?}",
                    payload
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| payload.downcast_ref::<&str>().copied())
                )
            },
        )
    }

    /// Sends requests as one batch (`Engine::execute_batch`, one transaction), or a single one
    /// as a line; a panic must not escape the engine.
    fn ask_all(&self, requests: &[Value]) -> Vec<Value> {
        if let [request] = requests {
            return vec![self.ask(request)];
        }
        let envelopes: Vec<Envelope> = requests
            .iter()
            .map(|r| Envelope::parse(&r.to_string().replace("${link}", &self.link)).unwrap())
            .collect();
        let results = catch_unwind(AssertUnwindSafe(|| self.engine().execute_batch(&envelopes)))
            .unwrap_or_else(|_| panic!("a panic escaped Engine::execute_batch"));
        assert_eq!(results.len(), envelopes.len());
        envelopes
            .iter()
            .zip(&results)
            .map(|(envelope, result)| answer(&envelope.id, result))
            .collect()
    }

    fn keep(&mut self, request: Value, answer: Value) {
        if let Some(link) = answer["result"]["link"].as_str() {
            self.link = link.to_owned();
        }
        self.sent.push(request);
        self.answers.push(answer);
    }

    /// An answer with this run's invitation (random) written as `${link}`, to compare runs.
    fn normal(&self, answer: &Value) -> String {
        let text = answer.to_string();
        let link = answer["result"]["link"].as_str().unwrap_or(&self.link);
        match link.rsplit('/').next() {
            Some(token) if !token.is_empty() => text.replace(token, "${token}"),
            _ => text,
        }
    }

    fn orders_in(&self, state: &str) -> Vec<Value> {
        let answer = self.ask(&json!({"as": "dis", "cmd": "orders", "args": {"state": state}}));
        assert_eq!(answer["ok"], json!(true), "orders query: {answer}");
        answer["result"]["orders"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn reopen(&mut self) {
        // The old engine (and its connection) is gone before the new one opens.
        self.engine = None;
        self.engine = Some(open(&self.db, &self.plugins));
    }

    /// Every row of every table, sorted, by table.
    fn tables(&self) -> BTreeMap<String, Vec<String>> {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        let mut names = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .unwrap();
        let names: Vec<String> = names
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        names
            .into_iter()
            .map(|name| {
                let mut stmt = conn.prepare(&format!("SELECT * FROM \"{name}\"")).unwrap();
                let columns = stmt.column_count();
                let mut rows: Vec<String> = stmt
                    .query_map([], |r| {
                        (0..columns)
                            .map(|c| r.get::<_, rusqlite::types::Value>(c))
                            .collect::<Result<Vec<_>, _>>()
                            .map(|row| format!("{row:?}"))
                    })
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                rows.sort();
                (name, rows)
            })
            .collect()
    }

    /// The checks after a fault. `offset` varies which answered commands are repeated.
    fn check(&self, offset: usize) {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
        drop(conn);
        // The delivery queue resumes: one drain without faults leaves nothing pushing.
        self.engine()
            .drain_deliveries()
            .expect("a drain without faults");
        let pushing = self.orders_in("pushing");
        assert!(pushing.is_empty(), "orders stuck in `pushing`: {pushing:?}");
        // Every answered command is still there: its repeat answers exactly the same.
        for i in (offset % 7..self.answers.len()).step_by(7) {
            let again = self.ask(&self.sent[i]);
            assert_eq!(
                again, self.answers[i],
                "command {i} answered differently after the fault: {}",
                self.sent[i]
            );
        }
        let balances = self.ask(&json!({"as": "dis", "cmd": "balances"}));
        let txns = self.ask(&json!({"as": "dis", "cmd": "transactions"}));
        let (Some(balance), Some(rows)) = (
            balances["result"]["balances"][0]["balance"].as_str(),
            txns["result"]["transactions"].as_array(),
        ) else {
            return; // not partnered yet: no ledger account
        };
        distributary_tests::workload::assert_reconciled(balance, rows);
    }

    /// The ledger and the order states, without wall-clock fields.
    fn final_state(&self) -> (Vec<Value>, Value) {
        self.engine().drain_deliveries().expect("the final drain");
        let answer = self.ask(&json!({"as": "dis", "cmd": "transactions"}));
        let mut txns = answer["result"]["transactions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for t in &mut txns {
            t.as_object_mut().unwrap().remove("at");
        }
        let orders = self.ask(&json!({"as": "dis", "cmd": "orders"}))["result"].clone();
        (txns, orders)
    }
}

// ---------------------------------------------------------------- the runs

/// The workload's setup (accounts to store SKU mappings) runs a command at a time: the
/// invitation's link is needed by the next command.
const SETUP_COMMANDS: usize = 18;

/// The largest batch of a batched run.
const BATCH_MAX: usize = 4;

/// How the workload is cut into what is sent at once: single commands, or batches of 1 to
/// [`BATCH_MAX`] after the setup.
fn cut(commands: usize, batched: bool, rng: &mut StdRng) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < commands {
        let size = if batched && start >= SETUP_COMMANDS {
            rng.random_range(1..=BATCH_MAX)
        } else {
            1
        };
        let end = (start + size).min(commands);
        out.push(start..end);
        start = end;
    }
    out
}

static HITS: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

/// The clean run, counting how often each batch passes each failpoint (a `cfg_callback` action
/// only counts).
fn clean_run(
    db: PathBuf,
    plugins: &Path,
    requests: &[Value],
    batches: &[Range<usize>],
) -> (Host, Vec<[usize; 4]>) {
    for (index, name) in FAILPOINTS.iter().enumerate() {
        fail::cfg_callback(*name, move || {
            HITS[index].fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
    let mut host = Host::new(db, plugins);
    let mut passes = Vec::new();
    for batch in batches {
        let before: Vec<usize> = HITS.iter().map(|h| h.load(Ordering::SeqCst)).collect();
        let answers = host.ask_all(&requests[batch.clone()]);
        for (request, answer) in requests[batch.clone()].iter().zip(answers) {
            assert_ne!(answer["error"]["code"], "internal", "{request}: {answer}");
            host.keep(request.clone(), answer);
        }
        passes.push(std::array::from_fn(|f| {
            HITS[f].load(Ordering::SeqCst) - before[f]
        }));
    }
    for name in FAILPOINTS {
        fail::remove(name);
    }
    (host, passes)
}

/// A push's answer as it reads had its delivery round run: when the fault stopped the round, the
/// order is left `pushing` and the answer must say so (an answer tells the state its commit left);
/// it is then compared with the clean run's with the clean run's state. Any other answer as it is.
fn as_delivered(
    request: &Value,
    answer: &Value,
    expected: &str,
    stuck: &[Value],
    context: &str,
) -> Value {
    let order = &request["args"]["order"];
    let left_pushing = stuck.iter().any(|o| &o["order"] == order);
    if request["cmd"] != "push" || answer["ok"] != json!(true) || !left_pushing {
        return answer.clone();
    }
    assert_eq!(
        answer["result"]["state"], "pushing",
        "{context}: the order was left `pushing`, its push answered otherwise: {answer}"
    );
    let clean: Value = serde_json::from_str(expected).unwrap();
    let mut answer = answer.clone();
    answer["result"]["state"] = clean["result"]["state"].clone();
    answer
}

/// What a fired fault answers, and whether the engine remembers it under the key.
fn expected_failure(failpoint: &str, action: &str) -> (&'static str, bool) {
    match (failpoint, action) {
        ("plugin.call", "return") => ("plugin_error", true),
        (_, "return(rule_error)") => ("rule_error", true),
        _ => ("internal", false),
    }
}

/// One clean run and what the faulted runs compare with.
struct Clean<'a> {
    host: Host,
    requests: &'a [Value],
    batches: &'a [Range<usize>],
    passes: Vec<[usize; 4]>,
}

/// Runs the workload (cut as the clean run was) with `faults` faults of one failpoint and
/// action; returns the host and how many faults showed (in an answer, or as an order left
/// `pushing`).
fn faulted_run(
    db: PathBuf,
    plugins: &Path,
    clean: &Clean<'_>,
    (failpoint, action): (&str, &str),
    faults: usize,
    rng: &mut StdRng,
) -> (Host, usize) {
    let f = FAILPOINTS.iter().position(|n| *n == failpoint).unwrap();
    let reaching = (0..clean.batches.len()).filter(|&b| clean.passes[b][f] > 0);
    let aimed: BTreeSet<usize> = reaching.choose_multiple(rng, faults).into_iter().collect();
    assert!(!aimed.is_empty(), "nothing reaches {failpoint}");
    let (code, remembered) = expected_failure(failpoint, action);
    let mut host = Host::new(db, plugins);
    let (mut armed, mut shown) = (0, 0);
    for (b, batch) in clean.batches.iter().enumerate() {
        let requests = &clean.requests[batch.clone()];
        let expected: Vec<String> = batch
            .clone()
            .map(|i| clean.host.normal(&clean.host.answers[i]))
            .collect();
        if !aimed.contains(&b) {
            for (k, answer) in host.ask_all(requests).into_iter().enumerate() {
                assert_eq!(
                    host.normal(&answer),
                    expected[k],
                    "command {}",
                    batch.start + k
                );
                host.keep(requests[k].clone(), answer);
            }
            continue;
        }
        // The first fault and half the others hit the first pass (a command's own commit, say),
        // which always shows; the rest any pass (the delivery drain's commit after the command,
        // which shows only when it had deliveries, or a later ledger row of the same command).
        let pass = if armed == 0 || rng.random_bool(0.5) {
            0
        } else {
            rng.random_range(0..clean.passes[b][f])
        };
        let actions = if pass == 0 {
            format!("1*{action}")
        } else {
            format!("{pass}*off->1*{action}")
        };
        let before = host.tables();
        fail::cfg(failpoint, &actions).unwrap();
        armed += 1;
        let answers = host.ask_all(requests);
        fail::remove(failpoint);
        let context = format!("commands {batch:?} with {failpoint}={actions}: {requests:?}");
        let stuck = host.orders_in("pushing");
        let normal: Vec<String> = requests
            .iter()
            .zip(&answers)
            .zip(&expected)
            .map(|((request, answer), expected)| {
                host.normal(&as_delivered(request, answer, expected, &stuck, &context))
            })
            .collect();
        if normal == expected {
            for (request, answer) in requests.iter().zip(answers) {
                host.keep(request.clone(), answer);
            }
            shown += usize::from(!stuck.is_empty());
        } else {
            shown += 1;
            // A fault fails the whole batch (a batch of one, when the failure is remembered).
            assert!(!remembered || requests.len() == 1, "{context}");
            for answer in &answers {
                assert_eq!(answer["error"]["code"], code, "{context}: {answer}");
            }
            // A failed command changed nothing, but for the failure remembered under its key.
            let mut after = host.tables();
            let remembers = after["idempotency"].len() - before["idempotency"].len();
            assert_eq!(
                remembers,
                usize::from(remembered),
                "{context}: idempotency rows"
            );
            after.insert("idempotency".to_owned(), before["idempotency"].clone());
            assert!(
                after == before,
                "{context}: the failed command left changes"
            );
            let mut retries = requests.to_vec();
            if remembered {
                // A failure the command owns is remembered under its key; the host sends the
                // command again under a new key.
                assert_eq!(host.ask_all(requests), answers, "{context}: not remembered");
                for retry in &mut retries {
                    retry["key"] = json!(format!("{}/retry", retry["key"].as_str().unwrap()));
                }
            }
            let again = host.ask_all(&retries);
            for (k, (retry, answer)) in retries.into_iter().zip(again).enumerate() {
                assert_eq!(host.normal(&answer), expected[k], "{context}: the retry");
                host.keep(retry, answer);
            }
        }
        host.check(b);
        if armed % 2 == 1 {
            host.reopen();
        }
    }
    (host, shown)
}

#[test]
fn faults_at_named_failpoints_leave_the_store_as_if_none_happened() {
    let seed = env_or("FAULT_SEED", 11);
    let commands = env_or("FAULT_COMMANDS", 120) as usize;
    let faults = env_or("FAULT_FAULTS", 3) as usize;
    let requests = distributary_tests::workload::orders(seed, commands, true);
    let plugins = plugins_dir();
    let dir = tempfile::tempdir().unwrap();

    // Panics of a failpoint are the test's own: keep them out of the output.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if !message.starts_with("failpoint ") {
            default_hook(info);
        }
    }));

    let mut rng = StdRng::seed_from_u64(seed ^ 0xFA17);
    for batched in [false, true] {
        let batches = cut(requests.len(), batched, &mut rng);
        let mode = if batched { "batched" } else { "single" };
        let db = dir.path().join(format!("clean-{mode}.db"));
        let (host, passes) = clean_run(db, plugins.path(), &requests, &batches);
        let ok = host
            .answers
            .iter()
            .filter(|a| a["ok"] == json!(true))
            .count();
        assert!(ok > requests.len() / 3, "the workload mostly fails");
        for (f, name) in FAILPOINTS.iter().enumerate() {
            let reached = passes.iter().filter(|p| p[f] > 0).count();
            assert!(
                reached > 0,
                "only {reached} {mode} sends reach {name}: raise FAULT_COMMANDS"
            );
        }
        host.check(0);
        let clean_state = host.final_state();
        let clean = Clean {
            host,
            requests: &requests,
            batches: &batches,
            passes,
        };
        for (n, scenario) in SCENARIOS.iter().enumerate() {
            if batched && expected_failure(scenario.0, scenario.1).1 {
                continue; // a remembered failure is retried alone, out of its batch's order
            }
            let db = dir.path().join(format!("faulted-{mode}-{n}.db"));
            let started = std::time::Instant::now();
            let (host, shown) =
                faulted_run(db, plugins.path(), &clean, *scenario, faults, &mut rng);
            println!(
                "{mode} {scenario:?}: {shown} of {faults} faults showed ({:?})",
                started.elapsed()
            );
            assert!(shown > 0, "{mode} {scenario:?}: no fault showed");
            assert_eq!(
                host.final_state(),
                clean_state,
                "{mode} {scenario:?}: the faulted run's ledger or orders differ"
            );
        }
    }
}
