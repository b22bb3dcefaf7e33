//! The engine's contract with a rule pack, declared once: the workflows, states and events the
//! engine's own code names, and the workflows each built-in guard and effect applies to. The
//! workflow loader checks a pack against it (`workflow::Vocabulary::engine`), so a pack that
//! breaks it is refused with a located diagnostic when it loads, never found at run time.
//!
//! Engine code names these states and events only through the constants below.

/// The order workflow: what the order handlers, the delivery queue and the imports rely on.
pub mod order {
    /// The workflow's name (and the `entity` of `fire` and `explain`).
    pub const WORKFLOW: &str = "distribution_order";
    /// Where a pushed order waits for its delivery to the supplier.
    pub const PUSHING: &str = "pushing";
    /// Where an order split into per-supplier orders stays; imports skip it.
    pub const SPLIT: &str = "split";
    /// The events the order commands fire.
    pub const PACK: &str = "pack";
    /// Splitting an order (also the creation event of each part).
    pub const SPLIT_EVENT: &str = "split";
    /// Pushing an order to its supplier.
    pub const PUSH: &str = "push";
    /// The delivery reached the supplier.
    pub const DELIVERED: &str = "delivered";
    /// The delivery could not reach the supplier.
    pub const DELIVERY_FAILED: &str = "delivery_failed";
    /// The supplier ships.
    pub const SHIP: &str = "ship";
    /// The carrier picked the parcel up.
    pub const CONFIRM_PICKUP: &str = "confirm_pickup";
    /// The marketplace cancelled the order.
    pub const MARKETPLACE_CANCEL: &str = "marketplace_cancel";
    /// The distributor asks to withdraw a pushed order.
    pub const WITHDRAW: &str = "withdraw";
    /// The supplier approves a withdrawal.
    pub const APPROVE_WITHDRAWAL: &str = "approve_withdrawal";
    /// The supplier rejects a withdrawal.
    pub const REJECT_WITHDRAWAL: &str = "reject_withdrawal";
    /// `came_from_<state>`: the built-in guards that pass when a withdrawal was requested from
    /// `<state>` (the order remembers the state it left); each names a state the workflow must
    /// declare.
    pub const CAME_FROM_PREFIX: &str = "came_from_";
    /// Auto-clear released what the order had locked: fired where the workflow has a transition
    /// for it from the order's state (the default: `packed` and `push_failed` go back to
    /// `pending`, to be packed again); a pack without it keeps the order where it is, and `push`
    /// still refuses an order that holds no lock.
    pub const STOCK_RELEASED: &str = "stock_released";
    /// Events with a command of their own; `fire` refuses them so their preparation is never
    /// skipped.
    pub const COMMAND_EVENTS: &[&str] = &[
        PACK,
        SPLIT_EVENT,
        PUSH,
        DELIVERED,
        DELIVERY_FAILED,
        SHIP,
        CONFIRM_PICKUP,
        MARKETPLACE_CANCEL,
        WITHDRAW,
        APPROVE_WITHDRAWAL,
        REJECT_WITHDRAWAL,
        STOCK_RELEASED,
    ];
}

/// The partnership workflow: what binding, claiming and stock rely on.
pub mod partnership {
    /// The workflow's name.
    pub const WORKFLOW: &str = "partnership";
    /// A bind waiting for the supplier's review.
    pub const PENDING_AUTHORIZATION: &str = "pending_authorization";
    /// A live partnership: claims, stock and deliveries need it.
    pub const PARTNERED: &str = "partnered";
    /// The supplier approves a bind.
    pub const APPROVE: &str = "approve";
    /// The supplier rejects a bind.
    pub const REJECT: &str = "reject";
    /// The supplier ends a partnership.
    pub const END: &str = "end";
}

/// The distribution product workflow (a distributor's claim of a supplier SKU).
pub mod product {
    /// The workflow's name.
    pub const WORKFLOW: &str = "distribution_product";
    /// A live claim: orders of its SKU may be packed and pushed.
    pub const CLAIMED: &str = "claimed";
    /// A claim on the expired tab.
    pub const EXPIRED: &str = "expired";
    /// The system expires a claim (partnership ended, distribution turned off).
    pub const EXPIRE: &str = "expire";
    /// The distributor stops distributing the SKU.
    pub const STOP_DISTRIBUTION: &str = "stop_distribution";
    /// The distributor removes an expired claim.
    pub const REMOVE: &str = "remove";
}

