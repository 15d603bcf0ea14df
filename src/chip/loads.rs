//! Loading value onto the chip (圈存): the amount leaves the card's host
//! account for its chip account exactly when the chip proves the credit.
//!
//! 1. INITIALIZE FOR LOAD; the card's MAC1 is verified and MAC2 made.
//! 2. The host reserves the amount on the card account (a hold that never
//!    expires by itself) and writes the load down as pending, with every
//!    public value needed to check the card's TAC later. Committed.
//! 3. CREDIT FOR LOAD; the TAC is verified and the hold captured into the
//!    chip account.
//!
//! A card refusing CREDIT (a wrong MAC2: `9302`) credited nothing, so the
//! hold is voided. A card pulled after step 2 leaves the load pending; the
//! next read of the card settles it with GET TRANSACTION PROVE (see
//! [`settle_pending`]): a TAC that verifies completes it, "no such
//! transaction" reverses it — the card's INITIALIZE session died with the
//! power, so it can never credit later.

use axum::http::StatusCode;
use fuelcard_reader::keys::{LoadContext, Stamp, txn_type};
use fuelcard_reader::purse::data::PublicData;
use fuelcard_reader::purse::{KEY_INDEX, Purse, PurseError, flows};
use serde::Serialize;
use sqlx::Row;

use super::read::Settlement;
use super::{Desk, Host, chip_account, refused, stamp_at, stamp_parse, stamp_text, unhex};
use crate::cards::{self, CardNumber};
use crate::error::{AppError, AppResult, Code};
use crate::ledger::{self, holds, idempotency, idempotency::Claim};
use crate::money::Money;

/// A load onto the chip, as answered and as replayed.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Loaded {
    pub id: i64,
    pub card_number: String,
    #[schema(value_type = String, example = "100.00")]
    pub amount: Money,
    /// The chip's balance after the load.
    #[schema(value_type = String, example = "100.00")]
    pub chip_balance: Money,
    /// What the card can still spend on the host after the load.
    #[schema(value_type = String, example = "900.00")]
    pub host_balance: Money,
    /// The card's transaction certificate, hex.
    pub tac: String,
}

/// What a load request asks.
pub struct LoadRequest {
    pub number: CardNumber,
    pub amount: Money,
    pub key: crate::actions::Keyed,
    pub station_id: Option<i64>,
}

/// The load as the host wrote it down before CREDIT.
struct Pending {
    id: i64,
    card_id: i64,
    card_number: String,
    hold_id: i64,
    key: String,
    context: LoadContext,
    stamp: Stamp,
}

/// Loads value onto the card in the slot (on a chip thread). Returns the
/// HTTP status and JSON body, also for a replay.
pub fn load(
    host: &Host<'_>,
    desk: &Desk,
    transport: &mut dyn fuelcard_reader::transport::Transport,
    req: &LoadRequest,
) -> AppResult<(StatusCode, String)> {
    let now = host.now;
    let amount_fen = u32::try_from(req.amount.fen())
        .ok()
        .filter(|a| *a > 0)
        .ok_or_else(|| AppError::new(Code::InvalidAmount, "a load is 0.01 to 42,949,672.95"))?;
    let earlier = host.handle.block_on(async {
        let mut conn = host.db.pool().acquire().await?;
        idempotency::earlier(&mut conn, &req.key.key, host.actor.user_id, &req.key.hash).await
    })?;
    if let Some(Claim::Replay { status, body }) = earlier {
        return Ok((status, body));
    }
    let mut opened = super::open(transport, desk, Some(&req.number))?;
    super::read::settle(host, desk, &mut opened.purse, &opened.public)?;
    let init = opened
        .purse
        .init_load(KEY_INDEX, amount_fen, desk.terminal)
        .map_err(refused)?;
    let context = LoadContext {
        asn8: opened.public.asn8(),
        key_version: init.key_version,
        random: init.random,
        online_ttc: init.online_ttc,
        balance_fen: init.balance_fen,
        amount_fen,
        txn_type: txn_type::ED_LOAD,
        terminal: desk.terminal,
    };
    let stamp = stamp_at(now, host.tz)?;
    // MAC1 wrong: the card is not ours; nothing has been written.
    let mac2 = desk
        .keys
        .load_mac2(&context, init.mac1, stamp)
        .map_err(|e| refused(e.into()))?;
    let pending = write_pending(host, desk, req, &context, stamp)?;
    match opened.purse.credit_load(stamp, mac2) {
        Ok(tac) => match desk.keys.verify_load_tac(&context, stamp, tac) {
            Ok(()) => {
                let loaded = complete(host, &pending, tac)?;
                let body = serde_json::to_string(&loaded)
                    .map_err(|e| AppError::internal("encoding a load", e))?;
                Ok((StatusCode::CREATED, body))
            }
            // The card says it credited, with a TAC the host cannot
            // verify: the load stays pending (money held, not moved) for
            // the office, and the next read tries the card's proof again.
            Err(e) => Err(refused(e.into()).with("load", pending.id)),
        },
        Err(e) if super::outcome_unknown(&e) => Err(AppError::new(
            Code::ChipPending,
            "the card was taken out before the load finished: put it back and read it; \
             the load then completes or is undone",
        )
        .with("load", pending.id)),
        Err(e) => {
            reverse(host, &pending)?;
            Err(refused(e))
        }
    }
}

