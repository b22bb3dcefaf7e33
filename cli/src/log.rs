//! Where the engine's `tracing` events go: stderr, through a subscriber filtered by `--log`, else
//! `RUST_LOG`, else [`FILTER_DEFAULT`]. Rhai's `print` and `debug` arrive at `info` and `debug`
//! (target `distributary::rules`), adapters' logs under `distributary::plugin`.

use std::io::IsTerminal;

use serde::Deserialize;
use tracing_subscriber::EnvFilter;

/// What reaches stderr when neither `--log` nor `RUST_LOG` says: the engine's warnings.
pub const FILTER_DEFAULT: &str = "warn";
/// The longest `cmd`, `as` or `id` text a command's span records; a request line is the host's
/// and may be megabytes, so the span never holds more than a name's worth of it.
const FIELD_CHARS_MAX: usize = 64;

/// `--log`'s parser: the value must be a filter `RUST_LOG` would accept.
pub fn filter(value: &str) -> Result<String, String> {
    EnvFilter::try_new(value)
        .map(|_| value.to_owned())
        .map_err(|error| format!("not a log filter: {error}"))
}

/// Installs the subscriber; `log` is `--log`'s value, already checked by [`filter`].
pub fn init(log: Option<&str>) {
    let filter = match (log, std::env::var("RUST_LOG")) {
        (Some(log), _) => EnvFilter::new(log),
        (None, Ok(env)) => EnvFilter::try_new(&env).unwrap_or_else(|error| {
            eprintln!("ignoring RUST_LOG ({error}); logging `{FILTER_DEFAULT}`");
            EnvFilter::new(FILTER_DEFAULT)
        }),
        (None, Err(_)) => EnvFilter::new(FILTER_DEFAULT),
    };
    // A second subscriber cannot be installed; the first one stays, which is what a test that
    // calls `main`'s parts twice wants.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// What a command's span records of a request line.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(default, borrow)]
    cmd: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow, rename = "as")]
    actor: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    id: Option<serde_json::Value>,
}

/// The span one request line of `exec` runs in: `command` at `info`, with the line's `cmd`,
/// actor and id (never its arguments). The line is read for them only when the span is on.
pub fn command_span(line: &str) -> tracing::Span {
    let span = tracing::info_span!(
        "command",
        cmd = tracing::field::Empty,
        actor = tracing::field::Empty,
        id = tracing::field::Empty
    );
    if span.is_disabled() || line.len() > distributary::command::REQUEST_BYTES_MAX {
        return span;
    }
    if let Ok(head) = serde_json::from_str::<Head<'_>>(line) {
        if let Some(cmd) = &head.cmd {
            span.record("cmd", clip(cmd));
        }
        if let Some(actor) = &head.actor {
            span.record("actor", clip(actor));
        }
        // A text id as text, any other (a number) as its JSON.
        if let Some(serde_json::Value::String(id)) = &head.id {
            span.record("id", clip(id));
        } else if let Some(id) = &head.id {
            span.record("id", tracing::field::display(clip(&id.to_string())));
        }
    }
    span
}

/// At most [`FIELD_CHARS_MAX`] characters of `text`.
fn clip(text: &str) -> &str {
    text.char_indices()
        .nth(FIELD_CHARS_MAX)
        .map_or(text, |(end, _)| &text[..end])
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A log written to memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What an event logged inside a line's span writes, at `filter`.
    fn logged_inside(filter: &str, line: &str) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new(filter))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let _command = command_span(line).entered();
            tracing::warn!("inside");
        });
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_command_span_names_the_command_never_its_arguments() {
        let line =
            r#"{"id": 7, "as": "dis", "cmd": "import_orders", "args": {"payload": "SECRET"}}"#;
        let logged = logged_inside("info", line);
        assert!(
            logged.contains(r#"command{cmd="import_orders" actor="dis" id=7}: "#),
            "{logged}"
        );
        assert!(
            logged.contains("inside") && !logged.contains("SECRET"),
            "{logged}"
        );
        // At `warn` the span is off (the line is not read) and the warning still shows.
        let logged = logged_inside("warn", line);
        assert!(
            logged.contains("inside") && !logged.contains("command{"),
            "{logged}"
        );
        let logged = logged_inside("info", r#"{"id": "a-1", "as": "dis", "cmd": "plans"}"#);
        assert!(logged.contains(r#"id="a-1""#), "{logged}");
        // A line that is not JSON still runs in a span.
        assert!(logged_inside("info", "not json").contains("command: "));
    }

    #[test]
    fn filters_are_checked_and_fields_clipped() {
        assert!(filter("info,distributary::rules=debug").is_ok());
        assert!(filter("distributary=notalevel").is_err());
        assert_eq!(clip("sync_orders"), "sync_orders");
        assert_eq!(clip(&"é".repeat(100)).chars().count(), FIELD_CHARS_MAX);
    }
}
