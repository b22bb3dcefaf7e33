//! `distributary bench megasale --processes N` (and every run on `--db postgres://...`): the
//! mega-sale run by N engine processes sharing one store, each the current executable re-run as a
//! hidden `bench megasale-worker` that imports, packs and pushes its share of the distributors'
//! orders (bench.rs's workload, [`Share`]). The parent sets up the world once, starts the workers
//! together, waits for them, checks that every order was delivered, and measures the raw ceiling
//! of the same database in the same run.
//!
//! On PostgreSQL the bench makes a database of its own on the server the URL names (the URL's own
//! database is only where it connects to create it) and drops it when done; besides the figures,
//! it reads what explains them from the server: commits and rollbacks (`pg_stat_database`) and
//! the CPU time of the workers' server processes, beside the workers' own.

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    time::{Duration, Instant},
};

use miette::{miette, IntoDiagnostic, Result};
use serde_json::{json, Value};

use crate::bench::{self, round, Shape, Share, Spent, Stopwatch};

/// The most engine processes a run starts (each is one connection to the database).
pub const PROCESSES_MAX: usize = 32;
/// Rows per `COPY` of the ceiling, each in a transaction of its own (as the SQLite ceiling's).
const CEILING_ROWS_PER_COPY: u64 = 50_000;
/// Clock ticks per second of `/proc/PID/stat`'s CPU times (`getconf CLK_TCK`: 100 on Linux).
const TICKS_PER_S: f64 = 100.0;

/// What a worker is told on its command line: its share and where the store is.
pub struct WorkerArgs {
    pub db: PathBuf,
    pub plugins: Option<PathBuf>,
    pub share: Share,
}

/// One worker process: opens the engine, says `ready`, waits for `go`, runs its share of the
/// sale, prints its figures as one JSON line, and waits for its standard input to close before
/// it disconnects (so that the parent reads its server process's CPU time first).
pub fn worker(shape: &Shape, args: WorkerArgs) -> Result<()> {
    if args.share.worker >= args.share.processes {
        return Err(miette!(
            "worker {} of {}: no such share",
            args.share.worker,
            args.share.processes
        ));
    }
    let engine = bench::open(&args.db, args.plugins, shape.interpreted)?;
    let mut stdout = std::io::stdout().lock();
    let mut stdin = std::io::stdin().lock();
    writeln!(stdout, "{}", json!({"ready": true}))
        .and_then(|()| stdout.flush())
        .into_diagnostic()?;
    let mut line = String::new();
    stdin.read_line(&mut line).into_diagnostic()?;
    if line.trim() != "go" {
        return Err(miette!(
            "worker {}: told {line:?}, not go",
            args.share.worker
        ));
    }
    let (names, import) = bench::phase_import(&engine, shape, args.share, true)?;
    let (pack, pack_latencies) = bench::phase_batched(&engine, shape, &names, "pack", true)?;
    let (push, push_latencies) = bench::phase_batched(&engine, shape, &names, "push", true)?;
    let spent = |s: Spent| json!({"wall_s": s.wall.as_secs_f64(), "cpu_s": s.cpu.as_secs_f64()});
    let latencies = |l: Vec<(Duration, usize)>| {
        l.into_iter()
            .map(|(d, n)| json!([d.as_secs_f64(), n]))
            .collect::<Vec<_>>()
    };
    let figures = json!({
        "orders": names.len(),
        "import": spent(import),
        "pack": spent(pack),
        "push": spent(push),
        "pack_latencies": latencies(pack_latencies),
        "push_latencies": latencies(push_latencies),
    });
    writeln!(stdout, "{figures}")
        .and_then(|()| stdout.flush())
        .into_diagnostic()?;
    // Until the parent closes it: end of file, or anything.
    line.clear();
    let _ = stdin.read_line(&mut line);
    drop(engine);
    Ok(())
}

