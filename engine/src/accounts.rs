//! Accounts and sub-users (DESIGN.md 6.1): created by the `system` actor, the embedding host's
//! own identity layer.

use serde_json::{json, Value};

use crate::{
    command::{check_name, CreateAccount, CreateUser},
    error::{Code, Error},
    flow::{Ctx, SYSTEM_ACTOR},
    model::{money::check_currency, Account, Plan, PERMISSION_SETS},
};

/// `create_account {account, plan, inventory, currency}`.
pub fn create_account(ctx: &Ctx<'_, '_>, args: &CreateAccount) -> Result<Value, Error> {
    check_name("account", &args.account)?;
    if args.account == SYSTEM_ACTOR {
        return Err(Error::bad_request(
            "`system` is reserved for the setup actor",
        ));
    }
    let plan = Plan::parse(&args.plan)
        .ok_or_else(|| Error::bad_request(format!("`plan` must be V1..V5, got {:?}", args.plan)))?;
    check_currency(&args.currency)?;
    let account = Account {
        account: args.account.clone(),
        plan,
        inventory: args.inventory,
        currency: args.currency.clone(),
    };
    if !ctx.tx.insert_account(&account, &ctx.now())? {
        return Err(
            Error::bad_request(format!("account {:?} already exists", args.account))
                .with("account", args.account.as_str()),
        );
    }
    Ok(
        json!({"account": account.account, "plan": plan.as_str(), "inventory": account.inventory,
              "currency": account.currency}),
    )
}

/// `create_user {account, user, permissions}`: a sub-user with the `supplier` and/or
/// `distributor` permission sets (an existing user's sets are replaced).
pub fn create_user(ctx: &Ctx<'_, '_>, args: &CreateUser) -> Result<Value, Error> {
    check_name("account", &args.account)?;
    check_name("user", &args.user)?;
    if ctx.tx.account(&args.account)?.is_none() {
        return Err(Error::not_found("account", &args.account));
    }
    if args.user == args.account {
        return Err(Error::bad_request(
            "a sub-user cannot be named like its main account",
        ));
    }
    if let Some(unknown) = args
        .permissions
        .iter()
        .find(|p| !PERMISSION_SETS.contains(&p.as_str()))
    {
        return Err(Error::new(
            Code::BadRequest,
            format!("unknown permission set {unknown:?}: expected `supplier` or `distributor`"),
        ));
    }
    let mut permissions = args.permissions.clone();
    permissions.sort();
    permissions.dedup();
    ctx.tx
        .upsert_user(&args.account, &args.user, &permissions)?;
    Ok(json!({"account": args.account, "user": args.user, "permissions": permissions}))
}
