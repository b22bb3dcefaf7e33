//! Distribution products (docs/protocol.md#distribution-products): what suppliers publish, what
//! distributors claim (driven by the `distribution_product` workflow), local SKUs, store-SKU
//! mappings, and the claimed-SKU CSV.

mod answers;

use crate::contract::{partnership, product};
use std::collections::BTreeSet;

use rust_decimal::Decimal;
use serde_json::json;

use crate::{
    command::{
        check_name, check_text, ClaimArgs, CreateSku, ImportClaimed, MapStoreSku, NoArgs,
        ProductsQuery, PublishProduct, SetDistribution, SetPrice, SkuArgs,
    },
    error::{Code, Error},
    flow::{Ctx, Entity},
    inventory,
    ledger::{self, RateSource},
    model::{money, Claim, Product},
    notify::notify,
    skus::resolve_sku,
    store::{movement, ClearScope},
    workflow::Role,
};

pub use answers::{
    AlreadyClaimed, Claimed, ClaimedExport, ClaimedImport, ClaimedSku, DistributionSet,
    DistributorProduct, PriceHistory, PriceRow, PriceSet, ProductPublished, ProductRow, Products,
    Removed, SkuCreated, Stopped, StoppedClaim, StoreSkuMapped, SupplierProduct, SupplierSku,
};

/// The claim workflow's name in the rule pack.
pub use crate::contract::product::WORKFLOW;
/// The most SKUs one `claim` or `import_claimed` takes.
pub const CLAIM_SKUS_MAX: usize = 10_000;
/// The most distributors a product's visibility list names.
pub const VISIBLE_TO_MAX: usize = 1_000;
/// The largest CSV `import_claimed` reads.
pub const CSV_BYTES_MAX: usize = 8 * 1024 * 1024;
/// The columns of the claimed-SKU CSV, in order.
pub const CSV_COLUMNS: [&str; 9] = [
    "supplier",
    "sku",
    "local_sku",
    "name",
    "price",
    "currency",
    "cost",
    "cost_currency",
    "state",
];

fn own_product(ctx: &Ctx<'_, '_>, sku: &str) -> Result<Product, Error> {
    check_name("sku", sku)?;
    ctx.tx
        .product(ctx.actor.account(), sku)?
        .ok_or_else(|| Error::not_found("sku", sku))
}

fn positive_price(text: &str, currency: &str) -> Result<Decimal, Error> {
    let price = money::round(money::parse_amount("price", text)?, currency);
    if price <= Decimal::ZERO {
        return Err(Error::bad_request(format!(
            "`price` must be positive, got {text:?}"
        )));
    }
    Ok(price)
}

/// `publish_product {sku, name, price, combination?, visible_to?}`.
pub fn publish_product(
    ctx: &Ctx<'_, '_>,
    args: &PublishProduct,
) -> Result<ProductPublished, Error> {
    check_name("sku", &args.sku)?;
    check_text("name", &args.name)?;
    let supplier = ctx.actor.account();
    if !ctx.tx.claims_by_local_sku(supplier, &args.sku)?.is_empty() {
        return Err(Error::new(
            Code::SubDistributionForbidden,
            format!(
                "{:?} is a claimed distribution SKU and cannot be distributed again",
                args.sku
            ),
        )
        .with("sku", args.sku.as_str()));
    }
    let visible_to = args.visible_to.clone().unwrap_or_default();
    if visible_to.len() > VISIBLE_TO_MAX {
        return Err(Error::bad_request(format!(
            "`visible_to` names at most {VISIBLE_TO_MAX} distributors"
        )));
    }
    for name in &visible_to {
        check_name("visible_to", name)?;
    }
    let product = Product {
        supplier: supplier.to_owned(),
        sku: args.sku.clone(),
        name: args.name.clone(),
        price: positive_price(&args.price, ctx.actor.currency())?,
        combination: args.combination,
        visible_all: args.visible_to.is_none(),
        enabled: true,
    };
    if !ctx.tx.insert_product(&product, &visible_to, &ctx.now())? {
        return Err(Error::bad_request(format!(
            "{:?} is already published; use set_price",
            args.sku
        )));
    }
    Ok(ProductPublished {
        sku: product.sku,
        price: product.price.into(),
        currency: ctx.actor.currency().to_owned(),
        combination: product.combination,
        visible_to: args.visible_to.clone(),
    })
}

