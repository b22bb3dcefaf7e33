//! What packing an order needs to know, worked out before the workflow's guards read it: which
//! claimed SKU each line is, which supplier and warehouse ship it, whether the stock is there,
//! and whether the marketplace supports the shipping method.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::{
    contract::product::CLAIMED,
    error::{Code, Error},
    flow::Ctx,
    model::{Claim, Order, OrderLine},
    rules::inputs::{AllocationInput, OrderInput, WarehouseCandidate},
    workflow::GuardFailure,
};

/// The capability an adapter declares when its marketplace supports seller delivery.
pub const CAPABILITY_SELLER_DELIVERY: &str =
    distributary_plugin::adapter::CAPABILITY_SELLER_DELIVERY;

/// The outcome of each pack guard, computed once.
pub struct PackPlan {
    pub lines_mapped: Result<(), GuardFailure>,
    pub single_warehouse: Result<(String, String), GuardFailure>,
    pub shipping_supported: Result<(), GuardFailure>,
    pub stock_available: Result<(), GuardFailure>,
    /// What `allocate_warehouse.rhai` was run with, when it chose the warehouse; recorded with
    /// the pack transition (the decision's inputs).
    pub allocation: Option<AllocationInput>,
}

fn failure(code: Code, message: String) -> GuardFailure {
    GuardFailure::new(code.as_str(), message)
}

/// The live claims behind each line's local SKU (filling the line's `local_sku`), by supplier.
/// A local SKU claimed from several suppliers has one claim per supplier (multi-sourcing).
fn line_claims(
    ctx: &Ctx<'_, '_>,
    order: &Order,
    lines: &mut [OrderLine],
) -> Result<Vec<Vec<Claim>>, Error> {
    let mut out = Vec::with_capacity(lines.len());
    for line in lines.iter_mut() {
        let local = ctx.tx.store_sku_target(
            &order.distributor,
            &order.marketplace,
            &order.shop,
            &line.store_sku,
        )?;
        let claims = match &local {
            Some(local) => ctx.tx.claims_by_local_sku(&order.distributor, local)?,
            None => Vec::new(),
        };
        line.local_sku = local;
        out.push(claims);
    }
    Ok(out)
}

/// `sku_not_mapped` for the first line with no claim behind it.
fn unmapped(lines: &[OrderLine], claims: &[Vec<Claim>]) -> Result<(), GuardFailure> {
    match lines.iter().zip(claims).find(|(_, c)| c.is_empty()) {
        Some((line, _)) => Err(failure(
            Code::SkuNotMapped,
            format!(
                "store SKU {:?} is not mapped to a claimed distribution SKU",
                line.store_sku
            ),
        )),
        None => Ok(()),
    }
}

/// Points each line at its claim from `supplier` (or, without one, its first claim), filling
/// `supplier` and `sku`.
fn assign(lines: &mut [OrderLine], claims: &[Vec<Claim>], supplier: Option<&str>) {
    for (line, claims) in lines.iter_mut().zip(claims) {
        let claim = claims
            .iter()
            .find(|c| Some(c.supplier.as_str()) == supplier)
            .or(claims.first());
        line.supplier = claim.map(|c| c.supplier.clone());
        line.sku = claim.map(|c| c.sku.clone());
    }
}

/// Resolves each line's store SKU to the local SKU and the live claim behind it, the order's
/// supplier's claim first, filling `local_sku`, `supplier` and `sku`; the first unmapped line is
/// a `sku_not_mapped` failure.
pub fn resolve_lines(
    ctx: &Ctx<'_, '_>,
    order: &Order,
    lines: &mut [OrderLine],
) -> Result<Result<(), GuardFailure>, Error> {
    let claims = line_claims(ctx, order, lines)?;
    assign(lines, &claims, order.supplier.as_deref());
    Ok(unmapped(lines, &claims))
}

