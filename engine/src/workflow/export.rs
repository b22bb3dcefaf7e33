//! Drawing a workflow: Graphviz DOT and Mermaid `stateDiagram-v2`. States get generated ids
//! (`s0`, `s1`, ...) and their names become labels, so any name draws correctly.

use std::fmt::Write as _;

use super::model::{Transition, Workflow};

impl Workflow {
    /// The workflow as a Graphviz `digraph`: a point leads to the initial state, terminal states
    /// have a double border, edges are labelled `event [guards] / role`.
    pub fn to_dot(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "digraph {} {{", dot_quote(&self.name));
        out.push_str("  rankdir=LR;\n  node [shape=box, style=rounded];\n");
        out.push_str("  start [shape=point, label=\"\"];\n");
        for (index, state) in self.states.iter().enumerate() {
            let border = if self.is_terminal(state) {
                ", peripheries=2"
            } else {
                ""
            };
            let _ = writeln!(out, "  s{index} [label={}{border}];", dot_quote(state));
        }
        if let Some(initial) = self.state_index(&self.initial) {
            let _ = writeln!(out, "  start -> s{initial};");
        }
        for (from, to, transition) in self.edges() {
            let label = dot_quote(&edge_label(transition));
            let _ = writeln!(out, "  s{from} -> s{to} [label={label}];");
        }
        out.push_str("}\n");
        out
    }

    /// The workflow as a Mermaid `stateDiagram-v2`: `[*] -->` the initial state, terminal states
    /// `--> [*]`, edges labelled `event [guards] / role`.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("stateDiagram-v2\n");
        for (index, state) in self.states.iter().enumerate() {
            let _ = writeln!(out, "    state \"{}\" as s{index}", mermaid_escape(state));
        }
        if let Some(initial) = self.state_index(&self.initial) {
            let _ = writeln!(out, "    [*] --> s{initial}");
        }
        for (from, to, transition) in self.edges() {
            let label = mermaid_escape(&edge_label(transition));
            let _ = writeln!(out, "    s{from} --> s{to} : {label}");
        }
        for state in &self.terminal {
            if let Some(index) = self.state_index(state) {
                let _ = writeln!(out, "    s{index} --> [*]");
            }
        }
        out
    }

    fn state_index(&self, state: &str) -> Option<usize> {
        self.states.iter().position(|s| s == state)
    }

    /// One edge per (transition, from state), in declaration order.
    fn edges(&self) -> impl Iterator<Item = (usize, usize, &Transition)> + '_ {
        self.transitions.iter().flat_map(move |transition| {
            let to = self.state_index(&transition.to);
            transition
                .from
                .iter()
                .filter_map(move |from| Some((self.state_index(from)?, to?, transition)))
        })
    }
}

/// `event [guard, guard] / role`, the guards and role only when present.
fn edge_label(transition: &Transition) -> String {
    let mut label = transition.event.clone();
    if !transition.guards.is_empty() {
        let guards: Vec<String> = transition.guards.iter().map(ToString::to_string).collect();
        let _ = write!(label, " [{}]", guards.join(", "));
    }
    if let Some(by) = transition.by {
        let _ = write!(label, " / {by}");
    }
    label
}

/// A DOT quoted string: backslashes and quotes escaped, line breaks as `\n`.
fn dot_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Mermaid text: characters outside a plain set become `#<code>;` entity codes, which Mermaid
/// renders as the character itself.
fn mermaid_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || " _-[],./:".contains(c) {
            out.push(c);
        } else {
            let _ = write!(out, "#{};", u32::from(c));
        }
    }
    out
}
