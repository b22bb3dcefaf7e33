//! A test plugin whose manifest answer does not parse as a manifest; the host must refuse it.

use distributary_plugin::abi::{Buffer, Bytes, CallTable, PluginDeclaration};
use distributary_plugin::export::{call_table, declaration};

#[path = "common/fixture.rs"]
mod fixture;

/// Answers a manifest whose `name` is a number and whose other fields are missing.
unsafe extern "C" fn bad_manifest(_input: Bytes) -> Buffer {
    // The table's `free` rebuilds a `Vec<u8>`, so the answer must be one.
    let mut bytes = std::mem::ManuallyDrop::new(br#"{"ok":{"name":3}}"#.to_vec());
    Buffer {
        ptr: bytes.as_mut_ptr(),
        len: bytes.len(),
        cap: bytes.capacity(),
    }
}

static CALLS: CallTable = CallTable {
    manifest: Some(bad_manifest),
    ..call_table::<fixture::Fixture>()
};
static DECLARATION: PluginDeclaration = declaration(&CALLS);

/// The entry symbol, pointing at the table with the bad manifest call.
#[unsafe(no_mangle)]
pub extern "C" fn distributary_plugin_entry() -> *const PluginDeclaration {
    &DECLARATION
}
