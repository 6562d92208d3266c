//! Payments through Stripe: creating Checkout Sessions for paid requests, and acting on the
//! webhook that confirms them. Stripe's base URL is configuration, so tests point it at a
//! local server that speaks the same API.

use crate::error::{ApiError, ApiResult};
use crate::fulfilment;
use crate::http::header;
use crate::platform::{config, now_ms, required_config, timeout_signal};
use crate::store;
use fanline_core::manifest::Manifest;
use fanline_core::state::Status;
use fanline_core::stripe::{self, CheckoutLine};
use serde::Deserialize;
use serde_json::json;
use worker::{console_log, Env, Fetch, Headers, Method, Request, RequestInit, Response};

pub struct CheckoutSession {
    pub id: String,
    pub url: String,
}

#[derive(Deserialize)]
struct SessionResponse {
    id: String,
    url: Option<String>,
}

/// Creates a Checkout Session for a request. The request id is Stripe's idempotency key, so
/// a retry never opens a second session for the same request.
pub async fn create_checkout(env: &Env, request_id: &str, app_slug: &str, lines: &[CheckoutLine], return_url: &str, email: Option<&str>) -> ApiResult<CheckoutSession> {
    let key = required_config(env, "STRIPE_SECRET_KEY")?;
    let base = config(env, "STRIPE_API_BASE", "https://api.stripe.com");
    let form = stripe::checkout_session_form(request_id, app_slug, lines, &format!("{return_url}?paid=1&request={request_id}"), &format!("{return_url}?cancelled=1&request={request_id}"), email);
    let headers = Headers::new();
    headers.set("Authorization", &format!("Bearer {key}"))?;
    headers.set("Content-Type", "application/x-www-form-urlencoded")?;
    headers.set("Idempotency-Key", &format!("checkout-{request_id}"))?;
    headers.set("Stripe-Version", "2025-03-31.basil")?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(form.into()));
    let request = Request::new_with_init(&format!("{}/v1/checkout/sessions", base.trim_end_matches('/')), &init)?;
    let mut response = Fetch::Request(request).send_with_signal(&timeout_signal(15_000)).await.map_err(|e| ApiError::Upstream(format!("stripe: {e}")))?;
    let status = response.status_code();
    let body = response.text().await.unwrap_or_default();
    if !(200..300).contains(&status) {
        return Err(ApiError::Upstream(format!("stripe answered {status}: {body}")));
    }
    let session: SessionResponse = serde_json::from_str(&body).map_err(|e| ApiError::Upstream(format!("stripe session: {e}")))?;
    let url = session.url.ok_or_else(|| ApiError::Upstream("stripe session has no url".into()))?;
    Ok(CheckoutSession { id: session.id, url })
}

/// `POST /webhooks/payment`: verify, record the event id once, move the request.
pub async fn handle_stripe_webhook(mut req: Request, env: &Env) -> ApiResult<Response> {
    let secret = required_config(env, "STRIPE_WEBHOOK_SECRET")?;
    let body = req.bytes().await.map_err(|_| ApiError::bad_request("unreadable_body", "Could not read the body."))?;
    let signature = header(&req, "Stripe-Signature");
    stripe::verify_signature(signature.as_deref(), &body, &secret, now_ms() / 1000, stripe::DEFAULT_TOLERANCE_SECS)
        .map_err(|e| ApiError::bad_request("invalid_signature", e.message()))?;
    let event = stripe::Event::parse(&body).map_err(|m| ApiError::bad_request("invalid_event", m))?;
    let db = store::db(env)?;
    let origin = crate::http::origin(&req);

    if already_processed(&db, &event.id).await? {
        return Ok(ack(&event.id, "duplicate"));
    }
    let Some(checkout) = stripe::checkout_event(&event) else {
        record(&db, &event, None, "ignored").await?;
        return Ok(ack(&event.id, "ignored"));
    };
    // A conflict means another delivery of this event, or another writer on this request,
    // got there first; re-reading and trying again settles which.
    for _ in 0..3 {
        let outcome = apply_checkout(env, &db, &event, &checkout, &origin).await?;
        if let Some(outcome) = outcome {
            return Ok(ack(&event.id, outcome));
        }
        if already_processed(&db, &event.id).await? {
            return Ok(ack(&event.id, "duplicate"));
        }
    }
    Err(ApiError::Unavailable("the request kept changing; Stripe will retry".into()))
}

/// `None` when the batch lost a race and the caller should look again.
async fn apply_checkout(env: &Env, db: &worker::D1Database, event: &stripe::Event, checkout: &stripe::CheckoutEvent, origin: &str) -> ApiResult<Option<&'static str>> {
    let Some(row) = store::request(db, &checkout.request_id).await? else {
        record(db, event, None, "unknown_request").await?;
        return Ok(Some("unknown_request"));
    };
    let completed = checkout.outcome == stripe::CheckoutOutcome::Completed;
    let expected = row.checkout_session_id.as_deref() == Some(checkout.session_id.as_str());
    let amount_ok = checkout.amount_total.is_none_or(|a| a == row.amount as u64) && checkout.currency.as_deref().is_none_or(|c| c == row.currency);
    let refusal = if completed && !checkout.paid {
        Some("not_paid")
    } else if !expected || (completed && !amount_ok) {
        Some("mismatch")
    } else if row.status()? != Status::AwaitingPayment {
        Some("already_settled")
    } else {
        None
    };
    if let Some(outcome) = refusal {
        record(db, event, Some(&row.id), outcome).await?;
        return Ok(Some(outcome));
    }
    let app = store::app(db, &row.app_slug).await?.ok_or(ApiError::Internal(format!("app {} missing", row.app_slug)))?;
    let manifest = Manifest::parse(&app.manifest).map_err(ApiError::Internal)?;
    let mut extra = vec![store::statement(
        db,
        "INSERT INTO payment_events (provider, event_id, type, request_id, outcome, received_at) VALUES ('stripe', ?, ?, ?, 'applied', ?)",
        &[event.id.as_str().into(), event.kind.as_str().into(), row.id.as_str().into(), now_ms().into()],
    )?];
    extra.push(store::statement(db, "UPDATE requests SET payment_intent_id = ? WHERE id = ?", &[checkout.payment_intent.as_deref().into(), row.id.as_str().into()])?);
    let path: &[Status] = if completed { &[Status::Paid, Status::Queued] } else { &[Status::Expired] };
    let moved = fulfilment::advance(env, db, &manifest, &row, path, "stripe", Some(&event.id), origin, extra).await?;
    if moved {
        console_log!("request {} {} by {}", row.id, if completed { "paid" } else { "expired" }, event.id);
    }
    Ok(moved.then_some("applied"))
}

async fn already_processed(db: &worker::D1Database, event_id: &str) -> ApiResult<bool> {
    #[derive(Deserialize)]
    struct Seen {
        #[allow(dead_code)]
        outcome: String,
    }
    Ok(store::first::<Seen>(db, "SELECT outcome FROM payment_events WHERE provider = 'stripe' AND event_id = ?", &[event_id.into()]).await?.is_some())
}

async fn record(db: &worker::D1Database, event: &stripe::Event, request_id: Option<&str>, outcome: &str) -> ApiResult<()> {
    store::run(
        db,
        "INSERT INTO payment_events (provider, event_id, type, request_id, outcome, received_at) VALUES ('stripe', ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        &[event.id.as_str().into(), event.kind.as_str().into(), request_id.into(), outcome.into(), now_ms().into()],
    )
    .await
}

fn ack(event_id: &str, outcome: &str) -> Response {
    crate::http::json(200, &json!({"received": true, "event": event_id, "outcome": outcome}))
}
