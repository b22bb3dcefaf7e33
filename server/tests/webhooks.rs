//! Marketplace pushes over real HTTP on loopback: the three documented test vectors
//! (docs/marketplaces.md, "Push notifications") accepted with an empty 200 and stored, their
//! orders then fetched from a loopback stand-in of the marketplaces and imported; a changed byte
//! or a missing signature refused with 401 and nothing stored; an unknown account or shop 404
//! alike; a repeat changing nothing; Temu refused as unsupported; and the periodic pull, which
//! syncs every connected shop and retries a notice whose sync failed.
//!
//! The adapters are the real libraries, built once with cargo (as engine/tests/shops_sync.rs
//! does). The notices are counted by reading the store's table directly (a test is a host of
//! SQLite, not of the engine).

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::Command,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, OnceLock,
    },
    time::{Duration, Instant},
};

use distributary::{
    store::{Durability, StoreOptions},
    Engine, EngineOptions,
};
use distributary_server::{Running, ServerOptions};
use serde_json::{json, Value};

const ADAPTERS: [&str; 4] = [
    "distributary-adapter-shopee",
    "distributary-adapter-lazada",
    "distributary-adapter-tiktok-shop",
    "distributary-adapter-temu",
];
/// How long a test waits for what a background task does.
const WAIT_MAX: Duration = Duration::from_secs(60);

/// One documented vector: the shop it is for, its body and its signature.
struct Vector {
    marketplace: &'static str,
    shop: &'static str,
    credentials: fn() -> Value,
    push_url: Option<&'static str>,
    body: &'static str,
    signature: &'static str,
    order: &'static str,
}

const SHOPEE: Vector = Vector {
    marketplace: "shopee",
    shop: "sp1",
    credentials: || {
        json!({"partner_id": 2001887, "partner_key": "partner-key-123", "shop_id": 601234,
               "access_token": "tok"})
    },
    push_url: Some("https://erp.example.com/v1/webhooks/shopee/sp1"),
    body: r#"{"data":{"ordersn":"2611270ABCDE","status":"CANCELLED","update_time":1764230400},"shop_id":601234,"code":3,"timestamp":1764230401}"#,
    signature: "fc525b34511375373a8e2c49e9ed7c14438bb17a4946029038779ec1046fe9c4",
    order: "shopee:2611270ABCDE",
};

const LAZADA: Vector = Vector {
    marketplace: "lazada",
    shop: "lz1",
    credentials: || json!({"app_key": "123456", "app_secret": "lz-secret-456", "access_token": "tok"}),
    push_url: None,
    body: r#"{"seller_id":"1000114855","message_type":0,"data":{"order_status":"canceled","trade_order_id":"300101","trade_order_line_id":"300101001","status_update_time":1764230400},"timestamp":1764230401000,"site":"lazada_my"}"#,
    signature: "f59bce87ca29114384230d77d11adaf6f426ac16a74f0cccca98a178f1be7868",
    order: "lazada:300101",
};

const TIKTOK: Vector = Vector {
    marketplace: "tiktok_shop",
    shop: "tt1",
    credentials: || {
        json!({"app_key": "tt-app-key", "app_secret": "tt-secret-789", "access_token": "tok",
               "shop_cipher": "cipher"})
    },
    push_url: None,
    body: r#"{"type":1,"tts_notification_id":"7327112393057371910","shop_id":"7494049642642441621","timestamp":1764230401,"data":{"order_id":"576461400000201","order_status":"CANCELLED","update_time":1764230400}}"#,
    signature: "a288a70f27b392383b82dba5f1aeb6cb62b248232f1c0b227efc1247bb5b98e5",
    order: "tiktok_shop:576461400000201",
};

// ---------------------------------------------------------------- adapters

fn adapter_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let mut command = Command::new(cargo);
        command.args([
            "build",
            "--quiet",
            "--message-format=json",
            "--manifest-path",
        ]);
        command.arg(&manifest);
        for adapter in ADAPTERS {
            command.args(["-p", adapter]);
        }
        let output = command.output().expect("cargo builds the adapters");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let dir = tempfile::tempdir().unwrap();
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let Ok(message) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let name = message["target"]["name"].as_str().unwrap_or_default();
            if message["reason"] != "compiler-artifact" || !name.starts_with("distributary_adapter")
            {
                continue;
            }
            for file in message["filenames"].as_array().into_iter().flatten() {
                let file = PathBuf::from(file.as_str().unwrap());
                if file
                    .to_string_lossy()
                    .ends_with(std::env::consts::DLL_SUFFIX)
                {
                    std::fs::copy(&file, dir.path().join(file.file_name().unwrap())).unwrap();
                }
            }
        }
        dir
    })
    .path()
}

// ---------------------------------------------------------------- the marketplaces' stand-in

