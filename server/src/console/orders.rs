//! Orders, for either side: the list by state, each row with what the order waits for (the
//! engine's `explain`), and one order with its lines, charges, the transitions out of its state
//! (every guard evaluated now) and its full history; the buttons of the acting side's
//! transitions (pack and push, withdraw; ship, confirm pickup, review a withdrawal).

use std::sync::Arc;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::Response,
};
use maud::{html, Markup};
use serde_json::{json, Value};

use super::{
    call,
    form::{link, Fields},
    layout::{self, list, str_of, text, Pages},
    session::{self, Session},
    Console,
};

/// The order states the list filters by (the built-in pack's; `explain` names any other).
const STATES: &[&str] = &[
    "pending",
    "packed",
    "pushing",
    "pushed",
    "push_failed",
    "to_pickup",
    "shipped",
    "withdrawal_requested",
    "withdrawn",
    "cancelled",
    "split",
];

/// The workflow `explain` is asked about.
const ORDER_WORKFLOW: &str = "distribution_order";

/// `GET /orders?state=&page=`.
pub(crate) async fn list_page(console: &Console, session: &Session, uri: &Uri) -> Response {
    let query = Fields::query(uri);
    let state = query.filled("state").unwrap_or_default().to_owned();
    let args = if state.is_empty() {
        json!({})
    } else {
        json!({"state": state})
    };
    let answer = call::one(console, &session.owner, "orders", args).await;
    let (rows, pages, waits) = match &answer {
        Ok(value) => {
            let (rows, pages) = Pages::slice(list(value, "orders"), query.page());
            let explained = explain_all(console, session, rows).await;
            (rows.to_vec(), Some(pages), explained)
        }
        Err(_) => (Vec::new(), None, Vec::new()),
    };
    let title = if state.is_empty() {
        "Orders".to_owned()
    } else {
        format!("Orders: {state}")
    };
    let body = html! {
        (layout::done(&query))
        nav.tabs aria-label="Order states" {
            ul {
                li { a href="/orders" aria-current=[state.is_empty().then_some("page")] { "All" } }
                @for name in STATES {
                    li { a href=(link("/orders", &[("state", name)])) aria-current=[(*name == state).then_some("page")] { (name) } }
                }
            }
        }
        (layout::shown(&answer, |_| html! {
            @if rows.is_empty() { p { "No order here." } }
            @else {
                div.scroll tabindex="0" { table {
                    thead { tr { th { "Order" } th { "State" } th { "Distributor" } th { "Supplier" } th { "Warehouse" } th { "Marketplace" } th { "Waits for" } } }
                    tbody {
                        @for (row, waits) in rows.iter().zip(waits.iter()) {
                            tr {
                                td { a href=(order_link(row)) { (text(row, "order")) } }
                                td { span.state { (text(row, "state")) } }
                                td { (text(row, "distributor")) }
                                td { (text(row, "supplier")) }
                                td { (text(row, "warehouse")) }
                                td { (text(row, "marketplace_status"))
                                    @if row.get("cancel_flagged") == Some(&Value::Bool(true)) { " (cancellation flagged)" } }
                                td { (waits) }
                            }
                        }
                    }
                } }
            }
        }))
        @if let Some(pages) = pages {
            (pages.nav(|page| link("/orders", &[("state", &state), ("page", &page.to_string())])))
        }
    };
    let current = if state.is_empty() {
        "/orders".to_owned()
    } else {
        link("/orders", &[("state", &state)])
    };
    layout::respond(
        StatusCode::OK,
        layout::page(console, session, &title, &current, body),
    )
}

/// `GET /orders`.
pub(crate) async fn index(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    match session::require(&console, &headers).await {
        Ok(session) => list_page(&console, &session, &uri).await,
        Err(response) => response,
    }
}

/// The address of an order's page.
fn order_link(row: &Value) -> String {
    link(
        "/order",
        &[
            ("id", str_of(row, "order")),
            ("distributor", str_of(row, "distributor")),
        ],
    )
}

/// What each order of a page waits for, in one batch of `explain`s.
async fn explain_all(console: &Console, session: &Session, rows: &[Value]) -> Vec<Markup> {
    if rows.is_empty() {
        return Vec::new();
    }
    let commands = rows
        .iter()
        .map(|row| {
            call::command(
                "explain",
                json!({"entity": ORDER_WORKFLOW, "id": str_of(row, "order")}),
            )
        })
        .collect();
    let answers = call::run(console, &session.owner, commands).await;
    rows.iter()
        .zip(answers)
        .map(|(row, answer)| match answer {
            Ok(explained) => waits_for(&explained, side(session, row)),
            Err(refusal) => html! { "— (" code { (refusal.code) } ")" },
        })
        .collect()
}

/// The acting side's part in an order: `distributor`, `supplier`, or neither.
fn side<'a>(session: &Session, order: &'a Value) -> Option<&'a str> {
    let account = session.owner.account.as_str();
    if str_of(order, "distributor") == account {
        Some("distributor")
    } else if str_of(order, "supplier") == account {
        Some("supplier")
    } else {
        None
    }
}

