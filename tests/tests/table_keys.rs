//! Every table is keyed by the account it belongs to, so that the Citus plan of
//! docs/scale-out.md stays true as the schema changes: [`OWNERS`] declares each table's owning
//! column (its distribution column on a cluster) or that it is a reference table; on PostgreSQL
//! every primary key and unique index of a distributed table must lead with that column, which
//! is never null; SQLite must hold the same tables and the owning columns (it keeps its rowid
//! keys, see V9 in `engine/src/store/schema/mod.rs`); and the plan's own table must say what the
//! map says. Migrating a store at V8 keeps its rows and gives every audit row its owner.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use distributary::store::schema::{
    MIGRATIONS, POSTGRES_BASELINE, POSTGRES_BASELINE_VERSION, POSTGRES_MIGRATIONS,
};
use distributary::store::{Store, StoreOptions};
use distributary::{Engine, EngineOptions};
use distributary_tests::pg;
use postgres::{Client, NoTls};

/// Who owns a table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// A distributed table: the account column that owns each row, which leads every key.
    By(&'static str),
    /// A reference table: small, rarely written, read by every node, copied whole to each.
    Reference,
}

use Owner::{By, Reference};

/// Every table of the store and its owner. A table added to the schema must be added here and
/// to the plan's table in docs/scale-out.md.
const OWNERS: &[(&str, Owner)] = &[
    ("accounts", Reference),
    ("assigned_warehouses", By("distributor")),
    ("audit", By("account")),
    ("claims", By("distributor")),
    ("deliveries", By("distributor")),
    ("idempotency", By("account")),
    ("invitations", Reference),
    ("ledger_accounts", By("distributor")),
    ("listing_stock", By("account")),
    ("local_skus", By("account")),
    ("movements", By("account")),
    ("notifications", By("account")),
    ("orders", By("distributor")),
    ("partnerships", Reference),
    ("price_history", By("supplier")),
    ("print_settings", By("account")),
    ("product_visibility", By("supplier")),
    ("products", By("supplier")),
    ("push_notices", By("account")),
    ("rates", Reference),
    ("rule_loads", Reference),
    ("rule_packs", Reference),
    ("shops", By("account")),
    ("stock", By("account")),
    ("store_skus", By("account")),
    ("subscriptions", By("account")),
    ("supplier_fees", Reference),
    ("supplier_notes", By("distributor")),
    ("supplier_warehouses", By("distributor")),
    ("tokens", Reference),
    ("transactions", By("distributor")),
    ("users", By("account")),
    ("warehouses", Reference),
];

/// What the catalog says of the schema's keys.
#[derive(Debug, Default)]
struct Catalog {
    /// Every table and its columns.
    tables: BTreeMap<String, BTreeSet<String>>,
    /// Every primary key and unique index: `(table, index, first column)`; `None` when the
    /// index leads with an expression.
    uniques: Vec<(String, String, Option<String>)>,
    /// The tables with a primary key.
    keyed: BTreeSet<String>,
    /// `(table, column)` of every column that may hold null.
    nullable: BTreeSet<(String, String)>,
}

fn owners() -> BTreeMap<&'static str, Owner> {
    OWNERS.iter().copied().collect()
}

/// Every way the catalog breaks the map, each as a sentence naming the table; empty when none.
fn problems(catalog: &Catalog, keys_checked: bool) -> Vec<String> {
    let owners = owners();
    let mut found = Vec::new();
    for (table, columns) in &catalog.tables {
        match owners.get(table.as_str()) {
            None => found.push(format!(
                "table `{table}` has no owner: add it to OWNERS in tests/tests/table_keys.rs \
                 (its owning account column, or `Reference`) and to the plan's table in \
                 docs/scale-out.md"
            )),
            Some(By(column)) if !columns.contains(*column) => found.push(format!(
                "table `{table}` has no column `{column}`, its declared owner"
            )),
            Some(By(column)) if keys_checked => {
                if !catalog.keyed.contains(table) {
                    found.push(format!("table `{table}` has no primary key"));
                }
                if catalog
                    .nullable
                    .contains(&(table.clone(), (*column).to_owned()))
                {
                    found.push(format!(
                        "`{table}.{column}` may be null: a distribution column never is"
                    ));
                }
            }
            Some(_) => {}
        }
    }
    for table in owners.keys() {
        if !catalog.tables.contains_key(*table) {
            found.push(format!(
                "OWNERS names `{table}`, which the schema does not have: remove it there and \
                 in docs/scale-out.md"
            ));
        }
    }
    if keys_checked {
        for (table, index, first) in &catalog.uniques {
            let Some(By(owner)) = owners.get(table.as_str()) else {
                continue;
            };
            if first.as_deref() != Some(*owner) {
                found.push(format!(
                    "`{index}` on `{table}` leads with {}, not with its owner `{owner}`: a \
                     distributed table's unique keys must lead with its distribution column",
                    first
                        .as_deref()
                        .map_or("an expression".to_owned(), |c| format!("`{c}`"))
                ));
            }
        }
    }
    found
}

