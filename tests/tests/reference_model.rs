//! The reference model: random command sequences run against the engine (through the host
//! protocol, `Engine::execute_line`, on an in-memory SQLite store, and again on PostgreSQL in
//! one database emptied before each sequence) and against a small in-memory model of
//! the order workflow, the ledger and the stock cells written here from
//! docs/protocol.md#stock-and-orders and #ledger. After every command the two must agree on:
//!
//! - the outcome: ok, or the same error code;
//! - every order of every distributor: state, supplier, warehouse, marketplace status, cancel flag;
//! - every ledger account: balance, credit terms, credit used, and its whole transaction list
//!   (type, order, amount, balance after), with balance == sum of its transactions;
//! - every stock cell the distributors and suppliers see (`stock {sku}`): available and locked.
//!
//! The world is fixed and small: suppliers `s1` (warehouses W1 Selangor, W2 Johor; SKUs A, B)
//! and `s2` (W3 Penang; SKUs C and A: both suppliers sell an A, at their own prices),
//! distributors `d1` (partnered with both, so its local SKU A is claimed from both: one product
//! from several suppliers) and `d2` (partnered with `s1` only), store SKUs `SA`/`SB`/`SC` mapped
//! to the local SKUs A/B/C and `SX` mapped to nothing, four orders imported at setup and four
//! order numbers per distributor. The commands, valid and invalid alike: import (new orders and
//! status updates, cancellations included), pack (allocated or named warehouse, seller
//! shipping), split (by lines, by quantity, and invalid groups), push, delivery drain, ship,
//! confirm pickup, withdraw (from `pushed`, `to_pickup` and `shipped`), review withdrawal,
//! after-sale refund, mark shipped, add/deduct balance (and a distributor trying to top up),
//! credit terms, fees, prices, stock pushes, warehouse assignment changes, ending and
//! re-binding partnerships, claims, removing expired claims, turning distribution off and on,
//! and stopping distribution. A command names an order by a pick among the distributor's orders
//! at that moment (mostly one in a state the command applies to), resolved against the model, so
//! sequences reach the later states. Each case runs with automatic delivery on or off (then
//! `Drain` commands deliver).
//!
//! The model keeps money in integer cents and recomputes the fee rule (`price x qty` summed, plus
//! the supplier's handling and shipping), the push checks and the warehouse allocation itself.
//! Two readings of the domain rules (docs/protocol.md#withdrawals-and-refunds, #auto-clear) it
//! holds the engine to: the refunds of an order never exceed its charge (a withdrawal after an
//! after-sale refund returns only the rest), and auto-clear releases every lock of an order holding
//! one in the cleared cells before it clears them. And (docs/protocol.md#auto-clear): an
//! order not pushed yet whose stock auto-clear released (`packed`; `push_failed` holding its lock,
//! or failing its delivery after auto-clear) goes back to `pending`, to be packed again, so no
//! order is ever pushed without the stock it locked (the model checks every `packed` and
//! `push_failed` order holds its locks, and a push needs them).
//!
//! A second run draws its sequences toward the order flow's later states (`fulfilment`, with
//! bursts of one order's life): it must reach every path of [`FULFILMENT_PATHS`] (withdrawals
//! from `pushed`, `to_pickup` and `shipped`, approved and rejected; `stock_released` by each kind
//! of auto-clear and after a failed delivery), or it fails naming what it missed.
//!
//! A failure prints the step, what differed, and the minimal command sequence proptest shrank it
//! to (picks shown as `fit#n`/`#n`, resolved names in the step line). Size: `MODEL_CASES`
//! sequences (default 64; on PostgreSQL `MODEL_PG_CASES`, default 32) of up to `MODEL_STEPS`
//! commands or bursts (default 40); `MODEL_SEED` replays a run (the seed is printed; the
//! default is fixed, so CI is deterministic; `MODEL_SEED=random` explores). Larger:
//! `MODEL_CASES=2000 MODEL_STEPS=120 cargo test -p distributary-tests --test reference_model`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use distributary::{Engine, EngineOptions};
use distributary_tests::pg;
use proptest::{
    collection::vec,
    prelude::*,
    test_runner::{Config, RngSeed, TestCaseError, TestRunner},
};
use serde_json::{json, Value};

// --- the world

const SUPPLIERS: [&str; 2] = ["s1", "s2"];
const DISTRIBUTORS: [&str; 2] = ["d1", "d2"];
/// Warehouses: name, owning supplier, region.
const WAREHOUSES: [(&str, usize, &str); 3] = [
    ("W1", 0, "Selangor"),
    ("W2", 0, "Johor"),
    ("W3", 1, "Penang"),
];
/// Supplier SKUs: code, owning supplier. Two suppliers publish the code A.
const SKUS: [(&str, usize); 4] = [("A", 0), ("B", 0), ("C", 1), ("A", 1)];
/// The distributors' local SKUs, by code: a local SKU is claimed as every supplier SKU of its code.
const CODES: [&str; 3] = ["A", "B", "C"];
/// Store SKUs: the first three map to the local SKUs `CODES` of the same index, the last to
/// nothing.
const STORE_SKUS: [&str; 4] = ["SA", "SB", "SC", "SX"];
/// Order address states; warehouse regions compare ignoring case, an empty state matches none.
const REGIONS: [&str; 4] = ["Selangor", "johor", "Penang", ""];
const STATUSES: [&str; 4] = ["ready_to_ship", "shipped", "cancel_requested", "cancelled"];
const ORDER_NUMBERS: usize = 4;
const MARKETPLACE: &str = "shopee";
const SHOP: &str = "s1";

const PRICES_CENTS: [i64; 4] = [1000, 450, 200, 900];
const FEES_CENTS: [(i64, i64); 2] = [(150, 400), (50, 0)];
const STOCK: [((usize, usize), i64); 6] = [
    ((0, 0), 3),
    ((0, 1), 2),
    ((1, 0), 2),
    ((1, 1), 4),
    ((2, 2), 5),
    ((2, 3), 3),
];
/// Partnered at setup: (supplier, distributor).
const PARTNERED: [(usize, usize); 3] = [(0, 0), (1, 0), (0, 1)];
/// Balances added at setup, cents.
const TOP_UPS: [((usize, usize), i64); 3] = [((0, 0), 4000), ((1, 0), 1000), ((0, 1), 2000)];

/// Imported at setup so that sequences start with work to do: (distributor, number, lines, region).
/// An order line as generated: (store SKU, quantity).
type Line = (usize, u32);

const SETUP_ORDERS: [(usize, usize, &[Line], usize); 4] = [
    (0, 0, &[(0, 1)], 0),
    (0, 1, &[(1, 2), (0, 1)], 1),
    (0, 2, &[(0, 1), (2, 2)], 3),
    (1, 0, &[(0, 2)], 2),
];

const CASES_DEFAULT: u32 = 64;
/// PostgreSQL's default count (see `cases`): about 3 s a sequence in a debug build, against
/// SQLite's 0.2 s. From the default seed the fulfilment run reaches every path of
/// [`FULFILMENT_PATHS`] after 26 sequences.
const CASES_POSTGRES_DEFAULT: u32 = 32;
const STEPS_DEFAULT: usize = 40;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn warehouses_of(supplier: usize) -> impl Iterator<Item = usize> {
    (0..WAREHOUSES.len()).filter(move |&w| WAREHOUSES[w].1 == supplier)
}

fn skus_of(supplier: usize) -> impl Iterator<Item = usize> {
    (0..SKUS.len()).filter(move |&k| SKUS[k].1 == supplier)
}

/// The supplier SKU of `code` that `supplier` publishes.
fn sku_of(code: &str, supplier: usize) -> Option<usize> {
    (0..SKUS.len()).find(|&k| SKUS[k] == (code, supplier))
}

// --- money: integer cents in the model, decimal strings on the wire

/// Thousandths rounded to cents, half away from zero (docs/protocol.md#ledger).
fn mills_to_cents(mills: i64) -> i64 {
    if mills >= 0 {
        (mills + 5) / 10
    } else {
        (mills - 5) / 10
    }
}

fn mills_text(mills: i64) -> String {
    let sign = if mills < 0 { "-" } else { "" };
    format!("{sign}{}.{:03}", mills.abs() / 1000, mills.abs() % 1000)
}

fn cents_text(cents: i64) -> String {
    mills_text(cents * 10)
}

/// A decimal string as cents; `None` when it is not a whole number of cents.
fn parse_cents(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let mut fraction = fraction.to_owned();
    while fraction.len() > 2 && fraction.ends_with('0') {
        fraction.pop();
    }
    if fraction.len() > 2 {
        return None;
    }
    while fraction.len() < 2 {
        fraction.push('0');
    }
    let cents = whole.parse::<i64>().ok()? * 100 + fraction.parse::<i64>().ok()?;
    Some(if negative { -cents } else { cents })
}

// --- commands

/// The order a command names: generated as a pick among the distributor's orders at that moment
/// (or a name it never had), resolved to its name against the model before the step runs.
#[derive(Clone, PartialEq, Eq)]
enum OrderRef {
    /// One of the orders in a state the command's event leaves (any order when none is).
    Fit(usize),
    /// Any order.
    Pick(usize),
    Missing,
    Named(String),
}

impl OrderRef {
    fn name(&self) -> String {
        match self {
            OrderRef::Named(name) => name.clone(),
            _ => format!("{MARKETPLACE}:o{}", ORDER_NUMBERS + 1),
        }
    }
}

impl std::fmt::Debug for OrderRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderRef::Fit(i) => write!(f, "fit#{i}"),
            OrderRef::Pick(i) => write!(f, "#{i}"),
            OrderRef::Missing => write!(f, "missing"),
            OrderRef::Named(name) => write!(f, "{name}"),
        }
    }
}

/// An imported order's name.
fn order_name(number: usize) -> String {
    format!("{MARKETPLACE}:o{}", number + 1)
}

/// One step of a sequence. Indices name `SUPPLIERS`, `DISTRIBUTORS`, `WAREHOUSES`, `SKUS`,
/// `STORE_SKUS`, `REGIONS`, `STATUSES`; amounts are thousandths (`mills`) or cents.
#[derive(Clone, Debug)]
enum Cmd {
    Import {
        d: usize,
        number: usize,
        lines: Vec<Line>,
        region: usize,
        status: usize,
    },
    Pack {
        d: usize,
        order: OrderRef,
        warehouse: Option<usize>,
        seller: bool,
    },
    Split {
        d: usize,
        order: OrderRef,
        groups: SplitGroups,
    },
    Push {
        d: usize,
        order: OrderRef,
    },
    Drain,
    Ship {
        s: Option<usize>,
        d: usize,
        order: OrderRef,
    },
    ConfirmPickup {
        s: Option<usize>,
        d: usize,
        order: OrderRef,
    },
    Withdraw {
        d: usize,
        order: OrderRef,
    },
    ReviewWithdrawal {
        s: Option<usize>,
        d: usize,
        order: OrderRef,
        approve: bool,
    },
    AfterSaleRefund {
        s: Option<usize>,
        d: usize,
        order: OrderRef,
        cents: i64,
    },
    MarkShipped {
        d: usize,
        order: OrderRef,
    },
    AddBalance {
        s: usize,
        d: usize,
        mills: i64,
    },
    DistributorTopUp {
        d: usize,
        s: usize,
    },
    DeductBalance {
        s: usize,
        d: usize,
        mills: i64,
    },
    SetCredit {
        s: usize,
        d: usize,
        enabled: bool,
        mills: i64,
    },
    SetFees {
        s: usize,
        handling: i64,
        shipping: i64,
    },
    SetPrice {
        s: usize,
        sku: usize,
        mills: i64,
    },
    PushStock {
        s: usize,
        warehouse: usize,
        sku: usize,
        available: i64,
    },
    /// The supplier assigns the warehouses of its own whose bit is set in `mask`.
    AssignWarehouses {
        s: usize,
        d: usize,
        mask: u8,
    },
    EndPartnership {
        s: usize,
        d: usize,
    },
    Rebind {
        s: usize,
        d: usize,
    },
    Claim {
        d: usize,
        s: usize,
        sku: usize,
    },
    RemoveExpired {
        d: usize,
        sku: usize,
    },
    SetDistribution {
        s: usize,
        sku: usize,
        enabled: bool,
    },
    StopDistribution {
        d: usize,
        sku: usize,
    },
}

