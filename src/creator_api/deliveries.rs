//! The delivery log: `GET /api/apps/:slug/deliveries[/:id]` and replaying dead deliveries.

use fanline_core::delivery::state::OutboxState;
use fanline_core::util::time::rfc3339;
use fanline_edge::db::{
    self,
    outbox::{DeliveryFilter, DeliveryRow},
};
use fanline_edge::delivery::outbox::enqueue_ids;
use fanline_edge::platform::config::now_ms;
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{json, query_param};
use fanline_edge::trust::auth;
use serde_json::{json, Value};
use worker::{D1Database, Env, Request, Response};

fn view(row: &DeliveryRow) -> Value {
    json!({
        "id": row.id, "request_id": row.request_id, "event": row.event, "destination": row.destination, "state": row.state,
        "attempts": row.attempts, "last_error": row.last_error, "created_at": rfc3339(row.created_at), "updated_at": rfc3339(row.updated_at),
        "delivered_at": row.delivered_at.map(rfc3339),
    })
}

/// `GET /api/apps/:slug/deliveries/:id`: one delivery with every attempt (status, error, time).
pub async fn one(req: &Request, env: &Env, slug: &str, id: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    let row = db::outbox::delivery(&db, &app.slug, id).await?.ok_or(ApiError::NotFound("delivery"))?;
    let attempts = db::outbox::attempts(&db, id).await?;
    let mut shown = view(&row);
    shown["attempt_log"] = attempts.iter().map(|a| json!({"attempt": a.attempt, "status": a.status, "error": a.error, "at": rfc3339(a.at)})).collect();
    Ok(json(200, &shown))
}

/// `GET /api/apps/:slug/deliveries[?state=dead]`: every notification and how it went, newest
/// first, so a broken integration is visible instead of silent. `?state=failing` lists the ones
/// still being retried after a failed attempt.
pub async fn list(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    let state = query_param(req, "state");
    let filter = match state.as_deref() {
        None => DeliveryFilter::All,
        Some("failing") => DeliveryFilter::Failing,
        Some(s) => match OutboxState::parse(s) {
            Some(state) => DeliveryFilter::In(state),
            None => {
                let names: Vec<&str> = OutboxState::ALL.iter().map(|s| s.as_str()).chain(["failing"]).collect();
                return Err(ApiError::bad_request("invalid_state", format!("Unknown state '{s}'; use one of {}.", names.join(", "))));
            }
        },
    };
    let list: Vec<Value> = db::outbox::deliveries(&db, &app.slug, filter).await?.iter().map(view).collect();
    Ok(json(200, &json!({"app": app.slug, "deliveries": list})))
}

/// `POST /api/apps/:slug/deliveries/replay` (every dead delivery) or
/// `POST /api/apps/:slug/deliveries/:id/replay` (one dead or skipped delivery): queued again
/// with the same `webhook-id`, so receivers that saw it before can drop it.
pub async fn replay(req: &Request, env: &Env, slug: &str, only: Option<&str>) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    let replayed = reopen(env, &db, &app.slug, only).await?;
    if only.is_some() && replayed.is_empty() {
        return Err(ApiError::Conflict { code: "not_replayable", message: "Only a dead or skipped delivery of this app can be replayed.".into() });
    }
    Ok(json(202, &json!({"replayed": replayed})))
}

/// Puts dead or skipped rows back to pending and queues them again. The state change is
/// conditional, so replaying twice at once queues each row once.
async fn reopen(env: &Env, db: &D1Database, app_slug: &str, only: Option<&str>) -> ApiResult<Vec<String>> {
    let mut replayed = Vec::new();
    for id in db::outbox::replayable(db, app_slug, only).await? {
        if db::outbox::reopen(db, &id, now_ms()).await? {
            replayed.push(id);
        }
    }
    enqueue_ids(env, replayed.clone()).await;
    Ok(replayed)
}
