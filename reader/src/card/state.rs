//! The software card's persistent memory (its "EEPROM") and how it is kept
//! in a JSON file.
//!
//! Every persistent change is written to a temporary file, synced, and
//! renamed over the old file before the card answers, so a card pulled at
//! any moment has either the old or the new state, and a credit the
//! terminal was told about is never lost. The file holds the card's keys,
//! as a real card's memory does: it is created readable by its owner only.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::purse::data::PublicData;

/// The largest balance a card holds: 100,000 yuan. A load that would pass
/// it is refused with 9402 [U].
pub const MAX_BALANCE_FEN: u32 = 10_000_000;
/// Wrong PINs allowed before the PIN blocks.
pub const PIN_TRIES: u8 = 3;
/// Records kept in the cyclic file SFI 0x18.
pub const RECORDS_KEPT: usize = 10;
const FORMAT: u32 = 1;

/// Why a card file could not be opened or created.
#[derive(Debug, thiserror::Error)]
pub enum CardFileError {
    #[error("card file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("card file {path} is not valid card state: {problem}")]
    Invalid { path: String, problem: String },
    #[error("card file {0} already exists; a new blank card is not written over a card")]
    Exists(String),
}

/// Hex strings in the file: readable, and diffable by a person checking a
/// card by hand.
mod hexser {
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer, T: AsRef<[u8]>>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode_upper(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: TryFrom<Vec<u8>>>(
        d: D,
    ) -> Result<T, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text).map_err(de::Error::custom)?;
        T::try_from(bytes).map_err(|_| de::Error::custom("wrong number of bytes"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySlot {
    pub version: u8,
    #[serde(with = "hexser")]
    pub key: [u8; 16],
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySlots {
    pub load: Option<KeySlot>,
    pub purchase: Option<KeySlot>,
    pub tac: Option<KeySlot>,
    pub pin_unblock: Option<KeySlot>,
}

impl KeySlots {
    fn complete(&self) -> bool {
        self.load.is_some()
            && self.purchase.is_some()
            && self.tac.is_some()
            && self.pin_unblock.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRecord(#[serde(with = "hexser")] pub [u8; 23]);

/// What GET TRANSACTION PROVE answers for the last transaction of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastTxn {
    pub txn_type: u8,
    pub ttc_after: u16,
    #[serde(with = "hexser")]
    pub mac: [u8; 4],
    #[serde(with = "hexser")]
    pub tac: [u8; 4],
}

/// The grey-lock state, as GET GREY STATUS reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum Grey {
    Clear,
    Locked {
        ctc: u16,
        #[serde(with = "hexser")]
        terminal: [u8; 6],
        psam_ttc: u32,
        #[serde(with = "hexser")]
        date: [u8; 4],
        #[serde(with = "hexser")]
        time: [u8; 3],
        #[serde(with = "hexser")]
        mac2: [u8; 4],
        #[serde(with = "hexser")]
        gtac: [u8; 4],
    },
    TacUnread {
        ctc: u16,
        #[serde(with = "hexser")]
        terminal: [u8; 6],
        #[serde(with = "hexser")]
        date: [u8; 4],
        #[serde(with = "hexser")]
        time: [u8; 3],
        amount_fen: u32,
        #[serde(with = "hexser")]
        tac: [u8; 4],
    },
}

/// Everything a card keeps across power loss.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardState {
    pub format: u32,
    #[serde(with = "hexser")]
    pub aid: Vec<u8>,
    pub personalised: bool,
    #[serde(with = "hexser")]
    pub ef15: [u8; 30],
    pub ef15_written: bool,
    #[serde(with = "hexser")]
    pub ef16: [u8; 41],
    pub keys: KeySlots,
    /// BCD with an `F` pad; empty until SET PIN.
    #[serde(with = "hexser")]
    pub pin: Vec<u8>,
    pub pin_tries_left: u8,
    pub balance_fen: u32,
    pub online_ttc: u16,
    pub offline_ttc: u16,
    /// Newest first.
    pub records: Vec<StoredRecord>,
    pub last_online: Option<LastTxn>,
    pub last_offline: Option<LastTxn>,
    pub grey: Grey,
}

impl CardState {
    pub fn blank(aid: &[u8]) -> Self {
        Self {
            format: FORMAT,
            aid: aid.to_vec(),
            personalised: false,
            ef15: [0; 30],
            ef15_written: false,
            ef16: [0; 41],
            keys: KeySlots::default(),
            pin: Vec::new(),
            pin_tries_left: PIN_TRIES,
            balance_fen: 0,
            online_ttc: 0,
            offline_ttc: 0,
            records: Vec::new(),
            last_online: None,
            last_offline: None,
            grey: Grey::Clear,
        }
    }

    /// Whether personalisation left everything a purse needs.
    pub fn ready_to_personalise(&self) -> bool {
        self.keys.complete()
            && !self.pin.is_empty()
            && self.ef15_written
            && PublicData::parse(&self.ef15).is_ok()
    }

    /// Invariants a state read from disk must hold; the card never writes
    /// a state that breaks them.
    pub fn check(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("format {} is not {FORMAT}", self.format));
        }
        if !(5..=16).contains(&self.aid.len()) {
            return Err("AID is not 5 to 16 bytes".into());
        }
        if !self.pin.is_empty() && !(2..=6).contains(&self.pin.len()) {
            return Err("PIN is not 2 to 6 bytes".into());
        }
        if self.pin_tries_left > PIN_TRIES {
            return Err("more PIN tries than allowed".into());
        }
        if self.balance_fen > MAX_BALANCE_FEN {
            return Err("balance above the purse maximum".into());
        }
        if self.records.len() > RECORDS_KEPT {
            return Err("too many records".into());
        }
        if self.personalised && !self.ready_to_personalise() {
            return Err("personalised without keys, PIN or public data".into());
        }
        Ok(())
    }
}

/// Where the state lives: a file, or nowhere (a card for tests that need
/// no persistence).
#[derive(Debug)]
pub enum Store {
    File(PathBuf),
    Memory,
}

impl Store {
    pub fn load(path: &Path) -> Result<CardState, CardFileError> {
        let text = fs::read_to_string(path).map_err(|source| CardFileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let state: CardState = serde_json::from_str(&text).map_err(|e| CardFileError::Invalid {
            path: path.display().to_string(),
            problem: e.to_string(),
        })?;
        state.check().map_err(|problem| CardFileError::Invalid {
            path: path.display().to_string(),
            problem,
        })?;
        Ok(state)
    }

    /// Writes the state durably: temp file, fsync, rename, fsync of the
    /// directory.
    pub fn save(&self, state: &CardState) -> std::io::Result<()> {
        let Store::File(path) = self else {
            return Ok(());
        };
        let json = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(&json)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Makes the rename itself durable; not all platforms allow
            // opening a directory, and the data is already safe in the file.
            if let Ok(d) = fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("card.json");
        let mut state = CardState::blank(&[0xA0, 0, 0, 0, 3]);
        state.grey = Grey::Locked {
            ctc: 3,
            terminal: [1; 6],
            psam_ttc: 9,
            date: [0x20, 0x24, 1, 1],
            time: [1, 2, 3],
            mac2: [4; 4],
            gtac: [5; 4],
        };
        state.records.push(StoredRecord([7; 23]));
        Store::File(path.clone()).save(&state).unwrap();
        assert_eq!(Store::load(&path).unwrap(), state);
        assert!(!dir.path().join("card.json.tmp").exists());
    }

    #[test]
    fn broken_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("card.json");
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(
            Store::load(&path),
            Err(CardFileError::Invalid { .. })
        ));
        let mut state = CardState::blank(&[0xA0, 0, 0, 0, 3]);
        state.balance_fen = MAX_BALANCE_FEN + 1;
        std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
        assert!(matches!(
            Store::load(&path),
            Err(CardFileError::Invalid { .. })
        ));
    }
}
