//! The software card: the fuel application as a card runs it, for tests,
//! demos and the virtual reader. It implements the same commands, keys and
//! layouts as `purse` and `keys`, keeps its memory in a JSON file (see
//! `state`), and answers every byte string with a status word — it never
//! panics, whatever it is sent.
//!
//! Handlers live by topic: `admin` (SELECT, PIN, files, personalisation),
//! `money` (balance, load, purchase, records, proofs), `grey` (grey lock).

mod admin;
mod grey;
mod money;
pub mod state;

use std::path::Path;

use rand::RngCore;

use crate::apdu::{Command, Response, sw};
use crate::purse::DEFAULT_AID;
use crate::transport::{Applet, Power};

pub use state::{CardFileError, MAX_BALANCE_FEN, PIN_TRIES, RECORDS_KEPT};
use state::{CardState, Grey, KeySlot, Store};

/// The answer to reset: T=1, no historical bytes (READER.md §1).
pub const ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];

/// A status word refusing a command; the card's state is unchanged.
type Sw = u16;

/// An INITIALIZE waiting for its second command. It lives in RAM only, and
/// any other command, or a power event, ends it: each session is used at
/// most once.
#[derive(Debug, Default)]
enum Session {
    #[default]
    None,
    Load {
        amount_fen: u32,
        terminal: [u8; 6],
        online_ttc: u16,
        seslk: [u8; 8],
    },
    Purchase {
        amount_fen: u32,
        terminal: [u8; 6],
        random: [u8; 4],
        offline_ttc: u16,
    },
    GreyInit {
        terminal: [u8; 6],
        random: [u8; 4],
        ctc: u16,
    },
}

/// What the card forgets on every power event.
#[derive(Debug, Default)]
struct Volatile {
    selected: bool,
    pin_verified: bool,
    session: Session,
    challenge: Option<[u8; 4]>,
}

/// A PBOC-style fuel card in software.
#[derive(Debug)]
pub struct SoftwareCard {
    state: CardState,
    store: Store,
    ram: Volatile,
}

impl SoftwareCard {
    /// A new blank card with the Sinopec AID, saved at `path` (which must
    /// not exist yet). It accepts the personalisation commands only.
    pub fn create_blank(path: &Path) -> Result<Self, CardFileError> {
        Self::create_blank_with_aid(path, &DEFAULT_AID)
    }

    pub fn create_blank_with_aid(path: &Path, aid: &[u8]) -> Result<Self, CardFileError> {
        if path.exists() {
            return Err(CardFileError::Exists(path.display().to_string()));
        }
        let state = CardState::blank(aid);
        state.check().map_err(|problem| CardFileError::Invalid {
            path: path.display().to_string(),
            problem,
        })?;
        let store = Store::File(path.to_path_buf());
        store.save(&state).map_err(|source| CardFileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self::with(state, store))
    }

    /// The card saved at `path`.
    pub fn open(path: &Path) -> Result<Self, CardFileError> {
        let state = Store::load(path)?;
        Ok(Self::with(state, Store::File(path.to_path_buf())))
    }

    /// A blank card that keeps its memory in RAM only (tests, fuzzing).
    pub fn blank_in_memory() -> Self {
        Self::with(CardState::blank(&DEFAULT_AID), Store::Memory)
    }

    fn with(state: CardState, store: Store) -> Self {
        Self {
            state,
            store,
            ram: Volatile::default(),
        }
    }

    /// For tests and inspection tools; terminals use GET BALANCE.
    pub fn balance_fen(&self) -> u32 {
        self.state.balance_fen
    }

    pub fn online_ttc(&self) -> u16 {
        self.state.online_ttc
    }

    pub fn offline_ttc(&self) -> u16 {
        self.state.offline_ttc
    }

    pub fn is_personalised(&self) -> bool {
        self.state.personalised
    }

    pub fn is_grey_locked(&self) -> bool {
        matches!(self.state.grey, Grey::Locked { .. })
    }

    pub fn pin_tries_left(&self) -> u8 {
        self.state.pin_tries_left
    }

    /// Makes `next` the card's state: saved first, then adopted. If the
    /// save fails the card answers 6581 and keeps the old state, so what it
    /// says and what it remembers never differ.
    fn commit(&mut self, next: CardState) -> Result<(), Sw> {
        if let Err(e) = self.store.save(&next) {
            tracing::error!(error = %e, "software card could not save its state");
            return Err(sw::MEMORY_FAILURE);
        }
        self.state = next;
        Ok(())
    }

    fn handle(&mut self, cmd: &Command) -> Response {
        // A wrong Le is refused before anything else happens, so the
        // terminal's resend finds the session still there.
        if let (Some(expected), Some(le)) = (answer_len(cmd), cmd.le) {
            if le != 0 && usize::from(le) != expected {
                return Response::status(0x6C00 | u16::from(le_byte(expected)));
            }
        }
        let session = std::mem::take(&mut self.ram.session);
        let challenge = self.ram.challenge.take();
        match self.dispatch(cmd, session, challenge) {
            Ok(data) => Response::new(data, sw::OK),
            Err(status) => Response::status(status),
        }
    }

