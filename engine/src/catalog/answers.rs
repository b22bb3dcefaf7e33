//! What the catalog commands answer: each type is one command's `result` (or one row of it), and
//! its doc comments are the descriptions of the protocol's JSON Schema.

use schemars::JsonSchema;
use serde::Serialize;

use crate::protocol::Amount;

/// The answer to `publish_product`: the product as published.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProductPublished {
    /// The supplier's SKU.
    pub sku: String,
    /// Its price, rounded to the currency's minor unit.
    pub price: Amount,
    /// The supplier's settlement currency, the price's.
    pub currency: String,
    /// Whether it is a combination SKU (which cannot be claimed).
    pub combination: bool,
    /// The only distributors who see it, as sent; `null`: every partner sees it.
    pub visible_to: Option<Vec<String>>,
}

/// The answer to `set_price`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PriceSet {
    /// The supplier's SKU.
    pub sku: String,
    /// The price now in force.
    pub price: Amount,
    /// The price before (equal to `price` when it did not change).
    pub previous: Amount,
}

/// The answer to `set_distribution`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DistributionSet {
    /// The supplier's SKU.
    pub sku: String,
    /// Whether distribution is now on.
    pub enabled: bool,
    /// How many `claimed` claims of it expired (0 when turned on).
    pub expired_claims: usize,
}

/// The answer to `create_sku`: the distributor's own merchant SKU.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SkuCreated {
    /// The local SKU.
    pub sku: String,
    /// Its name.
    pub name: String,
}

/// The answer to `claim`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Claimed {
    /// One row per SKU claimed by this command, in the order given (repeats once).
    pub claimed: Vec<ClaimedSku>,
    /// The SKUs given that were already claimed from this supplier: left as they were.
    pub already_claimed: Vec<AlreadyClaimed>,
}

/// A SKU `claim` found already claimed from the supplier (nothing changed).
#[derive(Debug, Serialize, JsonSchema)]
pub struct AlreadyClaimed {
    /// The supplier's SKU.
    pub sku: String,
    /// The local SKU it is claimed as.
    pub local_sku: String,
}

/// One supplier SKU claimed (by `claim` or `import_claimed`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClaimedSku {
    /// The supplier's SKU.
    pub sku: String,
    /// The distributor's local SKU it is claimed as.
    pub local_sku: String,
    /// `true` when an existing local SKU was used, `false` when one was created.
    pub matched: bool,
    /// The price converted into the distributor's currency; `null` when no exchange rate
    /// converts it (`cost_note` says so).
    pub cost: Option<Amount>,
    /// The distributor's currency, the cost's.
    pub cost_currency: String,
    /// Which rate converted the price, why there is no cost, or `null` for the same currency.
    pub cost_note: Option<String>,
}

/// A supplier SKU, named by its supplier.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SupplierSku {
    /// The supplier.
    pub supplier: String,
    /// The supplier's SKU.
    pub sku: String,
}

/// The answer to `remove_expired`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Removed {
    /// The supplier SKUs whose expired claims were removed (unclaimed again).
    pub removed: Vec<SupplierSku>,
}

/// The answer to `stop_distribution`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Stopped {
    /// The claims behind the local SKU, each with its new state.
    pub stopped: Vec<StoppedClaim>,
}

/// A claim whose distribution stopped.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StoppedClaim {
    /// The supplier.
    pub supplier: String,
    /// The supplier's SKU.
    pub sku: String,
    /// The claim's new state, `expired` with the built-in workflow.
    pub state: String,
}

/// The answer to `map_store_sku`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StoreSkuMapped {
    /// The local SKU the store SKU now maps to.
    pub sku: String,
    /// The marketplace of the shop.
    pub marketplace: String,
    /// The distributor's name for the shop.
    pub shop: String,
    /// The SKU as the marketplace's orders carry it.
    pub store_sku: String,
    /// The local SKU it mapped to before, or `null` for a new mapping.
    pub previous: Option<String>,
}

/// The answer to `products`: one tab.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Products {
    /// The tab's products.
    pub products: Vec<ProductRow>,
}

/// One product of a `products` tab.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ProductRow {
    /// A row of the `unclaimed`, `claimed` or `expired` tab.
    Distributor(DistributorProduct),
    /// A row of the `published` tab.
    Supplier(SupplierProduct),
}

/// A supplier's product as a distributor sees it: one it may claim, or one of its claims.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DistributorProduct {
    /// The supplier.
    pub supplier: String,
    /// The supplier's SKU.
    pub sku: String,
    /// The local SKU it is claimed as; `null` when unclaimed.
    pub local_sku: Option<String>,
    /// The product's name.
    pub name: String,
    /// The supplier's current price.
    pub price: Amount,
    /// The supplier's currency, the price's.
    pub currency: String,
    /// Unclaimed: the supplier's available stock in the warehouses assigned to the distributor;
    /// claimed or expired: the distributor's available stock of it.
    pub stock: i64,
    /// `unclaimed`, or the claim's state (`claimed`, `expired`).
    pub state: String,
    /// The claim's cost in the distributor's currency; `null` when unclaimed or when no rate
    /// converted the price.
    pub cost: Option<Amount>,
    /// The distributor's currency, the cost's; `null` when unclaimed.
    pub cost_currency: Option<String>,
}

/// One of the supplier's own published SKUs.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SupplierProduct {
    /// The supplier (the actor).
    pub supplier: String,
    /// The SKU.
    pub sku: String,
    /// The product's name.
    pub name: String,
    /// Its current price.
    pub price: Amount,
    /// The supplier's currency, the price's.
    pub currency: String,
    /// The available stock summed over the supplier's warehouses.
    pub stock: i64,
    /// `enabled` or `disabled` (distribution turned on or off).
    pub state: String,
    /// Whether it is a combination SKU.
    pub combination: bool,
    /// Always `null`: a supplier's own SKU has no cost.
    pub cost: Option<Amount>,
    /// Always `null`, as `cost`.
    pub cost_currency: Option<String>,
}

/// The answer to `price_history`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PriceHistory {
    /// The prices in force, newest first, at most 30 per supplier SKU.
    pub history: Vec<PriceRow>,
}

/// A price of a supplier SKU and when it came into force.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PriceRow {
    /// The supplier.
    pub supplier: String,
    /// The supplier's SKU.
    pub sku: String,
    /// The price.
    pub price: Amount,
    /// When it was set (RFC 3339, UTC).
    pub at: String,
}

/// The answer to `export_claimed`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClaimedExport {
    /// The CSV: a header, then one row per `claimed` SKU.
    pub csv: String,
    /// How many rows follow the header.
    pub rows: usize,
}

/// The answer to `import_claimed`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClaimedImport {
    /// The rows claimed, as `claim` answers them.
    pub claimed: Vec<ClaimedSku>,
    /// The rows already claimed, left as they were.
    pub skipped: Vec<SupplierSku>,
}
