//! The tiktok-shop adapter.
