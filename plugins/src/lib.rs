//! The plugin ABI between the Distributary engine and marketplace adapters.
//!
//! [`adapter::Adapter`] is the interface in plain Rust; [`canonical`] is the order shape every
//! adapter produces, so the engine and the adapters agree on it through one type.

pub mod adapter;
pub mod canonical;

pub use adapter::{
    Adapter, AdapterError, ErrorKind, HttpRequest, ListPage, ListQuery, Manifest, RequestContext,
    StockItem,
};
pub use canonical::{Address, CanonicalOrder, OrderLine, OrderStatus};
