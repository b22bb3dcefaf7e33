//! The native rules against the scripts they stand for: the rule tests as data both ways, random
//! inputs compared result for result and error for error, edited scripts back in Rhai, and the
//! bounds measured against the sandbox's limits.

use std::collections::BTreeMap;
use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, OnceLock,
};

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::{CANDIDATES_MAX, LINES_MAX, TEXT_BYTES_MAX};
use crate::pack::{FileKind, RulePack, SourceFile};
use crate::rules::{
    limits, AccountInput, AddressInput, AllocationInput, FeeSettings, Fees, FeesInput, LineInput,
    OrderInput, PartnershipInput, PushCheckInput, RuleError, RuleSet, WarehouseCandidate,
    ALLOCATE_WAREHOUSE, FEES, PUSH_CHECKS,
};

const SCRIPTS: [&str; 3] = [PUSH_CHECKS, FEES, ALLOCATE_WAREHOUSE];

/// The default pack compiled twice: with native dispatch, and all in Rhai.
fn rule_sets() -> &'static (RuleSet, RuleSet) {
    static SETS: OnceLock<(RuleSet, RuleSet)> = OnceLock::new();
    SETS.get_or_init(|| {
        let pack = RulePack::embedded();
        (
            RuleSet::compile(&pack).unwrap(),
            RuleSet::compile_interpreted(&pack).unwrap(),
        )
    })
}

/// A decimal's exact representation: sign, scale and mantissa (`==` on decimals ignores scale).
fn exact(amount: Decimal) -> [u8; 16] {
    amount.serialize()
}

fn exact_fees(result: &Result<Fees, RuleError>) -> Result<[[u8; 16]; 3], RuleError> {
    result
        .clone()
        .map(|f| [exact(f.goods), exact(f.handling), exact(f.shipping)])
}

#[test]
fn the_rule_tests_pass_natively_and_in_rhai() {
    let pack = RulePack::embedded();
    let (native, interpreted) = rule_sets();
    for name in SCRIPTS {
        assert!(native.runs_natively(name), "{name}");
        assert!(!interpreted.runs_natively(name), "{name}");
    }
    for rules in [native, interpreted] {
        let report = rules.run_tests(&pack);
        let failed: Vec<_> = report.failures().collect();
        assert!(failed.is_empty(), "{failed:#?}");
        assert!(report.passed() >= 15, "{report:?}");
    }
}

/// The embedded pack with the script `stem` edited.
fn edited(stem: &str, edit: impl Fn(&str) -> String) -> RuleSet {
    let pack = RulePack::embedded();
    let files: Vec<SourceFile> = pack
        .files_all()
        .cloned()
        .map(|mut file| {
            if file.kind == FileKind::Script && file.stem == stem {
                let text = edit(&file.text);
                assert_ne!(text, file.text);
                file.text = text;
            }
            file
        })
        .collect();
    RuleSet::compile(&RulePack::new("<edited pack>".to_owned(), files)).unwrap()
}

fn sample_order() -> OrderInput {
    OrderInput {
        order: "market:1".into(),
        marketplace: "market".into(),
        currency: "USD".into(),
        shipping: "platform".into(),
        address: AddressInput {
            country: "MY".into(),
            state: "Selangor".into(),
            city: String::new(),
            postcode: String::new(),
        },
        lines: vec![LineInput {
            sku: "SUP-TEE".into(),
            store_sku: "TEE".into(),
            qty: 2,
            price: Decimal::new(1250, 2),
            mapped: true,
            expired: false,
            supplier: String::new(),
        }],
    }
}

