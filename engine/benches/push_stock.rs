//! One `push_stock` of every SKU of a supplier to all its partnered distributors (issue 4: 10,000
//! SKUs × 50 distributors = 500,000 distributor cells and their movement records), timed through
//! `Engine::execute_line` on a durable store, next to the raw SQLite ceiling: the same rows
//! written with prepared statements in one transaction, same tables, same disk, same pragmas.
//! Then, with at least a million movement rows in the store, the latency of a distributor's
//! `stock {sku}` and `movements {sku}` answers. Prints every figure on its own labelled line;
//! asserts only that the engine answered as expected, nothing about time.
//!
//! Run with `cargo bench -p distributary --bench push_stock`. Sizes are overridable:
//! `BENCH_SKUS`, `BENCH_DISTRIBUTORS`, `BENCH_MOVEMENT_ROWS`, `BENCH_QUERIES`; with
//! `BENCH_KEEP_STORE=1` the temporary directory (engine and raw stores) is kept for inspection.

use std::error::Error;
use std::path::Path;
use std::time::{Duration, Instant};

use distributary::catalog::CLAIM_SKUS_MAX;
use distributary::inventory::PUSH_ITEMS_MAX;
use distributary::store::{Durability, StoreOptions};
use distributary::{Engine, EngineOptions};
use rusqlite::{params, Connection};
use serde_json::{json, Value};

/// SKUs the supplier publishes, pushes, and every distributor claims (issue 4: 10,000).
const DEFAULT_SKUS: usize = 10_000;
/// Partnered distributors (issue 4: 50).
const DEFAULT_DISTRIBUTORS: usize = 50;
/// Movement rows the store holds before the query latencies are taken (issue 4: a million).
const DEFAULT_MOVEMENT_ROWS: usize = 1_000_000;
/// Queries timed per kind (`stock`, `movements`).
const DEFAULT_QUERIES: usize = 200;
/// The supplier account.
const SUPPLIER: &str = "sup";
/// The supplier's one warehouse.
const WAREHOUSE: &str = "KL";
/// The fixed `at` of the timed push, so the answer does not depend on the clock.
const PUSH_AT: &str = "2026-11-27T09:00:00Z";
/// The tables of the raw ceiling: the `stock` and `movements` tables and their indexes as the
/// engine's migrations leave them (`engine/src/store/schema/mod.rs`).
const RAW_DDL: &str = r#"
CREATE TABLE stock (
    account     TEXT NOT NULL,
    supplier    TEXT NOT NULL,
    warehouse   TEXT NOT NULL,
    sku         TEXT NOT NULL,
    available   INTEGER NOT NULL CHECK (available >= 0),
    locked      INTEGER NOT NULL CHECK (locked >= 0),
    last_movement INTEGER,
    PRIMARY KEY (account, supplier, warehouse, sku)
) STRICT, WITHOUT ROWID;
CREATE INDEX stock_by_cell ON stock (supplier, warehouse, sku);

CREATE TABLE movements (
    seq         INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    supplier    TEXT NOT NULL,
    warehouse   TEXT NOT NULL,
    sku         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    before      INTEGER NOT NULL,
    after       INTEGER NOT NULL,
    at          TEXT NOT NULL,
    prev        INTEGER
) STRICT;
"#;

type BenchResult<T> = Result<T, Box<dyn Error>>;

/// The sizes of one run.
struct Sizes {
    skus: usize,
    distributors: usize,
    movement_rows: usize,
    queries: usize,
}

impl Sizes {
    fn from_env() -> BenchResult<Sizes> {
        Ok(Sizes {
            skus: env_size("BENCH_SKUS", DEFAULT_SKUS)?,
            distributors: env_size("BENCH_DISTRIBUTORS", DEFAULT_DISTRIBUTORS)?,
            movement_rows: env_size("BENCH_MOVEMENT_ROWS", DEFAULT_MOVEMENT_ROWS)?,
            queries: env_size("BENCH_QUERIES", DEFAULT_QUERIES)?,
        })
    }

    fn cells(&self) -> usize {
        self.skus * self.distributors
    }
}

