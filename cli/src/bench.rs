//! `distributary bench megasale`: a mega-sale through the whole engine — native marketplace
//! payloads imported, every order packed, pushed and delivered with all rules on and the store
//! durable — measured against the raw SQLite ceiling of the same disk in the same run. The engine
//! runs as shipped: it delivers the orders a batch of pushes queued inside that batch's
//! transaction, so the push phase includes their delivery.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use distributary::{
    engine::{Engine, EngineOptions},
    pack::{FileKind, RulePack},
    plugin_host::PluginHost,
    rules::RuleSet,
    store::StoreOptions,
    Envelope,
};
use indicatif::{ProgressBar, ProgressStyle};
use miette::{miette, IntoDiagnostic, Result};
use serde_json::{json, Value};

/// The workload's shape.
#[derive(Debug, Clone)]
pub struct Shape {
    pub orders: usize,
    pub suppliers: usize,
    pub distributors: usize,
    pub skus_per_supplier: usize,
    /// Commands per transaction when the host batches.
    pub batch: usize,
    /// Orders per `import_orders` payload.
    pub import_chunk: usize,
    /// Run the default scripts through Rhai: each with a comment appended, as a rule author's
    /// edited pack is, so the engine does not take their native path (`engine/src/rules/native.rs`).
    pub interpreted: bool,
}

impl Shape {
    /// The command-line options that give this shape (`bench megasale`'s), for a worker process.
    pub fn to_args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            ("--orders", self.orders),
            ("--suppliers", self.suppliers),
            ("--distributors", self.distributors),
            ("--skus", self.skus_per_supplier),
            ("--batch", self.batch),
            ("--import-chunk", self.import_chunk),
        ]
        .into_iter()
        .flat_map(|(flag, n)| [flag.to_owned(), n.to_string()])
        .collect();
        if self.interpreted {
            args.push("--interpreted".to_owned());
        }
        args
    }
}

pub(crate) const MARKETPLACES: [&str; 4] = ["shopee", "lazada", "tiktok_shop", "temu"];
pub(crate) const WAREHOUSES: [(&str, &str); 2] = [("N", "Selangor"), ("S", "Johor")];

/// Which distributors' orders one engine process runs: those whose number is `worker` modulo
/// `processes` (every distributor in a run of one process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub worker: usize,
    pub processes: usize,
}

impl Share {
    /// The whole sale, in one process.
    pub const ALL: Share = Share {
        worker: 0,
        processes: 1,
    };

    /// Whether distributor `d`'s orders are this share's.
    pub fn holds(&self, d: usize) -> bool {
        d % self.processes.max(1) == self.worker
    }
}

