//! What every command handler works with: the authorised [`Actor`], the command's [`Ctx`], and
//! [`Ctx::transition`], the one way an entity changes state (workflow, guards, audit row).

use serde_json::{json, Value};

use crate::{
    command::{Command, CommandName, Envelope, Side},
    error::{Code, Error},
    model::{time::Instant, Account, AuditEntry, Plan},
    rules::RuleSet,
    store::Tx,
    workflow::{FireError, Guard, GuardFailure, Role, WorkflowSet},
};

/// The name of the setup actor.
pub const SYSTEM_ACTOR: &str = "system";

/// Who acts, after authorisation: the account (none for `system`), the user, and which
/// permission sets the user holds.
#[derive(Debug, Clone)]
pub struct Actor {
    account: Option<Account>,
    user: Option<String>,
    supplier: bool,
    distributor: bool,
}

impl Actor {
    /// Authorises the envelope's actor for its command (docs/protocol.md#accounts-and-users): the
    /// account exists, the user holds the command's permission set, and the account meets the
    /// role's preconditions.
    pub fn authorise(tx: &Tx<'_>, envelope: &Envelope) -> Result<Actor, Error> {
        let side = envelope.command.side();
        if envelope.actor == SYSTEM_ACTOR {
            if !CommandName::from(&envelope.command).open_to_system() {
                return Err(Error::new(
                    Code::PermissionDenied,
                    format!(
                        "`system` runs setup commands only, not `{}`",
                        envelope.command.name()
                    ),
                ));
            }
            return Ok(Actor {
                account: None,
                user: None,
                supplier: false,
                distributor: false,
            });
        }
        if side == Side::System {
            return Err(Error::new(
                Code::PermissionDenied,
                format!(
                    "`{}` is a setup command: only `system` may run it",
                    envelope.command.name()
                ),
            ));
        }
        let account = tx.account(&envelope.actor)?.ok_or_else(|| {
            Error::new(
                Code::PermissionDenied,
                format!("unknown account {:?}", envelope.actor),
            )
        })?;
        let (supplier, distributor) = match &envelope.user {
            None => (true, true),
            Some(user) => {
                let sets = tx
                    .user_permissions(&account.account, user)?
                    .ok_or_else(|| {
                        Error::new(Code::PermissionDenied, format!("unknown user {user:?}"))
                    })?;
                (
                    sets.iter().any(|s| s == "supplier"),
                    sets.iter().any(|s| s == "distributor"),
                )
            }
        };
        let actor = Actor {
            account: Some(account),
            user: envelope.user.clone(),
            supplier,
            distributor,
        };
        if let Command::AddBalance(args) = &envelope.command {
            if !actor.may_supply() || args.distributor == envelope.actor {
                return Err(Error::new(
                    Code::DistributorCannotTopUp,
                    "distributors cannot top up; ask the supplier to add balance",
                ));
            }
        }
        match side {
            Side::Supplier => actor.require_supplier()?,
            Side::Distributor => actor.require_distributor()?,
            Side::Query => actor.require_one_of(CommandName::from(&envelope.command))?,
            Side::Access if envelope.user.is_some() => {
                return Err(Error::new(
                    Code::PermissionDenied,
                    "only an account's main user manages its tokens",
                ))
            }
            Side::System | Side::Access => {}
        }
        Ok(actor)
    }

    /// The engine itself, acting on queued work (deliveries).
    pub fn system() -> Actor {
        Actor {
            account: None,
            user: None,
            supplier: false,
            distributor: false,
        }
    }

    fn may_supply(&self) -> bool {
        self.account.as_ref().is_some_and(|a| a.plan >= Plan::V2)
    }

    fn require_supplier(&self) -> Result<(), Error> {
        if !self.supplier {
            return Err(Error::new(
                Code::PermissionDenied,
                "the user lacks the `supplier` permission set",
            ));
        }
        if !self.may_supply() {
            return Err(Error::new(
                Code::PlanRequired,
                "acting as a supplier needs plan V2 or above",
            ));
        }
        self.require_inventory()
    }

    fn require_distributor(&self) -> Result<(), Error> {
        if !self.distributor {
            return Err(Error::new(
                Code::PermissionDenied,
                "the user lacks the `distributor` permission set",
            ));
        }
        self.require_inventory()
    }

