//! The fixture adapter shared by the fixture plugins: a made-up marketplace `fixture` whose
//! "API" is plain JSON, small enough to read whole, and one deliberate panic.

use distributary_plugin::{
    host_log, Adapter, AdapterError, CanonicalOrder, HttpRequest, ListPage, ListQuery, LogLevel,
    Manifest, OrderLine, OrderStatus, PushRequest, PushVerdict, RequestContext, StockItem,
    StockRefusal,
};
use serde::Deserialize;

/// The order-list body that makes [`Fixture::parse_order_list`] panic, to test the boundary.
pub const PANIC_BODY: &str = "panic";

/// At most this many order ids in one detail request.
const DETAIL_BATCH_MAX: usize = 2;

/// The fixture marketplace's adapter.
#[derive(Debug, Default)]
pub struct Fixture;

/// The fixture's order-list answer.
#[derive(Deserialize)]
struct ListAnswer {
    order_ids: Vec<String>,
    next: Option<String>,
}

/// One order of the fixture's order-detail answer.
#[derive(Deserialize)]
struct NativeOrder {
    id: String,
    status: String,
    sku: String,
    qty: u32,
}

fn api_key(ctx: &RequestContext) -> Result<String, AdapterError> {
    ctx.credentials
        .get("api_key")
        .and_then(|key| key.as_str())
        .map(str::to_owned)
        .ok_or_else(|| AdapterError::invalid_input("credentials: `api_key` is missing"))
}

impl Adapter for Fixture {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "Fixture marketplace".to_owned(),
            marketplace: "fixture".to_owned(),
            version: "0.1.0".to_owned(),
            capabilities: vec!["order_sync".to_owned(), "stock_update".to_owned()],
        }
    }

    fn list_windows(&self, time_from: i64, time_to: i64) -> Vec<(i64, i64)> {
        // Windows of 100 seconds, so a test sees the split cross the boundary.
        (time_from..time_to)
            .step_by(100)
            .map(|start| (start, (start + 100).min(time_to)))
            .collect()
    }

    fn order_list_request(
        &self,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> Result<HttpRequest, AdapterError> {
        if query.time_to < query.time_from {
            return Err(AdapterError::invalid_input(
                "the window ends before it starts",
            ));
        }
        let mut params = vec![
            ("api_key".to_owned(), api_key(ctx)?),
            ("timestamp".to_owned(), ctx.timestamp.to_string()),
            ("from".to_owned(), query.time_from.to_string()),
            ("to".to_owned(), query.time_to.to_string()),
        ];
        if let Some(page) = &query.page {
            params.push(("page".to_owned(), page.clone()));
        }
        Ok(HttpRequest {
            method: "GET".to_owned(),
            path: "/orders".to_owned(),
            query: params,
            headers: vec![],
            body: None,
            content_type: None,
        })
    }

    fn parse_order_list(&self, _query: &ListQuery, body: &str) -> Result<ListPage, AdapterError> {
        if body == PANIC_BODY {
            panic!("the fixture was asked to panic");
        }
        let answer: ListAnswer = serde_json::from_str(body)
            .map_err(|error| AdapterError::marketplace(format!("order list: {error}")))?;
        Ok(ListPage {
            order_ids: answer.order_ids,
            orders: vec![],
            next_page: answer.next,
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
        if order_ids.len() > DETAIL_BATCH_MAX {
            return Err(AdapterError::invalid_input(format!(
                "at most {DETAIL_BATCH_MAX} order ids, got {}",
                order_ids.len()
            )));
        }
        Ok(HttpRequest {
            method: "GET".to_owned(),
            path: "/orders/detail".to_owned(),
            query: vec![
                ("api_key".to_owned(), api_key(ctx)?),
                ("ids".to_owned(), order_ids.join(",")),
            ],
            headers: vec![],
            body: None,
            content_type: None,
        })
    }

    fn parse_orders(&self, shop: &str, body: &str) -> Result<Vec<CanonicalOrder>, AdapterError> {
        host_log(LogLevel::Info, &format!("parsing orders of shop {shop}"));
        let natives: Vec<NativeOrder> = serde_json::from_str(body)
            .map_err(|error| AdapterError::marketplace(format!("order detail: {error}")))?;
        natives
            .into_iter()
            .map(|native| {
                let status = self.map_status(&native.status).ok_or_else(|| {
                    AdapterError::marketplace(format!("unknown status `{}`", native.status))
                })?;
                Ok(CanonicalOrder {
                    marketplace: "fixture".to_owned(),
                    shop: shop.to_owned(),
                    order_sn: native.id,
                    status,
                    currency: "USD".to_owned(),
                    address: Default::default(),
                    lines: vec![OrderLine {
                        store_sku: native.sku,
                        qty: native.qty,
                        unit_price: String::new(),
                    }],
                })
            })
            .collect()
    }

    fn map_status(&self, native: &str) -> Option<OrderStatus> {
        match native {
            "NEW" => Some(OrderStatus::ReadyToShip),
            "SENT" => Some(OrderStatus::Shipped),
            "VOID" => Some(OrderStatus::Cancelled),
            _ => None,
        }
    }

    fn stock_update_requests(
        &self,
        ctx: &RequestContext,
        items: &[StockItem],
    ) -> Result<Vec<HttpRequest>, AdapterError> {
        let key = api_key(ctx)?;
        Ok(items
            .iter()
            .map(|item| HttpRequest {
                method: "POST".to_owned(),
                path: "/stock".to_owned(),
                query: vec![("api_key".to_owned(), key.clone())],
                headers: vec![],
                body: Some(format!(
                    r#"{{"sku":"{}","quantity":{}}}"#,
                    item.store_sku, item.quantity
                )),
                content_type: Some("application/json".to_owned()),
            })
            .collect())
    }

    /// The fixture's stock answer: `{}` accepts; `{"error": {"code", "message"}}` refuses every
    /// SKU of the call.
    fn parse_stock_update(
        &self,
        items: &[StockItem],
        body: &str,
    ) -> Result<Vec<StockRefusal>, AdapterError> {
        let answer: StockAnswer = serde_json::from_str(body)
            .map_err(|e| AdapterError::marketplace(format!("stock answer: {e}")))?;
        Ok(answer
            .error
            .map(|error| {
                items
                    .iter()
                    .map(|item| StockRefusal {
                        store_sku: item.store_sku.clone(),
                        code: error.code.clone(),
                        message: error.message.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The fixture pushes nothing.
    fn parse_push(&self, _: &PushRequest) -> Result<PushVerdict, AdapterError> {
        Ok(PushVerdict::Unsupported {
            reason: "the fixture marketplace pushes nothing".to_owned(),
        })
    }
}

/// The fixture's stock-update answer.
#[derive(Deserialize)]
struct StockAnswer {
    error: Option<StockError>,
}

/// A refused stock update.
#[derive(Deserialize)]
struct StockError {
    code: String,
    message: String,
}
