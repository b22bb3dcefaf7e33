//! The problems a workflow file can have, each a miette diagnostic pointing at the offending text.

use std::{fmt, sync::Arc};

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};

use super::source::SourceText;

/// What is wrong; each kind has a stable diagnostic code (`workflow::unknown_state`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The file is not valid YAML, or its top level is not a mapping.
    Syntax,
    /// A mapping repeats a key.
    DuplicateKey,
    /// A key the workflow format does not have (often a misspelling).
    UnknownKey,
    /// A required key is absent.
    MissingKey,
    /// A value has the wrong shape (a list where a name is expected, ...).
    InvalidValue,
    /// The `workflow:` name differs from the file's name.
    NameMismatch,
    /// Two files declare the same workflow.
    DuplicateWorkflow,
    /// The workflow is larger than the engine accepts.
    TooLarge,
    /// A state is declared twice.
    DuplicateState,
    /// A state that `states:` does not declare.
    UnknownState,
    /// The workflow declares no terminal state.
    NoTerminalState,
    /// A guard that is neither built in nor `rule:<script>`.
    UnknownGuard,
    /// `rule:<script>` names no script of the rule pack.
    UnknownScript,
    /// An effect that is not built in.
    UnknownEffect,
    /// `by:` is not `supplier`, `distributor` or `system`.
    UnknownRole,
    /// No path leads from the initial state to this one.
    UnreachableState,
    /// A non-terminal state with no path to a terminal one.
    DeadEnd,
    /// A transition leaves a terminal state.
    TransitionFromTerminal,
    /// A transition that an earlier one always takes precedence over.
    DuplicateTransition,
    /// The engine drives a workflow the pack does not declare (`crate::contract`).
    ContractWorkflow,
    /// A state the engine's code relies on is not declared.
    ContractState,
    /// An event the engine fires by itself cannot leave the state it fires it from.
    ContractTransition,
    /// A built-in guard or effect, or a rule guard, used on a workflow it does not apply to.
    NotApplicable,
    /// A `migrate:` entry maps a state that is still declared, or maps onto one that is not.
    BadMigration,
}

impl ProblemKind {
    /// The stable diagnostic code.
    pub fn code(self) -> &'static str {
        match self {
            ProblemKind::Syntax => "workflow::syntax",
            ProblemKind::DuplicateKey => "workflow::duplicate_key",
            ProblemKind::UnknownKey => "workflow::unknown_key",
            ProblemKind::MissingKey => "workflow::missing_key",
            ProblemKind::InvalidValue => "workflow::invalid_value",
            ProblemKind::NameMismatch => "workflow::name_mismatch",
            ProblemKind::DuplicateWorkflow => "workflow::duplicate_workflow",
            ProblemKind::TooLarge => "workflow::too_large",
            ProblemKind::DuplicateState => "workflow::duplicate_state",
            ProblemKind::UnknownState => "workflow::unknown_state",
            ProblemKind::NoTerminalState => "workflow::no_terminal_state",
            ProblemKind::UnknownGuard => "workflow::unknown_guard",
            ProblemKind::UnknownScript => "workflow::unknown_script",
            ProblemKind::UnknownEffect => "workflow::unknown_effect",
            ProblemKind::UnknownRole => "workflow::unknown_role",
            ProblemKind::UnreachableState => "workflow::unreachable_state",
            ProblemKind::DeadEnd => "workflow::dead_end",
            ProblemKind::TransitionFromTerminal => "workflow::transition_from_terminal",
            ProblemKind::DuplicateTransition => "workflow::duplicate_transition",
            ProblemKind::ContractWorkflow => "workflow::contract_workflow",
            ProblemKind::ContractState => "workflow::contract_state",
            ProblemKind::ContractTransition => "workflow::contract_transition",
            ProblemKind::NotApplicable => "workflow::not_applicable",
            ProblemKind::BadMigration => "workflow::bad_migration",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One problem in one workflow file, with the file, the labelled span of the offending text and,
/// where it helps, a suggestion.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct WorkflowError {
    kind: ProblemKind,
    message: String,
    source_code: NamedSource<Arc<str>>,
    primary: LabeledSpan,
    secondary: Vec<LabeledSpan>,
    help: Option<String>,
    path: String,
    line: usize,
    column: usize,
    culprit: String,
}

impl WorkflowError {
    pub(crate) fn new(
        kind: ProblemKind,
        source: &SourceText,
        span: SourceSpan,
        label: impl Into<String>,
        message: impl Into<String>,
    ) -> WorkflowError {
        let (line, column) = source.line_column(span.offset());
        WorkflowError {
            kind,
            message: message.into(),
            source_code: source.named(),
            primary: LabeledSpan::new_primary_with_span(Some(label.into()), span),
            secondary: Vec::new(),
            help: None,
            path: source.path().to_owned(),
            line,
            column,
            culprit: source.slice(span).to_owned(),
        }
    }

    pub(crate) fn with_help(mut self, help: Option<String>) -> WorkflowError {
        self.help = help;
        self
    }

    pub(crate) fn with_note(mut self, span: SourceSpan, label: impl Into<String>) -> WorkflowError {
        self.secondary.push(LabeledSpan::at(span, label));
        self
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> ProblemKind {
        self.kind
    }

    /// The stable diagnostic code, e.g. `workflow::unknown_state`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The file the problem is in, as the rule pack names it.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The 1-based line of the offending text.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The 1-based column (in characters) of the offending text.
    pub fn column(&self) -> usize {
        self.column
    }

    /// The offending text itself (empty when the problem is something absent at that place).
    pub fn culprit(&self) -> &str {
        &self.culprit
    }

    /// The suggestion shown with the problem, if any.
    pub fn help_text(&self) -> Option<&str> {
        self.help.as_deref()
    }
}

impl Diagnostic for WorkflowError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.kind.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source_code)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let labels = std::iter::once(self.primary.clone()).chain(self.secondary.iter().cloned());
        Some(Box::new(labels))
    }
}

/// Every problem found while loading a rule pack's workflows; none of its workflows is used.
#[derive(Debug, Clone, thiserror::Error, Diagnostic)]
#[error("{} in workflows", count(.problems.len()))]
#[diagnostic(
    code(workflow::invalid),
    help("fix the problems below; a workflow that does not validate is never used")
)]
pub struct WorkflowErrors {
    #[related]
    problems: Vec<WorkflowError>,
}

impl WorkflowErrors {
    pub(crate) fn new(problems: Vec<WorkflowError>) -> WorkflowErrors {
        WorkflowErrors { problems }
    }

    /// Every problem, file by file, in the order found.
    pub fn problems(&self) -> &[WorkflowError] {
        &self.problems
    }
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 problem".to_owned()
    } else {
        format!("{n} problems")
    }
}
