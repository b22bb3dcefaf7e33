//! `distributary bench backtest`: a store of N orders imported (canonical payloads), packed and
//! pushed by the default pack, then replayed by `distributary backtest`'s engine side, beside the
//! rules' own cost per call on the same recorded inputs, measured in the same run.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use distributary::{
    engine::{Engine, EngineOptions},
    lifecycle::{self, backtest::Window, Installed},
    pack::RulePack,
    rules::{AllocationInput, FeesInput, PushCheckInput, RuleSet},
    store::StoreOptions,
};
use miette::{miette, IntoDiagnostic, Result};
use serde_json::{json, Value};

use crate::bench::{
    distributor, order_shape, phase_batched, progress, round, rule_pack, send, setup, store_sku,
    tempdir_for, Named, Shape, Stopwatch, MARKETPLACES, WAREHOUSES,
};

/// `distributary bench backtest`: a store of `shape.orders` orders imported (canonical payloads),
/// packed and pushed by the default pack, then replayed with `distributary backtest`'s engine
/// side twice: with the pack that decided (its scripts on their native path) and with an edited
/// copy (every script in Rhai, as a rule author's candidate runs). Beside each replay's orders
/// per second, the rules' own cost per call on the same recorded inputs, measured in the same run:
/// what a replay spends beyond the rules is reading the store and the inputs.
///
/// With `store`, the store is built there and kept, or, when it exists, replayed as it is: the
/// figures of several runs then share one store (`store_build_s` is absent).
pub fn run(shape: Shape, store: Option<PathBuf>, as_json: bool) -> Result<()> {
    let dir = tempdir_for(None)?;
    let db = store.clone().unwrap_or_else(|| dir.join("backtest.db"));
    let mut figures = serde_json::Map::new();
    figures.insert("orders".into(), json!(shape.orders));
    if !db.exists() {
        let build_s = build(&db, &shape, as_json)?;
        figures.insert("store_build_s".into(), json!(round(build_s)));
    }
    for (label, interpreted) in [("native", false), ("rhai", true)] {
        let candidate = Installed::compile(rule_pack(interpreted)?)
            .map_err(|e| miette!("the candidate does not compile: {e}"))?;
        let t = Stopwatch::start();
        let report = lifecycle::backtest(&db, &candidate, &Window::default(), &mut |_, _| {})
            .map_err(|e| miette!("backtest failed: {e}"))?;
        let spent = t.stop();
        if report.orders != shape.orders as u64 {
            return Err(miette!(
                "replayed {} orders of {}",
                report.orders,
                shape.orders
            ));
        }
        let changed = &report.rules;
        if changed.fees.changed + changed.push_checks.changed + changed.allocate_warehouse.changed
            != 0
        {
            return Err(miette!("the same rules decided differently: {:?}", changed));
        }
        let per_s = report.orders as f64 / spent.wall.as_secs_f64().max(f64::MIN_POSITIVE);
        let rules_us = rules_cost_us(&db, &candidate.rules)?;
        figures.insert(
            label.into(),
            json!({
                "orders_per_s": round(per_s),
                "us_per_order": round(spent.wall.as_secs_f64() * 1e6 / report.orders as f64),
                "cpu_us_per_order": round(spent.cpu.as_secs_f64() * 1e6 / report.orders as f64),
                "rules_us_per_call": rules_us,
            }),
        );
    }
    if as_json {
        println!("{}", Value::Object(figures));
    } else {
        println!("\nbacktest: {} orders replayed", shape.orders);
        for (key, value) in &figures {
            println!("  {key:<14} {value}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Builds the store at `db`: `shape.orders` orders imported, packed and pushed by the default
/// pack. Answers the seconds it took.
fn build(db: &Path, shape: &Shape, quiet: bool) -> Result<f64> {
    let options = EngineOptions {
        rules: RulePack::embedded(),
        plugins_dir: None,
        store: StoreOptions::default(),
        auto_deliver: true,
    };
    let engine = Engine::open(db, options)?;
    let started = Instant::now();
    setup(&engine, shape, quiet)?;
    let names = import_canonical(&engine, shape, quiet)?;
    phase_batched(&engine, shape, &names, "pack", quiet)?;
    phase_batched(&engine, shape, &names, "push", quiet)?;
    drop(engine);
    Ok(started.elapsed().as_secs_f64())
}

/// Recorded inputs the per-call cost is measured on.
const RULES_SAMPLE_MAX: usize = 20_000;

/// The rules' cost per call, in microseconds, on up to [`RULES_SAMPLE_MAX`] recorded inputs of
/// each kind: `fees`, `push_checks`, `allocate_warehouse`, and their sum (one order's).
fn rules_cost_us(db: &Path, rules: &RuleSet) -> Result<Value> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .into_diagnostic()?;
    let mut statement = conn
        .prepare("SELECT inputs FROM audit WHERE inputs IS NOT NULL LIMIT ?1")
        .into_diagnostic()?;
    let texts: Vec<String> = statement
        .query_map([(RULES_SAMPLE_MAX * 2) as i64], |r| r.get(0))
        .into_diagnostic()?
        .collect::<rusqlite::Result<_>>()
        .into_diagnostic()?;
    let mut fees = Vec::new();
    let mut checks = Vec::new();
    let mut allocations = Vec::new();
    for text in texts {
        let value: Value = serde_json::from_str(&text).into_diagnostic()?;
        let parse = |key: &str| value.get(key).cloned();
        if let Some(v) = parse("fees") {
            fees.push(serde_json::from_value::<FeesInput>(v).into_diagnostic()?);
        }
        if let Some(v) = parse("rule_guards") {
            checks.push(serde_json::from_value::<PushCheckInput>(v).into_diagnostic()?);
        }
        if let Some(v) = parse("allocate_warehouse") {
            allocations.push(serde_json::from_value::<AllocationInput>(v).into_diagnostic()?);
        }
    }
    let time = |n: usize, mut call: Box<dyn FnMut(usize) -> bool + '_>| -> Result<f64> {
        let t = Instant::now();
        for i in 0..n {
            if !call(i) {
                return Err(miette!("a rule failed on a recorded input"));
            }
        }
        Ok(t.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64)
    };
    let fees_us = time(fees.len(), Box::new(|i| rules.fees(&fees[i]).is_ok()))?;
    let checks_us = time(
        checks.len(),
        Box::new(|i| rules.push_checks(&checks[i]).is_ok_and(|f| f.is_empty())),
    )?;
    let allocation_us = time(
        allocations.len(),
        Box::new(|i| rules.allocate_warehouse(&allocations[i]).is_ok()),
    )?;
    Ok(json!({
        "fees": round_us(fees_us),
        "push_checks": round_us(checks_us),
        "allocate_warehouse": round_us(allocation_us),
        "sum": round_us(fees_us + checks_us + allocation_us),
    }))
}

fn round_us(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Imports every order as canonical payloads (no adapter needed), a chunk per `import_orders`;
/// half the orders go to Selangor, half to Johor, so the allocation rule has a region to match.
fn import_canonical(engine: &Engine, shape: &Shape, quiet: bool) -> Result<Vec<Named>> {
    let bar = progress(shape.orders, "import", quiet);
    let mut names = Vec::with_capacity(shape.orders);
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); shape.distributors];
    for n in 0..shape.orders {
        groups[order_shape(shape, n).0].push(n);
    }
    for (d, numbers) in groups.iter().enumerate() {
        for chunk in numbers.chunks(shape.import_chunk.max(1)) {
            let payload: Vec<Value> = chunk
                .iter()
                .map(|&n| {
                    let (_, marketplace, s, lines) = order_shape(shape, n);
                    let state = WAREHOUSES[n % WAREHOUSES.len()].1;
                    json!({"marketplace": marketplace, "shop": format!("{marketplace}-1"),
                        "order_sn": format!("BT{n:09}"), "status": "ready_to_ship", "currency": "MYR",
                        "address": {"country": "MY", "state": state},
                        "lines": lines.iter().map(|(k, q)| json!({"store_sku": store_sku(marketplace, s, *k), "qty": q, "unit_price": "9.90"})).collect::<Vec<_>>()})
                })
                .collect();
            // One marketplace per payload: split the chunk by marketplace.
            for marketplace in MARKETPLACES {
                let part: Vec<Value> = payload
                    .iter()
                    .filter(|o| o["marketplace"] == marketplace)
                    .cloned()
                    .collect();
                if part.is_empty() {
                    continue;
                }
                let result = send(
                    engine,
                    &distributor(d),
                    "import_orders",
                    json!({"marketplace": marketplace, "format": "canonical", "payload": part}),
                )?;
                for o in result["orders"].as_array().into_iter().flatten() {
                    names.push((d as u32, o["order"].as_str().unwrap_or_default().into()));
                }
            }
            bar.inc(chunk.len() as u64);
        }
    }
    bar.finish_and_clear();
    if names.len() != shape.orders {
        return Err(miette!(
            "imported {} orders of {}",
            names.len(),
            shape.orders
        ));
    }
    Ok(names)
}
