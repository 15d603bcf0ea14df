//! Fuel sale against a card: priced as of the moment of sale, the card's
//! per-litre discount taken off, the charge spent from the card (bonus
//! first) — or, for a credit card, drawn on its company's credit line —
//! into the station's sales account, all in one short transaction.
//!
//! A sale is given either in litres or as an amount. An amount fixes the
//! **gross** amount (what the pump display shows before the card discount,
//! as when a driver asks for "200 yuan of 92#"); the litres are that amount
//! divided by the unit price, rounded half-up to 0.01 L, and the discount is
//! computed on those litres. A sale in litres computes the gross amount as
//! litres × price rounded half-up to the fen.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{CARD_COLUMNS, Card, CardKind, CardNumber, card_from_row, products};
use crate::auth::Actor;
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::fleet;
use crate::ledger::{self, AccountKind, Operation};
use crate::money::{Litres, Money, litres_for, litres_times};
use crate::stations::{self, shifts};

/// Litres or gross amount, exactly one.
#[derive(Debug, Clone, Copy)]
pub enum Quantity {
    Litres(Litres),
    Amount(Money),
}

/// The priced sale, as a pure computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priced {
    pub litres: Litres,
    pub amount: Money,
    pub discount: Money,
    pub charged: Money,
}

pub fn price(q: Quantity, unit_price: Money, discount_per_litre: Money) -> Option<Priced> {
    let (litres, amount) = match q {
        Quantity::Litres(l) => (l, litres_times(l, unit_price)?),
        Quantity::Amount(a) => (litres_for(a, unit_price)?, a),
    };
    let discount = litres_times(litres, discount_per_litre)?.min(amount);
    let charged = amount.checked_sub(discount)?;
    Some(Priced {
        litres,
        amount,
        discount,
        charged,
    })
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Sold {
    pub id: i64,
    pub card_number: String,
    pub product: String,
    pub station: String,
    #[schema(value_type = String, example = "30.00")]
    pub litres: Litres,
    #[schema(value_type = String, example = "7.68")]
    pub unit_price: Money,
    #[schema(value_type = String, example = "230.40")]
    pub amount: Money,
    #[schema(value_type = String, example = "6.00")]
    pub discount: Money,
    #[schema(value_type = String, example = "224.40")]
    pub charged: Money,
    #[schema(value_type = String)]
    pub bonus_used: Money,
    /// Total spendable after the sale (a credit card: what its company's
    /// credit line has left).
    #[schema(value_type = String, example = "795.60")]
    pub balance: Money,
    pub plate: Option<String>,
    pub odometer: Option<i64>,
    /// Fleet controls set to "approve and alert" that this sale breached.
    pub alerts: Vec<String>,
    pub time: String,
    /// Alliance benefits the sale earned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub benefits: Vec<crate::alliance::engine::Granted>,
    /// Offers it met that granted nothing, or granted with a caveat.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<crate::alliance::engine::Notice>,
}

pub struct SaleRequest<'a> {
    pub number: &'a CardNumber,
    pub product: &'a str,
    pub quantity: Quantity,
    /// Resolved by the caller before the write transaction begins
    /// ([`stations::for_counter`]): stations never change, so looking one
    /// up need not hold the write lock.
    pub station: &'a stations::Station,
    pub plate: Option<&'a str>,
    pub odometer: Option<i64>,
}

/// Checks the vehicle details before the card is touched, so a bad request
/// writes nothing (not even a PIN try).
pub fn validate(plate: Option<&str>, odometer: Option<i64>) -> AppResult<()> {
    if let Some(plate) = plate {
        if plate.trim().is_empty() || plate.chars().count() > 16 {
            return Err(AppError::new(
                Code::ValidationFailed,
                "plate: 1–16 characters",
            ));
        }
    }
    if odometer.is_some_and(|km| !(0..=10_000_000).contains(&km)) {
        return Err(AppError::new(
            Code::ValidationFailed,
            "odometer: whole kilometres, 0 to 10,000,000",
        ));
    }
    Ok(())
}

/// What a sale leaves to the last statements of its transaction: the two
/// rows every sale at the station locks — its sales account, credited, and
/// its day's card litres, added to — posted after everything else
/// including the stored answer, so those locks are held only briefly.
#[must_use = "a sale's closing must be posted in the same transaction"]
pub struct Closing {
    debited: ledger::Debited,
    station_id: i64,
    day: chrono::NaiveDate,
    litres: Litres,
    card: Card,
}

impl Closing {
    /// The card sold to and the station's id, for what the sale earns.
    pub fn card_at(&self) -> (&Card, i64) {
        (&self.card, self.station_id)
    }

