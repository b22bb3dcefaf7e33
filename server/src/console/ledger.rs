//! Money, for either side: the balances with credit terms, each beside the sum of its
//! transactions (the reconciliation report: a balance equals the sum of its transactions), and
//! one account's transactions, page by page.

use std::{str::FromStr, sync::Arc};

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::Response,
};
use maud::{html, Markup};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::{
    call,
    form::{link, Fields},
    layout::{self, list, str_of, text, Pages},
    session::{self, Session},
    Console,
};

/// The other party of a ledger account, as `transactions` names it: `("supplier", name)` for the
/// distributor, `("distributor", name)` for the supplier.
fn counterpart<'a>(session: &Session, balance: &'a Value) -> (&'static str, &'a str) {
    if str_of(balance, "supplier") == session.owner.account {
        ("distributor", str_of(balance, "distributor"))
    } else {
        ("supplier", str_of(balance, "supplier"))
    }
}

/// A balance against the sum of its transactions.
struct Reconciled {
    count: usize,
    sum: Option<Decimal>,
    balance: Option<Decimal>,
}

impl Reconciled {
    fn of(balance: &Value, transactions: &[Value]) -> Reconciled {
        let sum = transactions.iter().try_fold(Decimal::ZERO, |sum, t| {
            Decimal::from_str(str_of(t, "amount"))
                .ok()
                .and_then(|amount| sum.checked_add(amount))
        });
        Reconciled {
            count: transactions.len(),
            sum,
            balance: Decimal::from_str(str_of(balance, "balance")).ok(),
        }
    }

    fn show(&self) -> Markup {
        let sum = self
            .sum
            .map_or_else(|| "?".to_owned(), |sum| sum.to_string());
        match (self.sum, self.balance) {
            (Some(sum), Some(balance)) if sum == balance => html! {
                span.ok { "Balance equals the sum of " (self.count) " transactions (" (sum) ")" }
            },
            _ => html! {
                strong.bad { "Balance differs from the sum of " (self.count) " transactions (" (sum) ")" }
            },
        }
    }
}

/// `GET /balances`.
pub(crate) async fn balances(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let session = match session::require(&console, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let query = Fields::query(&uri);
    let answer = call::one(&console, &session.owner, "balances", json!({})).await;
    let (rows, pages) = match &answer {
        Ok(value) => {
            let (rows, pages) = Pages::slice(list(value, "balances"), query.page());
            (rows.to_vec(), Some(pages))
        }
        Err(_) => (Vec::new(), None),
    };
    let commands = rows
        .iter()
        .map(|row| {
            let (key, name) = counterpart(&session, row);
            call::command("transactions", json!({ key: name }))
        })
        .collect::<Vec<_>>();
    let ledgers = if commands.is_empty() {
        Vec::new()
    } else {
        call::run(&console, &session.owner, commands).await
    };
    let body = html! {
        (layout::done(&query))
        p { "Each row is one ledger account, in the supplier's settlement currency. Distributors cannot top up: the supplier adds balance." }
        (layout::shown(&answer, |_| html! {
            @if rows.is_empty() { p { "No ledger account yet." } }
            @else {
                div.scroll tabindex="0" { table {
                    thead { tr { th { "Supplier" } th { "Distributor" } th { "Balance" } th { "Credit terms" } th { "Credit used" } th { "Available" } th { "Reconciliation" } } }
                    tbody {
                        @for (row, ledger) in rows.iter().zip(ledgers.iter()) {
                            @let (key, name) = counterpart(&session, row);
                            tr {
                                td { (text(row, "supplier")) }
                                td { (text(row, "distributor")) }
                                td.num { strong { (text(row, "balance")) } " " (text(row, "currency")) }
                                td { @if row.get("credit_enabled") == Some(&Value::Bool(true)) { "on, limit " (text(row, "credit_limit")) } @else { "off" } }
                                td.num { (text(row, "credit_used")) }
                                td.num { (text(row, "available")) }
                                td {
                                    (layout::shown(ledger, |value| Reconciled::of(row, list(value, "transactions")).show()))
                                    " "
                                    a href=(link("/transactions", &[(key, name)])) { "Transactions" span.hidden { " with " (name) } }
                                }
                            }
                        }
                    }
                } }
            }
        }))
        @if let Some(pages) = pages {
            (pages.nav(|page| link("/balances", &[("page", &page.to_string())])))
        }
    };
    layout::respond(
        StatusCode::OK,
        layout::page(
            &console,
            &session,
            "Balances and reconciliation",
            "/balances",
            body,
        ),
    )
}

/// `GET /transactions?supplier=|distributor=&page=`.
pub(crate) async fn transactions(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let session = match session::require(&console, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let query = Fields::query(&uri);
    let (key, name) = match (query.filled("supplier"), query.filled("distributor")) {
        (Some(supplier), _) => ("supplier", supplier.to_owned()),
        (None, Some(distributor)) => ("distributor", distributor.to_owned()),
        (None, None) => ("", String::new()),
    };
    let args = if key.is_empty() {
        json!({})
    } else {
        json!({ key: name })
    };
    let answers = call::run(
        &console,
        &session.owner,
        vec![
            call::command("transactions", args),
            call::command("balances", json!({})),
        ],
    )
    .await;
    let answer = answers.first().cloned().unwrap_or(Ok(Value::Null));
    let balance = answers
        .get(1)
        .and_then(|answer| answer.as_ref().ok())
        .and_then(|value| {
            list(value, "balances")
                .iter()
                .find(|row| !key.is_empty() && str_of(row, key) == name)
                .cloned()
        });
    let body = html! {
        (layout::shown(&answer, |value| {
            let items = list(value, "transactions");
            let (rows, pages) = Pages::slice(items, query.page());
            html! {
                @if let Some(balance) = &balance {
                    p { "Balance " strong { (text(balance, "balance")) " " (text(balance, "currency")) } ". " (Reconciled::of(balance, items).show()) "." }
                }
                @if items.is_empty() { p { "No transaction." } }
                @else {
                    div.scroll tabindex="0" { table {
                        thead { tr { th { "Transaction" } th { "At" } th { "Type" } th { "Order" } th { "Amount" } th { "Balance after" } th { "Note" } } }
                        tbody {
                            @for row in rows {
                                tr {
                                    td { code { (text(row, "txn_id")) } }
                                    td { (text(row, "at")) }
                                    td { (text(row, "type")) }
                                    td { (text(row, "order")) }
                                    td.num { (text(row, "amount")) " " (text(row, "currency")) }
                                    td.num { (text(row, "balance_after")) }
                                    td { (text(row, "note")) }
                                }
                            }
                        }
                    } }
                    (pages.nav(|page| link("/transactions", &[(key, &name), ("page", &page.to_string())])))
                }
            }
        }))
    };
    let title = if key.is_empty() {
        "Transactions".to_owned()
    } else {
        format!("Transactions with {name}")
    };
    layout::respond(
        StatusCode::OK,
        layout::page(&console, &session, &title, "/balances", body),
    )
}
