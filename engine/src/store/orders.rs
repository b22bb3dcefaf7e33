//! Statements for distribution orders, their lines, and fee and print settings (the delivery
//! queue's are `deliveries.rs`'s).

use std::borrow::Cow;

use rust_decimal::Decimal;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::db::{self, params, Column, DbError, Optional, Param, Params, Row, Value};
use super::{queries::decimal, Table, Tx};
use crate::error::{Code, Error};
use crate::model::{Order, OrderLine};

/// The most orders [`Tx::read_orders_ahead`] reads in one statement.
const ORDERS_AHEAD_PER_READ: usize = 100;

/// How an `Order` field is kept in its column of `orders`.
trait Codec<T> {
    /// The field, from column `index` of a row.
    fn read(row: &Row<'_>, index: usize) -> db::Result<T>;
    /// What the column holds for the field (borrowed from it where the column takes it as is).
    fn value(field: &T) -> Result<Value<'_>, Error>;
}

/// As the column holds the Rust value itself: text, an integer (a `bool` as 0 or 1), or NULL
/// for `None`.
enum Plain {}

impl<T: Column + Param> Codec<T> for Plain {
    fn read(row: &Row<'_>, index: usize) -> db::Result<T> {
        row.get(index)
    }

    fn value(field: &T) -> Result<Value<'_>, Error> {
        Ok(field.value())
    }
}

/// A decimal as its text, which keeps its scale.
enum DecimalText {}

impl Codec<Decimal> for DecimalText {
    fn read(row: &Row<'_>, index: usize) -> db::Result<Decimal> {
        decimal(row, index)
    }

    fn value(field: &Decimal) -> Result<Value<'_>, Error> {
        Ok(Value::Text(Cow::Owned(field.to_string())))
    }
}

/// A JSON value as its text (a NULL column reads as JSON `null`).
enum Json {}

impl Codec<serde_json::Value> for Json {
    fn read(row: &Row<'_>, index: usize) -> db::Result<serde_json::Value> {
        Ok(from_json(row, index)?.unwrap_or_default())
    }

    fn value(field: &serde_json::Value) -> Result<Value<'_>, Error> {
        Ok(Value::Text(Cow::Owned(to_text(field)?)))
    }
}

/// A value as its JSON text, or NULL for `None`.
enum JsonOrNull {}

impl<T: Serialize + DeserializeOwned> Codec<Option<T>> for JsonOrNull {
    fn read(row: &Row<'_>, index: usize) -> db::Result<Option<T>> {
        from_json(row, index)
    }

    fn value(field: &Option<T>) -> Result<Value<'_>, Error> {
        let text = field.as_ref().map(to_text).transpose()?;
        Ok(text.map_or(Value::Null, |text| Value::Text(Cow::Owned(text))))
    }
}

/// The JSON text in column `index`, parsed; `None` when the column is NULL.
fn from_json<T: DeserializeOwned>(row: &Row<'_>, index: usize) -> db::Result<Option<T>> {
    let text: Option<String> = row.get(index)?;
    text.map(|t| serde_json::from_str(&t))
        .transpose()
        .map_err(|e| DbError::column(index, e))
}

/// A column a statement writes: its name, its named parameter (`:column`) and its value.
struct Write<'v> {
    column: &'static str,
    parameter: &'static str,
    value: Value<'v>,
}

/// The [`Write`] of `value` to `column`.
macro_rules! assign {
    ($column:ident, $value:expr) => {
        Write {
            column: stringify!($column),
            parameter: concat!(":", stringify!($column)),
            value: $value,
        }
    };
}

/// `a, b, c`: column names joined as an SQL list.
macro_rules! join_columns {
    ($first:ident $(, $rest:ident)*) => {
        concat!(stringify!($first) $(, ", ", stringify!($rest))*)
    };
}

/// `:a, :b, :c`: the named parameters of columns, joined as an SQL list.
macro_rules! join_parameters {
    ($first:ident $(, $rest:ident)*) => {
        concat!(":", stringify!($first) $(, ", :", stringify!($rest))*)
    };
}

/// Whether a column is marked `[fixed]`.
macro_rules! is_fixed {
    () => {
        false
    };
    (fixed) => {
        true
    };
}

