//! The Temu Partner API adapter: signs router calls, lists orders (the list carries them whole),
//! parses `bg.order.list.v2.get` answers into canonical orders and builds stock updates. Pure
//! translation, no I/O, no clock (docs/marketplaces.md, "Temu Partner API"). Temu offers no seller
//! delivery, and no push notification it documents how to verify: its capabilities lack `push`,
//! and its orders are pulled only.
//!
//! Credentials (`connect_shop`): `{app_key, app_secret, access_token}`. Status mapping: see
//! [`status`].
//!
//! **Unverified** (not in docs/marketplaces.md; taken from a public transcription of Temu's partner
//! documentation, each kept in one constant): the list's paging and time parameters
//! ([`PAGE_SIZE`], [`UPDATE_AT_START_PARAM`], [`UPDATE_AT_END_PARAM`]), the shape of the
//! `bg.order.detail.v2.get` answer, and the whole stock update ([`STOCK_UPDATE_TYPE`], its
//! `goodsId` + `skuStockTargetList [{skuId, stockTarget}]` and [`STOCK_SKUS_MAX`]).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod orders;
mod requests;
pub mod signing;
pub mod status;
pub mod stock;

use distributary_plugin::adapter::{CAPABILITY_ORDER_SYNC, CAPABILITY_STOCK_UPDATE};
use distributary_plugin::{
    Adapter, AdapterError, CanonicalOrder, HttpRequest, ListPage, ListQuery, Manifest, OrderStatus,
    PushRequest, PushVerdict, RequestContext, StockItem, StockRefusal,
};

pub use distributary_plugin::payload::BODY_BYTES_MAX;
pub use orders::{ERROR_CODE_BAD_SIGNATURE, ERROR_CODE_SUCCESS};

/// The marketplace name in the host protocol.
pub const MARKETPLACE: &str = "temu";
/// The one path every Temu call is posted to.
pub const ROUTER_PATH: &str = "/openapi/router";
/// The order-list API.
pub const ORDER_LIST_TYPE: &str = "bg.order.list.v2.get";
/// The order-detail API (one parent order a call).
pub const ORDER_DETAIL_TYPE: &str = "bg.order.detail.v2.get";
/// Parent orders per list page (`pageSize`). *Unverified*: the transcription gives 100 as the
/// maximum.
pub const PAGE_SIZE: u32 = 100;
/// The highest page number the adapter asks for (`pageNumber`): a bound on one listing, 100 000
/// orders at [`PAGE_SIZE`].
pub const PAGE_NUMBER_MAX: u32 = 1_000;
/// The list parameter for the start of the update-time range, in seconds. *Unverified*.
pub const UPDATE_AT_START_PARAM: &str = "updateAtStart";
/// The list parameter for the end of the update-time range, in seconds, inclusive.
/// *Unverified*.
pub const UPDATE_AT_END_PARAM: &str = "updateAtEnd";
/// The stock-update API: absolute targets per SKU of one goods. *Unverified*, with its
/// parameters `goodsId` and `skuStockTargetList [{skuId, stockTarget}]`.
pub const STOCK_UPDATE_TYPE: &str = "bg.local.goods.stock.edit";
/// SKUs per stock-update call. *Unverified*: no limit is documented to us; 100 is Temu's
/// usual list bound.
pub const STOCK_SKUS_MAX: usize = 100;

/// The Temu adapter; stateless.
#[derive(Debug, Default, Clone, Copy)]
pub struct TemuAdapter;

impl TemuAdapter {
    /// Parses one page of `bg.order.list.v2.get` fetched with `query` (its page number decides
    /// whether another page follows); [`Adapter::parse_order_list`] is this method.
    pub fn parse_order_list_for(
        &self,
        query: &ListQuery,
        body: &str,
    ) -> Result<ListPage, AdapterError> {
        orders::parse_order_list_page(requests::page_number(query)?, body)
    }
}

impl Adapter for TemuAdapter {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "Temu Partner API".to_owned(),
            marketplace: MARKETPLACE.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            capabilities: vec![
                CAPABILITY_ORDER_SYNC.to_owned(),
                CAPABILITY_STOCK_UPDATE.to_owned(),
            ],
        }
    }

    fn order_list_request(
        &self,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> Result<HttpRequest, AdapterError> {
        requests::order_list_request(ctx, query)
    }

    /// The orders of the page, which the list carries whole; see
    /// [`TemuAdapter::parse_order_list_for`].
    fn parse_order_list(&self, query: &ListQuery, body: &str) -> Result<ListPage, AdapterError> {
        self.parse_order_list_for(query, body)
    }

    fn detail_batch_max(&self) -> usize {
        1
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

    /// Temu documents order events but not how they are signed (docs/marketplaces.md, "Push
    /// notifications"): nothing it pushes can be authenticated, so its orders are pulled only.
    fn parse_push(&self, _push: &PushRequest) -> Result<PushVerdict, AdapterError> {
        Ok(PushVerdict::Unsupported {
            reason: "Temu's push notifications are not verifiable (their signing is not \
                     documented): its orders are pulled"
                .to_owned(),
        })
    }
}

distributary_plugin::export_adapter!(TemuAdapter);
