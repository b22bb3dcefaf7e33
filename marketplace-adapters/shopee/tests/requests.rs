//! The requests the Shopee adapter builds: signed as documented, windowed, batched.

use std::collections::BTreeMap;

use distributary_adapter_shopee::signing::{shop_base_string, sign};
use distributary_adapter_shopee::{
    ShopeeAdapter, LIST_WINDOWS_MAX, ORDER_DETAIL_PATH, ORDER_LIST_PATH, UPDATE_STOCK_PATH,
    WINDOW_SECONDS_MAX,
};
use distributary_plugin::{
    Adapter, AdapterError, ErrorKind, HttpRequest, ListQuery, RequestContext, StockItem,
};
use serde_json::json;

const NOW: i64 = 1_700_000_000;
const DAY: i64 = 24 * 60 * 60;

fn ctx() -> RequestContext {
    RequestContext {
        credentials: json!({
            "partner_id": 2001887,
            "partner_key": "test_partner_key",
            "shop_id": "14701711",
            "access_token": "59777174636562737266615546704c6d"
        }),
        timestamp: NOW,
    }
}

fn query_value<'a>(request: &'a HttpRequest, name: &str) -> &'a str {
    let mut values = request.query.iter().filter(|(key, _)| key == name);
    let (_, value) = values
        .next()
        .unwrap_or_else(|| panic!("no {name} in {request:?}"));
    assert!(values.next().is_none(), "{name} twice");
    value
}

/// Checks the common parameters and that `sign` is the documented HMAC of the request's path.
fn assert_signed(request: &HttpRequest) {
    assert_eq!(query_value(request, "partner_id"), "2001887");
    assert_eq!(query_value(request, "timestamp"), NOW.to_string());
    assert_eq!(
        query_value(request, "access_token"),
        "59777174636562737266615546704c6d"
    );
    assert_eq!(query_value(request, "shop_id"), "14701711");
    let base = shop_base_string(
        2_001_887,
        &request.path,
        NOW,
        "59777174636562737266615546704c6d",
        14_701_711,
    );
    assert_eq!(
        query_value(request, "sign"),
        sign("test_partner_key", &base).unwrap()
    );
}

fn invalid_input<T: std::fmt::Debug>(result: Result<T, AdapterError>) -> String {
    let err = result.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput, "{err}");
    err.message
}

#[test]
fn manifest_declares_order_sync_stock_update_and_seller_delivery() {
    let manifest = ShopeeAdapter.manifest();
    assert_eq!(manifest.marketplace, "shopee");
    assert_eq!(
        manifest.capabilities,
        ["order_sync", "stock_update", "seller_delivery", "push"]
    );
}

#[test]
fn order_list_request_is_a_signed_get_by_update_time() {
    let query = ListQuery {
        time_from: NOW - DAY,
        time_to: NOW,
        page: None,
    };
    let request = ShopeeAdapter.order_list_request(&ctx(), &query).unwrap();
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, ORDER_LIST_PATH);
    assert_eq!(request.body, None);
    assert_signed(&request);
    assert_eq!(query_value(&request, "time_range_field"), "update_time");
    assert_eq!(query_value(&request, "time_from"), (NOW - DAY).to_string());
    assert_eq!(query_value(&request, "time_to"), NOW.to_string());
    assert_eq!(query_value(&request, "page_size"), "100");
    assert_eq!(query_value(&request, "cursor"), "");

    let next = ListQuery {
        page: Some("20".into()),
        ..query
    };
    let request = ShopeeAdapter.order_list_request(&ctx(), &next).unwrap();
    assert_eq!(query_value(&request, "cursor"), "20");
}

#[test]
fn order_list_request_refuses_windows_shopee_refuses() {
    let wide = ListQuery {
        time_from: NOW - WINDOW_SECONDS_MAX - 1,
        time_to: NOW,
        page: None,
    };
    assert!(invalid_input(ShopeeAdapter.order_list_request(&ctx(), &wide)).contains("15 days"));
    let inverted = ListQuery {
        time_from: NOW,
        time_to: NOW - 1,
        page: None,
    };
    assert!(
        invalid_input(ShopeeAdapter.order_list_request(&ctx(), &inverted))
            .contains("ends before it starts")
    );
    let exactly_15_days = ListQuery {
        time_from: NOW - WINDOW_SECONDS_MAX,
        time_to: NOW,
        page: None,
    };
    assert!(ShopeeAdapter
        .order_list_request(&ctx(), &exactly_15_days)
        .is_ok());
}

#[test]
fn list_windows_splits_into_15_day_windows() {
    let from = NOW - 40 * DAY;
    assert_eq!(
        ShopeeAdapter.list_windows(from, NOW),
        [
            (from, from + 15 * DAY),
            (from + 15 * DAY, from + 30 * DAY),
            (from + 30 * DAY, NOW)
        ]
    );
    assert_eq!(ShopeeAdapter.list_windows(NOW, NOW), []);
    assert_eq!(ShopeeAdapter.list_windows(NOW, NOW - 1), [(NOW, NOW - 1)]);
    for (start, end) in ShopeeAdapter.list_windows(from, NOW) {
        let query = ListQuery {
            time_from: start,
            time_to: end,
            page: None,
        };
        assert!(ShopeeAdapter.order_list_request(&ctx(), &query).is_ok());
    }
}

#[test]
fn list_windows_is_bounded_and_its_overflow_window_is_refused() {
    let windows = ShopeeAdapter.list_windows(0, i64::MAX);
    assert_eq!(windows.len(), LIST_WINDOWS_MAX);
    let (start, end) = windows[LIST_WINDOWS_MAX - 1];
    assert_eq!(end, i64::MAX);
    let query = ListQuery {
        time_from: start,
        time_to: end,
        page: None,
    };
    invalid_input(ShopeeAdapter.order_list_request(&ctx(), &query));
}

