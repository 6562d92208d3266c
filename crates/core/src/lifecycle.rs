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
                // Credits pay at intake, so such a request is paid without awaiting payment.
                | (Validated, AwaitingPayment | Paid | Queued)
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

/// Groups of states that queries select by. SQL gets them through `sql_list`, so a new state
/// is added here once rather than in every query.
pub mod groups {
    use crate::lifecycle::Status::{self, *};

    /// A fan still waits on the request: it counts against their open quota (with unpaid
    /// requests still inside their payment window).
    pub const OPEN: &[Status] = &[Created, Validated, HeldForReview, Authorized, Paid, Queued, Accepted];
    /// In the creator's queue or reserving a place in it: what the capacity bounds.
    pub const IN_QUEUE: &[Status] = &[HeldForReview, Authorized, Paid, Queued, Accepted];
    /// Waiting for the creator to act (reminders, lapsing holds).
    pub const WAITING_ON_CREATOR: &[Status] = &[Queued, HeldForReview];
    /// The creator took it on: an accepted auction bid keeps its slot.
    pub const TAKEN_ON: &[Status] = &[Accepted, Fulfilled, Closed];
    /// Bids that count in an open auction.
    pub const LIVE_BIDS: &[Status] = &[Queued, Accepted];
}

/// `'queued', 'accepted'`: a state list for an SQL `IN (...)`.
pub fn sql_list(states: &[Status]) -> String {
    states.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn groups_render_as_sql_lists() {
        assert_eq!(sql_list(groups::LIVE_BIDS), "'queued', 'accepted'");
        // Open: the creator can still fulfil it without a refund or dispute in between (an
        // unpaid request counts only inside its payment window, so it is not in the list).
        let fulfillable = |from: Status| {
            let mut seen = vec![from];
            let mut i = 0;
            while i < seen.len() {
                let from = seen[i];
                for to in ALL {
                    if from.can_become(to) && !matches!(to, Refunded | Disputed) && !seen.contains(&to) {
                        seen.push(to);
                    }
                }
                i += 1;
            }
            seen.contains(&Fulfilled)
        };
        for status in ALL {
            let open = !matches!(status, AwaitingPayment | Fulfilled | Disputed | Refunded) && fulfillable(status);
            assert_eq!(groups::OPEN.contains(&status), open, "{status:?}");
        }
        assert!(groups::IN_QUEUE.iter().all(|s| groups::OPEN.contains(s)));
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
            (Validated, &[AwaitingPayment, Paid, Queued]),
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
