//! Rule tests as data: `tests/*.yaml` files of cases (inputs and the expected result or error)
//! run against a compiled [`RuleSet`].
//!
//! A test file names its rule and lists cases:
//!
//! ```yaml
//! rule: fees
//! fixtures:            # optional: a place for YAML anchors the cases reuse (`<<: *order`)
//!   order: &order {order: "market:1", currency: USD, lines: [{sku: A, qty: 2, price: "5"}]}
//! cases:
//!   - name: goods are price times qty
//!     input: {order: *order, settings: {handling: "1", shipping: "2"}}
//!     expect: {goods: "10", handling: "1", shipping: "2"}
//!   - name: a throwing rule
//!     input: {...}
//!     expect_error: part of the error message
//! ```
//!
//! `expect` is, by the rule's kind: for checks, a list of failure codes (or
//! `{code, message}` where the message must contain the given text); for fees,
//! `{goods, handling, shipping}` compared as numbers; for allocation, a warehouse id.
//!
//! Files are read with marked-yaml (anchors, aliases and merge keys resolved by `yaml.rs`), so
//! every result carries the line and column of its case, or of the node a malformed case or
//! file goes wrong at. A quoted scalar is text and a plain one is read as the field asks.

mod yaml;

use marked_yaml::types::MarkedMappingNode;
use marked_yaml::{from_node, Marker, Node};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;

use super::{
    AllocationInput, Failure, Fees, FeesInput, PushCheckInput, RuleError, RuleSet, ScriptKind,
};
use crate::pack::{FileKind, RulePack, SourceFile};

/// The outcome of every rule test case of a pack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestReport {
    /// Each case, in file then declaration order.
    pub cases: Vec<TestCaseResult>,
}

impl TestReport {
    /// How many cases passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed).count()
    }

    /// How many cases failed (a malformed file counts as one failed case).
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }

    /// The failed cases.
    pub fn failures(&self) -> impl Iterator<Item = &TestCaseResult> {
        self.cases.iter().filter(|c| !c.passed)
    }
}

/// One rule test case's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCaseResult {
    /// The test file's path.
    pub file: String,
    /// The 1-based line in the file: where the case starts, or where a malformed case or file
    /// goes wrong.
    pub line: usize,
    /// The 1-based column (in characters) on that line.
    pub column: usize,
    /// The case's name (`<file>` when the file itself is malformed).
    pub name: String,
    /// Whether the rule gave what the case expects.
    pub passed: bool,
    /// On failure, what was expected and what came out.
    pub detail: Option<String>,
}

impl TestCaseResult {
    /// `file:line:column`, as editors and terminals link it.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file, self.line, self.column)
    }
}

/// The name given to a failed case that stands for a whole malformed file.
const FILE_CASE: &str = "<file>";

/// A test file's keys; the cases are read one by one from their nodes, so that a malformed
/// case fails alone.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    rule: String,
    /// Only holds anchors.
    #[serde(default, rename = "fixtures")]
    _fixtures: IgnoredAny,
    #[serde(rename = "cases")]
    _cases: Vec<IgnoredAny>,
}

/// A case's keys; `input`, `expect` and `expect_error` are read from their nodes by the rule's
/// kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseKeys {
    name: String,
    #[serde(rename = "input")]
    _input: IgnoredAny,
    #[serde(default, rename = "expect")]
    _expect: IgnoredAny,
    #[serde(default, rename = "expect_error")]
    _expect_error: IgnoredAny,
}

/// One case, its nodes found.
struct TestCase<'n> {
    name: String,
    input: &'n Node,
    expect: Option<&'n Node>,
    expect_error: Option<&'n Node>,
}

/// One expected failure: a code, or a code and text its message must contain.
#[derive(Deserialize)]
#[serde(untagged)]
enum ExpectedFailure {
    Code(String),
    Full { code: String, message: String },
}

