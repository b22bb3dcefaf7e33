//! The macro-generated boundary, called in-process exactly as a host calls a loaded library:
//! through the entry symbol, the declaration and the table, with JSON bytes.

use std::sync::Mutex;

use distributary_plugin::abi::{
    Buffer, Bytes, CallFn, CallTable, LogLevel, PluginDeclaration, ABI_MAJOR, MAGIC,
};
use serde_json::{json, Value};

#[path = "../examples/common/fixture.rs"]
mod fixture;

distributary_plugin::export_adapter!(fixture::Fixture);

// The macro's entry is reached by its symbol name, as a host reaches it.
extern "C" {
    fn distributary_plugin_entry() -> *const PluginDeclaration;
}

fn declaration() -> &'static PluginDeclaration {
    // SAFETY: the macro's entry returns a pointer to a static declaration.
    unsafe { &*distributary_plugin_entry() }
}

fn table() -> &'static CallTable {
    // SAFETY: the declaration points to a static table.
    unsafe { &*declaration().calls }
}

/// Copies an answer out and frees it with the table's `free`, as a host does.
fn take(buffer: Buffer) -> Value {
    // SAFETY: the plugin returned `len` readable bytes.
    let bytes = unsafe { std::slice::from_raw_parts(buffer.ptr, buffer.len) }.to_vec();
    // SAFETY: the buffer came from this table and is freed once.
    unsafe { (table().free.unwrap())(buffer) };
    serde_json::from_slice(&bytes).unwrap()
}

fn call_raw(slot: Option<CallFn>, input: &[u8]) -> Value {
    // SAFETY: `input` outlives the call.
    take(unsafe { (slot.unwrap())(Bytes::from_slice(input)) })
}

fn call(slot: Option<CallFn>, input: Value) -> Value {
    call_raw(slot, input.to_string().as_bytes())
}

fn ctx() -> Value {
    json!({"credentials": {"api_key": "k"}, "timestamp": 1_700_000_000})
}

#[test]
fn the_declaration_is_checked_first() {
    let declaration = declaration();
    assert_eq!(declaration.magic, MAGIC);
    assert_eq!(declaration.abi_major, ABI_MAJOR);
    assert_eq!(declaration.call_count, CallTable::CALL_COUNT);
    assert!(!declaration.calls.is_null());
}

