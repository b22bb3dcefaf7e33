//! PostgreSQL's write queue: the writes a transaction sends with its next statement waited for
//! (`Pg::defer`), the rows it holds longer (`Pg::insert_seq` into [`HELD_TABLES`]), the numbers
//! it reserves for their `seq`, and how they go: one simple query of `EXECUTE`s and one
//! `INSERT ... SELECT FROM unnest` per held table, in the round trip of that statement.

use std::future::Future;

use tokio_postgres::{
    types::{ToSql, Type},
    SimpleQueryMessage, Statement,
};

use super::sql::{literal, seq_text, unnest_text};
use super::{
    in_order, writes, DbError, Params, Pg, Prepared, Result, Value, Writes, RUNS_PER_PLAN,
};
use crate::store::db::params;

/// The tables whose rows a transaction appends and no command reads back: [`Pg::insert_seq`]
/// holds them (they have no foreign key either way, so when they are sent does not matter
/// to any other statement).
pub(super) const HELD_TABLES: &[&str] = &["audit", "movements"];

/// The most rows held before they are queued to be sent.
const HELD_ROWS_MAX: usize = 8_192;

/// A write sent with the next statement.
pub(super) enum Queued {
    /// A statement's run: an `EXECUTE` of `executable` in the queue's one simple query
    /// ([`Pg::script`]).
    Run {
        prepared: Prepared,
        executable: String,
        values: Vec<Value<'static>>,
        /// Set: the write must change exactly one row, or the transaction lost a race (this
        /// says which row).
        one_row: Option<String>,
    },
    /// Held rows, inserted by one statement of the extended protocol whose parameters are
    /// arrays of their columns ([`Pg::queue_held`]).
    Rows {
        statement: Statement,
        columns: Vec<Vec<Value<'static>>>,
    },
}

/// A statement prepared by SQL's `PREPARE`, for the queue's `EXECUTE`s.
pub(super) struct Executable {
    name: String,
    runs: u32,
}

/// Held rows of one `INSERT`'s text.
pub(super) struct Held {
    sql: String,
    prepared: Prepared,
    rows: Vec<Vec<Value<'static>>>,
}

/// The parameters of an `INSERT`, then its `seq` ([`Pg::insert_seq`]).
struct WithSeq<'p, P>(&'p P, i64);

impl<P: Params> Params for WithSeq<'_, P> {
    fn count(&self) -> usize {
        self.0.count() + 1
    }

    fn value(&self, index: usize) -> Value<'_> {
        if index < self.0.count() {
            self.0.value(index)
        } else {
            Value::Int(self.1)
        }
    }
}

/// How many numbers of a sequence [`Pg::insert_seq`] takes at once: a mega-sale's order writes
/// six rows numbered so (four audit rows, two movements).
const SEQ_BLOCK: i64 = 256;

impl Pg {
    /// Sends the queued writes, then `work`, in one round trip, and waits for all their
    /// answers: `work`'s, unless a write failed first. The one-row writes go as one simple
    /// query of `EXECUTE`s ([`Pg::script`]), not as a `Bind`, `Execute` and `Sync` each: the
    /// server sends what it has at every `Sync`, and on this machine a send (which wakes the
    /// client) costs more than the write.
    pub(super) fn send<T>(
        &self,
        work: impl Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    ) -> Result<T> {
        let queued = std::mem::take(&mut *self.queued.borrow_mut());
        if queued.is_empty() {
            return self.wait(work);
        }
        let arrays: Vec<(&Statement, Vec<&(dyn ToSql + Sync)>)> = queued
            .iter()
            .filter_map(|q| match q {
                Queued::Rows { statement, columns } => {
                    Some((statement, columns.iter().map(|c| c as _).collect()))
                }
                Queued::Run { .. } => None,
            })
            .collect();
        let inserts: Vec<_> = arrays
            .iter()
            .map(|(statement, columns)| self.client.execute(*statement, columns))
            .collect();
        let script = Pg::script(&queued);
        let runs = async {
            if script.is_empty() {
                Ok(Vec::new())
            } else {
                self.client.simple_query(&script).await
            }
        };
        let (inserted, (ran, result)) = self
            .runtime
            .block_on(in_order(inserts, in_order(vec![runs], work)));
        let ran = ran.into_iter().next().unwrap_or_else(|| Ok(Vec::new()));
        if let Err(error) = self.check_runs(&queued, inserted, ran) {
            self.broken.set(true);
            return Err(error);
        }
        result.map_err(|e| self.failed(e))
    }

