//! Shared by the matrix suites (`bad_input.rs`, `permissions.rs`): a fixture world on a
//! temp-file SQLite store or in a PostgreSQL database (`World::build`, `World::on_postgres`),
//! requests sent as protocol lines, a dump of every table of either backend to prove a refused
//! request changed nothing, and the table of command specs both suites are generated from.
//!
//! A [`Spec`] is one command with arguments that its owner may send (checked by
//! [`World::control`] on a copy of the store); the suites derive their bad and foreign variants
//! from it, so every command of [`distributary::command::names`] is covered by one spec.

#![allow(dead_code)] // each suite uses a part

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::TcpListener,
    path::Path,
    sync::OnceLock,
    time::Duration,
};

use distributary::{
    store::{Durability, StoreOptions},
    Engine, EngineOptions,
};
use distributary_tests::pg;
use rusqlite::{types::ValueRef, Connection};
use serde_json::{json, Value};

/// The logical time of every request: fixed, so invitations never expire mid-run.
pub const AT: &str = "2026-11-27T10:00:00Z";

// ---------------------------------------------------------------- requests

/// One request of the host protocol.
#[derive(Debug, Clone)]
pub struct Request {
    pub actor: String,
    pub user: Option<String>,
    pub key: Option<String>,
    pub at: Option<String>,
    pub cmd: String,
    /// `None` leaves `args` out of the line.
    pub args: Option<Value>,
}

impl Request {
    /// A request by the main user of `actor`, at [`AT`].
    pub fn new(actor: &str, cmd: &str, args: Value) -> Request {
        Request {
            actor: actor.to_owned(),
            user: None,
            key: None,
            at: Some(AT.to_owned()),
            cmd: cmd.to_owned(),
            args: Some(args),
        }
    }

    /// The same request by a sub-user.
    pub fn user(mut self, user: &str) -> Request {
        self.user = Some(user.to_owned());
        self
    }

    /// The same request under an idempotency key.
    pub fn key(mut self, key: &str) -> Request {
        self.key = Some(key.to_owned());
        self
    }

    /// The request line, exactly as `distributary exec` reads it.
    pub fn line(&self) -> String {
        let mut line = json!({"id": "m", "as": self.actor, "cmd": self.cmd});
        for (field, value) in [("user", &self.user), ("key", &self.key), ("at", &self.at)] {
            if let Some(value) = value {
                line[field] = json!(value);
            }
        }
        if let Some(args) = &self.args {
            line["args"] = args.clone();
        }
        line.to_string()
    }

    /// How a failure report names the request (long texts shortened).
    pub fn describe(&self) -> String {
        let line = self.line();
        let who = match &self.user {
            Some(user) => format!("{}/{user}", self.actor),
            None => self.actor.clone(),
        };
        format!("`{}` as {who}: {}", self.cmd, shorten(&line, 300))
    }
}

/// The first `max` characters of `text`, saying how many were left out.
pub fn shorten(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_owned();
    }
    let head: String = text.chars().take(max).collect();
    format!("{head}… ({} more characters)", count - max)
}

/// The error code of an answer, or `ok`.
pub fn code_of(answer: &Value) -> String {
    if answer["ok"] == json!(true) {
        "ok".to_owned()
    } else {
        answer["error"]["code"]
            .as_str()
            .unwrap_or("<no code>")
            .to_owned()
    }
}

// ---------------------------------------------------------------- the store's dump

/// Every table's rows, rendered, plus the schema and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump(BTreeMap<String, Vec<String>>);

impl Dump {
    /// The dump without one table (the idempotency table, for keyed requests).
    pub fn without(&self, table: &str) -> Dump {
        let mut tables = self.0.clone();
        tables.remove(table);
        Dump(tables)
    }

    /// The rows of one table.
    pub fn rows(&self, table: &str) -> &[String] {
        self.0.get(table).map_or(&[], Vec::as_slice)
    }

    /// What changed from `self` to `after`, table by table; empty when nothing did.
    pub fn diff(&self, after: &Dump) -> String {
        let mut out = String::new();
        let names: std::collections::BTreeSet<&String> =
            self.0.keys().chain(after.0.keys()).collect();
        for name in names {
            let (before, now) = (self.rows(name), after.rows(name));
            if before == now {
                continue;
            }
            out.push_str(&format!(
                "    table {name}: {} rows -> {} rows\n",
                before.len(),
                now.len()
            ));
            for row in before.iter().filter(|r| !now.contains(r)).take(3) {
                out.push_str(&format!("      - {}\n", shorten(row, 200)));
            }
            for row in now.iter().filter(|r| !before.contains(r)).take(3) {
                out.push_str(&format!("      + {}\n", shorten(row, 200)));
            }
        }
        out
    }
}

/// The longest text a dump renders whole.
const TEXT_RENDERED_MAX: usize = 1024;

/// A text cell as both backends' dumps render it. A long text (a keyed request's fingerprint
/// can be megabytes) by its length and hash: a change still shows, and a dump stays cheap.
fn render_text(text: &[u8]) -> String {
    if text.len() > TEXT_RENDERED_MAX {
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(text, &mut hasher);
        return format!(
            "<{} bytes, hash {:016x}>",
            text.len(),
            std::hash::Hasher::finish(&hasher)
        );
    }
    format!("{:?}", String::from_utf8_lossy(text))
}

fn render(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".to_owned(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(r) => format!("{r:?}"),
        ValueRef::Text(t) => render_text(t),
        ValueRef::Blob(b) => format!(
            "x'{}'",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
    }
}

fn query_rows(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare(sql)?;
    let columns = statement.column_count();
    let rows = statement.query_map([], |row| {
        let mut cells = Vec::with_capacity(columns);
        for index in 0..columns {
            cells.push(render(row.get_ref(index)?));
        }
        Ok(cells.join(" | "))
    })?;
    rows.collect()
}

/// A connection of the test's own to a world's store, beside the engine's: what dumps it.
pub enum Reader {
    Sqlite(Connection),
    Postgres(std::cell::RefCell<postgres::Client>),
}

impl Reader {
    /// A token that changes whenever another connection commits a change to the store: SQLite's
    /// `PRAGMA data_version`; on PostgreSQL, one past the newest finished transaction id (the
    /// server's, so another database's commits change it too, which only costs a dump): a
    /// transaction of the engine's that wrote had its id assigned after the last look, and
    /// moves it when it ends, committed or not.
    fn version(&self) -> String {
        match self {
            Reader::Sqlite(conn) => conn
                .pragma_query_value(None, "data_version", |r| r.get::<_, i64>(0))
                .expect("data_version reads")
                .to_string(),
            Reader::Postgres(client) => client
                .borrow_mut()
                .query_one("SELECT pg_snapshot_xmax(pg_current_snapshot())::text", &[])
                .expect("the snapshot reads")
                .get(0),
        }
    }

    /// The store's tables, by name: the one list both backends' dumps walk.
    pub fn tables(&self) -> Vec<String> {
        match self {
            Reader::Sqlite(conn) => query_rows(
                conn,
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            )
            .expect("sqlite_master reads")
            .iter()
            .map(|quoted| serde_json::from_str(quoted).expect("a table name"))
            .collect(),
            Reader::Postgres(client) => client
                .borrow_mut()
                .query(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
                     ORDER BY table_name",
                    &[],
                )
                .expect("information_schema reads")
                .iter()
                .map(|row| row.get(0))
                .collect(),
        }
    }

    /// Dumps every table of the store, so that a row deleted and inserted again, or written
    /// with the values it had, shows as a change: on SQLite rows in rowid order with their rowid
    /// (a table without rowid in key order); on PostgreSQL rows in the order of their values,
    /// each with the id of the transaction that wrote it (`xmin`: a write rolled back leaves
    /// it as it was).
    pub fn dump(&self) -> Dump {
        let tables = self.tables();
        match self {
            Reader::Sqlite(conn) => dump_sqlite(conn, &tables),
            Reader::Postgres(client) => dump_postgres(&mut client.borrow_mut(), &tables),
        }
    }
}

fn dump_sqlite(conn: &Connection, names: &[String]) -> Dump {
    let mut tables = BTreeMap::new();
    for name in names {
        let rows = match query_rows(
            conn,
            &format!("SELECT rowid, * FROM \"{name}\" ORDER BY rowid"),
        ) {
            Ok(rows) => rows,
            Err(_) => {
                let mut rows = query_rows(conn, &format!("SELECT * FROM \"{name}\""))
                    .expect("a table without rowid reads");
                rows.sort();
                rows
            }
        };
        tables.insert(name.clone(), rows);
    }
    tables.insert(
        "(schema)".to_owned(),
        query_rows(
            conn,
            "SELECT type, name, sql FROM sqlite_master ORDER BY name",
        )
        .expect("the schema reads"),
    );
    tables.insert(
        "(user_version)".to_owned(),
        query_rows(conn, "PRAGMA user_version").expect("user_version reads"),
    );
    Dump(tables)
}

