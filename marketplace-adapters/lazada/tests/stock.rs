//! Lazada's sellable-stock answers read by the adapter: `code` "0" accepts the call; any other
//! code refuses each SKU, with its `detail` message where Lazada gives one.

use distributary_adapter_lazada::LazadaAdapter;
use distributary_plugin::testing::{self, stock_item as item, stock_refusal as refusal};
use distributary_plugin::{Adapter, ErrorKind, StockItem};

fn fixture(name: &str) -> String {
    testing::fixture(env!("CARGO_MANIFEST_DIR"), &format!("stock/{name}"))
}

fn items() -> Vec<StockItem> {
    vec![
        item("GREEN-S", &[("item_id", "2001"), ("sku_id", "3001")]),
        item("GREEN-M", &[("item_id", "2001"), ("sku_id", "3002")]),
    ]
}

#[test]
fn code_zero_accepts_every_sku() {
    let refused = LazadaAdapter.parse_stock_update(&items(), &fixture("accepted.json"));
    assert_eq!(refused, Ok(vec![]));
}

#[test]
fn a_refused_call_names_each_sku_with_its_detail_or_the_answers_message() {
    let refused = LazadaAdapter
        .parse_stock_update(&items(), &fixture("refused_sku.json"))
        .unwrap();
    assert_eq!(
        refused,
        vec![
            refusal(
                "GREEN-S",
                "500",
                "The sellable quantity cannot be less than the reserved quantity"
            ),
            refusal("GREEN-M", "500", "Update sellable quantity failed"),
        ]
    );
}

#[test]
fn a_refused_token_refuses_every_sku() {
    let refused = LazadaAdapter
        .parse_stock_update(&items(), &fixture("refused_token.json"))
        .unwrap();
    let message = "The specified access token is invalid or expired";
    assert_eq!(
        refused,
        vec![
            refusal("GREEN-S", "IllegalAccessToken", message),
            refusal("GREEN-M", "IllegalAccessToken", message),
        ]
    );
}

#[test]
fn an_answer_without_a_code_is_a_marketplace_error() {
    for body in ["<html>busy</html>", r#"{"request_id": "x"}"#] {
        let error = LazadaAdapter
            .parse_stock_update(&items(), body)
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Marketplace, "{body}: {error}");
    }
}
