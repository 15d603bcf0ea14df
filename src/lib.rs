//! fuelcard: a fuel-station loyalty and stored-value IC card service.
//!
//! The modules are named after the business (see DESIGN.md): `money` for
//! exact amounts, `ledger` for the double-entry heart, `cards` for what a
//! cashier does, `stations` for shifts and day-end, `auth` for users, `http`
//! for the API and pages, `db` for the two backends.
//!
//! Time comes from one [`time::Clock`], made at start-up (the system clock,
//! or one set with `--clock`) and kept in the service's settings: a request
//! reads it once and hands the instant down, so the rules and stores below
//! never ask the system what time it is.

pub mod audit;
pub mod auth;
pub mod bench;
pub mod cards;
pub mod chip;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod fleet;
pub mod http;
pub mod ledger;
pub mod money;
pub mod reader_cli;
pub mod stations;
pub mod time;