/// A PostgreSQL cell, read as text (the simple query protocol), rendered as SQLite's dump
/// renders the same value: integers bare, text quoted, bytes as `x'..'`.
fn render_postgres(value: Option<&str>, data_type: &str) -> String {
    match (value, data_type) {
        (None, _) => "NULL".to_owned(),
        (Some(bytes), "bytea") => format!("x'{}'", bytes.trim_start_matches("\\x")),
        (Some(text), "text" | "character varying") => render_text(text.as_bytes()),
        (Some(other), _) => other.to_owned(),
    }
}

fn dump_postgres(client: &mut postgres::Client, names: &[String]) -> Dump {
    // Each table's columns and their types, in their order.
    let mut columns: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut schema = Vec::new();
    for row in client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text, \
             coalesce(column_default, '') FROM information_schema.columns \
             WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
            &[],
        )
        .expect("information_schema reads")
    {
        let (table, column, data_type): (String, String, String) =
            (row.get(0), row.get(1), row.get(2));
        let (nullable, default): (String, String) = (row.get(3), row.get(4));
        schema.push(format!(
            "{table}.{column} {data_type} nullable {nullable} default {default:?}"
        ));
        columns.entry(table).or_default().push((column, data_type));
    }
    for row in client
        .query(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname",
            &[],
        )
        .expect("pg_indexes reads")
    {
        schema.push(row.get(0));
    }
    // Every table in one round trip: a statement each, in one message.
    let mut sql = String::new();
    for name in names {
        let count = columns.get(name).map_or(0, Vec::len);
        let order: Vec<String> = (2..=count + 1).map(|i| i.to_string()).collect();
        sql.push_str(&format!("SELECT xmin, * FROM \"{name}\""));
        if !order.is_empty() {
            sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
        }
        sql.push_str(";\n");
    }
    let mut tables = BTreeMap::new();
    let mut pending = names.iter();
    let mut current = pending.next();
    let mut rows = Vec::new();
    for message in client.simple_query(&sql).expect("every table reads") {
        match message {
            postgres::SimpleQueryMessage::Row(row) => {
                let name = current.expect("a row belongs to a table");
                let types = &columns[name];
                let mut cells = vec![format!("xmin {}", row.get(0).unwrap_or("?"))];
                for (index, (_, data_type)) in types.iter().enumerate() {
                    cells.push(render_postgres(row.get(index + 1), data_type));
                }
                rows.push(cells.join(" | "));
            }
            postgres::SimpleQueryMessage::CommandComplete(_) => {
                let name = current.expect("a statement per table");
                tables.insert(name.clone(), std::mem::take(&mut rows));
                current = pending.next();
            }
            _ => {}
        }
    }
    assert!(current.is_none(), "a table's statement did not complete");
    tables.insert("(schema)".to_owned(), schema);
    Dump(tables)
}

// ---------------------------------------------------------------- the adapter and a marketplace

/// A directory holding the Shopee adapter library, built once per test binary with
/// `cargo build -p distributary-adapter-shopee`, its path read from cargo's report.
fn adapter_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temp dir");
        distributary_tests::build_adapter("distributary-adapter-shopee", dir.path());
        dir
    })
    .path()
}

/// A loopback "marketplace" that refuses every request with `400` at once: enough for a sync
/// to reach the network and fail there, without a real marketplace. Lives as long as the test
/// binary.
fn refusing_marketplace() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buffer = [0u8; 8192];
                let _ = stream.read(&mut buffer);
                let body = r#"{"error":"refused","message":"test marketplace"}"#;
                let _ = write!(
                    stream,
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        url
    })
}

// ---------------------------------------------------------------- the world

/// The fixture world: an engine on a store of its own, and a second connection that dumps it.
pub struct World {
    pub engine: Engine,
    reader: Reader,
    place: Place,
    /// The last dump, and the reader's version of the store when it was taken.
    last: std::cell::RefCell<Option<(String, Dump)>>,
    /// Links saved while building: `spare` (sup's, unused), `sup2_fresh` (sup2's, unused).
    pub links: BTreeMap<&'static str, String>,
    /// The id of an API token made while building, by account: `dis`, `dis2`.
    pub token_ids: BTreeMap<&'static str, String>,
}

/// Where a world's store lives, and where a control copies it from.
enum Place {
    /// A temp-file SQLite store, copied as it is by `VACUUM INTO`.
    Sqlite { dir: tempfile::TempDir },
    /// A PostgreSQL database, `db`, copied from `built`, where the fixture was built and which
    /// nothing holds open since. `CREATE DATABASE .. TEMPLATE` copies a database only while
    /// nobody else is connected to it, and the world's engine and reader stay connected to
    /// theirs; rebuilding the fixture in a fresh database for every control instead would send
    /// its hundred commands again each time. So a control copies `built`, and first checks that
    /// the world still holds what it held when it was built (`as_built`): what every suite
    /// sends it is refused and checked to change nothing, so the copy is the world's.
    Postgres {
        built: pg::Database,
        db: pg::Database,
        as_built: Dump,
    },
}

/// What the fixture saved while building, for the specs.
struct Saved {
    links: BTreeMap<&'static str, String>,
    token_ids: BTreeMap<&'static str, String>,
}

fn options() -> EngineOptions {
    EngineOptions {
        plugins_dir: Some(adapter_dir().to_owned()),
        store: StoreOptions {
            durability: Durability::Normal,
        },
        // Deliveries run only when the fixture drains them, so an order can stay `pushing`
        // and a refused request never triggers one.
        auto_deliver: false,
        ..EngineOptions::default()
    }
}

/// Sends a request that must succeed; its result.
fn ok(engine: &Engine, actor: &str, cmd: &str, args: Value) -> Value {
    let request = Request::new(actor, cmd, args);
    let answer = engine.execute_line(&request.line());
    assert_eq!(
        answer["ok"],
        true,
        "fixture step {}: {answer}",
        request.describe()
    );
    answer["result"].clone()
}

impl World {
    /// Sends one request; the answer.
    pub fn send(&self, request: &Request) -> Value {
        self.engine.execute_line(&request.line())
    }

    /// Which backend the world's store is on, for failure reports.
    pub fn backend(&self) -> &'static str {
        match self.place {
            Place::Sqlite { .. } => "SQLite",
            Place::Postgres { .. } => "PostgreSQL",
        }
    }

    /// A dump of the whole store. While the reader's version of the store stays the same (see
    /// `Reader::version`) the last dump is still the store's; `MATRIX_DUMP_ALWAYS=1` dumps
    /// every time anyway.
    pub fn dump(&self) -> Dump {
        let version = self.reader.version();
        let mut last = self.last.borrow_mut();
        if let Some((seen, dump)) = last.as_ref() {
            if *seen == version && std::env::var_os("MATRIX_DUMP_ALWAYS").is_none() {
                return dump.clone();
            }
        }
        let fresh = self.reader.dump();
        *last = Some((version, fresh.clone()));
        fresh
    }

    /// Sends `request` to a fresh copy of the store (this world's store is untouched) and
    /// returns the answer: how a suite checks that a spec's owner may do what it asks.
    pub fn control(&self, request: &Request) -> Value {
        match &self.place {
            Place::Sqlite { dir } => {
                let copy = dir.path().join(format!(
                    "control-{}.db",
                    CONTROLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                ));
                let Reader::Sqlite(conn) = &self.reader else {
                    unreachable!("a SQLite world has a SQLite reader")
                };
                conn.execute("VACUUM INTO ?1", [copy.to_string_lossy()])
                    .expect("the store copies");
                let answer = control_on(&copy, request);
                let _ = std::fs::remove_file(&copy);
                answer
            }
            Place::Postgres {
                built, as_built, ..
            } => {
                let diff = as_built.diff(&self.dump());
                assert!(
                    diff.is_empty(),
                    "a control copies the world as built, and the world changed since:\n{diff}"
                );
                control_on(&built.copy().path(), request)
            }
        }
    }

    /// Builds the world on a temp-file SQLite store (see the module doc of each suite for what
    /// it holds).
    pub fn build() -> World {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("world.db");
        let engine = Engine::open(&path, options()).expect("the engine opens");
        let reader = Reader::Sqlite(Connection::open(&path).expect("the store opens for reading"));
        let saved = populate(&engine);
        World::new(engine, reader, Place::Sqlite { dir }, saved)
    }

    /// Builds the same world in a PostgreSQL database of its own; `None` (after the SKIPPED
    /// banner naming `suite`) without a server to build it on (`pg::Database::create`).
    pub fn on_postgres(suite: &str) -> Option<World> {
        let built = pg::Database::create(suite)?;
        let engine = Engine::open(&built.path(), options()).expect("the engine opens");
        let saved = populate(&engine);
        // Nothing may stay connected to `built`: controls copy it.
        drop(engine);
        let db = built.copy();
        let engine = Engine::open(&db.path(), options()).expect("the engine opens");
        let reader = Reader::Postgres(std::cell::RefCell::new(db.client()));
        let as_built = reader.dump();
        let place = Place::Postgres {
            built,
            db,
            as_built,
        };
        Some(World::new(engine, reader, place, saved))
    }

    fn new(engine: Engine, reader: Reader, place: Place, saved: Saved) -> World {
        World {
            engine,
            reader,
            place,
            last: std::cell::RefCell::new(None),
            links: saved.links,
            token_ids: saved.token_ids,
        }
    }

    /// Another engine on this world's store, one that delivers after (and within) every write
    /// command, as shipped.
    #[allow(dead_code)] // one suite uses it
    pub fn delivering_engine(&self) -> Engine {
        let options = EngineOptions {
            auto_deliver: true,
            ..options()
        };
        let path = match &self.place {
            Place::Sqlite { dir } => dir.path().join("world.db"),
            Place::Postgres { db, .. } => db.path(),
        };
        Engine::open(&path, options).expect("the engine opens")
    }
}

