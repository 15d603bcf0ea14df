//! How a command reaches a card: the `Transport` trait, and the card side
//! (`Applet`) that a software card implements for the in-process transport
//! and for the virtual reader.

use std::time::Duration;

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
