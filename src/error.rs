//! The one error type of the service and its problem+json form (RFC 9457).
//!
//! Every refusal carries a stable `code` from the closed [`Code`] list so a
//! counter client can branch on it, and a message a cashier can act on.
//! Database errors are classified once, here: a unique violation is a 409,
//! an unreachable database a 503 (retry with the same idempotency key), and
//! anything else is logged and answered as a generic 500 that leaks nothing.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::db;

macro_rules! codes {
    ($($variant:ident => $text:literal, $status:ident;)*) => {
        /// Stable error codes. Clients branch on these strings; never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
        pub enum Code { $(#[serde(rename = $text)] $variant,)* }

        impl Code {
            /// Every code, in the order of the list below.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }
            pub fn status(self) -> StatusCode {
                match self { $(Code::$variant => StatusCode::$status,)* }
            }
        }
    };
}

codes! {
    Unauthorized => "unauthorized", UNAUTHORIZED;
    InvalidCredentials => "invalid_credentials", UNAUTHORIZED;
    Forbidden => "forbidden", FORBIDDEN;
    NotFound => "not_found", NOT_FOUND;
    CardNotFound => "card_not_found", NOT_FOUND;
    CustomerNotFound => "customer_not_found", NOT_FOUND;
    ProductNotFound => "product_not_found", NOT_FOUND;
    StationNotFound => "station_not_found", NOT_FOUND;
    HoldNotFound => "hold_not_found", NOT_FOUND;
    ShiftNotFound => "shift_not_found", NOT_FOUND;
    MethodNotAllowed => "method_not_allowed", METHOD_NOT_ALLOWED;
    InvalidJson => "invalid_json", BAD_REQUEST;
    BodyTooLarge => "body_too_large", PAYLOAD_TOO_LARGE;
    UnsupportedMediaType => "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE;
    ValidationFailed => "validation_failed", UNPROCESSABLE_ENTITY;
    InvalidAmount => "invalid_amount", UNPROCESSABLE_ENTITY;
    InvalidLitres => "invalid_litres", UNPROCESSABLE_ENTITY;
    InvalidCardNumber => "invalid_card_number", UNPROCESSABLE_ENTITY;
    IdempotencyKeyMissing => "idempotency_key_missing", BAD_REQUEST;
    IdempotencyKeyReused => "idempotency_key_reused", UNPROCESSABLE_ENTITY;
    IdempotencyKeyInFlight => "idempotency_key_in_flight", CONFLICT;
    InsufficientBalance => "insufficient_balance", CONFLICT;
    CardBlacklisted => "card_blacklisted", FORBIDDEN;
    CardLocked => "card_locked", FORBIDDEN;
    CardClosed => "card_closed", CONFLICT;
    CardHasHolds => "card_has_holds", CONFLICT;
    CardNotAnonymous => "card_not_anonymous", CONFLICT;
    PlateMismatch => "plate_mismatch", FORBIDDEN;
    PlateRequired => "plate_required", UNPROCESSABLE_ENTITY;
    ProductNotAllowed => "product_not_allowed", FORBIDDEN;
    SaleLimitExceeded => "sale_limit_exceeded", FORBIDDEN;
    DailyLimitExceeded => "daily_limit_exceeded", FORBIDDEN;
    MonthlyAllocationExceeded => "monthly_allocation_exceeded", FORBIDDEN;
    OutsideAllowedHours => "outside_allowed_hours", FORBIDDEN;
    StationNotAllowed => "station_not_allowed", FORBIDDEN;
    OdometerRequired => "odometer_required", UNPROCESSABLE_ENTITY;
    OdometerBackwards => "odometer_backwards", UNPROCESSABLE_ENTITY;
    OverTankCapacity => "over_tank_capacity", FORBIDDEN;
    VehicleNotFound => "vehicle_not_found", NOT_FOUND;
    VehicleRetired => "vehicle_retired", CONFLICT;
    AllocationApproved => "allocation_already_approved", CONFLICT;
    AllocationShortfall => "allocation_shortfall", CONFLICT;
    InvalidCsv => "invalid_csv", UNPROCESSABLE_ENTITY;
    PinRequired => "pin_required", UNAUTHORIZED;
    WrongPin => "wrong_pin", UNAUTHORIZED;
    PinLocked => "pin_locked", FORBIDDEN;
    PriceNotSet => "price_not_set", CONFLICT;
    ReplacementWaiting => "replacement_waiting", CONFLICT;
    HoldNotActive => "hold_not_active", CONFLICT;
    CaptureExceedsHold => "capture_exceeds_hold", UNPROCESSABLE_ENTITY;
    InvalidTransfer => "invalid_transfer", UNPROCESSABLE_ENTITY;
    CompanyConsentRequired => "company_consent_required", FORBIDDEN;
    NotYourCompany => "not_your_company", FORBIDDEN;
    OutsideYourStation => "outside_your_station", FORBIDDEN;
    MainCardNotForFuel => "main_card_not_for_fuel", FORBIDDEN;
    CompanyClosureHeadOffice => "company_closure_head_office", FORBIDDEN;
    HolderCheckRequired => "holder_check_required", FORBIDDEN;
    IdentityMismatch => "identity_mismatch", FORBIDDEN;
    IdentityLocked => "identity_locked", FORBIDDEN;
    ConsentEvidenceRequired => "consent_evidence_required", FORBIDDEN;
    ShiftNotOpen => "shift_not_open", CONFLICT;
    StationRequired => "station_required", UNPROCESSABLE_ENTITY;
    Duplicate => "duplicate", CONFLICT;
    IllegalTransition => "illegal_transition", CONFLICT;
    CardLentOut => "card_lent_out", CONFLICT;
    RateLimited => "rate_limited", TOO_MANY_REQUESTS;
    ReaderNotConfigured => "reader_not_configured", SERVICE_UNAVAILABLE;
    ReaderUnavailable => "reader_unavailable", SERVICE_UNAVAILABLE;
    NoCardInReader => "no_card_in_reader", CONFLICT;
    ChipCardMismatch => "chip_card_mismatch", CONFLICT;
    ChipRefused => "chip_refused", CONFLICT;
    ChipMacInvalid => "chip_mac_invalid", UNPROCESSABLE_ENTITY;
    ChipPending => "chip_pending", CONFLICT;
    ChipGreyLocked => "chip_grey_locked", CONFLICT;
    ChipFillNotFound => "chip_fill_not_found", NOT_FOUND;
    ChipFillSettled => "chip_fill_settled", CONFLICT;
    DistrictNotFound => "district_not_found", NOT_FOUND;
    ProspectNotFound => "prospect_not_found", NOT_FOUND;
    ComplaintNotFound => "complaint_not_found", NOT_FOUND;
    FollowUpRequired => "follow_up_required", CONFLICT;
    NotOnCallbackList => "not_on_callback_list", CONFLICT;
    CustomerHasNoStation => "customer_has_no_station", CONFLICT;
    VisitNotFound => "visit_not_found", NOT_FOUND;
    VisitTooSoon => "visit_too_soon", UNPROCESSABLE_ENTITY;
    ReportNotDrafted => "report_not_drafted", NOT_FOUND;
    TerminalUnknown => "terminal_unknown", UNPROCESSABLE_ENTITY;
    MerchantNotFound => "merchant_not_found", NOT_FOUND;
    OfferNotFound => "offer_not_found", NOT_FOUND;
    BenefitNotFound => "benefit_not_found", NOT_FOUND;
    RedemptionNotFound => "redemption_not_found", NOT_FOUND;
    VoucherRedeemed => "voucher_redeemed", CONFLICT;
    EntitlementUsed => "entitlement_used_this_period", CONFLICT;
    BenefitExpired => "benefit_expired", CONFLICT;
    BenefitNotAtStation => "benefit_not_at_station", CONFLICT;
    RedemptionReversed => "redemption_reversed", CONFLICT;
    BenefitVoid => "benefit_void", CONFLICT;
    OfferBudgetExhausted => "offer_budget_exhausted", CONFLICT;
    PurchaseAboveLimit => "purchase_above_limit", UNPROCESSABLE_ENTITY;
    ReversalWindowPassed => "reversal_window_passed", CONFLICT;
    SettlementClosed => "settlement_closed", CONFLICT;
    MonthNotOver => "month_not_over", CONFLICT;
    NoPartnerList => "no_partner_list", CONFLICT;
    CreditLimitReached => "credit_limit_reached", UNPROCESSABLE_ENTITY;
    CreditOverdue => "credit_overdue", FORBIDDEN;
    NoCreditLine => "no_credit_line", NOT_FOUND;
    CreditLimitBelowDebt => "credit_limit_below_debt", CONFLICT;
    CreditCardHoldsNoBalance => "credit_card_no_balance", CONFLICT;
    StatementNotFound => "statement_not_found", NOT_FOUND;
    NotTheSameCustomer => "not_the_same_customer", CONFLICT;
    WrongPassword => "wrong_password", UNPROCESSABLE_ENTITY;
    UserNotFound => "user_not_found", NOT_FOUND;
    DatabaseUnavailable => "database_unavailable", SERVICE_UNAVAILABLE;
    Internal => "internal_error", INTERNAL_SERVER_ERROR;
}

/// A refusal or failure with its stable code, a message for people and,
/// where useful, extra members for programs (`tries_left`, `shortfall` …).
#[derive(Debug)]
pub struct AppError {
    pub code: Code,
    pub message: String,
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
            extra: None,
        }
    }

    /// Adds a member to the problem document.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extra
            .get_or_insert_with(serde_json::Map::new)
            .insert(key.to_string(), value.into());
        self
    }

    /// A value refused by a check, naming the request's field so a form can
    /// mark the input at fault. By convention the message starts with the
    /// field (`pin: 4 to 6 digits`); it is kept as given, for clients that
    /// read it.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::new(Code::ValidationFailed, message).with("field", field)
    }

    /// The request field the error names, if it names one.
    pub fn field(&self) -> Option<&str> {
        self.extra.as_ref()?.get("field")?.as_str()
    }

    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(%err, context, "internal error");
        AppError::new(Code::Internal, "internal error; nothing was changed")
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for AppError {}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        if db::is_unique_violation(&err) {
            return AppError::new(Code::Duplicate, "this record already exists");
        }
        if db::is_unavailable(&err) || db::is_retryable(&err) {
            tracing::warn!(%err, "database unavailable");
            return AppError::new(
                Code::DatabaseUnavailable,
                "the database is not reachable right now; retry with the same Idempotency-Key",
            );
        }
        AppError::internal("database", err)
    }
}

