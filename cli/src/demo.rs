//! `distributary demo`: the seed's story end to end, told through the host protocol exactly as an
//! embedding host would send it, on a fresh store, with the four marketplace adapters loaded.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use distributary::{
    engine::{Engine, EngineOptions},
    pack::{FileKind, RulePack},
    plugin_host::PluginHost,
    store::StoreOptions,
    workflow::{self, Vocabulary},
};
use indicatif::{ProgressBar, ProgressStyle};
use miette::{miette, IntoDiagnostic, Result};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const SUPPLIER: &str = "acme-supply";
const DISTRIBUTOR: &str = "kedai-dist";
/// Orders per marketplace in the story.
const ORDERS_PER_MARKETPLACE: usize = 12;
/// The four marketplaces, as the host protocol names them.
const MARKETPLACES: [&str; 4] = ["shopee", "lazada", "tiktok_shop", "temu"];
/// The SKUs the supplier distributes: (sku, name, price in MYR).
const PRODUCTS: [(&str, &str, &str); 6] = [
    ("MUG-01", "Enamel mug", "12.50"),
    ("TEE-RED-M", "Red tee, M", "18.00"),
    ("CAP-BLK", "Black cap", "15.00"),
    ("BAG-TOTE", "Canvas tote", "22.00"),
    ("LAMP-01", "Desk lamp", "49.00"),
    ("PEN-SET", "Pen set", "6.50"),
];

/// A host that tells what it does and stops at the first unexpected answer.
struct Host {
    engine: Engine,
    clock: u32,
}

impl Host {
    /// Sends one command; `Ok(result)` or the error object.
    fn send(
        &mut self,
        actor: &str,
        cmd: &str,
        args: Value,
    ) -> Result<std::result::Result<Value, Value>> {
        self.clock += 1;
        let at = format!(
            "2026-11-27T{:02}:{:02}:00Z",
            8 + self.clock / 60,
            self.clock % 60
        );
        let request = json!({"id": self.clock, "as": actor, "at": at, "cmd": cmd, "args": args});
        let answer = self.engine.execute_line(&request.to_string());
        Ok(if answer["ok"] == json!(true) {
            Ok(answer["result"].clone())
        } else {
            Err(answer["error"].clone())
        })
    }

    /// Sends a command that must succeed.
    fn ok(&mut self, actor: &str, cmd: &str, args: Value) -> Result<Value> {
        self.send(actor, cmd, args.clone())?
            .map_err(|e| miette!("`{cmd}` as {actor} failed: {e}\n  arguments: {args}"))
    }

    /// Sends a command that must fail with `code`.
    fn refused(&mut self, actor: &str, cmd: &str, args: Value, code: &str) -> Result<String> {
        match self.send(actor, cmd, args)? {
            Err(e) if e["code"] == json!(code) => {
                Ok(e["message"].as_str().unwrap_or_default().to_owned())
            }
            other => Err(miette!(
                "`{cmd}` as {actor} should have been refused with {code}, got {other:?}"
            )),
        }
    }
}

fn say(text: &str) {
    println!("{text}");
}

fn chapter(title: &str) {
    println!("\n== {title}");
}

