//! Crash safety of `distributary serve`: concurrent HTTP clients on loopback import, pack and
//! push orders (each a distributor of its own, its balance charged at every push) while a
//! supplier tops their balances up, every command with an idempotency key; the server is killed
//! with SIGKILL under that load and restarted on the same store, several times. After every
//! restart: `PRAGMA integrity_check` is ok; every command that was answered is still there (its
//! keyed repeat answers the same, an `ok` as `ok`); every balance equals the sum of its
//! transactions and no order is charged twice; and the clients carry on, resending the command
//! they were waiting on when the server died (its key makes that harmless).
//!
//! Sizes: `CRASH_SERVE_ROUNDS` (default 3) kills, each after `CRASH_SERVE_ACKED` (default 40)
//! more answers. Loopback only (127.0.0.1, a port the OS picks); no assertion is timed.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Mutex,
    },
    thread,
    time::{Duration, Instant},
};

use distributary::{Engine, EngineOptions};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_distributary");
/// Distributors, each driven by a client of its own; one more client is the supplier.
const DISTRIBUTORS: usize = 4;
/// Orders per distributor (three commands each): more than the rounds get through.
const ORDERS_PER_DISTRIBUTOR: usize = 200;
/// The bound on one round reaching its answers (a bound, not an assertion on speed).
const ROUND_WAIT_MAX: Duration = Duration::from_secs(120);

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn distributor(d: usize) -> String {
    format!("dis{d}")
}