/// One refused row of a CSV import.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RowProblem {
    /// The line of the file, counting the header as line 1.
    pub line: u64,
    pub reason: String,
}

/// The problem+json body (RFC 9457), the OpenAPI schema of every error.
/// Only documents the shape: [`AppError`] writes the body. The members
/// after `code` appear only with the codes named on them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `/problems/<code>`.
    #[serde(rename = "type")]
    #[schema(
        example = "/problems/insufficient_balance",
        pattern = "^/problems/[a-z_]+$"
    )]
    pub kind: String,
    /// The HTTP reason phrase of `status`.
    #[schema(example = "Conflict")]
    pub title: String,
    /// The HTTP status, repeated.
    #[schema(minimum = 400, maximum = 599, example = 409)]
    pub status: u16,
    /// What went wrong, in words a cashier can act on.
    pub detail: String,
    pub code: Code,
    /// The request field that was refused (`invalid_amount`, `invalid_litres`,
    /// `validation_failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// PIN tries left before the card locks (`wrong_pin`, `pin_locked`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tries_left: Option<i64>,
    /// Minutes until guessing may resume (`rate_limited`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_minutes: Option<i64>,
    /// When the replacement card may be issued, RFC 3339 (`replacement_waiting`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<String>,
    /// The spendable balance, yuan (`insufficient_balance`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^-?[0-9]+\.[0-9]{2}$", example = "12.50")]
    pub available: Option<String>,
    /// What the main card lacks, yuan (`allocation_shortfall`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^-?[0-9]+\.[0-9]{2}$", example = "1200.00")]
    pub shortfall: Option<String>,
    /// The fleet control that refused the sale (the fleet control codes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
    /// The hold's state (`hold_not_active`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_status: Option<String>,
    /// The first day a visit may be planned for, YYYY-MM-DD
    /// (`visit_too_soon`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earliest: Option<String>,
    /// The number of the card in the reader, all zeros for a blank card
    /// (`chip_card_mismatch`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_reader: Option<String>,
    /// Every refused row (`invalid_csv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<RowProblem>>,
}

/// The members every problem document has; an extra member never replaces one.
const STANDARD_MEMBERS: [&str; 5] = ["type", "title", "status", "detail", "code"];

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let mut body = serde_json::Map::new();
        if let Some(extra) = self.extra {
            body.extend(
                extra
                    .into_iter()
                    .filter(|(k, _)| !STANDARD_MEMBERS.contains(&k.as_str())),
            );
        }
        body.insert(
            "type".into(),
            format!("/problems/{}", self.code.as_str()).into(),
        );
        body.insert(
            "title".into(),
            status.canonical_reason().unwrap_or("error").into(),
        );
        body.insert("status".into(), status.as_u16().into());
        body.insert("detail".into(), self.message.into());
        body.insert("code".into(), self.code.as_str().into());
        let text = serde_json::Value::Object(body).to_string();
        let mut resp = (status, text).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.code == Code::DatabaseUnavailable {
            // A restart or a move to the standby takes seconds: the client
            // comes back soon with the same Idempotency-Key.
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}
