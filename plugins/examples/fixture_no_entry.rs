//! A test plugin that is a library but exports no entry symbol; the host must refuse it.

/// Some exported function that is not `distributary_plugin_entry`.
#[unsafe(no_mangle)]
pub extern "C" fn not_the_entry() -> u32 {
    0
}
