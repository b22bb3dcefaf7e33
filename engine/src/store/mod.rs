//! The durable store: SQLite through rusqlite, the only module that writes SQL. The rest of the
//! engine talks to it through [`Tx`] methods that take and return the engine's own types, so a
//! second backend (PostgreSQL) replaces this module and nothing else.

mod catalog;
mod inventory;
mod ledger;
mod lifecycle;
mod memo;
mod notices;
mod orders;
mod queries;
mod shops;
mod tokens;

pub use catalog::PRICE_HISTORY_MAX;
pub use inventory::{movement, ClearScope, MOVEMENTS_PAGE_MAX};
pub use lifecycle::{DecisionRow, OrderCharge, Parties, RecordedDecision, RulesLoad};
pub use notices::{NewNotice, Notice};
pub use shops::{Shop, ShopConnection, ShopStoreSku, SHOP_STORE_SKUS_MAX};
pub use tokens::{TokenRow, TOKENS_LIST_MAX};
pub mod schema;

use std::{cell::RefCell, collections::HashMap, path::Path, time::Duration};

use rusqlite::{CachedStatement, Connection, OpenFlags, Statement, TransactionBehavior};

use crate::error::{Code, Error};
use memo::{Memo, Table};

/// How long a command waits for another process's write transaction before giving up; a host
/// never sees `SQLITE_BUSY` short of this.
pub const BUSY_TIMEOUT_MS: u64 = 30_000;

/// How durable a commit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: a committed command survives a power cut. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL` in WAL mode: a committed command survives a crash of the process, but
    /// the last commits before a power cut or OS crash may roll back. Never corrupts the store.
    Normal,
}

/// How many prepared statements a connection keeps: more than the engine has, so none is ever
/// parsed twice.
const STATEMENT_CACHE_CAPACITY: usize = 512;

/// The page cache of a connection, in KiB.
const PAGE_CACHE_KIB: i64 = 64 * 1024;

/// How much of a store opened read only is memory-mapped (`PRAGMA mmap_size`); the rest, if
/// any, is read through the page cache.
const READ_ONLY_MMAP_BYTES: i64 = 1 << 30;

/// Pages in the write-ahead log that start a checkpoint (SQLite's default is 1,000).
const WAL_CHECKPOINT_PAGES: i64 = 10_000;

/// Options for opening a store.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// How durable each commit is.
    pub durability: Durability,
}

/// An open store.
pub struct Store {
    conn: Connection,
    memo: Memo,
}

