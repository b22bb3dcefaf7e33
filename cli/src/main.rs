//! `distributary`: the reference host of the Distributary engine.
fn main() {}