impl ExpectedFailure {
    fn matches(&self, got: &Failure) -> bool {
        match self {
            ExpectedFailure::Code(code) => *code == got.code,
            ExpectedFailure::Full { code, message } => {
                *code == got.code && got.message.contains(message.as_str())
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            ExpectedFailure::Code(code) => code.clone(),
            ExpectedFailure::Full { code, message } => format!("{code} (\"…{message}…\")"),
        }
    }
}

/// Why a case (or a file) failed, and the position to blame when it is not the case's start.
struct Failed {
    detail: String,
    at: Option<Marker>,
}

impl From<String> for Failed {
    fn from(detail: String) -> Failed {
        Failed { detail, at: None }
    }
}

pub(super) fn run(rules: &RuleSet, pack: &RulePack) -> TestReport {
    let mut report = TestReport::default();
    for file in pack.files(FileKind::Test) {
        run_file(rules, file, &mut report);
    }
    report
}

fn run_file(rules: &RuleSet, file: &SourceFile, report: &mut TestReport) {
    let result = |at: Option<Marker>, name: String, outcome: Result<(), String>| {
        let (line, column) = at.map_or((1, 1), |at| (at.line(), at.column()));
        TestCaseResult {
            file: file.path.clone(),
            line,
            column,
            name,
            passed: outcome.is_ok(),
            detail: outcome.err(),
        }
    };
    let malformed = |failed: Failed| result(failed.at, FILE_CASE.to_owned(), Err(failed.detail));
    let root = match yaml::parse(&file.text) {
        Ok(root) => root,
        Err(error) => {
            let at = Marker::new(0, 0, error.line, error.column);
            return report.cases.push(malformed(Failed {
                detail: format!("not a valid test file: {}", error.message),
                at: Some(at),
            }));
        }
    };
    let (rule, cases) = match read_file(rules, &root) {
        Ok(found) => found,
        Err(failed) => return report.cases.push(malformed(failed)),
    };
    for (index, case) in cases.iter().enumerate() {
        let start = start(case);
        let (name, outcome) = match read_case(case) {
            Ok(case) => (case.name.clone(), run_case(rules, rule, &case)),
            Err(failed) => (
                format!("case #{}", index.saturating_add(1)),
                Err(Failed {
                    detail: format!("malformed case: {}", failed.detail),
                    at: failed.at,
                }),
            ),
        };
        report.cases.push(match outcome {
            Ok(()) => result(start, name, Ok(())),
            Err(failed) => result(failed.at.or(start), name, Err(failed.detail)),
        });
    }
}

/// The rule a file tests (a script of the set) and its case nodes.
fn read_file<'n>(rules: &RuleSet, root: &'n Node) -> Result<(&'n str, &'n [Node]), Failed> {
    let keys: TestFile = read(root, "not a valid test file")?;
    let map = root.as_mapping();
    let rule = map.and_then(|m| m.get_scalar("rule"));
    let cases = map.and_then(|m| m.get_sequence("cases"));
    let (Some(rule), Some(cases)) = (rule, cases) else {
        return Err(Failed::from("the file has no cases".to_owned()));
    };
    if cases.is_empty() {
        return Err(Failed {
            detail: "the file has no cases".to_owned(),
            at: cases.span().start().copied(),
        });
    }
    if !rules.has_script(&keys.rule) {
        return Err(Failed {
            detail: format!("no script named `{}` in the rule set", keys.rule),
            at: rule.span().start().copied(),
        });
    }
    Ok((rule.as_str(), cases))
}

fn read_case(node: &Node) -> Result<TestCase<'_>, Failed> {
    let keys: CaseKeys = read(node, "")?;
    let map = node.as_mapping();
    let field = |key: &str| map.and_then(|m: &MarkedMappingNode| m.get_node(key));
    let input = field("input").ok_or_else(|| Failed::from("missing field `input`".to_owned()))?;
    Ok(TestCase {
        name: keys.name,
        input,
        expect: field("expect").filter(|node| !is_null(node)),
        expect_error: field("expect_error").filter(|node| !is_null(node)),
    })
}

/// A plain `~`, `null` or nothing, which stands for an absent value.
fn is_null(node: &Node) -> bool {
    node.as_scalar().is_some_and(|scalar| {
        scalar.may_coerce() && matches!(scalar.as_str(), "" | "~" | "null" | "Null" | "NULL")
    })
}

/// Where a node starts: for a mapping, its first key (the parser marks a block mapping where
/// its first `:` is).
fn start(node: &Node) -> Option<Marker> {
    let first_key = node.as_mapping().and_then(|map| map.keys().next());
    first_key
        .and_then(|key| key.span().start())
        .or(node.span().start())
        .copied()
}

/// Reads a node as `T`; the failure says `what` and points at the node to blame.
fn read<T: DeserializeOwned>(node: &Node, what: &str) -> Result<T, Failed> {
    from_node(node).map_err(|error| Failed {
        detail: if what.is_empty() {
            error.to_string()
        } else {
            format!("{what}: {error}")
        },
        at: Some(blame(node, &error)),
    })
}

