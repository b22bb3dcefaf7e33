//! The engine's errors: one enum whose every variant has a stable protocol code (docs/protocol.md).

use serde_json::{json, Map, Value};

/// An error a command can end with. Every variant maps to one stable code of the host protocol;
/// `details` carries the ids and amounts involved so a host can act on them without parsing text.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
#[error("{message}")]
pub struct Error {
    code: Code,
    message: String,
    details: Map<String, Value>,
}

/// The stable error codes of the host protocol, plus `internal` for failures of the machine (a
/// full disk, a corrupt store) that no input causes. The protocol spelling is the variant's name
/// in snake case, derived once (`as_str`, `parse`, serde and the protocol schema all read it).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[non_exhaustive]
pub enum Code {
    BadRequest,
    UnknownCommand,
    NotFound,
    PermissionDenied,
    PlanRequired,
    InventoryNotEnabled,
    InvalidInvitation,
    InvitationExpired,
    AlreadyPartnered,
    NotPartnered,
    CombinationSkuUnsupported,
    SubDistributionForbidden,
    ProductExpired,
    SkuNotMapped,
    InsufficientBalance,
    CreditLimitExceeded,
    InsufficientStock,
    MultiWarehouseOrder,
    SellerDeliveryUnsupported,
    InvalidTransition,
    VirtualWarehouse,
    DistributorCannotTopUp,
    WarehouseNotAssigned,
    NoExchangeRate,
    IdempotencyConflict,
    RuleError,
    PluginError,
    MarketplaceError,
    Internal,
    /// An order whose marketplace status is `unpaid` cannot be packed (wave 2).
    OrderUnpaid,
    /// A rule pack that does not compile, breaks the engine's contract, or leaves live entities
    /// in states it does not declare (issue 16).
    RulesInvalid,
    /// The server: no bearer token, or one that is unknown or revoked; a marketplace push whose
    /// signature is missing or does not verify.
    Unauthenticated,
}

impl Code {
    /// Every code, in declaration order, for tests and documentation.
    pub const ALL: &'static [Code] = <Code as strum::VariantArray>::VARIANTS;

    /// The code as the host protocol spells it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The code of a protocol spelling, for failures that rules report by name.
    pub fn parse(text: &str) -> Option<Code> {
        text.parse().ok()
    }
}

impl Error {
    /// An error with a code and a message for a person.
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            details: Map::new(),
        }
    }

    /// Adds a detail a host can act on (`sku`, `needed`, `available`, …).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Error {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// A failure no input causes (`internal`).
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(Code::Internal, message)
    }

    /// A malformed request.
    pub fn bad_request(message: impl Into<String>) -> Error {
        Error::new(Code::BadRequest, message)
    }

    /// A record that does not exist, or that the actor may not see: both answer the same, so
    /// probing reveals nothing.
    pub fn not_found(what: &str, id: &str) -> Error {
        Error::new(Code::NotFound, format!("{what} {id:?} not found")).with(what, id)
    }

    /// The stable code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The message for a person.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The protocol form: `{code, message, ...details}`.
    pub fn to_json(&self) -> Value {
        let mut object = self.details.clone();
        object.insert("code".to_owned(), json!(self.code.as_str()));
        object.insert("message".to_owned(), json!(self.message));
        Value::Object(object)
    }
}

impl Error {
    /// What a failpoint configured `return(code)` answers: that code, or `internal` (a failure
    /// of the machine, like a full disk) when `return` names none.
    #[cfg(feature = "failpoints")]
    pub(crate) fn failpoint(name: &str, code: Option<String>) -> Error {
        let code = code
            .as_deref()
            .and_then(Code::parse)
            .unwrap_or(Code::Internal);
        Error::new(code, format!("failpoint {name}"))
    }
}

impl Error {
    /// Rebuilds an error from its protocol form (a stored idempotent answer).
    pub fn from_json(value: &Value) -> Error {
        let code = value
            .get("code")
            .and_then(Value::as_str)
            .and_then(Code::parse)
            .unwrap_or(Code::Internal);
        let message = value
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut error = Error::new(code, message);
        if let Value::Object(map) = value {
            for (key, detail) in map {
                if key != "code" && key != "message" {
                    error.details.insert(key.clone(), detail.clone());
                }
            }
        }
        error
    }
}

impl From<crate::plugin_host::PluginCallError> for Error {
    fn from(err: crate::plugin_host::PluginCallError) -> Error {
        let code = Code::parse(err.code()).unwrap_or(Code::PluginError);
        Error::new(code, err.to_string())
    }
}

impl From<crate::rules::RuleError> for Error {
    fn from(err: crate::rules::RuleError) -> Error {
        let mut error =
            Error::new(Code::RuleError, err.to_string()).with("script", err.script.as_str());
        if let Some(line) = err.line {
            error = error.with("line", line);
        }
        if let Some(column) = err.column {
            error = error.with("column", column);
        }
        error
    }
}
