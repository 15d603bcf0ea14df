//! Nothing a card, reader or terminal sends makes this crate panic or loop:
//! response parsing, every `Purse` method and flow over a transport that
//! answers arbitrary bytes (truncated, wrong lengths, endless `61xx`,
//! `6Cxx`), and the software card fed arbitrary commands — which also never
//! moves money without the right MACs.
#![allow(clippy::unwrap_used)]

mod purse_support;

use fuelcard_reader::apdu::{Command, Response};
use fuelcard_reader::card::SoftwareCard;
use fuelcard_reader::keys::SoftwareKeyService;
use fuelcard_reader::purse::{self, KeyKind, Purse};
use fuelcard_reader::transport::{
    Applet, InProcess, MAX_GET_RESPONSE_ROUNDS, Transport, TransportError,
};
use proptest::prelude::*;
use purse_support::*;

/// Most transmits one command may cost: the command, one 6Cxx resend, the
/// GET RESPONSE rounds and one corrected GET RESPONSE.
const PER_COMMAND: usize = 3 + MAX_GET_RESPONSE_ROUNDS;

/// Answers from a list, cycling, and counts what it is sent.
struct Chaos {
    answers: Vec<Vec<u8>>,
    next: usize,
    sent: usize,
}

impl Transport for Chaos {
    fn transmit(&mut self, _command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent += 1;
        assert!(self.sent < 10_000, "unbounded exchange");
        if self.answers.is_empty() {
            return Err(TransportError::NoCard);
        }
        let a = self.answers[self.next % self.answers.len()].clone();
        self.next += 1;
        Ok(a)
    }
}

fn status_word() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(0x9000u16),
        any::<u8>().prop_map(|x| 0x6100 | u16::from(x)),
        any::<u8>().prop_map(|x| 0x6C00 | u16::from(x)),
        (0u16..16).prop_map(|x| 0x63C0 | x),
        prop::sample::select(vec![0x6A83u16, 0x6983, 0x9302, 0x9401, 0x9406, 0x6985]),
        any::<u16>(),
    ]
}

fn answer() -> impl Strategy<Value = Vec<u8>> {
    let data = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..48),
        prop::sample::select(vec![0usize, 4, 8, 15, 16, 23, 30, 41])
            .prop_flat_map(|n| prop::collection::vec(any::<u8>(), n)),
    ];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..4),
        (data, status_word()).prop_map(|(mut d, sw)| {
            d.extend_from_slice(&sw.to_be_bytes());
            d
        }),
    ]
}