    fn dispatch(
        &mut self,
        cmd: &Command,
        session: Session,
        challenge: Option<[u8; 4]>,
    ) -> Result<Vec<u8>, Sw> {
        if (cmd.cla, cmd.ins) == (0x00, 0xA4) {
            return self.select(cmd);
        }
        if !self.ram.selected {
            return Err(match cmd.cla {
                0x00 | 0x80 | 0x84 | 0xE0 => sw::CONDITIONS_NOT_SATISFIED,
                _ => sw::BAD_CLA,
            });
        }
        match (cmd.cla, cmd.ins) {
            (0x00, 0x20) => self.verify(cmd),
            (0x00, 0xB0) => self.read_binary(cmd),
            (0x00, 0xB2) => self.read_record(cmd),
            (0x00, 0x84) => self.get_challenge(cmd),
            (0x84, 0x24) => self.pin_unblock(cmd, challenge),
            (0x80, 0x5C) => self.get_balance(cmd),
            (0x80, 0x50) => match cmd.p1 {
                0x00 => self.init_load(cmd),
                0x01 => self.init_purchase(cmd),
                _ => Err(sw::BAD_P1P2),
            },
            (0x80, 0x52) => self.credit_load(cmd, session),
            (0x80, 0x54) => self.debit_purchase(cmd, session),
            (0x80, 0x5A) => self.transaction_prove(cmd),
            (0xE0, 0xCA) => match cmd.p1 {
                0x00 => self.grey_status(cmd),
                0x01 => self.clear_tacuf(cmd),
                _ => Err(sw::BAD_P1P2),
            },
            (0xE0, 0x7A) => self.init_grey_lock(cmd),
            (0xE0, 0x7C) => self.grey_lock(cmd, session),
            (0xE0, 0x7E) => self.debit_for_unlock(cmd),
            (0x80, 0xD4) => self.write_key(cmd),
            (0x00, 0xD6) => self.update_binary(cmd),
            (0x80, 0xD8) => self.set_pin(cmd),
            (0x80, 0xDA) => self.end_personalisation(cmd),
            (0x00 | 0x80 | 0x84 | 0xE0, _) => Err(sw::BAD_INS),
            _ => Err(sw::BAD_CLA),
        }
    }

    /// Purse commands need a personalised card.
    fn need_purse(&self) -> Result<(), Sw> {
        if self.state.personalised {
            Ok(())
        } else {
            Err(sw::CONDITIONS_NOT_SATISFIED)
        }
    }

    fn key(slot: &Option<KeySlot>) -> Result<&KeySlot, Sw> {
        slot.as_ref().ok_or(sw::CONDITIONS_NOT_SATISFIED)
    }

    fn random4() -> [u8; 4] {
        let mut r = [0u8; 4];
        rand::rngs::OsRng.fill_bytes(&mut r);
        r
    }
}

/// The fixed answer length of commands that have one, for the Le check.
fn answer_len(cmd: &Command) -> Option<usize> {
    match (cmd.cla, cmd.ins, cmd.p1) {
        (0x80, 0x5C, _) | (0x80, 0x52, _) | (0xE0, 0x7E, _) | (0x00, 0x84, _) => Some(4),
        (0x80, 0x50, 0x00) => Some(16),
        (0x80, 0x50, 0x01) | (0xE0, 0x7A, _) => Some(15),
        (0x80, 0x54, _) | (0x80, 0x5A, _) | (0xE0, 0x7C, _) => Some(8),
        (0xE0, 0xCA, 0x00) => Some(30),
        _ => None,
    }
}

fn le_byte(len: usize) -> u8 {
    u8::try_from(len).unwrap_or(0)
}

fn check_p1p2(cmd: &Command, p1: u8, p2: u8) -> Result<(), Sw> {
    if (cmd.p1, cmd.p2) == (p1, p2) {
        Ok(())
    } else {
        Err(sw::BAD_P1P2)
    }
}

fn check_lc(cmd: &Command, len: usize) -> Result<(), Sw> {
    if cmd.data.len() == len {
        Ok(())
    } else {
        Err(sw::WRONG_LENGTH)
    }
}

/// Reads the fields of a command's data in order; every read is checked,
/// so a handler cannot index past the data even if its length check were
/// wrong.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], Sw> {
        let (head, rest) = self.0.split_at_checked(N).ok_or(sw::WRONG_LENGTH)?;
        self.0 = rest;
        head.try_into().map_err(|_| sw::WRONG_LENGTH)
    }

    fn u8(&mut self) -> Result<u8, Sw> {
        Ok(self.take::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, Sw> {
        Ok(u16::from_be_bytes(self.take()?))
    }

    fn u32(&mut self) -> Result<u32, Sw> {
        Ok(u32::from_be_bytes(self.take()?))
    }
}

impl Applet for SoftwareCard {
    fn atr(&self) -> Vec<u8> {
        ATR.to_vec()
    }

    fn power(&mut self, _event: Power) {
        self.ram = Volatile::default();
    }

    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        let response = match Command::parse(command) {
            Ok(cmd) => self.handle(&cmd),
            Err(_) => Response::status(sw::WRONG_LENGTH),
        };
        response.to_bytes()
    }
}
