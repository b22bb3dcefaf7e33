//! Building Shopee's signed requests: the order list, the order detail and the stock update.

use distributary_plugin::{AdapterError, HttpRequest, ListQuery, RequestContext, StockItem};
use serde::Serialize;
use serde_json::Value;

use crate::signing::{shop_base_string, sign};
use crate::{
    DETAIL_BATCH_MAX, DETAIL_OPTIONAL_FIELDS, ORDER_DETAIL_PATH, ORDER_LIST_PATH, PAGE_SIZE,
    STOCK_MODELS_MAX, UPDATE_STOCK_PATH, WINDOW_SECONDS_MAX,
};

/// The `connect_shop` credentials of a Shopee shop.
struct Credentials {
    partner_id: u64,
    partner_key: String,
    shop_id: u64,
    access_token: String,
}

impl Credentials {
    /// Reads `{partner_id, partner_key, shop_id, access_token}`; the ids may be numbers or
    /// digit strings. Messages name the missing field, never a secret's value.
    fn from_value(value: &Value) -> Result<Credentials, AdapterError> {
        let id = |name: &str| -> Result<u64, AdapterError> {
            match value.get(name) {
                Some(Value::Number(number)) => number.as_u64(),
                Some(Value::String(text)) => text.parse().ok(),
                _ => None,
            }
            .ok_or_else(|| {
                AdapterError::invalid_input(format!(
                    "shopee credentials: `{name}` must be an unsigned integer"
                ))
            })
        };
        let secret = |name: &str| -> Result<String, AdapterError> {
            match value.get(name).and_then(Value::as_str) {
                Some(text) if !text.is_empty() => Ok(text.to_owned()),
                _ => Err(AdapterError::invalid_input(format!(
                    "shopee credentials: `{name}` must be a non-empty string"
                ))),
            }
        };
        Ok(Credentials {
            partner_id: id("partner_id")?,
            partner_key: secret("partner_key")?,
            shop_id: id("shop_id")?,
            access_token: secret("access_token")?,
        })
    }
}

/// The common query of a shop API call, signature included: `partner_id, timestamp,
/// access_token, shop_id, sign`.
fn signed_query(
    ctx: &RequestContext,
    api_path: &str,
) -> Result<Vec<(String, String)>, AdapterError> {
    let credentials = Credentials::from_value(&ctx.credentials)?;
    if ctx.timestamp <= 0 {
        return Err(AdapterError::invalid_input(format!(
            "shopee: timestamp {} is not a positive Unix time",
            ctx.timestamp
        )));
    }
    let base = shop_base_string(
        credentials.partner_id,
        api_path,
        ctx.timestamp,
        &credentials.access_token,
        credentials.shop_id,
    );
    let signature = sign(&credentials.partner_key, &base)?;
    Ok(vec![
        ("partner_id".to_owned(), credentials.partner_id.to_string()),
        ("timestamp".to_owned(), ctx.timestamp.to_string()),
        ("access_token".to_owned(), credentials.access_token),
        ("shop_id".to_owned(), credentials.shop_id.to_string()),
        ("sign".to_owned(), signature),
    ])
}

fn get(path: &str, query: Vec<(String, String)>) -> HttpRequest {
    HttpRequest {
        method: "GET".to_owned(),
        path: path.to_owned(),
        query,
        headers: Vec::new(),
        body: None,
        content_type: None,
    }
}

/// Splits `[time_from, time_to)` into consecutive windows of at most [`WINDOW_SECONDS_MAX`]. An
/// empty range has no window; a range that ends before it starts is returned whole, so that
/// [`order_list_request`] refuses it with a clear error. At most `windows_max` windows are made:
/// the last one then holds the rest, and is refused as too wide rather than silently dropped.
pub(crate) fn list_windows(time_from: i64, time_to: i64, windows_max: usize) -> Vec<(i64, i64)> {
    if time_from == time_to {
        return Vec::new();
    }
    if time_to < time_from {
        return vec![(time_from, time_to)];
    }
    let mut windows = Vec::new();
    let mut start = time_from;
    while start < time_to {
        let end = if windows.len() + 1 >= windows_max {
            time_to
        } else {
            start.saturating_add(WINDOW_SECONDS_MAX).min(time_to)
        };
        windows.push((start, end));
        start = end;
    }
    windows
}

/// `GET /api/v2/order/get_order_list` for one page of one window, by update time.
pub(crate) fn order_list_request(
    ctx: &RequestContext,
    query: &ListQuery,
) -> Result<HttpRequest, AdapterError> {
    if query.time_to <= query.time_from {
        return Err(AdapterError::invalid_input(format!(
            "shopee order list: window [{}, {}) is empty or ends before it starts",
            query.time_from, query.time_to
        )));
    }
    if query.time_to - query.time_from > WINDOW_SECONDS_MAX {
        return Err(AdapterError::invalid_input(format!(
            "shopee order list: window [{}, {}) is wider than Shopee's {WINDOW_SECONDS_MAX} seconds \
             (15 days); split it with list_windows",
            query.time_from, query.time_to
        )));
    }
    let mut params = signed_query(ctx, ORDER_LIST_PATH)?;
    params.extend([
        ("time_range_field".to_owned(), "update_time".to_owned()),
        ("time_from".to_owned(), query.time_from.to_string()),
        ("time_to".to_owned(), query.time_to.to_string()),
        ("page_size".to_owned(), PAGE_SIZE.to_string()),
        ("cursor".to_owned(), query.page.clone().unwrap_or_default()),
    ]);
    Ok(get(ORDER_LIST_PATH, params))
}

