//! `GET /`: the sign-in form for a browser without a session; for a signed-in one, where to go
//! and the distributor's newest notifications.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use maud::html;
use serde_json::json;

use super::{call, layout, session, Console};

/// Notifications shown on the first page.
const NOTIFICATIONS_SHOWN_MAX: usize = 10;

/// `GET /`.
pub(crate) async fn page(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let session = match session::visitor(&console, &headers).await {
        session::Visitor::Signed(session) => session,
        session::Visitor::Anonymous => {
            return layout::respond(StatusCode::OK, layout::sign_in(None));
        }
        session::Visitor::Refused(error) => return session::signed_out(&error),
    };
    let answers = call::run(
        &console,
        &session.owner,
        vec![
            call::command("rules_version", json!({})),
            call::command("notifications", json!({})),
        ],
    )
    .await;
    let rules = answers.first().and_then(|answer| answer.as_ref().ok());
    let notifications = answers.get(1).and_then(|answer| answer.as_ref().ok());
    let body = html! {
        p { "What you see and may do here is what your token's account may: the engine decides, as it does for every command." }
        div.cards {
            section aria-labelledby="as-distributor" {
                h2 id="as-distributor" { "As a distributor" }
                ul {
                    li { a href="/suppliers" { "My suppliers" } ": partnerships, notes, binding with an invitation link" }
                    li { a href="/products" { "Products" } ": claimed, unclaimed and expired" }
                    li { a href="/orders" { "Orders" } ": by state, with what each waits for" }
                    li { a href="/balances" { "Balances" } ": transactions and the reconciliation report" }
                }
            }
            section aria-labelledby="as-supplier" {
                h2 id="as-supplier" { "As a supplier" }
                ul {
                    li { a href="/applications" { "Applications" } " to review" }
                    li { a href="/partners" { "Partners" } ": warehouses, balance and credit" }
                    li { a href="/catalog" { "Catalog" } ": products and prices" }
                    li { a href="/orders?state=pushed" { "Orders to ship" } " and "
                        a href="/orders?state=withdrawal_requested" { "withdrawals to review" } }
                }
            }
        }
        @if let Some(rules) = rules {
            p { "Rule pack in force: " code { (layout::text(rules, "version")) }
                ", loaded " (layout::text(rules, "loaded_at")) "." }
        }
        @if let Some(notifications) = notifications {
            section aria-labelledby="inbox" {
                h2 id="inbox" { "Notifications" }
                @let items = layout::list(notifications, "notifications");
                @if items.is_empty() {
                    p { "None." }
                } @else {
                    ul {
                        @for item in items.iter().take(NOTIFICATIONS_SHOWN_MAX) {
                            li {
                                (layout::text(item, "at")) ": " strong { (layout::text(item, "kind")) }
                                " " (item.get("data").map(ToString::to_string).unwrap_or_default())
                            }
                        }
                    }
                }
            }
        }
    };
    layout::respond(
        StatusCode::OK,
        layout::page(&console, &session, "Console", "/", body),
    )
}
