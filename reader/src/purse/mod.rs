//! The terminal side of the e-purse: one method per command APDU, each
//! returning typed data after checking the status word and the exact answer
//! length. `flows` puts the steps together (load, purchase, grey lock,
//! personalisation); the steps stay public because the service writes to
//! its database between them.

pub mod data;
pub mod flows;

use crate::apdu::{Command, Response, sw};
use crate::keys::{KeyError, Stamp};
use crate::transport::{Transport, TransportError, exchange};

pub use data::{GreyFlag, GreyStatus, Holder, LayoutError, PublicData, Record};
pub use flows::{
    GreyLockReceipt, LoadReceipt, Personalisation, PurchaseReceipt, Terminal, UnlockReceipt,
    confirm_grey_lock, confirm_load, confirm_purchase, confirm_unlock, grey_lock, load,
    personalise, purchase, purchase_with_grey_lock, unblock_pin, unlock,
};

/// The Sinopec fuel application, "SINOPEC" under RID A000000003.
pub const DEFAULT_AID: [u8; 12] = [
    0xA0, 0x00, 0x00, 0x00, 0x03, 0x53, 0x49, 0x4E, 0x4F, 0x50, 0x45, 0x43,
];

/// The one key index our cards hold for each purpose.
pub const KEY_INDEX: u8 = 0x01;

/// P2 of INITIALIZE and GET BALANCE: the electronic deposit (ED, 电子存折),
/// which is what Sinopec fuel cards use.
pub const ED: u8 = 0x01;

/// Most records a card keeps (and we read).
pub const MAX_RECORDS: u8 = 10;

/// Why a purse command failed.
#[derive(Debug, thiserror::Error)]
pub enum PurseError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("card answered {sw:04X}: {meaning}")]
    Status { sw: u16, meaning: &'static str },
    #[error("wrong PIN, {tries_left} tries left")]
    WrongPin { tries_left: u8 },
    #[error("the PIN is blocked")]
    PinLocked,
    #[error("insufficient balance on the card")]
    InsufficientBalance,
    /// The card refused our MAC (9302): wrong keys, or data altered.
    #[error("the card refused the MAC")]
    MacInvalid,
    #[error("the card's answer is malformed: {0}")]
    Malformed(String),
    /// The host refused the card's MAC or TAC, or the key service failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the card is grey-locked; unlock it first")]
    GreyLocked,
    #[error("invalid input: {0}")]
    Invalid(String),
}

impl From<LayoutError> for PurseError {
    fn from(e: LayoutError) -> Self {
        Self::Malformed(e.to_string())
    }
}

/// Maps a status word to its error, so callers match on meaning rather
/// than numbers.
fn status_error(sw_: u16) -> PurseError {
    if let Some(tries_left) = sw::pin_tries_left(sw_) {
        return PurseError::WrongPin { tries_left };
    }
    match sw_ {
        sw::BLOCKED => PurseError::PinLocked,
        sw::INSUFFICIENT_BALANCE => PurseError::InsufficientBalance,
        sw::MAC_INVALID => PurseError::MacInvalid,
        _ => PurseError::Status {
            sw: sw_,
            meaning: sw::describe(sw_),
        },
    }
}

fn fixed<const N: usize>(what: &str, data: &[u8]) -> Result<[u8; N], PurseError> {
    data.try_into().map_err(|_| {
        PurseError::Malformed(format!("{what}: expected {N} bytes, got {}", data.len()))
    })
}

fn be_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(b.get(..4).unwrap_or(&[0; 4]));
    u32::from_be_bytes(a)
}

fn be_u16(b: &[u8]) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(b.get(..2).unwrap_or(&[0; 2]));
    u16::from_be_bytes(a)
}

/// INITIALIZE FOR LOAD's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadInit {
    pub balance_fen: u32,
    pub online_ttc: u16,
    pub key_version: u8,
    pub alg_id: u8,
    pub random: [u8; 4],
    pub mac1: [u8; 4],
}

