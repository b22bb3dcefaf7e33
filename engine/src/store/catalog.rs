//! Statements for products, price history, local SKUs, claims and store-SKU mappings.

use rust_decimal::Decimal;

use super::db::{self, params, Optional, Row};
use super::{queries::decimal, Table, Tx};
use crate::error::{Code, Error};
use crate::model::{Claim, Product};

/// How many prices of a SKU the history keeps (docs/protocol.md#distribution-products).
pub const PRICE_HISTORY_MAX: usize = 30;

fn product_row(r: &Row<'_>) -> db::Result<Product> {
    Ok(Product {
        supplier: r.get(0)?,
        sku: r.get(1)?,
        name: r.get(2)?,
        price: decimal(r, 3)?,
        combination: r.get(4)?,
        visible_all: r.get(5)?,
        enabled: r.get(6)?,
    })
}

const PRODUCT_COLUMNS: &str = "supplier, sku, name, price, combination, visible_all, enabled";
const CLAIM_COLUMNS: &str =
    "claim, distributor, supplier, sku, local_sku, state, cost, cost_currency";

fn claim_row(r: &Row<'_>) -> db::Result<Claim> {
    let cost: Option<String> = r.get(6)?;
    Ok(Claim {
        claim: r.get(0)?,
        distributor: r.get(1)?,
        supplier: r.get(2)?,
        sku: r.get(3)?,
        local_sku: r.get(4)?,
        state: r.get(5)?,
        cost: cost.and_then(|c| c.parse().ok()),
        cost_currency: r.get(7)?,
    })
}

