//! Where a transaction's statements run ([`Txn`]): each statement of the store run, on SQLite
//! through its cached prepared statement (found by the address of its text), on PostgreSQL
//! through `pg.rs` (where a write may wait for the next statement: [`Txn::write`]); rows read
//! in turn or collected.

use std::{cell::RefCell, collections::HashMap};

use rusqlite::{CachedStatement, Connection};

use super::{DbError, Dialect, Params, Result, Row, Transaction};
use crate::store::pg::Pg;

/// Where a transaction's statements run.
pub enum Txn<'a> {
    /// On SQLite, each statement prepared once per connection and found again by the address of
    /// its text.
    Sqlite(SqliteTxn<'a>),
    /// On PostgreSQL, each prepared once per connection and found by its text.
    Postgres(PgTxn<'a>),
}

/// A PostgreSQL transaction's statements: the connection's, and whether the transaction writes.
pub struct PgTxn<'a> {
    pub(super) pg: &'a Pg,
    pub(super) write: bool,
}

impl std::ops::Deref for PgTxn<'_> {
    type Target = Pg;

    fn deref(&self) -> &Pg {
        self.pg
    }
}

/// A SQLite transaction's statements.
pub struct SqliteTxn<'a> {
    pub(super) conn: &'a Connection,
    /// The statements this transaction has used, by the address of their SQL text: a hot path
    /// finds its statement without hashing and comparing the text, as the connection's cache
    /// does (`prepare_cached`). They go back to that cache when the transaction ends.
    ///
    /// Measured against `prepare_cached` alone (callgrind, a 2,000-order mega-sale, December):
    /// the pack and push phases take 6.6% more instructions without this map and `keyed`
    /// (3.4% for the constant texts, 3.2% for building an order's `UPDATE` text at every
    /// update); see BENCHMARKS.md, "Wave 2".
    pub(super) statements: RefCell<HashMap<(usize, usize), CachedStatement<'a>>>,
    /// Statements whose text is built at run time, by a key the caller gives (the columns an
    /// order's `UPDATE` sets): the text is built and looked up in the connection's cache once
    /// per key and transaction, not at every run.
    pub(super) keyed: RefCell<HashMap<Vec<&'static str>, CachedStatement<'a>>>,
}

impl<'a> SqliteTxn<'a> {
    /// Runs `work` with the prepared statement of `sql`, a constant of the store's own. A
    /// statement in use is taken out of the map, so a nested use of the same text (a query
    /// inside another's loop) prepares a second one instead of sharing it.
    fn with<T>(
        &self,
        sql: &'static str,
        work: impl FnOnce(&mut CachedStatement<'a>) -> Result<T>,
    ) -> Result<T> {
        let key = (sql.as_ptr() as usize, sql.len());
        let taken = self.statements.borrow_mut().remove(&key);
        let mut statement = match taken {
            Some(statement) => statement,
            None => self.conn.prepare_cached(sql)?,
        };
        let result = work(&mut statement);
        self.statements.borrow_mut().insert(key, statement);
        result
    }
}

impl<'a> Txn<'a> {
    /// The statements of `transaction`.
    pub fn new(transaction: &'a Transaction<'a>) -> Txn<'a> {
        match transaction {
            Transaction::Sqlite(tx) => Txn::Sqlite(SqliteTxn {
                conn: tx,
                statements: RefCell::default(),
                keyed: RefCell::default(),
            }),
            Transaction::Postgres(tx) => Txn::Postgres(PgTxn {
                pg: tx.pg,
                write: tx.write,
            }),
        }
    }

