//! Opening a payment: Stripe Checkout Sessions (requests, credit packs, tiers) with the
//! creator's connected account and the marketplace's fee, PayPal orders for requests, and the
//! fan purchase body that packs and tiers share.

use crate::db;
use crate::platform::body::{require_json_content_type, strict_json};
use crate::platform::config::now_ms;
use crate::platform::error::{ApiError, ApiResult};
use crate::providers::stripe::{self, CheckoutSession};
use crate::providers::ProviderError;
use crate::trust::limits::{self, PAYMENT_WINDOW_MS};
use fanline_core::intake::plan::{Checkout, IntakePlan};
use fanline_core::manifest::Manifest;
use fanline_core::money::stripe::{application_fee, CheckoutLine, CheckoutRequest, Connect, Purpose};
use fanline_core::money::Money;
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

/// The 400 for a pack or tier id the app does not offer, naming what it does offer.
pub fn not_offered<'a>(code: &'static str, what: &str, offers_none: &str, offered: impl Iterator<Item = &'a str>) -> ApiError {
    let offered: Vec<&str> = offered.collect();
    ApiError::bad_request(code, if offered.is_empty() { offers_none.to_string() } else { format!("Choose a {what}: {}.", offered.join(", ")) })
}

/// A fan's purchase body (`{"<what>": "<id>", "email": "optional"}`) and its checked email.
/// Each purchase opens a Checkout Session on the platform's account, so it is limited per
/// client and app, and only JSON is read (a cross-site page cannot post JSON without a
/// preflight).
pub async fn purchase_body(req: &mut Request, env: &Env, app: &str, what: &str) -> ApiResult<(Value, Option<String>)> {
    limits::per_client_of(env, req, app).await?;
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
    if email.as_deref().is_some_and(|e| !fanline_core::trust::client::is_email(e)) {
        return Err(ApiError::bad_request("invalid_email", "Enter an email address like name@example.com."));
    }
    Ok((Value::Object(body), email))
}

/// Where the fan goes to pay, as opened for this request.
#[derive(Default)]
pub struct Payment {
    pub session_id: Option<String>,
    pub order_id: Option<String>,
    pub url: Option<String>,
}

/// What opening a request's payment needs besides the plan.
pub struct RequestPayment<'a> {
    pub id: &'a str,
    pub origin: &'a str,
    pub creator_account: Option<&'a str>,
    pub fee: Option<u64>,
    pub email: Option<&'a str>,
}

/// Opens the checkout the plan chose: a PayPal order or a Stripe Checkout Session (held when
/// the app holds payments, paid to the creator's connected account when there is one).
pub async fn open_for_request(env: &Env, manifest: &Manifest, plan: &IntakePlan, p: &RequestPayment<'_>) -> ApiResult<Payment> {
    let page = format!("{}/apps/{}/", p.origin, manifest.slug);
    let (id, submission) = (p.id, &plan.submission);
    match plan.checkout {
        None => Ok(Payment::default()),
        Some(Checkout::Paypal) => paypal_order(env, manifest, &page, p, submission.price()).await,
        Some(Checkout::Stripe) => {
            let (success_url, cancel_url) = (format!("{page}?paid=1&request={id}"), format!("{page}?cancelled=1&request={id}"));
            let currency = &submission.price().currency;
            let lines: Vec<CheckoutLine> =
                submission.lines().iter().map(|l| CheckoutLine { name: l.label.clone(), amount: Money::new(l.amount, currency.clone()) }).collect();
            let session: CheckoutSession = open(
                env,
                &CheckoutRequest {
                    expires_at: Some(checkout_expiry()),
                    reference: id,
                    purpose: Purpose::Request,
                    app_slug: &manifest.slug,
                    lines: &lines,
                    success_url: &success_url,
                    cancel_url: &cancel_url,
                    customer_email: p.email,
                    hold: manifest.holds_payment(),
                    connect: p.creator_account.zip(p.fee).map(|(destination, application_fee)| Connect { destination, application_fee }),
                    subscription: None,
                },
            )
            .await?;
            Ok(Payment { session_id: Some(session.id), order_id: None, url: Some(session.url) })
        }
    }
}

#[cfg(feature = "paypal")]
async fn paypal_order(env: &Env, manifest: &Manifest, page: &str, p: &RequestPayment<'_>, price: &Money) -> ApiResult<Payment> {
    use crate::providers::paypal;
    let id = p.id;
    let return_url = format!("{}/apps/{}/paypal/return?request={id}", p.origin, manifest.slug);
    let cancel_url = format!("{page}?cancelled=1&request={id}");
    let call = paypal::OrderCall { request_id: id, description: &manifest.title, price, return_url: &return_url, cancel_url: &cancel_url };
    let order = paypal::create_order(env, &call).await.map_err(|e| match e {
        ProviderError::Refused { message, .. } => ApiError::Upstream(format!("paypal refused the order: {message}")),
        other => other.into(),
    })?;
    Ok(Payment { session_id: None, order_id: Some(order.id), url: Some(order.approve_url) })
}

/// A Worker is built with PayPal whenever its manifest offers it (`App::load` refuses to run
/// a manifest on a Worker built without a feature it uses), so no plan reaches this.
#[cfg(not(feature = "paypal"))]
async fn paypal_order(_env: &Env, _manifest: &Manifest, _page: &str, _p: &RequestPayment<'_>, _price: &Money) -> ApiResult<Payment> {
    Err(ApiError::internal("a PayPal checkout on a Worker built without the paypal feature"))
}
