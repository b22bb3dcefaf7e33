//! The server over real HTTP on loopback (127.0.0.1, a port the OS picks): every error code's
//! status, tokens made, used and revoked, the body's actor, isolation between accounts, group
//! commit under concurrent clients, the bounds and the operational routes. No assertion is
//! timed: grouping is shown by the metrics, with a group wait long enough that concurrent
//! clients always meet.

use std::{
    net::SocketAddr,
    sync::{Arc, Barrier},
    thread,
    time::Duration,
};

use distributary::{
    store::{Durability, StoreOptions},
    Engine, EngineOptions, Envelope,
};
use distributary_server::{GroupOptions, Server, ServerOptions};
use serde_json::{json, Value};

/// A server on its own runtime thread, stopped when dropped.
struct Served {
    addr: SocketAddr,
    system: String,
    agent: ureq::Agent,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start(options: ServerOptions) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let engine_options = EngineOptions {
            store: StoreOptions {
                durability: Durability::Normal,
            },
            ..EngineOptions::default()
        };
        let engine = Engine::open(&dir.path().join("store.db"), engine_options).unwrap();
        // The first system token, as `distributary token create --system` makes it.
        let made = engine
            .execute(
                &Envelope::parse(
                    r#"{"as": "system", "cmd": "create_token", "args": {"account": "system", "label": "ops"}}"#,
                )
                .unwrap(),
            )
            .unwrap();
        let system = made["token"].as_str().unwrap().to_owned();
        let (bound, addr) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async move {
                let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
                let server = Server::bind(Arc::new(engine), loopback, options)
                    .await
                    .unwrap();
                bound.send(server.local_addr().unwrap()).unwrap();
                server
                    .run(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Served {
            addr: addr.recv().unwrap(),
            system,
            agent,
            stop: Some(stop),
            thread: Some(thread),
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POSTs `body` to `/v1/commands` with `token`: the status and the answer.
    fn post(&self, token: Option<&str>, body: &str) -> (u16, Value) {
        let mut request = self.agent.post(self.url("/v1/commands"));
        if let Some(token) = token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let mut response = request.content_type("application/json").send(body).unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        let answer = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        (status, answer)
    }

    /// One command as `token`: the status and the answer.
    fn send(&self, token: &str, cmd: &str, args: Value) -> (u16, Value) {
        self.post(Some(token), &json!({"cmd": cmd, "args": args}).to_string())
    }

    /// One command that must succeed: its result.
    fn ok(&self, token: &str, cmd: &str, args: Value) -> Value {
        let (status, answer) = self.send(token, cmd, args.clone());
        assert_eq!(
            (status, &answer["ok"]),
            (200, &json!(true)),
            "{cmd} {args}: {answer}"
        );
        answer["result"].clone()
    }

    /// A token of `account` (and `user`), made by system.
    fn token(&self, account: &str, user: Option<&str>) -> String {
        let made = self.ok(
            &self.system,
            "create_token",
            json!({"account": account, "user": user, "label": "test"}),
        );
        made["token"].as_str().unwrap().to_owned()
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut response = self.agent.get(self.url(path)).call().unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    }

    /// The value of a metric line (`name{labels}` exactly), 0 when absent.
    fn metric(&self, series: &str) -> f64 {
        let (_, text) = self.get("/metrics");
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |value| value.parse().unwrap())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Two suppliers and two distributors, partnered `sup` ↔ `dis`; the tokens of each main user.
struct World {
    served: Served,
    sup: String,
    sup2: String,
    dis: String,
    dis2: String,
}

fn world(options: ServerOptions) -> World {
    let served = Served::start(options);
    let system = served.system.clone();
    for (account, plan) in [("sup", "V3"), ("sup2", "V3"), ("dis", "V1"), ("dis2", "V1")] {
        served.ok(
            &system,
            "create_account",
            json!({"account": account, "plan": plan, "inventory": true, "currency": "MYR"}),
        );
    }
    let world = World {
        sup: served.token("sup", None),
        sup2: served.token("sup2", None),
        dis: served.token("dis", None),
        dis2: served.token("dis2", None),
        served,
    };
    let s = &world.served;
    s.ok(
        &world.sup,
        "create_warehouse",
        json!({"warehouse": "KL", "name": "KL", "region": "Selangor"}),
    );
    let link = s.ok(
        &world.sup,
        "create_invitation",
        json!({"warehouses": ["KL"]}),
    )["link"]
        .clone();
    s.ok(&world.dis, "bind_supplier", json!({"link": link}));
    s.ok(
        &world.sup,
        "review_partnership",
        json!({"distributor": "dis", "approve": true}),
    );
    s.ok(
        &world.dis,
        "import_orders",
        json!({"marketplace": "shopee", "format": "canonical", "payload": [
            {"marketplace": "shopee", "shop": "s1", "order_sn": "1", "status": "ready_to_ship", "currency": "MYR",
             "address": {"country": "MY", "state": "Selangor"}, "lines": [{"store_sku": "SP-X", "qty": 1, "unit_price": "9.90"}]}]}),
    );
    world
}

fn code(answer: &Value) -> &str {
    answer["error"]["code"].as_str().unwrap_or("ok")
}

#[test]
fn every_kind_of_error_has_its_status() {
    let w = world(ServerOptions::default());
    let s = &w.served;
    let cases: Vec<(&str, &str, Value, &str, u16)> = vec![
        (&w.sup, "create_warehouse", json!({}), "bad_request", 400),
        (&w.sup, "plans", json!({}), "unknown_command", 400),
        (
            &w.dis,
            "create_account",
            json!({"account": "x", "plan": "V1", "inventory": true, "currency": "MYR"}),
            "permission_denied",
            403,
        ),
        (
            &w.dis,
            "order",
            json!({"order": "shopee:404"}),
            "not_found",
            404,
        ),
        (
            &w.dis,
            "mark_shipped",
            json!({"order": "shopee:1"}),
            "invalid_transition",
            409,
        ),
        (
            &w.dis,
            "publish_product",
            json!({"sku": "X", "name": "X", "price": "1"}),
            "plan_required",
            422,
        ),
        (
            &w.dis,
            "pack",
            json!({"order": "shopee:1"}),
            "sku_not_mapped",
            422,
        ),
        (&w.dis, "balances", json!({}), "ok", 200),
    ];
    for (token, cmd, args, expected, status) in cases {
        let answer = s.send(token, cmd, args);
        assert_eq!(
            (code(&answer.1), answer.0),
            (expected, status),
            "{cmd}: {}",
            answer.1
        );
    }
    // The same key with other arguments: a conflict.
    let keyed = |name: &str| {
        json!({"cmd": "create_sku", "key": "k1", "args": {"sku": "OWN", "name": name}}).to_string()
    };
    assert_eq!(s.post(Some(&w.dis), &keyed("Own")).0, 200);
    let (status, answer) = s.post(Some(&w.dis), &keyed("Other"));
    assert_eq!((status, code(&answer)), (409, "idempotency_conflict"));
    // No token, a malformed one, an unknown one of the right shape.
    let unknown = format!("dst_{}_{}", "0".repeat(16), "0".repeat(64));
    for token in [None, Some("nonsense"), Some(unknown.as_str())] {
        let (status, answer) = s.post(token, r#"{"cmd": "balances"}"#);
        assert_eq!(
            (status, code(&answer)),
            (401, "unauthenticated"),
            "{token:?}"
        );
    }
    // A body that is no JSON, or too many commands: refused whole.
    let (status, answer) = s.post(Some(&w.dis), "{not json");
    assert_eq!((status, code(&answer)), (400, "bad_request"));
    let many = Value::Array(vec![
        json!({"cmd": "balances"});
        distributary_server::REQUEST_COMMANDS_MAX + 1
    ]);
    let (status, answer) = s.post(Some(&w.dis), &many.to_string());
    assert_eq!((status, code(&answer)), (400, "bad_request"));
    // A batch is answered 200 with each command's answer in order, a failure among them alone.
    let batch = json!([
        {"id": "a", "cmd": "create_sku", "args": {"sku": "B1", "name": "B1"}},
        {"id": "b", "cmd": "create_sku", "args": {"sku": "B2"}},
        {"id": "c", "cmd": "create_sku", "args": {"sku": "B3", "name": "B3"}},
        "not a command",
    ]);
    let (status, answers) = s.post(Some(&w.dis), &batch.to_string());
    assert_eq!(status, 200);
    let codes: Vec<(&Value, &str)> = answers
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (&a["id"], code(a)))
        .collect();
    assert_eq!(
        codes,
        [
            (&json!("a"), "ok"),
            (&json!("b"), "bad_request"),
            (&json!("c"), "ok"),
            (&Value::Null, "bad_request")
        ]
    );
    // What the batch committed: B1 exists (creating it again is refused), B2 does not.
    let again = s.send(&w.dis, "create_sku", json!({"sku": "B1", "name": "B1"}));
    assert_eq!(again.0, 400, "B1 was created by the batch: {}", again.1);
    let absent = s.send(&w.dis, "create_sku", json!({"sku": "B2", "name": "B2"}));
    assert_eq!(absent.0, 200, "B2's failure created nothing: {}", absent.1);
}

#[test]
fn a_token_is_made_used_and_revoked_and_acts_as_its_owner_only() {
    let w = world(ServerOptions::default());
    let s = &w.served;
    s.ok(
        &s.system,
        "create_user",
        json!({"account": "dis", "user": "clerk", "permissions": ["distributor"]}),
    );
    // The account's main user makes a token for its sub-user; it acts as that sub-user.
    let made = s.ok(
        &w.dis,
        "create_token",
        json!({"account": "dis", "user": "clerk", "label": "phone"}),
    );
    let clerk = made["token"].as_str().unwrap().to_owned();
    let token_id = made["token_id"].as_str().unwrap().to_owned();
    assert_eq!(s.send(&clerk, "orders", json!({})).0, 200);
    let (status, answer) = s.send(&clerk, "tokens", json!({}));
    assert_eq!(
        (status, code(&answer)),
        (403, "permission_denied"),
        "a sub-user manages no tokens"
    );
    // The body may repeat the owner; it may not name another actor.
    let (status, _) = s.post(
        Some(&clerk),
        r#"{"as": "dis", "user": "clerk", "cmd": "orders"}"#,
    );
    assert_eq!(status, 200);
    for body in [
        r#"{"as": "dis2", "cmd": "orders"}"#,
        r#"{"as": "system", "cmd": "create_account", "args": {"account": "x", "plan": "V1", "inventory": true, "currency": "MYR"}}"#,
        r#"{"as": "dis", "cmd": "orders"}"#,
    ] {
        let (status, answer) = s.post(Some(&clerk), body);
        assert_eq!(
            (status, code(&answer)),
            (403, "permission_denied"),
            "{body}: {answer}"
        );
    }
    let (status, answer) = s.post(Some(&w.dis), r#"{"user": "clerk", "cmd": "orders"}"#);
    assert_eq!(
        (status, code(&answer)),
        (403, "permission_denied"),
        "the main user's token names a user: {answer}"
    );
    // Listed without its secret.
    let listed = s.ok(&w.dis, "tokens", json!({}));
    assert!(!listed.to_string().contains(&clerk[20..]), "{listed}");
    assert!(listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["token_id"] == token_id.as_str()));
    // Revoked: the very next request is refused.
    s.ok(&w.dis, "revoke_token", json!({"token_id": token_id}));
    let (status, answer) = s.send(&clerk, "orders", json!({}));
    assert_eq!((status, code(&answer)), (401, "unauthenticated"));
    // A system token made by system is revoked the same way.
    let second = s.ok(
        &s.system,
        "create_token",
        json!({"account": "system", "label": "second"}),
    );
    let second_token = second["token"].as_str().unwrap();
    assert_eq!(s.send(second_token, "plugins", json!({})).0, 200);
    s.ok(
        &s.system,
        "revoke_token",
        json!({"token_id": second["token_id"]}),
    );
    assert_eq!(s.send(second_token, "plugins", json!({})).0, 401);
}

#[test]
fn a_token_of_one_account_reads_and_changes_nothing_of_another() {
    let w = world(ServerOptions::default());
    let s = &w.served;
    let dis_token_id = s.ok(&w.dis, "tokens", json!({}))["tokens"][0]["token_id"].clone();
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (&w.dis2, "order", json!({"order": "shopee:1"}), "not_found"),
        (&w.dis2, "pack", json!({"order": "shopee:1"}), "not_found"),
        (
            &w.dis2,
            "revoke_token",
            json!({"token_id": dis_token_id}),
            "not_found",
        ),
        (&w.dis2, "tokens", json!({"account": "dis"}), "not_found"),
        (
            &w.dis2,
            "create_token",
            json!({"account": "dis", "label": "mine now"}),
            "not_found",
        ),
        (
            &w.sup2,
            "add_balance",
            json!({"distributor": "dis", "amount": "10"}),
            "not_partnered",
        ),
        (
            &w.sup2,
            "review_partnership",
            json!({"distributor": "dis", "approve": false}),
            "not_found",
        ),
        (
            &w.sup2,
            "ship_order",
            json!({"order": "shopee:1"}),
            "not_found",
        ),
        (
            &w.dis,
            "create_token",
            json!({"account": "system", "label": "escalate"}),
            "not_found",
        ),
        (
            &w.dis,
            "create_account",
            json!({"account": "x", "plan": "V1", "inventory": true, "currency": "MYR"}),
            "permission_denied",
        ),
    ];
    for (token, cmd, args, expected) in cases {
        let (_, answer) = s.send(token, cmd, args.clone());
        assert_eq!(code(&answer), expected, "{cmd} {args}: {answer}");
    }
    // What the others see of dis: nothing.
    for (token, cmd) in [
        (&w.dis2, "orders"),
        (&w.dis2, "suppliers"),
        (&w.sup2, "distributors"),
        (&w.dis2, "tokens"),
    ] {
        let result = s.ok(token, cmd, json!({}));
        assert!(!result.to_string().contains("\"dis\""), "{cmd}: {result}");
    }
    // And dis's own order is where it was.
    assert_eq!(
        s.ok(&w.dis, "order", json!({"order": "shopee:1"}))["state"],
        "pending"
    );
}

#[test]
fn concurrent_clients_share_commits_and_a_failure_stays_alone() {
    const CLIENTS: usize = 8;
    const REQUESTS: usize = 12;
    // A group waits long enough for every client to meet it; its size still closes it first.
    let options = ServerOptions {
        group: Some(GroupOptions {
            commands_max: CLIENTS,
            wait: Duration::from_millis(200),
        }),
        ..ServerOptions::default()
    };
    let w = Arc::new(world(options));
    let start = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (w, start) = (w.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let mut expected = Vec::new();
                for request in 0..REQUESTS {
                    let sku = format!("C{client}-{request}");
                    // Every third price does not parse: refused inside the group, alone.
                    let price = if request % 3 == 2 {
                        "not money"
                    } else {
                        "5.00"
                    };
                    let (status, answer) = w.served.send(
                        &w.sup,
                        "publish_product",
                        json!({"sku": sku, "name": sku, "price": price}),
                    );
                    if request % 3 == 2 {
                        assert_eq!((status, code(&answer)), (400, "bad_request"), "{answer}");
                    } else {
                        assert_eq!(status, 200, "{answer}");
                        expected.push(sku);
                    }
                }
                expected
            })
        })
        .collect();
    let mut expected: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    expected.sort();
    let s = &w.served;
    let published = s.ok(&w.sup, "products", json!({"tab": "published"}));
    let mut skus: Vec<String> = published["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap().to_owned())
        .collect();
    skus.sort();
    assert_eq!(
        skus, expected,
        "every acknowledged product, and none refused"
    );
    let groups = s.metric("distributary_group_commit_size_count");
    let singles = s.metric("distributary_group_commit_size_bucket{le=\"1\"}");
    let commands = s.metric("distributary_group_commit_size_sum");
    assert!(
        groups > 0.0 && singles < groups,
        "some group held more than one command: {groups} groups, {singles} of one"
    );
    assert!(
        commands >= (CLIENTS * REQUESTS) as f64,
        "{commands} commands grouped"
    );
    assert_eq!(
        s.metric("distributary_commands_total{cmd=\"publish_product\",code=\"bad_request\"}"),
        (CLIENTS * REQUESTS / 3) as f64
    );
}

#[test]
fn without_group_commit_each_request_commits_alone() {
    let w = world(ServerOptions {
        group: None,
        ..ServerOptions::default()
    });
    let s = &w.served;
    s.ok(
        &w.sup,
        "publish_product",
        json!({"sku": "A", "name": "A", "price": "1.00"}),
    );
    assert_eq!(s.metric("distributary_group_commit_size_count"), 0.0);
    assert_eq!(
        s.ok(&w.sup, "products", json!({"tab": "published"}))["products"][0]["sku"],
        "A"
    );
}

#[test]
fn the_operational_routes_and_the_body_bound() {
    let served = Served::start(ServerOptions {
        body_bytes_max: 1_000,
        ..ServerOptions::default()
    });
    assert_eq!(served.get("/healthz").0, 200);
    assert_eq!(served.get("/readyz").0, 200);
    let (status, text) = served.get("/metrics");
    assert_eq!(status, 200);
    for name in [
        "distributary_request_duration_seconds_bucket",
        "distributary_group_commit_size_count",
        "distributary_delivery_queue_depth 0",
    ] {
        assert!(text.contains(name), "no {name} in\n{text}");
    }
    let big = json!({"cmd": "create_account", "args": {"account": "x".repeat(2_000), "plan": "V1", "inventory": true, "currency": "MYR"}});
    let (status, answer) = served.post(Some(&served.system), &big.to_string());
    assert_eq!((status, code(&answer)), (400, "bad_request"), "{answer}");
    assert_eq!(served.get("/v1/nothing").0, 404);
}
