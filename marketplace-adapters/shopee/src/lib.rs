//! The shopee adapter.
