//! How the engine reaches a marketplace's API: through the [`Transport`] a host sets for the
//! process ([`set_transport`]), else through the built-in client, a ureq agent compiled in with
//! the `http-client` feature (on by default). A host that brings its own HTTP stack turns the
//! feature off and sets its transport; with neither, `sync_orders` and `sync_stock` answer
//! `marketplace_error` (reason `no_http_client`) and nothing else changes.
//!
//! The built-in client sends an adapter's [`HttpRequest`] to a shop's base URL with timeouts, no
//! redirects (a redirect would carry the signed query, and its access token, to another host), a
//! cap on the answer's size, and a bounded retry with backoff for connection failures, timeouts,
//! 429 and 5xx answers. Its error texts are built from fixed words, the method and the path:
//! never from the URL, its query or the headers, which carry the shop's access token and
//! signature.

use std::sync::OnceLock;
use std::time::Duration;

use distributary_plugin::HttpRequest;

use crate::error::Error;

/// How long the built-in client may take to connect to a marketplace.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one exchange (connect, send, receive the whole answer) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times one request is tried before its failure is final.
pub const ATTEMPTS_MAX: u32 = 3;
/// The wait before the second attempt; it doubles for every further attempt.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(200);
/// The longest wait between two attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// The largest answer read from a marketplace; a bigger one is a marketplace error. Below the
/// plugin host's `ANSWER_BYTES_MAX`, since the answer is handed on to the adapter.
pub const RESPONSE_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// Why a request got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The marketplace answered with a status other than 2xx (after the retries, for 429 and
    /// 5xx); its body may say why, in the marketplace's own words.
    Status {
        /// The HTTP status.
        status: u16,
        /// The answer's body.
        body: String,
    },
    /// No answer: the connection failed, timed out, or the answer could not be read.
    Transport(String),
}

/// How a host sends the engine's marketplace requests with its own HTTP stack.
///
/// The transport owns the exchange: timeouts, retries, redirects (following one would carry
/// the signed query to another host) and a cap on the answer's size, as the built-in client's
/// constants show. The engine calls it from the thread running the command, holding no lock,
/// and masks the shop's credentials in any message it answers with.
pub trait Transport: Send + Sync {
    /// Sends `request` to `base_url` (no trailing `/`) followed by `request.path`, and answers
    /// the body of a 2xx answer.
    fn send(&self, base_url: &str, request: &HttpRequest) -> Result<String, SendError>;
}

/// The transport a host set for the process, if any.
static HOST_TRANSPORT: OnceLock<Box<dyn Transport>> = OnceLock::new();

/// [`set_transport`] was called when the process had a transport already.
#[derive(Debug, thiserror::Error)]
#[error("the process has a marketplace transport already; it is set once")]
pub struct TransportAlreadySet;

/// Sets the transport every engine of this process sends marketplace requests through, in place
/// of the built-in client. Set once, before the first sync (as a process sets its allocator or
/// its logger).
pub fn set_transport(transport: Box<dyn Transport>) -> Result<(), TransportAlreadySet> {
    HOST_TRANSPORT
        .set(transport)
        .map_err(|_| TransportAlreadySet)
}

/// How one sync reaches its shop: the host's transport or the built-in client, and the shop's
/// base URL.
pub(crate) struct Client {
    transport: Chosen,
    base_url: String,
}