#[test]
fn an_edited_script_runs_in_rhai() {
    let input = FeesInput {
        order: sample_order(),
        settings: FeeSettings {
            handling: Decimal::ONE,
            shipping: Decimal::TWO,
        },
    };
    let default = rule_sets().0.fees(&input).unwrap();
    assert_eq!(default.goods, Decimal::new(2500, 2));

    // One byte: goods start from 1, not 0.
    let plus_one = edited(FEES, |text| {
        text.replacen("to_decimal(0)", "to_decimal(1)", 1)
    });
    assert!(!plus_one.runs_natively(FEES));
    assert!(plus_one.runs_natively(PUSH_CHECKS) && plus_one.runs_natively(ALLOCATE_WAREHOUSE));
    assert_eq!(plus_one.fees(&input).unwrap().goods, Decimal::new(2600, 2));

    // A comment changes nothing the script returns, but it is no longer the default's text.
    let commented = edited(PUSH_CHECKS, |text| format!("// reviewed\n{text}"));
    assert!(!commented.runs_natively(PUSH_CHECKS));
    assert!(commented.runs_natively(FEES));

    // A script named like a default but with other text is the author's, whatever its name.
    let renamed = edited(ALLOCATE_WAREHOUSE, |_| "candidates[0].warehouse".to_owned());
    assert!(!renamed.runs_natively(ALLOCATE_WAREHOUSE));
    let allocation = AllocationInput {
        order: sample_order(),
        candidates: vec![
            candidate("WH-FIRST", "SG", &[("SUP-TEE", 0)]),
            candidate("WH-SEL", "Selangor", &[("SUP-TEE", 5)]),
        ],
    };
    assert_eq!(
        rule_sets().0.allocate_warehouse(&allocation).unwrap(),
        "WH-SEL"
    );
    assert_eq!(renamed.allocate_warehouse(&allocation).unwrap(), "WH-FIRST");
}

#[test]
fn only_the_default_scripts_can_run_natively() {
    assert!(super::is_default(
        FEES,
        crate::pack::embedded_text(FileKind::Script, FEES).unwrap()
    ));
    // The fee script's text under another name is an ordinary guard script.
    let fees_text = crate::pack::embedded_text(FileKind::Script, FEES).unwrap();
    assert!(!super::is_default("my_guard", fees_text));
    assert!(!super::is_default(PUSH_CHECKS, fees_text));
}

#[test]
fn a_guard_beside_the_native_push_checks_runs_its_own_script() {
    let push_checks_text = crate::pack::embedded_text(FileKind::Script, PUSH_CHECKS).unwrap();
    let script = |stem: &str, text: &str| SourceFile {
        kind: FileKind::Script,
        path: format!("{stem}.rhai"),
        stem: stem.to_owned(),
        text: text.to_owned(),
    };
    let pack = RulePack::new(
        "<guards>".to_owned(),
        vec![
            script(PUSH_CHECKS, push_checks_text),
            script("mine", r#"[#{code: "mine", message: "from my guard"}]"#),
            script("copy", push_checks_text),
        ],
    );
    let rules = RuleSet::compile(&pack).unwrap();
    assert!(rules.runs_natively(PUSH_CHECKS));
    assert!(!rules.runs_natively("mine") && !rules.runs_natively("copy"));
    let input = worst_push_checks(4);
    let failures = rules.guard("mine", &input).unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].code, "mine");
    assert_eq!(rules.guard("copy", &input), rules.push_checks(&input));
}

fn candidate(id: &str, region: &str, stock: &[(&str, i64)]) -> WarehouseCandidate {
    WarehouseCandidate {
        warehouse: id.into(),
        supplier: String::new(),
        region: region.into(),
        stock: stock.iter().map(|&(s, q)| (s.to_owned(), q)).collect(),
    }
}

fn line(sku: &str, store_sku: &str, qty: i64, expired: bool) -> LineInput {
    LineInput {
        sku: sku.into(),
        store_sku: store_sku.into(),
        qty,
        price: Decimal::new(125, 2),
        mapped: true,
        expired,
        supplier: String::new(),
    }
}

/// Runs `run` on the interpreted default pack and answers its result with the most operations
/// any one call counted.
fn counting<T>(run: impl FnOnce(&RuleSet) -> T) -> (T, u64) {
    let mut rules = RuleSet::compile_interpreted(&RulePack::embedded()).unwrap();
    let most = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&most);
    rules.engine.on_progress(move |operations| {
        seen.fetch_max(operations, Ordering::Relaxed);
        None
    });
    let result = run(&rules);
    (result, most.load(Ordering::Relaxed))
}

/// A push-check input at the bounds, taking every path of the script: not partnered, half the
/// lines unmapped and half expired, and short of funds on credit, with SKUs long enough to bring
/// the failures' text to the byte bound.
fn worst_push_checks(sku_bytes: usize) -> PushCheckInput {
    let sku = |i: usize| format!("{i:0>sku_bytes$}");
    let lines = (0..LINES_MAX)
        .map(|i| LineInput {
            mapped: i % 2 == 0,
            ..line(&sku(i), &sku(i), 1, true)
        })
        .collect();
    PushCheckInput {
        order: OrderInput {
            lines,
            ..sample_order()
        },
        partnership: PartnershipInput {
            supplier: "acme".into(),
            distributor: "dropco".into(),
            status: "terminated".into(),
        },
        account: AccountInput {
            balance: Decimal::new(-5, 0),
            credit_enabled: true,
            credit_limit: Decimal::new(10, 0),
            credit_used: Decimal::new(5, 0),
            currency: "USD".into(),
        },
        fees: Fees {
            goods: Decimal::new(100, 0),
            handling: Decimal::ONE,
            shipping: Decimal::ONE,
        },
    }
}

