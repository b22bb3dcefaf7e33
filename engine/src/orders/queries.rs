//! The order queries (`orders`, `order`) and the JSON an order is answered with.

use serde_json::{json, Value};

use super::loaded::{supplier_order, Loaded};
use crate::{
    command::{check_name, OrderQuery, OrdersQuery},
    error::Error,
    flow::Ctx,
    model::{Charges, Order},
};

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

/// What an order was charged, as answered.
pub(super) fn charges_json(charges: Option<&Charges>) -> Value {
    charges.map_or(Value::Null, |c| {
        json!({"goods": c.goods.to_string(), "handling": c.handling.to_string(),
               "shipping": c.shipping.to_string(), "total": c.total.to_string()})
    })
}

/// An order in a list, and in the answer of most order commands.
pub(super) fn order_summary(o: &Order) -> Value {
    json!({"order": o.order, "state": o.state, "supplier": o.supplier, "warehouse": o.warehouse,
           "distributor": o.distributor, "marketplace_status": o.marketplace_status,
           "cancel_flagged": o.cancel_flagged})
}

/// One order in full: lines, charges, documents and its transition history.
pub(super) fn order_json(ctx: &Ctx<'_, '_>, loaded: &Loaded) -> Result<Value, Error> {
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
