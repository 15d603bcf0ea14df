//! Known-answer vectors: the public ones from READER.md §3, and pinned
//! values for the project's own choices (diversification, TACs, the grey
//! lock, PIN unblock) computed independently with pycryptodome by
//! `second_impl.py`, so a change to any layout shows here.
#![allow(clippy::unwrap_used)]

use fuelcard_reader::keys::{
    GreyLockContext, IssuerKeys, KeyError, KeyService, LoadContext, PurchaseContext,
    SoftwareKeyService, Stamp, UnlockContext, des_mac, diversify, scheme, tac_key, tdes_ecb,
    txn_type,
};

fn h<const N: usize>(s: &str) -> [u8; N] {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn x(b: impl AsRef<[u8]>) -> String {
    hex::encode_upper(b)
}

const K: &str = "11223344556677888877665544332211";
const TERMINAL: &str = "001122334455";

#[test]
fn load_vector() {
    let seslk = scheme::load_session_key(&h(K), h("11223344"), 0x0000);
    assert_eq!(x(seslk), "9B1D924E05595603");
    assert_eq!(
        x(tdes_ecb(&h(K), &h("1122334400008000"))),
        "9B1D924E05595603"
    );
    let mac1 = scheme::load_mac1(&seslk, 0, 0x0000_1000, 0x01, h(TERMINAL));
    assert_eq!(x(mac1), "2988AE5A");
    let stamp = Stamp::from_bcd(h("20111221"), h("214822")).unwrap();
    assert_eq!(
        x(scheme::load_mac2(&seslk, 0x1000, 0x01, h(TERMINAL), stamp)),
        "3A845BF0"
    );
    // The same MAC2 from the raw bytes, so the layout is pinned too.
    assert_eq!(
        x(des_mac(
            &seslk,
            &h::<18>("000010000100112233445520111221214822")
        )),
        "3A845BF0"
    );
}

#[test]
fn purchase_vector() {
    let sespk = scheme::purchase_session_key(&h(K), h("11223344"), 0x0000, 0x0000_0001);
    assert_eq!(x(sespk), "003238ABC57659DD");
    let stamp = Stamp::from_bcd(h("20120229"), h("135100")).unwrap();
    let mac1 = scheme::purchase_mac1(&sespk, 0x1000, txn_type::EP_PURCHASE, h(TERMINAL), stamp);
    assert_eq!(x(mac1), "F15CAB75");
    assert_eq!(x(scheme::purchase_mac2(&sespk, 0x1000)), "56988A13");
}

#[test]
fn tac_vectors() {
    let key = tac_key(&h(K));
    assert_eq!(x(key), "9955551111555599");
    let stamp = Stamp::from_bcd(h("20120229"), h("135100")).unwrap();
    let tac = scheme::purchase_tac(&key, 0x1000, txn_type::EP_PURCHASE, h(TERMINAL), 1, stamp);
    assert_eq!(x(tac), "F5B221C9");
    let stamp = Stamp::from_bcd(h("20111221"), h("214822")).unwrap();
    let tac = scheme::load_tac(
        &key,
        0x1000,
        0,
        0x1000,
        txn_type::EP_LOAD,
        h(TERMINAL),
        stamp,
    );
    assert_eq!(x(tac), "C4E6A3A3");
}

#[test]
fn diversification_vector() {
    assert_eq!(
        x(diversify(&h(K), &h("1000000000000001"))),
        "C30E7ECB2FD9DFCD3B4BC7DE47BFD57E"
    );
}

/// The whole host side for card 1000000000000001 of an issuer whose four
/// master keys are all `K`.
#[test]
fn key_service_vectors() {
    let keys = SoftwareKeyService::new(IssuerKeys::new(h(K), h(K), h(K), h(K)));
    let asn8 = h("1000000000000001");
    let card = keys.card_keys_for_personalisation(asn8).unwrap();
    assert_eq!(x(card.dlk), "C30E7ECB2FD9DFCD3B4BC7DE47BFD57E");
    let stamp = Stamp::from_bcd(h("20120229"), h("135100")).unwrap();
    let terminal = h(TERMINAL);

    let load = LoadContext {
        asn8,
        key_version: 1,
        random: h("11223344"),
        online_ttc: 0,
        balance_fen: 10_000,
        amount_fen: 4_096,
        txn_type: txn_type::ED_LOAD,
        terminal,
    };
    assert_eq!(
        x(keys.load_mac2(&load, h("A2447AC9"), stamp).unwrap()),
        "02CEC709"
    );
    assert_eq!(
        keys.load_mac2(&load, h("A2447AC8"), stamp),
        Err(KeyError::Mismatch("load MAC1"))
    );
    keys.verify_load_tac(&load, stamp, h("6FCAB677")).unwrap();
    assert!(keys.verify_load_tac(&load, stamp, h("6FCAB676")).is_err());

    let purchase = PurchaseContext {
        asn8,
        key_version: 1,
        random: h("11223344"),
        offline_ttc: 0,
        terminal_ttc: 1,
        amount_fen: 4_096,
        txn_type: txn_type::ED_PURCHASE,
        terminal,
        stamp,
    };
    assert_eq!(x(keys.purchase_mac1(&purchase).unwrap()), "5F1B4812");
    keys.verify_purchase_mac2(&purchase, h("A9B92A1B")).unwrap();
    keys.verify_purchase_tac(&purchase, h("FFD06466")).unwrap();
    assert!(keys.verify_purchase_mac2(&purchase, h("A9B92A1C")).is_err());

    let grey = GreyLockContext {
        asn8,
        key_version: 1,
        random: h("11223344"),
        ctc: 0,
        balance_fen: 10_000,
        psam_ttc: 1,
        psam_random: h("55667788"),
        terminal,
        stamp,
    };
    assert_eq!(x(keys.grey_lock_mac1(&grey).unwrap()), "957B3D84");
    keys.verify_grey_lock(&grey, h("FD73A1C2"), h("960D8D65"))
        .unwrap();
    assert_eq!(
        keys.verify_grey_lock(&grey, h("FD73A1C2"), h("960D8D66")),
        Err(KeyError::Mismatch("grey-lock MAC2"))
    );

    let unlock = UnlockContext {
        asn8,
        ctc: 0,
        amount_fen: 4_096,
        terminal,
        psam_ttc: 1,
        stamp,
    };
    assert_eq!(x(keys.unlock_gmac(&unlock).unwrap()), "594F9155");
    keys.verify_unlock_tac(&unlock, h("90B44366")).unwrap();

    let mac = keys
        .pin_unblock_mac(asn8, h("01020304"), &[0x12, 0x34, 0x56])
        .unwrap();
    assert_eq!(x(mac), "ED4C6B2C");
}