    /// The dialect the statements are in.
    pub fn dialect(&self) -> Dialect {
        match self {
            Txn::Sqlite(_) => Dialect::Sqlite,
            Txn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Whether a read of a row the transaction will change must lock it (`FOR UPDATE`): in a
    /// PostgreSQL write transaction, which is `READ COMMITTED`, so that another process's
    /// command waits for this one's commit instead of both changing the row from what they read.
    /// Never on SQLite, whose write transaction (`BEGIN IMMEDIATE`) is the only writer.
    pub fn locks(&self) -> bool {
        match self {
            Txn::Sqlite(_) => false,
            Txn::Postgres(pg) => pg.write,
        }
    }

    /// Reports that a row changed between an unlocked read and the write that checked it (the
    /// ledger's `WHERE balance = :before`, an order's compare-and-set): on PostgreSQL another
    /// process's commit came between them, and the transaction is worth running again
    /// ([`Conn::take_conflict`]). On SQLite, whose writers take turns, it is a bug: not a
    /// conflict.
    pub fn lost_race(&self) {
        if let Txn::Postgres(pg) = self {
            pg.mark_conflict();
        }
    }

    /// Runs one statement; answers how many rows it changed.
    pub fn exec(&self, sql: &'static str, params: impl Params) -> Result<usize> {
        match self {
            Txn::Sqlite(tx) => tx.with(sql, |statement| execute(statement, &params)),
            Txn::Postgres(pg) => pg.execute(sql, &params),
        }
    }

    /// Runs a write whose answer (how many rows it changed) the command does not wait for: on
    /// SQLite at once; on PostgreSQL sent with the next statement that is waited for, in the
    /// same round trip (`pg.rs`), and a failure is that statement's. A read after it sees it.
    pub fn write(&self, sql: &'static str, params: impl Params) -> Result<()> {
        match self {
            Txn::Sqlite(tx) => tx.with(sql, |statement| execute(statement, &params).map(drop)),
            Txn::Postgres(pg) => pg.defer(sql, &params, None),
        }
    }

    /// [`Txn::write`] of a write that must change exactly one row: a check that the row is still
    /// what the command read (`WHERE balance = :before`, an order's compare-and-set). When it
    /// changes none, the transaction lost a race with another's commit ([`Txn::lost_race`])
    /// and fails with [`DbError::LostRace`], `row` saying which — on PostgreSQL at the next
    /// statement waited for. (On SQLite, whose writers take turns, that is a bug.)
    pub fn write_one(
        &self,
        sql: &'static str,
        params: impl Params,
        row: impl FnOnce() -> String,
    ) -> Result<()> {
        match self {
            Txn::Sqlite(tx) => {
                let changed = tx.with(sql, |statement| execute(statement, &params))?;
                one_row(changed, row)
            }
            Txn::Postgres(pg) => pg.defer(sql, &params, Some(row())),
        }
    }

    /// [`Txn::write_one`] of a statement whose text is built at run time.
    pub fn write_one_built(
        &self,
        sql: &str,
        params: impl Params,
        row: impl FnOnce() -> String,
    ) -> Result<()> {
        match self {
            Txn::Sqlite(tx) => {
                let changed = execute(&mut *tx.conn.prepare_cached(sql)?, &params)?;
                one_row(changed, row)
            }
            Txn::Postgres(pg) => pg.defer(sql, &params, Some(row())),
        }
    }

    /// Runs one statement whose text is built at run time.
    pub fn exec_built(&self, sql: &str, params: impl Params) -> Result<usize> {
        match self {
            Txn::Sqlite(tx) => execute(&mut *tx.conn.prepare_cached(sql)?, &params),
            Txn::Postgres(pg) => pg.execute(sql, &params),
        }
    }

    /// Runs one statement whose text `build` makes from `key`, built once per key and
    /// transaction (see `keyed`).
    pub fn exec_keyed(
        &self,
        key: Vec<&'static str>,
        build: impl FnOnce(&[&'static str]) -> String,
        params: impl Params,
    ) -> Result<usize> {
        match self {
            Txn::Sqlite(tx) => {
                let taken = tx.keyed.borrow_mut().remove(&key);
                let mut statement = match taken {
                    Some(statement) => statement,
                    None => tx.conn.prepare_cached(&build(&key))?,
                };
                let result = execute(&mut statement, &params);
                tx.keyed.borrow_mut().insert(key, statement);
                result
            }
            Txn::Postgres(pg) => pg.execute(&build(&key), &params),
        }
    }

    /// Runs an `INSERT` of one row into a table keyed by an integer `seq` the store assigns,
    /// and answers that `seq`: SQLite's last row id (not `RETURNING`: SQLite runs it as a
    /// trigger, whose statement journal a batch's savepoints walk again at every release); on
    /// PostgreSQL a number taken beforehand from the column's sequence, a block at a time, and
    /// the `INSERT` sent with the next statement waited for (`Pg::insert_seq`).
    pub fn insert_seq(&self, sql: &'static str, params: impl Params) -> Result<i64> {
        match self {
            Txn::Sqlite(tx) => {
                tx.with(sql, |statement| execute(statement, &params))?;
                Ok(tx.conn.last_insert_rowid())
            }
            Txn::Postgres(pg) => pg.insert_seq(sql, &params),
        }
    }

    /// Reads the one row of a statement ([`DbError::NoRows`] when there is none).
    pub fn row<T>(
        &self,
        sql: &'static str,
        params: impl Params,
        map: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        match self {
            Txn::Sqlite(tx) => tx.with(sql, |statement| query_row(statement, &params, map)),
            Txn::Postgres(pg) => pg_row(pg, sql, &params, map),
        }
    }

    /// Reads the one row of a statement whose text is built at run time.
    pub fn row_built<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        match self {
            Txn::Sqlite(tx) => query_row(&mut *tx.conn.prepare_cached(sql)?, &params, map),
            Txn::Postgres(pg) => pg_row(pg, sql, &params, map),
        }
    }

    /// Reads the row (if any) of a statement for each of `each` (its parameters), in order: on
    /// PostgreSQL in one round trip, the server running them in turn (so `FOR UPDATE` reads
    /// lock their rows in the order given).
    pub fn row_each<P: Params, T>(
        &self,
        sql: &'static str,
        each: &[P],
        mut map: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<Option<T>>> {
        match self {
            Txn::Sqlite(tx) => tx.with(sql, |statement| {
                each.iter()
                    .map(|params| {
                        let mut rows = query_rows(statement, params, 1, &mut map)?;
                        Ok(rows.pop())
                    })
                    .collect()
            }),
            Txn::Postgres(pg) => pg
                .query_each(sql, each)?
                .iter()
                .map(|rows| rows.first().map(|row| map(&Row::Postgres(row))).transpose())
                .collect(),
        }
    }

    /// Reads every row of a statement.
    pub fn rows<T>(
        &self,
        sql: &'static str,
        params: impl Params,
        map: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.rows_limited(sql, params, usize::MAX, map)
    }

    /// Reads at most `limit` rows of a statement, stopping there. (The limit is not a bound
    /// `LIMIT ?`: SQLite's planner reads such a value, so binding it makes the statement be
    /// prepared again at every run.)
    pub fn rows_limited<T>(
        &self,
        sql: &'static str,
        params: impl Params,
        limit: usize,
        map: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self {
            Txn::Sqlite(tx) => tx.with(sql, |statement| query_rows(statement, &params, limit, map)),
            Txn::Postgres(pg) => pg_rows(pg, sql, &params, limit, map),
        }
    }

    /// Visits the rows of a statement in turn, each borrowed while `visit` sees it, none kept:
    /// on SQLite a cursor over the statement; on PostgreSQL a cursor of the transaction,
    /// fetched a batch at a time (`Pg::scan`).
    /// Stops when `visit` answers `false`.
    pub fn scan(
        &self,
        sql: &'static str,
        params: impl Params,
        mut visit: impl FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        match self {
            Txn::Sqlite(tx) => tx.with(sql, |statement| {
                bind(statement, &params)?;
                let mut rows = statement.raw_query();
                while let Some(row) = rows.next()? {
                    if !visit(&Row::Sqlite(row))? {
                        break;
                    }
                }
                Ok(())
            }),
            Txn::Postgres(pg) => pg.scan(sql, &params, |row| visit(&Row::Postgres(row))),
        }
    }

    /// Reads every row of a statement whose text is built at run time.
    pub fn rows_built<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self {
            Txn::Sqlite(tx) => {
                query_rows(&mut *tx.conn.prepare_cached(sql)?, &params, usize::MAX, map)
            }
            Txn::Postgres(pg) => pg_rows(pg, sql, &params, usize::MAX, map),
        }
    }
}

/// What a write that had to change one row answers, having changed `changed`.
fn one_row(changed: usize, row: impl FnOnce() -> String) -> Result<()> {
    if changed == 1 {
        Ok(())
    } else {
        Err(DbError::LostRace(row()))
    }
}

fn pg_row<T>(
    pg: &Pg,
    sql: &str,
    params: &impl Params,
    map: impl FnOnce(&Row<'_>) -> Result<T>,
) -> Result<T> {
    let rows = pg.query(sql, params)?;
    let row = rows.first().ok_or(DbError::NoRows)?;
    map(&Row::Postgres(row))
}

fn pg_rows<T>(
    pg: &Pg,
    sql: &str,
    params: &impl Params,
    limit: usize,
    mut map: impl FnMut(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let rows = pg.query(sql, params)?;
    rows.iter()
        .take(limit)
        .map(|row| map(&Row::Postgres(row)))
        .collect()
}

/// Binds `params` to a SQLite statement by position. Binding by position, not by name: SQLite
/// numbers named parameters in the order they first appear in the text, and a name looked up
/// costs about 300 instructions (callgrind, BENCHMARKS.md "Wave 2").
fn bind(statement: &mut rusqlite::Statement<'_>, params: &impl Params) -> Result<()> {
    let count = params.count();
    if statement.parameter_count() != count {
        return Err(DbError::Sqlite(rusqlite::Error::InvalidParameterCount(
            count,
            statement.parameter_count(),
        )));
    }
    for index in 0..count {
        let position = index + 1;
        if let Some(name) = params.name(index) {
            debug_assert_eq!(statement.parameter_name(position), Some(name));
        }
        statement.raw_bind_parameter(position, params.value(index).sqlite())?;
    }
    Ok(())
}

fn execute(statement: &mut rusqlite::Statement<'_>, params: &impl Params) -> Result<usize> {
    bind(statement, params)?;
    Ok(statement.raw_execute()?)
}

fn query_row<T>(
    statement: &mut rusqlite::Statement<'_>,
    params: &impl Params,
    map: impl FnOnce(&Row<'_>) -> Result<T>,
) -> Result<T> {
    bind(statement, params)?;
    let mut rows = statement.raw_query();
    match rows.next()? {
        Some(row) => map(&Row::Sqlite(row)),
        None => Err(DbError::NoRows),
    }
}

fn query_rows<T>(
    statement: &mut rusqlite::Statement<'_>,
    params: &impl Params,
    limit: usize,
    mut map: impl FnMut(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    bind(statement, params)?;
    let mut rows = statement.raw_query();
    let mut values = Vec::new();
    while values.len() < limit {
        let Some(row) = rows.next()? else { break };
        values.push(map(&Row::Sqlite(row))?);
    }
    Ok(values)
}
