//! Parsing TikTok Shop's answers: the order search (`/order/202309/orders/search`) and the order
//! detail (`/order/202309/orders`), which share the `{code, message, data: {orders}}` envelope.

use distributary_plugin::{AdapterError, Address, CanonicalOrder, OrderStatus};
use serde_json::Value;

use crate::json::{
    amount, array, at, bad, id, join, non_empty, object, optional, parse_body, required, string,
    wrong, Object,
};
use crate::lines::Lines;
use crate::status::map_status;
use crate::MARKETPLACE;

/// The `code` of a successful TikTok Shop answer.
pub const SUCCESS_CODE: i64 = 0;

/// `district_info` level names read as the canonical `state`, in order of preference (compared
/// ignoring case).
pub const STATE_LEVEL_NAMES: &[&str] = &["state", "province", "region"];

/// `district_info` level names read as the canonical `city`, in order of preference (compared
/// ignoring case).
pub const CITY_LEVEL_NAMES: &[&str] = &["city", "town"];

/// The `data` object of an answer whose `code` is [`SUCCESS_CODE`]; otherwise TikTok Shop's
/// code and message as a marketplace error.
fn data<'a>(answer: &'a Value, path: &str) -> Result<&'a Object, AdapterError> {
    let answer = object(answer, path)?;
    let code_path = join(path, "code");
    let code = match required(answer, path, "code")? {
        Value::Number(code) => code.as_i64(),
        Value::String(code) => code.parse::<i64>().ok(),
        other => return Err(wrong(&code_path, "an integer", other)),
    };
    if code != Some(SUCCESS_CODE) {
        let shown = optional(answer, "code")
            .map(Value::to_string)
            .unwrap_or_default();
        let message = optional(answer, "message")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        return Err(AdapterError::marketplace(format!(
            "TikTok Shop refused the request: {shown}: {message}"
        )));
    }
    let data_path = join(path, "data");
    object(required(answer, path, "data")?, &data_path)
}

/// One page of the order search: orders that parse whole, ids of those that do not, and the next
/// page token.
#[derive(Debug, Default)]
pub(crate) struct SearchPage {
    /// Orders parsed whole (their `shop` left empty: the search answer does not say it).
    pub(crate) orders: Vec<CanonicalOrder>,
    /// Ids of orders whose details must be fetched.
    pub(crate) order_ids: Vec<String>,
    /// `data.next_page_token`, `None` when absent or empty.
    pub(crate) next_page: Option<String>,
}

/// Parses an order-search answer.
pub(crate) fn parse_search(body: &str) -> Result<SearchPage, AdapterError> {
    let value = parse_body(body)?;
    let data = data(&value, "")?;
    let next_page = match optional(data, "next_page_token") {
        Some(token) => Some(string(token, "data.next_page_token")?.to_owned()),
        None => None,
    }
    .filter(|token| !token.is_empty());
    let mut page = SearchPage {
        next_page,
        ..SearchPage::default()
    };
    let Some(orders) = optional(data, "orders") else {
        return Ok(page);
    };
    for (index, order) in array(orders, "data.orders")?.iter().enumerate() {
        let path = at("data.orders", index);
        match parse_order("", order, &path) {
            Ok(order) => page.orders.push(order),
            Err(_) => {
                let fields = object(order, &path)?;
                page.order_ids
                    .push(id(required(fields, &path, "id")?, &join(&path, "id"))?);
            }
        }
    }
    Ok(page)
}

/// Parses the native payload: an order-detail answer (or an order-search answer, same envelope),
/// or a JSON array of them.
pub(crate) fn parse_native(shop: &str, body: &str) -> Result<Vec<CanonicalOrder>, AdapterError> {
    let value = parse_body(body)?;
    match &value {
        Value::Array(answers) => {
            let mut orders = Vec::new();
            for (index, answer) in answers.iter().enumerate() {
                orders.extend(parse_answer(shop, answer, &at("", index))?);
            }
            Ok(orders)
        }
        answer => parse_answer(shop, answer, ""),
    }
}

fn parse_answer(
    shop: &str,
    answer: &Value,
    path: &str,
) -> Result<Vec<CanonicalOrder>, AdapterError> {
    let data = data(answer, path)?;
    let orders_path = join(&join(path, "data"), "orders");
    let Some(orders) = optional(data, "orders") else {
        return Ok(Vec::new());
    };
    array(orders, &orders_path)?
        .iter()
        .enumerate()
        .map(|(index, order)| parse_order(shop, order, &at(&orders_path, index)))
        .collect()
}

