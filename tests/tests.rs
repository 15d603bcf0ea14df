//! Integration tests: the HTTP API against real SQLite and PostgreSQL
//! databases. Each story runs unchanged on both backends.

mod support;

mod acquisition;
mod administration_pages;
mod alliance;
mod alliance_integrity;
mod alliance_pages;
mod allocation;
mod archive;
mod backup;

mod bad_input;
mod card_life;
mod care;
mod carry_over;
mod chip;
mod chip_pcsc;
mod clock;
mod company_closure;
mod company_funds;
mod complaints;
mod concurrency;
mod consent_identity;
mod crash;
mod credit;
mod crm_pages;
mod demo_fleet;
mod failover;
mod fleet;
mod fleet_office_pages;
mod fleet_requests;
mod fleet_scope;
mod grading;
mod group_commit;
mod head_office_pages;
mod idempotency;
mod languages;
mod layers;
mod matrix;
mod model;
mod page_links;
mod page_matrix;
mod pages;
mod personal_data;
mod readme_tour;
mod review;
mod security;
mod station_pages;
mod station_scope;
mod story;
mod task_pages;
mod tls;
