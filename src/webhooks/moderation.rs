//! `POST /webhooks/moderation`: an outside moderation service's verdict on a request, signed
//! per Standard Webhooks with `MODERATION_WEBHOOK_SECRET` and acted on once per `webhook-id`.
//! Body: `{"type": "moderation.verdict", "data": {"request_id", "decision": "allow" | "review" |
//! "block", "reasons": ["..."]}}`. On a request held for review, `allow` approves and `block`
//! rejects; anything else is recorded and changes nothing. A decision commits with the event's
//! row, so it is acted on once even when deliveries of one `webhook-id` race.

use super::ack;
use fanline_core::lifecycle::Status;
use fanline_core::trust::standard_webhooks;
use fanline_core::webhook::WebhookOutcome;
use fanline_edge::db::{
    self,
    provider_events::{Event, Source},
};
use fanline_edge::lifecycle::Move;
use fanline_edge::platform::body::{read_capped, WEBHOOK_MAX};
use fanline_edge::platform::config::{now_ms, required_config};
use fanline_edge::platform::ctx::{By, Ctx};
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{header, origin};
use fanline_edge::review::{self, ReviewDecision};
use serde_json::Value;
use worker::{Env, Request, Response};

/// Standard Webhooks allows five minutes of clock skew either way.
const TOLERANCE_SECS: i64 = 300;

pub async fn handle(mut req: Request, env: &Env) -> ApiResult<Response> {
    let key = standard_webhooks::secret_key(&required_config(env, "MODERATION_WEBHOOK_SECRET")?)
        .ok_or_else(|| ApiError::internal("MODERATION_WEBHOOK_SECRET is not a whsec_ secret"))?;
    let body = read_capped(&mut req, WEBHOOK_MAX).await?;
    let h = |name: &str| header(&req, name).ok_or_else(|| ApiError::bad_request("invalid_signature", format!("{name} header is missing")));
    let (msg_id, timestamp, signature) = (h("webhook-id")?, h("webhook-timestamp")?, h("webhook-signature")?);
    let timestamp: i64 = timestamp.parse().map_err(|_| ApiError::bad_request("invalid_signature", "webhook-timestamp is not a number"))?;
    if (now_ms() / 1000).abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return Err(ApiError::bad_request("invalid_signature", "webhook-timestamp is outside the tolerance window"));
    }
    if !standard_webhooks::verify(&key, &msg_id, timestamp, &body, &signature) {
        return Err(ApiError::bad_request("invalid_signature", "no webhook-signature matches the payload"));
    }
    let parsed: Value = serde_json::from_slice(&body).map_err(|_| ApiError::bad_request("invalid_event", "The body is not JSON."))?;
    let (Some(request_id), Some(decision)) = (parsed["data"]["request_id"].as_str(), parsed["data"]["decision"].as_str()) else {
        return Err(ApiError::bad_request("invalid_event", "Send {\"type\": \"moderation.verdict\", \"data\": {\"request_id\", \"decision\", \"reasons\"}}."));
    };
    let decision_taken = match decision {
        "allow" => Some(ReviewDecision::Approve),
        "block" => Some(ReviewDecision::Reject),
        "review" => None,
        _ => return Err(ApiError::bad_request("invalid_event", "decision is allow, review or block.")),
    };
    let db = db::db(env)?;
    let event = Event { source: Source::Moderation, id: &msg_id, kind: "moderation.verdict" };
    let done = |outcome| Ok(ack("webhook_id", &msg_id, outcome));
    if event.seen(&db).await? {
        return done(WebhookOutcome::Duplicate);
    }
    let reasons: Vec<&str> = parsed["data"]["reasons"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let reason =
        format!("moderation service: {decision}{}{}", if reasons.is_empty() { "" } else { ": " }, reasons.join(", ")).chars().take(500).collect::<String>();
    let row = db::requests::get(&db, request_id).await?;
    let outcome = match (&row, decision_taken) {
        (None, _) => WebhookOutcome::UnknownRequest,
        (Some(row), Some(taken)) if row.status == Status::HeldForReview => {
            let (_, manifest) = db::apps::with_manifest(&db, &row.app_slug).await?;
            let origin = origin(&req);
            // The event's row commits with the decision: of two deliveries of one webhook-id
            // racing past `seen`, only one commits, and the other answers as settled.
            let mv = Move::by(By::new("moderation-service", Some(&reason))).with([event.processed(&db, Some(request_id), WebhookOutcome::Applied)?]);
            match review::decide(Ctx { env, db: &db, origin: &origin }, &manifest, row, taken, mv).await {
                Ok(()) => return done(WebhookOutcome::Applied),
                Err(ApiError::Conflict { .. }) => WebhookOutcome::AlreadySettled,
                Err(e) => return Err(e),
            }
        }
        (Some(_), _) => WebhookOutcome::Recorded,
    };
    // Changes nothing, so a concurrent duplicate recording it first is fine.
    db::commit(&db, vec![event.processed(&db, Some(request_id), outcome)?]).await?;
    done(outcome)
}
