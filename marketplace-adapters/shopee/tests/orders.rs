//! Parsing Shopee's documented answers, from the fixtures beside this file.

use distributary_adapter_shopee::ShopeeAdapter;
use distributary_plugin::{Adapter, AdapterError, CanonicalOrder, ErrorKind, ListPage, ListQuery};

/// The query of a first page; Shopee pages by the cursor its answer carries, so any query does.
const FIRST_PAGE: ListQuery = ListQuery {
    time_from: 0,
    time_to: 1,
    page: None,
};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn marketplace_error(result: Result<impl std::fmt::Debug, AdapterError>) -> String {
    let err = result.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Marketplace, "{err}");
    err.message
}

#[test]
fn order_detail_parses_into_the_expected_canonical_orders() {
    let orders = ShopeeAdapter
        .parse_orders("shop-sg", &fixture("order_detail.json"))
        .unwrap();
    let expected: Vec<CanonicalOrder> =
        serde_json::from_str(&fixture("order_detail.expected.json")).unwrap();
    assert_eq!(orders, expected);
}

#[test]
fn order_list_pages_follow_more_and_next_cursor() {
    let cases = [
        (
            "order_list_more.json",
            ListPage {
                order_ids: vec!["201218V2Y6E59M".into(), "201218V2W2SQ8D".into()],
                orders: vec![],
                next_page: Some("20".into()),
            },
        ),
        (
            "order_list_last.json",
            ListPage {
                order_ids: vec!["201219AAAA0001".into()],
                orders: vec![],
                next_page: None,
            },
        ),
        ("order_list_empty.json", ListPage::default()),
    ];
    for (name, expected) in cases {
        let page = ShopeeAdapter
            .parse_order_list(&FIRST_PAGE, &fixture(name))
            .unwrap();
        assert_eq!(page, expected, "{name}");
    }
}

#[test]
fn refused_and_garbled_answers_are_marketplace_errors_that_say_why() {
    let detail_cases = [
        (
            "error_auth.json",
            "Shopee refused the request: error_auth: Invalid access_token.",
        ),
        (
            "order_detail_bad_quantity.json",
            "Shopee get_order_detail answer: $.response.order_list[1].item_list[0].\
             model_quantity_purchased: expected an unsigned integer, found the string \"two\"",
        ),
        (
            "order_detail_unknown_status.json",
            "Shopee get_order_detail answer: $.response.order_list[0].order_status: expected a \
             documented Shopee order_status, found the string \"TELEPORTED\"",
        ),
        (
            "order_detail_no_sku.json",
            "Shopee get_order_detail answer: $.response.order_list[0].item_list[0]: neither \
             model_sku nor item_sku is set, so the item has no store SKU to map",
        ),
        (
            "order_list_more.json",
            "Shopee get_order_detail answer: $.response.order_list[0].currency: missing",
        ),
    ];
    for (name, message) in detail_cases {
        let result = ShopeeAdapter.parse_orders("shop-sg", &fixture(name));
        assert_eq!(marketplace_error(result), message, "{name}");
    }
    let garbled = marketplace_error(ShopeeAdapter.parse_orders("s", &fixture("garbled.html")));
    assert!(
        garbled.starts_with("Shopee get_order_detail answer: not JSON: "),
        "{garbled}"
    );
    let list_cases = [
        (
            "error_auth.json",
            "Shopee refused the request: error_auth: Invalid access_token.",
        ),
        (
            r#"{"error": "", "response": {"more": true, "order_list": []}}"#,
            "Shopee get_order_list answer: $.response.next_cursor: missing",
        ),
        (
            r#"{"error": "", "response": {"order_list": [{"order_sn": 5}]}}"#,
            "Shopee get_order_list answer: $.response.order_list[0].order_sn: expected a \
             non-empty string, found the number 5",
        ),
        (
            r#"{"error": ""}"#,
            "Shopee get_order_list answer: $.response: missing",
        ),
        (
            r#"[1, 2]"#,
            "Shopee get_order_list answer: $: expected an object, found an array of 2",
        ),
    ];
    for (body, message) in list_cases {
        let body = if body.ends_with(".json") {
            fixture(body)
        } else {
            body.to_owned()
        };
        let result = ShopeeAdapter.parse_order_list(&FIRST_PAGE, &body);
        assert_eq!(marketplace_error(result), message, "{body}");
    }
}

/// Every prefix of every fixture is answered, never panicked on; only the whole documents parse.
#[test]
fn parsers_never_panic_on_truncated_answers() {
    let names = [
        "order_detail.json",
        "order_list_more.json",
        "order_detail_bad_quantity.json",
        "error_auth.json",
    ];
    for name in names {
        let body = fixture(name);
        let whole = body.trim_end().len();
        for end in (0..whole).filter(|end| body.is_char_boundary(*end)) {
            let prefix = &body[..end];
            assert!(
                ShopeeAdapter.parse_orders("s", prefix).is_err(),
                "{name}[..{end}]"
            );
            assert!(
                ShopeeAdapter.parse_order_list(&FIRST_PAGE, prefix).is_err(),
                "{name}[..{end}]"
            );
        }
    }
}
