//! SELECT, the PIN, the binary files, and personalisation.
//!
//! Personalisation commands (project-defined, accepted only until END
//! PERSONALISATION): WRITE KEY `80 D4 kind 00 11 version key16`, UPDATE
//! BINARY `00 D6 (80|SFI) offset Lc data` for EF 0x15 and 0x16, SET PIN
//! `80 D8 00 00 Lc pinBCD`, END PERSONALISATION `80 DA 00 00`.

use super::state::{KeySlot, PIN_TRIES};
use super::{Fields, SoftwareCard, Sw, Volatile, check_lc, check_p1p2};
use crate::apdu::{Command, sw};
use crate::keys::crypto::mac_eq;
use crate::keys::scheme;
use crate::purse::data::unpack_digits;

/// A PIN as stored: 2 to 6 bytes of BCD digits, an `F` pad allowed last.
fn valid_pin(pin: &[u8]) -> bool {
    (2..=6).contains(&pin.len()) && unpack_digits(pin).is_some_and(|d| d.len() >= 4)
}

impl SoftwareCard {
    /// SELECT by name; answers a minimal FCI (tag 84 with the AID).
    pub(super) fn select(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        if cmd.p1 != 0x04 {
            self.ram = Volatile::default();
            return Err(sw::FILE_NOT_FOUND);
        }
        if cmd.p2 != 0x00 {
            return Err(sw::BAD_P1P2);
        }
        if cmd.data != self.state.aid {
            self.ram = Volatile::default();
            return Err(sw::FILE_NOT_FOUND);
        }
        // Selecting the application again starts afresh: no PIN, no session.
        self.ram = Volatile {
            selected: true,
            ..Volatile::default()
        };
        let aid = &self.state.aid;
        let len = u8::try_from(aid.len()).map_err(|_| sw::MEMORY_FAILURE)?;
        Ok([&[0x6F, len + 2, 0x84, len][..], aid].concat())
    }

    /// VERIFY. Three wrong PINs in a row block it (63C2, 63C1, then 6983);
    /// the count is saved before the card answers, so pulling the card
    /// does not buy more tries. Without data it reports the tries left.
    pub(super) fn verify(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        self.need_purse()?;
        check_p1p2(cmd, 0x00, 0x00)?;
        let tries = self.state.pin_tries_left;
        if tries == 0 {
            return Err(sw::BLOCKED);
        }
        if cmd.data.is_empty() {
            return if self.ram.pin_verified {
                Ok(Vec::new())
            } else {
                Err(0x63C0 | u16::from(tries))
            };
        }
        if !(2..=6).contains(&cmd.data.len()) {
            return Err(sw::WRONG_LENGTH);
        }
        if mac_eq(&cmd.data, &self.state.pin) {
            if tries != PIN_TRIES {
                let mut next = self.state.clone();
                next.pin_tries_left = PIN_TRIES;
                self.commit(next)?;
            }
            self.ram.pin_verified = true;
            return Ok(Vec::new());
        }
        self.ram.pin_verified = false;
        let mut next = self.state.clone();
        next.pin_tries_left = tries - 1;
        self.commit(next)?;
        match tries - 1 {
            0 => Err(sw::BLOCKED),
            left => Err(0x63C0 | u16::from(left)),
        }
    }

    /// READ BINARY by SFI (P1 = 80|SFI, P2 = offset) of EF 0x15 or 0x16.
    /// Le 00 or absent reads to the end; a longer Le answers 6Cxx with what
    /// is there.
    pub(super) fn read_binary(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        if cmd.p1 & 0xE0 != 0x80 {
            return Err(sw::BAD_P1P2);
        }
        check_lc(cmd, 0)?;
        let file: &[u8] = match cmd.p1 & 0x1F {
            0x15 => &self.state.ef15,
            0x16 => &self.state.ef16,
            _ => return Err(sw::FILE_NOT_FOUND),
        };
        let rest = file
            .get(usize::from(cmd.p2)..)
            .filter(|r| !r.is_empty())
            .ok_or(0x6B00u16)?;
        match cmd.le.map(usize::from) {
            None | Some(0) => Ok(rest.to_vec()),
            Some(le) => match rest.get(..le) {
                Some(part) => Ok(part.to_vec()),
                None => Err(0x6C00 | u16::try_from(rest.len()).unwrap_or(0)),
            },
        }
    }

    /// GET CHALLENGE: a random for the very next command (PIN UNBLOCK).
    pub(super) fn get_challenge(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        check_p1p2(cmd, 0x00, 0x00)?;
        check_lc(cmd, 0)?;
        let challenge = Self::random4();
        self.ram.challenge = Some(challenge);
        Ok(challenge.to_vec())
    }

