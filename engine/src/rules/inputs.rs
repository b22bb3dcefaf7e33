//! The typed values rule scripts read and return: plain serde types a host (or a rule test)
//! fills in. Scripts see them through the read-only views of `views.rs`.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The shipping method of an order when the host does not say: platform logistics.
pub const SHIPPING_PLATFORM: &str = "platform";
/// Seller delivery: the supplier ships the parcel itself.
pub const SHIPPING_SELLER: &str = "seller";

fn default_shipping() -> String {
    SHIPPING_PLATFORM.to_owned()
}

fn default_true() -> bool {
    true
}

/// A shipping address, as much of it as rules need (Rhai type `Address`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AddressInput {
    /// Country code or name, e.g. `MY`.
    pub country: String,
    /// State or province.
    pub state: String,
    /// City.
    pub city: String,
    /// Postcode.
    pub postcode: String,
}

/// One order line (Rhai type `Line`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    /// The claimed (local) SKU this line maps to; empty when unmapped.
    pub sku: String,
    /// The marketplace's store SKU.
    #[serde(default)]
    pub store_sku: String,
    /// Quantity ordered.
    pub qty: i64,
    /// Unit price charged by the supplier, in the settlement currency.
    pub price: Decimal,
    /// Whether the store SKU maps to a claimed SKU of this supplier.
    #[serde(default = "default_true")]
    pub mapped: bool,
    /// Whether the claimed product has expired (partnership ended or distribution stopped).
    #[serde(default)]
    pub expired: bool,
    /// The supplier of the claimed SKU. In the allocation rule's input, empty when several
    /// suppliers offer the line (its local SKU is claimed from each: multi-sourcing).
    #[serde(default)]
    pub supplier: String,
}

/// An order as rules see it (Rhai type `Order`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// The order id, `<marketplace>:<order_sn>`.
    pub order: String,
    /// The marketplace the order came from.
    #[serde(default)]
    pub marketplace: String,
    /// The settlement currency.
    pub currency: String,
    /// `platform` (platform logistics) or `seller` (seller delivery).
    #[serde(default = "default_shipping")]
    pub shipping: String,
    /// Where the order goes.
    #[serde(default)]
    pub address: AddressInput,
    /// The order's lines.
    pub lines: Vec<LineInput>,
}

/// The partnership between the order's distributor and supplier (Rhai type `Partnership`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnershipInput {
    /// The supplier account.
    #[serde(default)]
    pub supplier: String,
    /// The distributor account.
    #[serde(default)]
    pub distributor: String,
    /// The partnership's workflow state, e.g. `partnered`.
    pub status: String,
}

/// The distributor's balance account with the supplier (Rhai type `Account`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// Current balance (negative only with credit terms).
    pub balance: Decimal,
    /// Whether credit terms are on.
    #[serde(default)]
    pub credit_enabled: bool,
    /// The credit limit.
    #[serde(default)]
    pub credit_limit: Decimal,
    /// Credit in use: `max(0, -balance)`.
    #[serde(default)]
    pub credit_used: Decimal,
    /// The settlement currency.
    #[serde(default)]
    pub currency: String,
}

/// The supplier's fee settings, from `set_fees` (Rhai type `FeeSettings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeSettings {
    /// Handling fee per pushed order.
    pub handling: Decimal,
    /// Shipping fee per pushed order.
    pub shipping: Decimal,
}

/// What pushing an order charges: the fee rule's result (Rhai type `Fees`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    /// Goods: price x qty summed over the lines.
    pub goods: Decimal,
    /// Handling fee.
    pub handling: Decimal,
    /// Shipping fee.
    pub shipping: Decimal,
}

impl Fees {
    /// The sum of the three parts, or `None` if it overflows a Decimal.
    pub fn total(&self) -> Option<Decimal> {
        self.goods
            .checked_add(self.handling)?
            .checked_add(self.shipping)
    }
}

/// One reason a push check or guard refused: a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// A stable error code, e.g. `insufficient_balance`.
    pub code: String,
    /// What went wrong, naming the SKU or amounts.
    pub message: String,
}

/// A warehouse an order could be packed from, with its available stock (Rhai type `Warehouse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarehouseCandidate {
    /// The warehouse id (what the allocation rule returns).
    pub warehouse: String,
    /// The supplier that owns it: packing from it makes the order that supplier's.
    #[serde(default)]
    pub supplier: String,
    /// Its region, matched against the address by the default rule.
    #[serde(default)]
    pub region: String,
    /// Available quantity per SKU: per local SKU of the order's lines, of what this warehouse's
    /// supplier's claims hold here (a SKU not claimed from that supplier is absent).
    pub stock: BTreeMap<String, i64>,
}

impl WarehouseCandidate {
    /// Available quantity of `sku` here, 0 when the warehouse does not stock it.
    pub fn available(&self, sku: &str) -> i64 {
        self.stock.get(sku).copied().unwrap_or(0)
    }
}

/// What push checks and `rule:<script>` guards read: `order`, `partnership`, `account`, `fees`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushCheckInput {
    /// The order being pushed.
    pub order: OrderInput,
    /// The partnership with the order's supplier.
    pub partnership: PartnershipInput,
    /// The distributor's balance account with that supplier.
    pub account: AccountInput,
    /// What the push would charge (the fee rule's result).
    pub fees: Fees,
}

/// What the fee rule reads: `order` and `settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeesInput {
    /// The order being pushed.
    pub order: OrderInput,
    /// The supplier's fee settings.
    pub settings: FeeSettings,
}

/// What the allocation rule reads: `order` and `candidates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationInput {
    /// The order being packed.
    pub order: OrderInput,
    /// The warehouses it could be packed from, of every supplier its lines are claimed from, in
    /// preference order (by supplier, then warehouse).
    pub candidates: Vec<WarehouseCandidate>,
}
