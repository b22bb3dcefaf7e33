//! The C ABI itself: the entry symbol's declaration, the call table, the byte buffers that cross
//! the boundary, and the JSON shapes of every call's input and answer.
//!
//! Everything here is `#[repr(C)]` or plain JSON, so a host and a plugin built by different
//! compilers (or different versions of this crate with the same [`ABI_MAJOR`]) agree on it. The
//! rules of the boundary are written at the top of the crate (`lib.rs`).

use serde::{Deserialize, Serialize};

use crate::adapter::{AdapterError, ErrorKind, ListQuery, RequestContext, StockItem};

/// The name of the one symbol every plugin exports; the host looks it up before anything else.
pub const ENTRY_SYMBOL: &str = "distributary_plugin_entry";

/// [`ENTRY_SYMBOL`] as a NUL-terminated byte string, the form `dlsym`/`libloading` take.
pub const ENTRY_SYMBOL_NUL: &[u8] = b"distributary_plugin_entry\0";

/// The first field of every [`PluginDeclaration`]: "DSTRBPLG" in ASCII. A library whose
/// declaration starts with anything else is not a Distributary plugin.
pub const MAGIC: u64 = u64::from_be_bytes(*b"DSTRBPLG");

/// The ABI major version: a host refuses a plugin whose major differs from its own. Bumped only
/// when the declaration, the buffers or an existing call change incompatibly.
pub const ABI_MAJOR: u32 = 1;

/// The ABI minor version: bumped when a call is appended to the [`CallTable`]. A host reads
/// [`PluginDeclaration::call_count`], not the minor, to know which calls exist.
pub const ABI_MINOR: u32 = 2;

/// The signature of the entry symbol: returns a pointer to a static declaration.
pub type EntryFn = unsafe extern "C" fn() -> *const PluginDeclaration;

/// What the entry symbol points to. The host checks `magic`, then `abi_major`, then
/// `call_count`, and only then touches `calls`. The order and meaning of these fields never
/// change, whatever the ABI version.
#[repr(C)]
#[derive(Debug)]
pub struct PluginDeclaration {
    /// Always [`MAGIC`].
    pub magic: u64,
    /// The [`ABI_MAJOR`] the plugin was built with.
    pub abi_major: u32,
    /// The [`ABI_MINOR`] the plugin was built with.
    pub abi_minor: u32,
    /// How many entries `calls` points to; at least [`CallTable::CALL_COUNT`] of ABI 1.0.
    pub call_count: u32,
    /// The call table, a static of the plugin.
    pub calls: *const CallTable,
}

// SAFETY: the declaration and the table it points to are immutable statics of the plugin; they
// hold only plain numbers and function pointers, which any thread may read.
unsafe impl Sync for PluginDeclaration {}

/// Bytes the host owns and lends to the plugin for the duration of one call (JSON input, log
/// lines). The plugin never frees nor keeps them. `ptr` may be null only when `len` is zero.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Bytes {
    /// The first byte, or null for an empty input.
    pub ptr: *const u8,
    /// How many bytes.
    pub len: usize,
}

