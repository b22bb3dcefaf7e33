//! Property tests of the ledger: whatever sequence of balance commands runs, every balance equals
//! the sum of its transactions, a balance never goes below zero without credit terms nor below
//! minus the limit with them, and a refused command changes nothing.

use std::path::Path;

use distributary::{Engine, EngineOptions};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{json, Value};

fn setup() -> Engine {
    let engine = Engine::open(Path::new(":memory:"), EngineOptions::default()).unwrap();
    let run = |line: Value| {
        let answer = engine.execute_line(&line.to_string());
        assert_eq!(answer["ok"], json!(true), "{answer}");
        answer
    };
    run(
        json!({"as": "system", "cmd": "create_account", "args": {"account": "sup", "plan": "V3", "inventory": true, "currency": "MYR"}}),
    );
    run(
        json!({"as": "system", "cmd": "create_account", "args": {"account": "dis", "plan": "V1", "inventory": true, "currency": "MYR"}}),
    );
    run(
        json!({"as": "sup", "cmd": "create_warehouse", "args": {"warehouse": "W", "name": "W", "region": "R"}}),
    );
    let link = run(json!({"as": "sup", "cmd": "create_invitation", "args": {"warehouses": ["W"]}}))
        ["result"]["link"]
        .clone();
    run(json!({"as": "dis", "cmd": "bind_supplier", "args": {"link": link}}));
    run(
        json!({"as": "sup", "cmd": "review_partnership", "args": {"distributor": "dis", "approve": true}}),
    );
    engine
}

#[derive(Debug, Clone)]
enum Op {
    Add(String),
    Deduct(String),
    Credit(bool, String),
}

fn amount() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..100_000, 0u32..1000).prop_map(|(u, f)| format!("{u}.{f:03}")),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("0.005".to_owned()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        amount().prop_map(Op::Add),
        amount().prop_map(Op::Deduct),
        (any::<bool>(), amount()).prop_map(|(on, limit)| Op::Credit(on, limit)),
    ]
}

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap().parse().unwrap()
}

fn ledger(engine: &Engine) -> (Value, Vec<Value>) {
    let balances = engine.execute_line(r#"{"as":"dis","cmd":"balances"}"#);
    let txns =
        engine.execute_line(r#"{"as":"dis","cmd":"transactions","args":{"supplier":"sup"}}"#);
    (
        balances["result"]["balances"][0].clone(),
        txns["result"]["transactions"].as_array().unwrap().clone(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn balance_is_the_sum_of_its_transactions(ops in proptest::collection::vec(op(), 1..40)) {
        let engine = setup();
        for op in ops {
            let before = ledger(&engine);
            let line = match &op {
                Op::Add(a) => json!({"as": "sup", "cmd": "add_balance", "args": {"distributor": "dis", "amount": a}}),
                Op::Deduct(a) => json!({"as": "sup", "cmd": "deduct_balance", "args": {"distributor": "dis", "amount": a}}),
                Op::Credit(on, l) => json!({"as": "sup", "cmd": "set_credit", "args": {"distributor": "dis", "enabled": on, "limit": l}}),
            };
            let answer = engine.execute_line(&line.to_string());
            let after = ledger(&engine);
            if answer["ok"] != json!(true) {
                prop_assert_eq!(&before, &after, "a refused {:?} changed the ledger", op);
                continue;
            }
            let (account, txns) = after;
            let sum: Decimal = txns.iter().map(|t| dec(&t["amount"])).sum();
            let balance = dec(&account["balance"]);
            prop_assert_eq!(balance, sum);
            if let Some(last) = txns.last() {
                prop_assert_eq!(dec(&last["balance_after"]), balance);
            }
            for t in &txns {
                prop_assert!(dec(&t["amount"]).scale() <= 2, "amount not rounded to cents: {}", t["amount"]);
            }
            if matches!(op, Op::Deduct(_)) && balance < Decimal::ZERO {
                prop_assert_eq!(&account["credit_enabled"], &json!(true));
                prop_assert!(-balance <= dec(&account["credit_limit"]));
            }
            let ids: std::collections::BTreeSet<_> = txns.iter().map(|t| t["txn_id"].to_string()).collect();
            prop_assert_eq!(ids.len(), txns.len(), "transaction ids are not unique");
        }
    }
}
