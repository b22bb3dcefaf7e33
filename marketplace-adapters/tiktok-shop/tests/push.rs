//! The push-notification test vector of docs/marketplaces.md ("Push notifications"), as a
//! fixture, through the suite every pushing adapter passes (`distributary_plugin::testing`).

use distributary_adapter_tiktok_shop::TikTokShopAdapter;
use distributary_plugin::testing::PushVector;

#[test]
fn the_documented_vector_verifies_and_every_change_is_unauthenticated() {
    PushVector::read(env!("CARGO_MANIFEST_DIR")).check(&TikTokShopAdapter, "app_secret");
}
