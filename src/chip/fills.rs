//! Fuelling from the chip under grey lock (灰锁).
//!
//! Before the pump runs, the card is grey-locked: its balance is frozen for
//! this terminal, and the host mirrors the lock as a hold on the card's chip
//! account — the same thing, keyed by the card's offline counter (CTC) and
//! the terminal. When fuelling ends the pump reports the amount; the card
//! is then debited for unlock (解扣) and the hold captured into the
//! station's sales account. If the card was pulled during fuelling (a grey
//! card, 灰卡) the amount waits on the host and the debit happens wherever
//! the card is read next. The unlock's terminal, counter and time are
//! written down before DEBIT FOR UNLOCK is sent, so a TAC lost with a
//! pulled card is read back from GET GREY STATUS and verified later: the
//! fill settles exactly once.

use fuelcard_reader::keys::UnlockContext;
use fuelcard_reader::purse::data::{GreyFlag, GreyStatus, PublicData};
use fuelcard_reader::purse::{Purse, flows};
use serde::Serialize;
use sqlx::Row;

use super::read::Settlement;
use super::{
    Desk, Host, chip_account, next_terminal_ttc, refused, stamp_at, stamp_parse, stamp_text, unhex,
};
use crate::auth::Actor;
use crate::auth::policy::{self, Action, Target};
use crate::cards::{self, CardNumber, products};
use crate::db::{Conn, Db};
use crate::error::{AppError, AppResult, Code};
use crate::ledger::{self, holds};
use crate::lifecycle::{FillStatus, Status as _};
use crate::money::Money;
use crate::stations;

/// A fill started: the card is grey-locked and the pump may run.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FillStarted {
    pub id: i64,
    pub card_number: String,
    /// What the pump may deliver at most: the chip's balance, now locked.
    #[schema(value_type = String, example = "100.00")]
    pub locked: Money,
    pub terminal: String,
    pub ctc: u16,
}

/// A fill after the pump reported its amount.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FillFinished {
    pub id: i64,
    /// `settled` (the card was debited and unlocked) or `fuelled` (the card
    /// is not in the reader; it settles wherever it is read next).
    pub status: FillStatus,
    #[schema(value_type = String, example = "30.00")]
    pub amount: Money,
    /// The chip's balance after the debit, when settled.
    #[schema(value_type = Option<String>)]
    pub chip_balance: Option<Money>,
}

