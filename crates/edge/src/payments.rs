//! Payments through Stripe: creating Checkout Sessions for paid requests, and acting on the
//! webhook that confirms them. Stripe's base URL is configuration, so tests point it at a
//! local server that speaks the same API.

use crate::error::{ApiError, ApiResult};
use crate::fulfilment;
use crate::http::header;
use crate::platform::{config, now_ms, required_config, timeout_signal};
use crate::{credits, store};
use fanline_core::manifest::Manifest;
use fanline_core::state::Status;
use fanline_core::stripe;
use serde::Deserialize;
use serde_json::json;
use worker::{console_log, Env, Fetch, Headers, Method, Request, RequestInit, Response};
use fanline_core::stripe::ChargeEvent;

/// Every Checkout Session expires when the payment window ends (`limits::PAYMENT_WINDOW_MS`).
pub fn checkout_expiry() -> i64 {
    (now_ms() + crate::limits::PAYMENT_WINDOW_MS) / 1000
}

pub struct CheckoutSession {
    pub id: String,
    pub url: String,
}

#[derive(Deserialize)]
struct SessionResponse {
    id: String,
    url: Option<String>,
}

/// Reads a PaymentIntent: the authority on whether a held payment is really held.
pub async fn payment_intent(env: &Env, id: &str) -> ApiResult<serde_json::Value> {
    stripe_call(env, Method::Get, &format!("/v1/payment_intents/{id}"), None, None).await
}

/// Captures a held payment (`POST /v1/payment_intents/:id/capture`).
pub async fn capture_hold(env: &Env, payment_intent: &str, request_id: &str) -> ApiResult<()> {
    stripe_post(env, &format!("/v1/payment_intents/{payment_intent}/capture"), String::new(), &format!("capture-{request_id}")).await.map(|_| ())
}

/// What expiring a Checkout Session found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// It can no longer be paid.
    Expired,
    /// The fan paid first: its `checkout.session.completed` is on its way.
    AlreadyComplete,
}

/// Expires an open Checkout Session (`POST /v1/checkout/sessions/:id/expire`) so it can no
/// longer be paid. One that Stripe will not expire is looked up: it may be complete.
pub async fn expire_checkout(env: &Env, session_id: &str) -> ApiResult<Expiry> {
    match stripe_post(env, &format!("/v1/checkout/sessions/{session_id}/expire"), String::new(), &format!("expire-{session_id}")).await {
        Ok(_) => Ok(Expiry::Expired),
        Err(ApiError::BadRequest { .. }) => {
            let session = stripe_call(env, Method::Get, &format!("/v1/checkout/sessions/{session_id}"), None, None).await?;
            Ok(if session["status"] == "complete" { Expiry::AlreadyComplete } else { Expiry::Expired })
        }
        Err(e) => Err(e),
    }
}

/// Releases a held payment (`POST /v1/payment_intents/:id/cancel`); the fan is never charged.
pub async fn release_hold(env: &Env, payment_intent: &str, request_id: &str, reason: &str) -> ApiResult<()> {
    let form = format!("cancellation_reason={reason}");
    stripe_post(env, &format!("/v1/payment_intents/{payment_intent}/cancel"), form, &format!("release-{request_id}")).await.map(|_| ())
}

/// What happens to a held payment, and the state the request moves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldDecision {
    /// Capture; the request becomes `accepted` (and then `fulfilled` when completing).
    Accept { then_fulfil: bool },
    /// Release; the request becomes `rejected`.
    Decline,
    /// Release because the creator did not act in time; the request becomes `expired`.
    Lapse,
}

/// Captures or releases a request's hold at Stripe, then moves the request. Stripe is called
/// first with a per-request idempotency key, so retrying after a lost race is harmless.
pub async fn settle_hold(env: &Env, db: &worker::D1Database, manifest: &Manifest, row: &store::RequestRow, decision: HoldDecision, actor: &str, reason: Option<&str>, origin: &str) -> ApiResult<bool> {
    let payment_intent = row.payment_intent_id.as_deref().ok_or_else(|| ApiError::Internal(format!("hold on {} has no payment intent", row.id)))?;
    let now = now_ms();
    let (path, extra): (&[Status], _) = match decision {
        HoldDecision::Accept { then_fulfil } => {
            capture_hold(env, payment_intent, &row.id).await?;
            let captured = store::statement(db, "UPDATE requests SET captured_at = ? WHERE id = ?", &[now.into(), row.id.as_str().into()])?;
            (if then_fulfil { &[Status::Accepted, Status::Fulfilled] } else { &[Status::Accepted] }, vec![captured])
        }
        HoldDecision::Decline | HoldDecision::Lapse => {
            let why = if decision == HoldDecision::Lapse { "abandoned" } else { "requested_by_customer" };
            release_hold(env, payment_intent, &row.id, why).await?;
            let released = store::statement(db, "UPDATE requests SET hold_until = NULL WHERE id = ?", &[row.id.as_str().into()])?;
            (if decision == HoldDecision::Lapse { &[Status::Expired] } else { &[Status::Rejected] }, vec![released])
        }
    };
    fulfilment::advance(env, db, manifest, row, path, actor, reason, origin, extra).await
}

