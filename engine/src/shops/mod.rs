//! Marketplace shops (docs/marketplaces.md#how-the-engine-uses-an-adapter, docs/protocol.md):
//! connecting a shop, pulling its orders through its adapter and the host's HTTP client, and
//! publishing stock levels to its listings. Credentials are stored but never answered nor logged.
//!
//! # Sync commands run in three phases
//! Every command runs in one SQLite write transaction, and a write transaction holds the store's
//! write lock (and the engine's store mutex) until it commits. Network calls can take seconds to
//! minutes (timeouts, retries, many pages), so `sync_orders` and `sync_stock` never talk to a
//! marketplace inside one. `Engine::execute` runs them as:
//! 1. **plan** ([`plan`]), in a *read* transaction: authorise the actor, read the shop, its
//!    credentials and sync window, or compute the stock levels that differ from what was last
//!    sent; the store mutex is released when it ends;
//! 2. **network** ([`network::fetch`]), holding nothing: every HTTP exchange through the adapter
//!    (all of it for orders: nothing is imported until every page and detail has been fetched
//!    and parsed, so a refused signature or a garbled answer imports nothing);
//! 3. **write**, the command proper in its normal write transaction ([`sync_orders`],
//!    [`sync_stock`]): authorise again, check the shop is still connected, import the fetched
//!    orders idempotently and move `synced_to` forward (never back), or record the levels the
//!    marketplace accepted. A failure of phase 1 or 2 is answered by phase 3, so idempotency keys
//!    remember it like any other failure; a key already answered skips phases 1 and 2.
//!
//! Between phases another command may run; that is safe because the import is idempotent by
//! order name, `synced_to` only moves forward, and a stock level recorded is one the marketplace
//! accepted.

mod answers;
mod http;
mod network;
mod push;

use crate::contract::product;
use std::collections::BTreeMap;

use distributary_plugin::{StockItem, PROTOCOL_MARKETPLACES};

pub use answers::{
    OrdersSynced, PluginRow, Plugins, RefusedRow, ShopConnected, ShopRow, Shops, StockFailureRow,
    StockSynced,
};
pub use http::{
    set_transport, SendError, Transport, TransportAlreadySet, ATTEMPTS_MAX, BACKOFF_FIRST,
    BACKOFF_MAX, CONNECT_TIMEOUT, REQUEST_TIMEOUT, RESPONSE_BYTES_MAX,
};
pub(crate) use network::fetch;
use network::{Fetch, Plan, Target};
pub use network::{
    Fetched, ORDER_IDS_MAX, PAGES_PER_WINDOW_MAX, STOCK_FAILURES_LISTED_MAX,
    STOCK_ITEMS_PER_SYNC_MAX, SYNC_ORDERS_MAX, WINDOWS_MAX,
};
pub use push::{
    NoticeRef, PullReport, PushDelivery, PushReceived, NOTICES_PER_PULL_MAX, NOTICE_ATTEMPTS_MAX,
    NOTICE_KEY_CHARS_MAX, PULL_SHOPS_MAX, PUSH_HEADERS_MAX,
};

use crate::{
    command::{check_name, check_text, Command, ConnectShop, NoArgs, ShopArgs, SyncOrders},
    error::{Code, Error},
    flow::Ctx,
    model::time::Instant,
    store::{ShopConnection, SHOP_STORE_SKUS_MAX},
};

/// How far back the first order sync of a shop reaches, in days.
pub const FIRST_SYNC_DAYS: i64 = 15;

/// The longest `base_url` accepted.
pub const BASE_URL_CHARS_MAX: usize = 2_000;

