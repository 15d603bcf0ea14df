//! How a command reaches a card: the `Transport` trait, and the card side
//! (`Applet`) that a software card implements for the in-process transport
//! and for the virtual reader.

use std::time::Duration;

use crate::apdu::{Command, Response};

/// Why an exchange with a card failed below the application level.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("no card in the reader")]
    NoCard,
    #[error("the card was removed")]
    CardRemoved,
    #[error("the card did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the card's answer is malformed: {0}")]
    Malformed(String),
    #[error("reader: {0}")]
    Reader(String),
}

/// Sends one command APDU and returns the raw response APDU (data followed
/// by SW1 SW2). Implementations do not interpret status words; `61xx` and
/// `6Cxx` are handled once, above every transport.
pub trait Transport {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError>;
}

/// What the reader does to the card's power, as vpcd reports it. A card
/// keeps its persistent state across all three and drops volatile state
/// (selected application, verified PIN, a pending INITIALIZE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Off,
    On,
    Reset,
}

/// The card side of the conversation: a software card.
pub trait Applet {
    /// The answer to reset the card presents.
    fn atr(&self) -> Vec<u8>;
    fn power(&mut self, event: Power);
    /// Processes one command APDU and returns the response APDU (always at
    /// least the two status bytes).
    fn process(&mut self, command: &[u8]) -> Vec<u8>;
}

/// At most this many GET RESPONSE rounds for one command: a card that keeps
/// answering `61xx` beyond 16 × 256 bytes is broken, and an unbounded loop
/// would hang the terminal.
pub const MAX_GET_RESPONSE_ROUNDS: usize = 16;

/// Sends a command and returns the complete response, handling the T=0
/// conventions once for every transport: `6Cxx` (wrong Le: resend once
/// with Le = xx) and `61xx` (more data: GET RESPONSE `00 C0 00 00 xx`,
/// concatenating the pieces, at most `MAX_GET_RESPONSE_ROUNDS` times).
pub fn exchange(t: &mut dyn Transport, cmd: &Command) -> Result<Response, TransportError> {
    let bytes = cmd
        .to_bytes()
        .map_err(|e| TransportError::Malformed(e.to_string()))?;
    let mut resp = transmit_parsed(t, &bytes)?;
    if resp.sw1() == 0x6C {
        let retry = cmd.clone().with_le(resp.sw2());
        let bytes = retry
            .to_bytes()
            .map_err(|e| TransportError::Malformed(e.to_string()))?;
        resp = transmit_parsed(t, &bytes)?;
    }
    let mut data = std::mem::take(&mut resp.data);
    let mut rounds = 0;
    let mut wrong_le_retried = false;
    while resp.sw1() == 0x61 {
        rounds += 1;
        if rounds > MAX_GET_RESPONSE_ROUNDS {
            return Err(TransportError::Malformed(format!(
                "card still had data after {MAX_GET_RESPONSE_ROUNDS} GET RESPONSE rounds"
            )));
        }
        let mut le = resp.sw2();
        loop {
            resp = transmit_parsed(t, &[0x00, 0xC0, 0x00, 0x00, le])?;
            // A card may correct the length of the GET RESPONSE itself;
            // allow that once per command, not forever.
            if resp.sw1() == 0x6C && !wrong_le_retried {
                wrong_le_retried = true;
                le = resp.sw2();
                continue;
            }
            break;
        }
        data.append(&mut resp.data);
    }
    resp.data = data;
    Ok(resp)
}

fn transmit_parsed(t: &mut dyn Transport, bytes: &[u8]) -> Result<Response, TransportError> {
    let raw = t.transmit(bytes)?;
    tracing::trace!(command = %hex::encode_upper(redact_pin(bytes)), response = %hex::encode_upper(&raw), "apdu");
    Response::parse(&raw).map_err(|e| TransportError::Malformed(e.to_string()))
}

/// The APDU as it may appear in a trace: the header only for commands that
/// carry a PIN or a key.
fn redact_pin(bytes: &[u8]) -> &[u8] {
    match bytes.get(1) {
        Some(&ins) if crate::apdu::carries_secret(ins) => bytes.get(..4).unwrap_or(bytes),
        _ => bytes,
    }
}

/// A software card in the same process, reached without a reader. Tests
/// and demos use it to pull and re-insert the card at any point.
#[derive(Debug)]
pub struct InProcess<A: Applet> {
    applet: A,
    present: bool,
    /// Pull the card after it has processed this many more commands, before
    /// the last one's answer reaches the terminal.
    tear_after: Option<usize>,
}

impl<A: Applet> InProcess<A> {
    /// The card inserted and powered on.
    pub fn new(mut applet: A) -> Self {
        applet.power(Power::On);
        Self {
            applet,
            present: true,
            tear_after: None,
        }
    }

    /// Passes a power event to the card (e.g. a reset between sessions).
    pub fn power(&mut self, event: Power) {
        self.applet.power(event);
    }

