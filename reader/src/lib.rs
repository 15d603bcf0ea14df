//! The card's electronic purse over PC/SC.
//!
//! A leaf crate: it knows APDUs, the PBOC-style e-purse with the fuel-card
//! grey lock, the keys and MACs of that scheme, and how to reach a card
//! (a PC/SC reader, or a software card in the same process). It knows
//! nothing of the station's database or HTTP; the service drives it.

pub mod apdu;
pub mod card;
pub mod keys;
pub mod pcsc_reader;
pub mod purse;
pub mod transport;
pub mod vpcd;
