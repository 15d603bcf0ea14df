//! Balance, load, purchase, records and transaction proofs.

use super::state::{LastTxn, RECORDS_KEPT, StoredRecord};
use super::{Fields, Session, SoftwareCard, Sw, check_lc, check_p1p2};
use crate::apdu::{Command, sw};
use crate::card::state::{Grey, MAX_BALANCE_FEN};
use crate::keys::crypto::mac_eq;
use crate::keys::{Stamp, scheme, txn_type};
use crate::purse::data::Record;
use crate::purse::{ED, KEY_INDEX};

/// Algorithm ID `00`: DES/3DES.
const ALG_DES: u8 = 0x00;

impl SoftwareCard {
    pub(super) fn get_balance(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        self.need_purse()?;
        check_p1p2(cmd, 0x00, ED)?;
        check_lc(cmd, 0)?;
        Ok(self.state.balance_fen.to_be_bytes().to_vec())
    }

    /// The checks INITIALIZE FOR LOAD and FOR PURCHASE share; returns the
    /// amount and terminal.
    fn init_fields(&self, cmd: &Command) -> Result<(u32, [u8; 6]), Sw> {
        self.need_purse()?;
        if cmd.p2 != ED {
            return Err(sw::BAD_P1P2);
        }
        check_lc(cmd, 11)?;
        let mut f = Fields(&cmd.data);
        if f.u8()? != KEY_INDEX {
            return Err(sw::KEY_INDEX_UNSUPPORTED);
        }
        let amount_fen = f.u32()?;
        let terminal = f.take()?;
        if amount_fen == 0 {
            return Err(sw::BAD_DATA);
        }
        if matches!(self.state.grey, Grey::Locked { .. }) {
            return Err(sw::CONDITIONS_NOT_SATISFIED);
        }
        Ok((amount_fen, terminal))
    }

    pub(super) fn init_load(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        let (amount_fen, terminal) = self.init_fields(cmd)?;
        let s = &self.state;
        let within = s
            .balance_fen
            .checked_add(amount_fen)
            .is_some_and(|b| b <= MAX_BALANCE_FEN);
        if !within || s.online_ttc == u16::MAX {
            return Err(sw::OUT_OF_RANGE);
        }
        let key = Self::key(&s.keys.load)?;
        let random = Self::random4();
        let seslk = scheme::load_session_key(&key.key, random, s.online_ttc);
        let mac1 = scheme::load_mac1(
            &seslk,
            s.balance_fen,
            amount_fen,
            txn_type::ED_LOAD,
            terminal,
        );
        let out = [
            &s.balance_fen.to_be_bytes()[..],
            &s.online_ttc.to_be_bytes(),
            &[key.version, ALG_DES],
            &random,
            &mac1,
        ]
        .concat();
        self.ram.session = Session::Load {
            amount_fen,
            terminal,
            online_ttc: s.online_ttc,
            seslk,
        };
        Ok(out)
    }

    pub(super) fn credit_load(&mut self, cmd: &Command, session: Session) -> Result<Vec<u8>, Sw> {
        self.need_purse()?;
        check_p1p2(cmd, 0x00, 0x00)?;
        check_lc(cmd, 11)?;
        let Session::Load {
            amount_fen,
            terminal,
            online_ttc,
            seslk,
        } = session
        else {
            return Err(sw::CONDITIONS_NOT_SATISFIED);
        };
        let mut f = Fields(&cmd.data);
        let stamp = Stamp::from_bcd(f.take()?, f.take()?).map_err(|_| sw::BAD_DATA)?;
        let mac2: [u8; 4] = f.take()?;
        let expected = scheme::load_mac2(&seslk, amount_fen, txn_type::ED_LOAD, terminal, stamp);
        if !mac_eq(&expected, &mac2) {
            return Err(sw::MAC_INVALID);
        }
        let mut next = self.state.clone();
        next.balance_fen = next
            .balance_fen
            .checked_add(amount_fen)
            .filter(|b| *b <= MAX_BALANCE_FEN)
            .ok_or(sw::OUT_OF_RANGE)?;
        next.online_ttc = online_ttc.checked_add(1).ok_or(sw::OUT_OF_RANGE)?;
        let tac_key = scheme::tac_key(&Self::key(&next.keys.tac)?.key);
        let tac = scheme::load_tac(
            &tac_key,
            next.balance_fen,
            online_ttc,
            amount_fen,
            txn_type::ED_LOAD,
            terminal,
            stamp,
        );
        push_record(
            &mut next.records,
            online_ttc,
            amount_fen,
            txn_type::ED_LOAD,
            terminal,
            stamp,
        );
        next.last_online = Some(LastTxn {
            txn_type: txn_type::ED_LOAD,
            ttc_after: next.online_ttc,
            mac: mac2,
            tac,
        });
        self.commit(next)?;
        Ok(tac.to_vec())
    }

    pub(super) fn init_purchase(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        let (amount_fen, terminal) = self.init_fields(cmd)?;
        if !self.ram.pin_verified {
            return Err(sw::SECURITY_NOT_SATISFIED);
        }
        let s = &self.state;
        if amount_fen > s.balance_fen {
            return Err(sw::INSUFFICIENT_BALANCE);
        }
        if s.offline_ttc == u16::MAX {
            return Err(sw::OUT_OF_RANGE);
        }
        let key = Self::key(&s.keys.purchase)?;
        let random = Self::random4();
        let out = purchase_init_answer(s.balance_fen, s.offline_ttc, key.version, random);
        self.ram.session = Session::Purchase {
            amount_fen,
            terminal,
            random,
            offline_ttc: s.offline_ttc,
        };
        Ok(out)
    }

