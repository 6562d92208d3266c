//! PayPal for one-off payments: an order per request, captured when the fan comes back from
//! approving it (or when PayPal's webhook says it was approved), and webhooks verified through
//! PayPal's verify-webhook-signature API. The base URL is configuration, like Stripe's.

use crate::error::{ApiError, ApiResult};
use crate::fulfilment;
use crate::http::header;
use crate::platform::{config, required_config, timeout_signal};
use crate::store::{self, RequestRow};
use fanline_core::manifest::Manifest;
use fanline_core::money::{Currency, Money};
use fanline_core::paypal::{self, Event, TransmissionHeaders};
use fanline_core::state::Status;
use serde_json::{json, Value};
use worker::{D1Database, Env, Fetch, Headers, Method, Request, RequestInit, Response, Url};

const PROVIDER: &str = "paypal";

thread_local! {
    // The isolate's PayPal access token and when it stops working (ms). PayPal's tokens last
    // hours; asking for a new one per call would spend the platform's quota twice as fast.
    static TOKEN: std::cell::RefCell<Option<(String, i64)>> = const { std::cell::RefCell::new(None) };
}

async fn access_token(env: &Env) -> ApiResult<String> {
    let now = crate::platform::now_ms();
    if let Some(token) = TOKEN.with(|t| t.borrow().as_ref().filter(|(_, until)| *until > now).map(|(token, _)| token.clone())) {
        return Ok(token);
    }
    let client = required_config(env, "PAYPAL_CLIENT_ID")?;
    let secret = required_config(env, "PAYPAL_CLIENT_SECRET")?;
    let basic = fanline_core::base64::encode(format!("{client}:{secret}").as_bytes());
    let answer = call(env, "/v1/oauth2/token", Some(&format!("Basic {basic}")), Body::Form("grant_type=client_credentials".into()), None).await?;
    let token = answer["access_token"].as_str().map(str::to_string).ok_or_else(|| ApiError::Upstream("paypal token answer has no access_token".into()))?;
    // A minute's margin, so a token is never sent in its last seconds.
    let lifetime_ms = answer["expires_in"].as_i64().unwrap_or(0).saturating_sub(60).max(0) * 1000;
    TOKEN.with(|t| *t.borrow_mut() = Some((token.clone(), now + lifetime_ms)));
    Ok(token)
}

enum Body {
    Json(String),
    Form(String),
}

/// One POST to PayPal. `request_id` is PayPal's idempotency header: a retry returns the first
/// answer instead of creating, capturing or refunding again.
async fn call(env: &Env, path: &str, auth: Option<&str>, body: Body, request_id: Option<&str>) -> ApiResult<Value> {
    let base = config(env, "PAYPAL_API_BASE", "https://api-m.paypal.com");
    let headers = Headers::new();
    let auth = match auth {
        Some(a) => a.to_string(),
        None => format!("Bearer {}", Box::pin(access_token(env)).await?),
    };
    headers.set("Authorization", &auth)?;
    if let Some(id) = request_id {
        headers.set("PayPal-Request-Id", id)?;
    }
    let body = match body {
        Body::Json(b) => {
            headers.set("Content-Type", "application/json")?;
            b
        }
        Body::Form(b) => {
            headers.set("Content-Type", "application/x-www-form-urlencoded")?;
            b
        }
    };
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(body.into()));
    let request = Request::new_with_init(&format!("{}{path}", base.trim_end_matches('/')), &init)?;
    let mut response = Fetch::Request(request).send_with_signal(&timeout_signal(15_000)).await.map_err(|e| ApiError::Upstream(format!("paypal: {e}")))?;
    let status = response.status_code();
    let text = response.text().await.unwrap_or_default();
    let value: Value = serde_json::from_str(&text).map_err(|e| ApiError::Upstream(format!("paypal answered {status} with non-JSON: {e}")))?;
    match status {
        200..=299 => Ok(value),
        400..=499 => Err(ApiError::bad_request("payment_provider_refused", value["message"].as_str().unwrap_or("PayPal refused the request.").to_string())),
        _ => Err(ApiError::Upstream(format!("paypal answered {status}: {text}"))),
    }
}

pub struct Order {
    pub id: String,
    pub approve_url: String,
}

/// `POST /v2/checkout/orders` for a request.
pub async fn create_order(env: &Env, request_id: &str, description: &str, price: &Money, return_url: &str, cancel_url: &str) -> ApiResult<Order> {
    let body = paypal::order_body(request_id, description, price, return_url, cancel_url);
    let order = call(env, "/v2/checkout/orders", None, Body::Json(body.to_string()), Some(&format!("order-{request_id}"))).await.map_err(|e| match e {
        ApiError::BadRequest { message, .. } => ApiError::Upstream(format!("paypal refused the order: {message}")),
        other => other,
    })?;
    let id = order["id"].as_str().ok_or_else(|| ApiError::Upstream("paypal order has no id".into()))?.to_string();
    let approve_url = paypal::approve_url(&order).ok_or_else(|| ApiError::Upstream("paypal order has no approval link".into()))?.to_string();
    Ok(Order { id, approve_url })
}