/// Checks a marketplace name at the door (docs/protocol.md#marketplace-names): one of the
/// protocol's ([`PROTOCOL_MARKETPLACES`]) or the marketplace of a loaded adapter; anything else
/// (a capitalised or a made-up name) is `bad_request` naming the field.
pub(crate) fn check_marketplace(ctx: &Ctx<'_, '_>, marketplace: &str) -> Result<(), Error> {
    check_name("marketplace", marketplace)?;
    if PROTOCOL_MARKETPLACES.contains(&marketplace) || ctx.plugins.adapter(marketplace).is_some() {
        return Ok(());
    }
    let mut known: Vec<&str> = PROTOCOL_MARKETPLACES.to_vec();
    for plugin in ctx.plugins.plugins() {
        let name = plugin.manifest().marketplace.as_str();
        if !known.contains(&name) {
            known.push(name);
        }
    }
    Err(Error::bad_request(format!(
        "`marketplace` {marketplace:?} is not a marketplace this engine knows: expected one of {}",
        known.join(", ")
    ))
    .with("marketplace", marketplace))
}

/// Whether `url` starts `http://` or `https://` and is at most [`BASE_URL_CHARS_MAX`] bytes.
fn is_http_url(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://")) && url.len() <= BASE_URL_CHARS_MAX
}

/// A push URL is compared byte for byte with what the marketplace signs: an http(s) URL with a
/// host, and no whitespace.
fn is_push_url(url: &str) -> bool {
    is_http_url(url)
        && url
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty())
        && !url.chars().any(char::is_whitespace)
}

/// `connect_shop {marketplace, shop, base_url, credentials, push_url?}`: stores (or replaces) a
/// shop.
pub fn connect_shop(ctx: &Ctx<'_, '_>, args: &ConnectShop) -> Result<ShopConnected, Error> {
    check_name("marketplace", &args.marketplace)?;
    check_name("shop", &args.shop)?;
    if !is_http_url(&args.base_url) {
        return Err(Error::bad_request("`base_url` must be an http(s) URL"));
    }
    if let Some(push_url) = &args.push_url {
        if !is_push_url(push_url) {
            return Err(Error::bad_request(format!(
                "`push_url` must be an http(s) URL of at most {BASE_URL_CHARS_MAX} characters, \
                 exactly as registered with the marketplace"
            )));
        }
    }
    if ctx.plugins.adapter(&args.marketplace).is_none() {
        return Err(Error::bad_request(format!(
            "no adapter is loaded for marketplace {:?}",
            args.marketplace
        )));
    }
    if !args.credentials.is_object() {
        return Err(Error::bad_request("`credentials` must be an object"));
    }
    let credentials = args.credentials.to_string();
    check_text("credentials", &credentials)?;
    ctx.tx.upsert_shop(
        ctx.actor.account(),
        &ShopConnection {
            marketplace: &args.marketplace,
            shop: &args.shop,
            base_url: args.base_url.trim_end_matches('/'),
            credentials: &credentials,
            push_url: args.push_url.as_deref(),
        },
    )?;
    Ok(ShopConnected {
        marketplace: args.marketplace.clone(),
        shop: args.shop.clone(),
        base_url: args.base_url.clone(),
        push_url: args.push_url.clone(),
    })
}

/// `shops`: the connected shops, never their credentials.
pub fn shops(ctx: &Ctx<'_, '_>, _: &NoArgs) -> Result<Shops, Error> {
    let shops = ctx
        .tx
        .shops(ctx.actor.account())?
        .into_iter()
        .map(|s| ShopRow {
            marketplace: s.marketplace,
            shop: s.shop,
            base_url: s.base_url,
            synced_to: s.synced_to,
            push_url: s.push_url,
        })
        .collect();
    Ok(Shops { shops })
}

/// `plugins`: the loaded adapters with their capabilities, and the libraries refused with why.
pub fn plugins(ctx: &Ctx<'_, '_>, _: &NoArgs) -> Result<Plugins, Error> {
    let plugins = ctx
        .plugins
        .plugins()
        .iter()
        .map(|p| {
            let m = p.manifest();
            PluginRow {
                name: m.name.clone(),
                marketplace: m.marketplace.clone(),
                version: m.version.clone(),
                capabilities: m.capabilities.clone(),
                path: p.path().map(|p| p.display().to_string()),
            }
        })
        .collect();
    let refused = ctx
        .plugins
        .refused()
        .iter()
        .map(|r| RefusedRow {
            path: r.path.display().to_string(),
            reason: r.reason.to_string(),
        })
        .collect();
    Ok(Plugins { plugins, refused })
}

