//! The Lazada Open Platform adapter: signs Lazada's requests and reads its answers into canonical
//! orders. Pure translation: no I/O, no clock (the host passes `ctx.timestamp`).
//!
//! # Requests
//! Every request carries the common parameters `app_key`, `timestamp` (milliseconds),
//! `access_token`, `sign_method=sha256` and `sign` ([`sign::sign`]: HMAC-SHA256 keyed with the
//! app secret, uppercase hex, over the API path then every other parameter sorted by name as
//! `name + value`). All parameters travel in the query; no request has a body.
//! - order list: `GET /orders/get` with `update_after`/`update_before` (ISO 8601, UTC, from the
//!   window; `update_before` is the window's end, so a boundary order may be listed twice, which an
//!   idempotent import absorbs), `limit` = [`ORDER_LIST_LIMIT`] and `offset` = the page token.
//! - order detail: `GET /order/items/get?order_id=`, one order a call ([`DETAIL_BATCH_MAX`]).
//! - stock: `POST /product/stock/sellable/update` with the XML `payload` ([`xml::stock_payload`]),
//!   at most [`STOCK_SKUS_PER_CALL_MAX`] SKUs a call; each [`StockItem`] needs the listing ids
//!   `item_id` and `sku_id` (its `store_sku` is the `SellerSku`).
//!
//! # The native payload (`parse_orders`, `import_orders` with `format: native`)
//! Any of:
//! 1. the bare `/order/items/get` answer `{"code": "0", "data": [rows], "request_id"}` — exactly
//!    what the host's sync loop gets back from [`Adapter::order_detail_request`]; rows are grouped
//!    into orders by `order_id` (first-seen order) and the address is left empty, since that
//!    answer carries none;
//! 2. `{"order": <one element of the /orders/get answer's data.orders>, "items": <the
//!    /order/items/get answer for that order>}` — the same plus the address, for a host that kept
//!    the listed order (every row must belong to `order.order_id`);
//! 3. a JSON array of (1) and (2).
//!
//! Each row is one unit (Lazada has no quantity field): rows of the same `sku` (the seller SKU,
//! the store SKU) are summed into one line whose `unit_price` is the mean of the rows'
//! `paid_price` (else `item_price`), rounded half away from zero to the finest scale among them
//! (empty when a row has no price). Cancelled rows are left out of the lines unless every row is
//! cancelled. `currency` is the rows' `currency` (they must agree). The address, from the wrapped
//! order's `address_shipping`: `country` as an ISO 3166 code ([`orders::COUNTRY_CODES`]), `state`
//! from [`orders::STATE_FIELD`] (*unverified*), `city` from `city`, `postcode` from `post_code`.
//!
//! # Statuses
//! Item statuses map to canonical ones ([`status::STATUSES`]):
//!
//! | Lazada | canonical |
//! |---|---|
//! | `unpaid` | `unpaid` |
//! | `pending`, `topack` | `ready_to_ship` (paid, the seller must pack) |
//! | `packed`, `repacked`, `toship`, `ready_to_ship_pending`, `ready_to_ship` | `processed` (packed, awaiting the carrier) |
//! | `shipping`, `shipped`, `failed_delivery` (an attempt failed, the carrier retries) | `shipped` |
//! | `delivered` | `delivered` |
//! | `confirmed` | `completed` |
//! | `canceled`, `lost`, `lost_by_3pl`, `damaged_by_3pl` (the buyer's order is void) | `cancelled` |
//! | `returned`, `failed` (delivery failed for good), `shipped_back`, `shipped_back_success`, `shipped_back_failed` | `returned` |
//!
//! An unknown status is a marketplace error naming the row. The order's status reduces from its
//! items' statuses ([`status::reduce`]):
//!
//! | items | order |
//! |---|---|
//! | any `cancel_requested` (no Lazada status maps to it today) | `cancel_requested` |
//! | some live (not cancelled, not returned) | the least progressed live one, in the order `unpaid < ready_to_ship < processed < shipped < delivered < completed` |
//! | none live, some `returned` | `returned` |
//! | all `cancelled` | `cancelled` |
//!
//! # Paging
//! Lazada's list answer has `countTotal` but does not echo the `offset`, so
//! [`Adapter::parse_order_list`] ([`LazadaAdapter::parse_order_list_page`]) reads the offset
//! from the query the page was fetched with and pages by `offset + len < countTotal`.
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
pub mod time;
pub mod xml;

