//! The routes: `POST /v1/commands` (one command, or a JSON array of them), `POST
//! /v1/webhooks/...` (marketplace pushes, in `webhooks`), `GET /healthz`, `/readyz` and
//! `/metrics`; and the HTTP status of each error code.

use std::{sync::Arc, time::Instant};

use axum::{
    body::Body,
    extract::State as Shared,
    http::{header::CONTENT_TYPE, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use distributary::{
    access::TokenOwner,
    command::{answer, Side},
    Code, Command, Engine, Envelope, Error,
};
use serde_json::Value;
use tokio::sync::oneshot;
use tracing::Instrument;

use crate::{auth, group, metrics::Metrics, shutdown::Readiness, REQUEST_COMMANDS_MAX};

/// What every route shares.
pub(crate) struct State {
    pub engine: Arc<Engine>,
    pub metrics: Arc<Metrics>,
    /// The group committer, or `None` when every request commits alone.
    pub group: Option<group::Sender>,
    pub body_bytes_max: usize,
    pub ready: Readiness,
    /// The tokens whose `last_used_at` is being written.
    pub touches: Arc<auth::Touches>,
    /// The store's file (`ServerOptions::store_path`).
    pub store_path: Option<std::path::PathBuf>,
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/v1/commands", post(commands))
        .route(
            "/v1/webhooks/{account}/{marketplace}/{shop}",
            post(crate::webhooks::receive),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state.clone())
        .merge(crate::console::routes(state))
}

/// The HTTP status of an answer with this error code (docs/protocol.md#error-codes).
pub fn status_of(code: Code) -> StatusCode {
    match code {
        Code::BadRequest | Code::UnknownCommand => StatusCode::BAD_REQUEST,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::InvalidTransition | Code::IdempotencyConflict => StatusCode::CONFLICT,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

async fn readyz(Shared(state): Shared<Arc<State>>) -> Response {
    if state.ready.get() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "stopping\n").into_response()
    }
}

async fn metrics(Shared(state): Shared<Arc<State>>) -> Response {
    let engine = state.engine.clone();
    let queued = tokio::task::spawn_blocking(move || engine.queued_deliveries())
        .await
        .ok()
        .and_then(Result::ok);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(queued),
    )
        .into_response()
}

/// A JSON answer with its status.
pub(crate) fn json(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// A request refused before any command ran: one answer, with its code's status.
fn refused(state: &State, error: Error) -> Response {
    state.metrics.command("-", error.code().as_str());
    json(status_of(error.code()), &answer(&Value::Null, &Err(error)))
}

async fn commands(Shared(state): Shared<Arc<State>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let response = handle(&state, &headers, body).await;
    state.metrics.latency(started.elapsed());
    response
}

async fn handle(state: &Arc<State>, headers: &HeaderMap, body: Body) -> Response {
    let owner = match authenticate(state, headers).await {
        Ok(owner) => owner,
        Err(error) => {
            state.metrics.unauthenticated();
            return refused(state, error);
        }
    };
    // The token's id, never the token.
    let span = tracing::info_span!("request", account = %owner.account, token_id = %owner.token_id);
    authenticated(state, owner, body).instrument(span).await
}

async fn authenticated(state: &Arc<State>, owner: TokenOwner, body: Body) -> Response {
    let bytes = match axum::body::to_bytes(body, state.body_bytes_max).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let max = state.body_bytes_max;
            return refused(
                state,
                Error::bad_request(format!(
                    "a request body is at most {max} bytes, and must arrive whole"
                )),
            );
        }
    };
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(body) => body,
        Err(error) => {
            return refused(state, Error::bad_request(format!("not JSON: {error}")));
        }
    };
    let (items, batch) = match body {
        Value::Array(items) if items.len() > REQUEST_COMMANDS_MAX => {
            return refused(
                state,
                Error::bad_request(format!(
                    "a request carries at most {REQUEST_COMMANDS_MAX} commands"
                )),
            );
        }
        Value::Array(items) => (items, true),
        item => (vec![item], false),
    };
    let answers = run(state, items, &owner).await;
    if batch {
        return json(StatusCode::OK, &Value::Array(answers));
    }
    let status = answers
        .first()
        .and_then(|answer| answer.get("error"))
        .and_then(|error| error.get("code"))
        .and_then(Value::as_str)
        .and_then(Code::parse)
        .map_or(StatusCode::OK, status_of);
    let answer = answers.into_iter().next().unwrap_or(Value::Null);
    json(status, &answer)
}

