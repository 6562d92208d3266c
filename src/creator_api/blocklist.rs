//! `GET /api/blocklist`, `POST /api/blocklist` (`{"kind": "ip" | "email" | "fan", "value",
//! "reason"?}`) and `DELETE /api/blocklist/:kind/:value`, for the creator's own list.

use fanline_core::trust::client::{block_value, BlockKind};
use fanline_core::util::time::rfc3339;
use fanline_edge::db;
use fanline_edge::platform::body::strict_json;
use fanline_edge::platform::config::now_ms;
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::json;
use fanline_edge::trust::auth;
use serde::Deserialize;
use serde_json::json;
use worker::{Env, Method, Request, Response};

pub async fn handle(mut req: Request, env: &Env, target: Option<(&str, &str)>) -> ApiResult<Response> {
    let db = db::db(env)?;
    let creator = auth::creator(&req, &db).await?;
    match (req.method(), target) {
        (Method::Post, None) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Entry {
                kind: String,
                value: String,
                reason: Option<String>,
            }
            let body: Entry = strict_json(&mut req, r#"{"kind": "email", "value": "spam@example.com", "reason": "..."}"#, false).await?;
            let kind = BlockKind::parse(&body.kind).ok_or_else(|| ApiError::bad_request("invalid_kind", "kind is ip, email or fan."))?;
            let value = Some(body.value.trim())
                .filter(|v| !v.is_empty() && v.len() <= 254)
                .ok_or_else(|| ApiError::bad_request("invalid_value", "value is 1 to 254 characters."))?;
            let value = block_value(kind, value).map_err(|why| ApiError::bad_request("invalid_value", why))?;
            let reason: Option<String> = body.reason.map(|r| r.chars().take(200).collect());
            let since = db::limits::block(&db, &creator.id, &db::limits::BlockEntry { kind, value: &value, reason: reason.as_deref() }, now_ms()).await?;
            Ok(json(201, &json!({"kind": kind.as_str(), "value": value, "reason": reason, "created_at": rfc3339(since)})))
        }
        (Method::Delete, Some((kind, value))) => {
            // The path segment arrives percent-encoded; entries are stored decoded and canonical.
            let decoded =
                url::form_urlencoded::parse(format!("v={}", value.replace('+', "%2B")).as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default();
            // No entry of another kind can exist: POST refuses it.
            let kind = BlockKind::parse(kind).ok_or(ApiError::NotFound("block-list entry"))?;
            // An entry stored before values were checked is removed by its stored spelling.
            let value = block_value(kind, &decoded).unwrap_or_else(|_| decoded.trim().to_string());
            if !db::limits::unblock(&db, &creator.id, &db::limits::BlockEntry { kind, value: &value, reason: None }).await? {
                return Err(ApiError::NotFound("block-list entry"));
            }
            Ok(Response::empty()?.with_status(204))
        }
        (Method::Get, None) => {
            let entries = db::limits::blocklist(&db, &creator.id).await?;
            let entries: Vec<_> =
                entries.iter().map(|e| json!({"kind": e.kind, "value": e.value, "reason": e.reason, "created_at": rfc3339(e.created_at)})).collect();
            Ok(json(200, &json!({ "blocklist": entries })))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}
