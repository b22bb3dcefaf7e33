//! Stock (docs/protocol.md#warehouses, docs/protocol.md#stock-and-orders): supplier warehouses on
//! the distributor's side, the supplier's stock pushes mirrored into them, auto-clear, and the
//! stock and movement queries.
//!
//! A distributor's stock cell for `(supplier, warehouse, sku)` exists once the SKU is claimed and
//! the warehouse is mapped on its side; a push sets it while the warehouse is still assigned, the
//! partnership live and the claim `claimed`.

mod answers;

use crate::contract::{partnership, product};
use std::collections::BTreeSet;

use crate::{
    command::{
        check_name, AddSupplierWarehouse, AssignWarehouses, PushStock, SkuArgs, WarehouseAction,
    },
    error::{Code, Error},
    flow::Ctx,
    model::{Claim, StockCell},
    orders,
    skus::resolve_sku,
    store::{movement, ClearScope, MOVEMENTS_PAGE_MAX},
};

pub use answers::{
    MovementRow, Movements, Stock, StockPushed, StockRow, SupplierWarehouseAdded,
    WarehouseActionAllowed, WarehouseCleared, WarehousesAssigned,
};

/// The most items one `push_stock` carries.
pub const PUSH_ITEMS_MAX: usize = 100_000;
/// The largest stock quantity of one cell.
pub const QUANTITY_MAX: i64 = 1_000_000_000;
/// The most warehouses one assignment names.
pub const ASSIGNED_WAREHOUSES_MAX: usize = 100;
/// The in-warehouse and purchasing actions a host may ask about (seed: "Inventory sync").
pub const WAREHOUSE_ACTIONS: &[&str] = &[
    "shelf",
    "pick",
    "restock",
    "shelf_change",
    "purchase_suggestion",
    "purchase_order",
];

/// Mirrors a new claim into the distributor's supplier warehouses: one cell per mapped and
/// assigned warehouse, at the supplier's current available stock.
pub(crate) fn mirror_claim(ctx: &Ctx<'_, '_>, claim: &Claim) -> Result<(), Error> {
    let assigned = ctx
        .tx
        .assigned_warehouses(&claim.supplier, &claim.distributor)?;
    for (supplier, warehouse) in ctx.tx.supplier_warehouses(&claim.distributor)? {
        if supplier == claim.supplier && assigned.contains(&warehouse) {
            mirror_cell(ctx, &claim.distributor, &supplier, &warehouse, &claim.sku)?;
        }
    }
    Ok(())
}

/// Creates or refreshes one distributor cell from the supplier's own cell.
fn mirror_cell(
    ctx: &Ctx<'_, '_>,
    distributor: &str,
    supplier: &str,
    warehouse: &str,
    sku: &str,
) -> Result<(), Error> {
    let available = ctx
        .tx
        .stock_cell(supplier, supplier, warehouse, sku)?
        .map_or(0, |c| c.available);
    let cell = StockCell {
        account: distributor.to_owned(),
        supplier: supplier.to_owned(),
        warehouse: warehouse.to_owned(),
        sku: sku.to_owned(),
        available,
        locked: 0,
    };
    ctx.tx
        .set_available(&cell, movement::STOCK_PUSH, &ctx.now())
}

/// Rebuilds the distributor's supplier warehouses of a supplier from the current assignment
/// (the `create_supplier_warehouses` effect of an approval).
pub(crate) fn rebuild_supplier_warehouses(
    ctx: &Ctx<'_, '_>,
    supplier: &str,
    distributor: &str,
) -> Result<(), Error> {
    ctx.tx.delete_supplier_warehouses(distributor, supplier)?;
    for warehouse in ctx.tx.assigned_warehouses(supplier, distributor)? {
        ctx.tx
            .insert_supplier_warehouse(distributor, supplier, &warehouse, &ctx.now())?;
        for claim in ctx
            .tx
            .claims_from_supplier(distributor, supplier, product::CLAIMED)?
        {
            mirror_cell(ctx, distributor, supplier, &warehouse, &claim.sku)?;
        }
    }
    Ok(())
}

/// Clears every cell a distributor has of a supplier (the `clear_partnership_stock` effect).
pub(crate) fn clear_partnership_stock(
    ctx: &Ctx<'_, '_>,
    supplier: &str,
    distributor: &str,
) -> Result<(), Error> {
    auto_clear(
        ctx,
        distributor,
        supplier,
        ClearScope::Supplier,
        movement::AUTO_CLEARED,
    )?;
    Ok(())
}

