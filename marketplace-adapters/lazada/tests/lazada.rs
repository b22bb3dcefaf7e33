//! Fixture-driven tests of the Lazada adapter: every `fixtures/native/<name>.json` parses to
//! `<name>.expected.json` or fails with the message in `<name>.error`; requests are checked parameter by
//! parameter and their signatures re-derived.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use distributary_adapter_lazada::{sign, LazadaAdapter, STOCK_SKUS_PER_CALL_MAX};
use distributary_plugin::{
    Adapter, CanonicalOrder, ErrorKind, HttpRequest, ListQuery, RequestContext, StockItem,
};
use serde_json::{json, Value};

const SECRET: &str = "lazada-secret";
const SHOP: &str = "shop-1";
/// 2026-11-27T10:00:00Z.
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
        credentials: json!({"app_key": "100200", "app_secret": SECRET, "access_token": "tok"}),
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

/// Re-derives the signature the documented way and checks the request carries it last.
fn assert_signed(request: &HttpRequest) {
    let (last, rest) = request.query.split_last().unwrap();
    assert_eq!(last.0, "sign");
    let base = sign::sign_base(&request.path, rest, request.body.as_deref());
    assert_eq!(last.1, sign::sign_string(SECRET, &base).unwrap());
    assert_eq!(last.1, last.1.to_uppercase());
}

#[test]
fn native_fixtures() {
    let adapter = LazadaAdapter;
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
    let adapter = LazadaAdapter;
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
    let query = ListQuery {
        time_from: 0,
        time_to: 1,
        page: Some("100".into()),
    };
    for input in &inputs {
        let _ = adapter.parse_orders(SHOP, input);
        let _ = adapter.parse_order_list(&query, input);
        let _ = adapter.parse_order_list_page(&query, input);
    }
    assert!(inputs.len() > 1000);
}

#[test]
fn order_list_request_is_signed_and_windowed() {
    let query = ListQuery {
        time_from: NOW - 3600,
        time_to: NOW,
        page: Some("200".into()),
    };
    let request = LazadaAdapter.order_list_request(&ctx(), &query).unwrap();
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/orders/get");
    assert_eq!(request.body, None);
    let params = query_without_sign(&request);
    assert_eq!(
        params,
        vec![
            ("app_key", "100200"),
            ("timestamp", "1795773600000"),
            ("access_token", "tok"),
            ("sign_method", "sha256"),
            ("update_after", "2026-11-27T09:00:00+00:00"),
            ("update_before", "2026-11-27T10:00:00+00:00"),
            ("limit", "100"),
            ("offset", "200"),
        ]
    );
    assert_signed(&request);

    let first = ListQuery {
        page: None,
        ..query
    };
    let request = LazadaAdapter.order_list_request(&ctx(), &first).unwrap();
    assert!(params_of(&request).contains(&("offset", "0")));
}

fn query_without_sign(request: &HttpRequest) -> Vec<(&str, &str)> {
    let mut params = params_of(request);
    params.pop();
    params
}

#[test]
fn order_list_request_refuses_bad_input() {
    let bad_window = ListQuery {
        time_from: NOW,
        time_to: NOW - 1,
        page: None,
    };
    let error = LazadaAdapter
        .order_list_request(&ctx(), &bad_window)
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    let bad_page = ListQuery {
        time_from: 0,
        time_to: NOW,
        page: Some("next".into()),
    };
    let error = LazadaAdapter
        .order_list_request(&ctx(), &bad_page)
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    let mut no_secret = ctx();
    no_secret.credentials = json!({"app_key": "1", "access_token": "t"});
    let window = ListQuery {
        time_from: 0,
        time_to: NOW,
        page: None,
    };
    let error = LazadaAdapter
        .order_list_request(&no_secret, &window)
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert!(
        error.message.contains("credentials.app_secret"),
        "{}",
        error.message
    );
}

