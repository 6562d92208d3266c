//! `GET` and `PUT /api/apps/:slug/destinations`: where an app's notifications go, and
//! `POST /api/apps/:slug/destinations/:kind/test`: a test notification, sent at once.

use fanline_core::delivery::destination::{self, CallContext, Settings};
use fanline_core::delivery::payload::{self, Occasion, RequestSummary};
use fanline_core::intake::ids;
use fanline_core::manifest::{DestinationKind, Route};
use fanline_core::money::Money;
use fanline_core::trust::standard_webhooks;
use fanline_core::util::time::rfc3339;
use fanline_edge::db;
use fanline_edge::delivery::outbox::status_url;
use fanline_edge::platform::body::strict_json;
use fanline_edge::platform::config::{delivery_timeout, now_ms, outbound_policy, random};
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{json, origin};
use fanline_edge::platform::sealing::Keys;
use fanline_edge::providers::{http, mail};
use fanline_edge::trust::auth;
use serde_json::{json, Value};
use worker::{Env, Request, Response};

/// `PUT /api/apps/:slug/destinations`: one key per target kind with its settings object, or
/// `null` to remove it (`{"trello": {...}, "sms": null}`); `discord_webhook_url` and
/// `webhook_url` are shorthands for `{"discord": {"webhook_url": ...}}` and
/// `{"webhook": {"url": ...}}`. A key left out is unchanged. Every key is checked before any is
/// saved. A new webhook gets a Standard Webhooks secret, kept when only its URL changes
/// (`"rotate_secret": true` asks for a new one). Settings are sealed before they are stored.
pub async fn set(mut req: Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(&req, &db, slug).await?;
    let keys = Keys::from_env(env)?;
    let body: serde_json::Map<String, Value> = strict_json(&mut req, r#"{"discord": {"webhook_url": "https://discord.com/api/webhooks/..."}}"#, false).await?;
    let now = now_ms();
    let policy = outbound_policy(env);
    let mut statements = Vec::new();
    for (key, value) in &body {
        let (kind, value) = match key.as_str() {
            "discord_webhook_url" => (DestinationKind::Discord, shorthand("webhook_url", value)),
            "webhook_url" => (DestinationKind::Webhook, shorthand("url", value)),
            other => match DestinationKind::parse(other).filter(|k| !k.is_fan_email()) {
                Some(kind) => (kind, value.clone()),
                None => {
                    return Err(ApiError::bad_request(
                        "invalid_json",
                        format!("Unknown key \"{other}\"; use discord, webhook, creator_email, trello, sms, notion or airtable."),
                    ))
                }
            },
        };
        if value.is_null() {
            statements.push(db::destinations::delete(&db, &app.slug, kind)?);
            continue;
        }
        // Only a webhook carries something over (its signing secret, which receivers trust).
        let previous = match kind {
            DestinationKind::Webhook => db::destinations::get(&db, Some(&keys), &app.slug, kind).await?.map(|(settings, _)| settings),
            _ => None,
        };
        let secret = standard_webhooks::new_secret(&random());
        let settings = Settings::parse(kind, &value, policy, previous.as_ref(), &secret)
            .map_err(|e| ApiError::bad_request("invalid_destination", format!("{key}: {e}")))?;
        let stored = db::destinations::seal(&keys, &app.slug, kind, &settings).await?;
        statements.push(db::destinations::upsert(&db, &app.slug, kind, &stored, now)?);
    }
    if !statements.is_empty() {
        db::commit_all(&db, statements).await?;
    }
    listing(&db, Some(&keys), &app.slug).await
}

/// `"https://..."` as `{"<field>": "https://..."}`; `null` stays `null`, anything else is
/// passed on for `Settings::parse` to refuse.
fn shorthand(field: &str, value: &Value) -> Value {
    match value {
        Value::String(_) => json!({ field: value }),
        Value::Null => Value::Null,
        other => other.clone(),
    }
}

pub async fn show(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    listing(&db, Keys::if_configured(env).as_ref(), &app.slug).await
}

/// Each destination's settings with credentials masked (a webhook's signing secret is shown:
/// the creator's receiver needs it).
async fn listing(db: &worker::D1Database, keys: Option<&Keys>, slug: &str) -> ApiResult<Response> {
    let mut list: Vec<Value> = Vec::new();
    for row in db::destinations::list(db, slug).await? {
        let Some((kind, settings)) = row.settings(keys, slug).await? else { continue };
        let mut shown = settings.public_view();
        shown["kind"] = kind.as_str().into();
        shown["enabled"] = (row.enabled == 1).into();
        list.push(shown);
    }
    Ok(json(200, &json!({"app": slug, "destinations": list})))
}

/// `POST /api/apps/:slug/destinations/:kind/test`: renders a sample request the way the app's
/// `request.queued` route for this kind would (its title and template included), sends it to
/// the destination now through the same call and safety checks as a real delivery, and says
/// what the destination answered. Nothing is stored or retried: it is the creator's check.
pub async fn test(req: &Request, env: &Env, slug: &str, kind: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    let manifest = app.manifest()?;
    let kind = DestinationKind::parse(kind).filter(|k| !k.is_fan_email()).ok_or(ApiError::NotFound("destination kind"))?;
    let Some((settings, enabled)) = db::destinations::get(&db, Keys::if_configured(env).as_ref(), slug, kind).await? else {
        return Err(ApiError::Conflict { code: "not_configured", message: format!("No {} destination is set for this app; set it first.", kind.as_str()) });
    };
    let now = now_ms();
    let id = ids::request_id(&random());
    let origin = origin(req);
    let first_field = manifest.fields.first().map(|f| f.name.clone()).unwrap_or_else(|| "message".into());
    let summary = RequestSummary {
        id: id.clone(),
        app: slug.to_string(),
        app_title: manifest.title.clone(),
        status: "queued".into(),
        fields: [(first_field, json!("Test notification from the Fanline console"))].into_iter().collect(),
        add_ons: Vec::new(),
        price: Money::new(0, manifest.pricing.currency.clone()),
        status_url: status_url(&origin, slug, &id),
        page_url: format!("{origin}/apps/{slug}/"),
        fan_page_url: format!("{origin}/apps/{slug}/"),
        created_at: rfc3339(now),
    };
    let route = manifest.routes_for("request.queued").iter().find(|r| r.to == kind).cloned().unwrap_or(Route { to: kind, title: None, template: None });
    let payload = payload::payload(&manifest, &summary, &route, &Occasion { event: payload::TEST_EVENT, fan_address: None, now_ms: now })
        .ok_or_else(|| ApiError::Internal(format!("no test payload for {}", kind.as_str())))?;
    let bases = mail::api_bases(env);
    let account = mail::account(env);
    let message_id = ids::token("msg_test_", &random::<12>());
    let ctx = CallContext { bases: &bases, policy: outbound_policy(env), message_id: &message_id, now_secs: now / 1000, card_id: None, mail: account.as_ref() };
    let (status, error) = match destination::call(kind, Some(&settings), &payload, &ctx) {
        Ok(call) => match http::send(call, delivery_timeout(env)).await {
            Ok(answer) if answer.is_success() => (Some(answer.status), None),
            Ok(answer) => (Some(answer.status), Some(format!("HTTP {}", answer.status))),
            Err(e) => (None, Some(e)),
        },
        Err(refusal) => (None, Some(refusal)),
    };
    Ok(json(200, &json!({"kind": kind.as_str(), "enabled": enabled, "delivered": error.is_none(), "status": status, "error": error})))
}
