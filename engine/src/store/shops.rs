//! Statements for connected shops, the store SKUs mapped in them, and the stock last sent to
//! their listings.

use super::db::{self, params, Optional, Row};
use super::Tx;
use crate::error::Error;

/// The most store SKUs of one shop a stock sync reads; a shop with more is refused (with this
/// number in the message) rather than half-synced without saying so.
pub const SHOP_STORE_SKUS_MAX: usize = 100_000;

/// A connected shop. `credentials` is the stored JSON text; it never leaves the engine.
#[derive(Clone, PartialEq, Eq)]
pub struct Shop {
    /// The marketplace, as its adapter's manifest names it.
    pub marketplace: String,
    /// The distributor's name for the shop.
    pub shop: String,
    /// Where the marketplace's API answers, without a trailing `/`.
    pub base_url: String,
    /// The credentials object of `connect_shop`, as JSON text.
    pub credentials: String,
    /// The end of the last order sync's window (RFC 3339).
    pub synced_to: Option<String>,
    /// The callback URL registered with the marketplace for its pushes, if given.
    pub push_url: Option<String>,
}

/// `Debug` without the credentials, so a shop logged or printed by mistake leaks nothing.
impl std::fmt::Debug for Shop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shop")
            .field("marketplace", &self.marketplace)
            .field("shop", &self.shop)
            .field("base_url", &self.base_url)
            .field("credentials", &"<redacted>")
            .field("synced_to", &self.synced_to)
            .field("push_url", &self.push_url)
            .finish()
    }
}

/// What `connect_shop` stores of a shop.
#[derive(Clone, Copy)]
pub struct ShopConnection<'a> {
    /// The marketplace, as its adapter's manifest names it.
    pub marketplace: &'a str,
    /// The distributor's name for the shop.
    pub shop: &'a str,
    /// Where the marketplace's API answers, without a trailing `/`.
    pub base_url: &'a str,
    /// The credentials object, as JSON text.
    pub credentials: &'a str,
    /// The callback URL registered for pushes.
    pub push_url: Option<&'a str>,
}

/// A store SKU mapped in a shop: the local SKU behind it and its listing ids (JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopStoreSku {
    /// The marketplace's SKU.
    pub store_sku: String,
    /// The distributor's local SKU it maps to.
    pub local_sku: String,
    /// The listing ids given at mapping, a JSON object of strings.
    pub listing: String,
}

fn shop_row(r: &Row<'_>) -> db::Result<Shop> {
    Ok(Shop {
        marketplace: r.get(0)?,
        shop: r.get(1)?,
        base_url: r.get(2)?,
        credentials: r.get(3)?,
        synced_to: r.get(4)?,
        push_url: r.get(5)?,
    })
}

impl Tx<'_> {
    /// Connects (or reconnects) a shop; a reconnection keeps its `synced_to` and replaces the
    /// rest (a `push_url` not given again is dropped).
    pub fn upsert_shop(&self, account: &str, shop: &ShopConnection<'_>) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO shops (account, marketplace, shop, base_url, credentials, push_url)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (account, marketplace, shop) DO UPDATE SET base_url = excluded.base_url,
             credentials = excluded.credentials, push_url = excluded.push_url",
            params![
                account,
                shop.marketplace,
                shop.shop,
                shop.base_url,
                shop.credentials,
                shop.push_url
            ],
        )?;
        Ok(())
    }

    /// Every connected shop of every account, as `(account, marketplace, shop)`, at most
    /// `limit`: what the periodic pull visits.
    pub fn all_shops(&self, limit: usize) -> Result<Vec<(String, String, String)>, Error> {
        Ok(self.db.rows_limited(
            "SELECT account, marketplace, shop FROM shops ORDER BY account, marketplace, shop",
            (),
            limit,
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }

    /// An account's connected shops.
    pub fn shops(&self, account: &str) -> Result<Vec<Shop>, Error> {
        Ok(self.rows(
            "SELECT marketplace, shop, base_url, credentials, synced_to, push_url FROM shops
             WHERE account = ?1 ORDER BY marketplace, shop",
            [account],
            shop_row,
        )?)
    }

    /// One connected shop.
    pub fn shop(
        &self,
        account: &str,
        marketplace: &str,
        shop: &str,
    ) -> Result<Option<Shop>, Error> {
        Ok(self
            .row(
                "SELECT marketplace, shop, base_url, credentials, synced_to, push_url FROM shops
                 WHERE account = ?1 AND marketplace = ?2 AND shop = ?3",
                [account, marketplace, shop],
                shop_row,
            )
            .optional()?)
    }

    /// Moves the end of a shop's synced window forward to `synced_to` (RFC 3339 UTC, compared
    /// as text); never backwards, so a slower sync that started earlier cannot undo a later one.
    pub fn advance_shop_synced_to(
        &self,
        account: &str,
        marketplace: &str,
        shop: &str,
        synced_to: &str,
    ) -> Result<(), Error> {
        self.db.write(
            "UPDATE shops SET synced_to = ?4 WHERE account = ?1 AND marketplace = ?2 AND shop = ?3
             AND (synced_to IS NULL OR synced_to < ?4)",
            [account, marketplace, shop, synced_to],
        )?;
        Ok(())
    }

    /// The store SKUs an account mapped in one shop, by store SKU; at most
    /// [`SHOP_STORE_SKUS_MAX`] + 1 rows, so the caller can tell that there are too many.
    pub fn shop_store_skus(
        &self,
        account: &str,
        marketplace: &str,
        shop: &str,
    ) -> Result<Vec<ShopStoreSku>, Error> {
        // Reading stops at the limit (a bound `LIMIT ?` would make SQLite prepare the statement
        // again at every run).
        Ok(self.db.rows_limited(
            "SELECT store_sku, local_sku, listing FROM store_skus
             WHERE account = ?1 AND marketplace = ?2 AND shop = ?3 ORDER BY store_sku",
            [account, marketplace, shop],
            SHOP_STORE_SKUS_MAX + 1,
            |r| {
                Ok(ShopStoreSku {
                    store_sku: r.get(0)?,
                    local_sku: r.get(1)?,
                    listing: r.get(2)?,
                })
            },
        )?)
    }

    /// The quantity last sent to each listing of a shop, by store SKU.
    pub fn listing_stock(
        &self,
        account: &str,
        marketplace: &str,
        shop: &str,
    ) -> Result<Vec<(String, i64)>, Error> {
        Ok(self.rows(
            "SELECT store_sku, sent FROM listing_stock
             WHERE account = ?1 AND marketplace = ?2 AND shop = ?3 ORDER BY store_sku",
            [account, marketplace, shop],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Records the quantity a marketplace accepted for one listing.
    pub fn record_listing_stock(
        &self,
        account: &str,
        marketplace: &str,
        shop: &str,
        store_sku: &str,
        sent: i64,
        at: &str,
    ) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO listing_stock (account, marketplace, shop, store_sku, sent, sent_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (account, marketplace, shop, store_sku)
             DO UPDATE SET sent = excluded.sent, sent_at = excluded.sent_at",
            params![account, marketplace, shop, store_sku, sent, at],
        )?;
        Ok(())
    }
}
