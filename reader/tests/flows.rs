//! Whole transactions between the terminal (`Purse` + `SoftwareKeyService`)
//! and the software card in the same process: loads, purchases, grey lock,
//! PIN handling, tampering caught on either side, pulled cards, and the
//! card's file on disk.
#![allow(clippy::unwrap_used)]

mod purse_support;

use fuelcard_reader::apdu::sw;
use fuelcard_reader::card::{MAX_BALANCE_FEN, SoftwareCard};
use fuelcard_reader::keys::{
    GreyLockContext, KeyError, KeyService, LoadContext, PurchaseContext, UnlockContext, txn_type,
};
use fuelcard_reader::purse::{
    self, DEFAULT_AID, GreyFlag, KEY_INDEX, KeyKind, Purse, PurseError, confirm_load,
    confirm_purchase,
};
use fuelcard_reader::transport::{InProcess, Transport, TransportError};
use purse_support::*;

fn sw_of(e: PurseError) -> u16 {
    match e {
        PurseError::Status { sw, .. } => sw,
        other => panic!("expected a status word, got {other:?}"),
    }
}

#[test]
fn a_new_card_reads_back_what_was_written() {
    let (mut t, public) = card();
    assert_eq!(public.card_number, CARD_NUMBER);
    let mut p = Purse::new(&mut t);
    assert_eq!(p.read_public().unwrap(), public);
    let holder = p.read_holder().unwrap();
    assert_eq!(holder.name, "张三");
    assert_eq!(holder.id_number, "110101199001011234");
    assert_eq!(p.balance().unwrap(), 0);
    assert!(p.records().unwrap().is_empty());
    assert_eq!(p.grey_status().unwrap().flag, GreyFlag::Clear);
    assert_eq!(t.atr(), vec![0x3B, 0x80, 0x80, 0x01, 0x01]);
}

#[test]
fn load_then_purchase() {
    let (mut t, public) = card();
    let keys = keys();
    let mut p = Purse::new(&mut t);
    let receipt = purse::load(&mut p, &keys, &public, 10_000, TERMINAL, stamp(1)).unwrap();
    assert_eq!(receipt.balance_after_fen, 10_000);
    assert_eq!(receipt.context.online_ttc, 0);
    assert_eq!(p.balance().unwrap(), 10_000);

    // The TAC can be fetched again while this is the last load.
    let proof = p.transaction_prove(txn_type::ED_LOAD, 1).unwrap();
    assert_eq!(proof.tac, receipt.tac);

    p.verify_pin(PIN).unwrap();
    let sale = purse::purchase(&mut p, &keys, &public, 2_550, &at(7)).unwrap();
    assert_eq!(sale.balance_after_fen, 7_450);
    assert_eq!(p.balance().unwrap(), 7_450);
    let proof = p.transaction_prove(txn_type::ED_PURCHASE, 1).unwrap();
    assert_eq!((proof.tac, proof.mac), (sale.tac, sale.mac2));

    let records = p.records().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(
        (records[0].txn_type, records[0].amount_fen, records[0].ttc),
        (0x05, 2_550, 0)
    );
    assert_eq!(
        (records[1].txn_type, records[1].amount_fen, records[1].ttc),
        (0x01, 10_000, 0)
    );
    assert_eq!(records[0].terminal, TERMINAL);
    assert_eq!(records[0].date, [0x20, 0x25, 0x06, 0x30]);
}

#[test]
fn a_purchase_needs_the_pin_and_the_money() {
    let (mut t, public) = card();
    let keys = keys();
    let mut p = Purse::new(&mut t);
    purse::load(&mut p, &keys, &public, 1_000, TERMINAL, stamp(1)).unwrap();
    let e = p.init_purchase(KEY_INDEX, 500, TERMINAL).unwrap_err();
    assert_eq!(sw_of(e), sw::SECURITY_NOT_SATISFIED);
    p.verify_pin(PIN).unwrap();
    assert!(matches!(
        purse::purchase(&mut p, &keys, &public, 1_001, &at(1)),
        Err(PurseError::InsufficientBalance)
    ));
    assert_eq!(
        sw_of(p.init_purchase(2, 500, TERMINAL).unwrap_err()),
        sw::KEY_INDEX_UNSUPPORTED
    );
    assert_eq!(
        sw_of(p.init_purchase(KEY_INDEX, 0, TERMINAL).unwrap_err()),
        sw::BAD_DATA
    );
    // A purchase of the whole balance is fine.
    purse::purchase(&mut p, &keys, &public, 1_000, &at(2)).unwrap();
    assert_eq!(p.balance().unwrap(), 0);
}

