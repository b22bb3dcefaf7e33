//! Parsing Temu's `bg.order.list.v2.get` (and `bg.order.detail.v2.get`) answers into canonical
//! orders: one per parent order, lines from its `orderList`.

use distributary_plugin::{AdapterError, Address, CanonicalOrder, ListPage, OrderLine};

use crate::{status, MARKETPLACE, PAGE_NUMBER_MAX, PAGE_SIZE};
use distributary_plugin::lines::merge_line;
use distributary_plugin::payload::{Node, Source};

const SOURCE: Source = Source::named("Temu answer");

/// `errorCode` of a successful call.
pub const ERROR_CODE_SUCCESS: u64 = 1_000_000;
/// `errorCode` of a refused signature.
pub const ERROR_CODE_BAD_SIGNATURE: u64 = 3_000_001;

/// Refuses an answer with `success: false` or an `errorCode` other than [`ERROR_CODE_SUCCESS`],
/// with Temu's `errorMsg`; an answer with neither field is not a Temu answer.
fn check_error(root: &Node<'_>) -> Result<(), AdapterError> {
    let success = root.get("success")?.map(|node| node.bool()).transpose()?;
    let code_node = root.get("errorCode")?;
    let code = code_node.as_ref().map(Node::u64).transpose()?;
    if success.is_none() && code.is_none() {
        return Err(root.error("a Temu answer with `success` or `errorCode`"));
    }
    if success != Some(false) && code.is_none_or(|code| code == ERROR_CODE_SUCCESS) {
        return Ok(());
    }
    let message = match root.get("errorMsg")? {
        Some(message) => message.str()?,
        None => "",
    };
    let code = code.map_or_else(|| "none".to_owned(), |code| code.to_string());
    let hint = if code == ERROR_CODE_BAD_SIGNATURE.to_string() {
        " (bad signature)"
    } else {
        ""
    };
    Err(AdapterError::marketplace(format!(
        "Temu refused the request: errorCode {code}{hint}: {message}"
    )))
}

/// The parent orders of an answer: `result.pageItems[]` of `bg.order.list.v2.get`, or the
/// single `result` (`parentOrderMap` + `orderList`) of `bg.order.detail.v2.get` (*unverified*
/// shape, from a public transcription of Temu's documentation), and `result.totalItemNum`.
fn parent_orders<'a>(root: &Node<'a>) -> Result<(Vec<Node<'a>>, Option<u64>), AdapterError> {
    check_error(root)?;
    let result = root.require("result")?;
    if result.get("parentOrderMap")?.is_some() {
        return Ok((vec![result], None));
    }
    let total = result.get("totalItemNum")?.map(|n| n.u64()).transpose()?;
    let items = match result.get("pageItems")? {
        Some(items) => items.items()?,
        None => Vec::new(),
    };
    Ok((items, total))
}

/// Parses an order answer into canonical orders of shop `shop`.
pub(crate) fn parse_orders(shop: &str, body: &str) -> Result<Vec<CanonicalOrder>, AdapterError> {
    let value = SOURCE.parse(body)?;
    let root = SOURCE.root(&value);
    let (items, _) = parent_orders(&root)?;
    items.iter().map(|item| parse_order(shop, item)).collect()
}

/// Parses one page of `bg.order.list.v2.get` fetched as page `page_number`: the list carries
/// whole orders, so they come back in [`ListPage::orders`] (with an empty shop, which the host
/// fills in); the next page exists while `page_number * PAGE_SIZE < totalItemNum`.
pub(crate) fn parse_order_list_page(
    page_number: u32,
    body: &str,
) -> Result<ListPage, AdapterError> {
    let value = SOURCE.parse(body)?;
    let root = SOURCE.root(&value);
    let (items, total) = parent_orders(&root)?;
    let total = match total {
        Some(total) => total,
        None => return Err(root.require("result")?.missing("totalItemNum")),
    };
    let orders = items
        .iter()
        .map(|item| parse_order("", item))
        .collect::<Result<Vec<_>, _>>()?;
    let seen = u64::from(page_number) * u64::from(PAGE_SIZE);
    let next_page = if seen < total && !items.is_empty() {
        let next = page_number + 1;
        if next > PAGE_NUMBER_MAX {
            return Err(AdapterError::marketplace(format!(
                "Temu order list: {total} orders need more than {PAGE_NUMBER_MAX} pages of \
                 {PAGE_SIZE}; list a shorter window"
            )));
        }
        Some(next.to_string())
    } else {
        None
    };
    Ok(ListPage {
        order_ids: Vec::new(),
        orders,
        next_page,
    })
}

/// One parent order: `parentOrderMap.parentOrderSn`, the status of
/// `parentOrderMap.parentOrderStatus`, and one line per `orderList[].skuId` with the summed
/// `quantity`. Temu gives no currency, address nor price here: they stay empty.
fn parse_order(shop: &str, item: &Node<'_>) -> Result<CanonicalOrder, AdapterError> {
    let parent = item.require("parentOrderMap")?;
    let order_sn = parent.require("parentOrderSn")?.non_empty_str()?.to_owned();
    let status_node = parent.require("parentOrderStatus")?;
    let status = status::map_code(status_node.u64()?)
        .ok_or_else(|| status_node.error("a documented Temu parentOrderStatus"))?;
    let order_list = item.require("orderList")?;
    let sub_orders = order_list.items()?;
    if sub_orders.is_empty() {
        return Err(order_list.error("at least one order"));
    }
    let mut lines: Vec<OrderLine> = Vec::new();
    for sub_order in &sub_orders {
        let store_sku = sku_id(&sub_order.require("skuId")?)?;
        let qty_node = sub_order.require("quantity")?;
        let line = OrderLine {
            store_sku,
            qty: qty_node.quantity()?,
            unit_price: String::new(),
        };
        merge_line(&mut lines, line, &qty_node)?;
    }
    Ok(CanonicalOrder {
        marketplace: MARKETPLACE.to_owned(),
        shop: shop.to_owned(),
        order_sn,
        status,
        currency: String::new(),
        address: Address::default(),
        lines,
    })
}

/// `skuId` as the store SKU: Temu sends a number; a non-empty string is taken as it is.
fn sku_id(node: &Node<'_>) -> Result<String, AdapterError> {
    match node.u64() {
        Ok(id) => Ok(id.to_string()),
        Err(_) => node
            .non_empty_str()
            .map(str::to_owned)
            .map_err(|_| node.error("a SKU id (an unsigned integer)")),
    }
}
