//! The creator's API keys: `GET /api/creator/keys` (name and last 4 characters only),
//! `POST /api/creator/keys` with `{"name": "..."}` (the key is shown once, in the answer) and
//! `DELETE /api/creator/keys/:id` (revoked at once; the key stops working).

use fanline_core::intake::ids;
use fanline_core::util::time::rfc3339;
use fanline_edge::db;
use fanline_edge::platform::body::strict_json;
use fanline_edge::platform::config::{now_ms, random};
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::json;
use fanline_edge::trust::auth;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Env, Request, Response};

fn shown(k: &db::api_keys::ApiKey) -> Value {
    json!({"id": k.id, "name": k.name, "last4": k.last4, "created_at": rfc3339(k.created_at), "revoked_at": k.revoked_at.map(rfc3339)})
}

pub async fn list(req: &Request, env: &Env) -> ApiResult<Response> {
    let db = db::db(env)?;
    let creator = auth::creator(req, &db).await?;
    let keys: Vec<Value> = db::api_keys::list(&db, &creator.id).await?.iter().map(shown).collect();
    Ok(json(200, &json!({"keys": keys})))
}

pub async fn create(mut req: Request, env: &Env) -> ApiResult<Response> {
    let db = db::db(env)?;
    let creator = auth::creator(&req, &db).await?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NewKey {
        name: String,
    }
    let body: NewKey = strict_json(&mut req, r#"{"name": "stream deck script"}"#, false).await?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request("invalid_name", "A key's name is 1 to 60 characters on one line."));
    }
    let id = ids::token("key_", &random::<8>());
    let key = ids::token("fl_live_", &random::<24>());
    let now = now_ms();
    db::api_keys::create(&db, &db::api_keys::NewKey { id: &id, creator_id: &creator.id, name, key: &key }, now).await?;
    Ok(json(
        201,
        &json!({"id": id, "name": name, "key": key, "last4": &key[key.len() - 4..], "created_at": rfc3339(now), "message": "Copy the key now: it is not shown again."}),
    ))
}

pub async fn revoke(req: &Request, env: &Env, id: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let creator = auth::creator(req, &db).await?;
    if !db::api_keys::revoke(&db, &creator.id, id, now_ms()).await? {
        return Err(ApiError::NotFound("api key"));
    }
    Ok(json(200, &json!({"id": id, "revoked": true})))
}
