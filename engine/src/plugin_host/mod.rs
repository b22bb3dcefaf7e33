//! The plugin host: loads marketplace adapters from a directory and calls them through the ABI.
