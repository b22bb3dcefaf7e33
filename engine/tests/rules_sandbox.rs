//! The sandbox: scripts that loop forever, hog memory, misspell a field, call `eval`, throw or
//! return the wrong shape each end as a `RuleError` naming the script and position.

use std::collections::BTreeMap;

use distributary::rules::{
    AccountInput, AddressInput, AllocationInput, FeeSettings, Fees, FeesInput, LineInput,
    OrderInput, PartnershipInput, PushCheckInput, RuleError, RuleSet, WarehouseCandidate,
};
use distributary::{FileKind, RulePack, SourceFile};
use rust_decimal::Decimal;

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn order() -> OrderInput {
    OrderInput {
        order: "shopee:1".into(),
        marketplace: "shopee".into(),
        currency: "USD".into(),
        shipping: "platform".into(),
        address: AddressInput {
            country: "MY".into(),
            state: "Selangor".into(),
            city: "Shah Alam".into(),
            postcode: "40000".into(),
        },
        lines: vec![LineInput {
            sku: "SUP-TEE".into(),
            store_sku: "TEE-RED-M".into(),
            qty: 2,
            price: dec("12.50"),
            mapped: true,
            expired: false,
            supplier: "acme".into(),
        }],
    }
}

fn checks_input() -> PushCheckInput {
    PushCheckInput {
        order: order(),
        partnership: PartnershipInput {
            supplier: "acme".into(),
            distributor: "dropco".into(),
            status: "partnered".into(),
        },
        account: AccountInput {
            balance: dec("100"),
            credit_enabled: false,
            credit_limit: Decimal::ZERO,
            credit_used: Decimal::ZERO,
            currency: "USD".into(),
        },
        fees: Fees {
            goods: dec("25"),
            handling: dec("1.5"),
            shipping: dec("3"),
        },
    }
}

/// A rule set made of the given scripts only.
fn rules(scripts: &[(&str, &str)]) -> RuleSet {
    let files = scripts
        .iter()
        .map(|(stem, text)| SourceFile {
            kind: FileKind::Script,
            path: format!("scripts/{stem}.rhai"),
            stem: (*stem).to_owned(),
            text: (*text).to_owned(),
        })
        .collect();
    RuleSet::compile(&RulePack::new("test".into(), files)).expect("scripts compile")
}

fn guard_error(script: &str) -> RuleError {
    rules(&[("check", script)])
        .guard("check", &checks_input())
        .expect_err("the script fails")
}

#[test]
fn an_endless_loop_is_stopped() {
    let err = guard_error("let n = 0;\nloop {\n    n += 1;\n}\n[]\n");
    assert_eq!(err.script, "check");
    assert!(err.message.contains("Too many operations"), "{err}");
    assert!(err.line.is_some(), "{err:?}");
}

#[test]
fn a_ten_megabyte_string_is_stopped() {
    let err =
        guard_error("let s = \"0123456789\";\nwhile s.len() < 10_000_000 {\n    s += s;\n}\n[]\n");
    assert!(err.message.contains("Length of string"), "{err}");
}

#[test]
fn a_huge_array_is_stopped() {
    let err = guard_error("let a = [];\nfor i in 0..1_000_000 { a.push(i); }\na\n");
    assert!(
        err.message.contains("Size of array") || err.message.contains("Too many operations"),
        "{err}"
    );
}

#[test]
fn deep_recursion_is_stopped() {
    let err = guard_error("fn down(n) { down(n + 1) }\ndown(0)\n");
    assert!(err.message.contains("Stack overflow"), "{err}");
}

#[test]
fn a_misspelt_field_is_an_error_naming_the_position() {
    let err = guard_error("let q = order.lines[0].qyt;\n[]\n");
    assert_eq!(err.script, "check");
    assert_eq!((err.line, err.column), (Some(1), Some(24)), "{err}");
    assert_eq!(
        err.message,
        "Unknown property 'qyt' - a getter is not registered for type 'Line'"
    );
    assert_eq!(
        err.to_string(),
        format!("rule `check` failed at 1:24: {}", err.message)
    );
}

#[test]
fn a_misspelt_map_key_is_an_error() {
    let err = guard_error("let failure = #{code: \"x\"};\nlet m = failure.mesage;\n[]\n");
    assert_eq!(err.line, Some(2), "{err}");
    assert!(err.message.contains("mesage"), "{err}");
}

#[test]
fn an_undeclared_variable_does_not_compile() {
    let files = vec![SourceFile {
        kind: FileKind::Script,
        path: "scripts/check.rhai".into(),
        stem: "check".into(),
        text: "let total = ordr.lines;\n[]\n".into(),
    }];
    let errors = RuleSet::compile(&RulePack::new("test".into(), files)).unwrap_err();
    assert_eq!(errors.errors.len(), 1);
    assert!(
        errors.errors[0].message.contains("ordr"),
        "{}",
        errors.errors[0]
    );
}

#[test]
fn eval_is_refused() {
    let files = vec![SourceFile {
        kind: FileKind::Script,
        path: "scripts/check.rhai".into(),
        stem: "check".into(),
        text: "eval(\"[]\")\n".into(),
    }];
    let errors = RuleSet::compile(&RulePack::new("test".into(), files)).unwrap_err();
    assert_eq!(errors.errors.len(), 1);
    let error = &errors.errors[0];
    assert_eq!((error.line, error.column), (1, 1), "{error}");
    assert!(error.message.contains("eval"), "{error}");
}

