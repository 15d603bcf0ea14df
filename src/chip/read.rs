//! Reading a card at the counter: what the chip holds beside what the host
//! holds, after settling whatever the card left half-done (a torn load, a
//! grey-locked fill) — at whichever station the card is read.

use fuelcard_reader::purse::Purse;
use fuelcard_reader::purse::data::{GreyFlag, PublicData};
use serde::Serialize;
use sqlx::Row;

use super::{Desk, Host, fills, loads, refused};
use crate::cards::CardNumber;
use crate::error::AppResult;
use crate::money::Money;

/// Something a read finished for the card.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Settlement {
    /// `load`, `fill`, or `lock` (a grey lock with no fill on the host; its
    /// id is the ledger operation that records the release).
    pub kind: String,
    pub id: i64,
    /// `loaded`, `reversed` (a load), `settled`, `voided` (a fill) or
    /// `released` (a lock).
    pub outcome: String,
    #[schema(value_type = String)]
    pub amount: Money,
}

/// One transaction record on the chip.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChipRecord {
    pub ttc: u16,
    /// `01` load, `05`/`06` purchase, `93` debit for unlock …, hex.
    pub txn_type: String,
    #[schema(value_type = String)]
    pub amount: Money,
    pub terminal: String,
    /// YYYYMMDDhhmmss as the card stores it.
    pub time: String,
}

/// The chip beside the host.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChipView {
    pub card_number: String,
    pub holder: String,
    /// The balance on the chip.
    #[schema(value_type = String, example = "70.00")]
    pub chip_balance: Money,
    /// The host's mirror of the chip (the card's chip account).
    #[schema(value_type = String, example = "70.00")]
    pub host_chip_balance: Money,
    /// True when the chip and the host's mirror hold the same value.
    pub agree: bool,
    /// What the card can spend on the host account (not on the chip).
    #[schema(value_type = String)]
    pub host_balance: Money,
    /// `clear`, `locked` (a fill is under way or unsettled) or `tac_unread`.
    pub grey: String,
    pub settled: Vec<Settlement>,
    pub records: Vec<ChipRecord>,
}

/// Settles what this card left half-done: a pending load, then a fill.
pub fn settle(
    host: &Host<'_>,
    desk: &Desk,
    purse: &mut Purse<'_>,
    public: &PublicData,
) -> AppResult<Vec<Settlement>> {
    let mut done = Vec::new();
    done.extend(loads::settle_pending(host, desk, purse, public)?);
    done.extend(fills::settle_grey(host, desk, purse, public)?);
    Ok(done)
}

/// Reads the card in the slot (settling first) and compares with the host.
pub fn read(
    host: &Host<'_>,
    desk: &Desk,
    transport: &mut dyn fuelcard_reader::transport::Transport,
    expected: Option<&CardNumber>,
) -> AppResult<ChipView> {
    let mut opened = super::open(transport, desk, expected)?;
    let settled = settle(host, desk, &mut opened.purse, &opened.public)?;
    let purse = &mut opened.purse;
    let holder = purse.read_holder().map_err(refused)?;
    let chip_balance = Money::from_fen(i64::from(purse.balance().map_err(refused)?));
    let grey = match purse.grey_status().map_err(refused)?.flag {
        GreyFlag::Clear => "clear",
        GreyFlag::Locked => "locked",
        GreyFlag::TacUnread => "tac_unread",
    };
    let records = purse
        .records()
        .map_err(refused)?
        .into_iter()
        .map(|r| ChipRecord {
            ttc: r.ttc,
            txn_type: format!("{:02X}", r.txn_type),
            amount: Money::from_fen(i64::from(r.amount_fen)),
            terminal: hex::encode_upper(r.terminal),
            time: format!("{}{}", hex::encode(r.date), hex::encode(r.time)),
        })
        .collect();
    let number = opened.public.card_number.clone();
    let (host_chip, host_balance) = host.handle.block_on(async {
        let mut conn = host.db.pool().acquire().await?;
        let row = sqlx::query(
            "SELECT COALESCE((SELECT balance_fen FROM accounts WHERE name = $1), 0) AS chip, \
               COALESCE((SELECT a.balance_fen - a.held_fen FROM cards c \
                 JOIN accounts a ON a.id = c.account_id WHERE c.number = $2), 0) AS host",
        )
        .bind(format!("chip:{number}"))
        .bind(&number)
        .fetch_one(&mut *conn)
        .await?;
        AppResult::Ok((
            row.try_get::<i64, _>("chip")?,
            row.try_get::<i64, _>("host")?,
        ))
    })?;
    let host_chip_balance = Money::from_fen(host_chip);
    Ok(ChipView {
        card_number: number,
        holder: holder.name,
        chip_balance,
        host_chip_balance,
        agree: chip_balance == host_chip_balance,
        host_balance: Money::from_fen(host_balance),
        grey: grey.into(),
        settled,
        records,
    })
}