/// Releases every hold whose acceptance window has passed (the hub's cron trigger).
/// `now` comes from the scheduled event, so tests can run the clock forward.
pub async fn release_lapsed_holds(env: &Env, now: i64, origin: &str) -> ApiResult<usize> {
    let db = store::db(env)?;
    #[derive(Deserialize)]
    struct Lapsed {
        id: String,
    }
    // Bids of an auction that is still open are settled by its close, never here.
    let lapsed: Vec<Lapsed> = store::all(
        &db,
        "SELECT id FROM requests WHERE hold_until IS NOT NULL AND captured_at IS NULL AND hold_until <= ? AND status IN ('queued', 'held_for_review')
           AND (auction_id IS NULL OR auction_id IN (SELECT id FROM auctions WHERE status = 'closed')) ORDER BY hold_until LIMIT 100",
        &[now.into()],
    )
    .await?;
    let mut released = 0;
    for Lapsed { id } in lapsed {
        let Some(row) = store::request(&db, &id).await? else { continue };
        let Some(app) = store::app(&db, &row.app_slug).await? else { continue };
        let manifest = Manifest::parse(&app.manifest).map_err(ApiError::Internal)?;
        match settle_hold(env, &db, &manifest, &row, HoldDecision::Lapse, "schedule", Some("not accepted in time"), origin).await {
            Ok(true) => released += 1,
            Ok(false) => {}
            Err(e) => worker::console_warn!("releasing the hold on {id} failed: {e:?}"),
        }
    }
    Ok(released)
}

/// One call to Stripe's form-encoded API. Every write carries an idempotency key, so a
/// retried call never charges or refunds twice.
async fn stripe_post(env: &Env, path: &str, form: String, idempotency_key: &str) -> ApiResult<serde_json::Value> {
    stripe_call(env, Method::Post, path, Some(form), Some(idempotency_key)).await
}

pub async fn stripe_call(env: &Env, method: Method, path: &str, form: Option<String>, idempotency_key: Option<&str>) -> ApiResult<serde_json::Value> {
    let key = required_config(env, "STRIPE_SECRET_KEY")?;
    let base = config(env, "STRIPE_API_BASE", "https://api.stripe.com");
    let headers = Headers::new();
    headers.set("Authorization", &format!("Bearer {key}"))?;
    headers.set("Stripe-Version", "2025-03-31.basil")?;
    if let Some(k) = idempotency_key {
        headers.set("Idempotency-Key", k)?;
    }
    let mut init = RequestInit::new();
    if let Some(form) = form {
        headers.set("Content-Type", "application/x-www-form-urlencoded")?;
        init.with_body(Some(form.into()));
    }
    init.with_method(method).with_headers(headers);
    let request = Request::new_with_init(&format!("{}{path}", base.trim_end_matches('/')), &init)?;
    let mut response = Fetch::Request(request).send_with_signal(&timeout_signal(15_000)).await.map_err(|e| ApiError::Upstream(format!("stripe: {e}")))?;
    let status = response.status_code();
    let body = response.text().await.unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(&body).map_err(|e| ApiError::Upstream(format!("stripe answered {status} with non-JSON: {e}")))?;
    match status {
        200..=299 => Ok(value),
        400..=499 => Err(ApiError::bad_request("payment_provider_refused", value["error"]["message"].as_str().unwrap_or("Stripe refused the request.").to_string())),
        _ => Err(ApiError::Upstream(format!("stripe answered {status}: {body}"))),
    }
}

