//! The TikTok Shop Partner API (version 202309) adapter: signs TikTok Shop's requests and reads
//! its answers into canonical orders. Pure translation: no I/O, no clock (the host passes
//! `ctx.timestamp`).
//!
//! # Requests
//! Every request carries the query parameters `app_key`, `timestamp` (seconds), `shop_cipher` and
//! `sign` ([`sign::sign`]: HMAC-SHA256 keyed with the app secret, lowercase hex, over
//! `app_secret + path + sorted name+value + body + app_secret`, without `sign` and
//! `access_token`), and the header `x-tts-access-token`. Bodies are JSON.
//! - order list: `POST /order/202309/orders/search?page_size=`[`ORDER_PAGE_SIZE`]`&page_token=`
//!   (the page token, when not the first page) with the body
//!   `{"update_time_ge": time_from, "update_time_lt": time_to}`. The search answer carries the
//!   orders' line items, so [`Adapter::parse_order_list`] returns the orders that parse whole in
//!   `ListPage.orders` (with an empty `shop`: the answer does not say it, the host sets it) and
//!   only the ids of the others in `ListPage.order_ids`.
//! - order detail: `GET /order/202309/orders?ids=a,b,…`, at most [`DETAIL_BATCH_MAX`] ids.
//! - stock: `POST /product/202309/products/{product_id}/inventory/update` with
//!   `{"skus": [{"id": sku_id, "inventory": [{"warehouse_id", "quantity"}]}]}`, one request per
//!   product (items grouped by `product_id`, products in first-seen order); each [`StockItem`]
//!   needs the listing ids `product_id`, `sku_id` and `warehouse_id`.
//!
//! # The native payload (`parse_orders`, `import_orders` with `format: native`)
//! The order-detail answer `{"code": 0, "message", "data": {"orders": [...]}}` exactly as
//! [`Adapter::order_detail_request`] gets it (the search answer has the same envelope and parses
//! too), or a JSON array of such answers. Per order: `order_sn` = `id`; `status` mapped below;
//! `currency` = `payment.currency`, else the line items' `currency` (they must agree);
//! the address from `recipient_address`: `country` = `region_code`, `postcode` = `postal_code`,
//! `state` = the `address_name` of the first `district_info` entry whose `address_level_name` is
//! one of [`orders::STATE_LEVEL_NAMES`] (in that preference), `city` likewise with
//! [`orders::CITY_LEVEL_NAMES`]. Each line item is one unit (TikTok Shop has no quantity field):
//! items of the same `seller_sku` (the store SKU) are summed into one line whose `unit_price` is
//! the mean of their `sale_price`, rounded half away from zero to the finest scale among them
//! (empty when an item has none). Items whose `display_status` is cancelled are left out of the
//! lines unless every item is.
//!
//! # Statuses ([`status::STATUSES`])
//!
//! | TikTok Shop (legacy code) | canonical |
//! |---|---|
//! | `UNPAID` (100) | `unpaid` |
//! | `ON_HOLD` (105): paid, but the buyer may still cancel freely and the seller may not ship yet | `unpaid` |
//! | `AWAITING_SHIPMENT` (111) | `ready_to_ship` |
//! | `AWAITING_COLLECTION` (112) | `processed` |
//! | `PARTIALLY_SHIPPING` (114): some packages left, the rest are not yet shipped | `processed` |
//! | `IN_TRANSIT` (121) | `shipped` |
//! | `DELIVERED` (122) | `delivered` |
//! | `COMPLETED` (130) | `completed` |
//! | `CANCELLED` (140), `CANCEL` (webhooks) | `cancelled` |
//!
//! An unknown status is a marketplace error naming the order.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(missing_docs)]

pub mod orders;
pub mod push;
pub mod sign;
pub mod status;
pub mod stock;

use distributary_plugin::adapter::{
    CAPABILITY_ORDER_SYNC, CAPABILITY_PUSH, CAPABILITY_SELLER_DELIVERY, CAPABILITY_STOCK_UPDATE,
};
use distributary_plugin::{
    Adapter, AdapterError, CanonicalOrder, HttpRequest, ListPage, ListQuery, Manifest, OrderStatus,
    PushRequest, PushVerdict, RequestContext, StockItem, StockRefusal,
};
use serde::Serialize;
use serde_json::Value;

