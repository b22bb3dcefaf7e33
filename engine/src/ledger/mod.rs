//! The ledger (docs/protocol.md#ledger): one prepaid account per (supplier, distributor) in the
//! supplier's settlement currency, changed only by appending a transaction, so a balance always
//! equals the sum of its transactions. Also the exchange rates used to convert prices.

mod answers;

use rust_decimal::Decimal;

use crate::{
    command::{
        check_name, check_text, BalanceChange, NoArgs, SetCredit, SetRate, TransactionsQuery,
    },
    error::{Code, Error},
    flow::Ctx,
    model::{
        money::{self, check_currency, parse_amount},
        LedgerAccount, Transaction,
    },
};

pub use answers::{Balance, BalanceChanged, Balances, RateSet, TransactionRow, Transactions};

/// The kinds of ledger transaction.
pub mod kind {
    /// The supplier adds balance (Manual Bookkeeping → Add Balance).
    pub const ADD_BALANCE: &str = "add_balance";
    /// The supplier deducts balance.
    pub const DEDUCT_BALANCE: &str = "deduct_balance";
    /// A pushed order's goods, handling and shipping.
    pub const ORDER_CHARGE: &str = "order_charge";
    /// A failed push's charge returned.
    pub const PUSH_FAILED_REFUND: &str = "push_failed_refund";
    /// A withdrawn order's charge returned.
    pub const WITHDRAWAL_REFUND: &str = "withdrawal_refund";
    /// A refund the supplier grants after sale.
    pub const AFTER_SALE_REFUND: &str = "after_sale_refund";
}

/// The ledger account of a pair, or `not_partnered` when the pair was never partnered.
pub fn account_of(
    ctx: &Ctx<'_, '_>,
    supplier: &str,
    distributor: &str,
) -> Result<LedgerAccount, Error> {
    ctx.tx
        .ledger_account(supplier, distributor)?
        .ok_or_else(|| {
            Error::new(
                Code::NotPartnered,
                format!("{distributor:?} has never partnered with {supplier:?}"),
            )
            .with("distributor", distributor)
        })
}

/// Appends a transaction of `amount` (signed: negative leaves the distributor's balance) to the
/// account. A debit may take the balance below zero only with credit terms on, down to minus the
/// credit limit; credits are always accepted.
pub fn post(
    ctx: &Ctx<'_, '_>,
    account: &LedgerAccount,
    kind: &str,
    order: Option<&str>,
    amount: Decimal,
    note: Option<&str>,
) -> Result<Transaction, Error> {
    let amount = money::round(amount, &account.currency);
    let balance_after = money::add(account.balance, amount)?;
    if amount.is_sign_negative() && balance_after.is_sign_negative() {
        if !account.credit_enabled {
            return Err(Error::new(
                Code::InsufficientBalance,
                format!(
                    "balance {} {} does not cover {}",
                    account.balance, account.currency, -amount
                ),
            )
            .with("balance", account.balance.to_string())
            .with("needed", (-amount).to_string()));
        }
        if -balance_after > account.credit_limit {
            return Err(Error::new(
                Code::CreditLimitExceeded,
                format!(
                    "balance {} plus unused credit does not cover {} {}",
                    account.balance, -amount, account.currency
                ),
            )
            .with("available", account.available().to_string())
            .with("needed", (-amount).to_string()));
        }
    }
    let seq = ctx.tx.next_transaction_seq()?;
    let txn = Transaction {
        txn_id: format!("T{seq:012}"),
        supplier: account.supplier.clone(),
        distributor: account.distributor.clone(),
        kind: kind.to_owned(),
        order: order.map(str::to_owned),
        amount,
        currency: account.currency.clone(),
        balance_after,
        note: note.map(str::to_owned),
        at: ctx.now(),
    };
    ctx.tx.append_transaction(seq, &txn)?;
    Ok(txn)
}

fn positive_amount(field: &str, text: &str, currency: &str) -> Result<Decimal, Error> {
    let amount = money::round(parse_amount(field, text)?, currency);
    if amount <= Decimal::ZERO {
        return Err(Error::bad_request(format!(
            "`{field}` must be positive in {currency}'s minor unit, got {text:?}"
        )));
    }
    Ok(amount)
}

fn balance_change(
    ctx: &Ctx<'_, '_>,
    args: &BalanceChange,
    kind: &str,
    sign: Decimal,
) -> Result<BalanceChanged, Error> {
    check_name("distributor", &args.distributor)?;
    if let Some(note) = &args.note {
        check_text("note", note)?;
    }
    let account = account_of(ctx, ctx.actor.account(), &args.distributor)?;
    let amount = positive_amount("amount", &args.amount, &account.currency)?;
    let txn = post(
        ctx,
        &account,
        kind,
        None,
        sign * amount,
        args.note.as_deref(),
    )?;
    Ok(BalanceChanged {
        balance: txn.balance_after.into(),
        currency: txn.currency.clone(),
        txn: txn.into(),
    })
}

/// `add_balance {distributor, amount, note?}` (suppliers only).
pub fn add_balance(ctx: &Ctx<'_, '_>, args: &BalanceChange) -> Result<BalanceChanged, Error> {
    balance_change(ctx, args, kind::ADD_BALANCE, Decimal::ONE)
}

