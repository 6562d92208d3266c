//! Stripe's API, form-encoded. Every write carries an idempotency key, so a retried call never
//! charges, captures or refunds twice. `STRIPE_API_BASE` points it at the local stand-in.

use super::{ProviderError, ProviderResult};
use crate::platform::config::config;
use fanline_core::money::stripe::{self, CheckoutRequest};
use serde::Deserialize;
use serde_json::Value;
use worker::{Env, Headers, Method};

const SERVICE: &str = "stripe";

async fn call(env: &Env, method: Method, path: &str, form: Option<String>, idempotency_key: Option<&str>) -> ProviderResult<Value> {
    let key = config(env, "STRIPE_SECRET_KEY", "");
    if key.is_empty() {
        return Err(ProviderError::NotConfigured("STRIPE_SECRET_KEY is not configured".into()));
    }
    let base = config(env, "STRIPE_API_BASE", "https://api.stripe.com");
    let headers = Headers::new();
    headers.set("Authorization", &format!("Bearer {key}"))?;
    headers.set("Stripe-Version", "2025-03-31.basil")?;
    if let Some(k) = idempotency_key {
        headers.set("Idempotency-Key", k)?;
    }
    if form.is_some() {
        headers.set("Content-Type", "application/x-www-form-urlencoded")?;
    }
    let request = super::outgoing(method, &format!("{}{path}", base.trim_end_matches('/')), &headers, form, true)?;
    super::json_call(SERVICE, request, |v| v["error"]["message"].as_str().or(Some("Stripe refused the request."))).await
}

async fn post(env: &Env, path: &str, form: String, idempotency_key: &str) -> ProviderResult<Value> {
    call(env, Method::Post, path, Some(form), Some(idempotency_key)).await
}

pub struct CheckoutSession {
    pub id: String,
    pub url: String,
}

/// Creates a Checkout Session. Its reference is the idempotency key, so a retry never opens a
/// second session for the same request, pack or signup.
pub async fn create_checkout(env: &Env, checkout: &CheckoutRequest<'_>) -> ProviderResult<CheckoutSession> {
    #[derive(Deserialize)]
    struct Session {
        id: String,
        url: Option<String>,
    }
    let session = post(env, "/v1/checkout/sessions", stripe::checkout_session_form(checkout), &format!("checkout-{}", checkout.reference)).await?;
    let session: Session = serde_json::from_value(session).map_err(|e| ProviderError::unavailable(SERVICE, format!("session: {e}")))?;
    let url = session.url.ok_or_else(|| ProviderError::unavailable(SERVICE, "session has no url"))?;
    Ok(CheckoutSession { id: session.id, url })
}

/// Expires an open Checkout Session (`POST /v1/checkout/sessions/:id/expire`).
pub async fn expire_checkout(env: &Env, session_id: &str) -> ProviderResult<()> {
    post(env, &format!("/v1/checkout/sessions/{session_id}/expire"), String::new(), &format!("expire-{session_id}")).await.map(|_| ())
}

/// Whether a Checkout Session was completed.
pub async fn checkout_complete(env: &Env, session_id: &str) -> ProviderResult<bool> {
    Ok(call(env, Method::Get, &format!("/v1/checkout/sessions/{session_id}"), None, None).await?["status"] == "complete")
}

/// A PaymentIntent's status and amount: the authority on whether a payment is held.
pub async fn payment_intent(env: &Env, id: &str) -> ProviderResult<(String, Option<u64>)> {
    let intent = call(env, Method::Get, &format!("/v1/payment_intents/{id}"), None, None).await?;
    Ok((intent["status"].as_str().unwrap_or_default().to_string(), intent["amount"].as_u64()))
}

/// Captures a held payment; the key is per request, so the capture happens once.
pub async fn capture(env: &Env, payment_intent: &str, request_id: &str) -> ProviderResult<()> {
    post(env, &format!("/v1/payment_intents/{payment_intent}/capture"), String::new(), &format!("capture-{request_id}")).await.map(|_| ())
}

/// Releases a held payment (`cancel`); the fan is never charged.
pub async fn release(env: &Env, payment_intent: &str, request_id: &str, reason: &str) -> ProviderResult<()> {
    post(env, &format!("/v1/payment_intents/{payment_intent}/cancel"), format!("cancellation_reason={reason}"), &format!("release-{request_id}"))
        .await
        .map(|_| ())
}

/// A refund to make through `POST /v1/refunds`.
pub struct RefundCall<'a> {
    pub payment_intent: &'a str,
    pub amount: u64,
    pub request_id: &'a str,
    pub reason: Option<&'a str>,
    /// The charge went to a connected account: the refund pulls it back from there.
    pub destination_charge: bool,
    pub idempotency_key: &'a str,
}

/// A refund Stripe made.
pub struct Refunded {
    pub id: String,
    pub amount: u64,
    /// The charge's refunded total right after it, refunds made in the dashboard included;
    /// `None` when it could not be read (the refund stands either way).
    pub charge_total: Option<u64>,
}

/// Refunds, then reads the charge's running total: its `charge.refunded` event comes later,
/// and until then only Stripe knows about refunds made in the dashboard (review L3).
pub async fn refund(env: &Env, r: &RefundCall<'_>) -> ProviderResult<Refunded> {
    let form = stripe::refund_form(r.payment_intent, r.amount, r.request_id, r.reason, r.destination_charge);
    let refund = post(env, "/v1/refunds", form, r.idempotency_key).await?;
    let id = refund["id"].as_str().ok_or_else(|| ProviderError::unavailable(SERVICE, "refund has no id"))?.to_string();
    let charge_total = match refund["charge"].as_str() {
        Some(charge) => call(env, Method::Get, &format!("/v1/charges/{charge}"), None, None).await.ok().and_then(|c| c["amount_refunded"].as_u64()),
        None => None,
    };
    Ok(Refunded { id, amount: refund["amount"].as_u64().unwrap_or(r.amount), charge_total })
}

/// Whether a Connect account can take charges (`GET /v1/accounts/:id`).
pub async fn account_charges_enabled(env: &Env, account_id: &str) -> ProviderResult<bool> {
    Ok(call(env, Method::Get, &format!("/v1/accounts/{account_id}"), None, None).await?["charges_enabled"] == true)
}

/// Cancels a subscription now (`DELETE /v1/subscriptions/:id`).
pub async fn cancel_subscription(env: &Env, id: &str) -> ProviderResult<()> {
    call(env, Method::Delete, &format!("/v1/subscriptions/{id}"), None, Some(&format!("cancel-{id}"))).await.map(|_| ())
}
