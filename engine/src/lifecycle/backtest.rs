//! Backtest: a candidate pack replayed against a store's history, read only. For every order
//! charged in a window, the fee rule and the push checks run on the inputs recorded with the
//! push that charged it, and the allocation rule on those recorded with the pack before it; the
//! report counts the decisions each rule would make differently and what the new fees would
//! have charged minus what was charged.
//!
//! What was decided is read, never guessed: the push passed its checks (it charged), the fees
//! are those the push checks approved (recorded with them) and the ledger's charge, and the
//! warehouse is what the pack version that decided answers on its recorded input (its files are
//! kept by version). An order whose push was recorded before inputs were kept is skipped and
//! counted.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use super::{pack_from_json, Installed};
use crate::{
    contract::order,
    error::{Code, Error},
    model::{money, time::Instant},
    rules::{AllocationInput, Failure, Fees, FeesInput, PushCheckInput, RuleError, RuleSet},
    store::{OrderCharge, RecordedDecision, Store, Tx},
    workflow::Guard,
};

/// How many differences a report shows as examples.
pub const EXAMPLES_MAX: usize = 10;
/// How many orders are replayed between two progress reports.
pub const PROGRESS_EVERY: u64 = 1_000;

/// What to replay: the charges at or after `since` and before `until`, each open when `None`
/// (RFC 3339 times).
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// The first instant included.
    pub since: Option<String>,
    /// The first instant excluded.
    pub until: Option<String>,
}

/// The report, `--json`'s one object.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// Orders replayed (charges in the window with recorded inputs).
    pub orders: u64,
    /// How many decisions each rule would make differently.
    pub rules: RuleCounts,
    /// What the new fees would have charged minus what was charged.
    pub money_delta: MoneyDelta,
    /// A few of the differences, in charge order (at most [`EXAMPLES_MAX`]).
    pub differences: Vec<Difference>,
    /// Charges in the window whose push was recorded before decision inputs were kept: nothing
    /// to replay. Not part of `--json` (said on stderr).
    #[serde(skip)]
    pub skipped: u64,
}

/// Changed decisions by rule.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RuleCounts {
    /// The fee rule (`fees.rhai`).
    pub fees: Changed,
    /// The push's `rule:` guards (`push_checks.rhai`).
    pub push_checks: Changed,
    /// The allocation rule (`allocate_warehouse.rhai`).
    pub allocate_warehouse: Changed,
}

/// A count of changed decisions.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Changed {
    /// Orders the rule would decide differently.
    pub changed: u64,
}

/// The money delta: in total, and per (supplier, distributor).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MoneyDelta {
    /// A decimal string in the settlement currency, or an object by currency when the window
    /// holds several.
    pub total: Total,
    /// Per pair, in (supplier, distributor) order.
    pub by_pair: Vec<PairDelta>,
}

/// A total in one currency, or one per currency.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Total {
    /// The only currency's.
    One(String),
    /// By currency code.
    PerCurrency(BTreeMap<String, String>),
}

/// One pair's delta (in its account's currency).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PairDelta {
    /// The supplier.
    pub supplier: String,
    /// The distributor.
    pub distributor: String,
    /// The delta, a decimal string.
    pub delta: String,
}

/// One decision the candidate would make differently.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Difference {
    /// `fees`, `push_checks` or `allocate_warehouse`.
    pub rule: &'static str,
    /// The order.
    pub order: String,
    /// Its distributor.
    pub distributor: String,
    /// The supplier it was charged for.
    pub supplier: String,
    /// What was decided.
    pub was: String,
    /// What the candidate decides.
    pub now: String,
}

/// The inputs recorded with a transition (see `orders/fire.rs`).
#[derive(serde::Deserialize)]
struct Recorded {
    #[serde(default)]
    allocate_warehouse: Option<AllocationInput>,
    #[serde(default)]
    rule_guards: Option<PushCheckInput>,
    #[serde(default)]
    fees: Option<FeesInput>,
}

