//! PostgreSQL for the suites that run on both backends. `DISTRIBUTARY_TEST_PG` holds the URL of a
//! database on a server (`postgres://postgres@127.0.0.1:5432/test`); a test makes a fresh
//! database of its own there ([`Database::create`]) and drops it when done. Without the variable
//! (a newcomer's `cargo test` on a machine with no PostgreSQL) a suite says loudly that it was
//! skipped, and passes; under CI (`CI=true`) it fails instead, since CI always provides one.

use std::{
    path::PathBuf,
    sync::atomic::{AtomicUsize, Ordering},
};

use postgres::{Client, NoTls};

/// The environment variable with the server's URL.
pub const ENV: &str = "DISTRIBUTARY_TEST_PG";

/// A database made for one test, dropped (with its connections) when this drops.
pub struct Database {
    admin: String,
    name: String,
    url: String,
}

/// The table where the engine's migrations keep the schema's version (engine/src/store/pg.rs).
pub const SCHEMA_VERSION_TABLE: &str = "distributary_schema";

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Database {
    /// A fresh, empty database (bytewise collation, as the engine asks), or `None` after a
    /// banner saying `suite` was skipped when [`ENV`] is not set.
    pub fn create(suite: &str) -> Option<Database> {
        let Ok(admin) = std::env::var(ENV) else {
            skipped(suite);
            return None;
        };
        let name = fresh_name();
        let mut client = Client::connect(&admin, NoTls)
            .unwrap_or_else(|e| panic!("{ENV}={admin} does not answer: {e}"));
        // One statement each: several in one message would run in a transaction, which
        // `CREATE DATABASE` refuses.
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' \
                 LC_CTYPE 'C'"
            ),
        ] {
            client
                .batch_execute(&sql)
                .unwrap_or_else(|e| panic!("cannot create database {name}: {e:?}"));
        }
        let url = with_database(&admin, &name);
        Some(Database { admin, name, url })
    }

    /// Where the engine opens it (`--db`, `Engine::open`).
    pub fn path(&self) -> PathBuf {
        PathBuf::from(&self.url)
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new database holding what this one holds (`CREATE DATABASE .. TEMPLATE`, a file copy on
    /// the server). PostgreSQL refuses while anything else is connected to this one: close its
    /// engines first.
    pub fn copy(&self) -> Database {
        let name = fresh_name();
        let mut client = Client::connect(&self.admin, NoTls)
            .unwrap_or_else(|e| panic!("{ENV}={} does not answer: {e}", self.admin));
        client
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {}", self.name))
            .unwrap_or_else(|e| panic!("cannot copy database {} to {name}: {e:?}", self.name));
        let url = with_database(&self.admin, &name);
        Database {
            admin: self.admin.clone(),
            name,
            url,
        }
    }

    /// A connection of the test's own, to look at the database under the engine.
    pub fn client(&self) -> Client {
        Client::connect(&self.url, NoTls)
            .unwrap_or_else(|e| panic!("database {} does not answer: {e}", self.name))
    }

    /// Empties every table but the schema's version table, identities restarted: the database
    /// as the engine's migrations left it, for the next case of a property test (far cheaper than
    /// a database per case). Nothing may be connected to it but idle connections.
    pub fn reset(&self) {
        let mut client = self.client();
        let tables: Vec<String> = client
            .query(
                "SELECT quote_ident(table_name) FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
                 AND table_name <> $1 ORDER BY table_name",
                &[&SCHEMA_VERSION_TABLE],
            )
            .unwrap_or_else(|e| panic!("cannot list the tables of {}: {e:?}", self.name))
            .iter()
            .map(|row| row.get(0))
            .collect();
        if tables.is_empty() {
            return;
        }
        client
            .batch_execute(&format!("TRUNCATE {} RESTART IDENTITY", tables.join(", ")))
            .unwrap_or_else(|e| panic!("cannot empty {}: {e:?}", self.name));
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // A database left behind by a failed drop is named for its process: harmless.
        if let Ok(mut client) = Client::connect(&self.admin, NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A database name no other test of any process uses.
fn fresh_name() -> String {
    format!(
        "distributary_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `url` naming database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let (address, query) = match url.split_once('?') {
        Some((address, query)) => (address, Some(query)),
        None => (url, None),
    };
    let host_start = address.find("://").map_or(0, |i| i + 3);
    let root = match address[host_start..].find('/') {
        Some(i) => &address[..host_start + i],
        None => address,
    };
    match query {
        Some(query) => format!("{root}/{name}?{query}"),
        None => format!("{root}/{name}"),
    }
}

fn skipped(suite: &str) {
    assert!(
        std::env::var("CI").map_or(true, |ci| ci != "true"),
        "{suite} on PostgreSQL: CI must set {ENV} (.ci/run starts a server)"
    );
    let banner = "!".repeat(78);
    // Straight to the process's stderr: the test harness captures `eprintln!` of a passing test,
    // and a skip nobody sees is not loud.
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "{banner}\n!!! SKIPPED: {suite} on PostgreSQL: {ENV} is not set (a server's URL, e.g.\n\
             !!! postgres://postgres@127.0.0.1:5432/test). Nothing ran on PostgreSQL.\n{banner}\n"
        )
        .as_bytes(),
    );
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_is_replaced_in_the_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
