//! `POST /rules/candidate`: a rule author tries a candidate pack (a directory on the server
//! machine) before reloading it. The live compatibility check (`lifecycle::check_store`: its rule
//! tests, then what a reload would do to the live entities) and the backtest
//! (`lifecycle::backtest`: the recorded decisions replayed, what each rule would decide
//! differently, the money delta) both open the store read only by its path, on a blocking
//! thread, never under the engine's lock; nothing is written. Only a system session may ask:
//! the form reads any directory the server can, as `distributary check --db` and `backtest` do on
//! the machine itself.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, response::Response};
use distributary::{
    flow::SYSTEM_ACTOR,
    lifecycle::{
        self,
        backtest::{Report, Total, Window},
        Installed, ReloadPlan,
    },
    pack::RulePack,
    Code, Error,
};
use maud::{html, Markup};
use serde_json::Value;

use super::{form::Fields, layout, session, session::Session, Console};

/// What a session that is not the system's is told.
const SYSTEM_ONLY: &str =
    "only a system session may try a candidate pack (it reads a directory on the server machine): nothing was done";

/// Whether the session acts as the system (the actor of `reload_rules`).
pub(crate) fn is_system(session: &Session) -> bool {
    session.owner.account == SYSTEM_ACTOR
}

/// The form, with what was asked last (empty on `/rules`).
pub(crate) fn form(console: &Console, session: &Session, asked: &Asked) -> Markup {
    html! {
        section aria-labelledby="candidate" {
            h2 id="candidate" { "Try a candidate pack" }
            p.hint { "The live compatibility check (what a reload would do to the live entities, as "
                code { "distributary check --db" } ") and a backtest of the store's recorded decisions (as "
                code { "distributary backtest" } "). Both read the store; nothing is installed or written." }
            form.candidate method="post" action="/rules/candidate" {
                (layout::csrf_field(console, session))
                label for="candidate-dir" { "Pack directory on the server machine" }
                input id="candidate-dir" name="dir" type="text" required value=(asked.dir) autocomplete="off";
                label for="candidate-since" { "Backtest since (RFC 3339, optional)" }
                input id="candidate-since" name="since" type="text" value=(asked.since) autocomplete="off";
                label for="candidate-until" { "Backtest until, excluded (RFC 3339, optional)" }
                input id="candidate-until" name="until" type="text" value=(asked.until) autocomplete="off";
                button type="submit" { "Check and backtest" }
            }
        }
    }
}

/// The form's fields.
#[derive(Default)]
pub(crate) struct Asked {
    dir: String,
    since: String,
    until: String,
}

impl Asked {
    /// The backtest window; a blank bound is open.
    fn window(&self) -> Window {
        let open = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        Window {
            since: open(&self.since),
            until: open(&self.until),
        }
    }
}

/// A migration a reload would make: (workflow, state left, state entered, entities).
type Move = (String, String, String, u64);

/// What the candidate does to the store.
struct Outcome {
    version: String,
    /// The check, with each migration's target state: (workflow, from, to, count).
    check: Result<(ReloadPlan, Vec<Move>), Error>,
    backtest: Result<Report, Error>,
}

