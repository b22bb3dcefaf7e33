//! Rule tests as data: `tests/*.yaml` files of cases (inputs and the expected result or error)
//! run against a compiled [`RuleSet`].
//!
//! A test file names its rule and lists cases:
//!
//! ```yaml
//! rule: fees
//! fixtures:            # optional: a place for YAML anchors the cases reuse (`<<: *order`)
//!   order: &order {order: "shopee:1", currency: USD, lines: [{sku: A, qty: 2, price: "5"}]}
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

use serde::Deserialize;
use serde_yaml::Value;

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
    /// The case's name (`<file>` when the file itself is malformed).
    pub name: String,
    /// Whether the rule gave what the case expects.
    pub passed: bool,
    /// On failure, what was expected and what came out.
    pub detail: Option<String>,
}

/// The name given to a failed case that stands for a whole malformed file.
const FILE_CASE: &str = "<file>";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    rule: String,
    #[serde(default)]
    #[allow(dead_code)] // only holds anchors
    fixtures: Value,
    cases: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestCase {
    name: String,
    input: Value,
    #[serde(default)]
    expect: Option<Value>,
    #[serde(default)]
    expect_error: Option<String>,
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

pub(super) fn run(rules: &RuleSet, pack: &RulePack) -> TestReport {
    let mut report = TestReport::default();
    for file in pack.files(FileKind::Test) {
        run_file(rules, file, &mut report);
    }
    report
}

fn run_file(rules: &RuleSet, file: &SourceFile, report: &mut TestReport) {
    let malformed = |detail: String| TestCaseResult {
        file: file.path.clone(),
        name: FILE_CASE.to_owned(),
        passed: false,
        detail: Some(detail),
    };
    let parsed = serde_yaml::from_str::<Value>(&file.text)
        .and_then(|mut value| value.apply_merge().map(|()| value))
        .and_then(serde_yaml::from_value::<TestFile>);
    let test_file = match parsed {
        Ok(test_file) => test_file,
        Err(err) => {
            return report
                .cases
                .push(malformed(format!("not a valid test file: {err}")))
        }
    };
    if test_file.cases.is_empty() {
        return report
            .cases
            .push(malformed("the file has no cases".to_owned()));
    }
    if !rules.has_script(&test_file.rule) {
        return report.cases.push(malformed(format!(
            "no script named `{}` in the rule set",
            test_file.rule
        )));
    }
    for (index, case) in test_file.cases.into_iter().enumerate() {
        let (name, outcome) = match serde_yaml::from_value::<TestCase>(case) {
            Ok(case) => (case.name.clone(), run_case(rules, &test_file.rule, case)),
            Err(err) => (
                format!("case #{}", index.saturating_add(1)),
                Err(format!("malformed case: {err}")),
            ),
        };
        report.cases.push(TestCaseResult {
            file: file.path.clone(),
            name,
            passed: outcome.is_ok(),
            detail: outcome.err(),
        });
    }
}

/// What a rule produced, ready to compare with a case's expectation.
enum Got {
    Failures(Vec<Failure>),
    Fees(Fees),
    Warehouse(String),
}

fn run_case(rules: &RuleSet, rule: &str, case: TestCase) -> Result<(), String> {
    let input = |what| format!("malformed input: {what}");
    let got = match ScriptKind::of(rule) {
        ScriptKind::Checks => {
            let parsed: PushCheckInput = serde_yaml::from_value(case.input).map_err(input)?;
            rules.guard(rule, &parsed).map(Got::Failures)
        }
        ScriptKind::Fees => {
            let parsed: FeesInput = serde_yaml::from_value(case.input).map_err(input)?;
            rules.fees(&parsed).map(Got::Fees)
        }
        ScriptKind::Allocation => {
            let parsed: AllocationInput = serde_yaml::from_value(case.input).map_err(input)?;
            rules.allocate_warehouse(&parsed).map(Got::Warehouse)
        }
    };
    match (case.expect, case.expect_error) {
        (Some(expect), None) => compare(expect, got),
        (None, Some(text)) => compare_error(&text, got),
        _ => Err("a case needs exactly one of `expect` and `expect_error`".to_owned()),
    }
}

fn compare(expect: Value, got: Result<Got, RuleError>) -> Result<(), String> {
    let got = got.map_err(|err| format!("expected a result, got the error: {err}"))?;
    let expectation = |what| format!("malformed `expect`: {what}");
    match got {
        Got::Failures(failures) => {
            let expected: Vec<ExpectedFailure> =
                serde_yaml::from_value(expect).map_err(expectation)?;
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
            Err(format!(
                "expected failures [{}], got [{}]",
                expected.join(", "),
                got.join(", ")
            ))
        }
        Got::Fees(fees) => {
            let expected: Fees = serde_yaml::from_value(expect).map_err(expectation)?;
            if expected == fees {
                return Ok(());
            }
            Err(format!(
                "expected fees goods {} handling {} shipping {}, got goods {} handling {} shipping {}",
                expected.goods,
                expected.handling,
                expected.shipping,
                fees.goods,
                fees.handling,
                fees.shipping
            ))
        }
        Got::Warehouse(warehouse) => {
            let expected: String = serde_yaml::from_value(expect).map_err(expectation)?;
            if expected == warehouse {
                return Ok(());
            }
            Err(format!(
                "expected warehouse `{expected}`, got `{warehouse}`"
            ))
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
