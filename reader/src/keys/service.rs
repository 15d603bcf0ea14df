//! The host's key operations behind one trait, so a hardware security
//! module or a PSAM can replace the software implementation without the
//! service changing. Every method takes public inputs (ASN, counters,
//! randoms, amounts, terminal, date/time) and returns MACs or a verdict;
//! only `card_keys_for_personalisation` hands out key material, because
//! writing a new card needs it.

use std::fmt;

use super::crypto::mac_eq;
use super::issuer::{CardKeys, IssuerKeys};
use super::scheme::{self, Stamp};

/// Why a key operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A MAC or TAC that came from the card does not verify: the card is
    /// not ours, the data was altered, or the card's keys differ.
    #[error("the card's {0} does not verify")]
    Mismatch(&'static str),
    /// The key store (HSM, PSAM) could not answer.
    #[error("key service unavailable: {0}")]
    Unavailable(String),
}

/// Everything public about a load between INITIALIZE FOR LOAD and CREDIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadContext {
    pub asn8: [u8; 8],
    pub key_version: u8,
    pub random: [u8; 4],
    /// Online TTC as INITIALIZE FOR LOAD reported it (before the credit).
    pub online_ttc: u16,
    /// Balance before the load.
    pub balance_fen: u32,
    pub amount_fen: u32,
    pub txn_type: u8,
    pub terminal: [u8; 6],
}

/// Everything public about a purchase between INITIALIZE and DEBIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurchaseContext {
    pub asn8: [u8; 8],
    pub key_version: u8,
    pub random: [u8; 4],
    /// Offline TTC as INITIALIZE FOR PURCHASE reported it.
    pub offline_ttc: u16,
    pub terminal_ttc: u32,
    pub amount_fen: u32,
    pub txn_type: u8,
    pub terminal: [u8; 6],
    pub stamp: Stamp,
}

/// Everything public about a grey lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreyLockContext {
    pub asn8: [u8; 8],
    pub key_version: u8,
    pub random: [u8; 4],
    /// The offline counter INITIALIZE FOR GREY LOCK reported.
    pub ctc: u16,
    /// The balance INITIALIZE FOR GREY LOCK reported (what MAC2 covers).
    pub balance_fen: u32,
    pub psam_ttc: u32,
    pub psam_random: [u8; 4],
    pub terminal: [u8; 6],
    pub stamp: Stamp,
}

/// Everything public about a debit for unlock. Needs no random, so it can
/// be built from GET GREY STATUS alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnlockContext {
    pub asn8: [u8; 8],
    /// The CTC of the grey lock.
    pub ctc: u16,
    pub amount_fen: u32,
    pub terminal: [u8; 6],
    /// The PSAM's TTC for this unlock (covered by the unlock TAC).
    pub psam_ttc: u32,
    pub stamp: Stamp,
}