/// Works out the pack guards for `order`, shipping with `shipping` from `warehouse` (or the
/// warehouse `allocate_warehouse.rhai` picks among the warehouses of every supplier the lines
/// are claimed from). The chosen warehouse decides the supplier: each line is pointed at that
/// supplier's claim.
pub fn plan(
    ctx: &Ctx<'_, '_>,
    order: &Order,
    lines: &mut [OrderLine],
    warehouse: Option<&str>,
    input: impl Fn(&[OrderLine]) -> OrderInput,
) -> Result<PackPlan, Error> {
    let mut claims = line_claims(ctx, order, lines)?;
    // What packing may use: the `claimed` claims, and expired ones only where a line has no
    // claimed one (its push then says `product_expired`).
    for line in &mut claims {
        if line.iter().any(|c| c.state == CLAIMED) {
            line.retain(|c| c.state == CLAIMED);
        }
    }
    let lines_mapped = unmapped(lines, &claims);
    let shipping_supported = shipping_supported(ctx, order);
    let refused = |lines_mapped: Result<(), GuardFailure>, f: GuardFailure| PackPlan {
        lines_mapped,
        single_warehouse: Err(f.clone()),
        shipping_supported: shipping_supported.clone(),
        stock_available: Err(f),
        allocation: None,
    };
    if let Err(f) = &lines_mapped {
        assign(lines, &claims, order.supplier.as_deref());
        return Ok(refused(lines_mapped.clone(), f.clone()));
    }
    let suppliers = suppliers_of(&claims);
    let candidates = candidates(ctx, order, lines, &claims, &suppliers)?;
    // A supplier every line is claimed from: only its warehouses can hold the whole order.
    let Some(covering) = suppliers.iter().find(|s| {
        claims
            .iter()
            .all(|line| line.iter().any(|c| c.supplier == **s))
    }) else {
        let f = failure(
            Code::MultiWarehouseOrder,
            format!(
                "no supplier has every line claimed (the lines come from {}): split the order{}",
                suppliers.join(", "),
                split_advice(lines, &candidates)
            ),
        );
        return Ok(refused(lines_mapped, f));
    };
    let mut recorded = None;
    let chosen = match warehouse {
        Some(w) => named(&candidates, w, lines)?,
        None if !candidates.iter().any(|c| holds_all(c, lines)) => {
            let advice = split_advice(lines, &candidates);
            let (single_warehouse, f) = if advice.is_empty() {
                let f = failure(
                    Code::InsufficientStock,
                    "no warehouse holds every line".to_owned(),
                );
                (Ok(((*covering).to_owned(), String::new())), f)
            } else {
                let f = failure(
                    Code::MultiWarehouseOrder,
                    format!("no single warehouse holds every line: split the order{advice}"),
                );
                (Err(f.clone()), f)
            };
            return Ok(PackPlan {
                lines_mapped,
                single_warehouse,
                shipping_supported,
                stock_available: Err(f),
                allocation: None,
            });
        }
        None => {
            let (id, asked) = allocation(ctx, lines, &candidates, suppliers.len(), input)?;
            recorded = Some(asked);
            named(&candidates, &id, lines).map_err(|_| {
                Error::new(
                    Code::RuleError,
                    format!("allocate_warehouse chose {id:?}, not a candidate"),
                )
            })?
        }
    };
    assign(lines, &claims, Some(&chosen.supplier));
    let stock_available = match lines.iter().find(|l| available(&chosen, l) < l.qty) {
        Some(l) => Err(failure(
            Code::InsufficientStock,
            format!(
                "warehouse {} has {} of {:?}, the order needs {}",
                chosen.warehouse,
                available(&chosen, l),
                l.store_sku,
                l.qty
            ),
        )),
        None => Ok(()),
    };
    Ok(PackPlan {
        lines_mapped,
        single_warehouse: Ok((chosen.supplier.clone(), chosen.warehouse.clone())),
        shipping_supported,
        stock_available,
        allocation: recorded,
    })
}

