//! The plugin host: loads marketplace adapters from a directory and calls them through the ABI.
//!
//! [`PluginHost::load_dir`] opens every library of a directory with `libloading`, checks its
//! declaration (magic, ABI major, call count, no null call) before calling anything, initialises
//! it with the host's log callback, reads its manifest, and keeps it as a [`PluginAdapter`]; a
//! library that fails any step is [`Refused`] with its path and the reason, and the rest load on.
//! Libraries are never unloaded. The rules of the boundary are the crate doc of
//! `distributary_plugin`.

mod adapter;

use std::path::{Path, PathBuf};

use distributary_plugin::abi::{
    Answer, CallFn, CallTable, EntryFn, FreeFn, InitFn, PluginDeclaration, ABI_MAJOR, ENTRY_SYMBOL,
    ENTRY_SYMBOL_NUL, MAGIC,
};
use distributary_plugin::{Adapter, Manifest};

pub use adapter::{PluginAdapter, PluginCallError, ANSWER_BYTES_MAX, LOG_LINE_BYTES_MAX};

/// File extensions the host tries to load as plugins, on every platform: a library built for
/// another platform is then reported as refused rather than silently skipped.
pub const LIBRARY_EXTENSIONS: [&str; 3] = ["so", "dylib", "dll"];

/// The most libraries one directory may offer; the ones past it (by file name) are refused.
pub const LIBRARIES_PER_DIR_MAX: usize = 256;

/// A plugin that loaded: where from, and the adapter it provides.
#[derive(Debug, Clone)]
pub struct LoadedPlugin {
    path: Option<PathBuf>,
    abi_version: (u32, u32),
    adapter: PluginAdapter,
}

impl LoadedPlugin {
    /// The library's path; `None` for an adapter added in-process.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The ABI `(major, minor)` the plugin was built with.
    pub fn abi_version(&self) -> (u32, u32) {
        self.abi_version
    }

    /// Name, marketplace, version and capabilities, as the plugin declared them.
    pub fn manifest(&self) -> &Manifest {
        self.adapter.manifest()
    }

    /// The adapter the plugin provides.
    pub fn adapter(&self) -> &PluginAdapter {
        &self.adapter
    }
}

/// A file the host did not load, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct Refused {
    /// The library (or, when the directory itself cannot be read, the directory).
    pub path: PathBuf,
    /// Why it was refused.
    pub reason: RefusalReason,
}

/// Why a library was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefusalReason {
    /// The plugins directory could not be listed.
    #[error("cannot read the plugins directory: {0}")]
    UnreadableDirectory(String),
    /// More than [`LIBRARIES_PER_DIR_MAX`] libraries in the directory.
    #[error("more than {LIBRARIES_PER_DIR_MAX} libraries in the plugins directory")]
    TooManyLibraries,
    /// The file is not a loadable library.
    #[error("not a loadable library: {0}")]
    NotALibrary(String),
    /// The library does not export the entry symbol.
    #[error("no `{ENTRY_SYMBOL}` symbol: not a Distributary plugin ({0})")]
    NoEntrySymbol(String),
    /// The entry symbol returned a null declaration.
    #[error("the entry symbol returned no declaration")]
    NullDeclaration,
    /// The declaration does not start with [`MAGIC`].
    #[error("wrong magic value {found:#018x} (expected {MAGIC:#018x}): not a Distributary plugin")]
    WrongMagic {
        /// The value found.
        found: u64,
    },
    /// The plugin was built for another ABI major version.
    #[error("built for plugin ABI {major}.{minor}; this host speaks ABI {ABI_MAJOR}.x")]
    WrongAbiVersion {
        /// The plugin's ABI major.
        major: u32,
        /// The plugin's ABI minor.
        minor: u32,
    },
    /// The call table lacks calls this host needs.
    #[error("the call table has {found} calls; this host needs at least {needed}")]
    TableTooSmall {
        /// The plugin's call count.
        found: u32,
        /// What the host needs.
        needed: u32,
    },
    /// A call the host needs is a null pointer.
    #[error("the call `{0}` is null")]
    NullCall(&'static str),
    /// `init` answered an error.
    #[error("init failed: {0}")]
    InitFailed(String),
    /// The manifest call answered an error.
    #[error("the manifest call failed: {0}")]
    ManifestFailed(String),
    /// The manifest does not parse, or names no marketplace.
    #[error("the manifest does not parse: {0}")]
    ManifestUnparsable(String),
    /// Another plugin already serves this marketplace.
    #[error("duplicate marketplace `{marketplace}`, already served by {first}")]
    DuplicateMarketplace {
        /// The marketplace both plugins declare.
        marketplace: String,
        /// Where the plugin that loaded first came from.
        first: String,
    },
}

