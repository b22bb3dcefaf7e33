//! The PostgreSQL side of the connection layer (`db/`): a client, its prepared statements by the
//! store's SQL text, placeholders rewritten to PostgreSQL's, values bound and columns read in the
//! types the schema gives them (`BIGINT`, `TEXT`, `BYTEA`).
//!
//! **Writes are pipelined.** A write whose answer the command does not wait for
//! ([`Pg::defer`]: an audit row, a movement, an order's update checked to change one row) is
//! queued, and sent with the next statement whose answer is awaited, in one round trip: on this
//! machine a round trip costs more CPU than the statement (BENCHMARKS.md), and an order's
//! commands write some sixteen rows. Every read, every statement run at once and every
//! `COMMIT`, `SAVEPOINT` or `RELEASE` sends the queue first, in order, so a read sees every
//! write before it; `ROLLBACK` (to a savepoint or of the transaction) discards what it undoes
//! anyway. A queued write that fails is reported by the statement it went with, and the
//! transaction cannot commit after it ([`Pg::end`]).
//!
//! **Appended rows are held.** The rows a transaction only appends and no command reads back
//! ([`HELD_TABLES`]: audit rows, stock movements, four and two an order in a mega-sale) are held
//! until a statement names their table, until a transaction's control (`SAVEPOINT`, `COMMIT`),
//! or until `queue::HELD_ROWS_MAX`: then one `INSERT` per table sends them all, as arrays of
//! columns. A statement costs PostgreSQL more than the row it adds. The queue and the held rows
//! are `queue.rs`'s; what a statement's text says is `sql.rs`'s.
//!
//! The client is tokio-postgres on a runtime of this connection's own, with one thread: the
//! thread that runs the engine drives it (`block_on`), as the blocking `postgres` crate does; what
//! it adds is the pipeline, which that crate does not offer.

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::Poll,
};

use tokio_postgres::{
    error::SqlState,
    types::{to_sql_checked, IsNull, ToSql, Type},
    Client, NoTls, SimpleQueryMessage, Statement,
};

use super::{
    db::{DbError, Params, Result, Value},
    memo::Written,
};
use crate::error::{Code, Error};

mod queue;
mod sql;
use queue::{Executable, Held, Queued, HELD_TABLES};
use sql::{names, placeholders, rows_only, writes, Writes};

/// How many prepared statements a connection keeps before it starts again empty (more than the
/// engine has: a statement text built from an argument, like a page size, is the only growth).
const STATEMENTS_MAX: usize = 4_096;

/// How many times a prepared statement runs before it is prepared again. PostgreSQL plans a
/// prepared statement for its parameters five times, then keeps a generic plan if it costs no
/// more, for the statement's life, estimated on the tables as they were then. A plan made while
/// a table was nearly empty (a new store, before autovacuum's first `ANALYZE`) can be the wrong
/// index for the same table grown: in a fresh mega-sale an order's lookup by its key went by
/// `orders_by_state` and read every order of the distributor, 211 µs a lookup at 10,000 orders
/// (auto_explain, BENCHMARKS.md). Preparing again costs one round trip per thousand runs.
const RUNS_PER_PLAN: u32 = 1_000;

/// The collations that compare text bytewise (for UTF-8, in code point order).
const BYTEWISE_COLLATIONS: &[&str] = &["C", "POSIX", "C.UTF-8", "C.utf8"];

/// An advisory lock key: held while migrating, so two processes opening one database at once do
/// not both create its tables.
pub const MIGRATION_LOCK: i64 = 0x0d15_7b1b_0000_0001;

