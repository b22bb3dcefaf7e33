//! Loading: each workflow file is parsed with positions, checked against the schema, converted to
//! domain types and validated as a graph. Every problem in every file is collected before the
//! loader answers, so a user sees them all at once.

use std::collections::{BTreeSet, HashMap};

use marked_yaml::{from_node, parse_yaml_with_options, LoadError, LoaderOptions};
use miette::SourceSpan;
use serde_json::Value;

use super::{
    builtins,
    diagnostic::{ProblemKind, WorkflowError, WorkflowErrors},
    file::{json_schema, Name, TransitionFile, WorkflowFile},
    graph::{End, Graph},
    model::{Guard, Role, Transition, Workflow, WorkflowSet},
    shape::ShapeCheck,
    source::SourceText,
    suggest::suggest,
};
use crate::{
    contract,
    pack::{FileKind, RulePack, SourceFile},
};

/// The most states one workflow may declare.
pub const WORKFLOW_STATES_MAX: usize = 256;
/// The most transitions one workflow may declare.
pub const WORKFLOW_TRANSITIONS_MAX: usize = 1024;

/// The names a workflow may use besides its own states: guards, effects and Rhai scripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocabulary {
    /// Built-in guard names.
    pub guards: Vec<String>,
    /// Built-in effect names.
    pub effects: Vec<String>,
    /// Script names (file stems) that `rule:<script>` may name.
    pub scripts: Vec<String>,
    /// Whether the pack is checked against the engine's contract (`crate::contract`): the
    /// workflows, states and events the engine needs, and where each built-in applies.
    pub contract: bool,
}

impl Vocabulary {
    /// The engine's built-in guards and effects, with the given rule scripts; workflows are
    /// checked on their own, not against the engine's contract (a tool drawing one workflow).
    pub fn builtin(scripts: Vec<String>) -> Vocabulary {
        Vocabulary {
            guards: builtins::GUARDS.iter().map(|g| g.name.to_owned()).collect(),
            effects: builtins::EFFECTS
                .iter()
                .map(|e| e.name.to_owned())
                .collect(),
            scripts,
            contract: false,
        }
    }

    /// [`Vocabulary::builtin`], and the pack must keep the engine's contract: what an engine
    /// loads a pack with.
    pub fn engine(scripts: Vec<String>) -> Vocabulary {
        Vocabulary {
            contract: true,
            ..Vocabulary::builtin(scripts)
        }
    }
}

/// Loads and validates every workflow of `pack`. Either all of them validate, or the error holds
/// every problem found in every file.
pub fn load(pack: &RulePack, vocab: &Vocabulary) -> Result<WorkflowSet, WorkflowErrors> {
    let schema = json_schema();
    let mut problems = Vec::new();
    let mut set = WorkflowSet::default();
    let mut declared: HashMap<String, (String, usize)> = HashMap::new();
    for (index, file) in pack.files(FileKind::Workflow).enumerate() {
        let source = SourceText::new(&file.path, &file.text);
        let loaded = load_file(index, file, &source, vocab, &schema, &mut problems);
        let Some((name, span)) = loaded.name else {
            continue;
        };
        let (line, _) = source.line_column(span.offset());
        if let Some((path, first_line)) = declared.get(&name) {
            problems.push(
                WorkflowError::new(
                    ProblemKind::DuplicateWorkflow,
                    &source,
                    span,
                    "declared again here",
                    format!("workflow `{name}` is declared twice"),
                )
                .with_help(Some(format!(
                    "it is first declared in {path}:{first_line}; give each workflow its own name"
                ))),
            );
            continue;
        }
        declared.insert(name.clone(), (file.path.clone(), line));
        if let Some(workflow) = loaded.workflow {
            set.workflows.insert(name, workflow);
        }
    }
    if vocab.contract {
        for needs in contract::NEEDS {
            if declared.contains_key(needs.workflow) {
                continue;
            }
            let path = format!("{}/workflows/{}.yaml", pack.origin(), needs.workflow);
            let source = SourceText::new(&path, "");
            problems.push(
                WorkflowError::new(
                    ProblemKind::ContractWorkflow,
                    &source,
                    SourceSpan::new(0.into(), 0),
                    "missing file",
                    format!(
                        "the engine drives the `{}` workflow; the pack has none",
                        needs.workflow
                    ),
                )
                .with_help(Some(format!(
                    "add workflows/{}.yaml, declaring the states {}",
                    needs.workflow,
                    quoted(needs.states)
                ))),
            );
        }
    }
    if problems.is_empty() {
        Ok(set)
    } else {
        Err(WorkflowErrors::new(problems))
    }
}

