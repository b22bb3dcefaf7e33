//! The rule author's page: the pack in force (`rules_version`: its version and when it was
//! loaded) and each of its workflows drawn (`graph`), with every transition as a table.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use maud::{html, PreEscaped};
use serde_json::json;

use super::{call, graph, layout, session, Console};

/// `GET /rules`.
pub(crate) async fn page(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let session = match session::require(&console, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let version = call::one(&console, &session.owner, "rules_version", json!({})).await;
    // The pack's workflows are the same for every account (as `rules_version` is); reading
    // them touches no store.
    let workflows = console.http.engine.workflows();
    let body = html! {
        (layout::shown(&version, |version| html! {
            dl.facts {
                dt { "Version" } dd { code { (layout::text(version, "version")) } }
                dt { "Loaded" } dd { (layout::text(version, "loaded_at")) }
            }
            p.hint { "Every transition an entity makes records this version; a reload (SIGHUP, or "
                code { "reload_rules" } " with a system token) installs a new pack only when the live entities fit it." }
        }))
        @for (index, workflow) in workflows.iter().enumerate() {
            @let heading = format!("workflow-{index}");
            section aria-labelledby=(heading) {
                h2 id=(heading) { (workflow.name()) }
                p { (workflow.states().len()) " states; starts in " code { (workflow.initial()) }
                    "; ends in " (workflow.terminal().join(", ")) " (double border). File " code { (workflow.path()) } "." }
                div.scroll tabindex="0" { (PreEscaped(graph::svg(workflow, index))) }
                details {
                    summary { "Mermaid and DOT source (the engine's export, as " code { "distributary graph" } " prints it)" }
                    pre tabindex="0" { (workflow.to_mermaid()) }
                    pre tabindex="0" { (workflow.to_dot()) }
                }
                div.scroll tabindex="0" { table {
                    caption { "Transitions of " (workflow.name()) }
                    thead { tr { th { "Event" } th { "From" } th { "To" } th { "By" } th { "Guards" } th { "Effects" } } }
                    tbody {
                        @for transition in workflow.transitions() {
                            tr {
                                td { (transition.event()) }
                                td { (transition.from().join(", ")) }
                                td { (transition.to()) }
                                td { (transition.by().map_or_else(|| "any".to_owned(), |by| by.to_string())) }
                                td { (transition.guards().iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) }
                                td { (transition.effects().join(", ")) }
                            }
                        }
                    }
                } }
            }
        }
    };
    layout::respond(
        StatusCode::OK,
        layout::page(&console, &session, "Rule pack", "/rules", body),
    )
}
