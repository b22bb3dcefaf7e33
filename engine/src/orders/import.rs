//! Importing marketplace orders: canonical or native payloads become new orders or update known
//! ones, and a marketplace cancellation cancels, withdraws or flags the order.

use crate::contract::order;
use distributary_plugin::{canonical, CanonicalOrder};
use rust_decimal::Decimal;
use serde_json::Value;

use super::{
    answers::{Imported, ImportedOrder},
    fire::fire,
    loaded::{Args, Loaded},
    IMPORT_ORDERS_MAX, LINE_QTY_MAX, ORDER_LINES_MAX, WORKFLOW,
};
use crate::{
    command::{check_name, check_text, ImportOrders, PayloadFormat},
    error::{Code, Error},
    flow::Ctx,
    model::{money, Order, OrderLine},
    plugin_host::PluginAdapter,
    rules::inputs::SHIPPING_PLATFORM,
    shops::check_marketplace,
    workflow::Role,
};

/// `import_orders {marketplace, shop?, format, payload}`: creates new orders, updates the
/// marketplace status of known ones, and applies cancellations.
///
/// `parsed` is the native payload as [`parse_native`] read it before the store was locked, when
/// it was (the engine's prepare phase); the handler parses it itself otherwise.
pub fn import_orders(
    ctx: &Ctx<'_, '_>,
    args: &ImportOrders,
    parsed: Option<Result<Vec<CanonicalOrder>, Error>>,
) -> Result<Imported, Error> {
    check_marketplace(ctx, &args.marketplace)?;
    let orders: Vec<CanonicalOrder> = match args.format {
        PayloadFormat::Canonical => {
            let orders = canonical::parse_orders(args.payload.clone()).map_err(|e| {
                Error::bad_request(format!("`payload` is not a list of canonical orders: {e}"))
            })?;
            require_prices(&orders)?;
            orders
        }
        PayloadFormat::Native => {
            let shop = args
                .shop
                .as_deref()
                .ok_or_else(|| Error::bad_request("`shop` is required for native payloads"))?;
            let adapter = ctx.plugins.adapter(&args.marketplace).ok_or_else(|| {
                Error::bad_request(format!(
                    "no adapter is loaded for marketplace {:?}",
                    args.marketplace
                ))
            })?;
            match parsed {
                Some(parsed) => parsed?,
                None => parse_native(adapter, shop, &args.payload)?,
            }
        }
    };
    let (answers, _, _) = import_canonical(ctx, &args.marketplace, args.shop.as_deref(), orders)?;
    Ok(Imported { orders: answers })
}

/// Every line of a host's canonical payload carries a valid price: the host read it from the
/// marketplace, which gives one (only an adapter may say its marketplace gives none).
fn require_prices(orders: &[CanonicalOrder]) -> Result<(), Error> {
    for order in orders {
        for (index, line) in order.lines.iter().enumerate() {
            if line.unit_price.trim().is_empty() {
                return Err(Error::bad_request(format!(
                    "order {:?}, `lines[{index}].unit_price` ({:?}): a canonical line must give \
                     the buyer's unit price as a decimal string",
                    order.order_sn, line.store_sku
                ))
                .with("field", format!("lines[{index}].unit_price")));
            }
            // Checked here too, not only for new orders: a known order's lines are not re-read.
            unit_price(&order.order_sn, line)?;
        }
    }
    Ok(())
}

/// A marketplace's own order payload (its text, or JSON to be sent as text), read by its
/// adapter into canonical orders. Reads nothing from the store.
pub(crate) fn parse_native(
    adapter: &PluginAdapter,
    shop: &str,
    payload: &Value,
) -> Result<Vec<CanonicalOrder>, Error> {
    let parsed = match payload {
        Value::String(text) => adapter.parse_orders(shop, text),
        other => adapter.parse_orders(shop, &other.to_string()),
    };
    Ok(parsed?)
}

