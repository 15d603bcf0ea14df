//! The reader through the real PC/SC stack: pcscd with the vpcd virtual
//! reader, a software card plugged into vpcd slot 1 over TCP, and the
//! terminal side talking `pcsc` to pcscd, as a station terminal does.
//!
//! Slot 1 (`Virtual PCD 00 01`, port 35964) belongs to this crate's tests;
//! slot 0 is the service's. The tests of this binary share the slot, so
//! each holds the slot's lock for its whole run. Waits are on
//! `get_status_change`, never sleeps.
//!
//! Without pcscd these tests skip with a loud message, except under
//! `CI=true`, where they fail: start it with `reader/scripts/pcscd-up.sh`.

mod purse_support;

use std::io::Write as _;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use fuelcard_reader::apdu::Command;
use fuelcard_reader::card::SoftwareCard;
use fuelcard_reader::pcsc_reader::{Pcsc, PcscCard, ReaderError, ReaderEvent};
use fuelcard_reader::purse::{self, DEFAULT_AID, GreyFlag, KEY_INDEX, Purse, PurseError};
use fuelcard_reader::transport::{Applet, InProcess, Power, Transport, TransportError, exchange};
use fuelcard_reader::vpcd::{VirtualCard, slot_port};
use purse_support::{CARD_NUMBER, PIN, TERMINAL, at, keys, profile, stamp};

/// The vpcd slot of this crate's tests and its reader.
const SLOT: u16 = 1;
const READER: &str = "Virtual PCD 00 01";
/// Generous: pcscd notices a card at its next poll, every 0.4 s.
const WAIT: Duration = Duration::from_secs(10);

static SLOT_LOCK: Mutex<()> = Mutex::new(());

/// The slot, for one test at a time (a failed test does not block the
/// others: its card is pulled when its handle drops).
fn slot() -> MutexGuard<'static, ()> {
    SLOT_LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// pcscd with the virtual reader, or `None` (after a loud message) when it
/// is not there; under `CI=true` its absence fails the test.
fn pcscd() -> Option<Pcsc> {
    let found = Pcsc::establish().and_then(|p| {
        let readers = p.readers()?;
        if readers.iter().any(|r| r == READER) {
            Ok(p)
        } else {
            Err(ReaderError::NoSuchReader {
                prefix: READER.to_owned(),
                available: readers.join(", "),
            })
        }
    });
    match found {
        Ok(p) => Some(p),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("pcscd with vpcd is required under CI=true: {e}")
        }
        Err(e) => {
            // Straight to stderr: the test harness captures `eprintln!` of
            // passing tests, and a skip must not pass unseen.
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** SKIPPED the PC/SC tests: {e} \
                     (reader/scripts/pcscd-up.sh starts pcscd with the virtual reader) ***\n"
                );
            });
            None
        }
    }
}

/// Puts `applet` into the slot and waits until pcscd reports it present.
fn insert<A: Applet + Send + 'static>(pcsc: &Pcsc, applet: A) -> VirtualCard<A> {
    // A card left by a test that failed is gone once its handle dropped,
    // but pcscd may not have looked yet.
    pcsc.wait_for_removal(READER, WAIT)
        .expect("the slot empties");
    let mut card = VirtualCard::new(applet, slot_port(SLOT));
    card.insert().expect("vpcd takes the card");
    let present = pcsc
        .wait_for_card(READER, WAIT)
        .expect("pcscd reports the card present");
    assert_eq!(present.reader, READER);
    card
}

/// A small card for the plumbing: SELECT answers `61 0A` (its FCI waits
/// for GET RESPONSE, as on a T=0 card), GET BALANCE answers the balance,
/// READ BINARY of SFI 0x15 insists on Le = 0x1E (`6C1E` otherwise), and a
/// command with INS `EE` makes it leave the field mid-command.
#[derive(Default)]
struct Plumbing {
    balance_fen: u32,
    pending: Vec<u8>,
    powered: bool,
    power_events: Vec<Power>,
}

const FCI: [u8; 10] = [0x6F, 0x08, 0x84, 0x06, 0x53, 0x49, 0x4E, 0x4F, 0x50, 0x45];

