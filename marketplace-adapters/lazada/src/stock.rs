//! Reading Lazada's `/product/stock/sellable/update` answer: `{"code": "0", "request_id"}` when
//! every SKU was accepted; otherwise `{"code", "type", "message", "request_id", "detail": [{"field",
//! "message", "seller_sku"}]}`, which refuses the whole call, each SKU named in `detail` with its
//! own message and the others with the answer's (whatever the HTTP status).

use distributary_plugin::payload::{Node, Source};
use distributary_plugin::{AdapterError, StockItem, StockRefusal};
use serde_json::Value;

use crate::orders::SUCCESS_CODE;

const SOURCE: Source = Source::named("Lazada stock update answer");

/// The field of an error answer that lists SKU-level problems (*unverified*: seen in Lazada's
/// product API error answers, not in the stock API's own page).
pub const DETAIL_FIELD: &str = "detail";

/// The listings of `items` the answer refused.
pub(crate) fn parse_stock_update(
    items: &[StockItem],
    body: &str,
) -> Result<Vec<StockRefusal>, AdapterError> {
    let value = SOURCE.parse(body)?;
    let root = SOURCE.root(&value);
    let code = code(&root.require("code")?)?;
    if code == SUCCESS_CODE {
        return Ok(Vec::new());
    }
    let message = text(root.get("message")?).unwrap_or("no message");
    let mut per_sku: Vec<(String, String)> = Vec::new();
    if let Some(detail) = root.get(DETAIL_FIELD)? {
        for entry in detail.items()? {
            if let (Some(sku), Some(said)) =
                (text(entry.get("seller_sku")?), text(entry.get("message")?))
            {
                per_sku.push((sku.to_owned(), said.to_owned()));
            }
        }
    }
    Ok(items
        .iter()
        .map(|item| {
            let said = per_sku
                .iter()
                .find(|(sku, _)| *sku == item.store_sku)
                .map_or(message, |(_, said)| said.as_str());
            StockRefusal {
                store_sku: item.store_sku.clone(),
                code: code.clone(),
                message: said.to_owned(),
            }
        })
        .collect())
}

/// Lazada's `code`, sent as a string or a number.
fn code(node: &Node<'_>) -> Result<String, AdapterError> {
    match node.value() {
        Value::String(code) => Ok(code.clone()),
        Value::Number(code) => Ok(code.to_string()),
        _ => Err(node.error("a string or a number")),
    }
}

fn text<'a>(node: Option<Node<'a>>) -> Option<&'a str> {
    node.and_then(|node| node.value().as_str())
}
