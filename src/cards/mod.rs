//! Customers, cards and everything a cashier does with them: open, recharge,
//! sell fuel, move company funds, report lost, replace, convert, close.

pub mod customers;
pub mod holder;
pub mod identity;
pub mod life;
pub mod number;
pub mod openings;
pub mod pin;
pub mod products;
pub mod promotions;
pub mod recharge;
pub mod sale;
pub mod statement;
pub mod transfer;

use serde::Serialize;
use sqlx::Row;

use crate::auth::Actor;
use crate::auth::policy::{self, Action, Scope, Target};
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::ledger::accounts;
use crate::lifecycle::Status as _;
use crate::money::Money;
pub use number::CardNumber;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    /// 个人卡: one holder.
    Personal,
    /// 单位卡主卡: holds a company's funds.
    CompanyMain,
    /// 单位卡副卡: spends its own balance, funded from the main card.
    CompanySub,
    /// 车队卡: a company sub-card bound to one vehicle.
    Fleet,
    /// 不记名卡: sold over the counter, no holder.
    Anonymous,
}

impl CardKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CardKind::Personal => "personal",
            CardKind::CompanyMain => "company_main",
            CardKind::CompanySub => "company_sub",
            CardKind::Fleet => "fleet",
            CardKind::Anonymous => "anonymous",
        }
    }

    pub fn parse(text: &str) -> Option<CardKind> {
        Some(match text {
            "personal" => CardKind::Personal,
            "company_main" => CardKind::CompanyMain,
            "company_sub" => CardKind::CompanySub,
            "fleet" => CardKind::Fleet,
            "anonymous" => CardKind::Anonymous,
            _ => return None,
        })
    }

    pub fn is_sub_card(self) -> bool {
        matches!(self, CardKind::CompanySub | CardKind::Fleet)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    Active,
    /// Locked after too many wrong PINs; a cashier unlocks it.
    Locked,
    /// Reported lost (挂失): blacklisted everywhere.
    Lost,
    /// Replaced by a new card (补卡); stays blacklisted.
    Replaced,
    Closed,
}

impl CardStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Active => "active",
            CardStatus::Locked => "locked",
            CardStatus::Lost => "lost",
            CardStatus::Replaced => "replaced",
            CardStatus::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Card {
    pub id: i64,
    pub number: String,
    pub kind: CardKind,
    pub status: CardStatus,
    pub customer_id: Option<i64>,
    pub parent_card_id: Option<i64>,
    pub account_id: i64,
    pub plate: Option<String>,
    pub pin_salt: Option<String>,
    pub pin_verifier: Option<String>,
    pub pin_failures: i64,
    pub lost_at: Option<i64>,
    pub created_at: i64,
    /// Buys on its company's credit line ([`crate::credit`]); its own
    /// account stays empty.
    pub credit: bool,
}

const CARD_COLUMNS: &str = "id, number, kind, status, customer_id, parent_card_id, account_id, \
                            plate, pin_salt, pin_verifier, pin_failures, lost_at, created_at, \
                            credit";

fn card_from_row(row: &sqlx::any::AnyRow) -> AppResult<Card> {
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    Ok(Card {
        id: row.try_get("id")?,
        number: row.try_get("number")?,
        kind: CardKind::parse(&kind)
            .ok_or_else(|| AppError::internal("card kind", kind.clone()))?,
        status: CardStatus::stored(&status)?,
        customer_id: row.try_get("customer_id")?,
        parent_card_id: row.try_get("parent_card_id")?,
        account_id: row.try_get("account_id")?,
        plate: row.try_get("plate")?,
        pin_salt: row.try_get("pin_salt")?,
        pin_verifier: row.try_get("pin_verifier")?,
        pin_failures: row.try_get("pin_failures")?,
        lost_at: row.try_get("lost_at")?,
        created_at: row.try_get("created_at")?,
        credit: row.try_get::<i64, _>("credit")? != 0,
    })
}

/// Parses a card number from a request, with the code a cashier sees.
pub fn parse_number(text: &str) -> AppResult<CardNumber> {
    CardNumber::parse(text).map_err(|e| {
        AppError::new(
            Code::InvalidCardNumber,
            format!("card number {text:?}: {e}"),
        )
    })
}

pub async fn find(conn: &mut Conn, number: &CardNumber) -> AppResult<Card> {
    find_where(conn, number, "").await
}