/// A connection to PostgreSQL.
pub struct Pg {
    runtime: tokio::runtime::Runtime,
    client: Client,
    /// Prepared statements by the text the store wrote (before its placeholders were
    /// rewritten), with the table each writes and how many times each ran.
    statements: RefCell<HashMap<String, (Prepared, u32)>>,
    /// Writes not sent yet ([`Pg::defer`]).
    queued: RefCell<Vec<Queued>>,
    /// Rows of [`HELD_TABLES`] not queued yet, by the text of their one-row `INSERT`.
    held: RefCell<Vec<Held>>,
    /// The queue's statements prepared by SQL's `PREPARE`, by their text ([`Pg::script`]).
    executables: RefCell<HashMap<Arc<str>, Executable>>,
    /// Executables prepared again under a new name, deallocated as the next transaction
    /// begins (a write queued under the old name may still be waiting to be sent).
    retired: RefCell<Vec<String>>,
    /// The number in the name of the last [`Executable`] (`w1`, `w2`, …).
    executable_names: Cell<u64>,
    /// Whether a queued write of the open transaction failed: it cannot commit.
    broken: Cell<bool>,
    /// Whether the last failure was a serialization failure or a deadlock (SQLSTATE 40001,
    /// 40P01), a unique key another transaction took first (23505), or a row another
    /// transaction changed under a check ([`Pg::mark_conflict`]): the transaction is worth
    /// running again.
    conflict: Cell<bool>,
    /// How many [`Pg::scan`]s are open, each with a cursor of its own (`scan_<depth>`).
    scans: Cell<usize>,
    /// Told the table of every write (the memo's, as SQLite's update hook tells it).
    written: Option<Written>,
    /// The numbers [`Pg::insert_seq`] reserved and has not used yet, by table.
    seqs: RefCell<HashMap<String, std::vec::IntoIter<i64>>>,
    /// [`Pg::insert_seq`]'s texts, by the text it was given.
    seq_texts: RefCell<HashMap<String, String>>,
}

/// A prepared statement and what it writes.
#[derive(Clone)]
struct Prepared {
    statement: Statement,
    /// Its text, with PostgreSQL's placeholders.
    text: Arc<str>,
    writes: Writes,
    /// Whether the held rows must be sent before it: it names a held table, or it is not a
    /// read or write of rows (a `SAVEPOINT`, which a `ROLLBACK TO` must not undo them past).
    sends_held: bool,
}

/// Rows a [`Pg::scan`] holds at once.
const SCAN_FETCH_ROWS: usize = 1_000;