/// Opens an engine on the copy at `path`, sends `request`, and closes it: the answer.
fn control_on(path: &Path, request: &Request) -> Value {
    let engine = Engine::open(path, options()).expect("the copy opens");
    engine.execute_line(&request.line())
}

/// Builds the fixture world through `engine` (see the module doc of each suite for what it
/// holds).
fn populate(engine: &Engine) -> Saved {
    let drain = || {
        engine.drain_deliveries().expect("deliveries drain");
    };
    // Accounts: two suppliers, three distributors, an account without inventory, and
    // sub-users holding one permission set, or none.
    for (account, plan, inventory) in [
        ("sup", "V3", true),
        ("sup2", "V3", true),
        ("dis", "V1", true),
        ("dis2", "V1", true),
        ("dis3", "V1", true),
        ("noinv", "V3", false),
    ] {
        ok(
            engine,
            "system",
            "create_account",
            json!({"account": account, "plan": plan, "inventory": inventory, "currency": "MYR"}),
        );
    }
    for (account, user, sets) in [
        ("sup", "dis_only", json!(["distributor"])),
        ("sup", "sup_only", json!(["supplier"])),
        ("sup", "none", json!([])),
        ("dis", "sup_only", json!(["supplier"])),
        ("dis", "dis_only", json!(["distributor"])),
        ("dis", "none", json!([])),
        ("dis2", "ops", json!(["distributor"])),
    ] {
        ok(
            engine,
            "system",
            "create_user",
            json!({"account": account, "user": user, "permissions": sets}),
        );
    }
    ok(
        engine,
        "system",
        "set_live_rate",
        json!({"from": "MYR", "to": "SGD", "rate": "0.31"}),
    );

    // sup: two warehouses, products in every condition, fees and stock.
    for (warehouse, region) in [("KL", "Selangor"), ("JB", "Johor")] {
        ok(
            engine,
            "sup",
            "create_warehouse",
            json!({"warehouse": warehouse, "name": warehouse, "region": region}),
        );
    }
    for (sku, price) in [
        ("MUG", "12.50"),
        ("CAP", "20.00"),
        ("HAT", "5.00"),
        ("GLOVE", "3.00"),
    ] {
        ok(
            engine,
            "sup",
            "publish_product",
            json!({"sku": sku, "name": sku, "price": price}),
        );
    }
    ok(
        engine,
        "sup",
        "publish_product",
        json!({"sku": "COMBO", "name": "Combo", "price": "30.00", "combination": true}),
    );
    ok(
        engine,
        "sup",
        "publish_product",
        json!({"sku": "SECRET", "name": "Secret", "price": "9.00", "visible_to": ["dis2"]}),
    );
    ok(
        engine,
        "sup",
        "set_fees",
        json!({"handling": "1.50", "shipping": "4.00"}),
    );
    ok(
        engine,
        "sup",
        "push_stock",
        json!({"warehouse": "KL", "items": [{"sku": "MUG", "available": 100},
               {"sku": "CAP", "available": 100}, {"sku": "HAT", "available": 10},
               {"sku": "GLOVE", "available": 10}]}),
    );
    ok(
        engine,
        "sup",
        "push_stock",
        json!({"warehouse": "JB", "items": [{"sku": "MUG", "available": 5}]}),
    );

    // sup and dis partnered (KL first, JB assigned later and not yet added by dis); dis3
    // pending; a spare link.
    let link = ok(
        engine,
        "sup",
        "create_invitation",
        json!({"warehouses": ["KL"]}),
    )["link"]
        .clone();
    ok(
        engine,
        "dis",
        "bind_supplier",
        json!({"link": link, "note": "NOTE-OF-DIS"}),
    );
    ok(
        engine,
        "sup",
        "review_partnership",
        json!({"distributor": "dis", "approve": true}),
    );
    ok(
        engine,
        "sup",
        "assign_warehouses",
        json!({"distributor": "dis", "warehouses": ["KL", "JB"]}),
    );
    let link3 = ok(
        engine,
        "sup",
        "create_invitation",
        json!({"warehouses": ["KL"]}),
    )["link"]
        .clone();
    ok(engine, "dis3", "bind_supplier", json!({"link": link3}));
    let spare = ok(
        engine,
        "sup",
        "create_invitation",
        json!({"warehouses": ["KL", "JB"]}),
    )["link"]
        .as_str()
        .expect("a link")
        .to_owned();
    ok(
        engine,
        "sup",
        "add_balance",
        json!({"distributor": "dis", "amount": "1000.00"}),
    );
    ok(
        engine,
        "sup",
        "set_credit",
        json!({"distributor": "dis", "enabled": true, "limit": "100"}),
    );

    // sup2 and dis2 partnered; a fresh sup2 link nobody used.
    ok(
        engine,
        "sup2",
        "create_warehouse",
        json!({"warehouse": "PG", "name": "Penang", "region": "Penang"}),
    );
    ok(
        engine,
        "sup2",
        "publish_product",
        json!({"sku": "PEN", "name": "Pen", "price": "2.00"}),
    );
    ok(
        engine,
        "sup2",
        "push_stock",
        json!({"warehouse": "PG", "items": [{"sku": "PEN", "available": 50}]}),
    );
    let link2 = ok(
        engine,
        "sup2",
        "create_invitation",
        json!({"warehouses": ["PG"]}),
    )["link"]
        .clone();
    ok(
        engine,
        "dis2",
        "bind_supplier",
        json!({"link": link2, "note": "NOTE-OF-DIS2"}),
    );
    ok(
        engine,
        "sup2",
        "review_partnership",
        json!({"distributor": "dis2", "approve": true}),
    );
    ok(
        engine,
        "sup2",
        "add_balance",
        json!({"distributor": "dis2", "amount": "500.00"}),
    );
    let sup2_fresh = ok(
        engine,
        "sup2",
        "create_invitation",
        json!({"warehouses": ["PG"]}),
    )["link"]
        .as_str()
        .expect("a link")
        .to_owned();

    // dis: claims (GLOVE then expired by its supplier), an own SKU, mappings, a shop,
    // settings, and orders in many states.
    ok(
        engine,
        "dis",
        "claim",
        json!({"supplier": "sup", "skus": ["MUG", "CAP", "GLOVE"]}),
    );
    ok(
        engine,
        "sup",
        "set_distribution",
        json!({"sku": "GLOVE", "enabled": false}),
    );
    ok(
        engine,
        "sup",
        "set_price",
        json!({"sku": "MUG", "price": "12.90"}),
    );
    ok(
        engine,
        "dis",
        "create_sku",
        json!({"sku": "LOCAL", "name": "Own thing"}),
    );
    let shop = json!({"marketplace": "shopee", "shop": "dis-shop", "base_url": refusing_marketplace(),
                      "credentials": {"partner_id": 1001, "partner_key": "dis-key", "shop_id": 42, "access_token": "dis-token"}});
    ok(engine, "dis", "connect_shop", shop);
    for (sku, store_sku) in [("MUG", "SP-MUG"), ("CAP", "SP-CAP")] {
        ok(
            engine,
            "dis",
            "map_store_sku",
            json!({"sku": sku, "marketplace": "shopee", "shop": "dis-shop", "store_sku": store_sku,
                   "listing": {"item_id": "11", "model_id": "12"}}),
        );
    }
    ok(
        engine,
        "dis",
        "subscribe",
        json!({"web": true, "app": false}),
    );
    ok(
        engine,
        "dis",
        "set_print_settings",
        json!({"documents": ["invoice"]}),
    );
    ok(
        engine,
        "dis",
        "set_fixed_rate",
        json!({"from": "MYR", "to": "SGD", "rate": "0.30"}),
    );
    let order = |sn: &str, status: &str, lines: Value| {
        json!({"marketplace": "shopee", "shop": "dis-shop", "order_sn": sn, "status": status,
               "currency": "MYR", "address": {"country": "MY", "state": "Selangor", "city": "KL", "postcode": "50000"},
               "lines": lines})
    };
    let one = json!([{"store_sku": "SP-MUG", "qty": 1, "unit_price": "19.90"}]);
    let two = json!([{"store_sku": "SP-MUG", "qty": 1, "unit_price": "19.90"},
                     {"store_sku": "SP-CAP", "qty": 1, "unit_price": "29.90"}]);
    let mut payload = vec![order("1001", "ready_to_ship", two.clone())];
    for sn in 1002..=1008 {
        payload.push(order(&sn.to_string(), "ready_to_ship", one.clone()));
    }
    payload.push(order("1009", "ready_to_ship", two));
    ok(
        engine,
        "dis",
        "import_orders",
        json!({"marketplace": "shopee", "format": "canonical", "payload": payload}),
    );
    let name = |sn: u32| format!("shopee:{sn}");
    for sn in 1002..=1007 {
        ok(engine, "dis", "pack", json!({"order": name(sn)}));
    }
    for sn in 1004..=1007 {
        ok(engine, "dis", "push", json!({"order": name(sn)}));
    }
    drain();
    for sn in [1005, 1006] {
        ok(engine, "sup", "ship_order", json!({"order": name(sn)}));
    }
    ok(
        engine,
        "sup",
        "confirm_pickup",
        json!({"order": name(1006)}),
    );
    ok(engine, "dis", "withdraw", json!({"order": name(1007)}));
    ok(
        engine,
        "dis",
        "import_orders",
        json!({"marketplace": "shopee", "format": "canonical",
               "payload": [order("1008", "cancelled", one.clone())]}),
    );
    ok(
        engine,
        "dis",
        "split_order",
        json!({"order": name(1009), "groups": [["SP-MUG"], ["SP-CAP"]]}),
    );
    // dis2: its own claim, mapping, shop and a pushed order with sup2.
    ok(
        engine,
        "dis2",
        "claim",
        json!({"supplier": "sup2", "skus": ["PEN"]}),
    );
    ok(
        engine,
        "dis2",
        "connect_shop",
        json!({"marketplace": "shopee", "shop": "dis2-shop", "base_url": refusing_marketplace(),
               "credentials": {"partner_id": 2002, "partner_key": "dis2-key", "shop_id": 43, "access_token": "dis2-token"}}),
    );
    ok(
        engine,
        "dis2",
        "map_store_sku",
        json!({"sku": "PEN", "marketplace": "shopee", "shop": "dis2-shop", "store_sku": "SP-PEN"}),
    );
    ok(
        engine,
        "dis2",
        "import_orders",
        json!({"marketplace": "shopee", "format": "canonical", "payload": [{"marketplace": "shopee",
               "shop": "dis2-shop", "order_sn": "2001", "status": "ready_to_ship",
               "lines": [{"store_sku": "SP-PEN", "qty": 1, "unit_price": "3.00"}]}]}),
    );
    ok(engine, "dis2", "pack", json!({"order": "shopee:2001"}));
    ok(engine, "dis2", "push", json!({"order": "shopee:2001"}));
    drain();
    // The last: its delivery stays queued (nothing drains it), so it stays `pushing`.
    ok(engine, "dis", "push", json!({"order": name(1003)}));

    let expected = [
        ("dis", "shopee:1001", "pending"),
        ("dis", "shopee:1002", "packed"),
        ("dis", "shopee:1003", "pushing"),
        ("dis", "shopee:1004", "pushed"),
        ("dis", "shopee:1005", "to_pickup"),
        ("dis", "shopee:1006", "shipped"),
        ("dis", "shopee:1007", "withdrawal_requested"),
        ("dis", "shopee:1008", "cancelled"),
        ("dis", "shopee:1009", "split"),
        ("dis", "shopee:1009/1", "pending"),
        ("dis2", "shopee:2001", "pushed"),
    ];
    for (actor, order, state) in expected {
        let found = ok(engine, actor, "order", json!({"order": order}));
        assert_eq!(found["state"], state, "fixture order {order}: {found}");
    }
    let mut token_ids = BTreeMap::new();
    for account in ["dis", "dis2"] {
        let made = ok(
            engine,
            "system",
            "create_token",
            json!({"account": account, "label": "erp"}),
        );
        let id = made["token_id"].as_str().expect("a token id").to_owned();
        token_ids.insert(account, id);
    }
    Saved {
        links: BTreeMap::from([("spare", spare), ("sup2_fresh", sup2_fresh)]),
        token_ids,
    }
}

static CONTROLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

// ---------------------------------------------------------------- the specs

/// A field that names a record: a value naming nothing, a value naming another account's
/// record, and the code both must get (the same, so probing reveals nothing).
#[derive(Debug, Clone)]
pub struct Id {
    /// JSON pointer into `args`.
    pub at: &'static str,
    pub unknown: Value,
    /// `None` when no other account's record fits the field.
    pub foreign: Option<Value>,
    pub code: &'static str,
}

/// One command, with arguments its owner may send, and what the suites derive from it.
#[derive(Debug, Clone)]
pub struct Spec {
    pub cmd: &'static str,
    /// Who may send `args`: the owner of the records they name.
    pub actor: &'static str,
    pub args: Value,
    /// The owner's answer: `ok`, or the code of a request refused by design.
    pub control: &'static str,
    /// Top-level fields that may be left out.
    pub optional: Vec<&'static str>,
    /// Fields naming records.
    pub ids: Vec<Id>,
    /// JSON pointers of decimal-string amounts.
    pub amounts: Vec<&'static str>,
    /// JSON pointers of integer quantities, with the largest accepted.
    pub quantities: Vec<(&'static str, i64)>,
    /// JSON pointers of values taken as free-form JSON (no type to get wrong inside).
    pub free: Vec<&'static str>,
    /// The code for an overlong string at a pointer, where it is not `bad_request`.
    pub huge: Vec<(&'static str, &'static str)>,
    /// More bad requests of this command: (what, args, code).
    pub extra: Vec<(&'static str, Value, &'static str)>,
    /// Other actors `(account, user)` sending the same args, and the code each must get:
    /// `ok` for a query, whose answer must then contain none of `leaks`.
    pub others: Vec<(&'static str, Option<&'static str>, &'static str)>,
    /// Text of the owner's data no other actor's answer may contain.
    pub leaks: Vec<&'static str>,
}

impl Spec {
    fn new(actor: &'static str, cmd: &'static str, args: Value) -> Spec {
        Spec {
            cmd,
            actor,
            args,
            control: "ok",
            optional: Vec::new(),
            ids: Vec::new(),
            amounts: Vec::new(),
            quantities: Vec::new(),
            free: Vec::new(),
            huge: Vec::new(),
            extra: Vec::new(),
            others: Vec::new(),
            leaks: Vec::new(),
        }
    }

    fn control(mut self, code: &'static str) -> Spec {
        self.control = code;
        self
    }

    fn optional(mut self, fields: &[&'static str]) -> Spec {
        self.optional.extend_from_slice(fields);
        self
    }

    fn id(
        mut self,
        at: &'static str,
        unknown: Value,
        foreign: Option<Value>,
        code: &'static str,
    ) -> Spec {
        self.ids.push(Id {
            at,
            unknown,
            foreign,
            code,
        });
        self
    }

    fn amounts(mut self, at: &[&'static str]) -> Spec {
        self.amounts.extend_from_slice(at);
        self
    }

    fn quantity(mut self, at: &'static str, max: i64) -> Spec {
        self.quantities.push((at, max));
        self
    }

    fn free(mut self, at: &'static str) -> Spec {
        self.free.push(at);
        self
    }

    fn huge(mut self, at: &'static str, code: &'static str) -> Spec {
        self.huge.push((at, code));
        self
    }

    fn extra(mut self, what: &'static str, args: Value, code: &'static str) -> Spec {
        self.extra.push((what, args, code));
        self
    }

    fn other(
        mut self,
        actor: &'static str,
        user: Option<&'static str>,
        code: &'static str,
    ) -> Spec {
        self.others.push((actor, user, code));
        self
    }

    fn leaks(mut self, text: &[&'static str]) -> Spec {
        self.leaks.extend_from_slice(text);
        self
    }

    /// The spec's own request, by its owner.
    pub fn request(&self) -> Request {
        Request::new(self.actor, self.cmd, self.args.clone())
    }

    /// `args` with the value at `pointer` replaced (`None` removes a top-level field).
    pub fn with(&self, pointer: &str, value: Option<Value>) -> Value {
        let mut args = self.args.clone();
        match value {
            Some(value) => {
                *args
                    .pointer_mut(pointer)
                    .unwrap_or_else(|| panic!("{}: no {pointer} in {}", self.cmd, self.args)) =
                    value;
            }
            None => {
                let field = pointer.trim_start_matches('/');
                args.as_object_mut()
                    .and_then(|o| o.remove(field))
                    .unwrap_or_else(|| panic!("{}: no field {field}", self.cmd));
            }
        }
        args
    }
}

/// Text that no answer may ever contain: the shops' credentials.
pub const SECRETS: &[&str] = &["dis-key", "dis-token", "dis2-key", "dis2-token", "new-key"];

/// Text of `dis`'s records (its name, orders, note, shop, store SKUs, own SKU), the owner of
/// most specs: none may show in another actor's answer.
const DIS_DATA: &[&str] = &[
    "\"dis\"",
    "shopee:100",
    "NOTE-OF-DIS\"",
    "dis-shop",
    "SP-MUG",
    "LOCAL",
];

/// Text of `sup`'s records (its distributor, its orders, its SKUs).
const SUP_DATA: &[&str] = &["\"sup\"", "\"dis\"", "shopee:100", "\"MUG\"", "\"HAT\""];

/// A link whose token has the right shape and names no invitation.
pub const NO_SUCH_LINK: &str = "distributary://invite/00000000000000000000000000000000";

fn canonical(sn: &str, qty: Value) -> Value {
    json!({"marketplace": "shopee", "shop": "dis-shop", "order_sn": sn, "status": "ready_to_ship",
           "currency": "MYR", "address": {"country": "MY", "state": "Selangor", "city": "KL", "postcode": "50000"},
           "lines": [{"store_sku": "SP-MUG", "qty": qty, "unit_price": "19.90"}]})
}

fn many(count: usize, item: Value) -> Value {
    Value::Array(vec![item; count])
}

/// Every command's spec, on `world`'s fixture.
pub fn specs(world: &World) -> Vec<Spec> {
    use distributary::{
        catalog::{CLAIM_SKUS_MAX, CSV_BYTES_MAX, VISIBLE_TO_MAX},
        inventory::{ASSIGNED_WAREHOUSES_MAX, PUSH_ITEMS_MAX, QUANTITY_MAX},
        orders::{IMPORT_ORDERS_MAX, LINE_QTY_MAX, ORDER_LINES_MAX},
        partnership::INVITATION_WAREHOUSES_MAX,
    };
    let spare = world.links["spare"].clone();
    let sup2_fresh = world.links["sup2_fresh"].clone();
    let shop_credentials = json!({"partner_id": 7, "partner_key": "new-key", "shop_id": 8, "access_token": "new-key-token"});
    let dis_order = |spec: Spec, at: &'static str| {
        spec.id(
            at,
            json!("shopee:9999"),
            Some(json!("shopee:2001")),
            "not_found",
        )
        .other("dis2", None, "not_found")
    };
    // A supplier's main account may act as a distributor, on its own orders only.
    let dis_write =
        |spec: Spec, at: &'static str| dis_order(spec, at).other("sup", None, "not_found");
    let sup_order = |spec: Spec| {
        spec.optional(&["distributor"])
            .id(
                "/order",
                json!("shopee:9999"),
                Some(json!("shopee:2001")),
                "not_found",
            )
            .id(
                "/distributor",
                json!("nope"),
                Some(json!("dis2")),
                "not_found",
            )
            .other("sup2", None, "not_found")
    };
    let dis_sku = |spec: Spec| {
        spec.id("/sku", json!("NOPE"), Some(json!("PEN")), "not_found")
            .other("dis2", None, "not_found")
    };
    vec![
        // ---- system
        Spec::new("system", "create_account", json!({"account": "newacct", "plan": "V2", "inventory": true, "currency": "MYR"}))
            .extra("an unknown plan", json!({"account": "a2", "plan": "V9", "inventory": true, "currency": "MYR"}), "bad_request")
            .extra("a lower-case currency", json!({"account": "a2", "plan": "V2", "inventory": true, "currency": "myr"}), "bad_request")
            .extra("the reserved name", json!({"account": "system", "plan": "V2", "inventory": true, "currency": "MYR"}), "bad_request")
            .extra("an existing account", json!({"account": "sup", "plan": "V2", "inventory": true, "currency": "MYR"}), "bad_request"),
        Spec::new("system", "create_user", json!({"account": "sup", "user": "clerk", "permissions": ["supplier"]}))
            .id("/account", json!("nope"), None, "not_found")
            .extra("an unknown permission set", json!({"account": "sup", "user": "clerk", "permissions": ["admin"]}), "bad_request")
            .extra("a user named like its account", json!({"account": "sup", "user": "sup", "permissions": []}), "bad_request"),
        Spec::new("system", "set_live_rate", json!({"from": "MYR", "to": "JPY", "rate": "30"}))
            .amounts(&["/rate"])
            .extra("one currency twice", json!({"from": "MYR", "to": "MYR", "rate": "1"}), "bad_request")
            .extra("a zero rate", json!({"from": "MYR", "to": "JPY", "rate": "0"}), "bad_request")
            .extra("a malformed currency", json!({"from": "MY", "to": "JPY", "rate": "1"}), "bad_request"),
        // ---- supplier
        Spec::new("sup", "create_warehouse", json!({"warehouse": "W9", "name": "Nine", "region": "Nowhere"}))
            .extra("an existing warehouse", json!({"warehouse": "KL", "name": "KL", "region": "Selangor"}), "bad_request"),
        Spec::new("sup", "create_invitation", json!({"warehouses": ["KL"], "expires_at": "2026-12-01T00:00:00Z"}))
            .optional(&["expires_at"])
            .id("/warehouses/0", json!("NOPE"), Some(json!("PG")), "not_found")
            .other("sup2", None, "not_found")
            .extra("an expiry in the past", json!({"warehouses": ["KL"], "expires_at": "2020-01-01T00:00:00Z"}), "bad_request")
            .extra("an expiry that is no time", json!({"warehouses": ["KL"], "expires_at": "next week"}), "bad_request")
            .extra("too many warehouses", json!({"warehouses": many(INVITATION_WAREHOUSES_MAX + 1, json!("KL"))}), "bad_request"),
        Spec::new("sup", "revoke_invitation", json!({"link": spare}))
            .id("/link", json!(NO_SUCH_LINK), Some(json!(sup2_fresh)), "not_found")
            .other("sup2", None, "not_found")
            .huge("/link", "invalid_invitation")
            .extra("not a link", json!({"link": "https://example.com"}), "invalid_invitation"),
        Spec::new("sup", "review_partnership", json!({"distributor": "dis3", "approve": true, "reason": "welcome"}))
            .optional(&["reason"])
            .id("/distributor", json!("nope"), Some(json!("dis2")), "not_found")
            .other("sup2", None, "not_found")
            .extra("a partnership already approved", json!({"distributor": "dis", "approve": true}), "invalid_transition"),
        Spec::new("sup", "end_partnership", json!({"distributor": "dis"}))
            .id("/distributor", json!("nope"), Some(json!("dis2")), "not_found")
            .other("sup2", None, "not_found")
            .extra("a pending partnership", json!({"distributor": "dis3"}), "invalid_transition"),
        Spec::new("sup", "add_balance", json!({"distributor": "dis", "amount": "10.00", "note": "top up"}))
            .optional(&["note"])
            .id("/distributor", json!("nope"), Some(json!("dis2")), "not_partnered")
            .amounts(&["/amount"])
            .other("sup2", None, "not_partnered")
            .extra("a zero amount", json!({"distributor": "dis", "amount": "0"}), "bad_request")
            .extra("less than the minor unit", json!({"distributor": "dis", "amount": "0.004"}), "bad_request")
            .extra("to itself", json!({"distributor": "sup", "amount": "1"}), "distributor_cannot_top_up"),
        Spec::new("sup", "deduct_balance", json!({"distributor": "dis", "amount": "1.00", "note": "fix"}))
            .optional(&["note"])
            .id("/distributor", json!("nope"), Some(json!("dis2")), "not_partnered")
            .amounts(&["/amount"])
            .other("sup2", None, "not_partnered")
            .extra("a zero amount", json!({"distributor": "dis", "amount": "0.00"}), "bad_request")
            .extra("more than balance and credit", json!({"distributor": "dis", "amount": "100000"}), "credit_limit_exceeded"),
        Spec::new("sup", "set_credit", json!({"distributor": "dis", "enabled": true, "limit": "50"}))
            .id("/distributor", json!("nope"), Some(json!("dis2")), "not_partnered")
            .amounts(&["/limit"])
            .other("sup2", None, "not_partnered"),
        Spec::new("sup", "publish_product", json!({"sku": "NEW", "name": "New", "price": "1.00", "combination": false, "visible_to": ["dis"]}))
            .optional(&["combination", "visible_to"])
            .amounts(&["/price"])
            .extra("a published SKU", json!({"sku": "MUG", "name": "Mug", "price": "1.00"}), "bad_request")
            .extra("a zero price", json!({"sku": "NEW", "name": "New", "price": "0"}), "bad_request")
            .extra("too many distributors", json!({"sku": "NEW", "name": "New", "price": "1", "visible_to": many(VISIBLE_TO_MAX + 1, json!("dis"))}), "bad_request"),
        Spec::new("sup", "set_price", json!({"sku": "MUG", "price": "13.00"}))
            .id("/sku", json!("NOPE"), Some(json!("PEN")), "not_found")
            .amounts(&["/price"])
            .other("sup2", None, "not_found")
            .extra("a zero price", json!({"sku": "MUG", "price": "0.00"}), "bad_request"),
        Spec::new("sup", "set_distribution", json!({"sku": "HAT", "enabled": false}))
            .id("/sku", json!("NOPE"), Some(json!("PEN")), "not_found")
            .other("sup2", None, "not_found"),
        Spec::new("sup", "assign_warehouses", json!({"distributor": "dis", "warehouses": ["KL"]}))
            .id("/distributor", json!("nope"), Some(json!("dis2")), "not_found")
            .id("/warehouses/0", json!("NOPE"), Some(json!("PG")), "not_found")
            .other("sup2", None, "not_found")
            .extra("too many warehouses", json!({"distributor": "dis", "warehouses": many(ASSIGNED_WAREHOUSES_MAX + 1, json!("KL"))}), "bad_request"),
        Spec::new("sup", "push_stock", json!({"warehouse": "KL", "items": [{"sku": "MUG", "available": 50}]}))
            .id("/warehouse", json!("NOPE"), Some(json!("PG")), "not_found")
            .id("/items/0/sku", json!("NOPE"), Some(json!("PEN")), "not_found")
            .quantity("/items/0/available", QUANTITY_MAX)
            .other("sup2", None, "not_found")
            .extra("no items", json!({"warehouse": "KL", "items": []}), "bad_request")
            .extra("too many items", json!({"warehouse": "KL", "items": many(PUSH_ITEMS_MAX + 1, json!({"sku": "MUG", "available": 1}))}), "bad_request")
            .extra("a bad item after a good one", json!({"warehouse": "KL", "items": [{"sku": "MUG", "available": 7}, {"sku": "NOPE", "available": 1}]}), "not_found"),
        Spec::new("sup", "set_fees", json!({"handling": "2.00", "shipping": "3.00"}))
            .amounts(&["/handling", "/shipping"]),
        sup_order(Spec::new("sup", "ship_order", json!({"order": "shopee:1004", "distributor": "dis", "tracking_no": "TRK-1"})))
            .optional(&["tracking_no"])
            .extra("an order not yet pushed", json!({"order": "shopee:1002"}), "not_found")
            .extra("an order already shipped", json!({"order": "shopee:1006"}), "invalid_transition"),
        sup_order(Spec::new("sup", "confirm_pickup", json!({"order": "shopee:1005", "distributor": "dis"})))
            .extra("an order not at pickup", json!({"order": "shopee:1004"}), "invalid_transition"),
        sup_order(Spec::new("sup", "review_withdrawal", json!({"order": "shopee:1007", "distributor": "dis", "approve": true, "reason": "fine"})))
            .optional(&["reason"])
            .extra("no withdrawal requested", json!({"order": "shopee:1004", "approve": true}), "invalid_transition"),
        sup_order(Spec::new("sup", "after_sale_refund", json!({"order": "shopee:1006", "distributor": "dis", "amount": "1.00", "reason": "dented"})))
            .amounts(&["/amount"])
            .extra("more than the charge", json!({"order": "shopee:1006", "amount": "1000.00", "reason": "x"}), "bad_request")
            .extra("a zero refund", json!({"order": "shopee:1006", "amount": "0", "reason": "x"}), "bad_request"),
        // ---- distributor
        Spec::new("dis", "bind_supplier", json!({"link": sup2_fresh, "note": "hello"}))
            .optional(&["note"])
            .id("/link", json!(NO_SUCH_LINK), None, "invalid_invitation")
            .huge("/link", "invalid_invitation")
            .extra("not a link", json!({"link": "https://example.com/invite"}), "invalid_invitation")
            .extra("a supplier already partnered", json!({"link": spare}), "already_partnered"),
        Spec::new("dis", "set_supplier_note", json!({"supplier": "sup", "note": "a note"}))
            .id("/supplier", json!("nope"), Some(json!("sup2")), "not_found")
            .other("dis2", None, "not_found")
            .other("sup", None, "not_found"),
        Spec::new("dis", "set_fixed_rate", json!({"from": "MYR", "to": "JPY", "rate": "30"}))
            .amounts(&["/rate"])
            .extra("one currency twice", json!({"from": "JPY", "to": "JPY", "rate": "1"}), "bad_request")
            .extra("a negative rate", json!({"from": "MYR", "to": "JPY", "rate": "-30"}), "bad_request"),
        Spec::new("dis", "subscribe", json!({"web": false, "app": true})),
        Spec::new("dis", "create_sku", json!({"sku": "OWN2", "name": "Own two"}))
            .extra("an existing SKU", json!({"sku": "LOCAL", "name": "again"}), "bad_request"),
        Spec::new("dis", "claim", json!({"supplier": "sup", "skus": ["HAT"]}))
            .id("/supplier", json!("nope"), Some(json!("sup2")), "not_partnered")
            .id("/skus/0", json!("NOPE"), Some(json!("PEN")), "not_found")
            .other("dis2", None, "not_partnered")
            .other("sup", None, "not_partnered")
            .extra("a SKU visible to another distributor only", json!({"supplier": "sup", "skus": ["SECRET"]}), "not_found")
            .extra("a combination SKU", json!({"supplier": "sup", "skus": ["COMBO"]}), "combination_sku_unsupported")
            .extra("a disabled SKU", json!({"supplier": "sup", "skus": ["GLOVE"]}), "product_expired")
            .extra("no SKUs", json!({"supplier": "sup", "skus": []}), "bad_request")
            .extra("too many SKUs", json!({"supplier": "sup", "skus": many(CLAIM_SKUS_MAX + 1, json!("HAT"))}), "bad_request"),
        dis_sku(Spec::new("dis", "remove_expired", json!({"sku": "GLOVE"})))
            .other("sup", None, "not_found")
            .extra("a SKU not expired", json!({"sku": "MUG"}), "invalid_transition"),
        dis_sku(Spec::new("dis", "stop_distribution", json!({"sku": "MUG"})))
            .other("sup", None, "not_found")
            .extra("an own SKU", json!({"sku": "LOCAL"}), "not_found"),
        dis_sku(Spec::new("dis", "map_store_sku", json!({"sku": "LOCAL", "marketplace": "shopee", "shop": "dis-shop", "store_sku": "SP-LOCAL", "listing": {"item_id": "5"}})))
            .optional(&["listing"])
            .other("sup", None, "not_found")
            .extra("a listing id that is no string", json!({"sku": "LOCAL", "marketplace": "shopee", "shop": "dis-shop", "store_sku": "SP-L", "listing": {"item_id": 5}}), "bad_request")
            .extra("a marketplace spelled otherwise", json!({"sku": "LOCAL", "marketplace": "Shopee", "shop": "dis-shop", "store_sku": "SP-L"}), "bad_request")
            .extra("a marketplace the engine does not know", json!({"sku": "LOCAL", "marketplace": "amazon", "shop": "dis-shop", "store_sku": "SP-L"}), "bad_request"),
        Spec::new("dis", "add_supplier_warehouse", json!({"supplier": "sup", "warehouse": "JB"}))
            .id("/supplier", json!("nope"), Some(json!("sup2")), "not_found")
            .id("/warehouse", json!("NOPE"), Some(json!("PG")), "warehouse_not_assigned")
            .other("dis2", None, "not_found")
            .other("sup", None, "not_found"),
        Spec::new("sup", "warehouse_action", json!({"warehouse": "KL", "action": "shelf"}))
            .id("/warehouse", json!("NOPE"), Some(json!("PG")), "not_found")
            .other("sup2", None, "not_found")
            .other("dis", None, "virtual_warehouse")
            .extra("an unknown action", json!({"warehouse": "KL", "action": "dance"}), "bad_request"),
        Spec::new("dis", "export_claimed", json!({}))
            .other("dis2", None, "ok")
            .other("sup", None, "ok")
            .leaks(DIS_DATA),
        Spec::new("dis", "import_claimed", json!({"csv": "supplier,sku\nsup,HAT\n"}))
            .other("dis2", None, "not_partnered")
            .other("sup", None, "not_partnered")
            .huge("/csv", "bad_request")
            .extra("no columns", json!({"csv": "a;b\n1;2\n"}), "bad_request")
            .extra("a supplier not partnered", json!({"csv": "supplier,sku\nsup2,PEN\n"}), "not_partnered")
            .extra("a SKU visible to another distributor only", json!({"csv": "supplier,sku\nsup,SECRET\n"}), "not_found")
            .extra("a second claim from the supplier behind one local SKU", json!({"csv": "supplier,sku,local_sku\nsup,HAT,MUG\n"}), "bad_request")
            .extra("a good row, then a bad one", json!({"csv": "supplier,sku\nsup,HAT\nsup,NOPE\n"}), "not_found")
            .extra("a ragged row", json!({"csv": "supplier,sku\nsup,HAT,extra\n"}), "bad_request")
            .extra("more than the CSV bound", json!({"csv": format!("supplier,sku\n{}", "sup,HAT\n".repeat(CSV_BYTES_MAX / 8 + 1))}), "bad_request"),
        // Without the optional `shop`, which replaces the shop of every order of the payload.
        Spec::new("dis", "import_orders", json!({"marketplace": "shopee", "format": "canonical", "payload": [canonical("1100", json!(1))]}))
            .extra("a shop over the name bound", json!({"marketplace": "shopee", "shop": "s".repeat(distributary::command::NAME_CHARS_MAX + 1), "format": "canonical", "payload": [canonical("1100", json!(1))]}), "bad_request")
            .quantity("/payload/0/lines/0/qty", i64::from(LINE_QTY_MAX))
            .amounts(&["/payload/0/lines/0/unit_price"])
            .extra("a canonical line without its price", json!({"marketplace": "shopee", "format": "canonical", "payload": [{"marketplace": "shopee", "shop": "dis-shop", "order_sn": "1100", "status": "ready_to_ship", "lines": [{"store_sku": "SP-MUG", "qty": 1}]}]}), "bad_request")
            .extra("a marketplace the engine does not know", json!({"marketplace": "amazon", "format": "canonical", "payload": [{"marketplace": "amazon", "shop": "dis-shop", "order_sn": "1100", "status": "ready_to_ship", "lines": [{"store_sku": "SP-MUG", "qty": 1, "unit_price": "1.00"}]}]}), "bad_request")
            .extra("another marketplace's orders", json!({"marketplace": "lazada", "format": "canonical", "payload": [canonical("1100", json!(1))]}), "bad_request")
            .extra("a zero quantity", json!({"marketplace": "shopee", "format": "canonical", "payload": [canonical("1100", json!(0))]}), "bad_request")
            .extra("a payload that is no list", json!({"marketplace": "shopee", "format": "canonical", "payload": "orders"}), "bad_request")
            .extra("an unknown format", json!({"marketplace": "shopee", "format": "xml", "payload": []}), "bad_request")
            .extra("a native payload without a shop", json!({"marketplace": "shopee", "format": "native", "payload": {}}), "bad_request")
            .extra("a native payload that is garbage", json!({"marketplace": "shopee", "shop": "dis-shop", "format": "native", "payload": "<html>"}), "marketplace_error")
            .extra("an order without lines", json!({"marketplace": "shopee", "format": "canonical", "payload": [{"marketplace": "shopee", "shop": "dis-shop", "order_sn": "1101", "status": "unpaid", "lines": []}]}), "bad_request")
            .extra("a good order, then a bad one", json!({"marketplace": "shopee", "format": "canonical", "payload": [canonical("1100", json!(1)), canonical("1101", json!(0))]}), "bad_request")
            .extra("too many orders", json!({"marketplace": "shopee", "format": "canonical", "payload": many(IMPORT_ORDERS_MAX + 1, canonical("1100", json!(1)))}), "bad_request")
            .extra("too many lines", json!({"marketplace": "shopee", "format": "canonical", "payload": [{"marketplace": "shopee", "shop": "dis-shop", "order_sn": "1102", "status": "unpaid",
                   "lines": (0..=ORDER_LINES_MAX).map(|i| json!({"store_sku": format!("S{i}"), "qty": 1, "unit_price": "1.00"})).collect::<Vec<_>>()}]}), "bad_request"),
        dis_write(Spec::new("dis", "pack", json!({"order": "shopee:1001", "warehouse": "KL", "shipping": "platform"})), "/order")
            .optional(&["warehouse", "shipping"])
            .id("/warehouse", json!("NOPE"), Some(json!("PG")), "not_found")
            .extra("an unknown shipping", json!({"order": "shopee:1001", "shipping": "drone"}), "bad_request")
            .extra("an order already packed", json!({"order": "shopee:1002"}), "invalid_transition")
            .extra("a warehouse assigned but not added by the distributor", json!({"order": "shopee:1009/1", "warehouse": "JB"}), "not_found"),
        dis_write(Spec::new("dis", "split_order", json!({"order": "shopee:1001", "groups": [["SP-MUG"], ["SP-CAP"]]})), "/order")
            .extra("one group", json!({"order": "shopee:1001", "groups": [["SP-MUG", "SP-CAP"]]}), "bad_request")
            .extra("a line named twice", json!({"order": "shopee:1001", "groups": [["SP-MUG"], ["SP-CAP", "SP-MUG"]]}), "bad_request")
            .extra("a line not in the order", json!({"order": "shopee:1001", "groups": [["SP-MUG"], ["SP-CAP"], ["SP-X"]]}), "bad_request")
            .extra("an empty group", json!({"order": "shopee:1001", "groups": [["SP-MUG", "SP-CAP"], []]}), "bad_request"),
        dis_write(Spec::new("dis", "push", json!({"order": "shopee:1002"})), "/order")
            .extra("an order not packed", json!({"order": "shopee:1001"}), "invalid_transition"),
        dis_write(Spec::new("dis", "refresh", json!({"order": "shopee:1003"})), "/order"),
        dis_write(Spec::new("dis", "withdraw", json!({"order": "shopee:1004"})), "/order")
            .extra("an order not pushed", json!({"order": "shopee:1001"}), "invalid_transition"),
        dis_write(Spec::new("dis", "mark_shipped", json!({"order": "shopee:1004"})).control("invalid_transition"), "/order"),
        Spec::new("dis", "set_print_settings", json!({"documents": ["invoice", "delivery_receipt"]}))
            .extra("an unknown document", json!({"documents": ["invoice", "poster"]}), "bad_request"),
        dis_write(Spec::new("dis", "fire", json!({"entity": "distribution_order", "id": "shopee:1001", "event": "hold"})).control("invalid_transition"), "/id")
            .extra("another workflow", json!({"entity": "partnership", "id": "shopee:1001", "event": "hold"}), "bad_request")
            .extra("an event with a command of its own", json!({"entity": "distribution_order", "id": "shopee:1002", "event": "push"}), "bad_request"),
        Spec::new("dis", "connect_shop", json!({"marketplace": "shopee", "shop": "new-shop", "base_url": "https://partner.example.com", "credentials": shop_credentials}))
            .free("/credentials")
            .extra("a marketplace without an adapter", json!({"marketplace": "nope", "shop": "x", "base_url": "https://a.example", "credentials": {}}), "bad_request")
            .extra("a URL that is not http", json!({"marketplace": "shopee", "shop": "x", "base_url": "ftp://a.example", "credentials": {}}), "bad_request")
            .extra("credentials that are no object", json!({"marketplace": "shopee", "shop": "x", "base_url": "https://a.example", "credentials": "secret"}), "bad_request")
            .extra("credentials over the text bound", json!({"marketplace": "shopee", "shop": "x", "base_url": "https://a.example", "credentials": {"k": "x".repeat(distributary::command::TEXT_CHARS_MAX)}}), "bad_request")
            .extra("a push URL that is not http", json!({"marketplace": "shopee", "shop": "x", "base_url": "https://a.example", "credentials": {}, "push_url": "erp.example.com/hook"}), "bad_request"),
        Spec::new("dis", "sync_orders", json!({"marketplace": "shopee", "shop": "dis-shop", "since": "2026-11-26T00:00:00Z"}))
            .control("marketplace_error")
            .optional(&["since"])
            .id("/shop", json!("nope"), Some(json!("dis2-shop")), "not_found")
            .other("dis2", None, "not_found")
            .other("sup", None, "not_found")
            .extra("a since after the sync", json!({"marketplace": "shopee", "shop": "dis-shop", "since": "2027-01-01T00:00:00Z"}), "bad_request")
            .extra("a since that is no time", json!({"marketplace": "shopee", "shop": "dis-shop", "since": "yesterday"}), "bad_request")
            .extra("order ids with a since", json!({"marketplace": "shopee", "shop": "dis-shop", "since": "2026-11-26T00:00:00Z", "order_ids": ["A1"]}), "bad_request")
            .extra("no order ids", json!({"marketplace": "shopee", "shop": "dis-shop", "order_ids": []}), "bad_request")
            .extra("too many order ids", json!({"marketplace": "shopee", "shop": "dis-shop", "order_ids": (0..=distributary::shops::ORDER_IDS_MAX).map(|n| format!("A{n}")).collect::<Vec<_>>()}), "bad_request")
            .extra("an empty order id", json!({"marketplace": "shopee", "shop": "dis-shop", "order_ids": [""]}), "bad_request"),
        Spec::new("dis", "sync_stock", json!({"marketplace": "shopee", "shop": "dis-shop"}))
            .id("/shop", json!("nope"), Some(json!("dis2-shop")), "not_found")
            .other("dis2", None, "not_found")
            .other("sup", None, "not_found"),
        // ---- queries
        Spec::new("dis", "suppliers", json!({}))
            .other("dis2", None, "ok")
            .other("sup2", None, "ok")
            .other("dis", Some("sup_only"), "permission_denied")
            .leaks(DIS_DATA),
        Spec::new("dis", "balances", json!({}))
            .other("dis2", None, "ok")
            .other("sup2", None, "ok")
            .other("dis", Some("sup_only"), "ok")
            .leaks(DIS_DATA),
        Spec::new("dis", "transactions", json!({"supplier": "sup"}))
            .optional(&["supplier"])
            .id("/supplier", json!("nope"), Some(json!("sup2")), "not_found")
            .other("dis2", None, "not_found")
            .other("sup2", None, "not_found")
            .other("dis", Some("sup_only"), "not_found")
            .extra("both sides", json!({"supplier": "sup", "distributor": "dis"}), "bad_request"),
        Spec::new("dis", "notifications", json!({}))
            .other("dis2", None, "ok")
            .other("sup2", None, "ok")
            .leaks(DIS_DATA),
        Spec::new("dis", "products", json!({"tab": "claimed"}))
            .other("dis2", None, "ok")
            .other("sup2", None, "ok")
            .other("dis", Some("sup_only"), "permission_denied")
            .leaks(DIS_DATA)
            .extra("an unknown tab", json!({"tab": "everything"}), "bad_request"),
        dis_sku(Spec::new("dis", "price_history", json!({"sku": "MUG"}))).other("sup2", None, "not_found"),
        dis_sku(Spec::new("dis", "stock", json!({"sku": "MUG"})))
            .other("sup2", None, "not_found")
            .other("dis", Some("sup_only"), "not_found"),
        dis_sku(Spec::new("dis", "movements", json!({"sku": "MUG"}))).other("sup2", None, "not_found"),
        Spec::new("dis", "orders", json!({"state": "pushed"}))
            .optional(&["state"])
            .other("dis2", None, "ok")
            .other("sup2", None, "ok")
            .other("dis", Some("sup_only"), "ok")
            .leaks(DIS_DATA),
        dis_order(Spec::new("dis", "order", json!({"order": "shopee:1004", "distributor": "dis"})), "/order")
            .optional(&["distributor"])
            .id("/distributor", json!("nope"), Some(json!("dis2")), "not_found")
            .other("sup2", None, "not_found")
            .other("dis", Some("sup_only"), "not_found"),
        Spec::new("dis", "plugins", json!({})).other("dis2", None, "ok"),
        // The supplier's views of the same queries.
        Spec::new("sup", "products", json!({"tab": "published"}))
            .other("sup2", None, "ok")
            .other("dis2", None, "ok")
            .other("sup", Some("dis_only"), "permission_denied")
            .leaks(SUP_DATA),
        Spec::new("sup", "transactions", json!({"distributor": "dis"}))
            .optional(&["distributor"])
            .id("/distributor", json!("nope"), Some(json!("dis2")), "not_found")
            .other("sup2", None, "not_found")
            .other("dis2", None, "not_found")
            .other("sup", Some("dis_only"), "not_found"),
        Spec::new("sup", "balances", json!({}))
            .other("sup2", None, "ok")
            .other("sup", Some("dis_only"), "ok")
            .leaks(SUP_DATA),
        Spec::new("sup", "orders", json!({}))
            .other("sup2", None, "ok")
            .other("dis2", None, "ok")
            .other("sup", Some("dis_only"), "ok")
            .leaks(SUP_DATA),
        Spec::new("sup", "order", json!({"order": "shopee:1004"}))
            .id("/order", json!("shopee:9999"), Some(json!("shopee:2001")), "not_found")
            .other("sup2", None, "not_found")
            .other("dis2", None, "not_found")
            .other("sup", Some("dis_only"), "not_found"),
        Spec::new("sup", "distributors", json!({"status": "partnered"}))
            .optional(&["status"])
            .other("sup2", None, "ok")
            .other("dis2", None, "ok")
            .other("sup", Some("dis_only"), "permission_denied")
            .leaks(SUP_DATA)
            .leaks(&["NOTE-OF-DIS\"", "\"dis3\""])
            .extra("an unknown status", json!({"status": "approved"}), "bad_request"),
        Spec::new("dis", "shops", json!({}))
            .other("dis2", None, "ok")
            .other("sup2", None, "ok")
            .leaks(DIS_DATA),
        // ---- the rule lifecycle
        Spec::new("system", "reload_rules", json!({})),
        Spec::new("dis", "rules_version", json!({}))
            .other("dis2", None, "ok")
            .other("sup2", None, "ok"),
        dis_order(Spec::new("dis", "explain", json!({"entity": "distribution_order", "id": "shopee:1002"})), "/id")
            .other("sup2", None, "not_found")
            .other("dis", Some("sup_only"), "not_found")
            .leaks(DIS_DATA)
            .extra("an entity that is no workflow", json!({"entity": "order", "id": "shopee:1002"}), "bad_request")
            .extra("a partnership naming nothing", json!({"entity": "partnership", "id": "sup:nope:1"}), "not_found")
            .extra("another pair's partnership", json!({"entity": "partnership", "id": "sup2:dis2:1"}), "not_found")
            .extra("another distributor's claim", json!({"entity": "distribution_product", "id": "dis2:sup2:PEN:1"}), "not_found"),
        // ---- access (the server's tokens): a main user, for its own account only
        Spec::new("dis", "create_token", json!({"account": "dis", "user": "sup_only", "label": "erp"}))
            .optional(&["user"])
            .id("/account", json!("nope"), Some(json!("dis2")), "not_found")
            .id("/user", json!("nope"), Some(json!("ops")), "not_found")
            .other("dis2", None, "not_found")
            .other("sup", None, "not_found")
            .extra("a system token from an account", json!({"account": "system", "label": "erp"}), "not_found"),
        Spec::new("dis", "revoke_token", json!({"token_id": world.token_ids["dis"]}))
            .id("/token_id", json!("0000000000000000"), Some(json!(world.token_ids["dis2"])), "not_found")
            .other("dis2", None, "not_found")
            .other("sup", None, "not_found"),
        Spec::new("dis", "tokens", json!({"account": "dis"}))
            .optional(&["account"])
            .id("/account", json!("nope"), Some(json!("dis2")), "not_found")
            .other("dis2", None, "not_found")
            .other("sup", None, "not_found"),
    ]
}
