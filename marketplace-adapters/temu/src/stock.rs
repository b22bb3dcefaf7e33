//! Reading Temu's stock-update answer (`/openapi/router`, the router's envelope `{"success",
//! "errorCode", "errorMsg", "result"}`): `success: true` with `errorCode` 1000000 (or none)
//! accepts the call; `success: false` or any other `errorCode` refuses it, and with it every SKU
//! of the goods it updated (whatever the HTTP status).

use distributary_plugin::payload::Source;
use distributary_plugin::{AdapterError, StockItem, StockRefusal};

use crate::orders::ERROR_CODE_SUCCESS;

const SOURCE: Source = Source::named("Temu stock update answer");

/// The listings of `items` the answer refused.
pub(crate) fn parse_stock_update(
    items: &[StockItem],
    body: &str,
) -> Result<Vec<StockRefusal>, AdapterError> {
    let value = SOURCE.parse(body)?;
    let root = SOURCE.root(&value);
    let success = root.get("success")?.map(|node| node.bool()).transpose()?;
    let code = root.get("errorCode")?.map(|node| node.u64()).transpose()?;
    if success.is_none() && code.is_none() {
        return Err(root.error("a Temu answer with `success` or `errorCode`"));
    }
    if success != Some(false) && code.is_none_or(|code| code == ERROR_CODE_SUCCESS) {
        return Ok(Vec::new());
    }
    let message = match root.get("errorMsg")? {
        Some(message) => message.str()?,
        None => "no message",
    };
    let code = code.map_or_else(|| "none".to_owned(), |code| code.to_string());
    Ok(items
        .iter()
        .map(|item| StockRefusal {
            store_sku: item.store_sku.clone(),
            code: code.clone(),
            message: message.to_owned(),
        })
        .collect())
}
