//! Workflows: YAML state machines loaded into validated graphs.
