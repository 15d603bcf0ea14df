//! fuelcard: a fuel-station loyalty and stored-value IC card service.
//!
//! The rooms, named after the business:
//!
//! - [`money`]: exact yuan and litres, and the one rounding rule.
//! - [`ledger`]: the double-entry heart. Accounts, transfers, holds,
//!   idempotency keys and the invariant check. Every movement of value is a
//!   transfer between two accounts.
//! - [`cards`]: what a cashier does. Customers, cards and PINs, prices and
//!   promotions, recharge, sale, company transfers, card life (loss,
//!   replacement, conversion, closure — on the holder's word,
//!   [`cards::holder`]) and statements.
//! - [`credit`]: credit customers (挂账). A company's credit line and its
//!   receivable (never below minus the limit), the cards that buy on it,
//!   monthly statements frozen at the statement day, payments, reminders,
//!   and the refusal of an overdue company's sales.
//! - [`crm`]: keeping customers. Complaints taken from receipt through
//!   assignment, answer and follow-up to closure, each stage within its
//!   time limit, and counted by month. The customer archive: contacts,
//!   consents, notes, the timeline of everything a customer did, and the
//!   merging of two records of the same customer. Customer care
//!   ([`crm::care`]): every call and visit logged with its purpose,
//!   outcome and next step, a station's plan of visits (three days' notice
//!   for gold and key customers), the birthdays and anniversaries coming.
//! - [`fleet`]: company fleets. Vehicles and their sale-time limits, the
//!   monthly allocation, top-ups and loans, and the monthly review with
//!   its anomalies.
//! - [`chip`]: the card's electronic purse at the counter (read, load,
//!   grey-lock fills, pump uploads), through the `fuelcard-reader` crate.
//! - [`acquisition`]: winning new customers. Prospects and development
//!   visits, where each card opening came from ([`cards::openings`]),
//!   monthly targets beside actuals read from the ledger (a new customer
//!   counts once activated by a refuel), the leaderboard, the wins feed and
//!   the district's weekly report.
//! - [`alliance`]: the merchant alliance. Partner merchants, offers kept
//!   as data with budgets that are never exceeded, the engine that grants
//!   their benefits in the transaction of the card event that earned them,
//!   redemption at the merchant (worth no more than the offer's ceiling,
//!   within its money budget; reversed only by whoever delivered it),
//!   benefits voided with their card's refunded money, the partners' lists
//!   of consenting customers, the monthly settlement and what each offer
//!   brought.
//! - [`stations`]: stations and districts, cashier shifts and the day-end
//!   report.
//! - [`auth`]: users, roles, sessions (ended by idle time, an absolute
//!   end, logout, a password change or deactivation), the guessing limits
//!   kept in the database ([`auth::throttle`]), and who may do what. The policy
//!   ([`auth::policy`]) is one table of business actions × roles → scope
//!   (own station, own district, own company, all, never) and one function,
//!   [`auth::policy::authorize`], that every handler, page and tool asks
//!   with the action and what the business belongs to. A company's money
//!   moves on its word ([`cards::transfer::consent`], through the policy);
//!   a main card buys no fuel ([`cards::Card::ensure_buys_fuel`]).
//! - [`lifecycle`]: the states of cards, holds, fills, top-ups, loans,
//!   plans, prospects, complaints and planned visits, and the moves
//!   between them.
//! - [`actions`]: one function per business action (sell, recharge, open
//!   a card, replace it, load its chip, acknowledge an anomaly, add a
//!   user …), shared by the API, the pages and the console. Each asks the
//!   policy, runs its writes in one transaction (under the idempotency key
//!   when money moves) and returns a typed result. A pump's holds (place,
//!   capture, void) are [`actions::holds`]. Logging in and out and
//!   finding a token's user are [`actions::session`]; the service's own
//!   timed work (the minute's sweep, the month's grading, the fleets' plans)
//!   is [`actions::jobs`], and what the faces only read is
//!   [`actions::reads`]. So [`http`] holds no SQL, connection or
//!   transaction of its own.
//! - [`http`]: the JSON API and the counter, fleet, acquisition,
//!   alliance, customer-relationship and credit pages, both thin over
//!   [`actions`]; the pages' forms guarded
//!   against other sites ([`http::csrf`]); the OpenAPI document, and
//!   problem+json errors ([`error`]).
//! - [`db`]: one query text for SQLite and PostgreSQL, and SQLite's group
//!   commit; a PostgreSQL primary and its standbys in one URL, the pool
//!   following the one that accepts writes; a station's SQLite backed up online, verified before it
//!   counts, and restored ([`db::backup`]). [`audit`] records every write
//!   in the same transaction.
//! - [`config`]: settings and the keys that never enter the database.
//!   [`csv_io`]: CSV files read whole and written formula-safe.
//! - [`time`]: the one clock. [`idle`]: background threads (password
//!   hashing, backups) in the kernel's idle class, behind the sales.
//!
//! How a sale flows: `POST /api/v1/sales` reaches the handler in
//! [`http::api::sales`], which parses the body into an owned
//! [`actions::counter::Sale`]; the counter page's sale form builds the same
//! value. [`actions::counter::sell`] asks the policy, checks the PIN (its
//! try commits on its own) and runs one write transaction under the
//! idempotency key ([`actions::run`]). Inside it, [`cards::sale::sell`] prices the
//! fuel at the price in force and [`fleet::clear`] checks a fleet card's
//! limits under the vehicle's lock. Then [`ledger::spend_debit`] debits the
//! card, bonus first, in one conditional statement, and the station's sales
//! account is credited last, just before the commit. Calls go down, never
//! back up.
//!
//! Time comes from one [`time::Clock`]. It is made at start-up (the system
//! clock, or one set with `--clock`) and kept in the service's settings. A
//! request reads it once and hands the instant down, so the rules and stores
//! below never ask the system what time it is.
//!
//! The `fuelcard` binary (`src/bin/fuelcard`) holds the command line and
//! the tools that ship with the service: the demo network, the benchmark
//! and the reader tools.

pub mod acquisition;
pub mod actions;
pub mod alliance;
pub mod audit;
pub mod auth;
pub mod cards;
pub mod chip;
pub mod config;
pub mod credit;
pub mod crm;
pub mod csv_io;
pub mod db;
pub mod error;
pub mod fleet;
pub mod http;
pub mod idle;
pub mod ledger;
pub mod lifecycle;
pub mod money;
pub mod stations;
pub mod text;
pub mod time;