/// Confirms a Connect account exists and can take charges (`GET /v1/accounts/:id`).
pub async fn connected_account_ready(env: &Env, account_id: &str) -> ApiResult<()> {
    let account = match stripe_call(env, Method::Get, &format!("/v1/accounts/{account_id}"), None, None).await {
        Ok(account) => account,
        Err(ApiError::BadRequest { .. }) => return Err(ApiError::bad_request("account_not_found", format!("Stripe has no connected account {account_id} on this platform."))),
        Err(e) => return Err(e),
    };
    if account["charges_enabled"] != true {
        return Err(ApiError::bad_request("account_not_ready", "This Stripe account cannot take charges yet; finish its onboarding in Stripe, then try again."));
    }
    Ok(())
}

/// Creates a Checkout Session for a request. The request id is Stripe's idempotency key, so
/// a retry never opens a second session for the same request.
pub async fn create_checkout(env: &Env, checkout: &stripe::CheckoutRequest<'_>) -> ApiResult<CheckoutSession> {
    let form = stripe::checkout_session_form(checkout);
    let session = stripe_post(env, "/v1/checkout/sessions", form, &format!("checkout-{}", checkout.reference)).await.map_err(|e| match e {
        // A refusal of a session we built is our bug, not the fan's.
        ApiError::BadRequest { message, .. } => ApiError::Upstream(format!("stripe refused the session: {message}")),
        other => other,
    })?;
    let session: SessionResponse = serde_json::from_value(session).map_err(|e| ApiError::Upstream(format!("stripe session: {e}")))?;
    let url = session.url.ok_or_else(|| ApiError::Upstream("stripe session has no url".into()))?;
    Ok(CheckoutSession { id: session.id, url })
}

pub struct Refund {
    pub id: String,
    pub amount: u64,
}

/// Refunds part or all of a request's payment with whichever provider took it.
pub async fn refund_payment(env: &Env, row: &store::RequestRow, amount: u64, reason: Option<&str>, idempotency_key: &str) -> ApiResult<Refund> {
    match (&row.payment_intent_id, row.provider.as_str()) {
        (_, "paypal") => crate::paypal::refund(env, row, amount, idempotency_key).await,
        (Some(payment_intent), _) => create_refund(env, payment_intent, amount, &row.id, reason, row.application_fee.is_some(), idempotency_key).await,
        (None, _) => Err(ApiError::Internal(format!("{} is paid but has no payment reference", row.id))),
    }
}

/// Refunds part or all of a request's payment through `POST /v1/refunds`.
async fn create_refund(env: &Env, payment_intent: &str, amount: u64, request_id: &str, reason: Option<&str>, destination_charge: bool, idempotency_key: &str) -> ApiResult<Refund> {
    let refund = stripe_post(env, "/v1/refunds", stripe::refund_form(payment_intent, amount, request_id, reason, destination_charge), idempotency_key).await?;
    let id = refund["id"].as_str().ok_or_else(|| ApiError::Upstream("stripe refund has no id".into()))?.to_string();
    Ok(Refund { id, amount: refund["amount"].as_u64().unwrap_or(amount) })
}

