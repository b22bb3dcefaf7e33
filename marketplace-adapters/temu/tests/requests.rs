//! The requests the Temu adapter builds: signed router calls with the documented parameters.

use std::collections::BTreeMap;

use distributary_adapter_temu::signing::sign;
use distributary_adapter_temu::{TemuAdapter, ROUTER_PATH};
use distributary_plugin::{
    Adapter, AdapterError, ErrorKind, HttpRequest, ListQuery, RequestContext, StockItem,
};
use serde_json::{json, Value};

const NOW: i64 = 1_711_009_072;
const SECRET: &str = "c7e0a1a63542be4de3cb5488f9fba8149e8fc290";

fn ctx() -> RequestContext {
    RequestContext {
        credentials: json!({
            "app_key": "f9d5cc9313893a20d5aa85c654e8f503",
            "app_secret": SECRET,
            "access_token": "2nifvmpyymvypwmcms5ct4uqqudrwgpmzbcnmkt1jzjkuaf3x56iixym"
        }),
        timestamp: NOW,
    }
}

/// The body of a router call, after checking the common parameters and that `sign` is what the
/// documented algorithm gives for the other parameters as sent.
fn signed_body(request: &HttpRequest, api_type: &str) -> Value {
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, ROUTER_PATH);
    assert!(request.query.is_empty());
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    let body: Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["type"], api_type);
    assert_eq!(body["app_key"], "f9d5cc9313893a20d5aa85c654e8f503");
    assert_eq!(
        body["access_token"],
        "2nifvmpyymvypwmcms5ct4uqqudrwgpmzbcnmkt1jzjkuaf3x56iixym"
    );
    assert_eq!(body["data_type"], "JSON");
    assert_eq!(body["timestamp"], NOW);
    let params: Vec<(String, String)> = body
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| *name != "sign")
        .map(|(name, value)| (name.clone(), value.to_string()))
        .collect();
    assert_eq!(body["sign"], sign(SECRET, &params));
    body
}

fn invalid_input<T: std::fmt::Debug>(result: Result<T, AdapterError>) -> String {
    let err = result.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput, "{err}");
    err.message
}

#[test]
fn manifest_declares_no_seller_delivery() {
    let manifest = TemuAdapter.manifest();
    assert_eq!(manifest.marketplace, "temu");
    assert_eq!(manifest.capabilities, ["order_sync", "stock_update"]);
}

#[test]
fn order_list_request_asks_for_a_page_of_the_update_window() {
    let query = ListQuery {
        time_from: NOW - 3600,
        time_to: NOW,
        page: None,
    };
    let body = signed_body(
        &TemuAdapter.order_list_request(&ctx(), &query).unwrap(),
        "bg.order.list.v2.get",
    );
    assert_eq!(body["pageNumber"], 1);
    assert_eq!(body["pageSize"], 100);
    assert_eq!(body["updateAtStart"], NOW - 3600);
    assert_eq!(body["updateAtEnd"], NOW - 1);
    let third = ListQuery {
        page: Some("3".into()),
        ..query.clone()
    };
    let body = signed_body(
        &TemuAdapter.order_list_request(&ctx(), &third).unwrap(),
        "bg.order.list.v2.get",
    );
    assert_eq!(body["pageNumber"], 3);
    for page in ["0", "x", "1001"] {
        let bad = ListQuery {
            page: Some(page.into()),
            ..query.clone()
        };
        invalid_input(TemuAdapter.order_list_request(&ctx(), &bad));
    }
    let inverted = ListQuery {
        time_from: NOW,
        time_to: NOW,
        page: None,
    };
    invalid_input(TemuAdapter.order_list_request(&ctx(), &inverted));
}

#[test]
fn order_detail_request_names_one_parent_order() {
    assert_eq!(TemuAdapter.detail_batch_max(), 1);
    let ids = ["PO-211-00822146499192890".to_owned()];
    let body = signed_body(
        &TemuAdapter.order_detail_request(&ctx(), &ids).unwrap(),
        "bg.order.detail.v2.get",
    );
    assert_eq!(body["parentOrderSn"], "PO-211-00822146499192890");
    invalid_input(TemuAdapter.order_detail_request(&ctx(), &[]));
    invalid_input(TemuAdapter.order_detail_request(&ctx(), &["A".into(), "B".into()]));
}

#[test]
fn missing_credentials_are_invalid_input_naming_the_field_not_the_secret() {
    for field in ["app_key", "app_secret", "access_token"] {
        let mut credentials = ctx().credentials;
        credentials.as_object_mut().unwrap().remove(field);
        let ctx = RequestContext {
            credentials,
            timestamp: NOW,
        };
        let message = invalid_input(TemuAdapter.order_detail_request(&ctx, &["A".into()]));
        assert!(message.contains(&format!("`{field}`")), "{message}");
        assert!(!message.contains(SECRET), "{message}");
    }
}

fn stock(store_sku: &str, quantity: u64, listing: &[(&str, &str)]) -> StockItem {
    StockItem {
        store_sku: store_sku.to_owned(),
        quantity,
        listing: listing
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[test]
fn stock_updates_set_targets_per_goods() {
    let items = [
        stock("17592352673534", 7, &[("goods_id", "601099548666279")]),
        stock("17592352673600", 0, &[("goods_id", "601099548666280")]),
        stock(
            "lamp-blue",
            2,
            &[
                ("goods_id", "601099548666279"),
                ("sku_id", "17592352673535"),
            ],
        ),
    ];
    let requests = TemuAdapter.stock_update_requests(&ctx(), &items).unwrap();
    assert_eq!(requests.len(), 2);
    let first = signed_body(&requests[0], "bg.local.goods.stock.edit");
    assert_eq!(first["goodsId"], 601099548666279u64);
    assert_eq!(
        first["skuStockTargetList"],
        json!([{"skuId": 17592352673534u64, "stockTarget": 7}, {"skuId": 17592352673535u64, "stockTarget": 2}])
    );
    let second = signed_body(&requests[1], "bg.local.goods.stock.edit");
    assert_eq!(second["goodsId"], 601099548666280u64);
    assert_eq!(
        second["skuStockTargetList"],
        json!([{"skuId": 17592352673600u64, "stockTarget": 0}])
    );
}

#[test]
fn stock_updates_split_goods_with_more_than_100_skus_and_refuse_unusable_listings() {
    let items: Vec<StockItem> = (0..150)
        .map(|n| stock(&(5000 + n).to_string(), n, &[("goods_id", "9")]))
        .collect();
    let requests = TemuAdapter.stock_update_requests(&ctx(), &items).unwrap();
    let sizes: Vec<usize> = requests
        .iter()
        .map(|request| {
            signed_body(request, "bg.local.goods.stock.edit")["skuStockTargetList"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(sizes, [100, 50]);

    let missing = invalid_input(TemuAdapter.stock_update_requests(&ctx(), &[stock("1", 1, &[])]));
    assert!(missing.contains("`goods_id`"), "{missing}");
    let not_numeric = invalid_input(
        TemuAdapter.stock_update_requests(&ctx(), &[stock("LAMP", 1, &[("goods_id", "9")])]),
    );
    assert!(not_numeric.contains("\"LAMP\""), "{not_numeric}");
    let twice = [
        stock("1", 1, &[("goods_id", "9")]),
        stock("1", 2, &[("goods_id", "9")]),
    ];
    invalid_input(TemuAdapter.stock_update_requests(&ctx(), &twice));
}