impl Pg {
    /// Connects to the database at `url` (`postgres://user@host:port/database`); with
    /// `read_only`, no transaction of the connection can write. Refuses a database whose text
    /// does not compare bytewise, as SQLite's does: the engine's orders (by SKU, by name) would
    /// differ between the backends. `written` is told the table of every write.
    pub fn connect(url: &str, read_only: bool, written: Option<Written>) -> Result<Pg> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DbError::column(0, format!("a runtime for the client: {e}")))?;
        let (client, connection) = runtime
            .block_on(tokio_postgres::connect(url, NoTls))
            .map_err(DbError::Postgres)?;
        // Driven whenever the connection's thread waits on the runtime, that is at every
        // statement; a failure shows as the next statement's.
        runtime.spawn(connection);
        let pg = Pg {
            runtime,
            client,
            statements: RefCell::default(),
            queued: RefCell::default(),
            held: RefCell::default(),
            executables: RefCell::default(),
            retired: RefCell::default(),
            executable_names: Cell::new(0),
            broken: Cell::new(false),
            conflict: Cell::new(false),
            scans: Cell::new(0),
            written,
            seqs: RefCell::default(),
            seq_texts: RefCell::default(),
        };
        let collation = pg.query(
            "SELECT datcollate FROM pg_database WHERE datname = current_database()",
            &(),
        )?;
        let collation: String = match collation.first() {
            Some(row) => row.try_get(0).map_err(DbError::Postgres)?,
            None => String::new(),
        };
        if !BYTEWISE_COLLATIONS.contains(&collation.as_str()) {
            return Err(DbError::Column {
                index: 0,
                message: format!(
                    "the database's collation is {collation:?}; the engine compares text \
                     bytewise: create it with LC_COLLATE 'C' (TEMPLATE template0)"
                ),
            });
        }
        // The queue's values are written as literals ([`Pg::script`]): a backslash is itself.
        pg.batch("SET standard_conforming_strings = on")?;
        if read_only {
            pg.batch("SET default_transaction_read_only = on")?;
        }
        Ok(pg)
    }

    /// The schema version: how many migrations the store has had (0 for an empty database).
    pub fn schema_version(&self) -> Result<usize> {
        let exists = self.query("SELECT to_regclass('distributary_schema') IS NOT NULL", &())?;
        let exists: bool = match exists.first() {
            Some(row) => row.try_get(0).map_err(DbError::Postgres)?,
            None => false,
        };
        if !exists {
            return Ok(0);
        }
        let rows = self.query("SELECT version FROM distributary_schema", &())?;
        match rows.first() {
            Some(row) => {
                let version: i64 = row.try_get(0).map_err(DbError::Postgres)?;
                Ok(usize::try_from(version).unwrap_or(usize::MAX))
            }
            None => Ok(0),
        }
    }

    /// Brings the schema to version `total`: the baseline on an empty database, then each of
    /// `later` it lacks, in one transaction that holds [`MIGRATION_LOCK`] (two processes opening
    /// one database at once migrate it once).
    pub fn migrate(
        &self,
        total: usize,
        baseline_version: usize,
        baseline: &str,
        later: &[&str],
    ) -> std::result::Result<(), Error> {
        if baseline_version + later.len() != total {
            return Err(Error::new(
                Code::Internal,
                format!(
                    "PostgreSQL's migrations reach version {}, SQLite's {total}",
                    baseline_version + later.len()
                ),
            ));
        }
        self.batch("BEGIN")?;
        let migrated = self.migrate_in_transaction(total, baseline_version, baseline, later);
        match migrated {
            Ok(()) => Ok(self.batch("COMMIT")?),
            Err(error) => {
                // The error says what went wrong; a failed rollback would only repeat it.
                let _ = self.batch("ROLLBACK");
                Err(error)
            }
        }
    }

    fn migrate_in_transaction(
        &self,
        total: usize,
        baseline_version: usize,
        baseline: &str,
        later: &[&str],
    ) -> std::result::Result<(), Error> {
        self.batch(&format!(
            "SELECT pg_advisory_xact_lock({MIGRATION_LOCK});
             CREATE TABLE IF NOT EXISTS distributary_schema (version BIGINT NOT NULL);"
        ))?;
        let applied = self.schema_version()?;
        if applied > total {
            return Err(Error::new(
                Code::Internal,
                format!("the store has schema version {applied}, newer than this engine's {total}"),
            ));
        }
        if applied == total {
            return Ok(());
        }
        if applied == 0 {
            self.batch(baseline)?;
            self.batch(&format!(
                "INSERT INTO distributary_schema (version) VALUES ({baseline_version})"
            ))?;
        } else if applied < baseline_version {
            return Err(Error::new(
                Code::Internal,
                format!(
                    "the store has schema version {applied}, older than PostgreSQL's first \
                     ({baseline_version})"
                ),
            ));
        }
        let from = applied.max(baseline_version);
        for (index, migration) in later.iter().enumerate().skip(from - baseline_version) {
            self.batch(migration)?;
            let version = baseline_version + index + 1;
            self.batch(&format!(
                "UPDATE distributary_schema SET version = {version}"
            ))?;
        }
        Ok(())
    }

    /// Runs statements that take no parameters (DDL, `COMMIT`, `CLOSE`), sent after the queued
    /// writes in the same round trip; a `ROLLBACK` discards them instead.
    pub fn batch(&self, sql: &str) -> Result<()> {
        self.drop_undone(sql);
        self.queue_held()?;
        self.send(self.client.batch_execute(sql))
    }

    /// Drops the queued writes when `sql` is a `ROLLBACK` (of the transaction or to a
    /// savepoint), which would undo them.
    fn drop_undone(&self, sql: &str) {
        if sql.starts_with("ROLLBACK") {
            self.queued.borrow_mut().clear();
            self.held.borrow_mut().clear();
        }
    }

    /// Begins a transaction with `begin` and answers the first column of the first row of
    /// `query` (text, as the simple protocol answers), both in one round trip.
    pub fn begin(&self, begin: &str, query: &str) -> Result<Option<String>> {
        self.queued.borrow_mut().clear();
        self.held.borrow_mut().clear();
        self.broken.set(false);
        self.conflict.set(false);
        let retired: String = std::mem::take(&mut *self.retired.borrow_mut())
            .iter()
            .map(|name| format!("DEALLOCATE {name}; "))
            .collect();
        let messages = self.wait(
            self.client
                .simple_query(&format!("{retired}{begin}; {query}")),
        )?;
        Ok(messages.iter().find_map(|message| match message {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        }))
    }

    /// Ends the open transaction with `sql` (`COMMIT` or `ROLLBACK`). A transaction a queued
    /// write failed in is rolled back, and its `COMMIT` fails: PostgreSQL would answer it with
    /// a silent `ROLLBACK`.
    pub fn end(&self, sql: &str) -> Result<()> {
        let committing = sql == "COMMIT";
        let sent = if committing {
            self.queue_held().and_then(|()| self.send(async { Ok(()) }))
        } else {
            Ok(())
        };
        if committing && (sent.is_err() || self.broken.get()) {
            let _ = self.batch("ROLLBACK");
            sent?;
            return Err(DbError::Broken);
        }
        self.batch(sql)
    }

    /// Whether the last failure was a conflict with another transaction, forgetting it.
    pub fn take_conflict(&self) -> bool {
        self.conflict.replace(false)
    }

    /// Records that the transaction conflicted with another one although no statement failed:
    /// a check found a row changed by another process's commit (`Txn::lost_race`).
    pub fn mark_conflict(&self) {
        self.conflict.set(true);
    }

    fn failed(&self, error: tokio_postgres::Error) -> DbError {
        let code = error.code();
        if code == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
            || code == Some(&SqlState::T_R_DEADLOCK_DETECTED)
            || code == Some(&SqlState::UNIQUE_VIOLATION)
        {
            self.conflict.set(true);
        }
        DbError::Postgres(error)
    }

    /// Waits for `work`, a request of the client's.
    fn wait<T>(
        &self,
        work: impl Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    ) -> Result<T> {
        self.runtime.block_on(work).map_err(|e| self.failed(e))
    }

    /// The prepared statement of `sql`: prepared once, and again after [`RUNS_PER_PLAN`] runs.
    fn statement(&self, sql: &str) -> Result<Prepared> {
        if let Some((prepared, runs)) = self.statements.borrow_mut().get_mut(sql) {
            *runs += 1;
            if *runs <= RUNS_PER_PLAN {
                return Ok(prepared.clone());
            }
        }
        let text: Arc<str> = placeholders(sql).into();
        let statement = self.wait(self.client.prepare(&text))?;
        let prepared = Prepared {
            statement,
            text,
            writes: writes(sql),
            sends_held: !rows_only(sql) || HELD_TABLES.iter().any(|table| names(sql, table)),
        };
        let mut statements = self.statements.borrow_mut();
        if statements.len() >= STATEMENTS_MAX {
            statements.clear();
        }
        statements.insert(sql.to_owned(), (prepared.clone(), 1));
        Ok(prepared)
    }

    /// Makes ready to send `prepared`: queues the held rows if it must follow them, and tells
    /// the memo what it writes.
    fn ready(&self, prepared: &Prepared) -> Result<()> {
        if prepared.sends_held {
            self.queue_held()?;
        }
        self.tell(prepared);
        Ok(())
    }

    /// Tells the memo what `prepared` writes.
    fn tell(&self, prepared: &Prepared) {
        if let Some(written) = &self.written {
            match &prepared.writes {
                Writes::Nothing => {}
                Writes::Table(table) => written.row_written(table),
                Writes::Unknown => written.everything_written(),
            }
        }
    }

    /// Runs one statement now; answers how many rows it changed.
    pub fn execute(&self, sql: &str, params: &impl Params) -> Result<usize> {
        self.drop_undone(sql);
        let prepared = self.statement(sql)?;
        self.ready(&prepared)?;
        let values = values(params);
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as _).collect();
        let n = self.send(self.client.execute(&prepared.statement, &refs))?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Visits the rows of a query until `visit` answers `false`, through a cursor of the open
    /// transaction fetched [`SCAN_FETCH_ROWS`] at a time: a long read (a backtest's scan of
    /// the audit log) holds one batch, not every row, and `visit` may run other statements
    /// between batches' rows (a cursor's rows are not on the wire while it does).
    pub fn scan(
        &self,
        sql: &str,
        params: &impl Params,
        mut visit: impl FnMut(&tokio_postgres::Row) -> Result<bool>,
    ) -> Result<()> {
        let depth = self.scans.get();
        let cursor = format!("scan_{depth}");
        self.execute(
            &format!("DECLARE {cursor} NO SCROLL CURSOR FOR {sql}"),
            params,
        )?;
        self.scans.set(depth + 1);
        let fetch = format!("FETCH {SCAN_FETCH_ROWS} FROM {cursor}");
        let visited = (|| loop {
            let rows = self.query(&fetch, &())?;
            for row in &rows {
                if !visit(row)? {
                    return Ok(());
                }
            }
            if rows.len() < SCAN_FETCH_ROWS {
                return Ok(());
            }
        })();
        self.scans.set(depth);
        // Closed whatever `visit` answered, so that the name is free for the next scan of the
        // transaction (after a failed statement the transaction is over, and so is the cursor).
        let closed = self.batch(&format!("CLOSE {cursor}"));
        visited.and(closed)
    }

    /// Every row of a query for each of `each` (its parameters), the runs sent together, in
    /// order, in one round trip (with the queued writes before them).
    pub fn query_each<P: Params>(
        &self,
        sql: &str,
        each: &[P],
    ) -> Result<Vec<Vec<tokio_postgres::Row>>> {
        let prepared = self.statement(sql)?;
        self.ready(&prepared)?;
        let values: Vec<Vec<Value<'_>>> = each.iter().map(values).collect();
        let refs: Vec<Vec<&(dyn ToSql + Sync)>> = values
            .iter()
            .map(|v| v.iter().map(|v| v as _).collect())
            .collect();
        let runs: Vec<_> = refs
            .iter()
            .map(|r| self.client.query(&prepared.statement, r))
            .collect();
        self.send(async {
            let (rows, ()) = in_order(runs, std::future::ready(())).await;
            rows.into_iter().collect()
        })
    }

    /// Every row of a query.
    pub fn query(&self, sql: &str, params: &impl Params) -> Result<Vec<tokio_postgres::Row>> {
        let prepared = self.statement(sql)?;
        self.ready(&prepared)?;
        let values = values(params);
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as _).collect();
        self.send(self.client.query(&prepared.statement, &refs))
    }
}

