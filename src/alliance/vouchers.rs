//! Voucher codes: what a customer shows a merchant to claim a benefit.
//!
//! A code is random (never derived from an id, so one code tells nothing
//! about another) and written in an alphabet without look-alikes (no 0/O,
//! 1/I/L), so that it can be read out over a counter and typed back.

use rand::Rng;

/// The letters and digits a code is written in: 31 of them.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// The length of a code: 31^12 ≈ 7.9 × 10^17 codes, so guessing one that
/// was handed out is hopeless.
pub const LENGTH: usize = 12;

/// A fresh code from the operating system's random source.
pub fn generate() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..LENGTH)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// A code as typed: case, spaces and dashes do not matter. `None` when it
/// cannot be a code at all.
pub fn normalise(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// A code as printed: in groups of four.
pub fn printed(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_unambiguous_and_distinct() {
        let codes: std::collections::HashSet<String> = (0..1000).map(|_| generate()).collect();
        assert_eq!(codes.len(), 1000);
        for code in &codes {
            assert_eq!(code.len(), LENGTH);
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']), "{code}");
        }
    }

    #[test]
    fn typed_codes_are_read_back() {
        let code = generate();
        let typed = printed(&code).to_lowercase();
        assert_eq!(normalise(&typed), Some(code));
        assert_eq!(
            normalise("ABCD-EFGH-JKM0"),
            None,
            "0 is not in the alphabet"
        );
        assert_eq!(normalise("ABCD"), None);
    }
}
