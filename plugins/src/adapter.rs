//! The adapter interface in plain Rust: what a marketplace adapter does, before the C ABI wraps
//! it. Every call is pure translation: the host owns the clock (it passes `timestamp`), the
//! network (it sends the [`HttpRequest`]s) and the database.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::canonical::{CanonicalOrder, OrderStatus};

/// What an adapter says about itself; the host lists it under `plugins`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// A human name, e.g. `Shopee Open Platform v2`.
    pub name: String,
    /// The marketplace name of the host protocol: `shopee`, `lazada`, `tiktok_shop` or `temu`.
    pub marketplace: String,
    /// The adapter's own version.
    pub version: String,
    /// What the marketplace supports; see the `CAPABILITY_*` constants.
    pub capabilities: Vec<String>,
}

/// The marketplace names of the host protocol, as orders are named after them
/// (`<marketplace>:<order_sn>`) and as [`Manifest::marketplace`] spells them. A host knows these
/// and the marketplace of every adapter it loaded; any other name is refused at its door.
pub const PROTOCOL_MARKETPLACES: &[&str] = &["shopee", "lazada", "tiktok_shop", "temu"];

/// The marketplace lets the seller (here: the supplier) choose the carrier.
pub const CAPABILITY_SELLER_DELIVERY: &str = "seller_delivery";
/// The adapter builds order-list and order-detail requests.
pub const CAPABILITY_ORDER_SYNC: &str = "order_sync";
/// The adapter builds stock-update requests.
pub const CAPABILITY_STOCK_UPDATE: &str = "stock_update";

/// The adapter verifies and reads the marketplace's push notifications (`parse_push`); without
/// it the shop's orders are only pulled.
pub const CAPABILITY_PUSH: &str = "push";

/// A request for the host to send to the shop's `base_url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The API path, joined to the shop's base URL by the host, e.g.
    /// `/api/v2/order/get_order_list`.
    pub path: String,
    /// Query parameters in the order they are sent, the signature included.
    pub query: Vec<(String, String)>,
    /// Headers to send besides the host's own.
    pub headers: Vec<(String, String)>,
    /// The raw body, exactly as signed; `None` for no body.
    pub body: Option<String>,
    /// `application/json`, `application/xml`, …; `None` for no body.
    pub content_type: Option<String>,
}

/// The shop's credentials and the host's clock, given with every request-building call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestContext {
    /// The credentials object of `connect_shop`, in the marketplace's own shape
    /// (docs/marketplaces.md).
    pub credentials: serde_json::Value,
    /// Now, in Unix seconds; adapters convert to milliseconds where the marketplace wants them.
    pub timestamp: i64,
}

/// Which orders to list: a time window in Unix seconds and the page to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    /// Orders updated at or after this time.
    pub time_from: i64,
    /// Orders updated before this time.
    pub time_to: i64,
    /// The marketplace's page token/cursor/offset from the previous page; `None` for the first.
    pub page: Option<String>,
}

/// One page of an order list, as parsed from the marketplace's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListPage {
    /// Order ids whose details the host must still fetch with [`Adapter::order_detail_request`].
    pub order_ids: Vec<String>,
    /// Orders the list answer already carries whole (Temu's list carries its order lines).
    pub orders: Vec<CanonicalOrder>,
    /// The token of the next page, `None` on the last page.
    pub next_page: Option<String>,
}

/// One stock level to publish for a store listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockItem {
    /// The store SKU as mapped by the distributor.
    pub store_sku: String,
    /// The sellable quantity.
    pub quantity: u64,
    /// Marketplace-specific listing ids (`item_id`, `model_id`, `product_id`, `sku_id`,
    /// `location_id`, `warehouse_id`, …) that the marketplace's stock API needs; an adapter names
    /// the ones it needs in its error when they are missing.
    #[serde(default)]
    pub listing: BTreeMap<String, String>,
}

/// A listing whose stock update the marketplace refused, in the marketplace's own words: what
/// [`Adapter::parse_stock_update`] reads out of its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockRefusal {
    /// The refused listing's store SKU: one of the items the request was built for.
    pub store_sku: String,
    /// The marketplace's own error code (Shopee's `error`, Lazada's and TikTok Shop's `code`,
    /// Temu's `errorCode`), as text.
    pub code: String,
    /// The marketplace's own message for it.
    pub message: String,
}

/// A push notification as the host received it, for [`Adapter::parse_push`] (ABI 1.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    /// The shop's credentials object of `connect_shop`, in the marketplace's own shape.
    pub credentials: serde_json::Value,
    /// The callback URL the marketplace posted to, as registered with it (`connect_shop`'s
    /// `push_url`), else the URL the request arrived at. Shopee signs it.
    pub url: String,
    /// The request's headers, names in lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    /// The raw body, exactly as received (never re-serialised: the signature is over it).
    pub body: String,
}

/// What an adapter makes of a push notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum PushVerdict {
    /// The signature verifies: the notice, to store and act on.
    Notice(PushNotice),
    /// The signature is missing or does not verify: nothing may be stored (host code
    /// `unauthenticated`).
    Unauthenticated {
        /// Why, for a person; never the expected signature.
        reason: String,
    },
    /// The marketplace pushes nothing this adapter can verify (Temu): its orders are pulled
    /// (host code `not_found`: there is no push endpoint for it).
    Unsupported {
        /// Why, for a person.
        reason: String,
    },
}

