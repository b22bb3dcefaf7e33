//! The default pack's three scripts written in Rust: what `push_checks.rhai`, `fees.rhai` and
//! `allocate_warehouse.rhai` return, computed the way Rhai computes it (the same checked decimal
//! operations, the same `Display` of decimals, the same region comparison) for a small fraction
//! of the interpreter's cost (`benches/rules.rs`). [`RuleSet`](super::RuleSet) calls them only for
//! a script whose text is byte for byte the embedded default's ([`is_default`]).
//!
//! Each function answers `None` when it does not decide, and the caller then runs the script, so
//! every error is the script's own, message and position alike. That is the case when the script
//! fails (a decimal overflows, a fee part is negative, no warehouse holds every line) and when the
//! input is larger than the bounds below, within which the script provably stays inside the
//! sandbox's limits (`limits.rs`; `native/tests.rs` measures the worst cases at the bounds). The
//! engine's own inputs are far inside them (`ORDER_LINES_MAX`, `ASSIGNED_WAREHOUSES_MAX`).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{
    limits, views, AllocationInput, Failure, Fees, FeesInput, PushCheckInput, WarehouseCandidate,
    ALLOCATE_WAREHOUSE, FEES, PUSH_CHECKS,
};
use crate::pack::{self, FileKind};

/// Orders with more lines than this are left to the script: past it, the script's loops over the
/// lines could near the sandbox's operation and array limits.
pub(super) const LINES_MAX: usize = 1_000;
/// Allocations among more candidates than this are left to the script, for its operation limit.
pub(super) const CANDIDATES_MAX: usize = 1_000;
/// Push-check failures whose codes and messages add up to more bytes than this are left to the
/// script: Rhai refuses any string, or array of strings, over `MAX_STRING_SIZE` bytes, and half
/// of it leaves room for how Rhai counts what it holds while it builds them.
pub(super) const TEXT_BYTES_MAX: usize = limits::MAX_STRING_SIZE / 2;

/// Whether `text` is the embedded default pack's text of the script `stem`, one of the three this
/// module implements: only then may the rule set run the script natively.
pub(super) fn is_default(stem: &str, text: &str) -> bool {
    matches!(stem, PUSH_CHECKS | FEES | ALLOCATE_WAREHOUSE)
        && pack::embedded_text(FileKind::Script, stem) == Some(text)
}

/// `push_checks.rhai`: every failure, in the script's order, with the script's messages; `None`
/// when the script would fail (the fees' total or the credit overflows) or the input exceeds the
/// bounds.
pub(super) fn push_checks(input: &PushCheckInput) -> Option<Vec<Failure>> {
    let lines = &input.order.lines;
    if lines.len() > LINES_MAX {
        return None;
    }
    let partnership = &input.partnership;
    let mut failures = Vec::new();
    if partnership.status != crate::contract::partnership::PARTNERED {
        failures.push(failure(
            "not_partnered",
            format!(
                "{} is not partnered with supplier {} (status: {})",
                partnership.distributor, partnership.supplier, partnership.status
            ),
        ));
    }
    let mut unmapped = Vec::new();
    let mut expired = Vec::new();
    for line in lines {
        if !line.mapped {
            unmapped.push(line.store_sku.as_str());
        } else if line.expired {
            expired.push(line.sku.as_str());
        }
    }
    if !unmapped.is_empty() {
        failures.push(failure(
            "sku_not_mapped",
            format!(
                "not mapped to a claimed SKU of this supplier: store SKU {}",
                listed(&unmapped)
            ),
        ));
    }
    if !expired.is_empty() {
        failures.push(failure(
            "product_expired",
            format!(
                "expired (partnership ended or distribution stopped): SKU {}",
                listed(&expired)
            ),
        ));
    }
    if let Some(short) = short_of_funds(input)? {
        failures.push(short);
    }
    let text_bytes: usize = failures
        .iter()
        .map(|f| f.code.len().saturating_add(f.message.len()))
        .fold(0, usize::saturating_add);
    (text_bytes <= TEXT_BYTES_MAX).then_some(failures)
}