/// `set_price {sku, price}`: keeps the last prices, notifies claimers; later pushes use it.
pub fn set_price(ctx: &Ctx<'_, '_>, args: &SetPrice) -> Result<PriceSet, Error> {
    let product = own_product(ctx, &args.sku)?;
    let price = positive_price(&args.price, ctx.actor.currency())?;
    if price != product.price {
        ctx.tx
            .set_product_price(&product.supplier, &product.sku, price, &ctx.now())?;
        for claim in ctx
            .tx
            .claims_of_product(&product.supplier, &product.sku, product::CLAIMED)?
        {
            let data = json!({"supplier": product.supplier, "sku": product.sku, "local_sku": claim.local_sku,
                              "old_price": product.price.to_string(), "new_price": price.to_string(),
                              "currency": ctx.actor.currency()});
            notify(ctx, &claim.distributor, "price_changed", data)?;
        }
    }
    Ok(PriceSet {
        sku: product.sku,
        price: price.into(),
        previous: product.price.into(),
    })
}

/// `set_distribution {sku, enabled}`: turning it off expires every claim of the SKU.
pub fn set_distribution(
    ctx: &Ctx<'_, '_>,
    args: &SetDistribution,
) -> Result<DistributionSet, Error> {
    let product = own_product(ctx, &args.sku)?;
    ctx.tx
        .set_product_enabled(&product.supplier, &product.sku, args.enabled)?;
    let mut expired = 0;
    if !args.enabled {
        for claim in ctx
            .tx
            .claims_of_product(&product.supplier, &product.sku, product::CLAIMED)?
        {
            move_claim(ctx, &claim, product::EXPIRE, Role::System)?;
            expired += 1;
        }
    }
    Ok(DistributionSet {
        sku: product.sku,
        enabled: args.enabled,
        expired_claims: expired,
    })
}

/// `create_sku {sku, name}`: a distributor's own merchant SKU.
pub fn create_sku(ctx: &Ctx<'_, '_>, args: &CreateSku) -> Result<SkuCreated, Error> {
    check_name("sku", &args.sku)?;
    check_text("name", &args.name)?;
    if !ctx
        .tx
        .insert_local_sku(ctx.actor.account(), &args.sku, &args.name, &ctx.now())?
    {
        return Err(Error::bad_request(format!(
            "SKU {:?} already exists",
            args.sku
        )));
    }
    Ok(SkuCreated {
        sku: args.sku.clone(),
        name: args.name.clone(),
    })
}

/// `claim {supplier, skus}`: all or nothing.
pub fn claim(ctx: &Ctx<'_, '_>, args: &ClaimArgs) -> Result<Claimed, Error> {
    check_name("supplier", &args.supplier)?;
    if args.skus.is_empty() || args.skus.len() > CLAIM_SKUS_MAX {
        return Err(Error::bad_request(format!(
            "`skus` must list 1..={CLAIM_SKUS_MAX} SKUs"
        )));
    }
    require_partnered(ctx, &args.supplier)?;
    let me = ctx.actor.account();
    let mut seen = BTreeSet::new();
    let (mut claimed, mut already_claimed) = (Vec::new(), Vec::new());
    for sku in &args.skus {
        check_name("skus", sku)?;
        if !seen.insert(sku.as_str()) {
            continue;
        }
        // Claiming again what is claimed changes nothing, so a bulk claim can be retried.
        match ctx.tx.live_claim(me, &args.supplier, sku)? {
            Some(existing) if existing.state == product::CLAIMED => {
                already_claimed.push(AlreadyClaimed {
                    sku: existing.sku,
                    local_sku: existing.local_sku,
                })
            }
            _ => claimed.push(claim_one(ctx, &args.supplier, sku, sku)?),
        }
    }
    Ok(Claimed {
        claimed,
        already_claimed,
    })
}

fn require_partnered(ctx: &Ctx<'_, '_>, supplier: &str) -> Result<(), Error> {
    match ctx.tx.latest_partnership(supplier, ctx.actor.account())? {
        Some(p) if p.state == partnership::PARTNERED => Ok(()),
        _ => Err(Error::new(
            Code::NotPartnered,
            format!("not partnered with {supplier:?}"),
        )
        .with("supplier", supplier)),
    }
}

