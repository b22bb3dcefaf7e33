//! `Engine::execute_batch`: many commands in one transaction, each keeping its own atomicity. A
//! failing command is answered with its error and changes nothing (its failure is remembered
//! under its key), the commands around it commit, and the answers come back in order.

use distributary::{Engine, EngineOptions, Envelope};
use serde_json::{json, Value};

fn envelope(line: Value) -> Envelope {
    Envelope::from_value(line).unwrap()
}

fn ok(engine: &Engine, line: Value) -> Value {
    let answer = engine.execute_line(&line.to_string());
    assert_eq!(answer["ok"], json!(true), "{answer}");
    answer["result"].clone()
}

fn balance(engine: &Engine) -> Value {
    ok(engine, json!({"as": "sup", "cmd": "balances"}))["balances"][0]["balance"].clone()
}

fn partnered() -> Engine {
    let engine = Engine::open(std::path::Path::new(":memory:"), EngineOptions::default()).unwrap();
    for (account, plan) in [("sup", "V3"), ("dis", "V1")] {
        ok(
            &engine,
            json!({"as": "system", "cmd": "create_account", "args": {"account": account, "plan": plan, "inventory": true, "currency": "MYR"}}),
        );
    }
    ok(
        &engine,
        json!({"as": "sup", "cmd": "create_warehouse", "args": {"warehouse": "W", "name": "W", "region": "R"}}),
    );
    let link = ok(
        &engine,
        json!({"as": "sup", "cmd": "create_invitation", "args": {"warehouses": ["W"]}}),
    )["link"]
        .clone();
    ok(
        &engine,
        json!({"as": "dis", "cmd": "bind_supplier", "args": {"link": link}}),
    );
    ok(
        &engine,
        json!({"as": "sup", "cmd": "review_partnership", "args": {"distributor": "dis", "approve": true}}),
    );
    engine
}

fn add(amount: &str, key: &str) -> Envelope {
    envelope(
        json!({"as": "sup", "key": key, "cmd": "add_balance", "args": {"distributor": "dis", "amount": amount}}),
    )
}

#[test]
fn a_batch_that_fails_nowhere_commits_every_command() {
    let engine = partnered();
    let results = engine.execute_batch(&[add("10", "a"), add("5", "b"), add("2.50", "c")]);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(balance(&engine), json!("17.50"));
}

#[test]
fn a_failing_command_is_rolled_back_alone_and_remembered() {
    let engine = partnered();
    let results = engine.execute_batch(&[
        add("10", "a"),
        // Fails after nothing: a negative top-up.
        add("-3", "b"),
        add("5", "c"),
        // Fails for a distributor it never partnered with.
        envelope(
            json!({"as": "sup", "key": "d", "cmd": "add_balance", "args": {"distributor": "nobody", "amount": "1"}}),
        ),
        add("1", "e"),
    ]);
    let codes: Vec<Option<&str>> = results
        .iter()
        .map(|r| r.as_ref().err().map(|e| e.code().as_str()))
        .collect();
    assert_eq!(
        codes,
        [None, Some("bad_request"), None, Some("not_partnered"), None]
    );
    assert_eq!(balance(&engine), json!("16.00"));
    // Every answer is kept under its key, failures too; repeating the batch changes nothing.
    let again = engine.execute_batch(&[add("10", "a"), add("-3", "b"), add("5", "c")]);
    assert!(again[0].is_ok() && again[1].is_err() && again[2].is_ok());
    assert_eq!(balance(&engine), json!("16.00"));
    let transactions = ok(
        &engine,
        json!({"as": "sup", "cmd": "transactions", "args": {"distributor": "dis"}}),
    );
    assert_eq!(
        transactions["transactions"].as_array().map(Vec::len),
        Some(3)
    );
}
