//! Integration tests: the HTTP API against real SQLite and PostgreSQL
//! databases. Each story runs unchanged on both backends.

mod support;

mod acquisition;
mod alliance;
mod alliance_pages;
mod allocation;

mod bad_input;
mod card_life;
mod chip;
mod chip_pcsc;
mod clock;
mod company_funds;
mod concurrency;
mod crash;
mod fleet;
mod fleet_requests;
mod fleet_scope;
mod group_commit;
mod idempotency;
mod matrix;
mod model;
mod pages;
mod personal_data;
mod readme_tour;
mod review;
mod security;
mod station_scope;
mod story;
mod tls;