fn postgres_catalog(client: &mut Client) -> Catalog {
    let mut catalog = Catalog::default();
    for row in client
        .query(
            "SELECT c.table_name::text, c.column_name::text, c.is_nullable = 'YES'
             FROM information_schema.columns c JOIN information_schema.tables t
             ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
             AND c.table_name <> 'distributary_schema'",
            &[],
        )
        .expect("the columns are read")
    {
        let (table, column, nullable): (String, String, bool) =
            (row.get(0), row.get(1), row.get(2));
        if nullable {
            catalog.nullable.insert((table.clone(), column.clone()));
        }
        catalog.tables.entry(table).or_default().insert(column);
    }
    for row in client
        .query(
            "SELECT t.relname::text, i.relname::text, x.indisprimary, a.attname::text
             FROM pg_index x
             JOIN pg_class t ON t.oid = x.indrelid
             JOIN pg_class i ON i.oid = x.indexrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
             WHERE n.nspname = 'public' AND x.indisunique AND t.relname <> 'distributary_schema'",
            &[],
        )
        .expect("the indexes are read")
    {
        let (table, index, primary, first): (String, String, bool, Option<String>) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if primary {
            catalog.keyed.insert(table.clone());
        }
        catalog.uniques.push((table, index, first));
    }
    catalog
}

fn sqlite_catalog(path: &Path) -> Catalog {
    let conn = rusqlite::Connection::open(path).expect("the store opens");
    let mut statement = conn
        .prepare(
            "SELECT m.name, p.name FROM sqlite_schema m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
        )
        .expect("the query prepares");
    let rows = statement
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("the query runs");
    let mut catalog = Catalog::default();
    for row in rows {
        let (table, column) = row.expect("a row");
        catalog.tables.entry(table).or_default().insert(column);
    }
    catalog
}

#[test]
fn every_postgres_key_leads_with_the_account_that_owns_the_row() {
    let Some(db) = pg::Database::create("the table keys") else {
        return;
    };
    drop(Engine::open(&db.path(), EngineOptions::default()).expect("the engine opens"));
    let mut client = Client::connect(db.url(), NoTls).expect("the database answers");
    let catalog = postgres_catalog(&mut client);
    assert!(
        catalog.tables.len() >= OWNERS.len(),
        "{:?}",
        catalog.tables.keys()
    );
    let found = problems(&catalog, true);
    assert!(found.is_empty(), "{}", found.join("\n"));

    // The check reads the real catalog: a table it was not told of, and a unique index that
    // does not lead with the owner, are both named.
    client
        .batch_execute(
            "CREATE TABLE parcels (parcel TEXT PRIMARY KEY, distributor TEXT NOT NULL);
             CREATE UNIQUE INDEX orders_by_sn ON orders (order_sn, distributor);",
        )
        .expect("the extra table and index are made");
    let found = problems(&postgres_catalog(&mut client), true).join("\n");
    assert!(
        found.contains("table `parcels` has no owner: add it to OWNERS")
            && found.contains("docs/scale-out.md"),
        "{found}"
    );
    assert!(
        found.contains("`orders_by_sn` on `orders` leads with `order_sn`"),
        "{found}"
    );
}

