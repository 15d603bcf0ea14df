//! The OpenAPI document, generated from the handlers' annotations and
//! completed here with what every operation can refuse.
//!
//! The handlers document their success answers. The refusals are listed in
//! one place, [`REFUSALS`], by operation and stable code; the codes every
//! operation of a kind can give (no token, a malformed body, a missing
//! Idempotency-Key, an unreachable database …) are added by the shape of the
//! operation. Each refusal is documented under its status as
//! `application/problem+json` with the `code`s it can carry, so a client —
//! or schemathesis, which the test command runs against a live server —
//! can check every answer against the document.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{KnownFormat, RefOr};

use super::api;
use crate::error::Code;

/// Text fields with a shape of their own, named in the document so every
/// field of that kind shares one definition.
macro_rules! text_schema {
    ($(#[doc = $doc:literal])* $ty:ident, $name:literal, pattern = $pattern:expr, example = $example:literal) => {
        $(#[doc = $doc])*
        pub struct $ty;

        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(concat!($($doc, "\n"),*).trim()))
                    .pattern(Some($pattern))
                    .examples([json!($example)])
                    .into()
            }
        }

        impl utoipa::ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

text_schema!(
    /// A card number: 16 digits ending in a Luhn check digit (a mistyped
    /// digit is refused as `invalid_card_number`). Spaces and dashes
    /// between the digits are ignored.
    CardNumberText,
    "CardNumber",
    pattern = "^[ -]*([0-9][ -]*){16}$",
    example = "9100000000000018"
);
text_schema!(
    /// Yuan as a string with at most two decimals, no sign, no exponent
    /// (`"1234.50"`); never rounded. Above zero and at most ten million.
    AmountText,
    "Amount",
    pattern = super::api::AMOUNT_PATTERN,
    example = "1000.00"
);
text_schema!(
    /// Yuan as a string with at most two decimals, zero allowed.
    AmountOrZeroText,
    "AmountOrZero",
    pattern = super::api::AMOUNT_OR_ZERO_PATTERN,
    example = "0.20"
);
text_schema!(
    /// Litres as a string with at most two decimals (`"30.00"`), above zero.
    LitresText,
    "Litres",
    pattern = super::api::LITRES_PATTERN,
    example = "30.00"
);
text_schema!(
    /// A card PIN: 4 to 6 digits.
    PinText,
    "Pin",
    pattern = super::api::PIN_PATTERN,
    example = "123456"
);
text_schema!(
    /// A calendar month, YYYY-MM.
    MonthText,
    "Month",
    pattern = super::api::MONTH_PATTERN,
    example = "2026-11"
);

/// A moment, RFC 3339 (`2026-11-23T08:00:00+08:00`).
pub struct TimeText;

impl utoipa::PartialSchema for TimeText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("A moment, RFC 3339."))
            .examples([json!("2026-11-23T08:00:00+08:00")])
            .into()
    }
}

impl utoipa::ToSchema for TimeText {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Time")
    }
}

/// Health: the service and its database answer.
#[utoipa::path(get, path = "/healthz", security(()),
    responses((status = 200, description = "The service and its database answer", content_type = "text/plain", body = String, example = "ok")))]
#[allow(dead_code)]
fn healthz() {}