/// Whether `candidate` holds every line's quantity.
fn holds_all(candidate: &WarehouseCandidate, lines: &[OrderLine]) -> bool {
    lines.iter().all(|l| available(candidate, l) >= l.qty)
}

/// What `candidate` holds of the line's local SKU (its stock is keyed by local SKU).
fn available(candidate: &WarehouseCandidate, line: &OrderLine) -> i64 {
    line.local_sku
        .as_deref()
        .map_or(0, |local| candidate.available(local))
}

/// Every supplier some line has a claim from, in name order.
fn suppliers_of(claims: &[Vec<Claim>]) -> Vec<&str> {
    let set: BTreeSet<&str> = claims
        .iter()
        .flatten()
        .map(|c| c.supplier.as_str())
        .collect();
    set.into_iter().collect()
}

/// The candidate `pack {warehouse}` names: two suppliers' warehouses may share an id, and then
/// the first that holds every line is taken (else the first of that id).
fn named(
    candidates: &[WarehouseCandidate],
    warehouse: &str,
    lines: &[OrderLine],
) -> Result<WarehouseCandidate, Error> {
    let mut same = candidates.iter().filter(|c| c.warehouse == warehouse);
    let first = same
        .next()
        .ok_or_else(|| Error::not_found("warehouse", warehouse))?;
    Ok(std::iter::once(first)
        .chain(same)
        .find(|c| holds_all(c, lines))
        .unwrap_or(first)
        .clone())
}

/// The warehouse id `allocate_warehouse.rhai` chooses. The rule reads each line by its local SKU
/// (the key of every candidate's stock), with its supplier only when one supplier offers them
/// all: the lines are pointed that way for the rule, and at the chosen supplier's claims after.
/// Answers the id with what the rule was asked.
fn allocation(
    ctx: &Ctx<'_, '_>,
    lines: &mut [OrderLine],
    candidates: &[WarehouseCandidate],
    suppliers: usize,
    input: impl Fn(&[OrderLine]) -> OrderInput,
) -> Result<(String, AllocationInput), Error> {
    let only = candidates
        .first()
        .map(|c| c.supplier.clone())
        .filter(|_| suppliers == 1);
    for line in lines.iter_mut() {
        line.sku.clone_from(&line.local_sku);
        line.supplier.clone_from(&only);
    }
    let asked = AllocationInput {
        order: input(lines),
        candidates: candidates.to_vec(),
    };
    let id = ctx.rules.allocate_warehouse(&asked)?;
    Ok((id, asked))
}

/// The distributor's warehouses that can ship the lines: of every supplier a line is claimed
/// from, those mapped on its side and still assigned, by supplier then warehouse. Each one's
/// stock is keyed by the lines' local SKUs: what it holds of its supplier's claimed SKU.
fn candidates(
    ctx: &Ctx<'_, '_>,
    order: &Order,
    lines: &[OrderLine],
    claims: &[Vec<Claim>],
    suppliers: &[&str],
) -> Result<Vec<WarehouseCandidate>, Error> {
    let mut out = Vec::new();
    for &supplier in suppliers {
        let assigned = ctx.tx.assigned_warehouses(supplier, &order.distributor)?;
        // (local SKU, this supplier's SKU) for every line claimed from it.
        let skus: BTreeMap<&str, &str> = lines
            .iter()
            .zip(claims)
            .filter_map(|(l, c)| {
                let claim = c.iter().find(|c| c.supplier == supplier)?;
                Some((l.local_sku.as_deref()?, claim.sku.as_str()))
            })
            .collect();
        let warehouses: Vec<String> = ctx
            .tx
            .supplier_warehouses(&order.distributor)?
            .into_iter()
            .filter(|(s, warehouse)| s == supplier && assigned.contains(warehouse))
            .map(|(_, warehouse)| warehouse)
            .collect();
        let cells = ctx.tx.stock_cells_in(
            &order.distributor,
            supplier,
            &warehouses.iter().map(String::as_str).collect::<Vec<_>>(),
            &skus.values().copied().collect::<Vec<_>>(),
        )?;
        for warehouse in warehouses {
            let region = ctx
                .tx
                .warehouse_region(supplier, &warehouse)?
                .unwrap_or_default();
            let mut stock = BTreeMap::new();
            for (local, sku) in &skus {
                if let Some(cell) = cells
                    .iter()
                    .find(|c| c.warehouse == warehouse && c.sku == *sku)
                {
                    stock.insert((*local).to_owned(), cell.available);
                }
            }
            out.push(WarehouseCandidate {
                warehouse,
                supplier: supplier.to_owned(),
                region,
                stock,
            });
        }
    }
    Ok(out)
}

