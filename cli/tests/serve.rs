//! `distributary serve` as a process: `token create --system` prints the token alone on one line,
//! and SIGTERM with requests in flight stops accepting, answers what is in flight, exits 0 and
//! loses no acknowledged command; its log, at `debug`, names token ids and never a token. SIGHUP
//! reloads the rules from the pack directory, and a pack that does not load leaves the old one.
//! Loopback only (127.0.0.1, a port the OS picks); no assertion is timed.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    thread,
    time::{Duration, Instant},
};

use distributary::{Engine, EngineOptions, Envelope};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_distributary");
/// Concurrent clients, and the most requests each sends.
const CLIENTS: usize = 6;
const REQUESTS_MAX: usize = 400;
/// Acknowledged commands before the SIGTERM.
const ACKED_BEFORE_TERM: usize = 30;
/// The bound on waiting for them (a bound, not an assertion on speed).
const SETUP_WAIT_MAX: Duration = Duration::from_secs(120);

fn new_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// POSTs one command; `None` when the server could not be reached or answered no status.
fn send(
    agent: &ureq::Agent,
    addr: &str,
    token: &str,
    cmd: &str,
    args: Value,
) -> Option<(u16, Value)> {
    let mut response = agent
        .post(format!("http://{addr}/v1/commands"))
        .header("Authorization", &format!("Bearer {token}"))
        .send(json!({"cmd": cmd, "args": args}).to_string())
        .ok()?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().ok()?;
    Some((status, serde_json::from_str(&text).ok()?))
}

#[test]
fn sigterm_finishes_the_requests_in_flight_and_loses_no_acknowledged_command() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let made = Command::new(BIN)
        .args(["token", "create", "--system", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let stdout = String::from_utf8(made.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.len() == 1 && lines[0].starts_with("dst_"),
        "the token alone on one line: {stdout:?}"
    );
    let system = lines[0].to_owned();

    let log = dir.path().join("serve.log");
    let mut server = Command::new(BIN)
        .args(["--log", "debug", "serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{first:?}"))
        .to_owned();
    let agent = new_agent();
    let (status, answer) = send(
        &agent,
        &addr,
        &system,
        "create_account",
        json!({"account": "sup", "plan": "V3", "inventory": true, "currency": "MYR"}),
    )
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    let (_, made) = send(
        &agent,
        &addr,
        &system,
        "create_token",
        json!({"account": "sup", "label": "t"}),
    )
    .unwrap();
    let token = made["result"]["token"].as_str().unwrap().to_owned();

    let acked = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (acked, count, addr, token) =
                (acked.clone(), count.clone(), addr.clone(), token.clone());
            thread::spawn(move || {
                let agent = new_agent();
                for request in 0..REQUESTS_MAX {
                    let sku = format!("T{client}-{request}");
                    let args = json!({"sku": sku, "name": sku, "price": "1.00"});
                    match send(&agent, &addr, &token, "publish_product", args) {
                        Some((200, _)) => {
                            acked.lock().unwrap().push(sku);
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        Some((status, answer)) => panic!("{sku}: {status} {answer}"),
                        // The server stopped: what it did not answer may or may not be stored.
                        None => return,
                    }
                }
            })
        })
        .collect();
    let waiting = Instant::now();
    while count.load(Ordering::SeqCst) < ACKED_BEFORE_TERM {
        assert!(
            waiting.elapsed() < SETUP_WAIT_MAX,
            "the clients never got going"
        );
        thread::sleep(Duration::from_millis(5));
    }
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let exited = server.wait().unwrap();
    assert_eq!(exited.code(), Some(0), "SIGTERM exits 0");
    for client in clients {
        client.join().unwrap();
    }

    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= ACKED_BEFORE_TERM);
    let engine = Engine::open(&db, EngineOptions::default()).unwrap();
    let envelope =
        Envelope::parse(r#"{"as": "sup", "cmd": "products", "args": {"tab": "published"}}"#)
            .unwrap();
    let published = engine.execute(&envelope).unwrap();
    let stored: Vec<&str> = published["products"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["sku"].as_str())
        .collect();
    let lost: Vec<&String> = acked
        .iter()
        .filter(|sku| !stored.contains(&sku.as_str()))
        .collect();
    assert!(lost.is_empty(), "acknowledged, then lost: {lost:?}");

    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("token_id=") && logged.contains("answered"),
        "{logged}"
    );
    for secret in [&system, &token] {
        let (_, tail) = secret.rsplit_once('_').unwrap();
        assert!(!logged.contains(tail), "the log shows a token");
    }
}