fn bar(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template("   {msg:<28} [{bar:30}] {pos}/{len}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// Runs the demo on `db` (a fresh file), loading adapters from `plugins`.
pub fn run(db: Option<PathBuf>, plugins: Option<PathBuf>) -> Result<()> {
    let started = Instant::now();
    let db = match db {
        Some(path) => path,
        None => {
            let dir =
                std::env::temp_dir().join(format!("distributary-demo-{}", std::process::id()));
            std::fs::create_dir_all(&dir).into_diagnostic()?;
            dir.join("demo.db")
        }
    };
    if db.exists() {
        return Err(miette!(
            "{} already exists: the demo starts from a fresh store (choose another --db)",
            db.display()
        ));
    }
    let plugins_dir = plugins.or_else(PluginHost::default_dir);
    let rules = RulePack::embedded();
    let options = EngineOptions {
        rules: rules.clone(),
        plugins_dir: plugins_dir.clone(),
        store: StoreOptions::default(),
        auto_deliver: true,
    };
    let engine = Engine::open(&db, options)?;
    let loaded: Vec<String> = engine
        .plugins()
        .plugins()
        .iter()
        .map(|p| p.manifest().marketplace.clone())
        .collect();
    if MARKETPLACES.iter().any(|m| !loaded.iter().any(|l| l == m)) {
        let dir = plugins_dir.map_or_else(|| "<none>".to_owned(), |d| d.display().to_string());
        return Err(miette!(
            "the demo needs the four marketplace adapters, found [{}] in {dir}; build them with `cargo build --workspace` (or pass --plugins DIR)",
            loaded.join(", ")
        ));
    }
    println!("Distributary demo — store: {}", db.display());
    println!("adapters loaded: {}", loaded.join(", "));
    let mut host = Host { engine, clock: 0 };
    partnership(&mut host)?;
    catalog(&mut host)?;
    let orders = orders(&mut host)?;
    fulfilment(&mut host, &orders)?;
    reconciliation(&mut host)?;
    let graphs = write_graphs(&rules, &db)?;
    chapter("Workflow graphs");
    for path in graphs {
        say(&format!("   {}", path.display()));
    }
    println!(
        "\nDone in {:.1} s. Explore the store with `distributary exec --db {}`.",
        started.elapsed().as_secs_f64(),
        db.display()
    );
    Ok(())
}

fn partnership(host: &mut Host) -> Result<()> {
    chapter("A supplier invites a distributor");
    host.ok(
        "system",
        "create_account",
        json!({"account": SUPPLIER, "plan": "V3", "inventory": true, "currency": "MYR"}),
    )?;
    host.ok(
        "system",
        "create_account",
        json!({"account": DISTRIBUTOR, "plan": "V1", "inventory": true, "currency": "MYR"}),
    )?;
    host.ok(
        SUPPLIER,
        "create_warehouse",
        json!({"warehouse": "KL", "name": "Kuala Lumpur DC", "region": "Selangor"}),
    )?;
    host.ok(
        SUPPLIER,
        "create_warehouse",
        json!({"warehouse": "JB", "name": "Johor Bahru DC", "region": "Johor"}),
    )?;
    let invitation = host.ok(
        SUPPLIER,
        "create_invitation",
        json!({"warehouses": ["KL", "JB"]}),
    )?;
    let link = invitation["link"].as_str().unwrap_or_default().to_owned();
    say(&format!(
        "   {SUPPLIER} (plan V3) sends {DISTRIBUTOR} an invitation: {link}"
    ));
    let bound = host.ok(
        DISTRIBUTOR,
        "bind_supplier",
        json!({"link": link, "note": "homeware, ships from KL and JB"}),
    )?;
    say(&format!(
        "   {DISTRIBUTOR} binds: {}",
        cell(&bound["status"])
    ));
    host.ok(
        SUPPLIER,
        "review_partnership",
        json!({"distributor": DISTRIBUTOR, "approve": true}),
    )?;
    let suppliers = host.ok(DISTRIBUTOR, "suppliers", json!({}))?;
    let s = &suppliers["suppliers"][0];
    say(&format!(
        "   approved: {} is {}; supplier warehouses on the distributor's side: {}",
        cell(&s["supplier"]),
        cell(&s["status"]),
        s["warehouses"]
    ));
    let inbox = host.ok(DISTRIBUTOR, "notifications", json!({}))?;
    say(&format!(
        "   notification: {} on {}",
        cell(&inbox["notifications"][0]["kind"]),
        inbox["notifications"][0]["channels"]
    ));
    Ok(())
}

/// The store SKU a marketplace lists a supplier SKU under.
fn store_sku(marketplace: &str, index: usize, sku: &str) -> String {
    match marketplace {
        "temu" => format!("{}", 17_592_352_673_500_u64 + index as u64),
        "lazada" => format!("LZ-{sku}"),
        "tiktok_shop" => format!("TT-{sku}"),
        _ => format!("SP-{sku}"),
    }
}

fn catalog(host: &mut Host) -> Result<()> {
    chapter("Products are published, claimed, mapped, and stocked");
    for (sku, name, price) in PRODUCTS {
        host.ok(
            SUPPLIER,
            "publish_product",
            json!({"sku": sku, "name": name, "price": price}),
        )?;
    }
    host.ok(
        SUPPLIER,
        "publish_product",
        json!({"sku": "GIFT-BOX", "name": "Gift bundle", "price": "60.00", "combination": true}),
    )?;
    host.ok(
        SUPPLIER,
        "set_fees",
        json!({"handling": "1.50", "shipping": "4.00"}),
    )?;
    let skus: Vec<&str> = PRODUCTS.iter().map(|p| p.0).collect();
    let refused = host.refused(
        DISTRIBUTOR,
        "claim",
        json!({"supplier": SUPPLIER, "skus": ["GIFT-BOX"]}),
        "combination_sku_unsupported",
    )?;
    say(&format!(
        "   claiming the gift bundle is refused: {refused}"
    ));
    let claimed = host.ok(
        DISTRIBUTOR,
        "claim",
        json!({"supplier": SUPPLIER, "skus": skus}),
    )?;
    say(&format!(
        "   {DISTRIBUTOR} claims {} SKUs; initial cost of {} = {} {}",
        claimed["claimed"].as_array().map_or(0, Vec::len),
        cell(&claimed["claimed"][0]["sku"]),
        cell(&claimed["claimed"][0]["cost"]),
        cell(&claimed["claimed"][0]["cost_currency"])
    ));
    let mappings = MARKETPLACES.len() * PRODUCTS.len();
    let progress = bar(mappings, "mapping store SKUs");
    for marketplace in MARKETPLACES {
        for (index, (sku, _, _)) in PRODUCTS.iter().enumerate() {
            let store_sku = store_sku(marketplace, index, sku);
            host.ok(DISTRIBUTOR, "map_store_sku", json!({"sku": sku, "marketplace": marketplace, "shop": format!("{marketplace}-main"), "store_sku": store_sku}))?;
            progress.inc(1);
        }
    }
    progress.finish_and_clear();
    say(&format!(
        "   mapped {mappings} store SKUs on {}",
        MARKETPLACES.join(", ")
    ));
    let kl: Vec<Value> = PRODUCTS
        .iter()
        .map(|p| json!({"sku": p.0, "available": 40}))
        .collect();
    let jb: Vec<Value> = PRODUCTS
        .iter()
        .map(|p| json!({"sku": p.0, "available": 8}))
        .collect();
    let pushed = host.ok(
        SUPPLIER,
        "push_stock",
        json!({"warehouse": "KL", "items": kl}),
    )?;
    host.ok(
        SUPPLIER,
        "push_stock",
        json!({"warehouse": "JB", "items": jb}),
    )?;
    let stock = host.ok(DISTRIBUTOR, "stock", json!({"sku": "MUG-01"}))?;
    say(&format!("   the supplier pushes stock ({} distributor cells updated); MUG-01 on the distributor's side: {} available", pushed["distributor_cells"], stock["total_available"]));
    let refused = host.refused(
        DISTRIBUTOR,
        "warehouse_action",
        json!({"warehouse": format!("{SUPPLIER}/KL"), "action": "restock"}),
        "virtual_warehouse",
    )?;
    say(&format!(
        "   restocking a supplier warehouse is refused: {refused}"
    ));
    Ok(())
}

/// One marketplace's own order-detail answer holding `orders` orders.
fn native_payload(marketplace: &str, first: usize, count: usize) -> Value {
    let line = |n: usize| {
        let index = n % PRODUCTS.len();
        (index, PRODUCTS[index].0, 1 + n % 3)
    };
    let states = ["Selangor", "Johor", "Penang"];
    match marketplace {
        "shopee" => json!({"error": "", "message": "", "request_id": "demo", "response": {"order_list": (first..first + count).map(|n| {
            let (i, sku, qty) = line(n);
            json!({"order_sn": format!("2611{n:06}SP"), "region": "MY", "currency": "MYR", "order_status": "READY_TO_SHIP",
                   "recipient_address": {"city": "Kuala Lumpur", "state": states[n % 3], "region": "MY", "zipcode": "50000"},
                   "item_list": [{"item_id": 1000 + i, "item_name": sku, "item_sku": "", "model_id": 0, "model_sku": store_sku("shopee", i, sku),
                                  "model_quantity_purchased": qty, "model_discounted_price": 29.9}]})
        }).collect::<Vec<_>>()}}),
        "lazada" => Value::Array((first..first + count).map(|n| {
            let (i, sku, qty) = line(n);
            let rows: Vec<Value> = (0..qty).map(|u| json!({"order_item_id": n * 10 + u, "order_id": 300_000 + n, "sku": store_sku("lazada", i, sku),
                "paid_price": "29.90", "item_price": "32.00", "currency": "MYR", "status": "pending"})).collect();
            json!({"order": {"order_id": 300_000 + n, "statuses": ["pending"], "address_shipping": {"city": "Johor Bahru", "address3": states[n % 3], "post_code": "80000", "country": "Malaysia"}},
                   "items": {"code": "0", "data": rows, "request_id": "demo"}})
        }).collect()),
        "tiktok_shop" => json!({"code": 0, "message": "Success", "request_id": "demo", "data": {"orders": (first..first + count).map(|n| {
            let (i, sku, qty) = line(n);
            let units: Vec<Value> = (0..qty).map(|u| json!({"id": format!("{n}-{u}"), "seller_sku": store_sku("tiktok_shop", i, sku), "sale_price": "29.90", "currency": "MYR", "display_status": "AWAITING_SHIPMENT"})).collect();
            json!({"id": format!("5764614{n:08}"), "status": "AWAITING_SHIPMENT", "payment": {"currency": "MYR", "total_amount": "29.90"},
                   "recipient_address": {"postal_code": "10000", "region_code": "MY", "district_info": [{"address_level_name": "State", "address_name": states[n % 3]}]},
                   "line_items": units})
        }).collect::<Vec<_>>()}}),
        _ => json!({"success": true, "errorCode": 1_000_000, "result": {"totalItemNum": count, "pageItems": (first..first + count).map(|n| {
            let (i, _, qty) = line(n);
            json!({"parentOrderMap": {"parentOrderSn": format!("PO-211-{n:08}"), "parentOrderStatus": 2},
                   "orderList": [{"orderSn": format!("211-{n:08}-1"), "skuId": store_sku("temu", i, "").parse::<u64>().unwrap_or_default(), "quantity": qty}]})
        }).collect::<Vec<_>>()}}),
    }
}

fn orders(host: &mut Host) -> Result<Vec<String>> {
    chapter("Orders arrive as each marketplace's own payloads");
    let mut names = Vec::new();
    for (m, marketplace) in MARKETPLACES.iter().enumerate() {
        let payload = native_payload(marketplace, m * 100, ORDERS_PER_MARKETPLACE);
        let imported = host.ok(DISTRIBUTOR, "import_orders", json!({"marketplace": marketplace, "shop": format!("{marketplace}-main"), "format": "native", "payload": payload}))?;
        let got: Vec<String> = imported["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["order"].as_str().map(str::to_owned))
            .collect();
        say(&format!(
            "   {marketplace:<12} {} orders, e.g. {}",
            got.len(),
            got.first().cloned().unwrap_or_default()
        ));
        names.extend(got);
    }
    chapter("Pack (allocation rule) and push (checks and fees rules)");
    let temu = names
        .iter()
        .find(|n| n.starts_with("temu:"))
        .cloned()
        .unwrap_or_default();
    let refused = host.refused(
        DISTRIBUTOR,
        "pack",
        json!({"order": temu, "shipping": "seller"}),
        "seller_delivery_unsupported",
    )?;
    say(&format!("   seller delivery on Temu is refused: {refused}"));
    let progress = bar(names.len(), "packing");
    let mut by_warehouse = std::collections::BTreeMap::<String, usize>::new();
    for (n, name) in names.iter().enumerate() {
        let shipping = if n == 0 { "seller" } else { "platform" };
        let packed = host.ok(
            DISTRIBUTOR,
            "pack",
            json!({"order": name, "shipping": shipping}),
        )?;
        *by_warehouse
            .entry(packed["warehouse"].as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
        progress.inc(1);
    }
    progress.finish_and_clear();
    say(&format!(
        "   packed {} orders; allocate_warehouse.rhai chose {:?}",
        names.len(),
        by_warehouse
    ));
    host.ok(
        DISTRIBUTOR,
        "set_print_settings",
        json!({"documents": ["invoice", "delivery_receipt"]}),
    )?;
    host.ok(
        SUPPLIER,
        "add_balance",
        json!({"distributor": DISTRIBUTOR, "amount": "1500.00", "note": "opening deposit"}),
    )?;
    say("   the supplier adds 1500.00 MYR of balance (Manual Bookkeeping → Add Balance)");
    let progress = bar(names.len(), "pushing");
    let mut pushed = 0;
    let mut refused_at = None;
    for name in &names {
        match host.send(DISTRIBUTOR, "push", json!({"order": name}))? {
            Ok(_) => pushed += 1,
            Err(e) if e["code"] == json!("insufficient_balance") && refused_at.is_none() => {
                progress.suspend(|| {
                    say(&format!(
                        "   push of {name} refused before any charge: {}",
                        cell(&e["message"])
                    ))
                });
                refused_at = Some(name.clone());
                host.ok(SUPPLIER, "add_balance", json!({"distributor": DISTRIBUTOR, "amount": "1000.00", "note": "top-up after refused push"}))?;
                progress
                    .suspend(|| say("   the supplier adds 1000.00 MYR more; the push is retried"));
                host.ok(DISTRIBUTOR, "push", json!({"order": name}))?;
                pushed += 1;
            }
            Err(e) => return Err(miette!("push of {name} failed: {e}")),
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    if refused_at.is_none() {
        return Err(miette!(
            "the story expects one push refused for balance; the deposit covered everything"
        ));
    }
    let first = host.ok(DISTRIBUTOR, "order", json!({"order": names[0]}))?;
    say(&format!("   pushed {pushed} orders; {} was charged {} (goods {}, handling {}, shipping {}) and is now {}",
        names[0], cell(&first["charges"]["total"]), cell(&first["charges"]["goods"]), cell(&first["charges"]["handling"]), cell(&first["charges"]["shipping"]), cell(&first["state"])));
    Ok(names)
}

fn fulfilment(host: &mut Host, names: &[String]) -> Result<()> {
    chapter("The supplier ships; a cancellation is withdrawn; a price changes");
    let seen = host.ok(SUPPLIER, "orders", json!({"state": "pushed"}))?;
    let example = host.ok(SUPPLIER, "order", json!({"order": names[0]}))?;
    say(&format!(
        "   the supplier sees {} pushed orders, each with the distributor's documents {}",
        seen["orders"].as_array().map_or(0, Vec::len),
        example["documents"]
    ));
    let tracking = host.refused(
        SUPPLIER,
        "ship_order",
        json!({"order": names[0]}),
        "bad_request",
    )?;
    say(&format!(
        "   shipping the seller-delivery order without a tracking number is refused: {tracking}"
    ));
    host.ok(
        SUPPLIER,
        "ship_order",
        json!({"order": names[0], "tracking_no": "JNT-77120001"}),
    )?;
    let shipped = names.len() / 2;
    for name in &names[1..shipped] {
        host.ok(SUPPLIER, "ship_order", json!({"order": name}))?;
        host.ok(SUPPLIER, "confirm_pickup", json!({"order": name}))?;
    }
    say(&format!(
        "   {shipped} orders shipped; {} confirmed picked up",
        shipped - 1
    ));
    let refused = host.refused(
        DISTRIBUTOR,
        "mark_shipped",
        json!({"order": names[shipped]}),
        "invalid_transition",
    )?;
    say(&format!(
        "   the distributor cannot mark a distribution order shipped: {refused}"
    ));
    // A buyer cancels on TikTok Shop after the push: the order is withdrawn and refunded at once.
    let cancelled = names
        .iter()
        .skip(shipped)
        .find(|n| n.starts_with("tiktok_shop:"))
        .cloned()
        .unwrap_or_default();
    let id = cancelled.trim_start_matches("tiktok_shop:");
    let payload = json!({"code": 0, "message": "Success", "data": {"orders": [{"id": id, "status": "CANCELLED", "payment": {"currency": "MYR"},
        "line_items": [{"id": "1", "seller_sku": "TT-MUG-01", "sale_price": "29.90", "currency": "MYR", "display_status": "CANCELLED"}]}]}});
    let result = host.ok(DISTRIBUTOR, "import_orders", json!({"marketplace": "tiktok_shop", "shop": "tiktok_shop-main", "format": "native", "payload": payload}))?;
    say(&format!("   {cancelled} is cancelled on TikTok Shop after its push: it is {} and its charge refunded", cell(&result["orders"][0]["state"])));
    // After shipping, a withdrawal goes through the supplier.
    host.ok(DISTRIBUTOR, "withdraw", json!({"order": names[0]}))?;
    host.ok(
        SUPPLIER,
        "review_withdrawal",
        json!({"order": names[0], "approve": true}),
    )?;
    say(&format!("   {} (shipped, not yet picked up) is withdrawn at the distributor's request; the supplier approves", names[0]));
    host.ok(
        SUPPLIER,
        "after_sale_refund",
        json!({"order": names[1], "amount": "5.00", "reason": "dented on arrival"}),
    )?;
    say(&format!(
        "   the supplier refunds 5.00 after sale on {}",
        names[1]
    ));
    host.ok(
        SUPPLIER,
        "set_price",
        json!({"sku": "MUG-01", "price": "13.90"}),
    )?;
    let inbox = host.ok(DISTRIBUTOR, "notifications", json!({}))?;
    say(&format!(
        "   MUG-01 now costs 13.90; the distributor is told ({}): {}",
        cell(&inbox["notifications"][0]["kind"]),
        inbox["notifications"][0]["data"]
    ));
    Ok(())
}

fn reconciliation(host: &mut Host) -> Result<()> {
    chapter("Distribution reconciliation report");
    let balances = host.ok(DISTRIBUTOR, "balances", json!({}))?;
    let mut summary = Table::new();
    summary.load_preset(UTF8_FULL_CONDENSED).set_header([
        "supplier",
        "balance",
        "credit used",
        "credit limit",
        "credit terms",
        "currency",
    ]);
    for b in balances["balances"].as_array().into_iter().flatten() {
        summary.add_row(
            [
                &b["supplier"],
                &b["balance"],
                &b["credit_used"],
                &b["credit_limit"],
                &b["credit_enabled"],
                &b["currency"],
            ]
            .map(cell),
        );
        let txns = host.ok(
            DISTRIBUTOR,
            "transactions",
            json!({"supplier": b["supplier"]}),
        )?;
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED).set_header([
            "txn",
            "type",
            "order",
            "amount",
            "balance after",
        ]);
        let mut sum = Decimal::ZERO;
        for t in txns["transactions"].as_array().into_iter().flatten() {
            sum += t["amount"]
                .as_str()
                .unwrap_or("0")
                .parse::<Decimal>()
                .into_diagnostic()?;
            table.add_row(
                [
                    &t["txn_id"],
                    &t["type"],
                    &t["order"],
                    &t["amount"],
                    &t["balance_after"],
                ]
                .map(cell),
            );
        }
        println!("{summary}");
        println!("{table}");
        let balance: Decimal = b["balance"]
            .as_str()
            .unwrap_or("0")
            .parse()
            .into_diagnostic()?;
        let mut line = String::new();
        let _ = write!(
            line,
            "   sum of the {} transactions = {sum} {}; balance = {balance}",
            txns["transactions"].as_array().map_or(0, Vec::len),
            b["currency"].as_str().unwrap_or_default()
        );
        if sum == balance {
            say(&format!("{line}: reconciled"));
        } else {
            return Err(miette!("{line}: NOT reconciled"));
        }
    }
    Ok(())
}

fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// Writes each workflow as Mermaid (and SVG when Graphviz's `dot` is installed) beside the store.
fn write_graphs(rules: &RulePack, db: &Path) -> Result<Vec<PathBuf>> {
    let scripts = rules
        .files(FileKind::Script)
        .map(|f| f.stem.clone())
        .collect();
    let set = workflow::load(rules, &Vocabulary::engine(scripts))?;
    let dir = db
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut written = Vec::new();
    for wf in set.iter() {
        let mermaid = dir.join(format!("{}.mmd", wf.name()));
        std::fs::write(&mermaid, wf.to_mermaid()).into_diagnostic()?;
        written.push(mermaid);
        let svg = dir.join(format!("{}.svg", wf.name()));
        let dot = Command::new("dot")
            .arg("-Tsvg")
            .arg("-o")
            .arg(&svg)
            .stdin(std::process::Stdio::piped())
            .spawn();
        if let Ok(mut child) = dot {
            if let Some(stdin) = child.stdin.as_mut() {
                use std::io::Write;
                stdin.write_all(wf.to_dot().as_bytes()).into_diagnostic()?;
            }
            if child.wait().into_diagnostic()?.success() {
                written.push(svg);
            }
        }
    }
    Ok(written)
}
