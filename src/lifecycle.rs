//! The states of the business's long-lived records — cards, holds, pump
//! fills, top-up requests, card loans, allocation plans, prospects,
//! complaints, planned visits — and the moves between them, in one place.
//! Each room moves its records with a conditional update (`… WHERE status
//! = <from>`), so two requests cannot both make the same move; when the
//! update finds the record elsewhere, the refusal says where it is and
//! where it cannot go (`illegal_transition`), unless the room has a more
//! telling code of its own (a hold that is no longer active, a settled
//! fill, an approved plan).

use std::fmt::Display;

use serde::{Deserialize, Serialize};

use crate::cards::CardStatus;
use crate::error::{AppError, AppResult, Code};

/// A record's states and the moves between them.
pub trait Status: Copy + Eq + std::fmt::Debug + 'static {
    /// What the record is called in a refusal ("card", "top-up", …).
    const RECORD: &'static str;
    /// Every state.
    const ALL: &'static [Self];

    /// The state as stored and as the API writes it.
    fn as_str(self) -> &'static str;

    /// The states this one may move to.
    fn moves_to(self) -> &'static [Self];

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.as_str() == text)
    }

    /// Reads a stored state; a value outside the list is a broken database.
    fn stored(text: &str) -> AppResult<Self> {
        Self::parse(text).ok_or_else(|| {
            AppError::internal(
                "reading a state",
                format!("{} state {text:?} is not known", Self::RECORD),
            )
        })
    }
}

/// The refusal of a move the record's state does not allow.
pub fn illegal<S: Status>(id: impl Display, from: S, to: S) -> AppError {
    AppError::new(
        Code::IllegalTransition,
        format!(
            "{} {id} is {} and cannot become {}",
            S::RECORD,
            from.as_str(),
            to.as_str()
        ),
    )
    .with("from", from.as_str())
    .with("to", to.as_str())
}

/// Refuses a move the record's state does not allow.
pub fn ensure_move<S: Status>(id: impl Display, from: S, to: S) -> AppResult<()> {
    if from.moves_to().contains(&to) {
        Ok(())
    } else {
        Err(illegal(id, from, to))
    }
}

impl Status for CardStatus {
    const RECORD: &'static str = "card";
    const ALL: &'static [Self] = &[
        CardStatus::Active,
        CardStatus::Locked,
        CardStatus::Lost,
        CardStatus::Replaced,
        CardStatus::Closed,
    ];

    fn as_str(self) -> &'static str {
        CardStatus::as_str(self)
    }

    /// A card locks on wrong PINs and is unlocked; it is reported lost from
    /// use; it is replaced or closed from any state but those two ends.
    fn moves_to(self) -> &'static [Self] {
        use CardStatus::*;
        match self {
            Active => &[Locked, Lost, Replaced, Closed],
            Locked => &[Active, Lost, Replaced, Closed],
            Lost => &[Replaced, Closed],
            Replaced | Closed => &[],
        }
    }
}

/// A pre-authorisation: active until captured, voided or expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldStatus {
    Active,
    Captured,
    Voided,
    Expired,
}

impl Status for HoldStatus {
    const RECORD: &'static str = "hold";
    const ALL: &'static [Self] = &[
        HoldStatus::Active,
        HoldStatus::Captured,
        HoldStatus::Voided,
        HoldStatus::Expired,
    ];

    fn as_str(self) -> &'static str {
        match self {
            HoldStatus::Active => "active",
            HoldStatus::Captured => "captured",
            HoldStatus::Voided => "voided",
            HoldStatus::Expired => "expired",
        }
    }

    fn moves_to(self) -> &'static [Self] {
        match self {
            HoldStatus::Active => &[
                HoldStatus::Captured,
                HoldStatus::Voided,
                HoldStatus::Expired,
            ],
            _ => &[],
        }
    }
}

/// A company's request to top up a vehicle's allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TopUpStatus {
    Requested,
    Approved,
    Rejected,
}

impl Status for TopUpStatus {
    const RECORD: &'static str = "top-up";
    const ALL: &'static [Self] = &[
        TopUpStatus::Requested,
        TopUpStatus::Approved,
        TopUpStatus::Rejected,
    ];

    fn as_str(self) -> &'static str {
        match self {
            TopUpStatus::Requested => "requested",
            TopUpStatus::Approved => "approved",
            TopUpStatus::Rejected => "rejected",
        }
    }

    fn moves_to(self) -> &'static [Self] {
        match self {
            TopUpStatus::Requested => &[TopUpStatus::Approved, TopUpStatus::Rejected],
            _ => &[],
        }
    }
}

