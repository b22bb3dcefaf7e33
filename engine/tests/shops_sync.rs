//! Shops against loopback stand-ins of the four marketplaces: `connect_shop`, `sync_orders` and
//! `sync_stock` through the real adapter libraries (built once with `cargo build -p <adapter>
//! --message-format=json`, paths read from cargo's report) and the host's HTTP client. Each
//! stand-in verifies every request's signature the documented way (docs/marketplaces.md) with the
//! secret it was given, and answers the marketplace's documented shapes, or its bad-signature
//! error when the signature does not verify.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use distributary::engine::{Engine, EngineOptions};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde_json::{json, Value};
use sha2::Sha256;

const ADAPTERS: [&str; 4] = [
    "distributary-adapter-shopee",
    "distributary-adapter-lazada",
    "distributary-adapter-tiktok-shop",
    "distributary-adapter-temu",
];
const SECRET: &str = "s3cr3t-partner-key-0042";
const TOKEN: &str = "tok-abcdef-123456";
const AT: &str = "2026-11-27T10:00:00Z";
/// The most bytes a stand-in reads of one request.
const REQUEST_BYTES_MAX: usize = 1 << 20;

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
        let output = command
            .output()
            .expect("cannot run cargo to build the adapters");
        assert!(
            output.status.success(),
            "building the adapters failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let dir = tempfile::tempdir().unwrap();
        let mut copied = 0;
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
                    copied += 1;
                }
            }
        }
        assert_eq!(
            copied, 4,
            "expected the four adapter libraries from cargo's report"
        );
        dir
    })
    .path()
}

fn engine() -> Engine {
    super_engine()
}

/// An engine with the four adapters, under a second name for tests that hold one already.
fn super_engine() -> Engine {
    let options = EngineOptions {
        plugins_dir: Some(adapter_dir().to_owned()),
        ..EngineOptions::default()
    };
    Engine::open(Path::new(":memory:"), options).unwrap()
}

fn exec(engine: &Engine, actor: &str, cmd: &str, args: Value) -> Value {
    let line = json!({"id": "t", "as": actor, "at": AT, "cmd": cmd, "args": args});
    engine.execute_line(&line.to_string())
}

fn ok(engine: &Engine, actor: &str, cmd: &str, args: Value) -> Value {
    let answer = exec(engine, actor, cmd, args);
    assert_eq!(answer["ok"], true, "{cmd}: {answer}");
    answer["result"].clone()
}

fn distributor(engine: &Engine) {
    ok(
        engine,
        "system",
        "create_account",
        json!({"account": "dis", "plan": "V1", "inventory": true, "currency": "SGD"}),
    );
}

// ---------------------------------------------------------------- the stand-in

/// One request as the stand-in read it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: BTreeMap<String, String>,
    body: String,
}

impl Request {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the stand-in does besides answering well.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Good,
    /// Detail answers are not JSON.
    GarbledDetail,
    /// The first `n` requests answer 503.
    Unavailable(usize),
    /// Stock updates answer HTTP 200 with this body (a refusal the marketplace documents inside a
    /// 2xx answer).
    StockAnswer(&'static str),
}

type Handler = fn(&Request, &str) -> (u16, String);

struct StandIn {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    mode: Arc<Mutex<Mode>>,
}

impl StandIn {
    /// Serves `handler` on 127.0.0.1, verifying signatures with `secret`; the thread lives as
    /// long as the test process.
    fn start(handler: Handler, secret: &'static str) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let mode = Arc::new(Mutex::new(Mode::Good));
        let (seen, mode_of) = (requests.clone(), mode.clone());
        let served = Arc::new(AtomicUsize::new(0));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let n = served.fetch_add(1, Ordering::SeqCst);
                let mode = *mode_of.lock().unwrap();
                serve(stream, |request| {
                    seen.lock().unwrap().push(request.clone());
                    match mode {
                        Mode::Unavailable(failing) if n < failing => {
                            (503, "<html>busy</html>".to_owned())
                        }
                        Mode::GarbledDetail if is_detail(request) => {
                            (200, "<html>oops</html>".to_owned())
                        }
                        Mode::StockAnswer(body) if request.path.contains("stock") => {
                            (200, body.to_owned())
                        }
                        _ => handler(request, secret),
                    }
                });
            }
        });
        StandIn {
            url,
            requests,
            mode,
        }
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn is_detail(request: &Request) -> bool {
    request.path.contains("detail")
        || request.path.contains("items")
        || (request.method == "GET" && request.path == "/order/202309/orders")
        || request.body.contains("bg.order.detail")
}

