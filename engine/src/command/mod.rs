//! The host protocol's vocabulary (docs/protocol.md): the request envelope, the typed [`Command`]
//! enum whose serde form *is* the protocol's `{"cmd", "args"}`, and the answer line.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use strum::VariantArray;

use crate::error::{Code, Error};

mod args;
pub use args::*;

/// The longest request line `exec` accepts, in bytes: a bound on what one command may carry.
pub const REQUEST_BYTES_MAX: usize = 16 * 1024 * 1024;
/// The longest id, account, user, SKU or other name accepted.
pub const NAME_CHARS_MAX: usize = 200;
/// The longest free text (notes, reasons) accepted.
pub const TEXT_CHARS_MAX: usize = 4_000;

/// One request: who acts, when, under which idempotency key, and the command.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The host's request id, echoed in the answer.
    pub id: Value,
    /// The acting account, or `system` for setup commands.
    pub actor: String,
    /// The acting user of that account; `None` is the main account.
    pub user: Option<String>,
    /// Logical time (RFC 3339); `None` is now.
    pub at: Option<String>,
    /// Idempotency key: a repeat returns the first answer and changes nothing.
    pub key: Option<String>,
    /// What to do.
    pub command: Command,
    /// With a key: the canonical JSON of `cmd`, `args` and `user`, compared when the key is
    /// repeated. Not worked out without one (an import's payload can be megabytes).
    pub fingerprint: Option<String>,
}

/// The raw envelope as it arrives on the wire.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEnvelope {
    #[serde(default)]
    id: Value,
    #[serde(rename = "as")]
    actor: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    at: Option<String>,
    #[serde(default)]
    key: Option<String>,
    cmd: String,
    #[serde(default)]
    args: Option<Value>,
}

impl Envelope {
    /// The idempotency key and the request's fingerprint, when the request has a key.
    pub fn keyed(&self) -> Option<(&str, &str)> {
        Some((self.key.as_deref()?, self.fingerprint.as_deref()?))
    }

    /// Parses one request line. The error carries the request id when one could be read, so the
    /// answer to a malformed line still names it.
    pub fn parse(line: &str) -> Result<Envelope, (Value, Error)> {
        if line.len() > REQUEST_BYTES_MAX {
            return Err((
                Value::Null,
                Error::bad_request(format!(
                    "a request line is at most {REQUEST_BYTES_MAX} bytes"
                )),
            ));
        }
        let value: Value = serde_json::from_str(line).map_err(|e| {
            (
                Value::Null,
                Error::bad_request(format!("not a JSON object: {e}")),
            )
        })?;
        let id = value.get("id").cloned().unwrap_or(Value::Null);
        Envelope::from_value(value).map_err(|e| (id, e))
    }

    /// Builds an envelope from a parsed JSON request.
    pub fn from_value(value: Value) -> Result<Envelope, Error> {
        // serde's derive also reads a struct from a list of its fields' values: a request is
        // an object, never a list whose values land on whichever fields they happen to.
        if !value.is_object() {
            return Err(Error::bad_request("a request is a JSON object"));
        }
        let wire: WireEnvelope = serde_json::from_value(value)
            .map_err(|e| Error::bad_request(format!("malformed request: {e}")))?;
        let args = match wire.args {
            None | Some(Value::Null) => Value::Object(Default::default()),
            Some(args) => args,
        };
        let fingerprint = wire
            .key
            .as_ref()
            .map(|_| json!({"cmd": wire.cmd, "args": args, "user": wire.user}).to_string());
        let command = Command::parse(&wire.cmd, args)?;
        for (field, text) in [
            ("as", Some(&wire.actor)),
            ("user", wire.user.as_ref()),
            ("key", wire.key.as_ref()),
        ] {
            if let Some(text) = text {
                check_name(field, text)?;
            }
        }
        Ok(Envelope {
            id: wire.id,
            actor: wire.actor,
            user: wire.user,
            at: wire.at,
            key: wire.key,
            command,
            fingerprint,
        })
    }
}

