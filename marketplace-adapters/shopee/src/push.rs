//! Shopee's push notifications (docs/marketplaces.md, "Push notifications"): the `Authorization`
//! header is the lowercase hex HMAC-SHA256, under the partner key, of the callback URL, `|` and
//! the raw body. An order status push (`code` 3) names one order in `data.ordersn`.

use distributary_plugin::push::{body_digest, credential, header, hmac_sha256_hex_matches};
use distributary_plugin::{AdapterError, PushNotice, PushRequest, PushVerdict};
use serde_json::Value;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "authorization";
/// The `code` of an order status push.
pub const CODE_ORDER_STATUS: i64 = 3;

/// Verifies and reads a push (see the module doc).
pub fn parse_push(push: &PushRequest) -> Result<PushVerdict, AdapterError> {
    let key = credential(&push.credentials, "partner_key")?;
    let Some(signature) = header(&push.headers, SIGNATURE_HEADER) else {
        return Ok(PushVerdict::Unauthenticated {
            reason: "no `Authorization` header".to_owned(),
        });
    };
    let message: [&[u8]; 3] = [push.url.as_bytes(), b"|", push.body.as_bytes()];
    if !hmac_sha256_hex_matches(key.as_bytes(), &message, signature) {
        return Ok(PushVerdict::Unauthenticated {
            reason: "the signature does not match the callback URL and body".to_owned(),
        });
    }
    let body: Value = serde_json::from_str(&push.body)
        .map_err(|e| AdapterError::invalid_input(format!("the push is not JSON: {e}")))?;
    let code = body
        .get("code")
        .and_then(Value::as_i64)
        .ok_or_else(|| AdapterError::invalid_input("the push has no numeric `code`"))?;
    check_shop(&push.credentials, &body)?;
    if code != CODE_ORDER_STATUS {
        return Ok(PushVerdict::Notice(PushNotice {
            key: format!("code_{code}:{}", body_digest(&push.body)),
            kind: format!("code_{code}"),
            order_ids: Vec::new(),
        }));
    }
    let data = body.get("data").unwrap_or(&Value::Null);
    let text = |name: &str| -> Result<String, AdapterError> {
        match data.get(name) {
            Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
            Some(Value::Number(number)) => Ok(number.to_string()),
            _ => Err(AdapterError::invalid_input(format!(
                "an order status push needs `data.{name}`"
            ))),
        }
    };
    let ordersn = text("ordersn")?;
    Ok(PushVerdict::Notice(PushNotice {
        key: format!(
            "order_status:{ordersn}:{}:{}",
            text("status")?,
            text("update_time")?
        ),
        kind: "order_status".to_owned(),
        order_ids: vec![ordersn],
    }))
}

/// A push for another shop of the same partner (one partner key signs them all) is refused:
/// its orders cannot be fetched with this shop's credentials.
fn check_shop(credentials: &Value, body: &Value) -> Result<(), AdapterError> {
    let as_text = |value: Option<&Value>| match value {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    match (
        as_text(credentials.get("shop_id")),
        as_text(body.get("shop_id")),
    ) {
        (Some(ours), Some(theirs)) if ours != theirs => Err(AdapterError::invalid_input(format!(
            "the push is for shop_id {theirs}, not this shop's ({ours})"
        ))),
        _ => Ok(()),
    }
}