#[test]
fn order_detail_request_lists_up_to_50_orders_with_the_needed_optional_fields() {
    assert_eq!(ShopeeAdapter.detail_batch_max(), 50);
    let ids = vec!["201218V2Y6E59M".to_owned(), "201218V2W2SQ8D".to_owned()];
    let request = ShopeeAdapter.order_detail_request(&ctx(), &ids).unwrap();
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, ORDER_DETAIL_PATH);
    assert_signed(&request);
    assert_eq!(
        query_value(&request, "order_sn_list"),
        "201218V2Y6E59M,201218V2W2SQ8D"
    );
    let fields = query_value(&request, "response_optional_fields");
    assert!(fields.split(',').any(|field| field == "item_list"));
    assert!(fields.split(',').any(|field| field == "recipient_address"));

    let too_many: Vec<String> = (0..51).map(|n| format!("SN{n}")).collect();
    invalid_input(ShopeeAdapter.order_detail_request(&ctx(), &too_many));
    invalid_input(ShopeeAdapter.order_detail_request(&ctx(), &[]));
    invalid_input(ShopeeAdapter.order_detail_request(&ctx(), &["A,B".to_owned()]));
}

#[test]
fn missing_credentials_are_invalid_input_naming_the_field_not_the_secret() {
    for (field, credentials) in [
        (
            "partner_key",
            json!({"partner_id": 1, "shop_id": 2, "access_token": "SECRET-VALUE"}),
        ),
        (
            "partner_id",
            json!({"partner_id": "x1", "partner_key": "k", "shop_id": 2, "access_token": "SECRET-VALUE"}),
        ),
        (
            "access_token",
            json!({"partner_id": 1, "partner_key": "k", "shop_id": 2, "access_token": ""}),
        ),
        (
            "shop_id",
            json!({"partner_id": 1, "partner_key": "k", "access_token": "SECRET-VALUE"}),
        ),
    ] {
        let ctx = RequestContext {
            credentials,
            timestamp: NOW,
        };
        let ids = ["A".to_owned()];
        let message = invalid_input(ShopeeAdapter.order_detail_request(&ctx, &ids));
        assert!(message.contains(&format!("`{field}`")), "{message}");
        assert!(!message.contains("SECRET-VALUE"), "{message}");
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

fn body(request: &HttpRequest) -> serde_json::Value {
    serde_json::from_str(request.body.as_deref().unwrap()).unwrap()
}

#[test]
fn stock_updates_are_one_item_per_call() {
    let items = [
        stock(
            "TSHIRT-RED-M",
            7,
            &[("item_id", "3000142341"), ("model_id", "5000223451")],
        ),
        stock("MUG-01", 0, &[("item_id", "3000142342")]),
        stock(
            "TSHIRT-RED-L",
            3,
            &[
                ("item_id", "3000142341"),
                ("model_id", "5000223452"),
                ("location_id", "SGZ"),
            ],
        ),
    ];
    let requests = ShopeeAdapter.stock_update_requests(&ctx(), &items).unwrap();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, UPDATE_STOCK_PATH);
        assert_eq!(request.content_type.as_deref(), Some("application/json"));
        assert_signed(request);
    }
    assert_eq!(
        body(&requests[0]),
        json!({"item_id": 3000142341u64, "stock_list": [
            {"model_id": 5000223451u64, "seller_stock": [{"stock": 7}]},
            {"model_id": 5000223452u64, "seller_stock": [{"location_id": "SGZ", "stock": 3}]}
        ]})
    );
    assert_eq!(
        body(&requests[1]),
        json!({"item_id": 3000142342u64, "stock_list": [{"model_id": 0, "seller_stock": [{"stock": 0}]}]})
    );
}

#[test]
fn stock_updates_split_items_with_more_than_50_models() {
    let items: Vec<StockItem> = (0..120)
        .map(|n| {
            let model = (1000 + n).to_string();
            stock(
                &format!("SKU-{n}"),
                n,
                &[("item_id", "9"), ("model_id", model.as_str())],
            )
        })
        .collect();
    let requests = ShopeeAdapter.stock_update_requests(&ctx(), &items).unwrap();
    let sizes: Vec<usize> = requests
        .iter()
        .map(|request| body(request)["stock_list"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [50, 50, 20]);
    assert_eq!(body(&requests[2])["stock_list"][19]["model_id"], 1119);
}

#[test]
fn stock_updates_refuse_unusable_listings() {
    let missing = invalid_input(
        ShopeeAdapter.stock_update_requests(&ctx(), &[stock("MUG-01", 1, &[("model_id", "1")])]),
    );
    assert!(
        missing.contains("`item_id`") && missing.contains("MUG-01"),
        "{missing}"
    );
    let not_a_number = invalid_input(
        ShopeeAdapter.stock_update_requests(&ctx(), &[stock("MUG-01", 1, &[("item_id", "abc")])]),
    );
    assert!(not_a_number.contains("\"abc\""), "{not_a_number}");
    let twice = [
        stock("A", 1, &[("item_id", "1")]),
        stock("B", 2, &[("item_id", "1"), ("model_id", "0")]),
    ];
    invalid_input(ShopeeAdapter.stock_update_requests(&ctx(), &twice));
    assert_eq!(
        ShopeeAdapter.stock_update_requests(&ctx(), &[]).unwrap(),
        []
    );
}
