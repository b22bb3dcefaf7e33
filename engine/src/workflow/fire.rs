//! Firing an event: choosing the transition a workflow takes from a state, by declaration order,
//! role and guards. The caller evaluates the guards; this module only decides.

use serde::{Deserialize, Serialize};

use super::model::{Guard, Role, Transition, Workflow};

/// Why a guard refused a transition, as a guard (built-in or Rhai rule) reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardFailure {
    /// A stable error code, e.g. `insufficient_balance`.
    pub code: String,
    /// A message for people.
    pub message: String,
}

impl GuardFailure {
    /// A failure with this code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> GuardFailure {
        GuardFailure {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The outcome of one guard evaluated while choosing a transition, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuardResult {
    /// The guard as written in the workflow (`lines_mapped`, `rule:push_checks`).
    pub guard: String,
    /// The state the candidate transition that evaluated it leads to.
    pub to: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub failures: Vec<GuardFailure>,
}

/// The transition an event took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired<'w> {
    /// The transition that won.
    pub transition: &'w Transition,
    /// The state it leads to.
    pub to: &'w str,
    /// The effects to apply, in order.
    pub effects: &'w [String],
    /// Every guard evaluated while choosing, in evaluation order: the failed ones of earlier
    /// candidates, then the winner's.
    pub guards: Vec<GuardResult>,
}

/// Why an event could not fire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FireError<E> {
    /// No transition takes this event from this state.
    #[error("event `{event}` is not allowed in state `{state}`")]
    InvalidTransition {
        /// The entity's current state.
        state: String,
        /// The event fired.
        event: String,
    },
    /// Transitions take this event from this state, but none may be fired by this role.
    #[error("role `{role}` may not fire `{event}` in state `{state}`")]
    RoleNotAllowed {
        /// The entity's current state.
        state: String,
        /// The event fired.
        event: String,
        /// The role that tried.
        role: Role,
    },
    /// Every eligible transition had a failing guard; every failure, in evaluation order.
    #[error("{}", describe_failures(.0))]
    GuardsFailed(Vec<GuardFailure>),
    /// The guard evaluator failed (a rule error, say); nothing was decided.
    #[error("guard evaluation failed: {0}")]
    Eval(E),
}

fn describe_failures(failures: &[GuardFailure]) -> String {
    let messages: Vec<String> = failures
        .iter()
        .map(|f| format!("{}: {}", f.code, f.message))
        .collect();
    format!("guards failed: {}", messages.join("; "))
}

impl Workflow {
    /// Fires `event` from `state` as `role`. Candidates are the transitions taking `event` from
    /// `state`, in declaration order; those whose `by` names another role are not eligible. Each
    /// eligible candidate's guards are evaluated in order by `eval` (an empty list means the guard
    /// passed) until one fails; the first candidate whose guards all pass wins.
    pub fn fire<E>(
        &self,
        state: &str,
        event: &str,
        role: Role,
        mut eval: impl FnMut(&Guard) -> Result<Vec<GuardFailure>, E>,
    ) -> Result<Fired<'_>, FireError<E>> {
        let mut candidates = 0_usize;
        let mut failures = Vec::new();
        let mut results = Vec::new();
        for transition in self
            .candidates_from(state)
            .filter(|t| t.event == event)
            .inspect(|_| candidates += 1)
            .filter(|t| t.by.is_none_or(|by| by == role))
        {
            let mut passed = true;
            for guard in &transition.guards {
                let failed = eval(guard).map_err(FireError::Eval)?;
                passed = failed.is_empty();
                failures.extend(failed.iter().cloned());
                results.push(GuardResult {
                    guard: guard.to_string(),
                    to: transition.to.clone(),
                    passed,
                    failures: failed,
                });
                if !passed {
                    break;
                }
            }
            if passed {
                return Ok(Fired {
                    transition,
                    to: &transition.to,
                    effects: &transition.effects,
                    guards: results,
                });
            }
        }
        if candidates == 0 {
            return Err(FireError::InvalidTransition {
                state: state.to_owned(),
                event: event.to_owned(),
            });
        }
        if failures.is_empty() {
            return Err(FireError::RoleNotAllowed {
                state: state.to_owned(),
                event: event.to_owned(),
                role,
            });
        }
        Err(FireError::GuardsFailed(failures))
    }
}
