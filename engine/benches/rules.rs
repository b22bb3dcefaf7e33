//! One order's push checks + fees + warehouse allocation through the default pack, timed with
//! every script in Rhai (`RuleSet::compile_interpreted`) and with the engine's native path for
//! the unedited default scripts (`RuleSet::compile`), in the same run. Prints both per-order times
//! and their ratio; asserts nothing about time.
//!
//! Run with `cargo bench -p distributary --bench rules`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use distributary::rules::{
    AccountInput, AddressInput, AllocationInput, Failure, FeeSettings, Fees, FeesInput, LineInput,
    OrderInput, PartnershipInput, PushCheckInput, RuleSet, WarehouseCandidate,
};
use distributary::{FileKind, RulePack, SourceFile};
use rust_decimal::Decimal;

/// Orders run before timing starts.
const WARMUP_ORDERS: u32 = 2_000;
/// Orders timed per sample.
const ORDERS_PER_SAMPLE: u32 = 20_000;
/// Samples taken; the fastest is reported (the least disturbed by the machine).
const SAMPLES: usize = 5;

/// The inputs of one order, as the engine would build them.
struct Order {
    fees: FeesInput,
    checks: PushCheckInput,
    allocation: AllocationInput,
}

fn dec(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

fn order() -> Order {
    let line = |sku: &str, qty: i64, cents: i64| LineInput {
        sku: sku.to_owned(),
        store_sku: format!("STORE-{sku}"),
        qty,
        price: dec(cents),
        mapped: true,
        expired: false,
        supplier: "acme".to_owned(),
    };
    let order = OrderInput {
        order: "shopee:240101A".to_owned(),
        marketplace: "shopee".to_owned(),
        currency: "MYR".to_owned(),
        shipping: "platform".to_owned(),
        address: AddressInput {
            country: "MY".to_owned(),
            state: "Selangor".to_owned(),
            city: "Shah Alam".to_owned(),
            postcode: "40000".to_owned(),
        },
        lines: vec![
            line("SUP-TEE", 2, 1250),
            line("SUP-MUG", 1, 725),
            line("SUP-CAP", 3, 999),
        ],
    };
    let warehouse = |id: &str, region: &str, qty: i64| WarehouseCandidate {
        warehouse: id.to_owned(),
        supplier: "acme".to_owned(),
        region: region.to_owned(),
        stock: ["SUP-TEE", "SUP-MUG", "SUP-CAP"]
            .into_iter()
            .map(|sku| (sku.to_owned(), qty))
            .collect(),
    };
    Order {
        fees: FeesInput {
            order: order.clone(),
            settings: FeeSettings {
                handling: dec(150),
                shipping: dec(300),
            },
        },
        checks: PushCheckInput {
            order: order.clone(),
            partnership: PartnershipInput {
                supplier: "acme".to_owned(),
                distributor: "dropco".to_owned(),
                status: "partnered".to_owned(),
            },
            account: AccountInput {
                balance: dec(10_000),
                credit_enabled: false,
                credit_limit: Decimal::ZERO,
                credit_used: Decimal::ZERO,
                currency: "MYR".to_owned(),
            },
            fees: Fees::default(),
        },
        allocation: AllocationInput {
            order,
            candidates: vec![
                warehouse("WH-SG", "SG", 99),
                warehouse("WH-PENANG", "Penang", 50),
                warehouse("WH-SELANGOR", "selangor", 10),
            ],
        },
    }
}

/// The three rules through one rule set, fees feeding the push checks as in the engine.
fn run(rules: &RuleSet, order: &mut Order) -> (Vec<Failure>, Fees, String) {
    let fees = rules.fees(&order.fees).unwrap();
    order.checks.fees = fees.clone();
    let failures = rules.push_checks(&order.checks).unwrap();
    let warehouse = rules.allocate_warehouse(&order.allocation).unwrap();
    (failures, fees, warehouse)
}

/// The fastest per-order time over the samples.
fn time(mut run: impl FnMut()) -> Duration {
    for _ in 0..WARMUP_ORDERS {
        run();
    }
    (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..ORDERS_PER_SAMPLE {
                run();
            }
            start.elapsed() / ORDERS_PER_SAMPLE
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let pack = RulePack::embedded();
    let native = RuleSet::compile(&pack).unwrap();
    let rhai = RuleSet::compile_interpreted(&pack).unwrap();
    // The figures mean what they say only if one set takes the native path and the other not.
    for script in ["push_checks", "fees", "allocate_warehouse"] {
        assert!(native.runs_natively(script), "{script} is not native");
        assert!(!rhai.runs_natively(script), "{script} is native");
    }
    let mut order = order();
    // Both sides must decide the same thing before their times mean anything.
    let rhai_result = run(&rhai, &mut order);
    let native_result = run(&native, &mut order);
    assert_eq!(rhai_result, native_result, "Rhai and native disagree");
    let mut failing = self::order();
    failing.checks.partnership.status = "terminated".to_owned();
    failing.checks.order.lines[0].mapped = false;
    failing.checks.order.lines[1].expired = true;
    failing.checks.account.credit_enabled = true;
    failing.checks.account.balance = dec(1_000);
    failing.checks.account.credit_limit = dec(1_000);
    let (rhai_failures, _, _) = run(&rhai, &mut failing);
    let (native_failures, _, _) = run(&native, &mut failing);
    assert_eq!(rhai_failures.len(), 4);
    assert_eq!(
        rhai_failures, native_failures,
        "Rhai and native disagree on failures"
    );
    println!(
        "one order ({} lines, {} candidates): fees {}, {} failures, warehouse {}",
        order.checks.order.lines.len(),
        order.allocation.candidates.len(),
        rhai_result.1.total().unwrap_or_default(),
        rhai_result.0.len(),
        rhai_result.2
    );

    let through_rhai = time(|| {
        black_box(run(&rhai, black_box(&mut order)));
    });
    let through_native = time(|| {
        black_box(run(&native, black_box(&mut order)));
    });
    let ratio = through_rhai.as_secs_f64() / through_native.as_secs_f64().max(f64::MIN_POSITIVE);
    println!("push checks + fees + allocation, per order:");
    println!("  rhai    {:>10.2} µs", through_rhai.as_secs_f64() * 1e6);
    println!("  native  {:>10.2} µs", through_native.as_secs_f64() * 1e6);
    println!("  ratio   {ratio:>10.1}x (rhai / native)");

    // Where the time goes: each rule alone on each path, and a Rhai script that does nothing.
    println!("per call:            rhai        native");
    for (name, rhai_time, native_time) in [
        (
            "fees",
            time(|| {
                black_box(rhai.fees(black_box(&order.fees)).unwrap());
            }),
            time(|| {
                black_box(native.fees(black_box(&order.fees)).unwrap());
            }),
        ),
        (
            "push_checks",
            time(|| {
                black_box(rhai.push_checks(black_box(&order.checks)).unwrap());
            }),
            time(|| {
                black_box(native.push_checks(black_box(&order.checks)).unwrap());
            }),
        ),
        (
            "allocate_warehouse",
            time(|| {
                black_box(
                    rhai.allocate_warehouse(black_box(&order.allocation))
                        .unwrap(),
                );
            }),
            time(|| {
                black_box(
                    native
                        .allocate_warehouse(black_box(&order.allocation))
                        .unwrap(),
                );
            }),
        ),
    ] {
        println!(
            "  {name:<18} {:>8.2} µs {:>8.2} µs",
            rhai_time.as_secs_f64() * 1e6,
            native_time.as_secs_f64() * 1e6
        );
    }
    let empty = RuleSet::compile(&RulePack::new(
        "bench".to_owned(),
        vec![SourceFile {
            kind: FileKind::Script,
            path: "empty.rhai".to_owned(),
            stem: "empty".to_owned(),
            text: "[]".to_owned(),
        }],
    ))
    .unwrap();
    let baseline = time(|| {
        black_box(empty.guard("empty", black_box(&order.checks)).unwrap());
    });
    println!(
        "  empty script       {:>8.2} µs",
        baseline.as_secs_f64() * 1e6
    );
}
