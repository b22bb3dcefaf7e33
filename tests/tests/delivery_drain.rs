//! The delivery drain (`Engine::drain_deliveries`): a batch of deliveries runs first in one
//! transaction without savepoints; when a delivery fails, that transaction is rolled back and
//! the batch runs again with a savepoint per delivery, the failed one left queued. A failure that
//! passes is delivered by the drain's next round; one that keeps failing stays queued, and
//! nothing else of the drain is lost. An engine that delivers runs such a round inside each write
//! command's transaction: a delivery failing or panicking there never fails the command nor undoes
//! its effects, and a push answers the state its commit left (`pushed` when its delivery ran there,
//! `pushing` when it waits), whichever run of its batch committed. One `#[test]`: the failpoint
//! registry is global.

mod common;

use common::{Request, World};
use distributary::{command::answer, Envelope};
use serde_json::{json, Value};

fn state(world: &World, order: &str) -> String {
    let answer = world.send(&Request::new("dis", "order", json!({"order": order})));
    answer["result"]["state"]
        .as_str()
        .unwrap_or_else(|| panic!("{order}: {answer}"))
        .to_owned()
}

fn push(world: &World, order: &str) {
    let answer = world.send(&Request::new("dis", "push", json!({"order": order})));
    assert_eq!(answer["ok"], true, "push {order}: {answer}");
}

#[test]
fn a_failed_delivery_stays_queued_while_the_others_are_delivered() {
    // The fixture leaves shopee:1003 pushing, its delivery queued; 1002 is packed.
    let world = World::build();
    push(&world, "shopee:1002");
    assert_eq!(state(&world, "shopee:1003"), "pushing");
    assert_eq!(state(&world, "shopee:1002"), "pushing");

    // Every delivery fails (a failure the delivery owns, not the machine's): nothing is
    // delivered, nothing changes, and the drain still answers.
    fail::cfg("delivery.during", "return(rule_error)").unwrap();
    let delivered = world.engine.drain_deliveries();
    fail::remove("delivery.during");
    assert_eq!(delivered.unwrap(), 0);
    assert_eq!(state(&world, "shopee:1003"), "pushing");
    assert_eq!(state(&world, "shopee:1002"), "pushing");

    // The oldest delivery (1003) fails once: the first run is rolled back, the second delivers
    // 1002 without it, and the next round delivers 1003.
    fail::cfg("delivery.during", "1*return(rule_error)").unwrap();
    let delivered = world.engine.drain_deliveries();
    fail::remove("delivery.during");
    assert_eq!(delivered.unwrap(), 2);
    assert_eq!(state(&world, "shopee:1003"), "pushed");
    assert_eq!(state(&world, "shopee:1002"), "pushed");
    assert_eq!(world.engine.drain_deliveries().unwrap(), 0);

    // Inside a write command's transaction. The engine drains 1003 as it opens.
    let world = World::build();
    let engine = world.delivering_engine();
    let send = |cmd: &str, order: &str| {
        engine.execute_line(&Request::new("dis", cmd, json!({"order": order})).line())
    };
    assert_eq!(state(&world, "shopee:1003"), "pushed");
    // The only delivery of a push fails, or panics: the push is answered and kept, its delivery
    // stays queued, and the next write command's round delivers it (even a command that fails).
    assert_eq!(send("pack", "shopee:1001")["ok"], true);
    for (action, order) in [
        ("1*return(rule_error)", "shopee:1002"),
        ("1*panic", "shopee:1001"),
    ] {
        fail::cfg("delivery.during", action).unwrap();
        let pushed = send("push", order);
        fail::remove("delivery.during");
        // The answer tells the state the commit left: the delivery waits.
        assert_eq!(pushed["result"]["state"], "pushing", "{action}: {pushed}");
        assert_eq!(state(&world, order), "pushing", "{action}");
        let again = send("push", order);
        assert_eq!(again["error"]["code"], "invalid_transition", "{action}");
        assert_eq!(state(&world, order), "pushed", "{action}");
    }

    // A round that panics after delivering some is rolled back whole: three deliveries queued
    // by an engine that does not deliver; the delivering engine opens while every delivery fails.
    let world = World::build();
    assert_eq!(send_to(&world.engine, "pack", "shopee:1001")["ok"], true);
    push(&world, "shopee:1002");
    push(&world, "shopee:1001");
    fail::cfg("delivery.during", "return(rule_error)").unwrap();
    let engine = world.delivering_engine();
    // The oldest (1003) fails the first run; the second delivers 1002, then 1001 panics.
    fail::cfg("delivery.during", "1*return(rule_error)->1*off->1*panic").unwrap();
    let fees = json!({"handling": "1.00", "shipping": "2.00"});
    let answer = engine.execute_line(&Request::new("sup", "set_fees", fees).line());
    fail::remove("delivery.during");
    assert_eq!(answer["ok"], true, "{answer}");
    for order in ["shopee:1003", "shopee:1002", "shopee:1001"] {
        assert_eq!(
            state(&world, order),
            "pushing",
            "{order}: the round was rolled back"
        );
    }

    a_push_answers_the_state_its_commit_left_in_either_run_of_its_batch();
}

/// Sends requests as one batch (`Engine::execute_batch`, one transaction).
fn batch(engine: &distributary::Engine, requests: &[Request]) -> Vec<Value> {
    let envelopes: Vec<Envelope> = requests
        .iter()
        .map(|r| Envelope::parse(&r.line()).unwrap())
        .collect();
    let results = engine.execute_batch(&envelopes);
    envelopes
        .iter()
        .zip(&results)
        .map(|(envelope, result)| answer(&envelope.id, result))
        .collect()
}

/// Run by the one `#[test]`, after its failpoints are removed.
fn a_push_answers_the_state_its_commit_left_in_either_run_of_its_batch() {
    let world = World::build();
    let engine = world.delivering_engine();
    let push = |order: &str| Request::new("dis", "push", json!({"order": order}));
    // A batch where every command succeeds commits its first run, without savepoints.
    let answers = batch(
        &engine,
        &[
            Request::new("dis", "pack", json!({"order": "shopee:1001"})),
            push("shopee:1001").key("p-1001"),
        ],
    );
    assert_eq!(answers[1]["result"]["state"], "pushed", "{answers:?}");
    // A command that fails makes the batch run again, a savepoint per command: the same answer.
    let answers = batch(
        &engine,
        &[push("shopee:1002").key("p-1002"), push("shopee:1008")],
    );
    assert_eq!(answers[0]["result"]["state"], "pushed", "{answers:?}");
    assert_eq!(
        answers[1]["error"]["code"], "invalid_transition",
        "{answers:?}"
    );
    assert_eq!(state(&world, "shopee:1002"), "pushed");
    // A repeated key answers as first answered, settled: `pushed`, even after the order moved on.
    let shipped = Request::new("sup", "ship_order", json!({"order": "shopee:1002"}));
    assert_eq!(engine.execute_line(&shipped.line())["ok"], true);
    for (order, key) in [("shopee:1001", "p-1001"), ("shopee:1002", "p-1002")] {
        let again = engine.execute_line(&push(order).key(key).line());
        assert_eq!(again["result"]["state"], "pushed", "{key}: {again}");
    }
}

fn send_to(engine: &distributary::Engine, cmd: &str, order: &str) -> serde_json::Value {
    engine.execute_line(&Request::new("dis", cmd, json!({"order": order})).line())
}