impl Tx<'_> {
    /// Publishes a product; `false` when the supplier already has that SKU.
    pub fn insert_product(
        &self,
        p: &Product,
        visible_to: &[String],
        at: &str,
    ) -> Result<bool, Error> {
        let n = self.exec(
            "INSERT INTO products (supplier, sku, name, price, combination, visible_all, enabled,
             created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
            params![
                p.supplier,
                p.sku,
                p.name,
                p.price.to_string(),
                p.combination,
                p.visible_all,
                p.enabled,
                at
            ],
        )?;
        if n == 0 {
            return Ok(false);
        }
        for distributor in visible_to {
            self.db.write(
                "INSERT INTO product_visibility (supplier, sku, distributor) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
                [&p.supplier, &p.sku, distributor],
            )?;
        }
        self.append_price(&p.supplier, &p.sku, p.price, at)?;
        Ok(true)
    }

    /// A supplier's product.
    pub fn product(&self, supplier: &str, sku: &str) -> Result<Option<Product>, Error> {
        self.memo(Table::Products, &["product", supplier, sku], || {
            Ok(self
                .row_built(
                    &format!(
                        "SELECT {PRODUCT_COLUMNS} FROM products WHERE supplier = ?1 AND sku = ?2"
                    ),
                    [supplier, sku],
                    product_row,
                )
                .optional()?)
        })
    }

    /// Every product of a supplier, by SKU.
    pub fn products_of(&self, supplier: &str) -> Result<Vec<Product>, Error> {
        Ok(self.rows_built(
            &format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE supplier = ?1 ORDER BY sku"),
            [supplier],
            product_row,
        )?)
    }

    /// The enabled products of a supplier that a distributor may see.
    pub fn products_visible_to(
        &self,
        supplier: &str,
        distributor: &str,
    ) -> Result<Vec<Product>, Error> {
        Ok(self.rows_built(
            &format!(
                "SELECT {PRODUCT_COLUMNS} FROM products p WHERE supplier = ?1 AND enabled = 1 AND
             (visible_all = 1 OR EXISTS (SELECT 1 FROM product_visibility v WHERE
              v.supplier = p.supplier AND v.sku = p.sku AND v.distributor = ?2)) ORDER BY sku"
            ),
            [supplier, distributor],
            product_row,
        )?)
    }

    /// Whether a distributor may see a product (enabled or not).
    pub fn product_visible(
        &self,
        supplier: &str,
        sku: &str,
        distributor: &str,
    ) -> Result<bool, Error> {
        Ok(self
            .row(
                "SELECT 1 FROM products p WHERE supplier = ?1 AND sku = ?2 AND (visible_all = 1 OR
                 EXISTS (SELECT 1 FROM product_visibility v WHERE v.supplier = p.supplier AND
                 v.sku = p.sku AND v.distributor = ?3))",
                [supplier, sku, distributor],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Sets a product's price and appends it to the history, which keeps the newest
    /// [`PRICE_HISTORY_MAX`].
    pub fn set_product_price(
        &self,
        supplier: &str,
        sku: &str,
        price: Decimal,
        at: &str,
    ) -> Result<(), Error> {
        self.db.write(
            "UPDATE products SET price = ?3 WHERE supplier = ?1 AND sku = ?2",
            params![supplier, sku, price.to_string()],
        )?;
        self.append_price(supplier, sku, price, at)
    }

    fn append_price(
        &self,
        supplier: &str,
        sku: &str,
        price: Decimal,
        at: &str,
    ) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO price_history (supplier, sku, price, at) VALUES (?1, ?2, ?3, ?4)",
            params![supplier, sku, price.to_string(), at],
        )?;
        // The limit is written into the text: SQLite's planner reads a bound `LIMIT ?`, so a
        // statement binding one is prepared again at every run.
        self.db.exec_built(
            &format!(
                "DELETE FROM price_history WHERE supplier = ?1 AND sku = ?2 AND seq NOT IN
                 (SELECT seq FROM price_history WHERE supplier = ?1 AND sku = ?2
                  ORDER BY seq DESC LIMIT {PRICE_HISTORY_MAX})"
            ),
            [supplier, sku],
        )?;
        Ok(())
    }

    /// A product's prices in force, newest first, as `(price, at)`.
    pub fn price_history(
        &self,
        supplier: &str,
        sku: &str,
    ) -> Result<Vec<(Decimal, String)>, Error> {
        Ok(self.rows(
            "SELECT price, at FROM price_history WHERE supplier = ?1 AND sku = ?2 ORDER BY seq DESC",
            [supplier, sku],
            |r| Ok((decimal(r, 0)?, r.get(1)?)),
        )?)
    }

    /// Turns distribution of a product on or off.
    pub fn set_product_enabled(
        &self,
        supplier: &str,
        sku: &str,
        enabled: bool,
    ) -> Result<(), Error> {
        self.db.write(
            "UPDATE products SET enabled = ?3 WHERE supplier = ?1 AND sku = ?2",
            params![supplier, sku, enabled],
        )?;
        Ok(())
    }

    /// Creates a local (merchant) SKU; `false` when the account already has it.
    pub fn insert_local_sku(
        &self,
        account: &str,
        sku: &str,
        name: &str,
        at: &str,
    ) -> Result<bool, Error> {
        let n = self.exec(
            "INSERT INTO local_skus (account, sku, name, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
            [account, sku, name, at],
        )?;
        Ok(n == 1)
    }

    /// Whether the account has that local SKU.
    pub fn local_sku_exists(&self, account: &str, sku: &str) -> Result<bool, Error> {
        Ok(self
            .row(
                "SELECT 1 FROM local_skus WHERE account = ?1 AND sku = ?2",
                [account, sku],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Stores a new claim.
    pub fn insert_claim(&self, c: &Claim, at: &str) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO claims (claim, distributor, supplier, sku, local_sku, state, cost,
             cost_currency, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                c.claim,
                c.distributor,
                c.supplier,
                c.sku,
                c.local_sku,
                c.state,
                c.cost.map(|d| d.to_string()),
                c.cost_currency,
                at
            ],
        )?;
        Ok(())
    }

    /// Moves a claim from state `from` (as the command read it) to `state`. On PostgreSQL, where
    /// the row is read without a lock, the update changes it only if it is still in `from`;
    /// otherwise another process moved it meanwhile and the command runs again
    /// ([`db::Txn::lost_race`]).
    pub fn set_claim_state(&self, claim: &str, from: &str, state: &str) -> Result<(), Error> {
        if !self.db.locks() {
            self.db.write(
                "UPDATE claims SET state = ?2 WHERE claim = ?1",
                [claim, state],
            )?;
            return Ok(());
        }
        let changed = self.exec(
            "UPDATE claims SET state = ?2 WHERE claim = ?1 AND state = ?3",
            [claim, state, from],
        )?;
        if changed != 1 {
            self.db.lost_race();
            return Err(Error::new(
                Code::Internal,
                format!("claim {claim:?} is no longer {from:?}: it moved under us"),
            ));
        }
        Ok(())
    }

    /// How many claims a distributor ever made of a product (for the next claim's id).
    pub fn claim_count(&self, distributor: &str, supplier: &str, sku: &str) -> Result<i64, Error> {
        Ok(self.row(
            "SELECT count(*) FROM claims WHERE distributor = ?1 AND supplier = ?2 AND sku = ?3",
            [distributor, supplier, sku],
            |r| r.get(0),
        )?)
    }

    /// A distributor's live (not removed) claim of a product.
    pub fn live_claim(
        &self,
        distributor: &str,
        supplier: &str,
        sku: &str,
    ) -> Result<Option<Claim>, Error> {
        self.memo(
            Table::Claims,
            &["live_claim", distributor, supplier, sku],
            || {
                Ok(self
                    .row_built(
                        &format!(
                        "SELECT {CLAIM_COLUMNS} FROM claims WHERE distributor = ?1 AND supplier = ?2
                         AND sku = ?3 AND state <> 'removed'"
                    ),
                        [distributor, supplier, sku],
                        claim_row,
                    )
                    .optional()?)
            },
        )
    }

    /// A distributor's live claims, optionally in one state, by supplier and SKU.
    pub fn claims_of(&self, distributor: &str, state: Option<&str>) -> Result<Vec<Claim>, Error> {
        Ok(self.rows_built(
            &format!(
                "SELECT {CLAIM_COLUMNS} FROM claims WHERE distributor = ?1 AND state <> 'removed'
             AND (CAST(?2 AS TEXT) IS NULL OR state = ?2) ORDER BY supplier, sku"
            ),
            params![distributor, state],
            claim_row,
        )?)
    }

    /// A distributor's live claims whose local SKU is `local_sku`.
    pub fn claims_by_local_sku(
        &self,
        distributor: &str,
        local_sku: &str,
    ) -> Result<Vec<Claim>, Error> {
        self.memo(
            Table::Claims,
            &["claims_by_local_sku", distributor, local_sku],
            || {
                Ok(self.rows_built(
                    &format!(
                    "SELECT {CLAIM_COLUMNS} FROM claims WHERE distributor = ?1 AND local_sku = ?2
                 AND state <> 'removed' ORDER BY supplier, sku"
                ),
                    [distributor, local_sku],
                    claim_row,
                )?)
            },
        )
    }

    /// Every claim of a product in one state, by distributor.
    pub fn claims_of_product(
        &self,
        supplier: &str,
        sku: &str,
        state: &str,
    ) -> Result<Vec<Claim>, Error> {
        Ok(self.rows_built(
            &format!(
                "SELECT {CLAIM_COLUMNS} FROM claims WHERE supplier = ?1 AND sku = ?2 AND state = ?3
             ORDER BY distributor"
            ),
            [supplier, sku, state],
            claim_row,
        )?)
    }

    /// Every claim a distributor holds from a supplier in one state.
    pub fn claims_from_supplier(
        &self,
        distributor: &str,
        supplier: &str,
        state: &str,
    ) -> Result<Vec<Claim>, Error> {
        Ok(self.rows_built(
            &format!(
            "SELECT {CLAIM_COLUMNS} FROM claims WHERE distributor = ?1 AND supplier = ?2 AND state = ?3
             ORDER BY sku"
        ),
            [distributor, supplier, state],
            claim_row,
        )?)
    }

    /// Maps a store SKU to a local SKU, replacing an earlier mapping; returns the earlier local
    /// SKU.
    pub fn map_store_sku(
        &self,
        account: &str,
        marketplace: &str,
        shop: &str,
        store_sku: &str,
        local_sku: &str,
        listing: &str,
    ) -> Result<Option<String>, Error> {
        let previous = self.store_sku_target(account, marketplace, shop, store_sku)?;
        self.db.write(
            "INSERT INTO store_skus (account, marketplace, shop, store_sku, local_sku, listing)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (account, marketplace, shop, store_sku)
             DO UPDATE SET local_sku = excluded.local_sku, listing = excluded.listing",
            [account, marketplace, shop, store_sku, local_sku, listing],
        )?;
        Ok(previous)
    }

    /// The local SKU a store SKU maps to.
    pub fn store_sku_target(
        &self,
        account: &str,
        marketplace: &str,
        shop: &str,
        store_sku: &str,
    ) -> Result<Option<String>, Error> {
        self.memo(
            Table::StoreSkus,
            &["store_sku_target", account, marketplace, shop, store_sku],
            || {
                Ok(self.row(
                    "SELECT local_sku FROM store_skus WHERE account = ?1 AND marketplace = ?2 AND
                     shop = ?3 AND store_sku = ?4",
                    [account, marketplace, shop, store_sku],
                    |r| r.get(0),
                )
                .optional()?)
            },
        )
    }
}
