//! `POST /webhooks/paypal`: PayPal's events. PayPal signs with certificates; we ask its
//! verify-webhook-signature API, but only after every check that costs nothing, and within a
//! per-client limit (each verification spends the platform's PayPal quota).

use super::ack;
use fanline_core::lifecycle::Status;
use fanline_core::money::paypal::{self as wire, TransmissionHeaders};
use fanline_core::money::{Currency, PaymentProvider};
use fanline_core::trust::client::ip_key;
use fanline_core::webhook::WebhookOutcome;
use fanline_edge::db::{
    self,
    provider_events::{Event, Source},
    requests::RefundRecord,
};
use fanline_edge::lifecycle::{self, Move};
use fanline_edge::money::paypal::{capture, settle, Capture};
use fanline_edge::platform::body::{read_capped, WEBHOOK_MAX};
use fanline_edge::platform::ctx::{By, Ctx};
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{client_ip, header, origin};
use fanline_edge::providers::paypal;
use fanline_edge::trust::limits::{edge_limit, WEBHOOK_LIMITER};
use worker::{D1PreparedStatement, Env, Request, Response, Url};

pub async fn handle(mut req: Request, env: &Env) -> ApiResult<Response> {
    let raw = read_capped(&mut req, WEBHOOK_MAX).await?;
    let raw = String::from_utf8(raw).map_err(|_| ApiError::bad_request("invalid_event", "The body is not UTF-8 JSON."))?;
    let (event_id, kind, parsed) = wire::parse_event(raw.as_bytes()).map_err(|m| ApiError::bad_request("invalid_event", m))?;
    let h = |name: &str| header(&req, name).ok_or_else(|| ApiError::bad_request("invalid_signature", format!("{name} header is missing")));
    let transmission = TransmissionHeaders {
        auth_algo: h("PAYPAL-AUTH-ALGO")?,
        cert_url: h("PAYPAL-CERT-URL")?,
        transmission_id: h("PAYPAL-TRANSMISSION-ID")?,
        transmission_sig: h("PAYPAL-TRANSMISSION-SIG")?,
        transmission_time: h("PAYPAL-TRANSMISSION-TIME")?,
    };
    // Everything that costs nothing is checked before PayPal is asked: the signing scheme,
    // where the certificate lives, whether the event was already handled, and whether it is
    // about a payment we know.
    if transmission.auth_algo != "SHA256withRSA" || !trusted_cert_url(env, &transmission.cert_url) {
        return Err(ApiError::bad_request("invalid_signature", "This message is not signed the way PayPal signs webhooks."));
    }
    let db = db::db(env)?;
    let origin = origin(&req);
    let ctx = Ctx { env, db: &db, origin: &origin };
    let event = Event { source: Source::Paypal, id: &event_id, kind: &kind };
    let done = |outcome| Ok(ack("event", &event_id, outcome));
    if event.seen(&db).await? {
        return done(WebhookOutcome::Duplicate);
    }
    let Some(parsed) = parsed else {
        // A kind we do not act on: nothing to verify, nothing to record.
        return done(WebhookOutcome::Ignored);
    };
    if !knows(&db, &parsed).await? {
        // Either not ours or ahead of its payment (the order is recorded when intake commits):
        // non-2xx, so PayPal delivers it again.
        return Err(ApiError::Unavailable("The payment this event belongs to is not recorded yet; the event will be accepted on a later delivery.".into()));
    }
    // Only now does the message cost a PayPal call: one client gets a bounded number of them.
    edge_limit(env, WEBHOOK_LIMITER, &ip_key(&client_ip(&req))).await?;
    if !paypal::verify_webhook(env, &transmission, &raw).await? {
        return Err(ApiError::bad_request("invalid_signature", "PayPal did not confirm this message's signature."));
    }
    let outcome = match parsed {
        wire::Event::OrderApproved { request_id, order_id } => match db::requests::get(&db, &request_id).await? {
            Some(row) if row.paypal_order_id.as_deref() == Some(order_id.as_str()) => {
                let outcome = capture(ctx, &row, "paypal", Some(&event)).await?;
                if outcome == WebhookOutcome::Applied {
                    return done(outcome);
                }
                outcome
            }
            _ => WebhookOutcome::UnknownRequest,
        },
        wire::Event::CaptureCompleted { capture_id, order_id, request_id, amount, currency } => match db::requests::get(&db, &request_id).await? {
            // The capture must be of this request's own order, not any order carrying its id.
            Some(row)
                if row.provider == PaymentProvider::Paypal
                    && currency == row.currency
                    && order_id.is_none_or(|o| row.paypal_order_id.as_deref() == Some(o.as_str())) =>
            {
                let outcome = settle(ctx, &row, &Capture { id: &capture_id, amount: &amount }, "paypal", Some(&event)).await?;
                if outcome == WebhookOutcome::Applied {
                    return done(outcome);
                }
                outcome
            }
            _ => WebhookOutcome::UnknownRequest,
        },
        wire::Event::CaptureRefunded { refund_id, capture_id, amount, currency } => {
            refunded(ctx, &event, &Refunded { refund_id: &refund_id, capture_id: &capture_id, amount: &amount, currency: &currency }).await?
        }
    };
    // A payment applied above was recorded with its event in one batch (review L5). Any other
    // outcome moved no money and is recorded after: a duplicate racing it changes nothing
    // (captures carry PayPal-Request-Id, state changes are conditional), and a failure above
    // lets PayPal retry.
    db::commit(&db, vec![event.processed(&db, None, outcome)?]).await?;
    done(outcome)
}

