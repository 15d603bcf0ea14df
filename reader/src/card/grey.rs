//! The Sinopec grey lock: INITIALIZE FOR GREY LOCK, GREY LOCK, DEBIT FOR
//! UNLOCK, GET GREY STATUS and CLEAR TACUF.
//!
//! A grey-locked card refuses INITIALIZE FOR LOAD, FOR PURCHASE and FOR
//! GREY LOCK with 6985 until it is debited for unlock; the lock survives
//! power loss, and the unlock needs no session, so any terminal can finish
//! it later.

use super::money::{purchase_init_answer, push_record};
use super::state::{Grey, LastTxn};
use super::{Fields, Session, SoftwareCard, Sw, check_lc, check_p1p2};
use crate::apdu::{Command, sw};
use crate::keys::crypto::mac_eq;
use crate::keys::{Stamp, scheme, txn_type};
use crate::purse::KEY_INDEX;
use crate::purse::data::{GreyFlag, GreyStatus, PublicData};

impl SoftwareCard {
    pub(super) fn grey_status(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        self.need_purse()?;
        check_p1p2(cmd, 0x00, 0x00)?;
        check_lc(cmd, 0)?;
        let app_type = PublicData::parse(&self.state.ef15)
            .map(|p| p.app_type)
            .unwrap_or(0);
        let mut status = GreyStatus {
            flag: GreyFlag::Clear,
            txn_type: 0,
            app_type,
            balance_fen: self.state.balance_fen,
            ctc: 0,
            terminal: [0; 6],
            date: [0; 4],
            time: [0; 3],
            word1: [0; 4],
            word2: [0; 4],
        };
        match self.state.grey {
            Grey::Clear => {}
            Grey::Locked {
                ctc,
                terminal,
                date,
                time,
                mac2,
                gtac,
                ..
            } => {
                status.flag = GreyFlag::Locked;
                status.txn_type = txn_type::GREY_LOCK;
                (status.ctc, status.terminal, status.date, status.time) =
                    (ctc, terminal, date, time);
                (status.word1, status.word2) = (mac2, gtac);
            }
            Grey::TacUnread {
                ctc,
                terminal,
                date,
                time,
                amount_fen,
                tac,
            } => {
                status.flag = GreyFlag::TacUnread;
                status.txn_type = txn_type::UNLOCK;
                (status.ctc, status.terminal, status.date, status.time) =
                    (ctc, terminal, date, time);
                (status.word1, status.word2) = (amount_fen.to_be_bytes(), tac);
            }
        }
        Ok(status.to_bytes().to_vec())
    }

    /// CLEAR TACUF: the terminal has the unlock TAC; back to normal. A
    /// locked card cannot be cleared (6985); a clear card stays clear.
    pub(super) fn clear_tacuf(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        self.need_purse()?;
        check_p1p2(cmd, 0x01, 0x00)?;
        check_lc(cmd, 0)?;
        match self.state.grey {
            Grey::Clear => Ok(Vec::new()),
            Grey::Locked { .. } => Err(sw::CONDITIONS_NOT_SATISFIED),
            Grey::TacUnread { .. } => {
                let mut next = self.state.clone();
                next.grey = Grey::Clear;
                self.commit(next)?;
                Ok(Vec::new())
            }
        }
    }

    pub(super) fn init_grey_lock(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        self.need_purse()?;
        check_p1p2(cmd, 0x08, 0x01)?;
        check_lc(cmd, 7)?;
        let mut f = Fields(&cmd.data);
        if f.u8()? != KEY_INDEX {
            return Err(sw::KEY_INDEX_UNSUPPORTED);
        }
        let terminal = f.take()?;
        if !self.ram.pin_verified {
            return Err(sw::SECURITY_NOT_SATISFIED);
        }
        let s = &self.state;
        if s.grey != Grey::Clear {
            return Err(sw::CONDITIONS_NOT_SATISFIED);
        }
        if s.balance_fen == 0 {
            return Err(sw::INSUFFICIENT_BALANCE);
        }
        if s.offline_ttc == u16::MAX {
            return Err(sw::OUT_OF_RANGE);
        }
        let key = Self::key(&s.keys.purchase)?;
        let random = Self::random4();
        let out = purchase_init_answer(s.balance_fen, s.offline_ttc, key.version, random);
        self.ram.session = Session::GreyInit {
            terminal,
            random,
            ctc: s.offline_ttc,
        };
        Ok(out)
    }

