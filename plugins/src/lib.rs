//! The plugin ABI between the Distributary engine and marketplace adapters.
//!
//! This crate also holds the canonical order shape that every adapter produces, so the engine and
//! the adapters agree on it through one type.

pub mod canonical;
