//! Permissions and isolation, for every command of the host protocol, on the fixture world of
//! `common::World` (two suppliers, three distributors, an account without inventory, sub-users
//! holding one permission set or none).
//!
//! Each command's spec (`common::specs`) is a request its owner may send: on a copy of the
//! store the owner's answer is checked first (`ok`, or the code of a request refused by
//! design), so every refusal below is the actor's, not the arguments'. Then the same request
//! is sent by every wrong actor (docs/protocol.md#accounts-and-users, ARCHITECTURE.md's isolation
//! invariant):
//! `system` outside setup and anyone but `system` for setup (`permission_denied`), an unknown
//! account or user (`permission_denied`), a sub-user without the command's permission set
//! (`permission_denied`), a plan-V1 account as a supplier (`plan_required`, or
//! `distributor_cannot_top_up` for `add_balance`), an account without inventory
//! (`inventory_not_enabled`), and another supplier or distributor, or a supplier acting as a
//! distributor, on the owner's records (`not_found`, exactly like a record that does not exist;
//! `not_partnered` where the arguments name a pair). Every refusal leaves every table of the
//! store as it was; a query another actor may send answers none of the owner's data, and no
//! answer ever shows a shop's credentials.
//!
//! Queries follow the permission matrix written in docs/protocol.md ("Permission sets of the
//! queries"), read from there: a sub-user holding none of a query's sets is refused, and one
//! holding any of them gets the owner's answer code on the owner's records.

mod common;

use std::collections::BTreeSet;

use common::{code_of, shorten, specs, Request, Spec, World, SECRETS};
use distributary::command::{names, Command, CommandName, Side};

/// Sub-users of the fixture and the permission sets they hold.
const SUB_USERS: &[(&str, &str, &[&str])] = &[
    ("sup", "dis_only", &["distributor"]),
    ("sup", "sup_only", &["supplier"]),
    ("sup", "none", &[]),
    ("dis", "sup_only", &["supplier"]),
    ("dis", "dis_only", &["distributor"]),
    ("dis", "none", &[]),
];

/// The heading of the queries' permission matrix in docs/protocol.md.
const MATRIX_HEADING: &str = "### Permission sets of the queries";

/// The queries' permission matrix as docs/protocol.md writes it: each query with the sets any
/// one of which lets a sub-user send it (the second column, sets in backquotes).
fn written_matrix() -> Vec<(String, Vec<String>)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
    let text = std::fs::read_to_string(path).expect("docs/protocol.md");
    let section = text
        .split_once(MATRIX_HEADING)
        .unwrap_or_else(|| panic!("docs/protocol.md has no {MATRIX_HEADING:?}"))
        .1;
    let quoted = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2) // the header and its rule
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let query = quoted(cells[1]).concat();
            // `system` may send `plugins` too; it is no permission set.
            let sets = quoted(cells[2])
                .into_iter()
                .filter(|set| set != "system")
                .collect();
            (query, sets)
        })
        .collect()
}

/// The sets any one of which lets a sub-user send `spec`'s command: its side's, or, for a
/// query, the written matrix's.
fn needed_sets(spec: &Spec, side: Side) -> Vec<String> {
    match side {
        Side::Supplier => vec!["supplier".to_owned()],
        Side::Distributor => vec!["distributor".to_owned()],
        Side::Query => {
            written_matrix()
                .into_iter()
                .find(|(query, _)| query == spec.cmd)
                .unwrap_or_else(|| panic!("the written matrix has no row for `{}`", spec.cmd))
                .1
        }
        // Only `system` sends setup commands, and only a main user manages tokens: no permission
        // set lets a sub-user send either.
        Side::System | Side::Access => Vec::new(),
    }
}

/// One wrong actor's request and the code it must get.
struct Case {
    request: Request,
    code: &'static str,
}

fn case(actor: &str, user: Option<&str>, spec: &Spec, code: &'static str) -> Case {
    let mut request = Request::new(actor, spec.cmd, spec.args.clone());
    if let Some(user) = user {
        request = request.user(user);
    }
    Case { request, code }
}

