//! The supplier's pages: applications to review (approve, reject with a reason), partners with
//! their warehouses, balance and credit terms (add or deduct balance, credit limit; invitation
//! links), and the catalog (publish, prices with their history, distribution on or off). Orders
//! to ship and withdrawals to review are the order pages filtered by state (`orders`).

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

/// The partnership state a supplier reviews.
const PENDING: &str = "pending_authorization";

/// `GET /applications`.
pub(crate) async fn applications(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let session = match session::require(&console, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let query = Fields::query(&uri);
    let here = layout::here(&uri);
    let answer = call::one(&console, &session.owner, "distributors", json!({})).await;
    let body = html! {
        (layout::done(&query))
        (layout::shown(&answer, |value| {
            let items = list(value, "distributors");
            let (rows, pages) = Pages::slice(items, query.page());
            html! {
                @if items.is_empty() { p { "No distributor has applied yet: send one an invitation link (Partners)." } }
                @else {
                    div.scroll tabindex="0" { table {
                        thead { tr { th { "Distributor" } th { "Status" } th { "Applied" } th { "Decided" } th { "Warehouses" } th { "Review" } } }
                        tbody {
                            @for (index, row) in rows.iter().enumerate() {
                                tr {
                                    td { (text(row, "distributor")) }
                                    td { span.state { (text(row, "status")) } }
                                    td { (text(row, "applied_at")) }
                                    td { (text(row, "decided_at")) }
                                    td { (text(row, "warehouses")) }
                                    td { @if str_of(row, "status") == PENDING { (review(&console, &session, &here, index, row)) } @else { "—" } }
                                }
                            }
                        }
                    } }
                    (pages.nav(|page| link("/applications", &[("page", &page.to_string())])))
                }
            }
        }))
    };
    layout::respond(
        StatusCode::OK,
        layout::page(&console, &session, "Applications", "/applications", body),
    )
}

/// Approve, or reject with a reason.
fn review(console: &Console, session: &Session, here: &str, index: usize, row: &Value) -> Markup {
    let distributor = str_of(row, "distributor");
    let id = format!("reason-{index}");
    html! {
        form.inline method="post" action="/act" {
            (layout::csrf_field(console, session))
            input type="hidden" name="cmd" value="review_partnership";
            input type="hidden" name="back" value=(here);
            input type="hidden" name="distributor" value=(distributor);
            label for=(id) { "Reason (when rejecting)" }
            input id=(id) name="reason";
            button type="submit" name="approve" value="true" { "Approve" span.hidden { " " (distributor) } }
            button type="submit" name="approve" value="false" { "Reject" span.hidden { " " (distributor) } }
        }
    }
}

/// `GET /partners`.
pub(crate) async fn partners(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let session = match session::require(&console, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let query = Fields::query(&uri);
    let here = layout::here(&uri);
    let answers = call::run(
        &console,
        &session.owner,
        vec![
            call::command("distributors", json!({"status": "partnered"})),
            call::command("balances", json!({})),
        ],
    )
    .await;
    let answer = answers.first().cloned().unwrap_or(Ok(Value::Null));
    let balances: Vec<Value> = answers
        .get(1)
        .and_then(|answer| answer.as_ref().ok())
        .map(|value| list(value, "balances").to_vec())
        .unwrap_or_default();
    let me = session.owner.account.clone();
    let body = html! {
        (layout::done(&query))
        section aria-labelledby="invite" {
            h2 id="invite" { "Invite a distributor" }
            (layout::action(&console, &session, "create_invitation", &here, &[], html! {
                label for="invite-warehouses" { "Warehouses to assign (comma-separated)" }
                input id="invite-warehouses" name="warehouses" required;
            }, html! { "Create invitation link" }))
        }
        section aria-labelledby="partners" {
            h2 id="partners" { "Partners" }
            (layout::shown(&answer, |value| {
                let items = list(value, "distributors");
                let (rows, pages) = Pages::slice(items, query.page());
                html! {
                    @if items.is_empty() { p { "No partner yet." } }
                    @for (index, row) in rows.iter().enumerate() {
                        @let distributor = str_of(row, "distributor");
                        @let balance = balances.iter().find(|b| str_of(b, "supplier") == me && str_of(b, "distributor") == distributor);
                        (partner(&console, &session, &here, index, row, balance))
                    }
                    (pages.nav(|page| link("/partners", &[("page", &page.to_string())])))
                }
            }))
        }
    };
    layout::respond(
        StatusCode::OK,
        layout::page(&console, &session, "Partners", "/partners", body),
    )
}

/// One partner: its warehouses, its balance and credit, and the forms that change them.
fn partner(
    console: &Console,
    session: &Session,
    here: &str,
    index: usize,
    row: &Value,
    balance: Option<&Value>,
) -> Markup {
    let distributor = str_of(row, "distributor");
    let hidden = [("distributor", distributor)];
    let id = |what: &str| format!("{what}-{index}");
    let credit_on = balance.and_then(|b| b.get("credit_enabled")) == Some(&Value::Bool(true));
    html! {
        article.card aria-labelledby=(id("partner")) {
            h3 id=(id("partner")) { (distributor) }
            dl.facts {
                dt { "Warehouses" } dd { (text(row, "warehouses")) }
                dt { "Note" } dd { (text(row, "note")) }
                @if let Some(balance) = balance {
                    dt { "Balance" } dd { strong { (text(balance, "balance")) } " " (text(balance, "currency")) }
                    dt { "Credit terms" } dd { @if credit_on { "on, limit " (text(balance, "credit_limit")) ", used " (text(balance, "credit_used")) } @else { "off" } }
                    dt { "Available to spend" } dd { (text(balance, "available")) }
                }
            }
            p { a href=(link("/transactions", &[("distributor", distributor)])) { "Transactions" span.hidden { " with " (distributor) } } }
            div.actions {
                (layout::action(console, session, "add_balance", here, &hidden, html! {
                    label for=(id("add")) { "Amount to add" }
                    input id=(id("add")) name="amount" inputmode="decimal" required;
                    label for=(id("add-note")) { "Note" }
                    input id=(id("add-note")) name="note";
                }, html! { "Add balance" span.hidden { " for " (distributor) } }))
                (layout::action(console, session, "deduct_balance", here, &hidden, html! {
                    label for=(id("deduct")) { "Amount to deduct" }
                    input id=(id("deduct")) name="amount" inputmode="decimal" required;
                    label for=(id("deduct-note")) { "Note" }
                    input id=(id("deduct-note")) name="note";
                }, html! { "Deduct balance" span.hidden { " for " (distributor) } }))
                (layout::action(console, session, "set_credit", here, &hidden, html! {
                    span.check {
                        input type="checkbox" id=(id("credit-on")) name="enabled" value="true" checked[credit_on];
                        label for=(id("credit-on")) { "Credit terms on" }
                    }
                    label for=(id("limit")) { "Credit limit" }
                    input id=(id("limit")) name="limit" inputmode="decimal" required
                        value=(balance.map(|b| str_of(b, "credit_limit")).unwrap_or("0"));
                }, html! { "Save credit terms" span.hidden { " for " (distributor) } }))
            }
        }
    }
}

/// `GET /catalog`.
pub(crate) async fn catalog(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let session = match session::require(&console, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let query = Fields::query(&uri);
    let here = layout::here(&uri);
    let answer = call::one(
        &console,
        &session.owner,
        "products",
        json!({"tab": "published"}),
    )
    .await;
    let body = html! {
        (layout::done(&query))
        section aria-labelledby="publish" {
            h2 id="publish" { "Publish a product" }
            (layout::action(&console, &session, "publish_product", &here, &[], html! {
                label for="new-sku" { "SKU" } input id="new-sku" name="sku" required;
                label for="new-name" { "Name" } input id="new-name" name="name" required;
                label for="new-price" { "Price" } input id="new-price" name="price" inputmode="decimal" required;
            }, html! { "Publish" }))
        }
        section aria-labelledby="products" {
            h2 id="products" { "Products" }
            (layout::shown(&answer, |value| {
                let items = list(value, "products");
                let (rows, pages) = Pages::slice(items, query.page());
                html! {
                    @if items.is_empty() { p { "Nothing published yet." } }
                    @else {
                        div.scroll tabindex="0" { table {
                            thead { tr { th { "SKU" } th { "Name" } th { "Price" } th { "Distribution" } th { "Stock" } th { "New price" } } }
                            tbody {
                                @for (index, row) in rows.iter().enumerate() {
                                    (product(&console, &session, &here, index, row))
                                }
                            }
                        } }
                        (pages.nav(|page| link("/catalog", &[("page", &page.to_string())])))
                    }
                }
            }))
        }
    };
    layout::respond(
        StatusCode::OK,
        layout::page(&console, &session, "Catalog", "/catalog", body),
    )
}

fn product(console: &Console, session: &Session, here: &str, index: usize, row: &Value) -> Markup {
    let sku = str_of(row, "sku");
    let enabled = str_of(row, "state") == "enabled";
    let id = format!("price-{index}");
    html! {
        tr {
            td { (sku) @if row.get("combination") == Some(&Value::Bool(true)) { " (combination)" } }
            td { (text(row, "name")) }
            td.num { (text(row, "price")) " " (text(row, "currency")) " "
                a href=(link("/price-history", &[("sku", sku)])) { "history" span.hidden { " of " (sku) } } }
            td {
                (text(row, "state")) " "
                (layout::action(console, session, "set_distribution", here,
                    &[("sku", sku), ("enabled", if enabled { "false" } else { "true" })], html! {},
                    html! { @if enabled { "Turn off" } @else { "Turn on" } span.hidden { " " (sku) } }))
            }
            td.num { (text(row, "stock")) }
            td {
                (layout::action(console, session, "set_price", here, &[("sku", sku)], html! {
                    label.hidden for=(id) { "New price of " (sku) }
                    input id=(id) name="price" inputmode="decimal" required size="8";
                }, html! { "Set price" span.hidden { " of " (sku) } }))
            }
        }
    }
}

/// `GET /price-history?sku=`: either side's (a supplier's own SKU, a distributor's local SKU).
pub(crate) async fn price_history(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let session = match session::require(&console, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let query = Fields::query(&uri);
    let sku = query.get("sku").unwrap_or_default().to_owned();
    let answer = call::one(
        &console,
        &session.owner,
        "price_history",
        json!({"sku": sku}),
    )
    .await;
    let body = html! {
        p { "The prices in force, newest first (the last 30 per supplier SKU). Pushed orders keep the price they were charged." }
        (layout::shown(&answer, |value| html! {
            div.scroll tabindex="0" { table {
                thead { tr { th { "Since" } th { "Supplier" } th { "Supplier SKU" } th { "Price" } } }
                tbody {
                    @for row in list(value, "history") {
                        tr { td { (text(row, "at")) } td { (text(row, "supplier")) } td { (text(row, "sku")) } td.num { (text(row, "price")) } }
                    }
                }
            } }
        }))
    };
    layout::respond(
        StatusCode::OK,
        layout::page(
            &console,
            &session,
            &format!("Price history of {sku}"),
            "",
            body,
        ),
    )
}
