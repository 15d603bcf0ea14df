//! Where each card came from: who opened it, at which station, through
//! which channel (a flyer batch, a stand, a referral, the station itself, a
//! partner's offer, a development visit), and whether it brought a new
//! customer. A card's first sale and first recharge are written onto its
//! opening as they happen, so the acquisition figures read one row per new
//! customer instead of scanning the ledger.

use serde::{Deserialize, Serialize};

use super::{Card, CardKind};
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::money::Money;

/// How a customer came to open a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A flyer; `ref` is the flyer batch code.
    Flyer,
    /// A stand or event outside the station.
    Stand,
    /// Another customer's word; `ref` is the referring card's number.
    Referral,
    /// At the station, unprompted (the default).
    InStation,
    /// A merchant partner's offer; `ref` is the offer code.
    Partner,
    /// A development visit; `ref` is the prospect's id.
    Visit,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Flyer => "flyer",
            ChannelKind::Stand => "stand",
            ChannelKind::Referral => "referral",
            ChannelKind::InStation => "in_station",
            ChannelKind::Partner => "partner",
            ChannelKind::Visit => "visit",
        }
    }

    /// Whether the channel names what brought the customer (`ref`).
    fn needs_ref(self) -> bool {
        !matches!(self, ChannelKind::Stand | ChannelKind::InStation)
    }
}

/// The channel a card was opened through, as a request gives it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub kind: ChannelKind,
    /// The flyer batch, the referring card, the offer code or the
    /// prospect id; none for a stand or the station itself.
    #[serde(default, rename = "ref")]
    #[schema(example = "FLY-2026-11-A")]
    pub reference: Option<String>,
}

impl Channel {
    /// A card opened at the station with no other channel named.
    pub fn in_station() -> Channel {
        Channel {
            kind: ChannelKind::InStation,
            reference: None,
        }
    }

    /// Checks the channel's form: a reference where the kind needs one
    /// (1–40 characters, no control characters), none where it does not.
    /// A referral's card number and a visit's prospect are looked up by
    /// whoever opens the card.
    pub fn validate(&self) -> AppResult<Channel> {
        let reference = self.reference.as_deref().map(str::trim);
        let bad = |m: String| AppError::invalid("channel", m);
        match (self.kind.needs_ref(), reference) {
            (true, None | Some("")) => Err(bad(format!(
                "channel {}: ref is required",
                self.kind.as_str()
            ))),
            (false, Some(_)) => Err(bad(format!("channel {}: takes no ref", self.kind.as_str()))),
            (_, Some(r)) => {
                crate::text::refuse_control("channel.ref", r)?;
                if r.chars().count() > 40 {
                    return Err(bad("channel.ref: at most 40 characters".into()));
                }
                Ok(Channel {
                    kind: self.kind,
                    reference: Some(r.to_string()),
                })
            }
            (false, None) => Ok(Channel {
                kind: self.kind,
                reference: None,
            }),
        }
    }

    /// The prospect a visit channel names.
    pub fn prospect(&self) -> AppResult<Option<i64>> {
        match (self.kind, &self.reference) {
            (ChannelKind::Visit, Some(r)) => r.parse().map(Some).map_err(|_| {
                AppError::invalid("channel", "channel visit: ref is the prospect's id")
            }),
            _ => Ok(None),
        }
    }
}

/// Which new customer a card brings, if any: a personal or anonymous card
/// brings a person, a company's main card the company; its other cards
/// bring nobody new.
pub fn new_customer_kind(kind: CardKind) -> Option<&'static str> {
    match kind {
        CardKind::Personal | CardKind::Anonymous => Some("person"),
        CardKind::CompanyMain => Some("company"),
        CardKind::CompanySub | CardKind::Fleet => None,
    }
}

/// Records a card's opening. A referral must name a card on file.
pub async fn record(
    conn: &mut Conn,
    card: &Card,
    user_id: i64,
    station_id: Option<i64>,
    channel: &Channel,
    prospect_id: Option<i64>,
    now: i64,
) -> AppResult<()> {
    if let (ChannelKind::Referral, Some(r)) = (channel.kind, &channel.reference) {
        let referrer = super::parse_number(r).map_err(|e| e.with("field", "channel"))?;
        super::find(conn, &referrer).await?;
    }
    sqlx::query(
        "INSERT INTO card_openings (card_id, user_id, station_id, customer_kind, channel, \
         channel_ref, prospect_id, opened_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(card.id)
    .bind(user_id)
    .bind(station_id)
    .bind(new_customer_kind(card.kind))
    .bind(channel.kind.as_str())
    .bind(channel.reference.as_deref())
    .bind(prospect_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Notes a sale on `card`, on the card's opening and, for a company's card,
/// on the company's (its main card's): the first one activates it, and the
/// latest shows the customer is still refuelling.
pub async fn note_sale(conn: &mut Conn, card: &Card, now: i64) -> AppResult<()> {
    sqlx::query(
        "UPDATE card_openings SET first_sale_at = COALESCE(first_sale_at, $1), \
         last_sale_at = $1 WHERE card_id IN ($2, $3)",
    )
    .bind(now)
    .bind(card.id)
    .bind(card.parent_card_id.unwrap_or(card.id))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Notes a recharge on `card`: the first one is the opening's first
/// recharge.
pub async fn note_recharge(conn: &mut Conn, card: &Card, amount: Money) -> AppResult<()> {
    sqlx::query(
        "UPDATE card_openings SET first_recharge_fen = $1 \
         WHERE card_id = $2 AND first_recharge_fen IS NULL",
    )
    .bind(amount.fen())
    .bind(card.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(kind: ChannelKind, reference: Option<&str>) -> Channel {
        Channel {
            kind,
            reference: reference.map(String::from),
        }
    }

    #[test]
    fn a_channel_names_its_source_where_it_has_one() {
        assert!(channel(ChannelKind::Flyer, Some("B1")).validate().is_ok());
        assert!(channel(ChannelKind::Flyer, None).validate().is_err());
        assert!(channel(ChannelKind::Flyer, Some("  ")).validate().is_err());
        let stand = channel(ChannelKind::Stand, None).validate().unwrap();
        assert_eq!(stand.kind, ChannelKind::Stand);
        assert!(channel(ChannelKind::Stand, Some("x")).validate().is_err());
        assert!(
            channel(ChannelKind::Partner, Some("a\u{1b}b"))
                .validate()
                .is_err()
        );
        let long = "x".repeat(41);
        assert!(
            channel(ChannelKind::Partner, Some(&long))
                .validate()
                .is_err()
        );
    }

    #[test]
    fn a_visit_names_a_prospect_by_id() {
        assert_eq!(
            channel(ChannelKind::Visit, Some("12")).prospect().ok(),
            Some(Some(12))
        );
        assert!(channel(ChannelKind::Visit, Some("x")).prospect().is_err());
        assert_eq!(
            channel(ChannelKind::Referral, Some("9100")).prospect().ok(),
            Some(None)
        );
    }

    #[test]
    fn only_a_first_card_brings_a_new_customer() {
        assert_eq!(new_customer_kind(CardKind::Personal), Some("person"));
        assert_eq!(new_customer_kind(CardKind::CompanyMain), Some("company"));
        assert_eq!(new_customer_kind(CardKind::Fleet), None);
    }
}