/// Runs the sale in `processes` workers on the store `db` names and prints the figures.
pub fn run(
    shape: &Shape,
    db: Option<PathBuf>,
    plugins: Option<PathBuf>,
    processes: usize,
    as_json: bool,
) -> Result<()> {
    if !(1..=PROCESSES_MAX).contains(&processes) {
        return Err(miette!(
            "--processes must be 1 to {PROCESSES_MAX}, not {processes}"
        ));
    }
    if shape.distributors < processes {
        return Err(miette!(
            "{processes} processes share the sale by distributor: --distributors must be at \
             least {processes}"
        ));
    }
    let target = Target::create(db)?;
    let quiet = as_json;
    let started = Instant::now();
    {
        let engine = bench::open(target.location(), plugins.clone(), shape.interpreted)?;
        bench::setup(&engine, shape, quiet)?;
    }
    let setup_s = started.elapsed().as_secs_f64();
    if !quiet {
        eprintln!("running the sale in {processes} engine processes ...");
    }
    let race = Race::run(shape, &target, plugins.as_deref(), processes)?;
    let orders: u64 = race
        .reports
        .iter()
        .map(|r| r["orders"].as_u64().unwrap_or(0))
        .sum();
    if orders != shape.orders as u64 {
        return Err(miette!(
            "the workers imported {orders} orders of {}",
            shape.orders
        ));
    }
    let delivered = target.delivered()?;
    if delivered != orders {
        return Err(miette!("{orders} orders pushed but {delivered} delivered"));
    }
    let rows = target.count_rows()?;
    let ceiling = target.ceiling(rows)?;
    let mut figures = race.figures(shape, rows, &ceiling);
    figures["setup_s"] = json!(round(setup_s));
    figures["store"] = json!(target.kind());
    if let Target::Postgres(database) = &target {
        figures["database"] = json!(database.name);
    }
    if as_json {
        println!("{figures}");
    } else {
        println!(
            "\nmegasale: {orders} orders, {processes} engine processes on {}, {} commands per \
             transaction",
            target.kind(),
            shape.batch
        );
        for (key, value) in figures.as_object().into_iter().flatten() {
            println!("  {key:<32} {value}");
        }
    }
    target.remove()
}

/// The workers' run: what each reported, the wall-clock time from their common start to the last
/// one's figures, and what the workers and the server spent meanwhile.
struct Race {
    reports: Vec<Value>,
    wall: Duration,
    client_cpu_s: f64,
    server: Option<(Server, Server)>,
}

impl Race {
    /// Starts the workers, waits until each is ready, tells them all to go, and collects their
    /// figures; the workers are gone when it returns.
    fn run(
        shape: &Shape,
        target: &Target,
        plugins: Option<&Path>,
        processes: usize,
    ) -> Result<Race> {
        let mut workers = (0..processes)
            .map(|worker| {
                let share = Share { worker, processes };
                Worker::start(shape, target.location(), plugins, share)
            })
            .collect::<Result<Vec<_>>>()?;
        for worker in &mut workers {
            worker.expect_ready()?;
        }
        let server_before = target.server()?;
        let clients_before: f64 = workers.iter().map(Worker::cpu_s).sum();
        let started = Instant::now();
        for worker in &mut workers {
            worker.tell("go")?;
        }
        let reports = workers
            .iter_mut()
            .map(Worker::report)
            .collect::<Result<Vec<_>>>()?;
        let wall = started.elapsed();
        let server_after = target.server()?;
        let clients_after: f64 = workers.iter().map(Worker::cpu_s).sum();
        for worker in workers {
            worker.finish()?;
        }
        Ok(Race {
            reports,
            wall,
            client_cpu_s: clients_after - clients_before,
            server: server_before.zip(server_after),
        })
    }