/// `POST /webhooks/payment`: verify, record the event id once, move the request.
pub async fn handle_stripe_webhook(mut req: Request, env: &Env) -> ApiResult<Response> {
    let secret = required_config(env, "STRIPE_WEBHOOK_SECRET")?;
    let body = crate::body::read_capped(&mut req, crate::body::WEBHOOK_MAX).await?;
    let signature = header(&req, "Stripe-Signature");
    stripe::verify_signature(signature.as_deref(), &body, &secret, now_ms() / 1000, stripe::DEFAULT_TOLERANCE_SECS)
        .map_err(|e| ApiError::bad_request("invalid_signature", e.message()))?;
    let event = stripe::Event::parse(&body).map_err(|m| ApiError::bad_request("invalid_event", m))?;
    let db = store::db(env)?;
    let origin = crate::http::origin(&req);

    if already_processed(&db, &event.id).await? {
        return Ok(ack(&event.id, "duplicate"));
    }
    if let Some(sub) = stripe::subscription_event(&event) {
        let batch = vec![processed(&db, &event, None, "applied")?, crate::tiers::upsert_statement(&db, &sub)?, crate::tiers::signup_done(&db, &sub.fan_id, &sub.app_slug)?];
        return match store::commit(&db, batch).await? {
            store::BatchOutcome::Committed => Ok(ack(&event.id, "applied")),
            store::BatchOutcome::Conflict(_) => Ok(ack(&event.id, "duplicate")),
            store::BatchOutcome::Refused(d) => Err(ApiError::Internal(d)),
        };
    }
    if let Some(charge) = stripe::charge_event(&event) {
        if let Some(purchase) = credits::purchase_by_payment_intent(&db, charge.payment_intent()).await? {
            // Only a full refund of a pack takes credits back; anything else about a pack
            // (a partial refund, a dispute) is recorded for the creator to see.
            if !matches!(charge, ChargeEvent::Refunded { full: true, .. }) || purchase.status != "paid" {
                record(&db, &event, None, "already_settled").await?;
                return Ok(ack(&event.id, "already_settled"));
            }
            let mut batch = vec![processed(&db, &event, None, "applied")?];
            batch.extend(credits::refund_statements(&db, &purchase).await?);
            return match store::commit(&db, batch).await? {
                store::BatchOutcome::Committed => Ok(ack(&event.id, "applied")),
                store::BatchOutcome::Conflict(_) => Ok(ack(&event.id, "duplicate")),
                store::BatchOutcome::Refused(d) => Err(ApiError::Internal(d)),
            };
        }
        for _ in 0..3 {
            if let Some(outcome) = apply_charge(env, &db, &event, &charge, &origin).await? {
                return Ok(ack(&event.id, outcome));
            }
            if already_processed(&db, &event.id).await? {
                return Ok(ack(&event.id, "duplicate"));
            }
        }
        return Err(ApiError::Unavailable("the request kept changing; Stripe will retry".into()));
    }
    let Some(checkout) = stripe::checkout_event(&event) else {
        record(&db, &event, None, "ignored").await?;
        return Ok(ack(&event.id, "ignored"));
    };
    match checkout.purpose {
        stripe::Purpose::Request => {}
        // The subscription's own events carry the tier; the session only starts it. An expired
        // session frees the fan to start another.
        stripe::Purpose::Tier => {
            let mut batch = vec![processed(&db, &event, None, "recorded")?];
            if checkout.outcome == stripe::CheckoutOutcome::Expired {
                batch.push(store::statement(&db, "UPDATE tier_signups SET status = 'done' WHERE id = ? AND status = 'pending'", &[checkout.reference.as_str().into()])?);
            }
            store::commit(&db, batch).await?;
            return Ok(ack(&event.id, "recorded"));
        }
        stripe::Purpose::CreditPack => {
            let Some(purchase) = credits::purchase(&db, &checkout.reference).await? else {
                record(&db, &event, None, "unknown_purchase").await?;
                return Ok(ack(&event.id, "unknown_purchase"));
            };
            let outcome = match credits::settle_statements(&db, &purchase, &checkout)? {
                Err(refusal) => {
                    record(&db, &event, None, refusal).await?;
                    refusal
                }
                Ok(mut batch) => {
                    batch.insert(0, processed(&db, &event, None, "applied")?);
                    match store::commit(&db, batch).await? {
                        store::BatchOutcome::Committed => "applied",
                        store::BatchOutcome::Conflict(_) => "duplicate",
                        store::BatchOutcome::Refused(d) => return Err(ApiError::Internal(d)),
                    }
                }
            };
            return Ok(ack(&event.id, outcome));
        }
    }
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
    // The session is made before the request's row commits, so its event can win the race:
    // answer non-2xx (without recording it) and Stripe delivers it again.
    let Some(row) = store::request(db, &checkout.reference).await? else {
        return Err(not_yet_known());
    };
    let completed = checkout.outcome == stripe::CheckoutOutcome::Completed;
    let expected = row.checkout_session_id.as_deref() == Some(checkout.session_id.as_str());
    // A paid session must say what it took; a missing amount or currency is no match.
    let amount_ok = checkout.amount_total == Some(row.amount as u64) && checkout.currency.as_deref() == Some(row.currency.as_str());
    let app = store::app(db, &row.app_slug).await?.ok_or(ApiError::Internal(format!("app {} missing", row.app_slug)))?;
    let manifest = Manifest::parse(&app.manifest).map_err(ApiError::Internal)?;
    // A held payment is not "paid" on the session; the PaymentIntent says whether it is held.
    let waiting = row.status()? == Status::AwaitingPayment;
    let held = match (manifest.holds_payment(), completed && expected && waiting, checkout.payment_intent.as_deref()) {
        (true, true, Some(pi)) => {
            let intent = payment_intent(env, pi).await?;
            intent["status"] == "requires_capture" && intent["amount"].as_u64() == Some(row.amount as u64)
        }
        _ => false,
    };
    // A hold that landed for a request no longer waiting (its auction closed, or it expired)
    // is released at once: nobody may keep a fan's card authorized for nothing.
    if let (true, true, false, Some(pi)) = (manifest.holds_payment(), completed && expected, waiting, checkout.payment_intent.as_deref()) {
        if row.payment_intent_id.as_deref() != Some(pi) && payment_intent(env, pi).await?["status"] == "requires_capture" {
            release_hold(env, pi, &row.id, "abandoned").await?;
            record(db, event, Some(&row.id), "released").await?;
            return Ok(Some("released"));
        }
    }
    let refusal = if completed && !checkout.paid && !held {
        Some("not_paid")
    } else if !expected || (completed && !amount_ok) {
        Some("mismatch")
    } else if !waiting {
        Some("already_settled")
    } else {
        None
    };
    if let Some(outcome) = refusal {
        record(db, event, Some(&row.id), outcome).await?;
        return Ok(Some(outcome));
    }
    // A bid authorized after its auction closed never counts: release it at once.
    if let (true, Some(auction_id), Some(pi)) = (held, &row.auction_id, checkout.payment_intent.as_deref()) {
        if !crate::auctions::accepts_holds(db, auction_id).await? {
            release_hold(env, pi, &row.id, "abandoned").await?;
            let extra = vec![processed(db, event, Some(&row.id), "auction_closed")?];
            let moved = fulfilment::advance(env, db, &manifest, &row, &[Status::Expired], "stripe", Some("auction had ended"), origin, extra).await?;
            return Ok(moved.then_some("auction_closed"));
        }
    }
    // The queue has no room for this request (its capacity was lowered while the fan paid):
    // the payment goes straight back instead of pushing the queue past its capacity.
    if let (true, Some(pi)) = (completed && row.auction_id.is_none(), checkout.payment_intent.as_deref()) {
        if crate::limits::full_without(db, &manifest, &row.id).await? {
            return give_back_full_queue(env, db, &manifest, event, &row, pi, held, origin).await;
        }
    }
    let mut extra = vec![processed(db, event, Some(&row.id), "applied")?];
    extra.push(store::statement(db, "UPDATE requests SET payment_intent_id = ? WHERE id = ?", &[checkout.payment_intent.as_deref().into(), row.id.as_str().into()])?);
    // Only a bid whose hold is in place moves its auction's end (anti-sniping).
    if let (true, Some(auction_id)) = (held, &row.auction_id) {
        extra.extend(crate::auctions::on_hold(db, &manifest, auction_id, now_ms()).await?);
    }
    if held {
        // An auction bid waits for the close, which comes well inside a card hold's ~7 days.
        let hours = manifest.pricing.hold.map_or(144, |h| i64::from(h.accept_within_hours));
        let until = now_ms() + hours * 3_600_000;
        extra.push(store::statement(db, "UPDATE requests SET hold_until = ? WHERE id = ?", &[until.into(), row.id.as_str().into()])?);
    }
    let after = row.after_payment(held);
    let path: &[Status] = if completed { &after } else { &[Status::Expired] };
    let moved = fulfilment::advance(env, db, &manifest, &row, path, "stripe", Some(&event.id), origin, extra).await?;
    if moved {
        console_log!("request {} moved to {} by {}", row.id, path[0].as_str(), event.id);
    }
    Ok(moved.then_some("applied"))
}

