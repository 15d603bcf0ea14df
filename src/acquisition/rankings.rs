//! The leaderboard (客户开发英雄榜) of stations and of staff over a week, a
//! month or a quarter, and the wins feed that celebrates each new company
//! customer and each large first recharge. Both read the same card openings
//! as the tracking table, so a station's place agrees with its line there.
//!
//! The ranking rule, as the page writes it: more activated new customers
//! first; then the larger first-recharge amount; then more card litres
//! (stations only); then the station code or the username, alphabetically,
//! so no two share a place.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::periods::Span;
use crate::db::Conn;
use crate::error::AppResult;
use crate::money::{Litres, Money};

/// The ranking rule, in words, for the page and the API.
pub const RULE: &str = "activated new customers, then first-recharge amount, then card litres \
    (stations), then code or username alphabetically";

/// One place on the board.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Place {
    pub rank: usize,
    /// The station's code, or the staff member's username.
    pub who: String,
    /// The station's name, or the staff member's station code.
    pub detail: String,
    pub new_customers: i64,
    #[schema(value_type = String)]
    pub first_recharge_amount: Money,
    /// Stations only; zero for staff (litres are the station's).
    #[schema(value_type = String)]
    pub card_litres: Litres,
}

/// The order of the board: best first.
pub fn better(a: &Place, b: &Place) -> Ordering {
    b.new_customers
        .cmp(&a.new_customers)
        .then(b.first_recharge_amount.cmp(&a.first_recharge_amount))
        .then(b.card_litres.cmp(&a.card_litres))
        .then(a.who.cmp(&b.who))
}

/// Sorts by the rule and numbers the places.
pub fn ranked(mut places: Vec<Place>) -> Vec<Place> {
    places.sort_by(better);
    for (i, p) in places.iter_mut().enumerate() {
        p.rank = i + 1;
    }
    places
}

/// Every station's place over the span.
pub async fn stations(conn: &mut Conn, span: &Span) -> AppResult<Vec<Place>> {
    let actuals = super::targets::actuals(conn, span).await?;
    let places = crate::stations::list(conn)
        .await?
        .into_iter()
        .map(|s| {
            let f = actuals.get(&s.id).copied().unwrap_or_default();
            Place {
                rank: 0,
                who: s.code,
                detail: s.name,
                new_customers: f.new_personal + f.new_company,
                first_recharge_amount: f.first_recharge_amount,
                card_litres: f.card_litres,
            }
        })
        .collect();
    Ok(ranked(places))
}

/// The staff who opened activated new customers' cards over the span.
pub async fn staff(conn: &mut Conn, span: &Span) -> AppResult<Vec<Place>> {
    let rows = sqlx::query(
        "SELECT u.username, COALESCE(s.code, '') AS station, COUNT(*) AS customers, \
           CAST(SUM(COALESCE(o.first_recharge_fen, 0)) AS BIGINT) AS first_recharge \
         FROM card_openings o JOIN users u ON u.id = o.user_id \
         LEFT JOIN stations s ON s.id = u.station_id \
         WHERE o.opened_at >= $1 AND o.opened_at < $2 AND o.customer_kind IS NOT NULL \
           AND o.first_sale_at IS NOT NULL AND o.first_sale_at - o.opened_at <= $3 \
         GROUP BY u.username, s.code",
    )
    .bind(span.from)
    .bind(span.to)
    .bind(span.window_us())
    .fetch_all(&mut *conn)
    .await?;
    let places = rows
        .iter()
        .map(|r| {
            Ok(Place {
                rank: 0,
                who: r.try_get("username")?,
                detail: r.try_get("station")?,
                new_customers: r.try_get("customers")?,
                first_recharge_amount: Money::from_fen(r.try_get("first_recharge")?),
                card_litres: Litres::from_cl(0),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(ranked(places))
}

/// A first recharge at or above this is announced (yuan).
pub const WIN_THRESHOLD_FEN: i64 = 100_000;

/// The bands an announced amount is shown in, in fen: the exact amount is
/// the customer's business.
const BANDS_FEN: [i64; 6] = [100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000];

/// The band of an amount, e.g. `"5000–9999"` yuan, or `"50000+"`.
pub fn band(fen: i64) -> Option<String> {
    let i = BANDS_FEN.iter().rposition(|b| fen >= *b)?;
    Some(match BANDS_FEN.get(i + 1) {
        Some(next) => format!("{}–{}", BANDS_FEN[i] / 100, next / 100 - 1),
        None => format!("{}+", BANDS_FEN[i] / 100),
    })
}

/// An announcement for the staff's home page.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Announcement {
    /// When the card was opened (RFC 3339).
    pub at: String,
    pub station: String,
    pub station_name: String,
    pub district: String,
    /// Who opened the card.
    pub staff: Option<String>,
    /// `company` (a new company customer) or `first_recharge` (a large
    /// first recharge).
    pub kind: String,
    /// The first recharge's band in yuan (`"5000–9999"`), when there was one
    /// at or above the threshold.
    pub amount_band: Option<String>,
}

/// The wins since an instant, the latest first (at most 100).
pub async fn wins(conn: &mut Conn, since: i64) -> AppResult<Vec<Announcement>> {
    let rows = sqlx::query(
        "SELECT o.opened_at, o.customer_kind, o.first_recharge_fen, s.code, s.name, s.district, \
           u.username \
         FROM card_openings o JOIN stations s ON s.id = o.station_id \
         LEFT JOIN users u ON u.id = o.user_id \
         WHERE o.opened_at >= $1 AND o.customer_kind IS NOT NULL \
           AND (o.customer_kind = 'company' OR o.first_recharge_fen >= $2) \
         ORDER BY o.opened_at DESC LIMIT 100",
    )
    .bind(since)
    .bind(WIN_THRESHOLD_FEN)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get("customer_kind")?;
            let first: Option<i64> = r.try_get("first_recharge_fen")?;
            Ok(Announcement {
                at: crate::time::format_us(r.try_get("opened_at")?),
                station: r.try_get("code")?,
                station_name: r.try_get("name")?,
                district: r.try_get("district")?,
                staff: r.try_get("username")?,
                kind: if kind == "company" {
                    "company".into()
                } else {
                    "first_recharge".into()
                },
                amount_band: first.and_then(band),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(who: &str, customers: i64, fen: i64, cl: i64) -> Place {
        Place {
            rank: 0,
            who: who.into(),
            detail: String::new(),
            new_customers: customers,
            first_recharge_amount: Money::from_fen(fen),
            card_litres: Litres::from_cl(cl),
        }
    }

    #[test]
    fn ties_are_broken_by_the_written_rule() {
        let board = ranked(vec![
            place("S4", 2, 100, 0),
            place("S2", 3, 100, 0),
            place("S3", 2, 100, 500),
            place("S1", 2, 100, 500),
            place("S5", 2, 900, 0),
        ]);
        let order: Vec<(usize, &str)> = board.iter().map(|p| (p.rank, p.who.as_str())).collect();
        assert_eq!(
            order,
            vec![(1, "S2"), (2, "S5"), (3, "S1"), (4, "S3"), (5, "S4")]
        );
    }

    #[test]
    fn amounts_are_announced_in_bands() {
        assert_eq!(band(99_999), None);
        assert_eq!(band(100_000).as_deref(), Some("1000–1999"));
        assert_eq!(band(750_000).as_deref(), Some("5000–9999"));
        assert_eq!(band(1_000_000).as_deref(), Some("10000–19999"));
        assert_eq!(band(9_000_000).as_deref(), Some("50000+"));
    }
}
