//! The rule lifecycle: a pack compiled and checked against the engine's contract
//! ([`Installed::compile`]), checked against the live store and installed in it ([`install`]:
//! migrations, the pack's files kept by version, the install recorded), and the commands around
//! it (`reload_rules`, `rules_version`, `explain`), and `backtest`, which replays a candidate
//! pack against a store's recorded decisions.
//!
//! A pack is installed in the transaction of the command (or the open) that brings it in, and
//! swapped into the engine only after that transaction commits: a command sees one pack from its
//! start to its answer.

pub mod answers;
pub mod backtest;
mod explain;
mod handlers;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

pub use backtest::backtest;
pub use explain::explain;
pub(crate) use handlers::reload_rules;
pub use handlers::rules_version;

use crate::{
    contract,
    error::{Code, Error},
    model::AuditEntry,
    pack::{FileKind, RulePack, SourceFile},
    rules::{RuleErrors, RuleSet},
    store::{RulesLoad, Tx},
    workflow::{self, Vocabulary, WorkflowErrors, WorkflowSet},
};

/// The actor of a migration's history entries.
const MIGRATION_ACTOR: &str = "system";

/// A pack ready to run: its files, its compiled rules and its validated workflows.
#[derive(Debug)]
pub struct Installed {
    /// The pack's files.
    pub pack: RulePack,
    /// Its compiled scripts.
    pub rules: RuleSet,
    /// Its workflows, checked against the engine's contract.
    pub workflows: WorkflowSet,
}

/// Why a pack cannot be compiled: every diagnostic of its scripts and workflows.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum PackErrors {
    /// A script does not compile.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Rules(#[from] RuleErrors),
    /// A workflow file does not validate, or breaks the engine's contract.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Workflows(#[from] WorkflowErrors),
    /// Both.
    #[error("{0}; {1}")]
    Both(RuleErrors, WorkflowErrors),
}

impl PackErrors {
    /// The protocol's `rules_invalid`, with every diagnostic located.
    pub fn to_error(&self) -> Error {
        let mut diagnostics = Vec::new();
        let (rules, workflows) = match self {
            PackErrors::Rules(r) => (Some(r), None),
            PackErrors::Workflows(w) => (None, Some(w)),
            PackErrors::Both(r, w) => (Some(r), Some(w)),
        };
        for e in rules.iter().flat_map(|r| &r.errors) {
            diagnostics.push(json!({"code": "rules::syntax", "message": e.message,
                "path": e.path, "line": e.line, "column": e.column}));
        }
        for e in workflows.iter().flat_map(|w| w.problems()) {
            diagnostics.push(json!({"code": e.code(), "message": e.to_string(),
                "path": e.path(), "line": e.line(), "column": e.column(), "help": e.help_text()}));
        }
        Error::new(
            Code::RulesInvalid,
            format!("the rule pack does not load: {self}"),
        )
        .with("diagnostics", Value::Array(diagnostics))
    }
}

impl Installed {
    /// Compiles `pack` and checks its workflows against the engine's contract; every problem is
    /// reported at once.
    pub fn compile(pack: RulePack) -> Result<Installed, PackErrors> {
        let rules = RuleSet::compile(&pack);
        let scripts = pack
            .files(FileKind::Script)
            .map(|f| f.stem.clone())
            .collect();
        let workflows = workflow::load(&pack, &Vocabulary::engine(scripts));
        match (rules, workflows) {
            (Ok(rules), Ok(workflows)) => Ok(Installed {
                pack,
                rules,
                workflows,
            }),
            (Err(r), Ok(_)) => Err(PackErrors::Rules(r)),
            (Ok(_), Err(w)) => Err(PackErrors::Workflows(w)),
            (Err(r), Err(w)) => Err(PackErrors::Both(r, w)),
        }
    }

    /// The pack's version.
    pub fn version(&self) -> &str {
        self.rules.version()
    }

