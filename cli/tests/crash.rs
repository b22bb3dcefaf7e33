//! Crash safety: a seeded order workload runs in a child `distributary exec` that is killed with
//! SIGKILL at random points and restarted on the same store, many times. After every restart the
//! store is intact, every answered command is still there (its idempotent repeat answers the
//! same), every balance equals the sum of its transactions, no order is charged twice, the
//! delivery queue resumes, and the final ledger equals that of an uncrashed run with the seed.
//!
//! Sizes: `CRASH_COMMANDS` (default 240) commands, `CRASH_KILLS` (default 12) kills, seed
//! `CRASH_SEED` (default 7).

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
};

use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_distributary");

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn add(out: &mut Vec<Value>, actor: &str, cmd: &str, args: Value) {
    let i = out.len();
    out.push(json!({"id": i, "key": format!("k{i}"), "at": format!("2026-11-27T{:02}:{:02}:{:02}Z", 10 + i / 3600, i / 60 % 60, i % 60),
                    "as": actor, "cmd": cmd, "args": args}));
}

/// The workload: requests with idempotency keys and fixed logical times, so a request resent
/// after a crash is harmless and both runs see the same clock. `${link}` is the invitation.
fn workload(seed: u64, commands: usize) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    add(
        &mut out,
        "system",
        "create_account",
        json!({"account": "sup", "plan": "V3", "inventory": true, "currency": "MYR"}),
    );
    add(
        &mut out,
        "system",
        "create_account",
        json!({"account": "dis", "plan": "V1", "inventory": true, "currency": "MYR"}),
    );
    add(
        &mut out,
        "sup",
        "create_warehouse",
        json!({"warehouse": "W", "name": "W", "region": "Selangor"}),
    );
    for p in 0..4 {
        add(
            &mut out,
            "sup",
            "publish_product",
            json!({"sku": format!("P{p}"), "name": "p", "price": format!("{}.25", 3 + p)}),
        );
    }
    add(
        &mut out,
        "sup",
        "set_fees",
        json!({"handling": "0.50", "shipping": "1.00"}),
    );
    add(
        &mut out,
        "sup",
        "push_stock",
        json!({"warehouse": "W", "items": (0..4).map(|p| json!({"sku": format!("P{p}"), "available": 200})).collect::<Vec<_>>()}),
    );
    add(
        &mut out,
        "sup",
        "create_invitation",
        json!({"warehouses": ["W"]}),
    );
    add(&mut out, "dis", "bind_supplier", json!({"link": "${link}"}));
    add(
        &mut out,
        "sup",
        "review_partnership",
        json!({"distributor": "dis", "approve": true}),
    );
    add(
        &mut out,
        "sup",
        "add_balance",
        json!({"distributor": "dis", "amount": "60.00"}),
    );
    add(
        &mut out,
        "dis",
        "claim",
        json!({"supplier": "sup", "skus": ["P0", "P1", "P2", "P3"]}),
    );
    for p in 0..4 {
        add(
            &mut out,
            "dis",
            "map_store_sku",
            json!({"sku": format!("P{p}"), "marketplace": "shopee", "shop": "s", "store_sku": format!("SP{p}")}),
        );
    }
    let mut orders = 0usize;
    while out.len() < commands {
        let pick = |rng: &mut StdRng, orders: usize| {
            format!("shopee:{}", rng.random_range(0..orders.max(1)))
        };
        match rng.random_range(0..10) {
            0..=2 => {
                let lines: Vec<Value> = (0..rng.random_range(1..3))
                    .map(|l| json!({"store_sku": format!("SP{}", (orders + l) % 4), "qty": 1 + l}))
                    .collect();
                add(
                    &mut out,
                    "dis",
                    "import_orders",
                    json!({"marketplace": "shopee", "format": "canonical", "payload": [{"marketplace": "shopee", "shop": "s", "order_sn": orders.to_string(), "status": "ready_to_ship", "lines": lines}]}),
                );
                orders += 1;
            }
            3 | 4 => add(
                &mut out,
                "dis",
                "pack",
                json!({"order": pick(&mut rng, orders)}),
            ),
            5 | 6 => add(
                &mut out,
                "dis",
                "push",
                json!({"order": pick(&mut rng, orders)}),
            ),
            7 => add(
                &mut out,
                "sup",
                "add_balance",
                json!({"distributor": "dis", "amount": format!("{}.{:02}", rng.random_range(1..30), rng.random_range(0..100))}),
            ),
            8 => add(
                &mut out,
                "sup",
                "ship_order",
                json!({"order": pick(&mut rng, orders)}),
            ),
            _ => {
                let o = rng.random_range(0..orders.max(1));
                add(
                    &mut out,
                    "dis",
                    "import_orders",
                    json!({"marketplace": "shopee", "format": "canonical", "payload": [{"marketplace": "shopee", "shop": "s", "order_sn": o.to_string(), "status": "cancelled", "lines": [{"store_sku": "SP0", "qty": 1}]}]}),
                );
            }
        }
    }
    out
}