#[derive(OpenApi)]
#[openapi(
    info(title = "fuelcard", description = "Fuel-station IC card accounts, recharge, sales and the ledger. \
        Amounts are JSON strings in yuan with at most two decimals. Log in with `POST /api/v1/auth/login` \
        and send `Authorization: Bearer <token>`. Money moves need an `Idempotency-Key` header: a replay \
        with the same key answers the first answer and changes nothing. Errors are \
        `application/problem+json` with a stable `code` (the `Code` schema lists them with their status); \
        each operation lists the codes it can answer under each status."),
    paths(
        healthz, document,
        api::session::login, api::session::logout, api::session::me,
        api::session::change_password, api::admin::add_user, api::admin::list_users, api::admin::deactivate_user, api::admin::reset_password, api::admin::add_station, api::admin::list_stations, api::admin::day_report,
        api::admin::list_products, api::admin::set_price, api::admin::add_promotion, api::admin::list_promotions,
        api::admin::audit_log,
        api::cards::add_customer, api::cards::get_customer, api::cards::open_card, api::cards::get_card,
        api::cards::search, api::cards::statement, api::cards::recharge_preview, api::cards::recharge,
        api::cards::loss_report, api::cards::unlock, api::cards::replacement, api::cards::conversion,
        api::cards::closure, api::cards::identity_unlock,
        api::sales::sell, api::sales::transfer,
        api::ledger::place_hold, api::ledger::get_hold, api::ledger::capture_hold, api::ledger::void_hold,
        api::fleet::add_vehicle, api::fleet::list_vehicles, api::fleet::update_vehicle, api::fleet::retire_vehicle, api::fleet::grant_override,
        api::fleet::import_vehicles, api::fleet::export_vehicles, api::fleet::put_policy, api::fleet::get_policy,
        api::fleet::draft_plan, api::fleet::get_plan, api::fleet::edit_line, api::fleet::approve_plan,
        api::fleet::monthly_review, api::fleet::monthly_review_csv, api::fleet::acknowledge,
        api::fleet::request_topup, api::fleet::decide_topup, api::fleet::request_loan, api::fleet::get_loan,
        api::fleet::loan_step, api::fleet::record_cash,
        api::ledger::check, api::ledger::open_shift, api::ledger::current_shift, api::ledger::close_shift,
        api::chip::read_card, api::chip::personalise, api::chip::load, api::chip::start_fill,
        api::chip::finish_fill, api::chip::upload_purchase, api::chip::register_terminal,
        api::acquisition::add_district, api::acquisition::list_districts,
        api::acquisition::add_prospect, api::acquisition::note_lead, api::acquisition::list_prospects, api::acquisition::get_prospect,
        api::acquisition::prospect_stage, api::acquisition::add_visit, api::acquisition::win_prospect,
        api::acquisition::import_prospects, api::acquisition::add_flyers, api::acquisition::put_targets,
        api::acquisition::get_targets, api::acquisition::acquisition_channels,
        api::acquisition::leaderboard, api::acquisition::wins, api::acquisition::weekly_report,
        api::acquisition::submit_weekly_report,
        api::crm::add_complaint, api::crm::list_complaints, api::crm::get_complaint,
        api::crm::assign_complaint, api::crm::answer_complaint, api::crm::follow_up_complaint,
        api::crm::close_complaint, api::crm::complaint_counts, api::crm::callbacks,
        api::crm::record_call, api::crm::log_contact, api::crm::customer_care,
        api::crm::care_customers, api::crm::visit_plan, api::crm::plan_visit,
        api::crm::cancel_visit, api::crm::birthdays,
        api::archive::add_contact, api::archive::change_archive, api::archive::customer_timeline,
        api::archive::merge_customers,
        api::alliance::add_merchant, api::alliance::list_merchants, api::alliance::get_merchant,
        api::alliance::add_offer, api::alliance::list_offers, api::alliance::get_offer, api::alliance::end_offer,
        api::alliance::offer_effectiveness, api::alliance::merchant_effectiveness,
        api::alliance::grantees_csv, api::alliance::card_benefits, api::alliance::find_benefits,
        api::alliance::redeem, api::alliance::reverse_redemption, api::alliance::list_redemptions,
        api::alliance::settle_merchant, api::alliance::get_settlement, api::alliance::settlement_csv,
        api::credit::put_credit_line, api::credit::get_credit_line, api::credit::credit_statement,
        api::credit::credit_statement_csv, api::credit::book_payment, api::credit::credit_reminders,
    ),
    components(schemas(
        crate::error::Problem, crate::error::Code, CardNumberText, AmountText, AmountOrZeroText,
        LitresText, PinText,
        MonthText, TimeText, api::fleet::TopUpDecision, api::fleet::LoanStepName,
        crate::actions::acquisition::RankBy, crate::lifecycle::Stage,
        crate::lifecycle::ComplaintStatus, crate::lifecycle::VisitStatus,
        crate::alliance::engine::Granted, crate::alliance::engine::Notice,
        crate::alliance::engine::NoticeCode,
    )),
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

use Code::*;

