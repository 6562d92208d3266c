//! `GET /api/apps/:slug/requests[?status=queued]`: the creator's queue, subscribers with a
//! priority tier first, then oldest first.

use fanline_core::lifecycle::Status;
use fanline_core::util::time::rfc3339;
use fanline_edge::db;
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::json;
use fanline_edge::trust::auth;
use serde_json::{json, Value};
use worker::{Env, Request, Response};

pub async fn list(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    let status = match req.url()?.query_pairs().find(|(k, _)| k == "status").map(|(_, v)| v.into_owned()) {
        Some(s) => Some(Status::parse(&s).ok_or_else(|| ApiError::bad_request("invalid_status", format!("Unknown status '{s}'.")))?),
        None => None,
    };
    let parsed = |text: &str| serde_json::from_str::<Value>(text).ok();
    let list: Vec<Value> = db::requests::queue(&db, &app.slug, status)
        .await?
        .iter()
        .map(|r| {
            json!({
                "id": r.id, "status": r.status, "price": {"amount": r.amount, "currency": r.currency},
                "fields": parsed(&r.fields).unwrap_or(json!({})), "priority": r.priority != 0, "paid_with": r.provider,
                "moderation": parsed(&r.moderation), "triage": r.triage.as_deref().and_then(parsed), "created_at": rfc3339(r.created_at),
            })
        })
        .collect();
    Ok(json(200, &json!({"app": app.slug, "requests": list})))
}