/// Captures an approved order and marks the request paid. Safe to run twice: the capture is
/// idempotent at PayPal and the state change at most once here.
pub async fn capture(env: &Env, db: &D1Database, row: &RequestRow, actor: &str, origin: &str) -> ApiResult<&'static str> {
    let order_id = row.paypal_order_id.as_deref().ok_or_else(|| ApiError::Internal(format!("{} has no paypal order", row.id)))?;
    if row.status()? != Status::AwaitingPayment {
        return Ok("already_settled");
    }
    // No room in the queue (its capacity was lowered while the fan was at PayPal): the order
    // is never captured, so no money moves, and the request expires with the reason.
    let app = store::app(db, &row.app_slug).await?.ok_or_else(|| ApiError::Internal(format!("app {} missing", row.app_slug)))?;
    let manifest = Manifest::parse(&app.manifest).map_err(ApiError::Internal)?;
    if crate::limits::full_without(db, &manifest, &row.id).await? {
        fulfilment::advance(env, db, &manifest, row, &[Status::Expired], actor, Some("the creator's queue was full when the payment arrived; nothing was charged"), origin, Vec::new()).await?;
        return Ok("queue_full");
    }
    // PayPal refuses (422) an order that is not approved, or was captured by another call.
    let order = match call(env, &format!("/v2/checkout/orders/{order_id}/capture"), None, Body::Json("{}".into()), Some(&format!("capture-{order_id}"))).await {
        Err(ApiError::BadRequest { .. }) => return Ok("capture_refused"),
        other => other?,
    };
    let Some((capture_id, amount)) = paypal::completed_capture(&order) else {
        return Ok("not_paid");
    };
    let amount = amount["value"].as_str().unwrap_or_default().to_string();
    settle(env, db, row, capture_id, &amount, actor, None, origin).await
}

/// Moves a request paid through PayPal to paid and queued, once, if the amount is exactly right.
async fn settle(env: &Env, db: &D1Database, row: &RequestRow, capture_id: &str, amount: &str, actor: &str, event: Option<(&str, &str)>, origin: &str) -> ApiResult<&'static str> {
    let currency = Currency::parse(&row.currency).map_err(ApiError::Internal)?;
    if paypal::parse_amount(amount, &currency) != Some(row.amount as u64) {
        return Ok("mismatch");
    }
    if row.status()? != Status::AwaitingPayment {
        return Ok("already_settled");
    }
    let app = store::app(db, &row.app_slug).await?.ok_or_else(|| ApiError::Internal(format!("app {} missing", row.app_slug)))?;
    let manifest = Manifest::parse(&app.manifest).map_err(ApiError::Internal)?;
    let mut extra = vec![store::statement(db, "UPDATE requests SET paypal_capture_id = ? WHERE id = ?", &[capture_id.into(), row.id.as_str().into()])?];
    if let Some((event_id, kind)) = event {
        extra.push(processed(db, event_id, kind, Some(&row.id), "applied")?);
    }
    let moved = fulfilment::advance(env, db, &manifest, row, &row.after_payment(false), actor, Some(capture_id), origin, extra).await?;
    Ok(if moved { "applied" } else { "already_settled" })
}

/// `GET /apps/<slug>/paypal/return?request=<id>&token=<order id>`: where PayPal sends the fan
/// after approving. Captures, then shows the request's status page.
pub async fn approval_return(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let db = store::db(env)?;
    let url = req.url()?;
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    let (Some(request_id), Some(order_id)) = (param("request"), param("token")) else {
        return Err(ApiError::bad_request("invalid_return", "PayPal's return needs request and token."));
    };
    let row = store::request(&db, &request_id).await?.filter(|r| r.app_slug == manifest.slug && r.paypal_order_id.as_deref() == Some(order_id.as_str())).ok_or(ApiError::NotFound("request"))?;
    let origin = crate::http::origin(req);
    let outcome = capture(env, &db, &row, "paypal", &origin).await?;
    let flag = if matches!(outcome, "applied" | "already_settled") { "paid" } else { "payment_failed" };
    let to = Url::parse(&format!("{origin}/apps/{}/?{flag}=1&request={request_id}", manifest.slug)).map_err(|e| ApiError::Internal(format!("return url: {e}")))?;
    Ok(Response::redirect_with_status(to, 303)?)
}