#[test]
fn a_throw_is_an_error_with_the_thrown_text() {
    let err = guard_error("\nthrow \"out of stock\";\n");
    assert_eq!(err.message, "out of stock");
    assert_eq!(err.line, Some(2));
}

#[test]
fn an_error_inside_a_function_points_inside_it() {
    let err = guard_error("fn qty(line) {\n    line.qyt\n}\nqty(order.lines[0]);\n[]\n");
    assert_eq!(err.line, Some(2), "{err}");
    assert!(err.message.contains("in function `qty`"), "{err}");
}

#[test]
fn failures_must_be_code_and_message() {
    let wrong_type = guard_error("42");
    assert!(
        wrong_type.message.contains("expected an array"),
        "{wrong_type}"
    );
    let extra_key = guard_error("[#{code: \"x\", message: \"m\", mesage: \"m\"}]");
    assert!(
        extra_key.message.contains("unknown key `mesage`"),
        "{extra_key}"
    );
    let missing = guard_error("[#{code: \"x\"}]");
    assert!(missing.message.contains("no `message`"), "{missing}");
    let ok = rules(&[("check", "[#{code: \"held\", message: \"value over 1000\"}]")])
        .guard("check", &checks_input())
        .unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].code, "held");
}

#[test]
fn inputs_read_like_their_rust_fields() {
    let script = r#"
        let line = order.lines[0];
        let text = `${order.order} ${order.address.state} ${line.sku} ${line.qty} ${line.price}`;
        text += ` ${partnership.status} ${account.balance} ${fees.total()}`;
        [#{code: "seen", message: text}]
    "#;
    let failures = rules(&[("check", script)])
        .guard("check", &checks_input())
        .unwrap();
    assert_eq!(
        failures[0].message,
        "shopee:1 Selangor SUP-TEE 2 12.50 partnered 100 29.5"
    );
}

fn fees_input() -> FeesInput {
    FeesInput {
        order: order(),
        settings: FeeSettings {
            handling: dec("1.50"),
            shipping: dec("3"),
        },
    }
}

#[test]
fn fees_must_be_non_negative_decimals() {
    let negative = rules(&[(
        "fees",
        "#{goods: to_decimal(0) - settings.handling, handling: settings.handling, shipping: settings.shipping}",
    )])
    .fees(&fees_input())
    .unwrap_err();
    assert!(
        negative.message.contains("`goods` is negative"),
        "{negative}"
    );
    let integer = rules(&[(
        "fees",
        "#{goods: 25, handling: settings.handling, shipping: settings.shipping}",
    )])
    .fees(&fees_input())
    .unwrap_err();
    assert!(
        integer.message.contains("`goods` must be a decimal"),
        "{integer}"
    );
    let missing = rules(&[(
        "fees",
        "#{goods: settings.handling, handling: settings.handling}",
    )])
    .fees(&fees_input())
    .unwrap_err();
    assert!(missing.message.contains("no `shipping`"), "{missing}");
}

#[test]
fn the_default_rules_run_from_rust() {
    let rules = RuleSet::compile(&RulePack::embedded()).unwrap();
    let fees = rules.fees(&fees_input()).unwrap();
    assert_eq!(fees.goods, dec("25.00"));
    assert_eq!(fees.total(), Some(dec("29.50")));
    let mut input = checks_input();
    input.fees = fees;
    assert_eq!(rules.push_checks(&input).unwrap(), vec![]);
    input.account.balance = dec("29.49");
    let failures = rules.push_checks(&input).unwrap();
    let codes: Vec<&str> = failures.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["insufficient_balance"]);

    let candidate = |id: &str, region: &str, qty: i64| WarehouseCandidate {
        warehouse: id.into(),
        supplier: "acme".into(),
        region: region.into(),
        stock: BTreeMap::from([("SUP-TEE".to_owned(), qty)]),
    };
    let allocation = AllocationInput {
        order: order(),
        candidates: vec![
            candidate("WH-SG", "SG", 9),
            candidate("WH-SEL", "selangor", 2),
        ],
    };
    assert_eq!(rules.allocate_warehouse(&allocation).unwrap(), "WH-SEL");
    let none = AllocationInput {
        order: order(),
        candidates: vec![candidate("WH-SEL", "selangor", 1)],
    };
    let err = rules.allocate_warehouse(&none).unwrap_err();
    assert_eq!(err.script, "allocate_warehouse");
    assert_eq!(err.message, "no warehouse holds every line");
}

#[test]
fn allocation_must_name_a_candidate() {
    let rules = rules(&[("allocate_warehouse", "\"WH-ELSEWHERE\"")]);
    let input = AllocationInput {
        order: order(),
        candidates: vec![],
    };
    let err = rules.allocate_warehouse(&input).unwrap_err();
    assert!(err.message.contains("not one of the candidate"), "{err}");
}

#[test]
fn a_missing_script_or_the_wrong_kind_is_an_error() {
    let rules = rules(&[("fees", "#{}")]);
    let missing = rules.push_checks(&checks_input()).unwrap_err();
    assert_eq!(missing.script, "push_checks");
    assert!(
        missing.message.contains("no script named `push_checks`"),
        "{missing}"
    );
    let wrong_kind = rules.guard("fees", &checks_input()).unwrap_err();
    assert!(wrong_kind.message.contains("the fee rule"), "{wrong_kind}");
}

#[test]
fn print_and_debug_do_not_fail_a_rule() {
    let failures = rules(&[("check", "print(order);\ndebug(order.lines[0]);\n[]\n")])
        .guard("check", &checks_input())
        .unwrap();
    assert!(failures.is_empty());
}
