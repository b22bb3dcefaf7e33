//! Temu documents no verifiable push: whatever arrives, its adapter answers `unsupported`, so a
//! Temu shop is pulled only, and its manifest does not claim `push`.

use distributary_adapter_temu::TemuAdapter;
use distributary_plugin::adapter::CAPABILITY_PUSH;
use distributary_plugin::{Adapter, PushRequest, PushVerdict};
use serde_json::json;

#[test]
fn every_push_is_unsupported() {
    let request = PushRequest {
        credentials: json!({"app_key": "k", "app_secret": "s", "access_token": "t"}),
        url: "https://erp.example.com/v1/webhooks/acme/temu/t1".to_owned(),
        headers: vec![("authorization".to_owned(), "00".to_owned())],
        body: r#"{"type":"bg_order_status_change_event"}"#.to_owned(),
    };
    assert!(matches!(
        TemuAdapter.parse_push(&request).unwrap(),
        PushVerdict::Unsupported { .. }
    ));
    assert!(!TemuAdapter
        .manifest()
        .capabilities
        .contains(&CAPABILITY_PUSH.to_owned()));
}