    /// The simple query that runs the queue's one-row writes, in order, as `EXECUTE`s, each
    /// value a literal of its parameter's type.
    fn script(queued: &[Queued]) -> String {
        let mut script = String::new();
        for q in queued {
            let Queued::Run {
                prepared,
                executable,
                values,
                ..
            } = q
            else {
                continue;
            };
            script.push_str("EXECUTE ");
            script.push_str(executable);
            if !values.is_empty() {
                script.push('(');
                for (i, (value, ty)) in values.iter().zip(prepared.statement.params()).enumerate() {
                    if i > 0 {
                        script.push_str(", ");
                    }
                    literal(&mut script, value, ty.name());
                }
                script.push(')');
            }
            script.push_str(";\n");
        }
        script
    }

    /// The name of `prepared`'s statement as prepared by SQL's `PREPARE`, for the queue's
    /// `EXECUTE`s: prepared at its text's first run and again after [`RUNS_PER_PLAN`] runs (as
    /// [`Pg::statement`] does), at once and by itself, so that whether it exists is never in
    /// doubt (a `PREPARE` outlives the transaction, whatever becomes of the writes after it).
    fn executable(&self, prepared: &Prepared) -> Result<String> {
        if let Some(executable) = self.executables.borrow_mut().get_mut(&prepared.text) {
            executable.runs += 1;
            if executable.runs <= RUNS_PER_PLAN {
                return Ok(executable.name.clone());
            }
        }
        let number = self.executable_names.get() + 1;
        self.executable_names.set(number);
        let name = format!("w{number}");
        let types: Vec<&str> = prepared.statement.params().iter().map(Type::name).collect();
        self.wait(self.client.batch_execute(&format!(
            "PREPARE {name} ({}) AS {}",
            types.join(", "),
            prepared.text
        )))?;
        let replaced = self.executables.borrow_mut().insert(
            prepared.text.clone(),
            Executable {
                name: name.clone(),
                runs: 1,
            },
        );
        if let Some(old) = replaced {
            // Writes queued under the old name may be waiting: it goes when the next
            // transaction begins (`Pg::begin`).
            self.retired.borrow_mut().push(old.name);
        }
        Ok(name)
    }

