//! Statements for the marketplace push notices (`push_notices`): stored once per key before the
//! push is answered, then marked processed once their orders were synced.

use super::db::{self, params, Row};
use super::Tx;
use crate::error::Error;

/// A verified notice to store.
#[derive(Debug, Clone, Copy)]
pub struct NewNotice<'a> {
    /// The shop's account.
    pub account: &'a str,
    /// The shop's marketplace.
    pub marketplace: &'a str,
    /// The shop.
    pub shop: &'a str,
    /// The adapter's de-duplication key.
    pub key: &'a str,
    /// The adapter's kind.
    pub kind: &'a str,
    /// The order ids it names, as a JSON array.
    pub order_ids: &'a str,
    /// The raw body, as received.
    pub body: &'a str,
    /// When it arrived (RFC 3339).
    pub received_at: &'a str,
}

/// A stored notice not processed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The shop's account.
    pub account: String,
    /// The shop's marketplace.
    pub marketplace: String,
    /// The shop.
    pub shop: String,
    /// The adapter's de-duplication key.
    pub key: String,
    /// The order ids it names, as a JSON array.
    pub order_ids: String,
    /// How many times processing it failed.
    pub attempts: i64,
}

fn notice_row(r: &Row<'_>) -> db::Result<Notice> {
    Ok(Notice {
        account: r.get(0)?,
        marketplace: r.get(1)?,
        shop: r.get(2)?,
        key: r.get(3)?,
        order_ids: r.get(4)?,
        attempts: r.get(5)?,
    })
}

impl Tx<'_> {
    /// Stores a notice; `false` (and nothing written) when one of its key is stored already.
    pub fn insert_notice(&self, notice: &NewNotice<'_>) -> Result<bool, Error> {
        let n = self.exec(
            "INSERT INTO push_notices (account, marketplace, shop, notice_key, kind, order_ids,
             body, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (account, marketplace, shop, notice_key) DO NOTHING",
            params![
                notice.account,
                notice.marketplace,
                notice.shop,
                notice.key,
                notice.kind,
                notice.order_ids,
                notice.body,
                notice.received_at
            ],
        )?;
        Ok(n == 1)
    }

    /// The notice of this key when it is not processed yet.
    pub fn unprocessed_notice(
        &self,
        account: &str,
        marketplace: &str,
        shop: &str,
        key: &str,
    ) -> Result<Option<Notice>, Error> {
        Ok(self
            .rows(
                "SELECT account, marketplace, shop, notice_key, order_ids, attempts
                 FROM push_notices WHERE account = ?1 AND marketplace = ?2 AND shop = ?3
                 AND notice_key = ?4 AND processed_at IS NULL",
                [account, marketplace, shop, key],
                notice_row,
            )?
            .pop())
    }

    /// The oldest unprocessed notices that failed fewer than `attempts_max` times, at most
    /// `limit`.
    pub fn notices_to_retry(&self, attempts_max: i64, limit: usize) -> Result<Vec<Notice>, Error> {
        Ok(self.db.rows_limited(
            "SELECT account, marketplace, shop, notice_key, order_ids, attempts
             FROM push_notices WHERE processed_at IS NULL AND attempts < ?1 ORDER BY seq",
            [attempts_max],
            limit,
            notice_row,
        )?)
    }

    /// Marks a notice processed (`error` `None`) or records a failed attempt at it.
    pub fn settle_notice(
        &self,
        notice: &Notice,
        at: &str,
        error: Option<&str>,
    ) -> Result<(), Error> {
        let (account, marketplace, shop, key) = (
            &notice.account,
            &notice.marketplace,
            &notice.shop,
            &notice.key,
        );
        match error {
            None => self.exec(
                "UPDATE push_notices SET processed_at = ?5, last_error = NULL
                 WHERE account = ?1 AND marketplace = ?2 AND shop = ?3 AND notice_key = ?4
                 AND processed_at IS NULL",
                params![account, marketplace, shop, key, at],
            )?,
            Some(error) => self.exec(
                "UPDATE push_notices SET attempts = attempts + 1, last_error = ?5
                 WHERE account = ?1 AND marketplace = ?2 AND shop = ?3 AND notice_key = ?4
                 AND processed_at IS NULL",
                params![account, marketplace, shop, key, error],
            )?,
        };
        Ok(())
    }
}
