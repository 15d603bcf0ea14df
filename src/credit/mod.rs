//! Credit customers (挂账): a company fuels now and pays at month end, up
//! to a credit limit head office gives it.
//!
//! The company's line ([`lines`]) has a receivable account in the ledger,
//! below zero by what the company owes and never below minus its limit —
//! the floor checked in the statement that draws on it
//! ([`crate::ledger::draw_on_credit`]), and by the database's CHECK. The
//! company's cards marked for credit buy on that account instead of a
//! balance of their own ([`crate::cards::sale`]). Each month closes on the
//! line's statement day into a frozen statement ([`statements`]) due some
//! days later; [`payments`] booked by head office pay it, and while one is
//! unpaid past its due date and grace days the company's cards are refused
//! (`credit_overdue`). The terms' dates are pure rules ([`terms`]).

pub mod lines;
pub mod payments;
pub mod statements;
pub mod terms;