/// What each operation can refuse beyond what every operation of its kind
/// can (see [`common_refusals`]), by operation id (the handler's name).
/// The status of each code is its own ([`Code::status`]).
pub const REFUSALS: &[(&str, &[Code])] = &[
    ("healthz", &[]),
    ("document", &[]),
    ("login", &[InvalidCredentials, RateLimited]),
    ("logout", &[]),
    ("me", &[]),
    ("change_password", &[WrongPassword, RateLimited]),
    ("deactivate_user", &[Forbidden, UserNotFound]),
    ("list_users", &[]),
    ("reset_password", &[Forbidden, UserNotFound]),
    (
        "add_user",
        &[Forbidden, StationNotFound, CustomerNotFound, Duplicate],
    ),
    ("add_station", &[Forbidden, Duplicate]),
    ("list_stations", &[]),
    ("day_report", &[Forbidden, StationNotFound]),
    ("list_products", &[]),
    ("set_price", &[Forbidden, InvalidAmount, ProductNotFound]),
    ("add_promotion", &[Forbidden, InvalidAmount, Duplicate]),
    ("list_promotions", &[Forbidden]),
    ("audit_log", &[Forbidden]),
    (
        "add_customer",
        &[Forbidden, Duplicate, ConsentEvidenceRequired],
    ),
    (
        "identity_unlock",
        &[
            Forbidden,
            InvalidCardNumber,
            CardNotFound,
            IllegalTransition,
        ],
    ),
    ("get_customer", &[CustomerNotFound]),
    ("add_contact", &[CustomerNotFound, IllegalTransition]),
    (
        "change_archive",
        &[
            CustomerNotFound,
            StationNotFound,
            Duplicate,
            IllegalTransition,
            ConsentEvidenceRequired,
            IdentityMismatch,
            InvalidCardNumber,
            CardNotFound,
            WrongPin,
            PinLocked,
            CardLocked,
            CardBlacklisted,
            CardClosed,
            RateLimited,
        ],
    ),
    ("customer_timeline", &[CustomerNotFound]),
    (
        "merge_customers",
        &[CustomerNotFound, NotTheSameCustomer, IllegalTransition],
    ),
    (
        "open_card",
        &[
            Forbidden,
            InvalidCardNumber,
            CardNotFound,
            CustomerNotFound,
            Duplicate,
            CompanyConsentRequired,
            WrongPin,
            PinLocked,
            RateLimited,
            NotYourCompany,
            NoCreditLine,
        ],
    ),
    ("get_card", &[InvalidCardNumber, CardNotFound]),
    ("search", &[]),
    ("statement", &[InvalidCardNumber, CardNotFound]),
    (
        "recharge_preview",
        &[Forbidden, InvalidCardNumber, InvalidAmount, CardNotFound],
    ),
    (
        "recharge",
        &[
            Forbidden,
            InvalidCardNumber,
            InvalidAmount,
            CardNotFound,
            CardBlacklisted,
            CardLocked,
            PinLocked,
            CardClosed,
            InvalidTransfer,
            CreditCardHoldsNoBalance,
            StationRequired,
            StationNotFound,
        ],
    ),
    (
        "loss_report",
        &[
            Forbidden,
            InvalidCardNumber,
            CardNotFound,
            IllegalTransition,
        ],
    ),
    (
        "unlock",
        &[
            Forbidden,
            IllegalTransition,
            InvalidCardNumber,
            CardNotFound,
            Duplicate,
            HolderCheckRequired,
            IdentityMismatch,
            IdentityLocked,
            WrongPin,
            PinLocked,
            RateLimited,
        ],
    ),
    (
        "replacement",
        &[
            Forbidden,
            IllegalTransition,
            HolderCheckRequired,
            IdentityMismatch,
            IdentityLocked,
            WrongPin,
            PinLocked,
            RateLimited,
            InvalidCardNumber,
            CardNotFound,
            Duplicate,
            ReplacementWaiting,
            CardHasHolds,
        ],
    ),
    (
        "conversion",
        &[
            Forbidden,
            HolderCheckRequired,
            IdentityMismatch,
            IdentityLocked,
            WrongPin,
            PinLocked,
            RateLimited,
            InvalidCardNumber,
            CardNotFound,
            CardNotAnonymous,
            CustomerNotFound,
            ConsentEvidenceRequired,
            CardBlacklisted,
            CardClosed,
        ],
    ),
    (
        "closure",
        &[
            Forbidden,
            CompanyClosureHeadOffice,
            NotYourCompany,
            IllegalTransition,
            HolderCheckRequired,
            IdentityMismatch,
            IdentityLocked,
            WrongPin,
            PinLocked,
            RateLimited,
            InvalidCardNumber,
            CardNotFound,
            CardBlacklisted,
            CardClosed,
            InvalidTransfer,
            CardHasHolds,
            StationRequired,
            StationNotFound,
        ],
    ),
    (
        "sell",
        &[
            Forbidden,
            InvalidCardNumber,
            InvalidLitres,
            InvalidAmount,
            CardNotFound,
            ProductNotFound,
            PriceNotSet,
            PinRequired,
            WrongPin,
            PinLocked,
            RateLimited,
            CardBlacklisted,
            CardLocked,
            CardClosed,
            InsufficientBalance,
            StationRequired,
            StationNotFound,
            PlateMismatch,
            PlateRequired,
            ProductNotAllowed,
            SaleLimitExceeded,
            DailyLimitExceeded,
            MonthlyAllocationExceeded,
            OutsideAllowedHours,
            StationNotAllowed,
            OdometerRequired,
            OdometerBackwards,
            OverTankCapacity,
            MainCardNotForFuel,
            CreditLimitReached,
            CreditOverdue,
        ],
    ),
    (
        "transfer",
        &[
            Forbidden,
            InvalidCardNumber,
            InvalidAmount,
            CardNotFound,
            InvalidTransfer,
            InsufficientBalance,
            CardBlacklisted,
            CardLocked,
            PinLocked,
            CardClosed,
            CompanyConsentRequired,
            NotYourCompany,
            WrongPin,
            RateLimited,
            CreditCardHoldsNoBalance,
        ],
    ),
    (
        "place_hold",
        &[
            Forbidden,
            MainCardNotForFuel,
            InvalidCardNumber,
            InvalidAmount,
            CardNotFound,
            PinRequired,
            WrongPin,
            PinLocked,
            RateLimited,
            CardBlacklisted,
            CardLocked,
            CardClosed,
            InsufficientBalance,
            StationRequired,
            StationNotFound,
        ],
    ),
    ("get_hold", &[Forbidden, HoldNotFound, OutsideYourStation]),
    (
        "capture_hold",
        &[
            Forbidden,
            OutsideYourStation,
            InvalidAmount,
            HoldNotFound,
            HoldNotActive,
            CaptureExceedsHold,
            StationRequired,
            StationNotFound,
        ],
    ),
    (
        "void_hold",
        &[Forbidden, HoldNotFound, HoldNotActive, OutsideYourStation],
    ),
    ("check", &[Forbidden]),
    ("open_shift", &[Forbidden, StationRequired, StationNotFound]),
    (
        "current_shift",
        &[Forbidden, StationRequired, StationNotFound, ShiftNotFound],
    ),
    (
        "close_shift",
        &[
            Forbidden,
            InvalidAmount,
            ShiftNotFound,
            ShiftNotOpen,
            OutsideYourStation,
        ],
    ),
    ("add_vehicle", &[Forbidden, CustomerNotFound, Duplicate]),
    ("list_vehicles", &[CustomerNotFound]),
    (
        "update_vehicle",
        &[Forbidden, VehicleNotFound, VehicleRetired],
    ),
    (
        "retire_vehicle",
        &[Forbidden, VehicleNotFound, VehicleRetired],
    ),
    (
        "grant_override",
        &[Forbidden, CustomerNotFound, VehicleNotFound],
    ),
    ("import_vehicles", &[Forbidden, CustomerNotFound]),
    ("export_vehicles", &[CustomerNotFound]),
    ("put_policy", &[Forbidden, CustomerNotFound]),
    ("get_policy", &[CustomerNotFound, NotFound]),
    ("draft_plan", &[Forbidden, CustomerNotFound, NotFound]),
    ("get_plan", &[CustomerNotFound, NotFound]),
    (
        "edit_line",
        &[
            Forbidden,
            CustomerNotFound,
            InvalidAmount,
            NotFound,
            VehicleNotFound,
            AllocationApproved,
        ],
    ),
    (
        "approve_plan",
        &[
            Forbidden,
            CustomerNotFound,
            NotFound,
            AllocationApproved,
            AllocationShortfall,
            InsufficientBalance,
        ],
    ),
    ("monthly_review", &[CustomerNotFound]),
    ("monthly_review_csv", &[CustomerNotFound]),
    (
        "acknowledge",
        &[Forbidden, CustomerNotFound, NotFound, Duplicate],
    ),
    (
        "request_topup",
        &[
            Forbidden,
            CustomerNotFound,
            InvalidAmount,
            VehicleNotFound,
            Duplicate,
        ],
    ),
    (
        "decide_topup",
        &[
            Forbidden,
            CustomerNotFound,
            NotFound,
            IllegalTransition,
            VehicleNotFound,
            InvalidTransfer,
            InvalidCardNumber,
            CardNotFound,
            InsufficientBalance,
        ],
    ),
    (
        "request_loan",
        &[Forbidden, CustomerNotFound, VehicleNotFound, Duplicate],
    ),
    ("get_loan", &[CustomerNotFound, NotFound]),
    (
        "loan_step",
        &[
            Forbidden,
            CustomerNotFound,
            NotFound,
            IllegalTransition,
            CardLentOut,
        ],
    ),
    (
        "record_cash",
        &[
            Forbidden,
            CustomerNotFound,
            InvalidAmount,
            InvalidLitres,
            VehicleNotFound,
            ProductNotFound,
            StationNotFound,
        ],
    ),
    // The chip routes need the counter's reader: a server without one
    // answers them 503 `reader_not_configured` once the request is valid.
    (
        "read_card",
        &[
            Forbidden,
            InvalidCardNumber,
            CardNotFound,
            ReaderNotConfigured,
            ReaderUnavailable,
            NoCardInReader,
            ChipCardMismatch,
            ChipRefused,
            ChipMacInvalid,
            ChipPending,
            ChipGreyLocked,
        ],
    ),
    (
        "personalise",
        &[
            Forbidden,
            InvalidCardNumber,
            CardNotFound,
            CardBlacklisted,
            CardLocked,
            PinLocked,
            CardClosed,
            Duplicate,
            ReaderNotConfigured,
            ReaderUnavailable,
            NoCardInReader,
            ChipCardMismatch,
            ChipRefused,
            ChipMacInvalid,
        ],
    ),
    (
        "load",
        &[
            Forbidden,
            MainCardNotForFuel,
            InvalidCardNumber,
            InvalidAmount,
            CardNotFound,
            CardBlacklisted,
            CardLocked,
            PinLocked,
            CardClosed,
            InsufficientBalance,
            ReaderNotConfigured,
            ReaderUnavailable,
            NoCardInReader,
            ChipCardMismatch,
            ChipRefused,
            ChipMacInvalid,
            ChipPending,
            ChipGreyLocked,
        ],
    ),
    (
        "start_fill",
        &[
            Forbidden,
            InvalidCardNumber,
            CardNotFound,
            ProductNotFound,
            PriceNotSet,
            StationRequired,
            StationNotFound,
            PinRequired,
            WrongPin,
            PinLocked,
            CardBlacklisted,
            CardLocked,
            CardClosed,
            InsufficientBalance,
            ReaderNotConfigured,
            ReaderUnavailable,
            NoCardInReader,
            ChipCardMismatch,
            ChipRefused,
            ChipMacInvalid,
            ChipPending,
            ChipGreyLocked,
        ],
    ),
    (
        "finish_fill",
        &[
            Forbidden,
            OutsideYourStation,
            InvalidAmount,
            CaptureExceedsHold,
            InsufficientBalance,
            ChipFillNotFound,
            ChipFillSettled,
            ReaderNotConfigured,
            ReaderUnavailable,
            NoCardInReader,
            ChipCardMismatch,
            ChipRefused,
            ChipMacInvalid,
        ],
    ),
    (
        "upload_purchase",
        &[
            Forbidden,
            InvalidCardNumber,
            InvalidAmount,
            CardNotFound,
            TerminalUnknown,
            StationNotFound,
            ChipMacInvalid,
            ReaderNotConfigured,
        ],
    ),
    ("register_terminal", &[StationNotFound]),
    ("add_district", &[Duplicate]),
    ("list_districts", &[]),
    (
        "add_prospect",
        &[StationRequired, StationNotFound, InvalidLitres],
    ),
    (
        "note_lead",
        &[StationRequired, StationNotFound, InvalidLitres],
    ),
    ("list_prospects", &[StationNotFound, DistrictNotFound]),
    ("get_prospect", &[ProspectNotFound]),
    ("prospect_stage", &[ProspectNotFound, IllegalTransition]),
    ("add_visit", &[ProspectNotFound, IllegalTransition]),
    (
        "win_prospect",
        &[ProspectNotFound, CustomerNotFound, IllegalTransition],
    ),
    ("import_prospects", &[StationRequired, StationNotFound]),
    ("add_flyers", &[StationRequired, StationNotFound, Duplicate]),
    (
        "put_targets",
        &[
            StationNotFound,
            DistrictNotFound,
            InvalidAmount,
            InvalidLitres,
        ],
    ),
    ("get_targets", &[StationNotFound, DistrictNotFound]),
    ("acquisition_channels", &[StationNotFound, DistrictNotFound]),
    ("leaderboard", &[]),
    ("wins", &[]),
    ("weekly_report", &[DistrictNotFound, ReportNotDrafted]),
    (
        "submit_weekly_report",
        &[ReportNotDrafted, IllegalTransition],
    ),
    (
        "add_complaint",
        &[StationRequired, StationNotFound, CustomerNotFound],
    ),
    ("list_complaints", &[StationNotFound, DistrictNotFound]),
    ("get_complaint", &[ComplaintNotFound]),
    (
        "assign_complaint",
        &[ComplaintNotFound, UserNotFound, IllegalTransition],
    ),
    ("answer_complaint", &[ComplaintNotFound, IllegalTransition]),
    (
        "follow_up_complaint",
        &[ComplaintNotFound, IllegalTransition],
    ),
    (
        "close_complaint",
        &[ComplaintNotFound, FollowUpRequired, IllegalTransition],
    ),
    ("complaint_counts", &[StationNotFound, DistrictNotFound]),
    ("callbacks", &[StationNotFound, DistrictNotFound]),
    ("record_call", &[NotOnCallbackList]),
    (
        "log_contact",
        &[
            CustomerNotFound,
            CustomerHasNoStation,
            StationNotFound,
            VisitNotFound,
            IllegalTransition,
        ],
    ),
    ("customer_care", &[CustomerNotFound]),
    ("care_customers", &[StationNotFound, DistrictNotFound]),
    ("visit_plan", &[StationNotFound, DistrictNotFound]),
    (
        "plan_visit",
        &[
            CustomerNotFound,
            CustomerHasNoStation,
            StationNotFound,
            VisitTooSoon,
            Duplicate,
            IllegalTransition,
        ],
    ),
    (
        "cancel_visit",
        &[VisitNotFound, StationNotFound, IllegalTransition],
    ),
    ("birthdays", &[StationNotFound, DistrictNotFound]),
    ("add_merchant", &[StationNotFound, Duplicate]),
    ("list_merchants", &[]),
    ("get_merchant", &[MerchantNotFound]),
    (
        "add_offer",
        &[InvalidAmount, MerchantNotFound, StationNotFound, Duplicate],
    ),
    ("list_offers", &[MerchantNotFound]),
    ("get_offer", &[OfferNotFound]),
    ("end_offer", &[OfferNotFound]),
    ("offer_effectiveness", &[OfferNotFound]),
    ("merchant_effectiveness", &[MerchantNotFound]),
    ("grantees_csv", &[OfferNotFound, NoPartnerList]),
    ("card_benefits", &[InvalidCardNumber, CardNotFound]),
    ("find_benefits", &[InvalidCardNumber, BenefitNotFound]),
    (
        "redeem",
        &[
            InvalidAmount,
            InvalidCardNumber,
            BenefitNotFound,
            VoucherRedeemed,
            EntitlementUsed,
            BenefitExpired,
            BenefitNotAtStation,
            BenefitVoid,
            OfferBudgetExhausted,
            PurchaseAboveLimit,
            StationRequired,
            CardBlacklisted,
            CardLocked,
            CardClosed,
        ],
    ),
    (
        "reverse_redemption",
        &[
            RedemptionNotFound,
            RedemptionReversed,
            ReversalWindowPassed,
            SettlementClosed,
        ],
    ),
    ("list_redemptions", &[MerchantNotFound]),
    ("settle_merchant", &[MerchantNotFound, MonthNotOver]),
    ("get_settlement", &[MerchantNotFound]),
    ("settlement_csv", &[MerchantNotFound]),
    (
        "put_credit_line",
        &[
            CustomerNotFound,
            InvalidAmount,
            CreditLimitBelowDebt,
            Duplicate,
        ],
    ),
    ("get_credit_line", &[NoCreditLine]),
    ("credit_statement", &[NoCreditLine, StatementNotFound]),
    ("credit_statement_csv", &[NoCreditLine, StatementNotFound]),
    ("book_payment", &[InvalidAmount, NoCreditLine]),
    ("credit_reminders", &[]),
];

