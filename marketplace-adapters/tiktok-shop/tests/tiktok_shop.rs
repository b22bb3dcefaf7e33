//! Fixture-driven tests of the TikTok Shop adapter: every `fixtures/native/<name>.json` parses to
//! `<name>.expected.json` or fails with the message in `<name>.error`; requests are checked parameter by
//! parameter and their signatures re-derived.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use distributary_adapter_tiktok_shop::{sign, TikTokShopAdapter, DETAIL_BATCH_MAX};
use distributary_plugin::{
    Adapter, CanonicalOrder, ErrorKind, HttpRequest, ListQuery, OrderStatus, RequestContext,
    StockItem,
};
use serde_json::{json, Value};

/// The query of a first page; TikTok Shop pages by the token its answer carries.
const FIRST_PAGE: ListQuery = ListQuery {
    time_from: 0,
    time_to: 1,
    page: None,
};

const SECRET: &str = "tts-secret";
const SHOP: &str = "shop-1";
const NOW: i64 = 1_795_773_600;

fn fixtures(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ctx() -> RequestContext {
    RequestContext {
        credentials: json!({
            "app_key": "29a39d",
            "app_secret": SECRET,
            "access_token": "tok",
            "shop_cipher": "GCP_XF90igAAAABh00qsWgtvOiGFNqyubMt3"
        }),
        timestamp: NOW,
    }
}

fn params_of(request: &HttpRequest) -> Vec<(&str, &str)> {
    request
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Re-derives the signature the documented way, checks it is the last parameter and that the
/// token travels only in its header.
fn assert_signed(request: &HttpRequest) {
    let (last, rest) = request.query.split_last().unwrap();
    assert_eq!(last.0, "sign");
    let base = sign::sign_base(SECRET, &request.path, rest, request.body.as_deref());
    assert_eq!(last.1, sign::sign_string(SECRET, &base).unwrap());
    assert_eq!(last.1, last.1.to_lowercase());
    assert!(!request.query.iter().any(|(k, _)| k == "access_token"));
    assert_eq!(
        request.headers,
        vec![("x-tts-access-token".to_owned(), "tok".to_owned())]
    );
}

fn common() -> Vec<(&'static str, &'static str)> {
    vec![
        ("app_key", "29a39d"),
        ("timestamp", "1795773600"),
        ("shop_cipher", "GCP_XF90igAAAABh00qsWgtvOiGFNqyubMt3"),
    ]
}

#[test]
fn native_fixtures() {
    let adapter = TikTokShopAdapter;
    let mut checked = 0;
    let mut entries: Vec<PathBuf> = fs::read_dir(fixtures("native"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension().is_some_and(|e| e == "json")
                && !path.to_string_lossy().ends_with(".expected.json")
        })
        .collect();
    entries.sort();
    for input in entries {
        let name = input.display().to_string();
        let parsed = adapter.parse_orders(SHOP, &read(&input));
        let expected = input.with_extension("expected.json");
        if expected.exists() {
            let expected: Vec<CanonicalOrder> = serde_json::from_str(&read(&expected)).unwrap();
            assert_eq!(parsed.unwrap(), expected, "{name}");
        } else {
            let message = read(&input.with_extension("error"));
            let error = parsed.expect_err(&name);
            assert_eq!(error.kind, ErrorKind::Marketplace, "{name}");
            assert!(
                error.message.starts_with(message.trim()),
                "{name}: {:?} does not start with {:?}",
                error.message,
                message.trim()
            );
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} fixtures");
}

/// Every sub-value of every fixture replaced by every other JSON type, and every prefix of every
/// fixture: the parsers answer, never panic.
#[test]
fn parsers_never_panic_on_mangled_fixtures() {
    fn mutations(value: &Value, out: &mut Vec<Value>, rebuild: &dyn Fn(Value) -> Value) {
        for replacement in [
            json!(null),
            json!(-1),
            json!(1.5),
            json!("x"),
            json!([]),
            json!({}),
        ] {
            out.push(rebuild(replacement));
        }
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let rebuild_child = |new: Value| {
                        let mut map = map.clone();
                        map.insert(key.clone(), new);
                        rebuild(Value::Object(map))
                    };
                    mutations(child, out, &rebuild_child);
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    let rebuild_child = |new: Value| {
                        let mut items = items.clone();
                        items[index] = new;
                        rebuild(Value::Array(items))
                    };
                    mutations(child, out, &rebuild_child);
                }
            }
            _ => {}
        }
    }
    let adapter = TikTokShopAdapter;
    let mut inputs = Vec::new();
    for dir in ["native", "list"] {
        for entry in fs::read_dir(fixtures(dir)).unwrap() {
            let text = read(&entry.unwrap().path());
            for end in (0..text.len()).filter(|end| text.is_char_boundary(*end)) {
                inputs.push(text[..end].to_owned());
            }
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                let mut out = Vec::new();
                mutations(&value, &mut out, &|v| v);
                inputs.extend(out.iter().map(Value::to_string));
            }
        }
    }
    for input in &inputs {
        let _ = adapter.parse_orders(SHOP, input);
        let _ = adapter.parse_order_list(&FIRST_PAGE, input);
    }
    assert!(inputs.len() > 1000);
}

