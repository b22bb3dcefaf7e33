//! Parsing Lazada's answers: the order list (`/orders/get`) and the native order payload (the
//! `/order/items/get` answer, bare or wrapped with its `/orders/get` order for the address).

use std::collections::HashMap;

use distributary_plugin::lines::UnitLines;
use distributary_plugin::payload::{Node, Source};
use distributary_plugin::{AdapterError, Address, CanonicalOrder, OrderStatus};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::status::{map_status, reduce};
use crate::MARKETPLACE;

/// Lazada's answers are worded tersely: paths from the answer's root, without a prefix.
const SOURCE: Source = Source::ANSWER;

/// The `code` of a successful Lazada answer.
pub const SUCCESS_CODE: &str = "0";

/// The field of `address_shipping` read as the canonical `state` (*unverified*: Lazada's
/// documentation lists `address1..5` without saying which one holds the province/region; in the
/// answers we have seen, `address3` does).
pub const STATE_FIELD: &str = "address3";

/// Lazada's country names (as `address_shipping.country` gives them) and their ISO 3166 codes.
pub const COUNTRY_CODES: &[(&str, &str)] = &[
    ("indonesia", "ID"),
    ("malaysia", "MY"),
    ("philippines", "PH"),
    ("singapore", "SG"),
    ("thailand", "TH"),
    ("vietnam", "VN"),
    ("viet nam", "VN"),
];

/// Fails with Lazada's own code and message unless the answer's `code` is [`SUCCESS_CODE`].
fn check_code(answer: &Node<'_>) -> Result<(), AdapterError> {
    let code_node = answer.require("code")?;
    let code = match code_node.value() {
        Value::String(code) => code.clone(),
        Value::Number(code) => code.to_string(),
        _ => return Err(code_node.error("a string or a number")),
    };
    if code == SUCCESS_CODE {
        return Ok(());
    }
    let message = answer
        .get("message")?
        .and_then(|message| message.value().as_str())
        .unwrap_or("no message");
    Err(AdapterError::marketplace(format!(
        "Lazada refused the request: {code}: {message}"
    )))
}

/// One page of `/orders/get`: the order ids in it and Lazada's `countTotal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListAnswer {
    /// The `order_id`s of `data.orders`, in order.
    pub(crate) order_ids: Vec<String>,
    /// How many orders the whole listing has.
    pub(crate) count_total: u64,
}

/// Parses an `/orders/get` answer.
pub(crate) fn parse_list(body: &str) -> Result<ListAnswer, AdapterError> {
    let value = SOURCE.parse(body)?;
    let answer = SOURCE.root(&value);
    check_code(&answer)?;
    let data = answer.require("data")?;
    let total = data.require("countTotal")?;
    let count_total = u64::try_from(total.integer()?).map_err(|_| total.fail("negative count"))?;
    let order_ids = data
        .require("orders")?
        .items()?
        .iter()
        .map(|order| order.require("order_id")?.id())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ListAnswer {
        order_ids,
        count_total,
    })
}

/// One row of `/order/items/get`: a single unit.
struct Row<'a> {
    node: Node<'a>,
    order_id: String,
    sku: &'a str,
    status: OrderStatus,
    currency: Option<&'a str>,
    price: Option<Decimal>,
}

/// Parses the native payload: one `/order/items/get` answer, one `{"order", "items"}` wrapper, or
/// an array of either.
pub(crate) fn parse_native(shop: &str, body: &str) -> Result<Vec<CanonicalOrder>, AdapterError> {
    let value = SOURCE.parse(body)?;
    let mut orders = Vec::new();
    for document in SOURCE.root(&value).one_or_many() {
        orders.extend(parse_document(shop, &document)?);
    }
    Ok(orders)
}

fn parse_document(shop: &str, document: &Node<'_>) -> Result<Vec<CanonicalOrder>, AdapterError> {
    let fields = document.object()?;
    if !fields.contains_key("order") && !fields.contains_key("items") {
        return parse_bare(shop, document);
    }
    let order = document.require("order")?;
    let order_sn = order.require("order_id")?.id()?;
    let address = address(&order)?;
    let (data, rows) = rows(&document.require("items")?)?;
    if rows.is_empty() {
        return Err(data.fail(format!("no items for order {order_sn}")));
    }
    if let Some(stray) = rows.iter().find(|row| row.order_id != order_sn) {
        return Err(stray.node.require("order_id")?.fail(format!(
            "item of order {} inside order {order_sn}",
            stray.order_id
        )));
    }
    Ok(vec![build(shop, order_sn, &data, &rows, address)?])
}

