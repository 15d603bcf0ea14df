//! Fuel products and their price history. A price is never edited: a new
//! row takes effect from its moment, so every sale is priced as of its time.

use serde::Serialize;
use sqlx::Row;

use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::money::Money;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Product {
    pub id: i64,
    pub code: String,
    pub name: String,
}

/// The price in force at one moment.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct Price {
    #[schema(value_type = String, example = "7.68")]
    pub unit_price: Money,
    #[schema(value_type = String, example = "0.20")]
    pub card_discount_per_litre: Money,
    #[serde(skip)]
    pub effective_from: i64,
}

pub async fn find(conn: &mut Conn, code: &str) -> AppResult<Product> {
    let row = sqlx::query("SELECT id, code, name FROM products WHERE code = $1")
        .bind(code)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::new(Code::ProductNotFound, format!("no product {code:?}")))?;
    Ok(Product {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
    })
}

pub async fn list(conn: &mut Conn, now: i64) -> AppResult<Vec<(Product, Option<Price>)>> {
    let rows = sqlx::query("SELECT id, code, name FROM products ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let p = Product {
            id: row.try_get("id")?,
            code: row.try_get("code")?,
            name: row.try_get("name")?,
        };
        let price = price_at(conn, p.id, now).await?;
        out.push((p, price));
    }
    Ok(out)
}

pub async fn price_at(conn: &mut Conn, product_id: i64, at: i64) -> AppResult<Option<Price>> {
    let row = sqlx::query(
        "SELECT unit_price_fen, card_discount_fen_per_litre, effective_from FROM product_prices \
         WHERE product_id = $1 AND effective_from <= $2 \
         ORDER BY effective_from DESC, id DESC LIMIT 1",
    )
    .bind(product_id)
    .bind(at)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(Price {
            unit_price: Money::from_fen(r.try_get("unit_price_fen")?),
            card_discount_per_litre: Money::from_fen(r.try_get("card_discount_fen_per_litre")?),
            effective_from: r.try_get("effective_from")?,
        })
    })
    .transpose()
}

/// A product's prices, the latest to take effect first: those in force
/// before, the one in force now and those set for later.
pub async fn prices(conn: &mut Conn, product_id: i64, limit: i64) -> AppResult<Vec<Price>> {
    let rows = sqlx::query(
        "SELECT unit_price_fen, card_discount_fen_per_litre, effective_from FROM product_prices \
         WHERE product_id = $1 ORDER BY effective_from DESC, id DESC LIMIT $2",
    )
    .bind(product_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Price {
                unit_price: Money::from_fen(r.try_get("unit_price_fen")?),
                card_discount_per_litre: Money::from_fen(r.try_get("card_discount_fen_per_litre")?),
                effective_from: r.try_get("effective_from")?,
            })
        })
        .collect()
}

pub async fn set_price(
    conn: &mut Conn,
    product: &Product,
    price: Price,
    user_id: i64,
    now: i64,
) -> AppResult<()> {
    if price.card_discount_per_litre >= price.unit_price {
        return Err(AppError::new(
            Code::ValidationFailed,
            "the card discount per litre must be below the unit price",
        ));
    }
    sqlx::query(
        "INSERT INTO product_prices (product_id, unit_price_fen, card_discount_fen_per_litre, \
         effective_from, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(product.id)
    .bind(price.unit_price.fen())
    .bind(price.card_discount_per_litre.fen())
    .bind(price.effective_from)
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