/// Runs one purse call and checks it cost a bounded number of transmits.
fn bounded<T>(chaos: &mut Chaos, commands: usize, call: impl FnOnce(&mut Purse<'_>) -> T) {
    let before = chaos.sent;
    let _ = call(&mut Purse::new(chaos));
    assert!(
        chaos.sent - before <= commands * PER_COMMAND,
        "{} transmits",
        chaos.sent - before
    );
}

proptest! {
    #[test]
    fn responses_parse_or_fail(raw in prop::collection::vec(any::<u8>(), 0..300)) {
        match Response::parse(&raw) {
            Ok(r) => {
                prop_assert!(raw.len() >= 2);
                prop_assert_eq!(r.to_bytes(), raw);
            }
            Err(_) => prop_assert!(raw.len() < 2),
        }
    }

    #[test]
    fn commands_parse_or_fail(raw in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(cmd) = Command::parse(&raw) {
            prop_assert_eq!(cmd.to_bytes().unwrap(), raw);
        }
    }

    #[test]
    fn every_purse_method_survives_any_answer(answers in prop::collection::vec(answer(), 0..6)) {
        let mut c = Chaos { answers, next: 0, sent: 0 };
        let s = stamp(0);
        bounded(&mut c, 1, |p| p.select(&purse::DEFAULT_AID));
        bounded(&mut c, 1, |p| p.read_public());
        bounded(&mut c, 1, |p| p.read_holder());
        bounded(&mut c, 1, |p| p.balance());
        bounded(&mut c, 1, |p| p.verify_pin("123456"));
        bounded(&mut c, 1, |p| p.init_load(1, 100, TERMINAL));
        bounded(&mut c, 1, |p| p.credit_load(s, [0; 4]));
        bounded(&mut c, 1, |p| p.init_purchase(1, 100, TERMINAL));
        bounded(&mut c, 1, |p| p.debit_purchase(1, s, [0; 4]));
        bounded(&mut c, 1, |p| p.read_record(1));
        bounded(&mut c, 10, |p| p.records());
        bounded(&mut c, 1, |p| p.transaction_prove(0x01, 1));
        bounded(&mut c, 1, |p| p.grey_status());
        bounded(&mut c, 1, |p| p.init_grey_lock(1, TERMINAL));
        bounded(&mut c, 1, |p| p.grey_lock(1, [0; 4], s, [0; 4]));
        bounded(&mut c, 1, |p| p.debit_for_unlock(1, 0, TERMINAL, 1, s, [0; 4]));
        bounded(&mut c, 1, |p| p.clear_tacuf());
        bounded(&mut c, 1, |p| p.get_challenge());
        bounded(&mut c, 1, |p| p.pin_unblock("1234", [0; 4]));
        bounded(&mut c, 1, |p| p.write_key(KeyKind::Tac, 1, &[0; 16]));
        bounded(&mut c, 1, |p| p.update_binary(0x15, 0, &[0; 30]));
        bounded(&mut c, 1, |p| p.set_pin("1234"));
        bounded(&mut c, 1, |p| p.end_personalisation());
    }

    #[test]
    fn every_flow_survives_any_answer(answers in prop::collection::vec(answer(), 0..6)) {
        let keys = keys();
        let mut c = Chaos { answers, next: 0, sent: 0 };
        let (_, public) = card();
        let _ = purse::load(&mut Purse::new(&mut c), &keys, &public, 100, TERMINAL, stamp(1));
        let _ = purse::purchase(&mut Purse::new(&mut c), &keys, &public, 100, &at(1));
        let _ = purse::purchase_with_grey_lock(&mut Purse::new(&mut c), &keys, &public, 100, &at(1), &at(2));
        let _ = purse::unblock_pin(&mut Purse::new(&mut c), &keys, &public, "1234");
        let _ = purse::personalise(&mut c, &keys, &profile(CARD_NUMBER), PIN);
        prop_assert!(c.sent <= 40 * PER_COMMAND);
    }

    #[test]
    fn the_card_answers_any_bytes(commands in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..20)) {
        let mut blank = SoftwareCard::blank_in_memory();
        let (mut t, _) = card();
        for cmd in &commands {
            for answer in [blank.process(cmd), t.transmit(cmd).unwrap()] {
                prop_assert!(answer.len() >= 2);
                prop_assert!(answer.len() <= 258);
            }
        }
    }

    /// Commands aimed at the card's own instructions with random
    /// parameters and data: always an answer, and never a change of balance
    /// or counters without valid MACs.
    #[test]
    fn random_commands_never_move_money(
        commands in prop::collection::vec(
            (
                prop::sample::select(vec![0x00u8, 0x80, 0x84, 0xE0, 0x7F]),
                prop::sample::select(vec![
                    0xA4u8, 0x20, 0xB0, 0xB2, 0x84, 0x24, 0x5C, 0x50, 0x52, 0x54, 0x5A, 0xCA, 0x7A,
                    0x7C, 0x7E, 0xD4, 0xD6, 0xD8, 0xDA, 0xC0, 0x00,
                ]),
                prop_oneof![any::<u8>(), prop::sample::select(vec![0x00u8, 0x01, 0x04, 0x08, 0x95, 0x96])],
                prop_oneof![any::<u8>(), prop::sample::select(vec![0x00u8, 0x01, 0x02, 0xC4])],
                prop::collection::vec(any::<u8>(), 0..32),
                prop::option::of(any::<u8>()),
            ),
            1..40,
        )
    ) {
        let keys = keys();
        let (mut t, public) = card();
        purse::load(&mut Purse::new(&mut t), &keys, &public, 5_000, TERMINAL, stamp(1)).unwrap();
        Purse::new(&mut t).verify_pin(PIN).unwrap();
        let before = (t.applet().balance_fen(), t.applet().online_ttc(), t.applet().offline_ttc());
        for (cla, ins, p1, p2, data, le) in commands {
            let mut cmd = Command::new(cla, ins, p1, p2).with_data(data);
            cmd.le = le;
            let answer = t.transmit(&cmd.to_bytes().unwrap()).unwrap();
            prop_assert!(answer.len() >= 2);
        }
        let after = (t.applet().balance_fen(), t.applet().online_ttc(), t.applet().offline_ttc());
        prop_assert_eq!(before, after);
    }

    /// A genuine INITIALIZE followed by its second command with random
    /// data of the right length: refused, nothing moves, the card stays
    /// unlocked.
    #[test]
    fn forged_second_commands_are_refused(which in 0usize..4, data in prop::collection::vec(any::<u8>(), 27)) {
        let keys = keys();
        let (mut t, public) = card();
        purse::load(&mut Purse::new(&mut t), &keys, &public, 5_000, TERMINAL, stamp(1)).unwrap();
        Purse::new(&mut t).verify_pin(PIN).unwrap();
        let (header, len): ([u8; 4], usize) = match which {
            0 => {
                Purse::new(&mut t).init_load(1, 100, TERMINAL).unwrap();
                ([0x80, 0x52, 0x00, 0x00], 11)
            }
            1 => {
                Purse::new(&mut t).init_purchase(1, 100, TERMINAL).unwrap();
                ([0x80, 0x54, 0x01, 0x00], 15)
            }
            2 => {
                Purse::new(&mut t).init_grey_lock(1, TERMINAL).unwrap();
                ([0xE0, 0x7C, 0x08, 0x00], 19)
            }
            _ => ([0xE0, 0x7E, 0x08, 0x01], 27),
        };
        let cmd = Command::new(header[0], header[1], header[2], header[3]).with_data(&data[..len]);
        let answer = t.transmit(&cmd.to_bytes().unwrap()).unwrap();
        prop_assert_ne!(&answer[answer.len() - 2..], &[0x90, 0x00]);
        prop_assert_eq!(t.applet().balance_fen(), 5_000);
        prop_assert!(!t.applet().is_grey_locked());
    }
}