/// Reads one HTTP/1.1 request, answers it, closes the connection.
fn serve(stream: TcpStream, answer: impl FnOnce(&Request) -> (u16, String)) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0)
        .min(REQUEST_BYTES_MAX);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect();
    let request = Request {
        method,
        path: path.to_owned(),
        query,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let (status, text) = answer(&request);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

fn hmac_sha256(key: &str, text: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(text.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// `name + value` of every query parameter but the excluded ones, sorted by name.
fn sorted_pairs(query: &[(String, String)], exclude: &[&str]) -> String {
    let mut pairs: Vec<_> = query
        .iter()
        .filter(|(k, _)| !exclude.contains(&k.as_str()))
        .collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}{v}")).collect()
}

// ---------------------------------------------------------------- the four marketplaces

fn shopee(request: &Request, secret: &str) -> (u16, String) {
    let base = format!(
        "{}{}{}{}{}",
        request.param("partner_id").unwrap_or_default(),
        request.path,
        request.param("timestamp").unwrap_or_default(),
        request.param("access_token").unwrap_or_default(),
        request.param("shop_id").unwrap_or_default()
    );
    if request.param("sign") != Some(hmac_sha256(secret, &base).as_str()) {
        return (
            403,
            json!({"error": "error_sign", "message": "Wrong sign.", "request_id": "r"}).to_string(),
        );
    }
    let item = |sku: &str, qty: u32| {
        json!({"item_id": 1, "item_name": "x", "item_sku": sku, "model_id": 0, "model_sku": "",
               "model_quantity_purchased": qty, "model_original_price": 10.0,
               "model_discounted_price": 9.5, "order_item_id": 1, "extra": true})
    };
    let order = |sn: &str, sku: &str| {
        json!({"order_sn": sn, "region": "SG", "currency": "SGD", "total_amount": 19.0,
               "order_status": "READY_TO_SHIP", "create_time": 1, "update_time": 2,
               "recipient_address": {"name": "n", "phone": "p", "town": "", "district": "",
                   "city": "Singapore", "state": "Central", "region": "SG", "zipcode": "238823",
                   "full_address": "1 Orchard Road"},
               "item_list": [item(sku, 2)]})
    };
    match request.path.as_str() {
        "/api/v2/order/get_order_list" => {
            let (more, next, sn) = match request.param("cursor").unwrap_or_default() {
                "" => (true, "20", "SP1"),
                _ => (false, "", "SP2"),
            };
            (
                200,
                json!({"error": "", "message": "", "request_id": "r", "response": {"more": more,
                       "next_cursor": next, "order_list": [{"order_sn": sn}]}})
                .to_string(),
            )
        }
        "/api/v2/order/get_order_detail" => {
            let list: Vec<Value> = request
                .param("order_sn_list")
                .unwrap_or_default()
                .split(',')
                .map(|sn| order(sn, "SP-MUG"))
                .collect();
            (
                200,
                json!({"error": "", "message": "", "request_id": "r",
                       "response": {"order_list": list}})
                .to_string(),
            )
        }
        "/api/v2/product/update_stock" => (
            200,
            json!({"error": "", "message": "", "request_id": "r", "response": {}}).to_string(),
        ),
        _ => (404, "{}".to_owned()),
    }
}

fn lazada(request: &Request, secret: &str) -> (u16, String) {
    let base = format!(
        "{}{}",
        request.path,
        sorted_pairs(&request.query, &["sign"])
    );
    if request.param("sign") != Some(hmac_sha256(secret, &base).to_uppercase().as_str()) {
        return (
            200,
            json!({"type": "ISV", "code": "IncompleteSignature",
                   "message": "The request signature does not conform to platform standards",
                   "request_id": "r"})
            .to_string(),
        );
    }
    match request.path.as_str() {
        "/orders/get" => {
            let id = match request.param("offset").unwrap_or_default() {
                "0" => "16090",
                _ => "16091",
            };
            (
                200,
                json!({"code": "0", "data": {"count": 1, "countTotal": 2, "orders": [
                    {"order_id": id, "statuses": ["pending"], "price": "9.00"}]},
                    "request_id": "r"})
                .to_string(),
            )
        }
        "/order/items/get" => {
            let id = request.param("order_id").unwrap_or_default();
            let row = |n: u32| {
                json!({"order_item_id": n, "order_id": id, "sku": "LZ-MUG", "shop_sku": "s",
                       "sku_id": "9", "name": "Mug", "item_price": "10.00",
                       "paid_price": "9.00", "currency": "SGD", "status": "pending"})
            };
            (
                200,
                json!({"code": "0", "data": [row(1), row(2)], "request_id": "r"}).to_string(),
            )
        }
        _ => (404, "{}".to_owned()),
    }
}

fn tiktok(request: &Request, secret: &str) -> (u16, String) {
    let base = format!(
        "{secret}{}{}{}{secret}",
        request.path,
        sorted_pairs(&request.query, &["sign", "access_token"]),
        request.body
    );
    let token = request
        .headers
        .get("x-tts-access-token")
        .map(String::as_str);
    if request.param("sign") != Some(hmac_sha256(secret, &base).as_str()) || token != Some(TOKEN) {
        return (
            200,
            json!({"code": 36009004, "message": "Invalid signature", "request_id": "r",
                   "data": null})
            .to_string(),
        );
    }
    let whole = |id: &str| {
        json!({"id": id, "status": "AWAITING_SHIPMENT", "update_time": 1,
               "payment": {"currency": "SGD", "total_amount": "10.00"},
               "recipient_address": {"region_code": "SG", "postal_code": "018956"},
               "line_items": [{"seller_sku": "TT-MUG", "sale_price": "10.00", "currency": "SGD"},
                              {"seller_sku": "TT-MUG", "sale_price": "10.00", "currency": "SGD"}]})
    };
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/order/202309/orders/search") => {
            let data = match request.param("page_token") {
                None => {
                    json!({"next_page_token": "p2", "total_count": 2, "orders": [whole("800")]})
                }
                Some(_) => json!({"next_page_token": "", "total_count": 2, "orders": [
                    {"id": "801", "status": "AWAITING_SHIPMENT",
                     "line_items": [{"sku_id": "1", "seller_sku": ""}]}]}),
            };
            (
                200,
                json!({"code": 0, "message": "Success", "request_id": "r", "data": data})
                    .to_string(),
            )
        }
        ("GET", "/order/202309/orders") => {
            let orders: Vec<Value> = request
                .param("ids")
                .unwrap_or_default()
                .split(',')
                .map(whole)
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

fn temu(request: &Request, secret: &str) -> (u16, String) {
    let Ok(Value::Object(params)) = serde_json::from_str::<Value>(&request.body) else {
        return (
            200,
            json!({"success": false, "errorCode": 4000000}).to_string(),
        );
    };
    let mut names: Vec<&String> = params.keys().filter(|k| *k != "sign").collect();
    names.sort();
    let mut md5 = Md5::new();
    md5.update(secret.as_bytes());
    for name in names {
        let value = match &params[name] {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        md5.update(format!("{name}{value}").as_bytes());
    }
    md5.update(secret.as_bytes());
    let expected = hex::encode_upper(md5.finalize());
    if params.get("sign").and_then(Value::as_str) != Some(expected.as_str()) {
        return (
            200,
            json!({"success": false, "errorCode": 3000001, "errorMsg": "sign error",
                   "requestId": "r"})
            .to_string(),
        );
    }
    let parent = |sn: &str| {
        json!({"parentOrderMap": {"parentOrderSn": sn, "parentOrderStatus": 2,
                   "parentOrderTime": 1, "updateTime": 2},
               "orderList": [{"orderSn": format!("{sn}-1"), "goodsId": 6, "goodsName": "Mug",
                   "skuId": 1759, "orderStatus": 2, "quantity": 3}]})
    };
    match params.get("type").and_then(Value::as_str) {
        Some("bg.order.list.v2.get") => (
            200,
            json!({"success": true, "errorCode": 1000000, "errorMsg": "", "requestId": "r",
                   "result": {"totalItemNum": 2,
                              "pageItems": [parent("PO-211-1"), parent("PO-211-2")]}})
            .to_string(),
        ),
        _ => (
            200,
            json!({"success": true, "errorCode": 1000000, "result": {}}).to_string(),
        ),
    }
}

/// A marketplace: its stand-in, its credentials (with `secret` as the signing secret), and the
/// order names a sync imports.
struct Market {
    name: &'static str,
    handler: Handler,
    orders: [&'static str; 2],
}

const MARKETS: [Market; 4] = [
    Market {
        name: "shopee",
        handler: shopee,
        orders: ["shopee:SP1", "shopee:SP2"],
    },
    Market {
        name: "lazada",
        handler: lazada,
        orders: ["lazada:16090", "lazada:16091"],
    },
    Market {
        name: "tiktok_shop",
        handler: tiktok,
        orders: ["tiktok_shop:800", "tiktok_shop:801"],
    },
    Market {
        name: "temu",
        handler: temu,
        orders: ["temu:PO-211-1", "temu:PO-211-2"],
    },
];

fn credentials(marketplace: &str, secret: &str) -> Value {
    match marketplace {
        "shopee" => json!({"partner_id": 2001887, "partner_key": secret, "shop_id": 777,
                           "access_token": TOKEN}),
        "tiktok_shop" => json!({"app_key": "29a39d", "app_secret": secret,
                                "access_token": TOKEN, "shop_cipher": "cipher"}),
        _ => json!({"app_key": "app-key-1", "app_secret": secret, "access_token": TOKEN}),
    }
}

fn connect(engine: &Engine, market: &str, url: &str, secret: &str) {
    ok(
        engine,
        "dis",
        "connect_shop",
        json!({"marketplace": market, "shop": "s1", "base_url": url,
               "credentials": credentials(market, secret)}),
    );
}

fn order_names(engine: &Engine) -> Vec<String> {
    let orders = ok(engine, "dis", "orders", json!({}));
    let mut names: Vec<String> = orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------- tests

#[test]
fn plugins_lists_the_four_adapters() {
    let engine = engine();
    distributor(&engine);
    let plugins = ok(&engine, "dis", "plugins", json!({}));
    let mut names: Vec<&str> = plugins["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["marketplace"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["lazada", "shopee", "temu", "tiktok_shop"]);
    assert_eq!(plugins["refused"], json!([]));
}

#[test]
fn every_marketplace_syncs_its_orders_and_a_second_sync_creates_none() {
    for market in &MARKETS {
        let stand_in = StandIn::start(market.handler, SECRET);
        let engine = engine();
        distributor(&engine);
        connect(&engine, market.name, &stand_in.url, SECRET);
        let first = ok(
            &engine,
            "dis",
            "sync_orders",
            json!({"marketplace": market.name, "shop": "s1"}),
        );
        assert_eq!(first["imported"], 2, "{}: {first}", market.name);
        assert_eq!(first["updated"], 0, "{}: {first}", market.name);
        assert_eq!(order_names(&engine), market.orders, "{}", market.name);
        // The stand-in verified every request's signature (it answers errors otherwise).
        assert!(!stand_in.requests().is_empty(), "{}", market.name);

        let second = ok(
            &engine,
            "dis",
            "sync_orders",
            json!({"marketplace": market.name, "shop": "s1", "since": "2026-11-20T00:00:00Z"}),
        );
        assert_eq!(second["imported"], 0, "{}: {second}", market.name);
        assert_eq!(second["updated"], 2, "{}: {second}", market.name);
        assert_eq!(order_names(&engine).len(), 2);
    }
}

#[test]
fn a_temu_order_carries_no_price_and_stores_none_never_an_empty_string() {
    let stand_in = StandIn::start(temu, SECRET);
    let engine = engine();
    distributor(&engine);
    connect(&engine, "temu", &stand_in.url, SECRET);
    ok(
        &engine,
        "dis",
        "sync_orders",
        json!({"marketplace": "temu", "shop": "s1"}),
    );
    let order = ok(&engine, "dis", "order", json!({"order": "temu:PO-211-1"}));
    assert_eq!(order["lines"][0]["unit_price"], Value::Null, "{order}");
}

#[test]
fn the_synced_orders_carry_their_lines_shop_and_currency() {
    let stand_in = StandIn::start(lazada, SECRET);
    let engine = engine();
    distributor(&engine);
    connect(&engine, "lazada", &stand_in.url, SECRET);
    ok(
        &engine,
        "dis",
        "sync_orders",
        json!({"marketplace": "lazada", "shop": "s1"}),
    );
    let order = ok(&engine, "dis", "order", json!({"order": "lazada:16090"}));
    assert_eq!(order["lines"][0]["store_sku"], "LZ-MUG", "{order}");
    assert_eq!(order["lines"][0]["qty"], 2, "{order}");
    assert_eq!(order["lines"][0]["unit_price"], "9.00", "{order}");
    // The list was asked from 15 days before the command's time, then paged by offset.
    let lists: Vec<Request> = stand_in
        .requests()
        .into_iter()
        .filter(|r| r.path == "/orders/get")
        .collect();
    assert_eq!(lists.len(), 2);
    assert_eq!(
        lists[0].param("update_after"),
        Some("2026-11-12T10:00:00+00:00")
    );
    assert_eq!(lists[1].param("offset"), Some("1"));
    let shops = ok(&engine, "dis", "shops", json!({}));
    assert_eq!(shops["shops"][0]["synced_to"], AT);
}

#[test]
fn a_refused_signature_is_a_marketplace_error_imports_nothing_and_leaks_no_secret() {
    for market in &MARKETS {
        let stand_in = StandIn::start(market.handler, SECRET);
        let engine = engine();
        distributor(&engine);
        let wrong = "wrong-secret-WXYZ-9876";
        connect(&engine, market.name, &stand_in.url, wrong);
        let answer = exec(
            &engine,
            "dis",
            "sync_orders",
            json!({"marketplace": market.name, "shop": "s1"}),
        );
        assert_eq!(answer["ok"], false, "{}: {answer}", market.name);
        assert_eq!(
            answer["error"]["code"], "marketplace_error",
            "{}: {answer}",
            market.name
        );
        let text = answer.to_string();
        assert!(!text.contains(wrong), "{}: {text}", market.name);
        assert!(!text.contains(TOKEN), "{}: {text}", market.name);
        assert!(order_names(&engine).is_empty(), "{}", market.name);
        let shops = ok(&engine, "dis", "shops", json!({}));
        assert_eq!(shops["shops"][0]["synced_to"], Value::Null);
    }
}

#[test]
fn a_garbled_detail_after_good_pages_imports_nothing() {
    let stand_in = StandIn::start(shopee, SECRET);
    stand_in.set_mode(Mode::GarbledDetail);
    let engine = engine();
    distributor(&engine);
    connect(&engine, "shopee", &stand_in.url, SECRET);
    let answer = exec(
        &engine,
        "dis",
        "sync_orders",
        json!({"marketplace": "shopee", "shop": "s1"}),
    );
    assert_eq!(answer["error"]["code"], "marketplace_error", "{answer}");
    assert!(order_names(&engine).is_empty());
}

#[test]
fn unavailable_answers_are_retried_a_bounded_number_of_times() {
    let stand_in = StandIn::start(temu, SECRET);
    stand_in.set_mode(Mode::Unavailable(2));
    let engine = engine();
    distributor(&engine);
    connect(&engine, "temu", &stand_in.url, SECRET);
    let synced = ok(
        &engine,
        "dis",
        "sync_orders",
        json!({"marketplace": "temu", "shop": "s1"}),
    );
    assert_eq!(synced["imported"], 2);

    let down = StandIn::start(temu, SECRET);
    down.set_mode(Mode::Unavailable(usize::MAX));
    let other = super_engine();
    distributor(&other);
    connect(&other, "temu", &down.url, SECRET);
    let answer = exec(
        &other,
        "dis",
        "sync_orders",
        json!({"marketplace": "temu", "shop": "s1"}),
    );
    assert_eq!(answer["error"]["code"], "marketplace_error", "{answer}");
    assert_eq!(
        down.requests().len(),
        distributary::shops::ATTEMPTS_MAX as usize
    );
}

#[test]
fn shops_never_shows_credentials_and_unknown_shops_are_not_found() {
    let engine = engine();
    distributor(&engine);
    connect(&engine, "lazada", "http://127.0.0.1:9", SECRET);
    let shops = ok(&engine, "dis", "shops", json!({}));
    assert_eq!(shops["shops"][0]["marketplace"], "lazada");
    assert_eq!(shops["shops"][0]["base_url"], "http://127.0.0.1:9");
    let text = shops.to_string();
    assert!(!text.contains(SECRET) && !text.contains(TOKEN), "{text}");
    for cmd in ["sync_orders", "sync_stock"] {
        let answer = exec(
            &engine,
            "dis",
            cmd,
            json!({"marketplace": "lazada", "shop": "other"}),
        );
        assert_eq!(answer["error"]["code"], "not_found", "{answer}");
    }
}

/// `supplier` (one warehouse) publishes `skus` at `price`, partners with `dis` and sees them
/// claimed.
fn supplier_of_dis(engine: &Engine, supplier: &str, warehouse: &str, skus: &[&str], price: &str) {
    ok(
        engine,
        "system",
        "create_account",
        json!({"account": supplier, "plan": "V3", "inventory": true, "currency": "SGD"}),
    );
    ok(
        engine,
        supplier,
        "create_warehouse",
        json!({"warehouse": warehouse, "name": warehouse, "region": "SG"}),
    );
    for sku in skus {
        ok(
            engine,
            supplier,
            "publish_product",
            json!({"sku": sku, "name": sku, "price": price}),
        );
    }
    let link = ok(
        engine,
        supplier,
        "create_invitation",
        json!({"warehouses": [warehouse]}),
    )["link"]
        .clone();
    ok(engine, "dis", "bind_supplier", json!({"link": link}));
    ok(
        engine,
        supplier,
        "review_partnership",
        json!({"distributor": "dis", "approve": true}),
    );
    ok(
        engine,
        "dis",
        "claim",
        json!({"supplier": supplier, "skus": skus}),
    );
}

/// A Shopee shop whose listings SP-MUG (7) and SP-CAP (3) have claimed stock behind them, and
/// SP-OWN none; the stand-in it syncs with.
fn stock_shop() -> (StandIn, Engine) {
    let stand_in = StandIn::start(shopee, SECRET);
    let engine = engine();
    distributor(&engine);
    supplier_of_dis(&engine, "sup", "W1", &["MUG", "CAP"], "1.00");
    ok(
        &engine,
        "sup",
        "push_stock",
        json!({"warehouse": "W1", "items": [{"sku": "MUG", "available": 7},
                                            {"sku": "CAP", "available": 3}]}),
    );
    ok(
        &engine,
        "dis",
        "create_sku",
        json!({"sku": "OWN", "name": "Own"}),
    );
    for (sku, store_sku, listing) in [
        ("MUG", "SP-MUG", json!({"item_id": "100", "model_id": "1"})),
        ("CAP", "SP-CAP", json!({"item_id": "200", "model_id": "2"})),
        ("OWN", "SP-OWN", json!({"item_id": "300", "model_id": "3"})),
    ] {
        ok(
            &engine,
            "dis",
            "map_store_sku",
            json!({"sku": sku, "marketplace": "shopee", "shop": "s1", "store_sku": store_sku,
                   "listing": listing}),
        );
    }
    connect(&engine, "shopee", &stand_in.url, SECRET);
    (stand_in, engine)
}

#[test]
fn a_refusal_inside_a_200_answer_is_a_failure_with_shopees_code_and_is_sent_again() {
    let (stand_in, engine) = stock_shop();
    stand_in.set_mode(Mode::StockAnswer(
        r#"{"error": "error_item_not_found", "message": "Item id 100 not found.", "request_id": "r"}"#,
    ));
    let refused = ok(
        &engine,
        "dis",
        "sync_stock",
        json!({"marketplace": "shopee", "shop": "s1"}),
    );
    assert_eq!(refused["sent"], 0, "{refused}");
    assert_eq!(refused["failed"], 2, "{refused}");
    assert_eq!(refused["requests"], 2, "{refused}");
    for failure in refused["failures"].as_array().unwrap() {
        assert_eq!(failure["code"], "marketplace_error", "{refused}");
        assert_eq!(
            failure["marketplace_code"], "error_item_not_found",
            "{refused}"
        );
        assert_eq!(
            failure["marketplace_message"], "Item id 100 not found.",
            "{refused}"
        );
    }
    // Nothing was recorded as sent: once the marketplace accepts, both levels go again.
    stand_in.set_mode(Mode::Good);
    let accepted = ok(
        &engine,
        "dis",
        "sync_stock",
        json!({"marketplace": "shopee", "shop": "s1"}),
    );
    assert_eq!(accepted["sent"], 2, "{accepted}");
    assert_eq!(accepted["failed"], 0, "{accepted}");
    assert_eq!(accepted["failures"], json!([]), "{accepted}");
}

#[test]
fn sync_stock_sends_changed_levels_once_and_records_what_was_accepted() {
    let (stand_in, engine) = stock_shop();
    let first = ok(
        &engine,
        "dis",
        "sync_stock",
        json!({"marketplace": "shopee", "shop": "s1"}),
    );
    assert_eq!(first["sent"], 2, "{first}");
    assert_eq!(first["failed"], 0, "{first}");
    assert_eq!(first["skipped"], 1, "{first}");
    let updates: Vec<Value> = stand_in
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v2/product/update_stock")
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(updates.len(), 2, "{updates:?}");
    let stocks: Vec<String> = updates.iter().map(Value::to_string).collect();
    assert!(
        stocks.iter().any(|b| b.contains("\"stock\":7")),
        "{stocks:?}"
    );
    assert!(
        stocks.iter().any(|b| b.contains("\"stock\":3")),
        "{stocks:?}"
    );

    let again = ok(
        &engine,
        "dis",
        "sync_stock",
        json!({"marketplace": "shopee", "shop": "s1"}),
    );
    assert_eq!(again["sent"], 0, "{again}");
    assert_eq!(again["unchanged"], 2, "{again}");

    ok(
        &engine,
        "sup",
        "push_stock",
        json!({"warehouse": "W1", "items": [{"sku": "MUG", "available": 5}]}),
    );
    stand_in.set_mode(Mode::Unavailable(usize::MAX));
    let failing = ok(
        &engine,
        "dis",
        "sync_stock",
        json!({"marketplace": "shopee", "shop": "s1"}),
    );
    assert_eq!(failing["sent"], 0, "{failing}");
    assert_eq!(failing["failed"], 1, "{failing}");
    assert_eq!(failing["failures"][0]["store_sku"], "SP-MUG", "{failing}");
    stand_in.set_mode(Mode::Good);
    // The failure was not recorded as sent: the next sync sends it again.
    let retried = ok(
        &engine,
        "dis",
        "sync_stock",
        json!({"marketplace": "shopee", "shop": "s1"}),
    );
    assert_eq!(retried["sent"], 1, "{retried}");
    assert_eq!(retried["unchanged"], 1, "{retried}");
}

/// One product from several suppliers: a listing sells what every supplier it is claimed from
/// still holds for the distributor, and no more once one of those claims expires.
#[test]
fn a_multi_sourced_listing_sells_the_stock_of_every_live_claim() {
    let (stand_in, engine) = stock_shop();
    supplier_of_dis(&engine, "sup2", "W2", &["MUG"], "1.20");
    ok(
        &engine,
        "sup2",
        "push_stock",
        json!({"warehouse": "W2", "items": [{"sku": "MUG", "available": 4}]}),
    );
    let levels = |stand_in: &StandIn| -> Vec<String> {
        stand_in
            .requests()
            .iter()
            .filter(|r| {
                r.path == "/api/v2/product/update_stock" && r.body.contains("\"model_id\":1")
            })
            .map(|r| r.body.clone())
            .collect()
    };
    let first = ok(
        &engine,
        "dis",
        "sync_stock",
        json!({"marketplace": "shopee", "shop": "s1"}),
    );
    assert_eq!(first["sent"], 2, "{first}");
    let sent = levels(&stand_in);
    assert!(
        sent.len() == 1 && sent[0].contains("\"stock\":11"),
        "SP-MUG must sell 7 + 4: {sent:?}"
    );
    // The second supplier stops distributing MUG: its claim expires, its stock no longer sells.
    ok(
        &engine,
        "sup2",
        "set_distribution",
        json!({"sku": "MUG", "enabled": false}),
    );
    let after = ok(
        &engine,
        "dis",
        "sync_stock",
        json!({"marketplace": "shopee", "shop": "s1"}),
    );
    assert_eq!(after["sent"], 1, "{after}");
    let sent = levels(&stand_in);
    assert!(
        sent.len() == 2 && sent[1].contains("\"stock\":7"),
        "{sent:?}"
    );
}

#[test]
fn named_orders_are_fetched_alone_and_the_window_stays() {
    for market in MARKETS.iter().filter(|m| m.name != "temu") {
        let stand_in = StandIn::start(market.handler, SECRET);
        let engine = engine();
        distributor(&engine);
        connect(&engine, market.name, &stand_in.url, SECRET);
        let synced = ok(
            &engine,
            "dis",
            "sync_orders",
            json!({"marketplace": market.name, "shop": "s1", "order_ids": ["N1", "N1"]}),
        );
        assert_eq!(synced["imported"], 1, "{}: {synced}", market.name);
        assert_eq!(
            synced["synced_to"],
            Value::Null,
            "{}: {synced}",
            market.name
        );
        assert_eq!(
            order_names(&engine),
            [format!("{}:N1", market.name)],
            "{}",
            market.name
        );
        // Only the detail of the named order was asked for, once: no listing.
        let requests = stand_in.requests();
        assert_eq!(requests.len(), 1, "{}: {requests:?}", market.name);
        assert!(is_detail(&requests[0]), "{}: {requests:?}", market.name);
        let shops = ok(&engine, "dis", "shops", json!({}));
        assert_eq!(shops["shops"][0]["synced_to"], Value::Null, "{shops}");
        assert_eq!(shops["shops"][0]["push_url"], Value::Null, "{shops}");
    }
}
