//! The exported C-ABI boundary of this crate, called in-process the way the host calls the loaded
//! library: through the entry symbol, the declaration and the call table, with JSON bytes.

use distributary_plugin::abi::{Buffer, Bytes, CallFn, CallTable, PluginDeclaration, MAGIC};
use serde_json::{json, Value};

// Linking the crate brings its `export_adapter!` entry symbol into this test binary.
use distributary_adapter_lazada as _;

extern "C" {
    fn distributary_plugin_entry() -> *const PluginDeclaration;
}

fn table() -> &'static CallTable {
    // SAFETY: the macro's entry returns a pointer to a static declaration pointing to a static
    // table.
    let declaration = unsafe { &*distributary_plugin_entry() };
    assert_eq!(declaration.magic, MAGIC);
    // SAFETY: see above.
    unsafe { &*declaration.calls }
}

fn call(slot: Option<CallFn>, input: Value) -> Value {
    let input = input.to_string();
    // SAFETY: `input` outlives the call.
    let buffer: Buffer = unsafe { (slot.unwrap())(Bytes::from_slice(input.as_bytes())) };
    // SAFETY: the plugin returned `len` readable bytes.
    let bytes = unsafe { std::slice::from_raw_parts(buffer.ptr, buffer.len) }.to_vec();
    // SAFETY: the buffer came from this table and is freed once.
    unsafe { (table().free.unwrap())(buffer) };
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn manifest_and_native_orders_cross_the_boundary() {
    let manifest = call(table().manifest, Value::Null);
    assert_eq!(manifest["ok"]["marketplace"], "lazada");
    let body = r#"{"code": "0", "data": [{"order_id": 7, "sku": "A", "status": "shipped", "paid_price": "1.50", "currency": "MYR"}]}"#;
    let orders = call(table().parse_orders, json!({"shop": "s", "body": body}));
    assert_eq!(
        orders,
        json!({"ok": [{"marketplace": "lazada", "shop": "s", "order_sn": "7", "status": "shipped",
            "currency": "MYR", "address": {"country": "", "state": "", "city": "", "postcode": ""},
            "lines": [{"store_sku": "A", "qty": 1, "unit_price": "1.50"}]}]})
    );
    let refused = call(
        table().parse_orders,
        json!({"shop": "s", "body": r#"{"code": "InvalidSignature", "message": "no"}"#}),
    );
    assert_eq!(refused["error"]["kind"], "marketplace");
}
