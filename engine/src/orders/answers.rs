//! What the order commands and queries answer (docs/protocol.md#command-index): one type per
//! shape of `result`, from which the command table derives each answer's JSON Schema, so a key
//! cannot drift from what the schema tells a host. Every key of these answers is always sent
//! (`null` where it has no value); amounts are [`Amount`]s.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    error::{Code, Error},
    model::{self, AuditEntry, Order},
    protocol::Amount,
};

/// The answer to `set_fees`: the fees each pushed order of the supplier will be charged.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Fees {
    /// The handling fee, rounded to the currency's minor unit.
    pub handling: Amount,
    /// The shipping fee, rounded to the currency's minor unit.
    pub shipping: Amount,
    /// The supplier's settlement currency, in which both fees are charged.
    pub currency: String,
}

/// The answer to `set_print_settings`: the documents that now travel with each pushed order.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Documents {
    /// `invoice` and/or `delivery_receipt`, sorted, without duplicates; may be empty.
    pub documents: Vec<String>,
}

/// An order summary: an order in a list, and the answer of most order commands.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OrderSummary {
    /// The order's name, `<marketplace>:<order_sn>` (a split child: `<parent>/<n>`).
    pub order: String,
    /// Its state in the `distribution_order` workflow.
    pub state: String,
    /// The supplier it goes to; `null` until it is packed.
    pub supplier: Option<String>,
    /// The supplier warehouse that fulfils it; `null` until it is packed.
    pub warehouse: Option<String>,
    /// The distributor whose order it is.
    pub distributor: String,
    /// The canonical marketplace status last imported.
    pub marketplace_status: String,
    /// Whether a marketplace cancellation arrived after the supplier shipped, so that the
    /// distributor must request a withdrawal.
    pub cancel_flagged: bool,
}

impl From<&Order> for OrderSummary {
    fn from(o: &Order) -> OrderSummary {
        OrderSummary {
            order: o.order.clone(),
            state: o.state.clone(),
            supplier: o.supplier.clone(),
            warehouse: o.warehouse.clone(),
            distributor: o.distributor.clone(),
            marketplace_status: o.marketplace_status.clone(),
            cancel_flagged: o.cancel_flagged,
        }
    }
}

/// The answer to `orders`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OrderList {
    /// The actor's own orders, then those delivered to it as a supplier.
    pub orders: Vec<OrderSummary>,
}

/// The answer to `split_order`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OrderSplit {
    /// The order that was split.
    pub order: String,
    /// Its state now (`split` in the default workflow).
    pub state: String,
    /// The child orders, `<order>/1`, `<order>/2`, …, one per group, in the order of the groups.
    pub children: Vec<String>,
}

/// The answer to `push`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OrderPushed {
    /// The order pushed.
    pub order: String,
    /// Its state when the push's commit is done: `pushed` (or `push_failed`) when the delivery ran
    /// in that commit, `pushing` when it waits for a later drain.
    pub state: String,
    /// What the push charged the distributor's balance.
    pub charged: Option<Charges>,
}

/// What an order was charged, in the supplier's settlement currency.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Charges {
    /// The supplier's price times the quantity, summed over the lines.
    pub goods: Amount,
    /// The supplier's handling fee.
    pub handling: Amount,
    /// The supplier's shipping fee.
    pub shipping: Amount,
    /// `goods + handling + shipping`: what left the distributor's balance.
    pub total: Amount,
}

impl From<&model::Charges> for Charges {
    fn from(c: &model::Charges) -> Charges {
        Charges {
            goods: c.goods.into(),
            handling: c.handling.into(),
            shipping: c.shipping.into(),
            total: c.total.into(),
        }
    }
}

/// The answer to `after_sale_refund`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AfterSaleRefunded {
    /// The order refunded.
    pub order: String,
    /// The amount returned to the distributor, rounded to the currency's minor unit.
    pub refunded: Amount,
    /// The distributor's balance with the supplier after the refund.
    pub balance: Amount,
    /// The ledger transaction of the refund (`T` and 12 digits).
    pub txn_id: String,
}

/// The answer to `import_orders`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Imported {
    /// One entry per order of the payload, in payload order.
    pub orders: Vec<ImportedOrder>,
}

/// One order of an import.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ImportedOrder {
    /// The order's name, `<marketplace>:<order_sn>`.
    pub order: String,
    /// Its state after the import (a cancellation may have moved it).
    pub state: String,
    /// Whether the import created it (`false`: a known order whose marketplace status changed).
    pub created: bool,
}

/// A full order, as `order` and `refresh` answer it: the summary's keys, its marketplace data,
/// lines, charges, documents and transition history.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FullOrder {
    /// The keys of the order summary.
    #[serde(flatten)]
    pub summary: OrderSummary,
    /// `platform` (the marketplace's logistics) or `seller` (seller delivery).
    pub shipping: String,
    /// The tracking number the supplier shipped with; `null` when none was given.
    pub tracking_no: Option<String>,
    /// The marketplace the order came from.
    pub marketplace: String,
    /// The marketplace shop the order came from.
    pub shop: String,
    /// The order a split child was split from; `null` for any other order.
    pub parent: Option<String>,
    /// Why the last delivery failed, or the reason a withdrawal was rejected; else `null`.
    pub failure: Option<String>,
    /// The currency of the marketplace order (its lines' `unit_price`).
    pub currency: String,
    /// The shipping address, as much of it as the allocation rule reads.
    pub address: Address,
    /// The order's lines, one per store SKU.
    pub lines: Vec<OrderLine>,
    /// What the push charged; `null` before the order is pushed.
    pub charges: Option<Charges>,
    /// Whether the charge is currently held (on the ledger and not refunded).
    pub charged: bool,
    /// What after-sale refunds returned of the charge so far (`0` when none).
    pub refunded_after_sale: Amount,
    /// The order's transitions, oldest first.
    pub history: Vec<OrderTransition>,
    /// The print settings that travelled with the delivery to the supplier; `null` before it.
    pub documents: Option<Vec<String>>,
}

