//! What can go wrong with rules: a script that does not compile (a diagnostic pointing into the
//! file) and a script that fails while it runs (`rule_error`).

use miette::{Diagnostic, NamedSource, SourceSpan};
use rhai::{EvalAltResult, Position};
use thiserror::Error;

/// A rule script failed while it ran: it threw, broke a sandbox limit, returned the wrong type or
/// read an unknown field. The command that ran it changes nothing; its error code is `rule_error`.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
#[error("rule `{script}` failed{}: {message}", at(*.line, *.column))]
#[diagnostic(code(rule_error))]
pub struct RuleError {
    /// The script's name, e.g. `push_checks`.
    pub script: String,
    /// The line in the script, when the failure has a position.
    pub line: Option<usize>,
    /// The column in the script, when the failure has a position.
    pub column: Option<usize>,
    /// What went wrong; for a `throw`, the thrown text.
    pub message: String,
}

fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" at {line}:{column}"),
        (Some(line), None) => format!(" at line {line}"),
        _ => String::new(),
    }
}

impl RuleError {
    /// A failure with no position in the script (a missing script, a malformed result).
    pub fn new(script: &str, message: impl Into<String>) -> RuleError {
        RuleError {
            script: script.to_owned(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// Converts a Rhai evaluation error, reporting the innermost position (inside the script
    /// function that failed, not where it was called) and, for `throw`, just the thrown text.
    pub(crate) fn from_eval(script: &str, error: EvalAltResult) -> RuleError {
        let mut inner = error;
        let mut function = None;
        while let EvalAltResult::ErrorInFunctionCall(name, _, err, _) = inner {
            function = Some(name);
            inner = *err;
        }
        let position = inner.take_position();
        let mut message = match &inner {
            EvalAltResult::ErrorRuntime(value, _) => match value.clone().into_immutable_string() {
                Ok(text) => text.to_string(),
                Err(_) => value.to_string(),
            },
            other => other.to_string(),
        };
        if let Some(function) = function {
            message.push_str(&format!(" (in function `{function}`)"));
        }
        RuleError {
            script: script.to_owned(),
            line: position.line(),
            column: position.position(),
            message,
        }
    }
}

/// One script that does not compile, pointing at the line and column of the problem.
#[derive(Debug, Error, Diagnostic)]
#[error("{path}:{line}:{column}: {message}")]
#[diagnostic(code(rules::syntax))]
pub struct SyntaxError {
    /// The script's path as shown to the user.
    pub path: String,
    /// Line of the problem, from 1.
    pub line: usize,
    /// Column of the problem, from 1.
    pub column: usize,
    /// What the parser found.
    pub message: String,
    #[source_code]
    source_code: NamedSource<String>,
    #[label("{message}")]
    span: SourceSpan,
}

impl SyntaxError {
    pub(crate) fn new(path: &str, text: &str, message: String, position: Position) -> SyntaxError {
        let line = position.line().unwrap_or(1);
        let column = position.position().unwrap_or(1);
        let offset = byte_offset(text, line, column);
        let len = text
            .get(offset..)
            .and_then(|rest| rest.chars().next())
            .map_or(0, char::len_utf8);
        SyntaxError {
            path: path.to_owned(),
            line,
            column,
            message,
            source_code: NamedSource::new(path, text.to_owned()),
            span: SourceSpan::new(offset.into(), len),
        }
    }
}

/// The byte offset of a 1-based line and (character) column, clamped to the text.
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (index, this_line) in text.split_inclusive('\n').enumerate() {
        if index + 1 == line {
            let within = this_line
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(this_line.trim_end_matches('\n').len(), |(i, _)| i);
            return offset + within;
        }
        offset += this_line.len();
    }
    text.len()
}

/// Every script of a rule pack that failed to compile, reported together.
#[derive(Debug, Error, Diagnostic)]
#[error("{} rule script{} failed to compile", errors.len(), if errors.len() == 1 { "" } else { "s" })]
#[diagnostic(code(rules::compile))]
pub struct RuleErrors {
    /// One diagnostic per broken script.
    #[related]
    pub errors: Vec<SyntaxError>,
}

#[cfg(test)]
mod tests {
    use super::byte_offset;

    #[test]
    fn offsets_count_characters_within_a_line() {
        let text = "ab\nçd\n";
        assert_eq!(byte_offset(text, 1, 1), 0);
        assert_eq!(byte_offset(text, 2, 1), 3);
        assert_eq!(byte_offset(text, 2, 2), 5);
        assert_eq!(byte_offset(text, 2, 9), 6);
        assert_eq!(byte_offset(text, 9, 1), text.len());
    }
}
