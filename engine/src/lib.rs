//! Distributary: an embeddable workflow rules engine for e-commerce distribution.
//!
//! A host opens an [`Engine`] on a SQLite file and sends it commands; workflows declared in YAML
//! drive partnerships, distribution products and orders, and Rhai rules decide push checks, fees
//! and warehouse allocation. See `ARCHITECTURE.md` for the codemap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod pack;
pub mod plugin_host;
pub mod rules;
pub mod workflow;

pub use pack::{FileKind, RulePack, SourceFile};
