//! Shopee's `order_status` values and the canonical status each one maps to.
//!
//! | Shopee status        | Canonical          | Why |
//! |----------------------|--------------------|-----|
//! | `UNPAID`             | `unpaid`           | the buyer has not paid |
//! | `PENDING`            | `unpaid`           | Shopee holds the order (review) before releasing it to ship; nothing may be fulfilled yet |
//! | `INVOICE_PENDING`    | `ready_to_ship`    | paid; the seller owes an invoice before shipping, which is seller-side preparation like any other |
//! | `READY_TO_SHIP`      | `ready_to_ship`    | paid, to be shipped |
//! | `PROCESSED`          | `processed`        | shipment arranged, parcel awaiting pickup |
//! | `RETRY_SHIP`         | `processed`        | the pickup failed and the seller arranges it again: the parcel is still packed and with the seller, and a canonical status never steps back |
//! | `SHIPPED`            | `shipped`          | with the carrier |
//! | `TO_CONFIRM_RECEIVE` | `delivered`        | delivered, awaiting the buyer's confirmation |
//! | `COMPLETED`          | `completed`        | confirmed and settled |
//! | `IN_CANCEL`          | `cancel_requested` | the buyer asked to cancel; the seller may still accept or reject |
//! | `CANCELLED`          | `cancelled`        | cancelled |
//! | `TO_RETURN`          | `returned`         | the buyer returns the goods |
//!
//! Any other value is undocumented and maps to `None`.

use distributary_plugin::OrderStatus;

/// Every documented Shopee `order_status` with its canonical status (the table above).
pub const STATUSES: [(&str, OrderStatus); 12] = [
    ("UNPAID", OrderStatus::Unpaid),
    ("PENDING", OrderStatus::Unpaid),
    ("INVOICE_PENDING", OrderStatus::ReadyToShip),
    ("READY_TO_SHIP", OrderStatus::ReadyToShip),
    ("PROCESSED", OrderStatus::Processed),
    ("RETRY_SHIP", OrderStatus::Processed),
    ("SHIPPED", OrderStatus::Shipped),
    ("TO_CONFIRM_RECEIVE", OrderStatus::Delivered),
    ("COMPLETED", OrderStatus::Completed),
    ("IN_CANCEL", OrderStatus::CancelRequested),
    ("CANCELLED", OrderStatus::Cancelled),
    ("TO_RETURN", OrderStatus::Returned),
];

/// The canonical status of a Shopee `order_status`, `None` when Shopee does not document it.
/// The match is exact: Shopee spells its statuses in upper case.
pub fn map_status(native: &str) -> Option<OrderStatus> {
    STATUSES
        .iter()
        .find(|(name, _)| *name == native)
        .map(|(_, status)| *status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_maps_as_the_table_says() {
        let expected = [
            ("UNPAID", "unpaid"),
            ("PENDING", "unpaid"),
            ("INVOICE_PENDING", "ready_to_ship"),
            ("READY_TO_SHIP", "ready_to_ship"),
            ("PROCESSED", "processed"),
            ("RETRY_SHIP", "processed"),
            ("SHIPPED", "shipped"),
            ("TO_CONFIRM_RECEIVE", "delivered"),
            ("COMPLETED", "completed"),
            ("IN_CANCEL", "cancel_requested"),
            ("CANCELLED", "cancelled"),
            ("TO_RETURN", "returned"),
        ];
        assert_eq!(expected.len(), STATUSES.len());
        for (native, canonical) in expected {
            let status = map_status(native).unwrap();
            assert_eq!(serde_json::to_value(status).unwrap(), canonical, "{native}");
        }
    }

    #[test]
    fn undocumented_statuses_map_to_none() {
        for native in ["", "unpaid", "SHIPPING", "CANCELED", "READY_TO_SHIP "] {
            assert_eq!(map_status(native), None, "{native:?}");
        }
    }
}
