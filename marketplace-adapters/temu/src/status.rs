//! Temu's parent-order status codes and the canonical status each one maps to.
//!
//! | Code | Temu name         | Canonical       | Why |
//! |------|-------------------|-----------------|-----|
//! | 1    | `PENDING`         | `unpaid`        | Temu holds a new order (payment and risk checks) before releasing it to the seller; nothing may be fulfilled yet |
//! | 2    | `UN_SHIPPING`     | `ready_to_ship` | released to the seller, to be shipped |
//! | 3    | `CANCELED`        | `cancelled`     | cancelled |
//! | 4    | `SHIPPED`         | `shipped`       | with the carrier |
//! | 5    | `RECEIPTED`       | `delivered`     | received by the buyer; Temu has no later "completed" state |
//! | 41   | partially shipped | `shipped`       | part of the order is with the carrier; the canonical statuses have no partial state, and the order can no longer be cancelled as a whole |
//! | 51   | partially received| `delivered`     | part of the order has reached the buyer; same reasoning |
//!
//! [`map_status`] accepts the code (`"2"`) or the name (`"UN_SHIPPING"`); anything else is
//! undocumented and maps to `None`.

use distributary_plugin::OrderStatus;

/// Every documented Temu parent-order status: code, name, canonical status (the table above).
pub const STATUSES: [(u64, &str, OrderStatus); 7] = [
    (1, "PENDING", OrderStatus::Unpaid),
    (2, "UN_SHIPPING", OrderStatus::ReadyToShip),
    (3, "CANCELED", OrderStatus::Cancelled),
    (4, "SHIPPED", OrderStatus::Shipped),
    (5, "RECEIPTED", OrderStatus::Delivered),
    (41, "PARTIALLY_SHIPPED", OrderStatus::Shipped),
    (51, "PARTIALLY_RECEIPTED", OrderStatus::Delivered),
];

/// The canonical status of a Temu status code.
pub fn map_code(code: u64) -> Option<OrderStatus> {
    STATUSES
        .iter()
        .find(|(known, _, _)| *known == code)
        .map(|(_, _, status)| *status)
}

/// The canonical status of a Temu status given as its code (`"2"`) or its documented name
/// (`"UN_SHIPPING"`); `None` when Temu does not document it. Temu names only codes 1 to 5; the
/// names of 41 and 51 here are the adapter's own.
pub fn map_status(native: &str) -> Option<OrderStatus> {
    match native.parse::<u64>() {
        Ok(code) => map_code(code),
        Err(_) => STATUSES
            .iter()
            .find(|(_, name, _)| *name == native)
            .map(|(_, _, status)| *status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_maps_as_the_table_says() {
        let expected = [
            ("1", "unpaid"),
            ("2", "ready_to_ship"),
            ("3", "cancelled"),
            ("4", "shipped"),
            ("5", "delivered"),
            ("41", "shipped"),
            ("51", "delivered"),
            ("PENDING", "unpaid"),
            ("UN_SHIPPING", "ready_to_ship"),
            ("CANCELED", "cancelled"),
            ("SHIPPED", "shipped"),
            ("RECEIPTED", "delivered"),
        ];
        for (native, canonical) in expected {
            let status = map_status(native).unwrap();
            assert_eq!(serde_json::to_value(status).unwrap(), canonical, "{native}");
        }
    }

    #[test]
    fn undocumented_statuses_map_to_none() {
        for native in ["0", "6", "42", "-1", "", "canceled", "CANCELLED", "2 "] {
            assert_eq!(map_status(native), None, "{native:?}");
        }
    }
}
