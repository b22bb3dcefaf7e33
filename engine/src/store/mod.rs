//! The durable store: the only module that writes SQL. The rest of the engine talks to it
//! through [`Tx`] methods that take and return the engine's own types; the statements are
//! written once, in the SQL both dialects share, and run through the connection layer (`db/`),
//! the one module that names a database client, so a second backend (PostgreSQL) is a second arm
//! there and nothing else.

mod catalog;
pub(crate) mod db;
mod deliveries;
mod inventory;
mod known_orders;
mod ledger;
mod lifecycle;
mod memo;
mod notices;
mod orders;
mod pg;
mod queries;
mod shops;
mod tokens;

pub use catalog::PRICE_HISTORY_MAX;
pub use db::{is_postgres, DbError};
pub use inventory::{movement, ClearScope, MOVEMENTS_PAGE_MAX};
pub use lifecycle::{DecisionRow, OrderCharge, Parties, RecordedDecision, RulesLoad};
pub use notices::{NewNotice, Notice};
pub use shops::{Shop, ShopConnection, ShopStoreSku, SHOP_STORE_SKUS_MAX};
pub use tokens::{TokenRow, TOKENS_LIST_MAX};
pub mod schema;

use std::path::Path;

use crate::error::{Code, Error};
use db::{Access, Conn, Kind, Txn};
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

/// Options for opening a store.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// How durable each commit is.
    pub durability: Durability,
}

/// An open store.
pub struct Store {
    conn: Conn,
    memo: Memo,
    /// Whether the last write failed for a conflict with another process's transaction
    /// (PostgreSQL), so that running it again may succeed ([`Store::conflicted`]).
    conflicted: bool,
}

impl Store {
    /// Opens (creating if needed) the store at `path` (`:memory:` for a throwaway one) and
    /// migrates it to the current schema.
    pub fn open(path: &Path, options: &StoreOptions) -> Result<Store, Error> {
        let memo = Memo::for_location(path);
        let conn = Conn::open(path, Access::Create, options, Some(memo.written()))?;
        let mut store = Store {
            conn,
            memo,
            conflicted: false,
        };
        store.conn.migrate(schema::MIGRATIONS)?;
        Ok(store)
    }

    /// Opens an existing store at its current schema to read it, migrating nothing: a store of
    /// another schema version is refused (`internal`).
    pub fn open_existing(path: &Path) -> Result<Store, Error> {
        Store::open_at_schema(path, Access::Existing)
    }

    /// Opens an existing store at its current schema for reading only (SQLite's read-only
    /// mode: no statement can write the file), as a backtest does; a store of another schema
    /// version is refused (`internal`).
    pub fn open_read_only(path: &Path) -> Result<Store, Error> {
        Store::open_at_schema(path, Access::ReadOnly)
    }

    /// Opens an existing store with `access`, refusing one whose schema is not this engine's.
    fn open_at_schema(path: &Path, access: Access) -> Result<Store, Error> {
        let conn = Conn::open(path, access, &StoreOptions::default(), None)?;
        let store = Store {
            conn,
            memo: Memo::for_location(path),
            conflicted: false,
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
        Ok(self.conn.schema_version()?)
    }

    /// Runs `work` in one write transaction (`BEGIN IMMEDIATE`): committed when it returns `Ok`,
    /// rolled back — nothing changed — when it returns `Err`.
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
        self.conflicted = false;
        let tx = self.conn.begin(Kind::Write)?;
        self.memo.begin(tx.data_version()?);
        let outcome = work(&Tx::new(Txn::new(&tx), &self.memo));
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
        if outcome.is_err() {
            self.conflicted = self.conn.take_conflict();
        }
        outcome
    }

    /// Whether the last write failed for a conflict with another process's transaction (on
    /// PostgreSQL: a serialization failure, a deadlock, a key inserted first by another, a row
    /// another changed under a check, `db::Txn::lost_race`), so that running it again may
    /// succeed. Never on SQLite.
    pub fn conflicted(&self) -> bool {
        self.conflicted
    }

    /// Rolls back a transaction left open (a panic whose unwinding could not roll it back);
    /// does nothing when none is. The memo is forgotten either way: what a panicking command
    /// read may be gone.
    pub fn roll_back_open_transaction(&self) -> Result<(), Error> {
        self.memo.clear();
        Ok(self.conn.roll_back_open_transaction()?)
    }

