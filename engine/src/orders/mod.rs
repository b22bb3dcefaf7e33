//! Distribution orders (DESIGN.md 6.5, 6.6): import, pack, split, push, delivery to the supplier,
//! shipping, cancellation and withdrawal. Every state change is a transition of the
//! `distribution_order` workflow; the guards and effects it names are implemented here.

mod plan;

use std::collections::{BTreeMap, BTreeSet};

use distributary_plugin::{canonical, CanonicalOrder};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::{
    command::{
        check_name, check_text, AfterSaleRefund, Fire, ImportOrders, OrderArgs, OrderQuery,
        OrdersQuery, Pack, PayloadFormat, PrintSettings, ReviewWithdrawal, SetFees, ShipOrder,
        SplitOrder, SupplierOrder,
    },
    error::{Code, Error},
    flow::{Ctx, Entity},
    ledger::{self, kind},
    model::{money, CellKey, Charges, Order, OrderLine},
    plugin_host::PluginAdapter,
    rules::inputs::{
        AccountInput, AddressInput, FeeSettings, Fees, FeesInput, LineInput, OrderInput,
        PartnershipInput, PushCheckInput, SHIPPING_PLATFORM, SHIPPING_SELLER,
    },
    store::{movement, ClearScope},
    workflow::{Guard, GuardFailure, Role},
};

pub use plan::CAPABILITY_SELLER_DELIVERY;

/// The order workflow's name in the rule pack.
pub const WORKFLOW: &str = "distribution_order";
/// The most orders one `import_orders` takes.
pub const IMPORT_ORDERS_MAX: usize = 10_000;
/// The most lines one order has.
pub const ORDER_LINES_MAX: usize = 500;
/// The largest quantity of one line.
pub const LINE_QTY_MAX: u32 = 1_000_000;
/// The most deliveries one drain handles before it returns (a bound, not a target: a drain
/// empties any ordinary queue).
pub const DELIVERY_DRAIN_MAX: usize = 10_000_000;
/// Deliveries committed together in one transaction while draining. A drain holds the store
/// until the queue is empty whatever this is; larger transactions only commit (and rewrite the
/// pages deliveries share) less often: 5,000 delivered a mega-sale's orders about 25% faster
/// than 1,000.
pub const DELIVERY_BATCH_MAX: usize = 5_000;
/// The documents a distributor may have travel with its pushed orders.
pub const DOCUMENTS: &[&str] = &["invoice", "delivery_receipt"];
/// Events with a command of their own; `fire` refuses them so their preparation is never skipped.
pub const COMMAND_EVENTS: &[&str] = &[
    "pack",
    "split",
    "push",
    "delivered",
    "delivery_failed",
    "ship",
    "confirm_pickup",
    "marketplace_cancel",
    "withdraw",
    "approve_withdrawal",
    "reject_withdrawal",
];

/// An order loaded with its lines, changed in memory and written back by [`Loaded::save`].
struct Loaded {
    order: Order,
    lines: Vec<OrderLine>,
    /// The order and its lines as the store holds them: what `save` writes the changes against.
    stored: (Order, Vec<OrderLine>),
}

impl Loaded {
    /// An order as read from (or just written to) the store.
    fn new(order: Order, lines: Vec<OrderLine>) -> Loaded {
        Loaded {
            stored: (order.clone(), lines.clone()),
            order,
            lines,
        }
    }

    /// Writes what changed since the order was read or last saved: only the changed columns of
    /// the order, its lines only when one changed, in one statement.
    fn save(&mut self, ctx: &Ctx<'_, '_>) -> Result<(), Error> {
        let (order, lines) = &mut self.stored;
        let changed = (*lines != self.lines).then_some(self.lines.as_slice());
        ctx.tx
            .update_order(order, &self.order, changed, &ctx.now())?;
        if changed.is_some() {
            lines.clone_from(&self.lines);
        }
        order.clone_from(&self.order);
        Ok(())
    }
}

/// What a command brings to a transition besides the order itself.
#[derive(Default)]
struct Args<'a> {
    warehouse: Option<&'a str>,
    groups: Option<&'a [Vec<String>]>,
}

fn load(ctx: &Ctx<'_, '_>, distributor: &str, order: &str) -> Result<Loaded, Error> {
    check_name("order", order)?;
    let (found, lines) = ctx
        .tx
        .order_with_lines(distributor, order)?
        .ok_or_else(|| Error::not_found("order", order))?;
    Ok(Loaded::new(found, lines))
}

/// The distributor's own order.
fn my_order(ctx: &Ctx<'_, '_>, order: &str) -> Result<Loaded, Error> {
    load(ctx, ctx.actor.account(), order)
}

/// An order delivered to the acting supplier, named by its name (and distributor if ambiguous).
fn supplier_order(
    ctx: &Ctx<'_, '_>,
    order: &str,
    distributor: Option<&str>,
) -> Result<Loaded, Error> {
    check_name("order", order)?;
    let mut found = ctx.tx.supplier_orders_named(ctx.actor.account(), order)?;
    if let Some(d) = distributor {
        check_name("distributor", d)?;
        found.retain(|o| o.distributor == d);
    }
    match found.len() {
        0 => Err(Error::not_found("order", order)),
        1 => {
            let order = found.remove(0);
            let lines = ctx.tx.order_lines(&order.distributor, &order.order)?;
            Ok(Loaded::new(order, lines))
        }
        _ => Err(Error::bad_request(format!(
            "{order:?} names orders of several distributors: give `distributor`"
        ))),
    }
}

