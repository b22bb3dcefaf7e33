//! Parsing TikTok Shop's answers: the order search (`/order/202309/orders/search`) and the order
//! detail (`/order/202309/orders`), which share the `{code, message, data: {orders}}` envelope.

use distributary_plugin::lines::UnitLines;
use distributary_plugin::payload::{Node, Source};
use distributary_plugin::{AdapterError, Address, CanonicalOrder, OrderStatus};
use serde_json::Value;

use crate::status::map_status;
use crate::MARKETPLACE;

/// TikTok Shop's answers are worded tersely: paths from the answer's root, without a prefix.
const SOURCE: Source = Source::ANSWER;

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
fn data<'a>(answer: &Node<'a>) -> Result<Node<'a>, AdapterError> {
    let code_node = answer.require("code")?;
    let code = match code_node.value() {
        Value::Number(code) => code.as_i64(),
        Value::String(code) => code.parse::<i64>().ok(),
        _ => return Err(code_node.error("an integer")),
    };
    if code != Some(SUCCESS_CODE) {
        let message = answer
            .get("message")?
            .and_then(|message| message.value().as_str())
            .unwrap_or("no message");
        return Err(AdapterError::marketplace(format!(
            "TikTok Shop refused the request: {}: {message}",
            code_node.value()
        )));
    }
    let data = answer.require("data")?;
    data.object()?;
    Ok(data)
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
    let value = SOURCE.parse(body)?;
    let data = data(&SOURCE.root(&value))?;
    let next_page = match data.get("next_page_token")? {
        Some(token) => Some(token.str()?.to_owned()),
        None => None,
    }
    .filter(|token| !token.is_empty());
    let mut page = SearchPage {
        next_page,
        ..SearchPage::default()
    };
    let Some(orders) = data.get("orders")? else {
        return Ok(page);
    };
    for order in orders.items()? {
        match parse_order("", &order) {
            Ok(order) => page.orders.push(order),
            Err(_) => page.order_ids.push(order.require("id")?.id()?),
        }
    }
    Ok(page)
}

/// Parses the native payload: an order-detail answer (or an order-search answer, same envelope),
/// or a JSON array of them.
pub(crate) fn parse_native(shop: &str, body: &str) -> Result<Vec<CanonicalOrder>, AdapterError> {
    let value = SOURCE.parse(body)?;
    let mut orders = Vec::new();
    for answer in SOURCE.root(&value).one_or_many() {
        orders.extend(parse_answer(shop, &answer)?);
    }
    Ok(orders)
}

fn parse_answer(shop: &str, answer: &Node<'_>) -> Result<Vec<CanonicalOrder>, AdapterError> {
    let Some(orders) = data(answer)?.get("orders")? else {
        return Ok(Vec::new());
    };
    orders
        .items()?
        .iter()
        .map(|order| parse_order(shop, order))
        .collect()
}

/// One order of a search or detail answer.
fn parse_order(shop: &str, order: &Node<'_>) -> Result<CanonicalOrder, AdapterError> {
    let order_sn = order.require("id")?.id()?;
    let status_node = order.require("status")?;
    let native = match status_node.value() {
        Value::String(status) => status.clone(),
        Value::Number(code) => code.to_string(),
        _ => return Err(status_node.error("a string")),
    };
    let status = map_status(&native)
        .ok_or_else(|| status_node.fail(format!("unknown TikTok Shop status {native:?}")))?;
    let mut currency = match order.get("payment")? {
        Some(payment) => match payment.get("currency")? {
            Some(code) => non_empty_or_none(&code)?,
            None => None,
        },
        None => None,
    };
    let address = match order.get("recipient_address")? {
        Some(address) => parse_address(&address)?,
        None => Address::default(),
    };
    let items_node = order.require("line_items")?;
    let items = items_node.items()?;
    let mut units = Vec::with_capacity(items.len());
    for item in items {
        let sku = item.require("seller_sku")?.filled_str()?;
        let price = match item.get("sale_price")? {
            Some(price) => Some(price.amount()?),
            None => None,
        };
        let cancelled = item
            .get("display_status")?
            .and_then(|status| status.value().as_str())
            .and_then(map_status)
            == Some(OrderStatus::Cancelled);
        if let Some(currency_node) = item.get("currency")? {
            if let Some(item_currency) = non_empty_or_none(&currency_node)? {
                match &currency {
                    Some(known) if *known != item_currency => {
                        return Err(currency_node.fail(format!(
                            "{item_currency:?} differs from the order's {known:?}"
                        )))
                    }
                    Some(_) => {}
                    None => currency = Some(item_currency),
                }
            }
        }
        units.push((sku, price, cancelled, item));
    }
    if units.is_empty() {
        return Err(items_node.fail(format!("order {order_sn} has no line items")));
    }
    let all_cancelled = units.iter().all(|(_, _, cancelled, _)| *cancelled);
    let mut lines = UnitLines::default();
    for (sku, price, cancelled, item) in &units {
        if all_cancelled || !cancelled {
            lines.add_unit(sku, *price, item)?;
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

fn non_empty_or_none(node: &Node<'_>) -> Result<Option<String>, AdapterError> {
    let text = node.str()?;
    Ok(Some(text.trim().to_owned()).filter(|text| !text.is_empty()))
}

/// The canonical address of a `recipient_address`: `region_code` (upper case), `postal_code`,
/// and the state and city from `district_info` by level name.
fn parse_address(address: &Node<'_>) -> Result<Address, AdapterError> {
    address.object()?;
    let text = |key: &str| -> Result<String, AdapterError> {
        match address.get(key)? {
            Some(field) => Ok(non_empty_or_none(&field)?.unwrap_or_default()),
            None => Ok(String::new()),
        }
    };
    let mut levels: Vec<(String, String)> = Vec::new();
    if let Some(districts) = address.get("district_info")? {
        for district in districts.items()? {
            let level = match district.get("address_level_name")? {
                Some(level) => level.str()?,
                None => continue,
            };
            let name = match district.get("address_name")? {
                Some(name) => name.str()?,
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
