//! A complete, small adapter plugin for the made-up `fixture` marketplace: the shape a third
//! party copies, and the good plugin of the host's tests. Build it with
//! `cargo build -p distributary-plugin --example fixture_adapter`.

#[path = "common/fixture.rs"]
mod fixture;

distributary_plugin::export_adapter!(fixture::Fixture);