/// The loaded plugins and the refused files. `Send + Sync`: share it behind an `Arc`.
#[derive(Debug, Clone, Default)]
pub struct PluginHost {
    plugins: Vec<LoadedPlugin>,
    refused: Vec<Refused>,
}

impl PluginHost {
    /// A host with no plugin.
    pub fn empty() -> PluginHost {
        PluginHost::default()
    }

    /// The default plugins directory: the one holding the current executable, or `None` when
    /// the executable's path is unknown.
    pub fn default_dir() -> Option<PathBuf> {
        let exe = std::env::current_exe().ok()?;
        exe.parent().map(Path::to_path_buf)
    }

    /// Loads every library (see [`LIBRARY_EXTENSIONS`]) of `dir`, in file-name order, so the
    /// first of two plugins for one marketplace is the one kept. Never fails: what cannot load is
    /// in [`PluginHost::refused`]. Other files are ignored.
    pub fn load_dir(dir: &Path) -> PluginHost {
        let mut host = PluginHost::empty();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => {
                host.refuse(dir, RefusalReason::UnreadableDirectory(error.to_string()));
                return host;
            }
        };
        let mut libraries = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) if is_library_name(&entry.path()) => libraries.push(entry.path()),
                Ok(_) => {}
                Err(error) => {
                    host.refuse(dir, RefusalReason::UnreadableDirectory(error.to_string()))
                }
            }
        }
        libraries.sort();
        for (index, path) in libraries.iter().enumerate() {
            if index < LIBRARIES_PER_DIR_MAX {
                host.load_library(path);
            } else {
                host.refuse(path, RefusalReason::TooManyLibraries);
            }
        }
        host
    }

    /// Loads one library, recording it in [`PluginHost::plugins`] or [`PluginHost::refused`].
    ///
    /// Loading a library runs its initialisers: the plugins directory must be trusted.
    pub fn load_library(&mut self, path: &Path) {
        // SAFETY: see `open_declaration`; the plugins directory is trusted code by design.
        let checked = unsafe { open_declaration(path) }.and_then(|declaration| {
            // SAFETY: the declaration comes from a library that is never unloaded.
            unsafe { check_declaration(declaration) }
        });
        match checked.and_then(|(version, table)| self.admit(Some(path), version, table)) {
            Ok(plugin) => self.plugins.push(plugin),
            Err(reason) => self.refuse(path, reason),
        }
    }

    /// Adds a native adapter in-process through the very same JSON call table a `cdylib` of it
    /// would export (`distributary_plugin::export::call_table`), so tests and embedders can use
    /// an adapter without building a library. The table is leaked, like a loaded library.
    pub fn add_in_process<A: Adapter + Default>(&mut self) -> Result<(), RefusalReason> {
        let table: &'static CallTable =
            Box::leak(Box::new(distributary_plugin::export::call_table::<A>()));
        let version = (ABI_MAJOR, distributary_plugin::abi::ABI_MINOR);
        let plugin = self.admit(None, version, table)?;
        self.plugins.push(plugin);
        Ok(())
    }

    /// The plugins that loaded, in load order.
    pub fn plugins(&self) -> &[LoadedPlugin] {
        &self.plugins
    }

    /// The files that were refused, with why.
    pub fn refused(&self) -> &[Refused] {
        &self.refused
    }

    /// The adapter for a marketplace (as its manifest names it), if a plugin serves it.
    pub fn adapter(&self, marketplace: &str) -> Option<&PluginAdapter> {
        self.plugins
            .iter()
            .map(LoadedPlugin::adapter)
            .find(|adapter| adapter.marketplace() == marketplace)
    }

    fn refuse(&mut self, path: &Path, reason: RefusalReason) {
        tracing::warn!(path = %path.display(), %reason, "plugin refused");
        self.refused.push(Refused {
            path: path.to_path_buf(),
            reason,
        });
    }

    /// Initialises a checked table, reads its manifest and refuses a duplicate marketplace.
    fn admit(
        &self,
        path: Option<&Path>,
        version: (u32, u32),
        table: &'static CallTable,
    ) -> Result<LoadedPlugin, RefusalReason> {
        let (free, init, manifest_call) = required_calls(table)?;
        // SAFETY: `init` was checked non-null and the library is never unloaded; `log_line` is a
        // static function that never unwinds.
        let buffer = unsafe { init(Some(adapter::log_line)) };
        match adapter::read_answer::<()>(free, buffer).map_err(RefusalReason::InitFailed)? {
            Answer::Ok(()) => {}
            Answer::Error(error) => return Err(RefusalReason::InitFailed(error.message)),
        }
        let manifest = read_manifest(free, manifest_call)?;
        if let Some(first) = self
            .plugins
            .iter()
            .find(|plugin| plugin.manifest().marketplace == manifest.marketplace)
        {
            return Err(RefusalReason::DuplicateMarketplace {
                marketplace: manifest.marketplace,
                first: first.path().map_or_else(
                    || "an in-process adapter".to_owned(),
                    |p| p.display().to_string(),
                ),
            });
        }
        Ok(LoadedPlugin {
            path: path.map(Path::to_path_buf),
            abi_version: version,
            adapter: PluginAdapter::new(manifest, table, free),
        })
    }
}