#[test]
fn a_load_past_the_purse_maximum_is_refused() {
    let (mut t, public) = card();
    let keys = keys();
    let mut p = Purse::new(&mut t);
    purse::load(&mut p, &keys, &public, MAX_BALANCE_FEN, TERMINAL, stamp(1)).unwrap();
    let e = purse::load(&mut p, &keys, &public, 1, TERMINAL, stamp(2)).unwrap_err();
    assert_eq!(sw_of(e), sw::OUT_OF_RANGE);
    assert_eq!(p.balance().unwrap(), MAX_BALANCE_FEN);
}

#[test]
fn a_tampered_load_mac2_is_refused_by_the_card_and_the_session_is_spent() {
    let (mut t, public) = card();
    let keys = keys();
    let mut p = Purse::new(&mut t);
    let init = p.init_load(KEY_INDEX, 5_000, TERMINAL).unwrap();
    let ctx = LoadContext {
        asn8: public.asn8(),
        key_version: init.key_version,
        random: init.random,
        online_ttc: init.online_ttc,
        balance_fen: init.balance_fen,
        amount_fen: 5_000,
        txn_type: txn_type::ED_LOAD,
        terminal: TERMINAL,
    };
    let mut mac2 = keys.load_mac2(&ctx, init.mac1, stamp(1)).unwrap();
    mac2[3] ^= 1;
    assert!(matches!(
        p.credit_load(stamp(1), mac2),
        Err(PurseError::MacInvalid)
    ));
    mac2[3] ^= 1;
    // The right MAC2 now finds no session: each INITIALIZE is good once.
    assert_eq!(
        sw_of(p.credit_load(stamp(1), mac2).unwrap_err()),
        sw::CONDITIONS_NOT_SATISFIED
    );
    assert_eq!(p.balance().unwrap(), 0);
    assert!(p.records().unwrap().is_empty());
}

#[test]
fn a_load_mac2_for_another_amount_or_time_is_refused() {
    let (mut t, public) = card();
    let keys = keys();
    let mut p = Purse::new(&mut t);
    let init = p.init_load(KEY_INDEX, 5_000, TERMINAL).unwrap();
    let ctx = LoadContext {
        asn8: public.asn8(),
        key_version: init.key_version,
        random: init.random,
        online_ttc: init.online_ttc,
        balance_fen: 0,
        amount_fen: 5_000,
        txn_type: txn_type::ED_LOAD,
        terminal: TERMINAL,
    };
    let mac2 = keys.load_mac2(&ctx, init.mac1, stamp(1)).unwrap();
    assert!(matches!(
        p.credit_load(stamp(2), mac2),
        Err(PurseError::MacInvalid)
    ));
    assert_eq!(p.balance().unwrap(), 0);
}

#[test]
fn a_card_with_foreign_keys_is_refused_by_the_host_before_any_credit() {
    let (mut t, public) = card_with(other_issuer());
    let keys = keys();
    let mut p = Purse::new(&mut t);
    let e = purse::load(&mut p, &keys, &public, 5_000, TERMINAL, stamp(1)).unwrap_err();
    assert!(
        matches!(e, PurseError::Key(KeyError::Mismatch("load MAC1"))),
        "{e:?}"
    );
    assert_eq!(p.balance().unwrap(), 0);
}

/// Flips one bit of the answer to one command (by INS), as a faulty or
/// malicious reader would.
struct Corrupt<'a> {
    inner: &'a mut dyn Transport,
    ins: u8,
}

impl Transport for Corrupt<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut answer = self.inner.transmit(command)?;
        if command.get(1) == Some(&self.ins) && answer.len() > 2 {
            answer[0] ^= 0x01;
        }
        Ok(answer)
    }
}

