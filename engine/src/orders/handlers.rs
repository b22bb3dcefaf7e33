//! The order commands' handlers (fees, print settings, pack, split, push, withdraw, ship, pickup,
//! refunds, user events) and the system's delivery of a queued order to its supplier.

use crate::contract::{order, partnership};
use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::json;

use super::{
    answers::{
        AfterSaleRefunded, Charges, Documents, Fees, FullOrder, OrderPushed, OrderSplit,
        OrderSummary,
    },
    effects::stock_released,
    fire::fire,
    loaded::{load, my_order, supplier_order, Args, SplitGroup},
    queries::full_order,
    COMMAND_EVENTS, DOCUMENTS, SPLIT_GROUPS_MAX, STATUS_UNPAID, WORKFLOW,
};
use crate::{
    command::{
        check_name, check_text, AfterSaleRefund, Fire, OrderArgs, Pack, PrintSettings,
        ReviewWithdrawal, SetFees, ShipOrder, SplitItem, SplitOrder, SupplierOrder,
    },
    error::{Code, Error},
    flow::Ctx,
    ledger::{self, kind},
    model::{money, Order, OrderLine},
    rules::inputs::{SHIPPING_PLATFORM, SHIPPING_SELLER},
    workflow::Role,
};

/// `set_fees {handling, shipping}`: the supplier's fees, charged once per pushed order.
pub fn set_fees(ctx: &Ctx<'_, '_>, args: &SetFees) -> Result<Fees, Error> {
    let currency = ctx.actor.currency();
    let handling = money::round(money::parse_amount("handling", &args.handling)?, currency);
    let shipping = money::round(money::parse_amount("shipping", &args.shipping)?, currency);
    if handling.is_sign_negative() || shipping.is_sign_negative() {
        return Err(Error::bad_request("fees must not be negative"));
    }
    ctx.tx.set_fees(ctx.actor.account(), handling, shipping)?;
    Ok(Fees {
        handling: handling.into(),
        shipping: shipping.into(),
        currency: currency.to_owned(),
    })
}

/// `set_print_settings {documents}`.
pub fn set_print_settings(ctx: &Ctx<'_, '_>, args: &PrintSettings) -> Result<Documents, Error> {
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
    Ok(Documents { documents })
}

/// `pack {order, warehouse?, shipping?}`. Only a paid order is packed: the check is the engine's,
/// before the workflow's guards, so no rule pack can fulfil an order the buyer has not paid.
pub fn pack(ctx: &Ctx<'_, '_>, args: &Pack) -> Result<OrderSummary, Error> {
    let mut loaded = my_order(ctx, &args.order)?;
    if loaded.order.marketplace_status == STATUS_UNPAID {
        return Err(Error::new(
            Code::OrderUnpaid,
            format!(
                "order {:?} is not paid yet (marketplace status `{STATUS_UNPAID}`): it can be packed once an import says it is paid",
                args.order
            ),
        )
        .with("order", args.order.as_str())
        .with("marketplace_status", STATUS_UNPAID));
    }
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
        order::PACK,
        Role::Distributor,
        &Args {
            warehouse: args.warehouse.as_deref(),
            ..Args::default()
        },
    )?;
    Ok(OrderSummary::from(&loaded.order))
}

/// `split_order {order, groups}`: one child order per group; a group item is a whole line (its
/// store SKU) or part of one (`{store_sku, qty}`).
pub fn split_order(ctx: &Ctx<'_, '_>, args: &SplitOrder) -> Result<OrderSplit, Error> {
    let mut loaded = my_order(ctx, &args.order)?;
    let groups = split_groups(&loaded.lines, &args.groups)?;
    fire(
        ctx,
        &mut loaded,
        order::SPLIT_EVENT,
        Role::Distributor,
        &Args {
            groups: Some(&groups),
            ..Args::default()
        },
    )?;
    let children = (1..=groups.len())
        .map(|i| format!("{}/{i}", args.order))
        .collect();
    Ok(OrderSplit {
        order: args.order.clone(),
        state: loaded.order.state,
        children,
    })
}

