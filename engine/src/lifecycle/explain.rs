//! `explain {entity, id}`: "why is this stuck?" for every kind of entity. Each transition out of
//! the entity's state is evaluated now, in the command's read transaction, and nothing is
//! written.

use super::answers::{Explained, ExplainedTransition, GuardVerdict};
use crate::{
    command::{check_name, Explain},
    contract,
    error::Error,
    flow::{no_guards, Ctx},
    orders,
    workflow::{Role, Workflow},
};

/// `explain {entity, id}`.
pub fn explain(ctx: &Ctx<'_, '_>, args: &Explain) -> Result<Explained, Error> {
    check_name("entity", &args.entity)?;
    check_name("id", &args.id)?;
    let known = [
        contract::order::WORKFLOW,
        contract::partnership::WORKFLOW,
        contract::product::WORKFLOW,
    ];
    if !known.contains(&args.entity.as_str()) {
        return Err(Error::bad_request(format!(
            "`explain` explains {}, not {:?}",
            known.join(", "),
            args.entity
        )));
    }
    let workflow = ctx.workflows.get(&args.entity).ok_or_else(|| {
        Error::internal(format!("the rule pack has no `{}` workflow", args.entity))
    })?;
    let (state, transitions) = if args.entity == contract::order::WORKFLOW {
        orders::explain_order(ctx, workflow, &args.id)?
    } else {
        explain_unguarded(ctx, workflow, &args.entity, &args.id)?
    };
    Ok(Explained {
        entity: args.entity.clone(),
        id: args.id.clone(),
        state,
        transitions,
    })
}

/// A partnership (seen by its supplier or distributor) or a claim (seen by its distributor):
/// their workflows take no guards (the contract gives none to them), so a transition is allowed
/// when the actor's role may fire it.
fn explain_unguarded(
    ctx: &Ctx<'_, '_>,
    workflow: &Workflow,
    entity: &str,
    id: &str,
) -> Result<(String, Vec<ExplainedTransition>), Error> {
    let me = ctx.actor.account();
    let found = ctx.tx.entity_parties(entity, id)?;
    let role = match &found {
        Some(p) if p.distributor == me && ctx.actor.sees_distributor_side() => Role::Distributor,
        Some(p) if p.supplier.as_deref() == Some(me) && ctx.actor.sees_supplier_side() => {
            Role::Supplier
        }
        _ => return Err(Error::not_found(entity, id)),
    };
    let state = found.map(|p| p.state).unwrap_or_default();
    let mut transitions = Vec::new();
    for t in workflow.transitions_from(&state) {
        let mut guards = Vec::new();
        for guard in t.guards() {
            guards.extend(GuardVerdict::of(&guard.to_string(), no_guards(guard))?);
        }
        transitions.push(ExplainedTransition::new(t, role, guards));
    }
    Ok((state, transitions))
}