/// One line: what may happen next, or why it cannot.
fn waits_for(explained: &Value, side: Option<&str>) -> Markup {
    let transitions = list(explained, "transitions");
    let mine: Vec<&Value> = transitions
        .iter()
        .filter(|t| side.is_some() && str_of(t, "by") == side.unwrap_or_default())
        .collect();
    if let Some(ready) = mine
        .iter()
        .find(|t| t.get("allowed") == Some(&Value::Bool(true)))
    {
        return html! { "You may " strong { (text(ready, "event")) } };
    }
    let blocked = mine.iter().find_map(|t| {
        list(t, "guards")
            .iter()
            .find(|g| g.get("passed") == Some(&Value::Bool(false)))
            .map(|g| (str_of(t, "event"), g))
    });
    if let Some((event, guard)) = blocked {
        return html! {
            strong { (event) } " blocked: " (text(guard, "message")) " (" code { (text(guard, "code")) } ")"
        };
    }
    let others: Vec<String> = transitions
        .iter()
        .filter(|t| str_of(t, "by") != "system")
        .map(|t| format!("{} ({})", str_of(t, "event"), text(t, "by")))
        .collect();
    match (others.is_empty(), transitions.is_empty()) {
        (_, true) => html! { "Nothing: a final state" },
        (true, false) => {
            html! { "The engine (" (transitions.iter().map(|t| str_of(t, "event")).collect::<Vec<_>>().join(", ")) ")" }
        }
        (false, false) => html! { "Waits for " (others.join(", ")) },
    }
}