#[test]
fn sqlite_holds_the_same_tables_and_every_owning_column() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("keys.db");
    drop(Engine::open(&path, EngineOptions::default()).expect("the engine opens"));
    let found = problems(&sqlite_catalog(&path), false);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_check_names_what_breaks_the_map() {
    let mut catalog = Catalog::default();
    for (table, owner) in OWNERS {
        let column = match owner {
            By(column) => *column,
            Reference => "id",
        };
        catalog
            .tables
            .insert((*table).to_owned(), BTreeSet::from([column.to_owned()]));
        catalog.keyed.insert((*table).to_owned());
        catalog.uniques.push((
            (*table).to_owned(),
            format!("{table}_pkey"),
            Some(column.to_owned()),
        ));
    }
    assert_eq!(problems(&catalog, true), Vec::<String>::new());
    catalog.tables.remove("rule_loads");
    catalog.keyed.remove("orders");
    catalog.nullable.insert(("stock".into(), "account".into()));
    catalog
        .uniques
        .push(("claims".into(), "claims_by_id".into(), Some("claim".into())));
    catalog
        .uniques
        .push(("movements".into(), "movements_by_expr".into(), None));
    catalog.uniques.push((
        "tokens".into(),
        "tokens_rowid_key".into(),
        Some("rowid".into()),
    ));
    assert_eq!(
        problems(&catalog, true),
        [
            "table `orders` has no primary key",
            "`stock.account` may be null: a distribution column never is",
            "OWNERS names `rule_loads`, which the schema does not have: remove it there and in \
             docs/scale-out.md",
            "`claims_by_id` on `claims` leads with `claim`, not with its owner `distributor`: a \
             distributed table's unique keys must lead with its distribution column",
            "`movements_by_expr` on `movements` leads with an expression, not with its owner \
             `account`: a distributed table's unique keys must lead with its distribution column",
        ]
    );
}

/// The plan's table in docs/scale-out.md: each row `| \`table\` | \`column\` or reference | …`.
fn plan_owners() -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/scale-out.md");
    let text = std::fs::read_to_string(&path).expect("docs/scale-out.md is read");
    text.lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let table = cells.get(1)?.trim_matches('`');
            let owner = cells.get(2)?;
            Some((table.to_owned(), owner.trim_matches('`').to_owned()))
        })
        .collect()
}

#[test]
fn the_scale_out_plan_says_what_the_map_says() {
    let declared: BTreeMap<String, String> = OWNERS
        .iter()
        .map(|(table, owner)| {
            let owner = match owner {
                By(column) => (*column).to_owned(),
                Reference => "reference".to_owned(),
            };
            ((*table).to_owned(), owner)
        })
        .collect();
    assert_eq!(plan_owners(), declared);
}

/// A store's rows at V8, in the SQL both dialects share: two distributors' orders of the same
/// name (one acted on by the supplier), a partnership, a claim, a migration's row whose entity
/// is gone, and a ledger.
const ROWS_AT_V8: &str = "
INSERT INTO accounts VALUES ('sup', 'V2', 1, 'MYR', 't0'), ('dist', 'V1', 1, 'MYR', 't0'),
    ('dist2', 'V1', 1, 'MYR', 't0');
INSERT INTO invitations (token, supplier, warehouses, expires_at, created_at)
    VALUES ('tok', 'sup', '[]', 't9', 't0');
INSERT INTO partnerships (partnership, supplier, distributor, state, token, created_at, updated_at)
    VALUES ('sup:dist:1', 'sup', 'dist', 'partnered', 'tok', 't0', 't0');
INSERT INTO products VALUES ('sup', 'MUG', 'Mug', '5', 0, 1, 1, 't0');
INSERT INTO local_skus VALUES ('dist', 'L1', 'l', 't0');
INSERT INTO claims VALUES ('dist:sup:MUG:1', 'dist', 'sup', 'MUG', 'L1', 'claimed', NULL, 'MYR', 't0');
INSERT INTO orders (distributor, order_name, marketplace, shop, order_sn, state,
    marketplace_status, currency, address, created_at, updated_at, lines, audit_head)
    VALUES ('dist', 'shopee:1', 'shopee', 's1', '1', 'packed', 'r', 'MYR', '{}', 't1', 't2', '[]', 4),
           ('dist2', 'shopee:1', 'shopee', 's1', '1', 'pending', 'r', 'MYR', '{}', 't1', 't2', '[]', 5);
