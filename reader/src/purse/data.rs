//! The byte layouts of the application's files and status blocks, shared by
//! the terminal (`Purse`) and the software card (`card`), each with a
//! parser that checks lengths and a writer.

use std::fmt;

/// Why bytes from a card do not fit the layout expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {problem}")]
pub struct LayoutError {
    pub what: &'static str,
    pub problem: String,
}

fn layout(what: &'static str, problem: impl Into<String>) -> LayoutError {
    LayoutError {
        what,
        problem: problem.into(),
    }
}

fn exact<'a, const N: usize>(
    what: &'static str,
    bytes: &'a [u8],
) -> Result<&'a [u8; N], LayoutError> {
    bytes
        .try_into()
        .map_err(|_| layout(what, format!("expected {N} bytes, got {}", bytes.len())))
}

/// Copies `N` bytes at `at`; callers pass slices already checked for length.
fn take<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = bytes.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

/// Packs decimal digits as BCD, padding an odd count with `F` (the PIN
/// convention). `None` if a character is not a digit.
pub fn pack_digits(digits: &str) -> Option<Vec<u8>> {
    let nibbles: Vec<u8> = digits
        .chars()
        .map(|c| c.to_digit(10).and_then(|d| u8::try_from(d).ok()))
        .collect::<Option<_>>()?;
    Some(
        nibbles
            .chunks(2)
            .map(|pair| match pair {
                [hi, lo] => (hi << 4) | lo,
                [hi] => (hi << 4) | 0x0F,
                _ => 0xFF,
            })
            .collect(),
    )
}

/// Unpacks BCD digits, stopping at an `F` pad nibble; `None` on any other
/// non-digit nibble.
pub fn unpack_digits(bcd: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(bcd.len() * 2);
    for (i, nibble) in bcd.iter().flat_map(|b| [b >> 4, b & 0x0F]).enumerate() {
        match nibble {
            0..=9 => out.push(char::from(b'0' + nibble)),
            0x0F if i + 1 == bcd.len() * 2 => break,
            _ => return None,
        }
    }
    Some(out)
}

/// EF 0x15, the public application data (30 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicData {
    pub issuer_id: [u8; 8],
    pub app_type: u8,
    pub app_version: u8,
    /// Application serial number: `00 00` then the 16-digit card number in
    /// BCD. The right eight bytes diversify the card keys.
    pub asn: [u8; 10],
    /// BCD `YYYYMMDD`.
    pub start_date: [u8; 4],
    /// BCD `YYYYMMDD`; the card does not enforce it (it has no clock), the
    /// terminal does.
    pub expiry_date: [u8; 4],
    pub instruction_set_version: u8,
    /// The 16 digits of ASN bytes 2..10.
    pub card_number: String,
}

impl PublicData {
    pub const LEN: usize = 30;

    /// The data for our card number: a 16-digit number becomes ASN
    /// `0000 || number`.
    pub fn for_card(
        card_number: &str,
        issuer_id: [u8; 8],
        app_type: u8,
        app_version: u8,
        start_date: [u8; 4],
        expiry_date: [u8; 4],
    ) -> Result<Self, LayoutError> {
        let asn = asn_for(card_number)?;
        Ok(Self {
            issuer_id,
            app_type,
            app_version,
            asn,
            start_date,
            expiry_date,
            instruction_set_version: 0x01,
            card_number: card_number.to_owned(),
        })
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, LayoutError> {
        let b = exact::<{ Self::LEN }>("EF15 public data", bytes)?;
        let asn: [u8; 10] = take(b, 10);
        let card_number = card_number_of(&asn)?;
        Ok(Self {
            issuer_id: take(b, 0),
            app_type: b[8],
            app_version: b[9],
            asn,
            start_date: take(b, 20),
            expiry_date: take(b, 24),
            instruction_set_version: b[28],
            card_number,
        })
    }

    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..8].copy_from_slice(&self.issuer_id);
        out[8] = self.app_type;
        out[9] = self.app_version;
        out[10..20].copy_from_slice(&self.asn);
        out[20..24].copy_from_slice(&self.start_date);
        out[24..28].copy_from_slice(&self.expiry_date);
        out[28] = self.instruction_set_version;
        out
    }

    /// The key-diversification input: the ASN's right eight bytes.
    pub fn asn8(&self) -> [u8; 8] {
        take(&self.asn, 2)
    }
}

/// ASN `00 00 || BCD(card number)` for a 16-digit card number.
pub fn asn_for(card_number: &str) -> Result<[u8; 10], LayoutError> {
    if card_number.len() != 16 {
        return Err(layout("card number", "must be 16 digits"));
    }
    let bcd = pack_digits(card_number).ok_or_else(|| layout("card number", "must be 16 digits"))?;
    let mut asn = [0u8; 10];
    asn[2..].copy_from_slice(&bcd);
    Ok(asn)
}

fn card_number_of(asn: &[u8; 10]) -> Result<String, LayoutError> {
    match unpack_digits(&asn[2..]) {
        Some(n) if n.len() == 16 && asn[..2] == [0, 0] => Ok(n),
        _ => Err(layout("ASN", "not 0000 followed by a 16-digit card number")),
    }
}

