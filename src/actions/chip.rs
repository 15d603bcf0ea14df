//! The card's chip at this counter's reader: read it, write a blank one,
//! load value onto it, fuel under its grey lock; and the purchases a
//! pump's chip made, uploaded.

use std::sync::Arc;

use super::{App, Done, Keyed, once};
use crate::auth::Actor;
use crate::auth::policy::{Action, authorize_role};
use crate::cards::CardNumber;
use crate::chip::{self, Desk, Host, fills, loads, read, uploads};
use crate::error::{AppError, AppResult, Code};
use crate::money::Money;
use fuelcard_reader::transport::Transport;

/// The reader at this counter, or why there is none.
pub fn desk(app: &App) -> AppResult<Arc<Desk>> {
    app.chip.clone().ok_or_else(|| {
        AppError::new(
            Code::ReaderNotConfigured,
            "no card reader is configured for this server (serve --reader, issuer keys)",
        )
    })
}

/// Runs `work` with the card in this counter's reader open.
async fn at_counter<R: Send + 'static>(
    app: &App,
    actor: &Actor,
    work: impl FnOnce(&Host<'_>, &Desk, &mut dyn Transport) -> AppResult<R> + Send + 'static,
) -> AppResult<R> {
    let (db, actor, tz) = (app.db.clone(), actor.clone(), app.settings.time_zone);
    chip::at_counter(desk(app)?, db, actor, tz, app.now(), work).await
}

/// Reads the card in the reader (the expected one, if given): chip balance
/// beside the host's, after settling a torn load or a grey-locked fill.
pub async fn read(
    app: &App,
    actor: &Actor,
    expected: Option<CardNumber>,
) -> AppResult<read::ChipView> {
    authorize_role(actor, Action::WorkChip)?;
    at_counter(app, actor, move |host, desk, transport| {
        read::read(host, desk, transport, expected.as_ref())
    })
    .await
}

/// Writes the blank chip in the reader as this card, then reads it.
pub async fn personalise(
    app: &App,
    actor: &Actor,
    number: CardNumber,
    pin: &str,
) -> AppResult<read::ChipView> {
    authorize_role(actor, Action::WorkChip)?;
    chip::issue::issue(&app.db, desk(app)?, actor, &number, pin, app.now()).await?;
    read(app, actor, Some(number)).await
}

/// 圈存: value from the card's account onto its chip, under the key.
pub async fn load(
    app: &App,
    actor: &Actor,
    key: Keyed,
    number: CardNumber,
    amount: Money,
) -> AppResult<Done<loads::Loaded>> {
    authorize_role(actor, Action::WorkChip)?;
    let request = loads::LoadRequest {
        number,
        amount,
        key,
        station_id: actor.station_id,
    };
    let (status, body) = at_counter(app, actor, move |host, desk, transport| {
        loads::load(host, desk, transport, &request)
    })
    .await?;
    Done::stored(status, body)
}

/// A fuelling to start on the card in the reader.
pub struct Fill {
    pub number: CardNumber,
    /// The card's PIN (the chip checks it).
    pub pin: Option<String>,
    pub product: String,
    pub station: Option<String>,
}

/// Grey-locks the card for fuelling.
pub async fn start_fill(app: &App, actor: &Actor, fill: Fill) -> AppResult<fills::FillStarted> {
    authorize_role(actor, Action::WorkChip)?;
    at_counter(app, actor, move |host, desk, transport| {
        fills::start(
            host,
            desk,
            transport,
            &fill.number,
            fill.pin.as_deref(),
            &fill.product,
            fill.station.as_deref(),
        )
    })
    .await
}

/// The pump's amount for a fill: debited and unlocked now if the card is
/// in the reader, else wherever it is read next.
pub async fn finish_fill(
    app: &App,
    actor: &Actor,
    id: i64,
    amount: Money,
) -> AppResult<fills::FillFinished> {
    authorize_role(actor, Action::FinishFill)?;
    let tz = app.settings.time_zone;
    fills::finish(&app.db, desk(app)?, actor, id, amount, tz, app.now()).await
}

/// A purchase a pump's chip made, as the pump uploads it.
pub struct Purchase {
    pub number: CardNumber,
    /// The pump's terminal ID, 12 hex digits.
    pub terminal: String,
    pub terminal_ttc: u32,
    pub offline_ttc: u16,
    pub amount: Money,
    /// 5 (ED purchase) or 6 (EP purchase).
    pub txn_type: u8,
    /// YYYYMMDDhhmmss as the card recorded it.
    pub time: String,
    /// The card's TAC, 8 hex digits.
    pub tac: String,
}

/// Posts a purchase a pump's chip made, once, when its TAC verifies (an
/// upload of one posted before answers that posting, `duplicate`). A
/// record whose TAC does not verify is kept, flagged for the office, and
/// refused `chip_mac_invalid` after its transaction commits: it moved no
/// money.
pub async fn upload_purchase(
    app: &App,
    actor: &Actor,
    purchase: Purchase,
) -> AppResult<uploads::Uploaded> {
    authorize_role(actor, Action::UploadPumpRecords)?;
    let desk = desk(app)?;
    let (purchase, desk) = (&purchase, &desk);
    let uploaded = once(app, actor, |conn, at| {
        Box::pin(async move {
            uploads::upload(
                conn,
                &*desk.keys,
                at.actor,
                &uploads::Upload {
                    number: &purchase.number,
                    terminal: &purchase.terminal,
                    terminal_ttc: purchase.terminal_ttc,
                    offline_ttc: purchase.offline_ttc,
                    amount: purchase.amount,
                    txn_type: purchase.txn_type,
                    time: &purchase.time,
                    tac: &purchase.tac,
                },
                at.now,
            )
            .await
        })
    })
    .await?;
    if uploaded.status == "rejected" {
        return Err(AppError::new(
            Code::ChipMacInvalid,
            "the record's TAC does not verify: it was kept as rejected and moved no money",
        )
        .with("record", uploaded.id));
    }
    Ok(uploaded)
}
