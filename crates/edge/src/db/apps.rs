//! `apps`: the marketplace's catalog row of each micro-app, with the manifest it runs.

use super::{all, changes, first, statement};
use crate::platform::error::{ApiError, ApiResult};
use fanline_core::app_state::AppState;
use fanline_core::manifest::Manifest;
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use worker::{D1Database, D1PreparedStatement};

#[derive(Debug, Clone, Deserialize)]
pub struct AppRow {
    pub slug: String,
    pub creator_id: String,
    pub title: String,
    pub description: String,
    pub manifest: String,
    pub state: String,
    pub state_message: Option<String>,
    pub successor: Option<String>,
}

impl AppRow {
    /// A state this build does not know reads as paused: refuse rather than guess.
    pub fn state(&self) -> AppState {
        AppState::parse(&self.state).unwrap_or(AppState::Paused)
    }

    /// The manifest as the app runs it; a stored manifest that no longer parses is our bug.
    /// Parsed once per isolate for each text it has (webhooks, crons and the creator API read
    /// the same few manifests over and over).
    pub fn manifest(&self) -> ApiResult<Rc<Manifest>> {
        if let Some(parsed) = PARSED.with(|p| p.borrow().get(&self.slug).filter(|(text, _)| *text == self.manifest).map(|(_, m)| m.clone())) {
            return Ok(parsed);
        }
        let parsed = Rc::new(Manifest::parse(&self.manifest).map_err(|e| ApiError::Internal(format!("app {}: stored manifest: {e}", self.slug)))?);
        PARSED.with(|p| {
            let mut kept = p.borrow_mut();
            // A bound, not an eviction policy: a hub serving more apps than this parses again.
            if kept.len() >= 256 {
                kept.clear();
            }
            kept.insert(self.slug.clone(), (self.manifest.clone(), parsed.clone()));
        });
        Ok(parsed)
    }
}

thread_local! {
    static PARSED: RefCell<HashMap<String, (String, Rc<Manifest>)>> = RefCell::new(HashMap::new());
}

const COLUMNS: &str = "slug, creator_id, title, description, manifest, state, state_message, successor";

pub async fn get(db: &D1Database, slug: &str) -> ApiResult<Option<AppRow>> {
    first(db, &format!("SELECT {COLUMNS} FROM apps WHERE slug = ?"), &[slug.into()]).await
}

/// The app a request was made at, as a query for `read_together` (`first_of` reads it).
pub fn of_request_query(db: &D1Database, request_id: &str) -> ApiResult<D1PreparedStatement> {
    statement(db, &format!("SELECT {COLUMNS} FROM apps WHERE slug = (SELECT app_slug FROM requests WHERE id = ?)"), &[request_id.into()])
}

/// An app that must exist (a request or event names it), with its parsed manifest.
pub async fn with_manifest(db: &D1Database, slug: &str) -> ApiResult<(AppRow, Rc<Manifest>)> {
    let app = get(db, slug).await?.ok_or_else(|| ApiError::Internal(format!("app {slug} missing")))?;
    let manifest = app.manifest()?;
    Ok((app, manifest))
}

/// An app as the catalog shows it: with its creator's name, its queue's size and capacity.
pub struct CatalogRow {
    pub app: AppRow,
    pub creator_name: String,
    pub in_queue: i64,
    /// The creator's capacity, when they set their own limits (`limits_set`).
    pub capacity: Option<i64>,
    pub limits_set: bool,
}

/// Every live app with its creator's name and queue, oldest first, in one round trip.
pub async fn catalog(db: &D1Database, payment_window_start: i64) -> ApiResult<Vec<CatalogRow>> {
    #[derive(Deserialize)]
    struct Row {
        slug: String,
        creator_id: String,
        title: String,
        description: String,
        manifest: String,
        state: String,
        state_message: Option<String>,
        successor: Option<String>,
        creator_name: String,
        in_queue: i64,
        limits_set: Option<String>,
        capacity: Option<i64>,
    }
    let rows: Vec<Row> = all(
        db,
        &format!(
            "SELECT {}, c.name AS creator_name, l.app_slug AS limits_set, l.capacity,
                    (SELECT COUNT(*) FROM requests WHERE app_slug = a.slug AND {}) AS in_queue
               FROM apps a JOIN creators c ON c.id = a.creator_id LEFT JOIN app_limits l ON l.app_slug = a.slug
              WHERE a.state = '{}' ORDER BY a.created_at, a.slug",
            COLUMNS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", "),
            super::limits::in_queue(),
            AppState::Live.as_str()
        ),
        &[payment_window_start.into()],
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| CatalogRow {
            app: AppRow {
                slug: r.slug,
                creator_id: r.creator_id,
                title: r.title,
                description: r.description,
                manifest: r.manifest,
                state: r.state,
                state_message: r.state_message,
                successor: r.successor,
            },
            creator_name: r.creator_name,
            in_queue: r.in_queue,
            capacity: r.capacity,
            limits_set: r.limits_set.is_some(),
        })
        .collect())
}

/// Every app, oldest first (the catalog's order).
pub async fn list(db: &D1Database) -> ApiResult<Vec<AppRow>> {
    all(db, &format!("SELECT {COLUMNS} FROM apps ORDER BY created_at, slug"), &[]).await
}

/// A creator's apps, oldest first.
pub async fn of_creator(db: &D1Database, creator_id: &str) -> ApiResult<Vec<AppRow>> {
    all(db, &format!("SELECT {COLUMNS} FROM apps WHERE creator_id = ? ORDER BY created_at, slug"), &[creator_id.into()]).await
}

/// An app moving from one state to another, with what the form says and where fans go next.
pub struct StateChange<'a> {
    pub slug: &'a str,
    pub from: AppState,
    pub to: AppState,
    pub message: Option<&'a str>,
    pub successor: Option<&'a str>,
}

/// The state change itself, conditional on the state it was read in: false when another
/// change came first (of two concurrent changes, one wins).
pub async fn changed(db: &D1Database, c: &StateChange<'_>) -> ApiResult<bool> {
    Ok(changes(
        db,
        "UPDATE apps SET state = ?, state_message = ?, successor = ? WHERE slug = ? AND state = ?",
        &[c.to.as_str().into(), c.message.into(), c.successor.into(), c.slug.into(), c.from.as_str().into()],
    )
    .await?
        == 1)
}
