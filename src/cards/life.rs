//! Card life: loss report (挂失), replacement (补卡), conversion of an
//! anonymous card (转卡), closure (a personal card refunded in cash, a
//! company's card money back to the company), and PIN unlock.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::customers::{self, NewCustomer};
use super::holder::{self, Checked, Word};
use super::{Card, CardKind, CardStatus, NewCard, pin};
use crate::auth::Actor;
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::ledger::{self, AccountKind, Movement, Operation};
use crate::lifecycle;
use crate::money::Money;
use crate::stations::{self, shifts};

/// Moves the card to `to` from the state it was read in, in one
/// conditional statement, so that two cashiers acting on one card at once
/// cannot both succeed ([`lifecycle`] says which moves there are).
async fn set_status(conn: &mut Conn, card: &Card, to: CardStatus) -> AppResult<()> {
    lifecycle::ensure_move(&card.number, card.status, to)?;
    let done = sqlx::query("UPDATE cards SET status = $1 WHERE id = $2 AND status = $3")
        .bind(to.as_str())
        .bind(card.id)
        .bind(card.status.as_str())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() != 1 {
        let now_is = super::find_by_id(conn, card.id).await?.status;
        return Err(lifecycle::illegal(&card.number, now_is, to));
    }
    Ok(())
}

/// Confirms that the holder asks ([`holder::confirm`]), against the
/// holder's record as it stands in this transaction.
async fn holders_word(conn: &mut Conn, card: &Card, word: Word<'_>) -> AppResult<Checked> {
    let recorded = match (word, card.customer_id) {
        (Word::Identity(_), Some(id)) => Some(customers::get(conn, id).await?),
        _ => None,
    };
    holder::confirm(card, recorded.as_ref(), word)
}

/// An audit detail with the note of the holder's check added.
fn noted(checked: Checked, mut detail: serde_json::Value) -> serde_json::Value {
    if let (Some(d), serde_json::Value::Object(note)) = (detail.as_object_mut(), checked.audit()) {
        d.extend(note);
    }
    detail
}

