//! What the store's SQL text says, for PostgreSQL: its placeholders in PostgreSQL's form, the
//! table a statement writes (the memo is told it), the tables it names, an `INSERT`'s text with
//! the `seq` column [`super::Pg::insert_seq`] numbers itself, the same `INSERT` of many rows
//! at once, and a value as a literal. Text in, text out: no connection here.

use crate::store::db::Value;

/// The table a statement writes, read off its text.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Writes {
    /// None: a query, a transaction's control.
    Nothing,
    /// One table, by name (shared: a statement's `Prepared` is cloned at every run).
    Table(std::sync::Arc<str>),
    /// Any: a statement whose table the text does not say plainly.
    Unknown,
}

/// The store's SQL with its placeholders as PostgreSQL writes them: `?N` becomes `$N`, and each
/// `:name` the `$N` of its first appearance (how SQLite numbers named parameters, which the
/// store binds by position). Quoted text and identifiers, and `::` casts, are left alone.
pub(super) fn placeholders(sql: &str) -> String {
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

/// The table a statement writes, read off its first words: `INSERT INTO t`, `UPDATE t`,
/// `DELETE FROM t`; nothing for a query or a transaction's control; [`Writes::Unknown`] for any
/// other statement (a `WITH`, DDL), which the memo takes as a write to every table.
pub(super) fn writes(sql: &str) -> Writes {
    let mut words = sql
        .split(|c: char| c.is_whitespace() || c == '(')
        .filter(|w| !w.is_empty());
    let keyword = words.next().unwrap_or_default().to_ascii_uppercase();
    let table = match keyword.as_str() {
        "SELECT" | "SAVEPOINT" | "RELEASE" | "ROLLBACK" | "BEGIN" | "COMMIT" | "DECLARE"
        | "FETCH" | "CLOSE" | "SET" | "SHOW" => return Writes::Nothing,
        "UPDATE" => words.next(),
        "INSERT" | "DELETE" => {
            let into = words.next().unwrap_or_default().to_ascii_uppercase();
            if into == "INTO" || into == "FROM" {
                words.next()
            } else {
                None
            }
        }
        _ => None,
    };
    match table {
        Some(table) => Writes::Table(table.trim_matches('"').to_ascii_lowercase().into()),
        None => Writes::Unknown,
    }
}

/// `sql`, an `INSERT INTO t (a, b) VALUES (?1, ?2)` of `count` parameters, with `seq` as one
/// more column and parameter; `None` for any other shape.
pub(super) fn seq_text(sql: &str, count: usize) -> Option<String> {
    let columns_end = sql.find(')')?;
    let values_end = sql.rfind(')')?;
    let tail = &sql[values_end + 1..];
    (values_end > columns_end && tail.trim().is_empty()).then(|| {
        format!(
            "{}, seq{}, ?{}){tail}",
            &sql[..columns_end],
            &sql[columns_end..values_end],
            count + 1
        )
    })
}

/// Whether `sql` names `table`: as a whole word, outside quoted text (`audit`, not
/// `audit_head`).
pub(super) fn names(sql: &str, table: &str) -> bool {
    let mut quoted = false;
    sql.split(|c: char| {
        if c == '\'' {
            quoted = !quoted;
        }
        quoted || !(c.is_ascii_alphanumeric() || c == '_' || c == '"')
    })
    .any(|word| word.trim_matches('"').eq_ignore_ascii_case(table))
}

/// Whether `sql` reads or writes rows only (`SELECT`, `INSERT`, `UPDATE`, `DELETE`, a cursor's
/// `FETCH`), as opposed to a transaction's control (`SAVEPOINT`, `COMMIT`), a cursor's
/// declaration, or DDL.
pub(super) fn rows_only(sql: &str) -> bool {
    let keyword = sql.split_whitespace().next().unwrap_or_default();
    ["SELECT", "INSERT", "UPDATE", "DELETE", "FETCH"]
        .iter()
        .any(|k| keyword.eq_ignore_ascii_case(k))
}

/// `sql`, an `INSERT INTO t (a, b) VALUES (?1, ?2)` whose values are its parameters in order,
/// as the `INSERT` of many rows at once: `INSERT INTO t (a, b) SELECT * FROM unnest(?1::text[],
/// ?2::int8[])`, each parameter an array of one column's values in `types` (PostgreSQL's names of
/// the single row's parameter types). `None` for any other shape.
pub(super) fn unnest_text(sql: &str, types: &[&str]) -> Option<String> {
    let columns_end = sql.find(')')?;
    let values = sql[columns_end + 1..].trim_start();
    let values = values
        .get(..6)
        .filter(|v| v.eq_ignore_ascii_case("VALUES"))
        .map(|_| values[6..].trim())?;
    let values = values.strip_prefix('(')?.strip_suffix(')')?;
    let in_order = values
        .split(',')
        .map(str::trim)
        .eq((1..=types.len()).map(|i| format!("?{i}")));
    let arrays: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, ty)| format!("?{}::{ty}[]", i + 1))
        .collect();
    in_order.then(|| {
        format!(
            "{} SELECT * FROM unnest({})",
            &sql[..=columns_end],
            arrays.join(", ")
        )
    })
}