/// The marketplace name in the host protocol.
pub const MARKETPLACE: &str = "tiktok_shop";
/// The adapter's human name.
pub const ADAPTER_NAME: &str = "TikTok Shop Partner API 202309";
/// The order search path.
pub const ORDER_SEARCH_PATH: &str = "/order/202309/orders/search";
/// The order detail path.
pub const ORDER_DETAIL_PATH: &str = "/order/202309/orders";
/// The inventory update path, around the product id.
pub const INVENTORY_PATH_PREFIX: &str = "/product/202309/products/";
/// The inventory update path, after the product id.
pub const INVENTORY_PATH_SUFFIX: &str = "/inventory/update";
/// Orders asked for per search page (TikTok Shop's maximum).
pub const ORDER_PAGE_SIZE: u32 = 100;
/// Order ids per detail request (TikTok Shop's maximum).
pub const DETAIL_BATCH_MAX: usize = 50;
/// The header that carries the access token.
pub const ACCESS_TOKEN_HEADER: &str = "x-tts-access-token";
/// The content type of every body this adapter sends.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// The TikTok Shop adapter; stateless.
#[derive(Debug, Default, Clone, Copy)]
pub struct TikTokShopAdapter;

distributary_plugin::export_adapter!(TikTokShopAdapter);

/// The `connect_shop` credentials of a TikTok shop.
struct Credentials {
    app_key: String,
    app_secret: String,
    access_token: String,
    shop_cipher: String,
}

fn credentials(ctx: &RequestContext) -> Result<Credentials, AdapterError> {
    let field = |name: &str| -> Result<String, AdapterError> {
        ctx.credentials
            .get(name)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                AdapterError::invalid_input(format!(
                    "credentials.{name}: missing (TikTok Shop needs app_key, app_secret, \
                     access_token, shop_cipher)"
                ))
            })
    };
    Ok(Credentials {
        app_key: field("app_key")?,
        app_secret: field("app_secret")?,
        access_token: field("access_token")?,
        shop_cipher: field("shop_cipher")?,
    })
}

fn pair(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_owned(), value.into())
}

/// A signed request: the common query, then `params`, then `sign`; the token in its header.
fn signed(
    ctx: &RequestContext,
    method: &str,
    path: String,
    params: Vec<(String, String)>,
    body: Option<String>,
) -> Result<HttpRequest, AdapterError> {
    let credentials = credentials(ctx)?;
    if ctx.timestamp < 0 {
        return Err(AdapterError::invalid_input(format!(
            "timestamp {} is before 1970",
            ctx.timestamp
        )));
    }
    let mut query = vec![
        pair("app_key", credentials.app_key),
        pair("timestamp", ctx.timestamp.to_string()),
        pair("shop_cipher", credentials.shop_cipher),
    ];
    query.extend(params);
    let signature = sign::sign(&credentials.app_secret, &path, &query, body.as_deref())?;
    query.push(pair("sign", signature));
    let content_type = body.as_ref().map(|_| JSON_CONTENT_TYPE.to_owned());
    Ok(HttpRequest {
        method: method.to_owned(),
        path,
        query,
        headers: vec![pair(ACCESS_TOKEN_HEADER, credentials.access_token)],
        body,
        content_type,
    })
}

/// The search body; field order as documented.
#[derive(Serialize)]
struct SearchBody {
    update_time_ge: i64,
    update_time_lt: i64,
}

/// One SKU of an inventory update body.
#[derive(Serialize)]
struct SkuInventory<'a> {
    id: &'a str,
    inventory: Vec<WarehouseQuantity<'a>>,
}

/// One warehouse's quantity of a SKU.
#[derive(Serialize)]
struct WarehouseQuantity<'a> {
    warehouse_id: &'a str,
    quantity: u64,
}

/// The inventory update body.
#[derive(Serialize)]
struct InventoryBody<'a> {
    skus: Vec<SkuInventory<'a>>,
}

fn to_json(value: &impl Serialize) -> Result<String, AdapterError> {
    serde_json::to_string(value)
        .map_err(|error| AdapterError::invalid_input(format!("cannot encode the body: {error}")))
}

/// Whether `id` can go into a URL path as is (TikTok Shop's ids are digits).
fn path_safe(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn listing<'a>(item: &'a StockItem, name: &str) -> Result<&'a str, AdapterError> {
    item.listing
        .get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            AdapterError::invalid_input(format!(
                "store SKU {}: listing.{name} missing (TikTok Shop needs product_id, sku_id and \
                 warehouse_id)",
                item.store_sku
            ))
        })
}

/// Stock items grouped per product, then per SKU, in first-seen order.
type ProductGroups<'a> = Vec<(&'a str, Vec<SkuInventory<'a>>)>;

