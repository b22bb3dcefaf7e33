//! Firing an event on an order: the workflow's guards, its effects, and the order written back.

use super::{
    effects::apply_effect,
    guards::builtin_guard,
    inputs::push_input,
    loaded::{Args, Loaded},
    plan, WORKFLOW,
};
use crate::{
    error::Error,
    flow::{Ctx, Entity},
    rules::inputs::PushCheckInput,
    workflow::{Guard, GuardFailure, Role},
};

/// Fires `event` on the order: guards from the workflow (built-ins in `guards`, `rule:` scripts
/// through the rule set), then the transition's effects, then the order is written back.
pub(super) fn fire(
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
                    view.supplier = Some(supplier.clone());
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