/// The length of SKU that brings the failures of [`worst_push_checks`] closest to the byte bound
/// without passing it. Each line's SKU is listed once, so each byte more per SKU adds a byte per
/// line (SKUs of at least four bytes are all padded, the line numbers being shorter).
fn longest_sku_within_bound() -> usize {
    let bytes = |sku_bytes| {
        let failures = super::push_checks(&worst_push_checks(sku_bytes)).unwrap();
        failures
            .iter()
            .map(|f| f.code.len() + f.message.len())
            .sum::<usize>()
    };
    let sku_bytes = 4 + (TEXT_BYTES_MAX - bytes(4)) / LINES_MAX;
    assert!(bytes(sku_bytes) <= TEXT_BYTES_MAX);
    assert!(bytes(sku_bytes) + LINES_MAX > TEXT_BYTES_MAX);
    sku_bytes
}

#[test]
fn within_the_bounds_the_scripts_stay_far_inside_the_sandbox() {
    let half = limits::MAX_OPERATIONS_PER_CALL / 2;

    let checks = worst_push_checks(longest_sku_within_bound());
    let native = super::push_checks(&checks).expect("decided natively at the bounds");
    assert_eq!(native.len(), 4);
    let (rhai, operations) = counting(|rules| rules.push_checks(&checks));
    assert_eq!(rhai.unwrap(), native);
    assert!(operations <= half, "push_checks: {operations} operations");

    let fees = FeesInput {
        order: OrderInput {
            lines: (0..LINES_MAX).map(|_| line("A", "A", 3, false)).collect(),
            ..sample_order()
        },
        settings: FeeSettings {
            handling: Decimal::ONE,
            shipping: Decimal::ONE,
        },
    };
    let native = super::fees(&fees).expect("decided natively at the bounds");
    let (rhai, operations) = counting(|rules| rules.fees(&fees));
    assert_eq!(exact_fees(&rhai), exact_fees(&Ok(native)));
    assert!(operations <= half, "fees: {operations} operations");

    // Every candidate in the order's state and country and none fitting but the last: each of
    // the script's three loops runs to the end.
    let mut candidates: Vec<_> = (0..CANDIDATES_MAX)
        .map(|i| candidate(&format!("W{i}"), "Selangor", &[("SUP-TEE", 1)]))
        .collect();
    if let Some(last) = candidates.last_mut() {
        *last = candidate("W-LAST", "SG", &[("SUP-TEE", 2)]);
    }
    let allocation = AllocationInput {
        order: OrderInput {
            address: AddressInput {
                country: "selangor".into(),
                ..sample_order().address
            },
            ..sample_order()
        },
        candidates,
    };
    let native = super::allocate_warehouse(&allocation).expect("decided natively");
    assert_eq!(native, "W-LAST");
    let (rhai, operations) = counting(|rules| rules.allocate_warehouse(&allocation));
    assert_eq!(rhai.unwrap(), native);
    assert!(
        operations <= half,
        "allocate_warehouse: {operations} operations"
    );
}

