//! `distributary bench megasale --processes 2`, small: the workers share the sale out by
//! distributor, every order ends delivered (the bench checks it and fails otherwise), and the
//! figures name what ran. On SQLite (the processes take turns on the file) and on PostgreSQL
//! (skipped with the banner without `DISTRIBUTARY_TEST_PG`), where the database the bench made
//! is gone afterwards. Figures only: no timing is asserted.

use std::process::Command;

use postgres::{Client, NoTls};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_distributary");
const ORDERS: u64 = 120;

/// Runs a small sale in two processes on `db` (a SQLite file or a server's URL) and answers its
/// figures. The adapters are loaded from beside the binary: the workspace build puts them there.
fn megasale(db: &str) -> Value {
    let out = Command::new(BIN)
        .args([
            "bench",
            "megasale",
            "--json",
            "--processes",
            "2",
            "--db",
            db,
        ])
        .args(["--orders", &ORDERS.to_string()])
        .args(["--suppliers", "1", "--distributors", "3", "--skus", "4"])
        .args(["--batch", "25", "--import-chunk", "10"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

fn assert_ran(figures: &Value, store: &str) {
    assert_eq!(figures["orders"], ORDERS, "{figures}");
    assert_eq!(figures["processes"], 2, "{figures}");
    assert_eq!(figures["store"], store, "{figures}");
    // Every order leaves rows, the ceiling wrote as many.
    assert!(
        figures["rows_per_order"].as_f64().unwrap() >= 3.0,
        "{figures}"
    );
    assert!(
        figures["ceiling_rows_per_s"].as_f64().unwrap() > 0.0,
        "{figures}"
    );
}

#[test]
fn two_processes_share_a_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sale.db");
    let figures = megasale(db.to_str().unwrap());
    assert_ran(&figures, "SQLite");
}

#[test]
fn two_processes_share_a_postgres_database_the_bench_drops() {
    let Some(pg) = distributary_tests::pg::Database::create("bench megasale --processes 2") else {
        return;
    };
    let figures = megasale(pg.url());
    assert_ran(&figures, "PostgreSQL");
    assert_eq!(figures["durability"], "synchronous_commit=on", "{figures}");
    assert!(
        figures["commits_per_order"].as_f64().unwrap() > 0.0,
        "{figures}"
    );
    let made = figures["database"].as_str().unwrap();
    assert!(made.starts_with("distributary_megasale_"), "{figures}");
    let mut client = Client::connect(pg.url(), NoTls).unwrap();
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&made],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the bench's database {made} was left behind");
}
