//! What the API and the pages read without writing: a card, its statement,
//! a recharge's quote, a hold, the ledger check, receipts, and the lists
//! a form chooses from (products, stations, districts).
//!
//! Each read asks the policy where the business it shows belongs to
//! someone, on one pooled connection given back before the answer is
//! rendered; the faces then hold no database access of their own.

use super::App;
use crate::alliance::engine::Granted;
use crate::alliance::receipts;
use crate::auth::Actor;
use crate::auth::policy::{Action, Target, authorize, authorize_role, permits};
use crate::cards::products::{self, Price, Product};
use crate::cards::recharge::{self, Quote, RechargeReceipt};
use crate::cards::sale::{self, SaleReceipt};
use crate::cards::statement::{self, Statement};
use crate::cards::{self, CardNumber, CardView, customers};
use crate::error::AppResult;
use crate::ledger::{check, holds};
use crate::money::Money;
use crate::stations::{self, Station, districts};

/// The most cards a customer's card list shows.
const CUSTOMER_CARDS: i64 = 500;

/// A card with its holder, status and balances, if the actor may see it
/// (a card outside their scope is not found).
pub async fn card(app: &App, actor: &Actor, number: &CardNumber) -> AppResult<CardView> {
    let mut conn = app.db.pool().acquire().await?;
    let card = cards::find_visible(&mut conn, actor, number).await?;
    cards::view(&mut conn, &card, actor).await
}

/// What the counter's card page shows: the card as the actor may see it,
/// its last ten lines, the products to sell, and — just after it was
/// opened — what the opening earned.
pub struct CounterCard {
    pub view: CardView,
    pub recent: Statement,
    pub products: Vec<(Product, Option<Price>)>,
    pub earned: Vec<Granted>,
}

/// The counter's card page's reads, on one connection.
pub async fn counter_card(
    app: &App,
    actor: &Actor,
    number: &CardNumber,
    just_opened: bool,
) -> AppResult<CounterCard> {
    let mut conn = app.db.pool().acquire().await?;
    let card = cards::find_visible(&mut conn, actor, number).await?;
    let earned = if just_opened {
        receipts::for_event(&mut conn, &format!("card_opened:{}", card.id)).await?
    } else {
        Vec::new()
    };
    Ok(CounterCard {
        view: cards::view(&mut conn, &card, actor).await?,
        recent: statement::page(&mut conn, &card, 1, 10).await?,
        products: products::list(&mut conn, app.now()).await?,
        earned,
    })
}

/// The stations a district manager's business covers (their district's),
/// or everyone else's the network's.
pub async fn stations_of(app: &App, actor: &Actor) -> AppResult<Vec<Station>> {
    let all = stations(app).await?;
    Ok(match actor.district.as_ref() {
        Some(d) if actor.station_id.is_none() => {
            all.into_iter().filter(|st| &st.district == d).collect()
        }
        _ => all,
    })
}

/// A customer's cards that the actor may see (at most 500): none for
/// those who may not see the customer.
pub async fn cards_of_customer(
    app: &App,
    actor: &Actor,
    customer_id: i64,
) -> AppResult<Vec<CardView>> {
    authorize_role(actor, Action::ReadCard)?;
    // Listing a customer's cards by id is for those who may see the
    // customer; the counter searches by exact phone.
    if !permits(
        actor,
        Action::ReadPersonalData,
        &Target::company(customer_id),
    ) {
        return Ok(Vec::new());
    }
    let mut conn = app.db.pool().acquire().await?;
    let numbers = customers::cards_of(&mut conn, customer_id, CUSTOMER_CARDS).await?;
    let mut items = Vec::new();
    for n in numbers {
        let number = cards::parse_number(&n)?;
        if let Ok(card) = cards::find_visible(&mut conn, actor, &number).await {
            items.push(cards::view(&mut conn, &card, actor).await?);
        }
    }
    Ok(items)
}

/// One page of a card's statement, newest first.
pub async fn statement(
    app: &App,
    actor: &Actor,
    number: &CardNumber,
    page: i64,
    per_page: i64,
) -> AppResult<Statement> {
    let mut conn = app.db.pool().acquire().await?;
    let card = cards::find_visible(&mut conn, actor, number).await?;
    statement::page(&mut conn, &card, page, per_page).await
}