/// Decimal text in an answer: yuan or litres, exactly two decimals, signed
/// where it is a movement or a difference.
const DECIMAL_OUT: &str = r"^-?[0-9]+\.[0-9]{2}$";

/// The money and litres members of the answers, by schema. Their types
/// serialize as decimal text; the pattern lets a client (and the test
/// command) check it.
const DECIMALS_OUT: &[(&str, &[&str])] = &[
    ("Approved", &["funded", "swept_back"]),
    (
        "CardView",
        &["balance", "principal_balance", "bonus_balance", "held"],
    ),
    (
        "ChipDay",
        &["fills_amount", "grey_amount", "uploads_amount"],
    ),
    (
        "Closed",
        &[
            "refunded",
            "bonus_clawed_back",
            "moved_to_main_card",
            "moved_bonus",
            "payable",
        ],
    ),
    ("CardTotal", &["litres", "amount"]),
    (
        "CreditStatement",
        &[
            "opening_balance",
            "sales_total",
            "payments_total",
            "closing_balance",
            "limit",
        ],
    ),
    (
        "Effectiveness",
        &["recharge_amount", "cost", "committed", "cost_per_new_card"],
    ),
    (
        "MerchantEffectiveness",
        &["recharge_amount", "cost", "cost_per_new_card"],
    ),
    (
        "Offer",
        &[
            "min_amount",
            "amount",
            "unit_cost",
            "budget_amount",
            "granted_amount",
        ],
    ),
    ("Redemption", &["value", "station_share"]),
    ("Settlement", &["value", "station_owes", "merchant_owes"]),
    (
        "SettlementLine",
        &["value", "station_owes", "merchant_owes"],
    ),
    ("Figures", &["first_recharge_amount", "card_litres"]),
    ("Place", &["first_recharge_amount", "card_litres"]),
    (
        "StationWeek",
        &["first_recharge_amount", "recharge_amount", "card_litres"],
    ),
    ("Goal", &["first_recharge_amount", "card_litres"]),
    ("DayReport", &["bonus_given", "counted_difference"]),
    ("Hold", &["amount", "captured"]),
    ("LineView", &["limit", "balance", "available"]),
    ("Line", &["amount", "bonus", "balance_after"]),
    ("LoanRefuel", &["litres", "charged"]),
    ("Paid", &["amount", "balance", "available"]),
    ("Plan", &["total"]),
    ("PlanLine", &["base", "adjustment", "amount"]),
    ("Prospect", &["est_monthly_litres"]),
    ("Price", &["unit_price", "card_discount_per_litre"]),
    ("ProductLine", &["litres", "amount", "discount", "charged"]),
    ("Promotion", &["budget", "spent"]),
    ("Quote", &["amount", "bonus"]),
    (
        "Recharged",
        &[
            "amount",
            "bonus",
            "balance",
            "principal_balance",
            "bonus_balance",
        ],
    ),
    ("Reminder", &["amount", "paid", "outstanding"]),
    ("Replaced", &["balance"]),
    (
        "Report",
        &[
            "total_balance",
            "total_bonus",
            "card_liability",
            "company_payables",
        ],
    ),
    ("Review", &["total_litres", "total_amount"]),
    ("Shift", &["difference"]),
    ("StatementDue", &["amount", "paid", "outstanding"]),
    ("StatementPayment", &["amount"]),
    ("StatementSale", &["litres", "amount"]),
    ("Totals", &["cash", "bank_card", "transfer"]),
    (
        "Sold",
        &[
            "litres",
            "unit_price",
            "amount",
            "discount",
            "charged",
            "bonus_used",
            "balance",
        ],
    ),
    ("TopUp", &["amount"]),
    ("Transferred", &["amount", "from_balance", "to_balance"]),
];