/// Fires `event` on the order: guards from the workflow (built-ins here, `rule:` scripts through
/// the rule set), then the transition's effects, then the order is written back.
fn fire(
    ctx: &Ctx<'_, '_>,
    loaded: &mut Loaded,
    event: &str,
    role: Role,
    args: &Args<'_>,
) -> Result<(), Error> {
    let mut pack_plan: Option<plan::PackPlan> = None;
    // The rules' input (fees included) is worked out once per event: the guards read it and
    // `charge_fees` charges what they approved.
    let mut checked: Option<PushCheckInput> = None;
    let entity_state = loaded.order.state.clone();
    let id = loaded.order.order.clone();
    let entity = Entity {
        workflow: WORKFLOW,
        id: &id,
        state: &entity_state,
        audit_head: loaded.order.audit_head,
    };
    let moved = {
        let Loaded { order, lines, .. } = &mut *loaded;
        ctx.transition(&entity, event, role, |guard| match guard {
            Guard::Builtin(name) => builtin_guard(ctx, order, lines, name, args, &mut pack_plan),
            Guard::Rule(script) => {
                let mut view = order.clone();
                if let Some(Ok((supplier, _))) = pack_plan.as_ref().map(|p| &p.single_warehouse) {
                    view.supplier.get_or_insert_with(|| supplier.clone());
                }
                let input = match checked.take() {
                    Some(input) => input,
                    None => push_input(ctx, &view, lines)?,
                };
                let failures = ctx.rules.guard(script, &input)?;
                checked = Some(input);
                Ok(failures
                    .into_iter()
                    .map(|f| GuardFailure::new(f.code, f.message))
                    .collect())
            }
        })?
    };
    if let Some(plan) = &pack_plan {
        if let Ok((supplier, warehouse)) = &plan.single_warehouse {
            if moved.to != entity_state && event == "pack" {
                loaded.order.supplier = Some(supplier.clone());
                loaded.order.warehouse = Some(warehouse.clone());
            }
        }
    }
    loaded.order.state = moved.to.clone();
    loaded.order.audit_head = Some(moved.audit_seq);
    for effect in &moved.effects {
        apply_effect(ctx, loaded, effect, event, args, &mut checked)?;
    }
    loaded.save(ctx)
}

fn builtin_guard(
    ctx: &Ctx<'_, '_>,
    order: &mut Order,
    lines: &mut [OrderLine],
    name: &str,
    args: &Args<'_>,
    pack_plan: &mut Option<plan::PackPlan>,
) -> Result<Vec<GuardFailure>, Error> {
    let verdict = |r: &Result<_, GuardFailure>| r.as_ref().err().cloned().into_iter().collect();
    Ok(match name {
        "lines_mapped" | "single_warehouse" | "shipping_supported" | "stock_available" => {
            if pack_plan.is_none() {
                let warehouse = args
                    .warehouse
                    .or(order.warehouse.as_deref().filter(|w| !w.is_empty()));
                let snapshot = order.clone();
                let made = plan::plan(ctx, &snapshot, lines, warehouse, |ls| {
                    order_input(&snapshot, ls, &BTreeMap::new())
                })?;
                *pack_plan = Some(made);
            }
            let Some(p) = pack_plan.as_ref() else {
                return Ok(Vec::new());
            };
            match name {
                "lines_mapped" => verdict(&p.lines_mapped),
                "single_warehouse" => verdict(
                    &p.single_warehouse
                        .as_ref()
                        .map(|_| ())
                        .map_err(Clone::clone),
                ),
                "shipping_supported" => verdict(&p.shipping_supported),
                _ => verdict(&p.stock_available),
            }
        }
        "tracking_number_given" => {
            if order.shipping == SHIPPING_SELLER
                && order.tracking_no.as_deref().is_none_or(str::is_empty)
            {
                vec![GuardFailure::new(
                    Code::BadRequest.as_str(),
                    "seller delivery needs `tracking_no` when the order ships",
                )]
            } else {
                Vec::new()
            }
        }
        "came_from_pushed" | "came_from_to_pickup" => {
            let from = name.trim_start_matches("came_from_");
            if order.withdrawn_from.as_deref() == Some(from) {
                Vec::new()
            } else {
                vec![GuardFailure::new(
                    Code::InvalidTransition.as_str(),
                    format!("the withdrawal was not requested from `{from}`"),
                )]
            }
        }
        other => {
            return Err(Error::new(
                Code::RuleError,
                format!("guard `{other}` does not apply to an order"),
            ))
        }
    })
}

