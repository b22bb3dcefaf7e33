//! The network phase of `sync_orders` and `sync_stock`: what was read before it ([`Plan`]),
//! the exchanges with the marketplace through its adapter and [`Client`] (the host's transport or
//! the built-in client), and what it hands to the write phase ([`Fetched`]). Nothing here touches
//! the store.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use distributary_plugin::{CanonicalOrder, ListQuery, RequestContext, StockItem, StockRefusal};
use serde_json::Value;

use super::http::{Client, SendError};
use crate::error::{Code, Error};
use crate::plugin_host::{PluginAdapter, PluginCallError};

/// How many time windows one order sync may list (at 15 days a window, the shortest a marketplace allows: about 8 years).
pub const WINDOWS_MAX: usize = 200;
/// How many list pages one window may take; a window with more is refused (sync up to an
/// earlier `at` first) rather than imported half-way.
pub const PAGES_PER_WINDOW_MAX: usize = 100;
/// The most orders one sync fetches: the most one import takes.
pub const SYNC_ORDERS_MAX: usize = crate::orders::IMPORT_ORDERS_MAX;
/// The most order ids one `sync_orders {order_ids}` names.
pub const ORDER_IDS_MAX: usize = 100;
/// The most listings one stock sync sends; the rest wait for the next `sync_stock`.
pub const STOCK_ITEMS_PER_SYNC_MAX: usize = 2_000;
/// The most failures a `sync_stock` answer lists one by one (it counts them all).
pub const STOCK_FAILURES_LISTED_MAX: usize = 100;
/// The shortest credential text that is masked in error messages; shorter values (`"1"`, a
/// region code) would mask ordinary words.
const SECRET_CHARS_MIN: usize = 4;

/// A shop as the network phase needs it: its adapter, where it answers, and its credentials.
#[derive(Clone)]
pub(crate) struct Target {
    pub adapter: PluginAdapter,
    pub shop: String,
    pub base_url: String,
    pub credentials: Value,
}

impl Target {
    /// The adapter's request context: the credentials, and now by the machine's clock, which
    /// the marketplace checks its signatures against (the command's logical time may be any
    /// time; it bounds the listing window, not the signature).
    fn request_ctx(&self) -> RequestContext {
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        RequestContext {
            credentials: self.credentials.clone(),
            timestamp,
        }
    }

    /// Every credential text long enough to mask (see [`redact`]).
    fn secrets(&self) -> Vec<String> {
        secrets_of(&self.credentials)
    }
}

/// Every text of a credentials object long enough to mask (see [`redact`]), longest first.
pub(crate) fn secrets_of(credentials: &Value) -> Vec<String> {
    let mut secrets = Vec::new();
    collect_strings(credentials, &mut secrets);
    secrets.retain(|s| s.chars().count() >= SECRET_CHARS_MIN);
    // Longest first, so a secret containing another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets
}

/// What a sync command will do on the network, read in the read transaction before it.
pub(crate) enum Plan {
    /// List and fetch the orders updated in `[from, to)` (Unix seconds).
    Orders { target: Target, from: i64, to: i64 },
    /// Fetch the details of these order ids (a push named them).
    OrderIds { target: Target, ids: Vec<String> },
    /// Publish these stock levels (the ones that differ from what was last sent).
    Stock {
        target: Target,
        items: Vec<StockItem>,
        unchanged: usize,
        skipped: usize,
        pending: usize,
    },
}

/// One listing whose update failed, and why: in the marketplace's own words (`marketplace_code`,
/// `marketplace_message`) when its answer refused the listing.
#[derive(Debug, Clone)]
pub(crate) struct StockFailure {
    pub store_sku: String,
    pub code: Code,
    pub message: String,
    pub marketplace_code: Option<String>,
    pub marketplace_message: Option<String>,
}

/// What the network phase of a sync command brought back, handed to its write phase inside the
/// command's transaction. Opaque outside the engine.
pub struct Fetched(pub(crate) Result<Fetch, Error>);

/// The outcome of a network phase that ran.
pub(crate) enum Fetch {
    /// Every order the marketplace listed in the window, details fetched, one per `order_sn`.
    Orders(Vec<CanonicalOrder>),
    /// The stock levels the marketplace accepted, and the listings whose update failed.
    Stock {
        sent: Vec<(String, u64)>,
        failures: Vec<StockFailure>,
        unchanged: usize,
        skipped: usize,
        pending: usize,
        requests: usize,
    },
}

