//! `POST /webhooks/patreon`: `members:pledge:create`, `update` and `delete`, verified by
//! `X-Patreon-Signature` (HMAC-MD5 of the body with the webhook's secret, kept per campaign).
//! The patron's tier at the app follows their pledge: the mapped tier while it is active,
//! nothing once it ends. Each delivery acts once, and a stale event never overrides a newer one.

use fanline_core::money::patreon::{self, Trigger};
use fanline_core::trust::identity::Provider;
use fanline_core::webhook::WebhookOutcome;
use fanline_edge::db::{
    self,
    memberships::{MemberState, Payment, Source},
    BatchOutcome,
};
use fanline_edge::platform::body::{read_capped, WEBHOOK_MAX};
use fanline_edge::platform::config::now_ms;
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{header, json};
use fanline_edge::platform::sealing::Keys;
use serde_json::json;
use worker::{Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env) -> ApiResult<Response> {
    let body = read_capped(&mut req, WEBHOOK_MAX).await?;
    let trigger_name = header(&req, "X-Patreon-Event").unwrap_or_default();
    let refused = || ApiError::bad_request("invalid_signature", "X-Patreon-Signature does not match the body for this campaign's webhook.");
    // The campaign picks the secret; nothing else is read before the signature is checked.
    let campaign = patreon::campaign_of(&body).ok_or_else(refused)?;
    let db = db::db(env)?;
    let source = db::memberships::source_by_lookup(&db, Source::Patreon, &campaign).await?.ok_or_else(refused)?;
    let secret = source.secret(Keys::if_configured(env).as_ref(), Source::Patreon).await?.unwrap_or_default();
    if !patreon::verify(&secret, &body, header(&req, "X-Patreon-Signature").as_deref()) {
        return Err(refused());
    }
    let event_id = patreon::event_id(&trigger_name, &body);
    let done = |outcome: WebhookOutcome| Ok(json(200, &json!({"received": true, "event": event_id, "outcome": outcome})));
    if db::memberships::payment_seen(&db, Source::Patreon, &event_id).await?.is_some() {
        return done(WebhookOutcome::Duplicate);
    }
    let now = now_ms();
    let unapplied = Unapplied { app_slug: &source.app_slug, id: &event_id, trigger: &trigger_name, now };
    let Some(trigger) = Trigger::parse(&trigger_name) else {
        return record_only(&db, unapplied, WebhookOutcome::Ignored).await.and_then(done);
    };
    let member = patreon::member(trigger, &body).map_err(|m| ApiError::bad_request("invalid_event", m))?;
    // Recorded, not applied: what is stored came from a newer event.
    if db::memberships::member_order(&db, Source::Patreon, &member.member_id, &source.app_slug).await?.is_some_and(|o| o > member.order) {
        return record_only(&db, unapplied, WebhookOutcome::AlreadySettled).await.and_then(done);
    }
    let settings: patreon::Settings = serde_json::from_str(&source.settings)?;
    let tier = patreon::tier(&member, &settings);
    let identity_key = format!("{}:{}", Provider::Patreon.as_str(), member.user_id);
    let state = MemberState {
        source: Source::Patreon,
        member_id: &member.member_id,
        app_slug: &source.app_slug,
        fan_id: None,
        identity_key: Some(&identity_key),
        tier,
        active: tier.is_some(),
        active_until: None,
        ordered_at: member.order,
        now,
    };
    let row = Payment {
        id: event_id.clone(),
        kind: trigger_name.clone(),
        email: None,
        amount: 0,
        currency: None,
        fan_id: None,
        credits: 0,
        tier: tier.map(str::to_string),
        outcome: WebhookOutcome::Applied.as_str().to_string(),
        received_at: now,
    };
    let statements = vec![db::memberships::record_payment(&db, Source::Patreon, &source.app_slug, &row)?, db::memberships::record_member(&db, &state)?];
    match db::commit(&db, statements).await? {
        BatchOutcome::Committed => done(WebhookOutcome::Applied),
        BatchOutcome::Conflict(_) => done(WebhookOutcome::Duplicate),
        BatchOutcome::Refused(why) => Err(ApiError::internal(format!("a Patreon event was refused: {why:?}"))),
    }
}

/// An event that changes nothing, recorded with why.
struct Unapplied<'a> {
    app_slug: &'a str,
    id: &'a str,
    trigger: &'a str,
    now: i64,
}

async fn record_only(db: &worker::D1Database, e: Unapplied<'_>, outcome: WebhookOutcome) -> ApiResult<WebhookOutcome> {
    let (app_slug, now) = (e.app_slug, e.now);
    let row = Payment {
        id: e.id.to_string(),
        kind: e.trigger.chars().take(60).collect(),
        email: None,
        amount: 0,
        currency: None,
        fan_id: None,
        credits: 0,
        tier: None,
        outcome: outcome.as_str().to_string(),
        received_at: now,
    };
    db::commit(db, vec![db::memberships::record_payment(db, Source::Patreon, app_slug, &row)?]).await?;
    Ok(outcome)
}
