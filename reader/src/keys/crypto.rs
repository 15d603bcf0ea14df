//! The block-cipher primitives of the PBOC e-purse: 2-key 3DES in ECB mode
//! for derivations, and the single-DES MAC (ISO 9797-1 algorithm 1) for
//! MAC1, MAC2, TAC and friends. Everything else in `keys` is built on these
//! three functions.

use des::cipher::{BlockCipherEncrypt, KeyInit};
use des::{Des, TdesEde2};

/// 2-key triple DES (EDE) of one block: the derivation function for card
/// keys and session keys.
pub fn tdes_ecb(key: &[u8; 16], block: &[u8; 8]) -> [u8; 8] {
    let cipher = TdesEde2::new(key.into());
    let mut out = *block;
    cipher.encrypt_block((&mut out).into());
    out
}

/// Single DES of one block.
pub fn des_ecb(key: &[u8; 8], block: &[u8; 8]) -> [u8; 8] {
    let cipher = Des::new(key.into());
    let mut out = *block;
    cipher.encrypt_block((&mut out).into());
    out
}

/// ISO 9797-1 MAC algorithm 1 with single DES, a zero IV and padding
/// method 2 (`80` then zeros, always at least one byte of padding); the MAC
/// is the first four bytes of the last block, as PBOC terminals expect.
pub fn des_mac(key: &[u8; 8], data: &[u8]) -> [u8; 4] {
    let cipher = Des::new(key.into());
    let mut padded = data.to_vec();
    padded.push(0x80);
    while padded.len() % 8 != 0 {
        padded.push(0x00);
    }
    let mut chain = [0u8; 8];
    for block in padded.chunks_exact(8) {
        for (c, b) in chain.iter_mut().zip(block) {
            *c ^= b;
        }
        cipher.encrypt_block((&mut chain).into());
    }
    [chain[0], chain[1], chain[2], chain[3]]
}

/// One level of key diversification: `3DES_MK(ASN8) || 3DES_MK(!ASN8)`.
/// The project uses one level only (READER.md §3 allows either; one level
/// is what a PSAM holding the issuer master key does).
pub fn diversify(master: &[u8; 16], asn8: &[u8; 8]) -> [u8; 16] {
    let left = tdes_ecb(master, asn8);
    let inverted = asn8.map(|b| !b);
    let right = tdes_ecb(master, &inverted);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&left);
    out[8..].copy_from_slice(&right);
    out
}

/// Constant-time comparison of MACs, so a card or host that checks a MAC
/// does not tell by its timing how many leading bytes were right.
pub fn mac_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn des_known_answer() {
        // FIPS 81 / the classic "Now is t" example.
        let key = h::<8>("0123456789ABCDEF");
        let out = des_ecb(&key, &h("4E6F772069732074"));
        assert_eq!(hex::encode_upper(out), "3FA40E8A984D4815");
    }

    #[test]
    fn tdes_with_equal_halves_is_des() {
        let k8 = h::<8>("0123456789ABCDEF");
        let mut k16 = [0u8; 16];
        k16[..8].copy_from_slice(&k8);
        k16[8..].copy_from_slice(&k8);
        let block = h::<8>("4E6F772069732074");
        assert_eq!(tdes_ecb(&k16, &block), des_ecb(&k8, &block));
    }

    #[test]
    fn mac_pads_a_full_block() {
        // 8 bytes of data get a whole 80 00.. block: the MAC differs from
        // the MAC of the data with that block already appended by hand only
        // if padding were skipped.
        let key = h::<8>("0123456789ABCDEF");
        let data = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let mut manual = data.to_vec();
        manual.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0]);
        let mut chain = [0u8; 8];
        for block in manual.chunks_exact(8) {
            for (c, b) in chain.iter_mut().zip(block) {
                *c ^= b;
            }
            chain = des_ecb(&key, &chain);
        }
        assert_eq!(des_mac(&key, &data), chain[..4]);
    }

    #[test]
    fn mac_eq_compares_everything() {
        assert!(mac_eq(&[1, 2, 3, 4], &[1, 2, 3, 4]));
        assert!(!mac_eq(&[1, 2, 3, 4], &[1, 2, 3, 5]));
        assert!(!mac_eq(&[1, 2, 3], &[1, 2, 3, 4]));
    }
}
