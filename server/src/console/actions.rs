//! `POST /act`: a console form turned into commands. The form names its command (`cmd`); the
//! table below says which commands a form may send and how each field becomes an argument. The
//! CSRF token is checked first: without the session's, nothing runs. The engine decides the
//! rest (who may send it, whether the entity allows it); its refusal is shown with its code.

use std::{collections::BTreeMap, sync::Arc};

use axum::{body::Bytes, extract::State, http::HeaderMap, response::Response};
use serde_json::{Map, Value};

use super::{
    call::{self, Refusal},
    form::Fields,
    layout, session, Console,
};

/// How a form field becomes an argument.
#[derive(Clone, Copy)]
enum Field {
    /// Sent as it is (the engine says when it is missing or wrong).
    Text(&'static str),
    /// Left out when blank.
    Optional(&'static str),
    /// `true` when the field is `true` (a checkbox, or the button pressed), else `false`.
    Flag(&'static str),
    /// A comma-separated list.
    List(&'static str),
}

use Field::{Flag, List, Optional, Text};

/// The commands a console form may send, and their fields.
const ACTIONS: &[(&str, &[Field])] = &[
    // The distributor's.
    ("bind_supplier", &[Text("link"), Optional("note")]),
    ("set_supplier_note", &[Text("supplier"), Text("note")]),
    ("stop_distribution", &[Text("sku")]),
    ("remove_expired", &[Text("sku")]),
    ("pack", &[Text("order"), Optional("warehouse")]),
    ("push", &[Text("order")]),
    ("withdraw", &[Text("order")]),
    ("refresh", &[Text("order")]),
    // The supplier's.
    (
        "review_partnership",
        &[Text("distributor"), Flag("approve"), Optional("reason")],
    ),
    (
        "add_balance",
        &[Text("distributor"), Text("amount"), Optional("note")],
    ),
    (
        "deduct_balance",
        &[Text("distributor"), Text("amount"), Optional("note")],
    ),
    (
        "set_credit",
        &[Text("distributor"), Flag("enabled"), Text("limit")],
    ),
    ("create_invitation", &[List("warehouses")]),
    (
        "publish_product",
        &[Text("sku"), Text("name"), Text("price")],
    ),
    ("set_price", &[Text("sku"), Text("price")]),
    ("set_distribution", &[Text("sku"), Flag("enabled")]),
    (
        "ship_order",
        &[
            Text("order"),
            Optional("distributor"),
            Optional("tracking_no"),
        ],
    ),
    ("confirm_pickup", &[Text("order"), Optional("distributor")]),
    (
        "review_withdrawal",
        &[
            Text("order"),
            Optional("distributor"),
            Flag("approve"),
            Optional("reason"),
        ],
    ),
];

/// The bulk claim: `item` fields, each `[supplier, sku]` as JSON; one `claim` per supplier.
const CLAIM: &str = "claim";

/// Whether `cmd` is one a console form sends.
pub(crate) fn is_action(cmd: &str) -> bool {
    cmd == CLAIM || ACTIONS.iter().any(|(name, _)| *name == cmd)
}

/// `POST /act`.
pub(crate) async fn act(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let session = match session::require(&console, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let fields = Fields::parse(&body);
    if !session.form_is_ours(&console, &fields) {
        return layout::forbidden(Some((&console, &session)), layout::CSRF_REFUSED);
    }
    let back = back(fields.get("back"));
    let cmd = fields.get("cmd").unwrap_or_default();
    let commands = match commands(cmd, &fields) {
        Ok(commands) => commands,
        Err(refusal) => return layout::refused(&console, &session, &[refusal], &back),
    };
    let answers = call::run(&console, &session.owner, commands).await;
    let mut results = Vec::new();
    let mut refusals = Vec::new();
    for answer in answers {
        match answer {
            Ok(result) => results.push(result),
            Err(refusal) => refusals.push(refusal),
        }
    }
    if !refusals.is_empty() {
        return layout::refused(&console, &session, &refusals, &back);
    }
    if cmd == "create_invitation" {
        return invitation(&console, &session, results.first(), &back);
    }
    layout::redirect(&with_done(&back, cmd))
}

/// The commands a form sends.
fn commands(cmd: &str, fields: &Fields) -> Result<Vec<Value>, Refusal> {
    if cmd == CLAIM {
        return claims(fields);
    }
    let Some((_, spec)) = ACTIONS.iter().find(|(name, _)| *name == cmd) else {
        return Err(bad(format!("the console sends no command {cmd:?}")));
    };
    let mut args = Map::new();
    for field in *spec {
        let (name, value) = match *field {
            Text(name) => (name, fields.get(name).map(|v| Value::from(v.trim()))),
            Optional(name) => (name, fields.filled(name).map(|v| Value::from(v.trim()))),
            Flag(name) => (name, Some(Value::Bool(fields.get(name) == Some("true")))),
            List(name) => (
                name,
                Some(Value::Array(
                    fields
                        .get(name)
                        .unwrap_or_default()
                        .split(',')
                        .map(str::trim)
                        .filter(|item| !item.is_empty())
                        .map(Value::from)
                        .collect(),
                )),
            ),
        };
        if let Some(value) = value {
            args.insert(name.to_owned(), value);
        }
    }
    Ok(vec![call::command(cmd, Value::Object(args))])
}

/// A bulk claim: the boxes ticked, grouped by supplier.
fn claims(fields: &Fields) -> Result<Vec<Value>, Refusal> {
    let mut by_supplier: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in fields.all("item") {
        let Ok((supplier, sku)) = serde_json::from_str::<(String, String)>(item) else {
            return Err(bad(format!("not a product: {item:?}")));
        };
        by_supplier.entry(supplier).or_default().push(sku);
    }
    if by_supplier.is_empty() {
        return Err(bad("tick at least one product to claim".to_owned()));
    }
    Ok(by_supplier
        .into_iter()
        .map(|(supplier, skus)| {
            call::command(
                CLAIM,
                serde_json::json!({"supplier": supplier, "skus": skus}),
            )
        })
        .collect())
}

fn bad(message: String) -> Refusal {
    Refusal {
        code: "bad_request".to_owned(),
        message,
    }
}

/// Where to go after the form: a path of the console, never another site.
fn back(given: Option<&str>) -> String {
    match given {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// `back` with `done=<cmd>`, the notice the page shows.
fn with_done(back: &str, cmd: &str) -> String {
    let (path, query) = back.split_once('?').unwrap_or((back, ""));
    let done = format!("done={cmd}");
    let mut kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("done="))
        .collect();
    kept.push(&done);
    format!("{path}?{}", kept.join("&"))
}

/// The new invitation's link, shown once: the supplier sends it to the distributor.
fn invitation(
    console: &Console,
    session: &session::Session,
    result: Option<&Value>,
    back: &str,
) -> Response {
    let result = result.cloned().unwrap_or(Value::Null);
    let body = maud::html! {
        p role="status" { "Send this link to the distributor; it binds with it on its My suppliers page." }
        dl {
            dt { "Link" } dd { code { (layout::text(&result, "link")) } }
            dt { "Expires" } dd { (layout::text(&result, "expires_at")) }
            dt { "Warehouses" } dd { (layout::text(&result, "warehouses")) }
        }
        p { a href=(back) { "Back" } }
    };
    layout::respond(
        axum::http::StatusCode::OK,
        layout::page(console, session, "Invitation created", "", body),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_becomes_its_command_and_nothing_else() {
        let fields = Fields::parse(b"cmd=review_partnership&distributor=dis&approve=true&reason=");
        let made = commands("review_partnership", &fields).unwrap();
        assert_eq!(
            made[0],
            serde_json::json!({"cmd": "review_partnership", "args": {"distributor": "dis", "approve": true}})
        );
        assert!(commands("create_account", &fields).is_err());
        let claims = Fields::parse(
            br#"item=%5B%22s1%22%2C%22A%22%5D&item=%5B%22s2%22%2C%22B%22%5D&item=%5B%22s1%22%2C%22C%22%5D"#,
        );
        let made = commands("claim", &claims).unwrap();
        assert_eq!(made.len(), 2);
        assert_eq!(made[0]["args"]["skus"], serde_json::json!(["A", "C"]));
        assert!(commands("claim", &Fields::default()).is_err());
    }

    #[test]
    fn the_way_back_stays_on_the_console() {
        assert_eq!(back(Some("/orders?state=packed")), "/orders?state=packed");
        for elsewhere in ["//evil.example", "https://evil.example", "/\\evil", ""] {
            assert_eq!(back(Some(elsewhere)), "/");
        }
        assert_eq!(with_done("/orders", "push"), "/orders?done=push");
        assert_eq!(
            with_done("/orders?state=packed&done=pack", "push"),
            "/orders?state=packed&done=push"
        );
    }
}
