//! Crash safety: a seeded order workload runs in a child `distributary exec` that is killed with
//! SIGKILL at random points and restarted on the same store, many times. After every restart the
//! store is intact, every answered command is still there (its idempotent repeat answers the
//! same), every balance equals the sum of its transactions, no order is charged twice, the
//! delivery queue resumes, and the final ledger equals that of an uncrashed run with the seed.
//! On a SQLite file, and on PostgreSQL (`DISTRIBUTARY_TEST_PG`: a database per run, the server
//! kept running while the engine process dies, its connection and open transaction with it).
//!
//! Sizes: `CRASH_COMMANDS` (default 240) commands, `CRASH_KILLS` (default 12) kills, seed
//! `CRASH_SEED` (default 7).

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
};

use distributary_tests::pg::Database;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_distributary");

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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
    // A SQLite file is checked page by page; PostgreSQL's server outlives the process and rolls
    // back the transaction its connection left open.
    if !db.to_str().is_some_and(|d| d.starts_with("postgres")) {
        let conn = rusqlite::Connection::open(db).unwrap();
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
    }
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
        distributary_tests::workload::assert_reconciled(balance, rows);
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
    let dir = tempfile::tempdir().unwrap();
    crash(&dir.path().join("clean.db"), &dir.path().join("crashed.db"));
}

#[test]
fn killed_at_random_points_a_postgres_database_ends_as_if_never_killed() {
    let (Some(clean), Some(crashed)) = (
        Database::create("the crash suite"),
        Database::create("the crash suite"),
    ) else {
        return;
    };
    crash(&clean.path(), &crashed.path());
}

/// The workload run whole on `clean_db`, then killed at random points on `crashed_db`; both end
/// alike.
fn crash(clean_db: &Path, crashed_db: &Path) {
    let seed = env_or("CRASH_SEED", 7);
    let commands = env_or("CRASH_COMMANDS", 240) as usize;
    let kills = env_or("CRASH_KILLS", 12) as usize;
    let requests = distributary_tests::workload::orders(seed, commands, false);

    let clean = run(clean_db, &requests, &BTreeMap::new());
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
    let crashed = run(crashed_db, &requests, &kill_points);
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
        final_state(clean_db),
        final_state(crashed_db),
        "the crashed run's ledger or orders differ"
    );
}