impl Bytes {
    /// Lends `bytes` across the boundary; the borrow must outlive the call.
    pub fn from_slice(bytes: &[u8]) -> Bytes {
        Bytes {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// The lent bytes, or `None` when the pointer is null but the length is not zero.
    ///
    /// # Safety
    /// `ptr` must be null or point to `len` readable bytes that stay valid and unchanged for `'a`.
    pub unsafe fn as_slice<'a>(self) -> Option<&'a [u8]> {
        if self.ptr.is_null() {
            return (self.len == 0).then_some(&[][..]);
        }
        // SAFETY: non-null, and the caller promises `len` readable bytes living for `'a`.
        Some(unsafe { std::slice::from_raw_parts(self.ptr, self.len) })
    }
}

/// Bytes the plugin allocated and hands to the host (every call's JSON answer). The host reads
/// `len` bytes from `ptr`, then gives the buffer back, unchanged, to the table's `free` exactly
/// once. `cap` is the plugin's own business (its allocation's capacity).
#[repr(C)]
#[derive(Debug)]
pub struct Buffer {
    /// The first byte; null for an empty buffer, which `free` ignores.
    pub ptr: *mut u8,
    /// How many bytes are valid.
    pub len: usize,
    /// The allocation's capacity, needed by the plugin to free it.
    pub cap: usize,
}

impl Buffer {
    /// The empty buffer: nothing to read, nothing to free.
    pub const EMPTY: Buffer = Buffer {
        ptr: std::ptr::null_mut(),
        len: 0,
        cap: 0,
    };
}

/// Log levels a plugin passes to the host's [`LogFn`], with the numbering of the `log` crate.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Something failed.
    Error = 1,
    /// Something looks wrong but the call goes on.
    Warn = 2,
    /// Worth knowing in normal operation.
    Info = 3,
    /// Worth knowing when debugging the adapter.
    Debug = 4,
    /// Very detailed.
    Trace = 5,
}

impl LogLevel {
    /// The level a number stands for; unknown numbers (a newer plugin) read as `Trace`.
    pub fn from_u32(level: u32) -> LogLevel {
        match level {
            1 => LogLevel::Error,
            2 => LogLevel::Warn,
            3 => LogLevel::Info,
            4 => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }
}

/// The host's log callback, given to the plugin at `init`: a level, a target (the plugin's
/// marketplace) and a UTF-8 message, all lent for the duration of the call. It may be called
/// from any thread at once and must not unwind.
pub type LogFn = unsafe extern "C" fn(level: u32, target: Bytes, message: Bytes);

/// `init`: stores (replacing any earlier one) the host's log callback; `None` drops log lines.
/// Answers `{"ok": null}`.
pub type InitFn = unsafe extern "C" fn(log: Option<LogFn>) -> Buffer;

/// Every adapter call: JSON input lent by the host, JSON answer allocated by the plugin.
pub type CallFn = unsafe extern "C" fn(input: Bytes) -> Buffer;

/// Frees a [`Buffer`] the plugin returned.
pub type FreeFn = unsafe extern "C" fn(buffer: Buffer);

/// The plugin's calls, one slot per operation. New calls are only ever appended (with an
/// [`ABI_MINOR`] bump); a host reads a slot only when [`PluginDeclaration::call_count`] says it
/// exists, and treats a null slot as a refused plugin.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CallTable {
    /// Frees every answer of the calls below.
    pub free: Option<FreeFn>,
    /// Called once after the checks, before any other call; see [`InitFn`].
    pub init: Option<InitFn>,
    /// Input `null`; answer a [`crate::Manifest`].
    pub manifest: Option<CallFn>,
    /// Input [`ListWindowsInput`]; answer `[[from, to], ...]`.
    pub list_windows: Option<CallFn>,
    /// Input [`OrderListRequestInput`]; answer a [`crate::HttpRequest`].
    pub order_list_request: Option<CallFn>,
    /// Input [`ParseOrderListInput`]; answer a [`crate::ListPage`].
    pub parse_order_list: Option<CallFn>,
    /// Input `null`; answer a number.
    pub detail_batch_max: Option<CallFn>,
    /// Input [`OrderDetailRequestInput`]; answer a [`crate::HttpRequest`].
    pub order_detail_request: Option<CallFn>,
    /// Input [`ParseOrdersInput`]; answer a list of [`crate::CanonicalOrder`].
    pub parse_orders: Option<CallFn>,
    /// Input [`MapStatusInput`]; answer a [`crate::OrderStatus`] or `null`.
    pub map_status: Option<CallFn>,
    /// Input [`StockUpdateRequestsInput`]; answer a list of [`crate::HttpRequest`].
    pub stock_update_requests: Option<CallFn>,
    /// Input [`ParseStockUpdateInput`]; answer a list of [`crate::StockRefusal`]. Appended in
    /// ABI 1.1; a host that sends stock updates requires it, since without it a refusal inside
    /// a 2xx answer would pass for an accepted level.
    pub parse_stock_update: Option<CallFn>,
    /// Input a [`crate::PushRequest`]; answer a [`crate::PushVerdict`]. Appended in ABI 1.2; a
    /// host that receives marketplace pushes requires it, since without it no push could be
    /// authenticated.
    pub parse_push: Option<CallFn>,
}

impl CallTable {
    /// How many calls this version of the table holds (ABI 1.0: 11; 1.1: 12; 1.2: 13).
    pub const CALL_COUNT: u32 = 13;
}

// Every slot is one pointer wide, so the count above is the table's size in pointers.
const _: () = assert!(
    std::mem::size_of::<CallTable>()
        == CallTable::CALL_COUNT as usize * std::mem::size_of::<usize>()
);

/// Input of `list_windows`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListWindowsInput {
    /// Start of the span, Unix seconds.
    pub time_from: i64,
    /// End of the span, Unix seconds.
    pub time_to: i64,
}