/// Imports canonical orders; returns the answers and how many were created and updated.
pub(crate) fn import_canonical(
    ctx: &Ctx<'_, '_>,
    marketplace: &str,
    shop: Option<&str>,
    orders: Vec<CanonicalOrder>,
) -> Result<(Vec<ImportedOrder>, usize, usize), Error> {
    if orders.len() > IMPORT_ORDERS_MAX {
        return Err(Error::bad_request(format!(
            "at most {IMPORT_ORDERS_MAX} orders per import"
        )));
    }
    // Whether each order is known: read ahead together (PostgreSQL), not one round trip each.
    let me = ctx.actor.account();
    let names: Vec<String> = orders
        .iter()
        .map(|c| format!("{marketplace}:{}", c.order_sn))
        .collect();
    if names.len() > 1 {
        let keys: Vec<(&str, &str)> = names.iter().map(|name| (me, name.as_str())).collect();
        ctx.tx.read_orders_ahead(&keys)?;
    }
    let (mut answers, mut created, mut updated) = (Vec::new(), 0, 0);
    for canonical in orders {
        let (answer, is_new) = import_one(ctx, marketplace, shop, canonical)?;
        if is_new {
            created += 1;
        } else {
            updated += 1;
        }
        answers.push(answer);
    }
    Ok((answers, created, updated))
}

