//! A rule script, compiled through `RuleSet::compile` (the sandboxed engine and its limits) under
//! each of the three script names, whose kinds see different variables; a script that compiles
//! is then run once on fixed inputs, so the sandbox's bounds on a running script are fuzzed too.
#![no_main]

use std::sync::OnceLock;

use distributary::rules::{AllocationInput, FeesInput, PushCheckInput, RuleSet};
use distributary::{FileKind, RulePack, SourceFile};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

/// The inputs each kind of script runs with: the shapes of rules/tests/*.yaml.
fn parse<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("a fixed input of the documented shape")
}

struct Inputs {
    push: PushCheckInput,
    fees: FeesInput,
    allocation: AllocationInput,
}

fn inputs() -> &'static Inputs {
    static INPUTS: OnceLock<Inputs> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let order = json!({
            "order": "shopee:240101A",
            "marketplace": "shopee",
            "currency": "MYR",
            "address": {"country": "MY", "state": "Selangor", "city": "Shah Alam", "postcode": "40000"},
            "lines": [
                {"sku": "SUP-TEE", "store_sku": "TEE-RED-M", "qty": 2, "price": "12.50", "supplier": "acme"},
                {"sku": "SUP-MUG", "store_sku": "MUG-01", "qty": 1, "price": "7.25", "supplier": "acme"}
            ]
        });
        Inputs {
            push: parse(json!({
                "order": order,
                "partnership": {"supplier": "acme", "distributor": "dropco", "status": "partnered"},
                "account": {"balance": "100.00", "currency": "MYR"},
                "fees": {"goods": "32.25", "handling": "1.50", "shipping": "3.00"}
            })),
            fees: parse(json!({"order": order, "settings": {"handling": "1.50", "shipping": "3.00"}})),
            allocation: parse(json!({
                "order": order,
                "candidates": [
                    {"warehouse": "WH-PENANG", "region": "penang", "stock": {"SUP-TEE": 10, "SUP-MUG": 10}},
                    {"warehouse": "WH-SELANGOR", "region": "SELANGOR", "stock": {"SUP-TEE": 5}}
                ]
            })),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let inputs = inputs();
    for stem in ["push_checks", "fees", "allocate_warehouse"] {
        let pack = RulePack::new(
            "fuzz".to_owned(),
            vec![SourceFile {
                kind: FileKind::Script,
                path: format!("scripts/{stem}.rhai"),
                stem: stem.to_owned(),
                text: text.to_owned(),
            }],
        );
        let rules = match RuleSet::compile(&pack) {
            Ok(rules) => rules,
            Err(errors) => {
                distributary_fuzz::render(&errors, text);
                continue;
            }
        };
        let outcome = match stem {
            "fees" => rules.fees(&inputs.fees).map(|fees| format!("{fees:?}")),
            "allocate_warehouse" => rules.allocate_warehouse(&inputs.allocation),
            _ => rules
                .push_checks(&inputs.push)
                .map(|failures| format!("{failures:?}")),
        };
        if let Err(error) = outcome {
            let _ = error.to_string();
        }
    }
});
