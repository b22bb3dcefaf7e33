//! The memo: reference rows (accounts, fees, products, claims, mappings, warehouses,
//! partnerships) that commands read again and again, and ledger accounts, kept until a write
//! touches their table.
//!
//! Correctness rests on SQLite, not on discipline: the connection's update hook reports every row
//! inserted, updated or deleted — by any statement, trigger or foreign-key action — with its
//! table, and the memo drops that table's entries before its next read. What the hook cannot see
//! is handled by clearing everything: another connection committed (`PRAGMA data_version`
//! changed since this one last looked, checked as each transaction begins), a transaction or a
//! savepoint rolled back (rows come back without a hook call), a panic. Two rules keep the hook
//! complete: a memoised table is a rowid table (the hook ignores `WITHOUT ROWID` tables; a test
//! checks the schema), and no statement deletes from one without a `WHERE` (SQLite's truncate
//! optimisation skips the hook).
//!
//! On PostgreSQL, other processes write the same rows: the connection layer tells the memo the
//! table of each statement this process writes (`pg.rs`, as the hook does), and the version it
//! checks as each transaction begins is `distributary_schema.memo_version`, which a trigger on
//! every memoised table bumps in the writing transaction (migration V10), read with the `BEGIN`.
//! Read first, it is never newer than the rows read after it: what the memo keeps is at least as
//! new as the version it is kept under. Within a transaction (`READ COMMITTED`) a row is served
//! as first read, as `REPEATABLE READ` would serve it; a row a command changes is read locked,
//! and so is never memoised across transactions: the ledger's accounts (written by every charge,
//! so no trigger tells of them) are forgotten as every transaction begins.

use std::{
    any::Any,
    cell::RefCell,
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use crate::error::Error;

/// A table whose rows the memo may keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Accounts,
    Users,
    Warehouses,
    Partnerships,
    AssignedWarehouses,
    SupplierWarehouses,
    Products,
    Claims,
    StoreSkus,
    SupplierFees,
    PrintSettings,
    /// Written by every charge and refund, so an entry lives only until the next one: what it
    /// saves is a push reading its account for the checks and again for the charge.
    LedgerAccounts,
}

impl Table {
    /// Every memoised table.
    pub const ALL: [Table; 12] = [
        Table::Accounts,
        Table::Users,
        Table::Warehouses,
        Table::Partnerships,
        Table::AssignedWarehouses,
        Table::SupplierWarehouses,
        Table::Products,
        Table::Claims,
        Table::StoreSkus,
        Table::SupplierFees,
        Table::PrintSettings,
        Table::LedgerAccounts,
    ];

    /// The table's SQL name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Accounts => "accounts",
            Table::Users => "users",
            Table::Warehouses => "warehouses",
            Table::Partnerships => "partnerships",
            Table::AssignedWarehouses => "assigned_warehouses",
            Table::SupplierWarehouses => "supplier_warehouses",
            Table::Products => "products",
            Table::Claims => "claims",
            Table::StoreSkus => "store_skus",
            Table::SupplierFees => "supplier_fees",
            Table::PrintSettings => "print_settings",
            Table::LedgerAccounts => "ledger_accounts",
        }
    }

    fn bit(self) -> u64 {
        1 << self as u32
    }
}

/// The most entries the memo keeps; past it, it starts again empty.
pub const MEMO_ENTRIES_MAX: usize = 100_000;

/// The tables written since the memo last looked, one bit each, and a count of every row
/// written; set by the update hook.
#[derive(Debug, Default, Clone)]
pub struct Written {
    tables: Arc<AtomicU64>,
    rows: Arc<AtomicU64>,
}

impl Written {
    /// What the update hook calls for each row written to `table`.
    pub fn row_written(&self, table: &str) {
        self.rows.fetch_add(1, Ordering::Relaxed);
        if let Some(t) = Table::ALL.iter().find(|t| t.name() == table) {
            self.tables.fetch_or(t.bit(), Ordering::Relaxed);
        }
    }

    /// What the connection layer calls for a statement whose table it cannot tell: every table
    /// is taken as written.
    pub fn everything_written(&self) {
        self.rows.fetch_add(1, Ordering::Relaxed);
        self.tables.fetch_or(u64::MAX, Ordering::Relaxed);
    }

