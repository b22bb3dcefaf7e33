//! The typed answers of the rule lifecycle's commands.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::{
    error::{Code, Error},
    workflow::{GuardFailure, Role, Transition},
};

/// `reload_rules`: the pack now in force, the one it replaced, and the entities its migrations
/// moved.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RulesReloaded {
    /// The version (a hash of its files) of the pack now in force.
    pub version: String,
    /// The version of the pack it replaced.
    pub previous: String,
    /// Entities moved by the pack's `migrate:` entries: workflow, then the state they left,
    /// then how many (empty when nothing moved).
    pub migrated: BTreeMap<String, BTreeMap<String, u64>>,
}

/// `rules_version`: the pack in force.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RulesVersion {
    /// The version (a hash of its files) of the pack in force.
    pub version: String,
    /// When the store last installed this version (RFC 3339, UTC); `null` if it never did.
    pub loaded_at: Option<String>,
}

/// `explain`: an entity's state and every transition out of it, evaluated now.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Explained {
    /// The workflow driving the entity.
    pub entity: String,
    /// The entity's id.
    pub id: String,
    /// Its current state.
    pub state: String,
    /// Every transition out of the state, in the workflow's order (the order they are tried).
    pub transitions: Vec<ExplainedTransition>,
}

/// One transition out of the entity's state, as it would go now.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ExplainedTransition {
    /// The event that fires it.
    pub event: String,
    /// The state it leads to.
    pub to: String,
    /// The only role that may fire it (`supplier`, `distributor`, `system`); `null` for any.
    pub by: Option<String>,
    /// Whether the acting account may fire it now: its role may, and every guard passes.
    pub allowed: bool,
    /// Every guard, each evaluated (a failing guard gives one entry per failure).
    pub guards: Vec<GuardVerdict>,
}

impl ExplainedTransition {
    /// A transition, for an actor acting as `role`, with its guards' verdicts.
    pub(crate) fn new(
        transition: &Transition,
        role: Role,
        guards: Vec<GuardVerdict>,
    ) -> ExplainedTransition {
        let may = transition.by().is_none_or(|by| by == role);
        ExplainedTransition {
            event: transition.event().to_owned(),
            to: transition.to().to_owned(),
            by: transition.by().map(|r| r.as_str().to_owned()),
            allowed: may && guards.iter().all(|g| g.passed),
            guards,
        }
    }
}

/// One guard's verdict.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GuardVerdict {
    /// The guard as the workflow names it (`stock_available`, `rule:push_checks`).
    pub guard: String,
    /// Whether it passed.
    pub passed: bool,
    /// The failure's code (`insufficient_balance`, ...); `null` when it passed.
    pub code: Option<String>,
    /// The failure's message; `null` when it passed.
    pub message: Option<String>,
}

impl GuardVerdict {
    /// The verdicts of a guard evaluated to `outcome`: one passing verdict, one per failure, or
    /// the evaluation's own error (a rule that fails to run); a failure of the machine
    /// (`internal`) is no verdict and is answered as such.
    pub(crate) fn of(
        guard: &str,
        outcome: Result<Vec<GuardFailure>, Error>,
    ) -> Result<Vec<GuardVerdict>, Error> {
        Ok(match outcome {
            Err(error) if error.code() == Code::Internal => return Err(error),
            Ok(failures) if failures.is_empty() => vec![GuardVerdict {
                guard: guard.to_owned(),
                passed: true,
                code: None,
                message: None,
            }],
            Ok(failures) => failures
                .into_iter()
                .map(|f| GuardVerdict::failed(guard, f.code, f.message))
                .collect(),
            Err(error) => vec![GuardVerdict::failed(
                guard,
                error.code().as_str().to_owned(),
                error.message().to_owned(),
            )],
        })
    }

    fn failed(guard: &str, code: String, message: String) -> GuardVerdict {
        GuardVerdict {
            guard: guard.to_owned(),
            passed: false,
            code: Some(code),
            message: Some(message),
        }
    }
}
