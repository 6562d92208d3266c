//! What an incoming provider event (Stripe, PayPal, a moderation service) did: recorded with
//! the event id, so a redelivery is answered without acting twice, and returned in the
//! acknowledgement so the provider's dashboard shows why.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookOutcome {
    /// The event moved a request (or a purchase, a subscription).
    Applied,
    /// Seen before: nothing done again.
    Duplicate,
    /// Kept for the record; nothing to move (a partial refund, a tier's session).
    Recorded,
    /// A kind of event we do not act on.
    Ignored,
    /// Its subject already reflects it.
    AlreadySettled,
    /// The session or amount is not the one recorded.
    Mismatch,
    /// A completed checkout that took no money.
    NotPaid,
    /// A hold that arrived for a request no longer waiting, released at once.
    Released,
    /// A bid held after its auction ended, released at once.
    AuctionClosed,
    /// The queue had no room when the payment arrived; the payment went back.
    QueueFull,
    /// The event names a request or purchase we do not have.
    UnknownRequest,
    UnknownPurchase,
    /// PayPal refused to capture (not approved, or captured already).
    CaptureRefused,
    /// A payment made elsewhere (Ko-fi) by an email no fan here has: recorded for the creator.
    UnknownFan,
}

impl WebhookOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Recorded => "recorded",
            Self::Ignored => "ignored",
            Self::AlreadySettled => "already_settled",
            Self::Mismatch => "mismatch",
            Self::NotPaid => "not_paid",
            Self::Released => "released",
            Self::AuctionClosed => "auction_closed",
            Self::QueueFull => "queue_full",
            Self::UnknownRequest => "unknown_request",
            Self::UnknownPurchase => "unknown_purchase",
            Self::CaptureRefused => "capture_refused",
            Self::UnknownFan => "unknown_fan",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WebhookOutcome;

    #[test]
    fn the_stored_name_is_the_serialized_name() {
        for outcome in [WebhookOutcome::Applied, WebhookOutcome::AlreadySettled, WebhookOutcome::UnknownPurchase, WebhookOutcome::QueueFull] {
            assert_eq!(serde_json::to_value(outcome).unwrap(), outcome.as_str());
        }
    }
}
