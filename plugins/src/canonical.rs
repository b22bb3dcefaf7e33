//! The canonical order: what every adapter turns a marketplace's own order payload into
//! (docs/protocol.md#canonical-orders).

use serde::{de::Visitor, Deserialize, Deserializer, Serialize};
use serde_json::Value;

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
    #[serde(default, deserialize_with = "object")]
    pub address: Address,
    /// One line per store SKU, quantities summed.
    #[serde(deserialize_with = "objects")]
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
    /// The buyer's unit price as a decimal string, in the order's currency; empty when the
    /// marketplace's payload gives none (Temu's order list). A host's own canonical payload must
    /// give it.
    #[serde(default)]
    pub unit_price: String,
}

/// Reads a struct only from a JSON object. serde's derive also reads one from the list of its
/// field values, in declaration order: a payload must not fill fields by position.
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    T::deserialize(MapOnly(deserializer))
}

/// Reads a list of structs, each only from a JSON object (see [`object`]).
pub fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Vec::<FromObject<T>>::deserialize(deserializer)?
        .into_iter()
        .map(|FromObject(item)| item)
        .collect())
}

/// A `T` read with [`object`].
struct FromObject<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for FromObject<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        object(deserializer).map(FromObject)
    }
}

/// A deserializer that asks the one it wraps for a map whatever it is asked for, so a derived
/// struct is read from a JSON object and a JSON list is refused as the wrong type — without
/// building the object as a `Value` first.
struct MapOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for MapOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

/// Parses a list of canonical orders, each only from a JSON object (see [`object`]).
pub fn parse_orders(value: Value) -> Result<Vec<CanonicalOrder>, serde_json::Error> {
    objects(value)
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn order(address: Value, line: Value) -> Value {
        json!([{"marketplace": "shopee", "shop": "s1", "order_sn": "1", "status": "unpaid",
                "address": address, "lines": [line]}])
    }

    #[test]
    fn structs_are_read_from_objects_only() {
        let address = json!({"country": "MY", "state": "Johor", "city": "JB", "postcode": "80000"});
        let line = json!({"store_sku": "A", "qty": 1, "unit_price": "1.00"});
        let orders = parse_orders(order(address.clone(), line.clone())).expect("objects parse");
        assert_eq!(orders[0].address.state, "Johor");
        // The same values by position, in declaration order: each list is refused.
        assert!(parse_orders(order(json!(["MY", "Johor", "JB", "80000"]), line)).is_err());
        assert!(parse_orders(order(address, json!(["A", 1, "1.00"]))).is_err());
        assert!(parse_orders(json!([["shopee", "s1", "1", "unpaid", "", {}, []]])).is_err());
    }
}