    /// Checks the answers of the queue's writes: every array insert and every `EXECUTE` ran,
    /// and each write that must change one row did.
    fn check_runs(
        &self,
        queued: &[Queued],
        inserted: Vec<std::result::Result<u64, tokio_postgres::Error>>,
        ran: std::result::Result<Vec<SimpleQueryMessage>, tokio_postgres::Error>,
    ) -> Result<()> {
        for n in inserted {
            n.map_err(|e| self.failed(e))?;
        }
        let messages = ran.map_err(|e| self.failed(e))?;
        let counts = messages.iter().filter_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        });
        let runs = queued.iter().filter_map(|q| match q {
            Queued::Run { one_row, .. } => Some(one_row),
            Queued::Rows { .. } => None,
        });
        for (one_row, n) in runs.zip(counts) {
            if let Some(row) = one_row {
                if n != 1 {
                    self.conflict.set(true);
                    return Err(DbError::LostRace(row.clone()));
                }
            }
        }
        Ok(())
    }

    /// Queues a write, sent with the next statement whose answer is awaited. With `one_row`,
    /// the write must change exactly one row; when it does not, the transaction lost a race
    /// with another's commit and fails (`one_row` says which row).
    pub fn defer(&self, sql: &str, params: &impl Params, one_row: Option<String>) -> Result<()> {
        let prepared = self.statement(sql)?;
        self.ready(&prepared)?;
        let values = (0..params.count())
            .map(|i| params.value(i).into_owned())
            .collect();
        let executable = self.executable(&prepared)?;
        self.queued.borrow_mut().push(Queued::Run {
            prepared,
            executable,
            values,
            one_row,
        });
        Ok(())
    }

    /// Queues an `INSERT` of one row (`INSERT INTO t (a, b) VALUES (?1, ?2)`) into a table
    /// whose `seq` is an identity column, with the next number of the column's sequence, and
    /// answers that number. The numbers are taken [`SEQ_BLOCK`] at a time, in one statement, so
    /// that the insert need not be waited for (`RETURNING seq` would be a round trip per row).
    /// A number is unique as the identity's own is; as with the identity, numbers are not
    /// dense, and two connections' rows interleave by block rather than by statement.
    pub fn insert_seq(&self, sql: &str, params: &impl Params) -> Result<i64> {
        let table = match writes(sql) {
            Writes::Table(table) => table,
            _ => {
                return Err(DbError::column(
                    0,
                    format!("not an INSERT of one table: {sql}"),
                ))
            }
        };
        let seq = self.next_seq(&table)?;
        let with_seq = self.with_seq(sql, params.count())?;
        if HELD_TABLES.contains(&&*table) {
            self.hold(&with_seq, &WithSeq(params, seq))?;
        } else {
            self.defer(&with_seq, &WithSeq(params, seq), None)?;
        }
        Ok(seq)
    }

    /// Holds a row of a held table's one-row `INSERT` (`sql`), queued when a statement must
    /// follow it ([`Pg::queue_held`]).
    fn hold(&self, sql: &str, params: &impl Params) -> Result<()> {
        let prepared = self.statement(sql)?;
        self.tell(&prepared);
        let row = (0..params.count())
            .map(|i| params.value(i).into_owned())
            .collect();
        let mut held = self.held.borrow_mut();
        match held.iter_mut().find(|h| h.sql == sql) {
            Some(h) => h.rows.push(row),
            None => held.push(Held {
                sql: sql.to_owned(),
                prepared,
                rows: vec![row],
            }),
        }
        let rows: usize = held.iter().map(|h| h.rows.len()).sum();
        drop(held);
        if rows >= HELD_ROWS_MAX {
            self.queue_held()?;
        }
        Ok(())
    }

    /// Queues the held rows, one `INSERT` of many rows per text (`unnest` of an array per
    /// column, [`unnest_text`]), or a row at a time for a text that has no such form.
    pub(super) fn queue_held(&self) -> Result<()> {
        let held = std::mem::take(&mut *self.held.borrow_mut());
        for h in held {
            let types: Vec<&str> = h
                .prepared
                .statement
                .params()
                .iter()
                .map(Type::name)
                .collect();
            let Some(text) = unnest_text(&h.sql, &types).filter(|_| h.rows.len() > 1) else {
                for values in h.rows {
                    let executable = self.executable(&h.prepared)?;
                    self.queued.borrow_mut().push(Queued::Run {
                        prepared: h.prepared.clone(),
                        executable,
                        values,
                        one_row: None,
                    });
                }
                continue;
            };
            let mut columns: Vec<Vec<Value<'static>>> = types
                .iter()
                .map(|_| Vec::with_capacity(h.rows.len()))
                .collect();
            for row in h.rows {
                for (column, value) in columns.iter_mut().zip(row) {
                    column.push(value);
                }
            }
            let statement = self.statement(&text)?.statement;
            self.queued
                .borrow_mut()
                .push(Queued::Rows { statement, columns });
        }
        Ok(())
    }

    /// The next number reserved for `table`'s `seq`.
    fn next_seq(&self, table: &str) -> Result<i64> {
        if let Some(seq) = self
            .seqs
            .borrow_mut()
            .get_mut(table)
            .and_then(|block| block.next())
        {
            return Ok(seq);
        }
        let block = self.query(
            "SELECT nextval(pg_get_serial_sequence(?1, 'seq')) FROM generate_series(1, ?2)",
            &params![table, SEQ_BLOCK],
        )?;
        let mut numbers = block
            .iter()
            .map(|row| row.try_get::<_, i64>(0).map_err(DbError::Postgres))
            .collect::<Result<Vec<i64>>>()?
            .into_iter();
        let seq = numbers.next().ok_or(DbError::NoRows)?;
        self.seqs.borrow_mut().insert(table.to_owned(), numbers);
        Ok(seq)
    }

    /// `sql`, an `INSERT ... VALUES (...)` of `count` parameters, with `seq` as one more column
    /// and parameter; made once per text.
    fn with_seq(&self, sql: &str, count: usize) -> Result<String> {
        if let Some(text) = self.seq_texts.borrow().get(sql) {
            return Ok(text.clone());
        }
        let text = seq_text(sql, count).ok_or_else(|| {
            DbError::column(
                0,
                format!("not an INSERT ... VALUES (...) of one row: {sql}"),
            )
        })?;
        self.seq_texts
            .borrow_mut()
            .insert(sql.to_owned(), text.clone());
        Ok(text)
    }
}
