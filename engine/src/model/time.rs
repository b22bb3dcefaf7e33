//! Logical time: every command runs at the envelope's `at` (or now), normalised to RFC 3339 UTC
//! with whole seconds so stored times compare as strings.

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use crate::error::Error;

/// A point in logical time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(DateTime<Utc>);

impl Instant {
    /// Now, by the system clock.
    pub fn now() -> Instant {
        Instant(Utc::now())
    }

    /// Parses an RFC 3339 time (`2026-11-27T10:00:00Z`); `field` names it in the error.
    pub fn parse(field: &str, text: &str) -> Result<Instant, Error> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| Instant(t.with_timezone(&Utc)))
            .map_err(|e| Error::bad_request(format!("`{field}` must be an RFC 3339 time: {e}")))
    }

    /// This instant plus a number of days, or `None` past the calendar's end.
    pub fn plus_days(self, days: i64) -> Option<Instant> {
        self.0.checked_add_signed(Duration::days(days)).map(Instant)
    }

    /// Unix seconds.
    pub fn unix_seconds(self) -> i64 {
        self.0.timestamp()
    }
}

impl std::fmt::Display for Instant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}