impl Fetched {
    /// A network phase that could not start (the plan failed): the write phase answers `error`.
    pub(crate) fn failed(error: Error) -> Fetched {
        Fetched(Err(error))
    }
}

/// Runs a plan's exchanges with the marketplace. Holds no lock and no transaction.
pub(crate) fn fetch(plan: Plan) -> Fetched {
    match plan {
        Plan::Orders { target, from, to } => {
            let secrets = target.secrets();
            Fetched(
                fetch_orders(&target, from, to)
                    .map(Fetch::Orders)
                    .map_err(|error| redact(error, &secrets)),
            )
        }
        Plan::OrderIds { target, ids } => {
            let secrets = target.secrets();
            let fetched = Client::new(&target.base_url)
                .and_then(|client| fetch_details(&target, &client, &ids, Vec::new()));
            Fetched(
                fetched
                    .map(|orders| Fetch::Orders(last_per_order_sn(orders)))
                    .map_err(|error| redact(error, &secrets)),
            )
        }
        Plan::Stock {
            target,
            items,
            unchanged,
            skipped,
            pending,
        } => match Client::new(&target.base_url) {
            Ok(client) => Fetched(Ok(send_stock(
                &target, &client, &items, unchanged, skipped, pending,
            ))),
            Err(error) => Fetched::failed(error),
        },
    }
}

/// Lists every window, pages through each, fetches the details of the listed ids in batches,
/// and keeps one order per `order_sn` (the last fetched). Any failure fails the whole fetch.
fn fetch_orders(target: &Target, from: i64, to: i64) -> Result<Vec<CanonicalOrder>, Error> {
    let adapter = &target.adapter;
    let client = Client::new(&target.base_url)?;
    let ctx = target.request_ctx();
    let windows = adapter.list_windows(from, to)?;
    if windows.len() > WINDOWS_MAX {
        return Err(Error::bad_request(format!(
            "the window to sync needs {} listings, more than {WINDOWS_MAX}: sync from a later \
             `since`",
            windows.len()
        )));
    }
    let mut ids: Vec<String> = Vec::new();
    let mut seen_ids = BTreeSet::new();
    let mut orders: Vec<CanonicalOrder> = Vec::new();
    for (time_from, time_to) in windows {
        let mut page: Option<String> = None;
        let mut pages = 0;
        loop {
            if pages == PAGES_PER_WINDOW_MAX {
                return Err(Error::bad_request(format!(
                    "the marketplace lists more than {PAGES_PER_WINDOW_MAX} pages of orders in \
                     one window: sync a shorter span (an earlier `at`) first"
                )));
            }
            pages += 1;
            let query = ListQuery {
                time_from,
                time_to,
                page: page.clone(),
            };
            let request = adapter.order_list_request(&ctx, &query)?;
            let listed = exchange(&client, &request, |body| {
                adapter.parse_order_list(&query, body)
            })?;
            for id in listed.order_ids {
                if seen_ids.insert(id.clone()) {
                    ids.push(id);
                }
            }
            orders.extend(listed.orders.into_iter().map(|mut order| {
                if order.shop.is_empty() {
                    order.shop.clone_from(&target.shop);
                }
                order
            }));
            if ids.len() + orders.len() > SYNC_ORDERS_MAX {
                return Err(Error::bad_request(format!(
                    "more than {SYNC_ORDERS_MAX} orders to sync: sync a shorter span (an earlier \
                     `at`) first"
                )));
            }
            match listed.next_page {
                None => break,
                Some(next) if page.as_deref() == Some(next.as_str()) => {
                    return Err(Error::new(
                        Code::MarketplaceError,
                        format!("the order list repeats its page {next:?} as the next one"),
                    ));
                }
                Some(next) => page = Some(next),
            }
        }
    }
    let orders = fetch_details(target, &client, &ids, orders)?;
    Ok(last_per_order_sn(orders))
}

/// Fetches the details of `ids` in the adapter's batches, after the `orders` already whole.
fn fetch_details(
    target: &Target,
    client: &Client,
    ids: &[String],
    mut orders: Vec<CanonicalOrder>,
) -> Result<Vec<CanonicalOrder>, Error> {
    if ids.is_empty() {
        return Ok(orders);
    }
    let adapter = &target.adapter;
    let ctx = target.request_ctx();
    let batch = adapter.detail_batch_max()?;
    for chunk in ids.chunks(batch) {
        let request = adapter.order_detail_request(&ctx, chunk)?;
        let detailed = exchange(client, &request, |body| {
            adapter.parse_orders(&target.shop, body)
        })?;
        orders.extend(detailed);
    }
    Ok(orders)
}

