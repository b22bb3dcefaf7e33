//! One workflow file's text, and the arithmetic from marked-yaml's positions (character indexes)
//! to the byte spans miette labels.

use std::sync::Arc;

use marked_yaml::{Marker, Span};
use miette::{NamedSource, SourceSpan};

/// The text of one workflow file and the path shown for it.
#[derive(Debug, Clone)]
pub(crate) struct SourceText {
    path: String,
    text: Arc<str>,
}

impl SourceText {
    pub(crate) fn new(path: &str, text: &str) -> SourceText {
        SourceText {
            path: path.to_owned(),
            text: Arc::from(text),
        }
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn named(&self) -> NamedSource<Arc<str>> {
        NamedSource::new(&self.path, Arc::clone(&self.text))
    }

    /// The byte offset of a marker (marked-yaml counts characters, miette counts bytes).
    pub(crate) fn offset(&self, marker: &Marker) -> usize {
        let character = marker.character();
        if self.text.is_ascii() {
            return character.min(self.text.len());
        }
        self.text
            .char_indices()
            .nth(character)
            .map_or(self.text.len(), |(byte, _)| byte)
    }

    /// The span of a scalar written at `span` whose value is `value`: the quotes included when
    /// it is quoted, else the value's own length.
    pub(crate) fn scalar(&self, span: &Span, value: &str) -> SourceSpan {
        let start = span.start().map_or(0, |marker| self.offset(marker));
        let rest = self.text.get(start..).unwrap_or("");
        let len = match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => quoted_len(rest, quote),
            _ if rest.starts_with(value) => value.len(),
            _ => rest.find('\n').unwrap_or(rest.len()),
        };
        SourceSpan::new(start.into(), len)
    }

    /// The span of `part` inside a scalar whose value is `value` and which starts with `part` at
    /// byte `at`; the whole scalar when the source does not spell the value verbatim.
    pub(crate) fn scalar_part(
        &self,
        span: &Span,
        value: &str,
        at: usize,
        part: &str,
    ) -> SourceSpan {
        let whole = self.scalar(span, value);
        let mut content = whole.offset();
        if matches!(self.text.get(content..content + 1), Some("\"" | "'")) {
            content += 1;
        }
        let verbatim = self
            .text
            .get(content..)
            .is_some_and(|rest| rest.starts_with(value));
        if verbatim && value.get(at..at + part.len()) == Some(part) {
            SourceSpan::new((content + at).into(), part.len())
        } else {
            whole
        }
    }

    /// A span from `marker` to the end of its line (a point at the file's start without one).
    pub(crate) fn rest_of_line(&self, marker: Option<&Marker>) -> SourceSpan {
        let start = marker.map_or(0, |m| self.offset(m));
        let rest = self.text.get(start..).unwrap_or("");
        let line = rest.split('\n').next().unwrap_or("").trim_end();
        SourceSpan::new(start.into(), line.len())
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_column(&self, offset: usize) -> (usize, usize) {
        let before = self.text.get(..offset).unwrap_or(&self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// The text a span covers.
    pub(crate) fn slice(&self, span: SourceSpan) -> &str {
        self.text
            .get(span.offset()..span.offset() + span.len())
            .unwrap_or("")
    }
}

/// The length in bytes of a quoted scalar at the start of `rest`, both quotes included; to the
/// end of the line when it is not closed there.
fn quoted_len(rest: &str, quote: char) -> usize {
    let mut chars = rest.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quote == '"' => {
                chars.next();
            }
            '\'' if quote == '\'' && chars.peek().map(|&(_, n)| n) == Some('\'') => {
                chars.next();
            }
            '\n' => return i,
            c if c == quote => return i + 1,
            _ => {}
        }
    }
    rest.len()
}
