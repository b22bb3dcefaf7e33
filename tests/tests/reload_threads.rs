//! Hot reload under concurrent commands (issue 16): one engine shared by threads that push
//! orders while another thread edits the fee rule and sends `reload_rules` again and again. A
//! command runs on one pack from start to answer, so every order's charged handling fee is the
//! one of the pack its history says decided the push (the default pack charges the supplier's
//! handling fee, the edited one twice that), and no command fails.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    thread,
};

use distributary::{Engine, EngineOptions, RulePack};
use distributary_tests::repo_root;
use serde_json::{json, Value};

/// Orders pushed, by each of the pushing threads.
const ORDERS_PER_THREAD: usize = 25;
const PUSHING_THREADS: usize = 3;
/// Reloads, alternating the default and the edited fee rule.
const RELOADS: usize = 12;

fn send(engine: &Engine, actor: &str, cmd: &str, args: Value) -> Value {
    let line = json!({"id": 1, "as": actor, "cmd": cmd, "args": args}).to_string();
    let answer = engine.execute_line(&line);
    assert_eq!(answer["ok"], true, "{cmd} as {actor}: {answer}");
    answer["result"].clone()
}

fn copy_pack(from: &Path, to: &Path) {
    for folder in ["workflows", "scripts", "tests"] {
        std::fs::create_dir_all(to.join(folder)).unwrap();
        for entry in std::fs::read_dir(from.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, to.join(folder).join(path.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn every_push_is_charged_by_the_pack_that_decided_it() {
    let dir = tempfile::tempdir().unwrap();
    copy_pack(&repo_root().join("rules"), dir.path());
    // Each fee rule with its own rule tests: a reload runs them.
    let read = |path: PathBuf| std::fs::read_to_string(path).unwrap();
    let edited = repo_root().join("tests/packs/rules_fee");
    let default_fees = (
        read(dir.path().join("scripts/fees.rhai")),
        read(dir.path().join("tests/fees.yaml")),
    );
    let edited_fees = (
        read(edited.join("scripts/fees.rhai")),
        read(edited.join("tests/fees.yaml")),
    );
    let default_version = RulePack::from_dir(dir.path()).unwrap().version();
    let rules = RulePack::from_dir(dir.path()).unwrap();
    let engine = Arc::new(
        Engine::open(
            Path::new(":memory:"),
            EngineOptions {
                rules,
                ..EngineOptions::default()
            },
        )
        .unwrap(),
    );
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
        "publish_product",
        json!({"sku": "MUG", "name": "Mug", "price": "10.00"}),
    );
    send(
        e,
        "sup",
        "set_fees",
        json!({"handling": "1.00", "shipping": "2.00"}),
    );
    send(
        e,
        "sup",
        "push_stock",
        json!({"warehouse": "KL", "items": [{"sku": "MUG", "available": 1000}]}),
    );
    let link = send(e, "sup", "create_invitation", json!({"warehouses": ["KL"]}))["link"].clone();
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
        json!({"distributor": "dis", "amount": "100000"}),
    );
    let names: Vec<String> = (0..PUSHING_THREADS * ORDERS_PER_THREAD)
        .map(|i| format!("o{i}"))
        .collect();
    let payload: Vec<Value> = names
        .iter()
        .map(|sn| json!({"marketplace": "lazada", "shop": "L1", "order_sn": sn, "status": "ready_to_ship", "lines": [{"store_sku": "LZ-MUG", "qty": 1, "unit_price": "9.90"}]}))
        .collect();
    send(
        e,
        "dis",
        "import_orders",
        json!({"marketplace": "lazada", "format": "canonical", "payload": payload}),
    );
    for sn in &names {
        send(e, "dis", "pack", json!({"order": format!("lazada:{sn}")}));
    }

    let mut versions = vec![default_version.clone()];
    thread::scope(|scope| {
        for slice in names.chunks(ORDERS_PER_THREAD) {
            let engine = Arc::clone(&engine);
            scope.spawn(move || {
                for sn in slice {
                    send(
                        &engine,
                        "dis",
                        "push",
                        json!({"order": format!("lazada:{sn}")}),
                    );
                }
            });
        }
        let reloader = scope.spawn(|| {
            let mut installed = Vec::new();
            for round in 0..RELOADS {
                let text = if round % 2 == 0 {
                    &edited_fees
                } else {
                    &default_fees
                };
                std::fs::write(dir.path().join("scripts/fees.rhai"), &text.0).unwrap();
                std::fs::write(dir.path().join("tests/fees.yaml"), &text.1).unwrap();
                let answer = send(&engine, "system", "reload_rules", json!({}));
                installed.push(answer["version"].as_str().unwrap().to_owned());
                thread::yield_now();
            }
            installed
        });
        versions.extend(reloader.join().unwrap());
    });
    let edited_version = versions[1].clone();
    assert_ne!(edited_version, default_version);
    assert!(versions
        .iter()
        .all(|v| *v == default_version || *v == edited_version));

    let mut by_version = [0_usize, 0];
    for sn in &names {
        let order = send(e, "dis", "order", json!({"order": format!("lazada:{sn}")}));
        let push = order["history"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["event"] == "push")
            .unwrap_or_else(|| panic!("{sn} has no push: {order}"));
        let version = push["rules_version"].as_str().unwrap();
        let (expected, slot) = if version == default_version {
            ("1.00", 0)
        } else {
            assert_eq!(version, edited_version, "{sn}: {order}");
            ("2.00", 1)
        };
        by_version[slot] += 1;
        assert_eq!(
            order["charges"]["handling"], expected,
            "{sn} pushed by {version}: {order}"
        );
    }
    println!(
        "pushes by the default pack: {}, by the edited one: {}",
        by_version[0], by_version[1]
    );
}

/// A reload runs alone: in a batch, the commands after it would run on the pack it replaces.
/// Refused with `bad_request`, the others of the batch answered as usual, the pack unchanged.
#[test]
fn a_reload_in_a_batch_is_refused() {
    let engine = Engine::open(Path::new(":memory:"), EngineOptions::default()).unwrap();
    let version = engine.rules_version();
    let lines = [
        r#"{"id": 1, "as": "system", "cmd": "reload_rules", "args": {}}"#,
        r#"{"id": 2, "as": "system", "cmd": "rules_version", "args": {}}"#,
    ];
    let envelopes: Vec<_> = lines
        .iter()
        .map(|l| distributary::Envelope::parse(l).unwrap())
        .collect();
    let answers = engine.execute_batch(&envelopes);
    let refused = answers[0].as_ref().unwrap_err();
    assert_eq!(refused.code(), distributary::Code::BadRequest, "{refused}");
    assert_eq!(answers[1].as_ref().unwrap()["version"], version.as_str());
    assert_eq!(engine.rules_version(), version);
    let alone = engine.execute_line(lines[0]);
    assert_eq!(alone["result"]["version"], version.as_str(), "{alone}");
}