    /// The run's figures against the ceiling's, for `rows` rows written.
    fn figures(&self, shape: &Shape, rows: u64, ceiling: &Ceiling) -> Value {
        let n = shape.orders as f64;
        let per_s = |x: f64, d: Duration| x / d.as_secs_f64().max(f64::MIN_POSITIVE);
        let rows_per_order = rows as f64 / n;
        let orders_per_s = per_s(n, self.wall);
        let ceiling_orders_per_s = per_s(rows as f64, ceiling.wall) / rows_per_order;
        let phase_us = |phase: &str, key: &str| {
            let s: f64 = self
                .reports
                .iter()
                .map(|r| r[phase][key].as_f64().unwrap_or(0.0))
                .sum();
            round(s * 1e6 / n)
        };
        let (push, pack) = (self.latencies("push"), self.latencies("pack"));
        let mut figures = json!({
            "orders": shape.orders,
            "processes": self.reports.len(),
            "suppliers": shape.suppliers,
            "distributors": shape.distributors,
            "batch": shape.batch,
            "orders_per_s": round(orders_per_s),
            "wall_s": round(self.wall.as_secs_f64()),
            "push_p50_ms": round(bench::percentile_ms(&push, 0.50)),
            "push_p99_ms": round(bench::percentile_ms(&push, 0.99)),
            "pack_p99_ms": round(bench::percentile_ms(&pack, 0.99)),
            "engine_cpu_us_per_order": {
                "import": phase_us("import", "cpu_s"),
                "pack": phase_us("pack", "cpu_s"),
                "push": phase_us("push", "cpu_s"),
            },
            "engine_wall_us_per_order": {
                "import": phase_us("import", "wall_s"),
                "pack": phase_us("pack", "wall_s"),
                "push": phase_us("push", "wall_s"),
            },
            "client_cpu_us_per_order": round(self.client_cpu_s * 1e6 / n),
            "rows_written": rows,
            "rows_per_order": round(rows_per_order),
            "ceiling_rows_per_s": round(per_s(rows as f64, ceiling.wall)),
            "ceiling_orders_per_s": round(ceiling_orders_per_s),
            "ratio": (orders_per_s / ceiling_orders_per_s * 1000.0).round() / 1000.0,
        });
        if let Some((before, after)) = &self.server {
            let delta = |f: fn(&Server) -> f64| f(after) - f(before);
            figures["server_cpu_us_per_order"] = json!(round(delta(|s| s.cpu_s) * 1e6 / n));
            figures["commits_per_order"] =
                json!((delta(|s| s.commits) / n * 1000.0).round() / 1000.0);
            figures["rollbacks"] = json!(delta(|s| s.rollbacks));
            figures["ceiling_server_cpu_us_per_order"] =
                json!(round(ceiling.server_cpu_s * 1e6 / n));
            figures["durability"] =
                json!(format!("synchronous_commit={}", after.synchronous_commit));
        }
        figures
    }

    /// Every worker's `phase` batches, `(latency, commands)` each.
    fn latencies(&self, phase: &str) -> Vec<(Duration, usize)> {
        let key = format!("{phase}_latencies");
        let mut all = Vec::new();
        for report in &self.reports {
            for pair in report[&key].as_array().into_iter().flatten() {
                let secs = pair[0].as_f64().unwrap_or(0.0);
                let commands = pair[1].as_u64().unwrap_or(0) as usize;
                all.push((Duration::from_secs_f64(secs), commands));
            }
        }
        all
    }
}

/// A worker process and its pipes.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    share: Share,
}

