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
//!
//! How it reads: the charges in the window, then one scan of the orders' decisions recorded with
//! inputs (`audit.inputs`), oldest first, each row borrowed from the store and parsed only when
//! its order was charged. Everything is read in one read transaction: on SQLite a read-only
//! connection to the file; on PostgreSQL a `REPEATABLE READ READ ONLY` transaction on a
//! connection whose transactions are all read only, so that the charges, the scan and the chains
//! see one snapshot while other processes keep writing. An order's newest allocation so far is replayed as the scan passes it, and a
//! push with the charges it made (a later push of the same order replaces it for the charges
//! after it). The scan keeps only counts and deltas; an order name that two distributors hold is
//! replayed by its history chain instead (`Tx::recorded_decisions`), as are the few charges the
//! report shows as examples, which the chain's replay must find changed in the same rules. A
//! chain walk per order was 26 µs per order replayed, the scan is BENCHMARKS.md's figure.

use std::collections::{BTreeMap, HashMap, HashSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{pack_from_json, Installed};
use crate::{
    contract::order,
    error::{Code, Error},
    model::{money, time::Instant},
    rules::{
        AccountInput, AddressInput, AllocationInput, Failure, FeeSettings, Fees, FeesInput,
        OrderInput, PartnershipInput, PushCheckInput, RuleError, RuleSet,
    },
    store::{DecisionRow, OrderCharge, RecordedDecision, Store, Tx},
    workflow::Guard,
};

/// How many differences a report shows as examples.
pub const EXAMPLES_MAX: usize = 10;
/// How many recorded decisions are read between two progress reports.
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

/// The inputs recorded with a transition (see `orders/fire.rs`), read.
struct Recorded {
    /// The allocation rule's, at a pack.
    allocate_warehouse: Option<AllocationInput>,
    /// The push checks' and the fee rule's, at a push (both recorded).
    push: Option<PushInputs>,
}

/// What a push recorded: the push checks' input, and the fee rule's settings and order. Both
/// inputs name the same order, recorded from one value: when the two texts are the same it is
/// read once and lent to the fee rule (`fees_order` is `None`).
struct PushInputs {
    checks: PushCheckInput,
    settings: FeeSettings,
    fees_order: Option<OrderInput>,
}

impl PushInputs {
    /// Runs `f` on the fee rule's input; the checks' order is lent to it and given back.
    fn with_fees<T>(&mut self, f: impl FnOnce(&FeesInput) -> T) -> T {
        let settings = self.settings.clone();
        if let Some(order) = self.fees_order.take() {
            let input = FeesInput { order, settings };
            let answer = f(&input);
            self.fees_order = Some(input.order);
            return answer;
        }
        let order = std::mem::replace(&mut self.checks.order, no_order());
        let input = FeesInput { order, settings };
        let answer = f(&input);
        self.checks.order = input.order;
        answer
    }
}

/// A placeholder while an order is lent (nothing allocated).
fn no_order() -> OrderInput {
    OrderInput {
        order: String::new(),
        marketplace: String::new(),
        currency: String::new(),
        shipping: String::new(),
        address: AddressInput::default(),
        lines: Vec::new(),
    }
}

/// The recorded inputs as stored (`orders/fire.rs`'s `DecisionInputs`), the push's orders left
/// as text to compare: [`PushCheckInput`] and [`FeesInput`] with `order` unread.
#[derive(Deserialize)]
struct RecordedText<'a> {
    #[serde(default)]
    allocate_warehouse: Option<AllocationInput>,
    #[serde(default, borrow)]
    rule_guards: Option<ChecksText<'a>>,
    #[serde(default, borrow)]
    fees: Option<FeesText<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecksText<'a> {
    #[serde(borrow)]
    order: &'a RawValue,
    partnership: PartnershipInput,
    account: AccountInput,
    fees: Fees,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeesText<'a> {
    #[serde(borrow)]
    order: &'a RawValue,
    settings: FeeSettings,
}

/// Replays `candidate` against the store at `path` (a SQLite file or a PostgreSQL URL), opened
/// read only. `progress` is told `(done, total)` in audit rows read, every [`PROGRESS_EVERY`]
/// decisions and at the end.
pub fn backtest(
    path: &std::path::Path,
    candidate: &Installed,
    window: &Window,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, Error> {
    // A PostgreSQL database that does not answer, or has no store, is refused as it opens.
    if !crate::store::is_postgres(path) && !path.is_file() {
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
        let shared = tx.shared_order_names()?;
        let mut replay = Replay::new(candidate);
        let mut scan = Scan::new(&charges, &shared);
        let last = tx.audit_seq_max()?.unsigned_abs();
        let mut read = 0u64;
        tx.scan_recorded_decisions(|row| {
            scan.decision(&mut replay, tx, row)?;
            read += 1;
            if read % PROGRESS_EVERY == 0 {
                progress(row.seq.unsigned_abs(), last);
            }
            Ok(())
        })?;
        for (i, charge) in charges.iter().enumerate() {
            if shared.contains(&charge.order) {
                scan.outcomes[i] = replay.by_chain(tx, charge, false)?;
            }
        }
        progress(last, last);
        replay.report(tx, &charges, scan.outcomes)
    })
}

