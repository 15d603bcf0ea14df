//! Exact money and fuel volume.
//!
//! Money is yuan with two decimals, held as integer fen; fuel is litres with
//! two decimals, held as integer centilitres. Both are parsed from text at
//! the boundary (JSON carries them as strings) and never touch a float.
//!
//! The one rounding rule of the project lives here: an amount is litres ×
//! unit price rounded half-up to the fen, and a per-litre discount is
//! computed the same way on the same litres.

use std::fmt;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest amount a single request may carry: ten million yuan. Bounds
/// every product of amounts so `i64` arithmetic cannot overflow.
pub const MAX_AMOUNT_FEN: i64 = 1_000_000_000;
/// The largest volume a single sale may carry: 100,000 litres (a tanker).
pub const MAX_VOLUME_CL: i64 = 10_000_000;

/// Why a decimal text is not an acceptable quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("not a decimal number")]
    NotANumber,
    #[error("more than two decimals")]
    TooManyDecimals,
    #[error("must be greater than zero")]
    NotPositive,
    #[error("too large")]
    TooLarge,
}

/// Parses `"123"`, `"123.4"` or `"123.45"` into hundredths. Signs, exponents,
/// spaces and a third decimal are refused rather than rounded: a cashier who
/// typed 100.005 made a mistake the system should not guess at.
fn parse_hundredths(text: &str, max: i64) -> Result<i64, QuantityError> {
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(QuantityError::NotANumber);
    }
    if text.contains('.') && frac.is_empty() {
        return Err(QuantityError::NotANumber);
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(QuantityError::NotANumber);
    }
    if frac.len() > 2 {
        return Err(QuantityError::TooManyDecimals);
    }
    if whole.len() > 12 {
        return Err(QuantityError::TooLarge);
    }
    let whole: i64 = whole.parse().map_err(|_| QuantityError::NotANumber)?;
    let mut frac_value: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| QuantityError::NotANumber)?
    };
    if frac.len() == 1 {
        frac_value *= 10;
    }
    let value = whole
        .checked_mul(100)
        .and_then(|v| v.checked_add(frac_value))
        .ok_or(QuantityError::TooLarge)?;
    if value > max {
        return Err(QuantityError::TooLarge);
    }
    Ok(value)
}

fn write_hundredths(f: &mut fmt::Formatter<'_>, value: i64) -> fmt::Result {
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
}

/// An amount of money in fen. Arithmetic is checked; an overflow is a bug
/// in the caller's bounds, so the checked forms return `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_fen(fen: i64) -> Self {
        Money(fen)
    }

    pub const fn fen(self) -> i64 {
        self.0
    }

    /// Parses a non-negative amount with at most two decimals.
    pub fn parse(text: &str) -> Result<Money, QuantityError> {
        parse_hundredths(text.trim(), MAX_AMOUNT_FEN).map(Money)
    }

    /// Parses an amount that must be greater than zero (a recharge, a sale).
    pub fn parse_positive(text: &str) -> Result<Money, QuantityError> {
        let m = Money::parse(text)?;
        if m.0 <= 0 {
            return Err(QuantityError::NotPositive);
        }
        Ok(m)
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn min(self, other: Money) -> Money {
        Money(self.0.min(other.0))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hundredths(f, self.0)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Reads back what `Serialize` wrote, as a stored answer is when its
/// request is replayed; requests parse their amounts with [`Money::parse`].
impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        signed_hundredths(d).map(Money)
    }
}

/// A volume of fuel in centilitres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Litres(i64);

impl Litres {
    pub const fn from_cl(cl: i64) -> Self {
        Litres(cl)
    }

    pub const fn cl(self) -> i64 {
        self.0
    }

    /// Parses a non-negative volume with at most two decimals.
    pub fn parse(text: &str) -> Result<Litres, QuantityError> {
        parse_hundredths(text.trim(), MAX_VOLUME_CL).map(Litres)
    }

    /// Parses a volume greater than zero with at most two decimals.
    pub fn parse_positive(text: &str) -> Result<Litres, QuantityError> {
        let v = Litres::parse(text)?;
        if v.0 <= 0 {
            return Err(QuantityError::NotPositive);
        }
        Ok(v)
    }
}

impl fmt::Display for Litres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hundredths(f, self.0)
    }
}

impl Serialize for Litres {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Litres {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Litres, D::Error> {
        signed_hundredths(d).map(Litres)
    }
}

/// A signed decimal string with at most two decimals, in hundredths.
fn signed_hundredths<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let text = String::deserialize(d)?;
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.as_str()),
    };
    parse_hundredths(digits, i64::MAX / 100)
        .map(|v| sign * v)
        .map_err(serde::de::Error::custom)
}