use distributary_plugin::adapter::{
    CAPABILITY_ORDER_SYNC, CAPABILITY_PUSH, CAPABILITY_SELLER_DELIVERY, CAPABILITY_STOCK_UPDATE,
};
use distributary_plugin::{
    Adapter, AdapterError, CanonicalOrder, HttpRequest, ListPage, ListQuery, Manifest, OrderStatus,
    PushRequest, PushVerdict, RequestContext, StockItem, StockRefusal,
};
use serde_json::Value;

/// The marketplace name in the host protocol.
pub const MARKETPLACE: &str = "lazada";
/// The adapter's human name.
pub const ADAPTER_NAME: &str = "Lazada Open Platform";
/// The order-list path.
pub const ORDER_LIST_PATH: &str = "/orders/get";
/// The order-detail (order items) path.
pub const ORDER_ITEMS_PATH: &str = "/order/items/get";
/// The sellable-stock update path.
pub const STOCK_UPDATE_PATH: &str = "/product/stock/sellable/update";
/// Orders asked for per list page (Lazada's maximum).
pub const ORDER_LIST_LIMIT: u64 = 100;
/// Orders per detail request: `/order/items/get` takes one `order_id`.
pub const DETAIL_BATCH_MAX: usize = 1;
/// SKUs per stock update call (Lazada's maximum).
pub const STOCK_SKUS_PER_CALL_MAX: usize = 50;
/// The `sign_method` parameter.
pub const SIGN_METHOD: &str = "sha256";
/// Milliseconds per second, for Lazada's `timestamp`.
const MILLIS_PER_SECOND: i64 = 1000;

/// The Lazada adapter; stateless.
#[derive(Debug, Default, Clone, Copy)]
pub struct LazadaAdapter;

distributary_plugin::export_adapter!(LazadaAdapter);

/// The `connect_shop` credentials of a Lazada shop.
struct Credentials {
    app_key: String,
    app_secret: String,
    access_token: String,
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
                    "credentials.{name}: missing (Lazada needs app_key, app_secret, access_token)"
                ))
            })
    };
    Ok(Credentials {
        app_key: field("app_key")?,
        app_secret: field("app_secret")?,
        access_token: field("access_token")?,
    })
}

fn pair(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_owned(), value.into())
}

/// A signed request: the common parameters, then `params`, then `sign`.
fn signed(
    ctx: &RequestContext,
    method: &str,
    path: &str,
    params: Vec<(String, String)>,
) -> Result<HttpRequest, AdapterError> {
    let credentials = credentials(ctx)?;
    let millis = ctx
        .timestamp
        .checked_mul(MILLIS_PER_SECOND)
        .filter(|millis| *millis >= 0)
        .ok_or_else(|| {
            AdapterError::invalid_input(format!("timestamp {} out of range", ctx.timestamp))
        })?;
    let mut query = vec![
        pair("app_key", credentials.app_key),
        pair("timestamp", millis.to_string()),
        pair("access_token", credentials.access_token),
        pair("sign_method", SIGN_METHOD),
    ];
    query.extend(params);
    let signature = sign::sign(&credentials.app_secret, path, &query, None)?;
    query.push(pair(sign::SIGN_PARAM, signature));
    Ok(HttpRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query,
        headers: Vec::new(),
        body: None,
        content_type: None,
    })
}

