//! Card numbers: 16 digits, the issuer prefix, a serial and a Luhn check
//! digit, so a single mistyped digit or two swapped neighbours at the
//! counter are caught before any lookup.

use std::fmt;

use rand::Rng;

/// The issuer prefix of every card this system opens.
pub const ISSUER_PREFIX: &str = "9100";
const LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CardNumber(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardNumberError {
    #[error("a card number has 16 digits")]
    Length,
    #[error("a card number has digits only")]
    NotDigits,
    #[error("the check digit does not match: the number was mistyped")]
    CheckDigit,
}

/// The Luhn check digit for `payload` (digits only).
fn luhn_digit(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    // The result is 0..=9, so the cast cannot truncate.
    u8::try_from((10 - sum % 10) % 10).unwrap_or(0)
}

impl CardNumber {
    /// Parses what a cashier typed; spaces and dashes between groups are
    /// allowed and dropped.
    pub fn parse(text: &str) -> Result<CardNumber, CardNumberError> {
        let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardNumberError::NotDigits);
        }
        if digits.len() != LEN {
            return Err(CardNumberError::Length);
        }
        let bytes = digits.as_bytes();
        if luhn_digit(&bytes[..LEN - 1]) != bytes[LEN - 1] - b'0' {
            return Err(CardNumberError::CheckDigit);
        }
        Ok(CardNumber(digits))
    }

    /// A new random number under the issuer prefix. Uniqueness is the
    /// database's job (a UNIQUE column); the caller retries on a clash.
    pub fn generate() -> CardNumber {
        let mut rng = rand::thread_rng();
        let mut payload = String::with_capacity(LEN);
        payload.push_str(ISSUER_PREFIX);
        while payload.len() < LEN - 1 {
            payload.push(char::from(b'0' + rng.gen_range(0..10u8)));
        }
        let check = luhn_digit(payload.as_bytes());
        payload.push(char::from(b'0' + check));
        CardNumber(payload)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_numbers_parse() {
        for _ in 0..100 {
            let n = CardNumber::generate();
            assert_eq!(CardNumber::parse(n.as_str()), Ok(n.clone()));
            assert!(n.as_str().starts_with(ISSUER_PREFIX));
        }
    }

    #[test]
    fn a_mistyped_digit_is_caught() {
        let n = CardNumber::generate();
        let s = n.as_str().as_bytes().to_vec();
        for i in 0..LEN {
            let mut typo = s.clone();
            typo[i] = if typo[i] == b'9' { b'0' } else { typo[i] + 1 };
            let typo = String::from_utf8(typo).unwrap();
            assert_eq!(CardNumber::parse(&typo), Err(CardNumberError::CheckDigit));
        }
    }

    #[test]
    fn swapped_neighbours_are_caught() {
        // 9100 0000 0000 012? — swap two different adjacent digits.
        let n = CardNumber::parse("9100123456789015").or_else(|_| {
            let mut p = "910012345678901".to_string();
            p.push(char::from(b'0' + luhn_digit(p.as_bytes())));
            CardNumber::parse(&p)
        });
        let n = n.unwrap();
        let mut s = n.as_str().as_bytes().to_vec();
        s.swap(5, 6);
        assert!(CardNumber::parse(std::str::from_utf8(&s).unwrap()).is_err());
    }

    #[test]
    fn groups_may_be_separated() {
        let n = CardNumber::generate();
        let s = n.as_str();
        let grouped = format!("{} {}-{} {}", &s[0..4], &s[4..8], &s[8..12], &s[12..16]);
        assert_eq!(CardNumber::parse(&grouped), Ok(n.clone()));
        assert_eq!(CardNumber::parse("12345"), Err(CardNumberError::Length));
        assert_eq!(
            CardNumber::parse("91001234abcd9015"),
            Err(CardNumberError::NotDigits)
        );
    }
}
