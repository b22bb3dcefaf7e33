//! Bad input, for every command of the host protocol, on one fixture world (two suppliers,
//! three distributors, partnerships in several states, claims, mappings, stock, a connected
//! shop, orders from `pending` to `shipped`; see `common::World::populate`).
//!
//! Each row of the matrix is derived from a command's spec (`common::specs`): the spec's own
//! request is accepted from its owner (checked on a copy of the store by
//! `permissions.rs`'s `every_template_is_accepted_from_its_owner`), and every row spoils one thing of it: `args`
//! that are no object or carry an unknown field, a missing field, a field of the wrong type or
//! `null`, a string over its bound, an absurd amount or quantity, an id naming nothing or
//! another account's record, an envelope with a bad `at`, `as`, `user` or `key`, a line over
//! `REQUEST_BYTES_MAX`, and the spec's own extra cases. Each must be answered with its stable
//! error code and leave every table of the store exactly as it was; keyed, the failure is
//! remembered (one idempotency row, nothing else) and a retry answers the same.

mod common;

use std::collections::BTreeSet;

use common::{code_of, shorten, specs, Request, Spec, World, SECRETS};
use distributary::command::{names, NAME_CHARS_MAX, REQUEST_BYTES_MAX, TEXT_CHARS_MAX};
use serde_json::{json, Value};

/// One bad request and the code it must get.
struct Row {
    what: String,
    request: Request,
    code: &'static str,
    /// Whether the keyed variant applies (not when the key itself, or the line, is the fault).
    keyed: bool,
}

/// Fields bounded as free text (`TEXT_CHARS_MAX`) rather than as names (`NAME_CHARS_MAX`),
/// by the last segment of their pointer.
const TEXT_FIELDS: &[&str] = &[
    "note",
    "reason",
    "name",
    "region",
    "csv",
    "unit_price",
    "base_url",
    "country",
    "state",
    "city",
    "postcode",
    "item_id",
];

/// The longest request line the keyed variant sends.
const KEYED_LINE_BYTES_MAX: usize = 64 * 1024;

/// Amounts no command accepts.
const BAD_AMOUNTS: &[&str] = &[
    "1e30",
    "-0.01",
    "-5",
    "abc",
    "",
    " ",
    "NaN",
    "Infinity",
    "1.2.3",
    "0x10",
    "1,50",
    "99999999999999999999999999999",
    "1000000000000000.01",
];

/// A value of another JSON type than `value`.
fn wrong_type(value: &Value) -> Value {
    match value {
        Value::String(_) => json!(12345),
        Value::Number(_) => json!("7"),
        Value::Bool(_) => json!("true"),
        Value::Array(_) => json!("a list"),
        Value::Object(_) => json!(["an", "object"]),
        Value::Null => json!(1),
    }
}

/// Every leaf and inner value of `value` under `pointer`, outside the spec's free-form values.
fn walk<'v>(spec: &Spec, pointer: String, value: &'v Value, out: &mut Vec<(String, &'v Value)>) {
    if !pointer.is_empty() {
        out.push((pointer.clone(), value));
    }
    if spec.free.contains(&pointer.as_str()) {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                walk(spec, format!("{pointer}/{key}"), inner, out);
            }
        }
        Value::Array(items) => {
            for (index, inner) in items.iter().enumerate() {
                walk(spec, format!("{pointer}/{index}"), inner, out);
            }
        }
        _ => {}
    }
}

/// Every ordering of `values`.
fn permutations(values: &[Value]) -> Vec<Vec<Value>> {
    if values.len() <= 1 {
        return vec![values.to_vec()];
    }
    let mut out = Vec::new();
    for index in 0..values.len() {
        let mut rest = values.to_vec();
        let first = rest.remove(index);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            out.push(tail);
        }
    }
    out
}