#[test]
fn search_request_is_signed_with_its_body() {
    let query = ListQuery {
        time_from: NOW - 3600,
        time_to: NOW,
        page: Some("aDU2dHZFT0I3bmJlR1pwWHpKVkNnQT09".into()),
    };
    let request = TikTokShopAdapter
        .order_list_request(&ctx(), &query)
        .unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/order/202309/orders/search");
    assert_eq!(
        request.body.as_deref(),
        Some(r#"{"update_time_ge":1795770000,"update_time_lt":1795773600}"#)
    );
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    let mut expected = common();
    expected.push(("page_size", "100"));
    expected.push(("page_token", "aDU2dHZFT0I3bmJlR1pwWHpKVkNnQT09"));
    let mut params = params_of(&request);
    params.pop();
    assert_eq!(params, expected);
    assert_signed(&request);

    let first = ListQuery {
        page: None,
        ..query
    };
    let request = TikTokShopAdapter
        .order_list_request(&ctx(), &first)
        .unwrap();
    assert!(!request.query.iter().any(|(k, _)| k == "page_token"));

    let backwards = ListQuery {
        time_from: NOW,
        time_to: NOW - 1,
        page: None,
    };
    let error = TikTokShopAdapter
        .order_list_request(&ctx(), &backwards)
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    let mut no_cipher = ctx();
    no_cipher.credentials = json!({"app_key": "1", "app_secret": "s", "access_token": "t"});
    let error = TikTokShopAdapter
        .order_list_request(&no_cipher, &first)
        .unwrap_err();
    assert!(
        error.message.contains("credentials.shop_cipher"),
        "{}",
        error.message
    );
}

#[test]
fn search_answer_keeps_whole_orders_and_lists_the_rest() {
    let adapter = TikTokShopAdapter;
    let page = adapter
        .parse_order_list(&FIRST_PAGE, &read(&fixtures("list").join("search.json")))
        .unwrap();
    assert_eq!(page.order_ids, vec!["801"]);
    assert_eq!(
        page.orders,
        vec![CanonicalOrder {
            marketplace: "tiktok_shop".into(),
            shop: String::new(),
            order_sn: "800".into(),
            status: OrderStatus::Processed,
            currency: "SGD".into(),
            address: distributary_plugin::Address {
                country: "SG".into(),
                state: String::new(),
                city: String::new(),
                postcode: "018956".into(),
            },
            lines: vec![distributary_plugin::OrderLine {
                store_sku: "A".into(),
                qty: 1,
                unit_price: "10.00".into(),
            }],
        }]
    );
    assert_eq!(
        page.next_page.as_deref(),
        Some("aDU2dHZFT0I3bmJlR1pwWHpKVkNnQT09")
    );

    let last = adapter
        .parse_order_list(
            &FIRST_PAGE,
            &read(&fixtures("list").join("search_last.json")),
        )
        .unwrap();
    assert!(last.order_ids.is_empty() && last.orders.is_empty());
    assert_eq!(last.next_page, None);

    let error = adapter
        .parse_order_list(&FIRST_PAGE, &read(&fixtures("list").join("garbled.json")))
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Marketplace);
    assert_eq!(error.message, "data.orders[0].id: missing");

    let error = adapter
        .parse_order_list(
            &FIRST_PAGE,
            &read(&fixtures("native").join("refused_signature.json")),
        )
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Marketplace);
    assert!(error.message.contains("Invalid signature"));
}

