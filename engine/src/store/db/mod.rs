//! The connection layer: the one module of the store that names a database client (with
//! `pg.rs`, PostgreSQL's client). This file opens, migrates and begins (`Conn`, `Transaction`);
//! `txn.rs` runs a transaction's statements; `values.rs` binds and reads values. The statement
//! files (`queries.rs`, `orders.rs`, ...) write their SQL once, in the subset SQLite and
//! PostgreSQL share (`?N` or `:name` placeholders, `INSERT ... ON CONFLICT`), and run it through
//! [`Txn`], binding [`Param`]s and reading [`Column`]s of a [`Row`]. What differs between the
//! dialects is chosen here, once: opening and tuning a connection, migrating, beginning a
//! transaction (`BEGIN IMMEDIATE`), the sequence number of an inserted row, statement caching.
//!
//! Two backends: SQLite (a file, the embedded default) and PostgreSQL (`postgres://...`, many
//! processes sharing one database; its client in `pg.rs`). Each `match` on [`Conn`],
//! [`Transaction`] and [`Txn`] is where they part.

use std::{cell::RefCell, path::Path, time::Duration};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::{memo::Written, pg::Pg, schema, Durability, StoreOptions, BUSY_TIMEOUT_MS};
use crate::error::{Code, Error};

mod txn;
mod values;
pub use txn::*;
pub use values::*;

/// How many prepared statements a connection keeps: more than the engine has, so none is ever
/// parsed twice.
const STATEMENT_CACHE_CAPACITY: usize = 512;

/// The page cache of a connection, in KiB.
const PAGE_CACHE_KIB: i64 = 64 * 1024;

/// Pages in the write-ahead log that start a checkpoint (SQLite's default is 1,000).
const WAL_CHECKPOINT_PAGES: i64 = 10_000;

/// How much of a store opened read only is memory-mapped (`PRAGMA mmap_size`); the rest, if
/// any, is read through the page cache.
const READ_ONLY_MMAP_BYTES: i64 = 1 << 30;

/// What a statement of the store fails with.
#[derive(Debug)]
pub enum DbError {
    /// A query that must answer one row answered none ([`Optional::optional`] makes it `None`).
    NoRows,
    /// A column held a value its reader could not take (a decimal or JSON text that does not
    /// parse).
    Column {
        /// The column's index in the row.
        index: usize,
        /// Why it could not be read.
        message: String,
    },
    /// What SQLite answered.
    Sqlite(rusqlite::Error),
    /// What PostgreSQL answered.
    Postgres(tokio_postgres::Error),
    /// A write that had to change one row changed none (or several): the row is no longer what
    /// the command read (on PostgreSQL, another transaction's commit came between). Says which.
    LostRace(String),
    /// The transaction cannot commit: a write sent with a later statement failed (PostgreSQL's
    /// pipeline, `pg.rs`), and was reported there.
    Broken,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::NoRows => write!(f, "query returned no rows"),
            DbError::Column { index, message } => {
                write!(f, "column {index} could not be read: {message}")
            }
            DbError::Sqlite(error) => error.fmt(f),
            DbError::Postgres(error) => match error.as_db_error() {
                Some(db) => write!(f, "{} ({})", db.message(), db.code().code()),
                None => error.fmt(f),
            },
            DbError::LostRace(row) => {
                write!(
                    f,
                    "{row} changed under us: it is no longer what the command read"
                )
            }
            DbError::Broken => write!(f, "a write of the transaction failed: it was rolled back"),
        }
    }
}

impl std::error::Error for DbError {}

impl DbError {
    /// A column that held a value its reader could not take.
    pub fn column(index: usize, error: impl std::fmt::Display) -> DbError {
        DbError::Column {
            index,
            message: error.to_string(),
        }
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(error: rusqlite::Error) -> DbError {
        match error {
            rusqlite::Error::QueryReturnedNoRows => DbError::NoRows,
            error => DbError::Sqlite(error),
        }
    }
}

/// A failure of the store is a failure of the machine to the host: `internal`.
impl From<DbError> for Error {
    fn from(error: DbError) -> Error {
        Error::new(Code::Internal, format!("store: {error}"))
    }
}

impl From<rusqlite::Error> for Error {
    fn from(error: rusqlite::Error) -> Error {
        Error::from(DbError::from(error))
    }
}

/// The result of a statement.
pub type Result<T> = std::result::Result<T, DbError>;

/// Turns "no row" into `None`.
pub trait Optional<T> {
    /// `Ok(None)` for [`DbError::NoRows`], the row otherwise.
    fn optional(self) -> Result<Option<T>>;
}

impl<T> Optional<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(DbError::NoRows) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

// --- connections

/// A connection to a store.
pub enum Conn {
    /// A SQLite database file (or `:memory:`).
    Sqlite(Connection),
    /// A PostgreSQL database (boxed: its client and runtime are larger than a SQLite
    /// connection).
    Postgres(Box<Pg>),
}

/// How a connection is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read and write, creating the store if needed.
    Create,
    /// Read and write an existing store.
    Existing,
    /// Read an existing store; no statement can write it.
    ReadOnly,
}

