//! Distribution orders (docs/protocol.md#stock-and-orders, docs/protocol.md#ledger): import, pack,
//! split, push, delivery to the supplier, shipping, cancellation and withdrawal. Every state change
//! is a transition of the
//! `distribution_order` workflow (`fire`); the guards and effects it names are implemented in
//! `guards` and `effects`.

pub mod answers;
mod effects;
mod explain;
mod fire;
mod guards;
mod handlers;
mod import;
mod inputs;
mod loaded;
mod plan;
mod queries;

pub(crate) use effects::release_locks;
pub(crate) use explain::explain_order;
pub(crate) use handlers::deliver;
pub use handlers::{
    after_sale_refund, confirm_pickup, fire_event, mark_shipped, pack, push, refresh,
    review_withdrawal, set_fees, set_print_settings, ship_order, split_order, withdraw,
};
pub use import::import_orders;
pub(crate) use import::{import_canonical, parse_native};
pub use plan::CAPABILITY_SELLER_DELIVERY;
pub use queries::{order, orders};

/// The order workflow's name in the rule pack.
pub use crate::contract::order::WORKFLOW;
/// The canonical marketplace status of an order not paid yet: it cannot be packed
/// (`order_unpaid`) until an import says it is paid.
pub const STATUS_UNPAID: &str = "unpaid";
/// The most orders one `import_orders` takes.
pub const IMPORT_ORDERS_MAX: usize = 10_000;
/// The most lines one order has.
pub const ORDER_LINES_MAX: usize = 500;
/// The largest quantity of one line.
pub const LINE_QTY_MAX: u32 = 1_000_000;
/// The most child orders one `split_order` makes.
pub const SPLIT_GROUPS_MAX: usize = 100;
/// The documents a distributor may have travel with its pushed orders.
pub const DOCUMENTS: &[&str] = &["invoice", "delivery_receipt"];
pub use crate::contract::order::COMMAND_EVENTS;
