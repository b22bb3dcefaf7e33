//! Each command's arguments, as the protocol spells them (docs/protocol.md): one type per shape,
//! closed to unknown keys; [`super::Command`] names which type each command takes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// No arguments (an empty object, or none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    pub account: String,
    pub plan: String,
    pub inventory: bool,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub account: String,
    pub user: String,
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRate {
    pub from: String,
    pub to: String,
    pub rate: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWarehouse {
    pub warehouse: String,
    pub name: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitation {
    pub warehouses: Vec<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkArgs {
    pub link: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewPartnership {
    pub distributor: String,
    pub approve: bool,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistributorArgs {
    pub distributor: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BalanceChange {
    pub distributor: String,
    pub amount: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCredit {
    pub distributor: String,
    pub enabled: bool,
    pub limit: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BindSupplier {
    pub link: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplierNote {
    pub supplier: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    pub web: bool,
    pub app: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionsQuery {
    #[serde(default)]
    pub supplier: Option<String>,
    #[serde(default)]
    pub distributor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishProduct {
    pub sku: String,
    pub name: String,
    pub price: String,
    #[serde(default)]
    pub combination: bool,
    /// `None`: every partner sees it; otherwise only the listed distributors.
    #[serde(default)]
    pub visible_to: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPrice {
    pub sku: String,
    pub price: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDistribution {
    pub sku: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignWarehouses {
    pub distributor: String,
    pub warehouses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PushStock {
    pub warehouse: String,
    #[serde(deserialize_with = "distributary_plugin::canonical::objects")]
    pub items: Vec<StockItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StockItem {
    pub sku: String,
    pub available: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSku {
    pub sku: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimArgs {
    pub supplier: String,
    pub skus: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkuArgs {
    pub sku: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapStoreSku {
    pub sku: String,
    pub marketplace: String,
    pub shop: String,
    pub store_sku: String,
    /// Marketplace listing ids the stock-update API needs (`item_id`, `model_id`, …).
    #[serde(default)]
    pub listing: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSupplierWarehouse {
    pub supplier: String,
    pub warehouse: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WarehouseAction {
    pub warehouse: String,
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportClaimed {
    pub csv: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductsQuery {
    /// `unclaimed`, `claimed` or `expired` for a distributor; `published` for a supplier.
    pub tab: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetFees {
    pub handling: String,
    pub shipping: String,
}

/// A supplier names an order by its name, and by its distributor when two share the name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplierOrder {
    pub order: String,
    #[serde(default)]
    pub distributor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipOrder {
    pub order: String,
    #[serde(default)]
    pub distributor: Option<String>,
    #[serde(default)]
    pub tracking_no: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewWithdrawal {
    pub order: String,
    #[serde(default)]
    pub distributor: Option<String>,
    pub approve: bool,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AfterSaleRefund {
    pub order: String,
    #[serde(default)]
    pub distributor: Option<String>,
    pub amount: String,
    pub reason: String,
}

/// `canonical` (a list of canonical orders) or `native` (the marketplace's own order-detail
/// answer, parsed by its adapter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayloadFormat {
    Canonical,
    Native,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportOrders {
    pub marketplace: String,
    #[serde(default)]
    pub shop: Option<String>,
    pub format: PayloadFormat,
    pub payload: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    pub order: String,
    #[serde(default)]
    pub warehouse: Option<String>,
    /// `platform` (default) or `seller`.
    #[serde(default)]
    pub shipping: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitOrder {
    pub order: String,
    /// One group per child order; together the groups cover every unit of every line once.
    pub groups: Vec<Vec<SplitItem>>,
}

/// One item of a `split_order` group: a whole line, or part of one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SplitItem {
    /// The whole line of this store SKU.
    Line(String),
    /// `qty` units of the line of `store_sku`.
    Part(SplitPart),
}

/// Part of a line: `qty` units of the line of `store_sku`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitPart {
    pub store_sku: String,
    /// At least 1; the groups' parts of one line add up to its quantity.
    pub qty: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderArgs {
    pub order: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrintSettings {
    pub documents: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fire {
    pub entity: String,
    pub id: String,
    pub event: String,
}

/// `explain {entity, id}`: an entity named by its workflow, as `fire` names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Explain {
    /// `distribution_order`, `partnership` or `distribution_product`.
    pub entity: String,
    /// The order's name, the partnership's or the claim's id.
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrdersQuery {
    #[serde(default)]
    pub state: Option<String>,
}

/// A supplier's partnerships, all of them or those in one state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistributorsQuery {
    /// A state of the `partnership` workflow (`pending_authorization`, `partnered`, `rejected`
    /// or `terminated` with the built-in pack); `None` lists every state.
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    pub order: String,
    #[serde(default)]
    pub distributor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectShop {
    pub marketplace: String,
    pub shop: String,
    pub base_url: String,
    /// The marketplace's own credential object (docs/marketplaces.md); stored, never answered.
    pub credentials: Value,
    /// The callback URL registered with the marketplace for its pushes (some marketplaces sign
    /// it); without it, a push is verified against the URL it arrived at.
    #[serde(default)]
    pub push_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncOrders {
    pub marketplace: String,
    pub shop: String,
    /// RFC 3339; default: the end of the last sync, else 15 days ago.
    #[serde(default)]
    pub since: Option<String>,
    /// Fetch exactly these marketplace order ids instead of listing a window (what a push
    /// names); the synced window does not move. Not with `since`.
    #[serde(default)]
    pub order_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShopArgs {
    pub marketplace: String,
    pub shop: String,
}

/// `create_token`: a token acting as `account` (its main user, or `user`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// The account the token acts as; `system` (by `system` only) for a system token.
    pub account: String,
    /// A sub-user of that account; `None` acts as the main user.
    #[serde(default)]
    pub user: Option<String>,
    /// What the token is for, shown by `tokens`.
    pub label: String,
}

/// `revoke_token`: the token of this id stops authenticating at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeToken {
    pub token_id: String,
}

/// `tokens`: the live tokens of an account (the actor's own by default; `system`: every
/// account's by default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokensQuery {
    #[serde(default)]
    pub account: Option<String>,
}