/// The groups a split sends, made from the order's lines as they are when it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SplitGroups {
    /// The first line, then the rest: valid when there are two lines or more.
    Lines,
    /// One group of every line: never valid.
    Whole,
    /// `n` units of the first line, then the rest of it and the other lines: valid when `n` is
    /// below the first line's quantity, or equal to it with other lines.
    Units(i64),
}

fn order_ref() -> impl Strategy<Value = OrderRef> {
    prop_oneof![
        8 => any::<usize>().prop_map(OrderRef::Fit),
        4 => any::<usize>().prop_map(OrderRef::Pick),
        1 => Just(OrderRef::Missing),
    ]
}

/// The supplier of a supplier-side order command: mostly the order's own (`None`), sometimes any.
fn order_supplier() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![6 => Just(None), 1 => (0..SUPPLIERS.len()).prop_map(Some)]
}

/// Thousandths: mostly whole cents, sometimes a fraction of a cent (rounding), zero or negative.
fn mills(max_cents: i64) -> impl Strategy<Value = i64> {
    prop_oneof![
        6 => (1..=max_cents).prop_map(|c| c * 10),
        2 => 1..=max_cents * 10,
        1 => Just(0i64),
        1 => (1..=5i64).prop_map(|units| -units * 1000),
    ]
}

fn command() -> impl Strategy<Value = Cmd> {
    let s = || 0..SUPPLIERS.len();
    let d = || prop_oneof![3 => Just(0usize), 1 => Just(1usize)];
    let sku = || 0..SKUS.len();
    let store_sku =
        prop_oneof![5 => Just(0usize), 3 => Just(1usize), 2 => Just(2usize), 1 => Just(3usize)];
    let line = (store_sku, prop_oneof![12 => 1..=3u32, 1 => Just(0u32)]);
    let status =
        prop_oneof![12 => Just(0usize), 2 => Just(1usize), 1 => Just(2usize), 1 => Just(3usize)];
    prop_oneof![
        6 => (d(), 0..ORDER_NUMBERS, vec(line, 1..=2), 0..REGIONS.len(), status)
            .prop_map(|(d, number, lines, region, status)| Cmd::Import { d, number, lines, region, status }),
        8 => (d(), order_ref(), prop_oneof![4 => Just(None), 1 => (0..WAREHOUSES.len()).prop_map(Some)],
              prop_oneof![12 => Just(false), 1 => Just(true)])
            .prop_map(|(d, order, warehouse, seller)| Cmd::Pack { d, order, warehouse, seller }),
        3 => (d(), order_ref(), prop_oneof![3 => Just(SplitGroups::Lines), 1 => Just(SplitGroups::Whole),
                                              4 => (1..=3i64).prop_map(SplitGroups::Units)])
            .prop_map(|(d, order, groups)| Cmd::Split { d, order, groups }),
        8 => (d(), order_ref()).prop_map(|(d, order)| Cmd::Push { d, order }),
        3 => Just(Cmd::Drain),
        5 => (order_supplier(), d(), order_ref()).prop_map(|(s, d, order)| Cmd::Ship { s, d, order }),
        3 => (order_supplier(), d(), order_ref()).prop_map(|(s, d, order)| Cmd::ConfirmPickup { s, d, order }),
        3 => (d(), order_ref()).prop_map(|(d, order)| Cmd::Withdraw { d, order }),
        3 => (order_supplier(), d(), order_ref(), any::<bool>())
            .prop_map(|(s, d, order, approve)| Cmd::ReviewWithdrawal { s, d, order, approve }),
        2 => (order_supplier(), d(), order_ref(), prop_oneof![1 => Just(0i64), 8 => 1..=3000i64])
            .prop_map(|(s, d, order, cents)| Cmd::AfterSaleRefund { s, d, order, cents }),
        1 => (d(), order_ref()).prop_map(|(d, order)| Cmd::MarkShipped { d, order }),
        4 => (s(), d(), mills(5000)).prop_map(|(s, d, mills)| Cmd::AddBalance { s, d, mills }),
        1 => (d(), s()).prop_map(|(d, s)| Cmd::DistributorTopUp { d, s }),
        1 => (s(), d(), mills(3000)).prop_map(|(s, d, mills)| Cmd::DeductBalance { s, d, mills }),
        2 => (s(), d(), any::<bool>(), mills(3000))
            .prop_map(|(s, d, enabled, mills)| Cmd::SetCredit { s, d, enabled, mills }),
        1 => (s(), mills(800), mills(800))
            .prop_map(|(s, handling, shipping)| Cmd::SetFees { s, handling, shipping }),
        1 => (s(), sku(), mills(2000)).prop_map(|(s, sku, mills)| Cmd::SetPrice { s, sku, mills }),
        // Mostly the warehouse's own supplier and one of its SKUs.
        4 => (0..WAREHOUSES.len(), 0..SKUS.len(), prop_oneof![6 => Just(None), 1 => s().prop_map(Some)], 0..=6i64)
            .prop_map(|(warehouse, sku, s, available)| {
                let owner = WAREHOUSES[warehouse].1;
                let sku = if SKUS[sku].1 == owner { sku } else { skus_of(owner).next().unwrap_or(sku) };
                Cmd::PushStock { s: s.unwrap_or(owner), warehouse, sku, available }
            }),
        2 => (s(), d(), 0..4u8).prop_map(|(s, d, mask)| Cmd::AssignWarehouses { s, d, mask }),
        1 => (s(), d()).prop_map(|(s, d)| Cmd::EndPartnership { s, d }),
        1 => (s(), d()).prop_map(|(s, d)| Cmd::Rebind { s, d }),
        2 => (d(), sku()).prop_map(|(d, sku)| Cmd::Claim { d, s: SKUS[sku].1, sku }),
        1 => (d(), s(), sku()).prop_map(|(d, s, sku)| Cmd::Claim { d, s, sku }),
        2 => (d(), sku()).prop_map(|(d, sku)| Cmd::RemoveExpired { d, sku }),
        1 => (prop_oneof![4 => Just(None), 1 => s().prop_map(Some)], sku(), any::<bool>())
            .prop_map(|(s, sku, enabled)| Cmd::SetDistribution { s: s.unwrap_or(SKUS[sku].1), sku, enabled }),
        2 => (d(), sku()).prop_map(|(d, sku)| Cmd::StopDistribution { d, sku }),
    ]
}

/// Commands weighted toward the order flow's later states (docs/protocol.md#stock-and-orders):
/// packing, pushing, shipping, withdrawals and their review, and the auto-clears (assignment
/// changes, partnership ends, stopped distribution) that meet packed and pushed orders.
fn fulfilment() -> impl Strategy<Value = Cmd> {
    let s = || 0..SUPPLIERS.len();
    let d = || prop_oneof![3 => Just(0usize), 1 => Just(1usize)];
    let sku = || 0..SKUS.len();
    let store_sku = prop_oneof![6 => Just(0usize), 3 => Just(1usize), 2 => Just(2usize)];
    let line = (store_sku, 1..=2u32);
    let status = prop_oneof![14 => Just(0usize), 1 => Just(1usize), 1 => Just(3usize)];
    prop_oneof![
        4 => (d(), 0..ORDER_NUMBERS, vec(line, 1..=2), 0..REGIONS.len(), status)
            .prop_map(|(d, number, lines, region, status)| Cmd::Import { d, number, lines, region, status }),
        8 => (d(), order_ref()).prop_map(|(d, order)| Cmd::Pack { d, order, warehouse: None, seller: false }),
        8 => (d(), order_ref()).prop_map(|(d, order)| Cmd::Push { d, order }),
        3 => Just(Cmd::Drain),
        6 => (d(), order_ref()).prop_map(|(d, order)| Cmd::Ship { s: None, d, order }),
        6 => (d(), order_ref()).prop_map(|(d, order)| Cmd::ConfirmPickup { s: None, d, order }),
        6 => (d(), order_ref()).prop_map(|(d, order)| Cmd::Withdraw { d, order }),
        6 => (d(), order_ref(), any::<bool>())
            .prop_map(|(d, order, approve)| Cmd::ReviewWithdrawal { s: None, d, order, approve }),
        2 => (d(), order_ref(), 1..=500i64)
            .prop_map(|(d, order, cents)| Cmd::AfterSaleRefund { s: None, d, order, cents }),
        3 => (s(), d(), (100..=500i64).prop_map(|c| c * 1000)).prop_map(|(s, d, mills)| Cmd::AddBalance { s, d, mills }),
        3 => (0..WAREHOUSES.len(), 2..=8i64).prop_map(|(warehouse, available)| {
                let owner = WAREHOUSES[warehouse].1;
                let sku = skus_of(owner).next().unwrap_or(0);
                Cmd::PushStock { s: owner, warehouse, sku, available }
            }),
        3 => (s(), d(), 0..4u8).prop_map(|(s, d, mask)| Cmd::AssignWarehouses { s, d, mask }),
        1 => (s(), d()).prop_map(|(s, d)| Cmd::EndPartnership { s, d }),
        2 => (s(), d()).prop_map(|(s, d)| Cmd::Rebind { s, d }),
        1 => (d(), sku()).prop_map(|(d, sku)| Cmd::StopDistribution { d, sku }),
        2 => (d(), sku()).prop_map(|(d, sku)| Cmd::RemoveExpired { d, sku }),
        2 => (d(), sku()).prop_map(|(d, sku)| Cmd::Claim { d, s: SKUS[sku].1, sku }),
    ]
}

/// An order's life in a burst, its picks all `Fit(n)` so that they mostly meet one order: packed and
/// pushed, then delivered, shipped (`stage` 1), picked up (`stage` 2) and withdrawn, the
/// withdrawal approved or rejected; or pushed and its partnership ended before the delivery, then
/// bound again; or packed and its warehouses reassigned (`stage` as the mask), or its SKU's
/// distribution stopped (and claimed again).
fn burst() -> impl Strategy<Value = Vec<Cmd>> {
    let d = prop_oneof![3 => Just(0usize), 1 => Just(1usize)];
    (d, any::<usize>(), 0..=3usize, any::<bool>(), 0..5usize).prop_map(
        |(d, n, stage, approve, end)| {
            let order = || OrderRef::Fit(n);
            let mut cmds = vec![
                Cmd::Pack {
                    d,
                    order: order(),
                    warehouse: None,
                    seller: false,
                },
                Cmd::Push { d, order: order() },
            ];
            match end {
                0 | 1 => {
                    cmds.push(Cmd::Drain);
                    if stage >= 1 {
                        cmds.push(Cmd::Ship {
                            s: None,
                            d,
                            order: order(),
                        });
                    }
                    if stage >= 2 {
                        cmds.push(Cmd::ConfirmPickup {
                            s: None,
                            d,
                            order: order(),
                        });
                    }
                    cmds.push(Cmd::Withdraw { d, order: order() });
                    cmds.push(Cmd::ReviewWithdrawal {
                        s: None,
                        d,
                        order: order(),
                        approve,
                    });
                }
                2 => {
                    cmds.push(Cmd::EndPartnership { s: 0, d });
                    cmds.push(Cmd::Drain);
                    cmds.push(Cmd::Rebind { s: 0, d });
                }
                3 => {
                    cmds.truncate(1);
                    cmds.push(Cmd::AssignWarehouses {
                        s: 0,
                        d,
                        mask: stage as u8,
                    });
                }
                _ => {
                    cmds.truncate(1);
                    cmds.push(Cmd::StopDistribution { d, sku: 0 });
                    cmds.push(Cmd::RemoveExpired { d, sku: 0 });
                    cmds.push(Cmd::Claim { d, s: 0, sku: 0 });
                }
            }
            cmds
        },
    )
}