/// `POST /rules/candidate`.
pub(crate) async fn try_pack(
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
    if !is_system(&session) {
        return layout::forbidden(Some((&console, &session)), SYSTEM_ONLY);
    }
    let field = |name: &str| fields.get(name).unwrap_or_default().trim().to_owned();
    let asked = Asked {
        dir: field("dir"),
        since: field("since"),
        until: field("until"),
    };
    let shown = if asked.dir.is_empty() {
        Err(Error::new(
            Code::BadRequest,
            "enter the candidate pack's directory",
        ))
    } else if let Some(store) = console.http.store_path.clone() {
        let dir = PathBuf::from(&asked.dir);
        let window = asked.window();
        tokio::task::spawn_blocking(move || evaluate(&store, &dir, &window))
            .await
            .unwrap_or_else(|e| {
                Err(Error::new(
                    Code::Internal,
                    format!("the check stopped: {e}"),
                ))
            })
    } else {
        Err(Error::new(
            Code::NotFound,
            "this server's store is in memory: the compatibility check and the backtest need a \
             store file or database (serve with --db FILE or --db postgres://...)",
        ))
    };
    let status = match &shown {
        Ok(_) => StatusCode::OK,
        Err(error) => crate::http::status_of(error.code()),
    };
    let body = html! {
        @match &shown {
            Ok(outcome) => (report(&asked, outcome)),
            Err(error) => (refusal(error)),
        }
        (form(&console, &session, &asked))
        p { a href="/rules" { "Back to the rule pack" } }
    };
    layout::respond(
        status,
        layout::page(&console, &session, "Candidate pack", "/rules", body),
    )
}

/// Reads, compiles, checks and backtests the pack at `dir` against the store at `store`.
fn evaluate(store: &Path, dir: &Path, window: &Window) -> Result<Outcome, Error> {
    let pack = RulePack::from_dir(dir).map_err(|e| {
        let code = if e.kind() == std::io::ErrorKind::NotFound {
            Code::NotFound
        } else {
            Code::BadRequest
        };
        Error::new(
            code,
            format!("cannot read rules from {}: {e}", dir.display()),
        )
    })?;
    let installed = Installed::compile(pack).map_err(|errors| errors.to_error())?;
    let check = lifecycle::check_store(store, &installed).map(|plan| {
        let mut moves = Vec::new();
        for (workflow, states) in &plan.migrated {
            for (from, count) in states {
                let to = installed
                    .workflows
                    .get(workflow)
                    .and_then(|w| w.migration(from))
                    .unwrap_or("?");
                moves.push((workflow.clone(), from.clone(), to.to_owned(), *count));
            }
        }
        (plan, moves)
    });
    let backtest = lifecycle::backtest(store, &installed, window, &mut |_, _| {});
    Ok(Outcome {
        version: installed.version().to_owned(),
        check,
        backtest,
    })
}

/// An error with its code and message, each diagnostic as `path:line:column`, and the stranded
/// states' counts.
fn refusal(error: &Error) -> Markup {
    let details = error.to_json();
    let diagnostics = layout::list(&details, "diagnostics");
    let mut stranded = Vec::new();
    if let Some(workflows) = details["states"].as_object() {
        for (workflow, states) in workflows {
            for (state, count) in states.as_object().into_iter().flatten() {
                stranded.push((workflow.clone(), state.clone(), count.to_string()));
            }
        }
    }
    html! {
        (layout::alert(error.code().as_str(), error.message()))
        @if !diagnostics.is_empty() {
            ul.diagnostics aria-label="Diagnostics" {
                @for d in diagnostics {
                    li { code { (location(d)) } ": " code { (layout::str_of(d, "code")) } ": " (layout::str_of(d, "message")) }
                }
            }
        }
        @if !stranded.is_empty() {
            div.scroll tabindex="0" { table {
                caption { "Live entities in states the pack does not declare" }
                thead { tr { th { "Workflow" } th { "State" } th { "Entities" } } }
                tbody { @for (workflow, state, count) in &stranded {
                    tr { td { (workflow) } td { code { (state) } } td { (count) } }
                } }
            } }
        }
    }
}

/// `path:line:column`, as editors link them.
fn location(diagnostic: &Value) -> String {
    format!(
        "{}:{}:{}",
        layout::str_of(diagnostic, "path"),
        diagnostic["line"],
        diagnostic["column"]
    )
}