/// The host side's key operations.
pub trait KeyService: Send + Sync {
    /// Checks the card's MAC1 from INITIALIZE FOR LOAD, then returns MAC2
    /// for CREDIT FOR LOAD at `stamp`. A wrong MAC1 means the card is not
    /// one of ours: nothing is loaded.
    fn load_mac2(
        &self,
        ctx: &LoadContext,
        mac1: [u8; 4],
        stamp: Stamp,
    ) -> Result<[u8; 4], KeyError>;
    /// Checks the TAC of a completed load (from CREDIT or GET TRANSACTION
    /// PROVE).
    fn verify_load_tac(
        &self,
        ctx: &LoadContext,
        stamp: Stamp,
        tac: [u8; 4],
    ) -> Result<(), KeyError>;
    /// The terminal's MAC1 for DEBIT FOR PURCHASE.
    fn purchase_mac1(&self, ctx: &PurchaseContext) -> Result<[u8; 4], KeyError>;
    /// Checks the card's MAC2 from DEBIT FOR PURCHASE.
    fn verify_purchase_mac2(&self, ctx: &PurchaseContext, mac2: [u8; 4]) -> Result<(), KeyError>;
    /// Checks a purchase TAC (needs no random, so it also works on a TAC
    /// read back after a pulled card).
    fn verify_purchase_tac(&self, ctx: &PurchaseContext, tac: [u8; 4]) -> Result<(), KeyError>;
    /// The PSAM's MAC1 for GREY LOCK.
    fn grey_lock_mac1(&self, ctx: &GreyLockContext) -> Result<[u8; 4], KeyError>;
    /// Checks the card's MAC2 and GTAC from GREY LOCK.
    fn verify_grey_lock(
        &self,
        ctx: &GreyLockContext,
        gtac: [u8; 4],
        mac2: [u8; 4],
    ) -> Result<(), KeyError>;
    /// The GMAC for DEBIT FOR UNLOCK.
    fn unlock_gmac(&self, ctx: &UnlockContext) -> Result<[u8; 4], KeyError>;
    /// Checks the TAC of a debit for unlock.
    fn verify_unlock_tac(&self, ctx: &UnlockContext, tac: [u8; 4]) -> Result<(), KeyError>;
    /// The MAC for PIN UNBLOCK after the card's GET CHALLENGE.
    fn pin_unblock_mac(
        &self,
        asn8: [u8; 8],
        challenge: [u8; 4],
        new_pin_bcd: &[u8],
    ) -> Result<[u8; 4], KeyError>;
    /// The keys to write into a new card. The only method that returns key
    /// material; call it from personalisation only.
    fn card_keys_for_personalisation(&self, asn8: [u8; 8]) -> Result<CardKeys, KeyError>;
}

/// `KeyService` in software, from the issuer master keys in memory.
pub struct SoftwareKeyService(IssuerKeys);

impl SoftwareKeyService {
    pub fn new(keys: IssuerKeys) -> Self {
        Self(keys)
    }
}

impl fmt::Debug for SoftwareKeyService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SoftwareKeyService(<redacted>)")
    }
}

fn check(expected: [u8; 4], got: [u8; 4], what: &'static str) -> Result<(), KeyError> {
    if mac_eq(&expected, &got) {
        Ok(())
    } else {
        Err(KeyError::Mismatch(what))
    }
}

impl KeyService for SoftwareKeyService {
    fn load_mac2(
        &self,
        ctx: &LoadContext,
        mac1: [u8; 4],
        stamp: Stamp,
    ) -> Result<[u8; 4], KeyError> {
        let card = self.0.card_keys(ctx.asn8);
        let seslk = scheme::load_session_key(&card.dlk, ctx.random, ctx.online_ttc);
        let expected = scheme::load_mac1(
            &seslk,
            ctx.balance_fen,
            ctx.amount_fen,
            ctx.txn_type,
            ctx.terminal,
        );
        check(expected, mac1, "load MAC1")?;
        Ok(scheme::load_mac2(
            &seslk,
            ctx.amount_fen,
            ctx.txn_type,
            ctx.terminal,
            stamp,
        ))
    }

    fn verify_load_tac(
        &self,
        ctx: &LoadContext,
        stamp: Stamp,
        tac: [u8; 4],
    ) -> Result<(), KeyError> {
        let card = self.0.card_keys(ctx.asn8);
        let new_balance = ctx
            .balance_fen
            .checked_add(ctx.amount_fen)
            .ok_or(KeyError::Mismatch("load TAC"))?;
        let expected = scheme::load_tac(
            &scheme::tac_key(&card.dtk),
            new_balance,
            ctx.online_ttc,
            ctx.amount_fen,
            ctx.txn_type,
            ctx.terminal,
            stamp,
        );
        check(expected, tac, "load TAC")
    }

    fn purchase_mac1(&self, ctx: &PurchaseContext) -> Result<[u8; 4], KeyError> {
        let card = self.0.card_keys(ctx.asn8);
        let sespk =
            scheme::purchase_session_key(&card.dpk, ctx.random, ctx.offline_ttc, ctx.terminal_ttc);
        Ok(scheme::purchase_mac1(
            &sespk,
            ctx.amount_fen,
            ctx.txn_type,
            ctx.terminal,
            ctx.stamp,
        ))
    }

