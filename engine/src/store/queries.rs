//! Every SQL statement of the engine, as methods of [`Tx`] taking and returning domain types.

use rust_decimal::Decimal;

use super::db::{self, params, DbError, Optional, Row};
use super::{Table, Tx};
use crate::error::{Code, Error};
use crate::model::{Account, AuditEntry, Invitation, Notification, Partnership, Plan};

pub(super) fn decimal(row: &Row<'_>, index: usize) -> db::Result<Decimal> {
    let text: String = row.get(index)?;
    text.parse().map_err(|e| DbError::column(index, e))
}

fn json(row: &Row<'_>, index: usize) -> db::Result<serde_json::Value> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|e| DbError::column(index, e))
}

fn strings(row: &Row<'_>, index: usize) -> db::Result<Vec<String>> {
    let value = json(row, index)?;
    serde_json::from_value(value).map_err(|e| DbError::column(index, e))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::new(Code::Internal, e.to_string()))
}

impl Tx<'_> {
    // --- accounts and users

    /// Creates an account; `false` when it already exists.
    pub fn insert_account(&self, account: &Account, at: &str) -> Result<bool, Error> {
        let n = self.exec(
            "INSERT INTO accounts (account, plan, inventory, currency, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![
                account.account,
                account.plan.as_str(),
                account.inventory,
                account.currency,
                at
            ],
        )?;
        Ok(n == 1)
    }

    /// The account of that name.
    pub fn account(&self, account: &str) -> Result<Option<Account>, Error> {
        self.memo(Table::Accounts, &["account", account], || {
            let row = self
                .row(
                    "SELECT account, plan, inventory, currency FROM accounts WHERE account = ?1",
                    [account],
                    |r| {
                        Ok((
                            r.get::<String>(0)?,
                            r.get::<String>(1)?,
                            r.get(2)?,
                            r.get(3)?,
                        ))
                    },
                )
                .optional()?;
            Ok(row.and_then(|(account, plan, inventory, currency)| {
                Some(Account {
                    account,
                    plan: Plan::parse(&plan)?,
                    inventory,
                    currency,
                })
            }))
        })
    }

    /// Creates or replaces a sub-user's permission sets.
    pub fn upsert_user(
        &self,
        account: &str,
        user: &str,
        permissions: &[String],
    ) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO users (account, \"user\", permissions) VALUES (?1, ?2, ?3)
             ON CONFLICT (account, \"user\") DO UPDATE SET permissions = excluded.permissions",
            params![account, user, to_json(&permissions)?],
        )?;
        Ok(())
    }

    /// A sub-user's permission sets, `None` when there is no such user.
    pub fn user_permissions(
        &self,
        account: &str,
        user: &str,
    ) -> Result<Option<Vec<String>>, Error> {
        self.memo(Table::Users, &["user_permissions", account, user], || {
            Ok(self
                .row(
                    "SELECT permissions FROM users WHERE account = ?1 AND \"user\" = ?2",
                    [account, user],
                    |r| strings(r, 0),
                )
                .optional()?)
        })
    }

    // --- exchange rates

    /// Sets a rate; `owner` is the distributor for a fixed rate, empty for the live rate.
    pub fn upsert_rate(
        &self,
        owner: &str,
        from: &str,
        to: &str,
        rate: Decimal,
        at: &str,
    ) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO rates (owner, from_cur, to_cur, rate, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (owner, from_cur, to_cur) DO UPDATE SET rate = excluded.rate,
             updated_at = excluded.updated_at",
            params![owner, from, to, rate.to_string(), at],
        )?;
        Ok(())
    }

    /// A rate set by `owner` (empty: the live rate).
    pub fn rate(&self, owner: &str, from: &str, to: &str) -> Result<Option<Decimal>, Error> {
        Ok(self
            .row(
                "SELECT rate FROM rates WHERE owner = ?1 AND from_cur = ?2 AND to_cur = ?3",
                [owner, from, to],
                |r| decimal(r, 0),
            )
            .optional()?)
    }

    // --- warehouses

    /// Creates a supplier's fulfilment warehouse; `false` when the id is taken.
    pub fn insert_warehouse(
        &self,
        account: &str,
        warehouse: &str,
        name: &str,
        region: &str,
    ) -> Result<bool, Error> {
        let n = self.exec(
            "INSERT INTO warehouses (account, warehouse, name, region) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
            params![account, warehouse, name, region],
        )?;
        Ok(n == 1)
    }

    /// Whether the account owns that warehouse.
    pub fn warehouse_exists(&self, account: &str, warehouse: &str) -> Result<bool, Error> {
        Ok(self
            .row(
                "SELECT 1 FROM warehouses WHERE account = ?1 AND warehouse = ?2",
                [account, warehouse],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Replaces the warehouses a supplier assigns to a distributor.
    pub fn set_assigned_warehouses(
        &self,
        supplier: &str,
        distributor: &str,
        warehouses: &[String],
    ) -> Result<(), Error> {
        self.db.write(
            "DELETE FROM assigned_warehouses WHERE supplier = ?1 AND distributor = ?2",
            [supplier, distributor],
        )?;
        for warehouse in warehouses {
            self.db.write(
                "INSERT INTO assigned_warehouses (supplier, distributor, warehouse)
                 VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                [supplier, distributor, warehouse],
            )?;
        }
        Ok(())
    }

    /// The warehouses a supplier currently assigns to a distributor, by id.
    pub fn assigned_warehouses(
        &self,
        supplier: &str,
        distributor: &str,
    ) -> Result<Vec<String>, Error> {
        self.memo(
            Table::AssignedWarehouses,
            &["assigned_warehouses", supplier, distributor],
            || {
                Ok(self.rows(
                    "SELECT warehouse FROM assigned_warehouses WHERE supplier = ?1 AND distributor = ?2
                     ORDER BY warehouse",
                    [supplier, distributor],
                    |r| r.get(0),
                )?)
            },
        )
    }

    /// Creates the distributor's supplier warehouse mirroring one fulfilment warehouse.
    pub fn insert_supplier_warehouse(
        &self,
        distributor: &str,
        supplier: &str,
        warehouse: &str,
        at: &str,
    ) -> Result<bool, Error> {
        let n = self.exec(
            "INSERT INTO supplier_warehouses (distributor, supplier, warehouse, created_at)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            params![distributor, supplier, warehouse, at],
        )?;
        Ok(n == 1)
    }

    /// Drops every supplier warehouse a distributor has for one supplier.
    pub fn delete_supplier_warehouses(
        &self,
        distributor: &str,
        supplier: &str,
    ) -> Result<(), Error> {
        self.db.write(
            "DELETE FROM supplier_warehouses WHERE distributor = ?1 AND supplier = ?2",
            [distributor, supplier],
        )?;
        Ok(())
    }

    /// The supplier warehouses on a distributor's side, as `(supplier, warehouse)`.
    pub fn supplier_warehouses(&self, distributor: &str) -> Result<Vec<(String, String)>, Error> {
        self.memo(
            Table::SupplierWarehouses,
            &["supplier_warehouses", distributor],
            || {
                Ok(self.rows(
                    "SELECT supplier, warehouse FROM supplier_warehouses WHERE distributor = ?1
                     ORDER BY supplier, warehouse",
                    [distributor],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            },
        )
    }

    // --- invitations and partnerships

    /// Stores a new invitation.
    pub fn insert_invitation(&self, invitation: &Invitation, at: &str) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO invitations (token, supplier, warehouses, expires_at, revoked, created_at)
             VALUES (?1, ?2, ?3, ?4, 0, ?5)",
            params![
                invitation.token,
                invitation.supplier,
                to_json(&invitation.warehouses)?,
                invitation.expires_at,
                at
            ],
        )?;
        Ok(())
    }

    /// The invitation with that token.
    pub fn invitation(&self, token: &str) -> Result<Option<Invitation>, Error> {
        Ok(self
            .row(
                "SELECT token, supplier, warehouses, expires_at, revoked FROM invitations
                 WHERE token = ?1",
                [token],
                |r| {
                    Ok(Invitation {
                        token: r.get(0)?,
                        supplier: r.get(1)?,
                        warehouses: strings(r, 2)?,
                        expires_at: r.get(3)?,
                        revoked: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// Revokes an invitation.
    pub fn revoke_invitation(&self, token: &str) -> Result<(), Error> {
        self.db.write(
            "UPDATE invitations SET revoked = 1 WHERE token = ?1",
            [token],
        )?;
        Ok(())
    }

    /// Stores a new partnership.
    pub fn insert_partnership(&self, p: &Partnership, at: &str) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO partnerships (partnership, supplier, distributor, state, token, reason,
             created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            params![
                p.partnership,
                p.supplier,
                p.distributor,
                p.state,
                p.token,
                p.reason,
                at
            ],
        )?;
        Ok(())
    }

    /// Moves a partnership from state `from` (as the command read it) to `state` (and records
    /// the reason, if any). On PostgreSQL, where the row is read without a lock, the update
    /// changes it only if it is still in `from`; otherwise another process moved it meanwhile and
    /// the command runs again ([`db::Txn::lost_race`]) rather than moving it twice.
    pub fn update_partnership(
        &self,
        partnership: &str,
        from: &str,
        state: &str,
        reason: Option<&str>,
        at: &str,
    ) -> Result<(), Error> {
        if !self.db.locks() {
            self.db.write(
                "UPDATE partnerships SET state = ?2, reason = COALESCE(?3, reason), updated_at = ?4
                 WHERE partnership = ?1",
                params![partnership, state, reason, at],
            )?;
            return Ok(());
        }
        let changed = self.exec(
            "UPDATE partnerships SET state = ?2, reason = COALESCE(?3, reason), updated_at = ?4
             WHERE partnership = ?1 AND state = ?5",
            params![partnership, state, reason, at, from],
        )?;
        if changed != 1 {
            self.db.lost_race();
            return Err(Error::new(
                Code::Internal,
                format!("partnership {partnership:?} is no longer {from:?}: it moved under us"),
            ));
        }
        Ok(())
    }

    /// The newest partnership between a supplier and a distributor.
    pub fn latest_partnership(
        &self,
        supplier: &str,
        distributor: &str,
    ) -> Result<Option<Partnership>, Error> {
        self.memo(
            Table::Partnerships,
            &["latest_partnership", supplier, distributor],
            || {
                Ok(self
                    .row(
                        "SELECT partnership, supplier, distributor, state, token, reason
                         FROM partnerships WHERE supplier = ?1 AND distributor = ?2
                         ORDER BY rowid DESC LIMIT 1",
                        [supplier, distributor],
                        partnership_row,
                    )
                    .optional()?)
            },
        )
    }

    /// The newest partnership of a distributor with each of its suppliers, by supplier.
    pub fn partnerships_of_distributor(
        &self,
        distributor: &str,
    ) -> Result<Vec<Partnership>, Error> {
        Ok(self.rows(
            "SELECT partnership, supplier, distributor, state, token, reason FROM partnerships p
             WHERE distributor = ?1 AND rowid = (SELECT MAX(rowid) FROM partnerships q
             WHERE q.supplier = p.supplier AND q.distributor = p.distributor)
             ORDER BY supplier",
            [distributor],
            partnership_row,
        )?)
    }

    /// The newest partnership of a supplier with each of its distributors, in `state` when one
    /// is given, newest applied first, as `(partnership, applied_at, decided_at)`: `applied_at`
    /// is when the distributor bound, `decided_at` when the partnership first left the state it
    /// was created in (the audit's first transition of it in `workflow`), `None` until then.
    pub fn partnerships_of_supplier(
        &self,
        supplier: &str,
        workflow: &str,
        state: Option<&str>,
    ) -> Result<Vec<(Partnership, String, Option<String>)>, Error> {
        Ok(self.rows(
            "SELECT partnership, supplier, distributor, state, token, reason, created_at,
             (SELECT a.at FROM audit a WHERE a.entity_kind = ?2 AND a.entity_id = p.partnership
              AND a.from_state IS NOT NULL ORDER BY a.seq LIMIT 1)
             FROM partnerships p
             WHERE supplier = ?1 AND (CAST(?3 AS TEXT) IS NULL OR state = ?3)
             AND rowid = (SELECT MAX(rowid) FROM partnerships q
             WHERE q.supplier = p.supplier AND q.distributor = p.distributor)
             ORDER BY created_at DESC, rowid DESC",
            params![supplier, workflow, state],
            |r| Ok((partnership_row(r)?, r.get(6)?, r.get(7)?)),
        )?)
    }

    /// Sets a distributor's note on a supplier.
    pub fn set_supplier_note(
        &self,
        distributor: &str,
        supplier: &str,
        note: &str,
    ) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO supplier_notes (distributor, supplier, note) VALUES (?1, ?2, ?3)
             ON CONFLICT (distributor, supplier) DO UPDATE SET note = excluded.note",
            [distributor, supplier, note],
        )?;
        Ok(())
    }

    /// A distributor's note on a supplier.
    pub fn supplier_note(
        &self,
        distributor: &str,
        supplier: &str,
    ) -> Result<Option<String>, Error> {
        Ok(self
            .row(
                "SELECT note FROM supplier_notes WHERE distributor = ?1 AND supplier = ?2",
                [distributor, supplier],
                |r| r.get(0),
            )
            .optional()?)
    }

    // --- notifications

    /// Sets an account's notification channels.
    pub fn set_subscription(&self, account: &str, web: bool, app: bool) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO subscriptions (account, web, app) VALUES (?1, ?2, ?3)
             ON CONFLICT (account) DO UPDATE SET web = excluded.web, app = excluded.app",
            params![account, web, app],
        )?;
        Ok(())
    }

    /// An account's channels as `(web, app)`; `None` when it never chose.
    pub fn subscription(&self, account: &str) -> Result<Option<(bool, bool)>, Error> {
        Ok(self
            .row(
                "SELECT web, app FROM subscriptions WHERE account = ?1",
                [account],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Puts a notification in an account's inbox.
    pub fn insert_notification(&self, account: &str, n: &Notification) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO notifications (account, kind, channels, data, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![account, n.kind, to_json(&n.channels)?, n.data.to_string(), n.at],
        )?;
        Ok(())
    }

    /// An account's inbox, newest first.
    pub fn notifications(&self, account: &str) -> Result<Vec<Notification>, Error> {
        Ok(self.rows(
            "SELECT kind, channels, data, at FROM notifications WHERE account = ?1 ORDER BY seq DESC",
            [account],
            |r| {
                Ok(Notification {
                    kind: r.get(0)?,
                    channels: strings(r, 1)?,
                    data: json(r, 2)?,
                    at: r.get(3)?,
                })
            },
        )?)
    }

    // --- audit and idempotency

    /// Appends an audit row; returns its `seq`.
    pub fn append_audit(&self, e: &AuditEntry) -> Result<i64, Error> {
        self.append_decision(e, None)
    }

    /// Appends the audit row of a transition the rules decided, with what they read to decide
    /// it (`inputs`, a JSON object by rule, for a backtest to replay) when they read anything;
    /// returns its `seq`.
    pub fn append_decision(
        &self,
        e: &AuditEntry,
        inputs: Option<&serde_json::Value>,
    ) -> Result<i64, Error> {
        Ok(self.db.insert_seq(
            "INSERT INTO audit (entity_kind, entity_id, from_state, to_state, event, actor, \"user\",
             rules_version, guards, at, prev, reason, account, inputs)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                e.entity_kind,
                e.entity_id,
                e.from_state,
                e.to_state,
                e.event,
                e.actor,
                e.user,
                e.rules_version,
                e.guards.to_string(),
                e.at,
                e.prev,
                e.reason,
                e.account,
                inputs.map(|inputs| inputs.to_string())
            ],
        )?)
    }

    /// The audit rows of the chain whose newest row is `head`, oldest first.
    pub fn audit_chain(&self, head: i64) -> Result<Vec<AuditEntry>, Error> {
        Ok(self.rows(
            "WITH RECURSIVE chain (seq) AS (
                 SELECT CAST(?1 AS BIGINT) UNION ALL
                 SELECT a.prev FROM audit a JOIN chain c ON a.seq = c.seq
                 WHERE a.prev IS NOT NULL)
             SELECT entity_kind, entity_id, from_state, to_state, event, actor, \"user\",
             rules_version, guards, at, prev, reason, account FROM audit
             WHERE seq IN (SELECT seq FROM chain) ORDER BY seq",
            [head],
            |r| {
                Ok(AuditEntry {
                    entity_kind: r.get(0)?,
                    entity_id: r.get(1)?,
                    from_state: r.get(2)?,
                    to_state: r.get(3)?,
                    event: r.get(4)?,
                    actor: r.get(5)?,
                    user: r.get(6)?,
                    rules_version: r.get(7)?,
                    guards: json(r, 8)?,
                    at: r.get(9)?,
                    prev: r.get(10)?,
                    reason: r.get(11)?,
                    account: r.get(12)?,
                })
            },
        )?)
    }

    /// The stored `(fingerprint, answer)` of an idempotency key.
    pub fn idempotent_answer(
        &self,
        account: &str,
        key: &str,
    ) -> Result<Option<(String, String)>, Error> {
        Ok(self
            .row(
                "SELECT fingerprint, answer FROM idempotency WHERE account = ?1 AND key = ?2",
                [account, key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Replaces the answer remembered under an idempotency key (a push's, settled after its
    /// commit's deliveries).
    pub fn update_idempotent_answer(
        &self,
        account: &str,
        key: &str,
        answer: &str,
    ) -> Result<(), Error> {
        self.db.write(
            "UPDATE idempotency SET answer = ?3 WHERE account = ?1 AND key = ?2",
            [account, key, answer],
        )?;
        Ok(())
    }

    /// Records the answer given to an idempotency key.
    pub fn record_idempotent_answer(
        &self,
        account: &str,
        key: &str,
        fingerprint: &str,
        answer: &str,
    ) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO idempotency (account, key, fingerprint, answer) VALUES (?1, ?2, ?3, ?4)",
            [account, key, fingerprint, answer],
        )?;
        Ok(())
    }
}

fn partnership_row(r: &Row<'_>) -> db::Result<Partnership> {
    Ok(Partnership {
        partnership: r.get(0)?,
        supplier: r.get(1)?,
        distributor: r.get(2)?,
        state: r.get(3)?,
        token: r.get(4)?,
        reason: r.get(5)?,
    })
}