    /// PIN UNBLOCK [U]: `84 24 00 00 Lc newPIN MAC4`, the MAC by the card's
    /// DPUK over the header and new PIN, keyed to the last challenge.
    /// Sets the PIN and restores the tries.
    pub(super) fn pin_unblock(
        &mut self,
        cmd: &Command,
        challenge: Option<[u8; 4]>,
    ) -> Result<Vec<u8>, Sw> {
        self.need_purse()?;
        check_p1p2(cmd, 0x00, 0x00)?;
        if !(6..=10).contains(&cmd.data.len()) {
            return Err(sw::WRONG_LENGTH);
        }
        let challenge = challenge.ok_or(sw::RANDOM_MISSING)?;
        let (pin, mac) = cmd.data.split_at(cmd.data.len() - 4);
        let dpuk = Self::key(&self.state.keys.pin_unblock)?.key;
        let session = scheme::pin_unblock_session_key(&dpuk, challenge);
        if !mac_eq(&scheme::pin_unblock_mac(&session, pin), mac) {
            return Err(sw::MAC_INVALID);
        }
        if !valid_pin(pin) {
            return Err(sw::BAD_DATA);
        }
        let mut next = self.state.clone();
        next.pin = pin.to_vec();
        next.pin_tries_left = PIN_TRIES;
        self.commit(next)?;
        self.ram.pin_verified = false;
        Ok(Vec::new())
    }

    fn need_blank(&self) -> Result<(), Sw> {
        if self.state.personalised {
            Err(sw::CONDITIONS_NOT_SATISFIED)
        } else {
            Ok(())
        }
    }

    /// WRITE KEY: P1 01 load, 02 purchase, 03 TAC, 04 PIN unblock.
    pub(super) fn write_key(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        self.need_blank()?;
        if cmd.p2 != 0 || !(1..=4).contains(&cmd.p1) {
            return Err(sw::BAD_P1P2);
        }
        check_lc(cmd, 17)?;
        let mut f = Fields(&cmd.data);
        let slot = KeySlot {
            version: f.u8()?,
            key: f.take()?,
        };
        let mut next = self.state.clone();
        let target = match cmd.p1 {
            1 => &mut next.keys.load,
            2 => &mut next.keys.purchase,
            3 => &mut next.keys.tac,
            _ => &mut next.keys.pin_unblock,
        };
        *target = Some(slot);
        self.commit(next)?;
        Ok(Vec::new())
    }

    pub(super) fn update_binary(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        self.need_blank()?;
        if cmd.p1 & 0xE0 != 0x80 {
            return Err(sw::BAD_P1P2);
        }
        if cmd.data.is_empty() {
            return Err(sw::WRONG_LENGTH);
        }
        let mut next = self.state.clone();
        let sfi = cmd.p1 & 0x1F;
        let file: &mut [u8] = match sfi {
            0x15 => &mut next.ef15,
            0x16 => &mut next.ef16,
            _ => return Err(sw::FILE_NOT_FOUND),
        };
        let start = usize::from(cmd.p2);
        let target = file
            .get_mut(start..start + cmd.data.len())
            .ok_or(sw::WRONG_LENGTH)?;
        target.copy_from_slice(&cmd.data);
        if sfi == 0x15 {
            next.ef15_written = true;
        }
        self.commit(next)?;
        Ok(Vec::new())
    }

    pub(super) fn set_pin(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        self.need_blank()?;
        check_p1p2(cmd, 0x00, 0x00)?;
        if !(2..=6).contains(&cmd.data.len()) {
            return Err(sw::WRONG_LENGTH);
        }
        if !valid_pin(&cmd.data) {
            return Err(sw::BAD_DATA);
        }
        let mut next = self.state.clone();
        next.pin = cmd.data.clone();
        next.pin_tries_left = PIN_TRIES;
        self.commit(next)?;
        Ok(Vec::new())
    }

    /// END PERSONALISATION: needs all four keys, a PIN, and EF 0x15 with a
    /// valid ASN; afterwards the card is a purse for good.
    pub(super) fn end_personalisation(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        self.need_blank()?;
        check_p1p2(cmd, 0x00, 0x00)?;
        check_lc(cmd, 0)?;
        if !self.state.ready_to_personalise() {
            return Err(sw::CONDITIONS_NOT_SATISFIED);
        }
        let mut next = self.state.clone();
        next.personalised = true;
        self.commit(next)?;
        Ok(Vec::new())
    }
}
