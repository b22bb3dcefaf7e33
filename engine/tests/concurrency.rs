//! Two engines (as two processes would) on one store file: both work, no `SQLITE_BUSY` reaches
//! the host, and no update of a balance is lost.

use std::{path::Path, sync::Arc, thread};

use distributary::{Engine, EngineOptions};
use serde_json::{json, Value};

fn ok(engine: &Engine, line: Value) -> Value {
    let answer = engine.execute_line(&line.to_string());
    assert_eq!(answer["ok"], json!(true), "{answer}");
    answer["result"].clone()
}

#[test]
fn two_engines_on_one_store_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let first = Engine::open(&path, EngineOptions::default()).unwrap();
    ok(
        &first,
        json!({"as": "system", "cmd": "create_account", "args": {"account": "sup", "plan": "V3", "inventory": true, "currency": "MYR"}}),
    );
    ok(
        &first,
        json!({"as": "system", "cmd": "create_account", "args": {"account": "dis", "plan": "V1", "inventory": true, "currency": "MYR"}}),
    );
    ok(
        &first,
        json!({"as": "sup", "cmd": "create_warehouse", "args": {"warehouse": "W", "name": "W", "region": "R"}}),
    );
    let link = ok(
        &first,
        json!({"as": "sup", "cmd": "create_invitation", "args": {"warehouses": ["W"]}}),
    )["link"]
        .clone();
    ok(
        &first,
        json!({"as": "dis", "cmd": "bind_supplier", "args": {"link": link}}),
    );
    ok(
        &first,
        json!({"as": "sup", "cmd": "review_partnership", "args": {"distributor": "dis", "approve": true}}),
    );
    drop(first);

    const WRITERS: usize = 3;
    const TOP_UPS: usize = 40;
    let path = Arc::new(path);
    let handles: Vec<_> = (0..WRITERS)
        .map(|_| {
            let path = Arc::clone(&path);
            thread::spawn(move || {
                let engine = Engine::open(Path::new(path.as_ref()), EngineOptions::default()).unwrap();
                for _ in 0..TOP_UPS {
                    ok(&engine, json!({"as": "sup", "cmd": "add_balance", "args": {"distributor": "dis", "amount": "1.25"}}));
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let engine = Engine::open(&path, EngineOptions::default()).unwrap();
    let balances = ok(&engine, json!({"as": "dis", "cmd": "balances"}));
    assert_eq!(balances["balances"][0]["balance"], json!("150.00"));
    let txns = ok(&engine, json!({"as": "dis", "cmd": "transactions"}));
    assert_eq!(
        txns["transactions"].as_array().unwrap().len(),
        WRITERS * TOP_UPS
    );
}
