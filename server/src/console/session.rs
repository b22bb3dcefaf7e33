//! Signing in and out. The session is the API token itself, kept by the browser in an
//! `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's request carries it),
//! `Path=/` cookie; every request hands it to the engine again (`Engine::authenticate`), so a
//! revoked token signs the browser out at its next click. The cookie is not `Secure`: `serve`
//! speaks plain HTTP, meant for loopback or behind a proxy that terminates TLS, and a browser
//! drops a `Secure` cookie set over plain HTTP; a proxy serving HTTPS may add the attribute.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::State,
    http::{
        header::{COOKIE, SET_COOKIE},
        HeaderMap, HeaderValue, StatusCode,
    },
    response::Response,
};
use distributary::{access::TokenOwner, Code, Error};

use super::{csrf, form::Fields, layout, Console};

/// The cookie's name.
const COOKIE_NAME: &str = "dst_console";
/// The longest token read from a cookie or the sign-in form (a real one is about 90 characters).
const TOKEN_CHARS_MAX: usize = 256;

/// A signed-in browser: the token's owner and the token its forms are bound to.
pub(crate) struct Session {
    pub owner: TokenOwner,
    token: String,
}

impl Session {
    /// The CSRF token of this session's forms.
    pub(crate) fn csrf(&self, console: &Console) -> String {
        console.csrf.token(&self.token)
    }

    /// Whether a form's CSRF field belongs to this session.
    pub(crate) fn form_is_ours(&self, console: &Console, fields: &Fields) -> bool {
        console.csrf.verify(&self.token, fields.get(csrf::FIELD))
    }

    /// Who is signed in, as the page header says it.
    pub(crate) fn who(&self) -> String {
        match &self.owner.user {
            Some(user) => format!("{} (user {user})", self.owner.account),
            None => self.owner.account.clone(),
        }
    }
}

/// Who is asking.
pub(crate) enum Visitor {
    /// A cookie the engine accepts.
    Signed(Session),
    /// No cookie.
    Anonymous,
    /// A cookie the engine refuses (revoked, tampered with): the browser is signed out.
    Refused(Error),
}

/// Reads the session cookie and asks the engine whose token it is.
pub(crate) async fn visitor(console: &Console, headers: &HeaderMap) -> Visitor {
    let Some(token) = cookie(headers) else {
        return Visitor::Anonymous;
    };
    match authenticate(console, token.clone()).await {
        Ok(owner) => Visitor::Signed(Session { owner, token }),
        Err(error) => Visitor::Refused(error),
    }
}

/// The session of a page that needs one; a browser without one is sent to sign in.
pub(crate) async fn require(console: &Console, headers: &HeaderMap) -> Result<Session, Response> {
    match visitor(console, headers).await {
        Visitor::Signed(session) => Ok(session),
        Visitor::Anonymous => Err(layout::redirect("/")),
        Visitor::Refused(error) => Err(signed_out(&error)),
    }
}

/// The sign-in page for a browser whose cookie was refused: 401, and the cookie cleared.
pub(crate) fn signed_out(error: &Error) -> Response {
    let mut response = layout::respond(
        StatusCode::UNAUTHORIZED,
        layout::sign_in(Some((
            error.code().as_str(),
            "the session's token is no longer accepted: sign in again",
        ))),
    );
    clear(&mut response);
    response
}

/// `POST /sign-in`: the token of the form, checked by the engine, becomes the session cookie.
pub(crate) async fn sign_in(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if cross_site(&headers) {
        return layout::forbidden(None, "a sign-in from another site is refused");
    }
    let fields = Fields::parse(&body);
    let token = fields.get("token").unwrap_or_default().trim().to_owned();
    let refused = |code: Code, message: &str| {
        layout::respond(
            crate::http::status_of(code),
            layout::sign_in(Some((code.as_str(), message))),
        )
    };
    if token.is_empty() {
        return refused(Code::Unauthenticated, "enter an API token");
    }
    if !cookie_safe(&token) {
        return refused(Code::Unauthenticated, "this is not a valid token");
    }
    if let Err(error) = authenticate(&console, token.clone()).await {
        return refused(error.code(), error.message());
    }
    let mut response = layout::redirect("/");
    let value = format!("{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/");
    match HeaderValue::from_str(&value) {
        Ok(value) => {
            response.headers_mut().append(SET_COOKIE, value);
            response
        }
        Err(_) => refused(Code::Unauthenticated, "this is not a valid token"),
    }
}

/// `POST /sign-out`: clears the cookie (a form like any other: its CSRF token is checked).
pub(crate) async fn sign_out(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let session = match require(&console, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    if !session.form_is_ours(&console, &Fields::parse(&body)) {
        return layout::forbidden(Some((&console, &session)), layout::CSRF_REFUSED);
    }
    let mut response = layout::redirect("/");
    clear(&mut response);
    response
}

/// Tells the browser to forget the session cookie.
fn clear(response: &mut Response) {
    response.headers_mut().append(
        SET_COOKIE,
        HeaderValue::from_static("dst_console=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/"),
    );
}

/// The session cookie's value, if the request carries one.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// A token that can travel in a cookie as it is (a real one is `dst_<hex>_<hex>`).
fn cookie_safe(token: &str) -> bool {
    token.len() <= TOKEN_CHARS_MAX
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether the request came from another site: as the browser says it (`Sec-Fetch-Site`), or,
/// from a browser that does not say, by an `Origin` that is not this server's `Host`.
fn cross_site(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return site == "cross-site";
    }
    match (header("origin"), header("host")) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            authority != host
        }
        _ => false,
    }
}

/// The engine's answer for a token, on a blocking thread.
async fn authenticate(console: &Console, token: String) -> Result<TokenOwner, Error> {
    if token.len() > TOKEN_CHARS_MAX {
        return Err(Error::new(Code::Unauthenticated, "not a token"));
    }
    let engine = console.http.engine.clone();
    tokio::task::spawn_blocking(move || engine.authenticate(&token))
        .await
        .map_err(|_| Error::new(Code::Internal, "authentication did not finish"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_only_by_its_name() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, "a=1; dst_console=dst_x_y; b=2".parse().unwrap());
        assert_eq!(cookie(&headers).as_deref(), Some("dst_x_y"));
        headers.insert(COOKIE, "xdst_console=1".parse().unwrap());
        assert_eq!(cookie(&headers), None);
        assert!(cookie_safe("dst_ab12_cd34"));
        assert!(!cookie_safe("dst; Path=/x"));
    }

    #[test]
    fn a_sign_in_from_another_origin_is_cross_site() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:8080".parse().unwrap());
        assert!(!cross_site(&headers));
        headers.insert("origin", "http://127.0.0.1:8080".parse().unwrap());
        assert!(!cross_site(&headers));
        headers.insert("origin", "http://evil.example".parse().unwrap());
        assert!(cross_site(&headers));
        headers.remove("origin");
        headers.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(cross_site(&headers));
    }
}