/// 挂失: from this moment every station refuses the card.
pub async fn report_lost(conn: &mut Conn, actor: &Actor, card: &Card, now: i64) -> AppResult<()> {
    set_status(conn, card, CardStatus::Lost).await?;
    sqlx::query("UPDATE cards SET lost_at = $1 WHERE id = $2")
        .bind(now)
        .bind(card.id)
        .execute(&mut *conn)
        .await?;
    actor
        .audit(
            conn,
            now,
            "loss_report",
            &card.number,
            serde_json::json!({}),
        )
        .await
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Replaced {
    /// The new card's number.
    pub number: String,
    pub old_number: String,
    #[schema(value_type = String)]
    pub balance: Money,
}

/// 补卡: a new card number receives the whole balance (principal and bonus)
/// once the operator's waiting period after the loss report has passed.
/// The PIN carries over: its verifier is keyed by a salt, not the number.
pub async fn replace(
    conn: &mut Conn,
    actor: &Actor,
    card: &Card,
    word: Word<'_>,
    wait_hours: i64,
    station: Option<&str>,
    now: i64,
) -> AppResult<Replaced> {
    lifecycle::ensure_move(&card.number, card.status, CardStatus::Replaced)?;
    if let Some(lost_at) = card.lost_at.filter(|_| card.status == CardStatus::Lost) {
        let ready = lost_at + wait_hours * 3_600_000_000;
        if now < ready {
            return Err(AppError::new(
                Code::ReplacementWaiting,
                format!(
                    "the replacement can be issued from {}",
                    crate::time::format_us(ready)
                ),
            )
            .with("ready_at", crate::time::format_us(ready)));
        }
    }
    let checked = holders_word(conn, card, word).await?;
    let b = ledger::accounts::balances(conn, card.account_id).await?;
    if b.held_fen > 0 {
        return Err(AppError::new(
            Code::CardHasHolds,
            "the card has an unfinished fuelling hold; settle it first",
        ));
    }
    let station = stations::issuing(conn, actor, station).await?;
    let parent = match card.parent_card_id {
        Some(id) => Some(super::find_by_id(conn, id).await?),
        None => None,
    };
    let successor = NewCard {
        kind: card.kind,
        customer_id: if card.kind.is_sub_card() && !card.credit {
            None
        } else {
            card.customer_id
        },
        parent: parent.as_ref(),
        plate: card.plate.as_deref(),
        pin: card.pin_salt.clone().zip(card.pin_verifier.clone()),
        station_id: station.as_ref().map(|s| s.id),
    };
    // A credit card's successor buys on the same line.
    let new = if card.credit {
        super::open_on_credit(conn, &successor, now).await?
    } else {
        super::open(conn, &successor, now).await?
    };
    set_status(conn, card, CardStatus::Replaced).await?;
    sqlx::query("UPDATE cards SET replaced_by_card_id = $1 WHERE id = $2")
        .bind(new.id)
        .bind(card.id)
        .execute(&mut *conn)
        .await?;
    if b.balance_fen > 0 {
        let op = ledger::record_operation(
            conn,
            Operation {
                at: now,
                kind: "replacement",
                card_id: Some(new.id),
                station_id: station.as_ref().map(|s| s.id),
                shift_id: None,
                user_id: Some(actor.user_id),
                detail: serde_json::json!({ "from": card.number, "to": new.number }),
            },
        )
        .await?;
        ledger::post(
            conn,
            op,
            Movement {
                debit: card.account_id,
                credit: new.account_id,
                amount: Money::from_fen(b.balance_fen),
                bonus: Money::from_fen(b.bonus_fen),
            },
        )
        .await?;
    }
    actor.audit(conn, now, "replacement",
        &card.number,
        noted(
            checked,
            serde_json::json!({ "new_card": new.number, "balance": Money::from_fen(b.balance_fen) }),
        ),
    )
    .await?;
    Ok(Replaced {
        number: new.number,
        old_number: card.number.clone(),
        balance: Money::from_fen(b.balance_fen),
    })
}

/// The person an anonymous card is converted to.
pub enum Holder<'a> {
    /// A customer already on file.
    Existing(i64),
    /// A new customer, created with the conversion.
    New(&'a NewCustomer),
}

impl<'a> Holder<'a> {
    /// Exactly one of a customer id and a new customer's details.
    pub fn from_request(
        customer_id: Option<i64>,
        new_customer: Option<&'a NewCustomer>,
    ) -> AppResult<Holder<'a>> {
        match (customer_id, new_customer) {
            (Some(id), None) => Ok(Holder::Existing(id)),
            (None, Some(c)) => Ok(Holder::New(c)),
            _ => Err(AppError::new(
                Code::ValidationFailed,
                "give either customer_id or customer (a new holder), not both",
            )),
        }
    }
}

/// The number of the card that replaced this one.
pub async fn replacement_of(conn: &mut Conn, number: &super::CardNumber) -> AppResult<String> {
    sqlx::query(
        "SELECT n.number FROM cards o JOIN cards n ON n.id = o.replaced_by_card_id \
         WHERE o.number = $1",
    )
    .bind(number.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| r.try_get("number"))
    .transpose()?
    .ok_or_else(|| {
        AppError::new(
            Code::CardNotFound,
            format!("card {number} has not been replaced"),
        )
    })
}

/// 转卡: an anonymous card becomes a personal card of a (new or existing)
/// person, keeping its number and balance.
pub async fn convert(
    conn: &mut Conn,
    actor: &Actor,
    card: &Card,
    word: Word<'_>,
    holder: Holder<'_>,
    new_pin: Option<(&pin::PinKey, &str)>,
    now: i64,
) -> AppResult<i64> {
    if card.kind != CardKind::Anonymous {
        return Err(AppError::new(
            Code::CardNotAnonymous,
            format!("card {} is already registered", card.number),
        ));
    }
    let checked = holders_word(conn, card, word).await?;
    card.ensure_can_receive()?;
    let customer = match holder {
        Holder::Existing(id) => customers::get(conn, id).await?,
        Holder::New(c) => customers::create(conn, c, now).await?,
    };
    if customer.kind != customers::CustomerKind::Person {
        return Err(AppError::new(
            Code::ValidationFailed,
            "an anonymous card converts to a personal card of a person",
        ));
    }
    let (salt, verifier) = match new_pin {
        Some((key, p)) => {
            let (salt, verifier) = pin::protect(key, p)?;
            (Some(salt), Some(verifier))
        }
        None => (card.pin_salt.clone(), card.pin_verifier.clone()),
    };
    let done = sqlx::query(
        "UPDATE cards SET kind = 'personal', customer_id = $1, pin_salt = $2, pin_verifier = $3 \
         WHERE id = $4 AND kind = 'anonymous'",
    )
    .bind(customer.id)
    .bind(salt)
    .bind(verifier)
    .bind(card.id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Err(AppError::new(
            Code::CardNotAnonymous,
            "the card was converted meanwhile",
        ));
    }
    actor
        .audit(
            conn,
            now,
            "conversion",
            &card.number,
            noted(checked, serde_json::json!({ "customer": customer.id })),
        )
        .await?;
    Ok(customer.id)
}

