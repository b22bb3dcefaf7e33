//! Partnerships (docs/protocol.md#partnerships, docs/protocol.md#warehouses): supplier warehouses,
//! invitation links, binding, review, termination, and the distributor's notes. State changes go
//! through the `partnership` workflow.

mod answers;

use crate::contract::{partnership as contract, product};
use rand::Rng;
use serde_json::json;

use crate::{
    catalog,
    command::{
        check_name, check_text, BindSupplier, CreateInvitation, CreateWarehouse, DistributorArgs,
        DistributorsQuery, LinkArgs, NoArgs, ReviewPartnership, SupplierNote,
    },
    error::{Code, Error},
    flow::{no_guards, Ctx, Entity},
    inventory,
    model::{time::Instant, Invitation, Partnership},
    notify::notify,
    workflow::Role,
};

pub use answers::{
    Bound, DistributorRow, Distributors, Ended, InvitationCreated, InvitationRevoked, Reviewed,
    SupplierNoted, SupplierRow, Suppliers, WarehouseCreated,
};

/// The partnership workflow's name in the rule pack.
pub use crate::contract::partnership::WORKFLOW;
/// How long an invitation lives unless the supplier says otherwise.
pub const INVITATION_TTL_DAYS: i64 = 7;
/// Random bytes in an invitation token: 128 bits from `rand::rng()`, a CSPRNG seeded by the
/// operating system.
pub const INVITATION_TOKEN_BYTES: usize = 16;
/// The most warehouses one invitation may assign.
pub const INVITATION_WAREHOUSES_MAX: usize = 100;
/// What every invitation link starts with; the token follows.
pub const LINK_PREFIX: &str = "distributary://invite/";

/// States in which a pair is already linked, so a new bind is refused.
const LIVE_STATES: &[&str] = &[contract::PENDING_AUTHORIZATION, contract::PARTNERED];

/// `create_warehouse {warehouse, name, region}`: a supplier's fulfilment warehouse.
pub fn create_warehouse(
    ctx: &Ctx<'_, '_>,
    args: &CreateWarehouse,
) -> Result<WarehouseCreated, Error> {
    check_name("warehouse", &args.warehouse)?;
    check_text("name", &args.name)?;
    check_text("region", &args.region)?;
    if !ctx.tx.insert_warehouse(
        ctx.actor.account(),
        &args.warehouse,
        &args.name,
        &args.region,
    )? {
        return Err(Error::bad_request(format!(
            "warehouse {:?} already exists",
            args.warehouse
        )));
    }
    Ok(WarehouseCreated {
        warehouse: args.warehouse.clone(),
        name: args.name.clone(),
        region: args.region.clone(),
    })
}

/// `create_invitation {warehouses, expires_at?} -> {link, expires_at, warehouses}`.
pub fn create_invitation(
    ctx: &Ctx<'_, '_>,
    args: &CreateInvitation,
) -> Result<InvitationCreated, Error> {
    let supplier = ctx.actor.account();
    if args.warehouses.len() > INVITATION_WAREHOUSES_MAX {
        return Err(Error::bad_request(format!(
            "an invitation assigns at most {INVITATION_WAREHOUSES_MAX} warehouses"
        )));
    }
    for warehouse in &args.warehouses {
        check_name("warehouses", warehouse)?;
        if !ctx.tx.warehouse_exists(supplier, warehouse)? {
            return Err(Error::not_found("warehouse", warehouse));
        }
    }
    let expires_at = match &args.expires_at {
        Some(text) => {
            let at = Instant::parse("expires_at", text)?;
            if at <= ctx.at {
                return Err(Error::bad_request("`expires_at` must be in the future"));
            }
            at
        }
        None => ctx
            .at
            .plus_days(INVITATION_TTL_DAYS)
            .ok_or_else(|| Error::bad_request("`at` is too far in the future"))?,
    };
    let mut bytes = [0u8; INVITATION_TOKEN_BYTES];
    rand::rng().fill(&mut bytes);
    let mut warehouses = args.warehouses.clone();
    warehouses.sort();
    warehouses.dedup();
    let invitation = Invitation {
        token: hex::encode(bytes),
        supplier: supplier.to_owned(),
        warehouses,
        expires_at: expires_at.to_string(),
        revoked: false,
    };
    ctx.tx.insert_invitation(&invitation, &ctx.now())?;
    Ok(InvitationCreated {
        link: format!("{LINK_PREFIX}{}", invitation.token),
        expires_at: invitation.expires_at,
        warehouses: invitation.warehouses,
    })
}

/// The token of a link (the whole link or the bare token are both accepted).
fn token_of(link: &str) -> Result<&str, Error> {
    let token = link.strip_prefix(LINK_PREFIX).unwrap_or(link);
    if token.len() == INVITATION_TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(token)
    } else {
        Err(Error::new(
            Code::InvalidInvitation,
            "this is not an invitation link",
        ))
    }
}