/// Request members of types defined with the use cases, documented here
/// with their shape: (schema, member, the shape's schema name or a format).
const REQUEST_FIELDS: &[(&str, &str, Field)] = &[
    ("CashRefuelRequest", "litres", Field::Named("Litres")),
    ("CashRefuelRequest", "amount", Field::Named("Amount")),
    ("CashRefuelRequest", "refuelled_at", Field::Named("Time")),
    ("LoanRequest", "starts_on", Field::Date),
    ("CareInput", "next_step_on", Field::Date),
    ("VisitPlanInput", "planned_for", Field::Date),
    (
        "ProspectInput",
        "est_monthly_litres",
        Field::Named("Litres"),
    ),
    (
        "TargetInput",
        "first_recharge_amount",
        Field::Named("AmountOrZero"),
    ),
    ("VisitInput", "at", Field::Named("Time")),
    ("VisitInput", "next_at", Field::Named("Time")),
    ("LoanRequest", "ends_on", Field::Date),
    ("VehicleInput", "displacement", Field::Named("Litres")),
    ("VehicleInput", "tank_capacity", Field::Named("Litres")),
    (
        "VehicleInput",
        "baseline_l_per_100km",
        Field::Named("Litres"),
    ),
    ("VehicleInput", "max_sale_litres", Field::Named("Litres")),
    ("VehicleInput", "max_day_litres", Field::Named("Litres")),
    ("VehicleInput", "max_sale_amount", Field::Named("Amount")),
    ("VehicleInput", "max_day_amount", Field::Named("Amount")),
    (
        "VehicleInput",
        "allowed_hours",
        Field::Pattern(api::HOURS_PATTERN),
    ),
];

