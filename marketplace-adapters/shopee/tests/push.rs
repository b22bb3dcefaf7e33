//! The push-notification test vector of docs/marketplaces.md ("Push notifications"), as a
//! fixture, through the suite every pushing adapter passes (`distributary_plugin::testing`);
//! and what only Shopee signs: the callback URL, one partner key for every shop.

use distributary_adapter_shopee::ShopeeAdapter;
use distributary_plugin::{testing::PushVector, Adapter, ErrorKind, PushVerdict};
use serde_json::Value;

fn vector() -> PushVector {
    PushVector::read(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_documented_vector_verifies_and_every_change_is_unauthenticated() {
    vector().check(&ShopeeAdapter, "partner_key");
}

#[test]
fn the_callback_url_is_signed_and_another_shops_push_is_refused() {
    let request = vector().request;
    let mut elsewhere = request.clone();
    elsewhere.url = "https://erp.example.com/v1/webhooks/shopee/sp2".to_owned();
    assert!(matches!(
        ShopeeAdapter.parse_push(&elsewhere).unwrap(),
        PushVerdict::Unauthenticated { .. }
    ));
    let mut other_shop = request.clone();
    other_shop.credentials["shop_id"] = Value::from(42);
    let error = ShopeeAdapter.parse_push(&other_shop).unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput, "{error}");
}
