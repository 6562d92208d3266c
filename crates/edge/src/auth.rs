//! Creator authentication: `Authorization: Bearer <api key>`.

use crate::error::{ApiError, ApiResult};
use crate::http::header;
use crate::store::{self, Creator};
use worker::{D1Database, Request};

pub async fn creator(req: &Request, db: &D1Database) -> ApiResult<Creator> {
    let key = header(req, "Authorization").and_then(|h| h.strip_prefix("Bearer ").map(|k| k.trim().to_string())).filter(|k| !k.is_empty());
    let Some(key) = key else { return Err(ApiError::Unauthorized) };
    store::creator_by_key(db, &key).await?.ok_or(ApiError::Unauthorized)
}

/// Loads an app the creator owns; another creator's app is reported as absent, not forbidden,
/// so keys cannot be used to discover what exists.
pub async fn owned_app(db: &D1Database, creator: &Creator, slug: &str) -> ApiResult<store::AppRow> {
    match store::app(db, slug).await? {
        Some(app) if app.creator_id == creator.id => Ok(app),
        _ => Err(ApiError::NotFound("app")),
    }
}