impl Worker {
    fn start(shape: &Shape, db: &Path, plugins: Option<&Path>, share: Share) -> Result<Worker> {
        let exe = std::env::current_exe().into_diagnostic()?;
        let mut command = Command::new(exe);
        command
            .args(["bench", "megasale-worker", "--db"])
            .arg(db)
            .args(["--worker", &share.worker.to_string()])
            .args(["--processes", &share.processes.to_string()])
            .args(shape.to_args());
        if let Some(plugins) = plugins {
            command.arg("--plugins").arg(plugins);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| miette!("cannot start a worker: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(miette!("a worker has no pipes"));
        };
        Ok(Worker {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            share,
        })
    }

    /// The next JSON line the worker prints.
    fn line(&mut self) -> Result<Value> {
        let mut line = String::new();
        let read = self.stdout.read_line(&mut line).into_diagnostic()?;
        if read == 0 {
            return Err(miette!(
                "worker {} stopped without its figures (its error is above)",
                self.share.worker
            ));
        }
        serde_json::from_str(&line)
            .map_err(|e| miette!("worker {} printed {line:?}: {e}", self.share.worker))
    }

    fn expect_ready(&mut self) -> Result<()> {
        match self.line()? {
            ready if ready["ready"] == json!(true) => Ok(()),
            other => Err(miette!("worker {}: {other}", self.share.worker)),
        }
    }

    fn tell(&mut self, word: &str) -> Result<()> {
        writeln!(self.stdin, "{word}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| miette!("worker {}: {e}", self.share.worker))
    }

    fn report(&mut self) -> Result<Value> {
        self.line()
    }

    /// The worker's CPU time so far, all its threads (Linux `/proc`; zero elsewhere).
    fn cpu_s(&self) -> f64 {
        process_cpu_s(self.child.id())
    }

    /// Closes the worker's standard input (it disconnects and exits) and waits for it.
    fn finish(mut self) -> Result<()> {
        drop(self.stdin);
        let status = self.child.wait().into_diagnostic()?;
        if !status.success() {
            return Err(miette!("worker {} ended {status}", self.share.worker));
        }
        Ok(())
    }
}

/// A process's user and system CPU time in seconds (Linux `/proc/PID/stat`; zero elsewhere).
fn process_cpu_s(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The command name, in parentheses, may hold spaces: count fields after its end.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / TICKS_PER_S
}

/// What the PostgreSQL server says of the bench's database: its commits and rollbacks so far,
/// and the CPU time of the server processes connected to it (the workers').
struct Server {
    commits: f64,
    rollbacks: f64,
    cpu_s: f64,
    synchronous_commit: String,
}

/// The store the sale runs on.
enum Target {
    /// A fresh SQLite file in a directory of the bench's own.
    Sqlite { dir: PathBuf, file: PathBuf },
    /// A database the bench created on a PostgreSQL server.
    Postgres(Database),
}

impl Target {
    fn create(db: Option<PathBuf>) -> Result<Target> {
        if let Some(url) = db
            .as_deref()
            .filter(|p| distributary::store::is_postgres(p))
        {
            let url = url
                .to_str()
                .ok_or_else(|| miette!("the database URL is not UTF-8"))?;
            return Ok(Target::Postgres(Database::create(url)?));
        }
        let dir = bench::tempdir_for(db.as_deref())?;
        let file = db.unwrap_or_else(|| dir.join("megasale.db"));
        if file.exists() {
            return Err(miette!(
                "{} exists: the benchmark needs a fresh store",
                file.display()
            ));
        }
        Ok(Target::Sqlite { dir, file })
    }

    fn location(&self) -> &Path {
        match self {
            Target::Sqlite { file, .. } => file,
            Target::Postgres(database) => Path::new(&database.url),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Target::Sqlite { .. } => "SQLite",
            Target::Postgres(_) => "PostgreSQL",
        }
    }

    /// The server's counters, on PostgreSQL.
    fn server(&self) -> Result<Option<Server>> {
        match self {
            Target::Sqlite { .. } => Ok(None),
            Target::Postgres(database) => database.server().map(Some),
        }
    }

    /// How many orders ended delivered (`pushed`).
    fn delivered(&self) -> Result<u64> {
        match self {
            Target::Sqlite { file, .. } => bench::orders_in(file, "pushed"),
            Target::Postgres(database) => {
                database.count("SELECT count(*) FROM orders WHERE state = $1", &[&"pushed"])
            }
        }
    }

    /// Every row in the store's tables.
    fn count_rows(&self) -> Result<u64> {
        match self {
            Target::Sqlite { file, .. } => bench::count_rows(file),
            Target::Postgres(database) => database.count_rows(),
        }
    }

    fn ceiling(&self, rows: u64) -> Result<Ceiling> {
        match self {
            Target::Sqlite { dir, .. } => {
                let spent = bench::raw_ceiling(&dir.join("ceiling.db"), rows)?;
                Ok(Ceiling {
                    wall: spent.wall,
                    server_cpu_s: 0.0,
                })
            }
            Target::Postgres(database) => database.ceiling(rows),
        }
    }

    /// Removes the store (the directory, or the database).
    fn remove(self) -> Result<()> {
        match self {
            Target::Sqlite { dir, .. } => {
                let _ = std::fs::remove_dir_all(&dir);
                Ok(())
            }
            Target::Postgres(database) => database.drop_now(),
        }
    }
}

/// The raw ceiling's time, and on PostgreSQL its server process's CPU time.
struct Ceiling {
    wall: Duration,
    server_cpu_s: f64,
}

/// A database the bench made on a PostgreSQL server, dropped when this drops (or by
/// [`Database::drop_now`], which says when it cannot).
struct Database {
    /// Where the bench connects to create and drop it.
    admin: String,
    name: String,
    url: String,
}

impl Database {
    /// A fresh database on the server `admin` names, with the bytewise collation the engine asks
    /// for; its name is the bench's process id's.
    fn create(admin: &str) -> Result<Database> {
        let name = format!("distributary_megasale_{}", std::process::id());
        let mut client = connect(admin)?;
        // One statement each: `CREATE DATABASE` refuses to run in a transaction.
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' \
                 LC_CTYPE 'C'"
            ),
        ] {
            client
                .batch_execute(&sql)
                .map_err(|e| miette!("cannot create database {name} on {admin}: {e}"))?;
        }
        Ok(Database {
            admin: admin.to_owned(),
            url: with_database(admin, &name),
            name,
        })
    }