#[derive(Clone, Copy)]
enum Field {
    Named(&'static str),
    Date,
    Pattern(&'static str),
}

/// Gives a request member its shape, keeping it optional (null) where it was.
fn shape_member(prop: &mut Value, field: Field) {
    let nullable = prop["type"]
        .as_array()
        .is_some_and(|t| t.contains(&json!("null")));
    let description = prop.get("description").cloned();
    let mut shaped = match field {
        Field::Named(name) => json!({"$ref": format!("#/components/schemas/{name}")}),
        Field::Date => json!({"type": "string", "format": "date"}),
        Field::Pattern(p) => json!({"type": "string", "pattern": p}),
    };
    if let (Some(d), Some(m)) = (description, shaped.as_object_mut()) {
        m.insert("description".into(), d);
    }
    *prop = if nullable {
        json!({"oneOf": [{"type": "null"}, shaped]})
    } else {
        shaped
    };
}

/// The operation's shape, read from its documentation.
struct Shape {
    secured: bool,
    json_body: bool,
    csv_body: bool,
    idempotent: bool,
    path_params: bool,
    query_params: bool,
}

fn shape(op: &Value) -> Shape {
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    let has = |place: &str| params.iter().any(|p| p["in"] == place);
    let secured = match op.get("security") {
        None => true,
        Some(list) => list.as_array().is_some_and(|l| {
            l.iter()
                .all(|req| req.as_object().is_some_and(|o| !o.is_empty()))
        }),
    };
    let content = &op["requestBody"]["content"];
    Shape {
        secured,
        json_body: content.get("application/json").is_some(),
        csv_body: content.get("text/csv").is_some(),
        idempotent: params
            .iter()
            .any(|p| p["in"] == "header" && p["name"] == "Idempotency-Key"),
        path_params: has("path"),
        query_params: has("query"),
    }
}

/// What every operation of a shape can refuse.
fn common_refusals(id: &str, s: &Shape) -> Vec<Code> {
    let mut codes = Vec::new();
    if s.secured {
        codes.push(Unauthorized);
    }
    if s.json_body {
        codes.extend([
            InvalidJson,
            BodyTooLarge,
            UnsupportedMediaType,
            ValidationFailed,
        ]);
    }
    if s.csv_body {
        codes.extend([BodyTooLarge, UnsupportedMediaType, InvalidCsv]);
    }
    if s.idempotent {
        codes.extend([
            IdempotencyKeyMissing,
            IdempotencyKeyInFlight,
            IdempotencyKeyReused,
            ValidationFailed,
        ]);
    }
    if s.path_params || s.query_params {
        codes.push(ValidationFailed);
    }
    if s.path_params {
        // An empty or unroutable path segment finds no route.
        codes.push(NotFound);
    }
    if id != "document" {
        codes.push(DatabaseUnavailable);
    }
    codes
}

fn problem_response(codes: &[Code]) -> Value {
    let names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    let listed: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    json!({
        "description": format!("Refused: {}.", listed.join(", ")),
        "content": {
            "application/problem+json": {
                "schema": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Problem"},
                        {"type": "object", "properties": {"code": {"type": "string", "enum": names}}}
                    ]
                }
            }
        }
    })
}

