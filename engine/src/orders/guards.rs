//! The order workflow's built-in guards: the pack guards (read from the pack plan), the tracking
//! number of a seller delivery, and where a withdrawal was requested from.

use std::collections::BTreeMap;

use super::{inputs::order_input, loaded::Args, plan};
use crate::{
    error::{Code, Error},
    flow::Ctx,
    model::{Order, OrderLine},
    rules::inputs::SHIPPING_SELLER,
    workflow::GuardFailure,
};

/// The failures of the built-in guard `name` on the order; the pack guards share one plan,
/// made at the first of them.
pub(super) fn builtin_guard(
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
        "came_from_pushed" | "came_from_to_pickup" | "came_from_shipped" => {
            let from = name.trim_start_matches(crate::contract::order::CAME_FROM_PREFIX);
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