    /// A query needs one of its permission sets ([`CommandName::permission_sets`]), and no
    /// plan nor inventory: an account without them reads its own (empty) data.
    fn require_one_of(&self, query: CommandName) -> Result<(), Error> {
        let sets = query.permission_sets();
        let holds = |set: &&str| match *set {
            "supplier" => self.supplier,
            "distributor" => self.distributor,
            _ => false,
        };
        if sets.iter().any(holds) {
            return Ok(());
        }
        let message = match sets {
            [only] => format!("the user lacks the `{only}` permission set"),
            _ => "the user holds no permission set".to_owned(),
        };
        Err(Error::new(Code::PermissionDenied, message))
    }

    fn require_inventory(&self) -> Result<(), Error> {
        if self.account.as_ref().is_some_and(|a| a.inventory) {
            Ok(())
        } else {
            Err(Error::new(
                Code::InventoryNotEnabled,
                "distribution needs the inventory feature enabled",
            ))
        }
    }

    /// The acting account's name (`system` for the setup actor).
    pub fn account(&self) -> &str {
        self.account
            .as_ref()
            .map_or(SYSTEM_ACTOR, |a| a.account.as_str())
    }

    /// The acting account's settlement currency.
    pub fn currency(&self) -> &str {
        self.account.as_ref().map_or("", |a| a.currency.as_str())
    }

    /// Whether the user may see supplier-side data.
    pub fn sees_supplier_side(&self) -> bool {
        self.supplier
    }

    /// Whether the user may see distributor-side data.
    pub fn sees_distributor_side(&self) -> bool {
        self.distributor
    }

    /// The acting user, `None` for the main account.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }
}

/// Everything a command handler needs: the open transaction, the actor, logical time, and the
/// rule set in force.
pub struct Ctx<'a, 't> {
    pub tx: &'a Tx<'t>,
    pub actor: &'a Actor,
    pub at: Instant,
    pub workflows: &'a WorkflowSet,
    pub rules: &'a RuleSet,
    pub plugins: &'a crate::plugin_host::PluginHost,
}

/// What opens a [`Ctx`] on a transaction: the engine, whose rules, workflows and adapters every
/// command and every delivery reads.
pub(crate) trait OpenCtx {
    /// The context of `actor` acting at `at` in `tx`.
    fn ctx<'a, 't>(&'a self, tx: &'a Tx<'t>, actor: &'a Actor, at: Instant) -> Ctx<'a, 't>;
}

/// An entity a workflow drives.
pub struct Entity<'e> {
    /// The workflow's name, e.g. `partnership`.
    pub workflow: &'e str,
    /// The entity's id.
    pub id: &'e str,
    /// The account it belongs to (an order's or a claim's distributor, a partnership's
    /// supplier), which owns its audit rows.
    pub owner: &'e str,
    /// Its current state.
    pub state: &'e str,
    /// Its newest audit row, when its history is a chain (an order's); `None` otherwise.
    pub audit_head: Option<i64>,
}

/// A transition the workflow chose ([`Ctx::decide`]), not yet recorded ([`Ctx::record`]).
#[derive(Debug)]
pub struct Decided {
    to: String,
    effects: Vec<String>,
    /// Every guard evaluated, as the audit row keeps them.
    guards: Value,
}

/// The outcome of a transition: where the entity goes and which effects the caller applies.
#[derive(Debug)]
pub struct Moved {
    pub to: String,
    pub effects: Vec<String>,
    /// The audit row that records the transition.
    pub audit_seq: i64,
}

impl Ctx<'_, '_> {
    /// Logical time as stored.
    pub fn now(&self) -> String {
        self.at.to_string()
    }

    /// Fires `event` on `entity` as `role`: the workflow picks the first transition whose guards
    /// pass (`guard` evaluates one guard), an audit row records it with the rules version, and the
    /// caller applies the returned effects and stores the new state in the same transaction.
    pub fn transition(
        &self,
        entity: &Entity<'_>,
        event: &str,
        role: Role,
        guard: impl FnMut(&Guard) -> Result<Vec<GuardFailure>, Error>,
    ) -> Result<Moved, Error> {
        self.transition_because(entity, event, role, None, guard)
    }

    /// [`Ctx::transition`], with why the engine fires it (`reason`, kept in the audit row and
    /// shown in the entity's history).
    pub fn transition_because(
        &self,
        entity: &Entity<'_>,
        event: &str,
        role: Role,
        reason: Option<&str>,
        guard: impl FnMut(&Guard) -> Result<Vec<GuardFailure>, Error>,
    ) -> Result<Moved, Error> {
        let decided = self.decide(entity, event, role, guard)?;
        self.record(entity, event, reason, decided, None)
    }