#[test]
fn a_tampered_tac_is_refused_by_the_host_and_the_proof_recovers_it() {
    let (mut t, public) = card();
    let keys = keys();
    {
        let mut bad = Corrupt {
            inner: &mut t,
            ins: 0x52,
        };
        let mut p = Purse::new(&mut bad);
        let e = purse::load(&mut p, &keys, &public, 5_000, TERMINAL, stamp(1)).unwrap_err();
        assert!(
            matches!(e, PurseError::Key(KeyError::Mismatch("load TAC"))),
            "{e:?}"
        );
    }
    // The card did credit; the genuine TAC is still there to prove it.
    let mut p = Purse::new(&mut t);
    assert_eq!(p.balance().unwrap(), 5_000);
    let proof = p.transaction_prove(txn_type::ED_LOAD, 1).unwrap();
    let ctx = LoadContext {
        asn8: public.asn8(),
        key_version: 1,
        random: [0; 4],
        online_ttc: 0,
        balance_fen: 0,
        amount_fen: 5_000,
        txn_type: txn_type::ED_LOAD,
        terminal: TERMINAL,
    };
    keys.verify_load_tac(&ctx, stamp(1), proof.tac).unwrap();
}

#[test]
fn tampered_purchase_macs_are_refused_on_both_sides() {
    let (mut t, public) = card();
    let keys = keys();
    {
        let mut p = Purse::new(&mut t);
        purse::load(&mut p, &keys, &public, 10_000, TERMINAL, stamp(1)).unwrap();
        p.verify_pin(PIN).unwrap();
        // A wrong MAC1 from the terminal: the card refuses, debits nothing.
        let init = p.init_purchase(KEY_INDEX, 1_000, TERMINAL).unwrap();
        let ctx = PurchaseContext {
            asn8: public.asn8(),
            key_version: init.key_version,
            random: init.random,
            offline_ttc: init.offline_ttc,
            terminal_ttc: 5,
            amount_fen: 1_000,
            txn_type: txn_type::ED_PURCHASE,
            terminal: TERMINAL,
            stamp: stamp(5),
        };
        let mut mac1 = keys.purchase_mac1(&ctx).unwrap();
        mac1[0] ^= 0x80;
        assert!(matches!(
            p.debit_purchase(5, stamp(5), mac1),
            Err(PurseError::MacInvalid)
        ));
        assert_eq!(p.balance().unwrap(), 10_000);
    }
    // A corrupted MAC2/TAC answer: the host refuses it.
    let mut bad = Corrupt {
        inner: &mut t,
        ins: 0x54,
    };
    let mut p = Purse::new(&mut bad);
    let e = purse::purchase(&mut p, &keys, &public, 1_000, &at(6)).unwrap_err();
    assert!(
        matches!(e, PurseError::Key(KeyError::Mismatch("purchase TAC"))),
        "{e:?}"
    );
}

#[test]
fn wrong_pins_count_down_then_block_and_the_issuer_unblocks() {
    let (mut t, public) = card();
    let keys = keys();
    {
        let mut p = Purse::new(&mut t);
        assert!(matches!(
            p.verify_pin("654321"),
            Err(PurseError::WrongPin { tries_left: 2 })
        ));
        // A right PIN restores the tries.
        p.verify_pin(PIN).unwrap();
        assert!(matches!(
            p.verify_pin("000000"),
            Err(PurseError::WrongPin { tries_left: 2 })
        ));
        assert!(matches!(
            p.verify_pin("000000"),
            Err(PurseError::WrongPin { tries_left: 1 })
        ));
    }
    // Pulling the card buys no extra tries.
    t.remove();
    t.insert();
    select(&mut t);
    let mut p = Purse::new(&mut t);
    assert!(matches!(p.verify_pin("000000"), Err(PurseError::PinLocked)));
    assert!(matches!(p.verify_pin(PIN), Err(PurseError::PinLocked)));
    assert_eq!(
        sw_of(p.init_purchase(KEY_INDEX, 1, TERMINAL).unwrap_err()),
        sw::SECURITY_NOT_SATISFIED
    );

    // PIN UNBLOCK needs a fresh challenge and the issuer's MAC.
    assert_eq!(
        sw_of(p.pin_unblock("2468", [0; 4]).unwrap_err()),
        sw::RANDOM_MISSING
    );
    p.get_challenge().unwrap();
    assert!(matches!(
        p.pin_unblock("2468", [0; 4]),
        Err(PurseError::MacInvalid)
    ));
    purse::unblock_pin(&mut p, &keys, &public, "2468").unwrap();
    assert!(matches!(
        p.verify_pin(PIN),
        Err(PurseError::WrongPin { tries_left: 2 })
    ));
    p.verify_pin("2468").unwrap();
    assert_eq!(t.applet().pin_tries_left(), 3);
}

