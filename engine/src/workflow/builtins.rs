//! The built-in guard and effect names a workflow may use without a script; the engine implements
//! each of them, so a workflow naming anything else is refused when it loads. Each is typed with
//! the workflows it applies to in the engine's contract (`crate::contract`).

pub use crate::contract::{Builtin, EFFECTS, GUARDS};
