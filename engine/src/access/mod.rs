//! API tokens (docs/protocol.md#access-commands): who a request over HTTP acts as. A token is
//! `dst_<token_id>_<secret>`: the id is public (listed, used to revoke), the secret is 256 bits
//! from the operating system's CSPRNG, shown once by `create_token`; the store keeps only the
//! SHA-256 of the whole token, and [`authenticate`] compares it in constant time.
//!
//! Who may manage whose tokens: `system` any account's (and system tokens); an account's main
//! user its own account's, for itself and its sub-users; a sub-user none (`permission_denied`,
//! in `Actor::authorise`). Another account named in the arguments is `not_found`, as everywhere.

mod answers;

pub use answers::{TokenCreated, TokenListed, TokenRevoked, Tokens};

use rand::{rngs::OsRng, TryRngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    command::{check_name, CreateToken, RevokeToken, TokensQuery},
    error::{Code, Error},
    flow::{Ctx, SYSTEM_ACTOR},
    store::{TokenRow, Tx},
};

/// What every token starts with, so a leaked one is recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "dst_";
/// Random bytes in a token's public id.
pub const TOKEN_ID_BYTES: usize = 8;
/// Random bytes in a token's secret: 256 bits.
pub const TOKEN_SECRET_BYTES: usize = 32;
/// The most live tokens one account (or `system`) may hold.
pub const TOKENS_PER_ACCOUNT_MAX: usize = 100;
/// How stale a token's `last_used_at` may be before a request writes it again: authenticating
/// is a read, and a write per request would cost every request a commit.
pub const LAST_USED_RESOLUTION_SECONDS: i64 = 60;

/// Who a token acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    /// The token's id.
    pub token_id: String,
    /// The account (`system` for a system token).
    pub account: String,
    /// The sub-user; `None` is the main user.
    pub user: Option<String>,
}

/// `create_token {account, user?, label}`.
pub fn create_token(ctx: &Ctx<'_, '_>, args: &CreateToken) -> Result<TokenCreated, Error> {
    check_name("account", &args.account)?;
    if let Some(user) = &args.user {
        check_name("user", user)?;
    }
    check_name("label", &args.label)?;
    let account = managed_account(ctx, &args.account)?;
    match &args.user {
        Some(_) if account == SYSTEM_ACTOR => {
            return Err(Error::bad_request("a system token has no `user`"));
        }
        Some(user) if ctx.tx.user_permissions(account, user)?.is_none() => {
            return Err(Error::not_found("user", user));
        }
        _ => {}
    }
    if ctx.tx.live_token_count(account)? >= TOKENS_PER_ACCOUNT_MAX {
        return Err(Error::bad_request(format!(
            "an account holds at most {TOKENS_PER_ACCOUNT_MAX} tokens: revoke one first"
        ))
        .with("account", account));
    }
    let token_id = hex::encode(random::<TOKEN_ID_BYTES>()?);
    let token = format!(
        "{TOKEN_PREFIX}{token_id}_{}",
        hex::encode(random::<TOKEN_SECRET_BYTES>()?)
    );
    let row = TokenRow {
        token_id,
        account: account.to_owned(),
        user: args.user.clone(),
        label: args.label.clone(),
        secret_hash: Sha256::digest(token.as_bytes()).to_vec(),
        created_at: ctx.now(),
        last_used_at: None,
    };
    if !ctx.tx.insert_token(&row)? {
        return Err(Error::new(Code::Internal, "a token id was drawn twice"));
    }
    Ok(TokenCreated {
        token_id: row.token_id,
        token,
        account: row.account,
        user: row.user,
        label: row.label,
        created_at: row.created_at,
    })
}

/// `revoke_token {token_id}`: the token stops authenticating from the next request on.
pub fn revoke_token(ctx: &Ctx<'_, '_>, args: &RevokeToken) -> Result<TokenRevoked, Error> {
    check_name("token_id", &args.token_id)?;
    let row = ctx
        .tx
        .live_token(&args.token_id)?
        .filter(|row| is_system(ctx) || row.account == ctx.actor.account())
        .ok_or_else(|| Error::not_found("token_id", &args.token_id))?;
    let revoked_at = ctx.now();
    if !ctx.tx.revoke_token(&row.token_id, &revoked_at)? {
        return Err(Error::not_found("token_id", &args.token_id));
    }
    Ok(TokenRevoked {
        token_id: row.token_id,
        account: row.account,
        user: row.user,
        label: row.label,
        revoked_at,
    })
}

/// `tokens {account?}`: live tokens, never their secrets.
pub fn tokens(ctx: &Ctx<'_, '_>, args: &TokensQuery) -> Result<Tokens, Error> {
    let account = match &args.account {
        Some(account) => {
            check_name("account", account)?;
            Some(managed_account(ctx, account)?)
        }
        None if is_system(ctx) => None,
        None => Some(ctx.actor.account()),
    };
    let tokens = ctx
        .tx
        .live_tokens(account)?
        .into_iter()
        .map(|row| TokenListed {
            token_id: row.token_id,
            account: row.account,
            user: row.user,
            label: row.label,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        })
        .collect();
    Ok(Tokens { tokens })
}

/// Who a bearer token acts as, read in `tx`: `unauthenticated` for anything but a live token.
/// The hash is compared in constant time; every failure answers the same.
pub fn authenticate(tx: &Tx<'_>, bearer: &str) -> Result<(TokenOwner, Option<String>), Error> {
    let refused = || Error::new(Code::Unauthenticated, "no valid bearer token");
    let (token_id, _secret) = bearer
        .strip_prefix(TOKEN_PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .filter(|(id, secret)| {
            id.len() == 2 * TOKEN_ID_BYTES && secret.len() == 2 * TOKEN_SECRET_BYTES
        })
        .ok_or_else(refused)?;
    let row = tx.live_token(token_id)?.ok_or_else(refused)?;
    let presented = Sha256::digest(bearer.as_bytes());
    if !bool::from(presented.as_slice().ct_eq(&row.secret_hash)) {
        return Err(refused());
    }
    Ok((
        TokenOwner {
            token_id: row.token_id,
            account: row.account,
            user: row.user,
        },
        row.last_used_at,
    ))
}

/// The account an actor names in the arguments, when it may manage that account's tokens:
/// `system` any existing account (or `system`); a main user its own. Anything else answers as a
/// missing account does.
fn managed_account<'a>(ctx: &Ctx<'_, '_>, account: &'a str) -> Result<&'a str, Error> {
    let allowed = if is_system(ctx) {
        account == SYSTEM_ACTOR || ctx.tx.account(account)?.is_some()
    } else {
        account == ctx.actor.account()
    };
    if allowed {
        Ok(account)
    } else {
        Err(Error::not_found("account", account))
    }
}

fn is_system(ctx: &Ctx<'_, '_>) -> bool {
    ctx.actor.account() == SYSTEM_ACTOR
}

/// `N` bytes from the operating system's CSPRNG.
fn random<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| Error::new(Code::Internal, format!("the OS random source failed: {e}")))?;
    Ok(bytes)
}