impl Store {
    /// Opens (creating if needed) the store at `path` (`:memory:` for a throwaway one) and
    /// migrates it to the current schema.
    pub fn open(path: &Path, options: &StoreOptions) -> Result<Store, Error> {
        let conn = if path.as_os_str() == ":memory:" {
            Connection::open_in_memory()?
        } else {
            Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?
        };
        conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let synchronous = match options.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous)?;
        // A single command runs in a savepoint, and so does each command of a batch run again
        // after a failure; the sub-journal of the pages they first touch stays in memory instead
        // of a temporary file.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // A page cache big enough for the indexes a busy day touches (the default is 2 MiB).
        conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
        // Checkpoint the write-ahead log every ~40 MiB rather than every 4 MiB: a page written by
        // many commits (a ledger account, an index's last leaf) is copied back once, not ten times.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)?;
        // Every statement the engine runs stays prepared (rusqlite keeps 16 by default).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        let memo = Memo::default();
        let written = memo.written();
        conn.update_hook(Some(move |_, _: &str, table: &str, _| {
            written.row_written(table);
        }));
        // Off while migrating (see `migrate`; the bundled SQLite turns them on by default).
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        let mut store = Store { conn, memo };
        store.migrate()?;
        store.conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(store)
    }

    /// Opens an existing store at its current schema to read it, migrating nothing: a store of
    /// another schema version is refused (`internal`).
    pub fn open_existing(path: &Path) -> Result<Store, Error> {
        Store::open_at_schema(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
    }

    /// Opens an existing store at its current schema for reading only (SQLite's read-only
    /// mode: no statement can write the file), as a backtest does; a store of another schema
    /// version is refused (`internal`).
    pub fn open_read_only(path: &Path) -> Result<Store, Error> {
        let store = Store::open_at_schema(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        // A backtest scans the whole history: pages read in place from the mapping instead of
        // copied by a `pread` each (the kernel's copy was a tenth of a replay, BENCHMARKS.md).
        store
            .conn
            .pragma_update(None, "mmap_size", READ_ONLY_MMAP_BYTES)?;
        Ok(store)
    }

    /// Opens an existing store with `mode`, refusing one whose schema is not this engine's.
    fn open_at_schema(path: &Path, mode: OpenFlags) -> Result<Store, Error> {
        let conn = Connection::open_with_flags(path, mode | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))?;
        let store = Store {
            conn,
            memo: Memo::default(),
        };
        let version = store.schema_version()?;
        if version != schema::MIGRATIONS.len() {
            return Err(Error::new(
                Code::Internal,
                format!(
                    "the store has schema version {version}, this engine's is {}; open it with \
                     the engine first",
                    schema::MIGRATIONS.len()
                ),
            ));
        }
        Ok(store)
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<usize, Error> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        Ok(usize::try_from(version).unwrap_or(usize::MAX))
    }

    /// Applies the migrations the store lacks, in one transaction. Foreign keys are off while
    /// they run (they are turned on after), because rebuilding a table — create the new one, copy,
    /// drop the old, rename — is only possible so (SQLite's documented procedure); every key is
    /// checked before the commit instead.
    fn migrate(&mut self) -> Result<(), Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let applied = usize::try_from(version).unwrap_or(usize::MAX);
        if applied > schema::MIGRATIONS.len() {
            return Err(Error::new(
                Code::Internal,
                format!(
                    "the store has schema version {applied}, newer than this engine's {}",
                    schema::MIGRATIONS.len()
                ),
            ));
        }
        for (index, migration) in schema::MIGRATIONS.iter().enumerate().skip(applied) {
            tx.execute_batch(migration)?;
            tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        }
        let broken: i64 =
            tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })?;
        if broken != 0 {
            return Err(Error::new(
                Code::Internal,
                format!("migrating the store would break {broken} foreign keys"),
            ));
        }
        tx.commit()?;
        Ok(())
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction: committed when it returns `Ok`, rolled
    /// back — nothing changed — when it returns `Err`.
    pub fn write<T>(&mut self, work: impl FnOnce(&Tx<'_>) -> Result<T, Error>) -> Result<T, Error> {
        self.write_or_abandon(|tx| work(tx).map(Some))?
            .ok_or_else(|| Error::new(Code::Internal, "a write was abandoned"))
    }

    /// Like [`Store::write`], but `work` may also give up without an error: it returns
    /// `Ok(None)`, everything it did is rolled back, and so is answered `Ok(None)`.
    pub fn write_or_abandon<T>(
        &mut self,
        work: impl FnOnce(&Tx<'_>) -> Result<Option<T>, Error>,
    ) -> Result<Option<T>, Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        self.memo.begin(data_version(&tx)?);
        let outcome = work(&Tx::new(&tx, &self.memo));
        let outcome = outcome.and_then(|value| {
            let Some(value) = value else {
                tx.rollback()?;
                return Ok(None);
            };
            failpoint!("commit.before", |code| Err(Error::failpoint(
                "commit.before",
                code
            )));
            tx.commit()?;
            Ok(Some(value))
        });
        if !matches!(outcome, Ok(Some(_))) {
            // Rolled back: rows come back without the update hook hearing of it.
            self.memo.clear();
        }
        outcome
    }

    /// Rolls back a transaction left open (a panic whose unwinding could not roll it back);
    /// does nothing when none is. The memo is forgotten either way: what a panicking command
    /// read may be gone.
    pub fn roll_back_open_transaction(&self) -> Result<(), Error> {
        self.memo.clear();
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("ROLLBACK")?;
        }
        Ok(())
    }

    /// Runs `work` in a read transaction (a consistent snapshot); nothing it does is kept.
    pub fn read<T>(&mut self, work: impl FnOnce(&Tx<'_>) -> Result<T, Error>) -> Result<T, Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)?;
        self.memo.begin(data_version(&tx)?);
        let rows = self.memo.written().rows();
        let value = work(&Tx::new(&tx, &self.memo));
        tx.rollback()?;
        if self.memo.written().rows() != rows {
            self.memo.clear();
        }
        value
    }
}

/// The store's version as this connection sees it: it changes when another connection commits.
fn data_version(tx: &rusqlite::Transaction<'_>) -> Result<i64, Error> {
    Ok(tx
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))?)
}

