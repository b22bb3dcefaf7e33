//! The sandbox: every bound a rule script runs under, and the one Rhai engine built with them.

use rhai::Engine;

/// Operations one script call may perform before it is stopped (an endless loop ends here).
pub const MAX_OPERATIONS_PER_CALL: u64 = 100_000;
/// How deep script functions may call one another.
pub const MAX_CALL_DEPTH: usize = 32;
/// How deeply expressions may nest at the top level of a script.
pub const MAX_EXPR_DEPTH: usize = 64;
/// How deeply expressions may nest inside a script function.
pub const MAX_FUNCTION_EXPR_DEPTH: usize = 32;
/// The longest string (in bytes) a script may build.
pub const MAX_STRING_SIZE: usize = 64 * 1024;
/// The most elements an array may hold.
pub const MAX_ARRAY_SIZE: usize = 10_000;
/// The most entries an object map may hold.
pub const MAX_MAP_SIZE: usize = 10_000;
/// The most variables a script may have in scope at once.
pub const MAX_VARIABLES: usize = 1_000;
/// The most functions one script may define.
pub const MAX_FUNCTIONS: usize = 256;

/// Builds the sandboxed engine: the limits above, no `eval`, no modules or files (the `no_module`
/// feature), strict variables, maps that fail on a missing property, and `print`/`debug` sent to
/// the log instead of stdout.
pub(crate) fn sandboxed_engine() -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(MAX_OPERATIONS_PER_CALL)
        .set_max_call_levels(MAX_CALL_DEPTH)
        .set_max_expr_depths(MAX_EXPR_DEPTH, MAX_FUNCTION_EXPR_DEPTH)
        .set_max_string_size(MAX_STRING_SIZE)
        .set_max_array_size(MAX_ARRAY_SIZE)
        .set_max_map_size(MAX_MAP_SIZE)
        .set_max_variables(MAX_VARIABLES)
        .set_max_functions(MAX_FUNCTIONS)
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(true)
        .disable_symbol("eval")
        .on_print(|text| tracing::info!(target: "distributary::rules", "{text}"))
        .on_debug(|text, source, pos| {
            tracing::debug!(
                target: "distributary::rules",
                script = source.unwrap_or(""),
                position = %pos,
                "{text}"
            );
        });
    engine
}
