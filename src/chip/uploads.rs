//! Purchases a pump took from the chip offline, uploaded with their TAC.
//!
//! The TAC is the card's own signature over the amount, terminal, terminal
//! counter and time, made with a key only the card and the issuer hold: a
//! record whose TAC verifies happened on a genuine card and is posted from
//! the card's chip account to the station's sales account, once per what
//! the TAC signs: the card, the terminal and the terminal's transaction
//! counter. The offline counter a record claims is not signed, so it does
//! not tell postings apart; a pump uploading twice is answered with the
//! first posting. A record whose TAC does not verify is kept as rejected, for the
//! office, and moves no money. The sale is the pump's station's: its
//! terminal is registered there, and only that station's staff upload it.

use fuelcard_reader::keys::{KeyService, PurchaseContext};
use fuelcard_reader::purse::data::asn_for;
use serde::Serialize;
use sqlx::Row;

use super::{chip_account, hex_array, stamp_from_text, stamp_text};
use crate::auth::Actor;
use crate::auth::policy::{Action, Target, authorize};
use crate::cards::{self, CardNumber};
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::ledger;
use crate::money::Money;
use crate::stations;

/// A purchase record as the pump read it from the card.
pub struct Upload<'a> {
    pub number: &'a CardNumber,
    pub terminal: &'a str,
    pub terminal_ttc: u32,
    pub offline_ttc: u16,
    pub amount: Money,
    pub txn_type: u8,
    pub time: &'a str,
    pub tac: &'a str,
}

/// Registers a pump's terminal at the station it stands at (or moves it
/// there).
pub async fn register_terminal(conn: &mut Conn, terminal: &str, station_id: i64) -> AppResult<()> {
    let id: [u8; 6] = hex_array(terminal)
        .ok_or_else(|| AppError::invalid("terminal", "terminal: 12 hexadecimal digits"))?;
    sqlx::query(
        "INSERT INTO chip_terminals (terminal, ttc, station_id) VALUES ($1, 0, $2) \
         ON CONFLICT (terminal) DO UPDATE SET station_id = excluded.station_id",
    )
    .bind(hex::encode_upper(id))
    .bind(station_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The terminals registered at a station, by ID, with the last
/// transaction counter each uploaded.
pub async fn terminals_at(conn: &mut Conn, station_id: i64) -> AppResult<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT terminal, ttc FROM chip_terminals WHERE station_id = $1 ORDER BY terminal",
    )
    .bind(station_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("terminal")?, r.try_get("ttc")?)))
        .collect()
}