impl Applet for Plumbing {
    fn atr(&self) -> Vec<u8> {
        vec![0x3B, 0x80, 0x80, 0x01, 0x01]
    }

    fn power(&mut self, event: Power) {
        self.powered = event != Power::Off;
        self.pending.clear();
        self.power_events.push(event);
    }

    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        let pending = std::mem::take(&mut self.pending);
        match command {
            [0x00, 0xA4, 0x04, 0x00, ..] => {
                self.pending = FCI.to_vec();
                vec![0x61, 0x0A]
            }
            [0x00, 0xC0, 0x00, 0x00, le] if usize::from(*le) == pending.len() => {
                let mut r = pending;
                r.extend_from_slice(&[0x90, 0x00]);
                r
            }
            [0x80, 0x5C, 0x00, 0x01, 0x04] => {
                let mut r = self.balance_fen.to_be_bytes().to_vec();
                r.extend_from_slice(&[0x90, 0x00]);
                r
            }
            [0x00, 0xB0, 0x95, 0x00, 0x1E] => {
                let mut r = vec![0xAB; 0x1E];
                r.extend_from_slice(&[0x90, 0x00]);
                r
            }
            [0x00, 0xB0, 0x95, 0x00, _] => vec![0x6C, 0x1E],
            [_, 0xEE, ..] => Vec::new(),
            _ => vec![0x6D, 0x00],
        }
    }
}

fn balance(t: &mut dyn Transport) -> Result<u32, TransportError> {
    let r = exchange(t, &Command::new(0x80, 0x5C, 0x00, 0x01).with_le(4))?;
    assert!(r.is_ok(), "GET BALANCE: {r:?}");
    let bytes: [u8; 4] = r.data.as_slice().try_into().expect("a 4-byte balance");
    Ok(u32::from_be_bytes(bytes))
}

#[test]
fn a_card_in_the_virtual_reader_answers_through_pcscd() {
    let _slot = slot();
    let Some(pcsc) = pcscd() else { return };
    assert!(
        fuelcard_reader::pcsc_reader::list_readers()
            .unwrap()
            .iter()
            .any(|r| r == READER)
    );
    let vcard = insert(
        &pcsc,
        Plumbing {
            balance_fen: 12_345,
            ..Plumbing::default()
        },
    );
    let mut card = PcscCard::connect(READER).unwrap();
    assert_eq!(card.reader(), READER);
    assert_eq!(card.atr(), [0x3B, 0x80, 0x80, 0x01, 0x01]);
    assert!(card.is_present());

    // Raw: pcscd passes 61xx through untouched (no T=0 handling below us).
    let raw = card
        .transmit(&[0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00])
        .unwrap();
    assert_eq!(raw, [0x61, 0x0A]);
    // exchange() answers it with GET RESPONSE, through the real stack.
    let select = Command::new(0x00, 0xA4, 0x04, 0x00).with_data(vec![0x3F, 0x00]);
    let r = exchange(&mut card, &select).unwrap();
    assert!(r.is_ok());
    assert_eq!(r.data, FCI);
    // And 6Cxx with the corrected Le.
    let read = Command::new(0x00, 0xB0, 0x95, 0x00).with_le(0x10);
    let r = exchange(&mut card, &read).unwrap();
    assert!(r.is_ok());
    assert_eq!(r.data.len(), 0x1E);

    assert_eq!(balance(&mut card).unwrap(), 12_345);
    // The same through an exclusive transaction.
    {
        let mut tx = card.transaction().unwrap();
        assert_eq!(balance(&mut tx).unwrap(), 12_345);
        tx.end().unwrap();
    }
    drop(card);
    assert!(vcard.applet().power_events.contains(&Power::On));
}

