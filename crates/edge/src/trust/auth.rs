//! Creator authentication: `Authorization: Bearer <api key>`.

use crate::db::{self, apps::AppRow, creators::Creator};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::header;
use worker::{D1Database, Request};

pub async fn creator(req: &Request, db: &D1Database) -> ApiResult<Creator> {
    let key = header(req, "Authorization").and_then(|h| h.strip_prefix("Bearer ").map(|k| k.trim().to_string())).filter(|k| !k.is_empty());
    let Some(key) = key else { return Err(ApiError::Unauthorized) };
    db::creators::by_api_key(db, &key).await?.ok_or(ApiError::Unauthorized)
}

/// Loads an app the creator owns; another creator's app is reported as absent, not forbidden,
/// so keys cannot be used to discover what exists.
pub async fn owned_app(db: &D1Database, creator: &Creator, slug: &str) -> ApiResult<AppRow> {
    match db::apps::get(db, slug).await? {
        Some(app) if app.creator_id == creator.id => Ok(app),
        _ => Err(ApiError::NotFound("app")),
    }
}

/// The creator behind the key and their app, in one call (every creator endpoint starts so).
pub async fn creator_app(req: &Request, db: &D1Database, slug: &str) -> ApiResult<(Creator, AppRow)> {
    let creator = creator(req, db).await?;
    let app = owned_app(db, &creator, slug).await?;
    Ok((creator, app))
}