/// Claims one SKU as `local_sku` (matching an existing local SKU of that code, or creating it).
fn claim_one(
    ctx: &Ctx<'_, '_>,
    supplier: &str,
    sku: &str,
    local_sku: &str,
) -> Result<ClaimedSku, Error> {
    let distributor = ctx.actor.account();
    let product = match ctx.tx.product(supplier, sku)? {
        Some(p) if ctx.tx.product_visible(supplier, sku, distributor)? => p,
        _ => return Err(Error::not_found("sku", sku)),
    };
    if !product.enabled {
        return Err(Error::new(
            Code::ProductExpired,
            format!("{sku:?} is not distributed any more"),
        )
        .with("sku", sku));
    }
    if product.combination {
        return Err(Error::new(
            Code::CombinationSkuUnsupported,
            format!("{sku:?} is a combination SKU"),
        )
        .with("sku", sku));
    }
    // No sub-distribution, either way round: a SKU the account publishes cannot be claimed
    // under, as a claimed SKU cannot be published.
    if ctx.tx.product(distributor, local_sku)?.is_some() {
        return Err(Error::new(
            Code::SubDistributionForbidden,
            format!("{local_sku:?} is a SKU you distribute: it cannot also be claimed"),
        )
        .with("sku", sku));
    }
    if let Some(existing) = ctx.tx.live_claim(distributor, supplier, sku)? {
        return Err(Error::bad_request(format!(
            "{sku:?} is already {}: remove the expired claim before claiming it again",
            existing.state
        ))
        .with("sku", sku));
    }
    // Multi-sourcing: a local SKU has at most one claim per supplier (so the supplier a
    // warehouse belongs to decides which claim ships).
    if let Some(other) = ctx
        .tx
        .claims_by_local_sku(distributor, local_sku)?
        .into_iter()
        .find(|c| c.supplier == supplier)
    {
        return Err(Error::bad_request(format!(
            "{local_sku:?} is already claimed from {supplier:?} as its SKU {:?}: a local SKU has one claim per supplier",
            other.sku
        ))
        .with("sku", sku));
    }
    let matched = ctx.tx.local_sku_exists(distributor, local_sku)?;
    if !matched {
        ctx.tx
            .insert_local_sku(distributor, local_sku, &product.name, &ctx.now())?;
    }
    let supplier_currency = ctx
        .tx
        .account(supplier)?
        .map(|a| a.currency)
        .ok_or_else(|| Error::not_found("supplier", supplier))?;
    let my_currency = ctx.actor.currency();
    let (cost, cost_note) = match ledger::convert(
        ctx,
        distributor,
        product.price,
        &supplier_currency,
        my_currency,
    ) {
        Ok((cost, RateSource::Same)) => (Some(cost), None),
        Ok((cost, RateSource::Fixed)) => {
            (Some(cost), Some("converted at your fixed rate".to_owned()))
        }
        Ok((cost, RateSource::Live)) => (Some(cost), Some("converted at the live rate".to_owned())),
        Err(e) if e.code() == Code::NoExchangeRate => (None, Some(e.message().to_owned())),
        Err(e) => return Err(e),
    };
    let number = ctx.tx.claim_count(distributor, supplier, sku)? + 1;
    let id = format!("{distributor}:{supplier}:{sku}:{number}");
    let (state, _) = ctx.created(WORKFLOW, &id, distributor, "claim")?;
    let claim = Claim {
        claim: id,
        distributor: distributor.to_owned(),
        supplier: supplier.to_owned(),
        sku: sku.to_owned(),
        local_sku: local_sku.to_owned(),
        state,
        cost,
        cost_currency: my_currency.to_owned(),
    };
    ctx.tx.insert_claim(&claim, &ctx.now())?;
    inventory::mirror_claim(ctx, &claim)?;
    Ok(ClaimedSku {
        sku: sku.to_owned(),
        local_sku: local_sku.to_owned(),
        matched,
        cost: cost.map(Into::into),
        cost_currency: my_currency.to_owned(),
        cost_note,
    })
}

/// Fires `event` on a claim and applies the transition's effects.
pub(crate) fn move_claim(
    ctx: &Ctx<'_, '_>,
    claim: &Claim,
    event: &str,
    role: Role,
) -> Result<String, Error> {
    let entity = Entity {
        workflow: WORKFLOW,
        id: &claim.claim,
        owner: &claim.distributor,
        audit_head: None,
        state: &claim.state,
    };
    let moved = ctx.transition(&entity, event, role, crate::flow::no_guards)?;
    ctx.tx
        .set_claim_state(&claim.claim, &claim.state, &moved.to)?;
    for effect in &moved.effects {
        match effect.as_str() {
            "clear_sku_stock" => {
                inventory::auto_clear(
                    ctx,
                    &claim.distributor,
                    &claim.supplier,
                    ClearScope::Sku(&claim.sku),
                    movement::STOP_DISTRIBUTION,
                )?;
            }
            other => {
                return Err(Error::new(
                    Code::RuleError,
                    format!("effect `{other}` does not apply to a claim"),
                ))
            }
        }
    }
    Ok(moved.to)
}