    pub async fn post(self, conn: &mut Conn) -> AppResult<()> {
        crate::stations::days::add_card_litres(conn, self.station_id, self.day, self.litres)
            .await?;
        self.debited.credit(conn).await.map(|_| ())
    }
}

/// Sells fuel: the card is debited and the sale recorded; the [`Closing`]
/// is the caller's to post last, in the same transaction.
pub async fn sell(
    conn: &mut Conn,
    actor: &Actor,
    req: &SaleRequest<'_>,
    tz: chrono_tz::Tz,
    now: i64,
) -> AppResult<(Sold, Closing)> {
    let station = req.station;
    let sales_account_name = format!("sales:{}", station.code);
    let ctx = context(
        conn,
        req.number,
        req.product,
        station,
        actor.user_id,
        &sales_account_name,
        now,
    )
    .await?;
    let card = &ctx.card;
    card.ensure_can_spend()?;
    card.ensure_buys_fuel()?;
    let product = ctx.product.ok_or_else(|| {
        AppError::new(
            Code::ProductNotFound,
            format!("no product {:?}", req.product),
        )
    })?;
    let vehicle = if card.kind == CardKind::Fleet {
        fleet::vehicles::for_card(conn, card.id).await?
    } else {
        None
    };
    // A retired vehicle's card buys no more fuel.
    if let Some(v) = vehicle.as_ref().filter(|v| !v.active) {
        return Err(fleet::vehicles::retired(&v.plate));
    }
    // A fleet card of a registered vehicle is checked by the vehicle's
    // limits below; any other card bound to a plate refuses other plates,
    // and a fleet card's sale must name one.
    if let (None, Some(bound)) = (&vehicle, &card.plate) {
        match req.plate {
            Some(given) if *bound != crate::fleet::vehicles::normalise_plate(given) => {
                return Err(AppError::new(
                    Code::PlateMismatch,
                    format!("card {} is bound to vehicle {bound}", card.number),
                ));
            }
            None if card.kind == CardKind::Fleet => {
                return Err(AppError::new(
                    Code::PlateRequired,
                    format!(
                        "card {} is a fleet card: give its vehicle's plate",
                        card.number
                    ),
                )
                .with("field", "plate"));
            }
            _ => {}
        }
    }
    let price_now = ctx.price.ok_or_else(|| {
        AppError::new(
            Code::PriceNotSet,
            format!("no price is set for {}", product.name),
        )
    })?;
    let priced = price(
        req.quantity,
        price_now.unit_price,
        price_now.card_discount_per_litre,
    )
    .filter(|p| p.charged.is_positive() && p.litres.cl() > 0)
    .ok_or_else(|| AppError::new(Code::ValidationFailed, "the sale is too small to price"))?;
    // A credit card draws on its company's line: locked here, its closed
    // months issued, refused while a statement is overdue. Other cards
    // pay no query for it.
    let line = match (card.credit, card.customer_id) {
        (false, _) => None,
        (true, Some(company)) => {
            Some(crate::credit::lines::for_sale(conn, company, now, tz).await?)
        }
        (true, None) => return Err(AppError::internal("credit card", "without a company")),
    };
    let shift_id = match ctx.shift_id {
        Some(id) => id,
        None => shifts::ensure_open(conn, station.id, actor.user_id, now).await?,
    };
    let cleared = match &vehicle {
        Some(v) => Some(
            fleet::clear(
                conn,
                v,
                &fleet::Pending {
                    plate: req.plate,
                    product: &product.code,
                    litres: priced.litres,
                    charged: priced.charged,
                    station: &station.code,
                    odometer_km: req.odometer,
                    at_us: now,
                },
                tz,
            )
            .await?,
        ),
        None => None,
    };
    // The vehicle's counters are written before the money moves, so the
    // station's sales account (the hot row) is held as briefly as possible.
    if let Some(c) = &cleared {
        fleet::usage::record(
            conn,
            c.vehicle_id,
            [&c.day, &c.month],
            priced.litres,
            priced.charged,
            req.odometer,
        )
        .await?;
    }
    let op = ledger::record_operation(
        conn,
        Operation {
            at: now,
            kind: "sale",
            card_id: Some(card.id),
            station_id: Some(station.id),
            shift_id: Some(shift_id),
            user_id: Some(actor.user_id),
            detail: serde_json::json!({ "product": product.code, "litres": priced.litres }),
        },
    )
    .await?;
    let sales_account = match ctx.sales_account {
        Some(id) => id,
        None => ledger::system_account(conn, AccountKind::Sales, &sales_account_name, now).await?,
    };
    // The card (or its company's line) is debited now; the station's
    // sales account is credited by the caller, last.
    let debited = match &line {
        Some(line) => {
            ledger::draw_on_credit(conn, op, line.account_id, sales_account, priced.charged).await?
        }
        None => {
            ledger::spend_debit(
                conn,
                op,
                card.account_id,
                sales_account,
                priced.charged,
                Some(ctx.balances),
            )
            .await?
        }
    };
    let split = debited.split;
    let plate = req.plate.map(crate::fleet::vehicles::normalise_plate);
    let row = sqlx::query(
        "INSERT INTO sales (operation_id, card_id, product_id, station_id, shift_id, litres_cl, \
         unit_price_fen, amount_fen, discount_fen, charged_fen, bonus_used_fen, plate, \
         odometer_km, vehicle_id, alerts, loan_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
    )
    .bind(op.id)
    .bind(card.id)
    .bind(product.id)
    .bind(station.id)
    .bind(shift_id)
    .bind(priced.litres.cl())
    .bind(price_now.unit_price.fen())
    .bind(priced.amount.fen())
    .bind(priced.discount.fen())
    .bind(priced.charged.fen())
    .bind(split.bonus.fen())
    .bind(plate.as_deref())
    .bind(req.odometer)
    .bind(cleared.as_ref().map(|c| c.vehicle_id))
    .bind(alerts_json(cleared.as_ref())?)
    .bind(cleared.as_ref().and_then(|c| c.loan_id))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = row.try_get("id")?;
    super::openings::note_sale(conn, card, now).await?;
    if let Some(c) = &cleared {
        for o in &c.overrides_used {
            fleet::usage::use_override(conn, *o, id).await?;
        }
    }
    crate::audit::record(
        conn,
        now,
        Some(actor.user_id),
        "sale",
        &card.number,
        serde_json::json!({ "sale": id, "charged": priced.charged, "station": station.code }),
    )
    .await?;
    Ok((
        Sold {
            id,
            card_number: card.number.clone(),
            product: product.code,
            station: station.code.clone(),
            litres: priced.litres,
            unit_price: price_now.unit_price,
            amount: priced.amount,
            discount: priced.discount,
            charged: priced.charged,
            bonus_used: split.bonus,
            balance: split.available_after,
            plate,
            odometer: req.odometer,
            alerts: cleared
                .map(|c| c.alerts.into_iter().map(|a| a.message).collect())
                .unwrap_or_default(),
            time: crate::time::format_us(now),
            benefits: Vec::new(),
            notices: Vec::new(),
        },
        Closing {
            debited,
            station_id: station.id,
            day: crate::time::local_date(now, tz),
            litres: priced.litres,
            card: card.clone(),
        },
    ))
}

