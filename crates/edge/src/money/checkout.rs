//! Opening a payment: Stripe Checkout Sessions (requests, credit packs, tiers) with the
//! creator's connected account and the marketplace's fee, and the fan purchase body that packs
//! and tiers share.

use crate::db;
use crate::platform::body::{require_json_content_type, strict_json};
use crate::platform::config::now_ms;
use crate::platform::error::{ApiError, ApiResult};
use crate::providers::stripe::{self, CheckoutSession};
use crate::providers::ProviderError;
use crate::trust::limits::{self, PAYMENT_WINDOW_MS};
use fanline_core::manifest::Manifest;
use fanline_core::money::stripe::{application_fee, CheckoutRequest};
use serde_json::Value;
use worker::{D1Database, Env, Request};

/// Every Checkout Session expires when the payment window ends.
pub fn checkout_expiry() -> i64 {
    (now_ms() + PAYMENT_WINDOW_MS) / 1000
}

/// Opens a Checkout Session. Stripe refusing a session we built is our bug, not the fan's.
pub async fn open(env: &Env, checkout: &CheckoutRequest<'_>) -> ApiResult<CheckoutSession> {
    stripe::create_checkout(env, checkout).await.map_err(|e| match e {
        ProviderError::Refused { message, .. } => ApiError::Upstream(format!("stripe refused the session: {message}")),
        other => other.into(),
    })
}

/// The creator's connected account and the marketplace's fee on `amount`, when connected:
/// the creator is paid directly and the marketplace keeps its fee; without one the platform
/// account takes the payment.
pub async fn creator_connect(db: &D1Database, manifest: &Manifest, amount: u64) -> ApiResult<Option<(String, u64)>> {
    let app = db::apps::get(db, &manifest.slug)
        .await?
        .ok_or_else(|| ApiError::Unavailable(format!("The app '{}' is not registered with the marketplace yet.", manifest.slug)))?;
    let account = db::creators::stripe_account(db, &app.creator_id).await?;
    Ok(account.map(|a| (a, application_fee(amount, manifest.pricing.platform_fee_bps))))
}

/// A fan's purchase body (`{"<what>": "<id>", "email": "optional"}`) and its checked email.
/// Each purchase opens a Checkout Session on the platform's account, so it is limited per
/// client, and only JSON is read (a cross-site page cannot post JSON without a preflight).
pub async fn purchase_body(req: &mut Request, env: &Env, what: &str) -> ApiResult<(Value, Option<String>)> {
    limits::per_client(env, req).await?;
    require_json_content_type(req)?;
    let example = format!(r#"{{"{what}": "<{what} id>", "email": "optional"}}"#);
    let body: serde_json::Map<String, Value> = strict_json(req, &example, false).await?;
    if let Some(unknown) = body.keys().find(|k| k.as_str() != what && k.as_str() != "email") {
        return Err(ApiError::bad_request("invalid_json", format!("Unknown key \"{unknown}\"; send {example}.")));
    }
    let email = match body.get("email") {
        None | Some(Value::Null) => None,
        Some(Value::String(e)) => Some(e.trim().to_string()).filter(|e| !e.is_empty()),
        Some(_) => return Err(ApiError::bad_request("invalid_email", "email is text, like name@example.com.")),
    };
    if email.as_deref().is_some_and(|e| !fanline_core::intake::submission::is_email(e)) {
        return Err(ApiError::bad_request("invalid_email", "Enter an email address like name@example.com."));
    }
    Ok((Value::Object(body), email))
}
