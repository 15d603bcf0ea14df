//! The JSON API under `/api/v1`. Handlers are thin: parse and check the
//! role, then run the use case in one transaction.

pub mod acquisition;
pub mod admin;
pub mod alliance;
pub mod archive;
pub mod cards;
pub mod chip;
pub mod credit;
pub mod crm;
pub mod fleet;
pub mod ledger;
pub mod sales;
pub mod session;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, patch, post, put};
use serde::de::DeserializeOwned;

use crate::actions::App;
use crate::cards::sale::Quantity;
use crate::error::{AppError, AppResult, Code};
use crate::money::{Litres, Money};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/auth/login", post(session::login))
        .route("/auth/logout", post(session::logout))
        .route("/me", get(session::me))
        .route("/users", get(admin::list_users).post(admin::add_user))
        .route(
            "/users/{username}/deactivation",
            post(admin::deactivate_user),
        )
        .route("/users/{username}/password", post(admin::reset_password))
        .route("/me/password", post(session::change_password))
        .route(
            "/stations",
            get(admin::list_stations).post(admin::add_station),
        )
        .route("/stations/{code}/day-report", get(admin::day_report))
        .route(
            "/stations/{code}/terminals/{terminal}",
            put(chip::register_terminal),
        )
        .route("/products", get(admin::list_products))
        .route("/products/{code}/price", put(admin::set_price))
        .route(
            "/promotions",
            get(admin::list_promotions).post(admin::add_promotion),
        )
        .route("/audit", get(admin::audit_log))
        .route("/customers", post(cards::add_customer))
        .route("/customers/{id}", get(cards::get_customer))
        .route(
            "/customers/{id}/credit-line",
            get(credit::get_credit_line).put(credit::put_credit_line),
        )
        .route(
            "/customers/{id}/statements/{month}",
            get(credit::credit_statement),
        )
        .route("/customers/{id}/payments", post(credit::book_payment))
        .route("/customers/{id}/contacts", post(archive::add_contact))
        .route("/customers/{id}/archive", patch(archive::change_archive))
        .route("/customers/{id}/timeline", get(archive::customer_timeline))
        .route("/customers/{id}/merge", post(archive::merge_customers))
        .route("/credit/reminders", get(credit::credit_reminders))
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
        .route(
            "/cards/{number}/identity-unlock",
            post(cards::identity_unlock),
        )
        .route("/sales", post(sales::sell))
        .route("/transfers", post(sales::transfer))
        .route("/holds", post(ledger::place_hold))
        .route("/holds/{id}", get(ledger::get_hold))
        .route("/holds/{id}/capture", post(ledger::capture_hold))
        .route("/holds/{id}/void", post(ledger::void_hold))
        .route("/ledger/check", get(ledger::check))
        .route("/chip/read", post(chip::read_card))
        .route("/chip/personalise", post(chip::personalise))
        .route("/chip/loads", post(chip::load))
        .route("/chip/fills", post(chip::start_fill))
        .route("/chip/fills/{id}/finish", post(chip::finish_fill))
        .route("/chip/purchases", post(chip::upload_purchase))
        .route(
            "/fleet/{company}/vehicles",
            get(fleet::list_vehicles).post(fleet::add_vehicle),
        )
        .route(
            "/fleet/{company}/vehicles/{plate}/overrides",
            post(fleet::grant_override),
        )
        .route(
            "/fleet/{company}/vehicles/{plate}",
            put(fleet::update_vehicle),
        )
        .route(
            "/fleet/{company}/vehicles/{plate}/retirement",
            post(fleet::retire_vehicle),
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
        .route(
            "/districts",
            get(acquisition::list_districts).post(acquisition::add_district),
        )
        .route(
            "/prospects",
            get(acquisition::list_prospects).post(acquisition::add_prospect),
        )
        .route("/prospects/import", post(acquisition::import_prospects))
        .route("/prospects/leads", post(acquisition::note_lead))
        .route("/prospects/{id}", get(acquisition::get_prospect))
        .route("/prospects/{id}/stage", post(acquisition::prospect_stage))
        .route("/prospects/{id}/visits", post(acquisition::add_visit))
        .route("/prospects/{id}/win", post(acquisition::win_prospect))
        .route(
            "/complaints",
            get(crm::list_complaints).post(crm::add_complaint),
        )
        .route("/complaints/counts", get(crm::complaint_counts))
        .route("/complaints/{id}", get(crm::get_complaint))
        .route("/complaints/{id}/assign", post(crm::assign_complaint))
        .route("/complaints/{id}/answer", post(crm::answer_complaint))
        .route("/complaints/{id}/follow-up", post(crm::follow_up_complaint))
        .route("/complaints/{id}/close", post(crm::close_complaint))
        .route("/callbacks", get(crm::callbacks))
        .route("/callbacks/{customer_id}/calls", post(crm::record_call))
        .route(
            "/customers/{id}/care",
            get(crm::customer_care).post(crm::log_contact),
        )
        .route("/care", get(crm::care_customers))
        .route("/visits", get(crm::visit_plan).post(crm::plan_visit))
        .route("/visits/{id}/cancellation", post(crm::cancel_visit))
        .route("/birthdays", get(crm::birthdays))
        .route("/acquisition/flyers", post(acquisition::add_flyers))
        .route(
            "/acquisition/channels",
            get(acquisition::acquisition_channels),
        )
        .route(
            "/targets/{month}",
            get(acquisition::get_targets).put(acquisition::put_targets),
        )
        .route("/leaderboard", get(acquisition::leaderboard))
        .route("/wins", get(acquisition::wins))
        .route("/reports/weekly", get(acquisition::weekly_report))
        .route(
            "/reports/weekly/{id}/submission",
            post(acquisition::submit_weekly_report),
        )
        .route("/shifts", post(ledger::open_shift))
        .route("/shifts/current", get(ledger::current_shift))
        .route("/shifts/{id}/close", post(ledger::close_shift))
        .route(
            "/merchants",
            get(alliance::list_merchants).post(alliance::add_merchant),
        )
        .route("/merchants/{code}", get(alliance::get_merchant))
        .route(
            "/merchants/{code}/effectiveness",
            get(alliance::merchant_effectiveness),
        )
        .route(
            "/merchants/{code}/settlements",
            post(alliance::settle_merchant),
        )
        .route(
            "/merchants/{code}/settlements.csv",
            get(alliance::settlement_csv),
        )
        .route(
            "/merchants/{code}/settlements/{month}",
            get(alliance::get_settlement),
        )
        .route(
            "/offers",
            get(alliance::list_offers).post(alliance::add_offer),
        )
        .route("/offers/{code}", get(alliance::get_offer))
        .route("/offers/{code}/end", post(alliance::end_offer))
        .route(
            "/offers/{code}/effectiveness",
            get(alliance::offer_effectiveness),
        )
        .route("/offers/{code}/grantees.csv", get(alliance::grantees_csv))
        .route("/cards/{number}/benefits", get(alliance::card_benefits))
        .route("/benefits", get(alliance::find_benefits))
        .route(
            "/redemptions",
            get(alliance::list_redemptions).post(alliance::redeem),
        )
        .route(
            "/redemptions/{id}/reversal",
            post(alliance::reverse_redemption),
        )
}

