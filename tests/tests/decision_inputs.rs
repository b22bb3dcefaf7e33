//! Each decision's inputs are recorded with it (issue 16, the first part of item 6): the pack
//! transition keeps what `allocate_warehouse.rhai` read, the push what its rule guards
//! (`push_checks.rhai`) and `fees.rhai` read. Read back from the store, they are the rules' own
//! input types, and running the rules of the pack that decided on them gives the same decisions:
//! what a backtest of a candidate pack replays.

use distributary::{
    rules::{
        inputs::{AllocationInput, FeesInput, PushCheckInput},
        RuleSet,
    },
    Engine, EngineOptions, RulePack,
};
use serde_json::{json, Value};

fn send(engine: &Engine, actor: &str, cmd: &str, args: Value) -> Value {
    let line = json!({"id": 1, "as": actor, "cmd": cmd, "args": args}).to_string();
    let answer = engine.execute_line(&line);
    assert_eq!(answer["ok"], true, "{cmd} as {actor}: {answer}");
    answer["result"].clone()
}

#[test]
fn the_pack_and_the_push_keep_what_their_rules_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let engine = Engine::open(&db, EngineOptions::default()).unwrap();
    let e = &engine;
    send(
        e,
        "system",
        "create_account",
        json!({"account": "sup", "plan": "V3", "inventory": true, "currency": "MYR"}),
    );
    send(
        e,
        "system",
        "create_account",
        json!({"account": "dis", "plan": "V1", "inventory": true, "currency": "MYR"}),
    );
    send(
        e,
        "sup",
        "create_warehouse",
        json!({"warehouse": "KL", "name": "Kuala Lumpur", "region": "Selangor"}),
    );
    send(
        e,
        "sup",
        "create_warehouse",
        json!({"warehouse": "JB", "name": "Johor Bahru", "region": "Johor"}),
    );
    send(
        e,
        "sup",
        "publish_product",
        json!({"sku": "MUG", "name": "Mug", "price": "10.00"}),
    );
    send(
        e,
        "sup",
        "set_fees",
        json!({"handling": "1.50", "shipping": "2.00"}),
    );
    send(
        e,
        "sup",
        "push_stock",
        json!({"warehouse": "KL", "items": [{"sku": "MUG", "available": 5}]}),
    );
    send(
        e,
        "sup",
        "push_stock",
        json!({"warehouse": "JB", "items": [{"sku": "MUG", "available": 9}]}),
    );
    let link = send(
        e,
        "sup",
        "create_invitation",
        json!({"warehouses": ["KL", "JB"]}),
    )["link"]
        .clone();
    send(e, "dis", "bind_supplier", json!({"link": link}));
    send(
        e,
        "sup",
        "review_partnership",
        json!({"distributor": "dis", "approve": true}),
    );
    send(
        e,
        "dis",
        "claim",
        json!({"supplier": "sup", "skus": ["MUG"]}),
    );
    send(
        e,
        "dis",
        "map_store_sku",
        json!({"sku": "MUG", "marketplace": "lazada", "shop": "L1", "store_sku": "LZ-MUG"}),
    );
    send(
        e,
        "sup",
        "add_balance",
        json!({"distributor": "dis", "amount": "100"}),
    );
    send(
        e,
        "dis",
        "import_orders",
        json!({"marketplace": "lazada", "format": "canonical", "payload": [
        {"marketplace": "lazada", "shop": "L1", "order_sn": "A", "status": "ready_to_ship", "lines": [{"store_sku": "LZ-MUG", "qty": 3, "unit_price": "9.90"}]}]}),
    );
    let packed = send(e, "dis", "pack", json!({"order": "lazada:A"}));
    let pushed = send(e, "dis", "push", json!({"order": "lazada:A"}));
    drop(engine);

    let conn = rusqlite::Connection::open(&db).unwrap();
    let inputs = |event: &str| -> Value {
        let text: Option<String> = conn
            .query_row(
                "SELECT inputs FROM audit WHERE entity_id = 'lazada:A' AND event = ?1",
                [event],
                |r| r.get(0),
            )
            .unwrap();
        serde_json::from_str(&text.unwrap_or_else(|| panic!("no inputs recorded with {event}")))
            .unwrap()
    };
    let rules = RuleSet::compile(&RulePack::embedded()).unwrap();

    // The pack: the allocation rule's candidates, and its choice again from them.
    let pack = inputs("pack");
    assert_eq!(pack.as_object().unwrap().len(), 1, "{pack}");
    let allocation: AllocationInput =
        serde_json::from_value(pack["allocate_warehouse"].clone()).unwrap();
    let mut candidates: Vec<&str> = allocation
        .candidates
        .iter()
        .map(|c| c.warehouse.as_str())
        .collect();
    candidates.sort_unstable();
    assert_eq!(candidates, ["JB", "KL"]);
    assert_eq!(
        rules.allocate_warehouse(&allocation).unwrap(),
        packed["warehouse"].as_str().unwrap()
    );

    // The push: what the push checks read (the fees they approved included), and the fee rule's
    // own input; the same rules give the same verdict and the same fees as were charged.
    let push = inputs("push");
    let checks: PushCheckInput = serde_json::from_value(push["rule_guards"].clone()).unwrap();
    let fees_input: FeesInput = serde_json::from_value(push["fees"].clone()).unwrap();
    assert_eq!(checks.account.balance.to_string(), "100.00");
    assert_eq!(checks.partnership.status, "partnered");
    assert_eq!(fees_input.settings.handling.to_string(), "1.50");
    assert!(rules.guard("push_checks", &checks).unwrap().is_empty());
    let fees = rules.fees(&fees_input).unwrap();
    let charged = &pushed["charged"];
    for (value, key) in [
        (fees.goods, "goods"),
        (fees.handling, "handling"),
        (fees.shipping, "shipping"),
    ] {
        let recorded: rust_decimal::Decimal = charged[key].as_str().unwrap().parse().unwrap();
        assert_eq!(value, recorded, "{key}: {push}");
    }
    // A transition no rule decided records nothing.
    let none: Option<String> = conn
        .query_row(
            "SELECT inputs FROM audit WHERE entity_id = 'lazada:A' AND event = 'import'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(none, None);
}
