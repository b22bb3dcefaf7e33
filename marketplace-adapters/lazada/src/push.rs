//! Lazada's push notifications (docs/marketplaces.md, "Push notifications"): the `Authorization`
//! header is the lowercase hex HMAC-SHA256, under the app secret, of the app key followed by the
//! raw body. A trade order message (`message_type` 0) names one order in `data.trade_order_id`;
//! Lazada pushes one per order line, so the key leaves the line out and the lines of one change
//! are one notice.

use distributary_plugin::push::{body_digest, credential, header, hmac_sha256_hex_matches};
use distributary_plugin::{AdapterError, PushNotice, PushRequest, PushVerdict};
use serde_json::Value;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "authorization";
/// The `message_type` of a trade order message.
pub const MESSAGE_TYPE_TRADE_ORDER: i64 = 0;

/// Verifies and reads a push (see the module doc).
pub fn parse_push(push: &PushRequest) -> Result<PushVerdict, AdapterError> {
    let app_key = credential(&push.credentials, "app_key")?;
    let secret = credential(&push.credentials, "app_secret")?;
    let Some(signature) = header(&push.headers, SIGNATURE_HEADER) else {
        return Ok(PushVerdict::Unauthenticated {
            reason: "no `Authorization` header".to_owned(),
        });
    };
    let message: [&[u8]; 2] = [app_key.as_bytes(), push.body.as_bytes()];
    if !hmac_sha256_hex_matches(secret.as_bytes(), &message, signature) {
        return Ok(PushVerdict::Unauthenticated {
            reason: "the signature does not match the app key and body".to_owned(),
        });
    }
    let body: Value = serde_json::from_str(&push.body)
        .map_err(|e| AdapterError::invalid_input(format!("the push is not JSON: {e}")))?;
    let kind = body
        .get("message_type")
        .and_then(Value::as_i64)
        .ok_or_else(|| AdapterError::invalid_input("the push has no numeric `message_type`"))?;
    if kind != MESSAGE_TYPE_TRADE_ORDER {
        return Ok(PushVerdict::Notice(PushNotice {
            key: format!("message_type_{kind}:{}", body_digest(&push.body)),
            kind: format!("message_type_{kind}"),
            order_ids: Vec::new(),
        }));
    }
    let data = body.get("data").unwrap_or(&Value::Null);
    let text = |name: &str| -> Result<String, AdapterError> {
        match data.get(name) {
            Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
            Some(Value::Number(number)) => Ok(number.to_string()),
            _ => Err(AdapterError::invalid_input(format!(
                "a trade order message needs `data.{name}`"
            ))),
        }
    };
    let order_id = text("trade_order_id")?;
    Ok(PushVerdict::Notice(PushNotice {
        key: format!(
            "trade_order:{order_id}:{}:{}",
            text("order_status")?,
            text("status_update_time")?
        ),
        kind: "trade_order".to_owned(),
        order_ids: vec![order_id],
    }))
}
