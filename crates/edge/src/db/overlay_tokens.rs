//! `overlay_tokens`: the read-only token of each app's OBS overlay URL.

use super::{first, run};
use crate::platform::error::ApiResult;
use serde::Deserialize;
use worker::D1Database;

#[derive(Deserialize)]
struct Row {
    token: String,
}

/// The app's overlay token, if one was ever made.
pub async fn get(db: &D1Database, app_slug: &str) -> ApiResult<Option<String>> {
    Ok(first::<Row>(db, "SELECT token FROM overlay_tokens WHERE app_slug = ?", &[app_slug.into()]).await?.map(|r| r.token))
}

/// The app's token, making `fresh` the token when it has none (two first calls agree).
pub async fn get_or_make(db: &D1Database, app_slug: &str, fresh: &str, now: i64) -> ApiResult<String> {
    run(
        db,
        "INSERT INTO overlay_tokens (app_slug, token, created_at) VALUES (?, ?, ?) ON CONFLICT (app_slug) DO NOTHING",
        &[app_slug.into(), fresh.into(), now.into()],
    )
    .await?;
    Ok(get(db, app_slug).await?.unwrap_or_else(|| fresh.to_string()))
}

/// Replaces the app's token: URLs with the old one stop working.
pub async fn rotate(db: &D1Database, app_slug: &str, fresh: &str, now: i64) -> ApiResult<()> {
    run(
        db,
        "INSERT INTO overlay_tokens (app_slug, token, created_at) VALUES (?, ?, ?) ON CONFLICT (app_slug) DO UPDATE SET token = excluded.token, created_at = excluded.created_at",
        &[app_slug.into(), fresh.into(), now.into()],
    )
    .await
}
