//! `GET` and `PUT /api/apps/:slug/destinations`: where an app's notifications go.

use fanline_core::delivery::destination::Settings;
use fanline_core::manifest::DestinationKind;
use fanline_core::trust::standard_webhooks;
use fanline_edge::db;
use fanline_edge::platform::body::strict_json;
use fanline_edge::platform::config::{now_ms, outbound_policy, random};
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::json;
use fanline_edge::trust::auth;
use serde_json::{json, Value};
use worker::{Env, Request, Response};

/// `PUT /api/apps/:slug/destinations`: one key per target kind with its settings object, or
/// `null` to remove it (`{"trello": {...}, "sms": null}`); `discord_webhook_url` and
/// `webhook_url` are shorthands for `{"discord": {"webhook_url": ...}}` and
/// `{"webhook": {"url": ...}}`. A key left out is unchanged. Every key is checked before any is
/// saved. A new webhook gets a Standard Webhooks secret, kept when only its URL changes.
pub async fn set(mut req: Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(&req, &db, slug).await?;
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
            DestinationKind::Webhook => db::destinations::get(&db, &app.slug, kind).await?.map(|(settings, _)| settings),
            _ => None,
        };
        let secret = standard_webhooks::new_secret(&random());
        let settings = Settings::parse(kind, &value, policy, previous.as_ref(), &secret)
            .map_err(|e| ApiError::bad_request("invalid_destination", format!("{key}: {e}")))?;
        statements.push(db::destinations::upsert(&db, &app.slug, kind, &serde_json::to_string(&settings)?, now)?);
    }
    if !statements.is_empty() {
        db::commit_all(&db, statements).await?;
    }
    listing(&db, &app.slug).await
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
    listing(&db, &app.slug).await
}

/// Each destination's settings with credentials masked (a webhook's signing secret is shown:
/// the creator's receiver needs it).
async fn listing(db: &worker::D1Database, slug: &str) -> ApiResult<Response> {
    let list: Vec<Value> = db::destinations::list(db, slug)
        .await?
        .iter()
        .filter_map(|row| {
            let (kind, settings) = row.settings()?;
            let mut shown = settings.public_view();
            shown["kind"] = kind.as_str().into();
            shown["enabled"] = (row.enabled == 1).into();
            Some(shown)
        })
        .collect();
    Ok(json(200, &json!({"app": slug, "destinations": list})))
}
