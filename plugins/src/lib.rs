//! The plugin ABI between the Distributary engine and marketplace adapters.
//!
//! [`adapter::Adapter`] is the interface in plain Rust; [`canonical`] is the order shape every
//! adapter produces, so the engine and the adapters agree on it through one type. [`abi`] is the
//! C ABI that carries the interface across a `cdylib` boundary, and [`export`] is the plugin side
//! of it, driven by [`export_adapter!`]. [`payload`] and [`lines`] are helpers the adapters share
//! for reading a marketplace's JSON answer (errors name the path of the field at fault) and for
//! summing one-unit rows into canonical lines; [`push`] verifies a push notification's HMAC in
//! constant time.
//!
//! # Writing an adapter
//!
//! A `cdylib` crate (`crate-type = ["cdylib", "rlib"]`) implements [`Adapter`] for a `Default`
//! type and exports it with one line at its root:
//!
//! ```text
//! #[derive(Default)]
//! pub struct Shopee;
//!
//! impl distributary_plugin::Adapter for Shopee {
//!     // manifest, order_list_request, parse_order_list, ... (pure translation, no I/O)
//! }
//!
//! distributary_plugin::export_adapter!(Shopee);
//! ```
//!
//! `cargo build` then produces `libdistributary_adapter_shopee.so` (`.dylib`, `.dll`); the host
//! loads every library of its plugins directory. `plugins/examples/fixture_adapter.rs` (with the
//! adapter in `plugins/examples/common/fixture.rs`) is a complete small adapter; the host's tests
//! build and load it.
//!
//! # The rules of the boundary
//!
//! - **Entry and declaration.** A plugin exports exactly one C-ABI symbol,
//!   `distributary_plugin_entry` ([`abi::ENTRY_SYMBOL`]), returning a pointer to a static
//!   [`abi::PluginDeclaration`]: a magic value ([`abi::MAGIC`]), the ABI major and minor version,
//!   the number of calls in its table, and the table. The host checks the magic, then the major
//!   version, then the call count and that no slot is null, before it calls anything else.
//! - **Versioning.** The host refuses a plugin whose ABI major differs from its own. Calls are
//!   only ever appended to [`abi::CallTable`] (with a minor bump); the declaration's call count,
//!   not the minor, tells the host which calls exist, so an older plugin loads in a newer host as
//!   long as it has every call that host requires. Existing calls never change meaning; their
//!   JSON inputs may gain optional fields only. ABI 1.1 appended `parse_stock_update`, and this
//!   host requires it: without it a refusal inside a 2xx stock answer would pass for an accepted
//!   level, so a 1.0 plugin (11 calls) is refused at load with the table-size reason. ABI 1.2
//!   appended `parse_push` (a marketplace push notification verified and read), and this host
//!   requires it too: a host serving webhooks could authenticate no push without it, and one
//!   rule for every plugin beats a plugin that loads but answers pushes with an error, so a 1.1
//!   plugin (12 calls) is refused at load the same way.
//! - **One slot per operation.** The table has one `extern "C"` slot per [`Adapter`] method
//!   rather than a single `call(method, input)` dispatch: the table size is then an exact,
//!   load-time statement of what the plugin can do (a missing call is a refusal at load, not an
//!   error at the first sync), and no method name is matched as a string on either side.
//! - **Data.** Every call takes JSON bytes and answers JSON bytes: `{"ok": <value>}` or
//!   `{"error": {"kind": "invalid_input" | "marketplace" | "plugin", "message": "..."}}`
//!   ([`abi::Answer`]). The input shapes are the `*Input` types of [`abi`].
//! - **Ownership.** The host owns what it passes in ([`abi::Bytes`]): lent for the duration of
//!   the call, never freed nor kept by the plugin. The plugin allocates what it returns
//!   ([`abi::Buffer`]); the host copies it out and hands it back exactly once to the table's
//!   `free`, because only the plugin's allocator may free it.
//! - **Panics.** No unwind ever crosses the boundary (a panic through `extern "C"` aborts, and
//!   every `cdylib` has its own std, so the host could not catch it anyway). Every call runs its
//!   adapter inside `catch_unwind` in the plugin and answers a panic as an error of kind
//!   `plugin`, which the host reports as `plugin_error`; a null or undecodable input is answered
//!   the same way, never dereferenced. A plugin must therefore be built with `panic = "unwind"`
//!   (the default): with `panic = "abort"` a panic would take the host down.
//! - **Threading.** The host may make any call from any thread, concurrently. Every call builds
//!   a fresh adapter with `Default`, so adapters are stateless and need not be `Sync`.
//! - **Logging.** A plugin's `log`/`tracing` globals are its own copy, invisible to the host, so
//!   a plugin logs through [`host_log`], which calls the [`abi::LogFn`] the host passed to
//!   `init`. `init` replaces the callback every time it runs: loading the same library twice
//!   hands back the same image, so nothing from an earlier `init` may be cached for good.
//! - **Lifetime.** The host never unloads a plugin; its statics live as long as the process.
//! - **One plugin per binary.** The entry symbol is unmangled, so two crates that invoke
//!   [`export_adapter!`] cannot be linked into the same binary; test several adapters in-process
//!   through [`export::call_table`] in separate test binaries, or load their libraries.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod abi;
pub mod adapter;
pub mod canonical;
pub mod export;
pub mod lines;
pub mod payload;
pub mod push;

pub use abi::LogLevel;
pub use adapter::{
    Adapter, AdapterError, ErrorKind, HttpRequest, ListPage, ListQuery, Manifest, PushNotice,
    PushRequest, PushVerdict, RequestContext, StockItem, StockRefusal, PROTOCOL_MARKETPLACES,
};
pub use canonical::{Address, CanonicalOrder, OrderLine, OrderStatus};
pub use export::host_log;
