//! A workflow drawn as SVG on the server (no script, nothing fetched): states as boxes in rows by
//! their distance from the initial state, transitions as arrows labelled with their events. A
//! layout this simple can cross arrows on a large workflow; the page lists every transition as
//! a table beside it, the text a screen reader reads.

use std::{collections::BTreeMap, fmt::Write as _};

use distributary::workflow::Workflow;

const BOX_WIDTH: usize = 170;
const BOX_HEIGHT: usize = 36;
const GAP_X: usize = 40;
const GAP_Y: usize = 110;
const MARGIN: usize = 24;
/// The most characters of an edge's label drawn; the table has them whole.
const LABEL_CHARS_MAX: usize = 40;

/// Where each state's box is: its row and column.
struct Layout {
    rows: Vec<Vec<usize>>,
    place: Vec<(usize, usize)>,
    columns: usize,
}

impl Layout {
    /// Rows by breadth-first distance from the initial state; the states no path reaches (a
    /// validated workflow has none) in a last row.
    fn of(workflow: &Workflow) -> Layout {
        let states = workflow.states();
        let index = |name: &str| states.iter().position(|s| s == name);
        let mut depth: Vec<Option<usize>> = vec![None; states.len()];
        let mut queue = std::collections::VecDeque::new();
        if let Some(initial) = index(workflow.initial()) {
            depth[initial] = Some(0);
            queue.push_back(initial);
        }
        while let Some(state) = queue.pop_front() {
            let next = depth[state].unwrap_or_default() + 1;
            for transition in workflow.transitions() {
                if !transition.from().iter().any(|s| *s == states[state]) {
                    continue;
                }
                if let Some(to) = index(transition.to()) {
                    if depth[to].is_none() {
                        depth[to] = Some(next);
                        queue.push_back(to);
                    }
                }
            }
        }
        let last = depth.iter().flatten().max().map_or(0, |d| d + 1);
        let mut rows: Vec<Vec<usize>> = Vec::new();
        let mut place = vec![(0, 0); states.len()];
        for (state, depth) in depth.iter().enumerate() {
            let row = depth.unwrap_or(last);
            if rows.len() <= row {
                rows.resize(row + 1, Vec::new());
            }
            place[state] = (row, rows[row].len());
            rows[row].push(state);
        }
        rows.retain(|row| !row.is_empty());
        // Each row in the order of its states' predecessors' columns (their barycentre), so
        // arrows between rows cross less.
        for row in 1..rows.len() {
            let (above, below) = rows.split_at_mut(row);
            let column_of = |state: usize| {
                above[row - 1]
                    .iter()
                    .position(|s| *s == state)
                    .map(|column| column as f64)
            };
            let centre = |state: usize| {
                let columns: Vec<f64> = workflow
                    .transitions()
                    .iter()
                    .filter(|t| t.to() == states[state])
                    .flat_map(|t| t.from().iter())
                    .filter_map(|from| index(from).and_then(column_of))
                    .collect();
                if columns.is_empty() {
                    f64::MAX
                } else {
                    columns.iter().sum::<f64>() / columns.len() as f64
                }
            };
            below[0].sort_by(|a, b| centre(*a).total_cmp(&centre(*b)));
        }
        for (row, states) in rows.iter().enumerate() {
            for (column, state) in states.iter().enumerate() {
                place[*state] = (row, column);
            }
        }
        let columns = rows.iter().map(Vec::len).max().unwrap_or(1);
        Layout {
            rows,
            place,
            columns,
        }
    }

    fn width(&self) -> usize {
        // Room on the right for the arrows back up.
        2 * MARGIN
            + self.columns * BOX_WIDTH
            + self.columns.saturating_sub(1) * GAP_X
            + 50
            + 25 * self.rows.len()
    }

    fn height(&self) -> usize {
        2 * MARGIN + self.rows.len() * BOX_HEIGHT + self.rows.len().saturating_sub(1) * GAP_Y
    }

    /// The top-left corner of a state's box; a short row is centred.
    fn corner(&self, state: usize) -> (usize, usize) {
        let (row, column) = self.place[state];
        let shift = (self.columns - self.rows[row].len()) * (BOX_WIDTH + GAP_X) / 2;
        (
            MARGIN + shift + column * (BOX_WIDTH + GAP_X),
            MARGIN + row * (BOX_HEIGHT + GAP_Y),
        )
    }
}

/// The workflow as an `<svg>` element; `id` keeps its marker's id unique on the page.
pub(crate) fn svg(workflow: &Workflow, id: usize) -> String {
    let layout = Layout::of(workflow);
    let states = workflow.states();
    let (width, height) = (layout.width(), layout.height());
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" role="img" aria-labelledby="graph-title-{id}" class="graph"><title id="graph-title-{id}">The {name} workflow: {count} states, {edges} transitions (listed in the table below)</title><defs><marker id="arrow-{id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#3a3a3a"/></marker></defs>"##,
        name = escape(workflow.name()),
        count = states.len(),
        edges = workflow.transitions().len(),
    );
    // One arrow per (from, to) pair, its label every event between them.
    let mut edges: BTreeMap<(usize, usize), Vec<&str>> = BTreeMap::new();
    for transition in workflow.transitions() {
        let Some(to) = states.iter().position(|s| s == transition.to()) else {
            continue;
        };
        for from in transition.from() {
            if let Some(from) = states.iter().position(|s| s == from) {
                let events = edges.entry((from, to)).or_default();
                if !events.contains(&transition.event()) {
                    events.push(transition.event());
                }
            }
        }
    }
    let mut leaving: BTreeMap<usize, usize> = BTreeMap::new();
    for ((from, to), events) in &edges {
        let nth = leaving.entry(*from).or_default();
        arrow(
            &mut out,
            &layout,
            (*from, *to),
            *nth,
            &events.join(", "),
            id,
        );
        *nth += 1;
    }
    for (state, name) in states.iter().enumerate() {
        let (x, y) = layout.corner(state);
        let initial = name == workflow.initial();
        let _ = write!(
            out,
            r##"<rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6" fill="#f2f5f9" stroke="#1a1a1a" stroke-width="{w}"/>"##,
            w = if initial { 3 } else { 1 }
        );
        if workflow.is_terminal(name) {
            let _ = write!(
                out,
                r##"<rect x="{}" y="{}" width="{}" height="{}" rx="4" fill="none" stroke="#1a1a1a"/>"##,
                x + 3,
                y + 3,
                BOX_WIDTH - 6,
                BOX_HEIGHT - 6
            );
        }
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" text-anchor="middle" font-size="14" fill="#1a1a1a">{}</text>"##,
            x + BOX_WIDTH / 2,
            y + BOX_HEIGHT / 2 + 5,
            escape(name)
        );
    }
    out.push_str("</svg>");
    out
}

