//! `app_events` (every change of an app's state, with who and why) and `app_invites` (the
//! invite links of an invite-only app; only each token's SHA-256 is kept).

use super::{all, changes, statement};
use crate::platform::error::ApiResult;
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

#[derive(Debug, Clone, Deserialize)]
pub struct AppEvent {
    pub from_state: String,
    pub to_state: String,
    pub actor: String,
    pub reason: Option<String>,
    pub at: i64,
}

pub struct NewEvent<'a> {
    pub app_slug: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub actor: &'a str,
    pub reason: Option<&'a str>,
}

pub fn event(db: &D1Database, e: &NewEvent<'_>, now: i64) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        "INSERT INTO app_events (app_slug, from_state, to_state, actor, reason, at) VALUES (?, ?, ?, ?, ?, ?)",
        &[e.app_slug.into(), e.from.into(), e.to.into(), e.actor.into(), e.reason.into(), now.into()],
    )
}

/// The app's state changes, oldest first.
pub async fn events(db: &D1Database, app_slug: &str) -> ApiResult<Vec<AppEvent>> {
    all(db, "SELECT from_state, to_state, actor, reason, at FROM app_events WHERE app_slug = ? ORDER BY id", &[app_slug.into()]).await
}

#[derive(Debug, Clone, Deserialize)]
pub struct Invite {
    pub id: String,
    pub label: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

pub struct NewInvite<'a> {
    pub id: &'a str,
    pub app_slug: &'a str,
    pub token_hash: &'a str,
    pub label: Option<&'a str>,
}

pub async fn add_invite(db: &D1Database, i: &NewInvite<'_>, now: i64) -> ApiResult<()> {
    changes(
        db,
        "INSERT INTO app_invites (id, app_slug, token_hash, label, created_at) VALUES (?, ?, ?, ?, ?)",
        &[i.id.into(), i.app_slug.into(), i.token_hash.into(), i.label.into(), now.into()],
    )
    .await
    .map(|_| ())
}

pub async fn invites(db: &D1Database, app_slug: &str) -> ApiResult<Vec<Invite>> {
    all(db, "SELECT id, label, created_at, revoked_at FROM app_invites WHERE app_slug = ? ORDER BY created_at", &[app_slug.into()]).await
}

/// False when the app has no such live invite.
pub async fn revoke_invite(db: &D1Database, app_slug: &str, id: &str, now: i64) -> ApiResult<bool> {
    Ok(changes(db, "UPDATE app_invites SET revoked_at = ? WHERE app_slug = ? AND id = ? AND revoked_at IS NULL", &[now.into(), app_slug.into(), id.into()])
        .await?
        == 1)
}