fn parse_bare(shop: &str, answer: &Node<'_>) -> Result<Vec<CanonicalOrder>, AdapterError> {
    let (data, rows) = rows(answer)?;
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<(String, Vec<Row<'_>>)> = Vec::new();
    for row in rows {
        let position = *index.entry(row.order_id.clone()).or_insert_with(|| {
            groups.push((row.order_id.clone(), Vec::new()));
            groups.len() - 1
        });
        if let Some((_, group)) = groups.get_mut(position) {
            group.push(row);
        }
    }
    groups
        .into_iter()
        .map(|(order_sn, rows)| build(shop, order_sn, &data, &rows, Address::default()))
        .collect()
}

/// The `data` array of an `/order/items/get` answer and its rows.
fn rows<'a>(answer: &Node<'a>) -> Result<(Node<'a>, Vec<Row<'a>>), AdapterError> {
    check_code(answer)?;
    let data = answer.require("data")?;
    let rows = data
        .items()?
        .into_iter()
        .map(parse_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((data, rows))
}

fn parse_row(row: Node<'_>) -> Result<Row<'_>, AdapterError> {
    let order_id = row.require("order_id")?.id()?;
    let sku = row.require("sku")?.filled_str()?;
    let status_node = row.require("status")?;
    let native = status_node.str()?;
    let status = map_status(native)
        .ok_or_else(|| status_node.fail(format!("unknown Lazada status {native:?}")))?;
    let currency = match row.get("currency")? {
        Some(currency) => Some(currency.str()?).filter(|c| !c.is_empty()),
        None => None,
    };
    let price = match (row.get("paid_price")?, row.get("item_price")?) {
        (Some(paid), _) => Some(paid.amount()?),
        (None, Some(item)) => Some(item.amount()?),
        (None, None) => None,
    };
    Ok(Row {
        node: row,
        order_id,
        sku,
        status,
        currency,
        price,
    })
}

/// One canonical order from its rows (of the answer's `data`): the status reduced from the rows'
/// statuses; lines from every row but cancelled ones (unless all are cancelled), summed per SKU.
fn build(
    shop: &str,
    order_sn: String,
    data: &Node<'_>,
    rows: &[Row<'_>],
    address: Address,
) -> Result<CanonicalOrder, AdapterError> {
    let statuses: Vec<OrderStatus> = rows.iter().map(|row| row.status).collect();
    let status =
        reduce(&statuses).ok_or_else(|| data.fail(format!("order {order_sn} has no items")))?;
    let all_cancelled = statuses.iter().all(|s| *s == OrderStatus::Cancelled);
    let mut currency: Option<&str> = None;
    let mut lines = UnitLines::default();
    for row in rows {
        if let Some(row_currency) = row.currency {
            match currency {
                Some(known) if known != row_currency => {
                    return Err(row.node.require("currency")?.fail(format!(
                        "{row_currency:?} differs from {known:?} in order {order_sn}"
                    )))
                }
                _ => currency = Some(row_currency),
            }
        }
        if all_cancelled || row.status != OrderStatus::Cancelled {
            lines.add_unit(row.sku, row.price, &row.node)?;
        }
    }
    Ok(CanonicalOrder {
        marketplace: MARKETPLACE.to_owned(),
        shop: shop.to_owned(),
        order_sn,
        status,
        currency: currency.unwrap_or_default().to_owned(),
        address,
        lines: lines.finish(),
    })
}

/// The canonical address of a `/orders/get` order's `address_shipping`; empty when absent.
fn address(order: &Node<'_>) -> Result<Address, AdapterError> {
    let Some(shipping) = order.get("address_shipping")? else {
        return Ok(Address::default());
    };
    let text = |key: &str| -> Result<String, AdapterError> {
        let Some(field) = shipping.get(key)? else {
            return Ok(String::new());
        };
        match field.value() {
            Value::String(text) => Ok(text.trim().to_owned()),
            Value::Number(number) => Ok(number.to_string()),
            _ => Err(field.error("a string")),
        }
    };
    Ok(Address {
        country: country_code(&text("country")?),
        state: text(STATE_FIELD)?,
        city: text("city")?,
        postcode: text("post_code")?,
    })
}

/// The ISO 3166 code of a Lazada country name; a two-letter code is upper-cased, anything else
/// is kept as given.
pub(crate) fn country_code(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if let Some((_, code)) = COUNTRY_CODES.iter().find(|(known, _)| *known == lower) {
        return (*code).to_owned();
    }
    if name.len() == 2 && name.bytes().all(|b| b.is_ascii_alphabetic()) {
        return name.to_ascii_uppercase();
    }
    name.to_owned()
}
