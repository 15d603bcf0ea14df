//! The JSON API under `/api/v1`. Handlers are thin: parse and check the
//! role, then run the use case in one transaction.

pub mod admin;
pub mod cards;
pub mod fleet;
pub mod ledger;
pub mod sales;
pub mod session;

use axum::Router;
use axum::routing::{get, post, put};

use super::AppState;
use crate::error::{AppError, AppResult, Code};
use crate::money::{Litres, Money};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(session::login))
        .route("/auth/logout", post(session::logout))
        .route("/me", get(session::me))
        .route("/users", post(admin::add_user))
        .route(
            "/stations",
            get(admin::list_stations).post(admin::add_station),
        )
        .route("/stations/{code}/day-report", get(admin::day_report))
        .route("/products", get(admin::list_products))
        .route("/products/{code}/price", put(admin::set_price))
        .route(
            "/promotions",
            get(admin::list_promotions).post(admin::add_promotion),
        )
        .route("/audit", get(admin::audit_log))
        .route("/customers", post(cards::add_customer))
        .route("/customers/{id}", get(cards::get_customer))
        .route("/cards", get(cards::search).post(cards::open_card))
        .route("/cards/{number}", get(cards::get_card))
        .route("/cards/{number}/transactions", get(cards::statement))
        .route(
            "/cards/{number}/recharge-preview",
            get(cards::recharge_preview),
        )
        .route("/cards/{number}/recharges", post(cards::recharge))
        .route("/cards/{number}/loss-report", post(cards::loss_report))
        .route("/cards/{number}/replacement", post(cards::replacement))
        .route("/cards/{number}/conversion", post(cards::conversion))
        .route("/cards/{number}/closure", post(cards::closure))
        .route("/cards/{number}/unlock", post(cards::unlock))
        .route("/sales", post(sales::sell))
        .route("/transfers", post(sales::transfer))
        .route("/holds", post(ledger::place_hold))
        .route("/holds/{id}", get(ledger::get_hold))
        .route("/holds/{id}/capture", post(ledger::capture_hold))
        .route("/holds/{id}/void", post(ledger::void_hold))
        .route("/ledger/check", get(ledger::check))
        .route(
            "/fleet/{company}/vehicles",
            get(fleet::list_vehicles).post(fleet::add_vehicle),
        )
        .route(
            "/fleet/{company}/vehicles/{plate}/overrides",
            post(fleet::grant_override),
        )
        .route(
            "/fleet/{company}/vehicles/import",
            post(fleet::import_vehicles)
                .layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024)),
        )
        .route("/fleet/{company}/vehicles.csv", get(fleet::export_vehicles))
        .route(
            "/fleet/{company}/policy",
            get(fleet::get_policy).put(fleet::put_policy),
        )
        .route("/fleet/{company}/allocations", post(fleet::draft_plan))
        .route("/fleet/{company}/allocations/{month}", get(fleet::get_plan))
        .route(
            "/fleet/{company}/allocations/{month}/lines/{plate}",
            put(fleet::edit_line),
        )
        .route(
            "/fleet/{company}/allocations/{month}/approval",
            post(fleet::approve_plan),
        )
        .route(
            "/fleet/{company}/reports/monthly",
            get(fleet::monthly_review),
        )
        .route(
            "/fleet/{company}/reports/monthly.csv",
            get(fleet::monthly_review_csv),
        )
        .route("/fleet/{company}/anomalies/ack", post(fleet::acknowledge))
        .route("/fleet/{company}/topups", post(fleet::request_topup))
        .route(
            "/fleet/{company}/topups/{id}/{decision}",
            post(fleet::decide_topup),
        )
        .route("/fleet/{company}/loans", post(fleet::request_loan))
        .route("/fleet/{company}/loans/{id}", get(fleet::get_loan))
        .route("/fleet/{company}/loans/{id}/{step}", post(fleet::loan_step))
        .route("/fleet/{company}/cash-refuels", post(fleet::record_cash))
        .route("/shifts", post(ledger::open_shift))
        .route("/shifts/current", get(ledger::current_shift))
        .route("/shifts/{id}/close", post(ledger::close_shift))
}

/// Parses a positive amount field with the code a client branches on.
pub fn amount(field: &str, text: &str) -> AppResult<Money> {
    Money::parse_positive(text).map_err(|e| {
        AppError::new(Code::InvalidAmount, format!("{field} {text:?}: {e}")).with("field", field)
    })
}

/// Parses a non-negative amount field (a count of cash, a discount).
pub fn amount_or_zero(field: &str, text: &str) -> AppResult<Money> {
    Money::parse(text).map_err(|e| {
        AppError::new(Code::InvalidAmount, format!("{field} {text:?}: {e}")).with("field", field)
    })
}

pub fn litres(field: &str, text: &str) -> AppResult<Litres> {
    Litres::parse_positive(text).map_err(|e| {
        AppError::new(Code::InvalidLitres, format!("{field} {text:?}: {e}")).with("field", field)
    })
}