/// Whether a path's extension is one of [`LIBRARY_EXTENSIONS`].
fn is_library_name(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .and_then(|extension| extension.to_str())
            .is_some_and(|extension| LIBRARY_EXTENSIONS.contains(&extension))
}

/// Opens a library, leaks it, and calls its entry symbol.
///
/// The library is leaked on purpose, refused or not: the call table, the answers' `free` and
/// the plugin's statics must stay valid for as long as any [`PluginAdapter`] exists, and
/// unloading a Rust `cdylib` (thread-local destructors, threads it may have started) is not
/// sound. A plugins directory holds a handful of libraries, loaded once per process.
///
/// # Safety
/// Opening a library runs its initialisers, and the entry symbol must have the [`EntryFn`]
/// signature: the plugins directory is trusted code.
unsafe fn open_declaration(path: &Path) -> Result<*const PluginDeclaration, RefusalReason> {
    // SAFETY: the caller trusts the library's initialisers.
    let library = unsafe { libloading::Library::new(path) }
        .map_err(|error| RefusalReason::NotALibrary(error.to_string()))?;
    let library: &'static libloading::Library = Box::leak(Box::new(library));
    // SAFETY: a Distributary plugin's entry symbol has the `EntryFn` signature.
    let entry: EntryFn = *unsafe { library.get::<EntryFn>(ENTRY_SYMBOL_NUL) }
        .map_err(|error| RefusalReason::NoEntrySymbol(error.to_string()))?;
    // SAFETY: the symbol is the plugin's entry, which only returns a pointer to a static.
    let declaration = unsafe { entry() };
    if declaration.is_null() {
        return Err(RefusalReason::NullDeclaration);
    }
    Ok(declaration)
}

