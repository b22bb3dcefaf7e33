//! An order as a command works on it: read from the store with its lines ([`Loaded`]), changed
//! in memory, and written back with only what changed; and what the command brings to its
//! transition besides the order ([`Args`]).

use crate::{
    command::check_name,
    error::Error,
    flow::Ctx,
    model::{Order, OrderLine},
};

/// An order loaded with its lines, changed in memory and written back by [`Loaded::save`].
pub(super) struct Loaded {
    pub(super) order: Order,
    pub(super) lines: Vec<OrderLine>,
    /// The order and its lines as the store holds them: what `save` writes the changes against.
    stored: (Order, Vec<OrderLine>),
}

impl Loaded {
    /// An order as read from (or just written to) the store.
    pub(super) fn new(order: Order, lines: Vec<OrderLine>) -> Loaded {
        Loaded {
            stored: (order.clone(), lines.clone()),
            order,
            lines,
        }
    }

    /// Writes what changed since the order was read or last saved: only the changed columns of
    /// the order, its lines only when one changed, in one statement.
    pub(super) fn save(&mut self, ctx: &Ctx<'_, '_>) -> Result<(), Error> {
        let (order, lines) = &mut self.stored;
        let changed = *lines != self.lines;
        ctx.tx
            .update_order(order, &self.order, &self.lines, changed, &ctx.now())?;
        if changed {
            lines.clone_from(&self.lines);
        }
        order.clone_from(&self.order);
        Ok(())
    }
}

/// What a command brings to a transition besides the order itself.
#[derive(Default)]
pub(super) struct Args<'a> {
    pub(super) warehouse: Option<&'a str>,
    pub(super) groups: Option<&'a [SplitGroup]>,
    /// Why the engine fires the event, kept in the order's history (`stock_released`).
    pub(super) reason: Option<&'a str>,
}

/// One child order of a split: `(store SKU, quantity)` per line it takes.
pub(super) type SplitGroup = Vec<(String, i64)>;

/// The order `order` of `distributor`, with its lines.
pub(super) fn load(ctx: &Ctx<'_, '_>, distributor: &str, order: &str) -> Result<Loaded, Error> {
    check_name("order", order)?;
    let (found, lines) = ctx
        .tx
        .order_with_lines(distributor, order)?
        .ok_or_else(|| Error::not_found("order", order))?;
    Ok(Loaded::new(found, lines))
}

/// The distributor's own order.
pub(super) fn my_order(ctx: &Ctx<'_, '_>, order: &str) -> Result<Loaded, Error> {
    load(ctx, ctx.actor.account(), order)
}

/// An order delivered to the acting supplier, named by its name (and distributor if ambiguous).
pub(super) fn supplier_order(
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
