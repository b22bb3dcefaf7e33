//! The built-in guard and effect names a workflow may use without a script; the engine implements
//! each of them, so a workflow naming anything else is refused when it loads.

/// Guards the engine evaluates itself (a workflow may also name `rule:<script>`).
pub const GUARDS: &[&str] = &[
    "lines_mapped",
    "single_warehouse",
    "shipping_supported",
    "stock_available",
    "tracking_number_given",
    "came_from_pushed",
    "came_from_to_pickup",
    "came_from_shipped",
];

/// Effects the engine applies when a transition fires, in the order the transition lists them.
pub const EFFECTS: &[&str] = &[
    "create_supplier_warehouses",
    "notify_partnership_approved",
    "notify_partnership_rejected",
    "notify_partnership_terminated",
    "clear_partnership_stock",
    "expire_partnership_products",
    "clear_sku_stock",
    "lock_stock",
    "release_stock",
    "consume_stock",
    "charge_fees",
    "refund_charges",
    "enqueue_delivery",
    "create_split_orders",
];