fn write_pending(
    host: &Host<'_>,
    desk: &Desk,
    req: &LoadRequest,
    context: &LoadContext,
    stamp: Stamp,
) -> AppResult<Pending> {
    let now = host.now;
    let number = req.number.clone();
    let (key, hash) = (&req.key.key, &req.key.hash);
    let user_id = host.actor.user_id;
    let station_id = req.station_id;
    let amount = req.amount;
    let context = *context;
    let terminal = desk.terminal_hex();
    host.in_tx(async |conn| {
        match idempotency::claim(conn, key, user_id, hash, now).await? {
            Claim::Fresh => {}
            Claim::Replay { .. } => {
                return Err(AppError::new(
                    Code::IdempotencyKeyInFlight,
                    "this load was answered meanwhile; send it again to see the answer",
                ));
            }
        }
        let card = cards::find_for_update(conn, &number).await?;
        card.ensure_can_spend()?;
        card.ensure_buys_fuel()?;
        let hold = holds::place(
            conn,
            &holds::NewHold {
                card_id: card.id,
                account_id: card.account_id,
                station_id,
                amount,
                expires_at: super::NEVER,
                reference: Some("chip load"),
            },
            now,
        )
        .await?;
        let row = sqlx::query(
            "INSERT INTO chip_loads (card_id, hold_id, station_id, user_id, idempotency_key, \
             amount_fen, terminal, online_ttc, balance_before_fen, key_version, card_random, \
             stamp, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13) \
             RETURNING id",
        )
        .bind(card.id)
        .bind(hold.id)
        .bind(station_id)
        .bind(user_id)
        .bind(key)
        .bind(amount.fen())
        .bind(&terminal)
        .bind(i64::from(context.online_ttc))
        .bind(i64::from(context.balance_fen))
        .bind(i64::from(context.key_version))
        .bind(hex::encode_upper(context.random))
        .bind(stamp_text(stamp))
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        host.actor
            .audit(
                conn,
                now,
                "chip_load_started",
                number.as_str(),
                serde_json::json!({ "amount": amount, "online_ttc": context.online_ttc }),
            )
            .await?;
        Ok(Pending {
            id: row.try_get("id")?,
            card_id: card.id,
            card_number: card.number,
            hold_id: hold.id,
            key: key.clone(),
            context,
            stamp,
        })
    })
}

/// The card proved the credit: the held amount moves to the chip account.
fn complete(host: &Host<'_>, p: &Pending, tac: [u8; 4]) -> AppResult<Loaded> {
    let now = host.now;
    let (id, card_id, hold_id, key) = (p.id, p.card_id, p.hold_id, p.key.clone());
    let number = p.card_number.clone();
    let context = p.context;
    let user_id = host.actor.user_id;
    host.in_tx(async |conn| {
        let chip = chip_account(conn, &number, now).await?;
        let op = ledger::record_operation(
            conn,
            ledger::Operation {
                at: now,
                kind: "chip_load",
                card_id: Some(card_id),
                // The counter that loaded it, for the card's statement.
                station_id: host.actor.station_id,
                shift_id: None,
                user_id: Some(user_id),
                detail: serde_json::json!({ "load": id, "online_ttc": context.online_ttc }),
            },
        )
        .await?;
        let amount = Money::from_fen(i64::from(context.amount_fen));
        let (_, split) = holds::capture(conn, hold_id, amount, op, chip).await?;
        let settled = sqlx::query(
            "UPDATE chip_loads SET status = 'loaded', tac = $1, operation_id = $2, \
             settled_at = $3 WHERE id = $4 AND status = 'pending'",
        )
        .bind(hex::encode_upper(tac))
        .bind(op.id)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
        if settled.rows_affected() != 1 {
            return Err(AppError::new(
                Code::ChipPending,
                "this load was settled by another counter meanwhile",
            ));
        }
        let loaded = Loaded {
            id,
            card_number: number.clone(),
            amount,
            chip_balance: Money::from_fen(
                i64::from(context.balance_fen) + i64::from(context.amount_fen),
            ),
            host_balance: split.available_after,
            tac: hex::encode_upper(tac),
        };
        let body =
            serde_json::to_string(&loaded).map_err(|e| AppError::internal("encoding a load", e))?;
        idempotency::complete(conn, &key, StatusCode::CREATED, &body).await?;
        host.actor
            .audit(
                conn,
                now,
                "chip_loaded",
                &number,
                serde_json::json!({ "load": id, "amount": amount }),
            )
            .await?;
        Ok(loaded)
    })
}