/// Every wrong actor of `spec`, with the code each must get.
fn cases(spec: &Spec) -> Vec<Case> {
    let side = Command::parse(spec.cmd, spec.args.clone())
        .unwrap_or_else(|e| panic!("{}: the template does not parse: {e}", spec.cmd))
        .side();
    let mut out = Vec::new();
    if side == Side::System {
        for actor in ["sup", "dis", "noinv", "ghost"] {
            out.push(case(actor, None, spec, "permission_denied"));
        }
        for (account, user, _) in SUB_USERS {
            out.push(case(account, Some(user), spec, "permission_denied"));
        }
        return out;
    }
    let name: CommandName = spec.cmd.parse().expect("a command name");
    if !name.open_to_system() {
        out.push(case("system", None, spec, "permission_denied"));
    }
    out.push(case("ghost", None, spec, "permission_denied"));
    out.push(case(spec.actor, Some("who"), spec, "permission_denied"));
    let needed = needed_sets(spec, side);
    for (account, user, sets) in SUB_USERS {
        if *account == spec.actor && !sets.iter().any(|s| needed.iter().any(|n| n == s)) {
            out.push(case(account, Some(user), spec, "permission_denied"));
        }
    }
    match side {
        Side::Supplier => {
            let plan = if spec.cmd == "add_balance" {
                "distributor_cannot_top_up"
            } else {
                "plan_required"
            };
            out.push(case("dis", None, spec, plan));
            out.push(case("dis", Some("sup_only"), spec, plan));
            out.push(case("noinv", None, spec, "inventory_not_enabled"));
        }
        Side::Distributor => out.push(case("noinv", None, spec, "inventory_not_enabled")),
        // Tokens need no inventory: the account without it is refused as any other account is.
        Side::Access => out.push(case("noinv", None, spec, "not_found")),
        _ => {
            // Queries need no inventory: the account without it answers its own (empty) data,
            // or `not_found` for the owner's records.
            let code = if spec.ids.is_empty() {
                "ok"
            } else {
                "not_found"
            };
            out.push(case("noinv", None, spec, code));
        }
    }
    for (actor, user, code) in &spec.others {
        out.push(case(actor, *user, spec, code));
    }
    out
}

