//! The plugin side of the ABI: the `extern "C"` calls that wrap an [`Adapter`], the
//! [`export_adapter!`](crate::export_adapter) macro that exports them, and [`host_log`].
//!
//! Every call decodes its JSON input, builds a fresh adapter with `Default`, runs the method
//! inside `catch_unwind` and encodes the answer, so neither a panic nor a bad pointer ever crosses
//! the boundary.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{PoisonError, RwLock};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::abi::{
    Answer, AnswerError, AnswerErrorKind, Buffer, Bytes, CallFn, CallTable, ListWindowsInput,
    LogFn, LogLevel, MapStatusInput, OrderDetailRequestInput, OrderListRequestInput,
    ParseOrderListInput, ParseOrdersInput, ParseStockUpdateInput, PluginDeclaration,
    StockUpdateRequestsInput, ABI_MAJOR, ABI_MINOR, MAGIC,
};
use crate::adapter::{Adapter, PushRequest};

/// Exports `$adapter` (a type implementing [`Adapter`](crate::Adapter) and `Default`) as a
/// Distributary plugin: generates the call table, the declaration and the C-ABI entry symbol
/// `distributary_plugin_entry`. Invoke it once, at the root of a `cdylib` crate:
///
/// ```text
/// #[derive(Default)]
/// pub struct Shopee;
/// impl distributary_plugin::Adapter for Shopee { /* ... */ }
/// distributary_plugin::export_adapter!(Shopee);
/// ```
///
/// The entry symbol is a global, unmangled name: two crates that invoke the macro cannot be
/// linked into one binary (link them one at a time, or test through
/// [`call_table`](crate::export::call_table)).
#[macro_export]
macro_rules! export_adapter {
    ($adapter:ty) => {
        const _: () = {
            static CALLS: $crate::abi::CallTable = $crate::export::call_table::<$adapter>();
            static DECLARATION: $crate::abi::PluginDeclaration =
                $crate::export::declaration(&CALLS);

            /// The plugin's entry symbol: the host checks the declaration it returns before
            /// calling anything else.
            #[unsafe(no_mangle)]
            pub extern "C" fn distributary_plugin_entry() -> *const $crate::abi::PluginDeclaration {
                &DECLARATION
            }
        };
    };
}

/// The declaration of ABI [`ABI_MAJOR`].[`ABI_MINOR`] for a call table.
pub const fn declaration(calls: &'static CallTable) -> PluginDeclaration {
    PluginDeclaration {
        magic: MAGIC,
        abi_major: ABI_MAJOR,
        abi_minor: ABI_MINOR,
        call_count: CallTable::CALL_COUNT,
        calls,
    }
}

/// The call table that runs adapter `A`; [`export_adapter!`](crate::export_adapter) puts it in
/// a static. A host may also use it in-process, which exercises the same JSON boundary.
pub const fn call_table<A: Adapter + Default>() -> CallTable {
    CallTable {
        free: Some(free_buffer),
        init: Some(init::<A>),
        manifest: Some(manifest::<A> as CallFn),
        list_windows: Some(list_windows::<A> as CallFn),
        order_list_request: Some(order_list_request::<A> as CallFn),
        parse_order_list: Some(parse_order_list::<A> as CallFn),
        detail_batch_max: Some(detail_batch_max::<A> as CallFn),
        order_detail_request: Some(order_detail_request::<A> as CallFn),
        parse_orders: Some(parse_orders::<A> as CallFn),
        map_status: Some(map_status::<A> as CallFn),
        stock_update_requests: Some(stock_update_requests::<A> as CallFn),
        parse_stock_update: Some(parse_stock_update::<A> as CallFn),
        parse_push: Some(parse_push::<A> as CallFn),
    }
}

/// The host's log callback and the target (marketplace) to log under, as set by the last `init`.
struct HostLog {
    log: LogFn,
    target: String,
}

/// Replaced at every `init`, never cached once: loading the same library twice hands back the
/// same image, and the later host's callback must win.
static HOST_LOG: RwLock<Option<HostLog>> = RwLock::new(None);

