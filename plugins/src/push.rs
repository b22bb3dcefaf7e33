//! Helpers the adapters share for reading push notifications: a header by name, an
//! HMAC-SHA256 signature checked in constant time, and a digest of a body for a notice that
//! carries no id of its own.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::adapter::AdapterError;

/// The value of header `name` (compared without case; the host passes names in lowercase).
pub fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim())
}

/// Whether `signature_hex` (either case) is the HMAC-SHA256 of the concatenated `parts` under
/// `key`. The comparison is constant-time (`Mac::verify_slice`), so a caller learns nothing of
/// the expected signature from how long a refusal takes; text that is not hex never matches.
pub fn hmac_sha256_hex_matches(key: &[u8], parts: &[&[u8]], signature_hex: &str) -> bool {
    let Ok(signature) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return false;
    };
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(&signature).is_ok()
}

/// The lowercase hex SHA-256 of `body`: the key of a notice that names no id of its own, so a
/// repeat of the same bytes is the same notice.
pub fn body_digest(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

/// A credential's text field, or `invalid_input` naming it.
pub fn credential<'c>(
    credentials: &'c serde_json::Value,
    name: &str,
) -> Result<&'c str, AdapterError> {
    credentials
        .get(name)
        .and_then(serde_json::Value::as_str)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            AdapterError::invalid_input(format!("credentials: `{name}` is missing or not text"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_matches_only_its_own_key_and_message() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), a published vector.
        let good = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";
        let message: &[&[u8]] = &[b"The quick brown fox ", b"jumps over the lazy dog"];
        assert!(hmac_sha256_hex_matches(b"key", message, good));
        assert!(hmac_sha256_hex_matches(
            b"key",
            message,
            &good.to_uppercase()
        ));
        assert!(!hmac_sha256_hex_matches(b"kez", message, good));
        assert!(!hmac_sha256_hex_matches(b"key", &[b"The quick"], good));
        assert!(!hmac_sha256_hex_matches(b"key", message, &good[..62]));
        assert!(!hmac_sha256_hex_matches(b"key", message, "not hex"));
        assert!(!hmac_sha256_hex_matches(b"key", message, ""));
    }

    #[test]
    fn headers_are_found_without_case() {
        let headers = vec![("authorization".to_owned(), " abc ".to_owned())];
        assert_eq!(header(&headers, "Authorization"), Some("abc"));
        assert_eq!(header(&headers, "x-other"), None);
    }
}