/// One order per `order_sn`, at the place of its first appearance, holding its last version.
fn last_per_order_sn(orders: Vec<CanonicalOrder>) -> Vec<CanonicalOrder> {
    let mut position: HashMap<String, usize> = HashMap::new();
    let mut unique: Vec<CanonicalOrder> = Vec::new();
    for order in orders {
        match position.get(&order.order_sn) {
            Some(&index) => {
                if let Some(slot) = unique.get_mut(index) {
                    *slot = order;
                }
            }
            None => {
                position.insert(order.order_sn.clone(), unique.len());
                unique.push(order);
            }
        }
    }
    unique
}

/// Sends a request and parses its answer with the adapter. A non-2xx answer is a marketplace
/// error in the adapter's words when its parser explains it, else by its status; an answer the
/// parser refuses is the adapter's error (a refused signature, a garbled body).
fn exchange<T>(
    client: &Client,
    request: &distributary_plugin::HttpRequest,
    parse: impl FnOnce(&str) -> Result<T, PluginCallError>,
) -> Result<T, Error> {
    match client.send(request) {
        Ok(body) => Ok(parse(&body)?),
        Err(SendError::Status { status, body }) => {
            let why = match parse(&body) {
                Err(error) => Error::from(error).message().to_owned(),
                Ok(_) => "no error in the body".to_owned(),
            };
            Err(Error::new(
                Code::MarketplaceError,
                format!("{} {}: HTTP {status}: {why}", request.method, request.path),
            )
            .with("status", status))
        }
        Err(SendError::Transport(message)) => {
            Err(Error::new(Code::MarketplaceError, message).with("reason", "unreachable"))
        }
    }
}

/// Builds the update requests in batches whose items are known, sends them, has the adapter read
/// every answer, and keeps the levels of the items no request failed for nor the marketplace
/// refused. A 2xx answer is not an acceptance by itself: a marketplace documents refusals inside
/// one, and only its adapter can read them.
fn send_stock(
    target: &Target,
    client: &Client,
    items: &[StockItem],
    unchanged: usize,
    skipped: usize,
    pending: usize,
) -> Fetch {
    let secrets = target.secrets();
    let ctx = target.request_ctx();
    let mut batches = Vec::new();
    batch_items(&target.adapter, &ctx, items, &mut batches);
    let (mut sent, mut failures, mut requests) = (Vec::new(), Vec::new(), 0);
    for batch in batches {
        let items: Vec<StockItem> = batch.items.iter().map(|&item| item.clone()).collect();
        let mut refused: BTreeMap<String, StockRefusal> = BTreeMap::new();
        let outcome = batch.requests.and_then(|built| {
            for request in &built {
                requests += 1;
                let answer = send_one(&target.adapter, client, request, &items)?;
                for refusal in answer {
                    refused.entry(refusal.store_sku.clone()).or_insert(refusal);
                }
            }
            Ok(())
        });
        for item in batch.items {
            let failure = match (&outcome, refused.remove(&item.store_sku)) {
                (Err(error), _) => {
                    let error = redact(error.clone(), &secrets);
                    Some(StockFailure {
                        store_sku: item.store_sku.clone(),
                        code: error.code(),
                        message: error.message().to_owned(),
                        marketplace_code: None,
                        marketplace_message: None,
                    })
                }
                (Ok(()), Some(refusal)) => {
                    let (code, said) = (
                        mask(&refusal.code, &secrets),
                        mask(&refusal.message, &secrets),
                    );
                    Some(StockFailure {
                        store_sku: item.store_sku.clone(),
                        code: Code::MarketplaceError,
                        message: format!("the marketplace refused the level: {code}: {said}"),
                        marketplace_code: Some(code),
                        marketplace_message: Some(said),
                    })
                }
                (Ok(()), None) => None,
            };
            match failure {
                Some(failure) => failures.push(failure),
                None => sent.push((item.store_sku.clone(), item.quantity)),
            }
        }
    }
    Fetch::Stock {
        sent,
        failures,
        unchanged,
        skipped,
        pending,
        requests,
    }
}