/// Rounds a decimal number of yuan (or litres) to hundredths, half-up, and
/// returns the hundredths. Inputs are bounded, so the result fits.
fn to_hundredths_half_up(value: Decimal) -> Option<i64> {
    let rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    (rounded * Decimal::ONE_HUNDRED).to_i64()
}

/// `litres × per_litre`, rounded half-up to the fen.
pub fn litres_times(litres: Litres, per_litre: Money) -> Option<Money> {
    let product = Decimal::new(litres.cl(), 2).checked_mul(Decimal::new(per_litre.fen(), 2))?;
    to_hundredths_half_up(product).map(Money)
}

/// The litres a gross amount buys at a unit price, rounded half-up to the
/// centilitre (what a pump preset to an amount shows when it stops).
pub fn litres_for(amount: Money, unit_price: Money) -> Option<Litres> {
    if unit_price.fen() <= 0 {
        return None;
    }
    let litres = Decimal::new(amount.fen(), 2).checked_div(Decimal::new(unit_price.fen(), 2))?;
    to_hundredths_half_up(litres).map(Litres)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_two_decimals_exactly() {
        assert_eq!(Money::parse("1000").unwrap().fen(), 100_000);
        assert_eq!(Money::parse("1000.5").unwrap().fen(), 100_050);
        assert_eq!(Money::parse("0.07").unwrap().fen(), 7);
        assert_eq!(Money::parse("224.40").unwrap().to_string(), "224.40");
    }

    #[test]
    fn refuses_what_a_cashier_did_not_mean() {
        assert_eq!(Money::parse("1.005"), Err(QuantityError::TooManyDecimals));
        assert_eq!(Money::parse("-5"), Err(QuantityError::NotANumber));
        assert_eq!(Money::parse("1e3"), Err(QuantityError::NotANumber));
        assert_eq!(Money::parse(""), Err(QuantityError::NotANumber));
        assert_eq!(Money::parse("1."), Err(QuantityError::NotANumber));
        assert_eq!(Money::parse(".5"), Err(QuantityError::NotANumber));
        assert_eq!(
            Money::parse_positive("0.00"),
            Err(QuantityError::NotPositive)
        );
        assert_eq!(Money::parse("99999999999"), Err(QuantityError::TooLarge));
    }

    #[test]
    fn a_stored_answer_reads_back_exactly() {
        for fen in [0, 7, -1_234, 100_050, 99_999_999_999_999] {
            let m = Money::from_fen(fen);
            let text = serde_json::to_string(&m).unwrap();
            assert_eq!(serde_json::from_str::<Money>(&text).unwrap(), m, "{text}");
        }
        let l: Litres = serde_json::from_str("\"30.05\"").unwrap();
        assert_eq!(l.to_string(), "30.05");
        assert!(serde_json::from_str::<Money>("\"1.005\"").is_err());
        assert!(serde_json::from_str::<Money>("12").is_err());
    }

    #[test]
    fn sale_rounding_matches_the_counter() {
        // 30.00 L of 92# at 7.68 with a 0.20/L card discount.
        let litres = Litres::parse_positive("30").unwrap();
        assert_eq!(
            litres_times(litres, Money::from_fen(768))
                .unwrap()
                .to_string(),
            "230.40"
        );
        assert_eq!(
            litres_times(litres, Money::from_fen(20))
                .unwrap()
                .to_string(),
            "6.00"
        );
        // Rounds half-up: 3.33 L × 7.68 = 25.5744 → 25.57.
        let odd = Litres::parse_positive("3.33").unwrap();
        assert_eq!(litres_times(odd, Money::from_fen(768)).unwrap().fen(), 2557);
        // 0.05 L × 0.10 = 0.005 → 0.01 (half-up).
        let tiny = Litres::parse_positive("0.05").unwrap();
        assert_eq!(litres_times(tiny, Money::from_fen(10)).unwrap().fen(), 1);
    }

    #[test]
    fn litres_for_an_amount_round_half_up() {
        // 200.00 at 7.68 buys 26.0416… L → 26.04 L.
        let l = litres_for(Money::from_fen(20_000), Money::from_fen(768)).unwrap();
        assert_eq!(l.to_string(), "26.04");
        // 100.00 at 8.00 buys exactly 12.50 L.
        let l = litres_for(Money::from_fen(10_000), Money::from_fen(800)).unwrap();
        assert_eq!(l.cl(), 1250);
    }

    #[test]
    fn negative_amounts_display_with_sign() {
        assert_eq!(Money::from_fen(-1234).to_string(), "-12.34");
        assert_eq!(Money::from_fen(5).to_string(), "0.05");
    }
}
