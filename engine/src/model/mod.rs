//! Plain domain types shared by the engine's layers: no I/O, no SQL, no serde shapes of the wire.

pub mod money;
pub mod time;

use rust_decimal::Decimal;

/// A subscription plan. Acting as a supplier needs `V2` or above
/// (docs/protocol.md#accounts-and-users).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Plan {
    V1,
    V2,
    V3,
    V4,
    V5,
}

impl Plan {
    /// Parses `V1`…`V5`.
    pub fn parse(text: &str) -> Option<Plan> {
        Some(match text {
            "V1" => Plan::V1,
            "V2" => Plan::V2,
            "V3" => Plan::V3,
            "V4" => Plan::V4,
            "V5" => Plan::V5,
            _ => return None,
        })
    }

    /// The plan's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::V1 => "V1",
            Plan::V2 => "V2",
            Plan::V3 => "V3",
            Plan::V4 => "V4",
            Plan::V5 => "V5",
        }
    }
}

/// The permission sets a sub-user may hold; the main account holds both.
pub const PERMISSION_SETS: &[&str] = &["supplier", "distributor"];

/// An account: a business using the engine as a supplier, a distributor, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account: String,
    pub plan: Plan,
    pub inventory: bool,
    pub currency: String,
}

/// An invitation link's stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub token: String,
    pub supplier: String,
    pub warehouses: Vec<String>,
    pub expires_at: String,
    pub revoked: bool,
}

/// One partnership between a supplier and a distributor; a bind after rejection or termination
/// starts a new one, so the history stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partnership {
    pub partnership: String,
    pub supplier: String,
    pub distributor: String,
    pub state: String,
    pub token: String,
    pub reason: Option<String>,
}

/// A distributor's prepaid account with one supplier, in the supplier's settlement currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerAccount {
    pub supplier: String,
    pub distributor: String,
    pub currency: String,
    pub balance: Decimal,
    pub credit_enabled: bool,
    pub credit_limit: Decimal,
}

impl LedgerAccount {
    /// Credit in use: what the balance is below zero.
    pub fn credit_used(&self) -> Decimal {
        (-self.balance).max(Decimal::ZERO)
    }

    /// What may still be spent: the balance plus the credit limit when credit terms are on.
    pub fn available(&self) -> Decimal {
        if self.credit_enabled {
            self.balance + self.credit_limit
        } else {
            self.balance
        }
    }
}

/// One ledger transaction; both sides read the same rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub txn_id: String,
    pub supplier: String,
    pub distributor: String,
    pub kind: String,
    pub order: Option<String>,
    pub amount: Decimal,
    pub currency: String,
    pub balance_after: Decimal,
    pub note: Option<String>,
    pub at: String,
}

/// A notification in an account's inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub kind: String,
    pub channels: Vec<String>,
    pub data: serde_json::Value,
    pub at: String,
}

/// One row of the audit log: a workflow transition and what decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The account whose entity this records (an order's or a claim's distributor, a
    /// partnership's supplier): the row's owner, the first column of its key on PostgreSQL and
    /// its distribution column on a cluster (docs/scale-out.md).
    pub account: String,
    pub entity_kind: String,
    pub entity_id: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub event: String,
    pub actor: String,
    pub user: Option<String>,
    pub rules_version: String,
    pub guards: serde_json::Value,
    pub at: String,
    /// The entity's previous audit row, for an entity whose history is a chain (an order).
    pub prev: Option<i64>,
    /// Why the engine fired the transition, when it says (an order's `stock_released`).
    pub reason: Option<String>,
}

/// A SKU a supplier publishes for distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub supplier: String,
    pub sku: String,
    pub name: String,
    pub price: Decimal,
    pub combination: bool,
    /// Visible to every partner; otherwise only to the listed distributors.
    pub visible_all: bool,
    /// Distribution turned on by the supplier.
    pub enabled: bool,
}

/// A distributor's claim of one supplier SKU, driven by the `distribution_product` workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub claim: String,
    pub distributor: String,
    pub supplier: String,
    pub sku: String,
    pub local_sku: String,
    pub state: String,
    /// The initial cost in the distributor's currency; `None` when no exchange rate was known.
    pub cost: Option<Decimal>,
    pub cost_currency: String,
}

/// One stock cell: an account's view of one SKU in one supplier warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockCell {
    pub account: String,
    pub supplier: String,
    pub warehouse: String,
    pub sku: String,
    pub available: i64,
    pub locked: i64,
}

impl StockCell {
    /// Which cell this is.
    pub fn key(&self) -> CellKey<'_> {
        CellKey {
            account: &self.account,
            supplier: &self.supplier,
            warehouse: &self.warehouse,
            sku: &self.sku,
        }
    }
}

/// Names one stock cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellKey<'a> {
    pub account: &'a str,
    pub supplier: &'a str,
    pub warehouse: &'a str,
    pub sku: &'a str,
}

/// One stock movement record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// Its place in the log: a later movement has a larger one.
    pub seq: i64,
    pub supplier: String,
    pub warehouse: String,
    pub sku: String,
    pub kind: String,
    pub before: i64,
    pub after: i64,
    pub at: String,
}

/// What a pushed order was charged, in the supplier's settlement currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Charges {
    pub goods: Decimal,
    pub handling: Decimal,
    pub shipping: Decimal,
    pub total: Decimal,
}

/// A distribution order: a marketplace order on its way to the supplier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub distributor: String,
    /// `<marketplace>:<order_sn>`, split children `<parent>/<n>`.
    pub order: String,
    pub marketplace: String,
    pub shop: String,
    pub order_sn: String,
    pub parent: Option<String>,
    pub state: String,
    /// The marketplace's canonical status as last imported.
    pub marketplace_status: String,
    /// Cancelled on the marketplace after the supplier shipped: the distributor must withdraw.
    pub cancel_flagged: bool,
    pub currency: String,
    pub address: serde_json::Value,
    pub supplier: Option<String>,
    pub warehouse: Option<String>,
    /// `platform` or `seller`.
    pub shipping: String,
    pub tracking_no: Option<String>,
    pub charges: Option<Charges>,
    /// The charge is on the ledger and not refunded.
    pub charged: bool,
    /// The order's lines hold locked stock in its warehouse.
    pub stock_locked: bool,
    pub refunded_after_sale: Decimal,
    pub documents: Option<serde_json::Value>,
    /// The state a withdrawal was requested from.
    pub withdrawn_from: Option<String>,
    /// Why the last delivery failed.
    pub failure: Option<String>,
    /// Its newest audit row: its history is the chain of rows from there (`AuditEntry::prev`).
    pub audit_head: Option<i64>,
}

/// One line of a distribution order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub line: i64,
    pub store_sku: String,
    pub qty: i64,
    /// The buyer's unit price, as the marketplace gave it; `None` when its payload gives none.
    pub unit_price: Option<Decimal>,
    /// Set at pack: the local SKU and the supplier SKU behind the store SKU.
    pub local_sku: Option<String>,
    pub supplier: Option<String>,
    pub sku: Option<String>,
    /// Set at push: the distribution price charged.
    pub price: Option<Decimal>,
}
