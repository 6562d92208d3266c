//! The request state machine. Every change of state is an event in the request's history;
//! this module alone decides which changes are allowed.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Created,
    Validated,
    HeldForReview,
    AwaitingPayment,
    /// The fan's card is held (authorized, not captured) until the creator accepts.
    Authorized,
    Paid,
    Queued,
    Accepted,
    Fulfilled,
    Closed,
    Rejected,
    Expired,
    Refunded,
    Disputed,
}

pub const ALL: [Status; 14] = [
    Status::Created,
    Status::Validated,
    Status::HeldForReview,
    Status::AwaitingPayment,
    Status::Authorized,
    Status::Paid,
    Status::Queued,
    Status::Accepted,
    Status::Fulfilled,
    Status::Closed,
    Status::Rejected,
    Status::Expired,
    Status::Refunded,
    Status::Disputed,
];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Validated => "validated",
            Self::HeldForReview => "held_for_review",
            Self::AwaitingPayment => "awaiting_payment",
            Self::Authorized => "authorized",
            Self::Paid => "paid",
            Self::Queued => "queued",
            Self::Accepted => "accepted",
            Self::Fulfilled => "fulfilled",
            Self::Closed => "closed",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Refunded => "refunded",
            Self::Disputed => "disputed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The event recorded when a request enters this state, e.g. `request.queued`.
    pub fn event_name(self) -> String {
        format!("request.{}", self.as_str())
    }

    pub fn from_event_name(name: &str) -> Option<Self> {
        name.strip_prefix("request.").and_then(Self::parse)
    }

    /// Whether moving from `self` to `next` is allowed.
    pub fn can_become(self, next: Status) -> bool {
        use Status::*;
        // Money was taken in these states, so a refund or a chargeback can reach them.
        let charged = matches!(self, Paid | HeldForReview | Queued | Accepted | Fulfilled | Closed);
        match next {
            Refunded if charged || self == Disputed => return true,
            Disputed if charged || self == Refunded => return true,
            _ => {}
        }
        matches!(
            (self, next),
            (Created, Validated | HeldForReview | Rejected)
                | (HeldForReview, Validated | Queued | Rejected | Expired)
                | (Validated, AwaitingPayment | Queued)
                | (AwaitingPayment, Paid | Authorized | Expired)
                | (Authorized, Queued | HeldForReview)
                | (Paid, Queued | HeldForReview)
                | (Queued, Accepted | Fulfilled | Rejected | Expired)
                | (Accepted, Fulfilled)
                | (Fulfilled, Closed)
                // A dispute the creator wins puts the request back where it was.
                | (Disputed, HeldForReview | Paid | Queued | Accepted | Fulfilled | Closed)
        )
    }

    /// Where a request goes when the creator wins a dispute opened while it was `before`:
    /// back to that state, so a paid request still in the queue stays in the queue.
    pub fn after_dispute_won(before: Status) -> Status {
        // A refunded payment stays refunded; a state a dispute cannot return to (none today,
        // the history is the source) files the request away.
        if before != Status::Disputed && Status::Disputed.can_become(before) {
            before
        } else {
            Status::Closed
        }
    }

    /// Walks `self` through `path`, refusing the first move that is not allowed.
    pub fn walk(self, path: &[Status]) -> Result<Status, TransitionError> {
        path.iter().try_fold(self, |from, &to| if from.can_become(to) { Ok(to) } else { Err(TransitionError { from, to }) })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionError {
    pub from: Status,
    pub to: Status,
}

impl std::fmt::Display for TransitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a request that is {} cannot become {}", self.from.as_str(), self.to.as_str())
    }
}

/// The states a new request passes through at intake, from its moderation decision and price.
/// A paid request that needs review is paid for first and reviewed after (`after_payment`), so
/// the creator decides with the money held and paid never means published.
pub fn intake_path(decision: crate::moderation::Decision, paid: bool) -> Vec<Status> {
    use crate::moderation::Decision;
    use Status::*;
    match decision {
        Decision::Block => vec![Created, Rejected],
        Decision::Review if !paid => vec![Created, HeldForReview],
        Decision::Review | Decision::Allow if paid => vec![Created, Validated, AwaitingPayment],
        Decision::Review | Decision::Allow => vec![Created, Validated, Queued],
    }
}