#[test]
fn a_card_that_answers_61xx_forever_is_cut_off() {
    let mut c = Chaos {
        answers: vec![vec![0xAA, 0x61, 0x01]],
        next: 0,
        sent: 0,
    };
    let e = Purse::new(&mut c).balance().unwrap_err();
    assert!(e.to_string().contains("GET RESPONSE"), "{e}");
    assert_eq!(c.sent, 1 + MAX_GET_RESPONSE_ROUNDS);
}

#[test]
fn a_card_that_answers_6cxx_forever_is_cut_off() {
    let mut c = Chaos {
        answers: vec![vec![0x6C, 0x04]],
        next: 0,
        sent: 0,
    };
    assert!(Purse::new(&mut c).balance().is_err());
    assert_eq!(c.sent, 2);
}

#[test]
fn a_pulled_card_is_an_error_everywhere() {
    let (mut t, public) = card();
    t.remove();
    let keys = SoftwareKeyService::new(issuer());
    let e = purse::load(
        &mut Purse::new(&mut t),
        &keys,
        &public,
        1,
        TERMINAL,
        stamp(1),
    )
    .unwrap_err();
    assert!(matches!(
        e,
        purse::PurseError::Transport(TransportError::CardRemoved)
    ));
    let _: &InProcess<SoftwareCard> = &t;
}
