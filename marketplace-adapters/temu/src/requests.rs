//! Building Temu's signed router calls: the order list, the order detail and the stock update.

use distributary_plugin::{AdapterError, HttpRequest, ListQuery, RequestContext, StockItem};
use serde::Serialize;
use serde_json::Value;

use crate::signing::signed_body;
use crate::{
    ORDER_DETAIL_TYPE, ORDER_LIST_TYPE, PAGE_NUMBER_MAX, PAGE_SIZE, ROUTER_PATH, STOCK_SKUS_MAX,
    STOCK_UPDATE_TYPE, UPDATE_AT_END_PARAM, UPDATE_AT_START_PARAM,
};

/// The `connect_shop` credentials of a Temu shop.
struct Credentials {
    app_key: String,
    app_secret: String,
    access_token: String,
}

impl Credentials {
    /// Reads `{app_key, app_secret, access_token}`; messages name a missing field, never a
    /// secret's value.
    fn from_value(value: &Value) -> Result<Credentials, AdapterError> {
        let field = |name: &str| -> Result<String, AdapterError> {
            match value.get(name).and_then(Value::as_str) {
                Some(text) if !text.is_empty() => Ok(text.to_owned()),
                _ => Err(AdapterError::invalid_input(format!(
                    "temu credentials: `{name}` must be a non-empty string"
                ))),
            }
        };
        Ok(Credentials {
            app_key: field("app_key")?,
            app_secret: field("app_secret")?,
            access_token: field("access_token")?,
        })
    }
}

/// A parameter list under construction: names with their compact JSON text.
struct Params(Vec<(String, String)>);

impl Params {
    /// The common parameters of a router call of API `api_type`.
    fn common(
        ctx: &RequestContext,
        credentials: &Credentials,
        api_type: &str,
    ) -> Result<Params, AdapterError> {
        if ctx.timestamp <= 0 {
            return Err(AdapterError::invalid_input(format!(
                "temu: timestamp {} is not a positive Unix time",
                ctx.timestamp
            )));
        }
        let mut params = Params(Vec::new());
        params.text("type", api_type);
        params.text("app_key", &credentials.app_key);
        params.text("access_token", &credentials.access_token);
        params.text("data_type", "JSON");
        params.raw("timestamp", ctx.timestamp.to_string());
        Ok(params)
    }

    fn text(&mut self, name: &str, value: &str) {
        self.raw(name, Value::String(value.to_owned()).to_string());
    }

    fn raw(&mut self, name: &str, json_text: String) {
        self.0.push((name.to_owned(), json_text));
    }

    fn json(&mut self, name: &str, value: &impl Serialize) -> Result<(), AdapterError> {
        let text = serde_json::to_string(value)
            .map_err(|err| AdapterError::invalid_input(format!("temu `{name}`: {err}")))?;
        self.raw(name, text);
        Ok(())
    }

    /// The signed `POST /openapi/router` call carrying these parameters.
    fn into_request(self, credentials: &Credentials) -> HttpRequest {
        HttpRequest {
            method: "POST".to_owned(),
            path: ROUTER_PATH.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Some(signed_body(&credentials.app_secret, &self.0)),
            content_type: Some("application/json".to_owned()),
        }
    }
}

/// The page number a list query asks for: 1 for the first page, else the token
/// [`crate::TemuAdapter`] returned, which must be a number from 2 to [`PAGE_NUMBER_MAX`].
pub(crate) fn page_number(query: &ListQuery) -> Result<u32, AdapterError> {
    let Some(page) = &query.page else {
        return Ok(1);
    };
    page.parse::<u32>()
        .ok()
        .filter(|number| (1..=PAGE_NUMBER_MAX).contains(number))
        .ok_or_else(|| {
            AdapterError::invalid_input(format!(
                "temu order list: page {page:?} is not a page number from 1 to {PAGE_NUMBER_MAX}"
            ))
        })
}

/// `bg.order.list.v2.get` for one page of parent orders updated in `[time_from, time_to)`; Temu's
/// update range is closed, so it ends at `time_to - 1`.
pub(crate) fn order_list_request(
    ctx: &RequestContext,
    query: &ListQuery,
) -> Result<HttpRequest, AdapterError> {
    if query.time_to <= query.time_from || query.time_from < 0 {
        return Err(AdapterError::invalid_input(format!(
            "temu order list: window [{}, {}) is empty, negative or ends before it starts",
            query.time_from, query.time_to
        )));
    }
    let page_number = page_number(query)?;
    let credentials = Credentials::from_value(&ctx.credentials)?;
    let mut params = Params::common(ctx, &credentials, ORDER_LIST_TYPE)?;
    params.raw("pageNumber", page_number.to_string());
    params.raw("pageSize", PAGE_SIZE.to_string());
    params.raw(UPDATE_AT_START_PARAM, query.time_from.to_string());
    params.raw(UPDATE_AT_END_PARAM, (query.time_to - 1).to_string());
    Ok(params.into_request(&credentials))
}

