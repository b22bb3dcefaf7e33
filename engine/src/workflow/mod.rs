//! Workflows: YAML state machines loaded into validated graphs.
//!
//! [`load`] reads every `workflows/*.yaml` file of a [`crate::RulePack`], reports every problem
//! at once as [`WorkflowErrors`] (miette diagnostics pointing at the YAML), and otherwise returns
//! a [`WorkflowSet`]. A [`Workflow`] then decides which transition an event takes
//! ([`Workflow::fire`]) and draws itself ([`Workflow::to_dot`], [`Workflow::to_mermaid`]).

pub mod builtins;
mod diagnostic;
mod export;
mod file;
mod fire;
mod graph;
mod load;
mod model;
mod shape;
mod source;
mod suggest;

pub use diagnostic::{ProblemKind, WorkflowError, WorkflowErrors};
pub use file::json_schema;
pub use fire::{FireError, Fired, GuardFailure, GuardResult};
pub use load::{load, Vocabulary, WORKFLOW_STATES_MAX, WORKFLOW_TRANSITIONS_MAX};
pub use model::{Guard, Role, Transition, UnknownRole, Workflow, WorkflowSet};