/// What the engine needs of one workflow: its states, and events it fires on its own from a
/// given state (so the pack must let them leave that state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// The workflow's name.
    pub workflow: &'static str,
    /// The states engine code names.
    pub states: &'static [&'static str],
    /// `(event, from)`: a transition the engine fires by itself and that must exist.
    pub transitions: &'static [(&'static str, &'static str)],
}

/// Every workflow the engine drives, with what it needs of each.
pub const NEEDS: &[Needs] = &[
    Needs {
        workflow: order::WORKFLOW,
        states: &[order::PUSHING, order::SPLIT],
        transitions: &[
            (order::DELIVERED, order::PUSHING),
            (order::DELIVERY_FAILED, order::PUSHING),
        ],
    },
    Needs {
        workflow: partnership::WORKFLOW,
        states: &[partnership::PENDING_AUTHORIZATION, partnership::PARTNERED],
        transitions: &[],
    },
    Needs {
        workflow: product::WORKFLOW,
        states: &[product::CLAIMED, product::EXPIRED],
        transitions: &[(product::EXPIRE, product::CLAIMED)],
    },
];

/// A built-in guard or effect and the workflows whose entities it can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    /// The name a workflow file uses.
    pub name: &'static str,
    /// The workflows it applies to.
    pub workflows: &'static [&'static str],
}

const ORDER: &[&str] = &[order::WORKFLOW];
const PARTNERSHIP: &[&str] = &[partnership::WORKFLOW];
const PRODUCT: &[&str] = &[product::WORKFLOW];

/// The built-in guards: each reads an order (its pack plan, tracking number or withdrawal).
pub const GUARDS: &[Builtin] = &[
    Builtin {
        name: "lines_mapped",
        workflows: ORDER,
    },
    Builtin {
        name: "single_warehouse",
        workflows: ORDER,
    },
    Builtin {
        name: "shipping_supported",
        workflows: ORDER,
    },
    Builtin {
        name: "stock_available",
        workflows: ORDER,
    },
    Builtin {
        name: "tracking_number_given",
        workflows: ORDER,
    },
    Builtin {
        name: "came_from_pushed",
        workflows: ORDER,
    },
    Builtin {
        name: "came_from_to_pickup",
        workflows: ORDER,
    },
    Builtin {
        name: "came_from_shipped",
        workflows: ORDER,
    },
];

/// The workflows a `rule:<script>` guard may be used on: a rule reads an order's push input.
pub const RULE_GUARD_WORKFLOWS: &[&str] = ORDER;

/// The built-in effects, each applied by the handler of the workflows it names.
pub const EFFECTS: &[Builtin] = &[
    Builtin {
        name: "create_supplier_warehouses",
        workflows: PARTNERSHIP,
    },
    Builtin {
        name: "notify_partnership_approved",
        workflows: PARTNERSHIP,
    },
    Builtin {
        name: "notify_partnership_rejected",
        workflows: PARTNERSHIP,
    },
    Builtin {
        name: "notify_partnership_terminated",
        workflows: PARTNERSHIP,
    },
    Builtin {
        name: "clear_partnership_stock",
        workflows: PARTNERSHIP,
    },
    Builtin {
        name: "expire_partnership_products",
        workflows: PARTNERSHIP,
    },
    Builtin {
        name: "clear_sku_stock",
        workflows: PRODUCT,
    },
    Builtin {
        name: "lock_stock",
        workflows: ORDER,
    },
    Builtin {
        name: "release_stock",
        workflows: ORDER,
    },
    Builtin {
        name: "consume_stock",
        workflows: ORDER,
    },
    Builtin {
        name: "charge_fees",
        workflows: ORDER,
    },
    Builtin {
        name: "refund_charges",
        workflows: ORDER,
    },
    Builtin {
        name: "enqueue_delivery",
        workflows: ORDER,
    },
    Builtin {
        name: "create_split_orders",
        workflows: ORDER,
    },
];

/// The workflows a built-in of `list` called `name` applies to; `None` when it is not built in.
pub fn applies_to(list: &[Builtin], name: &str) -> Option<&'static [&'static str]> {
    list.iter().find(|b| b.name == name).map(|b| b.workflows)
}

/// What the engine needs of `workflow`, when it drives it.
pub fn needs(workflow: &str) -> Option<&'static Needs> {
    NEEDS.iter().find(|n| n.workflow == workflow)
}

/// The event of a pack migration's history entries (`migrate:` in a workflow file).
pub const MIGRATE_EVENT: &str = "migrate";
