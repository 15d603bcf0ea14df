//! Where new customers come from: conversion per channel in a month, and
//! per flyer batch over its life — handed out, cards opened, customers
//! activated (the source's 600 flyers → 3 cards). Read from the card
//! openings, which the counter writes as it opens cards.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::periods::Span;
use super::targets::Covering;
use crate::db::Conn;
use crate::error::{AppError, AppResult};

/// A channel's month.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChannelLine {
    /// `flyer`, `stand`, `referral`, `in_station`, `partner` or `visit`.
    pub channel: String,
    /// Cards that brought a new customer.
    pub opened: i64,
    /// Of those, refuelled within the activation window.
    pub activated: i64,
}

/// A flyer batch over its life.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FlyerLine {
    pub batch: String,
    pub station: String,
    pub handed_out: i64,
    pub opened: i64,
    pub activated: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Conversion {
    pub month: String,
    pub activation_days: i64,
    pub channels: Vec<ChannelLine>,
    pub flyers: Vec<FlyerLine>,
}

/// A flyer batch as a request registers it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlyerBatch {
    /// The code printed on the flyers, which the counter enters as the
    /// channel's `ref`.
    #[schema(example = "FLY-2026-11-A")]
    pub code: String,
    /// The station handing them out (the caller's own when absent).
    #[serde(default)]
    pub station: Option<String>,
    pub handed_out: u32,
}

/// Registers a flyer batch at a station.
pub async fn add_flyers(
    conn: &mut Conn,
    code: &str,
    station_id: i64,
    handed_out: u32,
    now: i64,
) -> AppResult<()> {
    let code = crate::text::required("code", code, 40)?;
    if code.contains(char::is_whitespace) {
        return Err(AppError::invalid(
            "code",
            "code: no spaces (it is typed at the counter)",
        ));
    }
    sqlx::query(
        "INSERT INTO flyer_batches (code, station_id, handed_out, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(code)
    .bind(station_id)
    .bind(i64::from(handed_out))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The conversion of the part of the network covered.
pub async fn conversion(
    conn: &mut Conn,
    month: &str,
    span: &Span,
    covering: Covering<'_>,
) -> AppResult<Conversion> {
    let (station, district) = match covering {
        Covering::All => (None, None),
        Covering::District(d) => (None, Some(d)),
        Covering::Station(s) => (Some(s), None),
    };
    let window = span.window_us();
    let rows = sqlx::query(
        "SELECT o.channel, COUNT(*) AS opened, \
           SUM(CASE WHEN o.first_sale_at IS NOT NULL AND o.first_sale_at - o.opened_at <= $3 \
               THEN 1 ELSE 0 END) AS activated \
         FROM card_openings o JOIN stations s ON s.id = o.station_id \
         WHERE o.opened_at >= $1 AND o.opened_at < $2 AND o.customer_kind IS NOT NULL \
           AND ($4 IS NULL OR o.station_id = $4) AND ($5 IS NULL OR s.district = $5) \
         GROUP BY o.channel ORDER BY o.channel",
    )
    .bind(span.from)
    .bind(span.to)
    .bind(window)
    .bind(station)
    .bind(district)
    .fetch_all(&mut *conn)
    .await?;
    let channels = rows
        .iter()
        .map(|r| {
            Ok(ChannelLine {
                channel: r.try_get("channel")?,
                opened: r.try_get("opened")?,
                activated: r.try_get("activated")?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let rows = sqlx::query(
        "SELECT f.code, s.code AS station, f.handed_out, \
           (SELECT COUNT(*) FROM card_openings o WHERE o.channel = 'flyer' \
              AND o.channel_ref = f.code AND o.customer_kind IS NOT NULL) AS opened, \
           (SELECT COUNT(*) FROM card_openings o WHERE o.channel = 'flyer' \
              AND o.channel_ref = f.code AND o.customer_kind IS NOT NULL \
              AND o.first_sale_at IS NOT NULL AND o.first_sale_at - o.opened_at <= $1) \
             AS activated \
         FROM flyer_batches f JOIN stations s ON s.id = f.station_id \
         WHERE ($2 IS NULL OR f.station_id = $2) AND ($3 IS NULL OR s.district = $3) \
         ORDER BY f.code",
    )
    .bind(window)
    .bind(station)
    .bind(district)
    .fetch_all(&mut *conn)
    .await?;
    let mut flyers = BTreeMap::new();
    for r in rows {
        let batch: String = r.try_get("code")?;
        flyers.insert(
            batch.clone(),
            FlyerLine {
                batch,
                station: r.try_get("station")?,
                handed_out: r.try_get("handed_out")?,
                opened: r.try_get("opened")?,
                activated: r.try_get("activated")?,
            },
        );
    }
    Ok(Conversion {
        month: month.to_string(),
        activation_days: span.activation_days,
        channels,
        flyers: flyers.into_values().collect(),
    })
}
