//! The order queries (`orders`, `order`) and the full order they and `refresh` answer.

use super::{
    answers::{FullOrder, OrderList, OrderSummary, OrderTransition},
    loaded::{supplier_order, Loaded},
};
use crate::contract::order;
use crate::{
    command::{check_name, OrderQuery, OrdersQuery},
    error::Error,
    flow::Ctx,
};

/// `orders {state?}`: the actor's orders, and those delivered to it as a supplier.
pub fn orders(ctx: &Ctx<'_, '_>, args: &OrdersQuery) -> Result<OrderList, Error> {
    let me = ctx.actor.account();
    let state = args.state.as_deref();
    if let Some(state) = state {
        check_name("state", state)?;
    }
    let mut out = Vec::new();
    if ctx.actor.sees_distributor_side() {
        out.extend(ctx.tx.orders_of(me, state)?.iter().map(OrderSummary::from));
    }
    if ctx.actor.sees_supplier_side() {
        out.extend(
            ctx.tx
                .orders_for_supplier(me, state)?
                .iter()
                .map(OrderSummary::from),
        );
    }
    Ok(OrderList { orders: out })
}

/// `order {order}`: one order with its lines, charges and transition history.
pub fn order(ctx: &Ctx<'_, '_>, args: &OrderQuery) -> Result<FullOrder, Error> {
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
    full_order(ctx, &loaded)
}

/// One order in full: lines, charges, documents and its transition history (the transitions
/// that created it or moved it; oldest first).
pub(super) fn full_order(ctx: &Ctx<'_, '_>, loaded: &Loaded) -> Result<FullOrder, Error> {
    let o = &loaded.order;
    let chain = match o.audit_head {
        Some(head) => ctx.tx.audit_chain(head)?,
        None => Vec::new(),
    };
    let history: Vec<OrderTransition> = chain
        .into_iter()
        .filter(|a| a.from_state.is_some() || a.event == "import" || a.event == order::SPLIT_EVENT)
        .map(OrderTransition::from)
        .collect();
    FullOrder::new(o, &loaded.lines, history)
}