INSERT INTO audit (seq, entity_kind, entity_id, from_state, to_state, event, actor,
    rules_version, guards, at, prev) VALUES
    (1, 'distribution_order', 'shopee:1', NULL, 'pending', 'import', 'dist', 'v', '[]', 't', NULL),
    (2, 'partnership', 'sup:dist:1', NULL, 'invited', 'bind', 'dist', 'v', '[]', 't', NULL),
    (3, 'distribution_product', 'dist:sup:MUG:1', NULL, 'claimed', 'claim', 'dist', 'v', '[]', 't', NULL),
    (4, 'distribution_order', 'shopee:1', 'pending', 'packed', 'pack', 'sup', 'v', '[]', 't', 1),
    (5, 'distribution_order', 'shopee:1', NULL, 'pending', 'import', 'dist2', 'v', '[]', 't', NULL),
    (6, 'partnership', 'gone', 'invited', 'partnered', 'migrate', 'rules', 'v', '[]', 't', NULL);
INSERT INTO ledger_accounts (supplier, distributor, currency, balance)
    VALUES ('sup', 'dist', 'MYR', '90');
INSERT INTO transactions (seq, txn_id, supplier, distributor, kind, amount, currency,
    balance_after, at) VALUES (1, 'T1', 'sup', 'dist', 'add_balance', '90', 'MYR', '90', 't');
INSERT INTO movements (seq, account, supplier, warehouse, sku, kind, before, after, at)
    VALUES (1, 'dist', 'sup', 'KL', 'MUG', 'k', 0, 3, 't');
";

/// Each audit row's owner after V9: an order's distributor (found through its chain, whoever
/// acted), a partnership's supplier, a claim's distributor, and the actor where the entity is
/// gone.
const OWNERS_AFTER_V9: [(i64, &str); 6] = [
    (1, "dist"),
    (2, "sup"),
    (3, "dist"),
    (4, "dist"),
    (5, "dist2"),
    (6, "rules"),
];

/// The tables whose rows [`ROWS_AT_V8`] writes, but `audit`, which gains a column.
const KEPT: [&str; 10] = [
    "accounts",
    "invitations",
    "partnerships",
    "products",
    "local_skus",
    "claims",
    "orders",
    "ledger_accounts",
    "transactions",
    "movements",
];

#[test]
fn a_sqlite_store_at_v8_migrates_with_its_rows_and_every_audit_row_owned() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("v8.db");
    let conn = rusqlite::Connection::open(&path).expect("the store opens");
    for migration in &MIGRATIONS[..8] {
        conn.execute_batch(migration).expect("a migration runs");
    }
    conn.pragma_update(None, "user_version", 8_i64)
        .expect("the version is set");
    conn.execute_batch(ROWS_AT_V8)
        .expect("the rows are written");
    let dump = |conn: &rusqlite::Connection| -> Vec<Vec<String>> {
        KEPT.iter()
            .map(|table| {
                let mut statement = conn
                    .prepare(&format!("SELECT * FROM {table}"))
                    .expect("the dump prepares");
                let columns = statement.column_count();
                let mut rows: Vec<String> = statement
                    .query_map([], |r| {
                        let values: Vec<String> = (0..columns)
                            .map(|i| format!("{:?}", r.get_ref(i).expect("a value")))
                            .collect();
                        Ok(values.join("|"))
                    })
                    .expect("the dump runs")
                    .map(|row| row.expect("a row"))
                    .collect();
                rows.sort();
                rows
            })
            .collect()
    };
    let before = dump(&conn);
    drop(conn);
    let store = Store::open(&path, &StoreOptions::default()).expect("the store migrates");
    assert_eq!(store.schema_version().expect("a version"), MIGRATIONS.len());
    drop(store);
    let conn = rusqlite::Connection::open(&path).expect("the store opens");
    assert_eq!(dump(&conn), before);
    let owners: Vec<(i64, String)> = conn
        .prepare("SELECT seq, account FROM audit ORDER BY seq")
        .expect("the query prepares")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("the query runs")
        .map(|row| row.expect("a row"))
        .collect();
    let expected: Vec<(i64, String)> = OWNERS_AFTER_V9
        .iter()
        .map(|(seq, owner)| (*seq, (*owner).to_owned()))
        .collect();
    assert_eq!(owners, expected);
}