/// An arrow between two boxes: down to a later row (its label staggered by `nth`, the arrow's
/// rank among those leaving the same state), a curve on the right back up to an earlier row, an
/// arc over the boxes within a row, a loop on the right for a state to itself.
fn arrow(
    out: &mut String,
    layout: &Layout,
    (from, to): (usize, usize),
    nth: usize,
    label: &str,
    id: usize,
) {
    let (fx, fy) = layout.corner(from);
    let (tx, ty) = layout.corner(to);
    let (from_row, to_row) = (layout.place[from].0, layout.place[to].0);
    let (fx, fy, tx, ty) = (fx as i64, fy as i64, tx as i64, ty as i64);
    let (w, h) = (BOX_WIDTH as i64, BOX_HEIGHT as i64);
    let (path, lx, ly) = if from == to {
        let (x, y) = (fx + w, fy + h / 2);
        (
            format!(
                "M{x},{} C{},{} {},{} {x},{}",
                y - 8,
                x + 40,
                y - 30,
                x + 40,
                y + 30,
                y + 8
            ),
            x + 30,
            y - 22,
        )
    } else if to_row > from_row {
        let (x1, y1, x2, y2) = (fx + w / 2, fy + h, tx + w / 2, ty);
        // A quarter, a half or three quarters of the way: fanned-out arrows keep apart.
        let part = [2, 1, 3][nth % 3];
        let (lx, ly) = if part == 1 {
            ((x1 + x2) / 2, (y1 + y2) / 2)
        } else if part == 2 {
            ((3 * x1 + x2) / 4, (3 * y1 + y2) / 4)
        } else {
            ((x1 + 3 * x2) / 4, (y1 + 3 * y2) / 4)
        };
        (format!("M{x1},{y1} L{x2},{y2}"), lx, ly)
    } else if to_row < from_row {
        let rows = (from_row - to_row) as i64;
        let (x1, y1, x2, y2) = (fx + w, fy + h / 2 + 6, tx + w, ty + h / 2 - 6);
        let (cx, cy) = (x1.max(x2) + 50 + 25 * rows, (y1 + y2) / 2);
        (
            format!("M{x1},{y1} Q{cx},{cy} {x2},{y2}"),
            (x1 + 2 * cx + x2) / 4,
            (y1 + 2 * cy + y2) / 4,
        )
    } else {
        let (x1, x2, y) = (fx + w / 2, tx + w / 2, fy);
        let cy = y - GAP_Y as i64 / 2;
        (
            format!("M{x1},{y} Q{},{cy} {x2},{y}", (x1 + x2) / 2),
            (x1 + x2) / 2,
            (y + cy) / 2,
        )
    };
    let text: String = if label.chars().count() > LABEL_CHARS_MAX {
        let cut: String = label.chars().take(LABEL_CHARS_MAX - 1).collect();
        format!("{cut}…")
    } else {
        label.to_owned()
    };
    let _ = write!(
        out,
        r##"<path d="{path}" fill="none" stroke="#3a3a3a" stroke-width="1.5" marker-end="url(#arrow-{id})"/><text x="{lx}" y="{ly}" text-anchor="middle" font-size="12" fill="#1a1a1a" stroke="#ffffff" stroke-width="4" paint-order="stroke">{}</text>"##,
        escape(&text)
    );
}

/// Text as SVG (XML) content or an attribute value.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use distributary::{Engine, EngineOptions};

    use super::*;

    #[test]
    fn every_state_is_a_box_and_every_pair_of_states_an_arrow() {
        let engine = Engine::open(Path::new(":memory:"), EngineOptions::default()).unwrap();
        let workflows = engine.workflows();
        let order = workflows.get("distribution_order").unwrap();
        let drawn = svg(order, 0);
        for state in order.states() {
            assert!(drawn.contains(&format!(">{state}</text>")), "{state}");
        }
        let boxes = drawn.matches("<rect").count();
        assert_eq!(boxes, order.states().len() + order.terminal().len());
        assert!(drawn.matches("<path d=").count() >= order.states().len() - 1);
        assert!(drawn.contains(">pack</text>"));
        let layout = Layout::of(order);
        // The initial state alone in the first row.
        assert_eq!(layout.rows[0].len(), 1);
        assert_eq!(order.states()[layout.rows[0][0]], order.initial());
    }

    #[test]
    fn names_are_escaped() {
        assert_eq!(escape("a<b>&\"c"), "a&lt;b&gt;&amp;&quot;c");
    }
}
