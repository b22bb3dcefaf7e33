//! Commands as the session's actor, on the path `POST /v1/commands` takes (`http::run`): each
//! command becomes an envelope acting as the token's owner, writes go through the group
//! committer, and every answer comes after its commit.

use distributary::access::TokenOwner;
use serde_json::{json, Value};

use super::Console;
use crate::http;

/// A command the engine refused: its stable code and its message.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub code: String,
    pub message: String,
}

/// One command's answer.
pub(crate) type Answer = Result<Value, Refusal>;

/// `{cmd, args}`, the body of one command.
pub(crate) fn command(cmd: &str, args: Value) -> Value {
    json!({"cmd": cmd, "args": args})
}

/// Runs the commands as `owner`, in one request (a batch when there are several); one answer
/// each, in order.
pub(crate) async fn run(
    console: &Console,
    owner: &TokenOwner,
    commands: Vec<Value>,
) -> Vec<Answer> {
    http::run(&console.http, commands, owner)
        .await
        .into_iter()
        .map(read)
        .collect()
}

/// Runs one command as `owner`.
pub(crate) async fn one(console: &Console, owner: &TokenOwner, cmd: &str, args: Value) -> Answer {
    run(console, owner, vec![command(cmd, args)])
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| {
            Err(Refusal {
                code: "internal".into(),
                message: "no answer".into(),
            })
        })
}

/// An answer line read back: `{ok: true, result}` or `{ok: false, error: {code, message}}`.
fn read(mut answer: Value) -> Answer {
    if answer.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(answer
            .get_mut("result")
            .map(Value::take)
            .unwrap_or(Value::Null));
    }
    let error = answer.get("error");
    let text = |key: &str| {
        error
            .and_then(|error| error.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Err(Refusal {
        code: text("code"),
        message: text("message"),
    })
}