fn rows_of(spec: &Spec) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut push = |what: String, request: Request, code: &'static str, keyed: bool| {
        rows.push(Row {
            what,
            request,
            code,
            keyed,
        });
    };
    let with_args = |args: Value| Request::new(spec.actor, spec.cmd, args);

    // The shape of `args`.
    let positional: Vec<Value> = spec
        .args
        .as_object()
        .map(|o| o.values().cloned().collect())
        .unwrap_or_default();
    push(
        "args as a positional list".into(),
        with_args(json!(positional)),
        "bad_request",
        true,
    );
    push(
        "args as a string".into(),
        with_args(json!("args")),
        "bad_request",
        true,
    );
    push(
        "args as a number".into(),
        with_args(json!(5)),
        "bad_request",
        true,
    );
    let mut unknown = spec.args.clone();
    unknown["unexpected_field"] = json!(1);
    push(
        "an unknown field".into(),
        with_args(unknown),
        "bad_request",
        true,
    );

    // The envelope.
    let mut request = spec.request();
    request.at = Some("27/11/2026 10:00".into());
    push(
        "`at` that is no RFC 3339 time".into(),
        request,
        "bad_request",
        true,
    );
    let long_name = "u".repeat(NAME_CHARS_MAX + 1);
    push(
        "`user` over the name bound".into(),
        spec.request().user(&long_name),
        "bad_request",
        true,
    );
    let mut request = spec.request();
    request.actor = "a".repeat(NAME_CHARS_MAX + 1);
    push(
        "`as` over the name bound".into(),
        request,
        "bad_request",
        true,
    );
    push(
        "`key` over the name bound".into(),
        spec.request().key(&long_name),
        "bad_request",
        false,
    );

    // Fields: missing, null, of the wrong type, over their bound.
    let mut values = Vec::new();
    walk(spec, String::new(), &spec.args, &mut values);
    for (pointer, value) in values {
        let top = pointer.matches('/').count() == 1;
        let field = &pointer[1..];
        let optional = top && spec.optional.contains(&field);
        if top && !optional {
            push(
                format!("{pointer} missing"),
                with_args(spec.with(&pointer, None)),
                "bad_request",
                true,
            );
            push(
                format!("{pointer} null"),
                with_args(spec.with(&pointer, Some(Value::Null))),
                "bad_request",
                true,
            );
        }
        push(
            format!("{pointer} of the wrong type"),
            with_args(spec.with(&pointer, Some(wrong_type(value)))),
            "bad_request",
            true,
        );
        if let Some(object) = value.as_object().filter(|o| (2..=4).contains(&o.len())) {
            // serde's derive reads a struct from the list of its field values too: every order
            // of them, so the one of the declaration is among them.
            let values: Vec<Value> = object.values().cloned().collect();
            for permutation in permutations(&values) {
                push(
                    format!(
                        "{pointer} as the list {}",
                        Value::Array(permutation.clone())
                    ),
                    with_args(spec.with(&pointer, Some(Value::Array(permutation)))),
                    "bad_request",
                    true,
                );
            }
        }
        if value.is_string() {
            let last = pointer.rsplit('/').next().unwrap_or_default();
            let bound = if TEXT_FIELDS.contains(&last) {
                TEXT_CHARS_MAX
            } else {
                NAME_CHARS_MAX
            };
            let code = spec
                .huge
                .iter()
                .find(|(at, _)| *at == pointer)
                .map_or("bad_request", |(_, code)| code);
            push(
                format!("{pointer} of {} characters", bound + 1),
                with_args(spec.with(&pointer, Some(json!("x".repeat(bound + 1))))),
                code,
                true,
            );
        }
    }

    // Amounts and quantities.
    for pointer in &spec.amounts {
        for amount in BAD_AMOUNTS {
            push(
                format!("{pointer} = {amount:?}"),
                with_args(spec.with(pointer, Some(json!(amount)))),
                "bad_request",
                true,
            );
        }
    }
    for (pointer, max) in &spec.quantities {
        for quantity in [
            json!(-1),
            json!(max + 1),
            json!(1e30),
            json!(1.5),
            json!(i64::MAX),
            json!(u64::MAX),
        ] {
            push(
                format!("{pointer} = {quantity}"),
                with_args(spec.with(pointer, Some(quantity))),
                "bad_request",
                true,
            );
        }
    }

    // Ids naming nothing, and another account's.
    for id in &spec.ids {
        push(
            format!("{} naming nothing", id.at),
            with_args(spec.with(id.at, Some(id.unknown.clone()))),
            id.code,
            true,
        );
        if let Some(foreign) = &id.foreign {
            push(
                format!("{} naming another account's record", id.at),
                with_args(spec.with(id.at, Some(foreign.clone()))),
                id.code,
                true,
            );
        }
    }

    for (what, args, code) in &spec.extra {
        push((*what).into(), with_args(args.clone()), code, true);
    }
    rows
}

/// Sends `request` and checks its code and that the store did not change (but for `ignore`).
fn refused(
    world: &World,
    request: &Request,
    code: &str,
    ignore: Option<&str>,
) -> Result<Value, String> {
    let before = world.dump();
    let answer = world.send(request);
    let after = world.dump();
    let mut problems = Vec::new();
    if code_of(&answer) != code {
        problems.push(format!(
            "expected `{code}`, got {}",
            shorten(&answer.to_string(), 400)
        ));
    }
    let (before, after) = match ignore {
        Some(table) => (before.without(table), after.without(table)),
        None => (before, after),
    };
    let diff = before.diff(&after);
    if !diff.is_empty() {
        problems.push(format!("the store changed:\n{diff}"));
    }
    let text = answer.to_string();
    if let Some(secret) = SECRETS.iter().find(|s| text.contains(*s)) {
        problems.push(format!("the answer shows the secret {secret:?}"));
    }
    if problems.is_empty() {
        Ok(answer)
    } else {
        Err(problems.join("; "))
    }
}

/// The suite's name in the SKIPPED banner.
const SUITE: &str = "the bad-input matrix";

#[test]
fn every_bad_request_is_refused_and_changes_nothing() {
    every_bad_request(&World::build());
}

#[test]
fn every_bad_request_is_refused_and_changes_nothing_on_postgres() {
    if let Some(world) = World::on_postgres(SUITE) {
        every_bad_request(&world);
    }
}