/// The command with its order picks resolved to names against the model (and a supplier-side
/// command's supplier, when it is the order's own).
fn resolve(model: &Model, cmd: &Cmd) -> Cmd {
    let fit: &[&str] = match cmd {
        Cmd::Pack { .. } | Cmd::Split { .. } => &["pending"],
        Cmd::Push { .. } => &["packed", "push_failed"],
        Cmd::Ship { .. } => &["pushed"],
        Cmd::ConfirmPickup { .. } => &["to_pickup"],
        Cmd::Withdraw { .. } => &["pushed", "to_pickup", "shipped"],
        Cmd::ReviewWithdrawal { .. } => &["withdrawal_requested"],
        Cmd::AfterSaleRefund { .. } => &["pushed", "to_pickup", "shipped", "withdrawal_requested"],
        _ => &[],
    };
    let mut cmd = cmd.clone();
    match &mut cmd {
        Cmd::Pack { d, order, .. }
        | Cmd::Split { d, order, .. }
        | Cmd::Push { d, order }
        | Cmd::Withdraw { d, order }
        | Cmd::MarkShipped { d, order } => *order = model.resolve(*d, order, fit),
        Cmd::Ship { s, d, order }
        | Cmd::ConfirmPickup { s, d, order }
        | Cmd::ReviewWithdrawal { s, d, order, .. }
        | Cmd::AfterSaleRefund { s, d, order, .. } => {
            *order = model.resolve(*d, order, fit);
            let own = model
                .orders
                .get(&(*d, order.name()))
                .and_then(|o| o.supplier);
            *s = Some(s.or(own).unwrap_or(0));
        }
        _ => {}
    }
    cmd
}

// --- the model

type Outcome = Result<(), &'static str>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Partnership {
    Partnered,
    Terminated,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Claim {
    Claimed,
    Expired,
}

#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Cell {
    available: i64,
    locked: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Txn {
    kind: &'static str,
    order: Option<String>,
    amount: i64,
    balance_after: i64,
}

#[derive(Clone, Default, Debug)]
struct Account {
    balance: i64,
    credit: bool,
    limit: i64,
    txns: Vec<Txn>,
}

#[derive(Clone, Debug)]
struct Order {
    /// (store SKU, quantity), merged by store SKU in first-seen order.
    lines: Vec<(usize, i64)>,
    region: usize,
    state: &'static str,
    status: &'static str,
    supplier: Option<usize>,
    warehouse: Option<usize>,
    /// The stock this order holds locked: (warehouse, SKU, quantity).
    locks: Vec<(usize, usize, i64)>,
    /// The charge's total while the order holds it.
    charge: Option<i64>,
    refunded_after_sale: i64,
    /// Delivered to the supplier at least once: the supplier sees it from then on.
    delivered: bool,
    withdrawn_from: Option<&'static str>,
    flagged: bool,
    children: usize,
}

#[derive(Clone, Debug)]
struct Model {
    partnerships: BTreeMap<(usize, usize), Partnership>,
    /// Pairs approved at least once: the ledger account and the distributor's supplier
    /// warehouses (every warehouse of the supplier: invitations here assign all) exist.
    approved: BTreeSet<(usize, usize)>,
    /// Warehouses the supplier took out of a distributor's assignment: (distributor, warehouse).
    /// The distributor's supplier warehouse stays; a re-bind assigns every warehouse again.
    unassigned: BTreeSet<(usize, usize)>,
    /// Live claims by (distributor, supplier SKU); a removed claim is absent. A local SKU has a
    /// claim per supplier SKU of its code.
    claims: BTreeMap<(usize, usize), Claim>,
    prices: [i64; 4],
    enabled: [bool; 4],
    fees: [(i64, i64); 2],
    /// The suppliers' own cells: (warehouse, SKU) -> available.
    own: BTreeMap<(usize, usize), i64>,
    /// The distributors' cells: (distributor, warehouse, SKU).
    cells: BTreeMap<(usize, usize, usize), Cell>,
    /// Ledger accounts by (supplier, distributor).
    ledger: BTreeMap<(usize, usize), Account>,
    /// Orders by (distributor, name).
    orders: BTreeMap<(usize, String), Order>,
    /// Queued deliveries, oldest first.
    queue: Vec<(usize, String)>,
}

fn is_cancellation(status: &str) -> bool {
    status == "cancel_requested" || status == "cancelled"
}

impl Model {
    /// The state the setup in [`Driver::setup`] leaves.
    fn new() -> Model {
        let mut model = Model {
            partnerships: BTreeMap::new(),
            approved: BTreeSet::new(),
            unassigned: BTreeSet::new(),
            claims: BTreeMap::new(),
            prices: PRICES_CENTS,
            enabled: [true; 4],
            fees: FEES_CENTS,
            own: STOCK.iter().copied().collect(),
            cells: BTreeMap::new(),
            ledger: BTreeMap::new(),
            orders: BTreeMap::new(),
            queue: Vec::new(),
        };
        for &(s, d) in &PARTNERED {
            model.partnerships.insert((s, d), Partnership::Partnered);
            model.approved.insert((s, d));
            model.ledger.insert((s, d), Account::default());
            for sku in skus_of(s) {
                model.claim_new(d, s, sku);
            }
        }
        for &((s, d), cents) in &TOP_UPS {
            model
                .post(s, d, "add_balance", None, cents)
                .expect("setup top-up");
        }
        for (d, number, lines, region) in SETUP_ORDERS {
            model
                .import(d, number, lines, region, STATUSES[0])
                .expect("setup import");
        }
        model
    }

    /// A pick among the distributor's orders (in name order; for `Fit`, among those in one of
    /// the `fit` states when there are any), or a name it never had.
    fn resolve(&self, d: usize, order: &OrderRef, fit: &[&str]) -> OrderRef {
        let mine = || self.orders.iter().filter(|((od, _), _)| *od == d);
        let names: Vec<&String> = mine().map(|((_, n), _)| n).collect();
        let fitting: Vec<&String> = mine()
            .filter(|(_, o)| fit.contains(&o.state))
            .map(|((_, n), _)| n)
            .collect();
        match order {
            OrderRef::Fit(i) if !fitting.is_empty() => {
                OrderRef::Named(fitting[i % fitting.len()].clone())
            }
            OrderRef::Fit(i) | OrderRef::Pick(i) if !names.is_empty() => {
                OrderRef::Named(names[i % names.len()].clone())
            }
            OrderRef::Named(name) => OrderRef::Named(name.clone()),
            _ => OrderRef::Named(OrderRef::Missing.name()),
        }
    }