    /// Runs the pack's own rule tests (`tests/*.yaml`) as `distributary test` does. A reload
    /// and `check --db` install nothing whose scripts fail one of them: the answer is
    /// `rules_invalid` with a diagnostic per failing case (its file, line and column, the case's
    /// name and what came out).
    pub fn check_tests(&self) -> Result<(), Error> {
        let report = self.rules.run_tests(&self.pack);
        let failed = report.failed();
        if failed == 0 {
            return Ok(());
        }
        let diagnostics = report
            .failures()
            .map(|case| {
                let message = match &case.detail {
                    Some(detail) => format!("rule test `{}` fails: {detail}", case.name),
                    None => format!("rule test `{}` fails", case.name),
                };
                json!({"code": TEST_FAILED, "message": message, "path": case.file,
                    "line": case.line, "column": case.column})
            })
            .collect();
        Err(Error::new(
            Code::RulesInvalid,
            format!(
                "the rule pack fails {failed} of its own rule tests ({} passed); run \
                 `distributary test` on it",
                report.passed()
            ),
        )
        .with("diagnostics", Value::Array(diagnostics)))
    }
}

/// The diagnostic code of a failing rule test (`Installed::check_tests`).
pub const TEST_FAILED: &str = "rules::test_failed";

/// What installing a pack does to the live store: entities moved per workflow and state.
pub type Migrated = BTreeMap<String, BTreeMap<String, u64>>;

/// Checks the live entities against `next`: an entity in a state `next` does not declare (and
/// that the pack before it did not hold terminal) must have a `migrate:` entry. Answers the moves
/// to make, or `rules_invalid` with the states and their counts.
pub fn plan(
    tx: &Tx<'_>,
    next: &WorkflowSet,
    before: Option<&WorkflowSet>,
) -> Result<Migrated, Error> {
    let mut moves = Migrated::new();
    let mut stranded = Migrated::new();
    for needs in contract::NEEDS {
        let Some(workflow) = next.get(needs.workflow) else {
            continue;
        };
        let old_terminal: BTreeSet<&str> = before
            .and_then(|set| set.get(needs.workflow))
            .map(|w| w.terminal().iter().map(String::as_str).collect())
            .unwrap_or_default();
        for (state, count) in tx.entities_by_state(needs.workflow)? {
            if workflow.has_state(&state) || old_terminal.contains(state.as_str()) {
                continue;
            }
            let into = if workflow.migration(&state).is_some() {
                &mut moves
            } else {
                &mut stranded
            };
            into.entry(needs.workflow.to_owned())
                .or_default()
                .insert(state, count);
        }
    }
    if stranded.is_empty() {
        return Ok(moves);
    }
    let mut listed = Vec::new();
    for (workflow, states) in &stranded {
        for (state, count) in states {
            listed.push(format!("{count} {workflow} in `{state}`"));
        }
    }
    Err(Error::new(
        Code::RulesInvalid,
        format!(
            "live entities sit in states the new pack does not declare: {}; declare the states \
             again, or map them with `migrate:` in the workflow file",
            listed.join(", ")
        ),
    )
    .with("states", json!(stranded)))
}

/// What installing a pack in a store would do (`distributary check --rules DIR --db STORE`).
#[derive(Debug)]
pub struct ReloadPlan {
    /// The version the store last installed, if any.
    pub in_force: Option<String>,
    /// The entities the pack's migrations would move (workflow, state left, count).
    pub migrated: Migrated,
}

/// Checks `next` against the store at `path` as a reload would (its rule tests, then the live
/// store in a read transaction): nothing is written (a store of an older schema is refused rather than
/// migrated). Answers what the install would do, or `rules_invalid` with the stranded states.
pub fn check_store(path: &std::path::Path, next: &Installed) -> Result<ReloadPlan, Error> {
    // A PostgreSQL database that does not answer, or has no store, is refused as it opens.
    if !crate::store::is_postgres(path) && !path.is_file() {
        return Err(Error::new(
            Code::NotFound,
            format!("no store at {}", path.display()),
        ));
    }
    next.check_tests()?;
    let mut store = crate::store::Store::open_existing(path)?;
    store.read(|tx| {
        let in_force = tx.latest_rules_load()?.map(|load| load.version);
        let before = stored_workflows(tx)?;
        let migrated = plan(tx, &next.workflows, before.as_ref())?;
        Ok(ReloadPlan { in_force, migrated })
    })
}

