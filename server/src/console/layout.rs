//! The page frame (title, navigation, who is signed in, sign out), the answers every page shares
//! (a refusal with its code, the CSRF refusal, redirects) and the pieces of pages: tables' pages,
//! action forms, values.

use axum::http::{
    header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION},
    HeaderName, HeaderValue, StatusCode,
};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use serde_json::Value;

use super::{
    call::{Answer, Refusal},
    csrf, form,
    session::Session,
    Console,
};

/// Rows on one page of a long list.
pub(crate) const PAGE_ROWS_MAX: usize = 50;

/// What a refused form says.
pub(crate) const CSRF_REFUSED: &str =
    "the form's security token is missing or does not belong to this session: nothing was changed";

/// The sections of the navigation: (heading, [(path, label)]).
const NAVIGATION: &[(&str, &[(&str, &str)])] = &[
    (
        "Distributor",
        &[
            ("/suppliers", "My suppliers"),
            ("/products", "Products"),
            ("/orders", "Orders"),
            ("/balances", "Balances"),
        ],
    ),
    (
        "Supplier",
        &[
            ("/applications", "Applications"),
            ("/partners", "Partners"),
            ("/catalog", "Catalog"),
            ("/orders?state=pushed", "Orders to ship"),
            ("/orders?state=withdrawal_requested", "Withdrawals"),
        ],
    ),
    ("Rules", &[("/rules", "Rule pack")]),
];

/// A whole page: `title` is its one `h1`; `current` the navigation entry it is.
pub(crate) fn page(
    console: &Console,
    session: &Session,
    title: &str,
    current: &str,
    body: Markup,
) -> Markup {
    frame(
        title,
        html! {
            header.top {
                a.brand href="/" { "Distributary" }
                p.who { "Signed in as " strong { (session.who()) } }
                form method="post" action="/sign-out" {
                    (csrf_field(console, session))
                    button type="submit" { "Sign out" }
                }
            }
            nav aria-label="Console" {
                @for (heading, entries) in NAVIGATION {
                    div.navgroup {
                        span.navhead { (heading) }
                        ul {
                            @for (path, label) in *entries {
                                li {
                                    a href=(path) aria-current=[(*path == current).then_some("page")] { (label) }
                                }
                            }
                        }
                    }
                }
            }
            main id="main" {
                h1 { (title) }
                (body)
            }
        },
    )
}

/// The document around a page's content.
fn frame(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Distributary" }
                link rel="stylesheet" href="/console.css";
            }
            body {
                a.skip href="#main" { "Skip to content" }
                (content)
            }
        }
    }
}