    fn verify_purchase_mac2(&self, ctx: &PurchaseContext, mac2: [u8; 4]) -> Result<(), KeyError> {
        let card = self.0.card_keys(ctx.asn8);
        let sespk =
            scheme::purchase_session_key(&card.dpk, ctx.random, ctx.offline_ttc, ctx.terminal_ttc);
        check(
            scheme::purchase_mac2(&sespk, ctx.amount_fen),
            mac2,
            "purchase MAC2",
        )
    }

    fn verify_purchase_tac(&self, ctx: &PurchaseContext, tac: [u8; 4]) -> Result<(), KeyError> {
        let card = self.0.card_keys(ctx.asn8);
        let expected = scheme::purchase_tac(
            &scheme::tac_key(&card.dtk),
            ctx.amount_fen,
            ctx.txn_type,
            ctx.terminal,
            ctx.terminal_ttc,
            ctx.stamp,
        );
        check(expected, tac, "purchase TAC")
    }

    fn grey_lock_mac1(&self, ctx: &GreyLockContext) -> Result<[u8; 4], KeyError> {
        let card = self.0.card_keys(ctx.asn8);
        let sesk = scheme::grey_session_key(
            &card.dpk,
            ctx.random,
            ctx.ctc,
            ctx.psam_ttc,
            ctx.psam_random,
        );
        Ok(scheme::grey_mac1(&sesk, ctx.terminal, ctx.stamp))
    }

    fn verify_grey_lock(
        &self,
        ctx: &GreyLockContext,
        gtac: [u8; 4],
        mac2: [u8; 4],
    ) -> Result<(), KeyError> {
        let card = self.0.card_keys(ctx.asn8);
        let sesk = scheme::grey_session_key(
            &card.dpk,
            ctx.random,
            ctx.ctc,
            ctx.psam_ttc,
            ctx.psam_random,
        );
        check(
            scheme::grey_mac2(&sesk, ctx.balance_fen),
            mac2,
            "grey-lock MAC2",
        )?;
        let expected = scheme::grey_tac(
            &scheme::tac_key(&card.dtk),
            ctx.terminal,
            ctx.psam_ttc,
            ctx.stamp,
        );
        check(expected, gtac, "grey-lock GTAC")
    }

    fn unlock_gmac(&self, ctx: &UnlockContext) -> Result<[u8; 4], KeyError> {
        let card = self.0.card_keys(ctx.asn8);
        let sesuk = scheme::unlock_session_key(&card.dpk, ctx.ctc);
        Ok(scheme::unlock_gmac(
            &sesuk,
            ctx.asn8,
            ctx.ctc,
            ctx.amount_fen,
        ))
    }

    fn verify_unlock_tac(&self, ctx: &UnlockContext, tac: [u8; 4]) -> Result<(), KeyError> {
        let card = self.0.card_keys(ctx.asn8);
        let expected = scheme::purchase_tac(
            &scheme::tac_key(&card.dtk),
            ctx.amount_fen,
            scheme::txn_type::UNLOCK,
            ctx.terminal,
            ctx.psam_ttc,
            ctx.stamp,
        );
        check(expected, tac, "unlock TAC")
    }

    fn pin_unblock_mac(
        &self,
        asn8: [u8; 8],
        challenge: [u8; 4],
        new_pin_bcd: &[u8],
    ) -> Result<[u8; 4], KeyError> {
        let card = self.0.card_keys(asn8);
        let session = scheme::pin_unblock_session_key(&card.dpuk, challenge);
        Ok(scheme::pin_unblock_mac(&session, new_pin_bcd))
    }

    fn card_keys_for_personalisation(&self, asn8: [u8; 8]) -> Result<CardKeys, KeyError> {
        Ok(self.0.card_keys(asn8))
    }
}