/// Describes the columns of `orders` that hold an [`Order`], each once: its field, its column, its
/// [`Codec`], and `[fixed]` when it names the order and never changes once stored. From this one
/// list come the `order_columns!()` and `order_parameters!()` SQL lists, the row reader
/// (`order_row`), the values an `INSERT` binds (`order_values`) and the columns an `UPDATE`
/// writes (`changed_columns`).
macro_rules! orders_table {
    ($($field:ident => $column:ident: $codec:ident $([$fixed:ident])?),+ $(,)?) => {
        /// The columns `order_row` reads, in its order, as a literal for statement constants.
        macro_rules! order_columns {
            () => {
                join_columns!($($column),+)
            };
        }

        /// The named parameters of those columns (`:column`), in the same order.
        macro_rules! order_parameters {
            () => {
                join_parameters!($($column),+)
            };
        }

        /// How many columns `order_row` reads.
        const ORDER_COLUMNS: usize = [$(stringify!($column)),+].len();

        /// The order in the first [`ORDER_COLUMNS`] columns of a row.
        fn order_row(row: &Row<'_>) -> db::Result<Order> {
            let mut index = 0;
            let mut next = || {
                let at = index;
                index += 1;
                at
            };
            Ok(Order {
                $($field: <$codec as Codec<_>>::read(row, next())?,)+
            })
        }

        /// Every column with its value, for an `INSERT`.
        fn order_values(o: &Order) -> Result<Vec<Write<'_>>, Error> {
            Ok(vec![$(assign!($column, <$codec as Codec<_>>::value(&o.$field)?),)+])
        }

        /// The columns whose field differs between `before` and `o`, with `o`'s values; an error
        /// when a `[fixed]` one does.
        fn changed_columns<'o>(before: &Order, o: &'o Order) -> Result<Vec<Write<'o>>, Error> {
            let mut changed = Vec::new();
            $(
                if before.$field != o.$field {
                    if is_fixed!($($fixed)?) {
                        return Err(Error::new(
                            Code::Internal,
                            format!(
                                "order {:?} would change its identity ({})",
                                before.order,
                                stringify!($column)
                            ),
                        ));
                    }
                    changed.push(assign!($column, <$codec as Codec<_>>::value(&o.$field)?));
                }
            )+
            Ok(changed)
        }
    };
}

orders_table! {
    distributor => distributor: Plain [fixed],
    order => order_name: Plain [fixed],
    marketplace => marketplace: Plain [fixed],
    shop => shop: Plain [fixed],
    order_sn => order_sn: Plain [fixed],
    parent => parent: Plain [fixed],
    state => state: Plain,
    marketplace_status => marketplace_status: Plain,
    cancel_flagged => cancel_flagged: Plain,
    currency => currency: Plain [fixed],
    address => address: Json [fixed],
    supplier => supplier: Plain,
    warehouse => warehouse: Plain,
    shipping => shipping: Plain,
    tracking_no => tracking_no: Plain,
    charges => charges: JsonOrNull,
    charged => charged: Plain,
    refunded_after_sale => refunded_after_sale: DecimalText,
    documents => documents: JsonOrNull,
    withdrawn_from => withdrawn_from: Plain,
    failure => failure: Plain,
    stock_locked => stock_locked: Plain,
    audit_head => audit_head: Plain,
}

/// An order line as its order row holds it: one JSON array per line, its fields in this order
/// (`[line, store_sku, qty, unit_price, local_sku, supplier, sku, price]`), so the row does not
/// repeat the field names for every line.
#[derive(Serialize, Deserialize)]
struct StoredLine(
    i64,
    String,
    i64,
    /// The buyer's unit price, a decimal string; `null` when the marketplace gave none (rows
    /// written before prices were checked may hold `""` or any text: read as none).
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    /// The price, a decimal string.
    Option<String>,
);

fn lines_text(lines: &[OrderLine]) -> Result<String, Error> {
    let stored: Vec<StoredLine> = lines
        .iter()
        .map(|l| {
            StoredLine(
                l.line,
                l.store_sku.clone(),
                l.qty,
                l.unit_price.map(|p| p.to_string()),
                l.local_sku.clone(),
                l.supplier.clone(),
                l.sku.clone(),
                l.price.map(|p| p.to_string()),
            )
        })
        .collect();
    to_text(&stored)
}