#[test]
fn order_list_pages_by_offset() {
    let adapter = LazadaAdapter;
    let at = |page: &str| ListQuery {
        time_from: 0,
        time_to: NOW,
        page: Some(page.into()),
    };
    let two = read(&fixtures("list").join("two_orders.json"));
    let page = adapter.parse_order_list(&at("0"), &two).unwrap();
    assert_eq!(page.order_ids, vec!["16090", "16091"]);
    assert_eq!(page.next_page, None);
    assert!(page.orders.is_empty());

    let many = read(&fixtures("list").join("page_of_many.json"));
    let page = adapter.parse_order_list_page(&at("100"), &many).unwrap();
    assert_eq!(page.order_ids, vec!["40001", "40002"]);
    assert_eq!(page.next_page.as_deref(), Some("102"));
    let last = adapter.parse_order_list_page(&at("248"), &many).unwrap();
    assert_eq!(last.next_page, None);
    // The trait method is the same parser: it reads the offset from the query.
    let page = adapter.parse_order_list(&at("100"), &many).unwrap();
    assert_eq!(page.next_page.as_deref(), Some("102"));

    let empty_early = r#"{"code": "0", "data": {"count": 0, "countTotal": 250, "orders": []}}"#;
    assert_eq!(
        adapter
            .parse_order_list_page(&at("0"), empty_early)
            .unwrap_err()
            .kind,
        ErrorKind::Marketplace
    );

    let garbled = read(&fixtures("list").join("garbled.json"));
    let error = adapter.parse_order_list(&at("0"), &garbled).unwrap_err();
    assert_eq!(error.kind, ErrorKind::Marketplace);
    assert_eq!(error.message, "data.orders[0].order_id: missing");

    let refused = read(&fixtures("native").join("refused_signature.json"));
    let error = adapter.parse_order_list(&at("0"), &refused).unwrap_err();
    assert_eq!(error.kind, ErrorKind::Marketplace);
    assert!(error.message.contains("IncompleteSignature"));
}

#[test]
fn order_detail_request_takes_one_order() {
    let adapter = LazadaAdapter;
    assert_eq!(adapter.detail_batch_max(), 1);
    let request = adapter
        .order_detail_request(&ctx(), &["16090".to_owned()])
        .unwrap();
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/order/items/get");
    assert!(params_of(&request).contains(&("order_id", "16090")));
    assert_signed(&request);
    let two = ["1".to_owned(), "2".to_owned()];
    assert_eq!(
        adapter.order_detail_request(&ctx(), &two).unwrap_err().kind,
        ErrorKind::InvalidInput
    );
    assert!(adapter.order_detail_request(&ctx(), &[]).is_err());
}

fn stock(store_sku: &str, quantity: u64, item_id: &str, sku_id: &str) -> StockItem {
    StockItem {
        store_sku: store_sku.to_owned(),
        quantity,
        listing: BTreeMap::from([
            ("item_id".to_owned(), item_id.to_owned()),
            ("sku_id".to_owned(), sku_id.to_owned()),
        ]),
    }
}

#[test]
fn stock_update_sends_escaped_xml_in_batches() {
    let adapter = LazadaAdapter;
    let items = vec![stock("A&<B>", 5, "11", "21"), stock("C", 0, "12", "22")];
    let requests = adapter.stock_update_requests(&ctx(), &items).unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/product/stock/sellable/update");
    assert!(params_of(request).contains(&(
        "payload",
        "<Request><Product><Skus>\
         <Sku><ItemId>11</ItemId><SkuId>21</SkuId><SellerSku>A&amp;&lt;B&gt;</SellerSku>\
         <SellableQuantity>5</SellableQuantity></Sku>\
         <Sku><ItemId>12</ItemId><SkuId>22</SkuId><SellerSku>C</SellerSku>\
         <SellableQuantity>0</SellableQuantity></Sku>\
         </Skus></Product></Request>"
    )));
    assert_signed(request);

    let many: Vec<StockItem> = (0..STOCK_SKUS_PER_CALL_MAX * 2 + 1)
        .map(|n| stock(&format!("S{n}"), 1, "1", &n.to_string()))
        .collect();
    let requests = adapter.stock_update_requests(&ctx(), &many).unwrap();
    let sizes: Vec<usize> = requests
        .iter()
        .map(|r| {
            let (_, payload) = r.query.iter().find(|(k, _)| k == "payload").unwrap();
            payload.matches("<Sku>").count()
        })
        .collect();
    assert_eq!(sizes, vec![50, 50, 1]);

    let mut missing = stock("X", 1, "1", "2");
    missing.listing.remove("sku_id");
    let error = adapter
        .stock_update_requests(&ctx(), &[missing])
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert!(
        error.message.contains("listing.sku_id"),
        "{}",
        error.message
    );
}

#[test]
fn manifest_declares_the_capabilities() {
    let manifest = LazadaAdapter.manifest();
    assert_eq!(manifest.marketplace, "lazada");
    assert_eq!(
        manifest.capabilities,
        vec!["order_sync", "stock_update", "seller_delivery", "push"]
    );
}
