//! The lazada adapter.