/// Runs `first`, in order, then `last`, concurrently: each of the client's requests is sent when
/// its future is first polled, so polling them in order sends them in order, as one pipeline.
async fn in_order<F: Future, L: Future>(first: Vec<F>, last: L) -> (Vec<F::Output>, L::Output) {
    let mut first: Vec<Pin<Box<F>>> = first.into_iter().map(Box::pin).collect();
    let mut last = std::pin::pin!(last);
    let mut done: Vec<Option<F::Output>> = first.iter().map(|_| None).collect();
    let mut last_done = None;
    std::future::poll_fn(|cx| {
        for (future, out) in first.iter_mut().zip(done.iter_mut()) {
            if out.is_none() {
                if let Poll::Ready(value) = future.as_mut().poll(cx) {
                    *out = Some(value);
                }
            }
        }
        if last_done.is_none() {
            if let Poll::Ready(value) = last.as_mut().poll(cx) {
                last_done = Some(value);
            }
        }
        if done.iter().all(Option::is_some) {
            if let Some(last) = last_done.take() {
                let outputs = done.iter_mut().filter_map(Option::take).collect();
                return Poll::Ready((outputs, last));
            }
        }
        Poll::Pending
    })
    .await
}

fn values(params: &impl Params) -> Vec<Value<'_>> {
    (0..params.count()).map(|i| params.value(i)).collect()
}

