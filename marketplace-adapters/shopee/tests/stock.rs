//! Shopee's `update_stock` answers read by the adapter: a level is accepted only when the answer
//! says so; `error` inside a 200 answer refuses the call, a `failure_list` entry its model.

use distributary_adapter_shopee::stock::FAILURE_LIST_CODE;
use distributary_adapter_shopee::ShopeeAdapter;
use distributary_plugin::testing::{self, stock_item as item, stock_refusal as refusal};
use distributary_plugin::{Adapter, ErrorKind, StockItem};

fn fixture(name: &str) -> String {
    testing::fixture(env!("CARGO_MANIFEST_DIR"), &format!("stock/{name}"))
}

fn items() -> Vec<StockItem> {
    vec![
        item(
            "SP-RED",
            &[("item_id", "3000142341"), ("model_id", "5000223451")],
        ),
        item(
            "SP-BLU",
            &[("item_id", "3000142341"), ("model_id", "5000223452")],
        ),
    ]
}

#[test]
fn an_answer_without_error_or_failure_accepts_every_model() {
    let refused = ShopeeAdapter.parse_stock_update(&items(), &fixture("accepted.json"));
    assert_eq!(refused, Ok(vec![]));
}

#[test]
fn an_error_inside_a_200_answer_refuses_every_model_with_shopees_code() {
    let refused = ShopeeAdapter
        .parse_stock_update(&items(), &fixture("refused_in_200.json"))
        .unwrap();
    let message = "Item id 3000142341 not found.";
    assert_eq!(
        refused,
        vec![
            refusal("SP-RED", "error_item_not_found", message),
            refusal("SP-BLU", "error_item_not_found", message),
        ]
    );
}

#[test]
fn a_failure_list_entry_refuses_its_model_only() {
    let refused = ShopeeAdapter
        .parse_stock_update(&items(), &fixture("one_model_failed.json"))
        .unwrap();
    assert_eq!(
        refused,
        vec![refusal(
            "SP-BLU",
            FAILURE_LIST_CODE,
            "The stock cannot be less than the reserved stock."
        )]
    );
}

#[test]
fn an_answer_that_is_not_shopees_shape_is_a_marketplace_error() {
    for body in [
        "<html>busy</html>",
        r#"{"error": ""}"#,
        r#"{"error": "", "response": {"failure_list": [{"model_id": 1}]}}"#,
    ] {
        let error = ShopeeAdapter
            .parse_stock_update(&items(), body)
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Marketplace, "{body}: {error}");
    }
}
