//! PayPal for one-off payments: an order per request, captured when the fan comes back from
//! approving it (or when PayPal's webhook says it was approved). Captures are idempotent at
//! PayPal and the state change happens at most once here.

use crate::db::{self, provider_events, requests::RequestRow};
use crate::lifecycle::{self, Move};
use crate::platform::ctx::{By, Ctx};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{origin, query_param, redirect};
use crate::providers::{paypal, ProviderError};
use crate::trust::limits;
use fanline_core::lifecycle::Status;
use fanline_core::manifest::Manifest;
use fanline_core::money::paypal as wire;
use fanline_core::money::Currency;
use fanline_core::webhook::WebhookOutcome;
use worker::{Env, Request, Response};

/// Captures an approved order and marks the request paid.
/// `event`, when a webhook asked, is recorded as processed in the same batch as the payment.
pub async fn capture(ctx: Ctx<'_>, row: &RequestRow, actor: &str, event: Option<&provider_events::Event<'_>>) -> ApiResult<WebhookOutcome> {
    let order_id = row.paypal_order_id.as_deref().ok_or_else(|| ApiError::internal(format!("{} has no paypal order", row.id)))?;
    if row.status != Status::AwaitingPayment {
        return Ok(WebhookOutcome::AlreadySettled);
    }
    // No room in the queue (its capacity was lowered while the fan was at PayPal): the order
    // is never captured, so no money moves, and the request expires with the reason.
    let (_, manifest) = db::apps::with_manifest(ctx.db, &row.app_slug).await?;
    if limits::full_without(ctx.db, &manifest, &row.id).await? {
        let why = "the creator's queue was full when the payment arrived; nothing was charged";
        lifecycle::advance(ctx, &manifest, row, Move::to(&[Status::Expired], By::new(actor, Some(why)))).await?;
        return Ok(WebhookOutcome::QueueFull);
    }
    let order = match paypal::capture_order(ctx.env, order_id).await {
        Err(ProviderError::Refused { .. }) => return Ok(WebhookOutcome::CaptureRefused),
        other => other?,
    };
    let Some((capture_id, amount)) = wire::completed_capture(&order) else {
        return Ok(WebhookOutcome::NotPaid);
    };
    let capture = Capture { id: capture_id, amount: amount["value"].as_str().unwrap_or_default() };
    settle(ctx, row, &capture, actor, event).await
}

/// A completed capture, as PayPal reports it.
pub struct Capture<'a> {
    pub id: &'a str,
    /// Decimal text, as PayPal writes amounts.
    pub amount: &'a str,
}

/// Moves a request paid through PayPal to paid and queued, once, if the amount is exactly
/// right; `event` is the webhook that reported it, recorded in the same batch.
pub async fn settle(
    ctx: Ctx<'_>,
    row: &RequestRow,
    capture: &Capture<'_>,
    actor: &str,
    event: Option<&provider_events::Event<'_>>,
) -> ApiResult<WebhookOutcome> {
    let currency = Currency::parse(&row.currency).map_err(ApiError::Internal)?;
    if wire::parse_amount(capture.amount, &currency) != Some(row.amount as u64) {
        return Ok(WebhookOutcome::Mismatch);
    }
    if row.status != Status::AwaitingPayment {
        return Ok(WebhookOutcome::AlreadySettled);
    }
    let (_, manifest) = db::apps::with_manifest(ctx.db, &row.app_slug).await?;
    let mut extra = vec![db::requests::set_paypal_capture(ctx.db, &row.id, capture.id)?];
    if let Some(event) = event {
        extra.push(event.processed(ctx.db, Some(&row.id), WebhookOutcome::Applied)?);
    }
    let path = row.after_payment(false);
    let moved = lifecycle::advance(ctx, &manifest, row, Move::to(&path, By::new(actor, Some(capture.id))).with(extra)).await?;
    Ok(if moved { WebhookOutcome::Applied } else { WebhookOutcome::AlreadySettled })
}

/// `GET /apps/<slug>/paypal/return?request=<id>&token=<order id>`: where PayPal sends the fan
/// after approving. Captures, then shows the request's status page.
pub async fn approval_return(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let db = db::db(env)?;
    let param = |name: &str| query_param(req, name);
    let (Some(request_id), Some(order_id)) = (param("request"), param("token")) else {
        return Err(ApiError::bad_request("invalid_return", "PayPal's return needs request and token."));
    };
    let row = db::requests::get(&db, &request_id)
        .await?
        .filter(|r| r.app_slug == manifest.slug && r.paypal_order_id.as_deref() == Some(order_id.as_str()))
        .ok_or(ApiError::NotFound("request"))?;
    let origin = origin(req);
    let outcome = capture(Ctx { env, db: &db, origin: &origin }, &row, "paypal", None).await?;
    let flag = if matches!(outcome, WebhookOutcome::Applied | WebhookOutcome::AlreadySettled) { "paid" } else { "payment_failed" };
    Ok(redirect(&format!("{origin}/apps/{}/?{flag}=1&request={request_id}", manifest.slug), 303, &[])?)
}
