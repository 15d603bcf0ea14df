//! fuelcard: a fuel-station loyalty and stored-value IC card service.
//!
//! The modules are named after the business (see DESIGN.md): `money` for
//! exact amounts, `ledger` for the double-entry heart, `cards` for what a
//! cashier does, `stations` for shifts and day-end, `auth` for users, `http`
//! for the API and pages, `db` for the two backends.

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
