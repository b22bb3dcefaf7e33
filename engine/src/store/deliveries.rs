//! Statements of the delivery queue: pushed orders waiting to reach their supplier, written
//! with the push and taken off as each is delivered (`crate::delivery`).

use super::db::Dialect;
use super::Tx;
use crate::error::Error;

impl Tx<'_> {
    /// Queues the delivery of a pushed order to its supplier.
    pub fn enqueue_delivery(
        &self,
        distributor: &str,
        order: &str,
        supplier: &str,
        at: &str,
    ) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO deliveries (distributor, order_name, supplier, created_at) VALUES (?1, ?2, ?3, ?4)",
            [distributor, order, supplier, at],
        )?;
        Ok(())
    }

    /// The oldest queued deliveries, as `(seq, distributor, order)`, at most `limit`.
    pub fn pending_deliveries(&self, limit: usize) -> Result<Vec<(i64, String, String)>, Error> {
        if self.db.dialect() == Dialect::Postgres {
            // Claimed: another process's drain skips them rather than delivering them twice.
            return Ok(self.rows_built(
                &format!(
                    "SELECT seq, distributor, order_name FROM deliveries ORDER BY seq
                     LIMIT {limit} FOR UPDATE SKIP LOCKED"
                ),
                (),
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?);
        }
        Ok(self.db.rows_limited(
            "SELECT seq, distributor, order_name FROM deliveries ORDER BY seq",
            (),
            limit,
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }

    /// Takes a delivery off the queue (the order's audit row records it); `false` when it was
    /// already taken (another process drained it). On PostgreSQL the row was claimed by this
    /// transaction (`pending_deliveries`' `FOR UPDATE SKIP LOCKED`), so it is there to take:
    /// the `DELETE` goes with the next statement, checked to take that one row.
    pub fn finish_delivery(&self, seq: i64) -> Result<bool, Error> {
        const DELETE: &str = "DELETE FROM deliveries WHERE seq = ?1";
        if self.db.locks() {
            self.db.write_one(DELETE, [seq], || {
                format!("delivery {seq} (claimed by this transaction)")
            })?;
            return Ok(true);
        }
        let n = self.exec(DELETE, [seq])?;
        Ok(n == 1)
    }

    /// How many deliveries are queued (the server's `/metrics`).
    pub fn queued_deliveries(&self) -> Result<u64, Error> {
        let n: i64 = self.row("SELECT count(*) FROM deliveries", (), |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
