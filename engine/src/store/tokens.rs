//! Statements for API tokens: a token's row holds the SHA-256 of its secret, never the secret.

use super::db::{self, params, Optional, Row};
use super::Tx;
use crate::error::Error;

/// The most live tokens `tokens` lists at once (`system` listing every account's).
pub const TOKENS_LIST_MAX: usize = 10_000;

/// A live (unrevoked) token, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// The token's public id (part of the token, listed, used to revoke it).
    pub token_id: String,
    /// The account it acts as, or `system`.
    pub account: String,
    /// The sub-user it acts as; `None` is the main user.
    pub user: Option<String>,
    /// What the creator called it.
    pub label: String,
    /// SHA-256 of the whole token text.
    pub secret_hash: Vec<u8>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it last authenticated a request, to the minute (RFC 3339).
    pub last_used_at: Option<String>,
}

/// `Debug` without the hash, so a token logged by mistake gives nothing to brute-force against.
impl std::fmt::Debug for TokenRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRow")
            .field("token_id", &self.token_id)
            .field("account", &self.account)
            .field("user", &self.user)
            .field("label", &self.label)
            .field("secret_hash", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .finish()
    }
}

fn token_row(r: &Row<'_>) -> db::Result<TokenRow> {
    Ok(TokenRow {
        token_id: r.get(0)?,
        account: r.get(1)?,
        user: r.get(2)?,
        label: r.get(3)?,
        secret_hash: r.get(4)?,
        created_at: r.get(5)?,
        last_used_at: r.get(6)?,
    })
}

impl Tx<'_> {
    /// Stores a new token; `false` when its id is taken (64 random bits: in practice never).
    pub fn insert_token(&self, token: &TokenRow) -> Result<bool, Error> {
        let n = self.exec(
            "INSERT INTO tokens (token_id, account, \"user\", label, secret_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (token_id) DO NOTHING",
            params![
                token.token_id,
                token.account,
                token.user,
                token.label,
                token.secret_hash,
                token.created_at
            ],
        )?;
        Ok(n == 1)
    }

    /// The live token of this id, if any (a revoked one is `None`).
    pub fn live_token(&self, token_id: &str) -> Result<Option<TokenRow>, Error> {
        Ok(self
            .row(
                "SELECT token_id, account, \"user\", label, secret_hash, created_at, last_used_at
                 FROM tokens WHERE token_id = ?1 AND revoked_at IS NULL",
                [token_id],
                token_row,
            )
            .optional()?)
    }

    /// The live tokens of `account`, or of every account when `None`, oldest first, at most
    /// [`TOKENS_LIST_MAX`].
    pub fn live_tokens(&self, account: Option<&str>) -> Result<Vec<TokenRow>, Error> {
        let limit = TOKENS_LIST_MAX as i64;
        Ok(match account {
            Some(account) => self.rows(
                "SELECT token_id, account, \"user\", label, secret_hash, created_at, last_used_at
                 FROM tokens WHERE account = ?1 AND revoked_at IS NULL
                 ORDER BY rowid LIMIT ?2",
                params![account, limit],
                token_row,
            )?,
            None => self.rows(
                "SELECT token_id, account, \"user\", label, secret_hash, created_at, last_used_at
                 FROM tokens WHERE revoked_at IS NULL ORDER BY rowid LIMIT ?1",
                [limit],
                token_row,
            )?,
        })
    }

    /// How many live tokens `account` holds.
    pub fn live_token_count(&self, account: &str) -> Result<usize, Error> {
        let n: i64 = self.row(
            "SELECT count(*) FROM tokens WHERE account = ?1 AND revoked_at IS NULL",
            [account],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Revokes a live token; `false` when there is none of that id.
    pub fn revoke_token(&self, token_id: &str, at: &str) -> Result<bool, Error> {
        let n = self.exec(
            "UPDATE tokens SET revoked_at = ?2 WHERE token_id = ?1 AND revoked_at IS NULL",
            [token_id, at],
        )?;
        Ok(n == 1)
    }

    /// Records that a token authenticated a request at `at`.
    pub fn touch_token(&self, token_id: &str, at: &str) -> Result<(), Error> {
        self.db.write(
            "UPDATE tokens SET last_used_at = ?2 WHERE token_id = ?1",
            [token_id, at],
        )?;
        Ok(())
    }
}