/// What a recharge of `amount` would earn on the card (bonus, gift) with
/// the campaign named, if it is in force; nothing is booked.
pub async fn recharge_preview(
    app: &App,
    actor: &Actor,
    number: &CardNumber,
    amount: Money,
    campaign_code: Option<&str>,
) -> AppResult<Quote> {
    authorize(actor, Action::Recharge, &Target::network())?;
    let mut conn = app.db.pool().acquire().await?;
    let card = cards::find(&mut conn, number).await?;
    recharge::preview(&mut conn, &card, amount, campaign_code, app.now()).await
}

/// The counter's recharge offer: the card (which must be able to receive
/// money) and what a recharge of `amount` would earn at the promotion in
/// force.
pub async fn recharge_offer(
    app: &App,
    actor: &Actor,
    number: &CardNumber,
    amount: Money,
) -> AppResult<(CardView, Quote)> {
    let mut conn = app.db.pool().acquire().await?;
    let card = cards::find(&mut conn, number).await?;
    card.ensure_can_receive()?;
    let view = cards::view(&mut conn, &card, actor).await?;
    let quote = recharge::preview(&mut conn, &card, amount, None, app.now()).await?;
    Ok((view, quote))
}

/// A recharge's receipt, for those who may read the station's receipts,
/// with the partners' benefits it earned.
pub async fn recharge_receipt(
    app: &App,
    actor: &Actor,
    id: i64,
) -> AppResult<(RechargeReceipt, Vec<Granted>)> {
    let mut conn = app.db.pool().acquire().await?;
    let r = recharge::receipt(&mut conn, id).await?;
    authorize(
        actor,
        Action::ReadReceipt,
        &Target::at_station(r.station_id),
    )?;
    let earned = receipts::for_event(&mut conn, &format!("recharge:{id}")).await?;
    Ok((r, earned))
}

/// A sale's receipt, for those who may read the station's receipts, with
/// the code of the product it names (empty when no product has its name
/// now) and the partners' benefits it earned.
pub async fn sale_receipt(
    app: &App,
    actor: &Actor,
    id: i64,
) -> AppResult<(SaleReceipt, String, Vec<Granted>)> {
    let mut conn = app.db.pool().acquire().await?;
    let r = sale::receipt(&mut conn, id).await?;
    authorize(
        actor,
        Action::ReadReceipt,
        &Target::at_station(r.station_id),
    )?;
    // The receipt names the product as stored; a page names it in its
    // language, by the product's code.
    let code = products::list(&mut conn, app.now())
        .await?
        .into_iter()
        .find(|(p, _)| p.name == r.product)
        .map(|(p, _)| p.code)
        .unwrap_or_default();
    let earned = receipts::for_event(&mut conn, &format!("sale:{id}")).await?;
    Ok((r, code, earned))
}

/// A hold and its state, for those who settle holds at its station.
pub async fn hold(app: &App, actor: &Actor, id: i64) -> AppResult<holds::Hold> {
    authorize_role(actor, Action::SettleHold)?;
    let mut conn = app.db.pool().acquire().await?;
    let hold = holds::get(&mut conn, id).await?;
    authorize(actor, Action::SettleHold, &Target::at(hold.station_id))?;
    Ok(hold)
}

/// The ledger's invariants checked (auditors of the whole network).
pub async fn ledger_check(app: &App, actor: &Actor) -> AppResult<check::Report> {
    authorize(actor, Action::Audit, &Target::network())?;
    let mut conn = app.db.pool().acquire().await?;
    check::run(&mut conn).await
}

/// The customer a card belongs to (`None` for an anonymous card).
pub async fn customer_of_card(app: &App, number: &CardNumber) -> AppResult<Option<i64>> {
    let mut conn = app.db.pool().acquire().await?;
    Ok(cards::find(&mut conn, number).await?.customer_id)
}

/// The products with their prices in force now.
pub async fn products(app: &App) -> AppResult<Vec<(Product, Option<Price>)>> {
    let mut conn = app.db.pool().acquire().await?;
    products::list(&mut conn, app.now()).await
}

/// A station by its id.
pub async fn station(app: &App, id: i64) -> AppResult<Station> {
    let mut conn = app.db.pool().acquire().await?;
    stations::get(&mut conn, id).await
}

/// The network's stations, by code.
pub async fn stations(app: &App) -> AppResult<Vec<Station>> {
    let mut conn = app.db.pool().acquire().await?;
    stations::list(&mut conn).await
}

/// The network's districts, by code.
pub async fn districts(app: &App) -> AppResult<Vec<districts::District>> {
    let mut conn = app.db.pool().acquire().await?;
    districts::list(&mut conn).await
}
