//! Unix seconds as the ISO 8601 date-times Lazada's order list takes (`update_after`,
//! `update_before`), always in UTC.

/// The last second this formatting accepts: 9999-12-31T23:59:59Z.
pub const UNIX_SECONDS_MAX: i64 = 253_402_300_799;

const SECONDS_PER_DAY: i64 = 86_400;

/// `seconds` (Unix, UTC) as `YYYY-MM-DDTHH:MM:SS+00:00`; `None` before 1970 or after
/// [`UNIX_SECONDS_MAX`].
pub fn iso8601(seconds: i64) -> Option<String> {
    if !(0..=UNIX_SECONDS_MAX).contains(&seconds) {
        return None;
    }
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+00:00",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    ))
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(iso8601(0).unwrap(), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso8601(951_782_400).unwrap(), "2000-02-29T00:00:00+00:00");
        assert_eq!(iso8601(1_795_773_600).unwrap(), "2026-11-27T10:00:00+00:00");
        assert_eq!(
            iso8601(UNIX_SECONDS_MAX).unwrap(),
            "9999-12-31T23:59:59+00:00"
        );
    }

    #[test]
    fn out_of_range() {
        assert_eq!(iso8601(-1), None);
        assert_eq!(iso8601(UNIX_SECONDS_MAX + 1), None);
    }
}