/// Appends `value` to `out` as a literal of the type PostgreSQL names `ty` (a statement's
/// parameter: `EXECUTE w1('text', '42', NULL)`): quoted, so that the parameter's type reads it
/// (with `standard_conforming_strings`, a backslash in quotes is itself); an integer bound to a
/// `bool` as `true` or `false`, as the extended protocol binds it; bytes in `bytea`'s hex form.
pub(super) fn literal(out: &mut String, value: &Value<'_>, ty: &str) {
    use std::fmt::Write;
    match value {
        Value::Null => out.push_str("NULL"),
        Value::Int(n) if ty == "bool" => out.push_str(if *n != 0 { "true" } else { "false" }),
        Value::Int(n) => {
            let _ = write!(out, "'{n}'");
        }
        Value::Text(text) => {
            out.push('\'');
            for c in text.chars() {
                if c == '\'' {
                    out.push('\'');
                }
                out.push(c);
            }
            out.push('\'');
        }
        Value::Blob(bytes) => {
            out.push_str("'\\x");
            for b in bytes.iter() {
                let _ = write!(out, "{b:02x}");
            }
            out.push('\'');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{literal, names, placeholders, rows_only, seq_text, unnest_text, writes, Writes};
    use crate::store::db::Value;

    #[test]
    fn the_table_a_statement_writes_is_read_off_its_text() {
        let table = |name: &str| Writes::Table(name.into());
        assert_eq!(writes("INSERT INTO audit (a) VALUES (?1)"), table("audit"));
        assert_eq!(writes("\n  UPDATE stock SET a = 1"), table("stock"));
        assert_eq!(
            writes("DELETE FROM deliveries WHERE seq = ?1"),
            table("deliveries")
        );
        assert_eq!(
            writes("INSERT INTO users(account) VALUES (?1)"),
            table("users")
        );
        assert_eq!(
            writes("insert into \"Claims\" (a) values (?1)"),
            table("claims")
        );
        assert_eq!(writes("SELECT a FROM stock FOR UPDATE"), Writes::Nothing);
        assert_eq!(writes("SAVEPOINT command"), Writes::Nothing);
        assert_eq!(
            writes("WITH x AS (SELECT 1) UPDATE t SET a = 1"),
            Writes::Unknown
        );
        assert_eq!(writes("TRUNCATE claims"), Writes::Unknown);
    }

    #[test]
    fn an_insert_gains_its_seq_as_a_last_column() {
        assert_eq!(
            seq_text("INSERT INTO t (a, b)\n VALUES (?1, ?2)", 2).as_deref(),
            Some("INSERT INTO t (a, b, seq)\n VALUES (?1, ?2, ?3)")
        );
        assert_eq!(
            seq_text("INSERT INTO t (a) VALUES (?1) ON CONFLICT DO NOTHING", 1),
            None
        );
        assert_eq!(seq_text("INSERT INTO t (a) SELECT 1", 1), None);
    }

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

    #[test]
    fn a_table_is_named_as_a_whole_word_outside_quotes() {
        assert!(names("INSERT INTO audit (a) VALUES (?1)", "audit"));
        assert!(names("SELECT * FROM \"audit\" a WHERE a.seq = 1", "audit"));
        assert!(names("WITH RECURSIVE c AS (SELECT 1 FROM audit)", "AUDIT"));
        assert!(!names("UPDATE orders SET audit_head = ?1", "audit"));
        assert!(!names("SELECT 'audit' FROM orders", "audit"));
        assert!(rows_only("select 1"));
        assert!(rows_only("\n  UPDATE t SET a = 1"));
        assert!(!rows_only("SAVEPOINT command"));
        assert!(!rows_only("DECLARE scan_0 NO SCROLL CURSOR FOR SELECT 1"));
    }

    #[test]
    fn an_insert_of_one_row_becomes_one_of_many() {
        assert_eq!(
            unnest_text("INSERT INTO t (a, b, seq)\n VALUES (?1, ?2, ?3)", &["text", "int8", "int8"])
                .as_deref(),
            Some("INSERT INTO t (a, b, seq) SELECT * FROM unnest(?1::text[], ?2::int8[], ?3::int8[])")
        );
        assert_eq!(
            unnest_text("INSERT INTO t (a, b) VALUES (?2, ?1)", &["text", "text"]),
            None
        );
        assert_eq!(
            unnest_text(
                "INSERT INTO t (a) VALUES (?1) ON CONFLICT DO NOTHING",
                &["text"]
            ),
            None
        );
        assert_eq!(
            unnest_text("INSERT INTO t (a) VALUES (lower(?1))", &["text"]),
            None
        );
        assert_eq!(unnest_text("INSERT INTO t (a) SELECT ?1", &["text"]), None);
    }

    #[test]
    fn values_are_written_as_literals_of_their_parameters_types() {
        let written = |value: Value<'_>, ty: &str| {
            let mut out = String::new();
            literal(&mut out, &value, ty);
            out
        };
        assert_eq!(written(Value::Null, "text"), "NULL");
        assert_eq!(written(Value::Int(-42), "int8"), "'-42'");
        assert_eq!(written(Value::Int(2), "bool"), "true");
        assert_eq!(written(Value::Int(0), "bool"), "false");
        assert_eq!(
            written(Value::Text("it's a \\ 'quote'".into()), "text"),
            "'it''s a \\ ''quote'''"
        );
        assert_eq!(
            written(Value::Blob(vec![0, 171].into()), "bytea"),
            "'\\x00ab'"
        );
    }
}