/// Where a paid request goes once its payment is in: the queue, or review when moderation
/// asked for it. `held` is a card authorization rather than a charge.
pub fn after_payment(decision: crate::moderation::Decision, held: bool) -> [Status; 2] {
    let paid = if held { Status::Authorized } else { Status::Paid };
    match decision {
        crate::moderation::Decision::Review => [paid, Status::HeldForReview],
        _ => [paid, Status::Queued],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moderation::Decision;
    use Status::*;

    #[test]
    fn intake_paths_are_legal() {
        for decision in [Decision::Allow, Decision::Review, Decision::Block] {
            for paid in [false, true] {
                let path = intake_path(decision, paid);
                assert_eq!(path[0], Created);
                assert!(Created.walk(&path[1..]).is_ok(), "{path:?}");
            }
        }
    }

    #[test]
    fn paid_requests_needing_review_are_paid_then_held() {
        assert_eq!(intake_path(Decision::Review, true), [Created, Validated, AwaitingPayment]);
        assert_eq!(after_payment(Decision::Review, true), [Authorized, HeldForReview]);
        assert_eq!(after_payment(Decision::Allow, false), [Paid, Queued]);
        assert_eq!(AwaitingPayment.walk(&after_payment(Decision::Review, false)), Ok(HeldForReview));
        assert_eq!(HeldForReview.walk(&[Queued, Accepted]), Ok(Accepted));
        assert_eq!(HeldForReview.walk(&[Refunded]), Ok(Refunded));
    }

    #[test]
    fn payment_then_queue_then_fulfilment() {
        assert_eq!(AwaitingPayment.walk(&[Paid, Queued, Fulfilled, Closed]), Ok(Closed));
    }

    #[test]
    fn a_held_payment_is_queued_then_accepted_declined_or_lapses() {
        assert_eq!(AwaitingPayment.walk(&[Authorized, Queued, Accepted, Fulfilled]), Ok(Fulfilled));
        assert_eq!(Queued.walk(&[Rejected]), Ok(Rejected));
        assert_eq!(Queued.walk(&[Expired]), Ok(Expired));
        assert!(!Authorized.can_become(Fulfilled));
    }

    #[test]
    fn refuses_skips_and_repeats() {
        assert_eq!(AwaitingPayment.walk(&[Fulfilled]), Err(TransitionError { from: AwaitingPayment, to: Fulfilled }));
        assert!(!Paid.can_become(Paid));
        assert!(!Fulfilled.can_become(Fulfilled));
        assert!(!Rejected.can_become(Queued));
        assert!(!Closed.can_become(Queued));
        assert!(Closed.can_become(Refunded), "a closed request can still be refunded");
        assert!(!Expired.can_become(Paid));
    }

    #[test]
    fn refunds_and_disputes_reach_every_charged_state() {
        for from in [Paid, HeldForReview, Queued, Accepted, Fulfilled, Closed] {
            assert!(from.can_become(Refunded), "{from:?} -> refunded");
            assert!(from.can_become(Disputed), "{from:?} -> disputed");
        }
        for from in [Created, Validated, AwaitingPayment, Authorized, Rejected, Expired] {
            assert!(!from.can_become(Refunded), "{from:?} was never charged");
            assert!(!from.can_become(Disputed), "{from:?} was never charged");
        }
        assert!(Refunded.can_become(Disputed));
        assert!(Disputed.can_become(Refunded), "a lost dispute returns the money");
        assert!(!Refunded.can_become(Refunded));
        assert!(!Disputed.can_become(Disputed));
    }

    #[test]
    fn a_won_dispute_returns_the_request_to_where_it_was() {
        for before in [HeldForReview, Paid, Queued, Accepted, Fulfilled, Closed] {
            assert_eq!(Status::after_dispute_won(before), before);
            assert!(Disputed.can_become(Status::after_dispute_won(before)));
        }
        assert_eq!(Status::after_dispute_won(Queued), Queued, "never closed unless it was fulfilled");
        assert_eq!(Status::after_dispute_won(Refunded), Refunded);
        assert_eq!(Status::after_dispute_won(Disputed), Closed);
        assert!(!Disputed.can_become(Created));
        assert!(!Disputed.can_become(AwaitingPayment));
        assert!(!Disputed.can_become(Rejected));
    }

    #[test]
    fn every_edge_of_the_machine() {
        // The full table, so a change to any edge is a deliberate change to this list.
        let allowed: &[(Status, &[Status])] = &[
            (Created, &[Validated, HeldForReview, Rejected]),
            (Validated, &[AwaitingPayment, Queued]),
            (HeldForReview, &[Validated, Queued, Rejected, Expired, Refunded, Disputed]),
            (AwaitingPayment, &[Paid, Authorized, Expired]),
            (Authorized, &[Queued, HeldForReview]),
            (Paid, &[Queued, HeldForReview, Refunded, Disputed]),
            (Queued, &[Accepted, Fulfilled, Rejected, Expired, Refunded, Disputed]),
            (Accepted, &[Fulfilled, Refunded, Disputed]),
            (Fulfilled, &[Closed, Refunded, Disputed]),
            (Closed, &[Refunded, Disputed]),
            (Rejected, &[]),
            (Expired, &[]),
            (Refunded, &[Disputed]),
            (Disputed, &[HeldForReview, Paid, Queued, Accepted, Fulfilled, Closed, Refunded]),
        ];
        for (from, to) in allowed {
            for next in ALL {
                assert_eq!(from.can_become(next), to.contains(&next), "{from:?} -> {next:?}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for s in ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(Status::from_event_name(&s.event_name()), Some(s));
        }
        assert_eq!(Status::parse("exploded"), None);
    }
}