/// A loopback stand-in answering the three marketplaces' order-detail calls (and Shopee's order
/// list, which names `SP-PULLED`) with the documented shapes; every path it was asked is kept.
struct StandIn {
    url: String,
    asked: Arc<Mutex<Vec<String>>>,
    /// While set, every answer is 403 (a marketplace refusing the request).
    refusing: Arc<AtomicBool>,
}

impl StandIn {
    fn start() -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let asked = Arc::new(Mutex::new(Vec::new()));
        let refusing = Arc::new(AtomicBool::new(false));
        let (seen, refuse) = (asked.clone(), refusing.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (path, query) = read_request(&stream);
                seen.lock().unwrap().push(path.clone());
                let (status, body) = if refuse.load(Ordering::SeqCst) {
                    (
                        403,
                        json!({"error": "refused", "message": "no"}).to_string(),
                    )
                } else {
                    answer(&path, &query)
                };
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        StandIn {
            url,
            asked,
            refusing,
        }
    }

    fn asked(&self, path: &str) -> usize {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }
}

/// Reads one request: its path and query parameters (the body is read and dropped).
fn read_request(stream: &TcpStream) -> (String, BTreeMap<String, String>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    let target = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("%2C", ",")))
        .collect();
    (path.to_owned(), query)
}

fn answer(path: &str, query: &BTreeMap<String, String>) -> (u16, String) {
    let param = |name: &str| query.get(name).cloned().unwrap_or_default();
    match path {
        "/api/v2/order/get_order_list" => (
            200,
            json!({"error": "", "message": "", "request_id": "r", "response": {"more": false,
                   "next_cursor": "", "order_list": [{"order_sn": "SP-PULLED"}]}})
            .to_string(),
        ),
        "/api/v2/order/get_order_detail" => {
            let orders: Vec<Value> = param("order_sn_list")
                .split(',')
                .map(|sn| {
                    json!({"order_sn": sn, "region": "MY", "currency": "MYR",
                       "total_amount": 19.0, "order_status": "READY_TO_SHIP",
                       "create_time": 1, "update_time": 2,
                       "recipient_address": {"name": "n", "phone": "p", "town": "",
                           "district": "", "city": "KL", "state": "Selangor", "region": "MY",
                           "zipcode": "50000", "full_address": "1 Jalan"},
                       "item_list": [{"item_id": 1, "item_name": "Mug", "item_sku": "SP-MUG",
                           "model_id": 0, "model_sku": "", "model_quantity_purchased": 1,
                           "model_original_price": 10.0, "model_discounted_price": 9.5,
                           "order_item_id": 1}]})
                })
                .collect();
            (
                200,
                json!({"error": "", "message": "", "request_id": "r",
                       "response": {"order_list": orders}})
                .to_string(),
            )
        }
        "/order/items/get" => (
            200,
            json!({"code": "0", "request_id": "r", "data": [{"order_item_id": 1,
                   "order_id": param("order_id"), "sku": "LZ-MUG", "shop_sku": "s",
                   "sku_id": "9", "name": "Mug", "item_price": "10.00", "paid_price": "9.00",
                   "currency": "MYR", "status": "pending"}]})
            .to_string(),
        ),
        "/order/202309/orders" => {
            let orders: Vec<Value> = param("ids")
                .split(',')
                .map(|id| {
                    json!({"id": id, "status": "AWAITING_SHIPMENT", "update_time": 1,
                       "payment": {"currency": "MYR", "total_amount": "10.00"},
                       "recipient_address": {"region_code": "MY", "postal_code": "50000"},
                       "line_items": [{"seller_sku": "TT-MUG", "sale_price": "10.00",
                                       "currency": "MYR"}]})
                })
                .collect();
            (
                200,
                json!({"code": 0, "message": "Success", "request_id": "r",
                       "data": {"orders": orders}})
                .to_string(),
            )
        }
        _ => (404, "{}".to_owned()),
    }
}

// ---------------------------------------------------------------- the server

/// A server over an engine with the four adapters, account `acme` a distributor, and the
/// stand-in; the engine is kept to read what the pushes did.
struct World {
    engine: Arc<Engine>,
    server: Running,
    stand_in: StandIn,
    agent: ureq::Agent,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

impl World {
    fn start(pull_interval: Option<Duration>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("store.db");
        let options = EngineOptions {
            plugins_dir: Some(adapter_dir().to_owned()),
            store: StoreOptions {
                durability: Durability::Normal,
            },
            ..EngineOptions::default()
        };
        let engine = Arc::new(Engine::open(&db, options).unwrap());
        let world_engine = engine.clone();
        let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let server_options = ServerOptions {
            pull_interval,
            ..ServerOptions::default()
        };
        let server = Running::start(engine, loopback, server_options).unwrap();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let world = World {
            engine: world_engine,
            server,
            stand_in: StandIn::start(),
            agent,
            db,
            _dir: dir,
        };
        world.ok(
            "system",
            "create_account",
            json!({"account": "acme", "plan": "V1", "inventory": true, "currency": "MYR"}),
        );
        world
    }