#[test]
fn a_card_pulled_between_initialize_and_credit_keeps_its_balance_and_counter() {
    let (mut t, public) = card();
    let keys = keys();
    purse::load(
        &mut Purse::new(&mut t),
        &keys,
        &public,
        1_000,
        TERMINAL,
        stamp(1),
    )
    .unwrap();
    let init = Purse::new(&mut t)
        .init_load(KEY_INDEX, 5_000, TERMINAL)
        .unwrap();
    t.remove();
    assert!(matches!(
        Purse::new(&mut t).balance(),
        Err(PurseError::Transport(TransportError::CardRemoved))
    ));
    t.insert();
    select(&mut t);
    let mut p = Purse::new(&mut t);
    assert_eq!(p.balance().unwrap(), 1_000);
    // The session died with the power: CREDIT is refused.
    let ctx = LoadContext {
        asn8: public.asn8(),
        key_version: init.key_version,
        random: init.random,
        online_ttc: init.online_ttc,
        balance_fen: init.balance_fen,
        amount_fen: 5_000,
        txn_type: txn_type::ED_LOAD,
        terminal: TERMINAL,
    };
    let mac2 = keys.load_mac2(&ctx, init.mac1, stamp(2)).unwrap();
    assert_eq!(
        sw_of(p.credit_load(stamp(2), mac2).unwrap_err()),
        sw::CONDITIONS_NOT_SATISFIED
    );
    assert_eq!(confirm_load(&mut p, &keys, &ctx, stamp(2)).unwrap(), None);
    assert_eq!(p.balance().unwrap(), 1_000);
    assert_eq!(t.applet().online_ttc(), 1);
}

#[test]
fn a_card_pulled_after_credit_proves_the_load_when_it_comes_back() {
    let (mut t, public) = card();
    let keys = keys();
    let init = Purse::new(&mut t)
        .init_load(KEY_INDEX, 5_000, TERMINAL)
        .unwrap();
    let ctx = LoadContext {
        asn8: public.asn8(),
        key_version: init.key_version,
        random: init.random,
        online_ttc: init.online_ttc,
        balance_fen: init.balance_fen,
        amount_fen: 5_000,
        txn_type: txn_type::ED_LOAD,
        terminal: TERMINAL,
    };
    let mac2 = keys.load_mac2(&ctx, init.mac1, stamp(3)).unwrap();
    t.tear_after(1);
    let e = Purse::new(&mut t).credit_load(stamp(3), mac2).unwrap_err();
    assert!(matches!(
        e,
        PurseError::Transport(TransportError::CardRemoved)
    ));
    assert!(!t.is_present());
    t.insert();
    select(&mut t);
    let mut p = Purse::new(&mut t);
    let receipt = confirm_load(&mut p, &keys, &ctx, stamp(3))
        .unwrap()
        .unwrap();
    assert_eq!(receipt.balance_after_fen, 5_000);
    assert_eq!(p.balance().unwrap(), 5_000);
    assert_eq!(t.applet().online_ttc(), 1);
}

#[test]
fn a_card_pulled_after_debit_proves_the_purchase() {
    let (mut t, public) = card();
    let keys = keys();
    {
        let mut p = Purse::new(&mut t);
        purse::load(&mut p, &keys, &public, 9_000, TERMINAL, stamp(1)).unwrap();
        p.verify_pin(PIN).unwrap();
    }
    let init = Purse::new(&mut t)
        .init_purchase(KEY_INDEX, 4_000, TERMINAL)
        .unwrap();
    let ctx = PurchaseContext {
        asn8: public.asn8(),
        key_version: init.key_version,
        random: init.random,
        offline_ttc: init.offline_ttc,
        terminal_ttc: 77,
        amount_fen: 4_000,
        txn_type: txn_type::ED_PURCHASE,
        terminal: TERMINAL,
        stamp: stamp(9),
    };
    let mac1 = keys.purchase_mac1(&ctx).unwrap();
    t.tear_after(1);
    assert!(
        Purse::new(&mut t)
            .debit_purchase(77, stamp(9), mac1)
            .is_err()
    );
    t.insert();
    select(&mut t);
    let mut p = Purse::new(&mut t);
    let receipt = confirm_purchase(&mut p, &keys, &ctx, init.balance_fen)
        .unwrap()
        .unwrap();
    assert_eq!(receipt.balance_after_fen, 5_000);
    assert_eq!(p.balance().unwrap(), 5_000);
    // A purchase that never reached the card proves nothing.
    let other = PurchaseContext {
        offline_ttc: 5,
        ..ctx
    };
    assert_eq!(
        confirm_purchase(&mut p, &keys, &other, 5_000).unwrap(),
        None
    );
}

