//! The distributor's pages: My suppliers (status, reason, warehouses, notes; binding with an
//! invitation link) and the product tabs (claimed, unclaimed, expired: claim in bulk, stop,
//! remove).

use std::sync::Arc;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::Response,
};
use maud::{html, Markup};
use serde_json::json;

use super::{
    call,
    form::{link, Fields},
    layout::{self, text, Pages},
    session::{self, Session},
    Console,
};

/// The product tabs a distributor sees.
const TABS: &[(&str, &str)] = &[
    ("claimed", "Claimed"),
    ("unclaimed", "Unclaimed"),
    ("expired", "Expired"),
];

/// `GET /suppliers`.
pub(crate) async fn suppliers(
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
    let answer = call::one(&console, &session.owner, "suppliers", json!({})).await;
    let body = html! {
        (layout::done(&query))
        section aria-labelledby="bind" {
            h2 id="bind" { "Bind a supplier" }
            (layout::action(&console, &session, "bind_supplier", &here, &[], html! {
                label for="link" { "Invitation link" }
                input id="link" name="link" required;
                label for="bind-note" { "Note (optional)" }
                input id="bind-note" name="note";
            }, html! { "Bind" }))
        }
        section aria-labelledby="list" {
            h2 id="list" { "Suppliers" }
            (layout::shown(&answer, |value| {
                let items = layout::list(value, "suppliers");
                let (rows, pages) = Pages::slice(items, query.page());
                html! {
                    @if items.is_empty() { p { "No supplier yet: bind one with its invitation link." } }
                    @else {
                        div.scroll tabindex="0" { table {
                            thead { tr { th { "Supplier" } th { "Status" } th { "Reason" } th { "Warehouses" } th { "Note" } } }
                            tbody {
                                @for (index, row) in rows.iter().enumerate() {
                                    tr {
                                        td { (text(row, "supplier")) }
                                        td { span.state { (text(row, "status")) } }
                                        td { (text(row, "reason")) }
                                        td { (text(row, "warehouses")) }
                                        td { (note_form(&console, &session, &here, index, row)) }
                                    }
                                }
                            }
                        } }
                        (pages.nav(|page| link("/suppliers", &[("page", &page.to_string())])))
                    }
                }
            }))
        }
    };
    layout::respond(
        StatusCode::OK,
        layout::page(&console, &session, "My suppliers", "/suppliers", body),
    )
}

/// The note on one supplier, editable in place.
fn note_form(
    console: &Console,
    session: &Session,
    here: &str,
    index: usize,
    row: &serde_json::Value,
) -> Markup {
    let supplier = layout::str_of(row, "supplier");
    let id = format!("note-{index}");
    layout::action(
        console,
        session,
        "set_supplier_note",
        here,
        &[("supplier", supplier)],
        html! {
            label.hidden for=(id) { "Note on " (supplier) }
            input id=(id) name="note" value=(layout::str_of(row, "note"));
        },
        html! { "Save note" span.hidden { " on " (supplier) } },
    )
}

/// `GET /products?tab=`.
pub(crate) async fn products(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let session = match session::require(&console, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let query = Fields::query(&uri);
    let tab = query
        .get("tab")
        .and_then(|tab| TABS.iter().find(|(name, _)| *name == tab))
        .map_or("claimed", |(name, _)| name);
    let here = layout::here(&uri);
    let answer = call::one(&console, &session.owner, "products", json!({"tab": tab})).await;
    let body = html! {
        (layout::done(&query))
        nav.tabs aria-label="Product tabs" {
            ul { @for (name, label) in TABS {
                li { a href=(link("/products", &[("tab", name)])) aria-current=[(*name == tab).then_some("page")] { (label) } }
            } }
        }
        (layout::shown(&answer, |value| {
            let items = layout::list(value, "products");
            let (rows, pages) = Pages::slice(items, query.page());
            let pager = pages.nav(|page| link("/products", &[("tab", tab), ("page", &page.to_string())]));
            match tab {
                "unclaimed" => unclaimed(&console, &session, &here, rows, pager),
                _ => claims(&console, &session, &here, tab, rows, pager),
            }
        }))
    };
    layout::respond(
        StatusCode::OK,
        layout::page(
            &console,
            &session,
            "My distribution products",
            "/products",
            body,
        ),
    )
}

/// The unclaimed tab: one form, a box per product, claimed in bulk.
fn unclaimed(
    console: &Console,
    session: &Session,
    here: &str,
    rows: &[serde_json::Value],
    pager: Markup,
) -> Markup {
    if rows.is_empty() {
        return html! { p { "Nothing to claim: every product visible to you is claimed, or no supplier is partnered." } };
    }
    html! {
        form method="post" action="/act" {
            (layout::csrf_field(console, session))
            input type="hidden" name="cmd" value="claim";
            input type="hidden" name="back" value=(here);
            div.scroll tabindex="0" { table {
                thead { tr { th { "Claim" } th { "Supplier" } th { "SKU" } th { "Name" } th { "Price" } th { "Stock" } } }
                tbody {
                    @for (index, row) in rows.iter().enumerate() {
                        @let id = format!("claim-{index}");
                        @let value = json!([layout::str_of(row, "supplier"), layout::str_of(row, "sku")]).to_string();
                        tr {
                            td {
                                input type="checkbox" id=(id) name="item" value=(value);
                                label.hidden for=(id) { "Claim " (text(row, "sku")) " of " (text(row, "supplier")) }
                            }
                            td { (text(row, "supplier")) }
                            td { (text(row, "sku")) }
                            td { (text(row, "name")) }
                            td.num { (text(row, "price")) " " (text(row, "currency")) }
                            td.num { (text(row, "stock")) }
                        }
                    }
                }
            } }
            button type="submit" { "Claim selected" }
        }
        (pager)
    }
}

/// The claimed and expired tabs: a claim per row, stopped or removed by its local SKU.
fn claims(
    console: &Console,
    session: &Session,
    here: &str,
    tab: &str,
    rows: &[serde_json::Value],
    pager: Markup,
) -> Markup {
    if rows.is_empty() {
        return html! { p { "No " (tab) " product." } };
    }
    let (cmd, verb) = if tab == "expired" {
        ("remove_expired", "Remove")
    } else {
        ("stop_distribution", "Stop distribution")
    };
    html! {
        div.scroll tabindex="0" { table {
            thead { tr { th { "Supplier" } th { "SKU" } th { "Local SKU" } th { "Name" } th { "Price" } th { "Cost" } th { "Stock" } th { "Actions" } } }
            tbody {
                @for row in rows {
                    @let local = layout::str_of(row, "local_sku");
                    tr {
                        td { (text(row, "supplier")) }
                        td { (text(row, "sku")) }
                        td { (text(row, "local_sku")) }
                        td { (text(row, "name")) }
                        td.num { (text(row, "price")) " " (text(row, "currency")) }
                        td.num { (text(row, "cost")) " " (text(row, "cost_currency")) }
                        td.num { (text(row, "stock")) }
                        td {
                            a href=(link("/price-history", &[("sku", local)])) { "Prices" span.hidden { " of " (local) } }
                            " "
                            (layout::action(console, session, cmd, here, &[("sku", local)], html! {}, html! { (verb) span.hidden { " of " (local) } }))
                        }
                    }
                }
            }
        } }
        (pager)
    }
}
