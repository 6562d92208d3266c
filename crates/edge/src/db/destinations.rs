//! `destinations`: each app's settings per destination kind (credentials included, sealed at
//! rest and never shown back), and whether it is enabled (a 410 from the receiver disables it).

use super::{all, first, run, statement};
use crate::platform::error::ApiResult;
use crate::platform::sealing::{self, Keys};
use fanline_core::delivery::destination::Settings;
use fanline_core::manifest::DestinationKind;
use fanline_core::trust::sealed::{self, Column};
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

#[derive(Debug, Clone, Deserialize)]
pub struct DestinationRow {
    pub kind: String,
    pub settings: String,
    pub enabled: i64,
}

impl DestinationRow {
    /// The settings as saved, opened; `None` for a row that no longer reads as its kind (or
    /// whose seal does not open: see `sealing::open`).
    pub async fn settings(&self, keys: Option<&Keys>, app_slug: &str) -> ApiResult<Option<(DestinationKind, Settings)>> {
        let Some(kind) = DestinationKind::parse(&self.kind) else { return Ok(None) };
        let json = sealing::open(keys, &sealed::associated_data(Column::DestinationSettings, app_slug, kind.as_str()), &self.settings).await?;
        Ok(json.and_then(|json| Settings::load(kind, &json)).map(|settings| (kind, settings)))
    }
}

/// An app's settings for one kind, and whether it is enabled.
pub async fn get(db: &D1Database, keys: Option<&Keys>, app_slug: &str, kind: DestinationKind) -> ApiResult<Option<(Settings, bool)>> {
    let row: Option<DestinationRow> =
        first(db, "SELECT kind, settings, enabled FROM destinations WHERE app_slug = ? AND kind = ?", &[app_slug.into(), kind.as_str().into()]).await?;
    let Some(row) = row else { return Ok(None) };
    Ok(row.settings(keys, app_slug).await?.map(|(_, settings)| (settings, row.enabled == 1)))
}

/// The text a row stores for `settings`: sealed under the current key, bound to its row.
pub async fn seal(keys: &Keys, app_slug: &str, kind: DestinationKind, settings: &Settings) -> ApiResult<String> {
    sealing::seal(keys, &sealed::associated_data(Column::DestinationSettings, app_slug, kind.as_str()), &serde_json::to_string(settings)?).await
}

/// A row whose settings are not sealed under the current key: written before sealing, or
/// under the key a rotation replaced.
#[derive(Debug, Deserialize)]
pub struct Unsealed {
    pub app_slug: String,
    pub kind: String,
    pub settings: String,
}

pub async fn not_sealed_under(db: &D1Database, keys: &Keys, limit: u32) -> ApiResult<Vec<Unsealed>> {
    let prefix = sealed::prefix_for(&keys.current);
    all(
        db,
        "SELECT app_slug, kind, settings FROM destinations WHERE substr(settings, 1, ?) != ? ORDER BY updated_at LIMIT ?",
        &[(prefix.len() as i64).into(), prefix.as_str().into(), (limit as i64).into()],
    )
    .await
}

/// Replaces a row's stored text with its re-sealed form, unless the creator saved new
/// settings meanwhile. Whether it was replaced.
pub async fn reseal(db: &D1Database, row: &Unsealed, resealed: &str) -> ApiResult<bool> {
    let changed = super::changes(
        db,
        "UPDATE destinations SET settings = ? WHERE app_slug = ? AND kind = ? AND settings = ?",
        &[resealed.into(), row.app_slug.as_str().into(), row.kind.as_str().into(), row.settings.as_str().into()],
    )
    .await?;
    Ok(changed > 0)
}

pub async fn list(db: &D1Database, app_slug: &str) -> ApiResult<Vec<DestinationRow>> {
    all(db, "SELECT kind, settings, enabled FROM destinations WHERE app_slug = ? ORDER BY kind", &[app_slug.into()]).await
}

/// `stored` is the settings as `seal` returned them.
pub fn upsert(db: &D1Database, app_slug: &str, kind: DestinationKind, stored: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        "INSERT INTO destinations (app_slug, kind, settings, enabled, updated_at) VALUES (?, ?, ?, 1, ?)
         ON CONFLICT (app_slug, kind) DO UPDATE SET settings = excluded.settings, enabled = 1, updated_at = excluded.updated_at",
        &[app_slug.into(), kind.as_str().into(), stored.into(), now.into()],
    )
}

pub fn delete(db: &D1Database, app_slug: &str, kind: DestinationKind) -> ApiResult<D1PreparedStatement> {
    statement(db, "DELETE FROM destinations WHERE app_slug = ? AND kind = ?", &[app_slug.into(), kind.as_str().into()])
}

/// The receiver said the endpoint is gone (410): stop sending there until the creator sets it again.
pub async fn disable(db: &D1Database, app_slug: &str, kind: DestinationKind, now: i64) -> ApiResult<()> {
    run(db, "UPDATE destinations SET enabled = 0, updated_at = ? WHERE app_slug = ? AND kind = ?", &[now.into(), app_slug.into(), kind.as_str().into()]).await
}
