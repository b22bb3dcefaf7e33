//! `POST /v1/webhooks/{account}/{marketplace}/{shop}`: a marketplace's push notification. No
//! bearer token (a marketplace cannot send one): the signature, verified by the shop's adapter
//! with the shop's credentials (`Engine::receive_push`), is the authentication. The notice is
//! stored before the answer (200 with an empty body, what Shopee requires and the others
//! accept); its orders are then synced off the request, on a blocking thread, and a sync that
//! fails leaves the notice for the periodic pull. A bad or missing signature is 401
//! `unauthenticated`, an unknown account or shop 404 `not_found` (the same answer for either),
//! and nothing is stored.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Path, State as Shared},
    http::{header::HOST, HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use distributary::{
    command::answer,
    shops::{NoticeRef, PushDelivery, PushReceived},
    Code, Engine, Error,
};
use serde_json::Value;
use tracing::Instrument;

use crate::http::{json, status_of, State};
use crate::metrics::Metrics;

/// The metrics label of a marketplace no adapter serves: a route's path is the sender's to
/// choose, so only a loaded adapter's name becomes a label.
const UNKNOWN_MARKETPLACE: &str = "-";

pub(crate) async fn receive(
    Shared(state): Shared<Arc<State>>,
    Path((account, marketplace, shop)): Path<(String, String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let span = tracing::info_span!("push", %account, %marketplace, %shop);
    let route = Route {
        account,
        marketplace,
        shop,
    };
    handle(state, route, uri, headers, body)
        .instrument(span)
        .await
}

/// The shop a push is addressed to, from its path.
struct Route {
    account: String,
    marketplace: String,
    shop: String,
}

async fn handle(
    state: Arc<State>,
    Route {
        account,
        marketplace,
        shop,
    }: Route,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let label = if state.engine.plugins().adapter(&marketplace).is_some() {
        marketplace.clone()
    } else {
        UNKNOWN_MARKETPLACE.to_owned()
    };
    let body = match axum::body::to_bytes(body, state.body_bytes_max).await {
        Ok(bytes) => bytes.to_vec(),
        Err(_) => {
            let max = state.body_bytes_max;
            let error = Error::bad_request(format!("a push body is at most {max} bytes"));
            return refused(&state, &label, error);
        }
    };
    let push = PushDelivery {
        account,
        marketplace,
        shop,
        url: arrived_at(&headers, &uri),
        headers: headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect(),
        body,
    };
    let engine = state.engine.clone();
    let received = tokio::task::spawn_blocking(move || engine.receive_push(&push))
        .await
        .unwrap_or_else(|_| Err(Error::new(Code::Internal, "the push did not finish")));
    match received {
        Ok(received) => accepted(&state, &label, received),
        Err(error) => refused(&state, &label, error),
    }
}

/// The URL the request arrived at, as a marketplace that signs it would have called it (a shop
/// behind a proxy sets `push_url` instead).
fn arrived_at(headers: &HeaderMap, uri: &Uri) -> String {
    let host = headers
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("localhost");
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    format!("http://{host}{path}")
}

/// A stored (or repeated) notice: answered at once; a new one's orders synced in the
/// background.
fn accepted(state: &Arc<State>, label: &str, received: PushReceived) -> Response {
    let outcome = if received.stored {
        "accepted"
    } else {
        "duplicate"
    };
    state.metrics.webhook(label, outcome);
    tracing::info!(
        kind = %received.kind, orders = received.order_ids.len(), outcome, "push received"
    );
    if received.stored {
        let (engine, metrics, label) = (
            state.engine.clone(),
            state.metrics.clone(),
            label.to_owned(),
        );
        tokio::spawn(process(engine, metrics, label, received.notice).in_current_span());
    }
    StatusCode::OK.into_response()
}

/// Syncs a stored notice's orders on a blocking thread and counts the outcome; a failure is
/// left on the notice for the periodic pull.
async fn process(engine: Arc<Engine>, metrics: Arc<Metrics>, label: String, notice: NoticeRef) {
    let processed = tokio::task::spawn_blocking(move || engine.process_notice(&notice)).await;
    let outcome = match processed {
        Ok(Ok(_)) => "synced",
        Ok(Err(error)) => {
            tracing::warn!(%error, "a push's orders did not sync; the pull retries them");
            "sync_failed"
        }
        Err(_) => "sync_failed",
    };
    metrics.webhook(&label, outcome);
}

fn refused(state: &State, label: &str, error: Error) -> Response {
    state.metrics.webhook(label, error.code().as_str());
    tracing::info!(code = error.code().as_str(), "push refused");
    json(status_of(error.code()), &answer(&Value::Null, &Err(error)))
}
