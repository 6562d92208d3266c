//! `payment_events`: every provider event (Stripe, PayPal, a moderation service, Twitch, a YouTube chat message) acted on, by
//! its id, with what it did. Its key is the event id, so in a batch with the change the event
//! causes, a concurrent delivery of the same event makes the batch conflict.

use super::{commit, first, first_of, statement};
use crate::platform::config::now_ms;
use crate::platform::error::ApiResult;
use fanline_core::webhook::WebhookOutcome;
use worker::{D1Database, D1PreparedStatement, D1Result};

const SEEN: &str = "SELECT outcome FROM payment_events WHERE provider = ? AND event_id = ?";

/// Who sent an event: the `provider` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Stripe,
    Paypal,
    Moderation,
    Twitch,
    Youtube,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::Stripe => "stripe",
            Self::Paypal => "paypal",
            Self::Moderation => "moderation",
            Self::Twitch => "twitch",
            Self::Youtube => "youtube",
        }
    }
}

/// One incoming event.
pub struct Event<'a> {
    pub source: Source,
    pub id: &'a str,
    pub kind: &'a str,
}

impl Event<'_> {
    /// Whether this event was already acted on.
    pub async fn seen(&self, db: &D1Database) -> ApiResult<bool> {
        Ok(first::<serde_json::Value>(db, SEEN, &[self.source.as_str().into(), self.id.into()]).await?.is_some())
    }

    /// `seen` as a query for `read_together`; `was_seen` reads its result.
    pub fn seen_query(&self, db: &D1Database) -> ApiResult<D1PreparedStatement> {
        statement(db, SEEN, &[self.source.as_str().into(), self.id.into()])
    }

    pub fn was_seen(result: &D1Result) -> ApiResult<bool> {
        Ok(first_of::<serde_json::Value>(result)?.is_some())
    }

    /// The row that marks the event acted on, for the batch that acts on it.
    pub fn processed(&self, db: &D1Database, request_id: Option<&str>, outcome: WebhookOutcome) -> ApiResult<D1PreparedStatement> {
        statement(
            db,
            "INSERT INTO payment_events (provider, event_id, type, request_id, outcome, received_at) VALUES (?, ?, ?, ?, ?, ?)",
            &[self.source.as_str().into(), self.id.into(), self.kind.into(), request_id.into(), outcome.as_str().into(), now_ms().into()],
        )
    }

    /// Records an event that changes nothing; a duplicate of it is already recorded, which is fine.
    pub async fn record(&self, db: &D1Database, request_id: Option<&str>, outcome: WebhookOutcome) -> ApiResult<()> {
        commit(db, vec![self.processed(db, request_id, outcome)?]).await.map(|_| ())
    }
}