/// Refuses an empty or overlong name.
pub fn check_name(field: &str, text: &str) -> Result<(), Error> {
    if text.is_empty()
        || text.chars().count() > NAME_CHARS_MAX
        || text.chars().any(char::is_control)
    {
        return Err(Error::bad_request(format!(
            "`{field}` must be 1..={NAME_CHARS_MAX} printable characters"
        )));
    }
    Ok(())
}

/// Refuses overlong free text.
pub fn check_text(field: &str, text: &str) -> Result<(), Error> {
    if text.chars().count() > TEXT_CHARS_MAX {
        return Err(Error::bad_request(format!(
            "`{field}` is longer than {TEXT_CHARS_MAX} characters"
        )));
    }
    Ok(())
}

/// Every command name of the protocol (`cmd`), in the order of [`Command`]'s variants: what a
/// host or a test iterates to cover them all. Derived from the enum ([`CommandName`]).
pub fn names() -> impl Iterator<Item = &'static str> {
    CommandName::VARIANTS.iter().map(|name| name.as_str())
}

impl CommandName {
    /// The protocol name, as in `cmd`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether the `system` actor may send it: the setup commands, `plugins`, since who sets
    /// the engine up must see which adapters it loaded (it reads no account's data), and the
    /// access commands (`system` manages every account's tokens).
    pub fn open_to_system(self) -> bool {
        matches!(self.side(), Side::System | Side::Access)
            || matches!(self, CommandName::Plugins | CommandName::RulesVersion)
    }

    /// Whether a successful answer holds a secret the store does not keep (`create_token`'s
    /// token): such a command takes no idempotency key, since a replay could not answer it.
    pub fn answers_secret(self) -> bool {
        self == CommandName::CreateToken
    }

    /// The permission sets any one of which lets a sub-user send the command (a main user holds
    /// them all): the set of its side, and for each query the set of the side whose data it
    /// reads, or either where both sides read it and each sees its own rows
    /// (docs/protocol.md#permission-sets-of-the-queries). Setup commands need none: only `system`
    /// sends them. A query missing below is sent by nobody until it is placed.
    pub fn permission_sets(self) -> &'static [&'static str] {
        const SUPPLIER: &[&str] = &["supplier"];
        const DISTRIBUTOR: &[&str] = &["distributor"];
        const EITHER: &[&str] = &["supplier", "distributor"];
        use CommandName::*;
        match self {
            Distributors => SUPPLIER,
            Suppliers | Notifications | Shops => DISTRIBUTOR,
            Products | PriceHistory | Stock | Movements | Orders | Order | Balances
            | Transactions | Plugins | RulesVersion | Explain => EITHER,
            _ => match self.side() {
                Side::Supplier => SUPPLIER,
                Side::Distributor => DISTRIBUTOR,
                Side::System | Side::Query | Side::Access => &[],
            },
        }
    }

    /// The side the command belongs to.
    pub fn side(self) -> Side {
        use CommandName::*;
        match self {
            CreateAccount | CreateUser | SetLiveRate | ReloadRules => Side::System,
            CreateWarehouse | CreateInvitation | RevokeInvitation | ReviewPartnership
            | EndPartnership | AddBalance | DeductBalance | SetCredit | PublishProduct
            | SetPrice | SetDistribution | AssignWarehouses | PushStock | SetFees | ShipOrder
            | ConfirmPickup | ReviewWithdrawal | AfterSaleRefund => Side::Supplier,
            BindSupplier | SetSupplierNote | SetFixedRate | Subscribe | CreateSku | Claim
            | RemoveExpired | StopDistribution | MapStoreSku | AddSupplierWarehouse
            | WarehouseAction | ExportClaimed | ImportClaimed | ImportOrders | Pack
            | SplitOrder | Push | Refresh | Withdraw | MarkShipped | SetPrintSettings | Fire
            | ConnectShop | SyncOrders | SyncStock => Side::Distributor,
            Suppliers | Balances | Transactions | Notifications | Products | PriceHistory
            | Stock | Movements | Orders | Order | Plugins | Shops | Distributors
            | RulesVersion | Explain => Side::Query,
            CreateToken | RevokeToken | Tokens => Side::Access,
        }
    }
}