/// EF 0x16, the card holder (41 bytes). The name is stored as UTF-8,
/// zero-padded to 20 bytes (our own cards; Sinopec cards use GBK, which
/// reads back with replacement characters rather than failing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub kind: u8,
    pub employee: bool,
    pub name: String,
    pub id_number: String,
    pub id_type: u8,
}

impl Holder {
    pub const LEN: usize = 41;
    const NAME_LEN: usize = 20;
    const ID_LEN: usize = 18;

    /// Checks that the name fits 20 bytes of UTF-8 and the ID number 18
    /// ASCII characters.
    pub fn new(
        kind: u8,
        employee: bool,
        name: &str,
        id_number: &str,
        id_type: u8,
    ) -> Result<Self, LayoutError> {
        if name.len() > Self::NAME_LEN || name.contains('\0') {
            return Err(layout("holder name", "at most 20 bytes of UTF-8"));
        }
        if id_number.len() > Self::ID_LEN || !id_number.chars().all(|c| c.is_ascii_graphic()) {
            return Err(layout("ID number", "at most 18 ASCII letters and digits"));
        }
        Ok(Self {
            kind,
            employee,
            name: name.to_owned(),
            id_number: id_number.to_owned(),
            id_type,
        })
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, LayoutError> {
        let b = exact::<{ Self::LEN }>("EF16 holder", bytes)?;
        let text = |range: &[u8]| {
            let end = range.iter().position(|&c| c == 0).unwrap_or(range.len());
            String::from_utf8_lossy(&range[..end]).trim_end().to_owned()
        };
        Ok(Self {
            kind: b[0],
            employee: b[1] != 0,
            name: text(&b[2..22]),
            id_number: text(&b[22..40]),
            id_type: b[40],
        })
    }

    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[0] = self.kind;
        out[1] = u8::from(self.employee);
        let name = self.name.as_bytes();
        let name = name.get(..Self::NAME_LEN).unwrap_or(name);
        out[2..2 + name.len()].copy_from_slice(name);
        let id = self.id_number.as_bytes();
        let id = id.get(..Self::ID_LEN).unwrap_or(id);
        out[22..22 + id.len()].copy_from_slice(id);
        out[40] = self.id_type;
        out
    }
}

/// One transaction record of SFI 0x18 (23 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// The counter before the transaction (online for loads, offline for
    /// purchases and unlocks).
    pub ttc: u16,
    /// Three bytes on the card.
    pub overdraft_limit_fen: u32,
    pub amount_fen: u32,
    pub txn_type: u8,
    pub terminal: [u8; 6],
    pub date: [u8; 4],
    pub time: [u8; 3],
}

impl Record {
    pub const LEN: usize = 23;

    pub fn parse(bytes: &[u8]) -> Result<Self, LayoutError> {
        let b = exact::<{ Self::LEN }>("transaction record", bytes)?;
        Ok(Self {
            ttc: u16::from_be_bytes(take(b, 0)),
            overdraft_limit_fen: u32::from_be_bytes([0, b[2], b[3], b[4]]),
            amount_fen: u32::from_be_bytes(take(b, 5)),
            txn_type: b[9],
            terminal: take(b, 10),
            date: take(b, 16),
            time: take(b, 20),
        })
    }

    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..2].copy_from_slice(&self.ttc.to_be_bytes());
        out[2..5].copy_from_slice(&self.overdraft_limit_fen.to_be_bytes()[1..]);
        out[5..9].copy_from_slice(&self.amount_fen.to_be_bytes());
        out[9] = self.txn_type;
        out[10..16].copy_from_slice(&self.terminal);
        out[16..20].copy_from_slice(&self.date);
        out[20..23].copy_from_slice(&self.time);
        out
    }
}

/// The grey-lock flag of GET GREY STATUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GreyFlag {
    /// `00`: not locked.
    Clear,
    /// `01`: grey-locked; purchases and loads are refused until unlocked.
    Locked,
    /// `10`: debited for unlock; the TAC has not been read and cleared.
    TacUnread,
}

impl GreyFlag {
    pub fn byte(self) -> u8 {
        match self {
            Self::Clear => 0x00,
            Self::Locked => 0x01,
            Self::TacUnread => 0x10,
        }
    }
}

/// GET GREY STATUS (30 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct GreyStatus {
    pub flag: GreyFlag,
    pub txn_type: u8,
    pub app_type: u8,
    pub balance_fen: u32,
    pub ctc: u16,
    pub terminal: [u8; 6],
    pub date: [u8; 4],
    pub time: [u8; 3],
    /// MAC2 when locked, else the amount debited.
    pub word1: [u8; 4],
    /// GTAC when locked, else the unlock TAC.
    pub word2: [u8; 4],
}

impl GreyStatus {
    pub const LEN: usize = 30;

