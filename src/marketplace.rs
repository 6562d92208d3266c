//! The marketplace's own pages and creator endpoints that span an app rather than one request.

use fanline_edge::core::manifest::{DestinationKind, Manifest};
use fanline_edge::core::targets::Settings;
use fanline_edge::core::routing::rfc3339;
use fanline_edge::core::standard_webhooks;
use fanline_edge::http::json;
use fanline_edge::pages::escape_html;
use fanline_edge::platform::{now_ms, random};
use fanline_edge::store::{self, AppRow};
use fanline_edge::{auth, ApiError};
use serde_json::{json, Value};
use worker::{Env, Request, Response};

type ApiResult<T> = Result<T, ApiError>;

async fn apps(env: &Env) -> ApiResult<Vec<AppRow>> {
    store::all(&store::db(env)?, "SELECT slug, creator_id, title, description, manifest FROM apps ORDER BY created_at, slug", &[]).await
}

fn app_card(app: &AppRow, origin: &str) -> Value {
    let manifest = Manifest::parse(&app.manifest).ok();
    let pricing = manifest.as_ref().map(|m| json!(m.pricing));
    json!({
        "slug": app.slug,
        "title": app.title,
        "description": app.description,
        "pricing": pricing,
        "url": format!("{origin}/apps/{}/", app.slug),
        "embed": format!("<script src=\"{origin}/apps/{}/embed.js\"></script>", app.slug),
        "api": format!("{origin}/apps/{}/api/requests", app.slug),
    })
}

pub async fn list_apps(req: &Request, env: &Env) -> ApiResult<Response> {
    let origin = fanline_edge::http::origin(req);
    let cards: Vec<Value> = apps(env).await?.iter().map(|a| app_card(a, &origin)).collect();
    Ok(json(200, &json!({ "apps": cards })))
}

pub async fn index_page(env: &Env) -> ApiResult<Response> {
    let mut items = String::new();
    for app in apps(env).await? {
        let price = Manifest::parse(&app.manifest).map(|m| {
            let base = m.base_price();
            if base.is_zero() { "Free".to_string() } else { format!("From {}", base.display()) }
        });
        items.push_str(&format!(
            "<li><a href=\"/apps/{slug}/\">{title}</a> <span>{price}</span><p>{description}</p></li>",
            slug = escape_html(&app.slug),
            title = escape_html(&app.title),
            price = escape_html(&price.unwrap_or_default()),
            description = escape_html(&app.description),
        ));
    }
    if items.is_empty() {
        items.push_str("<li>No apps are registered yet.</li>");
    }
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Fanline marketplace</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}li{{margin:1rem 0}}span{{color:#555}}p{{margin:.25rem 0}}</style>\
         </head><body><h1>Fanline marketplace</h1><ul>{items}</ul></body></html>"
    );
    Ok(fanline_edge::pages::html_page(html))
}