/// The order as the rule scripts read it; `prices` gives each supplier SKU's current price.
fn order_input(
    order: &Order,
    lines: &[OrderLine],
    prices: &BTreeMap<String, (Decimal, bool, bool)>,
) -> OrderInput {
    let address = |key: &str| {
        order
            .address
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    OrderInput {
        order: order.order.clone(),
        marketplace: order.marketplace.clone(),
        currency: order.currency.clone(),
        shipping: order.shipping.clone(),
        address: AddressInput {
            country: address("country"),
            state: address("state"),
            city: address("city"),
            postcode: address("postcode"),
        },
        lines: lines
            .iter()
            .map(|l| {
                let sku = l.sku.clone().unwrap_or_default();
                let (price, mapped, expired) =
                    prices
                        .get(&sku)
                        .copied()
                        .unwrap_or((Decimal::ZERO, l.sku.is_some(), false));
                LineInput {
                    sku,
                    store_sku: l.store_sku.clone(),
                    qty: l.qty,
                    price,
                    mapped,
                    expired,
                    supplier: l.supplier.clone().unwrap_or_default(),
                }
            })
            .collect(),
    }
}

/// The push-check inputs, with the fees computed by `fees.rhai`.
fn push_input(
    ctx: &Ctx<'_, '_>,
    order: &Order,
    lines: &mut [OrderLine],
) -> Result<PushCheckInput, Error> {
    let supplier = order.supplier.clone().unwrap_or_default();
    // Resolved again: a mapping or claim removed since packing makes the line unmapped. An
    // unmapped line is not an error here: its `mapped: false` lets push_checks report it.
    let _unmapped = plan::resolve_lines(ctx, order, lines)?;
    let mut prices = BTreeMap::new();
    for line in lines.iter() {
        let Some(sku) = &line.sku else { continue };
        let mapped = line.supplier.as_deref() == Some(supplier.as_str());
        let claim = ctx.tx.live_claim(&order.distributor, &supplier, sku)?;
        let product = ctx.tx.product(&supplier, sku)?;
        let expired = claim.is_none_or(|c| c.state != "claimed")
            || product.as_ref().is_none_or(|p| !p.enabled);
        let price = product.map_or(Decimal::ZERO, |p| p.price);
        prices.insert(sku.clone(), (price, mapped, expired));
    }
    let input = order_input(order, lines, &prices);
    let currency = ctx
        .tx
        .account(&supplier)?
        .map(|a| a.currency)
        .unwrap_or_default();
    let status = ctx
        .tx
        .latest_partnership(&supplier, &order.distributor)?
        .map_or_else(|| "none".to_owned(), |p| p.state);
    let ledger = ctx.tx.ledger_account(&supplier, &order.distributor)?;
    let account = match &ledger {
        Some(a) => AccountInput {
            balance: a.balance,
            credit_enabled: a.credit_enabled,
            credit_limit: a.credit_limit,
            credit_used: a.credit_used(),
            currency: a.currency.clone(),
        },
        None => AccountInput {
            balance: Decimal::ZERO,
            credit_enabled: false,
            credit_limit: Decimal::ZERO,
            credit_used: Decimal::ZERO,
            currency: currency.clone(),
        },
    };
    let (handling, shipping) = ctx.tx.fees(&supplier)?;
    let raw = ctx.rules.fees(&FeesInput {
        order: input.clone(),
        settings: FeeSettings { handling, shipping },
    })?;
    let fees = Fees {
        goods: money::round(raw.goods, &currency),
        handling: money::round(raw.handling, &currency),
        shipping: money::round(raw.shipping, &currency),
    };
    Ok(PushCheckInput {
        order: input,
        partnership: PartnershipInput {
            supplier,
            distributor: order.distributor.clone(),
            status,
        },
        account,
        fees,
    })
}

fn apply_effect(
    ctx: &Ctx<'_, '_>,
    loaded: &mut Loaded,
    effect: &str,
    event: &str,
    args: &Args<'_>,
    checked: &mut Option<PushCheckInput>,
) -> Result<(), Error> {
    let now = ctx.now();
    match effect {
        "lock_stock" => {
            let (supplier, warehouse) = placed(&loaded.order)?;
            for line in &loaded.lines {
                let cell = CellKey {
                    account: &loaded.order.distributor,
                    supplier: &supplier,
                    warehouse: &warehouse,
                    sku: line.sku.as_deref().unwrap_or_default(),
                };
                if !ctx
                    .tx
                    .adjust_cell(cell, -line.qty, line.qty, movement::ORDER_LOCK, &now)?
                {
                    return Err(Error::new(
                        Code::InsufficientStock,
                        format!("not enough {:?} in {warehouse}", line.store_sku),
                    ));
                }
            }
            loaded.order.stock_locked = true;
        }
        "release_stock" | "consume_stock" => {
            if loaded.order.stock_locked {
                let (supplier, warehouse) = placed(&loaded.order)?;
                for line in &loaded.lines {
                    let cell = cell_of(ctx, &loaded.order, &supplier, &warehouse, line)?;
                    let (back, kind) = if effect == "release_stock" {
                        (line.qty, movement::ORDER_RELEASE)
                    } else {
                        (0, movement::ORDER_SHIP)
                    };
                    let unlocked = cell.locked.min(line.qty);
                    ctx.tx
                        .adjust_cell(cell.key(), back.min(unlocked), -unlocked, kind, &now)?;
                }
                loaded.order.stock_locked = false;
            }
        }
        "charge_fees" => {
            let input = match checked.take() {
                Some(input) => input,
                None => push_input(ctx, &loaded.order, &mut loaded.lines)?,
            };
            let fees = input.fees;
            let supplier = input.partnership.supplier;
            let account = ledger::account_of(ctx, &supplier, &loaded.order.distributor)?;
            let total = money::add(money::add(fees.goods, fees.handling)?, fees.shipping)?;
            ledger::post(
                ctx,
                &account,
                kind::ORDER_CHARGE,
                Some(&loaded.order.order),
                -total,
                None,
            )?;
            for (line, priced) in loaded.lines.iter_mut().zip(&input.order.lines) {
                line.price = Some(priced.price);
            }
            loaded.order.charges = Some(Charges {
                goods: fees.goods,
                handling: fees.handling,
                shipping: fees.shipping,
                total,
            });
            loaded.order.charged = true;
        }
        "refund_charges" => {
            if let (true, Some(charges), Some(supplier)) = (
                loaded.order.charged,
                &loaded.order.charges,
                &loaded.order.supplier,
            ) {
                let account = ledger::account_of(ctx, supplier, &loaded.order.distributor)?;
                let kind = if event == "delivery_failed" {
                    kind::PUSH_FAILED_REFUND
                } else {
                    kind::WITHDRAWAL_REFUND
                };
                // What after-sale refunds already returned is not returned twice.
                let owed = money::sub(charges.total, loaded.order.refunded_after_sale)?;
                if owed > Decimal::ZERO {
                    ledger::post(ctx, &account, kind, Some(&loaded.order.order), owed, None)?;
                }
                loaded.order.charged = false;
            }
        }
        "enqueue_delivery" => {
            let (supplier, _) = placed(&loaded.order)?;
            ctx.tx.enqueue_delivery(
                &loaded.order.distributor,
                &loaded.order.order,
                &supplier,
                &now,
            )?;
        }
        "create_split_orders" => {
            let groups = args.groups.ok_or_else(|| {
                Error::new(
                    Code::RuleError,
                    "`create_split_orders` runs only on `split_order`",
                )
            })?;
            create_children(ctx, loaded, groups)?;
        }
        other => {
            return Err(Error::new(
                Code::RuleError,
                format!("effect `{other}` does not apply to an order"),
            ))
        }
    }
    Ok(())
}

/// Auto-clear (DESIGN.md 6.5) releases locked stock before it clears the cells: every order
/// holding a lock in the cells about to be cleared gives all its locks back. It then holds none,
/// so a later cancellation or shipment cannot release or consume another order's lock.
pub(crate) fn release_locks(
    ctx: &Ctx<'_, '_>,
    distributor: &str,
    supplier: &str,
    scope: ClearScope<'_>,
) -> Result<(), Error> {
    for order in ctx.tx.locked_orders(distributor, supplier)? {
        let lines = ctx.tx.order_lines(distributor, &order.order)?;
        let touched = match scope {
            ClearScope::Supplier => true,
            ClearScope::Warehouse(w) => order.warehouse.as_deref() == Some(w),
            ClearScope::Sku(sku) => lines.iter().any(|l| l.sku.as_deref() == Some(sku)),
        };
        if touched {
            let mut loaded = Loaded::new(order, lines);
            let args = Args::default();
            apply_effect(
                ctx,
                &mut loaded,
                "release_stock",
                "auto_clear",
                &args,
                &mut None,
            )?;
            loaded.save(ctx)?;
        }
    }
    Ok(())
}

fn placed(order: &Order) -> Result<(String, String), Error> {
    match (&order.supplier, &order.warehouse) {
        (Some(s), Some(w)) if !w.is_empty() => Ok((s.clone(), w.clone())),
        _ => Err(Error::new(
            Code::InvalidTransition,
            format!("order {:?} has no warehouse: pack it first", order.order),
        )),
    }
}

fn cell_of(
    ctx: &Ctx<'_, '_>,
    order: &Order,
    supplier: &str,
    warehouse: &str,
    line: &OrderLine,
) -> Result<crate::model::StockCell, Error> {
    let sku = line.sku.as_deref().unwrap_or_default();
    ctx.tx
        .stock_cell(&order.distributor, supplier, warehouse, sku)?
        .ok_or_else(|| {
            Error::new(
                Code::InsufficientStock,
                format!("no stock of {:?} in {warehouse}", line.store_sku),
            )
        })
}

fn create_children(
    ctx: &Ctx<'_, '_>,
    loaded: &Loaded,
    groups: &[Vec<String>],
) -> Result<(), Error> {
    for (index, group) in groups.iter().enumerate() {
        let name = format!("{}/{}", loaded.order.order, index + 1);
        let (state, audit_seq) = ctx.created(WORKFLOW, &name, "split")?;
        let child = Order {
            order: name,
            audit_head: Some(audit_seq),
            parent: Some(loaded.order.order.clone()),
            state,
            supplier: None,
            warehouse: None,
            charges: None,
            charged: false,
            stock_locked: false,
            ..loaded.order.clone()
        };
        let lines: Vec<OrderLine> = loaded
            .lines
            .iter()
            .filter(|l| group.contains(&l.store_sku))
            .enumerate()
            .map(|(i, l)| OrderLine {
                line: i as i64 + 1,
                ..l.clone()
            })
            .collect();
        ctx.tx.insert_order(&child, &lines, &ctx.now())?;
    }
    Ok(())
}

fn distributor_side(ctx: &Ctx<'_, '_>, order: &Order) -> Role {
    if order.distributor == ctx.actor.account() {
        Role::Distributor
    } else {
        Role::Supplier
    }
}

// --- commands

/// `set_fees {handling, shipping}`: the supplier's fees, charged once per pushed order.
pub fn set_fees(ctx: &Ctx<'_, '_>, args: &SetFees) -> Result<Value, Error> {
    let currency = ctx.actor.currency();
    let handling = money::round(money::parse_amount("handling", &args.handling)?, currency);
    let shipping = money::round(money::parse_amount("shipping", &args.shipping)?, currency);
    if handling.is_sign_negative() || shipping.is_sign_negative() {
        return Err(Error::bad_request("fees must not be negative"));
    }
    ctx.tx.set_fees(ctx.actor.account(), handling, shipping)?;
    Ok(
        json!({"handling": handling.to_string(), "shipping": shipping.to_string(), "currency": currency}),
    )
}

/// `set_print_settings {documents}`.
pub fn set_print_settings(ctx: &Ctx<'_, '_>, args: &PrintSettings) -> Result<Value, Error> {
    let mut documents: Vec<String> = args.documents.clone();
    if let Some(bad) = documents.iter().find(|d| !DOCUMENTS.contains(&d.as_str())) {
        return Err(Error::bad_request(format!(
            "unknown document {bad:?}: expected {}",
            DOCUMENTS.join(" or ")
        )));
    }
    documents.sort();
    documents.dedup();
    ctx.tx.set_print_settings(ctx.actor.account(), &documents)?;
    Ok(json!({"documents": documents}))
}

/// `import_orders {marketplace, shop?, format, payload}`: creates new orders, updates the
/// marketplace status of known ones, and applies cancellations.
///
/// `parsed` is the native payload as [`parse_native`] read it before the store was locked, when
/// it was (the engine's prepare phase); the handler parses it itself otherwise.
pub fn import_orders(
    ctx: &Ctx<'_, '_>,
    args: &ImportOrders,
    parsed: Option<Result<Vec<CanonicalOrder>, Error>>,
) -> Result<Value, Error> {
    check_name("marketplace", &args.marketplace)?;
    let orders: Vec<CanonicalOrder> = match args.format {
        PayloadFormat::Canonical => canonical::parse_orders(args.payload.clone()).map_err(|e| {
            Error::bad_request(format!("`payload` is not a list of canonical orders: {e}"))
        })?,
        PayloadFormat::Native => {
            let shop = args
                .shop
                .as_deref()
                .ok_or_else(|| Error::bad_request("`shop` is required for native payloads"))?;
            let adapter = ctx.plugins.adapter(&args.marketplace).ok_or_else(|| {
                Error::bad_request(format!(
                    "no adapter is loaded for marketplace {:?}",
                    args.marketplace
                ))
            })?;
            match parsed {
                Some(parsed) => parsed?,
                None => parse_native(adapter, shop, &args.payload)?,
            }
        }
    };
    let (answers, _, _) = import_canonical(ctx, &args.marketplace, args.shop.as_deref(), orders)?;
    Ok(json!({"orders": answers}))
}

/// A marketplace's own order payload (its text, or JSON to be sent as text), read by its
/// adapter into canonical orders. Reads nothing from the store.
pub(crate) fn parse_native(
    adapter: &PluginAdapter,
    shop: &str,
    payload: &Value,
) -> Result<Vec<CanonicalOrder>, Error> {
    let parsed = match payload {
        Value::String(text) => adapter.parse_orders(shop, text),
        other => adapter.parse_orders(shop, &other.to_string()),
    };
    Ok(parsed?)
}

/// Imports canonical orders; returns the answers and how many were created and updated.
pub(crate) fn import_canonical(
    ctx: &Ctx<'_, '_>,
    marketplace: &str,
    shop: Option<&str>,
    orders: Vec<CanonicalOrder>,
) -> Result<(Vec<Value>, usize, usize), Error> {
    if orders.len() > IMPORT_ORDERS_MAX {
        return Err(Error::bad_request(format!(
            "at most {IMPORT_ORDERS_MAX} orders per import"
        )));
    }
    let (mut answers, mut created, mut updated) = (Vec::new(), 0, 0);
    for canonical in orders {
        let (answer, is_new) = import_one(ctx, marketplace, shop, canonical)?;
        if is_new {
            created += 1;
        } else {
            updated += 1;
        }
        answers.push(answer);
    }
    Ok((answers, created, updated))
}

fn import_one(
    ctx: &Ctx<'_, '_>,
    marketplace: &str,
    shop: Option<&str>,
    c: CanonicalOrder,
) -> Result<(Value, bool), Error> {
    if c.marketplace != marketplace {
        return Err(Error::bad_request(format!(
            "order {:?} is from {:?}, not {marketplace:?}",
            c.order_sn, c.marketplace
        )));
    }
    check_name("order_sn", &c.order_sn)?;
    let shop = shop
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
        .unwrap_or(c.shop.clone());
    check_name("shop", &shop)?;
    let name = format!("{marketplace}:{}", c.order_sn);
    let status = serde_json::to_value(c.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let me = ctx.actor.account().to_owned();
    if let Some((existing, lines)) = ctx.tx.order_with_lines(&me, &name)? {
        let was_cancelled = existing.marketplace_status == "cancel_requested"
            || existing.marketplace_status == "cancelled";
        let mut loaded = Loaded::new(existing, lines);
        loaded.order.marketplace_status = status;
        loaded.save(ctx)?;
        if c.status.is_cancellation() && !was_cancelled {
            cancel(ctx, &mut loaded)?;
        }
        return Ok((
            json!({"order": name, "state": loaded.order.state, "created": false}),
            false,
        ));
    }
    if c.lines.is_empty() || c.lines.len() > ORDER_LINES_MAX {
        return Err(Error::bad_request(format!(
            "order {name:?} must have 1..={ORDER_LINES_MAX} lines"
        )));
    }
    let mut merged: Vec<OrderLine> = Vec::new();
    for line in &c.lines {
        check_name("store_sku", &line.store_sku)?;
        check_text("unit_price", &line.unit_price)?;
        if line.qty == 0 || line.qty > LINE_QTY_MAX {
            return Err(Error::bad_request(format!(
                "line {:?} of {name:?}: qty must be 1..={LINE_QTY_MAX}",
                line.store_sku
            )));
        }
        match merged.iter_mut().find(|l| l.store_sku == line.store_sku) {
            Some(l) => l.qty += i64::from(line.qty),
            None => merged.push(OrderLine {
                line: merged.len() as i64 + 1,
                store_sku: line.store_sku.clone(),
                qty: i64::from(line.qty),
                unit_price: line.unit_price.clone(),
                local_sku: None,
                supplier: None,
                sku: None,
                price: None,
            }),
        }
    }
    let currency = if c.currency.is_empty() {
        ctx.actor.currency().to_owned()
    } else {
        c.currency.clone()
    };
    money::check_currency(&currency)?;
    let a = &c.address;
    for (field, text) in [
        ("country", &a.country),
        ("state", &a.state),
        ("city", &a.city),
        ("postcode", &a.postcode),
    ] {
        check_text(field, text)?;
    }
    let (state, audit_seq) = ctx.created(WORKFLOW, &name, "import")?;
    let order = Order {
        audit_head: Some(audit_seq),
        distributor: me.clone(),
        order: name.clone(),
        marketplace: marketplace.to_owned(),
        shop,
        order_sn: c.order_sn.clone(),
        parent: None,
        state,
        marketplace_status: status,
        cancel_flagged: false,
        currency,
        address: serde_json::to_value(&c.address).unwrap_or_default(),
        supplier: None,
        warehouse: None,
        shipping: SHIPPING_PLATFORM.to_owned(),
        tracking_no: None,
        charges: None,
        charged: false,
        stock_locked: false,
        refunded_after_sale: Decimal::ZERO,
        documents: None,
        withdrawn_from: None,
        failure: None,
    };
    ctx.tx.insert_order(&order, &merged, &ctx.now())?;
    let mut loaded = Loaded::new(order, merged);
    if c.status.is_cancellation() {
        cancel(ctx, &mut loaded)?;
    }
    Ok((
        json!({"order": name, "state": loaded.order.state, "created": true}),
        true,
    ))
}

/// A marketplace cancellation (DESIGN.md 6.5): the workflow's `marketplace_cancel` decides
/// (cancel before the push, withdraw with a refund while pushed); where it has no transition (the
/// supplier already shipped) the order stays and is flagged for a withdrawal request. A split
/// order passes the cancellation to its children.
fn cancel(ctx: &Ctx<'_, '_>, loaded: &mut Loaded) -> Result<(), Error> {
    if loaded.order.state == "split" {
        for child in ctx
            .tx
            .order_children(&loaded.order.distributor, &loaded.order.order)?
        {
            let lines = ctx.tx.order_lines(&child.distributor, &child.order)?;
            let mut child = Loaded::new(child, lines);
            child.order.marketplace_status = loaded.order.marketplace_status.clone();
            cancel(ctx, &mut child)?;
            child.save(ctx)?;
        }
        return Ok(());
    }
    match fire(
        ctx,
        loaded,
        "marketplace_cancel",
        Role::System,
        &Args::default(),
    ) {
        Err(e) if e.code() == Code::InvalidTransition => {
            loaded.order.cancel_flagged = true;
            loaded.save(ctx)
        }
        other => other,
    }
}

/// `pack {order, warehouse?, shipping?}`.
pub fn pack(ctx: &Ctx<'_, '_>, args: &Pack) -> Result<Value, Error> {
    let mut loaded = my_order(ctx, &args.order)?;
    if let Some(w) = &args.warehouse {
        check_name("warehouse", w)?;
    }
    let shipping = args.shipping.as_deref().unwrap_or(SHIPPING_PLATFORM);
    if shipping != SHIPPING_PLATFORM && shipping != SHIPPING_SELLER {
        return Err(Error::bad_request(format!(
            "`shipping` must be `platform` or `seller`, got {shipping:?}"
        )));
    }
    loaded.order.shipping = shipping.to_owned();
    fire(
        ctx,
        &mut loaded,
        "pack",
        Role::Distributor,
        &Args {
            warehouse: args.warehouse.as_deref(),
            ..Args::default()
        },
    )?;
    Ok(order_summary(&loaded.order))
}

/// `split_order {order, groups}`: one child order per group of store SKUs.
pub fn split_order(ctx: &Ctx<'_, '_>, args: &SplitOrder) -> Result<Value, Error> {
    let mut loaded = my_order(ctx, &args.order)?;
    let all: BTreeSet<&str> = loaded.lines.iter().map(|l| l.store_sku.as_str()).collect();
    let mut seen = BTreeSet::new();
    for sku in args.groups.iter().flatten() {
        if !all.contains(sku.as_str()) || !seen.insert(sku.as_str()) {
            return Err(Error::bad_request(format!(
                "store SKU {sku:?} is not a line of the order, or is named twice"
            )));
        }
    }
    if args.groups.len() < 2 || args.groups.iter().any(Vec::is_empty) || seen.len() != all.len() {
        return Err(Error::bad_request(
            "`groups` must be two or more non-empty groups naming every line once",
        ));
    }
    fire(
        ctx,
        &mut loaded,
        "split",
        Role::Distributor,
        &Args {
            groups: Some(&args.groups),
            ..Args::default()
        },
    )?;
    let children: Vec<Value> = (1..=args.groups.len())
        .map(|i| json!(format!("{}/{i}", args.order)))
        .collect();
    Ok(json!({"order": args.order, "state": loaded.order.state, "children": children}))
}

/// `push {order}`: the checks and fees rules decide; a passing push charges and queues delivery.
pub fn push(ctx: &Ctx<'_, '_>, args: &OrderArgs) -> Result<Value, Error> {
    let mut loaded = my_order(ctx, &args.order)?;
    fire(
        ctx,
        &mut loaded,
        "push",
        Role::Distributor,
        &Args::default(),
    )?;
    Ok(
        json!({"order": loaded.order.order, "state": loaded.order.state, "charged": charges_json(loaded.order.charges.as_ref())}),
    )
}

/// `withdraw {order}`: asks the supplier to withdraw a pushed order.
pub fn withdraw(ctx: &Ctx<'_, '_>, args: &OrderArgs) -> Result<Value, Error> {
    let mut loaded = my_order(ctx, &args.order)?;
    let from = loaded.order.state.clone();
    fire(
        ctx,
        &mut loaded,
        "withdraw",
        Role::Distributor,
        &Args::default(),
    )?;
    loaded.order.withdrawn_from = Some(from);
    loaded.save(ctx)?;
    Ok(order_summary(&loaded.order))
}

/// `mark_shipped {order}`: a distributor cannot ship a distribution order; the workflow says so.
pub fn mark_shipped(ctx: &Ctx<'_, '_>, args: &OrderArgs) -> Result<Value, Error> {
    let mut loaded = my_order(ctx, &args.order)?;
    fire(
        ctx,
        &mut loaded,
        "mark_shipped",
        Role::Distributor,
        &Args::default(),
    )?;
    Ok(order_summary(&loaded.order))
}

/// `refresh {order}`: the latest state (deliveries are drained before every answer).
pub fn refresh(ctx: &Ctx<'_, '_>, args: &OrderArgs) -> Result<Value, Error> {
    let loaded = my_order(ctx, &args.order)?;
    order_json(ctx, &loaded)
}

/// `fire {entity, id, event}`: a user-declared event on an order.
pub fn fire_event(ctx: &Ctx<'_, '_>, args: &Fire) -> Result<Value, Error> {
    if args.entity != WORKFLOW {
        return Err(Error::bad_request(format!(
            "`fire` drives `{WORKFLOW}` entities, not {:?}",
            args.entity
        )));
    }
    check_name("event", &args.event)?;
    if COMMAND_EVENTS.contains(&args.event.as_str()) {
        return Err(Error::bad_request(format!(
            "`{}` has a command of its own; use it",
            args.event
        )));
    }
    let mut loaded = my_order(ctx, &args.id)?;
    let role = distributor_side(ctx, &loaded.order);
    fire(ctx, &mut loaded, &args.event, role, &Args::default())?;
    Ok(order_summary(&loaded.order))
}

/// `ship_order {order, tracking_no?}` by the supplier.
pub fn ship_order(ctx: &Ctx<'_, '_>, args: &ShipOrder) -> Result<Value, Error> {
    let mut loaded = supplier_order(ctx, &args.order, args.distributor.as_deref())?;
    if let Some(t) = &args.tracking_no {
        check_name("tracking_no", t)?;
        loaded.order.tracking_no = Some(t.clone());
    }
    fire(ctx, &mut loaded, "ship", Role::Supplier, &Args::default())?;
    Ok(order_summary(&loaded.order))
}

/// `confirm_pickup {order}` by the supplier.
pub fn confirm_pickup(ctx: &Ctx<'_, '_>, args: &SupplierOrder) -> Result<Value, Error> {
    let mut loaded = supplier_order(ctx, &args.order, args.distributor.as_deref())?;
    fire(
        ctx,
        &mut loaded,
        "confirm_pickup",
        Role::Supplier,
        &Args::default(),
    )?;
    Ok(order_summary(&loaded.order))
}

/// `review_withdrawal {order, approve, reason?}` by the supplier.
pub fn review_withdrawal(ctx: &Ctx<'_, '_>, args: &ReviewWithdrawal) -> Result<Value, Error> {
    if let Some(reason) = &args.reason {
        check_text("reason", reason)?;
    }
    let mut loaded = supplier_order(ctx, &args.order, args.distributor.as_deref())?;
    let event = if args.approve {
        "approve_withdrawal"
    } else {
        "reject_withdrawal"
    };
    fire(ctx, &mut loaded, event, Role::Supplier, &Args::default())?;
    if !args.approve {
        loaded.order.withdrawn_from = None;
        loaded.order.failure = args.reason.clone();
        loaded.save(ctx)?;
    }
    Ok(order_summary(&loaded.order))
}

/// `after_sale_refund {order, amount, reason}`: the supplier returns part of a charge.
pub fn after_sale_refund(ctx: &Ctx<'_, '_>, args: &AfterSaleRefund) -> Result<Value, Error> {
    check_text("reason", &args.reason)?;
    let mut loaded = supplier_order(ctx, &args.order, args.distributor.as_deref())?;
    let (Some(charges), true) = (loaded.order.charges.clone(), loaded.order.charged) else {
        return Err(Error::new(
            Code::InvalidTransition,
            "the order holds no charge to refund",
        ));
    };
    let account = ledger::account_of(ctx, ctx.actor.account(), &loaded.order.distributor)?;
    let amount = money::round(
        money::parse_amount("amount", &args.amount)?,
        &account.currency,
    );
    let refundable = money::sub(charges.total, loaded.order.refunded_after_sale)?;
    if amount <= Decimal::ZERO || amount > refundable {
        return Err(Error::bad_request(format!(
            "`amount` must be positive and at most {refundable} {}",
            account.currency
        )));
    }
    let txn = ledger::post(
        ctx,
        &account,
        kind::AFTER_SALE_REFUND,
        Some(&loaded.order.order),
        amount,
        Some(&args.reason),
    )?;
    loaded.order.refunded_after_sale = money::add(loaded.order.refunded_after_sale, amount)?;
    loaded.save(ctx)?;
    Ok(
        json!({"order": loaded.order.order, "refunded": amount.to_string(), "balance": txn.balance_after.to_string(), "txn_id": txn.txn_id}),
    )
}

// --- delivery

/// Delivers one queued pushed order to its supplier: `delivered` (the print settings travel with
/// it) while the partnership is live, else `delivery_failed` with the reason and a refund. A
/// delivery whose order is no longer `pushing` is already done (idempotent by order).
pub(crate) fn deliver(
    ctx: &Ctx<'_, '_>,
    seq: i64,
    distributor: &str,
    order: &str,
) -> Result<(), Error> {
    if !ctx.tx.finish_delivery(seq)? {
        return Ok(());
    }
    let mut loaded = load(ctx, distributor, order)?;
    if loaded.order.state != "pushing" {
        return Ok(());
    }
    failpoint!("delivery.during", |code| Err(Error::failpoint(
        "delivery.during",
        code
    )));
    let supplier = loaded.order.supplier.clone().unwrap_or_default();
    let partnered = ctx
        .tx
        .latest_partnership(&supplier, distributor)?
        .is_some_and(|p| p.state == "partnered");
    if partnered {
        let documents = ctx.tx.print_settings(distributor)?;
        loaded.order.documents = Some(json!(documents));
        loaded.order.failure = None;
        fire(
            ctx,
            &mut loaded,
            "delivered",
            Role::System,
            &Args::default(),
        )
    } else {
        loaded.order.failure = Some(format!(
            "{distributor} is no longer partnered with {supplier}"
        ));
        fire(
            ctx,
            &mut loaded,
            "delivery_failed",
            Role::System,
            &Args::default(),
        )
    }
}

// --- queries

/// `orders {state?}`: the actor's orders, and those delivered to it as a supplier.
pub fn orders(ctx: &Ctx<'_, '_>, args: &OrdersQuery) -> Result<Value, Error> {
    let me = ctx.actor.account();
    let state = args.state.as_deref();
    if let Some(state) = state {
        check_name("state", state)?;
    }
    let mut out = Vec::new();
    if ctx.actor.sees_distributor_side() {
        out.extend(ctx.tx.orders_of(me, state)?.iter().map(order_summary));
    }
    if ctx.actor.sees_supplier_side() {
        out.extend(
            ctx.tx
                .orders_for_supplier(me, state)?
                .iter()
                .map(order_summary),
        );
    }
    Ok(json!({"orders": out}))
}

/// `order {order}`: one order with its lines, charges and transition history.
pub fn order(ctx: &Ctx<'_, '_>, args: &OrderQuery) -> Result<Value, Error> {
    check_name("order", &args.order)?;
    if let Some(d) = &args.distributor {
        check_name("distributor", d)?;
    }
    let me = ctx.actor.account();
    let own = if ctx.actor.sees_distributor_side()
        && args.distributor.as_deref().is_none_or(|d| d == me)
    {
        ctx.tx.order(me, &args.order)?
    } else {
        None
    };
    let loaded = match own {
        Some(order) => {
            let lines = ctx.tx.order_lines(me, &order.order)?;
            Loaded::new(order, lines)
        }
        None if ctx.actor.sees_supplier_side() => {
            supplier_order(ctx, &args.order, args.distributor.as_deref())?
        }
        None => return Err(Error::not_found("order", &args.order)),
    };
    order_json(ctx, &loaded)
}

fn charges_json(charges: Option<&Charges>) -> Value {
    charges.map_or(Value::Null, |c| {
        json!({"goods": c.goods.to_string(), "handling": c.handling.to_string(),
               "shipping": c.shipping.to_string(), "total": c.total.to_string()})
    })
}

fn order_summary(o: &Order) -> Value {
    json!({"order": o.order, "state": o.state, "supplier": o.supplier, "warehouse": o.warehouse,
           "distributor": o.distributor, "marketplace_status": o.marketplace_status,
           "cancel_flagged": o.cancel_flagged})
}

fn order_json(ctx: &Ctx<'_, '_>, loaded: &Loaded) -> Result<Value, Error> {
    let o = &loaded.order;
    let chain = match o.audit_head {
        Some(head) => ctx.tx.audit_chain(head)?,
        None => Vec::new(),
    };
    let history: Vec<Value> = chain
        .into_iter()
        .filter(|a| a.from_state.is_some() || a.event == "import" || a.event == "split")
        .map(|a| {
            json!({"from": a.from_state, "to": a.to_state, "event": a.event, "by": a.actor,
                        "rules_version": a.rules_version, "at": a.at})
        })
        .collect();
    let lines: Vec<Value> = loaded
        .lines
        .iter()
        .map(|l| json!({"sku": l.local_sku, "supplier_sku": l.sku, "store_sku": l.store_sku, "qty": l.qty,
                        "price": l.price.map(|p| p.to_string()), "unit_price": l.unit_price}))
        .collect();
    Ok(json!({
        "order": o.order, "state": o.state, "distributor": o.distributor, "supplier": o.supplier,
        "warehouse": o.warehouse, "shipping": o.shipping, "tracking_no": o.tracking_no,
        "marketplace": o.marketplace, "shop": o.shop, "marketplace_status": o.marketplace_status,
        "cancel_flagged": o.cancel_flagged, "parent": o.parent, "failure": o.failure,
        "currency": o.currency, "address": o.address, "lines": lines,
        "charges": charges_json(o.charges.as_ref()), "charged": o.charged,
        "refunded_after_sale": o.refunded_after_sale.to_string(),
        "history": history, "documents": o.documents,
    }))
}
