//! `youtube_chats`, `youtube_connects` and `youtube_quota`: the live chat each app reads, the
//! connections waiting for Google's authorization, and the quota spent per day.

use super::{all, changes, first, run};
use crate::platform::error::ApiResult;
use serde::Deserialize;
use worker::D1Database;

#[derive(Debug, Clone, Deserialize)]
pub struct Chat {
    pub app_slug: String,
    pub creator_id: String,
    pub access_token: String,
    pub refresh_token: String,
    pub token_expires_at: i64,
    pub status: String,
    pub broadcast_id: Option<String>,
    pub live_chat_id: Option<String>,
    pub page_token: Option<String>,
    pub next_poll_at: i64,
    pub polled_at: Option<i64>,
    pub last_error: Option<String>,
    pub connected_at: i64,
}

/// A chat is `live` while a broadcast's chat is read, `waiting` until one goes live.
pub const LIVE: &str = "live";
pub const WAITING: &str = "waiting";

const COLUMNS: &str = "app_slug, creator_id, access_token, refresh_token, token_expires_at, status, broadcast_id, live_chat_id, page_token, next_poll_at, polled_at, last_error, connected_at";

pub async fn chat(db: &D1Database, app_slug: &str) -> ApiResult<Option<Chat>> {
    first(db, &format!("SELECT {COLUMNS} FROM youtube_chats WHERE app_slug = ?"), &[app_slug.into()]).await
}

/// Chats due a read (or a look for a live broadcast) at `now`.
pub async fn due(db: &D1Database, now: i64) -> ApiResult<Vec<Chat>> {
    all(db, &format!("SELECT {COLUMNS} FROM youtube_chats WHERE next_poll_at <= ? ORDER BY next_poll_at LIMIT 50"), &[now.into()]).await
}

pub async fn save(db: &D1Database, c: &Chat) -> ApiResult<()> {
    run(
        db,
        &format!(
            "INSERT INTO youtube_chats ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_slug) DO UPDATE SET \
             creator_id = excluded.creator_id, access_token = excluded.access_token, refresh_token = excluded.refresh_token, \
             token_expires_at = excluded.token_expires_at, status = excluded.status, broadcast_id = excluded.broadcast_id, \
             live_chat_id = excluded.live_chat_id, page_token = excluded.page_token, next_poll_at = excluded.next_poll_at, \
             polled_at = excluded.polled_at, last_error = excluded.last_error, connected_at = excluded.connected_at"
        ),
        &[
            c.app_slug.as_str().into(),
            c.creator_id.as_str().into(),
            c.access_token.as_str().into(),
            c.refresh_token.as_str().into(),
            c.token_expires_at.into(),
            c.status.as_str().into(),
            c.broadcast_id.as_deref().into(),
            c.live_chat_id.as_deref().into(),
            c.page_token.as_deref().into(),
            c.next_poll_at.into(),
            c.polled_at.into(),
            c.last_error.as_deref().into(),
            c.connected_at.into(),
        ],
    )
    .await
}

pub async fn disconnect(db: &D1Database, app_slug: &str) -> ApiResult<bool> {
    Ok(changes(db, "DELETE FROM youtube_chats WHERE app_slug = ?", &[app_slug.into()]).await? > 0)
}

pub async fn start_connect(db: &D1Database, state: &str, app_slug: &str, creator_id: &str, now: i64) -> ApiResult<()> {
    run(
        db,
        "INSERT INTO youtube_connects (state, app_slug, creator_id, created_at) VALUES (?, ?, ?, ?)",
        &[state.into(), app_slug.into(), creator_id.into(), now.into()],
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct Connect {
    pub app_slug: String,
    pub creator_id: String,
}

/// Takes a waiting connection once.
pub async fn take_connect(db: &D1Database, state: &str, not_before: i64) -> ApiResult<Option<Connect>> {
    first(db, "DELETE FROM youtube_connects WHERE state = ? AND created_at >= ? RETURNING app_slug, creator_id", &[state.into(), not_before.into()]).await
}

/// Spends `cost` units of `day`'s quota if they fit `budget`; false (nothing spent) if not.
/// One statement, so concurrent callers cannot together overspend.
pub async fn spend_quota(db: &D1Database, day: &str, cost: u32, budget: u32) -> ApiResult<bool> {
    let (cost, budget) = (i64::from(cost), i64::from(budget));
    let spent = changes(
        db,
        "INSERT INTO youtube_quota (day, used) SELECT ?1, ?2 WHERE ?2 <= ?3
         ON CONFLICT (day) DO UPDATE SET used = used + ?2 WHERE youtube_quota.used + ?2 <= ?3",
        &[day.into(), cost.into(), budget.into()],
    )
    .await?;
    Ok(spent > 0)
}

/// YouTube said the project's quota is used up: nothing more is spent today.
pub async fn quota_exhausted(db: &D1Database, day: &str, budget: u32) -> ApiResult<()> {
    run(
        db,
        "INSERT INTO youtube_quota (day, used) VALUES (?1, ?2) ON CONFLICT (day) DO UPDATE SET used = MAX(used, ?2)",
        &[day.into(), i64::from(budget).into()],
    )
    .await
}

pub async fn quota_used(db: &D1Database, day: &str) -> ApiResult<i64> {
    #[derive(Deserialize)]
    struct Used {
        used: i64,
    }
    Ok(first::<Used>(db, "SELECT used FROM youtube_quota WHERE day = ?", &[day.into()]).await?.map_or(0, |u| u.used))
}

/// Forgets channel connections that were started before `before` and never authorized.
pub async fn prune_connects(db: &D1Database, before: i64) -> ApiResult<usize> {
    changes(db, "DELETE FROM youtube_connects WHERE created_at < ?", &[before.into()]).await
}
