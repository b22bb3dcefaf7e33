//! Distributary: an embeddable workflow rules engine for e-commerce distribution.
//!
//! A host opens an [`Engine`] on a SQLite file and sends it [`Envelope`]s; workflows declared in
//! YAML drive partnerships, distribution products and orders, and Rhai rules decide push checks,
//! fees and warehouse allocation. See `ARCHITECTURE.md` for the codemap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

/// A named failpoint of the fault-injection suite (`tests/tests/failpoints.rs`, RELIABILITY.md):
/// the `fail` crate's `fail_point!` with the `failpoints` feature, nothing at all without it.
macro_rules! failpoint {
    ($($arg:tt)*) => {
        #[cfg(feature = "failpoints")]
        fail::fail_point!($($arg)*);
    };
}

pub mod access;
pub mod accounts;
mod batch;
pub mod catalog;
pub mod command;
pub mod contract;
pub mod delivery;
pub mod dispatch;
pub mod engine;
pub mod error;
mod execute;
pub mod flow;
pub mod inventory;
pub mod ledger;
pub mod lifecycle;
pub mod model;
pub mod notify;
pub mod orders;
pub mod pack;
pub mod partnership;
pub mod plugin_host;
pub mod protocol;
pub mod rules;
pub mod shops;
mod skus;
pub mod store;
pub mod workflow;

pub use command::{Command, Envelope};
pub use engine::{Engine, EngineOptions, OpenError};
pub use error::{Code, Error};
pub use pack::{FileKind, RulePack, SourceFile};
