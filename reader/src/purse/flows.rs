//! Whole transactions from the purse steps, for tests, demos and the CLI.
//! The service runs the same steps itself so it can write to its database
//! between them (e.g. record the pending load before CREDIT FOR LOAD).
//!
//! None of these verify the PIN: call `Purse::verify_pin` first where the
//! card asks for it (purchase and grey lock).

use rand::RngCore;

use super::data::{GreyFlag, Holder, PublicData};
use super::{KEY_INDEX, KeyKind, PurchaseInit, Purse, PurseError};
use crate::apdu::sw;
use crate::keys::{
    GreyLockContext, KeyService, LoadContext, PurchaseContext, Stamp, UnlockContext, txn_type,
};
use crate::transport::Transport;

/// Who performs a step and when: the terminal's ID, its transaction
/// counter for this step (the PSAM TTC for grey-lock steps), and the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    pub id: [u8; 6],
    pub ttc: u32,
    pub stamp: Stamp,
}

/// A completed load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReceipt {
    pub context: LoadContext,
    pub stamp: Stamp,
    pub balance_after_fen: u32,
    pub tac: [u8; 4],
}

/// A completed purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseReceipt {
    pub context: PurchaseContext,
    pub balance_after_fen: u32,
    pub tac: [u8; 4],
    pub mac2: [u8; 4],
}

/// A grey lock in place: the card's balance is held for this terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GreyLockReceipt {
    pub context: GreyLockContext,
    pub gtac: [u8; 4],
    pub mac2: [u8; 4],
}

/// A completed debit for unlock (TAC read and cleared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnlockReceipt {
    pub context: UnlockContext,
    pub balance_after_fen: u32,
    pub tac: [u8; 4],
}

/// Loads `amount_fen` onto the card: INITIALIZE FOR LOAD, MAC1 checked and
/// MAC2 made by the key service, CREDIT FOR LOAD, TAC checked.
///
/// If the card is pulled after CREDIT was sent, the load may or may not
/// have happened: keep the context and call `confirm_load` once the card
/// is back.
pub fn load(
    purse: &mut Purse<'_>,
    keys: &dyn KeyService,
    card: &PublicData,
    amount_fen: u32,
    terminal: [u8; 6],
    stamp: Stamp,
) -> Result<LoadReceipt, PurseError> {
    let init = purse.init_load(KEY_INDEX, amount_fen, terminal)?;
    let context = LoadContext {
        asn8: card.asn8(),
        key_version: init.key_version,
        random: init.random,
        online_ttc: init.online_ttc,
        balance_fen: init.balance_fen,
        amount_fen,
        txn_type: txn_type::ED_LOAD,
        terminal,
    };
    let mac2 = keys.load_mac2(&context, init.mac1, stamp)?;
    let tac = purse.credit_load(stamp, mac2)?;
    keys.verify_load_tac(&context, stamp, tac)?;
    Ok(LoadReceipt {
        context,
        stamp,
        balance_after_fen: load_balance_after(&context)?,
        tac,
    })
}

fn load_balance_after(context: &LoadContext) -> Result<u32, PurseError> {
    context
        .balance_fen
        .checked_add(context.amount_fen)
        .ok_or_else(|| PurseError::Malformed("balance plus load overflows".into()))
}

