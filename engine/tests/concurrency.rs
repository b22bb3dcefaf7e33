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

/// The token check reads on a connection of its own, one statement outside any transaction: a
/// revocation another engine (process) commits on the same file is seen by the very next check,
/// never hidden by a snapshot an earlier check left open.
#[test]
fn a_token_revoked_by_another_engine_is_refused_at_the_next_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let server = Engine::open(&path, EngineOptions::default()).unwrap();
    let other = Engine::open(&path, EngineOptions::default()).unwrap();
    let made = ok(
        &server,
        json!({"as": "system", "cmd": "create_token", "args": {"account": "system", "label": "ops"}}),
    );
    let token = made["token"].as_str().unwrap();
    for _ in 0..3 {
        let (owner, _) = server
            .authenticate_without_waiting(token)
            .expect("a store file has a token reader")
            .expect("a live token");
        assert_eq!(owner.account, "system");
    }
    ok(
        &other,
        json!({"as": "system", "cmd": "revoke_token", "args": {"token_id": made["token_id"]}}),
    );
    let refused = server
        .authenticate_without_waiting(token)
        .expect("a store file has a token reader")
        .expect_err("a revoked token");
    assert_eq!(refused.code(), distributary::Code::Unauthenticated);
}