/// Whether a command has a network phase (see the module doc).
pub(crate) fn uses_network(command: &Command) -> bool {
    matches!(command, Command::SyncOrders(_) | Command::SyncStock(_))
}

/// Phase 1 of a sync command, in a read transaction: what its network phase will do.
pub(crate) fn plan(ctx: &Ctx<'_, '_>, command: &Command) -> Result<Plan, Error> {
    match command {
        Command::SyncOrders(args) => plan_orders(ctx, args),
        Command::SyncStock(args) => plan_stock(ctx, args),
        _ => Err(Error::new(
            Code::Internal,
            "a command without a network phase was planned as one",
        )),
    }
}

/// The shop, its adapter and its credentials; `not_found` when the actor has no such shop.
fn target(ctx: &Ctx<'_, '_>, marketplace: &str, shop: &str) -> Result<Target, Error> {
    check_name("marketplace", marketplace)?;
    check_name("shop", shop)?;
    let row = ctx
        .tx
        .shop(ctx.actor.account(), marketplace, shop)?
        .ok_or_else(|| Error::not_found("shop", shop))?;
    let adapter = ctx.plugins.adapter(marketplace).ok_or_else(|| {
        Error::bad_request(format!(
            "no adapter is loaded for marketplace {marketplace:?}"
        ))
    })?;
    // The message must not quote the text: it is the credentials.
    let credentials = serde_json::from_str(&row.credentials)
        .map_err(|_| Error::new(Code::Internal, "a shop's stored credentials do not parse"))?;
    Ok(Target {
        adapter: adapter.clone(),
        shop: row.shop,
        base_url: row.base_url,
        credentials,
    })
}

/// The window: from `since`, else the end of the last sync, else [`FIRST_SYNC_DAYS`] before
/// the command's time; to the command's time.
fn plan_orders(ctx: &Ctx<'_, '_>, args: &SyncOrders) -> Result<Plan, Error> {
    let target = target(ctx, &args.marketplace, &args.shop)?;
    if let Some(ids) = &args.order_ids {
        return plan_order_ids(target, args, ids);
    }
    let synced_to = ctx
        .tx
        .shop(ctx.actor.account(), &args.marketplace, &args.shop)?
        .and_then(|shop| shop.synced_to);
    let from = match (&args.since, &synced_to) {
        (Some(since), _) => Instant::parse("since", since)?,
        (None, Some(synced_to)) => Instant::parse("synced_to", synced_to)?,
        (None, None) => ctx
            .at
            .plus_days(-FIRST_SYNC_DAYS)
            .ok_or_else(|| Error::bad_request("`at` is too early to sync from"))?,
    };
    if from > ctx.at {
        return Err(Error::bad_request(format!(
            "`since` ({from}) is after the time of the sync ({})",
            ctx.at
        )));
    }
    Ok(Plan::Orders {
        target,
        from: from.unix_seconds(),
        to: ctx.at.unix_seconds(),
    })
}

/// `order_ids`: at least one, at most [`ORDER_IDS_MAX`], each a non-empty text of at most
/// `NAME_CHARS_MAX` characters, without duplicates; not with `since`.
fn plan_order_ids(target: Target, args: &SyncOrders, ids: &[String]) -> Result<Plan, Error> {
    if args.since.is_some() {
        return Err(Error::bad_request(
            "`order_ids` and `since` exclude each other: named orders are fetched whatever \
             their time",
        ));
    }
    if ids.is_empty() || ids.len() > ORDER_IDS_MAX {
        return Err(Error::bad_request(format!(
            "`order_ids` names 1 to {ORDER_IDS_MAX} orders, not {}",
            ids.len()
        )));
    }
    let mut unique = Vec::with_capacity(ids.len());
    for id in ids {
        check_name("order_ids", id)?;
        if !unique.contains(id) {
            unique.push(id.clone());
        }
    }
    Ok(Plan::OrderIds {
        target,
        ids: unique,
    })
}