/// Auto-clear (docs/protocol.md#stock-and-orders): the orders holding locks in the cells give them
/// back first, so none keeps a lock the clear wiped; then the cells are zeroed, each with a
/// movement of `kind`. Returns how many cells were cleared.
pub(crate) fn auto_clear(
    ctx: &Ctx<'_, '_>,
    distributor: &str,
    supplier: &str,
    scope: ClearScope<'_>,
    kind: &str,
) -> Result<usize, Error> {
    orders::release_locks(ctx, distributor, supplier, scope)?;
    ctx.tx
        .clear_stock(distributor, supplier, scope, kind, &ctx.now())
}

fn check_warehouses(ctx: &Ctx<'_, '_>, warehouses: &[String]) -> Result<Vec<String>, Error> {
    if warehouses.len() > ASSIGNED_WAREHOUSES_MAX {
        return Err(Error::bad_request(format!(
            "at most {ASSIGNED_WAREHOUSES_MAX} warehouses"
        )));
    }
    for warehouse in warehouses {
        check_name("warehouses", warehouse)?;
        if !ctx.tx.warehouse_exists(ctx.actor.account(), warehouse)? {
            return Err(Error::not_found("warehouse", warehouse));
        }
    }
    let set: BTreeSet<String> = warehouses.iter().cloned().collect();
    Ok(set.into_iter().collect())
}

/// `assign_warehouses {distributor, warehouses}`: stock in warehouses no longer assigned is
/// auto-cleared; newly assigned ones are not created on the distributor's side.
pub fn assign_warehouses(
    ctx: &Ctx<'_, '_>,
    args: &AssignWarehouses,
) -> Result<WarehousesAssigned, Error> {
    check_name("distributor", &args.distributor)?;
    let supplier = ctx.actor.account();
    if ctx
        .tx
        .latest_partnership(supplier, &args.distributor)?
        .is_none()
    {
        return Err(Error::not_found("distributor", &args.distributor));
    }
    let new = check_warehouses(ctx, &args.warehouses)?;
    let old = ctx.tx.assigned_warehouses(supplier, &args.distributor)?;
    let mut cleared = Vec::new();
    for warehouse in old.iter().filter(|w| !new.contains(w)) {
        let cells = auto_clear(
            ctx,
            &args.distributor,
            supplier,
            ClearScope::Warehouse(warehouse),
            movement::AUTO_CLEARED,
        )?;
        cleared.push(WarehouseCleared {
            warehouse: warehouse.clone(),
            cells,
        });
    }
    ctx.tx
        .set_assigned_warehouses(supplier, &args.distributor, &new)?;
    Ok(WarehousesAssigned {
        distributor: args.distributor.clone(),
        warehouses: new,
        cleared,
    })
}

/// `push_stock {warehouse, items}`: sets available stock in the supplier's warehouse and in every
/// distributor warehouse that mirrors it.
pub fn push_stock(ctx: &Ctx<'_, '_>, args: &PushStock) -> Result<StockPushed, Error> {
    let supplier = ctx.actor.account();
    check_name("warehouse", &args.warehouse)?;
    if !ctx.tx.warehouse_exists(supplier, &args.warehouse)? {
        return Err(Error::not_found("warehouse", &args.warehouse));
    }
    if args.items.is_empty() || args.items.len() > PUSH_ITEMS_MAX {
        return Err(Error::bad_request(format!(
            "`items` must hold 1..={PUSH_ITEMS_MAX} items"
        )));
    }
    let now = ctx.now();
    let mut cells = 0;
    for item in &args.items {
        check_name("sku", &item.sku)?;
        if !(0..=QUANTITY_MAX).contains(&item.available) {
            return Err(Error::bad_request(format!(
                "`available` of {:?} must be 0..={QUANTITY_MAX}, got {}",
                item.sku, item.available
            )));
        }
        if ctx.tx.product(supplier, &item.sku)?.is_none() {
            return Err(Error::not_found("sku", &item.sku));
        }
        let own = StockCell {
            account: supplier.to_owned(),
            supplier: supplier.to_owned(),
            warehouse: args.warehouse.clone(),
            sku: item.sku.clone(),
            available: item.available,
            locked: 0,
        };
        ctx.tx.set_available(&own, movement::STOCK_PUSH, &now)?;
        cells += ctx.tx.push_to_distributors(
            supplier,
            &args.warehouse,
            &item.sku,
            item.available,
            &now,
        )?;
    }
    Ok(StockPushed {
        warehouse: args.warehouse.clone(),
        items: args.items.len(),
        distributor_cells: cells,
    })
}

