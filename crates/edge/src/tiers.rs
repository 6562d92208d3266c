//! Subscriber tiers: a Stripe subscription started through Checkout. Stripe's
//! `customer.subscription.*` webhooks keep `subscriptions` current; intake asks it whether the
//! fan's tier is live, for a discount and/or a place at the front of the queue.

use crate::credits::creator_connect;
use crate::error::{ApiError, ApiResult};
use crate::fans;
use crate::http::{json, origin};
use crate::payments;
use crate::platform::{now_ms, random};
use crate::store::{self, BatchOutcome};
use fanline_core::ids;
use fanline_core::manifest::Manifest;
use fanline_core::money::Money;
use fanline_core::stripe::{self, CheckoutLine, Purpose, SubscriptionEvent};
use serde::Deserialize;
use serde_json::json;
use worker::{D1Database, D1PreparedStatement, Env, Method, Request, Response};

/// `POST .../api/tiers/checkout` with `{"tier": "<id>", "email": "optional"}`.
pub async fn checkout(mut req: Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let db = store::db(env)?;
    let (body, email) = crate::credits::purchase_body(&mut req, env, "tier").await?;
    let Some(tier) = body["tier"].as_str().and_then(|id| manifest.tier(id)) else {
        let offered: Vec<&str> = manifest.pricing.tiers.iter().map(|t| t.id.as_str()).collect();
        return Err(ApiError::bad_request("unknown_tier", if offered.is_empty() { "This app has no subscriber tiers.".to_string() } else { format!("Choose a tier: {}.", offered.join(", ")) }));
    };
    let email = email.as_deref();
    let (fan, new_fan) = fans::existing_or_new(&req, &db, email).await?;
    if fans::active_tier(&db, manifest, &fan).await?.is_some() {
        return Err(ApiError::Conflict { code: "already_subscribed", message: "You already have a live tier at this app.".into() });
    }
    // One tier checkout at a time per fan and app: claimed by a conditional insert (D1 runs
    // statements one at a time), so two concurrent calls cannot both open a session.
    let signup = ids::token("ts_", &random::<12>());
    let now = now_ms();
    let claimed = store::changes(
        &db,
        "INSERT INTO tier_signups (id, fan_id, app_slug, tier, status, created_at)
         SELECT ?1, ?2, ?3, ?4, 'pending', ?5
         WHERE NOT EXISTS (SELECT 1 FROM tier_signups WHERE fan_id = ?2 AND app_slug = ?3 AND status = 'pending' AND created_at > ?6)
           AND NOT EXISTS (SELECT 1 FROM subscriptions WHERE fan_id = ?2 AND app_slug = ?3 AND status IN ('active', 'trialing', 'past_due', 'incomplete'))",
        &[signup.as_str().into(), fan.id.as_str().into(), manifest.slug.as_str().into(), tier.id.as_str().into(), now.into(), (now - crate::limits::PAYMENT_WINDOW_MS).into()],
    )
    .await?;
    if claimed != 1 {
        return Err(ApiError::Conflict { code: "subscription_pending", message: "You already have a tier subscription starting or live at this app; finish or wait out that checkout (30 minutes).".into() });
    }
    let page = format!("{}/apps/{}/", origin(&req), manifest.slug);
    let (success_url, cancel_url) = (format!("{page}?subscribed=1"), format!("{page}?cancelled=1"));
    let connect = creator_connect(&db, manifest, 0).await?;
    let session = payments::create_checkout(env, &stripe::CheckoutRequest {
        expires_at: Some(payments::checkout_expiry()),
        reference: &signup,
        purpose: Purpose::Tier,
        app_slug: &manifest.slug,
        lines: &[CheckoutLine { name: tier.label.clone(), amount: Money::new(tier.amount, manifest.pricing.currency.clone()) }],
        success_url: &success_url,
        cancel_url: &cancel_url,
        customer_email: email,
        hold: false,
        connect: connect.as_ref().map(|(destination, _)| stripe::Connect { destination, application_fee: 0 }),
        subscription: Some(stripe::Subscription { interval: tier.interval, fan_id: &fan.id, tier: &tier.id, platform_fee_bps: manifest.pricing.platform_fee_bps }),
    })
    .await;
    let session = match session {
        Ok(session) => session,
        Err(e) => {
            store::run(&db, "UPDATE tier_signups SET status = 'failed' WHERE id = ?", &[signup.as_str().into()]).await?;
            return Err(e);
        }
    };
    store::run(&db, "UPDATE tier_signups SET checkout_session_id = ? WHERE id = ?", &[session.id.as_str().into(), signup.as_str().into()]).await?;
    let mut answer = json!({
        "tier": tier.id,
        "price": {"amount": tier.amount, "currency": manifest.pricing.currency.as_str(), "interval": tier.interval.as_str()},
        "checkout_url": session.url,
        "checkout_session_id": session.id,
        "fan_id": fan.id,
    });
    if let Some(new) = new_fan {
        match store::commit(&db, vec![new.insert]).await? {
            BatchOutcome::Committed => answer["fan_token"] = json!(new.token),
            BatchOutcome::Conflict(d) | BatchOutcome::Refused(d) => return Err(ApiError::Internal(d)),
        }
    }
    Ok(json(201, &answer))
}

/// `POST .../api/tiers/cancel` with `Fan-Token`: ends the fan's subscription at Stripe now;
/// the `customer.subscription.deleted` webhook then ends the tier.
pub async fn cancel(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let db = store::db(env)?;
    let fan = fans::required(req, &db, "Cancelling a tier").await?;
    #[derive(Deserialize)]
    struct Live {
        id: String,
    }
    let live: Vec<Live> = store::all(&db, "SELECT id FROM subscriptions WHERE fan_id = ? AND app_slug = ? AND status IN ('active', 'trialing', 'past_due')", &[fan.id.as_str().into(), manifest.slug.as_str().into()]).await?;
    if live.is_empty() {
        return Err(ApiError::NotFound("subscription"));
    }
    for sub in &live {
        payments::stripe_call(env, Method::Delete, &format!("/v1/subscriptions/{}", sub.id), None, Some(&format!("cancel-{}", sub.id))).await?;
    }
    Ok(json(202, &json!({"cancelled": live.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), "message": "Your tier ends as soon as Stripe confirms the cancellation."})))
}

/// Stores what a subscription event says, unless a newer event already did: Stripe does not
/// promise order, so `event_created` decides.
/// The fan's tier checkout at this app is over: its subscription exists now.
pub fn signup_done(db: &D1Database, fan_id: &str, app_slug: &str) -> ApiResult<D1PreparedStatement> {
    store::statement(db, "UPDATE tier_signups SET status = 'done' WHERE fan_id = ? AND app_slug = ? AND status = 'pending'", &[fan_id.into(), app_slug.into()])
}

pub fn upsert_statement(db: &D1Database, sub: &SubscriptionEvent) -> ApiResult<D1PreparedStatement> {
    store::statement(
        db,
        "INSERT INTO subscriptions (id, fan_id, app_slug, tier, status, current_period_end, event_created, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, tier = excluded.tier, current_period_end = excluded.current_period_end,
           event_created = excluded.event_created, updated_at = excluded.updated_at
         WHERE excluded.event_created >= subscriptions.event_created",
        &[
            sub.id.as_str().into(),
            sub.fan_id.as_str().into(),
            sub.app_slug.as_str().into(),
            sub.tier.as_str().into(),
            sub.status.as_str().into(),
            sub.current_period_end.into(),
            sub.event_created.into(),
            now_ms().into(),
        ],
    )
}