    pub(super) fn debit_purchase(
        &mut self,
        cmd: &Command,
        session: Session,
    ) -> Result<Vec<u8>, Sw> {
        self.need_purse()?;
        check_p1p2(cmd, 0x01, 0x00)?;
        check_lc(cmd, 15)?;
        let Session::Purchase {
            amount_fen,
            terminal,
            random,
            offline_ttc,
        } = session
        else {
            return Err(sw::CONDITIONS_NOT_SATISFIED);
        };
        let mut f = Fields(&cmd.data);
        let terminal_ttc = f.u32()?;
        let stamp = Stamp::from_bcd(f.take()?, f.take()?).map_err(|_| sw::BAD_DATA)?;
        let mac1: [u8; 4] = f.take()?;
        let dpk = Self::key(&self.state.keys.purchase)?.key;
        let sespk = scheme::purchase_session_key(&dpk, random, offline_ttc, terminal_ttc);
        let expected =
            scheme::purchase_mac1(&sespk, amount_fen, txn_type::ED_PURCHASE, terminal, stamp);
        if !mac_eq(&expected, &mac1) {
            return Err(sw::MAC_INVALID);
        }
        let mut next = self.state.clone();
        next.balance_fen = next
            .balance_fen
            .checked_sub(amount_fen)
            .ok_or(sw::INSUFFICIENT_BALANCE)?;
        next.offline_ttc = offline_ttc.checked_add(1).ok_or(sw::OUT_OF_RANGE)?;
        let tac_key = scheme::tac_key(&Self::key(&next.keys.tac)?.key);
        let tac = scheme::purchase_tac(
            &tac_key,
            amount_fen,
            txn_type::ED_PURCHASE,
            terminal,
            terminal_ttc,
            stamp,
        );
        let mac2 = scheme::purchase_mac2(&sespk, amount_fen);
        push_record(
            &mut next.records,
            offline_ttc,
            amount_fen,
            txn_type::ED_PURCHASE,
            terminal,
            stamp,
        );
        next.last_offline = Some(LastTxn {
            txn_type: txn_type::ED_PURCHASE,
            ttc_after: next.offline_ttc,
            mac: mac2,
            tac,
        });
        self.commit(next)?;
        Ok([tac, mac2].concat())
    }

    /// GET TRANSACTION PROVE: MAC and TAC of the last online (load) or
    /// offline (purchase, unlock) transaction, named by its type and its
    /// counter after the transaction. 9406 if that is not the last one.
    pub(super) fn transaction_prove(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        self.need_purse()?;
        if cmd.p1 != 0x00 {
            return Err(sw::BAD_P1P2);
        }
        check_lc(cmd, 2)?;
        let ttc_after = Fields(&cmd.data).u16()?;
        let last = match cmd.p2 {
            txn_type::ED_LOAD | txn_type::EP_LOAD => self.state.last_online,
            txn_type::ED_PURCHASE | txn_type::EP_PURCHASE | txn_type::UNLOCK => {
                self.state.last_offline
            }
            _ => return Err(sw::BAD_P1P2),
        };
        match last {
            Some(t) if t.txn_type == cmd.p2 && t.ttc_after == ttc_after => {
                Ok([t.mac, t.tac].concat())
            }
            _ => Err(sw::MAC_UNAVAILABLE),
        }
    }

    /// READ RECORD of SFI 0x18 (P2 = `C4`), record 1 the newest.
    pub(super) fn read_record(&mut self, cmd: &Command) -> Result<Vec<u8>, Sw> {
        self.need_purse()?;
        if cmd.p2 & 0x07 != 0x04 || cmd.p1 == 0 {
            return Err(sw::BAD_P1P2);
        }
        if cmd.p2 >> 3 != 0x18 {
            return Err(sw::FILE_NOT_FOUND);
        }
        check_lc(cmd, 0)?;
        if cmd
            .le
            .is_some_and(|le| le != 0 && usize::from(le) != Record::LEN)
        {
            return Err(0x6C17);
        }
        let index = usize::from(cmd.p1).saturating_sub(1);
        self.state
            .records
            .get(index)
            .map(|r| r.0.to_vec())
            .ok_or(sw::RECORD_NOT_FOUND)
    }
}

/// INITIALIZE FOR PURCHASE and FOR GREY LOCK answer alike: balance,
/// counter, overdraft limit (none), key version, algorithm, random.
pub(super) fn purchase_init_answer(
    balance_fen: u32,
    ttc: u16,
    key_version: u8,
    random: [u8; 4],
) -> Vec<u8> {
    [
        &balance_fen.to_be_bytes()[..],
        &ttc.to_be_bytes(),
        &[0, 0, 0],
        &[key_version, ALG_DES],
        &random,
    ]
    .concat()
}

/// Adds a record at the front of the cyclic file, dropping the oldest.
pub(super) fn push_record(
    records: &mut Vec<StoredRecord>,
    ttc: u16,
    amount_fen: u32,
    txn_type: u8,
    terminal: [u8; 6],
    stamp: Stamp,
) {
    let record = Record {
        ttc,
        overdraft_limit_fen: 0,
        amount_fen,
        txn_type,
        terminal,
        date: stamp.date(),
        time: stamp.time(),
    };
    records.insert(0, StoredRecord(record.to_bytes()));
    records.truncate(RECORDS_KEPT);
}