/// `add_supplier_warehouse {supplier, warehouse}`: the distributor maps a warehouse the supplier
/// assigned after the partnership began.
pub fn add_supplier_warehouse(
    ctx: &Ctx<'_, '_>,
    args: &AddSupplierWarehouse,
) -> Result<SupplierWarehouseAdded, Error> {
    check_name("supplier", &args.supplier)?;
    check_name("warehouse", &args.warehouse)?;
    let me = ctx.actor.account();
    match ctx.tx.latest_partnership(&args.supplier, me)? {
        Some(p) if p.state == partnership::PARTNERED => {}
        Some(_) => {
            return Err(Error::new(
                Code::NotPartnered,
                format!("not partnered with {:?}", args.supplier),
            ))
        }
        None => return Err(Error::not_found("supplier", &args.supplier)),
    }
    if !ctx
        .tx
        .assigned_warehouses(&args.supplier, me)?
        .contains(&args.warehouse)
    {
        return Err(Error::new(
            Code::WarehouseNotAssigned,
            format!(
                "{:?} does not assign warehouse {:?} to you",
                args.supplier, args.warehouse
            ),
        )
        .with("warehouse", args.warehouse.as_str()));
    }
    let created =
        ctx.tx
            .insert_supplier_warehouse(me, &args.supplier, &args.warehouse, &ctx.now())?;
    for claim in ctx
        .tx
        .claims_from_supplier(me, &args.supplier, product::CLAIMED)?
    {
        mirror_cell(ctx, me, &args.supplier, &args.warehouse, &claim.sku)?;
    }
    Ok(SupplierWarehouseAdded {
        supplier: args.supplier.clone(),
        warehouse: args.warehouse.clone(),
        created,
    })
}

/// `warehouse_action {warehouse, action}`: whether an in-warehouse or purchasing action may run
/// there. The engine keeps no shelves; it refuses the actions on supplier warehouses, which are
/// virtual (`virtual_warehouse`), and allows them on the account's own warehouses.
pub fn warehouse_action(
    ctx: &Ctx<'_, '_>,
    args: &WarehouseAction,
) -> Result<WarehouseActionAllowed, Error> {
    check_name("warehouse", &args.warehouse)?;
    if !WAREHOUSE_ACTIONS.contains(&args.action.as_str()) {
        return Err(Error::bad_request(format!(
            "unknown action {:?}: expected one of {}",
            args.action,
            WAREHOUSE_ACTIONS.join(", ")
        )));
    }
    let me = ctx.actor.account();
    let virtual_match =
        ctx.tx
            .supplier_warehouses(me)?
            .into_iter()
            .find(|(supplier, warehouse)| {
                args.warehouse == format!("{supplier}/{warehouse}") || args.warehouse == *warehouse
            });
    if ctx.tx.warehouse_exists(me, &args.warehouse)? {
        return Ok(WarehouseActionAllowed {
            warehouse: args.warehouse.clone(),
            action: args.action.clone(),
            allowed: true,
        });
    }
    if let Some((supplier, warehouse)) = virtual_match {
        return Err(Error::new(
            Code::VirtualWarehouse,
            format!("{supplier}/{warehouse} is a supplier warehouse: it is virtual, `{}` is not possible there", args.action),
        )
        .with("supplier", supplier)
        .with("warehouse", warehouse));
    }
    Err(Error::not_found("warehouse", &args.warehouse))
}

/// `stock {sku}`: the actor's cells of the SKU per warehouse, and the total available.
pub fn stock(ctx: &Ctx<'_, '_>, args: &SkuArgs) -> Result<Stock, Error> {
    let me = ctx.actor.account();
    let mut warehouses = Vec::new();
    let mut total = 0i64;
    for (supplier, sku) in resolve_sku(ctx, &args.sku)? {
        for cell in ctx.tx.stock_cells(me, &supplier, &sku)? {
            total += cell.available;
            warehouses.push(StockRow {
                supplier: cell.supplier,
                warehouse: cell.warehouse,
                sku: cell.sku,
                available: cell.available,
                locked: cell.locked,
            });
        }
    }
    Ok(Stock {
        sku: args.sku.clone(),
        total_available: total,
        warehouses,
    })
}

/// `movements {sku}`: the actor's newest stock movements of the SKU, newest first.
pub fn movements(ctx: &Ctx<'_, '_>, args: &SkuArgs) -> Result<Movements, Error> {
    let me = ctx.actor.account();
    let mut found = Vec::new();
    let skus: BTreeSet<(String, String)> = resolve_sku(ctx, &args.sku)?.into_iter().collect();
    for (supplier, sku) in skus {
        found.extend(ctx.tx.movements(me, &supplier, &sku, MOVEMENTS_PAGE_MAX)?);
    }
    // A name may resolve to SKUs of several suppliers: newest first across them.
    found.sort_unstable_by_key(|m| std::cmp::Reverse(m.seq));
    found.truncate(MOVEMENTS_PAGE_MAX);
    let movements = found
        .into_iter()
        .map(|m| MovementRow {
            kind: m.kind,
            supplier: m.supplier,
            warehouse: m.warehouse,
            sku: m.sku,
            before: m.before,
            after: m.after,
            at: m.at,
        })
        .collect();
    Ok(Movements { movements })
}
