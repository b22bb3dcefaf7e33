//! What packing an order needs to know, worked out before the workflow's guards read it: which
//! claimed SKU each line is, which supplier and warehouse ship it, whether the stock is there,
//! and whether the marketplace supports the shipping method.

use crate::contract::product;
use std::collections::{BTreeMap, BTreeSet};

use crate::{
    error::{Code, Error},
    flow::Ctx,
    model::{Order, OrderLine},
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

/// Resolves each line's store SKU to the local SKU and the live claim behind it, filling
/// `local_sku`, `supplier` and `sku`; the first unmapped line is a `sku_not_mapped` failure.
pub fn resolve_lines(
    ctx: &Ctx<'_, '_>,
    order: &Order,
    lines: &mut [OrderLine],
) -> Result<Result<(), GuardFailure>, Error> {
    let mut missing = None;
    for line in lines.iter_mut() {
        let local = ctx.tx.store_sku_target(
            &order.distributor,
            &order.marketplace,
            &order.shop,
            &line.store_sku,
        )?;
        let claim = match &local {
            Some(local) => {
                let mut claims = ctx.tx.claims_by_local_sku(&order.distributor, local)?;
                claims.sort_by_key(|c| {
                    (
                        c.state != product::CLAIMED,
                        Some(&c.supplier) != order.supplier.as_ref(),
                    )
                });
                claims.into_iter().next()
            }
            None => None,
        };
        line.local_sku = local;
        line.supplier = claim.as_ref().map(|c| c.supplier.clone());
        line.sku = claim.map(|c| c.sku);
        if line.sku.is_none() && missing.is_none() {
            missing = Some(line.store_sku.clone());
        }
    }
    Ok(match missing {
        Some(store_sku) => Err(failure(
            Code::SkuNotMapped,
            format!("store SKU {store_sku:?} is not mapped to a claimed distribution SKU"),
        )),
        None => Ok(()),
    })
}

/// Works out the pack guards for `order`, shipping with `shipping` from `warehouse` (or the
/// warehouse `allocate_warehouse.rhai` picks).
pub fn plan(
    ctx: &Ctx<'_, '_>,
    order: &Order,
    lines: &mut [OrderLine],
    warehouse: Option<&str>,
    input: impl Fn(&[OrderLine]) -> OrderInput,
) -> Result<PackPlan, Error> {
    let lines_mapped = resolve_lines(ctx, order, lines)?;
    let shipping_supported = shipping_supported(ctx, order);
    if let Err(f) = &lines_mapped {
        return Ok(PackPlan {
            lines_mapped: lines_mapped.clone(),
            single_warehouse: Err(f.clone()),
            shipping_supported,
            stock_available: Err(f.clone()),
            allocation: None,
        });
    }
    let suppliers: BTreeSet<&str> = lines.iter().filter_map(|l| l.supplier.as_deref()).collect();
    let supplier = match suppliers.iter().next() {
        Some(s) if suppliers.len() == 1 => (*s).to_owned(),
        _ => {
            let f = failure(
                Code::MultiWarehouseOrder,
                format!(
                    "the lines come from {} suppliers: split the order first",
                    suppliers.len()
                ),
            );
            return Ok(PackPlan {
                lines_mapped,
                single_warehouse: Err(f.clone()),
                shipping_supported,
                stock_available: Err(f),
                allocation: None,
            });
        }
    };
    let skus: BTreeSet<&str> = lines.iter().filter_map(|l| l.sku.as_deref()).collect();
    let candidates = candidates(ctx, order, &supplier, &skus)?;
    let holds_all = |c: &WarehouseCandidate| {
        lines
            .iter()
            .all(|l| l.sku.as_deref().is_some_and(|s| c.available(s) >= l.qty))
    };
    let mut allocation = None;
    let chosen = match warehouse {
        Some(w) => match candidates.iter().find(|c| c.warehouse == w) {
            Some(c) => c.clone(),
            None => return Err(Error::not_found("warehouse", w)),
        },
        None if !candidates.iter().any(holds_all) => {
            let mut total: BTreeMap<&str, i64> = BTreeMap::new();
            for c in &candidates {
                for (sku, n) in &c.stock {
                    *total.entry(sku.as_str()).or_default() += n;
                }
            }
            let union_holds = lines.iter().all(|l| {
                l.sku
                    .as_deref()
                    .is_some_and(|s| total.get(s).copied().unwrap_or(0) >= l.qty)
            });
            let f = if union_holds {
                failure(
                    Code::MultiWarehouseOrder,
                    "no single warehouse holds every line: split the order".to_owned(),
                )
            } else {
                failure(
                    Code::InsufficientStock,
                    "no warehouse holds every line".to_owned(),
                )
            };
            return Ok(PackPlan {
                lines_mapped,
                single_warehouse: if union_holds {
                    Err(f.clone())
                } else {
                    Ok((supplier, String::new()))
                },
                shipping_supported,
                stock_available: Err(f),
                allocation: None,
            });
        }
        None => {
            let asked = AllocationInput {
                order: input(lines),
                candidates: candidates.clone(),
            };
            let id = ctx.rules.allocate_warehouse(&asked)?;
            allocation = Some(asked);
            candidates
                .iter()
                .find(|c| c.warehouse == id)
                .cloned()
                .ok_or_else(|| {
                    Error::new(
                        Code::RuleError,
                        format!("allocate_warehouse chose {id:?}, not a candidate"),
                    )
                })?
        }
    };
    let short = lines
        .iter()
        .find(|l| l.sku.as_deref().is_none_or(|s| chosen.available(s) < l.qty));
    let stock_available = match short {
        Some(l) => Err(failure(
            Code::InsufficientStock,
            format!(
                "warehouse {} has {} of {:?}, the order needs {}",
                chosen.warehouse,
                l.sku.as_deref().map_or(0, |s| chosen.available(s)),
                l.store_sku,
                l.qty
            ),
        )),
        None => Ok(()),
    };
    Ok(PackPlan {
        lines_mapped,
        single_warehouse: Ok((supplier, chosen.warehouse)),
        shipping_supported,
        stock_available,
        allocation,
    })
}

/// The distributor's warehouses of `supplier` that can ship: mapped on its side and assigned.
fn candidates(
    ctx: &Ctx<'_, '_>,
    order: &Order,
    supplier: &str,
    skus: &BTreeSet<&str>,
) -> Result<Vec<WarehouseCandidate>, Error> {
    let assigned = ctx.tx.assigned_warehouses(supplier, &order.distributor)?;
    let mut out = Vec::new();
    for (s, warehouse) in ctx.tx.supplier_warehouses(&order.distributor)? {
        if s != supplier || !assigned.contains(&warehouse) {
            continue;
        }
        let region = ctx
            .tx
            .warehouse_region(supplier, &warehouse)?
            .unwrap_or_default();
        let mut stock = BTreeMap::new();
        for sku in skus {
            if let Some(cell) = ctx
                .tx
                .stock_cell(&order.distributor, supplier, &warehouse, sku)?
            {
                stock.insert(cell.sku, cell.available);
            }
        }
        out.push(WarehouseCandidate {
            warehouse,
            supplier: supplier.to_owned(),
            region,
            stock,
        });
    }
    Ok(out)
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