/// INITIALIZE FOR PURCHASE's answer (and INITIALIZE FOR GREY LOCK's, whose
/// counter is the CTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurchaseInit {
    pub balance_fen: u32,
    pub offline_ttc: u16,
    pub overdraft_limit_fen: u32,
    pub key_version: u8,
    pub alg_id: u8,
    pub random: [u8; 4],
}

/// INITIALIZE FOR GREY LOCK answers like INITIALIZE FOR PURCHASE; its
/// counter (`offline_ttc`) is the CTC the unlock must name.
pub type GreyInit = PurchaseInit;

/// What the card returns for a completed transaction: DEBIT FOR PURCHASE
/// (TAC then MAC2), GREY LOCK (GTAC then MAC2), GET TRANSACTION PROVE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proof {
    pub tac: [u8; 4],
    pub mac: [u8; 4],
}

/// Which card key a personalisation WRITE KEY sets (its P1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Load = 0x01,
    Purchase = 0x02,
    Tac = 0x03,
    PinUnblock = 0x04,
}

/// A terminal talking to one card through any transport.
pub struct Purse<'t> {
    transport: &'t mut dyn Transport,
}

impl<'t> Purse<'t> {
    pub fn new(transport: &'t mut dyn Transport) -> Self {
        Self { transport }
    }

    /// Sends one command; returns the data of a `9000` answer, or the error
    /// its status word means.
    fn run(&mut self, cmd: &Command) -> Result<Vec<u8>, PurseError> {
        let Response { data, sw: sw_ } = exchange(self.transport, cmd)?;
        if sw::is_ok(sw_) {
            Ok(data)
        } else {
            Err(status_error(sw_))
        }
    }

    /// Like `run` for commands that return nothing.
    fn run_empty(&mut self, what: &str, cmd: &Command) -> Result<(), PurseError> {
        let data = self.run(cmd)?;
        if data.is_empty() {
            Ok(())
        } else {
            Err(PurseError::Malformed(format!(
                "{what}: expected no data, got {} bytes",
                data.len()
            )))
        }
    }

    /// SELECT by name. The answer (FCI) is not needed and not checked.
    pub fn select(&mut self, aid: &[u8]) -> Result<(), PurseError> {
        if aid.len() < 5 || aid.len() > 16 {
            return Err(PurseError::Invalid("an AID is 5 to 16 bytes".into()));
        }
        self.run(
            &Command::new(0x00, 0xA4, 0x04, 0x00)
                .with_data(aid)
                .with_le(0),
        )?;
        Ok(())
    }

    /// READ BINARY of EF 0x15.
    pub fn read_public(&mut self) -> Result<PublicData, PurseError> {
        let data = self.run(&Command::new(0x00, 0xB0, 0x95, 0x00).with_le(0x1E))?;
        Ok(PublicData::parse(&data)?)
    }

    /// READ BINARY of EF 0x16.
    pub fn read_holder(&mut self) -> Result<Holder, PurseError> {
        let data = self.run(&Command::new(0x00, 0xB0, 0x96, 0x00).with_le(0x29))?;
        Ok(Holder::parse(&data)?)
    }

    /// GET BALANCE, in fen.
    pub fn balance(&mut self) -> Result<u32, PurseError> {
        let data = self.run(&Command::new(0x80, 0x5C, 0x00, ED).with_le(0x04))?;
        Ok(u32::from_be_bytes(fixed("GET BALANCE", &data)?))
    }

    /// VERIFY with the PIN's digits (4 to 12), BCD-packed with an `F` pad.
    pub fn verify_pin(&mut self, digits: &str) -> Result<(), PurseError> {
        let pin = pin_bcd(digits)?;
        self.run_empty(
            "VERIFY",
            &Command::new(0x00, 0x20, 0x00, 0x00).with_data(pin),
        )
    }

