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

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use fuelcard_reader::apdu::Command;
use fuelcard_reader::pcsc_reader::{Pcsc, PcscCard, ReaderError, ReaderEvent};
use fuelcard_reader::transport::{Applet, Power, Transport, TransportError, exchange};
use fuelcard_reader::vpcd::{VirtualCard, slot_port};

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
            eprintln!(
                "\n*** SKIPPED: no pcscd with the virtual reader ({e}); \
                 run reader/scripts/pcscd-up.sh ***\n"
            );
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
