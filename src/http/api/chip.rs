//! The card's chip at the counter: read, personalise, load (圈存), fuel
//! under grey lock, and purchase records uploaded from pumps.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::super::extract::{ApiJson, MoneyRequest};
use super::{ApiPath, amount};
use crate::actions::{App, Done, chip};
use crate::auth::Actor;
use crate::cards;
use crate::chip::{fills, loads, read, uploads};
use crate::error::AppResult;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    /// The card expected in the reader; any card when left out.
    pub card_number: Option<String>,
}

/// Reads the card in the reader: chip balance beside the host's, after
/// settling a torn load or a grey-locked fill the card left.
#[utoipa::path(post, path = "/api/v1/chip/read", request_body = ReadBody,
    responses((status = 200, body = read::ChipView)))]
pub async fn read_card(
    State(state): State<App>,
    actor: Actor,
    ApiJson(body): ApiJson<ReadBody>,
) -> AppResult<Json<read::ChipView>> {
    let expected = body
        .card_number
        .as_deref()
        .map(cards::parse_number)
        .transpose()?;
    Ok(Json(chip::read(&state, &actor, expected).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadBody {
    pub card_number: String,
    /// Yuan to move from the card's account onto its chip.
    #[schema(example = "100.00")]
    pub amount: String,
}

/// Loads value from the card's account onto its chip (圈存). Needs an
/// Idempotency-Key. A card pulled mid-way answers `chip_pending`; reading
/// the card again completes or undoes the load.
#[utoipa::path(post, path = "/api/v1/chip/loads", request_body = LoadBody,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = loads::Loaded)))]
pub async fn load(
    State(state): State<App>,
    actor: Actor,
    req: MoneyRequest<LoadBody>,
) -> AppResult<Done<loads::Loaded>> {
    let number = cards::parse_number(&req.body.card_number)?;
    let amount = amount("amount", &req.body.amount)?;
    chip::load(&state, &actor, req.key, number, amount).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FillBody {
    pub card_number: String,
    /// The card's PIN (the chip checks it).
    pub pin: Option<String>,
    #[schema(example = "92")]
    pub product: String,
    pub station: Option<String>,
}

/// Grey-locks the card for fuelling: the chip's balance is held for this
/// terminal until the pump reports the amount.
#[utoipa::path(post, path = "/api/v1/chip/fills", request_body = FillBody,
    responses((status = 201, body = fills::FillStarted)))]
pub async fn start_fill(
    State(state): State<App>,
    actor: Actor,
    ApiJson(body): ApiJson<FillBody>,
) -> AppResult<(StatusCode, Json<fills::FillStarted>)> {
    let fill = chip::Fill {
        number: cards::parse_number(&body.card_number)?,
        pin: body.pin,
        product: body.product,
        station: body.station,
    };
    let started = chip::start_fill(&state, &actor, fill).await?;
    Ok((StatusCode::CREATED, Json(started)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishBody {
    /// Yuan delivered (0 when nothing was pumped).
    #[schema(example = "30.00")]
    pub amount: String,
}

/// The pump's amount for a fill: the card is debited and unlocked now if it
/// is in the reader, else wherever it is read next. Sending the same amount
/// again is harmless.
#[utoipa::path(post, path = "/api/v1/chip/fills/{id}/finish", request_body = FinishBody,
    params(("id" = i64, Path)),
    responses((status = 200, body = fills::FillFinished)))]
pub async fn finish_fill(
    State(state): State<App>,
    actor: Actor,
    super::ApiPath(id): super::ApiPath<i64>,
    ApiJson(body): ApiJson<FinishBody>,
) -> AppResult<Json<fills::FillFinished>> {
    let amount = super::amount_or_zero("amount", &body.amount)?;
    Ok(Json(chip::finish_fill(&state, &actor, id, amount).await?))
}

#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadBody {
    pub card_number: String,
    /// The pump's terminal ID, 12 hex digits.
    #[schema(example = "010000000001")]
    pub terminal: String,
    pub terminal_ttc: u32,
    pub offline_ttc: u16,
    #[schema(example = "30.00")]
    pub amount: String,
    /// 5 (ED purchase) or 6 (EP purchase).
    pub txn_type: u8,
    /// YYYYMMDDhhmmss as the card recorded it.
    #[schema(example = "20261123101500")]
    pub time: String,
    /// The card's TAC, 8 hex digits.
    pub tac: String,
}

/// Uploads a purchase the chip made at a pump: posted once when its TAC
/// verifies; a record whose TAC does not verify is kept, flagged, and
/// answered `chip_mac_invalid`.
#[utoipa::path(post, path = "/api/v1/chip/purchases", request_body = UploadBody,
    responses((status = 201, body = uploads::Uploaded),
              (status = 200, description = "Posted before: the first posting", body = uploads::Uploaded)))]
pub async fn upload_purchase(
    State(state): State<App>,
    actor: Actor,
    ApiJson(body): ApiJson<UploadBody>,
) -> AppResult<(StatusCode, Json<uploads::Uploaded>)> {
    let purchase = chip::Purchase {
        number: cards::parse_number(&body.card_number)?,
        amount: amount("amount", &body.amount)?,
        terminal: body.terminal,
        terminal_ttc: body.terminal_ttc,
        offline_ttc: body.offline_ttc,
        txn_type: body.txn_type,
        time: body.time,
        tac: body.tac,
    };
    let uploaded = chip::upload_purchase(&state, &actor, purchase).await?;
    // A record posted before is answered with its first posting.
    let status = if uploaded.status == "duplicate" {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(uploaded)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonaliseBody {
    pub card_number: String,
    /// The PIN the chip will ask for (4 to 12 digits).
    pub pin: String,
}

/// Writes a blank chip for an open card: the card keys derived from the
/// issuer keys, the card's public file and holder, the PIN.
#[utoipa::path(post, path = "/api/v1/chip/personalise", request_body = PersonaliseBody,
    responses((status = 201, body = read::ChipView)))]
pub async fn personalise(
    State(state): State<App>,
    actor: Actor,
    ApiJson(body): ApiJson<PersonaliseBody>,
) -> AppResult<(StatusCode, Json<read::ChipView>)> {
    let number = cards::parse_number(&body.card_number)?;
    let view = chip::personalise(&state, &actor, number, &body.pin).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

pub use crate::actions::admin::Terminal;

/// Registers a pump's terminal at the station it stands at (or moves it
/// there): the purchases it uploads are that station's sales.
#[utoipa::path(put, path = "/api/v1/stations/{code}/terminals/{terminal}",
    params(("code" = String, Path, description = "The station"),
           ("terminal" = String, Path, description = "The pump's terminal ID, 12 hex digits")),
    responses((status = 200, description = "Registered", body = Terminal)))]
pub async fn register_terminal(
    State(state): State<App>,
    actor: Actor,
    ApiPath((code, terminal)): ApiPath<(String, String)>,
) -> AppResult<Json<Terminal>> {
    Ok(Json(
        crate::actions::admin::register_terminal(&state, &actor, &code, &terminal).await?,
    ))
}
