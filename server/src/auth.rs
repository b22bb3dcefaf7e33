//! Who acts: the bearer token of the `Authorization` header, resolved by the engine
//! (`Engine::authenticate`, or `authenticate_without_waiting` and its `last_used_at` written
//! apart), and each command of the body turned into an envelope acting as
//! the token's owner. A body may repeat the owner in `as` and `user`; naming anyone else is
//! refused (`permission_denied`). The token itself is never logged nor kept.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, PoisonError},
};

use axum::http::{header::AUTHORIZATION, HeaderMap};
use distributary::{access::TokenOwner, Code, Engine, Envelope, Error};
use serde_json::Value;

/// The tokens whose `last_used_at` write is on its way: a token checked without waiting for the
/// store has it written on a blocking thread, once for a burst of requests that find it due.
#[derive(Default)]
pub(crate) struct Touches(Mutex<HashSet<String>>);

impl Touches {
    /// Writes that `token_id` was used now, unless that write is on its way already.
    pub(crate) fn touch(self: &Arc<Self>, engine: &Arc<Engine>, token_id: &str) {
        let ids = || self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !ids().insert(token_id.to_owned()) {
            return;
        }
        let (touches, engine, token_id) = (self.clone(), engine.clone(), token_id.to_owned());
        tokio::task::spawn_blocking(move || {
            if let Err(error) = engine.touch_token(&token_id) {
                tracing::warn!(%error, %token_id, "the token's last use was not written");
            }
            touches
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&token_id);
        });
    }
}

/// The bearer token of the request, or `unauthenticated`.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<String, Error> {
    let refused = |why: &str| Error::new(Code::Unauthenticated, why.to_owned());
    let value = headers
        .get(AUTHORIZATION)
        .ok_or_else(|| refused("no `Authorization: Bearer <token>` header"))?;
    let text = value
        .to_str()
        .map_err(|_| refused("the `Authorization` header is not text"))?;
    let (scheme, token) = text
        .split_once(' ')
        .ok_or_else(|| refused("the `Authorization` header is not `Bearer <token>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(refused(
            "the `Authorization` header is not `Bearer <token>`",
        ));
    }
    Ok(token.trim().to_owned())
}

/// One command of the body as an envelope acting as `owner`; the error carries the command's
/// `id` when one could be read.
pub(crate) fn envelope(mut item: Value, owner: &TokenOwner) -> Result<Envelope, (Value, Error)> {
    let id = item.get("id").cloned().unwrap_or(Value::Null);
    let Some(object) = item.as_object_mut() else {
        return Err((id, Error::bad_request("a command is a JSON object")));
    };
    // As in `exec`, `as` without `user` names the main user: a body that names the account
    // must name the token's user too; one that names neither acts as the token's owner.
    let same = match (object.get("as"), object.get("user")) {
        (Some(Value::String(actor)), user) if *actor == owner.account => match user {
            None | Some(Value::Null) => owner.user.is_none(),
            Some(Value::String(user)) => owner.user.as_ref() == Some(user),
            Some(_) => false,
        },
        (Some(_), _) => false,
        (None, None | Some(Value::Null)) => true,
        (None, Some(Value::String(user))) => owner.user.as_ref() == Some(user),
        (None, Some(_)) => false,
    };
    if !same {
        return Err((id, other_actor(owner)));
    }
    object.insert("as".to_owned(), Value::String(owner.account.clone()));
    match &owner.user {
        Some(user) => object.insert("user".to_owned(), Value::String(user.clone())),
        None => object.remove("user"),
    };
    Envelope::from_value(item).map_err(|error| (id, error))
}

fn other_actor(owner: &TokenOwner) -> Error {
    let who = match &owner.user {
        Some(user) => format!("{:?} (user {user:?})", owner.account),
        None => format!("{:?}", owner.account),
    };
    Error::new(
        Code::PermissionDenied,
        format!("the token acts as {who}; the body may not name another actor"),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn owner(user: Option<&str>) -> TokenOwner {
        TokenOwner {
            token_id: "t".into(),
            account: "acme".into(),
            user: user.map(str::to_owned),
        }
    }

    #[test]
    fn the_body_may_repeat_the_owner_and_name_no_one_else() {
        let main = owner(None);
        let clerk = owner(Some("clerk"));
        let plain = json!({"cmd": "balances"});
        let made = envelope(plain.clone(), &clerk).map_err(|e| e.1).unwrap();
        assert_eq!(
            (made.actor.as_str(), made.user.as_deref()),
            ("acme", Some("clerk"))
        );
        assert!(envelope(json!({"as": "acme", "cmd": "balances"}), &main).is_ok());
        assert!(envelope(json!({"user": "clerk", "cmd": "balances"}), &clerk).is_ok());
        assert!(envelope(
            json!({"as": "acme", "user": "clerk", "cmd": "balances"}),
            &clerk
        )
        .is_ok());
        for (body, who) in [
            (json!({"as": "other", "cmd": "balances"}), &main),
            (json!({"as": "system", "cmd": "balances"}), &main),
            (json!({"user": "clerk", "cmd": "balances"}), &main),
            (json!({"user": "boss", "cmd": "balances"}), &clerk),
            (json!({"as": 5, "cmd": "balances"}), &main),
            (json!({"as": "acme", "cmd": "balances"}), &clerk),
            (
                json!({"as": "acme", "user": "boss", "cmd": "balances"}),
                &clerk,
            ),
        ] {
            let (_, error) = envelope(body.clone(), who).unwrap_err();
            assert_eq!(error.code(), Code::PermissionDenied, "{body}");
        }
        let (id, error) = envelope(json!({"id": 9, "cmd": "nope"}), &main).unwrap_err();
        assert_eq!((id, error.code()), (json!(9), Code::UnknownCommand));
    }

    #[test]
    fn only_a_bearer_header_carries_a_token() {
        let mut headers = HeaderMap::new();
        assert!(bearer(&headers).is_err());
        headers.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers).unwrap_err().code(), Code::Unauthenticated);
        headers.insert(AUTHORIZATION, "Bearer dst_x".parse().unwrap());
        assert_eq!(bearer(&headers).unwrap(), "dst_x");
    }
}