/// `revoke_invitation {link}`: the supplier withdraws a link it made.
pub fn revoke_invitation(ctx: &Ctx<'_, '_>, args: &LinkArgs) -> Result<InvitationRevoked, Error> {
    let token = token_of(&args.link)?;
    match ctx.tx.invitation(token)? {
        Some(invitation) if invitation.supplier == ctx.actor.account() => {
            ctx.tx.revoke_invitation(token)?;
            Ok(InvitationRevoked {
                link: args.link.clone(),
                revoked: true,
            })
        }
        _ => Err(Error::not_found("invitation", &args.link)),
    }
}

/// `bind_supplier {link, note?}`: the distributor asks to partner; the supplier reviews.
pub fn bind_supplier(ctx: &Ctx<'_, '_>, args: &BindSupplier) -> Result<Bound, Error> {
    let distributor = ctx.actor.account();
    // The arguments are checked before anything is looked up: a bad note is `bad_request`
    // whatever the link.
    if let Some(note) = &args.note {
        check_text("note", note)?;
    }
    let token = token_of(&args.link)?;
    let invitation = match ctx.tx.invitation(token)? {
        Some(invitation) if !invitation.revoked => invitation,
        Some(_) => {
            return Err(Error::new(
                Code::InvalidInvitation,
                "this invitation was revoked",
            ))
        }
        None => return Err(Error::new(Code::InvalidInvitation, "no such invitation")),
    };
    if Instant::parse("expires_at", &invitation.expires_at)? <= ctx.at {
        return Err(
            Error::new(Code::InvitationExpired, "this invitation has expired")
                .with("expires_at", invitation.expires_at.as_str()),
        );
    }
    let supplier = invitation.supplier.as_str();
    if supplier == distributor {
        return Err(Error::new(
            Code::InvalidInvitation,
            "an account cannot partner with itself",
        ));
    }
    let latest = ctx.tx.latest_partnership(supplier, distributor)?;
    if let Some(p) = latest
        .as_ref()
        .filter(|p| LIVE_STATES.contains(&p.state.as_str()))
    {
        return Err(Error::new(
            Code::AlreadyPartnered,
            format!("already {} with {supplier:?}", p.state),
        )
        .with("supplier", supplier));
    }
    if let Some(note) = &args.note {
        ctx.tx.set_supplier_note(distributor, supplier, note)?;
    }
    let number = latest.map_or(1, |p| sequence_of(&p.partnership) + 1);
    let id = format!("{supplier}:{distributor}:{number}");
    let (state, _) = ctx.created(WORKFLOW, &id, supplier, "bind")?;
    ctx.tx.insert_partnership(
        &Partnership {
            partnership: id,
            supplier: supplier.to_owned(),
            distributor: distributor.to_owned(),
            state: state.clone(),
            token: token.to_owned(),
            reason: None,
        },
        &ctx.now(),
    )?;
    ctx.tx
        .set_assigned_warehouses(supplier, distributor, &invitation.warehouses)?;
    Ok(Bound {
        supplier: supplier.to_owned(),
        status: state,
    })
}

