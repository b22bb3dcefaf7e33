//! The graph checks of a workflow (unreachable states, dead ends), judged on the transitions as
//! written even when some of their states are unknown names.
//!
//! The loader reports every problem of a file in one run, so the graph is checked alongside the
//! unknown names. An unknown name, though, is a state the author meant and misspelt, and the
//! graph without it would call the state it should have named unreachable or a dead end: that
//! report would be wrong, and would send the author to add a transition the fix makes needless.
//!
//! The rule: **an unknown state stands for any state**, and a graph problem is reported only when
//! it holds whichever state each unknown name turns out to be. Each transition with an unknown end
//! keeps its edge, to or from a stand-in node that reaches, or is reached from, every state:
//!
//! - an unknown `to` (from a reachable state) may lead anywhere, so no state is called
//!   unreachable; its `from` states are not dead ends when a terminal state exists;
//! - an unknown `from` may leave any state, so its `to` state is reachable, and no state is a dead
//!   end when that `to` state leads to a terminal one;
//! - an unknown `initial` leaves nothing to judge reachability from, and an unknown name in
//!   `terminal` might make any state terminal: the loader skips those checks altogether.
//!
//! What is held back is never wrong, only late: it appears once the names are fixed. Since a
//! stand-in reaches more than any one state would, the checks may hold back a problem that one
//! particular fix would leave, never report one that a fix would remove.

use std::collections::BTreeSet;

use petgraph::{
    graph::{DiGraph, NodeIndex},
    visit::{Dfs, Reversed},
};

/// One end of a transition: a declared state (its index in `states`) or an unknown name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// A state `states` declares.
    State(usize),
    /// A name `states` does not declare (reported on its own).
    Unknown,
}

/// The states and transitions of one workflow, with the two stand-ins for unknown names.
pub(crate) struct Graph {
    graph: DiGraph<(), ()>,
    /// How many declared states; they are the nodes `0..states`.
    states: usize,
}

impl Graph {
    /// The graph of `states` declared states and the `edges` (`from`, `to`) of the transitions.
    pub(crate) fn new(states: usize, edges: &[(End, End)]) -> Graph {
        let mut graph = DiGraph::with_capacity(states + 2, edges.len() + 2 * states);
        let nodes: Vec<NodeIndex> = (0..states).map(|_| graph.add_node(())).collect();
        // What an unknown `from` is left by, and what an unknown `to` leads to.
        let any_source = graph.add_node(());
        let any_target = graph.add_node(());
        let node = |end: End, stand_in: NodeIndex| match end {
            End::State(index) => nodes[index],
            End::Unknown => stand_in,
        };
        for &(from, to) in edges {
            graph.add_edge(node(from, any_source), node(to, any_target), ());
        }
        if edges.iter().any(|&(from, _)| from == End::Unknown) {
            for &state in &nodes {
                graph.add_edge(state, any_source, ());
            }
        }
        if edges.iter().any(|&(_, to)| to == End::Unknown) {
            for &state in &nodes {
                graph.add_edge(any_target, state, ());
            }
        }
        Graph { graph, states }
    }

    /// The states no path leads to from `initial`, whatever the unknown names are.
    pub(crate) fn unreachable(&self, initial: usize) -> Vec<usize> {
        let mut reached = vec![false; self.graph.node_count()];
        let mut dfs = Dfs::new(&self.graph, NodeIndex::new(initial));
        while let Some(node) = dfs.next(&self.graph) {
            reached[node.index()] = true;
        }
        (0..self.states).filter(|&index| !reached[index]).collect()
    }

    /// The states with no path to any of `terminal`, whatever the unknown names are.
    pub(crate) fn dead_ends(&self, terminal: &BTreeSet<usize>) -> Vec<usize> {
        let reversed = Reversed(&self.graph);
        let mut finishes = vec![false; self.graph.node_count()];
        let mut dfs = Dfs::empty(reversed);
        for &end in terminal {
            dfs.move_to(NodeIndex::new(end));
            while let Some(node) = dfs.next(reversed) {
                finishes[node.index()] = true;
            }
        }
        (0..self.states).filter(|&index| !finishes[index]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{End, Graph};
    use std::collections::BTreeSet;

    const A: End = End::State(0);
    const B: End = End::State(1);
    const C: End = End::State(2);
    const D: End = End::State(3);
    const UNKNOWN: End = End::Unknown;

    fn judged(edges: &[(End, End)]) -> (Vec<usize>, Vec<usize>) {
        let graph = Graph::new(4, edges);
        (graph.unreachable(0), graph.dead_ends(&BTreeSet::from([3])))
    }

    #[test]
    fn known_edges_are_judged_as_before() {
        assert_eq!(judged(&[(A, B), (B, D)]), (vec![2], vec![2]));
        assert_eq!(judged(&[(A, B), (B, C), (C, D)]), (vec![], vec![]));
    }

    #[test]
    fn an_unknown_to_may_lead_anywhere() {
        // From a reachable state: nothing is unreachable, and `b` may lead to the terminal state.
        assert_eq!(judged(&[(A, B), (B, UNKNOWN), (C, D)]), (vec![], vec![]));
        // From a state nothing reaches, it changes nothing about reachability.
        assert_eq!(judged(&[(A, D), (B, UNKNOWN)]), (vec![1, 2], vec![2]));
    }

    #[test]
    fn an_unknown_from_may_leave_any_state() {
        // `b` and `c` may be what the unknown name meant, so neither is a dead end; `c` is still
        // unreachable, whatever the name is.
        assert_eq!(judged(&[(A, B), (UNKNOWN, D)]), (vec![2], vec![]));
        // Into a state that finishes nowhere, it saves no state from being a dead end.
        assert_eq!(judged(&[(A, D), (UNKNOWN, C)]), (vec![1], vec![1, 2]));
    }

    #[test]
    fn an_edge_with_both_ends_unknown_may_be_any_edge() {
        assert_eq!(judged(&[(A, B), (UNKNOWN, UNKNOWN)]), (vec![], vec![]));
    }
}