/// `deduct_balance {distributor, amount, note?}`.
pub fn deduct_balance(ctx: &Ctx<'_, '_>, args: &BalanceChange) -> Result<BalanceChanged, Error> {
    balance_change(ctx, args, kind::DEDUCT_BALANCE, Decimal::NEGATIVE_ONE)
}

/// `set_credit {distributor, enabled, limit}`.
pub fn set_credit(ctx: &Ctx<'_, '_>, args: &SetCredit) -> Result<Balance, Error> {
    check_name("distributor", &args.distributor)?;
    let account = account_of(ctx, ctx.actor.account(), &args.distributor)?;
    let limit = money::round(parse_amount("limit", &args.limit)?, &account.currency);
    if limit.is_sign_negative() {
        return Err(Error::bad_request("`limit` must not be negative"));
    }
    ctx.tx
        .set_credit(&account.supplier, &account.distributor, args.enabled, limit)?;
    let account = account_of(ctx, &account.supplier, &account.distributor)?;
    Ok(Balance::from(&account))
}

/// The ledger accounts the actor may see: as supplier and/or as distributor, by permission set.
fn visible_accounts(ctx: &Ctx<'_, '_>) -> Result<Vec<LedgerAccount>, Error> {
    let me = ctx.actor.account();
    Ok(ctx
        .tx
        .ledger_accounts_of(me)?
        .into_iter()
        .filter(|a| {
            (a.supplier == me && ctx.actor.sees_supplier_side())
                || (a.distributor == me && ctx.actor.sees_distributor_side())
        })
        .collect())
}

/// `balances`: every visible ledger account.
pub fn balances(ctx: &Ctx<'_, '_>, _: &NoArgs) -> Result<Balances, Error> {
    let balances = visible_accounts(ctx)?.iter().map(Balance::from).collect();
    Ok(Balances { balances })
}

/// `transactions {supplier? | distributor?}`: the same rows for both sides, oldest first.
pub fn transactions(ctx: &Ctx<'_, '_>, args: &TransactionsQuery) -> Result<Transactions, Error> {
    let me = ctx.actor.account();
    let accounts = visible_accounts(ctx)?;
    let selected: Vec<&LedgerAccount> = match (&args.supplier, &args.distributor) {
        (Some(_), Some(_)) => {
            return Err(Error::bad_request(
                "give `supplier` or `distributor`, not both",
            ))
        }
        (Some(supplier), None) => {
            check_name("supplier", supplier)?;
            let found: Vec<_> = accounts
                .iter()
                .filter(|a| a.supplier == *supplier && a.distributor == me)
                .collect();
            if found.is_empty() {
                return Err(Error::not_found("supplier", supplier));
            }
            found
        }
        (None, Some(distributor)) => {
            check_name("distributor", distributor)?;
            let found: Vec<_> = accounts
                .iter()
                .filter(|a| a.distributor == *distributor && a.supplier == me)
                .collect();
            if found.is_empty() {
                return Err(Error::not_found("distributor", distributor));
            }
            found
        }
        (None, None) => accounts.iter().collect(),
    };
    let mut rows = Vec::new();
    for account in selected {
        for txn in ctx
            .tx
            .transactions(&account.supplier, &account.distributor)?
        {
            rows.push(TransactionRow::from(txn));
        }
    }
    Ok(Transactions { transactions: rows })
}

/// `set_live_rate` (owner empty) and `set_fixed_rate` (owner = the distributor).
pub fn set_rate(ctx: &Ctx<'_, '_>, owner: &str, args: &SetRate) -> Result<RateSet, Error> {
    check_currency(&args.from)?;
    check_currency(&args.to)?;
    if args.from == args.to {
        return Err(Error::bad_request(
            "a rate converts between two different currencies",
        ));
    }
    let rate = parse_amount("rate", &args.rate)?;
    if rate <= Decimal::ZERO {
        return Err(Error::bad_request("`rate` must be positive"));
    }
    ctx.tx
        .upsert_rate(owner, &args.from, &args.to, rate, &ctx.now())?;
    Ok(RateSet {
        from: args.from.clone(),
        to: args.to.clone(),
        rate: rate.into(),
    })
}

/// Where a conversion's rate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateSource {
    /// Same currency: no conversion.
    Same,
    /// The distributor's fixed rate.
    Fixed,
    /// The live rate.
    Live,
}

/// Converts `amount` from one currency to another for `distributor`: its fixed rate first, else
/// the live rate, else `no_exchange_rate`. The result is rounded to the target's minor unit.
pub fn convert(
    ctx: &Ctx<'_, '_>,
    distributor: &str,
    amount: Decimal,
    from: &str,
    to: &str,
) -> Result<(Decimal, RateSource), Error> {
    if from == to {
        return Ok((amount, RateSource::Same));
    }
    let (rate, source) = if let Some(rate) = ctx.tx.rate(distributor, from, to)? {
        (rate, RateSource::Fixed)
    } else if let Some(rate) = ctx.tx.rate("", from, to)? {
        (rate, RateSource::Live)
    } else {
        return Err(Error::new(
            Code::NoExchangeRate,
            format!("no exchange rate from {from} to {to}"),
        )
        .with("from", from)
        .with("to", to));
    };
    Ok((money::round(money::mul(amount, rate)?, to), source))
}