    fn order(&self, d: usize, order: &OrderRef) -> Result<&Order, &'static str> {
        self.orders.get(&(d, order.name())).ok_or("not_found")
    }

    fn order_mut(&mut self, d: usize, name: &str) -> &mut Order {
        self.orders
            .get_mut(&(d, name.to_owned()))
            .expect("the order exists")
    }

    /// An order as the supplier finds it: its own and delivered, else `not_found`.
    fn supplier_order(&self, s: usize, d: usize, order: &OrderRef) -> Result<&Order, &'static str> {
        match self.orders.get(&(d, order.name())) {
            Some(o) if o.supplier == Some(s) && o.delivered => Ok(o),
            _ => Err("not_found"),
        }
    }

    fn partnered(&self, s: usize, d: usize) -> bool {
        self.partnerships.get(&(s, d)) == Some(&Partnership::Partnered)
    }

    /// Appends a ledger transaction; a debit may go below zero only with credit, down to the limit.
    fn post(
        &mut self,
        s: usize,
        d: usize,
        kind: &'static str,
        order: Option<&str>,
        amount: i64,
    ) -> Outcome {
        let account = self.ledger.get_mut(&(s, d)).ok_or("not_partnered")?;
        let after = account.balance + amount;
        if amount < 0 && after < 0 {
            if !account.credit {
                return Err("insufficient_balance");
            }
            if -after > account.limit {
                return Err("credit_limit_exceeded");
            }
        }
        account.balance = after;
        account.txns.push(Txn {
            kind,
            order: order.map(str::to_owned),
            amount,
            balance_after: after,
        });
        Ok(())
    }

    /// A new claim, mirrored into the distributor's warehouses of the supplier at its stock.
    fn claim_new(&mut self, d: usize, s: usize, sku: usize) {
        self.claims.insert((d, sku), Claim::Claimed);
        if self.approved.contains(&(s, d)) {
            for w in warehouses_of(s).filter(|&w| !self.unassigned.contains(&(d, w))) {
                let available = self.own.get(&(w, sku)).copied().unwrap_or(0);
                self.cells.entry((d, w, sku)).or_default().available = available;
            }
        }
    }

    /// Auto-clear (docs/protocol.md#stock-and-orders) of the distributor's cells outside `keep`: an
    /// order holding a lock there gives all its locks back, then the cells go to zero.
    fn clear(&mut self, d: usize, cause: &str, keep: impl Fn(usize, usize) -> bool) {
        let touched: Vec<String> = self
            .orders
            .iter()
            .filter(|((od, _), o)| *od == d && o.locks.iter().any(|&(w, sku, _)| !keep(w, sku)))
            .map(|((_, name), _)| name.clone())
            .collect();
        for name in touched {
            self.release(d, &name);
            self.stock_released(d, &name, cause);
        }
        for (&(cd, w, sku), cell) in self.cells.iter_mut() {
            if cd == d && !keep(w, sku) {
                *cell = Cell::default();
            }
        }
    }

    /// An update's marketplace status, taken by a split order's children too.
    fn pass_status(&mut self, d: usize, name: &str, status: &'static str) {
        let order = self.order_mut(d, name);
        order.status = status;
        if order.state == "split" {
            for c in 1..=order.children {
                self.pass_status(d, &format!("{name}/{c}"), status);
            }
        }
    }

    /// `stock_released`: an order not pushed yet that holds no stock any more goes back to be
    /// packed again, its supplier and warehouse forgotten.
    fn stock_released(&mut self, d: usize, name: &str, cause: &str) {
        let order = self.order_mut(d, name);
        if matches!(order.state, "packed" | "push_failed") && order.locks.is_empty() {
            note(format!("stock_released from {} by {cause}", order.state));
            order.state = "pending";
            order.supplier = None;
            order.warehouse = None;
        }
    }

    fn release(&mut self, d: usize, name: &str) {
        let locks = std::mem::take(&mut self.order_mut(d, name).locks);
        for (w, sku, qty) in locks {
            let cell = self
                .cells
                .get_mut(&(d, w, sku))
                .expect("a locked cell exists");
            cell.available += qty;
            cell.locked -= qty;
        }
    }

    /// Returns what the order was charged and not yet refunded after sale.
    fn refund(&mut self, d: usize, name: &str, kind: &'static str) {
        let order = self.order_mut(d, name);
        let (Some(total), Some(s)) = (order.charge.take(), order.supplier) else {
            return;
        };
        let amount = total - order.refunded_after_sale;
        if amount != 0 {
            self.post(s, d, kind, Some(name), amount)
                .expect("a credit is always accepted");
        }
    }

    /// A marketplace cancellation (docs/protocol.md#stock-and-orders).
    fn cancel(&mut self, d: usize, name: &str) {
        let order = self.order_mut(d, name);
        let (state, children, status) = (order.state, order.children, order.status);
        match state {
            "split" => {
                for c in 1..=children {
                    let child = format!("{name}/{c}");
                    self.order_mut(d, &child).status = status;
                    self.cancel(d, &child);
                }
            }
            "pending" | "packed" | "push_failed" => {
                self.order_mut(d, name).state = "cancelled";
                self.release(d, name);
            }
            "pushing" | "pushed" => {
                self.order_mut(d, name).state = "withdrawn";
                self.refund(d, name, "withdrawal_refund");
                self.release(d, name);
            }
            _ => self.order_mut(d, name).flagged = true,
        }
    }

    fn drain(&mut self) {
        for (d, name) in std::mem::take(&mut self.queue) {
            let order = &self.orders[&(d, name.clone())];
            if order.state != "pushing" {
                continue;
            }
            let s = order.supplier.expect("a pushed order has a supplier");
            let partnered = self.partnered(s, d);
            let order = self.order_mut(d, &name);
            if partnered {
                order.state = "pushed";
                order.delivered = true;
            } else {
                order.state = "push_failed";
                self.refund(d, &name, "push_failed_refund");
                self.stock_released(d, &name, "delivery_failed");
            }
        }
    }

    fn apply(&mut self, cmd: &Cmd) -> Outcome {
        let unresolved = || panic!("the command is resolved first");
        match cmd.clone() {
            Cmd::Import {
                d,
                number,
                lines,
                region,
                status,
            } => self.import(d, number, &lines, region, STATUSES[status]),
            Cmd::Pack {
                d,
                order,
                warehouse,
                seller,
            } => self.pack(d, order, warehouse, seller),
            Cmd::Split { d, order, groups } => self.split(d, order, groups),
            Cmd::Push { d, order } => self.push(d, order),
            Cmd::Drain => Ok(()),
            Cmd::Ship { s, d, order } => {
                let s = s.unwrap_or_else(unresolved);
                self.supplier_move(s, d, &order, &["pushed"], |model, name| {
                    let locks = std::mem::take(&mut model.order_mut(d, name).locks);
                    for (w, sku, qty) in locks {
                        model
                            .cells
                            .get_mut(&(d, w, sku))
                            .expect("a locked cell exists")
                            .locked -= qty;
                    }
                    "to_pickup"
                })
            }
            Cmd::ConfirmPickup { s, d, order } => {
                let s = s.unwrap_or_else(unresolved);
                self.supplier_move(s, d, &order, &["to_pickup"], |_, _| "shipped")
            }
            Cmd::Withdraw { d, order } => {
                let o = self.order(d, &order)?;
                let from = o.state;
                if !["pushed", "to_pickup", "shipped"].contains(&from) {
                    return Err("invalid_transition");
                }
                note(format!("withdraw from {from}"));
                let o = self.order_mut(d, &order.name());
                o.state = "withdrawal_requested";
                o.withdrawn_from = Some(from);
                Ok(())
            }
            Cmd::ReviewWithdrawal {
                s,
                d,
                order,
                approve,
            } => {
                let s = s.unwrap_or_else(unresolved);
                self.supplier_move(s, d, &order, &["withdrawal_requested"], |model, name| {
                    let from = model.order_mut(d, name).withdrawn_from.unwrap_or_default();
                    note(format!("review_withdrawal approve={approve} from {from}"));
                    if approve {
                        model.refund(d, name, "withdrawal_refund");
                        model.release(d, name);
                        "withdrawn"
                    } else {
                        model
                            .order_mut(d, name)
                            .withdrawn_from
                            .take()
                            .expect("withdrawn from")
                    }
                })
            }
            Cmd::AfterSaleRefund { s, d, order, cents } => {
                let s = s.unwrap_or_else(unresolved);
                let o = self.supplier_order(s, d, &order)?;
                let Some(total) = o.charge else {
                    return Err("invalid_transition");
                };
                if cents <= 0 || cents > total - o.refunded_after_sale {
                    return Err("bad_request");
                }
                self.post(s, d, "after_sale_refund", Some(&order.name()), cents)?;
                self.order_mut(d, &order.name()).refunded_after_sale += cents;
                Ok(())
            }
            Cmd::MarkShipped { d, order } => {
                self.order(d, &order)?;
                Err("invalid_transition")
            }
            Cmd::AddBalance { s, d, mills } => self.balance_change(s, d, mills, 1, "add_balance"),
            Cmd::DistributorTopUp { .. } => Err("distributor_cannot_top_up"),
            Cmd::DeductBalance { s, d, mills } => {
                self.balance_change(s, d, mills, -1, "deduct_balance")
            }
            Cmd::SetCredit {
                s,
                d,
                enabled,
                mills,
            } => {
                let account = self.ledger.get_mut(&(s, d)).ok_or("not_partnered")?;
                let limit = mills_to_cents(mills);
                if limit < 0 {
                    return Err("bad_request");
                }
                account.credit = enabled;
                account.limit = limit;
                Ok(())
            }
            Cmd::SetFees {
                s,
                handling,
                shipping,
            } => {
                let (handling, shipping) = (mills_to_cents(handling), mills_to_cents(shipping));
                if handling < 0 || shipping < 0 {
                    return Err("bad_request");
                }
                self.fees[s] = (handling, shipping);
                Ok(())
            }
            Cmd::SetPrice { s, sku, mills } => {
                let sku = sku_of(SKUS[sku].0, s).ok_or("not_found")?;
                let price = mills_to_cents(mills);
                if price <= 0 {
                    return Err("bad_request");
                }
                self.prices[sku] = price;
                Ok(())
            }
            Cmd::PushStock {
                s,
                warehouse,
                sku,
                available,
            } => {
                let sku = sku_of(SKUS[sku].0, s).ok_or("not_found")?;
                if WAREHOUSES[warehouse].1 != s {
                    return Err("not_found");
                }
                self.own.insert((warehouse, sku), available);
                for d in 0..DISTRIBUTORS.len() {
                    let mirrored = self.approved.contains(&(s, d))
                        && !self.unassigned.contains(&(d, warehouse))
                        && self.claims.get(&(d, sku)) == Some(&Claim::Claimed);
                    if let (true, Some(cell)) = (mirrored, self.cells.get_mut(&(d, warehouse, sku)))
                    {
                        cell.available = available;
                    }
                }
                Ok(())
            }
            Cmd::AssignWarehouses { s, d, mask } => {
                if !self.partnerships.contains_key(&(s, d)) {
                    return Err("not_found");
                }
                for (bit, w) in warehouses_of(s).enumerate() {
                    let assign = mask & (1 << bit) != 0;
                    let was = !self.unassigned.contains(&(d, w));
                    if was && !assign {
                        self.clear(d, "assign_warehouses", |cw, _| cw != w);
                    }
                    if assign {
                        self.unassigned.remove(&(d, w));
                    } else {
                        self.unassigned.insert((d, w));
                    }
                }
                Ok(())
            }
            Cmd::EndPartnership { s, d } => {
                match self.partnerships.get(&(s, d)) {
                    None => return Err("not_found"),
                    Some(Partnership::Partnered) => {}
                    Some(_) => return Err("invalid_transition"),
                }
                self.partnerships.insert((s, d), Partnership::Terminated);
                self.clear(d, "end_partnership", |w, _| WAREHOUSES[w].1 != s);
                for sku in skus_of(s) {
                    if let Some(claim) = self.claims.get_mut(&(d, sku)) {
                        *claim = Claim::Expired;
                    }
                }
                Ok(())
            }
            Cmd::Rebind { s, d } => {
                if self.partnered(s, d) {
                    return Err("already_partnered");
                }
                self.partnerships.insert((s, d), Partnership::Partnered);
                self.approved.insert((s, d));
                for w in warehouses_of(s) {
                    self.unassigned.remove(&(d, w));
                }
                self.ledger.entry((s, d)).or_default();
                for sku in skus_of(s) {
                    if self.claims.get(&(d, sku)) == Some(&Claim::Claimed) {
                        self.claim_new(d, s, sku);
                    }
                }
                Ok(())
            }
            Cmd::Claim { d, s, sku } => {
                if !self.partnered(s, d) {
                    return Err("not_partnered");
                }
                let sku = sku_of(SKUS[sku].0, s).ok_or("not_found")?;
                // Claiming again what is claimed changes nothing; an expired claim is removed
                // before it is claimed again.
                if self.claims.get(&(d, sku)) == Some(&Claim::Claimed) {
                    return Ok(());
                }
                if !self.enabled[sku] {
                    return Err("product_expired");
                }
                if self.claims.contains_key(&(d, sku)) {
                    return Err("bad_request");
                }
                self.claim_new(d, s, sku);
                Ok(())
            }
            Cmd::RemoveExpired { d, sku } => {
                let targets = self.claims_in(d, SKUS[sku].0, Claim::Expired)?;
                for k in targets {
                    self.claims.remove(&(d, k));
                }
                Ok(())
            }
            Cmd::SetDistribution { s, sku, enabled } => {
                let sku = sku_of(SKUS[sku].0, s).ok_or("not_found")?;
                self.enabled[sku] = enabled;
                if !enabled {
                    for ((_, k), claim) in self.claims.iter_mut() {
                        if *k == sku {
                            *claim = Claim::Expired;
                        }
                    }
                }
                Ok(())
            }
            Cmd::StopDistribution { d, sku } => {
                let targets = self.claims_in(d, SKUS[sku].0, Claim::Claimed)?;
                for &k in &targets {
                    self.claims.insert((d, k), Claim::Expired);
                }
                self.clear(d, "stop_distribution", |_, k| !targets.contains(&k));
                Ok(())
            }
        }
    }

    fn import(
        &mut self,
        d: usize,
        number: usize,
        lines: &[Line],
        region: usize,
        status: &'static str,
    ) -> Outcome {
        let name = order_name(number);
        if let Some(order) = self.orders.get_mut(&(d, name.clone())) {
            let was_cancelled = is_cancellation(order.status);
            self.pass_status(d, &name, status);
            if is_cancellation(status) && !was_cancelled {
                self.cancel(d, &name);
            }
            return Ok(());
        }
        if lines.iter().any(|&(_, qty)| qty == 0) {
            return Err("bad_request");
        }
        let mut merged: Vec<(usize, i64)> = Vec::new();
        for &(store_sku, qty) in lines {
            match merged.iter_mut().find(|(s, _)| *s == store_sku) {
                Some(line) => line.1 += i64::from(qty),
                None => merged.push((store_sku, i64::from(qty))),
            }
        }
        self.orders.insert(
            (d, name.clone()),
            Order {
                lines: merged,
                region,
                state: "pending",
                status,
                supplier: None,
                warehouse: None,
                locks: Vec::new(),
                charge: None,
                refunded_after_sale: 0,
                delivered: false,
                withdrawn_from: None,
                flagged: false,
                children: 0,
            },
        );
        if is_cancellation(status) {
            self.cancel(d, &name);
        }
        Ok(())
    }

    /// The supplier SKUs whose live claims stand behind the local SKU `code`, in `state`: a
    /// command on a local SKU acts on its claims in the state the event leaves; `not_found`
    /// without claims, `invalid_transition` when none is in that state.
    fn claims_in(&self, d: usize, code: &str, state: Claim) -> Result<Vec<usize>, &'static str> {
        let live: Vec<usize> = (0..SKUS.len())
            .filter(|&k| SKUS[k].0 == code && self.claims.contains_key(&(d, k)))
            .collect();
        if live.is_empty() {
            return Err("not_found");
        }
        let targets: Vec<usize> = live
            .into_iter()
            .filter(|&k| self.claims[&(d, k)] == state)
            .collect();
        if targets.is_empty() {
            return Err("invalid_transition");
        }
        Ok(targets)
    }

    /// The supplier SKUs a line of `store_sku` may ship as: the claims behind its local SKU, the
    /// `claimed` ones, or the expired ones when none is claimed; empty when unmapped.
    fn sources(&self, d: usize, store_sku: usize) -> Vec<usize> {
        let Some(code) = CODES.get(store_sku) else {
            return Vec::new();
        };
        let live: Vec<usize> = (0..SKUS.len())
            .filter(|&k| SKUS[k].0 == *code && self.claims.contains_key(&(d, k)))
            .collect();
        let claimed: Vec<usize> = live
            .iter()
            .copied()
            .filter(|&k| self.claims[&(d, k)] == Claim::Claimed)
            .collect();
        if claimed.is_empty() {
            live
        } else {
            claimed
        }
    }

    /// The claim behind a line of `store_sku` from `supplier`, in any state.
    fn claim_from(&self, d: usize, store_sku: usize, supplier: usize) -> Option<usize> {
        let k = sku_of(CODES.get(store_sku)?, supplier)?;
        self.claims.contains_key(&(d, k)).then_some(k)
    }

    fn pack(
        &mut self,
        d: usize,
        order: OrderRef,
        warehouse: Option<usize>,
        seller: bool,
    ) -> Outcome {
        let o = self.order(d, &order)?;
        if o.state != "pending" {
            return Err("invalid_transition");
        }
        // Each line with the supplier SKUs it may ship as (one per supplier of its local SKU).
        let mut lines: Vec<(usize, Vec<usize>, i64)> = Vec::new();
        for &(store_sku, qty) in &o.lines {
            let sources = self.sources(d, store_sku);
            if sources.is_empty() {
                return Err("sku_not_mapped");
            }
            lines.push((store_sku, sources, qty));
        }
        let suppliers: BTreeSet<usize> = lines
            .iter()
            .flat_map(|(_, sources, _)| sources.iter().map(|&k| SKUS[k].1))
            .collect();
        let covers = |s: usize| {
            lines
                .iter()
                .all(|(_, sources, _)| sources.iter().any(|&k| SKUS[k].1 == s))
        };
        if !suppliers.iter().any(|&s| covers(s)) {
            return Err("multi_warehouse_order");
        }
        // Every warehouse of every supplier the lines are claimed from, by supplier.
        let candidates: Vec<usize> = suppliers
            .iter()
            .filter(|&&s| self.approved.contains(&(s, d)))
            .flat_map(|&s| warehouses_of(s))
            .filter(|&w| !self.unassigned.contains(&(d, w)))
            .collect();
        // What warehouse `w` holds of a line: its supplier's SKU of the line's local SKU.
        let source = |w: usize, sources: &[usize]| {
            sources
                .iter()
                .copied()
                .find(|&k| SKUS[k].1 == WAREHOUSES[w].1)
        };
        let available = |w: usize, sources: &[usize]| {
            source(w, sources)
                .and_then(|k| self.cells.get(&(d, w, k)))
                .map_or(0, |c| c.available)
        };
        let holds = |w: usize| {
            lines
                .iter()
                .all(|(_, sources, qty)| available(w, sources) >= *qty)
        };
        let chosen = match warehouse {
            Some(w) if !candidates.contains(&w) => return Err("not_found"),
            Some(w) => w,
            None if !candidates.iter().any(|&w| holds(w)) => {
                let union_holds = lines.iter().all(|(_, sources, qty)| {
                    candidates
                        .iter()
                        .map(|&w| available(w, sources))
                        .sum::<i64>()
                        >= *qty
                });
                if union_holds {
                    return Err("multi_warehouse_order");
                }
                return Err(if seller {
                    "seller_delivery_unsupported"
                } else {
                    "insufficient_stock"
                });
            }
            None => {
                // allocate_warehouse.rhai: the order's state, then its country (no region here
                // is a country), then any warehouse that holds every line.
                let state = REGIONS[o.region];
                let in_state =
                    |w: usize| !state.is_empty() && WAREHOUSES[w].2.eq_ignore_ascii_case(state);
                let fitting: Vec<usize> =
                    candidates.iter().copied().filter(|&w| holds(w)).collect();
                fitting
                    .iter()
                    .copied()
                    .find(|&w| in_state(w))
                    .unwrap_or(fitting[0])
            }
        };
        if seller {
            return Err("seller_delivery_unsupported");
        }
        if !holds(chosen) {
            return Err("insufficient_stock");
        }
        // The chosen warehouse decides the supplier, and each line its SKU.
        let mut locks = Vec::new();
        for (_, sources, qty) in &lines {
            let sku = source(chosen, sources).expect("a warehouse that holds the line");
            locks.push((chosen, sku, *qty));
        }
        for &(w, sku, qty) in &locks {
            let cell = self
                .cells
                .get_mut(&(d, w, sku))
                .expect("a cell that holds stock");
            cell.available -= qty;
            cell.locked += qty;
        }
        let o = self.order_mut(d, &order.name());
        o.state = "packed";
        o.supplier = Some(WAREHOUSES[chosen].1);
        o.warehouse = Some(chosen);
        o.locks = locks;
        Ok(())
    }

    fn split(&mut self, d: usize, order: OrderRef, groups: SplitGroups) -> Outcome {
        let o = self.order(d, &order)?;
        let groups = split_groups(&o.lines, groups);
        // Every unit of every line exactly once, in two or more non-empty groups.
        let mut covered: BTreeMap<usize, i64> = BTreeMap::new();
        for &(store_sku, qty) in groups.iter().flatten() {
            *covered.entry(store_sku).or_default() += qty;
        }
        let exact = o
            .lines
            .iter()
            .all(|&(store_sku, qty)| covered.get(&store_sku) == Some(&qty));
        if groups.len() < 2
            || groups.iter().any(Vec::is_empty)
            || groups.iter().flatten().any(|&(_, qty)| qty < 1)
            || !exact
        {
            return Err("bad_request");
        }
        if o.state != "pending" {
            return Err("invalid_transition");
        }
        let parent = o.clone();
        let name = order.name();
        for (i, group) in groups.iter().enumerate() {
            // The parent's lines in its order, each with the quantity this child takes.
            let lines = parent
                .lines
                .iter()
                .filter_map(|&(store_sku, _)| {
                    group
                        .iter()
                        .find(|&&(s, _)| s == store_sku)
                        .map(|&(_, qty)| (store_sku, qty))
                })
                .collect();
            let child = Order {
                lines,
                children: 0,
                ..parent.clone()
            };
            self.orders.insert((d, format!("{name}/{}", i + 1)), child);
        }
        let o = self.order_mut(d, &name);
        o.state = "split";
        o.children = groups.len();
        Ok(())
    }

    fn push(&mut self, d: usize, order: OrderRef) -> Outcome {
        let o = self.order(d, &order)?;
        // No order is pushed without the stock it locked.
        if (o.state != "packed" && o.state != "push_failed") || o.locks.is_empty() {
            return Err("invalid_transition");
        }
        let s = o.supplier.expect("a packed order has a supplier");
        // push_checks.rhai, in its order; the first failure is the answer.
        let mut failures = Vec::new();
        if !self.partnered(s, d) {
            failures.push("not_partnered");
        }
        let mut unmapped = false;
        let mut expired = false;
        let mut goods = 0;
        for &(store_sku, qty) in &o.lines {
            // The claim from the order's supplier, whose price is charged.
            match self.claim_from(d, store_sku, s) {
                None => unmapped = true,
                Some(sku) => {
                    goods += self.prices[sku] * qty;
                    if self.claims[&(d, sku)] != Claim::Claimed || !self.enabled[sku] {
                        expired = true;
                    }
                }
            }
        }
        if unmapped {
            failures.push("sku_not_mapped");
        }
        if expired {
            failures.push("product_expired");
        }
        // fees.rhai: goods, then the supplier's handling and shipping once per order.
        let (handling, shipping) = self.fees[s];
        let total = goods + handling + shipping;
        let account = &self.ledger[&(s, d)];
        if account.credit {
            let funds = account.balance.max(0);
            let unused = account.limit - (-account.balance).max(0);
            if funds + unused < total {
                failures.push("credit_limit_exceeded");
            }
        } else if account.balance < total {
            failures.push("insufficient_balance");
        }
        if let Some(&first) = failures.first() {
            return Err(first);
        }
        let name = order.name();
        self.post(s, d, "order_charge", Some(&name), -total)?;
        let o = self.order_mut(d, &name);
        o.state = "pushing";
        o.charge = Some(total);
        self.queue.push((d, name));
        Ok(())
    }

    /// A supplier's transition on a delivered order: from one of `from`, to what `to` returns.
    fn supplier_move(
        &mut self,
        s: usize,
        d: usize,
        order: &OrderRef,
        from: &[&str],
        to: impl FnOnce(&mut Model, &str) -> &'static str,
    ) -> Outcome {
        let o = self.supplier_order(s, d, order)?;
        if !from.contains(&o.state) {
            return Err("invalid_transition");
        }
        let name = order.name();
        let state = to(self, &name);
        self.order_mut(d, &name).state = state;
        Ok(())
    }

    fn balance_change(
        &mut self,
        s: usize,
        d: usize,
        mills: i64,
        sign: i64,
        kind: &'static str,
    ) -> Outcome {
        if !self.ledger.contains_key(&(s, d)) {
            return Err("not_partnered");
        }
        let amount = mills_to_cents(mills);
        if amount <= 0 {
            return Err("bad_request");
        }
        self.post(s, d, kind, None, sign * amount)
    }

    /// The model's own invariants: a cell's locked stock is what the orders hold locked there,
    /// every order that could be pushed (`packed`, `push_failed`) holds its stock, and an order
    /// holding locks holds every unit of its lines (a split child its own share) in its
    /// warehouse, as its supplier's SKUs.
    fn check_locks(&self) -> Result<(), String> {
        for ((d, name), order) in &self.orders {
            if matches!(order.state, "packed" | "push_failed") && order.locks.is_empty() {
                return Err(format!(
                    "model order {d}/{name} is {} holding no stock",
                    order.state
                ));
            }
        }
        let mut held: BTreeMap<(usize, usize, usize), i64> = BTreeMap::new();
        for ((d, name), order) in &self.orders {
            let whole = order.locks.is_empty()
                || (order.locks.len() == order.lines.len()
                    && order.locks.iter().zip(&order.lines).all(|(lock, line)| {
                        Some(lock.0) == order.warehouse
                            && Some(SKUS[lock.1].1) == order.supplier
                            && Some(SKUS[lock.1].0) == CODES.get(line.0).copied()
                            && lock.2 == line.1
                    }));
            if !whole {
                return Err(format!(
                    "model order {d}/{name} holds {:?} for its lines {:?}",
                    order.locks, order.lines
                ));
            }
        }
        for ((d, _), order) in &self.orders {
            for &(w, sku, qty) in &order.locks {
                *held.entry((*d, w, sku)).or_default() += qty;
            }
        }
        for (key, cell) in &self.cells {
            let expected = held.get(key).copied().unwrap_or(0);
            if cell.locked != expected || cell.available < 0 {
                return Err(format!(
                    "model cell {key:?} is {cell:?}, its orders hold {expected}"
                ));
            }
        }
        Ok(())
    }
}

