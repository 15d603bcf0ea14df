//! Issuing a chip: writing a blank card for a card the host has opened.

use chrono::Datelike as _;
use fuelcard_reader::purse::data::{Holder, PublicData};
use fuelcard_reader::purse::flows::{self, Personalisation};
use fuelcard_reader::transport::Transport;

use super::{Desk, refused};
use crate::cards::CardNumber;
use crate::error::{AppError, AppResult, Code};

/// The issuer identifier written into every chip: the card-number prefix.
const ISSUER_ID: [u8; 8] = [0x91, 0x00, 0, 0, 0, 0, 0, 0];
/// Application type 01: the stored-value (ED) fuel application.
const APP_TYPE: u8 = 0x01;
const APP_VERSION: u8 = 0x01;
const KEY_VERSION: u8 = 0x01;
/// Years a chip is valid from issue.
const VALID_YEARS: i32 = 10;

/// A date as the card stores it: BCD `YYYYMMDD`, which is the decimal
/// digits read as hex.
fn bcd_date(d: chrono::NaiveDate) -> AppResult<[u8; 4]> {
    let digits = d.format("%Y%m%d").to_string();
    hex::decode(&digits)
        .ok()
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .ok_or_else(|| AppError::internal("a card date", digits))
}

/// The longest prefix of `name` that fits `max` bytes of UTF-8.
fn fit(name: &str, max: usize) -> &str {
    let mut end = name.len().min(max);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Writes the blank card in the slot as `number`, with the holder's name
/// (cut to the 20 bytes the card file holds) and the PIN.
pub fn personalise(
    desk: &Desk,
    transport: &mut dyn Transport,
    number: &CardNumber,
    holder: &str,
    pin: &str,
    today: chrono::NaiveDate,
) -> AppResult<PublicData> {
    if !(4..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::new(Code::ValidationFailed, "pin: 4 to 12 digits"));
    }
    let expiry = today.with_year(today.year() + VALID_YEARS).unwrap_or(today);
    let holder = Holder::new(0x01, false, fit(holder, 20), "", 0)
        .map_err(|e| AppError::new(Code::ValidationFailed, e.to_string()))?;
    let p = Personalisation {
        aid: desk.aid.clone(),
        card_number: number.as_str().to_string(),
        holder,
        issuer_id: ISSUER_ID,
        app_type: APP_TYPE,
        app_version: APP_VERSION,
        start_date: bcd_date(today)?,
        expiry_date: bcd_date(expiry)?,
        key_version: KEY_VERSION,
    };
    flows::personalise(transport, &*desk.keys, &p, pin).map_err(refused)
}

/// Issues the chip for a card the host has open: the holder's name from
/// the customer, the blank card written, and an audit record.
pub async fn issue(
    db: &crate::db::Db,
    desk: std::sync::Arc<Desk>,
    actor: &crate::auth::Actor,
    number: &CardNumber,
    pin: &str,
    now: i64,
) -> AppResult<()> {
    let holder = {
        let mut conn = db.pool().acquire().await?;
        let card = crate::cards::find(&mut conn, number).await?;
        card.ensure_can_spend()?;
        match card.customer_id {
            Some(id) => crate::cards::customers::get(&mut conn, id).await?.name,
            None => String::new(),
        }
    };
    let written = number.clone();
    let pin = pin.to_string();
    let today = crate::time::local_date(now, chrono_tz::UTC);
    super::with_card(desk, move |desk, transport, _| {
        personalise(desk, transport, &written, &holder, &pin, today).map(|_| ())
    })
    .await?;
    let mut tx = db.begin_write().await?;
    actor
        .audit(
            &mut tx,
            now,
            "chip_personalised",
            number.as_str(),
            serde_json::json!({}),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_bcd() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).expect("a date");
        assert_eq!(bcd_date(d).expect("bcd"), [0x20, 0x26, 0x11, 0x23]);
    }

    #[test]
    fn names_are_cut_on_character_boundaries() {
        assert_eq!(fit("张三丰李四王五赵六钱七", 20), "张三丰李四王");
        assert_eq!(fit("Li Lei", 20), "Li Lei");
    }
}
