//! The typed answers of the access commands (`create_token`, `revoke_token`, `tokens`).

use schemars::JsonSchema;
use serde::Serialize;

/// The answer to `create_token`: the only time the token is shown.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TokenCreated {
    /// The token's public id: listed by `tokens`, named by `revoke_token`.
    pub token_id: String,
    /// The bearer token, in full (`Authorization: Bearer <token>`). The store keeps only its
    /// SHA-256: it cannot be shown again.
    pub token: String,
    /// The account it acts as (`system` for a system token).
    pub account: String,
    /// The sub-user it acts as; `null` is the main user.
    pub user: Option<String>,
    /// What the creator called it.
    pub label: String,
    /// When it was created.
    pub created_at: String,
}

/// The answer to `revoke_token`: the token that no longer authenticates.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TokenRevoked {
    /// The revoked token's id.
    pub token_id: String,
    /// The account it acted as.
    pub account: String,
    /// The sub-user it acted as; `null` is the main user.
    pub user: Option<String>,
    /// Its label.
    pub label: String,
    /// When it was revoked.
    pub revoked_at: String,
}

/// One live token, without its secret.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TokenListed {
    /// The token's id.
    pub token_id: String,
    /// The account it acts as.
    pub account: String,
    /// The sub-user it acts as; `null` is the main user.
    pub user: Option<String>,
    /// Its label.
    pub label: String,
    /// When it was created.
    pub created_at: String,
    /// When it last authenticated a request, to the minute; `null` when never.
    pub last_used_at: Option<String>,
}

/// The answer to `tokens`: live tokens, oldest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Tokens {
    /// The tokens.
    pub tokens: Vec<TokenListed>,
}