/// The groups of a split as `(store SKU, quantity)` per child, checked: two to
/// [`SPLIT_GROUPS_MAX`] non-empty groups, each naming a line at most once, that together cover
/// every unit of every line exactly once.
fn split_groups(lines: &[OrderLine], groups: &[Vec<SplitItem>]) -> Result<Vec<SplitGroup>, Error> {
    if groups.len() < 2 || groups.len() > SPLIT_GROUPS_MAX {
        return Err(Error::bad_request(format!(
            "`groups` must be 2 to {SPLIT_GROUPS_MAX} groups, got {}",
            groups.len()
        )));
    }
    let mut covered: BTreeMap<&str, i64> = BTreeMap::new();
    let mut out = Vec::with_capacity(groups.len());
    for (number, group) in (1..).zip(groups) {
        if group.is_empty() {
            return Err(Error::bad_request(format!("group {number} is empty")));
        }
        let mut items: SplitGroup = Vec::with_capacity(group.len());
        for item in group {
            let (store_sku, qty) = match item {
                SplitItem::Line(store_sku) => (store_sku, None),
                SplitItem::Part(part) => (&part.store_sku, Some(part.qty)),
            };
            let Some(line) = lines.iter().find(|l| &l.store_sku == store_sku) else {
                return Err(Error::bad_request(format!(
                    "store SKU {store_sku:?} is not a line of the order"
                )));
            };
            let qty = qty.unwrap_or(line.qty);
            if qty < 1 {
                return Err(Error::bad_request(format!(
                    "`qty` of store SKU {store_sku:?} must be at least 1, got {qty}"
                )));
            }
            if items.iter().any(|(s, _)| s == store_sku) {
                return Err(Error::bad_request(format!(
                    "store SKU {store_sku:?} is named twice in group {number}"
                )));
            }
            let sum = covered.entry(line.store_sku.as_str()).or_default();
            *sum = sum.saturating_add(qty);
            items.push((store_sku.clone(), qty));
        }
        out.push(items);
    }
    for line in lines {
        let sum = covered.get(line.store_sku.as_str()).copied().unwrap_or(0);
        if sum != line.qty {
            return Err(Error::bad_request(format!(
                "the groups cover {sum} of the {} units of store SKU {:?}: each unit must be in exactly one group",
                line.qty, line.store_sku
            )));
        }
    }
    Ok(out)
}

/// `push {order}`: the checks and fees rules decide; a passing push charges and queues delivery.
pub fn push(ctx: &Ctx<'_, '_>, args: &OrderArgs) -> Result<OrderPushed, Error> {
    let mut loaded = my_order(ctx, &args.order)?;
    // The engine's own check, whatever the rule pack says: no order is pushed without the stock
    // it locked (auto-clear may have released it; `stock_released` then sends it back to be
    // packed where the workflow says how).
    if !loaded.order.stock_locked {
        let state = loaded.order.state.clone();
        return Err(Error::new(
            Code::InvalidTransition,
            format!(
                "order {:?} holds no stock (state `{state}`): it must be packed before it is pushed",
                args.order
            ),
        )
        .with("state", state));
    }
    fire(
        ctx,
        &mut loaded,
        order::PUSH,
        Role::Distributor,
        &Args::default(),
    )?;
    Ok(OrderPushed {
        charged: loaded.order.charges.as_ref().map(Charges::from),
        order: loaded.order.order,
        state: loaded.order.state,
    })
}

/// `withdraw {order}`: asks the supplier to withdraw a pushed order.
pub fn withdraw(ctx: &Ctx<'_, '_>, args: &OrderArgs) -> Result<OrderSummary, Error> {
    let mut loaded = my_order(ctx, &args.order)?;
    let from = loaded.order.state.clone();
    fire(
        ctx,
        &mut loaded,
        order::WITHDRAW,
        Role::Distributor,
        &Args::default(),
    )?;
    loaded.order.withdrawn_from = Some(from);
    loaded.save(ctx)?;
    Ok(OrderSummary::from(&loaded.order))
}

/// `mark_shipped {order}`: a distributor cannot ship a distribution order; the workflow says so.
pub fn mark_shipped(ctx: &Ctx<'_, '_>, args: &OrderArgs) -> Result<OrderSummary, Error> {
    let mut loaded = my_order(ctx, &args.order)?;
    fire(
        ctx,
        &mut loaded,
        "mark_shipped",
        Role::Distributor,
        &Args::default(),
    )?;
    Ok(OrderSummary::from(&loaded.order))
}

/// `refresh {order}`: the latest state (deliveries are drained before every answer).
pub fn refresh(ctx: &Ctx<'_, '_>, args: &OrderArgs) -> Result<FullOrder, Error> {
    let loaded = my_order(ctx, &args.order)?;
    full_order(ctx, &loaded)
}