/// Everything a sale reads before it writes, fetched in one round trip:
/// the card and its balances, the product and its price now, the cashier's
/// open shift at the station and the station's sales account. A sale is a
/// short transaction of a dozen statements holding the write lock, so each
/// round trip saved is felt.
struct Context {
    card: Card,
    product: Option<products::Product>,
    price: Option<products::Price>,
    shift_id: Option<i64>,
    sales_account: Option<i64>,
    balances: ledger::accounts::Balances,
}

async fn context(
    conn: &mut Conn,
    number: &CardNumber,
    product_code: &str,
    station: &stations::Station,
    cashier_id: i64,
    sales_account: &str,
    now: i64,
) -> AppResult<Context> {
    let lock = crate::db::for_update(conn);
    let hold_open = crate::db::for_share(conn);
    let row = sqlx::query(&format!(
        "SELECT c.*, ca.balance_fen, ca.bonus_fen, ca.held_fen, \
           p.id AS product_id, p.code AS product_code, p.name AS product_name, \
           pp.unit_price_fen, pp.card_discount_fen_per_litre, pp.effective_from, \
           (SELECT id FROM shifts WHERE station_id = $2 AND cashier_id = $3 \
              AND closed_at IS NULL{hold_open}) AS shift_id, \
           (SELECT id FROM accounts WHERE name = $4) AS sales_account \
         FROM (SELECT {CARD_COLUMNS} FROM cards WHERE number = $1{lock}) c \
         JOIN accounts ca ON ca.id = c.account_id \
         LEFT JOIN products p ON p.code = $5 \
         LEFT JOIN product_prices pp ON pp.id = (SELECT id FROM product_prices \
           WHERE product_id = p.id AND effective_from <= $6 \
           ORDER BY effective_from DESC, id DESC LIMIT 1)"
    ))
    .bind(number.as_str())
    .bind(station.id)
    .bind(cashier_id)
    .bind(sales_account)
    .bind(product_code)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::new(Code::CardNotFound, format!("no card {number}")))?;
    let product_id: Option<i64> = row.try_get("product_id")?;
    let product = match product_id {
        Some(id) => Some(products::Product {
            id,
            code: row.try_get("product_code")?,
            name: row.try_get("product_name")?,
        }),
        None => None,
    };
    let unit_price: Option<i64> = row.try_get("unit_price_fen")?;
    let price = match unit_price {
        Some(fen) => Some(products::Price {
            unit_price: Money::from_fen(fen),
            card_discount_per_litre: Money::from_fen(row.try_get("card_discount_fen_per_litre")?),
            effective_from: row.try_get("effective_from")?,
        }),
        None => None,
    };
    Ok(Context {
        card: card_from_row(&row)?,
        product,
        price,
        shift_id: row.try_get("shift_id")?,
        sales_account: row.try_get("sales_account")?,
        balances: ledger::accounts::Balances {
            balance_fen: row.try_get("balance_fen")?,
            bonus_fen: row.try_get("bonus_fen")?,
            held_fen: row.try_get("held_fen")?,
        },
    })
}

