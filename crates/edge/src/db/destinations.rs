//! `destinations`: each app's settings per destination kind (credentials included, never shown
//! back), and whether it is enabled (a 410 from the receiver disables it).

use super::{all, first, run, statement};
use crate::platform::error::ApiResult;
use fanline_core::delivery::destination::Settings;
use fanline_core::manifest::DestinationKind;
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

#[derive(Debug, Clone, Deserialize)]
pub struct DestinationRow {
    pub kind: String,
    pub settings: String,
    pub enabled: i64,
}

impl DestinationRow {
    /// The settings as saved; `None` for a row whose JSON no longer reads as its kind.
    pub fn settings(&self) -> Option<(DestinationKind, Settings)> {
        let kind = DestinationKind::parse(&self.kind)?;
        Some((kind, Settings::load(kind, &self.settings)?))
    }
}

/// An app's settings for one kind, and whether it is enabled.
pub async fn get(db: &D1Database, app_slug: &str, kind: DestinationKind) -> ApiResult<Option<(Settings, bool)>> {
    let row: Option<DestinationRow> =
        first(db, "SELECT kind, settings, enabled FROM destinations WHERE app_slug = ? AND kind = ?", &[app_slug.into(), kind.as_str().into()]).await?;
    Ok(row.and_then(|r| Some((r.settings()?.1, r.enabled == 1))))
}

pub async fn list(db: &D1Database, app_slug: &str) -> ApiResult<Vec<DestinationRow>> {
    all(db, "SELECT kind, settings, enabled FROM destinations WHERE app_slug = ? ORDER BY kind", &[app_slug.into()]).await
}

pub fn upsert(db: &D1Database, app_slug: &str, kind: DestinationKind, settings_json: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        "INSERT INTO destinations (app_slug, kind, settings, enabled, updated_at) VALUES (?, ?, ?, 1, ?)
         ON CONFLICT (app_slug, kind) DO UPDATE SET settings = excluded.settings, enabled = 1, updated_at = excluded.updated_at",
        &[app_slug.into(), kind.as_str().into(), settings_json.into(), now.into()],
    )
}

pub fn delete(db: &D1Database, app_slug: &str, kind: DestinationKind) -> ApiResult<D1PreparedStatement> {
    statement(db, "DELETE FROM destinations WHERE app_slug = ? AND kind = ?", &[app_slug.into(), kind.as_str().into()])
}

/// The receiver said the endpoint is gone (410): stop sending there until the creator sets it again.
pub async fn disable(db: &D1Database, app_slug: &str, kind: DestinationKind, now: i64) -> ApiResult<()> {
    run(db, "UPDATE destinations SET enabled = 0, updated_at = ? WHERE app_slug = ? AND kind = ?", &[now.into(), app_slug.into(), kind.as_str().into()]).await
}
