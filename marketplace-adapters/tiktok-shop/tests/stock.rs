//! TikTok Shop's inventory-update answers read by the adapter: `code` 0 accepts the call; any
//! other code refuses every SKU of the product.

use distributary_adapter_tiktok_shop::TikTokShopAdapter;
use distributary_plugin::testing::{self, stock_item as item, stock_refusal as refusal};
use distributary_plugin::{Adapter, ErrorKind, StockItem};

fn fixture(name: &str) -> String {
    testing::fixture(env!("CARGO_MANIFEST_DIR"), &format!("stock/{name}"))
}

fn items() -> Vec<StockItem> {
    vec![
        item(
            "MUG",
            &[
                ("product_id", "1729"),
                ("sku_id", "2001"),
                ("warehouse_id", "7001"),
            ],
        ),
        item(
            "MUG-L",
            &[
                ("product_id", "1729"),
                ("sku_id", "2002"),
                ("warehouse_id", "7001"),
            ],
        ),
    ]
}

#[test]
fn code_zero_accepts_every_sku() {
    let refused = TikTokShopAdapter.parse_stock_update(&items(), &fixture("accepted.json"));
    assert_eq!(refused, Ok(vec![]));
}

#[test]
fn a_non_zero_code_refuses_every_sku_with_tiktoks_code() {
    let refused = TikTokShopAdapter
        .parse_stock_update(&items(), &fixture("refused.json"))
        .unwrap();
    let message = "The SKU does not exist.";
    assert_eq!(
        refused,
        vec![
            refusal("MUG", "12052048", message),
            refusal("MUG-L", "12052048", message),
        ]
    );
}

#[test]
fn an_answer_without_a_code_is_a_marketplace_error() {
    for body in ["<html>busy</html>", r#"{"message": "Success"}"#] {
        let error = TikTokShopAdapter
            .parse_stock_update(&items(), body)
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Marketplace, "{body}: {error}");
    }
}