fn env_size(name: &str, default: usize) -> BenchResult<usize> {
    match std::env::var(name) {
        Ok(text) => {
            let n: usize = text
                .parse()
                .map_err(|e| format!("{name}={text:?} is not a size: {e}"))?;
            if n == 0 {
                return Err(format!("{name} must be at least 1").into());
            }
            Ok(n)
        }
        Err(_) => Ok(default),
    }
}

fn sku(i: usize) -> String {
    format!("SKU{i:06}")
}

fn distributor(d: usize) -> String {
    format!("dis{d:03}")
}

/// The quantity of SKU `i` after push number `round` (1-based): differs from the previous
/// round's for every SKU, and is never 0 (the quantity of a freshly claimed cell).
fn quantity(round: usize, i: usize) -> i64 {
    (round * 1_000 + i % 997 + 1) as i64
}

/// Runs one request through the host protocol; an error answer fails the bench.
fn exec(engine: &Engine, request: &Value) -> BenchResult<Value> {
    let answer = engine.execute_line(&request.to_string());
    if answer.get("ok") != Some(&Value::Bool(true)) {
        let cmd = request.get("cmd").cloned().unwrap_or(Value::Null);
        return Err(format!("{cmd} failed: {answer}").into());
    }
    Ok(answer.get("result").cloned().unwrap_or(Value::Null))
}

fn cmd(actor: &str, cmd: &str, args: Value) -> Value {
    json!({"as": actor, "cmd": cmd, "args": args})
}

fn open(path: &Path, durability: Durability) -> BenchResult<Engine> {
    let options = EngineOptions {
        store: StoreOptions { durability },
        ..EngineOptions::default()
    };
    Ok(Engine::open(path, options)?)
}

