//! `distributary backtest`: a candidate pack replayed against a store of a few thousand charged
//! orders. The same pack changes nothing; doubling the handling fee costs exactly the handling
//! fees charged; a changed push check and a changed allocation rule are each counted; the window
//! bounds what is replayed; orders decided before inputs were recorded are skipped and counted;
//! the store's bytes never change; a broken pack is refused with located diagnostics. The same
//! history built on SQLite and on PostgreSQL gives the same reports (skipped, with a banner,
//! without `DISTRIBUTARY_TEST_PG`), and a PostgreSQL server that does not answer is refused with
//! a reason.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use distributary::{Engine, EngineOptions, Envelope, RulePack};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_distributary");
/// Orders in the store: a few thousand.
const ORDERS: usize = 2_000;
const SUPPLIERS: [(&str, &str, &str); 2] = [("supA", "1.20", "3.50"), ("supB", "0.75", "2.00")];
const DISTRIBUTORS: [&str; 2] = ["disX", "disY"];
const SKUS: usize = 5;
/// The first day's orders are charged on the 27th, the rest on the 28th.
const DAY_ONE: &str = "2026-11-27T10:00:00Z";
const DAY_TWO: &str = "2026-11-28T10:00:00Z";

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules")
}

/// A copy of the default pack, with `edit` applied to one script.
fn pack_copy(file: &str, edit: impl FnOnce(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["workflows", "scripts", "tests"] {
        fs::create_dir_all(dir.path().join(sub)).unwrap();
        for entry in fs::read_dir(rules_dir().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            fs::copy(&path, dir.path().join(sub).join(path.file_name().unwrap())).unwrap();
        }
    }
    let path = dir.path().join(file);
    let text = fs::read_to_string(&path).unwrap();
    let edited = edit(text.clone());
    assert_ne!(text, edited, "the edit of {file} changed nothing");
    fs::write(&path, edited).unwrap();
    dir
}

fn send(engine: &Engine, actor: &str, cmd: &str, args: Value) -> Value {
    let line = json!({"as": actor, "at": DAY_ONE, "cmd": cmd, "args": args}).to_string();
    let answer = engine.execute_line(&line);
    assert_eq!(answer["ok"], true, "{cmd} as {actor}: {answer}");
    answer["result"].clone()
}

fn batch(engine: &Engine, requests: Vec<Value>) {
    for chunk in requests.chunks(250) {
        let envelopes: Vec<Envelope> = chunk
            .iter()
            .map(|r| Envelope::from_value(r.clone()).unwrap())
            .collect();
        for (result, request) in engine.execute_batch(&envelopes).into_iter().zip(chunk) {
            assert!(result.is_ok(), "{request}: {result:?}");
        }
    }
}

/// Order `n`: distributor, supplier, state (even Selangor, odd Johor), lines `(sku, qty)`.
fn order(n: usize) -> (&'static str, usize, &'static str, Vec<(usize, usize)>) {
    let lines = (0..1 + n % 3).map(|i| ((n + i) % SKUS, 1 + i)).collect();
    let state = if n % 2 == 0 { "Selangor" } else { "Johor" };
    (DISTRIBUTORS[n % 2], (n / 2) % 2, state, lines)
}

/// A store where every order was imported, packed (the allocation rule choosing) and pushed.
fn build_store(path: &Path) {
    let options = EngineOptions {
        rules: RulePack::from_dir(&rules_dir()).unwrap(),
        ..EngineOptions::default()
    };
    let engine = Engine::open(path, options).unwrap();
    let e = &engine;
    for d in DISTRIBUTORS {
        send(
            e,
            "system",
            "create_account",
            json!({"account": d, "plan": "V1", "inventory": true, "currency": "MYR"}),
        );
    }
    for (s, (sup, handling, shipping)) in SUPPLIERS.iter().enumerate() {
        send(
            e,
            "system",
            "create_account",
            json!({"account": sup, "plan": "V3", "inventory": true, "currency": "MYR"}),
        );
        for (w, region) in [("N", "Selangor"), ("S", "Johor")] {
            send(
                e,
                sup,
                "create_warehouse",
                json!({"warehouse": w, "name": w, "region": region}),
            );
        }
        let skus: Vec<String> = (0..SKUS).map(|k| format!("S{s}K{k}")).collect();
        for sku in &skus {
            send(
                e,
                sup,
                "publish_product",
                json!({"sku": sku, "name": sku, "price": "7.35"}),
            );
        }
        send(
            e,
            sup,
            "set_fees",
            json!({"handling": handling, "shipping": shipping}),
        );
        for w in ["N", "S"] {
            let items: Vec<Value> = skus
                .iter()
                .map(|sku| json!({"sku": sku, "available": 1_000_000}))
                .collect();
            send(
                e,
                sup,
                "push_stock",
                json!({"warehouse": w, "items": items}),
            );
        }
        for d in DISTRIBUTORS {
            let link = send(
                e,
                sup,
                "create_invitation",
                json!({"warehouses": ["N", "S"]}),
            )["link"]
                .clone();
            send(e, d, "bind_supplier", json!({"link": link}));
            send(
                e,
                sup,
                "review_partnership",
                json!({"distributor": d, "approve": true}),
            );
            send(
                e,
                sup,
                "add_balance",
                json!({"distributor": d, "amount": "10000000"}),
            );
            send(e, d, "claim", json!({"supplier": sup, "skus": skus}));
            for sku in &skus {
                send(
                    e,
                    d,
                    "map_store_sku",
                    json!({"sku": sku, "marketplace": "shopee", "shop": "s", "store_sku": format!("SP-{sku}")}),
                );
            }
        }
    }
    let at = |n: usize| if n < ORDERS / 2 { DAY_ONE } else { DAY_TWO };
    let mut imports = Vec::new();
    let mut packs = Vec::new();
    let mut pushes = Vec::new();
    for n in 0..ORDERS {
        let (d, s, state, lines) = order(n);
        let lines: Vec<Value> = lines
            .iter()
            .map(|(k, qty)| json!({"store_sku": format!("SP-S{s}K{k}"), "qty": qty, "unit_price": "9.90"}))
            .collect();
        imports.push(json!({"as": d, "at": at(n), "cmd": "import_orders", "args": {"marketplace": "shopee", "format": "canonical", "payload": [{"marketplace": "shopee", "shop": "s", "order_sn": n.to_string(), "status": "ready_to_ship", "currency": "MYR", "address": {"country": "MY", "state": state}, "lines": lines}]}}));
        packs.push(
            json!({"as": d, "at": at(n), "cmd": "pack", "args": {"order": format!("shopee:{n}")}}),
        );
        pushes.push(
            json!({"as": d, "at": at(n), "cmd": "push", "args": {"order": format!("shopee:{n}")}}),
        );
    }
    batch(e, imports);
    batch(e, packs);
    batch(e, pushes);
}

fn backtest(db: &Path, rules: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "backtest",
        "--db",
        db.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Command::new(BIN).args(&args).output().unwrap()
}

fn report(db: &Path, rules: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let out = backtest(db, rules, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "--json prints one object: {stdout}");
    serde_json::from_str(lines[0]).unwrap()
}

fn changed(report: &Value) -> [u64; 3] {
    ["fees", "push_checks", "allocate_warehouse"]
        .map(|rule| report["rules"][rule]["changed"].as_u64().unwrap())
}

/// The handling fees the store charged, per (supplier, distributor), read from the orders.
fn handling_charged(db: &Path) -> BTreeMap<(String, String), Decimal> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut statement = conn
        .prepare(
            "SELECT supplier, distributor, json_extract(charges, '$.handling') FROM orders
             WHERE charged = 1",
        )
        .unwrap();
    let mut sums = BTreeMap::new();
    let rows = statement
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (supplier, distributor, handling) = row.unwrap();
        *sums.entry((supplier, distributor)).or_default() += handling.parse::<Decimal>().unwrap();
    }
    sums
}

