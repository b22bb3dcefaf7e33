//! The Rhai side of the inputs: read-only, cheaply cloned views registered as custom types with
//! getters only, so a script reads `order.lines[0].qty` and a misspelt field is an error, not `()`.
//!
//! Each view is built once per call (one allocation per string) and shared behind an `Arc`, so
//! passing `order` to a function or looping over `candidates` copies a pointer, not the data.

use std::{collections::BTreeMap, sync::Arc};

use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position, INT};
use rust_decimal::Decimal;

use super::inputs::{
    AccountInput, Failure, FeeSettings, Fees, LineInput, OrderInput, PartnershipInput,
    WarehouseCandidate,
};

/// Rhai type `Order`.
#[derive(Debug, Clone)]
pub(crate) struct Order(Arc<OrderView>);

#[derive(Debug)]
struct OrderView {
    order: ImmutableString,
    marketplace: ImmutableString,
    currency: ImmutableString,
    shipping: ImmutableString,
    address: Address,
    lines: Vec<Line>,
}

/// Rhai type `Address`.
#[derive(Debug, Clone)]
struct Address(Arc<AddressView>);

#[derive(Debug)]
struct AddressView {
    country: ImmutableString,
    state: ImmutableString,
    city: ImmutableString,
    postcode: ImmutableString,
}

/// Rhai type `Line`.
#[derive(Debug, Clone)]
struct Line(Arc<LineView>);

#[derive(Debug)]
struct LineView {
    sku: ImmutableString,
    store_sku: ImmutableString,
    qty: INT,
    price: Decimal,
    mapped: bool,
    expired: bool,
    supplier: ImmutableString,
}

/// Rhai type `Partnership`.
#[derive(Debug, Clone)]
pub(crate) struct Partnership(Arc<PartnershipView>);

#[derive(Debug)]
struct PartnershipView {
    supplier: ImmutableString,
    distributor: ImmutableString,
    status: ImmutableString,
}

/// Rhai type `Warehouse`.
#[derive(Debug, Clone)]
pub(crate) struct Warehouse(Arc<WarehouseView>);

#[derive(Debug)]
struct WarehouseView {
    warehouse: ImmutableString,
    supplier: ImmutableString,
    region: ImmutableString,
    stock: BTreeMap<String, INT>,
}

impl From<&OrderInput> for Order {
    fn from(input: &OrderInput) -> Order {
        let address = &input.address;
        Order(Arc::new(OrderView {
            order: input.order.as_str().into(),
            marketplace: input.marketplace.as_str().into(),
            currency: input.currency.as_str().into(),
            shipping: input.shipping.as_str().into(),
            address: Address(Arc::new(AddressView {
                country: address.country.as_str().into(),
                state: address.state.as_str().into(),
                city: address.city.as_str().into(),
                postcode: address.postcode.as_str().into(),
            })),
            lines: input.lines.iter().map(Line::from).collect(),
        }))
    }
}

impl From<&LineInput> for Line {
    fn from(input: &LineInput) -> Line {
        Line(Arc::new(LineView {
            sku: input.sku.as_str().into(),
            store_sku: input.store_sku.as_str().into(),
            qty: input.qty,
            price: input.price,
            mapped: input.mapped,
            expired: input.expired,
            supplier: input.supplier.as_str().into(),
        }))
    }
}

impl From<&PartnershipInput> for Partnership {
    fn from(input: &PartnershipInput) -> Partnership {
        Partnership(Arc::new(PartnershipView {
            supplier: input.supplier.as_str().into(),
            distributor: input.distributor.as_str().into(),
            status: input.status.as_str().into(),
        }))
    }
}

impl From<&WarehouseCandidate> for Warehouse {
    fn from(input: &WarehouseCandidate) -> Warehouse {
        Warehouse(Arc::new(WarehouseView {
            warehouse: input.warehouse.as_str().into(),
            supplier: input.supplier.as_str().into(),
            region: input.region.as_str().into(),
            stock: input.stock.clone(),
        }))
    }
}

impl Warehouse {
    fn available(&self, sku: &str) -> INT {
        self.0.stock.get(sku).copied().unwrap_or(0)
    }

    /// Whether this warehouse's region is `place`, ignoring case; an empty place matches nothing.
    fn in_region(&self, place: &str) -> bool {
        region_matches(&self.0.region, place)
    }

    /// Whether every line's quantity is available here, adding up the lines of one SKU.
    fn holds(&self, order: &Order) -> bool {
        let lines = &order.0.lines;
        lines.iter().enumerate().all(|(index, line)| {
            let sku = &line.0.sku;
            if lines
                .iter()
                .take(index)
                .any(|earlier| earlier.0.sku == *sku)
            {
                return true; // counted with the first line of this SKU
            }
            let needed = lines
                .iter()
                .skip(index)
                .filter(|other| other.0.sku == *sku)
                .fold(0 as INT, |sum, other| sum.saturating_add(other.0.qty));
            self.available(sku) >= needed
        })
    }
}

/// What `Warehouse.in_region` answers: `region` is `place` ignoring case, and an empty place
/// matches nothing. Shared with the native rules so both sides compare regions alike.
pub(crate) fn region_matches(region: &str, place: &str) -> bool {
    if place.is_empty() {
        return false;
    }
    region.eq_ignore_ascii_case(place)
        || (!(region.is_ascii() && place.is_ascii())
            && region.to_lowercase() == place.to_lowercase())
}

/// Registers a custom type under `name` with a read-only getter per listed field (each getter
/// maps `&view` to the value), plus `to_string`/`to_debug` for `print` and `debug`.
macro_rules! register_type {
    ($engine:expr, $ty:ty, $name:literal, { $($field:ident => $get:expr),* $(,)? }) => {{
        $engine.register_type_with_name::<$ty>($name);
        $( $engine.register_get(stringify!($field), |v: &mut $ty| ($get)(&*v)); )*
        $engine.register_fn("to_string", |v: &mut $ty| format!("{v:?}"));
        $engine.register_fn("to_debug", |v: &mut $ty| format!("{v:?}"));
    }};
}