#[test]
fn past_the_bounds_the_script_answers() {
    let (native, interpreted) = rule_sets();

    // Failures over the byte bound: left to Rhai, which here refuses the string outright.
    let checks = worst_push_checks(200);
    assert_eq!(super::push_checks(&checks), None);
    let rhai = interpreted.push_checks(&checks);
    let err = rhai.clone().unwrap_err();
    assert!(err.message.contains("Length of string"), "{err}");
    assert!(err.line.is_some(), "{err}");
    assert_eq!(native.push_checks(&checks), rhai);

    // Just over the byte bound Rhai still succeeds, and the dispatch gives its answer.
    let checks = worst_push_checks(longest_sku_within_bound() + 1);
    assert_eq!(super::push_checks(&checks), None);
    let rhai = interpreted.push_checks(&checks);
    assert!(rhai.is_ok(), "{rhai:?}");
    assert_eq!(native.push_checks(&checks), rhai);

    // More lines than the bound: the fee script runs; past Rhai's array limit it fails.
    for count in [LINES_MAX + 1, limits::MAX_ARRAY_SIZE + 1] {
        let fees = FeesInput {
            order: OrderInput {
                lines: (0..count).map(|_| line("A", "A", 1, false)).collect(),
                ..sample_order()
            },
            settings: FeeSettings {
                handling: Decimal::ONE,
                shipping: Decimal::ONE,
            },
        };
        assert_eq!(super::fees(&fees), None);
        let rhai = interpreted.fees(&fees);
        assert_eq!(count > limits::MAX_ARRAY_SIZE, rhai.is_err(), "{rhai:?}");
        assert_eq!(exact_fees(&native.fees(&fees)), exact_fees(&rhai));
    }

    // Too many candidates: the allocation script runs.
    let allocation = AllocationInput {
        order: sample_order(),
        candidates: (0..=CANDIDATES_MAX)
            .map(|i| candidate(&format!("W{i}"), "SG", &[("SUP-TEE", 5)]))
            .collect(),
    };
    assert_eq!(super::allocate_warehouse(&allocation), None);
    assert_eq!(
        native.allocate_warehouse(&allocation),
        interpreted.allocate_warehouse(&allocation)
    );
}

#[test]
fn where_the_script_throws_its_error_is_the_answer() {
    let (native, interpreted) = rule_sets();
    let allocation = AllocationInput {
        order: sample_order(),
        candidates: vec![candidate("WH-SEL", "Selangor", &[("SUP-TEE", 1)])],
    };
    assert_eq!(super::allocate_warehouse(&allocation), None);
    let err = native.allocate_warehouse(&allocation).unwrap_err();
    assert_eq!(
        err,
        interpreted.allocate_warehouse(&allocation).unwrap_err()
    );
    assert_eq!(err.message, "no warehouse holds every line");
    assert!(err.line.is_some() && err.column.is_some(), "{err:?}");

    let overflowing = FeesInput {
        order: OrderInput {
            lines: vec![LineInput {
                price: Decimal::MAX,
                ..line("A", "A", 2, false)
            }],
            ..sample_order()
        },
        settings: FeeSettings {
            handling: Decimal::ZERO,
            shipping: Decimal::ZERO,
        },
    };
    assert_eq!(super::fees(&overflowing), None);
    let err = native.fees(&overflowing).unwrap_err();
    assert_eq!(Err(err.clone()), interpreted.fees(&overflowing));
    assert!(err.message.contains("overflow"), "{err}");
}

// Random inputs: small alphabets, so SKUs repeat, regions differ only in case, and strings are
// empty often; amounts mostly small, sometimes at the ends of the decimal range.

fn text(choices: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(choices).prop_map(str::to_owned)
}

fn sku() -> impl Strategy<Value = String> {
    text(&["", "A", "B", "a", "SUP-TEE", "Ü"])
}

fn place() -> impl Strategy<Value = String> {
    text(&[
        "", "Selangor", "SELANGOR", "selangor", "MY", "my", "SG", "Île", "ÎLE", "île ",
    ])
}

/// Zero at scales 0 to 4, either sign: equal as numbers, printed differently.
fn zero() -> impl Strategy<Value = Decimal> {
    (0u32..5, any::<bool>())
        .prop_map(|(scale, negative)| Decimal::from_parts(0, 0, 0, negative, scale))
}

fn amount() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        16 => (0i64..100_000, 0u32..5).prop_map(|(m, s)| Decimal::new(m, s)),
        2 => (-100_000i64..0, 0u32..5).prop_map(|(m, s)| Decimal::new(m, s)),
        1 => (any::<i64>(), 0u32..29).prop_map(|(m, s)| Decimal::new(m, s)),
        2 => zero(),
        1 => prop::sample::select(vec![
            Decimal::MAX,
            Decimal::MIN,
            Decimal::new(1, 28),
        ]),
    ]
}

/// An ordered or stocked quantity; `most` bounds the common case.
fn quantity(most: i64) -> impl Strategy<Value = i64> {
    prop_oneof![
        16 => 0i64..most,
        1 => -3i64..0,
        1 => prop::sample::select(vec![i64::MAX, i64::MIN, 1 << 40]),
    ]
}