#[test]
fn the_reader_reports_the_card_pulled_and_put_back() {
    let _slot = slot();
    let Some(pcsc) = pcscd() else { return };
    let mut vcard = insert(
        &pcsc,
        Plumbing {
            balance_fen: 700,
            ..Plumbing::default()
        },
    );
    let mut watcher = pcsc.watch(READER);
    // A card already in the reader is reported first.
    match watcher.next_event(WAIT).unwrap() {
        Some(ReaderEvent::CardInserted { reader, atr }) => {
            assert_eq!(reader, READER);
            assert_eq!(atr, [0x3B, 0x80, 0x80, 0x01, 0x01]);
        }
        other => panic!("expected the card present, got {other:?}"),
    }
    let mut card = PcscCard::connect(READER).unwrap();
    assert_eq!(balance(&mut card).unwrap(), 700);

    vcard.remove().unwrap();
    assert_eq!(
        watcher.next_event(WAIT).unwrap(),
        Some(ReaderEvent::CardRemoved {
            reader: READER.to_owned()
        })
    );
    assert!(!card.is_present());
    assert!(matches!(
        balance(&mut card),
        Err(TransportError::CardRemoved | TransportError::NoCard)
    ));
    assert!(matches!(
        PcscCard::connect(READER),
        Err(ReaderError::NoCard(_))
    ));

    vcard.insert().unwrap();
    assert!(matches!(
        watcher.next_event(WAIT).unwrap(),
        Some(ReaderEvent::CardInserted { .. })
    ));
    let mut card = PcscCard::connect(READER).unwrap();
    assert_eq!(balance(&mut card).unwrap(), 700, "the card kept its state");
    // Nothing else happens while the card stays.
    assert_eq!(
        watcher.next_event(Duration::from_millis(300)).unwrap(),
        None
    );
}

#[test]
fn a_card_leaving_mid_command_fails_the_exchange_as_removed() {
    let _slot = slot();
    let Some(pcsc) = pcscd() else { return };
    let _vcard = insert(&pcsc, Plumbing::default());
    let mut card = PcscCard::connect(READER).unwrap();
    let mut tx = card.transaction().unwrap();
    let err = tx.transmit(&[0x80, 0xEE, 0x00, 0x00]).unwrap_err();
    assert!(matches!(err, TransportError::CardRemoved), "{err:?}");
    drop(tx);
    pcsc.wait_for_removal(READER, WAIT).unwrap();
}

#[test]
fn waiting_for_a_card_that_does_not_come_times_out() {
    let _slot = slot();
    let Some(pcsc) = pcscd() else { return };
    pcsc.wait_for_removal(READER, WAIT).unwrap();
    let err = pcsc
        .wait_for_card(READER, Duration::from_millis(300))
        .unwrap_err();
    assert!(matches!(err, ReaderError::Timeout(_)), "{err}");
    assert!(matches!(
        PcscCard::connect(READER),
        Err(ReaderError::NoCard(_))
    ));
    assert!(matches!(
        pcsc.find_reader("No Such Reader"),
        Err(ReaderError::NoSuchReader { .. })
    ));
}

/// A software card that can be made to leave the field right after it
/// acted on a command with a given INS: the card did the work, the
/// terminal never hears the answer.
struct PullAfter {
    card: SoftwareCard,
    ins: Option<u8>,
}

impl Applet for PullAfter {
    fn atr(&self) -> Vec<u8> {
        self.card.atr()
    }
    fn power(&mut self, event: Power) {
        self.card.power(event);
    }
    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        let response = self.card.process(command);
        if self.ins.is_some() && command.get(1).copied() == self.ins {
            self.ins = None;
            return Vec::new();
        }
        response
    }
}

/// A personalised software card (personalised in process: the acceptance
/// test personalises through the reader instead), with `balance_fen`
/// loaded.
fn personalised(balance_fen: u32) -> SoftwareCard {
    let mut t = InProcess::new(SoftwareCard::blank_in_memory());
    let public = purse::personalise(&mut t, &keys(), &profile(CARD_NUMBER), PIN)
        .expect("a blank card takes personalisation");
    if balance_fen > 0 {
        let mut p = Purse::new(&mut t);
        purse::load(&mut p, &keys(), &public, balance_fen, TERMINAL, stamp(0))
            .expect("a new card takes a load");
    }
    t.into_inner()
}