fn iso(seconds: i64, name: &str) -> Result<String, AdapterError> {
    time::iso8601(seconds).ok_or_else(|| {
        AdapterError::invalid_input(format!("{name} {seconds} is outside 1970..=9999"))
    })
}

fn offset(query: &ListQuery) -> Result<u64, AdapterError> {
    match &query.page {
        None => Ok(0),
        Some(page) => page.parse::<u64>().map_err(|_| {
            AdapterError::invalid_input(format!("page {page:?} is not a Lazada offset"))
        }),
    }
}

impl LazadaAdapter {
    /// Parses an `/orders/get` answer to the request built for `query`: the page's order ids, and
    /// the next offset while `offset + len < countTotal`; [`Adapter::parse_order_list`] is this
    /// method.
    pub fn parse_order_list_page(
        &self,
        query: &ListQuery,
        body: &str,
    ) -> Result<ListPage, AdapterError> {
        let offset = offset(query)?;
        let answer = orders::parse_list(body)?;
        let seen = offset.saturating_add(answer.order_ids.len() as u64);
        let next_page = if seen >= answer.count_total {
            None
        } else if answer.order_ids.is_empty() {
            return Err(AdapterError::marketplace(format!(
                "data.orders: empty page at offset {offset} although countTotal is {}",
                answer.count_total
            )));
        } else {
            Some(seen.to_string())
        };
        Ok(ListPage {
            order_ids: answer.order_ids,
            orders: Vec::new(),
            next_page,
        })
    }
}

impl Adapter for LazadaAdapter {
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
        let params = vec![
            pair("update_after", iso(query.time_from, "time_from")?),
            pair("update_before", iso(query.time_to, "time_to")?),
            pair("limit", ORDER_LIST_LIMIT.to_string()),
            pair("offset", offset(query)?.to_string()),
        ];
        signed(ctx, "GET", ORDER_LIST_PATH, params)
    }

    fn parse_order_list(&self, query: &ListQuery, body: &str) -> Result<ListPage, AdapterError> {
        self.parse_order_list_page(query, body)
    }

    fn detail_batch_max(&self) -> usize {
        DETAIL_BATCH_MAX
    }

    fn order_detail_request(
        &self,
        ctx: &RequestContext,
        order_ids: &[String],
    ) -> Result<HttpRequest, AdapterError> {
        let [order_id] = order_ids else {
            return Err(AdapterError::invalid_input(format!(
                "Lazada's order detail takes exactly {DETAIL_BATCH_MAX} order id, got {}",
                order_ids.len()
            )));
        };
        if order_id.is_empty() {
            return Err(AdapterError::invalid_input("order id is empty"));
        }
        signed(
            ctx,
            "GET",
            ORDER_ITEMS_PATH,
            vec![pair("order_id", order_id.clone())],
        )
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
        items
            .chunks(STOCK_SKUS_PER_CALL_MAX)
            .map(|chunk| {
                let skus = chunk.iter().map(sku_stock).collect::<Result<Vec<_>, _>>()?;
                let payload = xml::stock_payload(&skus);
                signed(
                    ctx,
                    "POST",
                    STOCK_UPDATE_PATH,
                    vec![pair("payload", payload)],
                )
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

fn sku_stock(item: &StockItem) -> Result<xml::SkuStock<'_>, AdapterError> {
    if item.store_sku.is_empty() {
        return Err(AdapterError::invalid_input(
            "stock item with an empty store_sku",
        ));
    }
    let listing = |name: &str| {
        item.listing
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| {
                AdapterError::invalid_input(format!(
                    "store SKU {}: listing.{name} missing (Lazada needs item_id and sku_id)",
                    item.store_sku
                ))
            })
    };
    Ok(xml::SkuStock {
        item_id: listing("item_id")?,
        sku_id: listing("sku_id")?,
        seller_sku: &item.store_sku,
        quantity: item.quantity,
    })
}