/// Replays `candidate` against the store at `path`, opened read only. `progress` is told
/// `(done, total)` every [`PROGRESS_EVERY`] orders and at the end.
pub fn backtest(
    path: &std::path::Path,
    candidate: &Installed,
    window: &Window,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, Error> {
    if !path.is_file() {
        return Err(Error::new(
            Code::NotFound,
            format!("no store at {}", path.display()),
        ));
    }
    let since = normalise("since", window.since.as_deref())?;
    let until = normalise("until", window.until.as_deref())?;
    let mut store = Store::open_read_only(path)?;
    store.read(|tx| {
        let charges = tx.order_charges(since.as_deref(), until.as_deref())?;
        let mut replay = Replay::new(candidate);
        let total = charges.len() as u64;
        for (done, charge) in charges.iter().enumerate() {
            replay.charge(tx, charge)?;
            let done = done as u64 + 1;
            if done % PROGRESS_EVERY == 0 || done == total {
                progress(done, total);
            }
        }
        replay.report()
    })
}

/// An RFC 3339 bound as stored times are written (UTC, whole seconds), so they compare as text.
fn normalise(field: &str, text: Option<&str>) -> Result<Option<String>, Error> {
    text.map(|t| Instant::parse(field, t).map(|at| at.to_string()))
        .transpose()
}

/// The replay's running state.
struct Replay<'c> {
    candidate: &'c Installed,
    /// The pack versions that decided, compiled once each from their kept files.
    deciding: BTreeMap<String, RuleSet>,
    orders: u64,
    skipped: u64,
    rules: RuleCounts,
    by_pair: BTreeMap<(String, String), (String, Decimal)>,
    differences: Vec<Difference>,
}