/// Builds the supplier, its warehouse and SKUs, and the partnered distributors claiming every
/// SKU. Runs with `synchronous=NORMAL`: setup is not measured, and a fsync per setup command
/// would only make it slower.
fn setup(path: &Path, sizes: &Sizes) -> BenchResult<()> {
    let engine = open(path, Durability::Normal)?;
    let started = Instant::now();
    exec(
        &engine,
        &cmd(
            "system",
            "create_account",
            json!({"account": SUPPLIER, "plan": "V3", "inventory": true, "currency": "MYR"}),
        ),
    )?;
    exec(
        &engine,
        &cmd(
            SUPPLIER,
            "create_warehouse",
            json!({"warehouse": WAREHOUSE, "name": "Kuala Lumpur", "region": "Selangor"}),
        ),
    )?;
    for i in 0..sizes.skus {
        exec(
            &engine,
            &cmd(
                SUPPLIER,
                "publish_product",
                json!({"sku": sku(i), "name": format!("Product {i}"), "price": "12.50"}),
            ),
        )?;
    }
    let published = started.elapsed();
    println!("setup publish_product: {:.1} s", published.as_secs_f64());

    let mut partnering = Duration::ZERO;
    let mut claiming = Duration::ZERO;
    let skus: Vec<String> = (0..sizes.skus).map(sku).collect();
    for d in 0..sizes.distributors {
        let name = distributor(d);
        let t = Instant::now();
        exec(
            &engine,
            &cmd(
                "system",
                "create_account",
                json!({"account": name, "plan": "V3", "inventory": true, "currency": "MYR"}),
            ),
        )?;
        let invitation = exec(
            &engine,
            &cmd(
                SUPPLIER,
                "create_invitation",
                json!({"warehouses": [WAREHOUSE]}),
            ),
        )?;
        let link = invitation
            .get("link")
            .and_then(Value::as_str)
            .ok_or("create_invitation answered no link")?;
        exec(&engine, &cmd(&name, "bind_supplier", json!({"link": link})))?;
        exec(
            &engine,
            &cmd(
                SUPPLIER,
                "review_partnership",
                json!({"distributor": name, "approve": true}),
            ),
        )?;
        partnering += t.elapsed();
        let t = Instant::now();
        for chunk in skus.chunks(CLAIM_SKUS_MAX) {
            exec(
                &engine,
                &cmd(&name, "claim", json!({"supplier": SUPPLIER, "skus": chunk})),
            )?;
        }
        claiming += t.elapsed();
    }
    println!(
        "setup partnerships (account, invitation, bind, approve): {:.1} s",
        partnering.as_secs_f64()
    );
    println!(
        "setup claims ({} SKUs x {} distributors): {:.1} s",
        sizes.skus,
        sizes.distributors,
        claiming.as_secs_f64()
    );
    println!("setup total: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// One push of every SKU at round `round`'s quantities; returns the distributor cells it set.
fn push_all(engine: &Engine, sizes: &Sizes, round: usize) -> BenchResult<usize> {
    let mut cells = 0;
    let items: Vec<Value> = (0..sizes.skus)
        .map(|i| json!({"sku": sku(i), "available": quantity(round, i)}))
        .collect();
    for chunk in items.chunks(PUSH_ITEMS_MAX) {
        let request = cmd(
            SUPPLIER,
            "push_stock",
            json!({"warehouse": WAREHOUSE, "items": chunk}),
        );
        let result = exec(engine, &request)?;
        cells += result
            .get("distributor_cells")
            .and_then(Value::as_u64)
            .ok_or("push_stock answered no distributor_cells")? as usize;
    }
    Ok(cells)
}

/// The timed push: one `push_stock` line built beforehand, answered through `execute_line`.
fn timed_push(engine: &Engine, sizes: &Sizes) -> BenchResult<Duration> {
    if sizes.skus > PUSH_ITEMS_MAX {
        return Err(format!("BENCH_SKUS must be at most {PUSH_ITEMS_MAX} (one push)").into());
    }
    let items: Vec<Value> = (0..sizes.skus)
        .map(|i| json!({"sku": sku(i), "available": quantity(1, i)}))
        .collect();
    let line = json!({"as": SUPPLIER, "at": PUSH_AT, "cmd": "push_stock",
                      "args": {"warehouse": WAREHOUSE, "items": items}})
    .to_string();
    let started = Instant::now();
    let answer = engine.execute_line(&line);
    let elapsed = started.elapsed();
    if answer.get("ok") != Some(&Value::Bool(true)) {
        return Err(format!("push_stock failed: {answer}").into());
    }
    let cells = answer
        .pointer("/result/distributor_cells")
        .and_then(Value::as_u64)
        .ok_or("push_stock answered no distributor_cells")?;
    if cells as usize != sizes.cells() {
        return Err(format!(
            "push_stock set {cells} distributor cells, expected {}",
            sizes.cells()
        )
        .into());
    }
    Ok(elapsed)
}

fn movement_rows(path: &Path) -> BenchResult<usize> {
    let conn = Connection::open(path)?;
    let n: i64 = conn.query_row("SELECT count(*) FROM movements", [], |r| r.get(0))?;
    Ok(n as usize)
}

fn raw_connection(path: &Path) -> BenchResult<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// The raw ceiling: the distributor cells exist at 0 (as after the claims); one transaction
/// then updates every cell and inserts its movement, SKU by SKU and distributor by distributor
/// like the push, with two prepared statements. Returns the time of that transaction only.
fn raw_ceiling(path: &Path, sizes: &Sizes) -> BenchResult<Duration> {
    let mut conn = raw_connection(path)?;
    conn.execute_batch(RAW_DDL)?;
    let skus: Vec<String> = (0..sizes.skus).map(sku).collect();
    let distributors: Vec<String> = (0..sizes.distributors).map(distributor).collect();
    {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO stock (account, supplier, warehouse, sku, available, locked)
                 VALUES (?1, ?2, ?3, ?4, 0, 0)",
            )?;
            for d in &distributors {
                for s in &skus {
                    insert.execute(params![d, SUPPLIER, WAREHOUSE, s])?;
                }
            }
        }
        tx.commit()?;
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;

    let started = Instant::now();
    let tx = conn.transaction()?;
    {
        // Like the engine: the movement first, then the cell with its new value and the
        // movement's seq (a cell names its last movement, a movement the one before).
        let mut log = tx.prepare(
            "INSERT INTO movements (account, supplier, warehouse, sku, kind, before, after, at, prev)
             VALUES (?1, ?2, ?3, ?4, 'distribution_stock_push', 0, ?5, ?6, NULL)",
        )?;
        let mut update = tx.prepare(
            "UPDATE stock SET available = ?5, last_movement = ?6
             WHERE account = ?1 AND supplier = ?2 AND warehouse = ?3 AND sku = ?4",
        )?;
        for (i, s) in skus.iter().enumerate() {
            let q = quantity(1, i);
            for d in &distributors {
                log.execute(params![d, SUPPLIER, WAREHOUSE, s, q, PUSH_AT])?;
                let logged = tx.last_insert_rowid();
                if update.execute(params![d, SUPPLIER, WAREHOUSE, s, q, logged])? != 1 {
                    return Err(format!("raw: no cell {d}/{s}").into());
                }
            }
        }
    }
    tx.commit()?;
    Ok(started.elapsed())
}

/// A small deterministic generator (splitmix64) for the random SKUs and distributors queried.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % n as u64) as usize
    }
}

