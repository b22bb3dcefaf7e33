//! `distributary`: the reference host of the Distributary engine. It parses arguments, calls the
//! engine, and renders what comes back; no domain logic lives here.

use std::{
    io::{self, BufRead, IsTerminal, Write},
    path::{Path, PathBuf},
    process::ExitCode,
};

mod bench;
mod bench_backtest;
mod bench_processes;
mod bench_serve;
mod demo;
mod log;
mod serve;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand, ValueEnum};
use distributary::{
    engine::{Engine, EngineOptions},
    lifecycle::{self, Installed},
    pack::{FileKind, RulePack},
    plugin_host::PluginHost,
    rules::RuleSet,
    store::{Durability, StoreOptions},
    workflow::{self, Vocabulary},
};

/// An embeddable workflow rules engine for e-commerce distribution.
#[derive(Parser)]
#[command(name = "distributary", version, about, long_about = None)]
struct Cli {
    /// What is logged to stderr, as a `RUST_LOG` filter (e.g. `info`,
    /// `distributary::rules=debug`) [default: `RUST_LOG`, else `warn`].
    #[arg(long, global = true, value_name = "FILTER", value_parser = log::filter)]
    log: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Validate a rule pack: every workflow and script, every problem at once; with `--db`, also
    /// what installing it in that store would do (nothing is written).
    Check {
        #[command(flatten)]
        rules: RulesArg,
        /// A store to check the pack against, as `reload_rules` would: the live entities'
        /// states, and the migrations it would apply.
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Run the rule tests of a rule pack (rules/tests/*.yaml).
    Test(RulesArg),
    /// Replay a candidate rule pack against a store's recorded decisions, without writing to
    /// it: how many orders each rule would decide differently, and the money delta.
    Backtest {
        /// The store to replay (opened read-only).
        #[arg(long)]
        db: PathBuf,
        /// The candidate rule pack directory.
        #[arg(long)]
        rules: PathBuf,
        /// Replay the orders charged at or after this RFC 3339 time.
        #[arg(long, value_name = "T")]
        since: Option<String>,
        /// Replay the orders charged before this RFC 3339 time.
        #[arg(long, value_name = "T")]
        until: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print a workflow as a graph.
    Graph {
        /// The workflow's name, e.g. `distribution_order`.
        workflow: String,
        /// The graph language.
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
        #[command(flatten)]
        rules: RulesArg,
    },
    /// Tell the product's story end to end on a fresh store, with the four adapters loaded.
    Demo {
        /// The SQLite file to create (default: a fresh file in the temp directory).
        #[arg(long)]
        db: Option<PathBuf>,
        /// Where the marketplace adapters are [default: beside this executable].
        #[arg(long)]
        plugins: Option<PathBuf>,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        which: BenchCmd,
    },
    /// Print the JSON Schema of a workflow file, for editors with a YAML language server.
    Schema {
        /// Print the host protocol's schema instead: every request line and the answer line
        /// to each command (docs/protocol.md is its prose).
        #[arg(long)]
        protocol: bool,
    },
    /// Speak the host protocol: one JSON request a line on stdin, one answer a line on stdout.
    Exec {
        /// The SQLite store (created if missing); `:memory:` for a throwaway one.
        #[arg(long)]
        db: PathBuf,
        #[command(flatten)]
        rules: RulesArg,
        /// Where the marketplace adapters are [default: beside this executable].
        #[arg(long)]
        plugins: Option<PathBuf>,
        /// Commit with synchronous=NORMAL: survives a process crash, but the last commits may be
        /// lost on a power cut.
        #[arg(long)]
        no_fsync: bool,
    },
    /// Serve the host protocol over HTTP (docs/protocol.md): `POST /v1/commands` with a
    /// bearer token, marketplace pushes at `POST /v1/webhooks/ACCOUNT/MARKETPLACE/SHOP`,
    /// `/healthz`, `/readyz`, `/metrics`; pulls every connected shop periodically. Stops on
    /// SIGTERM, finishing what is in flight; reloads the rules on SIGHUP.
    Serve {
        /// The SQLite store (created if missing).
        #[arg(long)]
        db: PathBuf,
        /// Where to listen, e.g. `127.0.0.1:8080` (port 0 picks one; printed on stdout).
        #[arg(long)]
        listen: std::net::SocketAddr,
        #[command(flatten)]
        rules: RulesArg,
        /// Where the marketplace adapters are [default: beside this executable].
        #[arg(long)]
        plugins: Option<PathBuf>,
        /// Commit with synchronous=NORMAL (see `exec`).
        #[arg(long)]
        no_fsync: bool,
        /// Commit every request in a transaction of its own instead of grouping them.
        #[arg(long)]
        no_group_commit: bool,
        /// The most commands committed together.
        #[arg(long, default_value_t = 256)]
        group_max: usize,
        /// The longest a request that finds no commit in progress waits for others to join its
        /// group, in microseconds.
        #[arg(long, default_value_t = 1_000)]
        group_wait_us: u64,
        /// The largest request body, in bytes.
        #[arg(long, default_value_t = distributary_server::BODY_BYTES_DEFAULT)]
        body_bytes_max: usize,
        /// The most connections served at once.
        #[arg(long, default_value_t = distributary_server::CONNECTIONS_DEFAULT)]
        connections_max: usize,
        /// Pull every connected shop's orders (and retry the push notices whose sync failed)
        /// every SECS seconds; 0 never pulls.
        #[arg(long, value_name = "SECS", default_value_t = distributary_server::PULL_INTERVAL_SECONDS_DEFAULT)]
        pull_interval: u64,
    },
    /// API tokens for `serve`, made on the machine itself.
    Token {
        #[command(subcommand)]
        which: TokenCmd,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Make a token and print it alone on one line of stdout (it is never shown again).
    #[command(group(clap::ArgGroup::new("owner").required(true).args(["system", "account"])))]
    Create {
        /// The SQLite store.
        #[arg(long)]
        db: PathBuf,
        /// A system token: it runs the setup commands and manages every account's tokens.
        #[arg(long)]
        system: bool,
        /// A token of this account instead (its main user, or `--user`).
        #[arg(long)]
        account: Option<String>,
        /// The account's sub-user the token acts as.
        #[arg(long, requires = "account")]
        user: Option<String>,
        /// What the token is for, shown by the `tokens` command.
        #[arg(long, default_value = "created on the machine")]
        label: String,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// A mega-sale through the whole engine, against the raw ceiling of the same store (SQLite's
    /// on the same disk, or PostgreSQL's `COPY` into the same database) in the same run.
    Megasale {
        #[command(flatten)]
        shape: ShapeArgs,
        /// The store: a SQLite file to create (default: a fresh file in the temp directory,
        /// removed after), or a PostgreSQL server's URL (`postgres://user@host:port/db`), where
        /// the bench creates a database of its own (`distributary_megasale_PID`, collation C) and
        /// drops it after; the URL's database is only where it connects to create it.
        #[arg(long)]
        db: Option<PathBuf>,
        /// Engine processes sharing the store, each running the orders of every Nth distributor
        /// (on PostgreSQL even one runs in a process of its own, started by this one).
        #[arg(long, default_value_t = 1)]
        processes: usize,
        /// Where the marketplace adapters are [default: beside this executable].
        #[arg(long)]
        plugins: Option<PathBuf>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One of `megasale --processes N`'s engine processes (started by it, not by hand).
    #[command(hide = true)]
    MegasaleWorker {
        #[command(flatten)]
        shape: ShapeArgs,
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        plugins: Option<PathBuf>,
        /// This worker's number, from 0.
        #[arg(long)]
        worker: usize,
        #[arg(long)]
        processes: usize,
    },
    /// The mega-sale's import, pack and push over loopback HTTP, one command per request, from
    /// concurrent clients against a server started on a fresh store; and the same commands in
    /// process, batched, in the same run.
    Serve {
        /// Concurrent clients, each a distributor of its own.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Orders in the sale.
        #[arg(long, default_value_t = 2_000)]
        orders: usize,
        /// Commit every request alone instead of grouping them.
        #[arg(long)]
        no_group_commit: bool,
        /// Commands per transaction of the in-process comparison.
        #[arg(long, default_value_t = 1_000)]
        batch: usize,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// `backtest` replaying a store of `--orders` pushed orders, against the rules' own cost
    /// per call in the same run.
    Backtest {
        /// Orders in the store.
        #[arg(long, default_value_t = 100_000)]
        orders: usize,
        /// Build the store at this path and keep it; when it already exists, replay it as it is
        /// (no build), so runs can be repeated on one store.
        #[arg(long)]
        store: Option<PathBuf>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// The mega-sale's shape (`bench::Shape`).
#[derive(clap::Args)]
struct ShapeArgs {
    /// Orders in the sale.
    #[arg(long, default_value_t = 100_000)]
    orders: usize,
    /// Suppliers, each with two warehouses.
    #[arg(long, default_value_t = 4)]
    suppliers: usize,
    /// Distributors, each partnered with every supplier.
    #[arg(long, default_value_t = 8)]
    distributors: usize,
    /// SKUs each supplier distributes.
    #[arg(long, default_value_t = 50)]
    skus: usize,
    /// Commands per transaction (`Engine::execute_batch`).
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Orders per `import_orders` payload.
    #[arg(long, default_value_t = 1_000)]
    import_chunk: usize,
    /// Run the default rules through Rhai, as an edited pack runs (see `bench.rs`).
    #[arg(long)]
    interpreted: bool,
}

impl ShapeArgs {
    fn shape(self) -> bench::Shape {
        bench::Shape {
            orders: self.orders,
            suppliers: self.suppliers,
            distributors: self.distributors,
            skus_per_supplier: self.skus,
            batch: self.batch,
            import_chunk: self.import_chunk,
            interpreted: self.interpreted,
        }
    }
}

#[derive(clap::Args)]
struct RulesArg {
    /// The rule pack directory [default: ./rules when it exists, else the built-in pack].
    #[arg(long)]
    rules: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
}

/// Exit codes: 0 success, 1 a problem in the rules or the run, 2 a usage error.
const EXIT_PROBLEM: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    log::init(cli.log.as_deref());
    let colour = io::stderr().is_terminal();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(miette::MietteHandlerOpts::new().color(colour).build())
    }));
    match run(cli) {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(EXIT_PROBLEM)
        }
    }
}

fn run(cli: Cli) -> miette::Result<ExitCode> {
    match cli.command {
        Cmd::Check { rules, db } => check(&load_pack(&rules)?, db.as_deref()),
        Cmd::Test(rules) => test(&load_pack(&rules)?),
        Cmd::Backtest {
            db,
            rules,
            since,
            until,
            json,
        } => {
            let pack = load_pack(&RulesArg { rules: Some(rules) })?;
            backtest(
                &db,
                pack,
                lifecycle::backtest::Window { since, until },
                json,
            )
        }
        Cmd::Graph {
            workflow,
            format,
            rules,
        } => graph(&load_pack(&rules)?, &workflow, format),
        Cmd::Demo { db, plugins } => demo::run(db, plugins).map(|()| ExitCode::SUCCESS),
        Cmd::Bench {
            which:
                BenchCmd::Megasale {
                    shape,
                    db,
                    processes,
                    plugins,
                    json,
                },
        } => bench::run(shape.shape(), db, plugins, processes, json).map(|()| ExitCode::SUCCESS),
        Cmd::Bench {
            which:
                BenchCmd::MegasaleWorker {
                    shape,
                    db,
                    plugins,
                    worker,
                    processes,
                },
        } => {
            let args = bench_processes::WorkerArgs {
                db,
                plugins,
                share: bench::Share { worker, processes },
            };
            bench_processes::worker(&shape.shape(), args).map(|()| ExitCode::SUCCESS)
        }
        Cmd::Bench {
            which:
                BenchCmd::Serve {
                    clients,
                    orders,
                    no_group_commit,
                    batch,
                    json,
                },
        } => bench_serve::run(bench_serve::Options {
            clients,
            orders,
            group_commit: !no_group_commit,
            batch,
            json,
        })
        .map(|()| ExitCode::SUCCESS),
        Cmd::Bench {
            which:
                BenchCmd::Backtest {
                    orders,
                    store,
                    json,
                },
        } => {
            let shape = bench::Shape {
                orders,
                suppliers: 4,
                distributors: 8,
                skus_per_supplier: 50,
                batch: 1_000,
                import_chunk: 1_000,
                interpreted: false,
            };
            bench_backtest::run(shape, store, json).map(|()| ExitCode::SUCCESS)
        }
        Cmd::Schema { protocol } => {
            let schema = if protocol {
                distributary::protocol::json_schema()
            } else {
                workflow::json_schema()
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Exec {
            db,
            rules,
            plugins,
            no_fsync,
        } => exec(&db, load_pack(&rules)?, plugins, no_fsync),
        Cmd::Serve {
            db,
            listen,
            rules,
            plugins,
            no_fsync,
            no_group_commit,
            group_max,
            group_wait_us,
            body_bytes_max,
            connections_max,
            pull_interval,
        } => {
            let grouping = serve::Grouping {
                off: no_group_commit,
                commands_max: group_max,
                wait_us: group_wait_us,
            };
            let options = engine_options(load_pack(&rules)?, plugins, no_fsync);
            serve::serve(
                &db,
                options,
                listen,
                grouping,
                serve::Bounds {
                    body_bytes_max,
                    connections_max,
                    pull_interval_seconds: pull_interval,
                },
            )
        }
        Cmd::Token {
            which:
                TokenCmd::Create {
                    db,
                    system: _,
                    account,
                    user,
                    label,
                },
        } => {
            let account = account.unwrap_or_else(|| distributary::flow::SYSTEM_ACTOR.to_owned());
            let options = engine_options(load_pack(&RulesArg { rules: None })?, None, false);
            serve::create_token(&db, options, account, user, label)
        }
    }
}

/// How `exec` and `serve` open the engine.
fn engine_options(rules: RulePack, plugins_dir: Option<PathBuf>, no_fsync: bool) -> EngineOptions {
    let durability = if no_fsync {
        Durability::Normal
    } else {
        Durability::Full
    };
    EngineOptions {
        rules,
        plugins_dir: plugins_dir.or_else(PluginHost::default_dir),
        store: StoreOptions { durability },
        auto_deliver: true,
    }
}

fn load_pack(arg: &RulesArg) -> miette::Result<RulePack> {
    let dir = match &arg.rules {
        Some(dir) => dir.clone(),
        None if Path::new("rules").is_dir() => PathBuf::from("rules"),
        None => return Ok(RulePack::embedded()),
    };
    RulePack::from_dir(&dir)
        .map_err(|e| miette::miette!("cannot read rules from {}: {e}", dir.display()))
}

fn check(pack: &RulePack, db: Option<&Path>) -> miette::Result<ExitCode> {
    let installed = match Installed::compile(pack.clone()) {
        Ok(installed) => installed,
        Err(errors) => {
            eprintln!("{:?}", miette::Report::new(errors));
            return Ok(ExitCode::from(EXIT_PROBLEM));
        }
    };
    println!(
        "ok: {} workflows, {} scripts in {} (rules version {})",
        installed.workflows.len(),
        pack.files(FileKind::Script).count(),
        pack.origin(),
        installed.version()
    );
    let Some(db) = db else {
        return Ok(ExitCode::SUCCESS);
    };
    match lifecycle::check_store(db, &installed) {
        Ok(plan) => {
            println!(
                "{}: a reload would install {} (in force: {})",
                db.display(),
                installed.version(),
                plan.in_force.as_deref().unwrap_or("none")
            );
            for (name, states) in &plan.migrated {
                for (from, count) in states {
                    let to = installed
                        .workflows
                        .get(name)
                        .and_then(|w| w.migration(from))
                        .unwrap_or("?");
                    println!("  migrate {count} {name} from `{from}` to `{to}`");
                }
            }
            if plan.migrated.is_empty() {
                println!("  no live entity moves");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!(
                "{}: refused ({}): {error}",
                db.display(),
                error.code().as_str()
            );
            print_diagnostics(&error);
            Ok(ExitCode::from(EXIT_PROBLEM))
        }
    }
}

/// Each diagnostic an error carries (`rules_invalid`'s), one per line, as editors link them.
fn print_diagnostics(error: &distributary::Error) {
    let details = error.to_json();
    for d in details["diagnostics"].as_array().into_iter().flatten() {
        let text = |key: &str| d[key].as_str().unwrap_or_default().to_owned();
        eprintln!(
            "  {}:{}:{}: {}: {}",
            text("path"),
            d["line"],
            d["column"],
            text("code"),
            text("message")
        );
    }
}

fn backtest(
    db: &Path,
    pack: RulePack,
    window: lifecycle::backtest::Window,
    json: bool,
) -> miette::Result<ExitCode> {
    let candidate = match Installed::compile(pack) {
        Ok(installed) => installed,
        Err(errors) => {
            eprintln!("{:?}", miette::Report::new(errors));
            return Ok(ExitCode::from(EXIT_PROBLEM));
        }
    };
    let bar = indicatif::ProgressBar::new(0);
    if json || !io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let report = match lifecycle::backtest(db, &candidate, &window, &mut progress) {
        Ok(report) => report,
        Err(error) => {
            bar.finish_and_clear();
            eprintln!("{}: {} ({})", db.display(), error, error.code().as_str());
            return Ok(ExitCode::from(EXIT_PROBLEM));
        }
    };
    bar.finish_and_clear();
    if report.skipped > 0 {
        eprintln!(
            "{} orders skipped: pushed before decision inputs were recorded, nothing to replay",
            report.skipped
        );
    }
    if json {
        let text = serde_json::to_string(&report)
            .map_err(|e| miette::miette!("the report does not serialise: {e}"))?;
        println!("{text}");
    } else {
        print_backtest(db, candidate.version(), &report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_backtest(db: &Path, version: &str, report: &lifecycle::backtest::Report) {
    use lifecycle::backtest::Total;
    println!(
        "{}: rules version {version} replayed on {} orders",
        db.display(),
        report.orders
    );
    let rules = &report.rules;
    println!("  fees:               {} changed", rules.fees.changed);
    println!(
        "  push_checks:        {} changed",
        rules.push_checks.changed
    );
    println!(
        "  allocate_warehouse: {} changed",
        rules.allocate_warehouse.changed
    );
    match &report.money_delta.total {
        Total::One(total) => println!("  money delta: {total}"),
        Total::PerCurrency(totals) => {
            for (currency, total) in totals {
                println!("  money delta: {total} {currency}");
            }
        }
    }
    for pair in &report.money_delta.by_pair {
        println!(
            "    {} -> {}: {}",
            pair.supplier, pair.distributor, pair.delta
        );
    }
    for d in &report.differences {
        println!(
            "  {} {} ({} -> {}): was {}, now {}",
            d.rule, d.order, d.supplier, d.distributor, d.was, d.now
        );
    }
}

fn test(pack: &RulePack) -> miette::Result<ExitCode> {
    let rules = RuleSet::compile(pack)?;
    let report = rules.run_tests(pack);
    for case in report.failures() {
        println!("FAIL {} :: {}", case.location(), case.name);
        if let Some(detail) = &case.detail {
            for line in detail.lines() {
                println!("     {line}");
            }
        }
    }
    println!("{} passed, {} failed", report.passed(), report.failed());
    Ok(if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PROBLEM)
    })
}

fn graph(pack: &RulePack, name: &str, format: GraphFormat) -> miette::Result<ExitCode> {
    let scripts = pack
        .files(FileKind::Script)
        .map(|f| f.stem.clone())
        .collect();
    let set = workflow::load(pack, &Vocabulary::engine(scripts))?;
    let Some(workflow) = set.get(name) else {
        let known: Vec<&str> = set.iter().map(|w| w.name()).collect();
        eprintln!(
            "no workflow named {name:?}; the pack has: {}",
            known.join(", ")
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    };
    let text = match format {
        GraphFormat::Dot => workflow.to_dot(),
        GraphFormat::Mermaid => workflow.to_mermaid(),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn exec(
    db: &Path,
    rules: RulePack,
    plugins_dir: Option<PathBuf>,
    no_fsync: bool,
) -> miette::Result<ExitCode> {
    let engine = Engine::open(db, engine_options(rules, plugins_dir, no_fsync))?;
    let stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    for line in stdin.lines() {
        let line = line.map_err(|e| miette::miette!("cannot read stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let _command = log::command_span(&line).entered();
        let answer = engine.execute_line(&line);
        writeln!(stdout, "{answer}")
            .and_then(|()| stdout.flush())
            .map_err(|e| miette::miette!("cannot write stdout: {e}"))?;
    }
    Ok(ExitCode::SUCCESS)
}