    /// How many rows were written so far.
    pub fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    fn take(&self) -> u64 {
        self.tables.swap(0, Ordering::Relaxed)
    }
}

/// One table's memoised reads, by query and arguments (each length-prefixed).
type Entries = HashMap<Vec<u8>, Box<dyn Any + Send>>;

/// Memoised reads, by table, then by query and arguments.
#[derive(Default)]
pub struct Memo {
    /// The tables whose entries never outlive a transaction: on PostgreSQL the ledger's
    /// accounts, which no version tells of.
    untracked: u64,
    written: Written,
    /// `PRAGMA data_version` when the entries were read; `None` after a clear.
    data_version: std::cell::Cell<Option<i64>>,
    tables: RefCell<[Entries; Table::ALL.len()]>,
}

impl Memo {
    /// The memo of a store at `location`.
    pub fn for_location(location: &std::path::Path) -> Memo {
        let untracked = if super::db::is_postgres(location) {
            Table::LedgerAccounts.bit()
        } else {
            0
        };
        Memo {
            untracked,
            ..Memo::default()
        }
    }

    /// The flag set the connection's update hook writes to.
    pub fn written(&self) -> Written {
        self.written.clone()
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.written.take();
        self.data_version.set(None);
        for entries in self.tables.borrow_mut().iter_mut() {
            entries.clear();
        }
    }

    /// A transaction begins, seeing the store at `data_version`: what was read under another
    /// version (another connection committed since) is forgotten, and so is everything when the
    /// memo has grown past [`MEMO_ENTRIES_MAX`].
    pub fn begin(&self, data_version: Option<i64>) {
        let entries: usize = self.tables.borrow().iter().map(HashMap::len).sum();
        if data_version.is_none()
            || self.data_version.get() != data_version
            || entries > MEMO_ENTRIES_MAX
        {
            self.clear();
        } else if self.untracked != 0 {
            self.written
                .tables
                .fetch_or(self.untracked, Ordering::Relaxed);
        }
        self.data_version.set(data_version);
    }