/// The body of a CSV upload as text: `text/csv` (or plain text), UTF-8.
pub fn csv_text(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> AppResult<String> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        if !(ct.starts_with("text/csv") || ct.starts_with("text/plain")) {
            return Err(AppError::new(
                Code::UnsupportedMediaType,
                "send the file as text/csv",
            ));
        }
    }
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(Code::BodyTooLarge, "the file is too large")
        } else {
            AppError::new(Code::InvalidCsv, format!("cannot read the file: {e}"))
        }
    })?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| AppError::new(Code::InvalidCsv, "the file is not UTF-8 text"))
}

/// Parses a positive amount field with the code a client branches on.
pub fn amount(field: &str, text: &str) -> AppResult<Money> {
    Money::parse_positive(text).map_err(|e| {
        AppError::new(Code::InvalidAmount, format!("{field} {text:?}: {e}")).with("field", field)
    })
}

/// A sale's quantity: exactly one of litres and the gross amount.
pub fn quantity(litres_text: Option<&str>, amount_text: Option<&str>) -> AppResult<Quantity> {
    match (litres_text, amount_text) {
        (Some(l), None) => Ok(Quantity::Litres(litres("litres", l)?)),
        (None, Some(a)) => Ok(Quantity::Amount(amount("amount", a)?)),
        _ => Err(AppError::new(
            Code::ValidationFailed,
            "give either litres or amount (the gross amount), not both",
        )),
    }
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

/// The pattern of a positive amount in a request: yuan, at most two
/// decimals, no sign, at most eight significant digits before the point
/// (the largest amount is ten million); spaces around it are tolerated.
pub const AMOUNT_PATTERN: &str =
    r"^\s*(0*[1-9][0-9]{0,7}(\.[0-9]{1,2})?|0+\.(0?[1-9]|[1-9][0-9]?))\s*$";
/// An amount that may be zero (a count of cash, a discount).
pub const AMOUNT_OR_ZERO_PATTERN: &str = r"^\s*[0-9]{1,12}(\.[0-9]{1,2})?\s*$";
/// Positive litres: like an amount, at most 100,000.
pub const LITRES_PATTERN: &str =
    r"^\s*(0*[1-9][0-9]{0,5}(\.[0-9]{1,2})?|0+\.(0?[1-9]|[1-9][0-9]?))\s*$";
/// A PIN: 4 to 6 digits.
pub const PIN_PATTERN: &str = "^[0-9]{4,6}$";
/// A month: YYYY-MM.
pub const MONTH_PATTERN: &str = "^[0-9]{4}-(0[1-9]|1[0-2])$";
/// Local hours: HH:MM-HH:MM (what the parser takes: spaces at the ends
/// and around the dash).
pub const HOURS_PATTERN: &str = r"^\s*\+?[0-9]+:\+?[0-9]+\s*-\s*\+?[0-9]+:\+?[0-9]+\s*$";

/// The header every money move carries.
/// The Idempotency-Key a creation request may carry: with one, a retry
/// gets the first answer instead of making a second record.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct CreationKey {
    /// A new key (a UUID) per record to create, 1–128 characters.
    #[serde(rename = "Idempotency-Key")]
    #[param(
        min_length = 1,
        max_length = 128,
        example = "8b0e4f2a-5c1d-4e7b-9f3a-2d6c1b0a9e85"
    )]
    pub key: Option<String>,
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// A new key (a UUID) per operation, 1–128 characters. A retry sends the
    /// same key and gets the first answer; the same key with another body is
    /// refused (`idempotency_key_reused`).
    #[serde(rename = "Idempotency-Key")]
    #[param(
        min_length = 1,
        max_length = 128,
        example = "3f1c8a52-8d7e-4c1e-9a53-0c6d2b7e4f10"
    )]
    pub key: String,
}