fn every_bad_request(world: &World) {
    let specs = specs(world);
    let covered: BTreeSet<&str> = specs.iter().map(|s| s.cmd).collect();
    let missing: Vec<_> = names().filter(|n| !covered.contains(n)).collect();
    assert!(missing.is_empty(), "commands without a spec: {missing:?}");
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let mut count = 0;
    for spec in &specs {
        for row in rows_of(spec) {
            count += 1;
            if let Err(problem) = refused(world, &row.request, row.code, None) {
                failures.push(format!(
                    "{} — {}:\n  {}\n  {problem}",
                    spec.cmd,
                    row.what,
                    row.request.describe()
                ));
            }
        }
    }
    println!(
        "{count} bad requests on {} in {:?}",
        world.backend(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {count} bad requests on {}:\n{}",
        failures.len(),
        world.backend(),
        failures.join("\n")
    );
}

#[test]
fn a_keyed_bad_request_is_remembered_and_nothing_else_changes() {
    keyed_bad_requests(&World::build());
}

#[test]
fn a_keyed_bad_request_is_remembered_and_nothing_else_changes_on_postgres() {
    if let Some(world) = World::on_postgres(SUITE) {
        keyed_bad_requests(&world);
    }
}

fn keyed_bad_requests(world: &World) {
    let specs = specs(world);
    let mut failures = Vec::new();
    let mut count = 0;
    for spec in &specs {
        // Rows of huge requests are left out: their fingerprint (megabytes) would stay in the
        // idempotency table and every later dump would read it again. Unkeyed, they run above.
        let rows = rows_of(spec)
            .into_iter()
            .filter(|r| r.keyed && r.request.line().len() <= KEYED_LINE_BYTES_MAX);
        for (index, row) in rows.enumerate() {
            count += 1;
            let key = format!("bad-{}-{index}", spec.cmd);
            let keyed = row.request.clone().key(&key);
            let check = || -> Result<(), String> {
                let before = world.dump();
                let first = refused(world, &keyed, row.code, Some("idempotency"))?;
                let added =
                    world.dump().rows("idempotency").len() - before.rows("idempotency").len();
                if added > 1 {
                    return Err(format!("{added} idempotency rows for one request"));
                }
                // A retry answers the same and changes nothing at all.
                let again = refused(world, &keyed, row.code, None)?;
                if again != first {
                    return Err(format!("the retry answered {again}, the first {first}"));
                }
                // Where the failure was remembered, the key is spent: the spec's valid request
                // under it is a conflict, not a first run; or, when it differs only outside the
                // fingerprint (`cmd`, `args`, `user`), e.g. in `at`, the same failure again.
                if added == 1 {
                    let valid = spec.request().key(&key);
                    if keyed.args == valid.args && keyed.user == valid.user {
                        let replayed = refused(world, &valid, row.code, None)?;
                        if replayed != first {
                            return Err(format!(
                                "the replay answered {replayed}, the first {first}"
                            ));
                        }
                    } else {
                        refused(world, &valid, "idempotency_conflict", None)?;
                    }
                }
                Ok(())
            };
            if let Err(problem) = check() {
                failures.push(format!(
                    "{} — {} (keyed):\n  {}\n  {problem}",
                    spec.cmd,
                    row.what,
                    keyed.describe()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} keyed bad requests on {}:\n{}",
        failures.len(),
        world.backend(),
        failures.join("\n")
    );
}

#[test]
fn a_line_over_the_request_bound_is_refused_for_every_command() {
    overlong_lines(&World::build());
}

#[test]
fn a_line_over_the_request_bound_is_refused_for_every_command_on_postgres() {
    if let Some(world) = World::on_postgres(SUITE) {
        overlong_lines(&world);
    }
}

fn overlong_lines(world: &World) {
    let mut failures = Vec::new();
    for spec in specs(world) {
        // The spec's own line, valid JSON padded with whitespace past the bound.
        let line = spec.request().line();
        let padded = format!("{line}{}", " ".repeat(REQUEST_BYTES_MAX + 1 - line.len()));
        let before = world.dump();
        let answer = world.engine.execute_line(&padded);
        let diff = before.diff(&world.dump());
        if code_of(&answer) != "bad_request" || !diff.is_empty() {
            failures.push(format!(
                "{}: {} {diff}",
                spec.cmd,
                shorten(&answer.to_string(), 300)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "on {}:\n{}",
        world.backend(),
        failures.join("\n")
    );
}

/// An argument out of bounds is `bad_request` before anything is looked up: an over-long note
/// with a link that names no invitation is refused for the note, not for the link (which the
/// same request with a short note shows is refused as `invalid_invitation`).
#[test]
fn arguments_are_checked_before_lookups() {
    let world = World::build();
    let link = "distributary://invite/00000000000000000000000000000000";
    let short = Request::new("dis", "bind_supplier", json!({"link": link, "note": "hi"}));
    assert_eq!(
        refused(&world, &short, "invalid_invitation", None).map(|_| ()),
        Ok(())
    );
    let long = Request::new(
        "dis",
        "bind_supplier",
        json!({"link": link, "note": "x".repeat(TEXT_CHARS_MAX + 1)}),
    );
    assert_eq!(
        refused(&world, &long, "bad_request", None).map(|_| ()),
        Ok(())
    );
}