/// Runs the benchmark and prints its figures (one JSON object with `json`): in this process on
/// a SQLite file, or in `processes` engine processes sharing the store
/// (`bench_processes.rs`) when there are several or the store is PostgreSQL.
pub fn run(
    shape: Shape,
    db: Option<PathBuf>,
    plugins: Option<PathBuf>,
    processes: usize,
    as_json: bool,
) -> Result<()> {
    let postgres = db.as_deref().is_some_and(distributary::store::is_postgres);
    if postgres || processes != 1 {
        return crate::bench_processes::run(&shape, db, plugins, processes, as_json);
    }
    let dir = tempdir_for(db.as_deref())?;
    let db = db.unwrap_or_else(|| dir.join("megasale.db"));
    if db.exists() {
        return Err(miette!(
            "{} exists: the benchmark needs a fresh store",
            db.display()
        ));
    }
    let engine = open(&db, plugins, shape.interpreted)?;
    let quiet = as_json;
    let started = Instant::now();
    setup(&engine, &shape, quiet)?;
    let setup_s = started.elapsed().as_secs_f64();

    let (names, import) = phase_import(&engine, &shape, Share::ALL, quiet)?;
    let (pack, _) = phase_batched(&engine, &shape, &names, "pack", quiet)?;
    let (push, push_latencies) = phase_batched(&engine, &shape, &names, "push", quiet)?;
    let mut total = Spent::default();
    for phase in [import, pack, push] {
        total += phase;
    }
    drop(engine);
    let rows = count_rows(&db)?;
    let delivered = orders_in(&db, "pushed")?;
    if delivered != names.len() as u64 {
        return Err(miette!(
            "{} orders pushed but {delivered} delivered",
            names.len()
        ));
    }

    let ceiling = raw_ceiling(&dir.join("ceiling.db"), rows)?;
    let rows_per_order = rows as f64 / shape.orders as f64;
    let per_s = |n: f64, d: Duration| n / d.as_secs_f64().max(f64::MIN_POSITIVE);
    let orders = shape.orders as f64;
    let ceiling_orders_per_s = per_s(rows as f64, ceiling.wall) / rows_per_order;
    let orders_per_s = per_s(orders, total.wall);
    let orders_per_cpu_s = per_s(orders, total.cpu);
    let ceiling_orders_per_cpu_s = per_s(rows as f64, ceiling.cpu) / rows_per_order;
    let pct = |p: f64| percentile_ms(&push_latencies, p);
    let figures = json!({
        "orders": shape.orders,
        "suppliers": shape.suppliers,
        "distributors": shape.distributors,
        "batch": shape.batch,
        "orders_per_s": round(orders_per_s),
        "import_orders_per_s": round(per_s(orders, import.wall)),
        "pack_orders_per_s": round(per_s(orders, pack.wall)),
        "push_orders_per_s": round(per_s(orders, push.wall)),
        "cpu_us_per_order": {
            "import": round(import.cpu.as_secs_f64() * 1e6 / orders),
            "pack": round(pack.cpu.as_secs_f64() * 1e6 / orders),
            "push": round(push.cpu.as_secs_f64() * 1e6 / orders),
        },
        "written_kib_per_order": {
            "import": round(import.written as f64 / 1024.0 / orders),
            "pack": round(pack.written as f64 / 1024.0 / orders),
            "push": round(push.written as f64 / 1024.0 / orders),
        },
        "ceiling_written_kib_per_order": round(ceiling.written as f64 / 1024.0 / orders),
        "orders_per_cpu_s": round(orders_per_cpu_s),
        "ceiling_orders_per_cpu_s": round(ceiling_orders_per_cpu_s),
        "cpu_ratio": (orders_per_cpu_s / ceiling_orders_per_cpu_s * 1000.0).round() / 1000.0,
        "push_p50_ms": round(pct(0.50)),
        "push_p99_ms": round(pct(0.99)),
        "rows_written": rows,
        "rows_per_order": round(rows_per_order),
        "ceiling_rows_per_s": round(per_s(rows as f64, ceiling.wall)),
        "ceiling_orders_per_s": round(ceiling_orders_per_s),
        "ratio": (orders_per_s / ceiling_orders_per_s * 1000.0).round() / 1000.0,
        "peak_rss_mb": peak_rss_mb(),
        "setup_s": round(setup_s),
        "durability": "synchronous=FULL",
        "rules": if shape.interpreted { "rhai" } else { "as shipped" },
    });
    if as_json {
        println!("{figures}");
    } else {
        println!(
            "\nmegasale: {} orders, {} suppliers, {} distributors, {} commands per transaction",
            shape.orders, shape.suppliers, shape.distributors, shape.batch
        );
        for (key, value) in figures.as_object().into_iter().flatten() {
            println!("  {key:<22} {value}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Opens the engine on the store at `db` as the benchmark runs it (durable, deliveries in the
/// batch that queued them), refusing to run without the four adapters.
pub(crate) fn open(db: &Path, plugins: Option<PathBuf>, interpreted: bool) -> Result<Engine> {
    let options = EngineOptions {
        rules: rule_pack(interpreted)?,
        plugins_dir: plugins.or_else(PluginHost::default_dir),
        store: StoreOptions::default(),
        auto_deliver: true,
    };
    let engine = Engine::open(db, options)?;
    if engine.plugins().plugins().len() < MARKETPLACES.len() {
        return Err(miette!("the benchmark needs the four adapters: build them with `cargo build --release --workspace`"));
    }
    Ok(engine)
}

/// What an edited pack's scripts end with in an `--interpreted` run.
const EDITED_MARK: &str = "\n// bench megasale --interpreted: an edited copy, run in Rhai\n";

/// The default pack; with `interpreted`, every script edited by a comment, as a rule author's
/// pack is once touched, so that it runs in Rhai. Checked: none of them runs natively.
pub(crate) fn rule_pack(interpreted: bool) -> Result<RulePack> {
    let pack = RulePack::embedded();
    if !interpreted {
        return Ok(pack);
    }
    let files = pack
        .files_all()
        .cloned()
        .map(|mut file| {
            if file.kind == FileKind::Script {
                file.text.push_str(EDITED_MARK);
            }
            file
        })
        .collect();
    let pack = RulePack::new("<default pack, edited>".to_owned(), files);
    let rules = RuleSet::compile(&pack)?;
    if let Some(native) = rules.script_names().find(|name| rules.runs_natively(name)) {
        return Err(miette!("{native} still runs natively"));
    }
    Ok(pack)
}

/// Wall-clock and on-CPU time of the engine's thread (the CPU figure does not grow when other
/// processes compete for the cores, so runs on a shared machine stay comparable), and the bytes
/// the process handed to `write` meanwhile (WAL frames and checkpoints).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Spent {
    pub(crate) wall: Duration,
    pub(crate) cpu: Duration,
    pub(crate) written: u64,
}

impl std::ops::AddAssign for Spent {
    fn add_assign(&mut self, other: Spent) {
        self.wall += other.wall;
        self.cpu += other.cpu;
        self.written += other.written;
    }
}

pub(crate) struct Stopwatch {
    wall: Instant,
    cpu: Duration,
    written: u64,
}

impl Stopwatch {
    pub(crate) fn start() -> Stopwatch {
        Stopwatch {
            wall: Instant::now(),
            cpu: thread_cpu(),
            written: bytes_written(),
        }
    }

    pub(crate) fn stop(&self) -> Spent {
        Spent {
            wall: self.wall.elapsed(),
            cpu: thread_cpu().saturating_sub(self.cpu),
            written: bytes_written().saturating_sub(self.written),
        }
    }
}

/// The bytes this process has passed to `write` calls (Linux `/proc/self/io`; zero elsewhere).
fn bytes_written() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("wchar:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// This thread's time on a CPU (Linux `schedstat`; zero elsewhere).
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// The `p` percentile, in ms, of commands whose latencies come as `(latency, commands)` per
/// batch (every command of a batch waits for its commit).
pub(crate) fn percentile_ms(batches: &[(Duration, usize)], p: f64) -> f64 {
    let mut sorted = batches.to_vec();
    sorted.sort_unstable();
    let total: usize = sorted.iter().map(|(_, n)| n).sum();
    let rank = ((total.saturating_sub(1)) as f64 * p) as usize;
    let mut seen = 0;
    for (latency, n) in sorted {
        seen += n;
        if seen > rank {
            return latency.as_secs_f64() * 1000.0;
        }
    }
    0.0
}

pub(crate) fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub(crate) fn tempdir_for(db: Option<&Path>) -> Result<PathBuf> {
    let dir = match db.and_then(Path::parent) {
        Some(parent) if !parent.as_os_str().is_empty() => {
            parent.join(format!("megasale-{}", std::process::id()))
        }
        _ => std::env::temp_dir().join(format!("distributary-megasale-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).into_diagnostic()?;
    Ok(dir)
}

fn supplier(s: usize) -> String {
    format!("sup{s}")
}

pub(crate) fn distributor(d: usize) -> String {
    format!("dist{d}")
}

fn sku(s: usize, k: usize) -> String {
    format!("S{s}-SKU{k:04}")
}

/// The store SKU a marketplace lists a SKU under (Temu's are numbers).
pub(crate) fn store_sku(marketplace: &str, s: usize, k: usize) -> String {
    match marketplace {
        "temu" => format!("{}", 9_000_000_000_u64 + (s * 100_000 + k) as u64),
        _ => format!("{}-{}", &marketplace[..2].to_uppercase(), sku(s, k)),
    }
}

pub(crate) fn send(engine: &Engine, actor: &str, cmd: &str, args: Value) -> Result<Value> {
    let answer = engine.execute_line(&json!({"as": actor, "cmd": cmd, "args": args}).to_string());
    if answer["ok"] == json!(true) {
        Ok(answer["result"].clone())
    } else {
        Err(miette!(
            "setup `{cmd}` as {actor} failed: {}",
            answer["error"]
        ))
    }
}

pub(crate) fn setup(engine: &Engine, shape: &Shape, quiet: bool) -> Result<()> {
    if !quiet {
        eprintln!(
            "setting up {} suppliers x {} SKUs, {} distributors ...",
            shape.suppliers, shape.skus_per_supplier, shape.distributors
        );
    }
    for d in 0..shape.distributors {
        send(
            engine,
            "system",
            "create_account",
            json!({"account": distributor(d), "plan": "V1", "inventory": true, "currency": "MYR"}),
        )?;
    }
    for s in 0..shape.suppliers {
        let sup = supplier(s);
        send(
            engine,
            "system",
            "create_account",
            json!({"account": sup, "plan": "V3", "inventory": true, "currency": "MYR"}),
        )?;
        for (w, region) in WAREHOUSES {
            send(
                engine,
                &sup,
                "create_warehouse",
                json!({"warehouse": w, "name": w, "region": region}),
            )?;
        }
        for k in 0..shape.skus_per_supplier {
            send(
                engine,
                &sup,
                "publish_product",
                json!({"sku": sku(s, k), "name": sku(s, k), "price": format!("{}.{:02}", 5 + k % 40, k % 100)}),
            )?;
        }
        send(
            engine,
            &sup,
            "set_fees",
            json!({"handling": "1.20", "shipping": "3.50"}),
        )?;
        let items: Vec<Value> = (0..shape.skus_per_supplier)
            .map(|k| json!({"sku": sku(s, k), "available": 1_000_000_000}))
            .collect();
        for (w, _) in WAREHOUSES {
            send(
                engine,
                &sup,
                "push_stock",
                json!({"warehouse": w, "items": items}),
            )?;
        }
        for d in 0..shape.distributors {
            let dist = distributor(d);
            let link = send(
                engine,
                &sup,
                "create_invitation",
                json!({"warehouses": ["N", "S"]}),
            )?["link"]
                .clone();
            send(engine, &dist, "bind_supplier", json!({"link": link}))?;
            send(
                engine,
                &sup,
                "review_partnership",
                json!({"distributor": dist, "approve": true}),
            )?;
            send(
                engine,
                &sup,
                "add_balance",
                json!({"distributor": dist, "amount": "100000000000"}),
            )?;
            let skus: Vec<String> = (0..shape.skus_per_supplier).map(|k| sku(s, k)).collect();
            send(
                engine,
                &dist,
                "claim",
                json!({"supplier": sup, "skus": skus}),
            )?;
            for marketplace in MARKETPLACES {
                for k in 0..shape.skus_per_supplier {
                    send(
                        engine,
                        &dist,
                        "map_store_sku",
                        json!({"sku": sku(s, k), "marketplace": marketplace, "shop": format!("{marketplace}-1"), "store_sku": store_sku(marketplace, s, k)}),
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// Order `n`: its distributor, marketplace, supplier and lines `(sku index, qty)`.
pub(crate) fn order_shape(
    shape: &Shape,
    n: usize,
) -> (usize, &'static str, usize, Vec<(usize, u32)>) {
    let d = n % shape.distributors;
    let marketplace = MARKETPLACES[(n / shape.distributors) % MARKETPLACES.len()];
    let s = (n / 7) % shape.suppliers;
    let lines = (0..1 + n % 3)
        .map(|i| {
            (
                (n * 31 + i * 17) % shape.skus_per_supplier,
                1 + (n % 2) as u32,
            )
        })
        .collect();
    (d, marketplace, s, lines)
}

/// One generated order: its number, supplier, and lines `(sku index, qty)`.
type GenOrder = (usize, usize, Vec<(usize, u32)>);

fn native(marketplace: &str, orders: &[GenOrder]) -> Value {
    match marketplace {
        "shopee" => {
            json!({"error": "", "message": "", "response": {"order_list": orders.iter().map(|(n, s, lines)| json!({
            "order_sn": format!("MS{n:09}"), "region": "MY", "currency": "MYR", "order_status": "READY_TO_SHIP",
            "recipient_address": {"state": if n % 2 == 0 { "Selangor" } else { "Johor" }, "city": "KL", "zipcode": "50000", "region": "MY"},
            "item_list": lines.iter().map(|(k, q)| json!({"item_id": k, "model_id": 0, "item_sku": "", "model_sku": store_sku("shopee", *s, *k), "model_quantity_purchased": q, "model_discounted_price": 9.9})).collect::<Vec<_>>()})).collect::<Vec<_>>()}})
        }
        "lazada" => {
            json!({"code": "0", "data": orders.iter().flat_map(|(n, s, lines)| lines.iter().flat_map(move |(k, q)| (0..*q).map(move |u| json!({
            "order_item_id": n * 10 + u as usize, "order_id": n, "sku": store_sku("lazada", *s, *k), "paid_price": "9.90", "currency": "MYR", "status": "pending"})))).collect::<Vec<_>>()})
        }
        "tiktok_shop" => {
            json!({"code": 0, "message": "Success", "data": {"orders": orders.iter().map(|(n, s, lines)| json!({
            "id": format!("{n}"), "status": "AWAITING_SHIPMENT", "payment": {"currency": "MYR"},
            "recipient_address": {"postal_code": "50000", "region_code": "MY", "district_info": [{"address_level_name": "State", "address_name": "Selangor"}]},
            "line_items": lines.iter().flat_map(|(k, q)| (0..*q).map(move |u| json!({"id": format!("{k}-{u}"), "seller_sku": store_sku("tiktok_shop", *s, *k), "sale_price": "9.90", "currency": "MYR"}))).collect::<Vec<_>>()})).collect::<Vec<_>>()}})
        }
        _ => {
            json!({"success": true, "errorCode": 1_000_000, "result": {"totalItemNum": orders.len(), "pageItems": orders.iter().map(|(n, s, lines)| json!({
            "parentOrderMap": {"parentOrderSn": format!("PO-{n:09}"), "parentOrderStatus": 2},
            "orderList": lines.iter().map(|(k, q)| json!({"orderSn": format!("{n}-{k}"), "skuId": store_sku("temu", *s, *k).parse::<u64>().unwrap_or_default(), "quantity": q})).collect::<Vec<_>>()})).collect::<Vec<_>>()}})
        }
    }
}

pub(crate) fn progress(len: usize, what: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template("{msg:<8} [{bar:40}] {pos}/{len} ({per_sec})") {
        bar.set_style(style);
    }
    bar.set_message(what.to_owned());
    bar
}

/// An imported order: its distributor's number and its name (kept small: a million of them).
pub(crate) type Named = (u32, Box<str>);

/// Host threads sending imports at once, as marketplace pushes arrive: while one thread's
/// command holds the store, the other's payload is parsed by its adapter (the engine's prepare
/// phase runs before the store is locked).
const IMPORT_THREADS: usize = 2;

/// Imports every order as native payloads, a chunk per `import_orders`, from
/// [`IMPORT_THREADS`] threads; only the orders of `share`'s distributors. Returns every order (in chunk order, whichever thread sent it) and
/// the phase's time: the wall-clock time during which some thread had a command in the engine
/// (not the host's own time building payloads), the engine's CPU time summed over the threads.
pub(crate) fn phase_import(
    engine: &Engine,
    shape: &Shape,
    share: Share,
    quiet: bool,
) -> Result<(Vec<Named>, Spent)> {
    let bar = progress(shape.orders, "import", quiet);
    // Group order numbers by (distributor, marketplace) and cut into chunks.
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); shape.distributors * MARKETPLACES.len()];
    for n in 0..shape.orders {
        let (d, marketplace, _, _) = order_shape(shape, n);
        if !share.holds(d) {
            continue;
        }
        let m = MARKETPLACES
            .iter()
            .position(|x| *x == marketplace)
            .unwrap_or(0);
        groups[d * MARKETPLACES.len() + m].push(n);
    }
    let chunks: Vec<(usize, &[usize])> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, numbers)| numbers.chunks(shape.import_chunk).map(move |c| (g, c)))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let written = bytes_written();
    let send = |i: usize, (g, chunk): (usize, &[usize])| -> Result<Sent> {
        let (d, marketplace) = (g / MARKETPLACES.len(), MARKETPLACES[g % MARKETPLACES.len()]);
        let orders: Vec<GenOrder> = chunk
            .iter()
            .map(|&n| {
                let (_, _, s, l) = order_shape(shape, n);
                (n, s, l)
            })
            .collect();
        // The payload as a host receives it from the marketplace: the body's text.
        let payload = native(marketplace, &orders).to_string();
        let request = json!({"as": distributor(d), "cmd": "import_orders", "args": {"marketplace": marketplace, "shop": format!("{marketplace}-1"), "format": "native", "payload": payload}});
        let envelope = Envelope::from_value(request).map_err(|e| miette!("{e}"))?;
        let t = Stopwatch::start();
        let result = engine
            .execute(&envelope)
            .map_err(|e| miette!("import failed: {e}"))?;
        let spent = t.stop();
        let names = result["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| (d as u32, o["order"].as_str().unwrap_or_default().into()))
            .collect();
        bar.inc(chunk.len() as u64);
        Ok(Sent {
            chunk: i,
            names,
            spent,
            interval: (t.wall, t.wall + spent.wall),
        })
    };
    let sent: Vec<Vec<Sent>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..IMPORT_THREADS)
            .map(|_| {
                scope.spawn(|| {
                    let mut sent = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&chunk) = chunks.get(i) else {
                            return Ok(sent);
                        };
                        sent.push(send(i, chunk)?);
                    }
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().map_err(|_| miette!("an import thread panicked"))?)
            .collect::<Result<_>>()
    })?;
    bar.finish_and_clear();
    let mut sent: Vec<Sent> = sent.into_iter().flatten().collect();
    sent.sort_unstable_by_key(|s| s.chunk);
    let mut intervals: Vec<(Instant, Instant)> = sent.iter().map(|s| s.interval).collect();
    let mut elapsed = Spent {
        wall: busy(&mut intervals),
        written: bytes_written().saturating_sub(written),
        ..Spent::default()
    };
    let mut names = Vec::with_capacity(shape.orders);
    for chunk in sent {
        elapsed.cpu += chunk.spent.cpu;
        names.extend(chunk.names);
    }
    Ok((names, elapsed))
}

/// One `import_orders` a thread sent: which chunk, the orders it created, its time.
struct Sent {
    chunk: usize,
    names: Vec<Named>,
    spent: Spent,
    interval: (Instant, Instant),
}

/// The time covered by at least one of `intervals`.
fn busy(intervals: &mut [(Instant, Instant)]) -> Duration {
    intervals.sort_unstable();
    let mut total = Duration::ZERO;
    let mut covered: Option<(Instant, Instant)> = None;
    for &(start, end) in intervals.iter() {
        covered = match covered {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                total += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + covered.map_or(Duration::ZERO, |(s, e)| e - s)
}

/// Runs `cmd {order}` for every order, `shape.batch` commands per transaction; returns the
/// phase's time and each batch's latency with its size (a host waits for its batch to commit).
pub(crate) fn phase_batched(
    engine: &Engine,
    shape: &Shape,
    names: &[Named],
    cmd: &str,
    quiet: bool,
) -> Result<(Spent, Vec<(Duration, usize)>)> {
    let bar = progress(names.len(), cmd, quiet);
    let mut latencies = Vec::new();
    let mut total = Spent::default();
    for chunk in names.chunks(shape.batch.max(1)) {
        let envelopes = chunk
            .iter()
            .map(|(d, name)| {
                let d = distributor(*d as usize);
                Envelope::from_value(json!({"as": d, "cmd": cmd, "args": {"order": name}}))
                    .map_err(|e| miette!("{e}"))
            })
            .collect::<Result<Vec<_>>>()?;
        let t = Stopwatch::start();
        let results = engine.execute_batch(&envelopes);
        let took = t.stop();
        total += took;
        if let Some((i, Err(e))) = results.iter().enumerate().find(|(_, r)| r.is_err()) {
            return Err(miette!("{cmd} {} failed: {e}", chunk[i].1));
        }
        latencies.push((took.wall, chunk.len()));
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok((total, latencies))
}

/// How many orders of the store are in `state`: the check that every order was delivered.
pub(crate) fn orders_in(db: &Path, state: &str) -> Result<u64> {
    let conn = rusqlite::Connection::open(db).into_diagnostic()?;
    conn.query_row(
        "SELECT count(*) FROM orders WHERE state = ?1",
        [state],
        |r| r.get(0),
    )
    .into_diagnostic()
}

/// Every row in the store's tables.
pub(crate) fn count_rows(db: &Path) -> Result<u64> {
    let conn = rusqlite::Connection::open(db).into_diagnostic()?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .into_diagnostic()?;
    let mut rows = 0u64;
    for table in tables {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
                r.get(0)
            })
            .into_diagnostic()?;
        rows += n as u64;
    }
    Ok(rows)
}

/// The time SQLite takes to write `rows` rows on this disk with the engine's pragmas, prepared
/// statements and large transactions, no engine: the ceiling the engine is measured against.
pub(crate) fn raw_ceiling(path: &Path, rows: u64) -> Result<Spent> {
    const ROWS_PER_TRANSACTION: u64 = 50_000;
    let mut conn = rusqlite::Connection::open(path).into_diagnostic()?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .into_diagnostic()?;
    conn.pragma_update(None, "synchronous", "FULL")
        .into_diagnostic()?;
    // The engine's page cache and checkpoint interval (engine/src/store/mod.rs), so only the engine differs.
    conn.pragma_update(None, "cache_size", -64 * 1024)
        .into_diagnostic()?;
    conn.pragma_update(None, "wal_autocheckpoint", 10_000)
        .into_diagnostic()?;
    conn.execute_batch(
        "CREATE TABLE rows (seq INTEGER PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL,
         state TEXT NOT NULL, amount TEXT NOT NULL, at TEXT NOT NULL) STRICT;
         CREATE INDEX rows_by_owner ON rows (owner, name);",
    )
    .into_diagnostic()?;
    let started = Stopwatch::start();
    let mut written = 0;
    while written < rows {
        let tx = conn.transaction().into_diagnostic()?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO rows (owner, name, state, amount, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .into_diagnostic()?;
            for i in written..(written + ROWS_PER_TRANSACTION).min(rows) {
                insert
                    .execute(rusqlite::params![
                        format!("dist{}", i % 8),
                        format!("shopee:MS{i:09}"),
                        "pushed",
                        "12.40",
                        "2026-11-27T10:00:00Z"
                    ])
                    .into_diagnostic()?;
            }
        }
        tx.commit().into_diagnostic()?;
        written = (written + ROWS_PER_TRANSACTION).min(rows);
    }
    Ok(started.stop())
}

/// The process's peak resident memory in MB (Linux), 0 elsewhere.
pub(crate) fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| round(kb / 1024.0))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    #[test]
    fn busy_time_counts_overlapping_intervals_once() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut intervals = [
            (at(20), at(30)),
            (at(0), at(10)),
            (at(5), at(12)),
            (at(30), at(31)),
            (at(40), at(41)),
        ];
        assert_eq!(super::busy(&mut intervals), Duration::from_millis(24));
        assert_eq!(super::busy(&mut []), Duration::ZERO);
    }
}
