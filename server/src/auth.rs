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

/// The most `last_used_at` writes committed together by one transaction of the writer.
const TOUCHES_PER_TRANSACTION_MAX: usize = 1_000;

/// The tokens whose `last_used_at` write is due or on its way: a token checked without waiting
/// for the store has it written on a blocking thread, once for a burst of requests that find it
/// due. One writer at a time writes every token found due meanwhile, in one transaction: a
/// blocking thread and a commit per token had cost a server's first second up to one of each
/// per client (64 at 64 clients), each commit an fsync queued for the store between the group
/// committer's (BENCHMARKS.md, "The server").
#[derive(Default)]
pub(crate) struct Touches(Mutex<Due>);

#[derive(Default)]
struct Due {
    /// Every token due or being written, so that a request finding one due again adds nothing.
    tokens: HashSet<String>,
    /// Those the writer has not taken yet.
    queued: Vec<String>,
    /// Whether a writer is running (it takes what queues until the queue is empty).
    writing: bool,
}

impl Touches {
    /// Writes that `token_id` was used now, unless that write is due or on its way already.
    pub(crate) fn touch(self: &Arc<Self>, engine: &Arc<Engine>, token_id: &str) {
        {
            let mut due = self.due();
            if !due.tokens.insert(token_id.to_owned()) {
                return;
            }
            due.queued.push(token_id.to_owned());
            if std::mem::replace(&mut due.writing, true) {
                return;
            }
        }
        let (touches, engine) = (self.clone(), engine.clone());
        tokio::task::spawn_blocking(move || touches.write(&engine));
    }

    /// The writer: what is queued, a transaction at a time, until nothing is.
    fn write(&self, engine: &Engine) {
        loop {
            let batch: Vec<String> = {
                let mut due = self.due();
                if due.queued.is_empty() {
                    due.writing = false;
                    return;
                }
                let count = due.queued.len().min(TOUCHES_PER_TRANSACTION_MAX);
                due.queued.drain(..count).collect()
            };
            if let Err(error) = engine.touch_tokens(&batch) {
                tracing::warn!(%error, tokens = batch.len(), "the tokens' last use was not written");
            }
            let mut due = self.due();
            for token_id in &batch {
                due.tokens.remove(token_id);
            }
        }
    }

    fn due(&self) -> std::sync::MutexGuard<'_, Due> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
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
    fn tokens_found_due_together_are_written_by_one_writer() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Arc::new(
            Engine::open(
                &dir.path().join("t.db"),
                distributary::EngineOptions::default(),
            )
            .unwrap(),
        );
        let line = |cmd: serde_json::Value| engine.execute_line(&cmd.to_string());
        let ids: Vec<String> = (0..3)
            .map(|n| {
                let made = line(json!({"as": "system", "cmd": "create_token",
                    "args": {"account": "system", "label": format!("t{n}")}}));
                made["result"]["token_id"].as_str().unwrap().to_owned()
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let touches = Arc::new(Touches::default());
        runtime.block_on(async {
            for id in ids.iter().chain(&ids) {
                touches.touch(&engine, id);
            }
        });
        // Every token was queued once, and the writer runs until the queue is empty.
        for _ in 0..1_000 {
            if !touches.due().writing {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let due = touches.due();
        assert!(!due.writing && due.queued.is_empty() && due.tokens.is_empty());
        let listed = line(json!({"as": "system", "cmd": "tokens", "args": {}}));
        let used = listed["result"]["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["last_used_at"].is_string())
            .count();
        assert_eq!(used, ids.len(), "{listed}");
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
