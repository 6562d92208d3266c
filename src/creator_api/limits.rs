//! `GET`, `PUT` and `DELETE /api/apps/:slug/limits`: the queue's capacity and per-fan quotas.

use fanline_core::manifest::Limits;
use fanline_edge::db;
use fanline_edge::platform::body::strict_json;
use fanline_edge::platform::config::now_ms;
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::json;
use fanline_edge::trust::{auth, limits};
use serde_json::json;
use worker::{Env, Request, Response};

/// The limits in force and where they come from.
pub async fn show(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    let manifest = app.manifest()?;
    let (in_force, source) = limits::effective(&db, &manifest).await?;
    Ok(json(200, &json!({"app": slug, "limits": in_force, "source": source.as_str(), "in_queue": limits::in_queue(&db, slug).await?})))
}

/// `PUT` with `{"capacity": 20, "max_open_per_fan": 3, "max_per_fan_per_day": 10}` (each
/// optional; absent means no limit). Replaces the manifest's limits until `DELETE`.
pub async fn set(mut req: Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    auth::creator_app(&req, &db, slug).await?;
    let example = r#"{"capacity": 20, "max_open_per_fan": 3, "max_per_fan_per_day": 10} (each optional, a whole number; nothing else is accepted)"#;
    let new: Limits = strict_json(&mut req, example, false).await.map_err(|e| match e {
        ApiError::BadRequest { message, .. } => ApiError::bad_request("invalid_limits", message),
        other => other,
    })?;
    db::limits::set_app_limits(&db, slug, &new, now_ms()).await?;
    show(&req, env, slug).await
}

/// `DELETE`: back to the manifest's limits.
pub async fn reset(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    auth::creator_app(req, &db, slug).await?;
    db::limits::reset_app_limits(&db, slug).await?;
    show(req, env, slug).await
}