#[test]
fn grey_lock_holds_the_card_until_the_debit_for_unlock() {
    let (mut t, public) = card();
    let keys = keys();
    let mut p = Purse::new(&mut t);
    purse::load(&mut p, &keys, &public, 20_000, TERMINAL, stamp(1)).unwrap();
    // Grey lock needs the PIN.
    assert_eq!(
        sw_of(p.init_grey_lock(KEY_INDEX, TERMINAL).unwrap_err()),
        sw::SECURITY_NOT_SATISFIED
    );
    p.verify_pin(PIN).unwrap();
    let lock = purse::grey_lock(&mut p, &keys, &public, &at(100)).unwrap();
    assert_eq!(lock.context.balance_fen, 20_000);
    let status = p.grey_status().unwrap();
    assert_eq!(status.flag, GreyFlag::Locked);
    assert_eq!(status.txn_type, txn_type::GREY_LOCK);
    assert_eq!(status.ctc, lock.context.ctc);
    assert_eq!(status.terminal, TERMINAL);
    assert_eq!(status.lock_macs(), Some((lock.mac2, lock.gtac)));

    // While locked: no purchase, no load, no second lock, no CLEAR TACUF.
    let e = p.init_purchase(KEY_INDEX, 100, TERMINAL).unwrap_err();
    assert_eq!(sw_of(e), sw::CONDITIONS_NOT_SATISFIED);
    assert_eq!(
        sw_of(p.init_load(KEY_INDEX, 100, TERMINAL).unwrap_err()),
        sw::CONDITIONS_NOT_SATISFIED
    );
    assert!(matches!(
        purse::grey_lock(&mut p, &keys, &public, &at(101)),
        Err(PurseError::GreyLocked)
    ));
    assert_eq!(
        sw_of(p.clear_tacuf().unwrap_err()),
        sw::CONDITIONS_NOT_SATISFIED
    );

    // The customer pulls the card mid-fuelling; the lock survives.
    t.remove();
    t.insert();
    select(&mut t);
    let mut p = Purse::new(&mut t);
    assert_eq!(p.grey_status().unwrap().flag, GreyFlag::Locked);

    // Another terminal settles it without the PIN.
    let mut elsewhere = at(200);
    elsewhere.id = [9; 6];
    // More than the balance: refused, still locked.
    assert!(matches!(
        purse::unlock(&mut p, &keys, &public, 20_001, &elsewhere),
        Err(PurseError::InsufficientBalance)
    ));
    // A wrong GMAC: refused.
    let e = p
        .debit_for_unlock(
            6_789,
            lock.context.ctc,
            elsewhere.id,
            200,
            elsewhere.stamp,
            [1, 2, 3, 4],
        )
        .unwrap_err();
    assert!(matches!(e, PurseError::MacInvalid));
    let e = p
        .debit_for_unlock(
            6_789,
            lock.context.ctc + 1,
            elsewhere.id,
            200,
            elsewhere.stamp,
            [1, 2, 3, 4],
        )
        .unwrap_err();
    assert_eq!(sw_of(e), sw::BAD_DATA);
    let unlocked = purse::unlock(&mut p, &keys, &public, 6_789, &elsewhere).unwrap();
    assert_eq!(unlocked.balance_after_fen, 13_211);
    assert_eq!(p.balance().unwrap(), 13_211);
    assert_eq!(p.grey_status().unwrap().flag, GreyFlag::Clear);
    let proof = p
        .transaction_prove(txn_type::UNLOCK, lock.context.ctc + 1)
        .unwrap();
    assert_eq!(proof.tac, unlocked.tac);
    let r = p.records().unwrap()[0];
    assert_eq!(
        (r.txn_type, r.amount_fen, r.ttc, r.terminal),
        (0x93, 6_789, lock.context.ctc, [9; 6])
    );

    // Unlocked: purchases work again.
    p.verify_pin(PIN).unwrap();
    purse::purchase(&mut p, &keys, &public, 211, &at(300)).unwrap();
    assert_eq!(p.balance().unwrap(), 13_000);
}