/// Sends one stock-update request and has the adapter read the answer: the listings the
/// marketplace refused, or an error that fails every item of the request (no answer, an answer
/// the adapter cannot read, a non-2xx answer the marketplace does not explain per listing, a
/// refusal naming a listing the request does not carry).
fn send_one(
    adapter: &PluginAdapter,
    client: &Client,
    request: &distributary_plugin::HttpRequest,
    items: &[StockItem],
) -> Result<Vec<StockRefusal>, Error> {
    let (status, body) = match client.send(request) {
        Ok(body) => (None, body),
        Err(SendError::Status { status, body }) => (Some(status), body),
        Err(SendError::Transport(message)) => {
            return Err(Error::new(Code::MarketplaceError, message))
        }
    };
    let call = format!("{} {}", request.method, request.path);
    let refusals = match (adapter.parse_stock_update(items, &body), status) {
        (Ok(refusals), None) => refusals,
        (Ok(refusals), Some(_)) if !refusals.is_empty() => refusals,
        (Ok(_), Some(status)) => {
            return Err(Error::new(
                Code::MarketplaceError,
                format!("{call}: HTTP {status}: no error in the body"),
            )
            .with("status", status))
        }
        (Err(error), status) => {
            let error = Error::from(error);
            let status = status.map_or_else(String::new, |s| format!("HTTP {s}: "));
            return Err(Error::new(
                error.code(),
                format!("{call}: {status}{}", error.message()),
            ));
        }
    };
    if let Some(stray) = refusals
        .iter()
        .find(|r| !items.iter().any(|item| item.store_sku == r.store_sku))
    {
        return Err(Error::new(
            Code::PluginError,
            format!(
                "the adapter read a refusal of store SKU {:?}, which the request does not carry",
                stray.store_sku
            ),
        ));
    }
    Ok(refusals)
}

/// Items and the requests the adapter built for exactly them.
struct Batch<'i> {
    items: Vec<&'i StockItem>,
    requests: Result<Vec<distributary_plugin::HttpRequest>, Error>,
}

/// Splits `items` into batches whose requests are known to cover exactly them: the adapter
/// batches as its marketplace allows but does not say which request carries which item, so a
/// slice whose items come back as one request is one batch, and any other slice is halved
/// (down to single items, whose requests — or error — are theirs alone). Adapter calls are
/// in-process and cheap; the halving keeps the HTTP requests close to the adapter's batching.
fn batch_items<'i>(
    adapter: &PluginAdapter,
    ctx: &RequestContext,
    items: &'i [StockItem],
    out: &mut Vec<Batch<'i>>,
) {
    if items.is_empty() {
        return;
    }
    let built = adapter.stock_update_requests(ctx, items);
    let single = items.len() == 1;
    match built {
        Ok(requests) if requests.len() == 1 || (single && !requests.is_empty()) => {
            out.push(Batch {
                items: items.iter().collect(),
                requests: Ok(requests),
            })
        }
        Ok(_) if single => out.push(Batch {
            items: items.iter().collect(),
            requests: Err(Error::new(
                Code::PluginError,
                "the adapter built no stock-update request for this listing",
            )),
        }),
        Err(error) if single => out.push(Batch {
            items: items.iter().collect(),
            requests: Err(error.into()),
        }),
        _ => {
            let (left, right) = items.split_at(items.len() / 2);
            batch_items(adapter, ctx, left, out);
            batch_items(adapter, ctx, right, out);
        }
    }
}

/// Every string inside a JSON value.
fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Array(values) => values.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        Value::Number(number) => out.push(number.to_string()),
        Value::Null | Value::Bool(_) => {}
    }
}

/// `text` with every credential text masked as `***`.
fn mask(text: &str, secrets: &[String]) -> String {
    let mut masked = text.to_owned();
    for secret in secrets {
        masked = masked.replace(secret.as_str(), "***");
    }
    masked
}

/// The error with every credential text masked as `***`: an adapter or a marketplace may echo
/// a request (its query, its token) into the message that ends up in the answer.
pub(crate) fn redact(error: Error, secrets: &[String]) -> Error {
    if !secrets.iter().any(|s| error.message().contains(s.as_str())) {
        return error;
    }
    let mut redacted = Error::new(error.code(), mask(error.message(), secrets));
    if let Value::Object(details) = error.to_json() {
        let details: BTreeMap<_, _> = details
            .into_iter()
            .filter(|(key, _)| key != "code" && key != "message")
            .collect();
        for (key, value) in details {
            redacted = redacted.with(&key, value);
        }
    }
    redacted
}
