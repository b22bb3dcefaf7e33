//! Statements for distribution orders, their lines, fee and print settings, and the delivery
//! queue.

use std::{
    collections::HashMap,
    sync::{Mutex, OnceLock, PoisonError},
};

use rusqlite::{params, OptionalExtension, Row};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{queries::decimal, Table, Tx};
use crate::error::{Code, Error};
use crate::model::{Order, OrderLine};

/// The columns `order_row` reads, as a literal so that statements naming them stay constants.
macro_rules! order_columns {
    () => {
        "distributor, order_name, marketplace, shop, order_sn, parent, state,
    marketplace_status, cancel_flagged, currency, address, supplier, warehouse, shipping,
    tracking_no, charges, charged, refunded_after_sale, documents, withdrawn_from, failure,
    stock_locked, audit_head"
    };
}

/// An order line as its order row holds it: one JSON array per line, its fields in this order
/// (`[line, store_sku, qty, unit_price, local_sku, supplier, sku, price]`), so the row does not
/// repeat the field names for every line.
#[derive(Serialize, Deserialize)]
struct StoredLine(
    i64,
    String,
    i64,
    String,
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
                l.unit_price.clone(),
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
fn lines_column(r: &Row<'_>, index: usize) -> rusqlite::Result<Vec<OrderLine>> {
    let broken = |e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e)
    };
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
                    unit_price,
                    local_sku,
                    supplier,
                    sku,
                    price,
                })
            },
        )
        .collect()
}

fn json_column(r: &Row<'_>, index: usize) -> rusqlite::Result<Option<serde_json::Value>> {
    let text: Option<String> = r.get(index)?;
    text.map(|t| serde_json::from_str(&t))
        .transpose()
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                index,
                rusqlite::types::Type::Text,
                Box::new(e),
            )
        })
}

fn order_row(r: &Row<'_>) -> rusqlite::Result<Order> {
    let charges = json_column(r, 15)?
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(15, rusqlite::types::Type::Text, Box::new(e))
        })?;
    Ok(Order {
        distributor: r.get(0)?,
        order: r.get(1)?,
        marketplace: r.get(2)?,
        shop: r.get(3)?,
        order_sn: r.get(4)?,
        parent: r.get(5)?,
        state: r.get(6)?,
        marketplace_status: r.get(7)?,
        cancel_flagged: r.get(8)?,
        currency: r.get(9)?,
        address: json_column(r, 10)?.unwrap_or_default(),
        supplier: r.get(11)?,
        warehouse: r.get(12)?,
        shipping: r.get(13)?,
        tracking_no: r.get(14)?,
        charges,
        charged: r.get(16)?,
        refunded_after_sale: decimal(r, 17)?,
        documents: json_column(r, 18)?,
        withdrawn_from: r.get(19)?,
        failure: r.get(20)?,
        stock_locked: r.get(21)?,
        audit_head: r.get(22)?,
    })
}

/// What names an order and never changes once it is stored.
type Identity<'o> = (
    &'o str,
    &'o str,
    &'o str,
    &'o str,
    &'o str,
    Option<&'o str>,
    &'o str,
    &'o serde_json::Value,
);

fn identity(o: &Order) -> Identity<'_> {
    (
        &o.distributor,
        &o.order,
        &o.marketplace,
        &o.shop,
        &o.order_sn,
        o.parent.as_deref(),
        &o.currency,
        &o.address,
    )
}

/// The text of an `UPDATE` of these order columns (`?1`, `?2` the order's key, then one
/// parameter per column), built once per set of columns and kept for the life of the process, so
/// that a transaction finds its statement by the text's address (`Tx::with`). Transitions change
/// a few dozen sets of columns, so the texts kept stay few.
fn update_sql(columns: &[&'static str]) -> &'static str {
    type Texts = HashMap<Vec<&'static str>, &'static str>;
    static TEXTS: OnceLock<Mutex<Texts>> = OnceLock::new();
    let mut texts = TEXTS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(text) = texts.get(columns) {
        return text;
    }
    let set: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| format!("{column} = ?{}", i + 3))
        .collect();
    let sql = format!(
        "UPDATE orders SET {} WHERE distributor = ?1 AND order_name = ?2",
        set.join(", ")
    );
    let text: &'static str = Box::leak(sql.into_boxed_str());
    texts.insert(columns.to_vec(), text);
    text
}

fn to_text<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::new(Code::Internal, e.to_string()))
}

