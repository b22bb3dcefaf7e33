//! Notifications (DESIGN.md 6.7): kept in an inbox per account and tagged with the channels the
//! account subscribes to (both `web` and `app` until it chooses).

use serde_json::{json, Value};

use crate::{
    command::{NoArgs, Subscribe},
    error::Error,
    flow::Ctx,
    model::Notification,
};

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
pub fn subscribe(ctx: &Ctx<'_, '_>, args: &Subscribe) -> Result<Value, Error> {
    ctx.tx
        .set_subscription(ctx.actor.account(), args.web, args.app)?;
    Ok(json!({"web": args.web, "app": args.app}))
}

/// `notifications`: the inbox, newest first.
pub fn notifications(ctx: &Ctx<'_, '_>, _: &NoArgs) -> Result<Value, Error> {
    let rows = ctx.tx.notifications(ctx.actor.account())?;
    let notifications: Vec<Value> = rows
        .into_iter()
        .map(|n| json!({"kind": n.kind, "channels": n.channels, "data": n.data, "at": n.at}))
        .collect();
    Ok(json!({"notifications": notifications}))
}
