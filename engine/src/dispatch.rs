//! The command table: each command of the protocol with its handler, written once. The dispatch,
//! the argument schemas and the answer schemas (the answer type read off the handler's
//! signature) are all derived from it, so none of them can drift from the others.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use serde_json::Value;

use crate::{
    access, accounts, catalog,
    command::{Command, CommandName},
    engine::Prepared,
    error::{Code, Error},
    flow::Ctx,
    inventory, ledger, lifecycle, notify, orders, partnership, shops,
};

/// One command's schemas: the name, the arguments and the answer's `result`.
pub struct CommandSchema {
    /// The command.
    pub name: CommandName,
    /// The schema of its `args`.
    pub args: Schema,
    /// The schema of the `result` of its successful answer.
    pub result: Schema,
}

/// Where the schemas are generated: arguments as they are read (an `Option` may be left out),
/// answers as they are written (every key is sent, an `Option` as `null`).
pub struct Generators {
    /// The arguments' generator (deserialising).
    pub requests: SchemaGenerator,
    /// The answers' generator (serialising).
    pub answers: SchemaGenerator,
}

/// Turns a handler of `(ctx, args)` into one that also takes what the command prepared.
fn plain<Args, A>(
    handler: fn(&Ctx<'_, '_>, &Args) -> Result<A, Error>,
) -> impl Fn(&Ctx<'_, '_>, &Args, Option<&Prepared>) -> Result<A, Error> {
    move |ctx, args, _| handler(ctx, args)
}

/// Runs a handler and writes its typed answer as the protocol's JSON.
fn reply<Args, A: Serialize>(
    ctx: &Ctx<'_, '_>,
    args: &Args,
    prepared: Option<&Prepared>,
    handler: impl Fn(&Ctx<'_, '_>, &Args, Option<&Prepared>) -> Result<A, Error>,
) -> Result<Value, Error> {
    let answer = handler(ctx, args, prepared)?;
    serde_json::to_value(answer)
        .map_err(|e| Error::new(Code::Internal, format!("answer does not serialise: {e}")))
}

/// The schemas of a command whose variant is `variant` and whose handler is `handler`; neither
/// is called: their types say it all.
fn schemas<Args: JsonSchema, A: JsonSchema>(
    name: CommandName,
    _variant: fn(Args) -> Command,
    _handler: impl Fn(&Ctx<'_, '_>, &Args, Option<&Prepared>) -> Result<A, Error>,
    generators: &mut Generators,
) -> CommandSchema {
    CommandSchema {
        name,
        args: generators.requests.subschema_for::<Args>(),
        result: generators.answers.subschema_for::<A>(),
    }
}

macro_rules! commands {
    ($($variant:ident => $handler:expr,)*) => {
        /// Runs a command's handler with what it prepared before the store was locked.
        pub(crate) fn dispatch(
            ctx: &Ctx<'_, '_>,
            command: &Command,
            prepared: Option<&Prepared>,
        ) -> Result<Value, Error> {
            match command {
                $(Command::$variant(args) => reply(ctx, args, prepared, $handler),)*
            }
        }

        /// Every command's argument and answer schemas, in the order of [`Command`].
        pub fn command_schemas(generators: &mut Generators) -> Vec<CommandSchema> {
            vec![$(schemas(CommandName::$variant, Command::$variant, $handler, generators),)*]
        }
    };
}

commands! {
    CreateAccount => plain(accounts::create_account),
    CreateUser => plain(accounts::create_user),
    SetLiveRate => |ctx, args, _| ledger::set_rate(ctx, "", args),
    CreateWarehouse => plain(partnership::create_warehouse),
    CreateInvitation => plain(partnership::create_invitation),
    RevokeInvitation => plain(partnership::revoke_invitation),
    ReviewPartnership => plain(partnership::review),
    EndPartnership => plain(partnership::end),
    AddBalance => plain(ledger::add_balance),
    DeductBalance => plain(ledger::deduct_balance),
    SetCredit => plain(ledger::set_credit),
    PublishProduct => plain(catalog::publish_product),
    SetPrice => plain(catalog::set_price),
    SetDistribution => plain(catalog::set_distribution),
    AssignWarehouses => plain(inventory::assign_warehouses),
    PushStock => plain(inventory::push_stock),
    SetFees => plain(orders::set_fees),
    ShipOrder => plain(orders::ship_order),
    ConfirmPickup => plain(orders::confirm_pickup),
    ReviewWithdrawal => plain(orders::review_withdrawal),
    AfterSaleRefund => plain(orders::after_sale_refund),
    BindSupplier => plain(partnership::bind_supplier),
    SetSupplierNote => plain(partnership::set_note),
    SetFixedRate => |ctx, args, _| ledger::set_rate(ctx, ctx.actor.account(), args),
    Subscribe => plain(notify::subscribe),
    CreateSku => plain(catalog::create_sku),
    Claim => plain(catalog::claim),
    RemoveExpired => plain(catalog::remove_expired),
    StopDistribution => plain(catalog::stop_distribution),
    MapStoreSku => plain(catalog::map_store_sku),
    AddSupplierWarehouse => plain(inventory::add_supplier_warehouse),
    WarehouseAction => plain(inventory::warehouse_action),
    ExportClaimed => plain(catalog::export_claimed),
    ImportClaimed => plain(catalog::import_claimed),
    ImportOrders => |ctx, args, prepared| {
        orders::import_orders(ctx, args, prepared.and_then(Prepared::take_parsed))
    },
    Pack => plain(orders::pack),
    SplitOrder => plain(orders::split_order),
    Push => plain(orders::push),
    Refresh => plain(orders::refresh),
    Withdraw => plain(orders::withdraw),
    MarkShipped => plain(orders::mark_shipped),
    SetPrintSettings => plain(orders::set_print_settings),
    Fire => plain(orders::fire_event),
    ConnectShop => plain(shops::connect_shop),
    SyncOrders => |ctx, args, prepared| {
        shops::sync_orders(ctx, args, prepared.and_then(Prepared::fetched))
    },
    SyncStock => |ctx, args, prepared| {
        shops::sync_stock(ctx, args, prepared.and_then(Prepared::fetched))
    },
    Suppliers => plain(partnership::suppliers),
    Balances => plain(ledger::balances),
    Transactions => plain(ledger::transactions),
    Notifications => plain(notify::notifications),
    Products => plain(catalog::products),
    PriceHistory => plain(catalog::price_history),
    Stock => plain(inventory::stock),
    Movements => plain(inventory::movements),
    Orders => plain(orders::orders),
    Order => plain(orders::order),
    Plugins => plain(shops::plugins),
    Shops => plain(shops::shops),
    Distributors => plain(partnership::distributors),
    ReloadRules => lifecycle::reload_rules,
    RulesVersion => plain(lifecycle::rules_version),
    Explain => plain(lifecycle::explain),
    CreateToken => plain(access::create_token),
    RevokeToken => plain(access::revoke_token),
    Tokens => plain(access::tokens),
}
