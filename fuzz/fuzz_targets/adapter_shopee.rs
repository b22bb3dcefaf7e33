//! The shopee adapter's payload parsers (`parse_orders`, `parse_order_list`, `map_status`) on
//! arbitrary answer bodies, through the plain-Rust `Adapter` trait.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    distributary_fuzz::adapter_payload(&distributary_adapter_shopee::ShopeeAdapter, data);
});
