//! The e-purse scheme: session-key derivations and the exact bytes each
//! MAC and TAC covers. The card (`card`) and the host (`SoftwareKeyService`)
//! both call these functions, so the two sides cannot disagree on a layout;
//! the independent check is the second implementation in `tests/`.
//!
//! Layouts follow READER.md §3. Where the public sources stop (the grey
//! lock's MAC2, GTAC, GMAC and unlock TAC, and the PIN unblock), the choice
//! is the project's and is written down in `reader/README.md`.

use std::fmt;

use super::crypto::{des_ecb, des_mac, tdes_ecb};

/// Transaction types as they appear in MACs, TACs and records.
pub mod txn_type {
    /// Load into the electronic deposit (ED, 电子存折) — the fuel card's purse.
    pub const ED_LOAD: u8 = 0x01;
    /// Load into an electronic purse (EP); used by the public test vectors.
    pub const EP_LOAD: u8 = 0x02;
    pub const ED_PURCHASE: u8 = 0x05;
    pub const EP_PURCHASE: u8 = 0x06;
    /// Sinopec grey lock (灰锁).
    pub const GREY_LOCK: u8 = 0x91;
    /// Sinopec debit for unlock (解扣).
    pub const UNLOCK: u8 = 0x93;
}

/// Why a date or time is not a valid BCD stamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid transaction date or time: {0}")]
pub struct StampError(&'static str);

/// A transaction's local date and time as the card stores them: BCD
/// `YYYYMMDD` and `hhmmss`. Built from parts or from Unix time so callers
/// never hand-pack BCD.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stamp {
    date: [u8; 4],
    time: [u8; 3],
}

fn bcd(v: u8) -> u8 {
    ((v / 10) << 4) | (v % 10)
}