    pub(super) fn grey_lock(&mut self, cmd: &Command, session: Session) -> Result<Vec<u8>, Sw> {
        self.need_purse()?;
        check_p1p2(cmd, 0x08, 0x00)?;
        check_lc(cmd, 19)?;
        let Session::GreyInit {
            terminal,
            random,
            ctc,
        } = session
        else {
            return Err(sw::CONDITIONS_NOT_SATISFIED);
        };
        let mut f = Fields(&cmd.data);
        let psam_ttc = f.u32()?;
        let psam_random = f.take()?;
        let stamp = Stamp::from_bcd(f.take()?, f.take()?).map_err(|_| sw::BAD_DATA)?;
        let mac1: [u8; 4] = f.take()?;
        let dpk = Self::key(&self.state.keys.purchase)?.key;
        let sesk = scheme::grey_session_key(&dpk, random, ctc, psam_ttc, psam_random);
        if !mac_eq(&scheme::grey_mac1(&sesk, terminal, stamp), &mac1) {
            return Err(sw::MAC_INVALID);
        }
        let mut next = self.state.clone();
        let mac2 = scheme::grey_mac2(&sesk, next.balance_fen);
        let tac_key = scheme::tac_key(&Self::key(&next.keys.tac)?.key);
        let gtac = scheme::grey_tac(&tac_key, terminal, psam_ttc, stamp);
        next.grey = Grey::Locked {
            ctc,
            terminal,
            psam_ttc,
            date: stamp.date(),
            time: stamp.time(),
            mac2,
            gtac,
        };
        self.commit(next)?;
        Ok([gtac, mac2].concat())
    }

    /// DEBIT FOR UNLOCK: debits the amount actually sold and releases the
    /// lock. Checked against the locked CTC and the GMAC; needs neither a
    /// session nor the PIN, so a card pulled while locked can be settled
    /// at any terminal.
    pub(super) fn debit_for_unlock(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        self.need_purse()?;
        check_p1p2(cmd, 0x08, 0x01)?;
        check_lc(cmd, 27)?;
        let Grey::Locked {
            ctc: locked_ctc, ..
        } = self.state.grey
        else {
            return Err(sw::CONDITIONS_NOT_SATISFIED);
        };
        let mut f = Fields(&cmd.data);
        let amount_fen = f.u32()?;
        let ctc = f.u16()?;
        let terminal = f.take()?;
        let psam_ttc = f.u32()?;
        let stamp = Stamp::from_bcd(f.take()?, f.take()?).map_err(|_| sw::BAD_DATA)?;
        let gmac: [u8; 4] = f.take()?;
        if ctc != locked_ctc {
            return Err(sw::BAD_DATA);
        }
        let asn8 = PublicData::parse(&self.state.ef15)
            .map_err(|_| sw::CONDITIONS_NOT_SATISFIED)?
            .asn8();
        let dpk = Self::key(&self.state.keys.purchase)?.key;
        let sesuk = scheme::unlock_session_key(&dpk, ctc);
        if !mac_eq(&scheme::unlock_gmac(&sesuk, asn8, ctc, amount_fen), &gmac) {
            return Err(sw::MAC_INVALID);
        }
        let mut next = self.state.clone();
        next.balance_fen = next
            .balance_fen
            .checked_sub(amount_fen)
            .ok_or(sw::INSUFFICIENT_BALANCE)?;
        next.offline_ttc = ctc.checked_add(1).ok_or(sw::OUT_OF_RANGE)?;
        let tac_key = scheme::tac_key(&Self::key(&next.keys.tac)?.key);
        let tac = scheme::purchase_tac(
            &tac_key,
            amount_fen,
            txn_type::UNLOCK,
            terminal,
            psam_ttc,
            stamp,
        );
        push_record(
            &mut next.records,
            ctc,
            amount_fen,
            txn_type::UNLOCK,
            terminal,
            stamp,
        );
        next.last_offline = Some(LastTxn {
            txn_type: txn_type::UNLOCK,
            ttc_after: next.offline_ttc,
            mac: [0; 4],
            tac,
        });
        next.grey = Grey::TacUnread {
            ctc,
            terminal,
            date: stamp.date(),
            time: stamp.time(),
            amount_fen,
            tac,
        };
        self.commit(next)?;
        Ok(tac.to_vec())
    }
}