/// Where a closed card's money went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaidBy {
    /// Paid out at the counter: a personal or anonymous card's principal.
    #[default]
    Cash,
    /// Moved to the company's main card: a sub-card's or fleet card's whole
    /// balance, which stays the company's.
    MainCard,
    /// Owed to the company and paid by bank transfer: a main card's
    /// principal, booked on the company's payable.
    BankTransfer,
}

/// What a closure did with the card's money. A company's card money goes
/// back to the company — to its main card, or owed to it for a bank
/// transfer — never into a cashier's hand; only a personal or anonymous
/// card is refunded in cash.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Closed {
    pub number: String,
    /// Principal paid back in cash at the counter (0.00 for a company's
    /// card).
    #[schema(value_type = String)]
    pub refunded: Money,
    /// Unspent bonus taken back: promotion money is not the customer's.
    #[schema(value_type = String)]
    pub bonus_clawed_back: Money,
    /// How the money went back: `cash` at the counter, to the company's
    /// `main_card`, or by `bank_transfer` from the company's payable.
    #[serde(default)]
    pub paid_by: PaidBy,
    /// The company's main card a sub-card's balance moved to.
    #[serde(default)]
    pub to_main_card: Option<String>,
    /// Moved to the main card: the sub-card's whole balance, principal and
    /// bonus as they stood.
    #[serde(default)]
    #[schema(value_type = String)]
    pub moved_to_main_card: Money,
    /// Of that, bonus: it stays the company's bonus on the main card.
    #[serde(default)]
    #[schema(value_type = String)]
    pub moved_bonus: Money,
    /// Owed to the company for a bank transfer: a main card's principal.
    #[serde(default)]
    #[schema(value_type = String)]
    pub payable: Money,
}

/// The refusal of a company main card at a counter: closing it is the
/// company's account ending, decided by head office (on the company's
/// instruction) or the company's own fleet manager, and paid by bank
/// transfer. Anyone at the counter can show a company's public
/// registration number, so it proves nothing there.
pub fn head_office_only(card: &Card) -> AppError {
    AppError::new(
        Code::CompanyClosureHeadOffice,
        format!(
            "card {} is a company main card: the company's account is closed by head office or \
             the company's fleet manager, and its money is paid back by bank transfer, never at \
             a counter",
            card.number
        ),
    )
}

/// The refusals every closure makes before it looks at anything else.
fn ensure_closable(card: &Card) -> AppResult<()> {
    if card.status == CardStatus::Closed {
        return Err(AppError::new(
            Code::CardClosed,
            format!("card {} is already closed", card.number),
        ));
    }
    if card.status == CardStatus::Replaced {
        return Err(AppError::new(
            Code::CardBlacklisted,
            "a replaced card has no balance; close the replacement instead",
        ));
    }
    Ok(())
}

/// A main card closes last: while a sub-card is open, money may still move
/// between them.
async fn ensure_sub_cards_closed(conn: &mut Conn, card: &Card) -> AppResult<()> {
    let children = sqlx::query(
        "SELECT COUNT(*) AS n FROM cards WHERE parent_card_id = $1 AND status <> 'closed' \
         AND status <> 'replaced'",
    )
    .bind(card.id)
    .fetch_one(&mut *conn)
    .await?;
    if children.try_get::<i64, _>("n")? > 0 {
        return Err(AppError::new(
            Code::InvalidTransfer,
            "close the company's sub-cards before its main card",
        ));
    }
    Ok(())
}

