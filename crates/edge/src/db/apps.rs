//! `apps`: the marketplace's catalog row of each micro-app, with the manifest it runs.

use super::{all, first};
use crate::platform::error::{ApiError, ApiResult};
use fanline_core::manifest::Manifest;
use serde::Deserialize;
use worker::D1Database;

#[derive(Debug, Clone, Deserialize)]
pub struct AppRow {
    pub slug: String,
    pub creator_id: String,
    pub title: String,
    pub description: String,
    pub manifest: String,
}

impl AppRow {
    /// The manifest as the app runs it; a stored manifest that no longer parses is our bug.
    pub fn manifest(&self) -> ApiResult<Manifest> {
        Manifest::parse(&self.manifest).map_err(|e| ApiError::Internal(format!("app {}: stored manifest: {e}", self.slug)))
    }
}

const COLUMNS: &str = "slug, creator_id, title, description, manifest";

pub async fn get(db: &D1Database, slug: &str) -> ApiResult<Option<AppRow>> {
    first(db, &format!("SELECT {COLUMNS} FROM apps WHERE slug = ?"), &[slug.into()]).await
}

/// An app that must exist (a request or event names it), with its parsed manifest.
pub async fn with_manifest(db: &D1Database, slug: &str) -> ApiResult<(AppRow, Manifest)> {
    let app = get(db, slug).await?.ok_or_else(|| ApiError::Internal(format!("app {slug} missing")))?;
    let manifest = app.manifest()?;
    Ok((app, manifest))
}

/// Every app, oldest first (the catalog's order).
pub async fn list(db: &D1Database) -> ApiResult<Vec<AppRow>> {
    all(db, &format!("SELECT {COLUMNS} FROM apps ORDER BY created_at, slug"), &[]).await
}

/// A creator's apps, oldest first.
pub async fn of_creator(db: &D1Database, creator_id: &str) -> ApiResult<Vec<AppRow>> {
    all(db, &format!("SELECT {COLUMNS} FROM apps WHERE creator_id = ? ORDER BY created_at, slug"), &[creator_id.into()]).await
}