    /// INITIALIZE FOR LOAD.
    pub fn init_load(
        &mut self,
        key_idx: u8,
        amount_fen: u32,
        terminal: [u8; 6],
    ) -> Result<LoadInit, PurseError> {
        let data = self.run(&init_command(0x00, key_idx, amount_fen, terminal).with_le(0x10))?;
        let d = fixed::<16>("INITIALIZE FOR LOAD", &data)?;
        Ok(LoadInit {
            balance_fen: be_u32(&d[0..4]),
            online_ttc: be_u16(&d[4..6]),
            key_version: d[6],
            alg_id: d[7],
            random: fixed("random", &d[8..12])?,
            mac1: fixed("MAC1", &d[12..16])?,
        })
    }

    /// CREDIT FOR LOAD; returns the TAC.
    pub fn credit_load(&mut self, stamp: Stamp, mac2: [u8; 4]) -> Result<[u8; 4], PurseError> {
        let body = [&stamp.date()[..], &stamp.time(), &mac2].concat();
        let data = self.run(
            &Command::new(0x80, 0x52, 0x00, 0x00)
                .with_data(body)
                .with_le(0x04),
        )?;
        fixed("CREDIT FOR LOAD", &data)
    }

    /// INITIALIZE FOR PURCHASE (needs a verified PIN).
    pub fn init_purchase(
        &mut self,
        key_idx: u8,
        amount_fen: u32,
        terminal: [u8; 6],
    ) -> Result<PurchaseInit, PurseError> {
        let data = self.run(&init_command(0x01, key_idx, amount_fen, terminal).with_le(0x0F))?;
        purchase_init("INITIALIZE FOR PURCHASE", &data)
    }

    /// DEBIT FOR PURCHASE; returns TAC and MAC2.
    pub fn debit_purchase(
        &mut self,
        terminal_ttc: u32,
        stamp: Stamp,
        mac1: [u8; 4],
    ) -> Result<Proof, PurseError> {
        let body = [
            &terminal_ttc.to_be_bytes()[..],
            &stamp.date(),
            &stamp.time(),
            &mac1,
        ]
        .concat();
        let data = self.run(
            &Command::new(0x80, 0x54, 0x01, 0x00)
                .with_data(body)
                .with_le(0x08),
        )?;
        let d = fixed::<8>("DEBIT FOR PURCHASE", &data)?;
        Ok(Proof {
            tac: fixed("TAC", &d[0..4])?,
            mac: fixed("MAC2", &d[4..8])?,
        })
    }

