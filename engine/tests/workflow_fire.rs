//! Firing events: declaration order, guard order, roles, failures and user-edited workflows.
//!
//! Each case fires one event with a set of guards made to fail, and compares a one-line account
//! of what happened (the guards evaluated, then the outcome) with the expected one.

use std::{fs, path::Path};

use distributary::{
    workflow::{self, FireError, Guard, GuardFailure, Role, Vocabulary, Workflow, WorkflowSet},
    FileKind, RulePack, SourceFile,
};

fn vocabulary() -> Vocabulary {
    Vocabulary::builtin(vec![
        "push_checks".into(),
        "fees".into(),
        "allocate_warehouse".into(),
    ])
}

fn default_pack() -> WorkflowSet {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules");
    workflow::load(&RulePack::from_dir(Path::new(dir)).unwrap(), &vocabulary()).unwrap()
}

fn pack_of(stem: &str, text: &str) -> WorkflowSet {
    let file = SourceFile {
        kind: FileKind::Workflow,
        path: format!("{stem}.yaml"),
        stem: stem.to_owned(),
        text: text.to_owned(),
    };
    match workflow::load(&RulePack::new("test".into(), vec![file]), &vocabulary()) {
        Ok(set) => set,
        Err(errors) => panic!("{:?}", errors.problems()),
    }
}

/// Fires `event` from `state` as `role`; a guard fails when its name (as written) is in
/// `failing`, with one failure per listed occurrence. Returns "evaluated: g1, g2 => outcome".
fn fire(workflow: &Workflow, state: &str, event: &str, role: Role, failing: &[&str]) -> String {
    let mut evaluated = Vec::new();
    let result = workflow.fire(state, event, role, |guard: &Guard| {
        let written = guard.to_string();
        evaluated.push(written.clone());
        let failures = failing
            .iter()
            .filter(|&&f| f == written)
            .enumerate()
            .map(|(i, f)| GuardFailure::new(format!("{f}_{i}"), format!("{f} failed")))
            .collect();
        Ok::<_, String>(failures)
    });
    let outcome = match result {
        Ok(fired) => format!("-> {} {:?}", fired.to, fired.effects),
        Err(FireError::InvalidTransition { .. }) => "invalid_transition".to_owned(),
        Err(FireError::RoleNotAllowed { .. }) => "role_not_allowed".to_owned(),
        Err(FireError::GuardsFailed(failures)) => {
            let codes: Vec<&str> = failures.iter().map(|f| f.code.as_str()).collect();
            format!("guards_failed {codes:?}")
        }
        Err(error) => format!("{error}"),
    };
    format!("evaluated: {} => {outcome}", evaluated.join(", "))
}

