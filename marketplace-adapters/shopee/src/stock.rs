//! Reading Shopee's `update_stock` answer: `{error, message, request_id, response: {success_list,
//! failure_list: [{model_id, location_id, failed_reason}]}}`. A set `error` refuses the whole
//! call (it comes with HTTP 200 as well as with an error status); each `failure_list` entry
//! refuses one model of the call's item.

use distributary_plugin::payload::{Node, Source};
use distributary_plugin::{AdapterError, StockItem, StockRefusal};

const SOURCE: Source = Source::named("Shopee update_stock answer");

/// The code given to a `failure_list` entry: Shopee gives a `failed_reason` per model but no
/// code, so the refusal is labelled by the list it came from.
pub const FAILURE_LIST_CODE: &str = "failure_list";

/// The listings of `items` (one Shopee item's models) the answer refused.
pub(crate) fn parse_stock_update(
    items: &[StockItem],
    body: &str,
) -> Result<Vec<StockRefusal>, AdapterError> {
    let value = SOURCE.parse(body)?;
    let root = SOURCE.root(&value);
    let error = match root.get("error")? {
        Some(error) => error.str()?,
        None => "",
    };
    if !error.is_empty() {
        let message = match root.get("message")? {
            Some(message) => message.str()?,
            None => "",
        };
        return Ok(items
            .iter()
            .map(|item| refusal(item, error, message))
            .collect());
    }
    let Some(response) = root.get("response")? else {
        return Err(root.missing("response"));
    };
    let mut refused = Vec::new();
    let Some(failures) = response.get("failure_list")? else {
        return Ok(refused);
    };
    for failure in failures.items()? {
        let model_id = failure.require("model_id")?.id()?;
        let reason = match failure.get("failed_reason")? {
            Some(reason) => reason.str()?,
            None => "no reason given",
        };
        let matching: Vec<&StockItem> = items
            .iter()
            .filter(|item| model_of(item) == model_id)
            .collect();
        if matching.is_empty() {
            return Err(failure_error(&failure, &model_id));
        }
        refused.extend(
            matching
                .into_iter()
                .map(|item| refusal(item, FAILURE_LIST_CODE, reason)),
        );
    }
    Ok(refused)
}

/// The model id a stock item was sent with (`0` for an item without variants, as the request).
fn model_of(item: &StockItem) -> String {
    item.listing
        .get("model_id")
        .map_or_else(|| "0".to_owned(), |id| id.trim().to_owned())
}

fn refusal(item: &StockItem, code: &str, message: &str) -> StockRefusal {
    StockRefusal {
        store_sku: item.store_sku.clone(),
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

fn failure_error(failure: &Node<'_>, model_id: &str) -> AdapterError {
    failure.fail(format!(
        "model_id {model_id} was not in the request: expected a model this call updated"
    ))
}