/// The log target when the adapter's manifest cannot say which marketplace it serves.
const UNKNOWN_TARGET: &str = "plugin";

/// Sends a log line to the host through the callback it passed at `init`. Before `init`, or when
/// the host passed none, the line is dropped: a plugin's own `log`/`tracing` globals are not the
/// host's, so printing or using them would lose the line anyway.
pub fn host_log(level: LogLevel, message: &str) {
    let guard = HOST_LOG.read().unwrap_or_else(PoisonError::into_inner);
    if let Some(host) = guard.as_ref() {
        let target = Bytes::from_slice(host.target.as_bytes());
        // SAFETY: the host gave this callback at `init` for exactly this use; both byte slices
        // live until it returns.
        unsafe { (host.log)(level as u32, target, Bytes::from_slice(message.as_bytes())) };
    }
}

/// Frees an answer: rebuilds the `Vec<u8>` it came from. A null buffer is ignored.
unsafe extern "C" fn free_buffer(buffer: Buffer) {
    if buffer.ptr.is_null() {
        return;
    }
    // SAFETY: a non-null buffer came from `into_buffer` (the host gives back what it got); the
    // length is irrelevant to freeing bytes, so 0 keeps a corrupted `len` from mattering.
    drop(unsafe { Vec::from_raw_parts(buffer.ptr, 0, buffer.cap) });
}

unsafe extern "C" fn init<A: Adapter + Default>(log: Option<LogFn>) -> Buffer {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // A manifest that panics is reported by the `manifest` call; logging still works.
        let target =
            catch_unwind(|| A::default().manifest().marketplace).unwrap_or_else(|payload| {
                let _ = panic_error("init", payload);
                UNKNOWN_TARGET.to_owned()
            });
        let mut guard = HOST_LOG.write().unwrap_or_else(PoisonError::into_inner);
        *guard = log.map(|log| HostLog { log, target });
    }));
    encode(outcome.map_err(|payload| panic_error("init", payload)))
}

unsafe extern "C" fn manifest<A: Adapter + Default>(input: Bytes) -> Buffer {
    respond("manifest", input, |_: serde::de::IgnoredAny| {
        Ok(A::default().manifest())
    })
}

unsafe extern "C" fn list_windows<A: Adapter + Default>(input: Bytes) -> Buffer {
    respond("list_windows", input, |i: ListWindowsInput| {
        Ok(A::default().list_windows(i.time_from, i.time_to))
    })
}

unsafe extern "C" fn order_list_request<A: Adapter + Default>(input: Bytes) -> Buffer {
    respond("order_list_request", input, |i: OrderListRequestInput| {
        Ok(A::default().order_list_request(&i.ctx, &i.query)?)
    })
}

unsafe extern "C" fn parse_order_list<A: Adapter + Default>(input: Bytes) -> Buffer {
    respond("parse_order_list", input, |i: ParseOrderListInput| {
        let query = i.query.ok_or_else(|| AnswerError {
            kind: AnswerErrorKind::InvalidInput,
            message: "parse_order_list: the input has no `query` (the host predates it)".to_owned(),
        })?;
        Ok(A::default().parse_order_list(&query, &i.body)?)
    })
}

unsafe extern "C" fn detail_batch_max<A: Adapter + Default>(input: Bytes) -> Buffer {
    respond("detail_batch_max", input, |_: serde::de::IgnoredAny| {
        Ok(A::default().detail_batch_max())
    })
}

unsafe extern "C" fn order_detail_request<A: Adapter + Default>(input: Bytes) -> Buffer {
    respond(
        "order_detail_request",
        input,
        |i: OrderDetailRequestInput| Ok(A::default().order_detail_request(&i.ctx, &i.order_ids)?),
    )
}

unsafe extern "C" fn parse_orders<A: Adapter + Default>(input: Bytes) -> Buffer {
    respond("parse_orders", input, |i: ParseOrdersInput| {
        Ok(A::default().parse_orders(&i.shop, &i.body)?)
    })
}

unsafe extern "C" fn map_status<A: Adapter + Default>(input: Bytes) -> Buffer {
    respond("map_status", input, |i: MapStatusInput| {
        Ok(A::default().map_status(&i.native))
    })
}