/// Where a deserializing error of `node` lies: its own position when it has one (a number or a
/// boolean that does not parse); else, for an unknown field, the one key of that name in the
/// node; else the node's start.
fn blame(node: &Node, error: &marked_yaml::Error) -> Marker {
    let fallback = start(node).unwrap_or_else(|| Marker::new(0, 0, 1, 1));
    if let Some(at) = error.start_mark() {
        return at;
    }
    let marked_yaml::Error::UnknownFieldError(field, _, _) = error else {
        return fallback;
    };
    let mut found = Vec::new();
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        match node {
            Node::Mapping(map) => {
                found.extend(
                    map.keys()
                        .filter(|k| k.as_str() == field)
                        .map(|k| *k.span()),
                );
                stack.extend(map.values());
            }
            Node::Sequence(list) => stack.extend(list.iter()),
            Node::Scalar(_) => {}
        }
    }
    match found.as_slice() {
        [only] => only.start().copied().unwrap_or(fallback),
        _ => fallback,
    }
}

/// What a rule produced, ready to compare with a case's expectation.
enum Got {
    Failures(Vec<Failure>),
    Fees(Fees),
    Warehouse(String),
}

fn run_case(rules: &RuleSet, rule: &str, case: &TestCase<'_>) -> Result<(), Failed> {
    const INPUT: &str = "malformed input";
    let got = match ScriptKind::of(rule) {
        ScriptKind::Checks => {
            let parsed: PushCheckInput = read(case.input, INPUT)?;
            rules.guard(rule, &parsed).map(Got::Failures)
        }
        ScriptKind::Fees => {
            let parsed: FeesInput = read(case.input, INPUT)?;
            rules.fees(&parsed).map(Got::Fees)
        }
        ScriptKind::Allocation => {
            let parsed: AllocationInput = read(case.input, INPUT)?;
            rules.allocate_warehouse(&parsed).map(Got::Warehouse)
        }
    };
    match (case.expect, case.expect_error) {
        (Some(expect), None) => compare(expect, got),
        (None, Some(text)) => {
            let text: String = read(text, "malformed `expect_error`")?;
            compare_error(&text, got).map_err(Failed::from)
        }
        _ => Err(Failed::from(
            "a case needs exactly one of `expect` and `expect_error`".to_owned(),
        )),
    }
}

fn compare(expect: &Node, got: Result<Got, RuleError>) -> Result<(), Failed> {
    let got = got.map_err(|err| format!("expected a result, got the error: {err}"))?;
    const EXPECT: &str = "malformed `expect`";
    match got {
        Got::Failures(failures) => {
            let expected: Vec<ExpectedFailure> = read(expect, EXPECT)?;
            let same = expected.len() == failures.len()
                && expected.iter().zip(&failures).all(|(e, g)| e.matches(g));
            if same {
                return Ok(());
            }
            let expected: Vec<String> = expected.iter().map(ExpectedFailure::describe).collect();
            let got: Vec<String> = failures
                .iter()
                .map(|f| format!("{} (\"{}\")", f.code, f.message))
                .collect();
            Err(Failed::from(format!(
                "expected failures [{}], got [{}]",
                expected.join(", "),
                got.join(", ")
            )))
        }
        Got::Fees(fees) => {
            let expected: Fees = read(expect, EXPECT)?;
            if expected == fees {
                return Ok(());
            }
            Err(Failed::from(format!(
                "expected fees goods {} handling {} shipping {}, got goods {} handling {} shipping {}",
                expected.goods,
                expected.handling,
                expected.shipping,
                fees.goods,
                fees.handling,
                fees.shipping
            )))
        }
        Got::Warehouse(warehouse) => {
            let expected: String = read(expect, EXPECT)?;
            if expected == warehouse {
                return Ok(());
            }
            Err(Failed::from(format!(
                "expected warehouse `{expected}`, got `{warehouse}`"
            )))
        }
    }
}

fn compare_error(text: &str, got: Result<Got, RuleError>) -> Result<(), String> {
    match got {
        Err(err) if err.message.contains(text) => Ok(()),
        Err(err) => Err(format!(
            "expected an error containing \"{text}\", got the error: {err}"
        )),
        Ok(got) => Err(format!(
            "expected an error containing \"{text}\", got {}",
            describe(&got)
        )),
    }
}