/// Registers every type scripts see.
pub(crate) fn register(engine: &mut Engine) {
    register_type!(engine, Order, "Order", {
        order => |o: &Order| o.0.order.clone(),
        marketplace => |o: &Order| o.0.marketplace.clone(),
        currency => |o: &Order| o.0.currency.clone(),
        shipping => |o: &Order| o.0.shipping.clone(),
        address => |o: &Order| o.0.address.clone(),
        lines => |o: &Order| o.0.lines.iter().cloned().map(Dynamic::from).collect::<Array>(),
    });
    register_type!(engine, Address, "Address", {
        country => |a: &Address| a.0.country.clone(),
        state => |a: &Address| a.0.state.clone(),
        city => |a: &Address| a.0.city.clone(),
        postcode => |a: &Address| a.0.postcode.clone(),
    });
    register_type!(engine, Line, "Line", {
        sku => |l: &Line| l.0.sku.clone(),
        store_sku => |l: &Line| l.0.store_sku.clone(),
        qty => |l: &Line| l.0.qty,
        price => |l: &Line| l.0.price,
        mapped => |l: &Line| l.0.mapped,
        expired => |l: &Line| l.0.expired,
        supplier => |l: &Line| l.0.supplier.clone(),
    });
    register_type!(engine, Partnership, "Partnership", {
        supplier => |p: &Partnership| p.0.supplier.clone(),
        distributor => |p: &Partnership| p.0.distributor.clone(),
        status => |p: &Partnership| p.0.status.clone(),
    });
    register_type!(engine, AccountInput, "Account", {
        balance => |a: &AccountInput| a.balance,
        credit_enabled => |a: &AccountInput| a.credit_enabled,
        credit_limit => |a: &AccountInput| a.credit_limit,
        credit_used => |a: &AccountInput| a.credit_used,
        currency => |a: &AccountInput| a.currency.clone(),
    });
    register_type!(engine, FeeSettings, "FeeSettings", {
        handling => |s: &FeeSettings| s.handling,
        shipping => |s: &FeeSettings| s.shipping,
    });
    register_type!(engine, Fees, "Fees", {
        goods => |f: &Fees| f.goods,
        handling => |f: &Fees| f.handling,
        shipping => |f: &Fees| f.shipping,
    });
    register_type!(engine, Failure, "Failure", {
        code => |f: &Failure| f.code.clone(),
        message => |f: &Failure| f.message.clone(),
    });
    register_type!(engine, Warehouse, "Warehouse", {
        warehouse => |w: &Warehouse| w.0.warehouse.clone(),
        supplier => |w: &Warehouse| w.0.supplier.clone(),
        region => |w: &Warehouse| w.0.region.clone(),
        stock => |w: &Warehouse| w
            .0
            .stock
            .iter()
            .map(|(sku, qty)| (sku.as_str().into(), Dynamic::from_int(*qty)))
            .collect::<Map>(),
    });
    engine.register_fn("total", |fees: &mut Fees| {
        fees.total().ok_or_else(|| {
            Box::new(EvalAltResult::ErrorArithmetic(
                "fees total overflows".to_owned(),
                Position::NONE,
            ))
        })
    });
    engine.register_fn("available", |w: &mut Warehouse, sku: &str| w.available(sku));
    engine.register_fn("in_region", |w: &mut Warehouse, place: &str| {
        w.in_region(place)
    });
    engine.register_fn("holds", |w: &mut Warehouse, order: Order| w.holds(&order));
}

/// The candidates as a Rhai array of `Warehouse`.
pub(crate) fn candidates(input: &[WarehouseCandidate]) -> Array {
    input
        .iter()
        .map(|w| Dynamic::from(Warehouse::from(w)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::AddressInput;

    fn line(sku: &str, qty: INT) -> LineInput {
        LineInput {
            sku: sku.into(),
            store_sku: String::new(),
            qty,
            price: Decimal::ONE,
            mapped: true,
            expired: false,
            supplier: String::new(),
        }
    }

    #[test]
    fn holds_adds_up_the_lines_of_one_sku() {
        let order = Order::from(&OrderInput {
            order: "o".into(),
            marketplace: String::new(),
            currency: "USD".into(),
            shipping: "platform".into(),
            address: AddressInput::default(),
            lines: vec![line("A", 2), line("B", 1), line("A", 3)],
        });
        let warehouse = |a: INT, b: INT| {
            Warehouse::from(&WarehouseCandidate {
                warehouse: "w".into(),
                supplier: String::new(),
                region: String::new(),
                stock: BTreeMap::from([("A".to_owned(), a), ("B".to_owned(), b)]),
            })
        };
        assert!(warehouse(5, 1).holds(&order));
        assert!(!warehouse(4, 1).holds(&order));
        assert!(!warehouse(5, 0).holds(&order));
        assert_eq!(warehouse(5, 0).available("C"), 0);
    }

    #[test]
    fn in_region_ignores_case_and_never_matches_nothing() {
        let warehouse = |region: &str| {
            Warehouse::from(&WarehouseCandidate {
                warehouse: "w".into(),
                supplier: String::new(),
                region: region.into(),
                stock: BTreeMap::new(),
            })
        };
        assert!(warehouse("Selangor").in_region("SELANGOR"));
        assert!(warehouse("Île-de-France").in_region("ÎLE-DE-FRANCE"));
        assert!(!warehouse("Selangor").in_region("Penang"));
        assert!(!warehouse("").in_region(""));
    }
}