/// After a torn load (the card pulled after CREDIT FOR LOAD was sent):
/// asks the card whether that load happened. `Some(receipt)` if the card
/// proves it with a TAC that verifies, `None` if the card has no such
/// transaction (nothing was credited; the load can be retried).
pub fn confirm_load(
    purse: &mut Purse<'_>,
    keys: &dyn KeyService,
    context: &LoadContext,
    stamp: Stamp,
) -> Result<Option<LoadReceipt>, PurseError> {
    let Some(ttc_after) = context.online_ttc.checked_add(1) else {
        return Ok(None);
    };
    match purse.transaction_prove(context.txn_type, ttc_after) {
        Ok(proof) => {
            keys.verify_load_tac(context, stamp, proof.tac)?;
            Ok(Some(LoadReceipt {
                context: *context,
                stamp,
                balance_after_fen: load_balance_after(context)?,
                tac: proof.tac,
            }))
        }
        Err(PurseError::Status {
            sw: sw::MAC_UNAVAILABLE,
            ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A purchase of `amount_fen` (PIN already verified): INITIALIZE FOR
/// PURCHASE, MAC1 from the key service, DEBIT FOR PURCHASE, MAC2 and TAC
/// checked.
pub fn purchase(
    purse: &mut Purse<'_>,
    keys: &dyn KeyService,
    card: &PublicData,
    amount_fen: u32,
    at: &Terminal,
) -> Result<PurchaseReceipt, PurseError> {
    let init = purse.init_purchase(KEY_INDEX, amount_fen, at.id)?;
    let context = purchase_context(card, &init, amount_fen, at);
    let mac1 = keys.purchase_mac1(&context)?;
    let proof = purse.debit_purchase(at.ttc, at.stamp, mac1)?;
    keys.verify_purchase_mac2(&context, proof.mac)?;
    keys.verify_purchase_tac(&context, proof.tac)?;
    Ok(PurchaseReceipt {
        context,
        balance_after_fen: purchase_balance_after(init.balance_fen, amount_fen)?,
        tac: proof.tac,
        mac2: proof.mac,
    })
}

fn purchase_context(
    card: &PublicData,
    init: &PurchaseInit,
    amount_fen: u32,
    at: &Terminal,
) -> PurchaseContext {
    PurchaseContext {
        asn8: card.asn8(),
        key_version: init.key_version,
        random: init.random,
        offline_ttc: init.offline_ttc,
        terminal_ttc: at.ttc,
        amount_fen,
        txn_type: txn_type::ED_PURCHASE,
        terminal: at.id,
        stamp: at.stamp,
    }
}

fn purchase_balance_after(balance_fen: u32, amount_fen: u32) -> Result<u32, PurseError> {
    balance_fen
        .checked_sub(amount_fen)
        .ok_or(PurseError::InsufficientBalance)
}

/// After a torn purchase: whether the card debited it, proven by MAC2 and
/// TAC from GET TRANSACTION PROVE. `balance_before_fen` is INITIALIZE's.
pub fn confirm_purchase(
    purse: &mut Purse<'_>,
    keys: &dyn KeyService,
    context: &PurchaseContext,
    balance_before_fen: u32,
) -> Result<Option<PurchaseReceipt>, PurseError> {
    let Some(ttc_after) = context.offline_ttc.checked_add(1) else {
        return Ok(None);
    };
    match purse.transaction_prove(context.txn_type, ttc_after) {
        Ok(proof) => {
            keys.verify_purchase_mac2(context, proof.mac)?;
            keys.verify_purchase_tac(context, proof.tac)?;
            Ok(Some(PurchaseReceipt {
                context: *context,
                balance_after_fen: purchase_balance_after(balance_before_fen, context.amount_fen)?,
                tac: proof.tac,
                mac2: proof.mac,
            }))
        }
        Err(PurseError::Status {
            sw: sw::MAC_UNAVAILABLE,
            ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Grey-locks the card before fuelling (PIN already verified): both halves,
/// [`grey_lock_begin`] and [`grey_lock_send`], with nothing in between.
pub fn grey_lock(
    purse: &mut Purse<'_>,
    keys: &dyn KeyService,
    card: &PublicData,
    at: &Terminal,
) -> Result<GreyLockReceipt, PurseError> {
    let begun = grey_lock_begin(purse, keys, card, at)?;
    grey_lock_send(purse, keys, &begun)
}

/// A grey lock prepared and not yet sent: what the lock will be (counters,
/// balance, terminal) and the MAC1 that asks the card for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreyLockBegun {
    pub context: GreyLockContext,
    pub mac1: [u8; 4],
}

/// The first half of a grey lock: an unlock TAC left unread by an earlier
/// terminal is cleared, a card already locked is refused with
/// `GreyLocked`, then INITIALIZE FOR GREY LOCK and the key service's MAC1.
/// Nothing is locked yet: a host writes the lock down now, before
/// [`grey_lock_send`], so a lock whose answer is lost is still its own.
pub fn grey_lock_begin(
    purse: &mut Purse<'_>,
    keys: &dyn KeyService,
    card: &PublicData,
    at: &Terminal,
) -> Result<GreyLockBegun, PurseError> {
    match purse.grey_status()?.flag {
        GreyFlag::Locked => return Err(PurseError::GreyLocked),
        GreyFlag::TacUnread => {
            tracing::info!("clearing an unread unlock TAC left by an earlier terminal");
            purse.clear_tacuf()?;
        }
        GreyFlag::Clear => {}
    }
    let init = purse.init_grey_lock(KEY_INDEX, at.id)?;
    let mut psam_random = [0u8; 4];
    rand::rngs::OsRng.fill_bytes(&mut psam_random);
    let context = GreyLockContext {
        asn8: card.asn8(),
        key_version: init.key_version,
        random: init.random,
        ctc: init.offline_ttc,
        balance_fen: init.balance_fen,
        psam_ttc: at.ttc,
        psam_random,
        terminal: at.id,
        stamp: at.stamp,
    };
    let mac1 = keys.grey_lock_mac1(&context)?;
    Ok(GreyLockBegun { context, mac1 })
}

/// The second half: GREY LOCK, and the card's GTAC and MAC2 verified.
pub fn grey_lock_send(
    purse: &mut Purse<'_>,
    keys: &dyn KeyService,
    begun: &GreyLockBegun,
) -> Result<GreyLockReceipt, PurseError> {
    let c = &begun.context;
    let proof = purse.grey_lock(c.psam_ttc, c.psam_random, c.stamp, begun.mac1)?;
    keys.verify_grey_lock(c, proof.tac, proof.mac)?;
    Ok(GreyLockReceipt {
        context: *c,
        gtac: proof.tac,
        mac2: proof.mac,
    })
}

/// Debits `amount_fen` from a grey-locked card and unlocks it: GET GREY
/// STATUS for the CTC, GMAC from the key service, DEBIT FOR UNLOCK, TAC
/// checked, CLEAR TACUF. Works on any terminal, after any power loss.
pub fn unlock(
    purse: &mut Purse<'_>,
    keys: &dyn KeyService,
    card: &PublicData,
    amount_fen: u32,
    at: &Terminal,
) -> Result<UnlockReceipt, PurseError> {
    let status = purse.grey_status()?;
    if status.flag != GreyFlag::Locked {
        return Err(PurseError::Invalid("the card is not grey-locked".into()));
    }
    let context = UnlockContext {
        asn8: card.asn8(),
        ctc: status.ctc,
        amount_fen,
        terminal: at.id,
        psam_ttc: at.ttc,
        stamp: at.stamp,
    };
    let gmac = keys.unlock_gmac(&context)?;
    let tac = purse.debit_for_unlock(amount_fen, status.ctc, at.id, at.ttc, at.stamp, gmac)?;
    keys.verify_unlock_tac(&context, tac)?;
    purse.clear_tacuf()?;
    Ok(UnlockReceipt {
        context,
        balance_after_fen: purchase_balance_after(status.balance_fen, amount_fen)?,
        tac,
    })
}

/// After a torn grey lock (the card pulled after GREY LOCK was sent):
/// whether the card locked for this context, proven by the MAC2 and GTAC
/// GET GREY STATUS shows. `None` if the card is not locked by it (nothing
/// is held; start again).
pub fn confirm_grey_lock(
    purse: &mut Purse<'_>,
    keys: &dyn KeyService,
    context: &GreyLockContext,
) -> Result<Option<GreyLockReceipt>, PurseError> {
    let status = purse.grey_status()?;
    let Some((mac2, gtac)) = status.lock_macs() else {
        return Ok(None);
    };
    if status.ctc != context.ctc || status.terminal != context.terminal {
        return Ok(None);
    }
    keys.verify_grey_lock(context, gtac, mac2)?;
    Ok(Some(GreyLockReceipt {
        context: *context,
        gtac,
        mac2,
    }))
}

/// After a torn debit for unlock: whether the card took this debit, proven
/// by the unlock TAC GET GREY STATUS shows while the flag is `10` (then
/// cleared). `None` if the card is still locked (the unlock can be sent
/// again) or shows another unlock.
pub fn confirm_unlock(
    purse: &mut Purse<'_>,
    keys: &dyn KeyService,
    context: &UnlockContext,
) -> Result<Option<UnlockReceipt>, PurseError> {
    let status = purse.grey_status()?;
    if status.flag != GreyFlag::TacUnread || status.ctc != context.ctc {
        return Ok(None);
    }
    let Some((amount_fen, tac)) = status.unlock() else {
        return Ok(None);
    };
    if amount_fen != context.amount_fen {
        return Ok(None);
    }
    keys.verify_unlock_tac(context, tac)?;
    purse.clear_tacuf()?;
    Ok(Some(UnlockReceipt {
        context: *context,
        balance_after_fen: status.balance_fen,
        tac,
    }))
}

/// Grey lock, then (fuelling happens here) debit for unlock of the amount
/// actually sold.
pub fn purchase_with_grey_lock(
    purse: &mut Purse<'_>,
    keys: &dyn KeyService,
    card: &PublicData,
    amount_fen: u32,
    lock_at: &Terminal,
    unlock_at: &Terminal,
) -> Result<(GreyLockReceipt, UnlockReceipt), PurseError> {
    let lock = grey_lock(purse, keys, card, lock_at)?;
    let unlocked = unlock(purse, keys, card, amount_fen, unlock_at)?;
    Ok((lock, unlocked))
}

/// Sets a new PIN on a card whose PIN is blocked (or forgotten), with the
/// issuer's PIN-unblock key.
pub fn unblock_pin(
    purse: &mut Purse<'_>,
    keys: &dyn KeyService,
    card: &PublicData,
    new_pin: &str,
) -> Result<(), PurseError> {
    let pin = super::pin_bcd(new_pin)?;
    let challenge = purse.get_challenge()?;
    let mac = keys.pin_unblock_mac(card.asn8(), challenge, &pin)?;
    purse.pin_unblock(new_pin, mac)
}

/// What a new card gets written at personalisation.
#[derive(Debug, Clone)]
pub struct Personalisation {
    pub aid: Vec<u8>,
    pub card_number: String,
    pub holder: Holder,
    pub issuer_id: [u8; 8],
    pub app_type: u8,
    pub app_version: u8,
    pub start_date: [u8; 4],
    pub expiry_date: [u8; 4],
    pub key_version: u8,
}

/// Writes a blank card: the four card keys diversified from the issuer
/// keys, EF 0x15 and 0x16, the PIN; then ends personalisation and reads the
/// public data back.
pub fn personalise(
    transport: &mut dyn Transport,
    keys: &dyn KeyService,
    p: &Personalisation,
    pin: &str,
) -> Result<PublicData, PurseError> {
    let public = PublicData::for_card(
        &p.card_number,
        p.issuer_id,
        p.app_type,
        p.app_version,
        p.start_date,
        p.expiry_date,
    )
    .map_err(|e| PurseError::Invalid(e.to_string()))?;
    super::pin_bcd(pin)?;
    let card_keys = keys.card_keys_for_personalisation(public.asn8())?;
    let mut purse = Purse::new(transport);
    purse.select(&p.aid)?;
    purse.write_key(KeyKind::Load, p.key_version, &card_keys.dlk)?;
    purse.write_key(KeyKind::Purchase, p.key_version, &card_keys.dpk)?;
    purse.write_key(KeyKind::Tac, p.key_version, &card_keys.dtk)?;
    purse.write_key(KeyKind::PinUnblock, p.key_version, &card_keys.dpuk)?;
    purse.update_binary(0x15, 0, &public.to_bytes())?;
    purse.update_binary(0x16, 0, &p.holder.to_bytes())?;
    purse.set_pin(pin)?;
    purse.end_personalisation()?;
    let written = purse.read_public()?;
    if written != public {
        return Err(PurseError::Malformed(
            "the card's public data differs from what was written".into(),
        ));
    }
    Ok(written)
}