/// The live claims behind a distributor's local SKU in `state` (a local SKU claimed from several
/// suppliers has one claim per supplier, each in its own state); all of them when none is, so
/// the workflow refuses the event; `not_found` when there are none.
fn my_claims(ctx: &Ctx<'_, '_>, sku: &str, state: &str) -> Result<Vec<Claim>, Error> {
    check_name("sku", sku)?;
    let claims = ctx.tx.claims_by_local_sku(ctx.actor.account(), sku)?;
    if claims.is_empty() {
        return Err(Error::not_found("sku", sku));
    }
    if claims.iter().any(|c| c.state == state) {
        return Ok(claims.into_iter().filter(|c| c.state == state).collect());
    }
    Ok(claims)
}

/// `remove_expired {sku}`: the expired claims go; their SKUs are unclaimed again.
pub fn remove_expired(ctx: &Ctx<'_, '_>, args: &SkuArgs) -> Result<Removed, Error> {
    let mut removed = Vec::new();
    for claim in my_claims(ctx, &args.sku, product::EXPIRED)? {
        move_claim(ctx, &claim, product::REMOVE, Role::Distributor)?;
        removed.push(SupplierSku {
            supplier: claim.supplier,
            sku: claim.sku,
        });
    }
    Ok(Removed { removed })
}

/// `stop_distribution {sku}`: the claimed claims expire and their stock is cleared.
pub fn stop_distribution(ctx: &Ctx<'_, '_>, args: &SkuArgs) -> Result<Stopped, Error> {
    let mut stopped = Vec::new();
    for claim in my_claims(ctx, &args.sku, product::CLAIMED)? {
        let state = move_claim(ctx, &claim, product::STOP_DISTRIBUTION, Role::Distributor)?;
        stopped.push(StoppedClaim {
            supplier: claim.supplier,
            sku: claim.sku,
            state,
        });
    }
    Ok(Stopped { stopped })
}

/// `map_store_sku {sku, marketplace, shop, store_sku, listing?}`: one store SKU, one local SKU.
pub fn map_store_sku(ctx: &Ctx<'_, '_>, args: &MapStoreSku) -> Result<StoreSkuMapped, Error> {
    for (field, text) in [
        ("sku", &args.sku),
        ("shop", &args.shop),
        ("store_sku", &args.store_sku),
    ] {
        check_name(field, text)?;
    }
    crate::shops::check_marketplace(ctx, &args.marketplace)?;
    let me = ctx.actor.account();
    if !ctx.tx.local_sku_exists(me, &args.sku)? {
        return Err(Error::not_found("sku", &args.sku));
    }
    let listing =
        serde_json::to_string(&args.listing).map_err(|e| Error::bad_request(e.to_string()))?;
    check_text("listing", &listing)?;
    let previous = ctx.tx.map_store_sku(
        me,
        &args.marketplace,
        &args.shop,
        &args.store_sku,
        &args.sku,
        &listing,
    )?;
    Ok(StoreSkuMapped {
        sku: args.sku.clone(),
        marketplace: args.marketplace.clone(),
        shop: args.shop.clone(),
        store_sku: args.store_sku.clone(),
        previous,
    })
}

/// `products {tab}`.
pub fn products(ctx: &Ctx<'_, '_>, args: &ProductsQuery) -> Result<Products, Error> {
    let products = match args.tab.as_str() {
        "unclaimed" => {
            require_distributor_view(ctx)?;
            unclaimed_tab(ctx)?
        }
        tab if tab == product::CLAIMED || tab == product::EXPIRED => {
            require_distributor_view(ctx)?;
            let mut rows = Vec::new();
            for claim in ctx.tx.claims_of(ctx.actor.account(), Some(&args.tab))? {
                rows.push(ProductRow::Distributor(claim_row(ctx, &claim)?));
            }
            rows
        }
        "published" => {
            if !ctx.actor.sees_supplier_side() {
                return Err(Error::new(
                    Code::PermissionDenied,
                    "the user lacks the `supplier` permission set",
                ));
            }
            published_tab(ctx)?
        }
        other => {
            return Err(Error::bad_request(format!(
                "unknown tab {other:?}: expected unclaimed, claimed, expired or published"
            )))
        }
    };
    Ok(Products { products })
}