fn not_yet_known() -> ApiError {
    ApiError::Unavailable("The payment this event belongs to is not recorded yet; the event will be accepted on a later delivery.".into())
}

/// Gives a payment back because the queue is full: a hold is released (the request expires),
/// a charge is refunded in full (the request is paid, then refunded), each with the reason.
#[allow(clippy::too_many_arguments)]
async fn give_back_full_queue(env: &Env, db: &worker::D1Database, manifest: &Manifest, event: &stripe::Event, row: &store::RequestRow, pi: &str, held: bool, origin: &str) -> ApiResult<Option<&'static str>> {
    const WHY: &str = "the creator's queue was full when the payment arrived; the payment was given back in full";
    let mut extra = vec![processed(db, event, Some(&row.id), "queue_full")?];
    extra.push(store::statement(db, "UPDATE requests SET payment_intent_id = ? WHERE id = ?", &[pi.into(), row.id.as_str().into()])?);
    let path: &[Status] = if held {
        release_hold(env, pi, &row.id, "abandoned").await?;
        &[Status::Expired]
    } else {
        let refund = create_refund(env, pi, row.amount as u64, &row.id, Some("queue full"), row.application_fee.is_some(), &format!("queue-full-{}", row.id)).await?;
        extra.extend(store::refund_statements(db, &refund.id, &row.id, refund.amount, Some("queue full"), "fanline")?);
        &[Status::Paid, Status::Refunded]
    };
    let moved = fulfilment::advance(env, db, manifest, row, path, "fanline", Some(WHY), origin, extra).await?;
    Ok(moved.then_some("queue_full"))
}