/// An RFC 3339 bound as stored times are written (UTC, whole seconds), so they compare as text.
fn normalise(field: &str, text: Option<&str>) -> Result<Option<String>, Error> {
    text.map(|t| Instant::parse(field, t).map(|at| at.to_string()))
        .transpose()
}

/// The allocation rule replayed on one recorded input: what the pack that decided and the
/// candidate answer when they differ, `None` when they agree; or why the deciding pack could not
/// run, raised only if a replayed charge depends on it.
type Allocation = Result<Option<(String, String)>, String>;

/// What replaying one charge found.
#[derive(Debug, Default)]
struct Outcome {
    /// The rules that decide differently, in report order (fees, push checks, allocation),
    /// with what was and what is decided when described (empty texts otherwise).
    changes: Vec<Difference>,
    /// What the candidate's fees would have charged minus what was charged; `None` when the
    /// candidate's fee rule fails.
    delta: Option<Decimal>,
    /// Why the charge could not be replayed (an overflow, a deciding pack not kept).
    error: Option<Error>,
}

/// The one scan's state: which order names were charged (the charges of each, in charge
/// order), each order's newest allocation replayed so far, and each charge's outcome.
struct Scan<'c> {
    charges: &'c [OrderCharge],
    /// The charges of each order name only one distributor holds.
    by_order: HashMap<&'c str, Vec<usize>>,
    allocations: HashMap<&'c str, Allocation>,
    outcomes: Vec<Option<Outcome>>,
}

impl<'c> Scan<'c> {
    fn new(charges: &'c [OrderCharge], shared: &HashSet<String>) -> Scan<'c> {
        let mut by_order: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, charge) in charges.iter().enumerate() {
            if !shared.contains(&charge.order) {
                by_order.entry(charge.order.as_str()).or_default().push(i);
            }
        }
        Scan {
            charges,
            by_order,
            allocations: HashMap::new(),
            outcomes: charges.iter().map(|_| None).collect(),
        }
    }

    /// One recorded decision: a push replays the charges it made (at or after it), an
    /// allocation is replayed for the pushes after it. Decisions of orders not charged in the
    /// window are not parsed.
    fn decision(
        &mut self,
        replay: &mut Replay<'_>,
        tx: &Tx<'_>,
        row: &DecisionRow<'_>,
    ) -> Result<(), Error> {
        let Some((&order, indices)) = self.by_order.get_key_value(row.order) else {
            return Ok(());
        };
        let mut recorded = parse(row.seq, row.inputs)?;
        if let Some(inputs) = &mut recorded.push {
            let push = Push {
                event: row.event,
                from_state: row.from_state,
            };
            for &i in indices {
                let charge = &self.charges[i];
                if row.at <= charge.at.as_str() {
                    let allocation = self.allocations.get(order);
                    let outcome = replay.charge(charge, &push, inputs, allocation, false);
                    self.outcomes[i] = Some(outcome);
                }
            }
        }
        if let Some(input) = &recorded.allocate_warehouse {
            let allocation = replay.allocation(tx, row.rules_version, input);
            self.allocations.insert(order, allocation);
        }
        Ok(())
    }
}

/// The push a charge is replayed on: its event and the state it left.
struct Push<'r> {
    event: &'r str,
    from_state: Option<&'r str>,
}

/// The rules replayed: the candidate's, and those of every pack version that decided.
struct Replay<'c> {
    candidate: &'c Installed,
    /// The pack versions that decided, compiled once each from their kept files.
    deciding: BTreeMap<String, RuleSet>,
}