/// `PUT /api/apps/:slug/destinations`: one key per target kind with its settings object, or
/// `null` to remove it (`{"trello": {...}, "sms": null}`); `discord_webhook_url` and
/// `webhook_url` are shorthands for `{"discord": {"webhook_url": ...}}` and
/// `{"webhook": {"url": ...}}`. A key left out is unchanged. Every key is checked before any is
/// saved. A new webhook gets a Standard Webhooks secret, kept when only its URL changes.
pub async fn set_destinations(mut req: Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let creator = auth::creator(&req, &db).await?;
    let app = auth::owned_app(&db, &creator, slug).await?;
    let body: serde_json::Map<String, Value> = fanline_edge::body::strict_json(&mut req, r#"{"discord": {"webhook_url": "https://discord.com/api/webhooks/..."}}"#, false).await?;
    let now = now_ms();
    let policy = fanline_edge::fulfilment::outbound_policy(env);
    let mut statements = Vec::new();
    for (key, value) in &body {
        let (kind, value) = match key.as_str() {
            "discord_webhook_url" => (DestinationKind::Discord, shorthand("webhook_url", value)),
            "webhook_url" => (DestinationKind::Webhook, shorthand("url", value)),
            other => match DestinationKind::parse(other).filter(|k| !k.is_fan_email()) {
                Some(kind) => (kind, value.clone()),
                None => return Err(ApiError::bad_request("invalid_json", format!("Unknown key \"{other}\"; use discord, webhook, creator_email, trello, sms, notion or airtable."))),
            },
        };
        if value.is_null() {
            statements.push(store::statement(&db, "DELETE FROM destinations WHERE app_slug = ? AND kind = ?", &[app.slug.as_str().into(), kind.as_str().into()])?);
            continue;
        }
        // Only a webhook carries something over (its signing secret, which receivers trust).
        let previous = match kind {
            DestinationKind::Webhook => store::destination(&db, &app.slug, kind).await?.map(|(settings, _)| settings),
            _ => None,
        };
        let secret = standard_webhooks::new_secret(&random());
        let settings = Settings::parse(kind, &value, policy, previous.as_ref(), &secret).map_err(|e| ApiError::bad_request("invalid_destination", format!("{key}: {e}")))?;
        statements.push(store::statement(
            &db,
            "INSERT INTO destinations (app_slug, kind, settings, enabled, updated_at) VALUES (?, ?, ?, 1, ?)
             ON CONFLICT (app_slug, kind) DO UPDATE SET settings = excluded.settings, enabled = 1, updated_at = excluded.updated_at",
            &[app.slug.as_str().into(), kind.as_str().into(), serde_json::to_string(&settings)?.as_str().into(), now.into()],
        )?);
    }
    if !statements.is_empty() {
        db.batch(statements).await?;
    }
    destinations_response(env, &app.slug).await
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

pub async fn show_destinations(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let creator = auth::creator(req, &db).await?;
    let app = auth::owned_app(&db, &creator, slug).await?;
    destinations_response(env, &app.slug).await
}

/// Each destination's settings with credentials masked (a webhook's signing secret is shown:
/// the creator's receiver needs it).
async fn destinations_response(env: &Env, slug: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let rows: Vec<store::DestinationRow> = store::all(&db, "SELECT kind, settings, enabled FROM destinations WHERE app_slug = ? ORDER BY kind", &[slug.into()]).await?;
    let list: Vec<Value> = rows
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

#[derive(serde::Deserialize)]
struct QueueRow {
    id: String,
    status: String,
    amount: i64,
    currency: String,
    fields: String,
    priority: i64,
    provider: String,
    moderation: String,
    triage: Option<String>,
    created_at: i64,
}

/// `GET /api/apps/:slug/requests[?status=queued]`: the creator's queue, subscribers with a
/// priority tier first, then oldest first.
pub async fn creator_queue(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let creator = auth::creator(req, &db).await?;
    let app = auth::owned_app(&db, &creator, slug).await?;
    let status = req.url()?.query_pairs().find(|(k, _)| k == "status").map(|(_, v)| v.into_owned());
    if let Some(s) = &status {
        if fanline_edge::core::state::Status::parse(s).is_none() {
            return Err(ApiError::bad_request("invalid_status", format!("Unknown status '{s}'.")));
        }
    }
    let rows: Vec<QueueRow> = match &status {
        Some(s) => store::all(&db, "SELECT id, status, amount, currency, fields, priority, provider, moderation, triage, created_at FROM requests WHERE app_slug = ? AND status = ? ORDER BY priority DESC, created_at, rowid LIMIT 200", &[app.slug.as_str().into(), s.as_str().into()]).await?,
        None => store::all(&db, "SELECT id, status, amount, currency, fields, priority, provider, moderation, triage, created_at FROM requests WHERE app_slug = ? ORDER BY priority DESC, created_at, rowid LIMIT 200", &[app.slug.as_str().into()]).await?,
    };
    let list: Vec<Value> = rows
        .iter()
        .map(|r| json!({"id": r.id, "status": r.status, "price": {"amount": r.amount, "currency": r.currency}, "fields": serde_json::from_str::<Value>(&r.fields).unwrap_or(json!({})), "priority": r.priority != 0, "paid_with": r.provider, "moderation": serde_json::from_str::<Value>(&r.moderation).unwrap_or(json!(null)), "triage": r.triage.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok()), "created_at": rfc3339(r.created_at)}))
        .collect();
    Ok(json(200, &json!({"app": app.slug, "requests": list})))
}

#[derive(serde::Deserialize)]
struct DeliveryRow {
    id: String,
    request_id: String,
    event: String,
    destination: String,
    state: String,
    attempts: i64,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
    delivered_at: Option<i64>,
}

impl DeliveryRow {
    fn view(&self) -> Value {
        json!({
            "id": self.id, "request_id": self.request_id, "event": self.event, "destination": self.destination, "state": self.state,
            "attempts": self.attempts, "last_error": self.last_error, "created_at": rfc3339(self.created_at), "updated_at": rfc3339(self.updated_at),
            "delivered_at": self.delivered_at.map(rfc3339),
        })
    }
}

const DELIVERY_COLUMNS: &str = "id, request_id, event, destination, state, attempts, last_error, created_at, updated_at, delivered_at";

/// `GET /api/apps/:slug/deliveries/:id`: one delivery with every attempt (status, error, time).
pub async fn delivery(req: &Request, env: &Env, slug: &str, id: &str) -> ApiResult<Response> {
    #[derive(serde::Deserialize)]
    struct Attempt {
        attempt: i64,
        status: Option<i64>,
        error: Option<String>,
        at: i64,
    }
    let db = store::db(env)?;
    let creator = auth::creator(req, &db).await?;
    let app = auth::owned_app(&db, &creator, slug).await?;
    let row: DeliveryRow = store::first(&db, &format!("SELECT {DELIVERY_COLUMNS} FROM outbox WHERE app_slug = ? AND id = ?"), &[app.slug.as_str().into(), id.into()])
        .await?
        .ok_or_else(|| ApiError::NotFound("delivery"))?;
    let attempts: Vec<Attempt> = store::all(&db, "SELECT attempt, status, error, at FROM delivery_attempts WHERE outbox_id = ? ORDER BY attempt", &[id.into()]).await?;
    let mut view = row.view();
    view["attempt_log"] = attempts.iter().map(|a| json!({"attempt": a.attempt, "status": a.status, "error": a.error, "at": rfc3339(a.at)})).collect();
    Ok(json(200, &view))
}

/// `GET /api/apps/:slug/deliveries[?state=dead]`: every notification and how it went, newest
/// first, so a broken integration is visible instead of silent. `?state=failing` lists the ones
/// still being retried after a failed attempt.
pub async fn deliveries(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let creator = auth::creator(req, &db).await?;
    let app = auth::owned_app(&db, &creator, slug).await?;
    let state = req.url()?.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned());
    const STATES: [&str; 6] = ["pending", "sending", "delivered", "skipped", "dead", "failing"];
    let (filter, state_arg) = match state.as_deref() {
        None => ("", None),
        Some("failing") => (" AND state IN ('pending', 'sending') AND attempts > 0", None),
        Some(s) if STATES.contains(&s) => (" AND state = ?", Some(s)),
        Some(s) => return Err(ApiError::bad_request("invalid_state", format!("Unknown state '{s}'; use one of {}.", STATES.join(", ")))),
    };
    let mut args = vec![app.slug.as_str().into()];
    args.extend(state_arg.map(Into::into));
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM outbox WHERE app_slug = ?{filter} ORDER BY created_at DESC, rowid DESC LIMIT 200");
    let rows: Vec<DeliveryRow> = store::all(&db, &sql, &args).await?;
    let list: Vec<Value> = rows.iter().map(DeliveryRow::view).collect();
    Ok(json(200, &json!({"app": app.slug, "deliveries": list})))
}

/// `GET /api/creator`: who the key belongs to, and where their payouts go.
pub async fn creator_profile(req: &Request, env: &Env) -> ApiResult<Response> {
    let db = store::db(env)?;
    let creator = auth::creator(req, &db).await?;
    let account = store::creator_stripe_account(&db, &creator.id).await?;
    Ok(json(200, &json!({"id": creator.id, "name": creator.name, "stripe_account": account})))
}

/// `PUT /api/creator/stripe-account` with `{"account_id": "acct_..."}` (or `null`): payments for
/// the creator's apps go to this connected account, minus each app's `platform_fee_bps`.
/// Onboarding the account itself happens in Stripe (Connect account links).
pub async fn connect_stripe_account(mut req: Request, env: &Env) -> ApiResult<Response> {
    let db = store::db(env)?;
    let creator = auth::creator(&req, &db).await?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Account {
        account_id: Value,
    }
    let body: Account = fanline_edge::body::strict_json(&mut req, r#"{"account_id": "acct_..."} or {"account_id": null}"#, false).await?;
    let account = match body.account_id {
        Value::Null => None,
        Value::String(id) if id.starts_with("acct_") && id.len() <= 64 && id[5..].bytes().all(|b| b.is_ascii_alphanumeric()) && id.len() > 5 => Some(id),
        _ => return Err(ApiError::bad_request("invalid_account", "account_id must be a Stripe account id (acct_...) or null.")),
    };
    // Payouts go only to an account Stripe knows and lets take charges: a typo or a foreign
    // id would otherwise turn every checkout into an error, or send the money elsewhere.
    if let Some(id) = &account {
        fanline_edge::payments::connected_account_ready(env, id).await?;
    }
    store::run(&db, "UPDATE creators SET stripe_account = ? WHERE id = ?", &[account.as_deref().into(), creator.id.as_str().into()]).await?;
    Ok(json(200, &json!({"id": creator.id, "name": creator.name, "stripe_account": account})))
}

/// `POST /api/apps/:slug/deliveries/replay` (every dead delivery) or
/// `POST /api/apps/:slug/deliveries/:id/replay` (one dead or skipped delivery): queued again
/// with the same `webhook-id`, so receivers that saw it before can drop it.
pub async fn replay_deliveries(req: &Request, env: &Env, slug: &str, only: Option<&str>) -> ApiResult<Response> {
    let db = store::db(env)?;
    let creator = auth::creator(req, &db).await?;
    let app = auth::owned_app(&db, &creator, slug).await?;
    let replayed = fanline_edge::fulfilment::replay(env, &db, &app.slug, only).await?;
    if only.is_some() && replayed.is_empty() {
        return Err(ApiError::Conflict { code: "not_replayable", message: "Only a dead or skipped delivery of this app can be replayed.".into() });
    }
    Ok(json(202, &json!({"replayed": replayed})))
}