    /// The first half of [`Ctx::transition`]: which transition the workflow takes, its guards
    /// evaluated, nothing written yet. [`Ctx::record`] writes it, with what the rules read to
    /// decide (a caller works that out from its guards' evaluation in between).
    pub fn decide(
        &self,
        entity: &Entity<'_>,
        event: &str,
        role: Role,
        mut guard: impl FnMut(&Guard) -> Result<Vec<GuardFailure>, Error>,
    ) -> Result<Decided, Error> {
        let workflow = self.workflows.get(entity.workflow).ok_or_else(|| {
            Error::new(
                Code::Internal,
                format!("the rule pack has no `{}` workflow", entity.workflow),
            )
        })?;
        let fired = workflow
            .fire(entity.state, event, role, |g| guard(g))
            .map_err(|e| fire_error(entity, event, e))?;
        Ok(Decided {
            to: fired.to.to_owned(),
            effects: fired.effects.to_vec(),
            guards: serde_json::to_value(&fired.guards).unwrap_or(Value::Null),
        })
    }

    /// The second half of [`Ctx::transition`]: the audit row of a decided transition, with
    /// `reason` and the rules' `inputs` (for a backtest to replay), in one insert.
    pub fn record(
        &self,
        entity: &Entity<'_>,
        event: &str,
        reason: Option<&str>,
        decided: Decided,
        inputs: Option<&Value>,
    ) -> Result<Moved, Error> {
        let audit_seq = self.tx.append_decision(
            &AuditEntry {
                account: entity.owner.to_owned(),
                entity_kind: entity.workflow.to_owned(),
                entity_id: entity.id.to_owned(),
                from_state: Some(entity.state.to_owned()),
                to_state: decided.to.clone(),
                event: event.to_owned(),
                actor: self.actor.account().to_owned(),
                user: self.actor.user().map(str::to_owned),
                rules_version: self.rules.version().to_owned(),
                guards: decided.guards,
                at: self.now(),
                prev: entity.audit_head,
                reason: reason.map(str::to_owned),
            },
            inputs,
        )?;
        Ok(Moved {
            to: decided.to,
            effects: decided.effects,
            audit_seq,
        })
    }

    /// Records the creation of an entity that `owner` owns (see [`Entity::owner`]) in its
    /// initial state; returns the state and the audit row (the head of the entity's history,
    /// for an entity whose history is a chain).
    pub fn created(
        &self,
        workflow: &str,
        id: &str,
        owner: &str,
        event: &str,
    ) -> Result<(String, i64), Error> {
        let initial = self
            .workflows
            .get(workflow)
            .ok_or_else(|| {
                Error::new(
                    Code::Internal,
                    format!("the rule pack has no `{workflow}` workflow"),
                )
            })?
            .initial()
            .to_owned();
        let seq = self.tx.append_audit(&AuditEntry {
            account: owner.to_owned(),
            entity_kind: workflow.to_owned(),
            entity_id: id.to_owned(),
            from_state: None,
            to_state: initial.clone(),
            event: event.to_owned(),
            actor: self.actor.account().to_owned(),
            user: self.actor.user().map(str::to_owned),
            rules_version: self.rules.version().to_owned(),
            guards: json!([]),
            at: self.now(),
            prev: None,
            reason: None,
        })?;
        Ok((initial, seq))
    }
}

/// A guard evaluator for workflows whose transitions have no guards of their own: any guard the
/// rule author adds is refused with a clear error rather than silently passed.
pub fn no_guards(guard: &Guard) -> Result<Vec<GuardFailure>, Error> {
    Err(Error::new(
        Code::RuleError,
        format!("guard `{}` is not available on this workflow", guard.name()),
    ))
}

fn fire_error(entity: &Entity<'_>, event: &str, error: FireError<Error>) -> Error {
    match error {
        FireError::InvalidTransition { .. } => Error::new(
            Code::InvalidTransition,
            format!(
                "`{event}` is not allowed for {} {:?} in state `{}`",
                entity.workflow, entity.id, entity.state
            ),
        )
        .with("state", entity.state),
        FireError::RoleNotAllowed { .. } => Error::new(
            Code::PermissionDenied,
            format!("your role may not `{event}` a {}", entity.workflow),
        ),
        FireError::GuardsFailed(failures) => {
            let first = failures.first();
            let code = first
                .and_then(|f| Code::parse(&f.code))
                .unwrap_or(Code::InvalidTransition);
            let message = first.map_or_else(|| "a guard refused".to_owned(), |f| f.message.clone());
            Error::new(code, message).with(
                "failures",
                serde_json::to_value(&failures).unwrap_or(Value::Null),
            )
        }
        FireError::Eval(error) => error,
    }
}