/// One order of a search or detail answer.
fn parse_order(shop: &str, order: &Value, path: &str) -> Result<CanonicalOrder, AdapterError> {
    let fields = object(order, path)?;
    let order_sn = id(required(fields, path, "id")?, &join(path, "id"))?;
    let status_path = join(path, "status");
    let native = match required(fields, path, "status")? {
        Value::String(status) => status.clone(),
        Value::Number(code) => code.to_string(),
        other => return Err(wrong(&status_path, "a string", other)),
    };
    let status = map_status(&native).ok_or_else(|| {
        bad(
            &status_path,
            format!("unknown TikTok Shop status {native:?}"),
        )
    })?;
    let mut currency = match optional(fields, "payment") {
        Some(payment) => {
            let payment_path = join(path, "payment");
            match optional(object(payment, &payment_path)?, "currency") {
                Some(code) => non_empty_or_none(code, &join(&payment_path, "currency"))?,
                None => None,
            }
        }
        None => None,
    };
    let address = match optional(fields, "recipient_address") {
        Some(address) => parse_address(address, &join(path, "recipient_address"))?,
        None => Address::default(),
    };
    let items_path = join(path, "line_items");
    let items = array(required(fields, path, "line_items")?, &items_path)?;
    let mut units = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let item_path = at(&items_path, index);
        let item = object(item, &item_path)?;
        let sku = non_empty(
            required(item, &item_path, "seller_sku")?,
            &join(&item_path, "seller_sku"),
        )?;
        let price = match optional(item, "sale_price") {
            Some(price) => Some(amount(price, &join(&item_path, "sale_price"))?),
            None => None,
        };
        let cancelled = optional(item, "display_status")
            .and_then(Value::as_str)
            .and_then(map_status)
            == Some(OrderStatus::Cancelled);
        if let Some(item_currency) = optional(item, "currency") {
            let currency_path = join(&item_path, "currency");
            if let Some(item_currency) = non_empty_or_none(item_currency, &currency_path)? {
                match &currency {
                    Some(known) if *known != item_currency => {
                        return Err(bad(
                            &currency_path,
                            format!("{item_currency:?} differs from the order's {known:?}"),
                        ))
                    }
                    Some(_) => {}
                    None => currency = Some(item_currency),
                }
            }
        }
        units.push((sku, price, cancelled, item_path));
    }
    if units.is_empty() {
        return Err(bad(
            &items_path,
            format!("order {order_sn} has no line items"),
        ));
    }
    let all_cancelled = units.iter().all(|(_, _, cancelled, _)| *cancelled);
    let mut lines = Lines::default();
    for (sku, price, cancelled, item_path) in units {
        if all_cancelled || !cancelled {
            lines.add_unit(sku, price, &item_path)?;
        }
    }
    Ok(CanonicalOrder {
        marketplace: MARKETPLACE.to_owned(),
        shop: shop.to_owned(),
        order_sn,
        status,
        currency: currency.unwrap_or_default(),
        address,
        lines: lines.finish(),
    })
}

fn non_empty_or_none(value: &Value, path: &str) -> Result<Option<String>, AdapterError> {
    let text = string(value, path)?;
    Ok(Some(text.trim().to_owned()).filter(|text| !text.is_empty()))
}

/// The canonical address of a `recipient_address`: `region_code` (upper case), `postal_code`,
/// and the state and city from `district_info` by level name.
fn parse_address(address: &Value, path: &str) -> Result<Address, AdapterError> {
    let fields = object(address, path)?;
    let text = |key: &str| -> Result<String, AdapterError> {
        match optional(fields, key) {
            Some(value) => Ok(non_empty_or_none(value, &join(path, key))?.unwrap_or_default()),
            None => Ok(String::new()),
        }
    };
    let mut levels: Vec<(String, String)> = Vec::new();
    if let Some(districts) = optional(fields, "district_info") {
        let districts_path = join(path, "district_info");
        for (index, district) in array(districts, &districts_path)?.iter().enumerate() {
            let district_path = at(&districts_path, index);
            let district = object(district, &district_path)?;
            let level = match optional(district, "address_level_name") {
                Some(level) => string(level, &join(&district_path, "address_level_name"))?,
                None => continue,
            };
            let name = match optional(district, "address_name") {
                Some(name) => string(name, &join(&district_path, "address_name"))?,
                None => continue,
            };
            levels.push((level.trim().to_ascii_lowercase(), name.trim().to_owned()));
        }
    }
    let pick = |wanted: &[&str]| -> String {
        wanted
            .iter()
            .find_map(|want| levels.iter().find(|(level, _)| level == want))
            .map(|(_, name)| name.clone())
            .unwrap_or_default()
    };
    Ok(Address {
        country: text("region_code")?.to_ascii_uppercase(),
        state: pick(STATE_LEVEL_NAMES),
        city: pick(CITY_LEVEL_NAMES),
        postcode: text("postal_code")?,
    })
}
