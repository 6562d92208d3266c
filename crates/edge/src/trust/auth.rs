//! Creator authentication: `Authorization: Bearer <api key>` from scripts, or
//! `Authorization: Session <token>` when the hub's console forwards a signed-in creator's call
//! (the console checked the call's origin and CSRF token before forwarding it).

use crate::db::{self, apps::AppRow, creators::Creator};
use crate::platform::config::now_ms;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::header;
use worker::{D1Database, Request};

pub async fn creator(req: &Request, db: &D1Database) -> ApiResult<Creator> {
    let Some(authorization) = header(req, "Authorization") else { return Err(ApiError::Unauthorized) };
    let found = match authorization.split_once(' ') {
        Some(("Bearer", key)) if !key.trim().is_empty() => db::api_keys::creator(db, key.trim()).await?,
        Some(("Session", token)) if !token.trim().is_empty() => db::console_sessions::current(db, token.trim(), now_ms()).await?.map(|s| s.creator()),
        _ => None,
    };
    found.ok_or(ApiError::Unauthorized)
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
