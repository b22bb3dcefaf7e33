//! Money: decimal amounts in a currency, rounded to the currency's minor unit half away from
//! zero, with checked arithmetic and a bound on what a single amount may be.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::Error;

/// The largest absolute amount the engine accepts or produces (a quadrillion units): anything
/// larger is a typo or an attack, and keeping far from `Decimal::MAX` keeps sums from overflowing.
pub const AMOUNT_ABS_MAX: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0);

/// Currencies whose minor unit is the unit itself (docs/protocol.md#ledger); every other has two
/// decimals.
const ZERO_DECIMAL_CURRENCIES: &[&str] = &["IDR", "VND", "JPY"];

/// How many decimals a currency's amounts keep.
pub fn minor_unit_digits(currency: &str) -> u32 {
    if ZERO_DECIMAL_CURRENCIES.contains(&currency) {
        0
    } else {
        2
    }
}

/// Rounds an amount to the currency's minor unit, half away from zero, and writes it with
/// exactly that many decimals (`1000` MYR is `1000.00`).
pub fn round(amount: Decimal, currency: &str) -> Decimal {
    let digits = minor_unit_digits(currency);
    let mut rounded = amount.round_dp_with_strategy(digits, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(digits);
    rounded
}

/// Parses a decimal string from the host protocol, refusing absurd values.
pub fn parse_amount(field: &str, text: &str) -> Result<Decimal, Error> {
    let value: Decimal = text.trim().parse().map_err(|_| {
        Error::bad_request(format!("`{field}` must be a decimal string, got {text:?}"))
    })?;
    check_bound(field, value)?;
    Ok(value)
}

/// Refuses an amount whose absolute value exceeds [`AMOUNT_ABS_MAX`].
pub fn check_bound(field: &str, value: Decimal) -> Result<Decimal, Error> {
    if value.abs() > AMOUNT_ABS_MAX {
        return Err(Error::bad_request(format!(
            "`{field}` is out of range: {value} (at most {AMOUNT_ABS_MAX})"
        )));
    }
    Ok(value)
}

/// `a + b`, an error instead of an overflow.
pub fn add(a: Decimal, b: Decimal) -> Result<Decimal, Error> {
    let sum = a
        .checked_add(b)
        .ok_or_else(|| Error::bad_request("amount overflow".to_owned()))?;
    check_bound("amount", sum)
}

/// `a - b`, an error instead of an overflow.
pub fn sub(a: Decimal, b: Decimal) -> Result<Decimal, Error> {
    let diff = a
        .checked_sub(b)
        .ok_or_else(|| Error::bad_request("amount overflow".to_owned()))?;
    check_bound("amount", diff)
}

/// `a * b`, an error instead of an overflow.
pub fn mul(a: Decimal, b: Decimal) -> Result<Decimal, Error> {
    let product = a
        .checked_mul(b)
        .ok_or_else(|| Error::bad_request("amount overflow".to_owned()))?;
    check_bound("amount", product)
}

/// A valid ISO 4217-shaped currency code: three ASCII capitals.
pub fn check_currency(code: &str) -> Result<(), Error> {
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "`currency` must be three capital letters (ISO 4217), got {code:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_is_a_quadrillion() {
        assert_eq!(AMOUNT_ABS_MAX, Decimal::from(1_000_000_000_000_000_i64));
    }

    #[test]
    fn rounds_half_away_from_zero_to_the_minor_unit() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(round(d("1.005"), "MYR"), d("1.01"));
        assert_eq!(round(d("-1.005"), "MYR"), d("-1.01"));
        assert_eq!(round(d("1500.5"), "IDR"), d("1501"));
        assert_eq!(round(d("-0.5"), "JPY"), d("-1"));
        assert_eq!(round(d("2.344"), "USD"), d("2.34"));
    }

    #[test]
    fn refuses_absurd_amounts() {
        assert!(parse_amount("amount", "1e30").is_err());
        assert!(parse_amount("amount", "10000000000000000").is_err());
        assert!(parse_amount("amount", "abc").is_err());
        assert!(parse_amount("amount", "12.5").is_ok());
    }
}