/// What one file yielded: its declared name (for the duplicate check) and, when it validated,
/// its workflow.
struct Loaded {
    name: Option<(String, SourceSpan)>,
    workflow: Option<Workflow>,
}

fn load_file(
    index: usize,
    file: &SourceFile,
    source: &SourceText,
    vocab: &Vocabulary,
    schema: &Value,
    problems: &mut Vec<WorkflowError>,
) -> Loaded {
    let nothing = Loaded {
        name: None,
        workflow: None,
    };
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let mut node = match parse_yaml_with_options(index, source.text(), options) {
        Ok(node) => node,
        Err(error) => {
            problems.push(syntax_problem(source, &error));
            return nothing;
        }
    };
    let mut shape = ShapeCheck {
        source,
        root: schema,
        problems: Vec::new(),
        unknown_keys: 0,
        missing_keys: 0,
        invalid_values: 0,
    };
    shape.check(&mut node, schema, "the workflow");
    let unknown_keys = shape.unknown_keys;
    let blocking = shape.missing_keys + shape.invalid_values;
    problems.append(&mut shape.problems);
    if blocking > 0 {
        return nothing;
    }
    let parsed: WorkflowFile = match from_node(&node) {
        Ok(parsed) => parsed,
        Err(error) => {
            let span = source.rest_of_line(error.start_mark().as_ref());
            problems.push(WorkflowError::new(
                ProblemKind::InvalidValue,
                source,
                span,
                "invalid value",
                format!("invalid workflow file: {}", *error),
            ));
            return nothing;
        }
    };
    let before = problems.len();
    let name_span = source.scalar(parsed.workflow.span(), parsed.workflow.as_str());
    let workflow = Checker {
        source,
        vocab,
        problems,
        name: parsed.workflow.as_str().to_owned(),
    }
    .check(&parsed, &file.stem, unknown_keys == 0);
    Loaded {
        name: Some((parsed.workflow.as_str().to_owned(), name_span)),
        workflow: workflow.filter(|_| problems.len() == before && unknown_keys == 0),
    }
}

fn syntax_problem(source: &SourceText, error: &LoadError) -> WorkflowError {
    let (marker, message) = match error {
        LoadError::ScanError(marker, scan) => (marker, format!("invalid YAML: {}", scan.info())),
        LoadError::TopLevelMustBeMapping(marker) | LoadError::TopLevelMustBeSequence(marker) => {
            (marker, "a workflow file must be a YAML mapping".to_owned())
        }
        LoadError::UnexpectedAnchor(marker) => (
            marker,
            "YAML anchors and aliases are not supported in workflow files".to_owned(),
        ),
        LoadError::MappingKeyMustBeScalar(marker) => {
            (marker, "a mapping key must be a plain name".to_owned())
        }
        LoadError::UnexpectedTag(marker) => (
            marker,
            "YAML tags are not supported in workflow files".to_owned(),
        ),
        LoadError::DuplicateKey(inner) => {
            let span = source.scalar(inner.key.span(), inner.key.as_str());
            let first = source.scalar(inner.prev_key.span(), inner.prev_key.as_str());
            return WorkflowError::new(
                ProblemKind::DuplicateKey,
                source,
                span,
                "repeated here",
                format!(
                    "key `{}` appears twice in the same mapping",
                    inner.key.as_str()
                ),
            )
            .with_note(first, "first here");
        }
    };
    let span = source.rest_of_line(Some(marker));
    // The one character there, whole: a byte would cut a multi-byte character in two.
    let first = source.slice(span).chars().next().map_or(0, char::len_utf8);
    let span = SourceSpan::new(span.offset().into(), first);
    let help = "an unclosed `[`, `{` or quote on an earlier line often shows up here";
    WorkflowError::new(ProblemKind::Syntax, source, span, "here", message)
        .with_help(Some(help.to_owned()))
}

/// The semantic checks of one parsed file: names, roles, graph shape, shadowed transitions.
struct Checker<'a> {
    source: &'a SourceText,
    vocab: &'a Vocabulary,
    problems: &'a mut Vec<WorkflowError>,
    /// The workflow's name, for the contract's checks.
    name: String,
}

