//! Recharge (充值): money in at the counter, plus the promotion in force.
//!
//! The customer's money and the promotion's bonus are two transfers into
//! the card: payment clearing → card (principal) and promotion → card
//! (bonus, marked as bonus on both sides). A promotion whose budget cannot
//! cover the bonus gives none, and the answer says so.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::promotions::{self, Promotion};
use super::{Card, CardNumber};
use crate::auth::Actor;
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::ledger::{self, AccountKind, Movement, Operation};
use crate::money::Money;
use crate::stations::{self, Station, shifts};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    BankCard,
    Transfer,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::BankCard => "bank_card",
            PaymentMethod::Transfer => "transfer",
        }
    }

    pub fn parse(text: &str) -> Option<PaymentMethod> {
        Some(match text {
            "cash" => PaymentMethod::Cash,
            "bank_card" => PaymentMethod::BankCard,
            "transfer" => PaymentMethod::Transfer,
            _ => return None,
        })
    }

    /// The station clearing account the money arrives in.
    fn account(self, station: &Station) -> (AccountKind, String) {
        match self {
            PaymentMethod::Cash => (AccountKind::Cash, format!("cash:{}", station.code)),
            PaymentMethod::BankCard => {
                (AccountKind::BankCard, format!("bank_card:{}", station.code))
            }
            PaymentMethod::Transfer => (
                AccountKind::BankTransfer,
                format!("bank_transfer:{}", station.code),
            ),
        }
    }
}

/// What a recharge would earn, before the cashier confirms.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Quote {
    #[schema(value_type = String)]
    pub amount: Money,
    #[schema(value_type = String)]
    pub bonus: Money,
    pub promotion: Option<String>,
    pub campaign_code: Option<String>,
    pub gift: Option<String>,
    /// Set when a promotion applies but its budget is spent.
    pub notice: Option<String>,
}

fn quote_of(p: Option<&Promotion>, amount: Money, campaign_code: Option<&str>) -> Quote {
    let bonus = p.map_or(Money::ZERO, |p| p.rule.bonus_for(amount));
    let exhausted = p.is_some_and(|p| {
        p.budget
            .is_some_and(|b| p.spent.fen() + bonus.fen() > b.fen())
    });
    Quote {
        amount,
        bonus: if exhausted { Money::ZERO } else { bonus },
        promotion: p.map(|p| p.name.clone()),
        campaign_code: campaign_code
            .map(String::from)
            .or_else(|| p.and_then(|p| p.campaign_code.clone())),
        gift: p
            .and_then(|p| p.rule.gift_for(amount))
            .map(|g| g.item.clone()),
        notice: exhausted.then(|| "promotion budget exhausted: no bonus".to_string()),
    }
}

/// The bonus and gift a recharge of `amount` on this card would get now.
pub async fn preview(
    conn: &mut Conn,
    card: &Card,
    amount: Money,
    campaign_code: Option<&str>,
    now: i64,
) -> AppResult<Quote> {
    let all = promotions::in_force(conn, now).await?;
    let chosen = promotions::choose(&all, card.kind, now, amount, campaign_code);
    Ok(quote_of(chosen, amount, campaign_code))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    pub station: String,
    pub station_name: String,
    pub cashier: String,
    pub shift_id: i64,
    pub time: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Recharged {
    pub id: i64,
    pub card_number: String,
    #[schema(value_type = String, example = "1000.00")]
    pub amount: Money,
    #[schema(value_type = String, example = "20.00")]
    pub bonus: Money,
    /// Total spendable after the recharge.
    #[schema(value_type = String, example = "1020.00")]
    pub balance: Money,
    #[schema(value_type = String)]
    pub principal_balance: Money,
    #[schema(value_type = String)]
    pub bonus_balance: Money,
    pub payment_method: PaymentMethod,
    pub promotion: Option<String>,
    pub campaign_code: Option<String>,
    pub gift: Option<String>,
    pub notice: Option<String>,
    pub receipt: Receipt,
    /// Alliance benefits the recharge earned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub benefits: Vec<crate::alliance::engine::Granted>,
    /// Offers it met that granted nothing, or granted with a caveat.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<crate::alliance::engine::Notice>,
}

pub struct RechargeRequest<'a> {
    pub number: &'a CardNumber,
    pub amount: Money,
    pub method: PaymentMethod,
    pub campaign_code: Option<&'a str>,
    pub station: Option<&'a str>,
}