impl Tx<'_> {
    /// Stores a new order with its lines.
    pub fn insert_order(&self, o: &Order, lines: &[OrderLine], at: &str) -> Result<(), Error> {
        self.exec(
            concat!(
                "INSERT INTO orders (",
                order_columns!(),
                ", created_at, updated_at, lines) VALUES
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
              ?20, ?21, ?23, ?25, ?22, ?22, ?24)"
            ),
            params![
                o.distributor,
                o.order,
                o.marketplace,
                o.shop,
                o.order_sn,
                o.parent,
                o.state,
                o.marketplace_status,
                o.cancel_flagged,
                o.currency,
                to_text(&o.address)?,
                o.supplier,
                o.warehouse,
                o.shipping,
                o.tracking_no,
                o.charges.as_ref().map(to_text).transpose()?,
                o.charged,
                o.refunded_after_sale.to_string(),
                o.documents.as_ref().map(to_text).transpose()?,
                o.withdrawn_from,
                o.failure,
                at,
                o.stock_locked,
                lines_text(lines)?,
                o.audit_head
            ],
        )?;
        Ok(())
    }

    /// Writes back the fields of an order that differ from `before` (the order as read), and its
    /// `lines` when given (they changed); nothing when nothing did. Only the changed columns are
    /// written, so an index whose columns did not change (the supplier's, the state's) is not
    /// rewritten. An order's identity (its names, marketplace, currency, address) never changes
    /// once stored.
    pub fn update_order(
        &self,
        before: &Order,
        o: &Order,
        lines: Option<&[OrderLine]>,
        at: &str,
    ) -> Result<(), Error> {
        use rusqlite::types::Value as Sql;
        if identity(before) != identity(o) {
            return Err(Error::new(
                Code::Internal,
                format!("order {:?} would change its identity", before.order),
            ));
        }
        let text = |t: &Option<String>| t.clone().map_or(Sql::Null, Sql::Text);
        let json = |v: Option<String>| v.map_or(Sql::Null, Sql::Text);
        let mut set: Vec<(&str, Sql)> = Vec::new();
        if before.state != o.state {
            set.push(("state", Sql::Text(o.state.clone())));
        }
        if before.marketplace_status != o.marketplace_status {
            set.push((
                "marketplace_status",
                Sql::Text(o.marketplace_status.clone()),
            ));
        }
        if before.cancel_flagged != o.cancel_flagged {
            set.push(("cancel_flagged", Sql::Integer(o.cancel_flagged.into())));
        }
        if before.supplier != o.supplier {
            set.push(("supplier", text(&o.supplier)));
        }
        if before.warehouse != o.warehouse {
            set.push(("warehouse", text(&o.warehouse)));
        }
        if before.shipping != o.shipping {
            set.push(("shipping", Sql::Text(o.shipping.clone())));
        }
        if before.tracking_no != o.tracking_no {
            set.push(("tracking_no", text(&o.tracking_no)));
        }
        if before.charges != o.charges {
            set.push((
                "charges",
                json(o.charges.as_ref().map(to_text).transpose()?),
            ));
        }
        if before.charged != o.charged {
            set.push(("charged", Sql::Integer(o.charged.into())));
        }
        if before.stock_locked != o.stock_locked {
            set.push(("stock_locked", Sql::Integer(o.stock_locked.into())));
        }
        if before.refunded_after_sale != o.refunded_after_sale {
            set.push((
                "refunded_after_sale",
                Sql::Text(o.refunded_after_sale.to_string()),
            ));
        }
        if before.documents != o.documents {
            set.push((
                "documents",
                json(o.documents.as_ref().map(to_text).transpose()?),
            ));
        }
        if before.withdrawn_from != o.withdrawn_from {
            set.push(("withdrawn_from", text(&o.withdrawn_from)));
        }
        if before.failure != o.failure {
            set.push(("failure", text(&o.failure)));
        }
        if before.audit_head != o.audit_head {
            set.push(("audit_head", o.audit_head.map_or(Sql::Null, Sql::Integer)));
        }
        if let Some(lines) = lines {
            set.push(("lines", Sql::Text(lines_text(lines)?)));
        }
        if set.is_empty() {
            return Ok(());
        }
        set.push(("updated_at", Sql::Text(at.to_owned())));
        let columns: Vec<&'static str> = set.iter().map(|(column, _)| *column).collect();
        let values = [Sql::Text(o.distributor.clone()), Sql::Text(o.order.clone())]
            .into_iter()
            .chain(set.into_iter().map(|(_, value)| value));
        self.with(update_sql(&columns), |statement| {
            statement.execute(rusqlite::params_from_iter(values))
        })?;
        Ok(())
    }

    /// A distributor's order.
    pub fn order(&self, distributor: &str, order: &str) -> Result<Option<Order>, Error> {
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
                " FROM orders WHERE distributor = ?1 AND (?2 IS NULL OR state = ?2)
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
             AND (?2 IS NULL OR state = ?2) ORDER BY order_name, distributor"
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
        Ok(self
            .row(
                concat!(
                    "SELECT ",
                    order_columns!(),
                    ", lines FROM orders WHERE distributor = ?1 AND order_name = ?2"
                ),
                [distributor, order],
                |r| Ok((order_row(r)?, lines_column(r, 23)?)),
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
        self.exec(
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
                .tx
                .prepare_cached("SELECT handling, shipping FROM supplier_fees WHERE supplier = ?1")?
                .query_row([supplier], |r| Ok((decimal(r, 0)?, decimal(r, 1)?)))
                .optional()?
                .unwrap_or((Decimal::ZERO, Decimal::ZERO)))
        })
    }

    /// Sets the documents a distributor's pushed orders carry.
    pub fn set_print_settings(&self, account: &str, documents: &[String]) -> Result<(), Error> {
        self.exec(
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
                .tx
                .prepare_cached("SELECT documents FROM print_settings WHERE account = ?1")?
                .query_row([account], |r| r.get(0))
                .optional()?;
            match text {
                Some(text) => serde_json::from_str(&text)
                    .map_err(|e| Error::new(Code::Internal, e.to_string())),
                None => Ok(Vec::new()),
            }
        })
    }

    /// Queues the delivery of a pushed order to its supplier.
    pub fn enqueue_delivery(
        &self,
        distributor: &str,
        order: &str,
        supplier: &str,
        at: &str,
    ) -> Result<(), Error> {
        self.exec(
            "INSERT INTO deliveries (distributor, order_name, supplier, created_at) VALUES (?1, ?2, ?3, ?4)",
            [distributor, order, supplier, at],
        )?;
        Ok(())
    }

    /// The oldest queued deliveries, as `(seq, distributor, order)`, at most `limit`.
    pub fn pending_deliveries(&self, limit: usize) -> Result<Vec<(i64, String, String)>, Error> {
        // The limit is not a bound `LIMIT ?`: SQLite's planner reads such a value, so binding it
        // makes the statement be prepared again at every run. Reading stops at the limit.
        Ok(self.with(
            "SELECT seq, distributor, order_name FROM deliveries ORDER BY seq",
            |statement| {
                statement
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .take(limit)
                    .collect()
            },
        )?)
    }

    /// Takes a delivery off the queue (the order's audit row records it); `false` when it was
    /// already taken (another process drained it).
    pub fn finish_delivery(&self, seq: i64) -> Result<bool, Error> {
        let n = self.exec("DELETE FROM deliveries WHERE seq = ?1", [seq])?;
        Ok(n == 1)
    }
}