/// The body of a request that needs none: nothing, or `{}`.
pub struct EmptyBody;

impl<'de> serde::Deserialize<'de> for EmptyBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let members = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        if members.is_empty() {
            Ok(EmptyBody)
        } else {
            Err(serde::de::Error::custom(
                "this request takes no members: send {} or nothing",
            ))
        }
    }
}

impl utoipa::PartialSchema for EmptyBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Object)
            .description(Some("Nothing, or an empty object."))
            .additional_properties(Some(
                utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
            ))
            .into()
    }
}

impl utoipa::ToSchema for EmptyBody {}

/// Path parameters whose rejection (a non-numeric id, bad UTF-8) is a
/// problem document, not axum's plain-text answer.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(Path(params)) =
            Path::<Vec<(String, String)>>::from_request_parts(parts, state).await
        {
            for (name, value) in &params {
                crate::text::refuse_control(name, value)?;
            }
        }
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(e) if e.status().is_server_error() => {
                Err(AppError::internal("path parameters", e.body_text()))
            }
            Err(e) => Err(AppError::new(
                Code::ValidationFailed,
                format!("path: {}", e.body_text()),
            )),
        }
    }
}

/// A query string whose rejection is a problem document.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) {
            for (name, value) in &pairs {
                crate::text::refuse_control(name, value)?;
            }
        }
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(value)| ApiQuery(value))
            .map_err(|e| AppError::new(Code::ValidationFailed, format!("query: {}", e.body_text())))
    }
}