/// The lines in column `index` of an order row.
fn lines_column(r: &Row<'_>, index: usize) -> db::Result<Vec<OrderLine>> {
    let broken = |e: Box<dyn std::error::Error + Send + Sync>| DbError::column(index, e);
    let text: String = r.get(index)?;
    let stored: Vec<StoredLine> = serde_json::from_str(&text).map_err(|e| broken(Box::new(e)))?;
    stored
        .into_iter()
        .map(
            |StoredLine(line, store_sku, qty, unit_price, local_sku, supplier, sku, price)| {
                let price = price
                    .map(|p| p.parse::<Decimal>())
                    .transpose()
                    .map_err(|e| broken(Box::new(e)))?;
                Ok(OrderLine {
                    line,
                    store_sku,
                    qty,
                    unit_price: unit_price.and_then(|p| p.parse::<Decimal>().ok()),
                    local_sku,
                    supplier,
                    sku,
                    price,
                })
            },
        )
        .collect()
}

/// The text of an `UPDATE` of these order columns, each set from its named parameter
/// (`:column`), the order found by `:distributor` and `:order_name`. Transitions change a few
/// dozen sets of columns, so the connection's statement cache holds each set's statement
/// (`Tx::with_order_update`).
fn update_sql(columns: &[&str]) -> String {
    let set: Vec<String> = columns
        .iter()
        .map(|column| format!("{column} = :{column}"))
        .collect();
    format!(
        "UPDATE orders SET {} WHERE distributor = :distributor AND order_name = :order_name",
        set.join(", ")
    )
}

/// [`update_sql`], changing the row only while each of the `compared` columns holds its old value
/// (`:was_<column>`, their parameters after the others).
fn update_checked_sql(columns: &[&str], compared: &[&str]) -> String {
    let checks: Vec<String> = compared
        .iter()
        .map(|column| format!(" AND {column} IS NOT DISTINCT FROM :was_{column}"))
        .collect();
    format!("{}{}", update_sql(columns), checks.concat())
}

/// Stores an order: its columns, when it was created and updated, and its lines.
const INSERT_ORDER: &str = concat!(
    "INSERT INTO orders (",
    order_columns!(),
    ", created_at, updated_at, lines) VALUES (",
    order_parameters!(),
    ", :at, :at, :lines)"
);

fn to_text<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::new(Code::Internal, e.to_string()))
}

/// The values of a statement's named parameters (`:column`), bound by position: each text here
/// lists its parameters in the order of its values (`orders_table!`, `update_sql`), which is how
/// SQLite numbers named parameters (`the_parameters_are_numbered_in_the_order_of_their_values`
/// checks both, and a debug build every statement it runs). Looking each up by name (about 300
/// instructions a parameter) and copying each value cost 2.5% of an order's instructions
/// (callgrind, BENCHMARKS.md "Wave 2").
struct Writes<'a, 'v>(&'a [Write<'v>]);

impl Params for Writes<'_, '_> {
    fn count(&self) -> usize {
        self.0.len()
    }

    fn value(&self, index: usize) -> Value<'_> {
        self.0[index].value.value()
    }

    fn name(&self, index: usize) -> Option<&str> {
        Some(self.0[index].parameter)
    }
}

