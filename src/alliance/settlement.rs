//! The monthly settlement with a merchant: who owes whom for the benefits
//! delivered in a month.
//!
//! Whoever delivers a benefit pays for it at the time — the merchant washes
//! the car, a station's counter hands over a gift — and is owed the other
//! party's share of its value ([`super::offers::Funding`]). So for each
//! redemption at the merchant the station that granted it owes the
//! merchant the station-funded share, and for each gift handed over at a
//! station the merchant owes that station the merchant-funded share.
//!
//! Settling a month (once it is over) takes the month's redemptions into
//! the settlement by one conditional update, so a redemption is settled
//! once and a reversal racing it either lands before (and is left out) or
//! is refused. The totals are booked on the ledger between the stations'
//! alliance accounts and the merchant's partner account, once: settling
//! again answers the settlement on file.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::merchants;
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::ledger::{self, AccountKind, Movement, Operation};
use crate::money::Money;

/// Who delivered the benefits of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivered {
    Merchant,
    Station,
}

/// One offer's redemptions funded by (or delivered at) one station.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SettlementLine {
    pub offer: String,
    /// The station that owes (it granted the benefits) or is owed (it
    /// handed them over); none for benefits granted at no station.
    pub station: Option<String>,
    pub delivered: Delivered,
    pub redemptions: i64,
    #[schema(value_type = String)]
    pub value: Money,
    #[schema(value_type = String)]
    pub station_owes: Money,
    #[schema(value_type = String)]
    pub merchant_owes: Money,
}

/// A merchant's month: settled, or open with the figures so far.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Settlement {
    pub merchant: String,
    pub month: String,
    /// `open` or `settled`.
    pub status: String,
    pub redemptions: i64,
    #[schema(value_type = String)]
    pub value: Money,
    /// What the stations owe the merchant.
    #[schema(value_type = String)]
    pub station_owes: Money,
    /// What the merchant owes the stations.
    #[schema(value_type = String)]
    pub merchant_owes: Money,
    pub settled_at: Option<String>,
    pub settled_by: Option<String>,
    pub lines: Vec<SettlementLine>,
}

/// The merchant's partner account on the ledger: a positive balance is
/// what the network owes it.
pub fn partner_account(merchant: &str) -> String {
    format!("partner:{merchant}")
}

/// A station's alliance account: its share of the benefits' cost (and what
/// merchants paid it for gifts it handed over).
pub fn alliance_account(station: Option<&str>) -> String {
    format!("alliance:{}", station.unwrap_or("network"))
}

async fn lines(
    conn: &mut Conn,
    filter: &str,
    a: i64,
    month: &str,
) -> AppResult<Vec<SettlementLine>> {
    let rows = sqlx::query(&format!(
        "SELECT o.code AS offer, COALESCE(rs.code, gs.code) AS station, \
           CASE WHEN r.station_id IS NULL THEN 'merchant' ELSE 'station' END AS delivered, \
           COUNT(*) AS n, CAST(SUM(r.value_fen) AS BIGINT) AS value, \
           CAST(SUM(r.station_fen) AS BIGINT) AS station_fen \
         FROM redemptions r JOIN benefits b ON b.id = r.benefit_id \
           JOIN offers o ON o.id = b.offer_id \
           LEFT JOIN stations rs ON rs.id = r.station_id \
           LEFT JOIN stations gs ON gs.id = b.station_id \
         WHERE {filter} \
         GROUP BY o.code, COALESCE(rs.code, gs.code), \
           CASE WHEN r.station_id IS NULL THEN 'merchant' ELSE 'station' END \
         ORDER BY 1, 2, 3"
    ))
    .bind(a)
    .bind(month)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let value: i64 = r.try_get("value")?;
            let station_fen: i64 = r.try_get("station_fen")?;
            let at_station = r.try_get::<String, _>("delivered")? == "station";
            Ok(SettlementLine {
                offer: r.try_get("offer")?,
                station: r.try_get("station")?,
                delivered: if at_station {
                    Delivered::Station
                } else {
                    Delivered::Merchant
                },
                redemptions: r.try_get("n")?,
                value: Money::from_fen(value),
                station_owes: Money::from_fen(if at_station { 0 } else { station_fen }),
                merchant_owes: Money::from_fen(if at_station { value - station_fen } else { 0 }),
            })
        })
        .collect()
}

fn statement(merchant: &str, month: &str, lines: Vec<SettlementLine>) -> Settlement {
    let sum = |f: fn(&SettlementLine) -> i64| Money::from_fen(lines.iter().map(f).sum());
    Settlement {
        merchant: merchant.to_string(),
        month: month.to_string(),
        status: "open".into(),
        redemptions: lines.iter().map(|l| l.redemptions).sum(),
        value: sum(|l| l.value.fen()),
        station_owes: sum(|l| l.station_owes.fen()),
        merchant_owes: sum(|l| l.merchant_owes.fen()),
        settled_at: None,
        settled_by: None,
        lines,
    }
}

