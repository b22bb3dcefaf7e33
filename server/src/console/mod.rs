//! The web console (docs/protocol.md, "HTTP"): server-rendered pages for suppliers, distributors and
//! rule authors, served by `serve` at `/`.
//!
//! The rules of the console:
//! - Every page acts through the engine's commands, as the signed-in token's actor, on the same
//!   path `POST /v1/commands` takes (`http::run`: the body's actor check, group commit for
//!   writes, the metrics): permissions and isolation are the engine's, never the console's.
//! - The token lives only in an `HttpOnly`, `SameSite=Strict` cookie; never in a URL, a page or a
//!   log. A cookie the engine does not accept signs the browser out.
//! - Every form carries a CSRF token bound to the session; a POST without the right one is
//!   refused (403) before any command runs.
//! - Nothing is fetched from elsewhere: the stylesheet is in the binary; the pages need no script.
//!
//! One job per module: `session` (the cookie, signing in and out), `csrf`, `call` (commands as
//! the session's actor), `form` (bodies and query strings), `layout` (the page frame, tables'
//! pages, answers), `actions` (the forms' POST: a form to a command), `home`, `distributor`
//! (suppliers, product tabs), `orders` (lists with what each waits for, one order), `ledger`
//! (balances, transactions, reconciliation), `supplier` (applications, partners, products),
//! `rules` (the pack in force, its workflows drawn by `graph` as SVG).

mod actions;
mod call;
mod csrf;
mod distributor;
mod form;
mod graph;
mod home;
mod layout;
mod ledger;
mod orders;
mod rules;
mod session;
mod supplier;

use std::sync::Arc;

use axum::{
    http::header::{CACHE_CONTROL, CONTENT_TYPE},
    routing::{get, post},
    Router,
};

use crate::http::State;

/// What the console's routes share: the server's state and the secret its CSRF tokens are
/// signed with (drawn at start: a restart invalidates the forms open in browsers, nothing else).
pub(crate) struct Console {
    pub http: Arc<State>,
    pub csrf: csrf::Secret,
}

/// The console's stylesheet, served from the binary.
const STYLESHEET: &str = include_str!("console.css");

/// The console's routes, to merge into the server's router.
pub(crate) fn routes(http: Arc<State>) -> Router {
    let console = Arc::new(Console {
        http,
        csrf: csrf::Secret::generate(),
    });
    Router::new()
        .route("/", get(home::page))
        .route("/sign-in", post(session::sign_in))
        .route("/sign-out", post(session::sign_out))
        .route("/act", post(actions::act))
        .route("/suppliers", get(distributor::suppliers))
        .route("/products", get(distributor::products))
        .route("/orders", get(orders::index))
        .route("/order", get(orders::one))
        .route("/balances", get(ledger::balances))
        .route("/transactions", get(ledger::transactions))
        .route("/applications", get(supplier::applications))
        .route("/partners", get(supplier::partners))
        .route("/catalog", get(supplier::catalog))
        .route("/price-history", get(supplier::price_history))
        .route("/rules", get(rules::page))
        .route(
            "/console.css",
            get(|| async {
                (
                    [
                        (CONTENT_TYPE, "text/css; charset=utf-8"),
                        (CACHE_CONTROL, "max-age=3600"),
                    ],
                    STYLESHEET,
                )
            }),
        )
        .with_state(console)
}