/// The `unclaimed` tab: the enabled products of partnered suppliers the distributor sees and has
/// not claimed, with the supplier's stock in the warehouses assigned to it.
fn unclaimed_tab(ctx: &Ctx<'_, '_>) -> Result<Vec<ProductRow>, Error> {
    let me = ctx.actor.account();
    let mut rows = Vec::new();
    for p in ctx
        .tx
        .partnerships_of_distributor(me)?
        .into_iter()
        .filter(|p| p.state == partnership::PARTNERED)
    {
        let currency = supplier_currency(ctx, &p.supplier)?;
        let assigned = ctx.tx.assigned_warehouses(&p.supplier, me)?;
        for product in ctx.tx.products_visible_to(&p.supplier, me)? {
            if ctx.tx.live_claim(me, &p.supplier, &product.sku)?.is_some() {
                continue;
            }
            let stock: i64 = ctx
                .tx
                .stock_cells(&p.supplier, &p.supplier, &product.sku)?
                .iter()
                .filter(|c| assigned.contains(&c.warehouse))
                .map(|c| c.available)
                .sum();
            rows.push(ProductRow::Distributor(DistributorProduct {
                supplier: product.supplier,
                sku: product.sku,
                local_sku: None,
                name: product.name,
                price: product.price.into(),
                currency: currency.clone(),
                stock,
                state: "unclaimed".to_owned(),
                cost: None,
                cost_currency: None,
            }));
        }
    }
    Ok(rows)
}

/// The `published` tab: the supplier's own SKUs with their stock summed over its warehouses.
fn published_tab(ctx: &Ctx<'_, '_>) -> Result<Vec<ProductRow>, Error> {
    let me = ctx.actor.account();
    let mut rows = Vec::new();
    for product in ctx.tx.products_of(me)? {
        let stock: i64 = ctx
            .tx
            .stock_cells(me, me, &product.sku)?
            .iter()
            .map(|c| c.available)
            .sum();
        let state = if product.enabled {
            "enabled"
        } else {
            "disabled"
        };
        rows.push(ProductRow::Supplier(SupplierProduct {
            supplier: me.to_owned(),
            sku: product.sku,
            name: product.name,
            price: product.price.into(),
            currency: ctx.actor.currency().to_owned(),
            stock,
            state: state.to_owned(),
            combination: product.combination,
            cost: None,
            cost_currency: None,
        }));
    }
    Ok(rows)
}

fn require_distributor_view(ctx: &Ctx<'_, '_>) -> Result<(), Error> {
    if ctx.actor.sees_distributor_side() {
        Ok(())
    } else {
        Err(Error::new(
            Code::PermissionDenied,
            "the user lacks the `distributor` permission set",
        ))
    }
}

fn supplier_currency(ctx: &Ctx<'_, '_>, supplier: &str) -> Result<String, Error> {
    Ok(ctx
        .tx
        .account(supplier)?
        .map(|a| a.currency)
        .unwrap_or_default())
}

/// A claim as the `claimed` and `expired` tabs show it (and `export_claimed` writes it).
fn claim_row(ctx: &Ctx<'_, '_>, claim: &Claim) -> Result<DistributorProduct, Error> {
    let product = ctx
        .tx
        .product(&claim.supplier, &claim.sku)?
        .ok_or_else(|| Error::new(Code::Internal, "a claim names a missing product"))?;
    let stock: i64 = ctx
        .tx
        .stock_cells(&claim.distributor, &claim.supplier, &claim.sku)?
        .iter()
        .map(|c| c.available)
        .sum();
    Ok(DistributorProduct {
        supplier: claim.supplier.clone(),
        sku: claim.sku.clone(),
        local_sku: Some(claim.local_sku.clone()),
        name: product.name,
        price: product.price.into(),
        currency: supplier_currency(ctx, &claim.supplier)?,
        stock,
        state: claim.state.clone(),
        cost: claim.cost.map(Into::into),
        cost_currency: Some(claim.cost_currency.clone()),
    })
}

