//! A test plugin whose every call panics, the manifest included; the host must refuse it at load
//! and keep running.

use distributary_plugin::{
    Adapter, AdapterError, CanonicalOrder, HttpRequest, ListPage, ListQuery, Manifest, OrderStatus,
    PushRequest, PushVerdict, RequestContext, StockItem, StockRefusal,
};

/// An adapter that panics whatever it is asked.
#[derive(Default)]
pub struct Panicking;

impl Adapter for Panicking {
    fn manifest(&self) -> Manifest {
        panic!("no manifest today")
    }
    fn order_list_request(
        &self,
        _: &RequestContext,
        _: &ListQuery,
    ) -> Result<HttpRequest, AdapterError> {
        panic!("order_list_request")
    }
    fn parse_order_list(&self, _: &ListQuery, _: &str) -> Result<ListPage, AdapterError> {
        panic!("parse_order_list")
    }
    fn detail_batch_max(&self) -> usize {
        panic!("detail_batch_max")
    }
    fn order_detail_request(
        &self,
        _: &RequestContext,
        _: &[String],
    ) -> Result<HttpRequest, AdapterError> {
        panic!("order_detail_request")
    }
    fn parse_orders(&self, _: &str, _: &str) -> Result<Vec<CanonicalOrder>, AdapterError> {
        panic!("parse_orders")
    }
    fn map_status(&self, _: &str) -> Option<OrderStatus> {
        panic!("map_status")
    }
    fn stock_update_requests(
        &self,
        _: &RequestContext,
        _: &[StockItem],
    ) -> Result<Vec<HttpRequest>, AdapterError> {
        panic!("stock_update_requests")
    }

    fn parse_stock_update(
        &self,
        _: &[StockItem],
        _: &str,
    ) -> Result<Vec<StockRefusal>, AdapterError> {
        panic!("parse_stock_update")
    }

    fn parse_push(&self, _: &PushRequest) -> Result<PushVerdict, AdapterError> {
        panic!("parse_push")
    }
}

distributary_plugin::export_adapter!(Panicking);
