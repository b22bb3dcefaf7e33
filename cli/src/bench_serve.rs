//! `distributary bench serve`: the mega-sale's import, pack and push over loopback HTTP, one
//! command per request from N concurrent clients (one distributor each), against a server this
//! command starts on a fresh store (127.0.0.1, a port the OS picks), each client a task with a
//! keep-alive connection of its own on one thread; then the same commands
//! through `Engine::execute_batch` in process, on another fresh store, in the same run. Both
//! runs prepare their commands before their clock starts (the request bodies, the envelopes). The
//! difference is what a network host pays: HTTP, JSON, and commits shared only as far as group
//! commit shares them.

use std::{
    net::SocketAddr,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use distributary::{
    engine::{Engine, EngineOptions},
    Envelope,
};
use distributary_server::{GroupOptions, Running, ServerOptions};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use miette::{miette, IntoDiagnostic, Result};
use serde_json::{json, Value};

use crate::bench::{self, distributor, order_shape, round, store_sku, Shape};

/// What `bench serve` runs.
pub struct Options {
    /// Concurrent HTTP clients, each a distributor of its own.
    pub clients: usize,
    /// Orders in the sale.
    pub orders: usize,
    /// Group commit on (the default) or off.
    pub group_commit: bool,
    /// Commands per transaction of the in-process comparison.
    pub batch: usize,
    /// Print one JSON object instead of a table.
    pub json: bool,
}

/// Suppliers and SKUs of the workload (small: the figure is the request path, not the data).
const SUPPLIERS: usize = 2;
const SKUS_PER_SUPPLIER: usize = 20;
/// The longest one request may take before the benchmark gives up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

pub fn run(options: Options) -> Result<()> {
    if options.clients == 0 || options.orders == 0 {
        return Err(miette!("--clients and --orders must be at least 1"));
    }
    let dir = bench::tempdir_for(None)?;
    let shape = Shape {
        orders: options.orders,
        suppliers: SUPPLIERS,
        distributors: options.clients,
        skus_per_supplier: SKUS_PER_SUPPLIER,
        batch: options.batch.max(1),
        import_chunk: 1,
        interpreted: false,
    };
    let over_http = over_http(&dir.join("serve.db"), &shape, &options);
    let in_process =
        over_http.and_then(|http| Ok((http, in_process(&dir.join("batch.db"), &shape)?)));
    let _ = std::fs::remove_dir_all(&dir);
    let (http, (batch_wall, batch_cpu)) = in_process?;
    let cpu_us_per_order = |cpu: Duration| cpu.as_secs_f64() * 1e6 / options.orders as f64;
    let per_s = |d: Duration| options.orders as f64 / d.as_secs_f64().max(f64::MIN_POSITIVE);
    let mut latencies = http.latencies;
    latencies.sort_unstable();
    let pct = |p: f64| {
        let rank = ((latencies.len().saturating_sub(1)) as f64 * p) as usize;
        latencies
            .get(rank)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let figures = json!({
        "clients": options.clients,
        "orders": options.orders,
        "requests": latencies.len(),
        "group_commit": options.group_commit,
        "orders_per_s": round(per_s(http.wall)),
        "request_p50_ms": round(pct(0.50)),
        "request_p99_ms": round(pct(0.99)),
        "mean_group_size": http.mean_group.map(round),
        "cpu_us_per_order": round(cpu_us_per_order(http.cpu)),
        "in_process_batch": options.batch,
        "in_process_orders_per_s": round(per_s(batch_wall)),
        "in_process_cpu_us_per_order": round(cpu_us_per_order(batch_cpu)),
        "percent_of_in_process": round(100.0 * per_s(http.wall) / per_s(batch_wall)),
        "durability": "synchronous=FULL",
    });
    if options.json {
        println!("{figures}");
    } else {
        println!(
            "\nbench serve: {} orders (import, pack, push: one command per request), {} clients",
            options.orders, options.clients
        );
        for (key, value) in figures.as_object().into_iter().flatten() {
            println!("  {key:<24} {value}");
        }
    }
    Ok(())
}

/// What the HTTP run measured.
struct OverHttp {
    wall: Duration,
    /// The process's CPU time meanwhile: the server's and the clients' together.
    cpu: Duration,
    latencies: Vec<Duration>,
    mean_group: Option<f64>,
}

fn open(db: &Path) -> Result<Engine> {
    let engine = Engine::open(db, EngineOptions::default())?;
    Ok(engine)
}

/// Order `n`'s three commands, as `(distributor, cmd, args)`.
fn commands(shape: &Shape, n: usize) -> [(usize, &'static str, Value); 3] {
    let (d, _, s, lines) = order_shape(shape, n);
    let sn = format!("B{n:09}");
    let order = json!({"marketplace": "shopee", "shop": "shopee-1", "order_sn": sn, "status": "ready_to_ship",
        "currency": "MYR", "address": {"country": "MY", "state": if n % 2 == 0 { "Selangor" } else { "Johor" }, "city": "KL", "postcode": "50000"},
        "lines": lines.iter().map(|(k, q)| json!({"store_sku": store_sku("shopee", s, *k), "qty": q, "unit_price": "9.90"})).collect::<Vec<_>>()});
    let name = format!("shopee:{sn}");
    [
        (
            d,
            "import_orders",
            json!({"marketplace": "shopee", "format": "canonical", "payload": [order]}),
        ),
        (d, "pack", json!({"order": name})),
        (d, "push", json!({"order": name})),
    ]
}

fn over_http(db: &Path, shape: &Shape, options: &Options) -> Result<OverHttp> {
    let engine = open(db)?;
    bench::setup(&engine, shape, options.json)?;
    let tokens = (0..options.clients)
        .map(|d| {
            let made = engine
                .execute_line(&json!({"as": "system", "cmd": "create_token", "args": {"account": distributor(d), "label": "bench"}}).to_string());
            made["result"]["token"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| miette!("no token: {made}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let server_options = ServerOptions {
        group: options.group_commit.then(GroupOptions::default),
        ..ServerOptions::default()
    };
    let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
    let server = Running::start(Arc::new(engine), loopback, server_options).into_diagnostic()?;
    let base = format!("http://{}", server.addr());
    // Every request's body is written before the clock starts, as the in-process run builds
    // its envelopes before its own.
    let requests = (0..options.clients)
        .map(|c| bodies(shape, c))
        .collect::<Vec<_>>();
    let started = Instant::now();
    let cpu_before = process_cpu();
    let latencies = drive(server.addr(), tokens, requests)?;
    let wall = started.elapsed();
    let cpu = process_cpu().saturating_sub(cpu_before);
    let metrics = agent()
        .get(format!("{base}/metrics"))
        .call()
        .and_then(|mut r| r.body_mut().read_to_string())
        .into_diagnostic()?;
    let metric = |name: &str| -> Option<f64> {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    };
    let mean_group = match (
        metric("distributary_group_commit_size_sum"),
        metric("distributary_group_commit_size_count"),
    ) {
        (Some(sum), Some(count)) if count > 0.0 => Some(sum / count),
        _ => None,
    };
    server.stop().into_diagnostic()?;
    Ok(OverHttp {
        wall,
        cpu,
        latencies,
        mean_group,
    })
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .build()
        .into()
}

/// The HTTP clients: one task and one keep-alive connection each, on a single-threaded runtime
/// of the benchmark's own (the server runs on its own runtime), so that 64 clients are 64 sockets
/// and not 64 threads competing with the server for the 2 cores. Answers the latency of every
/// request.
fn drive(
    addr: SocketAddr,
    tokens: Vec<String>,
    requests: Vec<Vec<Request>>,
) -> Result<Vec<Duration>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .into_diagnostic()?;
    runtime.block_on(async {
        let mut clients = tokio::task::JoinSet::new();
        for (token, requests) in tokens.into_iter().zip(requests) {
            clients.spawn(client(addr, token, requests));
        }
        let mut latencies = Vec::new();
        while let Some(done) = clients.join_next().await {
            latencies.extend(done.map_err(|e| miette!("a client failed: {e}"))??);
        }
        Ok(latencies)
    })
}

/// One request of a client: the order's number, the command's name and the body.
type Request = (usize, &'static str, Bytes);

/// Client `c`'s requests, in order: its distributor's orders, each imported, packed and pushed.
fn bodies(shape: &Shape, c: usize) -> Vec<Request> {
    (c..shape.orders)
        .step_by(shape.distributors)
        .flat_map(|n| {
            commands(shape, n).map(|(_, cmd, args)| {
                let body = json!({"cmd": cmd, "args": args}).to_string();
                (n, cmd, Bytes::from(body))
            })
        })
        .collect()
}

/// A client: its requests, one at a time, on one keep-alive connection.
async fn client(addr: SocketAddr, token: String, requests: Vec<Request>) -> Result<Vec<Duration>> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .into_diagnostic()?;
    stream.set_nodelay(true).into_diagnostic()?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .into_diagnostic()?;
    let driving = tokio::spawn(connection);
    let bearer = format!("Bearer {token}");
    let host = addr.to_string();
    let mut latencies = Vec::new();
    for (n, cmd, body) in requests {
        let request = hyper::Request::post("/v1/commands")
            .header(hyper::header::HOST, &host)
            .header(hyper::header::AUTHORIZATION, &bearer)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .into_diagnostic()?;
        let sent = Instant::now();
        let answered = tokio::time::timeout(REQUEST_TIMEOUT, async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let text = response.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, text))
        });
        let (status, text) = answered
            .await
            .map_err(|_| miette!("{cmd} of order {n}: no answer in {REQUEST_TIMEOUT:?}"))?
            .into_diagnostic()?;
        latencies.push(sent.elapsed());
        if status != hyper::StatusCode::OK {
            return Err(miette!(
                "{cmd} of order {n}: {}",
                String::from_utf8_lossy(&text)
            ));
        }
    }
    drop(sender);
    let _ = driving.await;
    Ok(latencies)
}

/// The CPU time of this whole process, every thread (Linux `/proc/self/stat`, in clock ticks of
/// 10 ms; zero elsewhere).
fn process_cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // The fields after the command's name, which is in parentheses and may hold spaces.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            // utime and stime, the stat file's fields 14 and 15 (this slice starts at field 3).
            let field = |i: usize| fields.get(i)?.parse::<u64>().ok();
            Some(field(11)? + field(12)?)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// The same commands in process: every import, then every pack, then every push, `batch` to a
/// transaction. The wall-clock and CPU time of the three phases.
fn in_process(db: &Path, shape: &Shape) -> Result<(Duration, Duration)> {
    let engine = open(db)?;
    bench::setup(&engine, shape, true)?;
    let all: Vec<[(usize, &str, Value); 3]> =
        (0..shape.orders).map(|n| commands(shape, n)).collect();
    let (mut spent, mut cpu) = (Duration::ZERO, Duration::ZERO);
    for phase in 0..3 {
        let envelopes = all
            .iter()
            .map(|order| {
                let (d, cmd, args) = &order[phase];
                Envelope::from_value(json!({"as": distributor(*d), "cmd": cmd, "args": args}))
                    .map_err(|e| miette!("{e}"))
            })
            .collect::<Result<Vec<_>>>()?;
        let started = Instant::now();
        let cpu_before = process_cpu();
        for chunk in envelopes.chunks(shape.batch) {
            if let Some(Err(error)) = engine.execute_batch(chunk).into_iter().find(Result::is_err) {
                return Err(miette!("in process: {error}"));
            }
        }
        spent += started.elapsed();
        cpu += process_cpu().saturating_sub(cpu_before);
    }
    Ok((spent, cpu))
}