    /// Runs `work` in a read transaction (a consistent snapshot); nothing it does is kept.
    pub fn read<T>(&mut self, work: impl FnOnce(&Tx<'_>) -> Result<T, Error>) -> Result<T, Error> {
        let tx = self.conn.begin(Kind::Read)?;
        self.memo.begin(tx.data_version()?);
        let rows = self.memo.written().rows();
        let value = work(&Tx::new(Txn::new(&tx), &self.memo));
        tx.rollback()?;
        if self.memo.written().rows() != rows {
            self.memo.clear();
        }
        value
    }

    /// [`Store::read`] for a `work` of one statement that reads no memoised table (a token
    /// check): on SQLite the statement runs alone, its own snapshot, without the transaction's
    /// `BEGIN`, `ROLLBACK` and the memo's version check around it (three statements of four,
    /// at every request a server authenticates). A `work` of several statements would read
    /// several snapshots: use [`Store::read`].
    pub fn read_one<T>(
        &mut self,
        work: impl FnOnce(&Tx<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        if let Some(db) = self.conn.autocommit() {
            // Nothing of the memo is trusted without its version check.
            self.memo.clear();
            return work(&Tx::new(db, &self.memo));
        }
        self.read(work)
    }
}

/// An open transaction; every query of the engine is a method of it (see `queries.rs`), run
/// through the connection layer's [`Txn`].
pub struct Tx<'a> {
    db: Txn<'a>,
    memo: &'a Memo,
    /// The ledger's last row number this transaction took (`Tx::next_transaction_seq`).
    ledger_seq: std::cell::Cell<Option<i64>>,
    /// The cells `Tx::lock_cells` locked, as read then, each until it is changed (PostgreSQL).
    locked_cells: std::cell::RefCell<inventory::LockedCells>,
    /// The orders this transaction wrote or read ahead (`known_orders::KnownOrders`).
    known_orders: std::cell::RefCell<known_orders::KnownOrders>,
}

impl<'a> Tx<'a> {
    fn new(db: Txn<'a>, memo: &'a Memo) -> Tx<'a> {
        Tx {
            db,
            memo,
            ledger_seq: std::cell::Cell::new(None),
            locked_cells: std::cell::RefCell::default(),
            known_orders: std::cell::RefCell::default(),
        }
    }

    /// Runs one statement (a constant of the store's own); answers how many rows it changed.
    fn exec(&self, sql: &'static str, params: impl db::Params) -> db::Result<usize> {
        self.db.exec(sql, params)
    }

    /// Reads the one row of a statement.
    fn row<T>(
        &self,
        sql: &'static str,
        params: impl db::Params,
        map: impl FnOnce(&db::Row<'_>) -> db::Result<T>,
    ) -> db::Result<T> {
        self.db.row(sql, params, map)
    }

    /// Reads the one row of a statement whose text is built at run time.
    fn row_built<T>(
        &self,
        sql: &str,
        params: impl db::Params,
        map: impl FnOnce(&db::Row<'_>) -> db::Result<T>,
    ) -> db::Result<T> {
        self.db.row_built(sql, params, map)
    }

    /// Reads every row of a statement.
    fn rows<T>(
        &self,
        sql: &'static str,
        params: impl db::Params,
        map: impl FnMut(&db::Row<'_>) -> db::Result<T>,
    ) -> db::Result<Vec<T>> {
        self.db.rows(sql, params, map)
    }

    /// Reads every row of a statement whose text is built at run time.
    fn rows_built<T>(
        &self,
        sql: &str,
        params: impl db::Params,
        map: impl FnMut(&db::Row<'_>) -> db::Result<T>,
    ) -> db::Result<Vec<T>> {
        self.db.rows_built(sql, params, map)
    }
}

impl Tx<'_> {
    /// Starts a command's savepoint.
    pub fn savepoint(&self) -> Result<(), Error> {
        self.exec("SAVEPOINT command", ())?;
        Ok(())
    }

    /// Keeps what the command did (until the transaction commits).
    pub fn release(&self) -> Result<(), Error> {
        self.exec("RELEASE command", ())?;
        Ok(())
    }

    /// Undoes everything since [`Tx::savepoint`]; the savepoint stays open.
    pub fn rollback_to(&self) -> Result<(), Error> {
        self.exec("ROLLBACK TO command", ())?;
        // Rows come back without the update hook hearing of it.
        self.memo.clear();
        self.ledger_seq.set(None);
        self.locked_cells.borrow_mut().clear();
        self.known_orders.borrow_mut().clear();
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
            .sqlite()
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(on, 1);
    }
}