#[test]
fn a_postgres_store_at_v8_is_re_keyed_with_its_rows_and_every_audit_row_owned() {
    let Some(db) = pg::Database::create("the V8 store") else {
        return;
    };
    assert_eq!(
        POSTGRES_BASELINE_VERSION + 1,
        8,
        "the store below is built at V8"
    );
    let mut client = Client::connect(db.url(), NoTls).expect("the database answers");
    client
        .batch_execute(POSTGRES_BASELINE)
        .expect("the baseline runs");
    client
        .batch_execute(POSTGRES_MIGRATIONS[0])
        .expect("V8 runs");
    client
        .batch_execute(
            "CREATE TABLE distributary_schema (version BIGINT NOT NULL);
             INSERT INTO distributary_schema (version) VALUES (8);",
        )
        .expect("the version is set");
    client
        .batch_execute(ROWS_AT_V8)
        .expect("the rows are written");
    let dump = |client: &mut Client| -> Vec<Vec<String>> {
        KEPT.iter()
            .map(|table| {
                client
                    .query(&format!("SELECT t::text FROM {table} t ORDER BY 1"), &[])
                    .expect("the dump runs")
                    .iter()
                    .map(|row| row.get(0))
                    .collect()
            })
            .collect()
    };
    let before = dump(&mut client);
    let store = Store::open(&db.path(), &StoreOptions::default()).expect("the store migrates");
    assert_eq!(store.schema_version().expect("a version"), MIGRATIONS.len());
    drop(store);
    assert_eq!(dump(&mut client), before);
    let owners: Vec<(i64, String)> = client
        .query("SELECT seq, account FROM audit ORDER BY seq", &[])
        .expect("the audit is read")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let expected: Vec<(i64, String)> = OWNERS_AFTER_V9
        .iter()
        .map(|(seq, owner)| (*seq, (*owner).to_owned()))
        .collect();
    assert_eq!(owners, expected);
    let found = problems(&postgres_catalog(&mut client), true);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn every_audit_row_the_engine_writes_is_owned_by_its_entitys_owner() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut kinds = BTreeSet::new();
    for file in [
        "02_partnership.yaml",
        "05_catalog.yaml",
        "07_orders.yaml",
        "12_wave2_orders.yaml",
        "17_rules_migrate.yaml",
    ] {
        let path = dir.path().join(format!("{file}.db"));
        let scenario = distributary_tests::repo_root()
            .join("tests/scenarios")
            .join(file);
        distributary_tests::run_file_on(&scenario, &path).expect("the scenario passes");
        let conn = rusqlite::Connection::open(&path).expect("the store opens");
        let mut statement = conn
            .prepare(
                "SELECT a.seq, a.entity_kind, a.entity_id, a.account FROM audit a
                 WHERE NOT CASE a.entity_kind
                     WHEN 'distribution_order' THEN EXISTS (SELECT 1 FROM orders o
                         WHERE o.distributor = a.account AND o.order_name = a.entity_id)
                     WHEN 'partnership' THEN a.account = (SELECT p.supplier FROM partnerships p
                         WHERE p.partnership = a.entity_id)
                     WHEN 'distribution_product' THEN a.account = (SELECT c.distributor
                         FROM claims c WHERE c.claim = a.entity_id)
                     ELSE 0 END",
            )
            .expect("the query prepares");
        let strays: Vec<(i64, String, String, String)> = statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("the query runs")
            .map(|row| row.expect("a row"))
            .collect();
        assert!(strays.is_empty(), "{file}: {strays:?}");
        let mut statement = conn
            .prepare("SELECT DISTINCT entity_kind FROM audit")
            .expect("the query prepares");
        let found = statement
            .query_map([], |r| r.get::<_, String>(0))
            .expect("the query runs");
        kinds.extend(found.map(|kind| kind.expect("a kind")));
    }
    assert_eq!(
        kinds,
        BTreeSet::from([
            "distribution_order".to_owned(),
            "distribution_product".to_owned(),
            "partnership".to_owned(),
        ])
    );
}