/// Grey-locks the card in the slot for a fill at the counter's station.
pub fn start(
    host: &Host<'_>,
    desk: &Desk,
    transport: &mut dyn fuelcard_reader::transport::Transport,
    number: &CardNumber,
    pin: Option<&str>,
    product: &str,
    station: Option<&str>,
) -> AppResult<FillStarted> {
    let now = host.now;
    // Everything the host can refuse is settled before the card is touched:
    // a refusal after the grey lock would leave the chip's balance frozen
    // with no fill on the host to finish it.
    let (product_id, station_id) = host.handle.block_on(async {
        let mut conn = host.db.pool().acquire().await?;
        let card = cards::find(&mut conn, number).await?;
        card.ensure_can_spend()?;
        card.ensure_buys_fuel()?;
        let product = products::find(&mut conn, product).await?;
        let station = stations::for_counter(&mut conn, host.actor, station).await?;
        AppResult::Ok((product.id, station.id))
    })?;
    let mut opened = super::open(transport, desk, Some(number))?;
    super::read::settle(host, desk, &mut opened.purse, &opened.public)?;
    let pin = pin.ok_or_else(|| {
        AppError::new(
            Code::PinRequired,
            "the card's PIN is needed to lock it for fuelling",
        )
    })?;
    opened.purse.verify_pin(pin).map_err(refused)?;
    let balance = opened.purse.balance().map_err(refused)?;
    if balance == 0 {
        return Err(AppError::new(
            Code::InsufficientBalance,
            "the chip is empty: load value onto it first",
        ));
    }
    let terminal = desk.terminal_hex();
    let ttc = {
        let terminal = terminal.clone();
        host.in_tx(async |conn| next_terminal_ttc(conn, &terminal).await)?
    };
    let at = flows::Terminal {
        id: desk.terminal,
        ttc,
        stamp: stamp_at(now, host.tz)?,
    };
    let begun = flows::grey_lock_begin(&mut opened.purse, &*desk.keys, &opened.public, &at)
        .map_err(refused)?;
    let ctx = begun.context;
    let locked = Money::from_fen(i64::from(ctx.balance_fen));
    let actor = host.actor.clone();
    // Written down before GREY LOCK is sent: a lock whose answer is lost is
    // then found, and released, at the card's next read.
    let (id, card_number) = host.in_tx(async |conn| {
        let card = cards::find_for_update(conn, number).await?;
        let chip = chip_account(conn, card.number.as_str(), now).await?;
        let hold = holds::place(
            conn,
            &holds::NewHold {
                card_id: card.id,
                account_id: chip,
                station_id: Some(station_id),
                amount: locked,
                expires_at: super::NEVER,
                reference: Some("grey lock"),
            },
            now,
        )
        .await?;
        let row = sqlx::query(
            "INSERT INTO chip_fills (card_id, hold_id, station_id, user_id, product_id, \
             terminal, psam_ttc, ctc, lock_stamp, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'locking', $10) RETURNING id",
        )
        .bind(card.id)
        .bind(hold.id)
        .bind(station_id)
        .bind(actor.user_id)
        .bind(product_id)
        .bind(&terminal)
        .bind(i64::from(ctx.psam_ttc))
        .bind(i64::from(ctx.ctc))
        .bind(stamp_text(ctx.stamp))
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        AppResult::Ok((row.try_get::<i64, _>("id")?, card.number))
    })?;
    match flows::grey_lock_send(&mut opened.purse, &*desk.keys, &begun) {
        Ok(_) => {}
        Err(e) if card_did_not_lock(&e) => {
            void(host, id, &card_number)?;
            return Err(refused(e));
        }
        Err(e) => {
            return Err(AppError::new(
                Code::ChipPending,
                format!(
                    "the card may have been locked when it stopped answering ({}); \
                     read the card to release it",
                    refused(e).message
                ),
            )
            .with("fill", id));
        }
    }
    host.in_tx(async |conn| {
        sqlx::query("UPDATE chip_fills SET status = 'locked' WHERE id = $1 AND status = 'locking'")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        actor
            .audit(
                conn,
                now,
                "chip_grey_locked",
                card_number.as_str(),
                serde_json::json!({ "fill": id, "ctc": ctx.ctc, "locked": locked }),
            )
            .await
    })?;
    Ok(FillStarted {
        id,
        card_number: card_number.clone(),
        locked,
        terminal,
        ctc: ctx.ctc,
    })
}

/// Whether the card answered GREY LOCK with a refusal, so it holds no
/// lock. A lost answer, or a proof that does not verify, leaves it open.
fn card_did_not_lock(e: &fuelcard_reader::purse::PurseError) -> bool {
    use fuelcard_reader::purse::PurseError as E;
    matches!(
        e,
        E::Status { .. } | E::MacInvalid | E::GreyLocked | E::InsufficientBalance
    )
}

