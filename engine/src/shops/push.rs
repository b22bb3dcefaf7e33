//! Marketplace pushes (docs/protocol.md, "Marketplace pushes"): a push notification verified by
//! its shop's adapter and stored before it is answered ([`Engine::receive_push`]), its orders then
//! synced with `sync_orders {order_ids}` ([`Engine::process_notice`]), and the periodic pull that
//! backs pushes up: every connected shop synced, and the notices whose sync failed retried
//! ([`Engine::pull`]).
//!
//! Receiving holds the store only to read the shop and to store the notice; the adapter verifies
//! the signature between the two with no lock held. A repeat of a stored notice (same key) writes
//! nothing and is answered the same, so a marketplace retrying what it thinks was lost changes
//! nothing. A notice is marked processed only after its orders were synced, so a failed sync is
//! retried by the pull; the import is idempotent, so a notice processed twice (a crash between
//! the import and the mark) imports nothing twice.

use distributary_plugin::{PushRequest, PushVerdict};
use serde_json::{json, Value};

use super::network::{redact, secrets_of};
use crate::{
    command::{check_name, Envelope},
    engine::Engine,
    error::{Code, Error},
    model::time::Instant,
    store::{NewNotice, Notice},
};

/// The most headers of a push handed to its adapter; the rest are dropped.
pub const PUSH_HEADERS_MAX: usize = 64;
/// The longest notice key an adapter may give.
pub const NOTICE_KEY_CHARS_MAX: usize = 512;
/// How many times a notice's sync is tried before the pull leaves it (unprocessed, with its
/// last error) to the shop's periodic sync.
pub const NOTICE_ATTEMPTS_MAX: i64 = 10;
/// The most unprocessed notices one pull retries.
pub const NOTICES_PER_PULL_MAX: usize = 1_000;
/// The most shops one pull syncs.
pub const PULL_SHOPS_MAX: usize = 10_000;

/// A push as the host received it.
#[derive(Debug, Clone)]
pub struct PushDelivery {
    /// The account of the shop, from the route.
    pub account: String,
    /// The marketplace, from the route.
    pub marketplace: String,
    /// The shop, from the route.
    pub shop: String,
    /// The URL the request arrived at; the shop's `push_url`, when it has one, is used instead.
    pub url: String,
    /// The request's headers (names in lowercase); at most [`PUSH_HEADERS_MAX`] are kept.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

/// Which stored notice: its shop and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRef {
    /// The shop's account.
    pub account: String,
    /// The shop's marketplace.
    pub marketplace: String,
    /// The shop.
    pub shop: String,
    /// The adapter's de-duplication key.
    pub key: String,
}

/// A push verified and stored (or recognised as a repeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReceived {
    /// `false` for a repeat of a stored notice: nothing was written.
    pub stored: bool,
    /// The notice.
    pub notice: NoticeRef,
    /// What kind of notice it is, in the adapter's words.
    pub kind: String,
    /// The marketplace order ids it names.
    pub order_ids: Vec<String>,
}

/// What one [`Engine::pull`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullReport {
    /// Shops whose `sync_orders` succeeded.
    pub shops_synced: usize,
    /// Shops whose `sync_orders` failed (logged).
    pub shops_failed: usize,
    /// Notices retried and now processed.
    pub notices_processed: usize,
    /// Notices retried and failed again.
    pub notices_failed: usize,
}

impl Engine {
    /// Verifies a push with its shop's adapter and credentials and stores the notice, durably,
    /// before answering. `not_found` (`shop`) for an unknown account or shop, whichever it is;
    /// `unauthenticated` for a missing or bad signature, and `not_found` for a marketplace whose
    /// pushes cannot be verified (it has no push endpoint: its orders are pulled), both storing
    /// nothing; `bad_request` for a verified body
    /// its adapter cannot read.
    pub fn receive_push(&self, push: &PushDelivery) -> Result<PushReceived, Error> {
        let unknown = || Error::not_found("shop", &push.shop);
        for name in [&push.account, &push.marketplace, &push.shop] {
            check_name("shop", name).map_err(|_| unknown())?;
        }
        let shop = self
            .lock()?
            .read(|tx| tx.shop(&push.account, &push.marketplace, &push.shop))?
            .ok_or_else(unknown)?;
        let adapter = self.plugins().adapter(&push.marketplace).ok_or_else(|| {
            Error::new(
                Code::NotFound,
                format!(
                    "no adapter is loaded for marketplace {:?}",
                    push.marketplace
                ),
            )
        })?;
        let body = std::str::from_utf8(&push.body)
            .map_err(|_| Error::bad_request("a push's body must be UTF-8 text"))?;
        // The message must not quote the text: it is the credentials.
        let credentials: Value = serde_json::from_str(&shop.credentials)
            .map_err(|_| Error::new(Code::Internal, "a shop's stored credentials do not parse"))?;
        let secrets = secrets_of(&credentials);
        let request = PushRequest {
            credentials,
            url: shop.push_url.clone().unwrap_or_else(|| push.url.clone()),
            headers: push
                .headers
                .iter()
                .take(PUSH_HEADERS_MAX)
                .cloned()
                .collect(),
            body: body.to_owned(),
        };
        let verdict = adapter
            .parse_push(&request)
            .map_err(|error| redact(error.into(), &secrets))?;
        let notice = match verdict {
            PushVerdict::Notice(notice) => notice,
            PushVerdict::Unauthenticated { reason } => {
                return Err(Error::new(
                    Code::Unauthenticated,
                    format!("the push's signature does not verify: {reason}"),
                ))
            }
            PushVerdict::Unsupported { reason } => return Err(Error::new(Code::NotFound, reason)),
        };
        check_notice(&notice.key, &notice.order_ids)?;
        let order_ids = serde_json::to_string(&notice.order_ids)
            .map_err(|e| Error::new(Code::Internal, format!("order ids: {e}")))?;
        let received_at = Instant::now().to_string();
        let stored = self.lock()?.write(|tx| {
            // A shop is never removed, but the check keeps the foreign key's error away.
            tx.shop(&push.account, &push.marketplace, &push.shop)?
                .ok_or_else(unknown)?;
            tx.insert_notice(&NewNotice {
                account: &push.account,
                marketplace: &push.marketplace,
                shop: &push.shop,
                key: &notice.key,
                kind: &notice.kind,
                order_ids: &order_ids,
                body,
                received_at: &received_at,
            })
        })?;
        Ok(PushReceived {
            stored,
            notice: NoticeRef {
                account: push.account.clone(),
                marketplace: push.marketplace.clone(),
                shop: push.shop.clone(),
                key: notice.key,
            },
            kind: notice.kind,
            order_ids: notice.order_ids,
        })
    }

