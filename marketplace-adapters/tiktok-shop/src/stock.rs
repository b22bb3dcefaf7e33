//! Reading TikTok Shop's inventory-update answer (`POST
//! /product/202309/products/{product_id}/inventory/update`): `{"code": 0, "message": "Success",
//! "request_id", "data"}` accepts the call; any other `code` refuses it, and with it every SKU of
//! the product it updated (whatever the HTTP status).

use distributary_plugin::payload::Source;
use distributary_plugin::{AdapterError, StockItem, StockRefusal};
use serde_json::Value;

use crate::orders::SUCCESS_CODE;

const SOURCE: Source = Source::named("TikTok Shop inventory update answer");

/// The listings of `items` the answer refused.
pub(crate) fn parse_stock_update(
    items: &[StockItem],
    body: &str,
) -> Result<Vec<StockRefusal>, AdapterError> {
    let value = SOURCE.parse(body)?;
    let root = SOURCE.root(&value);
    let code_node = root.require("code")?;
    let code = match code_node.value() {
        Value::Number(code) => code.as_i64(),
        Value::String(code) => code.parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| code_node.error("an integer"))?;
    if code == SUCCESS_CODE {
        return Ok(Vec::new());
    }
    let message = root
        .get("message")?
        .and_then(|message| message.value().as_str())
        .unwrap_or("no message");
    Ok(items
        .iter()
        .map(|item| StockRefusal {
            store_sku: item.store_sku.clone(),
            code: code.to_string(),
            message: message.to_owned(),
        })
        .collect())
}
