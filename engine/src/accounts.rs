//! Accounts and sub-users (docs/protocol.md#accounts-and-users): created by the `system` actor, the
//! embedding host's own identity layer.

use schemars::JsonSchema;
use serde::Serialize;

use crate::{
    command::{check_name, CreateAccount, CreateUser},
    error::{Code, Error},
    flow::{Ctx, SYSTEM_ACTOR},
    model::{money::check_currency, Account, Plan, PERMISSION_SETS},
};

/// The answer to `create_account`: the account as created.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AccountCreated {
    /// The account's name.
    pub account: String,
    /// Its plan, `V1` … `V5` (`V2` and above may act as a supplier).
    pub plan: String,
    /// Whether the inventory feature is on (both roles of distribution need it).
    pub inventory: bool,
    /// Its settlement currency.
    pub currency: String,
}

/// The answer to `create_user`: the sub-user as it now is.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UserCreated {
    /// The account the user belongs to.
    pub account: String,
    /// The sub-user's name.
    pub user: String,
    /// Its permission sets (`supplier`, `distributor`), sorted, without duplicates.
    pub permissions: Vec<String>,
}

/// `create_account {account, plan, inventory, currency}`.
pub fn create_account(ctx: &Ctx<'_, '_>, args: &CreateAccount) -> Result<AccountCreated, Error> {
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
    Ok(AccountCreated {
        account: account.account,
        plan: plan.as_str().to_owned(),
        inventory: account.inventory,
        currency: account.currency,
    })
}

/// `create_user {account, user, permissions}`: a sub-user with the `supplier` and/or
/// `distributor` permission sets (an existing user's sets are replaced).
pub fn create_user(ctx: &Ctx<'_, '_>, args: &CreateUser) -> Result<UserCreated, Error> {
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
    Ok(UserCreated {
        account: args.account.clone(),
        user: args.user.clone(),
        permissions,
    })
}