impl Checker<'_> {
    fn span(&self, name: &Name) -> SourceSpan {
        self.source.scalar(name.span(), name.as_str())
    }

    fn problem(
        &mut self,
        kind: ProblemKind,
        span: SourceSpan,
        label: &str,
        message: String,
        help: Option<String>,
    ) {
        self.problems
            .push(WorkflowError::new(kind, self.source, span, label, message).with_help(help));
    }

    fn check(
        mut self,
        file: &WorkflowFile,
        stem: &str,
        check_duplicates: bool,
    ) -> Option<Workflow> {
        if !self.header(file, stem) {
            return None;
        }
        let states = self.states(file);
        let ends = self.ends(file, &states);
        let mut transitions = Vec::with_capacity(file.transitions.len());
        let mut edges = Vec::new();
        for transition in &file.transitions {
            let (checked, mut from_to) = self.transition(&states, &ends.terminal, transition);
            edges.append(&mut from_to);
            transitions.push(checked);
        }
        self.graph(file, &states, &ends, &edges);
        if check_duplicates {
            self.duplicates(file, &transitions);
        }
        if self.vocab.contract {
            self.contract(file, &states, &transitions);
        }
        let migrate = self.migrations(file, &states);
        Some(Workflow {
            name: file.workflow.as_str().to_owned(),
            path: self.source.path().to_owned(),
            initial: file.initial.as_str().to_owned(),
            terminal: file
                .terminal
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            states: states.names.iter().map(|s| (*s).to_owned()).collect(),
            transitions,
            migrate,
        })
    }

    /// What the engine needs of this workflow (`crate::contract::NEEDS`): its states, and the
    /// events the engine fires by itself from them.
    fn contract(&mut self, file: &WorkflowFile, states: &States<'_>, transitions: &[Transition]) {
        let Some(needs) = contract::needs(&self.name) else {
            return;
        };
        for guard in file.transitions.iter().flat_map(|t| &t.guards) {
            let Some(state) = guard
                .as_str()
                .strip_prefix(contract::order::CAME_FROM_PREFIX)
            else {
                continue;
            };
            if self.vocab.guards.iter().any(|g| g == guard.as_str())
                && !states.index.contains_key(state)
            {
                self.problem(
                    ProblemKind::ContractState,
                    self.span(guard),
                    "reads an undeclared state",
                    format!("guard `{}` reads the state `{state}`, which workflow `{}` does not declare", guard.as_str(), self.name),
                    Some(format!("declare `{state}` under `states`, or drop the guard")),
                );
            }
        }
        let at = self.span(&file.workflow);
        for state in needs.states {
            if !states.index.contains_key(state) {
                self.problem(
                    ProblemKind::ContractState,
                    at,
                    "the engine needs more of this workflow",
                    format!(
                        "workflow `{}` has no state `{state}`; the engine's code relies on it",
                        self.name
                    ),
                    Some(format!(
                        "declare `{state}` under `states` (the engine needs {})",
                        quoted(needs.states)
                    )),
                );
            }
        }
        for (event, from) in needs.transitions {
            let leaves = transitions
                .iter()
                .any(|t| t.event == *event && t.from.iter().any(|s| s == from));
            if states.index.contains_key(from) && !leaves {
                self.problem(
                    ProblemKind::ContractTransition,
                    at,
                    "the engine needs more of this workflow",
                    format!("workflow `{}` has no `{event}` transition from `{from}`; the engine fires it", self.name),
                    Some(format!("add a transition `event: {event}` with `from: {from}`")),
                );
            }
        }
    }

    /// `migrate:`: each old state must be gone from `states`, each new one declared.
    fn migrations(&mut self, file: &WorkflowFile, states: &States<'_>) -> Vec<(String, String)> {
        let mut migrate = Vec::new();
        for (old, new) in &file.migrate.0 {
            if states.index.contains_key(old.as_str()) {
                self.problem(
                    ProblemKind::BadMigration,
                    self.span(old),
                    "still declared",
                    format!(
                        "`migrate` maps `{}`, which `states` still declares",
                        old.as_str()
                    ),
                    Some(
                        "a migration moves entities out of a state the workflow no longer has"
                            .to_owned(),
                    ),
                );
            } else if !states.index.contains_key(new.as_str()) {
                let help = suggest(new.as_str(), states.names.iter().copied(), "states");
                self.problem(
                    ProblemKind::BadMigration,
                    self.span(new),
                    "not declared in `states`",
                    format!(
                        "`migrate` moves `{}` to `{}`, which `states` does not declare",
                        old.as_str(),
                        new.as_str()
                    ),
                    help,
                );
            } else {
                migrate.push((old.as_str().to_owned(), new.as_str().to_owned()));
            }
        }
        migrate
    }

    /// A built-in or rule guard, or an effect, used where the contract says it does not apply.
    fn not_applicable(&mut self, span: SourceSpan, what: &str, workflows: &[&str]) {
        self.problem(
            ProblemKind::NotApplicable,
            span,
            "does not apply here",
            format!("{what} does not apply to workflow `{}`", self.name),
            Some(format!(
                "it applies to {}",
                if workflows.is_empty() {
                    "no workflow".to_owned()
                } else {
                    quoted(workflows)
                }
            )),
        );
    }

    /// The workflow's name against the file's, and its size; false when it is too large to check.
    fn header(&mut self, file: &WorkflowFile, stem: &str) -> bool {
        let name = file.workflow.as_str();
        if name != stem {
            self.problem(
                ProblemKind::NameMismatch,
                self.span(&file.workflow),
                "differs from the file name",
                format!("workflow `{name}` is declared in a file named `{stem}`"),
                Some(format!(
                    "rename the file to `{name}.yaml`, or the workflow to `{stem}`"
                )),
            );
        }
        let too_large = file.states.len() > WORKFLOW_STATES_MAX
            || file.transitions.len() > WORKFLOW_TRANSITIONS_MAX;
        if too_large {
            self.problem(
                ProblemKind::TooLarge,
                self.span(&file.workflow),
                "too large",
                format!(
                    "workflow `{name}` has {} states and {} transitions; at most \
                     {WORKFLOW_STATES_MAX} and {WORKFLOW_TRANSITIONS_MAX} are allowed",
                    file.states.len(),
                    file.transitions.len()
                ),
                None,
            );
        }
        !too_large
    }

    /// The initial and terminal states, resolved.
    fn ends(&mut self, file: &WorkflowFile, states: &States<'_>) -> Ends {
        let initial = self.state(states, &file.initial, "initial state");
        let mut terminal = BTreeSet::new();
        let mut terminal_unknown = false;
        for state in &file.terminal {
            match self.state(states, state, "terminal state") {
                Some(index) => {
                    terminal.insert(index);
                }
                None => terminal_unknown = true,
            }
        }
        if file.terminal.is_empty() {
            self.problem(
                ProblemKind::NoTerminalState,
                self.span(&file.workflow),
                "no terminal state",
                format!(
                    "workflow `{}` declares no terminal state",
                    file.workflow.as_str()
                ),
                Some("list the states no transition leaves under `terminal:`".to_owned()),
            );
        }
        Ends {
            initial,
            terminal,
            terminal_unknown,
        }
    }

    fn states<'f>(&mut self, file: &'f WorkflowFile) -> States<'f> {
        let mut states = States {
            names: Vec::new(),
            spans: Vec::new(),
            index: HashMap::new(),
        };
        for state in &file.states {
            let span = self.span(state);
            if let Some(&first) = states.index.get(state.as_str()) {
                self.problems.push(
                    WorkflowError::new(
                        ProblemKind::DuplicateState,
                        self.source,
                        span,
                        "declared again",
                        format!("state `{}` is declared twice", state.as_str()),
                    )
                    .with_note(states.spans[first], "first declared here"),
                );
                continue;
            }
            states.index.insert(state.as_str(), states.names.len());
            states.names.push(state.as_str());
            states.spans.push(span);
        }
        states
    }

    /// The index of a state named in `initial`, `terminal`, `from` or `to`, or a problem.
    fn state(&mut self, states: &States<'_>, name: &Name, role: &str) -> Option<usize> {
        if let Some(&index) = states.index.get(name.as_str()) {
            return Some(index);
        }
        let help = suggest(name.as_str(), states.names.iter().copied(), "states");
        self.problem(
            ProblemKind::UnknownState,
            self.span(name),
            "not declared in `states`",
            format!("unknown {role} `{}`", name.as_str()),
            help,
        );
        None
    }

    /// Checks one transition's names; returns it with its edges, `from` to `to`, one per `from`
    /// state.
    fn transition(
        &mut self,
        states: &States<'_>,
        terminal: &BTreeSet<usize>,
        transition: &TransitionFile,
    ) -> (Transition, Vec<(End, End)>) {
        let event = transition.event.as_str();
        let from: Vec<End> = transition
            .from
            .names()
            .iter()
            .map(|state| self.origin(states, terminal, event, state))
            .collect();
        let to = self.end(states, &transition.to);
        let edges = from.into_iter().map(|from| (from, to)).collect();
        let by = transition.by.as_ref().and_then(|by| self.role(by));
        let guards = transition.guards.iter().map(|g| self.guard(g)).collect();
        for effect in &transition.effects {
            self.effect(effect);
        }
        let (line, _) = self
            .source
            .line_column(self.span(&transition.event).offset());
        let checked = Transition {
            event: event.to_owned(),
            from: transition
                .from
                .names()
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            to: transition.to.as_str().to_owned(),
            by,
            guards,
            effects: transition
                .effects
                .iter()
                .map(|e| e.as_str().to_owned())
                .collect(),
            line,
        };
        (checked, edges)
    }

    /// A state named in `from` or `to`, or a problem.
    fn end(&mut self, states: &States<'_>, name: &Name) -> End {
        self.state(states, name, "state")
            .map_or(End::Unknown, End::State)
    }

    /// A state a transition leaves (one of its `from`): it must be known, and not terminal.
    fn origin(
        &mut self,
        states: &States<'_>,
        terminal: &BTreeSet<usize>,
        event: &str,
        state: &Name,
    ) -> End {
        let end = self.end(states, state);
        if matches!(end, End::State(index) if terminal.contains(&index)) {
            self.problem(
                ProblemKind::TransitionFromTerminal,
                self.span(state),
                "a terminal state",
                format!(
                    "transition `{event}` leaves the terminal state `{}`",
                    state.as_str()
                ),
                Some(format!(
                    "remove `{}` from `terminal`, or from this transition's `from`",
                    state.as_str()
                )),
            );
        }
        end
    }

    fn role(&mut self, by: &Name) -> Option<Role> {
        let role = by.as_str().parse::<Role>().ok();
        if role.is_none() {
            let help = suggest(by.as_str(), Role::ALL.map(Role::as_str), "roles");
            self.problem(
                ProblemKind::UnknownRole,
                self.span(by),
                "not a role",
                format!("unknown role `{}`", by.as_str()),
                help,
            );
        }
        role
    }

    fn guard(&mut self, written: &Name) -> Guard {
        let guard = Guard::parse(written.as_str());
        match &guard {
            Guard::Builtin(name) if !self.vocab.guards.contains(name) => {
                let mut help =
                    suggest(name, self.vocab.guards.iter().map(String::as_str), "guards");
                if self.vocab.scripts.contains(name) {
                    help = Some(format!("did you mean `{}{name}`?", Guard::RULE_PREFIX));
                }
                self.problem(
                    ProblemKind::UnknownGuard,
                    self.span(written),
                    "not a built-in guard",
                    format!("unknown guard `{name}`"),
                    help,
                );
            }
            Guard::Rule(script) if !self.vocab.scripts.contains(script) => {
                let span = self.source.scalar_part(
                    written.span(),
                    written.as_str(),
                    Guard::RULE_PREFIX.len(),
                    script,
                );
                let scripts = self.vocab.scripts.iter().map(String::as_str);
                self.problem(
                    ProblemKind::UnknownScript,
                    span,
                    "no such script",
                    format!("unknown rule script `{script}`"),
                    suggest(script, scripts, "scripts"),
                );
            }
            Guard::Builtin(name) if self.vocab.contract => {
                let workflows = contract::applies_to(builtins::GUARDS, name).unwrap_or(&[]);
                if !workflows.contains(&self.name.as_str()) {
                    let what = format!("guard `{name}`");
                    self.not_applicable(self.span(written), &what, workflows);
                }
            }
            Guard::Rule(script) if self.vocab.contract => {
                let workflows = contract::RULE_GUARD_WORKFLOWS;
                if !workflows.contains(&self.name.as_str()) {
                    let what = format!("rule guard `rule:{script}`");
                    self.not_applicable(self.span(written), &what, workflows);
                }
            }
            Guard::Builtin(_) | Guard::Rule(_) => {}
        }
        guard
    }

    fn effect(&mut self, effect: &Name) {
        if self.vocab.effects.iter().any(|e| e == effect.as_str()) {
            if self.vocab.contract {
                let workflows =
                    contract::applies_to(builtins::EFFECTS, effect.as_str()).unwrap_or(&[]);
                if !workflows.contains(&self.name.as_str()) {
                    let what = format!("effect `{}`", effect.as_str());
                    self.not_applicable(self.span(effect), &what, workflows);
                }
            }
            return;
        }
        let help = suggest(
            effect.as_str(),
            self.vocab.effects.iter().map(String::as_str),
            "effects",
        );
        self.problem(
            ProblemKind::UnknownEffect,
            self.span(effect),
            "not a built-in effect",
            format!("unknown effect `{}`", effect.as_str()),
            help,
        );
    }

    /// Reachability from the initial state, and a path to a terminal state from every other one,
    /// judged on the edges as written: an unknown state holds back only the verdicts it could
    /// change (the rule is `graph.rs`'s).
    fn graph(
        &mut self,
        file: &WorkflowFile,
        states: &States<'_>,
        ends: &Ends,
        edges: &[(End, End)],
    ) {
        let graph = Graph::new(states.names.len(), edges);
        if let Some(initial) = ends.initial {
            for index in graph.unreachable(initial) {
                self.problem(
                    ProblemKind::UnreachableState,
                    states.spans[index],
                    "unreachable",
                    format!(
                        "state `{}` cannot be reached from the initial state `{}`",
                        states.names[index],
                        file.initial.as_str()
                    ),
                    Some(format!(
                        "add a transition into `{}`, or remove it from `states`",
                        states.names[index]
                    )),
                );
            }
        }
        // An unknown name in `terminal` might make any state terminal.
        if ends.terminal.is_empty() || ends.terminal_unknown {
            return;
        }
        for index in graph.dead_ends(&ends.terminal) {
            self.problem(
                ProblemKind::DeadEnd,
                states.spans[index],
                "dead end",
                format!(
                    "no path leads from state `{}` to a terminal state",
                    states.names[index]
                ),
                Some(format!(
                    "add a transition out of `{}`, or list it under `terminal`",
                    states.names[index]
                )),
            );
        }
    }

    /// A transition is a duplicate when an earlier one takes the same event from one of its
    /// states, for the same role (or any), with a subset of its guards: whenever the later one
    /// could fire, the earlier one fires instead. A misspelt role might be any role, so a
    /// transition whose `by` is unknown shadows none (it may still be shadowed, by one for any
    /// role).
    fn duplicates(&mut self, file: &WorkflowFile, transitions: &[Transition]) {
        for (later_index, later) in transitions.iter().enumerate() {
            let later_guards: BTreeSet<&Guard> = later.guards.iter().collect();
            let shadowing = transitions[..later_index]
                .iter()
                .enumerate()
                .find_map(|(i, t)| {
                    let any_role = t.by.is_none() && file.transitions[i].by.is_none();
                    let same_role = any_role || (t.by.is_some() && t.by == later.by);
                    let state = t.from.iter().find(|s| later.from.contains(s))?;
                    let subset = t.guards.iter().all(|g| later_guards.contains(g));
                    (t.event == later.event && same_role && subset).then_some((i, state))
                });
            let Some((earlier_index, state)) = shadowing else {
                continue;
            };
            let span = self.span(&file.transitions[later_index].event);
            let earlier = self.span(&file.transitions[earlier_index].event);
            let message = format!(
                "transition `{}` from `{state}` can never fire: an earlier transition takes \
                 the same event from the same state",
                later.event
            );
            self.problems.push(
                WorkflowError::new(
                    ProblemKind::DuplicateTransition,
                    self.source,
                    span,
                    "never fires",
                    message,
                )
                .with_note(earlier, "this earlier transition wins")
                .with_help(Some(
                    "remove one, or give them different `from` states, roles or guards".to_owned(),
                )),
            );
        }
    }
}

/// Names as a list for people: `a`, `b` and `c`.
fn quoted(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The initial and terminal states, as far as they resolved.
struct Ends {
    initial: Option<usize>,
    terminal: BTreeSet<usize>,
    /// Whether `terminal` names a state `states` does not declare.
    terminal_unknown: bool,
}

/// The declared states: names in order, their spans, and an index by name.
struct States<'f> {
    names: Vec<&'f str>,
    spans: Vec<SourceSpan>,
    index: HashMap<&'f str, usize>,
}
