//! One order's push checks + fees + warehouse allocation through the default Rhai scripts, timed
//! against the same logic written in plain Rust, in the same run. Prints both per-order times and
//! their ratio; asserts nothing about time.
//!
//! Run with `cargo bench -p distributary --bench rules`.

use std::collections::BTreeMap;
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

/// The three rules through Rhai. Fees feed the push checks, as in the engine.
fn through_rhai(rules: &RuleSet, order: &mut Order) -> (Vec<Failure>, Fees, String) {
    let fees = rules.fees(&order.fees).unwrap();
    order.checks.fees = fees.clone();
    let failures = rules.push_checks(&order.checks).unwrap();
    let warehouse = rules.allocate_warehouse(&order.allocation).unwrap();
    (failures, fees, warehouse)
}

/// The same three rules written in Rust, with the same inputs and outputs.
mod native {
    use super::*;

    pub fn fees(input: &FeesInput) -> Fees {
        let goods = input
            .order
            .lines
            .iter()
            .map(|l| l.price * Decimal::from(l.qty))
            .sum();
        Fees {
            goods,
            handling: input.settings.handling,
            shipping: input.settings.shipping,
        }
    }

    fn listed(skus: &[&str]) -> String {
        skus.join(", ")
    }

    pub fn push_checks(input: &PushCheckInput) -> Vec<Failure> {
        let mut failures = Vec::new();
        let (partnership, account) = (&input.partnership, &input.account);
        if partnership.status != "partnered" {
            failures.push(Failure {
                code: "not_partnered".to_owned(),
                message: format!(
                    "{} is not partnered with supplier {} (status: {})",
                    partnership.distributor, partnership.supplier, partnership.status
                ),
            });
        }
        let mut unmapped = Vec::new();
        let mut expired = Vec::new();
        for line in &input.order.lines {
            if !line.mapped {
                unmapped.push(line.store_sku.as_str());
            } else if line.expired {
                expired.push(line.sku.as_str());
            }
        }
        if !unmapped.is_empty() {
            failures.push(Failure {
                code: "sku_not_mapped".to_owned(),
                message: format!(
                    "not mapped to a claimed SKU of this supplier: store SKU {}",
                    listed(&unmapped)
                ),
            });
        }
        if !expired.is_empty() {
            failures.push(Failure {
                code: "product_expired".to_owned(),
                message: format!(
                    "expired (partnership ended or distribution stopped): SKU {}",
                    listed(&expired)
                ),
            });
        }
        let fees = &input.fees;
        let total = fees.goods + fees.handling + fees.shipping;
        if account.credit_enabled {
            let funds = account.balance.max(Decimal::ZERO);
            let unused_credit = account.credit_limit - account.credit_used;
            let available = funds + unused_credit;
            if available < total {
                failures.push(Failure {
                    code: "credit_limit_exceeded".to_owned(),
                    message: format!(
                        "available {available} {c} (balance {}, unused credit {unused_credit}) \
                         does not cover {total} {c}",
                        account.balance,
                        c = account.currency
                    ),
                });
            }
        } else if account.balance < total {
            failures.push(Failure {
                code: "insufficient_balance".to_owned(),
                message: format!(
                    "balance {} {c} does not cover {total} {c}",
                    account.balance,
                    c = account.currency
                ),
            });
        }
        failures
    }

    pub fn allocate_warehouse(input: &AllocationInput) -> Result<String, String> {
        let mut needed: BTreeMap<&str, i64> = BTreeMap::new();
        for line in &input.order.lines {
            *needed.entry(line.sku.as_str()).or_insert(0) += line.qty;
        }
        let fitting: Vec<&WarehouseCandidate> = input
            .candidates
            .iter()
            .filter(|w| needed.iter().all(|(sku, qty)| w.available(sku) >= *qty))
            .collect();
        let address = &input.order.address;
        for place in [&address.state, &address.country] {
            if let Some(w) = fitting
                .iter()
                .find(|w| !place.is_empty() && w.region.to_lowercase() == place.to_lowercase())
            {
                return Ok(w.warehouse.clone());
            }
        }
        fitting
            .first()
            .map(|w| w.warehouse.clone())
            .ok_or_else(|| "no warehouse holds every line".to_owned())
    }
}

fn through_rust(order: &mut Order) -> (Vec<Failure>, Fees, String) {
    let fees = native::fees(&order.fees);
    order.checks.fees = fees.clone();
    let failures = native::push_checks(&order.checks);
    let warehouse = native::allocate_warehouse(&order.allocation).unwrap();
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
    let rules = RuleSet::compile(&RulePack::embedded()).unwrap();
    let mut order = order();
    // Both sides must decide the same thing before their times mean anything.
    let rhai_result = through_rhai(&rules, &mut order);
    let rust_result = through_rust(&mut order);
    assert_eq!(rhai_result, rust_result, "Rhai and Rust disagree");
    let mut failing = self::order();
    failing.checks.partnership.status = "terminated".to_owned();
    failing.checks.order.lines[0].mapped = false;
    failing.checks.order.lines[1].expired = true;
    failing.checks.account.credit_enabled = true;
    failing.checks.account.balance = dec(1_000);
    failing.checks.account.credit_limit = dec(1_000);
    let (rhai_failures, _, _) = through_rhai(&rules, &mut failing);
    let (rust_failures, _, _) = through_rust(&mut failing);
    assert_eq!(rhai_failures.len(), 4);
    assert_eq!(
        rhai_failures, rust_failures,
        "Rhai and Rust disagree on failures"
    );
    println!(
        "one order ({} lines, {} candidates): fees {}, {} failures, warehouse {}",
        order.checks.order.lines.len(),
        order.allocation.candidates.len(),
        rhai_result.1.total().unwrap_or_default(),
        rhai_result.0.len(),
        rhai_result.2
    );

    let rhai = time(|| {
        black_box(through_rhai(&rules, black_box(&mut order)));
    });
    let rust = time(|| {
        black_box(through_rust(black_box(&mut order)));
    });
    let ratio = rhai.as_secs_f64() / rust.as_secs_f64().max(f64::MIN_POSITIVE);
    println!("push checks + fees + allocation, per order:");
    println!("  rhai    {:>10.2} µs", rhai.as_secs_f64() * 1e6);
    println!("  native  {:>10.2} µs", rust.as_secs_f64() * 1e6);
    println!("  ratio   {ratio:>10.1}x (rhai / native)");

    // Where the Rhai time goes: each rule alone, and a script that does nothing.
    let fees = time(|| {
        black_box(rules.fees(black_box(&order.fees)).unwrap());
    });
    let checks = time(|| {
        black_box(rules.push_checks(black_box(&order.checks)).unwrap());
    });
    let allocation = time(|| {
        black_box(
            rules
                .allocate_warehouse(black_box(&order.allocation))
                .unwrap(),
        );
    });
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
    println!("rhai, per call:");
    println!("  fees                {:>8.2} µs", fees.as_secs_f64() * 1e6);
    println!(
        "  push_checks         {:>8.2} µs",
        checks.as_secs_f64() * 1e6
    );
    println!(
        "  allocate_warehouse  {:>8.2} µs",
        allocation.as_secs_f64() * 1e6
    );
    println!(
        "  empty script        {:>8.2} µs",
        baseline.as_secs_f64() * 1e6
    );
}
