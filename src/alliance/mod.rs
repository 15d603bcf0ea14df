//! The merchant alliance (商户联盟): partner merchants near the stations —
//! car washes, insurers, restaurants, repair shops — make a fuel card worth
//! more than its balance.
//!
//! - [`merchants`]: the partners and the stations they partner with.
//! - [`offers`]: an offer as data — what triggers it (a card opened, a
//!   recharge or a sale of at least an amount, a month's card spend), what
//!   it grants (a voucher, a monthly entitlement, a discount, a gift), what
//!   one grant costs and who funds it, and the budget it never exceeds.
//! - [`engine`]: grants the matching offers' benefits in the transaction of
//!   the event that triggered them, once per event, with the budget taken
//!   by conditional updates so that no number of stations or servers can
//!   overspend it.
//! - [`vouchers`]: the unguessable codes a benefit is claimed with.
//! - [`redemptions`]: the merchant redeems (and may reverse) a benefit; a
//!   monthly entitlement resets each calendar month.
//! - [`voids`]: benefits die with the money that earned them: a closed
//!   card's undelivered benefits are voided and their budget given back; a
//!   replacement card takes them over.
//! - [`grantees`]: the lists a partner must act on (an insurer's
//!   registrations), of consenting customers only.
//! - [`settlement`]: per merchant and month, who owes whom, booked once on
//!   the ledger against the partner's account.
//! - [`effectiveness`]: what each offer brought: grants, redemptions, cards
//!   opened, recharges, cost per new card.
//! - [`receipts`]: the benefits an event granted, for its receipt read back.

pub mod effectiveness;
pub mod engine;
pub mod grantees;
pub mod merchants;
pub mod offers;
pub mod receipts;
pub mod redemptions;
pub mod settlement;
pub mod voids;
pub mod vouchers;