/// A refund made at PayPal (or through our API), as its event reports it.
struct Refunded<'a> {
    refund_id: &'a str,
    capture_id: &'a str,
    /// Decimal text, as PayPal writes amounts.
    amount: &'a str,
    /// Lower-case ISO code.
    currency: &'a str,
}

/// Counted once per refund id; a refund that empties the payment moves the request to refunded.
async fn refunded(ctx: Ctx<'_>, event: &Event<'_>, r: &Refunded<'_>) -> ApiResult<WebhookOutcome> {
    let Some(row) = db::requests::by_paypal_capture(ctx.db, r.capture_id).await? else { return Ok(WebhookOutcome::UnknownRequest) };
    // An amount in another currency is not a refund of this payment's money (review L5).
    if r.currency != row.currency {
        return Ok(WebhookOutcome::Mismatch);
    }
    let currency = Currency::parse(&row.currency).map_err(ApiError::Internal)?;
    let Some(amount) = wire::parse_amount(r.amount, &currency) else { return Ok(WebhookOutcome::Mismatch) };
    let record = || -> ApiResult<Vec<D1PreparedStatement>> {
        let refund = RefundRecord { id: r.refund_id, request_id: &row.id, amount, reason: None, actor: "paypal", idempotency_key: None, provider_total: None };
        let mut batch = db::requests::refund_statements(ctx.db, &refund)?;
        batch.push(event.processed(ctx.db, Some(&row.id), WebhookOutcome::Applied)?);
        Ok(batch)
    };
    let already = db::requests::refunded_besides(ctx.db, &row.id, r.refund_id).await?;
    if already + amount as i64 >= row.amount && row.status.can_become(Status::Refunded) {
        let (_, manifest) = db::apps::with_manifest(ctx.db, &row.app_slug).await?;
        if lifecycle::advance(ctx, &manifest, &row, Move::to(&[Status::Refunded], By::new("paypal", Some(r.refund_id))).with(record()?)).await? {
            return Ok(WebhookOutcome::Applied);
        }
    }
    match db::commit(ctx.db, record()?).await? {
        db::BatchOutcome::Committed => Ok(WebhookOutcome::Recorded),
        _ => Ok(WebhookOutcome::Duplicate),
    }
}

/// PayPal signs with certificates it serves from its own hosts (locally, from the stand-in
/// at the configured API base).
fn trusted_cert_url(env: &Env, cert_url: &str) -> bool {
    let Ok(url) = Url::parse(cert_url) else { return false };
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let api_host = Url::parse(&paypal::api_base(env)).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    (url.scheme() == "https" && (host == "paypal.com" || host.ends_with(".paypal.com"))) || api_host.as_deref() == Some(host.as_str())
}

/// Whether the event is about a request (or capture) we have recorded.
async fn knows(db: &worker::D1Database, event: &wire::Event) -> ApiResult<bool> {
    Ok(match event {
        wire::Event::OrderApproved { request_id, .. } | wire::Event::CaptureCompleted { request_id, .. } => db::requests::get(db, request_id).await?.is_some(),
        wire::Event::CaptureRefunded { capture_id, .. } => db::requests::by_paypal_capture(db, capture_id).await?.is_some(),
    })
}