/// A vehicle's card lent to a driver: requested, approved (or rejected),
/// handed out, returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoanStatus {
    Requested,
    Approved,
    Rejected,
    HandedOut,
    Returned,
}

impl Status for LoanStatus {
    const RECORD: &'static str = "card loan";
    const ALL: &'static [Self] = &[
        LoanStatus::Requested,
        LoanStatus::Approved,
        LoanStatus::Rejected,
        LoanStatus::HandedOut,
        LoanStatus::Returned,
    ];

    fn as_str(self) -> &'static str {
        match self {
            LoanStatus::Requested => "requested",
            LoanStatus::Approved => "approved",
            LoanStatus::Rejected => "rejected",
            LoanStatus::HandedOut => "handed_out",
            LoanStatus::Returned => "returned",
        }
    }

    fn moves_to(self) -> &'static [Self] {
        match self {
            LoanStatus::Requested => &[LoanStatus::Approved, LoanStatus::Rejected],
            LoanStatus::Approved => &[LoanStatus::HandedOut],
            LoanStatus::HandedOut => &[LoanStatus::Returned],
            LoanStatus::Rejected | LoanStatus::Returned => &[],
        }
    }
}

/// A company's monthly allocation plan: a draft until approved (and
/// funded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Draft,
    Approved,
}

impl Status for PlanStatus {
    const RECORD: &'static str = "allocation plan";
    const ALL: &'static [Self] = &[PlanStatus::Draft, PlanStatus::Approved];

    fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Draft => "draft",
            PlanStatus::Approved => "approved",
        }
    }

    fn moves_to(self) -> &'static [Self] {
        match self {
            PlanStatus::Draft => &[PlanStatus::Approved],
            PlanStatus::Approved => &[],
        }
    }
}

/// A fill at the pump on a chip: written down before the card is asked to
/// lock (locking), the chip grey-locked, then the pump's amount known
/// (fuelled), then the chip debited and unlocked (settled) — at this
/// counter or wherever the card is read next. A lock the card never took is
/// voided; one it took while its answer was lost reached no pump, so it is
/// settled at zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FillStatus {
    Locking,
    Locked,
    Fuelled,
    Settled,
    Voided,
}

impl Status for FillStatus {
    const RECORD: &'static str = "fill";
    const ALL: &'static [Self] = &[
        FillStatus::Locking,
        FillStatus::Locked,
        FillStatus::Fuelled,
        FillStatus::Settled,
        FillStatus::Voided,
    ];

    fn as_str(self) -> &'static str {
        match self {
            FillStatus::Locking => "locking",
            FillStatus::Locked => "locked",
            FillStatus::Fuelled => "fuelled",
            FillStatus::Settled => "settled",
            FillStatus::Voided => "voided",
        }
    }

    /// A fuelled fill's amount is reported again when the card was not in
    /// the reader the first time.
    fn moves_to(self) -> &'static [Self] {
        match self {
            FillStatus::Locking => &[FillStatus::Locked, FillStatus::Fuelled, FillStatus::Voided],
            FillStatus::Locked => &[FillStatus::Fuelled],
            FillStatus::Fuelled => &[FillStatus::Fuelled, FillStatus::Settled],
            FillStatus::Settled | FillStatus::Voided => &[],
        }
    }
}

/// A prospect's place in the development pipeline: surveyed → planned →
/// contacted → negotiating → won or lost. Any open stage may skip ahead or
/// end; a lost prospect may be taken up again (planned); won is the end
/// (reached by winning, which names the customer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Surveyed,
    Planned,
    Contacted,
    Negotiating,
    Won,
    Lost,
}

