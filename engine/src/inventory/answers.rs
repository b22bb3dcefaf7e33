//! What the stock commands answer: each type is one command's `result` (or one row of it), and
//! its doc comments are the descriptions of the protocol's JSON Schema.

use schemars::JsonSchema;
use serde::Serialize;

/// The answer to `assign_warehouses`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WarehousesAssigned {
    /// The distributor the warehouses are assigned to.
    pub distributor: String,
    /// The warehouses now assigned, sorted, without duplicates.
    pub warehouses: Vec<String>,
    /// The warehouses no longer assigned, whose stock was auto-cleared on the distributor's side.
    pub cleared: Vec<WarehouseCleared>,
}

/// A warehouse no longer assigned, and what clearing it took.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WarehouseCleared {
    /// The supplier's warehouse.
    pub warehouse: String,
    /// How many of the distributor's stock cells in it were cleared.
    pub cells: usize,
}

/// The answer to `push_stock`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StockPushed {
    /// The supplier's warehouse the levels were set in.
    pub warehouse: String,
    /// How many items were set.
    pub items: usize,
    /// How many distributor cells mirroring the warehouse were updated.
    pub distributor_cells: usize,
}

/// The answer to `add_supplier_warehouse`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SupplierWarehouseAdded {
    /// The supplier.
    pub supplier: String,
    /// The supplier's warehouse, now mapped on the distributor's side.
    pub warehouse: String,
    /// `false` when it was mapped already.
    pub created: bool,
}

/// The answer to `warehouse_action` (a refusal is an error, so this always allows).
#[derive(Debug, Serialize, JsonSchema)]
pub struct WarehouseActionAllowed {
    /// The warehouse as it was named.
    pub warehouse: String,
    /// The action asked about.
    pub action: String,
    /// Always `true`.
    pub allowed: bool,
}

/// The answer to `stock`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Stock {
    /// The SKU as it was asked about (a supplier's own SKU, or a distributor's local SKU).
    pub sku: String,
    /// The available quantity summed over `warehouses`.
    pub total_available: i64,
    /// The actor's stock cells of the SKU, one per warehouse and supplier SKU.
    pub warehouses: Vec<StockRow>,
}

/// One stock cell: the actor's view of a supplier SKU in one supplier warehouse.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StockRow {
    /// The supplier whose warehouse and SKU it is.
    pub supplier: String,
    /// The supplier's warehouse.
    pub warehouse: String,
    /// The supplier's SKU.
    pub sku: String,
    /// What may still be packed.
    pub available: i64,
    /// What packed orders hold.
    pub locked: i64,
}

/// The answer to `movements`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Movements {
    /// The actor's newest movements of the SKU, newest first, at most 1,000.
    pub movements: Vec<MovementRow>,
}

/// One change of a stock cell's available quantity.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MovementRow {
    /// Why it changed: `distribution_stock_push`, `distribution_stock_auto_cleared`,
    /// `stop_distribution`, `order_lock`, `order_release` or `order_ship`.
    pub kind: String,
    /// The supplier whose warehouse and SKU it is.
    pub supplier: String,
    /// The supplier's warehouse.
    pub warehouse: String,
    /// The supplier's SKU.
    pub sku: String,
    /// The available quantity before.
    pub before: i64,
    /// The available quantity after.
    pub after: i64,
    /// When it changed (RFC 3339, UTC).
    pub at: String,
}