fn group_by_product(items: &[StockItem]) -> Result<ProductGroups<'_>, AdapterError> {
    let mut products: ProductGroups<'_> = Vec::new();
    for item in items {
        let product_id = listing(item, "product_id")?;
        if !path_safe(product_id) {
            return Err(AdapterError::invalid_input(format!(
                "store SKU {}: listing.product_id {product_id:?} is not a TikTok Shop id",
                item.store_sku
            )));
        }
        let sku_id = listing(item, "sku_id")?;
        let warehouse_id = listing(item, "warehouse_id")?;
        let position = match products.iter().position(|(id, _)| *id == product_id) {
            Some(position) => position,
            None => {
                products.push((product_id, Vec::new()));
                products.len() - 1
            }
        };
        let Some((_, skus)) = products.get_mut(position) else {
            return Err(AdapterError::invalid_input("internal error: product index"));
        };
        let sku = match skus.iter().position(|sku| sku.id == sku_id) {
            Some(position) => skus.get_mut(position),
            None => {
                skus.push(SkuInventory {
                    id: sku_id,
                    inventory: Vec::new(),
                });
                skus.last_mut()
            }
        };
        let Some(sku) = sku else {
            return Err(AdapterError::invalid_input("internal error: SKU index"));
        };
        if sku.inventory.iter().any(|w| w.warehouse_id == warehouse_id) {
            return Err(AdapterError::invalid_input(format!(
                "store SKU {}: SKU {sku_id} in warehouse {warehouse_id} is listed twice",
                item.store_sku
            )));
        }
        sku.inventory.push(WarehouseQuantity {
            warehouse_id,
            quantity: item.quantity,
        });
    }
    Ok(products)
}

impl Adapter for TikTokShopAdapter {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: ADAPTER_NAME.to_owned(),
            marketplace: MARKETPLACE.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            capabilities: vec![
                CAPABILITY_ORDER_SYNC.to_owned(),
                CAPABILITY_STOCK_UPDATE.to_owned(),
                CAPABILITY_SELLER_DELIVERY.to_owned(),
                CAPABILITY_PUSH.to_owned(),
            ],
        }
    }

    fn order_list_request(
        &self,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> Result<HttpRequest, AdapterError> {
        if query.time_to < query.time_from {
            return Err(AdapterError::invalid_input(format!(
                "window ends ({}) before it starts ({})",
                query.time_to, query.time_from
            )));
        }
        let mut params = vec![pair("page_size", ORDER_PAGE_SIZE.to_string())];
        if let Some(token) = query.page.as_deref().filter(|token| !token.is_empty()) {
            params.push(pair("page_token", token));
        }
        let body = to_json(&SearchBody {
            update_time_ge: query.time_from,
            update_time_lt: query.time_to,
        })?;
        signed(
            ctx,
            "POST",
            ORDER_SEARCH_PATH.to_owned(),
            params,
            Some(body),
        )
    }

    fn parse_order_list(&self, _query: &ListQuery, body: &str) -> Result<ListPage, AdapterError> {
        let page = orders::parse_search(body)?;
        Ok(ListPage {
            order_ids: page.order_ids,
            orders: page.orders,
            next_page: page.next_page,
        })
    }

    fn detail_batch_max(&self) -> usize {
        DETAIL_BATCH_MAX
    }

    fn order_detail_request(
        &self,
        ctx: &RequestContext,
        order_ids: &[String],
    ) -> Result<HttpRequest, AdapterError> {
        if order_ids.is_empty() || order_ids.len() > DETAIL_BATCH_MAX {
            return Err(AdapterError::invalid_input(format!(
                "TikTok Shop's order detail takes 1 to {DETAIL_BATCH_MAX} ids, got {}",
                order_ids.len()
            )));
        }
        if let Some(bad) = order_ids
            .iter()
            .find(|id| id.is_empty() || id.contains(','))
        {
            return Err(AdapterError::invalid_input(format!(
                "order id {bad:?} is empty or contains a comma"
            )));
        }
        let params = vec![pair("ids", order_ids.join(","))];
        signed(ctx, "GET", ORDER_DETAIL_PATH.to_owned(), params, None)
    }

    fn parse_orders(&self, shop: &str, body: &str) -> Result<Vec<CanonicalOrder>, AdapterError> {
        orders::parse_native(shop, body)
    }

    fn map_status(&self, native: &str) -> Option<OrderStatus> {
        status::map_status(native)
    }

    fn stock_update_requests(
        &self,
        ctx: &RequestContext,
        items: &[StockItem],
    ) -> Result<Vec<HttpRequest>, AdapterError> {
        if let Some(item) = items.iter().find(|item| item.store_sku.is_empty()) {
            return Err(AdapterError::invalid_input(format!(
                "stock item with an empty store_sku (quantity {})",
                item.quantity
            )));
        }
        group_by_product(items)?
            .into_iter()
            .map(|(product_id, skus)| {
                let body = to_json(&InventoryBody { skus })?;
                let path = format!("{INVENTORY_PATH_PREFIX}{product_id}{INVENTORY_PATH_SUFFIX}");
                signed(ctx, "POST", path, Vec::new(), Some(body))
            })
            .collect()
    }

    fn parse_stock_update(
        &self,
        items: &[StockItem],
        body: &str,
    ) -> Result<Vec<StockRefusal>, AdapterError> {
        stock::parse_stock_update(items, body)
    }

    fn parse_push(&self, push: &PushRequest) -> Result<PushVerdict, AdapterError> {
        push::parse_push(push)
    }
}
