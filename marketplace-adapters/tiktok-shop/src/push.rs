//! TikTok Shop's push notifications (docs/marketplaces.md, "Push notifications"; *unverified*:
//! the scheme public SDKs use, kept in [`SIGNATURE_HEADER`] and [`parse_push`]): the
//! `Authorization` header is the lowercase hex HMAC-SHA256, under the app secret, of the app key
//! followed by the raw body. Every notification carries its own id, `tts_notification_id`; an
//! order status change (`type` 1) or a cancellation (`type` 11) names one order in
//! `data.order_id`.

use distributary_plugin::push::{credential, header, hmac_sha256_hex_matches};
use distributary_plugin::{AdapterError, PushNotice, PushRequest, PushVerdict};
use serde_json::Value;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "authorization";
/// The notification types that name an order: status change and cancellation.
pub const ORDER_TYPES: [i64; 2] = [1, 11];

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
        .get("type")
        .and_then(Value::as_i64)
        .ok_or_else(|| AdapterError::invalid_input("the push has no numeric `type`"))?;
    let id = match body.get("tts_notification_id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        _ => {
            return Err(AdapterError::invalid_input(
                "the push has no `tts_notification_id`",
            ))
        }
    };
    let order_ids = if ORDER_TYPES.contains(&kind) {
        match body.get("data").and_then(|data| data.get("order_id")) {
            Some(Value::String(order)) if !order.is_empty() => vec![order.clone()],
            Some(Value::Number(order)) => vec![order.to_string()],
            _ => {
                return Err(AdapterError::invalid_input(format!(
                    "a push of type {kind} needs `data.order_id`"
                )))
            }
        }
    } else {
        Vec::new()
    };
    Ok(PushVerdict::Notice(PushNotice {
        key: id,
        kind: format!("type_{kind}"),
        order_ids,
    }))
}