#[test]
fn an_unread_unlock_tac_is_shown_until_cleared() {
    let (mut t, public) = card();
    let keys = keys();
    let mut p = Purse::new(&mut t);
    purse::load(&mut p, &keys, &public, 5_000, TERMINAL, stamp(1)).unwrap();
    p.verify_pin(PIN).unwrap();
    let lock = purse::grey_lock(&mut p, &keys, &public, &at(10)).unwrap();
    let status = p.grey_status().unwrap();
    let ctx = UnlockContext {
        asn8: public.asn8(),
        ctc: status.ctc,
        amount_fen: 1_500,
        terminal: TERMINAL,
        psam_ttc: 11,
        stamp: stamp(11),
    };
    let gmac = keys.unlock_gmac(&ctx).unwrap();
    let tac = p
        .debit_for_unlock(1_500, lock.context.ctc, TERMINAL, 11, stamp(11), gmac)
        .unwrap();
    keys.verify_unlock_tac(&ctx, tac).unwrap();
    let status = p.grey_status().unwrap();
    assert_eq!(status.flag, GreyFlag::TacUnread);
    assert_eq!(status.unlock(), Some((1_500, tac)));
    // The next grey lock clears it on the way.
    p.verify_pin(PIN).unwrap();
    purse::grey_lock(&mut p, &keys, &public, &at(12)).unwrap();
    assert_eq!(p.grey_status().unwrap().flag, GreyFlag::Locked);
}

#[test]
fn purchase_with_grey_lock_in_one_call() {
    let (mut t, public) = card();
    let keys = keys();
    let mut p = Purse::new(&mut t);
    purse::load(&mut p, &keys, &public, 30_000, TERMINAL, stamp(1)).unwrap();
    p.verify_pin(PIN).unwrap();
    let (lock, unlock) =
        purse::purchase_with_grey_lock(&mut p, &keys, &public, 25_000, &at(1), &at(2)).unwrap();
    assert_eq!(lock.context.balance_fen, 30_000);
    assert_eq!(unlock.balance_after_fen, 5_000);
    assert_eq!(p.balance().unwrap(), 5_000);
}

#[test]
fn the_card_keeps_ten_records_newest_first() {
    let (mut t, public) = card();
    let keys = keys();
    let mut p = Purse::new(&mut t);
    for i in 1..=12u32 {
        purse::load(&mut p, &keys, &public, i, TERMINAL, stamp(1)).unwrap();
    }
    let records = p.records().unwrap();
    assert_eq!(records.len(), 10);
    let amounts: Vec<u32> = records.iter().map(|r| r.amount_fen).collect();
    assert_eq!(amounts, (3..=12).rev().collect::<Vec<_>>());
    assert_eq!(p.read_record(11).unwrap(), None);
}

#[test]
fn personalisation_is_closed_once_ended() {
    let (mut t, _) = card();
    let mut p = Purse::new(&mut t);
    assert_eq!(
        sw_of(p.write_key(KeyKind::Load, 1, &[0; 16]).unwrap_err()),
        sw::CONDITIONS_NOT_SATISFIED
    );
    assert_eq!(
        sw_of(p.update_binary(0x15, 0, &[1]).unwrap_err()),
        sw::CONDITIONS_NOT_SATISFIED
    );
    assert_eq!(
        sw_of(p.set_pin("0000").unwrap_err()),
        sw::CONDITIONS_NOT_SATISFIED
    );
    assert_eq!(
        sw_of(p.end_personalisation().unwrap_err()),
        sw::CONDITIONS_NOT_SATISFIED
    );
}