/// Installs `next` in the store: applies the migrations `plan` found (a `migrate` history entry
/// per moved entity, with `next`'s version), keeps its files by version, and records the
/// install when the version changes. Answers what moved and the version it replaced.
pub fn install(
    tx: &Tx<'_>,
    next: &Installed,
    before: Option<&WorkflowSet>,
    at: &str,
) -> Result<(Migrated, Option<String>), Error> {
    let migrated = plan(tx, &next.workflows, before)?;
    let version = next.version();
    let entry = AuditEntry {
        // Each moved entity's own owner (`Tx::migrate_entities`).
        account: String::new(),
        entity_kind: String::new(),
        entity_id: String::new(),
        from_state: None,
        to_state: String::new(),
        event: contract::MIGRATE_EVENT.to_owned(),
        actor: MIGRATION_ACTOR.to_owned(),
        user: None,
        rules_version: version.to_owned(),
        guards: json!([]),
        at: at.to_owned(),
        prev: None,
        reason: None,
    };
    for (name, states) in &migrated {
        let workflow = next.workflows.get(name);
        for from in states.keys() {
            if let Some(to) = workflow.and_then(|w| w.migration(from)) {
                tx.migrate_entities(name, from, to, &entry)?;
            }
        }
    }
    tx.keep_rule_pack(version, next.pack.origin(), &files_json(&next.pack), at)?;
    let previous = tx.latest_rules_load()?.map(|load| load.version);
    if previous.as_deref() != Some(version) {
        tx.record_rules_load(&RulesLoad {
            version: version.to_owned(),
            previous: previous.clone(),
            at: at.to_owned(),
        })?;
    }
    Ok((migrated, previous))
}

/// The workflows of the pack the store last installed, read back from its kept files: what
/// "terminal" meant for the entities already there. `None` when the store has none, or its
/// files no longer load.
pub fn stored_workflows(tx: &Tx<'_>) -> Result<Option<WorkflowSet>, Error> {
    let Some(load) = tx.latest_rules_load()? else {
        return Ok(None);
    };
    let Some(files) = tx.rule_pack_files(&load.version)? else {
        return Ok(None);
    };
    let pack = pack_from_json(&load.version, &files);
    let scripts = pack
        .files(FileKind::Script)
        .map(|f| f.stem.clone())
        .collect();
    Ok(workflow::load(&pack, &Vocabulary::builtin(scripts)).ok())
}

/// A pack's files as kept in the store: `[{kind, stem, path, text}]`.
fn files_json(pack: &RulePack) -> Value {
    Value::Array(
        pack.files_all()
            .map(|f| json!({"kind": kind_name(f.kind), "stem": f.stem, "path": f.path, "text": f.text}))
            .collect(),
    )
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Workflow => "workflow",
        FileKind::Script => "script",
        FileKind::Test => "test",
    }
}

/// A kept pack read back (files of an unknown kind are skipped).
fn pack_from_json(version: &str, files: &Value) -> RulePack {
    let files = files
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let kind = match f.get("kind")?.as_str()? {
                "workflow" => FileKind::Workflow,
                "script" => FileKind::Script,
                "test" => FileKind::Test,
                _ => return None,
            };
            Some(SourceFile {
                kind,
                path: f.get("path")?.as_str()?.to_owned(),
                stem: f.get("stem")?.as_str()?.to_owned(),
                text: f.get("text")?.as_str()?.to_owned(),
            })
        })
        .collect();
    RulePack::new(format!("<kept pack {version}>"), files)
}
