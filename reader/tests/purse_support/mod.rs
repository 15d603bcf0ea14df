//! Shared by the purse test binaries: fixed issuer keys, a personalised
//! software card in the same process, terminals and times.
#![allow(dead_code, clippy::unwrap_used)]

use fuelcard_reader::card::SoftwareCard;
use fuelcard_reader::keys::{IssuerKeys, SoftwareKeyService, Stamp};
use fuelcard_reader::purse::data::{Holder, PublicData};
use fuelcard_reader::purse::{DEFAULT_AID, Personalisation, Purse, Terminal, personalise};
use fuelcard_reader::transport::{InProcess, Transport};

pub const CARD_NUMBER: &str = "1000000000000001";
pub const PIN: &str = "123456";
pub const TERMINAL: [u8; 6] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];

pub fn issuer() -> IssuerKeys {
    IssuerKeys::parse(
        "load = 11223344556677888877665544332211\n\
         purchase = 0123456789ABCDEFFEDCBA9876543210\n\
         tac = 00112233445566778899AABBCCDDEEFF\n\
         pin_unlock = F0E1D2C3B4A5968778695A4B3C2D1E0F\n",
    )
    .unwrap()
}

pub fn other_issuer() -> IssuerKeys {
    IssuerKeys::parse(
        "load = 99223344556677888877665544332211\n\
         purchase = 9923456789ABCDEFFEDCBA9876543210\n\
         tac = 99112233445566778899AABBCCDDEEFF\n\
         pin_unlock = 99E1D2C3B4A5968778695A4B3C2D1E0F\n",
    )
    .unwrap()
}

pub fn keys() -> SoftwareKeyService {
    SoftwareKeyService::new(issuer())
}

pub fn profile(card_number: &str) -> Personalisation {
    Personalisation {
        aid: DEFAULT_AID.to_vec(),
        card_number: card_number.to_owned(),
        holder: Holder::new(1, false, "张三", "110101199001011234", 0).unwrap(),
        issuer_id: *b"FUELCARD",
        app_type: 0x01,
        app_version: 0x01,
        start_date: [0x20, 0x25, 0x01, 0x01],
        expiry_date: [0x20, 0x35, 0x12, 0x31],
        key_version: 0x01,
    }
}

/// A personalised in-memory card, selected, with the keys of `issuer`.
pub fn card_with(issuer: IssuerKeys) -> (InProcess<SoftwareCard>, PublicData) {
    let mut t = InProcess::new(SoftwareCard::blank_in_memory());
    let public = personalise(
        &mut t,
        &SoftwareKeyService::new(issuer),
        &profile(CARD_NUMBER),
        PIN,
    )
    .unwrap();
    (t, public)
}

pub fn card() -> (InProcess<SoftwareCard>, PublicData) {
    card_with(issuer())
}

pub fn select(t: &mut dyn Transport) {
    Purse::new(t).select(&DEFAULT_AID).unwrap();
}

pub fn stamp(second: u8) -> Stamp {
    Stamp::new(2025, 6, 30, 14, 30, second).unwrap()
}

pub fn at(ttc: u32) -> Terminal {
    Terminal {
        id: TERMINAL,
        ttc,
        stamp: stamp(u8::try_from(ttc % 60).unwrap()),
    }
}
