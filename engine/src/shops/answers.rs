//! What the shop and adapter commands answer: each type is one command's `result` (or one row of
//! it), and its doc comments are the descriptions of the protocol's JSON Schema. Credentials are
//! in none of them.

use schemars::JsonSchema;
use serde::Serialize;

use crate::error::Code;

/// The answer to `connect_shop`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ShopConnected {
    /// The shop's marketplace.
    pub marketplace: String,
    /// The distributor's name for the shop.
    pub shop: String,
    /// The base URL as it was sent (it is stored without a trailing `/`).
    pub base_url: String,
    /// The callback URL registered for the marketplace's pushes, or `null`.
    pub push_url: Option<String>,
}

/// The answer to `shops`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Shops {
    /// The connected shops, by marketplace and shop.
    pub shops: Vec<ShopRow>,
}

/// A connected shop, never its credentials.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ShopRow {
    /// The shop's marketplace.
    pub marketplace: String,
    /// The distributor's name for the shop.
    pub shop: String,
    /// Where the marketplace's API answers, without a trailing `/`.
    pub base_url: String,
    /// The end of the last order sync (RFC 3339, UTC), or `null` before the first.
    pub synced_to: Option<String>,
    /// The callback URL registered for the marketplace's pushes, or `null` (a push is then
    /// verified against the URL it arrived at).
    pub push_url: Option<String>,
}

/// The answer to `plugins`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Plugins {
    /// The marketplace adapters loaded.
    pub plugins: Vec<PluginRow>,
    /// The libraries refused, with why.
    pub refused: Vec<RefusedRow>,
}

/// A loaded marketplace adapter, as its manifest declares it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PluginRow {
    /// A human name, as its adapter's manifest gives it.
    pub name: String,
    /// The marketplace it serves, as the protocol names it.
    pub marketplace: String,
    /// The adapter's own version.
    pub version: String,
    /// What it supports: `order_sync`, `stock_update`, `seller_delivery`.
    pub capabilities: Vec<String>,
    /// The library it was loaded from; `null` for an adapter built into the host.
    pub path: Option<String>,
}

/// A library the host did not load.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RefusedRow {
    /// The library (or the plugins directory, when it could not be read).
    pub path: String,
    /// Why it was refused.
    pub reason: String,
}

/// The answer to `sync_orders`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OrdersSynced {
    /// How many orders were created.
    pub imported: usize,
    /// How many known orders had their marketplace status updated.
    pub updated: usize,
    /// The new end of the synced window (RFC 3339, UTC): the command's time; for a sync of
    /// named `order_ids`, the end left by the last window synced (`null` before the first).
    pub synced_to: Option<String>,
}

/// The answer to `sync_stock`: counts of listings, and the failures one by one.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StockSynced {
    /// Listings whose level the marketplace accepted.
    pub sent: usize,
    /// Listings whose level had not changed since it was last accepted (not sent).
    pub unchanged: usize,
    /// Listings whose update failed; they are sent again next time.
    pub failed: usize,
    /// Listings skipped: their local SKU has no distribution claim behind it.
    pub skipped: usize,
    /// Listings left for the next sync, past the most one sync sends (2,000).
    pub pending: usize,
    /// HTTP requests sent to the marketplace.
    pub requests: usize,
    /// The failed listings, at most 100.
    pub failures: Vec<StockFailureRow>,
}

/// A listing whose stock update failed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StockFailureRow {
    /// The listing's store SKU.
    pub store_sku: String,
    /// Why, as an error code.
    pub code: Code,
    /// Why, for a person.
    pub message: String,
    /// The marketplace's own error code when its answer refused the level, even inside a 2xx
    /// answer (docs/marketplaces.md#errors-inside-2xx-answers says which field); `null`
    /// when the failure is not the marketplace's word (no answer, an unreadable one).
    pub marketplace_code: Option<String>,
    /// The marketplace's own message with that code; `null` with it.
    pub marketplace_message: Option<String>,
}