#[test]
fn a_blank_card_is_no_purse_and_cannot_end_personalisation_half_done() {
    let mut t = InProcess::new(SoftwareCard::blank_in_memory());
    let mut p = Purse::new(&mut t);
    assert_eq!(
        sw_of(p.balance().unwrap_err()),
        sw::CONDITIONS_NOT_SATISFIED
    );
    p.select(&DEFAULT_AID).unwrap();
    assert_eq!(
        sw_of(p.balance().unwrap_err()),
        sw::CONDITIONS_NOT_SATISFIED
    );
    p.write_key(KeyKind::Load, 1, &[1; 16]).unwrap();
    p.set_pin("1234").unwrap();
    assert_eq!(
        sw_of(p.end_personalisation().unwrap_err()),
        sw::CONDITIONS_NOT_SATISFIED
    );
    assert_eq!(
        sw_of(p.select(&[0xA0, 0, 0, 0, 0x99]).unwrap_err()),
        sw::FILE_NOT_FOUND
    );
    // After a failed SELECT nothing is selected.
    assert_eq!(
        sw_of(p.set_pin("1234").unwrap_err()),
        sw::CONDITIONS_NOT_SATISFIED
    );
}

#[test]
fn the_card_file_survives_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    let keys = keys();
    let public = {
        let mut t = InProcess::new(SoftwareCard::create_blank(&path).unwrap());
        let public = purse::personalise(&mut t, &keys, &profile(CARD_NUMBER), PIN).unwrap();
        let mut p = Purse::new(&mut t);
        purse::load(&mut p, &keys, &public, 12_345, TERMINAL, stamp(1)).unwrap();
        p.verify_pin(PIN).unwrap();
        purse::grey_lock(&mut p, &keys, &public, &at(1)).unwrap();
        public
    };
    assert!(
        SoftwareCard::create_blank(&path).is_err(),
        "a card is never overwritten"
    );
    assert!(!dir.path().join("card.json.tmp").exists());
    let mut t = InProcess::new(SoftwareCard::open(&path).unwrap());
    assert!(t.applet().is_grey_locked());
    select(&mut t);
    let mut p = Purse::new(&mut t);
    assert_eq!(p.balance().unwrap(), 12_345);
    assert_eq!(p.read_public().unwrap(), public);
    purse::unlock(&mut p, &keys, &public, 345, &at(2)).unwrap();
    drop(t);
    let card = SoftwareCard::open(&path).unwrap();
    assert_eq!(card.balance_fen(), 12_000);
    assert_eq!(card.offline_ttc(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the card file holds keys: owner only");
    }
}

/// Turns every answer with data into T=0 style `61xx` + GET RESPONSE, in
/// chunks of at most 7 bytes, to run whole flows through `exchange`.
struct T0<'a> {
    inner: &'a mut dyn Transport,
    pending: Vec<u8>,
    sw: [u8; 2],
}

impl Transport for T0<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        if command.get(..4) == Some(&[0x00, 0xC0, 0x00, 0x00]) {
            let n = usize::from(command[4]).min(self.pending.len());
            let mut out: Vec<u8> = self.pending.drain(..n).collect();
            if self.pending.is_empty() {
                out.extend_from_slice(&self.sw);
            } else {
                out.extend_from_slice(&[0x61, u8::try_from(self.pending.len().min(7)).unwrap()]);
            }
            return Ok(out);
        }
        let answer = self.inner.transmit(command)?;
        let (data, sw) = answer.split_at(answer.len() - 2);
        if data.is_empty() {
            return Ok(answer);
        }
        self.pending = data.to_vec();
        self.sw = [sw[0], sw[1]];
        Ok(vec![0x61, u8::try_from(data.len().min(7)).unwrap()])
    }
}

#[test]
fn whole_flows_work_through_get_response() {
    let (mut t, public) = card();
    let keys = keys();
    let mut t0 = T0 {
        inner: &mut t,
        pending: Vec::new(),
        sw: [0x90, 0x00],
    };
    let mut p = Purse::new(&mut t0);
    assert_eq!(p.read_public().unwrap(), public);
    purse::load(&mut p, &keys, &public, 1_000, TERMINAL, stamp(1)).unwrap();
    p.verify_pin(PIN).unwrap();
    purse::purchase(&mut p, &keys, &public, 400, &at(3)).unwrap();
    purse::purchase_with_grey_lock(&mut p, &keys, &public, 100, &at(4), &at(5)).unwrap();
    assert_eq!(p.balance().unwrap(), 500);
    assert_eq!(p.grey_status().unwrap().flag, GreyFlag::Clear);
}