impl FullOrder {
    /// The answer for order `o` with its `lines` and `history`; fails (`internal`) only when
    /// the store holds an address or documents of another shape than the engine writes.
    pub(super) fn new(
        o: &Order,
        lines: &[model::OrderLine],
        history: Vec<OrderTransition>,
    ) -> Result<FullOrder, Error> {
        let stored = |what: &str, e: serde_json::Error| {
            Error::new(
                Code::Internal,
                format!("order {:?}: the stored {what} does not read: {e}", o.order),
            )
        };
        let address = Address::deserialize(&o.address).map_err(|e| stored("address", e))?;
        let documents = o
            .documents
            .as_ref()
            .map(Vec::<String>::deserialize)
            .transpose()
            .map_err(|e| stored("documents", e))?;
        Ok(FullOrder {
            summary: OrderSummary::from(o),
            shipping: o.shipping.clone(),
            tracking_no: o.tracking_no.clone(),
            marketplace: o.marketplace.clone(),
            shop: o.shop.clone(),
            parent: o.parent.clone(),
            failure: o.failure.clone(),
            currency: o.currency.clone(),
            address,
            lines: lines.iter().map(OrderLine::from).collect(),
            charges: o.charges.as_ref().map(Charges::from),
            charged: o.charged,
            refunded_after_sale: o.refunded_after_sale.into(),
            history,
            documents,
        })
    }
}

/// An order's shipping address, as imported from the canonical order.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// The country (e.g. `MY`); empty when the marketplace gave none.
    pub country: String,
    /// The state or province; empty when the marketplace gave none.
    pub state: String,
    /// The city; empty when the marketplace gave none.
    pub city: String,
    /// The postcode; empty when the marketplace gave none.
    pub postcode: String,
}

/// One line of a full order.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OrderLine {
    /// The distributor's local SKU the store SKU maps to; `null` until the order is packed.
    pub sku: Option<String>,
    /// The supplier's SKU behind the local SKU; `null` until the order is packed.
    pub supplier_sku: Option<String>,
    /// The SKU as the marketplace store knows it.
    pub store_sku: String,
    /// The quantity ordered.
    pub qty: i64,
    /// The supplier's price charged per unit; `null` until the order is pushed.
    pub price: Option<Amount>,
    /// The buyer's unit price, as the marketplace gave it; `null` when its order payload gives
    /// none (docs/marketplaces.md says which).
    pub unit_price: Option<Amount>,
}

impl From<&model::OrderLine> for OrderLine {
    fn from(l: &model::OrderLine) -> OrderLine {
        OrderLine {
            sku: l.local_sku.clone(),
            supplier_sku: l.sku.clone(),
            store_sku: l.store_sku.clone(),
            qty: l.qty,
            price: l.price.map(Amount),
            unit_price: l.unit_price.map(Amount),
        }
    }
}

/// One transition in an order's history.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OrderTransition {
    /// The state it left; `null` for the import or split that created the order.
    pub from: Option<String>,
    /// The state it entered.
    pub to: String,
    /// The event that fired it.
    pub event: String,
    /// The acting account, or `system`.
    pub by: String,
    /// The version (a hash) of the rule pack that decided it.
    pub rules_version: String,
    /// When it happened (RFC 3339, UTC).
    pub at: String,
    /// Why the engine fired it, when it says: for `stock_released`, what auto-clear released.
    pub reason: Option<String>,
    /// The guards evaluated when it was decided, as recorded then: the failed guards of earlier
    /// candidate transitions, then the winner's (one entry per failure of a failing guard).
    pub guards: Vec<RecordedGuard>,
}

/// One guard's result, recorded with the transition it decided.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RecordedGuard {
    /// The guard as the workflow named it.
    pub guard: String,
    /// The state of the candidate transition that evaluated it.
    pub to: String,
    /// Whether it passed.
    pub passed: bool,
    /// The failure's code; `null` when it passed.
    pub code: Option<String>,
    /// The failure's message; `null` when it passed.
    pub message: Option<String>,
}

impl RecordedGuard {
    /// The recorded results (`workflow::GuardResult`s as stored), flattened.
    fn read(recorded: &serde_json::Value) -> Vec<RecordedGuard> {
        let text = |v: &serde_json::Value, key: &str| {
            v.get(key)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let mut guards = Vec::new();
        for result in recorded.as_array().into_iter().flatten() {
            let failures = result.get("failures").and_then(serde_json::Value::as_array);
            let passed = result.get("passed") == Some(&serde_json::Value::Bool(true));
            let entry = |code: Option<String>, message: Option<String>| RecordedGuard {
                guard: text(result, "guard"),
                to: text(result, "to"),
                passed,
                code,
                message,
            };
            match failures.filter(|f| !f.is_empty()) {
                Some(failures) => guards.extend(
                    failures
                        .iter()
                        .map(|f| entry(Some(text(f, "code")), Some(text(f, "message")))),
                ),
                None => guards.push(entry(None, None)),
            }
        }
        guards
    }
}

impl From<AuditEntry> for OrderTransition {
    fn from(a: AuditEntry) -> OrderTransition {
        OrderTransition {
            guards: RecordedGuard::read(&a.guards),
            from: a.from_state,
            to: a.to_state,
            event: a.event,
            by: a.actor,
            rules_version: a.rules_version,
            at: a.at,
            reason: a.reason,
        }
    }
}
