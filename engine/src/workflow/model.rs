//! The validated workflow: states, transitions, guards and roles as domain types. Values of these
//! types only come out of [`crate::workflow::load`], so their invariants (every name known, every
//! state reachable, ...) hold wherever they are used.

use std::{collections::BTreeMap, fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// Who may fire a transition (`by:` in a workflow file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The supplier's side of a partnership.
    Supplier,
    /// The distributor's side of a partnership.
    Distributor,
    /// The engine itself (delivery results, marketplace updates, expiry).
    System,
}

impl Role {
    /// Every role, in the order shown to users.
    pub const ALL: [Role; 3] = [Role::Supplier, Role::Distributor, Role::System];

    /// The name used in workflow files and the host protocol.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Supplier => "supplier",
            Role::Distributor => "distributor",
            Role::System => "system",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not `supplier`, `distributor` or `system`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (roles: supplier, distributor, system)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// A guard a transition evaluates before it fires.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Guard {
    /// A guard the engine implements, named in [`crate::workflow::builtins::GUARDS`].
    Builtin(String),
    /// `rule:<script>`: a Rhai script of the rule pack that returns failures.
    Rule(String),
}

impl Guard {
    /// The prefix that marks a guard as a Rhai script in a workflow file.
    pub const RULE_PREFIX: &'static str = "rule:";

    /// Reads a guard as written in a workflow file (`lines_mapped`, `rule:push_checks`).
    pub(crate) fn parse(text: &str) -> Guard {
        match text.strip_prefix(Guard::RULE_PREFIX) {
            Some(script) => Guard::Rule(script.to_owned()),
            None => Guard::Builtin(text.to_owned()),
        }
    }

    /// The built-in guard's or the script's name, without the `rule:` prefix.
    pub fn name(&self) -> &str {
        match self {
            Guard::Builtin(name) | Guard::Rule(name) => name,
        }
    }
}

impl fmt::Display for Guard {
    /// Writes the guard as a workflow file spells it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Guard::Builtin(name) => f.write_str(name),
            Guard::Rule(script) => write!(f, "{}{script}", Guard::RULE_PREFIX),
        }
    }
}

/// One transition of a workflow: on `event`, from any of `from`, to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub(crate) event: String,
    pub(crate) from: Vec<String>,
    pub(crate) to: String,
    pub(crate) by: Option<Role>,
    pub(crate) guards: Vec<Guard>,
    pub(crate) effects: Vec<String>,
    pub(crate) line: usize,
}

impl Transition {
    /// The event that fires it.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The states it may fire from.
    pub fn from(&self) -> &[String] {
        &self.from
    }

    /// The state it leads to.
    pub fn to(&self) -> &str {
        &self.to
    }

    /// The only role that may fire it, or `None` when any role may.
    pub fn by(&self) -> Option<Role> {
        self.by
    }

    /// Its guards, in the order they are evaluated.
    pub fn guards(&self) -> &[Guard] {
        &self.guards
    }

    /// Its effects (built-in names), in the order they are applied.
    pub fn effects(&self) -> &[String] {
        &self.effects
    }

    /// The line of its `event:` in the workflow file (1-based), for logs and tooling.
    pub fn line(&self) -> usize {
        self.line
    }
}

/// A validated workflow: every name is known, every state is reachable from the initial one and
/// can reach a terminal one, and no transition leaves a terminal state or shadows another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workflow {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) initial: String,
    pub(crate) terminal: Vec<String>,
    pub(crate) states: Vec<String>,
    pub(crate) transitions: Vec<Transition>,
    /// `migrate:`: a state no longer declared, and the declared state its entities move to.
    pub(crate) migrate: Vec<(String, String)>,
}

impl Workflow {
    /// Where entities of a state this workflow no longer declares move when it is installed.
    pub fn migration(&self, old_state: &str) -> Option<&str> {
        self.migrate
            .iter()
            .find(|(old, _)| old == old_state)
            .map(|(_, new)| new.as_str())
    }

    /// Its name (the `workflow:` key, equal to the file's stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file it was loaded from, as shown in diagnostics.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The state a new entity starts in.
    pub fn initial(&self) -> &str {
        &self.initial
    }

    /// The states no transition leaves.
    pub fn terminal(&self) -> &[String] {
        &self.terminal
    }

    /// Every state, in declaration order.
    pub fn states(&self) -> &[String] {
        &self.states
    }

    /// Every transition, in declaration order (the order in which candidates are tried).
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// Whether `state` is one of this workflow's states.
    pub fn has_state(&self, state: &str) -> bool {
        self.states.iter().any(|s| s == state)
    }

    /// Whether `state` is terminal.
    pub fn is_terminal(&self, state: &str) -> bool {
        self.terminal.iter().any(|s| s == state)
    }

    /// The events some transition accepts from `state`, each once, in declaration order (whatever
    /// the role or guards).
    pub fn events_from(&self, state: &str) -> Vec<&str> {
        let mut events: Vec<&str> = Vec::new();
        for transition in self.candidates_from(state) {
            if !events.contains(&transition.event.as_str()) {
                events.push(&transition.event);
            }
        }
        events
    }

    /// The transitions that may leave `state`, in declaration order (whatever the role or
    /// guards).
    pub fn transitions_from<'w, 's>(
        &'w self,
        state: &'s str,
    ) -> impl Iterator<Item = &'w Transition> + 's
    where
        'w: 's,
    {
        self.candidates_from(state)
    }

    /// The transitions that may leave `state`, in declaration order.
    pub(crate) fn candidates_from<'w, 's>(
        &'w self,
        state: &'s str,
    ) -> impl Iterator<Item = &'w Transition> + 's
    where
        'w: 's,
    {
        self.transitions
            .iter()
            .filter(move |t| t.from.iter().any(|s| s == state))
    }
}

/// The validated workflows of a rule pack, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkflowSet {
    pub(crate) workflows: BTreeMap<String, Workflow>,
}

impl WorkflowSet {
    /// The workflow called `name`, if the pack declares one.
    pub fn get(&self, name: &str) -> Option<&Workflow> {
        self.workflows.get(name)
    }

    /// Every workflow, in name order.
    pub fn iter(&self) -> impl Iterator<Item = &Workflow> {
        self.workflows.values()
    }

    /// How many workflows the pack declares.
    pub fn len(&self) -> usize {
        self.workflows.len()
    }

    /// Whether the pack declares no workflow.
    pub fn is_empty(&self) -> bool {
        self.workflows.is_empty()
    }
}
