//! Incoming webhooks (Stripe, PayPal, a moderation service, Twitch EventSub, Ko-fi, Patreon):
//! each verifies its sender, records the event id once with what it did
//! (`WebhookOutcome`), and acknowledges with that outcome. A failure answers non-2xx, so the
//! provider delivers the event again.

pub mod kofi;
pub mod moderation;
pub mod patreon;
pub mod paypal;
pub mod stripe;
pub mod twitch;

use fanline_core::webhook::WebhookOutcome;
use fanline_edge::platform::http::json;
use serde_json::json;
use worker::Response;

fn ack(id_key: &str, id: &str, outcome: WebhookOutcome) -> Response {
    json(200, &json!({"received": true, id_key: id, "outcome": outcome}))
}
