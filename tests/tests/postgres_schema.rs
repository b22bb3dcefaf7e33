//! PostgreSQL's schema says what SQLite's says: the same tables with the same columns, so that a
//! migration written for one dialect and not the other fails here
//! (`engine/src/store/schema/postgres.rs`).

use std::collections::BTreeSet;

use distributary::{Engine, EngineOptions};
use distributary_tests::pg;
use postgres::{Client, NoTls};

/// `(table, column)` of every column of the store's tables.
type Columns = BTreeSet<(String, String)>;

fn sqlite_columns() -> Columns {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("schema.db");
    drop(Engine::open(&path, EngineOptions::default()).expect("the engine opens"));
    let conn = rusqlite::Connection::open(&path).expect("the store opens");
    let mut statement = conn
        .prepare(
            "SELECT m.name, p.name FROM sqlite_schema m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
        )
        .expect("the query prepares");
    let rows = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("the query runs");
    rows.map(|row| row.expect("a row")).collect()
}

fn postgres_columns(url: &str) -> Columns {
    let mut client = Client::connect(url, NoTls).expect("the database answers");
    let rows = client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> 'distributary_schema'
             AND column_name <> 'rowid'",
            &[],
        )
        .expect("the query runs");
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

#[test]
fn postgres_has_the_tables_and_columns_sqlite_has() {
    let Some(db) = pg::Database::create("the schema comparison") else {
        return;
    };
    drop(Engine::open(&db.path(), EngineOptions::default()).expect("the engine opens"));
    let (sqlite, postgres) = (sqlite_columns(), postgres_columns(db.url()));
    assert!(sqlite.len() > 100, "{sqlite:?}");
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "only in SQLite: {only_sqlite:?}\nonly in PostgreSQL: {only_postgres:?}"
    );
}

#[test]
fn a_store_opened_twice_is_migrated_once() {
    let Some(db) = pg::Database::create("the reopened store") else {
        return;
    };
    let first = Engine::open(&db.path(), EngineOptions::default()).expect("the engine opens");
    let second = Engine::open(&db.path(), EngineOptions::default()).expect("it opens again");
    drop((first, second));
    let mut client = Client::connect(db.url(), NoTls).expect("the database answers");
    let version: i64 = client
        .query_one("SELECT version FROM distributary_schema", &[])
        .expect("one version")
        .get(0);
    assert_eq!(
        usize::try_from(version).ok(),
        Some(distributary::store::schema::MIGRATIONS.len())
    );
}