/// A fill whose lock the card never took: its hold is released and the
/// fill voided, nothing sold.
fn void(host: &Host<'_>, id: i64, number: &str) -> AppResult<()> {
    let now = host.now;
    host.in_tx(async |conn| {
        let fill = get(conn, id).await?;
        crate::lifecycle::ensure_move(id, fill.status, FillStatus::Voided)?;
        holds::void(conn, fill.hold_id, now).await?;
        sqlx::query("UPDATE chip_fills SET status = 'voided', settled_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        host.actor
            .audit(
                conn,
                now,
                "chip_fill_voided",
                number,
                serde_json::json!({ "fill": id }),
            )
            .await
    })
}

/// A fill as the host keeps it.
struct Fill {
    id: i64,
    card_id: i64,
    card_number: String,
    hold_id: i64,
    station_id: i64,
    ctc: u16,
    amount_fen: Option<i64>,
    status: FillStatus,
    unlock: Option<(String, i64, String)>,
}

const FILL_COLUMNS: &str = "f.id, f.card_id, c.number, f.hold_id, f.station_id, f.ctc, \
    f.amount_fen, f.status, f.unlock_terminal, f.unlock_ttc, f.unlock_stamp";

fn fill_from_row(row: &sqlx::any::AnyRow) -> AppResult<Fill> {
    let unlock_terminal: Option<String> = row.try_get("unlock_terminal")?;
    let unlock_ttc: Option<i64> = row.try_get("unlock_ttc")?;
    let unlock_stamp: Option<String> = row.try_get("unlock_stamp")?;
    Ok(Fill {
        id: row.try_get("id")?,
        card_id: row.try_get("card_id")?,
        card_number: row.try_get("number")?,
        hold_id: row.try_get("hold_id")?,
        station_id: row.try_get("station_id")?,
        ctc: u16::try_from(row.try_get::<i64, _>("ctc")?)
            .map_err(|e| AppError::internal("fill ctc", e))?,
        amount_fen: row.try_get("amount_fen")?,
        status: FillStatus::stored(&row.try_get::<String, _>("status")?)?,
        unlock: match (unlock_terminal, unlock_ttc, unlock_stamp) {
            (Some(t), Some(n), Some(s)) => Some((t, n, s)),
            _ => None,
        },
    })
}

async fn get(conn: &mut Conn, id: i64) -> AppResult<Fill> {
    let row = sqlx::query(&format!(
        "SELECT {FILL_COLUMNS} FROM chip_fills f JOIN cards c ON c.id = f.card_id WHERE f.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::new(Code::ChipFillNotFound, format!("no fill {id}")))?;
    fill_from_row(&row)
}

/// The pump reports what it delivered; the card is debited now if it is
/// in the reader, else wherever it is read next.
pub async fn finish(
    db: &Db,
    desk: std::sync::Arc<Desk>,
    actor: &Actor,
    id: i64,
    amount: Money,
    tz: chrono_tz::Tz,
    now: i64,
) -> AppResult<FillFinished> {
    if amount.fen() < 0 {
        return Err(AppError::new(
            Code::InvalidAmount,
            "the amount is not negative",
        ));
    }
    let scope = actor.clone();
    let fill = super::in_tx(db, async |conn| {
        let fill = get(conn, id).await?;
        policy::authorize(
            &scope,
            Action::FinishFill,
            &Target::at_station(fill.station_id),
        )?;
        let hold = holds::get(conn, fill.hold_id).await?;
        match (fill.status, fill.amount_fen) {
            (FillStatus::Settled, _) => {
                return Err(AppError::new(
                    Code::ChipFillSettled,
                    format!("fill {id} is already settled"),
                ));
            }
            (FillStatus::Fuelled, Some(a)) if a != amount.fen() => {
                return Err(AppError::new(
                    Code::ChipFillSettled,
                    format!("fill {id} was reported as {}", Money::from_fen(a)),
                ));
            }
            (FillStatus::Locking, _) => {
                return Err(AppError::new(
                    Code::ChipPending,
                    format!("fill {id} was never confirmed locked: read the card to release it"),
                ));
            }
            (status, _) => crate::lifecycle::ensure_move(id, status, FillStatus::Fuelled)?,
        }
        if amount > hold.amount {
            return Err(AppError::new(
                Code::CaptureExceedsHold,
                format!(
                    "{amount} is more than the {} locked on the card",
                    hold.amount
                ),
            ));
        }
        sqlx::query(
            "UPDATE chip_fills SET amount_fen = $1, status = 'fuelled' \
             WHERE id = $2 AND status IN ('locked', 'fuelled')",
        )
        .bind(amount.fen())
        .bind(id)
        .execute(&mut *conn)
        .await?;
        scope
            .audit(
                conn,
                now,
                "chip_fill_fuelled",
                &fill.card_number,
                serde_json::json!({ "fill": id, "amount": amount }),
            )
            .await?;
        get(conn, id).await
    })
    .await?;
    let number = cards::parse_number(&fill.card_number)?;
    let (db, actor) = (db.clone(), actor.clone());
    let outcome = super::at_counter(desk, db, actor, tz, now, move |host, desk, transport| {
        let mut opened = super::open(transport, desk, Some(&number))?;
        let status = opened.purse.grey_status().map_err(refused)?;
        unlock(
            host,
            desk,
            &mut opened.purse,
            &opened.public,
            &status,
            &fill,
        )
    })
    .await;
    match outcome {
        Ok(Some(balance)) => Ok(FillFinished {
            id,
            status: FillStatus::Settled,
            amount,
            chip_balance: Some(balance),
        }),
        Ok(None) => Ok(FillFinished {
            id,
            status: FillStatus::Fuelled,
            amount,
            chip_balance: None,
        }),
        // Not this card in the reader, or none: the fill waits for the card.
        Err(e)
            if matches!(
                e.code,
                Code::NoCardInReader | Code::ChipCardMismatch | Code::ReaderUnavailable
            ) =>
        {
            Ok(FillFinished {
                id,
                status: FillStatus::Fuelled,
                amount,
                chip_balance: None,
            })
        }
        Err(e) => Err(e),
    }
}

/// Debits a grey-locked (or debited but unread) card for its fill and
/// settles the host once. Returns the chip balance after, or `None` when
/// the fill is not ready (the pump has not reported) or not this lock.
fn unlock(
    host: &Host<'_>,
    desk: &Desk,
    purse: &mut Purse<'_>,
    public: &PublicData,
    status: &GreyStatus,
    fill: &Fill,
) -> AppResult<Option<Money>> {
    let now = host.now;
    let Some(amount_fen) = fill.amount_fen else {
        return Ok(None);
    };
    let amount_u32 = u32::try_from(amount_fen).map_err(|e| AppError::internal("fill amount", e))?;
    let (context, tac, balance_after) = match status.flag {
        GreyFlag::Locked if status.ctc == fill.ctc => {
            // Written down before the card is debited, so that a TAC lost
            // with a pulled card can be checked later.
            let ttc_terminal = desk.terminal_hex();
            let stamp = stamp_at(now, host.tz)?;
            let fill_id = fill.id;
            let psam_ttc = {
                let t = ttc_terminal.clone();
                host.in_tx(async |conn| {
                    let ttc = next_terminal_ttc(conn, &t).await?;
                    sqlx::query(
                        "UPDATE chip_fills SET unlock_terminal = $1, unlock_ttc = $2, \
                         unlock_stamp = $3 WHERE id = $4 AND status = 'fuelled'",
                    )
                    .bind(&t)
                    .bind(i64::from(ttc))
                    .bind(stamp_text(stamp))
                    .bind(fill_id)
                    .execute(&mut *conn)
                    .await?;
                    Ok(ttc)
                })?
            };
            let context = UnlockContext {
                asn8: public.asn8(),
                ctc: fill.ctc,
                amount_fen: amount_u32,
                terminal: desk.terminal,
                psam_ttc,
                stamp,
            };
            let gmac = desk
                .keys
                .unlock_gmac(&context)
                .map_err(|e| refused(e.into()))?;
            let tac = purse
                .debit_for_unlock(amount_u32, fill.ctc, desk.terminal, psam_ttc, stamp, gmac)
                .map_err(refused)?;
            let after = status.balance_fen.saturating_sub(amount_u32);
            (context, tac, after)
        }
        GreyFlag::TacUnread => {
            let Some((terminal, ttc, stamp)) = &fill.unlock else {
                return Ok(None);
            };
            let Some((debited, tac)) = status.unlock() else {
                return Ok(None);
            };
            if debited != amount_u32 {
                return Err(AppError::new(
                    Code::ChipMacInvalid,
                    format!(
                        "the card was debited {} for fill {}, the host expected {}",
                        Money::from_fen(i64::from(debited)),
                        fill.id,
                        Money::from_fen(amount_fen)
                    ),
                ));
            }
            let context = UnlockContext {
                asn8: public.asn8(),
                ctc: fill.ctc,
                amount_fen: amount_u32,
                terminal: unhex("terminal", terminal)?,
                psam_ttc: u32::try_from(*ttc).map_err(|e| AppError::internal("ttc", e))?,
                stamp: stamp_parse(stamp)?,
            };
            let balance = purse.balance().map_err(refused)?;
            (context, tac, balance)
        }
        _ => return Ok(None),
    };
    desk.keys
        .verify_unlock_tac(&context, tac)
        .map_err(|e| refused(e.into()))?;
    settle_host(host, fill, amount_fen, tac)?;
    purse.clear_tacuf().map_err(refused)?;
    Ok(Some(Money::from_fen(i64::from(balance_after))))
}

/// The host side of a settled fill, once: the hold on the chip account is
/// captured into the sales account of the station where the fill happened.
fn settle_host(host: &Host<'_>, fill: &Fill, amount_fen: i64, tac: [u8; 4]) -> AppResult<()> {
    let now = host.now;
    let (id, card_id, hold_id, station_id) = (fill.id, fill.card_id, fill.hold_id, fill.station_id);
    let number = fill.card_number.clone();
    let user_id = host.actor.user_id;
    let actor_station = host.actor.station_id;
    host.in_tx(async |conn| {
        let settled = sqlx::query(
            "UPDATE chip_fills SET status = 'settled', tac = $1, settled_at = $2, \
             settled_station_id = $3 WHERE id = $4 AND status = 'fuelled'",
        )
        .bind(hex::encode_upper(tac))
        .bind(now)
        .bind(actor_station)
        .bind(id)
        .execute(&mut *conn)
        .await?;
        if settled.rows_affected() != 1 {
            // Settled by another counter meanwhile: nothing more to do.
            return Ok(());
        }
        let amount = Money::from_fen(amount_fen);
        if amount.is_positive() {
            let station = stations::get(conn, station_id).await?;
            let sales = station.sales_account(conn, now).await?;
            let op = ledger::record_operation(
                conn,
                ledger::Operation {
                    at: now,
                    kind: "chip_fill",
                    card_id: Some(card_id),
                    station_id: Some(station_id),
                    shift_id: None,
                    user_id: Some(user_id),
                    detail: serde_json::json!({ "fill": id }),
                },
            )
            .await?;
            holds::capture(conn, hold_id, amount, op, sales).await?;
            // A fill is a refuel: it activates a new customer's card (at
            // settlement, when the host learns of it).
            let card = cards::find_by_id(conn, card_id).await?;
            cards::openings::note_sale(conn, &card, now).await?;
            sqlx::query("UPDATE chip_fills SET operation_id = $1 WHERE id = $2")
                .bind(op.id)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        } else {
            holds::void(conn, hold_id, now).await?;
        }
        host.actor
            .audit(
                conn,
                now,
                "chip_fill_settled",
                &number,
                serde_json::json!({ "fill": id, "amount": amount }),
            )
            .await?;
        Ok(())
    })
}

/// Settles what a fill left on the card, at any read: a fill the card left
/// grey (or debited but unread) is debited once the pump has reported; a
/// lock the card took while its answer was lost reached no pump and is
/// released with a zero debit; a lock the card never took is voided on the
/// host; and a lock with no fill on the host at all is released too, so no
/// balance stays frozen.
pub fn settle_grey(
    host: &Host<'_>,
    desk: &Desk,
    purse: &mut Purse<'_>,
    public: &PublicData,
) -> AppResult<Vec<Settlement>> {
    let status = purse.grey_status().map_err(refused)?;
    let number = public.card_number.clone();
    let open = host.handle.block_on(async {
        let mut conn = host.db.pool().acquire().await?;
        let rows = sqlx::query(&format!(
            "SELECT {FILL_COLUMNS} FROM chip_fills f JOIN cards c ON c.id = f.card_id \
             WHERE c.number = $1 AND f.status IN ('locking', 'locked', 'fuelled') \
             ORDER BY f.id DESC"
        ))
        .bind(&number)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(fill_from_row)
            .collect::<AppResult<Vec<_>>>()
    })?;
    let on_card = |f: &Fill| status.flag != GreyFlag::Clear && status.ctc == f.ctc;
    let mut done = Vec::new();
    for f in open
        .iter()
        .filter(|f| f.status == FillStatus::Locking && !on_card(f))
    {
        void(host, f.id, &number)?;
        done.push(Settlement {
            kind: "fill".into(),
            id: f.id,
            outcome: "voided".into(),
            amount: Money::ZERO,
        });
    }
    if status.flag == GreyFlag::Clear {
        return Ok(done);
    }
    let Some(fill) = open.into_iter().find(|f| on_card(f)) else {
        done.extend(release_unknown_lock(host, desk, purse, public, &status)?);
        return Ok(done);
    };
    let fill = if fill.status == FillStatus::Locking {
        nothing_fuelled(host, fill)?
    } else {
        fill
    };
    if unlock(host, desk, purse, public, &status, &fill)?.is_some() {
        done.push(Settlement {
            kind: "fill".into(),
            id: fill.id,
            outcome: "settled".into(),
            amount: Money::from_fen(fill.amount_fen.unwrap_or(0)),
        });
    }
    Ok(done)
}

/// A lock the card took while its answer was lost: the counter was told
/// the fill failed, so no pump ran. The fill is fuelled at zero and then
/// settled like any other.
fn nothing_fuelled(host: &Host<'_>, fill: Fill) -> AppResult<Fill> {
    let now = host.now;
    host.in_tx(async |conn| {
        crate::lifecycle::ensure_move(fill.id, fill.status, FillStatus::Fuelled)?;
        sqlx::query(
            "UPDATE chip_fills SET amount_fen = 0, status = 'fuelled' \
             WHERE id = $1 AND status = 'locking'",
        )
        .bind(fill.id)
        .execute(&mut *conn)
        .await?;
        host.actor
            .audit(
                conn,
                now,
                "chip_fill_unconfirmed",
                &fill.card_number,
                serde_json::json!({ "fill": fill.id, "ctc": fill.ctc }),
            )
            .await?;
        get(conn, fill.id).await
    })
}

/// A grey lock with no fill on the host (locked elsewhere, or before the
/// host wrote fills down first): released with a zero debit for unlock
/// from this terminal, its TAC checked, and the release recorded in the
/// ledger. An unread zero unlock is cleared the same way.
fn release_unknown_lock(
    host: &Host<'_>,
    desk: &Desk,
    purse: &mut Purse<'_>,
    public: &PublicData,
    status: &GreyStatus,
) -> AppResult<Option<Settlement>> {
    let number = public.card_number.clone();
    match status.flag {
        GreyFlag::Locked => {
            let terminal = desk.terminal_hex();
            let ttc = host.in_tx(async |conn| next_terminal_ttc(conn, &terminal).await)?;
            let at = flows::Terminal {
                id: desk.terminal,
                ttc,
                stamp: stamp_at(host.now, host.tz)?,
            };
            flows::unlock(purse, &*desk.keys, public, 0, &at).map_err(refused)?;
        }
        GreyFlag::TacUnread if status.unlock().is_some_and(|(amount, _)| amount == 0) => {
            purse.clear_tacuf().map_err(refused)?;
        }
        _ => {
            tracing::warn!(card = %number, "an unread unlock TAC without a fill on the host");
            return Ok(None);
        }
    }
    let now = host.now;
    let actor = host.actor;
    let lock = hex::encode_upper(status.terminal);
    let ctc = status.ctc;
    let op = host.in_tx(async |conn| {
        let card = cards::find(conn, &cards::parse_number(&number)?).await?;
        let op = ledger::record_operation(
            conn,
            ledger::Operation {
                at: now,
                kind: "chip_lock_released",
                card_id: Some(card.id),
                station_id: actor.station_id,
                shift_id: None,
                user_id: Some(actor.user_id),
                detail: serde_json::json!({ "ctc": ctc, "terminal": lock }),
            },
        )
        .await?;
        actor
            .audit(
                conn,
                now,
                "chip_lock_released",
                &number,
                serde_json::json!({ "operation": op.id, "ctc": ctc, "terminal": lock }),
            )
            .await?;
        AppResult::Ok(op)
    })?;
    tracing::warn!(card = %number, ctc, "released a grey lock without a fill on the host");
    Ok(Some(Settlement {
        kind: "lock".into(),
        id: op.id,
        outcome: "released".into(),
        amount: Money::ZERO,
    }))
}