pub async fn recharge(
    conn: &mut Conn,
    actor: &Actor,
    req: RechargeRequest<'_>,
    now: i64,
) -> AppResult<Recharged> {
    let card = super::find_for_update(conn, req.number).await?;
    card.ensure_can_receive()?;
    card.ensure_holds_money()?;
    if card.kind.is_sub_card() {
        return Err(AppError::new(
            Code::InvalidTransfer,
            "a sub-card is funded from its company main card, not recharged directly",
        ));
    }
    let station = stations::for_counter(conn, actor, req.station).await?;
    let shift_id = shifts::ensure_open(conn, station.id, actor.user_id, now).await?;
    let all = promotions::in_force(conn, now).await?;
    let chosen = promotions::choose(&all, card.kind, now, req.amount, req.campaign_code);
    let mut quote = quote_of(chosen, req.amount, req.campaign_code);
    let op = ledger::record_operation(
        conn,
        Operation {
            at: now,
            kind: "recharge",
            card_id: Some(card.id),
            station_id: Some(station.id),
            shift_id: Some(shift_id),
            user_id: Some(actor.user_id),
            detail: serde_json::json!({ "payment_method": req.method.as_str() }),
        },
    )
    .await?;
    let (kind, name) = req.method.account(&station);
    let clearing = ledger::system_account(conn, kind, &name, now).await?;
    let mut posted = ledger::post(
        conn,
        op,
        Movement {
            debit: clearing,
            credit: card.account_id,
            amount: req.amount,
            bonus: Money::ZERO,
        },
    )
    .await?;
    if let (Some(p), true) = (chosen, quote.bonus.is_positive()) {
        if promotions::take_budget(conn, p.id, quote.bonus).await? {
            posted = ledger::post(
                conn,
                op,
                Movement {
                    debit: p.account_id,
                    credit: card.account_id,
                    amount: quote.bonus,
                    bonus: quote.bonus,
                },
            )
            .await?;
        } else {
            quote.bonus = Money::ZERO;
            quote.notice = Some("promotion budget exhausted: no bonus".into());
        }
    }
    let _ = posted;
    let row = sqlx::query(
        "INSERT INTO recharges (operation_id, card_id, station_id, shift_id, amount_fen, \
         bonus_fen, payment_method, promotion_id, campaign_code, gifts, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(op.id)
    .bind(card.id)
    .bind(station.id)
    .bind(shift_id)
    .bind(req.amount.fen())
    .bind(quote.bonus.fen())
    .bind(req.method.as_str())
    .bind(chosen.map(|p| p.id))
    .bind(quote.campaign_code.as_deref())
    .bind(serde_json::to_string(&quote.gift.iter().collect::<Vec<_>>()).unwrap_or_default())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = row.try_get("id")?;
    super::openings::note_recharge(conn, &card, req.amount).await?;
    crate::audit::record(
        conn,
        now,
        Some(actor.user_id),
        "recharge",
        &card.number,
        serde_json::json!({
            "recharge": id, "amount": req.amount, "bonus": quote.bonus,
            "method": req.method.as_str(), "station": station.code,
        }),
    )
    .await?;
    let b = ledger::accounts::balances(conn, card.account_id).await?;
    Ok(Recharged {
        id,
        card_number: card.number,
        amount: req.amount,
        bonus: quote.bonus,
        balance: Money::from_fen(b.available_fen()),
        principal_balance: Money::from_fen(b.principal_fen()),
        bonus_balance: Money::from_fen(b.bonus_fen),
        payment_method: req.method,
        promotion: quote.promotion,
        campaign_code: quote.campaign_code,
        gift: quote.gift,
        notice: quote.notice,
        receipt: Receipt {
            station: station.code,
            station_name: station.name,
            cashier: actor.username.clone(),
            shift_id,
            time: crate::time::format_us(now),
        },
        benefits: Vec::new(),
        notices: Vec::new(),
    })
}

/// A stored recharge, as its receipt shows it.
#[derive(Debug, Serialize)]
pub struct RechargeReceipt {
    pub id: i64,
    pub card_number: String,
    pub amount: Money,
    pub bonus: Money,
    pub balance_after: Money,
    pub payment_method: String,
    pub campaign_code: Option<String>,
    pub gifts: Vec<String>,
    pub station: String,
    pub station_name: String,
    /// The station's id, for the check that only its staff read it.
    pub station_id: i64,
    pub cashier: String,
    pub at_us: i64,
}

pub async fn receipt(conn: &mut Conn, id: i64) -> AppResult<RechargeReceipt> {
    let r = sqlx::query(
        "SELECT r.id, c.number, r.amount_fen, r.bonus_fen, r.payment_method, r.campaign_code, r.gifts, \
           st.id AS station_id, st.code, st.name, u.username, r.created_at, \
           (SELECT t.credit_balance_after_fen FROM transfers t WHERE t.operation_id = r.operation_id \
              AND t.credit_account_id = c.account_id ORDER BY t.id DESC LIMIT 1) AS balance_after \
         FROM recharges r JOIN cards c ON c.id = r.card_id JOIN stations st ON st.id = r.station_id \
         JOIN shifts sh ON sh.id = r.shift_id JOIN users u ON u.id = sh.cashier_id WHERE r.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::new(Code::NotFound, format!("no recharge {id}")))?;
    let gifts: String = r.try_get("gifts")?;
    Ok(RechargeReceipt {
        id: r.try_get("id")?,
        card_number: r.try_get("number")?,
        amount: Money::from_fen(r.try_get("amount_fen")?),
        bonus: Money::from_fen(r.try_get("bonus_fen")?),
        balance_after: Money::from_fen(r.try_get::<Option<i64>, _>("balance_after")?.unwrap_or(0)),
        payment_method: r.try_get("payment_method")?,
        campaign_code: r.try_get("campaign_code")?,
        gifts: serde_json::from_str(&gifts).unwrap_or_default(),
        station: r.try_get("code")?,
        station_name: r.try_get("name")?,
        station_id: r.try_get("station_id")?,
        cashier: r.try_get("username")?,
        at_us: r.try_get("created_at")?,
    })
}