fn from_bcd(b: u8) -> Option<u8> {
    let (hi, lo) = (b >> 4, b & 0x0F);
    (hi < 10 && lo < 10).then_some(hi * 10 + lo)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl Stamp {
    pub fn new(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Result<Self, StampError> {
        if !(2000..=2099).contains(&year) {
            return Err(StampError("year outside 2000..=2099"));
        }
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(StampError("no such day"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(StampError("no such time of day"));
        }
        let century = u8::try_from(year / 100).map_err(|_| StampError("year"))?;
        let yy = u8::try_from(year % 100).map_err(|_| StampError("year"))?;
        Ok(Self {
            date: [bcd(century), bcd(yy), bcd(month), bcd(day)],
            time: [bcd(hour), bcd(minute), bcd(second)],
        })
    }

    /// The local time `unix_secs + utc_offset_secs` (China is +8 h).
    pub fn from_unix(unix_secs: i64, utc_offset_secs: i32) -> Result<Self, StampError> {
        let local = unix_secs
            .checked_add(i64::from(utc_offset_secs))
            .ok_or(StampError("time out of range"))?;
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        // Howard Hinnant's days-from-civil inverse.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let small = |v: i64| u8::try_from(v).map_err(|_| StampError("time out of range"));
        Self::new(
            u16::try_from(year).map_err(|_| StampError("year outside 2000..=2099"))?,
            small(month)?,
            small(day)?,
            small(secs / 3600)?,
            small(secs % 3600 / 60)?,
            small(secs % 60)?,
        )
    }

    /// Checks BCD bytes received from a card or a command.
    pub fn from_bcd(date: [u8; 4], time: [u8; 3]) -> Result<Self, StampError> {
        let d = date.map(from_bcd);
        let t = time.map(from_bcd);
        match (d, t) {
            ([Some(c), Some(y), Some(m), Some(day)], [Some(h), Some(mi), Some(s)]) => {
                let stamp = Self::new(u16::from(c) * 100 + u16::from(y), m, day, h, mi, s)?;
                Ok(stamp)
            }
            _ => Err(StampError("not BCD")),
        }
    }

    pub fn date(&self) -> [u8; 4] {
        self.date
    }

    pub fn time(&self) -> [u8; 3] {
        self.time
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [c, y, m, d] = self.date;
        let [h, mi, s] = self.time;
        write!(f, "{c:02X}{y:02X}-{m:02X}-{d:02X} {h:02X}:{mi:02X}:{s:02X}")
    }
}

impl fmt::Debug for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stamp({self})")
    }
}

/// Load session key: `3DES_DLK(random4 || onlineTTC2 || 80 00)`.
pub fn load_session_key(dlk: &[u8; 16], random: [u8; 4], online_ttc: u16) -> [u8; 8] {
    let [t0, t1] = online_ttc.to_be_bytes();
    let [r0, r1, r2, r3] = random;
    tdes_ecb(dlk, &[r0, r1, r2, r3, t0, t1, 0x80, 0x00])
}

/// Purchase session key: `3DES_DPK(random4 || offlineTTC2 || terminalTTC[2..4])`.
pub fn purchase_session_key(
    dpk: &[u8; 16],
    random: [u8; 4],
    offline_ttc: u16,
    terminal_ttc: u32,
) -> [u8; 8] {
    let [t0, t1] = offline_ttc.to_be_bytes();
    let [_, _, p2, p3] = terminal_ttc.to_be_bytes();
    let [r0, r1, r2, r3] = random;
    tdes_ecb(dpk, &[r0, r1, r2, r3, t0, t1, p2, p3])
}

/// Grey-lock session key (S5): the purchase derivation with the PSAM's
/// TTC, then a single-DES step over the PSAM's random, so both sides'
/// randoms enter the key.
pub fn grey_session_key(
    dpk: &[u8; 16],
    card_random: [u8; 4],
    ctc: u16,
    psam_ttc: u32,
    psam_random: [u8; 4],
) -> [u8; 8] {
    let tmp = purchase_session_key(dpk, card_random, ctc, psam_ttc);
    let [r0, r1, r2, r3] = psam_random;
    des_ecb(&tmp, &[r0, r1, r2, r3, 0x80, 0x00, 0x00, 0x00])
}

/// Unlock key for the GMAC [U]: `3DES_DPK(CTC2 || 93 || 80 00 00 00 00)`.
/// It depends on no random on purpose: a card pulled while grey-locked must
/// be unlockable later at another terminal from what GET GREY STATUS shows,
/// just as the Sinopec PSAM computes GMAC from `93 || ASN || CTC || amount`
/// alone. Replay is prevented by the CTC: the unlock moves it on.
pub fn unlock_session_key(dpk: &[u8; 16], ctc: u16) -> [u8; 8] {
    let [c0, c1] = ctc.to_be_bytes();
    tdes_ecb(dpk, &[c0, c1, txn_type::UNLOCK, 0x80, 0, 0, 0, 0])
}

/// TAC key: the two halves of the card's DTK XORed, a single-DES key.
pub fn tac_key(dtk: &[u8; 16]) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (i, o) in out.iter_mut().enumerate() {
        *o = dtk[i] ^ dtk[i + 8];
    }
    out
}

/// PIN-unblock session key [U]: `3DES_DPUK(challenge4 || 00 00 00 00)`,
/// so each unblock MAC is good for one GET CHALLENGE only.
pub fn pin_unblock_session_key(dpuk: &[u8; 16], challenge: [u8; 4]) -> [u8; 8] {
    let [c0, c1, c2, c3] = challenge;
    tdes_ecb(dpuk, &[c0, c1, c2, c3, 0, 0, 0, 0])
}

/// Concatenates fields for a MAC without a heap of `extend` calls.
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Load MAC1 (card → host): `balance4 || amount4 || type1 || termID6`.
pub fn load_mac1(
    seslk: &[u8; 8],
    balance_fen: u32,
    amount_fen: u32,
    txn_type: u8,
    terminal: [u8; 6],
) -> [u8; 4] {
    des_mac(
        seslk,
        &cat(&[
            &balance_fen.to_be_bytes(),
            &amount_fen.to_be_bytes(),
            &[txn_type],
            &terminal,
        ]),
    )
}