/// Finds a card and locks its row until the transaction ends, for a write
/// that decides on the card's state or balance (a closure and a recharge of
/// one card then run one after the other, never interleaved).
pub async fn find_for_update(conn: &mut Conn, number: &CardNumber) -> AppResult<Card> {
    let lock = crate::db::for_update(conn);
    find_where(conn, number, lock).await
}

async fn find_where(conn: &mut Conn, number: &CardNumber, lock: &str) -> AppResult<Card> {
    let row = sqlx::query(&format!(
        "SELECT {CARD_COLUMNS} FROM cards WHERE number = $1{lock}"
    ))
    .bind(number.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::new(Code::CardNotFound, format!("no card {number}")))?;
    card_from_row(&row)
}

pub async fn find_by_id(conn: &mut Conn, id: i64) -> AppResult<Card> {
    find_by_id_where(conn, id, "").await
}

/// Two cards money moves between, both locked, the lower id first so that
/// two moves in opposite directions wait for each other rather than
/// deadlock.
pub async fn pair_for_update(
    conn: &mut Conn,
    a: &CardNumber,
    b: &CardNumber,
) -> AppResult<(Card, Card)> {
    let (a, b) = (find(conn, a).await?, find(conn, b).await?);
    let (first, second) = if a.id <= b.id {
        (a.id, b.id)
    } else {
        (b.id, a.id)
    };
    let first = find_by_id_for_update(conn, first).await?;
    let second = find_by_id_for_update(conn, second).await?;
    Ok(if first.id == a.id {
        (first, second)
    } else {
        (second, first)
    })
}

/// [`find_for_update`] by the card's id.
pub async fn find_by_id_for_update(conn: &mut Conn, id: i64) -> AppResult<Card> {
    let lock = crate::db::for_update(conn);
    find_by_id_where(conn, id, lock).await
}