/// Every command of the host protocol this engine implements, with its arguments. The serde form
/// is the protocol's: `{"cmd": "add_balance", "args": {"distributor": "d1", "amount": "10"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, strum::EnumDiscriminants)]
#[serde(tag = "cmd", content = "args", rename_all = "snake_case")]
#[strum_discriminants(
    name(CommandName),
    doc = "The name of a command, without its arguments.",
    derive(
        Hash,
        PartialOrd,
        Ord,
        strum::IntoStaticStr,
        strum::EnumString,
        strum::VariantArray
    ),
    strum(serialize_all = "snake_case")
)]
#[non_exhaustive]
pub enum Command {
    // --- system
    CreateAccount(CreateAccount),
    CreateUser(CreateUser),
    SetLiveRate(SetRate),
    // --- supplier
    CreateWarehouse(CreateWarehouse),
    CreateInvitation(CreateInvitation),
    RevokeInvitation(LinkArgs),
    ReviewPartnership(ReviewPartnership),
    EndPartnership(DistributorArgs),
    AddBalance(BalanceChange),
    DeductBalance(BalanceChange),
    SetCredit(SetCredit),
    PublishProduct(PublishProduct),
    SetPrice(SetPrice),
    SetDistribution(SetDistribution),
    AssignWarehouses(AssignWarehouses),
    PushStock(PushStock),
    SetFees(SetFees),
    ShipOrder(ShipOrder),
    ConfirmPickup(SupplierOrder),
    ReviewWithdrawal(ReviewWithdrawal),
    AfterSaleRefund(AfterSaleRefund),
    // --- distributor
    BindSupplier(BindSupplier),
    SetSupplierNote(SupplierNote),
    SetFixedRate(SetRate),
    Subscribe(Subscribe),
    CreateSku(CreateSku),
    Claim(ClaimArgs),
    RemoveExpired(SkuArgs),
    StopDistribution(SkuArgs),
    MapStoreSku(MapStoreSku),
    AddSupplierWarehouse(AddSupplierWarehouse),
    WarehouseAction(WarehouseAction),
    ExportClaimed(NoArgs),
    ImportClaimed(ImportClaimed),
    ImportOrders(ImportOrders),
    Pack(Pack),
    SplitOrder(SplitOrder),
    Push(OrderArgs),
    Refresh(OrderArgs),
    Withdraw(OrderArgs),
    MarkShipped(OrderArgs),
    SetPrintSettings(PrintSettings),
    Fire(Fire),
    ConnectShop(ConnectShop),
    SyncOrders(SyncOrders),
    SyncStock(ShopArgs),
    // --- queries
    Suppliers(NoArgs),
    Balances(NoArgs),
    Transactions(TransactionsQuery),
    Notifications(NoArgs),
    Products(ProductsQuery),
    PriceHistory(SkuArgs),
    Stock(SkuArgs),
    Movements(SkuArgs),
    Orders(OrdersQuery),
    Order(OrderQuery),
    Plugins(NoArgs),
    Shops(NoArgs),
    Distributors(DistributorsQuery),
    // --- the rule lifecycle
    ReloadRules(NoArgs),
    RulesVersion(NoArgs),
    Explain(Explain),
    // --- access (the HTTP server's tokens)
    CreateToken(CreateToken),
    RevokeToken(RevokeToken),
    Tokens(TokensQuery),
}