    fn ok(&self, actor: &str, cmd: &str, args: Value) -> Value {
        let line = json!({"as": actor, "cmd": cmd, "args": args});
        let answer = self.engine.execute_line(&line.to_string());
        assert_eq!(answer["ok"], true, "{cmd}: {answer}");
        answer["result"].clone()
    }

    fn connect(&self, vector: &Vector) {
        let mut args = json!({"marketplace": vector.marketplace, "shop": vector.shop,
                              "base_url": self.stand_in.url,
                              "credentials": (vector.credentials)()});
        if let Some(url) = vector.push_url {
            args["push_url"] = Value::from(url);
        }
        self.ok("acme", "connect_shop", args);
    }

    /// POSTs a push: the status and the body's text.
    fn push(&self, path: &str, signature: Option<&str>, body: &str) -> (u16, String) {
        let url = format!("http://{}{path}", self.server.addr());
        let mut request = self.agent.post(&url);
        if let Some(signature) = signature {
            request = request.header("Authorization", signature);
        }
        let mut response = request.content_type("application/json").send(body).unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    }

    fn push_vector(&self, vector: &Vector, body: &str) -> (u16, String) {
        let path = format!("/v1/webhooks/acme/{}/{}", vector.marketplace, vector.shop);
        self.push(&path, Some(vector.signature), body)
    }

