//! What a SKU name means to the actor: its own published SKU and the supplier SKUs it claimed under
//! that local SKU. The catalogue's and the stock's queries both read SKUs this way.

use crate::{command::check_name, error::Error, flow::Ctx};

/// The supplier SKUs a SKU names for the actor: its own published SKU, and the supplier SKUs
/// claimed under that local SKU.
pub(crate) fn resolve_sku(ctx: &Ctx<'_, '_>, sku: &str) -> Result<Vec<(String, String)>, Error> {
    check_name("sku", sku)?;
    let me = ctx.actor.account();
    let mut found = Vec::new();
    if ctx.actor.sees_supplier_side() && ctx.tx.product(me, sku)?.is_some() {
        found.push((me.to_owned(), sku.to_owned()));
    }
    if ctx.actor.sees_distributor_side() {
        for claim in ctx.tx.claims_by_local_sku(me, sku)? {
            found.push((claim.supplier, claim.sku));
        }
    }
    if found.is_empty() {
        return Err(Error::not_found("sku", sku));
    }
    Ok(found)
}