/// Reads a declaration field by field, in the order that never changes (magic, major, minor,
/// call count, table), stopping at the first wrong one, so nothing past a foreign layout is read.
///
/// # Safety
/// `declaration` must be non-null and point to a library's static that is never unloaded.
unsafe fn check_declaration(
    declaration: *const PluginDeclaration,
) -> Result<((u32, u32), &'static CallTable), RefusalReason> {
    // SAFETY (every read below): non-null and static per the caller; each field is read only
    // once the fields before it have shown the layout is ours.
    let magic = unsafe { std::ptr::addr_of!((*declaration).magic).read_unaligned() };
    if magic != MAGIC {
        return Err(RefusalReason::WrongMagic { found: magic });
    }
    let major = unsafe { std::ptr::addr_of!((*declaration).abi_major).read_unaligned() };
    let minor = unsafe { std::ptr::addr_of!((*declaration).abi_minor).read_unaligned() };
    if major != ABI_MAJOR {
        return Err(RefusalReason::WrongAbiVersion { major, minor });
    }
    let call_count = unsafe { std::ptr::addr_of!((*declaration).call_count).read_unaligned() };
    if call_count < CallTable::CALL_COUNT {
        return Err(RefusalReason::TableTooSmall {
            found: call_count,
            needed: CallTable::CALL_COUNT,
        });
    }
    let calls = unsafe { std::ptr::addr_of!((*declaration).calls).read_unaligned() };
    if calls.is_null() {
        return Err(RefusalReason::NullCall("calls"));
    }
    // SAFETY: non-null, at least `CALL_COUNT` slots long, in a library never unloaded.
    let table: &'static CallTable = unsafe { &*calls };
    required_calls(table)?;
    Ok(((major, minor), table))
}

/// The calls the host needs before any other, every other slot checked non-null too.
fn required_calls(table: &CallTable) -> Result<(FreeFn, InitFn, CallFn), RefusalReason> {
    let slots: [(&'static str, bool); CallTable::CALL_COUNT as usize] = [
        ("free", table.free.is_some()),
        ("init", table.init.is_some()),
        ("manifest", table.manifest.is_some()),
        ("list_windows", table.list_windows.is_some()),
        ("order_list_request", table.order_list_request.is_some()),
        ("parse_order_list", table.parse_order_list.is_some()),
        ("detail_batch_max", table.detail_batch_max.is_some()),
        ("order_detail_request", table.order_detail_request.is_some()),
        ("parse_orders", table.parse_orders.is_some()),
        ("map_status", table.map_status.is_some()),
        (
            "stock_update_requests",
            table.stock_update_requests.is_some(),
        ),
        ("parse_stock_update", table.parse_stock_update.is_some()),
        ("parse_push", table.parse_push.is_some()),
    ];
    if let Some((name, _)) = slots.iter().find(|(_, present)| !present) {
        return Err(RefusalReason::NullCall(name));
    }
    match (table.free, table.init, table.manifest) {
        (Some(free), Some(init), Some(manifest)) => Ok((free, init, manifest)),
        _ => Err(RefusalReason::NullCall("free/init/manifest")),
    }
}

/// Calls `manifest` and checks the answer is a manifest naming a marketplace.
fn read_manifest(free: FreeFn, call: CallFn) -> Result<Manifest, RefusalReason> {
    let answer = adapter::invoke::<(), Manifest>(free, call, &())
        .map_err(RefusalReason::ManifestUnparsable)?;
    let manifest = match answer {
        Answer::Ok(manifest) => manifest,
        Answer::Error(error) => return Err(RefusalReason::ManifestFailed(error.message)),
    };
    if manifest.marketplace.trim().is_empty() {
        return Err(RefusalReason::ManifestUnparsable(
            "the marketplace is empty".to_owned(),
        ));
    }
    Ok(manifest)
}
