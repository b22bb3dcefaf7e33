//! What the rule scripts read of an order: its [`OrderInput`], and the push checks' input with the
//! fees `fees.rhai` computes.

use crate::contract::product;
use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::Value;

use super::plan;
use crate::{
    error::Error,
    flow::Ctx,
    model::{money, Order, OrderLine},
    rules::inputs::{
        AccountInput, AddressInput, FeeSettings, Fees, FeesInput, LineInput, OrderInput,
        PartnershipInput, PushCheckInput,
    },
};

/// The order as the rule scripts read it; `prices` gives each supplier SKU's current price.
pub(super) fn order_input(
    order: &Order,
    lines: &[OrderLine],
    prices: &BTreeMap<String, (Decimal, bool, bool)>,
) -> OrderInput {
    let address = |key: &str| {
        order
            .address
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    OrderInput {
        order: order.order.clone(),
        marketplace: order.marketplace.clone(),
        currency: order.currency.clone(),
        shipping: order.shipping.clone(),
        address: AddressInput {
            country: address("country"),
            state: address("state"),
            city: address("city"),
            postcode: address("postcode"),
        },
        lines: lines
            .iter()
            .map(|l| {
                let sku = l.sku.clone().unwrap_or_default();
                let (price, mapped, expired) =
                    prices
                        .get(&sku)
                        .copied()
                        .unwrap_or((Decimal::ZERO, l.sku.is_some(), false));
                LineInput {
                    sku,
                    store_sku: l.store_sku.clone(),
                    qty: l.qty,
                    price,
                    mapped,
                    expired,
                    supplier: l.supplier.clone().unwrap_or_default(),
                }
            })
            .collect(),
    }
}

/// The push-check inputs, with the fees computed by `fees.rhai`.
pub(super) fn push_input(
    ctx: &Ctx<'_, '_>,
    order: &Order,
    lines: &mut [OrderLine],
) -> Result<PushCheckInput, Error> {
    let supplier = order.supplier.clone().unwrap_or_default();
    // Resolved again: a mapping or claim removed since packing makes the line unmapped. An
    // unmapped line is not an error here: its `mapped: false` lets push_checks report it.
    let _unmapped = plan::resolve_lines(ctx, order, lines)?;
    let mut prices = BTreeMap::new();
    for line in lines.iter() {
        let Some(sku) = &line.sku else { continue };
        let mapped = line.supplier.as_deref() == Some(supplier.as_str());
        let claim = ctx.tx.live_claim(&order.distributor, &supplier, sku)?;
        let product = ctx.tx.product(&supplier, sku)?;
        let expired = claim.is_none_or(|c| c.state != product::CLAIMED)
            || product.as_ref().is_none_or(|p| !p.enabled);
        let price = product.map_or(Decimal::ZERO, |p| p.price);
        prices.insert(sku.clone(), (price, mapped, expired));
    }
    let input = order_input(order, lines, &prices);
    let currency = ctx
        .tx
        .account(&supplier)?
        .map(|a| a.currency)
        .unwrap_or_default();
    let status = ctx
        .tx
        .latest_partnership(&supplier, &order.distributor)?
        .map_or_else(|| "none".to_owned(), |p| p.state);
    let ledger = ctx.tx.ledger_account(&supplier, &order.distributor)?;
    let account = match &ledger {
        Some(a) => AccountInput {
            balance: a.balance,
            credit_enabled: a.credit_enabled,
            credit_limit: a.credit_limit,
            credit_used: a.credit_used(),
            currency: a.currency.clone(),
        },
        None => AccountInput {
            balance: Decimal::ZERO,
            credit_enabled: false,
            credit_limit: Decimal::ZERO,
            credit_used: Decimal::ZERO,
            currency: currency.clone(),
        },
    };
    let (handling, shipping) = ctx.tx.fees(&supplier)?;
    let raw = ctx.rules.fees(&FeesInput {
        order: input.clone(),
        settings: FeeSettings { handling, shipping },
    })?;
    let fees = Fees {
        goods: money::round(raw.goods, &currency),
        handling: money::round(raw.handling, &currency),
        shipping: money::round(raw.shipping, &currency),
    };
    Ok(PushCheckInput {
        order: input,
        partnership: PartnershipInput {
            supplier,
            distributor: order.distributor.clone(),
            status,
        },
        account,
        fees,
    })
}
