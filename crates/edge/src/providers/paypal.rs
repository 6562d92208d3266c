//! PayPal's REST API: an OAuth client-credentials token (cached per isolate), Orders v2,
//! captures, refunds and webhook signature verification. `PAYPAL-Request-Id` makes every write
//! idempotent. `PAYPAL_API_BASE` points it at the local stand-in.

use super::{ProviderError, ProviderResult};
use crate::platform::config::{config, now_ms};
use fanline_core::money::paypal::{self, TransmissionHeaders};
use fanline_core::money::{Currency, Money};
use serde_json::{json, Value};
use worker::{Env, Headers, Method};

const SERVICE: &str = "paypal";

thread_local! {
    // The isolate's access token and when it stops working (ms). PayPal's tokens last hours;
    // asking for a new one per call would spend the platform's quota twice as fast.
    static TOKEN: std::cell::RefCell<Option<(String, i64)>> = const { std::cell::RefCell::new(None) };
}

/// The configured base, which also serves PayPal's signing certificates locally.
pub fn api_base(env: &Env) -> String {
    config(env, "PAYPAL_API_BASE", "https://api-m.paypal.com")
}

fn required(env: &Env, name: &str) -> ProviderResult<String> {
    let value = config(env, name, "");
    if value.is_empty() {
        Err(ProviderError::NotConfigured(format!("{name} is not configured")))
    } else {
        Ok(value)
    }
}

async fn access_token(env: &Env) -> ProviderResult<String> {
    let now = now_ms();
    if let Some(token) = TOKEN.with(|t| t.borrow().as_ref().filter(|(_, until)| *until > now).map(|(token, _)| token.clone())) {
        return Ok(token);
    }
    let basic = fanline_core::util::base64::encode(format!("{}:{}", required(env, "PAYPAL_CLIENT_ID")?, required(env, "PAYPAL_CLIENT_SECRET")?).as_bytes());
    let answer = send(env, "/v1/oauth2/token", &format!("Basic {basic}"), Body::Form("grant_type=client_credentials".into()), None).await?;
    let token = answer["access_token"].as_str().map(str::to_string).ok_or_else(|| ProviderError::unavailable(SERVICE, "token answer has no access_token"))?;
    // A minute's margin, so a token is never sent in its last seconds.
    let lifetime_ms = answer["expires_in"].as_i64().unwrap_or(0).saturating_sub(60).max(0) * 1000;
    TOKEN.with(|t| *t.borrow_mut() = Some((token.clone(), now + lifetime_ms)));
    Ok(token)
}

enum Body {
    Json(String),
    Form(String),
}

async fn send(env: &Env, path: &str, auth: &str, body: Body, request_id: Option<&str>) -> ProviderResult<Value> {
    let headers = Headers::new();
    headers.set("Authorization", auth)?;
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
    let request = super::outgoing(Method::Post, &format!("{}{path}", api_base(env).trim_end_matches('/')), &headers, Some(body), true)?;
    super::json_call(SERVICE, request, |v| v["message"].as_str().or(Some("PayPal refused the request."))).await
}

/// One authorized POST of a JSON body.
async fn post(env: &Env, path: &str, body: String, request_id: Option<&str>) -> ProviderResult<Value> {
    let token = access_token(env).await?;
    send(env, path, &format!("Bearer {token}"), Body::Json(body), request_id).await
}

/// An order for one request.
pub struct OrderCall<'a> {
    pub request_id: &'a str,
    pub description: &'a str,
    pub price: &'a Money,
    pub return_url: &'a str,
    pub cancel_url: &'a str,
}

pub struct Order {
    pub id: String,
    pub approve_url: String,
}

/// `POST /v2/checkout/orders`, once per request.
pub async fn create_order(env: &Env, o: &OrderCall<'_>) -> ProviderResult<Order> {
    let body = paypal::order_body(o.request_id, o.description, o.price, o.return_url, o.cancel_url);
    let order = post(env, "/v2/checkout/orders", body.to_string(), Some(&format!("order-{}", o.request_id))).await?;
    let id = order["id"].as_str().ok_or_else(|| ProviderError::unavailable(SERVICE, "order has no id"))?.to_string();
    let approve_url = paypal::approve_url(&order).ok_or_else(|| ProviderError::unavailable(SERVICE, "order has no approval link"))?.to_string();
    Ok(Order { id, approve_url })
}

/// Captures an approved order; PayPal refuses (422) one not approved or captured by another call.
pub async fn capture_order(env: &Env, order_id: &str) -> ProviderResult<Value> {
    post(env, &format!("/v2/checkout/orders/{order_id}/capture"), "{}".into(), Some(&format!("capture-{order_id}"))).await
}

/// Refunds part or all of a capture; the refund's id and the amount PayPal refunded.
pub async fn refund(env: &Env, capture_id: &str, amount: &Money, key: &str) -> ProviderResult<(String, u64)> {
    let body = json!({"amount": {"value": paypal::amount_value(amount), "currency_code": amount.currency.as_str().to_ascii_uppercase()}});
    let refund = post(env, &format!("/v2/payments/captures/{capture_id}/refund"), body.to_string(), Some(key)).await?;
    let id = refund["id"].as_str().ok_or_else(|| ProviderError::unavailable(SERVICE, "refund has no id"))?.to_string();
    let currency: &Currency = &amount.currency;
    let refunded = refund["amount"]["value"].as_str().and_then(|v| paypal::parse_amount(v, currency)).unwrap_or(amount.amount);
    Ok((id, refunded))
}

/// Asks PayPal whether a webhook message is genuine (`verify-webhook-signature`).
pub async fn verify_webhook(env: &Env, transmission: &TransmissionHeaders, raw: &str) -> ProviderResult<bool> {
    let webhook_id = required(env, "PAYPAL_WEBHOOK_ID")?;
    let verdict = post(env, "/v1/notifications/verify-webhook-signature", paypal::verification_body(transmission, &webhook_id, raw), None).await?;
    Ok(verdict["verification_status"] == "SUCCESS")
}