/// Check 4 of `push_checks.rhai`: the failure when the funds do not cover the fees (`Some(None)`
/// when they do), or `None` when the script's arithmetic would overflow.
fn short_of_funds(input: &PushCheckInput) -> Option<Option<Failure>> {
    let account = &input.account;
    let currency = &account.currency;
    let total = input.fees.total()?;
    if account.credit_enabled {
        // The script's `to_decimal(0)`, and its `account.balance > 0` compares with a decimal 0.
        let zero = Decimal::from(0_i64);
        let funds = if account.balance > zero {
            account.balance
        } else {
            zero
        };
        let unused_credit = account.credit_limit.checked_sub(account.credit_used)?;
        let available = funds.checked_add(unused_credit)?;
        if available < total {
            return Some(Some(failure(
                "credit_limit_exceeded",
                format!(
                    "available {available} {currency} (balance {}, unused credit {unused_credit}) \
                     does not cover {total} {currency}",
                    account.balance
                ),
            )));
        }
    } else if account.balance < total {
        return Some(Some(failure(
            "insufficient_balance",
            format!(
                "balance {} {currency} does not cover {total} {currency}",
                account.balance
            ),
        )));
    }
    Some(None)
}

fn failure(code: &str, message: String) -> Failure {
    Failure {
        code: code.to_owned(),
        message,
    }
}

/// The script's `listed`: a separator goes before a SKU only when the text so far is not empty,
/// so empty SKUs leave no leading separator (`["", "A"]` lists as `A`, `["A", ""]` as `A, `).
fn listed(skus: &[&str]) -> String {
    let mut text = String::new();
    for sku in skus {
        if !text.is_empty() {
            text.push_str(", ");
        }
        text.push_str(sku);
    }
    text
}

/// `fees.rhai`: price times quantity summed over the lines from a decimal 0, and the settings;
/// `None` when the script would fail (an overflow, a negative part, a total that overflows) or
/// the order exceeds the bounds.
pub(super) fn fees(input: &FeesInput) -> Option<Fees> {
    let lines = &input.order.lines;
    if lines.len() > LINES_MAX {
        return None;
    }
    // Rhai turns `line.qty` into a decimal and multiplies and adds with the checked operations.
    let mut goods = Decimal::from(0_i64);
    for line in lines {
        goods = goods.checked_add(line.price.checked_mul(Decimal::from(line.qty))?)?;
    }
    let fees = Fees {
        goods,
        handling: input.settings.handling,
        shipping: input.settings.shipping,
    };
    // What `outputs::fees` refuses; a negative zero passes there, so it passes here.
    let negative = |amount: Decimal| amount.is_sign_negative() && !amount.is_zero();
    if negative(fees.goods) || negative(fees.handling) || negative(fees.shipping) {
        return None;
    }
    fees.total()?;
    Some(fees)
}

/// `allocate_warehouse.rhai`: the first fitting candidate in the order's state, else in its
/// country, else anywhere; `None` when none fits (the script throws) or there are too many
/// candidates.
pub(super) fn allocate_warehouse(input: &AllocationInput) -> Option<String> {
    let candidates = &input.candidates;
    if candidates.len() > CANDIDATES_MAX {
        return None;
    }
    let needed = needed(input);
    let fits: Vec<bool> = candidates.iter().map(|c| holds(c, &needed)).collect();
    let address = &input.order.address;
    let first_fitting = |place: Option<&str>| {
        candidates
            .iter()
            .zip(&fits)
            .find(|&(candidate, &fits)| {
                fits && place.is_none_or(|place| views::region_matches(&candidate.region, place))
            })
            .map(|(candidate, _)| candidate.warehouse.clone())
    };
    first_fitting(Some(address.state.as_str()))
        .or_else(|| first_fitting(Some(address.country.as_str())))
        .or_else(|| first_fitting(None))
}

/// The quantity each SKU needs, its lines added up in order with the saturating sum
/// `Warehouse.holds` uses.
fn needed(input: &AllocationInput) -> BTreeMap<&str, i64> {
    let mut needed = BTreeMap::new();
    for line in &input.order.lines {
        let sum: &mut i64 = needed.entry(line.sku.as_str()).or_insert(0);
        *sum = sum.saturating_add(line.qty);
    }
    needed
}

/// `Warehouse.holds`: every SKU's quantity is available in `candidate`.
fn holds(candidate: &WarehouseCandidate, needed: &BTreeMap<&str, i64>) -> bool {
    needed
        .iter()
        .all(|(sku, &quantity)| candidate.available(sku) >= quantity)
}

#[cfg(test)]
mod tests;