/// Refunds and disputes, wherever they were started (our API or Stripe's dashboard).
/// `None` when the batch lost a race and the caller should look again.
async fn apply_charge(env: &Env, db: &worker::D1Database, event: &stripe::Event, charge: &ChargeEvent, origin: &str) -> ApiResult<Option<&'static str>> {
    // A refund or dispute can overtake the checkout event that records its payment: answer
    // non-2xx so Stripe delivers it again once the payment is known.
    let Some(row) = store::request_by_payment_intent(db, charge.payment_intent()).await? else {
        return Err(not_yet_known());
    };
    let now = now_ms();
    let (mut extra, path): (Vec<_>, Vec<Status>) = match charge {
        ChargeEvent::Refunded { amount_refunded, full, .. } => {
            let update = store::statement(db, "UPDATE requests SET amount_refunded = MAX(amount_refunded, ?) WHERE id = ?", &[(*amount_refunded as i64).into(), row.id.as_str().into()])?;
            let fully = *full || *amount_refunded >= row.amount as u64;
            (vec![update], if fully { vec![Status::Refunded] } else { Vec::new() })
        }
        ChargeEvent::DisputeOpened { dispute_id, amount, reason, .. } => {
            let insert = store::statement(
                db,
                "INSERT INTO disputes (id, request_id, amount, reason, status, opened_at) VALUES (?, ?, ?, ?, 'open', ?) ON CONFLICT (id) DO NOTHING",
                &[dispute_id.as_str().into(), row.id.as_str().into(), (*amount as i64).into(), reason.as_str().into(), now.into()],
            )?;
            (vec![insert], vec![Status::Disputed])
        }
        ChargeEvent::DisputeClosed { dispute_id, won, status, .. } => {
            let update = store::statement(db, "UPDATE disputes SET status = ?, closed_at = ? WHERE id = ?", &[status.as_str().into(), now.into(), dispute_id.as_str().into()])?;
            // Won: the creator keeps the money and the request goes back to where it was (a
            // queued request stays in the queue). Lost: the money went back.
            let back = if *won { Status::after_dispute_won(store::status_before_dispute(db, &row.id).await?) } else { Status::Refunded };
            (vec![update], vec![back])
        }
    };
    // Nothing to move (a partial refund, or a state that already reflects it): keep the data.
    let outcome = if path.is_empty() { "recorded" } else if row.status()?.walk(&path).is_err() { "already_settled" } else { "applied" };
    extra.insert(0, processed(db, event, Some(&row.id), outcome)?);
    if outcome != "applied" {
        return match store::commit(db, extra).await? {
            store::BatchOutcome::Committed => Ok(Some(outcome)),
            store::BatchOutcome::Conflict(_) => Ok(None),
            store::BatchOutcome::Refused(detail) => Err(ApiError::Internal(detail)),
        };
    }
    let app = store::app(db, &row.app_slug).await?.ok_or(ApiError::Internal(format!("app {} missing", row.app_slug)))?;
    let manifest = Manifest::parse(&app.manifest).map_err(ApiError::Internal)?;
    let moved = fulfilment::advance(env, db, &manifest, &row, &path, "stripe", Some(&event.id), origin, extra).await?;
    Ok(moved.then_some("applied"))
}

async fn already_processed(db: &worker::D1Database, event_id: &str) -> ApiResult<bool> {
    store::event_seen(db, "stripe", event_id).await
}

fn processed(db: &worker::D1Database, event: &stripe::Event, request_id: Option<&str>, outcome: &str) -> ApiResult<worker::D1PreparedStatement> {
    store::event_row(db, "stripe", &event.id, &event.kind, request_id, outcome)
}

/// Records an event that changes nothing; a duplicate of it is already recorded, which is fine.
async fn record(db: &worker::D1Database, event: &stripe::Event, request_id: Option<&str>, outcome: &str) -> ApiResult<()> {
    store::commit(db, vec![processed(db, event, request_id, outcome)?]).await.map(|_| ())
}

fn ack(event_id: &str, outcome: &str) -> Response {
    crate::http::json(200, &json!({"received": true, "event": event_id, "outcome": outcome}))
}