/// `bg.order.detail.v2.get` for exactly one parent order.
pub(crate) fn order_detail_request(
    ctx: &RequestContext,
    order_ids: &[String],
) -> Result<HttpRequest, AdapterError> {
    let [parent_order_sn] = order_ids else {
        return Err(AdapterError::invalid_input(format!(
            "temu order detail: {} order ids, expected exactly 1",
            order_ids.len()
        )));
    };
    if parent_order_sn.is_empty() {
        return Err(AdapterError::invalid_input(
            "temu order detail: the parent order id is empty",
        ));
    }
    let credentials = Credentials::from_value(&ctx.credentials)?;
    let mut params = Params::common(ctx, &credentials, ORDER_DETAIL_TYPE)?;
    params.text("parentOrderSn", parent_order_sn);
    Ok(params.into_request(&credentials))
}

/// One SKU's target stock in [`STOCK_UPDATE_TYPE`] (*unverified* field names).
#[derive(Debug, Serialize)]
struct SkuStockTarget {
    #[serde(rename = "skuId")]
    sku_id: u64,
    #[serde(rename = "stockTarget")]
    stock_target: u64,
}

/// Reads a numeric listing id of a stock item, or the store SKU itself for `sku_id` (a Temu store
/// SKU is the `skuId`).
fn listing_id(item: &StockItem, name: &str) -> Result<u64, AdapterError> {
    let text = match (item.listing.get(name), name) {
        (Some(text), _) => text.as_str(),
        (None, "sku_id") => item.store_sku.as_str(),
        (None, _) => {
            return Err(AdapterError::invalid_input(format!(
                "temu stock update for store SKU {:?}: the listing needs `{name}` (Temu's goods \
                 id)",
                item.store_sku
            )))
        }
    };
    text.parse().map_err(|_| {
        AdapterError::invalid_input(format!(
            "temu stock update for store SKU {:?}: `{name}` {text:?} is not an unsigned integer",
            item.store_sku
        ))
    })
}

/// [`STOCK_UPDATE_TYPE`] calls that set absolute stock targets: one goods per call, at most
/// [`STOCK_SKUS_MAX`] SKUs a call, goods in the order they first appear. Each item's listing
/// needs `goods_id`; its `skuId` is the listing's `sku_id`, else the store SKU.
pub(crate) fn stock_update_requests(
    ctx: &RequestContext,
    items: &[StockItem],
) -> Result<Vec<HttpRequest>, AdapterError> {
    let mut by_goods: Vec<(u64, Vec<SkuStockTarget>)> = Vec::new();
    for item in items {
        let goods_id = listing_id(item, "goods_id")?;
        let target = SkuStockTarget {
            sku_id: listing_id(item, "sku_id")?,
            stock_target: item.quantity,
        };
        match by_goods.iter_mut().find(|(id, _)| *id == goods_id) {
            Some((_, targets)) => {
                if targets.iter().any(|known| known.sku_id == target.sku_id) {
                    return Err(AdapterError::invalid_input(format!(
                        "temu stock update: goods {goods_id} SKU {} appears twice",
                        target.sku_id
                    )));
                }
                targets.push(target);
            }
            None => by_goods.push((goods_id, vec![target])),
        }
    }
    if by_goods.is_empty() {
        return Ok(Vec::new());
    }
    let credentials = Credentials::from_value(&ctx.credentials)?;
    let mut requests = Vec::new();
    for (goods_id, targets) in by_goods {
        let mut targets = targets.into_iter().peekable();
        while targets.peek().is_some() {
            let batch: Vec<SkuStockTarget> = targets.by_ref().take(STOCK_SKUS_MAX).collect();
            let mut params = Params::common(ctx, &credentials, STOCK_UPDATE_TYPE)?;
            params.raw("goodsId", goods_id.to_string());
            params.json("skuStockTargetList", &batch)?;
            requests.push(params.into_request(&credentials));
        }
    }
    Ok(requests)
}