async fn find_by_id_where(conn: &mut Conn, id: i64, lock: &str) -> AppResult<Card> {
    let row = sqlx::query(&format!(
        "SELECT {CARD_COLUMNS} FROM cards WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::new(Code::CardNotFound, format!("no card with id {id}")))?;
    card_from_row(&row)
}

/// What the one scope rule of cards and customers is asked about: a card,
/// or a customer (through their cards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Card(i64),
    Customer(i64),
}

/// The one scope rule of cards and their customers, used by cards,
/// customers, timelines, archives and exports alike, so that what a
/// district manager may read of a customer is exactly what they may read of
/// the customer's cards: a card belongs to its holder (a company's cards
/// are the company's) and to every district where it was opened or used —
/// any operation on it at a station of the district. A customer belongs to
/// the districts of their cards. The district is looked up only for a role
/// the policy scopes to its district for `action`; the target then holds
/// the actor's own district when the card (or one of the customer's cards)
/// reached it, and no district otherwise, so [`policy::authorize`] refuses.
pub async fn target(
    conn: &mut Conn,
    actor: &Actor,
    action: Action,
    reach: Reach,
    holder: Option<i64>,
) -> AppResult<Target> {
    let mut target = Target::company_opt(holder);
    if policy::rule_of(action).scope(actor.role) == Scope::District
        && let Some(district) = actor.district.as_deref()
        && reaches_district(conn, reach, district).await?
    {
        target.district = Some(district.to_owned());
    }
    Ok(target)
}

/// Whether the card (or one of the customer's cards) was opened or used at
/// a station of `district`.
pub async fn reaches_district(conn: &mut Conn, reach: Reach, district: &str) -> AppResult<bool> {
    let (by, id) = match reach {
        Reach::Card(id) => ("c.id = $1", id),
        Reach::Customer(id) => ("c.customer_id = $1", id),
    };
    let found = sqlx::query(&format!(
        "SELECT 1 AS one FROM cards c JOIN stations s ON s.id = c.issued_station_id \
         WHERE {by} AND s.district = $2 \
         UNION ALL \
         SELECT 1 AS one FROM operations o JOIN cards c ON c.id = o.card_id \
         JOIN stations s ON s.id = o.station_id WHERE {by} AND s.district = $2 \
         LIMIT 1"
    ))
    .bind(id)
    .bind(district)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}

/// Finds a card the actor may read ([`Action::ReadCard`]) by the one scope
/// rule of cards and customers ([`target`]). A card outside the actor's
/// scope is "not found" to them, so that card numbers cannot be probed.
pub async fn find_visible(conn: &mut Conn, actor: &Actor, number: &CardNumber) -> AppResult<Card> {
    policy::authorize_role(actor, Action::ReadCard)?;
    let card = find(conn, number).await?;
    let target = target(
        conn,
        actor,
        Action::ReadCard,
        Reach::Card(card.id),
        card.customer_id,
    )
    .await?;
    if policy::permits(actor, Action::ReadCard, &target) {
        Ok(card)
    } else {
        Err(AppError::new(
            Code::CardNotFound,
            format!("no card {number}"),
        ))
    }
}

impl Card {
    /// Refuses a card that may not spend, with the code a pump or counter
    /// shows: lost and replaced cards are blacklisted at every station.
    pub fn ensure_can_spend(&self) -> AppResult<()> {
        match self.status {
            CardStatus::Active => Ok(()),
            CardStatus::Lost | CardStatus::Replaced => Err(AppError::new(
                Code::CardBlacklisted,
                format!("card {} is reported lost and blacklisted", self.number),
            )),
            CardStatus::Locked if self.pin_failures >= pin::MAX_TRIES => Err(AppError::new(
                Code::PinLocked,
                format!(
                    "card {} is locked after {} wrong PINs; a cashier must unlock it",
                    self.number,
                    pin::MAX_TRIES
                ),
            )),
            CardStatus::Locked => Err(AppError::new(
                Code::CardLocked,
                format!("card {} is locked", self.number),
            )),
            CardStatus::Closed => Err(AppError::new(
                Code::CardClosed,
                format!("card {} is closed", self.number),
            )),
        }
    }

    /// A company main card is a funds card (资金管理卡): its money reaches
    /// the pump only through the company's sub-cards.
    pub fn ensure_buys_fuel(&self) -> AppResult<()> {
        if self.kind == CardKind::CompanyMain {
            return Err(AppError::new(
                Code::MainCardNotForFuel,
                format!(
                    "card {} is a company main card: it holds the company's funds and buys no fuel; \
                     use one of its sub-cards",
                    self.number
                ),
            ));
        }
        Ok(())
    }

    /// A credit card holds no money of its own: nothing is recharged onto
    /// it or moved to or from it; it buys on its company's line.
    pub fn ensure_holds_money(&self) -> AppResult<()> {
        if self.credit {
            return Err(AppError::new(
                Code::CreditCardHoldsNoBalance,
                format!(
                    "card {} buys on its company's credit line and holds no balance of its own",
                    self.number
                ),
            ));
        }
        Ok(())
    }

    /// Recharges are refused on blacklisted and closed cards but allowed on a
    /// PIN-locked card (the holder is at the counter).
    pub fn ensure_can_receive(&self) -> AppResult<()> {
        match self.status {
            CardStatus::Active | CardStatus::Locked => Ok(()),
            _ => self.ensure_can_spend(),
        }
    }
}

/// What the API and pages show of a card.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CardView {
    pub number: String,
    pub kind: CardKind,
    pub status: CardStatus,
    pub customer_id: Option<i64>,
    pub holder_name: Option<String>,
    pub holder_phone: Option<String>,
    pub parent_card: Option<String>,
    pub plate: Option<String>,
    pub has_pin: bool,
    /// Buys on its company's credit line: its balances stay zero.
    #[serde(default)]
    pub credit: bool,
    /// Locked against ID documents after too many wrong ones in a row
    /// ([`identity`]): no document speaks for the holder until head office
    /// unlocks it (its PIN still does).
    #[serde(default)]
    pub identity_locked: bool,
    /// Total spendable: principal + bonus − held.
    #[schema(value_type = String, example = "1020.00")]
    pub balance: Money,
    #[schema(value_type = String)]
    pub principal_balance: Money,
    #[schema(value_type = String)]
    pub bonus_balance: Money,
    #[schema(value_type = String)]
    pub held: Money,
    pub created_at: String,
    /// Opening a card: the alliance benefits it earned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub benefits: Vec<crate::alliance::engine::Granted>,
    /// Opening a card: offers it met that granted nothing, or granted with
    /// a caveat.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<crate::alliance::engine::Notice>,
}

