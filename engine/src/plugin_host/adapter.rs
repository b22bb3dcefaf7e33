//! [`PluginAdapter`]: a loaded plugin's call table, called with JSON across the C ABI, with every
//! failure of the plugin itself (a panic, a malformed answer) kept apart from the adapter's own
//! errors.

use std::panic::{catch_unwind, AssertUnwindSafe};

use distributary_plugin::abi::{
    Answer, AnswerErrorKind, Buffer, Bytes, CallFn, CallTable, FreeFn, ListWindowsInput, LogLevel,
    MapStatusInput, OrderDetailRequestInput, OrderListRequestInput, ParseOrderListInput,
    ParseOrdersInput, ParseStockUpdateInput, StockUpdateRequestsInput,
};
use distributary_plugin::{
    AdapterError, CanonicalOrder, ErrorKind, HttpRequest, ListPage, ListQuery, Manifest,
    OrderStatus, PushRequest, PushVerdict, RequestContext, StockItem, StockRefusal,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The largest answer the host accepts from one plugin call; a bigger one is a plugin error.
pub const ANSWER_BYTES_MAX: usize = 64 * 1024 * 1024;

/// The longest log line the host keeps from a plugin; the rest is cut.
pub const LOG_LINE_BYTES_MAX: usize = 8 * 1024;

/// Why a call to a loaded adapter failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PluginCallError {
    /// The adapter answered with its own error: bad input (`bad_request`) or a marketplace that
    /// refused or garbled something (`marketplace_error`).
    #[error("{marketplace} adapter, {call}: {source}")]
    Adapter {
        /// The plugin's marketplace.
        marketplace: String,
        /// The call that failed.
        call: &'static str,
        /// The adapter's error, with its kind.
        source: AdapterError,
    },
    /// The plugin itself failed: it panicked, could not decode the input, or answered something
    /// that is not a valid answer (`plugin_error`).
    #[error("{marketplace} plugin, {call}: {message}")]
    Plugin {
        /// The plugin's marketplace.
        marketplace: String,
        /// The call that failed.
        call: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl PluginCallError {
    /// The stable host-protocol error code: `bad_request`, `marketplace_error` or `plugin_error`.
    pub fn code(&self) -> &'static str {
        match self {
            PluginCallError::Adapter { source, .. } => match source.kind {
                ErrorKind::InvalidInput => "bad_request",
                ErrorKind::Marketplace => "marketplace_error",
            },
            PluginCallError::Plugin { .. } => "plugin_error",
        }
    }
}

/// A loaded adapter: the same operations as [`distributary_plugin::Adapter`], each a JSON call
/// across the ABI. It is `Send + Sync`; calls may run on any thread at once.
///
/// Unlike the trait, every operation is fallible, because any call may meet a panicking or
/// malformed plugin, which must surface as `plugin_error` rather than as a made-up value.
#[derive(Debug, Clone)]
pub struct PluginAdapter {
    manifest: Manifest,
    calls: &'static CallTable,
    free: FreeFn,
}

impl PluginAdapter {
    /// An adapter over a checked table whose manifest has been read.
    pub(super) fn new(manifest: Manifest, calls: &'static CallTable, free: FreeFn) -> Self {
        PluginAdapter {
            manifest,
            calls,
            free,
        }
    }

    /// What the plugin said about itself at load.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The marketplace this adapter serves.
    pub fn marketplace(&self) -> &str {
        &self.manifest.marketplace
    }

    /// See [`distributary_plugin::Adapter::list_windows`].
    pub fn list_windows(
        &self,
        time_from: i64,
        time_to: i64,
    ) -> Result<Vec<(i64, i64)>, PluginCallError> {
        let input = ListWindowsInput { time_from, time_to };
        self.call("list_windows", self.calls.list_windows, &input)
    }

    /// See [`distributary_plugin::Adapter::order_list_request`].
    pub fn order_list_request(
        &self,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> Result<HttpRequest, PluginCallError> {
        let input = OrderListRequestInput {
            ctx: ctx.clone(),
            query: query.clone(),
        };
        self.call("order_list_request", self.calls.order_list_request, &input)
    }

    /// See [`distributary_plugin::Adapter::parse_order_list`].
    pub fn parse_order_list(
        &self,
        query: &ListQuery,
        body: &str,
    ) -> Result<ListPage, PluginCallError> {
        let input = ParseOrderListInput {
            query: Some(query.clone()),
            body: body.to_owned(),
        };
        self.call("parse_order_list", self.calls.parse_order_list, &input)
    }

    /// See [`distributary_plugin::Adapter::detail_batch_max`]; a plugin answering 0 is a plugin
    /// error, since no batch could ever be sent.
    pub fn detail_batch_max(&self) -> Result<usize, PluginCallError> {
        const CALL: &str = "detail_batch_max";
        let max: usize = self.call(CALL, self.calls.detail_batch_max, &())?;
        if max == 0 {
            return Err(self.plugin_error(CALL, "the batch maximum is 0".to_owned()));
        }
        Ok(max)
    }

    /// See [`distributary_plugin::Adapter::order_detail_request`].
    pub fn order_detail_request(
        &self,
        ctx: &RequestContext,
        order_ids: &[String],
    ) -> Result<HttpRequest, PluginCallError> {
        let input = OrderDetailRequestInput {
            ctx: ctx.clone(),
            order_ids: order_ids.to_vec(),
        };
        self.call(
            "order_detail_request",
            self.calls.order_detail_request,
            &input,
        )
    }

    /// See [`distributary_plugin::Adapter::parse_orders`].
    pub fn parse_orders(
        &self,
        shop: &str,
        body: &str,
    ) -> Result<Vec<CanonicalOrder>, PluginCallError> {
        let input = ParseOrdersInput {
            shop: shop.to_owned(),
            body: body.to_owned(),
        };
        self.call("parse_orders", self.calls.parse_orders, &input)
    }

    /// See [`distributary_plugin::Adapter::map_status`]: `Ok(None)` for a status the
    /// marketplace does not document.
    pub fn map_status(&self, native: &str) -> Result<Option<OrderStatus>, PluginCallError> {
        let input = MapStatusInput {
            native: native.to_owned(),
        };
        self.call("map_status", self.calls.map_status, &input)
    }

    /// See [`distributary_plugin::Adapter::stock_update_requests`].
    pub fn stock_update_requests(
        &self,
        ctx: &RequestContext,
        items: &[StockItem],
    ) -> Result<Vec<HttpRequest>, PluginCallError> {
        let input = StockUpdateRequestsInput {
            ctx: ctx.clone(),
            items: items.to_vec(),
        };
        self.call(
            "stock_update_requests",
            self.calls.stock_update_requests,
            &input,
        )
    }

    /// See [`distributary_plugin::Adapter::parse_stock_update`].
    pub fn parse_stock_update(
        &self,
        items: &[StockItem],
        body: &str,
    ) -> Result<Vec<StockRefusal>, PluginCallError> {
        let input = ParseStockUpdateInput {
            items: items.to_vec(),
            body: body.to_owned(),
        };
        self.call("parse_stock_update", self.calls.parse_stock_update, &input)
    }

    /// See [`distributary_plugin::Adapter::parse_push`] (ABI 1.2).
    pub fn parse_push(&self, push: &PushRequest) -> Result<PushVerdict, PluginCallError> {
        self.call("parse_push", self.calls.parse_push, push)
    }

    fn plugin_error(&self, call: &'static str, message: String) -> PluginCallError {
        PluginCallError::Plugin {
            marketplace: self.manifest.marketplace.clone(),
            call,
            message,
        }
    }

    /// One call: encode the input, call the slot, read and free the answer, decode it.
    fn call<I: Serialize, O: DeserializeOwned>(
        &self,
        call: &'static str,
        slot: Option<CallFn>,
        input: &I,
    ) -> Result<O, PluginCallError> {
        let slot = slot.ok_or_else(|| self.plugin_error(call, "the call is missing".to_owned()))?;
        failpoint!("plugin.call", |_| Err(
            self.plugin_error(call, "failpoint plugin.call".into())
        ));
        let answer =
            invoke(self.free, slot, input).map_err(|message| self.plugin_error(call, message))?;
        match answer {
            Answer::Ok(value) => Ok(value),
            Answer::Error(error) => Err(match error.kind {
                AnswerErrorKind::InvalidInput => PluginCallError::Adapter {
                    marketplace: self.manifest.marketplace.clone(),
                    call,
                    source: AdapterError::invalid_input(error.message),
                },
                AnswerErrorKind::Marketplace => PluginCallError::Adapter {
                    marketplace: self.manifest.marketplace.clone(),
                    call,
                    source: AdapterError::marketplace(error.message),
                },
                AnswerErrorKind::Plugin => self.plugin_error(call, error.message),
            }),
        }
    }
}

/// Calls `slot` with `input` as JSON and decodes its answer; the error is a message for a
/// [`PluginCallError::Plugin`]. Used at load (manifest) and by every adapter call.
pub(super) fn invoke<I: Serialize, O: DeserializeOwned>(
    free: FreeFn,
    slot: CallFn,
    input: &I,
) -> Result<Answer<O>, String> {
    let input = serde_json::to_vec(input)
        .map_err(|error| format!("could not encode the input: {error}"))?;
    // SAFETY: the slot was checked non-null at load, the library is never unloaded, and `input`
    // outlives the call (boundary rules, distributary_plugin crate doc).
    let buffer = unsafe { slot(Bytes::from_slice(&input)) };
    read_answer(free, buffer)
}

/// Decodes an answer buffer (and frees it); the error is a message for a plugin error.
pub(super) fn read_answer<O: DeserializeOwned>(
    free: FreeFn,
    buffer: Buffer,
) -> Result<Answer<O>, String> {
    let bytes = take_answer(free, buffer)?;
    serde_json::from_slice(&bytes).map_err(|error| format!("malformed answer: {error}"))
}

/// Copies an answer out of the plugin's buffer and gives the buffer back to the plugin's `free`.
fn take_answer(free: FreeFn, buffer: Buffer) -> Result<Vec<u8>, String> {
    let copied = if buffer.ptr.is_null() {
        Err(format!(
            "the answer is a null buffer of length {}",
            buffer.len
        ))
    } else if buffer.len > ANSWER_BYTES_MAX {
        Err(format!(
            "the answer is {} bytes, more than the {ANSWER_BYTES_MAX} allowed",
            buffer.len
        ))
    } else {
        // SAFETY: the plugin returned `len` readable bytes at a non-null `ptr`, valid until it
        // is freed below.
        Ok(unsafe { std::slice::from_raw_parts(buffer.ptr, buffer.len) }.to_vec())
    };
    // SAFETY: the buffer came from this plugin and is given back exactly once.
    unsafe { free(buffer) };
    copied
}

/// The log callback the host passes to every plugin's `init`: forwards a plugin's line to the
/// host's `tracing` subscriber under target `distributary::plugin`, with the plugin's marketplace
/// as the `plugin` field.
pub(super) unsafe extern "C" fn log_line(level: u32, target: Bytes, message: Bytes) {
    // Nothing may unwind out of an `extern "C"` function: a panicking subscriber is ignored.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the plugin lends both for the duration of this call (boundary rules).
        let (target, message) = unsafe { (target.as_slice(), message.as_slice()) };
        let plugin = String::from_utf8_lossy(target.unwrap_or_default());
        let message = message.unwrap_or_default();
        let message = String::from_utf8_lossy(&message[..message.len().min(LOG_LINE_BYTES_MAX)]);
        match LogLevel::from_u32(level) {
            LogLevel::Error => {
                tracing::error!(target: "distributary::plugin", plugin = %plugin, "{message}")
            }
            LogLevel::Warn => {
                tracing::warn!(target: "distributary::plugin", plugin = %plugin, "{message}")
            }
            LogLevel::Info => {
                tracing::info!(target: "distributary::plugin", plugin = %plugin, "{message}")
            }
            LogLevel::Debug => {
                tracing::debug!(target: "distributary::plugin", plugin = %plugin, "{message}")
            }
            LogLevel::Trace => {
                tracing::trace!(target: "distributary::plugin", plugin = %plugin, "{message}")
            }
        }
    }));
}