/// Median and max, in ms, of `sizes.queries` answers of `cmd {sku}` by random distributors for
/// random SKUs; each answer is checked to be a success naming what was asked.
fn query_latency(
    engine: &Engine,
    sizes: &Sizes,
    command: &str,
    rng: &mut SplitMix,
) -> BenchResult<(f64, f64)> {
    let mut times = Vec::with_capacity(sizes.queries);
    for _ in 0..sizes.queries {
        let d = distributor(rng.below(sizes.distributors));
        let line = cmd(&d, command, json!({"sku": sku(rng.below(sizes.skus))})).to_string();
        let started = Instant::now();
        let answer = engine.execute_line(&line);
        times.push(started.elapsed());
        let result = answer
            .get("result")
            .ok_or_else(|| format!("{command} failed: {answer}"))?;
        let empty = match command {
            "stock" => result
                .get("warehouses")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty),
            _ => result
                .get("movements")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty),
        };
        if empty {
            return Err(format!("{command} answered nothing for {d}: {answer}").into());
        }
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = ms(times[times.len() / 2]);
    let max = ms(times[times.len() - 1]);
    Ok((median, max))
}

fn main() -> BenchResult<()> {
    let sizes = Sizes::from_env()?;
    let dir = tempfile::tempdir()?;
    let store = dir.path().join("engine.db");
    println!("skus: {}", sizes.skus);
    println!("distributors: {}", sizes.distributors);
    println!("distributor cells per push: {}", sizes.cells());
    println!("store: {}", dir.path().display());

    setup(&store, &sizes)?;

    // The measure runs on a freshly opened, fully durable engine (synchronous=FULL, the default).
    let engine = open(&store, Durability::Full)?;
    let engine_time = timed_push(&engine, &sizes)?;
    let engine_rate = sizes.cells() as f64 / engine_time.as_secs_f64();
    println!(
        "engine push_stock wall time: {:.3} s",
        engine_time.as_secs_f64()
    );
    println!("engine push_stock cells/s: {engine_rate:.0}");

    let raw_time = raw_ceiling(&dir.path().join("raw.db"), &sizes)?;
    let raw_rate = sizes.cells() as f64 / raw_time.as_secs_f64();
    println!("raw SQLite wall time: {:.3} s", raw_time.as_secs_f64());
    println!("raw SQLite cells/s: {raw_rate:.0}");
    println!(
        "ratio engine/raw: {:.3} (target >= 0.333)",
        engine_rate / raw_rate
    );

    let mut round = 1;
    let started = Instant::now();
    while movement_rows(&store)? < sizes.movement_rows {
        round += 1;
        let cells = push_all(&engine, &sizes, round)?;
        if cells != sizes.cells() {
            return Err(
                format!("push {round} set {cells} cells, expected {}", sizes.cells()).into(),
            );
        }
    }
    println!(
        "filler pushes: {} ({:.1} s)",
        round - 1,
        started.elapsed().as_secs_f64()
    );
    println!("movement rows in store: {}", movement_rows(&store)?);

    let mut rng = SplitMix(0x5EED);
    let (median, max) = query_latency(&engine, &sizes, "stock", &mut rng)?;
    println!("stock {{sku}} median: {median:.3} ms (target < 10 ms)");
    println!("stock {{sku}} max: {max:.3} ms");
    let (median, max) = query_latency(&engine, &sizes, "movements", &mut rng)?;
    println!("movements {{sku}} median: {median:.3} ms (target < 10 ms)");
    println!("movements {{sku}} max: {max:.3} ms");
    println!("queries per kind: {}", sizes.queries);
    drop(engine);
    if std::env::var_os("BENCH_KEEP_STORE").is_some() {
        println!("kept: {}", dir.keep().display());
    }
    Ok(())
}
