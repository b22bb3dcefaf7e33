//! The push-notification test vector of docs/marketplaces.md ("Push notifications"), as a
//! fixture: it verifies and reads as the documented notice; a changed byte of the body (or of
//! what else is signed), a missing header or another secret is `unauthenticated`, never an
//! error; credentials without the secret are the caller's error.

use distributary_adapter_lazada::LazadaAdapter;
use distributary_plugin::{Adapter, ErrorKind, PushNotice, PushRequest, PushVerdict};
use serde_json::Value;

fn vector() -> (PushRequest, String, PushNotice) {
    let path = format!(
        "{}/tests/fixtures/push/vector.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let signature = fixture["signature"].as_str().unwrap().to_owned();
    let request = PushRequest {
        credentials: fixture["credentials"].clone(),
        url: fixture["url"].as_str().unwrap().to_owned(),
        headers: vec![("authorization".to_owned(), signature.clone())],
        body: fixture["body"].as_str().unwrap().to_owned(),
    };
    let notice = serde_json::from_value(fixture["notice"].clone()).unwrap();
    (request, signature, notice)
}

fn verdict(request: &PushRequest) -> PushVerdict {
    LazadaAdapter.parse_push(request).unwrap()
}

#[test]
fn the_documented_vector_verifies_and_names_its_order() {
    let (request, signature, notice) = vector();
    assert_eq!(verdict(&request), PushVerdict::Notice(notice.clone()));
    // Hex in either case is the same signature.
    let mut upper = request.clone();
    upper.headers = vec![("authorization".to_owned(), signature.to_uppercase())];
    assert_eq!(verdict(&upper), PushVerdict::Notice(notice));
}

#[test]
fn a_changed_byte_or_a_missing_header_is_unauthenticated() {
    let (request, signature, _) = vector();
    let unauthenticated =
        |r: &PushRequest| matches!(verdict(r), PushVerdict::Unauthenticated { .. });
    for at in [0, request.body.len() / 2, request.body.len() - 1] {
        let mut changed = request.clone();
        let mut bytes = changed.body.into_bytes();
        bytes[at] ^= 0x01;
        changed.body = String::from_utf8(bytes).unwrap();
        assert!(unauthenticated(&changed), "byte {at} changed");
    }
    let mut wrong = request.clone();
    let mut flipped = signature.into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    wrong.headers = vec![(
        "authorization".to_owned(),
        String::from_utf8(flipped).unwrap(),
    )];
    assert!(unauthenticated(&wrong));
    let mut bare = request.clone();
    bare.headers.clear();
    assert!(unauthenticated(&bare));
    let mut other_secret = request.clone();
    other_secret.credentials["app_secret"] = Value::from("another-secret");
    assert!(unauthenticated(&other_secret));
}

#[test]
fn credentials_without_the_secret_are_the_callers_error() {
    let (mut request, _, _) = vector();
    request
        .credentials
        .as_object_mut()
        .unwrap()
        .remove("app_secret");
    let error = LazadaAdapter.parse_push(&request).unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput, "{error}");
}