    /// Syncs the orders a stored notice names (`sync_orders {order_ids}`, as the shop's
    /// account) and marks it processed; a failed sync is recorded on the notice, which stays
    /// for the pull to retry, and returned. `Ok(false)` when the notice was processed already.
    pub fn process_notice(&self, notice: &NoticeRef) -> Result<bool, Error> {
        let stored = self.lock()?.read(|tx| {
            tx.unprocessed_notice(
                &notice.account,
                &notice.marketplace,
                &notice.shop,
                &notice.key,
            )
        })?;
        let Some(stored) = stored else {
            return Ok(false);
        };
        self.process(&stored).map(|()| true)
    }

    /// Syncs a notice's orders, then settles it: processed, or one more failed attempt.
    fn process(&self, notice: &Notice) -> Result<(), Error> {
        let order_ids: Vec<String> = serde_json::from_str(&notice.order_ids)
            .map_err(|_| Error::new(Code::Internal, "a notice's stored order ids do not parse"))?;
        let synced = if order_ids.is_empty() {
            Ok(())
        } else {
            self.sync_as_owner(
                &notice.account,
                json!({"marketplace": notice.marketplace, "shop": notice.shop,
                       "order_ids": order_ids}),
            )
        };
        let at = Instant::now().to_string();
        let failure = synced
            .as_ref()
            .err()
            .map(|e| format!("{}: {}", e.code().as_str(), e.message()));
        self.lock()?
            .write(|tx| tx.settle_notice(notice, &at, failure.as_deref()))?;
        synced
    }

    /// `sync_orders` with `args`, acting as `account`'s main user.
    fn sync_as_owner(&self, account: &str, args: Value) -> Result<(), Error> {
        let envelope =
            Envelope::from_value(json!({"as": account, "cmd": "sync_orders", "args": args}))?;
        self.execute(&envelope).map(|_| ())
    }

    /// The periodic pull: syncs every connected shop's orders (at most [`PULL_SHOPS_MAX`]), as
    /// its account, from where its last sync ended; then retries the unprocessed notices that
    /// failed fewer than [`NOTICE_ATTEMPTS_MAX`] times (at most [`NOTICES_PER_PULL_MAX`]). A
    /// failure is logged and counted, never stops the rest.
    pub fn pull(&self) -> Result<PullReport, Error> {
        let shops = self.lock()?.read(|tx| tx.all_shops(PULL_SHOPS_MAX))?;
        let mut report = PullReport::default();
        for (account, marketplace, shop) in shops {
            let args = json!({"marketplace": marketplace, "shop": shop});
            match self.sync_as_owner(&account, args) {
                Ok(()) => report.shops_synced += 1,
                Err(error) => {
                    report.shops_failed += 1;
                    tracing::warn!(%account, %marketplace, %shop, %error, "pull: sync failed");
                }
            }
        }
        let notices = self
            .lock()?
            .read(|tx| tx.notices_to_retry(NOTICE_ATTEMPTS_MAX, NOTICES_PER_PULL_MAX))?;
        for notice in notices {
            match self.process(&notice) {
                Ok(()) => report.notices_processed += 1,
                Err(error) => {
                    report.notices_failed += 1;
                    tracing::warn!(
                        account = %notice.account, marketplace = %notice.marketplace,
                        shop = %notice.shop, attempts = notice.attempts + 1, %error,
                        "pull: a notice's sync failed again"
                    );
                }
            }
        }
        Ok(report)
    }
}

/// An adapter's notice within the bounds: a key of 1 to [`NOTICE_KEY_CHARS_MAX`] characters,
/// at most `ORDER_IDS_MAX` order ids, each a name (`plugin_error` otherwise: the adapter is at
/// fault, not the marketplace).
fn check_notice(key: &str, order_ids: &[String]) -> Result<(), Error> {
    let bad = |why: String| Error::new(Code::PluginError, format!("the adapter's notice {why}"));
    if key.is_empty() || key.chars().count() > NOTICE_KEY_CHARS_MAX {
        return Err(bad(format!(
            "key must be 1 to {NOTICE_KEY_CHARS_MAX} characters"
        )));
    }
    if order_ids.len() > super::ORDER_IDS_MAX {
        return Err(bad(format!(
            "names more than {} orders",
            super::ORDER_IDS_MAX
        )));
    }
    for id in order_ids {
        check_name("order_ids", id).map_err(|e| bad(e.message().to_owned()))?;
    }
    Ok(())
}