async fn authenticate(state: &Arc<State>, headers: &HeaderMap) -> Result<TokenOwner, Error> {
    let token = auth::bearer(headers)?;
    // Read on the token checks' own connection, which never waits for a commit: here, on the
    // worker, rather than on a blocking thread, which cost two thread switches per request
    // (BENCHMARKS.md, "The server").
    if let Some(checked) = state.engine.authenticate_without_waiting(&token) {
        let (owner, due) = checked?;
        if due {
            state.touches.touch(&state.engine, &owner.token_id);
        }
        return Ok(owner);
    }
    let engine = state.engine.clone();
    tokio::task::spawn_blocking(move || engine.authenticate(&token))
        .await
        .map_err(|_| Error::new(Code::Internal, "authentication did not finish"))?
}

/// Runs the body's commands as the token's owner; one answer per command, in order. Commands
/// that do not parse are answered in their place, the others run together.
pub(crate) async fn run(state: &Arc<State>, items: Vec<Value>, owner: &TokenOwner) -> Vec<Value> {
    let mut answers: Vec<Option<Value>> = Vec::with_capacity(items.len());
    let mut envelopes = Vec::new();
    for item in items {
        match auth::envelope(item, owner) {
            Ok(envelope) => {
                answers.push(None);
                envelopes.push(envelope);
            }
            Err((id, error)) => {
                state.metrics.command("-", error.code().as_str());
                answers.push(Some(answer(&id, &Err(error))));
            }
        }
    }
    let ids: Vec<(Value, &'static str)> = envelopes
        .iter()
        .map(|e| (e.id.clone(), e.command.name()))
        .collect();
    let results = if envelopes.is_empty() {
        Vec::new()
    } else {
        execute(state, envelopes).await
    };
    let mut ran = ids.into_iter().zip(results);
    answers
        .into_iter()
        .map(|answered| {
            answered.unwrap_or_else(|| match ran.next() {
                Some(((id, cmd), result)) => {
                    let code = result.as_ref().map_or_else(|e| e.code().as_str(), |_| "ok");
                    state.metrics.command(cmd, code);
                    tracing::info!(cmd, code, "answered");
                    answer(&id, &result)
                }
                None => answer(&Value::Null, &Err(Error::new(Code::Internal, "no answer"))),
            })
        })
        .collect()
}

/// Runs envelopes: through the group committer when there is one and they write; alone
/// otherwise (unkeyed queries read without a write transaction, and a marketplace sync talks to
/// the network before it locks the store, which must not hold a group up).
async fn execute(state: &Arc<State>, envelopes: Vec<Envelope>) -> Vec<Result<Value, Error>> {
    let count = envelopes.len();
    let failed = |message: &str| {
        (0..count)
            .map(|_| Err(Error::new(Code::Internal, message.to_owned())))
            .collect::<Vec<_>>()
    };
    if let Some(group) = state.group.as_ref().filter(|_| groupable(&envelopes)) {
        let (reply, answered) = oneshot::channel();
        if group.send(envelopes, reply).await.is_err() {
            return failed("the server is stopping");
        }
        return answered
            .await
            .unwrap_or_else(|_| failed("the group's transaction did not finish"));
    }
    let engine = state.engine.clone();
    tokio::task::spawn_blocking(move || engine.execute_batch(&envelopes))
        .await
        .unwrap_or_else(|_| failed("the command did not finish"))
}

/// Whether these commands join a group: some of them write, and none talks to a marketplace.
fn groupable(envelopes: &[Envelope]) -> bool {
    let reads_only = envelopes
        .iter()
        .all(|e| e.command.side() == Side::Query && e.key.is_none());
    let network = envelopes
        .iter()
        .any(|e| matches!(e.command, Command::SyncOrders(_) | Command::SyncStock(_)));
    !reads_only && !network
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_the_status_of_its_kind() {
        for code in Code::ALL {
            let status = status_of(*code);
            let expected = match code.as_str() {
                "bad_request" | "unknown_command" => 400,
                "unauthenticated" => 401,
                "permission_denied" => 403,
                "not_found" => 404,
                "invalid_transition" | "idempotency_conflict" => 409,
                "internal" => 500,
                _ => 422,
            };
            assert_eq!(status.as_u16(), expected, "{}", code.as_str());
        }
    }
}
