//! What the fuzz targets share: turning bytes into the text an entry point takes, rendering
//! diagnostics as the CLI does, and the contract every adapter's parsed orders must keep.

use std::collections::BTreeSet;

use distributary_plugin::{payload::is_plain_decimal, Adapter, CanonicalOrder, ListQuery};

/// The shop name the adapter targets parse orders for.
pub const SHOP: &str = "fuzz-shop";

/// The page tokens each order-list answer is parsed with: the first page, a middle one, and the
/// largest numbers an offset or page token may spell (where page arithmetic could overflow).
const PAGES: [Option<&str>; 5] = [
    None,
    Some("2"),
    Some("4294967295"),
    Some("18446744073709551615"),
    Some("not-a-number"),
];

/// Renders a diagnostic the way `distributary check` shows it (graphical, with source
/// snippets) and checks that every label of it and of its related diagnostics lies inside
/// `text` on character boundaries: a label past the end makes miette refuse the whole report,
/// so a user would see no diagnostic at all.
pub fn render(diagnostic: &dyn miette::Diagnostic, text: &str) -> String {
    check_labels(diagnostic, text);
    let mut out = String::new();
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
    if let Err(err) = handler.render_report(&mut out, diagnostic) {
        panic!("the diagnostic does not render ({err}): {diagnostic}");
    }
    out
}

fn check_labels(diagnostic: &dyn miette::Diagnostic, text: &str) {
    for label in diagnostic.labels().into_iter().flatten() {
        let (start, end) = (label.offset(), label.offset() + label.len());
        assert!(
            end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end),
            "label {:?} at {start}..{end} is not a span of the {}-byte text: {diagnostic}",
            label.label(),
            text.len()
        );
    }
    for related in diagnostic.related().into_iter().flatten() {
        check_labels(related, text);
    }
}

/// Feeds one answer body to every payload parser of `adapter` and checks what comes back
/// against the canonical-order contract; a broken contract panics, which the fuzzer reports.
pub fn adapter_payload(adapter: &dyn Adapter, data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let marketplace = adapter.manifest().marketplace;
    if let Ok(orders) = adapter.parse_orders(SHOP, body) {
        check_orders(&marketplace, Some(SHOP), &orders);
    }
    for page in PAGES {
        let query = ListQuery {
            time_from: 0,
            time_to: 1,
            page: page.map(str::to_owned),
        };
        if let Ok(list) = adapter.parse_order_list(&query, body) {
            check_orders(&marketplace, None, &list.orders);
            assert!(
                list.order_ids.iter().all(|id| !id.is_empty()),
                "an empty order id in {:?}",
                list.order_ids
            );
            if let Some(next) = &list.next_page {
                assert!(!next.is_empty(), "an empty next page token");
            }
        }
    }
    let _ = adapter.map_status(body);
}

/// The contract of `Adapter::parse_orders` (plugins/src/adapter.rs and canonical.rs): the
/// adapter's own marketplace, the shop asked for, a non-empty order id, lines of distinct store
/// SKUs with at least one unit and a plain decimal price, and a value that survives the JSON
/// encoding the plugin ABI sends it through.
fn check_orders(marketplace: &str, shop: Option<&str>, orders: &[CanonicalOrder]) {
    for order in orders {
        assert_eq!(order.marketplace, marketplace, "{order:?}");
        if let Some(shop) = shop {
            assert_eq!(order.shop, shop, "{order:?}");
        }
        assert!(!order.order_sn.is_empty(), "an empty order_sn: {order:?}");
        let mut skus = BTreeSet::new();
        for line in &order.lines {
            assert!(line.qty >= 1, "a line of no units: {order:?}");
            assert!(
                skus.insert(line.store_sku.as_str()),
                "store SKU {:?} on two lines: {order:?}",
                line.store_sku
            );
            assert!(
                line.unit_price.is_empty() || is_plain_decimal(&line.unit_price),
                "unit price {:?} is not a plain decimal: {order:?}",
                line.unit_price
            );
        }
    }
    let json = serde_json::to_string(orders).unwrap_or_else(|err| panic!("encode: {err}"));
    let back: Vec<CanonicalOrder> =
        serde_json::from_str(&json).unwrap_or_else(|err| panic!("decode {json}: {err}"));
    assert_eq!(back, orders, "the orders do not survive the ABI's JSON");
}
