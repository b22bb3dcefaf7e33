//! `explain` on an order: every transition out of its state, each guard evaluated now on what
//! the order and the store hold, nothing written.

use super::{
    fire::eval_guard,
    handlers::distributor_side,
    loaded::{supplier_order, Args, Loaded},
};
use crate::{
    error::Error,
    flow::Ctx,
    lifecycle::answers::{ExplainedTransition, GuardVerdict},
    workflow::Workflow,
};

/// The order `id` as the actor sees it (its own, or one pushed to it), its state and every
/// transition out of that state, explained.
pub(crate) fn explain_order(
    ctx: &Ctx<'_, '_>,
    workflow: &Workflow,
    id: &str,
) -> Result<(String, Vec<ExplainedTransition>), Error> {
    let me = ctx.actor.account();
    let own = if ctx.actor.sees_distributor_side() {
        ctx.tx.order(me, id)?
    } else {
        None
    };
    let Loaded {
        mut order,
        mut lines,
        ..
    } = match own {
        Some(order) => {
            let lines = ctx.tx.order_lines(me, &order.order)?;
            Loaded::new(order, lines)
        }
        None if ctx.actor.sees_supplier_side() => supplier_order(ctx, id, None)?,
        None => return Err(Error::not_found("order", id)),
    };
    let role = distributor_side(ctx, &order);
    let state = order.state.clone();
    let mut pack_plan = None;
    let mut checked = None;
    let mut transitions = Vec::new();
    for transition in workflow.transitions_from(&state) {
        let mut guards = Vec::new();
        for guard in transition.guards() {
            let args = Args::default();
            let outcome = eval_guard(
                ctx,
                &mut order,
                &mut lines,
                guard,
                &args,
                &mut pack_plan,
                &mut checked,
            );
            guards.extend(GuardVerdict::of(&guard.to_string(), outcome)?);
        }
        transitions.push(ExplainedTransition::new(transition, role, guards));
    }
    Ok((state, transitions))
}