#[test]
fn detail_request_batches_ids() {
    let adapter = TikTokShopAdapter;
    assert_eq!(adapter.detail_batch_max(), 50);
    let ids = vec![
        "576461413038785752".to_owned(),
        "576461413038785753".to_owned(),
    ];
    let request = adapter.order_detail_request(&ctx(), &ids).unwrap();
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/order/202309/orders");
    assert_eq!(request.body, None);
    assert_eq!(request.content_type, None);
    let mut expected = common();
    expected.push(("ids", "576461413038785752,576461413038785753"));
    let mut params = params_of(&request);
    params.pop();
    assert_eq!(params, expected);
    assert_signed(&request);

    let too_many: Vec<String> = (0..=DETAIL_BATCH_MAX).map(|n| n.to_string()).collect();
    assert_eq!(
        adapter
            .order_detail_request(&ctx(), &too_many)
            .unwrap_err()
            .kind,
        ErrorKind::InvalidInput
    );
    assert!(adapter.order_detail_request(&ctx(), &[]).is_err());
    assert!(adapter
        .order_detail_request(&ctx(), &["1,2".to_owned()])
        .is_err());
}

fn stock(store_sku: &str, quantity: u64, product: &str, sku: &str, warehouse: &str) -> StockItem {
    StockItem {
        store_sku: store_sku.to_owned(),
        quantity,
        listing: BTreeMap::from([
            ("product_id".to_owned(), product.to_owned()),
            ("sku_id".to_owned(), sku.to_owned()),
            ("warehouse_id".to_owned(), warehouse.to_owned()),
        ]),
    }
}

#[test]
fn stock_updates_are_grouped_per_product() {
    let adapter = TikTokShopAdapter;
    let items = vec![
        stock("TEE-M", 5, "1001", "1729", "W1"),
        stock("MUG", 3, "2002", "2800", "W1"),
        stock("TEE-M", 7, "1001", "1729", "W2"),
        stock("TEE-L", 0, "1001", "1730", "W1"),
    ];
    let requests = adapter.stock_update_requests(&ctx(), &items).unwrap();
    let shapes: Vec<(&str, &str, Value)> = requests
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.path.as_str(),
                serde_json::from_str(r.body.as_deref().unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shapes,
        vec![
            (
                "POST",
                "/product/202309/products/1001/inventory/update",
                json!({"skus": [
                    {"id": "1729", "inventory": [
                        {"warehouse_id": "W1", "quantity": 5},
                        {"warehouse_id": "W2", "quantity": 7}
                    ]},
                    {"id": "1730", "inventory": [{"warehouse_id": "W1", "quantity": 0}]}
                ]})
            ),
            (
                "POST",
                "/product/202309/products/2002/inventory/update",
                json!({"skus": [{"id": "2800", "inventory": [{"warehouse_id": "W1", "quantity": 3}]}]})
            ),
        ]
    );
    for request in &requests {
        assert_signed(request);
        let mut params = params_of(request);
        params.pop();
        assert_eq!(params, common());
    }

    let twice = vec![stock("A", 1, "1", "2", "W"), stock("A", 2, "1", "2", "W")];
    assert_eq!(
        adapter
            .stock_update_requests(&ctx(), &twice)
            .unwrap_err()
            .kind,
        ErrorKind::InvalidInput
    );
    let mut missing = stock("A", 1, "1", "2", "W");
    missing.listing.remove("warehouse_id");
    let error = adapter
        .stock_update_requests(&ctx(), &[missing])
        .unwrap_err();
    assert!(
        error.message.contains("listing.warehouse_id"),
        "{}",
        error.message
    );
    let sneaky = stock("A", 1, "1/../../x", "2", "W");
    assert!(adapter.stock_update_requests(&ctx(), &[sneaky]).is_err());
}

#[test]
fn manifest_declares_the_capabilities() {
    let manifest = TikTokShopAdapter.manifest();
    assert_eq!(manifest.marketplace, "tiktok_shop");
    assert_eq!(
        manifest.capabilities,
        vec!["order_sync", "stock_update", "seller_delivery", "push"]
    );
}
