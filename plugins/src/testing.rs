//! What the adapters' own tests share (feature `testing`): their fixtures, stock items and
//! refusals, and the push-notification test vector every pushing adapter must pass. The vector
//! of docs/marketplaces.md ("Push notifications"), kept in each adapter (Shopee's:
//! `marketplace-adapters/shopee/tests/fixtures/push/vector.json`), verifies and reads as the
//! documented notice; a changed byte of the body, a changed signature, a missing header or
//! another secret is `unauthenticated`, never an error; credentials without the secret are the
//! caller's error.

// Test support: a failed check is a failed test, so it panics (the crate denies that elsewhere).
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

use crate::{Adapter, ErrorKind, PushNotice, PushRequest, PushVerdict, StockItem, StockRefusal};

/// The text of the test fixture `path` (under the adapter's `tests/fixtures`), for the adapter at
/// `manifest_dir` (its `CARGO_MANIFEST_DIR`). Panics when it cannot be read: it is a test's input.
pub fn fixture(manifest_dir: &str, path: &str) -> String {
    let path = format!("{manifest_dir}/tests/fixtures/{path}");
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// Seven units of `store_sku`, listed on the marketplace as `listing` (its ids, by name).
pub fn stock_item(store_sku: &str, listing: &[(&str, &str)]) -> StockItem {
    StockItem {
        store_sku: store_sku.to_owned(),
        quantity: 7,
        listing: listing
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

/// The marketplace's refusal of `store_sku`'s level.
pub fn stock_refusal(store_sku: &str, code: &str, message: &str) -> StockRefusal {
    StockRefusal {
        store_sku: store_sku.to_owned(),
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

/// An adapter's vector: the signed request, its signature and the notice it must read as.
pub struct PushVector {
    /// The request as the marketplace sends it.
    pub request: PushRequest,
    /// The signature in its `authorization` header.
    pub signature: String,
    /// What the adapter must read the request as.
    pub notice: PushNotice,
}

impl PushVector {
    /// Reads the adapter's push vector (among its test fixtures) under `manifest_dir` (the
    /// adapter's `CARGO_MANIFEST_DIR`). Panics on a fixture that does not read: it is a test's
    /// input.
    pub fn read(manifest_dir: &str) -> PushVector {
        let text = fixture(manifest_dir, "push/vector.json");
        let fixture: Value = serde_json::from_str(&text).unwrap();
        let signature = fixture["signature"].as_str().unwrap().to_owned();
        let request = PushRequest {
            credentials: fixture["credentials"].clone(),
            url: fixture["url"].as_str().unwrap().to_owned(),
            headers: vec![("authorization".to_owned(), signature.clone())],
            body: fixture["body"].as_str().unwrap().to_owned(),
        };
        let notice = serde_json::from_value(fixture["notice"].clone()).unwrap();
        PushVector {
            request,
            signature,
            notice,
        }
    }

    /// Runs the whole suite against `adapter`, whose credentials keep the signing secret under
    /// `secret_field`.
    pub fn check(&self, adapter: &dyn Adapter, secret_field: &str) {
        let verdict = |request: &PushRequest| adapter.parse_push(request).unwrap();
        let unauthenticated =
            |request: &PushRequest| matches!(verdict(request), PushVerdict::Unauthenticated { .. });

        assert_eq!(
            verdict(&self.request),
            PushVerdict::Notice(self.notice.clone())
        );
        // Hex in either case is the same signature.
        let mut upper = self.request.clone();
        upper.headers = vec![("authorization".to_owned(), self.signature.to_uppercase())];
        assert_eq!(verdict(&upper), PushVerdict::Notice(self.notice.clone()));

        let body = &self.request.body;
        for at in [0, body.len() / 2, body.len() - 1] {
            let mut changed = self.request.clone();
            let mut bytes = changed.body.into_bytes();
            bytes[at] ^= 0x01;
            changed.body = String::from_utf8(bytes).unwrap();
            assert!(unauthenticated(&changed), "byte {at} changed");
        }
        let mut wrong = self.request.clone();
        let mut flipped = self.signature.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        wrong.headers = vec![(
            "authorization".to_owned(),
            String::from_utf8(flipped).unwrap(),
        )];
        assert!(unauthenticated(&wrong), "a changed signature");
        let mut bare = self.request.clone();
        bare.headers.clear();
        assert!(unauthenticated(&bare), "no signature header");
        let mut other_secret = self.request.clone();
        other_secret.credentials[secret_field] = Value::from("another-secret");
        assert!(unauthenticated(&other_secret), "another {secret_field}");

        let mut no_secret = self.request.clone();
        no_secret
            .credentials
            .as_object_mut()
            .unwrap()
            .remove(secret_field);
        let error = adapter.parse_push(&no_secret).unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidInput, "{error}");
    }
}