/// The station a pump's terminal stands at.
pub async fn terminal_station(conn: &mut Conn, terminal: &str) -> AppResult<stations::Station> {
    let row = sqlx::query("SELECT station_id FROM chip_terminals WHERE terminal = $1")
        .bind(terminal.to_ascii_uppercase())
        .fetch_optional(&mut *conn)
        .await?;
    match row
        .map(|r| r.try_get::<Option<i64>, _>("station_id"))
        .transpose()?
        .flatten()
    {
        Some(id) => stations::get(conn, id).await,
        None => Err(AppError::new(
            Code::TerminalUnknown,
            format!(
                "terminal {terminal} is not registered at a station: register the pump at its \
                 station first (PUT /api/v1/stations/{{code}}/terminals/{terminal})"
            ),
        )),
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Uploaded {
    pub id: i64,
    /// `posted`, or `duplicate` when this record was posted before.
    pub status: String,
    #[schema(value_type = String)]
    pub amount: Money,
}

/// Checks the record's form before anything is looked up.
fn parse(u: &Upload<'_>) -> AppResult<([u8; 6], [u8; 4], fuelcard_reader::keys::Stamp, u32)> {
    let bad = |what: &str| AppError::new(Code::ValidationFailed, what.to_string());
    let terminal: [u8; 6] =
        hex_array(u.terminal).ok_or_else(|| bad("terminal: 12 hexadecimal digits"))?;
    let tac: [u8; 4] = hex_array(u.tac).ok_or_else(|| bad("tac: 8 hexadecimal digits"))?;
    let stamp = (u.time.len() == 14 && u.time.bytes().all(|b| b.is_ascii_digit()))
        .then(|| stamp_from_text(u.time))
        .flatten()
        .ok_or_else(|| bad("time: YYYYMMDDhhmmss"))?;
    let amount = u32::try_from(u.amount.fen())
        .ok()
        .filter(|a| *a > 0)
        .ok_or_else(|| AppError::new(Code::InvalidAmount, "amount: 0.01 to 42,949,672.95"))?;
    Ok((terminal, tac, stamp, amount))
}

/// Verifies and posts one uploaded record.
pub async fn upload(
    conn: &mut Conn,
    keys: &dyn KeyService,
    actor: &Actor,
    u: &Upload<'_>,
    now: i64,
) -> AppResult<Uploaded> {
    let (terminal, tac, stamp, amount_fen) = parse(u)?;
    // Credited to the station the pump stands at; only its own staff
    // upload its records.
    let station = terminal_station(conn, &hex::encode_upper(terminal)).await?;
    authorize(
        actor,
        Action::UploadPumpRecords,
        &Target::station(station.id, &station.district),
    )?;
    let card = cards::find_for_update(conn, u.number).await?;
    let first = sqlx::query(
        "SELECT id, amount_fen FROM chip_purchases \
         WHERE card_id = $1 AND terminal = $2 AND terminal_ttc = $3 AND status = 'posted'",
    )
    .bind(card.id)
    .bind(hex::encode_upper(terminal))
    .bind(i64::from(u.terminal_ttc))
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = first {
        return Ok(Uploaded {
            id: row.try_get("id")?,
            status: "duplicate".into(),
            amount: Money::from_fen(row.try_get("amount_fen")?),
        });
    }
    let asn = asn_for(card.number.as_str()).map_err(|e| AppError::internal("card ASN", e))?;
    let mut asn8 = [0u8; 8];
    asn8.copy_from_slice(&asn[2..]);
    let context = PurchaseContext {
        asn8,
        key_version: 0,
        random: [0; 4],
        offline_ttc: u.offline_ttc,
        terminal_ttc: u.terminal_ttc,
        amount_fen,
        txn_type: u.txn_type,
        terminal,
        stamp,
    };
    let verified = keys.verify_purchase_tac(&context, tac);
    let (status, reason) = match &verified {
        Ok(()) => ("posted", None),
        Err(e) => ("rejected", Some(e.to_string())),
    };
    let row = sqlx::query(
        "INSERT INTO chip_purchases (card_id, station_id, terminal, terminal_ttc, offline_ttc, \
         amount_fen, txn_type, stamp, tac, status, reason, uploaded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(card.id)
    .bind(station.id)
    .bind(hex::encode_upper(terminal))
    .bind(i64::from(u.terminal_ttc))
    .bind(i64::from(u.offline_ttc))
    .bind(u.amount.fen())
    .bind(i64::from(u.txn_type))
    .bind(stamp_text(stamp))
    .bind(hex::encode_upper(tac))
    .bind(status)
    .bind(reason.as_deref())
    .bind(actor.user_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = row.try_get("id")?;
    actor
        .audit(
            conn,
            now,
            if verified.is_ok() {
                "chip_purchase_posted"
            } else {
                "chip_purchase_rejected"
            },
            card.number.as_str(),
            serde_json::json!({ "record": id, "offline_ttc": u.offline_ttc, "amount": u.amount }),
        )
        .await?;
    if verified.is_err() {
        return Ok(Uploaded {
            id,
            status: "rejected".into(),
            amount: u.amount,
        });
    }
    let chip = chip_account(conn, card.number.as_str(), now).await?;
    let sales = station.sales_account(conn, now).await?;
    let op = ledger::record_operation(
        conn,
        ledger::Operation {
            at: now,
            kind: "chip_purchase",
            card_id: Some(card.id),
            station_id: Some(station.id),
            shift_id: None,
            user_id: Some(actor.user_id),
            detail: serde_json::json!({ "record": id }),
        },
    )
    .await?;
    ledger::spend(conn, op, chip, sales, u.amount).await?;
    // A pump purchase is a refuel: it activates a new customer's card.
    cards::openings::note_sale(conn, &card, now).await?;
    sqlx::query("UPDATE chip_purchases SET operation_id = $1 WHERE id = $2")
        .bind(op.id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(Uploaded {
        id,
        status: "posted".into(),
        amount: u.amount,
    })
}
