//! Precise intake limits kept in D1: open requests and requests per day per fan, the queue's
//! capacity, and the creator's block list. Quotas are checked inside the intake batch (see
//! `intake_guards` in schema.sql), so concurrent submissions cannot over-admit.

use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::http::json;
use crate::platform::now_ms;
use crate::store::{self, Arg};
use fanline_core::manifest::{Limits, Manifest};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1Database, D1PreparedStatement, Env, Request, Response};

/// Requests a fan still waits on.
const OPEN: &str = "'created', 'validated', 'held_for_review', 'awaiting_payment', 'authorized', 'paid', 'queued', 'accepted'";
/// Requests in the creator's queue, which the capacity bounds.
const IN_QUEUE: &str = "'held_for_review', 'queued', 'accepted'";

/// Who the fan is for quotas: their signed-in identity, else their fan token, else their
/// email, else their IP address.
pub fn fan_key(signed_in: Option<&str>, fan_id: Option<&str>, email: Option<&str>, ip: &str) -> String {
    match (signed_in, fan_id, email) {
        (Some(who), _, _) => format!("oauth:{who}"),
        (None, Some(id), _) => format!("fan:{id}"),
        (None, None, Some(email)) => format!("email:{}", email.trim().to_lowercase()),
        (None, None, None) => format!("ip:{ip}"),
    }
}

#[derive(Deserialize)]
struct Row {
    max_open_per_fan: Option<i64>,
    max_per_fan_per_day: Option<i64>,
    capacity: Option<i64>,
}

/// The creator's limits from D1 when set, else the manifest's.
pub async fn effective(db: &D1Database, manifest: &Manifest) -> ApiResult<(Limits, &'static str)> {
    let row = store::first::<Row>(db, "SELECT max_open_per_fan, max_per_fan_per_day, capacity FROM app_limits WHERE app_slug = ?", &[manifest.slug.as_str().into()]).await?;
    Ok(match row {
        Some(r) => {
            let n = |v: Option<i64>| v.map(|v| v.clamp(0, i64::from(u32::MAX)) as u32);
            (Limits { max_open_per_fan: n(r.max_open_per_fan), max_per_fan_per_day: n(r.max_per_fan_per_day), capacity: n(r.capacity) }, "creator")
        }
        None => (manifest.limits, "manifest"),
    })
}

/// Statements that refuse the intake batch when a limit would be passed; they go before the
/// request's INSERT (so counts exclude it), `clear` goes last.
pub fn guards(db: &D1Database, slug: &str, fan_key: &str, limits: &Limits, now: i64) -> ApiResult<Vec<D1PreparedStatement>> {
    let mut out = Vec::new();
    if let Some(max) = limits.max_open_per_fan {
        out.push(store::statement(
            db,
            &format!("INSERT INTO intake_guards (open_quota) SELECT (SELECT COUNT(*) FROM requests WHERE app_slug = ? AND fan_key = ? AND status IN ({OPEN})) < ?"),
            &[slug.into(), fan_key.into(), i64::from(max).into()],
        )?);
    }
    if let Some(max) = limits.max_per_fan_per_day {
        let day_start = now - now.rem_euclid(86_400_000);
        out.push(store::statement(
            db,
            "INSERT INTO intake_guards (daily_quota) SELECT (SELECT COUNT(*) FROM requests WHERE app_slug = ? AND fan_key = ? AND created_at >= ?) < ?",
            &[slug.into(), fan_key.into(), day_start.into(), i64::from(max).into()],
        )?);
    }
    if let Some(max) = limits.capacity {
        out.push(store::statement(
            db,
            &format!("INSERT INTO intake_guards (capacity) SELECT (SELECT COUNT(*) FROM requests WHERE app_slug = ? AND status IN ({IN_QUEUE})) < ?"),
            &[slug.into(), i64::from(max).into()],
        )?);
    }
    Ok(out)
}

pub fn clear(db: &D1Database) -> ApiResult<D1PreparedStatement> {
    store::statement(db, "DELETE FROM intake_guards", &[])
}

/// The fan-facing error for a guard that refused the batch, if that is what happened.
pub fn refusal(detail: &str, limits: &Limits) -> Option<ApiError> {
    if detail.contains("open_quota") {
        Some(ApiError::QuotaExceeded(format!("You already have {} open requests here; send another when one is done.", limits.max_open_per_fan.unwrap_or(0))))
    } else if detail.contains("daily_quota") {
        Some(ApiError::QuotaExceeded(format!("You have sent {} requests here today; try again tomorrow (UTC).", limits.max_per_fan_per_day.unwrap_or(0))))
    } else if detail.contains("capacity") {
        Some(ApiError::Conflict { code: "queue_full", message: "The creator's queue is full right now; try again when it has room.".into() })
    } else {
        None
    }
}

async fn in_queue(db: &D1Database, slug: &str) -> ApiResult<i64> {
    let row = store::first::<Value>(db, &format!("SELECT COUNT(*) AS n FROM requests WHERE app_slug = ? AND status IN ({IN_QUEUE})"), &[slug.into()]).await?;
    Ok(row.and_then(|r| r["n"].as_f64()).unwrap_or(0.0) as i64)
}

/// `GET /apps/<slug>/api/status`: whether the form is open, for the form and embed.
pub async fn status(env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let db = store::db(env)?;
    let (limits, _) = effective(&db, manifest).await?;
    let queued = in_queue(&db, &manifest.slug).await?;
    let open = limits.capacity.is_none_or(|c| queued < i64::from(c));
    let mut response = json(200, &json!({"app": manifest.slug, "open": open, "capacity": limits.capacity, "in_queue": queued}));
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}

