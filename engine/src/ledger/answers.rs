//! What the ledger commands answer: a balance and a transaction are shapes several commands
//! share; their doc comments are the descriptions of the protocol's JSON Schema.

use schemars::JsonSchema;
use serde::Serialize;

use crate::{
    model::{money, LedgerAccount, Transaction},
    protocol::Amount,
};

/// The ledger account of a supplier and a distributor: `set_credit`'s answer and a row of
/// `balances`. Every amount is in `currency`, rounded to its minor unit.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Balance {
    /// The supplier, who holds the account.
    pub supplier: String,
    /// The distributor whose prepaid balance it is.
    pub distributor: String,
    /// The balance: the sum of the account's transactions; negative only within credit terms.
    pub balance: Amount,
    /// Whether credit terms are on (the balance may go down to minus `credit_limit`).
    pub credit_enabled: bool,
    /// The credit limit (kept while credit terms are off).
    pub credit_limit: Amount,
    /// Credit in use: `max(0, -balance)`.
    pub credit_used: Amount,
    /// What the distributor may still spend: `balance + credit_limit` with credit terms on,
    /// else `balance`.
    pub available: Amount,
    /// The supplier's settlement currency.
    pub currency: String,
}

impl From<&LedgerAccount> for Balance {
    fn from(a: &LedgerAccount) -> Balance {
        let round = |amount| Amount(money::round(amount, &a.currency));
        Balance {
            supplier: a.supplier.clone(),
            distributor: a.distributor.clone(),
            balance: round(a.balance),
            credit_enabled: a.credit_enabled,
            credit_limit: round(a.credit_limit),
            credit_used: round(a.credit_used()),
            available: round(a.available()),
            currency: a.currency.clone(),
        }
    }
}

/// One ledger transaction; the supplier and the distributor read the same rows.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TransactionRow {
    /// `T` and 12 digits, unique in the store.
    pub txn_id: String,
    /// `add_balance`, `deduct_balance`, `order_charge`, `push_failed_refund`,
    /// `withdrawal_refund` or `after_sale_refund`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The order it charges or refunds, or `null`.
    pub order: Option<String>,
    /// Signed: what leaves the distributor's balance is negative.
    pub amount: Amount,
    /// The account's currency.
    pub currency: String,
    /// The balance once it was appended.
    pub balance_after: Amount,
    /// The supplier.
    pub supplier: String,
    /// The distributor.
    pub distributor: String,
    /// The note the supplier gave, or `null`.
    pub note: Option<String>,
    /// When it was appended (RFC 3339, UTC).
    pub at: String,
}

impl From<Transaction> for TransactionRow {
    fn from(t: Transaction) -> TransactionRow {
        TransactionRow {
            txn_id: t.txn_id,
            kind: t.kind,
            order: t.order,
            amount: t.amount.into(),
            currency: t.currency,
            balance_after: t.balance_after.into(),
            supplier: t.supplier,
            distributor: t.distributor,
            note: t.note,
            at: t.at,
        }
    }
}

/// The answer to `add_balance` and `deduct_balance`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BalanceChanged {
    /// The transaction appended.
    pub txn: TransactionRow,
    /// The balance after it.
    pub balance: Amount,
    /// The account's currency.
    pub currency: String,
}

/// The answer to `balances`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Balances {
    /// The ledger accounts the actor may see: as supplier and as distributor, by permission set.
    pub balances: Vec<Balance>,
}

/// The answer to `transactions`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Transactions {
    /// The transactions of the selected accounts, oldest first per account.
    pub transactions: Vec<TransactionRow>,
}

/// The answer to `set_live_rate` and `set_fixed_rate`: `1 from = rate to`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RateSet {
    /// The currency converted from.
    pub from: String,
    /// The currency converted to.
    pub to: String,
    /// How many units of `to` one unit of `from` is, as it was given.
    pub rate: Amount,
}