/// The groups a split sends for an order of `lines`: `(store SKU, quantity)` per item.
fn split_groups(lines: &[(usize, i64)], groups: SplitGroups) -> Vec<Vec<(usize, i64)>> {
    let Some((&(first, qty), rest)) = lines.split_first() else {
        return vec![Vec::new()];
    };
    match groups {
        SplitGroups::Lines => vec![vec![(first, qty)], rest.to_vec()],
        SplitGroups::Whole => vec![lines.to_vec()],
        SplitGroups::Units(n) => {
            let mut second: Vec<(usize, i64)> = Vec::new();
            if qty > n {
                second.push((first, qty - n));
            }
            second.extend_from_slice(rest);
            vec![vec![(first, n)], second]
        }
    }
}

// --- the engine, through the host protocol

/// Where a sequence's engine keeps its store.
#[derive(Clone, Copy)]
enum Backend<'d> {
    /// SQLite in memory: a fresh store per sequence.
    Memory,
    /// A PostgreSQL database made once per run and emptied before each sequence
    /// (`pg::Database::reset`): making a database per sequence would cost more than the sequence.
    Postgres(&'d pg::Database),
}

impl Backend<'_> {
    fn name(self) -> &'static str {
        match self {
            Backend::Memory => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }
}

struct Driver {
    engine: Engine,
    requests: u64,
}