/// The card as `actor` may see it: the holder's phone is masked for those
/// who may not see personal data.
pub async fn view(conn: &mut Conn, card: &Card, actor: &Actor) -> AppResult<CardView> {
    let b = accounts::balances(conn, card.account_id).await?;
    let holder = match card.customer_id {
        Some(id) => Some(customers::get(conn, id).await?.shown_to(actor)),
        None => None,
    };
    let parent = match card.parent_card_id {
        Some(id) => Some(find_by_id(conn, id).await?.number),
        None => None,
    };
    let identity_locked = identity::state(conn, card.id).await?.locked_at.is_some();
    Ok(CardView {
        number: card.number.clone(),
        kind: card.kind,
        status: card.status,
        customer_id: card.customer_id,
        holder_name: holder.as_ref().map(|h| h.name.clone()),
        holder_phone: holder.and_then(|h| h.phone),
        parent_card: parent,
        plate: card.plate.clone(),
        has_pin: card.pin_verifier.is_some(),
        credit: card.credit,
        identity_locked,
        balance: Money::from_fen(b.available_fen()),
        principal_balance: Money::from_fen(b.principal_fen()),
        bonus_balance: Money::from_fen(b.bonus_fen),
        held: Money::from_fen(b.held_fen),
        created_at: crate::time::format_us(card.created_at),
        benefits: Vec::new(),
        notices: Vec::new(),
    })
}

/// What opening a card needs.
pub struct NewCard<'a> {
    pub kind: CardKind,
    pub customer_id: Option<i64>,
    pub parent: Option<&'a Card>,
    pub plate: Option<&'a str>,
    /// Salt and keyed verifier of the PIN, from [`pin::protect`].
    pub pin: Option<(String, String)>,
    pub station_id: Option<i64>,
}

/// Opens a card with its own ledger account. The rules of each kind: a
/// personal card needs a person, a company main card a company, a sub-card
/// (company or fleet) the company's main card, an anonymous card nobody.
pub async fn open(conn: &mut Conn, new: &NewCard<'_>, now: i64) -> AppResult<Card> {
    let invalid = |m: &str| AppError::new(Code::ValidationFailed, m.to_string());
    let customer_id = match new.kind {
        CardKind::Anonymous => {
            if new.customer_id.is_some() || new.parent.is_some() {
                return Err(invalid(
                    "an anonymous card has no customer and no parent card",
                ));
            }
            None
        }
        CardKind::Personal | CardKind::CompanyMain => {
            let id = new
                .customer_id
                .ok_or_else(|| invalid("customer_id is required for this card kind"))?;
            let customer = customers::get(conn, id).await?;
            let wanted = if new.kind == CardKind::Personal {
                customers::CustomerKind::Person
            } else {
                customers::CustomerKind::Company
            };
            if customer.kind != wanted {
                return Err(invalid(if wanted == customers::CustomerKind::Person {
                    "a personal card belongs to a person customer"
                } else {
                    "a company main card belongs to a company customer"
                }));
            }
            Some(id)
        }
        CardKind::CompanySub | CardKind::Fleet => {
            let parent = new
                .parent
                .ok_or_else(|| invalid("parent_card (the company main card) is required"))?;
            if parent.kind != CardKind::CompanyMain {
                return Err(invalid("parent_card must be a company main card"));
            }
            if new.customer_id.is_some() && new.customer_id != parent.customer_id {
                return Err(invalid("customer_id must be the main card's company"));
            }
            parent.customer_id
        }
    };
    if new.kind == CardKind::CompanyMain && new.pin.is_none() {
        return Err(AppError::invalid(
            "pin",
            "a company main card needs a PIN: the company's money moves only with it",
        ));
    }
    if new.kind == CardKind::Fleet && new.plate.is_none() {
        return Err(invalid(
            "a fleet card is bound to a vehicle: plate is required",
        ));
    }
    insert(conn, new, customer_id, false, now).await
}