impl<'c> Replay<'c> {
    fn new(candidate: &'c Installed) -> Replay<'c> {
        Replay {
            candidate,
            deciding: BTreeMap::new(),
        }
    }

    /// Replays one charge by its order's history chain: the push that made it (the newest at
    /// or before it), and the allocation before that push. `None` when the push was recorded
    /// without inputs.
    fn by_chain(
        &mut self,
        tx: &Tx<'_>,
        charge: &OrderCharge,
        describe: bool,
    ) -> Result<Option<Outcome>, Error> {
        let mut decisions = tx
            .recorded_decisions(&charge.distributor, &charge.order)?
            .into_iter()
            .map(|d| parse(d.seq, &d.inputs).map(|r| (d, r)))
            .collect::<Result<Vec<(RecordedDecision, Recorded)>, Error>>()?;
        let Some(at) = decisions
            .iter()
            .position(|(d, r)| d.at.as_str() <= charge.at.as_str() && r.push.is_some())
        else {
            return Ok(None);
        };
        // Newest first: the allocation before the push is the first one after it in the list.
        let allocation = decisions[at + 1..]
            .iter()
            .find_map(|(d, r)| r.allocate_warehouse.as_ref().map(|input| (d, input)))
            .map(|(d, input)| self.allocation(tx, &d.rules_version, input));
        let (decision, recorded) = &mut decisions[at];
        let push = Push {
            event: &decision.event,
            from_state: decision.from_state.as_deref(),
        };
        let Some(inputs) = &mut recorded.push else {
            return Ok(None);
        };
        Ok(Some(self.charge(
            charge,
            &push,
            inputs,
            allocation.as_ref(),
            describe,
        )))
    }

    /// The allocation rule on a recorded input, by the pack version that decided and by the
    /// candidate.
    fn allocation(&mut self, tx: &Tx<'_>, version: &str, input: &AllocationInput) -> Allocation {
        let now = outcome(self.candidate.rules.allocate_warehouse(input));
        let deciding = self
            .deciding(tx, version)
            .map_err(|e| e.message().to_owned())?;
        let was = outcome(deciding.allocate_warehouse(input));
        Ok((was != now).then_some((was, now)))
    }

    /// One charge replayed on its push's recorded inputs and the allocation before it.
    fn charge(
        &self,
        charge: &OrderCharge,
        push: &Push<'_>,
        inputs: &mut PushInputs,
        allocation: Option<&Allocation>,
        describe: bool,
    ) -> Outcome {
        let mut outcome = Outcome::default();
        let change = |rule: &'static str, was: &dyn Fn() -> String, now: &dyn Fn() -> String| {
            let (was, now) = if describe {
                (was(), now())
            } else {
                (String::new(), String::new())
            };
            Difference {
                rule,
                order: charge.order.clone(),
                distributor: charge.distributor.clone(),
                supplier: charge.supplier.clone(),
                was,
                now,
            }
        };
        let was = inputs.checks.fees.clone();
        match inputs.with_fees(|input| self.fees(charge, input, &was)) {
            Ok((changed, delta)) => {
                if let Some(now) = changed {
                    let now = now.map_or_else(|e| format!("error: {e}"), |f| describe_fees(&f));
                    let difference = change("fees", &|| describe_fees(&was), &|| now.clone());
                    outcome.changes.push(difference);
                }
                outcome.delta = delta;
            }
            Err(e) => outcome.error = Some(e),
        }
        if let Some(now) = self.push_checks(push, &inputs.checks) {
            let difference = change("push_checks", &|| "passed".to_owned(), &|| now.clone());
            outcome.changes.push(difference);
        }
        match allocation {
            Some(Ok(Some((was, now)))) => {
                let difference = change("allocate_warehouse", &|| was.clone(), &|| now.clone());
                outcome.changes.push(difference);
            }
            Some(Err(e)) if outcome.error.is_none() => {
                outcome.error = Some(Error::internal(e.clone()));
            }
            _ => {}
        }
        outcome
    }

    /// The fee rule on the push's recorded input: changed when any part differs from what the
    /// push checks approved (the candidate's fees, or its error); the delta is the new total,
    /// rounded as the ledger rounds, minus the charge (none when the candidate's rule fails: it
    /// would charge nothing it can name).
    #[allow(clippy::type_complexity)]
    fn fees(
        &self,
        charge: &OrderCharge,
        input: &FeesInput,
        was: &Fees,
    ) -> Result<(Option<Result<Fees, RuleError>>, Option<Decimal>), Error> {
        let now = match self.candidate.rules.fees(input) {
            Ok(now) => now,
            Err(e) => return Ok((Some(Err(e)), None)),
        };
        let total = now
            .total()
            .ok_or_else(|| Error::internal("the candidate's fees overflow"))?;
        let delta = money::sub(money::round(total, &charge.currency), charge.charged)?;
        let changed = (&now != was).then_some(Ok(now));
        Ok((changed, Some(delta)))
    }

