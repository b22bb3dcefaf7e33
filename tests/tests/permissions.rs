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

mod common;

use std::collections::BTreeSet;

use common::{code_of, shorten, specs, Request, Spec, World, SECRETS};
use distributary::command::{names, Command, CommandName, Side};

/// Sub-users of the fixture and the permission sets they hold.
const SUB_USERS: &[(&str, &str, &[&str])] = &[
    ("sup", "dis_only", &["distributor"]),
    ("sup", "none", &[]),
    ("dis", "sup_only", &["supplier"]),
    ("dis", "none", &[]),
];

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
    let needed: &[&str] = match side {
        Side::Supplier => &["supplier"],
        Side::Distributor => &["distributor"],
        _ => &["supplier", "distributor"],
    };
    for (account, user, sets) in SUB_USERS {
        if *account == spec.actor && !sets.iter().any(|s| needed.contains(s)) {
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
        Side::Access => {
            // Only the main user manages tokens, whatever sets a sub-user holds (those holding
            // none are refused above); tokens need
            // no inventory, so the account without it is refused as any other account is.
            for (account, user, sets) in SUB_USERS {
                if *account == spec.actor && !sets.is_empty() {
                    out.push(case(account, Some(user), spec, "permission_denied"));
                }
            }
            out.push(case("noinv", None, spec, "not_found"));
        }
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

#[test]
fn every_template_is_accepted_from_its_owner() {
    let world = World::build();
    let specs = specs(&world);
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
        "{} templates:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_wrong_actor_is_refused_and_changes_nothing() {
    let world = World::build();
    let specs = specs(&world);
    let covered: BTreeSet<&str> = specs.iter().map(|s| s.cmd).collect();
    let missing: Vec<_> = names().filter(|n| !covered.contains(n)).collect();
    assert!(missing.is_empty(), "commands without a spec: {missing:?}");
    let mut failures = Vec::new();
    let mut count = 0;
    for spec in &specs {
        for case in cases(spec) {
            count += 1;
            if let Err(problem) = check(&world, spec, &case) {
                failures.push(format!(
                    "{}:\n  {}\n  {problem}",
                    spec.cmd,
                    case.request.describe()
                ));
            }
        }
    }
    println!("{count} wrong actors");
    assert!(
        failures.is_empty(),
        "{} of {count} wrong actors:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
