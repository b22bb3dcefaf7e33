//! Statements for stock cells and the movement log. A stock push touches one cell per mapped
//! distributor for every SKU, so its statements are set-based and prepared once per push.

use rusqlite::{params, OptionalExtension};

use super::{Table, Tx};
use crate::error::Error;
use crate::model::{CellKey, Movement, StockCell};

/// The newest movements one `movements` answer returns.
pub const MOVEMENTS_PAGE_MAX: usize = 1_000;

/// The movement kinds of the stock log (DESIGN.md 6.5).
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
        let before: Option<i64> = self
            .tx
            .prepare_cached(
                "SELECT available FROM stock WHERE account = ?1 AND supplier = ?2 AND warehouse = ?3 AND sku = ?4",
            )?
            .query_row([&cell.account, &cell.supplier, &cell.warehouse, &cell.sku], |r| r.get(0))
            .optional()?;
        self.tx
            .prepare_cached(
                "INSERT INTO stock (account, supplier, warehouse, sku, available, locked)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0) ON CONFLICT (account, supplier, warehouse, sku)
                 DO UPDATE SET available = excluded.available",
            )?
            .execute(params![
                cell.account,
                cell.supplier,
                cell.warehouse,
                cell.sku,
                cell.available
            ])?;
        if before.unwrap_or(0) != cell.available {
            self.tx
                .prepare_cached(
                    "INSERT INTO movements (account, supplier, warehouse, sku, kind, before, after, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    cell.account,
                    cell.supplier,
                    cell.warehouse,
                    cell.sku,
                    kind,
                    before.unwrap_or(0),
                    cell.available,
                    at
                ])?;
        }
        Ok(())
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
        const MIRRORS: &str = "FROM stock c
             JOIN supplier_warehouses m ON m.distributor = c.account AND m.supplier = c.supplier AND m.warehouse = c.warehouse
             JOIN assigned_warehouses a ON a.distributor = c.account AND a.supplier = c.supplier AND a.warehouse = c.warehouse
             JOIN claims k ON k.distributor = c.account AND k.supplier = c.supplier AND k.sku = c.sku AND k.state = 'claimed'
             WHERE c.supplier = ?1 AND c.warehouse = ?2 AND c.sku = ?3 AND c.account <> ?1 AND c.available <> ?4";
        // The join runs once; each mirrored cell is then written by its primary key.
        let mirrors: Vec<(String, i64)> = self
            .tx
            .prepare_cached(&format!("SELECT c.account, c.available {MIRRORS}"))?
            .query_map(params![supplier, warehouse, sku, available], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut update = self.tx.prepare_cached(
            "UPDATE stock SET available = ?5 WHERE account = ?1 AND supplier = ?2 AND warehouse = ?3 AND sku = ?4",
        )?;
        let mut log = self.tx.prepare_cached(
            "INSERT INTO movements (account, supplier, warehouse, sku, kind, before, after, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for (account, before) in &mirrors {
            update.execute(params![account, supplier, warehouse, sku, available])?;
            log.execute(params![
                account,
                supplier,
                warehouse,
                sku,
                movement::STOCK_PUSH,
                before,
                available,
                at
            ])?;
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
        let (column, value) = match scope {
            ClearScope::Supplier => ("''", ""),
            ClearScope::Warehouse(w) => ("warehouse", w),
            ClearScope::Sku(s) => ("sku", s),
        };
        let filter = format!(
            "account = ?1 AND supplier = ?2 AND (?3 = '' OR {column} = ?3) AND (available > 0 OR locked > 0)"
        );
        self.exec_built(
            &format!(
                "INSERT INTO movements (account, supplier, warehouse, sku, kind, before, after, at)
                 SELECT account, supplier, warehouse, sku, ?4, available, 0, ?5 FROM stock WHERE {filter}"
            ),
            params![distributor, supplier, value, kind, at],
        )?;
        let n = self.exec_built(
            &format!("UPDATE stock SET available = 0, locked = 0 WHERE {filter}"),
            params![distributor, supplier, value],
        )?;
        Ok(n)
    }

    /// One cell.
    pub fn stock_cell(
        &self,
        account: &str,
        supplier: &str,
        warehouse: &str,
        sku: &str,
    ) -> Result<Option<StockCell>, Error> {
        Ok(self
            .row(
                "SELECT account, supplier, warehouse, sku, available, locked FROM stock
                 WHERE account = ?1 AND supplier = ?2 AND warehouse = ?3 AND sku = ?4",
                [account, supplier, warehouse, sku],
                cell_row,
            )
            .optional()?)
    }

    /// An account's cells of one supplier SKU, by warehouse.
    pub fn stock_cells(
        &self,
        account: &str,
        supplier: &str,
        sku: &str,
    ) -> Result<Vec<StockCell>, Error> {
        Ok(self.rows(
            "SELECT account, supplier, warehouse, sku, available, locked FROM stock
             WHERE account = ?1 AND supplier = ?2 AND sku = ?3 ORDER BY warehouse",
            [account, supplier, sku],
            cell_row,
        )?)
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
                    .tx
                    .prepare_cached(
                        "SELECT region FROM warehouses WHERE account = ?1 AND warehouse = ?2",
                    )?
                    .query_row([supplier, warehouse], |r| r.get(0))
                    .optional()?)
            },
        )
    }

    /// Moves quantities within one cell: `available += d_available`, `locked += d_locked`,
    /// logging `kind`; refuses (returns `false`) when either would go below zero or there is no
    /// such cell.
    pub fn adjust_cell(
        &self,
        cell: CellKey<'_>,
        d_available: i64,
        d_locked: i64,
        kind: &str,
        at: &str,
    ) -> Result<bool, Error> {
        // No `RETURNING`: SQLite runs it as a trigger, which gives the statement a journal of its
        // own, and releasing that walks a batch's whole sub-journal (quadratic in a batch).
        let changed = self.exec(
            "UPDATE stock SET available = available + ?5, locked = locked + ?6
             WHERE account = ?1 AND supplier = ?2 AND warehouse = ?3 AND sku = ?4
             AND available + ?5 >= 0 AND locked + ?6 >= 0",
            params![
                cell.account,
                cell.supplier,
                cell.warehouse,
                cell.sku,
                d_available,
                d_locked
            ],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        if d_available != 0 {
            let after: i64 = self.row(
                "SELECT available FROM stock
                 WHERE account = ?1 AND supplier = ?2 AND warehouse = ?3 AND sku = ?4",
                [cell.account, cell.supplier, cell.warehouse, cell.sku],
                |r| r.get(0),
            )?;
            self.exec(
                "INSERT INTO movements (account, supplier, warehouse, sku, kind, before, after, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    cell.account,
                    cell.supplier,
                    cell.warehouse,
                    cell.sku,
                    kind,
                    after - d_available,
                    after,
                    at
                ],
            )?;
        }
        Ok(true)
    }

    /// An account's newest movements of one supplier SKU, newest first.
    pub fn movements(&self, account: &str, sku: &str) -> Result<Vec<Movement>, Error> {
        Ok(self.rows(
            "SELECT supplier, warehouse, sku, kind, before, after, at FROM movements
             WHERE account = ?1 AND sku = ?2 ORDER BY seq DESC LIMIT ?3",
            params![account, sku, MOVEMENTS_PAGE_MAX as i64],
            |r| {
                Ok(Movement {
                    supplier: r.get(0)?,
                    warehouse: r.get(1)?,
                    sku: r.get(2)?,
                    kind: r.get(3)?,
                    before: r.get(4)?,
                    after: r.get(5)?,
                    at: r.get(6)?,
                })
            },
        )?)
    }
}

fn cell_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StockCell> {
    Ok(StockCell {
        account: r.get(0)?,
        supplier: r.get(1)?,
        warehouse: r.get(2)?,
        sku: r.get(3)?,
        available: r.get(4)?,
        locked: r.get(5)?,
    })
}
