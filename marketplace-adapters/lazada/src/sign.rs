//! Lazada's request signature: HMAC-SHA256 keyed with the app secret, uppercase hex, over the API
//! path followed by every parameter but `sign`, sorted by name, as `name + value` (and the raw
//! body, when there is one).

use distributary_plugin::AdapterError;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The parameter that carries the signature, left out of what is signed.
pub const SIGN_PARAM: &str = "sign";

/// The string Lazada signs: `api_path`, then each parameter except [`SIGN_PARAM`] as
/// `name + value` sorted by name (byte order), then `body` when there is one.
pub fn sign_base(api_path: &str, params: &[(String, String)], body: Option<&str>) -> String {
    let mut sorted: Vec<&(String, String)> = params
        .iter()
        .filter(|(name, _)| name != SIGN_PARAM)
        .collect();
    sorted.sort_by(|left, right| left.0.as_bytes().cmp(right.0.as_bytes()));
    let mut base = String::from(api_path);
    for (name, value) in sorted {
        base.push_str(name);
        base.push_str(value);
    }
    if let Some(body) = body {
        base.push_str(body);
    }
    base
}

/// HMAC-SHA256 of `base` keyed with `app_secret`, as uppercase hex.
pub fn sign_string(app_secret: &str, base: &str) -> Result<String, AdapterError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())
        .map_err(|error| AdapterError::invalid_input(format!("app_secret: {error}")))?;
    mac.update(base.as_bytes());
    Ok(hex::encode_upper(mac.finalize().into_bytes()))
}

/// The `sign` parameter of a request to `api_path` with `params` (and `body`).
pub fn sign(
    app_secret: &str,
    api_path: &str,
    params: &[(String, String)],
    body: Option<&str>,
) -> Result<String, AdapterError> {
    sign_string(app_secret, &sign_base(api_path, params, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_BASE: &str = "/test/apibar2foo1foo_bar3foobar4";
    const VECTOR_SIGN: &str = "D6BCEB23D24047A5C87DB7850A9E5F4C38D2B71CBAC19C6128BDE3E0487C89B1";

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn documented_vector() {
        assert_eq!(
            sign_string("test_secret", VECTOR_BASE).unwrap(),
            VECTOR_SIGN
        );
    }

    #[test]
    fn base_string_sorts_parameters_and_skips_sign() {
        let params = params(&[
            ("foo", "1"),
            ("sign", "ignored"),
            ("foobar", "4"),
            ("bar", "2"),
            ("foo_bar", "3"),
        ]);
        assert_eq!(sign_base("/test/api", &params, None), VECTOR_BASE);
        assert_eq!(
            sign("test_secret", "/test/api", &params, None).unwrap(),
            VECTOR_SIGN
        );
    }

    #[test]
    fn body_is_appended_and_changes_the_signature() {
        let params = params(&[("a", "1")]);
        assert_eq!(sign_base("/p", &params, Some("{}")), "/pa1{}");
        assert_ne!(
            sign("s", "/p", &params, Some("{}")).unwrap(),
            sign("s", "/p", &params, None).unwrap()
        );
    }
}