#[test]
fn firing_the_default_order_workflow() {
    let set = default_pack();
    let order = set.get("distribution_order").unwrap();
    use Role::{Distributor, Supplier, System};
    #[rustfmt::skip]
    let cases: &[(&str, &str, Role, &[&str], &str)] = &[
        // Guards run in order; all pass: the transition fires with its effects.
        ("pending", "pack", Distributor, &[],
         r#"evaluated: lines_mapped, single_warehouse, shipping_supported, stock_available => -> packed ["lock_stock"]"#),
        // Evaluation stops at the first failing guard.
        ("pending", "pack", Distributor, &["single_warehouse"],
         r#"evaluated: lines_mapped, single_warehouse => guards_failed ["single_warehouse_0"]"#),
        // A rule may return several failures: every one is returned.
        ("packed", "push", Distributor, &["rule:push_checks", "rule:push_checks"],
         r#"evaluated: rule:push_checks => guards_failed ["rule:push_checks_0", "rule:push_checks_1"]"#),
        ("push_failed", "push", Distributor, &[],
         r#"evaluated: rule:push_checks => -> pushing ["charge_fees", "enqueue_delivery"]"#),
        // Declaration order: both candidates would pass, the first wins.
        ("withdrawal_requested", "reject_withdrawal", Supplier, &[],
         r#"evaluated: came_from_pushed => -> pushed []"#),
        // The first candidate's guard fails: the next candidate is tried.
        ("withdrawal_requested", "reject_withdrawal", Supplier, &["came_from_pushed"],
         r#"evaluated: came_from_pushed, came_from_to_pickup => -> to_pickup []"#),
        ("withdrawal_requested", "reject_withdrawal", Supplier, &["came_from_pushed", "came_from_to_pickup"],
         r#"evaluated: came_from_pushed, came_from_to_pickup, came_from_shipped => -> shipped []"#),
        // Every candidate fails: the failures of all of them come back.
        ("withdrawal_requested", "reject_withdrawal", Supplier, &["came_from_pushed", "came_from_to_pickup", "came_from_shipped"],
         r#"evaluated: came_from_pushed, came_from_to_pickup, came_from_shipped => guards_failed ["came_from_pushed_0", "came_from_to_pickup_0", "came_from_shipped_0"]"#),
        // Same event, different `from`: the candidate for the current state is chosen.
        ("packed", "marketplace_cancel", System, &[], r#"evaluated:  => -> cancelled ["release_stock"]"#),
        ("pushed", "marketplace_cancel", System, &[],
         r#"evaluated:  => -> withdrawn ["refund_charges", "release_stock"]"#),
        // Roles: a distributor cannot ship or confirm pickup; no guard is evaluated.
        ("pushed", "ship", Distributor, &[], "evaluated:  => role_not_allowed"),
        ("to_pickup", "confirm_pickup", Distributor, &[], "evaluated:  => role_not_allowed"),
        ("pushed", "ship", Supplier, &[], r#"evaluated: tracking_number_given => -> to_pickup ["consume_stock"]"#),
        // No transition takes this event from this state.
        ("pending", "ship", Supplier, &[], "evaluated:  => invalid_transition"),
        ("cancelled", "withdraw", Distributor, &[], "evaluated:  => invalid_transition"),
        // A shipped order may still be withdrawn (the marketplace cancelled it after shipping).
        ("shipped", "withdraw", Distributor, &[], r#"evaluated:  => -> withdrawal_requested []"#),
        // Auto-clear sends a packed order back to be packed again.
        ("packed", "stock_released", System, &[], r#"evaluated:  => -> pending ["release_stock"]"#),
        ("no_such_state", "pack", Distributor, &[], "evaluated:  => invalid_transition"),
        ("pending", "mark_shipped", Distributor, &[], "evaluated:  => invalid_transition"),
    ];
    let mut mismatches = Vec::new();
    for (state, event, role, failing, expected) in cases {
        let got = fire(order, state, event, *role, failing);
        if got != *expected {
            mismatches.push(format!(
                "{state} --{event}/{role}-->\n  got      {got}\n  expected {expected}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn an_eval_error_stops_at_once() {
    let set = default_pack();
    let order = set.get("distribution_order").unwrap();
    let mut calls = 0;
    let result = order.fire("pending", "pack", Role::Distributor, |_| {
        calls += 1;
        Err::<Vec<GuardFailure>, _>("rule_error: boom")
    });
    assert!(matches!(result, Err(FireError::Eval("rule_error: boom"))));
    assert_eq!(calls, 1);
}

#[test]
fn fired_reports_every_guard_evaluated() {
    let set = default_pack();
    let order = set.get("distribution_order").unwrap();
    let fired = order
        .fire(
            "withdrawal_requested",
            "reject_withdrawal",
            Role::Supplier,
            |g| {
                let failed = g.name() == "came_from_pushed";
                let failures = if failed {
                    vec![GuardFailure::new("not_from_pushed", "no")]
                } else {
                    vec![]
                };
                Ok::<_, ()>(failures)
            },
        )
        .unwrap();
    assert_eq!(fired.to, "to_pickup");
    assert_eq!(
        fired.transition.guards(),
        [Guard::Builtin("came_from_to_pickup".into())]
    );
    let summary: Vec<(String, String, bool)> = fired
        .guards
        .iter()
        .map(|g| (g.guard.clone(), g.to.clone(), g.passed))
        .collect();
    assert_eq!(
        summary,
        [
            ("came_from_pushed".into(), "pushed".into(), false),
            ("came_from_to_pickup".into(), "to_pickup".into(), true)
        ]
    );
    assert_eq!(fired.guards[0].failures[0].code, "not_from_pushed");
}

#[test]
fn a_transition_without_by_may_be_fired_by_any_role() {
    let set = pack_of(
        "ticket",
        "workflow: ticket\ninitial: open\nterminal: [closed]\nstates: [open, closed]\n\
         transitions:\n  - event: close\n    from: open\n    to: closed\n",
    );
    let ticket = set.get("ticket").unwrap();
    for role in Role::ALL {
        assert_eq!(
            fire(ticket, "open", "close", role, &[]),
            "evaluated:  => -> closed []"
        );
    }
    assert_eq!(ticket.transitions()[0].by(), None);
}

#[test]
fn a_user_edited_order_workflow_with_on_hold_loads_and_fires() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/workflows/on_hold/distribution_order.yaml"
    );
    let set = pack_of("distribution_order", &fs::read_to_string(path).unwrap());
    let order = set.get("distribution_order").unwrap();
    assert!(order.has_state("on_hold"));
    assert!(!order.is_terminal("on_hold"));
    assert!(order.is_terminal("cancelled"));
    assert!(!order.has_state("on_hld"));
    assert_eq!(
        order.events_from("on_hold"),
        ["release", "marketplace_cancel"]
    );
    assert_eq!(
        order.events_from("pending"),
        ["hold", "pack", "split", "marketplace_cancel"]
    );
    assert_eq!(order.events_from("shipped"), Vec::<&str>::new());
    assert_eq!(
        fire(order, "pending", "hold", Role::System, &[]),
        "evaluated:  => -> on_hold []"
    );
    assert_eq!(
        fire(order, "on_hold", "release", Role::Distributor, &[]),
        "evaluated:  => -> pending []"
    );
    assert_eq!(
        fire(order, "on_hold", "release", Role::Supplier, &[]),
        "evaluated:  => role_not_allowed"
    );
    assert_eq!(
        fire(order, "on_hold", "pack", Role::Distributor, &[]),
        "evaluated:  => invalid_transition"
    );
    assert_eq!(
        fire(order, "on_hold", "marketplace_cancel", Role::System, &[]),
        r#"evaluated:  => -> cancelled []"#
    );
}

#[test]
fn fire_errors_read_well() {
    let invalid: FireError<String> = FireError::InvalidTransition {
        state: "shipped".into(),
        event: "withdraw".into(),
    };
    assert_eq!(
        invalid.to_string(),
        "event `withdraw` is not allowed in state `shipped`"
    );
    let failed: FireError<String> = FireError::GuardsFailed(vec![
        GuardFailure::new("not_partnered", "no partnership"),
        GuardFailure::new("insufficient_balance", "balance 1.00 < 2.00"),
    ]);
    assert_eq!(
        failed.to_string(),
        "guards failed: not_partnered: no partnership; insufficient_balance: balance 1.00 < 2.00"
    );
    let json = serde_json::to_value(GuardFailure::new("sku_not_mapped", "line 1")).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"code": "sku_not_mapped", "message": "line 1"})
    );
}