    fn count(&self, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> Result<u64> {
        let mut client = connect(&self.url)?;
        let n: i64 = client
            .query_one(sql, params)
            .map_err(|e| miette!("{sql}: {e}"))?
            .get(0);
        Ok(n.unsigned_abs())
    }

    fn count_rows(&self) -> Result<u64> {
        let mut client = connect(&self.url)?;
        let tables = client
            .query(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
                &[],
            )
            .map_err(|e| miette!("cannot list the tables: {e}"))?;
        let mut rows = 0;
        for table in tables {
            let table: String = table.get(0);
            rows += self.count(&format!("SELECT count(*) FROM \"{table}\""), &[])?;
        }
        Ok(rows)
    }

    fn server(&self) -> Result<Server> {
        let mut client = connect(&self.url)?;
        let failed = |e: postgres::Error| miette!("cannot read the server's statistics: {e}");
        // Statistics are sent to the collector when a transaction ends: take this snapshot's.
        client
            .batch_execute("SELECT pg_stat_clear_snapshot()")
            .map_err(failed)?;
        let counters = client
            .query_one(
                "SELECT xact_commit, xact_rollback, current_setting('synchronous_commit') \
                 FROM pg_stat_database WHERE datname = current_database()",
                &[],
            )
            .map_err(failed)?;
        let pids = client
            .query(
                "SELECT pid FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .map_err(failed)?;
        let cpu_s = pids
            .iter()
            .map(|row| process_cpu_s(row.get::<_, i32>(0).unsigned_abs()))
            .sum();
        Ok(Server {
            commits: counters.get::<_, i64>(0) as f64,
            rollbacks: counters.get::<_, i64>(1) as f64,
            cpu_s,
            synchronous_commit: counters.get(2),
        })
    }

    /// The time PostgreSQL takes to write `rows` rows into one table of this database by `COPY`,
    /// [`CEILING_ROWS_PER_COPY`] rows a transaction, on one connection: no engine.
    fn ceiling(&self, rows: u64) -> Result<Ceiling> {
        let mut client = connect(&self.url)?;
        let failed = |e: postgres::Error| miette!("the ceiling's COPY failed: {e}");
        client
            .batch_execute(
                "CREATE TABLE ceiling_rows (seq BIGSERIAL PRIMARY KEY, owner TEXT NOT NULL,
                 name TEXT NOT NULL, state TEXT NOT NULL, amount TEXT NOT NULL, at TEXT NOT NULL);
                 CREATE INDEX ceiling_rows_by_owner ON ceiling_rows (owner, name);",
            )
            .map_err(failed)?;
        let pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .map_err(failed)?
            .get(0);
        let server_before = process_cpu_s(pid.unsigned_abs());
        let started = Stopwatch::start();
        let mut written = 0;
        while written < rows {
            let end = (written + CEILING_ROWS_PER_COPY).min(rows);
            let mut text = String::new();
            for i in written..end {
                text.push_str(&format!(
                    "dist{}\tshopee:MS{i:09}\tpushed\t12.40\t2026-11-27T10:00:00Z\n",
                    i % 8
                ));
            }
            let mut tx = client.transaction().map_err(failed)?;
            let mut writer = tx
                .copy_in("COPY ceiling_rows (owner, name, state, amount, at) FROM STDIN")
                .map_err(failed)?;
            writer.write_all(text.as_bytes()).into_diagnostic()?;
            writer.finish().map_err(failed)?;
            tx.commit().map_err(failed)?;
            written = end;
        }
        let spent = started.stop();
        Ok(Ceiling {
            wall: spent.wall,
            server_cpu_s: process_cpu_s(pid.unsigned_abs()) - server_before,
        })
    }

    /// Drops the database now, saying why when it cannot.
    fn drop_now(mut self) -> Result<()> {
        let dropped = self.drop_database();
        // Done: the `Drop` below has nothing left to do.
        self.name.clear();
        dropped
    }

    fn drop_database(&mut self) -> Result<()> {
        let mut admin = connect(&self.admin)?;
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .map_err(|e| miette!("cannot drop database {}: {e}", self.name))
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if !self.name.is_empty() {
            // A run that failed: its database is named for its process, harmless if left.
            let _ = self.drop_database();
        }
    }
}

fn connect(url: &str) -> Result<postgres::Client> {
    postgres::Client::connect(url, postgres::NoTls).map_err(|e| miette!("{url}: {e}"))
}

/// `url` naming database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let (address, query) = match url.split_once('?') {
        Some((address, query)) => (address, Some(query)),
        None => (url, None),
    };
    let host_start = address.find("://").map_or(0, |i| i + 3);
    let root = match address[host_start..].find('/') {
        Some(i) => &address[..host_start + i],
        None => address,
    };
    match query {
        Some(query) => format!("{root}/{name}?{query}"),
        None => format!("{root}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_is_replaced_in_the_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }

    #[test]
    fn the_distributors_are_shared_out_whole() {
        let shares: Vec<Share> = (0..3)
            .map(|worker| Share {
                worker,
                processes: 3,
            })
            .collect();
        for d in 0..10 {
            let holders = shares.iter().filter(|s| s.holds(d)).count();
            assert_eq!(holders, 1, "distributor {d}");
        }
        assert!((0..10).all(|d| Share::ALL.holds(d)));
    }

    #[test]
    fn a_process_cpu_time_is_read_from_proc() {
        let mine = process_cpu_s(std::process::id());
        if Path::new("/proc/self/stat").exists() {
            // Spin until this process has used a clock tick, then it must show.
            let started = Instant::now();
            while process_cpu_s(std::process::id()) == mine
                && started.elapsed() < Duration::from_secs(5)
            {
                std::hint::black_box((0..1_000).sum::<u64>());
            }
            assert!(process_cpu_s(std::process::id()) > mine);
        }
        assert_eq!(process_cpu_s(u32::MAX), 0.0);
    }
}