#[test]
fn a_candidate_pack_is_replayed_on_the_recorded_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    build_store(&db);
    let bytes = fs::read(&db).unwrap();

    // The pack that decided: nothing changes.
    let same = report(&db, &rules_dir(), &[]);
    assert_eq!(same["orders"], ORDERS as u64, "{same}");
    assert_eq!(changed(&same), [0, 0, 0], "{same}");
    assert_eq!(same["money_delta"]["total"], "0.00", "{same}");
    assert_eq!(same["differences"], json!([]), "{same}");

    // Handling doubled: every order's fees change, and the delta is the handling charged.
    let doubled = pack_copy("scripts/fees.rhai", |t| {
        t.replace(
            "handling: settings.handling,",
            "handling: settings.handling * 2,",
        )
    });
    let report_doubled = report(&db, doubled.path(), &[]);
    assert_eq!(changed(&report_doubled), [ORDERS as u64, 0, 0]);
    let charged = handling_charged(&db);
    assert_eq!(charged.len(), 4);
    let by_pair: BTreeMap<(String, String), Decimal> = report_doubled["money_delta"]["by_pair"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                (
                    p["supplier"].as_str().unwrap().to_owned(),
                    p["distributor"].as_str().unwrap().to_owned(),
                ),
                p["delta"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(by_pair, charged);
    let total: Decimal = charged.values().sum();
    assert_eq!(
        report_doubled["money_delta"]["total"].as_str().unwrap(),
        total.to_string()
    );
    let examples = report_doubled["differences"].as_array().unwrap();
    assert_eq!(examples.len(), 10);
    assert_eq!(examples[0]["rule"], "fees");

    // A push check refusing orders of more than one line; an allocation rule ignoring the
    // region (the first fitting candidate, `N`, where the default packed Johor orders from `S`).
    let checks = pack_copy("scripts/push_checks.rhai", |t| {
        t.replace(
            "\nfailures\n",
            "\nif order.lines.len() > 1 { failures.push(#{code: \"one_line_only\", message: \"one line\"}); }\nfailures\n",
        )
    });
    let multi_line = (0..ORDERS).filter(|&n| order(n).3.len() > 1).count() as u64;
    assert_eq!(
        changed(&report(&db, checks.path(), &[])),
        [0, multi_line, 0]
    );
    let allocation = pack_copy("scripts/allocate_warehouse.rhai", |t| {
        t.replace(
            "// 1. The first",
            "return candidates[0].warehouse;\n// 1. The first",
        )
    });
    let johor = (0..ORDERS).filter(|&n| order(n).2 == "Johor").count() as u64;
    let moved = report(&db, allocation.path(), &[]);
    assert_eq!(changed(&moved), [0, 0, johor]);
    assert_eq!(moved["differences"][0]["was"], "S", "{moved}");
    assert_eq!(moved["differences"][0]["now"], "N", "{moved}");

    // The window: the second day alone, the first day alone.
    let half = (ORDERS / 2) as u64;
    let since = report(&db, doubled.path(), &["--since", "2026-11-28T00:00:00Z"]);
    let until = report(
        &db,
        doubled.path(),
        &["--until", "2026-11-28T00:00:00+00:00"],
    );
    assert_eq!(since["orders"], half);
    assert_eq!(until["orders"], half);
    let sum = |r: &Value| {
        r["money_delta"]["total"]
            .as_str()
            .unwrap()
            .parse::<Decimal>()
            .unwrap()
    };
    assert_eq!(sum(&since) + sum(&until), total);
    assert!(sum(&since) > Decimal::ZERO && sum(&until) > Decimal::ZERO);
    let bad_time = backtest(&db, doubled.path(), &["--since", "yesterday"]);
    assert_eq!(bad_time.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_time.stderr).contains("RFC 3339"));

    // The text report says the same.
    let text = backtest(&db, doubled.path(), &[]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains(&format!("replayed on {ORDERS} orders")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("money delta: {total}")),
        "{stdout}"
    );

    // Nothing was written.
    assert_eq!(
        fs::read(&db).unwrap(),
        bytes,
        "the backtest wrote to the store"
    );

    // As a store from before decision inputs were kept: five orders' pushes recorded none. They
    // are skipped and counted, never guessed.
    let old = dir.path().join("old.db");
    fs::copy(&db, &old).unwrap();
    let conn = rusqlite::Connection::open(&old).unwrap();
    let cleared = conn
        .execute(
            "UPDATE audit SET inputs = NULL WHERE event = 'push'
             AND entity_id IN ('shopee:0', 'shopee:1', 'shopee:2', 'shopee:3', 'shopee:4')",
            [],
        )
        .unwrap();
    assert_eq!(cleared, 5);
    drop(conn);
    let out = backtest(&old, &rules_dir(), &["--json"]);
    assert!(out.status.success());
    let skipped: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(skipped["orders"], (ORDERS - 5) as u64);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("5 orders skipped"), "{stderr}");
}