/// What a transaction may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Writes: on SQLite the only writer of the store until it ends (`BEGIN IMMEDIATE`); on
    /// PostgreSQL `READ COMMITTED`, locking the rows it will change ([`Txn::locks`]).
    Write,
    /// Reads a consistent snapshot.
    Read,
}

/// The SQL dialect of a connection, for the few statements written once per dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Whether `location` names a PostgreSQL database (`postgres://` or `postgresql://`) rather
/// than a SQLite file.
pub fn is_postgres(location: &Path) -> bool {
    location
        .to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

impl Conn {
    /// Opens the store at `path`: a PostgreSQL URL, or a SQLite file (`:memory:` for a throwaway
    /// one). A SQLite store opened to create is tuned for the engine's writes and reports every
    /// row written to `written` (the memo's update hook); foreign keys are off until
    /// [`Conn::migrate`] turns them on.
    pub fn open(
        path: &Path,
        access: Access,
        options: &StoreOptions,
        written: Option<Written>,
    ) -> Result<Conn> {
        if is_postgres(path) {
            let url = path.to_str().unwrap_or_default();
            return Ok(Conn::Postgres(Box::new(Pg::connect(
                url,
                access == Access::ReadOnly,
                written,
            )?)));
        }
        let conn = if access == Access::Create && path.as_os_str() == ":memory:" {
            Connection::open_in_memory()?
        } else {
            let mode = match access {
                Access::Create => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
                Access::Existing => OpenFlags::SQLITE_OPEN_READ_WRITE,
                Access::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
            };
            Connection::open_with_flags(path, mode | OpenFlags::SQLITE_OPEN_NO_MUTEX)?
        };
        conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))?;
        if access == Access::ReadOnly {
            // A backtest scans the whole history: pages read in place from the mapping instead
            // of copied by a `pread` each (the kernel's copy was a tenth of a replay,
            // BENCHMARKS.md).
            conn.pragma_update(None, "mmap_size", READ_ONLY_MMAP_BYTES)?;
        }
        if access != Access::Create {
            return Ok(Conn::Sqlite(conn));
        }
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
        if let Some(written) = written {
            conn.update_hook(Some(move |_, _: &str, table: &str, _| {
                written.row_written(table);
            }));
        }
        // Off while migrating (see `migrate`; the bundled SQLite turns them on by default).
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        Ok(Conn::Sqlite(conn))
    }

    /// The schema version of the store: how many migrations it has had.
    pub fn schema_version(&self) -> Result<usize> {
        match self {
            Conn::Sqlite(conn) => {
                let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
                Ok(usize::try_from(version).unwrap_or(usize::MAX))
            }
            Conn::Postgres(pg) => pg.schema_version(),
        }
    }

    /// Applies the `migrations` the store lacks, in one transaction. On SQLite, foreign keys
    /// are off while they run, because rebuilding a table — create the new one, copy, drop the
    /// old, rename — is only possible so (SQLite's documented procedure); every key is checked
    /// before the commit instead, and they are turned on after. PostgreSQL starts at its
    /// baseline (`schema::POSTGRES_BASELINE`) and applies its own text of each later migration.
    pub fn migrate(&mut self, migrations: &[&str]) -> std::result::Result<(), Error> {
        match self {
            Conn::Sqlite(conn) => {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
                let applied = usize::try_from(version).unwrap_or(usize::MAX);
                if applied > migrations.len() {
                    return Err(Error::new(
                        Code::Internal,
                        format!(
                            "the store has schema version {applied}, newer than this engine's {}",
                            migrations.len()
                        ),
                    ));
                }
                for (index, migration) in migrations.iter().enumerate().skip(applied) {
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
                conn.pragma_update(None, "foreign_keys", "ON")?;
                Ok(())
            }
            Conn::Postgres(pg) => pg.migrate(
                migrations.len(),
                schema::POSTGRES_BASELINE_VERSION,
                schema::POSTGRES_BASELINE,
                schema::POSTGRES_MIGRATIONS,
            ),
        }
    }

    /// Begins a transaction of `kind`; it rolls back when dropped uncommitted. On PostgreSQL a
    /// write is `READ COMMITTED`: each row a command will change is read with `FOR UPDATE`
    /// ([`Txn::locks`]), so a command waits its turn on a hot row (a ledger account, a stock cell)
    /// instead of failing as `REPEATABLE READ` made it fail; what can still fail (a deadlock, a
    /// key another transaction inserted first, a row an unlocked read saw change,
    /// [`Txn::lost_race`]) is reported by [`Conn::take_conflict`] so that the engine runs the
    /// command again. A read is `REPEATABLE READ READ ONLY`: one snapshot, no lock.
    pub fn begin(&mut self, kind: Kind) -> Result<Transaction<'_>> {
        match self {
            Conn::Sqlite(conn) => {
                let behavior = match kind {
                    Kind::Write => TransactionBehavior::Immediate,
                    Kind::Read => TransactionBehavior::Deferred,
                };
                Ok(Transaction::Sqlite(
                    conn.transaction_with_behavior(behavior)?,
                ))
            }
            Conn::Postgres(pg) => {
                let begin = match kind {
                    Kind::Write => "BEGIN ISOLATION LEVEL READ COMMITTED",
                    Kind::Read => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                };
                let version = pg.begin(begin, schema::POSTGRES_MEMO_VERSION)?;
                Ok(Transaction::Postgres(PgTransaction {
                    pg: &*pg,
                    write: kind == Kind::Write,
                    memo_version: version.and_then(|v| v.parse().ok()),
                    open: std::cell::Cell::new(true),
                }))
            }
        }
    }

    /// Statements run outside any transaction, each its own: on SQLite a lone `SELECT` reads one
    /// snapshot of its own, so a read of one statement needs no `BEGIN` and `ROLLBACK` around
    /// it. `None` on PostgreSQL, whose reads [`Conn::begin`] a transaction.
    pub fn autocommit(&self) -> Option<Txn<'_>> {
        match self {
            Conn::Sqlite(conn) => Some(Txn::Sqlite(SqliteTxn {
                conn,
                statements: RefCell::default(),
                keyed: RefCell::default(),
            })),
            Conn::Postgres(_) => None,
        }
    }

    /// Whether the last transaction failed for a conflict with another one (PostgreSQL's
    /// serialization failure or deadlock, a key another transaction inserted first, or a row
    /// that changed under an unlocked read, [`Txn::lost_race`]), so that
    /// running it again may succeed; forgets it. Never on SQLite, whose writers take turns.
    pub fn take_conflict(&self) -> bool {
        match self {
            Conn::Sqlite(_) => false,
            Conn::Postgres(pg) => pg.take_conflict(),
        }
    }

    /// Rolls back a transaction left open (a panic whose unwinding could not roll it back);
    /// does nothing when none is.
    pub fn roll_back_open_transaction(&self) -> Result<()> {
        match self {
            Conn::Sqlite(conn) => {
                if !conn.is_autocommit() {
                    conn.execute_batch("ROLLBACK")?;
                }
                Ok(())
            }
            // A transaction is rolled back when its `PgTransaction` drops, panic or not; a
            // `ROLLBACK` outside one only warns.
            Conn::Postgres(pg) => pg.batch("ROLLBACK"),
        }
    }

    /// The SQLite connection, for tests that look under the store.
    #[cfg(test)]
    pub fn sqlite(&self) -> &Connection {
        match self {
            Conn::Sqlite(conn) => conn,
            Conn::Postgres(_) => panic!("not a SQLite store"),
        }
    }
}