/// `GET /order?id=&distributor=`.
pub(crate) async fn one(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let session = match session::require(&console, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let query = Fields::query(&uri);
    let id = query.get("id").unwrap_or_default().to_owned();
    let mut args = json!({"order": id});
    if let Some(distributor) = query.filled("distributor") {
        args["distributor"] = json!(distributor);
    }
    let answers = call::run(
        &console,
        &session.owner,
        vec![
            call::command("order", args),
            call::command("explain", json!({"entity": ORDER_WORKFLOW, "id": id})),
        ],
    )
    .await;
    let here = layout::here(&uri);
    let order = answers.first().cloned().unwrap_or(Ok(Value::Null));
    let explained = answers.get(1).cloned().unwrap_or(Ok(Value::Null));
    let status = match &order {
        Ok(_) => StatusCode::OK,
        Err(refusal) => distributary::Code::parse(&refusal.code)
            .map_or(StatusCode::NOT_FOUND, crate::http::status_of),
    };
    let body = html! {
        (layout::done(&query))
        (layout::shown(&order, |order| {
            let side = side(&session, order);
            html! {
                (summary(order))
                @if let Ok(explained) = &explained {
                    (actions(&console, &session, &here, order, explained, side))
                    (transitions(explained))
                }
                (lines(order))
                (history(order))
            }
        }))
        @if let (Ok(_), Err(refusal)) = (&order, &explained) {
            (layout::alert(&refusal.code, &refusal.message))
        }
    };
    layout::respond(
        status,
        layout::page(&console, &session, &format!("Order {id}"), "", body),
    )
}

fn summary(order: &Value) -> Markup {
    let charges = order.get("charges").unwrap_or(&Value::Null);
    html! {
        dl.facts {
            dt { "State" } dd { span.state { (text(order, "state")) } }
            dt { "Distributor" } dd { (text(order, "distributor")) }
            dt { "Supplier" } dd { (text(order, "supplier")) }
            dt { "Warehouse" } dd { (text(order, "warehouse")) }
            dt { "Shipping" } dd { (text(order, "shipping")) }
            dt { "Tracking number" } dd { (text(order, "tracking_no")) }
            dt { "Marketplace status" } dd { (text(order, "marketplace_status")) }
            dt { "Last failure" } dd { (text(order, "failure")) }
            dt { "Charges" } dd {
                @if charges.is_null() { "—" } @else {
                    "goods " (text(charges, "goods")) ", handling " (text(charges, "handling"))
                    ", shipping " (text(charges, "shipping")) ", total " strong { (text(charges, "total")) }
                    " " (text(order, "currency"))
                }
            }
        }
    }
}

/// The buttons of the transitions the acting side may fire from this state.
fn actions(
    console: &Console,
    session: &Session,
    here: &str,
    order: &Value,
    explained: &Value,
    side: Option<&str>,
) -> Markup {
    let Some(side) = side else {
        return html! {};
    };
    let mut events: Vec<&str> = list(explained, "transitions")
        .iter()
        .filter(|t| str_of(t, "by") == side)
        .map(|t| str_of(t, "event"))
        .collect();
    events.dedup();
    let id = str_of(order, "order");
    let distributor = str_of(order, "distributor");
    let supplier_args = [("order", id), ("distributor", distributor)];
    let state = str_of(order, "state");
    let refreshable = side == "distributor" && matches!(state, "pushing" | "pushed" | "to_pickup");
    html! {
        section aria-labelledby="actions" {
            h2 id="actions" { "Actions" }
            @if events.is_empty() && !refreshable { p { "Nothing for you to do on this order now." } }
            div.actions {
                @for event in &events {
                    @match *event {
                        "pack" => (layout::action(console, session, "pack", here, &[("order", id)], html! {
                            label for="warehouse" { "Warehouse (optional: the allocation rule chooses)" }
                            input id="warehouse" name="warehouse";
                        }, html! { "Pack" })),
                        "push" => (layout::action(console, session, "push", here, &[("order", id)], html! {}, html! { "Push to supplier" })),
                        "withdraw" => (layout::action(console, session, "withdraw", here, &[("order", id)], html! {}, html! { "Request withdrawal" })),
                        "ship" => (layout::action(console, session, "ship_order", here, &supplier_args, html! {
                            label for="tracking" { "Tracking number" }
                            input id="tracking" name="tracking_no";
                        }, html! { "Ship" })),
                        "confirm_pickup" => (layout::action(console, session, "confirm_pickup", here, &supplier_args, html! {}, html! { "Confirm pickup" })),
                        "approve_withdrawal" => (review_withdrawal(console, session, here, &supplier_args)),
                        _ => {}
                    }
                }
                @if refreshable {
                    (layout::action(console, session, "refresh", here, &[("order", id)], html! {}, html! { "Refresh" }))
                }
            }
        }
    }
}

fn review_withdrawal(
    console: &Console,
    session: &Session,
    here: &str,
    args: &[(&str, &str)],
) -> Markup {
    html! {
        form.inline method="post" action="/act" {
            (layout::csrf_field(console, session))
            input type="hidden" name="cmd" value="review_withdrawal";
            input type="hidden" name="back" value=(here);
            @for (name, value) in args { input type="hidden" name=(name) value=(value); }
            label for="withdrawal-reason" { "Reason (when rejecting)" }
            input id="withdrawal-reason" name="reason";
            button type="submit" name="approve" value="true" { "Approve withdrawal" }
            button type="submit" name="approve" value="false" { "Reject withdrawal" }
        }
    }
}

/// Every transition out of the state, each guard as evaluated now.
fn transitions(explained: &Value) -> Markup {
    let transitions = list(explained, "transitions");
    html! {
        section aria-labelledby="waits" {
            h2 id="waits" { "What it waits for" }
            @if transitions.is_empty() { p { "No transition leaves " (text(explained, "state")) ": the order is done." } }
            @else {
                div.scroll tabindex="0" { table {
                    thead { tr { th { "Event" } th { "To" } th { "By" } th { "Allowed now" } th { "Guards" } } }
                    tbody {
                        @for t in transitions {
                            tr {
                                td { (text(t, "event")) }
                                td { (text(t, "to")) }
                                td { (text(t, "by")) }
                                td { @if t.get("allowed") == Some(&Value::Bool(true)) { "yes" } @else { "no" } }
                                td { (guards(list(t, "guards"))) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

fn guards(guards: &[Value]) -> Markup {
    html! {
        @if guards.is_empty() { "—" }
        @else {
            ul.guards {
                @for g in guards {
                    li {
                        @if g.get("passed") == Some(&Value::Bool(true)) {
                            (text(g, "guard")) ": passed"
                        } @else {
                            (text(g, "guard")) ": " strong { "failed" } " — " (text(g, "message")) " (" code { (text(g, "code")) } ")"
                        }
                    }
                }
            }
        }
    }
}

fn lines(order: &Value) -> Markup {
    html! {
        section aria-labelledby="lines" {
            h2 id="lines" { "Lines" }
            div.scroll tabindex="0" { table {
                thead { tr { th { "Store SKU" } th { "Local SKU" } th { "Supplier SKU" } th { "Qty" } th { "Price charged" } th { "Buyer's unit price" } } }
                tbody {
                    @for line in list(order, "lines") {
                        tr {
                            td { (text(line, "store_sku")) }
                            td { (text(line, "sku")) }
                            td { (text(line, "supplier_sku")) }
                            td.num { (text(line, "qty")) }
                            td.num { (text(line, "price")) }
                            td.num { (text(line, "unit_price")) }
                        }
                    }
                }
            } }
        }
    }
}

fn history(order: &Value) -> Markup {
    html! {
        section aria-labelledby="history" {
            h2 id="history" { "History" }
            div.scroll tabindex="0" { table {
                thead { tr { th { "At" } th { "From" } th { "To" } th { "Event" } th { "By" } th { "Rules" } th { "Guards" } } }
                tbody {
                    @for entry in list(order, "history") {
                        tr {
                            td { (text(entry, "at")) }
                            td { (text(entry, "from")) }
                            td { (text(entry, "to")) }
                            td { (text(entry, "event"))
                                @if let Some(reason) = entry.get("reason").and_then(Value::as_str) { " — " (reason) } }
                            td { (text(entry, "by")) }
                            td { code { (text(entry, "rules_version")) } }
                            td { (guards(list(entry, "guards"))) }
                        }
                    }
                }
            } }
        }
    }
}