/// Load MAC2 (host → card): `amount4 || type1 || termID6 || date4 || time3`.
pub fn load_mac2(
    seslk: &[u8; 8],
    amount_fen: u32,
    txn_type: u8,
    terminal: [u8; 6],
    stamp: Stamp,
) -> [u8; 4] {
    des_mac(
        seslk,
        &cat(&[
            &amount_fen.to_be_bytes(),
            &[txn_type],
            &terminal,
            &stamp.date,
            &stamp.time,
        ]),
    )
}

/// Load TAC: `newBalance4 || onlineTTC2 (before the increment) || amount4 ||
/// type1 || termID6 || date4 || time3`, zero IV.
pub fn load_tac(
    tac_key: &[u8; 8],
    new_balance_fen: u32,
    online_ttc: u16,
    amount_fen: u32,
    txn_type: u8,
    terminal: [u8; 6],
    stamp: Stamp,
) -> [u8; 4] {
    des_mac(
        tac_key,
        &cat(&[
            &new_balance_fen.to_be_bytes(),
            &online_ttc.to_be_bytes(),
            &amount_fen.to_be_bytes(),
            &[txn_type],
            &terminal,
            &stamp.date,
            &stamp.time,
        ]),
    )
}

/// Purchase MAC1 (host → card): `amount4 || type1 || termID6 || date4 || time3`.
pub fn purchase_mac1(
    sespk: &[u8; 8],
    amount_fen: u32,
    txn_type: u8,
    terminal: [u8; 6],
    stamp: Stamp,
) -> [u8; 4] {
    // Same bytes as load MAC2; a different key.
    load_mac2(sespk, amount_fen, txn_type, terminal, stamp)
}

/// Purchase MAC2 (card → host): `amount4`.
pub fn purchase_mac2(sespk: &[u8; 8], amount_fen: u32) -> [u8; 4] {
    des_mac(sespk, &amount_fen.to_be_bytes())
}

/// Purchase TAC: `amount4 || type1 || termID6 || terminalTTC4 || date4 ||
/// time3`. The unlock TAC is the same layout with type `93` and the PSAM
/// TTC of the unlock [U].
pub fn purchase_tac(
    tac_key: &[u8; 8],
    amount_fen: u32,
    txn_type: u8,
    terminal: [u8; 6],
    terminal_ttc: u32,
    stamp: Stamp,
) -> [u8; 4] {
    des_mac(
        tac_key,
        &cat(&[
            &amount_fen.to_be_bytes(),
            &[txn_type],
            &terminal,
            &terminal_ttc.to_be_bytes(),
            &stamp.date,
            &stamp.time,
        ]),
    )
}

/// Grey-lock MAC1 (PSAM → card, S5): `91 || termID6 || date4 || time3`.
pub fn grey_mac1(sesk: &[u8; 8], terminal: [u8; 6], stamp: Stamp) -> [u8; 4] {
    des_mac(
        sesk,
        &cat(&[&[txn_type::GREY_LOCK], &terminal, &stamp.date, &stamp.time]),
    )
}

/// Grey-lock MAC2 (card → PSAM) [U]: `balance4`, the balance now locked.
pub fn grey_mac2(sesk: &[u8; 8], balance_fen: u32) -> [u8; 4] {
    des_mac(sesk, &balance_fen.to_be_bytes())
}

/// Grey-lock GTAC [U]: TAC key over `91 || termID6 || psamTTC4 || date4 ||
/// time3`; it proves the lock happened even to someone without the session.
pub fn grey_tac(tac_key: &[u8; 8], terminal: [u8; 6], psam_ttc: u32, stamp: Stamp) -> [u8; 4] {
    des_mac(
        tac_key,
        &cat(&[
            &[txn_type::GREY_LOCK],
            &terminal,
            &psam_ttc.to_be_bytes(),
            &stamp.date,
            &stamp.time,
        ]),
    )
}

/// GMAC for DEBIT FOR UNLOCK [U]: the unlock key over `93 || ASN8 || CTC2 ||
/// amount4`, exactly the PSAM `E0 44` input.
pub fn unlock_gmac(sesuk: &[u8; 8], asn8: [u8; 8], ctc: u16, amount_fen: u32) -> [u8; 4] {
    des_mac(
        sesuk,
        &cat(&[
            &[txn_type::UNLOCK],
            &asn8,
            &ctc.to_be_bytes(),
            &amount_fen.to_be_bytes(),
        ]),
    )
}