/// Which side of the business a command belongs to; authorisation starts from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Setup commands, only for the `system` actor.
    System,
    /// Supplier commands: plan V2+, inventory, the `supplier` permission set.
    Supplier,
    /// Distributor commands: inventory, the `distributor` permission set.
    Distributor,
    /// Queries: the permission set of the side whose data they read, or either
    /// ([`CommandName::permission_sets`]); they answer what the user's sets may see.
    Query,
    /// API tokens: `system`, or an account's main user for its own account.
    Access,
}

impl Command {
    /// Parses `cmd` and `args`; an unknown `cmd` is `unknown_command`, bad `args` `bad_request`.
    pub fn parse(cmd: &str, args: Value) -> Result<Command, Error> {
        // serde's derive also reads a struct from a list of its field values in declaration
        // order; the protocol's `args` is an object, and a list must not run a command with its
        // values assigned to whichever fields they happen to land on.
        if cmd.parse::<CommandName>().is_err() {
            return Err(
                Error::new(Code::UnknownCommand, format!("unknown command {cmd:?}"))
                    .with("cmd", cmd),
            );
        }
        if !args.is_object() {
            return Err(Error::bad_request(format!(
                "`args` of `{cmd}` must be an object"
            )));
        }
        serde_json::from_value(json!({"cmd": cmd, "args": args}))
            .map_err(|e| Error::bad_request(format!("bad arguments for `{cmd}`: {e}")))
    }

    /// The side the command belongs to.
    pub fn side(&self) -> Side {
        CommandName::from(self).side()
    }

    /// The protocol name, as in `cmd`.
    pub fn name(&self) -> &'static str {
        CommandName::from(self).as_str()
    }
}

/// The answer line to one request.
pub fn answer(id: &Value, result: &Result<Value, Error>) -> Value {
    match result {
        Ok(result) => json!({"id": id, "ok": true, "result": result}),
        Err(error) => json!({"id": id, "ok": false, "error": error.to_json()}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The variant names as serde's derive knows them: its error for an unknown `cmd` lists
    /// every variant, so the strum-derived names must spell them as serde does.
    fn serde_names() -> Vec<String> {
        let error = serde_json::from_value::<Command>(json!({"cmd": "-", "args": {}}))
            .expect_err("`-` is no command");
        let text = error.to_string();
        let list = text
            .split_once("expected one of ")
            .map(|(_, list)| list)
            .unwrap_or_else(|| panic!("serde's message changed shape: {text}"));
        list.split(", ")
            .map(|name| name.trim().trim_matches('`').to_owned())
            .collect()
    }

    #[test]
    fn names_are_every_variant_in_order() {
        assert_eq!(serde_names(), names().collect::<Vec<_>>());
    }

    #[test]
    fn args_that_are_no_object_are_refused() {
        for (cmd, args) in [
            ("create_warehouse", json!(["W9", "Nine", "Nowhere"])),
            ("end_partnership", json!(["dis"])),
            ("suppliers", json!([])),
            ("set_fees", json!("2.00")),
            (
                "push_stock",
                json!({"warehouse": "KL", "items": [["MUG", 5]]}),
            ),
        ] {
            let error = Command::parse(cmd, args).expect_err(cmd);
            assert_eq!(error.code(), Code::BadRequest, "{cmd}: {error}");
        }
        let error = Command::parse("nope", json!([])).expect_err("nope");
        assert_eq!(error.code(), Code::UnknownCommand);
        let positional = json!(["r1", "system", null, null, null, "suppliers", {}]);
        let error = Envelope::from_value(positional).expect_err("a list is no request");
        assert_eq!(error.code(), Code::BadRequest);
    }

    #[test]
    fn every_name_parses_as_a_command() {
        for name in names() {
            match Command::parse(name, json!({})) {
                Ok(command) => assert_eq!(command.name(), name),
                Err(error) => assert_eq!(error.code(), Code::BadRequest, "{name}: {error}"),
            }
        }
    }
}
