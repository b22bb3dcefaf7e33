//! The canonical order: what every adapter turns a marketplace's own order payload into
//! (DESIGN.md section 7).

use serde::{Deserialize, Serialize};

/// A marketplace order, in the shape the engine imports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanonicalOrder {
    /// `shopee`, `lazada`, `tiktok_shop` or `temu`.
    pub marketplace: String,
    /// The shop the order came from.
    #[serde(default)]
    pub shop: String,
    /// The marketplace's order id (Shopee `order_sn`, Lazada `order_id`, TikTok Shop `id`, Temu
    /// `parentOrderSn`).
    pub order_sn: String,
    /// The canonical status.
    pub status: OrderStatus,
    /// ISO 4217 code; empty when the marketplace does not say (Temu), and the engine then uses the
    /// account's currency.
    #[serde(default)]
    pub currency: String,
    /// Where the order ships to; fields the marketplace does not give are empty.
    #[serde(default)]
    pub address: Address,
    /// One line per store SKU, quantities summed.
    pub lines: Vec<OrderLine>,
}

/// A shipping address, reduced to what allocation rules look at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub postcode: String,
}

/// One line of a canonical order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    /// The SKU as the store knows it.
    pub store_sku: String,
    /// Units ordered, at least one.
    pub qty: u32,
    /// The buyer's unit price as a decimal string, in the order's currency.
    #[serde(default)]
    pub unit_price: String,
}

/// The canonical order statuses every marketplace status maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Unpaid,
    ReadyToShip,
    Processed,
    Shipped,
    Delivered,
    Completed,
    CancelRequested,
    Cancelled,
    Returned,
}

impl OrderStatus {
    /// Whether this status asks the engine to cancel or withdraw the distribution order.
    pub fn is_cancellation(self) -> bool {
        matches!(self, OrderStatus::CancelRequested | OrderStatus::Cancelled)
    }
}