/// One canonical order: a known one takes the marketplace status (and its cancellation), a new
/// one is inserted. Answers whether it was new.
fn import_one(
    ctx: &Ctx<'_, '_>,
    marketplace: &str,
    shop: Option<&str>,
    c: CanonicalOrder,
) -> Result<(ImportedOrder, bool), Error> {
    if c.marketplace != marketplace {
        return Err(Error::bad_request(format!(
            "order {:?} is from {:?}, not {marketplace:?}",
            c.order_sn, c.marketplace
        )));
    }
    check_name("order_sn", &c.order_sn)?;
    let shop = shop
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
        .unwrap_or(c.shop.clone());
    check_name("shop", &shop)?;
    let name = format!("{marketplace}:{}", c.order_sn);
    let status = serde_json::to_value(c.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let me = ctx.actor.account().to_owned();
    if let Some((existing, lines)) = ctx.tx.order_with_lines(&me, &name)? {
        let was_cancelled = existing.marketplace_status == "cancel_requested"
            || existing.marketplace_status == "cancelled";
        let mut loaded = Loaded::new(existing, lines);
        loaded.order.marketplace_status = status;
        loaded.save(ctx)?;
        if loaded.order.state == order::SPLIT {
            pass_status_to_children(ctx, &loaded)?;
        }
        if c.status.is_cancellation() && !was_cancelled {
            cancel(ctx, &mut loaded)?;
        }
        let answer = ImportedOrder {
            order: name,
            state: loaded.order.state,
            created: false,
        };
        return Ok((answer, false));
    }
    let mut loaded = insert_new(ctx, &c, marketplace, shop, &name, status)?;
    if c.status.is_cancellation() {
        cancel(ctx, &mut loaded)?;
    }
    let answer = ImportedOrder {
        order: name,
        state: loaded.order.state,
        created: true,
    };
    Ok((answer, true))
}

/// A new order `name` from the canonical order `c`, checked and inserted in its workflow's
/// initial state.
fn insert_new(
    ctx: &Ctx<'_, '_>,
    c: &CanonicalOrder,
    marketplace: &str,
    shop: String,
    name: &str,
    status: String,
) -> Result<Loaded, Error> {
    let merged = merged_lines(name, c)?;
    let currency = if c.currency.is_empty() {
        ctx.actor.currency().to_owned()
    } else {
        c.currency.clone()
    };
    money::check_currency(&currency)?;
    let a = &c.address;
    for (field, text) in [
        ("country", &a.country),
        ("state", &a.state),
        ("city", &a.city),
        ("postcode", &a.postcode),
    ] {
        check_text(field, text)?;
    }
    let (state, audit_seq) = ctx.created(WORKFLOW, name, ctx.actor.account(), "import")?;
    let order = Order {
        audit_head: Some(audit_seq),
        distributor: ctx.actor.account().to_owned(),
        order: name.to_owned(),
        marketplace: marketplace.to_owned(),
        shop,
        order_sn: c.order_sn.clone(),
        parent: None,
        state,
        marketplace_status: status,
        cancel_flagged: false,
        currency,
        address: serde_json::to_value(&c.address).unwrap_or_default(),
        supplier: None,
        warehouse: None,
        shipping: SHIPPING_PLATFORM.to_owned(),
        tracking_no: None,
        charges: None,
        charged: false,
        stock_locked: false,
        refunded_after_sale: Decimal::ZERO,
        documents: None,
        withdrawn_from: None,
        failure: None,
    };
    ctx.tx.insert_order(&order, &merged, &ctx.now())?;
    Ok(Loaded::new(order, merged))
}

/// A line's unit price: a non-negative decimal, or `None` when the payload gives none (an
/// adapter's, for a marketplace whose order API has no price: `require_prices` refuses a host's).
fn unit_price(
    order: &str,
    line: &distributary_plugin::OrderLine,
) -> Result<Option<Decimal>, Error> {
    let text = line.unit_price.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let price = money::parse_amount("unit_price", text).map_err(|e| {
        Error::bad_request(format!(
            "order {order:?}, line {:?}: {}",
            line.store_sku,
            e.message()
        ))
        .with("field", "unit_price")
    })?;
    if price.is_sign_negative() {
        return Err(Error::bad_request(format!(
            "order {order:?}, line {:?}: `unit_price` must not be negative, got {text:?}",
            line.store_sku
        ))
        .with("field", "unit_price"));
    }
    Ok(Some(price))
}

/// The order's lines, checked, with the lines of one store SKU merged into one.
fn merged_lines(name: &str, c: &CanonicalOrder) -> Result<Vec<OrderLine>, Error> {
    if c.lines.is_empty() || c.lines.len() > ORDER_LINES_MAX {
        return Err(Error::bad_request(format!(
            "order {name:?} must have 1..={ORDER_LINES_MAX} lines"
        )));
    }
    let mut merged: Vec<OrderLine> = Vec::new();
    for line in &c.lines {
        check_name("store_sku", &line.store_sku)?;
        let unit_price = unit_price(name, line)?;
        if line.qty == 0 || line.qty > LINE_QTY_MAX {
            return Err(Error::bad_request(format!(
                "line {:?} of {name:?}: qty must be 1..={LINE_QTY_MAX}",
                line.store_sku
            )));
        }
        match merged.iter_mut().find(|l| l.store_sku == line.store_sku) {
            Some(l) => l.qty += i64::from(line.qty),
            None => merged.push(OrderLine {
                line: merged.len() as i64 + 1,
                store_sku: line.store_sku.clone(),
                qty: i64::from(line.qty),
                unit_price,
                local_sku: None,
                supplier: None,
                sku: None,
                price: None,
            }),
        }
    }
    Ok(merged)
}

/// A split order's children take its new marketplace status: they are the order the buyer paid
/// (or did not), so an update that says it is paid makes them packable (`order_unpaid`).
fn pass_status_to_children(ctx: &Ctx<'_, '_>, parent: &Loaded) -> Result<(), Error> {
    for child in ctx
        .tx
        .order_children(&parent.order.distributor, &parent.order.order)?
    {
        let lines = ctx.tx.order_lines(&child.distributor, &child.order)?;
        let mut child = Loaded::new(child, lines);
        child.order.marketplace_status = parent.order.marketplace_status.clone();
        child.save(ctx)?;
        if child.order.state == order::SPLIT {
            pass_status_to_children(ctx, &child)?;
        }
    }
    Ok(())
}

/// A marketplace cancellation (docs/protocol.md#stock-and-orders): the workflow's
/// `marketplace_cancel` decides (cancel before the push, withdraw with a refund while pushed);
/// where it has no transition (the supplier already shipped) the order stays and is flagged for a
/// withdrawal request. A split order passes the cancellation to its children.
fn cancel(ctx: &Ctx<'_, '_>, loaded: &mut Loaded) -> Result<(), Error> {
    if loaded.order.state == order::SPLIT {
        for child in ctx
            .tx
            .order_children(&loaded.order.distributor, &loaded.order.order)?
        {
            let lines = ctx.tx.order_lines(&child.distributor, &child.order)?;
            let mut child = Loaded::new(child, lines);
            child.order.marketplace_status = loaded.order.marketplace_status.clone();
            cancel(ctx, &mut child)?;
            child.save(ctx)?;
        }
        return Ok(());
    }
    match fire(
        ctx,
        loaded,
        order::MARKETPLACE_CANCEL,
        Role::System,
        &Args::default(),
    ) {
        Err(e) if e.code() == Code::InvalidTransition => {
            loaded.order.cancel_flagged = true;
            loaded.save(ctx)
        }
        other => other,
    }
}