/// `fire {entity, id, event}`: a user-declared event on an order.
pub fn fire_event(ctx: &Ctx<'_, '_>, args: &Fire) -> Result<OrderSummary, Error> {
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
    Ok(OrderSummary::from(&loaded.order))
}

/// `ship_order {order, tracking_no?}` by the supplier.
pub fn ship_order(ctx: &Ctx<'_, '_>, args: &ShipOrder) -> Result<OrderSummary, Error> {
    let mut loaded = supplier_order(ctx, &args.order, args.distributor.as_deref())?;
    if let Some(t) = &args.tracking_no {
        check_name("tracking_no", t)?;
        loaded.order.tracking_no = Some(t.clone());
    }
    fire(
        ctx,
        &mut loaded,
        order::SHIP,
        Role::Supplier,
        &Args::default(),
    )?;
    Ok(OrderSummary::from(&loaded.order))
}

/// `confirm_pickup {order}` by the supplier.
pub fn confirm_pickup(ctx: &Ctx<'_, '_>, args: &SupplierOrder) -> Result<OrderSummary, Error> {
    let mut loaded = supplier_order(ctx, &args.order, args.distributor.as_deref())?;
    fire(
        ctx,
        &mut loaded,
        order::CONFIRM_PICKUP,
        Role::Supplier,
        &Args::default(),
    )?;
    Ok(OrderSummary::from(&loaded.order))
}

/// `review_withdrawal {order, approve, reason?}` by the supplier.
pub fn review_withdrawal(
    ctx: &Ctx<'_, '_>,
    args: &ReviewWithdrawal,
) -> Result<OrderSummary, Error> {
    if let Some(reason) = &args.reason {
        check_text("reason", reason)?;
    }
    let mut loaded = supplier_order(ctx, &args.order, args.distributor.as_deref())?;
    let event = if args.approve {
        order::APPROVE_WITHDRAWAL
    } else {
        order::REJECT_WITHDRAWAL
    };
    fire(ctx, &mut loaded, event, Role::Supplier, &Args::default())?;
    if !args.approve {
        loaded.order.withdrawn_from = None;
        loaded.order.failure = args.reason.clone();
        loaded.save(ctx)?;
    }
    Ok(OrderSummary::from(&loaded.order))
}

/// `after_sale_refund {order, amount, reason}`: the supplier returns part of a charge.
pub fn after_sale_refund(
    ctx: &Ctx<'_, '_>,
    args: &AfterSaleRefund,
) -> Result<AfterSaleRefunded, Error> {
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
    Ok(AfterSaleRefunded {
        order: loaded.order.order,
        refunded: amount.into(),
        balance: txn.balance_after.into(),
        txn_id: txn.txn_id,
    })
}

/// The role a user event is fired in: the distributor on its own order, else the supplier.
pub(super) fn distributor_side(ctx: &Ctx<'_, '_>, order: &Order) -> Role {
    if order.distributor == ctx.actor.account() {
        Role::Distributor
    } else {
        Role::Supplier
    }
}

/// Delivers a pushed order, its queue row done (`delivery`), to its supplier: `delivered` (the
/// print settings travel with it) while the partnership is live, else `delivery_failed` with the
/// reason and a refund. A delivery whose order is no longer `pushing` is already done (idempotent
/// by order).
pub(crate) fn deliver(ctx: &Ctx<'_, '_>, distributor: &str, order: &str) -> Result<(), Error> {
    let mut loaded = load(ctx, distributor, order)?;
    if loaded.order.state != order::PUSHING {
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
        .is_some_and(|p| p.state == partnership::PARTNERED);
    if partnered {
        let documents = ctx.tx.print_settings(distributor)?;
        loaded.order.documents = Some(json!(documents));
        loaded.order.failure = None;
        fire(
            ctx,
            &mut loaded,
            order::DELIVERED,
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
            order::DELIVERY_FAILED,
            Role::System,
            &Args::default(),
        )?;
        // Ending the partnership released the stock the order had locked while it was on its
        // way: it goes back to be packed again before another push.
        if !loaded.order.stock_locked {
            stock_released(
                ctx,
                &mut loaded,
                "auto-clear released its stock while it was pushing",
            )?;
        }
        Ok(())
    }
}