/// The card's balances, refused while a fuelling hold is unfinished (its
/// money is promised to a pump).
async fn settled_balances(conn: &mut Conn, card: &Card) -> AppResult<ledger::accounts::Balances> {
    let b = ledger::accounts::balances(conn, card.account_id).await?;
    if b.held_fen > 0 {
        return Err(AppError::new(
            Code::CardHasHolds,
            "the card has an unfinished fuelling hold; settle it first",
        ));
    }
    Ok(b)
}

/// The cards a counter's closure locks: the card and, for a company
/// sub-card or fleet card, the main card its money goes back to — lower id
/// first, as a transfer locks the same two, so that the two wait for each
/// other rather than deadlock. A main card that was replaced (补卡) hands
/// over to its replacement, which now holds the company's funds.
pub async fn for_closure(
    conn: &mut Conn,
    number: &super::CardNumber,
) -> AppResult<(Card, Option<Card>)> {
    let seen = super::find(conn, number).await?;
    let Some(parent) = seen.parent_card_id.filter(|_| seen.kind.is_sub_card()) else {
        return Ok((super::find_for_update(conn, number).await?, None));
    };
    let (card, mut main) = if seen.id < parent {
        let card = super::find_by_id_for_update(conn, seen.id).await?;
        (card, super::find_by_id_for_update(conn, parent).await?)
    } else {
        let main = super::find_by_id_for_update(conn, parent).await?;
        (super::find_by_id_for_update(conn, seen.id).await?, main)
    };
    // A chain of replacements is short; the bound only keeps a corrupted
    // one from looping.
    for _ in 0..16 {
        if main.status != CardStatus::Replaced {
            break;
        }
        let next: Option<i64> = sqlx::query("SELECT replaced_by_card_id FROM cards WHERE id = $1")
            .bind(main.id)
            .fetch_one(&mut *conn)
            .await?
            .try_get("replaced_by_card_id")?;
        let Some(next) = next else { break };
        main = super::find_by_id_for_update(conn, next).await?;
    }
    Ok((card, Some(main)))
}