#[test]
fn a_wrong_le_is_corrected_without_losing_the_session() {
    let (mut t, public) = card();
    let keys = keys();
    // A card answers 6Cxx to a wrong Le before doing anything.
    assert_eq!(
        t.transmit(&[0x80, 0x5C, 0x00, 0x01, 0x10]).unwrap(),
        vec![0x6C, 0x04]
    );
    assert_eq!(
        t.transmit(&[0x00, 0xB0, 0x95, 0x00, 0x40]).unwrap(),
        vec![0x6C, 0x1E]
    );
    let answer = t.transmit(&[0x00, 0xB0, 0x95, 0x1C, 0x00]).unwrap();
    assert_eq!(answer.len(), 4, "an offset reads the rest of the file");

    let init = Purse::new(&mut t)
        .init_load(KEY_INDEX, 700, TERMINAL)
        .unwrap();
    let ctx = LoadContext {
        asn8: public.asn8(),
        key_version: init.key_version,
        random: init.random,
        online_ttc: init.online_ttc,
        balance_fen: init.balance_fen,
        amount_fen: 700,
        txn_type: txn_type::ED_LOAD,
        terminal: TERMINAL,
    };
    let mac2 = keys.load_mac2(&ctx, init.mac1, stamp(4)).unwrap();
    let credit = [
        &[0x80, 0x52, 0x00, 0x00, 0x0B][..],
        &stamp(4).date(),
        &stamp(4).time(),
        &mac2,
        &[0x08],
    ]
    .concat();
    assert_eq!(t.transmit(&credit).unwrap(), vec![0x6C, 0x04]);
    // The resend with the corrected Le still finds the session.
    let last = credit.len() - 1;
    let mut fixed = credit.clone();
    fixed[last] = 0x04;
    let answer = t.transmit(&fixed).unwrap();
    assert_eq!(answer[4..], [0x90, 0x00]);
    keys.verify_load_tac(&ctx, stamp(4), answer[..4].try_into().unwrap())
        .unwrap();
    assert_eq!(t.applet().balance_fen(), 700);
}

#[test]
fn a_card_pulled_during_grey_lock_or_unlock_is_settled_from_its_grey_status() {
    let (mut t, public) = card();
    let keys = keys();
    {
        let mut p = Purse::new(&mut t);
        purse::load(&mut p, &keys, &public, 8_000, TERMINAL, stamp(1)).unwrap();
        p.verify_pin(PIN).unwrap();
    }
    // Pulled after GREY LOCK reached the card.
    let init = Purse::new(&mut t)
        .init_grey_lock(KEY_INDEX, TERMINAL)
        .unwrap();
    let lock = GreyLockContext {
        asn8: public.asn8(),
        key_version: init.key_version,
        random: init.random,
        ctc: init.offline_ttc,
        balance_fen: init.balance_fen,
        psam_ttc: 40,
        psam_random: [7; 4],
        terminal: TERMINAL,
        stamp: stamp(40),
    };
    let mac1 = keys.grey_lock_mac1(&lock).unwrap();
    t.tear_after(1);
    assert!(
        Purse::new(&mut t)
            .grey_lock(40, [7; 4], stamp(40), mac1)
            .is_err()
    );
    t.insert();
    select(&mut t);
    let mut p = Purse::new(&mut t);
    let receipt = purse::confirm_grey_lock(&mut p, &keys, &lock)
        .unwrap()
        .unwrap();
    assert_eq!(receipt.context, lock);

    // Pulled after DEBIT FOR UNLOCK reached the card.
    let unlock = UnlockContext {
        asn8: public.asn8(),
        ctc: lock.ctc,
        amount_fen: 3_000,
        terminal: TERMINAL,
        psam_ttc: 41,
        stamp: stamp(41),
    };
    // Not yet sent: nothing to confirm, the card is still locked.
    assert_eq!(purse::confirm_unlock(&mut p, &keys, &unlock).unwrap(), None);
    let gmac = keys.unlock_gmac(&unlock).unwrap();
    t.tear_after(1);
    assert!(
        Purse::new(&mut t)
            .debit_for_unlock(3_000, lock.ctc, TERMINAL, 41, stamp(41), gmac)
            .is_err()
    );
    t.insert();
    select(&mut t);
    let mut p = Purse::new(&mut t);
    let done = purse::confirm_unlock(&mut p, &keys, &unlock)
        .unwrap()
        .unwrap();
    assert_eq!(done.balance_after_fen, 5_000);
    assert_eq!(p.grey_status().unwrap().flag, GreyFlag::Clear);
    assert_eq!(p.balance().unwrap(), 5_000);
}