impl Driver {
    /// An engine on an empty store of `backend`, with the world set up. The previous
    /// sequence's engine is closed by then (`run` drops it), so emptying the database waits
    /// for nobody.
    fn open(backend: Backend<'_>, auto_deliver: bool) -> Driver {
        let options = EngineOptions {
            auto_deliver,
            ..EngineOptions::default()
        };
        let path = match backend {
            Backend::Memory => PathBuf::from(":memory:"),
            Backend::Postgres(db) => {
                db.reset();
                db.path()
            }
        };
        let engine = Engine::open(&path, options).expect("the engine opens");
        let mut driver = Driver {
            engine,
            requests: 0,
        };
        driver.setup();
        driver
    }

    /// One request line; the result, or the error code.
    fn call(&mut self, actor: &str, cmd: &str, args: Value) -> Result<Value, String> {
        self.requests += 1;
        let request = json!({"id": self.requests, "as": actor, "cmd": cmd, "args": args});
        let answer = self.engine.execute_line(&request.to_string());
        if answer["ok"] == json!(true) {
            Ok(answer["result"].clone())
        } else {
            Err(answer["error"]["code"]
                .as_str()
                .unwrap_or("<no code>")
                .to_owned())
        }
    }

    fn must(&mut self, actor: &str, cmd: &str, args: Value) -> Value {
        self.call(actor, cmd, args.clone())
            .unwrap_or_else(|code| panic!("setup `{cmd}` as {actor} {args} failed: {code}"))
    }

    fn setup(&mut self) {
        for (account, plan) in [("s1", "V3"), ("s2", "V3"), ("d1", "V1"), ("d2", "V1")] {
            self.must(
                "system",
                "create_account",
                json!({"account": account, "plan": plan, "inventory": true, "currency": "MYR"}),
            );
        }
        for (warehouse, s, region) in WAREHOUSES {
            self.must(
                SUPPLIERS[s],
                "create_warehouse",
                json!({"warehouse": warehouse, "name": warehouse, "region": region}),
            );
        }
        for (k, (sku, s)) in SKUS.iter().enumerate() {
            self.must(
                SUPPLIERS[*s],
                "publish_product",
                json!({"sku": sku, "name": sku, "price": cents_text(PRICES_CENTS[k])}),
            );
        }
        for (s, (handling, shipping)) in FEES_CENTS.iter().enumerate() {
            self.must(
                SUPPLIERS[s],
                "set_fees",
                json!({"handling": cents_text(*handling), "shipping": cents_text(*shipping)}),
            );
        }
        for ((w, k), available) in STOCK {
            let s = WAREHOUSES[w].1;
            self.must(SUPPLIERS[s], "push_stock", json!({"warehouse": WAREHOUSES[w].0, "items": [{"sku": SKUS[k].0, "available": available}]}));
        }
        for (s, d) in PARTNERED {
            self.bind(s, d).expect("setup partnership");
            let skus: Vec<&str> = skus_of(s).map(|k| SKUS[k].0).collect();
            self.must(
                DISTRIBUTORS[d],
                "claim",
                json!({"supplier": SUPPLIERS[s], "skus": skus}),
            );
        }
        // d2 has a local SKU C of its own, claimed from nobody: its SC lines are not mapped.
        self.must("d2", "create_sku", json!({"sku": "C", "name": "C"}));
        for d in DISTRIBUTORS {
            for (k, sku) in CODES.iter().enumerate() {
                self.must(d, "map_store_sku", json!({"sku": sku, "marketplace": MARKETPLACE, "shop": SHOP, "store_sku": STORE_SKUS[k]}));
            }
        }
        for ((s, d), cents) in TOP_UPS {
            self.must(
                SUPPLIERS[s],
                "add_balance",
                json!({"distributor": DISTRIBUTORS[d], "amount": cents_text(cents)}),
            );
        }
        for (d, number, lines, region) in SETUP_ORDERS {
            let cmd = Cmd::Import {
                d,
                number,
                lines: lines.to_vec(),
                region,
                status: 0,
            };
            self.send(&cmd)
                .unwrap_or_else(|code| panic!("setup {cmd:?} failed: {code}"));
        }
    }

    /// Invitation (every warehouse of the supplier), bind, approval.
    fn bind(&mut self, s: usize, d: usize) -> Result<Value, String> {
        let warehouses: Vec<&str> = warehouses_of(s).map(|w| WAREHOUSES[w].0).collect();
        let link = self
            .call(
                SUPPLIERS[s],
                "create_invitation",
                json!({"warehouses": warehouses}),
            )
            .map_err(|code| format!("create_invitation: {code}"))?["link"]
            .clone();
        self.call(DISTRIBUTORS[d], "bind_supplier", json!({"link": link}))?;
        self.call(
            SUPPLIERS[s],
            "review_partnership",
            json!({"distributor": DISTRIBUTORS[d], "approve": true}),
        )
        .map_err(|code| format!("review_partnership: {code}"))
    }

    /// Sends the command; the error code when it fails.
    fn send(&mut self, cmd: &Cmd) -> Result<(), String> {
        let on = |order: OrderRef| order.name();
        let supplier = |s: Option<usize>| {
            SUPPLIERS[s.unwrap_or_else(|| panic!("the command is resolved first"))]
        };
        let result = match cmd.clone() {
            Cmd::Import { d, number, lines, region, status } => {
                let lines: Vec<Value> = lines
                    .iter()
                    .map(|&(k, qty)| json!({"store_sku": STORE_SKUS[k], "qty": qty, "unit_price": "9.90"}))
                    .collect();
                let order = json!({"marketplace": MARKETPLACE, "shop": SHOP, "order_sn": format!("o{}", number + 1),
                    "status": STATUSES[status], "currency": "MYR",
                    "address": {"country": "MY", "state": REGIONS[region]}, "lines": lines});
                self.call(DISTRIBUTORS[d], "import_orders", json!({"marketplace": MARKETPLACE, "format": "canonical", "payload": [order]}))
            }
            Cmd::Pack { d, order, warehouse, seller } => {
                let mut args = json!({"order": on(order)});
                if let Some(w) = warehouse {
                    args["warehouse"] = json!(WAREHOUSES[w].0);
                }
                if seller {
                    args["shipping"] = json!("seller");
                }
                self.call(DISTRIBUTORS[d], "pack", args)
            }
            Cmd::Split { d, order, groups } => {
                // Made from the lines as the engine reports them: the engine refuses what the
                // model refuses, so a missing order sends one empty group. A whole line is named
                // by its store SKU, part of one as `{store_sku, qty}`.
                let name = on(order);
                let lines = self.lines_of(d, &name);
                let groups: Vec<Vec<Value>> = split_groups(&lines, groups)
                    .into_iter()
                    .map(|group| {
                        group
                            .into_iter()
                            .map(|(k, qty)| match lines.iter().find(|&&(l, _)| l == k) {
                                Some(&(_, whole)) if whole == qty => json!(STORE_SKUS[k]),
                                _ => json!({"store_sku": STORE_SKUS[k], "qty": qty}),
                            })
                            .collect()
                    })
                    .collect();
                self.call(DISTRIBUTORS[d], "split_order", json!({"order": name, "groups": groups}))
            }
            Cmd::Push { d, order } => self.call(DISTRIBUTORS[d], "push", json!({"order": on(order)})),
            Cmd::Drain => {
                self.engine.drain_deliveries().map_err(|e| format!("drain: {e}"))?;
                Ok(Value::Null)
            }
            Cmd::Ship { s, d, order } => self.call(supplier(s), "ship_order", json!({"order": on(order), "distributor": DISTRIBUTORS[d], "tracking_no": "TRK1"})),
            Cmd::ConfirmPickup { s, d, order } => self.call(supplier(s), "confirm_pickup", json!({"order": on(order), "distributor": DISTRIBUTORS[d]})),
            Cmd::Withdraw { d, order } => self.call(DISTRIBUTORS[d], "withdraw", json!({"order": on(order)})),
            Cmd::ReviewWithdrawal { s, d, order, approve } => self.call(supplier(s), "review_withdrawal", json!({"order": on(order), "distributor": DISTRIBUTORS[d], "approve": approve, "reason": "checked"})),
            Cmd::AfterSaleRefund { s, d, order, cents } => self.call(supplier(s), "after_sale_refund", json!({"order": on(order), "distributor": DISTRIBUTORS[d], "amount": cents_text(cents), "reason": "broken"})),
            Cmd::MarkShipped { d, order } => self.call(DISTRIBUTORS[d], "mark_shipped", json!({"order": on(order)})),
            Cmd::AddBalance { s, d, mills } => self.call(SUPPLIERS[s], "add_balance", json!({"distributor": DISTRIBUTORS[d], "amount": mills_text(mills)})),
            Cmd::DistributorTopUp { d, s } => self.call(DISTRIBUTORS[d], "add_balance", json!({"distributor": DISTRIBUTORS[d], "amount": "10", "note": SUPPLIERS[s]})),
            Cmd::DeductBalance { s, d, mills } => self.call(SUPPLIERS[s], "deduct_balance", json!({"distributor": DISTRIBUTORS[d], "amount": mills_text(mills)})),
            Cmd::SetCredit { s, d, enabled, mills } => self.call(SUPPLIERS[s], "set_credit", json!({"distributor": DISTRIBUTORS[d], "enabled": enabled, "limit": mills_text(mills)})),
            Cmd::SetFees { s, handling, shipping } => self.call(SUPPLIERS[s], "set_fees", json!({"handling": mills_text(handling), "shipping": mills_text(shipping)})),
            Cmd::SetPrice { s, sku, mills } => self.call(SUPPLIERS[s], "set_price", json!({"sku": SKUS[sku].0, "price": mills_text(mills)})),
            Cmd::PushStock { s, warehouse, sku, available } => self.call(SUPPLIERS[s], "push_stock", json!({"warehouse": WAREHOUSES[warehouse].0, "items": [{"sku": SKUS[sku].0, "available": available}]})),
            Cmd::AssignWarehouses { s, d, mask } => {
                let warehouses: Vec<&str> = warehouses_of(s)
                    .enumerate()
                    .filter(|(bit, _)| mask & (1 << bit) != 0)
                    .map(|(_, w)| WAREHOUSES[w].0)
                    .collect();
                self.call(SUPPLIERS[s], "assign_warehouses", json!({"distributor": DISTRIBUTORS[d], "warehouses": warehouses}))
            }
            Cmd::EndPartnership { s, d } => self.call(SUPPLIERS[s], "end_partnership", json!({"distributor": DISTRIBUTORS[d]})),
            Cmd::Rebind { s, d } => self.bind(s, d),
            Cmd::Claim { d, s, sku } => self.call(DISTRIBUTORS[d], "claim", json!({"supplier": SUPPLIERS[s], "skus": [SKUS[sku].0]})),
            Cmd::RemoveExpired { d, sku } => self.call(DISTRIBUTORS[d], "remove_expired", json!({"sku": SKUS[sku].0})),
            Cmd::SetDistribution { s, sku, enabled } => self.call(SUPPLIERS[s], "set_distribution", json!({"sku": SKUS[sku].0, "enabled": enabled})),
            Cmd::StopDistribution { d, sku } => self.call(DISTRIBUTORS[d], "stop_distribution", json!({"sku": SKUS[sku].0})),
        };
        result.map(|_| ())
    }