    /// The candidate's `rule:` guards of the push transition, on the recorded input: the push
    /// passed, so any failure (or a transition the candidate no longer has) is a change,
    /// answered as what the candidate decides.
    fn push_checks(&self, push: &Push<'_>, input: &PushCheckInput) -> Option<String> {
        let from = push.from_state.unwrap_or_default();
        let transition = self
            .candidate
            .workflows
            .get(order::WORKFLOW)
            .and_then(|w| w.transitions_from(from).find(|t| t.event() == push.event));
        let Some(t) = transition else {
            return Some(format!("no `{}` transition from `{from}`", push.event));
        };
        let mut refused: Vec<String> = Vec::new();
        for guard in t.guards() {
            if let Guard::Rule(script) = guard {
                match self.candidate.rules.guard(script, input) {
                    Ok(failures) => refused.extend(failures.iter().map(code)),
                    Err(e) => refused.push(format!("error: {e}")),
                }
            }
        }
        (!refused.is_empty()).then(|| format!("refused: {}", refused.join(", ")))
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

    /// Sums the outcomes in charge order: the counts, the deltas per pair and in total, and the
    /// first differences as examples, described by replaying their charges again by chain.
    fn report(
        mut self,
        tx: &Tx<'_>,
        charges: &[OrderCharge],
        outcomes: Vec<Option<Outcome>>,
    ) -> Result<Report, Error> {
        let mut orders = 0;
        let mut skipped = 0;
        let mut rules = RuleCounts::default();
        let mut by_pair: BTreeMap<(&str, &str), (&str, Decimal)> = BTreeMap::new();
        let mut differences = Vec::new();
        for (charge, outcome) in charges.iter().zip(outcomes) {
            let Some(outcome) = outcome else {
                skipped += 1;
                continue;
            };
            if let Some(error) = outcome.error {
                return Err(error);
            }
            orders += 1;
            for change in &outcome.changes {
                let count = match change.rule {
                    "fees" => &mut rules.fees,
                    "push_checks" => &mut rules.push_checks,
                    _ => &mut rules.allocate_warehouse,
                };
                count.changed += 1;
            }
            if let Some(delta) = outcome.delta {
                let key = (charge.supplier.as_str(), charge.distributor.as_str());
                let entry = by_pair
                    .entry(key)
                    .or_insert((charge.currency.as_str(), Decimal::ZERO));
                entry.1 = money::add(entry.1, delta)?;
            }
            if !outcome.changes.is_empty() && differences.len() < EXAMPLES_MAX {
                let described = self.by_chain(tx, charge, true)?.unwrap_or_default();
                let rules_of = |o: &Outcome| o.changes.iter().map(|c| c.rule).collect::<Vec<_>>();
                if rules_of(&described) != rules_of(&outcome) {
                    return Err(Error::internal(format!(
                        "the replay of order {} by its chain ({:?}) differs from the scan's ({:?})",
                        charge.order,
                        rules_of(&described),
                        rules_of(&outcome)
                    )));
                }
                let room = EXAMPLES_MAX - differences.len();
                differences.extend(described.changes.into_iter().take(room));
            }
        }
        let mut totals: BTreeMap<&str, Decimal> = BTreeMap::new();
        let mut pairs = Vec::new();
        for ((supplier, distributor), (currency, delta)) in by_pair {
            let total = totals.entry(currency).or_insert(Decimal::ZERO);
            *total = money::add(*total, delta)?;
            pairs.push(PairDelta {
                supplier: supplier.to_owned(),
                distributor: distributor.to_owned(),
                delta: delta.to_string(),
            });
        }
        let total = if totals.len() > 1 {
            Total::PerCurrency(
                totals
                    .into_iter()
                    .map(|(c, d)| (c.to_owned(), d.to_string()))
                    .collect(),
            )
        } else {
            Total::One(totals.into_values().next().unwrap_or_default().to_string())
        };
        Ok(Report {
            orders,
            rules,
            money_delta: MoneyDelta {
                total,
                by_pair: pairs,
            },
            differences,
            skipped,
        })
    }
}

/// The inputs recorded with audit row `seq`, read; every part is read, so a malformed one
/// fails whether or not it is replayed.
fn parse(seq: i64, inputs: &str) -> Result<Recorded, Error> {
    let unreadable = |e: serde_json::Error| {
        Error::internal(format!(
            "the inputs recorded with audit row {seq} do not read: {e}"
        ))
    };
    let text: RecordedText<'_> = serde_json::from_str(inputs).map_err(unreadable)?;
    let order = |raw: &RawValue| serde_json::from_str::<OrderInput>(raw.get()).map_err(unreadable);
    let push = match (text.rule_guards, text.fees) {
        (Some(checks), Some(fees)) => {
            let fees_order = if fees.order.get() == checks.order.get() {
                None
            } else {
                Some(order(fees.order)?)
            };
            Some(PushInputs {
                checks: PushCheckInput {
                    order: order(checks.order)?,
                    partnership: checks.partnership,
                    account: checks.account,
                    fees: checks.fees,
                },
                settings: fees.settings,
                fees_order,
            })
        }
        (checks, fees) => {
            for raw in [checks.map(|c| c.order), fees.map(|f| f.order)]
                .into_iter()
                .flatten()
            {
                order(raw)?;
            }
            None
        }
    };
    Ok(Recorded {
        allocate_warehouse: text.allocate_warehouse,
        push,
    })
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