/// An open transaction; every query of the engine is a method of it (see `queries.rs`).
pub struct Tx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    memo: &'a Memo,
    /// The statements this transaction has used, by the address of their SQL text: a hot path
    /// finds its statement without hashing and comparing the text, as the connection's cache
    /// does (`prepare_cached`). They go back to that cache when the transaction ends.
    ///
    /// Measured against `prepare_cached` alone (callgrind, a 2,000-order mega-sale, December):
    /// the pack and push phases take 6.6% more instructions without this map and
    /// `order_updates` (3.4% for the constant texts, 3.2% for building an order's `UPDATE` text
    /// at every update); see BENCHMARKS.md, "Wave 2".
    statements: RefCell<HashMap<(usize, usize), CachedStatement<'a>>>,
    /// The `UPDATE` statements of orders this transaction has used, by the columns they set
    /// (`orders.rs`): the text is built and looked up in the connection's cache once per set of
    /// columns and transaction, not at every update.
    order_updates: RefCell<HashMap<Vec<&'static str>, CachedStatement<'a>>>,
}

impl<'a> Tx<'a> {
    fn new(tx: &'a rusqlite::Transaction<'a>, memo: &'a Memo) -> Tx<'a> {
        Tx {
            tx,
            memo,
            statements: RefCell::default(),
            order_updates: RefCell::default(),
        }
    }

    /// Runs `work` with the prepared statement of `sql`, a constant of the store's own. A
    /// statement in use is taken out of the map, so a nested use of the same text (a query
    /// inside another's loop) prepares a second one instead of sharing it.
    fn with<T>(
        &self,
        sql: &'static str,
        work: impl FnOnce(&mut Statement<'a>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let key = (sql.as_ptr() as usize, sql.len());
        let taken = self.statements.borrow_mut().remove(&key);
        let mut statement = match taken {
            Some(statement) => statement,
            None => self.tx.prepare_cached(sql)?,
        };
        let result = work(&mut statement);
        self.statements.borrow_mut().insert(key, statement);
        result
    }

    /// Runs `work` with the prepared `UPDATE` of an order's `columns`, whose text `build`
    /// makes; taken out of the map while in use, as [`Tx::with`] does.
    fn with_order_update<T>(
        &self,
        columns: Vec<&'static str>,
        build: impl FnOnce(&[&'static str]) -> String,
        work: impl FnOnce(&mut Statement<'a>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let taken = self.order_updates.borrow_mut().remove(&columns);
        let mut statement = match taken {
            Some(statement) => statement,
            None => self.tx.prepare_cached(&build(&columns))?,
        };
        let result = work(&mut statement);
        self.order_updates.borrow_mut().insert(columns, statement);
        result
    }

    /// Runs one statement.
    fn exec(&self, sql: &'static str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.with(sql, |statement| statement.execute(params))
    }

    /// Reads the one row of a statement.
    fn row<T>(
        &self,
        sql: &'static str,
        params: impl rusqlite::Params,
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.with(sql, |statement| statement.query_row(params, map))
    }

    /// Reads the one row of a statement whose text is built at run time.
    fn row_built<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.tx.prepare_cached(sql)?.query_row(params, map)
    }

    /// Reads every row of a statement.
    fn rows<T>(
        &self,
        sql: &'static str,
        params: impl rusqlite::Params,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Vec<T>> {
        self.with(sql, |statement| statement.query_map(params, map)?.collect())
    }
}

impl Tx<'_> {
    /// Starts a command's savepoint.
    pub fn savepoint(&self) -> Result<(), Error> {
        self.exec("SAVEPOINT command", [])?;
        Ok(())
    }

    /// Keeps what the command did (until the transaction commits).
    pub fn release(&self) -> Result<(), Error> {
        self.exec("RELEASE command", [])?;
        Ok(())
    }

    /// Undoes everything since [`Tx::savepoint`]; the savepoint stays open.
    pub fn rollback_to(&self) -> Result<(), Error> {
        self.exec("ROLLBACK TO command", [])?;
        // Rows come back without the update hook hearing of it.
        self.memo.clear();
        Ok(())
    }

    /// A read of rows from `table`, memoised until a row of `table` is written, a rollback, or
    /// another connection's commit (see `memo.rs`).
    fn memo<V: Clone + Send + 'static>(
        &self,
        table: Table,
        key: &[&str],
        read: impl FnOnce() -> Result<V, Error>,
    ) -> Result<V, Error> {
        self.memo.get(table, key, read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_keys_are_enforced_after_migrating() {
        let store = Store::open(Path::new(":memory:"), &StoreOptions::default()).unwrap();
        let on: i64 = store
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(on, 1);
    }
}
