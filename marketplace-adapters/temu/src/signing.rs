//! Temu Partner API request signing and the signed JSON body (docs/marketplaces.md, "Temu Partner
//! API"): every parameter but `sign`, sorted by name, concatenated `name + value` (nested objects
//! and arrays as compact JSON), wrapped in the app secret; MD5, uppercase hex.
//!
//! Parameters are kept as `(name, JSON text)` pairs: the same text is signed and sent, so the
//! nested JSON the marketplace hashes is byte for byte the JSON it receives, whatever key order
//! a serializer would choose.

use md5::{Digest, Md5};
use serde_json::Value;

/// The string a parameter contributes to the signature: its compact JSON text with the
/// surrounding quotes trimmed, as Temu's official example does (`json.dumps(v,
/// separators=(',', ':')).strip('"')`): a string gives its characters, a number its digits, an
/// object or array its compact JSON.
pub fn signed_value(json_text: &str) -> &str {
    json_text.trim_matches('"')
}

/// The signature of `params` (name and compact JSON text of each, `sign` excluded): uppercase
/// hex MD5 of `app_secret + name1 + value1 + name2 + value2 ... + app_secret`, names in ASCII
/// order.
pub fn sign(app_secret: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> =
        params.iter().filter(|(name, _)| name != "sign").collect();
    sorted.sort_by(|(left, _), (right, _)| left.as_bytes().cmp(right.as_bytes()));
    let mut md5 = Md5::new();
    md5.update(app_secret.as_bytes());
    for (name, json_text) in sorted {
        md5.update(name.as_bytes());
        md5.update(signed_value(json_text).as_bytes());
    }
    md5.update(app_secret.as_bytes());
    hex::encode_upper(md5.finalize())
}

/// The request body: a JSON object of `params` in their order, then `sign`.
pub fn signed_body(app_secret: &str, params: &[(String, String)]) -> String {
    let signature = sign(app_secret, params);
    let mut body = String::from("{");
    for (name, json_text) in params.iter().filter(|(name, _)| name != "sign") {
        body.push_str(&Value::String(name.clone()).to_string());
        body.push(':');
        body.push_str(json_text);
        body.push(',');
    }
    body.push_str("\"sign\":");
    body.push_str(&Value::String(signature).to_string());
    body.push('}');
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parameters of Temu's official signature example, values as compact JSON text.
    fn doc_params() -> Vec<(String, String)> {
        [
            ("access_token", "\"2nifvmpyymvypwmcms5ct4uqqudrwgpmzbcnmkt1jzjkuaf3x56iixym\""),
            ("app_key", "\"f9d5cc9313893a20d5aa85c654e8f503\""),
            ("data_type", "\"JSON\""),
            ("sendType", "0"),
            ("timestamp", "1711009072"),
            ("type", "\"bg.logistics.shipment.confirm\""),
            (
                "sendRequestList",
                r#"[{"orderSendInfoList":[{"quantity":1,"orderSn":"211-21905473070712792","parentOrderSn":"PO-211-21905452099192792","goodsId":601099548666279,"skuId":17592352673534}],"carrierId":"699272611","trackingNumber":"270324232756"}]"#,
            ),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
    }

    const DOC_SECRET: &str = "c7e0a1a63542be4de3cb5488f9fba8149e8fc290";
    const DOC_SIGNATURE: &str = "4CCF219942D4180C6DDA3CE36C1B838F";

    #[test]
    fn official_vector_signs_to_the_documented_signature() {
        assert_eq!(sign(DOC_SECRET, &doc_params()), DOC_SIGNATURE);
    }

    #[test]
    fn parameter_order_and_a_present_sign_do_not_change_the_signature() {
        let mut params = doc_params();
        params.reverse();
        params.push(("sign".to_owned(), "\"stale\"".to_owned()));
        assert_eq!(sign(DOC_SECRET, &params), DOC_SIGNATURE);
    }

    #[test]
    fn another_secret_or_value_changes_the_signature() {
        assert_ne!(sign("other", &doc_params()), DOC_SIGNATURE);
        let mut params = doc_params();
        params[3].1 = "1".to_owned();
        assert_ne!(sign(DOC_SECRET, &params), DOC_SIGNATURE);
    }

    #[test]
    fn signed_body_carries_the_signed_text_and_the_signature() {
        let body = signed_body(DOC_SECRET, &doc_params());
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["sign"], DOC_SIGNATURE);
        assert_eq!(value["sendType"], 0);
        assert_eq!(value["timestamp"], 1_711_009_072);
        assert!(body.contains(&doc_params()[6].1), "{body}");
    }
}