/// PIN-unblock MAC [U]: over the command header `84 24 00 00 Lc` and the new
/// PIN (BCD), so neither the command nor the PIN can be altered.
pub fn pin_unblock_mac(session: &[u8; 8], new_pin_bcd: &[u8]) -> [u8; 4] {
    // Lc covers the PIN and the 4-byte MAC; a PIN is at most 6 bytes.
    let lc = u8::try_from(new_pin_bcd.len().saturating_add(4)).unwrap_or(u8::MAX);
    des_mac(session, &cat(&[&[0x84, 0x24, 0x00, 0x00, lc], new_pin_bcd]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    const DK: &str = "11223344556677888877665544332211";

    #[test]
    fn load_vectors_from_reader_md() {
        let dlk = h::<16>(DK);
        let seslk = load_session_key(&dlk, h("11223344"), 0);
        assert_eq!(hex::encode_upper(seslk), "9B1D924E05595603");
        let terminal = h("001122334455");
        let mac1 = load_mac1(&seslk, 0, 0x1000, 0x01, terminal);
        assert_eq!(hex::encode_upper(mac1), "2988AE5A");
        let stamp = Stamp::from_bcd(h("20111221"), h("214822")).unwrap();
        let mac2 = load_mac2(&seslk, 0x1000, 0x01, terminal, stamp);
        assert_eq!(hex::encode_upper(mac2), "3A845BF0");
    }

    #[test]
    fn purchase_vectors_from_reader_md() {
        let dpk = h::<16>(DK);
        let sespk = purchase_session_key(&dpk, h("11223344"), 0, 1);
        assert_eq!(hex::encode_upper(sespk), "003238ABC57659DD");
        let stamp = Stamp::from_bcd(h("20120229"), h("135100")).unwrap();
        let mac1 = purchase_mac1(&sespk, 0x1000, 0x06, h("001122334455"), stamp);
        assert_eq!(hex::encode_upper(mac1), "F15CAB75");
        assert_eq!(hex::encode_upper(purchase_mac2(&sespk, 0x1000)), "56988A13");
    }

    #[test]
    fn purchase_session_uses_the_right_half_of_the_terminal_ttc() {
        let dpk = h::<16>(DK);
        let r = h("11223344");
        assert_eq!(
            purchase_session_key(&dpk, r, 0, 0xABCD_0001),
            purchase_session_key(&dpk, r, 0, 1)
        );
    }

    #[test]
    fn tac_key_xors_the_halves() {
        assert_eq!(tac_key(&h(DK)), h::<8>("9955551111555599"));
    }

    #[test]
    fn stamps() {
        let s = Stamp::new(2011, 12, 21, 21, 48, 22).unwrap();
        assert_eq!(s.date(), h::<4>("20111221"));
        assert_eq!(s.time(), h::<3>("214822"));
        assert_eq!(s.to_string(), "2011-12-21 21:48:22");
        assert!(Stamp::new(2023, 2, 29, 0, 0, 0).is_err());
        assert!(Stamp::new(2024, 2, 29, 0, 0, 0).is_ok());
        assert!(Stamp::new(2024, 1, 1, 24, 0, 0).is_err());
        assert!(Stamp::from_bcd(h("2024013A"), h("000000")).is_err());
        // 2012-02-29 05:51:00 UTC is 13:51 in China.
        let cn = Stamp::from_unix(1_330_494_660, 8 * 3600).unwrap();
        assert_eq!(cn, Stamp::new(2012, 2, 29, 13, 51, 0).unwrap());
        assert_eq!(
            Stamp::from_unix(946_684_800, 0).unwrap(),
            Stamp::new(2000, 1, 1, 0, 0, 0).unwrap()
        );
        assert!(Stamp::from_unix(0, 0).is_err());
        assert!(Stamp::from_unix(i64::MAX, 1).is_err());
    }
}