#[test]
fn acceptance_personalise_read_load_and_buy_fuel_with_a_grey_lock_over_pcsc() {
    let _slot = slot();
    let Some(pcsc) = pcscd() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("card.json");
    let vcard = insert(&pcsc, SoftwareCard::create_blank(&file).unwrap());
    assert!(pcsc.readers().unwrap().iter().any(|r| r == READER));
    let keys = keys();

    // A blank card is written through the reader.
    let mut card = PcscCard::connect(READER).unwrap();
    let written = purse::personalise(&mut card, &keys, &profile(CARD_NUMBER), PIN).unwrap();
    assert_eq!(written.card_number, CARD_NUMBER);

    // Read it as a station terminal does.
    let mut tx = card.transaction().unwrap();
    let mut p = Purse::new(&mut tx);
    p.select(&DEFAULT_AID).unwrap();
    let public = p.read_public().unwrap();
    assert_eq!(public.card_number, CARD_NUMBER);
    assert_eq!(p.read_holder().unwrap().name, "张三");
    assert_eq!(p.balance().unwrap(), 0);
    assert!(matches!(
        p.verify_pin("000000"),
        Err(PurseError::WrongPin { tries_left: 2 })
    ));
    p.verify_pin(PIN).unwrap();

    // Load 100.00.
    let load = purse::load(&mut p, &keys, &public, 10_000, TERMINAL, stamp(1)).unwrap();
    assert_eq!(load.balance_after_fen, 10_000);
    tx.end().unwrap();

    // Buy 30.00 of fuel: grey lock before the nozzle, debit for unlock after.
    let mut tx = card.transaction().unwrap();
    let mut p = Purse::new(&mut tx);
    p.select(&DEFAULT_AID).unwrap();
    p.verify_pin(PIN).unwrap();
    let lock = purse::grey_lock(&mut p, &keys, &public, &at(1)).unwrap();
    assert_eq!(lock.context.balance_fen, 10_000);
    assert_eq!(p.grey_status().unwrap().flag, GreyFlag::Locked);
    let unlocked = purse::unlock(&mut p, &keys, &public, 3_000, &at(2)).unwrap();
    assert_eq!(unlocked.balance_after_fen, 7_000);
    assert_eq!(p.grey_status().unwrap().flag, GreyFlag::Clear);
    assert_eq!(p.balance().unwrap(), 7_000);
    let records = p.records().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!((records[0].txn_type, records[0].amount_fen), (0x93, 3_000));
    assert_eq!((records[1].txn_type, records[1].amount_fen), (0x01, 10_000));
    tx.end().unwrap();

    // 70.00 on the chip, and in the card's file.
    assert_eq!(vcard.applet().balance_fen(), 7_000);
    drop(card);
    drop(vcard);
    assert_eq!(SoftwareCard::open(&file).unwrap().balance_fen(), 7_000);
}

#[test]
fn a_load_torn_after_initialize_leaves_balance_and_counter_unchanged() {
    let _slot = slot();
    let Some(pcsc) = pcscd() else { return };
    let keys = keys();
    let mut vcard = insert(&pcsc, personalised(5_000));
    let online_ttc = vcard.applet().online_ttc();

    let mut card = PcscCard::connect(READER).unwrap();
    let mut tx = card.transaction().unwrap();
    let mut p = Purse::new(&mut tx);
    p.select(&DEFAULT_AID).unwrap();
    let public = p.read_public().unwrap();
    let init = p.init_load(KEY_INDEX, 2_000, TERMINAL).unwrap();
    assert_eq!((init.balance_fen, init.online_ttc), (5_000, online_ttc));

    // The customer pulls the card before CREDIT FOR LOAD.
    vcard.remove().unwrap();
    let err = p.credit_load(stamp(9), [0; 4]).unwrap_err();
    assert!(
        matches!(err, PurseError::Transport(TransportError::CardRemoved)),
        "{err:?}"
    );
    drop(tx);
    drop(card);
    pcsc.wait_for_removal(READER, WAIT).unwrap();

    vcard.insert().unwrap();
    pcsc.wait_for_card(READER, WAIT).unwrap();
    let mut card = PcscCard::connect(READER).unwrap();
    let mut p = Purse::new(&mut card);
    p.select(&DEFAULT_AID).unwrap();
    assert_eq!(p.balance().unwrap(), 5_000);
    assert_eq!(p.records().unwrap().len(), 1, "only the first load");
    // The INITIALIZE did not survive the power loss.
    assert!(p.credit_load(stamp(9), [0; 4]).is_err());
    assert_eq!(vcard.applet().online_ttc(), online_ttc);
    assert_eq!(vcard.applet().balance_fen(), 5_000);

    // The load can simply be done again.
    let mut p = Purse::new(&mut card);
    p.select(&DEFAULT_AID).unwrap();
    let receipt = purse::load(&mut p, &keys, &public, 2_000, TERMINAL, stamp(10)).unwrap();
    assert_eq!(receipt.context.online_ttc, online_ttc);
    assert_eq!(p.balance().unwrap(), 7_000);
}

