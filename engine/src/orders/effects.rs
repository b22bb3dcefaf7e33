//! The order workflow's effects: stock locked, released and consumed, fees charged and refunded,
//! the delivery queued, split orders created; and the locks auto-clear gives back, sending an order
//! not pushed yet back to be packed again.

use crate::contract::order;
use rust_decimal::Decimal;

use super::{
    fire::fire,
    inputs::push_input,
    loaded::{Args, Loaded, SplitGroup},
    WORKFLOW,
};
use crate::{
    error::{Code, Error},
    flow::{Actor, Ctx},
    ledger::{self, kind},
    model::{money, CellKey, Charges, Order, OrderLine},
    rules::inputs::PushCheckInput,
    store::{movement, ClearScope},
    workflow::Role,
};

/// Applies one effect of the transition `event` took to the order in memory (and to the stock
/// and the ledger in the store); the caller writes the order back.
pub(super) fn apply_effect(
    ctx: &Ctx<'_, '_>,
    loaded: &mut Loaded,
    effect: &str,
    event: &str,
    args: &Args<'_>,
    checked: &mut Option<PushCheckInput>,
) -> Result<(), Error> {
    match effect {
        "lock_stock" => lock_stock(ctx, loaded),
        "release_stock" | "consume_stock" => unlock_stock(ctx, loaded, effect == "release_stock"),
        "charge_fees" => charge_fees(ctx, loaded, checked),
        "refund_charges" => refund_charges(ctx, loaded, event),
        "enqueue_delivery" => {
            let (supplier, _) = placed(&loaded.order)?;
            ctx.tx.enqueue_delivery(
                &loaded.order.distributor,
                &loaded.order.order,
                &supplier,
                &ctx.now(),
            )
        }
        "create_split_orders" => {
            let groups = args.groups.ok_or_else(|| {
                Error::new(
                    Code::RuleError,
                    "`create_split_orders` runs only on `split_order`",
                )
            })?;
            create_children(ctx, loaded, groups)
        }
        other => Err(Error::new(
            Code::RuleError,
            format!("effect `{other}` does not apply to an order"),
        )),
    }
}

/// `lock_stock`: each line's quantity moves from available to locked in the order's warehouse.
fn lock_stock(ctx: &Ctx<'_, '_>, loaded: &mut Loaded) -> Result<(), Error> {
    let now = ctx.now();
    let (supplier, warehouse) = placed(&loaded.order)?;
    // Several cells are locked first, in the order of their keys (PostgreSQL); one is locked by
    // the read that changes it.
    if loaded.lines.len() > 1 {
        ctx.tx.lock_cells(line_cells(
            &loaded.order,
            &supplier,
            &warehouse,
            &loaded.lines,
        ))?;
    }
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
    Ok(())
}

/// `release_stock` (`release`: the locked quantity becomes available again) or `consume_stock`
/// (it leaves with the shipment), for an order that holds a lock.
fn unlock_stock(ctx: &Ctx<'_, '_>, loaded: &mut Loaded, release: bool) -> Result<(), Error> {
    if !loaded.order.stock_locked {
        return Ok(());
    }
    let now = ctx.now();
    let (supplier, warehouse) = placed(&loaded.order)?;
    // Locked before `locked` is read (PostgreSQL), in the order of their keys.
    ctx.tx.lock_cells(line_cells(
        &loaded.order,
        &supplier,
        &warehouse,
        &loaded.lines,
    ))?;
    for line in &loaded.lines {
        let cell = cell_of(ctx, &loaded.order, &supplier, &warehouse, line)?;
        let (back, kind) = if release {
            (line.qty, movement::ORDER_RELEASE)
        } else {
            (0, movement::ORDER_SHIP)
        };
        let unlocked = cell.locked.min(line.qty);
        ctx.tx
            .adjust_cell(cell.key(), back.min(unlocked), -unlocked, kind, &now)?;
    }
    loaded.order.stock_locked = false;
    Ok(())
}

/// `charge_fees`: the goods and fees the push checks approved are charged to the distributor's
/// account with the supplier, and each line keeps its price.
fn charge_fees(
    ctx: &Ctx<'_, '_>,
    loaded: &mut Loaded,
    checked: &mut Option<PushCheckInput>,
) -> Result<(), Error> {
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
    Ok(())
}