    /// READ RECORD `n` of SFI 0x18 (1 = newest); `None` when the card has
    /// no such record (6A83).
    pub fn read_record(&mut self, n: u8) -> Result<Option<Record>, PurseError> {
        match self.run(&Command::new(0x00, 0xB2, n, 0xC4).with_le(0x17)) {
            Ok(data) => Ok(Some(Record::parse(&data)?)),
            Err(PurseError::Status {
                sw: sw::RECORD_NOT_FOUND,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The card's transaction records, newest first (at most ten).
    pub fn records(&mut self) -> Result<Vec<Record>, PurseError> {
        let mut out = Vec::new();
        for n in 1..=MAX_RECORDS {
            match self.read_record(n)? {
                Some(r) => out.push(r),
                None => break,
            }
        }
        Ok(out)
    }

    /// GET TRANSACTION PROVE for the transaction of `txn_type` whose counter
    /// is now `ttc_after` (the INITIALIZE value + 1). Answers MAC then TAC.
    pub fn transaction_prove(&mut self, txn_type: u8, ttc_after: u16) -> Result<Proof, PurseError> {
        let cmd = Command::new(0x80, 0x5A, 0x00, txn_type)
            .with_data(ttc_after.to_be_bytes())
            .with_le(0x08);
        let d = fixed::<8>("GET TRANSACTION PROVE", &self.run(&cmd)?)?;
        Ok(Proof {
            mac: fixed("MAC", &d[0..4])?,
            tac: fixed("TAC", &d[4..8])?,
        })
    }

    /// GET GREY STATUS.
    pub fn grey_status(&mut self) -> Result<GreyStatus, PurseError> {
        let data = self.run(&Command::new(0xE0, 0xCA, 0x00, 0x00).with_le(0x1E))?;
        Ok(GreyStatus::parse(&data)?)
    }

    /// INITIALIZE FOR GREY LOCK (needs a verified PIN); the counter in the
    /// answer is the CTC.
    pub fn init_grey_lock(
        &mut self,
        key_idx: u8,
        terminal: [u8; 6],
    ) -> Result<GreyInit, PurseError> {
        let body = [&[key_idx][..], &terminal].concat();
        let data = self.run(
            &Command::new(0xE0, 0x7A, 0x08, 0x01)
                .with_data(body)
                .with_le(0x0F),
        )?;
        purchase_init("INITIALIZE FOR GREY LOCK", &data)
    }

    /// GREY LOCK; returns GTAC and MAC2.
    pub fn grey_lock(
        &mut self,
        psam_ttc: u32,
        psam_random: [u8; 4],
        stamp: Stamp,
        mac1: [u8; 4],
    ) -> Result<Proof, PurseError> {
        let body = [
            &psam_ttc.to_be_bytes()[..],
            &psam_random,
            &stamp.date(),
            &stamp.time(),
            &mac1,
        ]
        .concat();
        let data = self.run(
            &Command::new(0xE0, 0x7C, 0x08, 0x00)
                .with_data(body)
                .with_le(0x08),
        )?;
        let d = fixed::<8>("GREY LOCK", &data)?;
        Ok(Proof {
            tac: fixed("GTAC", &d[0..4])?,
            mac: fixed("MAC2", &d[4..8])?,
        })
    }

    /// DEBIT FOR UNLOCK; returns the unlock TAC.
    #[allow(clippy::too_many_arguments)] // one per field of the APDU
    pub fn debit_for_unlock(
        &mut self,
        amount_fen: u32,
        ctc: u16,
        terminal: [u8; 6],
        psam_ttc: u32,
        stamp: Stamp,
        gmac: [u8; 4],
    ) -> Result<[u8; 4], PurseError> {
        let body = [
            &amount_fen.to_be_bytes()[..],
            &ctc.to_be_bytes(),
            &terminal,
            &psam_ttc.to_be_bytes(),
            &stamp.date(),
            &stamp.time(),
            &gmac,
        ]
        .concat();
        let data = self.run(
            &Command::new(0xE0, 0x7E, 0x08, 0x01)
                .with_data(body)
                .with_le(0x04),
        )?;
        fixed("DEBIT FOR UNLOCK", &data)
    }

    /// CLEAR TACUF: the terminal has read the unlock TAC.
    pub fn clear_tacuf(&mut self) -> Result<(), PurseError> {
        self.run_empty(
            "CLEAR TACUF",
            &Command::new(0xE0, 0xCA, 0x01, 0x00).with_le(0x00),
        )
    }

    /// GET CHALLENGE: four random bytes for the next PIN UNBLOCK.
    pub fn get_challenge(&mut self) -> Result<[u8; 4], PurseError> {
        let data = self.run(&Command::new(0x00, 0x84, 0x00, 0x00).with_le(0x04))?;
        fixed("GET CHALLENGE", &data)
    }

    /// PIN UNBLOCK: sets a new PIN and resets the tries, authorised by a
    /// MAC from the key service over the last challenge.
    pub fn pin_unblock(&mut self, new_pin: &str, mac: [u8; 4]) -> Result<(), PurseError> {
        let body = [pin_bcd(new_pin)?, mac.to_vec()].concat();
        self.run_empty(
            "PIN UNBLOCK",
            &Command::new(0x84, 0x24, 0x00, 0x00).with_data(body),
        )
    }

    /// Personalisation: WRITE KEY (blank cards only).
    pub fn write_key(
        &mut self,
        kind: KeyKind,
        version: u8,
        key: &[u8; 16],
    ) -> Result<(), PurseError> {
        let body = [&[version][..], key].concat();
        self.run_empty(
            "WRITE KEY",
            &Command::new(0x80, 0xD4, kind as u8, 0x00).with_data(body),
        )
    }

    /// Personalisation: UPDATE BINARY of EF 0x15 or 0x16 (blank cards only).
    pub fn update_binary(&mut self, sfi: u8, offset: u8, data: &[u8]) -> Result<(), PurseError> {
        if sfi > 0x1F || data.is_empty() {
            return Err(PurseError::Invalid("SFI above 31 or no data".into()));
        }
        self.run_empty(
            "UPDATE BINARY",
            &Command::new(0x00, 0xD6, 0x80 | sfi, offset).with_data(data),
        )
    }

    /// Personalisation: SET PIN (blank cards only).
    pub fn set_pin(&mut self, digits: &str) -> Result<(), PurseError> {
        let pin = pin_bcd(digits)?;
        self.run_empty(
            "SET PIN",
            &Command::new(0x80, 0xD8, 0x00, 0x00).with_data(pin),
        )
    }

    /// Personalisation: END PERSONALISATION. From now on the card is a
    /// purse and refuses all personalisation commands.
    pub fn end_personalisation(&mut self) -> Result<(), PurseError> {
        self.run_empty("END PERSONALISATION", &Command::new(0x80, 0xDA, 0x00, 0x00))
    }
}

/// The PIN as VERIFY sends it. 4 to 12 digits, as PBOC allows.
pub fn pin_bcd(digits: &str) -> Result<Vec<u8>, PurseError> {
    if !(4..=12).contains(&digits.len()) {
        return Err(PurseError::Invalid("a PIN is 4 to 12 digits".into()));
    }
    data::pack_digits(digits).ok_or_else(|| PurseError::Invalid("a PIN is digits only".into()))
}

fn init_command(p1: u8, key_idx: u8, amount_fen: u32, terminal: [u8; 6]) -> Command {
    let body = [&[key_idx][..], &amount_fen.to_be_bytes(), &terminal].concat();
    Command::new(0x80, 0x50, p1, ED).with_data(body)
}

fn purchase_init(what: &str, data: &[u8]) -> Result<PurchaseInit, PurseError> {
    let d = fixed::<15>(what, data)?;
    Ok(PurchaseInit {
        balance_fen: be_u32(&d[0..4]),
        offline_ttc: be_u16(&d[4..6]),
        overdraft_limit_fen: u32::from_be_bytes([0, d[6], d[7], d[8]]),
        key_version: d[9],
        alg_id: d[10],
        random: fixed("random", &d[11..15])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_map_to_errors() {
        assert!(matches!(
            status_error(0x63C1),
            PurseError::WrongPin { tries_left: 1 }
        ));
        assert!(matches!(status_error(0x6983), PurseError::PinLocked));
        assert!(matches!(
            status_error(0x9401),
            PurseError::InsufficientBalance
        ));
        assert!(matches!(status_error(0x9302), PurseError::MacInvalid));
        assert!(matches!(
            status_error(0x6A82),
            PurseError::Status { sw: 0x6A82, .. }
        ));
    }

    #[test]
    fn pins_are_checked() {
        assert_eq!(pin_bcd("123456").unwrap(), vec![0x12, 0x34, 0x56]);
        assert_eq!(pin_bcd("12345").unwrap(), vec![0x12, 0x34, 0x5F]);
        assert!(pin_bcd("123").is_err());
        assert!(pin_bcd("1234567890123").is_err());
        assert!(pin_bcd("12a4").is_err());
    }
}
