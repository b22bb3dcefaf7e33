//! Parsing Temu's documented answers, from the fixtures beside this file.

use distributary_adapter_temu::TemuAdapter;
use distributary_plugin::{Adapter, AdapterError, CanonicalOrder, ErrorKind, ListQuery};
use serde_json::json;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn marketplace_error(result: Result<impl std::fmt::Debug, AdapterError>) -> String {
    let err = result.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Marketplace, "{err}");
    err.message
}

fn expected(name: &str) -> Vec<CanonicalOrder> {
    serde_json::from_str(&fixture(name)).unwrap()
}

#[test]
fn order_list_answer_parses_into_one_order_per_parent_order() {
    let orders = TemuAdapter
        .parse_orders("temu-us", &fixture("order_list.json"))
        .unwrap();
    assert_eq!(orders, expected("order_list.expected.json"));
}

#[test]
fn order_detail_answer_parses_into_its_parent_order() {
    let orders = TemuAdapter
        .parse_orders("temu-us", &fixture("order_detail.json"))
        .unwrap();
    let expected: Vec<CanonicalOrder> = serde_json::from_value(json!([{
        "marketplace": "temu", "shop": "temu-us", "order_sn": "PO-211-00000000000000001",
        "status": "cancelled", "currency": "",
        "lines": [{"store_sku": "900001", "qty": 2, "unit_price": ""}]
    }]))
    .unwrap();
    assert_eq!(orders, expected);
}

#[test]
fn the_list_carries_its_orders_and_a_last_page_has_no_next() {
    let page = TemuAdapter
        .parse_order_list(&query(None), &fixture("order_list.json"))
        .unwrap();
    assert!(page.order_ids.is_empty());
    assert_eq!(page.next_page, None);
    let mut orders = expected("order_list.expected.json");
    for order in &mut orders {
        order.shop.clear();
    }
    assert_eq!(page.orders, orders);
}

/// An answer of `count` parent orders out of `total`.
fn list_answer(count: usize, total: u64) -> String {
    let items: Vec<_> = (0..count)
        .map(|n| {
            json!({"parentOrderMap": {"parentOrderSn": format!("PO-{n}"), "parentOrderStatus": 2},
                   "orderList": [{"skuId": 1000 + n, "quantity": 1}]})
        })
        .collect();
    json!({"success": true, "errorCode": 1000000, "result": {"totalItemNum": total, "pageItems": items}})
        .to_string()
}

fn query(page: Option<&str>) -> ListQuery {
    ListQuery {
        time_from: 1_711_000_000,
        time_to: 1_711_086_400,
        page: page.map(str::to_owned),
    }
}

#[test]
fn pages_follow_page_number_times_page_size_against_total_item_num() {
    let cases = [
        (None, 100, 250, Some("2")),
        (Some("2"), 100, 250, Some("3")),
        (Some("3"), 50, 250, None),
        (None, 100, 100, None),
        (None, 0, 0, None),
    ];
    for (page, count, total, next) in cases {
        let parsed = TemuAdapter
            .parse_order_list_for(&query(page), &list_answer(count, total))
            .unwrap();
        assert_eq!(parsed.orders.len(), count);
        assert_eq!(
            parsed.next_page.as_deref(),
            next,
            "{page:?} {count}/{total}"
        );
    }
}

#[test]
fn the_trait_parser_pages_by_the_page_number_of_its_query() {
    let last = TemuAdapter
        .parse_order_list(&query(Some("3")), &list_answer(40, 240))
        .unwrap();
    assert_eq!(last.next_page, None);
    assert_eq!(last.orders.len(), 40);
    let second = TemuAdapter
        .parse_order_list(&query(Some("2")), &list_answer(100, 250))
        .unwrap();
    assert_eq!(second.next_page.as_deref(), Some("3"));
    let first = TemuAdapter
        .parse_order_list(&query(None), &list_answer(100, 250))
        .unwrap();
    assert_eq!(first.next_page.as_deref(), Some("2"));
}

#[test]
fn refused_and_garbled_answers_are_marketplace_errors_that_say_why() {
    let cases = [
        (
            fixture("error_signature.json"),
            "Temu refused the request: errorCode 3000001 (bad signature): SIGN_UNVALID",
        ),
        (
            r#"{"success": true, "errorCode": 4000004, "errorMsg": "RATE_LIMIT_EXCEED_EXCEPTION"}"#
                .to_owned(),
            "Temu refused the request: errorCode 4000004: RATE_LIMIT_EXCEED_EXCEPTION",
        ),
        (
            r#"{"success": false}"#.to_owned(),
            "Temu refused the request: errorCode none: ",
        ),
        (
            fixture("order_list_bad_sku.json"),
            "Temu answer: $.result.pageItems[0].orderList[1].skuId: expected a SKU id (an \
             unsigned integer), found an object",
        ),
        (
            fixture("order_list_unknown_status.json"),
            "Temu answer: $.result.pageItems[0].parentOrderMap.parentOrderStatus: expected a \
             documented Temu parentOrderStatus, found the number 7",
        ),
        (
            fixture("shopee_answer.json"),
            "Temu answer: $: expected a Temu answer with `success` or `errorCode`, found an object",
        ),
        (
            r#"{"success": true, "errorCode": 1000000}"#.to_owned(),
            "Temu answer: $.result: missing",
        ),
    ];
    for (body, message) in cases {
        assert_eq!(
            marketplace_error(TemuAdapter.parse_orders("s", &body)),
            message,
            "{body}"
        );
    }
    let garbled = marketplace_error(TemuAdapter.parse_orders("s", &fixture("garbled.html")));
    assert!(garbled.starts_with("Temu answer: not JSON: "), "{garbled}");
    let signature = marketplace_error(
        TemuAdapter.parse_order_list(&query(None), &fixture("error_signature.json")),
    );
    assert!(signature.contains("3000001"), "{signature}");
}

/// Every prefix of every fixture is answered, never panicked on; only whole documents parse.
#[test]
fn parsers_never_panic_on_truncated_answers() {
    for name in [
        "order_list.json",
        "order_detail.json",
        "error_signature.json",
    ] {
        let body = fixture(name);
        let whole = body.trim_end().len();
        for end in (0..whole).filter(|end| body.is_char_boundary(*end)) {
            let prefix = &body[..end];
            assert!(
                TemuAdapter.parse_orders("s", prefix).is_err(),
                "{name}[..{end}]"
            );
            assert!(
                TemuAdapter.parse_order_list(&query(None), prefix).is_err(),
                "{name}[..{end}]"
            );
        }
    }
}
