//! The values that cross the connection layer: the parameters a statement binds ([`Param`],
//! [`Params`], `params!`) and the rows it answers ([`Row`], [`Column`]), in the types both
//! dialects have.

use std::borrow::Cow;

use rusqlite::types::{ToSqlOutput, ValueRef};

use super::{DbError, Result};

// --- parameters

/// A value bound to a statement's parameter, in the types both dialects have: a `bool` binds as
/// the integer 0 or 1 (the schema keeps flags as integers).
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// SQL `NULL`.
    Null,
    /// A 64-bit integer.
    Int(i64),
    /// Text.
    Text(Cow<'a, str>),
    /// Bytes (`BLOB`).
    Blob(Cow<'a, [u8]>),
}

impl Value<'_> {
    /// The value, owning what it borrowed (a PostgreSQL write queued for the next round trip
    /// outlives its parameters).
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Int(n) => Value::Int(n),
            Value::Text(text) => Value::Text(Cow::Owned(text.into_owned())),
            Value::Blob(bytes) => Value::Blob(Cow::Owned(bytes.into_owned())),
        }
    }

    pub(super) fn sqlite(&self) -> ToSqlOutput<'_> {
        ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(n) => ValueRef::Integer(*n),
            Value::Text(text) => ValueRef::Text(text.as_bytes()),
            Value::Blob(bytes) => ValueRef::Blob(bytes),
        })
    }
}

/// What a statement parameter can be bound to.
pub trait Param {
    /// The value bound.
    fn value(&self) -> Value<'_>;
}

impl Param for Value<'_> {
    fn value(&self) -> Value<'_> {
        match self {
            Value::Text(text) => Value::Text(Cow::Borrowed(text)),
            Value::Blob(bytes) => Value::Blob(Cow::Borrowed(bytes)),
            other => other.clone(),
        }
    }
}

impl<T: Param + ?Sized> Param for &T {
    fn value(&self) -> Value<'_> {
        (**self).value()
    }
}

impl Param for str {
    fn value(&self) -> Value<'_> {
        Value::Text(Cow::Borrowed(self))
    }
}

impl Param for String {
    fn value(&self) -> Value<'_> {
        Value::Text(Cow::Borrowed(self))
    }
}

impl Param for i64 {
    fn value(&self) -> Value<'_> {
        Value::Int(*self)
    }
}

impl Param for bool {
    fn value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl Param for [u8] {
    fn value(&self) -> Value<'_> {
        Value::Blob(Cow::Borrowed(self))
    }
}

impl Param for Vec<u8> {
    fn value(&self) -> Value<'_> {
        Value::Blob(Cow::Borrowed(self))
    }
}

impl<T: Param> Param for Option<T> {
    fn value(&self) -> Value<'_> {
        self.as_ref().map_or(Value::Null, Param::value)
    }
}

/// The parameters of one run of a statement, by position (the first is `?1`, or the first
/// `:name` in the text).
pub trait Params {
    /// How many there are.
    fn count(&self) -> usize;
    /// The value of the parameter at `index` (from 0).
    fn value(&self, index: usize) -> Value<'_>;
    /// The name the text gives the parameter at `index` (`:column`), when the caller knows it: a
    /// debug build checks it against the statement.
    fn name(&self, _index: usize) -> Option<&str> {
        None
    }
}

impl Params for () {
    fn count(&self) -> usize {
        0
    }

    fn value(&self, _index: usize) -> Value<'_> {
        Value::Null
    }
}

impl<T: Param, const N: usize> Params for [T; N] {
    fn count(&self) -> usize {
        N
    }

    fn value(&self, index: usize) -> Value<'_> {
        self[index].value()
    }
}

impl<T: Param> Params for Vec<T> {
    fn count(&self) -> usize {
        self.len()
    }

    fn value(&self, index: usize) -> Value<'_> {
        self[index].value()
    }
}

/// The parameters of a statement, each as `&dyn Param`, in an array ([`Params`]).
macro_rules! params {
    ($($param:expr),* $(,)?) => {
        [$(&$param as &dyn $crate::store::db::Param),*]
    };
}
pub(crate) use params;

// --- rows

/// One row a query answered.
pub enum Row<'r> {
    /// A row of SQLite.
    Sqlite(&'r rusqlite::Row<'r>),
    /// A row of PostgreSQL.
    Postgres(&'r tokio_postgres::Row),
}

impl Row<'_> {
    /// Column `index` (from 0), as a `T`.
    pub fn get<T: Column>(&self, index: usize) -> Result<T> {
        match self {
            Row::Sqlite(row) => Ok(T::sqlite(row, index)?),
            Row::Postgres(row) => T::postgres(row, index),
        }
    }

    /// Text column `index`, borrowed from the row (not copied); `None` for `NULL`.
    pub fn str_or_null(&self, index: usize) -> Result<Option<&str>> {
        match self {
            Row::Sqlite(row) => row
                .get_ref(index)?
                .as_str_or_null()
                .map_err(|e| DbError::column(index, e)),
            Row::Postgres(row) => row.try_get(index).map_err(DbError::Postgres),
        }
    }

    /// Text column `index`, borrowed from the row (not copied).
    pub fn str(&self, index: usize) -> Result<&str> {
        self.str_or_null(index)?
            .ok_or_else(|| DbError::column(index, "NULL where a value is needed"))
    }
}

/// A Rust type a column is read as.
pub trait Column: Sized {
    /// Reads column `index` of a SQLite row.
    fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self>;
    /// Reads column `index` of a PostgreSQL row.
    fn postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self>;
}

/// Types PostgreSQL reads as they are (`TEXT`, `BYTEA`).
macro_rules! column_as_is {
    ($($t:ty),+) => {
        $(impl Column for $t {
            fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
                row.get(index)
            }

            fn postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self> {
                row.try_get(index).map_err(DbError::Postgres)
            }
        })+
    };
}

column_as_is!(String, Option<String>, Vec<u8>);

/// Integers and flags: PostgreSQL's columns are `BIGINT` (an expression may be narrower).
macro_rules! column_int {
    ($($t:ty => |$v:ident| $from:expr),+ $(,)?) => {
        $(impl Column for $t {
            fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
                row.get(index)
            }

            fn postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self> {
                let $v = crate::store::pg::int(row, index)?;
                $from.ok_or_else(|| DbError::column(index, "NULL where a value is needed"))
            }
        })+
    };
}

column_int!(
    i64 => |value| value,
    Option<i64> => |value| Some(value),
    bool => |value| value.map(|n| n != 0),
);
