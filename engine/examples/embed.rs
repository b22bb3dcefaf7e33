//! Embedding the engine in a Rust program: open it on a store, send it commands, read the
//! answers. A supplier invites a distributor, approves it and publishes a product, which the
//! distributor claims.
//!
//! Run it with `cargo run -p distributary --example embed`.

use std::path::Path;

use distributary::command::{ClaimArgs, Command, PublishProduct};
use distributary::{Code, Engine, EngineOptions, Envelope};
use serde_json::{json, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A store that lives as long as the engine (a file path keeps it), and the rule pack built
    // into the crate: `EngineOptions` also picks another pack, adapters and durability.
    let engine = Engine::open(Path::new(":memory:"), EngineOptions::default())?;

    // The host protocol, as `distributary exec` speaks it: a JSON request, a JSON answer.
    for (account, plan) in [("acme", "V3"), ("shopco", "V1")] {
        send(
            &engine,
            json!({"id": 1, "as": "system", "cmd": "create_account",
                   "args": {"account": account, "plan": plan, "inventory": true, "currency": "MYR"}}),
        )?;
    }
    send(
        &engine,
        json!({"id": 2, "as": "acme", "cmd": "create_warehouse",
               "args": {"warehouse": "KL", "name": "Kuala Lumpur", "region": "Selangor"}}),
    )?;
    let invitation = send(
        &engine,
        json!({"id": 3, "as": "acme", "cmd": "create_invitation", "args": {"warehouses": ["KL"]}}),
    )?;
    println!("invitation link: {}", invitation["link"]);
    send(
        &engine,
        json!({"id": 4, "as": "shopco", "cmd": "bind_supplier",
               "args": {"link": invitation["link"], "note": "found at a trade fair"}}),
    )?;
    let review = send(
        &engine,
        json!({"id": 5, "as": "acme", "cmd": "review_partnership",
               "args": {"distributor": "shopco", "approve": true}}),
    )?;
    println!("partnership: {}", review["status"]);

    // The same commands, typed: `Engine::execute` takes an `Envelope` and answers a `Result`
    // whose error carries a stable code.
    let publish = Command::PublishProduct(PublishProduct {
        sku: "TEE-RED".to_owned(),
        name: "Red tee".to_owned(),
        price: "25.00".to_owned(),
        combination: false,
        visible_to: None,
    });
    let published = engine.execute(&envelope("acme", publish))?;
    println!("published: {published}");
    for sku in ["TEE-RED", "TEE-BLUE"] {
        let claim = Command::Claim(ClaimArgs {
            supplier: "acme".to_owned(),
            skus: vec![sku.to_owned()],
        });
        match engine.execute(&envelope("shopco", claim)) {
            Ok(claimed) => println!("claimed {sku}: {}", claimed["claimed"][0]["local_sku"]),
            Err(error) if error.code() == Code::NotFound => {
                println!("claiming {sku}: not_found ({})", error.message());
            }
            Err(error) => return Err(error.into()),
        }
    }

    // Queries answer like any command.
    let products = send(
        &engine,
        json!({"id": 6, "as": "shopco", "cmd": "products", "args": {"tab": "claimed"}}),
    )?;
    for product in products["products"].as_array().into_iter().flatten() {
        println!(
            "shopco sells {} at cost {} {}",
            product["sku"], product["cost"], product["cost_currency"]
        );
    }
    Ok(())
}

/// Sends one request line; the answer's `result`, or its `error` as an error.
fn send(engine: &Engine, request: Value) -> Result<Value, String> {
    let answer = engine.execute_line(&request.to_string());
    match answer["ok"].as_bool() {
        Some(true) => Ok(answer["result"].clone()),
        _ => Err(format!("{}: {}", request["cmd"], answer["error"])),
    }
}

/// A command `actor` sends now, without an idempotency key.
fn envelope(actor: &str, command: Command) -> Envelope {
    Envelope {
        id: Value::Null,
        actor: actor.to_owned(),
        user: None,
        at: None,
        key: None,
        command,
        fingerprint: None,
    }
}
