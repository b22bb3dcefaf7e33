//! Contention: several `distributary exec` processes work on one store at once — topping up one
//! ledger account, importing and packing orders that lock stock in one shared cell, pushing
//! stock. No answer is `SQLITE_BUSY` (or any failure), no update of a balance or a stock cell is
//! lost: afterwards the balance is every top-up, the cell holds exactly what the packed orders
//! locked, and the balance equals the sum of its transactions.
//!
//! Sizes: `CONTENTION_PROCESSES` (default 3) processes of `CONTENTION_ROUNDS` (default 40)
//! rounds each.

use std::{
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Command, Stdio},
    thread,
};

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
    let mut child = Command::new(BIN)
        .args(["exec", "--db", db.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input: String = requests.iter().map(|r| format!("{r}\n")).collect();
    let writer = thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let answers: Vec<Value> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    writer.join().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(answers.len(), requests.len());
    answers
}

fn request(actor: &str, cmd: &str, args: Value) -> Value {
    json!({"as": actor, "cmd": cmd, "args": args})
}

fn ok(answers: &[Value]) {
    for answer in answers {
        assert_eq!(answer["ok"], json!(true), "{answer}");
    }
}

#[test]
fn processes_on_one_store_lose_no_update_and_never_see_busy() {
    let processes = env_or("CONTENTION_PROCESSES", 3);
    let rounds = env_or("CONTENTION_ROUNDS", 40);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
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
            "push_stock",
            json!({"warehouse": "W", "items": [{"sku": "MUG", "available": 1_000_000}]}),
        ),
        request("sup", "create_invitation", json!({"warehouses": ["W"]})),
    ];
    let answers = exec(&db, &setup);
    ok(&answers);
    let link = answers[5]["result"]["link"].clone();
    ok(&exec(
        &db,
        &[
            request("dis", "bind_supplier", json!({"link": link})),
            request(
                "sup",
                "review_partnership",
                json!({"distributor": "dis", "approve": true}),
            ),
            request("dis", "claim", json!({"supplier": "sup", "skus": ["MUG"]})),
            request(
                "dis",
                "map_store_sku",
                json!({"sku": "MUG", "marketplace": "shopee", "shop": "s", "store_sku": "SP-MUG"}),
            ),
        ],
    ));

    // Each process, each round: a top-up of 1.00, an order of `p + 1` mugs imported and packed
    // (a lock on the one shared cell), and a query.
    let workers: Vec<_> = (0..processes)
        .map(|p| {
            let db = db.clone();
            thread::spawn(move || {
                let mut requests = Vec::new();
                for r in 0..rounds {
                    requests.push(request(
                        "sup",
                        "add_balance",
                        json!({"distributor": "dis", "amount": "1.00"}),
                    ));
                    requests.push(request(
                        "dis",
                        "import_orders",
                        json!({"marketplace": "shopee", "format": "canonical", "payload": [{"marketplace": "shopee", "shop": "s", "order_sn": format!("{p}-{r}"), "status": "ready_to_ship", "lines": [{"store_sku": "SP-MUG", "qty": p + 1, "unit_price": "19.90"}]}]}),
                    ));
                    requests.push(request(
                        "dis",
                        "pack",
                        json!({"order": format!("shopee:{p}-{r}")}),
                    ));
                    requests.push(request("dis", "stock", json!({"sku": "MUG"})));
                }
                exec(&db, &requests)
            })
        })
        .collect();
    for worker in workers {
        ok(&worker.join().unwrap());
    }

    let answers = exec(
        &db,
        &[
            request("sup", "balances", json!({})),
            request("sup", "transactions", json!({"distributor": "dis"})),
            request("dis", "stock", json!({"sku": "MUG"})),
        ],
    );
    ok(&answers);
    let balance = &answers[0]["result"]["balances"][0]["balance"];
    assert_eq!(balance, &json!(format!("{}.00", processes * rounds)));
    let transactions = answers[1]["result"]["transactions"].as_array().unwrap();
    assert_eq!(transactions.len(), processes * rounds);
    let locked: usize = (0..processes).map(|p| (p + 1) * rounds).sum();
    let cells = answers[2]["result"]["warehouses"].as_array().unwrap();
    assert_eq!(cells.len(), 1, "{cells:?}");
    assert_eq!(cells[0]["locked"], json!(locked), "{cells:?}");
    assert_eq!(
        cells[0]["available"],
        json!(1_000_000 - locked),
        "{cells:?}"
    );
}