/// How the order could be split so that each part packs from one warehouse, as text to append
/// to a `multi_warehouse_order` message: the `split_order` groups (a whole line as its store
/// SKU, part of one as `{store_sku, qty}`) and their warehouses; empty when even every candidate
/// together does not hold the order. Greedy: each group takes the warehouse that ships the most
/// of what is left, at most one group per candidate.
fn split_advice(lines: &[OrderLine], candidates: &[WarehouseCandidate]) -> String {
    let mut left: Vec<i64> = lines.iter().map(|l| l.qty).collect();
    let mut unused: Vec<&WarehouseCandidate> = candidates.iter().collect();
    let mut groups = Vec::new();
    while left.iter().any(|&n| n > 0) && !unused.is_empty() {
        let takes = |c: &WarehouseCandidate| {
            let mut stock = c.stock.clone();
            let mut take = vec![0; lines.len()];
            for (i, line) in lines.iter().enumerate() {
                let Some(n) = line.local_sku.as_deref().and_then(|k| stock.get_mut(k)) else {
                    continue;
                };
                take[i] = left[i].min(*n).max(0);
                *n -= take[i];
            }
            take
        };
        let Some((index, take)) = unused
            .iter()
            .enumerate()
            .map(|(i, c)| (i, takes(c)))
            .max_by_key(|(i, take)| (take.iter().sum::<i64>(), std::cmp::Reverse(*i)))
            .filter(|(_, take)| take.iter().any(|&n| n > 0))
        else {
            break;
        };
        let warehouse = unused.remove(index);
        let items: Vec<serde_json::Value> = (0..lines.len())
            .filter(|&i| take[i] > 0)
            .map(|i| {
                left[i] -= take[i];
                if take[i] == lines[i].qty {
                    json!(lines[i].store_sku)
                } else {
                    json!({"store_sku": lines[i].store_sku, "qty": take[i]})
                }
            })
            .collect();
        groups.push((json!(items), warehouse.warehouse.as_str()));
    }
    if left.iter().any(|&n| n > 0) || groups.len() < 2 {
        return String::new();
    }
    let (items, from): (Vec<_>, Vec<_>) = groups.into_iter().unzip();
    format!(
        ", e.g. `split_order` groups {} (from {})",
        json!(items),
        from.join(", then ")
    )
}

/// Seller delivery needs an adapter for the order's marketplace that declares it.
pub fn shipping_supported(ctx: &Ctx<'_, '_>, order: &Order) -> Result<(), GuardFailure> {
    if order.shipping != crate::rules::inputs::SHIPPING_SELLER {
        return Ok(());
    }
    let declared = ctx.plugins.adapter(&order.marketplace).is_some_and(|a| {
        a.manifest()
            .capabilities
            .iter()
            .any(|c| c == CAPABILITY_SELLER_DELIVERY)
    });
    if declared {
        Ok(())
    } else {
        Err(failure(
            Code::SellerDeliveryUnsupported,
            format!(
                "{} does not offer seller delivery (no loaded adapter declares it)",
                order.marketplace
            ),
        ))
    }
}
