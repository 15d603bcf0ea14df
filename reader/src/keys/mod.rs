//! Keys and MACs of the PBOC-style e-purse with the Sinopec grey lock.
//!
//! - `crypto`: 3DES, single DES, the ISO 9797-1 MAC, diversification.
//! - `scheme`: session keys and what each MAC and TAC covers.
//! - `issuer`: the issuer master keys (key file / environment) and card keys.
//! - `service`: `KeyService`, the host's key operations, and its software
//!   implementation.

pub mod crypto;
pub mod issuer;
pub mod scheme;
pub mod service;

pub use crypto::{des_ecb, des_mac, diversify, tdes_ecb};
pub use issuer::{CardKeys, ISSUER_KEYS_ENV, IssuerKeys, KeyFileError};
pub use scheme::{
    Stamp, StampError, grey_session_key, load_session_key, purchase_session_key, tac_key, txn_type,
    unlock_session_key,
};
pub use service::{
    GreyLockContext, KeyError, KeyService, LoadContext, PurchaseContext, SoftwareKeyService,
    UnlockContext,
};