unsafe extern "C" fn stock_update_requests<A: Adapter + Default>(input: Bytes) -> Buffer {
    respond(
        "stock_update_requests",
        input,
        |i: StockUpdateRequestsInput| Ok(A::default().stock_update_requests(&i.ctx, &i.items)?),
    )
}

unsafe extern "C" fn parse_stock_update<A: Adapter + Default>(input: Bytes) -> Buffer {
    respond("parse_stock_update", input, |i: ParseStockUpdateInput| {
        Ok(A::default().parse_stock_update(&i.items, &i.body)?)
    })
}

unsafe extern "C" fn parse_push<A: Adapter + Default>(input: Bytes) -> Buffer {
    respond("parse_push", input, |i: PushRequest| {
        Ok(A::default().parse_push(&i)?)
    })
}

/// Decodes the input, runs `run` under `catch_unwind` and encodes the answer; nothing in here
/// can unwind out of the `extern "C"` caller.
fn respond<I, O>(
    call: &'static str,
    input: Bytes,
    run: impl FnOnce(I) -> Result<O, AnswerError>,
) -> Buffer
where
    I: DeserializeOwned,
    O: Serialize,
{
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let value = decode::<I>(call, input)?;
        let output = run(value)?;
        serde_json::to_vec(&Answer::Ok(output)).map_err(|error| AnswerError {
            kind: AnswerErrorKind::Plugin,
            message: format!("{call}: could not encode the answer: {error}"),
        })
    }));
    let answer = match outcome {
        Ok(Ok(bytes)) => return into_buffer(bytes),
        Ok(Err(error)) => error,
        Err(payload) => panic_error(call, payload),
    };
    encode::<()>(Err(answer))
}

/// The call's input, decoded from the host's lent bytes; an empty input reads as `null`.
fn decode<I: DeserializeOwned>(call: &str, input: Bytes) -> Result<I, AnswerError> {
    // SAFETY: the host lends `len` readable bytes for the duration of the call (boundary rule);
    // a null pointer with a length is caught by `as_slice`.
    let bytes = unsafe { input.as_slice() }.ok_or_else(|| AnswerError {
        kind: AnswerErrorKind::Plugin,
        message: format!(
            "{call}: the input pointer is null but its length is {}",
            input.len
        ),
    })?;
    let bytes = if bytes.is_empty() { b"null" } else { bytes };
    serde_json::from_slice(bytes).map_err(|error| AnswerError {
        kind: AnswerErrorKind::Plugin,
        message: format!("{call}: could not decode the input: {error}"),
    })
}

/// Turns a caught panic into a `plugin` error naming the call and the panic message.
fn panic_error(call: &str, payload: Box<dyn Any + Send>) -> AnswerError {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    // A payload whose destructor panics would unwind from here: drop it under `catch_unwind`, and
    // leak the second payload if that happens.
    if let Err(nested) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(nested);
    }
    AnswerError {
        kind: AnswerErrorKind::Plugin,
        message: format!("{call}: the plugin panicked: {detail}"),
    }
}

/// Encodes an answer whose value cannot fail to encode (or an error).
fn encode<T: Serialize>(result: Result<T, AnswerError>) -> Buffer {
    let answer = match result {
        Ok(value) => Answer::Ok(value),
        Err(error) => Answer::Error(error),
    };
    let bytes = serde_json::to_vec(&answer).unwrap_or_else(|_| FALLBACK_ANSWER.to_vec());
    into_buffer(bytes)
}

/// The answer when even an answer cannot be encoded.
const FALLBACK_ANSWER: &[u8] =
    br#"{"error":{"kind":"plugin","message":"the plugin could not encode its answer"}}"#;

/// Hands a `Vec<u8>` to the host; [`free_buffer`] takes it back.
fn into_buffer(bytes: Vec<u8>) -> Buffer {
    let mut bytes = std::mem::ManuallyDrop::new(bytes);
    Buffer {
        ptr: bytes.as_mut_ptr(),
        len: bytes.len(),
        cap: bytes.capacity(),
    }
}