/// Opens a company's sub-card or fleet card that buys on the company's
/// credit line: it needs the company (with a line) and no main card, and
/// holds no money of its own.
pub async fn open_on_credit(conn: &mut Conn, new: &NewCard<'_>, now: i64) -> AppResult<Card> {
    let invalid = |m: &str| AppError::new(Code::ValidationFailed, m.to_string());
    if !new.kind.is_sub_card() {
        return Err(AppError::invalid(
            "kind",
            "a credit card is a company's sub-card (company_sub) or fleet card",
        ));
    }
    if new.parent.is_some() {
        return Err(AppError::invalid(
            "parent_card",
            "a credit card buys on the company's line, not from a main card: give customer_id, \
             not parent_card",
        ));
    }
    let id = new
        .customer_id
        .ok_or_else(|| invalid("customer_id (the company on credit) is required"))?;
    if customers::get(conn, id).await?.kind != customers::CustomerKind::Company {
        return Err(invalid("a credit card belongs to a company customer"));
    }
    crate::credit::lines::find(conn, id).await?;
    if new.kind == CardKind::Fleet && new.plate.is_none() {
        return Err(invalid(
            "a fleet card is bound to a vehicle: plate is required",
        ));
    }
    insert(conn, new, Some(id), true, now).await
}

/// Writes a card, checked by the caller, with its own ledger account.
async fn insert(
    conn: &mut Conn,
    new: &NewCard<'_>,
    customer_id: Option<i64>,
    credit: bool,
    now: i64,
) -> AppResult<Card> {
    let (salt, verifier) = match &new.pin {
        Some((salt, verifier)) => (Some(salt.as_str()), Some(verifier.as_str())),
        None => (None, None),
    };
    // A clash of random numbers is rare; a few tries make it impossible in
    // practice without scanning for a free number.
    for _ in 0..5 {
        let number = CardNumber::generate();
        let exists = sqlx::query("SELECT id FROM cards WHERE number = $1")
            .bind(number.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_some() {
            continue;
        }
        let account_id = accounts::open_card_account(conn, number.as_str(), now).await?;
        let row = sqlx::query(&format!(
            "INSERT INTO cards (number, kind, status, customer_id, parent_card_id, account_id, \
             plate, pin_salt, pin_verifier, issued_station_id, created_at, credit) \
             VALUES ($1, $2, 'active', $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             RETURNING {CARD_COLUMNS}"
        ))
        .bind(number.as_str())
        .bind(new.kind.as_str())
        .bind(customer_id)
        .bind(new.parent.map(|p| p.id))
        .bind(account_id)
        .bind(new.plate)
        .bind(salt)
        .bind(verifier)
        .bind(new.station_id)
        .bind(now)
        .bind(i64::from(credit))
        .fetch_one(&mut *conn)
        .await?;
        let card = card_from_row(&row)?;
        if let (CardKind::Fleet, Some(company), Some(plate)) = (card.kind, customer_id, new.plate) {
            crate::fleet::vehicles::bind_card(conn, company, plate, card.id).await?;
        }
        return Ok(card);
    }
    Err(AppError::internal("opening a card", "no free card number"))
}

/// Checks a PIN and counts the try on the card row. The caller commits this
/// even when the sale itself is refused, so wrong tries always count.
pub async fn check_pin(
    conn: &mut Conn,
    pin_key: &pin::PinKey,
    card: &Card,
    given: Option<&str>,
) -> AppResult<()> {
    let (Some(salt), Some(verifier)) = (&card.pin_salt, &card.pin_verifier) else {
        return Ok(());
    };
    if card.pin_failures >= pin::MAX_TRIES {
        return card.ensure_can_spend();
    }
    let Some(given) = given else {
        return Err(AppError::new(Code::PinRequired, "this card needs its PIN"));
    };
    if pin_key.matches(salt, given, verifier) {
        if card.pin_failures > 0 {
            sqlx::query("UPDATE cards SET pin_failures = 0 WHERE id = $1")
                .bind(card.id)
                .execute(&mut *conn)
                .await?;
        }
        return Ok(());
    }
    let row = sqlx::query(
        "UPDATE cards SET pin_failures = pin_failures + 1, \
         status = CASE WHEN pin_failures + 1 >= $1 AND status = 'active' THEN 'locked' \
                  ELSE status END \
         WHERE id = $2 RETURNING pin_failures",
    )
    .bind(pin::MAX_TRIES)
    .bind(card.id)
    .fetch_one(&mut *conn)
    .await?;
    let failures: i64 = row.try_get("pin_failures")?;
    let left = (pin::MAX_TRIES - failures).max(0);
    if left == 0 {
        return Err(AppError::new(
            Code::PinLocked,
            "wrong PIN; the card is now locked until a cashier unlocks it",
        )
        .with("tries_left", 0));
    }
    Err(
        AppError::new(Code::WrongPin, format!("wrong PIN; {left} tries left"))
            .with("tries_left", left),
    )
}