fn order() -> impl Strategy<Value = OrderInput> {
    let line = (
        sku(),
        sku(),
        quantity(6),
        amount(),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(sku, store_sku, qty, price, mapped, expired)| LineInput {
            sku,
            store_sku,
            qty,
            price,
            mapped,
            expired,
            supplier: "acme".into(),
        });
    (
        text(&["USD", "MYR", ""]),
        place(),
        place(),
        prop::collection::vec(line, 0..6),
    )
        .prop_map(|(currency, country, state, lines)| OrderInput {
            order: "market:1".into(),
            marketplace: "market".into(),
            currency,
            shipping: "platform".into(),
            address: AddressInput {
                country,
                state,
                city: "Shah Alam".into(),
                postcode: String::new(),
            },
            lines,
        })
}

fn push_check_input() -> impl Strategy<Value = PushCheckInput> {
    let partnership = (
        text(&["acme", ""]),
        text(&["dropco", "ü"]),
        text(&[
            "partnered",
            "partnered",
            "pending_authorization",
            "Partnered",
            "",
        ]),
    )
        .prop_map(|(supplier, distributor, status)| PartnershipInput {
            supplier,
            distributor,
            status,
        });
    let account = (
        prop_oneof![3 => amount(), 1 => zero()],
        any::<bool>(),
        amount(),
        amount(),
        text(&["USD", ""]),
    )
        .prop_map(
            |(balance, credit_enabled, credit_limit, credit_used, currency)| AccountInput {
                balance,
                credit_enabled,
                credit_limit,
                credit_used,
                currency,
            },
        );
    let fees = (amount(), amount(), amount()).prop_map(|(goods, handling, shipping)| Fees {
        goods,
        handling,
        shipping,
    });
    (order(), partnership, account, fees).prop_map(|(order, partnership, account, fees)| {
        PushCheckInput {
            order,
            partnership,
            account,
            fees,
        }
    })
}

fn fees_input() -> impl Strategy<Value = FeesInput> {
    (order(), amount(), amount()).prop_map(|(order, handling, shipping)| FeesInput {
        order,
        settings: FeeSettings { handling, shipping },
    })
}

fn allocation_input() -> impl Strategy<Value = AllocationInput> {
    let stock = prop::collection::btree_map(sku(), quantity(20), 0..7);
    // Candidates of several suppliers (a local SKU claimed from each: multi-sourcing).
    let candidate = (
        text(&["W1", "W2", "W3", "W4"]),
        text(&["acme", "globex"]),
        place(),
        stock,
    )
        .prop_map(
            |(warehouse, supplier, region, stock): (
                String,
                String,
                String,
                BTreeMap<String, i64>,
            )| {
                WarehouseCandidate {
                    warehouse,
                    supplier,
                    region,
                    stock,
                }
            },
        );
    (order(), prop::collection::vec(candidate, 0..6))
        .prop_map(|(order, candidates)| AllocationInput { order, candidates })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn push_checks_natively_equal_rhai(input in push_check_input()) {
        let (native, interpreted) = rule_sets();
        let rhai = interpreted.push_checks(&input);
        match super::push_checks(&input) {
            Some(failures) => prop_assert_eq!(Ok(failures), rhai.clone()),
            None => prop_assert!(rhai.is_err(), "native declined what Rhai decides: {:?}", rhai),
        }
        prop_assert_eq!(native.push_checks(&input), rhai.clone());
        prop_assert_eq!(native.guard(PUSH_CHECKS, &input), rhai);
    }

    #[test]
    fn fees_natively_equal_rhai(input in fees_input()) {
        let (native, interpreted) = rule_sets();
        let rhai = exact_fees(&interpreted.fees(&input));
        match super::fees(&input) {
            Some(fees) => prop_assert_eq!(exact_fees(&Ok(fees)), rhai.clone()),
            None => prop_assert!(rhai.is_err(), "native declined what Rhai decides: {:?}", rhai),
        }
        prop_assert_eq!(exact_fees(&native.fees(&input)), rhai);
    }

    #[test]
    fn allocation_natively_equals_rhai(input in allocation_input()) {
        let (native, interpreted) = rule_sets();
        let rhai = interpreted.allocate_warehouse(&input);
        match super::allocate_warehouse(&input) {
            Some(warehouse) => prop_assert_eq!(Ok(warehouse), rhai.clone()),
            None => prop_assert!(rhai.is_err(), "native declined what Rhai decides: {:?}", rhai),
        }
        prop_assert_eq!(native.allocate_warehouse(&input), rhai);
    }
}