    fn orders(&self) -> Vec<String> {
        let orders = self.ok("acme", "orders", json!({}));
        orders["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["order"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The stored notices: `(marketplace, processed, attempts)` each, in arrival order.
    fn notices(&self) -> Vec<(String, bool, i64)> {
        let conn = rusqlite::Connection::open_with_flags(
            &self.db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let mut statement = conn
            .prepare(
                "SELECT marketplace, processed_at IS NOT NULL, attempts FROM push_notices \
                 ORDER BY seq",
            )
            .unwrap();
        statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn metric(&self, series: &str) -> f64 {
        let url = format!("http://{}/metrics", self.server.addr());
        let text = self
            .agent
            .get(&url)
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |value| value.parse().unwrap())
    }
}

/// Waits until `done` holds, at most [`WAIT_MAX`].
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < WAIT_MAX, "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------- tests

#[test]
fn the_three_vectors_are_accepted_stored_and_their_orders_imported() {
    let world = World::start(None);
    for vector in [&SHOPEE, &LAZADA, &TIKTOK] {
        world.connect(vector);
        let (status, body) = world.push_vector(vector, vector.body);
        assert_eq!((status, body.as_str()), (200, ""), "{}", vector.marketplace);
    }
    eventually("the three pushed orders imported", || {
        let orders = world.orders();
        [SHOPEE.order, LAZADA.order, TIKTOK.order]
            .iter()
            .all(|o| orders.iter().any(|have| have == o))
    });
    eventually("the three notices processed", || {
        world.notices().iter().filter(|n| n.1).count() == 3
    });
    let stored: Vec<String> = world.notices().into_iter().map(|n| n.0).collect();
    assert_eq!(stored, ["shopee", "lazada", "tiktok_shop"]);
    // Only the named orders were fetched: no listing.
    assert_eq!(world.stand_in.asked("/api/v2/order/get_order_list"), 0);
    for marketplace in ["shopee", "lazada", "tiktok_shop"] {
        let series = |outcome: &str| {
            format!("distributary_webhooks_total{{marketplace=\"{marketplace}\",outcome=\"{outcome}\"}}")
        };
        assert_eq!(world.metric(&series("accepted")), 1.0, "{marketplace}");
        eventually("the sync counted", || {
            world.metric(&series("synced")) == 1.0
        });
    }
    // The shop shows its push URL.
    let shops = world.ok("acme", "shops", json!({}));
    assert_eq!(
        shops["shops"][1]["push_url"],
        SHOPEE.push_url.unwrap(),
        "{shops}"
    );
    assert_eq!(shops["shops"][0]["push_url"], Value::Null, "{shops}");
}

#[test]
fn a_changed_byte_or_no_signature_is_refused_and_stores_nothing() {
    let world = World::start(None);
    for vector in [&SHOPEE, &LAZADA, &TIKTOK] {
        world.connect(vector);
        let mut changed = vector.body.as_bytes().to_vec();
        let at = changed.len() / 2;
        changed[at] ^= 0x01;
        let changed = String::from_utf8(changed).unwrap();
        let (status, body) = world.push_vector(vector, &changed);
        let answer: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(status, 401, "{}: {body}", vector.marketplace);
        assert_eq!(answer["error"]["code"], "unauthenticated", "{body}");
        let path = format!("/v1/webhooks/acme/{}/{}", vector.marketplace, vector.shop);
        assert_eq!(world.push(&path, None, vector.body).0, 401);
    }
    // Shopee signs the callback URL: the vector's signature does not hold for the URL the
    // request arrived at, so a shop without `push_url` refuses it.
    world.ok(
        "acme",
        "connect_shop",
        json!({"marketplace": "shopee", "shop": "sp1", "base_url": world.stand_in.url,
               "credentials": (SHOPEE.credentials)()}),
    );
    assert_eq!(world.push_vector(&SHOPEE, SHOPEE.body).0, 401);
    // An unknown shop and an unknown account answer alike, and say no more than the shop.
    let (status, unknown_shop) = world.push(
        "/v1/webhooks/acme/shopee/sp9",
        Some(SHOPEE.signature),
        SHOPEE.body,
    );
    assert_eq!(status, 404, "{unknown_shop}");
    let (status, unknown_account) = world.push(
        "/v1/webhooks/nobody/shopee/sp9",
        Some(SHOPEE.signature),
        SHOPEE.body,
    );
    assert_eq!((status, &unknown_account), (404, &unknown_shop));
    let answer: Value = serde_json::from_str(&unknown_shop).unwrap();
    assert_eq!(answer["error"]["code"], "not_found", "{unknown_shop}");
    assert!(world.notices().is_empty(), "{:?}", world.notices());
    assert!(world.orders().is_empty());
    assert!(world.stand_in.asked.lock().unwrap().is_empty());
    assert_eq!(
        world.metric(
            "distributary_webhooks_total{marketplace=\"lazada\",outcome=\"unauthenticated\"}"
        ),
        2.0
    );
}

#[test]
fn a_repeated_notice_changes_nothing() {
    let world = World::start(None);
    world.connect(&SHOPEE);
    assert_eq!(world.push_vector(&SHOPEE, SHOPEE.body).0, 200);
    eventually("the notice processed", || {
        world.notices() == [("shopee".to_owned(), true, 0)]
    });
    let fetched = world.stand_in.asked("/api/v2/order/get_order_detail");
    assert_eq!(fetched, 1);
    let order = world.ok("acme", "order", json!({"order": SHOPEE.order}));
    let (status, body) = world.push_vector(&SHOPEE, SHOPEE.body);
    assert_eq!((status, body.as_str()), (200, ""));
    // The repeat was answered after the engine found its key stored: no sync was started.
    assert_eq!(world.notices(), [("shopee".to_owned(), true, 0)]);
    assert_eq!(
        world.stand_in.asked("/api/v2/order/get_order_detail"),
        fetched
    );
    assert_eq!(
        world.ok("acme", "order", json!({"order": SHOPEE.order})),
        order
    );
    assert_eq!(
        world.metric("distributary_webhooks_total{marketplace=\"shopee\",outcome=\"duplicate\"}"),
        1.0
    );
}

#[test]
fn temu_pushes_are_unsupported() {
    let world = World::start(None);
    world.ok(
        "acme",
        "connect_shop",
        json!({"marketplace": "temu", "shop": "t1", "base_url": world.stand_in.url,
               "credentials": {"app_key": "k", "app_secret": "s", "access_token": "t"}}),
    );
    let (status, body) = world.push("/v1/webhooks/acme/temu/t1", Some("00"), "{}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (status, &answer["error"]["code"]),
        (404, &json!("not_found")),
        "{body}"
    );
    assert!(world.notices().is_empty());
}

#[test]
fn the_pull_syncs_every_shop_and_retries_a_failed_notice() {
    let world = World::start(Some(Duration::from_secs(1)));
    world.connect(&SHOPEE);
    world.stand_in.refusing.store(true, Ordering::SeqCst);
    assert_eq!(world.push_vector(&SHOPEE, SHOPEE.body).0, 200);
    eventually("the notice's sync failed at least once", || {
        world.notices().first().is_some_and(|n| !n.1 && n.2 >= 1)
    });
    assert!(world.orders().is_empty());
    world.stand_in.refusing.store(false, Ordering::SeqCst);
    eventually("the pull retried the notice and pulled the shop", || {
        let orders = world.orders();
        orders.iter().any(|o| o == SHOPEE.order) && orders.iter().any(|o| o == "shopee:SP-PULLED")
    });
    eventually("the notice processed", || {
        world.notices().first().is_some_and(|n| n.1)
    });
    assert!(world.metric("distributary_pull_total{outcome=\"shop_synced\"}") >= 1.0);
    assert!(world.metric("distributary_pull_total{outcome=\"notice_processed\"}") >= 1.0);
    let shops = world.ok("acme", "shops", json!({}));
    assert!(shops["shops"][0]["synced_to"].is_string(), "{shops}");
}