/// Closes a card at the counter, on the holder's word. A personal or
/// anonymous card's principal is paid out in cash (a cash-out transfer from
/// the station's cash account, in the cashier's shift) and its unspent
/// bonus clawed back. A company sub-card's or fleet card's money is the
/// company's, not the bearer's: its whole balance moves to the company's
/// main card (`main`, from [`for_closure`]), principal and bonus as they
/// stand — the bonus stays the company's bonus there, as a sweep back
/// ([`super::transfer`]) would carry it, and is clawed back only when the
/// company's account closes ([`close_company_account`]). No cash leaves the
/// counter for it, so it touches neither the drawer nor the shift. A main
/// card is refused here ([`head_office_only`]).
pub async fn close(
    conn: &mut Conn,
    actor: &Actor,
    card: &Card,
    main: Option<&Card>,
    word: Word<'_>,
    station: Option<&str>,
    now: i64,
) -> AppResult<Closed> {
    ensure_closable(card)?;
    if card.kind == CardKind::CompanyMain {
        return Err(head_office_only(card));
    }
    let checked = holders_word(conn, card, word).await?;
    ensure_sub_cards_closed(conn, card).await?;
    let b = settled_balances(conn, card).await?;
    let station = stations::for_counter(conn, actor, station).await?;
    if card.kind.is_sub_card() {
        let main = main.ok_or_else(|| {
            AppError::internal(
                "closing a sub-card",
                format!("{} without its main card", card.number),
            )
        })?;
        return to_main_card(conn, actor, card, main, checked, b, station.id, now).await;
    }
    let shift_id = shifts::ensure_open(conn, station.id, actor.user_id, now).await?;
    let op = ledger::record_operation(
        conn,
        Operation {
            at: now,
            kind: "closure",
            card_id: Some(card.id),
            station_id: Some(station.id),
            shift_id: Some(shift_id),
            user_id: Some(actor.user_id),
            detail: serde_json::json!({}),
        },
    )
    .await?;
    let principal = Money::from_fen(b.principal_fen());
    let bonus = Money::from_fen(b.bonus_fen);
    claw_back(conn, op, card, bonus, now).await?;
    if principal.is_positive() {
        let cash = ledger::system_account(
            conn,
            AccountKind::Cash,
            &format!("cash:{}", station.code),
            now,
        )
        .await?;
        ledger::post(
            conn,
            op,
            Movement {
                debit: card.account_id,
                credit: cash,
                amount: principal,
                bonus: Money::ZERO,
            },
        )
        .await?;
    }
    sqlx::query(
        "INSERT INTO refunds (operation_id, card_id, station_id, shift_id, amount_fen, \
         clawback_fen, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(op.id)
    .bind(card.id)
    .bind(station.id)
    .bind(shift_id)
    .bind(principal.fen())
    .bind(bonus.fen())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    mark_closed(conn, card, now).await?;
    actor
        .audit(
            conn,
            now,
            "closure",
            &card.number,
            noted(
                checked,
                serde_json::json!({
                    "refunded": principal,
                    "clawed_back": bonus,
                    "paid_by": PaidBy::Cash,
                }),
            ),
        )
        .await?;
    Ok(Closed {
        number: card.number.clone(),
        refunded: principal,
        bonus_clawed_back: bonus,
        paid_by: PaidBy::Cash,
        to_main_card: None,
        moved_to_main_card: Money::ZERO,
        moved_bonus: Money::ZERO,
        payable: Money::ZERO,
    })
}

/// A sub-card's or fleet card's whole balance back to the company's main
/// card, in one transfer of the closure's operation, and the card closed.
#[allow(clippy::too_many_arguments)]
async fn to_main_card(
    conn: &mut Conn,
    actor: &Actor,
    card: &Card,
    main: &Card,
    checked: Checked,
    b: ledger::accounts::Balances,
    station_id: i64,
    now: i64,
) -> AppResult<Closed> {
    if main.kind != CardKind::CompanyMain || card.customer_id != main.customer_id {
        return Err(AppError::internal(
            "closing a sub-card",
            format!(
                "{}'s parent {} is not its company's main card",
                card.number, main.number
            ),
        ));
    }
    if main.status == CardStatus::Closed {
        return Err(AppError::new(
            Code::InvalidTransfer,
            format!(
                "the company's main card {} is closed: its sub-cards' money has no card to go \
                 back to",
                main.number
            ),
        ));
    }
    let total = Money::from_fen(b.balance_fen);
    let bonus = Money::from_fen(b.bonus_fen);
    let op = ledger::record_operation(
        conn,
        Operation {
            at: now,
            kind: "closure",
            card_id: Some(card.id),
            station_id: Some(station_id),
            shift_id: None,
            user_id: Some(actor.user_id),
            detail: serde_json::json!({ "from": card.number, "to": main.number }),
        },
    )
    .await?;
    if total.is_positive() {
        ledger::post(
            conn,
            op,
            Movement {
                debit: card.account_id,
                credit: main.account_id,
                amount: total,
                bonus,
            },
        )
        .await?;
    }
    mark_closed(conn, card, now).await?;
    actor
        .audit(
            conn,
            now,
            "closure",
            &card.number,
            noted(
                checked,
                serde_json::json!({
                    "refunded": Money::ZERO,
                    "paid_by": PaidBy::MainCard,
                    "to_main_card": main.number,
                    "moved_to_main_card": total,
                    "moved_bonus": bonus,
                }),
            ),
        )
        .await?;
    Ok(Closed {
        number: card.number.clone(),
        refunded: Money::ZERO,
        bonus_clawed_back: Money::ZERO,
        paid_by: PaidBy::MainCard,
        to_main_card: Some(main.number.clone()),
        moved_to_main_card: total,
        moved_bonus: bonus,
        payable: Money::ZERO,
    })
}

/// Closes a company's account with the network: its main card, once its
/// sub-cards are closed. The caller has asked the policy
/// ([`crate::auth::policy::Action::CloseCompanyAccount`]): head office or
/// the company's own fleet manager decides, and that decision is the
/// company's word, so no PIN or document is asked. The principal is booked
/// on the company's payable ([`ledger::accounts::company_payable`]), owed
/// to the company and paid by bank transfer, never cash at a counter; the
/// unspent bonus is clawed back, as on every closure that ends the
/// customer's business (promotion money is not the customer's). The audit
/// record says who decided.
pub async fn close_company_account(
    conn: &mut Conn,
    actor: &Actor,
    card: &Card,
    now: i64,
) -> AppResult<Closed> {
    ensure_closable(card)?;
    let company = match (card.kind, card.customer_id) {
        (CardKind::CompanyMain, Some(company)) => company,
        _ => {
            return Err(AppError::new(
                Code::InvalidTransfer,
                format!("card {} is not a company main card", card.number),
            ));
        }
    };
    ensure_sub_cards_closed(conn, card).await?;
    let b = settled_balances(conn, card).await?;
    let principal = Money::from_fen(b.principal_fen());
    let bonus = Money::from_fen(b.bonus_fen);
    let op = ledger::record_operation(
        conn,
        Operation {
            at: now,
            kind: "closure",
            card_id: Some(card.id),
            station_id: None,
            shift_id: None,
            user_id: Some(actor.user_id),
            detail: serde_json::json!({ "paid_by": PaidBy::BankTransfer, "company": company }),
        },
    )
    .await?;
    claw_back(conn, op, card, bonus, now).await?;
    if principal.is_positive() {
        let payable = ledger::accounts::company_payable(conn, company, now).await?;
        ledger::post(
            conn,
            op,
            Movement {
                debit: card.account_id,
                credit: payable,
                amount: principal,
                bonus: Money::ZERO,
            },
        )
        .await?;
    }
    mark_closed(conn, card, now).await?;
    actor
        .audit(
            conn,
            now,
            "closure",
            &card.number,
            serde_json::json!({
                "decided_by": actor.role.as_str(),
                "company": company,
                "refunded": Money::ZERO,
                "payable": principal,
                "clawed_back": bonus,
                "paid_by": PaidBy::BankTransfer,
            }),
        )
        .await?;
    Ok(Closed {
        number: card.number.clone(),
        refunded: Money::ZERO,
        bonus_clawed_back: bonus,
        paid_by: PaidBy::BankTransfer,
        to_main_card: None,
        moved_to_main_card: Money::ZERO,
        moved_bonus: Money::ZERO,
        payable: principal,
    })
}

/// The unspent bonus back to the claw-back account.
async fn claw_back(
    conn: &mut Conn,
    op: ledger::OperationRef,
    card: &Card,
    bonus: Money,
    now: i64,
) -> AppResult<()> {
    if bonus.is_positive() {
        let clawback = ledger::system_account(conn, AccountKind::Clawback, "clawback", now).await?;
        ledger::post(
            conn,
            op,
            Movement {
                debit: card.account_id,
                credit: clawback,
                amount: bonus,
                bonus,
            },
        )
        .await?;
    }
    Ok(())
}

/// The card closed, from the state it was read in.
async fn mark_closed(conn: &mut Conn, card: &Card, now: i64) -> AppResult<()> {
    set_status(conn, card, CardStatus::Closed).await?;
    sqlx::query("UPDATE cards SET closed_at = $1 WHERE id = $2")
        .bind(now)
        .bind(card.id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A cashier unlocks a PIN-locked card, on the holder's ID document (a
/// locked card's PIN is refused until it is unlocked, so that guessing
/// cannot go on).
pub async fn unlock(
    conn: &mut Conn,
    actor: &Actor,
    card: &Card,
    word: Word<'_>,
    now: i64,
) -> AppResult<()> {
    if card.status == CardStatus::Active && card.pin_failures == 0 {
        return Err(AppError::new(
            Code::IllegalTransition,
            format!("card {} is not locked", card.number),
        )
        .with("from", card.status.as_str()));
    }
    if card.status != CardStatus::Active {
        lifecycle::ensure_move(&card.number, card.status, CardStatus::Active)?;
    }
    let checked = holders_word(conn, card, word).await?;
    if card.status == CardStatus::Locked {
        set_status(conn, card, CardStatus::Active).await?;
    }
    sqlx::query("UPDATE cards SET pin_failures = 0 WHERE id = $1")
        .bind(card.id)
        .execute(&mut *conn)
        .await?;
    actor
        .audit(
            conn,
            now,
            "unlock",
            &card.number,
            noted(checked, serde_json::json!({})),
        )
        .await
}
