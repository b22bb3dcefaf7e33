//! The host's HTTP client for marketplace APIs: sends an adapter's [`HttpRequest`] to a shop's
//! base URL with ureq, with timeouts, no redirects (a redirect would carry the signed query, and
//! its access token, to another host), a cap on the answer's size, and a bounded retry with
//! backoff for connection failures, timeouts, 429 and 5xx answers.
//!
//! Error texts are built here from fixed words, the method and the path: never from the URL, its
//! query or the headers, which carry the shop's access token and signature.

use std::time::Duration;

use distributary_plugin::HttpRequest;

/// How long connecting to a marketplace may take.
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

/// A client for one shop: an agent (with its connection pool) and the shop's base URL.
pub struct Client {
    agent: ureq::Agent,
    base_url: String,
}

impl Client {
    /// A client for the API at `base_url` (no trailing `/`), with the module's timeouts.
    pub fn new(base_url: &str) -> Client {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Client {
            agent,
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Sends `request` and answers the body of its 2xx answer, retrying as the module says.
    pub fn send(&self, request: &HttpRequest) -> Result<String, SendError> {
        let url = format!("{}{}", self.base_url, request.path);
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

/// Failures worth another attempt: the network's, not the request's.
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
