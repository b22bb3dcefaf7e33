//! Firing an event on an order: the workflow's guards, its effects, and the order written back.

use super::{
    effects::apply_effect,
    guards::builtin_guard,
    inputs::push_input,
    loaded::{Args, Loaded},
    plan, WORKFLOW,
};
use crate::contract::order;
use crate::{
    error::Error,
    flow::{Ctx, Entity},
    model::{Order, OrderLine},
    rules::inputs::{AllocationInput, FeeSettings, FeesInput, PushCheckInput},
    workflow::{Guard, GuardFailure, Role},
};

/// The failures of one guard on the order: a built-in (`guards`), or a `rule:` script run on the
/// push input, worked out once and kept in `checked` for the effects. Reads, never writes; the
/// pack guards share one plan, kept in `pack_plan`.
pub(super) fn eval_guard(
    ctx: &Ctx<'_, '_>,
    order: &mut Order,
    lines: &mut [OrderLine],
    guard: &Guard,
    args: &Args<'_>,
    pack_plan: &mut Option<plan::PackPlan>,
    checked: &mut Option<PushCheckInput>,
) -> Result<Vec<GuardFailure>, Error> {
    match guard {
        Guard::Builtin(name) => builtin_guard(ctx, order, lines, name, args, pack_plan),
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
            *checked = Some(input);
            Ok(failures
                .into_iter()
                .map(|f| GuardFailure::new(f.code, f.message))
                .collect())
        }
    }
}

/// What the rules read to decide a transition, recorded with its audit row so a candidate pack
/// can be replayed on the same inputs: the allocation rule's (`allocate_warehouse`, at a pack),
/// what the transition's `rule:` guards read (`rule_guards`: the push checks, at a push) and the
/// fee rule's (`fees`: the order and the supplier's settings, unchanged since the guards ran in
/// this transaction).
#[derive(serde::Serialize)]
struct DecisionInputs<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    allocate_warehouse: Option<&'a AllocationInput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_guards: Option<&'a PushCheckInput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fees: Option<FeesInput>,
}

fn decision_inputs(
    ctx: &Ctx<'_, '_>,
    pack_plan: Option<&plan::PackPlan>,
    checked: Option<&PushCheckInput>,
) -> Result<Option<serde_json::Value>, Error> {
    let allocate_warehouse = pack_plan.and_then(|p| p.allocation.as_ref());
    if allocate_warehouse.is_none() && checked.is_none() {
        return Ok(None);
    }
    let fees = match checked {
        Some(input) => {
            let (handling, shipping) = ctx.tx.fees(&input.partnership.supplier)?;
            Some(FeesInput {
                order: input.order.clone(),
                settings: FeeSettings { handling, shipping },
            })
        }
        None => None,
    };
    let inputs = DecisionInputs {
        allocate_warehouse,
        rule_guards: checked,
        fees,
    };
    serde_json::to_value(&inputs)
        .map(Some)
        .map_err(|e| Error::internal(format!("decision inputs do not serialise: {e}")))
}

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
    let distributor = loaded.order.distributor.clone();
    let entity = Entity {
        workflow: WORKFLOW,
        id: &id,
        owner: &distributor,
        state: &entity_state,
        audit_head: loaded.order.audit_head,
    };
    let decided = {
        let Loaded { order, lines, .. } = &mut *loaded;
        ctx.decide(&entity, event, role, |guard| {
            eval_guard(ctx, order, lines, guard, args, &mut pack_plan, &mut checked)
        })?
    };
    // What the rules read goes into the transition's audit row, one insert.
    let inputs = decision_inputs(ctx, pack_plan.as_ref(), checked.as_ref())?;
    let moved = ctx.record(&entity, event, args.reason, decided, inputs.as_ref())?;
    if let Some(plan) = &pack_plan {
        if let Ok((supplier, warehouse)) = &plan.single_warehouse {
            if moved.to != entity_state && event == order::PACK {
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
