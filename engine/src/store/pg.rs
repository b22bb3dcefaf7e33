//! The PostgreSQL side of the connection layer (`db/`): a blocking client, its prepared
//! statements by the store's SQL text, placeholders rewritten to PostgreSQL's, values bound and
//! columns read in the types the schema gives them (`BIGINT`, `TEXT`, `BYTEA`).

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
};

use postgres::{
    error::SqlState,
    types::{to_sql_checked, IsNull, ToSql, Type},
    Client, NoTls, Statement,
};

use super::db::{DbError, Params, Result, Value};
use crate::error::{Code, Error};

/// How many prepared statements a connection keeps before it starts again empty (more than the
/// engine has: a statement text built from an argument, like a page size, is the only growth).
const STATEMENTS_MAX: usize = 4_096;

/// The collations that compare text bytewise (for UTF-8, in code point order).
const BYTEWISE_COLLATIONS: &[&str] = &["C", "POSIX", "C.UTF-8", "C.utf8"];

/// An advisory lock key: held while migrating, so two processes opening one database at once do
/// not both create its tables.
pub const MIGRATION_LOCK: i64 = 0x0d15_7b1b_0000_0001;

/// A connection to PostgreSQL.
pub struct Pg {
    client: RefCell<Client>,
    /// Prepared statements by the text the store wrote (before its placeholders were
    /// rewritten).
    statements: RefCell<HashMap<String, Statement>>,
    /// Whether the last failure was a serialization failure or a deadlock (SQLSTATE 40001,
    /// 40P01), a unique key another transaction took first (23505), or a row another
    /// transaction changed under a check ([`Pg::mark_conflict`]): the transaction is worth
    /// running again.
    conflict: Cell<bool>,
    /// How many [`Pg::scan`]s are open, each with a cursor of its own (`scan_<depth>`).
    scans: Cell<usize>,
}

/// Rows a [`Pg::scan`] holds at once.
const SCAN_FETCH_ROWS: usize = 1_000;

impl Pg {
    /// Connects to the database at `url` (`postgres://user@host:port/database`); with
    /// `read_only`, no transaction of the connection can write. Refuses a database whose text
    /// does not compare bytewise, as SQLite's does: the engine's orders (by SKU, by name) would
    /// differ between the backends.
    pub fn connect(url: &str, read_only: bool) -> Result<Pg> {
        let client = Client::connect(url, NoTls).map_err(DbError::Postgres)?;
        let pg = Pg {
            client: RefCell::new(client),
            statements: RefCell::default(),
            conflict: Cell::new(false),
            scans: Cell::new(0),
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

    /// Runs statements that take no parameters (DDL, `BEGIN`, `COMMIT`).
    pub fn batch(&self, sql: &str) -> Result<()> {
        let result = self.client.borrow_mut().batch_execute(sql);
        result.map_err(|e| self.failed(e))
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

    fn failed(&self, error: postgres::Error) -> DbError {
        let code = error.code();
        if code == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
            || code == Some(&SqlState::T_R_DEADLOCK_DETECTED)
            || code == Some(&SqlState::UNIQUE_VIOLATION)
        {
            self.conflict.set(true);
        }
        DbError::Postgres(error)
    }

    fn statement(&self, sql: &str) -> Result<Statement> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let prepared = self.client.borrow_mut().prepare(&placeholders(sql));
        let statement = prepared.map_err(|e| self.failed(e))?;
        let mut statements = self.statements.borrow_mut();
        if statements.len() >= STATEMENTS_MAX {
            statements.clear();
        }
        statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Runs one statement; answers how many rows it changed.
    pub fn execute(&self, sql: &str, params: &impl Params) -> Result<usize> {
        let statement = self.statement(sql)?;
        let values = values(params);
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as _).collect();
        let result = self.client.borrow_mut().execute(&statement, &refs);
        let n = result.map_err(|e| self.failed(e))?;
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
        mut visit: impl FnMut(&postgres::Row) -> Result<bool>,
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

    /// Every row of a query.
    pub fn query(&self, sql: &str, params: &impl Params) -> Result<Vec<postgres::Row>> {
        let statement = self.statement(sql)?;
        let values = values(params);
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as _).collect();
        let result = self.client.borrow_mut().query(&statement, &refs);
        result.map_err(|e| self.failed(e))
    }
}

fn values(params: &impl Params) -> Vec<Value<'_>> {
    (0..params.count()).map(|i| params.value(i)).collect()
}

/// The store's SQL with its placeholders as PostgreSQL writes them: `?N` becomes `$N`, and each
/// `:name` the `$N` of its first appearance (how SQLite numbers named parameters, which the
/// store binds by position). Quoted text and identifiers, and `::` casts, are left alone.
pub fn placeholders(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(sql.len() + 16);
    let mut names: Vec<&[u8]> = Vec::new();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            out.push(b);
            if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match b {
            b'\'' | b'"' => {
                quote = Some(b);
                out.push(b);
                i += 1;
            }
            b'?' => {
                out.push(b'$');
                i += 1;
            }
            b':' if bytes
                .get(i + 1)
                .is_some_and(|&n| n.is_ascii_alphabetic() || n == b'_')
                && (i == 0 || bytes[i - 1] != b':') =>
            {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len() && word(bytes[end]) {
                    end += 1;
                }
                let name = &bytes[start..end];
                let index = match names.iter().position(|n| *n == name) {
                    Some(index) => index,
                    None => {
                        names.push(name);
                        names.len() - 1
                    }
                };
                out.extend_from_slice(format!("${}", index + 1).as_bytes());
                i = end;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    // Only ASCII bytes were replaced, each by ASCII: the text is as valid UTF-8 as `sql`.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
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
            Value::Blob(bytes) => bytes.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Column `index` as an integer: `BIGINT`, `INTEGER`, `SMALLINT` or `BOOLEAN`; `None` for NULL.
pub fn int(row: &postgres::Row, index: usize) -> Result<Option<i64>> {
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

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn placeholders_are_rewritten_outside_quotes() {
        assert_eq!(
            placeholders("SELECT a FROM t WHERE b = ?1 AND c = ?12 AND d = '?3'"),
            "SELECT a FROM t WHERE b = $1 AND c = $12 AND d = '?3'"
        );
        assert_eq!(
            placeholders("UPDATE t SET a = :a, b = :b WHERE k = :k AND a <> :a AND x = y::text"),
            "UPDATE t SET a = $1, b = $2 WHERE k = $3 AND a <> $1 AND x = y::text"
        );
        assert_eq!(
            placeholders("SELECT \":x\", ':y', 'it''s :z'"),
            "SELECT \":x\", ':y', 'it''s :z'"
        );
    }
}