fn describe(got: &Got) -> String {
    match got {
        Got::Failures(failures) => {
            let codes: Vec<&str> = failures.iter().map(|f| f.code.as_str()).collect();
            format!("failures [{}]", codes.join(", "))
        }
        Got::Fees(fees) => format!(
            "fees goods {} handling {} shipping {}",
            fees.goods, fees.handling, fees.shipping
        ),
        Got::Warehouse(warehouse) => format!("warehouse `{warehouse}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded pack's scripts, run against one test file of the given text.
    fn run_text(text: &str) -> TestReport {
        let embedded = RulePack::embedded();
        let rules = RuleSet::compile(&embedded).unwrap();
        let mut files: Vec<SourceFile> = embedded
            .files_all()
            .filter(|f| f.kind != FileKind::Test)
            .cloned()
            .collect();
        files.push(SourceFile {
            kind: FileKind::Test,
            path: "tests/t.yaml".to_owned(),
            stem: "t".to_owned(),
            text: text.to_owned(),
        });
        rules.run_tests(&RulePack::new("<test>".to_owned(), files))
    }

    /// Each case as `location name: detail`.
    fn outcomes(text: &str) -> Vec<String> {
        run_text(text)
            .cases
            .iter()
            .map(|c| {
                let detail = c.detail.as_deref().unwrap_or("ok");
                format!("{} {}: {detail}", c.location(), c.name)
            })
            .collect()
    }

    const FEES: &str = "\
rule: fees
fixtures:
  order: &order
    order: \"market:1\"
    currency: USD
    lines: [{sku: A, qty: 2, price: \"5\"}]
cases:
  - name: passes
    input: {order: *order, settings: {handling: \"1\", shipping: \"2\"}}
    expect: {goods: \"10\", handling: \"1\", shipping: \"2\"}
  - name: fails
    input:
      order: {<<: *order, currency: MYR}
      settings: {handling: \"1\", shipping: \"2\"}
    expect: {goods: \"11\", handling: \"1\", shipping: \"2\"}
  - name: misspelt
    input: {order: *order, settings: {handlng: \"1\", shipping: \"2\"}}
    expect: {goods: \"10\", handling: \"1\", shipping: \"2\"}
  - name: quoted quantity
    input:
      order: {order: \"market:1\", currency: USD, lines: [{sku: A, qty: \"2\", price: \"5\"}]}
      settings: {handling: \"1\", shipping: \"2\"}
    expect: {goods: \"10\", handling: \"1\", shipping: \"2\"}
  - nmae: no name
    input: {}
    expect: {}
  - name: both
    input: {order: *order, settings: {handling: \"1\", shipping: \"2\"}}
    expect: ~
    expect_error: null
";

    #[test]
    fn every_case_names_its_line_and_column() {
        assert_eq!(
            outcomes(FEES),
            [
                "tests/t.yaml:8:5 passes: ok",
                "tests/t.yaml:11:5 fails: expected fees goods 11 handling 1 shipping 2, got goods \
                 10 handling 1 shipping 2",
                "tests/t.yaml:17:39 misspelt: malformed input: Unknown field `handlng`, expected \
                 `handling` or `shipping`",
                "tests/t.yaml:21:7 quoted quantity: malformed input: invalid type: string \"2\", \
                 expected i64",
                "tests/t.yaml:24:5 case #5: malformed case: Unknown field `nmae`, expected one of \
                 `name`, `input`, `expect`, or `expect_error`",
                "tests/t.yaml:27:5 both: a case needs exactly one of `expect` and `expect_error`",
            ]
        );
    }

    #[test]
    fn a_malformed_file_is_one_case_pointing_at_the_problem() {
        let cases = |text: &str| outcomes(text);
        assert_eq!(
            cases("rule: fees\ncasse: []\n"),
            ["tests/t.yaml:2:1 <file>: not a valid test file: Unknown field `casse`, expected one \
              of `rule`, `fixtures`, or `cases`"]
        );
        assert_eq!(
            cases("rule: fess\ncases:\n  - {name: x, input: {}, expect: []}\n"),
            ["tests/t.yaml:1:7 <file>: no script named `fess` in the rule set"]
        );
        assert_eq!(
            cases("rule: fees\ncases:\n  - {name: x, name: y}\n"),
            ["tests/t.yaml:3:15 <file>: not a valid test file: duplicate key `name`"]
        );
        assert_eq!(
            cases("rule: fees\ncases: []\n"),
            ["tests/t.yaml:2:8 <file>: the file has no cases"]
        );
    }
}