fn code_table() -> String {
    let mut out = String::from(
        "Stable error codes. Clients branch on these strings; a code is never renamed.\n\n\
         | code | status |\n| --- | --- |\n",
    );
    for c in Code::ALL {
        out.push_str(&format!("| `{}` | {} |\n", c.as_str(), c.status().as_u16()));
    }
    out
}

/// Completes the generated document: the refusals of every operation,
/// the code table, and the decimal patterns of the answers.
pub fn complete(mut doc: Value) -> Value {
    let refusals: BTreeMap<&str, &[Code]> = REFUSALS.iter().copied().collect();
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut() {
                let id = op["operationId"].as_str().unwrap_or_default().to_string();
                let s = shape(op);
                let mut codes = common_refusals(&id, &s);
                codes.extend(refusals.get(id.as_str()).copied().unwrap_or_default());
                codes.extend(crate::auth::policy::refusals(&id));
                let mut by_status: BTreeMap<u16, Vec<Code>> = BTreeMap::new();
                for c in codes {
                    let list = by_status.entry(c.status().as_u16()).or_default();
                    if !list.contains(&c) {
                        list.push(c);
                    }
                }
                // An optional body is documented as its object, left out
                // when not sent (`null` is not accepted in its place).
                if let Some(Value::Object(content)) = op.pointer_mut("/requestBody/content") {
                    for media in content.values_mut() {
                        let schema = &mut media["schema"];
                        let inner = schema["oneOf"]
                            .as_array()
                            .filter(|alts| alts.len() == 2 && alts[0] == json!({"type": "null"}))
                            .map(|alts| alts[1].clone());
                        if let Some(inner) = inner {
                            *schema = inner;
                        }
                    }
                }
                let Some(responses) = op["responses"].as_object_mut() else {
                    continue;
                };
                // The handlers document only their success answers.
                responses.retain(|status, _| !status.starts_with('4') && !status.starts_with('5'));
                for (status, list) in by_status {
                    responses.insert(status.to_string(), problem_response(&list));
                }
            }
        }
    }
    let schemas = &mut doc["components"]["schemas"];
    // The codes as they are written (the derive cannot see the renames the
    // list of codes gives each variant).
    schemas["Code"] = json!({
        "type": "string",
        "enum": Code::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "description": code_table(),
    });
    for (schema, member, field) in REQUEST_FIELDS {
        if let Some(prop) = schemas.pointer_mut(&format!("/{schema}/properties/{member}")) {
            shape_member(prop, *field);
        }
    }
    // A sale names its quantity once: litres or the gross amount.
    schemas["SaleBody"]["oneOf"] = json!([
        {
            "required": ["litres"],
            "properties": {"litres": {"$ref": "#/components/schemas/Litres"}, "amount": {"type": "null"}}
        },
        {
            "required": ["amount"],
            "properties": {"amount": {"$ref": "#/components/schemas/Amount"}, "litres": {"type": "null"}}
        },
    ]);
    for (schema, members) in DECIMALS_OUT {
        for m in *members {
            if let Some(Value::Object(prop)) =
                schemas.pointer_mut(&format!("/{schema}/properties/{m}"))
            {
                prop.insert("pattern".into(), Value::String(DECIMAL_OUT.to_string()));
            }
        }
    }
    doc
}

