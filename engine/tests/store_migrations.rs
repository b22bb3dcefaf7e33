//! The store migrates a file made by every earlier schema version, and refuses a newer one.

use std::path::Path;

use distributary::store::{schema::MIGRATIONS, Store, StoreOptions};

fn store_at_version(path: &Path, version: usize) {
    let conn = rusqlite::Connection::open(path).unwrap();
    for migration in &MIGRATIONS[..version] {
        conn.execute_batch(migration).unwrap();
    }
    conn.pragma_update(None, "user_version", version as i64)
        .unwrap();
}

#[test]
fn every_earlier_version_migrates_to_the_current_one() {
    for version in 0..=MIGRATIONS.len() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        store_at_version(&path, version);
        let store = Store::open(&path, &StoreOptions::default()).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            MIGRATIONS.len(),
            "from version {version}"
        );
        drop(store);
        let conn = rusqlite::Connection::open(&path).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let fk: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(fk, 0);
    }
}

#[test]
fn a_store_from_a_newer_engine_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    store_at_version(&path, MIGRATIONS.len());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", (MIGRATIONS.len() + 1) as i64)
        .unwrap();
    drop(conn);
    let error = Store::open(&path, &StoreOptions::default())
        .err()
        .expect("refused");
    assert!(
        error.message().contains("newer than this engine"),
        "{}",
        error.message()
    );
}

#[test]
fn every_table_is_strict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    drop(Store::open(&path, &StoreOptions::default()).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut stmt = conn.prepare("SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite_%'").unwrap();
    let tables: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(tables.len() > 10);
    for (name, strict) in tables {
        assert_eq!(strict, 1, "table {name} is not STRICT");
    }
}