/// The card did not credit: the hold is voided and the key freed, as if
/// the load had never been asked.
fn reverse(host: &Host<'_>, p: &Pending) -> AppResult<()> {
    let now = host.now;
    let (id, hold_id, key, number) = (p.id, p.hold_id, p.key.clone(), p.card_number.clone());
    host.in_tx(async |conn| {
        let undone = sqlx::query(
            "UPDATE chip_loads SET status = 'reversed', settled_at = $1 \
             WHERE id = $2 AND status = 'pending'",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
        if undone.rows_affected() != 1 {
            return Ok(());
        }
        holds::void(conn, hold_id, now).await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE key = $1")
            .bind(&key)
            .execute(&mut *conn)
            .await?;
        host.actor
            .audit(
                conn,
                now,
                "chip_load_reversed",
                &number,
                serde_json::json!({ "load": id }),
            )
            .await?;
        Ok(())
    })
}

/// Settles this card's pending load, if any, by what the card proves.
pub fn settle_pending(
    host: &Host<'_>,
    desk: &Desk,
    purse: &mut Purse<'_>,
    public: &PublicData,
) -> AppResult<Option<Settlement>> {
    let Some(p) = find_pending(host, public)? else {
        return Ok(None);
    };
    let amount = Money::from_fen(i64::from(p.context.amount_fen));
    match flows::confirm_load(purse, &*desk.keys, &p.context, p.stamp) {
        Ok(Some(receipt)) => {
            complete(host, &p, receipt.tac)?;
            Ok(Some(Settlement {
                kind: "load".into(),
                id: p.id,
                outcome: "loaded".into(),
                amount,
            }))
        }
        Ok(None) => {
            reverse(host, &p)?;
            Ok(Some(Settlement {
                kind: "load".into(),
                id: p.id,
                outcome: "reversed".into(),
                amount,
            }))
        }
        Err(e @ PurseError::Key(_)) => Err(refused(e).with("load", p.id)),
        Err(e) => Err(refused(e)),
    }
}

fn find_pending(host: &Host<'_>, public: &PublicData) -> AppResult<Option<Pending>> {
    let asn8 = public.asn8();
    let card_number = public.card_number.as_str();
    host.handle.block_on(async {
        let mut conn = host.db.pool().acquire().await?;
        let row = sqlx::query(
            "SELECT l.id, l.card_id, l.hold_id, l.idempotency_key, l.amount_fen, l.terminal, \
               l.online_ttc, l.balance_before_fen, l.key_version, l.card_random, l.stamp \
             FROM chip_loads l JOIN cards c ON c.id = l.card_id \
             WHERE c.number = $1 AND l.status = 'pending'",
        )
        .bind(card_number)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let narrow = |v: i64, what: &str| -> AppResult<u32> {
            u32::try_from(v).map_err(|e| AppError::internal(what, e))
        };
        let context = LoadContext {
            asn8,
            key_version: u8::try_from(row.try_get::<i64, _>("key_version")?)
                .map_err(|e| AppError::internal("key version", e))?,
            random: unhex("random", &row.try_get::<String, _>("card_random")?)?,
            online_ttc: u16::try_from(row.try_get::<i64, _>("online_ttc")?)
                .map_err(|e| AppError::internal("online ttc", e))?,
            balance_fen: narrow(row.try_get("balance_before_fen")?, "balance")?,
            amount_fen: narrow(row.try_get("amount_fen")?, "amount")?,
            txn_type: txn_type::ED_LOAD,
            terminal: unhex("terminal", &row.try_get::<String, _>("terminal")?)?,
        };
        Ok(Some(Pending {
            id: row.try_get("id")?,
            card_id: row.try_get("card_id")?,
            card_number: card_number.to_string(),
            hold_id: row.try_get("hold_id")?,
            key: row.try_get("idempotency_key")?,
            context,
            stamp: stamp_parse(&row.try_get::<String, _>("stamp")?)?,
        }))
    })
}