/// The completed document as JSON text, built once.
pub fn document_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let generated = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
        complete(generated).to_string()
    })
}

/// The OpenAPI document of this API.
#[utoipa::path(get, path = "/api/openapi.json", security(()),
    responses((status = 200, description = "This document", body = Object, content_type = "application/json")))]
pub async fn document() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_text(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        serde_json::from_str(document_text()).expect("the document is JSON")
    }

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("a path item") {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
        out
    }

    #[test]
    fn every_operation_lists_its_refusals_and_nothing_else_is_listed() {
        let doc = doc();
        let ids: Vec<String> = operations(&doc)
            .iter()
            .map(|(_, _, op)| op["operationId"].as_str().expect("an id").to_string())
            .collect();
        for id in &ids {
            assert!(
                REFUSALS.iter().any(|(r, _)| r == id),
                "{id} has no entry in REFUSALS"
            );
        }
        for (r, _) in REFUSALS {
            assert!(
                ids.iter().any(|id| id == r),
                "REFUSALS names no operation {r}"
            );
        }
    }

    #[test]
    fn every_refusal_is_a_problem_document_under_its_own_status() {
        for (path, method, op) in operations(&doc()) {
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} documents no success"
            );
            for (status, resp) in responses {
                if status.starts_with('2') {
                    continue;
                }
                let schema = &resp["content"]["application/problem+json"]["schema"];
                let codes = schema["allOf"][1]["properties"]["code"]["enum"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{method} {path} {status}: no codes"));
                for c in codes {
                    let code = Code::ALL
                        .iter()
                        .find(|k| k.as_str() == c.as_str().unwrap_or_default())
                        .unwrap_or_else(|| panic!("{method} {path}: unknown code {c}"));
                    assert_eq!(code.status().as_u16().to_string(), *status, "{c}");
                }
            }
        }
    }

    #[test]
    fn secured_operations_refuse_without_a_token_and_public_ones_do_not() {
        for (path, method, op) in operations(&doc()) {
            let public = [
                "/api/v1/auth/login",
                "/api/v1/auth/logout",
                "/healthz",
                "/api/openapi.json",
            ]
            .contains(&path.as_str());
            let codes =
                op["responses"]["401"]["content"]["application/problem+json"]["schema"]["allOf"][1]
                    ["properties"]["code"]["enum"]
                    .clone();
            let unauthorized = codes
                .as_array()
                .is_some_and(|l| l.contains(&json!("unauthorized")));
            assert_eq!(unauthorized, !public, "{method} {path}");
        }
    }

    #[test]
    fn every_decimal_member_named_exists_as_text() {
        let doc = doc();
        for (schema, members) in DECIMALS_OUT {
            for m in *members {
                let prop = &doc["components"]["schemas"][*schema]["properties"][*m];
                assert_eq!(prop["pattern"], json!(DECIMAL_OUT), "{schema}.{m}: {prop}");
                let ty = &prop["type"];
                assert!(
                    ty == "string" || ty.as_array().is_some_and(|t| t.contains(&json!("string"))),
                    "{schema}.{m} is not text: {prop}"
                );
            }
        }
    }

    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x.as_str()) {
                        ("$ref", Some(r)) => out.push(r.to_string()),
                        _ => refs(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = doc();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected reference {r}"));
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{r} does not resolve"
            );
        }
    }

    #[test]
    fn path_parameters_are_in_the_path_and_nothing_else_is() {
        for (path, method, op) in operations(&doc()) {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let in_path: Vec<String> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap_or_default().to_string())
                .collect();
            let templated = path.matches('{').count();
            assert_eq!(in_path.len(), templated, "{method} {path}: {in_path:?}");
            for name in in_path {
                assert!(
                    path.contains(&format!("{{{name}}}")),
                    "{method} {path}: {name}"
                );
            }
        }
    }

    #[test]
    fn every_request_member_shaped_exists() {
        let doc = doc();
        for (schema, member, _) in REQUEST_FIELDS {
            let prop = &doc["components"]["schemas"][*schema]["properties"][*member];
            assert!(prop.is_object(), "{schema}.{member} is not documented");
            assert!(
                prop.get("$ref").is_some()
                    || prop.get("oneOf").is_some()
                    || prop.get("format").is_some()
                    || prop.get("pattern").is_some(),
                "{schema}.{member} was not shaped: {prop}"
            );
        }
    }

    #[test]
    fn codes_serialize_as_their_documented_text() {
        for c in Code::ALL {
            assert_eq!(
                serde_json::to_value(c).expect("a code"),
                json!(c.as_str()),
                "{c:?}"
            );
        }
    }
}