    pub fn parse(bytes: &[u8]) -> Result<Self, LayoutError> {
        let b = exact::<{ Self::LEN }>("grey status", bytes)?;
        let flag = match b[0] {
            0x00 => GreyFlag::Clear,
            0x01 => GreyFlag::Locked,
            0x10 => GreyFlag::TacUnread,
            other => return Err(layout("grey status", format!("unknown flag {other:02X}"))),
        };
        Ok(Self {
            flag,
            txn_type: b[1],
            app_type: b[2],
            balance_fen: u32::from_be_bytes(take(b, 3)),
            ctc: u16::from_be_bytes(take(b, 7)),
            terminal: take(b, 9),
            date: take(b, 15),
            time: take(b, 19),
            word1: take(b, 22),
            word2: take(b, 26),
        })
    }

    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[0] = self.flag.byte();
        out[1] = self.txn_type;
        out[2] = self.app_type;
        out[3..7].copy_from_slice(&self.balance_fen.to_be_bytes());
        out[7..9].copy_from_slice(&self.ctc.to_be_bytes());
        out[9..15].copy_from_slice(&self.terminal);
        out[15..19].copy_from_slice(&self.date);
        out[19..22].copy_from_slice(&self.time);
        out[22..26].copy_from_slice(&self.word1);
        out[26..30].copy_from_slice(&self.word2);
        out
    }

    /// MAC2 and GTAC of the lock, if the card is grey-locked.
    pub fn lock_macs(&self) -> Option<([u8; 4], [u8; 4])> {
        (self.flag == GreyFlag::Locked).then_some((self.word1, self.word2))
    }

    /// Amount and TAC of the last debit for unlock, if the card is not
    /// locked and has unlocked before.
    pub fn unlock(&self) -> Option<(u32, [u8; 4])> {
        (self.flag != GreyFlag::Locked && self.txn_type != 0)
            .then_some((u32::from_be_bytes(self.word1), self.word2))
    }
}

impl fmt::Debug for GreyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GreyStatus")
            .field("flag", &self.flag)
            .field("txn_type", &format_args!("{:02X}", self.txn_type))
            .field("balance_fen", &self.balance_fen)
            .field("ctc", &self.ctc)
            .field("terminal", &hex::encode_upper(self.terminal))
            .field("date", &hex::encode_upper(self.date))
            .field("time", &hex::encode_upper(self.time))
            .field("word1", &hex::encode_upper(self.word1))
            .field("word2", &hex::encode_upper(self.word2))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_pack_and_unpack() {
        assert_eq!(pack_digits("123456").unwrap(), vec![0x12, 0x34, 0x56]);
        assert_eq!(pack_digits("12345").unwrap(), vec![0x12, 0x34, 0x5F]);
        assert_eq!(pack_digits("12a4"), None);
        assert_eq!(unpack_digits(&[0x12, 0x34, 0x5F]).unwrap(), "12345");
        assert_eq!(unpack_digits(&[0x1F, 0x34]), None);
        assert_eq!(unpack_digits(&[0x1A]), None);
    }

    #[test]
    fn public_data_round_trips() {
        let p = PublicData::for_card(
            "1000000000000001",
            *b"FUELCARD",
            1,
            1,
            [0x20, 0x25, 1, 1],
            [0x20, 0x35, 1, 1],
        )
        .unwrap();
        assert_eq!(p.asn8(), [0x10, 0, 0, 0, 0, 0, 0, 0x01]);
        assert_eq!(PublicData::parse(&p.to_bytes()).unwrap(), p);
        assert!(PublicData::parse(&p.to_bytes()[..29]).is_err());
        assert!(PublicData::for_card("123", [0; 8], 1, 1, [0; 4], [0; 4]).is_err());
        let mut bad = p.to_bytes();
        bad[10] = 1;
        assert!(PublicData::parse(&bad).is_err());
    }

    #[test]
    fn holder_round_trips() {
        let h = Holder::new(1, false, "张三丰", "110101199001011234", 0).unwrap();
        assert_eq!(Holder::parse(&h.to_bytes()).unwrap(), h);
        assert!(Holder::new(1, false, "一二三四五六七", "", 0).is_err());
        let gbk_like = [0xD5u8; 41];
        assert!(Holder::parse(&gbk_like).is_ok());
    }

    #[test]
    fn record_and_grey_status_round_trip() {
        let r = Record {
            ttc: 7,
            overdraft_limit_fen: 0x00AB_CDEF,
            amount_fen: 1000,
            txn_type: 0x05,
            terminal: [1, 2, 3, 4, 5, 6],
            date: [0x20, 0x24, 0x02, 0x29],
            time: [0x13, 0x51, 0x00],
        };
        assert_eq!(Record::parse(&r.to_bytes()).unwrap(), r);
        let g = GreyStatus {
            flag: GreyFlag::Locked,
            txn_type: 0x91,
            app_type: 1,
            balance_fen: 5000,
            ctc: 3,
            terminal: [1; 6],
            date: [0x20, 0x24, 1, 1],
            time: [1, 2, 3],
            word1: [9; 4],
            word2: [8; 4],
        };
        assert_eq!(GreyStatus::parse(&g.to_bytes()).unwrap(), g);
        assert_eq!(g.lock_macs(), Some(([9; 4], [8; 4])));
        let mut bad = g.to_bytes();
        bad[0] = 0x02;
        assert!(GreyStatus::parse(&bad).is_err());
    }
}
