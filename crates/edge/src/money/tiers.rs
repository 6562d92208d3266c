//! Subscriber tiers: a Stripe subscription started through Checkout. Stripe's
//! `customer.subscription.*` webhooks keep `subscriptions` current; intake asks it whether the
//! fan's tier is live, for a discount and/or a place at the front of the queue.

use crate::db::{self, subscriptions::Signup};
use crate::money::checkout::{self, checkout_expiry, creator_connect, purchase_body};
use crate::platform::config::{now_ms, random};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{json, origin};
use crate::providers::stripe;
use crate::trust::fans;
use crate::trust::limits::PAYMENT_WINDOW_MS;
use fanline_core::intake::ids;
use fanline_core::manifest::Manifest;
use fanline_core::money::stripe::{CheckoutLine, CheckoutRequest, Connect, Purpose, Subscription};
use fanline_core::money::Money;
use serde_json::json;
use worker::{Env, Request, Response};

/// `POST .../api/tiers/checkout` with `{"tier": "<id>", "email": "optional"}`.
pub async fn checkout(mut req: Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (body, email) = purchase_body(&mut req, env, &manifest.slug, "tier").await?;
    let Some(tier) = body["tier"].as_str().and_then(|id| manifest.tier(id)) else {
        return Err(checkout::not_offered("unknown_tier", "tier", "This app has no subscriber tiers.", manifest.pricing.tiers.iter().map(|t| t.id.as_str())));
    };
    let email = email.as_deref();
    let (fan, new_fan) = fans::existing_or_new(&req, &db, email).await?;
    if fans::active_tier(&db, manifest, &fan).await?.is_some() {
        return Err(ApiError::Conflict { code: "already_subscribed", message: "You already have a live tier at this app.".into() });
    }
    // One tier checkout at a time per fan and app, so two concurrent calls cannot both open a session.
    let signup = ids::token("ts_", &random::<12>());
    let now = now_ms();
    let claim = Signup { id: &signup, fan_id: &fan.id, app_slug: &manifest.slug, tier: &tier.id };
    if !db::subscriptions::claim_signup(&db, &claim, now, now - PAYMENT_WINDOW_MS).await? {
        return Err(ApiError::Conflict {
            code: "subscription_pending",
            message: "You already have a tier subscription starting or live at this app; finish or wait out that checkout (30 minutes).".into(),
        });
    }
    let page = format!("{}/apps/{}/", origin(&req), manifest.slug);
    let (success_url, cancel_url) = (format!("{page}?subscribed=1"), format!("{page}?cancelled=1"));
    let connect = creator_connect(&db, manifest, 0).await?;
    let session = checkout::open(
        env,
        &CheckoutRequest {
            expires_at: Some(checkout_expiry()),
            reference: &signup,
            purpose: Purpose::Tier,
            app_slug: &manifest.slug,
            lines: &[CheckoutLine { name: tier.label.clone(), amount: Money::new(tier.amount, manifest.pricing.currency.clone()) }],
            success_url: &success_url,
            cancel_url: &cancel_url,
            customer_email: email,
            hold: false,
            connect: connect.as_ref().map(|(destination, _)| Connect { destination, application_fee: 0 }),
            subscription: Some(Subscription { interval: tier.interval, fan_id: &fan.id, tier: &tier.id, platform_fee_bps: manifest.pricing.platform_fee_bps }),
        },
    )
    .await;
    let session = match session {
        Ok(session) => session,
        Err(e) => {
            db::subscriptions::signup_failed(&db, &signup).await?;
            return Err(e);
        }
    };
    db::subscriptions::signup_session(&db, &signup, &session.id).await?;
    let mut answer = json!({
        "tier": tier.id,
        "price": {"amount": tier.amount, "currency": manifest.pricing.currency.as_str(), "interval": tier.interval.as_str()},
        "checkout_url": session.url,
        "checkout_session_id": session.id,
        "fan_id": fan.id,
    });
    if let Some(new) = new_fan {
        db::commit_all(&db, vec![new.insert]).await?;
        answer["fan_token"] = json!(new.token);
    }
    Ok(json(201, &answer))
}

/// `POST .../api/tiers/cancel` with `Fan-Token`: ends the fan's subscription at Stripe now;
/// the `customer.subscription.deleted` webhook then ends the tier.
pub async fn cancel(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let db = db::db(env)?;
    let fan = fans::required(req, &db, "Cancelling a tier").await?;
    let live = db::subscriptions::cancellable(&db, &fan.id, &manifest.slug).await?;
    if live.is_empty() {
        return Err(ApiError::NotFound("subscription"));
    }
    for id in &live {
        stripe::cancel_subscription(env, id).await?;
    }
    Ok(json(202, &json!({"cancelled": live, "message": "Your tier ends as soon as Stripe confirms the cancellation."})))
}
