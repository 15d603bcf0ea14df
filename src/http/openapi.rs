//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::api;

#[derive(OpenApi)]
#[openapi(
    info(title = "fuelcard", description = "Fuel-station IC card accounts, recharge, sales and the ledger. \
        Amounts are JSON strings in yuan with at most two decimals. Errors are application/problem+json \
        with a stable `code`."),
    paths(
        api::session::login, api::session::logout, api::session::me,
        api::admin::add_user, api::admin::add_station, api::admin::list_stations, api::admin::day_report,
        api::admin::list_products, api::admin::set_price, api::admin::add_promotion, api::admin::list_promotions,
        api::admin::audit_log,
        api::cards::add_customer, api::cards::get_customer, api::cards::open_card, api::cards::get_card,
        api::cards::search, api::cards::statement, api::cards::recharge_preview, api::cards::recharge,
        api::cards::loss_report, api::cards::unlock, api::cards::replacement, api::cards::conversion,
        api::cards::closure,
        api::sales::sell, api::sales::transfer,
        api::ledger::place_hold, api::ledger::get_hold, api::ledger::capture_hold, api::ledger::void_hold,
        api::fleet::add_vehicle, api::fleet::list_vehicles, api::fleet::grant_override,
        api::fleet::import_vehicles, api::fleet::export_vehicles, api::fleet::put_policy, api::fleet::get_policy,
        api::fleet::draft_plan, api::fleet::get_plan, api::fleet::edit_line, api::fleet::approve_plan,
        api::fleet::monthly_review, api::fleet::monthly_review_csv, api::fleet::acknowledge,
        api::fleet::request_topup, api::fleet::decide_topup, api::fleet::request_loan, api::fleet::get_loan,
        api::fleet::loan_step, api::fleet::record_cash,
        api::ledger::check, api::ledger::open_shift, api::ledger::current_shift, api::ledger::close_shift,
    ),
    components(schemas(crate::error::Problem, crate::error::Code)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