/// Copies a rule pack directory (its files and subfolders) to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Sends SIGHUP to the server.
fn hangup(server: &std::process::Child) {
    let sent = Command::new("kill")
        .args(["-HUP", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Waits until `done` holds (a bound, not an assertion on speed).
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let waiting = Instant::now();
    while !done() {
        assert!(waiting.elapsed() < SETUP_WAIT_MAX, "never: {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sighup_reloads_the_rules_and_a_broken_pack_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let pack = dir.path().join("rules");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    copy_dir(&repo.join("rules"), &pack);

    // The world of tests/scenarios/17_rules_reload.yaml: two packed orders, handling fee 1.00.
    let options = EngineOptions {
        rules: distributary::RulePack::from_dir(&pack).unwrap(),
        ..EngineOptions::default()
    };
    let engine = Engine::open(&db, options).unwrap();
    let canonical = |sn: &str| {
        json!({"marketplace": "lazada", "shop": "L1", "order_sn": sn, "status": "ready_to_ship",
            "lines": [{"store_sku": "LZ-MUG", "qty": 1, "unit_price": "9.90"}]})
    };
    let setup = [
        json!({"as": "system", "cmd": "create_account", "args": {"account": "sup", "plan": "V3", "inventory": true, "currency": "MYR"}}),
        json!({"as": "system", "cmd": "create_account", "args": {"account": "dis", "plan": "V1", "inventory": true, "currency": "MYR"}}),
        json!({"as": "sup", "cmd": "create_warehouse", "args": {"warehouse": "KL", "name": "Kuala Lumpur", "region": "Selangor"}}),
        json!({"as": "sup", "cmd": "publish_product", "args": {"sku": "MUG", "name": "Mug", "price": "10.00"}}),
        json!({"as": "sup", "cmd": "set_fees", "args": {"handling": "1.00", "shipping": "2.00"}}),
        json!({"as": "sup", "cmd": "push_stock", "args": {"warehouse": "KL", "items": [{"sku": "MUG", "available": 100}]}}),
    ];
    for line in setup {
        let answer = engine.execute_line(&line.to_string());
        assert_eq!(answer["ok"], true, "{line}: {answer}");
    }
    let invited = engine.execute_line(
        &json!({"as": "sup", "cmd": "create_invitation", "args": {"warehouses": ["KL"]}})
            .to_string(),
    );
    let link = invited["result"]["link"].as_str().unwrap().to_owned();
    let partnered = [
        json!({"as": "dis", "cmd": "bind_supplier", "args": {"link": link}}),
        json!({"as": "sup", "cmd": "review_partnership", "args": {"distributor": "dis", "approve": true}}),
        json!({"as": "dis", "cmd": "claim", "args": {"supplier": "sup", "skus": ["MUG"]}}),
        json!({"as": "dis", "cmd": "map_store_sku", "args": {"sku": "MUG", "marketplace": "lazada", "shop": "L1", "store_sku": "LZ-MUG"}}),
        json!({"as": "sup", "cmd": "add_balance", "args": {"distributor": "dis", "amount": "1000"}}),
        json!({"as": "dis", "cmd": "import_orders", "args": {"marketplace": "lazada", "format": "canonical", "payload": [canonical("A"), canonical("B"), canonical("C")]}}),
        json!({"as": "dis", "cmd": "pack", "args": {"order": "lazada:A"}}),
        json!({"as": "dis", "cmd": "pack", "args": {"order": "lazada:B"}}),
        json!({"as": "dis", "cmd": "pack", "args": {"order": "lazada:C"}}),
    ];
    for line in partnered {
        let answer = engine.execute_line(&line.to_string());
        assert_eq!(answer["ok"], true, "{line}: {answer}");
    }
    let made = engine.execute_line(
        &json!({"as": "system", "cmd": "create_token", "args": {"account": "dis", "label": "t"}})
            .to_string(),
    );
    let token = made["result"]["token"].as_str().unwrap().to_owned();
    drop(engine);

    let log = dir.path().join("serve.log");
    let mut server = Command::new(BIN)
        .args(["--log", "info", "serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .arg("--rules")
        .arg(&pack)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{first:?}"))
        .to_owned();
    let agent = new_agent();
    let version = || {
        let (status, answer) = send(&agent, &addr, &token, "rules_version", json!({})).unwrap();
        assert_eq!(status, 200, "{answer}");
        answer["result"]["version"].as_str().unwrap().to_owned()
    };
    let push = |order: &str| {
        let (status, answer) =
            send(&agent, &addr, &token, "push", json!({"order": order})).unwrap();
        assert_eq!(status, 200, "{answer}");
        answer["result"]["charged"]["handling"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let v1 = version();
    assert_eq!(push("lazada:A"), "1.00");

    let refusals = || {
        std::fs::read_to_string(&log)
            .unwrap()
            .matches("rules not reloaded")
            .count()
    };
    // The rule author doubles the handling fee but leaves the pack's rule tests as they were:
    // the reload runs them, and refuses the pack.
    std::fs::copy(
        repo.join("tests/packs/rules_fee_untested/scripts/fees.rhai"),
        pack.join("scripts/fees.rhai"),
    )
    .unwrap();
    hangup(&server);
    wait_for("the refusal logged", || refusals() == 1);
    assert_eq!(
        version(),
        v1,
        "a pack failing its tests keeps the old version"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("rules::test_failed") && logged.contains("fees.yaml"),
        "every failing test is logged: {logged}"
    );

    // With the tests edited too, the signal installs it.
    std::fs::copy(
        repo.join("tests/packs/rules_fee/tests/fees.yaml"),
        pack.join("tests/fees.yaml"),
    )
    .unwrap();
    hangup(&server);
    wait_for("the new pack in force", || version() != v1);
    let v2 = version();
    assert_eq!(
        push("lazada:B"),
        "2.00",
        "a push after the reload is charged the new fee"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("rules reloaded") && logged.contains(&v2) && logged.contains(&v1),
        "{logged}"
    );

    // A pack that does not compile: the old one stays, and the server keeps serving.
    std::fs::copy(
        repo.join("tests/packs/rules_broken/scripts/fees.rhai"),
        pack.join("scripts/fees.rhai"),
    )
    .unwrap();
    hangup(&server);
    wait_for("the refusal logged", || refusals() == 2);
    assert_eq!(version(), v2, "a broken pack keeps the old version");
    assert_eq!(push("lazada:C"), "2.00");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("rules::syntax") && logged.contains("fees.rhai"),
        "every diagnostic is logged: {logged}"
    );

    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert_eq!(server.wait().unwrap().code(), Some(0));
}
