//! The temu adapter.