#[test]
fn every_call_answers_ok_json() {
    let t = table();
    let cases: Vec<(&str, Option<CallFn>, Value, Value)> = vec![
        (
            "manifest",
            t.manifest,
            Value::Null,
            json!({"ok": {"name": "Fixture marketplace", "marketplace": "fixture",
                "version": "0.1.0", "capabilities": ["order_sync", "stock_update"]}}),
        ),
        (
            "list_windows",
            t.list_windows,
            json!({"time_from": 0, "time_to": 150}),
            json!({"ok": [[0, 100], [100, 150]]}),
        ),
        (
            "order_list_request",
            t.order_list_request,
            json!({"ctx": ctx(), "query": {"time_from": 1, "time_to": 2, "page": "p2"}}),
            json!({"ok": {"method": "GET", "path": "/orders", "query": [["api_key", "k"],
                ["timestamp", "1700000000"], ["from", "1"], ["to", "2"], ["page", "p2"]],
                "headers": [], "body": null, "content_type": null}}),
        ),
        (
            "parse_order_list",
            t.parse_order_list,
            json!({"query": {"time_from": 1, "time_to": 2, "page": null}, "body": r#"{"order_ids": ["a", "b"], "next": null}"#}),
            json!({"ok": {"order_ids": ["a", "b"], "orders": [], "next_page": null}}),
        ),
        (
            "detail_batch_max",
            t.detail_batch_max,
            Value::Null,
            json!({"ok": 2}),
        ),
        (
            "order_detail_request",
            t.order_detail_request,
            json!({"ctx": ctx(), "order_ids": ["a", "b"]}),
            json!({"ok": {"method": "GET", "path": "/orders/detail",
                "query": [["api_key", "k"], ["ids", "a,b"]],
                "headers": [], "body": null, "content_type": null}}),
        ),
        (
            "parse_orders",
            t.parse_orders,
            json!({"shop": "s1", "body": r#"[{"id": "o1", "status": "SENT", "sku": "X", "qty": 2}]"#}),
            json!({"ok": [{"marketplace": "fixture", "shop": "s1", "order_sn": "o1",
                "status": "shipped", "currency": "USD",
                "address": {"country": "", "state": "", "city": "", "postcode": ""},
                "lines": [{"store_sku": "X", "qty": 2, "unit_price": ""}]}]}),
        ),
        (
            "map_status",
            t.map_status,
            json!({"native": "VOID"}),
            json!({"ok": "cancelled"}),
        ),
        (
            "map_status unknown",
            t.map_status,
            json!({"native": "??"}),
            json!({"ok": null}),
        ),
        (
            "stock_update_requests",
            t.stock_update_requests,
            json!({"ctx": ctx(), "items": [{"store_sku": "X", "quantity": 5}]}),
            json!({"ok": [{"method": "POST", "path": "/stock", "query": [["api_key", "k"]],
                "headers": [], "body": r#"{"sku":"X","quantity":5}"#,
                "content_type": "application/json"}]}),
        ),
        (
            "parse_stock_update accepted",
            t.parse_stock_update,
            json!({"items": [{"store_sku": "X", "quantity": 5}], "body": "{}"}),
            json!({"ok": []}),
        ),
        (
            "parse_stock_update refused",
            t.parse_stock_update,
            json!({"items": [{"store_sku": "X", "quantity": 5}],
                   "body": r#"{"error": {"code": "E1", "message": "no such listing"}}"#}),
            json!({"ok": [{"store_sku": "X", "code": "E1", "message": "no such listing"}]}),
        ),
    ];
    for (name, slot, input, expected) in cases {
        assert_eq!(call(slot, input), expected, "{name}");
    }
}

#[test]
fn adapter_errors_keep_their_kind() {
    let t = table();
    let answer = call(
        t.order_list_request,
        json!({"ctx": {"credentials": {}, "timestamp": 0},
        "query": {"time_from": 1, "time_to": 2, "page": null}}),
    );
    assert_eq!(answer["error"]["kind"], "invalid_input", "{answer}");
    let answer = call(
        t.parse_order_list,
        json!({"query": {"time_from": 1, "time_to": 2, "page": null}, "body": "not json"}),
    );
    assert_eq!(answer["error"]["kind"], "marketplace", "{answer}");
    // A host that sends no query (it predates the field) is told so, not answered a guess.
    let answer = call(t.parse_order_list, json!({"body": "{}"}));
    assert_eq!(answer["error"]["kind"], "invalid_input", "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("query"),
        "{answer}"
    );
}

#[test]
fn a_panic_becomes_a_plugin_error_and_the_plugin_keeps_working() {
    let t = table();
    let answer = call(
        t.parse_order_list,
        json!({"query": {"time_from": 1, "time_to": 2, "page": null}, "body": fixture::PANIC_BODY}),
    );
    assert_eq!(answer["error"]["kind"], "plugin", "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("parse_order_list"), "{message}");
    assert!(
        message.contains("the fixture was asked to panic"),
        "{message}"
    );
    assert_eq!(call(t.detail_batch_max, Value::Null), json!({"ok": 2}));
}

#[test]
fn bad_inputs_are_answered_never_dereferenced() {
    let t = table();
    let null_with_length = Bytes {
        ptr: std::ptr::null(),
        len: 8,
    };
    // SAFETY: the point of the test: the plugin must check the pointer.
    let answer = take(unsafe { (t.map_status.unwrap())(null_with_length) });
    assert_eq!(answer["error"]["kind"], "plugin", "{answer}");

    let answer = call_raw(t.map_status, b"{not json");
    assert_eq!(answer["error"]["kind"], "plugin", "{answer}");
    let answer = call(t.map_status, json!({"wrong": "shape"}));
    assert_eq!(answer["error"]["kind"], "plugin", "{answer}");

    // An empty input reads as `null`, which argument-less calls accept.
    let empty = Bytes {
        ptr: std::ptr::null(),
        len: 0,
    };
    // SAFETY: a null, empty input is allowed.
    let answer = take(unsafe { (t.detail_batch_max.unwrap())(empty) });
    assert_eq!(answer, json!({"ok": 2}));

    // SAFETY: freeing the empty buffer is a no-op.
    unsafe { (t.free.unwrap())(Buffer::EMPTY) };
}

static LINES: Mutex<Vec<(u32, String, String)>> = Mutex::new(Vec::new());

unsafe extern "C" fn record(level: u32, target: Bytes, message: Bytes) {
    // SAFETY: the plugin lends both for the duration of the call.
    let (target, message) = unsafe { (target.as_slice().unwrap(), message.as_slice().unwrap()) };
    LINES.lock().unwrap().push((
        level,
        String::from_utf8_lossy(target).into_owned(),
        String::from_utf8_lossy(message).into_owned(),
    ));
}

#[test]
fn logs_travel_through_the_host_callback() {
    let t = table();
    // SAFETY: `record` is a valid callback for the life of the process.
    assert_eq!(
        take(unsafe { (t.init.unwrap())(Some(record)) }),
        json!({"ok": null})
    );
    let answer = call(t.parse_orders, json!({"shop": "log-shop", "body": "[]"}));
    assert_eq!(answer, json!({"ok": []}));
    let lines = LINES.lock().unwrap();
    assert!(
        lines.contains(&(
            LogLevel::Info as u32,
            "fixture".to_owned(),
            "parsing orders of shop log-shop".to_owned()
        )),
        "{lines:?}"
    );
}
