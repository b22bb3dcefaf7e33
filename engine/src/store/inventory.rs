//! Statements for stock cells and the movement log. A stock push touches one cell per mapped
//! distributor for every SKU, so its statements are set-based and prepared once per push.

use super::db::{self, params, Dialect, Optional, Row};
use super::{Table, Tx};
use crate::error::Error;
use crate::model::{CellKey, Movement, StockCell};

/// The newest movements one `movements` answer returns.
pub const MOVEMENTS_PAGE_MAX: usize = 1_000;

/// The movement kinds of the stock log (docs/protocol.md#stock-and-orders).
pub mod movement {
    /// The supplier pushed its stock.
    pub const STOCK_PUSH: &str = "distribution_stock_push";
    /// Stock cleared by an assignment change or the end of a partnership.
    pub const AUTO_CLEARED: &str = "distribution_stock_auto_cleared";
    /// Stock cleared because the distributor stopped distributing the SKU.
    pub const STOP_DISTRIBUTION: &str = "stop_distribution";
    /// Stock locked by packing an order.
    pub const ORDER_LOCK: &str = "order_lock";
    /// Locked stock released (order cancelled or withdrawn).
    pub const ORDER_RELEASE: &str = "order_release";
    /// Locked stock left with a shipped order.
    pub const ORDER_SHIP: &str = "order_ship";
}

/// A cell's `available` and `last_movement`, by its key.
const CELL_AVAILABLE: &str = "SELECT available, last_movement FROM stock
     WHERE account = ?1 AND supplier = ?2 AND warehouse = ?3 AND sku = ?4";

/// [`CELL_AVAILABLE`], locked until the commit: PostgreSQL's text in a write transaction.
const CELL_AVAILABLE_LOCKED: &str = "SELECT available, last_movement FROM stock
     WHERE account = ?1 AND supplier = ?2 AND warehouse = ?3 AND sku = ?4 FOR UPDATE";

/// A cell's quantities and `last_movement`, by its key.
const CELL_QUANTITIES: &str = "SELECT available, locked, last_movement FROM stock
     WHERE account = ?1 AND supplier = ?2 AND warehouse = ?3 AND sku = ?4";

/// [`CELL_QUANTITIES`], locked until the commit: PostgreSQL's text in a write transaction.
const CELL_QUANTITIES_LOCKED: &str = "SELECT available, locked, last_movement FROM stock
     WHERE account = ?1 AND supplier = ?2 AND warehouse = ?3 AND sku = ?4 FOR UPDATE";

/// A cell's `available`, `locked` and `last_movement`.
type Quantities = (i64, i64, Option<i64>);

/// The cells [`Tx::lock_cells`] locked and read, by key: what the command reads of them next
/// (`stock_cell`, `adjust_cell`) needs no statement. An entry goes when its cell is changed
/// (`adjust_cell` takes it; the other writers of `stock` forget them all), or at a rollback.
pub(super) type LockedCells = std::collections::HashMap<[String; 4], Quantities>;

