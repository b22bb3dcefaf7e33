//! The Shopee Open Platform v2 adapter: signs shop API calls, lists and fetches orders, parses
//! `get_order_detail` answers into canonical orders and builds stock updates. Pure translation,
//! no I/O, no clock (docs/marketplaces.md, "Shopee Open Platform v2").
//!
//! Credentials (`connect_shop`): `{partner_id, partner_key, shop_id, access_token}`.
//! Status mapping: see [`status`].
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod orders;
pub mod push;
mod requests;
pub mod signing;
pub mod status;
pub mod stock;

pub use distributary_plugin::payload::BODY_BYTES_MAX;

use distributary_plugin::adapter::{
    CAPABILITY_ORDER_SYNC, CAPABILITY_PUSH, CAPABILITY_SELLER_DELIVERY, CAPABILITY_STOCK_UPDATE,
};
use distributary_plugin::{
    Adapter, AdapterError, CanonicalOrder, HttpRequest, ListPage, ListQuery, Manifest, OrderStatus,
    PushRequest, PushVerdict, RequestContext, StockItem, StockRefusal,
};

/// The marketplace name in the host protocol.
pub const MARKETPLACE: &str = "shopee";
/// `get_order_list`'s path.
pub const ORDER_LIST_PATH: &str = "/api/v2/order/get_order_list";
/// `get_order_detail`'s path.
pub const ORDER_DETAIL_PATH: &str = "/api/v2/order/get_order_detail";
/// `update_stock`'s path.
pub const UPDATE_STOCK_PATH: &str = "/api/v2/product/update_stock";
/// Orders per `get_order_list` page: Shopee's maximum (1..100).
pub const PAGE_SIZE: u32 = 100;
/// The widest `time_from`..`time_to` window `get_order_list` accepts: 15 days, in seconds.
pub const WINDOW_SECONDS_MAX: i64 = 15 * 24 * 60 * 60;
/// The most windows [`Adapter::list_windows`] makes (about 41 years of 15-day windows); a wider
/// range ends in one window that the order-list request refuses.
pub const LIST_WINDOWS_MAX: usize = 1_000;
/// Order ids per `get_order_detail` call: Shopee's maximum (1..50).
pub const DETAIL_BATCH_MAX: usize = 50;
/// The optional `get_order_detail` fields the canonical order needs.
pub const DETAIL_OPTIONAL_FIELDS: &str = "item_list,recipient_address";
/// Models per `update_stock` call: Shopee's maximum (1..50).
pub const STOCK_MODELS_MAX: usize = 50;

/// The Shopee adapter; stateless.
#[derive(Debug, Default, Clone, Copy)]
pub struct ShopeeAdapter;

impl Adapter for ShopeeAdapter {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "Shopee Open Platform v2".to_owned(),
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

    fn list_windows(&self, time_from: i64, time_to: i64) -> Vec<(i64, i64)> {
        requests::list_windows(time_from, time_to, LIST_WINDOWS_MAX)
    }

    fn order_list_request(
        &self,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> Result<HttpRequest, AdapterError> {
        requests::order_list_request(ctx, query)
    }

    fn parse_order_list(&self, _query: &ListQuery, body: &str) -> Result<ListPage, AdapterError> {
        orders::parse_order_list(body)
    }

    fn detail_batch_max(&self) -> usize {
        DETAIL_BATCH_MAX
    }

    fn order_detail_request(
        &self,
        ctx: &RequestContext,
        order_ids: &[String],
    ) -> Result<HttpRequest, AdapterError> {
        requests::order_detail_request(ctx, order_ids)
    }

    fn parse_orders(&self, shop: &str, body: &str) -> Result<Vec<CanonicalOrder>, AdapterError> {
        orders::parse_orders(shop, body)
    }

    fn map_status(&self, native: &str) -> Option<OrderStatus> {
        status::map_status(native)
    }

    fn stock_update_requests(
        &self,
        ctx: &RequestContext,
        items: &[StockItem],
    ) -> Result<Vec<HttpRequest>, AdapterError> {
        requests::stock_update_requests(ctx, items)
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

distributary_plugin::export_adapter!(ShopeeAdapter);
