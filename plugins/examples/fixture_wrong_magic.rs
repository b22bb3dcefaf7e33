//! A test plugin whose declaration has the wrong magic value; the host must refuse it.

use distributary_plugin::abi::{CallTable, PluginDeclaration};
use distributary_plugin::export::{call_table, declaration};

#[path = "common/fixture.rs"]
mod fixture;

static CALLS: CallTable = call_table::<fixture::Fixture>();
static DECLARATION: PluginDeclaration = PluginDeclaration {
    magic: u64::from_be_bytes(*b"NOTMAGIC"),
    ..declaration(&CALLS)
};

/// The entry symbol, pointing at the bad declaration.
#[unsafe(no_mangle)]
pub extern "C" fn distributary_plugin_entry() -> *const PluginDeclaration {
    &DECLARATION
}
