//! The rule lifecycle's rows: every pack version kept by its hash (`rule_packs`), each install
//! (`rule_loads`), and the live entities of each workflow counted and moved by state for a
//! pack's migration; and, read only, what a backtest replays: the orders charged in a window and
//! the decisions recorded with their inputs (in one scan of `audit`, or one order's by its chain).

use std::collections::HashSet;

use rust_decimal::Decimal;

use super::db::{params, Dialect, Optional};
use super::{queries::decimal, Tx};
use crate::{contract, error::Error, model::AuditEntry};

/// One install of a pack in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesLoad {
    /// The version installed.
    pub version: String,
    /// The version it replaced, `None` for the store's first.
    pub previous: Option<String>,
    /// When it was installed.
    pub at: String,
}

/// Who an entity belongs to, for `explain`: its state, its distributor and (a partnership's,
/// a claim's) supplier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parties {
    /// Its current state.
    pub state: String,
    /// The distributor it belongs to.
    pub distributor: String,
    /// The supplier on the other side.
    pub supplier: Option<String>,
}

/// One charge of an order's goods and fees to a distributor's account with a supplier (a ledger
/// row of kind `order_charge`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCharge {
    /// The supplier charged for.
    pub supplier: String,
    /// The distributor charged.
    pub distributor: String,
    /// The order.
    pub order: String,
    /// What was charged (positive), in `currency`.
    pub charged: Decimal,
    /// The account's settlement currency.
    pub currency: String,
    /// When.
    pub at: String,
}

/// A transition of an order that the rules decided, with what they read (`audit.inputs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedDecision {
    /// The audit row.
    pub seq: i64,
    /// The event fired (`pack`, `push`).
    pub event: String,
    /// The state it left.
    pub from_state: Option<String>,
    /// The pack version that decided.
    pub rules_version: String,
    /// The inputs, a JSON object by rule, as recorded.
    pub inputs: String,
    /// When.
    pub at: String,
}

/// The transitions of an order with their inputs (`Tx::recorded_decisions`).
const RECORDED_DECISIONS: &str = "WITH RECURSIVE chain(seq) AS (
    SELECT audit_head FROM orders
    WHERE distributor = ?1 AND order_name = ?2 AND audit_head IS NOT NULL
    UNION ALL
    SELECT a.prev FROM chain c CROSS JOIN audit a ON a.seq = c.seq
    WHERE a.prev IS NOT NULL)
SELECT a.seq, a.event, a.from_state, a.rules_version, a.inputs, a.at
FROM chain c CROSS JOIN audit a ON a.seq = c.seq
WHERE a.inputs IS NOT NULL ORDER BY a.seq DESC";

/// [`RECORDED_DECISIONS`] in PostgreSQL's dialect.
const RECORDED_DECISIONS_POSTGRES: &str = "WITH RECURSIVE chain(seq) AS (
    SELECT audit_head FROM orders
    WHERE distributor = ?1 AND order_name = ?2 AND audit_head IS NOT NULL
    UNION ALL
    SELECT a.prev FROM chain c JOIN audit a ON a.seq = c.seq
    WHERE a.prev IS NOT NULL)
SELECT a.seq, a.event, a.from_state, a.rules_version, a.inputs, a.at
FROM chain c JOIN audit a ON a.seq = c.seq
WHERE a.inputs IS NOT NULL ORDER BY a.seq DESC";

/// A transition of an order recorded with its decision's inputs, borrowed from the row SQLite
/// holds while [`Tx::scan_recorded_decisions`] visits it (nothing is copied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionRow<'r> {
    /// The audit row.
    pub seq: i64,
    /// The order's name (`audit.entity_id`; two distributors' orders of one name are told
    /// apart only by their chains, see [`Tx::shared_order_names`]).
    pub order: &'r str,
    /// The event fired.
    pub event: &'r str,
    /// The state it left.
    pub from_state: Option<&'r str>,
    /// The pack version that decided.
    pub rules_version: &'r str,
    /// The inputs, a JSON object by rule, as recorded.
    pub inputs: &'r str,
    /// When.
    pub at: &'r str,
}

/// The entities of a workflow that a migration moves: their id and newest audit row (an
/// order's history is a chain; other entities' rows stand alone).
struct Moving {
    distributor: Option<String>,
    /// The account the entity belongs to, which owns its audit rows.
    owner: String,
    id: String,
    audit_head: Option<i64>,
}

