//! The human review queue's decisions, made by the creator through the API or by an outside
//! moderation service through a signed webhook. Approving continues the pipeline (a held card
//! is captured first); rejecting releases the hold, refunds the charge or returns the credits.

use crate::error::{ApiError, ApiResult};
use crate::platform::{now_ms, required_config};
use crate::store::{self, RequestRow};
use crate::{credits, fulfilment, payments};
use fanline_core::manifest::Manifest;
use fanline_core::standard_webhooks;
use fanline_core::state::Status;
use serde_json::{json, Value};
use worker::{D1Database, Env, Request, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Reject,
}

/// Applies a review decision; the event records `actor`, the time and `reason`.
#[allow(clippy::too_many_arguments)]
pub async fn decide(env: &Env, db: &D1Database, manifest: &Manifest, row: &RequestRow, verdict: Verdict, actor: &str, reason: Option<&str>, origin: &str) -> ApiResult<()> {
    if row.status()? != Status::HeldForReview {
        return Err(ApiError::Conflict { code: "not_held_for_review", message: format!("This request is {}, not held for review.", row.status) });
    }
    let id = row.id.as_str();
    let paid = row.payment_intent_id.is_some() || row.paypal_capture_id.is_some() || row.credits_spent > 0;
    let advance = |path: &'static [Status], extra| fulfilment::advance(env, db, manifest, row, path, actor, reason, origin, extra);
    // An auction bid is settled by the close: approving puts it among the bids (hold kept),
    // and once the auction has closed there is no slot left to approve it into.
    if let (Verdict::Approve, Some(auction_id)) = (verdict, &row.auction_id) {
        if !crate::auctions::accepts_holds(db, auction_id).await? {
            return Err(ApiError::Conflict { code: "auction_closed", message: "This bid's auction has closed; it can only be rejected.".into() });
        }
    }
    let moved = match verdict {
        Verdict::Approve if row.auction_id.is_some() => advance(&[Status::Queued], Vec::new()).await?,
        Verdict::Approve if row.is_uncaptured_hold() => {
            let payment_intent = row.payment_intent_id.as_deref().ok_or_else(|| ApiError::Internal(format!("hold on {id} has no payment intent")))?;
            payments::capture_hold(env, payment_intent, id).await?;
            advance(&[Status::Queued], vec![store::statement(db, "UPDATE requests SET captured_at = ? WHERE id = ?", &[now_ms().into(), id.into()])?]).await?
        }
        Verdict::Approve if paid => advance(&[Status::Queued], Vec::new()).await?,
        Verdict::Approve => advance(&[Status::Validated, Status::Queued], Vec::new()).await?,
        Verdict::Reject if row.is_uncaptured_hold() => payments::settle_hold(env, db, manifest, row, payments::HoldDecision::Decline, actor, reason, origin).await?,
        Verdict::Reject if row.credits_spent > 0 => advance(&[Status::Rejected], credits::give_back(db, row, "rejected in review")?.into_iter().collect()).await?,
        Verdict::Reject if paid => {
            let amount = (row.amount - row.amount_refunded).max(0) as u64;
            let refund = payments::refund_payment(env, row, amount, reason, &format!("review-refund-{id}")).await?;
            let record = store::refund_statements(db, &refund.id, id, refund.amount, reason, actor)?;
            advance(&[Status::Refunded], record).await?
        }
        Verdict::Reject => advance(&[Status::Rejected], Vec::new()).await?,
    };
    if moved {
        Ok(())
    } else {
        Err(ApiError::Conflict { code: "concurrent_update", message: "The request changed meanwhile; fetch it and try again.".into() })
    }
}

/// Standard Webhooks allows five minutes of clock skew either way.
const TOLERANCE_SECS: i64 = 300;

/// `POST /webhooks/moderation`: an outside moderation service's verdict on a request, signed
/// per Standard Webhooks with `MODERATION_WEBHOOK_SECRET` and acted on once per `webhook-id`.
/// Body: `{"type": "moderation.verdict", "data": {"request_id", "decision": "allow" | "review" |
/// "block", "reasons": ["..."]}}`. On a request held for review, `allow` approves and `block`
/// rejects; anything else is recorded and changes nothing.
pub async fn handle_webhook(mut req: Request, env: &Env) -> ApiResult<Response> {
    let key = standard_webhooks::secret_key(&required_config(env, "MODERATION_WEBHOOK_SECRET")?).ok_or_else(|| ApiError::Internal("MODERATION_WEBHOOK_SECRET is not a whsec_ secret".into()))?;
    let body = crate::body::read_capped(&mut req, crate::body::WEBHOOK_MAX).await?;
    let header = |name: &str| crate::http::header(&req, name).ok_or_else(|| ApiError::bad_request("invalid_signature", format!("{name} header is missing")));
    let (msg_id, timestamp, signature) = (header("webhook-id")?, header("webhook-timestamp")?, header("webhook-signature")?);
    let timestamp: i64 = timestamp.parse().map_err(|_| ApiError::bad_request("invalid_signature", "webhook-timestamp is not a number"))?;
    if (now_ms() / 1000).abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return Err(ApiError::bad_request("invalid_signature", "webhook-timestamp is outside the tolerance window"));
    }
    if !standard_webhooks::verify(&key, &msg_id, timestamp, &body, &signature) {
        return Err(ApiError::bad_request("invalid_signature", "no webhook-signature matches the payload"));
    }
    let event: Value = serde_json::from_slice(&body).map_err(|_| ApiError::bad_request("invalid_event", "The body is not JSON."))?;
    let (Some(request_id), Some(decision)) = (event["data"]["request_id"].as_str(), event["data"]["decision"].as_str()) else {
        return Err(ApiError::bad_request("invalid_event", "Send {\"type\": \"moderation.verdict\", \"data\": {\"request_id\", \"decision\", \"reasons\"}}."));
    };
    let verdict = match decision {
        "allow" => Some(Verdict::Approve),
        "block" => Some(Verdict::Reject),
        "review" => None,
        _ => return Err(ApiError::bad_request("invalid_event", "decision is allow, review or block.")),
    };
    let db = store::db(env)?;
    if store::event_seen(&db, "moderation", &msg_id).await? {
        return Ok(ack(&msg_id, "duplicate"));
    }
    let reasons: Vec<&str> = event["data"]["reasons"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let reason = format!("moderation service: {decision}{}{}", if reasons.is_empty() { "" } else { ": " }, reasons.join(", ")).chars().take(500).collect::<String>();
    let row = store::request(&db, request_id).await?;
    let outcome = match (&row, verdict) {
        (None, _) => "unknown_request",
        (Some(row), Some(verdict)) if row.status()? == Status::HeldForReview => {
            let app = store::app(&db, &row.app_slug).await?.ok_or_else(|| ApiError::Internal(format!("app {} missing", row.app_slug)))?;
            let manifest = Manifest::parse(&app.manifest).map_err(ApiError::Internal)?;
            match decide(env, &db, &manifest, row, verdict, "moderation-service", Some(&reason), &crate::http::origin(&req)).await {
                Ok(()) => "applied",
                Err(ApiError::Conflict { .. }) => "already_settled",
                Err(e) => return Err(e),
            }
        }
        (Some(_), _) => "recorded",
    };
    store::commit(&db, vec![store::event_row(&db, "moderation", &msg_id, "moderation.verdict", Some(request_id), outcome)?]).await?;
    Ok(ack(&msg_id, outcome))
}

fn ack(msg_id: &str, outcome: &str) -> Response {
    crate::http::json(200, &json!({"received": true, "webhook_id": msg_id, "outcome": outcome}))
}
