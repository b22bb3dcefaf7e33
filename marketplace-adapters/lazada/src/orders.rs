//! Parsing Lazada's answers: the order list (`/orders/get`) and the native order payload (the
//! `/order/items/get` answer, bare or wrapped with its `/orders/get` order for the address).

use std::collections::HashMap;

use distributary_plugin::{AdapterError, Address, CanonicalOrder, OrderStatus};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::json::{
    amount, array, at, bad, id, integer, join, non_empty, object, optional, parse_body, required,
    string, wrong, Object,
};
use crate::lines::Lines;
use crate::status::{map_status, reduce};
use crate::MARKETPLACE;

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
fn check_code(answer: &Object, path: &str) -> Result<(), AdapterError> {
    let code_path = join(path, "code");
    let code = match required(answer, path, "code")? {
        Value::String(code) => code.clone(),
        Value::Number(code) => code.to_string(),
        other => return Err(wrong(&code_path, "a string or a number", other)),
    };
    if code == SUCCESS_CODE {
        return Ok(());
    }
    let message = optional(answer, "message")
        .and_then(Value::as_str)
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
    let value = parse_body(body)?;
    let answer = object(&value, "")?;
    check_code(answer, "")?;
    let data = object(required(answer, "", "data")?, "data")?;
    let total = integer(required(data, "data", "countTotal")?, "data.countTotal")?;
    let count_total = u64::try_from(total).map_err(|_| bad("data.countTotal", "negative count"))?;
    let orders = array(required(data, "data", "orders")?, "data.orders")?;
    let mut order_ids = Vec::with_capacity(orders.len());
    for (index, order) in orders.iter().enumerate() {
        let path = at("data.orders", index);
        let order = object(order, &path)?;
        order_ids.push(id(
            required(order, &path, "order_id")?,
            &join(&path, "order_id"),
        )?);
    }
    Ok(ListAnswer {
        order_ids,
        count_total,
    })
}

/// One row of `/order/items/get`: a single unit.
struct Row<'a> {
    path: String,
    order_id: String,
    sku: &'a str,
    status: OrderStatus,
    currency: Option<&'a str>,
    price: Option<Decimal>,
}

/// Parses the native payload: one `/order/items/get` answer, one `{"order", "items"}` wrapper, or
/// an array of either.
pub(crate) fn parse_native(shop: &str, body: &str) -> Result<Vec<CanonicalOrder>, AdapterError> {
    let value = parse_body(body)?;
    match &value {
        Value::Array(documents) => {
            let mut orders = Vec::new();
            for (index, document) in documents.iter().enumerate() {
                orders.extend(parse_document(shop, document, &at("", index))?);
            }
            Ok(orders)
        }
        document => parse_document(shop, document, ""),
    }
}

fn parse_document(
    shop: &str,
    document: &Value,
    path: &str,
) -> Result<Vec<CanonicalOrder>, AdapterError> {
    let fields = object(document, path)?;
    if !fields.contains_key("order") && !fields.contains_key("items") {
        return parse_bare(shop, fields, path);
    }
    let order_path = join(path, "order");
    let order = object(required(fields, path, "order")?, &order_path)?;
    let order_sn = id(
        required(order, &order_path, "order_id")?,
        &join(&order_path, "order_id"),
    )?;
    let address = address(order, &order_path)?;
    let items_path = join(path, "items");
    let rows = rows(required(fields, path, "items")?, &items_path)?;
    if rows.is_empty() {
        return Err(bad(
            &join(&items_path, "data"),
            format!("no items for order {order_sn}"),
        ));
    }
    if let Some(stray) = rows.iter().find(|row| row.order_id != order_sn) {
        return Err(bad(
            &join(&stray.path, "order_id"),
            format!("item of order {} inside order {order_sn}", stray.order_id),
        ));
    }
    Ok(vec![build(shop, order_sn, &rows, address)?])
}

fn parse_bare(
    shop: &str,
    answer: &Object,
    path: &str,
) -> Result<Vec<CanonicalOrder>, AdapterError> {
    let rows = rows_of(answer, path)?;
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
        .map(|(order_sn, rows)| build(shop, order_sn, &rows, Address::default()))
        .collect()
}

fn rows<'a>(answer: &'a Value, path: &str) -> Result<Vec<Row<'a>>, AdapterError> {
    rows_of(object(answer, path)?, path)
}

fn rows_of<'a>(answer: &'a Object, path: &str) -> Result<Vec<Row<'a>>, AdapterError> {
    check_code(answer, path)?;
    let data_path = join(path, "data");
    let data = array(required(answer, path, "data")?, &data_path)?;
    data.iter()
        .enumerate()
        .map(|(index, row)| parse_row(row, at(&data_path, index)))
        .collect()
}

fn parse_row(row: &Value, path: String) -> Result<Row<'_>, AdapterError> {
    let fields = object(row, &path)?;
    let order_id = id(
        required(fields, &path, "order_id")?,
        &join(&path, "order_id"),
    )?;
    let sku = non_empty(required(fields, &path, "sku")?, &join(&path, "sku"))?;
    let status_path = join(&path, "status");
    let native = string(required(fields, &path, "status")?, &status_path)?;
    let status = map_status(native)
        .ok_or_else(|| bad(&status_path, format!("unknown Lazada status {native:?}")))?;
    let currency = match optional(fields, "currency") {
        Some(value) => Some(string(value, &join(&path, "currency"))?).filter(|c| !c.is_empty()),
        None => None,
    };
    let price = match (
        optional(fields, "paid_price"),
        optional(fields, "item_price"),
    ) {
        (Some(paid), _) => Some(amount(paid, &join(&path, "paid_price"))?),
        (None, Some(item)) => Some(amount(item, &join(&path, "item_price"))?),
        (None, None) => None,
    };
    Ok(Row {
        path,
        order_id,
        sku,
        status,
        currency,
        price,
    })
}

/// One canonical order from its rows: the status reduced from the rows' statuses; lines from
/// every row but cancelled ones (unless all are cancelled), summed per SKU.
fn build(
    shop: &str,
    order_sn: String,
    rows: &[Row<'_>],
    address: Address,
) -> Result<CanonicalOrder, AdapterError> {
    let statuses: Vec<OrderStatus> = rows.iter().map(|row| row.status).collect();
    let status =
        reduce(&statuses).ok_or_else(|| bad("data", format!("order {order_sn} has no items")))?;
    let all_cancelled = statuses.iter().all(|s| *s == OrderStatus::Cancelled);
    let mut currency: Option<&str> = None;
    let mut lines = Lines::default();
    for row in rows {
        if let Some(row_currency) = row.currency {
            match currency {
                Some(known) if known != row_currency => {
                    return Err(bad(
                        &join(&row.path, "currency"),
                        format!("{row_currency:?} differs from {known:?} in order {order_sn}"),
                    ))
                }
                _ => currency = Some(row_currency),
            }
        }
        if all_cancelled || row.status != OrderStatus::Cancelled {
            lines.add_unit(row.sku, row.price, &row.path)?;
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
fn address(order: &Object, path: &str) -> Result<Address, AdapterError> {
    let Some(shipping) = optional(order, "address_shipping") else {
        return Ok(Address::default());
    };
    let path = join(path, "address_shipping");
    let shipping = object(shipping, &path)?;
    let text = |key: &str| -> Result<String, AdapterError> {
        match optional(shipping, key) {
            None => Ok(String::new()),
            Some(Value::String(text)) => Ok(text.trim().to_owned()),
            Some(Value::Number(number)) => Ok(number.to_string()),
            Some(other) => Err(wrong(&join(&path, key), "a string", other)),
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