impl<'c> Replay<'c> {
    fn new(candidate: &'c Installed) -> Replay<'c> {
        Replay {
            candidate,
            deciding: BTreeMap::new(),
            orders: 0,
            skipped: 0,
            rules: RuleCounts::default(),
            by_pair: BTreeMap::new(),
            differences: Vec::new(),
        }
    }

    /// Replays one charge: the push that made it, and the pack before that push.
    fn charge(&mut self, tx: &Tx<'_>, charge: &OrderCharge) -> Result<(), Error> {
        let decisions = read(tx.recorded_decisions(&charge.distributor, &charge.order)?)?;
        let push = decisions.iter().find(|(d, r)| {
            d.at.as_str() <= charge.at.as_str() && r.fees.is_some() && r.rule_guards.is_some()
        });
        let Some((
            push,
            Recorded {
                fees: Some(fees_input),
                rule_guards: Some(checks),
                ..
            },
        )) = push
        else {
            self.skipped += 1;
            return Ok(());
        };
        self.orders += 1;
        self.fees(charge, fees_input, &checks.fees)?;
        self.push_checks(charge, push, checks);
        let pack = decisions.iter().find_map(|(d, r)| {
            (d.seq < push.seq)
                .then_some(r.allocate_warehouse.as_ref())
                .flatten()
                .map(|input| (d, input))
        });
        if let Some((pack, input)) = pack {
            let deciding = self.deciding(tx, &pack.rules_version)?;
            let was = outcome(deciding.allocate_warehouse(input));
            let now = outcome(self.candidate.rules.allocate_warehouse(input));
            if was != now {
                self.rules.allocate_warehouse.changed += 1;
                self.example("allocate_warehouse", charge, was, now);
            }
        }
        Ok(())
    }

    /// The fee rule on the push's recorded input: changed when any part differs from what the
    /// push checks approved; the delta is the new total, rounded as the ledger rounds, minus
    /// the charge.
    fn fees(&mut self, charge: &OrderCharge, input: &FeesInput, was: &Fees) -> Result<(), Error> {
        let now = match self.candidate.rules.fees(input) {
            Ok(now) => now,
            Err(e) => {
                // A failing fee rule would charge nothing it can name: counted, no delta.
                self.rules.fees.changed += 1;
                self.example("fees", charge, describe_fees(was), format!("error: {e}"));
                return Ok(());
            }
        };
        if &now != was {
            self.rules.fees.changed += 1;
            self.example("fees", charge, describe_fees(was), describe_fees(&now));
        }
        let total = now
            .total()
            .ok_or_else(|| Error::internal("the candidate's fees overflow"))?;
        let delta = money::sub(money::round(total, &charge.currency), charge.charged)?;
        let key = (charge.supplier.clone(), charge.distributor.clone());
        let entry = self
            .by_pair
            .entry(key)
            .or_insert_with(|| (charge.currency.clone(), Decimal::ZERO));
        entry.1 = money::add(entry.1, delta)?;
        Ok(())
    }

    /// The candidate's `rule:` guards of the push transition, on the recorded input: the push
    /// passed, so any failure (or a transition the candidate no longer has) is a change.
    fn push_checks(
        &mut self,
        charge: &OrderCharge,
        push: &RecordedDecision,
        input: &PushCheckInput,
    ) {
        let from = push.from_state.as_deref().unwrap_or_default();
        let transition = self
            .candidate
            .workflows
            .get(order::WORKFLOW)
            .and_then(|w| w.transitions_from(from).find(|t| t.event() == push.event));
        let now = match transition {
            None => format!("no `{}` transition from `{from}`", push.event),
            Some(t) => {
                let mut refused: Vec<String> = Vec::new();
                for guard in t.guards() {
                    if let Guard::Rule(script) = guard {
                        match self.candidate.rules.guard(script, input) {
                            Ok(failures) => refused.extend(failures.iter().map(code)),
                            Err(e) => refused.push(format!("error: {e}")),
                        }
                    }
                }
                if refused.is_empty() {
                    return;
                }
                format!("refused: {}", refused.join(", "))
            }
        };
        self.rules.push_checks.changed += 1;
        self.example("push_checks", charge, "passed".to_owned(), now);
    }

    /// The rules of the pack version that decided, compiled from its kept files.
    fn deciding(&mut self, tx: &Tx<'_>, version: &str) -> Result<&RuleSet, Error> {
        if !self.deciding.contains_key(version) {
            let files = tx.rule_pack_files(version)?.ok_or_else(|| {
                Error::internal(format!(
                    "the pack version {version} that decided is not kept"
                ))
            })?;
            let rules = RuleSet::compile(&pack_from_json(version, &files)).map_err(|e| {
                Error::internal(format!("the kept pack {version} does not compile: {e}"))
            })?;
            self.deciding.insert(version.to_owned(), rules);
        }
        self.deciding
            .get(version)
            .ok_or_else(|| Error::internal("a compiled pack vanished"))
    }

    fn example(&mut self, rule: &'static str, charge: &OrderCharge, was: String, now: String) {
        if self.differences.len() < EXAMPLES_MAX {
            self.differences.push(Difference {
                rule,
                order: charge.order.clone(),
                distributor: charge.distributor.clone(),
                supplier: charge.supplier.clone(),
                was,
                now,
            });
        }
    }

    fn report(self) -> Result<Report, Error> {
        let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
        let mut by_pair = Vec::new();
        for ((supplier, distributor), (currency, delta)) in self.by_pair {
            let total = totals.entry(currency).or_insert(Decimal::ZERO);
            *total = money::add(*total, delta)?;
            by_pair.push(PairDelta {
                supplier,
                distributor,
                delta: delta.to_string(),
            });
        }
        let total = if totals.len() > 1 {
            Total::PerCurrency(
                totals
                    .into_iter()
                    .map(|(c, d)| (c, d.to_string()))
                    .collect(),
            )
        } else {
            Total::One(totals.into_values().next().unwrap_or_default().to_string())
        };
        Ok(Report {
            orders: self.orders,
            rules: self.rules,
            money_delta: MoneyDelta { total, by_pair },
            differences: self.differences,
            skipped: self.skipped,
        })
    }
}

/// The decisions with their inputs read (newest first, as they come).
fn read(decisions: Vec<RecordedDecision>) -> Result<Vec<(RecordedDecision, Recorded)>, Error> {
    decisions
        .into_iter()
        .map(|decision| {
            let recorded: Recorded = serde_json::from_str(&decision.inputs).map_err(|e| {
                Error::internal(format!(
                    "the inputs recorded with audit row {} do not read: {e}",
                    decision.seq
                ))
            })?;
            Ok((decision, recorded))
        })
        .collect()
}

fn outcome(result: Result<String, RuleError>) -> String {
    match result {
        Ok(warehouse) => warehouse,
        Err(e) => format!("error: {e}"),
    }
}

fn code(failure: &Failure) -> String {
    failure.code.clone()
}

fn describe_fees(fees: &Fees) -> String {
    format!(
        "goods {}, handling {}, shipping {}",
        fees.goods, fees.handling, fees.shipping
    )
}