impl Tx<'_> {
    /// Keeps a pack's files under its version; a version already kept is left as it is (the
    /// same hash is the same files).
    pub fn keep_rule_pack(
        &self,
        version: &str,
        origin: &str,
        files: &serde_json::Value,
        at: &str,
    ) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO rule_packs (version, origin, files, stored_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (version) DO NOTHING",
            params![version, origin, files.to_string(), at],
        )?;
        Ok(())
    }

    /// The files of a kept pack version (as [`Tx::keep_rule_pack`] stored them).
    pub fn rule_pack_files(&self, version: &str) -> Result<Option<serde_json::Value>, Error> {
        let text: Option<String> = self
            .row(
                "SELECT files FROM rule_packs WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .optional()?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// The order charges posted at or after `since` and before `until` (either open), in
    /// posting order.
    pub fn order_charges(
        &self,
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<Vec<OrderCharge>, Error> {
        Ok(self.rows(
            "SELECT supplier, distributor, order_name, amount, currency, at FROM transactions
             WHERE kind = 'order_charge' AND order_name IS NOT NULL
               AND (CAST(?1 AS TEXT) IS NULL OR at >= ?1)
               AND (CAST(?2 AS TEXT) IS NULL OR at < ?2)
             ORDER BY seq",
            params![since, until],
            |r| {
                Ok(OrderCharge {
                    supplier: r.get(0)?,
                    distributor: r.get(1)?,
                    order: r.get(2)?,
                    charged: -decimal(r, 3)?,
                    currency: r.get(4)?,
                    at: r.get(5)?,
                })
            },
        )?)
    }

    /// The transitions of an order recorded with their decision's inputs, newest first (the
    /// order's history chain, `audit.prev`, from `orders.audit_head`). `CROSS JOIN` keeps the
    /// chain the outer loop: one primary-key lookup per history row, never a scan of `audit`.
    pub fn recorded_decisions(
        &self,
        distributor: &str,
        order: &str,
    ) -> Result<Vec<RecordedDecision>, Error> {
        // PostgreSQL has no `CROSS JOIN ... ON`; its planner keeps the chain the outer loop.
        let sql = match self.db.dialect() {
            Dialect::Sqlite => RECORDED_DECISIONS,
            Dialect::Postgres => RECORDED_DECISIONS_POSTGRES,
        };
        Ok(self.rows(sql, params![distributor, order], |r| {
            Ok(RecordedDecision {
                seq: r.get(0)?,
                event: r.get(1)?,
                from_state: r.get(2)?,
                rules_version: r.get(3)?,
                inputs: r.get(4)?,
                at: r.get(5)?,
            })
        })?)
    }

    /// Visits every order transition recorded with its decision's inputs, oldest first: one scan
    /// of `audit` in its key order, each row borrowed, not copied. Stops at the first error
    /// `visit` answers, and answers it.
    pub fn scan_recorded_decisions(
        &self,
        mut visit: impl FnMut(&DecisionRow<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut failed: Option<Error> = None;
        self.db.scan(
            "SELECT seq, entity_id, event, from_state, rules_version, inputs, at FROM audit
             WHERE entity_kind = ?1 AND inputs IS NOT NULL ORDER BY seq",
            [contract::order::WORKFLOW],
            |r| {
                let row = DecisionRow {
                    seq: r.get(0)?,
                    order: r.str(1)?,
                    event: r.str(2)?,
                    from_state: r.str_or_null(3)?,
                    rules_version: r.str(4)?,
                    inputs: r.str(5)?,
                    at: r.str(6)?,
                };
                match visit(&row) {
                    Ok(()) => Ok(true),
                    Err(e) => {
                        failed = Some(e);
                        Ok(false)
                    }
                }
            },
        )?;
        failed.map_or(Ok(()), Err)
    }

    /// The newest audit row's key (0 in an empty store): how far a scan of `audit` goes.
    pub fn audit_seq_max(&self) -> Result<i64, Error> {
        Ok(self.row("SELECT coalesce(max(seq), 0) FROM audit", (), |r| r.get(0))?)
    }

    /// The order names more than one distributor holds. Their audit rows name the order alone,
    /// so only the history chain ([`Tx::recorded_decisions`]) tells whose each row is.
    pub fn shared_order_names(&self) -> Result<HashSet<String>, Error> {
        Ok(self
            .rows(
                "SELECT order_name FROM orders GROUP BY order_name HAVING count(*) > 1",
                (),
                |r| r.get(0),
            )?
            .into_iter()
            .collect())
    }

    /// Records an install.
    pub fn record_rules_load(&self, load: &RulesLoad) -> Result<(), Error> {
        self.db.write(
            "INSERT INTO rule_loads (version, previous, at) VALUES (?1, ?2, ?3)",
            params![load.version, load.previous, load.at],
        )?;
        Ok(())
    }

    /// The newest install, `None` in a store no pack was installed in yet.
    pub fn latest_rules_load(&self) -> Result<Option<RulesLoad>, Error> {
        Ok(self
            .row(
                "SELECT version, previous, at FROM rule_loads ORDER BY seq DESC LIMIT 1",
                (),
                |r| {
                    Ok(RulesLoad {
                        version: r.get(0)?,
                        previous: r.get(1)?,
                        at: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// When `version` was last installed.
    pub fn rules_loaded_at(&self, version: &str) -> Result<Option<String>, Error> {
        Ok(self
            .row(
                "SELECT at FROM rule_loads WHERE version = ?1 ORDER BY seq DESC LIMIT 1",
                [version],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// A partnership's or a claim's state and parties, by its id.
    pub fn entity_parties(&self, workflow: &str, id: &str) -> Result<Option<Parties>, Error> {
        let sql = match workflow {
            contract::partnership::WORKFLOW => {
                "SELECT state, distributor, supplier FROM partnerships WHERE partnership = ?1"
            }
            contract::product::WORKFLOW => {
                "SELECT state, distributor, supplier FROM claims WHERE claim = ?1"
            }
            _ => return Ok(None),
        };
        Ok(self
            .row(sql, [id], |r| {
                Ok(Parties {
                    state: r.get(0)?,
                    distributor: r.get(1)?,
                    supplier: r.get(2)?,
                })
            })
            .optional()?)
    }

    /// How many entities of `workflow` sit in each state; empty for a workflow the engine
    /// keeps no entities of.
    pub fn entities_by_state(&self, workflow: &str) -> Result<Vec<(String, u64)>, Error> {
        let sql = match workflow {
            contract::order::WORKFLOW => {
                "SELECT state, count(*) FROM orders GROUP BY state ORDER BY state"
            }
            contract::partnership::WORKFLOW => {
                "SELECT state, count(*) FROM partnerships GROUP BY state ORDER BY state"
            }
            contract::product::WORKFLOW => {
                "SELECT state, count(*) FROM claims GROUP BY state ORDER BY state"
            }
            _ => return Ok(Vec::new()),
        };
        Ok(self.rows(sql, (), |r| {
            Ok((r.get(0)?, r.get::<i64>(1)?.unsigned_abs()))
        })?)
    }

    /// Moves every entity of `workflow` in state `from` to `to`, each with a history entry
    /// (`entry` gives the event, actor, rules version and time); answers how many moved.
    pub fn migrate_entities(
        &self,
        workflow: &str,
        from: &str,
        to: &str,
        entry: &AuditEntry,
    ) -> Result<u64, Error> {
        let moving = self.moving(workflow, from)?;
        for entity in &moving {
            let seq = self.append_audit(&AuditEntry {
                account: entity.owner.clone(),
                entity_kind: workflow.to_owned(),
                entity_id: entity.id.clone(),
                from_state: Some(from.to_owned()),
                to_state: to.to_owned(),
                prev: entity.audit_head,
                ..entry.clone()
            })?;
            match workflow {
                contract::order::WORKFLOW => {
                    // Written behind `update_order`'s back: not as this transaction wrote it.
                    self.known_orders.borrow_mut().clear();
                    self.exec(
                        "UPDATE orders SET state = ?3, audit_head = ?4, updated_at = ?5
                         WHERE distributor = ?1 AND order_name = ?2",
                        params![entity.distributor, entity.id, to, seq, entry.at],
                    )?
                }
                contract::partnership::WORKFLOW => self.exec(
                    "UPDATE partnerships SET state = ?2, updated_at = ?3 WHERE partnership = ?1",
                    params![entity.id, to, entry.at],
                )?,
                _ => self.exec(
                    "UPDATE claims SET state = ?2 WHERE claim = ?1",
                    params![entity.id, to],
                )?,
            };
        }
        Ok(moving.len() as u64)
    }

    fn moving(&self, workflow: &str, state: &str) -> Result<Vec<Moving>, Error> {
        Ok(match workflow {
            contract::order::WORKFLOW => self.rows(
                "SELECT distributor, order_name, audit_head FROM orders WHERE state = ?1",
                [state],
                |r| {
                    Ok(Moving {
                        distributor: r.get(0)?,
                        owner: r.get(0)?,
                        id: r.get(1)?,
                        audit_head: r.get(2)?,
                    })
                },
            )?,
            contract::partnership::WORKFLOW => self.rows(
                "SELECT partnership, supplier FROM partnerships WHERE state = ?1",
                [state],
                |r| {
                    Ok(Moving {
                        distributor: None,
                        owner: r.get(1)?,
                        id: r.get(0)?,
                        audit_head: None,
                    })
                },
            )?,
            contract::product::WORKFLOW => self.rows(
                "SELECT claim, distributor FROM claims WHERE state = ?1",
                [state],
                |r| {
                    Ok(Moving {
                        distributor: None,
                        owner: r.get(1)?,
                        id: r.get(0)?,
                        audit_head: None,
                    })
                },
            )?,
            _ => Vec::new(),
        })
    }
}