    /// An order's lines as the engine reports them, `(store SKU, quantity)` (empty when it has
    /// no such order).
    fn lines_of(&mut self, d: usize, name: &str) -> Vec<(usize, i64)> {
        match self.call(DISTRIBUTORS[d], "order", json!({"order": name})) {
            Ok(order) => order["lines"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| {
                    let k = STORE_SKUS.iter().position(|s| l["store_sku"] == json!(s))?;
                    Some((k, l["qty"].as_i64()?))
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    fn query(&mut self, actor: &str, cmd: &str, args: Value) -> Result<Value, String> {
        self.call(actor, cmd, args.clone())
            .map_err(|code| format!("query `{cmd}` as {actor} {args} failed: {code}"))
    }
}

// --- comparing the two

/// Compares everything; the suppliers' own stock only when `own_stock` (it changes only by
/// `push_stock`).
fn compare(model: &Model, driver: &mut Driver, own_stock: bool) -> Result<(), String> {
    model.check_locks()?;
    for (d, distributor) in DISTRIBUTORS.iter().enumerate() {
        compare_orders(model, driver, d, distributor)?;
        compare_ledger(model, driver, d, distributor)?;
        for code in CODES {
            // A local SKU's stock: the cells of every supplier SKU claimed behind it.
            let answer = driver.call(distributor, "stock", json!({"sku": code}));
            let claimed: Vec<usize> = (0..SKUS.len())
                .filter(|&k| SKUS[k].0 == code && model.claims.contains_key(&(d, k)))
                .collect();
            let expected: Option<Vec<Value>> = (!claimed.is_empty()).then(|| {
                claimed
                    .iter()
                    .flat_map(|&k| warehouses_of(SKUS[k].1).map(move |w| (w, k)))
                    // A warehouse the supplier no longer assigns holds no stock of the distributor's.
                    .filter(|&(w, _)| !model.unassigned.contains(&(d, w)))
                    .filter_map(|(w, k)| model.cells.get(&(d, w, k)).map(|c| (w, k, c)))
                    .map(|(w, k, c)| json!({"supplier": SUPPLIERS[SKUS[k].1], "warehouse": WAREHOUSES[w].0, "available": c.available, "locked": c.locked}))
                    .collect()
            });
            let sku = code;
            compare_stock(
                answer,
                expected,
                &format!("stock of {sku} as {distributor}"),
            )?;
        }
    }
    for (s, supplier) in SUPPLIERS.iter().enumerate().filter(|_| own_stock) {
        for k in skus_of(s) {
            let answer = driver.call(supplier, "stock", json!({"sku": SKUS[k].0}));
            let expected = warehouses_of(s)
                .filter_map(|w| model.own.get(&(w, k)).map(|n| (w, *n)))
                .map(|(w, n)| json!({"supplier": supplier, "warehouse": WAREHOUSES[w].0, "available": n, "locked": 0}))
                .collect();
            compare_stock(
                answer,
                Some(expected),
                &format!("stock of {} as {supplier}", SKUS[k].0),
            )?;
        }
    }
    Ok(())
}

fn compare_stock(
    answer: Result<Value, String>,
    expected: Option<Vec<Value>>,
    what: &str,
) -> Result<(), String> {
    match (answer, expected) {
        (Err(code), None) if code == "not_found" => Ok(()),
        (Ok(result), Some(expected)) => {
            let actual: Vec<Value> = result["warehouses"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| json!({"supplier": c["supplier"], "warehouse": c["warehouse"], "available": c["available"], "locked": c["locked"]}))
                .collect();
            if actual == expected {
                Ok(())
            } else {
                Err(format!(
                    "{what}: engine {}, model {}",
                    json!(actual),
                    json!(expected)
                ))
            }
        }
        (answer, expected) => Err(format!("{what}: engine {answer:?}, model {expected:?}")),
    }
}

fn compare_orders(
    model: &Model,
    driver: &mut Driver,
    d: usize,
    distributor: &str,
) -> Result<(), String> {
    let result = driver.query(distributor, "orders", json!({}))?;
    let actual: Vec<Value> = result["orders"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| json!({"order": o["order"], "state": o["state"], "supplier": o["supplier"], "warehouse": o["warehouse"],
                        "marketplace_status": o["marketplace_status"], "cancel_flagged": o["cancel_flagged"]}))
        .collect();
    let expected: Vec<Value> = model
        .orders
        .iter()
        .filter(|((od, _), _)| *od == d)
        .map(|((_, name), o)| {
            json!({"order": name, "state": o.state, "supplier": o.supplier.map(|s| SUPPLIERS[s]),
                                     "warehouse": o.warehouse.map(|w| WAREHOUSES[w].0),
                                     "marketplace_status": o.status, "cancel_flagged": o.flagged})
        })
        .collect();
    if actual.len() != expected.len() {
        return Err(format!(
            "orders of {distributor}: engine {}, model {}",
            json!(actual),
            json!(expected)
        ));
    }
    for (a, e) in actual.iter().zip(&expected) {
        if a != e {
            return Err(format!("order of {distributor}: engine {a}, model {e}"));
        }
    }
    Ok(())
}

fn compare_ledger(
    model: &Model,
    driver: &mut Driver,
    d: usize,
    distributor: &str,
) -> Result<(), String> {
    let accounts: Vec<(usize, &Account)> = model
        .ledger
        .iter()
        .filter(|((_, ad), _)| *ad == d)
        .map(|((s, _), a)| (*s, a))
        .collect();
    let balances = driver.query(distributor, "balances", json!({}))?;
    let actual: Vec<Value> = balances["balances"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| json!({"supplier": b["supplier"], "balance": b["balance"], "credit_enabled": b["credit_enabled"],
                        "credit_limit": b["credit_limit"], "credit_used": b["credit_used"]}))
        .collect();
    let expected: Vec<Value> = accounts
        .iter()
        .map(|(s, a)| json!({"supplier": SUPPLIERS[*s], "balance": cents_text(a.balance), "credit_enabled": a.credit,
                             "credit_limit": cents_text(a.limit), "credit_used": cents_text((-a.balance).max(0))}))
        .collect();
    let as_cents = |v: &Value| -> Value {
        let mut v = v.clone();
        for key in ["balance", "credit_limit", "credit_used"] {
            v[key] = json!(v[key].as_str().and_then(parse_cents));
        }
        v
    };
    let actual: Vec<Value> = actual.iter().map(as_cents).collect();
    let expected: Vec<Value> = expected.iter().map(as_cents).collect();
    if actual != expected {
        return Err(format!(
            "balances of {distributor}: engine {}, model {}",
            json!(actual),
            json!(expected)
        ));
    }
    let transactions = driver.query(distributor, "transactions", json!({}))?;
    let rows: Vec<&Value> = transactions["transactions"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let mut sums: BTreeMap<String, i64> = BTreeMap::new();
    let mut actual = Vec::new();
    for row in &rows {
        let amount = row["amount"]
            .as_str()
            .and_then(parse_cents)
            .ok_or_else(|| format!("bad amount in {row}"))?;
        let after = row["balance_after"]
            .as_str()
            .and_then(parse_cents)
            .ok_or_else(|| format!("bad balance_after in {row}"))?;
        let supplier = row["supplier"].as_str().unwrap_or_default().to_owned();
        let sum = sums.entry(supplier.clone()).or_default();
        *sum += amount;
        if *sum != after {
            return Err(format!("transactions of {distributor}: balance_after {after} is not the running sum {sum} at {row}"));
        }
        actual.push(json!({"supplier": supplier, "type": row["type"], "order": row["order"], "amount": amount, "after": after}));
    }
    let expected: Vec<Value> = accounts
        .iter()
        .flat_map(|(s, a)| {
            a.txns.iter().map(move |t| json!({"supplier": SUPPLIERS[*s], "type": t.kind, "order": t.order, "amount": t.amount, "after": t.balance_after}))
        })
        .collect();
    if actual != expected {
        return Err(format!(
            "transactions of {distributor}:\n  engine {}\n  model  {}",
            json!(actual),
            json!(expected)
        ));
    }
    for (s, a) in &accounts {
        let sum = sums.get(SUPPLIERS[*s]).copied().unwrap_or(0);
        if sum != a.balance {
            return Err(format!(
                "{distributor}/{}: the transactions sum to {sum}, the balance is {}",
                SUPPLIERS[*s], a.balance
            ));
        }
    }
    Ok(())
}

/// How often each command kind answered each outcome, and which order states were reached: printed
/// at the end (`--nocapture`) to show what the random sequences exercised.
static COVERAGE: std::sync::Mutex<BTreeMap<String, usize>> = std::sync::Mutex::new(BTreeMap::new());

thread_local! {
    /// The paths [`note`] counted on this thread: what one test's sequences reached.
    static REACHED: std::cell::RefCell<BTreeSet<String>> = const { std::cell::RefCell::new(BTreeSet::new()) };
}

/// Counts a path of the model the coverage report names (a withdrawal from a state, an order
/// sent back by auto-clear).
fn note(what: String) {
    REACHED.with(|reached| reached.borrow_mut().insert(what.clone()));
    if let Ok(mut coverage) = COVERAGE.lock() {
        *coverage.entry(what).or_default() += 1;
    }
}

fn tally(cmd: &Cmd, outcome: &Outcome, model: &Model) {
    let kind = format!("{cmd:?}");
    let kind = kind.split([' ', '{']).next().unwrap_or_default();
    let Ok(mut coverage) = COVERAGE.lock() else {
        return;
    };
    *coverage
        .entry(format!("{kind} -> {}", outcome.err().unwrap_or("ok")))
        .or_default() += 1;
    for order in model.orders.values() {
        *coverage
            .entry(format!("order state {}", order.state))
            .or_default() += 1;
    }
}

/// Runs one sequence; the first disagreement, with the step that made it.
fn run(backend: Backend<'_>, auto_deliver: bool, cmds: &[Cmd]) -> Result<(), String> {
    let mut driver = Driver::open(backend, auto_deliver);
    let mut model = Model::new();
    compare(&model, &mut driver, true).map_err(|e| format!("after setup: {e}"))?;
    for (step, cmd) in cmds.iter().enumerate() {
        let cmd = &resolve(&model, cmd);
        let expected = model.apply(cmd);
        let actual = driver.send(cmd);
        // The engine delivers after every write command when `auto_deliver` is on.
        if auto_deliver || matches!(cmd, Cmd::Drain) {
            model.drain();
        }
        let agree = match (&expected, &actual) {
            (Ok(()), Ok(())) => true,
            (Err(e), Err(a)) => e == a,
            _ => false,
        };
        if !agree {
            return Err(format!(
                "step {step} {cmd:?}: engine {actual:?}, model {expected:?}"
            ));
        }
        tally(cmd, &expected, &model);
        let own_stock = matches!(cmd, Cmd::PushStock { .. });
        compare(&model, &mut driver, own_stock)
            .map_err(|e| format!("after step {step} {cmd:?}: {e}"))?;
    }
    Ok(())
}

/// The seed of a run without `MODEL_SEED`.
const SEED_DEFAULT: u64 = 20_261_127;

/// The suite's name in the SKIPPED banner.
const SUITE: &str = "the reference model";

/// The run's seed: fixed by default, so CI is deterministic; `MODEL_SEED=random` explores.
fn seed() -> u64 {
    match std::env::var("MODEL_SEED").ok().as_deref() {
        Some("random") => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |t| t.as_nanos() as u64),
        Some(text) => text.parse().unwrap_or(SEED_DEFAULT),
        None => SEED_DEFAULT,
    }
}

/// How many sequences a property runs on `backend`: `MODEL_CASES`, or on PostgreSQL
/// `MODEL_PG_CASES` (a sequence costs several times more there: every statement is a round
/// trip). From the same seed, PostgreSQL's are the first of SQLite's sequences.
fn cases(backend: Backend<'_>) -> u32 {
    let (variable, default) = match backend {
        Backend::Memory => ("MODEL_CASES", CASES_DEFAULT),
        Backend::Postgres(_) => ("MODEL_PG_CASES", CASES_POSTGRES_DEFAULT),
    };
    env_number(variable, default as usize) as u32
}

/// The property's runner on `backend`.
fn runner(backend: Backend<'_>, seed: u64) -> TestRunner {
    let cases = cases(backend);
    println!("MODEL_SEED={seed}, {cases} sequences on {}", backend.name());
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    })
}

#[test]
fn engine_agrees_with_the_reference_model() {
    random_sequences(Backend::Memory);
}

#[test]
fn engine_agrees_with_the_reference_model_on_postgres() {
    if let Some(db) = pg::Database::create(SUITE) {
        random_sequences(Backend::Postgres(&db));
    }
}

fn random_sequences(backend: Backend<'_>) {
    let seed = seed();
    let steps = env_number("MODEL_STEPS", STEPS_DEFAULT).max(1);
    let mut runner = runner(backend, seed);
    let strategy = (any::<bool>(), vec(command(), 1..=steps));
    if let Err(failure) = runner.run(&strategy, |(auto_deliver, cmds)| {
        run(backend, auto_deliver, &cmds).map_err(TestCaseError::fail)
    }) {
        panic!("MODEL_SEED={seed} on {}: {failure}", backend.name());
    }
    if let Ok(coverage) = COVERAGE.lock() {
        for (what, n) in coverage.iter() {
            println!("{n:>8}  {what}");
        }
    }
}

/// The wave 2 paths the fulfilment sequences must reach (docs/protocol.md#withdrawals-and-refunds,
/// #auto-clear): withdrawals from every state that allows one, approved and rejected, and orders
/// sent back to be packed again by every kind of auto-clear.
const FULFILMENT_PATHS: [&str; 13] = [
    "withdraw from pushed",
    "withdraw from to_pickup",
    "withdraw from shipped",
    "review_withdrawal approve=true from pushed",
    "review_withdrawal approve=false from pushed",
    "review_withdrawal approve=true from to_pickup",
    "review_withdrawal approve=false from to_pickup",
    "review_withdrawal approve=true from shipped",
    "review_withdrawal approve=false from shipped",
    "stock_released from packed by assign_warehouses",
    "stock_released from packed by end_partnership",
    "stock_released from packed by stop_distribution",
    "stock_released from push_failed by delivery_failed",
];

#[test]
fn fulfilment_sequences_agree_with_the_reference_model() {
    fulfilment_sequences(Backend::Memory);
}

#[test]
fn fulfilment_sequences_agree_with_the_reference_model_on_postgres() {
    if let Some(db) = pg::Database::create(SUITE) {
        fulfilment_sequences(Backend::Postgres(&db));
    }
}

fn fulfilment_sequences(backend: Backend<'_>) {
    let seed = seed();
    // Single commands and bursts of an order's life: a withdrawal after shipping is seven commands
    // into it.
    let steps = env_number("MODEL_STEPS", STEPS_DEFAULT).max(1);
    let mut runner = runner(backend, seed);
    let some = prop_oneof![5 => fulfilment().prop_map(|cmd| vec![cmd]), 1 => burst()];
    let strategy = (
        any::<bool>(),
        vec(some, 1..=steps).prop_map(|bursts| bursts.concat()),
    );
    if let Err(failure) = runner.run(&strategy, |(auto_deliver, cmds)| {
        run(backend, auto_deliver, &cmds).map_err(TestCaseError::fail)
    }) {
        panic!("MODEL_SEED={seed} on {}: {failure}", backend.name());
    }
    let reached = REACHED.with(|reached| reached.borrow().clone());
    let missed: Vec<&str> = FULFILMENT_PATHS
        .into_iter()
        .filter(|path| !reached.contains(*path))
        .collect();
    assert!(
        missed.is_empty(),
        "MODEL_SEED={seed} on {}: the sequences never reached {missed:?}; reached {reached:?}",
        backend.name()
    );
}

/// The minimal sequences of the bugs this model found, kept as fixed cases.
#[test]
fn the_sequences_that_found_bugs_agree() {
    sequences_that_found_bugs(Backend::Memory);
}

#[test]
fn the_sequences_that_found_bugs_agree_on_postgres() {
    if let Some(db) = pg::Database::create(SUITE) {
        sequences_that_found_bugs(Backend::Postgres(&db));
    }
}

fn sequences_that_found_bugs(backend: Backend<'_>) {
    let named = |n: &str| OrderRef::Named(format!("{MARKETPLACE}:{n}"));
    let pack = |n: &str| Cmd::Pack {
        d: 0,
        order: named(n),
        warehouse: None,
        seller: false,
    };
    let sequences = [
        // A withdrawal after an after-sale refund returned the whole charge again.
        vec![
            pack("o1"),
            Cmd::Push {
                d: 0,
                order: named("o1"),
            },
            Cmd::Drain,
            Cmd::Withdraw {
                d: 0,
                order: named("o1"),
            },
            Cmd::AfterSaleRefund {
                s: Some(0),
                d: 0,
                order: named("o1"),
                cents: 1,
            },
            Cmd::ReviewWithdrawal {
                s: Some(0),
                d: 0,
                order: named("o1"),
                approve: true,
            },
        ],
        // Cancelling an order whose lock auto-clear had wiped released another order's lock.
        vec![
            pack("o1"),
            Cmd::StopDistribution { d: 0, sku: 0 },
            Cmd::RemoveExpired { d: 0, sku: 0 },
            Cmd::Claim { d: 0, s: 0, sku: 0 },
            Cmd::Import {
                d: 0,
                number: 3,
                lines: vec![(0, 1)],
                region: 0,
                status: 0,
            },
            pack("o4"),
            Cmd::Import {
                d: 0,
                number: 0,
                lines: vec![(0, 1)],
                region: 0,
                status: 3,
            },
        ],
        // A packed order whose claim was removed pushed as `product_expired`: the push must
        // resolve its lines again and find them unmapped.
        vec![
            pack("o2"),
            Cmd::SetDistribution {
                s: 0,
                sku: 0,
                enabled: false,
            },
            Cmd::RemoveExpired { d: 0, sku: 0 },
            Cmd::Push {
                d: 0,
                order: named("o2"),
            },
        ],
    ];
    for (i, cmds) in sequences.iter().enumerate() {
        for auto_deliver in [false, true] {
            if let Err(e) = run(backend, auto_deliver, cmds) {
                panic!(
                    "sequence {i} (auto_deliver {auto_deliver}) on {}: {e}",
                    backend.name()
                );
            }
        }
    }
}

/// Fixed sequences through the two wave-2 packing rules, so that every run reaches them whatever
/// the random ones draw: one product from several suppliers (`d1`'s A is claimed from `s1` and
/// `s2`) and an order split by quantity.
#[test]
fn multi_sourcing_and_quantity_splits_agree() {
    multi_sourcing_and_quantity_splits(Backend::Memory);
}

#[test]
fn multi_sourcing_and_quantity_splits_agree_on_postgres() {
    if let Some(db) = pg::Database::create(SUITE) {
        multi_sourcing_and_quantity_splits(Backend::Postgres(&db));
    }
}

fn multi_sourcing_and_quantity_splits(backend: Backend<'_>) {
    let named = |n: &str| OrderRef::Named(format!("{MARKETPLACE}:{n}"));
    let pack = |n: &str, warehouse: Option<usize>| Cmd::Pack {
        d: 0,
        order: named(n),
        warehouse,
        seller: false,
    };
    let push = |n: &str| Cmd::Push {
        d: 0,
        order: named(n),
    };
    let stock = |s: usize, warehouse: usize, available: i64| Cmd::PushStock {
        s,
        warehouse,
        sku: 0,
        available,
    };
    let sequences = [
        // s1 has no A left: s2's W3 ships it, and the push charges s2's price and fees.
        vec![
            stock(0, 0, 0),
            stock(0, 1, 0),
            pack("o1", None),
            push("o1"),
            Cmd::Drain,
        ],
        // A named warehouse of the second supplier; one of a supplier the SKU is not claimed
        // from (d2 is not partnered with s2) is not a candidate.
        vec![
            pack("o1", Some(2)),
            push("o1"),
            Cmd::Pack {
                d: 1,
                order: named("o1"),
                warehouse: Some(2),
                seller: false,
            },
        ],
        // Three A where no warehouse holds three: refused, split 2 + 1, each part packed from
        // its own supplier's warehouse and pushed.
        vec![
            stock(0, 0, 2),
            stock(0, 1, 0),
            stock(1, 2, 1),
            Cmd::Import {
                d: 0,
                number: 3,
                lines: vec![(0, 3)],
                region: 0,
                status: 0,
            },
            pack("o4", None),
            Cmd::Split {
                d: 0,
                order: named("o4"),
                groups: SplitGroups::Units(4),
            },
            Cmd::Split {
                d: 0,
                order: named("o4"),
                groups: SplitGroups::Units(2),
            },
            pack("o4/1", None),
            pack("o4/2", None),
            push("o4/1"),
            push("o4/2"),
            Cmd::StopDistribution { d: 0, sku: 0 },
        ],
    ];
    // What the model answers, so the sequences keep reaching the paths they are about.
    let ok = Ok(());
    let expected: [Vec<Outcome>; 3] = [
        vec![ok, ok, ok, ok, ok],
        vec![ok, ok, Err("not_found")],
        vec![
            ok,
            ok,
            ok,
            ok,
            Err("multi_warehouse_order"),
            Err("bad_request"),
            ok,
            ok,
            ok,
            ok,
            ok,
            ok,
        ],
    ];
    let supplier_of =
        |model: &Model, name: &str| model.orders[&(0, format!("{MARKETPLACE}:{name}"))].supplier;
    for (i, cmds) in sequences.iter().enumerate() {
        let mut model = Model::new();
        let outcomes: Vec<Outcome> = cmds
            .iter()
            .map(|cmd| model.apply(&resolve(&model, cmd)))
            .collect();
        assert_eq!(outcomes, expected[i], "sequence {i}");
        match i {
            0 => assert_eq!(supplier_of(&model, "o1"), Some(1)),
            2 => assert_eq!(
                [supplier_of(&model, "o4/1"), supplier_of(&model, "o4/2")],
                [Some(0), Some(1)]
            ),
            _ => {}
        }
        for auto_deliver in [false, true] {
            if let Err(e) = run(backend, auto_deliver, cmds) {
                panic!(
                    "sequence {i} (auto_deliver {auto_deliver}) on {}: {e}",
                    backend.name()
                );
            }
        }
    }
}