/// The check and the backtest of a pack that compiled.
fn report(asked: &Asked, outcome: &Outcome) -> Markup {
    html! {
        dl.facts {
            dt { "Directory" } dd { code { (asked.dir) } }
            dt { "Candidate version" } dd { code { (outcome.version) } }
        }
        section aria-labelledby="compatibility" {
            h2 id="compatibility" { "Live compatibility check" }
            @match &outcome.check {
                Ok((plan, moves)) => {
                    p role="status" { "Compatible: a reload would install " code { (outcome.version) }
                        " (in force: " code { (plan.in_force.as_deref().unwrap_or("none")) } ")." }
                    @if moves.is_empty() {
                        p { "No live entity moves." }
                    } @else {
                        div.scroll tabindex="0" { table {
                            caption { "Live entities moved by " code { "migrate:" } }
                            thead { tr { th { "Workflow" } th { "From" } th { "To" } th { "Entities" } } }
                            tbody { @for (workflow, from, to, count) in moves {
                                tr { td { (workflow) } td { code { (from) } } td { code { (to) } } td { (count) } }
                            } }
                        } }
                    }
                }
                Err(error) => {
                    p { "A reload would refuse this pack." }
                    (refusal(error))
                }
            }
        }
        section aria-labelledby="backtest" {
            h2 id="backtest" { "Backtest" }
            @match &outcome.backtest {
                Ok(report) => (backtest(report)),
                Err(error) => (refusal(error)),
            }
        }
    }
}

/// The backtest's report, as `distributary backtest` prints it: counts, money delta, examples.
fn backtest(report: &Report) -> Markup {
    let rules = &report.rules;
    let totals: Vec<(String, String)> = match &report.money_delta.total {
        Total::One(total) => vec![(String::new(), total.clone())],
        Total::PerCurrency(totals) => totals
            .iter()
            .map(|(currency, total)| (currency.clone(), total.clone()))
            .collect(),
    };
    html! {
        p { "Orders replayed: " (report.orders) "." }
        @if report.skipped > 0 {
            p { (report.skipped) " orders skipped: pushed before decision inputs were recorded, nothing to replay." }
        }
        div.scroll tabindex="0" { table {
            caption { "Decisions the candidate would make differently, by rule" }
            thead { tr { th { "Rule" } th { "Orders changed" } } }
            tbody {
                tr { td { code { "fees" } } td { (rules.fees.changed) } }
                tr { td { code { "push_checks" } } td { (rules.push_checks.changed) } }
                tr { td { code { "allocate_warehouse" } } td { (rules.allocate_warehouse.changed) } }
            }
        } }
        div.scroll tabindex="0" { table {
            caption { "Money delta: what the new fees would have charged minus what was charged" }
            thead { tr { th { "Supplier" } th { "Distributor" } th { "Delta" } } }
            tbody {
                @for pair in &report.money_delta.by_pair {
                    tr { td { (pair.supplier) } td { (pair.distributor) } td.money-delta { (pair.delta) } }
                }
            }
            tfoot {
                @for (currency, total) in &totals {
                    tr { th scope="row" colspan="2" { "Total" @if !currency.is_empty() { " (" (currency) ")" } }
                        td.money-total { (total) } }
                }
            }
        } }
        @if !report.differences.is_empty() {
            div.scroll tabindex="0" { table {
                caption { "Examples of differences" }
                thead { tr { th { "Rule" } th { "Order" } th { "Supplier" } th { "Distributor" } th { "Was" } th { "Now" } } }
                tbody { @for d in &report.differences {
                    tr { td { code { (d.rule) } } td { (d.order) } td { (d.supplier) } td { (d.distributor) } td { (d.was) } td { (d.now) } }
                } }
            } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diagnostic_is_located_as_editors_link_it() {
        let d = serde_json::json!({"path": "scripts/fees.rhai", "line": 3, "column": 7});
        assert_eq!(location(&d), "scripts/fees.rhai:3:7");
    }

    #[test]
    fn blank_window_bounds_are_open() {
        let asked = Asked {
            dir: "x".to_owned(),
            since: String::new(),
            until: "2026-01-01T00:00:00Z".to_owned(),
        };
        let window = asked.window();
        assert_eq!(window.since, None);
        assert_eq!(window.until.as_deref(), Some("2026-01-01T00:00:00Z"));
    }
}