/// `price_history {sku}`: the prices in force, newest first.
pub fn price_history(ctx: &Ctx<'_, '_>, args: &SkuArgs) -> Result<PriceHistory, Error> {
    let mut history = Vec::new();
    for (supplier, sku) in resolve_sku(ctx, &args.sku)? {
        for (price, at) in ctx.tx.price_history(&supplier, &sku)? {
            history.push(PriceRow {
                supplier: supplier.clone(),
                sku: sku.clone(),
                price: price.into(),
                at,
            });
        }
    }
    Ok(PriceHistory { history })
}

/// The text of one column of the claimed-SKU CSV ([`CSV_COLUMNS`]); empty for a `null`.
fn csv_field(row: &DistributorProduct, column: &str) -> String {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    match column {
        "supplier" => row.supplier.clone(),
        "sku" => row.sku.clone(),
        "local_sku" => text(&row.local_sku),
        "name" => row.name.clone(),
        "price" => row.price.to_string(),
        "currency" => row.currency.clone(),
        "cost" => row.cost.map(|c| c.to_string()).unwrap_or_default(),
        "cost_currency" => text(&row.cost_currency),
        "state" => row.state.clone(),
        _ => String::new(),
    }
}

/// `export_claimed {} -> {csv, rows}`: the claimed SKUs, one row each.
pub fn export_claimed(ctx: &Ctx<'_, '_>, _: &NoArgs) -> Result<ClaimedExport, Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| Error::new(Code::Internal, format!("csv: {e}"));
    writer.write_record(CSV_COLUMNS).map_err(csv_error)?;
    let claims = ctx
        .tx
        .claims_of(ctx.actor.account(), Some(product::CLAIMED))?;
    for claim in &claims {
        let row = claim_row(ctx, claim)?;
        writer
            .write_record(CSV_COLUMNS.map(|column| csv_field(&row, column)))
            .map_err(csv_error)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::new(Code::Internal, format!("csv: {e}")))?;
    let csv = String::from_utf8(bytes).map_err(|e| Error::new(Code::Internal, e.to_string()))?;
    Ok(ClaimedExport {
        csv,
        rows: claims.len(),
    })
}

/// `import_claimed {csv}`: claims every row's `(supplier, sku)` as its `local_sku` (default: the
/// SKU), skipping rows already claimed; any bad row refuses the whole import.
pub fn import_claimed(ctx: &Ctx<'_, '_>, args: &ImportClaimed) -> Result<ClaimedImport, Error> {
    if args.csv.len() > CSV_BYTES_MAX {
        return Err(Error::bad_request(format!(
            "`csv` is larger than {CSV_BYTES_MAX} bytes"
        )));
    }
    let mut reader = csv::Reader::from_reader(args.csv.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Error::bad_request(format!("csv header: {e}")))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(supplier_col), Some(sku_col)) = (column("supplier"), column("sku")) else {
        return Err(Error::bad_request(
            "the CSV needs `supplier` and `sku` columns",
        ));
    };
    let local_col = column("local_sku");
    let (mut claimed, mut skipped) = (Vec::new(), Vec::new());
    for (index, record) in reader.records().enumerate() {
        let row = index + 2;
        if index >= CLAIM_SKUS_MAX {
            return Err(Error::bad_request(format!(
                "the CSV has more than {CLAIM_SKUS_MAX} rows"
            )));
        }
        let record = record.map_err(|e| Error::bad_request(format!("csv row {row}: {e}")))?;
        let get = |col: usize| record.get(col).unwrap_or_default().trim().to_owned();
        let (supplier, sku) = (get(supplier_col), get(sku_col));
        let local = local_col
            .map(get)
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| sku.clone());
        let in_row = |e: Error| {
            Error::new(e.code(), format!("csv row {row}: {}", e.message())).with("row", row)
        };
        check_name("supplier", &supplier).map_err(in_row)?;
        check_name("sku", &sku).map_err(in_row)?;
        check_name("local_sku", &local).map_err(in_row)?;
        if ctx
            .tx
            .live_claim(ctx.actor.account(), &supplier, &sku)?
            .is_some()
        {
            skipped.push(SupplierSku { supplier, sku });
            continue;
        }
        require_partnered(ctx, &supplier).map_err(in_row)?;
        claimed.push(claim_one(ctx, &supplier, &sku, &local).map_err(in_row)?);
    }
    Ok(ClaimedImport { claimed, skipped })
}
