//! The ledger: accounts, double-entry transfers, holds, idempotency and the
//! invariant check.
//!
//! Every movement of value is a transfer between two accounts, written in
//! the caller's transaction together with the balance updates. A balance is
//! changed only by a conditional `UPDATE` that checks the floor in the same
//! statement, so no read-then-write race can overdraw an account: a card's
//! floor is zero, a credit customer's receivable's is minus its limit.

pub mod accounts;
pub mod check;
pub mod holds;
pub mod idempotency;
pub mod transfers;

pub use accounts::{AccountKind, system_account};
pub use transfers::{
    Debited, Movement, Operation, OperationRef, SpendSplit, draw_on_credit, post, record_operation,
    spend, spend_debit,
};