/// `refund_charges`: what the order was charged, less the after-sale refunds, goes back.
fn refund_charges(ctx: &Ctx<'_, '_>, loaded: &mut Loaded, event: &str) -> Result<(), Error> {
    let (true, Some(charges), Some(supplier)) = (
        loaded.order.charged,
        &loaded.order.charges,
        &loaded.order.supplier,
    ) else {
        return Ok(());
    };
    let account = ledger::account_of(ctx, supplier, &loaded.order.distributor)?;
    let kind = if event == order::DELIVERY_FAILED {
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
    Ok(())
}

/// Auto-clear (docs/protocol.md#stock-and-orders) releases locked stock before it clears the cells:
/// every order holding a lock in the cells about to be cleared gives all its locks back. It then
/// holds none, so a later cancellation or shipment cannot release or consume another order's lock.
/// An order not pushed yet goes back to be packed again ([`stock_released`]); one already pushed
/// keeps its state (it was pushed with its stock).
pub(crate) fn release_locks(
    ctx: &Ctx<'_, '_>,
    distributor: &str,
    supplier: &str,
    scope: ClearScope<'_>,
) -> Result<(), Error> {
    let reason = match scope {
        ClearScope::Supplier => format!("auto-clear: the partnership with {supplier} ended"),
        ClearScope::Warehouse(w) => format!("auto-clear: warehouse {w} is no longer assigned"),
        ClearScope::Sku(sku) => format!("auto-clear: {sku} is no longer distributed"),
    };
    for order in ctx.tx.locked_orders(distributor, supplier)? {
        let lines = ctx.tx.order_lines(distributor, &order.order)?;
        let touched = match scope {
            ClearScope::Supplier => true,
            ClearScope::Warehouse(w) => order.warehouse.as_deref() == Some(w),
            ClearScope::Sku(sku) => lines.iter().any(|l| l.sku.as_deref() == Some(sku)),
        };
        if touched {
            let mut loaded = Loaded::new(order, lines);
            stock_released(ctx, &mut loaded, &reason)?;
            if loaded.order.stock_locked {
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
    }
    Ok(())
}

/// Fires `stock_released` (by the system, `reason` in the history) on an order that holds no
/// stock, or whose stock auto-clear is releasing, where the workflow has a transition for it
/// from the order's state: no order is pushed without the stock it locked. Answers whether it
/// fired.
pub(super) fn stock_released(
    ctx: &Ctx<'_, '_>,
    loaded: &mut Loaded,
    reason: &str,
) -> Result<bool, Error> {
    let fires = ctx.workflows.get(WORKFLOW).is_some_and(|w| {
        w.events_from(&loaded.order.state)
            .contains(&order::STOCK_RELEASED)
    });
    if !fires {
        return Ok(false);
    }
    let system = Actor::system();
    let as_system = Ctx {
        actor: &system,
        ..*ctx
    };
    let args = Args {
        reason: Some(reason),
        ..Args::default()
    };
    fire(
        &as_system,
        loaded,
        order::STOCK_RELEASED,
        Role::System,
        &args,
    )?;
    // Packing chooses its warehouse (and so its supplier) afresh: the old one may be gone.
    if !loaded.order.stock_locked {
        loaded.order.supplier = None;
        loaded.order.warehouse = None;
        loaded.save(ctx)?;
    }
    Ok(true)
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

/// The cells of an order's lines in its warehouse (made only where they are locked: nothing is
/// built on SQLite).
fn line_cells<'a>(
    order: &'a Order,
    supplier: &'a str,
    warehouse: &'a str,
    lines: &'a [OrderLine],
) -> impl Iterator<Item = CellKey<'a>> + 'a {
    lines.iter().map(move |line| CellKey {
        account: &order.distributor,
        supplier,
        warehouse,
        sku: line.sku.as_deref().unwrap_or_default(),
    })
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

fn create_children(ctx: &Ctx<'_, '_>, loaded: &Loaded, groups: &[SplitGroup]) -> Result<(), Error> {
    for (index, group) in groups.iter().enumerate() {
        let name = format!("{}/{}", loaded.order.order, index + 1);
        let (state, audit_seq) = ctx.created(
            WORKFLOW,
            &name,
            &loaded.order.distributor,
            order::SPLIT_EVENT,
        )?;
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
        // The parent's lines in its order, each with the quantity this child takes of it.
        let lines: Vec<OrderLine> = loaded
            .lines
            .iter()
            .filter_map(|l| {
                let (_, qty) = group.iter().find(|(sku, _)| *sku == l.store_sku)?;
                Some((l, *qty))
            })
            .enumerate()
            .map(|(i, (l, qty))| OrderLine {
                line: i as i64 + 1,
                qty,
                ..l.clone()
            })
            .collect();
        ctx.tx.insert_order(&child, &lines, &ctx.now())?;
    }
    Ok(())
}
