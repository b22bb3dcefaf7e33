//! Contention: several `distributary exec` processes work on one store at once — topping up one
//! ledger account, importing and packing orders that lock stock in two shared cells, pushing each
//! order while a rival process pushes it too. On SQLite (one file) and on PostgreSQL (one
//! database, `DISTRIBUTARY_TEST_PG`): no answer is a failure of the machine (`SQLITE_BUSY`, a
//! deadlock, a serialization failure: `internal`), no update of a balance, a stock cell or an
//! order is lost. Afterwards, read through the engine's own queries so that one check serves both
//! backends: the balance equals the sum of its transactions, which are every top-up and one
//! charge per order (each order pushed exactly once, whichever process won), and the cells hold
//! exactly what the orders locked; no command deadlocked (the engine's log says why it ran one
//! again).
//!
//! Sizes: `CONTENTION_PROCESSES` (default 3) processes of `CONTENTION_ROUNDS` (default 40)
//! rounds each. RELIABILITY.md records a run at 4 × 500 on PostgreSQL.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Command, Stdio},
    thread,
};

use distributary_tests::pg::Database;
use rust_decimal::Decimal;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_distributary");

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `requests` through one `distributary exec` on `db` and returns its answers.
fn exec(db: &Path, requests: &[Value]) -> Vec<Value> {
    exec_logged(db, requests).0
}