/// A verified push notification, as the host stores and processes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushNotice {
    /// The notice's identity for de-duplication: the marketplace's own notice id where it has
    /// one, else what the notice says (order, status, time). A repeat has the same key.
    pub key: String,
    /// What kind of notice it is, in the marketplace's words (e.g. `order_status`, `code_4`).
    pub kind: String,
    /// The marketplace order ids the notice concerns, to fetch with
    /// [`Adapter::order_detail_request`]; empty for a notice about no order.
    pub order_ids: Vec<String>,
}

/// Why an adapter call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdapterError {
    /// What went wrong, see [`ErrorKind`].
    pub kind: ErrorKind,
    /// A message for a person: what was expected, and where.
    pub message: String,
}

/// The kinds of adapter failure, mapped by the host to stable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The caller's input is wrong: credentials missing a field, an unknown listing, a window
    /// that ends before it starts. Host code: `bad_request`.
    InvalidInput,
    /// The marketplace refused the request (an error field, a bad signature) or answered with
    /// something that does not parse as its documented shape. Host code: `marketplace_error`.
    Marketplace,
}

impl AdapterError {
    /// An [`ErrorKind::InvalidInput`] error.
    pub fn invalid_input(message: impl Into<String>) -> AdapterError {
        AdapterError {
            kind: ErrorKind::InvalidInput,
            message: message.into(),
        }
    }

    /// An [`ErrorKind::Marketplace`] error.
    pub fn marketplace(message: impl Into<String>) -> AdapterError {
        AdapterError {
            kind: ErrorKind::Marketplace,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for AdapterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AdapterError {}

/// A marketplace adapter. Implementations are stateless and pure: no I/O, no clock, no globals.
pub trait Adapter {
    /// What this adapter is and what the marketplace supports.
    fn manifest(&self) -> Manifest;

    /// Splits `[time_from, time_to)` into the windows the marketplace accepts in one listing
    /// (Shopee: at most 15 days). The default is the one window.
    fn list_windows(&self, time_from: i64, time_to: i64) -> Vec<(i64, i64)> {
        vec![(time_from, time_to)]
    }

    /// The signed request for one page of the order list in one window.
    fn order_list_request(
        &self,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> Result<HttpRequest, AdapterError>;

    /// Parses the answer to the [`Adapter::order_list_request`] built for `query`: the query
    /// tells which page this is, for marketplaces whose answer does not repeat it (an offset, a
    /// page number) yet decides whether another page follows.
    fn parse_order_list(&self, query: &ListQuery, body: &str) -> Result<ListPage, AdapterError>;

    /// How many order ids one [`Adapter::order_detail_request`] takes at most.
    fn detail_batch_max(&self) -> usize;

    /// The signed request for the details of up to [`Adapter::detail_batch_max`] orders.
    fn order_detail_request(
        &self,
        ctx: &RequestContext,
        order_ids: &[String],
    ) -> Result<HttpRequest, AdapterError>;

    /// Parses the marketplace's own order-detail answer into canonical orders (the payload of
    /// `import_orders` with `format: native`). Lines of the same store SKU are summed.
    fn parse_orders(&self, shop: &str, body: &str) -> Result<Vec<CanonicalOrder>, AdapterError>;

    /// The canonical status of a native one, `None` for a status the marketplace does not
    /// document.
    fn map_status(&self, native: &str) -> Option<OrderStatus>;

    /// The signed requests that set the given stock levels, batched as the marketplace allows.
    fn stock_update_requests(
        &self,
        ctx: &RequestContext,
        items: &[StockItem],
    ) -> Result<Vec<HttpRequest>, AdapterError>;

    /// Reads the marketplace's answer, whatever its HTTP status, to a request that
    /// [`Adapter::stock_update_requests`] built for `items` (all of them when they came back as
    /// one request): the listings it refused, each with the marketplace's code and message. A
    /// marketplace documents errors inside 2xx answers (Shopee's `error`, Lazada's and TikTok
    /// Shop's non-zero `code`, Temu's `success: false`): a refusal of the whole request is a
    /// refusal of each of its items. An empty list means every item was accepted; an answer that
    /// is not the documented shape is an [`ErrorKind::Marketplace`] error (the host then counts
    /// every item as failed, never as sent).
    fn parse_stock_update(
        &self,
        items: &[StockItem],
        body: &str,
    ) -> Result<Vec<StockRefusal>, AdapterError>;

    /// Verifies a push notification's signature on the raw body with the shop's credentials
    /// (docs/marketplaces.md, "Push notifications") and, when it verifies, reads the notice: its
    /// key, its kind and the orders it names. A bad or missing signature is
    /// [`PushVerdict::Unauthenticated`], never an error; a marketplace without verifiable pushes
    /// answers [`PushVerdict::Unsupported`]. Credentials lacking the signing secret are an
    /// [`ErrorKind::InvalidInput`] error; a verified body that is not the documented shape is one
    /// too. Compare signatures in constant time ([`crate::push::hmac_sha256_hex_matches`]).
    fn parse_push(&self, push: &PushRequest) -> Result<PushVerdict, AdapterError>;
}
