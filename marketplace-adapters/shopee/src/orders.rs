//! Parsing Shopee's `get_order_list` and `get_order_detail` answers into order ids and canonical
//! orders.

use distributary_plugin::{
    AdapterError, Address, CanonicalOrder, ListPage, OrderLine, OrderStatus,
};

use crate::{status, MARKETPLACE};
use distributary_plugin::lines::merge_line;
use distributary_plugin::payload::{Node, Source};

const LIST_SOURCE: Source = Source::named("Shopee get_order_list answer");
const DETAIL_SOURCE: Source = Source::named("Shopee get_order_detail answer");

/// Refuses an answer whose `error` field is set, with Shopee's own `error` and `message`.
fn check_error(root: &Node<'_>) -> Result<(), AdapterError> {
    let Some(error) = root.get("error")? else {
        return Ok(());
    };
    let code = error.str()?;
    if code.is_empty() {
        return Ok(());
    }
    let message = match root.get("message")? {
        Some(message) => message.str()?,
        None => "",
    };
    Err(AdapterError::marketplace(format!(
        "Shopee refused the request: {code}: {message}"
    )))
}

/// Parses `{error, message, request_id, response: {more, next_cursor, order_list: [{order_sn}]}}`.
/// A missing `order_list` is an empty page; `more: true` needs a non-empty `next_cursor`, which
/// becomes the next page.
pub(crate) fn parse_order_list(body: &str) -> Result<ListPage, AdapterError> {
    let value = LIST_SOURCE.parse(body)?;
    let root = LIST_SOURCE.root(&value);
    check_error(&root)?;
    let response = root.require("response")?;
    let mut order_ids = Vec::new();
    if let Some(list) = response.get("order_list")? {
        for order in list.items()? {
            order_ids.push(order.require("order_sn")?.non_empty_str()?.to_owned());
        }
    }
    let more = match response.get("more")? {
        Some(more) => more.bool()?,
        None => false,
    };
    let next_page = if more {
        Some(response.require("next_cursor")?.non_empty_str()?.to_owned())
    } else {
        None
    };
    Ok(ListPage {
        order_ids,
        orders: Vec::new(),
        next_page,
    })
}

/// Parses `{error, message, request_id, response: {order_list: [...]}}` into canonical orders of
/// shop `shop`.
pub(crate) fn parse_orders(shop: &str, body: &str) -> Result<Vec<CanonicalOrder>, AdapterError> {
    let value = DETAIL_SOURCE.parse(body)?;
    let root = DETAIL_SOURCE.root(&value);
    check_error(&root)?;
    root.require("response")?
        .require("order_list")?
        .items()?
        .iter()
        .map(|order| parse_order(shop, order))
        .collect()
}

/// One order of `order_list`.
fn parse_order(shop: &str, order: &Node<'_>) -> Result<CanonicalOrder, AdapterError> {
    let order_sn = order.require("order_sn")?.non_empty_str()?.to_owned();
    let status_node = order.require("order_status")?;
    let status = parse_status(&status_node)?;
    let currency = order.require("currency")?.non_empty_str()?.to_owned();
    let address = parse_address(order)?;
    let lines = parse_lines(&order.require("item_list")?)?;
    Ok(CanonicalOrder {
        marketplace: MARKETPLACE.to_owned(),
        shop: shop.to_owned(),
        order_sn,
        status,
        currency,
        address,
        lines,
    })
}

fn parse_status(node: &Node<'_>) -> Result<OrderStatus, AdapterError> {
    status::map_status(node.str()?).ok_or_else(|| node.error("a documented Shopee order_status"))
}

/// `recipient_address` reduced to the canonical address: `region` as the country (falling back
/// to the order's own `region`), `state`, `city`, and `zipcode` as the postcode. Every field is
/// optional (Shopee masks addresses of some orders); an absent one is empty.
fn parse_address(order: &Node<'_>) -> Result<Address, AdapterError> {
    let text = |node: &Node<'_>, name: &str| -> Result<String, AdapterError> {
        Ok(match node.get(name)? {
            Some(field) => field.str()?.to_owned(),
            None => String::new(),
        })
    };
    let order_region = text(order, "region")?;
    let Some(recipient) = order.get("recipient_address")? else {
        return Ok(Address {
            country: order_region,
            ..Address::default()
        });
    };
    let mut country = text(&recipient, "region")?;
    if country.is_empty() {
        country = order_region;
    }
    Ok(Address {
        country,
        state: text(&recipient, "state")?,
        city: text(&recipient, "city")?,
        postcode: text(&recipient, "zipcode")?,
    })
}

/// `item_list` as order lines: the store SKU is `model_sku`, or `item_sku` when `model_sku` is
/// empty or absent (an item without variants); the quantity `model_quantity_purchased`; the
/// unit price `model_discounted_price` (empty when absent). Items of the same store SKU are
/// summed into the first one's line, whose price the line keeps.
fn parse_lines(item_list: &Node<'_>) -> Result<Vec<OrderLine>, AdapterError> {
    let items = item_list.items()?;
    if items.is_empty() {
        return Err(item_list.error("at least one item"));
    }
    let mut lines: Vec<OrderLine> = Vec::new();
    for item in &items {
        let store_sku = store_sku(item)?;
        let qty_node = item.require("model_quantity_purchased")?;
        let qty = qty_node.quantity()?;
        let unit_price = match item.get("model_discounted_price")? {
            Some(price) => price.decimal()?,
            None => String::new(),
        };
        let line = OrderLine {
            store_sku,
            qty,
            unit_price,
        };
        merge_line(&mut lines, line, &qty_node)?;
    }
    Ok(lines)
}

fn store_sku(item: &Node<'_>) -> Result<String, AdapterError> {
    for name in ["model_sku", "item_sku"] {
        if let Some(sku) = item.get(name)? {
            let sku = sku.str()?;
            if !sku.is_empty() {
                return Ok(sku.to_owned());
            }
        }
    }
    Err(item.fail("neither model_sku nor item_sku is set, so the item has no store SKU to map"))
}