/// Which cells a clear touches.
#[derive(Debug, Clone, Copy)]
pub enum ClearScope<'a> {
    /// Every cell of a distributor for one supplier.
    Supplier,
    /// The cells of a distributor for one supplier in one warehouse.
    Warehouse(&'a str),
    /// The cells of a distributor for one supplier SKU.
    Sku(&'a str),
}

impl Tx<'_> {
    /// Sets the available stock of one cell (creating it), logging a movement when it changes.
    pub fn set_available(&self, cell: &StockCell, kind: &str, at: &str) -> Result<(), Error> {
        self.locked_cells.borrow_mut().clear();
        let key = [&cell.account, &cell.supplier, &cell.warehouse, &cell.sku];
        let read = |sql| {
            self.row(sql, key, |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        };
        let found: Option<(i64, Option<i64>)> = if !self.db.locks() {
            read(CELL_AVAILABLE)?
        } else if let Some(found) = read(CELL_AVAILABLE_LOCKED)? {
            Some(found)
        } else {
            // A cell not there yet is made empty first, so that there is a row to lock: two
            // processes setting a new cell at once then take turns on it, and the second logs
            // its movement from the first's level, not from nothing.
            self.db.write(
                "INSERT INTO stock (account, supplier, warehouse, sku, available, locked)
                 VALUES (?1, ?2, ?3, ?4, 0, 0) ON CONFLICT DO NOTHING",
                key,
            )?;
            read(CELL_AVAILABLE_LOCKED)?
        };
        let (before, last) = found.unwrap_or((0, None));
        let last = if before == cell.available {
            last
        } else {
            Some(self.log_movement(cell.key(), kind, before, cell.available, at, last)?)
        };
        self.db.write(
            "INSERT INTO stock (account, supplier, warehouse, sku, available, locked, last_movement)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6) ON CONFLICT (account, supplier, warehouse, sku)
             DO UPDATE SET available = excluded.available, last_movement = excluded.last_movement",
            params![
                cell.account,
                cell.supplier,
                cell.warehouse,
                cell.sku,
                cell.available,
                last
            ],
        )?;
        Ok(())
    }

    /// Appends a movement of one cell to the log, after `prev` (the cell's last movement);
    /// returns its `seq`, which the caller stores as the cell's `last_movement`.
    fn log_movement(
        &self,
        cell: CellKey<'_>,
        kind: &str,
        before: i64,
        after: i64,
        at: &str,
        prev: Option<i64>,
    ) -> Result<i64, Error> {
        Ok(self.db.insert_seq(
            "INSERT INTO movements (account, supplier, warehouse, sku, kind, before, after, at, prev)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                cell.account,
                cell.supplier,
                cell.warehouse,
                cell.sku,
                kind,
                before,
                after,
                at,
                prev
            ],
        )?)
    }

    /// Sets `available` of one supplier SKU in one warehouse for every distributor that mirrors
    /// it: the warehouse is mapped on its side and still assigned, the partnership is live, and
    /// the SKU is claimed. Each changed cell gets a movement. Returns how many cells were set.
    pub fn push_to_distributors(
        &self,
        supplier: &str,
        warehouse: &str,
        sku: &str,
        available: i64,
        at: &str,
    ) -> Result<usize, Error> {
        self.locked_cells.borrow_mut().clear();
        const MIRRORS: &str = "FROM stock c
             JOIN supplier_warehouses m ON m.distributor = c.account AND m.supplier = c.supplier AND m.warehouse = c.warehouse
             JOIN assigned_warehouses a ON a.distributor = c.account AND a.supplier = c.supplier AND a.warehouse = c.warehouse
             JOIN claims k ON k.distributor = c.account AND k.supplier = c.supplier AND k.sku = c.sku AND k.state = 'claimed'
             WHERE c.supplier = ?1 AND c.warehouse = ?2 AND c.sku = ?3 AND c.account <> ?1 AND c.available <> ?4";
        // The join runs once; each mirrored cell is then written by its primary key. On
        // PostgreSQL the cells are locked as read, in the order of their keys.
        let lock = if self.db.locks() {
            " ORDER BY c.account FOR UPDATE OF c"
        } else {
            ""
        };
        let mirrors: Vec<(String, i64, Option<i64>)> = self.rows_built(
            &format!("SELECT c.account, c.available, c.last_movement {MIRRORS}{lock}"),
            params![supplier, warehouse, sku, available],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        for (account, before, last) in &mirrors {
            let cell = CellKey {
                account,
                supplier,
                warehouse,
                sku,
            };
            let logged =
                self.log_movement(cell, movement::STOCK_PUSH, *before, available, at, *last)?;
            self.db.write(
                "UPDATE stock SET available = ?5, last_movement = ?6
                 WHERE account = ?1 AND supplier = ?2 AND warehouse = ?3 AND sku = ?4",
                params![account, supplier, warehouse, sku, available, logged],
            )?;
        }
        Ok(mirrors.len())
    }

    /// Clears a distributor's cells of one supplier (all, one warehouse, or one SKU): locked
    /// stock is released and available set to zero, each changed cell logged as `kind`.
    pub fn clear_stock(
        &self,
        distributor: &str,
        supplier: &str,
        scope: ClearScope<'_>,
        kind: &str,
        at: &str,
    ) -> Result<usize, Error> {
        self.locked_cells.borrow_mut().clear();
        let (column, value) = match scope {
            ClearScope::Supplier => ("''", ""),
            ClearScope::Warehouse(w) => ("warehouse", w),
            ClearScope::Sku(s) => ("sku", s),
        };
        // On PostgreSQL the cells are locked as read, in the order of their keys.
        let lock = if self.db.locks() { " FOR UPDATE" } else { "" };
        let cells: Vec<(String, String, i64, Option<i64>)> = self.rows_built(
            &format!(
                "SELECT warehouse, sku, available, last_movement FROM stock
                 WHERE account = ?1 AND supplier = ?2 AND (?3 = '' OR {column} = ?3)
                 AND (available > 0 OR locked > 0) ORDER BY warehouse, sku{lock}"
            ),
            [distributor, supplier, value],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        for (warehouse, sku, before, last) in &cells {
            let cell = CellKey {
                account: distributor,
                supplier,
                warehouse,
                sku,
            };
            let logged = self.log_movement(cell, kind, *before, 0, at, *last)?;
            self.db.write(
                "UPDATE stock SET available = 0, locked = 0, last_movement = ?5
                 WHERE account = ?1 AND supplier = ?2 AND warehouse = ?3 AND sku = ?4",
                params![distributor, supplier, warehouse, sku, logged],
            )?;
        }
        Ok(cells.len())
    }

    /// One cell.
    pub fn stock_cell(
        &self,
        account: &str,
        supplier: &str,
        warehouse: &str,
        sku: &str,
    ) -> Result<Option<StockCell>, Error> {
        // A cell `lock_cells` locked is as it read it until it changes.
        let known = {
            let locked = self.locked_cells.borrow();
            if locked.is_empty() {
                None
            } else {
                locked
                    .get(&[account, supplier, warehouse, sku].map(str::to_owned))
                    .copied()
            }
        };
        if let Some((available, locked, _)) = known {
            return Ok(Some(StockCell {
                account: account.to_owned(),
                supplier: supplier.to_owned(),
                warehouse: warehouse.to_owned(),
                sku: sku.to_owned(),
                available,
                locked,
            }));
        }
        Ok(self
            .row(
                "SELECT account, supplier, warehouse, sku, available, locked FROM stock
                 WHERE account = ?1 AND supplier = ?2 AND warehouse = ?3 AND sku = ?4",
                [account, supplier, warehouse, sku],
                cell_row,
            )
            .optional()?)
    }

    /// An account's cells of one supplier SKU, by warehouse: one lookup per warehouse of the
    /// supplier (a cell is always in one of its supplier's warehouses), not a scan of every cell
    /// the account holds of that supplier. A distributor's cells are those of its supplier
    /// warehouses that are mapped on its side and assigned now: a cell of a warehouse unassigned
    /// since, or of a mapping a new approval rebuilt without it, was cleared and is history
    /// (its movements keep it), not stock.
    pub fn stock_cells(
        &self,
        account: &str,
        supplier: &str,
        sku: &str,
    ) -> Result<Vec<StockCell>, Error> {
        Ok(self.rows(
            "SELECT account, supplier, warehouse, sku, available, locked FROM stock
             WHERE account = ?1 AND supplier = ?2 AND sku = ?3
             AND warehouse IN (SELECT warehouse FROM warehouses WHERE account = ?2)
             AND (account = supplier OR warehouse IN (
                 SELECT m.warehouse FROM supplier_warehouses m
                 JOIN assigned_warehouses a ON a.distributor = m.distributor
                     AND a.supplier = m.supplier AND a.warehouse = m.warehouse
                 WHERE m.distributor = ?1 AND m.supplier = ?2))
             ORDER BY warehouse",
            [account, supplier, sku],
            cell_row,
        )?)
    }

    /// The cells a distributor holds of a supplier's `skus` in any of `warehouses`, in one read
    /// (a pack's candidate warehouses: each line's SKU in each, and no statement per cell).
    pub fn stock_cells_in(
        &self,
        account: &str,
        supplier: &str,
        warehouses: &[&str],
        skus: &[&str],
    ) -> Result<Vec<StockCell>, Error> {
        if warehouses.is_empty() || skus.is_empty() {
            return Ok(Vec::new());
        }
        let list = |from: usize, n: usize| {
            (from..from + n)
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let sql = format!(
            "SELECT account, supplier, warehouse, sku, available, locked FROM stock
             WHERE account = ?1 AND supplier = ?2 AND warehouse IN ({}) AND sku IN ({})",
            list(3, warehouses.len()),
            list(3 + warehouses.len(), skus.len())
        );
        let params: Vec<&str> = [account, supplier]
            .into_iter()
            .chain(warehouses.iter().copied())
            .chain(skus.iter().copied())
            .collect();
        Ok(self.rows_built(&sql, params, cell_row)?)
    }

    /// The region of a supplier's warehouse.
    pub fn warehouse_region(
        &self,
        supplier: &str,
        warehouse: &str,
    ) -> Result<Option<String>, Error> {
        self.memo(
            Table::Warehouses,
            &["warehouse_region", supplier, warehouse],
            || {
                Ok(self
                    .row(
                        "SELECT region FROM warehouses WHERE account = ?1 AND warehouse = ?2",
                        [supplier, warehouse],
                        |r| r.get(0),
                    )
                    .optional()?)
            },
        )
    }

    /// Locks the cells a command is about to change, in the order of their keys, until the
    /// commit (PostgreSQL; nothing on SQLite, whose write transaction is the only writer). A
    /// command that changes several cells (an order of several lines) locks them all first, so
    /// that two commands touching the same cells take them in one order and never deadlock; and
    /// what it reads of them after is what the commit will change. A cell that does not exist
    /// is skipped.
    pub fn lock_cells<'c>(
        &self,
        cells: impl IntoIterator<Item = CellKey<'c>>,
    ) -> Result<(), Error> {
        if !self.db.locks() {
            return Ok(());
        }
        let mut keys: Vec<[&str; 4]> = cells
            .into_iter()
            .map(|c| [c.account, c.supplier, c.warehouse, c.sku])
            .collect();
        keys.sort_unstable();
        keys.dedup();
        // In one round trip on PostgreSQL, which runs them in turn: locked in the order of keys.
        let found = self
            .db
            .row_each(CELL_QUANTITIES_LOCKED, &keys, quantities)?;
        let mut locked = self.locked_cells.borrow_mut();
        for (key, found) in keys.iter().zip(found) {
            if let Some(found) = found {
                locked.insert(key.map(str::to_owned), found);
            }
        }
        Ok(())
    }

    /// Moves quantities within one cell: `available += d_available`, `locked += d_locked`,
    /// logging `kind` when `available` changes; refuses (returns `false`) when either would go
    /// below zero or there is no such cell.
    pub fn adjust_cell(
        &self,
        cell: CellKey<'_>,
        d_available: i64,
        d_locked: i64,
        kind: &str,
        at: &str,
    ) -> Result<bool, Error> {
        let key = [cell.account, cell.supplier, cell.warehouse, cell.sku];
        // Read, then write: on SQLite the transaction is the only writer (`BEGIN IMMEDIATE`); on
        // PostgreSQL the read locks the cell until the commit. No `RETURNING`: SQLite runs it as
        // a trigger, which gives the statement a journal of its own, and releasing that walks a
        // batch's whole sub-journal (quadratic in a batch).
        let read = if self.db.locks() {
            CELL_QUANTITIES_LOCKED
        } else {
            CELL_QUANTITIES
        };
        // A cell `lock_cells` locked is as it read it: this is its first change since.
        let taken = if self.locked_cells.borrow().is_empty() {
            None
        } else {
            self.locked_cells
                .borrow_mut()
                .remove(&key.map(str::to_owned))
        };
        let found = match taken {
            Some(found) => Some(found),
            None => self.row(read, key, quantities).optional()?,
        };
        let Some((available, locked, last)) = found else {
            return Ok(false);
        };
        let (Some(after), Some(now_locked)) = (
            available.checked_add(d_available).filter(|n| *n >= 0),
            locked.checked_add(d_locked).filter(|n| *n >= 0),
        ) else {
            return Ok(false);
        };
        let last = if d_available == 0 {
            last
        } else {
            Some(self.log_movement(cell, kind, available, after, at, last)?)
        };
        self.db.write(
            "UPDATE stock SET available = ?5, locked = ?6, last_movement = ?7
             WHERE account = ?1 AND supplier = ?2 AND warehouse = ?3 AND sku = ?4",
            params![
                cell.account,
                cell.supplier,
                cell.warehouse,
                cell.sku,
                after,
                now_locked,
                last
            ],
        )?;
        Ok(true)
    }

    /// An account's newest `limit` movements of one supplier SKU, newest first: the chains of its
    /// cells in the supplier's warehouses, merged by `seq`.
    pub fn movements(
        &self,
        account: &str,
        supplier: &str,
        sku: &str,
        limit: usize,
    ) -> Result<Vec<Movement>, Error> {
        // A recursive query whose queue is ordered (newest first) walks every chain at once and
        // stops after the limit: each movement's `prev` is older than it. The limit is written
        // into the text (the planner reads a bound `LIMIT ?`, which makes SQLite prepare the
        // statement again at every run); the engine asks for one page size.
        let sql = match self.db.dialect() {
            Dialect::Sqlite => format!(
                "WITH RECURSIVE chain (seq) AS (
                     SELECT last_movement FROM stock
                     WHERE account = ?1 AND supplier = ?2 AND sku = ?3
                     AND last_movement IS NOT NULL
                     AND warehouse IN (SELECT warehouse FROM warehouses WHERE account = ?2)
                     UNION ALL
                     SELECT m.prev FROM movements m JOIN chain c ON m.seq = c.seq
                     WHERE m.prev IS NOT NULL
                     ORDER BY 1 DESC LIMIT {limit})
                 SELECT seq, supplier, warehouse, sku, kind, before, after, at FROM movements
                 WHERE seq IN (SELECT seq FROM chain) ORDER BY seq DESC"
            ),
            // PostgreSQL orders no recursive term: it walks the chains whole, then keeps the
            // newest.
            Dialect::Postgres => format!(
                "WITH RECURSIVE chain (seq) AS (
                     SELECT last_movement FROM stock
                     WHERE account = ?1 AND supplier = ?2 AND sku = ?3
                     AND last_movement IS NOT NULL
                     AND warehouse IN (SELECT warehouse FROM warehouses WHERE account = ?2)
                     UNION ALL
                     SELECT m.prev FROM movements m JOIN chain c ON m.seq = c.seq
                     WHERE m.prev IS NOT NULL)
                 SELECT seq, supplier, warehouse, sku, kind, before, after, at FROM movements
                 WHERE seq IN (SELECT seq FROM chain) ORDER BY seq DESC LIMIT {limit}"
            ),
        };
        Ok(self.rows_built(&sql, [account, supplier, sku], movement_row)?)
    }
}