/// The sign-in page, with why the last attempt was refused.
pub(crate) fn sign_in(refused: Option<(&str, &str)>) -> Markup {
    frame(
        "Sign in",
        html! {
            main id="main" .narrow {
                h1 { "Sign in to Distributary" }
                @if let Some((code, message)) = refused {
                    (alert(code, message))
                }
                form method="post" action="/sign-in" {
                    label for="token" { "API token" }
                    input id="token" name="token" type="password" autocomplete="off" required;
                    p.hint { "A token made with " code { "create_token" } " or "
                        code { "distributary token create" } ". It is kept in a cookie of this browser only." }
                    button type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// A refusal as the page shows it: the engine's message and its stable code.
pub(crate) fn alert(code: &str, message: &str) -> Markup {
    html! {
        div.alert role="alert" {
            p { (message) }
            p { "Code: " code { (code) } }
        }
    }
}

/// The answer to a refused form: every refusal, the status of the first one's code.
pub(crate) fn refused(
    console: &Console,
    session: &Session,
    refusals: &[Refusal],
    back: &str,
) -> Response {
    let status = refusals
        .first()
        .and_then(|refusal| distributary::Code::parse(&refusal.code))
        .map_or(StatusCode::UNPROCESSABLE_ENTITY, crate::http::status_of);
    let body = html! {
        @for refusal in refusals { (alert(&refusal.code, &refusal.message)) }
        p { "Nothing else was changed. " a href=(back) { "Back" } }
    };
    respond(
        status,
        page(console, session, "The command was refused", "", body),
    )
}

/// 403: a form without its CSRF token, or a sign-in from another site.
pub(crate) fn forbidden(signed: Option<(&Console, &Session)>, why: &str) -> Response {
    let body = html! {
        (alert("permission_denied", why))
        p { a href="/" { "Back to the console" } }
    };
    let markup = match signed {
        Some((console, session)) => page(console, session, "Refused", "", body),
        None => frame(
            "Refused",
            html! { main id="main" { h1 { "Refused" } (body) } },
        ),
    };
    respond(StatusCode::FORBIDDEN, markup)
}

/// An HTML answer with the console's headers: no caching, no framing, no other origin.
pub(crate) fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (
        status,
        [(CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response();
    secure(&mut response);
    response
}

/// `303 See Other` to a page of the console.
pub(crate) fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(LOCATION, location);
    }
    secure(&mut response);
    response
}

fn secure(response: &mut Response) {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The hidden CSRF field of a form.
pub(crate) fn csrf_field(console: &Console, session: &Session) -> Markup {
    html! { input type="hidden" name=(csrf::FIELD) value=(session.csrf(console)); }
}

/// A form that sends one command through `POST /act`: the hidden fields, the visible `controls`
/// and a submit button; afterwards the browser comes back to `back`.
pub(crate) fn action(
    console: &Console,
    session: &Session,
    cmd: &str,
    back: &str,
    hidden: &[(&str, &str)],
    controls: Markup,
    button: Markup,
) -> Markup {
    html! {
        form.inline method="post" action="/act" {
            (csrf_field(console, session))
            input type="hidden" name="cmd" value=(cmd);
            input type="hidden" name="back" value=(back);
            @for (name, value) in hidden {
                input type="hidden" name=(name) value=(value);
            }
            (controls)
            button type="submit" { (button) }
        }
    }
}

/// The notice after a form's command succeeded (`done=<cmd>` in the page's address).
pub(crate) fn done(fields: &form::Fields) -> Markup {
    let cmd = fields
        .get("done")
        .filter(|cmd| super::actions::is_action(cmd));
    html! {
        @if let Some(cmd) = cmd {
            p.done role="status" { "Done: " code { (cmd) } "." }
        }
    }
}

/// One page of a long list, and the links to the others.
pub(crate) struct Pages {
    pub page: usize,
    pub count: usize,
    pub rows: usize,
}

impl Pages {
    /// The rows of `page` (1-based; past the end: the last page).
    pub(crate) fn slice<T>(items: &[T], page: usize) -> (&[T], Pages) {
        let count = items.len().div_ceil(PAGE_ROWS_MAX).max(1);
        let page = page.min(count);
        let start = (page - 1) * PAGE_ROWS_MAX;
        let end = (start + PAGE_ROWS_MAX).min(items.len());
        (
            &items[start.min(end)..end],
            Pages {
                page,
                count,
                rows: items.len(),
            },
        )
    }

    /// The pager: `link(n)` is the address of page `n`.
    pub(crate) fn nav(&self, link: impl Fn(usize) -> String) -> Markup {
        html! {
            @if self.count > 1 {
                nav.pager aria-label="Pages" {
                    @if self.page > 1 { a href=(link(self.page - 1)) rel="prev" { "Previous" } }
                    span { "Page " (self.page) " of " (self.count) " (" (self.rows) " rows)" }
                    @if self.page < self.count { a href=(link(self.page + 1)) rel="next" { "Next" } }
                }
            }
        }
    }
}

/// An answer's content, or its refusal (message and code) in its place.
pub(crate) fn shown(answer: &Answer, content: impl FnOnce(&Value) -> Markup) -> Markup {
    match answer {
        Ok(value) => content(value),
        Err(refusal) => alert(&refusal.code, &refusal.message),
    }
}

/// The address of the page a request asked for (where a form comes back to).
pub(crate) fn here(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| "/".to_owned(), |path| path.as_str().to_owned())
}

/// A value of an answer as text: strings as they are, `null` as a dash.
pub(crate) fn text(value: &Value, key: &str) -> String {
    match value.get(key) {
        None | Some(Value::Null) => "—".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map_or_else(|| item.to_string(), str::to_owned)
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// A string of an answer, or empty.
pub(crate) fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The items of an answer's list.
pub(crate) fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_cut_into_pages_and_a_page_past_the_end_is_the_last() {
        let items: Vec<usize> = (0..120).collect();
        let (rows, pages) = Pages::slice(&items, 3);
        assert_eq!((rows.len(), rows[0], pages.count), (20, 100, 3));
        let (rows, pages) = Pages::slice(&items, 9);
        assert_eq!((rows[0], pages.page), (100, 3));
        let (rows, pages) = Pages::slice::<usize>(&[], 1);
        assert_eq!((rows.len(), pages.count), (0, 1));
    }
}