enum Chosen {
    Host(&'static dyn Transport),
    #[cfg(feature = "http-client")]
    BuiltIn(UreqClient),
}

impl Client {
    /// A client for the API at `base_url`; `marketplace_error` when the engine has no way to
    /// send a request.
    pub(crate) fn new(base_url: &str) -> Result<Client, Error> {
        let transport = match HOST_TRANSPORT.get() {
            Some(transport) => Chosen::Host(transport.as_ref()),
            None => built_in()?,
        };
        Ok(Client {
            transport,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Sends `request` and answers the body of its 2xx answer.
    pub(crate) fn send(&self, request: &HttpRequest) -> Result<String, SendError> {
        match &self.transport {
            Chosen::Host(transport) => transport.send(&self.base_url, request),
            #[cfg(feature = "http-client")]
            Chosen::BuiltIn(client) => client.send(&self.base_url, request),
        }
    }
}

#[cfg(feature = "http-client")]
fn built_in() -> Result<Chosen, Error> {
    Ok(Chosen::BuiltIn(UreqClient::new()))
}

#[cfg(not(feature = "http-client"))]
fn built_in() -> Result<Chosen, Error> {
    Err(Error::new(
        crate::error::Code::MarketplaceError,
        "this engine was built without an HTTP client (the `http-client` feature) and the host \
         set no transport (`shops::set_transport`): it cannot reach the marketplace",
    )
    .with("reason", "no_http_client"))
}

/// The built-in client: an agent (with its connection pool) for one sync, with the module's
/// timeouts and retries.
#[cfg(feature = "http-client")]
struct UreqClient {
    agent: ureq::Agent,
}

#[cfg(feature = "http-client")]
impl UreqClient {
    fn new() -> UreqClient {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        UreqClient { agent }
    }

    /// One attempt: the status and the body, whatever the status.
    fn once(&self, url: &str, request: &HttpRequest) -> Result<(u16, String), ureq::Error> {
        let mut response = match (request.method.as_str(), &request.body) {
            ("GET", None) => {
                let mut builder = self.agent.get(url);
                for (name, value) in &request.query {
                    builder = builder.query(name, value);
                }
                for (name, value) in &request.headers {
                    builder = builder.header(name, value);
                }
                builder.call()?
            }
            ("POST", body) | ("PUT", body) => {
                let mut builder = if request.method == "POST" {
                    self.agent.post(url)
                } else {
                    self.agent.put(url)
                };
                for (name, value) in &request.query {
                    builder = builder.query(name, value);
                }
                for (name, value) in &request.headers {
                    builder = builder.header(name, value);
                }
                if let Some(content_type) = &request.content_type {
                    builder = builder.content_type(content_type);
                }
                builder.send(body.as_deref().unwrap_or_default())?
            }
            (method, _) => {
                return Err(ureq::Error::Other(
                    format!("unsupported request: {method}").into(),
                ))
            }
        };
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(RESPONSE_BYTES_MAX)
            .read_to_string()?;
        Ok((status, body))
    }
}

#[cfg(feature = "http-client")]
impl Transport for UreqClient {
    /// Sends `request`, retrying as the module says.
    fn send(&self, base_url: &str, request: &HttpRequest) -> Result<String, SendError> {
        let url = format!("{base_url}{}", request.path);
        let mut last = SendError::Transport("no attempt was made".to_owned());
        let mut wait = BACKOFF_FIRST;
        for attempt in 1..=ATTEMPTS_MAX {
            match self.once(&url, request) {
                Ok((status, body)) if (200..300).contains(&status) => return Ok(body),
                Ok((status, body)) if status == 429 || status >= 500 => {
                    last = SendError::Status { status, body };
                }
                Ok((status, body)) => return Err(SendError::Status { status, body }),
                Err(error) if retryable(&error) => {
                    last = SendError::Transport(describe(request, &error));
                }
                Err(error) => return Err(SendError::Transport(describe(request, &error))),
            }
            if attempt < ATTEMPTS_MAX {
                tracing::debug!(
                    method = %request.method, path = %request.path, attempt,
                    "marketplace request failed; retrying"
                );
                std::thread::sleep(wait);
                wait = (wait * 2).min(BACKOFF_MAX);
            }
        }
        Err(last)
    }
}

/// Failures worth another attempt: the network's, not the request's.
#[cfg(feature = "http-client")]
fn retryable(error: &ureq::Error) -> bool {
    matches!(
        error,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
            | ureq::Error::BodyStalled
    )
}

/// A description of a failure from fixed words: ureq's own texts may quote the URL, whose query
/// holds the access token and the signature.
#[cfg(feature = "http-client")]
fn describe(request: &HttpRequest, error: &ureq::Error) -> String {
    let what = match error {
        ureq::Error::Timeout(_) => "timed out".to_owned(),
        ureq::Error::ConnectionFailed => "could not connect".to_owned(),
        ureq::Error::HostNotFound => "host not found".to_owned(),
        ureq::Error::Io(io) => format!("connection error ({:?})", io.kind()),
        ureq::Error::BodyExceedsLimit(_) => {
            format!("the answer is larger than {RESPONSE_BYTES_MAX} bytes")
        }
        ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => {
            "the marketplace answered with a redirect, which the host does not follow".to_owned()
        }
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => {
            "the shop's base URL and the request path do not make a valid URL".to_owned()
        }
        ureq::Error::Other(_) => {
            format!(
                "the host does not send {} requests with a body",
                request.method
            )
        }
        _ => "the exchange failed".to_owned(),
    };
    format!("{} {}: {what}", request.method, request.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers the URL it was asked for.
    struct Echo;

    impl Transport for Echo {
        fn send(&self, base_url: &str, request: &HttpRequest) -> Result<String, SendError> {
            Ok(format!("{} {base_url}{}", request.method, request.path))
        }
    }

    /// One test, as the transport is the process's: before a host sets one, a build without
    /// the client has no way to send; once set, every client sends through it, and it stays.
    #[test]
    fn a_host_transport_is_set_once_and_carries_every_request() {
        #[cfg(not(feature = "http-client"))]
        {
            let error = Client::new("https://shop.example").err().unwrap();
            assert_eq!(error.code(), crate::error::Code::MarketplaceError);
            assert!(
                error.message().contains("without an HTTP client"),
                "{error}"
            );
            assert_eq!(error.to_json()["reason"], "no_http_client");
        }
        set_transport(Box::new(Echo)).unwrap();
        assert!(set_transport(Box::new(Echo)).is_err());
        let request = HttpRequest {
            method: "GET".to_owned(),
            path: "/api/orders".to_owned(),
            query: vec![("sign".to_owned(), "abc".to_owned())],
            headers: Vec::new(),
            body: None,
            content_type: None,
        };
        let client = Client::new("https://shop.example/").unwrap();
        assert_eq!(
            client.send(&request),
            Ok("GET https://shop.example/api/orders".to_owned())
        );
    }
}
