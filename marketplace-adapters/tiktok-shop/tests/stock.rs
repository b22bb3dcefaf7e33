//! TikTok Shop's inventory-update answers read by the adapter: `code` 0 accepts the call; any
//! other code refuses every SKU of the product.

use distributary_adapter_tiktok_shop::TikTokShopAdapter;
use distributary_plugin::{Adapter, ErrorKind, StockItem, StockRefusal};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/stock/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn item(store_sku: &str, listing: &[(&str, &str)]) -> StockItem {
    StockItem {
        store_sku: store_sku.to_owned(),
        quantity: 7,
        listing: listing
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn refusal(store_sku: &str, code: &str, message: &str) -> StockRefusal {
    StockRefusal {
        store_sku: store_sku.to_owned(),
        code: code.to_owned(),
        message: message.to_owned(),
    }
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