/// A movement from the columns `seq, supplier, warehouse, sku, kind, before, after, at`.
fn movement_row(r: &Row<'_>) -> db::Result<Movement> {
    Ok(Movement {
        seq: r.get(0)?,
        supplier: r.get(1)?,
        warehouse: r.get(2)?,
        sku: r.get(3)?,
        kind: r.get(4)?,
        before: r.get(5)?,
        after: r.get(6)?,
        at: r.get(7)?,
    })
}

/// A row of [`CELL_QUANTITIES`].
fn quantities(r: &Row<'_>) -> db::Result<Quantities> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

fn cell_row(r: &Row<'_>) -> db::Result<StockCell> {
    Ok(StockCell {
        account: r.get(0)?,
        supplier: r.get(1)?,
        warehouse: r.get(2)?,
        sku: r.get(3)?,
        available: r.get(4)?,
        locked: r.get(5)?,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use super::MOVEMENTS_PAGE_MAX;
    use crate::model::{Account, CellKey, Movement, Plan, StockCell};
    use crate::store::{Store, StoreOptions};

    const WAREHOUSES: [&str; 3] = ["JB", "KL", "PG"];

    /// One write to a cell of `dist`: set its stock, or move some between available and locked.
    #[derive(Debug, Clone)]
    enum Op {
        Set(usize, &'static str, i64),
        Adjust(usize, &'static str, i64, i64),
        ClearWarehouse(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        let sku = prop::sample::select(vec!["MUG", "CAP"]);
        prop_oneof![
            4 => (0..3usize, sku.clone(), 0..50i64).prop_map(|(w, s, n)| Op::Set(w, s, n)),
            4 => (0..3usize, sku, -5..5i64, -5..5i64).prop_map(|(w, s, a, l)| Op::Adjust(w, s, a, l)),
            1 => (0..3usize).prop_map(Op::ClearWarehouse),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Walking the cells' chains answers what a scan of the whole log would, newest first,
        /// across warehouses, up to the page size.
        #[test]
        fn the_chains_of_a_skus_cells_are_its_movements_newest_first(
            ops in prop::collection::vec(op(), 1..400),
            page in prop::sample::select(vec![1usize, 3, 50, MOVEMENTS_PAGE_MAX]),
        ) {
            let mut store = Store::open(Path::new(":memory:"), &StoreOptions::default())
                .unwrap_or_else(|e| panic!("open: {e}"));
            let (walked, scanned) = store.write(|tx| {
                tx.insert_account(&Account { account: "sup".into(), plan: Plan::V3, inventory: true, currency: "MYR".into() }, "t")?;
                for w in WAREHOUSES {
                    tx.insert_warehouse("sup", w, w, "r")?;
                }
                for op in &ops {
                    match *op {
                        Op::Set(w, sku, n) => {
                            let cell = StockCell { account: "dist".into(), supplier: "sup".into(), warehouse: WAREHOUSES[w].into(), sku: sku.into(), available: n, locked: 0 };
                            tx.set_available(&cell, "set", "t")?;
                        }
                        Op::Adjust(w, sku, a, l) => {
                            let cell = CellKey { account: "dist", supplier: "sup", warehouse: WAREHOUSES[w], sku };
                            tx.adjust_cell(cell, a, l, "adjust", "t")?;
                        }
                        Op::ClearWarehouse(w) => {
                            tx.clear_stock("dist", "sup", super::ClearScope::Warehouse(WAREHOUSES[w]), "clear", "t")?;
                        }
                    }
                }
                let walked = tx.movements("dist", "sup", "MUG", page)?;
                let scanned: Vec<Movement> = tx.rows(
                    "SELECT seq, supplier, warehouse, sku, kind, before, after, at FROM movements
                     WHERE account = 'dist' AND supplier = 'sup' AND sku = 'MUG' ORDER BY seq DESC",
                    (),
                    super::movement_row,
                )?.into_iter().take(page).collect();
                Ok((walked, scanned))
            }).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(walked, scanned);
        }
    }
}