/// An open PostgreSQL transaction: rolled back when dropped before its end.
pub struct PgTransaction<'c> {
    pg: &'c Pg,
    /// A write transaction (`READ COMMITTED`), whose reads of rows it will change lock them.
    write: bool,
    /// The memo's version row as the transaction began (`distributary_memo`).
    memo_version: Option<i64>,
    open: std::cell::Cell<bool>,
}

impl PgTransaction<'_> {
    fn end(&self, sql: &str) -> Result<()> {
        self.open.set(false);
        self.pg.end(sql)
    }
}

impl Drop for PgTransaction<'_> {
    fn drop(&mut self) {
        if self.open.get() {
            // Nothing to tell: a connection whose rollback failed fails its next statement.
            let _ = self.end("ROLLBACK");
        }
    }
}

/// An open transaction, before its statements run ([`Txn`]) and after, to commit or roll back.
pub enum Transaction<'c> {
    /// A SQLite transaction.
    Sqlite(rusqlite::Transaction<'c>),
    /// A PostgreSQL transaction.
    Postgres(PgTransaction<'c>),
}

impl Transaction<'_> {
    /// The store's version as this connection sees it, for the memo: on SQLite it changes when
    /// another connection commits (`PRAGMA data_version`); on PostgreSQL when any transaction
    /// that wrote a memoised table commits (the version row its triggers bump, read with the
    /// `BEGIN`). `None` where it cannot be told (a PostgreSQL store not yet at version 10).
    pub fn data_version(&self) -> Result<Option<i64>> {
        match self {
            Transaction::Sqlite(tx) => Ok(Some(
                tx.prepare_cached("PRAGMA data_version")?
                    .query_row([], |r| r.get(0))?,
            )),
            Transaction::Postgres(tx) => Ok(tx.memo_version),
        }
    }

    /// Keeps everything the transaction did.
    pub fn commit(self) -> Result<()> {
        match self {
            Transaction::Sqlite(tx) => Ok(tx.commit()?),
            Transaction::Postgres(tx) => tx.end("COMMIT"),
        }
    }

    /// Undoes everything the transaction did.
    pub fn rollback(self) -> Result<()> {
        match self {
            Transaction::Sqlite(tx) => Ok(tx.rollback()?),
            Transaction::Postgres(tx) => tx.end("ROLLBACK"),
        }
    }
}
