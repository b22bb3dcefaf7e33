//! Statements of the ledger: accounts per (supplier, distributor) and their transactions, whose
//! `balance_after` becomes the balance only when the balance it replaces is still there.

use rust_decimal::Decimal;

use super::db::{self, params, Dialect, Optional, Row};

use super::{queries::decimal, Table, Tx};
use crate::error::{Code, Error};
use crate::model::{LedgerAccount, Transaction};

/// A ledger account's row, by its pair.
const LEDGER_ACCOUNT: &str = "SELECT supplier, distributor, currency, balance, credit_enabled,
     credit_limit FROM ledger_accounts WHERE supplier = ?1 AND distributor = ?2";

/// [`LEDGER_ACCOUNT`], locked until the commit: PostgreSQL's text in a write transaction.
const LEDGER_ACCOUNT_LOCKED: &str = "SELECT supplier, distributor, currency, balance,
     credit_enabled, credit_limit FROM ledger_accounts WHERE supplier = ?1 AND distributor = ?2
     FOR UPDATE";

impl Tx<'_> {
    /// Opens the ledger account of a pair if it does not exist yet.
    pub fn ensure_ledger_account(
        &self,
        supplier: &str,
        distributor: &str,
        currency: &str,
    ) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO ledger_accounts (supplier, distributor, currency, balance)
             VALUES (?1, ?2, ?3, '0') ON CONFLICT DO NOTHING",
            [supplier, distributor, currency],
        )?;
        Ok(())
    }

    /// The ledger account of a pair. In a PostgreSQL write transaction the row is locked
    /// (`FOR UPDATE`) until the commit: a command reads the balance it may post to, and another
    /// process's posting waits for it rather than both computing from one balance. The ledger
    /// account is the first row a command locks (DESIGN section 10's order: ledger account, stock
    /// cells by key, order).
    pub fn ledger_account(
        &self,
        supplier: &str,
        distributor: &str,
    ) -> Result<Option<LedgerAccount>, Error> {
        let sql = if self.db.locks() {
            LEDGER_ACCOUNT_LOCKED
        } else {
            LEDGER_ACCOUNT
        };
        self.memo(
            Table::LedgerAccounts,
            &["ledger_account", supplier, distributor],
            || {
                Ok(self
                    .row(sql, [supplier, distributor], ledger_row)
                    .optional()?)
            },
        )
    }

    /// Every ledger account where the account is the supplier or the distributor.
    pub fn ledger_accounts_of(&self, account: &str) -> Result<Vec<LedgerAccount>, Error> {
        Ok(self.rows(
            "SELECT supplier, distributor, currency, balance, credit_enabled, credit_limit
             FROM ledger_accounts WHERE supplier = ?1 OR distributor = ?1
             ORDER BY supplier, distributor",
            [account],
            ledger_row,
        )?)
    }

    /// Sets credit terms on a pair's ledger account.
    pub fn set_credit(
        &self,
        supplier: &str,
        distributor: &str,
        enabled: bool,
        limit: Decimal,
    ) -> Result<(), Error> {
        self.db.write(
            "UPDATE ledger_accounts SET credit_enabled = ?3, credit_limit = ?4
             WHERE supplier = ?1 AND distributor = ?2",
            params![supplier, distributor, enabled, limit.to_string()],
        )?;
        Ok(())
    }

    /// Appends a transaction as row `seq` (from [`Tx::next_transaction_seq`]; its `txn_id` is
    /// made from it, which is what keeps ids unique) and sets the account's balance to its
    /// `balance_after`, together. The balance it replaces must be the one the account was read
    /// with (`Tx::ledger_account`, which the memo may answer), and `balance_after` that balance
    /// plus the amount: the `UPDATE` changes the row only if it still holds that balance, so a
    /// stale memo entry is an `internal` error instead of money made or lost.
    pub fn append_transaction(&self, seq: i64, txn: &Transaction) -> Result<(), Error> {
        let (supplier, distributor) = (&txn.supplier, &txn.distributor);
        let before = self
            .ledger_account(supplier, distributor)?
            .ok_or_else(|| {
                Error::new(
                    Code::Internal,
                    format!("no ledger account {supplier:?} / {distributor:?} to post to"),
                )
            })?
            .balance;
        if before.checked_add(txn.amount) != Some(txn.balance_after) {
            return Err(Error::new(
                Code::Internal,
                format!(
                    "transaction {} takes the balance of {supplier:?} / {distributor:?} from \
                     {before} to {}, which is not {before} + {}",
                    txn.txn_id, txn.balance_after, txn.amount
                ),
            ));
        }
        self.db.write(
            "INSERT INTO transactions (txn_id, supplier, distributor, kind, order_name, amount,
             currency, balance_after, note, at, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                txn.txn_id,
                txn.supplier,
                txn.distributor,
                txn.kind,
                txn.order,
                txn.amount.to_string(),
                txn.currency,
                txn.balance_after.to_string(),
                txn.note,
                txn.at,
                seq
            ],
        )?;
        self.ledger_seq.set(Some(seq));
        // Between the row and the balance: a fault here must not leave one without the other.
        failpoint!("ledger.after_append", |code| Err(Error::failpoint(
            "ledger.after_append",
            code
        )));
        // On PostgreSQL, when it changes no row another process's posting committed since the
        // balance was read (a read that did not lock): running the command again reads the new
        // balance.
        self.db.write_one(
            "UPDATE ledger_accounts SET balance = ?4
             WHERE supplier = ?1 AND distributor = ?2 AND balance = ?3",
            params![
                supplier,
                distributor,
                before.to_string(),
                txn.balance_after.to_string()
            ],
            || {
                format!(
                    "the balance of {supplier:?} / {distributor:?} ({before} when transaction {} \
                     was computed from it)",
                    txn.txn_id
                )
            },
        )?;
        Ok(())
    }

    /// The transactions of a pair, oldest first.
    pub fn transactions(
        &self,
        supplier: &str,
        distributor: &str,
    ) -> Result<Vec<Transaction>, Error> {
        Ok(self.rows(
            "SELECT txn_id, supplier, distributor, kind, order_name, amount, currency,
             balance_after, note, at FROM transactions WHERE supplier = ?1 AND distributor = ?2
             ORDER BY seq",
            [supplier, distributor],
            |r| {
                Ok(Transaction {
                    txn_id: r.get(0)?,
                    supplier: r.get(1)?,
                    distributor: r.get(2)?,
                    kind: r.get(3)?,
                    order: r.get(4)?,
                    amount: decimal(r, 5)?,
                    currency: r.get(6)?,
                    balance_after: decimal(r, 7)?,
                    note: r.get(8)?,
                    at: r.get(9)?,
                })
            },
        )?)
    }

    /// The next transaction's row number, which its id is made from.
    ///
    /// On SQLite the single writer numbers the ledger without gaps: `MAX(seq) + 1`, read once
    /// per transaction (no other writer can number a row before this one commits), then the
    /// last number this transaction appended, plus one.
    ///
    /// On PostgreSQL, where other processes post too, the number is drawn from
    /// `transactions_seq` (V11). A database-wide lock held to the commit would serialise every
    /// posting of every process (a batch of pushes waited for the other process's whole batch,
    /// BENCHMARKS.md). A number is unique and, since it is drawn after the pair's account is
    /// locked ([`Tx::ledger_account`] reads it `FOR UPDATE` in a write), a pair's numbers follow
    /// the order its postings commit in, so its rows by number chain their balances; a
    /// transaction that rolls back leaves its numbers unused.
    pub fn next_transaction_seq(&self) -> Result<i64, Error> {
        if self.db.dialect() == Dialect::Postgres {
            return Ok(self.row("SELECT nextval('transactions_seq')", (), |r| r.get(0))?);
        }
        if let Some(last) = self.ledger_seq.get() {
            return Ok(last + 1);
        }
        Ok(self.row(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM transactions",
            (),
            |r| r.get(0),
        )?)
    }
}