#[test]
fn a_load_torn_after_credit_is_proven_once_the_card_is_back() {
    let _slot = slot();
    let Some(pcsc) = pcscd() else { return };
    let keys = keys();
    let mut vcard = insert(
        &pcsc,
        PullAfter {
            card: personalised(1_000),
            ins: Some(0x52),
        },
    );
    let mut card = PcscCard::connect(READER).unwrap();
    let mut p = Purse::new(&mut card);
    p.select(&DEFAULT_AID).unwrap();
    let public = p.read_public().unwrap();
    let init = p.init_load(KEY_INDEX, 4_000, TERMINAL).unwrap();
    let context = fuelcard_reader::keys::LoadContext {
        asn8: public.asn8(),
        key_version: init.key_version,
        random: init.random,
        online_ttc: init.online_ttc,
        balance_fen: init.balance_fen,
        amount_fen: 4_000,
        txn_type: fuelcard_reader::keys::txn_type::ED_LOAD,
        terminal: TERMINAL,
    };
    use fuelcard_reader::keys::KeyService as _;
    let mac2 = keys.load_mac2(&context, init.mac1, stamp(5)).unwrap();
    // The card credits, then leaves before its answer reaches us.
    let err = p.credit_load(stamp(5), mac2).unwrap_err();
    assert!(
        matches!(err, PurseError::Transport(TransportError::CardRemoved)),
        "{err:?}"
    );
    drop(card);
    pcsc.wait_for_removal(READER, WAIT).unwrap();
    assert!(!vcard.is_inserted());

    vcard.insert().unwrap();
    pcsc.wait_for_card(READER, WAIT).unwrap();
    let mut card = PcscCard::connect(READER).unwrap();
    let mut p = Purse::new(&mut card);
    p.select(&DEFAULT_AID).unwrap();
    let receipt = purse::confirm_load(&mut p, &keys, &context, stamp(5))
        .unwrap()
        .expect("the card proves the load it made");
    assert_eq!(receipt.balance_after_fen, 5_000);
    assert_eq!(p.balance().unwrap(), 5_000);
}

/// Any local PC/SC client can send the card an extended APDU; pcscd passes
/// it to vpcd whole. The software card answers what it cannot parse with a
/// status word (`6700`) and stays in the reader: the next terminal still
/// reads its balance.
#[test]
fn an_extended_apdu_gets_a_status_word_and_the_card_stays_in() {
    let _slot = slot();
    let Some(pcsc) = pcscd() else { return };
    let _vcard = insert(&pcsc, personalised(4_321));
    let ctx = pcsc::Context::establish(pcsc::Scope::User).expect("a PC/SC context");
    let name = std::ffi::CString::new(READER).expect("a reader name");
    let raw = ctx
        .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
        .expect("connect raw");
    // 4 header bytes, an extended Lc (00 10 68) and 4,200 data bytes.
    let mut apdu = vec![0x80, 0x50, 0x00, 0x02, 0x00, 0x10, 0x68];
    apdu.resize(4_207, 0xA5);
    let mut answer = [0u8; 258];
    let got = raw.transmit(&apdu, &mut answer).expect("the card answers");
    assert_eq!(got, [0x67, 0x00], "a wrong length, not a lost card");
    drop(raw);
    let mut card = PcscCard::connect(READER).expect("the card is still in the reader");
    let mut p = Purse::new(&mut card);
    p.select(&DEFAULT_AID).expect("select");
    assert_eq!(p.balance().expect("balance"), 4_321);
}
