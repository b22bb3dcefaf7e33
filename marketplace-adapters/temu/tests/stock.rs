//! Temu's stock-update answers read by the adapter: `success: true` (errorCode 1000000) accepts
//! the call; `success: false` refuses every SKU of the goods with Temu's `errorCode`.

use distributary_adapter_temu::TemuAdapter;
use distributary_plugin::testing::{self, stock_item as item, stock_refusal as refusal};
use distributary_plugin::{Adapter, ErrorKind, StockItem};

fn fixture(name: &str) -> String {
    testing::fixture(env!("CARGO_MANIFEST_DIR"), &format!("stock/{name}"))
}

fn items() -> Vec<StockItem> {
    vec![
        item(
            "17592352673534",
            &[
                ("goods_id", "601099548666279"),
                ("sku_id", "17592352673534"),
            ],
        ),
        item(
            "17592352673600",
            &[
                ("goods_id", "601099548666279"),
                ("sku_id", "17592352673600"),
            ],
        ),
    ]
}

#[test]
fn success_accepts_every_sku() {
    let refused = TemuAdapter.parse_stock_update(&items(), &fixture("accepted.json"));
    assert_eq!(refused, Ok(vec![]));
}

#[test]
fn success_false_refuses_every_sku_with_temus_error_code() {
    let refused = TemuAdapter
        .parse_stock_update(&items(), &fixture("refused.json"))
        .unwrap();
    let message = "The stock target of sku 17592352673534 is illegal";
    assert_eq!(
        refused,
        vec![
            refusal("17592352673534", "2000030", message),
            refusal("17592352673600", "2000030", message),
        ]
    );
}

#[test]
fn an_answer_with_neither_success_nor_error_code_is_a_marketplace_error() {
    for body in ["<html>busy</html>", r#"{"result": {}}"#] {
        let error = TemuAdapter.parse_stock_update(&items(), body).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Marketplace, "{body}: {error}");
    }
}