fn ledger_row(r: &Row<'_>) -> db::Result<LedgerAccount> {
    Ok(LedgerAccount {
        supplier: r.get(0)?,
        distributor: r.get(1)?,
        currency: r.get(2)?,
        balance: decimal(r, 3)?,
        credit_enabled: r.get(4)?,
        credit_limit: decimal(r, 5)?,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rust_decimal::Decimal;

    use crate::error::Code;
    use crate::model::Transaction;
    use crate::store::{Store, StoreOptions};

    const SUPPLIER: &str = "acme";
    const DISTRIBUTOR: &str = "dropco";

    /// A store with one ledger account, its balance 0.
    fn store_with_account() -> Store {
        let mut store = Store::open(Path::new(":memory:"), &StoreOptions::default()).unwrap();
        store
            .write(|tx| {
                for account in [SUPPLIER, DISTRIBUTOR] {
                    tx.db.exec_built(
                        "INSERT INTO accounts (account, plan, inventory, currency, created_at)
                         VALUES (?1, 'free', 0, 'MYR', '')",
                        [account],
                    )?;
                }
                tx.ensure_ledger_account(SUPPLIER, DISTRIBUTOR, "MYR")
            })
            .unwrap();
        store
    }

    /// A top-up of `amount` to the balance `before` the account was read with.
    fn top_up(seq: i64, before: Decimal, amount: Decimal) -> Transaction {
        Transaction {
            txn_id: format!("T{seq:012}"),
            supplier: SUPPLIER.to_owned(),
            distributor: DISTRIBUTOR.to_owned(),
            kind: "top_up".to_owned(),
            order: None,
            amount,
            currency: "MYR".to_owned(),
            balance_after: before + amount,
            note: None,
            at: String::new(),
        }
    }

    fn balance(store: &mut Store) -> Decimal {
        store
            .read(|tx| Ok(tx.ledger_account(SUPPLIER, DISTRIBUTOR)?.unwrap().balance))
            .unwrap()
    }

    #[test]
    fn a_transaction_moves_the_balance_it_was_computed_from() {
        let mut store = store_with_account();
        let ten = Decimal::new(1000, 2);
        store
            .write(|tx| {
                let before = tx.ledger_account(SUPPLIER, DISTRIBUTOR)?.unwrap().balance;
                tx.append_transaction(1, &top_up(1, before, ten))
            })
            .unwrap();
        assert_eq!(balance(&mut store), ten);
    }

    /// The row is written behind the memo's back (the update hook that tells the memo is off),
    /// so the memo still answers the balance read before: the balance update must refuse.
    #[test]
    fn a_balance_moved_under_the_memo_is_not_overwritten() {
        let mut store = store_with_account();
        store
            .conn
            .sqlite()
            .update_hook(None::<fn(rusqlite::hooks::Action, &str, &str, i64)>);
        let error = store
            .write(|tx| {
                let before = tx.ledger_account(SUPPLIER, DISTRIBUTOR)?.unwrap().balance;
                tx.db
                    .exec_built("UPDATE ledger_accounts SET balance = '5'", ())?;
                tx.append_transaction(1, &top_up(1, before, Decimal::new(1000, 2)))
            })
            .unwrap_err();
        assert_eq!(error.code(), Code::Internal, "{error:?}");
        assert!(error.message().contains("changed under us"), "{error:?}");
        // Rolled back: neither the row nor the balance written behind the memo's back is kept.
        let transactions = store
            .read(|tx| tx.transactions(SUPPLIER, DISTRIBUTOR))
            .unwrap();
        assert!(transactions.is_empty());
        assert_eq!(balance(&mut store), Decimal::ZERO);
    }

    #[test]
    fn a_balance_after_that_is_not_balance_plus_amount_is_refused() {
        let mut store = store_with_account();
        let mut txn = top_up(1, Decimal::ZERO, Decimal::ONE);
        txn.balance_after = Decimal::TWO;
        let error = store
            .write(|tx| tx.append_transaction(1, &txn))
            .unwrap_err();
        assert_eq!(error.code(), Code::Internal, "{error:?}");
        assert_eq!(balance(&mut store), Decimal::ZERO);
    }
}