impl Tx<'_> {
    /// Stores a new order with its lines.
    pub fn insert_order(&self, o: &Order, lines: &[OrderLine], at: &str) -> Result<(), Error> {
        let mut values = order_values(o)?;
        values.push(assign!(at, Value::Text(Cow::Borrowed(at))));
        values.push(assign!(lines, Value::Text(Cow::Owned(lines_text(lines)?))));
        self.db.write(INSERT_ORDER, Writes(&values))?;
        self.remember_order(o, lines);
        Ok(())
    }

    /// Reads the orders `keys` name (distributor, name), [`ORDERS_AHEAD_PER_READ`] a statement,
    /// for the transaction's next reads of them (`KnownOrders`), those not found as absent: a
    /// batch of commands (or an import of many orders) on
    /// PostgreSQL reads the orders it names in a round trip a hundred instead of one each. On
    /// SQLite, where a read is no round trip, nothing is read ahead.
    pub fn read_orders_ahead(&self, keys: &[(&str, &str)]) -> Result<(), Error> {
        if !self.db.locks() {
            return Ok(());
        }
        for chunk in keys.chunks(ORDERS_AHEAD_PER_READ) {
            let pairs: Vec<String> = (0..chunk.len())
                .map(|i| format!("(?{}, ?{})", 2 * i + 1, 2 * i + 2))
                .collect();
            let params: Vec<&str> = chunk.iter().flat_map(|(d, o)| [*d, *o]).collect();
            let found = self.rows_built(
                &format!(
                    concat!(
                        "SELECT ",
                        order_columns!(),
                        ", lines FROM orders WHERE (distributor, order_name) IN ({})"
                    ),
                    pairs.join(", ")
                ),
                params,
                |r| Ok((order_row(r)?, lines_column(r, ORDER_COLUMNS)?)),
            )?;
            for (distributor, order) in chunk {
                self.remember(distributor, order, None);
            }
            for (o, lines) in found {
                self.remember(&o.distributor.clone(), &o.order.clone(), Some((o, lines)));
            }
        }
        Ok(())
    }

    /// Writes back the fields of an order that differ from `before` (the order as read), and its
    /// `lines` when `lines_changed`; nothing when nothing did. Only the changed columns are
    /// written, so an index whose columns did not change (the supplier's, the state's) is not
    /// rewritten. An order's identity (the columns marked `[fixed]` in `orders_table!`: its
    /// names, marketplace, currency, address) never changes once stored.
    pub fn update_order(
        &self,
        before: &Order,
        o: &Order,
        lines: &[OrderLine],
        lines_changed: bool,
        at: &str,
    ) -> Result<(), Error> {
        let mut set = changed_columns(before, o)?;
        if lines_changed {
            set.push(assign!(lines, Value::Text(Cow::Owned(lines_text(lines)?))));
        }
        if set.is_empty() {
            return Ok(());
        }
        self.remember_order(o, lines);
        set.push(assign!(updated_at, Value::Text(Cow::Borrowed(at))));
        let columns: Vec<&'static str> = set.iter().map(|write| write.column).collect();
        set.push(assign!(distributor, o.distributor.value()));
        set.push(assign!(order_name, o.order.value()));
        if self.db.locks() {
            return self.update_order_checked(before, o, &columns, set);
        }
        self.db.exec_keyed(columns, update_sql, Writes(&set))?;
        Ok(())
    }

    /// [`Tx::update_order`] on PostgreSQL, where other processes write too: the `UPDATE` changes
    /// the row only if it still holds what the command read (its state, its history's head, and
    /// the old value of every column written), as the ledger's `WHERE balance = :before` does.
    /// The order's row is read without a lock when a command loads it, and locked here, last
    /// (DESIGN section 10's order: ledger account, stock cells, order); a command that finds it
    /// changed by another process's commit meanwhile (two pushes of one order: the second must
    /// not charge it again) is run again ([`db::Txn::lost_race`]), and then reads the new row.
    fn update_order_checked<'v>(
        &self,
        before: &'v Order,
        o: &Order,
        columns: &[&'static str],
        mut set: Vec<Write<'v>>,
    ) -> Result<(), Error> {
        // The old values, bound by position after the new ones (PostgreSQL numbers each
        // parameter at its first appearance in the text, `pg::sql::placeholders`).
        let was = |column, value| Write {
            column,
            parameter: "",
            value,
        };
        set.push(was("state", before.state.value()));
        set.push(was("audit_head", before.audit_head.value()));
        let mut compared = vec!["state", "audit_head"];
        for old in changed_columns(o, before)? {
            if !compared.contains(&old.column) {
                compared.push(old.column);
                set.push(was(old.column, old.value));
            }
        }
        self.db.write_one_built(
            &update_checked_sql(columns, &compared),
            Writes(&set),
            || {
                format!(
                    "order {:?} of {:?} (as the command read it)",
                    o.order, o.distributor
                )
            },
        )?;
        Ok(())
    }

    /// A distributor's order's state.
    pub fn order_state(&self, distributor: &str, order: &str) -> Result<Option<String>, Error> {
        if let Some(known) = self.known_order(distributor, order, |o, _| o.state.clone()) {
            return Ok(known);
        }
        Ok(self
            .row(
                "SELECT state FROM orders WHERE distributor = ?1 AND order_name = ?2",
                [distributor, order],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// A distributor's order.
    pub fn order(&self, distributor: &str, order: &str) -> Result<Option<Order>, Error> {
        if let Some(known) = self.known_order(distributor, order, |o, _| o.clone()) {
            return Ok(known);
        }
        Ok(self
            .row(
                concat!(
                    "SELECT ",
                    order_columns!(),
                    " FROM orders WHERE distributor = ?1 AND order_name = ?2"
                ),
                [distributor, order],
                order_row,
            )
            .optional()?)
    }

    /// A distributor's orders holding stock locked in a supplier's warehouses, by name.
    pub fn locked_orders(&self, distributor: &str, supplier: &str) -> Result<Vec<Order>, Error> {
        Ok(self.rows(
            concat!(
                "SELECT ",
                order_columns!(),
                " FROM orders WHERE distributor = ?1 AND supplier = ?2
             AND stock_locked = 1 ORDER BY order_name"
            ),
            [distributor, supplier],
            order_row,
        )?)
    }

    /// The orders of that name delivered to a supplier (one per distributor).
    pub fn supplier_orders_named(&self, supplier: &str, order: &str) -> Result<Vec<Order>, Error> {
        Ok(self.rows(
            concat!(
                "SELECT ",
                order_columns!(),
                " FROM orders WHERE supplier = ?1 AND order_name = ?2
             AND documents IS NOT NULL ORDER BY distributor"
            ),
            [supplier, order],
            order_row,
        )?)
    }

    /// A distributor's orders, optionally in one state, by name.
    pub fn orders_of(&self, distributor: &str, state: Option<&str>) -> Result<Vec<Order>, Error> {
        Ok(self.rows(
            concat!(
                "SELECT ",
                order_columns!(),
                " FROM orders WHERE distributor = ?1 AND (CAST(?2 AS TEXT) IS NULL OR state = ?2)
             ORDER BY order_name"
            ),
            params![distributor, state],
            order_row,
        )?)
    }

    /// The orders delivered to a supplier, optionally in one state.
    pub fn orders_for_supplier(
        &self,
        supplier: &str,
        state: Option<&str>,
    ) -> Result<Vec<Order>, Error> {
        Ok(self.rows(
            concat!(
                "SELECT ",
                order_columns!(),
                " FROM orders WHERE supplier = ?1 AND documents IS NOT NULL
             AND (CAST(?2 AS TEXT) IS NULL OR state = ?2) ORDER BY order_name, distributor"
            ),
            params![supplier, state],
            order_row,
        )?)
    }

    /// The split children of an order.
    pub fn order_children(&self, distributor: &str, parent: &str) -> Result<Vec<Order>, Error> {
        Ok(self.rows(
            concat!(
                "SELECT ",
                order_columns!(),
                " FROM orders WHERE distributor = ?1 AND parent = ?2 ORDER BY order_name"
            ),
            [distributor, parent],
            order_row,
        )?)
    }

    /// An order's lines, in order (none when there is no such order).
    pub fn order_lines(&self, distributor: &str, order: &str) -> Result<Vec<OrderLine>, Error> {
        if let Some(known) = self.known_order(distributor, order, |_, lines| lines.to_vec()) {
            return Ok(known.unwrap_or_default());
        }
        Ok(self
            .row(
                "SELECT lines FROM orders WHERE distributor = ?1 AND order_name = ?2",
                [distributor, order],
                |r| lines_column(r, 0),
            )
            .optional()?
            .unwrap_or_default())
    }

    /// A distributor's order with its lines, in one read.
    pub fn order_with_lines(
        &self,
        distributor: &str,
        order: &str,
    ) -> Result<Option<(Order, Vec<OrderLine>)>, Error> {
        if let Some(known) =
            self.known_order(distributor, order, |o, lines| (o.clone(), lines.to_vec()))
        {
            return Ok(known);
        }
        Ok(self
            .row(
                concat!(
                    "SELECT ",
                    order_columns!(),
                    ", lines FROM orders WHERE distributor = ?1 AND order_name = ?2"
                ),
                [distributor, order],
                |r| Ok((order_row(r)?, lines_column(r, ORDER_COLUMNS)?)),
            )
            .optional()?)
    }

    /// Sets a supplier's handling and shipping fees.
    pub fn set_fees(
        &self,
        supplier: &str,
        handling: Decimal,
        shipping: Decimal,
    ) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO supplier_fees (supplier, handling, shipping) VALUES (?1, ?2, ?3)
             ON CONFLICT (supplier) DO UPDATE SET handling = excluded.handling, shipping = excluded.shipping",
            params![supplier, handling.to_string(), shipping.to_string()],
        )?;
        Ok(())
    }

    /// A supplier's `(handling, shipping)` fees; zero when never set.
    pub fn fees(&self, supplier: &str) -> Result<(Decimal, Decimal), Error> {
        self.memo(Table::SupplierFees, &["fees", supplier], || {
            Ok(self
                .row(
                    "SELECT handling, shipping FROM supplier_fees WHERE supplier = ?1",
                    [supplier],
                    |r| Ok((decimal(r, 0)?, decimal(r, 1)?)),
                )
                .optional()?
                .unwrap_or((Decimal::ZERO, Decimal::ZERO)))
        })
    }

    /// Sets the documents a distributor's pushed orders carry.
    pub fn set_print_settings(&self, account: &str, documents: &[String]) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO print_settings (account, documents) VALUES (?1, ?2)
             ON CONFLICT (account) DO UPDATE SET documents = excluded.documents",
            [account, &to_text(&documents)?],
        )?;
        Ok(())
    }

    /// The documents a distributor's pushed orders carry (none when never set).
    pub fn print_settings(&self, account: &str) -> Result<Vec<String>, Error> {
        self.memo(Table::PrintSettings, &["print_settings", account], || {
            let text: Option<String> = self
                .row(
                    "SELECT documents FROM print_settings WHERE account = ?1",
                    [account],
                    |r| r.get(0),
                )
                .optional()?;
            match text {
                Some(text) => serde_json::from_str(&text)
                    .map_err(|e| Error::new(Code::Internal, e.to_string())),
                None => Ok(Vec::new()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::store::{Store, StoreOptions};

    /// The parameters each statement binds, by position, in the order of its values.
    fn parameters(sql: &str) -> Vec<String> {
        let store = Store::open(Path::new(":memory:"), &StoreOptions::default()).unwrap();
        let statement = store.conn.sqlite().prepare(sql).unwrap();
        (1..=statement.parameter_count())
            .map(|index| statement.parameter_name(index).unwrap().to_owned())
            .collect()
    }

    fn text(value: &str) -> serde_json::Value {
        serde_json::Value::String(value.to_owned())
    }

    fn sample_order() -> Order {
        Order {
            distributor: "d".to_owned(),
            order: "market:1".to_owned(),
            marketplace: "market".to_owned(),
            shop: "s".to_owned(),
            order_sn: "1".to_owned(),
            parent: None,
            state: "imported".to_owned(),
            marketplace_status: "unpaid".to_owned(),
            cancel_flagged: false,
            currency: "MYR".to_owned(),
            address: text("a"),
            supplier: None,
            warehouse: None,
            shipping: "platform".to_owned(),
            tracking_no: None,
            charges: None,
            charged: false,
            stock_locked: false,
            refunded_after_sale: Decimal::ZERO,
            documents: None,
            withdrawn_from: None,
            failure: None,
            audit_head: None,
        }
    }

    #[test]
    fn the_parameters_are_numbered_in_the_order_of_their_values() {
        let order = sample_order();
        let mut values: Vec<&str> = order_values(&order)
            .unwrap()
            .iter()
            .map(|write| write.parameter)
            .collect();
        values.extend([":at", ":lines"]);
        assert_eq!(parameters(INSERT_ORDER), values);
        assert_eq!(values.len(), ORDER_COLUMNS + 2);

        let mut changed = order.clone();
        changed.state = "packed".to_owned();
        changed.supplier = Some("acme".to_owned());
        changed.documents = Some(text("label"));
        let columns: Vec<&str> = changed_columns(&order, &changed)
            .unwrap()
            .iter()
            .map(|write| write.column)
            .chain(["lines", "updated_at"])
            .collect();
        let expected: Vec<String> = columns
            .iter()
            .chain(&["distributor", "order_name"])
            .map(|column| format!(":{column}"))
            .collect();
        assert_eq!(parameters(&update_sql(&columns)), expected);
    }

    #[test]
    fn only_changed_columns_are_written_and_fixed_ones_never_change() {
        let before = sample_order();
        assert!(changed_columns(&before, &before).unwrap().is_empty());
        let mut after = before.clone();
        after.stock_locked = true;
        after.refunded_after_sale = Decimal::new(150, 2);
        let changed: Vec<&str> = changed_columns(&before, &after)
            .unwrap()
            .iter()
            .map(|write| write.column)
            .collect();
        assert_eq!(changed, ["refunded_after_sale", "stock_locked"]);
        let fixed: [fn(&mut Order); 3] = [
            |o| o.currency = "SGD".to_owned(),
            |o| o.address = text("elsewhere"),
            |o| o.parent = Some("market:0".to_owned()),
        ];
        for change in fixed {
            let mut after = before.clone();
            change(&mut after);
            let error = changed_columns(&before, &after).err().unwrap();
            assert_eq!(error.code(), Code::Internal, "{error:?}");
        }
    }
}