/// The sellable quantity of every store SKU of the shop, and the ones that differ from what was
/// last sent (at most [`STOCK_ITEMS_PER_SYNC_MAX`], by store SKU).
fn plan_stock(ctx: &Ctx<'_, '_>, args: &ShopArgs) -> Result<Plan, Error> {
    let target = target(ctx, &args.marketplace, &args.shop)?;
    let me = ctx.actor.account();
    let mapped = ctx.tx.shop_store_skus(me, &args.marketplace, &args.shop)?;
    if mapped.len() > SHOP_STORE_SKUS_MAX {
        return Err(Error::bad_request(format!(
            "the shop has more than {SHOP_STORE_SKUS_MAX} mapped store SKUs"
        )));
    }
    let last_sent: BTreeMap<String, i64> = ctx
        .tx
        .listing_stock(me, &args.marketplace, &args.shop)?
        .into_iter()
        .collect();
    let (mut items, mut unchanged, mut skipped) = (Vec::new(), 0, 0);
    for row in mapped {
        let Some(quantity) = sellable(ctx, &row.local_sku)? else {
            skipped += 1;
            continue;
        };
        if u64::try_from(*last_sent.get(&row.store_sku).unwrap_or(&-1)).ok() == Some(quantity) {
            unchanged += 1;
            continue;
        }
        let listing = serde_json::from_str(&row.listing).map_err(|_| {
            Error::new(
                Code::Internal,
                "a store SKU's stored listing ids do not parse",
            )
        })?;
        items.push(StockItem {
            store_sku: row.store_sku,
            quantity,
            listing,
        });
    }
    let pending = items.len().saturating_sub(STOCK_ITEMS_PER_SYNC_MAX);
    items.truncate(STOCK_ITEMS_PER_SYNC_MAX);
    Ok(Plan::Stock {
        target,
        items,
        unchanged,
        skipped,
        pending,
    })
}

/// What a listing of `local_sku` may sell: the available stock behind it, summed over the
/// distributor's cells of every supplier it is claimed from and still `claimed` (one product from
/// several suppliers sells what each of them holds); 0 when no claim is `claimed` any more
/// (expired, stopped); `None` when no distribution claim is behind it (an own merchant SKU, whose
/// stock the engine does not keep, so it publishes nothing for it).
fn sellable(ctx: &Ctx<'_, '_>, local_sku: &str) -> Result<Option<u64>, Error> {
    let me = ctx.actor.account();
    let claims = ctx.tx.claims_by_local_sku(me, local_sku)?;
    if claims.is_empty() {
        return Ok(None);
    }
    let mut available: i64 = 0;
    for claim in claims.iter().filter(|c| c.state == product::CLAIMED) {
        available += ctx
            .tx
            .stock_cells(me, &claim.supplier, &claim.sku)?
            .iter()
            .map(|cell| cell.available.max(0))
            .sum::<i64>();
    }
    Ok(Some(u64::try_from(available).unwrap_or(0)))
}

/// The outcome of the command's network phase; `internal` when it did not run (a caller that
/// dispatched a sync command without [`plan`] and [`fetch`]).
fn fetched<'f>(fetched: Option<&'f Fetched>, command: &str) -> Result<&'f Fetch, Error> {
    match fetched {
        Some(Fetched(Ok(fetch))) => Ok(fetch),
        Some(Fetched(Err(error))) => Err(error.clone()),
        None => Err(Error::new(
            Code::Internal,
            format!("{command} ran without its network phase"),
        )),
    }
}