/// Refunds part or all of a PayPal capture (`POST /v2/payments/captures/:id/refund`).
pub async fn refund(env: &Env, row: &RequestRow, amount: u64, key: &str) -> ApiResult<crate::payments::Refund> {
    let capture_id = row.paypal_capture_id.as_deref().ok_or_else(|| ApiError::Internal(format!("{} has no paypal capture", row.id)))?;
    let currency = Currency::parse(&row.currency).map_err(ApiError::Internal)?;
    let body = json!({"amount": {"value": paypal::amount_value(&Money::new(amount, currency.clone())), "currency_code": row.currency.to_ascii_uppercase()}});
    let refund = call(env, &format!("/v2/payments/captures/{capture_id}/refund"), None, Body::Json(body.to_string()), Some(key)).await?;
    let id = refund["id"].as_str().ok_or_else(|| ApiError::Upstream("paypal refund has no id".into()))?.to_string();
    let refunded = refund["amount"]["value"].as_str().and_then(|v| paypal::parse_amount(v, &currency)).unwrap_or(amount);
    Ok(crate::payments::Refund { id, amount: refunded })
}

/// `POST /webhooks/paypal`: asks PayPal whether the message is genuine, then acts on it once.
pub async fn handle_webhook(mut req: Request, env: &Env) -> ApiResult<Response> {
    let webhook_id = required_config(env, "PAYPAL_WEBHOOK_ID")?;
    let raw = crate::body::read_capped(&mut req, crate::body::WEBHOOK_MAX).await?;
    let raw = String::from_utf8(raw).map_err(|_| ApiError::bad_request("invalid_event", "The body is not UTF-8 JSON."))?;
    let (event_id, kind, event) = paypal::parse_event(raw.as_bytes()).map_err(|m| ApiError::bad_request("invalid_event", m))?;
    let h = |name: &str| header(&req, name).ok_or_else(|| ApiError::bad_request("invalid_signature", format!("{name} header is missing")));
    let transmission = TransmissionHeaders {
        auth_algo: h("PAYPAL-AUTH-ALGO")?,
        cert_url: h("PAYPAL-CERT-URL")?,
        transmission_id: h("PAYPAL-TRANSMISSION-ID")?,
        transmission_sig: h("PAYPAL-TRANSMISSION-SIG")?,
        transmission_time: h("PAYPAL-TRANSMISSION-TIME")?,
    };
    // Everything that costs nothing is checked before PayPal is asked (each verification is a
    // call against the platform's quota): the signing scheme, where the certificate lives,
    // whether the event was already handled, and whether it is about a payment we know.
    if transmission.auth_algo != "SHA256withRSA" || !trusted_cert_url(env, &transmission.cert_url) {
        return Err(ApiError::bad_request("invalid_signature", "This message is not signed the way PayPal signs webhooks."));
    }
    let db = store::db(env)?;
    let origin = crate::http::origin(&req);
    if already_processed(&db, &event_id).await? {
        return Ok(ack(&event_id, "duplicate"));
    }
    if event.is_none() {
        // A kind we do not act on: nothing to verify, nothing to record.
        return Ok(ack(&event_id, "ignored"));
    }
    if !knows(&db, event.as_ref()).await? {
        // Either not ours or ahead of its payment (the order is recorded when intake commits):
        // non-2xx, so PayPal delivers it again.
        return Err(ApiError::Unavailable("The payment this event belongs to is not recorded yet; the event will be accepted on a later delivery.".into()));
    }
    // Only now does the message cost a PayPal call: one client gets a bounded number of them.
    crate::limits::edge_limit(env, crate::limits::WEBHOOK_LIMITER, &fanline_core::client::ip_key(&crate::http::client_ip(&req))).await?;
    let verdict = call(env, "/v1/notifications/verify-webhook-signature", None, Body::Json(paypal::verification_body(&transmission, &webhook_id, &raw)), None).await?;
    if verdict["verification_status"] != "SUCCESS" {
        return Err(ApiError::bad_request("invalid_signature", "PayPal did not confirm this message's signature."));
    }
    let outcome = match event {
        None => "ignored",
        Some(Event::OrderApproved { request_id, order_id }) => match store::request(&db, &request_id).await? {
            Some(row) if row.paypal_order_id.as_deref() == Some(order_id.as_str()) => capture(env, &db, &row, "paypal", &origin).await?,
            _ => "unknown_request",
        },
        Some(Event::CaptureCompleted { capture_id, order_id, request_id, amount, currency }) => match store::request(&db, &request_id).await? {
            // The capture must be of this request's own order, not any order carrying its id.
            Some(row) if row.provider == PROVIDER && currency == row.currency && order_id.is_none_or(|o| row.paypal_order_id.as_deref() == Some(o.as_str())) => {
                let outcome = settle(env, &db, &row, &capture_id, &amount, "paypal", Some((&event_id, &kind)), &origin).await?;
                if outcome == "applied" {
                    return Ok(ack(&event_id, outcome));
                }
                outcome
            }
            _ => "unknown_request",
        },
        Some(Event::CaptureRefunded { refund_id, capture_id, amount }) => refunded(env, &db, &event_id, &kind, &refund_id, &capture_id, &amount, &origin).await?,
    };
    // Recorded after acting: a duplicate that races this one is harmless (capture and state
    // changes are idempotent), and a failure above lets PayPal retry.
    let _ = store::commit(&db, vec![processed(&db, &event_id, &kind, None, outcome)?]).await?;
    Ok(ack(&event_id, outcome))
}