/// The month as it stands: settled, or open with its redemptions so far.
pub async fn read(conn: &mut Conn, m: &merchants::Stored, month: &str) -> AppResult<Settlement> {
    crate::fleet::allocation::parse_month(month)?;
    let settled = sqlx::query(
        "SELECT s.id, s.settled_at, u.username FROM settlements s \
         LEFT JOIN users u ON u.id = s.settled_by WHERE s.merchant_id = $1 AND s.month = $2",
    )
    .bind(m.id)
    .bind(month)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = settled {
        let id: i64 = row.try_get("id")?;
        let l = lines(conn, "r.settlement_id = $1 AND r.period = $2", id, month).await?;
        return Ok(Settlement {
            status: "settled".into(),
            settled_at: Some(crate::time::format_us(row.try_get("settled_at")?)),
            settled_by: row.try_get("username")?,
            ..statement(&m.merchant.code, month, l)
        });
    }
    let l = lines(
        conn,
        "r.merchant_id = $1 AND r.period = $2 AND r.reversed_at IS NULL",
        m.id,
        month,
    )
    .await?;
    Ok(statement(&m.merchant.code, month, l))
}

/// Settles a month that is over; settling it again changes nothing and
/// answers the settlement on file.
pub async fn settle(
    conn: &mut Conn,
    m: &merchants::Stored,
    month: &str,
    user_id: Option<i64>,
    now: i64,
    tz: Tz,
) -> AppResult<Settlement> {
    crate::fleet::allocation::parse_month(month)?;
    let (_, current, _) = crate::fleet::local_periods(now, tz);
    if month >= current.as_str() {
        return Err(AppError::new(
            Code::MonthNotOver,
            format!("{month} is not over yet: a month is settled from the 1st of the next"),
        ));
    }
    let created = sqlx::query(
        "INSERT INTO settlements (merchant_id, month, redemptions, value_fen, station_owes_fen, \
         merchant_owes_fen, settled_by, settled_at) VALUES ($1, $2, 0, 0, 0, 0, $3, $4) \
         ON CONFLICT (merchant_id, month) DO NOTHING RETURNING id",
    )
    .bind(m.id)
    .bind(month)
    .bind(user_id)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = created else {
        return read(conn, m, month).await;
    };
    let id: i64 = row.try_get("id")?;
    sqlx::query(
        "UPDATE redemptions SET settlement_id = $1 WHERE merchant_id = $2 AND period = $3 \
         AND reversed_at IS NULL AND settlement_id IS NULL",
    )
    .bind(id)
    .bind(m.id)
    .bind(month)
    .execute(&mut *conn)
    .await?;
    let s = read(conn, m, month).await?;
    let op = ledger::record_operation(
        conn,
        Operation {
            at: now,
            kind: "alliance_settlement",
            card_id: None,
            station_id: None,
            shift_id: None,
            user_id,
            detail: serde_json::json!({"merchant": m.merchant.code, "month": month}),
        },
    )
    .await?;
    let partner = ledger::system_account(
        conn,
        AccountKind::Partner,
        &partner_account(&m.merchant.code),
        now,
    )
    .await?;
    for l in &s.lines {
        let name = alliance_account(l.station.as_deref());
        let station = ledger::system_account(conn, AccountKind::Alliance, &name, now).await?;
        let (debit, credit, amount) = if l.station_owes.is_positive() {
            (station, partner, l.station_owes)
        } else {
            (partner, station, l.merchant_owes)
        };
        if amount.is_positive() {
            ledger::post(
                conn,
                op,
                Movement {
                    debit,
                    credit,
                    amount,
                    bonus: Money::ZERO,
                },
            )
            .await?;
        }
    }
    sqlx::query(
        "UPDATE settlements SET redemptions = $2, value_fen = $3, station_owes_fen = $4, \
         merchant_owes_fen = $5, operation_id = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(s.redemptions)
    .bind(s.value.fen())
    .bind(s.station_owes.fen())
    .bind(s.merchant_owes.fen())
    .bind(op.id)
    .execute(&mut *conn)
    .await?;
    crate::audit::record(
        conn,
        now,
        user_id,
        "merchant_settle",
        &m.merchant.code,
        serde_json::json!({
            "month": month, "redemptions": s.redemptions, "value": s.value,
            "station_owes": s.station_owes, "merchant_owes": s.merchant_owes,
        }),
    )
    .await?;
    Ok(s)
}

/// The statement as CSV: one row per line, then the totals.
pub fn csv(s: &Settlement) -> AppResult<String> {
    let rows = s
        .lines
        .iter()
        .map(|l| {
            vec![
                l.offer.clone(),
                l.station.clone().unwrap_or_default(),
                match l.delivered {
                    Delivered::Merchant => "merchant".into(),
                    Delivered::Station => "station".into(),
                },
                l.redemptions.to_string(),
                l.value.to_string(),
                l.station_owes.to_string(),
                l.merchant_owes.to_string(),
            ]
        })
        .chain(std::iter::once(vec![
            "total".into(),
            String::new(),
            String::new(),
            s.redemptions.to_string(),
            s.value.to_string(),
            s.station_owes.to_string(),
            s.merchant_owes.to_string(),
        ]));
    crate::csv_io::table(
        &[
            "offer",
            "station",
            "delivered",
            "redemptions",
            "value",
            "station_owes",
            "merchant_owes",
        ],
        rows,
    )
}