#[test]
fn a_broken_pack_is_refused_with_located_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    drop(Engine::open(&db, EngineOptions::default()).unwrap());
    let broken = pack_copy("scripts/fees.rhai", |t| {
        t.replace("let goods = to_decimal(0);", "let goods = ;")
    });
    let out = backtest(&db, broken.path(), &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("fees.rhai:"), "{stderr}");
}

/// A PostgreSQL server that does not answer is refused, saying which and why; nothing is
/// printed on stdout.
#[test]
fn a_postgres_server_that_does_not_answer_is_refused() {
    let db = Path::new("postgres://nobody@127.0.0.1:1/none");
    let out = backtest(db, &rules_dir(), &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("postgres://nobody@127.0.0.1:1/none") && stderr.contains("(internal)"),
        "{stderr}"
    );
}

/// One history, built by the same commands on SQLite and on PostgreSQL: every candidate pack's
/// report is the same on both, text and `--json`, windows included.
#[test]
fn the_same_history_gives_the_same_report_on_both_backends() {
    let Some(pg) = distributary_tests::pg::Database::create("backtest") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("store.db");
    build_store(&sqlite);
    build_store(&pg.path());

    let doubled = pack_copy("scripts/fees.rhai", |t| {
        t.replace(
            "handling: settings.handling,",
            "handling: settings.handling * 2,",
        )
    });
    let allocation = pack_copy("scripts/allocate_warehouse.rhai", |t| {
        t.replace(
            "// 1. The first",
            "return candidates[0].warehouse;\n// 1. The first",
        )
    });
    let runs: [(&Path, &[&str]); 4] = [
        (&rules_dir(), &[]),
        (doubled.path(), &[]),
        (doubled.path(), &["--since", "2026-11-28T00:00:00Z"]),
        (allocation.path(), &["--until", "2026-11-28T00:00:00Z"]),
    ];
    for (rules, window) in runs {
        let on_sqlite = report(&sqlite, rules, window);
        let on_pg = report(&pg.path(), rules, window);
        assert!(on_sqlite["orders"].as_u64().unwrap() > 0, "{on_sqlite}");
        assert_eq!(on_pg, on_sqlite, "{} {window:?}", rules.display());
    }
    assert_eq!(
        changed(&report(&pg.path(), doubled.path(), &[])),
        [ORDERS as u64, 0, 0]
    );
    // The text report: the same lines but the first, which names the store.
    let text = |db: &Path| {
        let out = backtest(db, doubled.path(), &[]);
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        stdout.lines().skip(1).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(text(&pg.path()), text(&sqlite));
}

/// Two distributors' orders of one name: `audit` names an order, not its distributor, so the
/// replay tells them apart by their history chains; both are replayed and charged to their own
/// pair.
#[test]
fn orders_of_one_name_held_by_two_distributors_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    build_store(&db);
    {
        let options = EngineOptions {
            rules: RulePack::from_dir(&rules_dir()).unwrap(),
            ..EngineOptions::default()
        };
        let engine = Engine::open(&db, options).unwrap();
        // `shopee:0` is the first distributor's; the second imports an order of the same name.
        let (first, ..) = order(0);
        let (second, s, state, lines) = order(1);
        assert_ne!(first, second);
        let lines: Vec<Value> = lines
            .iter()
            .map(|(k, qty)| json!({"store_sku": format!("SP-S{s}K{k}"), "qty": qty, "unit_price": "9.90"}))
            .collect();
        send(
            &engine,
            second,
            "import_orders",
            json!({"marketplace": "shopee", "format": "canonical", "payload": [{"marketplace": "shopee", "shop": "s", "order_sn": "0", "status": "ready_to_ship", "currency": "MYR", "address": {"country": "MY", "state": state}, "lines": lines}]}),
        );
        send(&engine, second, "pack", json!({"order": "shopee:0"}));
        send(&engine, second, "push", json!({"order": "shopee:0"}));
    }
    let all = ORDERS as u64 + 1;
    let same = report(&db, &rules_dir(), &[]);
    assert_eq!(same["orders"], all, "{same}");
    assert_eq!(changed(&same), [0, 0, 0], "{same}");

    let doubled = pack_copy("scripts/fees.rhai", |t| {
        t.replace(
            "handling: settings.handling,",
            "handling: settings.handling * 2,",
        )
    });
    let report_doubled = report(&db, doubled.path(), &[]);
    assert_eq!(report_doubled["orders"], all, "{report_doubled}");
    assert_eq!(changed(&report_doubled), [all, 0, 0]);
    let by_pair: BTreeMap<(String, String), Decimal> = report_doubled["money_delta"]["by_pair"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                (
                    p["supplier"].as_str().unwrap().to_owned(),
                    p["distributor"].as_str().unwrap().to_owned(),
                ),
                p["delta"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(by_pair, handling_charged(&db));
}