    /// The value `read` returns for `key_parts` (the query's name and arguments), read from `table`;
    /// read once until a row of `table` is written.
    pub fn get<V: Clone + Send + 'static>(
        &self,
        table: Table,
        key_parts: &[&str],
        read: impl FnOnce() -> Result<V, Error>,
    ) -> Result<V, Error> {
        let written = self.written.take();
        // Each part prefixed by its length, so no two argument lists make the same key.
        let mut key: Vec<u8> = Vec::with_capacity(key_parts.iter().map(|p| p.len() + 8).sum());
        for part in key_parts {
            key.extend_from_slice(&part.len().to_le_bytes());
            key.extend_from_slice(part.as_bytes());
        }
        {
            let mut tables = self.tables.borrow_mut();
            if written != 0 {
                for t in Table::ALL {
                    if written & t.bit() != 0 {
                        tables[t as usize].clear();
                    }
                }
            }
            if let Some(value) = tables[table as usize]
                .get(&key)
                .and_then(|v| v.downcast_ref::<V>())
            {
                return Ok(value.clone());
            }
        }
        let value = read()?;
        // A row written while reading (never, for a plain SELECT) would make the value suspect.
        if self.written.tables.load(Ordering::Relaxed) & table.bit() == 0 {
            self.tables.borrow_mut()[table as usize].insert(key, Box::new(value.clone()));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::Table;
    use crate::{
        model::{Account, Plan},
        store::{Store, StoreOptions},
    };

    fn store() -> Store {
        let store = Store::open(Path::new(":memory:"), &StoreOptions::default());
        store.unwrap_or_else(|e| panic!("open: {e}"))
    }

    #[test]
    fn memoised_tables_are_rowid_tables_the_update_hook_reports() {
        let store = store();
        for table in Table::ALL {
            let without_rowid: i64 = store
                .conn
                .sqlite()
                .query_row(
                    "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
                    [table.name()],
                    |r| r.get(0),
                )
                .unwrap_or_else(|e| panic!("{}: {e}", table.name()));
            assert_eq!(without_rowid, 0, "{} is WITHOUT ROWID", table.name());
        }
    }

    fn acme() -> Account {
        Account {
            account: "acme".into(),
            plan: Plan::V3,
            inventory: true,
            currency: "MYR".into(),
        }
    }

    #[test]
    fn a_write_or_a_rollback_is_seen_by_the_next_read() {
        let mut store = store();
        let sets = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let outcome = store.write(|tx| {
            tx.insert_account(&acme(), "t")?;
            tx.upsert_user("acme", "ann", &sets(&["supplier"]))?;
            assert_eq!(
                tx.user_permissions("acme", "ann")?,
                Some(sets(&["supplier"]))
            );
            tx.upsert_user("acme", "ann", &sets(&["distributor"]))?;
            assert_eq!(
                tx.user_permissions("acme", "ann")?,
                Some(sets(&["distributor"]))
            );

            tx.savepoint()?;
            tx.upsert_user("acme", "ann", &sets(&["supplier", "distributor"]))?;
            let both = tx.user_permissions("acme", "ann")?;
            assert_eq!(both, Some(sets(&["supplier", "distributor"])));
            tx.rollback_to()?;
            tx.release()?;
            assert_eq!(
                tx.user_permissions("acme", "ann")?,
                Some(sets(&["distributor"]))
            );
            Ok(())
        });
        outcome.unwrap_or_else(|e| panic!("{e}"));
    }

    /// On PostgreSQL another process's write reaches this process's memo only through
    /// `memo_version`: every memoised table but the ledger's accounts (forgotten at each
    /// `BEGIN`) must have the trigger that bumps it.
    #[test]
    fn postgres_bumps_the_memo_version_on_every_memoised_table() {
        let mut triggered: Vec<&str> = crate::store::schema::POSTGRES_MIGRATIONS
            .iter()
            .flat_map(|migration| migration.split("CREATE TRIGGER memo_written").skip(1))
            .filter_map(|trigger| trigger.split(" ON ").nth(1)?.split_whitespace().next())
            .collect();
        triggered.sort_unstable();
        let mut memoised: Vec<&str> = Table::ALL
            .iter()
            .filter(|t| **t != Table::LedgerAccounts)
            .map(|t| t.name())
            .collect();
        memoised.sort_unstable();
        assert_eq!(triggered, memoised);
    }

    #[test]
    fn different_arguments_never_share_an_entry() {
        let memo = super::Memo::default();
        let read = |key: &[&str], value: i32| {
            memo.get(Table::Accounts, key, || Ok(value))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(read(&["q", "a\u{1f}b", "c"], 1), 1);
        assert_eq!(read(&["q", "a", "b\u{1f}c"], 2), 2);
        assert_eq!(read(&["q", "ab", "c"], 3), 3);
        assert_eq!(read(&["q", "a\u{1f}b", "c"], 4), 1);
    }

    #[test]
    fn what_another_connection_commits_is_seen_by_the_next_transaction() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("memo.db");
        let open =
            || Store::open(&path, &StoreOptions::default()).unwrap_or_else(|e| panic!("open: {e}"));
        let (mut first, mut second) = (open(), open());
        let sets = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let read = |store: &mut Store| {
            store
                .read(|tx| tx.user_permissions("acme", "ann"))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        first
            .write(|tx| {
                tx.insert_account(&acme(), "t")?;
                tx.upsert_user("acme", "ann", &sets(&["supplier"]))
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&mut first), Some(sets(&["supplier"])));
        second
            .write(|tx| tx.upsert_user("acme", "ann", &sets(&["distributor"])))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&mut first), Some(sets(&["distributor"])));
    }

    #[test]
    fn a_transaction_that_fails_leaves_nothing_remembered() {
        let mut store = store();
        let sets = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let failed = store.write(|tx| {
            tx.insert_account(&acme(), "t")?;
            tx.upsert_user("acme", "ann", &sets(&["supplier"]))?;
            assert!(tx.user_permissions("acme", "ann")?.is_some());
            Err::<(), _>(crate::error::Error::bad_request("refused"))
        });
        assert!(failed.is_err());
        let after = store.read(|tx| tx.user_permissions("acme", "ann"));
        assert_eq!(after.unwrap_or_else(|e| panic!("{e}")), None);
    }
}