impl Status for Stage {
    const RECORD: &'static str = "prospect";
    const ALL: &'static [Self] = &[
        Stage::Surveyed,
        Stage::Planned,
        Stage::Contacted,
        Stage::Negotiating,
        Stage::Won,
        Stage::Lost,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Stage::Surveyed => "surveyed",
            Stage::Planned => "planned",
            Stage::Contacted => "contacted",
            Stage::Negotiating => "negotiating",
            Stage::Won => "won",
            Stage::Lost => "lost",
        }
    }

    fn moves_to(self) -> &'static [Self] {
        use Stage::*;
        match self {
            Surveyed => &[Planned, Contacted, Negotiating, Won, Lost],
            Planned => &[Contacted, Negotiating, Won, Lost],
            Contacted => &[Negotiating, Won, Lost],
            Negotiating => &[Won, Lost],
            Lost => &[Planned],
            Won => &[],
        }
    }
}

/// A complaint's way to closure: received → assigned → answered →
/// followed up with the customer → closed. It may be assigned again to
/// someone else until it is answered; closing needs the follow-up's
/// outcome, so a complaint is never closed without asking the customer.
/// A follow-up where the customer is not satisfied sends it back from
/// answered to assigned (reopened, with its assignee), to be answered and
/// followed up again: only a satisfied customer lets it close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintStatus {
    Received,
    Assigned,
    Answered,
    FollowedUp,
    Closed,
}

impl Status for ComplaintStatus {
    const RECORD: &'static str = "complaint";
    const ALL: &'static [Self] = &[
        ComplaintStatus::Received,
        ComplaintStatus::Assigned,
        ComplaintStatus::Answered,
        ComplaintStatus::FollowedUp,
        ComplaintStatus::Closed,
    ];

    fn as_str(self) -> &'static str {
        match self {
            ComplaintStatus::Received => "received",
            ComplaintStatus::Assigned => "assigned",
            ComplaintStatus::Answered => "answered",
            ComplaintStatus::FollowedUp => "followed_up",
            ComplaintStatus::Closed => "closed",
        }
    }

    fn moves_to(self) -> &'static [Self] {
        use ComplaintStatus::*;
        match self {
            Received => &[Assigned],
            Assigned => &[Assigned, Answered],
            Answered => &[FollowedUp, Assigned],
            FollowedUp => &[Closed],
            Closed => &[],
        }
    }
}

/// A planned visit to a customer: planned, then done by the visit logged
/// for it, or cancelled. Either end is final: a visit done or called off
/// is planned again as a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VisitStatus {
    Planned,
    Done,
    Cancelled,
}

impl Status for VisitStatus {
    const RECORD: &'static str = "visit";
    const ALL: &'static [Self] = &[
        VisitStatus::Planned,
        VisitStatus::Done,
        VisitStatus::Cancelled,
    ];

    fn as_str(self) -> &'static str {
        match self {
            VisitStatus::Planned => "planned",
            VisitStatus::Done => "done",
            VisitStatus::Cancelled => "cancelled",
        }
    }

    fn moves_to(self) -> &'static [Self] {
        use VisitStatus::*;
        match self {
            Planned => &[Done, Cancelled],
            Done | Cancelled => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_round_trip<S: Status>() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(*s));
        }
        assert_eq!(S::parse("nonsense"), None);
    }

    #[test]
    fn every_state_is_written_and_read_the_same() {
        names_round_trip::<CardStatus>();
        names_round_trip::<HoldStatus>();
        names_round_trip::<TopUpStatus>();
        names_round_trip::<LoanStatus>();
        names_round_trip::<ComplaintStatus>();
        names_round_trip::<PlanStatus>();
        names_round_trip::<FillStatus>();
        names_round_trip::<Stage>();
        names_round_trip::<VisitStatus>();
    }

    #[test]
    fn ends_are_ends_and_a_refusal_names_both_states() {
        assert!(ensure_move(1, LoanStatus::Requested, LoanStatus::Approved).is_ok());
        assert!(ensure_move(1, LoanStatus::Approved, LoanStatus::Returned).is_err());
        for s in [CardStatus::Closed, CardStatus::Replaced] {
            assert!(s.moves_to().is_empty());
        }
        let e = ensure_move(7, TopUpStatus::Approved, TopUpStatus::Rejected).unwrap_err();
        assert_eq!(e.code, Code::IllegalTransition);
        assert!(e.message.contains("top-up 7 is approved"), "{}", e.message);
        assert_eq!(
            serde_json::to_value(LoanStatus::HandedOut).ok(),
            Some(serde_json::json!("handed_out"))
        );
    }
}