/// The shop still connected at write time; `not_found` when it is gone.
fn still_connected(ctx: &Ctx<'_, '_>, marketplace: &str, shop: &str) -> Result<(), Error> {
    ctx.tx
        .shop(ctx.actor.account(), marketplace, shop)?
        .map(|_| ())
        .ok_or_else(|| Error::not_found("shop", shop))
}

/// `sync_orders {marketplace, shop, since?, order_ids?} -> {imported, updated, synced_to}`,
/// phase 3: imports the fetched orders (idempotently: an order already imported is updated) and
/// moves the shop's `synced_to` to the command's time; a sync of named orders leaves it where it
/// was (it listed no window) and answers it.
pub fn sync_orders(
    ctx: &Ctx<'_, '_>,
    args: &SyncOrders,
    fetched_orders: Option<&Fetched>,
) -> Result<OrdersSynced, Error> {
    let Fetch::Orders(orders) = fetched(fetched_orders, "sync_orders")? else {
        return Err(Error::new(
            Code::Internal,
            "sync_orders got the outcome of another command's network phase",
        ));
    };
    still_connected(ctx, &args.marketplace, &args.shop)?;
    let (_, imported, updated) =
        crate::orders::import_canonical(ctx, &args.marketplace, Some(&args.shop), orders.clone())?;
    let synced_to = if args.order_ids.is_some() {
        ctx.tx
            .shop(ctx.actor.account(), &args.marketplace, &args.shop)?
            .and_then(|shop| shop.synced_to)
    } else {
        let synced_to = ctx.now();
        ctx.tx.advance_shop_synced_to(
            ctx.actor.account(),
            &args.marketplace,
            &args.shop,
            &synced_to,
        )?;
        Some(synced_to)
    };
    tracing::info!(
        marketplace = %args.marketplace, shop = %args.shop, imported, updated,
        "orders synced"
    );
    Ok(OrdersSynced {
        imported,
        updated,
        synced_to,
    })
}

/// `sync_stock {marketplace, shop} -> {sent, unchanged, failed, skipped, pending, requests,
/// failures}`, phase 3: records the levels the marketplace accepted, so the next sync sends only
/// what changed since, and what failed again.
pub fn sync_stock(
    ctx: &Ctx<'_, '_>,
    args: &ShopArgs,
    fetched_stock: Option<&Fetched>,
) -> Result<StockSynced, Error> {
    let Fetch::Stock {
        sent,
        failures,
        unchanged,
        skipped,
        pending,
        requests,
    } = fetched(fetched_stock, "sync_stock")?
    else {
        return Err(Error::new(
            Code::Internal,
            "sync_stock got the outcome of another command's network phase",
        ));
    };
    still_connected(ctx, &args.marketplace, &args.shop)?;
    let now = ctx.now();
    for (store_sku, quantity) in sent {
        let quantity = i64::try_from(*quantity)
            .map_err(|_| Error::new(Code::Internal, "a stock level is out of range"))?;
        ctx.tx.record_listing_stock(
            ctx.actor.account(),
            &args.marketplace,
            &args.shop,
            store_sku,
            quantity,
            &now,
        )?;
    }
    let listed = failures
        .iter()
        .take(STOCK_FAILURES_LISTED_MAX)
        .map(|f| StockFailureRow {
            store_sku: f.store_sku.clone(),
            code: f.code,
            message: f.message.clone(),
            marketplace_code: f.marketplace_code.clone(),
            marketplace_message: f.marketplace_message.clone(),
        })
        .collect();
    tracing::info!(
        marketplace = %args.marketplace, shop = %args.shop, sent = sent.len(),
        failed = failures.len(), "stock synced"
    );
    Ok(StockSynced {
        sent: sent.len(),
        unchanged: *unchanged,
        failed: failures.len(),
        skipped: *skipped,
        pending: *pending,
        requests: *requests,
        failures: listed,
    })
}
