//! Memberships fans pay for elsewhere, per app: `PUT /api/apps/:slug/kofi` (the account's
//! verification token, credits per amount, tier and shop-item mappings) and `PUT
//! /api/apps/:slug/patreon` (the campaign, its webhook's secret, tier mappings); `GET` shows
//! the settings and the latest payments reported, `DELETE` disconnects. Secrets are never shown,
//! and the Patreon secret is stored sealed (`CREDENTIALS_KEY`).

use fanline_core::money::{kofi, patreon};
use fanline_core::trust::identity::Provider;
use fanline_core::util::time::rfc3339;
use fanline_edge::db::{
    self,
    apps::AppRow,
    memberships::{Source, SourceRow},
};
use fanline_edge::platform::body::strict_json;
use fanline_edge::platform::config::now_ms;
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{json, origin};
use fanline_edge::platform::sealing::Keys;
use fanline_edge::trust::auth;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use worker::{Env, Request, Response};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KofiBody {
    verification_token: String,
    #[serde(default)]
    credit_price: Option<u64>,
    #[serde(default)]
    tiers: BTreeMap<String, String>,
    #[serde(default)]
    shop_items: BTreeMap<String, u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatreonBody {
    webhook_secret: String,
    campaign_id: String,
    tiers: BTreeMap<String, String>,
}

fn source(name: &str) -> ApiResult<Source> {
    match name {
        "kofi" => Ok(Source::Kofi),
        "patreon" => Ok(Source::Patreon),
        _ => Err(ApiError::NotFound("route")),
    }
}

pub async fn set(mut req: Request, env: &Env, slug: &str, name: &str) -> ApiResult<Response> {
    let source = source(name)?;
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(&req, &db, slug).await?;
    let manifest = app.manifest()?;
    let invalid = |m: String| ApiError::bad_request("invalid_settings", m);
    let row = match source {
        Source::Kofi => {
            let body: KofiBody = strict_json(&mut req, r#"{"verification_token": "...", "credit_price": 300, "tiers": {"Gold": "fan_club"}}"#, false).await?;
            let token = body.verification_token.trim();
            if !(8..=200).contains(&token.len()) {
                return Err(invalid("verification_token is the token on your Ko-fi webhooks page".into()));
            }
            let settings = kofi::Settings { credit_price: body.credit_price, tiers: body.tiers, shop_items: body.shop_items };
            settings.check(|t| manifest.tier(t).is_some(), !manifest.pricing.credit_packs.is_empty()).map_err(invalid)?;
            SourceRow {
                app_slug: app.slug.clone(),
                lookup: kofi::token_hash(token),
                secret: None,
                settings: serde_json::to_string(&settings)?,
                updated_at: now_ms(),
            }
        }
        Source::Patreon => {
            let body: PatreonBody =
                strict_json(&mut req, r#"{"webhook_secret": "...", "campaign_id": "1234567", "tiers": {"9876543": "fan_club"}}"#, false).await?;
            if !(8..=200).contains(&body.webhook_secret.len()) {
                return Err(invalid("webhook_secret is the secret Patreon shows for your webhook".into()));
            }
            // Sealed before it is stored; without the key nothing is saved (503 not_configured).
            let keys = Keys::from_env(env)?;
            if !manifest.sign_in_providers().contains(&Provider::Patreon) {
                return Err(ApiError::Conflict {
                    code: "patreon_sign_in_not_offered",
                    message: "Add \"patreon\" to the manifest's identity.providers, so patrons can sign in to get their tier.".into(),
                });
            }
            let settings = patreon::Settings { campaign_id: body.campaign_id, tiers: body.tiers };
            settings.check(|t| manifest.tier(t).is_some()).map_err(invalid)?;
            SourceRow {
                app_slug: app.slug.clone(),
                lookup: settings.campaign_id.clone(),
                secret: Some(db::memberships::seal_secret(&keys, &app.slug, source, &body.webhook_secret).await?),
                settings: serde_json::to_string(&settings)?,
                updated_at: now_ms(),
            }
        }
    };
    if !db::memberships::save_source(&db, source, &row).await? {
        return Err(ApiError::Conflict { code: "already_connected", message: format!("This {name} account is connected to another app.") });
    }
    show(&req, env, slug, name).await
}

pub async fn show(req: &Request, env: &Env, slug: &str, name: &str) -> ApiResult<Response> {
    let source = source(name)?;
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    let row = db::memberships::source_of_app(&db, &app.slug, source).await?;
    let payments = db::memberships::recent_payments(&db, source, &app.slug, 50).await?;
    let payments: Vec<Value> = payments
        .into_iter()
        .map(|p| json!({"id": p.id, "kind": p.kind, "email": p.email, "amount": p.amount, "currency": p.currency, "fan_id": p.fan_id, "credits": p.credits, "tier": p.tier, "outcome": p.outcome, "received_at": rfc3339(p.received_at)}))
        .collect();
    Ok(json(200, &answer(req, &app, name, row.as_ref(), payments)?))
}

fn answer(req: &Request, app: &AppRow, name: &str, row: Option<&SourceRow>, payments: Vec<Value>) -> ApiResult<Value> {
    let origin = origin(req);
    let settings: Option<Value> = row.map(|r| serde_json::from_str(&r.settings)).transpose()?;
    let mut out = json!({
        "app": app.slug,
        "source": name,
        "connected": row.is_some(),
        "webhook_url": format!("{origin}/webhooks/{name}"),
        "settings": settings,
        "updated_at": row.map(|r| rfc3339(r.updated_at)),
        "payments": payments,
    });
    if name == "patreon" {
        out["sign_in_url"] = json!(format!("{origin}/apps/{}/auth/patreon/start", app.slug));
    }
    Ok(out)
}

pub async fn remove(req: &Request, env: &Env, slug: &str, name: &str) -> ApiResult<Response> {
    let source = source(name)?;
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    if !db::memberships::remove_source(&db, &app.slug, source).await? {
        return Err(ApiError::NotFound("connection"));
    }
    Ok(json(200, &json!({"app": app.slug, "source": name, "connected": false})))
}