/// [`exec`], with what the process logged (the engine's reruns after a conflict).
fn exec_logged(db: &Path, requests: &[Value]) -> (Vec<Value>, String) {
    let mut child = Command::new(BIN)
        .args(["exec", "--db", db.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input: String = requests.iter().map(|r| format!("{r}\n")).collect();
    let writer = thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let logger = thread::spawn(move || {
        let mut log = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut log).unwrap();
        log
    });
    let answers: Vec<Value> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    writer.join().unwrap();
    let log = logger.join().unwrap();
    assert!(child.wait().unwrap().success(), "{log}");
    assert_eq!(answers.len(), requests.len());
    (answers, log)
}

fn request(actor: &str, cmd: &str, args: Value) -> Value {
    json!({"as": actor, "cmd": cmd, "args": args})
}

fn ok(answers: &[Value]) {
    for answer in answers {
        assert_eq!(answer["ok"], json!(true), "{answer}");
    }
}

/// What a rival's push of an order may answer besides success: the owner pushed it first
/// (`invalid_transition`), or the owner has not imported or packed it yet.
const RIVAL_REFUSALS: &[&str] = &["invalid_transition", "not_found"];

#[test]
fn processes_on_one_sqlite_store_lose_no_update_and_never_see_busy() {
    let dir = tempfile::tempdir().unwrap();
    contend(&dir.path().join("shared.db"));
}

#[test]
fn processes_on_one_postgres_database_lose_no_update_and_never_see_a_conflict() {
    let Some(database) = Database::create("the contention suite") else {
        return;
    };
    contend(&database.path());
}

/// The accounts, the partnership, the product with its stock and mapping the rounds work on.
fn set_up(db: &Path) {
    let setup = [
        request(
            "system",
            "create_account",
            json!({"account": "sup", "plan": "V3", "inventory": true, "currency": "MYR"}),
        ),
        request(
            "system",
            "create_account",
            json!({"account": "dis", "plan": "V1", "inventory": true, "currency": "MYR"}),
        ),
        request(
            "sup",
            "create_warehouse",
            json!({"warehouse": "W", "name": "W", "region": "Selangor"}),
        ),
        request(
            "sup",
            "publish_product",
            json!({"sku": "MUG", "name": "Mug", "price": "2.00"}),
        ),
        request(
            "sup",
            "publish_product",
            json!({"sku": "CAP", "name": "Cap", "price": "1.00"}),
        ),
        request(
            "sup",
            "push_stock",
            json!({"warehouse": "W", "items": [{"sku": "MUG", "available": 1_000_000}, {"sku": "CAP", "available": 1_000_000}]}),
        ),
        request("sup", "create_invitation", json!({"warehouses": ["W"]})),
    ];
    let answers = exec(db, &setup);
    ok(&answers);
    let link = answers[6]["result"]["link"].clone();
    ok(&exec(
        db,
        &[
            request("dis", "bind_supplier", json!({"link": link})),
            request(
                "sup",
                "review_partnership",
                json!({"distributor": "dis", "approve": true}),
            ),
            request(
                "dis",
                "claim",
                json!({"supplier": "sup", "skus": ["MUG", "CAP"]}),
            ),
            request(
                "dis",
                "map_store_sku",
                json!({"sku": "MUG", "marketplace": "shopee", "shop": "s", "store_sku": "SP-MUG"}),
            ),
            request(
                "dis",
                "map_store_sku",
                json!({"sku": "CAP", "marketplace": "shopee", "shop": "s", "store_sku": "SP-CAP"}),
            ),
        ],
    ));
}

/// The requests of process `p` of `processes`: each round a top-up of 10.00; a top-up of 1.00
/// under the round's idempotency key, which every process sends (one runs, the others replay its
/// answer, whichever inserted the key first); an order of `p + 1` mugs and a cap imported and
/// packed (a lock on each of the two shared cells), its push, a rival push of the order process `p + 1` makes in the same
/// round (so that two processes push one order at once); and a query.
fn rounds_of(p: usize, processes: usize, rounds: usize) -> Vec<Value> {
    let rival = (p + 1) % processes;
    let mut requests = Vec::new();
    for r in 0..rounds {
        requests.push(request(
            "sup",
            "add_balance",
            json!({"distributor": "dis", "amount": "10.00"}),
        ));
        let mut shared = request(
            "sup",
            "add_balance",
            json!({"distributor": "dis", "amount": "1.00"}),
        );
        shared["key"] = json!(format!("shared-{r}"));
        requests.push(shared);
        // Two lines, in one order in even processes and the other in odd ones: packing locks
        // both cells, and two packs must not take them in opposite orders.
        let mut lines = vec![
            json!({"store_sku": "SP-MUG", "qty": p + 1, "unit_price": "19.90"}),
            json!({"store_sku": "SP-CAP", "qty": 1, "unit_price": "9.90"}),
        ];
        if p % 2 == 1 {
            lines.reverse();
        }
        requests.push(request(
            "dis",
            "import_orders",
            json!({"marketplace": "shopee", "format": "canonical", "payload": [{"marketplace": "shopee", "shop": "s", "order_sn": format!("{p}-{r}"), "status": "ready_to_ship", "lines": lines}]}),
        ));
        requests.push(request(
            "dis",
            "pack",
            json!({"order": format!("shopee:{p}-{r}")}),
        ));
        requests.push(request(
            "dis",
            "push",
            json!({"order": format!("shopee:{p}-{r}")}),
        ));
        requests.push(request(
            "dis",
            "push",
            json!({"order": format!("shopee:{rival}-{r}")}),
        ));
        requests.push(request("dis", "stock", json!({"sku": "MUG"})));
    }
    requests
}

/// Runs the rounds of every process at once on `db`, then checks the store.
fn contend(db: &Path) {
    let processes = env_or("CONTENTION_PROCESSES", 3);
    let rounds = env_or("CONTENTION_ROUNDS", 40);
    set_up(db);
    let started = std::time::Instant::now();
    let workers: Vec<_> = (0..processes)
        .map(|p| {
            let db = db.to_owned();
            thread::spawn(move || {
                let requests = rounds_of(p, processes, rounds);
                let (answers, log) = exec_logged(&db, &requests);
                (requests, answers, log)
            })
        })
        .collect();
    let mut pushed = 0;
    let mut keyed: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut reruns: BTreeMap<String, usize> = BTreeMap::new();
    let mut attempt_max = 0;
    for worker in workers {
        let (requests, answers, log) = worker.join().unwrap();
        for line in log.lines().filter(|l| l.contains("running it again")) {
            *reruns.entry(rerun_cause(line)).or_default() += 1;
            let attempt = line
                .split("attempt=")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse::<u32>().ok());
            attempt_max = attempt_max.max(attempt.unwrap_or(0));
        }
        for (request, answer) in requests.iter().zip(&answers) {
            if let Some(key) = request["key"].as_str() {
                keyed
                    .entry(key.to_owned())
                    .or_default()
                    .push(answer.clone());
            }
            if request["cmd"] != "push" {
                assert_eq!(answer["ok"], json!(true), "{request} answered {answer}");
                continue;
            }
            // A push may lose to its rival, never to the machine.
            if answer["ok"] == json!(true) {
                pushed += 1;
            } else {
                let code = answer["error"]["code"].as_str().unwrap_or_default();
                assert!(
                    RIVAL_REFUSALS.contains(&code),
                    "{request} answered {answer}"
                );
            }
        }
    }
    // A key sent by every process at once ran once: each answer is the first one's.
    assert_eq!(keyed.len(), rounds);
    for (key, answers) in &keyed {
        assert_eq!(answers.len(), processes);
        assert!(
            answers.iter().all(|a| a == &answers[0]),
            "{key} answered differently: {answers:?}"
        );
    }
    eprintln!(
        "contention: {processes} processes x {rounds} rounds on {} in {:.1} s; reruns: \
         {reruns:?}, the most for one transaction {attempt_max}",
        if db.to_str().is_some_and(|d| d.starts_with("postgres")) {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        started.elapsed().as_secs_f64()
    );
    // Every command here locks one pair's rows, in the fixed order: none can deadlock.
    assert!(
        !reruns.keys().any(|cause| cause.contains("deadlock")),
        "a command deadlocked: {reruns:?}"
    );
    check_store(db, processes, rounds, pushed);
}

/// Why the engine ran a transaction again, from its log line, without the numbers that differ
/// between lines (an order's, a SQLSTATE's).
fn rerun_cause(line: &str) -> String {
    let error = line.split("error=").nth(1).unwrap_or(line);
    error
        .chars()
        .filter(|c| !c.is_ascii_digit() && !matches!(c, '"' | '\\'))
        .collect()
}

/// The end state, read through the engine's queries: the ledger reconciles, every order is
/// charged exactly once (and pushed by exactly one answer), and the cells hold what they locked.
fn check_store(db: &Path, processes: usize, rounds: usize, pushed: usize) {
    let orders = processes * rounds;
    assert_eq!(pushed, orders, "each order is pushed by exactly one answer");
    let answers = exec(
        db,
        &[
            request("sup", "balances", json!({})),
            request("sup", "transactions", json!({"distributor": "dis"})),
            request("dis", "stock", json!({"sku": "MUG"})),
            request("dis", "stock", json!({"sku": "CAP"})),
        ],
    );
    ok(&answers);
    let balance = answers[0]["result"]["balances"][0]["balance"]
        .as_str()
        .unwrap();
    let transactions = answers[1]["result"]["transactions"].as_array().unwrap();
    distributary_tests::workload::assert_reconciled(balance, transactions);
    let of_kind = |kind: &str| {
        transactions
            .iter()
            .filter(|t| t["type"] == json!(kind))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of_kind("add_balance").len(),
        orders + rounds,
        "every top-up is there, a keyed one once"
    );
    let charges = of_kind("order_charge");
    let charged: std::collections::BTreeSet<&str> =
        charges.iter().filter_map(|t| t["order"].as_str()).collect();
    assert_eq!(charges.len(), orders, "one charge per order");
    assert_eq!(charged.len(), orders, "no order is charged twice");
    let mugs: usize = (0..processes).map(|p| (p + 1) * rounds).sum();
    let charged_total: Decimal = charges
        .iter()
        .map(|t| t["amount"].as_str().unwrap().parse::<Decimal>().unwrap())
        .sum();
    assert_eq!(
        balance.parse::<Decimal>().unwrap(),
        Decimal::from(10 * orders + rounds) + charged_total,
        "the balance is every top-up less every charge"
    );
    assert!(
        charged_total <= -Decimal::from(2 * mugs + orders),
        "each order is charged at least its goods: {charged_total}"
    );
    for (answer, locked) in [(&answers[2], mugs), (&answers[3], orders)] {
        let cells = answer["result"]["warehouses"].as_array().unwrap();
        assert_eq!(cells.len(), 1, "{cells:?}");
        assert_eq!(cells[0]["locked"], json!(locked), "{cells:?}");
        assert_eq!(
            cells[0]["available"],
            json!(1_000_000 - locked),
            "{cells:?}"
        );
    }
}
