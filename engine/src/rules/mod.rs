//! Rules: the sandboxed Rhai runtime and the typed inputs scripts read.
