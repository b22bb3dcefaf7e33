//! TikTok Shop's order statuses (named, the webhook's `CANCEL`, and the legacy numeric codes) and
//! their canonical meaning; the table is in the crate documentation.

use distributary_plugin::OrderStatus;

/// Every TikTok Shop order status this adapter knows: its name, its legacy numeric code (none for
/// the webhook's `CANCEL`), and its canonical status.
pub const STATUSES: &[(&str, Option<&str>, OrderStatus)] = &[
    ("UNPAID", Some("100"), OrderStatus::Unpaid),
    ("ON_HOLD", Some("105"), OrderStatus::Unpaid),
    ("AWAITING_SHIPMENT", Some("111"), OrderStatus::ReadyToShip),
    ("AWAITING_COLLECTION", Some("112"), OrderStatus::Processed),
    ("PARTIALLY_SHIPPING", Some("114"), OrderStatus::Processed),
    ("IN_TRANSIT", Some("121"), OrderStatus::Shipped),
    ("DELIVERED", Some("122"), OrderStatus::Delivered),
    ("COMPLETED", Some("130"), OrderStatus::Completed),
    ("CANCELLED", Some("140"), OrderStatus::Cancelled),
    ("CANCEL", None, OrderStatus::Cancelled),
];

/// The canonical status of a TikTok Shop status name (exact, upper case) or legacy code.
pub fn map_status(native: &str) -> Option<OrderStatus> {
    STATUSES
        .iter()
        .find(|(name, code, _)| *name == native || *code == Some(native))
        .map(|(_, _, status)| *status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_and_code_maps() {
        for native in [
            "UNPAID",
            "ON_HOLD",
            "AWAITING_SHIPMENT",
            "PARTIALLY_SHIPPING",
            "AWAITING_COLLECTION",
            "IN_TRANSIT",
            "DELIVERED",
            "COMPLETED",
            "CANCELLED",
            "CANCEL",
            "100",
            "105",
            "111",
            "112",
            "114",
            "121",
            "122",
            "130",
            "140",
        ] {
            assert!(map_status(native).is_some(), "{native}");
        }
        for (name, code, _) in STATUSES {
            if let Some(code) = code {
                assert_eq!(map_status(name), map_status(code), "{name} vs {code}");
            }
        }
        assert_eq!(map_status("140"), Some(OrderStatus::Cancelled));
        assert_eq!(
            map_status("AWAITING_SHIPMENT"),
            Some(OrderStatus::ReadyToShip)
        );
        assert_eq!(map_status("cancelled"), None);
        assert_eq!(map_status("150"), None);
    }
}
