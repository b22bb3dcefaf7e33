//! A seeded order workload for the crash and fault suites (`cli/tests/crash.rs`,
//! `tests/failpoints.rs`): accounts, a partnership, products, stock and mappings, then random
//! imports, packs, pushes, top-ups, shipments and marketplace cancellations.

use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};

fn add(out: &mut Vec<Value>, actor: &str, cmd: &str, args: Value) {
    let i = out.len();
    out.push(json!({"id": i, "key": format!("k{i}"), "at": format!("2026-11-27T{:02}:{:02}:{:02}Z", 10 + i / 3600, i / 60 % 60, i % 60),
                    "as": actor, "cmd": cmd, "args": args}));
}

/// An order as Shopee's order-detail API answers it, for the adapter to parse.
fn native_order(order_sn: usize, lines: &[(String, usize)]) -> Value {
    let items: Vec<Value> = lines
        .iter()
        .map(|(sku, qty)| json!({"item_id": 1, "model_sku": sku, "model_quantity_purchased": qty}))
        .collect();
    json!({"error": "", "message": "", "response": {"order_list": [{
        "order_sn": order_sn.to_string(), "region": "MY", "currency": "MYR",
        "order_status": "READY_TO_SHIP", "item_list": items}]}})
}

/// The workload: keyed requests at fixed logical times, so a request resent after a crash or a
/// fault is harmless and every run sees the same clock. `${link}` stands for the invitation
/// link (a host fills it in from the `create_invitation` answer). With `native`, half the new
/// orders arrive as Shopee's own payloads (the Shopee adapter must be loaded).
pub fn orders(seed: u64, commands: usize, native: bool) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for (account, plan) in [("sup", "V3"), ("dis", "V1")] {
        add(
            &mut out,
            "system",
            "create_account",
            json!({"account": account, "plan": plan, "inventory": true, "currency": "MYR"}),
        );
    }
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
                let lines: Vec<(String, usize)> = (0..rng.random_range(1..3))
                    .map(|l| (format!("SP{}", (orders + l) % 4), 1 + l))
                    .collect();
                let args = if native && rng.random_bool(0.5) {
                    json!({"marketplace": "shopee", "shop": "s", "format": "native",
                           "payload": native_order(orders, &lines)})
                } else {
                    let lines: Vec<Value> = lines
                        .iter()
                        .map(|(sku, qty)| json!({"store_sku": sku, "qty": qty, "unit_price": "9.90"}))
                        .collect();
                    json!({"marketplace": "shopee", "format": "canonical", "payload": [{"marketplace": "shopee", "shop": "s", "order_sn": orders.to_string(), "status": "ready_to_ship", "lines": lines}]})
                };
                add(&mut out, "dis", "import_orders", args);
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
                    json!({"marketplace": "shopee", "format": "canonical", "payload": [{"marketplace": "shopee", "shop": "s", "order_sn": o.to_string(), "status": "cancelled", "lines": [{"store_sku": "SP0", "qty": 1, "unit_price": "9.90"}]}]}),
                );
            }
        }
    }
    out
}

/// Checks one ledger account as the crash and fault suites see it after every interruption:
/// the balance equals the sum of its transactions, and no order is charged more often than it
/// is refunded plus once; and the rows in the order of their ids chain their balances (each
/// `balance_after` is the one before plus its amount), so the ids follow the order the postings
/// committed in. `transactions` are the rows of the `transactions` query.
pub fn assert_reconciled(balance: &str, transactions: &[Value]) {
    let amount = |text: &str| {
        text.parse::<rust_decimal::Decimal>()
            .unwrap_or_else(|e| panic!("amount {text:?}: {e}"))
    };
    let sum: rust_decimal::Decimal = transactions
        .iter()
        .map(|t| amount(t["amount"].as_str().unwrap_or_default()))
        .sum();
    assert_eq!(amount(balance), sum, "balance != sum of transactions");
    let mut by_id: Vec<&Value> = transactions.iter().collect();
    by_id.sort_by_key(|t| t["txn_id"].as_str().unwrap_or_default().to_owned());
    let mut running = rust_decimal::Decimal::ZERO;
    for t in by_id {
        running += amount(t["amount"].as_str().unwrap_or_default());
        assert_eq!(
            amount(t["balance_after"].as_str().unwrap_or_default()),
            running,
            "transaction {} does not follow the one numbered before it",
            t["txn_id"]
        );
    }
    let mut net: std::collections::BTreeMap<&str, i32> = Default::default();
    for t in transactions {
        if let Some(order) = t["order"].as_str() {
            *net.entry(order).or_default() += if t["type"] == "order_charge" { 1 } else { -1 };
        }
    }
    assert!(
        net.values().all(|n| (0..=1).contains(n)),
        "an order is charged twice: {net:?}"
    );
}
