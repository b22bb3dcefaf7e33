//! Lazada's per-item statuses, their canonical meaning, and how the set of an order's item
//! statuses reduces to one order status. The tables are in the crate documentation.

use distributary_plugin::OrderStatus;

/// Every Lazada item status this adapter knows, with its canonical status.
pub const STATUSES: &[(&str, OrderStatus)] = &[
    ("unpaid", OrderStatus::Unpaid),
    ("pending", OrderStatus::ReadyToShip),
    ("topack", OrderStatus::ReadyToShip),
    ("packed", OrderStatus::Processed),
    ("repacked", OrderStatus::Processed),
    ("toship", OrderStatus::Processed),
    ("ready_to_ship_pending", OrderStatus::Processed),
    ("ready_to_ship", OrderStatus::Processed),
    ("shipping", OrderStatus::Shipped),
    ("shipped", OrderStatus::Shipped),
    ("failed_delivery", OrderStatus::Shipped),
    ("delivered", OrderStatus::Delivered),
    ("confirmed", OrderStatus::Completed),
    ("canceled", OrderStatus::Cancelled),
    ("lost", OrderStatus::Cancelled),
    ("lost_by_3pl", OrderStatus::Cancelled),
    ("damaged_by_3pl", OrderStatus::Cancelled),
    ("returned", OrderStatus::Returned),
    ("failed", OrderStatus::Returned),
    ("shipped_back", OrderStatus::Returned),
    ("shipped_back_success", OrderStatus::Returned),
    ("shipped_back_failed", OrderStatus::Returned),
];

/// The canonical status of a Lazada item status (exact, lowercase as Lazada sends it).
pub fn map_status(native: &str) -> Option<OrderStatus> {
    STATUSES
        .iter()
        .find(|(name, _)| *name == native)
        .map(|(_, status)| *status)
}

/// How far a live (neither cancelled nor returned) status has progressed; the order takes the
/// least progressed of its live items.
fn progress(status: OrderStatus) -> u8 {
    match status {
        OrderStatus::Unpaid => 0,
        OrderStatus::ReadyToShip => 1,
        OrderStatus::Processed => 2,
        OrderStatus::Shipped => 3,
        OrderStatus::Delivered => 4,
        OrderStatus::Completed => 5,
        OrderStatus::CancelRequested | OrderStatus::Cancelled | OrderStatus::Returned => u8::MAX,
    }
}

/// The order status of a set of canonical item statuses: a pending cancellation request wins;
/// otherwise the least progressed live item; with no live item, `returned` if any item was
/// returned, else `cancelled`. `None` for an empty set.
pub fn reduce(statuses: &[OrderStatus]) -> Option<OrderStatus> {
    if statuses.is_empty() {
        return None;
    }
    if statuses.contains(&OrderStatus::CancelRequested) {
        return Some(OrderStatus::CancelRequested);
    }
    let live = statuses
        .iter()
        .copied()
        .filter(|status| progress(*status) != u8::MAX)
        .min_by_key(|status| progress(*status));
    Some(match live {
        Some(status) => status,
        None if statuses.contains(&OrderStatus::Returned) => OrderStatus::Returned,
        None => OrderStatus::Cancelled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    #[test]
    fn every_documented_status_maps() {
        for native in [
            "unpaid",
            "pending",
            "packed",
            "ready_to_ship",
            "shipped",
            "delivered",
            "canceled",
            "returned",
            "failed",
            "lost",
            "topack",
            "toship",
            "shipping",
            "failed_delivery",
            "shipped_back",
        ] {
            assert!(map_status(native).is_some(), "{native}");
        }
        assert_eq!(map_status("pending"), Some(ReadyToShip));
        assert_eq!(map_status("ready_to_ship"), Some(Processed));
        assert_eq!(map_status("PENDING"), None);
        assert_eq!(map_status("on_the_moon"), None);
    }

    #[test]
    fn reduction_table() {
        let cases: &[(&[OrderStatus], Option<OrderStatus>)] = &[
            (&[], None),
            (&[Shipped], Some(Shipped)),
            (&[Shipped, ReadyToShip, Delivered], Some(ReadyToShip)),
            (&[Cancelled, Shipped], Some(Shipped)),
            (&[Cancelled, Cancelled], Some(Cancelled)),
            (&[Cancelled, Returned], Some(Returned)),
            (&[Returned, Delivered], Some(Delivered)),
            (&[Completed, CancelRequested], Some(CancelRequested)),
            (&[Unpaid, Cancelled], Some(Unpaid)),
        ];
        for (statuses, expected) in cases {
            assert_eq!(reduce(statuses), *expected, "{statuses:?}");
        }
    }
}