/// The first column of every row `sql` reads.
fn column<T: rusqlite::types::FromSql>(conn: &rusqlite::Connection, sql: &str) -> Vec<T> {
    conn.prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Every row of `table`, each as text, in primary-key order.
fn dump(conn: &rusqlite::Connection, table: &str, order_by: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM {table} ORDER BY {order_by}"))
        .unwrap();
    let columns = stmt.column_count();
    stmt.query_map([], |r| {
        let values: Vec<String> = (0..columns)
            .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
            .collect();
        Ok(values.join("|"))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn the_rebuilt_order_tables_keep_their_rows_and_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    store_at_version(&path, 2);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "INSERT INTO accounts VALUES ('sup', 'V2', 1, 'MYR', 't0'), ('dist', 'V1', 1, 'MYR', 't0');
         INSERT INTO ledger_accounts (supplier, distributor, currency, balance)
             VALUES ('sup', 'dist', 'MYR', '90.30');
         INSERT INTO transactions (txn_id, supplier, distributor, kind, order_name, amount,
             currency, balance_after, note, at)
             VALUES ('T000000000001', 'sup', 'dist', 'add_balance', NULL, '100', 'MYR', '100', NULL, 't1'),
                    ('T000000000002', 'sup', 'dist', 'order_charge', 'shopee:1', '-9.70', 'MYR', '90.30', NULL, 't2');
         INSERT INTO orders (distributor, order_name, marketplace, shop, order_sn, state,
             marketplace_status, currency, address, supplier, warehouse, charges, charged,
             documents, created_at, updated_at)
             VALUES ('dist', 'shopee:1', 'shopee', 's1', '1', 'pushing', 'ready_to_ship', 'MYR',
                     '{}', 'sup', 'N', '{\"total\":\"9.70\"}', 1, NULL, 't1', 't2'),
                    ('dist', 'shopee:2', 'shopee', 's1', '2', 'pushed', 'ready_to_ship', 'MYR',
                     '{}', 'sup', 'N', NULL, 0, '[]', 't1', 't2');
         INSERT INTO order_lines (distributor, order_name, line, store_sku, qty, unit_price)
             VALUES ('dist', 'shopee:1', 1, 'A', 2, '4.85'), ('dist', 'shopee:1', 2, 'B', 1, '1'),
                    ('dist', 'shopee:2', 1, 'A', 1, '4.85');
         INSERT INTO deliveries (distributor, order_name, supplier, done, created_at)
             VALUES ('dist', 'shopee:2', 'sup', 1, 't2'), ('dist', 'shopee:1', 'sup', 0, 't2');",
    )
    .unwrap();
    let tables = [("transactions", "seq")];
    let columns = "distributor, order_name, marketplace, shop, order_sn, parent, state,
        marketplace_status, cancel_flagged, currency, address, supplier, warehouse, shipping,
        tracking_no, charges, charged, stock_locked, refunded_after_sale, documents,
        withdrawn_from, failure, created_at, updated_at";
    let orders = |conn: &rusqlite::Connection| {
        dump(
            conn,
            &format!("(SELECT {columns} FROM orders)"),
            "distributor, order_name",
        )
    };
    let before: Vec<_> = tables.iter().map(|(t, o)| dump(&conn, t, o)).collect();
    let orders_before = orders(&conn);
    drop(conn);
    drop(Store::open(&path, &StoreOptions::default()).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let after: Vec<_> = tables.iter().map(|(t, o)| dump(&conn, t, o)).collect();
    assert_eq!(before, after);
    assert_eq!(orders_before, orders(&conn));
    assert_eq!(orders_before.len(), 2);
    // Each order's lines moved into its row, in line order, every field kept.
    let lines: Vec<serde_json::Value> = conn
        .prepare("SELECT lines FROM orders ORDER BY order_name")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|text| serde_json::from_str(&text.unwrap()).unwrap())
        .collect();
    let line = |n: i64, sku: &str, qty: i64, price: &str| {
        serde_json::json!([n, sku, qty, price, null, null, null, null])
    };
    assert_eq!(
        lines,
        [
            serde_json::json!([line(1, "A", 2, "4.85"), line(2, "B", 1, "1")]),
            serde_json::json!([line(1, "A", 1, "4.85")]),
        ]
    );
    // The queue keeps only the pending delivery (migration 4); the supplier's partial index
    // answers what its queries ask, the delivered order.
    let pending: Vec<i64> = column(&conn, "SELECT seq FROM deliveries ORDER BY seq");
    assert_eq!(pending, [2]);
    let delivered: Vec<String> = column(&conn, "SELECT order_name FROM orders INDEXED BY orders_by_supplier WHERE supplier = 'sup' AND documents IS NOT NULL");
    assert_eq!(delivered, ["shopee:2"]);
}

#[test]
fn an_orders_audit_rows_become_a_chain_from_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    store_at_version(&path, 3);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let audit = |seq: i64, kind: &str, id: &str, to: &str| {
        format!("({seq}, '{kind}', '{id}', NULL, '{to}', 'e', 'dist', NULL, 'v', '[]', 't')")
    };
    conn.execute_batch(&format!(
        "INSERT INTO accounts VALUES ('dist', 'V1', 1, 'MYR', 't0');
         INSERT INTO orders (distributor, order_name, marketplace, shop, order_sn, state,
             marketplace_status, currency, address, created_at, updated_at, lines)
             VALUES ('dist', 'shopee:1', 'shopee', 's1', '1', 'packed', 'ready_to_ship', 'MYR',
                     '{{}}', 't1', 't2', '[]'),
                    ('dist', 'shopee:2', 'shopee', 's1', '2', 'pending', 'ready_to_ship', 'MYR',
                     '{{}}', 't1', 't2', '[]'),
                    ('dist', 'shopee:3', 'shopee', 's1', '3', 'pending', 'ready_to_ship', 'MYR',
                     '{{}}', 't1', 't2', '[]');
         INSERT INTO audit (seq, entity_kind, entity_id, from_state, to_state, event, actor,
             user, rules_version, guards, at) VALUES {}, {}, {}, {}, {};",
        audit(1, "distribution_order", "shopee:1", "pending"),
        audit(2, "distribution_order", "shopee:2", "pending"),
        audit(3, "partnership", "shopee:1", "partnered"),
        audit(4, "distribution_order", "shopee:1", "packed"),
        audit(5, "distribution_order", "shopee:1", "packed"),
    ))
    .unwrap();
    drop(conn);
    drop(Store::open(&path, &StoreOptions::default()).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let heads = dump(&conn, "(SELECT order_sn + 0, audit_head FROM orders)", "1");
    assert_eq!(
        heads,
        [
            "Integer(1)|Integer(5)",
            "Integer(2)|Integer(2)",
            "Integer(3)|Null"
        ]
    );
    // Each of an order's rows names its previous one; another entity's rows are not chained.
    let prevs = dump(&conn, "(SELECT seq, prev FROM audit)", "seq");
    assert_eq!(
        prevs,
        [
            "Integer(1)|Null",
            "Integer(2)|Null",
            "Integer(3)|Null",
            "Integer(4)|Integer(1)",
            "Integer(5)|Integer(4)"
        ]
    );
    // The other entities' rows are still found by the (now partial) index.
    let found: Vec<i64> = column(&conn, "SELECT seq FROM audit INDEXED BY audit_by_entity WHERE entity_id = 'shopee:1' AND entity_kind = 'partnership' AND entity_kind <> 'distribution_order'");
    assert_eq!(found, [3]);
}

#[test]
fn a_cells_movements_become_a_chain_from_the_cell() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    store_at_version(&path, 3);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let movement = |seq: i64, warehouse: &str, after: i64| {
        format!("({seq}, 'dist', 'sup', '{warehouse}', 'MUG', 'k', 0, {after}, 't')")
    };
    conn.execute_batch(&format!(
        "INSERT INTO stock VALUES ('dist', 'sup', 'KL', 'MUG', 3, 0), ('dist', 'sup', 'JB', 'MUG', 2, 0),
             ('dist', 'sup', 'PG', 'MUG', 0, 0);
         INSERT INTO movements (seq, account, supplier, warehouse, sku, kind, before, after, at)
             VALUES {}, {}, {}, {};",
        movement(1, "KL", 1),
        movement(2, "JB", 2),
        movement(3, "KL", 2),
        movement(4, "KL", 3),
    ))
    .unwrap();
    drop(conn);
    drop(Store::open(&path, &StoreOptions::default()).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(
        dump(&conn, "(SELECT available, last_movement FROM stock)", "1"),
        [
            "Integer(0)|Null",
            "Integer(2)|Integer(2)",
            "Integer(3)|Integer(4)"
        ]
    );
    assert_eq!(
        dump(&conn, "(SELECT seq, prev FROM movements)", "seq"),
        [
            "Integer(1)|Null",
            "Integer(2)|Null",
            "Integer(3)|Integer(1)",
            "Integer(4)|Integer(3)"
        ]
    );
}
