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