    /// Pulls the card: it loses power, and every command fails with
    /// `CardRemoved` until it is inserted again.
    pub fn remove(&mut self) {
        if self.present {
            self.applet.power(Power::Off);
        }
        self.present = false;
        self.tear_after = None;
    }

    /// Inserts the card again: it powers on with its volatile state clear.
    pub fn insert(&mut self) {
        self.present = true;
        self.applet.power(Power::On);
    }

    pub fn is_present(&self) -> bool {
        self.present
    }

    /// Arranges for the card to be pulled right after it has processed the
    /// `n`th next command (1 = the next one): the card acts on it, but the
    /// terminal sees `CardRemoved` instead of the answer. This is the torn
    /// transaction a customer causes by pulling the card too early.
    pub fn tear_after(&mut self, n: usize) {
        self.tear_after = Some(n);
    }

    pub fn atr(&self) -> Vec<u8> {
        self.applet.atr()
    }

    pub fn applet(&self) -> &A {
        &self.applet
    }

    pub fn applet_mut(&mut self) -> &mut A {
        &mut self.applet
    }

    pub fn into_inner(self) -> A {
        self.applet
    }
}

impl<A: Applet> Transport for InProcess<A> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        if !self.present {
            return Err(TransportError::CardRemoved);
        }
        let answer = self.applet.process(command);
        if let Some(n) = self.tear_after {
            if n <= 1 {
                self.remove();
                return Err(TransportError::CardRemoved);
            }
            self.tear_after = Some(n - 1);
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// Answers with scripted bytes and records what it was sent.
    struct Script {
        answers: VecDeque<Vec<u8>>,
        sent: Vec<Vec<u8>>,
    }

    impl Script {
        fn new(answers: &[&str]) -> Self {
            Self {
                answers: answers.iter().map(|a| hex::decode(a).unwrap()).collect(),
                sent: Vec::new(),
            }
        }
    }

    impl Transport for Script {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
            self.sent.push(command.to_vec());
            self.answers.pop_front().ok_or(TransportError::NoCard)
        }
    }

    fn sent(s: &Script) -> Vec<String> {
        s.sent.iter().map(hex::encode_upper).collect()
    }

    #[test]
    fn plain_answer_passes_through() {
        let mut s = Script::new(&["000003E89000"]);
        let r = exchange(&mut s, &Command::new(0x80, 0x5C, 0, 1).with_le(4)).unwrap();
        assert_eq!(r.data, vec![0, 0, 3, 0xE8]);
        assert_eq!(sent(&s), ["805C000104"]);
    }

    #[test]
    fn get_response_collects_pieces() {
        let mut s = Script::new(&["6104", "AABBCCDD6102", "EEFF9000"]);
        let r = exchange(
            &mut s,
            &Command::new(0x80, 0x50, 0, 1).with_data(vec![1; 11]),
        )
        .unwrap();
        assert_eq!(hex::encode_upper(&r.data), "AABBCCDDEEFF");
        assert_eq!(r.sw, 0x9000);
        assert_eq!(sent(&s)[1..], ["00C0000004", "00C0000002"]);
    }

    #[test]
    fn wrong_le_is_resent_once() {
        let mut s = Script::new(&["6C04", "6C08"]);
        let r = exchange(&mut s, &Command::new(0x80, 0x5C, 0, 1).with_le(0x10)).unwrap();
        assert_eq!(r.sw, 0x6C08, "a second 6Cxx is the card's final answer");
        assert_eq!(sent(&s), ["805C000110", "805C000104"]);
    }

    #[test]
    fn endless_get_response_is_cut_off() {
        let answers: Vec<&str> = std::iter::repeat_n("AA6101", 100).collect();
        let mut s = Script::new(&answers);
        let err = exchange(&mut s, &Command::new(0, 0xB0, 0x95, 0).with_le(0)).unwrap_err();
        assert!(matches!(err, TransportError::Malformed(_)));
        assert_eq!(s.sent.len(), MAX_GET_RESPONSE_ROUNDS + 1);
    }

    #[test]
    fn short_answer_is_an_error() {
        let mut s = Script::new(&["90"]);
        assert!(matches!(
            exchange(&mut s, &Command::new(0, 0, 0, 0)),
            Err(TransportError::Malformed(_))
        ));
    }

    #[test]
    fn pin_is_not_traced() {
        assert_eq!(
            redact_pin(&[0, 0x20, 0, 0, 2, 0x12, 0x34]),
            &[0, 0x20, 0, 0]
        );
        assert_eq!(
            redact_pin(&[0x80, 0xD4, 1, 0, 17, 0xAB]),
            &[0x80, 0xD4, 1, 0]
        );
        assert_eq!(redact_pin(&[0x80, 0x5C, 0, 1, 4]), &[0x80, 0x5C, 0, 1, 4]);
    }
}