/// `GET /api/v2/order/get_order_detail` for 1 to [`DETAIL_BATCH_MAX`] orders, asking for the
/// optional fields the canonical order needs.
pub(crate) fn order_detail_request(
    ctx: &RequestContext,
    order_ids: &[String],
) -> Result<HttpRequest, AdapterError> {
    if order_ids.is_empty() || order_ids.len() > DETAIL_BATCH_MAX {
        return Err(AdapterError::invalid_input(format!(
            "shopee order detail: {} order ids, expected 1 to {DETAIL_BATCH_MAX}",
            order_ids.len()
        )));
    }
    if let Some(bad) = order_ids
        .iter()
        .find(|id| id.is_empty() || id.contains(','))
    {
        return Err(AdapterError::invalid_input(format!(
            "shopee order detail: order id {bad:?} is empty or contains a comma"
        )));
    }
    let mut params = signed_query(ctx, ORDER_DETAIL_PATH)?;
    params.extend([
        ("order_sn_list".to_owned(), order_ids.join(",")),
        (
            "response_optional_fields".to_owned(),
            DETAIL_OPTIONAL_FIELDS.to_owned(),
        ),
    ]);
    Ok(get(ORDER_DETAIL_PATH, params))
}

/// The body of `POST /api/v2/product/update_stock`.
#[derive(Debug, Serialize)]
struct UpdateStockBody {
    item_id: u64,
    stock_list: Vec<ModelStock>,
}

#[derive(Debug, Serialize)]
struct ModelStock {
    model_id: u64,
    seller_stock: Vec<SellerStock>,
}

#[derive(Debug, Serialize)]
struct SellerStock {
    #[serde(skip_serializing_if = "Option::is_none")]
    location_id: Option<String>,
    stock: u64,
}

/// Reads a numeric listing id of a stock item; `default` stands in when it is absent.
fn listing_id(item: &StockItem, name: &str, default: Option<u64>) -> Result<u64, AdapterError> {
    match (item.listing.get(name), default) {
        (Some(text), _) => text.parse().map_err(|_| {
            AdapterError::invalid_input(format!(
                "shopee stock update for store SKU {:?}: listing `{name}` {text:?} is not an \
                 unsigned integer",
                item.store_sku
            ))
        }),
        (None, Some(default)) => Ok(default),
        (None, None) => Err(AdapterError::invalid_input(format!(
            "shopee stock update for store SKU {:?}: the listing needs `{name}` (Shopee's item \
             id), and `model_id` for an item with variants",
            item.store_sku
        ))),
    }
}

/// `POST /api/v2/product/update_stock` requests: one item per call and at most
/// [`STOCK_MODELS_MAX`] models a call, items in the order they first appear. Each stock item's
/// listing needs `item_id`, and `model_id` for a variant (0, Shopee's "no variant", when
/// absent); `location_id` is sent when given.
pub(crate) fn stock_update_requests(
    ctx: &RequestContext,
    items: &[StockItem],
) -> Result<Vec<HttpRequest>, AdapterError> {
    let mut by_item: Vec<(u64, Vec<ModelStock>)> = Vec::new();
    for item in items {
        let item_id = listing_id(item, "item_id", None)?;
        let model_id = listing_id(item, "model_id", Some(0))?;
        let model = ModelStock {
            model_id,
            seller_stock: vec![SellerStock {
                location_id: item.listing.get("location_id").cloned(),
                stock: item.quantity,
            }],
        };
        match by_item.iter_mut().find(|(id, _)| *id == item_id) {
            Some((_, models)) => {
                if models.iter().any(|known| known.model_id == model_id) {
                    return Err(AdapterError::invalid_input(format!(
                        "shopee stock update: item {item_id} model {model_id} appears twice \
                         (store SKU {:?})",
                        item.store_sku
                    )));
                }
                models.push(model);
            }
            None => by_item.push((item_id, vec![model])),
        }
    }
    let mut requests = Vec::new();
    for (item_id, models) in by_item {
        let mut models = models.into_iter().peekable();
        while models.peek().is_some() {
            let body = UpdateStockBody {
                item_id,
                stock_list: models.by_ref().take(STOCK_MODELS_MAX).collect(),
            };
            let body = serde_json::to_string(&body).map_err(|err| {
                AdapterError::invalid_input(format!("shopee stock update: {err}"))
            })?;
            requests.push(HttpRequest {
                method: "POST".to_owned(),
                path: UPDATE_STOCK_PATH.to_owned(),
                query: signed_query(ctx, UPDATE_STOCK_PATH)?,
                headers: Vec::new(),
                body: Some(body),
                content_type: Some("application/json".to_owned()),
            });
        }
    }
    Ok(requests)
}
