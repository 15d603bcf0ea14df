//! How the counter knows the holder is asking. Closing, replacing,
//! converting or unlocking a card pays out, moves or frees its money, so
//! the counter needs the card's PIN or — when the PIN is forgotten or the
//! card lost — the holder's ID document checked against the customer's
//! record (a company card: the company's registered document). A bearer
//! card (anonymous, without a PIN) is its own proof. What was checked goes
//! into the audit record of the change.

use serde::Deserialize;
use serde_json::{Value, json};

use super::customers::{Customer, IdKind};
use super::{Card, CardKind};
use crate::error::{AppError, AppResult, Code};

/// An ID document as the holder shows it at the counter.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub document_kind: IdKind,
    /// As printed on the document; spaces and letter case do not matter.
    pub document_number: String,
}

/// What the counter offers as the holder's word.
#[derive(Debug, Clone, Copy)]
pub enum Word<'a> {
    /// The card's PIN, verified (and counted) before the change.
    Pin,
    /// The holder's ID document, checked in the change's transaction.
    Identity(&'a Identity),
    /// Nothing.
    Nothing,
}

impl<'a> Word<'a> {
    /// The word a request offers: a PIN it gave (tried before the change)
    /// comes first, then a document.
    pub fn offered(pin: bool, identity: Option<&'a Identity>) -> Word<'a> {
        match (pin, identity) {
            (true, _) => Word::Pin,
            (false, Some(id)) => Word::Identity(id),
            (false, None) => Word::Nothing,
        }
    }
}

/// What was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Pin,
    Identity(IdKind),
    Bearer,
}

impl Checked {
    /// The audit record's note of the check.
    pub fn audit(self) -> Value {
        match self {
            Checked::Pin => json!({"holder_check": "pin"}),
            Checked::Identity(kind) => {
                json!({"holder_check": "identity checked", "document_kind": kind.as_str()})
            }
            Checked::Bearer => json!({"holder_check": "bearer card"}),
        }
    }
}

fn normalised(number: &str) -> String {
    number
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Whether `shown` is the document on `recorded`'s record: the same kind
/// and the same number, spaces and letter case aside. A record without a
/// document matches nothing.
pub fn same_document(recorded: &Customer, shown: &Identity) -> bool {
    match (recorded.id_kind, recorded.id_number.as_deref()) {
        (Some(kind), Some(number)) => {
            kind == shown.document_kind && normalised(number) == normalised(&shown.document_number)
        }
        _ => false,
    }
}

/// Whether a document is on `holder`'s record to compare one with.
pub fn on_record(holder: Option<&Customer>) -> bool {
    holder.is_some_and(|h| h.id_kind.is_some() && h.id_number.is_some())
}

/// The pure rule: is `word` the holder's, for `card` held by `holder`?
pub fn confirm(card: &Card, holder: Option<&Customer>, word: Word<'_>) -> AppResult<Checked> {
    match word {
        Word::Pin if card.pin_verifier.is_some() => Ok(Checked::Pin),
        Word::Identity(shown) => match holder.filter(|h| on_record(Some(h))) {
            Some(h) if same_document(h, shown) => Ok(Checked::Identity(shown.document_kind)),
            Some(_) => Err(AppError::new(
                Code::IdentityMismatch,
                format!(
                    "the document shown is not the one on record for card {}",
                    card.number
                ),
            )),
            None => Err(AppError::new(
                Code::IdentityMismatch,
                format!(
                    "no ID document is on record for the holder of card {}; only its PIN \
                         can confirm the holder",
                    card.number
                ),
            )),
        },
        Word::Nothing if card.kind == CardKind::Anonymous && card.pin_verifier.is_none() => {
            Ok(Checked::Bearer)
        }
        Word::Pin | Word::Nothing => Err(AppError::new(
            Code::HolderCheckRequired,
            format!(
                "card {} changes only with its PIN or the holder's ID document (identity)",
                card.number
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cards::CardStatus;
    use crate::cards::customers::CustomerKind;

    fn card(kind: CardKind, pin: bool) -> Card {
        Card {
            id: 1,
            number: "9100000000000001".into(),
            kind,
            status: CardStatus::Active,
            customer_id: Some(1),
            parent_card_id: None,
            account_id: 1,
            plate: None,
            pin_salt: None,
            pin_verifier: pin.then(|| "v".to_string()),
            pin_failures: 0,
            lost_at: None,
            created_at: 0,
            credit: false,
        }
    }

    fn holder(id: Option<(&str, IdKind)>) -> Customer {
        Customer {
            id: 1,
            kind: CustomerKind::Person,
            name: "张伟".into(),
            phone: None,
            id_number: id.map(|(n, _)| n.to_string()),
            id_kind: id.map(|(_, k)| k),
            contact_name: None,
            address: None,
            consents: Default::default(),
        }
    }

    fn shown(kind: IdKind, number: &str) -> Identity {
        Identity {
            document_kind: kind,
            document_number: number.into(),
        }
    }

    #[test]
    fn the_document_on_record_confirms_the_holder() {
        let h = holder(Some(("33010219800101123X", IdKind::ResidentId)));
        let c = card(CardKind::Personal, true);
        let id = shown(IdKind::ResidentId, " 330102 19800101 123x ");
        assert_eq!(
            confirm(&c, Some(&h), Word::Identity(&id)).ok(),
            Some(Checked::Identity(IdKind::ResidentId))
        );
        for other in [
            shown(IdKind::ResidentId, "330102198001011230"),
            shown(IdKind::Passport, "33010219800101123X"),
        ] {
            let e = confirm(&c, Some(&h), Word::Identity(&other)).unwrap_err();
            assert_eq!(e.code, Code::IdentityMismatch);
        }
        let e = confirm(&c, Some(&holder(None)), Word::Identity(&id)).unwrap_err();
        assert_eq!(e.code, Code::IdentityMismatch);
    }

    #[test]
    fn without_pin_or_document_only_a_bearer_card_changes() {
        let h = holder(None);
        for c in [
            card(CardKind::Personal, true),
            card(CardKind::Personal, false),
        ] {
            let e = confirm(&c, Some(&h), Word::Nothing).unwrap_err();
            assert_eq!(e.code, Code::HolderCheckRequired);
        }
        let e = confirm(&card(CardKind::Personal, false), Some(&h), Word::Pin).unwrap_err();
        assert_eq!(e.code, Code::HolderCheckRequired);
        assert_eq!(
            confirm(&card(CardKind::Anonymous, false), None, Word::Nothing).ok(),
            Some(Checked::Bearer)
        );
        let e = confirm(&card(CardKind::Anonymous, true), None, Word::Nothing).unwrap_err();
        assert_eq!(e.code, Code::HolderCheckRequired);
    }
}