/// Input of `order_list_request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderListRequestInput {
    /// Credentials and clock.
    pub ctx: RequestContext,
    /// Window and page.
    pub query: ListQuery,
}

/// Input of `parse_order_list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseOrderListInput {
    /// The query the listed request was built for. Optional in the JSON only because the field
    /// was added after ABI 1.0 shipped `{"body"}` (inputs may gain optional fields only); a plugin
    /// answers `invalid_input` when it is absent, since it cannot page without it.
    #[serde(default)]
    pub query: Option<ListQuery>,
    /// The marketplace's raw answer.
    pub body: String,
}

/// Input of `order_detail_request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderDetailRequestInput {
    /// Credentials and clock.
    pub ctx: RequestContext,
    /// At most `detail_batch_max` order ids.
    pub order_ids: Vec<String>,
}

/// Input of `parse_orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseOrdersInput {
    /// The shop the orders belong to.
    pub shop: String,
    /// The marketplace's raw order-detail answer.
    pub body: String,
}

/// Input of `map_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapStatusInput {
    /// The marketplace's own status.
    pub native: String,
}

/// Input of `stock_update_requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockUpdateRequestsInput {
    /// Credentials and clock.
    pub ctx: RequestContext,
    /// The stock levels to publish.
    pub items: Vec<StockItem>,
}

/// Input of `parse_stock_update` (ABI 1.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParseStockUpdateInput {
    /// The items the answered request was built for.
    pub items: Vec<StockItem>,
    /// The marketplace's raw answer, whatever its HTTP status.
    pub body: String,
}

/// The kinds of error an answer carries: the adapter's own two, and `plugin` for a failure of
/// the plugin itself (a panic, an input it could not decode). Host codes: `bad_request`,
/// `marketplace_error`, `plugin_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerErrorKind {
    /// See [`ErrorKind::InvalidInput`].
    InvalidInput,
    /// See [`ErrorKind::Marketplace`].
    Marketplace,
    /// The plugin failed: it panicked, or could not decode what the host sent.
    Plugin,
}

impl From<ErrorKind> for AnswerErrorKind {
    fn from(kind: ErrorKind) -> AnswerErrorKind {
        match kind {
            ErrorKind::InvalidInput => AnswerErrorKind::InvalidInput,
            ErrorKind::Marketplace => AnswerErrorKind::Marketplace,
        }
    }
}

/// The `error` member of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerError {
    /// What failed.
    pub kind: AnswerErrorKind,
    /// A message for a person.
    pub message: String,
}

impl From<AdapterError> for AnswerError {
    fn from(error: AdapterError) -> AnswerError {
        AnswerError {
            kind: error.kind.into(),
            message: error.message,
        }
    }
}

/// Every call's answer: `{"ok": <value>}` or `{"error": {"kind": ..., "message": ...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer<T> {
    /// The call succeeded with this value.
    Ok(T),
    /// The call failed.
    Error(AnswerError),
}