/// The store's accounts, partnerships, stock and one token per account, made in process before
/// any server runs; answers the tokens, the supplier's first.
fn set_up(db: &Path) -> Vec<String> {
    let engine = Engine::open(db, EngineOptions::default()).unwrap();
    let send = |actor: &str, cmd: &str, args: Value| -> Value {
        let answer =
            engine.execute_line(&json!({"as": actor, "cmd": cmd, "args": args}).to_string());
        assert_eq!(answer["ok"], json!(true), "setup {cmd}: {answer}");
        answer["result"].clone()
    };
    send(
        "system",
        "create_account",
        json!({"account": "sup", "plan": "V3", "inventory": true, "currency": "MYR"}),
    );
    send(
        "sup",
        "create_warehouse",
        json!({"warehouse": "W", "name": "W", "region": "Selangor"}),
    );
    for p in 0..4 {
        send(
            "sup",
            "publish_product",
            json!({"sku": format!("P{p}"), "name": "p", "price": format!("{}.25", 3 + p)}),
        );
    }
    send(
        "sup",
        "set_fees",
        json!({"handling": "0.50", "shipping": "1.00"}),
    );
    send(
        "sup",
        "push_stock",
        json!({"warehouse": "W", "items": (0..4).map(|p| json!({"sku": format!("P{p}"), "available": 1_000_000})).collect::<Vec<_>>()}),
    );
    let mut tokens = vec![send(
        "system",
        "create_token",
        json!({"account": "sup", "label": "crash"}),
    )["token"]
        .as_str()
        .unwrap()
        .to_owned()];
    for d in 0..DISTRIBUTORS {
        let dis = distributor(d);
        send(
            "system",
            "create_account",
            json!({"account": dis, "plan": "V1", "inventory": true, "currency": "MYR"}),
        );
        let link = send("sup", "create_invitation", json!({"warehouses": ["W"]}))["link"].clone();
        send(&dis, "bind_supplier", json!({"link": link}));
        send(
            "sup",
            "review_partnership",
            json!({"distributor": dis, "approve": true}),
        );
        send(
            "sup",
            "add_balance",
            json!({"distributor": dis, "amount": "5000.00"}),
        );
        send(
            &dis,
            "claim",
            json!({"supplier": "sup", "skus": ["P0", "P1", "P2", "P3"]}),
        );
        for p in 0..4 {
            send(
                &dis,
                "map_store_sku",
                json!({"sku": format!("P{p}"), "marketplace": "shopee", "shop": "s", "store_sku": format!("SP{p}")}),
            );
        }
        tokens.push(
            send(
                "system",
                "create_token",
                json!({"account": dis, "label": "crash"}),
            )["token"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    tokens
}

/// Client `c`'s commands, each with its key: the supplier (client 0) tops the distributors up in
/// turn; a distributor imports, packs and pushes its own orders.
fn commands(c: usize) -> Vec<Value> {
    let keyed = |i: usize, cmd: &str, args: Value| json!({"key": format!("c{c}-{i}"), "cmd": cmd, "args": args});
    if c == 0 {
        return (0..ORDERS_PER_DISTRIBUTOR * 3)
            .map(|i| {
                keyed(
                    i,
                    "add_balance",
                    json!({"distributor": distributor(i % DISTRIBUTORS), "amount": format!("{}.{:02}", 1 + i % 7, i % 100)}),
                )
            })
            .collect();
    }
    (0..ORDERS_PER_DISTRIBUTOR)
        .flat_map(|n| {
            let sn = format!("{c}-{n}");
            let order = format!("shopee:{sn}");
            let lines: Vec<Value> = (0..1 + n % 2)
                .map(|l| json!({"store_sku": format!("SP{}", (n + l) % 4), "qty": 1 + l, "unit_price": "9.90"}))
                .collect();
            [
                keyed(
                    3 * n,
                    "import_orders",
                    json!({"marketplace": "shopee", "format": "canonical", "payload": [{"marketplace": "shopee", "shop": "s", "order_sn": sn, "status": "ready_to_ship", "lines": lines}]}),
                ),
                keyed(3 * n + 1, "pack", json!({"order": order})),
                keyed(3 * n + 2, "push", json!({"order": order})),
            ]
        })
        .collect()
}

/// A running `distributary serve`.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(db: &Path) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let addr = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{first:?}"))
            .to_owned();
        Server { child, addr }
    }

    /// SIGKILL, and wait for the process to be gone.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

fn new_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// POSTs one command; `None` when the server could not be reached or gave no whole answer.
fn send(agent: &ureq::Agent, addr: &str, token: &str, command: &Value) -> Option<Value> {
    let mut response = agent
        .post(format!("http://{addr}/v1/commands"))
        .header("Authorization", &format!("Bearer {token}"))
        .send(command.to_string())
        .ok()?;
    let text = response.body_mut().read_to_string().ok()?;
    serde_json::from_str(&text).ok()
}

/// One client's progress: its next command, and every command it was answered, with the answer.
#[derive(Default)]
struct Progress {
    next: usize,
    answered: Vec<(usize, Value)>,
}

/// Runs every client against `addr` until the server stops answering or its commands run out.
fn drive(
    addr: &str,
    tokens: &[String],
    scripts: &[Vec<Value>],
    progress: &[Mutex<Progress>],
    answers: &AtomicUsize,
    stop: &AtomicBool,
) {
    thread::scope(|scope| {
        for c in 0..tokens.len() {
            let (token, script, progress) = (&tokens[c], &scripts[c], &progress[c]);
            scope.spawn(move || {
                let agent = new_agent();
                loop {
                    let next = progress.lock().unwrap().next;
                    if next >= script.len() || stop.load(Ordering::SeqCst) {
                        return;
                    }
                    // No answer: the server died with this command in flight; it is sent again,
                    // with its key, to the next server.
                    let Some(answer) = send(&agent, addr, token, &script[next]) else {
                        return;
                    };
                    let mut progress = progress.lock().unwrap();
                    progress.answered.push((next, answer));
                    progress.next += 1;
                    answers.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
}

/// The checks on a restarted server: every answered command answers the same again, and every
/// distributor's balance is the sum of its transactions.
fn check(addr: &str, tokens: &[String], scripts: &[Vec<Value>], progress: &[Mutex<Progress>]) {
    let agent = new_agent();
    for (c, progress) in progress.iter().enumerate() {
        for (i, first) in &progress.lock().unwrap().answered {
            let again = send(&agent, addr, &tokens[c], &scripts[c][*i])
                .unwrap_or_else(|| panic!("the restarted server did not answer"));
            assert_eq!(
                &again, first,
                "client {c}'s command {i} answered differently after the kill"
            );
        }
    }
    for (d, token) in tokens.iter().enumerate().skip(1) {
        let balances = send(&agent, addr, token, &json!({"cmd": "balances"})).unwrap();
        let transactions = send(&agent, addr, token, &json!({"cmd": "transactions"})).unwrap();
        let balance = balances["result"]["balances"][0]["balance"]
            .as_str()
            .unwrap_or_else(|| panic!("distributor {d}'s balance: {balances}"));
        let rows = transactions["result"]["transactions"]
            .as_array()
            .unwrap_or_else(|| panic!("distributor {d}'s transactions: {transactions}"));
        distributary_tests::workload::assert_reconciled(balance, rows);
    }
}

#[test]
fn killed_under_load_the_server_keeps_every_answered_command() {
    let rounds = env_or("CRASH_SERVE_ROUNDS", 3);
    let acked_per_round = env_or("CRASH_SERVE_ACKED", 40);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let tokens = set_up(&db);
    let scripts: Vec<Vec<Value>> = (0..tokens.len()).map(commands).collect();
    let progress: Vec<Mutex<Progress>> = (0..tokens.len()).map(|_| Mutex::default()).collect();

    for round in 0..rounds {
        let server = Server::start(&db);
        if round > 0 {
            check(&server.addr, &tokens, &scripts, &progress);
        }
        let answers = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let addr = server.addr.clone();
        thread::scope(|scope| {
            let driving = scope.spawn(|| {
                drive(&addr, &tokens, &scripts, &progress, &answers, &stop);
            });
            let started = Instant::now();
            while answers.load(Ordering::SeqCst) < acked_per_round {
                assert!(
                    started.elapsed() < ROUND_WAIT_MAX && !driving.is_finished(),
                    "round {round}: {} answers",
                    answers.load(Ordering::SeqCst)
                );
                thread::sleep(Duration::from_millis(2));
            }
            // Under load: every client has a request in flight or about to be.
            let pid = server.child.id();
            server.kill();
            stop.store(true, Ordering::SeqCst);
            driving.join().unwrap();
            eprintln!(
                "round {round}: killed {pid} after {} answers",
                answers.load(Ordering::SeqCst)
            );
        });
        let conn = rusqlite::Connection::open(&db).unwrap();
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok", "after round {round}");
    }
    let server = Server::start(&db);
    check(&server.addr, &tokens, &scripts, &progress);
    let answered: usize = progress
        .iter()
        .map(|p| p.lock().unwrap().answered.len())
        .sum();
    let pushed: usize = progress[1..]
        .iter()
        .map(|p| {
            let p = p.lock().unwrap();
            p.answered
                .iter()
                .filter(|(i, a)| i % 3 == 2 && a["ok"] == json!(true))
                .count()
        })
        .sum();
    assert!(
        answered >= rounds * acked_per_round && pushed > 0,
        "{answered} commands answered, {pushed} pushes ok: the load did too little"
    );
    server.kill();
}