/// `GET /api/apps/:slug/limits` (creator): the limits in force and where they come from.
pub async fn show(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let creator = auth::creator(req, &db).await?;
    let app = auth::owned_app(&db, &creator, slug).await?;
    let manifest = Manifest::parse(&app.manifest).map_err(ApiError::Internal)?;
    let (limits, source) = effective(&db, &manifest).await?;
    Ok(json(200, &json!({"app": slug, "limits": limits, "source": source, "in_queue": in_queue(&db, slug).await?})))
}

/// `PUT /api/apps/:slug/limits` (creator) with `{"capacity": 20, "max_open_per_fan": 3,
/// "max_per_fan_per_day": 10}` (each optional; absent means no limit). Replaces the
/// manifest's limits until `DELETE` restores them.
pub async fn set(mut req: Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let creator = auth::creator(&req, &db).await?;
    auth::owned_app(&db, &creator, slug).await?;
    let limits: Limits = req.json().await.map_err(|_| ApiError::bad_request("invalid_limits", r#"Send {"capacity": 20, "max_open_per_fan": 3, "max_per_fan_per_day": 10}; each is optional, a whole number, and nothing else is accepted."#))?;
    let n = |v: Option<u32>| v.map_or(Arg::Null, |v| Arg::Int(i64::from(v)));
    store::run(
        &db,
        "INSERT INTO app_limits (app_slug, max_open_per_fan, max_per_fan_per_day, capacity, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (app_slug) DO UPDATE SET max_open_per_fan = excluded.max_open_per_fan, max_per_fan_per_day = excluded.max_per_fan_per_day,
           capacity = excluded.capacity, updated_at = excluded.updated_at",
        &[slug.into(), n(limits.max_open_per_fan), n(limits.max_per_fan_per_day), n(limits.capacity), now_ms().into()],
    )
    .await?;
    show(&req, env, slug).await
}

pub async fn reset(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let creator = auth::creator(req, &db).await?;
    auth::owned_app(&db, &creator, slug).await?;
    store::run(&db, "DELETE FROM app_limits WHERE app_slug = ?", &[slug.into()]).await?;
    show(req, env, slug).await
}

/// The block-list entry that matches this submission, if any (`ip`, `email` or `fan`).
pub async fn blocked(db: &D1Database, creator_id: &str, ip: &str, email: Option<&str>, fan_id: Option<&str>) -> ApiResult<Option<String>> {
    #[derive(Deserialize)]
    struct Hit {
        kind: String,
    }
    let email = email.map(|e| e.trim().to_lowercase());
    let hit = store::first::<Hit>(
        db,
        "SELECT kind FROM blocklist WHERE creator_id = ? AND ((kind = 'ip' AND value = ?) OR (kind = 'email' AND value = ?) OR (kind = 'fan' AND value = ?)) LIMIT 1",
        &[creator_id.into(), ip.into(), email.as_deref().into(), fan_id.into()],
    )
    .await?;
    Ok(hit.map(|h| h.kind))
}

/// `GET /api/blocklist`, `POST /api/blocklist` (`{"kind": "ip" | "email" | "fan", "value",
/// "reason"?}`) and `DELETE /api/blocklist/:kind/:value`, for the creator's own list.
pub async fn blocklist(mut req: Request, env: &Env, target: Option<(&str, &str)>) -> ApiResult<Response> {
    let db = store::db(env)?;
    let creator = auth::creator(&req, &db).await?;
    match (req.method(), target) {
        (worker::Method::Post, None) => {
            let body: Value = req.json().await.map_err(|_| ApiError::bad_request("invalid_json", r#"Send {"kind": "email", "value": "spam@example.com", "reason": "..."}."#))?;
            let kind = body["kind"].as_str().filter(|k| matches!(*k, "ip" | "email" | "fan")).ok_or_else(|| ApiError::bad_request("invalid_kind", "kind is ip, email or fan."))?;
            let value = body["value"].as_str().map(str::trim).filter(|v| !v.is_empty() && v.len() <= 254).ok_or_else(|| ApiError::bad_request("invalid_value", "value is 1 to 254 characters."))?;
            let value = if kind == "email" { value.to_lowercase() } else { value.to_string() };
            let reason: Option<String> = body["reason"].as_str().map(|r| r.chars().take(200).collect());
            store::run(
                &db,
                "INSERT INTO blocklist (creator_id, kind, value, reason, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (creator_id, kind, value) DO UPDATE SET reason = excluded.reason",
                &[creator.id.as_str().into(), kind.into(), value.as_str().into(), reason.as_deref().into(), now_ms().into()],
            )
            .await?;
            Ok(json(201, &json!({"kind": kind, "value": value, "reason": reason})))
        }
        (worker::Method::Delete, Some((kind, value))) => {
            let removed = store::changes(&db, "DELETE FROM blocklist WHERE creator_id = ? AND kind = ? AND value = ?", &[creator.id.as_str().into(), kind.into(), value.into()]).await?;
            if removed == 0 {
                return Err(ApiError::NotFound("block-list entry"));
            }
            Ok(Response::empty()?.with_status(204))
        }
        (worker::Method::Get, None) => {
            let rows: Vec<Value> = store::all(&db, "SELECT kind, value, reason, created_at FROM blocklist WHERE creator_id = ? ORDER BY created_at", &[creator.id.as_str().into()]).await?;
            Ok(json(200, &json!({"blocklist": rows})))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}
