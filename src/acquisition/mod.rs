//! Customer acquisition (客户开发): the prospects a station surveys and
//! develops visit by visit, where each new card customer came from, and the
//! monthly targets per district and station set beside what the ledger and
//! the card openings say really happened — never figures typed in.
//!
//! - [`prospects`]: the pipeline (surveyed → planned → contacted →
//!   negotiating → won / lost), contacts, visits, overdue next steps, CSV
//!   import, winning a prospect as a customer.
//! - [`channels`]: conversion per channel and per flyer batch.
//! - [`targets`]: targets and the monthly tracking table; what makes a new
//!   customer count (activation).
//! - [`periods`]: months, ISO weeks and quarters in the operator's zone.
//! - [`rankings`]: the leaderboard of stations and staff, and the wins feed.
//! - [`weekly`]: the district's weekly report, drafted by the service every
//!   Sunday and frozen when submitted.
//!
//! A card opening's channel and its first sale and recharge are kept by
//! the card room ([`crate::cards::openings`]); districts by the station
//! room ([`crate::stations::districts`]).

pub mod channels;
pub mod periods;
pub mod prospects;
pub mod rankings;
pub mod targets;
pub mod weekly;