struct Exec {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Exec {
    fn start(db: &Path) -> Exec {
        let mut child = Command::new(BIN)
            .args(["exec", "--db", db.to_str().unwrap()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Exec {
            child,
            stdin,
            stdout,
        }
    }

    fn send(&mut self, request: &Value) {
        writeln!(self.stdin, "{request}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn answer(&mut self) -> Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad answer {line:?}: {e}"))
    }

    fn ask(&mut self, request: &Value) -> Value {
        self.send(request);
        self.answer()
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

fn with_link(request: &Value, link: &str) -> Value {
    serde_json::from_str(&request.to_string().replace("${link}", link)).unwrap()
}

/// Runs the workload, killing the process at the given command indexes (after sending the
/// command, before reading its answer, or after reading it). Returns every answer.
fn run(db: &Path, requests: &[Value], kills: &BTreeMap<usize, bool>) -> Vec<Value> {
    let mut kills = kills.clone();
    let mut answers: Vec<Value> = Vec::new();
    let mut link = String::new();
    let mut exec = Exec::start(db);
    let mut i = 0;
    while i < requests.len() {
        let request = with_link(&requests[i], &link);
        exec.send(&request);
        if let Some(&before_answer) = kills.get(&i) {
            if before_answer {
                kills.remove(&i);
                exec.kill();
                check_store(db, &answers, requests, &link);
                exec = Exec::start(db);
                continue; // resend: the key makes it harmless whether or not it committed
            }
        }
        let answer = exec.answer();
        if answer["result"]["link"].is_string() {
            link = answer["result"]["link"].as_str().unwrap().to_owned();
        }
        answers.push(answer);
        if kills.remove(&i) == Some(false) {
            exec.kill();
            check_store(db, &answers, requests, &link);
            exec = Exec::start(db);
        }
        i += 1;
    }
    exec.kill();
    answers
}

/// The checks after a crash, on the reopened store.
fn check_store(db: &Path, answers: &[Value], requests: &[Value], link: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(conn);
    let mut exec = Exec::start(db);
    // Every answered command is still there: its repeat answers exactly the same.
    for (i, first) in answers.iter().enumerate().step_by(7) {
        let again = exec.ask(&with_link(&requests[i], link));
        assert_eq!(
            &again, first,
            "command {i} answered differently after the crash"
        );
    }
    let balances = exec.ask(&json!({"as": "dis", "cmd": "balances"}));
    let txns = exec.ask(&json!({"as": "dis", "cmd": "transactions"}));
    exec.kill();
    if let (Some(balance), Some(rows)) = (
        balances["result"]["balances"][0]["balance"].as_str(),
        txns["result"]["transactions"].as_array(),
    ) {
        let sum: rust_decimal::Decimal = rows
            .iter()
            .map(|t| {
                t["amount"]
                    .as_str()
                    .unwrap()
                    .parse::<rust_decimal::Decimal>()
                    .unwrap()
            })
            .sum();
        assert_eq!(
            balance.parse::<rust_decimal::Decimal>().unwrap(),
            sum,
            "balance != sum of transactions"
        );
        let mut net: BTreeMap<String, i32> = BTreeMap::new();
        for t in rows {
            if let Some(order) = t["order"].as_str() {
                match t["type"].as_str().unwrap() {
                    "order_charge" => *net.entry(order.to_owned()).or_default() += 1,
                    _ => *net.entry(order.to_owned()).or_default() -= 1,
                }
            }
        }
        assert!(
            net.values().all(|n| (0..=1).contains(n)),
            "an order is charged twice: {net:?}"
        );
    }
}

/// The ledger and the order states, without wall-clock fields.
fn final_state(db: &Path) -> (Vec<Value>, Value) {
    let mut exec = Exec::start(db);
    let mut txns = exec.ask(&json!({"as": "dis", "cmd": "transactions"}))["result"]["transactions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for t in &mut txns {
        t.as_object_mut().unwrap().remove("at");
    }
    let orders = exec.ask(&json!({"as": "dis", "cmd": "orders"}))["result"].clone();
    exec.kill();
    (txns, orders)
}

#[test]
fn killed_at_random_points_the_store_ends_as_if_never_killed() {
    let seed = env_or("CRASH_SEED", 7);
    let commands = env_or("CRASH_COMMANDS", 240) as usize;
    let kills = env_or("CRASH_KILLS", 12) as usize;
    let requests = workload(seed, commands);

    let dir = tempfile::tempdir().unwrap();
    let clean_db = dir.path().join("clean.db");
    let clean = run(&clean_db, &requests, &BTreeMap::new());
    assert!(
        clean.iter().filter(|a| a["ok"] == json!(true)).count() > requests.len() / 3,
        "the workload mostly fails: {clean:?}"
    );
    let pushed = clean
        .iter()
        .zip(&requests)
        .filter(|(a, r)| r["cmd"] == "push" && a["ok"] == json!(true))
        .count();
    assert!(pushed > 3, "the workload pushes too few orders ({pushed})");

    let mut rng = StdRng::seed_from_u64(seed ^ 0xC0FFEE);
    let kill_points: BTreeMap<usize, bool> = (0..kills)
        .map(|_| (rng.random_range(1..requests.len()), rng.random_bool(0.5)))
        .collect();
    let crashed_db = dir.path().join("crashed.db");
    let crashed = run(&crashed_db, &requests, &kill_points);
    assert_eq!(crashed.len(), clean.len());
    for (i, (a, b)) in clean.iter().zip(&crashed).enumerate() {
        let strip = |v: &Value| {
            v.to_string()
                .split("distributary://invite/")
                .next()
                .map(str::to_owned)
        };
        assert_eq!(a["ok"], b["ok"], "command {i}: {a} vs {b}");
        if requests[i]["cmd"] != "create_invitation" {
            assert_eq!(strip(a), strip(b), "command {i} answered differently");
        }
    }
    assert_eq!(
        final_state(&clean_db),
        final_state(&crashed_db),
        "the crashed run's ledger or orders differ"
    );
}
