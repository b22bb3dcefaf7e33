//! What the partnership commands answer: each type is one command's `result` (or one row of it),
//! and its doc comments are the descriptions of the protocol's JSON Schema.

use schemars::JsonSchema;
use serde::Serialize;

/// The answer to `create_warehouse`: the warehouse as created.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WarehouseCreated {
    /// The supplier's id of the warehouse.
    pub warehouse: String,
    /// Its display name.
    pub name: String,
    /// Its region, which the allocation rule matches against an order's state and country.
    pub region: String,
}

/// The answer to `create_invitation`: the link to hand to a distributor.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InvitationCreated {
    /// `distributary://invite/<32 hex digits>`.
    pub link: String,
    /// When the link stops working (RFC 3339, UTC).
    pub expires_at: String,
    /// The warehouses a partnership made with it assigns, sorted, without duplicates.
    pub warehouses: Vec<String>,
}

/// The answer to `revoke_invitation`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InvitationRevoked {
    /// The link (or bare token) as it was sent.
    pub link: String,
    /// Always `true`: the link no longer binds.
    pub revoked: bool,
}

/// The answer to `bind_supplier`: the new partnership's state.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Bound {
    /// The supplier the link belongs to.
    pub supplier: String,
    /// The new partnership's state, `pending_authorization` with the built-in workflow.
    pub status: String,
}

/// The answer to `review_partnership`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Reviewed {
    /// The distributor whose application was reviewed.
    pub distributor: String,
    /// The partnership's new state: `partnered` or `rejected` with the built-in workflow.
    pub status: String,
    /// The reason kept for a rejection; `null` for an approval or when none was given.
    pub reason: Option<String>,
}

/// The answer to `end_partnership`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Ended {
    /// The distributor the partnership was with.
    pub distributor: String,
    /// The partnership's new state, `terminated` with the built-in workflow.
    pub status: String,
}

/// The answer to `set_supplier_note`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SupplierNoted {
    /// The supplier the note is about.
    pub supplier: String,
    /// The distributor's note, as stored.
    pub note: String,
}

/// The answer to `suppliers`: the distributor's suppliers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Suppliers {
    /// One row per supplier the distributor ever bound with.
    pub suppliers: Vec<SupplierRow>,
}

/// One supplier of a distributor, with its newest partnership.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SupplierRow {
    /// The supplier.
    pub supplier: String,
    /// The newest partnership's state: `pending_authorization`, `partnered`, `rejected` or
    /// `terminated` with the built-in workflow.
    pub status: String,
    /// The distributor's own note on the supplier, or `null`.
    pub note: Option<String>,
    /// Why the supplier rejected the newest application, or `null`.
    pub reason: Option<String>,
    /// The supplier warehouses mapped on the distributor's side.
    pub warehouses: Vec<String>,
}

/// The answer to `distributors`: the supplier's partnerships, pending applications first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Distributors {
    /// One row per distributor that ever bound with the supplier (its newest partnership), in
    /// the `status` asked for if any: those in the workflow's initial state
    /// (`pending_authorization`) first, then the others, newest applied first within each group.
    pub distributors: Vec<DistributorRow>,
}

/// One distributor of a supplier, with its newest partnership.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DistributorRow {
    /// The distributor.
    pub distributor: String,
    /// The newest partnership's state, spelled as `suppliers` spells it:
    /// `pending_authorization`, `partnered`, `rejected` or `terminated` with the built-in
    /// workflow.
    pub status: String,
    /// When the distributor bound, starting this partnership (RFC 3339, UTC).
    pub applied_at: String,
    /// When the supplier decided the application (it first left `pending_authorization`; a
    /// later termination does not move it), RFC 3339, UTC; `null` while pending.
    pub decided_at: Option<String>,
    /// The distributor's note on the supplier, given when binding or set later with
    /// `set_supplier_note` (the newest one), or `null`.
    pub note: Option<String>,
    /// The supplier's warehouses assigned to the distributor now (by the invitation it bound
    /// with, or `assign_warehouses` since), sorted.
    pub warehouses: Vec<String>,
}