impl ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(n) => {
                if *ty == Type::INT8 {
                    n.to_sql(ty, out)
                } else if *ty == Type::INT4 {
                    i32::try_from(*n)?.to_sql(ty, out)
                } else if *ty == Type::INT2 {
                    i16::try_from(*n)?.to_sql(ty, out)
                } else if *ty == Type::BOOL {
                    (*n != 0).to_sql(ty, out)
                } else {
                    n.to_string().as_str().to_sql(ty, out)
                }
            }
            Value::Text(text) => (&**text).to_sql(ty, out),
            Value::Blob(bytes) => (&**bytes).to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Column `index` as an integer: `BIGINT`, `INTEGER`, `SMALLINT` or `BOOLEAN`; `None` for NULL.
pub fn int(row: &tokio_postgres::Row, index: usize) -> Result<Option<i64>> {
    let ty = row
        .columns()
        .get(index)
        .map(|c| c.type_().clone())
        .ok_or_else(|| DbError::column(index, "no such column"))?;
    let value = if ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(index)
    } else if ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(index)
            .map(|v| v.map(i64::from))
    } else if ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(index)
            .map(|v| v.map(i64::from))
    } else if ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(index)
            .map(|v| v.map(i64::from))
    } else {
        return Err(DbError::column(index, format!("{ty} is not an integer")));
    };
    value.map_err(DbError::Postgres)
}
