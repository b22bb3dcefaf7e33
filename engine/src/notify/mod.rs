//! Notifications (docs/protocol.md#notifications-and-print-settings): kept in an inbox per account
//! and tagged with the channels the account subscribes to (both `web` and `app` until it chooses).

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::{
    command::{NoArgs, Subscribe},
    error::Error,
    flow::Ctx,
    model::Notification,
};

/// The answer to `subscribe`: the channels notifications are now tagged for.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Subscribed {
    /// Whether notifications go to the web channel.
    pub web: bool,
    /// Whether notifications go to the app channel.
    pub app: bool,
}

/// The answer to `notifications`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Notifications {
    /// The account's inbox, newest first.
    pub notifications: Vec<NotificationRow>,
}

/// One notification of an account's inbox.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NotificationRow {
    /// `partnership_approved`, `partnership_rejected`, `partnership_terminated` or
    /// `price_changed`.
    pub kind: String,
    /// The channels the account subscribed to when it was sent (`web`, `app`).
    pub channels: Vec<String>,
    /// What it is about: `{supplier, reason}` for a partnership notification, `{supplier, sku,
    /// local_sku, old_price, new_price, currency}` for `price_changed`.
    pub data: Value,
    /// When it was sent (RFC 3339, UTC).
    pub at: String,
}

/// Puts a notification of `kind` in `account`'s inbox, on the channels it subscribes to.
pub fn notify(ctx: &Ctx<'_, '_>, account: &str, kind: &str, data: Value) -> Result<(), Error> {
    let (web, app) = ctx.tx.subscription(account)?.unwrap_or((true, true));
    let channels = [("web", web), ("app", app)]
        .into_iter()
        .filter(|&(_, on)| on)
        .map(|(name, _)| name.to_owned())
        .collect();
    ctx.tx.insert_notification(
        account,
        &Notification {
            kind: kind.to_owned(),
            channels,
            data,
            at: ctx.now(),
        },
    )
}

/// `subscribe {web, app}`.
pub fn subscribe(ctx: &Ctx<'_, '_>, args: &Subscribe) -> Result<Subscribed, Error> {
    ctx.tx
        .set_subscription(ctx.actor.account(), args.web, args.app)?;
    Ok(Subscribed {
        web: args.web,
        app: args.app,
    })
}

/// `notifications`: the inbox, newest first.
pub fn notifications(ctx: &Ctx<'_, '_>, _: &NoArgs) -> Result<Notifications, Error> {
    let rows = ctx.tx.notifications(ctx.actor.account())?;
    let notifications = rows
        .into_iter()
        .map(|n| NotificationRow {
            kind: n.kind,
            channels: n.channels,
            data: n.data,
            at: n.at,
        })
        .collect();
    Ok(Notifications { notifications })
}