/// The alerts a fleet sale raised, as stored with the sale.
fn alerts_json(cleared: Option<&fleet::Cleared>) -> AppResult<Option<String>> {
    match cleared {
        Some(c) if !c.alerts.is_empty() => serde_json::to_string(&c.alerts)
            .map(Some)
            .map_err(|e| AppError::internal("encoding alerts", e)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_litres() {
        let p = price(
            Quantity::Litres(Litres::from_cl(3000)),
            Money::from_fen(768),
            Money::from_fen(20),
        )
        .unwrap();
        assert_eq!(p.amount.to_string(), "230.40");
        assert_eq!(p.discount.to_string(), "6.00");
        assert_eq!(p.charged.to_string(), "224.40");
    }

    #[test]
    fn by_gross_amount() {
        let p = price(
            Quantity::Amount(Money::from_fen(20_000)),
            Money::from_fen(768),
            Money::from_fen(20),
        )
        .unwrap();
        assert_eq!(p.litres.to_string(), "26.04");
        assert_eq!(p.amount.to_string(), "200.00");
        assert_eq!(p.discount.to_string(), "5.21");
        assert_eq!(p.charged.to_string(), "194.79");
    }
}

/// A stored sale, as its receipt shows it.
#[derive(Debug, Serialize)]
pub struct SaleReceipt {
    pub id: i64,
    pub card_number: String,
    pub product: String,
    pub litres: Litres,
    pub unit_price: Money,
    pub amount: Money,
    pub discount: Money,
    pub charged: Money,
    pub balance_after: Money,
    pub plate: Option<String>,
    pub odometer: Option<i64>,
    pub station: String,
    pub station_name: String,
    /// The station's id, for the check that only its staff read it.
    pub station_id: i64,
    pub cashier: String,
    pub at_us: i64,
}

pub async fn receipt(conn: &mut Conn, id: i64) -> AppResult<SaleReceipt> {
    let r = sqlx::query(
        "SELECT s.id, c.number, p.name AS product, s.litres_cl, s.unit_price_fen, s.amount_fen, s.discount_fen, \
           s.charged_fen, s.plate, s.odometer_km, st.id AS station_id, st.code, st.name AS station_name, u.username, s.created_at, \
           (SELECT t.debit_balance_after_fen FROM transfers t WHERE t.operation_id = s.operation_id \
              AND t.debit_account_id = c.account_id ORDER BY t.id DESC LIMIT 1) AS balance_after \
         FROM sales s JOIN cards c ON c.id = s.card_id JOIN products p ON p.id = s.product_id \
         JOIN stations st ON st.id = s.station_id JOIN shifts sh ON sh.id = s.shift_id \
         JOIN users u ON u.id = sh.cashier_id WHERE s.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::new(Code::NotFound, format!("no sale {id}")))?;
    Ok(SaleReceipt {
        id: r.try_get("id")?,
        card_number: r.try_get("number")?,
        product: r.try_get("product")?,
        litres: Litres::from_cl(r.try_get("litres_cl")?),
        unit_price: Money::from_fen(r.try_get("unit_price_fen")?),
        amount: Money::from_fen(r.try_get("amount_fen")?),
        discount: Money::from_fen(r.try_get("discount_fen")?),
        charged: Money::from_fen(r.try_get("charged_fen")?),
        balance_after: Money::from_fen(r.try_get::<Option<i64>, _>("balance_after")?.unwrap_or(0)),
        plate: r.try_get("plate")?,
        odometer: r.try_get("odometer_km")?,
        station: r.try_get("code")?,
        station_name: r.try_get("station_name")?,
        station_id: r.try_get("station_id")?,
        cashier: r.try_get("username")?,
        at_us: r.try_get("created_at")?,
    })
}