fn sequence_of(id: &str) -> u64 {
    id.rsplit(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The newest partnership of the acting supplier with `distributor`, or `not_found`.
fn partnership_with(ctx: &Ctx<'_, '_>, distributor: &str) -> Result<Partnership, Error> {
    check_name("distributor", distributor)?;
    ctx.tx
        .latest_partnership(ctx.actor.account(), distributor)?
        .ok_or_else(|| Error::not_found("distributor", distributor))
}

/// `review_partnership {distributor, approve, reason?}`.
pub fn review(ctx: &Ctx<'_, '_>, args: &ReviewPartnership) -> Result<Reviewed, Error> {
    if let Some(reason) = &args.reason {
        check_text("reason", reason)?;
    }
    let p = partnership_with(ctx, &args.distributor)?;
    let event = if args.approve {
        contract::APPROVE
    } else {
        contract::REJECT
    };
    let reason = if args.approve {
        None
    } else {
        args.reason.as_deref()
    };
    let state = move_partnership(ctx, &p, event, reason)?;
    Ok(Reviewed {
        distributor: p.distributor,
        status: state,
        reason: reason.map(str::to_owned),
    })
}

/// `end_partnership {distributor}`: the supplier terminates a partnership.
pub fn end(ctx: &Ctx<'_, '_>, args: &DistributorArgs) -> Result<Ended, Error> {
    let p = partnership_with(ctx, &args.distributor)?;
    let state = move_partnership(ctx, &p, contract::END, None)?;
    Ok(Ended {
        distributor: p.distributor,
        status: state,
    })
}

fn move_partnership(
    ctx: &Ctx<'_, '_>,
    p: &Partnership,
    event: &str,
    reason: Option<&str>,
) -> Result<String, Error> {
    let entity = Entity {
        workflow: WORKFLOW,
        id: &p.partnership,
        owner: &p.supplier,
        audit_head: None,
        state: &p.state,
    };
    let moved = ctx.transition(&entity, event, Role::Supplier, no_guards)?;
    ctx.tx
        .update_partnership(&p.partnership, &p.state, &moved.to, reason, &ctx.now())?;
    if moved.to == contract::PARTNERED {
        let currency = ctx.actor.currency();
        ctx.tx
            .ensure_ledger_account(&p.supplier, &p.distributor, currency)?;
    }
    for effect in &moved.effects {
        apply_effect(ctx, p, effect, reason)?;
    }
    Ok(moved.to)
}

/// Applies one built-in effect of a partnership transition.
fn apply_effect(
    ctx: &Ctx<'_, '_>,
    p: &Partnership,
    effect: &str,
    reason: Option<&str>,
) -> Result<(), Error> {
    let data = json!({"supplier": p.supplier, "reason": reason});
    match effect {
        "create_supplier_warehouses" => {
            inventory::rebuild_supplier_warehouses(ctx, &p.supplier, &p.distributor)
        }
        "clear_partnership_stock" => {
            inventory::clear_partnership_stock(ctx, &p.supplier, &p.distributor)
        }
        "expire_partnership_products" => {
            for claim in
                ctx.tx
                    .claims_from_supplier(&p.distributor, &p.supplier, product::CLAIMED)?
            {
                catalog::move_claim(ctx, &claim, product::EXPIRE, Role::System)?;
            }
            Ok(())
        }
        "notify_partnership_approved" => notify(ctx, &p.distributor, "partnership_approved", data),
        "notify_partnership_rejected" => notify(ctx, &p.distributor, "partnership_rejected", data),
        "notify_partnership_terminated" => {
            notify(ctx, &p.distributor, "partnership_terminated", data)
        }
        other => Err(Error::new(
            Code::RuleError,
            format!("effect `{other}` does not apply to a partnership"),
        )),
    }
}

/// `set_supplier_note {supplier, note}`.
pub fn set_note(ctx: &Ctx<'_, '_>, args: &SupplierNote) -> Result<SupplierNoted, Error> {
    check_name("supplier", &args.supplier)?;
    check_text("note", &args.note)?;
    let distributor = ctx.actor.account();
    if ctx
        .tx
        .latest_partnership(&args.supplier, distributor)?
        .is_none()
    {
        return Err(Error::not_found("supplier", &args.supplier));
    }
    ctx.tx
        .set_supplier_note(distributor, &args.supplier, &args.note)?;
    Ok(SupplierNoted {
        supplier: args.supplier.clone(),
        note: args.note.clone(),
    })
}

/// `suppliers`: the distributor's suppliers with the newest partnership's status.
pub fn suppliers(ctx: &Ctx<'_, '_>, _: &NoArgs) -> Result<Suppliers, Error> {
    let distributor = ctx.actor.account();
    let mut suppliers = Vec::new();
    for p in ctx.tx.partnerships_of_distributor(distributor)? {
        let note = ctx.tx.supplier_note(distributor, &p.supplier)?;
        // Mapped on the distributor's side and assigned now, as pack and push read them: a
        // mapping whose warehouse the supplier unassigned since is not listed.
        let assigned = ctx.tx.assigned_warehouses(&p.supplier, distributor)?;
        let warehouses: Vec<String> = ctx
            .tx
            .supplier_warehouses(distributor)?
            .into_iter()
            .filter(|(s, w)| *s == p.supplier && assigned.contains(w))
            .map(|(_, w)| w)
            .collect();
        suppliers.push(SupplierRow {
            supplier: p.supplier,
            status: p.state,
            note,
            reason: p.reason,
            warehouses,
        });
    }
    Ok(Suppliers { suppliers })
}

/// `distributors {status?}`: the acting supplier's partnerships, the newest per distributor (the
/// one a supplier reviews; older ones are history). Applications still in the workflow's
/// initial state (`pending_authorization`) come first, then the others; within each group the
/// newest applied first, and of two applied at the same time the later bind first.
pub fn distributors(ctx: &Ctx<'_, '_>, args: &DistributorsQuery) -> Result<Distributors, Error> {
    let workflow = ctx.workflows.get(WORKFLOW).ok_or_else(|| {
        Error::new(
            Code::Internal,
            format!("the rule pack has no `{WORKFLOW}` workflow"),
        )
    })?;
    if let Some(status) = &args.status {
        check_name("status", status)?;
        if !workflow.states().contains(status) {
            return Err(Error::bad_request(format!(
                "unknown status {status:?}: the `{WORKFLOW}` workflow's states are {}",
                workflow.states().join(", ")
            ))
            .with("status", status.as_str()));
        }
    }
    let supplier = ctx.actor.account();
    let mut distributors = Vec::new();
    for (p, applied_at, decided_at) in
        ctx.tx
            .partnerships_of_supplier(supplier, WORKFLOW, args.status.as_deref())?
    {
        distributors.push(DistributorRow {
            note: ctx.tx.supplier_note(&p.distributor, supplier)?,
            warehouses: ctx.tx.assigned_warehouses(supplier, &p.distributor)?,
            distributor: p.distributor,
            status: p.state,
            applied_at,
            decided_at,
        });
    }
    // The store answers newest applied first; a stable sort keeps that order within each group.
    distributors.sort_by_key(|row| row.status != workflow.initial());
    Ok(Distributors { distributors })
}