/// Sends a wrong actor's request: its code, nothing changed, none of the owner's data shown.
fn check(world: &World, spec: &Spec, case: &Case) -> Result<(), String> {
    let before = world.dump();
    let answer = world.send(&case.request);
    let diff = before.diff(&world.dump());
    let mut problems = Vec::new();
    let code = code_of(&answer);
    if code != case.code {
        problems.push(format!(
            "expected `{}`, got {}",
            case.code,
            shorten(&answer.to_string(), 400)
        ));
    }
    if !diff.is_empty() {
        problems.push(format!("the store changed:\n{diff}"));
    }
    let text = answer.to_string();
    if code == "ok" {
        if let Some(leak) = spec.leaks.iter().find(|l| text.contains(*l)) {
            problems.push(format!(
                "the answer shows the owner's {leak}: {}",
                shorten(&text, 400)
            ));
        }
    }
    if let Some(secret) = SECRETS.iter().find(|s| text.contains(*s)) {
        problems.push(format!("the answer shows the secret {secret:?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The suite's name in the SKIPPED banner.
const SUITE: &str = "the permission matrix";

#[test]
fn every_template_is_accepted_from_its_owner() {
    templates_accepted(&World::build());
}

#[test]
fn every_template_is_accepted_from_its_owner_on_postgres() {
    if let Some(world) = World::on_postgres(SUITE) {
        templates_accepted(&world);
    }
}

fn templates_accepted(world: &World) {
    let specs = specs(world);
    let covered: BTreeSet<&str> = specs.iter().map(|s| s.cmd).collect();
    let all: BTreeSet<&str> = names().collect();
    assert_eq!(covered, all, "the specs must name every command");
    let mut failures = Vec::new();
    for spec in &specs {
        let answer = world.control(&spec.request());
        let text = answer.to_string();
        if code_of(&answer) != spec.control {
            failures.push(format!(
                "{}: expected `{}`, got {}",
                spec.request().describe(),
                spec.control,
                shorten(&text, 400)
            ));
        }
        if let Some(secret) = SECRETS.iter().find(|s| text.contains(*s)) {
            failures.push(format!(
                "{}: the answer shows the secret {secret:?}",
                spec.cmd
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} templates on {}:\n{}",
        failures.len(),
        world.backend(),
        failures.join("\n")
    );
}

#[test]
fn every_wrong_actor_is_refused_and_changes_nothing() {
    wrong_actors(&World::build());
}

#[test]
fn every_wrong_actor_is_refused_and_changes_nothing_on_postgres() {
    if let Some(world) = World::on_postgres(SUITE) {
        wrong_actors(&world);
    }
}

fn wrong_actors(world: &World) {
    let specs = specs(world);
    let covered: BTreeSet<&str> = specs.iter().map(|s| s.cmd).collect();
    let missing: Vec<_> = names().filter(|n| !covered.contains(n)).collect();
    assert!(missing.is_empty(), "commands without a spec: {missing:?}");
    let mut failures = Vec::new();
    let mut count = 0;
    for spec in &specs {
        for case in cases(spec) {
            count += 1;
            if let Err(problem) = check(world, spec, &case) {
                failures.push(format!(
                    "{}:\n  {}\n  {problem}",
                    spec.cmd,
                    case.request.describe()
                ));
            }
        }
    }
    println!("{count} wrong actors on {}", world.backend());
    assert!(
        failures.is_empty(),
        "{} of {count} wrong actors on {}:\n{}",
        failures.len(),
        world.backend(),
        failures.join("\n")
    );
}

#[test]
fn the_written_matrix_places_every_query_as_the_engine_does() {
    let written = written_matrix();
    let queries: BTreeSet<&str> = names()
        .filter(|name| {
            name.parse::<CommandName>()
                .is_ok_and(|n| n.side() == Side::Query)
        })
        .collect();
    let rows: BTreeSet<&str> = written.iter().map(|(query, _)| query.as_str()).collect();
    assert_eq!(rows, queries, "the matrix must have one row per query");
    for (query, sets) in &written {
        let name: CommandName = query.parse().expect("a command name");
        let engine: Vec<&str> = name.permission_sets().to_vec();
        assert_eq!(
            sets, &engine,
            "`{query}`: docs/protocol.md and CommandName::permission_sets disagree"
        );
    }
}

#[test]
fn every_query_answers_a_sub_user_holding_the_set_that_reads_its_records() {
    sub_users_reading(&World::build());
}

#[test]
fn every_query_answers_a_sub_user_holding_the_set_that_reads_its_records_on_postgres() {
    if let Some(world) = World::on_postgres(SUITE) {
        sub_users_reading(&world);
    }
}

fn sub_users_reading(world: &World) {
    let mut failures = Vec::new();
    let mut count = 0;
    for spec in specs(world) {
        let side = Command::parse(spec.cmd, spec.args.clone())
            .expect("a spec parses")
            .side();
        if side != Side::Query {
            continue;
        }
        let reads = reading_set(&spec, &needed_sets(&spec, side));
        for (account, user, sets) in SUB_USERS {
            if *account != spec.actor || !sets.contains(&reads.as_str()) {
                continue;
            }
            count += 1;
            let request = spec.request().user(user);
            let answer = world.send(&request);
            if code_of(&answer) != spec.control {
                failures.push(format!(
                    "{}: expected `{}`, got {}",
                    request.describe(),
                    spec.control,
                    shorten(&answer.to_string(), 400)
                ));
            }
        }
    }
    assert!(count > 0, "no sub-user holds a query's set");
    assert!(
        failures.is_empty(),
        "{} of {count} sub-users on {}:\n{}",
        failures.len(),
        world.backend(),
        failures.join("\n")
    );
}

/// The set whose side owns the records `spec` reads (docs/protocol.md, "What a user sees"): the
/// query's only set; for `products` its tab's (`published`: `supplier`, the others
/// `distributor`); for a query both sides read, the owner's side (a supplier's `sup` specs read
/// supplier-side records, the others distributor-side ones).
fn reading_set(spec: &Spec, needed: &[String]) -> String {
    if let [only] = needed {
        return only.clone();
    }
    let supplier_side = if spec.cmd == "products" {
        spec.args["tab"] == "published"
    } else {
        spec.actor.starts_with("sup")
    };
    if supplier_side {
        "supplier"
    } else {
        "distributor"
    }
    .to_owned()
}