/// A refund made at PayPal (or through our API): counted once per refund id.
async fn refunded(env: &Env, db: &D1Database, event_id: &str, kind: &str, refund_id: &str, capture_id: &str, amount: &str, origin: &str) -> ApiResult<&'static str> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    let Some(found) = store::first::<Id>(db, "SELECT id FROM requests WHERE paypal_capture_id = ?", &[capture_id.into()]).await? else { return Ok("unknown_request") };
    let Some(row) = store::request(db, &found.id).await? else { return Ok("unknown_request") };
    let currency = Currency::parse(&row.currency).map_err(ApiError::Internal)?;
    let Some(amount) = paypal::parse_amount(amount, &currency) else { return Ok("mismatch") };
    let record = |db: &D1Database| -> ApiResult<Vec<worker::D1PreparedStatement>> {
        let mut batch = store::refund_statements(db, refund_id, &row.id, amount, None, PROVIDER)?;
        batch.push(processed(db, event_id, kind, Some(&row.id), "applied")?);
        Ok(batch)
    };
    let already: i64 = store::first::<serde_json::Value>(db, "SELECT COALESCE(SUM(amount), 0) AS total FROM refunds WHERE request_id = ? AND id != ?", &[row.id.as_str().into(), refund_id.into()])
        .await?
        .and_then(|v| v["total"].as_f64())
        .unwrap_or(0.0) as i64;
    let full = already + amount as i64 >= row.amount;
    if full && row.status()?.can_become(Status::Refunded) {
        let app = store::app(db, &row.app_slug).await?.ok_or_else(|| ApiError::Internal(format!("app {} missing", row.app_slug)))?;
        let manifest = Manifest::parse(&app.manifest).map_err(ApiError::Internal)?;
        if fulfilment::advance(env, db, &manifest, &row, &[Status::Refunded], "paypal", Some(refund_id), origin, record(db)?).await? {
            return Ok("applied");
        }
    }
    match store::commit(db, record(db)?).await? {
        store::BatchOutcome::Committed => Ok("recorded"),
        _ => Ok("duplicate"),
    }
}

/// PayPal signs with certificates it serves from its own hosts (locally, from the stand-in
/// at the configured API base).
fn trusted_cert_url(env: &Env, cert_url: &str) -> bool {
    let Ok(url) = Url::parse(cert_url) else { return false };
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let api_host = Url::parse(&config(env, "PAYPAL_API_BASE", "https://api-m.paypal.com")).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    (url.scheme() == "https" && (host == "paypal.com" || host.ends_with(".paypal.com"))) || api_host.as_deref() == Some(host.as_str())
}

/// Whether the event is about a request (or capture) we have recorded.
async fn knows(db: &D1Database, event: Option<&Event>) -> ApiResult<bool> {
    Ok(match event {
        None => true,
        Some(Event::OrderApproved { request_id, .. } | Event::CaptureCompleted { request_id, .. }) => store::request(db, request_id).await?.is_some(),
        Some(Event::CaptureRefunded { capture_id, .. }) => store::first::<Value>(db, "SELECT id FROM requests WHERE paypal_capture_id = ?", &[capture_id.as_str().into()]).await?.is_some(),
    })
}

async fn already_processed(db: &D1Database, event_id: &str) -> ApiResult<bool> {
    store::event_seen(db, PROVIDER, event_id).await
}

fn processed(db: &D1Database, event_id: &str, kind: &str, request_id: Option<&str>, outcome: &str) -> ApiResult<worker::D1PreparedStatement> {
    store::event_row(db, PROVIDER, event_id, kind, request_id, outcome)
}

fn ack(event_id: &str, outcome: &str) -> Response {
    crate::http::json(200, &json!({"received": true, "event": event_id, "outcome": outcome}))
}
